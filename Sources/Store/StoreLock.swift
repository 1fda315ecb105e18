import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// The one writer of a store: a coordinator (or `sweepd run`) holds an exclusive `flock` on
/// `STORE.lock` for as long as it runs, with its pid, host and start time written in the
/// file, so a second one on the same database is refused with a message naming the first.
/// The kernel releases the lock when the process ends, however it ends (a `kill -9`
/// included), so a restart after a crash is never blocked. Readers do not take it.
public final class StoreLock: @unchecked Sendable {
  /// Another process holds the lock.
  public struct InUse: Error, CustomStringConvertible, LocalizedError {
    public var store: String
    /// What the holder wrote: `pid 1234 on host h since 2026-12-01T23:00:00Z (sweepd coordinator)`.
    public var holder: String
    public var description: String {
      "the store \(store) is in use by another coordinator (\(holder.isEmpty ? "its pid is unknown" : holder)); stop it, or use another --db"
    }
    public var errorDescription: String? { description }
  }

  var descriptor: Int32
  public let path: String

  /// Takes the lock of the store at `store`, or throws `InUse` at once (never waits).
  /// `role` says who holds it (`sweepd coordinator`, `sweepd run`).
  public init(store: String, role: String) throws {
    path = store + ".lock"
    descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
    guard descriptor >= 0 else {
      throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO, userInfo: [NSFilePathErrorKey: path])
    }
    guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
      let holder = (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingCharacters(
        in: .whitespacesAndNewlines)
      close(descriptor)
      throw InUse(store: store, holder: holder ?? "")
    }
    let since = ISO8601DateFormatter().string(from: Date())
    // gethostname, not ProcessInfo.hostName: the latter may ask DNS, on every start.
    var name = [CChar](repeating: 0, count: 256)
    let host = gethostname(&name, name.count) == 0 ? String(cString: name) : "?"
    let text = "pid \(getpid()) on host \(host) since \(since) (\(role))\n"
    _ = ftruncate(descriptor, 0)
    _ = text.withCString { pwrite(descriptor, $0, strlen($0), 0) }
  }

  /// Gives the lock up (the store may be opened by the next writer). Idempotent.
  public func release() {
    guard descriptor >= 0 else { return }
    close(descriptor)
    descriptor = -1
  }

  deinit { release() }
}
