import Logging
import Wire

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
}
