/// AdaGrad (Duchi, Hazan & Singer, JMLR 2011, "Adaptive subgradient methods"), as
/// `torch.optim.Adagrad`:
///
/// ```
/// t ← t + 1;  g ← g + λθ
/// α_t ← α / (1 + (t − 1)·lr_decay)
/// S ← S + g²                       (S starts at initial_accumulator)
/// θ ← θ − α_t · g / (√S + ε)       (ε outside the root, as Duchi's δ)
/// ```
/// Defaults: α 0.01, ε 1e-10, initial_accumulator 0, lr_decay 0, λ 0.
public struct Adagrad<Scalar: OptimizerScalar>: Optimizer {
  public let learningRate: Double
  public let learningRateDecay: Double
  public let epsilon: Double
  public let initialAccumulator: Double
  public let weightDecay: Double
  public private(set) var currentLearningRate: Double
  public var needsHessianDiagonal: Bool { false }
  private var sumOfSquares: [Scalar] = []
  private var stepCount = 0

  public init(
    learningRate: Double, learningRateDecay: Double = 0, epsilon: Double = 1e-10,
    initialAccumulator: Double = 0, weightDecay: Double = 0
  ) {
    self.learningRate = learningRate
    self.learningRateDecay = learningRateDecay
    self.epsilon = epsilon
    self.initialAccumulator = initialAccumulator
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
    stepCount += 1
    let clr = (context.learningRate ?? learningRate) / (1 + Double(stepCount - 1) * learningRateDecay)
    currentLearningRate = clr
    let alpha = Scalar(clr), lambda = Scalar(weightDecay), eps = Scalar(epsilon)
    ensureState(&sumOfSquares, count: n, initial: Scalar(initialAccumulator))
    sumOfSquares.withUnsafeMutableBufferPointer { s in
      var kernel = Kernel(
        theta: parameters.baseAddress!, g: gradient.baseAddress!, s: s.baseAddress!, alpha: alpha,
        lambda: lambda,
        eps: eps)
      runElementwise(&kernel, count: n, threads: context.threads)
    }
  }

  private struct Kernel: ElementwiseKernel {
    let theta: UnsafeMutablePointer<Scalar>, g: UnsafeMutablePointer<Scalar>, s: UnsafeMutablePointer<Scalar>
    let alpha: Scalar, lambda: Scalar, eps: Scalar

    @inline(__always)
    mutating func apply<V: Lane>(at i: Int, _: V.Type) where V.Scalar == Scalar {
      let t = V.load(theta + i)
      let gi = V.load(g + i) + V.splat(lambda) * t
      let sum = V.load(s + i) + gi * gi
      sum.store(s + i)
      (t - V.splat(alpha) * (gi / (sum.root() + V.splat(eps)))).store(theta + i)
    }
  }
}
