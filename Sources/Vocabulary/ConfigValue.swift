import Foundation

/// A config value without locations: what a parameter takes and what a trial records.
public indirect enum ConfigValue: Hashable, Sendable, Codable, CustomStringConvertible {
  public struct Entry: Hashable, Sendable {
    public var key: String
    public var value: ConfigValue

    public init(key: String, value: ConfigValue) {
      self.key = key
      self.value = value
    }
  }

  case null
  case bool(Bool)
  case int(Int)
  case double(Double)
  case string(String)
  case list([ConfigValue])
  case map([Entry])

  public var number: Double? {
    switch self {
    case .int(let x): return Double(x)
    case .double(let x): return x
    default: return nil
    }
  }

  public var description: String {
    switch self {
    case .null: return "null"
    case .bool(let b): return String(b)
    case .int(let i): return String(i)
    case .double(let d): return formatNumber(d)
    case .string(let s): return s
    case .list(let items): return "[" + items.map(\.description).joined(separator: ", ") + "]"
    case .map(let entries):
      return "{" + entries.map { "\($0.key): \($0.value)" }.joined(separator: ", ") + "}"
    }
  }

  public init(from decoder: Decoder) throws {
    let container = try decoder.singleValueContainer()
    if container.decodeNil() {
      self = .null
    } else if let b = try? container.decode(Bool.self) {
      self = .bool(b)
    } else if let i = try? container.decode(Int.self) {
      self = .int(i)
    } else if let d = try? container.decode(Double.self) {
      self = .double(d)
    } else if let s = try? container.decode(String.self) {
      self = .string(s)
    } else if let items = try? container.decode([ConfigValue].self) {
      self = .list(items)
    } else {
      let dictionary = try container.decode([String: ConfigValue].self)
      self = .map(dictionary.sorted { $0.key < $1.key }.map { Entry(key: $0.key, value: $0.value) })
    }
  }

  public func encode(to encoder: Encoder) throws {
    switch self {
    case .null:
      var c = encoder.singleValueContainer()
      try c.encodeNil()
    case .bool(let b):
      var c = encoder.singleValueContainer()
      try c.encode(b)
    case .int(let i):
      var c = encoder.singleValueContainer()
      try c.encode(i)
    case .double(let d):
      var c = encoder.singleValueContainer()
      try c.encode(d)
    case .string(let s):
      var c = encoder.singleValueContainer()
      try c.encode(s)
    case .list(let items):
      var c = encoder.unkeyedContainer()
      for item in items { try c.encode(item) }
    case .map(let entries):
      var c = encoder.container(keyedBy: AnyCodingKey.self)
      for entry in entries { try c.encode(entry.value, forKey: AnyCodingKey(entry.key)) }
    }
  }

  /// Sets `value` at a dotted path inside a mapping, creating mappings on the way.
  public mutating func set(_ value: ConfigValue, at path: [String]) {
    guard let head = path.first else {
      self = value
      return
    }
    var entries: [Entry]
    if case .map(let existing) = self { entries = existing } else { entries = [] }
    if let index = entries.firstIndex(where: { $0.key == head }) {
      entries[index].value.set(value, at: Array(path.dropFirst()))
    } else {
      var child = ConfigValue.map([])
      child.set(value, at: Array(path.dropFirst()))
      entries.append(Entry(key: head, value: child))
    }
    self = .map(entries)
  }

  public subscript(key: String) -> ConfigValue? {
    if case .map(let entries) = self { return entries.first { $0.key == key }?.value }
    return nil
  }
}

/// A coding key for any name (a map's keys) or position (a list's).
public struct AnyCodingKey: CodingKey {
  public var stringValue: String
  public var intValue: Int?
  public init(_ string: String) { stringValue = string }
  public init(index: Int) {
    stringValue = "Index \(index)"
    intValue = index
  }
  public init(stringValue: String) { self.stringValue = stringValue }
  public init?(intValue: Int) { self.init(index: intValue) }
}
