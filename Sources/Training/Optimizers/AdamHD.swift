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
      stepCount > 1 ? (1 - pow(beta2, t - 1)).squareRoot() / (1 - pow(beta1, t - 1)) : 0
    let factor = (1 - pow(beta2, t)).squareRoot() / (1 - pow(beta1, t))
    ensureState(&firstMoment, count: n)
    ensureState(&secondMoment, count: n)
    if perParameter { ensureState(&learningRates, count: n, initial: Scalar(initialLearningRate)) }
    let theta = parameters.baseAddress!, g = gradient.baseAddress!
    if weightDecay != 0 {
      for i in 0..<n { g[i] += lambda * theta[i] }
    }
    firstMoment.withUnsafeMutableBufferPointer { m in
      secondMoment.withUnsafeMutableBufferPointer { v in
        learningRates.withUnsafeMutableBufferPointer { rates in
          let m = m.baseAddress!, v = v.baseAddress!
          let hasPrevious = stepCount > 1, previous = Scalar(previousFactor)
          if !perParameter && hasPrevious {
            var h: Double = 0
            for i in 0..<n { h += Double(g[i] * (m[i] / (v[i].squareRoot() + eps))) }
            learningRate += hypergradientLearningRate * h * previousFactor
          }
          let stepFactor = Scalar(learningRate * scale * factor)
          let s = Scalar(scale), f = Scalar(factor)
          var rateSum: Double = 0
          for i in 0..<n {
            let gi = g[i]
            if perParameter && hasPrevious {
              rates[i] += beta * gi * (m[i] / (v[i].squareRoot() + eps)) * previous
            }
            m[i] = m[i] * b1 + oneMinusBeta1 * gi
            v[i] = v[i] * b2 + oneMinusBeta2 * gi * gi
            let direction = m[i] / (v[i].squareRoot() + eps)
            if perParameter {
              rateSum += Double(rates[i])
              theta[i] -= rates[i] * s * f * direction
            } else {
              theta[i] -= stepFactor * direction
            }
          }
          currentLearningRate = perParameter ? rateSum / Double(max(n, 1)) * scale : learningRate * scale
        }
      }
    }
  }
}
