import Foundation
import Vocabulary
import Wire
import XCTest

@testable import Report

#if canImport(FoundationXML)
  import FoundationXML
#endif

/// The optimizer-paths picture: well-formed SVG with what a reader needs to read it.
final class PathsPlotTests: XCTestCase {
  func plot() -> PathsPlot {
    PathsPlot(
      title: "Rosenbrock <test> & more", xRange: -2...2, yRange: -1...3, minimum: (1, 1),
      paths: [
        .init(label: "sgd:0.001", points: [(-1.5, 2), (-1.2, 1.5), (-1, 1)]),
        .init(label: "adam", points: [(-1.5, 2), (0, 0), (.nan, 1), (0.9, 0.8)]),
        .init(label: "diverged", points: [(-1.5, 2), (1e12, -1e12)]),
      ],
      function: { x, y in (1 - x) * (1 - x) + 100 * (y - x * x) * (y - x * x) })
  }

  func testTheSVGIsWellFormedAndComplete() throws {
    let svg = plot().svg()
    let parser = XMLParser(data: Data(svg.utf8))
    XCTAssertTrue(parser.parse(), "not well-formed XML: \(parser.parserError.map { "\($0)" } ?? "")")
    XCTAssertEqual(svg.components(separatedBy: "<polyline").count - 1, 3, "one line per path")
    for label in ["sgd:0.001", "adam", "diverged", "Rosenbrock &lt;test&gt; &amp; more", "★", "□ start"] {
      XCTAssertTrue(svg.contains(label), label)
    }
    XCTAssertTrue(svg.contains("stroke-dasharray"), "paths differ by dash as well as colour")
    XCTAssertFalse(svg.contains("nan"), "a NaN point is left out, not written")
    XCTAssertTrue(svg.contains("<path d=\"M"), "iso-lines are drawn")
  }

  func testTicksAreRoundAndInside() {
    XCTAssertEqual(SVG.ticks(-2...2), [-2, -1, 0, 1, 2])
    XCTAssertEqual(SVG.ticks(-4.5...4.5), [-4, -2, 0, 2, 4])
    XCTAssertEqual(SVG.ticks(0...0.01).first, 0)
    XCTAssertTrue(SVG.ticks(-1...3).allSatisfy { (-1...3).contains($0) })
  }
}
