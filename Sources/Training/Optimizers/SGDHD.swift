/// SGD with hypergradient descent on the learning rate (SGD-HD, and SGDN-HD with Nesterov
/// momentum): Baydin, Cornish, Martínez Rubio, Schmidt & Wood, "Online learning rate
/// adaptation with hypergradient descent", ICLR 2018 (arXiv:1703.04782), Algorithms 2 and 3,
/// following the authors' reference code (`hypergrad/sgd_hd.py`):
///
/// ```
/// g ← g + λθ
/// h ← g · d_prev               (d_prev: the previous update direction, 0 before step 1)
/// α ← α + β·h                  (∂f/∂α = −g·d_prev; gradient descent on α)
/// μ ≠ 0: b ← g on step 1, else μ·b + (1 − τ)·g;  d ← g + μ·b (Nesterov) or b
/// μ = 0: d ← g
/// d_prev ← d;  θ ← θ − α·s·d  (s: the schedule's multiplier)
/// ```
/// Scope `global` keeps one α for all parameters (h is a dot product over every
/// parameter); scope `parameter` keeps one α per parameter, α_i ← α_i + β·g_i·d_prev,i.
/// α is not clamped: a large β can drive it negative, as in the paper's own runs.
/// Defaults: α₀ 0.001, β 0.001, μ 0 (SGDN-HD: 0.9), τ 0, λ 0.
public struct SGDHD<Scalar: OptimizerScalar>: Optimizer {
  public let initialLearningRate: Double
  public let hypergradientLearningRate: Double
  public let perParameter: Bool
  public let momentum: Double
  public let dampening: Double
  public let nesterov: Bool
  public let weightDecay: Double
  public private(set) var currentLearningRate: Double
  public var needsHessianDiagonal: Bool { false }
  /// The adapted global α (scope `global`).
  public private(set) var learningRate: Double
  private var learningRates: [Scalar] = []
  private var previousDirection: [Scalar] = []
  private var buffer: [Scalar] = []
  private var stepCount = 0

  public init(
    learningRate: Double, hypergradientLearningRate: Double, perParameter: Bool = false,
    momentum: Double = 0, dampening: Double = 0, nesterov: Bool = false, weightDecay: Double = 0
  ) {
    initialLearningRate = learningRate
    self.learningRate = learningRate
    self.hypergradientLearningRate = hypergradientLearningRate
    self.perParameter = perParameter
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
    stepCount += 1
    let first = stepCount == 1
    let scale = context.learningRateScale
    let lambda = Scalar(weightDecay), beta = Scalar(hypergradientLearningRate)
    let mu = Scalar(momentum), keep = Scalar(1 - dampening)
    let useMomentum = momentum != 0, nesterov = self.nesterov, perParameter = self.perParameter
    ensureState(&previousDirection, count: n)
    if useMomentum { ensureState(&buffer, count: n) }
    if perParameter { ensureState(&learningRates, count: n, initial: Scalar(initialLearningRate)) }
    let theta = parameters.baseAddress!, g = gradient.baseAddress!
    if weightDecay != 0 {
      var decay = WeightDecay(theta: theta, g: g, lambda: lambda)
      runElementwise(&decay, count: n, threads: context.threads)
    }
    previousDirection.withUnsafeMutableBufferPointer { dPrev in
      if !perParameter {
        var dot = DotKernel(a: g, b: dPrev.baseAddress!)
        runElementwise(&dot, count: n, threads: context.threads)
        learningRate += hypergradientLearningRate * dot.sum
      }
      buffer.withUnsafeMutableBufferPointer { b in
        learningRates.withUnsafeMutableBufferPointer { rates in
          var kernel = Kernel(
            theta: theta, g: g, dPrev: dPrev.baseAddress!, b: useMomentum ? b.baseAddress : nil,
            rates: perParameter ? rates.baseAddress : nil, alpha: Scalar(learningRate * scale),
            scale: Scalar(scale),
            beta: beta, mu: mu, keep: keep, first: first, nesterov: nesterov)
          runElementwise(&kernel, count: n, threads: context.threads)
          currentLearningRate =
            perParameter ? kernel.rateSum / Double(max(n, 1)) * scale : learningRate * scale
        }
      }
    }
  }

  private struct Kernel: ElementwiseKernel {
    let theta: UnsafeMutablePointer<Scalar>, g: UnsafeMutablePointer<Scalar>,
      dPrev: UnsafeMutablePointer<Scalar>
    let b: UnsafeMutablePointer<Scalar>?, rates: UnsafeMutablePointer<Scalar>?
    let alpha: Scalar, scale: Scalar, beta: Scalar, mu: Scalar, keep: Scalar, first: Bool, nesterov: Bool
    var rateSum: Double = 0

    mutating func absorb(_ chunk: Self) { rateSum += chunk.rateSum }

    @inline(__always)
    mutating func apply<V: Lane>(at i: Int, _: V.Type) where V.Scalar == Scalar {
      let gi = V.load(g + i)
      var d = gi
      if let b {
        let bi = first ? gi : V.splat(mu) * V.load(b + i) + V.splat(keep) * gi
        bi.store(b + i)
        d = nesterov ? gi + V.splat(mu) * bi : bi
      }
      let t = V.load(theta + i)
      if let rates {
        // α_i ← α_i + β·g_i·d_prev,i, then θ_i ← θ_i − α_i·s·d_i.
        let rate = V.load(rates + i) + V.splat(beta) * gi * V.load(dPrev + i)
        rate.store(rates + i)
        rateSum += rate.laneSum()
        (t - rate * V.splat(scale) * d).store(theta + i)
      } else {
        (t - V.splat(alpha) * d).store(theta + i)
      }
      d.store(dPrev + i)
    }
  }
}

/// g ← g + λθ (coupled L2 weight decay), element-wise.
struct WeightDecay<Scalar: OptimizerScalar>: ElementwiseKernel {
  let theta: UnsafeMutablePointer<Scalar>, g: UnsafeMutablePointer<Scalar>, lambda: Scalar

  @inline(__always)
  mutating func apply<V: Lane>(at i: Int, _: V.Type) where V.Scalar == Scalar {
    (V.load(g + i) + V.splat(lambda) * V.load(theta + i)).store(g + i)
  }
}
