import XCTest

@testable import Search
@testable import Training

/// Generated cases: random distributions and random sweeps, checked for the invariants every
/// sampler must keep (a seeded generator, so a failure names a reproducible case).
final class SamplerPropertyTests: XCTestCase {
  /// A random distribution of any kind, with valid random settings.
  func randomDistribution(_ g: inout RandomSource) -> Distribution {
    let low = g.uniform(-50, 50), width = g.uniform(0.01, 100)
    let positive = exp(g.uniform(-9, 3)), ratio = exp(g.uniform(0.1, 8))
    let q = [0.1, 0.5, 1, 2, 5][g.index(below: 5)]
    switch g.index(below: 17) {
    case 0: return .constant(.double(low))
    case 1:
      let count = 1 + g.index(below: 6)
      let weights = (0..<count).map { _ in g.uniform(0.05, 1) }
      let total = weights.reduce(0, +)
      return .categorical(
        (0..<count).map { .int($0) }, probabilities: g.index(below: 2) == 0 ? nil : weights.map { $0 / total }
      )
    case 2: return .uniform(min: low, max: low + width)
    case 3:
      let a = Int(low)
      return .intUniform(min: a, max: a + g.index(below: 50))
    case 4: return .qUniform(min: low, max: low + width, q: q)
    case 5: return .logUniform(min: low / 10, max: low / 10 + width / 20)
    case 6: return .logUniformValues(min: positive, max: positive * ratio)
    case 7: return .qLogUniformValues(min: max(positive, q), max: max(positive, q) * ratio, q: q)
    case 8: return .invLogUniformValues(min: positive, max: positive * ratio)
    case 9: return .normal(mu: low, sigma: width)
    case 10: return .qNormal(mu: low, sigma: width, q: q)
    case 11: return .logNormal(mu: low / 20, sigma: width / 50)
    case 12: return .qLogUniform(min: log(max(positive, q)), max: log(max(positive, q) * ratio), q: q)
    case 13: return .invLogUniform(min: low / 10, max: low / 10 + width / 20)
    case 14: return .beta(a: g.uniform(0.1, 10), b: g.uniform(0.1, 10))
    case 15:
      return .qBeta(a: g.uniform(0.1, 10), b: g.uniform(0.1, 10), q: [0.1, 0.25, 0.5][g.index(below: 3)])
    default: return .qLogNormal(mu: 0, sigma: 1, q: q)
    }
  }

  /// Bounds and quantization of every drawn value, and grid enumeration, for 500 random
  /// distributions × 200 draws.
  func testEveryDistributionStaysInItsSupport() {
    var g = RandomSource(seed: 2024)
    for case_ in 0..<500 {
      let distribution = randomDistribution(&g)
      for _ in 0..<200 {
        let u = g.nextUnitDouble()
        let value = distribution.value(at: u)
        let label = "case \(case_): \(distribution) at u=\(u) gave \(value)"
        switch distribution {
        case .constant(let c): XCTAssertEqual(value, c, label)
        case .categorical(let values, _): XCTAssertTrue(values.contains(value), label)
        case .uniform(let a, let b): XCTAssertTrue(value.number! >= a && value.number! < b, label)
        case .intUniform(let a, let b):
          guard case .int(let i) = value else { return XCTFail(label) }
          XCTAssertTrue((a...b).contains(i), label)
        case .qUniform(let a, let b, let q):
          let x = value.number!
          XCTAssertTrue(x >= a - q / 2 - 1e-9 && x <= b + q / 2 + 1e-9, label)
          XCTAssertEqual((x / q).rounded(), x / q, accuracy: 1e-6, label)
        case .logUniform(let a, let b):
          XCTAssertTrue(value.number! >= exp(a) * (1 - 1e-12) && value.number! <= exp(b) * (1 + 1e-12), label)
        case .logUniformValues(let a, let b), .invLogUniformValues(let a, let b):
          XCTAssertTrue(value.number! >= a * (1 - 1e-12) && value.number! <= b * (1 + 1e-12), label)
        case .qLogUniform(let a, let b, let q):
          let x = value.number!
          XCTAssertTrue(x >= exp(a) - q / 2 - 1e-9 && x <= exp(b) + q / 2 + 1e-9, label)
          XCTAssertEqual((x / q).rounded(), x / q, accuracy: 1e-6, label)
        case .invLogUniform(let a, let b):
          XCTAssertTrue(
            value.number! >= exp(-b) * (1 - 1e-12) && value.number! <= exp(-a) * (1 + 1e-12), label)
        case .beta:
          XCTAssertTrue((0...1).contains(value.number!), label)
        case .qBeta(_, _, let q):
          let x = value.number!
          XCTAssertTrue(x >= 0 && x <= 1 + 1e-9, label)
          XCTAssertEqual((x / q).rounded(), x / q, accuracy: 1e-6, label)
        case .qLogUniformValues(let a, let b, let q):
          let x = value.number!
          XCTAssertTrue(x >= a - q / 2 - 1e-9 && x <= b + q / 2 + 1e-9, label)
          XCTAssertEqual((x / q).rounded(), x / q, accuracy: 1e-6, label)
        case .normal, .logNormal:
          XCTAssertTrue(value.number!.isFinite, label)
          if case .logNormal = distribution { XCTAssertGreaterThan(value.number!, 0, label) }
        case .qNormal(_, _, let q), .qLogNormal(_, _, let q):
          let x = value.number!
          XCTAssertEqual((x / q).rounded(), x / q, accuracy: 1e-6, label)
        }
      }
      // The inverse CDF is monotone in u for numeric distributions.
      if case .categorical = distribution {
      } else if case .constant = distribution {
      } else {
        let us = (0..<50).map { Double($0) / 50 }
        let xs = us.map { distribution.value(at: $0).number! }
        XCTAssertTrue(
          zip(xs, xs.dropFirst()).allSatisfy { $0 <= $1 + 1e-12 },
          "case \(case_): \(distribution) not monotone")
      }
      if let grid = distribution.gridValues {
        XCTAssertEqual(grid.count, distribution.gridCount, "case \(case_)")
        XCTAssertEqual(Set(grid).count, grid.count, "case \(case_): repeated grid values")
      }
    }
  }

  /// Random sweeps: every sampler's points lie in [0, 1)^d, are reproducible from the seed,
  /// and every planned trial is a valid trial spec using only values the distributions allow.
  func testEverySamplerKeepsItsInvariants() throws {
    var g = RandomSource(seed: 77)
    for case_ in 0..<40 {
      let dimensions = 1 + g.index(below: 6)
      let parameters = (0..<dimensions).map { i in
        SweepSpec.Parameter(
          path: "x\(i)", distribution: randomDistribution(&g), location: SourceLocation(line: 1, column: 1))
      }
      for method in [SweepSpec.Method.random, .sobol, .tpe] {
        let spec = SweepSpec(
          file: "p", name: nil, description: nil, method: method, methodName: method.rawValue,
          metric: SweepSpec.Metric(name: "val_loss", goal: g.index(below: 2) == 0 ? .minimize : .maximize),
          runCap: 30, seed: g.next(), repeats: 1, maxAttempts: 1, earlyTerminate: nil, base: .map([]),
          parameters: parameters, warnings: [])
        let plan = SweepPlan(spec: spec), again = SweepPlan(spec: spec)
        var history: [Observation] = []
        for k in 0..<25 {
          let point = plan.point(k, history: history)
          XCTAssertEqual(point, again.point(k, history: history), "case \(case_) \(method) trial \(k)")
          XCTAssertEqual(point.count, dimensions)
          XCTAssertTrue(point.allSatisfy { $0 >= 0 && $0 < 1 }, "case \(case_) \(method): \(point)")
          let states: [Observation.State] = [.completed, .completed, .completed, .pruned, .diverged, .failed]
          let state = states[g.index(below: states.count)]
          history.append(
            Observation(point: point, value: state == .completed ? g.normal() : nil, state: state))
        }
      }
    }
    // Planned trials of a real sweep decode as trial specs with allowed values.
    let spec = try SweepConfig.parse(
      text: """
        method: random
        run_cap: 40
        parameters:
          optimizer: {values: [sgd, adam, rmsprop, adagrad, eve]}
          lr: {distribution: log_uniform_values, min: 1.0e-5, max: 1}
          momentum: {min: 0.0, max: 0.99}
          training.batch_size: {distribution: int_uniform, min: 1, max: 512}
          model.activation: {values: [relu, tanh, sigmoid, leaky_relu, gelu]}
        """, file: "p.yaml")
    for planned in try SweepPlan(spec: spec).trials(limit: 40) {
      let trial = (planned, spec: try XCTUnwrap(planned.spec)).1
      let used = planned.used
      XCTAssertEqual(trial.problems(), [], "\(used)")
      let accepted = Set(try OptimizerKind.named(trial.optimizer.name).hyperparameters.map(\.name))
      XCTAssertTrue(Set(trial.optimizer.hyperparameters.keys).isSubset(of: accepted))
    }
  }
}
