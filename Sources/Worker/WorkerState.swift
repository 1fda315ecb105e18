import Wire

/// The worker's protocol logic as a pure state machine (events in, actions out, `now` in
/// seconds passed in), so tests drive it with a fake clock.
///
/// - Liveness (Paranoid Pirate): any message from the coordinator counts; after `liveness`
///   silent intervals the worker opens a fresh connection (a new DEALER, so nothing stale is
///   queued), says READY with the attempts it still runs, and resends unacknowledged DONEs.
///   Reconnects back off 1, 2, 4 … 32 s.
/// - A DONE is kept until the coordinator acknowledges it, and resent every `resendAfter`.
/// - A worker holds up to two trials per slot: the one a slot trains, and one queued for it
///   (the coordinator queues only while trials are short, so slots never wait for a round
///   trip). A slot reports `.began` when it takes a trial from the queue.
/// - Shutdown: the first request stops taking trials, hands back the queued ones and lets
///   the started ones finish, then says BYE and exits; a second hands the running attempts
///   back and exits at once.
public struct WorkerState: Sendable {
  public struct Settings: Sendable {
    public var heartbeatInterval = 1.0
    public var liveness = 3.0
    public var resendAfter = 3.0
    public var maximumBackoff = 32.0
    /// Seconds a draining worker lets its running trials finish (nil: as long as they take);
    /// past it, it hands them back (not counted as attempts) and leaves. Below systemd's
    /// `TimeoutStopSec`, so a drain ends with a hand-back rather than a SIGKILL.
    public var drainGrace: Double? = nil

    public init() {}
  }

  public enum Event: Hashable, Sendable {
    case start
    case received(CoordinatorMessage)
    /// A slot took an assigned attempt from the queue and starts training it.
    case began(AttemptID)
    /// A slot reports an epoch of a running attempt.
    case epoch(MetricReport)
    /// A slot finished an attempt (any status).
    case finished(DoneReport)
    /// A program trial's output (sent as it comes; not resent after a reconnect).
    case log(LogChunk)
    case tick
    /// SIGTERM (or the like).
    case shutdown
  }

  public enum Action: Hashable, Sendable {
    /// Open a fresh connection (close the old socket first, if any).
    case connect
    case send(WorkerMessage)
    case startTrial(Assignment)
    case stopTrial(AttemptID, reason: String)
    case exit
  }

  public let settings: Settings
  public let name: String
  public let host: String
  public let slots: Int
  public let version: String
  /// Whether it runs program trials, and how many GPUs it offers (READY says so).
  public var programs = false
  public var gpus = 0

  /// Attempts assigned and not finished: queued or started.
  public private(set) var running: Set<AttemptID> = []
  /// Assigned attempts no slot has started yet, oldest first.
  public private(set) var queued: [AttemptID] = []
  var unacknowledged: [AttemptID: (report: DoneReport, sentAt: Double)] = [:]
  /// Every epoch reported by each attempt until its DONE is acknowledged, resent after a
  /// reconnect: epochs sent while the coordinator was away are lost with the old connection
  /// (or with a coordinator killed before its group commit), and a stopping policy needs
  /// the whole curve (the coordinator ignores epochs it already has).
  var streamed: [AttemptID: [MetricReport]] = [:]
  var lastHeard = 0.0
  var lastSent = 0.0
  var backoff = 1.0
  var nextReconnect = 0.0
  /// 0: working; 1: draining (no new trials); 2: leaving now.
  public private(set) var shutdownLevel = 0
  /// When a draining worker stops waiting for its running trials (see `drainGrace`).
  var drainDeadline: Double?

  /// This process's session id (see `Ready.session`).
  public let session: String?

  public init(
    name: String, host: String, slots: Int, version: String, settings: Settings = Settings(),
    session: String? = nil
  ) {
    self.session = session
    self.name = name
    self.host = host
    self.slots = slots
    self.version = version
    self.settings = settings
  }

  /// What READY claims: the running attempts and the finished ones whose DONE is not
  /// acknowledged yet (a restarted coordinator that lost the DONE leases them back, then
  /// takes their resent epochs and DONE).
  var claimed: [AttemptID] {
    Set(running).union(unacknowledged.keys).sorted { ($0.trial, $0.attempt) < ($1.trial, $1.attempt) }
  }

  var ready: WorkerMessage {
    .ready(
      Ready(
        worker: name, host: host, slots: slots, version: version,
        running: claimed, session: session, programs: programs ? true : nil, gpus: gpus > 0 ? gpus : nil))
  }

  public mutating func handle(_ event: Event, now: Double) -> [Action] {
    switch event {
    case .start:
      lastHeard = now
      lastSent = now
      return [.connect, .send(ready)]
    case .received(let message):
      lastHeard = now
      backoff = 1
      return receive(message, now: now)
    case .began(let attempt):
      queued.removeAll { $0 == attempt }
      return []
    case .epoch(let metric):
      guard running.contains(metric.attempt) else { return [] }
      lastSent = now
      streamed[metric.attempt, default: []].append(metric)
      return [.send(.metric(metric))]
    case .log(let chunk):
      guard running.contains(chunk.attempt) else { return [] }
      lastSent = now
      return [.send(.log(chunk))]
    case .finished(let done):
      queued.removeAll { $0 == done.attempt }
      guard running.remove(done.attempt) != nil else { return [] }
      unacknowledged[done.attempt] = (done, now)
      lastSent = now
      return [.send(.done(done))] + finishIfDrained()
    case .tick:
      return tick(now: now)
    case .shutdown:
      shutdownLevel += 1
      // Leaving now hands back everything; draining hands back what no slot has started.
      let attempts = shutdownLevel >= 2 ? running.sorted { $0.trial < $1.trial } : queued
      var actions: [Action] = []
      if shutdownLevel == 1 {
        // Said first: the coordinator places nothing more here, not even what is handed back.
        actions.append(.send(.draining))
        drainDeadline = settings.drainGrace.map { now + $0 }
      }
      if !attempts.isEmpty {
        actions += attempts.map { .stopTrial($0, reason: "worker shutting down") }
        actions.append(.send(.handBack(attempts)))
        for attempt in attempts {
          running.remove(attempt)
          streamed[attempt] = nil
        }
        queued.removeAll()
      }
      if shutdownLevel >= 2 || running.isEmpty { return actions + [.send(.bye), .exit] }
      return actions
    }
  }

  mutating func receive(_ message: CoordinatorMessage, now: Double) -> [Action] {
    switch message {
    case .assign(let assignment):
      if shutdownLevel > 0 || running.count >= 2 * slots || running.contains(assignment.attempt) {
        return running.contains(assignment.attempt) ? [] : [.send(.handBack([assignment.attempt]))]
      }
      running.insert(assignment.attempt)
      queued.append(assignment.attempt)
      return [.startTrial(assignment)]
    case .stop(let order):
      guard running.contains(order.attempt) else { return [] }
      // A queued attempt is dropped at once (its slot will skip it).
      if queued.contains(order.attempt) {
        queued.removeAll { $0 == order.attempt }
        running.remove(order.attempt)
        let stopped = DoneReport(attempt: order.attempt, status: .stopped, epochs: 0, seconds: 0)
        unacknowledged[order.attempt] = (stopped, now)
        lastSent = now
        return [.stopTrial(order.attempt, reason: order.reason), .send(.done(stopped))] + finishIfDrained()
      }
      return [.stopTrial(order.attempt, reason: order.reason)]
    case .acknowledge(let attempt):
      unacknowledged[attempt] = nil
      streamed[attempt] = nil
      return finishIfDrained()
    case .heartbeat:
      return []
    case .disconnect:
      return reconnect(now: now)
    }
  }

  /// After a graceful shutdown, leave once every attempt is done and acknowledged.
  func finishIfDrained() -> [Action] {
    shutdownLevel == 1 && running.isEmpty && unacknowledged.isEmpty ? [.send(.bye), .exit] : []
  }

  mutating func reconnect(now: Double) -> [Action] {
    lastHeard = now
    lastSent = now
    var actions: [Action] = [.connect, .send(ready)]
    // A new connection is a new worker to the coordinator: it is told again.
    if shutdownLevel == 1 { actions.append(.send(.draining)) }
    for attempt in claimed {
      actions += (streamed[attempt] ?? []).map { .send(.metric($0)) }
    }
    for (attempt, entry) in unacknowledged.sorted(by: { $0.key.trial < $1.key.trial }) {
      actions.append(.send(.done(entry.report)))
      unacknowledged[attempt] = (entry.report, now)
    }
    return actions
  }

  mutating func tick(now: Double) -> [Action] {
    if shutdownLevel == 1, let deadline = drainDeadline, now >= deadline {
      // The grace is over: what still runs is handed back, and the worker leaves.
      return handle(.shutdown, now: now)
    }
    var actions: [Action] = []
    if now - lastHeard > settings.heartbeatInterval * settings.liveness {
      guard now >= nextReconnect else { return [] }
      nextReconnect = now + backoff
      backoff = Swift.min(backoff * 2, settings.maximumBackoff)
      return reconnect(now: now)
    }
    for (attempt, entry) in unacknowledged.sorted(by: { $0.key.trial < $1.key.trial })
    where now - entry.sentAt >= settings.resendAfter {
      actions.append(.send(.done(entry.report)))
      unacknowledged[attempt] = (entry.report, now)
      lastSent = now
    }
    if now - lastSent >= settings.heartbeatInterval {
      actions.append(.send(.heartbeat))
      lastSent = now
    }
    return actions
  }
}
