import Foundation
import XCTest

/// Results without a coordinator: `--db` on a store a coordinator is writing and on a copy
/// of it, the same answers as the coordinator gives, and `sweepd export` loaded by pandas.
final class ResultsTests: DaemonTestCase {
  /// The Python with pandas and pyarrow: `SWEEPD_TEST_PYTHON` (scripts/test makes one and
  /// sets it, so there a missing one is a failure), else the repository's `.venv-test`.
  func pandasPython() throws -> String {
    if let given = ProcessInfo.processInfo.environment["SWEEPD_TEST_PYTHON"] {
      XCTAssertTrue(
        FileManager.default.isExecutableFile(atPath: given), "SWEEPD_TEST_PYTHON=\(given) is missing")
      return given
    }
    let local = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
      .deletingLastPathComponent().appendingPathComponent(".venv-test/bin/python").path
    guard FileManager.default.isExecutableFile(atPath: local) else {
      throw XCTSkip("no Python with pandas here (scripts/test installs one into .venv-test)")
    }
    return local
  }

  func sweepd(_ arguments: [String]) throws -> SweepdProcess.Output {
    let output = try SweepdProcess.run(arguments)
    XCTAssertEqual(output.status, 0, "sweepd \(arguments.joined(separator: " ")): \(output.stderr)")
    return output
  }

  func counts(_ statusJSON: String) throws -> [String: Int] {
    let object = try JSONSerialization.jsonObject(with: Data(statusJSON.utf8)) as? [String: Any]
    let sweeps = object?["sweeps"] as? [[String: Any]] ?? []
    return sweeps.first?["trials"] as? [String: Int] ?? [:]
  }

  func testReadingALiveStoreACopyAndExportingForPandas() throws {
    let file = directory.appendingPathComponent("offline.yaml")
    try """
    name: offline
    method: grid
    seed: 4
    metric: {name: val_error, goal: minimize}
    data: {dataset: spirals, samples: 1200}
    model: {kind: mlp, hidden: [32, 32]}
    training: {epochs: 20, batch_size: 16}
    parameters:
      optimizer: {values: [sgd, adam]}
      lr: {values: [0.003, 0.01, 0.03]}
    """.write(to: file, atomically: true, encoding: .utf8)
    let db = directory.appendingPathComponent("live.db").path
    let (coordinatorProcess, coordinator) = try startCoordinator(db: db)
    _ = try launch(["worker", "--connect", coordinator, "--slots", "1"], name: "worker")
    let sweep = try sweepd(["submit", file.path, "--coordinator", coordinator]).stdout
      .trimmingCharacters(in: .whitespacesAndNewlines)

    // While the coordinator writes: every read succeeds and accounts for every trial.
    var readsWhileRunning = 0
    let deadline = Date().addingTimeInterval(120)
    while Date() < deadline {
      let status = try sweepd(["status", sweep, "--db", db, "--format", "json"]).stdout
      let byState = try counts(status)
      if status.contains(#""state":"completed""#) { break }
      XCTAssertEqual(byState.values.reduce(0, +), 6, "every created trial is counted: \(status)")
      let board = try sweepd(["leaderboard", sweep, "--db", db, "--format", "json"]).stdout
      XCTAssertNoThrow(try JSONSerialization.jsonObject(with: Data(board.utf8)), board)
      if (byState["running"] ?? 0) > 0 { readsWhileRunning += 1 }
      usleep(100_000)
    }
    XCTAssertGreaterThan(readsWhileRunning, 0, "no read happened while a trial ran")
    try waitUntilComplete(coordinator, sweep, seconds: 120)

    // The same answers as the coordinator's.
    let viaCoordinator = try sweepd(["leaderboard", sweep, "--coordinator", coordinator, "--format", "json"])
      .stdout
    XCTAssertEqual(try sweepd(["leaderboard", sweep, "--db", db, "--format", "json"]).stdout, viaCoordinator)
    let statusViaCoordinator = try sweepd(["status", sweep, "--coordinator", coordinator]).stdout
    XCTAssertEqual(try sweepd(["status", sweep, "--db", db]).stdout, statusViaCoordinator)

    // A copy of the file alone, taken after the coordinator stopped, holds everything.
    coordinatorProcess.terminate()
    coordinatorProcess.waitUntilExit()
    let elsewhere = directory.appendingPathComponent("elsewhere")
    try FileManager.default.createDirectory(at: elsewhere, withIntermediateDirectories: true)
    let copy = elsewhere.appendingPathComponent("copy.db").path
    try FileManager.default.copyItem(atPath: db, toPath: copy)
    XCTAssertEqual(
      try sweepd(["leaderboard", sweep, "--db", copy, "--format", "json"]).stdout, viaCoordinator)
    XCTAssertEqual(try sweepd(["status", sweep, "--db", copy]).stdout, statusViaCoordinator)
    let report = elsewhere.appendingPathComponent("r.html").path
    _ = try sweepd(["report", sweep, "--db", copy, "-o", report])
    XCTAssertTrue(try String(contentsOfFile: report, encoding: .utf8).contains("offline"))

    // What needs the coordinator says so; a file that is not a store is named.
    let refused = try SweepdProcess.run(["status", "--db", file.path])
    XCTAssertEqual(refused.status, 1)
    XCTAssertTrue(refused.stderr.contains("cannot be read as a store"), refused.stderr)
    let missing = try SweepdProcess.run(["leaderboard", sweep, "--db", directory.path + "/none.db"])
    XCTAssertTrue(missing.stderr.contains("none.db: no such file"), missing.stderr)

    // Export, every format, loaded by pandas without cleaning.
    for what in ["trials", "epochs"] {
      for format in ["csv", "jsonl", "parquet"] {
        _ = try sweepd([
          "export", sweep, "--db", copy, "--what", what, "-o",
          elsewhere.appendingPathComponent("\(what).\(format)").path,
        ])
      }
    }
    let check = elsewhere.appendingPathComponent("check.py")
    try #"""
    import json, sys
    import pandas as pd
    out = {}
    for what in ["trials", "epochs"]:
        frames = [pd.read_csv(what + ".csv"), pd.read_json(what + ".jsonl", lines=True),
                  pd.read_parquet(what + ".parquet")]
        for other in frames[1:]:
            pd.testing.assert_frame_equal(frames[0], other, check_dtype=False)
        frame = frames[2]
        out[what] = {"rows": len(frame), "columns": list(frame.columns),
                     "dtypes": {c: str(t) for c, t in frame.dtypes.items()}}
    trials = pd.read_parquet("trials.parquet")
    epochs = pd.read_parquet("epochs.parquet")
    out["top"] = {"trial": int(trials.trial[0]), "best": float(trials.best[0]), "optimizer": trials.optimizer[0]}
    # The curves agree with the trials: each trial's epochs, and its best value at its best epoch.
    merged = epochs.merge(trials[["trial", "best", "best_epoch", "epochs"]], on="trial")
    at_best = merged[merged.epoch == merged.best_epoch]
    out["best_matches"] = bool(((at_best.val_error - at_best.best).abs() < 1e-12).all()) and len(at_best) == len(trials)
    per_trial = epochs.groupby("trial").size().sort_index()
    out["epochs_match"] = bool((per_trial == trials.set_index("trial").epochs.sort_index()).all())
    json.dump(out, sys.stdout)
    """#.write(to: check, atomically: true, encoding: .utf8)
    let python = Process()
    python.executableURL = URL(fileURLWithPath: try pandasPython())
    python.arguments = [check.path]
    python.currentDirectoryURL = elsewhere
    let pipe = Pipe(), errors = Pipe()
    python.standardOutput = pipe
    python.standardError = errors
    try python.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    let stderr = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    python.waitUntilExit()
    XCTAssertEqual(python.terminationStatus, 0, stderr)
    let result = try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    let trials = try XCTUnwrap(result["trials"] as? [String: Any])
    XCTAssertEqual(trials["rows"] as? Int, 6)
    XCTAssertEqual(
      trials["columns"] as? [String],
      [
        "sweep", "trial", "rank", "index", "configuration", "attempt", "status", "optimizer", "lr", "best",
        "best_epoch", "result", "result_epoch", "epochs", "seconds", "message",
      ])
    let dtypes = try XCTUnwrap(trials["dtypes"] as? [String: String])
    XCTAssertEqual(dtypes["lr"], "float64")
    XCTAssertEqual(dtypes["trial"], "int64")
    let epochs = try XCTUnwrap(result["epochs"] as? [String: Any])
    XCTAssertEqual(epochs["rows"] as? Int, 120, "6 trials × 20 epochs")
    XCTAssertEqual(
      Array((epochs["columns"] as? [String] ?? []).prefix(4)), ["trial", "attempt", "epoch", "val_error"])
    XCTAssertEqual(result["best_matches"] as? Bool, true)
    XCTAssertEqual(result["epochs_match"] as? Bool, true)
    let board = try JSONSerialization.jsonObject(with: Data(viaCoordinator.utf8)) as? [String: Any]
    let first = try XCTUnwrap((board?["trials"] as? [[String: Any]])?.first)
    let top = try XCTUnwrap(result["top"] as? [String: Any])
    XCTAssertEqual(top["trial"] as? Int, first["trial"] as? Int)
    XCTAssertEqual(top["best"] as? Double, (first["best"] as? [String: Any])?["value"] as? Double)
  }

  /// A sweep's trials as the leaderboard lists them, by trial index.
  func trialsByIndex(_ sweep: String, _ coordinator: String) throws -> [[String: Any]] {
    try leaderboard(coordinator, sweep).sorted { ($0["index"] as? Int ?? 0) < ($1["index"] as? Int ?? 0) }
  }

  /// `pause --stop-running` stops the running trial and starts nothing, across a coordinator
  /// restart; `resume` finishes the sweep with the stopped trial's attempt not counted;
  /// `extend` runs a completed random sweep on, with exactly the trials the larger run_cap
  /// would have had (as `sweepd expand` lists them).
  func testPauseResumeAndExtendSurviveARestart() throws {
    let file = directory.appendingPathComponent("manage.yaml")
    try """
    method: random
    run_cap: 4
    seed: 9
    max_attempts: 1
    metric: {name: val_error, goal: minimize}
    data: {dataset: spirals, samples: 1200}
    model: {kind: mlp, hidden: [32, 32]}
    training: {epochs: 40, batch_size: 16}
    parameters:
      lr: {distribution: log_uniform_values, min: 0.001, max: 0.03}
    """.write(to: file, atomically: true, encoding: .utf8)
    let db = directory.appendingPathComponent("manage.db").path
    let (first, coordinator) = try startCoordinator(db: db)
    _ = try launch(["worker", "--connect", coordinator, "--slots", "1"], name: "worker")
    let sweep = try sweepd(["submit", file.path, "--coordinator", coordinator]).stdout
      .trimmingCharacters(in: .whitespacesAndNewlines)
    // Pause while the first trial runs, stopping it.
    var deadline = Date().addingTimeInterval(60)
    while Date() < deadline,
      try counts(sweepd(["status", sweep, "--db", db, "--format", "json"]).stdout)["running"] == nil
    {
      usleep(50_000)
    }
    let paused = try sweepd(["pause", sweep, "--stop-running", "--coordinator", coordinator]).stdout
    XCTAssertTrue(paused.contains("\(sweep) paused: no trial starts until `sweepd resume \(sweep)`"), paused)
    // The stopped trial is pending again (requeued, its attempt not counted).
    deadline = Date().addingTimeInterval(30)
    var byState: [String: Int] = [:]
    while Date() < deadline {
      byState = try counts(sweepd(["status", sweep, "--db", db, "--format", "json"]).stdout)
      if byState["running"] == nil && byState["pending"] != nil { break }
      usleep(50_000)
    }
    XCTAssertNil(byState["running"], "\(byState)")
    // A restart keeps it paused: the worker reconnects and still nothing starts.
    kill(first.processIdentifier, SIGKILL)
    first.waitUntilExit()
    let (_, log) = try launch(["coordinator", "--bind", coordinator, "--db", db], name: "coordinator-2")
    _ = try wait(for: "coordinator at", in: log, seconds: 30)
    var status = ""
    deadline = Date().addingTimeInterval(30)
    while Date() < deadline {
      status = try sweepd(["status", sweep, "--coordinator", coordinator, "--format", "json"]).stdout
      if status.contains(#""workers":1"#) { break }
      usleep(50_000)
    }
    XCTAssertTrue(status.contains(#""workers":1"#), "the worker did not reconnect: \(status)")
    XCTAssertTrue(status.contains(#""state":"paused""#), status)
    XCTAssertNil(try counts(status)["running"], status)
    XCTAssertNotEqual(
      try SweepdProcess.run(["resume", "nope-1", "--coordinator", coordinator]).status, 0, "an unknown sweep")
    let resumed = try sweepd(["resume", sweep, "--coordinator", coordinator]).stdout
    XCTAssertTrue(resumed.contains("\(sweep) running"), resumed)
    try waitUntilComplete(coordinator, sweep, seconds: 180)
    let before = try trialsByIndex(sweep, coordinator)
    XCTAssertEqual(before.count, 4)
    XCTAssertTrue(
      before.allSatisfy { $0["status"] as? String == "completed" },
      "max_attempts 1, yet the stopped trial completed: \(before)")
    XCTAssertEqual(before.first?["attempt"] as? Int, 2, "the paused attempt was stopped and run again")

    // Extend: 3 more trials, the ones a run_cap of 7 gives.
    let refused = try SweepdProcess.run(["extend", sweep, "--run-cap", "3", "--coordinator", coordinator])
    XCTAssertTrue(refused.stderr.contains("run_cap 3 is not more than the 4 trials it has"), refused.stderr)
    let extended = try sweepd(["extend", sweep, "--run-cap", "7", "--coordinator", coordinator]).stdout
    XCTAssertTrue(extended.contains("\(sweep) running: run_cap 7: 3 more trials"), extended)
    try waitUntilComplete(coordinator, sweep, seconds: 180)
    let after = try trialsByIndex(sweep, coordinator)
    XCTAssertEqual(after.count, 7)
    for (old, new) in zip(before, after) {
      XCTAssertEqual(old["trial"] as? Int, new["trial"] as? Int)
      XCTAssertEqual(
        (old["best"] as? [String: Any])?["value"] as? Double,
        (new["best"] as? [String: Any])?["value"] as? Double)
    }
    let longer = directory.appendingPathComponent("longer.yaml")
    try String(contentsOf: file, encoding: .utf8).replacingOccurrences(of: "run_cap: 4", with: "run_cap: 7")
      .write(to: longer, atomically: true, encoding: .utf8)
    let expanded = try sweepd(["expand", longer.path, "--format", "json"]).stdout
    let planned = try expanded.split(separator: "\n").map {
      try XCTUnwrap(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
    }
    XCTAssertEqual(planned.count, 7)
    for (plan, trial) in zip(planned, after) {
      let a = (plan["parameters"] as? [String: Any])?["lr"] as? Double
      let b = (trial["params"] as? [String: Any])?["lr"] as? Double
      XCTAssertEqual(a, b, "trial \(trial["index"] ?? "?")")
    }
  }

  /// `best --as-config` gives a trial config that `sweepd train --config` turns into the
  /// very same model (same seed: the same best value at the same epoch); for a program sweep,
  /// the command line the best trial ran.
  func testBestAsConfigRerunsTheBestTrial() throws {
    let file = directory.appendingPathComponent("best.yaml")
    try """
    method: random
    run_cap: 4
    seed: 2
    metric: {name: val_error, goal: minimize}
    data: {dataset: spirals, samples: 800}
    model: {kind: mlp, hidden: [16]}
    training: {epochs: 8, batch_size: 32}
    parameters:
      optimizer: {values: [adam, rmsprop]}
      lr: {distribution: log_uniform_values, min: 0.003, max: 0.03}
    """.write(to: file, atomically: true, encoding: .utf8)
    let db = directory.appendingPathComponent("best.db").path
    _ = try sweepd(["run", file.path, "--workers", "2", "--db", db])
    let board = try sweepd(["leaderboard", "--db", db, try sweepId(db), "--format", "json"]).stdout
    let top = try XCTUnwrap(
      ((try JSONSerialization.jsonObject(with: Data(board.utf8)) as? [String: Any])?["trials"]
        as? [[String: Any]])?
        .first)
    let best = try XCTUnwrap(top["best"] as? [String: Any])
    let config = try sweepd(["best", try sweepId(db), "--db", db, "--as-config"]).stdout
    XCTAssertTrue(config.contains("seed: \(top["seed"] as? String ?? "?")"), config)
    let rerun = directory.appendingPathComponent("rerun.yaml")
    try config.write(to: rerun, atomically: true, encoding: .utf8)
    let trained = try sweepd(["train", "--config", rerun.path]).stdout
    let expected = String(
      format: "best val_error %g at epoch %d", best["value"] as? Double ?? .nan, best["epoch"] as? Int ?? 0)
    XCTAssertTrue(trained.contains(expected), "expected '\(expected)' in: \(trained.suffix(300))")

    // A program sweep: its command line, nested values as W&B's agent writes them.
    let code = directory.appendingPathComponent("code")
    try FileManager.default.createDirectory(at: code, withIntermediateDirectories: true)
    try "import wandb\nwandb.init()\nwandb.log({'loss': wandb.config.optimizer['lr']})\n".write(
      to: code.appendingPathComponent("t.py"), atomically: true, encoding: .utf8)
    try """
    program: t.py
    method: grid
    metric: {name: loss, goal: minimize}
    parameters:
      optimizer:
        parameters:
          lr: {values: [0.5, 0.25]}
          name: {value: adam}
    """.write(to: code.appendingPathComponent("s.yaml"), atomically: true, encoding: .utf8)
    let programDB = directory.appendingPathComponent("program.db").path
    let run = try SweepdProcess.run(
      ["run", code.appendingPathComponent("s.yaml").path, "--workers", "1", "--db", programDB],
      environment: ["XDG_CACHE_HOME": directory.path + "/cache"], in: code)
    XCTAssertEqual(run.status, 0, run.stderr)
    let line = try sweepd(["best", try sweepId(programDB), "--db", programDB, "--as-config"]).stdout
      .split(separator: "\n").last.map(String.init)
    XCTAssertTrue(
      line?.hasSuffix(" t.py '--optimizer={'\\''lr'\\'': 0.25, '\\''name'\\'': '\\''adam'\\''}'") ?? false,
      line ?? "")
  }

  /// `enqueue`: a completed sweep runs one more trial with the values given (the others
  /// sampled), even when the coordinator is killed before any worker took it; values the
  /// parameters cannot take and unknown names are refused with what is allowed.
  func testEnqueueRunsATrialWithTheGivenValues() throws {
    let file = directory.appendingPathComponent("enqueue.yaml")
    try """
    method: random
    run_cap: 3
    seed: 5
    metric: {name: val_error, goal: minimize}
    data: {dataset: spirals, samples: 600}
    model: {kind: mlp, hidden: [16]}
    training: {epochs: 4, batch_size: 32}
    parameters:
      optimizer: {values: [sgd, rmsprop]}
      lr: {distribution: log_uniform_values, min: 0.001, max: 0.1}
      model.hidden: {values: [[16], [32]]}
    """.write(to: file, atomically: true, encoding: .utf8)
    let db = directory.appendingPathComponent("e.db").path
    let (first, coordinator) = try startCoordinator(db: db)
    let (worker, _) = try launch(["worker", "--connect", coordinator, "--slots", "2"], name: "worker")
    let sweep = try sweepd(["submit", file.path, "--coordinator", coordinator]).stdout
      .trimmingCharacters(in: .whitespacesAndNewlines)
    try waitUntilComplete(coordinator, sweep, seconds: 120)
    // No worker while the trial is enqueued, so it is still pending when the coordinator dies.
    worker.terminate()
    worker.waitUntilExit()
    let refusals: [([String], String)] = [
      (["--set", "lrr=0.01"], "'lrr' is not a parameter of sweep \(sweep) (did you mean 'lr'?)"),
      (["--set", "lr=0.5"], "lr=0.5: not a value of this parameter, which takes a number in 0.001…0.1"),
      (
        ["--set", "optimizer=adam"],
        "optimizer=adam: not a value of this parameter, which takes one of sgd, rmsprop"
      ),
    ]
    for (arguments, message) in refusals {
      let refused = try SweepdProcess.run(["enqueue", sweep] + arguments + ["--coordinator", coordinator])
      XCTAssertNotEqual(refused.status, 0)
      XCTAssertTrue(refused.stderr.contains(message), refused.stderr)
    }
    let enqueued = try sweepd([
      "enqueue", sweep, "--set", "optimizer=rmsprop", "--set", "lr=0.005", "--set", "model.hidden=[32]",
      "--coordinator", coordinator,
    ]).stdout
    XCTAssertTrue(
      enqueued.contains("\(sweep) running: trial 4 enqueued (lr=0.005 model.hidden=[32] optimizer=rmsprop)"),
      enqueued)
    // The enqueued trial was written before the reply: a killed coordinator loses nothing.
    kill(first.processIdentifier, SIGKILL)
    first.waitUntilExit()
    let (_, log) = try launch(["coordinator", "--bind", coordinator, "--db", db], name: "coordinator-2")
    _ = try wait(for: "coordinator at", in: log, seconds: 30)
    _ = try launch(["worker", "--connect", coordinator, "--slots", "2"], name: "worker-2")
    try waitUntilComplete(coordinator, sweep, seconds: 120)
    let trials = try trialsByIndex(sweep, coordinator)
    XCTAssertEqual(trials.count, 4)
    let added = try XCTUnwrap(trials.last)
    XCTAssertEqual(added["status"] as? String, "completed")
    let params = try XCTUnwrap(added["params"] as? [String: Any])
    XCTAssertEqual(params["lr"] as? Double, 0.005)
    XCTAssertEqual(params["optimizer"] as? String, "rmsprop")
    XCTAssertEqual(params["model.hidden"] as? [Int], [32])
  }

  /// A paired sweep end to end: `repeats: {count: 5, seeds: shared}` and `--group-by`
  /// give each optimizer's comparison with the best one over its 5 matched seeds.
  func testAPairedSweepComparesGroupsOverMatchedSeeds() throws {
    let file = directory.appendingPathComponent("paired.yaml")
    try """
    method: grid
    repeats: {count: 5, seeds: shared}
    metric: {name: val_loss, goal: minimize}
    data: {dataset: spirals, samples: 600}
    model: {kind: mlp, hidden: [16]}
    training: {epochs: 5, batch_size: 32}
    parameters:
      optimizer: {values: [adam, sgd]}
    """.write(to: file, atomically: true, encoding: .utf8)
    let output = try sweepd([
      "run", file.path, "--workers", "2", "--db", directory.appendingPathComponent("p.db").path, "--format",
      "json",
      "--group-by", "optimizer",
    ]).stdout
    let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any])
    let trials = try XCTUnwrap(json["trials"] as? [[String: Any]])
    XCTAssertEqual(trials.count, 10)
    let seeds = Dictionary(grouping: trials) {
      ($0["params"] as? [String: Any])?["optimizer"] as? String ?? ""
    }
    .mapValues { Set($0.compactMap { $0["seed"] as? String }) }
    XCTAssertEqual(seeds["adam"], seeds["sgd"], "each repeat's seed is shared by both optimizers")
    let groups = try XCTUnwrap(json["groups"] as? [[String: Any]])
    XCTAssertNil(groups[0]["comparison"])
    let comparison = try XCTUnwrap(groups[1]["comparison"] as? [String: Any])
    XCTAssertEqual(comparison["test"] as? String, "signed-rank")
    XCTAssertEqual(comparison["n"] as? Int, 5)
    XCTAssertNotNil(comparison["p"] as? Double)
  }

  /// The one sweep in a store.
  func sweepId(_ db: String) throws -> String {
    let status = try sweepd(["status", "--db", db, "--format", "json"]).stdout
    let sweeps = (try JSONSerialization.jsonObject(with: Data(status.utf8)) as? [String: Any])?["sweeps"]
    return try XCTUnwrap((sweeps as? [[String: Any]])?.first?["sweep"] as? String)
  }
}
