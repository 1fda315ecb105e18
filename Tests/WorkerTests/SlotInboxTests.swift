import XCTest

@testable import Wire
@testable import Worker

/// The hand-over from slot threads to the I/O thread, on a fake clock (ns).
final class SlotInboxTests: XCTestCase {
  let attempt = AttemptID(trial: 1, attempt: 1)
  let ms: UInt64 = 1_000_000

  func epoch(_ number: Int) -> WorkerState.Event {
    .epoch(MetricReport(attempt: attempt, epoch: number, values: ["val_loss": Double(number)]))
  }

  func done() -> WorkerState.Event {
    .finished(DoneReport(attempt: attempt, status: .completed, epochs: 3, seconds: 0.01))
  }

  func testTheFirstEpochWakesAndLaterOnesWaitForTheWindow() {
    var inbox = SlotInbox(window: 5 * ms)
    XCTAssertEqual(inbox.sleepMilliseconds(now: 0, limit: 50), 50)
    XCTAssertTrue(inbox.post(epoch(1), now: 1 * ms), "an epoch after a quiet spell goes at once")
    XCTAssertFalse(inbox.post(epoch(2), now: 1 * ms + 10), "already signalled")
    XCTAssertEqual(inbox.collect(now: 2 * ms), [epoch(1), epoch(2)])
    // Streaming: the I/O thread is due back at 7 ms; epochs before then do not wake it.
    XCTAssertEqual(inbox.sleepMilliseconds(now: 2 * ms, limit: 50), 5)
    XCTAssertFalse(inbox.post(epoch(3), now: 3 * ms))
    XCTAssertFalse(inbox.post(epoch(4), now: 6 * ms))
    XCTAssertEqual(inbox.sleepMilliseconds(now: 6 * ms + 1, limit: 50), 1, "rounds up, never 0")
    XCTAssertEqual(inbox.collect(now: 7 * ms), [epoch(3), epoch(4)], "in order, at most one window late")
    // Nothing new in the next window: the stream went quiet, so the next epoch goes at once.
    XCTAssertEqual(inbox.collect(now: 12 * ms), [])
    XCTAssertEqual(inbox.sleepMilliseconds(now: 12 * ms, limit: 50), 50)
    XCTAssertTrue(inbox.post(epoch(5), now: 13 * ms))
  }

  func testEverythingButAnEpochWakesAtOnce() {
    var inbox = SlotInbox(window: 5 * ms)
    XCTAssertTrue(inbox.post(epoch(1), now: 0))
    _ = inbox.collect(now: 0)
    XCTAssertFalse(inbox.post(epoch(2), now: 1 * ms))
    XCTAssertTrue(inbox.post(done(), now: 1 * ms), "DONE goes at once, taking the waiting epoch along")
    XCTAssertTrue(inbox.post(.began(attempt), now: 1 * ms) == false, "one wake-up is pending already")
    XCTAssertEqual(inbox.collect(now: 1 * ms), [epoch(2), done(), .began(attempt)])
    XCTAssertTrue(inbox.post(.began(attempt), now: 2 * ms))
  }

  func testAWindowOfZeroWakesForEveryEpoch() {
    var inbox = SlotInbox(window: 0)
    for number in 1...5 {
      XCTAssertTrue(inbox.post(epoch(number), now: UInt64(number) * ms))
      XCTAssertEqual(inbox.collect(now: UInt64(number) * ms), [epoch(number)])
    }
  }

  /// A trial whose epochs a stopping policy judges sends each at once, and does not keep the
  /// I/O thread coming back.
  func testPromptEpochsNeverWait() {
    var inbox = SlotInbox(window: 5 * ms)
    XCTAssertTrue(inbox.post(epoch(1), now: 0))
    _ = inbox.collect(now: 0)
    XCTAssertTrue(inbox.post(epoch(2), now: 1 * ms, mayWait: false), "judged epochs go at once")
    _ = inbox.collect(now: 1 * ms)
    XCTAssertTrue(inbox.post(epoch(3), now: 2 * ms, mayWait: false))
    XCTAssertEqual(inbox.collect(now: 2 * ms), [epoch(3)])
    XCTAssertEqual(inbox.sleepMilliseconds(now: 8 * ms, limit: 50), 50, "no batch pending: sleep long")
  }
}
