import Crypto
import Foundation

/// SHA-256 content addresses (FIPS 180-4, through swift-crypto), as 64 lowercase hex digits.
public enum ContentDigest {
  /// The digest of a file, read in 1 MiB blocks (memory stays flat for large files).
  public static func sha256(file path: String) throws -> String {
    var hasher = SHA256()
    try update(&hasher, file: path)
    return hex(hasher.finalize())
  }

  /// Feeds a whole file to `hasher`, in 1 MiB blocks.
  static func update(_ hasher: inout SHA256, file path: String) throws {
    guard let handle = FileHandle(forReadingAtPath: path) else {
      throw TransferError("cannot read '\(path)'")
    }
    defer { try? handle.close() }
    while true {
      let block = try handle.read(upToCount: 1 << 20) ?? Data()
      if block.isEmpty { break }
      hasher.update(data: block)
    }
  }

  public static func sha256(_ bytes: [UInt8]) -> String {
    hex(SHA256.hash(data: bytes))
  }

  static func hex(_ digest: SHA256.Digest) -> String {
    digest.map { String(format: "%02x", $0) }.joined()
  }
}

/// A data transfer failed; says what and why, for the user.
public struct TransferError: Error, CustomStringConvertible, LocalizedError {
  public var description: String
  public init(_ description: String) { self.description = description }
  public var errorDescription: String? { description }
}
