import Foundation
import XCTest

@testable import Search

/// Every sweep config the project ships parses without an error or a warning, and every
/// trial config (no `method`, no `parameters`: for `sweepd train --config`) is a valid
/// trial and is refused as a sweep, pointing at `train`.
final class ShippedConfigTests: XCTestCase {
  func testEveryShippedConfigIsValid() throws {
    let configs = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
      .deletingLastPathComponent().appendingPathComponent("configs")
    let files = try FileManager.default.contentsOfDirectory(atPath: configs.path).filter {
      $0.hasSuffix(".yaml")
    }
    .sorted()
    XCTAssertGreaterThanOrEqual(files.count, 14, "\(files)")
    for file in files {
      let path = configs.appendingPathComponent(file).path
      let text = try String(contentsOfFile: path, encoding: .utf8)
      let tree = try ConfigTreeBuilder.parse(text, limits: ConfigLimits())
      if tree.entries?.contains(where: { $0.key == "method" || $0.key == "parameters" }) == false {
        let trial = try TrialFactory.decodeTrial(tree.plain)
        XCTAssertEqual(trial.problems(), [], file)
        XCTAssertThrowsError(try SweepConfig.parse(text: text, file: file)) {
          XCTAssertTrue("\($0)".contains("sweepd train --config \(file)"), "\($0)")
        }
        continue
      }
      let spec = try SweepConfig.parse(text: text, file: file)
      XCTAssertEqual(spec.warnings, [], file)
      XCTAssertGreaterThan(SweepPlan(spec: spec).totalTrials ?? 1, 0, file)
    }
  }
}
