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
    if cancelled > 0 { parts.append("\(cancelled) cancelled") }
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
  public static func duration(_ seconds: Double) -> String {
    if seconds < 10 { return String(format: "%.1f s", seconds) }
    let whole = Int(seconds.rounded())
    if whole < 60 { return "\(whole) s" }
    if whole < 3600 { return String(format: "%d min %02d s", whole / 60, whole % 60) }
    return String(format: "%d h %02d min", whole / 3600, (whole % 3600) / 60)
  }
}
