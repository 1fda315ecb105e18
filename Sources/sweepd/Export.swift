import ArgumentParser
import Client
import Foundation
import Report
import Wire

/// `sweepd export`: a sweep's trials, or its per-epoch curves in long form, as a file pandas
/// (or R, or a spreadsheet) loads without cleaning.
struct Export: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Export a sweep's trials or per-epoch curves as CSV, JSON Lines or Parquet.",
    discussion: """
      --what trials: one row per trial, in rank order: sweep, trial, rank, index, \
      configuration, attempt, status, one column per parameter, best, best_epoch, result, \
      result_epoch, epochs, seconds, message.
      --what epochs: one row per trial and epoch (long form): trial, attempt, epoch, then \
      every metric reported (the sweep's metric first).

      Examples:
        sweepd export s1733-1 -o trials.csv
        sweepd export s1733-1 --what epochs --format parquet -o curves.parquet --db sweepd.db
        python -c "import pandas; print(pandas.read_csv('trials.csv').head())"
      """)

  enum What: String, CaseIterable, ExpressibleByArgument { case trials, epochs }
  enum Format: String, CaseIterable, ExpressibleByArgument { case csv, jsonl, parquet }

  @Argument(help: "The sweep id.") var sweep: String
  @Option(help: "trials (one row per trial) or epochs (one row per trial and epoch).") var what: What =
    .trials
  @Option(help: "csv, jsonl or parquet (default: from the output file's extension, else csv).") var format:
    Format?
  @Option(name: .shortAndLong, help: "The file to write (default: standard output).") var output: String?
  @OptionGroup var source: ReadSource
  @Flag(
    help:
      "CSV for spreadsheets: a text cell starting with =, +, -, @, a tab or a carriage return gets a ' in front, so it is never run as a formula."
  )
  var spreadsheetSafe = false

  /// The format to write: as given, else the output file's extension, else CSV.
  var resolvedFormat: Format {
    if let format { return format }
    switch output.map({ URL(fileURLWithPath: $0).pathExtension.lowercased() }) {
    case "parquet"?: return .parquet
    case "jsonl"?, "ndjson"?: return .jsonl
    default: return .csv
    }
  }

  func validate() throws {
    if resolvedFormat == .parquet && output == nil && isatty(STDOUT_FILENO) == 1 {
      throw ValidationError("Parquet is binary: give -o FILE.parquet (or redirect standard output)")
    }
  }

  func run() throws {
    let channel = try source.channel()
    let table: ExportTable
    switch what {
    case .trials: table = ExportTable.trials(try channel.leaderboard(LeaderboardRequest(sweep: sweep)))
    case .epochs: table = ExportTable.epochs(try channel.history(sweep: sweep))
    }
    let bytes: [UInt8]
    switch resolvedFormat {
    case .csv: bytes = Array(table.csv(spreadsheetSafe: spreadsheetSafe).utf8)
    case .jsonl: bytes = Array(table.jsonLines().utf8)
    case .parquet: bytes = table.parquet()
    }
    if let output {
      do {
        try Data(bytes).write(to: URL(fileURLWithPath: output), options: .atomic)
      } catch {
        throw CommandFailure("cannot write \(output): \(error.localizedDescription)")
      }
      printError(
        "wrote \(output): \(table.rowCount) \(what == .trials ? "trials" : "epoch rows"), \(table.columns.count) columns"
      )
    } else {
      FileHandle.standardOutput.write(Data(bytes))
    }
  }
}
