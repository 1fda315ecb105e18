import Foundation
import XCTest

@testable import Training

/// The documented defaults are the code's defaults.
final class DocumentationTests: XCTestCase {
  func testOptimizerTableMatchesTheCode() throws {
    let docs = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
      .deletingLastPathComponent().appendingPathComponent("docs/optimizers.md")
    let text = try String(contentsOf: docs, encoding: .utf8)
    var documented: [String: String] = [:]
    for line in text.split(separator: "\n") where line.hasPrefix("| `") {
      let cells = line.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
      documented[cells[0].trimmingCharacters(in: CharacterSet(charactersIn: "`"))] = cells[1]
    }
    XCTAssertEqual(Set(documented.keys), Set(OptimizerKind.allCases.map(\.rawValue)))
    for kind in OptimizerKind.allCases {
      let expected = kind.hyperparameters.map { "\($0.name) \($0.defaultValue)" }.joined(separator: ", ")
      XCTAssertEqual(documented[kind.rawValue], expected, kind.rawValue)
    }
  }
}
