import DataTransfer
import Dispatch
import Foundation
import Logging
import Search
import Store
import Synchronization
import Vocabulary
import Wire
import ZMQ

/// The coordinator process's thin shell: one ROUTER, the store, and the pure parts it feeds —
/// `CoordinatorState` (workers, leases, liveness), `SweepBook` (sweeps, trials, stopping)
/// and `Requests` (client requests). It polls, decodes, feeds events in, and turns the
/// actions that come out into store writes and messages: the writes of a pass go in one
/// transaction (group commit), and nothing is sent before the store has what led to it.
///
/// All socket work happens on the thread that calls `run` (libzmq sockets are
/// single-threaded); `stop` may be called from any thread.
public final class CoordinatorServer: @unchecked Sendable {
  public typealias Security = CoordinatorSecurity

  let context: ZMQContext
  let socket: ZMQSocket
  let store: Store
  /// This process is the store's one writer while it runs (see `StoreLock`).
  let storeLock: StoreLock?
  /// Uploaded data files (nil: this coordinator accepts no uploads).
  let dataStore: ContentStore?
  let logger: Logger
  let security: Security?
  var zapHandler: ZAPHandler?
  var leases = CoordinatorState()
  var book = SweepBook()
  let requests: Requests
  /// Sweeps accepted since start (the suffix of new sweep ids).
  var submitted = 0

  /// The next transaction's rows (trial changes, stop events, METRIC rows), written
  /// together, and the messages that wait for them.
  var commit = GroupCommit()
  var outbox: [(peer: String, frames: [[UInt8]])] = []
  /// Sweeps to refill (or end) after the next write.
  var refillQueue: Set<String> = []
  /// The CURVE public key each worker connection came with (for the log).
  var peerKeys: [String: String] = [:]

  let started = DispatchTime.now().uptimeNanoseconds
  /// Set by `stop`; a byte on `wake` interrupts the poll at once.
  let stopRequested = Atomic<Bool>(false)
  let wake: (read: Int32, write: Int32)
  /// Since when store writes fail (nil while they succeed).
  var storeFailingSince: Double?
  /// The numbers `--metrics-port` serves, as of the loop's last pass.
  var counters = CoordinatorMetrics()
  let published = Mutex(CoordinatorMetrics())
  /// Trials by state of the sweeps that ended since start (they leave the book; Prometheus
  /// still counts them).
  var endedCounts: [TrialState: Int] = [:]

  /// What the dashboard reads: copies of the book and the lease machine, at most 10 times a
  /// second (value types: a copy costs only when the loop next changes them), with a
  /// version that grows with every published change.
  public struct LiveView: Sendable {
    public var book: SweepBook
    public var leases: CoordinatorState
    public var version: Int
    /// The connected workers when it was published, and when that was.
    public var workers: [CoordinatorState.WorkerSummary] = []
    public var publishedAt = Date()
  }
  let live = Mutex(LiveView(book: SweepBook(), leases: CoordinatorState(), version: 0))
  /// Changes since the last publication (stores written, requests answered).
  var changes = 0
  var lastLivePublish = 0.0
  /// Requests from other threads (the dashboard), answered by the loop like a client's.
  let inbox = Mutex<[(request: ClientRequest, reply: @Sendable (ClientReply) -> Void)]>([])

  /// The latest published view (the dashboard's reads).
  public func liveView() -> LiveView { live.withLock { $0 } }

  /// The store the coordinator writes (the dashboard reads it).
  public var storeForReading: Store { store }

  /// A client request from another thread, answered by the loop exactly as a ZeroMQ
  /// client's (written first, then acted on); `reply` is called on the loop's thread.
  public func ask(_ request: ClientRequest, reply: @escaping @Sendable (ClientReply) -> Void) {
    inbox.withLock { $0.append((request, reply)) }
    var byte: UInt8 = 1
    _ = write(wake.write, &byte, 1)
  }

  /// Whether anything reads the live view (a dashboard): without one the loop publishes
  /// nothing, so a coordinator without `--http` pays no copies.
  let liveViewWanted = Atomic<Bool>(false)

  /// Starts publishing the live view (a dashboard is attached); from any thread.
  public func enableLiveView() {
    liveViewWanted.store(true, ordering: .relaxed)
    var byte: UInt8 = 1
    _ = write(wake.write, &byte, 1)
  }

  /// Publishes the book and leases for the dashboard when something changed (at most every
  /// 100 ms). Workers' heartbeats are not changes, so the view is also refreshed every 2 s.
  func publishLive(force: Bool = false) {
    guard liveViewWanted.load(ordering: .relaxed) else { return }
    let due = now - lastLivePublish
    guard force || (changes > 0 && due >= 0.1) || due >= 2 else { return }
    let changed = changes > 0 || force
    changes = 0
    lastLivePublish = now
    let (book, leases) = (self.book, self.leases)
    let workers = leases.workerSummaries(now: now)
    live.withLock {
      $0.book = book
      $0.leases = leases
      if changed || $0.workers.map(\.running) != workers.map(\.running) || $0.workers.count != workers.count {
        $0.version += 1
      }
      $0.workers = workers
      $0.publishedAt = Date()
    }
  }

  /// The address the ROUTER is bound to (with the port the system chose for `:*`).
  public var endpoint: String { socket.lastEndpoint }

  /// - Parameters:
  ///   - context: the ZeroMQ context to open the ROUTER in (default: its own). Pass the
  ///     workers' context to serve them over `inproc://` in one process (`sweepd run`).
  ///   - security: CURVE keys; its ZAP handler runs before the socket binds, and the socket
  ///     refuses everyone if no handler answers.
  ///   - dataStore: where uploaded data files are kept (see `ContentStore`).
  public init(
    bind: String, store: Store, logger: Logger = Logger(label: "sweepd.coordinator"),
    context: ZMQContext? = nil, security: Security? = nil, dataStore: ContentStore? = nil,
    role: String = "sweepd coordinator"
  ) throws {
    storeLock = try store.lock ?? store.path.map { try StoreLock(store: $0, role: role) }
    self.dataStore = dataStore
    self.context = try context ?? ZMQContext()
    self.security = security
    self.store = store
    self.logger = logger
    requests = Requests(store: store, dataStore: dataStore, logger: logger)
    (socket, zapHandler) = try CoordinatorSecurity.router(
      context: self.context, bind: bind, security: security, logger: logger)
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

  /// Seconds since start (the pure parts' clock).
  var now: Double { Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9 }
  var wallClock: Double { Date().timeIntervalSince1970 }

  /// The coordinator's numbers for Prometheus (any thread).
  public func metricsSnapshot() -> CoordinatorMetrics { published.withLock { $0 } }

  func publishMetrics() {
    counters.update(book: book, ended: endedCounts, leases: leases, storeFailing: storeFailingSince != nil)
    published.withLock { $0 = counters }
  }

  /// Reads the running sweeps back from the store (see `Recovery`).
  func recover() throws {
    collectData()
    let snapshots = try Recovery.Snapshot.running(in: store, logger: logger)
    let recovered = Recovery.rebuild(snapshots)
    book = recovered.book
    for (id, live) in book.sweeps { leases.require(Self.requirements(of: live.plan.spec), for: id) }
    leases.recover(pending: recovered.pending, running: recovered.running, now: now)
    for (id, live) in book.sweeps where live.record.state == .paused {
      perform(leases.handle(.pause(sweep: id, stopRunning: false), now: now))
    }
    for snapshot in snapshots {
      let id = snapshot.record.id
      logger.info(
        "recovered sweep \(id): \(recovered.pending.filter { $0.sweep == id }.count) pending, \(recovered.running.filter { $0.sweep == id }.count) running",
        metadata: ["sweep": "\(id)"])
    }
    // A sweep that had reached its target before the restart creates nothing more.
    for (id, live) in book.sweeps {
      guard let trial = live.targetReachedBy else { continue }
      perform(
        leases.handle(
          .cancelPending(
            sweep: id, reason: SweepBook.Sweep.targetSentence(trial: trial)),
          now: now))
    }
    refillQueue.formUnion(book.sweeps.keys)
    flush()
    publishLive(force: true)
  }

  /// A completed sweep made live again (`sweepd extend`; see `Recovery.revive`).
  func revive(_ id: String) {
    guard let record = try? store.sweep(id),
      Recovery.revive(record, from: store, into: &book, logger: logger),
      let live = book.sweeps[id]
    else {
      logger.error(
        "sweep \(id): cannot be read back from the store to extend it", metadata: ["sweep": "\(id)"])
      return
    }
    leases.require(Self.requirements(of: live.plan.spec), for: id)
  }

  /// Rows held in memory while the store cannot be written, past which the coordinator
  /// stops reading its socket (back-pressure: workers' sends wait in their own bounded
  /// queues) until the store takes them. Default 200,000 (about 40 MB of METRIC rows).
  var holdLimit = 200_000

  /// Whether the loop stops reading: the store fails and holds `holdLimit` rows already.
  var backPressured: Bool { storeFailingSince != nil && commit.rowCount >= holdLimit }

  /// Serves until `stop` is called.
  public func run() throws {
    var lastTick = now
    while !stopRequested.load(ordering: .relaxed) {
      let reading = !backPressured
      let polled = try ZMQPoller.readable(
        reading ? [socket] : [], fileDescriptors: [wake.read],
        timeoutMilliseconds: commit.metrics.isEmpty ? 50 : Int(GroupCommit.metricDelay * 1000))
      if polled.fileDescriptors[0] {
        var sink = [UInt8](repeating: 0, count: 64)
        while read(wake.read, &sink, sink.count) > 0 {}
      }
      if reading, polled.sockets[0] {
        // Drain what is waiting (at most 1,000, so stop and ticks are not starved), then tick.
        var handled = 0
        while handled < 1000, !stopRequested.load(ordering: .relaxed), !backPressured,
          let message = try socket.receive(dontWait: true)
        {
          handle(message.frames, role: message.userID)
          handled += 1
        }
      } else if !reading {
        // Not listening is our doing: no worker is taken for dead meanwhile.
        leases.excuseSilence(now: now)
      }
      // The dashboard's requests, answered like a client's.
      let asked = inbox.withLock { queue in
        defer { queue.removeAll() }
        return queue
      }
      for (request, respond) in asked { respond(answer(request)) }
      if now - lastTick >= 0.1 {
        perform(leases.handle(.tick, now: now))
        lastTick = now
      }
      flush()
      publishMetrics()
      publishLive()
    }
    logger.info(
      "coordinator stopping: \(leases.workerCount) worker\(leases.workerCount == 1 ? "" : "s") connected, \(leases.runningCount) trial\(leases.runningCount == 1 ? "" : "s") running (their workers keep them for the next coordinator)"
    )
    flush(final: true)
    // Everything in the database file itself: a copy of that file alone is complete.
    store.checkpoint()
    // Release the address, so a coordinator started next (a restart) can bind it at once.
    try? socket.unbind(endpoint)
    zapHandler?.stop()
    // Nothing more is written: the next coordinator (a restart) may open the store.
    storeLock?.release()
  }

  /// Handles one message; `role` is the sender's ZAP user id when the coordinator runs
  /// CURVE, and decides what the sender may do.
  func handle(_ frames: [[UInt8]], role userID: String? = nil) {
    guard frames.count >= 2 else { return }
    let peer = String(decoding: frames[0], as: UTF8.self)
    let body = Array(frames.dropFirst())
    let identity = Security.identity(userID)
    let role = identity?.role
    if let key = identity?.key, role == .worker, peerKeys[peer] == nil { peerKeys[peer] = key }
    switch WireCodec.decodeWorkerMessage(body) {
    case .success(let message):
      if security != nil && role != .worker {
        logger.warning(
          "dropped a worker message from \(Self.readable(frames[0])): its key is not a worker's",
          metadata: ["peer": "\(Self.readable(frames[0]))"])
        return
      }
      perform(leases.handle(.message(peer, message), now: now))
    case .failure(.unknownCommand):
      switch WireCodec.decodeClientRequest(body) {
      case .success(let request):
        if security != nil, role != .operator, request.changesState {
          logger.warning(
            "refused a request from \(Self.readable(frames[0])): its key is not an operator's",
            metadata: ["peer": "\(Self.readable(frames[0]))"])
          reply(to: frames[0], .error("not allowed: only operator keys may submit, upload, cancel or delete"))
          return
        }
        reply(to: frames[0], answer(request))
      case .failure(.invalid(let command, let reason)):
        // A client request that decoded but fails its checks: refused, with the field.
        logger.warning(
          "refused a \(command) request from \(Self.readable(frames[0])): \(reason)",
          metadata: ["peer": "\(Self.readable(frames[0]))"])
        reply(to: frames[0], .error("\(command): \(reason)"))
      case .failure(let error):
        logger.warning("dropped a message from \(Self.readable(frames[0])): \(error)")
        perform(leases.handle(.malformed(peer, reason: "\(error)"), now: now))
      }
    case .failure(let error):
      logger.warning("dropped a message from \(Self.readable(frames[0])): \(error)")
      perform(leases.handle(.malformed(peer, reason: "\(error)"), now: now))
    }
  }

  /// Answers a client request: from the written state, and what it changed written before
  /// the reply.
  func answer(_ request: ClientRequest) -> ClientReply {
    // A delete removes the sweep's rows: whatever is buffered about them is written first
    // (METRIC rows may be waiting for company), never after, when they would be orphans.
    if case .delete = request { flush(final: true) } else { flush() }
    let answer = requests.answer(request, book: &book, leases: leases, submitted: &submitted)
    changes += 1
    for effect in answer.effects {
      switch effect {
      case .refill(let sweep): refillQueue.insert(sweep)
      case .cancel(let sweep):
        perform(leases.handle(.cancel(sweep: sweep), now: now))
        end(sweep)
      case .collectData: collectData()
      case .pause(let sweep, let stopRunning):
        book.setState(sweep, .paused)
        perform(leases.handle(.pause(sweep: sweep, stopRunning: stopRunning), now: now))
      case .resume(let sweep):
        book.setState(sweep, .running)
        perform(leases.handle(.resume(sweep: sweep), now: now))
        refillQueue.insert(sweep)
      case .enqueued(let sweep, let trials):
        guard let live = book.sweeps[sweep] else { break }
        leases.require(Self.requirements(of: live.plan.spec), for: sweep)
        if live.record.state == .paused {
          perform(leases.handle(.pause(sweep: sweep, stopRunning: false), now: now))
        }
        perform(
          leases.handle(
            .trialsAdded(sweep: sweep, trials: trials, maxAttempts: live.plan.spec.maxAttempts, first: true),
            now: now))
      case .extend(let sweep, let runCap, let revived):
        if revived {
          revive(sweep)
        } else {
          book.setRunCap(sweep, runCap)
        }
        refillQueue.insert(sweep)
      }
    }
    flush()
    return answer.reply
  }

  // MARK: Actions

  /// Applies the lease machine's actions: transitions become store changes (through the
  /// book), messages wait in the outbox, metrics feed the book (and its stopping judge).
  func perform(_ actions: [CoordinatorState.Action]) {
    for action in actions {
      switch action {
      case .persist(let transition):
        log(transition)
        let sweep = book.trials[transition.trial]?.sweep
        if let change = book.apply(transition) {
          commit.changes.append(change)
          // A trial ended: its sweep may need new trials, or be complete.
          if transition.endsTrial, let sweep { refillQueue.insert(sweep) }
        }
      case .assign(let peer, let attempt, let sweep):
        counters.assignments += 1
        guard let trial = book.trials[attempt.trial] else {
          logger.error("trial \(attempt.trial) is not in the book; not assigned")
          continue
        }
        outbox.append(
          (
            peer,
            WireCodec.encodeAssignment(
              attempt: attempt, sweep: sweep, specJSON: Array(trial.spec.utf8),
              promptMetrics: book.judge.judges(sweep: sweep))
          ))
      case .stop(let peer, let attempt, let reason):
        send(peer, .stop(StopOrder(attempt: attempt, reason: reason)))
      case .acknowledge(let peer, let attempt): send(peer, .acknowledge(attempt))
      case .heartbeat(let peer):
        // Liveness does not wait for the store: a heartbeat leaves at once, so workers keep
        // their connection (and their running trials) while writes are held.
        sendNow(peer, WireCodec.encode(CoordinatorMessage.heartbeat))
      case .disconnect(let peer, let reason): send(peer, .disconnect(reason))
      case .recordMetric(let metric): record(metric)
      case .joined(let peer, let name, let host, let version, let slots):
        let key = peerKeys[peer]
        logger.info(
          "worker \(name) joined from \(host): sweepd \(version), \(slots) slot\(slots == 1 ? "" : "s")\(key.map { ", key \($0)" } ?? "")",
          metadata: ["worker": "\(name)", "host": "\(host)", "version": "\(version)"])
        if let key, let other = leases.workers.first(where: { $0.key != peer && peerKeys[$0.key] == key }) {
          logger.warning(
            "worker \(name) uses the same key as worker \(other.value.name) (\(key)): give each worker box its own key pair, so one can be revoked alone",
            metadata: ["worker": "\(name)", "key": "\(key)"])
        }
      case .draining(_, let name, let running):
        logger.info(
          "worker \(name) draining: its \(running) running trial\(running == 1 ? "" : "s") finish there, it gets no new one",
          metadata: ["worker": "\(name)"])
      case .left(let peer, let name, let reason):
        peerKeys[peer] = nil
        logger.info("worker \(name) left: \(reason)", metadata: ["worker": "\(name)"])
      case .recordLog(let chunk):
        commit.add(
          LogRecord(
            trialID: chunk.attempt.trial, attempt: chunk.attempt.attempt, stream: chunk.stream.rawValue,
            text: chunk.text),
          now: now)
      }
    }
  }

  func record(_ metric: MetricReport) {
    counters.metricMessages += 1
    for action in book.record(metric, time: wallClock) {
      switch action {
      case .record(let event):
        commit.events.append(event)
        if event.kind == "early_stop" {
          logger.info(
            "trial \(event.trialID ?? -1) stopped: \(event.detail)",
            metadata: ["trial": "\(event.trialID ?? -1)", "sweep": "\(event.sweepID ?? "")"])
        }
      case .stop(let trial, let reason): perform(leases.handle(.stopTrial(trial, reason: reason), now: now))
      case .closePending(let sweep, let reason):
        logger.info("sweep \(sweep): \(reason)", metadata: ["sweep": "\(sweep)"])
        perform(leases.handle(.cancelPending(sweep: sweep, reason: reason), now: now))
        // With nothing running any more, the sweep is complete now.
        refillQueue.insert(sweep)
      }
    }
    commit.add(
      MetricRecord(
        trialID: metric.attempt.trial, attempt: metric.attempt.attempt, epoch: metric.epoch,
        values: MetricJSON.encode(values: metric.values)),
      now: now)
  }

  /// Sends past the outbox (for what depends on nothing stored).
  func sendNow(_ peer: String, _ frames: [[UInt8]]) {
    do {
      try socket.send([Array(peer.utf8)] + frames, dontWait: true)
    } catch {
      logger.debug("could not send to \(Self.readable(peer)): \(error)")
    }
  }

  func send(_ peer: String, _ message: CoordinatorMessage) {
    outbox.append((peer, WireCodec.encode(message)))
  }

  func reply(to peer: [UInt8], _ reply: ClientReply) {
    try? socket.send([peer] + WireCodec.encode(reply), dontWait: true)
  }

  // MARK: Flush

  /// Writes the queued rows (one transaction), sends what waited for them, refills the
  /// sweeps that had results (writing their new trials and assignments too), and ends the
  /// sweeps that are complete. One flush per drain of the socket batches the store work of
  /// many messages.
  func flush(final: Bool = false) {
    // Group commit: METRIC rows alone wait a little for company.
    if !final && outbox.isEmpty && refillQueue.isEmpty && !commit.isDue(now: now) { return }
    // Nothing leaves before the store has it: while writes fail (a full disk, a read-only
    // file), every change and every message waits here, and the next flush retries.
    guard writeChanges() else { return }
    // STOPs, ACKs and assignments of existing trials go now: a refill can take milliseconds
    // (a TPE suggestion), and a stop should not wait for it.
    sendQueued()
    let refills = refillQueue.sorted()
    refillQueue.removeAll()
    for id in refills { refill(id) }
    guard writeChanges() else { return }
    sendQueued()
    for id in refills where book.sweeps[id]?.isComplete == true { complete(id) }
  }

  /// Writes the group commit's rows in one transaction. Returns false, keeping them all for
  /// the next try, when the store cannot be written (logged once, and its recovery).
  @discardableResult
  func writeChanges() -> Bool {
    guard !commit.isEmpty else { return true }
    let began = DispatchTime.now().uptimeNanoseconds
    do {
      try commit.write(to: store, now: wallClock)
      changes += 1
      let seconds = Double(DispatchTime.now().uptimeNanoseconds - began) / 1e9
      counters.storeWrites += 1
      counters.storeWriteSeconds += seconds
      counters.storeWriteMaxSeconds = max(counters.storeWriteMaxSeconds, seconds)
    } catch where Store.refusesRows(error) {
      // Rows the store can never take (about a trial or sweep that no longer exists) must
      // not hold every other row: each is written alone, and the refused ones are dropped.
      return writeRefusedBatch(error)
    } catch {
      return holding(error)
    }
    if let since = storeFailingSince {
      logger.info("store: writing again after \(formatSeconds(now - since)); nothing was lost")
      storeFailingSince = nil
    }
    return true
  }

  /// The store refused the batch as a whole (`Store.refusesRows`): each row is written in a
  /// transaction of its own, and the ones it refuses are dropped, counted and logged — a
  /// write that can never succeed does not hold the store (a full disk does).
  func writeRefusedBatch(_ error: Error) -> Bool {
    let rows = commit.rowCount
    do {
      let refused = try commit.writeEachAlone(to: store, now: wallClock)
      counters.droppedRows += refused.count
      changes += 1
      logger.error(
        "store: refused \(refused.count) of \(rows) rows (\(error)); dropped them and wrote the rest. First: \(refused.first ?? "-")"
      )
      return true
    } catch {
      return holding(error)
    }
  }

  /// A write failed for a passing reason (a full disk): everything is held for the next
  /// try, logged once until it succeeds. Returns false.
  func holding(_ error: Error) -> Bool {
    if storeFailingSince == nil {
      storeFailingSince = now
      logger.error(
        "store: cannot write (\(error)); holding every change and message until it can (retrying every 50 ms)"
      )
    }
    return false
  }

  func sendQueued() {
    for (peer, frames) in outbox { sendNow(peer, frames) }
    outbox.removeAll(keepingCapacity: true)
  }

  /// Total slots of the connected workers (at least 1).
  var capacity: Int { max(leases.workers.values.map(\.slots).reduce(0, +), 1) }

  /// Creates the sweep's next trials (see `SweepBook.proposal`): stored first, then in the
  /// book, then queued for leases.
  func refill(_ id: String) {
    guard let proposal = book.proposal(for: id, capacity: capacity, now: wallClock) else { return }
    let stored: [TrialRecord]
    do {
      stored = try store.appendTrials(proposal.records)
    } catch {
      // Not stored, not created: the same trials are planned again at the next refill.
      logger.error(
        "store: cannot add trials to sweep \(id) (\(error)); retrying", metadata: ["sweep": "\(id)"])
      refillQueue.insert(id)
      return
    }
    book.commit(proposal, stored: stored)
    leases.require(Self.requirements(of: book.sweeps[id]!.plan.spec), for: id)
    let refused = stored.filter { $0.state == .failed }
    if let first = refused.first {
      logger.warning(
        "sweep \(id): \(refused.count) trial\(refused.count == 1 ? "" : "s") recorded failed: \(first.message ?? "")",
        metadata: ["sweep": "\(id)"])
      // Nothing runs for them: the sweep is refilled (or completed) at the next flush. A sweep
      // without a trial count goes on when its running trials end.
      if book.sweeps[id]?.plan.totalTrials != nil { refillQueue.insert(id) }
    }
    perform(
      leases.handle(
        .trialsAdded(
          sweep: id, trials: stored.filter { $0.state == .pending }.map { $0.id! },
          maxAttempts: book.sweeps[id]!.plan.spec.maxAttempts),
        now: now))
  }

  /// What a sweep's trials need of a worker.
  static func requirements(of spec: SweepSpec) -> CoordinatorState.Requirements {
    guard let program = spec.program else { return CoordinatorState.Requirements() }
    return CoordinatorState.Requirements(program: true, cores: program.cores, gpus: program.gpus)
  }

  /// Every trial of the sweep has ended: the store marks it completed, then it leaves memory.
  func complete(_ id: String) {
    guard let live = book.sweeps[id] else { return }
    // Every trial failed: the sweep failed (nothing was learned).
    let state: SweepRecord.State =
      live.created > 0 && live.counts[.failed] == live.created ? .failed : .completed
    do {
      try store.setSweepState(id, state)
    } catch {
      // The store must know first: still running in memory, tried again at the next flush.
      logger.error(
        "store: cannot mark sweep \(id) \(state.rawValue) (\(error)); retrying", metadata: ["sweep": "\(id)"])
      refillQueue.insert(id)
      return
    }
    end(id)
    logger.info("sweep \(id) \(state.rawValue): \(live.created) trials", metadata: ["sweep": "\(id)"])
  }

  /// The sweep has ended (the store has its new state): it leaves memory, and the data files
  /// only it used may go.
  func end(_ id: String) {
    for (state, count) in book.sweeps[id]?.counts ?? [:] { endedCounts[state, default: 0] += count }
    book.end(id)
    collectData()
  }

  /// Removes stored data files no unfinished sweep refers to (after their grace period).
  func collectData() {
    guard let dataStore, let records = try? store.sweeps() else { return }
    let keep = Set(records.filter { $0.state.isLive }.flatMap { $0.digests.values })
    let removed = dataStore.collect(keep: keep)
    if !removed.isEmpty { logger.info("removed \(removed.count) data files no unfinished sweep uses") }
  }
}
