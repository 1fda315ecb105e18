import Foundation

/// Two-sided tests of whether one group of trials' results differs from another's, as SciPy
/// computes them with its defaults (the reference values in the tests come from SciPy):
///
/// - `wilcoxon(x, y)`: the Wilcoxon signed-rank test on matched pairs (the same seed in two
///   configurations). Differences of zero are dropped (`zero_method="wilcox"`); the
///   statistic is min(R⁺, R⁻) over the ranks of |x − y|. The p-value is exact (the
///   distribution of R⁺ over all 2ⁿ sign patterns) when there are neither ties nor zeros
///   and n ≤ 50; a complete permutation over the signs when there are and the sample has at
///   most 13 pairs; otherwise the normal approximation with the tie-corrected variance
///   n(n+1)(2n+1)/24 − Σ(t³ − t)/48 and no continuity correction.
/// - `rankSum(x, y)`: the Wilcoxon rank-sum (Mann–Whitney U) test on unmatched samples. The
///   statistic is U₁ = R₁ − n₁(n₁+1)/2; the p-value is exact (the distribution of U over all
///   arrangements) without ties when either sample has at most 8 values, else the normal
///   approximation with tie correction and a continuity correction of ½.
///
/// (Wilcoxon 1945; Mann & Whitney 1947; the tie corrections as in Hollander & Wolfe,
/// *Nonparametric Statistical Methods*.)
public enum Significance {
  public struct Result: Hashable, Sendable {
    public var statistic: Double
    /// The two-sided p-value.
    public var p: Double
    /// Pairs used (zero differences dropped), or values in all for the rank-sum test.
    public var n: Int
  }

  /// Average ranks (1-based) of `values`, and the sizes of their groups of ties.
  static func ranks(_ values: [Double]) -> (ranks: [Double], ties: [Int]) {
    let order = values.indices.sorted { values[$0] < values[$1] }
    var ranks = [Double](repeating: 0, count: values.count)
    var ties: [Int] = []
    var start = 0
    while start < order.count {
      var end = start
      while end + 1 < order.count && values[order[end + 1]] == values[order[start]] { end += 1 }
      let average = Double(start + end + 2) / 2
      for position in start...end { ranks[order[position]] = average }
      ties.append(end - start + 1)
      start = end + 1
    }
    return (ranks, ties)
  }

  static func normalTail(_ z: Double) -> Double { 0.5 * erfc(z / 2.0.squareRoot()) }

  public static func wilcoxon(_ x: [Double], _ y: [Double]) -> Result? {
    guard x.count == y.count, !x.isEmpty else { return nil }
    let all = zip(x, y).map { $0 - $1 }
    guard all.allSatisfy(\.isFinite) else { return nil }
    let zeros = all.filter { $0 == 0 }.count
    let d = all.filter { $0 != 0 }
    let n = d.count
    guard n > 0 else { return nil }
    let (r, ties) = ranks(d.map(abs))
    let rPlus = zip(d, r).filter { $0.0 > 0 }.map(\.1).reduce(0, +)
    let total = Double(n * (n + 1)) / 2
    let statistic = min(rPlus, total - rPlus)
    let tied = ties.contains { $0 > 1 }
    let p: Double
    if !tied && zeros == 0 && all.count <= 50 {
      // Counts of each rank sum over the 2ⁿ sign patterns.
      var counts = [Double](repeating: 0, count: Int(total) + 1)
      counts[0] = 1
      for rank in 1...n {
        for sum in stride(from: Int(total), through: rank, by: -1) { counts[sum] += counts[sum - rank] }
      }
      let all = pow(2, Double(n))
      let observed = Int(rPlus.rounded())
      let lower = counts[0...observed].reduce(0, +) / all
      let upper = counts[observed...].reduce(0, +) / all
      p = min(1, 2 * min(lower, upper))
    } else if all.count <= 13 {
      // Every sign pattern of every difference (a zero's sign changes nothing).
      var null: [Double] = []
      let m = all.count
      let magnitudes = r
      let nonzeroIndex = all.indices.filter { all[$0] != 0 }
      null.reserveCapacity(1 << m)
      for pattern in 0..<(1 << m) {
        var sum = 0.0
        for (k, index) in nonzeroIndex.enumerated() where pattern & (1 << index) != 0 { sum += magnitudes[k] }
        null.append(sum)
      }
      let tolerance = abs(rPlus) * 1e-14
      let count = Double(null.count)
      let lower = Double(null.filter { $0 <= rPlus + tolerance }.count) / count
      let upper = Double(null.filter { $0 >= rPlus - tolerance }.count) / count
      p = min(1, 2 * min(lower, upper))
    } else {
      let mean = total / 2
      let variance =
        Double(n * (n + 1) * (2 * n + 1)) / 24 - ties.map { Double($0 * $0 * $0 - $0) }.reduce(0, +) / 48
      let z = (rPlus - mean) / variance.squareRoot()
      p = min(1, 2 * normalTail(abs(z)))
    }
    return Result(statistic: statistic, p: p, n: n)
  }

  public static func rankSum(_ x: [Double], _ y: [Double]) -> Result? {
    let n1 = x.count, n2 = y.count
    guard n1 > 0, n2 > 0, (x + y).allSatisfy(\.isFinite) else { return nil }
    let (r, ties) = ranks(x + y)
    let r1 = r.prefix(n1).reduce(0, +)
    let u1 = r1 - Double(n1 * (n1 + 1)) / 2
    let u = max(u1, Double(n1 * n2) - u1)
    let tied = ties.contains { $0 > 1 }
    let p: Double
    if (n1 > 8 && n2 > 8) || tied {
      let n = Double(n1 + n2)
      let tieTerm = ties.map { Double($0 * $0 * $0 - $0) }.reduce(0, +)
      let s = (Double(n1 * n2) / 12 * ((n + 1) - tieTerm / (n * (n - 1)))).squareRoot()
      let z = (u - Double(n1 * n2) / 2 - 0.5) / s
      p = min(1, 2 * normalTail(z))
    } else {
      // Counts of each U over all arrangements: the coefficients of the Gaussian binomial
      // [n1+n2 choose n1]_q, by N(a, b, u) = N(a−1, b, u−b) + N(a, b−1, u).
      let small = min(n1, n2), large = max(n1, n2)
      var table = [[[Double]]](
        repeating: [[Double]](repeating: [], count: large + 1), count: small + 1)
      for a in 0...small {
        for b in 0...large {
          var counts = [Double](repeating: 0, count: a * b + 1)
          if a == 0 || b == 0 {
            counts[0] = 1
          } else {
            for value in 0...(a * b) {
              let left = value - b >= 0 && value - b < table[a - 1][b].count ? table[a - 1][b][value - b] : 0
              let right = value < table[a][b - 1].count ? table[a][b - 1][value] : 0
              counts[value] = left + right
            }
          }
          table[a][b] = counts
        }
      }
      let counts = table[small][large]
      let all = counts.reduce(0, +)
      let observed = Int(u.rounded())
      p = min(1, 2 * counts[min(observed, counts.count - 1)...].reduce(0, +) / all)
    }
    return Result(statistic: u1, p: p, n: n1 + n2)
  }
}
