import Foundation

/// Reads a tar archive's headers (ustar, GNU and pax forms) before anything is unpacked,
/// and refuses what a code snapshot never holds: a FIFO (opening it would hang a slot), a
/// device node (a worker running as root would create it), a sparse member, a path or a
/// link that leaves the tree, or more than `Limits` allow unpacked. `sweepd submit` writes
/// GNU tar archives of regular files, directories and symbolic links; a snapshot is checked
/// on every worker because a coordinator accepts any bytes an operator key uploads.
public enum TarCheck {
  public struct Limits: Sendable {
    /// Bytes of regular files, unpacked (default 1 GiB).
    public var unpackedBytes: Int64 = 1 << 30
    /// Members (default 100,000).
    public var members = 100_000

    public init() {}
  }

  /// What is in an archive that passed.
  public struct Summary: Equatable, Sendable {
    public var files = 0
    public var directories = 0
    public var links = 0
    public var bytes: Int64 = 0
  }

  public struct Refusal: Error, CustomStringConvertible, Equatable, Sendable {
    public var description: String
  }

  /// Checks the archive at `path` (see the type).
  public static func check(path: String, limits: Limits = Limits()) throws -> Summary {
    guard let file = FileHandle(forReadingAtPath: path) else {
      throw Refusal(description: "cannot open the code snapshot \(path)")
    }
    defer { try? file.close() }
    var summary = Summary()
    var longName: String?
    var longLink: String?
    var paxPath: String?
    var paxLink: String?
    var offset: UInt64 = 0
    while true {
      try file.seek(toOffset: offset)
      let header = [UInt8](try file.read(upToCount: 512) ?? Data())
      guard header.count == 512 else { throw Refusal(description: "the archive ends inside a header") }
      if header.allSatisfy({ $0 == 0 }) { return summary }
      guard let size = Self.size(header), size >= 0 else {
        throw Refusal(description: "a member's size field does not read as a number")
      }
      let dataOffset = offset + 512
      offset = dataOffset + UInt64((size + 511) / 512 * 512)
      let type = header[156]
      func text(_ range: Range<Int>) -> String {
        String(decoding: header[range].prefix { $0 != 0 }, as: UTF8.self)
      }
      func body() throws -> [UInt8] {
        guard size <= 1 << 20 else { throw Refusal(description: "an extended header of \(size) bytes") }
        try file.seek(toOffset: dataOffset)
        return [UInt8](try file.read(upToCount: Int(size)) ?? Data())
      }
      switch type {
      case UInt8(ascii: "L"):
        longName = String(decoding: try body().prefix { $0 != 0 }, as: UTF8.self)
        continue
      case UInt8(ascii: "K"):
        longLink = String(decoding: try body().prefix { $0 != 0 }, as: UTF8.self)
        continue
      case UInt8(ascii: "x"):
        (paxPath, paxLink) = pax(try body())
        continue
      case UInt8(ascii: "g"):
        continue
      default: break
      }
      let ustar = header[257..<263].elementsEqual(Array("ustar\0".utf8))
      var name = text(0..<100)
      if ustar, case let prefix = text(345..<500), !prefix.isEmpty { name = prefix + "/" + name }
      name = paxPath ?? longName ?? name
      let link = paxLink ?? longLink ?? text(157..<257)
      (longName, longLink, paxPath, paxLink) = (nil, nil, nil, nil)
      guard summary.files + summary.directories + summary.links < limits.members else {
        throw Refusal(description: "the snapshot has more than \(limits.members) members")
      }
      guard let inside = normalized(name), !inside.isEmpty || type == UInt8(ascii: "5") else {
        throw Refusal(description: "'\(shown(name))' is outside the code's directory")
      }
      switch type {
      case UInt8(ascii: "0"), 0, UInt8(ascii: "7"):
        summary.files += 1
        summary.bytes += size
        if summary.bytes > limits.unpackedBytes {
          throw Refusal(
            description:
              "the snapshot unpacks to more than \(limits.unpackedBytes) bytes (at '\(shown(name))')")
        }
      case UInt8(ascii: "5"):
        summary.directories += 1
      case UInt8(ascii: "2"), UInt8(ascii: "1"):
        // A symbolic link resolves from its own directory; a hard link names a member.
        let base = type == UInt8(ascii: "2") ? (inside as NSString).deletingLastPathComponent : ""
        guard !link.hasPrefix("/"), normalized(base.isEmpty ? link : base + "/" + link) != nil else {
          throw Refusal(
            description: "the link '\(shown(name))' → '\(shown(link))' leads outside the code's directory")
        }
        summary.links += 1
      default:
        throw Refusal(
          description:
            "'\(shown(name))' is \(kind(type)); a code snapshot holds only files, directories and links")
      }
    }
  }

  /// The member size: octal digits, or GNU's base-256 form (high bit set).
  static func size(_ header: [UInt8]) -> Int64? {
    let field = header[124..<136]
    if let first = field.first, first & 0x80 != 0 {
      var value: Int64 = 0
      for (index, byte) in field.enumerated() {
        let digit = index == 0 ? Int64(byte & 0x7f) : Int64(byte)
        let (shifted, overflow) = value.multipliedReportingOverflow(by: 256)
        guard !overflow else { return nil }
        value = shifted + digit
      }
      return value
    }
    let digits = field.prefix { $0 != 0 && $0 != UInt8(ascii: " ") }.drop { $0 == UInt8(ascii: " ") }
    guard digits.count <= 21 else { return nil }
    return digits.isEmpty ? 0 : Int64(String(decoding: digits, as: UTF8.self), radix: 8)
  }

  /// `path` and `linkpath` from a pax extended header's records (`LEN key=value\n`).
  static func pax(_ bytes: [UInt8]) -> (path: String?, link: String?) {
    var path: String?
    var link: String?
    for record in String(decoding: bytes, as: UTF8.self).split(separator: "\n") {
      guard let space = record.firstIndex(of: " ") else { continue }
      let pair = record[record.index(after: space)...]
      if pair.hasPrefix("path=") { path = String(pair.dropFirst(5)) }
      if pair.hasPrefix("linkpath=") { link = String(pair.dropFirst(9)) }
    }
    return (path, link)
  }

  /// The path with `.` and `..` resolved, if it stays inside the tree (nil otherwise).
  static func normalized(_ path: String) -> String? {
    guard !path.hasPrefix("/"), !path.contains("\0") else { return nil }
    var parts: [Substring] = []
    for part in path.split(separator: "/") {
      if part == "." { continue }
      if part == ".." {
        guard !parts.isEmpty else { return nil }
        parts.removeLast()
      } else {
        parts.append(part)
      }
    }
    return parts.joined(separator: "/")
  }

  static func kind(_ type: UInt8) -> String {
    switch type {
    case UInt8(ascii: "3"): "a character device"
    case UInt8(ascii: "4"): "a block device"
    case UInt8(ascii: "6"): "a FIFO"
    case UInt8(ascii: "S"): "a sparse file"
    default: "a member of type '\(String(decoding: [type], as: UTF8.self))'"
    }
  }

  /// A member name for a message: at most 80 characters, control characters as '?'.
  static func shown(_ name: String) -> String {
    let short = name.count > 80 ? String(name.prefix(79)) + "…" : name
    return String(short.unicodeScalars.map { $0.properties.generalCategory == .control ? "?" : Character($0) })
  }
}
