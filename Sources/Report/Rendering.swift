import Foundation
import Vocabulary
import Wire

/// Output formats of `sweepd leaderboard`.
public enum LeaderboardFormat: String, CaseIterable, Sendable {
  case table, csv, json, markdown
}

extension Leaderboard {
  /// The leaderboard as text in `format`; `top` limits the trials shown, `groupBy` adds (for
  /// table and markdown) or switches to (csv) the per-group summary.
  public func render(_ format: LeaderboardFormat, top: Int? = nil, groupBy: String? = nil) -> String {
    let shown = Array(ranked.prefix(max(top ?? ranked.count, 0)))
    switch format {
    case .json: return LeaderboardDocument(self, top: top, groupBy: groupBy).jsonText
    case .csv: return groupBy.map { csvGroups($0) } ?? csv(shown)
    case .table, .markdown:
      var text = grid(trialRows(shown), markdown: format == .markdown)
      if let line = selectedLine { text += "\n" + (format == .markdown ? "**\(line)**\n" : line + "\n") }
      if let key = groupBy {
        text += "\n" + grid(groupRows(key), markdown: format == .markdown)
      }
      return text
    }
  }

  /// The final run, apart from the validation numbers above it:
  /// `selected: trial 7, refit on training + validation for 12 epochs — test_error 0.0306, …`.
  public var selectedLine: String? {
    guard let selected else { return nil }
    let how =
      selected.refit
      ? "refit on training + validation rows for \(selected.epochs) epoch\(selected.epochs == 1 ? "" : "s")"
      : "its own model (\(selected.epochs) epoch\(selected.epochs == 1 ? "" : "s"))"
    var line = "selected: trial \(selected.trial), \(how), held-out test: \(selected.testText)"
    if selected.test.isEmpty, let message = selected.message,
      selected.status == .failed || selected.status == .diverged
    {
      line += " (\(message))"
    }
    return line
  }

  func number(_ x: Double?) -> String {
    guard let x else { return "–" }
    return String(format: "%.4g", x)
  }

  public func cell(_ value: ConfigValue?) -> String {
    guard let value else { return "–" }
    if case .double(let x) = value { return String(format: "%.4g", x) }
    return value.description
  }

  func trialRows(_ shown: [TrialSummary]) -> [[String]] {
    let names = parameterNames
    var rows = [["rank", "trial", "status"] + names + ["best \(metric.name)", "epoch", "epochs", "seconds"]]
    for (rank, trial) in shown.enumerated() {
      var row: [String] = [String(rank + 1), String(trial.trial), trial.status.rawValue]
      row += names.map { cell(trial.value(of: $0)) }
      row += [
        number(trial.best) + (trial.bestDeviation.map { " ± " + number($0) } ?? ""),
        trial.bestEpoch.map(String.init) ?? "–",
      ]
      row += [String(trial.epochs), String(format: "%.2f", trial.seconds)]
      rows.append(row)
    }
    return rows
  }

  func groupRows(_ key: String) -> [[String]] {
    var rows = [[key, "trials", "best", "median", "mean ± std", "vs best", "best configuration"]]
    for group in groups(by: key) {
      let spread =
        group.mean.map { mean in number(mean) + (group.standardDeviation.map { " ± " + number($0) } ?? "") }
        ?? "–"
      let configuration =
        group.bestTrial.map { trial in
          trial.params.filter { $0.0 != key }.map { "\($0.0)=\(cell($0.1))" }.joined(separator: " ")
        } ?? "–"
      rows.append([
        cell(group.value), String(group.count), number(group.best), number(group.median), spread,
        group.comparison?.text ?? "–", configuration,
      ])
    }
    return rows
  }

  func grid(_ rows: [[String]], markdown: Bool) -> String {
    if markdown {
      var lines = [
        "| " + rows[0].joined(separator: " | ") + " |",
        "|" + rows[0].map { _ in "---" }.joined(separator: "|") + "|",
      ]
      for row in rows.dropFirst() {
        lines.append(
          "| " + row.map { $0.replacingOccurrences(of: "|", with: "\\|") }.joined(separator: " | ") + " |")
      }
      return lines.joined(separator: "\n") + "\n"
    }
    let widths = rows[0].indices.map { column in rows.map { $0[column].count }.max() ?? 0 }
    return rows.map { row in
      zip(row, widths).map { $0.padding(toLength: $1, withPad: " ", startingAt: 0) }.joined(separator: "  ")
        .trimmingCharacters(in: .whitespaces)
    }.joined(separator: "\n") + "\n"
  }

  func csvField(_ text: String) -> String {
    text.contains(",") || text.contains("\"") || text.contains("\n")
      ? "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : text
  }

  func csv(_ shown: [TrialSummary]) -> String {
    let names = parameterNames
    var lines = [
      (["rank", "trial", "status"] + names + ["best", "best_epoch", "epochs", "seconds"]).joined(
        separator: ",")
    ]
    for (rank, trial) in shown.enumerated() {
      var fields: [String] = [String(rank + 1), String(trial.trial), trial.status.rawValue]
      fields += names.map { trial.value(of: $0)?.description ?? "" }
      fields += [trial.best.map { "\($0)" } ?? "", trial.bestEpoch.map(String.init) ?? ""]
      fields += [String(trial.epochs), "\(trial.seconds)"]
      lines.append(fields.map(csvField).joined(separator: ","))
    }
    return lines.joined(separator: "\n") + "\n"
  }

  func csvGroups(_ key: String) -> String {
    var lines = ["\(key),trials,measured,best,median,mean,std,best_trial,test,p,n"]
    for group in groups(by: key) {
      func text(_ x: Double?) -> String { x.map { "\($0)" } ?? "" }
      var fields: [String] = [group.value.description, String(group.count), String(group.measured)]
      fields += [text(group.best), text(group.median), text(group.mean), text(group.standardDeviation)]
      fields.append(group.bestTrial.map { String($0.trial) } ?? "")
      fields += [
        group.comparison?.test.rawValue ?? "", group.comparison.map { "\($0.p)" } ?? "",
        group.comparison.map { String($0.n) } ?? "",
      ]
      lines.append(fields.map(csvField).joined(separator: ","))
    }
    return lines.joined(separator: "\n") + "\n"
  }
}
