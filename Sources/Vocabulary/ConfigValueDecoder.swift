/// Decodes a `Decodable` value straight from a `ConfigValue` tree, with the same meaning and
/// the same `DecodingError`s (cases, coding paths, types) as encoding the tree to JSON and
/// decoding that with `JSONDecoder`, without the round trip: a sweep builds each trial's
/// spec from its config tree this way.
///
/// Numbers follow JSON's rules: a whole-number value decodes as an integer type even when
/// written with a fraction of zero (`3.0`), any number decodes as a floating-point type, and
/// a non-finite number (YAML's `.nan`, `.inf`) is an error, as JSON has no such numbers.
public struct ConfigValueDecoder {
  public var userInfo: [CodingUserInfoKey: Any] = [:]

  public init() {}

  public func decode<T: Decodable>(_ type: T.Type, from value: ConfigValue) throws -> T {
    try T(from: Node(value: value, codingPath: [], userInfo: userInfo))
  }

  struct Node: Decoder {
    let value: ConfigValue
    let codingPath: [any CodingKey]
    let userInfo: [CodingUserInfoKey: Any]

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
      guard case .map(let entries) = value else {
        throw mismatch([String: ConfigValue].self)
      }
      var members: [String: ConfigValue] = [:]
      for entry in entries where members[entry.key] == nil { members[entry.key] = entry.value }
      return KeyedDecodingContainer(Keyed<Key>(members: members, order: entries.map(\.key), node: self))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
      guard case .list(let items) = value else { throw mismatch([ConfigValue].self) }
      return Unkeyed(items: items, node: self)
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer { Single(node: self) }

    func child(_ value: ConfigValue, _ key: any CodingKey) -> Node {
      Node(value: value, codingPath: codingPath + [key], userInfo: userInfo)
    }

    /// A value of the wrong kind; the description is `got …` (the value as written), which
    /// `DecodingError.readableDescription` appends.
    func mismatch(_ type: Any.Type) -> DecodingError {
      .typeMismatch(type, DecodingError.Context(codingPath: codingPath, debugDescription: "got \(shown)"))
    }

    /// The value as a config writes it (long lists and mappings cut short).
    var shown: String {
      let text: String
      switch value {
      case .string(let word): text = "'\(word)'"
      default: text = value.description
      }
      return text.count > 60 ? String(text.prefix(57)) + "…" : text
    }

    var kind: String {
      switch value {
      case .null: "null"
      case .bool: "a boolean"
      case .int, .double: "a number"
      case .string: "a string"
      case .list: "an array"
      case .map: "a dictionary"
      }
    }

    // Scalars, with JSON's number rules.
    func decodeInteger<T: FixedWidthInteger>(_ type: T.Type) throws -> T {
      switch value {
      case .int(let x):
        guard let exact = T(exactly: x) else {
          throw x < 0 && T.min == 0
            ? .typeMismatch(type, context("got \(x) (a whole number ≥ 0 is needed)")) : mismatch(type)
        }
        return exact
      case .double(let x):
        guard x.isFinite, let exact = T(exactly: x) else { throw mismatch(type) }
        return exact
      case .null: throw DecodingError.valueNotFound(type, context("Expected \(type) value but found null."))
      default: throw mismatch(type)
      }
    }

    func decodeFloat<T: BinaryFloatingPoint>(_ type: T.Type) throws -> T {
      switch value {
      case .int(let x): return T(x)
      case .double(let x):
        guard x.isFinite else { throw mismatch(type) }
        return T(x)
      case .null: throw DecodingError.valueNotFound(type, context("Expected \(type) value but found null."))
      default: throw mismatch(type)
      }
    }

    func decodeString() throws -> String {
      switch value {
      case .string(let text): return text
      case .null:
        throw DecodingError.valueNotFound(String.self, context("Expected String value but found null."))
      default: throw mismatch(String.self)
      }
    }

    func decodeBool() throws -> Bool {
      switch value {
      case .bool(let flag): return flag
      case .null: throw DecodingError.valueNotFound(Bool.self, context("Expected Bool value but found null."))
      default: throw mismatch(Bool.self)
      }
    }

    func context(_ description: String) -> DecodingError.Context {
      DecodingError.Context(codingPath: codingPath, debugDescription: description)
    }

    func corrupted(_ description: String) -> DecodingError { .dataCorrupted(context(description)) }

    func decode<T: Decodable>(_ type: T.Type) throws -> T {
      switch type {
      case is String.Type: return try decodeString() as! T
      case is Bool.Type: return try decodeBool() as! T
      case is Int.Type: return try decodeInteger(Int.self) as! T
      case is Int64.Type: return try decodeInteger(Int64.self) as! T
      case is Int32.Type: return try decodeInteger(Int32.self) as! T
      case is UInt64.Type: return try decodeInteger(UInt64.self) as! T
      case is UInt.Type: return try decodeInteger(UInt.self) as! T
      case is Double.Type: return try decodeFloat(Double.self) as! T
      case is Float.Type: return try decodeFloat(Float.self) as! T
      default:
        // A list type given something else: name the list type (`a list of whole numbers`).
        if "\(T.self)".hasPrefix("Array<"), case .null = value {
          throw DecodingError.valueNotFound(T.self, context("got null"))
        }
        if "\(T.self)".hasPrefix("Array<") {
          guard case .list = value else { throw mismatch(T.self) }
        }
        return try T(from: self)
      }
    }
  }

  struct Keyed<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let members: [String: ConfigValue]
    let order: [String]
    let node: Node

    var codingPath: [any CodingKey] { node.codingPath }
    var allKeys: [Key] {
      var seen = Set<String>()
      return order.filter { seen.insert($0).inserted }.compactMap { Key(stringValue: $0) }
    }

    func contains(_ key: Key) -> Bool { members[key.stringValue] != nil }

    func member(_ key: Key) throws -> Node {
      guard let value = members[key.stringValue] else {
        throw DecodingError.keyNotFound(
          key,
          DecodingError.Context(
            codingPath: codingPath, debugDescription: "No value associated with key \(key.stringValue)."))
      }
      return node.child(value, key)
    }

    func decodeNil(forKey key: Key) throws -> Bool {
      if case .null = try member(key).value { return true }
      return false
    }

    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T { try member(key).decode(type) }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws
      -> KeyedDecodingContainer<NestedKey>
    {
      try member(key).container(keyedBy: type)
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
      try member(key).unkeyedContainer()
    }

    func superDecoder() throws -> any Decoder { node }
    func superDecoder(forKey key: Key) throws -> any Decoder { try member(key) }
  }

  struct Unkeyed: UnkeyedDecodingContainer {
    let items: [ConfigValue]
    let node: Node
    var currentIndex = 0

    init(items: [ConfigValue], node: Node) {
      self.items = items
      self.node = node
    }

    var codingPath: [any CodingKey] { node.codingPath }
    var count: Int? { items.count }
    var isAtEnd: Bool { currentIndex >= items.count }

    mutating func next(_ type: Any.Type) throws -> Node {
      guard !isAtEnd else {
        throw DecodingError.valueNotFound(
          type,
          DecodingError.Context(
            codingPath: codingPath + [AnyCodingKey(index: currentIndex)],
            debugDescription: "Unkeyed container is at end."))
      }
      defer { currentIndex += 1 }
      return node.child(items[currentIndex], AnyCodingKey(index: currentIndex))
    }

    mutating func decodeNil() throws -> Bool {
      guard !isAtEnd, case .null = items[currentIndex] else { return false }
      currentIndex += 1
      return true
    }

    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T { try next(type).decode(type) }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws
      -> KeyedDecodingContainer<NestedKey>
    {
      try next([String: ConfigValue].self).container(keyedBy: type)
    }

    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
      try next([ConfigValue].self).unkeyedContainer()
    }

    mutating func superDecoder() throws -> any Decoder { try next(ConfigValue.self) }
  }

  struct Single: SingleValueDecodingContainer {
    let node: Node
    var codingPath: [any CodingKey] { node.codingPath }

    func decodeNil() -> Bool {
      if case .null = node.value { return true }
      return false
    }

    func decode<T: Decodable>(_ type: T.Type) throws -> T { try node.decode(type) }
  }
}
