/// A diagonal Newton step (Becker & LeCun, 1988, "Improving the convergence of
/// back-propagation learning with second order methods"): each coordinate is scaled by the
/// inverse curvature along it,
///
/// ```
/// θ_i ← θ_i − α · g_i / (|H_ii| + ε)
/// ```
/// H_ii is the exact Hessian diagonal for the 2-D test functions; for linear, logistic and
/// MLP models it is the exact diagonal of the generalized Gauss–Newton matrix JᵀH_ℓJ
/// (Schraudolph, 2002), which equals the Hessian diagonal for linear and logistic regression.
/// |·| keeps the step a descent direction where the curvature is negative, and ε bounds the
/// step where it is near zero. Defaults: α 1.0, ε 1e-4.
public struct DiagonalNewton<Scalar: OptimizerScalar>: Optimizer {
  public let learningRate: Double
  public let epsilon: Double
  public private(set) var currentLearningRate: Double
  public var needsHessianDiagonal: Bool { true }

  public init(learningRate: Double = 1, epsilon: Double = 1e-4) {
    self.learningRate = learningRate
    self.epsilon = epsilon
    currentLearningRate = learningRate
  }

  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public mutating func step(
    parameters: UnsafeMutableBufferPointer<Scalar>, gradient: UnsafeMutableBufferPointer<Scalar>,
    context: StepContext<Scalar>
  ) {
    guard let h = context.hessianDiagonal else {
      preconditionFailure("diag_newton needs the Hessian diagonal")
    }
    let lr = context.learningRate ?? learningRate
    currentLearningRate = lr
    var kernel = Kernel(
      theta: parameters.baseAddress!, g: gradient.baseAddress!, h: h.baseAddress!, alpha: Scalar(lr),
      eps: Scalar(epsilon))
    runElementwise(&kernel, count: parameters.count, threads: context.threads)
  }

  private struct Kernel: ElementwiseKernel {
    let theta: UnsafeMutablePointer<Scalar>, g: UnsafeMutablePointer<Scalar>, h: UnsafePointer<Scalar>
    let alpha: Scalar, eps: Scalar

    @inline(__always)
    mutating func apply<V: Lane>(at i: Int, _: V.Type) where V.Scalar == Scalar {
      let step = V.splat(alpha) * V.load(g + i) / (V.absolute(V.load(h + i)) + V.splat(eps))
      (V.load(theta + i) - step).store(theta + i)
    }
  }
}
