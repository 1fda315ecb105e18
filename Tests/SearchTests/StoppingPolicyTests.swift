import Vocabulary
import XCTest

@testable import Search
@testable import Stopping

/// The stopping policies on synthetic learning curves, boundaries included.
final class StoppingPolicyTests: XCTestCase {
  // MARK: Plateau

  func testPlateauStopsOnThePatienceThEpochWithoutImprovement() {
    let rule = PlateauRule(patience: 3, goal: .minimize)
    // Best at epoch 2; epochs 3, 4 do not improve (a tie is no improvement): continue.
    XCTAssertNil(rule.decide(curve: [1.0, 0.5, 0.5, 0.7]))
    // Epoch 5 is the third epoch without improvement: stop there.
    let stop = rule.decide(curve: [1.0, 0.5, 0.5, 0.7, 0.6])
    XCTAssertEqual(stop?.epoch, 5)
    XCTAssertEqual(
      stop?.reason, "plateau at epoch 5: best 0.5 at epoch 2, 3 epochs without improvement")
    // An improvement resets the count.
    XCTAssertNil(rule.decide(curve: [1.0, 0.5, 0.6, 0.6, 0.4, 0.5, 0.5]))
  }

  func testPlateauMinDeltaAbsoluteAndRelative() {
    let absolute = PlateauRule(patience: 2, minDelta: 0.1, goal: .minimize)
    // 0.95 and 0.91 improve by less than 0.1 on 1.0: they do not count as improvements.
    XCTAssertEqual(absolute.decide(curve: [1.0, 0.95, 0.91])?.epoch, 3)
    // Exactly 0.1 better is not more than min_delta either; 0.89 is.
    XCTAssertNotNil(absolute.decide(curve: [1.0, 0.9, 0.95]))
    XCTAssertNil(absolute.decide(curve: [1.0, 0.89, 0.95]))
    let relative = PlateauRule(patience: 2, minDelta: 0.1, relative: true, goal: .minimize)
    // rel: improve on b·(1 − 0.1): from 10, 8.9 improves, 9.5 does not.
    XCTAssertNil(relative.decide(curve: [10, 8.9, 9.5]))
    XCTAssertNotNil(relative.decide(curve: [10, 9.5, 9.2]))
  }

  func testPlateauMinEpochsMaximizeAndNonFinite() {
    let held = PlateauRule(patience: 1, minEpochs: 4, goal: .minimize)
    XCTAssertNil(held.decide(curve: [1, 2, 3]), "no verdict before min_epochs")
    XCTAssertEqual(held.decide(curve: [1, 2, 3, 4])?.epoch, 4)
    let maximize = PlateauRule(patience: 2, goal: .maximize)
    XCTAssertNil(maximize.decide(curve: [0.1, 0.5, 0.4]))
    XCTAssertNotNil(maximize.decide(curve: [0.1, 0.5, 0.4, 0.5]))
    // NaN never improves; a curve of NaNs stops after `patience` epochs.
    let rule = PlateauRule(patience: 2, goal: .minimize)
    XCTAssertNotNil(rule.decide(curve: [1.0, .nan, .nan]))
    XCTAssertEqual(
      rule.decide(curve: [.nan, .nan])?.reason,
      "plateau at epoch 2: no finite value, 2 epochs without improvement")
  }

  // MARK: ASHA

  func testASHARungs() {
    XCTAssertEqual(
      SuccessiveHalvingRule(minEpochs: 1, maxEpochs: 40, eta: 3, goal: .minimize).rungs, [1, 3, 9, 27])
    XCTAssertEqual(SuccessiveHalvingRule(minEpochs: 2, maxEpochs: 32, eta: 4, goal: .minimize).rungs, [2, 8])
    // A rung at the last epoch is completion, not a rung.
    XCTAssertEqual(SuccessiveHalvingRule(minEpochs: 3, maxEpochs: 27, eta: 3, goal: .minimize).rungs, [3, 9])
    XCTAssertEqual(
      SuccessiveHalvingRule(minEpochs: 1, maxEpochs: 10, eta: 1.5, goal: .minimize).rungs, [1, 2, 3, 5, 7])
  }

  func testASHAKeepsTheTopThirdOfEachRung() {
    let rule = SuccessiveHalvingRule(minEpochs: 1, maxEpochs: 20, eta: 3, goal: .minimize)
    // The first trial at a rung always continues (top 1 of 1).
    XCTAssertNil(rule.decide(curve: [0.9], others: []))
    // Between rungs: no decision, however bad.
    XCTAssertNil(rule.decide(curve: [0.1, 5.0], others: [[0.01, 0.01, 0.01]]))
    // Rung 3 with 5 recorded (4 others + itself): ⌊5/3⌋ = 1 continues; ranked 2nd → stop.
    let others: [[Double]] = [
      [0.5, 0.4, 0.30], [0.5, 0.4, 0.50], [0.5, 0.4, 0.60], [0.5, 0.4, 0.70, 0.6],
    ]
    let stop = rule.decide(curve: [0.5, 0.4, 0.35], others: others)
    XCTAssertEqual(stop?.epoch, 3)
    XCTAssertEqual(stop?.reason, "asha rung 3: rank 2 of 5 (the top 1 continue)")
    XCTAssertNil(rule.decide(curve: [0.5, 0.4, 0.25], others: others), "the best continues")
    // A tie with the best favours the trial; trials that stopped before the rung are not
    // recorded at it.
    XCTAssertNil(rule.decide(curve: [0.5, 0.4, 0.30], others: others + [[0.1], [0.1, 0.1]]))
    // With 6 recorded, 2 continue.
    XCTAssertNil(rule.decide(curve: [0.5, 0.4, 0.35], others: others + [[0.5, 0.4, 0.9]]))
  }

  func testASHAMaximizeAndNonFinite() {
    let rule = SuccessiveHalvingRule(minEpochs: 1, maxEpochs: 9, eta: 2, goal: .maximize)
    XCTAssertNil(rule.decide(curve: [0.9], others: [[0.8], [0.1], [0.2]]))
    XCTAssertNotNil(rule.decide(curve: [0.2], others: [[0.8], [0.9], [0.1]]))
    // NaN ranks last, in the trial's own value and in others'.
    XCTAssertNotNil(rule.decide(curve: [.nan], others: [[0.1]]))
    XCTAssertNil(rule.decide(curve: [0.1], others: [[.nan], [.nan], [.nan]]))
  }

  // MARK: Hyperband (W&B's semantics)

  func testHyperbandBands() {
    XCTAssertEqual(
      Array(HyperbandRule(minIter: 3, maxIter: nil, s: nil, eta: 3, goal: .minimize).bands.prefix(4)),
      [3, 9, 27, 81])
    XCTAssertEqual(HyperbandRule(minIter: nil, maxIter: 81, s: 3, eta: 3, goal: .minimize).bands, [3, 9, 27])
    // ⌊5/2⌋ = 2, ⌊2.5/2⌋ = 1: W&B's own example.
    XCTAssertEqual(HyperbandRule(minIter: nil, maxIter: 5, s: 2, eta: 2, goal: .minimize).bands, [1, 2])
    XCTAssertEqual(HyperbandRule(minIter: nil, maxIter: 5, s: 5, eta: 2, goal: .minimize).bands, [1, 2])
  }

  /// The runs of W&B's docstring example: max_iter 5, s 2, eta 2 → bands [1, 2]; runs a
  /// (finished: 10, 9), b (10, 10), c (10, 8, 8), d (10, 7, 7), e (finished: 10, 6, 6). By
  /// W&B's rule b is stopped; c ties band 2's threshold and continues (only strictly worse
  /// stops); d continues.
  func testHyperbandMatchesWandBsExample() {
    let rule = HyperbandRule(minIter: nil, maxIter: 5, s: 2, eta: 2, goal: .minimize)
    let a = [10.0, 9], b = [10.0, 10], c = [10.0, 8, 8], d = [10.0, 7, 7], e = [10.0, 6, 6]
    let all = [a, b, c, d, e]
    func others(_ run: [Double]) -> [[Double]] {
      var rest = all
      rest.remove(at: all.firstIndex(of: run)!)
      return rest
    }
    // Band 2 threshold: values at 2 = [9, 10, 8, 7, 6] sorted [6, 7, 8, 9, 10][⌊5/2⌋] = 8.
    XCTAssertNotNil(rule.decide(curve: b, others: others(b)), "best 10 > 8")
    XCTAssertNil(rule.decide(curve: c, others: others(c)), "best 8 is not > 8")
    XCTAssertNil(rule.decide(curve: d, others: others(d)))
    // Band 1 only (one epoch): threshold [10 × 5][2] = 10, nothing is worse.
    XCTAssertNil(rule.decide(curve: [10.0], others: others(b)))
  }

  func testHyperbandStrictJudgesTheValueAtTheBand() {
    let loose = HyperbandRule(minIter: 2, maxIter: nil, s: nil, eta: 2, strict: false, goal: .minimize)
    let strict = HyperbandRule(minIter: 2, maxIter: nil, s: nil, eta: 2, strict: true, goal: .minimize)
    let others: [[Double]] = [[1, 0.2, 0.2], [1, 0.3, 0.3], [1, 0.4, 0.4]]
    // Best 0.1 at epoch 1 but 0.9 at the band (epoch 2): conservative keeps it, strict stops.
    let curve = [0.1, 0.9, 0.8]
    XCTAssertNil(loose.decide(curve: curve, others: others))
    let stop = strict.decide(curve: curve, others: others)
    XCTAssertEqual(stop?.epoch, 3)
    XCTAssertEqual(
      stop?.reason,
      "hyperband band 2 at epoch 3: value at the band 0.9 is worse than the threshold 0.4 of 4 trials")
  }

  func testHyperbandMaximizeSkipsNonFiniteValues() {
    let rule = HyperbandRule(minIter: 2, maxIter: nil, s: nil, eta: 2, goal: .maximize)
    let others: [[Double]] = [[0.5, 0.9], [0.5, 0.8], [0.5, 0.7]]
    XCTAssertNotNil(rule.decide(curve: [0.1, 0.2], others: others))
    XCTAssertNil(rule.decide(curve: [0.1, 0.95], others: others))
    // A NaN is left out of the history: after [0.1, NaN] the trial has one value, below band 2.
    XCTAssertNil(rule.decide(curve: [0.1, .nan], others: others))
  }

  // MARK: The policy as the coordinator drives it

  func testPolicyFromConfigAndPeers() throws {
    let spec = try SweepConfig.parse(
      text: """
        method: grid
        metric: {name: val_loss, goal: minimize}
        training: {epochs: 40}
        early_terminate: {type: asha, min_epochs: 1, eta: 3}
        parameters:
          lr: {values: [0.1, 0.01]}
        """, file: "a.yaml")
    XCTAssertTrue(spec.warnings.isEmpty, "\(spec.warnings)")
    let policy = StoppingPolicy(try XCTUnwrap(spec.earlyTerminate), goal: .minimize, epochs: spec.trialEpochs)
    guard case .asha(let rule) = policy else { return XCTFail("\(policy)") }
    XCTAssertEqual(rule.rungs, [1, 3, 9, 27])
    XCTAssertEqual(policy.peers, .all)
    XCTAssertEqual(
      StoppingPolicy(
        .plateau(patience: 2, minDelta: 0, relative: false, minEpochs: 0, restoreBest: true), goal: .minimize,
        epochs: 9
      ).peers, .none)
    let median = StoppingPolicy(
      .median(minTrials: 1, graceEpochs: 1, compare: .stepValue), goal: .minimize, epochs: 9)
    XCTAssertEqual(median.peers, .finished)
    XCTAssertFalse(median.counts(earlyStopped: true))
    XCTAssertEqual(median.decide(curve: [2.0], peers: [[1.0]])?.epoch, 1)
  }

  /// Reasons are read by people: values at 4 significant digits, not 17.
  func testReasonsShowFourSignificantDigits() {
    let rule = PlateauRule(
      patience: 2, minDelta: 0, relative: false, minEpochs: 1, restoreBest: false, goal: .minimize)
    let stop = rule.decide(curve: [0.036211699164345405, 0.05, 0.05])
    XCTAssertEqual(stop?.reason, "plateau at epoch 3: best 0.03621 at epoch 1, 2 epochs without improvement")
    XCTAssertEqual(formatValue(1.2345678e-5), "1.235e-5")
    XCTAssertEqual(formatValue(1234.5678), "1235")
    XCTAssertEqual(formatValue(.nan), "nan")
  }
}
