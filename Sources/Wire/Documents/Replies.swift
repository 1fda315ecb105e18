import Foundation
import Vocabulary

/// SUBMIT's reply: the new sweep's id.
public struct SubmitReply: Codable, Hashable, Sendable {
  public var sweep: String
  public init(sweep: String) { self.sweep = sweep }
}

/// CANCEL's reply: the sweep that was cancelled.
public struct CancelReply: Codable, Hashable, Sendable {
  public var cancelled: String
  /// True when the sweep was cancelled before this request (nothing changed).
  public var already: Bool?
  public init(cancelled: String, already: Bool? = nil) {
    self.cancelled = cancelled
    self.already = already
  }
}

/// HAVE's reply: the digests the coordinator lacks, each with the bytes it already holds of
/// an interrupted upload (0: none), so the client resumes there.
public struct HaveDataReply: Codable, Hashable, Sendable {
  public var missing: [String: Int64]
  public init(missing: [String: Int64]) { self.missing = missing }
}

/// UPLOAD's reply: the bytes of the file held after this chunk, and whether the file is
/// complete (its SHA-256 matched).
public struct UploadReply: Codable, Hashable, Sendable {
  public var received: Int64
  public var complete: Bool
  public init(received: Int64, complete: Bool) {
    self.received = received
    self.complete = complete
  }
}

/// DELETE's reply: the sweep removed and how many trials went with it.
public struct DeleteReply: Codable, Hashable, Sendable {
  public var deleted: String
  public var trials: Int
  public init(deleted: String, trials: Int) {
    self.deleted = deleted
    self.trials = trials
  }
}

/// LOGS' reply: a trial's state and the output rows asked for, oldest first. A client that
/// follows asks again with `after` = the last row's id until the trial has ended.
public struct TrialLogs: Codable, Hashable, Sendable {
  public struct Chunk: Codable, Hashable, Sendable {
    /// The row's id: ask for rows after it next.
    public var id: Int64
    public var attempt: Int
    /// stdout or stderr.
    public var stream: String
    public var text: String

    public init(id: Int64, attempt: Int, stream: String, text: String) {
      self.id = id
      self.attempt = attempt
      self.stream = stream
      self.text = text
    }
  }

  public var trial: Int64
  public var sweep: String
  /// The attempt shown (the current one unless asked for another).
  public var attempt: Int
  /// The trial's state (running, completed, failed, …) and its message, if any.
  public var state: TrialState
  public var message: String?
  public var chunks: [Chunk]

  public init(
    trial: Int64, sweep: String, attempt: Int, state: TrialState, message: String?, chunks: [Chunk]
  ) {
    self.trial = trial
    self.sweep = sweep
    self.attempt = attempt
    self.state = state
    self.message = message
    self.chunks = chunks
  }
}
