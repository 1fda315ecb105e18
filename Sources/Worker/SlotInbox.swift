/// What the slot threads hand a worker's I/O thread, and when a hand-over wakes it.
///
/// Every event wakes the I/O thread at once, except an epoch's METRIC while epochs stream:
/// after the I/O thread collects an epoch it is due back `window` later, and epochs posted
/// before then wait for it, so a worker streaming short epochs wakes its I/O thread (and so
/// the ZeroMQ pipes and the coordinator behind it) once per window with a batch, not once per
/// epoch. The first epoch after a quiet spell, `began`, DONE, the epochs of trials a stopping
/// policy judges, and everything else go at once.
/// An epoch waits at most `window` (plus the poll's millisecond rounding).
///
/// Pure: times are passed in (uptime nanoseconds), so the rules are tested with a fake clock.
/// The agent keeps one in a `Mutex`.
struct SlotInbox {
  /// How long an epoch may wait for company while epochs stream (ns).
  let window: UInt64
  private(set) var events: [WorkerState.Event] = []
  /// A wake-up is pending: the I/O thread has been signalled and has not collected since.
  private(set) var signalled = false
  /// When the I/O thread is due back on its own while epochs stream (ns); 0 when not.
  private(set) var dueAt: UInt64 = 0
  /// An epoch that may wait has been posted since the last collection.
  private var batchedEpochs = false

  init(window: UInt64) {
    self.window = window
  }

  /// Adds an event; returns whether the caller must wake the I/O thread. `mayWait: false`
  /// sends an epoch at once (its trial's epochs are judged by a stopping policy as they come:
  /// a late METRIC is a late STOP, and epochs trained for nothing).
  mutating func post(_ event: WorkerState.Event, now: UInt64, mayWait: Bool = true) -> Bool {
    events.append(event)
    if case .epoch = event, mayWait { batchedEpochs = true }
    if signalled { return false }
    if case .epoch = event, mayWait, now < dueAt { return false }
    signalled = true
    return true
  }

  /// Everything posted so far, oldest first. Collecting an epoch that may wait makes the I/O
  /// thread due back one window later.
  mutating func collect(now: UInt64) -> [WorkerState.Event] {
    let collected = events
    events.removeAll(keepingCapacity: true)
    signalled = false
    if batchedEpochs { dueAt = now + window }
    batchedEpochs = false
    return collected
  }

  /// How long the I/O thread may sleep (ms, at least 1), at most `limit`.
  func sleepMilliseconds(now: UInt64, limit: Int) -> Int {
    guard dueAt > now else { return limit }
    return max(1, min(limit, Int((dueAt - now + 999_999) / 1_000_000)))
  }
}
