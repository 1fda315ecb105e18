import XCTest

@testable import Search

final class TPETests: XCTestCase {
  func testOptunaDefaults() {
    XCTAssertEqual(TPESampler.goodCount(1), 1)
    XCTAssertEqual(TPESampler.goodCount(10), 1)
    XCTAssertEqual(TPESampler.goodCount(11), 2)
    XCTAssertEqual(TPESampler.goodCount(100), 10)
    XCTAssertEqual(TPESampler.goodCount(1000), 25)
    XCTAssertEqual(TPESampler.weights(10), Array(repeating: 1, count: 10))
    let ramp = TPESampler.weights(40)
    XCTAssertEqual(ramp.count, 40)
    XCTAssertEqual(ramp.first!, 1.0 / 40, accuracy: 1e-12)
    XCTAssertEqual(Array(ramp.suffix(25)), Array(repeating: 1, count: 25))
    XCTAssertTrue(zip(ramp, ramp.dropFirst()).allSatisfy { $0 <= $1 })
    let sampler = TPESampler(parameters: [], goal: .minimize, seed: 0)
    XCTAssertEqual(sampler.startupTrials, 10)
    XCTAssertEqual(sampler.candidates, 24)
  }

  /// Clearly better than random search on Branin and Hartmann-6 (median of 7 seeds after 60
  /// trials; the full comparison with Optuna is scripts/bench/search).
  func testBeatsRandomSearch() {
    for objective in TestObjective.allCases {
      func median(_ method: SweepSpec.Method) -> Double {
        let finals = (0..<7).map { objective.bestSoFar(method: method, trials: 60, seed: UInt64($0)).last! }
          .sorted()
        return finals[3]
      }
      let tpe = median(.tpe), random = median(.random)
      XCTAssertLessThan(
        tpe - objective.minimum, 0.6 * (random - objective.minimum),
        "\(objective): tpe \(tpe), random \(random)")
    }
  }

  func testSameHistoryGivesTheSameSuggestion() {
    let spec = TestObjective.hartmann6.sweep(method: .tpe, seed: 5)
    let plan = SweepPlan(spec: spec)
    var history: [Observation] = []
    for k in 0..<15 {
      let point = plan.point(k, history: history)
      XCTAssertEqual(point, plan.point(k, history: history))
      XCTAssertTrue(point.allSatisfy { (0..<1).contains($0) })
      history.append(Observation(point: point, value: TestObjective.hartmann6.value(point)))
    }
  }

  /// Diverged or failed trials count as observed with the worst value; categorical
  /// parameters concentrate on the category of the good trials.
  /// A categorical parameter of three choices: a, b, c.
  let abc = SweepSpec.Parameter(
    path: "optimizer",
    distribution: .categorical([.string("a"), .string("b"), .string("c")], probabilities: nil),
    location: SourceLocation(line: 1, column: 1))

  func testCategoriesAndImputation() {
    let parameters = [abc]
    let sampler = TPESampler(parameters: parameters, goal: .maximize, seed: 1)
    // Category "b" (u in [1/3, 2/3)) scores high; "c" diverges.
    var history: [Observation] = []
    for i in 0..<30 {
      let u = [0.1, 0.5, 0.9][i % 3]
      switch i % 3 {
      case 0: history.append(Observation(point: [u], value: 0.2))
      case 1: history.append(Observation(point: [u], value: 0.9))
      default: history.append(Observation(point: [u], value: nil, state: .diverged))
      }
    }
    let picks = (30..<60).map { sampler.suggest(index: $0, history: history)[0] }
    XCTAssertGreaterThan(picks.filter { (1.0 / 3..<2.0 / 3).contains($0) }.count, 25)
  }

  /// W&B's `metric.impute`: a failed trial counts as the worst value (default), as its own
  /// best before failing, or as its last value. Here category "c" only ever fails, after
  /// reporting the best values of all: with `worst` TPE avoids it, with `best` or `latest` it
  /// is sought out.
  func testImputeDecidesWhatAFailedTrialCountsAs() {
    let parameters = [abc]
    var history: [Observation] = []
    for i in 0..<30 {
      let u = [0.1, 0.5, 0.9][i % 3]
      switch i % 3 {
      case 0: history.append(Observation(point: [u], value: 0.5))
      case 1: history.append(Observation(point: [u], value: 0.4))
      default: history.append(Observation(point: [u], value: 0.05, state: .failed, latest: 0.06))
      }
    }
    func picksOfC(_ impute: TPESampler.Impute) -> Int {
      let sampler = TPESampler(parameters: parameters, goal: .minimize, seed: 1, impute: impute)
      return (30..<60).map { sampler.suggest(index: $0, history: history)[0] }.filter { $0 >= 2.0 / 3 }.count
    }
    XCTAssertLessThan(picksOfC(.worst), 5, "imputed worst: avoided")
    XCTAssertGreaterThan(picksOfC(.best), 25, "imputed its own best, 0.05: sought")
    XCTAssertGreaterThan(picksOfC(.latest), 25, "imputed its last value, 0.06: sought")
    // A diverged trial is the worst whatever the strategy.
    history = history.map {
      Observation(
        point: $0.point, value: $0.value, state: $0.state == .failed ? .diverged : $0.state, latest: $0.latest
      )
    }
    XCTAssertLessThan(picksOfC(.best), 5)
  }
}
