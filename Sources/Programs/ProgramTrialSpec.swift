import Foundation
import Vocabulary

/// Everything a worker needs to run one attempt of a program trial, as the coordinator
/// stores it and ASSIGN carries it (opaque JSON on the wire, like a built-in trial's spec).
/// `kind` is always `"program"`: it is how a worker tells this spec from a built-in one.
public struct ProgramTrialSpec: Hashable, Sendable, Codable {
  public var kind = "program"
  /// The config's `program` (nil when only `command` is given).
  public var program: String?
  /// The config's `command` (nil: W&B's default `[${env}, ${interpreter}, ${program}, ${args}]`).
  public var command: [String]?
  /// The trial's parameters in the sweep's order, values exactly as sampled.
  public var parameters: [Parameter]
  /// The metric the sweep ranks by (any name the program reports).
  public var metric: String
  /// Wall-clock limit per attempt (seconds); nil: none.
  public var maxSeconds: Double?
  /// Cores the trial takes on its worker (default 1).
  public var cores: Int
  /// GPUs the trial takes, exclusively (default 0).
  public var gpus: Int
  /// SHA-256 of the code snapshot (a tar archive in the content store); nil: the program
  /// runs in an empty directory.
  public var code: String?
  /// The trial's seed (the sweep's choice), given to the program as `SWEEPD_SEED`.
  public var seed: UInt64
  /// `wandb: real` in the config: the program imports W&B's own package, not sweepd's
  /// (absent: sweepd's, for Python programs).
  public var realWandb: Bool?

  public init(
    program: String?, command: [String]?, parameters: [(String, ConfigValue)], metric: String,
    maxSeconds: Double? = nil, cores: Int = 1, gpus: Int = 0, code: String? = nil, seed: UInt64 = 0,
    realWandb: Bool? = nil
  ) {
    self.realWandb = realWandb
    self.program = program
    self.command = command
    self.parameters = parameters.map { Parameter(name: $0.0, value: $0.1) }
    self.metric = metric
    self.maxSeconds = maxSeconds
    self.cores = cores
    self.gpus = gpus
    self.code = code
    self.seed = seed
  }

  /// The parameters as (name, value) pairs, in order.
  public var assignment: [(String, ConfigValue)] { parameters.map { ($0.name, $0.value) } }

  /// Whether JSON `bytes` (as the coordinator's encoder writes them, without spaces) hold a
  /// program spec rather than a built-in trial's: a byte search for `"kind":"program"`,
  /// which no built-in spec contains (its only `kind` is the model's: mlp, linear, …), so
  /// a built-in trial pays no decode for the question.
  public static func isProgram(_ bytes: [UInt8]) -> Bool {
    let needle = Array(#""kind":"program""#.utf8)
    guard bytes.count >= needle.count else { return false }
    var index = 0
    while index <= bytes.count - needle.count {
      if bytes[index] == needle[0] && Array(bytes[index..<index + needle.count]) == needle { return true }
      index += 1
    }
    return false
  }

  /// One parameter. Its value keeps its type on the wire (`1.0` stays a float, so Python's
  /// `str()` still writes `1.0`; plain JSON would turn it into `1`).
  public struct Parameter: Hashable, Sendable, Codable {
    public var name: String
    public var value: ConfigValue

    public init(name: String, value: ConfigValue) {
      self.name = name
      self.value = value
    }

    enum CodingKeys: String, CodingKey { case name, value }

    public init(from decoder: Decoder) throws {
      let container = try decoder.container(keyedBy: CodingKeys.self)
      name = try container.decode(String.self, forKey: .name)
      value = try container.decode(TypedValue.self, forKey: .value).value
    }

    public func encode(to encoder: Encoder) throws {
      var container = encoder.container(keyedBy: CodingKeys.self)
      try container.encode(name, forKey: .name)
      try container.encode(TypedValue(value), forKey: .value)
    }
  }
}

/// A config value with its type written down: `["f", 1.0]`, `["i", 1]`, `["s", "x"]`,
/// `["b", true]`, `["n"]`, `["l", [...]]`, `["m", [["k", v], ...]]`.
struct TypedValue: Codable {
  var value: ConfigValue

  init(_ value: ConfigValue) { self.value = value }

  init(from decoder: Decoder) throws {
    var container = try decoder.unkeyedContainer()
    let tag = try container.decode(String.self)
    switch tag {
    case "n": value = .null
    case "b": value = .bool(try container.decode(Bool.self))
    case "i": value = .int(try container.decode(Int.self))
    case "f": value = .double(try container.decode(Double.self))
    case "s": value = .string(try container.decode(String.self))
    case "l": value = .list(try container.decode([TypedValue].self).map(\.value))
    case "m":
      var entries: [ConfigValue.Entry] = []
      var pairs = try container.nestedUnkeyedContainer()
      while !pairs.isAtEnd {
        var pair = try pairs.nestedUnkeyedContainer()
        let key = try pair.decode(String.self)
        entries.append(ConfigValue.Entry(key: key, value: try pair.decode(TypedValue.self).value))
      }
      value = .map(entries)
    default:
      throw DecodingError.dataCorruptedError(
        in: container, debugDescription: "unknown value tag '\(tag)' (expected n, b, i, f, s, l or m)")
    }
  }

  func encode(to encoder: Encoder) throws {
    var container = encoder.unkeyedContainer()
    switch value {
    case .null: try container.encode("n")
    case .bool(let flag):
      try container.encode("b")
      try container.encode(flag)
    case .int(let number):
      try container.encode("i")
      try container.encode(number)
    case .double(let number):
      try container.encode("f")
      try container.encode(number)
    case .string(let text):
      try container.encode("s")
      try container.encode(text)
    case .list(let items):
      try container.encode("l")
      try container.encode(items.map(TypedValue.init))
    case .map(let entries):
      try container.encode("m")
      var pairs = container.nestedUnkeyedContainer()
      for entry in entries {
        var pair = pairs.nestedUnkeyedContainer()
        try pair.encode(entry.key)
        try pair.encode(TypedValue(entry.value))
      }
    }
  }
}
