import Client
import Foundation
import Wire
import XCTest

@testable import DataTransfer

final class ContentStoreTests: XCTestCase {
  var directory: URL!

  override func setUpWithError() throws {
    directory = FileManager.default.temporaryDirectory.appendingPathComponent("content-\(UUID().uuidString)")
  }

  override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

  func bytes(_ count: Int, seed: UInt8 = 1) -> [UInt8] {
    (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ Int(seed)) }
  }

  func store(_ limits: ContentStore.Limits = .init()) throws -> ContentStore {
    try ContentStore(directory: directory.path, limits: limits)
  }

  func testChunkedUploadIsVerifiedStoredAndReadBack() throws {
    let content = bytes(100_000)
    let digest = ContentDigest.sha256(content)
    let store = try store()
    XCTAssertEqual(store.missing([digest]), [digest: 0])
    var offset = 0
    while offset < content.count {
      let end = min(offset + 30_000, content.count)
      let (received, complete) = try store.receive(
        digest: digest, size: Int64(content.count), offset: Int64(offset), bytes: Array(content[offset..<end])
      )
      XCTAssertEqual(received, Int64(end))
      XCTAssertEqual(complete, end == content.count)
      offset = end
    }
    XCTAssertTrue(store.has(digest))
    XCTAssertEqual(store.missing([digest]), [:])
    XCTAssertEqual(try store.read(digest: digest, offset: 0, length: 10), Array(content[0..<10]))
    XCTAssertEqual(try store.read(digest: digest, offset: 99_990, length: 100), Array(content[99_990...]))
    XCTAssertEqual(try store.read(digest: digest, offset: 100_000, length: 100), [])
    XCTAssertThrowsError(try store.read(digest: String(repeating: "0", count: 64), offset: 0, length: 1))
  }

  func testAFileThatDoesNotMatchItsDigestIsDiscarded() throws {
    let content = bytes(1000)
    let claimed = ContentDigest.sha256(bytes(1000, seed: 2))
    let store = try store()
    XCTAssertThrowsError(try store.receive(digest: claimed, size: 1000, offset: 0, bytes: content)) { error in
      XCTAssertTrue("\(error)".contains("discarded, send it again"), "\(error)")
    }
    XCTAssertFalse(store.has(claimed))
    XCTAssertEqual(store.missing([claimed]), [claimed: 0], "nothing of the bad upload is kept")
  }

  func testAnInterruptedUploadResumesAfterARestart() throws {
    let content = bytes(50_000)
    let digest = ContentDigest.sha256(content)
    _ = try store().receive(digest: digest, size: 50_000, offset: 0, bytes: Array(content[0..<20_000]))
    // A new coordinator process on the same directory.
    let restarted = try store()
    XCTAssertEqual(restarted.missing([digest]), [digest: 20_000])
    XCTAssertThrowsError(
      try restarted.receive(digest: digest, size: 50_000, offset: 0, bytes: Array(content[0..<20_000]))
    ) { error in
      XCTAssertTrue("\(error)".contains("must continue at byte 20000"), "\(error)")
    }
    let (_, complete) = try restarted.receive(
      digest: digest, size: 50_000, offset: 20_000, bytes: Array(content[20_000...]))
    XCTAssertTrue(complete)
    XCTAssertEqual(try restarted.read(digest: digest, offset: 0, length: 50_000), content)
  }

  func testLimitsAreClearErrors() throws {
    let store = try store(.init(maximumFileBytes: 1000, maximumTotalBytes: 1500))
    let big = bytes(1001)
    XCTAssertThrowsError(
      try store.receive(digest: ContentDigest.sha256(big), size: 1001, offset: 0, bytes: big)
    ) { error in
      XCTAssertTrue("\(error)".contains("at most 1000 per file (--data-max-file-mb)"), "\(error)")
    }
    let first = bytes(900)
    _ = try store.receive(digest: ContentDigest.sha256(first), size: 900, offset: 0, bytes: first)
    let second = bytes(900, seed: 9)
    XCTAssertThrowsError(
      try store.receive(digest: ContentDigest.sha256(second), size: 900, offset: 0, bytes: second)
    ) { error in
      XCTAssertTrue("\(error)".contains("limit of 1500 (--data-max-total-mb)"), "\(error)")
    }
    XCTAssertEqual(store.totalBytes, 900)
  }

  func testGarbageCollectionKeepsWhatUnfinishedSweepsUseAndRecentUploads() throws {
    let store = try store()
    let used = bytes(100, seed: 1), unused = bytes(100, seed: 2), partial = bytes(100, seed: 3)
    for content in [used, unused] {
      _ = try store.receive(digest: ContentDigest.sha256(content), size: 100, offset: 0, bytes: content)
    }
    _ = try store.receive(
      digest: ContentDigest.sha256(partial), size: 100, offset: 0, bytes: Array(partial[0..<50]))
    // Within the grace period nothing goes (an upload whose SUBMIT is on its way).
    XCTAssertEqual(store.collect(keep: [ContentDigest.sha256(used)]), [])
    // Two hours later: the unreferenced object goes; the day-long partial stays.
    let removed = store.collect(keep: [ContentDigest.sha256(used)], now: Date().addingTimeInterval(7200))
    XCTAssertEqual(removed, [ContentDigest.sha256(unused)])
    XCTAssertTrue(store.has(ContentDigest.sha256(used)))
    XCTAssertEqual(store.missing([ContentDigest.sha256(partial)]).values.first, 50)
    // Two days later the abandoned partial upload goes too.
    XCTAssertEqual(
      store.collect(keep: [ContentDigest.sha256(used)], now: Date().addingTimeInterval(2 * 86_400)),
      [ContentDigest.sha256(partial)])
  }
}
