import Dispatch
import Foundation
import Wire
import ZMQ

/// Requests to the coordinator with their replies in order, several of them in flight at
/// once if the caller wants (the coordinator answers one connection's requests in the order
/// they came).
public protocol RequestChannel: AnyObject {
  func send(_ request: ClientRequest) throws
  /// The reply to the oldest request not yet answered: its JSON or DATA bytes; an ERROR
  /// reply is thrown.
  func receive() throws -> [UInt8]
}

extension RequestChannel {
  /// One request, one reply.
  public func ask(_ request: ClientRequest) throws -> [UInt8] {
    try send(request)
    return try receive()
  }
}

/// A client connection to the coordinator: one DEALER reused across requests (a progress
/// display asks many times a second, an upload hundreds of chunks); an error reply or no
/// answer within the timeout is one clear error, never a hang. With CURVE keys the
/// connection is authenticated and encrypted.
public final class CoordinatorClient: RequestChannel {
  public let endpoint: String
  let context: ZMQContext
  var socket: ZMQSocket
  /// libzmq's events about the connection (refused, handshake failed), for errors that say
  /// why nothing answers; nil for `inproc://`, which cannot fail that way.
  var monitor: ZMQSocket?
  /// Whether a handshake with the coordinator has succeeded on this connection.
  var handshaken = false
  let curve: CurveClientKeys?

  /// How long connection refusals may last before a request fails with "nothing answers"
  /// (seconds; a coordinator starting up or restarting binds within it).
  public var refusedFor: Double = 1

  /// - Parameter context: default: its own; `sweepd run` shares the coordinator's, for
  ///   `inproc://`.
  public init(_ endpoint: String, context: ZMQContext? = nil, curve: CurveClientKeys? = nil) throws {
    guard endpoint.contains("://") else {
      let hint = endpoint.contains(":") ? "; did you mean 'tcp://\(endpoint)'?" : ""
      throw ClientError(
        "'\(endpoint)' is not a coordinator address: addresses look like tcp://HOST:PORT\(hint)")
    }
    self.endpoint = endpoint
    self.curve = curve
    self.context = try context ?? ZMQContext()
    (socket, monitor) = try Self.connect(self.context, endpoint, curve: curve)
  }

  static func connect(_ context: ZMQContext, _ endpoint: String, curve: CurveClientKeys?) throws -> (
    ZMQSocket, ZMQSocket?
  ) {
    let socket = try context.socket(.dealer)
    // Nothing is worth waiting for at exit: a request without an answer is an error anyway.
    try socket.setOption(ZMQ_LINGER_OPTION, Int32(0))
    if let curve { try socket.makeCurveClient(curve) }
    let monitor = endpoint.hasPrefix("inproc://") ? nil : try socket.monitor()
    do {
      try socket.connect(endpoint)
    } catch let error as ZMQError {
      throw ClientError("cannot connect to \(endpoint): \(error)")
    }
    return (socket, monitor)
  }

  /// A fresh connection (after an error, so a late answer is not taken for the next
  /// request's).
  func reconnect() throws {
    // The old connection's monitor stops before its reader goes (see `stopMonitor`).
    if monitor != nil { socket.stopMonitor() }
    monitor = nil
    (socket, monitor) = try Self.connect(context, endpoint, curve: curve)
    handshaken = false
  }

  deinit {
    if monitor != nil { socket.stopMonitor() }
  }

  /// What the monitor says went wrong, if anything has: the error to throw.
  func connectionProblem(refusedSince: inout Double?, started: Double) throws -> ClientError? {
    guard let monitor else { return nil }
    while let message = try monitor.receive(dontWait: true) {
      guard let event = ZMQMonitorEvent(frames: message.frames) else { continue }
      switch event.kind {
      case .handshakeSucceeded,
        .connected where curve == nil:
        handshaken = true
        refusedSince = nil
      case .connectRetried where !handshaken:
        if refusedSince == nil { refusedSince = started }
      case .handshakeFailed(let reason):
        return ClientError(
          curve == nil
            ? "the coordinator at \(endpoint) did not accept this connection: \(reason); a coordinator with CURVE keys needs --curve-server-key and --curve-secret-key"
            : "the CURVE handshake with the coordinator at \(endpoint) failed: \(reason); check that --curve-server-key is the coordinator's public key and that this key's .pub is in its --operator-keys (or --authorized-keys)"
        )
      default: break
      }
    }
    return nil
  }

  /// How long `receive` waits for a reply (seconds).
  public var timeout: Double = 10

  /// Sends `request` and returns the reply (its JSON, or a DATA reply's bytes).
  public func ask(_ request: ClientRequest, timeout: Double) throws -> [UInt8] {
    try send(request)
    return try receive(timeout: timeout)
  }

  public func send(_ request: ClientRequest) throws {
    try socket.send(WireCodec.encode(request), dontWait: true)
  }

  public func receive() throws -> [UInt8] { try receive(timeout: timeout) }

  func receive(timeout: Double) throws -> [UInt8] {
    let started = Self.seconds()
    var refusedSince: Double?
    var received: [[UInt8]]?
    while received == nil {
      let left = timeout - (Self.seconds() - started)
      guard left > 0 else {
        // A late answer must not be taken for the next request's: start a fresh connection.
        try reconnect()
        throw ClientError(
          "the coordinator at \(endpoint) did not answer within \(Int(timeout)) s (is it running?)")
      }
      let sockets = monitor.map { [socket, $0] } ?? [socket]
      let ready = try ZMQPoller.readable(sockets, timeoutMilliseconds: max(1, Int(min(left, 0.1) * 1000)))
      if ready[0], let message = try socket.receive() {
        received = message.frames
        break
      }
      if let problem = try connectionProblem(refusedSince: &refusedSince, started: Self.seconds()) {
        try reconnect()
        throw problem
      }
      if let since = refusedSince, Self.seconds() - since >= refusedFor, !handshaken {
        try reconnect()
        throw ClientError(
          "nothing answers at \(endpoint): the connection is refused (is the coordinator running, and at that address?)"
        )
      }
    }
    let message = received!
    switch WireCodec.decodeClientReply(message) {
    case .success(.ok(let json)): return json
    case .success(.data(let bytes)): return bytes
    case .success(.error(let text)): throw ClientError(text)
    case .failure(let error): throw ClientError("unreadable reply from the coordinator: \(error)")
    }
  }
}

extension CoordinatorClient {
  static func seconds() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }
}

/// A request the coordinator refused (its ERROR reply's text), no answer in time, or a
/// reply that is not the document the request expects.
public struct ClientError: Error, CustomStringConvertible, LocalizedError, Hashable, Sendable {
  public var description: String
  public init(_ description: String) { self.description = description }
  public var errorDescription: String? { description }
}

/// The requests as typed calls: each returns the reply's document, decoded, or throws a
/// `ClientError` naming what went wrong.
extension RequestChannel {
  /// Submits a sweep (its data files already uploaded; see `DataUpload`).
  public func submit(_ request: SubmitRequest) throws -> SubmitReply {
    try document(SubmitReply.self, .submit(request))
  }

  /// Every sweep's progress, or one sweep's.
  public func status(sweep: String? = nil) throws -> [SweepStatus] {
    try document(SweepStatus.List.self, .status(sweep: sweep)).sweeps
  }

  public func leaderboard(_ request: LeaderboardRequest) throws -> Leaderboard {
    Leaderboard(document: try document(LeaderboardDocument.self, .leaderboard(request)))
  }

  public func history(sweep: String) throws -> SweepHistory {
    let bytes = try ask(.history(sweep: sweep))
    do { return try SweepHistory(json: bytes) } catch { throw Self.unreadable("HISTORY", bytes, error) }
  }

  /// A program trial's kept output (see `TrialLogs`).
  public func logs(_ request: LogsRequest) throws -> TrialLogs {
    try document(TrialLogs.self, .logs(request))
  }

  public func cancel(sweep: String) throws -> CancelReply {
    try document(CancelReply.self, .cancel(sweep: sweep))
  }

  /// Removes a sweep and everything stored about it (a running one is cancelled first).
  public func delete(sweep: String) throws -> DeleteReply {
    try document(DeleteReply.self, .delete(sweep: sweep))
  }

  /// Pauses, resumes, extends or adds to a sweep.
  public func manage(_ request: ManageRequest) throws -> ManageReply {
    try document(ManageReply.self, .manage(request))
  }

  public func haveData(_ request: HaveDataRequest) throws -> HaveDataReply {
    try document(HaveDataReply.self, .haveData(request))
  }

  /// Reads the reply to an UPLOAD sent earlier with `send` (uploads keep several in flight).
  public func receiveUploadReply() throws -> UploadReply {
    let bytes = try receive()
    do { return try DocumentJSON.decode(UploadReply.self, from: bytes) } catch {
      throw Self.unreadable("UPLOAD", bytes, error)
    }
  }

  func document<T: Decodable>(_ type: T.Type, _ request: ClientRequest) throws -> T {
    let bytes = try ask(request)
    do { return try DocumentJSON.decode(T.self, from: bytes) } catch {
      throw Self.unreadable(WireCodec.command(of: request), bytes, error)
    }
  }

  static func unreadable(_ command: String, _ bytes: [UInt8], _ error: Error) -> ClientError {
    ClientError(
      "unreadable \(command) reply from the coordinator (\(error)): \(String(decoding: bytes.prefix(200), as: UTF8.self))"
    )
  }
}
