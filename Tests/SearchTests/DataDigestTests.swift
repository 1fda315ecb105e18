import Foundation
import Training
import XCTest

@testable import Search

/// Configs whose data files were uploaded: they parse where the files are not, and every
/// trial names its file by digest.
final class DataDigestTests: XCTestCase {
  let digestA = String(repeating: "a1", count: 32)
  let digestB = String(repeating: "b2", count: 32)

  let config = """
    method: grid
    metric: {name: val_error, goal: minimize}
    data: {dataset: csv, path: /nowhere/train.csv}
    training: {epochs: 2}
    parameters:
      lr: {values: [0.1, 0.01]}
    """

  func testAFileThatIsNotHereIsAnErrorWithoutADigest() {
    XCTAssertThrowsError(try SweepConfig.parse(text: config, file: "c.yaml")) { error in
      XCTAssertTrue("\(error)".contains("no such file '/nowhere/train.csv'"), "\(error)")
    }
  }

  func testWithItsDigestEveryTrialNamesTheFileByDigest() throws {
    let spec = try SweepConfig.parse(
      text: config, file: "c.yaml", dataDigests: ["/nowhere/train.csv": digestA])
    XCTAssertEqual(spec.dataFiles, ["/nowhere/train.csv"])
    XCTAssertEqual(spec.dataDigests, ["/nowhere/train.csv": digestA])
    let plan = SweepPlan(spec: spec)
    for index in 0..<2 {
      let trial = try plan.trial(index)
      XCTAssertEqual(trial.spec?.data.path, "/nowhere/train.csv", "the path is kept for display")
      XCTAssertEqual(trial.spec?.data.pathSHA256, digestA)
      XCTAssertEqual(trial.spec?.problems(), [])
    }
  }

  func testASweptFileGetsItsOwnDigestPerTrial() throws {
    let swept = """
      method: grid
      data: {dataset: csv, path: a.csv}
      training: {epochs: 1}
      parameters:
        data.path: {values: [a.csv, b.csv]}
      """
    let spec = try SweepConfig.parse(
      text: swept, file: "s.yaml", dataDigests: ["a.csv": digestA, "b.csv": digestB])
    XCTAssertEqual(spec.dataFiles, ["a.csv", "b.csv"])
    let plan = SweepPlan(spec: spec)
    XCTAssertEqual(try plan.trial(0).spec?.data.pathSHA256, digestA)
    XCTAssertEqual(try plan.trial(1).spec?.data.pathSHA256, digestB)
  }

  func testBuiltInDataSetsNameNoFile() throws {
    let spec = try SweepConfig.parse(
      text: "method: grid\ndata: {dataset: digits}\nparameters:\n  lr: {values: [0.1]}\n", file: "d.yaml")
    XCTAssertEqual(spec.dataFiles, [])
  }

  func testADigestMustBeSHA256Hex() {
    let spec = DataSpec(dataset: .csv, path: "x.csv", pathSHA256: "1234")
    XCTAssertEqual(
      spec.problems(), ["data.path_sha256 must be 64 lowercase hex digits (a SHA-256), got '1234'"])
  }
}
