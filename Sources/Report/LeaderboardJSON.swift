import Foundation
import Search

/// The leaderboard's JSON document (`sweepd leaderboard --format json`, and what the
/// coordinator sends a client), as Codable value types: one definition for writing and
/// reading, so the two cannot drift. Keys are sorted; a non-finite number is the string
/// "nan", "inf" or "-inf". See docs/leaderboard.md.
struct LeaderboardDocument: Codable {
  struct Metric: Codable {
    var name: String
    var goal: String
  }

  struct Best: Codable {
    var value: Double?
    var epoch: Int?

    func encode(to encoder: Encoder) throws {
      var c = encoder.container(keyedBy: CodingKeys.self)
      try c.encode(value, forKey: .value)
      try c.encode(epoch, forKey: .epoch)
    }
  }

  struct Trial: Codable {
    var rank: Int
    var trial: Int64
    var status: String
    var params: ConfigValue
    var best: Best
    /// The metric at the epoch the trial reports as its result (absent while running).
    var result: Best?
    var epochs: Int
    var seconds: Double
    /// An early stop's reason or a failure's error (absent when there is none).
    var message: String?
  }

  struct Group: Codable {
    var key: String
    var value: ConfigValue
    var trials: Int
    var measured: Int
    var best: Double?
    var median: Double?
    var mean: Double?
    var std: Double?
    var bestTrial: Int64?

    enum CodingKeys: String, CodingKey {
      case key, value, trials, measured, best, median, mean, std
      case bestTrial = "best_trial"
    }

    func encode(to encoder: Encoder) throws {
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
    }
  }

  var sweep: String
  var metric: Metric
  /// The parameter names in the sweep's order (JSON objects do not keep an order).
  var parameters: [String]?
  var trials: [Trial]
  var groups: [Group]?

}

/// The JSON conventions of every document `Report` writes: sorted keys, non-finite numbers
/// as the strings "nan", "inf" and "-inf".
enum ReportJSON {
  static func encoder() -> JSONEncoder {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    encoder.nonConformingFloatEncodingStrategy = .convertToString(
      positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
    return encoder
  }

  static func decoder() -> JSONDecoder {
    let decoder = JSONDecoder()
    decoder.nonConformingFloatDecodingStrategy = .convertFromString(
      positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
    return decoder
  }
}

extension Leaderboard {
  func json(_ shown: [TrialSummary], groupBy: String?) -> String {
    let document = LeaderboardDocument(
      sweep: sweep, metric: .init(name: metric.name, goal: metric.goal.rawValue), parameters: parameterNames,
      trials: shown.enumerated().map { rank, trial in
        LeaderboardDocument.Trial(
          rank: rank + 1, trial: trial.trial, status: trial.status,
          params: .map(trial.params.map { ConfigValue.Entry(key: $0.0, value: $0.1) }),
          best: .init(value: trial.best, epoch: trial.bestEpoch),
          result: trial.resultEpoch.map { .init(value: trial.result, epoch: $0) }, epochs: trial.epochs,
          seconds: trial.seconds,
          message: trial.message)
      },
      groups: groupBy.map { key in
        groups(by: key).map { group in
          LeaderboardDocument.Group(
            key: key, value: group.value, trials: group.count, measured: group.measured, best: group.best,
            median: group.median, mean: group.mean, std: group.standardDeviation,
            bestTrial: group.bestTrial?.trial)
        }
      })
    // Encoding these value types cannot fail (non-finite numbers become strings).
    let data = try! ReportJSON.encoder().encode(document)
    return String(decoding: data, as: UTF8.self) + "\n"
  }

  /// Reads a leaderboard back from its JSON (what a client receives from the coordinator).
  /// Trials keep the document's order; their `index` is their rank − 1.
  public init(json: [UInt8]) throws {
    self.init(document: try ReportJSON.decoder().decode(LeaderboardDocument.self, from: Data(json)))
  }

  init(document: LeaderboardDocument) {
    let order = Dictionary(
      (document.parameters ?? []).enumerated().map { ($1, $0) }, uniquingKeysWith: { first, _ in first })
    let trials = document.trials.map { trial in
      var params: [(String, ConfigValue)] = []
      if case .map(let entries) = trial.params { params = entries.map { ($0.key, $0.value) } }
      params.sort { (order[$0.0] ?? Int.max, $0.0) < (order[$1.0] ?? Int.max, $1.0) }
      return TrialSummary(
        trial: trial.trial, index: trial.rank - 1, configuration: 0, status: trial.status, params: params,
        best: trial.best.value, bestEpoch: trial.best.epoch, epochs: trial.epochs, seconds: trial.seconds,
        message: trial.message, result: trial.result?.value, resultEpoch: trial.result?.epoch)
    }
    self.init(
      sweep: document.sweep,
      metric: SweepSpec.Metric(
        name: document.metric.name, goal: SweepSpec.Goal(rawValue: document.metric.goal) ?? .minimize),
      trials: trials)
  }
}
