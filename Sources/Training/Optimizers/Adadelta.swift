/// ADADELTA (Zeiler, 2012, arXiv:1212.5701, Algorithm 1), as `torch.optim.Adadelta`:
///
/// ```
/// g ← g + λθ
/// v ← ρ·v + (1 − ρ)·g²
/// Δ ← √(u + ε) / √(v + ε) · g           (ε inside both roots)
/// u ← ρ·u + (1 − ρ)·Δ²                  (u accumulates the unscaled Δ)
/// θ ← θ − α·Δ
/// ```
/// The paper has no learning rate; α = 1 reproduces it. With α ≠ 1 only the applied step is
/// scaled. The paper's experiments used ρ 0.95; PyTorch's default (and ours) is 0.9.
/// Defaults: α 1.0, ρ 0.9, ε 1e-6, λ 0.
public struct Adadelta<Scalar: OptimizerScalar>: Optimizer {
  public let learningRate: Double
  public let rho: Double
  public let epsilon: Double
  public let weightDecay: Double
  public private(set) var currentLearningRate: Double
  public var needsHessianDiagonal: Bool { false }
  private var squareAverage: [Scalar] = []
  private var deltaAverage: [Scalar] = []

  public init(learningRate: Double = 1, rho: Double = 0.9, epsilon: Double = 1e-6, weightDecay: Double = 0) {
    self.learningRate = learningRate
    self.rho = rho
    self.epsilon = epsilon
    self.weightDecay = weightDecay
    currentLearningRate = learningRate
  }

  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public mutating func step(
    parameters: UnsafeMutableBufferPointer<Scalar>, gradient: UnsafeMutableBufferPointer<Scalar>,
    context: StepContext<Scalar>
  ) {
    let n = parameters.count
    let lr = context.learningRate ?? learningRate
    currentLearningRate = lr
    let alpha = Scalar(lr), lambda = Scalar(weightDecay), eps = Scalar(epsilon)
    let r = Scalar(rho), oneMinusRho = Scalar(1 - rho)
    ensureState(&squareAverage, count: n)
    ensureState(&deltaAverage, count: n)
    squareAverage.withUnsafeMutableBufferPointer { v in
      deltaAverage.withUnsafeMutableBufferPointer { u in
        var kernel = Kernel(
          theta: parameters.baseAddress!, g: gradient.baseAddress!, v: v.baseAddress!, u: u.baseAddress!,
          alpha: alpha, lambda: lambda, eps: eps, rho: r, oneMinusRho: oneMinusRho)
        runElementwise(&kernel, count: n, threads: context.threads)
      }
    }
  }

  private struct Kernel: ElementwiseKernel {
    let theta: UnsafeMutablePointer<Scalar>, g: UnsafeMutablePointer<Scalar>
    let v: UnsafeMutablePointer<Scalar>, u: UnsafeMutablePointer<Scalar>
    let alpha: Scalar, lambda: Scalar, eps: Scalar, rho: Scalar, oneMinusRho: Scalar

    @inline(__always)
    mutating func apply<V: Lane>(at i: Int, _: V.Type) where V.Scalar == Scalar {
      let t = V.load(theta + i)
      let gi = V.load(g + i) + V.splat(lambda) * t
      let vi = V.load(v + i) * V.splat(rho) + V.splat(oneMinusRho) * gi * gi
      vi.store(v + i)
      let std = (vi + V.splat(eps)).root()
      let ui = V.load(u + i)
      let delta = (ui + V.splat(eps)).root() / std * gi
      (ui * V.splat(rho) + V.splat(oneMinusRho) * delta * delta).store(u + i)
      (t - V.splat(alpha) * delta).store(theta + i)
    }
  }
}
