import Foundation
import XCTest

/// A CSV on the submitting box only: the workers get it from the coordinator by digest.
final class DataTravelTests: DaemonTestCase {
  func folder(_ name: String) throws -> URL {
    let url = directory.appendingPathComponent(name)
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
  }

  /// Two interleaved half-moons, 600 rows (deterministic).
  func writeCSV(_ url: URL) throws {
    var text = "x,y,label\n"
    for i in 0..<600 {
      let c = i % 2
      let t = Double(i) / 600 * .pi
      let wobble = sin(Double(i) * 12.9898) * 0.1
      let x = cos(t) + Double(c) + wobble
      let y = sin(t) * (c == 0 ? 1 : -1) + wobble * 0.5 + (c == 0 ? 0 : 0.4)
      text += String(format: "%.5f,%.5f,%d\n", x, y, c)
    }
    try text.write(to: url, atomically: true, encoding: .utf8)
  }

  /// Ranked (params, best, best epoch) of a leaderboard JSON document.
  func results(_ json: String) throws -> [String] {
    let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
    let trials = try XCTUnwrap(object["trials"] as? [[String: Any]])
    return trials.map { trial in
      let params = (trial["params"] as? [String: Any] ?? [:]).sorted { $0.key < $1.key }.map {
        "\($0.key)=\($0.value)"
      }
      let best = trial["best"] as? [String: Any] ?? [:]
      return
        "\(params.joined(separator: " ")) \(trial["status"] ?? "") best=\(best["value"] ?? "-")@\(best["epoch"] ?? "-")"
    }
  }

  func testACSVOnlyTheSubmitterHasTrainsOnAWorkerElsewhere() throws {
    let submitter = try folder("submitter"), elsewhere = try folder("worker"),
      home = try folder("coordinator")
    try writeCSV(submitter.appendingPathComponent("moons.csv"))
    try """
    name: travel
    method: grid
    seed: 11
    metric: {name: val_error, goal: minimize}
    data: {dataset: csv, path: moons.csv}
    model: {kind: mlp, hidden: [16]}
    training: {epochs: 4, batch_size: 32}
    parameters:
      optimizer: {values: [adam, sgd]}
      lr: {values: [0.01, 0.1]}
    """.write(to: submitter.appendingPathComponent("sweep.yaml"), atomically: true, encoding: .utf8)

    // The reference: a local run of the same config (its file travels in-process).
    let local = try SweepdProcess.run(["run", "sweep.yaml", "--format", "json"], in: submitter)
    XCTAssertEqual(local.status, 0, local.stderr)
    XCTAssertTrue(local.stderr.contains("uploaded moons.csv"), local.stderr)

    let coordinator = try launchCoordinator(["--db", "c.db"], in: home).endpoint
    let submit = try SweepdProcess.run(["submit", "sweep.yaml", "--coordinator", coordinator], in: submitter)
    XCTAssertEqual(submit.status, 0, submit.stderr)
    XCTAssertTrue(submit.stderr.contains("uploaded moons.csv"), submit.stderr)
    let sweep = submit.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    // The file is gone before any worker starts, and the worker runs elsewhere.
    try FileManager.default.removeItem(at: submitter.appendingPathComponent("moons.csv"))
    let cache = elsewhere.appendingPathComponent("cache")
    let (worker, _) = try launch(
      ["worker", "--connect", coordinator, "--slots", "2"], name: "worker", in: elsewhere,
      environment: ["SWEEPD_DATA_CACHE": cache.path])
    try waitUntilComplete(coordinator, sweep, seconds: 120)
    let remote = try SweepdProcess.run([
      "leaderboard", sweep, "--coordinator", coordinator, "--format", "json",
    ])
    XCTAssertEqual(remote.status, 0, remote.stderr)
    let expected = try results(local.stdout)
    XCTAssertEqual(expected.count, 4)
    XCTAssertTrue(expected.allSatisfy { $0.contains(" completed ") }, "\(expected)")
    XCTAssertEqual(try results(remote.stdout), expected, "the same results as the local run")

    // The worker cached the file under its digest; the coordinator stored it once.
    let cached = try FileManager.default.contentsOfDirectory(atPath: cache.path)
    XCTAssertEqual(cached.count, 1)
    XCTAssertEqual(
      try FileManager.default.contentsOfDirectory(
        atPath: home.appendingPathComponent("c.db.data/objects").path),
      cached)

    // Submitting the same file again uploads nothing.
    try writeCSV(submitter.appendingPathComponent("moons.csv"))
    let again = try SweepdProcess.run(["submit", "sweep.yaml", "--coordinator", coordinator], in: submitter)
    XCTAssertEqual(again.status, 0, again.stderr)
    XCTAssertFalse(again.stderr.contains("upload"), again.stderr)
    try waitUntilComplete(
      coordinator, again.stdout.trimmingCharacters(in: .whitespacesAndNewlines), seconds: 120)

    // The fetch connection does not keep the worker from leaving on SIGTERM.
    kill(worker.processIdentifier, SIGTERM)
    let deadline = Date().addingTimeInterval(10)
    while worker.isRunning && Date() < deadline { usleep(50_000) }
    XCTAssertFalse(worker.isRunning, "the worker ignored SIGTERM for 10 s")
  }

  func testAnOversizedFileIsRefusedWithTheLimitNamed() throws {
    let submitter = try folder("submitter")
    try writeCSV(submitter.appendingPathComponent("moons.csv"))
    try """
    method: grid
    data: {dataset: csv, path: moons.csv}
    training: {epochs: 1}
    parameters:
      lr: {values: [0.1]}
    """.write(to: submitter.appendingPathComponent("sweep.yaml"), atomically: true, encoding: .utf8)
    let coordinator = try launchCoordinator([
      "--db", directory.appendingPathComponent("c.db").path, "--data-max-total-mb", "1", "--data-max-file-mb",
      "1",
    ]).endpoint
    // 1.5 MiB of rows.
    var big = "x,y,label\n"
    while big.utf8.count < 3 << 19 { big += "0.12345,0.54321,1\n0.2,0.1,0\n" }
    try big.write(to: submitter.appendingPathComponent("moons.csv"), atomically: true, encoding: .utf8)
    let submit = try SweepdProcess.run(["submit", "sweep.yaml", "--coordinator", coordinator], in: submitter)
    XCTAssertNotEqual(submit.status, 0)
    XCTAssertTrue(submit.stderr.contains("at most 1048576 per file (--data-max-file-mb)"), submit.stderr)
  }
}
