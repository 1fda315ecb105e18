import Logging
import Search
import Store

extension Recovery.Snapshot {
  /// Reads every running sweep from the store, for `Recovery.rebuild`. A sweep whose config
  /// no longer parses (a format change) is logged and left as it is.
  static func running(in store: Store, logger: Logger) throws -> [Recovery.Snapshot] {
    var snapshots: [Recovery.Snapshot] = []
    for record in try store.sweeps() where record.state == .running {
      guard
        let spec = try? SweepConfig.parse(
          text: record.configText, file: record.file, dataDigests: record.digests)
      else {
        logger.error(
          "sweep \(record.id): its config no longer parses; not resumed", metadata: ["sweep": "\(record.id)"])
        continue
      }
      snapshots.append(
        Recovery.Snapshot(
          record: record, spec: spec, trials: try store.trials(sweep: record.id),
          metrics: try store.currentMetrics(sweep: record.id), events: try store.events(sweep: record.id)))
    }
    return snapshots
  }
}
