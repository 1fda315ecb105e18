/// Stochastic gradient descent, with optional heavy-ball or Nesterov momentum, exactly as
/// `torch.optim.SGD` (config names `sgd`, `momentum`, `nesterov`).
///
/// ```
/// g ← g + λθ                                  (coupled L2, λ = weight_decay)
/// if μ ≠ 0:  b ← g on the first step, else b ← μ·b + (1 − τ)·g
///            g ← g + μ·b (Nesterov) or g ← b
/// θ ← θ − α·g
/// ```
/// The buffer starts at g (so dampening τ has no effect on step 1), and α multiplies the
/// whole buffer (`v = μv + g; θ −= αv`), not Sutskever's `v = μv + αg`.
/// Momentum: Polyak (1964), "Some methods of speeding up the convergence of iteration
/// methods"; Nesterov (1983); in this form Sutskever et al. (ICML 2013).
/// Defaults: α 0.01, μ 0 (`momentum`, `nesterov`: 0.9), τ 0, λ 0.
public struct SGD<Scalar: OptimizerScalar>: Optimizer {
  public let learningRate: Double
  public let momentum: Double
  public let dampening: Double
  public let nesterov: Bool
  public let weightDecay: Double
  public private(set) var currentLearningRate: Double
  public var needsHessianDiagonal: Bool { false }
  private var buffer: [Scalar] = []
  private var hasBuffer = false

  public init(
    learningRate: Double, momentum: Double = 0, dampening: Double = 0, nesterov: Bool = false,
    weightDecay: Double = 0
  ) {
    self.learningRate = learningRate
    self.momentum = momentum
    self.dampening = dampening
    self.nesterov = nesterov
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
    let alpha = Scalar(lr), lambda = Scalar(weightDecay), mu = Scalar(momentum)
    let keep = Scalar(1 - dampening)
    let first = !hasBuffer
    if momentum != 0 {
      ensureState(&buffer, count: n)
      hasBuffer = true
    }
    buffer.withUnsafeMutableBufferPointer { b in
      var kernel = Kernel(
        theta: parameters.baseAddress!, g: gradient.baseAddress!, b: momentum != 0 ? b.baseAddress : nil,
        alpha: alpha, lambda: lambda,
        mu: mu, keep: keep, first: first, nesterov: nesterov)
      runElementwise(&kernel, count: n, threads: context.threads)
    }
  }

  private struct Kernel: ElementwiseKernel {
    let theta: UnsafeMutablePointer<Scalar>, g: UnsafeMutablePointer<Scalar>, b: UnsafeMutablePointer<Scalar>?
    let alpha: Scalar, lambda: Scalar, mu: Scalar, keep: Scalar, first: Bool, nesterov: Bool

    @inline(__always)
    mutating func apply<V: Lane>(at i: Int, _: V.Type) where V.Scalar == Scalar {
      let t = V.load(theta + i)
      var d = V.load(g + i) + V.splat(lambda) * t
      if let b {
        let bi = first ? d : V.splat(mu) * V.load(b + i) + V.splat(keep) * d
        bi.store(b + i)
        d = nesterov ? d + V.splat(mu) * bi : bi
      }
      (t - V.splat(alpha) * d).store(theta + i)
    }
  }
}
