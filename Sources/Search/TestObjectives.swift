#if canImport(Glibc)
  import Glibc
#else
  import Foundation
#endif

/// Standard black-box test functions for comparing samplers (Surjanovic & Bingham's Virtual
/// Library of Simulation Experiments gives the definitions and minima).
public enum TestObjective: String, CaseIterable, Sendable {
  /// Branin–Hoo on x₁ ∈ [−5, 10], x₂ ∈ [0, 15]: a(x₂ − b·x₁² + c·x₁ − r)² + s(1 − t)·cos x₁ + s,
  /// a = 1, b = 5.1/(4π²), c = 5/π, r = 6, s = 10, t = 1/(8π). Minimum 0.397887 (three places).
  case branin
  /// Hartmann 6-D on [0, 1]⁶: −Σᵢ αᵢ·exp(−Σⱼ Aᵢⱼ(xⱼ − Pᵢⱼ)²). Minimum −3.32237.
  case hartmann6

  public var bounds: [(Double, Double)] {
    switch self {
    case .branin: return [(-5, 10), (0, 15)]
    case .hartmann6: return Array(repeating: (0, 1), count: 6)
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

  /// A sweep over this function's box (uniform parameters x0, x1, …), minimizing.
  public func sweep(method: SweepSpec.Method, seed: UInt64) -> SweepSpec {
    SweepSpec(
      file: rawValue, name: rawValue, description: nil, method: method, methodName: method.rawValue,
      metric: SweepSpec.Metric(name: "val_loss", goal: .minimize), runCap: nil, seed: seed, repeats: 1,
      maxAttempts: 1,
      earlyTerminate: nil, base: .map([]),
      parameters: bounds.enumerated().map { i, range in
        SweepSpec.Parameter(
          path: "x\(i)", distribution: .uniform(min: range.0, max: range.1),
          location: SourceLocation(line: 1, column: 1))
      }, warnings: [])
  }

  /// Runs `trials` trials of a sampler against this function and returns the best value
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
