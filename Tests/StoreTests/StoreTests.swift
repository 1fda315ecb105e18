import Foundation
import XCTest

@testable import Store

final class StoreTests: XCTestCase {
  var directory: URL!

  override func setUpWithError() throws {
    directory = FileManager.default.temporaryDirectory.appendingPathComponent(
      "sweepd-store-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
  }

  override func tearDownWithError() throws {
    try? FileManager.default.removeItem(at: directory)
  }

  func makeSweep(_ store: Store, id: String = "s-1", trials: Int = 3) throws -> [TrialRecord] {
    let sweep = SweepRecord(
      id: id, name: "demo", file: "demo.yaml", configText: "method: grid\n", method: "grid",
      metricName: "val_error",
      metricGoal: "minimize", seed: UInt64.max - 3, createdAt: 1)
    let rows = (0..<trials).map {
      TrialRecord(
        sweepID: id, index: $0, configuration: $0, repeatIndex: 0, seed: UInt64.max - UInt64($0),
        params: #"{"lr":0.1}"#,
        point: "[0.5]", spec: "{}", updatedAt: 1)
    }
    return try store.createSweep(sweep, trials: rows)
  }

  func testSchemaWALAndRoundTrip() throws {
    let path = directory.appendingPathComponent("sweepd.db").path
    let store = try Store(path: path)
    XCTAssertEqual(try store.journalMode(), "wal")
    let trials = try makeSweep(store)
    XCTAssertEqual(trials.compactMap(\.id).count, 3)
    XCTAssertEqual(try store.sweep("s-1")?.seed, UInt64.max - 3)
    XCTAssertEqual(try store.trials(sweep: "s-1").map(\.seed), [UInt64.max, UInt64.max - 1, UInt64.max - 2])
    XCTAssertEqual(try store.unfinishedTrials().count, 3)
  }

  /// A transition for a stale attempt changes nothing; the current attempt's does. A batch
  /// applies in one transaction and says which changes applied.
  func testStaleAttemptsChangeNothing() throws {
    let store = try Store(path: directory.appendingPathComponent("a.db").path)
    let ids = try makeSweep(store).map { $0.id! }
    let id = ids[0]
    typealias Change = Store.TrialChange
    XCTAssertEqual(
      try store.updateTrials(
        [Change(id: id, ifAttempt: 0, [.state(.running), .attempt(1), .worker("w1")])], now: 2), [true])
    var trial = try XCTUnwrap(try store.trial(id))
    XCTAssertEqual([trial.state.rawValue, trial.worker], ["running", "w1"])
    XCTAssertEqual(trial.attempt, 1)
    XCTAssertEqual(
      try store.updateTrials(
        [
          Change(id: id, ifAttempt: 0, [.state(.failed)]),  // attempt 0 is stale now
          Change(id: 999, ifAttempt: 1, [.state(.failed)]),  // no such trial
          Change(id: ids[1], ifAttempt: nil, [.state(.cancelled), .message("sweep cancelled")]),
        ], now: 3), [false, false, true])
    XCTAssertEqual(try store.trial(id)?.state, .running)
    XCTAssertEqual(try store.trial(ids[1])?.message, "sweep cancelled")
    XCTAssertEqual(
      try store.updateTrials(
        [
          Change(
            id: id, ifAttempt: 1,
            [.state(.completed), .best(value: 0.02, epoch: 7), .epochs(10), .seconds(1.5), .worker(nil)])
        ], now: 4), [true])
    trial = try XCTUnwrap(try store.trial(id))
    XCTAssertEqual(trial.state, .completed)
    XCTAssertEqual(trial.bestValue, 0.02)
    XCTAssertEqual(trial.bestEpoch, 7)
    XCTAssertEqual(trial.epochs, 10)
    XCTAssertEqual(trial.seconds, 1.5)
    XCTAssertNil(trial.worker)
    XCTAssertEqual(trial.updatedAt, 4)
    XCTAssertEqual(try store.unfinishedTrials().count, 1)
  }

  /// Batched metric writes; a resent (trial, attempt, epoch) keeps the first row.
  func testMetricsAreBatchedAndIdempotent() throws {
    let store = try Store(path: directory.appendingPathComponent("m.db").path)
    let trials = try makeSweep(store, trials: 2)
    var rows: [MetricRecord] = []
    for trial in trials {
      for epoch in 1...500 {
        rows.append(
          MetricRecord(trialID: trial.id!, attempt: 1, epoch: epoch, values: #"{"val_loss":\#(epoch)}"#))
      }
    }
    try store.recordMetrics(rows)
    try store.recordMetrics([
      MetricRecord(trialID: trials[0].id!, attempt: 1, epoch: 1, values: #"{"val_loss":-1}"#)
    ])
    let stored = try store.metrics(trial: trials[0].id!, attempt: 1)
    XCTAssertEqual(stored.count, 500)
    XCTAssertEqual(stored[0].values, #"{"val_loss":1}"#)
    XCTAssertEqual(try store.metrics(trial: trials[0].id!, attempt: 2).count, 0)
  }

  /// Closing and reopening the file keeps everything (nothing lives only in memory).
  /// A stopping decision's event is written in the same transaction as the trial changes
  /// and metric rows: all of it or, when the transaction fails, none of it.
  func testEventsGoInTheSameTransaction() throws {
    let store = try Store(path: directory.appendingPathComponent("e.db").path)
    let trials = try makeSweep(store)
    let id = trials[0].id!
    let event = EventRecord(time: 5, sweepID: "s-1", trialID: id, kind: "early_stop", detail: "plateau")
    let metric = MetricRecord(trialID: id, attempt: 0, epoch: 1, values: #"{"val_loss":0.5}"#)
    // A change that violates a constraint (an unknown state) fails the whole transaction.
    try store.pool.write { db in
      try db.execute(
        sql:
          "CREATE TRIGGER refuse BEFORE UPDATE ON trial WHEN NEW.message = 'bad' BEGIN SELECT RAISE(FAIL, 'no'); END"
      )
    }
    XCTAssertThrowsError(
      try store.updateTrials(
        [Store.TrialChange(id: id, ifAttempt: nil, [.message("bad")])], metrics: [metric], events: [event],
        now: 1))
    XCTAssertEqual(try store.events(sweep: "s-1"), [])
    XCTAssertEqual(try store.metrics(trial: id, attempt: 0), [])
    try store.updateTrials(
      [Store.TrialChange(id: id, ifAttempt: nil, [.message("plateau")])], metrics: [metric], events: [event],
      now: 1)
    XCTAssertEqual(try store.events(sweep: "s-1").map(\.detail), ["plateau"])
    XCTAssertEqual(try store.metrics(trial: id, attempt: 0).count, 1)
    XCTAssertEqual(try store.trial(id)?.message, "plateau")
  }

  func testReopeningKeepsEverything() throws {
    let path = directory.appendingPathComponent("durable.db").path
    do {
      let store = try Store(path: path)
      let id = try makeSweep(store)[1].id!
      try store.updateTrials(
        [Store.TrialChange(id: id, ifAttempt: 0, [.state(.diverged), .attempt(1)])], now: 5)
      try store.recordEvent(
        EventRecord(time: 5, sweepID: "s-1", trialID: id, kind: "diverged", detail: "epoch 3"))
      try store.setSweepState("s-1", .cancelled)
    }
    let reopened = try Store(path: path)
    XCTAssertEqual(try reopened.sweep("s-1")?.state, .cancelled)
    XCTAssertEqual(try reopened.trials(sweep: "s-1").map(\.state), [.pending, .diverged, .pending])
    XCTAssertEqual(try reopened.events(sweep: "s-1").map(\.kind), ["diverged"])
  }

  func testUnwritableLocationIsAClearError() {
    XCTAssertThrowsError(try Store(path: "/nonexistent-directory/sweepd.db")) { error in
      XCTAssertFalse("\(error)".isEmpty)
    }
  }
}

/// One writer per store: a second lock on the same database is refused at once, naming the
/// holder; released (or its process gone), the store can be taken again.
final class StoreLockTests: XCTestCase {
  func testASecondWriterIsRefusedNamingTheFirst() throws {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("lock-\(UUID().uuidString).db")
      .path
    defer { try? FileManager.default.removeItem(atPath: path + ".lock") }
    let first = try StoreLock(store: path, role: "sweepd coordinator")
    XCTAssertThrowsError(try StoreLock(store: path, role: "sweepd run")) { error in
      let text = "\(error)"
      XCTAssertTrue(text.contains("in use by another coordinator (pid \(getpid()) on host"), text)
      XCTAssertTrue(text.contains("(sweepd coordinator)"), text)
    }
    first.release()
    let second = try StoreLock(store: path, role: "sweepd run")
    second.release()
  }
}

/// Program output: appended in order, read after a row id, trimmed to the last
/// `logBytesKept` per attempt and stream, and deleted with its sweep.
extension StoreTests {
  func testLogsAreKeptInOrderBoundedAndDeletedWithTheSweep() throws {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
      "sweepd-logs-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    let store = try Store(path: directory.appendingPathComponent("l.db").path)
    let trials = try makeSweep(store, trials: 1)
    let trial = trials[0].id!
    let piece = String(repeating: "x", count: Store.logBytesKept / 4)
    // Five quarter-size pieces of stdout: the oldest goes; stderr and attempt 2 are apart.
    for index in 0..<5 {
      try store.updateTrials(
        [],
        logs: [LogRecord(trialID: trial, attempt: 1, stream: "stdout", text: "\(index)" + piece.dropFirst())],
        now: 1)
    }
    try store.updateTrials(
      [],
      logs: [
        LogRecord(trialID: trial, attempt: 1, stream: "stderr", text: "err"),
        LogRecord(trialID: trial, attempt: 2, stream: "stdout", text: "second"),
      ], now: 1)
    let first = try store.logs(trial: trial, attempt: 1)
    XCTAssertEqual(first.filter { $0.stream == "stdout" }.map { $0.text.prefix(1) }, ["1", "2", "3", "4"])
    XCTAssertEqual(first.last?.text, "err")
    let after = try store.logs(trial: trial, attempt: 1, after: first[2].id!)
    XCTAssertEqual(after.map { $0.id }, first.suffix(first.count - 3).map { $0.id })
    XCTAssertEqual(try store.logs(trial: trial, attempt: 2).map(\.text), ["second"])
    try store.deleteSweep("s-1")
    XCTAssertEqual(try store.logs(trial: trial, attempt: nil), [])
  }

  /// A second writer is refused before it touches the file: the lock is taken first, so
  /// no migration runs on a store another coordinator holds (here: none is even created).
  func testTheLockIsTakenBeforeAnyMigration() throws {
    let path = directory.appendingPathComponent("locked.db").path
    let holder = try StoreLock(store: path, role: "the test")
    XCTAssertThrowsError(try Store(path: path, lockedBy: "sweepd coordinator")) { error in
      XCTAssertTrue(error is StoreLock.InUse, "\(error)")
    }
    XCTAssertFalse(FileManager.default.fileExists(atPath: path), "the refused writer created the store")
    holder.release()
    let store = try Store(path: path, lockedBy: "sweepd coordinator")
    XCTAssertNotNil(store.lock)
    XCTAssertEqual(try store.sweeps().count, 0)
  }
}
