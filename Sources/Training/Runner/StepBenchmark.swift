import Dispatch

/// Times training steps of an MLP on random data of a given shape, the way
/// `scripts/bench/train` compares sweepd with PyTorch: same architecture, batch and
/// optimizer, synthetic inputs, the whole step (forward, backward, update) per sample.
public struct StepBenchmark {
  public struct Result: Sendable {
    /// Median over repeats of microseconds per optimizer step.
    public var microsecondsPerStep: Double
    public var samplesPerSecond: Double
    /// Every repeat's µs/step.
    public var repeats: [Double]
    /// Floating-point operations of the step's matrix products: 2·B·(forward Σ in·out +
    /// weight gradients Σ in·out + input gradients of every layer but the first).
    public var flopsPerStep: Double
  }

  public var inputs: Int
  public var hidden: [Int]
  public var outputs: Int
  public var batchSize: Int
  public var optimizer: OptimizerSpec
  public var activation: Activation = .relu
  public var cores: Int = 1

  public init(
    inputs: Int, hidden: [Int], outputs: Int, batchSize: Int, optimizer: OptimizerSpec, cores: Int = 1
  ) {
    self.inputs = inputs
    self.hidden = hidden
    self.outputs = outputs
    self.batchSize = batchSize
    self.optimizer = optimizer
    self.cores = cores
  }

  /// Runs `warmup` untimed steps, then `repeats` timed runs of `steps` steps each.
  public func run(steps: Int, repeats: Int, warmup: Int = 20) throws -> Result {
    let rows = batchSize * 16
    var random = RandomSource(seed: 42)
    let features = (0..<(rows * inputs)).map { _ in Float(random.normal()) }
    let labels = (0..<rows).map { _ in Int32(random.index(below: outputs)) }
    let training = Dataset(features: features, featureCount: inputs, labels: labels, classes: outputs)
    let data = PreparedData(training: training, validation: training.subset([0, 1]), description: "random")
    let network = Network(
      inputs: inputs, hidden: hidden, outputs: outputs, activation: activation, loss: .crossEntropy)
    var spec = TrialSpec()
    spec.optimizer = optimizer
    spec.batchSize = batchSize
    spec.model = ModelSpec(kind: .mlp, hidden: hidden, activation: activation, initializer: .he)
    let trainer = try NetworkTrainer(network: network, training: data.training, spec: spec, cores: cores)
    _ = trainer.trainSteps(warmup)
    var times: [Double] = []
    for _ in 0..<repeats {
      let start = DispatchTime.now().uptimeNanoseconds
      _ = trainer.trainSteps(steps)
      let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e3
      times.append(elapsed / Double(steps))
    }
    let sorted = times.sorted()
    let median =
      sorted.count % 2 == 1
      ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
    return Result(
      microsecondsPerStep: median, samplesPerSecond: Double(batchSize) / median * 1e6, repeats: times,
      flopsPerStep: Self.flops(widths: network.widths, batchSize: batchSize))
  }

  static func flops(widths: [Int], batchSize: Int) -> Double {
    var multiplyAdds = 0
    for layer in 1..<widths.count {
      let product = widths[layer - 1] * widths[layer]
      multiplyAdds += 2 * product + (layer > 1 ? product : 0)
    }
    return 2 * Double(multiplyAdds) * Double(batchSize)
  }

  /// OpenBLAS's own single-thread sgemm speed on a large square product (n×n·n×n), the
  /// ceiling a training step's products can approach: the best of `repeats` (a peak, so
  /// the least disturbed run counts).
  public static func sgemmPeak(n: Int = 1024, repeats: Int = 9) -> Double {
    var random = RandomSource(seed: 1)
    let a = (0..<(n * n)).map { _ in Float(random.uniform(-1, 1)) }
    let b = (0..<(n * n)).map { _ in Float(random.uniform(-1, 1)) }
    var c = [Float](repeating: 0, count: n * n)
    var rates: [Double] = []
    for _ in 0..<(repeats + 1) {
      let start = DispatchTime.now().uptimeNanoseconds
      a.withUnsafeBufferPointer { a in
        b.withUnsafeBufferPointer { b in
          c.withUnsafeMutableBufferPointer { c in
            BLAS.gemm(
              .none, .none, m: n, n: n, k: n, a: a.baseAddress!, lda: n, b: b.baseAddress!, ldb: n,
              c: c.baseAddress!, ldc: n)
          }
        }
      }
      let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
      rates.append(2 * Double(n) * Double(n) * Double(n) / seconds / 1e9)
    }
    return rates.dropFirst().max() ?? 0
  }
}

extension NetworkTrainer {
  /// Takes `count` optimizer steps over consecutive batches (reshuffling at each pass).
  /// Returns the last batch loss.
  func trainSteps(_ count: Int) -> Double {
    var loss = 0.0
    for _ in 0..<count { loss = nextBatchStep() }
    return loss
  }
}
