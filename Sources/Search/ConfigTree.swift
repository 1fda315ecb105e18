import Training
import Vocabulary
import Yams

/// A place in a config file: 1-based line and column.
public struct SourceLocation: Hashable, Sendable, CustomStringConvertible {
  public var line: Int
  public var column: Int

  public init(line: Int, column: Int) {
    self.line = line
    self.column = column
  }

  init(_ mark: Mark?) {
    line = mark?.line ?? 1
    column = mark?.column ?? 1
  }

  public var description: String { "\(line):\(column)" }
}

/// A YAML document as plain values with their source locations, built with hard limits so a
/// hostile file (huge, deeply nested, an alias bomb, binary) fails fast in bounded memory.
public indirect enum ConfigTree: Sendable {
  public enum Scalar: Hashable, Sendable {
    case null
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
  }

  public struct Entry: Sendable {
    public var key: String
    public var keyLocation: SourceLocation
    public var value: ConfigTree
  }

  case scalar(Scalar, SourceLocation)
  case list([ConfigTree], SourceLocation)
  case map([Entry], SourceLocation)

  public var location: SourceLocation {
    switch self {
    case .scalar(_, let l), .list(_, let l), .map(_, let l): return l
    }
  }

  /// What the user wrote, in words, for error messages.
  public var kindDescription: String {
    switch self {
    case .scalar(.null, _): return "nothing (null)"
    case .scalar(.bool, _): return "a boolean"
    case .scalar(.int, _): return "a whole number"
    case .scalar(.double, _): return "a number"
    case .scalar(.string, _): return "text"
    case .list: return "a list"
    case .map: return "a mapping"
    }
  }

  public var number: Double? {
    switch self {
    case .scalar(.int(let x), _): return Double(x)
    case .scalar(.double(let x), _): return x
    default: return nil
    }
  }

  public var integer: Int? {
    switch self {
    case .scalar(.int(let x), _): return x
    case .scalar(.double(let x), _) where x == x.rounded() && abs(x) < 9e15: return Int(x)
    default: return nil
    }
  }

  public var string: String? {
    if case .scalar(.string(let s), _) = self { return s }
    return nil
  }

  public var bool: Bool? {
    if case .scalar(.bool(let b), _) = self { return b }
    return nil
  }

  public var entries: [Entry]? {
    if case .map(let entries, _) = self { return entries }
    return nil
  }

  public var items: [ConfigTree]? {
    if case .list(let items, _) = self { return items }
    return nil
  }

  /// The value as JSON-compatible Foundation-free data (for decoding trial specs).
  public var plain: ConfigValue {
    switch self {
    case .scalar(.null, _): return .null
    case .scalar(.bool(let b), _): return .bool(b)
    case .scalar(.int(let i), _): return .int(i)
    case .scalar(.double(let d), _): return .double(d)
    case .scalar(.string(let s), _): return .string(s)
    case .list(let items, _): return .list(items.map(\.plain))
    case .map(let entries, _):
      return .map(entries.map { ConfigValue.Entry(key: $0.key, value: $0.value.plain) })
    }
  }
}

/// Limits on what a config file may be.
public struct ConfigLimits: Sendable {
  /// Largest file, in bytes. Default 1 MiB.
  public var maximumBytes = 1 << 20
  /// Deepest nesting of lists and mappings. Default 32.
  public var maximumDepth = 32
  /// Most values in the document after aliases are expanded. Default 100,000.
  public var maximumNodes = 100_000

  public init() {}
}

enum ConfigTreeBuilder {
  struct Failure: Error {
    var location: SourceLocation
    var message: String
  }

  /// Parses YAML text into a tree. The text must be UTF-8 without NUL bytes.
  static func parse(_ text: String, limits: ConfigLimits) throws -> ConfigTree {
    if text.utf8.count > limits.maximumBytes {
      throw Failure(
        location: SourceLocation(line: 1, column: 1),
        message: "the file is \(text.utf8.count) bytes; a config may be at most \(limits.maximumBytes) bytes")
    }
    if let nul = text.utf8.firstIndex(of: 0) {
      let line = text.utf8[..<nul].filter { $0 == UInt8(ascii: "\n") }.count + 1
      throw Failure(
        location: SourceLocation(line: line, column: 1),
        message: "binary data (a NUL byte); a config is YAML text")
    }
    let node: Node?
    do {
      node = try Yams.compose(yaml: text)
    } catch let error as YamlError {
      throw failure(from: error)
    }
    guard let node else {
      throw Failure(location: SourceLocation(line: 1, column: 1), message: "the file is empty")
    }
    var budget = limits.maximumNodes
    return try convert(node, depth: 0, limits: limits, budget: &budget)
  }

  static func failure(from error: YamlError) -> Failure {
    switch error {
    case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _):
      return Failure(location: SourceLocation(mark), message: "not valid YAML: \(problem)")
    case .composer(_, let problem, let mark, _):
      return Failure(location: SourceLocation(mark), message: "not valid YAML: \(problem)")
    case .duplicatedKeysInMapping(let duplicates, let context):
      return Failure(
        location: SourceLocation(context.mark),
        message: "duplicate key" + (duplicates.count > 1 ? "s " : " ")
          + duplicates.map { "'\($0)'" }.joined(separator: ", "))
    case .reader(let problem, let offset, _, _):
      return Failure(
        location: SourceLocation(line: 1, column: 1),
        message: "not readable as YAML text (\(problem), byte \(offset ?? 0))")
    default:
      return Failure(location: SourceLocation(line: 1, column: 1), message: "not valid YAML: \(error)")
    }
  }

  static func convert(_ node: Node, depth: Int, limits: ConfigLimits, budget: inout Int) throws -> ConfigTree
  {
    budget -= 1
    let location = SourceLocation(node.mark)
    if budget < 0 {
      throw Failure(
        location: location,
        message: "the document has more than \(limits.maximumNodes) values (are YAML aliases expanding it?)")
    }
    if depth > limits.maximumDepth {
      throw Failure(location: location, message: "nesting deeper than \(limits.maximumDepth) levels")
    }
    switch node {
    case .scalar(let scalar):
      return .scalar(resolve(scalar, node: node), location)
    case .sequence(let sequence):
      var items: [ConfigTree] = []
      for item in sequence {
        items.append(try convert(item, depth: depth + 1, limits: limits, budget: &budget))
      }
      return .list(items, location)
    case .mapping(let mapping):
      var entries: [ConfigTree.Entry] = []
      var seen: [String: SourceLocation] = [:]
      for (key, value) in mapping {
        let keyLocation = SourceLocation(key.mark)
        guard case .scalar(let keyScalar) = key else {
          throw Failure(
            location: keyLocation, message: "a mapping key must be a plain word, not a list or mapping")
        }
        let name = keyScalar.string
        if let first = seen[name] {
          throw Failure(
            location: keyLocation, message: "duplicate key '\(name)' (first at line \(first.line))")
        }
        seen[name] = keyLocation
        entries.append(
          ConfigTree.Entry(
            key: name, keyLocation: keyLocation,
            value: try convert(value, depth: depth + 1, limits: limits, budget: &budget)))
      }
      return .map(entries, location)
    case .alias:
      throw Failure(location: location, message: "unresolved YAML alias")
    }
  }

  static func resolve(_ scalar: Node.Scalar, node: Node) -> ConfigTree.Scalar {
    // Quoted scalars are always text; plain ones follow YAML's core schema.
    if scalar.style != .plain && scalar.style != .any { return .string(scalar.string) }
    switch node.tag.rawValue {
    case Tag.Name.null.rawValue: return .null
    case Tag.Name.bool.rawValue: return node.bool.map { .bool($0) } ?? .string(scalar.string)
    case Tag.Name.int.rawValue: return node.int.map { .int($0) } ?? .string(scalar.string)
    case Tag.Name.float.rawValue: return node.float.map { .double($0) } ?? .string(scalar.string)
    default: return .string(scalar.string)
    }
  }
}

extension ConfigTree {
  /// A value written as YAML text (`0.01`, `adam`, `true`, `[64, 64]`, `{a: 1}`), read as a
  /// config file's values are; nil when the text is not YAML.
  public static func value(yaml text: String) -> ConfigValue? {
    (try? ConfigTreeBuilder.parse(text, limits: ConfigLimits()))?.plain
  }
}
