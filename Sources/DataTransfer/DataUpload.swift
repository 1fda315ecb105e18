import Foundation
import Wire

/// The submitting side: every data file a sweep names is hashed and uploaded unless the
/// coordinator already has it, so workers on other boxes can fetch it by digest.
public enum DataUpload {
  /// Uploads `paths` (as written in the config, read relative to the working directory)
  /// that the coordinator lacks, resuming interrupted uploads, and returns path → SHA-256
  /// for the SUBMIT. `progress` receives a line per step of a large file (≥ 8 MiB) and one
  /// per uploaded file.
  public static func upload(
    _ paths: [String], ask: (ClientRequest) throws -> [UInt8], progress: (String) -> Void = { _ in }
  ) throws -> [String: String] {
    guard !paths.isEmpty else { return [:] }
    var digests: [String: String] = [:]
    for path in paths { digests[path] = try ContentDigest.sha256(file: path) }
    let unique = Array(Set(digests.values)).sorted()
    let reply = try ask(.haveData(HaveDataRequest(digests: unique)))
    guard let object = try JSONSerialization.jsonObject(with: Data(reply)) as? [String: Any],
      let missing = object["missing"] as? [String: Any]
    else { throw TransferError("unreadable HAVE reply from the coordinator") }
    var sent = Set<String>()
    for path in paths {
      let digest = digests[path]!
      // Two paths with the same content are one upload.
      guard let held = (missing[digest] as? NSNumber)?.int64Value, !sent.contains(digest) else { continue }
      try send(path, digest: digest, from: held, ask: ask, progress: progress)
      sent.insert(digest)
    }
    return digests
  }

  static func send(
    _ path: String, digest: String, from start: Int64, ask: (ClientRequest) throws -> [UInt8],
    progress: (String) -> Void
  ) throws {
    guard let handle = FileHandle(forReadingAtPath: path) else {
      throw TransferError("cannot read '\(path)'")
    }
    defer { try? handle.close() }
    let size = Int64(try handle.seekToEnd())
    try handle.seek(toOffset: UInt64(start))
    let large = size >= 8 << 20
    var offset = start
    var lastShown = -1
    if start > 0 { progress("uploading \(path): resuming at \(mebibytes(start)) of \(mebibytes(size))") }
    repeat {
      let chunk = Array(try handle.read(upToCount: Protocol.uploadChunkBytes) ?? Data())
      guard !chunk.isEmpty || size == 0 else {
        throw TransferError("'\(path)' changed while it was uploaded (shorter than \(size) bytes)")
      }
      let reply = try ask(.upload(UploadChunk(sha256: digest, size: size, offset: offset, bytes: chunk)))
      offset += Int64(chunk.count)
      guard let object = try JSONSerialization.jsonObject(with: Data(reply)) as? [String: Any],
        (object["received"] as? NSNumber)?.int64Value == offset
      else {
        throw TransferError("unexpected UPLOAD reply: \(String(decoding: reply.prefix(200), as: UTF8.self))")
      }
      let percent = size == 0 ? 100 : Int(offset * 100 / size)
      if large && percent / 10 != lastShown {
        lastShown = percent / 10
        progress("uploading \(path): \(percent)% (\(mebibytes(offset)) of \(mebibytes(size)))")
      }
    } while offset < size
    progress("uploaded \(path) (\(mebibytes(size)), sha256 \(digest.prefix(12))…)")
  }

  static func mebibytes(_ bytes: Int64) -> String {
    bytes < 1 << 20 ? "\(bytes) bytes" : String(format: "%.1f MiB", Double(bytes) / 1_048_576)
  }
}
