import Foundation
import XCTest

@testable import Search

/// Every sweep config the project ships parses without an error or a warning.
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
      let spec = try SweepConfig.parse(text: String(contentsOfFile: path, encoding: .utf8), file: file)
      XCTAssertEqual(spec.warnings, [], file)
      XCTAssertGreaterThan(SweepPlan(spec: spec).totalTrials ?? 1, 0, file)
    }
  }
}
