import Synchronization

/// The cores of one machine shared among the trials running on it: with `running` trials on
/// `total` cores, each may use `max(1, total / running)` threads. A trial reads its share at
/// every step and evaluation, so when slots empty (the end of a sweep, an adaptive sampler
/// waiting for results) the remaining trials pick up the idle cores through
/// `concurrentPerform`, and give them back as soon as new trials start.
///
/// Results do not depend on the share: gradient shards, optimizer chunks and evaluation
/// chunks are fixed by the batch and model sizes (see `ShardPlan`), never by the threads.
public final class CoreAllowance: Sendable {
  /// The machine's cores (≥ 1).
  public let total: Int
  let running = Atomic<Int>(0)

  public init(total: Int) {
    self.total = Swift.max(1, total)
  }

  /// A trial starts using the machine.
  public func begin() { running.add(1, ordering: .relaxed) }

  /// A trial is done with the machine.
  public func end() { running.subtract(1, ordering: .relaxed) }

  /// Trials using the machine now.
  public var runningTrials: Int { running.load(ordering: .relaxed) }

  /// Threads one running trial may use now: `max(1, total / running)`.
  public var share: Int { Swift.max(1, total / Swift.max(1, runningTrials)) }
}
