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
  /// The trial's value at its last reported step, for `metric.impute: latest` (nil: none).
  public var latest: Double?

  public init(point: [Double], value: Double?, state: State = .completed, latest: Double? = nil) {
    self.latest = latest
    self.point = point
    self.value = value
    self.state = state
  }
}

/// The Tree-structured Parzen Estimator (Bergstra, Bardenet, Bengio & Kégl, NeurIPS 2011)
/// in its multivariate form (Falkner, Klein & Hutter, ICML 2018), with the defaults of
/// Optuna 5, our anchor: `startupTrials` 10 random points first; then the observations
/// split into a good group of γ(n) = min(⌈0.1·n⌉, 25) and the rest; each group becomes a
/// mixture of product kernels (one per observation, plus a prior kernel of weight 1 at the
/// centre of the space, as wide as the space); `candidates` 24 points are drawn from the good
/// mixture l and the one maximizing log l(x) − log g(x) is suggested.
///
/// Kernel widths per dimension follow Optuna: the distance to the farther neighbour (to the
/// nearer one at the two ends), clipped to [range/min(100, n + 2), range]. Observation
/// weights are 1, ramping down linearly for the oldest once a group has more than 25.
///
/// Every parameter is modelled in its quantile space u ∈ [0, 1): log-scale parameters are
/// then modelled in log space, normal ones in probability space, and so on. Categorical
/// parameters get categorical kernels (the observed choice plus a smoothing prior).
/// Diverged trials count as observed with the worst value seen; failed ones (crashed,
/// killed, out of attempts) with the value `impute` gives them (W&B's `metric.impute`).
public struct TPESampler: Sendable {
  /// W&B's `metric.impute`: the value a trial that ended without completing counts with.
  public enum Impute: String, Sendable, CaseIterable {
    /// The worst value any completed trial reached (W&B's default).
    case worst
    /// The failed trial's own best value before it failed (the worst value when it reported
    /// none).
    case best
    /// The failed trial's value at its last reported step (the worst when none).
    case latest
  }

  public var startupTrials = 10
  public var candidates = 24
  public var priorWeight = 1.0
  public let parameters: [SweepSpec.Parameter]
  public let goal: SweepSpec.Goal
  public let seed: UInt64
  public var impute = Impute.worst

  public init(parameters: [SweepSpec.Parameter], goal: SweepSpec.Goal, seed: UInt64, impute: Impute = .worst)
  {
    self.impute = impute
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
    guard history.count >= startupTrials, !history.isEmpty, !parameters.isEmpty else {
      return parameters.map { _ in random.nextUnitDouble() }
    }
    // Loss to minimize, worst value imputed for trials without one.
    let sign = goal == .minimize ? 1.0 : -1.0
    let finite = history.compactMap { $0.state == .completed ? $0.value.map { $0 * sign } : nil }.filter(
      \.isFinite)
    let worst = finite.max() ?? 0
    let losses = history.map { observation -> Double in
      var imputed: Double? = nil
      switch observation.state {
      case .completed: imputed = observation.value
      case .failed:
        imputed = impute == .best ? observation.value : impute == .latest ? observation.latest : nil
      case .pruned, .diverged: imputed = nil
      }
      guard let value = imputed, value.isFinite else { return worst }
      return value * sign
    }
    let order = losses.indices.sorted { (losses[$0], $0) < (losses[$1], $1) }
    let goodSet = Set(order.prefix(Self.goodCount(history.count)))
    // Each group in trial order.
    let good = history.indices.filter { goodSet.contains($0) }.map { history[$0].point }
    let rest = history.indices.filter { !goodSet.contains($0) }.map { history[$0].point }
    let layout = parameters.map { categoryIntervals($0.distribution) }
    let l = Mixture(points: good, layout: layout, priorWeight: priorWeight)
    let g = Mixture(points: rest, layout: layout, priorWeight: priorWeight)
    var best: [Double] = []
    var bestScore = -Double.infinity
    for _ in 0..<candidates {
      let x = l.sample(&random)
      let score = l.logDensity(x) - g.logDensity(x)
      if score > bestScore {
        best = x
        bestScore = score
      }
    }
    // Categorical coordinates are reported at the middle of their category's interval.
    return zip(best, layout).map { u, intervals in
      guard let intervals else { return u }
      let c = category(u, intervals)
      return (intervals[c].0 + intervals[c].1) / 2
    }
  }

  /// A weighted mixture of product kernels over [0, 1)^d: per dimension a truncated
  /// Gaussian, or for a categorical dimension a categorical distribution.
  struct Mixture {
    var weights: [Double]
    /// Per kernel, per dimension: (μ, σ) for numbers.
    var mus: [[Double]]
    var sigmas: [[Double]]
    /// Per kernel, per categorical dimension: probabilities of each category.
    var categoryProbabilities: [[[Double]]]
    let layout: [[(Double, Double)]?]

    init(points: [[Double]], layout: [[(Double, Double)]?], priorWeight: Double) {
      self.layout = layout
      let n = points.count
      var weights = TPESampler.weights(n) + [priorWeight]
      let total = weights.reduce(0, +)
      weights = weights.map { $0 / total }
      self.weights = weights
      let kernels = n + 1
      let dimensions = layout.count
      var mus = [[Double]](repeating: [Double](repeating: 0.5, count: dimensions), count: kernels)
      var sigmas = [[Double]](repeating: [Double](repeating: 1, count: dimensions), count: kernels)
      var probabilities = [[[Double]]](
        repeating: [[Double]](repeating: [], count: dimensions), count: kernels)
      for d in 0..<dimensions {
        if let intervals = layout[d] {
          let choices = intervals.count
          for k in 0..<kernels {
            var row = [Double](repeating: priorWeight / Double(kernels), count: choices)
            if k < n { row[category(points[k][d], intervals)] += 1 }
            let sum = row.reduce(0, +)
            probabilities[k][d] = row.map { $0 / sum }
          }
          continue
        }
        let values = points.map { Swift.min(Swift.max($0[d], 0), 1) }
        let sorted = values.indices.sorted { values[$0] < values[$1] }
        let minimum = 1.0 / Swift.min(100, 1 + Double(kernels)), maximum = 1.0
        for (rank, k) in sorted.enumerated() {
          let here = values[k]
          let left = here - (rank > 0 ? values[sorted[rank - 1]] : 0)
          let right = (rank < n - 1 ? values[sorted[rank + 1]] : 1) - here
          var sigma = Swift.max(left, right)
          // Optuna's consider_endpoints=False: the outermost kernels ignore the bounds.
          if n >= 2 && rank == 0 { sigma = values[sorted[1]] - here }
          if n >= 2 && rank == n - 1 { sigma = here - values[sorted[n - 2]] }
          mus[k][d] = here
          sigmas[k][d] = Swift.min(Swift.max(sigma, minimum), maximum)
        }
      }
      self.mus = mus
      self.sigmas = sigmas
      self.categoryProbabilities = probabilities
    }

    func logDensity(_ x: [Double]) -> Double {
      var terms: [Double] = []
      terms.reserveCapacity(weights.count)
      for k in weights.indices {
        var logp = log(weights[k])
        for d in x.indices {
          if let intervals = layout[d] {
            logp += log(categoryProbabilities[k][d][category(x[d], intervals)])
          } else {
            let mu = mus[k][d], sigma = sigmas[k][d]
            let mass = normalCDF((1 - mu) / sigma) - normalCDF((0 - mu) / sigma)
            let z = (x[d] - mu) / sigma
            logp += -0.5 * z * z - log(sigma * (2 * Double.pi).squareRoot() * Swift.max(mass, 1e-300))
          }
        }
        terms.append(logp)
      }
      let top = terms.max() ?? -Double.infinity
      guard top.isFinite else { return top }
      return top + log(terms.reduce(0) { $0 + exp($1 - top) })
    }

    func sample(_ random: inout RandomSource) -> [Double] {
      var u = random.nextUnitDouble()
      var kernel = weights.count - 1
      for k in weights.indices {
        if u < weights[k] {
          kernel = k
          break
        }
        u -= weights[k]
      }
      return layout.indices.map { d in
        if let intervals = layout[d] {
          var v = random.nextUnitDouble()
          let row = categoryProbabilities[kernel][d]
          var c = row.count - 1
          for i in row.indices {
            if v < row[i] {
              c = i
              break
            }
            v -= row[i]
          }
          return (intervals[c].0 + intervals[c].1) / 2
        }
        let mu = mus[kernel][d], sigma = sigmas[kernel][d]
        let low = normalCDF((0 - mu) / sigma), high = normalCDF((1 - mu) / sigma)
        let p = low + random.nextUnitDouble() * (high - low)
        return Swift.min(Swift.max(mu + sigma * normalQuantile(p), 0), 1 - 0x1p-53)
      }
    }
  }

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
}

/// The category whose quantile interval holds u.
func category(_ u: Double, _ intervals: [(Double, Double)]) -> Int {
  intervals.firstIndex { u < $0.1 } ?? intervals.count - 1
}

/// Φ(x), the standard normal CDF.
func normalCDF(_ x: Double) -> Double { 0.5 * erfc(-x / 2.0.squareRoot()) }
