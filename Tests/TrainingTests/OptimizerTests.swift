import XCTest

@testable import Training

final class OptimizerTests: XCTestCase {
  func testUnknownHyperparametersAreNamedTogether() {
    XCTAssertThrowsError(
      try OptimizerKind.adam.resolve(["lr": .number(0.1), "betta1": .number(0.9), "momentum": .number(0.9)])
    ) {
      error in
      let text = "\(error)"
      XCTAssertTrue(text.contains("'betta1'"), text)
      XCTAssertTrue(text.contains("'momentum'"), text)
      XCTAssertTrue(text.contains("did you mean 'beta1'"), text)
      XCTAssertTrue(text.contains("it accepts: lr, beta1, beta2, eps, amsgrad, weight_decay"), text)
    }
  }

  func testUnknownOptimizerSuggestsTheClosestName() {
    XCTAssertThrowsError(try OptimizerKind.named("adamm")) { error in
      XCTAssertEqual(error as? HyperparameterError, .unknownOptimizer("adamm", suggestion: "adam"))
    }
    XCTAssertThrowsError(try OptimizerKind.named("lbfgs")) { error in
      XCTAssertEqual(error as? HyperparameterError, .unknownOptimizer("lbfgs", suggestion: nil))
    }
  }

  func testValuesOutOfRangeOrOfTheWrongKind() {
    XCTAssertThrowsError(try OptimizerKind.sgd.resolve(["lr": .number(-1)])) { error in
      XCTAssertTrue("\(error)".contains("lr = -1 is not allowed; expected a number > 0"), "\(error)")
    }
    XCTAssertThrowsError(try OptimizerKind.adam.resolve(["beta1": .number(1)]))
    XCTAssertThrowsError(try OptimizerKind.adam.resolve(["amsgrad": .number(1)]))
    XCTAssertThrowsError(try OptimizerKind.rmsprop.resolve(["centered": .word("maybe")]))
    XCTAssertThrowsError(try OptimizerKind.adamHD.resolve(["hypergrad_scope": .word("layer")]))
    XCTAssertThrowsError(try OptimizerKind.sgd.resolve(["lr": .number(.nan)]))
    XCTAssertThrowsError(try OptimizerKind.sgd.resolve(["nesterov": .flag(true)])) { error in
      XCTAssertTrue("\(error)".contains("nesterov needs momentum > 0"), "\(error)")
    }
    XCTAssertThrowsError(try OptimizerKind.eve.resolve(["k_lower": .number(20)]))
    // A flag given as the word "true" (as from a command line) is accepted.
    XCTAssertEqual(try OptimizerKind.adam.resolve(["amsgrad": .word("true")]).flag("amsgrad"), true)
  }

  func testDefaultsAreFilledIn() throws {
    let adamw = try OptimizerKind.adamw.resolve([:])
    XCTAssertEqual(adamw.real("lr"), 0.001)
    XCTAssertEqual(adamw.real("weight_decay"), 0.01)
    XCTAssertEqual(try OptimizerKind.nesterov.resolve([:]).real("momentum"), 0.9)
    XCTAssertEqual(try OptimizerKind.adamHD.resolve([:]).real("hypergrad_lr"), 1e-7)
    XCTAssertEqual(try OptimizerKind.eve.resolve([:]).real("beta3"), 0.999)
    XCTAssertEqual(try OptimizerKind.diagNewton.resolve([:]).real("eps"), 1e-4)
  }

  /// The vector (8-lane) and scalar paths compute the same formula: every element of a
  /// vector of identical coordinates ends identical, whatever its lane or the tail.
  func testVectorAndScalarLanesAgree() throws {
    for kind in OptimizerKind.allCases {
      var hyper: [String: HyperparameterValue] = [:]
      if kind == .sgd { hyper["momentum"] = .number(0.5) }
      if kind == .sgdHD || kind == .adamHD { hyper["hypergrad_scope"] = .word("parameter") }
      if kind == .adam { hyper["amsgrad"] = .flag(true) }
      if kind == .rmsprop { hyper["centered"] = .flag(true); hyper["momentum"] = .number(0.9) }
      var optimizer = try OptimizerSpec(name: kind.rawValue, hyperparameters: hyper).makeOptimizer(
        scalar: Float.self, parameterCount: 19)
      var theta = [Float](repeating: 0.7, count: 19)
      for step in 0..<5 {
        // f(θ) = Σ θ²/2 + sin-ish variation per step, so every lane sees the same gradient.
        var gradient = theta.map { $0 + Float(step) * 0.1 }
        let hessian = [Float](repeating: 1.5, count: 19)
        hessian.withUnsafeBufferPointer { h in
          theta.withUnsafeMutableBufferPointer { p in
            gradient.withUnsafeMutableBufferPointer { g in
              optimizer.step(
                parameters: p, gradient: g,
                context: StepContext(
                  loss: 1 + Double(step), hessianDiagonal: optimizer.needsHessianDiagonal ? h : nil))
            }
          }
        }
      }
      XCTAssertTrue(theta.allSatisfy { $0 == theta[0] }, "\(kind): \(theta)")
      XCTAssertNotEqual(theta[0], 0.7, "\(kind) did not move")
    }
  }

  /// Large updates run in fixed chunks spread over threads: 1 or 3 threads give the same
  /// bits, hypergradient dot products and per-parameter rate means included.
  func testThreadsDoNotChangeTheUpdate() throws {
    let n = 3 * elementwiseChunk + 13
    var random = RandomSource(seed: 4)
    let start = (0..<n).map { _ in Float(random.normal()) }
    let gradients = (0..<3).map { _ in (0..<n).map { _ in Float(random.normal()) } }
    for (name, hyper) in [
      ("adam", [:]), ("sgd_hd", ["hypergrad_lr": HyperparameterValue.number(1e-4)]),
      ("adam_hd", ["hypergrad_scope": .word("parameter"), "hypergrad_lr": .number(1e-3)]),
      ("sgdn_hd", ["hypergrad_lr": .number(1e-5)]), ("rmsprop", ["centered": .flag(true)]),
    ] as [(String, [String: HyperparameterValue])] {
      var results: [[Float]] = []
      var rates: [Double] = []
      for threads in [1, 3] {
        var optimizer = try OptimizerSpec(name: name, hyperparameters: hyper).makeOptimizer(
          scalar: Float.self, parameterCount: n)
        var theta = start
        for g in gradients {
          var g = g
          theta.withUnsafeMutableBufferPointer { p in
            g.withUnsafeMutableBufferPointer { gp in
              optimizer.step(parameters: p, gradient: gp, context: StepContext(loss: 1, threads: threads))
            }
          }
        }
        results.append(theta)
        rates.append(optimizer.currentLearningRate)
      }
      XCTAssertEqual(results[0], results[1], name)
      XCTAssertEqual(rates[0], rates[1], name)
    }
  }

  /// Float32 training uses the same update as the float64 traces: both agree on a trace.
  func testFloatAndDoubleAgreeOnRosenbrock() throws {
    for kind in OptimizerKind.allCases {
      var hyper: [String: HyperparameterValue] = ["lr": .number(kind == .diagNewton ? 0.1 : 1e-3)]
      if kind == .sgdHD || kind == .sgdnHD { hyper["hypergrad_lr"] = .number(1e-9) }
      if kind == .sgdnHD || kind == .momentum || kind == .nesterov { hyper["lr"] = .number(1e-4) }
      let spec = OptimizerSpec(name: kind.rawValue, hyperparameters: hyper)
      var single = try spec.makeOptimizer(scalar: Float.self, parameterCount: 2)
      var point: [Float] = [-1.5, 2]
      for _ in 0..<50 {
        let loss = TestFunction.rosenbrock.value(point[0], point[1])
        let (gx, gy) = TestFunction.rosenbrock.gradient(point[0], point[1])
        let (hx, hy) = TestFunction.rosenbrock.hessianDiagonal(point[0], point[1])
        var gradient = [gx, gy]
        let hessian = [hx, hy]
        hessian.withUnsafeBufferPointer { h in
          point.withUnsafeMutableBufferPointer { p in
            gradient.withUnsafeMutableBufferPointer { g in
              single.step(
                parameters: p, gradient: g,
                context: StepContext(
                  loss: Double(loss), hessianDiagonal: single.needsHessianDiagonal ? h : nil))
            }
          }
        }
      }
      let reference = try traceOptimizer(function: .rosenbrock, optimizer: spec, start: (-1.5, 2), steps: 50)
        .last!
      XCTAssertEqual(Double(point[0]), reference.x, accuracy: 1e-3, "\(kind)")
      XCTAssertEqual(Double(point[1]), reference.y, accuracy: 1e-3, "\(kind)")
    }
  }

  func testHypergradientRaisesATooSmallLearningRate() throws {
    // On a quadratic bowl successive gradients align, so SGD-HD grows α from a bad start.
    let path = try traceOptimizer(
      function: .rosenbrock,
      optimizer: OptimizerSpec(
        name: "sgd_hd", hyperparameters: ["lr": .number(1e-5), "hypergrad_lr": .number(1e-9)]),
      start: (-1.2, 1), steps: 50)
    XCTAssertGreaterThan(path.last!.lr, 2e-5)
    XCTAssertLessThan(path.last!.loss, path.first!.loss)
    XCTAssertEqual(path[1].lr, 1e-5, "no hypergradient on step 1 (g₀ = 0)")
  }

  func testEveFeedbackStaysWithinTheClip() throws {
    var eve = Eve<Double>(learningRate: 0.01)
    var theta = [1.0, -1.0]
    for (step, loss) in [5.0, 100.0, 0.001, 0.001, 50.0].enumerated() {
      var g = [0.1 * Double(step + 1), -0.2]
      theta.withUnsafeMutableBufferPointer { p in
        g.withUnsafeMutableBufferPointer { gp in
          eve.step(parameters: p, gradient: gp, context: StepContext(loss: loss))
        }
      }
      XCTAssertGreaterThan(eve.feedback, 0)
      XCTAssertLessThanOrEqual(eve.feedback, 10)
    }
  }
}
