import Foundation
import GRDB
import Vocabulary

/// A sweep as stored: its config text (the source of truth, re-parsed on recovery) and state.
public struct SweepRecord: Codable, Hashable, Sendable, FetchableRecord, PersistableRecord {
  public static let databaseTableName = "sweep"

  /// `running → completed | failed | cancelled`. A sweep is `failed` when it ended with
  /// every trial failed (nothing was learned; the trials' messages say why).
  public enum State: String, Codable, Sendable, DatabaseValueConvertible {
    /// `paused` (`sweepd pause`): live, but no trial starts until `sweepd resume`.
    case running, paused, completed, failed, cancelled

    /// Running or paused: the coordinator holds it and it may still run trials.
    public var isLive: Bool { self == .running || self == .paused }
  }

  public var id: String
  public var name: String?
  public var file: String
  public var configText: String
  public var method: String
  public var metricName: String
  public var metricGoal: String
  /// The sweep seed's bits (SQLite integers are signed).
  public var seedBits: Int64
  public var state: State
  /// Unix time, seconds.
  public var createdAt: Double
  /// The uploaded data files its config names, as a JSON object path → SHA-256 (nil: none).
  public var dataDigests: String?
  /// A run_cap set after submission (`sweepd extend`), which replaces the config's.
  public var runCap: Int?

  public init(
    id: String, name: String?, file: String, configText: String, method: String, metricName: String,
    metricGoal: String, seed: UInt64, state: State = .running, createdAt: Double, dataDigests: String? = nil
  ) {
    self.dataDigests = dataDigests
    self.id = id
    self.name = name
    self.file = file
    self.configText = configText
    self.method = method
    self.metricName = metricName
    self.metricGoal = metricGoal
    self.seedBits = Int64(bitPattern: seed)
    self.state = state
    self.createdAt = createdAt
  }

  public var seed: UInt64 { UInt64(bitPattern: seedBits) }

  /// `dataDigests` decoded (empty when none or unreadable).
  public var digests: [String: String] {
    guard let dataDigests, let data = dataDigests.data(using: .utf8),
      let map = try? JSONDecoder().decode([String: String].self, from: data)
    else { return [:] }
    return map
  }
}

/// A trial as stored: what it runs (the spec and the parameter values it used, as JSON),
/// where it stands, and its best result so far.
public struct TrialRecord: Codable, Hashable, Sendable, FetchableRecord, MutablePersistableRecord {
  public static let databaseTableName = "trial"

  /// `pending → running → completed | early_stopped | diverged | failed | cancelled`; a lost
  /// attempt returns to `pending` with attempt + 1. The project's one trial-state type.
  public typealias State = TrialState

  public var id: Int64?
  public var sweepID: String
  /// Position in the sweep (0-based), its configuration and repeat.
  public var index: Int
  public var configuration: Int
  public var repeatIndex: Int
  public var seedBits: Int64
  /// JSON: the parameter values the trial used, the sampler's quantile point, the spec.
  public var params: String
  public var point: String
  public var spec: String
  public var state: State
  /// The current attempt (0 before the first assignment).
  public var attempt: Int
  public var worker: String?
  public var bestValue: Double?
  public var bestEpoch: Int?
  /// What the trial reports as its result: the metric at its last epoch, or at its best
  /// epoch when its stopping policy restores the best (plateau's `restore_best`).
  public var resultValue: Double?
  public var resultEpoch: Int?
  public var epochs: Int
  public var seconds: Double
  public var message: String?
  public var updatedAt: Double
  /// Nil for the search's trials; `refit` for the run that trains the selected
  /// configuration again when the search has ended and tests it on the held-out rows.
  public var role: Role?

  /// The index a sweep's final run takes, −1 − its selected trial's (the store keeps one
  /// trial per sweep and index), and back.
  public static func finalRunIndex(of selected: Int) -> Int { -1 - selected }
  public var selectedIndex: Int? { role == .refit ? -1 - index : nil }

  /// What a trial is for, besides the search.
  public enum Role: String, Codable, Hashable, Sendable, DatabaseValueConvertible {
    case refit
  }

  public init(
    sweepID: String, index: Int, configuration: Int, repeatIndex: Int, seed: UInt64, params: String,
    point: String,
    spec: String, updatedAt: Double
  ) {
    self.id = nil
    self.sweepID = sweepID
    self.index = index
    self.configuration = configuration
    self.repeatIndex = repeatIndex
    self.seedBits = Int64(bitPattern: seed)
    self.params = params
    self.point = point
    self.spec = spec
    self.state = .pending
    self.attempt = 0
    self.worker = nil
    self.bestValue = nil
    self.bestEpoch = nil
    self.resultValue = nil
    self.resultEpoch = nil
    self.epochs = 0
    self.seconds = 0
    self.message = nil
    self.updatedAt = updatedAt
    self.role = nil
  }

  public var seed: UInt64 { UInt64(bitPattern: seedBits) }

  public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }
}

/// One epoch of one attempt of a trial (metrics as a JSON object).
public struct MetricRecord: Codable, Hashable, Sendable, FetchableRecord, PersistableRecord {
  public static let databaseTableName = "metric"

  public var trialID: Int64
  public var attempt: Int
  public var epoch: Int
  public var values: String

  public init(trialID: Int64, attempt: Int, epoch: Int, values: String) {
    self.trialID = trialID
    self.attempt = attempt
    self.epoch = epoch
    self.values = values
  }
}

/// A piece of a program trial's output (one LOG message), kept in arrival order; the store
/// keeps the last `Store.logBytesKept` bytes of each attempt's stream.
public struct LogRecord: Codable, Hashable, Sendable, FetchableRecord, MutablePersistableRecord {
  public static let databaseTableName = "log"

  public var id: Int64?
  public var trialID: Int64
  public var attempt: Int
  /// stdout or stderr.
  public var stream: String
  public var text: String
  public var bytes: Int

  public init(trialID: Int64, attempt: Int, stream: String, text: String) {
    self.trialID = trialID
    self.attempt = attempt
    self.stream = stream
    self.text = text
    bytes = text.utf8.count
  }

  public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }
}

/// Something that happened, for `sweepd status` and post-mortems.
public struct EventRecord: Codable, Hashable, Sendable, FetchableRecord, MutablePersistableRecord {
  public static let databaseTableName = "event"

  public var id: Int64?
  public var time: Double
  public var sweepID: String?
  public var trialID: Int64?
  public var kind: String
  public var detail: String

  public init(time: Double, sweepID: String?, trialID: Int64?, kind: String, detail: String) {
    self.id = nil
    self.time = time
    self.sweepID = sweepID
    self.trialID = trialID
    self.kind = kind
    self.detail = detail
  }

  public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }
}

extension TrialState: DatabaseValueConvertible {}

extension SweepRecord {
  /// The sweep's metric and goal (as stored: a goal that is not "maximize" minimizes).
  public var metric: SweepMetric {
    SweepMetric(name: MetricName(metricName), goal: Goal(rawValue: metricGoal) ?? .minimize)
  }
}
