import XCTest

@testable import Coordinator
@testable import Wire

/// The coordinator's state machine, driven with a fake clock.
final class CoordinatorStateTests: XCTestCase {
  typealias Action = CoordinatorState.Action

  func ready(_ name: String, slots: Int, running: [AttemptID] = []) -> WorkerMessage {
    .ready(Ready(worker: name, host: "h", slots: slots, version: "test", running: running))
  }

  func assigned(_ actions: [Action]) -> [(String, AttemptID)] {
    actions.compactMap {
      if case .assign(let peer, let attempt, _) = $0 { return (peer, attempt) } else { return nil }
    }
  }

  func done(_ attempt: AttemptID, _ status: DoneReport.Status = .completed) -> WorkerMessage {
    .done(DoneReport(attempt: attempt, status: status, epochs: 3, seconds: 1))
  }

  func testAssignsUpToEachWorkersSlotsAndPersistsFirst() {
    var state = CoordinatorState()
    _ = state.handle(.trialsAdded(sweep: "a", trials: [1, 2, 3, 4, 5], maxAttempts: 3), now: 0)
    let actions = state.handle(.message("p1", ready("w1", slots: 2)), now: 0)
    XCTAssertEqual(
      assigned(actions).map(\.1), [AttemptID(trial: 1, attempt: 1), AttemptID(trial: 2, attempt: 1)])
    // The join is said first (for the log); each assignment is preceded by its persisted
    // transition.
    XCTAssertEqual(actions[0], .joined("p1", name: "w1", host: "h", version: "test", slots: 2))
    XCTAssertEqual(actions[1], .persist(.started(AttemptID(trial: 1, attempt: 1), worker: "w1")))
    XCTAssertEqual(actions[2], .assign("p1", AttemptID(trial: 1, attempt: 1), sweep: "a"))
    let more = state.handle(.message("p2", ready("w2", slots: 1)), now: 0.1)
    XCTAssertEqual(assigned(more).map(\.1), [AttemptID(trial: 3, attempt: 1)])
    XCTAssertEqual(state.pendingCount, 2)
    XCTAssertEqual(state.runningCount, 3)
  }

  func testDoneIsAcknowledgedAndFreesTheSlot() {
    var state = CoordinatorState()
    _ = state.handle(.trialsAdded(sweep: "a", trials: [1, 2], maxAttempts: 3), now: 0)
    _ = state.handle(.message("p1", ready("w1", slots: 1)), now: 0)
    let first = AttemptID(trial: 1, attempt: 1)
    let actions = state.handle(.message("p1", done(first)), now: 5)
    XCTAssertEqual(
      actions[0],
      .persist(.finished(first, DoneReport(attempt: first, status: .completed, epochs: 3, seconds: 1))))
    XCTAssertEqual(actions[1], .acknowledge("p1", first))
    XCTAssertEqual(assigned(actions).map(\.1), [AttemptID(trial: 2, attempt: 1)])
    // The same DONE again (a resend): acknowledged, nothing else.
    XCTAssertEqual(state.handle(.message("p1", done(first)), now: 6), [.acknowledge("p1", first)])
  }

  /// Short trials (moving average under 50 ms) earn each worker one queued trial per slot;
  /// when trials get long again the queue is no longer refilled.
  func testShortTrialsArePrefetchedOnePerSlot() {
    var state = CoordinatorState()
    _ = state.handle(.trialsAdded(sweep: "a", trials: Array(1...20), maxAttempts: 3), now: 0)
    XCTAssertEqual(assigned(state.handle(.message("p1", ready("w1", slots: 2)), now: 0)).count, 2)
    XCTAssertNil(state.typicalTrialSeconds)
    let short = DoneReport(
      attempt: AttemptID(trial: 1, attempt: 1), status: .completed, epochs: 1, seconds: 0.001)
    let afterShort = state.handle(.message("p1", .done(short)), now: 0.01)
    XCTAssertEqual(state.typicalTrialSeconds, 0.001)
    XCTAssertEqual(assigned(afterShort).map(\.1.trial), [3, 4, 5], "one replaces trial 1, two are queued")
    XCTAssertEqual(state.workers["p1"]?.running.count, 4)
    // Long trials: the moving average passes 50 ms and the queue is not refilled.
    var now = 0.02
    for trial in Int64(2)...5 {
      let long = DoneReport(
        attempt: AttemptID(trial: trial, attempt: 1), status: .completed, epochs: 1, seconds: 2)
      now += 0.01
      _ = state.handle(.message("p1", .done(long)), now: now)
    }
    XCTAssertGreaterThan(state.typicalTrialSeconds!, 0.05)
    XCTAssertEqual(state.workers["p1"]?.running.count, 2, "back to one trial per slot")
  }

  /// A stopping policy's decision reaches the worker running the current attempt, and only
  /// a running trial.
  func testStopTrialGoesToItsWorker() {
    var state = CoordinatorState()
    _ = state.handle(.trialsAdded(sweep: "a", trials: [1, 2], maxAttempts: 3), now: 0)
    _ = state.handle(.message("p1", ready("w1", slots: 1)), now: 0)
    XCTAssertEqual(
      state.handle(.stopTrial(1, reason: "median rule"), now: 1),
      [.stop("p1", AttemptID(trial: 1, attempt: 1), reason: "median rule")])
    XCTAssertEqual(state.handle(.stopTrial(2, reason: "median rule"), now: 1), [], "trial 2 is pending")
  }

  func testSweepsShareSlotsInTurn() {
    var state = CoordinatorState()
    _ = state.handle(.trialsAdded(sweep: "a", trials: [1, 2, 3], maxAttempts: 3), now: 0)
    _ = state.handle(.trialsAdded(sweep: "b", trials: [10, 11, 12], maxAttempts: 3), now: 0)
    let actions = state.handle(.message("p1", ready("w1", slots: 4)), now: 0)
    XCTAssertEqual(assigned(actions).map(\.1.trial), [1, 10, 2, 11])
  }

  /// A worker silent for 3 intervals is dead: its attempts go back as attempt + 1 and run
  /// elsewhere; late messages from the old attempt change nothing.
  func testSilentWorkerIsExpiredAndItsTrialsRetried() {
    var state = CoordinatorState()
    _ = state.handle(.trialsAdded(sweep: "a", trials: [1], maxAttempts: 3), now: 0)
    _ = state.handle(.message("p1", ready("w1", slots: 1)), now: 0)
    _ = state.handle(.message("p2", ready("w2", slots: 1)), now: 0)
    XCTAssertEqual(
      state.handle(.tick, now: 2.9).filter { if case .persist = $0 { return true } else { return false } }, []
    )
    _ = state.handle(.message("p2", .heartbeat), now: 2.9)
    let actions = state.handle(.tick, now: 3.5)
    let lost = AttemptID(trial: 1, attempt: 1), next = AttemptID(trial: 1, attempt: 2)
    XCTAssertTrue(
      actions.contains(.persist(.requeued(lost: lost, next: next, reason: "worker w1 silent for 3.5 s"))),
      "\(actions)")
    XCTAssertEqual(assigned(actions).map { $0.0 }, ["p2"])
    XCTAssertEqual(assigned(actions).map(\.1), [next])
    XCTAssertEqual(state.workerCount, 1)
    // The dead worker's late METRIC and DONE: it must READY again; nothing is recorded.
    let late = state.handle(
      .message("p1", .metric(MetricReport(attempt: lost, epoch: 2, values: ["val_loss": 1]))), now: 4)
    XCTAssertEqual(late, [.disconnect("p1", reason: "unknown worker: send READY first")])
    // A stale attempt from a live worker is ignored too.
    XCTAssertEqual(
      state.handle(.message("p2", .metric(MetricReport(attempt: lost, epoch: 2, values: [:]))), now: 4), [])
    XCTAssertEqual(
      state.handle(.message("p2", .metric(MetricReport(attempt: next, epoch: 1, values: [:]))), now: 4),
      [.recordMetric(MetricReport(attempt: next, epoch: 1, values: [:]))])
  }

  func testTrialFailsAfterMaxAttempts() {
    var state = CoordinatorState()
    _ = state.handle(.trialsAdded(sweep: "a", trials: [1], maxAttempts: 2), now: 0)
    var now = 0.0
    var persisted: [CoordinatorState.Transition] = []
    for round in 1...3 {
      let actions = state.handle(.message("p\(round)", ready("w\(round)", slots: 1)), now: now)
      persisted += actions.compactMap { if case .persist(let t) = $0 { return t } else { return nil } }
      now += 10
      persisted += state.handle(.tick, now: now).compactMap {
        if case .persist(let t) = $0 { return t } else { return nil }
      }
    }
    XCTAssertEqual(
      persisted.last,
      .failed(AttemptID(trial: 1, attempt: 2), reason: "worker w2 silent for 10.0 s; 2 of 2 attempts used"))
    XCTAssertEqual(state.pendingCount, 0)
    XCTAssertEqual(state.runningCount, 0)
  }

  func testHeartbeatsGoToIdleWorkersEachInterval() {
    var state = CoordinatorState()
    _ = state.handle(.message("p1", ready("w1", slots: 1)), now: 0)
    XCTAssertEqual(state.handle(.tick, now: 0.5), [])
    XCTAssertEqual(state.handle(.tick, now: 1.0), [.heartbeat("p1")])
    XCTAssertEqual(state.handle(.tick, now: 1.5), [])
  }

  /// A worker that reconnects (new routing id, same name) keeps the attempts it still runs.
  func testReconnectKeepsClaimedAttempts() {
    var state = CoordinatorState()
    _ = state.handle(.trialsAdded(sweep: "a", trials: [1, 2], maxAttempts: 3), now: 0)
    _ = state.handle(.message("old", ready("w1", slots: 2)), now: 0)
    let one = AttemptID(trial: 1, attempt: 1), two = AttemptID(trial: 2, attempt: 1)
    let actions = state.handle(.message("new", ready("w1", slots: 2, running: [one])), now: 1)
    // Trial 2 was not claimed: requeued and reassigned (to the same worker, now "new").
    XCTAssertTrue(
      actions.contains(
        .persist(.requeued(lost: two, next: AttemptID(trial: 2, attempt: 2), reason: "worker w1 reconnected"))
      ))
    XCTAssertEqual(assigned(actions).map(\.1), [AttemptID(trial: 2, attempt: 2)])
    XCTAssertEqual(
      state.handle(.message("new", .metric(MetricReport(attempt: one, epoch: 1, values: [:]))), now: 2),
      [.recordMetric(MetricReport(attempt: one, epoch: 1, values: [:]))])
  }

  func testCancelStopsRunningAndDropsPending() {
    var state = CoordinatorState()
    _ = state.handle(.trialsAdded(sweep: "a", trials: [1, 2, 3], maxAttempts: 3), now: 0)
    _ = state.handle(.message("p1", ready("w1", slots: 1)), now: 0)
    let actions = state.handle(.cancel(sweep: "a"), now: 1)
    XCTAssertTrue(actions.contains(.stop("p1", AttemptID(trial: 1, attempt: 1), reason: "sweep a cancelled")))
    XCTAssertEqual(
      Set(
        actions.compactMap { action -> Int64? in
          if case .persist(.cancelled(let id, _)) = action { return id } else { return nil }
        }), [1, 2, 3] as Set<Int64>)
    XCTAssertEqual(state.pendingCount + state.runningCount, 0)
  }

  /// After a restart, running attempts wait one liveness period for their worker.
  func testRecoveryReLeasesOrRequeues() {
    var state = CoordinatorState()
    state.recover(
      pending: [(trial: 3, sweep: "a", attempt: 1, maxAttempts: 3)],
      running: [
        (trial: 1, sweep: "a", attempt: 1, maxAttempts: 3),
        (trial: 2, sweep: "a", attempt: 2, maxAttempts: 3),
      ],
      now: 100)
    // w1 comes back still running trial 1; trial 3 is pending and gets its slot.
    let back = state.handle(
      .message("p1", ready("w1", slots: 2, running: [AttemptID(trial: 1, attempt: 1)])), now: 101)
    XCTAssertEqual(assigned(back).map(\.1), [AttemptID(trial: 3, attempt: 2)])
    // Trial 2's worker never returns: requeued after the lease.
    let later = state.handle(.tick, now: 104)
    XCTAssertTrue(
      later.contains(
        .persist(
          .requeued(
            lost: AttemptID(trial: 2, attempt: 2), next: AttemptID(trial: 2, attempt: 3),
            reason: "its worker did not come back after a restart"))),
      "\(later)")
  }

  func testUnknownPeersMustSayReadyFirst() {
    var state = CoordinatorState()
    XCTAssertEqual(
      state.handle(.message("x", .heartbeat), now: 0),
      [.disconnect("x", reason: "unknown worker: send READY first")])
  }
}

extension CoordinatorStateTests {
  /// A handed-back attempt is retried without using up an attempt.
  func testHandBackDoesNotCountAgainstMaxAttempts() {
    var state = CoordinatorState()
    _ = state.handle(.trialsAdded(sweep: "a", trials: [1], maxAttempts: 1), now: 0)
    _ = state.handle(.message("p1", ready("w1", slots: 1)), now: 0)
    let first = AttemptID(trial: 1, attempt: 1)
    let actions = state.handle(.message("p1", .handBack([first])), now: 1)
    XCTAssertTrue(
      actions.contains(
        .persist(.requeued(lost: first, next: AttemptID(trial: 1, attempt: 2), reason: "handed back by w1"))),
      "\(actions)")
    XCTAssertTrue(assigned(actions).isEmpty, "not back to the worker that handed it back at once")
    XCTAssertEqual(
      assigned(state.handle(.tick, now: 2.1)).map(\.1), [AttemptID(trial: 1, attempt: 2)],
      "after a heartbeat interval it may take it again")
  }

  /// A draining worker (SIGTERM; it says DRAINING) takes nothing new: what it hands back
  /// goes to another worker, or waits — never back and forth (the defect: a 2-slot worker
  /// stopped by systemd got the same trial back hundreds of times a second, attempt 702).
  func testADrainingWorkerGetsNothingNew() {
    var state = CoordinatorState()
    _ = state.handle(.trialsAdded(sweep: "a", trials: [1, 2, 3], maxAttempts: 3), now: 0)
    let first = state.handle(.message("p1", ready("w1", slots: 2)), now: 0)
    XCTAssertEqual(assigned(first).count, 2)
    XCTAssertEqual(state.handle(.message("p1", .draining), now: 1), [.draining("p1", name: "w1", running: 2)])
    XCTAssertEqual(state.handle(.message("p1", .draining), now: 1), [], "said once")
    var sent: [(String, AttemptID)] = []
    var now = 1.0
    while now < 30 {
      now += 0.1
      sent += assigned(state.handle(.tick, now: now))
      _ = state.handle(.message("p1", .heartbeat), now: now)
    }
    XCTAssertTrue(sent.isEmpty, "a draining worker was given \(sent)")
    // Its running trials finish there; the trial it never started goes to the next worker.
    let running = state.trials.filter { $0.value.running }.map(\.key).sorted()
    XCTAssertEqual(running.count, 2)
    let other = assigned(state.handle(.message("p2", ready("w2", slots: 1)), now: now))
    XCTAssertEqual(other.map(\.0), ["p2"])
    XCTAssertEqual(state.trials[3]?.attempt, 1, "no attempt was used up on the draining worker")
    for id in running {
      _ = state.handle(.message("p1", done(AttemptID(trial: id, attempt: 1))), now: now)
    }
    XCTAssertEqual(state.trials.count, 1)
  }

  func metric(_ attempt: AttemptID, _ epoch: Int) -> WorkerMessage {
    .metric(MetricReport(attempt: attempt, epoch: epoch, values: ["val_loss": 1]))
  }

  func disconnected(_ actions: [Action]) -> [String] {
    actions.compactMap { if case .disconnect(let peer, _) = $0 { return peer } else { return nil } }
  }

  /// A worker that keeps sending what does not decode, or messages about a trial another
  /// worker holds, is disconnected at the offence limit and its attempts requeued; the
  /// other worker keeps its trial.
  func testMisbehavingWorkersAreDisconnectedAndTheirLeasesRequeued() {
    var settings = CoordinatorState.Settings()
    settings.offenceLimit = 3
    for kind in ["garbage", "claims", "flood"] {
      var state = CoordinatorState(settings: settings)
      _ = state.handle(.trialsAdded(sweep: "a", trials: [1, 2, 3], maxAttempts: 3), now: 0)
      _ = state.handle(.message("good", ready("good", slots: 1)), now: 0)
      _ = state.handle(.message("bad", ready("bad", slots: 1)), now: 0)
      let goods = AttemptID(trial: 1, attempt: 1), bads = AttemptID(trial: 2, attempt: 1)
      var last: [Action] = []
      if kind == "flood" {
        // An epoch and one resend of it are fine; every further copy is an offence.
        XCTAssertEqual(disconnected(state.handle(.message("bad", metric(bads, 1)), now: 0.5)), [])
        XCTAssertEqual(disconnected(state.handle(.message("bad", metric(bads, 1)), now: 0.5)), [])
      }
      for round in 1...3 {
        switch kind {
        case "garbage": last = state.handle(.malformed("bad", reason: "frame count 7"), now: Double(round))
        case "claims": last = state.handle(.message("bad", metric(goods, round)), now: Double(round))
        default: last = state.handle(.message("bad", metric(bads, 1)), now: Double(round))
        }
        if round < 3 { XCTAssertEqual(disconnected(last), [], kind) }
      }
      XCTAssertEqual(disconnected(last), ["bad"], kind)
      XCTAssertTrue(
        last.contains {
          if case .persist(.requeued(let lost, _, _)) = $0 { return lost == bads } else { return false }
        }, "\(kind): \(last)")
      // The good worker is untouched: its trial is still current, its epochs are recorded.
      XCTAssertEqual(
        state.handle(.message("good", metric(goods, 1)), now: 5),
        [.recordMetric(MetricReport(attempt: goods, epoch: 1, values: ["val_loss": 1]))], kind)
      // The bad worker's further messages are refused until it says READY again.
      XCTAssertEqual(disconnected(state.handle(.message("bad", metric(bads, 2)), now: 6)), ["bad"], kind)
    }
  }

  /// What a well-behaved worker does is never an offence: one resend of every epoch after
  /// each reconnect, and messages about attempts that were requeued behind its back.
  func testResendsAndStaleMessagesAreNotOffences() {
    var settings = CoordinatorState.Settings()
    settings.offenceLimit = 1
    var state = CoordinatorState(settings: settings)
    _ = state.handle(.trialsAdded(sweep: "a", trials: [1], maxAttempts: 3), now: 0)
    _ = state.handle(.message("p1", ready("w1", slots: 1)), now: 0)
    let attempt = AttemptID(trial: 1, attempt: 1)
    for epoch in 1...4 { _ = state.handle(.message("p1", metric(attempt, epoch)), now: 1) }
    for reconnect in 2...4 {
      let peer = "p\(reconnect)"
      _ = state.handle(.message(peer, ready("w1", slots: 1, running: [attempt])), now: Double(reconnect))
      for epoch in 1...4 {
        XCTAssertEqual(
          disconnected(state.handle(.message(peer, metric(attempt, epoch)), now: Double(reconnect))), [])
      }
    }
    // Silent past the liveness limit: requeued as attempt 2 elsewhere; the old attempt's late
    // messages are stale, not offences.
    _ = state.handle(.tick, now: 20)
    _ = state.handle(.message("q", ready("w2", slots: 1)), now: 20)
    XCTAssertEqual(state.handle(.message("q", metric(attempt, 5)), now: 20), [])
  }

  /// An ASSIGN lost with a connection the same worker process replaced is not a failed
  /// attempt: however often it reconnects, the trial is not failed for it. A restarted
  /// process (another session) did lose what it ran: that counts.
  func testAssignmentsLostInAReconnectDoNotUseUpAttempts() {
    func session(_ id: String, _ peer: String) -> WorkerMessage {
      .ready(Ready(worker: "w1", host: "h", slots: 1, version: "t", session: id))
    }
    var state = CoordinatorState()
    _ = state.handle(.trialsAdded(sweep: "a", trials: [1], maxAttempts: 2), now: 0)
    _ = state.handle(.message("p0", session("s1", "p0")), now: 0)
    for reconnect in 1...5 {
      let actions = state.handle(
        .message("p\(reconnect)", session("s1", "p\(reconnect)")), now: Double(reconnect))
      XCTAssertFalse(
        actions.contains { if case .persist(.failed) = $0 { true } else { false } }, "\(actions)")
      XCTAssertEqual(assigned(actions).map(\.1.trial), [1], "reassigned to the new connection")
    }
    let restarted = state.handle(.message("q1", session("s2", "q1")), now: 10)
    let again = state.handle(.message("q2", session("s3", "q2")), now: 11)
    XCTAssertTrue(
      (restarted + again).contains { if case .persist(.failed) = $0 { true } else { false } },
      "a restarted process's lost attempts count: \(restarted + again)")
  }
}
