import ArgumentParser
import Foundation
import Glibc
import Logging
import Vocabulary

/// The `sweepd` command line.
@main
struct Sweepd: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "sweepd",
    abstract: "Hyperparameter sweeps for small neural networks: train, trace optimizers, run sweeps.",
    version: SweepdVersion.string,
    // Development commands (benchmarks, the fuzzer) run but are not listed.
    subcommands: [BenchStep.self, BenchSearch.self, Fuzz.self],
    groupedSubcommands: [
      CommandGroup(
        name: "Sweeps",
        subcommands: [
          Run.self, Validate.self, Expand.self, Submit.self, Status.self, Watch.self, LeaderboardCommand.self,
          ReportCommand.self, BestCommand.self, Export.self, Logs.self, Pause.self, Resume.self, Extend.self,
          Enqueue.self,
          Cancel.self,
          Delete.self,
        ]),
      CommandGroup(
        name: "Boxes", subcommands: [CoordinatorCommand.self, WorkerCommand.self, Keygen.self, Backup.self]),
      CommandGroup(name: "One model", subcommands: [Train.self, Trace.self, Paths.self, Doctor.self]),
    ]
  )

  /// Every command's name (a typo gets a did-you-mean).
  static var commandNames: [String] {
    let all: [ParsableCommand.Type] =
      (configuration.subcommands + configuration.groupedSubcommands.flatMap(\.subcommands))
    return all.map { $0._commandName } + ["help"]
  }

  static func main() {
    // An unknown command: say which were meant, instead of only "unexpected argument".
    if let first = CommandLine.arguments.dropFirst().first, !first.hasPrefix("-"),
      !commandNames.contains(first)
    {
      let hint = closestMatch(to: first, among: commandNames).map { " (did you mean '\($0)'?)" } ?? ""
      FileHandle.standardError.write(
        Data("Error: unknown command '\(first)'\(hint); see 'sweepd --help' for the commands\n".utf8))
      Glibc.exit(64)
    }
    main(nil)
  }

  static func bootstrapLogging(verbose: Bool = false, format: LogFormat = .text) {
    LoggingSystem.bootstrap { label in
      switch format {
      case .text:
        var handler = StreamLogHandler.standardError(label: label)
        handler.logLevel = verbose ? .debug : .info
        return handler
      case .json:
        var handler = JSONLogHandler(label: label)
        handler.logLevel = verbose ? .debug : .info
        return handler
      }
    }
  }
}

enum SweepdVersion {
  static let string = "0.1.0"
}
