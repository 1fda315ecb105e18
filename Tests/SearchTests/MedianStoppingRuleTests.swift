import XCTest

@testable import Search
@testable import Stopping

/// The median stopping rule on synthetic learning curves, boundaries included.
final class MedianStoppingRuleTests: XCTestCase {
  /// Five finished trials whose running averages at step s are s-independent: 1, 2, 3, 4, 5.
  let finished: [[Double]] = (1...5).map { level in Array(repeating: Double(level), count: 10) }

  func testStopsOnlyWhenStrictlyWorseThanTheMedian() {
    let rule = MedianStoppingRule(minTrials: 5, graceEpochs: 5, goal: .minimize)
    // Median of running averages is 3.
    XCTAssertNil(rule.decide(curve: [9, 9, 9, 9, 3], finished: finished), "best 3 ties the median: continue")
    let stop = rule.decide(curve: [9, 9, 9, 9, 3.5], finished: finished)
    XCTAssertEqual(stop, .init(epoch: 5, best: 3.5, median: 3, finishedTrials: 5, compare: .runningAverage))
    XCTAssertEqual(
      stop?.description,
      "median rule at epoch 5: best 3.5 is worse than the median 3 of 5 finished trials' running averages")
    // The best so far counts, not the latest value.
    XCTAssertNil(rule.decide(curve: [2, 9, 9, 9, 9], finished: finished))
  }

  func testGraceEpochsAndMinimumTrials() {
    let rule = MedianStoppingRule(minTrials: 5, graceEpochs: 5, goal: .minimize)
    XCTAssertNil(rule.decide(curve: [9, 9, 9, 9], finished: finished), "epoch 4 < grace 5")
    XCTAssertNotNil(rule.decide(curve: [9, 9, 9, 9, 9], finished: finished), "epoch 5: first decision")
    XCTAssertNil(rule.decide(curve: Array(repeating: 9, count: 8), finished: Array(finished.prefix(4))))
    let eager = MedianStoppingRule(minTrials: 1, graceEpochs: 0, goal: .minimize)
    XCTAssertNotNil(eager.decide(curve: [9], finished: [[1]]), "grace 0 decides after epoch 1")
    XCTAssertNil(eager.decide(curve: [], finished: [[1]]))
  }

  /// Running averages use epochs 1…s only; a finished trial shorter than s counts with what
  /// it has; even counts take the mean of the middle two.
  func testRunningAveragesUpToTheStep() {
    let rule = MedianStoppingRule(minTrials: 2, graceEpochs: 1, goal: .minimize)
    let curves: [[Double]] = [[4, 2, 0], [1]]
    // Step 2: averages 3 and 1 → median 2.
    XCTAssertNil(rule.decide(curve: [5, 2], finished: curves))
    XCTAssertEqual(rule.decide(curve: [5, 2.1], finished: curves)?.median, 2)
    // Step 3: averages 2 and 1 → median 1.5.
    XCTAssertEqual(rule.decide(curve: [5, 2.1, 1.6], finished: curves)?.median, 1.5)
    XCTAssertNil(rule.decide(curve: [5, 2.1, 1.5], finished: curves))
  }

  func testMaximizeAndNonFiniteValues() {
    let rule = MedianStoppingRule(minTrials: 3, graceEpochs: 2, goal: .maximize)
    let accuracies: [[Double]] = [[0.5, 0.7], [0.8, .nan], [0.9, 0.9]]
    // Averages at step 2: 0.6, 0.8 (NaN skipped), 0.9 → median 0.8.
    XCTAssertNil(rule.decide(curve: [0.1, 0.8], finished: accuracies))
    XCTAssertEqual(rule.decide(curve: [0.79, 0.1], finished: accuracies)?.median, 0.8)
    XCTAssertNil(rule.decide(curve: [.nan, .nan], finished: accuracies), "no finite value yet: continue")
    // A finished trial with no finite value does not count towards min_trials.
    XCTAssertNil(rule.decide(curve: [0.1, 0.1], finished: [[.nan], [0.9, 0.9], [0.8, 0.8]]))
  }

  /// Optuna's variant: finished trials' values at the step, not their running averages, so
  /// a trial that keeps pace with the running averages can still be stopped.
  func testStepValuesStopMoreThanRunningAverages() {
    let falling: [[Double]] = (1...5).map { offset in
      (1...10).map { 1.0 / Double($0) + 0.01 * Double(offset) }
    }
    let curve: [Double] = [1.1, 0.6, 0.45]  // behind the finished trials' values at step 3 (≈ 0.36)
    let vizier = MedianStoppingRule(minTrials: 5, graceEpochs: 1, goal: .minimize)
    let optuna = MedianStoppingRule(minTrials: 5, graceEpochs: 1, goal: .minimize, compare: .stepValue)
    XCTAssertNil(vizier.decide(curve: curve, finished: falling), "running average at 3 is ≈ 0.64")
    let stop = optuna.decide(curve: curve, finished: falling)
    XCTAssertEqual(stop?.median ?? 0, 1.0 / 3 + 0.03, accuracy: 1e-12)
    XCTAssertTrue(stop?.description.hasSuffix("finished trials' values at that epoch") ?? false)
    // Trials that did not reach the step are left out.
    XCTAssertNil(optuna.decide(curve: curve, finished: falling.map { Array($0.prefix(2)) }))
    // Which finished trials take part: all for running averages, completed ones for `step`.
    XCTAssertTrue(vizier.counts(earlyStopped: true))
    XCTAssertFalse(optuna.counts(earlyStopped: true))
    XCTAssertTrue(optuna.counts(earlyStopped: false))
  }
}
