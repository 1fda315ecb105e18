import Vocabulary

#if canImport(Glibc)
  import Glibc
#else
  import Foundation
#endif

/// A learning-rate schedule over epochs. Config key `schedule`; `kind` picks the rule and
/// the other keys are its settings. The schedule yields a multiplier on the optimizer's
/// learning rate (for hypergradient optimizers, on the adapted rate), updated at each
/// epoch boundary. e is the number of completed epochs, α₀ the optimizer's `lr`.
///
/// | kind | α at epoch e | settings (defaults) |
/// |---|---|---|
/// | `constant` | α₀ | — |
/// | `inverse_time` | α₀ / (1 + decay·e) | decay 1 |
/// | `step` | α₀ · γ^⌊e/step_size⌋ | step_size 10, gamma 0.1 |
/// | `exponential` | α₀ · γ^e | gamma 0.95 |
/// | `cosine` | η_min + (α₀ − η_min)(1 + cos(π·e/T))/2 (SGDR, Loshchilov & Hutter 2017, without restarts) | t_max = epochs, eta_min 0 |
/// | `reduce_on_plateau` | PyTorch `ReduceLROnPlateau` on the validation loss | factor 0.1, patience 10, threshold 1e-4, threshold_mode rel, cooldown 0, min_lr 0, eps 1e-8, mode min |
public struct ScheduleSpec: Hashable, Sendable, Codable {
  public enum Kind: String, CaseIterable, Codable, Sendable {
    case constant
    case inverseTime = "inverse_time"
    case step, exponential, cosine
    case reduceOnPlateau = "reduce_on_plateau"

    var settings: [String] {
      switch self {
      case .constant: return []
      case .inverseTime: return ["decay"]
      case .step: return ["step_size", "gamma"]
      case .exponential: return ["gamma"]
      case .cosine: return ["t_max", "eta_min"]
      case .reduceOnPlateau:
        return ["factor", "patience", "threshold", "threshold_mode", "cooldown", "min_lr", "eps", "mode"]
      }
    }
  }

  public var kind: Kind
  public var settings: [String: HyperparameterValue]

  public init(kind: Kind = .constant, settings: [String: HyperparameterValue] = [:]) {
    self.kind = kind
    self.settings = settings
  }

  public static let constant = ScheduleSpec()

  struct Key: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
  }

  public init(from decoder: Decoder) throws {
    let container = try decoder.container(keyedBy: Key.self)
    let kindName = try container.decode(String.self, forKey: Key(stringValue: "kind"))
    guard let kind = Kind(rawValue: kindName) else {
      let hint =
        closestMatch(to: kindName, among: Kind.allCases.map(\.rawValue)).map { " (did you mean '\($0)'?)" }
        ?? ""
      throw DecodingError.dataCorruptedError(
        forKey: Key(stringValue: "kind"), in: container,
        debugDescription:
          "unknown schedule '\(kindName)'\(hint); known: \(Kind.allCases.map(\.rawValue).joined(separator: ", "))"
      )
    }
    var settings: [String: HyperparameterValue] = [:]
    for key in container.allKeys where key.stringValue != "kind" {
      settings[key.stringValue] = try container.decode(HyperparameterValue.self, forKey: key)
    }
    self.init(kind: kind, settings: settings)
    if let problem = problems().first {
      throw DecodingError.dataCorrupted(
        DecodingError.Context(codingPath: decoder.codingPath, debugDescription: problem))
    }
  }

  public func encode(to encoder: Encoder) throws {
    var container = encoder.container(keyedBy: Key.self)
    try container.encode(kind.rawValue, forKey: Key(stringValue: "kind"))
    for (key, value) in settings { try container.encode(value, forKey: Key(stringValue: key)) }
  }

  /// Problems with the settings, each naming its key.
  public func problems() -> [String] {
    var problems: [String] = []
    let unknown = settings.keys.filter { !kind.settings.contains($0) }.sorted()
    for key in unknown {
      let hint = closestMatch(to: key, among: kind.settings).map { " (did you mean '\($0)'?)" } ?? ""
      problems.append(
        "schedule '\(kind.rawValue)' has no setting '\(key)'\(hint); it accepts: \(kind.settings.isEmpty ? "none" : kind.settings.joined(separator: ", "))"
      )
    }
    func check(_ key: String, _ valid: (Double) -> Bool, _ expected: String) {
      guard let value = settings[key] else { return }
      guard case .number(let x) = value, x.isFinite, valid(x) else {
        problems.append("schedule.\(key) = \(value): expected \(expected)")
        return
      }
    }
    check("decay", { $0 >= 0 }, "a number ≥ 0")
    check("step_size", { $0 >= 1 && $0 == $0.rounded() }, "a whole number ≥ 1")
    check("gamma", { $0 > 0 && $0 <= 1 }, "a number in (0, 1]")
    check("t_max", { $0 >= 1 && $0 == $0.rounded() }, "a whole number ≥ 1")
    check("eta_min", { $0 >= 0 }, "a number ≥ 0")
    check("factor", { $0 > 0 && $0 < 1 }, "a number in (0, 1)")
    check("patience", { $0 >= 0 && $0 == $0.rounded() }, "a whole number ≥ 0")
    check("threshold", { $0 >= 0 }, "a number ≥ 0")
    check("cooldown", { $0 >= 0 && $0 == $0.rounded() }, "a whole number ≥ 0")
    check("min_lr", { $0 >= 0 }, "a number ≥ 0")
    check("eps", { $0 >= 0 }, "a number ≥ 0")
    for (key, words) in [("threshold_mode", ["rel", "abs"]), ("mode", ["min", "max"])] {
      if let value = settings[key], !(words.map { HyperparameterValue.word($0) }.contains(value)) {
        problems.append("schedule.\(key) = \(value): expected one of \(words.joined(separator: ", "))")
      }
    }
    return problems
  }

  func number(_ key: String, _ fallback: Double) -> Double {
    if case .number(let x) = settings[key] { return x }
    return fallback
  }

  func word(_ key: String, _ fallback: String) -> String {
    if case .word(let x) = settings[key] { return x }
    return fallback
  }
}

/// The running schedule of one trial.
public struct LearningRateSchedule: Sendable {
  public let spec: ScheduleSpec
  public let baseLearningRate: Double
  public let epochs: Int
  /// The multiplier on the initial rate in force for the current epoch.
  public private(set) var multiplier: Double = 1
  /// The learning rate in force for the current epoch, absolute: computed as the schedule
  /// defines it (PyTorch's formula for `cosine` and `reduce_on_plateau`; base × multiplier
  /// for the closed forms), never recovered from the multiplier.
  public private(set) var rate: Double

  /// What the optimizer steps with this epoch.
  public var scheduled: ScheduledRate { ScheduledRate(learningRate: rate, scale: multiplier) }
  private var plateau: ReduceLROnPlateau?

  public init(spec: ScheduleSpec, baseLearningRate: Double, epochs: Int) {
    self.spec = spec
    self.baseLearningRate = baseLearningRate
    self.epochs = epochs
    rate = baseLearningRate
    if spec.kind == .reduceOnPlateau {
      plateau = ReduceLROnPlateau(
        learningRate: baseLearningRate, factor: spec.number("factor", 0.1),
        patience: Int(spec.number("patience", 10)), threshold: spec.number("threshold", 1e-4),
        relativeThreshold: spec.word("threshold_mode", "rel") == "rel",
        cooldown: Int(spec.number("cooldown", 0)),
        minimumLearningRate: spec.number("min_lr", 0), epsilon: spec.number("eps", 1e-8),
        maximize: spec.word("mode", "min") == "max")
    }
  }

  /// Moves to the epoch after `completedEpochs` epochs, given the monitored validation
  /// value of the epoch just finished (used by `reduce_on_plateau`).
  public mutating func advance(completedEpochs e: Int, monitored: Double) {
    let x = Double(e)
    switch spec.kind {
    case .constant: multiplier = 1
    case .inverseTime: multiplier = 1 / (1 + spec.number("decay", 1) * x)
    case .step: multiplier = pow(spec.number("gamma", 0.1), (x / spec.number("step_size", 10)).rounded(.down))
    case .exponential: multiplier = pow(spec.number("gamma", 0.95), x)
    case .cosine:
      let period = spec.number("t_max", Double(epochs))
      let floor = spec.number("eta_min", 0)
      rate = floor + (baseLearningRate - floor) * (1 + cos(Double.pi * Swift.min(x, period) / period)) / 2
      multiplier = rate / baseLearningRate
      return
    case .reduceOnPlateau:
      plateau!.step(monitored)
      rate = plateau!.learningRate
      multiplier = rate / baseLearningRate
      return
    }
    rate = baseLearningRate * multiplier
  }
}

/// PyTorch's `ReduceLROnPlateau` (torch/optim/lr_scheduler.py), for one parameter group:
///
/// ```
/// better(a, best):  min/rel a < best·(1 − θ)   min/abs a < best − θ   (max: mirrored)
/// step(a): if better: best ← a; bad ← 0 else bad ← bad + 1
///          if cooling: cooldown_left −= 1; bad ← 0
///          if bad > patience: new ← max(lr·factor, min_lr); if lr − new > eps: lr ← new
///                             cooldown_left ← cooldown; bad ← 0
/// ```
/// It reduces on the (patience + 1)-th bad epoch; `best` is not reset after a reduction.
public struct ReduceLROnPlateau: Sendable, Equatable {
  public private(set) var learningRate: Double
  public let factor: Double
  public let patience: Int
  public let threshold: Double
  public let relativeThreshold: Bool
  public let cooldown: Int
  public let minimumLearningRate: Double
  public let epsilon: Double
  public let maximize: Bool
  public private(set) var best: Double
  public private(set) var badEpochs = 0
  private var cooldownLeft = 0

  public init(
    learningRate: Double, factor: Double = 0.1, patience: Int = 10, threshold: Double = 1e-4,
    relativeThreshold: Bool = true, cooldown: Int = 0, minimumLearningRate: Double = 0,
    epsilon: Double = 1e-8, maximize: Bool = false
  ) {
    self.learningRate = learningRate
    self.factor = factor
    self.patience = patience
    self.threshold = threshold
    self.relativeThreshold = relativeThreshold
    self.cooldown = cooldown
    self.minimumLearningRate = minimumLearningRate
    self.epsilon = epsilon
    self.maximize = maximize
    best = maximize ? -.infinity : .infinity
  }

  func isBetter(_ a: Double) -> Bool {
    switch (maximize, relativeThreshold) {
    case (false, true): return a < best * (1 - threshold)
    case (false, false): return a < best - threshold
    case (true, true): return a > best * (1 + threshold)
    case (true, false): return a > best + threshold
    }
  }

  public mutating func step(_ metric: Double) {
    if isBetter(metric) {
      best = metric
      badEpochs = 0
    } else {
      badEpochs += 1
    }
    if cooldownLeft > 0 {
      cooldownLeft -= 1
      badEpochs = 0
    }
    if badEpochs > patience {
      let reduced = Swift.max(learningRate * factor, minimumLearningRate)
      if learningRate - reduced > epsilon { learningRate = reduced }
      cooldownLeft = cooldown
      badEpochs = 0
    }
  }
}
