import XCTest

@testable import Search
@testable import Training

final class SweepPlanTests: XCTestCase {
  let gridConfig = """
    name: digits-optimizers
    method: grid
    metric: {name: val_error, goal: minimize}
    seed: 7
    repeats: 2
    data: {dataset: digits, validation: 0.2}
    model: {kind: mlp, hidden: [128], activation: relu, init: he}
    training: {epochs: 30, batch_size: 32}
    parameters:
      optimizer: {values: [sgd, adam]}
      lr: {values: [0.01, 0.001]}
      momentum: {values: [0.5, 0.9]}
      model.hidden: {values: [[64], [128, 64]]}
    """

  func testGridIsTheCartesianProductInAStableOrder() throws {
    let spec = try SweepConfig.parse(text: gridConfig, file: "g.yaml")
    let plan = SweepPlan(spec: spec)
    XCTAssertEqual(plan.gridSize, 16)
    XCTAssertEqual(plan.totalTrials, 32)
    let trials = try plan.trials(limit: 100)
    XCTAssertEqual(trials.count, 32)
    // The last parameter varies fastest; repeats are adjacent with different seeds.
    XCTAssertEqual(
      trials[0].assigned.map(\.1), [.string("sgd"), .double(0.01), .double(0.5), .list([.int(64)])])
    XCTAssertEqual(
      trials[2].assigned.map(\.1),
      [.string("sgd"), .double(0.01), .double(0.5), .list([.int(128), .int(64)])])
    XCTAssertEqual(
      trials[31].assigned.map(\.1),
      [.string("adam"), .double(0.001), .double(0.9), .list([.int(128), .int(64)])])
    XCTAssertEqual(trials[0].configuration, trials[1].configuration)
    XCTAssertNotEqual(trials[0].seed, trials[1].seed)
    XCTAssertEqual(Set(trials.map(\.seed)).count, 32)
    // Every configuration appears exactly `repeats` times.
    let configurations = Dictionary(
      grouping: trials, by: { $0.assigned.map(\.1.description).joined(separator: "|") })
    XCTAssertEqual(configurations.count, 16)
    XCTAssertTrue(configurations.values.allSatisfy { $0.count == 2 })
    // The specs carry the values.
    XCTAssertEqual(trials[2].spec?.model.hidden, [128, 64])
    XCTAssertEqual(trials[2].spec?.optimizer.hyperparameters["lr"], .number(0.01))
    XCTAssertEqual(trials[2].spec?.data.seed, 7, "the split follows the sweep seed")
    XCTAssertEqual(trials[2].spec?.epochs, 30)
  }

  /// `momentum` applies to sgd only: adam trials neither get it nor record it.
  func testConditionalParameters() throws {
    let trials = try SweepPlan(spec: try SweepConfig.parse(text: gridConfig, file: "g.yaml")).trials(
      limit: 32)
    for trial in trials {
      let usesMomentum = trial.used.contains { $0.0 == "momentum" }
      let spec = try XCTUnwrap(trial.spec)
      XCTAssertEqual(usesMomentum, spec.optimizer.name == "sgd")
      XCTAssertEqual(spec.optimizer.hyperparameters["momentum"] != nil, spec.optimizer.name == "sgd")
      XCTAssertNoThrow(
        try TrialRunner(
          spec: spec,
          data: PreparedData(
            training: Dataset(features: [0, 0], featureCount: 1, labels: [0, 1], classes: 2),
            validation: Dataset(features: [0], featureCount: 1, labels: [0], classes: 2), description: "")))
    }
  }

  func testRunCapAndRepeats() throws {
    var text = gridConfig + "\nrun_cap: 5\n"
    var plan = SweepPlan(spec: try SweepConfig.parse(text: text, file: "g.yaml"))
    XCTAssertEqual(plan.totalTrials, 5)
    XCTAssertEqual(try plan.trials(limit: 100).count, 5)
    text = "method: random\nparameters:\n  lr: {min: 0.001, max: 0.1}\n"
    plan = SweepPlan(spec: try SweepConfig.parse(text: text, file: "r.yaml"))
    XCTAssertNil(plan.totalTrials, "random without run_cap runs until stopped")
    XCTAssertEqual(try plan.trials(limit: 7).count, 7)
  }

  func testSameConfigAndSeedGiveTheSameTrials() throws {
    let text = """
      method: random
      run_cap: 50
      seed: 3
      parameters:
        optimizer: {values: [adam, rmsprop, sgd_hd], probabilities: [0.5, 0.3, 0.2]}
        lr: {distribution: log_uniform_values, min: 1.0e-4, max: 0.1}
        training.batch_size: {distribution: q_log_uniform_values, min: 16, max: 256, q: 16}
        model.hidden: {values: [[32], [64, 32]]}
      """
    let a = try SweepPlan(spec: try SweepConfig.parse(text: text, file: "r.yaml")).trials(limit: 50)
    let b = try SweepPlan(spec: try SweepConfig.parse(text: text, file: "r.yaml")).trials(limit: 50)
    XCTAssertEqual(a.map(\.spec), b.map(\.spec))
    XCTAssertEqual(a.map(\.seed), b.map(\.seed))
    let other = try SweepPlan(
      spec: try SweepConfig.parse(
        text: text.replacingOccurrences(of: "seed: 3", with: "seed: 4"), file: "r.yaml")
    )
    .trials(limit: 50)
    XCTAssertNotEqual(a.map(\.spec), other.map(\.spec))
    for trial in a {
      let spec = try XCTUnwrap(trial.spec)
      let lr = spec.optimizer.hyperparameters["lr"]!
      guard case .number(let x) = lr else { return XCTFail("lr \(lr)") }
      XCTAssertTrue((1e-4...0.1).contains(x))
      XCTAssertEqual(spec.batchSize % 16, 0)
      XCTAssertTrue((16...256).contains(spec.batchSize))
    }
  }

  func testSobolAndTPEPlans() throws {
    let plan = SweepPlan(
      spec: try SweepConfig.parse(
        text:
          "method: bayes\nmetric: {name: val_loss}\nrun_cap: 30\nparameters:\n  lr: {min: 0.001, max: 0.1}\n",
        file: "b.yaml"))
    XCTAssertEqual(plan.spec.method, .tpe)
    // Without results, a TPE plan holds its random start-up trials only.
    XCTAssertEqual(try plan.trials(limit: 30).count, 10)
  }
}

/// Grids enumerate lazily: a 2×10¹⁴-trial grid over a 50-million-value integer range plans
/// its first trials at once, and `validate`'s warnings say the size is absurd.
final class HugeGridTests: XCTestCase {
  var huge: String {
    get throws {
      let url = try XCTUnwrap(
        Bundle.module.url(forResource: "huge-grid", withExtension: "yaml", subdirectory: "Fixtures"))
      return try String(contentsOf: url, encoding: .utf8)
    }
  }

  func testAHugeGridPlansItsFirstTrialsAtOnce() throws {
    let spec = try SweepConfig.parse(text: try huge, file: "huge.yaml")
    let plan = SweepPlan(spec: spec)
    XCTAssertEqual(plan.totalTrials, 200_000_000_000_000)
    let started = Date()
    let trials = try plan.trials(limit: 3)
    XCTAssertEqual(trials.map(\.spec?.batchSize), [1, 1, 1])
    XCTAssertEqual(try plan.trial(1_000_000).spec?.batchSize, 2, "configuration 1: the next batch size")
    XCTAssertEqual(
      try plan.trial(49_999_999 * 1_000_000).spec?.batchSize, 50_000_000, "the last value of the first block")
    // Not a timed test: a 50-million-element array per trial took 20 s; this takes microseconds.
    XCTAssertLessThan(Date().timeIntervalSince(started), 5)
    XCTAssertTrue(
      spec.warnings.contains { $0.keyPath == "repeats" && $0.message.contains("200000000000000 trials") },
      "\(spec.warnings)")
  }

  func testGridValueAtMatchesTheFullList() {
    let distributions: [Distribution] = [
      .intUniform(min: -3, max: 4), .qUniform(min: 0.1, max: 1.0, q: 0.25),
      .categorical([.string("a"), .int(2), .null], probabilities: nil), .constant(.double(0.5)),
    ]
    for distribution in distributions {
      let all = distribution.gridValues ?? []
      XCTAssertEqual(all.count, distribution.gridCount)
      XCTAssertEqual((0..<all.count).map { distribution.gridValue(at: $0) }, all.map { $0 })
      XCTAssertNil(distribution.gridValue(at: all.count))
    }
    XCTAssertNil(Distribution.intUniform(min: Int.min, max: Int.max).gridCount, "no overflow")
  }

  /// `repeats: {count: N, seeds: shared}`: repeat r of every configuration has one seed, so
  /// two configurations of one architecture start from identical weights (and shuffles);
  /// `independent` (the default) gives every trial its own. A swept `seed` is the trial's seed.
  func testSharedSeedsPairConfigurations() throws {
    let text = """
      method: grid
      repeats: {count: 3, seeds: shared}
      metric: {name: val_error, goal: minimize}
      data: {dataset: spirals, samples: 200}
      model: {kind: mlp, hidden: [8]}
      training: {epochs: 1}
      parameters:
        optimizer: {values: [adam, sgd]}
      """
    let plan = SweepPlan(spec: try SweepConfig.parse(text: text, file: "p.yaml"))
    let trials = try plan.trials(limit: 6)
    XCTAssertEqual(
      trials.map(\.seed), Array(trials.prefix(3).map(\.seed)) + Array(trials.prefix(3).map(\.seed)))
    XCTAssertEqual(Set(trials.prefix(3).map(\.seed)).count, 3, "repeats differ from each other")
    func initialWeights(_ spec: TrialSpec) throws -> [Float] {
      let runner = try TrialRunner(spec: spec)
      return try NetworkTrainer(
        network: runner.network!, training: runner.data!.training, spec: spec, cores: 1
      ).parameters
    }
    let adam = try initialWeights(trials[1].spec!), sgd = try initialWeights(trials[4].spec!)
    XCTAssertEqual(adam, sgd, "one architecture, one seed: the same initial weights")
    XCTAssertNotEqual(adam, try initialWeights(trials[2].spec!))
    let independent = SweepPlan(
      spec: try SweepConfig.parse(
        text: text.replacingOccurrences(of: "seeds: shared", with: "seeds: independent"), file: "p.yaml"))
    let unpaired = try independent.trials(limit: 6)
    XCTAssertNotEqual(unpaired[0].seed, unpaired[3].seed)
    // A swept seed.
    let swept = SweepPlan(
      spec: try SweepConfig.parse(
        text: text.replacingOccurrences(of: "repeats: {count: 3, seeds: shared}\n", with: "")
          .replacingOccurrences(
            of: "  optimizer: {values: [adam, sgd]}",
            with: "  optimizer: {values: [adam, sgd]}\n  seed: {values: [7, 8]}"),
        file: "p.yaml"))
    XCTAssertEqual(try swept.trials(limit: 4).map { $0.spec!.seed }, [7, 8, 7, 8])
    XCTAssertThrowsError(
      try SweepConfig.parse(text: text + "\n  seed: {values: [-1]}\n", file: "p.yaml")
    ) { XCTAssertTrue("\($0)".contains("the trial's seed is a whole number ≥ 0"), "\($0)") }
    XCTAssertThrowsError(
      try SweepConfig.parse(
        text: text.replacingOccurrences(of: "seeds: shared", with: "seeds: paired"), file: "p.yaml")
    ) { XCTAssertTrue("\($0)".contains("repeats.seeds: expected shared"), "\($0)") }
  }
}
