#if canImport(Glibc)
  import Glibc
#else
  import Foundation
#endif

/// Adam (Kingma & Ba, ICLR 2015, Algorithm 1) and AdamW (Loshchilov & Hutter, ICLR 2019,
/// "Decoupled weight decay regularization"), as `torch.optim.Adam` / `torch.optim.AdamW`:
///
/// ```
/// t ← t + 1
/// AdamW:  θ ← θ·(1 − α·λ)          Adam:  g ← g + λθ   (coupled L2)
/// m ← lerp(m, g, 1 − β1);  v ← β2·v + (1 − β2)·g²
/// b1 ← 1 − β1^t;  b2 ← 1 − β2^t
/// amsgrad: v̄ ← max(v̄, v), d ← √v̄/√b2 + ε      else d ← √v/√b2 + ε
/// θ ← θ − (α/b1) · m / d
/// ```
/// This equals the paper's θ −= α·m̂/(√v̂ + ε) with ε outside the root after bias correction.
/// AMSGrad: Reddi, Kale & Kumar, ICLR 2018 (the maximum of the raw v).
/// Defaults: α 0.001, β1 0.9, β2 0.999, ε 1e-8, amsgrad false, λ 0 (AdamW: 0.01).
public struct Adam<Scalar: OptimizerScalar>: Optimizer {
  public let learningRate: Double
  public let beta1: Double
  public let beta2: Double
  public let epsilon: Double
  public let amsgrad: Bool
  public let weightDecay: Double
  public let decoupledWeightDecay: Bool
  public private(set) var currentLearningRate: Double
  public var needsHessianDiagonal: Bool { false }
  private var firstMoment: [Scalar] = []
  private var secondMoment: [Scalar] = []
  private var maxSecondMoment: [Scalar] = []
  private var stepCount = 0

  public init(
    learningRate: Double = 0.001, beta1: Double = 0.9, beta2: Double = 0.999,
    epsilon: Double = 1e-8, amsgrad: Bool = false, weightDecay: Double = 0,
    decoupledWeightDecay: Bool = false
  ) {
    self.learningRate = learningRate
    self.beta1 = beta1
    self.beta2 = beta2
    self.epsilon = epsilon
    self.amsgrad = amsgrad
    self.weightDecay = weightDecay
    self.decoupledWeightDecay = decoupledWeightDecay
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
    let lr = learningRate * context.learningRateScale
    currentLearningRate = lr
    let t = Double(stepCount)
    let biasCorrection1 = 1 - pow(beta1, t)
    let biasCorrection2Root = (1 - pow(beta2, t)).squareRoot()
    let stepSize = Scalar(lr / biasCorrection1)
    let b2Root = Scalar(biasCorrection2Root), eps = Scalar(epsilon)
    let oneMinusBeta1 = Scalar(1 - beta1), b2 = Scalar(beta2), oneMinusBeta2 = Scalar(1 - beta2)
    let coupled = decoupledWeightDecay ? 0 : Scalar(weightDecay)
    let shrink = Scalar(1 - lr * weightDecay), decoupled = decoupledWeightDecay && weightDecay != 0
    let amsgrad = self.amsgrad
    ensureState(&firstMoment, count: n)
    ensureState(&secondMoment, count: n)
    if amsgrad { ensureState(&maxSecondMoment, count: n) }
    let theta = parameters.baseAddress!, g = gradient.baseAddress!
    firstMoment.withUnsafeMutableBufferPointer { m in
      secondMoment.withUnsafeMutableBufferPointer { v in
        maxSecondMoment.withUnsafeMutableBufferPointer { vMax in
          let m = m.baseAddress!, v = v.baseAddress!
          for i in 0..<n {
            if decoupled { theta[i] *= shrink }
            let gi = g[i] + coupled * theta[i]
            m[i] = torchLerp(m[i], gi, oneMinusBeta1)
            v[i] = v[i] * b2 + oneMinusBeta2 * gi * gi
            var second = v[i]
            if amsgrad {
              second = Swift.max(vMax[i], second)
              vMax[i] = second
            }
            let denominator = second.squareRoot() / b2Root + eps
            theta[i] -= stepSize * (m[i] / denominator)
          }
        }
      }
    }
  }
}
