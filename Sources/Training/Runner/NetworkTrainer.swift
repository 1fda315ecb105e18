/// Trains a `Network` on prepared data: mini-batches in a seeded per-epoch order, gradients
/// computed by shards (see `ShardPlan`), one optimizer step per batch. Owns the parameter,
/// gradient and scratch buffers of one trial.
final class NetworkTrainer {
  let network: Network
  /// The rows it trains on.
  let training: Dataset
  let batchSize: Int
  /// The most threads a step may use, and the live share of the machine (nil: always
  /// `maximumCores`).
  let maximumCores: Int
  let allowance: CoreAllowance?
  var optimizer: any Optimizer<Float>
  private(set) var parameters: [Float]
  private var gradient: [Float]
  private var hessianDiagonal: [Float]
  /// Gradient buffers of shards 1…S−1 (shard 0 writes into `gradient`).
  private let shardGradients: [UnsafeMutablePointer<Float>]
  private let workspaces: [NetworkWorkspace]
  private var batchFeatures: [Float]
  private var batchLabels: [Int32]
  private var batchTargets: [Float]
  private var order: [Int]
  private var shuffler: RandomSource
  /// Weight normalization: the materialized parameters forward and backward compute with
  /// (empty otherwise).
  private var effective: [Float]
  /// Batch normalization: each hidden layer's running mean and variance (state, not
  /// parameters: the optimizer never sees them).
  private let runningMean: [UnsafeMutablePointer<Float>]
  private let runningVariance: [UnsafeMutablePointer<Float>]
  /// Dropout: the batch's keep masks per hidden layer (rows × width), drawn each step from
  /// the trial's own stream, in row order (so the same on any number of cores).
  let masks: [UnsafeMutablePointer<Float>]
  private var dropoutRandom: RandomSource
  /// Position in `order` of the next batch for `nextBatchStep`.
  private var cursor = Int.max

  /// Rows per evaluation chunk (independent of cores, so sums are reproducible).
  static let evaluationChunk = 256

  init(
    network: Network, training: Dataset, spec: TrialSpec, optimizer: ResolvedOptimizer? = nil, cores: Int,
    allowance: CoreAllowance? = nil
  ) throws {
    self.network = network
    // A small data set shared by the worker's slots is copied for this trial: each step
    // touches its arrays, and on shared buffers the reference counting of two trials on two
    // cores contends for the same cache lines. Large ones (over 32 MiB) stay shared.
    self.training = training.byteCount <= 32 << 20 ? training.unshared() : training
    self.batchSize = Swift.min(spec.batchSize, training.rows)
    self.maximumCores = Swift.max(1, cores)
    self.allowance = allowance
    self.optimizer = try (optimizer ?? spec.optimizer.resolved()).make(
      scalar: Float.self, parameterCount: network.parameterCount)
    parameters = [Float](repeating: 0, count: network.parameterCount)
    var initRandom = RandomSource.derived(seed: spec.seed, stream: "init")
    parameters.withUnsafeMutableBufferPointer {
      network.initialize($0, initializer: spec.model.initializer, random: &initRandom)
    }
    gradient = [Float](repeating: 0, count: network.parameterCount)
    hessianDiagonal =
      self.optimizer.needsHessianDiagonal ? [Float](repeating: 0, count: network.parameterCount) : []
    let plan = ShardPlan(rows: batchSize, wholeBatch: network.norm == .batch)
    shardGradients = (0..<Swift.max(plan.shardCount - 1, 0)).map { _ in
      let buffer = UnsafeMutablePointer<Float>.allocate(capacity: network.parameterCount)
      buffer.initialize(repeating: 0, count: network.parameterCount)
      return buffer
    }
    let capacity = Swift.max(ShardPlan.rowsPerShard, Self.evaluationChunk, plan.shardRows)
    workspaces = (0..<Swift.max(plan.shardCount, Swift.min(maximumCores, 8))).map { _ in
      NetworkWorkspace(network: network, capacity: capacity)
    }
    batchFeatures = [Float](repeating: 0, count: batchSize * network.inputs)
    batchLabels = [Int32](repeating: 0, count: batchSize)
    batchTargets = [Float](
      repeating: 0, count: training.task.isClassification ? 0 : batchSize * network.outputs)
    order = Array(0..<training.rows)
    shuffler = RandomSource.derived(seed: spec.seed, stream: "shuffle")
    effective = network.norm == .weight ? [Float](repeating: 0, count: network.parameterCount) : []
    let hiddenWidths = Array(network.widths.dropFirst().dropLast())
    func buffers(_ count: (Int) -> Int, value: Float) -> [UnsafeMutablePointer<Float>] {
      hiddenWidths.map { width in
        let buffer = UnsafeMutablePointer<Float>.allocate(capacity: Swift.max(count(width), 1))
        buffer.initialize(repeating: value, count: Swift.max(count(width), 1))
        return buffer
      }
    }
    // PyTorch's BatchNorm1d starts the running mean at 0 and the variance at 1.
    runningMean = network.norm == .batch ? buffers({ $0 }, value: 0) : []
    runningVariance = network.norm == .batch ? buffers({ $0 }, value: 1) : []
    let batchRows = batchSize
    masks = network.dropout > 0 ? buffers({ $0 * batchRows }, value: 1) : []
    dropoutRandom = RandomSource.derived(seed: spec.seed, stream: "dropout")
  }

  /// The parameters the network computes with: the materialized ones under weight
  /// normalization (refreshed here), else the parameters themselves.
  private func computeParameters<R>(_ body: (UnsafePointer<Float>) -> R) -> R {
    guard network.norm == .weight else {
      return parameters.withUnsafeBufferPointer { body($0.baseAddress!) }
    }
    parameters.withUnsafeBufferPointer { p in
      effective.withUnsafeMutableBufferPointer {
        network.materializeWeights(p.baseAddress!, into: $0.baseAddress!)
      }
    }
    return effective.withUnsafeBufferPointer { body($0.baseAddress!) }
  }

  /// The forward pass of a training step over rows `range` of the batch.
  private func trainingPass(rows range: Range<Int>) -> Network.Pass {
    var pass = Network.Pass()
    pass.training = true
    pass.masks = masks.enumerated().map { layer, mask in
      UnsafePointer(mask + range.lowerBound * network.widths[layer + 1])
    }
    return pass
  }

  /// The evaluation pass: batch normalization's running statistics.
  private var evaluationPass: Network.Pass {
    var pass = Network.Pass()
    pass.runningMean = runningMean.map { UnsafePointer($0) }
    pass.runningVariance = runningVariance.map { UnsafePointer($0) }
    return pass
  }

  /// One pass over the training split. Returns the mean batch loss (weighted by rows) and
  /// whether every loss stayed finite.
  /// One pass over the training rows. `interrupted` is asked before every batch after the
  /// first; when it says yes the pass is abandoned and the result is nil.
  func trainEpoch(rate: ScheduledRate, interrupted: () -> Bool = { false }) -> (
    loss: Double, finite: Bool
  )? {
    shuffler.shuffle(&order)
    let rows = training.rows
    var lossSum: Double = 0
    var start = 0
    while start < rows {
      if start > 0 && interrupted() { return nil }
      let end = Swift.min(start + batchSize, rows)
      let batchLoss = step(rows: order[start..<end], rate: rate)
      guard batchLoss.isFinite else { return (batchLoss, false) }
      lossSum += batchLoss * Double(end - start)
      start = end
    }
    return (lossSum / Double(rows), true)
  }

  deinit {
    for buffer in shardGradients + runningMean + runningVariance + masks { buffer.deallocate() }
  }

  /// One step on the next batch of a continuing pass (a new shuffled pass when the last
  /// one ran out); for benchmarks.
  func nextBatchStep() -> Double {
    let rows = training.rows
    if cursor >= rows {
      shuffler.shuffle(&order)
      cursor = 0
    }
    let end = Swift.min(cursor + batchSize, rows)
    defer { cursor = end }
    return step(rows: order[cursor..<end], rate: .unscheduled)
  }

  /// Threads to use now: the allowance's share, at most `maximumCores`, read every
  /// `allowanceInterval` steps (the allowance is shared by every slot: reading it each step
  /// would make the slots' cores contend for it).
  var cores: Int {
    stepsSinceAllowance += 1
    if stepsSinceAllowance >= Self.allowanceInterval || cachedCores == nil {
      stepsSinceAllowance = 0
      cachedCores = allowance.map { Swift.min($0.share, maximumCores) } ?? maximumCores
    }
    return cachedCores!
  }
  private var cachedCores: Int?
  private var stepsSinceAllowance = 0
  static let allowanceInterval = 8

  /// Gathers the rows, computes the loss and gradient, and takes one optimizer step.
  /// Returns the batch's mean loss.
  private func step(rows indices: ArraySlice<Int>, rate: ScheduledRate) -> Double {
    let cores = self.cores
    let n = indices.count
    let d = network.inputs, outputs = network.outputs
    training.features.withUnsafeBufferPointer { source in
      batchFeatures.withUnsafeMutableBufferPointer { target in
        for (r, i) in indices.enumerated() {
          (target.baseAddress! + r * d).update(from: source.baseAddress! + i * d, count: d)
        }
      }
    }
    if training.task.isClassification {
      for (r, i) in indices.enumerated() { batchLabels[r] = training.labels[i] }
    } else {
      for (r, i) in indices.enumerated() {
        for c in 0..<outputs { batchTargets[r * outputs + c] = training.targets[i * outputs + c] }
      }
    }
    let plan = ShardPlan(rows: n, wholeBatch: network.norm == .batch)
    if network.dropout > 0 {
      let keep = Double(network.dropout)
      for (layer, mask) in masks.enumerated() {
        for i in 0..<(n * network.widths[layer + 1]) {
          mask[i] = dropoutRandom.nextUnitDouble() < keep ? 0 : 1
        }
      }
    }
    let normalizer = network.lossNormalizer(rows: n)
    let scale = Float(1 / normalizer)
    var shardLoss = [Double](repeating: 0, count: plan.shardCount)
    let needsDiagonal = optimizer.needsHessianDiagonal
    let network = self.network
    let workspaces = self.workspaces
    let shardGradientPointers = shardGradients
    // Per-shard passes only carry dropout masks; without dropout one pass serves every shard
    // and the step allocates nothing for it.
    let passes =
      masks.isEmpty ? [] : (0..<plan.shardCount).map { trainingPass(rows: plan.range(ofShard: $0)) }
    let plainPass = trainingPass(rows: 0..<0)
    computeParameters { computed in
      let theta = UnsafeBufferPointer(start: computed, count: network.parameterCount)
      gradient.withUnsafeMutableBufferPointer { gradientBuffer in
        hessianDiagonal.withUnsafeMutableBufferPointer { hessianBuffer in
          let g = gradientBuffer, h = hessianBuffer
          batchFeatures.withUnsafeBufferPointer { x in
            batchLabels.withUnsafeBufferPointer { labels in
              batchTargets.withUnsafeBufferPointer { values in
                let targets: BatchTargets =
                  training.task.isClassification ? .labels(labels.baseAddress!) : .values(values.baseAddress!)
                shardLoss.withUnsafeMutableBufferPointer { lossBuffer in
                  let losses = lossBuffer
                  let work = { (s: Int) in
                    let range = plan.range(ofShard: s)
                    let xs = x.baseAddress! + range.lowerBound * d
                    let ts = targets.advanced(by: range.lowerBound, outputs: outputs)
                    let workspace = workspaces[s]
                    network.forward(
                      theta.baseAddress!, x: xs, rows: range.count, workspace: workspace,
                      pass: passes.isEmpty ? plainPass : passes[s])
                    losses[s] =
                      network.lossFromOutputs(
                        targets: ts, rows: range.count, workspace: workspace, outputGradientScale: scale
                      ).lossSum
                    let destination = s == 0 ? g.baseAddress! : shardGradientPointers[s - 1]
                    network.backward(
                      theta.baseAddress!, x: xs, rows: range.count, workspace: workspace,
                      gradient: destination, pass: passes.isEmpty ? plainPass : passes[s])
                    if needsDiagonal {
                      // Accumulates into one buffer, so shards run in order (see below).
                      network.addGaussNewtonDiagonal(
                        theta.baseAddress!, x: xs, targets: ts, rows: range.count, workspace: workspace,
                        scale: scale, diagonal: h.baseAddress!)
                    }
                  }
                  if needsDiagonal {
                    h.update(repeating: 0)
                    for s in 0..<plan.shardCount { work(s) }
                  } else {
                    parallelFor(plan.shardCount, cores: cores, work)
                  }
                }
                // g ← g₀ + g₁ + … in shard order, element-wise (parallel over chunks).
                if plan.shardCount > 1 {
                  let count = g.count
                  let chunks = Swift.min(cores, 8)
                  let chunkSize = (count + chunks - 1) / chunks
                  parallelFor(chunks, cores: cores) { chunk in
                    let lower = chunk * chunkSize, upper = Swift.min(lower + chunkSize, count)
                    for s in 0..<(plan.shardCount - 1) {
                      let source = shardGradientPointers[s]
                      for i in lower..<upper { g[i] += source[i] }
                    }
                  }
                }
              }
            }
          }
        }
      }
    }
    var loss: Double = 0
    for s in 0..<plan.shardCount { loss += shardLoss[s] }
    loss /= normalizer
    guard loss.isFinite else { return loss }
    // Batch statistics span the batch (one shard); weight-normalized rows' gradients pass
    // back to their directions and gains.
    network.updateRunningStatistics(
      from: workspaces[0], rows: n, mean: runningMean, variance: runningVariance)
    if network.norm == .weight {
      parameters.withUnsafeBufferPointer { p in
        gradient.withUnsafeMutableBufferPointer {
          network.pullBackWeightNorm(p.baseAddress!, gradient: $0.baseAddress!)
        }
      }
    }
    parameters.withUnsafeMutableBufferPointer { theta in
      gradient.withUnsafeMutableBufferPointer { g in
        hessianDiagonal.withUnsafeBufferPointer { h in
          optimizer.step(
            parameters: theta, gradient: g,
            context: StepContext(
              loss: loss, hessianDiagonal: needsDiagonal ? h : nil, rate: rate,
              threads: cores))
        }
      }
    }
    return loss
  }

  /// Whether every parameter is finite.
  var parametersAreFinite: Bool {
    parameters.withUnsafeBufferPointer { p in
      var finite = true
      for x in p where !x.isFinite {
        finite = false
        break
      }
      return finite
    }
  }

  /// Mean loss and error count over a data set, in fixed chunks.
  func evaluate(_ dataset: Dataset) -> (loss: Double, errors: Int) {
    let chunk = Self.evaluationChunk
    let chunks = (dataset.rows + chunk - 1) / chunk
    var losses = [Double](repeating: 0, count: chunks)
    var errors = [Int](repeating: 0, count: chunks)
    let network = self.network, workspaces = self.workspaces
    let d = network.inputs, outputs = network.outputs
    let threads = Swift.min(self.cores, workspaces.count)
    let pass = evaluationPass
    computeParameters { computed in
      let theta = UnsafeBufferPointer(start: computed, count: network.parameterCount)
      dataset.features.withUnsafeBufferPointer { x in
        dataset.labels.withUnsafeBufferPointer { labels in
          dataset.targets.withUnsafeBufferPointer { values in
            let targets: BatchTargets =
              dataset.task.isClassification ? .labels(labels.baseAddress!) : .values(values.baseAddress!)
            losses.withUnsafeMutableBufferPointer { lossBuffer in
              errors.withUnsafeMutableBufferPointer { errorBuffer in
                let losses = lossBuffer, errors = errorBuffer
                parallelFor(threads, cores: threads) { thread in
                  var c = thread
                  while c < chunks {
                    let lower = c * chunk, rows = Swift.min(chunk, dataset.rows - lower)
                    let workspace = workspaces[thread]
                    network.forward(
                      theta.baseAddress!, x: x.baseAddress! + lower * d, rows: rows, workspace: workspace,
                      pass: pass)
                    let result = network.lossFromOutputs(
                      targets: targets.advanced(by: lower, outputs: outputs), rows: rows,
                      workspace: workspace,
                      outputGradientScale: nil)
                    losses[c] = result.lossSum
                    errors[c] = result.errors
                    c += threads
                  }
                }
              }
            }
          }
        }
      }
    }
    let total = losses.reduce(0, +)
    return (total / network.lossNormalizer(rows: dataset.rows), errors.reduce(0, +))
  }
}
