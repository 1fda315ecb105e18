import XCTest

@testable import Programs

/// The metrics channel's lines, as programs write them (Python's `json.dumps`, `echo`).
final class MetricsChannelTests: XCTestCase {
  func report(_ line: String) -> MetricsChannel.Report? {
    if case .success(let report)? = MetricsChannel.parse(line) { return report }
    return nil
  }

  func testNumbersStepsAndNonFiniteValues() throws {
    let plain = try XCTUnwrap(report(#"{"val_loss": 0.31, "train_loss": 0.4}"#))
    XCTAssertEqual(plain.values, ["val_loss": 0.31, "train_loss": 0.4])
    XCTAssertNil(plain.step)
    let stepped = try XCTUnwrap(report(#"{"step": 3, "eval/loss": 1e-05, "val mAP": 12}"#))
    XCTAssertEqual(stepped.step, 3)
    XCTAssertEqual(stepped.values, ["eval/loss": 1e-05, "val mAP": 12])
    // Python's json.dumps(float("nan")) and friends.
    let odd = try XCTUnwrap(
      report(#"{"loss": NaN, "a": Infinity, "b": -Infinity, "note": "NaN inside text"}"#))
    XCTAssertTrue(odd.values["loss"]!.isNaN)
    XCTAssertEqual(odd.values["a"], .infinity)
    XCTAssertEqual(odd.values["b"], -.infinity)
    XCTAssertEqual(odd.ignored, ["note"], "text is not a metric")
    let flags = try XCTUnwrap(report(#"{"converged": true, "ok": false, "layers": [64, 32]}"#))
    XCTAssertEqual(flags.values, ["converged": 1, "ok": 0])
    XCTAssertEqual(flags.ignored, ["layers"])
  }

  func testBadLinesAreReportedNotFatal() {
    XCTAssertNil(MetricsChannel.parse("   "), "an empty line reports nothing")
    XCTAssertEqual(MetricsChannel.parse("loss=0.3"), .failure(.notJSON("loss=0.3")))
    XCTAssertEqual(MetricsChannel.parse("[1, 2]"), .failure(.notAnObject))
    XCTAssertEqual(MetricsChannel.parse(#"{"loss": 0.3"#), .failure(.notJSON(#"{"loss": 0.3"#)))
    XCTAssertEqual(MetricsChannel.parse(#"{"step": -1, "loss": 1}"#), .failure(.badStep("-1.0")))
    XCTAssertEqual(MetricsChannel.parse(#"{"step": 1.5, "loss": 1}"#), .failure(.badStep("1.5")))
  }

  /// Lines arrive in pieces: whole lines out, the tail kept; an endless line is cut.
  func testLinesAcrossChunks() {
    var splitter = MetricsChannel.LineSplitter()
    XCTAssertEqual(splitter.feed(Array(#"{"a": 1}"#.utf8) + [10] + Array(#"{"b""#.utf8)), [#"{"a": 1}"#])
    XCTAssertEqual(splitter.feed(Array(#": 2}"#.utf8) + [10, 10]), [#"{"b": 2}"#, ""])
    XCTAssertEqual(splitter.feed(Array(#"{"c": 3}"#.utf8)), [])
    XCTAssertEqual(splitter.finish(), #"{"c": 3}"#)
    XCTAssertNil(splitter.finish())
    var small = MetricsChannel.LineSplitter()
    small.maximumLine = 4
    XCTAssertEqual(small.feed(Array("abcdefgh".utf8)), ["abcd", "efgh"])
  }

  /// Metric names outside the documented set (a leading `=`, `+`, `-` or `@`, control
  /// characters, more than 128 characters) are ignored and named, never stored: an exported
  /// column can then never start a spreadsheet formula.
  func testNamesOutsideTheSetAreIgnored() throws {
    guard case .success(let report)? = MetricsChannel.parse(
      #"{"val_loss": 0.5, "=HYPERLINK(1)": 1, "-x": 2, "@a": 3, "train/loss acc.1": 4}"#)
    else { return XCTFail("the line was refused") }
    XCTAssertEqual(report.values, ["val_loss": 0.5, "train/loss acc.1": 4])
    XCTAssertEqual(report.ignored.sorted(), ["-x", "=HYPERLINK(1)", "@a"])
  }
}
