import Foundation
import Stopping
import XCTest

@testable import Search

/// Every config under Fixtures/bad-configs fails with exactly the errors in its
/// `.expected` file (file:line:column: key.path: message, one per line, all at once).
final class BadConfigTests: XCTestCase {
  func testEveryBadConfigGivesItsExactErrors() throws {
    let directory = try XCTUnwrap(
      Bundle.module.url(forResource: "bad-configs", withExtension: nil, subdirectory: "Fixtures"))
    let configs = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter {
      $0.hasSuffix(".yaml")
    }.sorted()
    XCTAssertGreaterThanOrEqual(configs.count, 30)
    for name in configs {
      let text = String(decoding: try Data(contentsOf: directory.appendingPathComponent(name)), as: UTF8.self)
      let expected = try String(
        contentsOf: directory.appendingPathComponent(String(name.dropLast(5)) + ".expected"), encoding: .utf8
      ).trimmingCharacters(in: .whitespacesAndNewlines)
      XCTAssertFalse(expected.isEmpty, name)
      do {
        _ = try SweepConfig.parse(text: text, file: name)
        XCTFail("\(name) was accepted")
      } catch let errors as ConfigErrors {
        XCTAssertEqual(errors.description, expected, name)
      }
    }
  }

  func testSeveralErrorsAreReportedAtOnce() {
    XCTAssertThrowsError(
      try SweepConfig.parse(
        text: "method: grids\nrun_cap: 0\nparameters:\n  lr: {values: []}\n", file: "x.yaml")
    ) { error in
      XCTAssertEqual((error as? ConfigErrors)?.issues.count, 3)
    }
  }

  func testWandbServiceKeysAreWarningsNotErrors() throws {
    let spec = try SweepConfig.parse(
      text:
        "project: demo\nentity: me\nmethod: random\nrun_cap: 2\nparameters:\n  lr: {min: 0.001, max: 0.1}\n",
      file: "w.yaml")
    XCTAssertEqual(spec.warnings.map(\.keyPath), ["project", "entity"])
    XCTAssertNil(spec.program)
  }

  /// Every stopping policy is applied: none warns, each parses with its defaults, and a bad
  /// setting names its key and line.
  func testStoppingPoliciesParseWithTheirDefaults() throws {
    let base = "method: random\nrun_cap: 2\nparameters:\n  lr: {min: 0.001, max: 0.1}\n"
    func parsed(_ line: String) throws -> SweepSpec.EarlyTermination? {
      let spec = try SweepConfig.parse(text: base + line, file: "p.yaml")
      XCTAssertEqual(spec.warnings, [], line)
      return spec.earlyTerminate
    }
    XCTAssertEqual(try parsed("early_terminate: {type: asha}\n"), .asha(minEpochs: 1, maxEpochs: nil, eta: 3))
    XCTAssertEqual(try parsed("early_terminate: {type: median}\n"), .median(minTrials: 5, graceEpochs: 5))
    XCTAssertEqual(
      try parsed(
        "early_terminate: {type: plateau, patience: 3, min_delta: 0.01, mode: rel, restore_best: true}\n"),
      .plateau(patience: 3, minDelta: 0.01, relative: true, minEpochs: 0, restoreBest: true))
    XCTAssertEqual(
      try parsed("early_terminate: {type: hyperband, min_iter: 3}\n"),
      .hyperband(minIter: 3, maxIter: nil, s: nil, eta: 3, strict: true), "W&B's default: strict")
    XCTAssertThrowsError(try parsed("early_terminate: {type: asha, eta: 1}\n")) {
      XCTAssertTrue("\($0)".contains("p.yaml:5:36: early_terminate.eta: must be > 1, got 1"), "\($0)")
    }
    XCTAssertThrowsError(try parsed("early_terminate: {type: hyperband}\n")) {
      XCTAssertTrue("\($0)".contains("hyperband needs min_iter, or max_iter and s"), "\($0)")
    }
  }

  func testDeterministicMode() throws {
    let base =
      "method: tpe\nmetric: {name: val_loss}\nrun_cap: 20\nparameters:\n  lr: {min: 0.001, max: 0.1}\n"
    XCTAssertNil(try SweepConfig.parse(text: base, file: "d.yaml").deterministicLag)
    XCTAssertEqual(
      try SweepConfig.parse(text: base + "deterministic: true\n", file: "d.yaml").deterministicLag, 8)
    XCTAssertNil(
      try SweepConfig.parse(text: base + "deterministic: false\n", file: "d.yaml").deterministicLag)
    XCTAssertEqual(
      try SweepConfig.parse(text: base + "deterministic: {lag: 0}\n", file: "d.yaml").deterministicLag, 0)
    XCTAssertThrowsError(try SweepConfig.parse(text: base + "deterministic: {lag: -1}\n", file: "d.yaml")) {
      XCTAssertTrue("\($0)".contains("d.yaml:6:22: deterministic.lag: must be ≥ 0, got -1"), "\($0)")
    }
    XCTAssertThrowsError(try SweepConfig.parse(text: base + "deterministic: {lagg: 2}\n", file: "d.yaml")) {
      XCTAssertTrue("\($0)".contains("deterministic.lagg"), "\($0)")
    }
    XCTAssertThrowsError(try SweepConfig.parse(text: base + "deterministic: often\n", file: "d.yaml")) {
      XCTAssertTrue("\($0)".contains("expected true, false or {lag: N}"), "\($0)")
    }
  }

  func testHostileFilesFailFast() {
    func error(_ text: String, limits: ConfigLimits = ConfigLimits()) -> String {
      do {
        _ = try SweepConfig.parse(text: text, file: "h.yaml", limits: limits)
        return "accepted"
      } catch { return "\(error)" }
    }
    // Huge.
    let huge = "method: grid\n# " + String(repeating: "x", count: 2 << 20) + "\n"
    XCTAssertTrue(error(huge).contains("a config may be at most 1048576 bytes"), error(huge))
    // Deeply nested.
    let deep = "data: " + String(repeating: "[", count: 200) + String(repeating: "]", count: 200) + "\n"
    XCTAssertTrue(error(deep).contains("nesting deeper than 32 levels"), error(deep))
    // A billion-laughs alias bomb: 10 levels of 10 aliases each.
    var bomb = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n"
    for level in 1...9 {
      bomb +=
        "a\(level): &a\(level) [" + Array(repeating: "*a\(level - 1)", count: 10).joined(separator: ", ")
        + "]\n"
    }
    let started = Date()
    XCTAssertTrue(error(bomb).contains("more than 100000 values"), error(bomb))
    XCTAssertLessThan(Date().timeIntervalSince(started), 5)
    // Binary.
    XCTAssertTrue(error("method: grid\n\u{0}\u{1}").contains("h.yaml:"), error("method: grid\n\u{0}\u{1}"))
    XCTAssertTrue(error("").contains("the file is empty"))
  }
}
