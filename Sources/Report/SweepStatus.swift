import Foundation

/// One sweep's progress as the coordinator reports it (`STATUS`), Codable so the
/// coordinator writes and the clients read one definition.
public struct SweepStatus: Codable, Hashable, Sendable {
  public struct Metric: Codable, Hashable, Sendable {
    public var name: String
    public var goal: String

    public init(name: String, goal: String) {
      self.name = name
      self.goal = goal
    }
  }

  public var sweep: String
  public var name: String?
  /// running, completed or cancelled.
  public var state: String
  /// Trials by state (pending, running, completed, early_stopped, diverged, failed, cancelled).
  public var trials: [String: Int]
  /// The sweep's trial count, when it has one.
  public var total: Int?
  /// The best value of the metric so far, running trials included.
  public var best: Double?
  public var metric: Metric
  /// Workers connected to the coordinator.
  public var workers: Int
  /// The latest stopping decisions (at most `Stop.shown`, oldest first), with their reasons.
  public var stops: [Stop]?

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
    metric: Metric, workers: Int, stops: [Stop]? = nil
  ) {
    self.stops = stops
    self.sweep = sweep
    self.name = name
    self.state = state
    self.trials = trials
    self.total = total
    self.best = best
    self.metric = metric
    self.workers = workers
  }

  /// Trials that have ended, whatever their outcome.
  public var done: Int { trials.filter { $0.key != "pending" && $0.key != "running" }.values.reduce(0, +) }
  public var running: Int { trials["running"] ?? 0 }
  public var pending: Int { trials["pending"] ?? 0 }

  /// `{"sweeps": [...]}`, the body of a STATUS reply.
  public struct List: Codable, Sendable {
    public var sweeps: [SweepStatus]

    public init(sweeps: [SweepStatus]) { self.sweeps = sweeps }
  }

  public static func encode(_ list: [SweepStatus]) -> [UInt8] {
    // Encoding these value types cannot fail (non-finite numbers become strings).
    Array(try! ReportJSON.encoder().encode(List(sweeps: list)))
  }

  public static func decode(_ json: [UInt8]) throws -> [SweepStatus] {
    try ReportJSON.decoder().decode(List.self, from: Data(json)).sweeps
  }

  /// `s1-1 running: 18/50 done, 2 running, 30 pending; best val_error 0.0167`, then, when
  /// trials were stopped early, how many and the latest decisions, a line each.
  public var summary: String {
    var text =
      "\(sweep) \(state): \(done)/\(total.map(String.init) ?? "?") done, \(running) running, \(pending) pending; "
      + "best \(metric.name) \(best.map { String(format: "%.4g", $0) } ?? "–")"
    if let stops, !stops.isEmpty {
      text += "\n  \(trials["early_stopped"] ?? 0) stopped early; latest:"
      for stop in stops { text += "\n  trial \(stop.trial): \(stop.reason)" }
    }
    return text
  }

  /// A progress line for `sweepd watch`:
  /// `s1-1 running [##########··········] 18/50 · 2 running · 30 pending · best val_error 0.0167 · ETA 4 s`.
  ///
  /// The ETA is the trials left divided by the rate observed while watching,
  /// (done − `doneAtStart`) / `elapsed` seconds; it is shown once a trial has ended while
  /// watching and the sweep has a trial count. `width` is the bar's length in characters.
  public func progressLine(elapsed: Double, doneAtStart: Int, width: Int = 24) -> String {
    var parts: [String] = []
    if let total, total > 0 {
      let filled = Swift.min(
        width, Swift.max(0, Int((Double(done) / Double(total) * Double(width)).rounded(.down))))
      let bar = String(repeating: "#", count: filled) + String(repeating: "·", count: width - filled)
      parts.append("\(sweep) \(state) [\(bar)] \(done)/\(total)")
    } else {
      parts.append("\(sweep) \(state) \(done) done")
    }
    parts.append("\(running) running")
    parts.append("\(pending) pending")
    parts.append("best \(metric.name) \(best.map { String(format: "%.4g", $0) } ?? "–")")
    if state == "running" {
      let finishedWhileWatching = done - doneAtStart
      if let total, finishedWhileWatching > 0, elapsed > 0 {
        let rate = Double(finishedWhileWatching) / elapsed
        parts.append("ETA \(Self.duration(Double(Swift.max(0, total - done)) / rate))")
      } else {
        parts.append("ETA –")
      }
    } else {
      parts.append("\(Self.duration(elapsed)) watched")
    }
    return parts.joined(separator: " · ")
  }

  /// `0.4 s`, `42 s`, `3 min 05 s`, `2 h 07 min`.
  static func duration(_ seconds: Double) -> String {
    if seconds < 10 { return String(format: "%.1f s", seconds) }
    let whole = Int(seconds.rounded())
    if whole < 60 { return "\(whole) s" }
    if whole < 3600 { return String(format: "%d min %02d s", whole / 60, whole % 60) }
    return String(format: "%d h %02d min", whole / 3600, (whole % 3600) / 60)
  }
}
