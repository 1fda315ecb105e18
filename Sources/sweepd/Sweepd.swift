import ArgumentParser
import Logging

/// The `sweepd` command line.
@main
struct Sweepd: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "sweepd",
    abstract: "Hyperparameter sweeps for small neural networks: train, trace optimizers, run sweeps.",
    version: SweepdVersion.string,
    subcommands: [
      Run.self, Train.self, Validate.self, Expand.self, CoordinatorCommand.self, WorkerCommand.self,
      Submit.self,
      Status.self, Watch.self, Cancel.self, LeaderboardCommand.self, Trace.self, Doctor.self, BenchStep.self,
      BenchSearch.self, Keygen.self, Fuzz.self, Paths.self, ReportCommand.self,
    ]
  )

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
