import Foundation

/// A program sweep's code, as it travels: the files of one directory (by default the
/// config file's), in a tar archive built so the same files always give the same bytes
/// (sorted names, no times, no owners), so its SHA-256 names the code and a re-submit of
/// unchanged code uploads nothing.
///
/// Which files: where git is installed and the directory is in a work tree, what git would
/// track (`git ls-files --cached --others --exclude-standard`: `.gitignore` honoured);
/// otherwise every file under it. Never `.git`, nor what sweepd or Python leave behind
/// (`sweepd.db*` and any store's `*.db.lock`, `*.db-wal`, `*.db-shm`, `*.db.data`;
/// `__pycache__`, `*.pyc`, `.sweepd-*`, `.venv*`, `wandb`); nor what the
/// config's `code.exclude` globs match (against the path relative to the directory, or its
/// file name).
public struct CodeSnapshot: Sendable {
  /// Patterns always left out.
  public static let alwaysExcluded = [
    ".git", "sweepd.db", "sweepd.db-*", "sweepd.db.*", "__pycache__", "*.pyc", ".sweepd-*", ".venv*", "wandb",
    // A store's companions under any name (`--db runs.db`): its lock, WAL, shared memory
    // and uploaded files, which would otherwise travel, and grow, with every submit.
    "*.db.lock", "*.db-wal", "*.db-shm", "*.db.data",
  ]
  /// The default size limit (the files' total, bytes): 64 MiB.
  public static let defaultLimit: Int64 = 64 << 20

  public var directory: String
  /// Relative paths, sorted.
  public var files: [String]
  /// Bytes per file (same order as `files`).
  public var sizes: [Int64]

  public var totalBytes: Int64 { sizes.reduce(0, +) }

  public struct Failure: Error, CustomStringConvertible {
    public var description: String
  }

  /// Lists the files of `directory` (see the type's comment), refusing more than `limit`
  /// bytes with the largest files named.
  public static func list(directory: String, exclude: [String], limit: Int64 = defaultLimit) throws
    -> CodeSnapshot
  {
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue
    else {
      throw Failure(description: "the code directory \(directory) does not exist (code.dir)")
    }
    let candidates = try gitFiles(directory) ?? walk(directory)
    let patterns = alwaysExcluded + exclude
    var files: [String] = []
    var sizes: [Int64] = []
    for relative in candidates.sorted() where !excluded(relative, patterns) {
      let path = (directory as NSString).appendingPathComponent(relative)
      guard let attributes = try? FileManager.default.attributesOfItem(atPath: path),
        attributes[.type] as? FileAttributeType == .typeRegular
          || attributes[.type] as? FileAttributeType == .typeSymbolicLink
      else { continue }
      files.append(relative)
      sizes.append((attributes[.size] as? NSNumber)?.int64Value ?? 0)
    }
    let snapshot = CodeSnapshot(directory: directory, files: files, sizes: sizes)
    if snapshot.totalBytes > limit {
      let largest = zip(files, sizes).sorted { $0.1 > $1.1 }.prefix(5)
        .map { "\($0.0) (\(mebibytes($0.1)))" }.joined(separator: ", ")
      throw Failure(
        description:
          "the code in \(directory) is \(mebibytes(snapshot.totalBytes)), over the \(mebibytes(limit)) limit; largest: \(largest). Leave files out with `code: {exclude: [\"data/*\"]}` (or .gitignore), or raise --max-code-mb"
      )
    }
    return snapshot
  }

  /// Whether `relative` (or any directory on its way) matches one of `patterns`.
  static func excluded(_ relative: String, _ patterns: [String]) -> Bool {
    let components = relative.split(separator: "/").map(String.init)
    for pattern in patterns {
      if fnmatch(pattern, relative, 0) == 0 { return true }
      // A pattern without a slash matches any one component (a file or directory name).
      if !pattern.contains("/"), components.contains(where: { fnmatch(pattern, $0, 0) == 0 }) { return true }
      // A pattern with a slash matches a leading directory too (`data/*` covers data/a/b).
      if pattern.contains("/") {
        for end in 1..<max(components.count, 1) {
          if fnmatch(pattern, components[..<end].joined(separator: "/"), 0) == 0 { return true }
        }
      }
    }
    return false
  }

  /// What git tracks or would track under `directory`; nil when git is not installed or the
  /// directory is not in a work tree.
  static func gitFiles(_ directory: String) throws -> [String]? {
    let git = Process()
    git.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    git.arguments = ["git", "-C", directory, "ls-files", "-z", "--cached", "--others", "--exclude-standard"]
    let output = Pipe()
    git.standardOutput = output
    git.standardError = FileHandle.nullDevice
    do { try git.run() } catch { return nil }
    let data = output.fileHandleForReading.readDataToEndOfFile()
    git.waitUntilExit()
    guard git.terminationStatus == 0 else { return nil }
    // Deleted but still indexed files are listed too: only those present count.
    return data.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }.filter {
      FileManager.default.fileExists(atPath: (directory as NSString).appendingPathComponent($0))
    }
  }

  static func walk(_ directory: String) -> [String] {
    var files: [String] = []
    guard let walker = FileManager.default.enumerator(atPath: directory) else { return files }
    while let relative = walker.nextObject() as? String {
      if excluded(relative, alwaysExcluded) {
        if (walker.fileAttributes?[.type] as? FileAttributeType) == .typeDirectory {
          walker.skipDescendants()
        }
        continue
      }
      if (walker.fileAttributes?[.type] as? FileAttributeType) != .typeDirectory { files.append(relative) }
    }
    return files
  }

  /// Writes the archive to `path` with GNU tar (reproducible: sorted, times and owners
  /// fixed; modes kept, so scripts stay executable).
  public func archive(to path: String) throws {
    let list = path + ".list"
    try Data(files.map { $0 + "\u{0}" }.joined().utf8).write(to: URL(fileURLWithPath: list))
    defer { try? FileManager.default.removeItem(atPath: list) }
    let tar = Process()
    tar.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    tar.arguments = [
      "tar", "-c", "-f", path, "-C", directory, "--null", "--no-recursion", "--sort=name", "--mtime=@0",
      "--owner=0", "--group=0", "--numeric-owner", "--format=gnu", "-T", list,
    ]
    let errors = Pipe()
    tar.standardError = errors
    do { try tar.run() } catch {
      throw Failure(description: "cannot run tar to snapshot the code: \(error.localizedDescription)")
    }
    let message = errors.fileHandleForReading.readDataToEndOfFile()
    tar.waitUntilExit()
    guard tar.terminationStatus == 0 else {
      throw Failure(
        description:
          "tar could not snapshot \(directory): \(String(decoding: message, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))"
      )
    }
  }

  static func mebibytes(_ bytes: Int64) -> String {
    bytes >= 1 << 20 ? String(format: "%.1f MiB", Double(bytes) / 1_048_576) : "\(bytes) bytes"
  }
}
