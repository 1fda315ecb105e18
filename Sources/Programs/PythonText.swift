import Foundation
import Vocabulary

/// Values as Python writes them, because W&B's agent builds a program's command line with
/// Python's `str()` (an f-string), and W&B training scripts parse that form back:
/// `True`/`False`, `None`, `1e-05`, `0.001`, `1.0`, `[1, 2]`, `{'a': 1}`.
///
/// Floats follow Python's `repr` (the shortest string that reads back to the same double):
/// fixed notation with at least one fractional digit when the decimal exponent is in
/// −4 ≤ e < 16, otherwise scientific with a signed exponent of at least two digits
/// (`1e-05`, `1.5e+16`). Strings are bare at the top level (`str('a')` is `a`) and quoted
/// inside lists and dicts (`repr`), with Python's choice of quote.
public enum PythonText {
  /// `str(value)`.
  public static func str(_ value: ConfigValue) -> String {
    if case .string(let text) = value { return text }
    return repr(value)
  }

  /// `repr(value)`.
  public static func repr(_ value: ConfigValue) -> String {
    switch value {
    case .null: return "None"
    case .bool(let flag): return flag ? "True" : "False"
    case .int(let number): return String(number)
    case .double(let number): return float(number)
    case .string(let text): return quoted(text)
    case .list(let items): return "[" + items.map(repr).joined(separator: ", ") + "]"
    case .map(let entries):
      return "{" + entries.map { "\(quoted($0.key)): \(repr($0.value))" }.joined(separator: ", ") + "}"
    }
  }

  /// `repr(float(x))`: `0.001`, `1.0`, `1e-05`, `1.5e+16`, `inf`, `nan`.
  public static func float(_ x: Double) -> String {
    if x.isNaN { return "nan" }
    if x.isInfinite { return x > 0 ? "inf" : "-inf" }
    if x == 0 { return x.sign == .minus ? "-0.0" : "0.0" }
    // Swift's description is also the shortest round-trip string; only the layout differs.
    let (digits, exponent) = decimalDigits(x)
    let sign = x < 0 ? "-" : ""
    if exponent >= -4 && exponent < 16 {
      if exponent >= 0 {
        let whole =
          digits.count > exponent + 1
          ? String(digits.prefix(exponent + 1))
          : digits + String(repeating: "0", count: exponent + 1 - digits.count)
        let fraction = digits.count > exponent + 1 ? String(digits.dropFirst(exponent + 1)) : "0"
        return sign + whole + "." + fraction
      }
      return sign + "0." + String(repeating: "0", count: -exponent - 1) + digits
    }
    let mantissa = digits.count > 1 ? String(digits.prefix(1)) + "." + String(digits.dropFirst()) : digits
    let exponentText = String(format: "%@%02d", exponent < 0 ? "-" : "+", abs(exponent))
    return sign + mantissa + "e" + exponentText
  }

  /// The shortest round-trip significant digits of |x| (no trailing zeros) and the
  /// decimal exponent of the first one: 0.00123 → ("123", −3).
  static func decimalDigits(_ x: Double) -> (String, Int) {
    let text = "\(abs(x))"  // shortest round trip, e.g. "0.00123", "1e-05", "1.5e+16", "123.0"
    var mantissa = text
    var exponent = 0
    if let e = text.firstIndex(where: { $0 == "e" || $0 == "E" }) {
      mantissa = String(text[..<e])
      exponent = Int(text[text.index(after: e)...].replacingOccurrences(of: "+", with: "")) ?? 0
    }
    let parts = mantissa.split(separator: ".", omittingEmptySubsequences: false)
    let integer = String(parts[0])
    let fraction = parts.count > 1 ? String(parts[1]) : ""
    var digits = integer + fraction
    var point = integer.count + exponent  // digits before the decimal point
    // Leading zeros move the point.
    while digits.hasPrefix("0") && digits.count > 1 {
      digits.removeFirst()
      point -= 1
    }
    while digits.hasSuffix("0") && digits.count > 1 { digits.removeLast() }
    return (digits, point - 1)
  }

  /// A string as Python's `repr` quotes it: single quotes unless the text holds a single
  /// quote and no double quote; backslashes and control characters escaped.
  static func quoted(_ text: String) -> String {
    let quote: Character = text.contains("'") && !text.contains("\"") ? "\"" : "'"
    var out = String(quote)
    for scalar in text.unicodeScalars {
      switch scalar {
      case "\\": out += "\\\\"
      case "\n": out += "\\n"
      case "\r": out += "\\r"
      case "\t": out += "\\t"
      case _ where Character(scalar) == quote: out += "\\" + String(quote)
      case _ where scalar.value < 0x20 || scalar.value == 0x7f: out += String(format: "\\x%02x", scalar.value)
      default: out.unicodeScalars.append(scalar)
      }
    }
    return out + String(quote)
  }

  /// `json.dumps(value)` with Python's default separators (`, ` and `: `), for
  /// `${args_json}`.
  public static func json(_ value: ConfigValue) -> String {
    switch value {
    case .null: return "null"
    case .bool(let flag): return flag ? "true" : "false"
    case .int(let number): return String(number)
    case .double(let number):
      if number.isNaN { return "NaN" }
      if number.isInfinite { return number > 0 ? "Infinity" : "-Infinity" }
      return float(number)
    case .string(let text): return jsonString(text)
    case .list(let items): return "[" + items.map(json).joined(separator: ", ") + "]"
    case .map(let entries):
      return "{" + entries.map { "\(jsonString($0.key)): \(json($0.value))" }.joined(separator: ", ") + "}"
    }
  }

  /// A JSON string as Python's `json.dumps` writes it (ASCII only: `\uXXXX` beyond).
  static func jsonString(_ text: String) -> String {
    var out = "\""
    for unit in text.utf16 {
      switch unit {
      case 0x22: out += "\\\""
      case 0x5C: out += "\\\\"
      case 0x0A: out += "\\n"
      case 0x0D: out += "\\r"
      case 0x09: out += "\\t"
      case 0x08: out += "\\b"
      case 0x0C: out += "\\f"
      case 0x20...0x7E: out.unicodeScalars.append(Unicode.Scalar(unit)!)
      default: out += String(format: "\\u%04x", unit)
      }
    }
    return out + "\""
  }
}
