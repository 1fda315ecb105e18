import Training

#if canImport(Glibc)
  import Glibc
#else
  import Foundation
#endif

/// A finished (or ended) trial as the samplers see it.
public struct Observation: Sendable {
  public enum State: String, Sendable, Codable {
    case completed, pruned, diverged, failed
  }

  /// The trial's point: one quantile u ∈ [0, 1) per parameter (see `Distribution.value(at:)`).
  public var point: [Double]
  /// The objective value (nil when the trial ended without one).
  public var value: Double?
  public var state: State

  public init(point: [Double], value: Double?, state: State = .completed) {
    self.point = point
    self.value = value
    self.state = state
  }
}

/// The Tree-structured Parzen Estimator (Bergstra, Bardenet, Bengio & Kégl, NeurIPS 2011),
/// univariate, with Optuna's defaults as the anchor: `startupTrials` 10 random points first,
/// `candidates` 24 draws from l(x) scored by log l(x) − log g(x), γ(n) = min(⌈0.1·n⌉, 25)
/// observations in the "good" group, a prior component of weight 1, Optuna's bandwidths
/// (distance to the farther neighbour, clipped to [range/min(100, 1 + n), range]) and its
/// weights (older observations ramp down once there are more than 25).
///
/// Every parameter is modelled in its quantile space u ∈ [0, 1): log-scale parameters are
/// then modelled in log space, normal ones in probability space, and the prior is the
/// config's own distribution. Categorical parameters use a smoothed categorical estimator.
/// Pruned, diverged and failed trials count as observed with the worst value seen
/// (W&B's `impute: worst`).
public struct TPESampler: Sendable {
  public var startupTrials = 10
  public var candidates = 24
  public var priorWeight = 1.0
  public let parameters: [SweepSpec.Parameter]
  public let goal: SweepSpec.Goal
  public let seed: UInt64

  public init(parameters: [SweepSpec.Parameter], goal: SweepSpec.Goal, seed: UInt64) {
    self.parameters = parameters
    self.goal = goal
    self.seed = seed
  }

  /// γ(n): how many of n observations form the good group.
  public static func goodCount(_ n: Int) -> Int { Swift.min(Int((0.1 * Double(n)).rounded(.up)), 25) }

  /// Optuna's `default_weights`: 1 for the newest 25, a linear ramp from 1/n below them.
  public static func weights(_ n: Int) -> [Double] {
    guard n >= 25 else { return [Double](repeating: 1, count: n) }
    let ramp = n - 25
    let rising = (0..<ramp).map { i in
      ramp == 1 ? 1.0 / Double(n) : 1.0 / Double(n) + (1 - 1.0 / Double(n)) * Double(i) / Double(ramp - 1)
    }
    return rising + [Double](repeating: 1, count: 25)
  }

  /// The point for trial `index` given the observations so far (in trial order).
  public func suggest(index: Int, history: [Observation]) -> [Double] {
    var random = RandomSource.derived(seed: seed, stream: "tpe/\(index)")
    guard history.count >= startupTrials, !history.isEmpty else {
      return parameters.map { _ in random.nextUnitDouble() }
    }
    // Loss to minimize, worst value imputed for trials without one.
    let sign = goal == .minimize ? 1.0 : -1.0
    let finite = history.compactMap { $0.state == .completed ? $0.value.map { $0 * sign } : nil }.filter(
      \.isFinite)
    let worst = finite.max() ?? 0
    let losses = history.map { observation -> Double in
      guard observation.state == .completed, let value = observation.value, value.isFinite else {
        return worst
      }
      return value * sign
    }
    let order = losses.indices.sorted { (losses[$0], $0) < (losses[$1], $1) }
    let good = Set(order.prefix(Self.goodCount(history.count)))
    let weights = Self.weights(history.count)
    var point: [Double] = []
    for (d, parameter) in parameters.enumerated() {
      var below: [(Double, Double)] = [], above: [(Double, Double)] = []
      for (i, observation) in history.enumerated() {
        let entry = (Swift.min(Swift.max(observation.point[d], 0), 1), weights[i])
        if good.contains(i) { below.append(entry) } else { above.append(entry) }
      }
      if let categories = categoryIntervals(parameter.distribution) {
        point.append(suggestCategory(categories, below: below, above: above, random: &random))
      } else {
        point.append(suggestNumber(below: below, above: above, random: &random))
      }
    }
    return point
  }

  // MARK: Numbers (truncated Gaussian mixtures on [0, 1])

  struct Mixture {
    var mus: [Double]
    var sigmas: [Double]
    var weights: [Double]

    /// Optuna's univariate Parzen estimator: the observations plus a prior at the centre
    /// of the range, as wide as the range.
    init(_ observations: [(Double, Double)], priorWeight: Double) {
      // (position, weight, is the prior), sorted by position.
      let all = (observations.map { ($0.0, $0.1, false) } + [(0.5, priorWeight, true)]).sorted { $0.0 < $1.0 }
      let mus = all.map(\.0)
      let total = all.map(\.1).reduce(0, +)
      weights = all.map { $0.1 / total }
      let n = mus.count
      let maximum = 1.0, minimum = 1.0 / Swift.min(100, 1 + Double(n))
      self.mus = mus
      sigmas = (0..<n).map { i in
        if all[i].2 { return maximum }
        let left = mus[i] - (i > 0 ? mus[i - 1] : 0)
        let right = (i < n - 1 ? mus[i + 1] : 1) - mus[i]
        return Swift.min(Swift.max(Swift.max(left, right), minimum), maximum)
      }
    }

    func logDensity(_ x: Double) -> Double {
      var density = 0.0
      for i in mus.indices {
        let mass = normalCDF((1 - mus[i]) / sigmas[i]) - normalCDF((0 - mus[i]) / sigmas[i])
        let z = (x - mus[i]) / sigmas[i]
        density +=
          weights[i] * exp(-0.5 * z * z)
          / (sigmas[i] * (2 * Double.pi).squareRoot() * Swift.max(mass, 1e-300))
      }
      return log(Swift.max(density, 1e-300))
    }

    func sample(_ random: inout RandomSource) -> Double {
      var u = random.nextUnitDouble()
      var component = mus.count - 1
      for i in weights.indices {
        if u < weights[i] {
          component = i
          break
        }
        u -= weights[i]
      }
      let mu = mus[component], sigma = sigmas[component]
      let low = normalCDF((0 - mu) / sigma), high = normalCDF((1 - mu) / sigma)
      let p = low + random.nextUnitDouble() * (high - low)
      return Swift.min(Swift.max(mu + sigma * normalQuantile(p), 0), 1 - 0x1p-53)
    }
  }

  func suggestNumber(below: [(Double, Double)], above: [(Double, Double)], random: inout RandomSource)
    -> Double
  {
    let l = Mixture(below, priorWeight: priorWeight), g = Mixture(above, priorWeight: priorWeight)
    var best = 0.0, bestScore = -Double.infinity
    for _ in 0..<candidates {
      let x = l.sample(&random)
      let score = l.logDensity(x) - g.logDensity(x)
      if score > bestScore {
        best = x
        bestScore = score
      }
    }
    return best
  }

  // MARK: Categories

  /// The quantile interval of each category, or nil for a non-categorical distribution.
  func categoryIntervals(_ distribution: Distribution) -> [(Double, Double)]? {
    switch distribution {
    case .constant: return [(0, 1)]
    case .categorical(let values, let probabilities):
      let p = probabilities ?? [Double](repeating: 1 / Double(values.count), count: values.count)
      var start = 0.0
      return p.map { width in
        defer { start += width }
        return (start, start + width)
      }
    default: return nil
    }
  }

  func suggestCategory(
    _ intervals: [(Double, Double)], below: [(Double, Double)], above: [(Double, Double)],
    random: inout RandomSource
  ) -> Double {
    func category(_ u: Double) -> Int { intervals.firstIndex { u < $0.1 } ?? intervals.count - 1 }
    func probabilities(_ observations: [(Double, Double)]) -> [Double] {
      // Prior: the config's probabilities, with total weight `priorWeight`.
      var mass = intervals.map { ($0.1 - $0.0) * priorWeight }
      for (u, w) in observations { mass[category(u)] += w }
      let total = mass.reduce(0, +)
      return mass.map { $0 / total }
    }
    let l = probabilities(below), g = probabilities(above)
    var best = 0, bestScore = -Double.infinity
    for _ in 0..<candidates {
      var u = random.nextUnitDouble()
      var c = l.count - 1
      for i in l.indices {
        if u < l[i] {
          c = i
          break
        }
        u -= l[i]
      }
      let score = log(l[c]) - log(g[c])
      if score > bestScore {
        best = c
        bestScore = score
      }
    }
    return (intervals[best].0 + intervals[best].1) / 2
  }
}

/// Φ(x), the standard normal CDF.
func normalCDF(_ x: Double) -> Double { 0.5 * erfc(-x / 2.0.squareRoot()) }
