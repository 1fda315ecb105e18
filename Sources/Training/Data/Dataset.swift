/// What a data set predicts.
public enum Task: Hashable, Sendable {
  case classification(classes: Int)
  case regression(outputs: Int)

  public var outputCount: Int {
    switch self {
    case .classification(let classes): return classes
    case .regression(let outputs): return outputs
    }
  }

  public var isClassification: Bool {
    if case .classification = self { return true }
    return false
  }
}

/// A table of samples in memory: features row-major (rows × featureCount) and either class
/// labels or real targets (rows × outputs).
public struct Dataset: Sendable {
  public var features: [Float]
  public var featureCount: Int
  public var labels: [Int32]
  public var targets: [Float]
  public var task: Task
  /// Each row's position in the table it was loaded from (0, 1, …), kept through `subset`:
  /// what lets a test check that no held-out row reached training.
  public var rowIDs: [Int32]

  public init(features: [Float], featureCount: Int, labels: [Int32], classes: Int) {
    precondition(featureCount > 0 && features.count == labels.count * featureCount)
    self.features = features
    self.featureCount = featureCount
    self.labels = labels
    self.targets = []
    self.task = .classification(classes: classes)
    self.rowIDs = Array(0..<Int32(labels.count))
  }

  public init(features: [Float], featureCount: Int, targets: [Float], outputs: Int) {
    precondition(featureCount > 0 && outputs > 0)
    precondition(features.count / featureCount == targets.count / outputs)
    self.features = features
    self.featureCount = featureCount
    self.labels = []
    self.targets = targets
    self.task = .regression(outputs: outputs)
    self.rowIDs = Array(0..<Int32(features.count / featureCount))
  }

  public var rows: Int { features.count / featureCount }

  /// These rows followed by `other`'s (same features and task).
  public func appending(_ other: Dataset) -> Dataset {
    precondition(featureCount == other.featureCount && task == other.task)
    var result = self
    result.features += other.features
    result.labels += other.labels
    result.targets += other.targets
    result.rowIDs += other.rowIDs
    return result
  }

  /// The rows at `indices`, in that order.
  public func subset(_ indices: [Int]) -> Dataset {
    var result = self
    result.features = []
    result.rowIDs = indices.map { rowIDs[$0] }
    result.features.reserveCapacity(indices.count * featureCount)
    for i in indices {
      result.features.append(contentsOf: features[(i * featureCount)..<((i + 1) * featureCount)])
    }
    switch task {
    case .classification:
      result.labels = indices.map { labels[$0] }
    case .regression(let outputs):
      result.targets = []
      result.targets.reserveCapacity(indices.count * outputs)
      for i in indices { result.targets.append(contentsOf: targets[(i * outputs)..<((i + 1) * outputs)]) }
    }
    return result
  }
}

/// Per-feature mean and standard deviation, computed on training rows only and applied to
/// every split: x ← (x − μ)/σ, with σ = 1 for a constant feature.
public struct Standardization: Sendable, Equatable {
  public var mean: [Float]
  public var standardDeviation: [Float]

  public init(fitting data: Dataset) {
    let d = data.featureCount, n = data.rows
    var sum = [Double](repeating: 0, count: d)
    var sumOfSquares = [Double](repeating: 0, count: d)
    for r in 0..<n {
      for j in 0..<d {
        let x = Double(data.features[r * d + j])
        sum[j] += x
        sumOfSquares[j] += x * x
      }
    }
    mean = (0..<d).map { Float(sum[$0] / Double(max(n, 1))) }
    standardDeviation = (0..<d).map { j in
      let m = sum[j] / Double(max(n, 1))
      let variance = max(sumOfSquares[j] / Double(max(n, 1)) - m * m, 0)
      let deviation = variance.squareRoot()
      return deviation > 1e-12 ? Float(deviation) : 1
    }
  }

  public func apply(to data: inout Dataset) {
    let d = data.featureCount
    data.features.withUnsafeMutableBufferPointer { x in
      for r in 0..<(x.count / d) {
        for j in 0..<d { x[r * d + j] = (x[r * d + j] - mean[j]) / standardDeviation[j] }
      }
    }
  }
}

/// The rows a run uses, split and standardized: one split (training and validation rows),
/// one per fold for k-fold cross-validation, or for a refit every non-test row in training
/// and no validation. Test rows ride with each split (standardized by its statistics) only
/// in the `refit` and `evaluate` stages.
public struct PreparedData: Sendable {
  public struct Split: Sendable {
    public var training: Dataset
    public var validation: Dataset
    public var test: Dataset?

    public init(training: Dataset, validation: Dataset, test: Dataset? = nil) {
      self.training = training
      self.validation = validation
      self.test = test
    }

    var byteCount: Int { training.byteCount + validation.byteCount + (test?.byteCount ?? 0) }

    func unshared() -> Split {
      Split(training: training.unshared(), validation: validation.unshared(), test: test?.unshared())
    }
  }

  public var splits: [Split]
  public var description: String

  public init(splits: [Split], description: String) {
    precondition(!splits.isEmpty)
    self.splits = splits
    self.description = description
  }

  public init(training: Dataset, validation: Dataset, description: String) {
    self.init(splits: [Split(training: training, validation: validation)], description: description)
  }

  /// The first split's rows (the only split without folds).
  public var training: Dataset { splits[0].training }
  public var validation: Dataset { splits[0].validation }
  /// The test rows (standardized by the first split), nil in the search stage.
  public var test: Dataset? { splits[0].test }

  /// Bytes of the arrays of every split.
  public var byteCount: Int { splits.reduce(0) { $0 + $1.byteCount } }

  /// The same data in arrays of its own (not shared with any other copy).
  public func unshared() -> PreparedData {
    PreparedData(splits: splits.map { $0.unshared() }, description: description)
  }
}

extension Dataset {
  var byteCount: Int { features.count * 4 + labels.count * 4 + targets.count * 4 }

  /// The same rows in arrays of its own.
  func unshared() -> Dataset {
    var copy = self
    copy.features = Array(unsafeUninitializedCapacity: features.count) { buffer, count in
      _ = buffer.initialize(from: features)
      count = features.count
    }
    copy.labels = Array(unsafeUninitializedCapacity: labels.count) { buffer, count in
      _ = buffer.initialize(from: labels)
      count = labels.count
    }
    copy.targets = Array(unsafeUninitializedCapacity: targets.count) { buffer, count in
      _ = buffer.initialize(from: targets)
      count = targets.count
    }
    return copy
  }
}
