import Foundation
import XCTest

/// The operator's view of a running daemon: structured logs.
final class OperatorTests: DaemonTestCase {
  /// `--log-format json`: every line is one JSON object with time, level, logger and
  /// message, and a worker's lines name the worker; lines about a trial name it.
  func testJSONLogsCarryTheIds() throws {
    let db = directory.appendingPathComponent("logs.db").path
    let (coordinator, coordinatorLog) = try launch(
      ["coordinator", "--bind", "tcp://127.0.0.1:*", "--db", db, "--log-format", "json"], name: "coordinator")
    let line = try wait(for: "coordinator at tcp://", in: coordinatorLog, seconds: 30)
    let endpoint = String(line.dropFirst("coordinator at ".count).prefix { $0 != "," })
    let (worker, workerLog) = try launch(
      ["worker", "--connect", endpoint, "--slots", "1", "--name", "logger-w", "--log-format", "json"],
      name: "worker")
    let file = try writeRosenbrockSweep(epochs: 2, rates: ["0.001", "0.0001"])
    let submitted = try SweepdProcess.run(["submit", file.path, "--coordinator", endpoint])
    XCTAssertEqual(submitted.status, 0, submitted.stderr)
    let sweep = submitted.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    try waitUntilComplete(endpoint, sweep, seconds: 60)
    // A long trial cancelled while it runs: the worker's "stopping" line names its trial and
    // attempt, as numbers.
    let long = try SweepdProcess.run([
      "submit", try writeRosenbrockSweep(epochs: 50_000_000, rates: ["0.0001"]).path, "--coordinator", endpoint,
    ])
    let longSweep = long.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    XCTAssertTrue(try waitUntilRunning(endpoint, longSweep, count: 1))
    XCTAssertEqual(try SweepdProcess.run(["cancel", longSweep, "--coordinator", endpoint]).status, 0)
    _ = try wait(for: "stopping trial", in: workerLog, seconds: 30)
    kill(worker.processIdentifier, SIGTERM)
    worker.waitUntilExit()
    kill(coordinator.processIdentifier, SIGTERM)
    coordinator.waitUntilExit()
    func objects(_ log: URL) throws -> [[String: Any]] {
      try String(contentsOf: log, encoding: .utf8).split(separator: "\n").map { line in
        let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
        return try XCTUnwrap(object, "not a JSON object: \(line)")
      }
    }
    let workerLines = try objects(workerLog)
    let coordinatorLines = try objects(coordinatorLog)
    XCTAssertFalse(workerLines.isEmpty)
    for line in workerLines + coordinatorLines {
      for key in ["time", "level", "logger", "message"] {
        XCTAssertNotNil(line[key], "\(key) missing: \(line)")
      }
    }
    XCTAssertTrue(workerLines.allSatisfy { $0["worker"] as? String == "logger-w" }, "\(workerLines)")
    XCTAssertTrue(
      coordinatorLines.contains {
        ($0["message"] as? String)?.contains("completed") == true && $0["sweep"] as? String == sweep
      },
      "\(coordinatorLines)")
    XCTAssertTrue((coordinatorLines.first?["time"] as? String)?.hasSuffix("Z") ?? false)
    let stopping = try XCTUnwrap(
      workerLines.first { ($0["message"] as? String)?.hasPrefix("stopping trial") == true })
    XCTAssertTrue(stopping["attempt"] is Int && !(stopping["attempt"] is String), "\(stopping)")
    XCTAssertEqual(stopping["attempt"] as? Int, 1)
    XCTAssertNotNil(stopping["trial"] as? Int, "\(stopping)")
    XCTAssertTrue(
      coordinatorLines.contains { ($0["message"] as? String)?.hasPrefix("worker logger-w joined") == true },
      "the join is logged")
  }

  /// A cancelled 420-trial grid is shown whole (`0/420 done, 420 cancelled`, not the few
  /// trials it had created); a second cancel says so and exits 0; submitting a missing file
  /// names the path.
  func testCancelShowsTheWholeSweepAndIsIdempotent() throws {
    let (_, endpoint, _) = try launchCoordinator(["--db", directory.appendingPathComponent("c.db").path])
    let file = directory.appendingPathComponent("grid.yaml")
    try """
    method: grid
    metric: {name: val_loss, goal: minimize}
    model: {kind: rosenbrock}
    training: {epochs: 3}
    parameters:
      lr: {values: [\((1...20).map { "0.00\($0)" }.joined(separator: ", "))]}
      momentum: {values: [\((0..<21).map { "0.\($0 + 10)" }.joined(separator: ", "))]}
    optimizer: {name: momentum}
    """.write(to: file, atomically: true, encoding: .utf8)
    let submitted = try SweepdProcess.run(["submit", file.path, "--coordinator", endpoint])
    XCTAssertEqual(submitted.status, 0, submitted.stderr)
    let sweep = submitted.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    let first = try SweepdProcess.run(["cancel", sweep, "--coordinator", endpoint])
    XCTAssertEqual(first.status, 0, first.stderr)
    let status = try SweepdProcess.run(["status", sweep, "--coordinator", endpoint]).stdout
    XCTAssertTrue(status.contains("\(sweep) cancelled: 0/420 done, 420 cancelled"), status)
    let second = try SweepdProcess.run(["cancel", sweep, "--coordinator", endpoint])
    XCTAssertEqual(second.status, 0, second.stderr)
    XCTAssertTrue(second.stdout.contains("already cancelled"), second.stdout)
    let missing = directory.appendingPathComponent("no-such.yaml").path
    let refused = try SweepdProcess.run(["submit", missing, "--coordinator", endpoint])
    XCTAssertNotEqual(refused.status, 0)
    XCTAssertTrue(refused.stderr.contains("no such file: \(missing)"), refused.stderr)
  }

  /// `sweepd backup` copies a store while its coordinator runs, write-ahead log included
  /// (a plain copy of the file can miss every change since the last checkpoint), into one
  /// file that reads with `--db` and leaves no `-wal` or `-shm` beside it.
  func testBackupOfALiveStoreIsComplete() throws {
    let db = directory.appendingPathComponent("live.db").path
    let (_, endpoint, _) = try launchCoordinator(["--db", db])
    _ = try launch(["worker", "--connect", endpoint, "--slots", "2"], name: "worker")
    let file = try writeRosenbrockSweep(epochs: 3, rates: ["0.001", "0.0001", "0.00001"])
    let sweep = try SweepdProcess.run(["submit", file.path, "--coordinator", endpoint]).stdout
      .trimmingCharacters(in: .whitespacesAndNewlines)
    try waitUntilComplete(endpoint, sweep, seconds: 60)
    let copies = directory.appendingPathComponent("copies")
    try FileManager.default.createDirectory(at: copies, withIntermediateDirectories: true)
    let out = copies.appendingPathComponent("copy.db").path
    let backup = try SweepdProcess.run(["backup", "--db", db, out])
    XCTAssertEqual(backup.status, 0, backup.stderr)
    let status = try SweepdProcess.run(["status", sweep, "--db", out])
    XCTAssertTrue(status.stdout.contains("\(sweep) completed: 3/3 done"), status.stdout + status.stderr)
    XCTAssertEqual(
      try FileManager.default.contentsOfDirectory(atPath: copies.path).sorted(), ["copy.db"],
      "reading the copy left files beside it")
    let again = try SweepdProcess.run(["backup", "--db", db, out])
    XCTAssertNotEqual(again.status, 0, "an existing file is never overwritten")
    XCTAssertTrue(again.stderr.contains("exists already"), again.stderr)
  }

  /// Fetches a URL's body with Python's standard library (the test machine has python3).
  func fetch(_ url: String) throws -> (status: Int, body: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = [
      "python3", "-c",
      "import sys, urllib.request, urllib.error\n"
        + "try:\n  r = urllib.request.urlopen(sys.argv[1], timeout=5); print(r.status); print(r.read().decode())\n"
        + "except urllib.error.HTTPError as e:\n  print(e.code)",
      url,
    ]
    let pipe = Pipe()
    process.standardOutput = pipe
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    let text = String(decoding: data, as: UTF8.self)
    let status = Int(text.prefix { $0 != "\n" }) ?? 0
    return (status, String(text.drop { $0 != "\n" }.dropFirst()))
  }

  /// `--metrics-port`: Prometheus text with trials by state, queue depth, workers, counters
  /// of assignments and METRIC messages, and store write latency; other paths are 404.
  func testMetricsEndpointServesPrometheusText() throws {
    let db = directory.appendingPathComponent("metrics.db").path
    let (_, log) = try launch(
      ["coordinator", "--bind", "tcp://127.0.0.1:*", "--db", db, "--metrics-port", "0"], name: "coordinator")
    let line = try wait(for: "coordinator at tcp://", in: log, seconds: 30)
    let endpoint = String(line.dropFirst("coordinator at ".count).prefix { $0 != "," })
    let metricsLine = try wait(for: "metrics at http://", in: log, seconds: 10)
    let url = String(metricsLine.dropFirst("metrics at ".count).prefix { !$0.isWhitespace })
    _ = try launch(["worker", "--connect", endpoint, "--slots", "2", "--name", "m"], name: "worker")
    let file = try writeRosenbrockSweep(epochs: 5, rates: ["0.001", "0.0001", "0.00001"])
    let submitted = try SweepdProcess.run(["submit", file.path, "--coordinator", endpoint])
    let sweep = submitted.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    try waitUntilComplete(endpoint, sweep, seconds: 60)
    let expected = [
      "sweepd_trials{state=\"completed\"} 3", "sweepd_queue_depth 0", "sweepd_workers_connected 1",
      "sweepd_assignments_total 3", "sweepd_metric_messages_total 15",
      "# TYPE sweepd_store_write_seconds summary",
      "sweepd_store_failing 0",
    ]
    // The numbers are published after each loop pass: wait for the pass after the sweep
    // ended (a deadline, not a guess), then check each.
    var (status, body) = try fetch(url)
    let deadline = Date().addingTimeInterval(10)
    while !expected.allSatisfy(body.contains) && Date() < deadline {
      Thread.sleep(forTimeInterval: 0.02)
      (status, body) = try fetch(url)
    }
    XCTAssertEqual(status, 200, body)
    for expected in expected {
      XCTAssertTrue(body.contains(expected), "\(expected) missing from:\n\(body)")
    }
    XCTAssertTrue(body.contains("sweepd_store_write_seconds_count "), body)
    XCTAssertEqual(try fetch(url.replacingOccurrences(of: "/metrics", with: "/other")).status, 404)
  }
}
