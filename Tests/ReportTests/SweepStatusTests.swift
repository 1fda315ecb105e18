import Vocabulary
import Wire
import XCTest

@testable import Report

final class SweepStatusTests: XCTestCase {
  func status(_ trials: [String: Int], total: Int? = 50, state: String = "running") -> SweepStatus {
    SweepStatus(
      sweep: "s1-1", name: "demo", state: state, trials: trials, total: total, best: 0.0167,
      metric: .init(name: "val_error", goal: .minimize), workers: 2)
  }

  func testCountsAndSummary() {
    let s = status(["completed": 15, "early_stopped": 3, "running": 2, "pending": 30])
    XCTAssertEqual([s.done, s.running, s.pending], [18, 2, 30])
    XCTAssertEqual(s.summary, "s1-1 running: 18/50 done, 2 running, 30 pending; best val_error 0.0167")
  }

  /// Bar fill is done/total of the width (rounded down); the ETA is the trials left over the
  /// rate seen while watching.
  func testProgressBarAndETA() {
    let s = status(["completed": 18, "running": 2, "pending": 30])
    // 10 trials ended in the 5 s watched: 2 per second, 32 left → 16 s.
    XCTAssertEqual(
      s.progressLine(elapsed: 5, doneAtStart: 8, width: 10),
      "s1-1 running [###·······] 18/50 · 2 running · 30 pending · best val_error 0.0167 · ETA 16 s")
    XCTAssertTrue(
      s.progressLine(elapsed: 5, doneAtStart: 18).hasSuffix("ETA –"), "nothing ended yet: no rate")
    XCTAssertTrue(
      status(["completed": 3], total: nil).progressLine(elapsed: 2, doneAtStart: 0).hasPrefix(
        "s1-1 running 3 done ·"))
    XCTAssertTrue(
      status(["completed": 50], state: "completed").progressLine(elapsed: 12.4, doneAtStart: 0)
        .hasSuffix(
          "[########################] 50/50 · 0 running · 0 pending · best val_error 0.0167 · 12 s watched"))
  }

  func testDurations() {
    XCTAssertEqual(SweepStatus.duration(0.42), "0.4 s")
    XCTAssertEqual(SweepStatus.duration(42.4), "42 s")
    XCTAssertEqual(SweepStatus.duration(185), "3 min 05 s")
    XCTAssertEqual(SweepStatus.duration(7620), "2 h 07 min")
  }

  func testJSONRoundTrip() throws {
    let list = [status(["completed": 1]), status([:], total: nil, state: "cancelled")]
    XCTAssertEqual(try SweepStatus.decode(SweepStatus.encode(list)), list)
    XCTAssertThrowsError(try SweepStatus.decode(Array("{}".utf8)))
  }
}
