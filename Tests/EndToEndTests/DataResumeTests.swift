import Foundation
import XCTest

/// An upload cut by a coordinator restart resumes where it stopped.
final class DataResumeTests: DaemonTestCase {
  /// What a coordinator killed mid-upload leaves on disk is a partial file; the next submit
  /// resumes from its end, and the stored file is verified whole before a worker trains on it.
  func testAnUploadCutByACoordinatorRestartResumes() throws {
    let submitter = directory.appendingPathComponent("submitter")
    let home = directory.appendingPathComponent("coordinator")
    for folder in [submitter, home] {
      try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }
    var rows = "x,y,label\n"
    var i = 0
    while rows.utf8.count < 3 << 20 {
      rows += String(format: "%.6f,%.6f,%d\n", sin(Double(i)), cos(Double(i) * 1.7), i % 2)
      i += 1
    }
    let csv = submitter.appendingPathComponent("waves.csv")
    try rows.write(to: csv, atomically: true, encoding: .utf8)
    try """
    method: grid
    seed: 3
    metric: {name: val_error, goal: minimize}
    data: {dataset: csv, path: waves.csv}
    model: {kind: logistic}
    training: {epochs: 1, batch_size: 256}
    parameters:
      lr: {values: [0.1]}
    """.write(to: submitter.appendingPathComponent("sweep.yaml"), atomically: true, encoding: .utf8)
    let hasher = Process()
    hasher.executableURL = URL(fileURLWithPath: "/usr/bin/sha256sum")
    hasher.arguments = [csv.path]
    let pipe = Pipe()
    hasher.standardOutput = pipe
    try hasher.run()
    hasher.waitUntilExit()
    let digest = String(
      String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).prefix(64))

    // The first coordinator had received 1 MiB of the file when it was killed.
    let first = try launchCoordinator(["--db", "c.db"], name: "first", in: home).process
    kill(first.processIdentifier, SIGKILL)
    first.waitUntilExit()
    let partial = home.appendingPathComponent("c.db.data/partial/\(digest)")
    try Data(Array(rows.utf8)[0..<(1 << 20)]).write(to: partial)

    let coordinator = try launchCoordinator(["--db", "c.db"], name: "second", in: home).endpoint
    let submit = try SweepdProcess.run(["submit", "sweep.yaml", "--coordinator", coordinator], in: submitter)
    XCTAssertEqual(submit.status, 0, submit.stderr)
    XCTAssertTrue(
      submit.stderr.contains("uploading waves.csv: resuming at 1.0 MiB of 3.0 MiB"), submit.stderr)
    XCTAssertFalse(FileManager.default.fileExists(atPath: partial.path))
    let stored = try Data(contentsOf: home.appendingPathComponent("c.db.data/objects/\(digest)"))
    XCTAssertEqual(stored, Data(rows.utf8), "the resumed upload is the whole file")
    _ = try launch(
      ["worker", "--connect", coordinator, "--slots", "1"], name: "worker",
      environment: ["SWEEPD_DATA_CACHE": directory.appendingPathComponent("cache").path])
    try waitUntilComplete(
      coordinator, submit.stdout.trimmingCharacters(in: .whitespacesAndNewlines), seconds: 120)
  }
}
