import Foundation

/// The METRIC body's own JSON writer and reader: the one message sent every epoch of every
/// trial, so it skips the generic `Codable` machinery.
///
/// Why by hand: a Foundation `JSONEncoder` encode plus a `JSONDecoder` decode of a metric
/// report costs about 20 µs, and the coordinator re-encoded the values for the store (6 µs
/// more). At 1,600 epochs a second on a two-slot worker that is several percent of the cores
/// the trials train on (measured in `docs/benchmarks.md`, scaling).
///
/// The writer emits one canonical form:
/// `{"attempt":{"attempt":A,"trial":T},"epoch":E,"values":{"k":v,…}}` with the value keys
/// sorted, numbers in Swift's shortest round-trip form, and non-finite numbers as the strings
/// `"nan"`, `"inf"` and `"-inf"` (the `WireCodec` convention). The reader accepts exactly
/// that form and returns `nil` for anything else, and the caller then falls back to
/// `JSONDecoder`; so a peer that writes the same JSON another way (spaces, another key order)
/// is still understood, and any input the reader accepts decodes to the value `JSONDecoder`
/// gives for it.
public enum MetricJSON {
  /// The canonical body of a METRIC report.
  public static func encode(_ report: MetricReport) -> [UInt8] {
    var out: [UInt8] = []
    out.reserveCapacity(64 + 28 * report.values.count)
    append(#"{"attempt":{"attempt":"#, to: &out)
    append(String(report.attempt.attempt), to: &out)
    append(#","trial":"#, to: &out)
    append(String(report.attempt.trial), to: &out)
    append(#"},"epoch":"#, to: &out)
    append(String(report.epoch), to: &out)
    append(#","values":"#, to: &out)
    appendValues(report.values, to: &out)
    out.append(UInt8(ascii: "}"))
    return out
  }

  /// A metric map as a JSON object (sorted keys; the form the store keeps per epoch).
  public static func encode(values: [String: Double]) -> String {
    var out: [UInt8] = []
    out.reserveCapacity(2 + 28 * values.count)
    appendValues(values, to: &out)
    return String(decoding: out, as: UTF8.self)
  }

  /// The report in `bytes` if they are in the canonical form, else `nil` (decode them with
  /// `JSONDecoder` instead). Never traps.
  public static func decode(_ bytes: [UInt8]) -> MetricReport? {
    bytes.withUnsafeBufferPointer { buffer in
      var reader = Reader(bytes: buffer)
      guard reader.literal(#"{"attempt":{"attempt":"#), let attempt = reader.integer(),
        let number = Int(exactly: attempt),
        reader.literal(#","trial":"#), let trial = reader.integer(),
        reader.literal(#"},"epoch":"#), let epochValue = reader.integer(),
        let epoch = Int(exactly: epochValue),
        reader.literal(#","values":"#), let values = reader.values()
      else { return nil }
      guard reader.literal("}"), reader.atEnd else { return nil }
      return MetricReport(attempt: AttemptID(trial: trial, attempt: number), epoch: epoch, values: values)
    }
  }

  /// A stored metric map (the form `encode(values:)` writes), read without `Codable`; any
  /// other form (or bytes that are not a map of numbers) falls back to `JSONDecoder`, and
  /// nil when that fails too. The coordinator reads every stored epoch this way for
  /// HISTORY and recovery.
  public static func decodeValues(_ text: String) -> [String: Double]? {
    var text = text
    let fast: [String: Double]? = text.withUTF8 { buffer in
      var reader = Reader(bytes: buffer)
      guard let values = reader.values(), reader.atEnd else { return nil }
      return values
    }
    if let fast { return fast }
    return try? WireCodec.sharedDecoder.decode([String: Double].self, from: Data(text.utf8))
  }

  // MARK: Writing

  static func append(_ text: String, to out: inout [UInt8]) {
    out.append(contentsOf: text.utf8)
  }

  static func appendValues(_ values: [String: Double], to out: inout [UInt8]) {
    out.append(UInt8(ascii: "{"))
    for (index, key) in values.keys.sorted().enumerated() {
      if index > 0 { out.append(UInt8(ascii: ",")) }
      appendString(key, to: &out)
      out.append(UInt8(ascii: ":"))
      let value = values[key]!
      if value.isNaN {
        append(#""nan""#, to: &out)
      } else if value.isInfinite {
        append(value > 0 ? #""inf""# : #""-inf""#, to: &out)
      } else {
        append(value.description, to: &out)
      }
    }
    out.append(UInt8(ascii: "}"))
  }

  /// A JSON string: quotes, backslashes and control characters escaped.
  static func appendString(_ text: String, to out: inout [UInt8]) {
    out.append(UInt8(ascii: "\""))
    for byte in text.utf8 {
      switch byte {
      case UInt8(ascii: "\""), UInt8(ascii: "\\"):
        out.append(UInt8(ascii: "\\"))
        out.append(byte)
      case 0..<0x20:
        append("\\u00", to: &out)
        let hex = Array("0123456789abcdef".utf8)
        out.append(hex[Int(byte >> 4)])
        out.append(hex[Int(byte & 15)])
      default:
        out.append(byte)
      }
    }
    out.append(UInt8(ascii: "\""))
  }

  // MARK: Reading

  /// A cursor over the canonical form. Every method consumes input only on success.
  struct Reader {
    let bytes: UnsafeBufferPointer<UInt8>
    var position = 0

    var atEnd: Bool { position == bytes.count }

    /// A canonical metric map `{"k":v,…}` (no duplicate keys), or nil.
    mutating func values() -> [String: Double]? {
      guard literal("{") else { return nil }
      var values: [String: Double] = [:]
      if literal("}") { return values }
      repeat {
        guard let key = key(), literal(":"), let value = number(),
          values.updateValue(value, forKey: key) == nil
        else { return nil }
      } while literal(",")
      return literal("}") ? values : nil
    }

    func peek(_ offset: Int = 0) -> UInt8? {
      position + offset < bytes.count ? bytes[position + offset] : nil
    }

    mutating func literal(_ text: StaticString) -> Bool {
      let count = text.utf8CodeUnitCount
      guard bytes.count - position >= count else { return false }
      let pattern = UnsafeBufferPointer(start: text.utf8Start, count: count)
      for index in 0..<count where bytes[position + index] != pattern[index] { return false }
      position += count
      return true
    }

    static func isDigit(_ byte: UInt8?) -> Bool {
      guard let byte else { return false }
      return byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
    }

    /// A JSON integer (`-?(0|[1-9][0-9]*)`) that fits in 64 bits.
    mutating func integer() -> Int64? {
      var index = position
      let negative = peek() == UInt8(ascii: "-")
      if negative { index += 1 }
      let first = index
      var value: Int64 = 0
      while index < bytes.count, Self.isDigit(bytes[index]) {
        let digit = Int64(bytes[index] - UInt8(ascii: "0"))
        let (product, overflowed) = value.multipliedReportingOverflow(by: 10)
        let (sum, overflowedSum) = product.addingReportingOverflow(negative ? -digit : digit)
        guard !overflowed, !overflowedSum else { return nil }
        value = sum
        index += 1
      }
      let digits = index - first
      guard digits > 0, digits == 1 || bytes[first] != UInt8(ascii: "0") else { return nil }
      // A fraction or exponent makes it a number JSONDecoder may still read as an integer
      // (1.0, 1e2): not canonical, so leave it to the decoder.
      if let next = index < bytes.count ? bytes[index] : nil,
        next == UInt8(ascii: ".") || next == UInt8(ascii: "e") || next == UInt8(ascii: "E")
      {
        return nil
      }
      position = index
      return value
    }

    /// An object key: a string whose only escapes are the writer's (`\"`, `\\`, `\u00XX`),
    /// valid UTF-8.
    mutating func key() -> String? {
      guard peek() == UInt8(ascii: "\"") else { return nil }
      var index = position + 1
      var unescaped: [UInt8] = []
      while index < bytes.count, bytes[index] != UInt8(ascii: "\"") {
        let byte = bytes[index]
        guard byte >= 0x20 else { return nil }
        if byte != UInt8(ascii: "\\") {
          unescaped.append(byte)
          index += 1
          continue
        }
        guard index + 1 < bytes.count else { return nil }
        switch bytes[index + 1] {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"):
          unescaped.append(bytes[index + 1])
          index += 2
        case UInt8(ascii: "u"):
          guard index + 5 < bytes.count, bytes[index + 2] == UInt8(ascii: "0"),
            bytes[index + 3] == UInt8(ascii: "0"),
            let high = Self.hexDigit(bytes[index + 4]), let low = Self.hexDigit(bytes[index + 5]), high < 2
          else { return nil }
          unescaped.append(high << 4 | low)
          index += 6
        default: return nil
        }
      }
      guard index < bytes.count, let text = String(validating: unescaped, as: UTF8.self) else { return nil }
      position = index + 1
      return text
    }

    static func hexDigit(_ byte: UInt8) -> UInt8? {
      switch byte {
      case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
      case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
      default: return nil
      }
    }

    /// A JSON number (strict grammar), or one of the strings "nan", "inf", "-inf".
    mutating func number() -> Double? {
      if literal(#""nan""#) { return .nan }
      if literal(#""inf""#) { return .infinity }
      if literal(#""-inf""#) { return -.infinity }
      var index = position
      if peek() == UInt8(ascii: "-") { index += 1 }
      let integerStart = index
      while index < bytes.count, Self.isDigit(bytes[index]) { index += 1 }
      let integerDigits = index - integerStart
      guard integerDigits > 0, integerDigits == 1 || bytes[integerStart] != UInt8(ascii: "0") else {
        return nil
      }
      if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
        index += 1
        let fractionStart = index
        while index < bytes.count, Self.isDigit(bytes[index]) { index += 1 }
        guard index > fractionStart else { return nil }
      }
      if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
        index += 1
        if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") {
          index += 1
        }
        let exponentStart = index
        while index < bytes.count, Self.isDigit(bytes[index]) { index += 1 }
        guard index > exponentStart else { return nil }
      }
      // The grammar is checked; strtod converts (correctly rounded), from a terminated copy.
      let length = index - position
      guard length <= 64 else { return nil }
      var text = [CChar](repeating: 0, count: length + 1)
      for offset in 0..<length { text[offset] = CChar(bitPattern: bytes[position + offset]) }
      let value = strtod(text, nil)
      // JSONDecoder refuses numbers that overflow a Double or underflow to zero; so does
      // this reader.
      guard value.isFinite else { return nil }
      if value == 0 {
        let mantissa = text.prefix { $0 != CChar(UInt8(ascii: "e")) && $0 != CChar(UInt8(ascii: "E")) }
        guard !mantissa.contains(where: { $0 > CChar(UInt8(ascii: "0")) && $0 <= CChar(UInt8(ascii: "9")) })
        else { return nil }
      }
      position = index
      return value
    }
  }
}
