import Foundation
import XCTest

/// Program sweeps with real processes: the user's own script as the trial, W&B's command
/// line, metrics on the channel, stopping, failures, GPUs, and crashes of workers and
/// coordinators. Every program records what it saw in `RECORD_DIR` (one JSON file per
/// process: argv, environment, pid, its child's pid, times).
final class ProgramSweepTests: DaemonTestCase {
  var code: URL!
  var records: URL!

  override func setUpWithError() throws {
    try super.setUpWithError()
    code = directory.appendingPathComponent("code")
    records = directory.appendingPathComponent("records")
    try FileManager.default.createDirectory(at: code, withIntermediateDirectories: true)
    try FileManager.default.createDirectory(at: records, withIntermediateDirectories: true)
    try Self.program.write(to: code.appendingPathComponent("prog.py"), atomically: true, encoding: .utf8)
  }

  /// The program every test runs. Parameters (argparse, from `${args}`): mode, steps, delay,
  /// quality. It reports `loss = quality + 1/step` per step on the metrics channel.
  static let program = #"""
    import argparse, json, os, signal, subprocess, sys, time
    parser = argparse.ArgumentParser()
    parser.add_argument("--mode", default="ok")
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--delay", type=float, default=0.0)
    parser.add_argument("--quality", type=float, default=0.0)
    parser.add_argument("--child", default="False")
    args, rest = parser.parse_known_args()
    record = {
        "argv": sys.argv[1:], "pid": os.getpid(), "cwd": os.getcwd(), "start": time.time(),
        "env": {k: v for k, v in os.environ.items() if k.startswith("SWEEPD_") or k == "CUDA_VISIBLE_DEVICES"},
        "params": json.load(open(os.environ["SWEEPD_PARAMS_FILE"])),
    }
    if args.child == "True":
        record["child"] = subprocess.Popen(["sleep", "300"]).pid
    name = os.path.join(os.environ["RECORD_DIR"], "%s-%s-%d.json" % (
        os.environ["SWEEPD_TRIAL_ID"], os.environ["SWEEPD_ATTEMPT"], os.getpid()))
    def save():
        with open(name + ".tmp", "w") as f: json.dump(record, f)
        os.replace(name + ".tmp", name)
    save()
    if args.mode == "trap":
        signal.signal(signal.SIGTERM, lambda *_: None)
    metrics = os.fdopen(int(os.environ["SWEEPD_METRICS_FD"]), "w", buffering=1)
    print("hello from trial", os.environ["SWEEPD_TRIAL_ID"])
    if args.mode == "fail":
        print("boom: the program failed", file=sys.stderr)
        sys.exit(3)
    if args.mode == "sleep":
        time.sleep(60)
    if args.mode == "nometric":
        metrics.write(json.dumps({"accuracy": 0.5}) + "\n")
        sys.exit(0)
    for step in range(1, args.steps + 1):
        loss = float("nan") if args.mode == "nan" and step == 2 else args.quality + 1.0 / step
        metrics.write(json.dumps({"loss": loss, "step": step}) + "\n")
        time.sleep(args.delay)
    record["end"] = time.time()
    save()
    """#

  func write(_ name: String, _ text: String) throws -> URL {
    let file = code.appendingPathComponent(name)
    try text.write(to: file, atomically: true, encoding: .utf8)
    return file
  }

  /// Every record the programs wrote.
  func recorded() throws -> [[String: Any]] {
    try FileManager.default.contentsOfDirectory(atPath: records.path).filter { $0.hasSuffix(".json") }.map {
      let data = try Data(contentsOf: records.appendingPathComponent($0))
      return try JSONSerialization.jsonObject(with: data) as! [String: Any]
    }
  }

  func alive(_ pid: Int) -> Bool {
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8) else { return false }
    let state = stat.split(separator: ")").last?.split(separator: " ").first
    return state != "Z" && state != "X"
  }

  /// Fails unless every process `pids` names has gone within `seconds`.
  func assertGone(_ pids: [Int], within seconds: Double, _ what: String) {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline && pids.contains(where: alive) { usleep(50_000) }
    let left = pids.filter(alive)
    XCTAssertEqual(left, [], "\(what) still running: \(left)")
    for pid in left { kill(pid_t(pid), SIGKILL) }
  }

  var environment: [String: String] {
    ["RECORD_DIR": records.path, "XDG_CACHE_HOME": directory.path + "/cache"]
  }

  func run(_ config: URL, _ extra: [String] = []) throws -> SweepdProcess.Output {
    try SweepdProcess.run(
      [
        "run", config.path, "--workers", "2", "--db", directory.appendingPathComponent("run.db").path,
        "--format", "json",
      ] + extra,
      environment: environment, in: code)
  }

  func trials(_ output: SweepdProcess.Output) throws -> [[String: Any]] {
    let object = try JSONSerialization.jsonObject(with: Data(output.stdout.utf8)) as? [String: Any]
    return object?["trials"] as? [[String: Any]] ?? []
  }

  /// Submits `config` to the coordinator at `endpoint`; the sweep id.
  func submit(_ config: URL, to endpoint: String) throws -> String {
    let output = try SweepdProcess.run(["submit", config.path, "--coordinator", endpoint])
    XCTAssertEqual(output.status, 0, output.stderr)
    return output.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
  }

  /// Waits (up to 30 s) until `count` programs have written records that pass `filter`.
  func waitForRecords(_ count: Int, where filter: ([String: Any]) -> Bool = { _ in true }) throws {
    let deadline = Date().addingTimeInterval(30)
    while Date() < deadline, try recorded().filter(filter).count < count { usleep(50_000) }
    XCTAssertGreaterThanOrEqual(try recorded().filter(filter).count, count, "programs did not start in 30 s")
  }

  /// A leaderboard row's parameters, each as text.
  func params(_ row: [String: Any]) -> [String: String] {
    (row["params"] as? [String: Any] ?? [:]).mapValues { "\($0)" }
  }

  /// A leaderboard row's best value.
  func best(_ row: [String: Any]) -> Double {
    ((row["best"] as? [String: Any])?["value"] as? Double) ?? .nan
  }

  // MARK: The command line

  /// argparse with W&B's default command: values arrive as Python writes them, and the
  /// leaderboard ranks by the program's own metric.
  func testArgparseProgramWithTheDefaultCommand() throws {
    let config = try write(
      "sweep.yaml",
      """
      program: prog.py
      method: grid
      metric: {name: loss, goal: minimize}
      parameters:
        quality: {values: [0.5, 0.25, 1.0]}
        steps: {value: 4}
      """)
    let output = try run(config)
    XCTAssertEqual(output.status, 0, output.stderr)
    let rows = try trials(output)
    XCTAssertEqual(rows.map { $0["status"] as? String }, ["completed", "completed", "completed"])
    XCTAssertEqual((rows[0]["params"] as? [String: Any])?["quality"] as? Double, 0.25)
    XCTAssertEqual(best(rows[0]), 0.5, accuracy: 1e-12, "0.25 + 1/4")
    XCTAssertEqual(rows[0]["epochs"] as? Int, 4)
    let seen = try recorded()
    XCTAssertEqual(seen.count, 3)
    for record in seen {
      let argv = record["argv"] as! [String]
      XCTAssertEqual(argv.count, 2, "\(argv)")
      XCTAssertTrue(argv[0].hasPrefix("--quality="), "\(argv)")
      XCTAssertEqual(argv[1], "--steps=4")
      let env = record["env"] as! [String: String]
      XCTAssertNotNil(env["SWEEPD_SWEEP_ID"])
      XCTAssertEqual(env["SWEEPD_ATTEMPT"], "1")
      XCTAssertEqual(env["SWEEPD_METRICS_FD"], "3")
      XCTAssertNil(env["CUDA_VISIBLE_DEVICES"], "no GPUs configured: left alone")
      XCTAssertEqual((record["params"] as! [String: Any])["steps"] as? Int, 4)
      // It ran in its own attempt directory, not in the code directory.
      XCTAssertTrue((record["cwd"] as! String).contains("trial-"), "\(record["cwd"]!)")
    }
  }

  /// Every macro of W&B's command, with Python's formatting of each kind of value and
  /// `${envvar:…}` inside an element.
  func testEveryMacroBuildsTheArgumentsAsWandBDoes() throws {
    let config = try write(
      "macros.yaml",
      """
      program: prog.py
      method: grid
      metric: {name: loss, goal: minimize}
      command:
        - ${env}
        - ${interpreter}
        - ${program}
        - "--mode=ok"
        - "|"
        - ${args}
        - "|"
        - ${args_no_hyphens}
        - "|"
        - ${args_no_boolean_flags}
        - "|"
        - ${args_no_equals}
        - "|"
        - ${args_json}
        - "|"
        - ${args_append_hydra}
        - "|"
        - ${args_override_hydra}
        - "|"
        - ${no_such_macro}
        - "dir=${envvar:RECORD_DIR}/x"
        - ${args_json_file}
      parameters:
        lr: {value: 1.0e-5}
        amp: {value: true}
        debug: {value: false}
        layers: {value: [1, 2]}
        name: {value: "a b"}
        opt: {value: {beta: 0.5}}
      """)
    let output = try run(config)
    XCTAssertEqual(output.status, 0, output.stderr)
    let argv = try XCTUnwrap(try recorded().first?["argv"] as? [String])
    let groups = argv.split(separator: "|", omittingEmptySubsequences: false).map(Array.init)
    XCTAssertEqual(groups.count, 9, "\(argv)")
    XCTAssertEqual(groups[0], ["--mode=ok"])
    XCTAssertEqual(
      groups[1],
      ["--lr=1e-05", "--amp=True", "--debug=False", "--layers=[1, 2]", "--name=a b", "--opt={'beta': 0.5}"])
    XCTAssertEqual(
      groups[2], ["lr=1e-05", "amp=True", "debug=False", "layers=[1, 2]", "name=a b", "opt={'beta': 0.5}"])
    XCTAssertEqual(
      groups[3], ["--lr=1e-05", "--amp", "--layers=[1, 2]", "--name=a b", "--opt={'beta': 0.5}"])
    XCTAssertEqual(
      groups[4],
      [
        "--lr", "1e-05", "--amp", "True", "--debug", "False", "--layers", "[1, 2]", "--name", "a b", "--opt",
        "{'beta': 0.5}",
      ])
    XCTAssertEqual(
      groups[5],
      [#"{"lr": 1e-05, "amp": true, "debug": false, "layers": [1, 2], "name": "a b", "opt": {"beta": 0.5}}"#])
    XCTAssertEqual(
      groups[6],
      ["+lr=1e-05", "+amp=True", "+debug=False", "+layers=[1, 2]", "+name=a b", "+opt={'beta': 0.5}"])
    XCTAssertEqual(
      groups[7],
      ["++lr=1e-05", "++amp=True", "++debug=False", "++layers=[1, 2]", "++name=a b", "++opt={'beta': 0.5}"])
    // The unknown macro is gone; the variable is substituted; the JSON file holds the JSON.
    XCTAssertEqual(groups[8].count, 2, "\(groups[8])")
    XCTAssertEqual(groups[8][0], "dir=\(records.path)/x")
    XCTAssertEqual(try String(contentsOfFile: groups[8][1], encoding: .utf8), groups[5][0])
    XCTAssertTrue(output.stderr.contains("unknown macro '${no_such_macro}'"), output.stderr)
  }

  /// A shell script reports on the metrics descriptor with `echo … >&$SWEEPD_METRICS_FD`.
  func testAShellScriptReportsOnTheMetricsDescriptor() throws {
    _ = try write(
      "train.sh",
      """
      #!/bin/sh
      for step in 1 2 3; do
        echo "{\\"val/loss\\": $(echo "$2 / $step" | bc -l 2>/dev/null || echo $2)}" >&$SWEEPD_METRICS_FD
      done
      """)
    chmod(code.appendingPathComponent("train.sh").path, 0o755)
    let config = try write(
      "shell.yaml",
      """
      program: train.sh
      command: ["/bin/sh", "${program}", "${args_no_equals}"]
      method: grid
      metric: {name: val/loss, goal: minimize}
      parameters:
        scale: {values: [3, 6]}
      """)
    let output = try run(config)
    XCTAssertEqual(output.status, 0, output.stderr)
    let rows = try trials(output)
    XCTAssertEqual(rows.count, 2)
    XCTAssertEqual(rows.map { $0["status"] as? String }, ["completed", "completed"])
    XCTAssertEqual(rows.first?["epochs"] as? Int, 3)
    let best = self.best(rows[0])
    // With bc: 3/3 = 1; without it the script reports the scale itself (3).
    XCTAssertTrue(abs(best - 1) < 1e-9 || best == 3, "\(best)")
  }

  // MARK: Outcomes

  /// A failing program (retried, stderr in the message, its output kept per attempt), one
  /// that never reports the metric, one past max_seconds, one that reports NaN.
  func testFailureNoMetricTimeoutAndDivergence() throws {
    let config = try write(
      "outcomes.yaml",
      """
      program: prog.py
      method: grid
      metric: {name: loss, goal: minimize}
      max_attempts: 2
      max_seconds: 1
      parameters:
        mode: {values: [fail, nometric, sleep, nan, ok]}
      """)
    let coordinator = try launchCoordinator(["--db", directory.appendingPathComponent("c.db").path])
    _ = try launch(
      ["worker", "--connect", coordinator.endpoint, "--slots", "2", "--allow-programs", "--kill-grace", "1"],
      name: "worker", environment: environment)
    let sweep = try submit(config, to: coordinator.endpoint)
    try waitUntilComplete(coordinator.endpoint, sweep, seconds: 60)
    let rows = try leaderboard(coordinator.endpoint, sweep)
    func row(_ mode: String) -> [String: Any]? {
      rows.first { ($0["params"] as? [String: Any])?["mode"] as? String == mode }
    }
    XCTAssertEqual(row("ok")?["status"] as? String, "completed")
    XCTAssertEqual(row("fail")?["status"] as? String, "failed")
    let failure = row("fail")?["message"] as? String ?? ""
    XCTAssertTrue(failure.contains("exited with status 3") && failure.contains("boom"), failure)
    XCTAssertEqual(row("nometric")?["status"] as? String, "failed")
    let missing = row("nometric")?["message"] as? String ?? ""
    XCTAssertTrue(missing.contains("never reported loss") && missing.contains("accuracy"), missing)
    XCTAssertEqual(row("sleep")?["status"] as? String, "failed")
    XCTAssertTrue(
      (row("sleep")?["message"] as? String ?? "").contains("timed out after 1 s"), "\(row("sleep") ?? [:])")
    XCTAssertEqual(row("nan")?["status"] as? String, "diverged")
    // The failing program ran twice (max_attempts 2); each attempt's output is kept.
    let failingTrial = try XCTUnwrap(row("fail")?["trial"] as? Int)
    XCTAssertEqual(
      try recorded().filter { ($0["env"] as? [String: String])?["SWEEPD_TRIAL_ID"] == "\(failingTrial)" }
        .count, 2)
    for attempt in ["1", "2"] {
      let logs = try SweepdProcess.run(
        ["logs", String(failingTrial), "--attempt", attempt, "--coordinator", coordinator.endpoint])
      XCTAssertEqual(logs.status, 0, logs.stderr)
      XCTAssertTrue(logs.stdout.contains("hello from trial \(failingTrial)"), logs.stdout)
      XCTAssertTrue(logs.stderr.contains("boom: the program failed"), logs.stderr)
    }
  }

  // MARK: Stopping and process hygiene

  /// ASHA stops program trials; a stopped program is gone within the grace period with the
  /// child it started, and one that ignores SIGTERM is killed when the grace runs out.
  func testASHAStopsProgramsAndTheirChildrenAndAProgramIgnoringSIGTERM() throws {
    let config = try write(
      "asha.yaml",
      """
      program: prog.py
      method: grid
      metric: {name: loss, goal: minimize}
      early_terminate: {type: asha, min_epochs: 2, eta: 2}
      parameters:
        quality: {values: [0.0, 5.0, 6.0, 7.0]}
        mode: {values: [ok, trap]}
        child: {value: true}
        steps: {value: 40}
        delay: {value: 0.05}
      """)
    let output = try run(config, ["--kill-grace", "1"])
    XCTAssertEqual(output.status, 0, output.stderr)
    let rows = try trials(output)
    XCTAssertEqual(rows.count, 8)
    let stopped = rows.filter { $0["status"] as? String == "early_stopped" }
    XCTAssertGreaterThan(stopped.count, 0, "\(rows)")
    XCTAssertTrue(
      stopped.contains { ($0["params"] as? [String: Any])?["mode"] as? String == "trap" },
      "a program ignoring SIGTERM was stopped too: \(rows)")
    let seen = try recorded()
    XCTAssertEqual(seen.count, 8)
    assertGone(
      seen.map { $0["pid"] as! Int } + seen.compactMap { $0["child"] as? Int }, within: 5,
      "programs or their children")
  }

  // MARK: Where programs run

  /// A worker without --allow-programs never gets a program trial, and status says what
  /// the sweep waits for; one with it runs them all.
  func testOnlyWorkersThatAllowProgramsRunThem() throws {
    let config = try write(
      "sweep.yaml",
      """
      program: prog.py
      method: grid
      metric: {name: loss, goal: minimize}
      parameters:
        quality: {values: [1, 2, 3, 4]}
      """)
    let coordinator = try launchCoordinator(["--db", directory.appendingPathComponent("c.db").path])
    _ = try launch(
      ["worker", "--connect", coordinator.endpoint, "--slots", "2", "--name", "plain"], name: "plain",
      environment: environment)
    let first = try SweepdProcess.run(["submit", config.path, "--coordinator", coordinator.endpoint])
    XCTAssertTrue(first.stderr.contains("uploaded code"), first.stderr)
    let sweep = first.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    let deadline = Date().addingTimeInterval(30)
    var status = ""
    while Date() < deadline {
      status = try SweepdProcess.run(["status", sweep, "--coordinator", coordinator.endpoint]).stdout
      if status.contains("waiting for a worker that runs programs") { break }
      usleep(100_000)
    }
    XCTAssertTrue(status.contains("waiting for a worker that runs programs"), status)
    XCTAssertTrue(status.contains("4 pending"), status)
    _ = try launch(
      ["worker", "--connect", coordinator.endpoint, "--slots", "2", "--name", "runner", "--allow-programs"],
      name: "runner", environment: environment)
    try waitUntilComplete(coordinator.endpoint, sweep, seconds: 60)
    let workers = Set(try recorded().map { ($0["env"] as! [String: String])["SWEEPD_WORKER"] ?? "?" })
    XCTAssertEqual(workers, ["runner"])
    // The same code again: its snapshot has the same digest, and nothing is uploaded.
    let again = try SweepdProcess.run(["submit", config.path, "--coordinator", coordinator.endpoint])
    XCTAssertEqual(again.status, 0, again.stderr)
    XCTAssertFalse(again.stderr.contains("uploaded"), again.stderr)
  }

  /// Three 1-GPU trials on a worker with GPUs 0 and 1: each sees one GPU, never one another
  /// running trial has.
  func testGPUTrialsNeverShareAGPU() throws {
    let config = try write(
      "gpu.yaml",
      """
      program: prog.py
      method: grid
      metric: {name: loss, goal: minimize}
      resources: {gpus: 1}
      parameters:
        quality: {values: [1, 2, 3]}
        steps: {value: 4}
        delay: {value: 0.1}
      """)
    let output = try SweepdProcess.run(
      [
        "run", config.path, "--workers", "3", "--gpus", "0,1", "--db",
        directory.appendingPathComponent("g.db").path,
      ],
      environment: environment, in: code)
    XCTAssertEqual(output.status, 0, output.stderr)
    let seen = try recorded()
    XCTAssertEqual(seen.count, 3)
    let spans = seen.map {
      (
        gpu: ($0["env"] as! [String: String])["CUDA_VISIBLE_DEVICES"] ?? "none",
        start: $0["start"] as! Double,
        end: $0["end"] as? Double ?? .infinity
      )
    }
    for span in spans { XCTAssertTrue(["0", "1"].contains(span.gpu), "\(span.gpu)") }
    for (i, a) in spans.enumerated() {
      for b in spans[(i + 1)...] where a.gpu == b.gpu {
        XCTAssertTrue(a.end <= b.start || b.end <= a.start, "two trials on GPU \(a.gpu) at once: \(spans)")
      }
    }
  }

  // MARK: Crashes

  /// A worker killed with SIGKILL leaves no program (nor its child) running, and its trials
  /// complete on another worker.
  func testAKilledWorkerLeavesNoProgramAndItsTrialsCompleteElsewhere() throws {
    let config = try write(
      "slow.yaml",
      """
      program: prog.py
      method: grid
      metric: {name: loss, goal: minimize}
      parameters:
        quality: {values: [1, 2]}
        child: {value: true}
        steps: {value: 20}
        delay: {value: 0.1}
      """)
    let coordinator = try launchCoordinator(["--db", directory.appendingPathComponent("c.db").path])
    let (doomed, _) = try launch(
      ["worker", "--connect", coordinator.endpoint, "--slots", "2", "--allow-programs", "--name", "doomed"],
      name: "doomed", environment: environment)
    let sweep = try submit(config, to: coordinator.endpoint)
    try waitForRecords(2) { $0["child"] != nil }
    let first = try recorded()
    XCTAssertEqual(first.count, 2)
    kill(doomed.processIdentifier, SIGKILL)
    assertGone(
      first.map { $0["pid"] as! Int } + first.compactMap { $0["child"] as? Int }, within: 5,
      "the dead worker's programs")
    _ = try launch(
      ["worker", "--connect", coordinator.endpoint, "--slots", "2", "--allow-programs", "--name", "rescuer"],
      name: "rescuer", environment: environment)
    try waitUntilComplete(coordinator.endpoint, sweep, seconds: 90)
    let rows = try leaderboard(coordinator.endpoint, sweep)
    XCTAssertEqual(rows.map { $0["status"] as? String }, ["completed", "completed"])
    XCTAssertEqual(rows.map { $0["epochs"] as? Int }, [20, 20])
  }

  /// A coordinator killed mid-sweep and restarted: the worker keeps its programs running,
  /// reports on reconnect, and the sweep completes with every step of every trial.
  func testACoordinatorRestartLosesNothing() throws {
    let config = try write(
      "slow.yaml",
      """
      program: prog.py
      method: grid
      metric: {name: loss, goal: minimize}
      parameters:
        quality: {values: [1, 2, 3, 4]}
        steps: {value: 15}
        delay: {value: 0.1}
      """)
    let db = directory.appendingPathComponent("c.db").path
    let first = try launchCoordinator(["--db", db])
    _ = try launch(
      ["worker", "--connect", first.endpoint, "--slots", "2", "--allow-programs"], name: "worker",
      environment: environment)
    let sweep = try submit(config, to: first.endpoint)
    try waitForRecords(2)
    usleep(300_000)
    kill(first.process.processIdentifier, SIGKILL)
    first.process.waitUntilExit()
    _ = try launch(["coordinator", "--bind", first.endpoint, "--db", db], name: "coordinator-again")
    try waitUntilComplete(first.endpoint, sweep, seconds: 90)
    let rows = try leaderboard(first.endpoint, sweep)
    XCTAssertEqual(rows.count, 4)
    XCTAssertEqual(rows.map { $0["status"] as? String }, Array(repeating: "completed", count: 4))
    XCTAssertEqual(rows.map { $0["epochs"] as? Int }, Array(repeating: 15, count: 4))
    for row in rows {
      let quality = try XCTUnwrap((row["params"] as? [String: Any])?["quality"] as? Int)
      XCTAssertEqual(best(row), Double(quality) + 1.0 / 15, accuracy: 1e-9)
    }
  }

  /// `sweepd logs --follow` prints a running program's output as it comes and returns when
  /// the trial ends.
  func testLogsFollowARunningTrialToItsEnd() throws {
    let config = try write(
      "chatty.yaml",
      """
      program: prog.py
      method: grid
      metric: {name: loss, goal: minimize}
      parameters:
        steps: {value: 12}
        delay: {value: 0.1}
      """)
    let coordinator = try launchCoordinator(["--db", directory.appendingPathComponent("c.db").path])
    _ = try launch(
      ["worker", "--connect", coordinator.endpoint, "--slots", "1", "--allow-programs"], name: "worker",
      environment: environment)
    let sweep = try submit(config, to: coordinator.endpoint)
    try waitForRecords(1)
    let trial = try XCTUnwrap((try recorded().first?["env"] as? [String: String])?["SWEEPD_TRIAL_ID"])
    let started = Date()
    let follow = try SweepdProcess.run(
      ["logs", trial, "--follow", "--coordinator", coordinator.endpoint], timeout: 60)
    XCTAssertEqual(follow.status, 0, follow.stderr)
    XCTAssertTrue(follow.stdout.contains("hello from trial \(trial)"), follow.stdout)
    XCTAssertLessThan(Date().timeIntervalSince(started), 30)
    let status = try SweepdProcess.run(["status", sweep, "--coordinator", coordinator.endpoint]).stdout
    XCTAssertTrue(status.contains("completed"), "--follow returned before the trial ended: \(status)")
  }

  // MARK: sweepd's wandb module

  /// A W&B sweep program that takes no arguments: `wandb.init()` / `wandb.config` /
  /// `wandb.log` (nested keys flattened as W&B names them), W&B's run environment, and a
  /// call the module does not cover failing with a message that names it.
  func testAWandBProgramRunsUnchanged() throws {
    _ = try write(
      "wb.py",
      """
      import json, os, sys
      import wandb
      run = wandb.init(project="demo", entity="me", config={"epochs": 3, "lr": 0.5, "width": 8})
      config = wandb.config
      assert wandb.run is run and config.width == 8 and config["lr"] == config.lr
      params = json.load(open(os.environ["WANDB_SWEEP_PARAM_PATH"]))
      assert params["lr"] == {"value": config.lr}, params
      wandb.define_metric("val/loss", summary="min")
      for epoch in range(config.epochs):
          wandb.log({"val": {"loss": config.lr + 1.0 / (epoch + 1)}, "chart": wandb.Image(None)})
      run.summary["note"] = 1
      if config.lr > 0.3:
          wandb.Api()
      wandb.finish()
      """)
    let config = try write(
      "wb.yaml",
      """
      program: wb.py
      method: grid
      max_attempts: 1
      metric: {name: val/loss, goal: minimize}
      parameters:
        lr: {values: [0.1, 0.4]}
      """)
    let output = try run(config)
    let rows = try trials(output)
    let good = try XCTUnwrap(rows.first { ($0["params"] as? [String: Any])?["lr"] as? Double == 0.1 })
    XCTAssertEqual(good["status"] as? String, "completed", "\(good)")
    XCTAssertEqual(good["epochs"] as? Int, 3)
    XCTAssertEqual(best(good), 0.1 + 1.0 / 3, accuracy: 1e-12)
    let bad = try XCTUnwrap(rows.first { ($0["params"] as? [String: Any])?["lr"] as? Double == 0.4 })
    XCTAssertEqual(bad["status"] as? String, "failed")
    XCTAssertTrue((bad["message"] as? String ?? "").contains("wandb.Api is not available"), "\(bad)")
  }

  /// `mark_preempting()` then a non-zero exit: requeued, not failed, even with one attempt.
  func testAPreemptedProgramIsRequeuedNotFailed() throws {
    _ = try write(
      "preempt.py",
      """
      import os, sys, wandb
      wandb.init()
      wandb.log({"loss": 1.0})
      if os.environ["SWEEPD_ATTEMPT"] == "1":
          wandb.mark_preempting()
          sys.exit(1)
      wandb.log({"loss": 0.5})
      """)
    let config = try write(
      "preempt.yaml",
      """
      program: preempt.py
      method: grid
      max_attempts: 1
      metric: {name: loss, goal: minimize}
      parameters:
        x: {value: 1}
      """)
    let output = try run(config)
    XCTAssertEqual(output.status, 0, output.stderr)
    let rows = try trials(output)
    XCTAssertEqual(rows.first?["status"] as? String, "completed", "\(rows)")
    XCTAssertEqual(best(rows[0]), 0.5)
  }

  /// `wandb: real` leaves Python's own `wandb` on the path (here: none, or the user's);
  /// without it, `import wandb` finds sweepd's module.
  func testWandbRealLeavesTheUsersOwnPackage() throws {
    _ = try write(
      "which.py",
      """
      import json, os
      try:
          import wandb
          ours = getattr(wandb, "_SWEEPD", False)
      except ImportError:
          ours = False
      channel = os.fdopen(int(os.environ["SWEEPD_METRICS_FD"]), "w")
      channel.write(json.dumps({"ours": 1.0 if ours else 0.0}) + "\\n")
      """)
    for (line, expected) in [("", 1.0), ("wandb: real", 0.0)] {
      let config = try write(
        "which.yaml",
        """
        program: which.py
        method: grid
        \(line)
        metric: {name: ours, goal: maximize}
        parameters:
          x: {value: 1}
        """)
      let output = try run(config)
      XCTAssertEqual(output.status, 0, output.stderr)
      XCTAssertEqual(best(try trials(output)[0]), expected, line)
    }
  }

  // MARK: W&B sweeps as written

  /// W&B's classic shape: argparse reads `${args}`, `wandb.init(config=args)`, and
  /// `wandb.log` reports; the sweep's values win over the argparse defaults.
  func testArgparseWithArgsAndWandbLog() throws {
    _ = try write(
      "classic.py",
      """
      import argparse, wandb
      parser = argparse.ArgumentParser()
      parser.add_argument("--lr", type=float, default=1.0)
      parser.add_argument("--epochs", type=int, default=1)
      parser.add_argument("--act", default="relu")
      args = parser.parse_args()
      wandb.init(project="classic", config=args)
      assert wandb.config.lr == args.lr and wandb.config.act == args.act
      for epoch in range(wandb.config.epochs):
          wandb.log({"epoch": epoch, "val_loss": args.lr * (10 if args.act == "tanh" else 1) + 1.0 / (epoch + 1)})
      """)
    let config = try write(
      "classic.yaml",
      """
      program: classic.py
      method: grid
      metric: {name: val_loss, goal: minimize}
      parameters:
        lr: {values: [0.01, 0.1]}
        act: {values: [relu, tanh]}
        epochs: {value: 4}
      """)
    let output = try run(config)
    XCTAssertEqual(output.status, 0, output.stderr)
    let rows = try trials(output)
    XCTAssertEqual(rows.count, 4)
    XCTAssertTrue(
      rows.allSatisfy { $0["status"] as? String == "completed" && $0["epochs"] as? Int == 4 }, "\(rows)")
    let first = try XCTUnwrap(rows.first)
    XCTAssertEqual(params(first), ["lr": "0.01", "act": "relu", "epochs": "4"])
    XCTAssertEqual(best(first), 0.01 + 0.25, accuracy: 1e-12, "ranked by the logged val_loss, best first")
  }

  /// The shipped example of W&B's nested parameters (`configs/programs/wandb-nested`, in the
  /// shape of W&B's own): the program reads `wandb.config["optimizer"]["nadam"]["beta"]`,
  /// argparse sees `--optimizer` as Python's `str(dict)` (the script checks the two agree),
  /// and the leaderboard shows the leaves as `optimizer.lr`, `optimizer.nadam.beta`.
  func testNestedParametersAsInWandBsExample() throws {
    let example = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
      .deletingLastPathComponent().appendingPathComponent("configs/programs/wandb-nested")
    for file in ["sweep.yaml", "train.py"] {
      try FileManager.default.copyItem(
        at: example.appendingPathComponent(file), to: code.appendingPathComponent(file))
    }
    let output = try run(code.appendingPathComponent("sweep.yaml"))
    XCTAssertEqual(output.status, 0, output.stderr)
    let rows = try trials(output)
    XCTAssertEqual(rows.count, 8)
    XCTAssertTrue(rows.allSatisfy { $0["status"] as? String == "completed" }, "\(rows)")
    let top = try XCTUnwrap(rows.first)
    XCTAssertEqual(
      params(top), ["batch_size": "64", "optimizer.lr": "0.001", "optimizer.nadam.beta": "0.95"])
    XCTAssertEqual(best(top), 1 - (2.0 / 3) * 0.001 * 64 * 0.95, accuracy: 1e-12)
  }

  /// `define_metric("acc", summary="max")`: the sweep ranks by W&B's summary key `acc.max`,
  /// which is the best accuracy however training ends (here it falls at the last step).
  func testDefineMetricSummaryMaxRanksTheSweep() throws {
    _ = try write(
      "peak.py",
      """
      import wandb
      run = wandb.init()
      wandb.define_metric("acc", summary="max")
      for acc in [0.3, wandb.config.peak, 0.2]:
          wandb.log({"acc": acc})
      assert run.summary["acc"] == {"max": wandb.config.peak}
      """)
    let config = try write(
      "peak.yaml",
      """
      program: peak.py
      method: grid
      metric: {name: acc.max, goal: maximize}
      parameters:
        peak: {values: [0.6, 0.9]}
      """)
    let output = try run(config)
    XCTAssertEqual(output.status, 0, output.stderr)
    let rows = try trials(output)
    XCTAssertEqual(rows.map(best), [0.9, 0.6], "the peak, not the last value 0.2")
    XCTAssertEqual(rows.map { ($0["result"] as? [String: Any])?["value"] as? Double }, [0.9, 0.6])
  }

  /// Hyperband with W&B's `strict` default, in deterministic mode with lag 0 so each trial
  /// sees exactly the ones before it: at band 2 (of min_iter 2, η 3) each later trial's value
  /// is compared with the ⌊n/η⌋-th best of every trial that reached the band; all three
  /// worse ones stop there, the first runs on.
  func testHyperbandStrictStopsTheTrialsWandBsRuleStops() throws {
    _ = try write(
      "hb.py",
      """
      import wandb
      wandb.init()
      for step in range(1, 7):
          wandb.log({"loss": wandb.config.quality + 1.0 / step})
      """)
    let config = try write(
      "hb.yaml",
      """
      program: hb.py
      method: grid
      metric: {name: loss, goal: minimize}
      early_terminate: {type: hyperband, min_iter: 2, eta: 3}
      deterministic: {lag: 0}
      parameters:
        quality: {values: [0, 1, 2, 3]}
      """)
    let output = try run(config)
    XCTAssertEqual(output.status, 0, output.stderr)
    let rows = try trials(output)
    XCTAssertEqual(rows.count, 4)
    let byQuality = Dictionary(
      uniqueKeysWithValues: rows.map { (($0["params"] as? [String: Any])?["quality"] as? Int ?? -1, $0) })
    XCTAssertEqual(byQuality[0]?["status"] as? String, "completed")
    XCTAssertEqual(byQuality[0]?["epochs"] as? Int, 6)
    for quality in 1...3 {
      XCTAssertEqual(byQuality[quality]?["status"] as? String, "early_stopped", "quality \(quality)")
      XCTAssertEqual(byQuality[quality]?["epochs"] as? Int, 2, "stopped at band 2")
    }
  }

  /// `metric.target`: a random sweep with no run_cap would run forever; the first trial to
  /// reach the target closes it — no new trials, pending ones cancelled with the reason —
  /// and `sweepd run` returns once the running ones finish.
  func testMetricTargetEndsAnOpenEndedSweep() throws {
    _ = try write(
      "target.py",
      """
      import wandb
      wandb.init()
      wandb.log({"loss": wandb.config.x})
      """)
    let config = try write(
      "target.yaml",
      """
      program: target.py
      method: random
      metric: {name: loss, goal: minimize, target: 0.2}
      parameters:
        x: {min: 0.0, max: 1.0}
      """)
    let output = try run(config)
    XCTAssertEqual(output.status, 0, output.stderr)
    let rows = try trials(output)
    let reached = rows.filter { best($0) <= 0.2 }
    XCTAssertFalse(reached.isEmpty, "\(rows)")
    let cancelled = rows.filter { $0["status"] as? String == "cancelled" }
    XCTAssertFalse(cancelled.isEmpty, "pending trials are cancelled")
    XCTAssertTrue(
      cancelled.allSatisfy { ($0["message"] as? String ?? "").contains("reached metric.target (loss ") },
      "\(cancelled)")
    let finished = rows.filter { $0["status"] as? String == "completed" }
    XCTAssertLessThanOrEqual(
      finished.filter { best($0) <= 0.2 }.count, 2, "at most the running trials after the first")
  }
}
