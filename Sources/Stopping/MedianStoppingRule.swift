import Vocabulary

/// The median stopping rule of Google Vizier (Golovin et al., "Google Vizier: A Service for
/// Black-Box Optimization", KDD 2017, §3.2.2): stop a trial at step s if its best value so
/// far is strictly worse than the median, over the finished trials, of their running
/// averages up to step s.
///
/// - The running average of a finished trial t at step s is the mean of its finite values at
///   epochs 1…min(s, epochs of t) (a trial that stopped earlier counts with what it has).
/// - "Finished" means completed or early-stopped; failed and diverged trials are left out.
/// - Nothing is stopped before `minTrials` trials have finished (default 5), nor at a step
///   s < `graceEpochs` (default 5: the first decision comes after epoch 5; 0 or 1: after
///   epoch 1).
/// - Strictly worse: for `minimize`, best > median; for `maximize`, best < median. A tie
///   continues. Non-finite values are ignored; a trial with no finite value yet continues
///   (divergence is the worker's to report).
///
/// With `compare: step` the values *at* step s of the trials that completed replace the
/// running averages of the finished ones (early-stopped trials and trials that did not reach
/// s are left out): Optuna's `MedianPruner` (`PercentilePruner` at 50% over COMPLETE
/// trials), which stops more — a completed trial's value at a late step is lower than its
/// running average, which still carries its early epochs.
///
/// Pure: the coordinator feeds it the curves it has stored, so decisions are the same after
/// a restart.
public struct MedianStoppingRule: Hashable, Sendable {
  /// What a finished trial contributes at step s.
  public enum Comparison: String, Hashable, Sendable, CaseIterable {
    /// The mean of its values up to s (Vizier; the default).
    case runningAverage = "running_average"
    /// Its value at s (Optuna).
    case stepValue = "step"
  }

  public var minTrials: Int
  public var graceEpochs: Int
  public var goal: Goal
  public var compare: Comparison

  public init(
    minTrials: Int = 5, graceEpochs: Int = 5, goal: Goal, compare: Comparison = .runningAverage
  ) {
    self.minTrials = Swift.max(1, minTrials)
    self.graceEpochs = Swift.max(0, graceEpochs)
    self.goal = goal
    self.compare = compare
  }

  /// Why a trial is stopped: the step, its best so far and the median it lost to.
  public struct Stop: Hashable, Sendable, CustomStringConvertible {
    public var epoch: Int
    public var best: Double
    public var median: Double
    public var finishedTrials: Int

    public var compare: Comparison = .runningAverage

    public var description: String {
      let what = compare == .runningAverage ? "running averages" : "values at that epoch"
      return "median rule at epoch \(epoch): best \(formatValue(best)) is worse than the median "
        + "\(formatValue(median)) of \(finishedTrials) finished trials' \(what)"
    }
  }

  /// Whether a finished trial's curve takes part: every finished trial for running
  /// averages; only completed ones (not early-stopped) for `step`.
  public func counts(earlyStopped: Bool) -> Bool { compare == .runningAverage || !earlyStopped }

  /// The decision for a running trial whose metric values so far (epoch 1 first) are
  /// `curve`, given the curves of the finished trials. nil: continue.
  public func decide(curve: [Double], finished: [[Double]]) -> Stop? {
    let step = curve.count
    guard step >= Swift.max(graceEpochs, 1), finished.count >= minTrials else { return nil }
    let values = curve.filter(\.isFinite)
    guard let best = goal == .minimize ? values.min() : values.max() else { return nil }
    let averages = finished.compactMap { curve -> Double? in
      switch compare {
      case .runningAverage: return runningAverage(curve, upTo: step)
      case .stepValue: return curve.count >= step && curve[step - 1].isFinite ? curve[step - 1] : nil
      }
    }
    guard averages.count >= minTrials else { return nil }
    let median = Self.median(averages)
    let worse = goal == .minimize ? best > median : best < median
    return worse
      ? Stop(epoch: step, best: best, median: median, finishedTrials: averages.count, compare: compare) : nil
  }

  /// Mean of the finite values among the first `step` (nil when there are none).
  func runningAverage(_ curve: [Double], upTo step: Int) -> Double? {
    var sum = 0.0
    var count = 0
    for value in curve.prefix(step) where value.isFinite {
      sum += value
      count += 1
    }
    return count == 0 ? nil : sum / Double(count)
  }

  static func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    let middle = sorted.count / 2
    return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
  }
}
