import Vocabulary

/// Stop a trial whose monitored metric has stopped improving: Keras `EarlyStopping`
/// semantics, per trial, needing nothing but the trial's own curve.
///
/// - Epoch e improves on the best so far b when, for `minimize`, v < b − δ (absolute mode)
///   or v < b · (1 − δ) (`mode: rel`, δ a fraction); mirrored for `maximize`. δ = `minDelta`
///   (default 0, so any strict improvement counts). The first finite value always improves.
/// - Every epoch that does not improve adds one to a wait counter, an improvement resets it;
///   the trial stops on the epoch where the counter reaches `patience` (default 5): with
///   patience 3 and the best at epoch 12, the stop comes at epoch 15.
/// - No stop before epoch `minEpochs` (default 0); the counter runs from the start anyway
///   (Keras' `start_from_epoch` starts counting later; here the delay only holds the verdict).
/// - NaN or infinite values never improve (a diverging trial is stopped by its worker).
///
/// The trial's best value and its epoch stay its result; `restoreBest` says whether the
/// trial reports the best epoch's metrics as its result (true), or its last epoch's (false,
/// the default, as Keras without `restore_best_weights`).
public struct PlateauRule: Hashable, Sendable {
  public var patience: Int
  public var minDelta: Double
  public var relative: Bool
  public var minEpochs: Int
  public var restoreBest: Bool
  public var goal: Goal

  public init(
    patience: Int = 5, minDelta: Double = 0, relative: Bool = false, minEpochs: Int = 0,
    restoreBest: Bool = false, goal: Goal
  ) {
    self.patience = Swift.max(1, patience)
    self.minDelta = Swift.max(0, minDelta)
    self.relative = relative
    self.minEpochs = Swift.max(0, minEpochs)
    self.restoreBest = restoreBest
    self.goal = goal
  }

  /// Whether `value` improves on `best`.
  func improves(_ value: Double, on best: Double?) -> Bool {
    guard value.isFinite else { return false }
    guard let best else { return true }
    let margin = relative ? abs(best) * minDelta : minDelta
    return goal == .minimize ? value < best - margin : value > best + margin
  }

  /// The decision after the last epoch of `curve` (epoch 1 first). nil: continue.
  public func decide(curve: [Double]) -> StopDecision? {
    var best: Double? = nil
    var wait = 0
    for value in curve {
      if improves(value, on: best) {
        best = value
        wait = 0
      } else {
        wait += 1
      }
    }
    let epoch = curve.count
    guard epoch >= minEpochs, wait >= patience else { return nil }
    // The reason names the trial's best (with min_delta > 0 it can be a later, smaller step
    // than the improvement the count runs from).
    var bestText = "no finite value"
    if best != nil,
      let overall = goal == .minimize ? curve.filter(\.isFinite).min() : curve.filter(\.isFinite).max()
    {
      bestText = "best \(formatValue(overall)) at epoch \(curve.firstIndex(of: overall)! + 1)"
    }
    return StopDecision(
      epoch: epoch, reason: "plateau at epoch \(epoch): \(bestText), \(wait) epochs without improvement")
  }
}
