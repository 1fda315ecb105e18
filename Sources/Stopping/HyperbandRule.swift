import Foundation
import Vocabulary

/// W&B's `early_terminate: {type: hyperband}`, with its semantics, so W&B sweep configs run
/// unchanged (Li, Jamieson, DeSalvo, Rostamizadeh & Talwalkar, "Hyperband: A Novel
/// Bandit-Based Approach to Hyperparameter Optimization", JMLR 2018, as W&B applies it).
///
/// - Bands: with `min_iter` m, the epochs m, m·η, m·η², … (each rounded down); with
///   `max_iter` M and `s`, the epochs ⌊M/η⌋, ⌊M/η²⌋, … (s of them, stopping below 1),
///   ascending. η = `eta` (default 3).
/// - A band b's threshold is, over every trial with at least b finite values (running or
///   finished, the judged one included), the value at its b-th finite value, sorted best
///   first, taken at index ⌊n/η⌋ — so about the best 1/η pass.
/// - After each epoch a running trial is judged at the highest band it has reached: it stops
///   if its best value so far is worse than that band's threshold, or, with `strict: true`,
///   if its value at the band is (more aggressive: a trial that improved late still stops).
///   Between bands it is judged again as thresholds move.
/// - Non-finite values are left out of a trial's history (W&B's `filter_invalid`).
public struct HyperbandRule: Hashable, Sendable {
  public var bands: [Int]
  public var eta: Double
  public var strict: Bool
  public var goal: Goal

  public init(
    minIter: Int?, maxIter: Int?, s: Int?, eta: Double = 3, strict: Bool = true, goal: Goal
  ) {
    self.eta = eta > 1 ? eta : 3
    self.strict = strict
    self.goal = goal
    var bands: [Int] = []
    if let maxIter, let s {
      var band = Double(maxIter)
      // At most `maximumBands` (an absurd `s` with an eta near 1 would otherwise loop for
      // minutes and fill memory).
      for _ in 0..<Swift.min(Swift.max(0, s), Self.maximumBands) {
        band /= self.eta
        if band < 1 { break }
        bands.append(Int(band))
      }
    } else if let minIter {
      var band = Double(Swift.max(1, minIter))
      // Bands past any realistic epoch count are never reached; stop before Int overflows.
      while band < 1e9 && bands.count < Self.maximumBands {
        bands.append(Int(band))
        band *= self.eta
      }
    }
    self.bands = Array(Set(bands)).sorted()
  }

  /// The most bands a rule keeps, whatever its settings.
  public static let maximumBands = 1_000

  /// A curve without its non-finite values, negated when the goal is to maximize (so lower is
  /// better throughout).
  func history(_ curve: [Double]) -> [Double] {
    curve.filter(\.isFinite).map { goal == .maximize ? -$0 : $0 }
  }

  /// The decision after the last epoch of `curve`, given the other trials' curves. nil:
  /// continue.
  public func decide(curve: [Double], others: [[Double]]) -> StopDecision? {
    let own = history(curve)
    guard let band = bands.last(where: { $0 <= own.count }) else { return nil }
    var values = others.map(history).compactMap { $0.count >= band ? $0[band - 1] : nil }
    values.append(own[band - 1])
    values.sort()
    let threshold = values[Swift.min(values.count - 1, Int(Double(values.count) / eta))]
    let judged = strict ? own[band - 1] : own.min()!
    guard judged > threshold else { return nil }
    let sign = goal == .maximize ? -1.0 : 1.0
    return StopDecision(
      epoch: curve.count,
      reason: "hyperband band \(band) at epoch \(curve.count): \(strict ? "value at the band" : "best") "
        + "\(formatValue(sign * judged)) is worse than the threshold \(formatValue(sign * threshold)) "
        + "of \(values.count) trials")
  }
}
