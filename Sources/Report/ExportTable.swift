import Foundation
import Programs
import Vocabulary
import Wire

/// A sweep's results as a typed table for analysis tools (`sweepd export`): one row per
/// trial, or per-epoch curves in long form (one row per trial and epoch), written as CSV,
/// JSON Lines or Parquet so `pandas.read_csv`, `read_json(lines=True)` and `read_parquet`
/// load them without cleaning. Every column has one type; a missing value is null.
public struct ExportTable: Sendable {
  /// A column's type: what every non-null cell in it is.
  public enum Kind: String, Sendable {
    case int, double, bool, string
  }

  public enum Cell: Hashable, Sendable {
    case null
    case int(Int)
    case double(Double)
    case bool(Bool)
    case string(String)
  }

  public struct Column: Sendable {
    public var name: String
    public var kind: Kind
    public var cells: [Cell]
  }

  public var columns: [Column]

  public var rowCount: Int { columns.first?.cells.count ?? 0 }

  public init(columns: [Column]) { self.columns = columns }

  // MARK: Building

  /// The trials of `board`, in rank order: `sweep`, `trial`, `rank`, `index`,
  /// `configuration`, `attempt`, `status`, one column per parameter (named by its path; a
  /// name that is also one of these columns gets the prefix `param.`), `best`,
  /// `best_epoch`, `result`, `result_epoch`, `epochs`, `seconds`, `message`.
  public static func trials(_ board: Leaderboard) -> ExportTable {
    let trials = board.ranked
    var columns: [Column] = [
      Column(name: "sweep", kind: .string, cells: trials.map { _ in .string(board.sweep) }),
      Column(name: "trial", kind: .int, cells: trials.map { .int(Int($0.trial)) }),
      Column(name: "rank", kind: .int, cells: trials.indices.map { .int($0 + 1) }),
      Column(name: "index", kind: .int, cells: trials.map { .int($0.index) }),
      Column(name: "configuration", kind: .int, cells: trials.map { .int($0.configuration) }),
      Column(name: "attempt", kind: .int, cells: trials.map { $0.attempt.map { .int($0) } ?? .null }),
      Column(name: "status", kind: .string, cells: trials.map { .string($0.status.rawValue) }),
    ]
    let fixedAfter = [
      "best", "best_epoch", "result", "result_epoch", "epochs", "seconds", "message",
    ]
    let taken = Set(columns.map(\.name) + fixedAfter)
    for name in board.parameterNames {
      let values = trials.map { $0.value(of: name) }
      columns.append(parameterColumn(taken.contains(name) ? "param.\(name)" : name, values))
    }
    columns += [
      Column(name: "best", kind: .double, cells: trials.map { number($0.best) }),
      Column(name: "best_epoch", kind: .int, cells: trials.map { $0.bestEpoch.map { .int($0) } ?? .null }),
      Column(name: "result", kind: .double, cells: trials.map { number($0.result) }),
      Column(
        name: "result_epoch", kind: .int, cells: trials.map { $0.resultEpoch.map { .int($0) } ?? .null }),
      Column(name: "epochs", kind: .int, cells: trials.map { .int($0.epochs) }),
      Column(name: "seconds", kind: .double, cells: trials.map { .double($0.seconds) }),
      Column(name: "message", kind: .string, cells: trials.map { $0.message.map { .string($0) } ?? .null }),
    ]
    return ExportTable(columns: unique(columns))
  }

  /// The columns with distinct names: a name already taken gets `param.` in front (again,
  /// until it is free), so `best` and a parameter called `param.best` never collide.
  static func unique(_ columns: [Column]) -> [Column] {
    var taken = Set<String>()
    return columns.map { column in
      var column = column
      while taken.contains(column.name) { column.name = "param." + column.name }
      taken.insert(column.name)
      return column
    }
  }

  /// Every trial's curve in long form, trials in rank order and epochs in order: `trial`,
  /// `attempt`, `epoch`, then one column per metric any epoch reported (the sweep's metric
  /// first, then the others by name).
  public static func epochs(_ history: SweepHistory) -> ExportTable {
    let board = history.leaderboard
    var names = Set<String>()
    for curve in history.curves.values { for epoch in curve { names.formUnion(epoch.values.keys) } }
    let metric = board.metric.name.rawValue
    let metrics = (names.contains(metric) ? [metric] : []) + names.subtracting([metric]).sorted()
    var trial: [Cell] = [], attempt: [Cell] = [], epoch: [Cell] = []
    var values = [[Cell]](repeating: [], count: metrics.count)
    for summary in board.ranked {
      for row in history.curves[summary.trial] ?? [] {
        trial.append(.int(Int(summary.trial)))
        attempt.append(summary.attempt.map { .int($0) } ?? .null)
        epoch.append(.int(row.epoch))
        for (column, name) in metrics.enumerated() { values[column].append(number(row.values[name])) }
      }
    }
    let taken: Set<String> = ["trial", "attempt", "epoch"]
    return ExportTable(
      columns: unique(
        [
          Column(name: "trial", kind: .int, cells: trial), Column(name: "attempt", kind: .int, cells: attempt),
          Column(name: "epoch", kind: .int, cells: epoch),
        ]
          + zip(metrics, values).map {
            Column(name: taken.contains($0) ? "metric.\($0)" : $0, kind: .double, cells: $1)
          }))
  }

  static func number(_ value: Double?) -> Cell { value.map { .double($0) } ?? .null }

  /// A parameter's column: whole numbers stay whole, numbers become doubles, booleans stay
  /// booleans; anything else (text, lists, mixed types) is text, lists and maps as JSON.
  static func parameterColumn(_ name: String, _ values: [ConfigValue?]) -> Column {
    let present = values.compactMap { $0 }.filter { $0 != .null }
    let kind: Kind
    if !present.isEmpty && present.allSatisfy({ if case .int = $0 { true } else { false } }) {
      kind = .int
    } else if !present.isEmpty
      && present.allSatisfy({
        switch $0 {
        case .int, .double: true
        default: false
        }
      })
    {
      kind = .double
    } else if !present.isEmpty && present.allSatisfy({ if case .bool = $0 { true } else { false } }) {
      kind = .bool
    } else {
      kind = .string
    }
    let cells = values.map { value -> Cell in
      guard let value, value != .null else { return .null }
      switch (kind, value) {
      case (.int, .int(let x)): return .int(x)
      case (.double, _): return .double(value.number ?? .nan)
      case (.bool, .bool(let flag)): return .bool(flag)
      case (_, .string(let text)): return .string(text)
      default: return .string(PythonText.json(value))
      }
    }
    return Column(name: name, kind: kind, cells: cells)
  }

  // MARK: CSV

  /// RFC 4180 CSV with a header row: null is an empty field, booleans `True`/`False`,
  /// doubles in their shortest round-trip form (`nan`, `inf`, `-inf` when not finite); a
  /// field with a comma, quote, line break or outer space is quoted.
  ///
  /// `spreadsheetSafe`: a text field (or column name) that a spreadsheet would take for a
  /// formula — starting with `=`, `+`, `-`, `@`, a tab or a carriage return — gets a `'` in
  /// front (OWASP's advice for CSV injection); numbers are never changed.
  public func csv(spreadsheetSafe: Bool = false) -> String {
    var out =
      columns.map { Self.csvField(.string($0.name), spreadsheetSafe: spreadsheetSafe) }.joined(separator: ",")
      + "\r\n"
    for row in 0..<rowCount {
      out +=
        columns.map { Self.csvField($0.cells[row], spreadsheetSafe: spreadsheetSafe) }.joined(separator: ",")
        + "\r\n"
    }
    return out
  }

  static func csvField(_ cell: Cell, spreadsheetSafe: Bool = false) -> String {
    switch cell {
    case .null: return ""
    case .int(let x): return String(x)
    case .double(let x): return doubleText(x)
    case .bool(let flag): return flag ? "True" : "False"
    case .string(let text):
      if spreadsheetSafe, let first = text.unicodeScalars.first, "=+-@\t\r".unicodeScalars.contains(first) {
        return csvField("'" + text)
      }
      return csvField(text)
    }
  }

  static func csvField(_ text: String) -> String {
    let special = text.contains { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }
    guard special || text.hasPrefix(" ") || text.hasSuffix(" ") || text.isEmpty else { return text }
    return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
  }

  static func doubleText(_ x: Double) -> String {
    if x.isNaN { return "nan" }
    if x.isInfinite { return x > 0 ? "inf" : "-inf" }
    return "\(x)"
  }

  // MARK: JSON Lines

  /// One JSON object per row, keys in column order. A non-finite double is written as the
  /// bare `NaN`, `Infinity` or `-Infinity` that Python's `json` and pandas read (strict
  /// JSON has no such numbers); null is `null`.
  public func jsonLines() -> String {
    var out = ""
    let names = columns.map { PythonText.json(.string($0.name)) }
    for row in 0..<rowCount {
      var fields: [String] = []
      for (index, column) in columns.enumerated() {
        let value: String
        switch column.cells[row] {
        case .null: value = "null"
        case .int(let x): value = String(x)
        case .double(let x):
          value = x.isNaN ? "NaN" : x.isInfinite ? (x > 0 ? "Infinity" : "-Infinity") : "\(x)"
        case .bool(let flag): value = flag ? "true" : "false"
        case .string(let text): value = PythonText.json(.string(text))
        }
        fields.append(names[index] + ": " + value)
      }
      out += "{" + fields.joined(separator: ", ") + "}\n"
    }
    return out
  }
}
