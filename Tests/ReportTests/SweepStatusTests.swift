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
    var reached = status(["completed": 3, "running": 1, "cancelled": 9], total: nil)
    reached.target = "trial 3 reached metric.target (val_error 0.01 ≤ 0.02): the sweep creates no more trials"
    XCTAssertEqual(
      reached.summary,
      "s1-1 running: 3/? done, 9 cancelled, 1 running, 0 pending; best val_error 0.0167\n  trial 3 reached metric.target (val_error 0.01 ≤ 0.02): the sweep creates no more trials"
    )
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

  /// A refresh never wraps: the line fits the terminal (the bar shrinks, then the end is
  /// cut), so `\r\e[K` clears all of it.
  func testTheProgressLineFitsTheTerminal() {
    let s = status(["completed": 18, "running": 2, "pending": 30])
    let full = s.progressLine(elapsed: 5, doneAtStart: 8)
    XCTAssertGreaterThan(full.count, 80)
    for columns in [100, 80, 60, 30] {
      let line = s.progressLine(elapsed: 5, doneAtStart: 8, columns: columns)
      XCTAssertLessThanOrEqual(line.count, columns, line)
    }
    XCTAssertTrue(s.progressLine(elapsed: 5, doneAtStart: 8, columns: 80).contains("18/50"))
    // The counts give way before the best value and the ETA do.
    let narrow = s.progressLine(elapsed: 5, doneAtStart: 8, columns: 70)
    XCTAssertTrue(narrow.contains("best val_error 0.0167") && narrow.contains("ETA "), narrow)
    XCTAssertFalse(narrow.contains("pending"), narrow)
  }

  /// The ETA follows the smoothed completion rate: a burst of finishes moves it a little,
  /// not from minutes to seconds.
  func testTheETAIsSmoothed() {
    var estimator = ETAEstimator()
    var etas: [Double] = []
    // One trial a second for 10 s, then a burst of 20 in one second.
    var done = 0
    for second in 0...10 {
      etas.append(estimator.update(elapsed: Double(second), done: done, remaining: 100 - done) ?? -1)
      done += 1
    }
    let steady = etas.last!
    done += 20
    let afterBurst = estimator.update(elapsed: 11, done: done, remaining: 100 - done)!
    XCTAssertEqual(steady, 90, accuracy: 1, "at one trial a second, 90 left is 90 s")
    XCTAssertGreaterThan(afterBurst, steady / 8, "one burst does not collapse the estimate")
    XCTAssertLessThan(afterBurst, steady)
  }
}

/// Paths and series are told apart by colour and dash together: no two of the first 64
/// share both (sgd and sgd_hd were both solid blue with 9 optimizers).
final class SeriesStyleTests: XCTestCase {
  func testEveryPathHasItsOwnColourAndDash() {
    let styles = (0..<64).map { SVG.style($0) }
    XCTAssertEqual(Set(styles.map { "\($0.colour) \($0.dash)" }).count, 64)
    XCTAssertEqual(Set(styles.prefix(8).map(\.dash)).count, 8, "the first 8 also differ in dash alone")
  }
}

/// Titles are never clipped: centred on the picture, smaller when long.
final class ChartTitleTests: XCTestCase {
  func testLongTitlesShrinkToFit() {
    XCTAssertEqual(Chart.titleSize("short", 560), 14)
    let long = "best val_error against initial learning rate, model.hidden = [128, 64, 32]"
    let size = Chart.titleSize(long, 560)
    XCTAssertLessThan(size, 14)
    XCTAssertLessThanOrEqual(Double(long.count) * 0.6 * Double(size), 560 - 16)
  }
}
