import Foundation
import Vocabulary

/// One sweep's progress as the coordinator reports it (the STATUS reply is a `List` of
/// them), Codable so the coordinator writes and the clients read one definition.
public struct SweepStatus: Codable, Hashable, Sendable {
  public var sweep: String
  public var name: String?
  /// running, completed, failed (every trial failed) or cancelled.
  public var state: String
  /// Trials by state (pending, running, completed, early_stopped, diverged, failed, cancelled).
  public var trials: [String: Int]
  /// The sweep's trial count, when it has one.
  public var total: Int?
  /// The best value of the metric so far, running trials included.
  public var best: Double?
  public var metric: SweepMetric
  /// Workers connected to the coordinator.
  public var workers: Int
  /// The latest stopping decisions (at most `Stop.shown`, oldest first), with their reasons.
  public var stops: [Stop]?
  /// Why its pending trials cannot start: no connected worker is of the kind they need
  /// (one that runs programs, or has enough GPUs or slots). Absent when they can.
  public var waiting: String?
  /// Set once a trial reached `metric.target`: which, and that the sweep creates no more.
  public var target: String?
  /// A live sweep with held-out test rows whose search has ended: its final run's state
  /// (`final run of trial 5 (refit): running`). Absent otherwise.
  public var finalRun: String?

  /// A stopping policy's decision about a trial.
  public struct Stop: Codable, Hashable, Sendable {
    public var trial: Int64
    public var reason: String

    public init(trial: Int64, reason: String) {
      self.trial = trial
      self.reason = reason
    }

    /// How many a status reply carries.
    public static let shown = 10
  }

  public init(
    sweep: String, name: String?, state: String, trials: [String: Int], total: Int?, best: Double?,
    metric: SweepMetric, workers: Int, stops: [Stop]? = nil, waiting: String? = nil, target: String? = nil
  ) {
    self.target = target
    self.stops = stops
    self.waiting = waiting
    self.sweep = sweep
    self.name = name
    self.state = state
    self.trials = trials
    self.total = total
    self.best = best
    self.metric = metric
    self.workers = workers
  }

  /// Trials that ran to an outcome (completed, early_stopped, diverged, failed); cancelled
  /// ones are counted apart.
  public var done: Int {
    trials.filter { !["pending", "running", "cancelled"].contains($0.key) }.values.reduce(0, +)
  }
  public var cancelled: Int { trials["cancelled"] ?? 0 }
  public var running: Int { trials["running"] ?? 0 }
  public var pending: Int { trials["pending"] ?? 0 }

  /// `{"sweeps": [...]}`, the body of a STATUS reply.
  public struct List: Codable, Sendable {
    public var sweeps: [SweepStatus]

    public init(sweeps: [SweepStatus]) { self.sweeps = sweeps }
  }

  public static func encode(_ list: [SweepStatus]) -> [UInt8] {
    // Encoding these value types cannot fail (non-finite numbers become strings).
    DocumentJSON.encode(List(sweeps: list))
  }

  public static func decode(_ json: [UInt8]) throws -> [SweepStatus] {
    try DocumentJSON.decode(List.self, from: json).sweeps
  }
}
