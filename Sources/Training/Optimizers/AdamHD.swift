#if canImport(Glibc)
  import Glibc
#else
  import Foundation
#endif

/// Adam with hypergradient descent on the learning rate (Adam-HD): Baydin et al., ICLR 2018
/// (arXiv:1703.04782), Algorithm 4, following the authors' reference code
/// (`hypergrad/adam_hd.py`), which uses Kingma's "efficient" ε̂ form throughout:
///
/// ```
/// t ← t + 1;  g ← g + λθ
/// t > 1:  u ← √(1 − β2^(t−1)) / (1 − β1^(t−1)) · m/(√v + ε)   (the previous step's direction)
///         α ← α + β·(g · u)                                 (no hypergradient on step 1)
/// m ← β1·m + (1 − β1)·g;  v ← β2·v + (1 − β2)·g²
/// θ ← θ − α·s · √(1 − β2^t)/(1 − β1^t) · m/(√v + ε)         (s: the schedule's multiplier)
/// ```
/// Because ε sits in the ε̂ place, Adam-HD with β = 0 equals Adam with ε·√(1 − β2^t), not
/// `torch.optim.Adam`. Scope `parameter` keeps one α per parameter: α_i ← α_i + β·g_i·u_i.
/// Defaults: α₀ 0.001, β1 0.9, β2 0.999, ε 1e-8, β (hypergrad_lr) 1e-7, λ 0.
public struct AdamHD<Scalar: OptimizerScalar>: Optimizer {
  public let initialLearningRate: Double
  public let beta1: Double
  public let beta2: Double
  public let epsilon: Double
  public let hypergradientLearningRate: Double
  public let perParameter: Bool
  public let weightDecay: Double
  public private(set) var currentLearningRate: Double
  public var needsHessianDiagonal: Bool { false }
  public private(set) var learningRate: Double
  private var learningRates: [Scalar] = []
  private var firstMoment: [Scalar] = []
  private var secondMoment: [Scalar] = []
  private var stepCount = 0

  public init(
    learningRate: Double = 0.001, beta1: Double = 0.9, beta2: Double = 0.999,
    epsilon: Double = 1e-8, hypergradientLearningRate: Double = 1e-7, perParameter: Bool = false,
    weightDecay: Double = 0
  ) {
    initialLearningRate = learningRate
    self.learningRate = learningRate
    self.beta1 = beta1
    self.beta2 = beta2
    self.epsilon = epsilon
    self.hypergradientLearningRate = hypergradientLearningRate
    self.perParameter = perParameter
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
    let t = Double(stepCount)
    let scale = context.learningRateScale
    let lambda = Scalar(weightDecay), eps = Scalar(epsilon), beta = Scalar(hypergradientLearningRate)
    let b1 = Scalar(beta1), oneMinusBeta1 = Scalar(1 - beta1)
    let b2 = Scalar(beta2), oneMinusBeta2 = Scalar(1 - beta2)
    let perParameter = self.perParameter
    let previousFactor =
      stepCount > 1 ? (1 - pow(beta2, t - 1)).root() / (1 - pow(beta1, t - 1)) : 0
    let factor = (1 - pow(beta2, t)).root() / (1 - pow(beta1, t))
    ensureState(&firstMoment, count: n)
    ensureState(&secondMoment, count: n)
    if perParameter { ensureState(&learningRates, count: n, initial: Scalar(initialLearningRate)) }
    let theta = parameters.baseAddress!, g = gradient.baseAddress!
    if weightDecay != 0 {
      var decay = WeightDecay(theta: theta, g: g, lambda: lambda)
      runElementwise(&decay, count: n, threads: context.threads)
    }
    firstMoment.withUnsafeMutableBufferPointer { m in
      secondMoment.withUnsafeMutableBufferPointer { v in
        learningRates.withUnsafeMutableBufferPointer { rates in
          let hasPrevious = stepCount > 1
          if !perParameter && hasPrevious {
            var hypergradient = PreviousDirectionDot(g: g, m: m.baseAddress!, v: v.baseAddress!, eps: eps)
            runElementwise(&hypergradient, count: n, threads: context.threads)
            learningRate += hypergradientLearningRate * hypergradient.sum * previousFactor
          }
          var kernel = Kernel(
            theta: theta, g: g, m: m.baseAddress!, v: v.baseAddress!,
            rates: perParameter ? rates.baseAddress : nil,
            hasPrevious: hasPrevious, previousFactor: Scalar(previousFactor), factor: Scalar(factor),
            stepFactor: Scalar(learningRate * scale * factor), scale: Scalar(scale), beta: beta, eps: eps,
            beta1: b1, oneMinusBeta1: oneMinusBeta1, beta2: b2, oneMinusBeta2: oneMinusBeta2)
          runElementwise(&kernel, count: n, threads: context.threads)
          currentLearningRate =
            perParameter ? kernel.rateSum / Double(max(n, 1)) * scale : learningRate * scale
        }
      }
    }
  }

  /// Σ g·m/(√v + ε) over the previous step's moments, in a fixed order.
  private struct PreviousDirectionDot: ElementwiseKernel {
    let g: UnsafeMutablePointer<Scalar>, m: UnsafeMutablePointer<Scalar>, v: UnsafeMutablePointer<Scalar>
    let eps: Scalar
    var sum: Double = 0

    mutating func absorb(_ chunk: Self) { sum += chunk.sum }

    @inline(__always)
    mutating func apply<V: Lane>(at i: Int, _: V.Type) where V.Scalar == Scalar {
      sum += (V.load(g + i) * (V.load(m + i) / (V.load(v + i).root() + V.splat(eps)))).laneSum()
    }
  }

  private struct Kernel: ElementwiseKernel {
    let theta: UnsafeMutablePointer<Scalar>, g: UnsafeMutablePointer<Scalar>
    let m: UnsafeMutablePointer<Scalar>, v: UnsafeMutablePointer<Scalar>, rates: UnsafeMutablePointer<Scalar>?
    let hasPrevious: Bool
    let previousFactor: Scalar, factor: Scalar, stepFactor: Scalar, scale: Scalar, beta: Scalar, eps: Scalar
    let beta1: Scalar, oneMinusBeta1: Scalar, beta2: Scalar, oneMinusBeta2: Scalar
    var rateSum: Double = 0

    mutating func absorb(_ chunk: Self) { rateSum += chunk.rateSum }

    @inline(__always)
    mutating func apply<V: Lane>(at i: Int, _: V.Type) where V.Scalar == Scalar {
      let gi = V.load(g + i)
      var mi = V.load(m + i), vi = V.load(v + i)
      var rate = V.splat(0)
      if let rates {
        rate = V.load(rates + i)
        if hasPrevious {
          rate = rate + V.splat(beta) * gi * (mi / (vi.root() + V.splat(eps))) * V.splat(previousFactor)
          rate.store(rates + i)
        }
        rateSum += rate.laneSum()
      }
      mi = mi * V.splat(beta1) + V.splat(oneMinusBeta1) * gi
      vi = vi * V.splat(beta2) + V.splat(oneMinusBeta2) * gi * gi
      mi.store(m + i)
      vi.store(v + i)
      let direction = mi / (vi.root() + V.splat(eps))
      let t = V.load(theta + i)
      if rates != nil {
        (t - rate * V.splat(scale) * V.splat(factor) * direction).store(theta + i)
      } else {
        (t - V.splat(stepFactor) * direction).store(theta + i)
      }
    }
  }
}
