import ArgumentParser
import Foundation
import Logging
import Synchronization

/// How `sweepd` writes its log lines to standard error.
enum LogFormat: String, ExpressibleByArgument, CaseIterable {
  /// swift-log's plain lines: `2026-11-22T20:00:00+0000 info sweepd.coordinator: [sweepd] …`.
  case text
  /// One JSON object per line, for log shippers: `time` (ISO 8601, UTC, milliseconds),
  /// `level`, `logger` (the label), `message`, and every metadata key as a field (`sweep`,
  /// `worker`, `peer`, … where the line is about one): strings, except the counts and ids
  /// in `JSONLogHandler.numericKeys` (`trial`, `attempt`, …), which are numbers.
  case json
}

/// A swift-log handler writing `LogFormat.json` lines. Lines from many threads never
/// interleave (one locked write each).
struct JSONLogHandler: LogHandler {
  let label: String
  var logLevel: Logger.Level = .info
  var metadata: Logger.Metadata = [:]

  static let output = Mutex<FileHandle>(FileHandle.standardError)

  subscript(metadataKey key: String) -> Logger.Metadata.Value? {
    get { metadata[key] }
    set { metadata[key] = newValue }
  }

  /// Metadata keys whose values are whole numbers, written as JSON numbers.
  static let numericKeys: Set<String> = ["trial", "attempt", "epoch", "slots", "trials", "running"]

  /// A field's value: text, or a whole number.
  enum Field: Encodable {
    case text(String)
    case number(Int64)

    func encode(to encoder: Encoder) throws {
      var container = encoder.singleValueContainer()
      switch self {
      case .text(let text): try container.encode(text)
      case .number(let number): try container.encode(number)
      }
    }
  }

  func log(event: LogEvent) {
    var fields: [String: Field] = [:]
    for (key, value) in metadata.merging(event.metadata ?? [:], uniquingKeysWith: { $1 }) {
      let text = "\(value)"
      if Self.numericKeys.contains(key), let number = Int64(text) {
        fields[key] = .number(number)
      } else {
        fields[key] = .text(text)
      }
    }
    fields["time"] = .text(Self.timestamp())
    fields["level"] = .text(event.level.rawValue)
    fields["logger"] = .text(label)
    fields["message"] = .text("\(event.message)")
    // Sorted keys: the same line for the same event, easy to diff.
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    guard var line = try? encoder.encode(fields) else { return }
    line.append(UInt8(ascii: "\n"))
    Self.output.withLock { $0.write(line) }
  }

  static func timestamp() -> String {
    var now = timespec()
    clock_gettime(CLOCK_REALTIME, &now)
    var seconds = now.tv_sec
    var parts = tm()
    gmtime_r(&seconds, &parts)
    return String(
      format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", parts.tm_year + 1900, parts.tm_mon + 1, parts.tm_mday,
      parts.tm_hour, parts.tm_min, parts.tm_sec, now.tv_nsec / 1_000_000)
  }
}
