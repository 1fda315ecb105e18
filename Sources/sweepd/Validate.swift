import ArgumentParser
import Foundation
import Programs
import Search
import Training
import Vocabulary

/// `sweepd validate FILE`: check a sweep config and summarize it.
struct Validate: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Check a sweep config; print ok and a summary, or every error (exit code 2).")

  @Argument(help: "The sweep config (YAML).") var file: String

  func run() throws {
    let spec = try loadSweep(file)
    for warning in spec.warnings { printError("warning: \(warning)") }
    try checkDataFiles(spec, file: file)
    let plan = SweepPlan(spec: spec)
    var summary = "ok: \(spec.name.map { "'\($0)', " } ?? "")method \(spec.methodName)"
    summary += ", \(spec.parameters.count) parameter\(spec.parameters.count == 1 ? "" : "s")"
    if let size = plan.gridSize {
      summary +=
        ", \(size) configuration\(size == 1 ? "" : "s") × \(spec.repeats) repeat\(spec.repeats == 1 ? "" : "s")"
      if let total = plan.totalTrials { summary += " = \(total) trial\(total == 1 ? "" : "s")" }
      if let cap = spec.runCap, cap < size * spec.repeats { summary += " (run_cap \(cap))" }
    } else if let cap = spec.runCap {
      summary += ", run_cap \(cap) trials"
    } else {
      summary += ", no run_cap (runs until stopped)"
    }
    summary += ", metric \(spec.metric.name) (\(spec.metric.goal.rawValue))"
    if let program = spec.program {
      summary += ", runs \(program.program ?? program.command?.first ?? "the command")"
    }
    print(summary)
  }
}

/// `sweepd expand FILE`: the trials a sweep would start with.
struct Expand: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Print the trials a sweep config starts with.")

  @Argument(help: "The sweep config (YAML).") var file: String
  @Option(help: "Most trials to print.") var limit: Int = 20
  @Option(help: "table or json (JSON lines).") var format: Format = .table

  enum Format: String, ExpressibleByArgument { case table, json }

  func run() throws {
    let spec = try loadSweep(file)
    let plan = SweepPlan(spec: spec)
    let trials: [PlannedTrial]
    do {
      trials = try plan.trials(limit: limit)
    } catch {
      printError("sweepd: \(file): \(error)")
      throw ExitCode(2)
    }
    switch format {
    case .json:
      let encoder = JSONEncoder()
      encoder.outputFormatting = [.sortedKeys]
      for trial in trials {
        var parameters: [String: ConfigValue] = [:]
        for (key, value) in trial.used { parameters[key] = value }
        let record = ExpandedTrial(
          index: trial.index, configuration: trial.configuration, repeatIndex: trial.repeatIndex,
          seed: trial.seed, parameters: parameters, work: trial.work, command: commandLine(trial))
        print(String(decoding: try encoder.encode(record), as: UTF8.self))
      }
    case .table:
      let names = spec.parameters.map(\.path)
      let builtIn = spec.program == nil
      // `index` is the trial's position in the sweep (from 0); a coordinator's trial ids are
      // the store's row ids, counted across every sweep of its database. A program's
      // parameters are its own: no optimizer column.
      var rows = [
        ["index", "config", "repeat", "seed"] + (builtIn ? ["optimizer"] : [])
          + names.filter { $0 != "optimizer" || !builtIn }
      ]
      for trial in trials {
        var row = [
          String(trial.index), String(trial.configuration), String(trial.repeatIndex),
          String(trial.seed),
        ]
        if let spec = trial.spec { row.append(spec.optimizer.name) }
        for name in names where name != "optimizer" || !builtIn {
          row.append(trial.used.first { $0.0 == name }.map { cell($0.1) } ?? "–")
        }
        rows.append(row)
      }
      let widths = (0..<rows[0].count).map { column in rows.map { $0[column].count }.max() ?? 0 }
      for row in rows {
        print(zip(row, widths).map { $0.padding(toLength: $1 + 2, withPad: " ", startingAt: 0) }.joined())
      }
      if let first = trials.first, let command = commandLine(first) {
        print("trial 0 runs: \(command.map(shellQuoted).joined(separator: " "))")
      }
      if spec.method == .tpe {
        print(
          "… then TPE suggests each further trial from the results so far\(plan.totalTrials.map { " (up to \($0))" } ?? "")"
        )
      } else if let total = plan.totalTrials, total > trials.count {
        print("… \(total - trials.count) more (of \(total))")
      } else if plan.totalTrials == nil {
        print("… and more until stopped (no run_cap)")
      }
    }
  }

  /// The command line a program trial runs (as a worker here would build it), nil for a
  /// built-in trial. `${args_json_file}` names the file in the trial's directory.
  func commandLine(_ trial: PlannedTrial) -> [String]? {
    guard case .program(let program) = trial.work else { return nil }
    let environment = ProcessInfo.processInfo.environment
    let builder = ProgramCommand(
      command: program.command, program: program.program,
      interpreter: ProgramCommand.interpreter(path: environment["PATH"]))
    return builder.arguments(
      parameters: program.assignment, jsonFile: ".sweepd-args.json", environment: environment)
  }

  /// A word as a POSIX shell would need it to read back the same argument.
  func shellQuoted(_ word: String) -> String {
    let plain = word.unicodeScalars.allSatisfy {
      $0.isASCII
        && ($0.properties.isAlphabetic || ("0"..."9").contains($0)
          || "-_=./:+,@%".unicodeScalars.contains($0))
    }
    return plain && !word.isEmpty ? word : "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'"
  }

  /// A table cell: numbers to 4 significant digits.
  func cell(_ value: ConfigValue) -> String {
    if case .double(let x) = value { return String(format: "%.4g", x) }
    return value.description
  }

  struct ExpandedTrial: Encodable {
    var index: Int
    var configuration: Int
    var repeatIndex: Int
    var seed: UInt64
    var parameters: [String: ConfigValue]
    var spec: TrialWorkRecord
    /// A program trial's command line.
    var command: [String]?

    init(
      index: Int, configuration: Int, repeatIndex: Int, seed: UInt64, parameters: [String: ConfigValue],
      work: TrialWork, command: [String]?
    ) {
      self.index = index
      self.configuration = configuration
      self.repeatIndex = repeatIndex
      self.seed = seed
      self.parameters = parameters
      self.spec = TrialWorkRecord(work: work)
      self.command = command
    }

    enum CodingKeys: String, CodingKey {
      case index, configuration, repeatIndex = "repeat", seed, parameters, spec, command
    }
  }
}

/// A trial's spec in its stored form, for JSON output.
struct TrialWorkRecord: Encodable {
  var work: TrialWork
  func encode(to encoder: Encoder) throws {
    switch work {
    case .builtIn(let spec): try spec.encode(to: encoder)
    case .program(let spec): try spec.encode(to: encoder)
    }
  }
}

/// Loads a sweep config or prints its errors and exits with code 2.
func loadSweep(_ file: String) throws -> SweepSpec {
  do {
    return try SweepConfig.load(path: file)
  } catch let errors as ConfigErrors {
    for issue in errors.issues { printError("error: \(issue)") }
    for warning in errors.warnings { printError("warning: \(warning)") }
    printError("\(errors.issues.count) error\(errors.issues.count == 1 ? "" : "s") in \(file)")
    throw ExitCode(2)
  }
}

/// Reads every data file the sweep names, here on the submitting box, as a trial would: a
/// CSV with a bad cell, a missing target or no header is reported now with the user's path
/// and line, instead of failing every trial later. Exits 2 after printing every problem.
func checkDataFiles(_ spec: SweepSpec, file: String) throws {
  guard !spec.dataFiles.isEmpty, let first = (try? SweepPlan(spec: spec).trial(0))?.spec else { return }
  var problems: [String] = []
  var checked = Set<String>()
  // Checked as a refit would read them: test files too.
  var base = first.data
  base.pathSHA256 = nil
  base.imagesSHA256 = nil
  base.labelsSHA256 = nil
  base.testPathSHA256 = nil
  base.testImagesSHA256 = nil
  base.testLabelsSHA256 = nil
  if base.hasTest { base.stage = .refit }
  let testFiles = Set([base.testPath, base.testImages, base.testLabels].compactMap { $0 })
  if base.dataset == .csv {
    for path in spec.dataFiles where !testFiles.contains(path) && checked.insert(path).inserted {
      var data = base
      data.path = path
      do { _ = try data.prepare() } catch { problems.append("\(error)") }
    }
  } else {
    do { _ = try base.prepare() } catch { problems.append("\(error)") }
  }
  guard !problems.isEmpty else { return }
  for problem in problems { printError("error: \(problem)") }
  printError("\(problems.count) data error\(problems.count == 1 ? "" : "s") in the files \(file) names")
  throw ExitCode(2)
}

func printError(_ text: String) {
  FileHandle.standardError.write(Data((text + "\n").utf8))
}
