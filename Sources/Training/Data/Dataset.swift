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

  public init(features: [Float], featureCount: Int, labels: [Int32], classes: Int) {
    precondition(featureCount > 0 && features.count == labels.count * featureCount)
    self.features = features
    self.featureCount = featureCount
    self.labels = labels
    self.targets = []
    self.task = .classification(classes: classes)
  }

  public init(features: [Float], featureCount: Int, targets: [Float], outputs: Int) {
    precondition(featureCount > 0 && outputs > 0)
    precondition(features.count / featureCount == targets.count / outputs)
    self.features = features
    self.featureCount = featureCount
    self.labels = []
    self.targets = targets
    self.task = .regression(outputs: outputs)
  }

  public var rows: Int { features.count / featureCount }

  /// The rows at `indices`, in that order.
  public func subset(_ indices: [Int]) -> Dataset {
    var result = self
    result.features = []
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

/// Training and validation rows, split and standardized.
public struct PreparedData: Sendable {
  public var training: Dataset
  public var validation: Dataset
  public var description: String

  /// Bytes of the arrays of both splits.
  public var byteCount: Int { training.byteCount + validation.byteCount }

  /// The same data in arrays of its own (not shared with any other copy).
  public func unshared() -> PreparedData {
    PreparedData(training: training.unshared(), validation: validation.unshared(), description: description)
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
