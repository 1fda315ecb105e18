import DataTransfer
import Foundation

/// Code snapshots on a worker: each archive (fetched by SHA-256 through the data cache) is
/// unpacked once into `directory/<sha256>/`, then copied into every attempt's directory.
public final class CodeCache: @unchecked Sendable {
  public let directory: URL
  let lock = NSLock()

  public init(directory: String) {
    self.directory = URL(fileURLWithPath: directory)
  }

  /// The unpacked tree of the archive at `archive` with `digest`.
  func unpacked(_ digest: String, archive: String) throws -> URL {
    lock.lock()
    defer { lock.unlock() }
    let target = directory.appendingPathComponent(digest)
    if FileManager.default.fileExists(atPath: target.path) { return target }
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    let partial = directory.appendingPathComponent(digest + ".part")
    try? FileManager.default.removeItem(at: partial)
    try FileManager.default.createDirectory(at: partial, withIntermediateDirectories: true)
    let tar = Process()
    tar.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    // No owners or modes from the archive beyond the user's own: a snapshot is code, not a
    // system image.
    tar.arguments = [
      "tar", "-x", "--no-same-owner", "--no-same-permissions", "-f", archive, "-C", partial.path,
    ]
    let errors = Pipe()
    tar.standardError = errors
    try tar.run()
    let message = errors.fileHandleForReading.readDataToEndOfFile()
    tar.waitUntilExit()
    guard tar.terminationStatus == 0 else {
      try? FileManager.default.removeItem(at: partial)
      throw WorkerError(
        "cannot unpack the code snapshot \(digest.prefix(12))…: \(String(decoding: message, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))"
      )
    }
    try FileManager.default.moveItem(at: partial, to: target)
    return target
  }

  /// Copies the tree `source` into `destination` (which exists); returns each copied
  /// file's relative path with its size and modification time, to tell later which files the
  /// program left unchanged.
  static func copyTree(_ source: URL, into destination: URL) throws -> [String: (Int, Date)] {
    var copied: [String: (Int, Date)] = [:]
    let files = FileManager.default
    guard let walker = files.enumerator(atPath: source.path) else { return copied }
    while let relative = walker.nextObject() as? String {
      let from = source.appendingPathComponent(relative)
      let to = destination.appendingPathComponent(relative)
      let attributes = try files.attributesOfItem(atPath: from.path)
      if attributes[.type] as? FileAttributeType == .typeDirectory {
        try files.createDirectory(at: to, withIntermediateDirectories: true)
      } else if attributes[.type] as? FileAttributeType == .typeSymbolicLink {
        try files.createSymbolicLink(
          atPath: to.path, withDestinationPath: files.destinationOfSymbolicLink(atPath: from.path))
      } else {
        try files.copyItem(at: from, to: to)
        let copy = try files.attributesOfItem(atPath: to.path)
        copied[relative] = (
          (copy[.size] as? NSNumber)?.intValue ?? 0, copy[.modificationDate] as? Date ?? .distantPast
        )
      }
    }
    return copied
  }

  /// Removes the files of `copied` that are still as copied (same size and modification
  /// time), and the directories that leaves empty: an attempt's directory keeps only what
  /// its program wrote.
  static func removeUnchanged(_ copied: [String: (Int, Date)], in directory: URL) {
    let files = FileManager.default
    for (relative, (size, modified)) in copied {
      let path = directory.appendingPathComponent(relative).path
      guard let now = try? files.attributesOfItem(atPath: path),
        (now[.size] as? NSNumber)?.intValue == size, now[.modificationDate] as? Date == modified
      else { continue }
      try? files.removeItem(atPath: path)
    }
    // Deepest first, so a parent empties after its children.
    let directories = Set(
      copied.keys.map { ($0 as NSString).deletingLastPathComponent }.filter { !$0.isEmpty })
    var all = Set<String>()
    for relative in directories {
      var path = relative
      while !path.isEmpty {
        all.insert(path)
        path = (path as NSString).deletingLastPathComponent
      }
    }
    for relative in all.sorted(by: { $0.count > $1.count }) {
      let path = directory.appendingPathComponent(relative).path
      if (try? files.contentsOfDirectory(atPath: path))?.isEmpty == true {
        try? files.removeItem(atPath: path)
      }
    }
  }
}
