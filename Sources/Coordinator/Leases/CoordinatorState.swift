import Wire

/// The coordinator's scheduling and liveness logic as a pure state machine: events in,
/// actions out, no I/O and no clock of its own (`now` is passed in, in seconds), so tests
/// drive it with a fake clock. The I/O loop performs the actions in order; a `.persist`
/// comes before the messages that depend on it, so the store always knows first.
///
/// Liveness follows the Paranoid Pirate pattern: any message from a worker counts as a
/// heartbeat; a worker silent for `liveness` × `heartbeatInterval` is dead, and its running
/// attempts go back to pending with attempt + 1 (or fail after `maxAttempts`). Every message
/// about a trial names its attempt, so one from a superseded attempt changes nothing.
public struct CoordinatorState: Sendable {
  /// A peer's routing id on the coordinator's ROUTER.
  public typealias Peer = String

  public struct Settings: Sendable {
    /// Seconds between heartbeats to an idle worker. Default 1.
    public var heartbeatInterval = 1.0
    /// Silent intervals after which a worker is dead. Default 3.
    public var liveness = 3.0
    /// When recent trials take less than this (seconds; default 0.05), each worker is given
    /// one queued trial per slot on top of its running ones, so a slot starts its next trial
    /// without waiting for a round trip to the coordinator. Longer trials are not queued:
    /// a queued trial could wait on a busy worker while another sits idle.
    public var prefetchBelowSeconds = 0.05
    /// Weight of the newest trial in the moving average of trial durations. Default 0.2.
    public var durationSmoothing = 0.2
    /// Offences after which a worker is disconnected and its leases requeued (default 10):
    /// a message that does not decode, a message about an attempt it never held (a trial
    /// running elsewhere under that attempt, or an attempt ahead of the trial's), or an
    /// epoch it already reported, beyond one resend of each.
    public var offenceLimit = 10

    public init() {}
  }

  /// What changed, for the store: written before the messages that follow it.
  public enum Transition: Hashable, Sendable {
    case started(AttemptID, worker: String)
    case finished(AttemptID, DoneReport)
    /// The attempt was lost; the trial is pending again as `next`.
    case requeued(lost: AttemptID, next: AttemptID, reason: String)
    case failed(AttemptID, reason: String)
    /// The trial will not run (its sweep was cancelled, or reached its target); `reason`
    /// becomes its message.
    case cancelled(trial: Int64, reason: String? = nil)

    /// The trial it is about.
    public var trial: Int64 {
      switch self {
      case .started(let attempt, _), .finished(let attempt, _), .failed(let attempt, _): attempt.trial
      case .requeued(let lost, _, _): lost.trial
      case .cancelled(let trial, _): trial
      }
    }

    /// Whether the trial has ended with it (whatever the outcome).
    public var endsTrial: Bool {
      switch self {
      case .finished, .failed, .cancelled: true
      case .started, .requeued: false
      }
    }
  }

  public enum Action: Hashable, Sendable {

    case persist(Transition)
    case assign(Peer, AttemptID, sweep: String)
    case stop(Peer, AttemptID, reason: String)
    case acknowledge(Peer, AttemptID)
    case heartbeat(Peer)
    case disconnect(Peer, reason: String)
    case recordMetric(MetricReport)
    case recordLog(LogChunk)
    /// For the operator's log: a worker joined (a READY from a peer not known yet)…
    case joined(Peer, name: String, host: String, version: String, slots: Int)
    /// …is draining (it finishes `running` trials and takes nothing new)…
    case draining(Peer, name: String, running: Int)
    /// …or left (said BYE, fell silent, reconnected under a new id, or was disconnected).
    case left(Peer, name: String, reason: String)
  }

  public enum Event: Hashable, Sendable {
    case message(Peer, WorkerMessage)
    /// A message from `Peer` that did not decode (why, for the log).
    case malformed(Peer, reason: String)
    /// New trials of a sweep (in order), with the sweep's attempt limit.
    case trialsAdded(sweep: String, trials: [Int64], maxAttempts: Int, first: Bool = false)
    case cancel(sweep: String)
    /// The sweep is paused: none of its trials starts; with `stopRunning`, its running ones
    /// are stopped and pending again, the attempt not counted.
    case pause(sweep: String, stopRunning: Bool)
    case resume(sweep: String)
    /// The sweep creates no more trials (it reached `metric.target`): its pending trials are
    /// cancelled with `reason`; running ones finish.
    case cancelPending(sweep: String, reason: String)
    /// A stopping policy ended a running trial: STOP its current attempt.
    case stopTrial(Int64, reason: String)
    case tick
  }

  /// What a sweep's trials need of a worker: one that runs programs (`--allow-programs`),
  /// free cores (its slots count cores) and free GPUs, each trial's own.
  public struct Requirements: Hashable, Sendable {
    public var program: Bool
    public var cores: Int
    public var gpus: Int

    public init(program: Bool = false, cores: Int = 1, gpus: Int = 0) {
      self.program = program
      self.cores = max(1, cores)
      self.gpus = max(0, gpus)
    }
  }

  struct Worker: Sendable {
    var name: String
    var host = ""
    var version = ""
    /// Cores it offers (`--slots`).
    var slots: Int
    /// Whether it runs program trials, and how many GPUs it has.
    var programs = false
    var gpus = 0
    var lastHeard: Double
    var lastSent: Double
    var running: Set<AttemptID>
    /// Offences so far (see `Settings.offenceLimit`).
    var offences = 0
    /// The worker process's session id (`Ready.session`).
    var session: String?
    /// Draining (it said DRAINING): it takes nothing new; its running trials finish.
    var draining = false
    /// No trial is placed on it before this time: it handed one back (a worker that is full
    /// or draining must not get the same trial again in a tight loop).
    var restUntil = 0.0
  }

  struct Trial: Sendable {
    var sweep: String
    var attempt: Int
    var maxAttempts: Int
    var running: Bool
    var worker: Peer?
    /// For a recovered running attempt whose worker has not reconnected yet: when to give up.
    var leaseDeadline: Double?
    /// The highest epoch the current attempt has reported, and how many reports repeated an
    /// epoch already seen (a reconnect resends each once).
    var lastEpoch = 0
    var repeatedEpochs = 0
  }

  public let settings: Settings
  var workers: [Peer: Worker] = [:]
  var trials: [Int64: Trial] = [:]
  /// Pending trial ids per sweep, oldest first; sweeps take turns (round robin).
  var pending: [String: [Int64]] = [:]
  var sweepOrder: [String] = []
  var nextSweep = 0
  /// Each sweep's requirements (absent: a built-in trial's, one core).
  var requirements: [String: Requirements] = [:]
  /// Exponential moving average of finished trials' durations (seconds), nil before any.
  public private(set) var typicalTrialSeconds: Double?

  /// Trials a worker may hold: its slots, doubled while trials are short (see
  /// `Settings.prefetchBelowSeconds`).
  func capacity(_ worker: Worker) -> Int {
    guard let typical = typicalTrialSeconds, typical < settings.prefetchBelowSeconds else {
      return worker.slots
    }
    return 2 * worker.slots
  }

  public init(settings: Settings = Settings()) {
    self.settings = settings
  }

  /// Recovery after a restart: the store's unfinished trials. Running attempts keep their
  /// lease for one liveness period, for their worker to reconnect and claim them (READY
  /// lists what it still runs); after that they are requeued.
  public mutating func recover(
    pending: [(trial: Int64, sweep: String, attempt: Int, maxAttempts: Int)],
    running: [(trial: Int64, sweep: String, attempt: Int, maxAttempts: Int)], now: Double
  ) {
    for entry in pending {
      trials[entry.trial] = Trial(
        sweep: entry.sweep, attempt: entry.attempt, maxAttempts: entry.maxAttempts, running: false)
      enqueue(entry.trial, sweep: entry.sweep)
    }
    for entry in running {
      trials[entry.trial] = Trial(
        sweep: entry.sweep, attempt: entry.attempt, maxAttempts: entry.maxAttempts, running: true,
        leaseDeadline: now + deadTime)
    }
  }

  var deadTime: Double { settings.heartbeatInterval * settings.liveness }

  /// Workers connected now, and trials by state (for status and tests).
  public var workerCount: Int { workers.count }
  /// Paused sweeps: their pending trials wait.
  public private(set) var paused: Set<String> = []

  public var pendingCount: Int { pending.values.map(\.count).reduce(0, +) }
  public var runningCount: Int { trials.values.filter(\.running).count }

  public mutating func handle(_ event: Event, now: Double) -> [Action] {
    var actions: [Action] = []
    switch event {
    case .trialsAdded(let sweep, let ids, let maxAttempts, let first):
      // `first` (an enqueued trial): ahead of the sweep's other pending trials, in order.
      for id in (first ? ids.reversed() : ids) where trials[id] == nil {
        trials[id] = Trial(sweep: sweep, attempt: 0, maxAttempts: maxAttempts, running: false)
        enqueue(id, sweep: sweep, front: first)
      }
    case .cancel(let sweep):
      for id in pending[sweep] ?? [] {
        trials[id] = nil
        actions.append(.persist(.cancelled(trial: id)))
      }
      pending[sweep] = []
      for (id, trial) in trials where trial.sweep == sweep && trial.running {
        let attempt = AttemptID(trial: id, attempt: trial.attempt)
        actions.append(.persist(.cancelled(trial: id)))
        if let peer = trial.worker {
          actions.append(.stop(peer, attempt, reason: "sweep \(sweep) cancelled"))
        }
        release(attempt)
        trials[id] = nil
      }
    case .pause(let sweep, let stopRunning):
      paused.insert(sweep)
      guard stopRunning else { break }
      for (id, trial) in trials.sorted(by: { $0.key > $1.key }) where trial.sweep == sweep && trial.running {
        let attempt = AttemptID(trial: id, attempt: trial.attempt)
        if let peer = trial.worker {
          actions.append(.stop(peer, attempt, reason: "sweep \(sweep) paused"))
        }
        // Not the trial's fault: the attempt does not count.
        trials[id]?.maxAttempts += 1
        actions += requeue(attempt, reason: "sweep \(sweep) paused; starts again on resume")
      }
    case .resume(let sweep):
      paused.remove(sweep)
    case .cancelPending(let sweep, let reason):
      for id in pending[sweep] ?? [] {
        trials[id] = nil
        actions.append(.persist(.cancelled(trial: id, reason: reason)))
      }
      pending[sweep] = []
    case .stopTrial(let id, let reason):
      if let trial = trials[id], trial.running, let peer = trial.worker {
        actions.append(.stop(peer, AttemptID(trial: id, attempt: trial.attempt), reason: reason))
      }
    case .tick:
      actions += expire(now: now)
      for (peer, worker) in workers where now - worker.lastSent >= settings.heartbeatInterval {
        actions.append(.heartbeat(peer))
        workers[peer]?.lastSent = now
      }
    case .message(let peer, let message):
      actions += receive(message, from: peer, now: now)
    case .malformed(let peer, let reason):
      if workers[peer] != nil { actions += offence(peer, reason) }
    }
    actions += schedule(now: now)
    return actions
  }

  mutating func receive(_ message: WorkerMessage, from peer: Peer, now: Double) -> [Action] {
    if case .ready(let ready) = message {
      return register(peer, ready, now: now)
    }
    guard workers[peer] != nil else {
      return [.disconnect(peer, reason: "unknown worker: send READY first")]
    }
    workers[peer]?.lastHeard = now
    switch message {
    case .ready, .heartbeat:
      return []
    case .metric(let metric):
      guard isCurrent(metric.attempt, on: peer) else {
        return claimsAnother(metric.attempt, peer)
          ? offence(peer, "METRIC for \(metric.attempt), not its") : []
      }
      let trial = trials[metric.attempt.trial]!
      if metric.epoch <= trial.lastEpoch {
        trials[metric.attempt.trial]?.repeatedEpochs += 1
        if trial.repeatedEpochs + 1 > trial.lastEpoch {
          return offence(peer, "METRIC flood: epoch \(metric.epoch) of \(metric.attempt) again")
        }
      } else {
        trials[metric.attempt.trial]?.lastEpoch = metric.epoch
      }
      return [.recordMetric(metric)]
    case .log(let chunk):
      guard isCurrent(chunk.attempt, on: peer) else {
        return claimsAnother(chunk.attempt, peer) ? offence(peer, "LOG for \(chunk.attempt), not its") : []
      }
      return [.recordLog(chunk)]
    case .done(let done):
      if claimsAnother(done.attempt, peer) { return offence(peer, "DONE for \(done.attempt), not its") }
      // Acknowledged even when stale, so the worker stops resending it.
      var actions: [Action] = []
      if isCurrent(done.attempt, on: peer), done.status == .failed, done.preempted == true {
        // Preempted, not failed: another attempt, which does not count.
        trials[done.attempt.trial]?.maxAttempts += 1
        actions += requeue(done.attempt, reason: done.message ?? "preempted")
      } else if isCurrent(done.attempt, on: peer), done.status == .failed, done.retryable == true,
        let trial = trials[done.attempt.trial], done.attempt.attempt < trial.maxAttempts
      {
        // A program that failed may succeed on another try (or another worker).
        actions += requeue(done.attempt, reason: done.message ?? "failed")
      } else if isCurrent(done.attempt, on: peer) {
        if done.status == .completed {
          let weight = settings.durationSmoothing
          typicalTrialSeconds =
            typicalTrialSeconds.map { (1 - weight) * $0 + weight * done.seconds } ?? done.seconds
        }
        actions.append(.persist(.finished(done.attempt, done)))
        release(done.attempt)
        trials[done.attempt.trial] = nil
      }
      actions.append(.acknowledge(peer, done.attempt))
      return actions
    case .handBack(let attempts):
      // A handed-back attempt did not fail: it does not count against max_attempts. The
      // worker gets nothing for a heartbeat interval, so a trial never bounces between the
      // coordinator and a worker that cannot take it.
      var actions: [Action] = []
      workers[peer]?.restUntil = now + settings.heartbeatInterval
      for attempt in attempts where isCurrent(attempt, on: peer) {
        trials[attempt.trial]?.maxAttempts += 1
        actions += requeue(attempt, reason: "handed back by \(workers[peer]!.name)")
      }
      return actions
    case .draining:
      guard workers[peer]?.draining == false else { return [] }
      workers[peer]?.draining = true
      return [.draining(peer, name: workers[peer]!.name, running: workers[peer]!.running.count)]
    case .bye:
      return drop(peer, reason: "worker \(workers[peer]!.name) left", said: "said BYE")
    }
  }

  mutating func register(_ peer: Peer, _ ready: Ready, now: Double) -> [Action] {
    var actions: [Action] = []
    // A reconnect under a new routing id: the old connection is gone.
    for (other, worker) in workers where worker.name == ready.worker && other != peer {
      let claimed = Set(ready.running)
      for attempt in worker.running where claimed.contains(attempt) {
        workers[other]?.running.remove(attempt)
      }
      // The same process never received what it does not claim: no attempt was used up.
      if let session = ready.session, session == worker.session {
        for attempt in worker.running where !claimed.contains(attempt) {
          trials[attempt.trial]?.maxAttempts += 1
        }
      }
      actions += drop(other, reason: "worker \(ready.worker) reconnected")
    }
    if workers[peer] == nil {
      actions.append(
        .joined(peer, name: ready.worker, host: ready.host, version: ready.version, slots: ready.slots))
    }
    var worker =
      workers[peer]
      ?? Worker(name: ready.worker, slots: ready.slots, lastHeard: now, lastSent: now, running: [])
    worker.slots = ready.slots
    worker.host = ready.host
    worker.version = ready.version
    worker.programs = ready.programs ?? false
    worker.gpus = ready.gpus ?? 0
    worker.session = ready.session
    worker.lastHeard = now
    // Attempts the worker still runs and that are still current are its again; anything
    // else it names is stale and gets a STOP.
    for attempt in ready.running {
      if let trial = trials[attempt.trial], trial.running, trial.attempt == attempt.attempt {
        trials[attempt.trial]?.worker = peer
        trials[attempt.trial]?.leaseDeadline = nil
        // It will resend the epochs it reported: one more copy of each is allowed.
        trials[attempt.trial]?.repeatedEpochs = 0
        worker.running.insert(attempt)
      } else {
        actions.append(.stop(peer, attempt, reason: "attempt superseded"))
      }
    }
    workers[peer] = worker
    return actions
  }

  /// Whether a message about `attempt` from `peer` names something it cannot hold: the
  /// attempt runs on another worker, or is ahead of the trial's current attempt. (An older
  /// attempt, or a trial that has ended, is merely stale: a worker can lag behind a requeue.)
  func claimsAnother(_ attempt: AttemptID, _ peer: Peer) -> Bool {
    guard let trial = trials[attempt.trial] else { return false }
    if attempt.attempt > trial.attempt { return true }
    return attempt.attempt == trial.attempt && trial.running && trial.worker != nil && trial.worker != peer
  }

  /// Counts an offence; at `offenceLimit` the worker is disconnected and its attempts
  /// requeued (other workers are unaffected).
  mutating func offence(_ peer: Peer, _ reason: String) -> [Action] {
    guard var worker = workers[peer] else { return [] }
    worker.offences += 1
    workers[peer] = worker
    guard worker.offences >= settings.offenceLimit else { return [] }
    let why = "worker \(worker.name) disconnected after \(worker.offences) bad messages (last: \(reason))"
    return drop(peer, reason: why) + [.disconnect(peer, reason: why)]
  }

  func isCurrent(_ attempt: AttemptID, on peer: Peer) -> Bool {
    guard let trial = trials[attempt.trial] else { return false }
    return trial.running && trial.attempt == attempt.attempt && trial.worker == peer
  }

  mutating func release(_ attempt: AttemptID) {
    if let peer = trials[attempt.trial]?.worker { workers[peer]?.running.remove(attempt) }
  }

  /// The attempt is lost: pending again as attempt + 1, or failed after `maxAttempts`.
  mutating func requeue(_ attempt: AttemptID, reason: String) -> [Action] {
    release(attempt)
    guard var trial = trials[attempt.trial] else { return [] }
    if attempt.attempt >= trial.maxAttempts {
      trials[attempt.trial] = nil
      return [
        .persist(
          .failed(attempt, reason: "\(reason); \(attempt.attempt) of \(trial.maxAttempts) attempts used"))
      ]
    }
    trial.running = false
    trial.worker = nil
    trial.leaseDeadline = nil
    trials[attempt.trial] = trial
    enqueue(attempt.trial, sweep: trial.sweep, front: true)
    return [
      .persist(
        .requeued(
          lost: attempt, next: AttemptID(trial: attempt.trial, attempt: attempt.attempt + 1), reason: reason))
    ]
  }

  /// The worker is gone: its attempts are requeued (`reason`), and the log hears why
  /// (`said`, else `reason`).
  mutating func drop(_ peer: Peer, reason: String, said: String? = nil) -> [Action] {
    guard let worker = workers.removeValue(forKey: peer) else { return [] }
    var actions: [Action] = [.left(peer, name: worker.name, reason: said ?? reason)]
    for attempt in worker.running.sorted(by: { $0.trial < $1.trial }) {
      if trials[attempt.trial]?.worker == peer { actions += requeue(attempt, reason: reason) }
    }
    return actions
  }

  /// The coordinator stopped reading (back-pressure while its store is full): every worker
  /// counts as heard now, so none is taken for dead for a silence that is not its own.
  public mutating func excuseSilence(now: Double) {
    for peer in workers.keys { workers[peer]?.lastHeard = now }
  }

  mutating func expire(now: Double) -> [Action] {
    var actions: [Action] = []
    for (peer, worker) in workers.sorted(by: { $0.key < $1.key }) where now - worker.lastHeard > deadTime {
      actions += drop(
        peer, reason: "worker \(worker.name) silent for \(formatSeconds(now - worker.lastHeard))")
    }
    for (id, trial) in trials.sorted(by: { $0.key < $1.key }) {
      if let deadline = trial.leaseDeadline, now > deadline, trial.running, trial.worker == nil {
        actions += requeue(
          AttemptID(trial: id, attempt: trial.attempt), reason: "its worker did not come back after a restart"
        )
      }
    }
    return actions
  }

  mutating func enqueue(_ id: Int64, sweep: String, front: Bool = false) {
    if pending[sweep] == nil || !sweepOrder.contains(sweep) { sweepOrder.append(sweep) }
    if front { pending[sweep, default: []].insert(id, at: 0) } else { pending[sweep, default: []].append(id) }
  }

  /// Sets what the trials of `sweep` need of a worker (before its trials are added, or on
  /// recovery).
  public mutating func require(_ needs: Requirements, for sweep: String) {
    requirements[sweep] = needs == Requirements() ? nil : needs
  }

  /// The cores and GPUs a worker's running (and queued) attempts take.
  func usage(_ worker: Worker) -> (cores: Int, gpus: Int) {
    var cores = 0
    var gpus = 0
    for attempt in worker.running {
      let needs = trials[attempt.trial].flatMap { requirements[$0.sweep] } ?? Requirements()
      cores += needs.cores
      gpus += needs.gpus
    }
    return (cores, gpus)
  }

  /// Whether `worker` can take one more trial needing `needs` now. Trials with GPUs are
  /// never queued ahead: a GPU is held only by a running trial.
  func fits(_ needs: Requirements, _ worker: Worker) -> Bool {
    if needs.program && !worker.programs { return false }
    let used = usage(worker)
    if needs.gpus > 0 {
      return used.gpus + needs.gpus <= worker.gpus && used.cores + needs.cores <= worker.slots
    }
    return needs.cores <= worker.slots && used.cores + needs.cores <= capacity(worker)
  }

  /// Why no connected worker could ever take the trials of `sweep` (nil: some worker can,
  /// or there are no workers at all).
  public func unplaceable(sweep: String) -> String? {
    guard !workers.isEmpty, let needs = requirements[sweep] else { return nil }
    var candidates = Array(workers.values)
    if needs.program {
      candidates = candidates.filter(\.programs)
      if candidates.isEmpty {
        return "waiting for a worker that runs programs (start one with `sweepd worker --allow-programs`)"
      }
    }
    if needs.gpus > 0 {
      candidates = candidates.filter { $0.gpus >= needs.gpus }
      if candidates.isEmpty {
        return
          "waiting for a worker with \(needs.gpus) GPU\(needs.gpus == 1 ? "" : "s") (`sweepd worker --gpus`)"
      }
    }
    if !candidates.contains(where: { $0.slots >= needs.cores }) {
      return
        "waiting for a worker with \(needs.cores) slots (each trial takes \(needs.cores) cores; `sweepd worker --slots`)"
    }
    return nil
  }

  /// The next trial to start and the worker to start it on: sweeps take turns; each
  /// sweep's oldest pending trial goes to the least-loaded worker that fits it, and a sweep
  /// no worker fits now waits without holding up the others.
  mutating func nextPlacement(now: Double) -> (Peer, Int64)? {
    guard !sweepOrder.isEmpty else { return nil }
    for offset in 0..<sweepOrder.count {
      let index = (nextSweep + offset) % sweepOrder.count
      let sweep = sweepOrder[index]
      guard !paused.contains(sweep), let queue = pending[sweep], let id = queue.first else { continue }
      let needs = requirements[sweep] ?? Requirements()
      let fitting = workers.filter { !$0.value.draining && $0.value.restUntil <= now && fits(needs, $0.value) }
      guard
        let (peer, _) = fitting.min(by: {
          (Double($0.value.running.count) / Double($0.value.slots), $0.key)
            < (Double($1.value.running.count) / Double($1.value.slots), $1.key)
        })
      else { continue }
      pending[sweep]!.removeFirst()
      nextSweep = (index + 1) % sweepOrder.count
      return (peer, id)
    }
    return nil
  }

  /// Fills free slots (and, for short trials, the queue of one per slot), least-loaded
  /// workers first.
  mutating func schedule(now: Double) -> [Action] {
    var actions: [Action] = []
    while let (peer, id) = nextPlacement(now: now) {
      guard var trial = trials[id] else { continue }
      trial.attempt += 1
      trial.running = true
      trial.worker = peer
      trial.lastEpoch = 0
      trial.repeatedEpochs = 0
      trials[id] = trial
      let attempt = AttemptID(trial: id, attempt: trial.attempt)
      workers[peer]?.running.insert(attempt)
      workers[peer]?.lastSent = now
      actions.append(.persist(.started(attempt, worker: workers[peer]!.name)))
      actions.append(.assign(peer, attempt, sweep: trial.sweep))
    }
    return actions
  }
}

func formatSeconds(_ seconds: Double) -> String {
  let tenths = (seconds * 10).rounded() / 10
  return "\(tenths) s"
}
