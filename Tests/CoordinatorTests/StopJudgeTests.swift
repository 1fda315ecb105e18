import Stopping
import XCTest

@testable import Coordinator

/// The stopping judge, pure: epochs in any order, decisions out.
final class StopJudgeTests: XCTestCase {
  /// Plateau: patience 2 epochs, no minimum.
  let plateau = StoppingPolicy(
    .plateau(patience: 2, minDelta: 0, relative: false, minEpochs: 1, restoreBest: false), goal: .minimize,
    epochs: 20)
  /// ASHA with rungs at epochs 1 and 3 (η = 3, 9 epochs): a trial continues at a rung only
  /// if it is in the top third of the trials that reached it, running ones included.
  let asha = StoppingPolicy(.asha(minEpochs: 1, maxEpochs: 9, eta: 3), goal: .minimize, epochs: 9)

  func judge(_ policy: StoppingPolicy, lag: Int? = nil) -> StopJudge {
    var judge = StopJudge()
    judge.add(sweep: "s", policy: policy, lag: lag)
    return judge
  }

  /// The curve 0.5, 0.4, 0.45, 0.46, … plateaus at epoch 4 (two epochs without a better
  /// value): in order, out of order, with duplicates, the same single decision.
  func testOutOfOrderAndDuplicateEpochsGiveTheSameDecisionOnce() {
    let values = [0.5, 0.4, 0.45, 0.46, 0.47, 0.48]
    var inOrder = judge(plateau)
    inOrder.begin(trial: 1, sweep: "s", index: 0)
    var decisions: [StopJudge.Decision] = []
    for (offset, value) in values.enumerated() {
      decisions += inOrder.epoch(trial: 1, epoch: offset + 1, value: value)
    }
    XCTAssertEqual(decisions.map(\.epoch), [4])

    var shuffled = judge(plateau)
    shuffled.begin(trial: 1, sweep: "s", index: 0)
    var late: [StopJudge.Decision] = []
    for epoch in [1, 3, 3, 5, 2, 2, 1, 6, 4, 4, 6] {
      late += shuffled.epoch(trial: 1, epoch: epoch, value: values[epoch - 1])
    }
    XCTAssertEqual(late, decisions, "the gap at epoch 2 and 4 is filled late; each epoch judged once")
    XCTAssertEqual(shuffled.stopReason(of: 1), decisions.first?.reason)
  }

  /// Epochs after a gap wait: nothing is judged until the gap is filled.
  func testEpochsAfterAGapWaitForIt() {
    var judge = judge(plateau)
    judge.begin(trial: 1, sweep: "s", index: 0)
    XCTAssertEqual(judge.epoch(trial: 1, epoch: 1, value: 0.5), [])
    for epoch in 3...6 { XCTAssertEqual(judge.epoch(trial: 1, epoch: epoch, value: 0.9), []) }
    let decisions = judge.epoch(trial: 1, epoch: 2, value: 0.9)
    XCTAssertEqual(decisions.map(\.epoch), [3], "epochs 2…6 judged in order once epoch 2 came")
    XCTAssertEqual(judge.end(trial: 1)?.curve, [0.5, 0.9, 0.9, 0.9, 0.9, 0.9])
  }

  /// A running peer that fails (or is cancelled, or requeued) leaves the peer set at once:
  /// its curve no longer ranks the others at a rung.
  func testAbandonedTrialsLeaveThePeerSet() {
    for abandonment in ["failed", "cancelled"] {
      var judge = judge(asha)
      judge.begin(trial: 1, sweep: "s", index: 0)
      judge.begin(trial: 2, sweep: "s", index: 1)
      XCTAssertEqual(judge.epoch(trial: 2, epoch: 1, value: 0.1), [], "alone at the rung: continues")
      judge.abandon(trial: 2)
      XCTAssertEqual(
        judge.epoch(trial: 1, epoch: 1, value: 0.9), [], "\(abandonment): trial 2 is no longer a peer")
      XCTAssertEqual(judge.watchedCount, 1)
    }
    // While trial 2 runs it is a peer, and trial 1 is stopped at the rung.
    var judge = judge(asha)
    judge.begin(trial: 1, sweep: "s", index: 0)
    judge.begin(trial: 2, sweep: "s", index: 1)
    _ = judge.epoch(trial: 2, epoch: 1, value: 0.1)
    XCTAssertEqual(judge.epoch(trial: 1, epoch: 1, value: 0.9).map(\.trial), [1])
  }

  /// Finished trials count as peers when the policy counts them, and deterministic mode
  /// shows trial k only the finished trials with index < k − L (never running ones).
  func testDeterministicPeersAreTheVisibleFinishedTrials() {
    var judge = judge(asha, lag: 1)
    judge.finished(sweep: "s", index: 0, curve: [0.1, 0.1, 0.1], earlyStopped: false)
    judge.begin(trial: 11, sweep: "s", index: 1)
    judge.begin(trial: 12, sweep: "s", index: 2)
    judge.begin(trial: 13, sweep: "s", index: 3)
    _ = judge.epoch(trial: 13, epoch: 1, value: 0.0)
    // Trial index 1 sees indices < 0: nobody. Trial index 2 sees index 0 (0.1 beats 0.5).
    XCTAssertEqual(judge.epoch(trial: 11, epoch: 1, value: 0.5), [])
    let stopped = judge.epoch(trial: 12, epoch: 1, value: 0.5)
    XCTAssertEqual(stopped.map(\.trial), [12])
    // Deterministic: the ending carries the decision epoch, where the result is cut.
    _ = judge.epoch(trial: 12, epoch: 2, value: 0.4)
    XCTAssertEqual(judge.end(trial: 12)?.stopEpoch, 1)
    XCTAssertNil(judge.end(trial: 12), "an ended trial is forgotten")
  }

  /// Recovery re-derives a deterministic decision from the stored curve, and keeps a
  /// timing-dependent one from its stored event.
  func testRestoreRebuildsCurvesAndDecisions() {
    var deterministic = judge(plateau, lag: 0)
    deterministic.restore(
      trial: 1, sweep: "s", index: 0, epochs: [1: 0.5, 2: 0.6, 3: 0.7, 5: 0.1], storedStop: nil)
    XCTAssertNotNil(deterministic.stopReason(of: 1))
    XCTAssertEqual(deterministic.end(trial: 1)?.stopEpoch, 3)
    var timed = judge(plateau)
    timed.restore(trial: 1, sweep: "s", index: 0, epochs: [1: 0.5, 3: 0.1], storedStop: "stored reason")
    XCTAssertEqual(timed.stopReason(of: 1), "stored reason")
    XCTAssertEqual(timed.epoch(trial: 1, epoch: 2, value: 0.4), [], "decided already: no second decision")
    XCTAssertEqual(timed.end(trial: 1)?.curve, [0.5, 0.4, 0.1])
  }
}
