import Store

/// The rows of the coordinator's next store transaction: trial changes, stopping events and
/// METRIC rows, written together (one commit for a burst of messages). Transitions are due
/// at once; METRIC rows alone wait up to `metricDelay` (or until 2,000 are buffered) for
/// company, so a stream of epochs costs a commit every 20 ms rather than one per message.
/// A killed coordinator loses at most that much of the metric stream, never a transition.
/// A failed write keeps every row for the next try.
struct GroupCommit {
  /// The longest a METRIC row waits in memory for a commit, seconds.
  static let metricDelay = 0.02
  /// METRIC rows that make a commit due whatever their age.
  static let metricBatch = 2000

  var changes: [Store.TrialChange] = []
  var events: [EventRecord] = []
  private(set) var metrics: [MetricRecord] = []
  /// Program output rows: they wait like METRIC rows.
  private(set) var logs: [LogRecord] = []
  /// When the oldest buffered METRIC row arrived (nil: none buffered).
  private(set) var metricsSince: Double?

  var isEmpty: Bool { changes.isEmpty && events.isEmpty && metrics.isEmpty && logs.isEmpty }

  mutating func add(_ log: LogRecord, now: Double) {
    logs.append(log)
    if metricsSince == nil { metricsSince = now }
  }

  mutating func add(_ metric: MetricRecord, now: Double) {
    metrics.append(metric)
    if metricsSince == nil { metricsSince = now }
  }

  /// Whether the rows should be written now: any transition or event, or METRIC rows that
  /// have waited long enough or are many.
  func isDue(now: Double) -> Bool {
    guard changes.isEmpty && events.isEmpty else { return true }
    guard let since = metricsSince else { return false }
    return now - since >= Self.metricDelay || metrics.count + logs.count >= Self.metricBatch
  }

  /// Rows of each kind buffered now.
  var rowCount: Int { changes.count + events.count + metrics.count + logs.count }

  /// Drops every buffered row about the given trials (a deleted sweep's): they can never
  /// be written. Returns how many went.
  mutating func drop(trials: Set<Int64>) -> Int {
    guard !trials.isEmpty else { return 0 }
    let before = rowCount
    changes.removeAll { trials.contains($0.id) }
    events.removeAll { $0.trialID.map(trials.contains) ?? false }
    metrics.removeAll { trials.contains($0.trialID) }
    logs.removeAll { trials.contains($0.trialID) }
    if metrics.isEmpty && logs.isEmpty { metricsSince = nil }
    return before - rowCount
  }

  /// After the store refused the batch as a whole (`Store.refusesRows`): writes each row in
  /// a transaction of its own, keeps going past the rows the store refuses, and empties the
  /// buffer. Returns the refused rows' descriptions (with the store's reason). Throws, keeping
  /// the rows not yet written, when a write fails for a passing reason (a full disk).
  mutating func writeEachAlone(to store: Store, now: Double) throws -> [String] {
    var refused: [String] = []
    func attempt(_ what: @autoclosure () -> String, _ write: () throws -> Void) throws {
      do {
        try write()
      } catch where Store.refusesRows(error) {
        refused.append("\(what()): \(error)")
      }
    }
    while let change = changes.first {
      try attempt("the change of trial \(change.id)") { _ = try store.updateTrials([change], now: now) }
      changes.removeFirst()
    }
    while let event = events.first {
      try attempt("a \(event.kind) event of trial \(event.trialID.map(String.init) ?? "-")") {
        _ = try store.updateTrials([], events: [event], now: now)
      }
      events.removeFirst()
    }
    while let metric = metrics.first {
      try attempt("epoch \(metric.epoch) of trial \(metric.trialID)") {
        _ = try store.updateTrials([], metrics: [metric], now: now)
      }
      metrics.removeFirst()
    }
    while let log = logs.first {
      try attempt("output of trial \(log.trialID)") { _ = try store.updateTrials([], logs: [log], now: now) }
      logs.removeFirst()
    }
    metricsSince = nil
    return refused
  }

  /// Writes every row in one transaction and empties the buffer; on a failure (thrown)
  /// nothing is written and everything is kept.
  mutating func write(to store: Store, now: Double) throws {
    guard !isEmpty else { return }
    try store.updateTrials(changes, metrics: metrics, events: events, logs: logs, now: now)
    logs.removeAll(keepingCapacity: true)
    changes.removeAll(keepingCapacity: true)
    events.removeAll(keepingCapacity: true)
    metrics.removeAll(keepingCapacity: true)
    metricsSince = nil
  }
}
