/// The element types optimizers run on: `Float` in training, `Double` in `sweepd trace`
/// (so traces can be compared with float64 reference trajectories).
public protocol OptimizerScalar: BinaryFloatingPoint, SIMDScalar, Codable, Sendable, Lane
where Scalar == Self {}
extension Float: OptimizerScalar {}
extension Double: OptimizerScalar {}

/// What one optimizer step sees besides the parameters and the gradient.
public struct StepContext<Scalar: OptimizerScalar> {
  /// The objective at the current parameters (the mini-batch loss). Eve uses it.
  public var loss: Double
  /// The diagonal of the Hessian (or of its Gauss–Newton approximation) at the current
  /// parameters; present exactly when the optimizer's `needsHessianDiagonal` is true.
  public var hessianDiagonal: UnsafeBufferPointer<Scalar>?
  /// The schedule's learning rate for this step, absolute (nil: no schedule; the optimizer
  /// steps with its own rate). The optimizers with a fixed rate step with it as it is.
  public var learningRate: Double?
  /// The schedule's multiplier on the initial rate (1 for a constant schedule). The
  /// hypergradient optimizers adapt their own rate α_t, so the schedule scales it: the step
  /// uses `α_t · scale`.
  public var learningRateScale: Double
  /// Threads the update may use (its chunks are fixed, so the result does not depend on it).
  public var threads: Int

  public init(
    loss: Double, hessianDiagonal: UnsafeBufferPointer<Scalar>? = nil, rate: ScheduledRate = .unscheduled,
    threads: Int = 1
  ) {
    self.loss = loss
    self.hessianDiagonal = hessianDiagonal
    self.learningRate = rate.learningRate
    self.learningRateScale = rate.scale
    self.threads = threads
  }
}

/// What a learning-rate schedule says for one step: the absolute rate, and the same as a
/// multiplier on the initial rate (for the hypergradient optimizers, which adapt their own).
public struct ScheduledRate: Hashable, Sendable {
  /// nil: no schedule (the optimizer's own rate).
  public var learningRate: Double?
  public var scale: Double

  public init(learningRate: Double?, scale: Double) {
    self.learningRate = learningRate
    self.scale = scale
  }

  /// No schedule: the optimizer's own rate, unscaled.
  public static let unscheduled = ScheduledRate(learningRate: nil, scale: 1)
}

/// An iterative first- or second-order update `θ ← θ − step(g, state)` over one flat
/// parameter vector. All of a model's parameters live in one contiguous vector, so every
/// optimizer sees a single tensor (and the hypergradient rules are the paper's global
/// rules, summed over every parameter).
public protocol Optimizer<Scalar> {
  associatedtype Scalar: OptimizerScalar

  /// Whether `step` needs `StepContext.hessianDiagonal`.
  var needsHessianDiagonal: Bool { get }

  /// The learning rate the most recent step used (for per-parameter rates, their mean),
  /// including the schedule's multiplier. Before the first step: the initial rate.
  var currentLearningRate: Double { get }

  /// Performs one update of `parameters` in place. `gradient` is ∇f at `parameters`; it is
  /// used as scratch (weight decay is added into it) and must not be read afterwards.
  mutating func step(
    parameters: UnsafeMutableBufferPointer<Scalar>,
    gradient: UnsafeMutableBufferPointer<Scalar>,
    context: StepContext<Scalar>)
}

/// `torch.lerp(a, b, w)` exactly as PyTorch evaluates it on CPU, so state updated with
/// `lerp_` matches to the last bit: `a + w·(b − a)` when |w| < 0.5, else `b − (b − a)·(1 − w)`.
@inline(__always)
func torchLerp<S: OptimizerScalar>(_ a: S, _ b: S, _ w: S) -> S {
  abs(w) < 0.5 ? a + w * (b - a) : b - (b - a) * (1 - w)
}

/// Allocates `count` zeros once and then hands out the same storage.
@inline(__always)
func ensureState<S: OptimizerScalar>(_ state: inout [S], count: Int, initial: S = 0) {
  if state.count != count { state = [S](repeating: initial, count: count) }
}
