import Client
import Foundation
import Wire

/// The submitting side: every data file a sweep names is hashed and uploaded unless the
/// coordinator already has it, so workers on other boxes can fetch it by digest.
public enum DataUpload {
  /// Chunks in flight at once: the coordinator decodes and writes one while the next
  /// travels and the one after is encoded.
  public static let window = 4

  /// Uploads `paths` (as written in the config, read relative to the working directory)
  /// that the coordinator lacks, resuming interrupted uploads, and returns path → SHA-256
  /// for the SUBMIT. `progress` receives a line per step of a large file (≥ 8 MiB) and one
  /// per uploaded file.
  public static func upload(
    _ paths: [String], channel: RequestChannel, window: Int = DataUpload.window,
    progress: (String) -> Void = { _ in }
  ) throws -> [String: String] {
    guard !paths.isEmpty else { return [:] }
    var digests: [String: String] = [:]
    for path in paths { digests[path] = try ContentDigest.sha256(file: path) }
    let unique = Array(Set(digests.values)).sorted()
    let missing = try channel.haveData(HaveDataRequest(digests: unique)).missing
    var sent = Set<String>()
    for path in paths {
      let digest = digests[path]!
      // Two paths with the same content are one upload.
      guard let held = missing[digest], !sent.contains(digest) else { continue }
      try send(path, digest: digest, from: held, channel: channel, window: max(1, window), progress: progress)
      sent.insert(digest)
    }
    return digests
  }

  static func send(
    _ path: String, digest: String, from start: Int64, channel: RequestChannel, window: Int,
    progress: (String) -> Void
  ) throws {
    guard let handle = FileHandle(forReadingAtPath: path) else {
      throw TransferError("cannot read '\(path)'")
    }
    defer { try? handle.close() }
    let size = Int64(try handle.seekToEnd())
    try handle.seek(toOffset: UInt64(start))
    let large = size >= 8 << 20
    var sent = start, acknowledged = start
    var inFlight: [Int64] = []  // the end offset each outstanding chunk should be acknowledged at
    var lastShown = -1
    if size == 0 {
      _ = try channel.ask(.upload(UploadChunk(sha256: digest, size: 0, offset: 0, bytes: [])))
      progress("uploaded \(path) (0 bytes, sha256 \(digest.prefix(12))…)")
      return
    }
    if start > 0 { progress("uploading \(path): resuming at \(mebibytes(start)) of \(mebibytes(size))") }
    do {
      repeat {
        // Keep `window` chunks travelling.
        while inFlight.count < window && sent < size {
          let chunk = Array(try handle.read(upToCount: Protocol.uploadChunkBytes) ?? Data())
          guard !chunk.isEmpty else {
            throw TransferError("'\(path)' changed while it was uploaded (shorter than \(size) bytes)")
          }
          try channel.send(.upload(UploadChunk(sha256: digest, size: size, offset: sent, bytes: chunk)))
          sent += Int64(chunk.count)
          inFlight.append(sent)
        }
        let expected = inFlight.removeFirst()
        let reply = try channel.receiveUploadReply()
        guard reply.received == expected else {
          throw TransferError(
            "unexpected UPLOAD reply: \(reply.received) bytes held, \(expected) expected")
        }
        acknowledged = expected
        let percent = size == 0 ? 100 : Int(acknowledged * 100 / size)
        if large && percent / 10 != lastShown {
          lastShown = percent / 10
          progress("uploading \(path): \(percent)% (\(mebibytes(acknowledged)) of \(mebibytes(size)))")
        }
      } while acknowledged < size
    } catch {
      // The replies of chunks still travelling would be taken for the next request's.
      for _ in inFlight { _ = try? channel.receive() }
      throw error
    }
    progress("uploaded \(path) (\(mebibytes(size)), sha256 \(digest.prefix(12))…)")
  }

  static func mebibytes(_ bytes: Int64) -> String {
    bytes < 1 << 20 ? "\(bytes) bytes" : String(format: "%.1f MiB", Double(bytes) / 1_048_576)
  }
}
