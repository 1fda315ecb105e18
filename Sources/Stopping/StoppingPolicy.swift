import Vocabulary

/// A sweep's `early_terminate` section, validated by `Search` and acted on by the
/// coordinator through `StoppingPolicy`.
public enum EarlyTermination: Hashable, Sendable {
  /// W&B's Hyperband: brackets from `min_iter` (or `max_iter` and `s`), factor `eta`.
  case hyperband(minIter: Int?, maxIter: Int?, s: Int?, eta: Double, strict: Bool)
  /// Stop after `patience` epochs without an improvement of more than `minDelta`.
  case plateau(patience: Int, minDelta: Double, relative: Bool, minEpochs: Int, restoreBest: Bool)
  /// The median stopping rule (Golovin et al. 2017), or Optuna's variant (`.stepValue`).
  case median(minTrials: Int, graceEpochs: Int, compare: MedianStoppingRule.Comparison = .runningAverage)
  /// Asynchronous successive halving (Li et al. 2020).
  case asha(minEpochs: Int, maxEpochs: Int?, eta: Double)
}

/// A stopping policy's verdict on a running trial: the epoch it was decided at and why, in
/// words shown by `sweepd status` and the leaderboard (`plateau at epoch 17: best 0.031 at
/// epoch 12, …`).
public struct StopDecision: Hashable, Sendable, CustomStringConvertible {
  public var epoch: Int
  public var reason: String

  public init(epoch: Int, reason: String) {
    self.epoch = epoch
    self.reason = reason
  }

  public var description: String { reason }
}

/// A sweep's `early_terminate` policy, as the coordinator drives it: after every epoch of a
/// running trial it asks `decide` with the trial's curve of the sweep's metric (epoch 1
/// first, NaN where missing) and the curves of the trials the policy compares against
/// (`peers`). Pure, so the same stored curves give the same decisions after a restart.
public enum StoppingPolicy: Hashable, Sendable {
  case plateau(PlateauRule)
  case median(MedianStoppingRule)
  case asha(SuccessiveHalvingRule)
  case hyperband(HyperbandRule)

  /// The policy of `termination` for a sweep whose trials run `epochs` epochs.
  public init(_ termination: EarlyTermination, goal: Goal, epochs: Int) {
    switch termination {
    case .plateau(let patience, let minDelta, let relative, let minEpochs, let restoreBest):
      self = .plateau(
        PlateauRule(
          patience: patience, minDelta: minDelta, relative: relative, minEpochs: minEpochs,
          restoreBest: restoreBest, goal: goal))
    case .median(let minTrials, let graceEpochs, let compare):
      self = .median(
        MedianStoppingRule(minTrials: minTrials, graceEpochs: graceEpochs, goal: goal, compare: compare))
    case .asha(let minEpochs, let maxEpochs, let eta):
      self = .asha(
        SuccessiveHalvingRule(minEpochs: minEpochs, maxEpochs: maxEpochs ?? epochs, eta: eta, goal: goal))
    case .hyperband(let minIter, let maxIter, let s, let eta, let strict):
      self = .hyperband(
        HyperbandRule(minIter: minIter, maxIter: maxIter, s: s, eta: eta, strict: strict, goal: goal))
    }
  }

  /// Which other trials a decision compares against.
  public enum Peers: Hashable, Sendable {
    /// None: the trial's own curve decides (plateau).
    case none
    /// Finished trials (median rule; which ones: `counts(earlyStopped:)`).
    case finished
    /// Every trial with a curve, running or finished (ASHA, Hyperband). In deterministic
    /// mode only the finished trials a trial may see.
    case all
  }

  public var peers: Peers {
    switch self {
    case .plateau: .none
    case .median: .finished
    case .asha, .hyperband: .all
    }
  }

  /// Whether a finished trial's curve is a peer: for the median rule with `compare: step`
  /// only completed trials; for everything else every completed or early-stopped one.
  public func counts(earlyStopped: Bool) -> Bool {
    if case .median(let rule) = self { return rule.counts(earlyStopped: earlyStopped) }
    return true
  }

  /// The verdict after the last epoch of `curve`. nil: continue.
  public func decide(curve: [Double], peers: [[Double]]) -> StopDecision? {
    switch self {
    case .plateau(let rule): return rule.decide(curve: curve)
    case .median(let rule):
      return rule.decide(curve: curve, finished: peers).map {
        StopDecision(epoch: $0.epoch, reason: $0.description)
      }
    case .asha(let rule): return rule.decide(curve: curve, others: peers)
    case .hyperband(let rule): return rule.decide(curve: curve, others: peers)
    }
  }

  /// Whether a trial it stops reports its best epoch as its result instead of its last
  /// (plateau's `restore_best: true`, as Keras' `restore_best_weights`).
  public var restoresBest: Bool {
    if case .plateau(let rule) = self { return rule.restoreBest }
    return false
  }
}
