import Foundation
import Wire
import XCTest

/// The signed-rank and rank-sum tests against SciPy's values (scripts/reference/significance.py
/// wrote Fixtures/significance.json), on every branch: exact, permutation with ties and
/// zeros, and the normal approximation.
final class SignificanceTests: XCTestCase {
  struct Reference: Decodable {
    struct Value: Decodable {
      var statistic: Double
      var p: Double
    }
    struct Case: Decodable {
      var name: String
      var x: [Double]
      var y: [Double]
      var wilcoxon: Value?
      var rank_sum: Value
    }
    var scipy: String
    var cases: [Case]
  }

  func testAgainstSciPy() throws {
    let url = try XCTUnwrap(
      Bundle.module.url(forResource: "significance", withExtension: "json", subdirectory: "Fixtures"))
    let reference = try JSONDecoder().decode(Reference.self, from: Data(contentsOf: url))
    XCTAssertGreaterThanOrEqual(reference.cases.count, 10)
    var signedRank = 0
    for test in reference.cases {
      if let expected = test.wilcoxon {
        let result = try XCTUnwrap(Significance.wilcoxon(test.x, test.y), test.name)
        XCTAssertEqual(result.statistic, expected.statistic, accuracy: 1e-9, test.name)
        XCTAssertEqual(result.p, expected.p, accuracy: 1e-12 + 1e-9 * expected.p, test.name)
        signedRank += 1
      }
      let result = try XCTUnwrap(Significance.rankSum(test.x, test.y), test.name)
      XCTAssertEqual(result.statistic, test.rank_sum.statistic, accuracy: 1e-9, test.name)
      XCTAssertEqual(result.p, test.rank_sum.p, accuracy: 1e-12 + 1e-9 * test.rank_sum.p, test.name)
    }
    XCTAssertGreaterThanOrEqual(signedRank, 8)
  }

  func testDegenerateInputs() {
    XCTAssertNil(Significance.wilcoxon([1, 2], [1, 2]), "every difference zero: no test")
    XCTAssertNil(Significance.wilcoxon([1], [1, 2]), "pairs must match")
    XCTAssertNil(Significance.rankSum([], [1]))
    XCTAssertEqual(Significance.rankSum([1, 2, 3], [1, 2, 3])?.p ?? 0, 1, accuracy: 1e-12)
  }
}
