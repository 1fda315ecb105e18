import Foundation
import Vocabulary

/// The leaderboard's JSON document (`sweepd leaderboard --format json`, and the body of a
/// LEADERBOARD reply), as Codable value types: one definition for writing and reading, so
/// the two cannot drift. Keys are sorted; a non-finite number is the string "nan", "inf"
/// or "-inf". See docs/leaderboard.md.
public struct LeaderboardDocument: Codable, Sendable {
  /// A value and the epoch it came from; both written even when null.
  public struct Best: Codable, Sendable {
    public var value: Double?
    public var epoch: Int?
    /// With k folds: the standard deviation over folds at that epoch (value is the mean).
    public var std: Double?

    public init(value: Double?, epoch: Int?, std: Double? = nil) {
      self.value = value
      self.epoch = epoch
      self.std = std
    }

    public func encode(to encoder: Encoder) throws {
      var c = encoder.container(keyedBy: CodingKeys.self)
      try c.encode(value, forKey: .value)
      try c.encode(epoch, forKey: .epoch)
      try c.encodeIfPresent(std, forKey: .std)
    }
  }

  public struct Trial: Codable, Sendable {
    public var rank: Int
    public var trial: Int64
    public var status: TrialState
    public var params: ConfigValue
    public var best: Best
    /// The metric at the epoch the trial reports as its result (absent while running).
    public var result: Best?
    public var epochs: Int
    public var seconds: Double
    /// An early stop's reason or a failure's error (absent when there is none).
    public var message: String?
    /// The trial's position in the sweep (0-based), its configuration (trials of one
    /// configuration differ only by seed) and its current attempt.
    public var index: Int?
    public var configuration: Int?
    public var attempt: Int?
    /// The trial's seed, as a string (a 64-bit seed does not survive a double-precision
    /// JSON reader as a number).
    public var seed: String?
  }

  public struct Group: Codable, Sendable {
    public var key: String
    public var value: ConfigValue
    public var trials: Int
    public var measured: Int
    public var best: Double?
    public var median: Double?
    public var mean: Double?
    public var std: Double?
    public var bestTrial: Int64?
    /// Against the best group: `{test: signed-rank|rank-sum, p, n}` (absent for the best
    /// group itself, or without enough values).
    public var comparison: Comparison?

    public struct Comparison: Codable, Sendable {
      public var test: String
      public var p: Double
      public var n: Int
    }

    enum CodingKeys: String, CodingKey {
      case key, value, trials, measured, best, median, mean, std, comparison
      case bestTrial = "best_trial"
    }

    public func encode(to encoder: Encoder) throws {
      var c = encoder.container(keyedBy: CodingKeys.self)
      try c.encode(key, forKey: .key)
      try c.encode(value, forKey: .value)
      try c.encode(trials, forKey: .trials)
      try c.encode(measured, forKey: .measured)
      try c.encode(best, forKey: .best)
      try c.encode(median, forKey: .median)
      try c.encode(mean, forKey: .mean)
      try c.encode(std, forKey: .std)
      try c.encode(bestTrial, forKey: .bestTrial)
      try c.encodeIfPresent(comparison, forKey: .comparison)
    }
  }

  public var sweep: String
  public var metric: SweepMetric
  /// The parameter names in the sweep's order (JSON objects do not keep an order).
  public var parameters: [String]?
  public var trials: [Trial]
  public var groups: [Group]?
  /// The final run of a sweep with held-out test rows (absent: none yet).
  public var selected: SelectedRun?

  /// The document of `board`: its best `top` trials (all when nil), and the statistics
  /// per value of `groupBy` over every trial.
  public init(_ board: Leaderboard, top: Int? = nil, groupBy: String? = nil) {
    let shown = board.ranked.prefix(max(top ?? board.ranked.count, 0))
    sweep = board.sweep
    metric = board.metric
    parameters = board.parameterNames
    trials = shown.enumerated().map { rank, trial in
      Trial(
        rank: rank + 1, trial: trial.trial, status: trial.status,
        params: .map(trial.params.map { ConfigValue.Entry(key: $0.0, value: $0.1) }),
        best: Best(value: trial.best, epoch: trial.bestEpoch, std: trial.bestDeviation),
        result: trial.resultEpoch.map { Best(value: trial.result, epoch: $0) }, epochs: trial.epochs,
        seconds: trial.seconds, message: trial.message, index: trial.index,
        configuration: trial.configuration,
        attempt: trial.attempt, seed: trial.seed.map(String.init))
    }
    selected = board.selected
    groups = groupBy.map { key in
      board.groups(by: key).map { group in
        Group(
          key: key, value: group.value, trials: group.count, measured: group.measured, best: group.best,
          median: group.median, mean: group.mean, std: group.standardDeviation,
          bestTrial: group.bestTrial?.trial,
          comparison: group.comparison.map { Group.Comparison(test: $0.test.rawValue, p: $0.p, n: $0.n) })
      }
    }
  }

  /// The document as JSON text, ending in a newline (what `--format json` prints).
  public var jsonText: String { String(decoding: DocumentJSON.encode(self), as: UTF8.self) + "\n" }
}

extension Leaderboard {
  /// Reads a leaderboard back from its JSON (what a client receives from the coordinator).
  /// Trials keep the document's order; their `index` is their rank − 1.
  public init(json: [UInt8]) throws {
    self.init(document: try DocumentJSON.decode(LeaderboardDocument.self, from: json))
  }

  public init(document: LeaderboardDocument) {
    let order = Dictionary(
      (document.parameters ?? []).enumerated().map { ($1, $0) }, uniquingKeysWith: { first, _ in first })
    let trials = document.trials.map { trial in
      var params: [(String, ConfigValue)] = []
      if case .map(let entries) = trial.params { params = entries.map { ($0.key, $0.value) } }
      params.sort { (order[$0.0] ?? Int.max, $0.0) < (order[$1.0] ?? Int.max, $1.0) }
      var summary = TrialSummary(
        trial: trial.trial, index: trial.index ?? trial.rank - 1, configuration: trial.configuration ?? 0,
        status: trial.status, params: params,
        best: trial.best.value, bestEpoch: trial.best.epoch, epochs: trial.epochs, seconds: trial.seconds,
        message: trial.message, result: trial.result?.value, resultEpoch: trial.result?.epoch,
        attempt: trial.attempt, seed: trial.seed.flatMap { UInt64($0) })
      summary.bestDeviation = trial.best.std
      return summary
    }
    self.init(sweep: document.sweep, metric: document.metric, trials: trials)
    selected = document.selected
  }
}
