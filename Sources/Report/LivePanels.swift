import Foundation
import Vocabulary
import Wire

/// Pieces of the report the live dashboard draws on its own: the curves of the trials
/// running now, and one trial's every metric — in the report's colours and marks.
extension HTMLReport {
  /// The sweep's metric per epoch for `running` trials (as far as they have got), each in
  /// the colour of its place in that list; nil when none has reported an epoch.
  public func runningSection(_ running: [Int64]) -> String? {
    let byID = Dictionary(board.ranked.map { ($0.trial, $0) }, uniquingKeysWith: { first, _ in first })
    let trials = running.compactMap { byID[$0] }.filter { !curve($0, metric).isEmpty }
    guard !trials.isEmpty else { return nil }
    var series: [Chart.Series] = []
    for (index, trial) in trials.enumerated() {
      let style = Self.style(index)
      let values = trial.params.map {
        "\($0.0.split(separator: ".").last.map(String.init) ?? $0.0)=\(board.cell($0.1))"
      }
      series.append(
        Chart.Series(
          label: "▶ t\(trial.trial) \(values.joined(separator: " "))", points: curve(trial, metric),
          colour: style.colour, dash: style.dash))
    }
    let values = series.flatMap { $0.points.map(\.y) }
    let chart = Chart(
      id: "curves-running",
      title: "\(metric) per epoch, the \(trials.count) running trial\(trials.count == 1 ? "" : "s")",
      x: .init(title: "epoch"), y: .init(title: metric, scale: metricScale(values)), series: series)
    return "<section id=\"running\"><h2>Running now</h2><div class=\"charts\">\(chart.svg())</div></section>"
  }

  /// Every metric `trial` reported, a chart each (its sweep's metric first).
  public func trialCharts(_ trial: Int64) -> String {
    let epochs = history.curves[trial] ?? []
    var names = Set<String>()
    for epoch in epochs { names.formUnion(epoch.values.keys) }
    let ordered = (names.contains(metric) ? [metric] : []) + names.subtracting([metric]).sorted()
    guard !ordered.isEmpty else { return "<p class=\"empty\">No epoch reported yet.</p>" }
    let charts = ordered.enumerated().map { index, name -> String in
      let points = epochs.compactMap { epoch in
        epoch.values[name].flatMap { $0.isFinite ? (x: Double(epoch.epoch), y: $0) : nil }
      }
      let style = Self.style(index)
      return Chart(
        id: "trial-\(index)", title: "\(name) per epoch", x: .init(title: "epoch"),
        y: .init(title: name, scale: metricScale(points.map(\.y))),
        series: [
          Chart.Series(label: name, points: points, colour: style.colour, dash: style.dash, marks: .circle)
        ],
        width: 420, height: 280
      ).svg()
    }
    return "<div class=\"charts\">\(charts.joined())</div>"
  }
}
