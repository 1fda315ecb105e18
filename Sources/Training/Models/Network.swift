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
/// layout), b₁, W₂, b₂, …
public struct Network: Hashable, Sendable {
  public let widths: [Int]
  public let activation: Activation
  public let loss: LossKind

  /// Offsets of each layer's weight matrix and bias in the flat parameter vector.
  public let weightOffsets: [Int]
  public let biasOffsets: [Int]
  public let parameterCount: Int

  public init(inputs: Int, hidden: [Int], outputs: Int, activation: Activation, loss: LossKind) {
    precondition(inputs > 0 && outputs > 0 && hidden.allSatisfy { $0 > 0 }, "layer widths must be positive")
    widths = [inputs] + hidden + [outputs]
    self.activation = activation
    self.loss = loss
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
    parameterCount = offset
  }

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
    }
  }

  // MARK: Forward

  /// Runs the network on `rows` samples `x` (rows × inputs), leaving pre-activations and
  /// activations of every layer in `workspace` (the output layer's pre-activations are the
  /// logits / predictions).
  func forward(
    _ parameters: UnsafePointer<Float>, x: UnsafePointer<Float>, rows: Int, workspace: NetworkWorkspace
  ) {
    var input = x
    for layer in 0..<layerCount {
      let fanIn = widths[layer], fanOut = widths[layer + 1]
      let z = workspace.preActivations[layer]
      let bias = parameters + biasOffsets[layer]
      for r in 0..<rows {
        (z + r * fanOut).update(from: bias, count: fanOut)
      }
      BLAS.gemm(
        .none, .transposed, m: rows, n: fanOut, k: fanIn, a: input, lda: fanIn,
        b: parameters + weightOffsets[layer], ldb: fanIn, beta: 1, c: z, ldc: fanOut)
      if layer < layerCount - 1 {
        let a = workspace.activations[layer]
        activation.apply(z, a, count: rows * fanOut)
        input = UnsafePointer(a)
      }
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
  func backward(
    _ parameters: UnsafePointer<Float>, x: UnsafePointer<Float>, rows: Int, workspace: NetworkWorkspace,
    gradient: UnsafeMutablePointer<Float>
  ) {
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
      delta = propagate(delta, below: layer, parameters, rows: rows, workspace: workspace)
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
    workspace: NetworkWorkspace
  ) -> UnsafeMutablePointer<Float> {
    let fanIn = widths[layer], fanOut = widths[layer + 1]
    let previous = workspace.hiddenDelta[layer - 1]
    BLAS.gemm(
      .none, .none, m: rows, n: fanIn, k: fanOut, a: delta, lda: fanOut,
      b: parameters + weightOffsets[layer], ldb: fanIn, c: previous, ldc: fanIn)
    activation.multiplyByDerivative(
      previous, z: workspace.preActivations[layer - 1], a: workspace.activations[layer - 1],
      count: rows * fanIn)
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
