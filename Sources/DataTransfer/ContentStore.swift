import Crypto
import Foundation

/// The coordinator's data files, addressed by their SHA-256, in a directory next to its
/// database: `objects/<digest>` holds complete, verified files; `partial/<digest>` an upload
/// under way (its length is how much has arrived, so an upload interrupted by a restart
/// resumes from there). A file becomes an object only when its digest matches.
///
/// Limits (bytes): one file at most `maximumFileBytes` (default 1 GiB), all files together
/// at most `maximumTotalBytes` (default 8 GiB); an upload past either is refused with the
/// numbers and the option to change. Garbage collection (`collect`) removes objects no
/// unfinished sweep refers to, once older than a grace period (an upload whose SUBMIT has
/// not arrived yet is kept), and partial uploads untouched for a day.
public final class ContentStore: @unchecked Sendable {
  public struct Limits: Sendable {
    public var maximumFileBytes: Int64
    public var maximumTotalBytes: Int64

    public init(maximumFileBytes: Int64 = 1 << 30, maximumTotalBytes: Int64 = 8 << 30) {
      self.maximumFileBytes = maximumFileBytes
      self.maximumTotalBytes = maximumTotalBytes
    }
  }

  public let directory: URL
  public let limits: Limits
  let objects: URL
  let partial: URL
  let files = FileManager.default
  /// The running SHA-256 of each upload under way and the bytes it covers, so completing a
  /// file costs no second read of it (a 1 GiB file would stall the coordinator's loop for a
  /// second). Derived from the partial files: after a restart, a partial file is hashed once
  /// when its upload resumes.
  var hashing: [String: (hasher: SHA256, bytes: Int64)] = [:]

  public init(directory: String, limits: Limits = Limits()) throws {
    self.directory = URL(fileURLWithPath: directory)
    self.limits = limits
    objects = self.directory.appendingPathComponent("objects")
    partial = self.directory.appendingPathComponent("partial")
    for folder in [objects, partial] {
      do {
        try files.createDirectory(at: folder, withIntermediateDirectories: true)
      } catch {
        throw TransferError("cannot create the data store at \(folder.path): \(error.localizedDescription)")
      }
    }
  }

  func objectURL(_ digest: String) -> URL { objects.appendingPathComponent(digest) }
  func partialURL(_ digest: String) -> URL { partial.appendingPathComponent(digest) }

  func size(_ url: URL) -> Int64? {
    (try? files.attributesOfItem(atPath: url.path)[.size] as? NSNumber)?.int64Value
  }

  public func has(_ digest: String) -> Bool { files.fileExists(atPath: objectURL(digest).path) }

  /// For each digest not stored: the bytes already received of its upload (0 if none).
  public func missing(_ digests: [String]) -> [String: Int64] {
    var missing: [String: Int64] = [:]
    for digest in digests where !has(digest) { missing[digest] = size(partialURL(digest)) ?? 0 }
    return missing
  }

  /// Bytes held, complete and partial.
  public var totalBytes: Int64 {
    [objects, partial].reduce(0) { total, folder in
      total
        + ((try? files.contentsOfDirectory(at: folder, includingPropertiesForKeys: nil)) ?? []).reduce(0) {
          $0 + (size($1) ?? 0)
        }
    }
  }

  /// Appends one chunk of `digest`'s upload at `offset`; when the file reaches `size` bytes
  /// it is verified and stored. Returns the bytes held and whether the file is complete.
  /// A chunk at the wrong offset is an error that names the expected offset (the client
  /// resumes from there); a file whose digest does not match is deleted.
  public func receive(digest: String, size total: Int64, offset: Int64, bytes: [UInt8]) throws -> (
    received: Int64, complete: Bool
  ) {
    if has(digest) { return (total, true) }
    guard total <= limits.maximumFileBytes else {
      throw TransferError(
        "data file \(digest.prefix(12))… is \(total) bytes; this coordinator accepts at most \(limits.maximumFileBytes) per file (--data-max-file-mb)"
      )
    }
    let url = partialURL(digest)
    let held = size(url) ?? 0
    if offset == 0 && held == 0 {
      // A new upload: is there room for all of it?
      let used = totalBytes
      guard used + total <= limits.maximumTotalBytes else {
        throw TransferError(
          "the coordinator's data store holds \(used) bytes; \(total) more would pass its limit of \(limits.maximumTotalBytes) (--data-max-total-mb)"
        )
      }
    }
    guard offset == held else {
      throw TransferError("upload of \(digest.prefix(12))… must continue at byte \(held), not \(offset)")
    }
    guard held + Int64(bytes.count) <= total else {
      throw TransferError("upload of \(digest.prefix(12))… is longer than its declared \(total) bytes")
    }
    if !files.fileExists(atPath: url.path) { files.createFile(atPath: url.path, contents: nil) }
    var running = hashing.removeValue(forKey: digest)
    if running?.bytes != held {
      var hasher = SHA256()
      if held > 0 { try ContentDigest.update(&hasher, file: url.path) }
      running = (hasher, held)
    }
    guard let handle = FileHandle(forWritingAtPath: url.path) else {
      throw TransferError("cannot write \(url.path)")
    }
    do {
      try handle.seekToEnd()
      try handle.write(contentsOf: bytes)
      if held + Int64(bytes.count) == total { try handle.synchronize() }
      try handle.close()
    } catch {
      try? handle.close()
      throw TransferError("cannot write \(url.path): \(error.localizedDescription)")
    }
    let received = held + Int64(bytes.count)
    running!.hasher.update(data: bytes)
    running!.bytes = received
    guard received == total else {
      hashing[digest] = running
      return (received, false)
    }
    let actual = ContentDigest.hex(running!.hasher.finalize())
    guard actual == digest else {
      try? files.removeItem(at: url)
      throw TransferError(
        "upload of \(digest.prefix(12))… arrived with SHA-256 \(actual.prefix(12))…; it was discarded, send it again"
      )
    }
    try? files.removeItem(at: objectURL(digest))
    try files.moveItem(at: url, to: objectURL(digest))
    return (received, true)
  }

  /// Up to `length` bytes of a stored file from `offset` (fewer at its end).
  public func read(digest: String, offset: Int64, length: Int) throws -> [UInt8] {
    guard let handle = FileHandle(forReadingAtPath: objectURL(digest).path) else {
      throw TransferError("unknown data \(digest)")
    }
    defer { try? handle.close() }
    try handle.seek(toOffset: UInt64(offset))
    return Array(try handle.read(upToCount: length) ?? Data())
  }

  /// Marks a stored file as just used (the grace period of `collect` starts again).
  public func touch(_ digest: String) {
    try? files.setAttributes([.modificationDate: Date()], ofItemAtPath: objectURL(digest).path)
  }

  /// Removes stored files not in `keep` and older than `grace` seconds, and partial uploads
  /// older than `partialGrace`. Returns the digests removed.
  @discardableResult
  public func collect(
    keep: Set<String>, now: Date = Date(), grace: TimeInterval = 3600, partialGrace: TimeInterval = 86_400
  )
    -> [String]
  {
    var removed: [String] = []
    for (folder, age) in [(objects, grace), (partial, partialGrace)] {
      let entries =
        (try? files.contentsOfDirectory(at: folder, includingPropertiesForKeys: [.contentModificationDateKey]))
        ?? []
      for entry in entries where !keep.contains(entry.lastPathComponent) {
        let modified =
          (try? entry.resourceValues(forKeys: [.contentModificationDateKey]).contentModificationDate)
          ?? .distantPast
        if now.timeIntervalSince(modified) >= age, (try? files.removeItem(at: entry)) != nil {
          removed.append(entry.lastPathComponent)
        }
      }
    }
    return removed
  }
}
