#if canImport(Glibc)
  import Glibc
#else
  import Foundation
#endif

/// The output head and its loss.
public enum LossKind: String, CaseIterable, Codable, Sendable {
  /// Softmax cross-entropy over classes, averaged over the batch:
  /// L = −(1/B)·Σ_n log softmax(z_n)[y_n].
  case crossEntropy = "cross_entropy"
  /// Mean squared error over every output (PyTorch `MSELoss`): L = (1/(B·T))·Σ (ŷ − y)².
  /// For classification the targets are one-hot.
  case mse
}

/// A fully connected network: `inputs → hidden… → outputs`, an activation after every hidden
/// layer, and a loss head. With no hidden layer it is linear regression (MSE head) or
/// multinomial logistic regression (cross-entropy head).
///
/// All parameters live in one flat vector, layer by layer: W₁ (out×in, row-major, PyTorch's
/// layout), b₁, W₂, b₂, …; then, with weight normalization, the gains g of every layer but
/// the first (whose W slots hold the directions v); then, with batch or layer
/// normalization, γ and β of every hidden layer. Batch normalization's running statistics
/// are state of the trainer, not parameters.
///
/// With `dropout` p > 0, each hidden activation is kept with probability 1 − p and scaled by
/// 1/(1 − p) in training (inverted dropout; the masks come from the caller), and left as is
/// at evaluation.
public struct Network: Hashable, Sendable {
  public let widths: [Int]
  public let activation: Activation
  public let loss: LossKind
  public let norm: Normalization
  public let dropout: Float

  /// Offsets of each layer's weight matrix and bias in the flat parameter vector.
  public let weightOffsets: [Int]
  public let biasOffsets: [Int]
  /// Weight normalization: the offset of each layer's gains (nil for the first layer, and
  /// for every layer without it).
  public let gainOffsets: [Int?]
  /// Batch or layer normalization: the offsets of each hidden layer's γ and β.
  public let scaleOffsets: [Int]
  public let shiftOffsets: [Int]
  public let parameterCount: Int

  public init(
    inputs: Int, hidden: [Int], outputs: Int, activation: Activation, loss: LossKind,
    norm: Normalization = .none, dropout: Double = 0
  ) {
    precondition(inputs > 0 && outputs > 0 && hidden.allSatisfy { $0 > 0 }, "layer widths must be positive")
    precondition(dropout >= 0 && dropout < 1, "dropout is a probability in [0, 1)")
    widths = [inputs] + hidden + [outputs]
    self.activation = activation
    self.loss = loss
    self.norm = norm
    self.dropout = Float(dropout)
    var offset = 0
    var weights: [Int] = [], biases: [Int] = []
    for layer in 1..<widths.count {
      weights.append(offset)
      offset += widths[layer] * widths[layer - 1]
      biases.append(offset)
      offset += widths[layer]
    }
    weightOffsets = weights
    biasOffsets = biases
    var gains: [Int?] = Array(repeating: nil, count: widths.count - 1)
    if norm == .weight {
      for layer in 1..<(widths.count - 1) {
        gains[layer] = offset
        offset += widths[layer + 1]
      }
    }
    gainOffsets = gains
    var scales: [Int] = [], shifts: [Int] = []
    if norm.hasAffine {
      for width in hidden {
        scales.append(offset)
        offset += width
        shifts.append(offset)
        offset += width
      }
    }
    scaleOffsets = scales
    shiftOffsets = shifts
    parameterCount = offset
  }

  /// Whether hidden layers normalize their pre-activations (batch or layer).
  var normalizesHidden: Bool { norm.hasAffine && layerCount > 1 }

  public var layerCount: Int { widths.count - 1 }
  public var inputs: Int { widths[0] }
  public var outputs: Int { widths[widths.count - 1] }

  /// Multiply–adds of one forward pass for one sample.
  public var forwardMultiplyAdds: Int {
    (1..<widths.count).reduce(0) { $0 + widths[$1] * widths[$1 - 1] }
  }

  /// Fills `parameters` by `initializer`, drawing from `random`.
  public func initialize(
    _ parameters: UnsafeMutableBufferPointer<Float>, initializer: Initializer, random: inout RandomSource
  ) {
    precondition(parameters.count == parameterCount)
    for layer in 0..<layerCount {
      let fanIn = widths[layer], fanOut = widths[layer + 1]
      let w = weightOffsets[layer], b = biasOffsets[layer]
      for i in 0..<(fanIn * fanOut) {
        let value: Double
        switch initializer {
        case .he: value = random.normal() * (2 / Double(fanIn)).squareRoot()
        case .xavier:
          let bound = (6 / Double(fanIn + fanOut)).squareRoot()
          value = random.uniform(-bound, bound)
        case .torchDefault:
          let bound = 1 / Double(fanIn).squareRoot()
          value = random.uniform(-bound, bound)
        }
        parameters[w + i] = Float(value)
      }
      for j in 0..<fanOut {
        if initializer == .torchDefault {
          let bound = 1 / Double(fanIn).squareRoot()
          parameters[b + j] = Float(random.uniform(-bound, bound))
        } else {
          parameters[b + j] = 0
        }
      }
      // PyTorch's weight_norm starts each gain at its row's norm: w = v at first.
      if let g = gainOffsets[layer] {
        for i in 0..<fanOut {
          parameters[g + i] = rowNorm(parameters.baseAddress! + w + i * fanIn, count: fanIn)
        }
      }
    }
    for (scale, shift) in zip(scaleOffsets, shiftOffsets) {
      for j in 0..<(shift - scale) {
        parameters[scale + j] = 1
        parameters[shift + j] = 0
      }
    }
  }

  private func rowNorm(_ row: UnsafePointer<Float>, count: Int) -> Float {
    var sum: Float = 0
    for k in 0..<count { sum += row[k] * row[k] }
    return sum.squareRoot()
  }

  /// Batch normalization after a training pass over `rows` rows: each running statistic
  /// moves by momentum 0.1 toward the batch's mean and unbiased variance (σ²·n/(n − 1)), as
  /// PyTorch's `BatchNorm1d`. A one-row batch has no variance to estimate and leaves them.
  func updateRunningStatistics(
    from workspace: NetworkWorkspace, rows: Int, mean: [UnsafeMutablePointer<Float>],
    variance: [UnsafeMutablePointer<Float>]
  ) {
    guard norm == .batch, rows > 1 else { return }
    let m = Normalization.momentum, correction = Float(rows) / Float(rows - 1)
    for layer in 0..<(layerCount - 1) {
      for j in 0..<widths[layer + 1] {
        mean[layer][j] = (1 - m) * mean[layer][j] + m * workspace.batchMean[layer][j]
        variance[layer][j] = (1 - m) * variance[layer][j] + m * workspace.batchVariance[layer][j] * correction
      }
    }
  }

  // MARK: Weight normalization

  /// The parameters forward and backward compute with: a copy of `parameters` in which
  /// every weight-normalized row is w = g·v/‖v‖ (a no-op layout for other networks).
  func materializeWeights(_ parameters: UnsafePointer<Float>, into effective: UnsafeMutablePointer<Float>) {
    effective.update(from: parameters, count: parameterCount)
    for layer in 0..<layerCount {
      guard let g = gainOffsets[layer] else { continue }
      let fanIn = widths[layer]
      for i in 0..<widths[layer + 1] {
        let v = parameters + weightOffsets[layer] + i * fanIn
        let factor = parameters[g + i] / rowNorm(v, count: fanIn)
        let w = effective + weightOffsets[layer] + i * fanIn
        for k in 0..<fanIn { w[k] = factor * v[k] }
      }
    }
  }

  /// Turns a gradient with respect to the materialized weights into one with respect to
  /// (v, g), in place: ∂g = ⟨∂w, v⟩/‖v‖ and ∂v = (g/‖v‖)·∂w − (g·∂g/‖v‖²)·v.
  func pullBackWeightNorm(_ parameters: UnsafePointer<Float>, gradient: UnsafeMutablePointer<Float>) {
    for layer in 0..<layerCount {
      guard let g = gainOffsets[layer] else { continue }
      let fanIn = widths[layer]
      for i in 0..<widths[layer + 1] {
        let v = parameters + weightOffsets[layer] + i * fanIn
        let dw = gradient + weightOffsets[layer] + i * fanIn
        let norm = rowNorm(v, count: fanIn)
        var dot: Float = 0
        for k in 0..<fanIn { dot += dw[k] * v[k] }
        let dg = dot / norm
        gradient[g + i] = dg
        let gain = parameters[g + i]
        let a = gain / norm, b = gain * dg / (norm * norm)
        for k in 0..<fanIn { dw[k] = a * dw[k] - b * v[k] }
      }
    }
  }

  // MARK: Forward

  /// How a forward pass treats normalization and dropout.
  struct Pass {
    /// Training: batch statistics and dropout masks; evaluation: running statistics, no
    /// dropout.
    var training = false
    /// Batch normalization at evaluation: each hidden layer's running mean and variance.
    var runningMean: [UnsafePointer<Float>] = []
    var runningVariance: [UnsafePointer<Float>] = []
    /// Dropout in training: each hidden layer's keep mask (1 or 0) for these rows.
    var masks: [UnsafePointer<Float>] = []

    static var evaluation: Pass { Pass() }
  }

  /// Runs the network on `rows` samples `x` (rows × inputs), leaving pre-activations and
  /// activations of every layer in `workspace` (the output layer's pre-activations are the
  /// logits / predictions). With weight normalization `parameters` are the materialized ones
  /// (`materializeWeights`). A hidden layer's pre-activation slot holds what its activation
  /// sees (y after normalization), its activation slot what the next layer sees (after
  /// dropout).
  func forward(
    _ parameters: UnsafePointer<Float>, x: UnsafePointer<Float>, rows: Int, workspace: NetworkWorkspace,
    pass: Pass = .evaluation
  ) {
    var input = x
    for layer in 0..<layerCount {
      let fanIn = widths[layer], fanOut = widths[layer + 1]
      let hidden = layer < layerCount - 1
      let normalizes = hidden && norm.hasAffine
      let z = normalizes ? workspace.linear[layer] : workspace.preActivations[layer]
      let bias = parameters + biasOffsets[layer]
      for r in 0..<rows {
        (z + r * fanOut).update(from: bias, count: fanOut)
      }
      BLAS.gemm(
        .none, .transposed, m: rows, n: fanOut, k: fanIn, a: input, lda: fanIn,
        b: parameters + weightOffsets[layer], ldb: fanIn, beta: 1, c: z, ldc: fanOut)
      guard hidden else { continue }
      let y = workspace.preActivations[layer]
      if normalizes {
        let scale = parameters + scaleOffsets[layer], shift = parameters + shiftOffsets[layer]
        switch norm {
        case .batch where pass.training:
          NormKernels.batchForward(
            z: z, rows: rows, width: fanOut, scale: scale, shift: shift,
            normalized: workspace.normalized[layer],
            inverse: workspace.inverse[layer], y: y, mean: workspace.batchMean[layer],
            variance: workspace.batchVariance[layer])
        case .batch:
          precondition(!pass.runningMean.isEmpty, "batch normalization evaluates with running statistics")
          NormKernels.batchEvaluate(
            z: z, rows: rows, width: fanOut, scale: scale, shift: shift, runningMean: pass.runningMean[layer],
            runningVariance: pass.runningVariance[layer], y: y)
        default:
          NormKernels.layerForward(
            z: z, rows: rows, width: fanOut, scale: scale, shift: shift,
            normalized: workspace.normalized[layer],
            inverse: workspace.inverse[layer], y: y)
        }
      }
      let a = workspace.activations[layer]
      if dropout > 0 && pass.training {
        let kept = workspace.undropped[layer]
        activation.apply(y, kept, count: rows * fanOut)
        let mask = pass.masks[layer], keep = 1 / (1 - dropout)
        for i in 0..<(rows * fanOut) { a[i] = kept[i] * mask[i] * keep }
      } else {
        activation.apply(y, a, count: rows * fanOut)
      }
      input = UnsafePointer(a)
    }
  }

  /// The loss summed over the rows (not averaged) and, when evaluating (no gradient scale),
  /// the number of misclassified rows, from the output pre-activations a forward pass left
  /// in `workspace`.
  /// With `outputGradientScale` s it also writes ∂(s·Σ loss)/∂z into `workspace.outputDelta`.
  func lossFromOutputs(
    targets: BatchTargets, rows: Int, workspace: NetworkWorkspace, outputGradientScale: Float?
  ) -> (lossSum: Double, errors: Int) {
    let outputs = self.outputs
    let z = workspace.preActivations[layerCount - 1]
    let delta = workspace.outputDelta
    var lossSum: Double = 0
    var errors = 0
    for r in 0..<rows {
      let row = z + r * outputs
      let deltaRow = delta + r * outputs
      // The predicted class (first maximum); only evaluation counts errors.
      var predicted = 0
      if outputGradientScale == nil, case .labels = targets {
        for c in 1..<max(outputs, 1) where row[c] > row[predicted] { predicted = c }
      }
      switch (loss, targets) {
      case (.crossEntropy, .labels(let labels)):
        let label = Int(labels[r])
        var largest = row[0]
        for c in 1..<outputs { largest = Swift.max(largest, row[c]) }
        var sum: Float = 0
        for c in 0..<outputs {
          let e = expf(row[c] - largest)
          deltaRow[c] = e
          sum += e
        }
        lossSum += Double(logf(sum) + largest - row[label])
        if let scale = outputGradientScale {
          let inverse = 1 / sum
          for c in 0..<outputs { deltaRow[c] = deltaRow[c] * inverse * scale }
          deltaRow[label] -= scale
        }
        if outputGradientScale == nil && predicted != label { errors += 1 }
      case (.mse, .labels(let labels)):
        let label = Int(labels[r])
        for c in 0..<outputs {
          let diff = row[c] - (c == label ? 1 : 0)
          lossSum += Double(diff * diff)
          if let scale = outputGradientScale { deltaRow[c] = 2 * diff * scale }
        }
        if outputGradientScale == nil && predicted != label { errors += 1 }
      case (.mse, .values(let values)):
        let target = values + r * outputs
        for c in 0..<outputs {
          let diff = row[c] - target[c]
          lossSum += Double(diff * diff)
          if let scale = outputGradientScale { deltaRow[c] = 2 * diff * scale }
        }
      case (.crossEntropy, .values):
        preconditionFailure("cross-entropy needs class labels")
      }
    }
    return (lossSum, errors)
  }

  /// The per-sample loss normalizer: the mean is over samples (cross-entropy) or over every
  /// output of every sample (MSE).
  func lossNormalizer(rows: Int) -> Double {
    loss == .mse ? Double(rows * outputs) : Double(rows)
  }

  // MARK: Backward

  /// Back-propagates `workspace.outputDelta` (∂L/∂z of the output layer) and writes ∂L/∂θ
  /// into `gradient` (overwriting it). `x` is the batch the forward pass saw.
  /// With normalization or dropout, `pass` must be the forward pass's (a training pass);
  /// with weight normalization the gradient is with respect to the materialized weights and
  /// the gains' slots are zero (`pullBackWeightNorm` finishes it).
  func backward(
    _ parameters: UnsafePointer<Float>, x: UnsafePointer<Float>, rows: Int, workspace: NetworkWorkspace,
    gradient: UnsafeMutablePointer<Float>, pass: Pass = .evaluation
  ) {
    for layer in 0..<layerCount {
      if let g = gainOffsets[layer] { (gradient + g).update(repeating: 0, count: widths[layer + 1]) }
    }
    var delta = workspace.outputDelta
    for layer in stride(from: layerCount - 1, through: 0, by: -1) {
      let fanIn = widths[layer], fanOut = widths[layer + 1]
      let input = layer == 0 ? x : UnsafePointer(workspace.activations[layer - 1])
      // ∂L/∂W = δᵀ·A_prev (out × in); ∂L/∂b = Σ_rows δ.
      BLAS.gemm(
        .transposed, .none, m: fanOut, n: fanIn, k: rows, a: delta, lda: fanOut, b: input, ldb: fanIn,
        c: gradient + weightOffsets[layer], ldc: fanIn)
      let biasGradient = gradient + biasOffsets[layer]
      biasGradient.update(repeating: 0, count: fanOut)
      addColumnSums(of: delta, rows: rows, columns: fanOut, into: biasGradient)
      guard layer > 0 else { break }
      delta = propagate(delta, below: layer, parameters, rows: rows, workspace: workspace, pass: pass)
      if norm.hasAffine {
        let below = layer - 1
        let backward = norm == .batch ? NormKernels.batchBackward : NormKernels.layerBackward
        backward(
          delta, rows, widths[layer], workspace.normalized[below], workspace.inverse[below],
          parameters + scaleOffsets[below], gradient + scaleOffsets[below], gradient + shiftOffsets[below])
      }
    }
  }

  /// Σ over rows of a rows × columns matrix, added into `sums`.
  private func addColumnSums(
    of matrix: UnsafePointer<Float>, rows: Int, columns: Int, into sums: UnsafeMutablePointer<Float>
  ) {
    for r in 0..<rows {
      let row = matrix + r * columns
      for j in 0..<columns { sums[j] += row[j] }
    }
  }

  /// Back-propagates the output-side gradient δ of `layer` to the layer below:
  /// ∂/∂A_prev = δ·W, then ⊙ f′(z_prev). Returns the workspace buffer holding the result.
  private func propagate(
    _ delta: UnsafeMutablePointer<Float>, below layer: Int, _ parameters: UnsafePointer<Float>, rows: Int,
    workspace: NetworkWorkspace, pass: Pass = .evaluation
  ) -> UnsafeMutablePointer<Float> {
    let fanIn = widths[layer], fanOut = widths[layer + 1]
    let previous = workspace.hiddenDelta[layer - 1]
    BLAS.gemm(
      .none, .none, m: rows, n: fanIn, k: fanOut, a: delta, lda: fanOut,
      b: parameters + weightOffsets[layer], ldb: fanIn, c: previous, ldc: fanIn)
    var activated = UnsafePointer(workspace.activations[layer - 1])
    if dropout > 0 && pass.training {
      // Through the mask: ∂/∂a = ∂/∂(dropped a)·m/(1 − p); f′ reads the undropped a.
      let mask = pass.masks[layer - 1], keep = 1 / (1 - dropout)
      for i in 0..<(rows * fanIn) { previous[i] *= mask[i] * keep }
      activated = UnsafePointer(workspace.undropped[layer - 1])
    }
    activation.multiplyByDerivative(
      previous, z: workspace.preActivations[layer - 1], a: activated, count: rows * fanIn)
    return previous
  }

  /// Adds the diagonal of the generalized Gauss–Newton matrix G = Σ_n J_nᵀ·H_n·J_n of the
  /// (summed) loss into `diagonal`, scaled by `scale`, after a forward pass over the same rows.
  ///
  /// H_n, the loss Hessian with respect to the outputs, factors as Σ_c s_c·s_cᵀ: for
  /// softmax cross-entropy s_c = √p_c·(e_c − p), for MSE s_c = √2·e_c. Back-propagating each
  /// s_c like an output gradient gives per-sample deltas δ, and the diagonal is
  /// Σ_c Σ_n δ²·a² — one extra backward pass per output, exact (no approximation of the
  /// diagonal itself). For a network with no hidden layer G is the exact Hessian.
  func addGaussNewtonDiagonal(
    _ parameters: UnsafePointer<Float>, x: UnsafePointer<Float>, targets: BatchTargets, rows: Int,
    workspace: NetworkWorkspace, scale: Float, diagonal: UnsafeMutablePointer<Float>
  ) {
    let outputs = self.outputs
    let z = workspace.preActivations[layerCount - 1]
    // Squared layer inputs, once.
    let squaredInputs = workspace.squaredInputs
    for layer in 0..<layerCount {
      let fanIn = widths[layer]
      let input = layer == 0 ? x : UnsafePointer(workspace.activations[layer - 1])
      for i in 0..<(rows * fanIn) { squaredInputs[layer][i] = input[i] * input[i] }
    }
    let probabilities = workspace.probabilities
    if loss == .crossEntropy {
      for r in 0..<rows {
        let row = z + r * outputs, p = probabilities + r * outputs
        var largest = row[0]
        for c in 1..<outputs { largest = Swift.max(largest, row[c]) }
        var sum: Float = 0
        for c in 0..<outputs {
          p[c] = expf(row[c] - largest)
          sum += p[c]
        }
        for c in 0..<outputs { p[c] /= sum }
      }
    }
    let scaleRoot = scale.squareRoot()
    for c in 0..<outputs {
      let delta = workspace.outputDelta
      for r in 0..<rows {
        let d = delta + r * outputs
        if loss == .crossEntropy {
          let p = probabilities + r * outputs
          let root = p[c].squareRoot() * scaleRoot
          for k in 0..<outputs { d[k] = -root * p[k] }
          d[c] += root
        } else {
          for k in 0..<outputs { d[k] = 0 }
          d[c] = Float(2).squareRoot() * scaleRoot
        }
      }
      var current = delta
      for layer in stride(from: layerCount - 1, through: 0, by: -1) {
        let fanIn = widths[layer], fanOut = widths[layer + 1]
        let squaredDelta = workspace.squaredDelta
        for i in 0..<(rows * fanOut) { squaredDelta[i] = current[i] * current[i] }
        BLAS.gemm(
          .transposed, .none, m: fanOut, n: fanIn, k: rows, a: squaredDelta, lda: fanOut,
          b: squaredInputs[layer], ldb: fanIn, beta: 1, c: diagonal + weightOffsets[layer], ldc: fanIn)
        addColumnSums(of: squaredDelta, rows: rows, columns: fanOut, into: diagonal + biasOffsets[layer])
        guard layer > 0 else { break }
        current = propagate(current, below: layer, parameters, rows: rows, workspace: workspace)
      }
    }
  }
}

/// The targets of a batch: class labels, or real values (rows × outputs).
enum BatchTargets {
  case labels(UnsafePointer<Int32>)
  case values(UnsafePointer<Float>)

  func advanced(by rows: Int, outputs: Int) -> BatchTargets {
    switch self {
    case .labels(let p): return .labels(p + rows)
    case .values(let p): return .values(p + rows * outputs)
    }
  }
}

/// Scratch memory for one forward/backward pass over up to `capacity` rows. Owns its buffers
/// (a class so that shards can each hold one without copying).
final class NetworkWorkspace {
  let capacity: Int
  let preActivations: [UnsafeMutablePointer<Float>]
  let activations: [UnsafeMutablePointer<Float>]
  let hiddenDelta: [UnsafeMutablePointer<Float>]
  let outputDelta: UnsafeMutablePointer<Float>
  /// Normalized hidden layers: the affine output z, x̂, and the inverse deviations.
  let linear: [UnsafeMutablePointer<Float>]
  let normalized: [UnsafeMutablePointer<Float>]
  let inverse: [UnsafeMutablePointer<Float>]
  /// Batch normalization in training: the batch's mean and biased variance per unit.
  let batchMean: [UnsafeMutablePointer<Float>]
  let batchVariance: [UnsafeMutablePointer<Float>]
  /// Dropout in training: the activations before the mask.
  let undropped: [UnsafeMutablePointer<Float>]
  // Only for the Gauss–Newton diagonal; allocated on first use.
  private(set) lazy var squaredInputs: [UnsafeMutablePointer<Float>] = network.widths.dropLast().map {
    allocate($0 * capacity)
  }
  private(set) lazy var squaredDelta: UnsafeMutablePointer<Float> = allocate(
    (network.widths.max() ?? 1) * capacity)
  private(set) lazy var probabilities: UnsafeMutablePointer<Float> = allocate(network.outputs * capacity)
  private let network: Network
  private var owned: [UnsafeMutablePointer<Float>] = []

  init(network: Network, capacity: Int) {
    self.network = network
    self.capacity = capacity
    var owned: [UnsafeMutablePointer<Float>] = []
    func make(_ count: Int) -> UnsafeMutablePointer<Float> {
      let p = UnsafeMutablePointer<Float>.allocate(capacity: Swift.max(count, 1))
      p.initialize(repeating: 0, count: Swift.max(count, 1))
      owned.append(p)
      return p
    }
    preActivations = (1..<network.widths.count).map { make(network.widths[$0] * capacity) }
    let hidden = Array(network.widths.dropFirst().dropLast())
    activations = hidden.map { make($0 * capacity) }
    hiddenDelta = hidden.map { make($0 * capacity) }
    outputDelta = make(network.outputs * capacity)
    let normalizing = network.norm.hasAffine
    linear = normalizing ? hidden.map { make($0 * capacity) } : []
    normalized = normalizing ? hidden.map { make($0 * capacity) } : []
    // Batch: one inverse deviation per unit; layer: one per row.
    inverse = normalizing ? hidden.map { make(Swift.max($0, capacity)) } : []
    batchMean = network.norm == .batch ? hidden.map { make($0) } : []
    batchVariance = network.norm == .batch ? hidden.map { make($0) } : []
    undropped = network.dropout > 0 ? hidden.map { make($0 * capacity) } : []
    self.owned = owned
  }

  private func allocate(_ count: Int) -> UnsafeMutablePointer<Float> {
    let p = UnsafeMutablePointer<Float>.allocate(capacity: Swift.max(count, 1))
    p.initialize(repeating: 0, count: Swift.max(count, 1))
    owned.append(p)
    return p
  }

  deinit {
    for p in owned { p.deallocate() }
  }
}
