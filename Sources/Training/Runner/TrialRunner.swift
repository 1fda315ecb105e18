import Dispatch
import Foundation

/// Trains one trial and reports each epoch.
///
/// ```swift
/// let runner = try TrialRunner(spec: spec, cores: 2)
/// let result = try runner.run { metrics in print(metrics); return .continue }
/// ```
/// Preparation (validation, data loading, splitting) happens in `init`, so errors in the
/// spec or the data surface before any training. A non-finite loss or parameter ends the
/// run as `diverged` with the epoch it happened in.
public struct TrialRunner {
  public let spec: TrialSpec
  public let cores: Int
  /// The machine's cores shared with other trials (nil: `cores` always).
  public let allowance: CoreAllowance?
  /// The prepared data (nil for the 2-D test functions).
  public let data: PreparedData?
  let network: Network?
  /// The optimizer's kind and hyperparameters, resolved once from the spec.
  let optimizer: ResolvedOptimizer

  public struct InvalidSpec: Error, CustomStringConvertible {
    public var problems: [String]
    public var description: String { problems.joined(separator: "\n") }
  }

  /// - Parameters:
  ///   - spec: the trial.
  ///   - cores: threads the trial may use for its gradient shards (≥ 1).
  ///   - data: already prepared data for `spec.data` (a worker reuses it across trials).
  ///   - allowance: when given, the trial uses its live share of the machine's cores (at
  ///     most `cores`), re-read at every step.
  public init(spec: TrialSpec, cores: Int = 1, data: PreparedData? = nil, allowance: CoreAllowance? = nil)
    throws
  {
    let (problems, resolved) = spec.validated()
    guard problems.isEmpty, let resolved else { throw InvalidSpec(problems: problems) }
    self.spec = spec
    optimizer = resolved
    self.cores = Swift.max(1, cores)
    self.allowance = allowance
    if spec.model.testFunction != nil {
      self.data = nil
      network = nil
      return
    }
    let prepared = try data ?? spec.data.prepare()
    self.data = prepared
    let task = prepared.training.task
    let loss: LossKind
    switch spec.model.kind {
    case .linear: loss = .mse
    case .logistic: loss = .crossEntropy
    default: loss = spec.model.loss ?? (task.isClassification ? .crossEntropy : .mse)
    }
    if loss == .crossEntropy && !task.isClassification {
      throw InvalidSpec(problems: [
        "model.loss: cross_entropy needs a classification data set; \(spec.data.dataset.rawValue) is regression"
      ])
    }
    if spec.model.kind == .logistic && !task.isClassification {
      throw InvalidSpec(problems: ["model.kind: logistic regression needs a classification data set"])
    }
    let hidden = spec.model.kind == .mlp ? spec.model.hidden : []
    let network = Network(
      inputs: prepared.training.featureCount, hidden: hidden, outputs: task.outputCount,
      activation: spec.model.activation, loss: loss, norm: spec.model.norm, dropout: spec.model.dropout)
    let needed =
      Self.estimatedBytes(network, batchSize: spec.batchSize, cores: self.cores) * prepared.splits.count
    let available = Double(ProcessInfo.processInfo.physicalMemory)
    if Double(needed) > 0.8 * available {
      throw InvalidSpec(problems: [
        "model.hidden \(hidden): this trial needs about \(Self.bytes(Double(needed))) (\(network.parameterCount) parameters; weights, gradients, optimizer state and per-core buffers), more than this machine's \(Self.bytes(available)) can give; use narrower layers"
      ])
    }
    self.network = network
  }

  /// The memory a network trial takes, roughly, in bytes: per parameter (Float32) the
  /// weights, the gradient, up to four optimizer state vectors, the Hessian diagonal and a
  /// gradient per extra shard; per row of a 256-row evaluation chunk, every layer's
  /// activations and their gradients, once per core's workspace.
  static func estimatedBytes(_ network: Network, batchSize: Int, cores: Int) -> Int {
    let shards = Swift.max(ShardPlan(rows: Swift.max(batchSize, 1)).shardCount - 1, 0)
    let perParameter = 4.0 * Double(7 + shards)
    let rows = Double(Swift.max(ShardPlan.rowsPerShard, NetworkTrainer.evaluationChunk))
    let activations =
      4.0 * 2 * rows * Double(network.widths.reduce(0, +)) * Double(Swift.min(Swift.max(cores, 1), 8) + 1)
    let total = perParameter * Double(network.parameterCount) + activations
    return total >= Double(Int.max) ? Int.max : Int(total)
  }

  /// `1.2 GB`, `320 GB`, `40 TB`.
  static func bytes(_ count: Double) -> String {
    for (unit, size) in [("TB", 1e12), ("GB", 1e9), ("MB", 1e6)] where count >= size {
      return String(format: count / size >= 10 ? "%.0f %@" : "%.1f %@", count / size, unit)
    }
    return String(format: "%.0f kB", count / 1e3)
  }

  /// Trains, calling `onEpoch` after every epoch; returning `.stop` ends the run.
  /// `interrupted` is asked between batches: a yes abandons the epoch under way (a STOP that
  /// arrives mid-epoch need not wait for it) and ends the run `.stopped` after the last
  /// whole epoch.
  public func run(
    onEpoch: (EpochMetrics) throws -> EpochDecision = { _ in .continue },
    interrupted: () -> Bool = { false }
  ) throws -> TrialResult {
    if let function = spec.model.testFunction {
      return try runTestFunction(function, onEpoch: onEpoch)
    }
    let network = self.network!, data = self.data!
    let stage = spec.data.stage
    let lastEpoch =
      stage == .search ? spec.epochs : Swift.min(spec.data.stageEpochs ?? spec.epochs, spec.epochs)
    // k folds train in lockstep, spread over the cores (each fold's arithmetic does not
    // depend on its thread count, so neither do the metrics).
    let folds = data.splits.count
    let trainers = try data.splits.map { split in
      try NetworkTrainer(
        network: network, training: split.training, spec: spec, optimizer: optimizer,
        cores: folds == 1 ? cores : Swift.max(1, cores / folds), allowance: folds == 1 ? allowance : nil)
    }
    // The schedule spans `training.epochs` in every stage, so a refit cut at epoch e saw
    // the rates the trial saw up to e.
    var schedules = trainers.map { _ in
      LearningRateSchedule(spec: spec.schedule, baseLearningRate: optimizer.learningRate, epochs: spec.epochs)
    }
    var history: [EpochMetrics] = []
    for epoch in 1...lastEpoch {
      let started = DispatchTime.now().uptimeNanoseconds
      var outcomes = [FoldEpoch](repeating: .stopped, count: folds)
      outcomes.withUnsafeMutableBufferPointer { outcomes in
        schedules.withUnsafeMutableBufferPointer { schedules in
          // The trial's live share of the machine (its slot's, when slots share cores).
          let threads = Swift.min(allowance.map { Swift.min($0.share, cores) } ?? cores, folds)
          parallelFor(folds, cores: threads) { fold in
            outcomes[fold] = Self.epoch(
              epoch, trainer: trainers[fold], split: data.splits[fold], schedule: &schedules[fold],
              testing: stage != .search && epoch == lastEpoch, interrupted: interrupted)
          }
        }
      }
      var metrics: [EpochMetrics] = []
      for outcome in outcomes {
        switch outcome {
        case .stopped: return TrialResult(status: .stopped, epochsRun: epoch - 1, metrics: history)
        case .diverged:
          return TrialResult(status: .diverged, epochsRun: epoch, divergedEpoch: epoch, metrics: history)
        case .metrics(let fold): metrics.append(fold)
        }
      }
      let combined = EpochMetrics.mean(
        of: metrics, seconds: Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9)
      history.append(combined)
      if try onEpoch(combined) == .stop {
        return TrialResult(status: .stopped, epochsRun: epoch, metrics: history)
      }
    }
    return TrialResult(status: .completed, epochsRun: lastEpoch, metrics: history)
  }

  /// How one fold's epoch went.
  enum FoldEpoch {
    case stopped, diverged
    case metrics(EpochMetrics)
  }

  /// One epoch of one fold: a pass over its training rows, then its validation rows (none
  /// in a refit) and, when `testing`, its test rows. The schedule follows the validation
  /// loss, or the training loss when there is no validation.
  static func epoch(
    _ epoch: Int, trainer: NetworkTrainer, split: PreparedData.Split, schedule: inout LearningRateSchedule,
    testing: Bool, interrupted: () -> Bool
  ) -> FoldEpoch {
    guard let (trainLoss, finite) = trainer.trainEpoch(rate: schedule.scheduled, interrupted: interrupted)
    else { return .stopped }
    guard finite, trainer.parametersAreFinite else { return .diverged }
    var metrics = EpochMetrics(
      epoch: epoch, trainLoss: trainLoss, valLoss: nil, lr: trainer.optimizer.currentLearningRate, seconds: 0)
    if split.validation.rows > 0 {
      let (loss, errors) = trainer.evaluate(split.validation)
      guard loss.isFinite else { return .diverged }
      metrics.valLoss = loss
      if split.validation.task.isClassification {
        metrics.valError = Double(errors) / Double(split.validation.rows)
        metrics.valAccuracy = 1 - metrics.valError!
      } else {
        metrics.valRMSE = loss.squareRoot()
      }
    }
    if testing, let test = split.test, test.rows > 0 {
      let (loss, errors) = trainer.evaluate(test)
      metrics.testLoss = loss
      if test.task.isClassification {
        metrics.testError = Double(errors) / Double(test.rows)
        metrics.testAccuracy = 1 - metrics.testError!
      } else {
        metrics.testRMSE = loss.squareRoot()
      }
    }
    schedule.advance(completedEpochs: epoch, monitored: metrics.valLoss ?? trainLoss)
    return .metrics(metrics)
  }

  /// A 2-D test function: one optimizer step per epoch; train and validation loss are f at
  /// the new point.
  private func runTestFunction(
    _ function: TestFunction, onEpoch: (EpochMetrics) throws -> EpochDecision
  ) throws -> TrialResult {
    let start = spec.model.start.map { ($0[0], $0[1]) } ?? function.defaultStart
    var schedule = LearningRateSchedule(
      spec: spec.schedule, baseLearningRate: self.optimizer.learningRate, epochs: spec.epochs)
    var optimizer = self.optimizer.make(scalar: Double.self, parameterCount: 2)
    var point = [start.0, start.1], gradient = [0.0, 0.0], hessian = [0.0, 0.0]
    var history: [EpochMetrics] = []
    for epoch in 1...spec.epochs {
      let started = DispatchTime.now().uptimeNanoseconds
      let loss = function.value(point[0], point[1])
      (gradient[0], gradient[1]) = function.gradient(point[0], point[1])
      (hessian[0], hessian[1]) = function.hessianDiagonal(point[0], point[1])
      let needsHessian = optimizer.needsHessianDiagonal
      let rate = schedule.scheduled
      hessian.withUnsafeBufferPointer { h in
        point.withUnsafeMutableBufferPointer { p in
          gradient.withUnsafeMutableBufferPointer { g in
            optimizer.step(
              parameters: p, gradient: g,
              context: StepContext(
                loss: loss, hessianDiagonal: needsHessian ? h : nil, rate: rate))
          }
        }
      }
      let value = function.value(point[0], point[1])
      guard value.isFinite, point.allSatisfy(\.isFinite) else {
        return TrialResult(status: .diverged, epochsRun: epoch, divergedEpoch: epoch, metrics: history)
      }
      schedule.advance(completedEpochs: epoch, monitored: value)
      let metrics = EpochMetrics(
        epoch: epoch, trainLoss: value, valLoss: value, lr: optimizer.currentLearningRate,
        seconds: Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9)
      history.append(metrics)
      if try onEpoch(metrics) == .stop {
        return TrialResult(status: .stopped, epochsRun: epoch, metrics: history)
      }
    }
    return TrialResult(status: .completed, epochsRun: spec.epochs, metrics: history)
  }
}
