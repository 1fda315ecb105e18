import Client
import Crypto
import Dispatch
import Foundation
import Training
import Wire

/// The worker's side: a trial whose data file travels by digest gets it from the
/// coordinator, in chunks, verified against its SHA-256 before use, and kept in a local
/// cache directory bounded in bytes (least recently used files go first). One fetch runs at
/// a time, so slots that start together on a new file fetch it once; the parsed copy is
/// then shared between slots by the worker's `DataCache`.
///
/// A download whose digest does not match is discarded and fetched again (up to
/// `attempts` times), then the trial fails with the reason, and the coordinator retries it
/// as its next attempt: corrupt data is never used.
public final class DataFetcher: @unchecked Sendable {
  public let directory: URL
  public let capacityBytes: Int64
  let chunkBytes: Int
  let attempts: Int
  /// FETCH requests in flight at once.
  let window: Int
  /// Opens the connection to the coordinator (on first use; again after a failure).
  let connect: () throws -> RequestChannel
  var channel: RequestChannel?
  let lock = NSLock()
  var verified = Set<String>()
  /// The only directory a trial from the coordinator may read a data file from by path
  /// (nil: none — every data file must travel by digest). A coordinator can name any path;
  /// without this, a trial could read (and echo into its messages) any file the worker can.
  public var dataRoot: String?
  /// What happened, for logs and tests: chunks fetched, and downloads discarded because
  /// their digest did not match.
  public private(set) var chunksFetched = 0
  public private(set) var discarded = 0
  /// Receives a line per download and per discarded download (the worker logs them).
  public var log: @Sendable (String) -> Void = { _ in }

  /// - Parameters:
  ///   - directory: the cache (created when the first file is fetched, so a worker that
  ///     never needs one runs where it could not create it).
  ///   - capacityBytes: the cache's bound (default 4 GiB); a single file larger than it is
  ///     still kept while it is the newest.
  public init(
    directory: String, capacityBytes: Int64 = 4 << 30, chunkBytes: Int = 1 << 20, window: Int = 4,
    attempts: Int = 3, connect: @escaping () throws -> RequestChannel
  ) {
    self.directory = URL(fileURLWithPath: directory)
    self.capacityBytes = capacityBytes
    self.chunkBytes = Swift.min(chunkBytes, Protocol.maximumFetchBytes)
    self.window = Swift.max(1, window)
    self.attempts = Swift.max(1, attempts)
    self.connect = connect
  }

  /// The default cache directory: `$SWEEPD_DATA_CACHE`, else `$XDG_CACHE_HOME/sweepd/data`,
  /// else `~/.cache/sweepd/data`.
  public static var defaultDirectory: String {
    let environment = ProcessInfo.processInfo.environment
    if let explicit = environment["SWEEPD_DATA_CACHE"], !explicit.isEmpty { return explicit }
    let base =
      environment["XDG_CACHE_HOME"].flatMap { $0.isEmpty ? nil : $0 }
      ?? (NSHomeDirectory() as NSString).appendingPathComponent(".cache")
    return (base as NSString).appendingPathComponent("sweepd/data")
  }

  /// Closes the connection (a worker does before its ZeroMQ context terminates).
  public func close() {
    lock.lock()
    defer { lock.unlock() }
    channel = nil
  }

  /// `data` with every file its run reads that travels by digest replaced by its verified
  /// local copy (a search's trial never fetches the test file).
  public func resolve(_ data: DataSpec) throws -> DataSpec {
    var resolved = data
    for file in data.filesRead {
      guard let digest = file.sha256 else {
        try checkLocal(file.path, key: file.key)
        continue
      }
      resolved.relocate(file.key, to: try localFile(digest, displayName: file.path))
    }
    return resolved
  }

  /// A data file named by path alone (no digest: it did not travel with the sweep) may be
  /// read only under `dataRoot`, after resolving links and `..`.
  func checkLocal(_ path: String, key: String) throws {
    guard let dataRoot else {
      throw TransferError(
        "data.\(key) \(path) did not travel with the sweep (no digest), and this worker reads no local files; submit the sweep with `sweepd submit` (which uploads it), or start the worker with --data-root DIR"
      )
    }
    let root = URL(fileURLWithPath: dataRoot).resolvingSymlinksInPath().path
    let real = URL(fileURLWithPath: path).resolvingSymlinksInPath().path
    guard real == root || real.hasPrefix(root.hasSuffix("/") ? root : root + "/") else {
      throw TransferError("data.\(key) \(path) is not under this worker's --data-root \(dataRoot)")
    }
  }

  /// The local path of the file with `digest`, fetched now if it is not cached.
  public func localFile(_ digest: String, displayName: String? = nil) throws -> String {
    guard WireCodec.isDigest(digest) else { throw TransferError("'\(digest)' is not a SHA-256") }
    lock.lock()
    defer { lock.unlock() }
    do {
      try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    } catch {
      throw TransferError(
        "cannot create the data cache at \(directory.path) (--data-cache): \(error.localizedDescription)")
    }
    let target = directory.appendingPathComponent(digest)
    if FileManager.default.fileExists(atPath: target.path) {
      // Verified once per process (a cache file changed under us is fetched again).
      if verified.contains(digest) || (try? ContentDigest.sha256(file: target.path)) == digest {
        verified.insert(digest)
        try? FileManager.default.setAttributes([.modificationDate: Date()], ofItemAtPath: target.path)
        return target.path
      }
      try? FileManager.default.removeItem(at: target)
    }
    let name = displayName ?? String(digest.prefix(12))
    var lastError = ""
    for _ in 0..<attempts {
      let started = DispatchTime.now().uptimeNanoseconds
      let actual = try download(digest, to: directory.appendingPathComponent(digest + ".part"))
      let seconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
      if actual == digest {
        let bytes =
          (try? FileManager.default.attributesOfItem(
            atPath: directory.appendingPathComponent(digest + ".part").path)[.size] as? NSNumber)?.int64Value
          ?? 0
        log(
          "fetched data \(name) (\(bytes) bytes, sha256 \(digest.prefix(12))…) in \(String(format: "%.3f", seconds)) s"
        )
        try? FileManager.default.removeItem(at: target)
        try FileManager.default.moveItem(at: directory.appendingPathComponent(digest + ".part"), to: target)
        verified.insert(digest)
        evict(keeping: digest)
        return target.path
      }
      discarded += 1
      lastError = "data \(name): the download's SHA-256 is \(actual.prefix(12))…, not \(digest.prefix(12))…"
      log(lastError + "; discarded")
      try? FileManager.default.removeItem(at: directory.appendingPathComponent(digest + ".part"))
    }
    throw TransferError("\(lastError) (\(attempts) downloads discarded)")
  }

  /// Downloads the whole file into `part`, `window` chunks in flight (replies come in
  /// order; a chunk shorter than asked is the end); returns the SHA-256 of what arrived.
  /// After a failed request the connection is dropped, so no late reply is misread.
  func download(_ digest: String, to part: URL) throws -> String {
    FileManager.default.createFile(atPath: part.path, contents: nil)
    guard let handle = FileHandle(forWritingAtPath: part.path) else {
      throw TransferError("cannot write \(part.path)")
    }
    defer { try? handle.close() }
    if channel == nil { channel = try connect() }
    let channel = channel!
    var hasher = SHA256()
    var requested: Int64 = 0
    var inFlight = 0
    var ended = false
    do {
      while !ended || inFlight > 0 {
        while !ended && inFlight < window {
          try channel.send(.fetch(FetchRequest(sha256: digest, offset: requested, length: chunkBytes)))
          requested += Int64(chunkBytes)
          inFlight += 1
        }
        let chunk = try channel.receive()
        inFlight -= 1
        chunksFetched += 1
        // Requests sent past the end are answered with nothing; only the first short chunk counts.
        guard !ended else { continue }
        if !chunk.isEmpty {
          hasher.update(data: chunk)
          try handle.write(contentsOf: chunk)
        }
        if chunk.count < chunkBytes { ended = true }
      }
    } catch {
      self.channel = nil
      throw error
    }
    try handle.synchronize()
    return ContentDigest.hex(hasher.finalize())
  }

  /// Removes the least recently used files until the cache fits its capacity, never the one
  /// just fetched nor one used in the last minute (a slot may be about to read it).
  func evict(keeping current: String) {
    let keys: Set<URLResourceKey> = [.contentModificationDateKey, .fileSizeKey]
    let entries =
      ((try? FileManager.default.contentsOfDirectory(at: directory, includingPropertiesForKeys: Array(keys)))
      ?? [])
      .filter { $0.pathExtension.isEmpty }
      .map { url -> (URL, Date, Int64) in
        let values = try? url.resourceValues(forKeys: keys)
        return (url, values?.contentModificationDate ?? .distantPast, Int64(values?.fileSize ?? 0))
      }
      .sorted { $0.1 < $1.1 }
    var total = entries.reduce(0) { $0 + $1.2 }
    let recent = Date().addingTimeInterval(-60)
    for (url, modified, size) in entries where total > capacityBytes {
      guard url.lastPathComponent != current, modified < recent else { continue }
      if (try? FileManager.default.removeItem(at: url)) != nil {
        total -= size
        verified.remove(url.lastPathComponent)
      }
    }
  }
}
