import Vocabulary

/// Asynchronous successive halving, the stopping form of ASHA (Li, Jamieson, Rostamizadeh,
/// Gonina, Ben-tzur, Hardt, Recht & Talwalkar, "A System for Massively Parallel
/// Hyperparameter Tuning", MLSys 2020, Algorithm 2).
///
/// - Rungs at r_k = `minEpochs` · ηᵏ (k = 0, 1, …) while r_k < `maxEpochs` (the trial's
///   epochs; reaching the last epoch is completing, not a rung). η = `eta` (default 3; Ray
///   and Optuna use 4 and 3). Fractional rungs are rounded down; repeated ones dropped.
/// - When a trial reports epoch r_k, its value at that epoch joins the rung's record, which
///   holds every trial that reached the rung so far (running or finished, itself included).
///   It continues only if it is in the top 1/η of the record: fewer than max(1, ⌊n/η⌋) of
///   the n recorded values are strictly better (so the first trial at a rung, or the best,
///   always continues; ties favour the trial) — Optuna's promotion rule, decided when the
///   rung is reached and never revisited.
/// - A NaN or infinite value at the rung ranks last; trials that stop before a rung are not
///   recorded at it.
///
/// New trials start as slots free up: stopped trials free them, and the sampler fills them.
public struct SuccessiveHalvingRule: Hashable, Sendable {
  public var minEpochs: Int
  public var maxEpochs: Int
  public var eta: Double
  public var goal: Goal
  /// The rung epochs, ascending.
  public let rungs: [Int]

  public init(minEpochs: Int = 1, maxEpochs: Int, eta: Double = 3, goal: Goal) {
    self.minEpochs = Swift.max(1, minEpochs)
    self.maxEpochs = Swift.max(1, maxEpochs)
    self.eta = eta > 1 ? eta : 3
    self.goal = goal
    var rungs: [Int] = []
    var rung = Double(self.minEpochs)
    // Rungs past a billion epochs are never reached, and at most `HyperbandRule.maximumBands`
    // are kept (an eta near 1 with a huge max_epochs would otherwise fill memory).
    while rung < Swift.min(Double(self.maxEpochs), 1e9) && rungs.count < HyperbandRule.maximumBands {
      if rungs.last != Int(rung) { rungs.append(Int(rung)) }
      rung *= self.eta
    }
    self.rungs = rungs
  }

  /// The decision for a trial whose curve (epoch 1 first) has just reached its last epoch,
  /// given the curves of the other trials (any length; their values at the rung count if they
  /// reached it). nil: continue.
  public func decide(curve: [Double], others: [[Double]]) -> StopDecision? {
    let epoch = curve.count
    guard rungs.contains(epoch) else { return nil }
    let own = curve[epoch - 1]
    let recorded = others.compactMap { $0.count >= epoch ? $0[epoch - 1] : nil } + [own]
    let better = recorded.filter { Self.isBetter($0, than: own, goal: goal) }.count
    let kept = Swift.max(1, Int(Double(recorded.count) / eta))
    guard better >= kept else { return nil }
    return StopDecision(
      epoch: epoch,
      reason: "asha rung \(epoch): rank \(better + 1) of \(recorded.count) (the top \(kept) continue)")
  }

  /// Strictly better, with non-finite values ranked last.
  static func isBetter(_ a: Double, than b: Double, goal: Goal) -> Bool {
    guard a.isFinite else { return false }
    guard b.isFinite else { return true }
    return goal == .minimize ? a < b : a > b
  }
}
