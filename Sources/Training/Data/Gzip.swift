import CZlib
import Foundation

/// Gzip (RFC 1952) and zlib decompression through zlib's `inflate`.
enum Gzip {
  struct Failure: Error, CustomStringConvertible {
    var description: String
  }

  static func isCompressed(_ data: Data) -> Bool {
    data.count >= 2 && data[data.startIndex] == 0x1f && data[data.startIndex + 1] == 0x8b
  }

  /// Decompresses gzip or zlib data. `limit` bounds the output (a hostile file cannot make
  /// it allocate more).
  static func decompress(_ data: Data, limit: Int = 1 << 31) throws -> Data {
    var stream = z_stream()
    // 15 + 32: a 32 KiB window and automatic gzip/zlib header detection.
    guard inflateInit2_(&stream, 15 + 32, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
      throw Failure(description: "zlib could not start")
    }
    defer { inflateEnd(&stream) }
    var output = Data()
    let chunk = 1 << 16
    var buffer = [UInt8](repeating: 0, count: chunk)
    var input = data
    try input.withUnsafeMutableBytes { (raw: UnsafeMutableRawBufferPointer) in
      stream.next_in = raw.bindMemory(to: Bytef.self).baseAddress
      stream.avail_in = uInt(raw.count)
      var status: Int32 = Z_OK
      repeat {
        try buffer.withUnsafeMutableBufferPointer { out in
          stream.next_out = out.baseAddress
          stream.avail_out = uInt(chunk)
          status = inflate(&stream, Z_NO_FLUSH)
          guard status == Z_OK || status == Z_STREAM_END else {
            let message = stream.msg.map { String(cString: $0) } ?? "status \(status)"
            throw Failure(description: "corrupt compressed data: \(message)")
          }
          output.append(out.baseAddress!, count: chunk - Int(stream.avail_out))
        }
        if output.count > limit { throw Failure(description: "decompressed data exceeds \(limit) bytes") }
        if status == Z_OK && stream.avail_in == 0 && stream.avail_out != 0 {
          throw Failure(description: "compressed data is truncated")
        }
      } while status != Z_STREAM_END
    }
    return output
  }
}
