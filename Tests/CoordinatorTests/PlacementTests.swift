import XCTest

@testable import Coordinator
@testable import Wire

/// Where program trials go: only to workers that run programs, within each worker's cores
/// and GPUs, with failed programs retried. A fake clock throughout.
final class PlacementTests: XCTestCase {
  func ready(_ name: String, slots: Int, programs: Bool = false, gpus: Int = 0) -> WorkerMessage {
    .ready(
      Ready(
        worker: name, host: "h", slots: slots, version: "test", programs: programs ? true : nil,
        gpus: gpus > 0 ? gpus : nil))
  }

  func assigned(_ actions: [CoordinatorState.Action]) -> [(String, Int64)] {
    actions.compactMap {
      if case .assign(let peer, let attempt, _) = $0 { return (peer, attempt.trial) } else { return nil }
    }
  }

  func testProgramTrialsGoOnlyToWorkersThatRunPrograms() {
    var state = CoordinatorState()
    state.require(.init(program: true), for: "p")
    _ = state.handle(.trialsAdded(sweep: "p", trials: [1, 2], maxAttempts: 3), now: 0)
    _ = state.handle(.trialsAdded(sweep: "b", trials: [3], maxAttempts: 3), now: 0)
    let plain = state.handle(.message("p1", ready("plain", slots: 4)), now: 0)
    XCTAssertEqual(assigned(plain).map(\.1), [3], "the built-in trial only")
    XCTAssertEqual(
      state.unplaceable(sweep: "p"),
      "waiting for a worker that runs programs (start one with `sweepd worker --allow-programs`)")
    XCTAssertNil(state.unplaceable(sweep: "b"))
    let runner = state.handle(.message("p2", ready("runner", slots: 4, programs: true)), now: 0.1)
    XCTAssertEqual(assigned(runner).map(\.1).sorted(), [1, 2])
    XCTAssertTrue(assigned(runner).allSatisfy { $0.0 == "p2" })
    XCTAssertNil(state.unplaceable(sweep: "p"))
  }

  func testCoresAndGPUsBoundWhatAWorkerTakes() {
    var state = CoordinatorState()
    state.require(.init(program: true, cores: 2, gpus: 1), for: "g")
    _ = state.handle(.trialsAdded(sweep: "g", trials: [1, 2, 3, 4], maxAttempts: 3), now: 0)
    // 8 cores and 2 GPUs: two 2-core 1-GPU trials, not four.
    let first = state.handle(.message("p1", ready("w", slots: 8, programs: true, gpus: 2)), now: 0)
    XCTAssertEqual(assigned(first).map(\.1), [1, 2])
    let done = state.handle(
      .message(
        "p1",
        .done(
          DoneReport(attempt: AttemptID(trial: 1, attempt: 1), status: .completed, epochs: 1, seconds: 0.01))),
      now: 1)
    XCTAssertEqual(assigned(done).map(\.1), [3], "a GPU freed: one more, never queued ahead")
    // A worker without enough GPUs or cores is named.
    var lonely = CoordinatorState()
    lonely.require(.init(program: true, cores: 4, gpus: 2), for: "g")
    _ = lonely.handle(.trialsAdded(sweep: "g", trials: [1], maxAttempts: 3), now: 0)
    _ = lonely.handle(.message("p1", ready("w", slots: 8, programs: true, gpus: 1)), now: 0)
    XCTAssertEqual(
      lonely.unplaceable(sweep: "g"), "waiting for a worker with 2 GPUs (`sweepd worker --gpus`)")
    var small = CoordinatorState()
    small.require(.init(program: true, cores: 4), for: "c")
    _ = small.handle(.trialsAdded(sweep: "c", trials: [1], maxAttempts: 3), now: 0)
    XCTAssertTrue(
      assigned(small.handle(.message("p1", ready("w", slots: 2, programs: true)), now: 0)).isEmpty)
    XCTAssertEqual(
      small.unplaceable(sweep: "c"),
      "waiting for a worker with 4 slots (each trial takes 4 cores; `sweepd worker --slots`)")
  }

  /// A sweep no worker fits waits without holding up the others.
  func testAnUnplaceableSweepDoesNotBlockTheNext() {
    var state = CoordinatorState()
    state.require(.init(program: true, gpus: 1), for: "g")
    _ = state.handle(.trialsAdded(sweep: "g", trials: [1], maxAttempts: 3), now: 0)
    _ = state.handle(.trialsAdded(sweep: "b", trials: [2, 3], maxAttempts: 3), now: 0)
    let actions = state.handle(.message("p1", ready("w", slots: 2, programs: true)), now: 0)
    XCTAssertEqual(assigned(actions).map(\.1), [2, 3])
  }

  /// A retryable failure (a program that exited non-zero) is requeued while attempts are
  /// left; a final one ends the trial.
  func testRetryableFailuresAreRequeuedUntilTheAttemptsRunOut() {
    var state = CoordinatorState()
    state.require(.init(program: true), for: "p")
    _ = state.handle(.trialsAdded(sweep: "p", trials: [1], maxAttempts: 2), now: 0)
    _ = state.handle(.message("p1", ready("w", slots: 1, programs: true)), now: 0)
    func fail(_ attempt: Int, retryable: Bool?) -> [CoordinatorState.Action] {
      state.handle(
        .message(
          "p1",
          .done(
            DoneReport(
              attempt: AttemptID(trial: 1, attempt: attempt), status: .failed, epochs: 0, seconds: 0.1,
              message: "exited with status 3", retryable: retryable))), now: 1)
    }
    let first = fail(1, retryable: true)
    XCTAssertTrue(
      first.contains(
        .persist(
          .requeued(
            lost: AttemptID(trial: 1, attempt: 1), next: AttemptID(trial: 1, attempt: 2),
            reason: "exited with status 3"))), "\(first)")
    XCTAssertEqual(assigned(first).map(\.1), [1], "run again")
    let second = fail(2, retryable: true)
    XCTAssertTrue(
      second.contains {
        if case .persist(.finished(_, let report)) = $0 {
          return report.status == .failed
        } else {
          return false
        }
      },
      "\(second)")
    XCTAssertEqual(state.runningCount, 0)
    XCTAssertEqual(state.pendingCount, 0)
  }

  /// A preempted program (it called `wandb.mark_preempting()` before failing) is requeued
  /// even on its last attempt: preemption does not count.
  func testPreemptionDoesNotUseUpAnAttempt() {
    var state = CoordinatorState()
    state.require(.init(program: true), for: "p")
    _ = state.handle(.trialsAdded(sweep: "p", trials: [1], maxAttempts: 1), now: 0)
    _ = state.handle(.message("p1", ready("w", slots: 1, programs: true)), now: 0)
    let actions = state.handle(
      .message(
        "p1",
        .done(
          DoneReport(
            attempt: AttemptID(trial: 1, attempt: 1), status: .failed, epochs: 1, seconds: 1,
            message: "preempted",
            retryable: true, preempted: true))), now: 1)
    XCTAssertEqual(assigned(actions).map(\.1), [1], "run again: \(actions)")
    XCTAssertEqual(state.runningCount, 1)
  }
}
