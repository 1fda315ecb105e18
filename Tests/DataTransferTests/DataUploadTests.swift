import Client
import Foundation
import Wire
import XCTest

@testable import DataTransfer

final class DataUploadTests: XCTestCase {
  var directory: URL!

  override func setUpWithError() throws {
    directory = FileManager.default.temporaryDirectory.appendingPathComponent("upload-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
  }

  override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

  /// A connection to a coordinator answering HAVE and UPLOAD from a real content store, in
  /// order, with the most requests seen in flight.
  final class Coordinator: RequestChannel {
    let answer: (ClientRequest) throws -> [UInt8]
    var waiting: [ClientRequest] = []
    var mostInFlight = 0
    init(_ answer: @escaping (ClientRequest) throws -> [UInt8]) { self.answer = answer }
    func send(_ request: ClientRequest) throws {
      waiting.append(request)
      mostInFlight = max(mostInFlight, waiting.count)
    }
    func receive() throws -> [UInt8] { try answer(waiting.removeFirst()) }
  }

  func coordinator(_ store: ContentStore, log: @escaping (ClientRequest) -> Void) -> Coordinator {
    Coordinator { request in
      log(request)
      switch request {
      case .haveData(let have):
        let missing = store.missing(have.digests)
        let body = missing.map { "\"\($0.key)\":\($0.value)" }.joined(separator: ",")
        return Array("{\"missing\":{\(body)}}".utf8)
      case .upload(let chunk):
        let (received, complete) = try store.receive(
          digest: chunk.sha256, size: chunk.size, offset: chunk.offset, bytes: chunk.bytes!)
        return Array("{\"received\":\(received),\"complete\":\(complete)}".utf8)
      default: throw TransferError("unexpected")
      }
    }
  }

  func testUploadsOnceInChunksAndResumes() throws {
    let file = directory.appendingPathComponent("big.csv")
    let content = (0..<(Protocol.uploadChunkBytes * 2 + 1000)).map { UInt8(truncatingIfNeeded: $0 % 251) }
    try Data(content).write(to: file)
    let digest = ContentDigest.sha256(content)
    let store = try ContentStore(directory: directory.appendingPathComponent("store").path)
    // An earlier upload was cut after its first chunk.
    _ = try store.receive(
      digest: digest, size: Int64(content.count), offset: 0,
      bytes: Array(content[0..<Protocol.uploadChunkBytes]))
    var requests: [ClientRequest] = []
    var lines: [String] = []
    let channel = coordinator(store) { requests.append($0) }
    let digests = try DataUpload.upload(
      [file.path, file.path], channel: channel, progress: { lines.append($0) })
    XCTAssertEqual(channel.mostInFlight, 2, "the two remaining chunks travelled together")
    XCTAssertEqual(digests, [file.path: digest])
    let offsets = requests.compactMap { request -> Int64? in
      if case .upload(let chunk) = request { return chunk.offset }
      return nil
    }
    XCTAssertEqual(
      offsets, [Int64(Protocol.uploadChunkBytes), Int64(2 * Protocol.uploadChunkBytes)], "resumed")
    XCTAssertTrue(store.has(digest))
    XCTAssertEqual(lines.first, "uploading \(file.path): resuming at 524288 bytes of 1.0 MiB")
    XCTAssertEqual(lines.last, "uploaded \(file.path) (1.0 MiB, sha256 \(digest.prefix(12))…)")
    // Submitting again uploads nothing.
    requests = []
    _ = try DataUpload.upload([file.path], channel: coordinator(store) { requests.append($0) })
    XCTAssertEqual(requests.count, 1, "one HAVE, no UPLOAD")
    // No files, no requests.
    let silent = Coordinator { _ in
      XCTFail("asked")
      return []
    }
    XCTAssertEqual(try DataUpload.upload([], channel: silent), [:])
  }

  /// A refused chunk stops the upload with the coordinator's reason, and the replies of the
  /// chunks still travelling are read, so the connection stays usable.
  func testARefusedChunkIsTheErrorAndTheConnectionIsDrained() throws {
    let file = directory.appendingPathComponent("big.csv")
    try Data((0..<(Protocol.uploadChunkBytes * 5)).map { UInt8(truncatingIfNeeded: $0) }).write(to: file)
    let store = try ContentStore(
      directory: directory.appendingPathComponent("store").path,
      limits: .init(maximumFileBytes: 1 << 30, maximumTotalBytes: Int64(Protocol.uploadChunkBytes)))
    let channel = coordinator(store) { _ in }
    XCTAssertThrowsError(try DataUpload.upload([file.path], channel: channel)) { error in
      XCTAssertTrue("\(error)".contains("would pass its limit"), "\(error)")
    }
    XCTAssertEqual(channel.waiting.count, 0, "no reply left behind")
  }

  func testAMissingFileIsAClearError() {
    XCTAssertThrowsError(try DataUpload.upload(["/no/such/data.csv"], channel: Coordinator { _ in [] })) {
      error in
      XCTAssertTrue("\(error)".contains("cannot read '/no/such/data.csv'"), "\(error)")
    }
  }
}
