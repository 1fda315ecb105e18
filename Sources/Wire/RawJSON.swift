/// Finds a member of a JSON object without decoding it: how an ASSIGN's trial spec stays
/// opaque bytes on its way through the protocol (the coordinator stores the spec as JSON and
/// splices it in; only the worker decodes it, with the trainer's own types).
///
/// Why by hand: `JSONDecoder` cannot hand back the raw text of a member. The scanner only
/// finds where values begin and end (strings with their escapes, nested objects and
/// arrays); validity is checked by the decoders that read the parts.
enum RawJSON {
  /// The bytes of the value of the top-level member `key` of the object in `bytes`, or nil
  /// when `bytes` is not an object or has no such member.
  static func member(_ key: String, in bytes: [UInt8]) -> ArraySlice<UInt8>? {
    let wanted = Array(key.utf8)
    var index = skipSpace(bytes, 0)
    guard index < bytes.count, bytes[index] == UInt8(ascii: "{") else { return nil }
    index += 1
    while true {
      index = skipSpace(bytes, index)
      guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { return nil }
      guard let keyEnd = skipString(bytes, index) else { return nil }
      let name = bytes[(index + 1)..<(keyEnd - 1)]
      index = skipSpace(bytes, keyEnd)
      guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { return nil }
      let start = skipSpace(bytes, index + 1)
      guard let end = skipValue(bytes, start) else { return nil }
      if name.elementsEqual(wanted) { return bytes[start..<end] }
      index = skipSpace(bytes, end)
      guard index < bytes.count, bytes[index] == UInt8(ascii: ",") else { return nil }
      index += 1
    }
  }

  static func skipSpace(_ bytes: [UInt8], _ start: Int) -> Int {
    var index = start
    while index < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[index]) { index += 1 }
    return index
  }

  /// The index after the string starting at `start` (a quote), or nil if it does not end.
  static func skipString(_ bytes: [UInt8], _ start: Int) -> Int? {
    var index = start + 1
    while index < bytes.count {
      switch bytes[index] {
      case UInt8(ascii: "\\"): index += 2
      case UInt8(ascii: "\""): return index + 1
      default: index += 1
      }
    }
    return nil
  }

  /// The index after the value starting at `start`, or nil if it does not end.
  static func skipValue(_ bytes: [UInt8], _ start: Int) -> Int? {
    guard start < bytes.count else { return nil }
    switch bytes[start] {
    case UInt8(ascii: "\""): return skipString(bytes, start)
    case UInt8(ascii: "{"), UInt8(ascii: "["):
      var depth = 0
      var index = start
      while index < bytes.count {
        switch bytes[index] {
        case UInt8(ascii: "\""):
          guard let end = skipString(bytes, index) else { return nil }
          index = end
          continue
        case UInt8(ascii: "{"), UInt8(ascii: "["): depth += 1
        case UInt8(ascii: "}"), UInt8(ascii: "]"):
          depth -= 1
          if depth == 0 { return index + 1 }
        default: break
        }
        index += 1
      }
      return nil
    default:
      var index = start
      while index < bytes.count,
        ![UInt8(ascii: ","), UInt8(ascii: "}"), UInt8(ascii: "]"), 0x20, 0x09, 0x0A, 0x0D]
          .contains(bytes[index])
      {
        index += 1
      }
      return index > start ? index : nil
    }
  }
}
