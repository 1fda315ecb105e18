import Foundation
import Search
import Store
import Vocabulary
import Wire

/// Rebuilding the coordinator's memory from its store after a restart, as a pure function of
/// what the store holds (the shell reads it; tests hand it rows).
///
/// Each running sweep is re-parsed from its config text; its trials are counted as they
/// stand; a running trial's best so far is recomputed from its stored epochs (best and
/// result are only written when a trial ends); for a sweep with a stopping policy the
/// finished curves (cut where their result was cut), the running curves and their pending
/// decisions come back too (re-derived in deterministic mode, else from the stored
/// `early_stop` events), so decisions after a restart match those before.
public enum Recovery {
  /// What the store holds of one running sweep.
  public struct Snapshot: Sendable {
    public var record: SweepRecord
    public var spec: SweepSpec
    public var trials: [TrialRecord]
    /// Stored epochs of every trial's current attempt.
    public var metrics: [MetricRecord]
    /// The sweep's stored events (the `early_stop` ones matter).
    public var events: [EventRecord]
    /// Its latest final run (a sweep with test rows), if one was created.
    public var finalRun: TrialRecord?

    public init(
      record: SweepRecord, spec: SweepSpec, trials: [TrialRecord], metrics: [MetricRecord],
      events: [EventRecord], finalRun: TrialRecord? = nil
    ) {
      self.finalRun = finalRun
      self.record = record
      self.spec = spec
      self.trials = trials
      self.metrics = metrics
      self.events = events
    }
  }

  /// The recovered book and the leases to hand the lease machine.
  public struct Result: Sendable {
    public var book = SweepBook()
    public var pending: [(trial: Int64, sweep: String, attempt: Int, maxAttempts: Int)] = []
    public var running: [(trial: Int64, sweep: String, attempt: Int, maxAttempts: Int)] = []
  }

  public static func rebuild(_ snapshots: [Snapshot]) -> Result {
    var result = Result()
    for snapshot in snapshots { rebuild(snapshot, into: &result) }
    return result
  }

  static func rebuild(_ snapshot: Snapshot, into result: inout Result) {
    let record = snapshot.record
    let spec = snapshot.spec
    result.book.add(record, plan: SweepPlan(spec: spec), created: snapshot.trials.count)
    // TPE points first: observations of finished trials carry them.
    var points: [Int: [Double]] = [:]
    if spec.method == .tpe {
      for trial in snapshot.trials {
        points[trial.configuration] =
          (try? JSONDecoder().decode([Double].self, from: Data(trial.point.utf8))) ?? []
      }
    }
    let stops = snapshot.events.filter { $0.kind == "early_stop" }
    result.book.restore(
      sweep: record.id, points: points,
      recentStops: stops.suffix(SweepStatus.Stop.shown).map {
        SweepStatus.Stop(trial: $0.trialID ?? -1, reason: $0.detail)
      })

    // Each trial's stored epochs: epoch → the sweep's metric (NaN where absent).
    var stored: [Int64: [Int: Double]] = [:]
    for row in snapshot.metrics {
      let values = MetricJSON.decodeValues(row.values) ?? [:]
      stored[row.trialID, default: [:]][row.epoch] = values[spec.metric.name.rawValue] ?? .nan
    }
    func curve(_ id: Int64) -> [Double] {
      let epochs = stored[id] ?? [:]
      return (0..<(epochs.keys.max() ?? 0)).map { epochs[$0 + 1] ?? .nan }
    }

    let judged = result.book.judge.judges(sweep: record.id)
    for trial in snapshot.trials {
      let id = trial.id!
      switch trial.state {
      case .pending:
        result.book.restore(trial, progress: nil)
        result.pending.append((id, record.id, trial.attempt, spec.maxAttempts))
      case .running:
        let seen = curve(id)
        let best = SweepBook.best(of: seen, goal: spec.metric.goal)
        result.book.restore(
          trial,
          progress: SweepBook.Progress(
            best: best?.value, bestEpoch: best?.epoch, epochs: seen.count,
            latest: seen.last.flatMap { $0.isFinite ? $0 : nil }, latestEpoch: seen.count))
        result.running.append((id, record.id, trial.attempt, spec.maxAttempts))
      default:
        result.book.restoreFinished(trial)
        if judged && (trial.state == .completed || trial.state == .earlyStopped) {
          // A finished curve is what the trial's result counts (cut at a deterministic stop).
          result.book.restoreJudge {
            $0.finished(
              sweep: record.id, index: trial.index, curve: Array(curve(id).prefix(trial.epochs)),
              earlyStopped: trial.state == .earlyStopped)
          }
        }
      }
    }
    if let final = snapshot.finalRun,
      result.book.restoreFinalRun(final, newestSearchTrial: snapshot.trials.compactMap(\.id).max())
    {
      let lease = (final.id!, record.id, final.attempt, spec.maxAttempts)
      if final.state == .running { result.running.append(lease) } else { result.pending.append(lease) }
    }
    guard judged else { return }
    // Running curves after every finished one (deterministic decisions see those).
    var storedStops: [Int64: String] = [:]
    for event in stops { if let trial = event.trialID { storedStops[trial] = event.detail } }
    for trial in snapshot.trials where trial.state == .running {
      result.book.restoreJudge {
        $0.restore(
          trial: trial.id!, sweep: record.id, index: trial.index, epochs: stored[trial.id!] ?? [:],
          storedStop: storedStops[trial.id!])
      }
    }
  }
}
