import Synchronization
import XCTest

@testable import Training
@testable import Worker

/// The worker's resource owners: the slot threads, the shared cores, the data cache.
final class SlotTests: XCTestCase {
  /// Jobs run on the pool's long-lived threads, each prepared once, every job exactly once.
  func testSlotPoolRunsEveryJobOnItsThreads() {
    let prepared = Atomic<Int>(0)
    let ran = Mutex<[Int]>([])
    let threads = Mutex<Set<UInt>>([])
    let done = DispatchGroup()
    let pool = SlotPool<Int>(
      threads: 3, prepare: { prepared.add(1, ordering: .relaxed) },
      run: { job in
        ran.withLock { $0.append(job) }
        threads.withLock { _ = $0.insert(UInt(pthread_self())) }
        done.leave()
      })
    for job in 0..<200 {
      done.enter()
      pool.submit(job)
    }
    XCTAssertEqual(done.wait(timeout: .now() + 10), .success)
    pool.close()
    XCTAssertEqual(ran.withLock { $0.sorted() }, Array(0..<200))
    // Every thread prepares once when it starts (some may start after the jobs are done).
    let deadline = Date().addingTimeInterval(5)
    while prepared.load(ordering: .relaxed) < 3 && Date() < deadline { usleep(1000) }
    XCTAssertEqual(prepared.load(ordering: .relaxed), 3)
    XCTAssertLessThanOrEqual(threads.withLock { $0.count }, 3, "no thread per job")
  }

  /// With r running trials on c cores each may use max(1, c / r) threads.
  func testCoreAllowanceSharesTheIdleCores() {
    let cores = CoreAllowance(total: 4)
    XCTAssertEqual(cores.share, 4)
    cores.begin()
    XCTAssertEqual(cores.share, 4, "a lone trial uses every core")
    cores.begin()
    XCTAssertEqual(cores.share, 2)
    cores.begin()
    XCTAssertEqual(cores.share, 1)
    for _ in 0..<3 { cores.begin() }
    XCTAssertEqual(cores.share, 1, "never below one")
    for _ in 0..<5 { cores.end() }
    XCTAssertEqual(cores.share, 4)
  }

  /// A trial's results do not depend on the cores it is given along the way.
  func testResultsDoNotDependOnTheShare() throws {
    var spec = TrialSpec()
    spec.data = DataSpec(dataset: .spirals)
    spec.data.samples = 600
    spec.model.hidden = [32]
    spec.batchSize = 300
    spec.epochs = 3
    let alone = try TrialRunner(spec: spec, cores: 1).run()
    let cores = CoreAllowance(total: 2)
    cores.begin()
    let shared = try TrialRunner(spec: spec, cores: 2, allowance: cores).run { metrics in
      // Another trial starts and stops between epochs: the share moves between 2 and 1.
      if metrics.epoch % 2 == 1 { cores.begin() } else { cores.end() }
      return .continue
    }
    XCTAssertEqual(alone.metrics.map(\.valLoss), shared.metrics.map(\.valLoss))
  }

  /// One preparation per data set; least recently used sets are dropped.
  func testDataCacheKeepsRecentDataSets() throws {
    let cache = DataCache(capacity: 2)
    var first = DataSpec(dataset: .moons)
    first.samples = 200
    var second = first
    second.seed = 1
    var third = first
    third.seed = 2
    let a = try cache.data(for: first)
    XCTAssertEqual(try cache.data(for: first).training.features, a.training.features)
    _ = try cache.data(for: second)
    _ = try cache.data(for: first)  // first is now the most recent
    _ = try cache.data(for: third)  // drops second
    XCTAssertEqual(cache.count, 2)
    XCTAssertEqual(cache.entries.withLock { $0.map(\.spec) }, [first, third])
    XCTAssertThrowsError(try cache.data(for: DataSpec(dataset: .csv)), "a bad spec is an error, not cached")
    XCTAssertEqual(cache.count, 2)
  }
}
