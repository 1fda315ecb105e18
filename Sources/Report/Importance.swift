import Foundation
import Vocabulary
import Wire

/// Hyperparameter importance as the share of the variance of the trials' ranks that one
/// parameter explains on its own — a first-order, main-effect decomposition like fANOVA's
/// (Hutter, Hoos & Leyton-Brown 2014), estimated directly from the trials instead of from a
/// fitted random forest.
///
/// For each parameter, trials are grouped by its value (categories, or numeric values with
/// at most 10 distinct values) or else by equal-count bins of its (log-)value, k bins with
/// k = min(10, max(2, ⌊n/8⌋)). The response is each trial's rank by the metric (1 = best,
/// ties averaged; trials that diverged or produced no finite value share the worst ranks),
/// which keeps one diverging trial from dominating and still counts divergence against the
/// parameter that caused it. The estimate is Kelley's ε² (1935), the correlation ratio η²
/// corrected for the number of groups:
///
///   ε² = (SS_between − (k − 1) · SS_within / (n − k)) / SS_total, clipped to [0, 1].
///
/// Under a balanced grid the first-order shares of independent parameters add up to at
/// most 1; what is left is interactions and noise (seeds). Parameters are independent in
/// grid, random and Sobol sweeps; under TPE the sampled values correlate with the metric
/// by design, so read the table as descriptive.
struct Importance: Equatable {
  var parameter: String
  /// ε², the estimated share of the rank variance the parameter explains alone.
  var share: Double
  /// Groups (k) and trials (n) it was estimated from.
  var groups: Int
  var trials: Int

  /// `coordinates[i]` is trial i's value of the parameter (numeric value, log-value or
  /// category index; nil when absent); `scores[i]` its metric with "lower is better"
  /// (non-finite = worse than every finite value).
  static func estimate(
    parameter: String, coordinates: [Double?], scores: [Double], categorical: Bool
  ) -> Importance? {
    let pairs = zip(coordinates, ranks(scores)).compactMap { c, r in c.map { ($0, r) } }
      .filter { $0.0.isFinite }
    let n = pairs.count
    guard n >= 3 else { return nil }
    let distinct = Set(pairs.map(\.0))
    guard distinct.count > 1 else { return nil }
    var groupOf: [Int] = []
    if categorical || distinct.count <= 10 {
      let order = distinct.sorted()
      let index = Dictionary(uniqueKeysWithValues: order.enumerated().map { ($1, $0) })
      groupOf = pairs.map { index[$0.0]! }
    } else {
      let bins = Swift.min(10, Swift.max(2, n / 8))
      let sorted = pairs.enumerated().sorted { $0.element.0 < $1.element.0 }.map(\.offset)
      groupOf = Array(repeating: 0, count: n)
      for (position, trial) in sorted.enumerated() { groupOf[trial] = position * bins / n }
    }
    let k = Set(groupOf).count
    guard k > 1, n > k else { return nil }
    let mean = pairs.map(\.1).reduce(0, +) / Double(n)
    var sums = [Double](repeating: 0, count: groupOf.max()! + 1)
    var counts = [Double](repeating: 0, count: sums.count)
    for (i, pair) in pairs.enumerated() {
      sums[groupOf[i]] += pair.1
      counts[groupOf[i]] += 1
    }
    var total = 0.0, within = 0.0
    for (i, pair) in pairs.enumerated() {
      total += (pair.1 - mean) * (pair.1 - mean)
      let groupMean = sums[groupOf[i]] / counts[groupOf[i]]
      within += (pair.1 - groupMean) * (pair.1 - groupMean)
    }
    guard total > 0 else { return Importance(parameter: parameter, share: 0, groups: k, trials: n) }
    let between = total - within
    let epsilon = (between - Double(k - 1) * within / Double(n - k)) / total
    return Importance(parameter: parameter, share: Swift.min(1, Swift.max(0, epsilon)), groups: k, trials: n)
  }

  /// Ranks 1…n, lower score first, ties (including all non-finite scores) averaged.
  static func ranks(_ scores: [Double]) -> [Double] {
    let keyed = scores.map { $0.isFinite ? $0 : Double.infinity }
    let order = keyed.indices.sorted { keyed[$0] < keyed[$1] }
    var ranks = [Double](repeating: 0, count: scores.count)
    var start = 0
    while start < order.count {
      var end = start
      while end + 1 < order.count && keyed[order[end + 1]] == keyed[order[start]] { end += 1 }
      let average = Double(start + end) / 2 + 1
      for position in start...end { ranks[order[position]] = average }
      start = end + 1
    }
    return ranks
  }
}
