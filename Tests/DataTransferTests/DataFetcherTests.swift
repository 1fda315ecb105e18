import Client
import Foundation
import Training
import Wire
import XCTest

@testable import DataTransfer

final class DataFetcherTests: XCTestCase {
  var directory: URL!

  override func setUpWithError() throws {
    directory = FileManager.default.temporaryDirectory.appendingPathComponent("fetch-\(UUID().uuidString)")
  }

  override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

  /// A coordinator serving `files` by digest, its replies in order like a real connection;
  /// `corrupt(request)` may damage a chunk in transit.
  final class FakeCoordinator: RequestChannel, @unchecked Sendable {
    var files: [String: [UInt8]] = [:]
    var requests: [FetchRequest] = []
    var corrupt: (FetchRequest, inout [UInt8]) -> Void = { _, _ in }
    var waiting: [FetchRequest] = []
    var mostInFlight = 0

    func send(_ request: ClientRequest) throws {
      guard case .fetch(let fetch) = request else { throw TransferError("not a FETCH") }
      waiting.append(fetch)
      mostInFlight = max(mostInFlight, waiting.count)
    }

    func receive() throws -> [UInt8] { try serve(waiting.removeFirst()) }

    func add(_ bytes: [UInt8]) -> String {
      let digest = ContentDigest.sha256(bytes)
      files[digest] = bytes
      return digest
    }

    func serve(_ request: FetchRequest) throws -> [UInt8] {
      requests.append(request)
      guard let file = files[request.sha256] else { throw TransferError("unknown data \(request.sha256)") }
      let start = min(Int(request.offset), file.count)
      var chunk = Array(file[start..<min(start + request.length, file.count)])
      corrupt(request, &chunk)
      return chunk
    }
  }

  func fetcher(_ coordinator: FakeCoordinator, capacity: Int64 = 1 << 30) throws -> DataFetcher {
    DataFetcher(directory: directory.path, capacityBytes: capacity, chunkBytes: 1000, window: 3) {
      coordinator
    }
  }

  func content(_ count: Int, _ seed: Int) -> [UInt8] {
    (0..<count).map { UInt8(truncatingIfNeeded: $0 * 13 + seed) }
  }

  func testFetchesInChunksVerifiesAndCaches() throws {
    let coordinator = FakeCoordinator()
    let bytes = content(4500, 1)
    let digest = coordinator.add(bytes)
    let fetcher = try fetcher(coordinator)
    let path = try fetcher.localFile(digest)
    XCTAssertEqual(Array(try Data(contentsOf: URL(fileURLWithPath: path))), bytes)
    // Three requests travel at once; the short chunk at 4000 ends it, and the two sent past
    // the end by then are answered with nothing.
    XCTAssertEqual(coordinator.requests.map(\.offset), [0, 1000, 2000, 3000, 4000, 5000, 6000])
    XCTAssertEqual(coordinator.mostInFlight, 3)
    // Cached: the second use fetches nothing, even from a new process (a new fetcher).
    XCTAssertEqual(try fetcher.localFile(digest), path)
    XCTAssertEqual(try self.fetcher(coordinator).localFile(digest), path)
    XCTAssertEqual(coordinator.requests.count, 7)
  }

  func testACorruptedChunkIsDetectedByTheDigestAndFetchedAgain() throws {
    let coordinator = FakeCoordinator()
    let bytes = content(3000, 2)
    let digest = coordinator.add(bytes)
    var damaged = false
    coordinator.corrupt = { request, chunk in
      // The first download's second chunk has one bit flipped in transit.
      if request.offset == 1000 && !damaged {
        damaged = true
        chunk[17] ^= 0x04
      }
    }
    let fetcher = try fetcher(coordinator)
    let path = try fetcher.localFile(digest)
    XCTAssertEqual(fetcher.discarded, 1)
    // Each download asks at 0 … 3000 (the empty chunk at 3000 ends it; 4000 and 5000 were
    // already travelling): the whole file was fetched again.
    XCTAssertEqual(
      coordinator.requests.map(\.offset), [0, 1000, 2000, 3000, 4000, 5000, 0, 1000, 2000, 3000, 4000, 5000])
    XCTAssertEqual(Array(try Data(contentsOf: URL(fileURLWithPath: path))), bytes, "never the damaged copy")
    XCTAssertEqual(try ContentDigest.sha256(file: path), digest)
  }

  func testPersistentCorruptionFailsWithTheReasonAndLeavesNothing() throws {
    let coordinator = FakeCoordinator()
    let digest = coordinator.add(content(1500, 3))
    coordinator.corrupt = { _, chunk in if !chunk.isEmpty { chunk[0] ^= 1 } }
    let fetcher = try fetcher(coordinator)
    XCTAssertThrowsError(try fetcher.localFile(digest, displayName: "train.csv")) { error in
      XCTAssertTrue("\(error)".contains("data train.csv: the download's SHA-256 is"), "\(error)")
      XCTAssertTrue("\(error)".contains("3 downloads discarded"), "\(error)")
    }
    XCTAssertEqual(fetcher.discarded, 3)
    XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory.path), [])
  }

  func testACacheFileDamagedOnDiskIsFetchedAgain() throws {
    let coordinator = FakeCoordinator()
    let bytes = content(2000, 4)
    let digest = coordinator.add(bytes)
    let path = try fetcher(coordinator).localFile(digest)
    try Data(repeating: 0, count: 2000).write(to: URL(fileURLWithPath: path))
    // A new process verifies what it finds before the first use.
    XCTAssertEqual(try fetcher(coordinator).localFile(digest), path)
    XCTAssertEqual(Array(try Data(contentsOf: URL(fileURLWithPath: path))), bytes)
  }

  func testTheCacheDropsTheLeastRecentlyUsedBeyondItsBound() throws {
    let coordinator = FakeCoordinator()
    let digests = (1...3).map { coordinator.add(content(1000, $0 * 10)) }
    let fetcher = try fetcher(coordinator, capacity: 2500)
    for (age, digest) in zip([3000.0, 2000], digests) {
      let path = try fetcher.localFile(digest)
      // Last used long ago (the minute-long protection of fresh files is over).
      try FileManager.default.setAttributes(
        [.modificationDate: Date().addingTimeInterval(-age)], ofItemAtPath: path)
    }
    _ = try fetcher.localFile(digests[2])
    let kept = Set(try FileManager.default.contentsOfDirectory(atPath: directory.path))
    XCTAssertEqual(kept, [digests[1], digests[2]], "the oldest went first")
  }

  /// A worker whose cache cannot be created still runs trials without data files; the one
  /// that needs a file fails with the reason.
  func testAnUnwritableCacheMattersOnlyWhenAFileIsNeeded() throws {
    let blocker = directory.appendingPathExtension("file")
    try Data("not a directory".utf8).write(to: blocker)
    defer { try? FileManager.default.removeItem(at: blocker) }
    let coordinator = FakeCoordinator()
    let digest = coordinator.add([1, 2, 3])
    let fetcher = DataFetcher(directory: blocker.appendingPathComponent("cache").path) { coordinator }
    XCTAssertEqual(try fetcher.resolve(DataSpec(dataset: .digits)), DataSpec(dataset: .digits))
    XCTAssertThrowsError(try fetcher.localFile(digest)) { error in
      XCTAssertTrue("\(error)".contains("cannot create the data cache at"), "\(error)")
      XCTAssertTrue("\(error)".contains("(--data-cache)"), "\(error)")
    }
    XCTAssertTrue(coordinator.requests.isEmpty)
  }

  func testResolveRelocatesOnlyFilesThatTravelByDigest() throws {
    let coordinator = FakeCoordinator()
    let digest = coordinator.add(Array("x,y\n1,0\n".utf8))
    let fetcher = try fetcher(coordinator)
    let spec = DataSpec(dataset: .csv, path: "elsewhere/train.csv", pathSHA256: digest)
    let resolved = try fetcher.resolve(spec)
    XCTAssertEqual(resolved.path, directory.appendingPathComponent(digest).path)
    XCTAssertEqual(resolved.pathSHA256, digest)
    XCTAssertEqual(try fetcher.resolve(DataSpec(dataset: .digits)), DataSpec(dataset: .digits))
    // A file without a digest did not travel with the sweep: refused unless under --data-root
    // (the defect: any file the worker could read, /dev/zero and secrets included).
    for path in ["here.csv", "/etc/passwd", "/dev/zero"] {
      XCTAssertThrowsError(try fetcher.resolve(DataSpec(dataset: .csv, path: path))) { error in
        XCTAssertTrue("\(error)".contains("did not travel with the sweep"), "\(error)")
      }
    }
    let root = directory.appendingPathComponent("root")
    try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
    fetcher.dataRoot = root.path
    let inside = DataSpec(dataset: .csv, path: root.appendingPathComponent("here.csv").path)
    XCTAssertEqual(try fetcher.resolve(inside), inside, "under --data-root it is read where it is")
    for path in ["/etc/passwd", root.appendingPathComponent("../x.csv").path, root.path + "-sibling/x.csv"] {
      XCTAssertThrowsError(try fetcher.resolve(DataSpec(dataset: .csv, path: path))) { error in
        XCTAssertTrue("\(error)".contains("is not under this worker's --data-root"), "\(error)")
      }
    }
  }

  /// A search's trial never fetches the test file; the final run (refit) does.
  func testTheSearchNeverFetchesTheTestFile() throws {
    let coordinator = FakeCoordinator()
    let train = coordinator.add(Array("x,y\n1,0\n2,1\n".utf8))
    let test = coordinator.add(Array("x,y\n3,1\n".utf8))
    let fetcher = try fetcher(coordinator)
    var spec = DataSpec(dataset: .csv, path: "train.csv", pathSHA256: train)
    spec.testPath = "test.csv"
    spec.testPathSHA256 = test
    let searched = try fetcher.resolve(spec)
    XCTAssertEqual(searched.testPath, "test.csv", "left as the user's path, unfetched")
    XCTAssertFalse(FileManager.default.fileExists(atPath: directory.appendingPathComponent(test).path))
    spec.stage = .refit
    let refit = try fetcher.resolve(spec)
    XCTAssertEqual(refit.testPath, directory.appendingPathComponent(test).path)
    XCTAssertTrue(FileManager.default.fileExists(atPath: directory.appendingPathComponent(test).path))
  }
}
