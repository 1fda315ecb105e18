#if canImport(Glibc)
  import Glibc
#else
  import Foundation
#endif

/// A black-box function on a box, for comparing samplers.
public protocol SearchObjective: Sendable {
  /// Name of the function.
  var name: String { get }
  /// The box: per coordinate (low, high, log scale).
  var box: [(Double, Double, Bool)] { get }
  func value(_ x: [Double]) -> Double
}

extension SearchObjective {
  /// A sweep over the box (parameters x0, x1, …; log-uniform where the box says so), minimizing.
  public func sweep(method: SweepSpec.Method, seed: UInt64) -> SweepSpec {
    SweepSpec(
      file: name, name: name, description: nil, method: method, methodName: method.rawValue,
      metric: SweepSpec.Metric(name: "val_loss", goal: .minimize), runCap: nil, seed: seed, repeats: 1,
      maxAttempts: 1,
      earlyTerminate: nil, base: .map([]),
      parameters: box.enumerated().map { i, range in
        SweepSpec.Parameter(
          path: "x\(i)",
          distribution: range.2
            ? .logUniformValues(min: range.0, max: range.1) : .uniform(min: range.0, max: range.1),
          location: SourceLocation(line: 1, column: 1))
      }, warnings: [])
  }

  /// Runs `trials` trials of a sampler against the function and returns the best value
  /// found after each trial.
  public func bestSoFar(method: SweepSpec.Method, trials: Int, seed: UInt64) -> [Double] {
    let plan = SweepPlan(spec: sweep(method: method, seed: seed))
    var history: [Observation] = []
    var best = Double.infinity
    var curve: [Double] = []
    for k in 0..<trials {
      let point = plan.point(k, history: history)
      let x = zip(plan.spec.parameters, point).map { $0.distribution.value(at: $1).number! }
      let y = value(x)
      history.append(Observation(point: point, value: y))
      best = Swift.min(best, y)
      curve.append(best)
    }
    return curve
  }
}

/// Standard black-box test functions for comparing samplers (Surjanovic & Bingham's Virtual
/// Library of Simulation Experiments gives the definitions and minima).
public enum TestObjective: String, CaseIterable, SearchObjective {
  /// Branin–Hoo on x₁ ∈ [−5, 10], x₂ ∈ [0, 15]: a(x₂ − b·x₁² + c·x₁ − r)² + s(1 − t)·cos x₁ + s,
  /// a = 1, b = 5.1/(4π²), c = 5/π, r = 6, s = 10, t = 1/(8π). Minimum 0.397887 (three places).
  case branin
  /// Hartmann 6-D on [0, 1]⁶: −Σᵢ αᵢ·exp(−Σⱼ Aᵢⱼ(xⱼ − Pᵢⱼ)²). Minimum −3.32237.
  case hartmann6

  public var name: String { rawValue }

  public var box: [(Double, Double, Bool)] {
    switch self {
    case .branin: return [(-5, 10, false), (0, 15, false)]
    case .hartmann6: return Array(repeating: (0, 1, false), count: 6)
    }
  }

  public var minimum: Double {
    switch self {
    case .branin: return 0.397887
    case .hartmann6: return -3.32237
    }
  }

  public func value(_ x: [Double]) -> Double {
    switch self {
    case .branin:
      let b = 5.1 / (4 * Double.pi * Double.pi), c = 5 / Double.pi, t = 1 / (8 * Double.pi)
      let inner = x[1] - b * x[0] * x[0] + c * x[0] - 6
      return inner * inner + 10 * (1 - t) * cos(x[0]) + 10
    case .hartmann6:
      let alpha = [1.0, 1.2, 3.0, 3.2]
      let a: [[Double]] = [
        [10, 3, 17, 3.5, 1.7, 8], [0.05, 10, 17, 0.1, 8, 14], [3, 3.5, 1.7, 10, 17, 8],
        [17, 8, 0.05, 10, 0.1, 14],
      ]
      let p: [[Double]] = [
        [0.1312, 0.1696, 0.5569, 0.0124, 0.8283, 0.5886], [0.2329, 0.4135, 0.8307, 0.3736, 0.1004, 0.9991],
        [0.2348, 0.1451, 0.3522, 0.2883, 0.3047, 0.6650], [0.4047, 0.8828, 0.8732, 0.5743, 0.1091, 0.0381],
      ]
      var total = 0.0
      for i in 0..<4 {
        var exponent = 0.0
        for j in 0..<6 { exponent += a[i][j] * (x[j] - p[i][j]) * (x[j] - p[i][j]) }
        total += alpha[i] * exp(-exponent)
      }
      return -total
    }
  }
}

/// A response surface tabulated on a grid (CSV: one column per coordinate, then the value),
/// interpolated multilinearly in log coordinates. `scripts/bench/tabulate_digits` makes the
/// digits-MLP surface: ln of the validation loss of a 64-h-10 MLP after 12 epochs of Adam,
/// over learning rate, batch size, hidden width and weight decay.
public struct TabulatedObjective: SearchObjective {
  public let name: String
  /// Grid coordinates per axis, ascending.
  public let axes: [[Double]]
  /// Values in row-major order of the axes.
  public let values: [Double]

  public var box: [(Double, Double, Bool)] { axes.map { ($0.first!, $0.last!, true) } }

  /// Reads the CSV (header, then rows of coordinates and a value); the objective is ln(value).
  public init(name: String, csv: String) throws {
    struct Malformed: Error, CustomStringConvertible { var description: String }
    let rows = csv.split(separator: "\n").dropFirst().map { $0.split(separator: ",").map { Double($0)! } }
    guard let width = rows.first?.count, width >= 2 else { throw Malformed(description: "\(name): no rows") }
    let axes = (0..<(width - 1)).map { d in Array(Set(rows.map { $0[d] })).sorted() }
    var values = [Double](repeating: .nan, count: axes.map(\.count).reduce(1, *))
    for row in rows {
      var index = 0
      for d in axes.indices { index = index * axes[d].count + axes[d].firstIndex(of: row[d])! }
      values[index] = log(row[width - 1])
    }
    guard !values.contains(where: \.isNaN) else {
      throw Malformed(description: "\(name): the grid is incomplete")
    }
    self.name = name
    self.axes = axes
    self.values = values
  }

  public func value(_ x: [Double]) -> Double {
    // Per axis: the cell and the fraction across it, in log coordinates.
    var cells: [(Int, Double)] = []
    for (d, axis) in axes.enumerated() {
      let t = log(Swift.min(Swift.max(x[d], axis.first!), axis.last!))
      var i = 0
      while i < axis.count - 2 && log(axis[i + 1]) < t { i += 1 }
      let a = log(axis[i]), b = log(axis[i + 1])
      cells.append((i, Swift.min(Swift.max((t - a) / (b - a), 0), 1)))
    }
    var total = 0.0
    for corner in 0..<(1 << axes.count) {
      var weight = 1.0, index = 0
      for d in axes.indices {
        let upper = (corner >> d) & 1 == 1
        weight *= upper ? cells[d].1 : 1 - cells[d].1
        index = index * axes[d].count + cells[d].0 + (upper ? 1 : 0)
      }
      total += weight * values[index]
    }
    return total
  }
}
