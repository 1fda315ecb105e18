import Foundation
import XCTest

/// `sweepd validate` and `sweepd expand` on real files.
final class SweepConfigCommandTests: XCTestCase {
  func testValidateAndExpandTheExampleSweep() throws {
    let config = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
      .deletingLastPathComponent().appendingPathComponent("configs/digits-optimizers.yaml").path
    let validated = try SweepdProcess.run(["validate", config])
    XCTAssertEqual(validated.status, 0, validated.stderr)
    XCTAssertTrue(
      validated.stdout.hasPrefix("ok: 'digits-optimizers', method grid, 3 parameters"), validated.stdout)
    let expanded = try SweepdProcess.run(["expand", config, "--limit", "3", "--format", "json"])
    XCTAssertEqual(expanded.status, 0, expanded.stderr)
    let lines = expanded.stdout.split(separator: "\n")
    XCTAssertEqual(lines.count, 3)
    let first = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: Any])
    XCTAssertEqual(first["index"] as? Int, 0)
    XCTAssertNotNil((first["spec"] as? [String: Any])?["optimizer"])
    let table = try SweepdProcess.run(["expand", config, "--limit", "2"])
    XCTAssertTrue(table.stdout.contains("more (of"), table.stdout)
  }

  func testBadConfigExitsWithCodeTwoAndEveryError() throws {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
      "sweepd-validate-\(getpid())")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    let file = directory.appendingPathComponent("bad.yaml")
    try "method: grid\nparameters:\n  lr: {values: []}\n  optimizer: {values: [adamm]}\n".write(
      to: file, atomically: true, encoding: .utf8)
    let output = try SweepdProcess.run(["validate", file.path])
    XCTAssertEqual(output.status, 2)
    XCTAssertTrue(output.stderr.contains("bad.yaml:3:16: parameters.lr.values: is empty"), output.stderr)
    XCTAssertTrue(
      output.stderr.contains(
        "bad.yaml:4:3: parameters.optimizer: unknown optimizer 'adamm' (did you mean 'adam'?)"), output.stderr
    )
    XCTAssertTrue(output.stderr.contains("2 errors in"), output.stderr)
    let missing = try SweepdProcess.run(["validate", directory.appendingPathComponent("nope.yaml").path])
    XCTAssertEqual(missing.status, 2)
    XCTAssertTrue(
      missing.stderr.contains("no such file: \(directory.appendingPathComponent("nope.yaml").path)"), missing.stderr)
  }
}
