import Foundation
import XCTest

@testable import Report

/// Exports that stay correct however large or hostile the data: Parquet columns cut into
/// pages (no 32-bit field overflows past 2 GiB), distinct column names, and CSV that no
/// spreadsheet runs as a formula when asked.
final class ExportSafetyTests: XCTestCase {
  func table() -> ExportTable {
    let rows = 10
    return ExportTable(columns: [
      .init(name: "trial", kind: .int, cells: (0..<rows).map { $0 % 4 == 0 ? .null : .int($0) }),
      .init(name: "best", kind: .double, cells: (0..<rows).map { .double(Double($0) / 3) }),
      .init(name: "note", kind: .string, cells: (0..<rows).map { .string(String(repeating: "x", count: $0)) }),
      .init(name: "flag", kind: .bool, cells: (0..<rows).map { .bool($0 % 3 == 0) }),
    ])
  }

  func testColumnsAreCutIntoPagesByRowsAndBytes() {
    let column = table().columns[2]
    XCTAssertEqual(ExportTable.slices(column, pageBytes: 1 << 20, pageRows: 3), [0..<3, 3..<6, 6..<9, 9..<10])
    // 4 + n bytes per string: pages close before 20 bytes (a larger row is a page alone).
    XCTAssertEqual(
      ExportTable.slices(column, pageBytes: 20, pageRows: 100), [0..<3, 3..<5, 5..<7, 7..<8, 8..<9, 9..<10])
  }

  /// pyarrow reads a many-page file as the one-page file: the same rows, nulls included.
  func testManyPagesReadBackAsOne() throws {
    let python =
      ProcessInfo.processInfo.environment["SWEEPD_TEST_PYTHON"]
      ?? URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
      .deletingLastPathComponent().appendingPathComponent(".venv-test/bin/python").path
    guard FileManager.default.isExecutableFile(atPath: python) else {
      throw XCTSkip("no Python with pyarrow (scripts/test installs one into .venv-test)")
    }
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("pq-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    let one = directory.appendingPathComponent("one.parquet")
    let many = directory.appendingPathComponent("many.parquet")
    try Data(table().parquet()).write(to: one)
    try Data(table().parquet(pageBytes: 20, pageRows: 3)).write(to: many)
    let process = Process()
    process.executableURL = URL(fileURLWithPath: python)
    process.arguments = [
      "-c",
      "import sys, pyarrow.parquet as pq\na = pq.read_table(sys.argv[1]).to_pylist()\nb = pq.read_table(sys.argv[2]).to_pylist()\nprint(a == b, len(b), b[4])",
      one.path, many.path,
    ]
    let pipe = Pipe()
    process.standardOutput = pipe
    try process.run()
    let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    XCTAssertEqual(
      output.trimmingCharacters(in: .whitespacesAndNewlines),
      "True 10 {'trial': None, 'best': 1.3333333333333333, 'note': 'xxxx', 'flag': False}")
  }

  func testSpreadsheetSafeCSVDefusesFormulas() {
    let hostile = ExportTable(columns: [
      .init(name: "=cmd", kind: .string, cells: [.string("=HYPERLINK(\"http://x\")"), .string("-2+3"), .string("ok")]),
      .init(name: "value", kind: .double, cells: [.double(-1.5), .double(2), .null]),
    ])
    XCTAssertEqual(
      hostile.csv(spreadsheetSafe: true),
      "'=cmd,value\r\n\"'=HYPERLINK(\"\"http://x\"\")\",-1.5\r\n'-2+3,2.0\r\nok,\r\n")
    XCTAssertTrue(hostile.csv().hasPrefix("=cmd,"), "unchanged unless asked")
  }

  func testColumnNamesAreDistinct() {
    let names = ExportTable.unique([
      .init(name: "best", kind: .double, cells: []), .init(name: "param.best", kind: .double, cells: []),
      .init(name: "best", kind: .double, cells: []),
    ]).map(\.name)
    XCTAssertEqual(names, ["best", "param.best", "param.param.best"])
  }
}
