import DataTransfer
import Dispatch
import Foundation
import Logging
import Report
import Search
import Store
import Synchronization
import Training
import Wire
import ZMQ

/// The coordinator process: one ROUTER, the state machine, the store. All socket work happens
/// on the thread that calls `run` (libzmq sockets are single-threaded); `stop` may be called
/// from any thread.
public final class CoordinatorServer: @unchecked Sendable {
  let context: ZMQContext
  let socket: ZMQSocket
  let store: Store
  /// The data files sweeps name, uploaded by submitting clients and fetched by workers (nil:
  /// this coordinator accepts no uploads; configs must name built-in data sets or files on
  /// every worker's disk).
  let dataStore: ContentStore?
  let logger: Logger
  var state = CoordinatorState()
  /// Live sweeps: their plan and what has been created so far.
  var sweeps: [String: LiveSweep] = [:]
  /// Per running trial: the best value seen so far and its epoch, and the epochs reported.
  var progress: [Int64: (best: Double?, epoch: Int?, epochs: Int)] = [:]
  /// Per running trial: its metric at its latest epoch (nil when not finite), and the epoch.
  var latest: [Int64: (value: Double?, epoch: Int)] = [:]
  var metricBuffer: [MetricRecord] = []
  /// When the oldest buffered METRIC row arrived (nil: none buffered).
  var metricBufferedAt: Double?
  /// The longest a METRIC row waits in memory for a commit, seconds (group commit: a killed
  /// coordinator loses at most this much of the metric stream; transitions never wait).
  static let metricCommitDelay = 0.02
  /// Trial specs as stored JSON, kept from creation until the trial ends, so an assignment
  /// reads neither the store nor a decoder.
  var specs: [Int64: String] = [:]
  /// Work queued by message handling for `flush`: store changes, messages, sweeps to refill.
  var pendingChanges: [Store.TrialChange] = []
  var outbox: [(peer: String, frames: [[UInt8]])] = []
  var refillQueue: Set<String> = []
  let started = DispatchTime.now().uptimeNanoseconds
  /// Set by `stop`; a byte on `wake` interrupts the poll at once.
  let stopRequested = Atomic<Bool>(false)
  let wake: (read: Int32, write: Int32)

  struct LiveSweep {
    var record: SweepRecord
    var plan: SweepPlan
    var created: Int
    /// Trials that have ended (completed, failed, …), counted as their transitions persist.
    var finished = 0
    /// For TPE: each configuration's point (repeats reuse it).
    var points: [Int: [Double]] = [:]
    /// The sweep's stopping policy, if it has one, and the metric curves of its finished
    /// trials the policy compares against (`StoppingPolicy.counts`), by trial index.
    var stopping: StoppingPolicy?
    var finishedCurves: [Int: [Double]] = [:]
    /// Deterministic mode's lag L (nil: off), and which trial indices have finished: every
    /// index below `finishedPrefix` has.
    var lag: Int?
    var finishedIndices: Set<Int> = []
    var finishedPrefix = 0
    /// Trials by state and the best finished value, kept as transitions are written, so a
    /// status request (a progress display asks many times a second) reads no trial rows.
    var counts: [TrialRecord.State: Int] = [:]
    var bestFinished: Double?
    /// The latest stopping decisions (trial, reason), oldest first, for STATUS.
    var recentStops: [SweepStatus.Stop] = []
    /// For TPE: the finished trials as sampler observations, by trial index, kept as their
    /// transitions are written (a suggestion used to re-read every trial row of the sweep).
    var observations: [Int: Observation] = [:]

    init(record: SweepRecord, plan: SweepPlan, created: Int, finished: Int = 0) {
      self.record = record
      self.plan = plan
      self.created = created
      self.finished = finished
      lag = plan.spec.deterministicLag
      stopping = plan.spec.earlyTerminate.map {
        StoppingPolicy($0, goal: plan.spec.metric.goal, epochs: plan.spec.trialEpochs)
      }
    }

    /// Whether trial creation waits for earlier results: deterministic mode with an adaptive
    /// decision to make (TPE, a stopping rule).
    var gated: Bool {
      lag != nil && (plan.spec.method == .tpe || (stopping.map { $0.peers != .none } ?? false))
    }
    /// A stopping policy judges every epoch as it arrives (so workers send them at once).
    var judgesEpochs: Bool { stopping != nil }

    /// Deterministic mode: the results trial `index` may see are those of trials
    /// 0 ..< index − L, all of which must have finished. Otherwise: every finished trial.
    func visibleBound(for index: Int) -> Int? { lag.map { Swift.max(0, index - $0) } }

    /// Whether trial `index` may be created now (its visible trials have all finished).
    func mayCreate(_ index: Int) -> Bool {
      guard gated, let bound = visibleBound(for: index) else { return true }
      return finishedPrefix >= bound
    }

    /// The finished curves trial `index` may see, in index order.
    func curves(visibleTo index: Int) -> [[Double]] {
      let bound = visibleBound(for: index) ?? Int.max
      return finishedCurves.keys.filter { $0 < bound }.sorted().map { finishedCurves[$0]! }
    }

    /// Finished trials as sampler observations in index order; with `bound`, only indices
    /// below it.
    func history(before bound: Int = Int.max) -> [Observation] {
      observations.keys.filter { $0 < bound }.sorted().map { observations[$0]! }
    }

    mutating func markFinished(_ index: Int) {
      finishedIndices.insert(index)
      while finishedIndices.contains(finishedPrefix) { finishedPrefix += 1 }
    }
  }

  /// Trial id → its index in its sweep.
  var trialIndex: [Int64: Int] = [:]
  /// The state of each pending or running trial of a live sweep (for the counts).
  var trialStates: [Int64: TrialRecord.State] = [:]
  /// Deterministic mode: the epoch a stopping decision was made at, per trial; the trial's
  /// result is cut there, however many epochs its worker ran before the STOP arrived.
  var stopEpochs: [Int64: Int] = [:]

  /// Per running trial of a sweep with a stopping policy: its metric at each epoch, as far
  /// as the epochs have arrived without a gap (a value may be NaN). Every epoch of it has
  /// been judged by the policy, in order.
  var curves: [Int64: [Double]] = [:]
  /// Epochs that arrived ahead of a missing one (after a reconnect the worker resends what
  /// the coordinator may have missed), by trial and epoch, until the gap is filled.
  var earlyEpochs: [Int64: [Int: Double]] = [:]
  /// Trials a stopping policy has stopped, with the reason, until their DONE arrives.
  var stopReasons: [Int64: String] = [:]

  /// The address the ROUTER is bound to (with the port the system chose for `:*`).
  public var endpoint: String { socket.lastEndpoint }

  /// CURVE security: the coordinator's secret key and the public keys allowed in, by role.
  /// Operators may do everything a client can (submit, cancel, status, leaderboard); workers
  /// may take and report trials, and read status and leaderboards. A key in neither list is
  /// refused at the handshake (ZAP), and nothing it sends is read.
  public struct Security: Sendable {
    public var secretKey: String
    public var workerKeys: Set<String>
    public var operatorKeys: Set<String>

    public init(secretKey: String, workerKeys: Set<String>, operatorKeys: Set<String>) {
      self.secretKey = secretKey
      self.workerKeys = workerKeys
      self.operatorKeys = operatorKeys
    }

    /// The role of a public key: "operator", "worker", or nil (refused).
    public func role(of key: String) -> String? {
      operatorKeys.contains(key) ? "operator" : workerKeys.contains(key) ? "worker" : nil
    }
  }

  let security: Security?
  /// Since when store writes fail (nil while they succeed).
  var storeFailingSince: Double?
  /// The numbers `--metrics-port` serves, as of the loop's last pass.
  var counters = CoordinatorMetrics()
  let published = Mutex(CoordinatorMetrics())

  /// The coordinator's numbers for Prometheus (any thread).
  public func metricsSnapshot() -> CoordinatorMetrics { published.withLock { $0 } }

  /// Publishes the loop's numbers for `metricsSnapshot`.
  func publishMetrics() {
    var trials: [String: Int] = [:]
    for live in sweeps.values {
      for (state, count) in live.counts { trials[state.rawValue, default: 0] += count }
    }
    counters.trialsByState = trials
    counters.queueDepth = state.pendingCount
    counters.workersConnected = state.workerCount
    counters.storeFailing = storeFailingSince != nil
    published.withLock { $0 = counters }
  }
  var zapHandler: ZAPHandler?

  /// - Parameters:
  ///   - context: the ZeroMQ context to open the ROUTER in (default: its own). Pass the
  ///     workers' context to serve them over `inproc://` in one process (`sweepd run`).
  ///   - security: CURVE keys; its ZAP handler runs before the socket binds, and the socket
  ///     refuses everyone if no handler answers.
  ///   - dataStore: where uploaded data files are kept (see `ContentStore`).
  public init(
    bind: String, store: Store, logger: Logger = Logger(label: "sweepd.coordinator"),
    context: ZMQContext? = nil, security: Security? = nil, dataStore: ContentStore? = nil
  ) throws {
    self.dataStore = dataStore
    self.context = try context ?? ZMQContext()
    self.security = security
    if let security {
      let handler = ZAPHandler(context: self.context) { [logger] key, address in
        guard let role = security.role(of: key) else {
          logger.warning(
            "refused a connection from \(address): unknown key \(key)", metadata: ["address": "\(address)"])
          return nil
        }
        return role
      }
      try handler.start()
      zapHandler = handler
    }
    socket = try self.context.socket(.router)
    if let security { try socket.makeCurveServer(secretKey: security.secretKey) }
    try socket.setOption(ZMQ_ROUTER_MANDATORY_OPTION, Int32(1))
    try socket.setOption(ZMQ_MAXMSGSIZE_OPTION, Int64(Protocol.maximumFrameBytes + 4096))
    // A restarted coordinator's port can be briefly taken by a local worker's reconnect
    // attempt (a TCP connection to a port with no listener may get that same port as its own
    // source port); retry for a few seconds before giving up.
    var attempts = 0
    while true {
      do {
        try socket.bind(bind)
        break
      } catch let error as ZMQError where error.code == EADDRINUSE && attempts < 50 {
        attempts += 1
        usleep(100_000)
      }
    }
    self.store = store
    self.logger = logger
    var ends: [Int32] = [0, 0]
    guard pipe(&ends) == 0 else { throw ZMQError("pipe", code: errno) }
    for end in ends { _ = fcntl(end, F_SETFL, fcntl(end, F_GETFL) | O_NONBLOCK) }
    wake = (ends[0], ends[1])
    try recover()
  }

  deinit {
    close(wake.read)
    close(wake.write)
  }

  /// Asks `run` to return (after writing what is buffered); safe from any thread.
  public func stop() {
    stopRequested.store(true, ordering: .relaxed)
    var byte: UInt8 = 1
    _ = write(wake.write, &byte, 1)
  }

  var now: Double { Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9 }

  /// Rebuilds the live state from the store after a restart.
  func recover() throws {
    collectData()
    for record in try store.sweeps() where record.state == .running {
      guard
        let spec = try? SweepConfig.parse(
          text: record.configText, file: record.file, dataDigests: record.digests)
      else { continue }
      let trials = try store.trials(sweep: record.id)
      sweeps[record.id] = LiveSweep(
        record: record, plan: SweepPlan(spec: spec), created: trials.count,
        finished: trials.filter { $0.state.isFinished }.count)
      let pending = trials.filter { $0.state == .pending }.map {
        (trial: $0.id!, sweep: record.id, attempt: $0.attempt, maxAttempts: spec.maxAttempts)
      }
      let running = trials.filter { $0.state == .running }.map {
        (trial: $0.id!, sweep: record.id, attempt: $0.attempt, maxAttempts: spec.maxAttempts)
      }
      state.recover(pending: pending, running: running, now: now)
      for trial in trials where spec.method == .tpe {
        let point = (try? JSONDecoder().decode([Double].self, from: Data(trial.point.utf8))) ?? []
        sweeps[record.id]?.points[trial.configuration] = point
      }
      for trial in trials {
        trialSweep[trial.id!] = record.id
        trialIndex[trial.id!] = trial.index
        track(trial.id!, trial.state, best: trial.state.isFinished ? trial.bestValue : nil)
        if trial.state.isFinished { sweeps[record.id]?.markFinished(trial.index) }
        if trial.state == .running { progress[trial.id!] = (trial.bestValue, trial.bestEpoch, trial.epochs) }
      }
      try recoverCurves(record, trials: trials)
      logger.info(
        "recovered sweep \(record.id): \(pending.count) pending, \(running.count) running",
        metadata: ["sweep": "\(record.id)"])
    }
    refillQueue.formUnion(sweeps.keys)
    flush()
  }

  /// From the stored metrics: each running trial's best so far (its best value and epoch are
  /// only written when it ends), and for a sweep with a stopping rule the learning curves and
  /// pending stop decisions, so decisions after a restart match those before.
  func recoverCurves(_ record: SweepRecord, trials: [TrialRecord]) throws {
    let running = trials.filter { $0.state == .running }
    guard !running.isEmpty || sweeps[record.id]?.stopping != nil else { return }
    var stored: [Int64: [Int: Double]] = [:]
    for row in try store.currentMetrics(sweep: record.id) {
      let values =
        (try? WireCodec.decoder().decode([String: Double].self, from: Data(row.values.utf8))) ?? [:]
      stored[row.trialID, default: [:]][row.epoch] = values[record.metricName] ?? .nan
    }
    // Each trial's stored epochs as a curve: NaN where one is missing.
    var byTrial: [Int64: [Double]] = [:]
    for (trial, epochs) in stored {
      byTrial[trial] = (0..<(epochs.keys.max() ?? 0)).map { epochs[$0 + 1] ?? .nan }
    }
    for trial in running {
      let curve = byTrial[trial.id!] ?? []
      let best = Self.best(of: curve, maximize: record.metricGoal == "maximize")
      progress[trial.id!] = (best?.value, best?.epoch, curve.count)
      if let value = curve.last { latest[trial.id!] = (value.isFinite ? value : nil, curve.count) }
    }
    guard sweeps[record.id]?.stopping != nil else { return }
    for trial in trials {
      switch trial.state {
      case .completed, .earlyStopped:
        // A finished curve is what the trial's result counts (cut at a deterministic stop).
        if sweeps[record.id]?.stopping?.counts(earlyStopped: trial.state == .earlyStopped) == true {
          sweeps[record.id]?.finishedCurves[trial.index] = Array(
            (byTrial[trial.id!] ?? []).prefix(trial.epochs))
        }
      case .running:
        // Running: the epochs without a gap; the ones after a gap wait for it to be filled.
        var epochs = stored[trial.id!] ?? [:]
        var curve: [Double] = []
        while let value = epochs.removeValue(forKey: curve.count + 1) { curve.append(value) }
        curves[trial.id!] = curve
        if !epochs.isEmpty { earlyEpochs[trial.id!] = epochs }
      default: break
      }
    }
    guard let live = sweeps[record.id], let policy = live.stopping else { return }
    if live.lag != nil {
      // Deterministic: the same decisions again, from the same curves and finished trials.
      for trial in running {
        let curve = curves[trial.id!] ?? []
        let visible = policy.peers == .none ? [] : live.curves(visibleTo: trial.index)
        for epoch in 1...Swift.max(1, curve.count) where epoch <= curve.count {
          if let stop = policy.decide(curve: Array(curve.prefix(epoch)), peers: visible) {
            stopReasons[trial.id!] = stop.reason
            stopEpochs[trial.id!] = epoch
            break
          }
        }
      }
    } else {
      let ids = Set(running.map { $0.id! })
      for event in try store.events(sweep: record.id) where event.kind == "early_stop" {
        if let trial = event.trialID, ids.contains(trial) { stopReasons[trial] = event.detail }
      }
    }
    sweeps[record.id]?.recentStops = try Self.latestStops(store, sweep: record.id)
  }

  /// Log metadata naming an attempt (and its sweep).
  static func ids(_ attempt: AttemptID, sweep: String?) -> Logger.Metadata {
    var metadata: Logger.Metadata = ["trial": "\(attempt.trial)", "attempt": "\(attempt.attempt)"]
    if let sweep { metadata["sweep"] = "\(sweep)" }
    return metadata
  }

  /// The latest stopping decisions stored for a sweep, oldest first.
  static func latestStops(_ store: Store, sweep: String) throws -> [SweepStatus.Stop] {
    try store.events(sweep: sweep).filter { $0.kind == "early_stop" }.suffix(SweepStatus.Stop.shown).map {
      SweepStatus.Stop(trial: $0.trialID ?? -1, reason: $0.detail)
    }
  }

  /// The best finite value of a curve (epoch 1 first) and its epoch; the earliest on a tie.
  static func best(of curve: [Double], maximize: Bool) -> (value: Double, epoch: Int)? {
    var best: (value: Double, epoch: Int)?
    for (offset, value) in curve.enumerated() where value.isFinite {
      if let current = best, maximize ? value <= current.value : value >= current.value { continue }
      best = (value, offset + 1)
    }
    return best
  }

  /// Serves until `stop` is called.
  public func run() throws {
    var lastTick = now
    while !stopRequested.load(ordering: .relaxed) {
      let polled = try ZMQPoller.readable(
        [socket], fileDescriptors: [wake.read],
        timeoutMilliseconds: metricBuffer.isEmpty ? 50 : Int(Self.metricCommitDelay * 1000))
      if polled.fileDescriptors[0] {
        var sink = [UInt8](repeating: 0, count: 64)
        while read(wake.read, &sink, sink.count) > 0 {}
      }
      if polled.sockets[0] {
        // Drain what is waiting, then tick.
        var handled = 0
        while handled < 1000, let message = try socket.receive(dontWait: true) {
          handle(message.frames, role: message.userID)
          handled += 1
        }
      }
      if now - lastTick >= 0.1 {
        perform(state.handle(.tick, now: now))
        lastTick = now
      }
      flush()
      publishMetrics()
    }
    flush(final: true)
    // Release the address, so a coordinator started next (a restart) can bind it at once.
    try? socket.unbind(endpoint)
    zapHandler?.stop()
  }

  /// Handles one message; `role` is the sender's ZAP user id ("operator" or "worker") when
  /// the coordinator runs CURVE, and decides what the sender may do.
  func handle(_ frames: [[UInt8]], role: String? = nil) {
    guard frames.count >= 2 else { return }
    let peer = String(decoding: frames[0], as: UTF8.self)
    let body = Array(frames.dropFirst())
    switch WireCodec.decodeWorkerMessage(body) {
    case .success(let message):
      if security != nil && role != "worker" {
        logger.warning(
          "dropped a worker message from \(peer.debugDescription): its key is not a worker's",
          metadata: ["peer": "\(peer)"])
        return
      }
      perform(state.handle(.message(peer, message), now: now))
    case .failure(.unknownCommand):
      switch WireCodec.decodeClientRequest(body) {
      case .success(let request):
        if security != nil, role != "operator" {
          switch request {
          case .submit, .cancel, .haveData, .upload:
            logger.warning(
              "refused a request from \(peer.debugDescription): its key is not an operator's",
              metadata: ["peer": "\(peer)"])
            reply(to: frames[0], .error("not allowed: only operator keys may submit, upload or cancel"))
            return
          case .status, .leaderboard, .history, .fetch: break
          }
        }
        // Answer from the written state, and write what the request changed before replying.
        flush()
        let answer = answer(request)
        flush()
        reply(to: frames[0], answer)
      case .failure(let error):
        logger.warning("dropped a message from \(peer.debugDescription): \(error)")
        perform(state.handle(.malformed(peer, reason: "\(error)"), now: now))
      }
    case .failure(let error):
      logger.warning("dropped a message from \(peer.debugDescription): \(error)")
      perform(state.handle(.malformed(peer, reason: "\(error)"), now: now))
    }
  }

  /// Queues a message; it leaves in `flush`, after the transitions that led to it are written.
  func send(_ peer: String, _ message: CoordinatorMessage) {
    outbox.append((peer, WireCodec.encode(message)))
  }

  /// Writes the queued transitions (one transaction), refills the sweeps that had results
  /// (writing their new assignments too), and only then sends the queued messages. One
  /// flush per drain of the socket batches the store work of many messages.
  func flush(final: Bool = false) {
    // Group commit: METRIC rows alone wait up to `metricCommitDelay` for company, so a
    // stream of epochs costs a commit every 20 ms rather than one per message.
    if !final && pendingChanges.isEmpty && outbox.isEmpty && refillQueue.isEmpty,
      let since = metricBufferedAt, now - since < Self.metricCommitDelay, metricBuffer.count < 2000
    {
      return
    }
    // Nothing leaves before the store has it: while writes fail (a full disk, a read-only
    // file), every change and every message waits here, and the next flush retries.
    guard writeChanges() else { return }
    // What is written may go now (STOPs, ACKs, assignments of existing trials): the refills
    // below can take milliseconds (a TPE suggestion), and a stop should not wait for them.
    sendQueued()
    let refills = refillQueue.sorted()
    refillQueue.removeAll()
    for id in refills { refill(id) }
    guard writeChanges() else { return }
    sendQueued()
    for id in refills { finishIfComplete(id) }
  }

  func sendQueued() {
    for (peer, frames) in outbox {
      do {
        try socket.send([Array(peer.utf8)] + frames, dontWait: true)
      } catch {
        logger.debug("could not send to \(peer.debugDescription): \(error)")
      }
    }
    outbox.removeAll(keepingCapacity: true)
  }

  /// Writes the buffered METRIC rows and the queued trial changes in one transaction.
  /// Returns false, keeping them all for the next try, when the store cannot be written.
  @discardableResult
  func writeChanges() -> Bool {
    guard !pendingChanges.isEmpty || !metricBuffer.isEmpty else { return true }
    let began = DispatchTime.now().uptimeNanoseconds
    do {
      try store.updateTrials(pendingChanges, metrics: metricBuffer, now: Date().timeIntervalSince1970)
      let seconds = Double(DispatchTime.now().uptimeNanoseconds - began) / 1e9
      counters.storeWrites += 1
      counters.storeWriteSeconds += seconds
      counters.storeWriteMaxSeconds = max(counters.storeWriteMaxSeconds, seconds)
    } catch {
      if storeFailingSince == nil {
        storeFailingSince = now
        logger.error(
          "store: cannot write (\(error)); holding every change and message until it can (retrying every 50 ms)"
        )
      }
      return false
    }
    if let since = storeFailingSince {
      logger.info("store: writing again after \(formatSeconds(now - since)); nothing was lost")
      storeFailingSince = nil
    }
    pendingChanges.removeAll(keepingCapacity: true)
    metricBuffer.removeAll(keepingCapacity: true)
    metricBufferedAt = nil
    return true
  }

  func reply(to peer: [UInt8], _ reply: ClientReply) {
    try? socket.send([peer] + WireCodec.encode(reply), dontWait: true)
  }

  // MARK: Actions

  /// Applies actions: transitions become queued store changes, messages queue in the outbox
  /// (both leave in `flush`, the store first), metrics are recorded now.
  func perform(_ actions: [CoordinatorState.Action]) {
    persist(
      actions.compactMap { if case .persist(let transition) = $0 { return transition } else { return nil } })
    for action in actions {
      switch action {
      case .persist: break
      case .assign(let peer, let attempt, let sweep):
        counters.assignments += 1
        guard let spec = specs[attempt.trial] ?? (try? store.trial(attempt.trial)).flatMap({ $0?.spec })
        else {
          logger.error("trial \(attempt.trial) has no stored spec")
          continue
        }
        specs[attempt.trial] = spec
        progress[attempt.trial] = (nil, nil, 0)
        curves[attempt.trial] = []
        outbox.append(
          (
            peer,
            WireCodec.encodeAssignment(
              attempt: attempt, sweep: sweep, specJSON: Array(spec.utf8),
              promptMetrics: sweeps[sweep]?.judgesEpochs ?? false)
          ))
      case .stop(let peer, let attempt, let reason):
        send(peer, .stop(StopOrder(attempt: attempt, reason: reason)))
      case .acknowledge(let peer, let attempt): send(peer, .acknowledge(attempt))
      case .heartbeat(let peer): send(peer, .heartbeat)
      case .disconnect(let peer, let reason): send(peer, .disconnect(reason))
      case .recordMetric(let metric): record(metric)
      }
    }
  }

  func persist(_ transitions: [CoordinatorState.Transition]) {
    guard !transitions.isEmpty else { return }
    var changes: [Store.TrialChange] = []
    for transition in transitions {
      switch transition {
      case .started(let attempt, let worker):
        track(attempt.trial, .running)
        changes.append(
          Store.TrialChange(
            id: attempt.trial, ifAttempt: attempt.attempt - 1,
            [.state(.running), .attempt(attempt.attempt), .worker(worker)]))
      case .finished(let attempt, let done):
        var seen = progress.removeValue(forKey: attempt.trial)
        var last = latest.removeValue(forKey: attempt.trial)
        var curve = curves.removeValue(forKey: attempt.trial)
        earlyEpochs[attempt.trial] = nil
        let stopReason = stopReasons.removeValue(forKey: attempt.trial)
        let stopEpoch = stopEpochs.removeValue(forKey: attempt.trial)
        specs[attempt.trial] = nil
        var state: TrialRecord.State =
          switch done.status {
          case .completed: .completed
          case .stopped: stopReason == nil ? .cancelled : .earlyStopped
          case .diverged: .diverged
          case .failed: .failed
          }
        var epochs = done.epochs
        if let stopEpoch, let full = curve, done.status != .failed {
          // Deterministic: the result is the trial up to its decision epoch.
          let cut = Array(full.prefix(stopEpoch))
          state = .earlyStopped
          epochs = cut.count
          curve = cut
          let id = trialSweep[attempt.trial]
          let best = Self.best(of: cut, maximize: id.flatMap { sweeps[$0] }?.record.metricGoal == "maximize")
          seen = (best?.value, best?.epoch, cut.count)
          last = cut.last.map { ($0.isFinite ? $0 : nil, cut.count) }
        }
        // The trial's result: its last epoch, or its best when its policy restores the best.
        var result = last
        if state == .earlyStopped, let id = trialSweep[attempt.trial],
          sweeps[id]?.stopping?.restoresBest == true
        {
          result = seen.flatMap { entry in entry.epoch.map { (entry.best, $0) } }
        }
        if state == .completed || state == .earlyStopped, let id = trialSweep[attempt.trial],
          let index = trialIndex[attempt.trial],
          sweeps[id]?.stopping?.counts(earlyStopped: state == .earlyStopped) == true
        {
          sweeps[id]?.finishedCurves[index] = curve ?? []
        }
        countFinished(attempt.trial)
        track(attempt.trial, state, best: seen?.best)
        changes.append(
          Store.TrialChange(
            id: attempt.trial, ifAttempt: attempt.attempt,
            [
              .state(state), .epochs(epochs), .seconds(done.seconds),
              .message(stopReason ?? done.message),
              .best(value: seen?.best, epoch: seen?.epoch),
              .result(value: result?.value, epoch: result?.epoch),
            ]))
      case .requeued(let lost, _, let reason):
        progress[lost.trial] = nil
        latest[lost.trial] = nil
        curves[lost.trial] = nil
        earlyEpochs[lost.trial] = nil
        stopReasons[lost.trial] = nil
        stopEpochs[lost.trial] = nil
        track(lost.trial, .pending)
        logger.info("\(lost) requeued: \(reason)", metadata: Self.ids(lost, sweep: trialSweep[lost.trial]))
        changes.append(
          Store.TrialChange(
            id: lost.trial, ifAttempt: lost.attempt, [.state(.pending), .worker(nil), .message(reason)]))
      case .failed(let attempt, let reason):
        logger.warning(
          "\(attempt) failed: \(reason)", metadata: Self.ids(attempt, sweep: trialSweep[attempt.trial]))
        specs[attempt.trial] = nil
        latest[attempt.trial] = nil
        countFinished(attempt.trial)
        track(attempt.trial, .failed)
        changes.append(
          Store.TrialChange(
            id: attempt.trial, ifAttempt: attempt.attempt, [.state(.failed), .message(reason)]))
      case .cancelled(let trial):
        specs[trial] = nil
        countFinished(trial)
        track(trial, .cancelled)
        changes.append(Store.TrialChange(id: trial, ifAttempt: nil, [.state(.cancelled)]))
      }
    }
    pendingChanges += changes
  }

  /// Keeps the live sweep's counts in step with a trial's new state (and its best value when
  /// it finished with one).
  func track(_ trial: Int64, _ new: TrialRecord.State, best: Double? = nil) {
    guard let id = trialSweep[trial], var live = sweeps[id] else { return }
    if let old = trialStates[trial] { live.counts[old, default: 0] -= 1 }
    live.counts[new, default: 0] += 1
    trialStates[trial] = new.isFinished ? nil : new
    if let best, best.isFinite {
      let maximize = live.record.metricGoal == "maximize"
      if live.bestFinished.map({ maximize ? best > $0 : best < $0 }) ?? true { live.bestFinished = best }
    }
    if new.isFinished, live.plan.spec.method == .tpe, let index = trialIndex[trial] {
      let state: Observation.State =
        new == .completed || new == .earlyStopped ? .completed : new == .diverged ? .diverged : .failed
      live.observations[index] = Observation(
        point: live.points[index / live.plan.spec.repeats] ?? [], value: best,
        state: best == nil ? .failed : state)
    }
    sweeps[id] = live
  }

  /// A trial ended: its sweep may need new trials, or be complete (checked in `flush`).
  func countFinished(_ trial: Int64) {
    if let id = trialSweep[trial] {
      sweeps[id]?.finished += 1
      if let index = trialIndex[trial] { sweeps[id]?.markFinished(index) }
      refillQueue.insert(id)
    }
  }

  func record(_ metric: MetricReport) {
    counters.metricMessages += 1
    guard let trial = progress[metric.attempt.trial], let sweepID = sweepOf(metric.attempt.trial),
      let live = sweeps[sweepID]
    else { return }
    var entry = trial
    entry.epochs = max(entry.epochs, metric.epoch)
    if let value = metric.values[live.record.metricName], value.isFinite {
      let better =
        live.record.metricGoal == "maximize"
        ? value > (entry.best ?? -.infinity) : value < (entry.best ?? .infinity)
      if better {
        entry.best = value
        entry.epoch = metric.epoch
      }
    }
    progress[metric.attempt.trial] = entry
    if metric.epoch >= latest[metric.attempt.trial]?.epoch ?? 0 {
      let value = metric.values[live.record.metricName]
      latest[metric.attempt.trial] = (value.flatMap { $0.isFinite ? $0 : nil }, metric.epoch)
    }
    if let policy = live.stopping, curves[metric.attempt.trial] != nil {
      extendCurve(
        metric.attempt.trial, epoch: metric.epoch, value: metric.values[live.record.metricName] ?? .nan,
        sweep: sweepID, policy: policy, deterministic: live.lag != nil)
    }
    metricBuffer.append(
      MetricRecord(
        trialID: metric.attempt.trial, attempt: metric.attempt.attempt, epoch: metric.epoch,
        values: MetricJSON.encode(values: metric.values)))
    if metricBufferedAt == nil { metricBufferedAt = now }
  }

  /// Adds an epoch to a running trial's curve, or holds it until the epochs before it have
  /// arrived (duplicates are ignored), and judges each epoch the curve gains, in order, until
  /// the policy stops the trial.
  func extendCurve(
    _ trial: Int64, epoch: Int, value: Double, sweep: String, policy: StoppingPolicy, deterministic: Bool
  ) {
    guard var curve = curves[trial], epoch > curve.count else { return }
    guard epoch == curve.count + 1 else {
      earlyEpochs[trial, default: [:]][epoch] = value
      return
    }
    var next: Double? = value
    while let added = next {
      curve.append(added)
      curves[trial] = curve
      if stopReasons[trial] == nil,
        let stop = policy.decide(curve: curve, peers: peers(of: trial, in: sweep, policy))
      {
        if deterministic { stopEpochs[trial] = stop.epoch }
        earlyStop(trial, sweep: sweep, reason: stop.reason)
      }
      next = earlyEpochs[trial]?.removeValue(forKey: curve.count + 1)
    }
    if earlyEpochs[trial]?.isEmpty == true { earlyEpochs[trial] = nil }
  }

  /// The curves a stopping decision about `trial` compares against: none (plateau); the
  /// finished trials it may see (median rule, and every policy in deterministic mode); or
  /// those and every other running trial of the sweep (ASHA, Hyperband).
  func peers(of trial: Int64, in sweep: String, _ policy: StoppingPolicy) -> [[Double]] {
    guard policy.peers != .none, let live = sweeps[sweep] else { return [] }
    var peers = live.curves(visibleTo: trialIndex[trial] ?? Int.max)
    if policy.peers == .all && live.lag == nil {
      for (other, curve) in curves where other != trial && trialSweep[other] == sweep { peers.append(curve) }
    }
    return peers
  }

  /// A stopping policy's decision: recorded (event) before the STOP goes out.
  func earlyStop(_ trial: Int64, sweep: String, reason: String) {
    do {
      try store.recordEvent(
        EventRecord(
          time: Date().timeIntervalSince1970, sweepID: sweep, trialID: trial, kind: "early_stop",
          detail: reason))
    } catch {
      // Not recorded, not acted on: the next epoch brings the decision again.
      logger.error(
        "store: cannot record a stop of trial \(trial) (\(error))", metadata: ["trial": "\(trial)"])
      return
    }
    stopReasons[trial] = reason
    sweeps[sweep]?.recentStops.append(SweepStatus.Stop(trial: trial, reason: reason))
    if let count = sweeps[sweep]?.recentStops.count, count > SweepStatus.Stop.shown {
      sweeps[sweep]?.recentStops.removeFirst(count - SweepStatus.Stop.shown)
    }
    logger.info("trial \(trial) stopped: \(reason)", metadata: ["trial": "\(trial)", "sweep": "\(sweep)"])
    perform(state.handle(.stopTrial(trial, reason: reason), now: now))
  }

  var trialSweep: [Int64: String] = [:]
  func sweepOf(_ trial: Int64) -> String? { trialSweep[trial] }

  // MARK: Sweeps

  /// Total slots of the connected workers (at least 1).
  var capacity: Int { max(state.workers.values.map(\.slots).reduce(0, +), 1) }

  /// Creates trials for a sweep until it has its total, or enough pending to keep every slot
  /// busy (adaptive and unbounded sweeps are extended as results arrive).
  func refill(_ id: String) {
    guard var live = sweeps[id], live.record.state == .running else { return }
    let total = live.plan.totalTrials
    // TPE: its random start-up trials at once, then one suggestion per free slot, so each
    // sees the latest results. Others: enough pending to keep every slot busy.
    let startup = live.plan.tpe.startupTrials * live.plan.spec.repeats
    let wanted =
      live.plan.spec.method == .tpe ? (live.created < startup ? startup : capacity) : 2 * capacity + 8
    let pendingHere = state.pending[id]?.count ?? 0
    var new: [TrialRecord] = []
    var history: [Observation]? = nil
    let encoder = WireCodec.encoder()
    encoder.outputFormatting = [.sortedKeys]
    while pendingHere + new.count < wanted, total.map({ live.created < $0 }) ?? true {
      let index = live.created
      // Deterministic mode: wait until the trials this one may see have all finished.
      guard live.mayCreate(index) else { break }
      let configuration = index / live.plan.spec.repeats
      var given: [Double]? = live.points[configuration]
      if live.plan.spec.method == .tpe && given == nil {
        if let bound = live.visibleBound(for: index) {
          given = live.plan.point(configuration, history: live.history(before: bound))
        } else {
          if history == nil { history = live.history() }
          given = live.plan.point(configuration, history: history!)
        }
        live.points[configuration] = given
      }
      guard let planned = try? live.plan.trial(index, point: given) else { break }
      let params = ConfigValue.map(planned.used.map { ConfigValue.Entry(key: $0.0, value: $0.1) })
      new.append(
        TrialRecord(
          sweepID: id, index: index, configuration: planned.configuration, repeatIndex: planned.repeatIndex,
          seed: planned.seed,
          params: String(decoding: (try? encoder.encode(params)) ?? Data(), as: UTF8.self),
          point: String(decoding: (try? encoder.encode(planned.point)) ?? Data(), as: UTF8.self),
          spec: String(decoding: (try? encoder.encode(planned.spec)) ?? Data(), as: UTF8.self),
          updatedAt: Date().timeIntervalSince1970))
      live.created += 1
    }
    guard !new.isEmpty else {
      sweeps[id] = live
      return
    }
    let stored: [TrialRecord]
    do {
      stored = try store.appendTrials(new)
    } catch {
      // Not stored, not created: the same trials are made again at the next refill.
      logger.error(
        "store: cannot add trials to sweep \(id) (\(error)); retrying", metadata: ["sweep": "\(id)"])
      refillQueue.insert(id)
      return
    }
    sweeps[id] = live
    for trial in stored {
      trialSweep[trial.id!] = id
      trialIndex[trial.id!] = trial.index
      specs[trial.id!] = trial.spec
      track(trial.id!, .pending)
    }
    perform(
      state.handle(
        .trialsAdded(sweep: id, trials: stored.map { $0.id! }, maxAttempts: live.plan.spec.maxAttempts),
        now: now))
  }

  func finishIfComplete(_ id: String) {
    guard let live = sweeps[id], live.record.state == .running, let total = live.plan.totalTrials,
      live.created >= total, live.finished >= live.created,
      let trials = try? store.trials(sweep: id), trials.allSatisfy({ $0.state.isFinished })
    else { return }
    try? store.setSweepState(id, .completed)
    sweeps[id]?.record.state = .completed
    collectData()
    logger.info("sweep \(id) completed: \(trials.count) trials", metadata: ["sweep": "\(id)"])
  }

  // MARK: Client requests

  func answer(_ request: ClientRequest) -> ClientReply {
    switch request {
    case .submit(let submit):
      do {
        let digests = submit.data ?? [:]
        for (path, digest) in digests.sorted(by: { $0.key < $1.key }) {
          guard let dataStore else {
            return .error("this coordinator keeps no data files; '\(path)' cannot travel")
          }
          guard dataStore.has(digest) else {
            return .error("data file '\(path)' (sha256 \(digest.prefix(12))…) was not uploaded; submit again")
          }
          dataStore.touch(digest)
        }
        let spec = try SweepConfig.parse(text: submit.text, file: submit.file, dataDigests: digests)
        let id = "s\(Int(Date().timeIntervalSince1970 * 1000) % 100_000_000)-\(sweeps.count + 1)"
        let record = SweepRecord(
          id: id, name: spec.name, file: submit.file, configText: submit.text, method: spec.methodName,
          metricName: spec.metric.name, metricGoal: spec.metric.goal.rawValue, seed: spec.seed,
          createdAt: Date().timeIntervalSince1970,
          dataDigests: digests.isEmpty
            ? nil : String(decoding: try Self.sortedEncoder.encode(digests), as: UTF8.self))
        _ = try store.createSweep(record, trials: [])
        sweeps[id] = LiveSweep(record: record, plan: SweepPlan(spec: spec), created: 0)
        refillQueue.insert(id)
        logger.info(
          "sweep \(id) submitted: \(spec.methodName), \(SweepPlan(spec: spec).totalTrials.map(String.init) ?? "unbounded") trials"
        )
        return .ok(json: Array("{\"sweep\":\"\(id)\"}".utf8))
      } catch let errors as ConfigErrors {
        return .error(errors.description)
      } catch {
        return .error("\(error)")
      }
    case .status(let sweep):
      return status(sweep)
    case .leaderboard(let request):
      guard let record = try? store.sweep(request.sweep) else {
        return .error("unknown sweep '\(request.sweep)'")
      }
      let board = leaderboard(record)
      return .ok(json: Array(board.render(.json, top: request.top, groupBy: request.groupBy).utf8))
    case .history(let sweep):
      guard let record = try? store.sweep(sweep) else { return .error("unknown sweep '\(sweep)'") }
      guard let rows = try? store.currentMetrics(sweep: sweep) else {
        return .error("the store cannot be read")
      }
      return .ok(
        json: SweepHistory.json(
          file: record.file, config: record.configText, dataDigests: record.digests,
          leaderboard: leaderboard(record),
          metrics: rows.map { ($0.trialID, $0.epoch, $0.values) }))
    case .haveData(let request):
      guard let dataStore else { return .error("this coordinator keeps no data files") }
      let missing = dataStore.missing(request.digests)
      return .ok(
        json: Array(
          ("{\"missing\":{" + missing.keys.sorted().map { "\"\($0)\":\(missing[$0]!)" }.joined(separator: ",")
            + "}}")
            .utf8))
    case .upload(let chunk):
      guard let dataStore else { return .error("this coordinator keeps no data files") }
      do {
        let (received, complete) = try dataStore.receive(
          digest: chunk.sha256, size: chunk.size, offset: chunk.offset, bytes: chunk.bytes ?? [])
        if complete && chunk.offset + Int64((chunk.bytes ?? []).count) == chunk.size {
          logger.info("data \(chunk.sha256.prefix(12))… stored (\(chunk.size) bytes)")
        }
        return .ok(json: Array("{\"received\":\(received),\"complete\":\(complete)}".utf8))
      } catch {
        return .error("\(error)")
      }
    case .fetch(let request):
      guard let dataStore else { return .error("this coordinator keeps no data files") }
      do {
        return .data(
          try dataStore.read(digest: request.sha256, offset: request.offset, length: request.length))
      } catch {
        return .error("\(error)")
      }
    case .cancel(let sweep):
      guard (try? store.sweep(sweep)) != nil else { return .error("unknown sweep '\(sweep)'") }
      perform(state.handle(.cancel(sweep: sweep), now: now))
      try? store.setSweepState(sweep, .cancelled)
      sweeps[sweep]?.record.state = .cancelled
      collectData()
      return .ok(json: Array("{\"cancelled\":\"\(sweep)\"}".utf8))
    }
  }

  static let sortedEncoder: JSONEncoder = {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    return encoder
  }()

  /// Removes stored data files no unfinished sweep refers to (after their grace period).
  func collectData() {
    guard let dataStore else { return }
    guard let records = try? store.sweeps() else { return }
    let keep = Set(records.filter { $0.state == .running }.flatMap { $0.digests.values })
    let removed = dataStore.collect(keep: keep)
    if !removed.isEmpty { logger.info("removed \(removed.count) data files no unfinished sweep uses") }
  }

  func status(_ sweep: String?) -> ClientReply {
    // One sweep (what `watch` and `run` poll, 50 times a second in `run`) is one row.
    let chosen: [SweepRecord]
    do {
      chosen = try sweep.map { try store.sweep($0).map { [$0] } ?? [] } ?? store.sweeps()
    } catch {
      return .error("the store cannot be read")
    }
    if let sweep, chosen.isEmpty { return .error("unknown sweep '\(sweep)'") }
    var list: [SweepStatus] = []
    for record in chosen {
      let maximize = record.metricGoal == "maximize"
      var (counts, stored): ([String: Int], Double?)
      if let live = sweeps[record.id] {
        counts = Dictionary(
          uniqueKeysWithValues: live.counts.filter { $0.value > 0 }.map { ($0.key.rawValue, $0.value) })
        stored = live.bestFinished
      } else {
        (counts, stored) = (try? store.progress(sweep: record.id, maximize: maximize)) ?? ([:], nil)
      }
      // Running trials' best so far counts too.
      let live =
        sweeps[record.id] == nil
        ? [] : progress.compactMap { id, entry in trialSweep[id] == record.id ? entry.best : nil }
      let candidates = (stored.map { [$0] } ?? []) + live
      let best = maximize ? candidates.max() : candidates.min()
      let total = sweeps[record.id]?.plan.totalTrials
      list.append(
        SweepStatus(
          sweep: record.id, name: record.name, state: record.state.rawValue, trials: counts, total: total,
          best: best, metric: SweepStatus.Metric(name: record.metricName, goal: record.metricGoal),
          workers: state.workerCount,
          stops: sweeps[record.id]?.recentStops
            ?? (sweep == nil ? nil : try? Self.latestStops(store, sweep: record.id))))
    }
    return .ok(json: SweepStatus.encode(list))
  }

  func leaderboard(_ record: SweepRecord) -> Leaderboard {
    let trials = (try? store.trials(sweep: record.id)) ?? []
    let summaries = trials.map { trial -> TrialSummary in
      let params = (try? JSONDecoder().decode(ConfigValue.self, from: Data(trial.params.utf8))) ?? .map([])
      var ordered: [(String, ConfigValue)] = []
      if case .map(let entries) = params { ordered = entries.map { ($0.key, $0.value) } }
      let live = progress[trial.id!]
      return TrialSummary(
        trial: trial.id!, index: trial.index, configuration: trial.configuration,
        status: trial.state.rawValue,
        params: ordered, best: trial.bestValue ?? live?.best, bestEpoch: trial.bestEpoch ?? live?.epoch,
        epochs: max(trial.epochs, live?.epochs ?? 0), seconds: trial.seconds, message: trial.message,
        result: trial.resultValue, resultEpoch: trial.resultEpoch)
    }
    return Leaderboard(
      sweep: record.id,
      metric: SweepSpec.Metric(
        name: record.metricName, goal: SweepSpec.Goal(rawValue: record.metricGoal) ?? .minimize),
      trials: summaries)
  }
}
