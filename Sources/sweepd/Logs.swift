import ArgumentParser
import Client
import Foundation
import Wire

/// `sweepd logs TRIAL`: a program trial's standard output and error, as its worker sent
/// them (the coordinator keeps the last 4 MiB of each stream per attempt).
struct Logs: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Print a program trial's output (standard output here, standard error to standard error).",
    discussion: """
      Examples:
        sweepd logs 12              the current attempt's output so far
        sweepd logs 12 --attempt 1  an earlier attempt's
        sweepd logs 12 --follow     print output as it arrives, until the trial ends
      """)

  @Argument(help: "The trial id (the leaderboard's `trial` column).") var trial: Int64
  @Option(help: "Which attempt (default: the current one).") var attempt: Int?
  @Flag(help: "Keep printing output as it arrives until the trial ends.") var follow = false
  @OptionGroup var source: ReadSource

  func validate() throws {
    if let attempt, attempt < 1 { throw ValidationError("--attempt must be ≥ 1, got \(attempt)") }
  }

  func run() throws {
    let client = try source.channel()
    var after: Int64 = 0
    var shownAttempt: Int?
    while true {
      let logs = try client.logs(LogsRequest(trial: trial, attempt: attempt, after: after))
      if shownAttempt != nil && shownAttempt != logs.attempt {
        printError("--- trial \(trial) attempt \(logs.attempt) ---")
        after = 0
        shownAttempt = logs.attempt
        continue
      }
      shownAttempt = logs.attempt
      for chunk in logs.chunks {
        let data = Data(chunk.text.utf8)
        if chunk.stream == "stderr" {
          FileHandle.standardError.write(data)
        } else {
          FileHandle.standardOutput.write(data)
        }
        after = chunk.id
      }
      let ended = ![.pending, .running].contains(logs.state)
      if after == 0 && logs.chunks.isEmpty && (!follow || ended) {
        // Nothing at all: say so rather than print an empty line.
        printError(
          "trial \(trial) attempt \(logs.attempt) (\(logs.state.rawValue)): no output kept; only program trials' standard output and error are"
        )
      }
      if !follow || (ended && logs.chunks.isEmpty) {
        if ended, let message = logs.message, follow || logs.chunks.isEmpty && after == 0 {
          printError("trial \(trial) \(logs.state.rawValue): \(message)")
        }
        return
      }
      if logs.chunks.isEmpty { Thread.sleep(forTimeInterval: 0.5) }
    }
  }
}
