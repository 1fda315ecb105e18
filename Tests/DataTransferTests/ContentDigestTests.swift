import Client
import Foundation
import XCTest

@testable import DataTransfer

final class ContentDigestTests: XCTestCase {
  /// FIPS 180-2 appendix B test vectors.
  func testKnownVectors() throws {
    XCTAssertEqual(
      ContentDigest.sha256(Array("abc".utf8)),
      "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    XCTAssertEqual(
      ContentDigest.sha256([]), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    // A file hashed in 1 MiB blocks equals the one-shot digest (here 2.5 MiB of a pattern).
    let bytes = (0..<(5 << 19)).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
    let file = FileManager.default.temporaryDirectory.appendingPathComponent("digest-\(UUID().uuidString)")
    try Data(bytes).write(to: file)
    defer { try? FileManager.default.removeItem(at: file) }
    XCTAssertEqual(try ContentDigest.sha256(file: file.path), ContentDigest.sha256(bytes))
    XCTAssertThrowsError(try ContentDigest.sha256(file: "/nonexistent/file"))
  }
}
