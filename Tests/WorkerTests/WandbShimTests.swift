import Foundation
import XCTest

@testable import Worker

/// sweepd's `wandb` module run by Python: W&B's step and commit rules, flattening, config
/// precedence, and a clear error for what it does not cover.
final class WandbShimTests: XCTestCase {
  func runPython(_ script: String, parameters: String = "{}") throws -> (
    lines: [[String: Any]], stderr: String, status: Int32
  ) {
    let root = FileManager.default.temporaryDirectory.appendingPathComponent("shim-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: root) }
    let shim = try WandbShim.directory(under: root.path)
    let params = root.appendingPathComponent("params.json")
    try parameters.write(to: params, atomically: true, encoding: .utf8)
    let metrics = root.appendingPathComponent("metrics.jsonl")
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    // The metrics channel as a file on descriptor 1; what the script prints goes to 2.
    process.arguments = ["python3", "-c", "import sys; sys.stdout = sys.stderr\n" + script]
    process.environment = [
      "PYTHONPATH": shim, "SWEEPD_PARAMS_FILE": params.path, "SWEEPD_METRICS_FD": "1",
      "SWEEPD_TRIAL_ID": "7", "SWEEPD_TRIAL_DIR": root.path,
      "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin",
    ]
    FileManager.default.createFile(atPath: metrics.path, contents: nil)
    process.standardOutput = try FileHandle(forWritingTo: metrics)
    let errors = Pipe()
    process.standardError = errors
    try process.run()
    let stderr = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    let lines = try String(contentsOf: metrics, encoding: .utf8).split(separator: "\n").map {
      try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any]
    }
    return (lines, stderr, process.terminationStatus)
  }

  func testStepsCommitsAndFlattening() throws {
    let (lines, stderr, status) = try runPython(
      """
      import wandb
      wandb.init()
      wandb.log({"a": 1})                      # step 0
      wandb.log({"b": 2}, commit=False)        # joins the next
      wandb.log({"a": 3})                      # step 1: a and b
      wandb.log({"a": 4}, step=5)              # held at step 5 until a later step
      wandb.log({"c": 5}, step=5)
      wandb.log({"a": 6}, step=7)              # commits step 5, holds 7
      wandb.log({"n": {"x": 1, "y": {"z": 2}}, "img": wandb.Image(None), "t": "text"})
      wandb.log({"late": 1}, step=3)           # before the current step: dropped
      wandb.finish()
      """)
    XCTAssertEqual(status, 0, stderr)
    let steps = lines.map { $0["step"] as? Int }
    XCTAssertEqual(steps, [0, 1, 5, 7], "\(lines)")
    XCTAssertEqual(lines[1]["a"] as? Double, 3)
    XCTAssertEqual(lines[1]["b"] as? Double, 2)
    XCTAssertEqual(lines[2]["a"] as? Double, 4)
    XCTAssertEqual(lines[2]["c"] as? Double, 5)
    XCTAssertEqual(lines[3]["a"] as? Double, 6)
    XCTAssertEqual(lines[3]["n/x"] as? Double, 1)
    XCTAssertEqual(lines[3]["n/y/z"] as? Double, 2)
    XCTAssertNil(lines[3]["img"])
    XCTAssertNil(lines[3]["t"])
    XCTAssertTrue(stderr.contains("step 3 is before the current step"), stderr)
  }

  func testConfigPrecedenceAndAccess() throws {
    let (_, stderr, status) = try runPython(
      """
      import argparse, wandb
      args = argparse.Namespace(lr=0.5, depth=3)
      run = wandb.init(config=args)
      c = wandb.config
      assert c.lr == 0.01 and c["depth"] == 3 and c.get("missing", 9) == 9, c
      assert set(c.keys()) == {"lr", "depth"} and dict(c.items())["lr"] == 0.01
      c.update({"extra": 1})
      assert c.as_dict()["extra"] == 1 and "extra" in c
      assert run.config is c and wandb.run is run and run.id == "trial-7"
      try:
          c.nope
      except AttributeError as error:
          assert "no key 'nope'" in str(error), error
      try:
          wandb.apis
          raise SystemExit("no error")
      except AttributeError as error:
          assert "wandb.apis is not available" in str(error), error
      """, parameters: #"{"lr": 0.01}"#)
    XCTAssertEqual(status, 0, stderr)
  }

  /// `define_metric(name, summary=…)`: the summary holds the aggregates of the history (not
  /// the last value), reported on each step as `name.max`, … (W&B's names), so a sweep can
  /// rank by `acc.max`; several summaries add up; `best` follows the goal; a glob covers
  /// every metric it matches; an unknown aggregation is refused, naming the allowed ones.
  func testDefineMetricSummaries() throws {
    let (lines, stderr, status) = try runPython(
      """
      import wandb
      run = wandb.init()
      wandb.define_metric("acc", summary="max")
      wandb.define_metric("acc", summary="mean")
      wandb.define_metric("loss", summary="best", goal="minimize")
      wandb.define_metric("val/*", summary="min,last")
      wandb.define_metric("hidden", summary="none")
      for acc, loss in [(0.5, 3.0), (0.9, 1.0), (0.7, 2.0)]:
          wandb.log({"acc": acc, "loss": loss, "val": {"x": loss * 2}, "hidden": 1, "plain": acc})
      assert run.summary["acc"]["max"] == 0.9 and abs(run.summary["acc"]["mean"] - 0.7) < 1e-12, run.summary["acc"]
      assert run.summary["loss"] == {"best": 1.0}, run.summary["loss"]
      assert run.summary["val/x"] == {"min": 2.0, "last": 4.0}, run.summary["val/x"]
      assert "hidden" not in run.summary and run.summary["plain"] == 0.7
      try:
          wandb.define_metric("f1", summary="maximum")
      except ValueError as error:
          print("refused:", error)
      """)
    XCTAssertEqual(status, 0, stderr)
    XCTAssertEqual(lines.map { $0["acc.max"] as? Double }, [0.5, 0.9, 0.9])
    XCTAssertEqual(lines.map { $0["acc"] as? Double }, [0.5, 0.9, 0.7], "the history keeps every value")
    XCTAssertEqual(lines.map { $0["loss.best"] as? Double }, [3, 1, 1])
    XCTAssertEqual(lines.map { $0["val/x.last"] as? Double }, [6, 2, 4])
    XCTAssertNil(lines[0]["hidden.none"])
    XCTAssertTrue(
      stderr.contains(
        "refused: define_metric('f1', summary='maximum'): 'maximum' is not one of min, max, mean"),
      stderr)
  }
}
