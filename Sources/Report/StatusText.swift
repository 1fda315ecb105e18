import Foundation
import Wire

/// How `sweepd status` and `sweepd watch` show a sweep's progress.
extension SweepStatus {
  /// `s1-1 running: 18/50 done, 2 running, 30 pending; best val_error 0.0167`, then, when
  /// trials were stopped early, how many and the latest decisions, a line each.
  public var summary: String {
    var text =
      "\(sweep) \(state): \(done)/\(total.map(String.init) ?? "?") done, "
      + (cancelled > 0 ? "\(cancelled) cancelled, " : "") + "\(running) running, \(pending) pending; "
      + "best \(metric.name) \(best.map { String(format: "%.4g", $0) } ?? "–")"
    if let waiting { text += "\n  \(waiting)" }
    if let target { text += "\n  \(target)" }
    if let finalRun { text += "\n  \(finalRun)" }
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
  ///
  /// `eta`, when given, replaces that estimate (`ETAEstimator`'s smoothed one); `columns`,
  /// when given, fits the line to a terminal that wide, so a refresh never wraps: the bar
  /// shrinks first (to 6), then the least telling parts go (pending, then running, then
  /// cancelled counts) so the best value and the ETA stay, and only then is the end cut
  /// with `…`.
  public func progressLine(
    elapsed: Double, doneAtStart: Int, width: Int = 24, eta: Double? = nil, columns: Int? = nil
  ) -> String {
    var parts = progressParts(elapsed: elapsed, doneAtStart: doneAtStart, barWidth: width, eta: eta)
    func line() -> String { parts.map(\.text).joined(separator: " · ") }
    guard let columns, line().count > columns else { return line() }
    if total != nil {
      let over = line().count - columns
      parts = progressParts(
        elapsed: elapsed, doneAtStart: doneAtStart, barWidth: Swift.max(6, width - over), eta: eta)
    }
    for dropped in [Part.pending, .running, .cancelled] where line().count > columns {
      parts.removeAll { $0.kind == dropped }
    }
    let fitted = line()
    return fitted.count > columns ? String(fitted.prefix(Swift.max(columns - 1, 1))) + "…" : fitted
  }

  enum Part { case head, cancelled, running, pending, best, time }

  func progressParts(elapsed: Double, doneAtStart: Int, barWidth width: Int, eta given: Double?) -> [(
    kind: Part, text: String
  )] {
    var parts: [(kind: Part, text: String)] = []
    if let total, total > 0 {
      let filled = Swift.min(
        width, Swift.max(0, Int((Double(done) / Double(total) * Double(width)).rounded(.down))))
      let bar = String(repeating: "#", count: filled) + String(repeating: "·", count: width - filled)
      parts.append((.head, "\(sweep) \(state) [\(bar)] \(done)/\(total)"))
    } else {
      parts.append((.head, "\(sweep) \(state) \(done) done"))
    }
    if cancelled > 0 { parts.append((.cancelled, "\(cancelled) cancelled")) }
    parts.append((.running, "\(running) running"))
    parts.append((.pending, "\(pending) pending"))
    parts.append((.best, "best \(metric.name) \(best.map { String(format: "%.4g", $0) } ?? "–")"))
    if state == "running", let waiting, running == 0 {
      parts.append((.time, waiting))
    } else if state == "running" {
      let finishedWhileWatching = done - doneAtStart
      if let given {
        parts.append((.time, "ETA \(Self.duration(given))"))
      } else if let total, finishedWhileWatching > 0, elapsed > 0 {
        let rate = Double(finishedWhileWatching) / elapsed
        parts.append((.time, "ETA \(Self.duration(Double(Swift.max(0, total - done)) / rate))"))
      } else {
        parts.append((.time, "ETA –"))
      }
    } else {
      parts.append((.time, "\(Self.duration(elapsed)) watched"))
    }
    return parts
  }

  /// `0.4 s`, `42 s`, `3 min 05 s`, `2 h 07 min`.
  public static func duration(_ seconds: Double) -> String {
    guard seconds.isFinite else { return "? s" }
    if seconds < 10 { return String(format: "%.1f s", seconds) }
    // Past a million hours the number says all there is to say (and stays an Int).
    let whole = Int(Swift.min(seconds, 3.6e9).rounded())
    if whole < 60 { return "\(whole) s" }
    if whole < 3600 { return String(format: "%d min %02d s", whole / 60, whole % 60) }
    return String(format: "%d h %02d min", whole / 3600, (whole % 3600) / 60)
  }
}

/// A steadier ETA for `sweepd watch`: the completion rate is sampled at most once a second
/// and smoothed exponentially (weight 0.1 for the newest second: a time constant of about 10 s), so the estimate no longer
/// swings from minutes to seconds as bursts of short trials end. Before the first full
/// second it uses the average rate since watching began.
public struct ETAEstimator: Sendable {
  var startDone: Int?
  var last: (time: Double, done: Int)?
  var rate: Double?
  /// Weight of the newest one-second rate.
  public var smoothing = 0.1

  public init() {}

  /// Feeds the trials done at `elapsed` seconds; returns the ETA for `remaining` trials
  /// (nil while no trial has ended).
  public mutating func update(elapsed: Double, done: Int, remaining: Int) -> Double? {
    if startDone == nil { startDone = done }
    if let last {
      if elapsed - last.time >= 1 {
        let recent = Double(done - last.done) / (elapsed - last.time)
        rate = rate.map { (1 - smoothing) * $0 + smoothing * recent } ?? recent
        self.last = (elapsed, done)
      }
    } else {
      last = (elapsed, done)
    }
    let average = elapsed > 0 ? Double(done - startDone!) / elapsed : 0
    guard let used = rate ?? (average > 0 ? average : nil), used > 0 else { return nil }
    return Double(Swift.max(0, remaining)) / used
  }
}
