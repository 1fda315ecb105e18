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
    let lr = learningRate * context.learningRateScale
    currentLearningRate = lr
    let alpha = Scalar(lr), eps = Scalar(epsilon)
    for i in 0..<parameters.count {
      parameters[i] -= alpha * gradient[i] / (abs(h[i]) + eps)
    }
  }
}
