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
    _ = try SweepdProcess.run(["cancel", sweep, "--coordinator", endpoint])
    kill(worker.processIdentifier, SIGTERM)
    worker.waitUntilExit()
    kill(coordinator.processIdentifier, SIGTERM)
    coordinator.waitUntilExit()
    func objects(_ log: URL) throws -> [[String: String]] {
      try String(contentsOf: log, encoding: .utf8).split(separator: "\n").map { line in
        let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: String]
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
    XCTAssertTrue(workerLines.allSatisfy { $0["worker"] == "logger-w" }, "\(workerLines)")
    XCTAssertTrue(
      coordinatorLines.contains { $0["message"]?.contains("completed") == true && $0["sweep"] == sweep },
      "\(coordinatorLines)")
    XCTAssertTrue(coordinatorLines.first?["time"]?.hasSuffix("Z") ?? false)
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
