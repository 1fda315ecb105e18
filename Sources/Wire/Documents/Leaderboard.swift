import Foundation
import Vocabulary

/// One trial as the leaderboard shows it.
public struct TrialSummary: Hashable, Sendable {
  public var trial: Int64
  public var index: Int
  public var configuration: Int
  public var status: TrialState
  /// The parameter values the trial used, in the sweep's parameter order.
  public var params: [(String, ConfigValue)]
  /// The best value of the sweep's metric and the epoch it came from (nil if none yet).
  public var best: Double?
  public var bestEpoch: Int?
  /// What the trial reports as its result: the metric at its last epoch, or at its best one
  /// when its stopping policy restores the best (nil while running, or when not finite).
  public var result: Double?
  public var resultEpoch: Int?
  public var epochs: Int
  public var seconds: Double
  /// Why the trial ended as it did, when there is more to say than its status (an early
  /// stop's reason, a failure's error).
  public var message: String?
  /// The trial's current attempt (1 for a trial that ran once; 0 before it first started);
  /// nil where the source did not say.
  public var attempt: Int?
  /// The trial's seed (its initial weights, shuffles and dropout masks); nil where the
  /// source did not say.
  public var seed: UInt64?
  /// k-fold cross-validation: the standard deviation over folds of the metric at the best
  /// epoch (`best` is the mean over folds).
  public var bestDeviation: Double?

  public init(
    trial: Int64, index: Int, configuration: Int, status: TrialState, params: [(String, ConfigValue)],
    best: Double?,
    bestEpoch: Int?, epochs: Int, seconds: Double, message: String? = nil, result: Double? = nil,
    resultEpoch: Int? = nil, attempt: Int? = nil, seed: UInt64? = nil
  ) {
    self.seed = seed
    self.attempt = attempt
    self.result = result
    self.resultEpoch = resultEpoch
    self.trial = trial
    self.index = index
    self.configuration = configuration
    self.status = status
    self.params = params
    self.best = best
    self.bestEpoch = bestEpoch
    self.epochs = epochs
    self.seconds = seconds
    self.message = message
  }

  public static func == (a: TrialSummary, b: TrialSummary) -> Bool {
    a.trial == b.trial && a.index == b.index && a.status == b.status && a.best == b.best
      && a.bestEpoch == b.bestEpoch && a.result == b.result && a.resultEpoch == b.resultEpoch
      && a.epochs == b.epochs && a.seconds == b.seconds && a.params.map(\.0) == b.params.map(\.0)
      && a.params.map(\.1) == b.params.map(\.1)
  }

  public func hash(into hasher: inout Hasher) { hasher.combine(trial) }

  public func value(of key: String) -> ConfigValue? { params.first { $0.0 == key }?.1 }
}

/// Statistics of one group of trials (`--group-by KEY`).
public struct GroupSummary: Hashable, Sendable {
  public var key: String
  public var value: ConfigValue
  /// Trials in the group, and how many have a value of the metric.
  public var count: Int
  public var measured: Int
  public var best: Double?
  public var median: Double?
  public var mean: Double?
  /// Sample standard deviation (n − 1); nil with fewer than two values.
  public var standardDeviation: Double?
  /// The best trial of the group.
  public var bestTrial: TrialSummary?
  /// How the group compares with the best group (the first; nil for it, or without two
  /// values on each side): see `Leaderboard.groups(by:)`.
  public var comparison: Comparison?

  /// A two-sided test of the group's values against the best group's.
  public struct Comparison: Hashable, Sendable {
    public enum Test: String, Hashable, Sendable {
      /// Wilcoxon signed-rank over matched seeds.
      case signedRank = "signed-rank"
      /// Wilcoxon rank-sum (Mann–Whitney U), unmatched.
      case rankSum = "rank-sum"
    }
    public var test: Test
    public var p: Double
    /// Pairs (signed-rank) or values in both groups (rank-sum).
    public var n: Int

    /// `p 0.031, 5 pairs` or `p 0.21, rank-sum of 6 + 5`.
    public var text: String {
      let value = p < 0.001 ? String(format: "%.1e", p) : String(format: "%.3g", p)
      return test == .signedRank ? "p \(value), \(n) pairs" : "p \(value), rank-sum of \(n)"
    }
  }
}

/// A sweep's final run: the configuration its search selected (rank 1 by the validation
/// metric), trained again and scored once on the held-out test rows.
public struct SelectedRun: Hashable, Sendable, Codable {
  /// The selected search trial, and the final run's own trial id.
  public var trial: Int64
  public var run: Int64
  /// Refit on training + validation rows (true), or the selected trial's own model (false).
  public var refit: Bool
  public var status: TrialState
  /// Epochs the final run trained.
  public var epochs: Int
  /// The test metrics (`test_loss`, `test_error`, `test_accuracy`, `test_rmse`, and with
  /// folds and no refit their `_std` over fold models); empty until it has run.
  public var test: [String: Double]
  public var message: String?

  public init(
    trial: Int64, run: Int64, refit: Bool, status: TrialState, epochs: Int, test: [String: Double],
    message: String? = nil
  ) {
    self.trial = trial
    self.run = run
    self.refit = refit
    self.status = status
    self.epochs = epochs
    self.test = test
    self.message = message
  }

  /// `test_error 0.0306, test_loss 0.112` (names in order), or the run's state before it
  /// has scored.
  public var testText: String {
    test.isEmpty
      ? status.rawValue
      : test.sorted { $0.key < $1.key }.map { "\($0.key) \(String(format: "%.4g", $0.value))" }.joined(
        separator: ", ")
  }
}

/// The aggregated leaderboard of a sweep: trials ranked by their best value of the metric
/// (goal-aware), trials without a value after them in trial order.
public struct Leaderboard: Sendable {
  public var sweep: String
  public var metric: SweepMetric
  /// Ranked trials (rank = position + 1).
  public var ranked: [TrialSummary]
  /// The final run of a sweep with test rows (nil: none, or not yet created).
  public var selected: SelectedRun?

  public init(sweep: String, metric: SweepMetric, trials: [TrialSummary]) {
    self.sweep = sweep
    self.metric = metric
    let sign = metric.goal == .minimize ? 1.0 : -1.0
    ranked = trials.sorted { a, b in
      switch (a.best.map { $0 * sign }, b.best.map { $0 * sign }) {
      case (let x?, let y?) where x != y: return x < y
      case (.some, nil): return true
      case (nil, .some): return false
      default: return a.index < b.index
      }
    }
  }

  /// The parameter names in the order the trials first use them (the sweep's order).
  /// Sets each trial's `bestDeviation` from its stored epochs: `<metric>_std` at its best
  /// epoch (k-fold sweeps report it).
  /// `rows`: (trial, epoch, the epoch's metrics as stored JSON).
  public mutating func addFoldDeviations(from rows: [(trial: Int64, epoch: Int, values: String)]) {
    let name = metric.name.rawValue + "_std"
    var deviation: [Int64: [Int: Double]] = [:]
    for row in rows {
      if let value = MetricJSON.decodeValues(row.values)?[name] {
        deviation[row.trial, default: [:]][row.epoch] = value
      }
    }
    for i in ranked.indices {
      if let epoch = ranked[i].bestEpoch { ranked[i].bestDeviation = deviation[ranked[i].trial]?[epoch] }
    }
  }

  public var parameterNames: [String] {
    var names: [String] = []
    for trial in ranked { for (name, _) in trial.params where !names.contains(name) { names.append(name) } }
    return names
  }

  /// Per value of `key` (a parameter name): count, best, median, mean ± std, best trial.
  /// Groups are ordered by their best value.
  public func groups(by key: String) -> [GroupSummary] {
    var order: [ConfigValue] = []
    var members: [ConfigValue: [TrialSummary]] = [:]
    for trial in ranked {
      let value = trial.value(of: key) ?? .null
      if members[value] == nil { order.append(value) }
      members[value, default: []].append(trial)
    }
    return order.map { value in
      let trials = members[value]!
      let values = trials.compactMap(\.best).filter(\.isFinite)
      let sorted = values.sorted()
      let median: Double? =
        sorted.isEmpty
        ? nil
        : sorted.count % 2 == 1
          ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
      let mean = values.isEmpty ? nil : values.reduce(0, +) / Double(values.count)
      var deviation: Double?
      if let mean, values.count >= 2 {
        deviation = (values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(values.count - 1))
          .squareRoot()
      }
      let bestTrial = trials.first { $0.best != nil }
      return GroupSummary(
        key: key, value: value, count: trials.count, measured: values.count, best: bestTrial?.best,
        median: median,
        mean: mean, standardDeviation: deviation, bestTrial: bestTrial)
    }.enumerated().map { index, group in
      guard index > 0, let leader = order.first else { return group }
      var compared = group
      compared.comparison = compare(members[group.value]!, with: members[leader]!)
      return compared
    }
  }

  /// A group's trials against the best group's: over the seeds both have (`repeats:
  /// {seeds: shared}` or a swept `seed`), each side's best value at that seed, by the
  /// Wilcoxon signed-rank test; without two shared seeds, every value of each side by the
  /// rank-sum test. nil with fewer than two values on a side.
  func compare(_ trials: [TrialSummary], with leaders: [TrialSummary]) -> GroupSummary.Comparison? {
    let sign = metric.goal == .minimize ? 1.0 : -1.0
    func bySeed(_ trials: [TrialSummary]) -> [UInt64: Double] {
      var best: [UInt64: Double] = [:]
      for trial in trials {
        guard let seed = trial.seed, let value = trial.best, value.isFinite else { continue }
        if let current = best[seed], current * sign <= value * sign { continue }
        best[seed] = value
      }
      return best
    }
    let ours = bySeed(trials), theirs = bySeed(leaders)
    let shared = Set(ours.keys).intersection(theirs.keys).sorted()
    if shared.count >= 2,
      let result = Significance.wilcoxon(shared.map { ours[$0]! }, shared.map { theirs[$0]! })
    {
      return GroupSummary.Comparison(test: .signedRank, p: result.p, n: result.n)
    }
    let a = trials.compactMap(\.best).filter(\.isFinite), b = leaders.compactMap(\.best).filter(\.isFinite)
    guard a.count >= 2, b.count >= 2, let result = Significance.rankSum(a, b) else { return nil }
    return GroupSummary.Comparison(test: .rankSum, p: result.p, n: a.count + b.count)
  }
}
