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
    let lr = learningRate * context.learningRateScale
    currentLearningRate = lr
    let alpha = Scalar(lr), lambda = Scalar(weightDecay), eps = Scalar(epsilon)
    let r = Scalar(rho), oneMinusRho = Scalar(1 - rho), mu = Scalar(momentum)
    let centered = self.centered, useMomentum = momentum > 0
    ensureState(&squareAverage, count: n)
    if centered { ensureState(&gradientAverage, count: n) }
    if useMomentum { ensureState(&momentumBuffer, count: n) }
    let theta = parameters.baseAddress!, g = gradient.baseAddress!
    squareAverage.withUnsafeMutableBufferPointer { v in
      gradientAverage.withUnsafeMutableBufferPointer { gBar in
        momentumBuffer.withUnsafeMutableBufferPointer { b in
          let v = v.baseAddress!
          for i in 0..<n {
            let gi = g[i] + lambda * theta[i]
            v[i] = v[i] * r + oneMinusRho * gi * gi
            var average: Scalar
            if centered {
              let mean = torchLerp(gBar[i], gi, oneMinusRho)
              gBar[i] = mean
              average = (v[i] - mean * mean).squareRoot()
            } else {
              average = v[i].squareRoot()
            }
            average += eps
            if useMomentum {
              b[i] = b[i] * mu + gi / average
              theta[i] -= alpha * b[i]
            } else {
              theta[i] -= alpha * (gi / average)
            }
          }
        }
      }
    }
  }
}
