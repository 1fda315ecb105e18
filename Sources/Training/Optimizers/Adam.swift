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
    let lr = context.learningRate ?? learningRate
    currentLearningRate = lr
    let t = Double(stepCount)
    let biasCorrection1 = 1 - pow(beta1, t)
    let biasCorrection2Root = (1 - pow(beta2, t)).root()
    let stepSize = Scalar(lr / biasCorrection1)
    let b2Root = Scalar(biasCorrection2Root), eps = Scalar(epsilon)
    let oneMinusBeta1 = Scalar(1 - beta1), b2 = Scalar(beta2), oneMinusBeta2 = Scalar(1 - beta2)
    let coupled = decoupledWeightDecay ? 0 : Scalar(weightDecay)
    let shrink = Scalar(1 - lr * weightDecay), decoupled = decoupledWeightDecay && weightDecay != 0
    let amsgrad = self.amsgrad
    ensureState(&firstMoment, count: n)
    ensureState(&secondMoment, count: n)
    if amsgrad { ensureState(&maxSecondMoment, count: n) }
    firstMoment.withUnsafeMutableBufferPointer { m in
      secondMoment.withUnsafeMutableBufferPointer { v in
        maxSecondMoment.withUnsafeMutableBufferPointer { vMax in
          var kernel = Kernel(
            theta: parameters.baseAddress!, g: gradient.baseAddress!, m: m.baseAddress!, v: v.baseAddress!,
            vMax: amsgrad ? vMax.baseAddress : nil, stepSize: stepSize, inverseB2Root: 1 / b2Root, eps: eps,
            oneMinusBeta1: oneMinusBeta1, beta2: b2, oneMinusBeta2: oneMinusBeta2, coupled: coupled,
            shrink: decoupled ? shrink : 1)
          runElementwise(&kernel, count: n, threads: context.threads)
        }
      }
    }
  }

  private struct Kernel: ElementwiseKernel {
    let theta: UnsafeMutablePointer<Scalar>, g: UnsafeMutablePointer<Scalar>
    let m: UnsafeMutablePointer<Scalar>, v: UnsafeMutablePointer<Scalar>, vMax: UnsafeMutablePointer<Scalar>?
    let stepSize: Scalar, inverseB2Root: Scalar, eps: Scalar, oneMinusBeta1: Scalar, beta2: Scalar,
      oneMinusBeta2: Scalar
    let coupled: Scalar, shrink: Scalar

    @inline(__always)
    mutating func apply<V: Lane>(at i: Int, _: V.Type) where V.Scalar == Scalar {
      // AdamW's decoupled decay first (shrink = 1 − αλ, else 1), then Adam's coupled L2.
      let t = V.load(theta + i) * V.splat(shrink)
      let gi = V.load(g + i) + V.splat(coupled) * t
      // torch.lerp(m, g, 1 − β1) as PyTorch evaluates it.
      let previous = V.load(m + i)
      let mi =
        abs(oneMinusBeta1) < 0.5
        ? previous + V.splat(oneMinusBeta1) * (gi - previous)
        : gi - (gi - previous) * V.splat(1 - oneMinusBeta1)
      mi.store(m + i)
      var second = V.load(v + i) * V.splat(beta2) + V.splat(oneMinusBeta2) * gi * gi
      second.store(v + i)
      if let vMax {
        second = V.maximum(V.load(vMax + i), second)
        second.store(vMax + i)
      }
      // √v/√b2 as √v·(1/√b2): one division fewer per element (equal to the last bit or two).
      (t - V.splat(stepSize) * (mi / (second.root() * V.splat(inverseB2Root) + V.splat(eps)))).store(
        theta + i)
    }
  }
}
