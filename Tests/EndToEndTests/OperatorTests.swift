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
    let file = directory.appendingPathComponent("s.yaml")
    try """
    method: grid
    metric: {name: val_loss, goal: minimize}
    model: {kind: rosenbrock}
    optimizer: {name: sgd}
    training: {epochs: 2}
    parameters:
      lr: {values: [0.001, 0.0001]}
    """.write(to: file, atomically: true, encoding: .utf8)
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
}
