import Foundation
import Search
import Stopping
import Store
import Vocabulary
import Wire

/// Every live sweep's and trial's progress, as a pure value: transitions and metrics in,
/// store changes and typed actions out. No I/O and no clock of its own (times are passed in).
///
/// One value per unfinished trial (`Trial`), whose `phase` says where it is; a trial leaves
/// the book when it ends, so memory holds only what is pending or running (plus, per sweep,
/// what later decisions need: TPE's observations and the stopping policy's finished curves).
/// Trial creation is two steps, so the store knows first: `proposal(for:)` plans new trials
/// without changing the book, the shell writes them, and `commit(_:stored:)` adds them.
public struct SweepBook: Sendable {
  /// What the shell must do besides writing the returned store changes.
  public enum Action: Hashable, Sendable {
    /// Write this event (a stopping decision) in the next group commit…
    case record(EventRecord)
    /// …then stop the trial's running attempt.
    case stop(trial: Int64, reason: String)
    /// The sweep reached its `metric.target`: cancel its pending trials (running ones finish).
    case closePending(sweep: String, reason: String)
  }

  /// A live sweep: its plan, how far creation got, and what its decisions need.
  public struct Sweep: Sendable {
    public var record: SweepRecord
    public var plan: SweepPlan
    /// Trials created so far (the next trial's index).
    public var created: Int
    /// For TPE: each configuration's point (repeats reuse it).
    var points: [Int: [Double]] = [:]
    /// For TPE: the finished trials as sampler observations, by trial index.
    var observations: [Int: Observation] = [:]
    /// Deterministic mode's lag L (nil: off), and which trial indices have finished: every
    /// index below `finishedPrefix` has.
    var lag: Int?
    var finishedIndices: Set<Int> = []
    var finishedPrefix = 0

    /// Trials that have ended (completed, failed, …): the prefix plus those past it.
    public var finished: Int { finishedPrefix + finishedIndices.count }
    /// Trials by state and the best finished value, kept as transitions are applied, so a
    /// status request reads no trial rows.
    public var counts: [TrialState: Int] = [:]
    public var bestFinished: Double?
    /// The latest stopping decisions, oldest first (at most `SweepStatus.Stop.shown`).
    public var recentStops: [SweepStatus.Stop] = []
    /// The trial whose metric first reached `metric.target` (nil: none has, or no target).
    /// Derived from stored results, so recovery finds it again.
    public var targetReachedBy: Int64?
    /// With held-out test rows: the trial the search selects so far (the best finished
    /// value, the earliest on a tie, as the leaderboard ranks), and where its final run is.
    public var selection: Selection?
    public var finalRun = FinalRun.notCreated

    init(record: SweepRecord, plan: SweepPlan, created: Int = 0) {
      self.record = record
      self.plan = plan
      self.created = created
      lag = plan.spec.deterministicLag
    }

    public var metric: SweepMetric { plan.spec.metric }
    var stopping: StoppingPolicy? {
      plan.spec.earlyTerminate.map {
        StoppingPolicy($0, goal: plan.spec.metric.goal, epochs: plan.spec.trialEpochs)
      }
    }

    /// Whether trial creation waits for earlier results: deterministic mode with an adaptive
    /// decision to make (TPE, a stopping rule that compares with peers).
    var gated: Bool {
      lag != nil && (plan.spec.method == .tpe || (stopping.map { $0.peers != .none } ?? false))
    }

    /// Deterministic mode: the results trial `index` may see are those of trials
    /// 0 ..< index − L. Otherwise (nil): every finished trial.
    func visibleBound(for index: Int) -> Int? { lag.map { Swift.max(0, index - $0) } }

    /// Whether trial `index` may be created now (its visible trials have all finished).
    func mayCreate(_ index: Int) -> Bool {
      guard gated, let bound = visibleBound(for: index) else { return true }
      return finishedPrefix >= bound
    }

    /// Finished trials as sampler observations in index order, below `bound`.
    func history(before bound: Int = Int.max) -> [Observation] {
      observations.keys.filter { $0 < bound }.sorted().map { observations[$0]! }
    }

    mutating func markFinished(_ index: Int) {
      finishedIndices.insert(index)
      while finishedIndices.remove(finishedPrefix) != nil { finishedPrefix += 1 }
    }

    /// Every trial is created (or the target was reached, so no more will be) and has ended.
    public var searchIsComplete: Bool {
      if targetReachedBy != nil { return finished >= created }
      guard let total = plan.totalTrials else { return false }
      return created >= total && finished >= created
    }

    /// The search is complete and, with test rows, its selection's final run has ended (a
    /// search in which no trial finished has nothing to test).
    public var isComplete: Bool {
      guard searchIsComplete else { return false }
      guard plan.spec.testsSelection, selection != nil else { return true }
      return finalRun == .ended
    }

    /// Whether `candidate` (a finished trial's best) beats the current selection.
    func selects(value: Double, index: Int) -> Bool {
      guard let current = selection else { return true }
      if metric.goal.prefers(value, over: current.value) { return true }
      return value == current.value && index < current.index
    }

    /// What a sweep that reached its target says about it, once only the trial is known.
    public static func targetSentence(trial: Int64) -> String {
      "trial \(trial) reached metric.target: the sweep creates no more trials"
    }

    /// Whether `value` reaches `metric.target` (≤ it when minimizing, ≥ when maximizing).
    func reachesTarget(_ value: Double?) -> Bool {
      guard let target = plan.spec.target, let value, value.isFinite else { return false }
      return plan.spec.metric.goal == .minimize ? value <= target : value >= target
    }

    /// Finished trials as sampler observations, then (with `metric.impute_while_running`)
    /// the running ones of `running` by index: each with its best value so far, or none.
    func history(before bound: Int = Int.max, running: [(index: Int, progress: Progress)]) -> [Observation] {
      var result = history(before: bound)
      guard plan.spec.imputeWhileRunning != nil else { return result }
      for (index, progress) in running.sorted(by: { $0.index < $1.index }) {
        guard let point = points[index / plan.spec.repeats] else { continue }
        result.append(
          Observation(
            point: point, value: progress.best, state: progress.best == nil ? .failed : .completed,
            latest: progress.latest))
      }
      return result
    }
  }

  /// A running attempt's progress: its best value of the sweep's metric so far and that
  /// epoch, the epochs reported, and the metric at its latest epoch (nil when not finite).
  public struct Progress: Hashable, Sendable {
    public var best: Double?
    public var bestEpoch: Int?
    public var epochs = 0
    public var latest: Double?
    public var latestEpoch = 0
  }

  /// The trial a search with test rows selects: its id, index, best value, the epochs its
  /// final run trains (its best epoch: the model the selection judged; a trial whose best
  /// was its last trains them all) and its
  /// stored spec.
  public struct Selection: Hashable, Sendable {
    public var trial: Int64
    public var index: Int
    public var value: Double
    public var epochs: Int
    var spec: String
  }

  /// The final run of a sweep with test rows.
  public enum FinalRun: Hashable, Sendable {
    case notCreated
    /// Created (pending or running) as this trial.
    case created(Int64)
    case ended
  }

  /// Where an unfinished trial is.
  public enum Phase: Hashable, Sendable {
    case pending
    case running(attempt: Int, worker: String, progress: Progress)
  }

  /// An unfinished trial of a live sweep.
  public struct Trial: Sendable {
    public var sweep: String
    public var index: Int
    /// The trial spec as stored (JSON), spliced into ASSIGN without a decode.
    public var spec: String
    public var phase: Phase
    /// Nil for a search trial; `refit` for a sweep's final run (outside the search's
    /// counts, decisions and sampler).
    public var role: TrialRecord.Role? = nil
  }

  /// New trials planned for a sweep, not yet in the book: write `records`, then `commit`.
  public struct Proposal: Sendable {
    public var sweep: String
    public var records: [TrialRecord]
    var points: [Int: [Double]]
  }

  public private(set) var sweeps: [String: Sweep] = [:]
  public private(set) var trials: [Int64: Trial] = [:]
  public private(set) var judge = StopJudge()

  public init() {}

  // MARK: Sweeps

  /// A sweep to run (submitted, or recovered with `created` trials already stored).
  public mutating func add(_ record: SweepRecord, plan: SweepPlan, created: Int = 0) {
    let sweep = Sweep(record: record, plan: plan, created: created)
    sweeps[record.id] = sweep
    if let policy = sweep.stopping { judge.add(sweep: record.id, policy: policy, lag: sweep.lag) }
  }

  /// The sweep has ended (completed, failed or cancelled; the store has the new state): it leaves
  /// the book with its trials.
  public mutating func end(_ id: String) {
    sweeps[id] = nil
    trials = trials.filter { $0.value.sweep != id }
    judge.remove(sweep: id)
  }

  /// Plans the sweep's next trials: up to its total, enough pending to keep `capacity` slots
  /// busy (twice over, plus 8), and for TPE its random start-up trials at once, then one
  /// suggestion per free slot so each sees the latest results. Deterministic mode stops at
  /// the first trial whose visible predecessors have not all finished. Nil: nothing to add.
  public func proposal(for id: String, capacity: Int, now: Double) -> Proposal? {
    if let final = finalRunProposal(for: id, now: now) { return final }
    guard let live = sweeps[id], live.targetReachedBy == nil, live.record.state == .running else {
      return nil
    }
    let spec = live.plan.spec
    let startup = live.plan.tpe.startupTrials.multipliedReportingOverflow(by: spec.repeats).partialValue
    let wanted = spec.method == .tpe ? (live.created < startup ? startup : capacity) : 2 * capacity + 8
    let pending = live.counts[.pending] ?? 0
    let total = live.plan.totalTrials
    var points = live.points
    var records: [TrialRecord] = []
    var history: [Observation]?
    var index = live.created
    while pending + records.count < wanted, total.map({ index < $0 }) ?? true, live.mayCreate(index) {
      let configuration = index / spec.repeats
      var given = points[configuration]
      if spec.method == .tpe && given == nil {
        if let bound = live.visibleBound(for: index) {
          given = live.plan.point(configuration, history: live.history(before: bound))
        } else {
          if history == nil { history = live.history(running: running(of: id)) }
          given = live.plan.point(configuration, history: history!)
        }
        points[configuration] = given
      }
      do {
        records.append(Self.record(try live.plan.trial(index, point: given), sweep: id, now: now))
      } catch {
        // Values the trainer refuses together: the trial is recorded failed with its reason,
        // and the sweep goes on with the next one.
        records.append(Self.record(refused: error, sweep: id, now: now))
      }
      index += 1
    }
    return records.isEmpty ? nil : Proposal(sweep: id, records: records, points: points)
  }

  /// The final run of a search that has ended with a selection, when the sweep has test
  /// rows and has not created it: the selected trial's spec in its `refit` (or `evaluate`)
  /// stage, same configuration and seed, role `refit`.
  func finalRunProposal(for id: String, now: Double) -> Proposal? {
    guard let live = sweeps[id], live.record.state == .running, live.plan.spec.testsSelection,
      live.searchIsComplete, live.finalRun == .notCreated, let selection = live.selection,
      let spec = TrialWork.finalRun(of: selection.spec, epochs: selection.epochs, encoder: Self.encoder)
    else { return nil }
    let repeats = live.plan.spec.repeats
    // Its index is −1 − the selected trial's: the store keeps one trial per (sweep, index).
    var record = TrialRecord(
      sweepID: id, index: TrialRecord.finalRunIndex(of: selection.index),
      configuration: selection.index / repeats,
      repeatIndex: selection.index % repeats, seed: 0, params: "{}", point: "[]", spec: spec, updatedAt: now)
    record.role = .refit
    record.message = "final run of trial \(selection.trial)"
    return Proposal(sweep: id, records: [record], points: live.points)
  }

  /// A planned trial as the row the store keeps.
  static func record(_ planned: PlannedTrial, sweep id: String, now: Double) -> TrialRecord {
    let encoder = Self.encoder
    let params = ConfigValue.map(planned.used.map { ConfigValue.Entry(key: $0.0, value: $0.1) })
    return TrialRecord(
      sweepID: id, index: planned.index, configuration: planned.configuration,
      repeatIndex: planned.repeatIndex,
      seed: planned.seed,
      params: String(decoding: (try? encoder.encode(params)) ?? Data(), as: UTF8.self),
      point: String(decoding: (try? encoder.encode(planned.point)) ?? Data(), as: UTF8.self),
      spec: String(decoding: (try? planned.work.json(encoder)) ?? Data(), as: UTF8.self),
      updatedAt: now)
  }

  /// A trial the trainer refused (`RefusedTrial`) as the row the store keeps: failed from
  /// the start, with the values drawn and the trainer's reason; it is never leased.
  static func record(refused: RefusedTrial, sweep id: String, now: Double) -> TrialRecord {
    let encoder = Self.encoder
    let params = ConfigValue.map(refused.assigned.map { ConfigValue.Entry(key: $0.0, value: $0.1) })
    var record = TrialRecord(
      sweepID: id, index: refused.index, configuration: refused.configuration,
      repeatIndex: refused.repeatIndex, seed: refused.seed,
      params: String(decoding: (try? encoder.encode(params)) ?? Data(), as: UTF8.self),
      point: String(decoding: (try? encoder.encode(refused.point)) ?? Data(), as: UTF8.self),
      spec: "{}", updatedAt: now)
    record.state = .failed
    record.message = "the trainer refuses these values together: \(refused.reason)"
    return record
  }

  /// `sweepd enqueue`: the sweep's next configuration (its `repeats` trials) with `values`
  /// in place of the sampled ones (the rest sampled as usual: TPE's suggestion from every
  /// result so far, random's or Sobol's next point). Nil when the sweep is not live or is
  /// between the repeats of a configuration; throws what the trial spec refuses.
  public func enqueueProposal(for id: String, values: [String: ConfigValue], now: Double) throws -> Proposal?
  {
    guard let live = sweeps[id] else { return nil }
    let spec = live.plan.spec
    guard live.created % spec.repeats == 0 else { return nil }
    let configuration = live.created / spec.repeats
    var points = live.points
    var given: [Double]? = nil
    if spec.method == .tpe {
      given = live.plan.point(configuration, history: live.history(running: running(of: id)))
    }
    var records: [TrialRecord] = []
    for index in live.created..<(live.created + spec.repeats) {
      let planned = try live.plan.trial(index, point: given, overrides: values)
      if index == live.created { points[configuration] = planned.point }
      given = planned.point
      records.append(Self.record(planned, sweep: id, now: now))
    }
    return Proposal(sweep: id, records: records, points: points)
  }

  /// The running trials of a sweep with their progress (for `impute_while_running`).
  func running(of sweep: String) -> [(index: Int, progress: Progress)] {
    guard sweeps[sweep]?.plan.spec.imputeWhileRunning != nil else { return [] }
    return trials.values.compactMap { trial in
      guard trial.sweep == sweep, trial.role == nil, case .running(_, _, let progress) = trial.phase else {
        return nil
      }
      return (trial.index, progress)
    }
  }

  /// The proposal's trials were stored (with their ids): they are pending now.
  public mutating func commit(_ proposal: Proposal, stored: [TrialRecord]) {
    guard var live = sweeps[proposal.sweep] else { return }
    if let final = stored.first, final.role == .refit {
      live.finalRun = .created(final.id!)
      sweeps[proposal.sweep] = live
      trials[final.id!] = Trial(
        sweep: proposal.sweep, index: final.index, spec: final.spec, phase: .pending, role: .refit)
      return
    }
    live.created += stored.count
    live.points = proposal.points
    live.counts[.pending, default: 0] += stored.count
    sweeps[proposal.sweep] = live
    for record in stored {
      let trial = Trial(sweep: proposal.sweep, index: record.index, spec: record.spec, phase: .pending)
      trials[record.id!] = trial
      // Refused at creation: ended at once (counted failed, finished for deterministic mode,
      // a failed observation for TPE).
      if record.state == .failed { ended(record.id!, trial, as: .failed, best: nil) }
    }
  }

  static let encoder: JSONEncoder = {
    let encoder = WireCodec.encoder()
    encoder.outputFormatting = [.sortedKeys]
    return encoder
  }()

  // MARK: Transitions

  /// The store change of a lease transition, with the book (and the stopping judge) brought
  /// in step. `time` is the wall-clock time for the store. Returns nil for a trial the book
  /// does not hold (its sweep ended).
  public mutating func apply(_ transition: CoordinatorState.Transition) -> Store.TrialChange? {
    switch transition {
    case .started(let attempt, let worker):
      guard var trial = trials[attempt.trial] else { return nil }
      move(trial, to: .running)
      trial.phase = .running(attempt: attempt.attempt, worker: worker, progress: Progress())
      trials[attempt.trial] = trial
      if trial.role == nil { judge.begin(trial: attempt.trial, sweep: trial.sweep, index: trial.index) }
      return Store.TrialChange(
        id: attempt.trial, ifAttempt: attempt.attempt - 1,
        [.state(.running), .attempt(attempt.attempt), .worker(worker)])
    case .finished(let attempt, let done):
      return finish(attempt, done)
    case .requeued(let lost, _, let reason):
      guard var trial = trials[lost.trial] else { return nil }
      judge.abandon(trial: lost.trial)
      move(trial, to: .pending)
      trial.phase = .pending
      trials[lost.trial] = trial
      return Store.TrialChange(
        id: lost.trial, ifAttempt: lost.attempt, [.state(.pending), .worker(nil), .message(reason)])
    case .failed(let attempt, let reason):
      guard let trial = trials[attempt.trial] else { return nil }
      judge.abandon(trial: attempt.trial)
      ended(attempt.trial, trial, as: .failed, best: nil)
      return Store.TrialChange(
        id: attempt.trial, ifAttempt: attempt.attempt, [.state(.failed), .message(reason)])
    case .cancelled(let id, let reason):
      guard let trial = trials[id] else { return nil }
      judge.abandon(trial: id)
      ended(id, trial, as: .cancelled, best: nil)
      return Store.TrialChange(
        id: id, ifAttempt: nil, [.state(.cancelled)] + (reason.map { [.message($0)] } ?? []))
    }
  }

  /// A DONE: the trial's final state, best and result. A STOP without a policy's decision
  /// is a cancellation; in deterministic mode a stopped trial's result is cut at its
  /// decision epoch, however many epochs its worker ran before the STOP arrived. The
  /// result is the last epoch's value, or the best one when the policy restores the best.
  mutating func finish(_ attempt: AttemptID, _ done: DoneReport) -> Store.TrialChange? {
    guard let trial = trials[attempt.trial], let live = sweeps[trial.sweep] else { return nil }
    var progress = Progress()
    if case .running(_, _, let seen) = trial.phase { progress = seen }
    let ending = judge.end(trial: attempt.trial)
    var state: TrialState =
      switch done.status {
      case .completed: .completed
      case .stopped: ending?.reason == nil ? .cancelled : .earlyStopped
      case .diverged: .diverged
      case .failed: .failed
      }
    var epochs = done.epochs
    var curve = ending?.curve
    if let stopEpoch = ending?.stopEpoch, let full = curve, done.status != .failed {
      let cut = Array(full.prefix(stopEpoch))
      state = .earlyStopped
      epochs = cut.count
      curve = cut
      let best = Self.best(of: cut, goal: live.metric.goal)
      progress = Progress(
        best: best?.value, bestEpoch: best?.epoch, epochs: cut.count,
        latest: cut.last.flatMap { $0.isFinite ? $0 : nil }, latestEpoch: cut.count)
    }
    var result: (value: Double?, epoch: Int)? =
      progress.latestEpoch > 0 ? (progress.latest, progress.latestEpoch) : nil
    if state == .earlyStopped, judge.restoresBest(sweep: trial.sweep) {
      result = progress.bestEpoch.map { (progress.best, $0) }
    }
    if trial.role == nil, state == .completed || state == .earlyStopped {
      judge.finished(
        sweep: trial.sweep, index: trial.index, curve: curve ?? [], earlyStopped: state == .earlyStopped)
    }
    ended(
      attempt.trial, trial, as: state, best: progress.best, latest: progress.latest,
      bestEpoch: progress.bestEpoch)
    return Store.TrialChange(
      id: attempt.trial, ifAttempt: attempt.attempt,
      [
        .state(state), .epochs(epochs), .seconds(done.seconds), .message(ending?.reason ?? done.message),
        .best(value: progress.best, epoch: progress.bestEpoch),
        .result(value: result?.value, epoch: result?.epoch),
      ])
  }

  /// Counts move between states (a final run is not counted).
  mutating func move(_ trial: Trial, to state: TrialState) {
    guard trial.role == nil else { return }
    let old: TrialState = if case .pending = trial.phase { .pending } else { .running }
    sweeps[trial.sweep]?.counts[old, default: 0] -= 1
    sweeps[trial.sweep]?.counts[state, default: 0] += 1
  }

  /// The trial has ended: counted, its best kept, TPE told, and it leaves the book.
  mutating func ended(
    _ id: Int64, _ trial: Trial, as state: TrialState, best: Double?, latest: Double? = nil,
    bestEpoch: Int? = nil
  ) {
    trials[id] = nil
    guard var live = sweeps[trial.sweep] else { return }
    if trial.role == .refit {
      // The final run: whatever its end, the sweep has its test (or its message why not).
      live.finalRun = .ended
      sweeps[trial.sweep] = live
      return
    }
    if live.plan.spec.testsSelection, state == .completed || state == .earlyStopped, let best, best.isFinite,
      let epochs = bestEpoch, live.selects(value: best, index: trial.index)
    {
      live.selection = Selection(trial: id, index: trial.index, value: best, epochs: epochs, spec: trial.spec)
    }
    let old: TrialState = if case .pending = trial.phase { .pending } else { .running }
    live.counts[old, default: 0] -= 1
    live.counts[state, default: 0] += 1
    live.markFinished(trial.index)
    if let best, best.isFinite, live.bestFinished.map({ live.metric.goal.prefers(best, over: $0) }) ?? true {
      live.bestFinished = best
    }
    if live.targetReachedBy == nil, live.reachesTarget(best) { live.targetReachedBy = id }
    if live.plan.spec.method == .tpe {
      let observed: Observation.State =
        state == .completed || state == .earlyStopped ? .completed : state == .diverged ? .diverged : .failed
      live.observations[trial.index] = Observation(
        point: live.points[trial.index / live.plan.spec.repeats] ?? [], value: best,
        state: best == nil ? .failed : observed, latest: latest)
    }
    sweeps[trial.sweep] = live
  }

  // MARK: Metrics

  /// An epoch of a running attempt (the lease machine checked it is current): its progress,
  /// and for a sweep with a stopping policy the decisions it leads to. `time`: wall clock,
  /// for the event rows.
  public mutating func record(_ metric: MetricReport, time: Double) -> [Action] {
    guard var trial = trials[metric.attempt.trial],
      case .running(let attempt, let worker, var progress) = trial.phase, attempt == metric.attempt.attempt,
      let live = sweeps[trial.sweep]
    else { return [] }
    let value = metric.values[live.metric.name.rawValue]
    progress.epochs = max(progress.epochs, metric.epoch)
    if let value, value.isFinite, progress.best.map({ live.metric.goal.prefers(value, over: $0) }) ?? true {
      progress.best = value
      progress.bestEpoch = metric.epoch
    }
    if metric.epoch >= progress.latestEpoch {
      progress.latest = value.flatMap { $0.isFinite ? $0 : nil }
      progress.latestEpoch = metric.epoch
    }
    trial.phase = .running(attempt: attempt, worker: worker, progress: progress)
    trials[metric.attempt.trial] = trial
    // A final run's epochs decide nothing: it reports no validation metric the search may see.
    guard trial.role == nil else { return [] }
    var actions: [Action] = []
    if live.targetReachedBy == nil, live.reachesTarget(value), let target = live.plan.spec.target {
      sweeps[trial.sweep]?.targetReachedBy = metric.attempt.trial
      let reason =
        "trial \(metric.attempt.trial) reached metric.target (\(live.metric.name.rawValue) \(formatNumber(value!)) \(live.metric.goal == .minimize ? "≤" : "≥") \(formatNumber(target))): the sweep creates no more trials"
      actions.append(
        .record(
          EventRecord(
            time: time, sweepID: trial.sweep, trialID: metric.attempt.trial, kind: "target_reached",
            detail: reason)))
      actions.append(.closePending(sweep: trial.sweep, reason: reason))
    }
    for decision in judge.epoch(trial: metric.attempt.trial, epoch: metric.epoch, value: value ?? .nan) {
      sweeps[decision.sweep]?.recentStops.append(
        SweepStatus.Stop(trial: decision.trial, reason: decision.reason))
      if let count = sweeps[decision.sweep]?.recentStops.count, count > SweepStatus.Stop.shown {
        sweeps[decision.sweep]?.recentStops.removeFirst(count - SweepStatus.Stop.shown)
      }
      actions.append(
        .record(
          EventRecord(
            time: time, sweepID: decision.sweep, trialID: decision.trial, kind: "early_stop",
            detail: decision.reason)))
      actions.append(.stop(trial: decision.trial, reason: decision.reason))
    }
    return actions
  }

  // MARK: Reading

  /// A running trial's progress (nil when pending or not in the book).
  public func progress(of trial: Int64) -> Progress? {
    if case .running(_, _, let progress)? = trials[trial]?.phase { return progress }
    return nil
  }

  /// The best value so far of a live sweep, finished and running trials included.
  public func best(of sweep: String) -> Double? {
    guard let live = sweeps[sweep] else { return nil }
    var best = live.bestFinished
    for trial in trials.values where trial.sweep == sweep && trial.role == nil {
      if case .running(_, _, let progress) = trial.phase, let value = progress.best,
        best.map({ live.metric.goal.prefers(value, over: $0) }) ?? true
      {
        best = value
      }
    }
    return best
  }

  /// The best finite value of a curve (epoch 1 first) and its epoch; the earliest on a tie.
  public static func best(of curve: [Double], goal: Goal) -> (value: Double, epoch: Int)? {
    var best: (value: Double, epoch: Int)?
    for (offset, value) in curve.enumerated() where value.isFinite {
      if let current = best, !goal.prefers(value, over: current.value) { continue }
      best = (value, offset + 1)
    }
    return best
  }

  // MARK: Recovery

  /// Recovery: an unfinished trial as the store has it.
  mutating func restore(_ record: TrialRecord, progress: Progress?) {
    let phase: Phase =
      record.state == .running
      ? .running(attempt: record.attempt, worker: record.worker ?? "", progress: progress ?? Progress())
      : .pending
    trials[record.id!] = Trial(sweep: record.sweepID, index: record.index, spec: record.spec, phase: phase)
    sweeps[record.sweepID]?.counts[record.state, default: 0] += 1
    if let live = sweeps[record.sweepID], live.targetReachedBy == nil, live.reachesTarget(progress?.best) {
      sweeps[record.sweepID]?.targetReachedBy = record.id
    }
  }

  /// Recovery: a finished trial counted (and, for TPE, observed) as it was.
  mutating func restoreFinished(_ record: TrialRecord) {
    let trial = Trial(sweep: record.sweepID, index: record.index, spec: record.spec, phase: .pending)
    sweeps[record.sweepID]?.counts[.pending, default: 0] += 1
    ended(
      record.id!, trial, as: record.state, best: record.bestValue, latest: record.resultValue,
      bestEpoch: record.bestEpoch)
  }

  /// Recovery: the sweep's final run as the store has it (pending or running: in the book
  /// again; ended: done). A final run older than the search's last trial, or of a search
  /// with trials still to create (the sweep was extended after it), is superseded: the
  /// extended search gets a new one.
  /// Returns whether it is unfinished (and so needs its lease back).
  @discardableResult
  mutating func restoreFinalRun(_ record: TrialRecord, newestSearchTrial: Int64?) -> Bool {
    // Superseded: search trials came after it, or more are due (a run_cap raised since).
    guard let id = record.id, id > (newestSearchTrial ?? 0), sweeps[record.sweepID]?.searchIsComplete == true
    else { return false }
    switch record.state {
    case .pending, .running:
      let phase: Phase =
        record.state == .running
        ? .running(attempt: record.attempt, worker: record.worker ?? "", progress: Progress()) : .pending
      trials[id] = Trial(
        sweep: record.sweepID, index: record.index, spec: record.spec, phase: phase, role: .refit)
      sweeps[record.sweepID]?.finalRun = .created(id)
      return true
    default:
      sweeps[record.sweepID]?.finalRun = .ended
      return false
    }
  }

  /// Recovery: the sweep's TPE points and latest stops.
  mutating func restore(sweep: String, points: [Int: [Double]], recentStops: [SweepStatus.Stop]) {
    sweeps[sweep]?.points = points
    sweeps[sweep]?.recentStops = recentStops
  }

  mutating func restoreJudge(_ body: (inout StopJudge) -> Void) { body(&judge) }

  /// A new run_cap for a live sweep (`sweepd extend`; the store has it).
  public mutating func setRunCap(_ id: String, _ runCap: Int) {
    guard var live = sweeps[id] else { return }
    var spec = live.plan.spec
    spec.runCap = runCap
    live.plan = SweepPlan(spec: spec)
    live.record.runCap = runCap
    // More trials may change the selection: the extended search ends with a new final run.
    if live.finalRun == .ended { live.finalRun = .notCreated }
    sweeps[id] = live
  }

  /// Marks a live sweep's record with its new state (after the store has it).
  public mutating func setState(_ id: String, _ state: SweepRecord.State) {
    sweeps[id]?.record.state = state
  }
}
