/// RMSProp (Hinton, Srivastava & Swersky, Coursera lecture 6e, 2012), as `torch.optim.RMSprop`:
///
/// ```
/// g ← g + λθ
/// v ← ρ·v + (1 − ρ)·g²
/// centred:  ḡ ← lerp(ḡ, g, 1 − ρ);  a ← √(v − ḡ²) + ε      else  a ← √v + ε
/// μ > 0:    b ← μ·b + g/a;  θ ← θ − α·b                     (b starts at zero)
/// else:     θ ← θ − α·g/a
/// ```
/// ε sits outside the root (TensorFlow puts it inside), and there is no bias correction, so
/// step 1 moves about α/√(1−ρ) per coordinate. Graves (2013) introduced the centred form.
/// Defaults: α 0.01, ρ 0.99, ε 1e-8, centred false, μ 0, λ 0.
public struct RMSprop<Scalar: OptimizerScalar>: Optimizer {
  public let learningRate: Double
  public let rho: Double
  public let epsilon: Double
  public let centered: Bool
  public let momentum: Double
  public let weightDecay: Double
  public private(set) var currentLearningRate: Double
  public var needsHessianDiagonal: Bool { false }
  private var squareAverage: [Scalar] = []
  private var gradientAverage: [Scalar] = []
  private var momentumBuffer: [Scalar] = []

  public init(
    learningRate: Double, rho: Double = 0.99, epsilon: Double = 1e-8, centered: Bool = false,
    momentum: Double = 0, weightDecay: Double = 0
  ) {
    self.learningRate = learningRate
    self.rho = rho
    self.epsilon = epsilon
    self.centered = centered
    self.momentum = momentum
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
    let r = Scalar(rho), oneMinusRho = Scalar(1 - rho), mu = Scalar(momentum)
    let centered = self.centered, useMomentum = momentum > 0
    ensureState(&squareAverage, count: n)
    if centered { ensureState(&gradientAverage, count: n) }
    if useMomentum { ensureState(&momentumBuffer, count: n) }
    squareAverage.withUnsafeMutableBufferPointer { v in
      gradientAverage.withUnsafeMutableBufferPointer { gBar in
        momentumBuffer.withUnsafeMutableBufferPointer { b in
          var kernel = Kernel(
            theta: parameters.baseAddress!, g: gradient.baseAddress!, v: v.baseAddress!,
            gBar: centered ? gBar.baseAddress : nil, b: useMomentum ? b.baseAddress : nil, alpha: alpha,
            lambda: lambda, eps: eps, rho: r, oneMinusRho: oneMinusRho, mu: mu)
          runElementwise(&kernel, count: n, threads: context.threads)
        }
      }
    }
  }

  private struct Kernel: ElementwiseKernel {
    let theta: UnsafeMutablePointer<Scalar>, g: UnsafeMutablePointer<Scalar>, v: UnsafeMutablePointer<Scalar>
    let gBar: UnsafeMutablePointer<Scalar>?, b: UnsafeMutablePointer<Scalar>?
    let alpha: Scalar, lambda: Scalar, eps: Scalar, rho: Scalar, oneMinusRho: Scalar, mu: Scalar

    @inline(__always)
    mutating func apply<V: Lane>(at i: Int, _: V.Type) where V.Scalar == Scalar {
      let t = V.load(theta + i)
      let gi = V.load(g + i) + V.splat(lambda) * t
      let vi = V.load(v + i) * V.splat(rho) + V.splat(oneMinusRho) * gi * gi
      vi.store(v + i)
      var average: V
      if let gBar {
        // torch.lerp(ḡ, g, w) = ḡ + w·(g − ḡ) for |w| < 0.5, else g − (g − ḡ)·(1 − w).
        let previous = V.load(gBar + i)
        let mean =
          abs(oneMinusRho) < 0.5
          ? previous + V.splat(oneMinusRho) * (gi - previous)
          : gi - (gi - previous) * V.splat(1 - oneMinusRho)
        mean.store(gBar + i)
        average = (vi - mean * mean).root()
      } else {
        average = vi.root()
      }
      average = average + V.splat(eps)
      if let b {
        let bi = V.load(b + i) * V.splat(mu) + gi / average
        bi.store(b + i)
        (t - V.splat(alpha) * bi).store(theta + i)
      } else {
        (t - V.splat(alpha) * (gi / average)).store(theta + i)
      }
    }
  }
}
