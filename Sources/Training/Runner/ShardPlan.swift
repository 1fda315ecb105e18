import Dispatch
import Synchronization

/// How a batch is split for parallel gradient computation.
///
/// The split depends on the batch size only, never on the cores free at the moment: shards
/// of `rowsPerShard` rows (the last one shorter), each computing its gradient into its own
/// buffer, added in shard order. `concurrentPerform` spreads the fixed shards over however
/// many threads the trial owns, so the sums are bit-identical on 1 core or 8.
public struct ShardPlan: Equatable, Sendable {
  /// Rows per shard: large enough that one shard's matrix products stay efficient, small
  /// enough that a batch of 256 splits in two.
  public static let rowsPerShard = 128

  public let rows: Int
  public let shardCount: Int
  /// Rows per shard of this plan: `rowsPerShard`, or the whole batch for a network whose
  /// statistics span the batch (batch normalization).
  public let shardRows: Int

  public init(rows: Int, wholeBatch: Bool = false) {
    self.rows = rows
    shardRows = wholeBatch ? Swift.max(rows, 1) : Self.rowsPerShard
    shardCount = max(1, (rows + shardRows - 1) / shardRows)
  }

  public func range(ofShard s: Int) -> Range<Int> {
    let start = s * shardRows
    return start..<Swift.min(start + shardRows, rows)
  }
}

/// Runs `work(i)` for i in 0..<count on up to `cores` threads, or inline for one core.
/// Threads take the next index from a shared counter, so a core slowed by other load does
/// less of the work; which thread runs which index never affects the result.
@inline(__always)
func parallelFor(_ count: Int, cores: Int, _ work: (Int) -> Void) {
  let threads = Swift.min(cores, count)
  if threads <= 1 {
    for i in 0..<count { work(i) }
    return
  }
  let next = Atomic<Int>(0)
  withoutActuallyEscaping(work) { work in
    // Each index is claimed by exactly one thread and `concurrentPerform` returns only
    // when all are done, so sharing the closure's captures is safe.
    nonisolated(unsafe) let body = work
    DispatchQueue.concurrentPerform(iterations: threads) { _ in
      while true {
        let i = next.wrappingAdd(1, ordering: .relaxed).oldValue
        if i >= count { break }
        body(i)
      }
    }
  }
}
