import ArgumentParser
import Client
import Foundation
import Report
import Wire
import ZMQ

/// `sweepd report`: a sweep's self-contained HTML report, from the coordinator.
struct ReportCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "report",
    abstract: "Write a sweep's report: one self-contained HTML file with its leaderboard and plots.",
    discussion: """
      The page has the sortable leaderboard and per-group table, learning curves, \
      learning-rate traces, parallel coordinates, the metric against each parameter, \
      learning-rate sensitivity per optimizer and a hyperparameter-importance table. It \
      fetches nothing, so it opens offline and as an email attachment.

      Examples:
        sweepd report s1733-1 -o report.html
        sweepd report s1733-1 -o report.html --group-by optimizer
      """)
  @Argument(help: "The sweep id.") var sweep: String
  @Option(name: .shortAndLong, help: "The HTML file to write.") var output: String = "report.html"
  @Option(help: "Group by this parameter (default: optimizer, when it varies).") var groupBy: String?
  @Option(help: "Trials drawn individually in the learning curves.") var top: Int = 10
  @OptionGroup var source: ReadSource

  func validate() throws {
    if top < 1 { throw ValidationError("--top must be ≥ 1") }
  }

  func run() throws {
    let history = try source.channel().history(sweep: sweep)
    try writeReport(history, to: output, groupBy: groupBy, top: top)
    print("wrote \(output)")
  }
}

/// Renders a HISTORY reply as the HTML report at `path`.
func writeReport(_ history: SweepHistory, to path: String, groupBy: String?, top: Int = 10) throws {
  try checkGroupBy(groupBy, history.leaderboard)
  let html = HTMLReport(history: history, groupBy: groupBy, top: top).html()
  do {
    try html.write(toFile: path, atomically: true, encoding: .utf8)
  } catch {
    throw CommandFailure("cannot write \(path): \(error.localizedDescription)")
  }
}
