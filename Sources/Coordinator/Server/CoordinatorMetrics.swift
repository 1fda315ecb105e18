import Foundation
import Synchronization
import Vocabulary

#if canImport(Glibc)
  import Glibc
#endif

/// The coordinator's numbers for Prometheus, as the I/O loop last published them.
public struct CoordinatorMetrics: Sendable, Equatable {
  /// Trials by state (pending, running, completed, …) of the sweeps this coordinator has run
  /// since it started.
  public var trialsByState: [String: Int] = [:]
  /// Trials waiting for a slot.
  public var queueDepth = 0
  public var workersConnected = 0
  /// Totals since the coordinator started (Prometheus counters).
  public var assignments = 0
  public var metricMessages = 0
  /// Store write transactions: how many, and their total and largest duration (seconds).
  public var storeWrites = 0
  public var storeWriteSeconds = 0.0
  public var storeWriteMaxSeconds = 0.0
  /// Whether store writes are failing now (1) or not (0): a passing failure (a full disk,
  /// an I/O error), held and retried.
  public var storeFailing = false
  /// Rows the store refused for good (about a trial or sweep that no longer exists), dropped.
  public var droppedRows = 0

  public init() {}

  /// The gauges as of now: trials by state (ended sweeps' and live ones'), queue depth,
  /// workers, whether store writes fail.
  mutating func update(
    book: SweepBook, ended: [TrialState: Int], leases: CoordinatorState, storeFailing: Bool
  ) {
    var trials: [String: Int] = [:]
    for (state, count) in ended { trials[state.rawValue, default: 0] += count }
    for live in book.sweeps.values {
      for (state, count) in live.counts { trials[state.rawValue, default: 0] += count }
    }
    trialsByState = trials
    queueDepth = leases.pendingCount
    workersConnected = leases.workerCount
    self.storeFailing = storeFailing
  }

  /// The Prometheus text exposition format (version 0.0.4).
  public var text: String {
    var lines: [String] = []
    func metric(_ name: String, _ type: String, _ help: String, _ samples: [(String, Double)]) {
      lines.append("# HELP \(name) \(help)")
      lines.append("# TYPE \(name) \(type)")
      for (labels, value) in samples {
        let number = value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : "\(value)"
        lines.append("\(name)\(labels) \(number)")
      }
    }
    let states = TrialState.allCases.map(\.rawValue)
    metric(
      "sweepd_trials", "gauge", "Trials by state of the sweeps run since the coordinator started.",
      states.map { ("{state=\"\($0)\"}", Double(trialsByState[$0] ?? 0)) })
    metric("sweepd_queue_depth", "gauge", "Trials waiting for a slot.", [("", Double(queueDepth))])
    metric("sweepd_workers_connected", "gauge", "Workers connected.", [("", Double(workersConnected))])
    metric("sweepd_assignments_total", "counter", "Trials assigned to workers.", [("", Double(assignments))])
    metric(
      "sweepd_metric_messages_total", "counter", "METRIC messages received (one per trial epoch).",
      [("", Double(metricMessages))])
    metric(
      "sweepd_store_write_seconds", "summary", "Duration of store write transactions.",
      [("_sum", storeWriteSeconds), ("_count", Double(storeWrites))])
    metric(
      "sweepd_store_write_max_seconds", "gauge", "The longest store write transaction so far.",
      [("", storeWriteMaxSeconds)])
    metric(
      "sweepd_store_failing", "gauge",
      "1 while store writes fail for a passing reason (a full disk, an I/O error) and are held, else 0.",
      [("", storeFailing ? 1 : 0)])
    metric(
      "sweepd_store_rows_dropped_total", "counter",
      "Rows the store refused for good (about a deleted trial or sweep), dropped rather than held.",
      [("", Double(droppedRows))])
    return lines.joined(separator: "\n") + "\n"
  }
}
