import Programs
import Vocabulary
import XCTest

@testable import Search

/// Program sweeps as configs: the user's own names pass through, built-in meanings do not
/// apply, and each mistake is one line naming its key.
final class ProgramSweepConfigTests: XCTestCase {
  func parse(_ text: String) throws -> SweepSpec { try SweepConfig.parse(text: text, file: "p.yaml") }

  func errors(_ text: String) -> [String] {
    do {
      _ = try parse(text)
      return []
    } catch let errors as ConfigErrors {
      return errors.issues.map(\.description)
    } catch {
      return ["\(error)"]
    }
  }

  func testAProgramSweepKeepsTheUsersNamesAndValues() throws {
    let spec = try parse(
      """
      program: train.py
      method: random
      run_cap: 5
      metric: {name: eval/loss, goal: minimize}
      max_seconds: 90
      resources: {cores: 2, gpus: 1}
      code: {dir: src, exclude: ["data/*"]}
      parameters:
        optimizer: {values: [adam, lion]}
        learning_rate: {distribution: log_uniform_values, min: 1.0e-5, max: 0.1}
        model.depth: {values: [2, 4]}
        fc_layer-size/x: {value: 128}
      """)
    XCTAssertEqual(spec.metric.name.rawValue, "eval/loss")
    let program = try XCTUnwrap(spec.program)
    XCTAssertEqual(program.program, "train.py")
    XCTAssertNil(program.command)
    XCTAssertEqual(program.maxSeconds, 90)
    XCTAssertEqual(program.cores, 2)
    XCTAssertEqual(program.gpus, 1)
    XCTAssertEqual(program.codeDirectory, "src")
    XCTAssertEqual(program.codeExclude, ["data/*"])
    XCTAssertEqual(spec.dataFiles, [], "a program's parameters are not data files")
    let trial = try SweepPlan(spec: spec).trial(0)
    guard case .program(let work) = trial.work else { return XCTFail("not a program trial") }
    XCTAssertEqual(
      work.parameters.map(\.name), ["optimizer", "learning_rate", "model.depth", "fc_layer-size/x"])
    XCTAssertEqual(work.metric, "eval/loss")
    XCTAssertEqual(work.cores, 2)
    XCTAssertEqual(work.seed, trial.seed)
    XCTAssertTrue(["adam", "lion"].contains(work.parameters[0].value.description), "no built-in meaning")
    XCTAssertEqual(trial.used.count, 4, "every value is used: none is dropped as an unknown hyperparameter")
  }

  /// The spec crosses the wire with each value's type intact (1.0 stays a float).
  func testTheSpecRoundTripsWithTypes() throws {
    let spec = ProgramTrialSpec(
      program: "t.py", command: nil,
      parameters: [
        ("a", .double(1.0)), ("b", .int(1)), ("c", .bool(true)), ("d", .string("x")), ("e", .null),
        ("f", .list([.double(0.5), .int(2)])),
        ("g", .map([ConfigValue.Entry(key: "k", value: .double(2.0))])),
      ], metric: "loss", maxSeconds: 3, cores: 2, gpus: 1, code: String(repeating: "a", count: 64), seed: 7)
    let data = try JSONEncoder().encode(spec)
    XCTAssertTrue(ProgramTrialSpec.isProgram(Array(data)))
    let back = try JSONDecoder().decode(ProgramTrialSpec.self, from: data)
    XCTAssertEqual(back, spec)
    XCTAssertEqual(PythonText.str(back.parameters[0].value), "1.0")
    XCTAssertFalse(ProgramTrialSpec.isProgram(Array(#"{"model":{"kind":"mlp"}}"#.utf8)))
  }

  func testMistakesAreOneLineEach() {
    XCTAssertEqual(
      errors("program: t.py\nmethod: grid\nparameters:\n  a: {values: [1]}\n"),
      [
        "p.yaml:1:1: metric: a program sweep needs `metric: {name: …, goal: minimize|maximize}`: the value your program reports that trials are ranked by"
      ])
    let mixed = errors(
      "program: t.py\nmethod: grid\nmetric: {name: loss}\nmodel: {hidden: [8]}\nparameters:\n  a: {values: [1]}\n"
    )
    XCTAssertEqual(mixed.count, 1)
    XCTAssertTrue(
      mixed[0].hasPrefix("p.yaml:4:1: model: `model` configures sweepd's built-in trainer"), mixed[0])
    let badName = errors(
      "program: t.py\nmethod: grid\nmetric: {name: loss}\nparameters:\n  9lives: {values: [1]}\n")
    XCTAssertEqual(badName.count, 1)
    XCTAssertTrue(badName[0].contains("'9lives' is not a parameter name"), badName[0])
    let noProgram = errors(
      "command: [python, \"${program}\"]\nmethod: grid\nmetric: {name: loss}\nparameters:\n  a: {values: [1]}\n"
    )
    XCTAssertEqual(noProgram.count, 1)
    XCTAssertTrue(noProgram[0].contains("uses ${program}, but the config names no `program`"), noProgram[0])
    let notList = errors(
      "program: t.py\ncommand: python t.py\nmethod: grid\nmetric: {name: loss}\nparameters:\n  a: {values: [1]}\n"
    )
    XCTAssertTrue(notList.first?.contains("command: expected a list of arguments") ?? false, "\(notList)")
    let badResources = errors(
      "program: t.py\nmethod: grid\nmetric: {name: loss}\nresources: {cpus: 2}\nparameters:\n  a: {values: [1]}\n"
    )
    XCTAssertTrue(
      badResources.first?.contains("not a resource (did you mean 'cores'?)") ?? false, "\(badResources)")
    let builtIn = errors("method: grid\nmax_seconds: 5\nparameters:\n  lr: {values: [0.1]}\n")
    XCTAssertTrue(builtIn.first?.contains("`max_seconds` applies to program sweeps") ?? false, "\(builtIn)")
    let notOnlyParameters = errors(
      "program: t.py\nmethod: grid\nmetric: {name: loss}\nparameters:\n  opt:\n    values: [1]\n    parameters:\n      lr: {values: [1]}\n"
    )
    XCTAssertTrue(
      notOnlyParameters.first?.contains("parameters.opt.values: a nested parameter holds only `parameters`")
        ?? false, "\(notOnlyParameters)")
    let twice = errors(
      "program: t.py\nmethod: grid\nmetric: {name: loss}\nparameters:\n  opt.lr: {values: [2]}\n  opt:\n    parameters:\n      lr: {values: [1]}\n"
    )
    XCTAssertTrue(twice.first?.contains("'opt.lr' is swept twice (also at line 5)") ?? false, "\(twice)")
  }

  /// W&B's nested parameters (the shipped example in the shape of W&B's own,
  /// `configs/programs/wandb-nested`): leaves are searched
  /// like any parameter and named by their dotted path; the program receives each top key as
  /// a dict, so `${args}` passes Python's `str(dict)` and `wandb.config.optimizer` is a dict.
  func testNestedParametersReachTheProgramAsDicts() throws {
    let example = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
      .deletingLastPathComponent().appendingPathComponent("configs/programs/wandb-nested/sweep.yaml")
    let spec = try parse(try String(contentsOf: example, encoding: .utf8))
    XCTAssertEqual(spec.parameters.map(\.path), ["batch_size", "optimizer.lr", "optimizer.nadam.beta"])
    let plan = SweepPlan(spec: spec)
    XCTAssertEqual(plan.totalTrials, 8)
    let trials = try plan.trials(limit: 8)
    XCTAssertEqual(
      trials[1].assigned.map { "\($0.0)=\($0.1)" },
      ["batch_size=32", "optimizer.lr=0.001", "optimizer.nadam.beta=0.95"])
    guard case .program(let work) = trials[1].work else { return XCTFail("not a program trial") }
    XCTAssertEqual(work.parameters.map(\.name), ["batch_size", "optimizer"])
    let arguments = ProgramCommand(command: work.command, program: work.program).arguments(
      parameters: work.assignment, jsonFile: "/tmp/args.json", environment: [:])
    XCTAssertEqual(
      Array(arguments.suffix(2)),
      ["--batch_size=32", "--optimizer={'lr': 0.001, 'nadam': {'beta': 0.95}}"])
    XCTAssertEqual(
      ProgramCommand.argsJSON(work.assignment),
      #"{"batch_size": 32, "optimizer": {"lr": 0.001, "nadam": {"beta": 0.95}}}"#)
    // A built-in sweep's nested leaves are setting paths.
    let builtIn = try parse(
      "method: grid\nparameters:\n  model:\n    parameters:\n      hidden: {values: [[8], [16]]}\n  lr: {values: [0.1]}\n"
    )
    XCTAssertEqual(builtIn.parameters.map(\.path), ["model.hidden", "lr"])
    XCTAssertEqual(try SweepPlan(spec: builtIn).trials(limit: 2).map { $0.spec!.model.hidden }, [[8], [16]])
  }

  func testAnUnknownMacroIsAWarningWithADidYouMean() throws {
    let spec = try parse(
      "program: t.py\ncommand: [\"${env}\", python, \"${program}\", \"${arg}\"]\nmethod: grid\nmetric: {name: loss}\nparameters:\n  a: {values: [1]}\n"
    )
    XCTAssertEqual(spec.warnings.count, 1)
    XCTAssertTrue(
      spec.warnings[0].message.contains("unknown macro '${arg}' expands to nothing"), spec.warnings[0].message
    )
    XCTAssertTrue(spec.warnings[0].message.contains("did you mean '${args}'?"), spec.warnings[0].message)
  }

  /// Every method works for program sweeps, TPE included (its suggestions are values).
  func testEveryMethodExpands() throws {
    for method in ["grid", "random", "sobol", "bayes"] {
      let spec = try parse(
        "program: t.py\nmethod: \(method)\nrun_cap: 4\nrepeats: 2\nmetric: {name: acc, goal: maximize}\nparameters:\n  a: {values: [1, 2]}\n  b: {min: 0.0, max: 1.0}\n"
          .replacingOccurrences(
            of: "b: {min: 0.0, max: 1.0}",
            with: method == "grid" ? "b: {values: [0.5]}" : "b: {min: 0.0, max: 1.0}"))
      let trials = try SweepPlan(spec: spec).trials(limit: 4)
      XCTAssertEqual(trials.count, 4, method)
      XCTAssertTrue(trials.allSatisfy { $0.spec == nil }, method)
      XCTAssertEqual(spec.metric.goal, .maximize)
    }
  }

  /// What only W&B Launch or W&B's controller acts on is an error that says where it belongs;
  /// `project` and `entity` are harmless and only warned about.
  func testLaunchKeysAreErrorsThatSayWhy() {
    let base = "program: t.py\nmetric: {name: loss}\nparameters:\n  a: {values: [1]}\n"
    let custom = errors("method: custom\n" + base)
    XCTAssertEqual(custom.count, 1)
    XCTAssertTrue(custom[0].contains("method custom is W&B Launch's"), custom[0])
    for (key, words) in [
      ("job", "W&B Launch job"), ("image_uri", "container image"), ("scheduler", "Launch sweep scheduler"),
      ("controller", "sweepd's coordinator is the controller"),
    ] {
      let found = errors("method: grid\n\(key): x\n" + base)
      XCTAssertEqual(found.count, 1, key)
      XCTAssertTrue(found.first?.hasPrefix("p.yaml:2:1: \(key): ") ?? false, "\(found)")
      XCTAssertTrue(found.first?.contains(words) ?? false, "\(found)")
    }
  }
}
