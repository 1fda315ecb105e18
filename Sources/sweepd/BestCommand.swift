import ArgumentParser
import Foundation
import Programs
import Report
import Search
import Training
import Vocabulary
import Wire
import Yams

/// `sweepd best`: a sweep's best trial, and with `--as-config` what reruns it.
struct BestCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "best",
    abstract: "Show a sweep's best trial; with --as-config, a `sweepd train --config` file that reruns it.",
    discussion: """
      For a sweep of the built-in trainer, --as-config prints the best trial's complete trial \
      config, its seed included, so `sweepd train --config FILE` trains the same model again. \
      For a program sweep it prints the command line the trial ran (W&B's macros expanded), \
      to run in the program's directory.

      Examples:
        sweepd best s1733-1
        sweepd best s1733-1 --as-config > best.yaml && sweepd train --config best.yaml
      """)
  @Argument(help: "The sweep id.") var sweep: String
  @Flag(help: "Print a trial config for `sweepd train --config` (a program sweep: its command line).")
  var asConfig = false
  @OptionGroup var source: ReadSource

  func run() throws {
    let history = try source.channel().history(sweep: sweep)
    let board = history.leaderboard
    guard let best = board.ranked.first(where: { $0.best != nil }) else {
      throw CommandFailure("sweep \(sweep) has no trial with a value of \(board.metric.name.rawValue) yet")
    }
    let values = best.params.map { "\($0.0)=\(PythonText.str($0.1))" }.joined(separator: " ")
    let summary =
      "trial \(best.trial) (\(best.status.rawValue)): \(board.metric.name.rawValue) \(formatNumber(best.best!)) at epoch \(best.bestEpoch ?? 0); \(values)"
    guard asConfig else {
      print(summary)
      return
    }
    let spec: SweepSpec
    do {
      spec = try SweepConfig.parse(text: history.config, file: history.file, dataDigests: history.dataDigests)
    } catch {
      throw CommandFailure("sweep \(sweep)'s config no longer parses: \(error)")
    }
    if let program = spec.program {
      let environment = ProcessInfo.processInfo.environment
      let command = ProgramCommand(
        command: program.command, program: program.program,
        interpreter: ProgramCommand.interpreter(path: environment["PATH"]))
      let parameters = spec.programParameters(best.params)
      let arguments = command.arguments(
        parameters: parameters, jsonFile: "sweepd-args.json", environment: environment)
      print("# \(summary)")
      if command.command.contains("${args_json_file}") {
        print(
          "# first write the parameters file: echo '\(ProgramCommand.argsJSON(parameters))' > sweepd-args.json"
        )
      }
      print(arguments.map(Self.shellQuoted).joined(separator: " "))
      return
    }
    let made: TrialFactory.Made
    do {
      made = try TrialFactory.make(base: spec.base, assignment: best.params, seed: best.seed ?? 0)
    } catch {
      throw CommandFailure("the best trial's config cannot be rebuilt: \(error)")
    }
    let yaml = try YAMLEncoder().encode(made.spec)
    print(
      "# \(summary)\n# sweep \(sweep) (\(history.file)); rerun with: sweepd train --config FILE\n\(yaml)",
      terminator: "")
  }

  /// A word as a POSIX shell reads it back: bare when it is only safe characters, else in
  /// single quotes.
  static func shellQuoted(_ word: String) -> String {
    let safe = CharacterSet(
      charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789@%+=:,./-_")
    if !word.isEmpty && word.unicodeScalars.allSatisfy(safe.contains) { return word }
    return "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'"
  }
}
