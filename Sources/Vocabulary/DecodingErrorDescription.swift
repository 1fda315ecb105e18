extension DecodingError {
  /// The dotted key path of the value that failed ("data.samples", "parameters[2]").
  public var keyPath: String {
    let context: Context?
    switch self {
    case .typeMismatch(_, let c), .valueNotFound(_, let c), .keyNotFound(_, let c), .dataCorrupted(let c):
      context = c
    @unknown default: context = nil
    }
    return (context?.codingPath ?? []).map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(
      separator: ".")
  }

  /// "key.path: what was wrong", with types named in words ("a whole number"), for
  /// config and protocol errors.
  public var readableDescription: String {
    let at = keyPath.isEmpty ? "" : keyPath + ": "
    switch self {
    case .typeMismatch(let type, let context):
      // `ConfigValueDecoder` says what it found ("got 32.5"); Foundation's decoder does not.
      let got = context.debugDescription.hasPrefix("got ") ? ", \(context.debugDescription)" : ""
      return at + "expected \(Self.readable(type))\(got)"
    case .valueNotFound(let type, _): return at + "missing \(Self.readable(type))"
    case .keyNotFound(let key, _): return at + "missing required key '\(key.stringValue)'"
    case .dataCorrupted(let context): return at + context.debugDescription
    @unknown default: return "\(self)"
    }
  }

  static func readable(_ type: Any.Type) -> String {
    switch type {
    case is Int.Type, is Int64.Type, is UInt64.Type: return "a whole number"
    case is Double.Type, is Float.Type: return "a number"
    case is Bool.Type: return "true or false"
    case is String.Type: return "text"
    case is [Int].Type: return "a list of whole numbers"
    case is [Double].Type, is [Float].Type: return "a list of numbers"
    case is [String].Type: return "a list of words"
    default:
      let name = "\(type)"
      if name.hasPrefix("Array<") { return "a list" }
      if name.hasPrefix("Dictionary<") { return "a mapping of keys to values" }
      return name
    }
  }
}
