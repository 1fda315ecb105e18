import Foundation
import XCTest

/// The `sweepd` executable, run as users run it.
final class CommandLineTests: XCTestCase {
  func testTrainPrintsOneJSONLinePerEpoch() throws {
    let output = try SweepdProcess.run([
      "train", "--epochs", "3", "--hidden", "32", "--format", "json", "--seed", "4",
    ])
    XCTAssertEqual(output.status, 0, output.stderr)
    let lines = output.stdout.split(separator: "\n").map(String.init)
    XCTAssertEqual(lines.count, 4, output.stdout)
    for (index, line) in lines.prefix(3).enumerated() {
      let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
      XCTAssertEqual(object["epoch"] as? Int, index + 1)
      for key in ["train_loss", "val_loss", "val_error", "val_accuracy", "lr", "seconds"] {
        XCTAssertNotNil(object[key], "missing \(key) in \(line)")
      }
    }
    XCTAssertEqual(lines[3], #"{"epochs_run":3,"status":"completed"}"#)
    // The kernel is `doctor`'s business: a one-shot command does not announce it.
    XCTAssertFalse(output.stderr.contains("OpenBLAS kernel"), output.stderr)
    XCTAssertTrue(output.stderr.contains("digits: 1438 training + 359 validation rows"), output.stderr)
    // Same seed, same numbers.
    let again = try SweepdProcess.run([
      "train", "--epochs", "3", "--hidden", "32", "--format", "json", "--seed", "4",
    ])
    func withoutSeconds(_ text: String) -> String {
      text.replacingOccurrences(of: #""seconds":[0-9.e-]+,"#, with: "", options: .regularExpression)
    }
    XCTAssertEqual(withoutSeconds(again.stdout), withoutSeconds(output.stdout))
  }

  func testTrainFromAConfigFile() throws {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sweepd-e2e-\(getpid())")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    let config = directory.appendingPathComponent("sine.yaml")
    try """
    data: {dataset: sine, samples: 400, noise: 0.05, seed: 2}
    model: {kind: mlp, hidden: [16], activation: tanh, init: xavier}
    optimizer: {name: rmsprop, lr: 0.01, centered: true}
    schedule: {kind: step, step_size: 5, gamma: 0.5}
    training: {epochs: 8, batch_size: 16}
    seed: 3
    """.write(to: config, atomically: true, encoding: .utf8)
    let output = try SweepdProcess.run(["train", "--config", config.path])
    XCTAssertEqual(output.status, 0, output.stderr)
    let lines = output.stdout.split(separator: "\n")
    XCTAssertTrue(lines[0].hasPrefix("epoch"), output.stdout)
    XCTAssertTrue(lines[0].contains("val_rmse"), output.stdout)
    XCTAssertEqual(lines.count, 10, output.stdout)
    XCTAssertTrue(lines[6].contains("0.005"), "the step schedule halves lr after 5 epochs: \(lines[6])")
    XCTAssertTrue(lines.last!.hasPrefix("completed: 8 epochs, best val_rmse"), output.stdout)

    // A misspelt key is named, with a suggestion; so are bad hyperparameters.
    try "model: {kind: mlp, hiden: [16]}\n".write(to: config, atomically: true, encoding: .utf8)
    let bad = try SweepdProcess.run(["train", "--config", config.path])
    XCTAssertNotEqual(bad.status, 0)
    XCTAssertTrue(bad.stderr.contains("'hiden' (did you mean 'hidden'?)"), bad.stderr)
    let badOptimizer = try SweepdProcess.run([
      "train", "--optimizer", "adam", "--set", "momentum=0.9", "--epochs", "1",
    ])
    XCTAssertNotEqual(badOptimizer.status, 0)
    XCTAssertTrue(
      badOptimizer.stderr.contains("optimizer 'adam' does not accept the hyperparameter 'momentum'"),
      badOptimizer.stderr)
    let typo = try SweepdProcess.run(["train", "--optimizer", "nestrov", "--epochs", "1"])
    XCTAssertTrue(typo.stderr.contains("did you mean 'nesterov'"), typo.stderr)
  }

  func testTraceReproducesAReferenceTrajectory() throws {
    let output = try SweepdProcess.run([
      "trace", "--function", "beale", "--optimizer", "adam_hd", "--set", "lr=0.01", "--set",
      "hypergrad_lr=0.001",
      "--start", "1,1.5", "--steps", "200",
    ])
    XCTAssertEqual(output.status, 0, output.stderr)
    let rows = output.stdout.split(separator: "\n")
    XCTAssertEqual(rows.first, "step,x,y,loss,lr")
    XCTAssertEqual(rows.count, 202)
    let last = rows.last!.split(separator: ",").map { Double($0)! }
    // visible-014-beale-adam_hd, last row.
    XCTAssertEqual(last[0], 200)
    XCTAssertEqual(last[1], 2.983891675645328, accuracy: 1e-4)
    XCTAssertEqual(last[2], 0.4958797633751484, accuracy: 1e-4)
    XCTAssertEqual(last[4], 0.28445559264293807, accuracy: 1e-6)

    let json = try SweepdProcess.run([
      "trace", "--function", "rosenbrock", "--optimizer", "sgd", "--steps", "2", "--format", "json",
    ])
    XCTAssertEqual(json.stdout.split(separator: "\n").count, 3)
    let bad = try SweepdProcess.run(["trace", "--function", "himmelblau", "--optimizer", "sgd"])
    XCTAssertNotEqual(bad.status, 0)
    XCTAssertTrue(bad.stderr.contains("unknown function 'himmelblau'"), bad.stderr)
  }

  /// sweepd picks the best OpenBLAS kernel for the CPU, keeps OpenBLAS to one thread, and
  /// the kernel's products are right.
  func testDoctorChecksTheKernel() throws {
    // A machine may set OPENBLAS_CORETYPE for every process (seen on an AVX-512 EPYC); sweepd
    // respects it, so the kernel choice is checked without it.
    let output = try SweepdProcess.run(
      ["doctor"], environment: ["OPENBLAS_NUM_THREADS": "4"], unsetting: ["OPENBLAS_CORETYPE"])
    XCTAssertEqual(output.status, 0, output.stdout + output.stderr)
    XCTAssertTrue(output.stdout.contains("openblas threads per call: 1"), output.stdout)
    XCTAssertTrue(output.stdout.contains(" — ok"), output.stdout)
    let lines = Dictionary(
      output.stdout.split(separator: "\n").compactMap { line -> (String, String)? in
        guard let colon = line.firstIndex(of: ":") else { return nil }
        return (
          String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        )
      }, uniquingKeysWith: { a, _ in a })
    let best = lines["cpu best kernel"] ?? "generic"
    let core = (lines["openblas core"] ?? "").lowercased()
    let rank: [String: Int] = [
      "sandybridge": 2, "haswell": 3, "zen": 3, "skylakex": 4, "cooperlake": 4, "sapphirerapids": 4,
    ]
    let expected = ["SANDYBRIDGE": 2, "HASWELL": 3, "SKYLAKEX": 4][best] ?? 0
    XCTAssertGreaterThanOrEqual(rank[core] ?? 0, expected, "kernel \(core) on a CPU that supports \(best)")

    // An explicit choice is respected, and the older kernel still computes correctly.
    let forced = try SweepdProcess.run(["doctor"], environment: ["OPENBLAS_CORETYPE": "PRESCOTT"])
    XCTAssertEqual(forced.status, 0, forced.stdout + forced.stderr)
    XCTAssertTrue(forced.stdout.contains("openblas core: Prescott"), forced.stdout)
    XCTAssertTrue(forced.stdout.contains(" — ok"), forced.stdout)
  }

  /// `sweepd fuzz` survives hostile frames (the test command runs a million).
  func testFuzzSurvivesHostileFrames() throws {
    let output = try SweepdProcess.run(["fuzz", "--frames", "30000", "--seed", "7"], timeout: 120)
    XCTAssertEqual(output.status, 0, output.stderr)
    XCTAssertTrue(output.stdout.contains("fuzz: 30000 frames (seed 7): no trap"), output.stdout)
  }

  /// `sweepd paths`: an SVG with one path per optimizer; a bad optimizer is one clear error.
  func testPathsDrawsEveryOptimizer() throws {
    let file = FileManager.default.temporaryDirectory.appendingPathComponent("paths-\(UUID().uuidString).svg")
    defer { try? FileManager.default.removeItem(at: file) }
    let output = try SweepdProcess.run([
      "paths", "--function", "beale", "--optimizer", "adam:0.05", "--optimizer", "rmsprop:0.01", "--steps",
      "50",
      "-o", file.path,
    ])
    XCTAssertEqual(output.status, 0, output.stderr)
    let svg = try String(contentsOf: file, encoding: .utf8)
    XCTAssertTrue(svg.hasPrefix("<svg"))
    XCTAssertEqual(svg.components(separatedBy: "<polyline").count - 1, 2)
    XCTAssertTrue(svg.contains("adam:0.05") && svg.contains("rmsprop:0.01") && svg.contains("Beale"))
    let bad = try SweepdProcess.run(["paths", "--function", "beale", "--optimizer", "adamm"])
    XCTAssertNotEqual(bad.status, 0)
    XCTAssertTrue(bad.stderr.contains("adamm"), bad.stderr)
  }
}
