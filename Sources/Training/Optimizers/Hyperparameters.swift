import Vocabulary

/// A hyperparameter value as it appears in a config: a number, a flag or a word.
public enum HyperparameterValue: Hashable, Sendable, Codable, CustomStringConvertible {
  case number(Double)
  case flag(Bool)
  case word(String)

  public init(from decoder: Decoder) throws {
    let container = try decoder.singleValueContainer()
    if let flag = try? container.decode(Bool.self) {
      self = .flag(flag)
    } else if let number = try? container.decode(Double.self) {
      self = .number(number)
    } else {
      self = .word(try container.decode(String.self))
    }
  }

  public func encode(to encoder: Encoder) throws {
    var container = encoder.singleValueContainer()
    switch self {
    case .number(let value): try container.encode(value)
    case .flag(let value): try container.encode(value)
    case .word(let value): try container.encode(value)
    }
  }

  /// Parses a command-line value: `true`/`false`, a number, or else a word.
  public init(parsing text: String) {
    switch text.lowercased() {
    case "true": self = .flag(true)
    case "false": self = .flag(false)
    default:
      if let number = Double(text) { self = .number(number) } else { self = .word(text) }
    }
  }

  public var description: String {
    switch self {
    case .number(let value): return formatNumber(value)
    case .flag(let value): return String(value)
    case .word(let value): return value
    }
  }
}

/// The kind and allowed range of one hyperparameter.
public enum HyperparameterKind: Hashable, Sendable {
  /// A real number in `range`; `openLower`/`openUpper` exclude the end points.
  case real(lower: Double, upper: Double, openLower: Bool, openUpper: Bool)
  case flag
  case choice([String])

  static let positive = HyperparameterKind.real(
    lower: 0, upper: .infinity, openLower: true, openUpper: true)
  static let nonNegative = HyperparameterKind.real(
    lower: 0, upper: .infinity, openLower: false, openUpper: true)
  static let unitInterval = HyperparameterKind.real(
    lower: 0, upper: 1, openLower: false, openUpper: true)
  static let anyReal = HyperparameterKind.real(
    lower: -.infinity, upper: .infinity, openLower: true, openUpper: true)

  var allowedText: String {
    switch self {
    case .real(let lower, let upper, let openLower, let openUpper):
      if lower == -.infinity && upper == .infinity { return "any finite number" }
      if upper == .infinity {
        return openLower ? "a number > \(formatNumber(lower))" : "a number ≥ \(formatNumber(lower))"
      }
      return
        "a number in \(openLower ? "(" : "[")\(formatNumber(lower)), \(formatNumber(upper))\(openUpper ? ")" : "]")"
    case .flag: return "true or false"
    case .choice(let words): return "one of " + words.joined(separator: ", ")
    }
  }

  func accepts(_ value: HyperparameterValue) -> Bool {
    switch (self, value) {
    case (.real(let lower, let upper, let openLower, let openUpper), .number(let x)):
      guard x.isFinite else { return false }
      let aboveLower = openLower ? x > lower : x >= lower
      let belowUpper = openUpper ? x < upper : x <= upper
      return aboveLower && belowUpper
    case (.flag, .flag): return true
    case (.choice(let words), .word(let word)): return words.contains(word)
    default: return false
    }
  }
}

/// One hyperparameter an optimizer accepts, with its default.
public struct HyperparameterDefinition: Hashable, Sendable {
  public var name: String
  public var kind: HyperparameterKind
  public var defaultValue: HyperparameterValue
  public var summary: String

  init(_ name: String, _ kind: HyperparameterKind, _ defaultValue: HyperparameterValue, _ summary: String) {
    self.name = name
    self.kind = kind
    self.defaultValue = defaultValue
    self.summary = summary
  }
}

/// A hyperparameter error, naming the optimizer, the key and what is allowed.
public enum HyperparameterError: Error, Equatable, CustomStringConvertible {
  case unknownOptimizer(String, suggestion: String?)
  case unknownHyperparameters(optimizer: String, names: [String], allowed: [String])
  case invalidValue(optimizer: String, name: String, value: HyperparameterValue, allowed: String)
  case inconsistent(optimizer: String, message: String)

  public var description: String {
    switch self {
    case .unknownOptimizer(let name, let suggestion):
      let hint = suggestion.map { " (did you mean '\($0)'?)" } ?? ""
      return "unknown optimizer '\(name)'\(hint); known: "
        + OptimizerKind.allCases.map(\.rawValue).joined(separator: ", ")
    case .unknownHyperparameters(let optimizer, let names, let allowed):
      let plural = names.count == 1 ? "hyperparameter" : "hyperparameters"
      let hints = names.compactMap { name in
        closestMatch(to: name, among: allowed).map { "'\(name)' → did you mean '\($0)'?" }
      }
      return "optimizer '\(optimizer)' does not accept the \(plural) "
        + names.map { "'\($0)'" }.joined(separator: ", ")
        + (hints.isEmpty ? "" : " (" + hints.joined(separator: "; ") + ")")
        + "; it accepts: " + allowed.joined(separator: ", ")
    case .invalidValue(let optimizer, let name, let value, let allowed):
      return "optimizer '\(optimizer)': \(name) = \(value) is not allowed; expected \(allowed)"
    case .inconsistent(let optimizer, let message):
      return "optimizer '\(optimizer)': \(message)"
    }
  }
}

/// An optimizer's hyperparameters after validation: every accepted name has a value
/// (the user's or the default), and nothing else is present.
public struct ResolvedHyperparameters: Hashable, Sendable {
  public private(set) var values: [String: HyperparameterValue]

  init(values: [String: HyperparameterValue]) { self.values = values }

  public func real(_ name: String) -> Double {
    guard case .number(let x) = values[name] else {
      preconditionFailure("hyperparameter \(name) is not a resolved number")
    }
    return x
  }

  public func flag(_ name: String) -> Bool {
    guard case .flag(let x) = values[name] else {
      preconditionFailure("hyperparameter \(name) is not a resolved flag")
    }
    return x
  }

  public func word(_ name: String) -> String {
    guard case .word(let x) = values[name] else {
      preconditionFailure("hyperparameter \(name) is not a resolved word")
    }
    return x
  }
}
