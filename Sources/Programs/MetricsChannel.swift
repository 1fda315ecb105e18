import Foundation
import Vocabulary

/// What a program reports on the metrics channel: one JSON object per line, written to the
/// file descriptor whose number is in `SWEEPD_METRICS_FD` (`{"val_loss": 0.31, "step": 3}`;
/// a shell script writes `echo '{"loss": 1}' >&$SWEEPD_METRICS_FD`).
///
/// Each member is a metric: a number (`NaN`, `Infinity` and `-Infinity`, as Python's
/// `json.dumps` writes them, included; `true`/`false` count as 1/0, as they do in Python).
/// `step`, when present, is a whole number ≥ 0 naming the line's step; otherwise lines are
/// numbered 1, 2, … in order. Members that are not numbers (text, lists, objects) are
/// ignored and named; a line that is not an object is bad — counted and reported, never
/// fatal to the worker.
public enum MetricsChannel {
  /// One line's report.
  public struct Report: Hashable, Sendable {
    /// The program's own step (nil: the line's position).
    public var step: Int?
    public var values: [String: Double]
    /// Members that were not numbers (ignored).
    public var ignored: [String]
  }

  public enum LineError: Error, Hashable, Sendable, CustomStringConvertible {
    case notJSON(String)
    case notAnObject
    case badStep(String)

    public var description: String {
      switch self {
      case .notJSON(let reason): "not a JSON object (\(reason))"
      case .notAnObject: "not a JSON object"
      case .badStep(let value): "step \(value) is not a whole number ≥ 0"
      }
    }
  }

  /// Reads one line (without its newline). An empty line is nil: nothing to report.
  public static func parse(_ line: String) -> Result<Report, LineError>? {
    let text = line.trimmingCharacters(in: .whitespaces)
    guard !text.isEmpty else { return nil }
    guard text.hasPrefix("{") else {
      return .failure(text.hasPrefix("[") ? .notAnObject : .notJSON(String(text.prefix(60))))
    }
    let members: [String: Member]
    do {
      members = try decoder.decode([String: Member].self, from: Data(quotingNonFinite(text).utf8))
    } catch {
      return .failure(.notJSON(String(text.prefix(60))))
    }
    var report = Report(step: nil, values: [:], ignored: [])
    for (key, member) in members.sorted(by: { $0.key < $1.key }) {
      if MetricName.problem(key) != nil {
        // Never a column anyone exports: ignored, and named (shown safely).
        report.ignored.append(String(key.unicodeScalars.prefix(40).map { $0.isASCII && $0.value >= 0x20 ? Character($0) : "?" }))
        continue
      }
      if key == "step" {
        guard case .number(let value) = member, let step = Int(exactly: value), step >= 0 else {
          return .failure(.badStep(member.text))
        }
        report.step = step
        continue
      }
      switch member {
      case .number(let value): report.values[key] = value
      case .flag(let flag): report.values[key] = flag ? 1 : 0
      case .other: report.ignored.append(key)
      }
    }
    return .success(report)
  }

  /// A member's value: a number (non-finite ones included), a flag, or anything else.
  enum Member: Decodable {
    case number(Double)
    case flag(Bool)
    case other

    init(from decoder: Decoder) throws {
      let container = try decoder.singleValueContainer()
      if let flag = try? container.decode(Bool.self) {
        self = .flag(flag)
      } else if let number = try? container.decode(Double.self) {
        self = .number(number)
      } else {
        self = .other
      }
    }

    var text: String {
      switch self {
      case .number(let value): "\(value)"
      case .flag(let flag): "\(flag)"
      case .other: "a non-number"
      }
    }
  }

  static let decoder: JSONDecoder = {
    let decoder = JSONDecoder()
    decoder.nonConformingFloatDecodingStrategy = .convertFromString(
      positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
    return decoder
  }()

  /// Python's `json.dumps` writes non-finite numbers as the bare tokens `NaN`, `Infinity`
  /// and `-Infinity`, which JSON does not have: outside strings they are quoted, for the
  /// decoder's non-finite strategy to read.
  static func quotingNonFinite(_ text: String) -> String {
    var out = ""
    var inString = false
    var escaped = false
    var index = text.startIndex
    while index < text.endIndex {
      let character = text[index]
      if inString {
        out.append(character)
        if escaped {
          escaped = false
        } else if character == "\\" {
          escaped = true
        } else if character == "\"" {
          inString = false
        }
        index = text.index(after: index)
        continue
      }
      if character == "\"" {
        inString = true
        out.append(character)
        index = text.index(after: index)
        continue
      }
      var matched = false
      for token in ["-Infinity", "Infinity", "NaN"] where text[index...].hasPrefix(token) {
        out += "\"\(token)\""
        index = text.index(index, offsetBy: token.count)
        matched = true
        break
      }
      if !matched {
        out.append(character)
        index = text.index(after: index)
      }
    }
    return out
  }

  /// Splits a byte stream into lines as chunks arrive: whole lines out, the unfinished
  /// tail kept for the next chunk. A line longer than `maximumLine` bytes is cut there (and
  /// reported by `parse` as whatever it is), so a program cannot exhaust the worker.
  public struct LineSplitter: Sendable {
    public var maximumLine = 1 << 20
    var pending: [UInt8] = []

    public init() {}

    public mutating func feed(_ bytes: [UInt8]) -> [String] {
      var lines: [String] = []
      for byte in bytes {
        if byte == UInt8(ascii: "\n") {
          lines.append(String(decoding: pending, as: UTF8.self))
          pending.removeAll(keepingCapacity: true)
        } else {
          pending.append(byte)
          if pending.count >= maximumLine {
            lines.append(String(decoding: pending, as: UTF8.self))
            pending.removeAll(keepingCapacity: true)
          }
        }
      }
      return lines
    }

    /// The last line, if the stream ended without a newline.
    public mutating func finish() -> String? {
      defer { pending.removeAll() }
      return pending.isEmpty ? nil : String(decoding: pending, as: UTF8.self)
    }
  }
}
