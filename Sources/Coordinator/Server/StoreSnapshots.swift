import Logging
import Search
import Store

extension Recovery.Snapshot {
  /// Reads every running sweep from the store, for `Recovery.rebuild`. A sweep whose config
  /// no longer parses (a format change) is logged and left as it is.
  static func running(in store: Store, logger: Logger) throws -> [Recovery.Snapshot] {
    var snapshots: [Recovery.Snapshot] = []
    for record in try store.sweeps() where record.state.isLive {
      guard let snapshot = try snapshot(of: record, in: store, logger: logger) else { continue }
      snapshots.append(snapshot)
    }
    return snapshots
  }

  /// One sweep as the store holds it; nil (logged) when its config no longer parses.
  static func snapshot(of record: SweepRecord, in store: Store, logger: Logger) throws -> Recovery.Snapshot? {
    guard let spec = try? record.spec() else {
      logger.error(
        "sweep \(record.id): its config no longer parses; not resumed", metadata: ["sweep": "\(record.id)"])
      return nil
    }
    return Recovery.Snapshot(
      record: record, spec: spec, trials: try store.trials(sweep: record.id),
      metrics: try store.currentMetrics(sweep: record.id), events: try store.events(sweep: record.id),
      finalRun: try store.refit(sweep: record.id))
  }
}

extension Recovery {
  /// A finished sweep made live again (`sweepd extend`, `enqueue`): rebuilt from the store
  /// into `book` as recovery rebuilds sweeps, so TPE sees every earlier result and random
  /// and Sobol continue their sequences. False when the store cannot give it back.
  static func revive(_ record: SweepRecord, from store: Store, into book: inout SweepBook, logger: Logger)
    -> Bool
  {
    guard let snapshot = try? Recovery.Snapshot.snapshot(of: record, in: store, logger: logger) else {
      return false
    }
    var result = Recovery.Result(book: book)
    Recovery.rebuild(snapshot, into: &result)
    book = result.book
    return true
  }
}

extension SweepRecord {
  /// The sweep's spec: its config as submitted, with a run_cap given later (`sweepd extend`).
  func spec() throws -> SweepSpec {
    // Read back, not written: its warnings were given at submission.
    var spec = try SweepConfig.parse(
      text: configText, file: file, dataDigests: digests, checkingCombinations: false)
    if let runCap { spec.runCap = runCap }
    return spec
  }
}
