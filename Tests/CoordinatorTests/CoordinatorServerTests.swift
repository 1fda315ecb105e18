import Foundation
import Synchronization
import XCTest
import ZMQ

@testable import Coordinator
@testable import Store
@testable import Wire

/// The coordinator's I/O loop on loopback, with a scripted worker and client on real
/// ZeroMQ sockets and a real store.
final class CoordinatorServerTests: XCTestCase {
  var directory: URL!

  override func setUpWithError() throws {
    directory = FileManager.default.temporaryDirectory.appendingPathComponent(
      "sweepd-server-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
  }

  override func tearDownWithError() throws {
    try? FileManager.default.removeItem(at: directory)
  }

  /// A coordinator serving on its own thread until `stop`.
  final class Running: @unchecked Sendable {
    let server: CoordinatorServer
    let done = DispatchSemaphore(value: 0)

    init(bind: String, store: Store, configure: (CoordinatorServer) -> Void = { _ in }) throws {
      server = try CoordinatorServer(bind: bind, store: store)
      configure(server)
      Thread { [server, done] in
        try? server.run()
        done.signal()
      }.start()
    }

    func stop() {
      server.stop()
      done.wait()
    }
  }

  func receive(_ socket: ZMQSocket, seconds: Int = 10) throws -> [[UInt8]] {
    guard try ZMQPoller.readable([socket], timeoutMilliseconds: seconds * 1000)[0],
      let message = try socket.receive()
    else {
      // A coordinator that goes silent is a failure, never a skip.
      XCTFail("no message within \(seconds) s")
      throw CancellationError()
    }
    return message.frames
  }

  /// A worker "w1" with one slot on a DEALER of its own (routing id `w1#1`), READY sent.
  func readyWorker(_ context: ZMQContext, _ endpoint: String) throws -> ZMQSocket {
    let worker = try context.socket(.dealer)
    try worker.setOption(ZMQ_ROUTING_ID_OPTION, "w1#1")
    try worker.connect(endpoint)
    try worker.send(
      WireCodec.encode(WorkerMessage.ready(Ready(worker: "w1", host: "h", slots: 1, version: "t"))))
    return worker
  }

  /// Waits for the next ASSIGN (skipping heartbeats).
  func nextAssignment(_ worker: ZMQSocket) throws -> Assignment {
    for _ in 0..<50 {
      if case .assign(let assignment) = try WireCodec.decodeCoordinatorMessage(try receive(worker)).get() {
        return assignment
      }
    }
    XCTFail("no ASSIGN among 50 messages")
    throw CancellationError()
  }

  /// A one-trial grid sweep on Rosenbrock; `extra` is inserted as top-level YAML lines.
  func rosenbrockSweep(epochs: Int, extra: String = "") -> String {
    """
    method: grid
    metric: {name: val_loss, goal: minimize}
    model: {kind: rosenbrock}
    optimizer: {name: sgd}
    training: {epochs: \(epochs)}
    \(extra)parameters:
      lr: {values: [0.001]}
    """
  }

  /// Submits a sweep and waits for the coordinator's acceptance.
  func submit(_ client: ZMQSocket, _ config: String) throws {
    try client.send(WireCodec.encode(ClientRequest.submit(SubmitRequest(file: "t.yaml", text: config))))
    let reply = try WireCodec.decodeClientReply(try receive(client)).get()
    guard case .ok = reply else {
      XCTFail("submit refused: \(reply)")
      throw CancellationError()
    }
  }

  func metric(_ attempt: AttemptID, _ epoch: Int, _ loss: Double) -> [[UInt8]] {
    WireCodec.encode(
      WorkerMessage.metric(MetricReport(attempt: attempt, epoch: epoch, values: ["val_loss": loss])))
  }

  /// A coordinator restarted mid-trial keeps what the trial reported before: its best value
  /// and epoch come from the stored metrics, not just the epochs after the restart; the
  /// reconnecting worker keeps its lease.
  func testRestartKeepsARunningTrialsBestSoFar() throws {
    let db = directory.appendingPathComponent("s.db").path
    let context = try ZMQContext()
    var running = try Running(bind: "tcp://127.0.0.1:*", store: try Store(path: db))
    let endpoint = running.server.endpoint

    let client = try context.socket(.dealer)
    try client.connect(endpoint)
    try submit(client, rosenbrockSweep(epochs: 4))

    var worker = try context.socket(.dealer)
    try worker.setOption(ZMQ_ROUTING_ID_OPTION, "w1#1")
    try worker.connect(endpoint)
    try worker.send(
      WireCodec.encode(WorkerMessage.ready(Ready(worker: "w1", host: "h", slots: 1, version: "t"))))
    let attempt = try nextAssignment(worker).attempt
    for (epoch, loss) in [(1, 0.5), (2, 0.2), (3, 0.4)] { try worker.send(metric(attempt, epoch, loss)) }
    // The coordinator stores what it has read before it stops (METRIC rows at every flush).
    let store = try Store(path: db)
    let deadline = Date().addingTimeInterval(10)
    while try store.metrics(trial: attempt.trial, attempt: attempt.attempt).count < 3 && Date() < deadline {
      usleep(10_000)
    }
    running.stop()

    running = try Running(bind: endpoint, store: try Store(path: db))
    defer { running.stop() }
    // The worker reconnects (fresh socket) and claims its attempt, then finishes it.
    worker = try context.socket(.dealer)
    try worker.setOption(ZMQ_ROUTING_ID_OPTION, "w1#2")
    try worker.connect(endpoint)
    try worker.send(
      WireCodec.encode(
        WorkerMessage.ready(Ready(worker: "w1", host: "h", slots: 1, version: "t", running: [attempt]))))
    try worker.send(metric(attempt, 4, 0.45))
    try worker.send(
      WireCodec.encode(
        WorkerMessage.done(DoneReport(attempt: attempt, status: .completed, epochs: 4, seconds: 0.1))))
    var acknowledged = false
    for _ in 0..<50 where !acknowledged {
      if case .acknowledge(let acked) = try WireCodec.decodeCoordinatorMessage(try receive(worker)).get() {
        acknowledged = acked == attempt
      }
    }
    XCTAssertTrue(acknowledged)
    let trial = try XCTUnwrap(try store.trial(attempt.trial))
    XCTAssertEqual(trial.state, .completed)
    XCTAssertEqual(trial.attempt, 1, "the lease was kept, not requeued")
    XCTAssertEqual(trial.bestValue, 0.2)
    XCTAssertEqual(trial.bestEpoch, 2)
    XCTAssertEqual(trial.epochs, 4)
    XCTAssertEqual(try store.metrics(trial: attempt.trial, attempt: 1).map(\.epoch), [1, 2, 3, 4])
    // Status comes from counts kept in memory: they agree with the store.
    try client.send(WireCodec.encode(ClientRequest.status(sweep: trial.sweepID)))
    guard case .ok(let json) = try WireCodec.decodeClientReply(try receive(client)).get() else {
      return XCTFail("status refused")
    }
    let status =
      try XCTUnwrap(
        try JSONSerialization.jsonObject(with: Data(json)) as? [String: Any])["sweeps"] as? [[String: Any]]
    XCTAssertEqual(status?.first?["trials"] as? [String: Int], ["completed": 1])
    XCTAssertEqual(status?.first?["best"] as? Double, 0.2)
    XCTAssertEqual(status?.first?["state"] as? String, "completed")
  }

  /// A CANCEL the store cannot write changes nothing: the client hears why, the sweep runs
  /// on, its running trial is not stopped (the defect: the write failed silently and memory
  /// changed anyway). Once the store can write, the cancel takes effect.
  func testACancelTheStoreCannotWriteChangesNothing() throws {
    let store = try Store(path: directory.appendingPathComponent("c.db").path)
    let context = try ZMQContext()
    let running = try Running(bind: "tcp://127.0.0.1:*", store: store)
    defer { running.stop() }
    let client = try context.socket(.dealer)
    try client.connect(running.server.endpoint)
    try client.send(
      WireCodec.encode(
        ClientRequest.submit(
          SubmitRequest(
            file: "t.yaml",
            text: rosenbrockSweep(epochs: 3).replacingOccurrences(of: "[0.001]", with: "[0.001, 0.002]")))))
    guard case .ok(let json) = try WireCodec.decodeClientReply(try receive(client)).get() else {
      return XCTFail("submit refused")
    }
    let sweep = try DocumentJSON.decode(SubmitReply.self, from: json).sweep
    let worker = try readyWorker(context, running.server.endpoint)
    let assignment = try nextAssignment(worker)

    try store.pool.write { db in
      try db.execute(
        sql:
          "CREATE TRIGGER refuse BEFORE UPDATE ON sweep BEGIN SELECT RAISE(FAIL, 'refused by the test'); END")
    }
    try client.send(WireCodec.encode(ClientRequest.cancel(sweep: sweep)))
    guard case .error(let message) = try WireCodec.decodeClientReply(try receive(client)).get() else {
      return XCTFail("a cancel the store could not write was accepted")
    }
    XCTAssertTrue(message.contains("is not cancelled"), message)
    try client.send(WireCodec.encode(ClientRequest.status(sweep: sweep)))
    guard case .ok(let statusJSON) = try WireCodec.decodeClientReply(try receive(client)).get() else {
      return XCTFail("status refused")
    }
    XCTAssertEqual(try SweepStatus.decode(statusJSON).first?.state, "running")
    // The trial still runs to its end: its DONE is acknowledged and stored as completed.
    try worker.send(
      WireCodec.encode(
        WorkerMessage.done(DoneReport(attempt: assignment.attempt, status: .completed, epochs: 3, seconds: 0))
      ))
    var acknowledged = false
    for _ in 0..<50 where !acknowledged {
      switch try WireCodec.decodeCoordinatorMessage(try receive(worker)).get() {
      case .acknowledge(let attempt): acknowledged = attempt == assignment.attempt
      case .stop: return XCTFail("the running trial was stopped by a cancel that was refused")
      default: break
      }
    }
    XCTAssertEqual(try store.trial(assignment.attempt.trial)?.state, .completed)

    try store.pool.write { db in try db.execute(sql: "DROP TRIGGER refuse") }
    try client.send(WireCodec.encode(ClientRequest.cancel(sweep: sweep)))
    guard case .ok(let cancelled) = try WireCodec.decodeClientReply(try receive(client)).get() else {
      return XCTFail("cancel refused once the store could write")
    }
    XCTAssertEqual(try DocumentJSON.decode(CancelReply.self, from: cancelled).cancelled, sweep)
    XCTAssertEqual(try store.sweep(sweep)?.state, .cancelled)
    // Cancelling it again changes nothing and is not an error: the reply says it already was.
    try client.send(WireCodec.encode(ClientRequest.cancel(sweep: sweep)))
    guard case .ok(let again) = try WireCodec.decodeClientReply(try receive(client)).get() else {
      return XCTFail("a second cancel was refused")
    }
    XCTAssertEqual(try DocumentJSON.decode(CancelReply.self, from: again).already, true)
  }

  /// Trials whose epochs a stopping policy judges are assigned with `promptMetrics`, so the
  /// worker sends each epoch at once; other trials' epochs may be batched.
  func testAssignmentsAskForPromptMetricsOnlyWhenEpochsAreJudged() throws {
    let context = try ZMQContext()
    let running = try Running(
      bind: "tcp://127.0.0.1:*", store: try Store(path: directory.appendingPathComponent("p.db").path))
    defer { running.stop() }
    let client = try context.socket(.dealer)
    try client.connect(running.server.endpoint)
    let worker = try readyWorker(context, running.server.endpoint)
    for (stopping, expected) in [("", nil), ("early_terminate: {type: median}\n", true as Bool?)] {
      try submit(client, rosenbrockSweep(epochs: 2, extra: stopping))
      let assignment = try nextAssignment(worker)
      XCTAssertEqual(assignment.promptMetrics, expected, stopping)
      try worker.send(
        WireCodec.encode(
          WorkerMessage.done(
            DoneReport(attempt: assignment.attempt, status: .completed, epochs: 2, seconds: 0))))
    }
  }

  /// A full disk: writes fail, so the coordinator holds every change and message (no ACK
  /// for a DONE it could not store), logs the error once, and when space is back writes
  /// everything it held — nothing lost, nothing acknowledged before it was stored.
  func testAFullDiskHoldsEverythingUntilSpaceIsBack() throws {
    let store = try Store(path: directory.appendingPathComponent("full.db").path)
    let context = try ZMQContext()
    let running = try Running(bind: "tcp://127.0.0.1:*", store: store)
    defer { running.stop() }
    let client = try context.socket(.dealer)
    try client.connect(running.server.endpoint)
    try submit(client, rosenbrockSweep(epochs: 400))
    let worker = try readyWorker(context, running.server.endpoint)
    let attempt = try nextAssignment(worker).attempt
    try store.capSize(pages: try store.pageCount())
    for epoch in 1...400 { try worker.send(metric(attempt, epoch, 1.0 / Double(epoch))) }
    let report = DoneReport(attempt: attempt, status: .completed, epochs: 400, seconds: 0.5)
    try worker.send(WireCodec.encode(WorkerMessage.done(report)))
    // Held: no ACK while the DONE cannot be stored, and the store is unchanged.
    var acknowledged = false
    let holdUntil = Date().addingTimeInterval(1.0)
    while Date() < holdUntil {
      if try ZMQPoller.readable([worker], timeoutMilliseconds: 100)[0], let message = try worker.receive(),
        case .acknowledge = try WireCodec.decodeCoordinatorMessage(message.frames).get()
      {
        acknowledged = true
      }
    }
    XCTAssertFalse(acknowledged, "a DONE was acknowledged before it was stored")
    XCTAssertEqual(try store.trial(attempt.trial)?.state, .running)
    XCTAssertLessThan(try store.metrics(trial: attempt.trial, attempt: attempt.attempt).count, 400)
    // Space is back: everything held is written, then the ACK goes out.
    try store.capSize(pages: nil)
    let deadline = Date().addingTimeInterval(10)
    while !acknowledged && Date() < deadline {
      if try ZMQPoller.readable([worker], timeoutMilliseconds: 100)[0], let message = try worker.receive(),
        case .acknowledge(let acked) = try WireCodec.decodeCoordinatorMessage(message.frames).get()
      {
        acknowledged = acked == attempt
      }
    }
    XCTAssertTrue(acknowledged)
    XCTAssertEqual(try store.trial(attempt.trial)?.state, .completed)
    XCTAssertEqual(
      try store.metrics(trial: attempt.trial, attempt: attempt.attempt).map(\.epoch), Array(1...400))
    XCTAssertEqual(try store.trial(attempt.trial)?.bestValue, 1.0 / 400)
  }

  /// Deleting a live sweep (running, or paused) while its trial streams epochs: whatever the
  /// worker sends about the deleted trial afterwards is dropped, the coordinator goes on
  /// dispatching, and the next sweep runs to its end (the defect: a METRIC of a deleted trial
  /// failed its foreign key, and the store held everything forever).
  func testDeletingALiveSweepDoesNotHoldTheStore() throws {
    let store = try Store(path: directory.appendingPathComponent("d.db").path)
    let context = try ZMQContext()
    let running = try Running(bind: "tcp://127.0.0.1:*", store: store)
    defer { running.stop() }
    let client = try context.socket(.dealer)
    try client.connect(running.server.endpoint)
    let worker = try readyWorker(context, running.server.endpoint)
    for pausedFirst in [false, true] {
      try submit(client, rosenbrockSweep(epochs: 100))
      let assignment = try nextAssignment(worker)
      if pausedFirst {
        try client.send(
          WireCodec.encode(ClientRequest.manage(ManageRequest(sweep: assignment.sweep, action: .pause))))
        guard case .ok = try WireCodec.decodeClientReply(try receive(client)).get() else {
          return XCTFail("pause refused")
        }
      }
      // An epoch waits in the group commit for company when the delete arrives.
      try worker.send(metric(assignment.attempt, 1, 0.5))
      try client.send(WireCodec.encode(ClientRequest.delete(sweep: assignment.sweep)))
      guard case .ok = try WireCodec.decodeClientReply(try receive(client)).get() else {
        return XCTFail("delete refused")
      }
      for epoch in 2...5 { try worker.send(metric(assignment.attempt, epoch, 0.4)) }
      try worker.send(
        WireCodec.encode(
          WorkerMessage.log(LogChunk(attempt: assignment.attempt, stream: .stdout, text: "after the delete\n"))))
      XCTAssertNil(try store.sweep(assignment.sweep))
    }
    // The coordinator still dispatches and writes: a new sweep runs to its end.
    try submit(client, rosenbrockSweep(epochs: 1))
    let next = try nextAssignment(worker)
    try worker.send(metric(next.attempt, 1, 0.3))
    try worker.send(
      WireCodec.encode(
        WorkerMessage.done(DoneReport(attempt: next.attempt, status: .completed, epochs: 1, seconds: 0))))
    var acknowledged = false
    for _ in 0..<50 where !acknowledged {
      if case .acknowledge(let acked) = try WireCodec.decodeCoordinatorMessage(try receive(worker)).get() {
        acknowledged = acked == next.attempt
      }
    }
    XCTAssertTrue(acknowledged, "the DONE of the next sweep's trial was never acknowledged")
    XCTAssertEqual(try store.trial(next.attempt.trial)?.state, .completed)
    // The sweep is marked completed after the trial's ACK has gone (at that flush's end).
    let completedBy = Date().addingTimeInterval(10)
    while try store.sweep(next.sweep)?.state != .completed && Date() < completedBy { usleep(10_000) }
    XCTAssertEqual(try store.sweep(next.sweep)?.state, .completed)
    XCTAssertFalse(running.server.metricsSnapshot().storeFailing)
  }

  /// A batch the store refuses for good (a row about a trial that does not exist) does not
  /// hold the store: the refused row is dropped and counted, every other row is written.
  func testRowsTheStoreRefusesAreDroppedNotHeld() throws {
    let store = try Store(path: directory.appendingPathComponent("r.db").path)
    let server = try CoordinatorServer(bind: "tcp://127.0.0.1:*", store: store)
    let sweep = try store.createSweep(
      SweepRecord(
        id: "s1", name: nil, file: "t.yaml", configText: "method: grid\n", method: "grid",
        metricName: "val_loss", metricGoal: "minimize", seed: 1, state: .completed, createdAt: 0),
      trials: [
        TrialRecord(
          sweepID: "s1", index: 0, configuration: 0, repeatIndex: 0, seed: 1, params: "{}", point: "[]",
          spec: "{}", updatedAt: 0)
      ])
    let trial = try XCTUnwrap(sweep.first?.id)
    server.commit.add(MetricRecord(trialID: trial, attempt: 1, epoch: 1, values: "{}"), now: 0)
    server.commit.add(MetricRecord(trialID: 987_654, attempt: 1, epoch: 1, values: "{}"), now: 0)
    server.commit.events.append(EventRecord(time: 0, sweepID: "s1", trialID: trial, kind: "note", detail: "kept"))
    XCTAssertTrue(server.writeChanges(), "a refused row held the store")
    XCTAssertNil(server.storeFailingSince)
    XCTAssertTrue(server.commit.isEmpty)
    XCTAssertEqual(server.counters.droppedRows, 1)
    XCTAssertEqual(try store.metrics(trial: trial, attempt: 1).map(\.epoch), [1])
  }

  /// A LEADERBOARD with `top: -1`, sent with any key, is refused with a reply naming the
  /// field, and the coordinator goes on answering (the defect: `prefix(-1)` trapped it).
  func testAnOutOfRangeRequestIsRefusedAndTheCoordinatorLives() throws {
    let store = try Store(path: directory.appendingPathComponent("t.db").path)
    let context = try ZMQContext()
    let running = try Running(bind: "tcp://127.0.0.1:*", store: store)
    defer { running.stop() }
    let client = try context.socket(.dealer)
    try client.connect(running.server.endpoint)
    try submit(client, rosenbrockSweep(epochs: 1))
    let sweep = try XCTUnwrap(try store.sweeps().first?.id)
    var frames = WireCodec.encode(ClientRequest.leaderboard(LeaderboardRequest(sweep: sweep, top: 3)))
    frames[2] = Array(#"{"sweep":"\#(sweep)","top":-1}"#.utf8)
    try client.send(frames)
    guard case .error(let message) = try WireCodec.decodeClientReply(try receive(client)).get() else {
      return XCTFail("top -1 was accepted")
    }
    XCTAssertTrue(message.contains("top: -1"), message)
    try client.send(WireCodec.encode(ClientRequest.status(sweep: sweep)))
    guard case .ok = try WireCodec.decodeClientReply(try receive(client)).get() else {
      return XCTFail("the coordinator stopped answering")
    }
  }

  /// While the store cannot be written, workers still hear heartbeats (so they keep their
  /// connection and their running trials: the defect was reconnects and restarted trials,
  /// `attempt 5` with `max_attempts: 3`), and what is held stays bounded: past `holdLimit`
  /// rows the coordinator stops reading until the store takes them, then reads on.
  func testAFullStoreKeepsWorkersAliveAndBoundsWhatItHolds() throws {
    let store = try Store(path: directory.appendingPathComponent("hold.db").path)
    let context = try ZMQContext()
    let running = try Running(bind: "tcp://127.0.0.1:*", store: store) { $0.holdLimit = 50 }
    defer { running.stop() }
    let client = try context.socket(.dealer)
    try client.connect(running.server.endpoint)
    try submit(client, rosenbrockSweep(epochs: 1000))
    let worker = try readyWorker(context, running.server.endpoint)
    let attempt = try nextAssignment(worker).attempt
    try store.capSize(pages: try store.pageCount())
    for epoch in 1...400 { try worker.send(metric(attempt, epoch, 1.0 / Double(epoch))) }
    // 4 s is past the workers' liveness (3 heartbeat intervals): heartbeats keep coming.
    var heartbeats = 0
    let until = Date().addingTimeInterval(4)
    while Date() < until {
      if try ZMQPoller.readable([worker], timeoutMilliseconds: 100)[0], let message = try worker.receive(),
        case .heartbeat = try WireCodec.decodeCoordinatorMessage(message.frames).get()
      {
        heartbeats += 1
      }
    }
    XCTAssertGreaterThanOrEqual(heartbeats, 3, "workers would take the coordinator for dead")
    XCTAssertTrue(running.server.metricsSnapshot().storeFailing)
    XCTAssertEqual(running.server.metricsSnapshot().workersConnected, 1, "the worker was dropped")
    // Space is back: everything is read and written, nothing lost.
    try store.capSize(pages: nil)
    let deadline = Date().addingTimeInterval(10)
    while try store.metrics(trial: attempt.trial, attempt: 1).count < 400 && Date() < deadline {
      usleep(20_000)
    }
    XCTAssertEqual(try store.metrics(trial: attempt.trial, attempt: 1).map(\.epoch), Array(1...400))
    XCTAssertEqual(try store.trial(attempt.trial)?.attempt, 1, "the running trial was never restarted")
  }

  /// Back-pressure is pure arithmetic on the buffer: the loop reads no more once the store
  /// fails and `holdLimit` rows wait.
  func testBackPressureStartsAtTheHoldLimit() throws {
    let server = try CoordinatorServer(
      bind: "tcp://127.0.0.1:*", store: try Store(path: directory.appendingPathComponent("b.db").path))
    server.holdLimit = 3
    for epoch in 1...3 { server.commit.add(MetricRecord(trialID: 1, attempt: 1, epoch: epoch, values: "{}"), now: 0) }
    XCTAssertFalse(server.backPressured, "the store is not failing")
    server.storeFailingSince = 0
    XCTAssertTrue(server.backPressured)
  }
}
