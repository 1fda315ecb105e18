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
    /// Multiply–adds per step (forward and backward).
    public var flopsPerStep: Double
  }

  public var inputs: Int
  public var hidden: [Int]
  public var outputs: Int
  public var batchSize: Int
  public var optimizer: OptimizerSpec
  public var activation: Activation = .relu
  public var cores: Int = 1

  public init(inputs: Int, hidden: [Int], outputs: Int, batchSize: Int, optimizer: OptimizerSpec, cores: Int = 1) {
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
    let network = Network(inputs: inputs, hidden: hidden, outputs: outputs, activation: activation, loss: .crossEntropy)
    var spec = TrialSpec()
    spec.optimizer = optimizer
    spec.batchSize = batchSize
    spec.model = ModelSpec(kind: .mlp, hidden: hidden, activation: activation, initializer: .he)
    let trainer = try NetworkTrainer(network: network, data: data, spec: spec, cores: cores)
    _ = trainer.trainSteps(warmup)
    var times: [Double] = []
    for _ in 0..<repeats {
      let start = DispatchTime.now().uptimeNanoseconds
      _ = trainer.trainSteps(steps)
      let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e3
      times.append(elapsed / Double(steps))
    }
    let sorted = times.sorted()
    let median = sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
    return Result(
      microsecondsPerStep: median, samplesPerSecond: Double(batchSize) / median * 1e6, repeats: times,
      flopsPerStep: 2 * 3 * Double(network.forwardMultiplyAdds) * Double(batchSize))
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
