import Vocabulary

/// The model a trial trains. Config key `model`.
public struct ModelSpec: Hashable, Sendable, Codable {
  public enum Kind: String, CaseIterable, Codable, Sendable {
    /// A multi-layer perceptron with `hidden` layers.
    case mlp
    /// Linear regression: no hidden layer, MSE head.
    case linear
    /// Multinomial logistic regression: no hidden layer, softmax cross-entropy head.
    case logistic
    /// The 2-D test functions; the parameters are the point.
    case beale, rosenbrock
  }

  public var kind: Kind
  /// Hidden layer widths (mlp only). Default [128].
  public var hidden: [Int]
  public var activation: Activation
  public var initializer: Initializer
  /// The loss head; default cross-entropy for classification, MSE for regression.
  public var loss: LossKind?
  /// Start point for beale/rosenbrock; default (1, 1.5) and (−1.5, 2).
  public var start: [Double]?
  /// Normalization of the MLP (`none`, `batch`, `layer`, `weight`; see `Normalization`).
  /// Default none.
  public var norm: Normalization = .none
  /// Inverted dropout after each hidden activation with this probability, in [0, 1): off at
  /// evaluation, masks from the trial's own seeded stream. Default 0.
  public var dropout: Double = 0

  public init(
    kind: Kind = .mlp, hidden: [Int] = [128], activation: Activation = .relu, initializer: Initializer = .he,
    loss: LossKind? = nil, start: [Double]? = nil
  ) {
    self.kind = kind
    self.hidden = hidden
    self.activation = activation
    self.initializer = initializer
    self.loss = loss
    self.start = start
  }

  /// The keys of the `model` section.
  public static var configKeys: [String] { CodingKeys.allCases.map(\.rawValue) }

  enum CodingKeys: String, CodingKey, CaseIterable {
    case kind, hidden, activation, initializer = "init", loss, start, norm, dropout
  }

  public func encode(to encoder: Encoder) throws {
    var c = encoder.container(keyedBy: CodingKeys.self)
    try c.encode(kind, forKey: .kind)
    try c.encode(hidden, forKey: .hidden)
    try c.encode(activation, forKey: .activation)
    try c.encode(initializer, forKey: .initializer)
    try c.encodeIfPresent(loss, forKey: .loss)
    try c.encodeIfPresent(start, forKey: .start)
    if norm != .none { try c.encode(norm, forKey: .norm) }
    if dropout != 0 { try c.encode(dropout, forKey: .dropout) }
  }

  public init(from decoder: Decoder) throws {
    try rejectUnknownKeys(decoder, allowed: CodingKeys.allCases.map(\.rawValue), in: "model")
    let c = try decoder.container(keyedBy: CodingKeys.self)
    self.init(
      kind: try c.decodeIfPresent(Kind.self, forKey: .kind) ?? .mlp,
      hidden: try c.decodeIfPresent([Int].self, forKey: .hidden) ?? [128],
      activation: try c.decodeIfPresent(Activation.self, forKey: .activation) ?? .relu,
      initializer: try c.decodeIfPresent(Initializer.self, forKey: .initializer) ?? .he,
      loss: try c.decodeIfPresent(LossKind.self, forKey: .loss),
      start: try c.decodeIfPresent([Double].self, forKey: .start))
    norm = try c.decodeIfPresent(Normalization.self, forKey: .norm) ?? .none
    dropout = try c.decodeIfPresent(Double.self, forKey: .dropout) ?? 0
  }

  public var testFunction: TestFunction? {
    switch kind {
    case .beale: return .beale
    case .rosenbrock: return .rosenbrock
    default: return nil
    }
  }

  public func problems() -> [String] {
    var problems: [String] = []
    if kind == .mlp && hidden.contains(where: { $0 < 1 }) {
      problems.append("model.hidden: every layer width must be ≥ 1, got \(hidden)")
    }
    if let start, testFunction != nil, start.count != 2 || !start.allSatisfy(\.isFinite) {
      problems.append("model.start must be two finite numbers [x, y], got \(start)")
    }
    if kind == .linear && loss == .crossEntropy {
      problems.append("model.loss: linear regression uses the mse loss")
    }
    if kind == .logistic && loss == .mse {
      problems.append("model.loss: logistic regression uses the cross_entropy loss")
    }
    if !(dropout >= 0 && dropout < 1) {
      problems.append("model.dropout must be a probability in [0, 1), got \(dropout)")
    }
    let hasHidden = kind == .mlp && !hidden.isEmpty
    if norm != .none && !hasHidden {
      problems.append(
        "model.norm: \(norm.rawValue) normalization acts on hidden layers; a \(kind == .mlp ? "network without hidden layers" : kind.rawValue + " model") has none"
      )
    }
    if dropout > 0 && !hasHidden {
      problems.append(
        "model.dropout acts on hidden activations; a \(kind == .mlp ? "network without hidden layers" : kind.rawValue + " model") has none"
      )
    }
    return problems
  }
}

/// Everything that determines one trial's training run. Same spec → same metrics, bit for
/// bit (except the wall-clock `seconds`), whatever the number of cores.
public struct TrialSpec: Hashable, Sendable, Codable {
  public var data: DataSpec
  public var model: ModelSpec
  public var optimizer: OptimizerSpec
  public var schedule: ScheduleSpec
  /// Passes over the training split (for 2-D functions: optimizer steps). Default 30.
  public var epochs: Int
  /// Samples per step. Default 32.
  public var batchSize: Int
  /// Seed of the initial weights and of the per-epoch shuffles.
  public var seed: UInt64

  public init(
    data: DataSpec = DataSpec(dataset: .digits), model: ModelSpec = ModelSpec(),
    optimizer: OptimizerSpec = OptimizerSpec(name: "adam"), schedule: ScheduleSpec = .constant,
    epochs: Int = 30, batchSize: Int = 32, seed: UInt64 = 0
  ) {
    self.data = data
    self.model = model
    self.optimizer = optimizer
    self.schedule = schedule
    self.epochs = epochs
    self.batchSize = batchSize
    self.seed = seed
  }

  enum CodingKeys: String, CodingKey, CaseIterable {
    case data, model, optimizer, schedule, training, seed
  }

  enum TrainingKeys: String, CodingKey, CaseIterable {
    case epochs, batchSize = "batch_size"
  }

  struct OptimizerKeys: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
  }

  /// Decodes the config form:
  /// `{data: {...}, model: {...}, optimizer: {name: adam, lr: 0.001, ...}, schedule: {kind: ...},
  ///  training: {epochs: 30, batch_size: 32}, seed: 0}`.
  public init(from decoder: Decoder) throws {
    try rejectUnknownKeys(decoder, allowed: CodingKeys.allCases.map(\.rawValue), in: "the trial config")
    let c = try decoder.container(keyedBy: CodingKeys.self)
    var spec = TrialSpec()
    spec.data = try c.decodeIfPresent(DataSpec.self, forKey: .data) ?? spec.data
    spec.model = try c.decodeIfPresent(ModelSpec.self, forKey: .model) ?? spec.model
    spec.schedule = try c.decodeIfPresent(ScheduleSpec.self, forKey: .schedule) ?? spec.schedule
    spec.seed = try c.decodeIfPresent(UInt64.self, forKey: .seed) ?? 0
    if c.contains(.training) {
      let training = try c.superDecoder(forKey: .training)
      try rejectUnknownKeys(training, allowed: TrainingKeys.allCases.map(\.rawValue), in: "training")
      let t = try training.container(keyedBy: TrainingKeys.self)
      spec.epochs = try t.decodeIfPresent(Int.self, forKey: .epochs) ?? spec.epochs
      spec.batchSize = try t.decodeIfPresent(Int.self, forKey: .batchSize) ?? spec.batchSize
    }
    if c.contains(.optimizer) {
      let o = try c.nestedContainer(keyedBy: OptimizerKeys.self, forKey: .optimizer)
      let name = try o.decode(String.self, forKey: OptimizerKeys(stringValue: "name"))
      var hyperparameters: [String: HyperparameterValue] = [:]
      for key in o.allKeys where key.stringValue != "name" {
        hyperparameters[key.stringValue] = try o.decode(HyperparameterValue.self, forKey: key)
      }
      spec.optimizer = OptimizerSpec(name: name, hyperparameters: hyperparameters)
    }
    self = spec
  }

  public func encode(to encoder: Encoder) throws {
    var c = encoder.container(keyedBy: CodingKeys.self)
    try c.encode(data, forKey: .data)
    try c.encode(model, forKey: .model)
    var o = c.nestedContainer(keyedBy: OptimizerKeys.self, forKey: .optimizer)
    try o.encode(optimizer.name, forKey: OptimizerKeys(stringValue: "name"))
    for (key, value) in optimizer.hyperparameters.sorted(by: { $0.key < $1.key }) {
      try o.encode(value, forKey: OptimizerKeys(stringValue: key))
    }
    try c.encode(schedule, forKey: .schedule)
    var t = c.nestedContainer(keyedBy: TrainingKeys.self, forKey: .training)
    try t.encode(epochs, forKey: .epochs)
    try t.encode(batchSize, forKey: .batchSize)
    try c.encode(seed, forKey: .seed)
  }

  /// Every problem with the spec (not loading data), each naming its key.
  public func problems() -> [String] { validated().problems }

  /// The spec checked once: every problem (each naming its key), and the optimizer resolved
  /// (nil when it does not resolve), so a trial resolves its hyperparameters exactly once.
  public func validated() -> (problems: [String], optimizer: ResolvedOptimizer?) {
    var problems: [String] = []
    if epochs < 1 { problems.append("training.epochs must be ≥ 1, got \(epochs)") }
    if batchSize < 1 { problems.append("training.batch_size must be ≥ 1, got \(batchSize)") }
    var resolved: ResolvedOptimizer?
    do { resolved = try optimizer.resolved() } catch { problems.append("\(error)") }
    problems += model.problems()
    if resolved?.kind == .diagNewton, model.norm != .none || model.dropout > 0 {
      problems.append(
        "optimizer \(optimizer.name): its Gauss–Newton diagonal is for plain MLPs; model.norm and model.dropout need a first-order optimizer"
      )
    }
    problems += schedule.problems()
    if model.testFunction == nil { problems += data.problems() }
    return (problems, resolved)
  }
}

/// One epoch's metrics (the vocabulary of docs/architecture.md).
public struct EpochMetrics: Hashable, Sendable, Codable {
  /// 1 for the first epoch.
  public var epoch: Int
  /// Mean training loss over the epoch's batches (weighted by batch size).
  public var trainLoss: Double
  /// Loss on the validation rows (nil for a refit, which has none).
  public var valLoss: Double?
  /// Classification: fraction of validation rows misclassified, and 1 minus it.
  public var valError: Double?
  public var valAccuracy: Double?
  /// Regression: √(mean squared error per output) on the validation split.
  public var valRMSE: Double?
  /// The same four on the held-out test rows: only at the last epoch of a `refit` or
  /// `evaluate` run, never during the search.
  public var testLoss: Double?
  public var testError: Double?
  public var testAccuracy: Double?
  public var testRMSE: Double?
  /// k-fold cross-validation: the standard deviation over folds (population, ddof 0, as
  /// scikit-learn's `std_test_score`) of each metric above, by name; the metric itself is
  /// the mean over folds. Reported as `<name>_std`.
  public var deviations: [String: Double] = [:]
  /// The learning rate of the epoch's last step (mean over parameters for per-parameter
  /// rates), schedule included.
  public var lr: Double
  /// Wall-clock seconds of the epoch, evaluation included (the one metric not reproducible).
  public var seconds: Double

  public init(epoch: Int, trainLoss: Double, valLoss: Double?, lr: Double, seconds: Double) {
    self.epoch = epoch
    self.trainLoss = trainLoss
    self.valLoss = valLoss
    self.lr = lr
    self.seconds = seconds
  }

  enum CodingKeys: String, CodingKey {
    case epoch
    case trainLoss = "train_loss"
    case valLoss = "val_loss"
    case valError = "val_error"
    case valAccuracy = "val_accuracy"
    case valRMSE = "val_rmse"
    case testLoss = "test_loss"
    case testError = "test_error"
    case testAccuracy = "test_accuracy"
    case testRMSE = "test_rmse"
    case deviations
    case lr, seconds
  }

  /// The metrics that are averaged over folds (with their deviations), by name.
  nonisolated(unsafe) static let averaged: [(String, WritableKeyPath<EpochMetrics, Double?>)] = [
    ("val_loss", \.valLoss), ("val_error", \.valError), ("val_accuracy", \.valAccuracy),
    ("val_rmse", \.valRMSE), ("test_loss", \.testLoss), ("test_error", \.testError),
    ("test_accuracy", \.testAccuracy), ("test_rmse", \.testRMSE),
  ]

  /// Every metric by its reported name (`train_loss`, `val_error`, …, `val_error_std`).
  public var values: [String: Double] {
    var values: [String: Double] = ["train_loss": trainLoss, "lr": lr, "seconds": seconds]
    for (name, path) in Self.averaged { if let value = self[keyPath: path] { values[name] = value } }
    for (name, deviation) in deviations { values[name + "_std"] = deviation }
    return values
  }

  /// The named metric, if this record has it.
  public func value(named name: String) -> Double? {
    name == "epoch" ? Double(epoch) : values[name]
  }

  /// The folds' metrics of one epoch as one record: each metric's mean over folds (train
  /// loss included), with the deviations of the validation and test metrics; the learning
  /// rate of the first fold (the folds share the schedule); the seconds of the lockstep
  /// epoch.
  static func mean(of folds: [EpochMetrics], seconds: Double) -> EpochMetrics {
    let n = Double(folds.count)
    var result = folds[0]
    result.trainLoss = folds.map(\.trainLoss).reduce(0, +) / n
    result.seconds = seconds
    guard folds.count > 1 else { return result }
    for (name, path) in averaged {
      let values = folds.compactMap { $0[keyPath: path] }
      guard values.count == folds.count else { continue }
      let mean = values.reduce(0, +) / n
      result[keyPath: path] = mean
      result.deviations[name] = (values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / n).squareRoot()
    }
    return result
  }
}

/// What the per-epoch callback wants next.
public enum EpochDecision: Sendable {
  case `continue`
  case stop
}

/// How a training run ended.
public struct TrialResult: Hashable, Sendable, Codable {
  /// completed, stopped (the callback asked), or diverged; a run that cannot start throws.
  public typealias Status = TrialOutcome

  public var status: Status
  public var epochsRun: Int
  /// For `diverged`: the epoch in which it happened.
  public var divergedEpoch: Int?
  public var metrics: [EpochMetrics]
}
