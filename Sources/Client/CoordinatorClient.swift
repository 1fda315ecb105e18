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
  let curve: CurveClientKeys?

  /// - Parameter context: default: its own; `sweepd run` shares the coordinator's, for
  ///   `inproc://`.
  public init(_ endpoint: String, context: ZMQContext? = nil, curve: CurveClientKeys? = nil) throws {
    self.endpoint = endpoint
    self.curve = curve
    self.context = try context ?? ZMQContext()
    socket = try Self.connect(self.context, endpoint, curve: curve)
  }

  static func connect(_ context: ZMQContext, _ endpoint: String, curve: CurveClientKeys?) throws -> ZMQSocket
  {
    let socket = try context.socket(.dealer)
    // Nothing is worth waiting for at exit: a request without an answer is an error anyway.
    try socket.setOption(ZMQ_LINGER_OPTION, Int32(0))
    if let curve { try socket.makeCurveClient(curve) }
    try socket.connect(endpoint)
    return socket
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
    guard try ZMQPoller.readable([socket], timeoutMilliseconds: Int(timeout * 1000))[0],
      let message = try socket.receive()
    else {
      // A late answer must not be taken for the next request's: start a fresh connection.
      socket = try Self.connect(context, endpoint, curve: curve)
      throw ClientError(
        "the coordinator at \(endpoint) did not answer within \(Int(timeout)) s (is it running?)")
    }
    switch WireCodec.decodeClientReply(message.frames) {
    case .success(.ok(let json)): return json
    case .success(.data(let bytes)): return bytes
    case .success(.error(let text)): throw ClientError(text)
    case .failure(let error): throw ClientError("unreadable reply from the coordinator: \(error)")
    }
  }
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

  public func cancel(sweep: String) throws -> CancelReply {
    try document(CancelReply.self, .cancel(sweep: sweep))
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
