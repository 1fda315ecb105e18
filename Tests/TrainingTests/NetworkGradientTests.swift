import XCTest

@testable import Training

/// Gradients and curvature of every model checked against finite differences.
final class NetworkGradientTests: XCTestCase {
  struct Problem {
    var network: Network
    var x: [Float]
    var labels: [Int32]
    var values: [Float]
    var rows: Int

    init(
      inputs: Int, hidden: [Int], outputs: Int, activation: Activation, loss: LossKind, rows: Int,
      seed: UInt64
    ) {
      network = Network(inputs: inputs, hidden: hidden, outputs: outputs, activation: activation, loss: loss)
      var random = RandomSource(seed: seed)
      self.rows = rows
      x = (0..<(rows * inputs)).map { _ in Float(random.normal()) }
      labels = (0..<rows).map { _ in Int32(random.index(below: outputs)) }
      values = (0..<(rows * outputs)).map { _ in Float(random.normal()) }
    }

    var classification: Bool { network.loss == .crossEntropy }

    func withTargets<R>(_ body: (BatchTargets) -> R) -> R {
      if classification {
        return labels.withUnsafeBufferPointer { body(.labels($0.baseAddress!)) }
      }
      return values.withUnsafeBufferPointer { body(.values($0.baseAddress!)) }
    }

    /// Mean loss, and optionally its gradient.
    func loss(_ theta: [Float], gradient: UnsafeMutablePointer<Float>? = nil) -> Double {
      let workspace = NetworkWorkspace(network: network, capacity: rows)
      let normalizer = network.lossNormalizer(rows: rows)
      return theta.withUnsafeBufferPointer { p in
        x.withUnsafeBufferPointer { xs in
          withTargets { targets in
            network.forward(p.baseAddress!, x: xs.baseAddress!, rows: rows, workspace: workspace)
            let sum = network.lossFromOutputs(
              targets: targets, rows: rows, workspace: workspace, outputGradientScale: Float(1 / normalizer)
            ).lossSum
            if let gradient {
              network.backward(
                p.baseAddress!, x: xs.baseAddress!, rows: rows, workspace: workspace, gradient: gradient)
            }
            return sum / normalizer
          }
        }
      }
    }

    func gradient(_ theta: [Float]) -> [Float] {
      var g = [Float](repeating: 0, count: theta.count)
      _ = g.withUnsafeMutableBufferPointer { loss(theta, gradient: $0.baseAddress!) }
      return g
    }

    func gaussNewtonDiagonal(_ theta: [Float]) -> [Float] {
      let workspace = NetworkWorkspace(network: network, capacity: rows)
      var diagonal = [Float](repeating: 0, count: theta.count)
      let scale = Float(1 / network.lossNormalizer(rows: rows))
      theta.withUnsafeBufferPointer { p in
        x.withUnsafeBufferPointer { xs in
          withTargets { targets in
            diagonal.withUnsafeMutableBufferPointer { d in
              network.forward(p.baseAddress!, x: xs.baseAddress!, rows: rows, workspace: workspace)
              network.addGaussNewtonDiagonal(
                p.baseAddress!, x: xs.baseAddress!, targets: targets, rows: rows, workspace: workspace,
                scale: scale,
                diagonal: d.baseAddress!)
            }
          }
        }
      }
      return diagonal
    }

    func outputs(_ theta: [Float]) -> [Double] {
      let workspace = NetworkWorkspace(network: network, capacity: rows)
      return theta.withUnsafeBufferPointer { p in
        x.withUnsafeBufferPointer { xs in
          network.forward(p.baseAddress!, x: xs.baseAddress!, rows: rows, workspace: workspace)
          let z = workspace.preActivations[network.layerCount - 1]
          return (0..<(rows * network.outputs)).map { Double(z[$0]) }
        }
      }
    }

    /// The smallest |z| of any hidden pre-activation: finite differences across a
    /// rectifier's kink measure the kink, not the gradient.
    func smallestHiddenPreActivation(_ theta: [Float]) -> Float {
      let workspace = NetworkWorkspace(network: network, capacity: rows)
      return theta.withUnsafeBufferPointer { p in
        x.withUnsafeBufferPointer { xs in
          network.forward(p.baseAddress!, x: xs.baseAddress!, rows: rows, workspace: workspace)
          var smallest = Float.infinity
          for layer in 0..<(network.layerCount - 1) {
            for i in 0..<(rows * network.widths[layer + 1]) {
              smallest = min(smallest, abs(workspace.preActivations[layer][i]))
            }
          }
          return smallest
        }
      }
    }

    func initialParameters(_ initializer: Initializer = .xavier, seed: UInt64 = 3) -> [Float] {
      var theta = [Float](repeating: 0, count: network.parameterCount)
      var random = RandomSource(seed: seed)
      theta.withUnsafeMutableBufferPointer {
        network.initialize($0, initializer: initializer, random: &random)
      }
      // Non-zero biases, so their gradients are exercised away from the initial point.
      for layer in 0..<network.layerCount {
        for j in 0..<network.widths[layer + 1] {
          theta[network.biasOffsets[layer] + j] = Float(random.uniform(-0.3, 0.3))
        }
      }
      return theta
    }
  }

  /// Central differences in float32 with step h: agreement to a few parts in a thousand.
  /// (h is small enough that no rectifier kink lies within ±h of a sample here.)
  func assertGradientMatches(
    _ problem: Problem, _ label: String, file: StaticString = #filePath, line: UInt = #line
  ) {
    let theta = problem.initialParameters()
    let analytic = problem.gradient(theta)
    let h: Float = 1e-3
    var worst = 0.0
    for i in 0..<theta.count {
      var plus = theta, minus = theta
      plus[i] += h
      minus[i] -= h
      let numeric = (problem.loss(plus) - problem.loss(minus)) / Double(2 * h)
      let error = abs(numeric - Double(analytic[i])) / max(0.05, abs(numeric))
      worst = max(worst, error)
    }
    XCTAssertLessThan(worst, 2e-2, "\(label): worst relative gradient error \(worst)", file: file, line: line)
  }

  func testMLPGradientsForEveryActivationAndHead() {
    for activation in Activation.allCases {
      for loss in LossKind.allCases {
        // The first data seed whose samples keep clear of the rectifier kinks.
        var seed: UInt64 = 11
        var problem = Problem(
          inputs: 4, hidden: [6, 5], outputs: 3, activation: activation, loss: loss, rows: 7, seed: seed)
        while problem.smallestHiddenPreActivation(problem.initialParameters()) < 0.02 {
          seed += 1
          problem = Problem(
            inputs: 4, hidden: [6, 5], outputs: 3, activation: activation, loss: loss, rows: 7, seed: seed)
        }
        assertGradientMatches(problem, "mlp \(activation) \(loss)")
      }
    }
  }

  func testLinearAndLogisticRegressionGradients() {
    assertGradientMatches(
      Problem(inputs: 5, hidden: [], outputs: 2, activation: .relu, loss: .mse, rows: 9, seed: 4), "linear")
    assertGradientMatches(
      Problem(inputs: 5, hidden: [], outputs: 4, activation: .relu, loss: .crossEntropy, rows: 9, seed: 5),
      "logistic")
  }

  func testInitializersHaveTheDocumentedScale() {
    let network = Network(inputs: 400, hidden: [300], outputs: 10, activation: .relu, loss: .crossEntropy)
    for initializer in Initializer.allCases {
      var theta = [Float](repeating: 0, count: network.parameterCount)
      var random = RandomSource(seed: 9)
      theta.withUnsafeMutableBufferPointer {
        network.initialize($0, initializer: initializer, random: &random)
      }
      let weights = theta[0..<(400 * 300)].map(Double.init)
      let std = (weights.map { $0 * $0 }.reduce(0, +) / Double(weights.count)).squareRoot()
      let bias = theta[network.biasOffsets[0]..<(network.biasOffsets[0] + 300)]
      switch initializer {
      case .he:
        XCTAssertEqual(std, (2.0 / 400).squareRoot(), accuracy: 0.002)
        XCTAssertTrue(bias.allSatisfy { $0 == 0 })
      case .xavier:
        let bound = (6.0 / 700).squareRoot()
        XCTAssertEqual(std, bound / 3.0.squareRoot(), accuracy: 0.002)
        XCTAssertLessThanOrEqual(weights.map(abs).max()!, bound)
      case .torchDefault:
        let bound = 1 / 400.0.squareRoot()
        XCTAssertLessThanOrEqual(weights.map(abs).max()!, bound)
        XCTAssertLessThanOrEqual(bias.map { abs(Double($0)) }.max()!, bound)
        XCTAssertTrue(bias.contains { $0 != 0 })
      }
    }
  }

  /// For models linear in their parameters the Gauss–Newton matrix is the Hessian, so its
  /// diagonal must equal finite differences of the gradient.
  func testGaussNewtonDiagonalIsTheExactHessianDiagonalForLinearModels() {
    for (loss, outputs) in [(LossKind.mse, 2), (.crossEntropy, 3)] {
      let problem = Problem(
        inputs: 4, hidden: [], outputs: outputs, activation: .relu, loss: loss, rows: 8, seed: 21)
      let theta = problem.initialParameters()
      let diagonal = problem.gaussNewtonDiagonal(theta)
      let h: Float = 1e-2
      for i in 0..<theta.count {
        var plus = theta, minus = theta
        plus[i] += h
        minus[i] -= h
        let numeric = Double(problem.gradient(plus)[i] - problem.gradient(minus)[i]) / Double(2 * h)
        XCTAssertEqual(
          Double(diagonal[i]), numeric, accuracy: 2e-2 * max(0.05, abs(numeric)), "\(loss) parameter \(i)")
      }
    }
  }

  /// For an MLP, the diagonal equals Σ_n diag(J_nᵀ H_n J_n) built from finite-difference
  /// Jacobians of the outputs.
  func testGaussNewtonDiagonalOfAnMLPMatchesABruteForceProduct() {
    for loss in LossKind.allCases {
      let problem = Problem(
        inputs: 3, hidden: [4], outputs: 3, activation: .tanh, loss: loss, rows: 5, seed: 8)
      let theta = problem.initialParameters()
      let diagonal = problem.gaussNewtonDiagonal(theta)
      let outputs = problem.network.outputs, rows = problem.rows
      let z = problem.outputs(theta)
      let normalizer = problem.network.lossNormalizer(rows: rows)
      let h: Float = 1e-2
      for i in 0..<theta.count {
        var plus = theta, minus = theta
        plus[i] += h
        minus[i] -= h
        let zp = problem.outputs(plus), zm = problem.outputs(minus)
        var expected = 0.0
        for r in 0..<rows {
          let j = (0..<outputs).map { (zp[r * outputs + $0] - zm[r * outputs + $0]) / Double(2 * h) }
          if loss == .mse {
            expected += j.map { 2 * $0 * $0 }.reduce(0, +)
          } else {
            let row = (0..<outputs).map { z[r * outputs + $0] }
            let top = row.max()!
            let e = row.map { exp($0 - top) }
            let p = e.map { $0 / e.reduce(0, +) }
            // Jᵀ(diag p − ppᵀ)J for one parameter: Σ p_c j_c² − (Σ p_c j_c)².
            let mean = zip(p, j).map { $0 * $1 }.reduce(0, +)
            expected += zip(p, j).map { $0 * $1 * $1 }.reduce(0, +) - mean * mean
          }
        }
        expected /= normalizer
        XCTAssertEqual(
          Double(diagonal[i]), expected, accuracy: 2e-2 * max(0.02, abs(expected)), "\(loss) parameter \(i)")
      }
    }
  }
}
