import Vocabulary
import XCTest

@testable import Search
@testable import Training

#if canImport(Glibc)
  import Glibc
#endif

/// Property tests over seeded random draws: bounds, quantization, shape (Kolmogorov–Smirnov
/// against the exact CDF) and categorical frequencies (χ²).
final class DistributionTests: XCTestCase {
  func draws(_ distribution: Distribution, count: Int = 4000, seed: UInt64 = 1) -> [Double] {
    var random = RandomSource(seed: seed)
    return (0..<count).map { _ in distribution.value(at: random.nextUnitDouble()).number! }
  }

  /// The largest gap between the empirical CDF and `cdf`.
  func ksStatistic(_ samples: [Double], _ cdf: (Double) -> Double) -> Double {
    let sorted = samples.sorted()
    var worst = 0.0
    for (i, x) in sorted.enumerated() {
      let f = cdf(x)
      worst = max(
        worst, abs(f - Double(i) / Double(sorted.count)), abs(f - Double(i + 1) / Double(sorted.count)))
    }
    return worst
  }

  /// 1% critical value of the one-sample KS test: 1.63/√n.
  func ksBound(_ n: Int) -> Double { 1.63 / Double(n).squareRoot() }

  func testContinuousDistributionsFollowTheirCDFs() {
    let n = 4000
    for seed in 1...5 as ClosedRange<UInt64> {
      let uniform = draws(.uniform(min: -2, max: 3), count: n, seed: seed)
      XCTAssertTrue(uniform.allSatisfy { (-2..<3).contains($0) })
      XCTAssertLessThan(ksStatistic(uniform) { ($0 + 2) / 5 }, ksBound(n))

      let logValues = draws(.logUniformValues(min: 1e-4, max: 1), count: n, seed: seed)
      XCTAssertTrue(logValues.allSatisfy { $0 >= 1e-4 && $0 <= 1 })
      XCTAssertLessThan(ksStatistic(logValues) { (log($0) - log(1e-4)) / (log(1) - log(1e-4)) }, ksBound(n))

      let exponents = draws(.logUniform(min: -3, max: 1), count: n, seed: seed)
      XCTAssertLessThan(ksStatistic(exponents) { (log($0) + 3) / 4 }, ksBound(n))

      let inverse = draws(.invLogUniformValues(min: 0.01, max: 10), count: n, seed: seed)
      XCTAssertTrue(inverse.allSatisfy { $0 >= 0.01 - 1e-12 && $0 <= 10 + 1e-9 })
      XCTAssertLessThan(ksStatistic(inverse) { (log($0) - log(0.01)) / (log(10) - log(0.01)) }, ksBound(n))

      let normal = draws(.normal(mu: 1, sigma: 2), count: n, seed: seed)
      XCTAssertLessThan(ksStatistic(normal) { 0.5 * erfc(-($0 - 1) / (2 * 2.0.squareRoot())) }, ksBound(n))

      let logNormal = draws(.logNormal(mu: 0, sigma: 0.5), count: n, seed: seed)
      XCTAssertTrue(logNormal.allSatisfy { $0 > 0 })
      XCTAssertLessThan(
        ksStatistic(logNormal) { 0.5 * erfc(-log($0) / (0.5 * 2.0.squareRoot())) }, ksBound(n))
    }
  }

  func testNormalQuantileIsTheInverseCDF() {
    for u in [1e-12, 1e-6, 0.001, 0.025, 0.3, 0.5, 0.7, 0.975, 0.999999] {
      let x = normalQuantile(u)
      XCTAssertEqual(0.5 * erfc(-x / 2.0.squareRoot()), u, accuracy: 1e-12 + u * 1e-10, "u \(u)")
    }
    XCTAssertEqual(normalQuantile(0.975), 1.959963984540054, accuracy: 1e-9)
  }

  func testQuantizedAndIntegerDistributions() {
    var random = RandomSource(seed: 9)
    var seen = Set<Int>()
    for _ in 0..<3000 {
      guard case .int(let i) = Distribution.intUniform(min: -2, max: 4).value(at: random.nextUnitDouble())
      else {
        return XCTFail("int_uniform gave a non-integer")
      }
      XCTAssertTrue((-2...4).contains(i))
      seen.insert(i)
      guard
        case .int(let q) = Distribution.qUniform(min: 0, max: 100, q: 5).value(at: random.nextUnitDouble())
      else {
        return XCTFail("q_uniform with whole q gave a non-integer")
      }
      XCTAssertEqual(q % 5, 0)
      XCTAssertTrue((0...100).contains(q))
      let fractional = Distribution.qUniform(min: 0, max: 1, q: 0.1).value(at: random.nextUnitDouble())
        .number!
      XCTAssertEqual((fractional * 10).rounded(), fractional * 10, accuracy: 1e-9)
      guard
        case .int(let b) = Distribution.qLogUniformValues(min: 16, max: 512, q: 16).value(
          at: random.nextUnitDouble())
      else { return XCTFail() }
      XCTAssertEqual(b % 16, 0)
      XCTAssertTrue((16...512).contains(b))
    }
    XCTAssertEqual(seen, Set(-2...4), "every integer in range appears")
    XCTAssertEqual(Distribution.intUniform(min: 1, max: 3).gridValues, [.int(1), .int(2), .int(3)])
    XCTAssertEqual(Distribution.qUniform(min: 0, max: 1, q: 0.25).gridValues?.count, 5)
    XCTAssertNil(Distribution.uniform(min: 0, max: 1).gridValues)
  }

  /// W&B's exponent forms: `q_log_uniform` is round(e^U(min, max)/q)·q, `inv_log_uniform` is
  /// e^−U(min, max) (values in [e^−max, e^−min], log-uniform), as W&B's `params.py` defines them.
  func testExponentFormsOfWandB() {
    let n = 4000
    for seed in 1...3 as ClosedRange<UInt64> {
      let inverse = draws(.invLogUniform(min: 0, max: log(1000)), count: n, seed: seed)
      XCTAssertTrue(inverse.allSatisfy { $0 >= 0.001 - 1e-12 && $0 <= 1 + 1e-12 })
      XCTAssertLessThan(ksStatistic(inverse) { (log($0) - log(0.001)) / log(1000) }, ksBound(n))
      var random = RandomSource(seed: seed)
      for _ in 0..<500 {
        guard
          case .int(let b) = Distribution.qLogUniform(min: log(32), max: log(256), q: 1).value(
            at: random.nextUnitDouble())
        else { return XCTFail("q_log_uniform with whole q gave a non-integer") }
        XCTAssertTrue((32...256).contains(b))
      }
    }
    // The value rises with u for both inverse forms, and the two agree on the same range.
    let values = Distribution.invLogUniformValues(min: 0.01, max: 10)
    let exponents = Distribution.invLogUniform(min: -log(10), max: -log(0.01))
    for u in [0.0, 0.1, 0.5, 0.9, 0.999] {
      XCTAssertEqual(values.value(at: u).number!, exponents.value(at: u).number!, accuracy: 1e-12)
    }
    XCTAssertLessThan(exponents.value(at: 0.2).number!, exponents.value(at: 0.8).number!)
  }

  /// The beta CDF against closed forms: for whole a and b, I_x(a, b) is a binomial tail,
  /// Σ_{j=a}^{a+b−1} C(a+b−1, j) x^j (1−x)^(a+b−1−j); Beta(½, ½) is the arcsine law,
  /// (2/π)·asin(√x). The quantile inverts the CDF, and draws pass a KS test.
  func testBetaAgainstClosedForms() {
    func binomialTail(_ x: Double, _ a: Int, _ b: Int) -> Double {
      let n = a + b - 1
      var total = 0.0
      for j in a...n {
        let choose = exp(lgamma(Double(n + 1)) - lgamma(Double(j + 1)) - lgamma(Double(n - j + 1)))
        total += choose * pow(x, Double(j)) * pow(1 - x, Double(n - j))
      }
      return total
    }
    for (a, b) in [(1, 1), (2, 2), (2, 5), (5, 2), (7, 3), (30, 40)] {
      for x in stride(from: 0.01, through: 0.99, by: 0.049) {
        XCTAssertEqual(
          regularizedIncompleteBeta(x, Double(a), Double(b)), binomialTail(x, a, b), accuracy: 1e-12,
          "I_\(x)(\(a), \(b))")
      }
    }
    for x in stride(from: 0.001, through: 0.999, by: 0.037) {
      XCTAssertEqual(
        regularizedIncompleteBeta(x, 0.5, 0.5), 2 / Double.pi * asin(x.squareRoot()), accuracy: 1e-12)
    }
    for (a, b) in [(0.5, 0.5), (2.0, 5.0), (0.3, 4.0), (8.0, 1.5)] {
      for u in [0.001, 0.1, 0.5, 0.77, 0.999] {
        let x = betaQuantile(u, a, b)
        XCTAssertEqual(
          regularizedIncompleteBeta(x, a, b), u, accuracy: 1e-9, "Beta(\(a), \(b)) quantile \(u)")
      }
      let n = 3000
      let samples = draws(.beta(a: a, b: b), count: n, seed: 3)
      XCTAssertTrue(samples.allSatisfy { (0...1).contains($0) })
      XCTAssertLessThan(ksStatistic(samples) { regularizedIncompleteBeta($0, a, b) }, ksBound(n))
    }
    XCTAssertEqual(betaQuantile(0.5, 2, 2), 0.5, accuracy: 1e-12, "a symmetric beta's median is ½")
    var random = RandomSource(seed: 5)
    for _ in 0..<200 {
      let value = Distribution.qBeta(a: 2, b: 2, q: 0.25).value(at: random.nextUnitDouble()).number!
      XCTAssertTrue([0, 0.25, 0.5, 0.75, 1].contains(value), "q_beta gave \(value)")
    }
  }

  /// `quantile(of:)` inverts `value(at:)` (a hand-given value's place in the sampler's
  /// space), and refuses values outside the support.
  func testQuantileOfAValueInvertsTheDistribution() {
    let continuous: [Distribution] = [
      .uniform(min: -2, max: 3), .logUniform(min: -5, max: 1), .invLogUniform(min: 1, max: 6),
      .logUniformValues(min: 1e-4, max: 1), .invLogUniformValues(min: 0.01, max: 10),
      .normal(mu: 1, sigma: 2),
      .logNormal(mu: 0, sigma: 0.5), .beta(a: 2, b: 5),
    ]
    for distribution in continuous {
      for u in [0.01, 0.2, 0.5, 0.77, 0.99] {
        let value = distribution.value(at: u)
        XCTAssertEqual(distribution.quantile(of: value) ?? -1, u, accuracy: 1e-9, "\(distribution) at \(u)")
      }
    }
    let categorical = Distribution.categorical([.string("a"), .string("b")], probabilities: [0.2, 0.8])
    XCTAssertEqual(categorical.value(at: categorical.quantile(of: .string("b"))!), .string("b"))
    XCTAssertNil(categorical.quantile(of: .string("c")))
    XCTAssertEqual(
      Distribution.intUniform(min: 1, max: 4).value(
        at: Distribution.intUniform(min: 1, max: 4).quantile(of: .int(3))!), .int(3))
    XCTAssertNil(Distribution.uniform(min: 0, max: 1).quantile(of: .double(1.5)))
    XCTAssertNil(Distribution.logUniformValues(min: 0.1, max: 1).quantile(of: .double(-1)))
    XCTAssertEqual(Distribution.uniform(min: 0, max: 1).support, "a number in 0…1")
  }

  /// χ² goodness of fit of categorical frequencies (3 degrees of freedom, 1% level 11.34).
  func testCategoricalProbabilities() {
    let values: [ConfigValue] = [.string("a"), .string("b"), .string("c"), .string("d")]
    for probabilities in [[0.1, 0.2, 0.3, 0.4], [0.25, 0.25, 0.25, 0.25], [0.7, 0.1, 0.1, 0.1]] {
      let distribution = Distribution.categorical(values, probabilities: probabilities)
      var random = RandomSource(seed: 11)
      var counts = [ConfigValue: Int]()
      let n = 20_000
      for _ in 0..<n { counts[distribution.value(at: random.nextUnitDouble()), default: 0] += 1 }
      var chiSquare = 0.0
      for (value, p) in zip(values, probabilities) {
        let expected = p * Double(n)
        chiSquare += pow(Double(counts[value, default: 0]) - expected, 2) / expected
      }
      XCTAssertLessThan(chiSquare, 11.34, "\(probabilities): \(counts)")
    }
    let equal = Distribution.categorical([.int(1), .int(2)], probabilities: nil)
    XCTAssertEqual(equal.value(at: 0.49), .int(1))
    XCTAssertEqual(equal.value(at: 0.5), .int(2))
    XCTAssertEqual(equal.value(at: 1), .int(2))
  }
}
