import Foundation
import Vocabulary

/// Why bytes from the network were not a message. Decoding never traps: every malformed
/// input comes back as one of these, to be logged and dropped.
public enum WireError: Error, Equatable, Sendable, CustomStringConvertible {
  case frameCount(Int)
  case unknownProtocol(String)
  case unknownCommand(String)
  case frameTooLarge(bytes: Int, limit: Int)
  case malformedBody(command: String, reason: String)
  case invalid(command: String, reason: String)

  public var description: String {
    switch self {
    case .frameCount(let count): return "expected 3 frames [\(Protocol.header), command, body], got \(count)"
    case .unknownProtocol(let header):
      return "unknown protocol header '\(header)' (this is \(Protocol.header))"
    case .unknownCommand(let command): return "unknown command '\(command)'"
    case .frameTooLarge(let bytes, let limit): return "a \(bytes)-byte frame exceeds the \(limit)-byte limit"
    case .malformedBody(let command, let reason): return "\(command): malformed body: \(reason)"
    case .invalid(let command, let reason): return "\(command): \(reason)"
    }
  }
}

/// Encodes and decodes messages as `[header, command, JSON body]` frames.
///
/// Non-finite numbers (a diverged loss) travel as the strings "nan", "inf" and "-inf".
public enum WireCodec {
  public static func encoder() -> JSONEncoder {
    let encoder = JSONEncoder()
    encoder.nonConformingFloatEncodingStrategy = .convertToString(
      positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
    return encoder
  }

  /// Encoders and decoders are thread-safe; one of each serves every message.
  static let sharedEncoder = encoder()
  static let sharedDecoder = decoder()

  public static func decoder() -> JSONDecoder {
    let decoder = JSONDecoder()
    decoder.nonConformingFloatDecodingStrategy = .convertFromString(
      positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
    return decoder
  }

  struct Empty: Codable {}
  struct Text: Codable { var text: String }
  struct Sweep: Codable { var sweep: String? }
  struct Attempts: Codable { var attempts: [AttemptID] }
  struct Failure: Codable { var error: String }

  static func frames(_ command: String, _ body: some Encodable) -> [[UInt8]] {
    // Encoding our own value types cannot fail except on a programming error.
    let data = try! sharedEncoder.encode(body)
    return [Array(Protocol.header.utf8), Array(command.utf8), Array(data)]
  }

  // MARK: Encoding

  public static func encode(_ message: WorkerMessage) -> [[UInt8]] {
    switch message {
    case .ready(let ready): return frames("READY", ready)
    case .heartbeat: return frames("HEARTBEAT", Empty())
    case .metric(let metric):
      return [Array(Protocol.header.utf8), Array("METRIC".utf8), MetricJSON.encode(metric)]
    case .done(let done): return frames("DONE", done)
    case .log(let chunk): return frames("LOG", chunk)
    case .handBack(let attempts): return frames("HANDBACK", Attempts(attempts: attempts))
    case .draining: return frames("DRAINING", Empty())
    case .bye: return frames("BYE", Empty())
    }
  }

  public static func encode(_ message: CoordinatorMessage) -> [[UInt8]] {
    switch message {
    case .assign(let assignment):
      return encodeAssignment(
        attempt: assignment.attempt, sweep: assignment.sweep, specJSON: assignment.spec.bytes,
        promptMetrics: assignment.promptMetrics ?? false)
    case .stop(let stop): return frames("STOP", stop)
    case .acknowledge(let attempt): return frames("ACK", attempt)
    case .heartbeat: return frames("HEARTBEAT", Empty())
    case .disconnect(let reason): return frames("DISCONNECT", Text(text: reason))
    }
  }

  /// ASSIGN: the envelope's members written by the encoder, the spec spliced in as the JSON
  /// the coordinator stored (it is never decoded on the way).
  public static func encodeAssignment(
    attempt: AttemptID, sweep: String, specJSON: [UInt8], promptMetrics: Bool = false
  ) -> [[UInt8]] {
    var body = Array(#"{"attempt":"#.utf8)
    body += try! sharedEncoder.encode(attempt)
    body += Array(#","sweep":"#.utf8)
    body += try! sharedEncoder.encode(sweep)
    body += Array(#","spec":"#.utf8)
    body += specJSON
    if promptMetrics { body += Array(#","promptMetrics":true"#.utf8) }
    body.append(UInt8(ascii: "}"))
    return [Array(Protocol.header.utf8), Array("ASSIGN".utf8), body]
  }

  /// The command word a request travels under (for messages about it).
  public static func command(of request: ClientRequest) -> String {
    switch request {
    case .submit: "SUBMIT"
    case .status: "STATUS"
    case .leaderboard: "LEADERBOARD"
    case .history: "HISTORY"
    case .haveData: "HAVE"
    case .upload: "UPLOAD"
    case .fetch: "FETCH"
    case .cancel: "CANCEL"
    case .delete: "DELETE"
    case .logs: "LOGS"
    case .manage: "MANAGE"
    }
  }

  /// An OK reply carrying `document` (status, leaderboard, history, or a submit, have,
  /// upload or cancel reply) in the documents' JSON conventions.
  public static func reply(_ document: some Encodable) -> ClientReply {
    .ok(json: DocumentJSON.encode(document))
  }

  public static func encode(_ request: ClientRequest) -> [[UInt8]] {
    switch request {
    case .submit(let submit): return frames("SUBMIT", submit)
    case .status(let sweep): return frames("STATUS", Sweep(sweep: sweep))
    case .leaderboard(let request): return frames("LEADERBOARD", request)
    case .history(let sweep): return frames("HISTORY", Sweep(sweep: sweep))
    case .haveData(let request): return frames("HAVE", request)
    case .upload(let chunk): return frames("UPLOAD", chunk)
    case .fetch(let request): return frames("FETCH", request)
    case .cancel(let sweep): return frames("CANCEL", Sweep(sweep: sweep))
    case .delete(let sweep): return frames("DELETE", Sweep(sweep: sweep))
    case .logs(let request): return frames("LOGS", request)
    case .manage(let request): return frames("MANAGE", request)
    }
  }

  public static func encode(_ reply: ClientReply) -> [[UInt8]] {
    switch reply {
    // The result travels as it is (a leaderboard can be megabytes: no escaping into a string).
    case .ok(let json): return [Array(Protocol.header.utf8), Array("REPLY".utf8), json]
    case .error(let message): return frames("ERROR", Failure(error: message))
    case .data(let bytes): return [Array(Protocol.header.utf8), Array("DATA".utf8), bytes]
    }
  }

  // MARK: Decoding

  /// Checks the envelope and returns the command and body.
  static func envelope(_ frames: [[UInt8]], limit: Int) -> Result<(String, [UInt8]), WireError> {
    for frame in frames where frame.count > limit {
      return .failure(.frameTooLarge(bytes: frame.count, limit: limit))
    }
    guard frames.count == 3 else { return .failure(.frameCount(frames.count)) }
    guard let header = String(validating: frames[0], as: UTF8.self), header == Protocol.header else {
      return .failure(.unknownProtocol(String(decoding: frames[0].prefix(16), as: UTF8.self)))
    }
    guard let command = String(validating: frames[1], as: UTF8.self), !command.isEmpty, command.count <= 32
    else {
      return .failure(.unknownCommand(String(decoding: frames[1].prefix(32), as: UTF8.self)))
    }
    return .success((command, frames[2]))
  }

  static func body<T: Decodable>(_ type: T.Type, _ bytes: [UInt8], _ command: String) -> Result<T, WireError>
  {
    do {
      return .success(try sharedDecoder.decode(T.self, from: Data(bytes)))
    } catch let error as DecodingError {
      return .failure(.malformedBody(command: command, reason: error.readableDescription))
    } catch {
      return .failure(.malformedBody(command: command, reason: "\(error)"))
    }
  }

  static func checked(_ attempt: AttemptID, _ command: String) -> WireError? {
    if attempt.trial < 0 {
      return .invalid(command: command, reason: "trial id \(attempt.trial) is negative")
    }
    if attempt.attempt < 1 {
      return .invalid(command: command, reason: "attempt \(attempt.attempt) is not ≥ 1")
    }
    return nil
  }

  /// A worker's message, validated (ids ≥ 0, attempts ≥ 1, epochs ≥ 1, slots ≥ 1).
  public static func decodeWorkerMessage(_ frames: [[UInt8]], limit: Int = Protocol.maximumFrameBytes)
    -> Result<WorkerMessage, WireError>
  {
    let (command, bytes): (String, [UInt8])
    switch envelope(frames, limit: limit) {
    case .success(let value): (command, bytes) = value
    case .failure(let error): return .failure(error)
    }
    switch command {
    case "READY":
      return body(Ready.self, bytes, command).flatMap { ready in
        guard ready.slots >= 1 else {
          return .failure(.invalid(command: command, reason: "slots \(ready.slots) is not ≥ 1"))
        }
        if let bad = ready.running.lazy.compactMap({ checked($0, command) }).first { return .failure(bad) }
        return .success(.ready(ready))
      }
    case "HEARTBEAT": return body(Empty.self, bytes, command).map { _ in .heartbeat }
    case "METRIC":
      let decoded =
        MetricJSON.decode(bytes).map { Result.success($0) } ?? body(MetricReport.self, bytes, command)
      return decoded.flatMap { metric in
        if let bad = checked(metric.attempt, command) { return .failure(bad) }
        var metric = metric
        // A name outside the documented set never reaches the store (nor an export).
        if !metric.values.keys.allSatisfy(MetricName.isAllowed) {
          metric.values = metric.values.filter { MetricName.isAllowed($0.key) }
        }
        guard metric.epoch >= 1 else {
          return .failure(.invalid(command: command, reason: "epoch \(metric.epoch) is not ≥ 1"))
        }
        return .success(.metric(metric))
      }
    case "DONE":
      return body(DoneReport.self, bytes, command).flatMap { done in
        if let bad = checked(done.attempt, command) { return .failure(bad) }
        guard done.epochs >= 0 else {
          return .failure(.invalid(command: command, reason: "epochs \(done.epochs) is negative"))
        }
        guard done.seconds.isFinite, done.seconds >= 0 else {
          return .failure(.invalid(command: command, reason: "seconds \(done.seconds) is not a finite number ≥ 0"))
        }
        return .success(.done(done))
      }
    case "LOG":
      return body(LogChunk.self, bytes, command).flatMap { chunk in
        if let bad = checked(chunk.attempt, command) { return .failure(bad) }
        return .success(.log(chunk))
      }
    case "HANDBACK":
      return body(Attempts.self, bytes, command).flatMap { list in
        if let bad = list.attempts.lazy.compactMap({ checked($0, command) }).first { return .failure(bad) }
        return .success(.handBack(list.attempts))
      }
    case "DRAINING": return body(Empty.self, bytes, command).map { _ in .draining }
    case "BYE": return body(Empty.self, bytes, command).map { _ in .bye }
    default: return .failure(.unknownCommand(command))
    }
  }

  public static func decodeCoordinatorMessage(_ frames: [[UInt8]], limit: Int = Protocol.maximumFrameBytes)
    -> Result<CoordinatorMessage, WireError>
  {
    let (command, bytes): (String, [UInt8])
    switch envelope(frames, limit: limit) {
    case .success(let value): (command, bytes) = value
    case .failure(let error): return .failure(error)
    }
    switch command {
    case "ASSIGN":
      return body(Assignment.Envelope.self, bytes, command).flatMap { envelope in
        if let bad = checked(envelope.attempt, command) { return .failure(bad) }
        guard let spec = RawJSON.member("spec", in: bytes), spec.first == UInt8(ascii: "{") else {
          return .failure(.invalid(command: command, reason: "missing spec object"))
        }
        return .success(
          .assign(
            Assignment(
              attempt: envelope.attempt, sweep: envelope.sweep, spec: SpecJSON(Array(spec)),
              promptMetrics: envelope.promptMetrics)))
      }
    case "STOP":
      return body(StopOrder.self, bytes, command).flatMap { stop in
        if let bad = checked(stop.attempt, command) { return .failure(bad) }
        return .success(.stop(stop))
      }
    case "ACK": return body(AttemptID.self, bytes, command).map { .acknowledge($0) }
    case "HEARTBEAT": return body(Empty.self, bytes, command).map { _ in .heartbeat }
    case "DISCONNECT": return body(Text.self, bytes, command).map { .disconnect($0.text) }
    default: return .failure(.unknownCommand(command))
    }
  }

  /// A client's request, decoded and checked field by field (`ClientRequest.problem`): a
  /// request that fails is `.invalid` naming the field, and the coordinator refuses it.
  public static func decodeClientRequest(_ frames: [[UInt8]], limit: Int = Protocol.maximumFrameBytes)
    -> Result<ClientRequest, WireError>
  {
    decodeUncheckedClientRequest(frames, limit: limit).flatMap { request in
      guard let problem = request.problem else { return .success(request) }
      return .failure(.invalid(command: command(of: request), reason: problem))
    }
  }

  static func decodeUncheckedClientRequest(_ frames: [[UInt8]], limit: Int)
    -> Result<ClientRequest, WireError>
  {
    let (command, bytes): (String, [UInt8])
    switch envelope(frames, limit: limit) {
    case .success(let value): (command, bytes) = value
    case .failure(let error): return .failure(error)
    }
    switch command {
    case "SUBMIT": return body(SubmitRequest.self, bytes, command).map { .submit($0) }
    case "STATUS": return body(Sweep.self, bytes, command).map { .status(sweep: $0.sweep) }
    case "LEADERBOARD": return body(LeaderboardRequest.self, bytes, command).map { .leaderboard($0) }
    case "HAVE":
      return body(HaveDataRequest.self, bytes, command).flatMap { request in
        guard request.digests.count <= 10_000, request.digests.allSatisfy(isDigest) else {
          return .failure(.invalid(command: command, reason: "digests must be SHA-256 hex"))
        }
        return .success(.haveData(request))
      }
    case "UPLOAD":
      return body(UploadChunk.self, bytes, command).flatMap { chunk in
        guard isDigest(chunk.sha256), chunk.size >= 0, chunk.offset >= 0, chunk.bytes != nil else {
          return .failure(.invalid(command: command, reason: "bad digest, size, offset or base64 data"))
        }
        return .success(.upload(chunk))
      }
    case "FETCH":
      return body(FetchRequest.self, bytes, command).flatMap { request in
        guard isDigest(request.sha256), request.offset >= 0,
          (1...Protocol.maximumFetchBytes).contains(request.length)
        else {
          return .failure(.invalid(command: command, reason: "bad digest, offset or length"))
        }
        return .success(.fetch(request))
      }
    case "LOGS": return body(LogsRequest.self, bytes, command).map { .logs($0) }
    case "MANAGE":
      return body(ManageRequest.self, bytes, command).map { .manage($0) }
    case "HISTORY", "CANCEL", "DELETE":
      return body(Sweep.self, bytes, command).flatMap { request in
        guard let sweep = request.sweep else {
          return .failure(.invalid(command: command, reason: "missing sweep"))
        }
        switch command {
        case "HISTORY": return .success(.history(sweep: sweep))
        case "CANCEL": return .success(.cancel(sweep: sweep))
        default: return .success(.delete(sweep: sweep))
        }
      }
    default: return .failure(.unknownCommand(command))
    }
  }

  /// A coordinator's reply. Replies may be large (a leaderboard of 100,000 trials), so the
  /// default limit is `Protocol.maximumReplyBytes`.
  public static func decodeClientReply(_ frames: [[UInt8]], limit: Int = Protocol.maximumReplyBytes)
    -> Result<ClientReply, WireError>
  {
    let (command, bytes): (String, [UInt8])
    switch envelope(frames, limit: limit) {
    case .success(let value): (command, bytes) = value
    case .failure(let error): return .failure(error)
    }
    switch command {
    case "REPLY":
      guard !bytes.isEmpty else { return .failure(.malformedBody(command: command, reason: "empty result")) }
      return .success(.ok(json: bytes))
    case "ERROR": return body(Failure.self, bytes, command).map { .error($0.error) }
    case "DATA": return .success(.data(bytes))
    default: return .failure(.unknownCommand(command))
    }
  }

  /// A SHA-256 as 64 lowercase hex digits.
  public static func isDigest(_ text: String) -> Bool {
    text.utf8.count == 64 && text.utf8.allSatisfy { (48...57).contains($0) || (97...102).contains($0) }
  }
}
