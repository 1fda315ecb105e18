import Foundation
import Synchronization

/// Long-lived slot threads taking jobs from one queue: a worker with N slots starts N
/// threads once, not a thread per trial. Each thread calls `prepare` once when it starts
/// (to pin OpenBLAS to one thread on it), then runs jobs until the pool is closed.
final class SlotPool<Job: Sendable>: Sendable {
  let queue = Mutex<(jobs: [Job], closed: Bool)>(([], false))
  let available = DispatchSemaphore(value: 0)
  let threads: Int

  init(threads: Int, prepare: @escaping @Sendable () -> Void, run: @escaping @Sendable (Job) -> Void) {
    self.threads = Swift.max(1, threads)
    for index in 0..<self.threads {
      let thread = Thread { [self] in
        prepare()
        while let job = next() { run(job) }
      }
      thread.name = "slot \(index)"
      thread.start()
    }
  }

  /// Queues a job for the next free slot thread.
  func submit(_ job: Job) {
    queue.withLock { $0.jobs.append(job) }
    available.signal()
  }

  /// Lets every thread finish its job and exit; queued jobs not yet taken are dropped.
  func close() {
    queue.withLock { $0.closed = true }
    for _ in 0..<threads { available.signal() }
  }

  /// The next job, waiting for one; nil once closed.
  func next() -> Job? {
    while true {
      available.wait()
      let job = queue.withLock { state -> Job?? in
        if state.closed { return .some(nil) }
        return state.jobs.isEmpty ? nil : .some(state.jobs.removeFirst())
      }
      if let job { return job }
    }
  }
}
