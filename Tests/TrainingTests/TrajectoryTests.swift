import Foundation
import XCTest

@testable import Training

/// Every reference trajectory (PyTorch 2.15 and the papers' reference code, float64)
/// reproduced to 1e-4 on x and y at every step, through the same `traceOptimizer` path that
/// `sweepd trace` prints.
final class TrajectoryTests: XCTestCase {
  struct Fixture: Decodable {
    struct Case: Decodable {
      var id: String
      var function: String
      var optimizer: String
      var params: [String: HyperparameterValue]
      var start: [Double]
      var steps: Int
      var trajectory: [[Double]]
    }
    var cases: [Case]
  }

  static func loadFixture() throws -> Fixture {
    let url = try XCTUnwrap(
      Bundle.module.url(
        forResource: "optimizer-trajectories", withExtension: "json", subdirectory: "Fixtures"))
    return try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: url))
  }

  func testEveryReferenceTrajectory() throws {
    let fixture = try Self.loadFixture()
    XCTAssertGreaterThanOrEqual(fixture.cases.count, 20)
    var covered = Set<String>()
    for reference in fixture.cases {
      let function = try XCTUnwrap(TestFunction(rawValue: reference.function), reference.id)
      let spec = OptimizerSpec(name: reference.optimizer, hyperparameters: reference.params)
      let path = try traceOptimizer(
        function: function, optimizer: spec, start: (reference.start[0], reference.start[1]),
        steps: reference.steps)
      XCTAssertEqual(path.count, reference.trajectory.count, reference.id)
      var worst = 0.0
      var worstStep = 0
      for (row, expected) in zip(path, reference.trajectory) {
        let error = max(abs(row.x - expected[0]), abs(row.y - expected[1]))
        if !(error <= worst) { worst = error; worstStep = row.step }
        XCTAssertEqual(
          row.lr, expected[3], accuracy: 1e-6 * max(1, abs(expected[3])),
          "\(reference.id) lr at step \(row.step)")
      }
      XCTAssertLessThanOrEqual(worst, 1e-4, "\(reference.id): worst |Δ| \(worst) at step \(worstStep)")
      covered.insert(reference.optimizer)
    }
    // The fixture exercises every optimizer of the vocabulary.
    XCTAssertEqual(covered, Set(OptimizerKind.allCases.map(\.rawValue)))
  }
}
