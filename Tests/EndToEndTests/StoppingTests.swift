import Foundation
import Store
import XCTest

/// Every stopping policy in a real digits sweep: it stops the hopeless trials with its
/// reason, keeps the good ones, and makes the same decisions when the coordinator is killed
/// mid-sweep and restarted on its store (deterministic mode, so the decisions can be
/// compared exactly).
final class StoppingTests: DaemonTestCase {
  /// A 10-trial grid: four good learning rates, six hopeless ones.
  func writeSweep(_ policy: String) throws -> String {
    let file = directory.appendingPathComponent("stopping.yaml")
    try """
    name: stopping
    method: grid
    seed: 2
    metric: {name: val_error, goal: minimize}
    data: {dataset: digits}
    model: {kind: mlp, hidden: [16]}
    optimizer: {name: adam}
    training: {epochs: 10, batch_size: 64}
    parameters:
      lr: {values: [0.01, 0.005, 0.02, 0.003, 1.0e-6, 2.0e-6, 3.0e-6, 4.0e-6, 5.0e-6, 6.0e-6]}
    early_terminate: \(policy)
    deterministic: {lag: 2}
    """.write(to: file, atomically: true, encoding: .utf8)
    return file.path
  }

  /// Each trial of the sweep in a store, as a comparable line.
  func outcome(_ db: String) throws -> [String] {
    let store = try Store(path: db)
    let sweep = try XCTUnwrap(try store.sweeps().first)
    return try store.trials(sweep: sweep.id).map {
      "\($0.index) \($0.params) \($0.state.rawValue) best \($0.bestValue.map { "\($0)" } ?? "-")@\($0.bestEpoch ?? 0) "
        + "result \($0.resultValue.map { "\($0)" } ?? "-")@\($0.resultEpoch ?? 0) \($0.epochs) \($0.message ?? "")"
    }
  }

  /// The sweep once through `sweepd run`, once with a coordinator killed (SIGKILL) after
  /// two trials have finished and restarted on the same store; returns both outcomes.
  func runTwice(_ policy: String) throws -> (reference: [String], restarted: [String]) {
    let file = try writeSweep(policy)
    let referenceDB = directory.appendingPathComponent("reference.db").path
    let output = try SweepdProcess.run(
      ["run", file, "--workers", "2", "--db", referenceDB, "--format", "json"], timeout: 300)
    XCTAssertEqual(output.status, 0, output.stderr)

    let db = directory.appendingPathComponent("restarted.db").path
    let (first, coordinator) = try startCoordinator(db: db)
    _ = try launch(["worker", "--connect", coordinator, "--slots", "2", "--name", "w"], name: "worker")
    let submitted = try SweepdProcess.run(["submit", file, "--coordinator", coordinator])
    let sweep = submitted.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    let store = try Store(path: db)
    let deadline = Date().addingTimeInterval(120)
    var finished = 0
    while Date() < deadline {
      finished = try store.trials(sweep: sweep).filter { $0.state.isFinished }.count
      if finished >= 2 { break }
      usleep(20_000)
    }
    kill(first.processIdentifier, SIGKILL)
    first.waitUntilExit()
    XCTAssertGreaterThanOrEqual(finished, 2)
    XCTAssertLessThan(finished, 10, "the sweep ended before the coordinator was killed: nothing was tested")
    let (_, log) = try launch(["coordinator", "--bind", coordinator, "--db", db], name: "restarted")
    _ = try wait(for: "coordinator at", in: log, seconds: 30)
    try waitUntilComplete(coordinator, sweep, seconds: 240)
    // `sweepd status` shows the decisions with their reasons, across the restart.
    let status = try SweepdProcess.run(["status", sweep, "--coordinator", coordinator])
    let stoppedCount = try store.trials(sweep: sweep).filter { $0.state == .earlyStopped }.count
    XCTAssertTrue(status.stdout.contains("\(stoppedCount) stopped early; latest:"), status.stdout)
    let shown = status.stdout.split(separator: "\n").filter { $0.hasPrefix("  trial ") }
    XCTAssertEqual(shown.count, min(stoppedCount, 10), status.stdout)
    return (try outcome(referenceDB), try outcome(db))
  }

  /// Runs the sweep twice (see `runTwice`) and checks: the same decisions; the six hopeless
  /// rates stopped with the policy's reason; the best trial ran all its epochs unless the
  /// policy is per trial (a plateau stops good trials too once they level off).
  func check(
    _ policy: String, reason prefix: String, bestCompletes: Bool = true, file: StaticString = #filePath,
    line: UInt = #line
  ) throws {
    let (reference, restarted) = try runTwice(policy)
    XCTAssertEqual(restarted, reference, "decisions changed across the restart", file: file, line: line)
    let stopped = reference.filter { $0.contains(" early_stopped ") }
    XCTAssertTrue(stopped.allSatisfy { $0.contains(" \(prefix)") }, "\(stopped)", file: file, line: line)
    XCTAssertEqual(
      stopped.filter { $0.contains("e-06}") }.count, 6, "every hopeless rate is stopped: \(reference)",
      file: file,
      line: line)
    let store = try Store(path: directory.appendingPathComponent("reference.db").path)
    let trials = try store.trials(sweep: try XCTUnwrap(try store.sweeps().first).id)
    let best = try XCTUnwrap(trials.min { ($0.bestValue ?? 1) < ($1.bestValue ?? 1) })
    if bestCompletes {
      XCTAssertEqual(best.state, .completed, "\(reference)", file: file, line: line)
      XCTAssertEqual(best.epochs, 10, file: file, line: line)
    }
    XCTAssertLessThan(best.bestValue ?? 1, 0.1, file: file, line: line)
  }

  func testPlateau() throws {
    try check(
      "{type: plateau, patience: 2, min_delta: 0.01}", reason: "plateau at epoch ", bestCompletes: false)
  }

  func testMedian() throws {
    try check("{type: median, min_trials: 2, grace_epochs: 2}", reason: "median rule at epoch ")
  }

  func testASHA() throws {
    try check("{type: asha, min_epochs: 2, eta: 3}", reason: "asha rung ")
  }

  func testHyperband() throws {
    try check("{type: hyperband, min_iter: 2, eta: 3}", reason: "hyperband band ")
  }

  /// `restore_best: true`: a plateau-stopped trial reports its best epoch as its result;
  /// without it, its last epoch.
  func testPlateauRestoreBestReportsTheBestEpoch() throws {
    for restore in [true, false] {
      let file = try writeSweep("{type: plateau, patience: 2, min_delta: 0.01, restore_best: \(restore)}")
      let db = directory.appendingPathComponent("restore-\(restore).db").path
      let output = try SweepdProcess.run(
        ["run", file, "--workers", "2", "--db", db, "--format", "json"], timeout: 300)
      XCTAssertEqual(output.status, 0, output.stderr)
      let object = try XCTUnwrap(
        try JSONSerialization.jsonObject(with: Data(output.stdout.utf8)) as? [String: Any])
      let trials = try XCTUnwrap(object["trials"] as? [[String: Any]])
      let stopped = trials.filter { $0["status"] as? String == "early_stopped" }
      XCTAssertFalse(stopped.isEmpty)
      for trial in trials {
        let best = try XCTUnwrap(trial["best"] as? [String: Any])
        let result = try XCTUnwrap(trial["result"] as? [String: Any], "\(trial)")
        let epochs = try XCTUnwrap(trial["epochs"] as? Int)
        if restore && trial["status"] as? String == "early_stopped" {
          XCTAssertEqual(result["epoch"] as? Int, best["epoch"] as? Int, "\(trial)")
          XCTAssertEqual(result["value"] as? Double, best["value"] as? Double)
        } else {
          XCTAssertEqual(result["epoch"] as? Int, epochs, "the last epoch: \(trial)")
        }
      }
      if !restore {
        XCTAssertTrue(
          stopped.contains {
            ($0["result"] as? [String: Any])?["epoch"] as? Int != ($0["best"] as? [String: Any])?["epoch"]
              as? Int
          },
          "a plateau stop ends after its best epoch")
      }
    }
  }

  /// Annealing runs in the worker: a `reduce_on_plateau` schedule's reductions reach the
  /// store through the streamed `lr` metric, epoch by epoch.
  func testReduceOnPlateauShowsInTheStreamedLearningRate() throws {
    let file = directory.appendingPathComponent("anneal.yaml")
    try """
    name: anneal
    method: grid
    metric: {name: val_loss, goal: minimize}
    data: {dataset: digits}
    model: {kind: mlp, hidden: [16]}
    optimizer: {name: sgd}
    schedule: {kind: reduce_on_plateau, patience: 1, factor: 0.5}
    training: {epochs: 12, batch_size: 64}
    parameters:
      lr: {values: [0.5]}
    """.write(to: file, atomically: true, encoding: .utf8)
    let db = directory.appendingPathComponent("anneal.db").path
    let output = try SweepdProcess.run(["run", file.path, "--workers", "1", "--db", db], timeout: 300)
    XCTAssertEqual(output.status, 0, output.stderr)
    let store = try Store(path: db)
    let trial = try XCTUnwrap(try store.trials(sweep: try XCTUnwrap(try store.sweeps().first).id).first)
    let rows = try store.metrics(trial: trial.id!, attempt: trial.attempt)
    XCTAssertEqual(rows.count, 12)
    let epochs = try rows.map { row -> (lr: Double, loss: Double) in
      let values = try JSONDecoder().decode([String: Double].self, from: Data(row.values.utf8))
      return (try XCTUnwrap(values["lr"]), try XCTUnwrap(values["val_loss"]))
    }
    XCTAssertEqual(epochs.first?.lr, 0.5)
    XCTAssertLessThan(epochs.last!.lr, 0.5, "no reduction reached the stream: \(epochs)")
    // PyTorch's rule, replayed on the streamed losses: the lr of epoch e + 1 is what
    // ReduceLROnPlateau gives after epoch e's validation loss.
    var best = Double.infinity, bad = 0, lr = 0.5
    for (index, epoch) in epochs.enumerated() {
      XCTAssertEqual(epoch.lr, lr, "epoch \(index + 1)")
      if epoch.loss < best * (1 - 1e-4) {
        best = epoch.loss
        bad = 0
      } else {
        bad += 1
      }
      if bad > 1 {
        lr *= 0.5
        bad = 0
      }
    }
  }
}
