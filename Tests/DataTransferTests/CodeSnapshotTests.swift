import Foundation
import XCTest

@testable import DataTransfer

/// What a program sweep sends: the right files, the same bytes for the same files, and a
/// clear refusal when it is too big.
final class CodeSnapshotTests: XCTestCase {
  var root: URL!

  override func setUpWithError() throws {
    root = FileManager.default.temporaryDirectory.appendingPathComponent("snapshot-\(UUID().uuidString)")
    for path in [
      "train.py", "lib/util.py", "data/big.bin", "__pycache__/x.pyc", "sweepd.db", "sweepd.db-wal",
      "notes.md",
    ] {
      let url = root.appendingPathComponent(path)
      try FileManager.default.createDirectory(
        at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
      try Data(repeating: 65, count: path == "data/big.bin" ? 4096 : 10).write(to: url)
    }
  }

  override func tearDownWithError() throws { try? FileManager.default.removeItem(at: root) }

  func git(_ arguments: String...) throws {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["git", "-C", root.path] + arguments
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    try process.run()
    process.waitUntilExit()
  }

  func testFilesWithoutGitLeaveOutWhatSweepdAndPythonLeaveBehind() throws {
    let snapshot = try CodeSnapshot.list(directory: root.path, exclude: ["data/*"])
    XCTAssertEqual(snapshot.files, ["lib/util.py", "notes.md", "train.py"])
  }

  func testGitignoreIsHonouredWhereGitIsPresent() throws {
    // git is there wherever this repository was cloned.
    try git("init", "-q")
    try "*.md\n".write(to: root.appendingPathComponent(".gitignore"), atomically: true, encoding: .utf8)
    let snapshot = try CodeSnapshot.list(directory: root.path, exclude: [])
    XCTAssertEqual(snapshot.files, [".gitignore", "data/big.bin", "lib/util.py", "train.py"])
  }

  func testTheSameFilesGiveTheSameArchive() throws {
    let snapshot = try CodeSnapshot.list(directory: root.path, exclude: [])
    let a = root.path + "/../a-\(UUID().uuidString).tar"
    let b = root.path + "/../b-\(UUID().uuidString).tar"
    defer {
      try? FileManager.default.removeItem(atPath: a)
      try? FileManager.default.removeItem(atPath: b)
    }
    try snapshot.archive(to: a)
    // Touch every file: times do not enter the archive.
    for file in snapshot.files {
      try FileManager.default.setAttributes(
        [.modificationDate: Date(timeIntervalSinceNow: 1000)],
        ofItemAtPath: root.appendingPathComponent(file).path)
    }
    try snapshot.archive(to: b)
    XCTAssertEqual(try ContentDigest.sha256(file: a), try ContentDigest.sha256(file: b))
  }

  func testTooBigIsRefusedWithTheLargestFilesNamed() {
    XCTAssertThrowsError(try CodeSnapshot.list(directory: root.path, exclude: [], limit: 1000)) { error in
      let text = "\(error)"
      XCTAssertTrue(text.contains("over the 1000 bytes limit"), text)
      XCTAssertTrue(text.contains("largest: data/big.bin (4096 bytes)"), text)
    }
    XCTAssertThrowsError(try CodeSnapshot.list(directory: root.path + "/nope", exclude: [])) {
      XCTAssertTrue("\($0)".contains("does not exist (code.dir)"))
    }
  }
}
