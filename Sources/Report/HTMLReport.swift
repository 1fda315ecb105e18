import Foundation
import Search
import Vocabulary
import Wire

/// `sweepd report`: one self-contained HTML page about a sweep (inline SVG, CSS and a few
/// lines of script to sort tables; nothing is fetched, so it opens offline and as an email
/// attachment).
///
/// Sections: a summary; the sortable leaderboard and the per-group table; learning curves
/// of the top trials and per group (median over the group's trials at each epoch), with
/// early-stopped trials marked ✕ where they stopped; learning-rate traces; parallel
/// coordinates; metric against each parameter; the sensitivity of each optimizer to its
/// initial learning rate (Baydin et al. 2018, "Online Learning Rate Adaptation with
/// Hypergradient Descent", figure 3); the importance table (`Importance`).
public struct HTMLReport {
  public var history: SweepHistory
  /// The parameter to group by; nil chooses `optimizer` when it varies, else the first
  /// varying categorical parameter with at most 12 values.
  public var groupBy: String?
  /// Trials drawn individually in the learning-curve chart.
  public var top: Int
  /// Rows of the leaderboard table (the best ones); the charts draw every trial.
  public var tableRows = 2000

  public init(history: SweepHistory, groupBy: String? = nil, top: Int = 10) {
    self.history = history
    self.groupBy = groupBy
    self.top = top
  }

  var board: Leaderboard { history.leaderboard }
  var metric: String { board.metric.name.rawValue }

  /// Score with lower = better (non-finite or missing = +∞).
  func score(_ trial: TrialSummary) -> Double {
    guard let best = trial.best, best.isFinite else { return .infinity }
    return board.metric.goal == .minimize ? best : -best
  }

  /// The trial's metric per epoch (finite values only).
  func curve(_ trial: TrialSummary, _ name: String) -> [(x: Double, y: Double)] {
    (history.curves[trial.trial] ?? []).compactMap { epoch in
      epoch.values[name].flatMap { $0.isFinite ? (Double(epoch.epoch), $0) : nil }
    }
  }

  func chosenGroup(_ columns: [ParameterColumn]) -> ParameterColumn? {
    if let groupBy {
      return columns.first { $0.name == groupBy }
    }
    if let optimizer = columns.first(where: { $0.name == "optimizer" }) { return optimizer }
    return columns.first {
      if case .categorical(let names) = $0.kind { return names.count <= 12 }
      return false
    }
  }

  static func style(_ index: Int) -> (colour: String, dash: String) {
    (SVG.palette[index % SVG.palette.count], SVG.dashes[(index / SVG.palette.count) % SVG.dashes.count])
  }

  /// The page.
  public func html() -> String { page(spec: history.spec, sections: sections()) }

  /// The page's sections, without the page around them (the dashboard serves them live).
  public func sections() -> [String] {
    let spec = history.spec
    let columns = ParameterColumn.varying(board, spec: spec)
    let group = chosenGroup(columns)
    var sections: [String] = []
    sections.append(summary(spec))
    sections.append(leaderboardSection(group))
    if !board.ranked.contains(where: { $0.best?.isFinite == true }) {
      // No trial measured anything: no chart would show data. Say so, and why.
      let first = board.ranked.filter { $0.status == .failed }.min { $0.trial < $1.trial }
      let why =
        first.map {
          "Every trial that ended failed; the first, trial \($0.trial): \($0.message ?? "no reason recorded")."
        }
        ?? "No trial has reported an epoch yet."
      sections.append(
        "<section><h2>Charts</h2><p class=\"empty\">No data to draw: no trial has a value of \(SVG.escape(metric)). \(SVG.escape(why))</p></section>"
      )
      sections.append(
        "<section><h2>Config</h2><p class=\"note\">\(SVG.escape(history.file))</p><pre>\(SVG.escape(history.config))</pre></section>"
      )
      return sections
    }
    sections.append(curvesSection(group, varying: columns.map(\.name)))
    if let traces = learningRateSection(group) { sections.append(traces) }
    if !columns.isEmpty {
      sections.append(parallelSection(columns))
      sections.append(scatterSection(columns))
    }
    sections.append(sensitivitySection(columns))
    sections.append(importanceSection(columns))
    sections.append(
      "<section><h2>Config</h2><p class=\"note\">\(SVG.escape(history.file))</p><pre>\(SVG.escape(history.config))</pre></section>"
    )
    return sections
  }

  func page(spec: SweepSpec?, sections: [String]) -> String {
    let title = "sweepd report: " + (spec?.name ?? board.sweep)
    return """
      <!DOCTYPE html>
      <html lang="en"><head><meta charset="utf-8">
      <meta name="viewport" content="width=device-width, initial-scale=1">
      <title>\(SVG.escape(title))</title>
      <style>\(Self.css)</style></head>
      <body><main>
      <h1>\(SVG.escape(title))</h1>
      \(sections.joined(separator: "\n"))
      <footer>Written by <code>sweepd report \(SVG.escape(board.sweep))</code>. Self-contained: no fonts, scripts or images are fetched.</footer>
      </main>
      <script>\(Self.script)</script>
      </body></html>

      """
  }

  // MARK: Sections

  func summary(_ spec: SweepSpec?) -> String {
    var counts: [String: Int] = [:]
    for trial in board.ranked { counts[trial.status.rawValue, default: 0] += 1 }
    let order = ["completed", "early_stopped", "running", "pending", "diverged", "failed", "cancelled"]
    let statuses =
      (order.filter { counts[$0] != nil } + counts.keys.filter { !order.contains($0) }.sorted())
      .map { "\(counts[$0]!) \($0)" }.joined(separator: " · ")
    let best = board.ranked.first { $0.best != nil }
    var items = [
      ("sweep", board.sweep), ("method", spec?.methodName ?? "–"),
      ("metric", "\(metric) (\(board.metric.goal.rawValue))"),
      ("trials", "\(board.ranked.count)" + (statuses.isEmpty ? "" : ": " + statuses)),
    ]
    if let best {
      let params = best.params.map { "\($0.0)=\(board.cell($0.1))" }.joined(separator: ", ")
      items.append(
        (
          "best",
          "\(board.number(best.best)) at epoch \(best.bestEpoch.map(String.init) ?? "–"), trial \(best.trial) (\(params))"
        ))
    }
    let epochs = board.ranked.reduce(0) { $0 + $1.epochs }
    let seconds = board.ranked.reduce(0) { $0 + $1.seconds }
    items.append(("work", "\(epochs) epochs, \(String(format: "%.1f", seconds)) trial-seconds"))
    return "<section class=\"summary\"><dl>"
      + items.map { "<dt>\(SVG.escape($0.0))</dt><dd>\(SVG.escape($0.1))</dd>" }.joined() + "</dl></section>"
  }

  func leaderboardSection(_ group: ParameterColumn?) -> String {
    let names = board.parameterNames
    let limit = tableRows
    var rows: [String] = []
    for (rank, trial) in board.ranked.prefix(limit).enumerated() {
      var cells = [
        Self.numberCell(Double(rank + 1), "\(rank + 1)"),
        Self.numberCell(Double(trial.trial), "\(trial.trial)"),
        "<td class=\"status-\(SVG.escape(trial.status.rawValue))\">\(Self.statusMark(trial.status.rawValue))\(SVG.escape(trial.status.rawValue))</td>",
      ]
      for name in names {
        let value = trial.value(of: name)
        if let number = value?.number {
          cells.append(Self.numberCell(number, board.cell(value)))
        } else {
          cells.append("<td>\(SVG.escape(board.cell(value)))</td>")
        }
      }
      cells.append(
        Self.numberCell(
          trial.best, board.number(trial.best) + (trial.bestDeviation.map { " ± " + board.number($0) } ?? ""))
      )
      cells.append(Self.numberCell(trial.bestEpoch.map(Double.init), trial.bestEpoch.map(String.init) ?? "–"))
      cells.append(Self.numberCell(trial.result, board.number(trial.result)))
      cells.append(Self.numberCell(Double(trial.epochs), "\(trial.epochs)"))
      cells.append(Self.numberCell(trial.seconds, String(format: "%.2f", trial.seconds)))
      // One line per trial (the whole note on hover), so the scroll box shows ~20 rows.
      cells.append(
        "<td class=\"message\" title=\"\(SVG.escape(trial.message ?? ""))\">\(SVG.escape(trial.message ?? ""))</td>"
      )
      rows.append("<tr>" + cells.joined() + "</tr>")
    }
    let headers =
      ["rank", "trial", "status"] + names + [
        "best \(metric)", "at epoch", "result", "epochs", "seconds", "note",
      ]
    var html = "<section><h2>Leaderboard</h2>"
    if let line = board.selectedLine {
      // The one number measured on rows the search never saw, apart from the validation table.
      html += "<p class=\"selected\"><strong>\(SVG.escape(line))</strong></p>"
    }
    html +=
      "<p class=\"note\">Ranked by the best \(SVG.escape(metric)) a trial reached (validation rows"
      + (board.ranked.contains { $0.bestDeviation != nil } ? ", mean ± std over folds" : "")
      + "); click a heading to sort."
    if board.ranked.count > limit { html += " The best \(limit) of \(board.ranked.count) trials are listed." }
    html += "</p><div class=\"scroll\"><table class=\"sortable\"><thead><tr>"
    html += headers.map { "<th>\(SVG.escape($0))</th>" }.joined() + "</tr></thead><tbody>"
    html += rows.joined(separator: "\n") + "</tbody></table></div>"
    if let group {
      html +=
        "<h3>By \(SVG.escape(group.name))</h3><div class=\"scroll\"><table class=\"sortable\"><thead><tr>"
      html +=
        [group.name, "trials", "measured", "best", "median", "mean", "std", "vs best (p)", "best trial"].map {
          "<th>\(SVG.escape($0))</th>"
        }.joined() + "</tr></thead><tbody>"
      for summary in board.groups(by: group.name) {
        html += "<tr><td>\(SVG.escape(summary.value.description))</td>"
        html += Self.numberCell(Double(summary.count), "\(summary.count)")
        html += Self.numberCell(Double(summary.measured), "\(summary.measured)")
        html += Self.numberCell(summary.best, board.number(summary.best))
        html += Self.numberCell(summary.median, board.number(summary.median))
        html += Self.numberCell(summary.mean, board.number(summary.mean))
        html += Self.numberCell(summary.standardDeviation, board.number(summary.standardDeviation))
        html += Self.numberCell(summary.comparison?.p, summary.comparison?.text ?? "–")
        html += Self.numberCell(
          summary.bestTrial.map { Double($0.trial) }, summary.bestTrial.map { "\($0.trial)" } ?? "–")
        html += "</tr>"
      }
      html += "</tbody></table></div>"
    }
    return html + "</section>"
  }

  func curvesSection(_ group: ParameterColumn?, varying: [String]) -> String {
    let shown = board.ranked.filter { !curve($0, metric).isEmpty }.prefix(top)
    var charts: [String] = []
    let allValues = shown.flatMap { curve($0, metric).map(\.y) }
    var series: [Chart.Series] = []
    for (index, trial) in shown.enumerated() {
      let points = curve(trial, metric)
      let style = Self.style(index)
      // "#1 t8 adam lr=0.01": rank, trial, then the varying parameters (the optimizer by
      // its name alone, the others as name=value with the last part of their path).
      let values = varying.map { name -> String in
        let value = board.cell(trial.value(of: name))
        return name == "optimizer"
          ? value : "\(name.split(separator: ".").last.map(String.init) ?? name)=\(value)"
      }.joined(separator: " ")
      var line = Chart.Series(
        label: "#\(index + 1) t\(trial.trial) \(values)", points: points, colour: style.colour,
        dash: style.dash)
      if trial.status == .earlyStopped, let last = points.last {
        line.annotations = [(last.x, last.y, .cross)]
      }
      if trial.status == .diverged, let last = points.last { line.annotations = [(last.x, last.y, .square)] }
      series.append(line)
    }
    charts.append(
      Chart(
        id: "curves-top", title: "\(metric) per epoch, best \(shown.count) trials",
        x: .init(title: "epoch"), y: .init(title: metric, scale: metricScale(allValues)), series: series,
        notes: ["✕ stopped early", "■ diverged"]
      ).svg())
    if let group {
      var groupSeries: [Chart.Series] = []
      var values: [Double] = []
      let members = Dictionary(grouping: board.ranked) { trial in
        trial.value(of: group.name)?.description ?? "–"
      }
      let manyStopped = board.ranked.filter { $0.status == .earlyStopped }.count > 40
      for (index, name) in Self.groupNames(group, board).enumerated() {
        let trials = members[name] ?? []
        var byEpoch: [Double: [Double]] = [:]
        for trial in trials {
          for point in curve(trial, metric) { byEpoch[point.x, default: []].append(point.y) }
        }
        let points = byEpoch.keys.sorted().map { (x: $0, y: Self.median(byEpoch[$0]!)) }
        guard !points.isEmpty else { continue }
        values += points.map(\.y)
        let style = Self.style(index)
        let stopped = trials.filter { $0.status == .earlyStopped }
        var line = Chart.Series(
          label: manyStopped
            ? "\(name) (\(trials.count), \(stopped.count) stopped)" : "\(name) (\(trials.count))",
          points: points, colour: style.colour, dash: style.dash)
        // Where the group's early-stopped trials stopped (counted in the legend instead when
        // there are so many that their marks would bury the medians).
        if !manyStopped {
          line.annotations = stopped.compactMap { trial in
            curve(trial, metric).last.map { ($0.x, $0.y, .cross) }
          }
        }
        groupSeries.append(line)
      }
      charts.append(
        Chart(
          id: "curves-group", title: "Median \(metric) per epoch by \(group.name)", x: .init(title: "epoch"),
          y: .init(title: "median \(metric)", scale: metricScale(values)), series: groupSeries,
          notes: [
            "(n): trials in the group", "line: median of the trials", "that reached the epoch",
            manyStopped ? "(…, k stopped): stopped early" : "✕ a trial stopped early",
          ]
        ).svg())
    }
    return
      "<section><h2>Learning curves</h2><div class=\"charts\">\(charts.joined(separator: "\n"))</div></section>"
  }

  func learningRateSection(_ group: ParameterColumn?) -> String? {
    let withRate = board.ranked.filter { !curve($0, "lr").isEmpty }
    guard !withRate.isEmpty else { return nil }
    var series: [Chart.Series] = []
    var caption: String
    if let group {
      caption = "The best trial of each \(group.name)"
      for (index, name) in Self.groupNames(group, board).enumerated() {
        guard let best = withRate.first(where: { ($0.value(of: group.name)?.description ?? "–") == name })
        else {
          continue
        }
        let style = Self.style(index)
        series.append(
          Chart.Series(label: name, points: curve(best, "lr"), colour: style.colour, dash: style.dash))
      }
    } else {
      caption = "The best \(Swift.min(top, withRate.count)) trials"
      for (index, trial) in withRate.prefix(top).enumerated() {
        let style = Self.style(index)
        series.append(
          Chart.Series(
            label: "trial \(trial.trial)", points: curve(trial, "lr"), colour: style.colour, dash: style.dash)
        )
      }
    }
    // Small multiples: one panel per series on a shared rate axis, so series that coincide
    // (every fixed-rate optimizer at 0.01) are all visible.
    let allRates = series.flatMap { $0.points.map(\.y) }
    let scale = metricScale(allRates)
    let positive = allRates.filter { $0 > 0 && $0.isFinite }
    let range: ClosedRange<Double>? =
      scale == .log
      ? positive.min().flatMap { low in positive.max().map { low / 1.2...$0 * 1.2 } }
      : allRates.filter(\.isFinite).min().flatMap { low in
        allRates.filter(\.isFinite).max().map { high in
          let pad = Swift.max((high - low) * 0.08, Swift.max(abs(high), 1e-12) * 0.05)
          return (low - pad)...(high + pad)
        }
      }
    let panels = series.enumerated().map { index, line in
      var single = line
      single.label = nil
      return Chart(
        id: "lr-trace-\(index)", title: line.label ?? "", x: .init(title: "epoch"),
        y: .init(title: "learning rate", scale: scale, range: range), series: [single], width: 280,
        height: 210
      ).svg()
    }
    return
      "<section><h2>Learning-rate traces</h2><p class=\"note\">\(SVG.escape(caption)), one panel each on "
      + "the same rate axis: what the hypergradient optimizers and reduce-on-plateau did to the rate (flat for "
      + "a fixed rate), at the end of each epoch.</p><div class=\"charts\">"
      + panels.joined(separator: "\n") + "</div></section>"
  }

  func parallelSection(_ columns: [ParameterColumn]) -> String {
    let shown = Array(columns.prefix(12))
    let scores = board.ranked.map(score)
    let measured = board.ranked.indices.filter { scores[$0].isFinite }
    let bests = measured.map { board.ranked[$0].best! }
    let denominator = Double(Swift.max(measured.count - 1, 1))
    let lines = measured.enumerated().map { position, index in
      ParallelCoordinates.Line(
        values: shown.map { $0.coordinate(board.ranked[index].value(of: $0.name)) } + [
          board.ranked[index].best
        ],
        colour: Double(position) / denominator)
    }
    let axes = shown.map { (title: $0.name, scale: $0.scale) } + [(title: metric, scale: metricScale(bests))]
    let left = board.ranked.count - measured.count
    let plot = ParallelCoordinates(
      id: "parallel",
      title: "Parameters of \(measured.count) trials, coloured by rank"
        + (measured.count > 200 ? " (the best \(Swift.min(50, measured.count / 20)) drawn solid)" : ""),
      axes: axes, lines: lines,
      note: left > 0
        ? "\(left) trials without a finite \(metric) (running, failed or diverged) are not drawn." : "")
    return "<section><h2>Parallel coordinates</h2>\(plot.svg())</section>"
  }

  func scatterSection(_ columns: [ParameterColumn]) -> String {
    let measured = board.ranked.filter { score($0).isFinite }
    let yScale = metricScale(measured.compactMap(\.best))
    var charts: [String] = []
    for (index, column) in columns.enumerated() {
      var points: [(x: Double, y: Double)] = []
      for (position, trial) in measured.enumerated() {
        guard var x = column.coordinate(trial.value(of: column.name)) else { continue }
        // Categories: a small deterministic jitter so repeats do not hide each other.
        if case .categorical = column.kind { x += (Double((position * 37) % 17) / 16 - 0.5) * 0.3 }
        points.append((x, trial.best!))
      }
      charts.append(
        Chart(
          id: "scatter-\(index)", title: "\(metric) against \(column.name)",
          x: .init(title: column.name, scale: column.scale), y: .init(title: "best \(metric)", scale: yScale),
          series: [
            Chart.Series(
              label: nil, points: points, colour: "#0072B2",
              opacity: SVG.crowdOpacity(points.count, base: 0.6),
              marks: .circle, connect: false)
          ], width: 420, height: 300
        ).svg())
    }
    return "<section><h2>\(SVG.escape(metric)) against each parameter</h2><div class=\"charts\">"
      + charts.joined(separator: "\n") + "</div></section>"
  }

  /// Best metric against the initial learning rate, per optimizer; one chart per value of
  /// a further categorical parameter with 2–4 values (e.g. the model), so unlike problems
  /// are not pooled. With repeats or a grid, the line joins the median at each rate; with
  /// continuous rates, the median in each of 8 log-spaced bins.
  func sensitivitySection(_ columns: [ParameterColumn]) -> String {
    let head = "<section><h2>Learning-rate sensitivity</h2>"
    guard let rate = columns.first(where: { $0.name == "lr" }), case .numeric = rate.kind else {
      return head + "<p class=\"note\">Not drawn: this sweep does not vary <code>lr</code>.</p></section>"
    }
    let optimizer = columns.first { $0.name == "optimizer" }
    let facet = columns.first { column in
      guard column.name != "optimizer", column.name != "lr", case .categorical(let names) = column.kind else {
        return false
      }
      return (2...4).contains(names.count)
    }
    let measured = board.ranked.filter { score($0).isFinite && $0.value(of: "lr")?.number != nil }
    let facets: [String?] =
      facet.map { column in
        if case .categorical(let names) = column.kind { return names }
        return []
      } ?? [nil]
    let yScale = metricScale(measured.compactMap(\.best))
    let optimizers = optimizer.map { Self.groupNames($0, board) } ?? ["all trials"]
    var charts: [String] = []
    for (facetIndex, facetValue) in facets.enumerated() {
      var series: [Chart.Series] = []
      for (index, name) in optimizers.enumerated() {
        let trials = measured.filter { trial in
          (optimizer == nil || trial.value(of: "optimizer")?.description == name)
            && (facetValue == nil || trial.value(of: facet!.name)?.description == facetValue)
        }
        let points = trials.map { (x: $0.value(of: "lr")!.number!, y: $0.best!) }
        guard !points.isEmpty else { continue }
        let style = Self.style(index)
        series.append(
          Chart.Series(
            label: name, points: Self.medianLine(points), colour: style.colour, dash: style.dash,
            marks: .circle))
        series.append(
          Chart.Series(
            label: nil, points: points, colour: style.colour, opacity: 0.35, marks: .circle, connect: false))
      }
      let suffix = facetValue.map { ", \(facet!.name) = \($0)" } ?? ""
      charts.append(
        Chart(
          id: "sensitivity-\(facetIndex)", title: "best \(metric) against initial lr\(suffix)",
          x: .init(title: "initial learning rate", scale: rate.scale),
          y: .init(title: "best \(metric)", scale: yScale),
          series: series, width: 560, height: 380, notes: ["line: median", "dots: trials"]
        ).svg())
    }
    return head
      + "<p class=\"note\">A method that is insensitive to its starting rate draws a flat line: Baydin et al. (2018) "
      + "claim this for the hypergradient variants (<code>sgd_hd</code>, <code>sgdn_hd</code>, <code>adam_hd</code>).</p>"
      + "<div class=\"charts\">" + charts.joined(separator: "\n") + "</div></section>"
  }

  func importanceSection(_ columns: [ParameterColumn]) -> String {
    let finished = board.ranked.filter { $0.status.isFinished }
    let scores = finished.map(score)
    let estimates = columns.compactMap { column -> Importance? in
      var categorical = false
      if case .categorical = column.kind { categorical = true }
      let coordinates = finished.map { trial -> Double? in
        guard let x = column.coordinate(trial.value(of: column.name)) else { return nil }
        return column.scale == .log ? log10(x) : x
      }
      return Importance.estimate(
        parameter: column.name, coordinates: coordinates, scores: scores, categorical: categorical)
    }.sorted { $0.share > $1.share }
    var html = "<section><h2>Hyperparameter importance</h2>"
    guard !estimates.isEmpty else {
      return html
        + "<p class=\"note\">Not estimated: fewer than 3 finished trials, or no parameter varies.</p></section>"
    }
    html +=
      "<table><thead><tr><th>parameter</th><th>share of rank variance (ε²)</th><th></th><th>groups</th><th>trials</th></tr></thead><tbody>"
    for estimate in estimates {
      let percent = estimate.share * 100
      html +=
        "<tr><td>\(SVG.escape(estimate.parameter))</td><td class=\"num\">\(String(format: "%.1f%%", percent))</td>"
        + "<td><svg width=\"200\" height=\"12\" role=\"img\"><title>\(String(format: "%.1f%%", percent))</title>"
        + "<rect width=\"\(SVG.f(2 * percent))\" height=\"12\" fill=\"#0072B2\"/></svg></td>"
        + "<td class=\"num\">\(estimate.groups)</td><td class=\"num\">\(estimate.trials)</td></tr>"
    }
    let total = estimates.reduce(0) { $0 + $1.share } * 100
    html +=
      "</tbody></table><p class=\"note\">Each parameter alone explains this share of the variance of the "
      + "trials' ranks by \(SVG.escape(metric)) (Kelley's ε² over the parameter's values or equal-count bins; "
      + "diverged and failed trials rank last). Main effects together: \(String(format: "%.0f%%", Swift.min(total, 100))); "
      + "the rest is interactions and noise such as seeds. A first-order decomposition in the spirit of fANOVA "
      + "(Hutter et al. 2014), estimated from the trials directly. A share near 0% means the parameter's "
      + "values, on their own, do not order the trials: what it does depends on the other parameters (an "
      + "optimizer is only as good as its learning rate), or it does not matter here.</p>"
    return html + "</section>"
  }

  // MARK: Helpers

  static func groupNames(_ column: ParameterColumn, _ board: Leaderboard) -> [String] {
    // In order of each group's best trial (the leaderboard's ranking).
    var names: [String] = []
    for trial in board.ranked {
      let name = trial.value(of: column.name)?.description ?? "–"
      if !names.contains(name) { names.append(name) }
    }
    return names
  }

  static func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    let middle = sorted.count / 2
    return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
  }

  /// The median y at each distinct x (at most 12 of them), or in 8 log-spaced bins of x.
  static func medianLine(_ points: [(x: Double, y: Double)]) -> [(x: Double, y: Double)] {
    let distinct = Set(points.map(\.x))
    if distinct.count <= 12 {
      return distinct.sorted().map { x in (x, median(points.filter { $0.x == x }.map(\.y))) }
    }
    let logs = points.map { log10($0.x) }
    let low = logs.min()!, high = logs.max()!
    let bins = 8
    var members = [[(Double, Double)]](repeating: [], count: bins)
    for (index, point) in points.enumerated() {
      let bin = Swift.min(bins - 1, Int((logs[index] - low) / (high - low) * Double(bins)))
      members[bin].append((logs[index], point.y))
    }
    return members.filter { !$0.isEmpty }.map { bin in
      (pow(10, median(bin.map(\.0))), median(bin.map(\.1)))
    }
  }

  static func numberCell(_ value: Double?, _ text: String) -> String {
    let key =
      value.map { $0.isFinite ? String($0) : ($0 > 0 || $0.isNaN ? "Infinity" : "-Infinity") } ?? "Infinity"
    return "<td class=\"num\" data-v=\"\(key)\">\(SVG.escape(text))</td>"
  }

  static func statusMark(_ status: String) -> String {
    switch status {
    case "completed": return "✓ "
    case "early_stopped": return "✕ "
    case "diverged": return "■ "
    case "failed": return "! "
    case "running": return "▶ "
    default: return ""
    }
  }

  public static let css = """
    body{margin:0;background:#fafafa;color:#1a1a1a;font:14px/1.45 "DejaVu Sans",Helvetica,Arial,sans-serif}
    main{max-width:1180px;margin:0 auto;padding:16px 24px 40px}
    h1{font-size:24px;margin:8px 0 12px}h2{font-size:19px;margin:28px 0 8px;border-bottom:1px solid #ccc}
    h3{font-size:16px;margin:18px 0 6px}
    section.summary dl{display:grid;grid-template-columns:max-content 1fr;gap:2px 16px;margin:0}
    dt{font-weight:bold}dd{margin:0}
    .note{color:#444;font-size:13px;margin:4px 0 8px}
    .scroll{max-height:460px;overflow:auto;border:1px solid #ddd;background:white}
    table{border-collapse:collapse;font-size:13px;background:white}
    th,td{padding:3px 8px;border-bottom:1px solid #eee;text-align:left;white-space:nowrap}
    th{position:sticky;top:0;background:#f0f0f0;cursor:pointer;user-select:none}
    th[data-dir=asc]::after{content:" ▲"}th[data-dir=desc]::after{content:" ▼"}
    td.num{text-align:right;font-variant-numeric:tabular-nums}td.message{color:#555;max-width:360px;overflow:hidden;text-overflow:ellipsis}
    .status-early_stopped{color:#8a3b00}.status-diverged,.status-failed{color:#a00000}
    .charts{display:flex;flex-wrap:wrap;gap:12px}
    svg{background:white;border:1px solid #ddd;max-width:100%;height:auto}
    td svg{border:none}
    pre{background:white;border:1px solid #ddd;padding:10px;overflow:auto;font-size:12px}
    footer{margin-top:32px;color:#666;font-size:12px}
    """

  /// Sorting by a column: numbers by their `data-v`, text alphabetically; a second click
  /// reverses.
  public static let script = """
    document.querySelectorAll("table.sortable th").forEach(function (th, column) {
      th.addEventListener("click", function () {
        var body = th.closest("table").tBodies[0];
        var ascending = th.dataset.dir !== "asc";
        th.closest("tr").querySelectorAll("th").forEach(function (h) { delete h.dataset.dir; });
        th.dataset.dir = ascending ? "asc" : "desc";
        var key = function (row) {
          var cell = row.cells[column];
          return cell.dataset.v !== undefined ? parseFloat(cell.dataset.v) : cell.textContent;
        };
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (a, b) {
          var x = key(a), y = key(b);
          var order = typeof x === "number" ? (x === y ? 0 : x < y ? -1 : 1) : String(x).localeCompare(String(y));
          return ascending ? order : -order;
        });
        rows.forEach(function (row) { body.appendChild(row); });
      });
    });
    """
}
