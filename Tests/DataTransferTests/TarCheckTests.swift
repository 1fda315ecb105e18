import Foundation
import XCTest

@testable import DataTransfer

/// A code snapshot is checked before a worker unpacks it: what `sweepd submit` makes passes;
/// a FIFO (which hung a slot for good), a device node, a path or link out of the tree, or
/// an archive that unpacks past the limits is refused, naming the member.
final class TarCheckTests: XCTestCase {
  var directory: URL!

  override func setUpWithError() throws {
    directory = FileManager.default.temporaryDirectory.appendingPathComponent("tar-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
  }

  override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

  /// One ustar header (with its checksum, so GNU tar reads it too), then `size` bytes of data
  /// rounded up to a block (only when `data` is true).
  func member(_ name: String, type: Character, size: Int = 0, link: String = "", data: Bool = true) -> [UInt8] {
    var header = [UInt8](repeating: 0, count: 512)
    func put(_ text: String, at offset: Int) {
      for (index, byte) in text.utf8.enumerated() { header[offset + index] = byte }
    }
    put(name, at: 0)
    put("0000644", at: 100)
    put("0000000", at: 108)
    put("0000000", at: 116)
    put(String(format: "%011o", size), at: 124)
    put("00000000000", at: 136)
    header[156] = type.asciiValue!
    put(link, at: 157)
    put("ustar\u{0}00", at: 257)
    put("        ", at: 148)
    let sum = header.reduce(0) { $0 + Int($1) }
    put(String(format: "%06o", sum) + "\u{0} ", at: 148)
    guard data else { return header }
    return header + [UInt8](repeating: 65, count: (size + 511) / 512 * 512)
  }

  func archive(_ members: [[UInt8]]) throws -> String {
    let path = directory.appendingPathComponent("a-\(UUID().uuidString).tar").path
    try Data(members.flatMap { $0 } + [UInt8](repeating: 0, count: 1024)).write(to: URL(fileURLWithPath: path))
    return path
  }

  func testWhatSubmitMakesPasses() throws {
    let code = directory.appendingPathComponent("code")
    try FileManager.default.createDirectory(
      at: code.appendingPathComponent("lib"), withIntermediateDirectories: true)
    try Data("print(1)\n".utf8).write(to: code.appendingPathComponent("train.py"))
    try Data(repeating: 1, count: 3000).write(to: code.appendingPathComponent("lib/weights.bin"))
    try FileManager.default.createSymbolicLink(
      atPath: code.appendingPathComponent("lib/main.py").path, withDestinationPath: "../train.py")
    let long = String(repeating: "d", count: 120)
    try FileManager.default.createDirectory(
      at: code.appendingPathComponent(long), withIntermediateDirectories: true)
    try Data("x".utf8).write(to: code.appendingPathComponent("\(long)/\(long).py"))
    let snapshot = try CodeSnapshot.list(directory: code.path, exclude: [])
    let path = directory.appendingPathComponent("code.tar").path
    try snapshot.archive(to: path)
    let summary = try TarCheck.check(path: path)
    XCTAssertEqual(summary.files, 3)
    XCTAssertEqual(summary.links, 1)
    XCTAssertEqual(summary.bytes, 9 + 3000 + 1)
  }

  func testWhatASnapshotNeverHoldsIsRefusedByName() throws {
    let cases: [([UInt8], String)] = [
      (member("pipe", type: "6"), "'pipe' is a FIFO"),
      (member("dev/sda", type: "4"), "'dev/sda' is a block device"),
      (member("tty", type: "3"), "'tty' is a character device"),
      (member("big", type: "S", size: 10), "'big' is a sparse file"),
      (member("../escape.py", type: "0", size: 3), "'../escape.py' is outside"),
      (member("/etc/cron.d/x", type: "0", size: 3), "'/etc/cron.d/x' is outside"),
      (member("a/../../b", type: "0", size: 3), "outside"),
      (member("lib/evil", type: "2", link: "../../etc/passwd"), "leads outside"),
      (member("lib/abs", type: "2", link: "/etc/passwd"), "leads outside"),
    ]
    for (bytes, expected) in cases {
      XCTAssertThrowsError(try TarCheck.check(path: try archive([bytes]))) { error in
        XCTAssertTrue("\(error)".contains(expected), "\(error) lacks \(expected)")
      }
    }
    // A header claiming more than the limit is refused before a byte is written.
    var limits = TarCheck.Limits()
    limits.unpackedBytes = 1000
    XCTAssertThrowsError(
      try TarCheck.check(path: try archive([member("huge.bin", type: "0", size: 5000)]), limits: limits)
    ) { error in XCTAssertTrue("\(error)".contains("more than 1000 bytes"), "\(error)") }
    limits = TarCheck.Limits()
    limits.members = 3
    XCTAssertThrowsError(
      try TarCheck.check(
        path: try archive((0..<5).map { member("f\($0)", type: "0", size: 1) }), limits: limits)
    ) { error in XCTAssertTrue("\(error)".contains("more than 3 members"), "\(error)") }
    // An in-tree link and plain files pass.
    XCTAssertEqual(
      try TarCheck.check(
        path: try archive([member("a.py", type: "0", size: 4), member("b/c", type: "2", link: "../a.py")])
      ).links, 1)
  }
}
