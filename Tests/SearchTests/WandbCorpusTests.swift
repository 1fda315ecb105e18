import Programs
import Stopping
import Vocabulary
import XCTest

@testable import Search

#if canImport(Glibc)
  import Glibc
#endif

/// Sweep configs in the shapes W&B's documentation and examples use, each validated and
/// expanded, with its trials checked against what W&B's schema and agent define: how many
/// trials, which parameters, where every sampled value lies and of which type, and the
/// command line the first trial runs (W&B's agent's macros, values as Python's `str()`).
final class WandbCorpusTests: XCTestCase {
  struct Case: Sendable {
    var name: String
    var yaml: String
    /// The sweep's trial count (nil: runs until stopped).
    var total: Int?
    /// The parameter paths, in order.
    var parameters: [String]
    /// Per parameter path, what every sampled value must satisfy.
    var support: [String: @Sendable (ConfigValue) -> Bool] = [:]
    /// The first trial's arguments (with `${interpreter}` = python).
    var firstCommand: [String]? = nil
  }

  static func number(_ range: ClosedRange<Double>) -> @Sendable (ConfigValue) -> Bool {
    { value in
      guard case .double(let x) = value else { return false }
      return range.contains(x)
    }
  }

  static func whole(_ range: ClosedRange<Int>, step: Int = 1) -> @Sendable (ConfigValue) -> Bool {
    { value in
      guard case .int(let x) = value else { return false }
      return range.contains(x) && x % step == 0
    }
  }

  static func multiple(of q: Double, in range: ClosedRange<Double>) -> @Sendable (ConfigValue) -> Bool {
    { value in
      guard let x = value.number else { return false }
      return range.contains(x) && abs((x / q).rounded() * q - x) < 1e-9
    }
  }

  static let head = "program: train.py\nmetric: {name: val_loss, goal: minimize}\n"
  static let python = ["/usr/bin/env", "python", "train.py"]

  static let cases: [Case] = [
    Case(
      name: "quickstart grid",
      yaml: head + "method: grid\nparameters:\n  optimizer: {values: [adam, sgd]}\n  epochs: {value: 5}\n",
      total: 2, parameters: ["optimizer", "epochs"],
      firstCommand: python + ["--optimizer=adam", "--epochs=5"]),
    Case(
      name: "grid of values and a constant list",
      yaml: head
        + "method: grid\nparameters:\n  fc_layer_size: {values: [128, 256, 512]}\n  dropout: {values: [0.3, 0.4, 0.5]}\n  hidden: {value: [64, 64]}\n",
      total: 9, parameters: ["fc_layer_size", "dropout", "hidden"],
      firstCommand: python + ["--fc_layer_size=128", "--dropout=0.3", "--hidden=[64, 64]"]),
    Case(
      name: "grid capped by run_cap",
      yaml: head
        + "method: grid\nrun_cap: 4\nparameters:\n  a: {values: [1, 2, 3]}\n  b: {values: [x, y, z]}\n",
      total: 4, parameters: ["a", "b"], firstCommand: python + ["--a=1", "--b=x"]),
    Case(
      name: "grid over int_uniform", yaml: head + "method: grid\nparameters:\n  layers: {min: 1, max: 4}\n",
      total: 4, parameters: ["layers"], support: ["layers": whole(1...4)]),
    Case(
      name: "grid over q_uniform",
      yaml: head + "method: grid\nparameters:\n  p: {distribution: q_uniform, min: 0, max: 1, q: 0.25}\n",
      total: 5, parameters: ["p"], support: ["p": multiple(of: 0.25, in: 0...1)]),
    Case(
      name: "random with run_cap, uniform",
      yaml: head
        + "method: random\nrun_cap: 20\nparameters:\n  learning_rate: {distribution: uniform, min: 0, max: 0.1}\n",
      total: 20, parameters: ["learning_rate"], support: ["learning_rate": number(0...0.1)]),
    Case(
      name: "uniform implied by float bounds",
      yaml: head + "method: random\nrun_cap: 10\nparameters:\n  momentum: {min: 0.5, max: 0.99}\n",
      total: 10, parameters: ["momentum"], support: ["momentum": number(0.5...0.99)]),
    Case(
      name: "random without run_cap runs until stopped",
      yaml: head + "method: random\nparameters:\n  batch_size: {values: [16, 32, 64]}\n",
      total: nil, parameters: ["batch_size"], support: ["batch_size": whole(16...64, step: 16)]),
    Case(
      name: "bayes with log_uniform_values and int_uniform",
      yaml: head
        + "method: bayes\nrun_cap: 30\nparameters:\n  lr: {distribution: log_uniform_values, min: 0.0001, max: 0.1}\n  epochs: {distribution: int_uniform, min: 2, max: 8}\n",
      total: 30, parameters: ["lr", "epochs"], support: ["lr": number(0.0001...0.1), "epochs": whole(2...8)]),
    Case(
      name: "q_log_uniform_values batch size",
      yaml: head
        + "method: random\nrun_cap: 40\nparameters:\n  batch_size: {distribution: q_log_uniform_values, q: 8, min: 32, max: 256}\n",
      total: 40, parameters: ["batch_size"], support: ["batch_size": whole(32...256, step: 8)]),
    Case(
      name: "q_log_uniform exponents (W&B's older form)",
      yaml: head
        + "method: random\nrun_cap: 40\nparameters:\n  batch_size: {distribution: q_log_uniform, q: 1, min: 3.4657359, max: 5.5451774}\n",
      total: 40, parameters: ["batch_size"], support: ["batch_size": whole(32...256)]),
    Case(
      name: "log_uniform exponents",
      yaml: head
        + "method: random\nrun_cap: 40\nparameters:\n  lr: {distribution: log_uniform, min: -9.21, max: -2.3}\n",
      total: 40, parameters: ["lr"], support: ["lr": number(exp(-9.21)...exp(-2.3))]),
    Case(
      name: "inv_log_uniform_values",
      yaml: head
        + "method: random\nrun_cap: 40\nparameters:\n  weight_decay: {distribution: inv_log_uniform_values, min: 0.00001, max: 0.01}\n",
      total: 40, parameters: ["weight_decay"],
      support: ["weight_decay": number(0.00001 * (1 - 1e-12)...0.01 * (1 + 1e-12))]),
    Case(
      name: "inv_log_uniform exponents",
      yaml: head
        + "method: random\nrun_cap: 40\nparameters:\n  eps: {distribution: inv_log_uniform, min: 2.3, max: 9.2}\n",
      total: 40, parameters: ["eps"],
      support: ["eps": number(exp(-9.2) * (1 - 1e-12)...exp(-2.3) * (1 + 1e-12))]),
    Case(
      name: "normal",
      yaml: head
        + "method: random\nrun_cap: 40\nparameters:\n  shift: {distribution: normal, mu: 0, sigma: 1}\n",
      total: 40, parameters: ["shift"], support: ["shift": number(-9...9)]),
    Case(
      name: "q_normal with whole q",
      yaml: head
        + "method: random\nrun_cap: 40\nparameters:\n  width: {distribution: q_normal, mu: 100, sigma: 10, q: 4}\n",
      total: 40, parameters: ["width"], support: ["width": whole(0...200, step: 4)]),
    Case(
      name: "log_normal",
      yaml: head
        + "method: random\nrun_cap: 40\nparameters:\n  scale: {distribution: log_normal, mu: 0, sigma: 0.5}\n",
      total: 40, parameters: ["scale"], support: ["scale": number(Double.leastNonzeroMagnitude...100)]),
    Case(
      name: "q_log_normal",
      yaml: head
        + "method: random\nrun_cap: 40\nparameters:\n  units: {distribution: q_log_normal, mu: 4, sigma: 0.3, q: 2}\n",
      total: 40, parameters: ["units"], support: ["units": whole(0...1000, step: 2)]),
    Case(
      name: "beta",
      yaml: head + "method: random\nrun_cap: 40\nparameters:\n  dropout: {distribution: beta, a: 2, b: 5}\n",
      total: 40, parameters: ["dropout"], support: ["dropout": number(0...1)]),
    Case(
      name: "beta with W&B's defaults a = b = 1",
      yaml: head + "method: random\nrun_cap: 40\nparameters:\n  mix: {distribution: beta}\n",
      total: 40, parameters: ["mix"], support: ["mix": number(0...1)]),
    Case(
      name: "q_beta",
      yaml: head
        + "method: random\nrun_cap: 40\nparameters:\n  keep: {distribution: q_beta, a: 1, b: 1, q: 0.1}\n",
      total: 40, parameters: ["keep"], support: ["keep": multiple(of: 0.1, in: 0...1)]),
    Case(
      name: "categorical with probabilities",
      yaml: head
        + "method: random\nrun_cap: 40\nparameters:\n  act: {values: [relu, tanh], probabilities: [0.8, 0.2]}\n",
      total: 40, parameters: ["act"], support: ["act": { [.string("relu"), .string("tanh")].contains($0) }]),
    Case(
      name: "booleans and None as Python writes them",
      yaml: head + "method: grid\nparameters:\n  amp: {values: [true, false]}\n  ckpt: {value: null}\n",
      total: 2, parameters: ["amp", "ckpt"], firstCommand: python + ["--amp=True", "--ckpt=None"]),
    Case(
      name: "command with ${args_no_hyphens} (Hydra)",
      yaml: head
        + "method: grid\ncommand: [\"${env}\", \"${interpreter}\", \"${program}\", \"${args_no_hyphens}\"]\nparameters:\n  optimizer.lr: {values: [0.01]}\n",
      total: 1, parameters: ["optimizer.lr"], firstCommand: python + ["optimizer.lr=0.01"]),
    Case(
      name: "command with ${args_no_boolean_flags}",
      yaml: head
        + "method: grid\ncommand: [\"${env}\", \"${interpreter}\", \"${program}\", \"${args_no_boolean_flags}\"]\nparameters:\n  fast: {values: [true, false]}\n  lr: {value: 1e-05}\n",
      total: 2, parameters: ["fast", "lr"], firstCommand: python + ["--fast", "--lr=1e-05"]),
    Case(
      name: "command with ${args_json}",
      yaml: head
        + "method: grid\ncommand: [\"${interpreter}\", \"${program}\", \"--config\", \"${args_json}\"]\nparameters:\n  lr: {value: 0.1}\n  name: {value: run}\n",
      total: 1, parameters: ["lr", "name"],
      firstCommand: ["python", "train.py", "--config", #"{"lr": 0.1, "name": "run"}"#]),
    Case(
      name: "command with ${args_json_file}",
      yaml: head
        + "method: grid\ncommand: [\"${interpreter}\", \"${program}\", \"${args_json_file}\"]\nparameters:\n  lr: {value: 0.1}\n",
      total: 1, parameters: ["lr"], firstCommand: ["python", "train.py", "/run/args.json"]),
    Case(
      name: "command with ${args_no_equals} and an ${envvar:…}",
      yaml: head
        + "method: grid\ncommand: [bash, run.sh, \"--data=${envvar:DATA_DIR}\", \"${args_no_equals}\"]\nparameters:\n  seed: {values: [1, 2]}\n",
      total: 2, parameters: ["seed"], firstCommand: ["bash", "run.sh", "--data=/data", "--seed", "1"]),
    Case(
      name: "Hydra append and override macros",
      yaml: head
        + "method: grid\ncommand: [python, train.py, \"${args_append_hydra}\", \"${args_override_hydra}\"]\nparameters:\n  model: {value: mlp}\n",
      total: 1, parameters: ["model"], firstCommand: ["python", "train.py", "+model=mlp", "++model=mlp"]),
    Case(
      name: "command only, no program",
      yaml:
        "metric: {name: loss}\nmethod: grid\ncommand: [python3, -m, trainer, \"${args}\"]\nparameters:\n  lr: {values: [0.1, 0.01]}\n",
      total: 2, parameters: ["lr"], firstCommand: ["python3", "-m", "trainer", "--lr=0.1"]),
    Case(
      name: "nested parameters (W&B's example)",
      yaml: head
        + "method: grid\nparameters:\n  batch_size: {values: [32, 64]}\n  optimizer:\n    parameters:\n      lr: {values: [0.001, 0.0001]}\n      nadam:\n        parameters:\n          beta: {values: [0.9, 0.95]}\n",
      total: 8, parameters: ["batch_size", "optimizer.lr", "optimizer.nadam.beta"],
      firstCommand: python + ["--batch_size=32", "--optimizer={'lr': 0.001, 'nadam': {'beta': 0.9}}"]),
    Case(
      name: "nested parameters with distributions, random",
      yaml: head
        + "method: random\nrun_cap: 20\nparameters:\n  model:\n    parameters:\n      width: {distribution: int_uniform, min: 16, max: 64}\n      dropout: {distribution: uniform, min: 0.0, max: 0.5}\n",
      total: 20, parameters: ["model.width", "model.dropout"],
      support: ["model.width": whole(16...64), "model.dropout": number(0...0.5)]),
    Case(
      name: "hyperband with min_iter",
      yaml: head
        + "method: random\nrun_cap: 10\nearly_terminate: {type: hyperband, min_iter: 3}\nparameters:\n  lr: {min: 0.001, max: 0.1}\n",
      total: 10, parameters: ["lr"]),
    Case(
      name: "hyperband with max_iter and s",
      yaml: head
        + "method: random\nrun_cap: 10\nearly_terminate: {type: hyperband, max_iter: 27, s: 2, eta: 3}\nparameters:\n  lr: {min: 0.001, max: 0.1}\n",
      total: 10, parameters: ["lr"]),
    Case(
      name: "W&B service keys accepted (project, entity, name, description)",
      yaml: head
        + "name: my-sweep\ndescription: tuning\nproject: p\nentity: e\nmethod: grid\nparameters:\n  lr: {values: [0.1]}\n",
      total: 1, parameters: ["lr"], firstCommand: python + ["--lr=0.1"]),
    Case(
      name: "metric with target and impute",
      yaml:
        "program: train.py\nmetric: {name: val/acc, goal: maximize, target: 0.99, impute: latest, impute_while_running: best}\nmethod: bayes\nrun_cap: 12\nparameters:\n  lr: {distribution: log_uniform_values, min: 1.0e-5, max: 1.0e-1}\n",
      total: 12, parameters: ["lr"], support: ["lr": number(1e-5...0.1)]),
  ]

  func testEveryCorpusConfigValidatesAndExpandsAsWandBWould() throws {
    XCTAssertGreaterThanOrEqual(Self.cases.count, 30)
    for corpus in Self.cases {
      let spec: SweepSpec
      do {
        spec = try SweepConfig.parse(text: corpus.yaml, file: "corpus.yaml")
      } catch {
        XCTFail("\(corpus.name): \(error)")
        continue
      }
      XCTAssertNotNil(spec.program, corpus.name)
      XCTAssertEqual(spec.parameters.map(\.path), corpus.parameters, corpus.name)
      let plan = SweepPlan(spec: spec)
      XCTAssertEqual(plan.totalTrials, corpus.total, corpus.name)
      let trials = try plan.trials(limit: min(corpus.total ?? 40, 40))
      XCTAssertFalse(trials.isEmpty, corpus.name)
      if let total = corpus.total, spec.method != .tpe {
        XCTAssertEqual(trials.count, min(total, 40), corpus.name)
      }
      for trial in trials {
        for (path, value) in trial.assigned {
          if let check = corpus.support[path] {
            XCTAssertTrue(check(value), "\(corpus.name): \(path) = \(value) (\(String(reflecting: value)))")
          }
        }
      }
      // Grid trials are distinct configurations.
      if spec.method == .grid {
        let configurations = Set(trials.map { $0.assigned.map { "\($0.0)=\($0.1)" }.joined(separator: " ") })
        XCTAssertEqual(configurations.count, trials.count, corpus.name)
      }
      if let expected = corpus.firstCommand {
        guard case .program(let work) = trials[0].work else { return XCTFail(corpus.name) }
        let arguments = ProgramCommand(command: work.command, program: work.program).arguments(
          parameters: work.assignment, jsonFile: "/run/args.json", environment: ["DATA_DIR": "/data"])
        XCTAssertEqual(arguments, expected, corpus.name)
      }
    }
  }

  /// The early-termination settings mean W&B's bands.
  func testHyperbandShapesGiveWandBsBands() throws {
    func bands(_ setting: String) throws -> [Int] {
      let spec = try SweepConfig.parse(
        text: Self.head
          + "method: random\nrun_cap: 5\nearly_terminate: \(setting)\nparameters:\n  lr: {min: 0.1, max: 0.2}\n",
        file: "h.yaml")
      guard case .hyperband(let minIter, let maxIter, let s, let eta, let strict)? = spec.earlyTerminate
      else {
        XCTFail("not hyperband")
        return []
      }
      XCTAssertTrue(strict, "W&B's default is strict")
      return Array(
        HyperbandRule(minIter: minIter, maxIter: maxIter, s: s, eta: eta, strict: strict, goal: .minimize)
          .bands
          .prefix(4))
    }
    XCTAssertEqual(try bands("{type: hyperband, min_iter: 3}"), [3, 9, 27, 81])
    XCTAssertEqual(try bands("{type: hyperband, min_iter: 2, eta: 2}"), [2, 4, 8, 16])
    XCTAssertEqual(try bands("{type: hyperband, max_iter: 27, s: 2}"), [3, 9])
    XCTAssertEqual(try bands("{type: hyperband, max_iter: 81, s: 3, eta: 3}"), [3, 9, 27])
  }

  // MARK: W&B's schema defaults

  func parse(_ yaml: String) throws -> SweepSpec { try SweepConfig.parse(text: yaml, file: "w.yaml") }

  func messages(_ yaml: String) -> (errors: [String], warnings: [String]) {
    do {
      return ([], try parse(yaml).warnings.map(\.description))
    } catch let errors as ConfigErrors {
      return (errors.issues.map(\.description), errors.warnings.map(\.description))
    } catch {
      return (["\(error)"], [])
    }
  }

  func testWhatWandBRequiresAndDefaults() throws {
    // `method` is required, as in W&B's schema.
    XCTAssertEqual(
      messages(Self.head + "parameters:\n  lr: {values: [0.1]}\n").errors,
      [
        "w.yaml:1:1: method: missing key 'method' (W&B requires it too); allowed: grid, random, bayes, sobol, tpe"
      ])
    // Bayes models the metric: a built-in sweep without one is refused (W&B refuses it too).
    XCTAssertEqual(
      messages("method: bayes\nrun_cap: 5\nparameters:\n  lr: {min: 0.001, max: 0.1}\n").errors,
      [
        "w.yaml:1:9: metric: bayes search models the metric, and this config names none (W&B requires one too): add `metric: {name: val_loss, goal: minimize}`"
      ])
    // The goal defaults to minimize for every name, with a warning where that reads wrong.
    let accuracy = try parse(
      "method: grid\nmetric: {name: val_accuracy}\nparameters:\n  lr: {values: [0.1]}\n")
    XCTAssertEqual(accuracy.metric.goal, .minimize)
    XCTAssertEqual(
      accuracy.warnings.map(\.description),
      [
        "w.yaml:2:1: metric.goal: no goal: minimizing val_accuracy, as W&B does by default; add `goal: maximize` if higher is better"
      ])
    for name in ["eval/acc", "val_f1", "mean_reward", "mAP", "top1"] {
      XCTAssertTrue(SweepConfig.Parser.soundsMaximized(name), name)
    }
    for name in ["val_loss", "eval/loss", "wer", "perplexity", "val_rmse", "mae"] {
      XCTAssertFalse(SweepConfig.Parser.soundsMaximized(name), name)
    }
    XCTAssertTrue(
      try parse(Self.head + "method: grid\nparameters:\n  lr: {values: [0.1]}\n").warnings.isEmpty,
      "val_loss with goal: no warning")
  }

  func testWarningsWhereTheResultIsProbablyNotWhatWasMeant() throws {
    // log_uniform takes exponents: bounds that look like values are almost surely a mistake.
    let exponents = messages(
      Self.head
        + "method: random\nrun_cap: 2\nparameters:\n  lr: {distribution: log_uniform, min: 0.0001, max: 0.1}\n"
    )
    XCTAssertEqual(exponents.errors, [])
    XCTAssertEqual(
      exponents.warnings,
      [
        "w.yaml:6:40: parameters.lr.min: log_uniform takes natural-log exponents (as in W&B), so values run from e^0.0001 = 1 to e^0.1 = 1.105; for values between 0.0001 and 0.1 use log_uniform_values"
      ])
    XCTAssertEqual(
      messages(
        Self.head
          + "method: random\nrun_cap: 2\nparameters:\n  lr: {distribution: log_uniform, min: -9.2, max: -2.3}\n"
      ).warnings, [], "real exponents: no warning")
    // Hyperband whose first band is past the last epoch stops nothing.
    let late = messages(
      "method: random\nrun_cap: 4\nmetric: {name: val_loss, goal: minimize}\ntraining: {epochs: 5}\nearly_terminate: {type: hyperband, min_iter: 9}\nparameters:\n  lr: {min: 0.001, max: 0.1}\n"
    )
    XCTAssertEqual(late.errors, [])
    XCTAssertEqual(
      late.warnings,
      [
        "w.yaml:5:1: early_terminate: hyperband's first band is at epoch 9 (min_iter 9), but trials run 5 epochs: no trial is ever stopped early; lower min_iter below 5"
      ])
    // PyYAML (W&B's loader) reads 1e-5 as text: say where that changes what a program gets.
    let pyyaml = messages(
      Self.head
        + "method: random\nrun_cap: 2\nparameters:\n  lr: {values: [1e-5, 1.0e-4]}\n  wd: {distribution: uniform, min: 1e-6, max: 1.0e-2}\n"
    )
    XCTAssertEqual(pyyaml.errors, [])
    XCTAssertEqual(
      pyyaml.warnings,
      [
        "w.yaml:6:17: parameters.lr.values: W&B's YAML loader (PyYAML) reads 1e-5 as text, not a number (it needs a dot and a signed exponent, as in 1.0e-5), so under W&B the program receives the string '1e-5' where sweepd passes the number 1e-05; write 1.0e-5 to mean the same in both",
        "w.yaml:7:36: parameters.wd.min: W&B's YAML loader (PyYAML) reads 1e-6 as text, not a number (it needs a dot and a signed exponent, as in 1.0e-6), so W&B refuses this config (min must be a number) where sweepd reads 1e-06; write 1.0e-6 to mean the same in both",
      ])
    XCTAssertEqual(SweepConfig.Parser.pyyamlNumber("3E4"), "3.0E+4")
    XCTAssertEqual(SweepConfig.Parser.pyyamlNumber("1.5e3"), "1.5e+3")
  }

  func testMetricSettingsOfWandB() throws {
    let spec = try parse(
      "program: t.py\nmethod: bayes\nmetric: {name: acc, goal: maximize, target: 0.95, impute: best, impute_while_running: latest}\nparameters:\n  lr: {min: 0.1, max: 0.2}\n"
    )
    XCTAssertEqual(spec.target, 0.95)
    XCTAssertEqual(spec.impute, .best)
    XCTAssertEqual(spec.imputeWhileRunning, .latest)
    XCTAssertEqual(SweepPlan(spec: spec).tpe.impute, .best)
    let off = try parse(
      "program: t.py\nmethod: bayes\nmetric: {name: acc, goal: maximize, impute_while_running: \"false\"}\nparameters:\n  lr: {min: 0.1, max: 0.2}\n"
    )
    XCTAssertNil(off.imputeWhileRunning)
    XCTAssertEqual(off.impute, .worst)
    XCTAssertEqual(
      messages(
        "program: t.py\nmethod: bayes\nmetric: {name: acc, impute: worse}\nparameters:\n  lr: {min: 0.1, max: 0.2}\n"
      ).errors,
      [
        "w.yaml:3:29: metric.impute: expected one of worst, best, latest, found 'worse' (did you mean 'worst'?)"
      ])
    XCTAssertEqual(
      messages(
        "program: t.py\nmethod: bayes\ndeterministic: true\nmetric: {name: acc, impute_while_running: best}\nparameters:\n  lr: {min: 0.1, max: 0.2}\n"
      ).errors,
      [
        "w.yaml:4:21: metric.impute_while_running: TPE seeing trials still running depends on timing, which deterministic mode rules out; remove one of them"
      ])
  }
}
