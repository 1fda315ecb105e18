import Stopping

/// Early stopping as a pure state machine: epochs in, stop decisions out.
///
/// Per running trial of a sweep with a stopping policy it keeps the curve of the sweep's
/// metric *as far as the epochs have arrived without a gap* (a value may be NaN). An epoch
/// that arrives ahead of a missing one (after a reconnect a worker resends what the
/// coordinator may have missed) waits until the gap is filled; a duplicate is ignored. Each
/// epoch the curve gains is judged by the policy, in order, exactly once, so decisions do not
/// depend on message order, and a judge rebuilt from the stored epochs decides as before.
///
/// The peers a decision compares against (`StoppingPolicy.Peers`): none (plateau); the
/// finished trials a trial may see (median, and every policy in deterministic mode: trials
/// with index < k − L); or those and every other *running* trial of the sweep (ASHA,
/// Hyperband). A trial that is requeued, fails or is cancelled leaves the peer set at once
/// (`abandon`). Decisions are returned, never acted on here: the shell writes each as an
/// event in its group commit and only then sends the STOP.
public struct StopJudge: Sendable {
  /// A stopping decision about a running trial: record it, then stop the trial.
  public struct Decision: Hashable, Sendable {
    public var trial: Int64
    public var sweep: String
    /// The epoch the decision was made at.
    public var epoch: Int
    public var reason: String
  }

  /// How a watched trial ended, for its result: the stop decided about it (if any) and its
  /// contiguous curve.
  public struct Ending: Hashable, Sendable {
    public var reason: String?
    /// Deterministic mode only: the decision epoch, where the trial's result is cut.
    public var stopEpoch: Int?
    public var curve: [Double]
  }

  /// One sweep's policy and the curves of its finished trials, by trial index.
  struct Panel: Sendable {
    var policy: StoppingPolicy
    /// Deterministic mode's lag L (nil: off).
    var lag: Int?
    var finished: [Int: [Double]] = [:]

    /// The finished curves trial `index` may see, in index order.
    func curves(visibleTo index: Int) -> [[Double]] {
      let bound = lag.map { Swift.max(0, index - $0) } ?? Int.max
      return finished.keys.filter { $0 < bound }.sorted().map { finished[$0]! }
    }
  }

  /// One running trial's curve.
  struct Watch: Sendable {
    var sweep: String
    var index: Int
    var curve: [Double] = []
    var early: [Int: Double] = [:]
    var reason: String?
    var stopEpoch: Int?
  }

  var panels: [String: Panel] = [:]
  var watches: [Int64: Watch] = [:]

  public init() {}

  /// Sweeps judged, and trials watched (for tests and the fuzzer's memory bound).
  public var sweepCount: Int { panels.count }
  public var watchedCount: Int { watches.count }

  /// A sweep with a stopping policy; `lag`: deterministic mode's L.
  public mutating func add(sweep: String, policy: StoppingPolicy, lag: Int?) {
    panels[sweep] = Panel(policy: policy, lag: lag)
  }

  /// A sweep has ended: forget it and its trials.
  public mutating func remove(sweep: String) {
    panels[sweep] = nil
    watches = watches.filter { $0.value.sweep != sweep }
  }

  public func judges(sweep: String) -> Bool { panels[sweep] != nil }

  /// A trial of a judged sweep started an attempt: a fresh curve.
  public mutating func begin(trial: Int64, sweep: String, index: Int) {
    guard panels[sweep] != nil else { return }
    watches[trial] = Watch(sweep: sweep, index: index)
  }

  /// An epoch of a watched trial's current attempt: extends its curve (or waits for the
  /// epochs before it) and judges each epoch the curve gains. At most one decision per trial.
  public mutating func epoch(trial: Int64, epoch: Int, value: Double) -> [Decision] {
    guard var watch = watches[trial], let panel = panels[watch.sweep], epoch > watch.curve.count else {
      return []
    }
    guard epoch == watch.curve.count + 1 else {
      watch.early[epoch] = value
      watches[trial] = watch
      return []
    }
    var decisions: [Decision] = []
    var next: Double? = value
    while let added = next {
      watch.curve.append(added)
      if watch.reason == nil,
        let stop = panel.policy.decide(curve: watch.curve, peers: peers(of: trial, watch, panel))
      {
        watch.reason = stop.reason
        if panel.lag != nil { watch.stopEpoch = stop.epoch }
        decisions.append(Decision(trial: trial, sweep: watch.sweep, epoch: stop.epoch, reason: stop.reason))
      }
      next = watch.early.removeValue(forKey: watch.curve.count + 1)
    }
    watches[trial] = watch
    return decisions
  }

  /// The curves a decision about `trial` compares against.
  func peers(of trial: Int64, _ watch: Watch, _ panel: Panel) -> [[Double]] {
    guard panel.policy.peers != .none else { return [] }
    var peers = panel.curves(visibleTo: watch.index)
    if panel.policy.peers == .all && panel.lag == nil {
      // Rules rank values, so the order of the running peers does not matter: no sort on
      // the path every judged epoch takes.
      for (other, running) in watches where other != trial && running.sweep == watch.sweep {
        peers.append(running.curve)
      }
    }
    return peers
  }

  /// The stop decided about a running trial, if any (its DONE has not come yet).
  public func stopReason(of trial: Int64) -> String? { watches[trial]?.reason }

  /// The trial's attempt ended with a result: stop watching it and say how it ended.
  public mutating func end(trial: Int64) -> Ending? {
    guard let watch = watches.removeValue(forKey: trial) else { return nil }
    return Ending(reason: watch.reason, stopEpoch: watch.stopEpoch, curve: watch.curve)
  }

  /// The trial's attempt ended without a result (requeued, failed for good, cancelled): it
  /// is no longer a peer, and its decision, if any, is void.
  public mutating func abandon(trial: Int64) {
    watches[trial] = nil
  }

  /// A trial finished with `curve` as its result's curve: a peer for later decisions if the
  /// policy counts it (`StoppingPolicy.counts(earlyStopped:)`).
  public mutating func finished(sweep: String, index: Int, curve: [Double], earlyStopped: Bool) {
    guard let panel = panels[sweep], panel.policy.counts(earlyStopped: earlyStopped) else { return }
    panels[sweep]?.finished[index] = curve
  }

  /// Whether the policy of `sweep` restores a stopped trial's best epoch as its result.
  public func restoresBest(sweep: String) -> Bool { panels[sweep]?.policy.restoresBest ?? false }

  // MARK: Recovery

  /// A running trial rebuilt from its stored epochs (epoch → value): the contiguous curve,
  /// the epochs after a gap held, and its stop: in deterministic mode decided again from the
  /// same curve and finished peers (so the same epoch), otherwise the stored decision.
  mutating func restore(
    trial: Int64, sweep: String, index: Int, epochs stored: [Int: Double], storedStop: String?
  ) {
    guard let panel = panels[sweep] else { return }
    var epochs = stored
    var watch = Watch(sweep: sweep, index: index)
    while let value = epochs.removeValue(forKey: watch.curve.count + 1) { watch.curve.append(value) }
    watch.early = epochs
    if panel.lag != nil {
      let visible = panel.policy.peers == .none ? [] : panel.curves(visibleTo: index)
      for epoch in 1...Swift.max(1, watch.curve.count) where epoch <= watch.curve.count {
        if let stop = panel.policy.decide(curve: Array(watch.curve.prefix(epoch)), peers: visible) {
          watch.reason = stop.reason
          watch.stopEpoch = epoch
          break
        }
      }
    } else {
      watch.reason = storedStop
    }
    watches[trial] = watch
  }
}
