import Stopping
import Training
import Vocabulary

/// A validated sweep: how to search, what to optimize, the base trial and the parameters to
/// vary. Parse one with `SweepConfig.parse(text:file:)`.
public struct SweepSpec: Sendable {
  public enum Method: String, CaseIterable, Sendable, Codable {
    case grid, random, sobol, tpe
  }

  public typealias Goal = Vocabulary.Goal

  public typealias Metric = SweepMetric

  /// A swept setting: a dotted path (`model.hidden`), `optimizer`, or a bare optimizer
  /// hyperparameter (`lr`).
  public struct Parameter: Sendable {
    public var path: String
    public var distribution: Distribution
    public var location: SourceLocation
    /// For a leaf of W&B's nested parameters (`optimizer: {parameters: {lr: …}}`), the keys
    /// from the top (`["optimizer", "lr"]`); `path` is them joined with `.`, as leaderboards
    /// show it. nil: a parameter of its own, whose name is `path` (dots and all).
    public var nesting: [String]? = nil

    /// Where the value goes in the trial's parameters: the nesting keys, or the name.
    public var keys: [String] { nesting ?? [path] }

    /// Whether the path names an optimizer hyperparameter (bare name; `optimizer` and
    /// `seed`, the trial's seed, are not).
    public var isHyperparameter: Bool { !path.contains(".") && path != "optimizer" && path != "seed" }
  }

  /// Early termination, validated here and acted on by the coordinator.
  public typealias EarlyTermination = Stopping.EarlyTermination

  public var file: String
  public var name: String?
  public var description: String?
  public var method: Method
  /// The config's own word for the method (`bayes` is TPE).
  public var methodName: String
  public var metric: Metric
  /// `metric.target`: once any trial's metric reaches it (≤ when minimizing, ≥ when
  /// maximizing), the sweep creates no more trials; pending ones are cancelled and running
  /// ones finish (W&B's meaning). nil: none.
  public var target: Double? = nil
  /// `metric.impute` (default worst): what a failed trial counts as for TPE.
  public var impute = TPESampler.Impute.worst
  /// `metric.impute_while_running`: TPE also sees running trials, each with its best value
  /// so far (or, having reported none, the worst); nil (W&B's `false`, the default): only
  /// finished trials.
  public var imputeWhileRunning: TPESampler.Impute? = nil
  public var runCap: Int?
  public var seed: UInt64
  public var repeats: Int
  /// `repeats: {count: N, seeds: shared}`: repeat r of every configuration trains with the
  /// same seed (the same initial weights for one architecture, the same shuffles), so
  /// configurations compare pairwise; false (`independent`, the default): each trial its own.
  public var sharedSeeds = false
  public var maxAttempts: Int
  public var earlyTerminate: EarlyTermination?
  /// The trial every parameter assignment starts from: `data`, `model`, `optimizer`,
  /// `schedule`, `training`.
  public var base: ConfigValue
  public var parameters: [Parameter]
  /// Keys accepted for W&B compatibility but without effect here.
  public var warnings: [ConfigIssue]
  /// Deterministic mode (`deterministic: true` or `{lag: L}`): trial k is created only once
  /// every trial with index < k − L has finished, and every adaptive decision about it (its
  /// TPE suggestion, the stopping rule) sees exactly those trials' results. nil: decisions
  /// use whatever has arrived (faster, timing-dependent).
  public var deterministicLag: Int? = nil
  /// The user's program, for a program sweep (a config with `program` or `command`); nil
  /// for a sweep of the built-in trainer.
  public var program: ProgramSetup? = nil
  /// SHA-256 of the program's code snapshot, once the submitting client has uploaded it.
  public var codeDigest: String? = nil
  /// The key under which a submission's digests (path → SHA-256, as stored with the sweep)
  /// name the code snapshot: not a path any data file has.
  public static let codeDigestKey = "@code"
  /// SHA-256 per data file path, for files the submitting client uploaded to the
  /// coordinator (empty for a config read where its files are).
  public var dataDigests: [String: String] = [:]

  /// Every data file a trial of this sweep may read: the base `data.path`, `data.images`,
  /// `data.labels`, the test files (`data.test_path`, …), and the values of parameters that sweep them. Built-in data sets name
  /// no file.
  public var dataFiles: [String] {
    var files: [String] = []
    // A program's parameters are its own words: `data.path` is a value, not a file to send.
    guard program == nil else { return files }
    if case .map(let data)? = base["data"] {
      for entry in data where DataSpec.fileKeys.contains(entry.key) {
        if case .string(let path) = entry.value, !files.contains(path) { files.append(path) }
      }
    }
    for parameter in parameters where DataSpec.fileKeys.map({ "data." + $0 }).contains(parameter.path) {
      var values: [ConfigValue] = []
      switch parameter.distribution {
      case .constant(let value): values = [value]
      case .categorical(let choices, _): values = choices
      default: break
      }
      for case .string(let path) in values where !files.contains(path) { files.append(path) }
    }
    return files
  }

  /// The step count of a program sweep's trials (not known in advance).
  public static let unknownSteps = 1 << 30

  /// The lag of `deterministic: true`.
  public static let defaultDeterministicLag = 8

  /// The optimizers trials may use: the swept `optimizer` values, or the base optimizer.
  public var candidateOptimizers: [String] {
    if let swept = parameters.first(where: { $0.path == "optimizer" }) {
      switch swept.distribution {
      case .constant(let value): return [value.description]
      case .categorical(let values, _): return values.map(\.description)
      default: return []
      }
    }
    if case .string(let name)? = base["optimizer"]?["name"] { return [name] }
    return [TrialSpec().optimizer.name]
  }

  /// Whether the trials hold out test rows (`data.test`, `test_path`, `test_images`): the
  /// sweep then ends with a final run that tests its selected configuration.
  public var testsSelection: Bool {
    guard program == nil, case .map(let data)? = base["data"] else { return false }
    return data.contains { ["test", "test_path", "test_images", "test_labels"].contains($0.key) }
  }

  /// The epochs a trial runs: the most a swept `training.epochs` allows, else the base
  /// `training.epochs`, else the trial default (30). ASHA's `max_epochs` defaults to it.
  public var trialEpochs: Int {
    // A program's steps are not known in advance: rules that need a last step get none.
    if program != nil { return Self.unknownSteps }
    if let swept = parameters.first(where: { $0.path == "training.epochs" }) {
      switch swept.distribution {
      case .constant(let value): if let epochs = Self.count(value.number) { return epochs }
      case .categorical(let values, _):
        if let most = Self.count(values.compactMap(\.number).max()) { return most }
      case .intUniform(_, let max): return max
      default: break
      }
    }
    // A value no trial can take (past Int, fractional, negative) is refused by the trial's
    // own checks; here it only must not trap.
    if let epochs = Self.count(base["training"]?["epochs"]?.number) { return epochs }
    return TrialSpec().epochs
  }

  /// `value` as a whole number ≥ 0, if it is one that fits an `Int`.
  static func count(_ value: Double?) -> Int? {
    guard let value, value >= 0, let whole = Int(exactly: value) else { return nil }
    return whole
  }
}
