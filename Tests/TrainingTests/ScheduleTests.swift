import XCTest

@testable import Training

final class ScheduleTests: XCTestCase {
  /// PyTorch semantics: the rate drops on the (patience+1)-th bad epoch; cooldown epochs
  /// do not count as bad; min_lr is a floor; best is not reset after a drop.
  func testReduceOnPlateau() {
    var plateau = ReduceLROnPlateau(
      learningRate: 1, factor: 0.5, patience: 2, threshold: 0.1, cooldown: 1, minimumLearningRate: 0.2)
    var rates: [Double] = []
    for metric in [10.0, 9.5, 9.2, 9.1, 8.0, 8.0, 8.0, 8.0, 8.0, 8.0, 8.0, 8.0, 8.0] {
      plateau.step(metric)
      rates.append(plateau.learningRate)
    }
    // 10 best; 9.5 and 9.2 are not 10% better (bad 1, 2); 9.1 is bad 3 > 2 → 0.5, cooldown 1.
    // 8.0 is better (best 8) and uses up the cooldown; three bad epochs → 0.25 (epoch 8),
    // cooldown swallows epoch 9, three more bad → 0.125, floored at min_lr 0.2 (epoch 12).
    XCTAssertEqual(rates, [1, 1, 1, 0.5, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 0.25, 0.2, 0.2])
  }

  func testReduceOnPlateauAbsoluteThresholdAndMaxMode() {
    var plateau = ReduceLROnPlateau(
      learningRate: 1, factor: 0.1, patience: 0, threshold: 0.5, relativeThreshold: false, maximize: true)
    plateau.step(1)
    XCTAssertEqual(plateau.learningRate, 1)
    plateau.step(1.4)  // not > 1 + 0.5
    XCTAssertEqual(plateau.learningRate, 0.1, accuracy: 1e-15)
    plateau.step(.nan)  // NaN is never better
    XCTAssertEqual(plateau.learningRate, 0.01, accuracy: 1e-15)
  }

  func testClosedFormSchedules() {
    func multipliers(_ spec: ScheduleSpec, epochs: Int = 10) -> [Double] {
      var schedule = LearningRateSchedule(spec: spec, baseLearningRate: 0.1, epochs: epochs)
      var values = [schedule.multiplier]
      for e in 1..<epochs {
        schedule.advance(completedEpochs: e, monitored: 0)
        values.append(schedule.multiplier)
      }
      return values
    }
    XCTAssertEqual(multipliers(.constant), Array(repeating: 1, count: 10))
    XCTAssertEqual(
      multipliers(ScheduleSpec(kind: .step, settings: ["step_size": .number(3), "gamma": .number(0.5)])),
      [1, 1, 1, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 0.125])
    let exponential = multipliers(ScheduleSpec(kind: .exponential, settings: ["gamma": .number(0.9)]))
    for (e, m) in exponential.enumerated() { XCTAssertEqual(m, pow(0.9, Double(e)), accuracy: 1e-12) }
    let inverse = multipliers(ScheduleSpec(kind: .inverseTime, settings: ["decay": .number(0.5)]))
    for (e, m) in inverse.enumerated() { XCTAssertEqual(m, 1 / (1 + 0.5 * Double(e)), accuracy: 1e-12) }
    let cosine = multipliers(ScheduleSpec(kind: .cosine, settings: ["eta_min": .number(0.01)]), epochs: 10)
    XCTAssertEqual(cosine[0], 1, accuracy: 1e-12)
    XCTAssertEqual(cosine[5], (0.01 + (0.1 - 0.01) * 0.5) / 0.1, accuracy: 1e-12)
    XCTAssertTrue(zip(cosine, cosine.dropFirst()).allSatisfy { $0 >= $1 })
  }

  /// The schedule yields the absolute rate, computed by the schedule's own formula (exactly
  /// PyTorch's for cosine and plateau, not recovered from a ratio), and a fixed-rate optimizer
  /// steps with it as it is; a hypergradient optimizer scales its adapted rate instead.
  func testTheScheduleYieldsTheAbsoluteRate() {
    let base = 0.3
    var cosine = LearningRateSchedule(
      spec: ScheduleSpec(kind: .cosine, settings: ["eta_min": .number(0.001)]), baseLearningRate: base,
      epochs: 7)
    XCTAssertEqual(cosine.rate, base)
    for e in 1..<7 {
      cosine.advance(completedEpochs: e, monitored: 0)
      let expected = 0.001 + (base - 0.001) * (1 + cos(Double.pi * Double(e) / 7)) / 2
      XCTAssertEqual(cosine.rate, expected, "epoch \(e): bit for bit")
      XCTAssertEqual(cosine.scheduled, ScheduledRate(learningRate: expected, scale: expected / base))
    }
    var plateau = LearningRateSchedule(
      spec: ScheduleSpec(kind: .reduceOnPlateau, settings: ["patience": .number(0), "factor": .number(0.1)]),
      baseLearningRate: base, epochs: 5)
    plateau.advance(completedEpochs: 1, monitored: 1)
    plateau.advance(completedEpochs: 2, monitored: 1)
    XCTAssertEqual(plateau.rate, base * 0.1, "the plateau rule's own rate")

    // SGD at rate 0.25 from the schedule (its own lr 0.3): θ = 1 − 0.25 · 2.
    var sgd = SGD<Double>(learningRate: base, momentum: 0, dampening: 0, nesterov: false, weightDecay: 0)
    var theta = [1.0], gradient = [2.0]
    theta.withUnsafeMutableBufferPointer { p in
      gradient.withUnsafeMutableBufferPointer { g in
        sgd.step(
          parameters: p, gradient: g,
          context: StepContext(loss: 0, rate: ScheduledRate(learningRate: 0.25, scale: 99)))
      }
    }
    XCTAssertEqual(theta, [0.5])
    XCTAssertEqual(sgd.currentLearningRate, 0.25)
  }

  func testSettingsAreValidatedByName() {
    XCTAssertEqual(
      ScheduleSpec(kind: .step, settings: ["gama": .number(0.5)]).problems(),
      ["schedule 'step' has no setting 'gama' (did you mean 'gamma'?); it accepts: step_size, gamma"])
    XCTAssertEqual(
      ScheduleSpec(kind: .reduceOnPlateau, settings: ["factor": .number(1.5)]).problems(),
      ["schedule.factor = 1.5: expected a number in (0, 1)"])
    XCTAssertEqual(
      ScheduleSpec(kind: .reduceOnPlateau, settings: ["threshold_mode": .word("relative")]).problems(),
      ["schedule.threshold_mode = relative: expected one of rel, abs"])
    XCTAssertEqual(ScheduleSpec(kind: .step, settings: ["step_size": .number(2.5)]).problems().count, 1)
  }
}
