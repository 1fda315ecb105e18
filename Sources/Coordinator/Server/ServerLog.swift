import Logging
import Wire

/// What the coordinator logs: transitions and peers.
extension CoordinatorServer {
  /// Logs the transitions an operator wants to hear about (a requeue, a failure), with the
  /// trial, attempt and sweep as fields.
  func log(_ transition: CoordinatorState.Transition) {
    switch transition {
    case .requeued(let lost, _, let reason):
      logger.info(
        "\(lost) requeued: \(reason)", metadata: Self.ids(lost, sweep: book.trials[lost.trial]?.sweep))
    case .failed(let attempt, let reason):
      logger.warning(
        "\(attempt) failed: \(reason)", metadata: Self.ids(attempt, sweep: book.trials[attempt.trial]?.sweep))
    default: break
    }
  }

  /// Log metadata naming an attempt (and its sweep).
  static func ids(_ attempt: AttemptID, sweep: String?) -> Logger.Metadata {
    var metadata: Logger.Metadata = ["trial": "\(attempt.trial)", "attempt": "\(attempt.attempt)"]
    if let sweep { metadata["sweep"] = "\(sweep)" }
    return metadata
  }

  /// A routing id for a log line: as it is when it is printable text (workers name their
  /// connections `name#n`), else in hex (ZeroMQ's own ids for clients are 5 binary bytes).
  static func readable(_ peer: String) -> String { readable(Array(peer.utf8)) }

  static func readable(_ bytes: [UInt8]) -> String {
    if !bytes.isEmpty, bytes.allSatisfy({ (0x21...0x7e).contains($0) }) {
      return "'\(String(decoding: bytes, as: UTF8.self))'"
    }
    return "0x" + bytes.map { String(format: "%02x", $0) }.joined()
  }
}
