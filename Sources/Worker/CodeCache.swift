import DataTransfer
import Foundation

/// Code snapshots on a worker: each archive (fetched by SHA-256 through the data cache) is
/// unpacked once into `directory/<sha256>/`, then copied into every attempt's directory.
public final class CodeCache: @unchecked Sendable {
  public let directory: URL
  let lock = NSLock()
  /// Where attempts' directories are tidied after they end, one at a time.
  let janitor = DispatchQueue(label: "sweepd.code-janitor")

  public init(directory: String) {
    self.directory = URL(fileURLWithPath: directory)
  }

  /// Unpacked snapshots kept (the least recently used beyond it go, once unused for
  /// `idleBeforeEviction` seconds). Default 16.
  public var keptTrees = 16
  /// Seconds a tree must have gone unused before it may be evicted (an attempt may be
  /// copying it). Default 600.
  public var idleBeforeEviction: Double = 600
  /// What one snapshot may hold unpacked (`TarCheck`).
  public var limits = TarCheck.Limits()

  /// The unpacked tree of the archive at `archive` with `digest`. The archive is checked
  /// first (`TarCheck`: only files, directories and links inside the tree, within the
  /// limits); the tree's time is touched on each use, and old trees are evicted.
  func unpacked(_ digest: String, archive: String) throws -> URL {
    lock.lock()
    defer { lock.unlock() }
    let target = directory.appendingPathComponent(digest)
    if FileManager.default.fileExists(atPath: target.path) {
      utimes(target.path, nil)
      return target
    }
    do {
      _ = try TarCheck.check(path: archive, limits: limits)
    } catch let refusal as TarCheck.Refusal {
      throw WorkerError("the code snapshot \(digest.prefix(12))… is refused: \(refusal)")
    }
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    evict(keeping: digest)
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

  /// Removes the least recently used trees beyond `keptTrees` (and unfinished unpacks)
  /// that nothing used for `idleBeforeEviction` seconds.
  func evict(keeping digest: String) {
    let files = FileManager.default
    guard let names = try? files.contentsOfDirectory(atPath: directory.path) else { return }
    let now = Date()
    var trees: [(name: String, used: Date)] = []
    for name in names where name != digest {
      let path = directory.appendingPathComponent(name).path
      guard let used = (try? files.attributesOfItem(atPath: path))?[.modificationDate] as? Date else { continue }
      if name.hasSuffix(".part") {
        if now.timeIntervalSince(used) > idleBeforeEviction { try? files.removeItem(atPath: path) }
      } else {
        trees.append((name, used))
      }
    }
    let oldestFirst = trees.sorted { $0.used < $1.used }
    for tree in oldestFirst.prefix(max(0, trees.count + 1 - keptTrees))
    where now.timeIntervalSince(tree.used) > idleBeforeEviction {
      try? files.removeItem(at: directory.appendingPathComponent(tree.name))
    }
  }

  /// Gives `root` and everything under it to `uid`:`gid` (links themselves, not targets).
  static func chownTree(_ root: URL, uid: UInt32, gid: UInt32) throws {
    guard lchown(root.path, uid, gid) == 0 else { throw POSIXFailure(operation: "chown", path: root.path, code: errno) }
    guard let walker = FileManager.default.enumerator(atPath: root.path) else { return }
    while let relative = walker.nextObject() as? String {
      let path = root.appendingPathComponent(relative).path
      guard lchown(path, uid, gid) == 0 else { throw POSIXFailure(operation: "chown", path: path, code: errno) }
    }
  }

  /// Makes `directory` anew (an earlier run's is removed), and `parent` if it is missing.
  static func makeFreshDirectory(_ directory: URL, parent: URL) throws {
    if mkdir(directory.path, 0o755) == 0 { return }
    switch errno {
    case ENOENT: try FileManager.default.createDirectory(at: parent, withIntermediateDirectories: true)
    case EEXIST: try FileManager.default.removeItem(at: directory)
    default: throw POSIXFailure(operation: "mkdir", path: directory.path, code: errno)
    }
    guard mkdir(directory.path, 0o755) == 0 else {
      throw POSIXFailure(operation: "mkdir", path: directory.path, code: errno)
    }
  }

  /// Writes `text` to a new file at `path` (plain open and write: no temporary file).
  static func write(_ text: String, to path: String) throws {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
    guard fd >= 0 else { throw POSIXFailure(operation: "open", path: path, code: errno) }
    defer { close(fd) }
    let bytes = Array(text.utf8)
    var written = 0
    while written < bytes.count {
      let count = bytes[written...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
      guard count > 0 else { throw POSIXFailure(operation: "write", path: path, code: errno) }
      written += count
    }
  }

  struct POSIXFailure: Error, CustomStringConvertible {
    var operation: String
    var path: String
    var code: Int32
    var description: String { "\(operation) \(path): \(String(cString: strerror(code)))" }
  }

  /// Copies the tree `source` into `destination` (which exists); returns each copied
  /// file's relative path with its size and modification time, to tell later which files the
  /// program left unchanged. Files keep their modes (scripts stay executable).
  static func copyTree(_ source: URL, into destination: URL) throws -> [String: (Int, Date)] {
    var copied: [String: (Int, Date)] = [:]
    let files = FileManager.default
    guard let walker = files.enumerator(atPath: source.path) else { return copied }
    while let relative = walker.nextObject() as? String {
      let from = source.appendingPathComponent(relative).path
      let to = destination.appendingPathComponent(relative).path
      var info = stat()
      guard lstat(from, &info) == 0 else { throw POSIXFailure(operation: "stat", path: from, code: errno) }
      switch info.st_mode & S_IFMT {
      case S_IFDIR:
        guard mkdir(to, 0o755) == 0 || errno == EEXIST else {
          throw POSIXFailure(operation: "mkdir", path: to, code: errno)
        }
      case S_IFLNK:
        try files.createSymbolicLink(
          atPath: to, withDestinationPath: files.destinationOfSymbolicLink(atPath: from))
      case S_IFREG:
        copied[relative] = try copyFile(from, to, mode: info.st_mode & 0o777)
      default:
        // Never opened: a FIFO would block the slot for good.
        throw POSIXFailure(operation: "copy (not a regular file)", path: from, code: EINVAL)
      }
    }
    return copied
  }

  /// A modification time as a Date (the same conversion for the copy and the check).
  static func stamp(_ time: timespec) -> Date {
    Date(timeIntervalSince1970: Double(time.tv_sec) + Double(time.tv_nsec) / 1e9)
  }

  /// Copies one file's bytes (sendfile), returning the copy's size and modification time.
  static func copyFile(_ from: String, _ to: String, mode: mode_t) throws -> (Int, Date) {
    let input = open(from, O_RDONLY | O_CLOEXEC)
    guard input >= 0 else { throw POSIXFailure(operation: "open", path: from, code: errno) }
    defer { close(input) }
    let output = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
    guard output >= 0 else { throw POSIXFailure(operation: "create", path: to, code: errno) }
    defer { close(output) }
    while true {
      let count = sendfile(output, input, nil, 1 << 30)
      if count == 0 { break }
      guard count > 0 else { throw POSIXFailure(operation: "copy", path: to, code: errno) }
    }
    var info = stat()
    guard fstat(output, &info) == 0 else { throw POSIXFailure(operation: "stat", path: to, code: errno) }
    let modified = Date(
      timeIntervalSince1970: Double(info.st_mtim.tv_sec) + Double(info.st_mtim.tv_nsec) / 1e9)
    return (Int(info.st_size), modified)
  }

  /// Removes the files of `copied` that are still as copied (same size and modification
  /// time), and the directories that leaves empty: an attempt's directory keeps only what
  /// its program wrote.
  static func removeUnchanged(_ copied: [String: (Int, Date)], in directory: URL) {
    let files = FileManager.default
    for (relative, (size, modified)) in copied {
      let path = directory.appendingPathComponent(relative).path
      var info = stat()
      guard lstat(path, &info) == 0, Int(info.st_size) == size, stamp(info.st_mtim) == modified else {
        continue
      }
      unlink(path)
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
