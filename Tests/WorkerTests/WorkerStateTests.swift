import XCTest

@testable import Training
@testable import Wire
@testable import Worker

/// The worker's state machine, driven with a fake clock.
final class WorkerStateTests: XCTestCase {
  func assignment(_ trial: Int64, attempt: Int = 1) -> Assignment {
    Assignment(attempt: AttemptID(trial: trial, attempt: attempt), sweep: "s", spec: SpecJSON("{}"))
  }

  func done(_ trial: Int64) -> DoneReport {
    DoneReport(attempt: AttemptID(trial: trial, attempt: 1), status: .completed, epochs: 2, seconds: 1)
  }

  func started() -> WorkerState {
    var worker = WorkerState(name: "w1", host: "h", slots: 2, version: "test")
    XCTAssertEqual(
      worker.handle(.start, now: 0),
      [.connect, .send(.ready(Ready(worker: "w1", host: "h", slots: 2, version: "test")))])
    return worker
  }

  /// Two slots hold up to four trials: two training, one queued behind each.
  func testHoldsTwoTrialsPerSlotAndHandsBackTheRest() {
    var worker = started()
    for trial in Int64(1)...4 {
      XCTAssertEqual(
        worker.handle(.received(.assign(assignment(trial))), now: 0.1), [.startTrial(assignment(trial))])
    }
    XCTAssertEqual(worker.queued.map(\.trial), [1, 2, 3, 4])
    XCTAssertEqual(
      worker.handle(.received(.assign(assignment(5))), now: 0.1),
      [.send(.handBack([AttemptID(trial: 5, attempt: 1)]))])
    // A repeated ASSIGN of a held attempt is ignored.
    XCTAssertEqual(worker.handle(.received(.assign(assignment(1))), now: 0.2), [])
    // Slots take trials 1 and 2; 3 and 4 stay queued.
    _ = worker.handle(.began(AttemptID(trial: 1, attempt: 1)), now: 0.3)
    _ = worker.handle(.began(AttemptID(trial: 2, attempt: 1)), now: 0.3)
    XCTAssertEqual(worker.queued.map(\.trial), [3, 4])
    XCTAssertEqual(worker.running.count, 4)
  }

  /// A STOP for a queued trial ends it at once with a DONE of 0 epochs (no slot trains it).
  func testStopOfAQueuedTrialIsDoneAtOnce() {
    var worker = started()
    _ = worker.handle(.received(.assign(assignment(1))), now: 0)
    let attempt = AttemptID(trial: 1, attempt: 1)
    let stopped = DoneReport(attempt: attempt, status: .stopped, epochs: 0, seconds: 0)
    XCTAssertEqual(
      worker.handle(.received(.stop(StopOrder(attempt: attempt, reason: "cancelled"))), now: 1),
      [.stopTrial(attempt, reason: "cancelled"), .send(.done(stopped))])
    XCTAssertTrue(worker.running.isEmpty)
    XCTAssertTrue(worker.queued.isEmpty)
    // The slot that later skips it reports a finish the machine no longer expects.
    XCTAssertEqual(worker.handle(.finished(done(1)), now: 1.1), [])
  }

  func testMetricsStreamAndDoneIsResentUntilAcknowledged() {
    var worker = started()
    _ = worker.handle(.received(.assign(assignment(1))), now: 0)
    let metric = MetricReport(attempt: AttemptID(trial: 1, attempt: 1), epoch: 1, values: ["val_loss": 0.5])
    XCTAssertEqual(worker.handle(.epoch(metric), now: 0.5), [.send(.metric(metric))])
    XCTAssertEqual(worker.handle(.finished(done(1)), now: 1), [.send(.done(done(1)))])
    _ = worker.handle(.received(.heartbeat), now: 2)
    XCTAssertEqual(worker.handle(.tick, now: 3.5), [.send(.heartbeat)], "not yet: sent 2.5 s ago")
    XCTAssertEqual(worker.handle(.tick, now: 4.1), [.send(.done(done(1)))], "resent after 3 s without ACK")
    _ = worker.handle(.received(.acknowledge(AttemptID(trial: 1, attempt: 1))), now: 4.2)
    XCTAssertEqual(worker.handle(.tick, now: 6), [.send(.heartbeat)], "acknowledged: only a heartbeat")
    // Metrics of an attempt it no longer runs are dropped.
    XCTAssertEqual(worker.handle(.epoch(metric), now: 6.1), [])
  }

  func testStopReachesTheRunningTrialOnly() {
    var worker = started()
    _ = worker.handle(.received(.assign(assignment(1))), now: 0)
    _ = worker.handle(.began(AttemptID(trial: 1, attempt: 1)), now: 0)
    XCTAssertEqual(
      worker.handle(
        .received(.stop(StopOrder(attempt: AttemptID(trial: 1, attempt: 1), reason: "plateau"))), now: 1),
      [.stopTrial(AttemptID(trial: 1, attempt: 1), reason: "plateau")])
    XCTAssertEqual(
      worker.handle(
        .received(.stop(StopOrder(attempt: AttemptID(trial: 9, attempt: 1), reason: "x"))), now: 1), [])
  }

  /// A silent coordinator: reconnect with READY listing the running attempts and resend
  /// unacknowledged results, backing off 1, 2, 4 … s between tries.
  func testReconnectsWithBackoffAndResends() {
    var worker = started()
    _ = worker.handle(.received(.assign(assignment(1))), now: 0)
    _ = worker.handle(.received(.assign(assignment(2))), now: 0)
    _ = worker.handle(.finished(done(2)), now: 1)
    XCTAssertEqual(worker.handle(.tick, now: 2.5).filter { $0 == .connect }, [])
    // READY claims the running attempt and the finished one whose DONE is unacknowledged.
    let ready = WorkerMessage.ready(
      Ready(
        worker: "w1", host: "h", slots: 2, version: "test",
        running: [AttemptID(trial: 1, attempt: 1), AttemptID(trial: 2, attempt: 1)]))
    XCTAssertEqual(worker.handle(.tick, now: 3.1), [.connect, .send(ready), .send(.done(done(2)))])
    var reconnects: [Double] = [3.1]
    var now = 3.1
    while now < 60 {
      now += 0.25
      if worker.handle(.tick, now: now).contains(.connect) { reconnects.append(now) }
    }
    let gaps = zip(reconnects, reconnects.dropFirst()).map { ($1 - $0).rounded() }
    XCTAssertEqual(Array(gaps.prefix(5)), [3, 3, 4, 8, 16], "\(reconnects)")
    // Any message from the coordinator resets the backoff.
    _ = worker.handle(.received(.heartbeat), now: now)
    XCTAssertFalse(worker.handle(.tick, now: now + 1).contains(.connect))
  }

  /// Epochs sent while the coordinator was away are lost with the old connection: after a
  /// reconnect the epochs of every attempt whose DONE is not acknowledged are sent again,
  /// right after READY (which claims those attempts), in order, before the DONEs; an
  /// acknowledged attempt's are forgotten.
  func testReconnectResendsTheRunningTrialsEpochs() {
    var worker = started()
    _ = worker.handle(.received(.assign(assignment(1))), now: 0)
    _ = worker.handle(.received(.assign(assignment(2))), now: 0)
    let first = AttemptID(trial: 1, attempt: 1), second = AttemptID(trial: 2, attempt: 1)
    let epochs = (1...3).map { MetricReport(attempt: first, epoch: $0, values: ["val_loss": Double($0)]) }
    for epoch in epochs { _ = worker.handle(.epoch(epoch), now: 0.5) }
    _ = worker.handle(.epoch(MetricReport(attempt: second, epoch: 1, values: [:])), now: 0.5)
    _ = worker.handle(.finished(done(2)), now: 1)
    let ready = WorkerMessage.ready(
      Ready(worker: "w1", host: "h", slots: 2, version: "test", running: [first, second]))
    let secondEpoch = MetricReport(attempt: second, epoch: 1, values: [:])
    XCTAssertEqual(
      worker.handle(.received(.disconnect("restarting")), now: 2),
      [.connect, .send(ready)] + epochs.map { .send(.metric($0)) } + [
        .send(.metric(secondEpoch)), .send(.done(done(2))),
      ])
    _ = worker.handle(.received(.acknowledge(second)), now: 3)
    XCTAssertEqual(
      worker.handle(.received(.disconnect("again")), now: 4),
      [.connect, .send(.ready(Ready(worker: "w1", host: "h", slots: 2, version: "test", running: [first])))]
        + epochs.map { .send(.metric($0)) })
  }

  func testGracefulThenImmediateShutdown() {
    var worker = started()
    _ = worker.handle(.received(.assign(assignment(1))), now: 0)
    _ = worker.handle(.received(.assign(assignment(3))), now: 0)
    _ = worker.handle(.began(AttemptID(trial: 1, attempt: 1)), now: 0.1)
    let queued = AttemptID(trial: 3, attempt: 1)
    XCTAssertEqual(
      worker.handle(.shutdown, now: 1),
      [.send(.draining), .stopTrial(queued, reason: "worker shutting down"), .send(.handBack([queued]))],
      "first request: hand back what is queued, finish what runs")
    XCTAssertEqual(
      worker.handle(.received(.assign(assignment(2))), now: 1.1),
      [.send(.handBack([AttemptID(trial: 2, attempt: 1)]))])
    XCTAssertEqual(worker.handle(.finished(done(1)), now: 2), [.send(.done(done(1)))])
    XCTAssertEqual(
      worker.handle(.received(.acknowledge(AttemptID(trial: 1, attempt: 1))), now: 2.1), [.send(.bye), .exit])

    var impatient = started()
    _ = impatient.handle(.received(.assign(assignment(5))), now: 0)
    _ = impatient.handle(.began(AttemptID(trial: 5, attempt: 1)), now: 0)
    XCTAssertEqual(impatient.handle(.shutdown, now: 1), [.send(.draining)])
    let attempt = AttemptID(trial: 5, attempt: 1)
    XCTAssertEqual(
      impatient.handle(.shutdown, now: 1.5),
      [.stopTrial(attempt, reason: "worker shutting down"), .send(.handBack([attempt])), .send(.bye), .exit])
  }

  /// A draining worker tells the coordinator first (DRAINING, again on a new connection),
  /// lets its running trial finish within the grace, and past the grace hands it back and
  /// leaves.
  func testDrainingIsSaidAndEndsAtTheGrace() {
    var settings = WorkerState.Settings()
    settings.drainGrace = 10
    var worker = WorkerState(name: "w1", host: "h", slots: 2, version: "test", settings: settings)
    _ = worker.handle(.start, now: 0)
    _ = worker.handle(.received(.assign(assignment(1))), now: 0)
    _ = worker.handle(.began(AttemptID(trial: 1, attempt: 1)), now: 0)
    XCTAssertEqual(worker.handle(.shutdown, now: 1), [.send(.draining)])
    // The link drops and comes back: the new connection hears DRAINING right after READY.
    _ = worker.handle(.received(.heartbeat), now: 5)
    let reconnect = worker.handle(.tick, now: 9)
    XCTAssertEqual(Array(reconnect.prefix(3)).last, .send(.draining), "\(reconnect)")
    _ = worker.handle(.received(.heartbeat), now: 9)
    // Within the grace the trial runs on; at the grace it is handed back and the worker leaves.
    XCTAssertFalse(worker.handle(.tick, now: 10.9).contains(.exit))
    let attempt = AttemptID(trial: 1, attempt: 1)
    let atGrace = worker.handle(.tick, now: 11)
    XCTAssertEqual(
      atGrace, [.stopTrial(attempt, reason: "worker shutting down"), .send(.handBack([attempt])), .send(.bye), .exit])
  }
}
