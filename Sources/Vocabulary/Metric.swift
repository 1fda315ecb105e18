/// Whether a sweep's metric is better small or large.
public enum Goal: String, Hashable, Sendable, Codable, CaseIterable {
  case minimize, maximize

  /// Whether `a` is strictly better than `b` under this goal.
  public func prefers(_ a: Double, over b: Double) -> Bool { self == .minimize ? a < b : a > b }
}

/// The name of a metric a trial reports each epoch: one of the built-in trainer's (each with
/// its natural goal) or any name a user's program reports. A string underneath, so it
/// travels and is stored as the name itself.
public struct MetricName: RawRepresentable, Hashable, Sendable, Codable, ExpressibleByStringLiteral,
  CustomStringConvertible, Comparable
{
  public var rawValue: String

  public init(rawValue: String) { self.rawValue = rawValue }

  /// The most characters a metric's name may have.
  public static let maximumLength = 128

  /// Why `name` cannot name a metric (nil: it can). A name is 1 to 128 printable ASCII
  /// characters (no `"` or `\`), starting with a letter, a digit or `_`: so it never starts a
  /// spreadsheet formula (`=`, `+`, `-`, `@`) in an exported column, and stays one cell.
  public static func problem(_ name: String) -> String? {
    let bytes = name.utf8
    guard let first = bytes.first, bytes.count <= maximumLength else {
      return "a metric name is 1 to \(maximumLength) characters"
    }
    guard (65...90).contains(first) || (97...122).contains(first) || (48...57).contains(first) || first == 95 else {
      return "a metric name starts with a letter, a digit or '_'"
    }
    guard bytes.allSatisfy({ (0x20...0x7e).contains($0) && $0 != 0x22 && $0 != 0x5c }) else {
      return "a metric name is printable ASCII without '\"' or '\\'"
    }
    return nil
  }

  /// Whether `name` may name a metric (`problem` is nil): checked on every METRIC, so it
  /// walks the UTF-8 view without copying it.
  public static func isAllowed(_ name: String) -> Bool { problem(name) == nil }
  public init(_ name: String) { rawValue = name }
  public init(stringLiteral value: String) { rawValue = value }

  public init(from decoder: Decoder) throws {
    rawValue = try decoder.singleValueContainer().decode(String.self)
  }

  public func encode(to encoder: Encoder) throws {
    var container = encoder.singleValueContainer()
    try container.encode(rawValue)
  }

  public var description: String { rawValue }
  public static func < (a: MetricName, b: MetricName) -> Bool { a.rawValue < b.rawValue }

  /// Mean of the epoch's batch losses.
  public static let trainLoss: MetricName = "train_loss"
  /// Loss on the validation split.
  public static let valLoss: MetricName = "val_loss"
  /// Misclassified fraction of the validation split (classification).
  public static let valError: MetricName = "val_error"
  /// 1 − `val_error` (classification).
  public static let valAccuracy: MetricName = "val_accuracy"
  /// Root mean squared error on the validation split (regression).
  public static let valRMSE: MetricName = "val_rmse"
  /// The learning rate of the epoch's last step (mean over parameters for per-parameter rates).
  public static let lr: MetricName = "lr"
  /// Wall-clock seconds of the epoch.
  public static let seconds: MetricName = "seconds"

  /// The metrics the built-in trainer reports that a sweep may optimize, in the order
  /// errors list them.
  public static let optimizable: [MetricName] = [.valLoss, .valError, .valAccuracy, .valRMSE, .trainLoss]
}

/// How one attempt of a trial ended, as the process that ran it saw it: the trainer's result
/// (`TrialResult.status`), the worker's report (`DoneReport.status`). The coordinator turns
/// it into the trial's `TrialState`: `stopped` is `early_stopped` when a stopping policy
/// decided it, else `cancelled`.
public enum TrialOutcome: String, Hashable, Sendable, Codable, CaseIterable {
  /// Ran every epoch.
  case completed
  /// Stopped on request (a STOP, the callback) after a whole epoch.
  case stopped
  /// The loss or a weight became non-finite.
  case diverged
  /// Could not run (bad data, an error); the message says why. The trainer itself never
  /// returns it: it throws.
  case failed
}

/// Where a trial is in its life, as the store keeps it and every document reports it.
public enum TrialState: String, Hashable, Sendable, Codable, CaseIterable {
  case pending
  case running
  /// Ran every epoch.
  case completed
  /// Stopped by the sweep's stopping policy; its best value still ranks.
  case earlyStopped = "early_stopped"
  /// The loss or a weight became non-finite.
  case diverged
  /// Could not run, or its attempts ran out; the message says why.
  case failed
  /// Its sweep was cancelled (or a worker stopped it without a policy's decision).
  case cancelled

  /// Whether the trial has ended (whatever the outcome).
  public var isFinished: Bool { self != .pending && self != .running }
}

/// What a sweep optimizes: a metric and whether it is better small or large.
public struct SweepMetric: Hashable, Sendable, Codable {
  public var name: MetricName
  public var goal: Goal

  public init(name: MetricName, goal: Goal) {
    self.name = name
    self.goal = goal
  }
}
