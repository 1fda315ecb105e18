import Foundation
import Store
import XCTest

/// Real coordinator and worker processes on loopback: a scratch directory, processes that
/// are killed at the end, and the steps the daemon tests share.
class DaemonTestCase: XCTestCase {
  var directory: URL!

  override func setUpWithError() throws {
    directory = FileManager.default.temporaryDirectory.appendingPathComponent(
      "sweepd-daemon-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
  }

  override func tearDownWithError() throws {
    for process in processes where process.isRunning { kill(process.processIdentifier, SIGKILL) }
    try? FileManager.default.removeItem(at: directory)
  }

  var processes: [Process] = []

  /// Starts `sweepd` in the background with output to files.
  func launch(
    _ arguments: [String], name: String, in workingDirectory: URL? = nil, environment: [String: String] = [:],
    executable: String? = nil
  ) throws -> (Process, URL) {
    let process = Process()
    process.executableURL = executable.map { URL(fileURLWithPath: $0) } ?? SweepdProcess.binary
    process.arguments = arguments
    if let workingDirectory { process.currentDirectoryURL = workingDirectory }
    if !environment.isEmpty {
      process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
    }
    let log = directory.appendingPathComponent("\(name).log")
    FileManager.default.createFile(atPath: log.path, contents: nil)
    let handle = try FileHandle(forWritingTo: log)
    process.standardOutput = handle
    process.standardError = handle
    try process.run()
    processes.append(process)
    return (process, log)
  }

  /// Waits until `text` appears in `log` and its line is complete (a process may be caught
  /// mid-write), and returns the log from `text` on. A line still unfinished at the
  /// deadline is returned as it stands.
  func wait(for text: String, in log: URL, seconds: Double) throws -> String {
    let deadline = Date().addingTimeInterval(seconds)
    var found: String?
    while Date() < deadline {
      let content = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
      if let range = content.range(of: text) {
        let rest = String(content[range.lowerBound...])
        if rest.contains("\n") { return rest }
        found = rest
      }
      usleep(50_000)
    }
    if let found { return found }
    XCTFail(
      "'\(text)' did not appear in \(log.lastPathComponent): \((try? String(contentsOf: log, encoding: .utf8)) ?? "")"
    )
    return ""
  }

  /// A grid sweep of Rosenbrock trials, one per learning rate (fast: one step per epoch).
  func writeRosenbrockSweep(epochs: Int, rates: [String]) throws -> URL {
    let file = directory.appendingPathComponent("rosenbrock.yaml")
    try """
    method: grid
    metric: {name: val_loss, goal: minimize}
    model: {kind: rosenbrock}
    optimizer: {name: sgd}
    training: {epochs: \(epochs)}
    parameters:
      lr: {values: [\(rates.joined(separator: ", "))]}
    """.write(to: file, atomically: true, encoding: .utf8)
    return file
  }

  func leaderboard(_ coordinator: String, _ sweep: String) throws -> [[String: Any]] {
    let output = try SweepdProcess.run([
      "leaderboard", sweep, "--coordinator", coordinator, "--format", "json",
    ])
    XCTAssertEqual(output.status, 0, output.stderr)
    let object = try JSONSerialization.jsonObject(with: Data(output.stdout.utf8)) as? [String: Any]
    return object?["trials"] as? [[String: Any]] ?? []
  }

  /// Polls `sweepd status` until `count` of the sweep's trials run at once (60 s at most);
  /// whether they did.
  func waitUntilRunning(_ coordinator: String, _ sweep: String, count: Int) throws -> Bool {
    let deadline = Date().addingTimeInterval(60)
    while Date() < deadline {
      if try SweepdProcess.run(["status", sweep, "--coordinator", coordinator]).stdout.contains(
        ", \(count) running")
      {
        return true
      }
      usleep(50_000)
    }
    return false
  }

  /// Polls `sweepd status` until the sweep completes; returns the last status line(s).
  /// `options` are added to each call (e.g. CURVE keys).
  @discardableResult
  func waitUntilComplete(_ coordinator: String, _ sweep: String, seconds: Double, options: [String] = [])
    throws -> String
  {
    let deadline = Date().addingTimeInterval(seconds)
    var status = ""
    while Date() < deadline {
      status = try SweepdProcess.run(["status", sweep, "--coordinator", coordinator] + options).stdout
      if status.contains("\(sweep) completed") { return status }
      usleep(200_000)
    }
    XCTFail("sweep \(sweep) did not complete in \(seconds) s: \(status)")
    return status
  }

  /// Starts `sweepd coordinator` on a free loopback port with `arguments` added (in
  /// `workingDirectory` if given) and waits until it serves.
  func launchCoordinator(_ arguments: [String], name: String? = nil, in workingDirectory: URL? = nil) throws
    -> (process: Process, endpoint: String, log: URL)
  {
    let (process, log) = try launch(
      ["coordinator", "--bind", "tcp://127.0.0.1:*"] + arguments,
      name: name ?? "coordinator-\(processes.count)",
      in: workingDirectory)
    let line = try wait(for: "coordinator at tcp://", in: log, seconds: 30)
    let endpoint = String(line.dropFirst("coordinator at ".count).prefix { $0 != "," })
    return (process, endpoint, log)
  }

  func startCoordinator(db: String) throws -> (Process, String) {
    let started = try launchCoordinator(["--db", db])
    return (started.process, started.endpoint)
  }

}

/// The daemon with real coordinator and worker processes on loopback.
final class DaemonTests: DaemonTestCase {
  func writeSweep(trials: Int, epochs: Int) throws -> String {
    let file = directory.appendingPathComponent("sweep.yaml")
    try """
    name: e2e
    method: random
    run_cap: \(trials)
    seed: 3
    metric: {name: val_error, goal: minimize}
    data: {dataset: spirals, samples: 1500}
    model: {kind: mlp, hidden: [64, 64]}
    training: {epochs: \(epochs), batch_size: 16}
    parameters:
      optimizer: {values: [adam, rmsprop]}
      lr: {distribution: log_uniform_values, min: 0.001, max: 0.01}
    """.write(to: file, atomically: true, encoding: .utf8)
    return file.path
  }

  /// `sweepd run` (a coordinator and two workers): a 40-trial sweep, every trial exactly once
  /// in the leaderboard.
  func testRunDoesTheWholeSweep() throws {
    let file = try writeSweep(trials: 40, epochs: 2)
    // In the test's directory: the default store (./sweepd.db) lands there, not in the checkout.
    let output = try SweepdProcess.run(
      ["run", file, "--workers", "2", "--format", "json"], timeout: 300, in: directory)
    XCTAssertEqual(output.status, 0, output.stderr)
    XCTAssertTrue(FileManager.default.fileExists(atPath: directory.appendingPathComponent("sweepd.db").path))
    let object = try XCTUnwrap(
      try JSONSerialization.jsonObject(with: Data(output.stdout.utf8)) as? [String: Any])
    let trials = try XCTUnwrap(object["trials"] as? [[String: Any]])
    XCTAssertEqual(trials.count, 40)
    XCTAssertEqual(Set(trials.compactMap { $0["trial"] as? Int }).count, 40)
    XCTAssertTrue(trials.allSatisfy { $0["status"] as? String == "completed" }, "\(trials)")
    XCTAssertTrue(trials.allSatisfy { ($0["best"] as? [String: Any])?["value"] is Double })
  }

  /// The median rule in a real sweep: trials with hopeless learning rates are stopped early
  /// with their reason stored, the good ones complete, and every trial still ranks.
  func testMedianRuleStopsLaggards() throws {
    let file = directory.appendingPathComponent("median.yaml")
    try """
    name: median
    method: grid
    seed: 2
    metric: {name: val_error, goal: minimize}
    data: {dataset: digits}
    model: {kind: mlp, hidden: [32]}
    optimizer: {name: adam}
    training: {epochs: 8, batch_size: 64}
    parameters:
      lr: {values: [0.01, 0.005, 0.02, 0.003, 1.0e-6, 2.0e-6, 3.0e-6, 4.0e-6, 5.0e-6, 6.0e-6]}
    early_terminate: {type: median, min_trials: 3, grace_epochs: 2}
    """.write(to: file, atomically: true, encoding: .utf8)
    let db = directory.appendingPathComponent("median.db").path
    let output = try SweepdProcess.run(
      ["run", file.path, "--workers", "1", "--db", db, "--format", "json"], timeout: 300)
    XCTAssertEqual(output.status, 0, output.stderr)
    let object = try XCTUnwrap(
      try JSONSerialization.jsonObject(with: Data(output.stdout.utf8)) as? [String: Any])
    let trials = try XCTUnwrap(object["trials"] as? [[String: Any]])
    XCTAssertEqual(trials.count, 10)
    XCTAssertTrue(
      trials.allSatisfy { ($0["best"] as? [String: Any])?["value"] is Double }, "every trial ranks")
    let store = try Store(path: db)
    let stored = try store.trials(sweep: try XCTUnwrap(object["sweep"] as? String))
    let byLR = Dictionary(uniqueKeysWithValues: stored.map { ($0.params, $0) })
    // One worker: the first three finish before any decision (min_trials 3).
    for good in ["0.01", "0.005", "0.02"] {
      XCTAssertEqual(byLR[#"{"lr":\#(good)}"#]?.state, .completed, "lr \(good)")
    }
    let stopped = stored.filter { $0.state == .earlyStopped }
    // The six hopeless rates are all stopped.
    XCTAssertGreaterThanOrEqual(stopped.count, 6, "\(stored.map { ($0.params, $0.state) })")
    for trial in stopped {
      XCTAssertTrue(trial.message?.hasPrefix("median rule at epoch ") ?? false, trial.message ?? "no reason")
      XCTAssertLessThan(trial.epochs, 8)
    }
    let events = try store.events(sweep: stored[0].sweepID).filter { $0.kind == "early_stop" }
    XCTAssertEqual(Set(events.compactMap(\.trialID)), Set(stopped.map { $0.id! }))
  }

  /// Deterministic mode: a TPE sweep with the median rule gives the same trials, the same
  /// stops and the same results on two runs with two workers, whatever order they finish in.
  func testDeterministicModeRepeatsAdaptiveSweepsExactly() throws {
    let file = directory.appendingPathComponent("deterministic.yaml")
    try """
    name: deterministic
    method: tpe
    run_cap: 16
    seed: 4
    metric: {name: val_error, goal: minimize}
    data: {dataset: digits}
    model: {kind: mlp, hidden: [16]}
    training: {epochs: 5, batch_size: 64}
    parameters:
      optimizer: {values: [sgd, adam]}
      lr: {distribution: log_uniform_values, min: 1.0e-6, max: 0.1}
    early_terminate: {type: median, min_trials: 3, grace_epochs: 1}
    deterministic: {lag: 2}
    """.write(to: file, atomically: true, encoding: .utf8)
    func outcome(_ run: Int) throws -> [String] {
      let db = directory.appendingPathComponent("deterministic-\(run).db").path
      let output = try SweepdProcess.run(
        ["run", file.path, "--workers", "2", "--db", db, "--format", "json"], timeout: 300)
      XCTAssertEqual(output.status, 0, output.stderr)
      let store = try Store(path: db)
      let sweep = try XCTUnwrap(try store.sweeps().first)
      return try store.trials(sweep: sweep.id).map {
        "\($0.index) \($0.params) \($0.state.rawValue) \($0.bestValue.map { "\($0)" } ?? "-")@\($0.bestEpoch ?? 0) \($0.epochs) \($0.message ?? "")"
      }
    }
    let first = try outcome(1)
    XCTAssertEqual(first.count, 16)
    XCTAssertTrue(first.contains { $0.contains("early_stopped") }, "the rule stopped nothing: \(first)")
    XCTAssertEqual(try outcome(2), first)
  }

  /// A worker killed with SIGKILL mid-sweep: its trial is retried elsewhere; nothing is
  /// lost or duplicated.
  func testKilledWorkerTrialsFinishElsewhere() throws {
    let db = directory.appendingPathComponent("w.db").path
    let (_, coordinator) = try startCoordinator(db: db)
    let (doomed, doomedLog) = try launch(
      ["worker", "--connect", coordinator, "--slots", "1", "--name", "doomed"], name: "doomed")
    _ = try launch(
      ["worker", "--connect", coordinator, "--slots", "1", "--name", "survivor"], name: "survivor")
    let submitted = try SweepdProcess.run([
      "submit", try writeSweep(trials: 10, epochs: 3), "--coordinator", coordinator,
    ])
    XCTAssertEqual(submitted.status, 0, submitted.stderr)
    let sweep = submitted.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    // Kill the doomed worker while it trains a trial (seen in the store).
    _ = try wait(for: "OpenBLAS kernel", in: doomedLog, seconds: 30)
    let store = try Store(path: db)
    var victim: Int64?
    let deadline = Date().addingTimeInterval(60)
    while victim == nil && Date() < deadline {
      victim = try store.trials(sweep: sweep).first { $0.state == .running && $0.worker == "doomed" }?.id
      if victim == nil { usleep(20_000) }
    }
    let killed = try XCTUnwrap(victim, "the doomed worker never ran a trial")
    kill(doomed.processIdentifier, SIGKILL)
    try waitUntilComplete(coordinator, sweep, seconds: 240)
    let trials = try leaderboard(coordinator, sweep)
    XCTAssertEqual(trials.count, 10)
    XCTAssertEqual(Set(trials.compactMap { $0["trial"] as? Int }).count, 10, "nothing duplicated")
    XCTAssertTrue(trials.allSatisfy { $0["status"] as? String == "completed" }, "\(trials)")
    // The killed worker's trial ran again, as attempt 2, on the survivor.
    let retried = try XCTUnwrap(try store.trials(sweep: sweep).first { $0.id == killed })
    XCTAssertEqual(retried.state, .completed)
    XCTAssertGreaterThanOrEqual(retried.attempt, 2)
    XCTAssertEqual(retried.worker, "survivor")
    // watch ends at once on a finished sweep; an unknown sweep is one clear error line.
    let watched = try SweepdProcess.run(["watch", sweep, "--coordinator", coordinator])
    XCTAssertEqual(watched.status, 0, watched.stderr)
    XCTAssertTrue(watched.stdout.contains("\(sweep) completed: 10/10 done"), watched.stdout)
    let unknown = try SweepdProcess.run(["leaderboard", "s-nope", "--coordinator", coordinator])
    XCTAssertNotEqual(unknown.status, 0)
    XCTAssertTrue(unknown.stderr.contains("unknown sweep 's-nope'"), unknown.stderr)
  }

  /// The coordinator killed with SIGKILL and restarted on the same store: the sweep completes
  /// with every earlier result intact.
  func testKilledCoordinatorRecoversFromTheStore() throws {
    let db = directory.appendingPathComponent("c.db").path
    let (first, coordinator) = try startCoordinator(db: db)
    _ = try launch(["worker", "--connect", coordinator, "--slots", "2", "--name", "steady"], name: "steady")
    let submitted = try SweepdProcess.run([
      "submit", try writeSweep(trials: 12, epochs: 3), "--coordinator", coordinator,
    ])
    let sweep = submitted.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    // Let some trials finish, then kill the coordinator.
    var before: [[String: Any]] = []
    let deadline = Date().addingTimeInterval(120)
    while Date() < deadline {
      before = try leaderboard(coordinator, sweep).filter { $0["status"] as? String == "completed" }
      if before.count >= 3 { break }
      usleep(200_000)
    }
    XCTAssertGreaterThanOrEqual(before.count, 3)
    kill(first.processIdentifier, SIGKILL)
    first.waitUntilExit()
    // Restart on the same address and store; the worker reconnects by itself.
    let (_, log) = try launch(
      ["coordinator", "--bind", coordinator, "--db", db], name: "coordinator-restarted")
    _ = try wait(for: "coordinator at", in: log, seconds: 30)
    try waitUntilComplete(coordinator, sweep, seconds: 240)
    let after = try leaderboard(coordinator, sweep)
    XCTAssertEqual(after.count, 12)
    XCTAssertTrue(after.allSatisfy { $0["status"] as? String == "completed" }, "\(after)")
    // Earlier results are intact.
    for trial in before {
      let id = trial["trial"] as? Int
      let again = after.first { $0["trial"] as? Int == id }
      XCTAssertEqual(
        (again?["best"] as? [String: Any])?["value"] as? Double,
        (trial["best"] as? [String: Any])?["value"] as? Double)
    }
  }

  /// SIGTERM: the worker finishes the trial it runs, reports it, hands back anything newer,
  /// says BYE and exits 0 — the coordinator never has to time it out. A second worker
  /// finishes the sweep.
  func testGracefulShutdownFinishesTheRunningTrial() throws {
    let db = directory.appendingPathComponent("g.db").path
    let (_, coordinator) = try startCoordinator(db: db)
    let coordinatorLog = directory.appendingPathComponent("coordinator-0.log")
    let (worker, workerLog) = try launch(
      ["worker", "--connect", coordinator, "--slots", "1", "--name", "polite"], name: "polite")
    let submitted = try SweepdProcess.run([
      "submit", try writeSweep(trials: 4, epochs: 4), "--coordinator", coordinator,
    ])
    let sweep = submitted.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    XCTAssertTrue(try waitUntilRunning(coordinator, sweep, count: 1))
    kill(worker.processIdentifier, SIGTERM)
    let exited = Date().addingTimeInterval(120)
    while worker.isRunning && Date() < exited { usleep(100_000) }
    XCTAssertFalse(worker.isRunning, "the worker did not exit")
    XCTAssertEqual(worker.terminationStatus, 0)
    XCTAssertTrue(
      try wait(for: "shutting down after the running trials", in: workerLog, seconds: 5).count > 0)
    let afterFirst = try leaderboard(coordinator, sweep).filter { $0["status"] as? String == "completed" }
    XCTAssertGreaterThanOrEqual(afterFirst.count, 1, "the running trial was finished, not abandoned")
    _ = try launch(["worker", "--connect", coordinator, "--slots", "1", "--name", "second"], name: "second")
    try waitUntilComplete(coordinator, sweep, seconds: 240)
    XCTAssertEqual(
      try leaderboard(coordinator, sweep).filter { $0["status"] as? String == "completed" }.count, 4)
    let log = (try? String(contentsOf: coordinatorLog, encoding: .utf8)) ?? ""
    XCTAssertFalse(log.contains("silent"), log)
  }

  /// SIGTERM to a 2-slot worker mid-trial — what systemd sends: the worker says it drains,
  /// takes nothing new, finishes both running trials, reports them and exits 0; no trial
  /// bounces between it and the coordinator (the defect: `attempt 702` within 0.6 s) and no
  /// attempt is used up.
  func testSIGTERMDrainsATwoSlotWorkerWithoutALoop() throws {
    let db = directory.appendingPathComponent("drain.db").path
    let (_, coordinator) = try startCoordinator(db: db)
    let coordinatorLog = directory.appendingPathComponent("coordinator-0.log")
    let (worker, workerLog) = try launch(
      ["worker", "--connect", coordinator, "--slots", "2", "--name", "drained"], name: "drained")
    let submitted = try SweepdProcess.run([
      "submit", try writeSweep(trials: 6, epochs: 12), "--coordinator", coordinator,
    ])
    let sweep = submitted.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    XCTAssertTrue(try waitUntilRunning(coordinator, sweep, count: 2))
    kill(worker.processIdentifier, SIGTERM)
    let exited = Date().addingTimeInterval(120)
    while worker.isRunning && Date() < exited { usleep(50_000) }
    XCTAssertFalse(worker.isRunning, "the worker did not exit")
    XCTAssertEqual(worker.terminationStatus, 0)
    _ = try wait(for: "shutting down after the running trials (2 running", in: workerLog, seconds: 5)
    _ = try wait(for: "worker drained draining", in: coordinatorLog, seconds: 5)
    let board = try leaderboard(coordinator, sweep)
    XCTAssertEqual(board.filter { $0["status"] as? String == "completed" }.count, 2, "\(board)")
    let store = try Store(readingOnly: db)
    let attempts = try store.trials(sweep: sweep).map(\.attempt)
    XCTAssertLessThanOrEqual(attempts.max() ?? 0, 2, "attempts \(attempts)")
    let requeues = ((try? String(contentsOfFile: coordinatorLog.path, encoding: .utf8)) ?? "")
      .components(separatedBy: "requeued").count - 1
    XCTAssertLessThanOrEqual(requeues, 4, "trials bounced: \(requeues) requeues")
  }

  /// Cancel drops pending trials; an unreachable coordinator is one clear error, not a hang.
  func testCancelAndUnreachableCoordinator() throws {
    let (_, coordinator) = try startCoordinator(db: directory.appendingPathComponent("x.db").path)
    let submitted = try SweepdProcess.run([
      "submit", try writeSweep(trials: 5, epochs: 2), "--coordinator", coordinator,
    ])
    let sweep = submitted.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    let cancelled = try SweepdProcess.run(["cancel", sweep, "--coordinator", coordinator])
    XCTAssertEqual(cancelled.status, 0, cancelled.stderr)
    XCTAssertTrue(
      try SweepdProcess.run(["status", sweep, "--coordinator", coordinator]).stdout.contains(
        "\(sweep) cancelled"))
    let trials = try leaderboard(coordinator, sweep)
    XCTAssertEqual(trials.count, 5)
    XCTAssertTrue(trials.allSatisfy { $0["status"] as? String == "cancelled" }, "\(trials)")

    let started = Date()
    let unreachable = try SweepdProcess.run(["status", "--coordinator", "tcp://127.0.0.1:9"], timeout: 60)
    XCTAssertNotEqual(unreachable.status, 0)
    // Refused connections are reported within about a second, not after the 10 s timeout.
    XCTAssertTrue(unreachable.stderr.contains("nothing answers at tcp://127.0.0.1:9"), unreachable.stderr)
    XCTAssertLessThan(Date().timeIntervalSince(started), 8)
  }
}

/// The config that used to hang a coordinator (a 2×10¹⁴-trial grid): submitted, the
/// coordinator keeps answering, holds only the trials it hands out, the sweep can be
/// deleted, and SIGTERM ends the coordinator at once; restarted on the same store, it
/// starts clean.
final class HugeSweepTests: DaemonTestCase {
  func testAHugeGridNeitherHangsNorPoisonsTheStore() throws {
    // The same config the search tests plan (SearchTests/Fixtures/huge-grid.yaml).
    let file = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
      .appendingPathComponent("SearchTests/Fixtures/huge-grid.yaml")
    let db = directory.appendingPathComponent("huge.db").path
    let (coordinator, endpoint, _) = try launchCoordinator(["--db", db])
    _ = try launch(["worker", "--connect", endpoint, "--slots", "1", "--name", "w"], name: "worker")
    let submitted = try SweepdProcess.run(["submit", file.path, "--coordinator", endpoint], timeout: 60)
    XCTAssertEqual(submitted.status, 0, submitted.stderr)
    XCTAssertTrue(submitted.stderr.contains("200000000000000 trials"), "warned: \(submitted.stderr)")
    let sweep = submitted.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    // It answers, and trials run.
    let store = try Store(path: db)
    let deadline = Date().addingTimeInterval(60)
    var finished = 0
    while finished < 3 && Date() < deadline {
      finished = try store.trials(sweep: sweep).filter { $0.state.isFinished }.count
      Thread.sleep(forTimeInterval: 0.05)
    }
    XCTAssertGreaterThanOrEqual(finished, 3)
    let status = try SweepdProcess.run(["status", sweep, "--coordinator", endpoint], timeout: 30)
    XCTAssertEqual(status.status, 0, status.stderr)
    XCTAssertLessThan(try store.trials(sweep: sweep).count, 1000, "rows only for what is handed out")
    // Deleted: nothing of it is left, and the coordinator says so.
    let deleted = try SweepdProcess.run(["delete", sweep, "--coordinator", endpoint], timeout: 30)
    XCTAssertEqual(deleted.status, 0, deleted.stderr)
    XCTAssertTrue(deleted.stdout.hasPrefix("deleted \(sweep) ("), deleted.stdout)
    XCTAssertNil(try store.sweep(sweep))
    XCTAssertEqual(try store.trials(sweep: sweep).count, 0)
    let gone = try SweepdProcess.run(["status", sweep, "--coordinator", endpoint], timeout: 30)
    XCTAssertNotEqual(gone.status, 0)
    XCTAssertTrue(gone.stderr.contains("unknown sweep"), gone.stderr)
    // SIGTERM ends it within seconds.
    let stopping = Date()
    coordinator.terminate()
    coordinator.waitUntilExit()
    XCTAssertLessThan(Date().timeIntervalSince(stopping), 10)
  }
}
