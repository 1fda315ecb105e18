import Foundation

/// SUBMIT's reply: the new sweep's id.
public struct SubmitReply: Codable, Hashable, Sendable {
  public var sweep: String
  public init(sweep: String) { self.sweep = sweep }
}

/// CANCEL's reply: the sweep that was cancelled.
public struct CancelReply: Codable, Hashable, Sendable {
  public var cancelled: String
  public init(cancelled: String) { self.cancelled = cancelled }
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
