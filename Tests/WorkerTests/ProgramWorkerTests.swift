import Foundation
import XCTest

@testable import Wire
@testable import Worker

/// The worker's parts for program trials: its GPU list, the gate that lends cores and GPUs,
/// the log shipper, and how a code copy is cleaned after an attempt.
final class ProgramWorkerTests: XCTestCase {
  func testGPUList() throws {
    XCTAssertEqual(try GPUList.parse("0,1"), ["0", "1"])
    XCTAssertEqual(try GPUList.parse("none"), [])
    XCTAssertEqual(try GPUList.parse("auto", detect: { ["0", "1", "2"] }), ["0", "1", "2"])
    XCTAssertEqual(try GPUList.parse("GPU-3f2a, 1"), ["GPU-3f2a", "1"])
    XCTAssertThrowsError(try GPUList.parse("0,,1")) { XCTAssertTrue("\($0)".contains("--gpus '0,,1'")) }
    XCTAssertThrowsError(try GPUList.parse("0,0")) { XCTAssertTrue("\($0)".contains("named twice")) }
  }

  func testTheGateLendsGPUsExclusively() {
    let gate = ResourceGate(cores: 4, gpus: ["0", "1"])
    let a = gate.acquire(cores: 1, gpus: 1, abandon: { false })
    let b = gate.acquire(cores: 1, gpus: 1, abandon: { false })
    XCTAssertEqual(Set([a, b].compactMap { $0?.first }), ["0", "1"])
    // A third waits; abandoning it returns nil.
    var polls = 0
    XCTAssertNil(
      gate.acquire(
        cores: 1, gpus: 1,
        abandon: {
          polls += 1; return polls > 2
        }))
    gate.release(cores: 1, gpus: a!)
    XCTAssertEqual(gate.acquire(cores: 1, gpus: 1, abandon: { false }), a)
    XCTAssertNil(gate.acquire(cores: 1, gpus: 3, abandon: { false }), "more GPUs than the worker has")
    // Cores: a 4-core trial waits for the others' cores.
    let waited = Date()
    DispatchQueue.global().asyncAfter(deadline: .now() + 0.2) { gate.release(cores: 1, gpus: b!) }
    let more = gate.acquire(cores: 3, gpus: 0, abandon: { Date().timeIntervalSince(waited) > 10 })
    XCTAssertEqual(more, [])
    XCTAssertGreaterThanOrEqual(Date().timeIntervalSince(waited), 0.15, "it waited for the cores")
  }

  func testLogShipperBatchesAndNeverSplitsACharacter() {
    var sent: [LogChunk] = []
    let attempt = AttemptID(trial: 1, attempt: 1)
    var shipper = LogShipper(attempt: attempt) { sent.append($0) }
    let text = Array("héllo ✓\n".utf8)
    // Fed one byte at a time, flushed as if due after every byte.
    var now: UInt64 = 0
    for byte in text {
      shipper.add(.stdout, [byte], now: now)
      now += LogShipper.delay
      shipper.flushIfDue(now: now)
    }
    shipper.add(.stderr, Array("oops".utf8), now: now)
    shipper.flush()
    XCTAssertEqual(sent.filter { $0.stream == .stdout }.map(\.text).joined(), "héllo ✓\n")
    XCTAssertFalse(sent.contains { $0.text.contains("\u{FFFD}") }, "\(sent.map(\.text))")
    XCTAssertEqual(sent.last?.stream, .stderr)
    XCTAssertEqual(sent.last?.text, "oops")
    // Large output goes in bounded pieces.
    sent = []
    shipper.add(.stdout, [UInt8](repeating: UInt8(ascii: "x"), count: LogChunk.maximumBytes * 2 + 5), now: 0)
    shipper.flush()
    XCTAssertEqual(sent.map(\.text.utf8.count), [LogChunk.maximumBytes, LogChunk.maximumBytes, 5])
  }

  func testAnAttemptKeepsWhatTheProgramWroteAndLosesTheCopiedCode() throws {
    let root = FileManager.default.temporaryDirectory.appendingPathComponent("code-\(UUID().uuidString)")
    defer { try? FileManager.default.removeItem(at: root) }
    let source = root.appendingPathComponent("src")
    let attempt = root.appendingPathComponent("attempt")
    try FileManager.default.createDirectory(
      at: source.appendingPathComponent("pkg"), withIntermediateDirectories: true)
    try FileManager.default.createDirectory(at: attempt, withIntermediateDirectories: true)
    try "print(1)".write(to: source.appendingPathComponent("train.py"), atomically: true, encoding: .utf8)
    try "x = 1".write(to: source.appendingPathComponent("pkg/mod.py"), atomically: true, encoding: .utf8)
    try "log".write(to: source.appendingPathComponent("notes.txt"), atomically: true, encoding: .utf8)
    let copied = try CodeCache.copyTree(source, into: attempt)
    XCTAssertEqual(Set(copied.keys), ["train.py", "pkg/mod.py", "notes.txt"])
    // The program writes a checkpoint and appends to one of its files.
    try "weights".write(to: attempt.appendingPathComponent("model.ckpt"), atomically: true, encoding: .utf8)
    try "log, and more".write(
      to: attempt.appendingPathComponent("notes.txt"), atomically: true, encoding: .utf8)
    CodeCache.removeUnchanged(copied, in: attempt)
    let left = Set(try FileManager.default.contentsOfDirectory(atPath: attempt.path))
    XCTAssertEqual(left, ["model.ckpt", "notes.txt"])
  }
}
