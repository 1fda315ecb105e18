#if canImport(Glibc)
  import Glibc
#else
  import Foundation
#endif

/// Eve (Koushik & Hayashi, "Improving stochastic gradient descent with feedback",
/// arXiv:1611.01505v1, Algorithm 1, as the authors' code of November 2016): Adam whose step
/// is divided by d_t, a smoothed measure of how much the objective moves.
///
/// ```
/// t ← t + 1;  m, v, m̂, v̂ as in Adam;  f ← loss − f⋆
/// t = 1:  f̂ ← f;  d ← 1
/// t > 1:  [lo, hi] ← [1 + k, 1 + K] if f > f̂_prev (strict), else [1/(1 + K), 1/(1 + k)]
///         c ← clip(f / f̂_prev, lo, hi);  f̂ ← c·f̂_prev
///         r ← |f̂ − f̂_prev| / min(f̂, f̂_prev);  d ← β3·d + (1 − β3)·r
/// θ ← θ − α · m̂ / (d·√v̂ + ε)
/// ```
/// The objective must be positive (f⋆ is a known lower bound, 0 for a loss). A flat loss
/// takes the "decrease" branch, so d drifts towards k and the step grows up to 1/k times.
/// Defaults: α 0.001, β1 0.9, β2 0.999, β3 0.999, k 0.1, K 10, ε 1e-8, f⋆ 0.
public struct Eve<Scalar: OptimizerScalar>: Optimizer {
  public let learningRate: Double
  public let beta1: Double
  public let beta2: Double
  public let beta3: Double
  public let kLower: Double
  public let kUpper: Double
  public let epsilon: Double
  public let fStar: Double
  public private(set) var currentLearningRate: Double
  public var needsHessianDiagonal: Bool { false }
  /// The feedback coefficient d_t (1 before and after the first step).
  public private(set) var feedback: Double = 1
  private var smoothedObjective: Double = 0
  private var firstMoment: [Scalar] = []
  private var secondMoment: [Scalar] = []
  private var stepCount = 0

  public init(
    learningRate: Double = 0.001, beta1: Double = 0.9, beta2: Double = 0.999, beta3: Double = 0.999,
    kLower: Double = 0.1, kUpper: Double = 10, epsilon: Double = 1e-8, fStar: Double = 0
  ) {
    self.learningRate = learningRate
    self.beta1 = beta1
    self.beta2 = beta2
    self.beta3 = beta3
    self.kLower = kLower
    self.kUpper = kUpper
    self.epsilon = epsilon
    self.fStar = fStar
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
    let lr = context.learningRate ?? learningRate
    currentLearningRate = lr
    let objective = context.loss - fStar
    if stepCount == 1 {
      smoothedObjective = objective
      feedback = 1
    } else {
      let previous = smoothedObjective
      let (low, high) =
        objective > previous ? (1 + kLower, 1 + kUpper) : (1 / (1 + kUpper), 1 / (1 + kLower))
      let ratio = Swift.min(Swift.max(objective / previous, low), high)
      smoothedObjective = ratio * previous
      let change = abs(smoothedObjective - previous) / Swift.min(smoothedObjective, previous)
      feedback = beta3 * feedback + (1 - beta3) * change
    }
    let correction1 = Scalar(1 - pow(beta1, t)), correction2 = Scalar(1 - pow(beta2, t))
    let alpha = Scalar(lr), d = Scalar(feedback), eps = Scalar(epsilon)
    let b1 = Scalar(beta1), oneMinusBeta1 = Scalar(1 - beta1)
    let b2 = Scalar(beta2), oneMinusBeta2 = Scalar(1 - beta2)
    ensureState(&firstMoment, count: n)
    ensureState(&secondMoment, count: n)
    firstMoment.withUnsafeMutableBufferPointer { m in
      secondMoment.withUnsafeMutableBufferPointer { v in
        var kernel = Kernel(
          theta: parameters.baseAddress!, g: gradient.baseAddress!, m: m.baseAddress!, v: v.baseAddress!,
          alpha: alpha, d: d, eps: eps, beta1: b1, oneMinusBeta1: oneMinusBeta1, beta2: b2,
          oneMinusBeta2: oneMinusBeta2, correction1: correction1, correction2: correction2)
        runElementwise(&kernel, count: n, threads: context.threads)
      }
    }
  }

  private struct Kernel: ElementwiseKernel {
    let theta: UnsafeMutablePointer<Scalar>, g: UnsafeMutablePointer<Scalar>
    let m: UnsafeMutablePointer<Scalar>, v: UnsafeMutablePointer<Scalar>
    let alpha: Scalar, d: Scalar, eps: Scalar, beta1: Scalar, oneMinusBeta1: Scalar, beta2: Scalar
    let oneMinusBeta2: Scalar, correction1: Scalar, correction2: Scalar

    @inline(__always)
    mutating func apply<V: Lane>(at i: Int, _: V.Type) where V.Scalar == Scalar {
      let gi = V.load(g + i)
      let mi = V.load(m + i) * V.splat(beta1) + V.splat(oneMinusBeta1) * gi
      let vi = V.load(v + i) * V.splat(beta2) + V.splat(oneMinusBeta2) * gi * gi
      mi.store(m + i)
      vi.store(v + i)
      let mHat = mi / V.splat(correction1), vHat = vi / V.splat(correction2)
      (V.load(theta + i) - V.splat(alpha) * mHat / (V.splat(d) * vHat.root() + V.splat(eps))).store(theta + i)
    }
  }
}
