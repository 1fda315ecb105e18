import Client
import DataTransfer
import Dispatch
import Foundation
import Logging
import Programs
import Synchronization
import Training
import Vocabulary
import Wire
import ZMQ

/// The worker process: a DEALER connected to the coordinator, the state machine, and one
/// long-lived thread per slot training trials. Slots talk to the I/O thread through a locked
/// queue; only the I/O thread touches the socket. Running trials share the machine's cores
/// (`CoreAllowance`), so a lone trial uses the cores of empty slots.
public final class WorkerAgent: @unchecked Sendable {
  let endpoint: String
  let logger: Logger
  let context: ZMQContext
  /// Whether the agent made its context (and so terminates it when it ends).
  let ownsContext: Bool
  let curve: CurveClientKeys?
  var socket: ZMQSocket?
  /// libzmq's monitor of the current connection (not for `inproc://`): says when the CURVE
  /// handshake fails, which otherwise looks exactly like a cut link.
  var monitor: ZMQSocket?
  /// End the process (non-zero) at the first failed handshake rather than retrying.
  public var exitOnAuthFailure = false
  /// Failed handshakes since the last good one, and when the last was logged.
  var authFailures = 0
  var authFailureLogged = -Double.infinity
  var state: WorkerState
  let inbox = Mutex(SlotInbox(window: epochBatchWindow))
  let stopFlags = Mutex<Set<AttemptID>>([])
  /// When each queued attempt's ASSIGN arrived (Unix seconds): a program gets it as
  /// `SWEEPD_ASSIGNED_AT`.
  let assignedAt = Mutex<[AttemptID: Double]>([:])
  let shutdownRequests = Atomic<Int>(0)
  let started = DispatchTime.now().uptimeNanoseconds
  var connection = 0
  /// Messages the socket would not take yet (its send queue was full), oldest first: sent
  /// before anything newer, so no METRIC is dropped and order is kept.
  var outbox: [[[UInt8]]] = []
  var outboxStart = 0
  /// Beyond this many waiting messages, new METRICs are dropped (with one warning).
  static let outboxLimit = 200_000
  var warnedFull = false
  /// A pipe the slot threads write a byte to after posting, so the I/O thread wakes at once.
  let wake: (read: Int32, write: Int32)
  let cores: CoreAllowance
  let dataCache: DataCache
  /// Gets data files that travel by digest (see `DataFetcher`), over its own connection to
  /// the coordinator, made when first needed and closed when the agent ends (so the context
  /// can terminate).
  let dataFetcher: DataFetcher
  var slotPool: SlotPool<Assignment>?
  /// How program trials run here (not at all unless allowed), the cores and GPUs they
  /// take, and their unpacked code.
  let programOptions: ProgramOptions
  /// The worker's name (also a program's `SWEEPD_WORKER`).
  let name: String
  /// Where sweepd's `wandb` module is written (next to the code cache), once.
  let shimDirectory = Mutex<String?>(nil)

  func wandbShimDirectory() throws -> String {
    try shimDirectory.withLock { cached in
      if let cached { return cached }
      // Under the work directory: a program run as another user (`--program-user`) reaches
      // it there, as it reaches its attempt's directory.
      let made = try WandbShim.directory(under: programOptions.workDirectory)
      cached = made
      return made
    }
  }
  let resources: ResourceGate
  let codeCache: CodeCache

  /// How long an epoch's METRIC may wait for company while epochs stream (ns; see
  /// `SlotInbox`). Without it, a 2-slot worker training 1 ms epochs wakes its I/O thread and
  /// the coordinator 2,000 times a second on the cores the trials train on. Adds at most this
  /// much latency to a stop decision.
  static let epochBatchWindow: UInt64 = 5_000_000

  /// - Parameters:
  ///   - cores: the cores the slots share (default: the machine's);
  ///   - dataCache: prepared data sets kept across trials.
  ///   - context: the ZeroMQ context to connect in (default: its own); a coordinator in the
  ///     same process shares it to serve the agent over `inproc://`.
  ///   - curve: the coordinator's public key and this worker's key pair, for a coordinator
  ///     that runs CURVE.
  ///   Agents in one process pass the same allowance and cache.
  ///   - dataCacheDirectory, dataCacheBytes: where fetched data files are kept, and the bound.
  public init(
    connect endpoint: String, name: String, slots: Int, version: String, logger: Logger,
    cores: CoreAllowance = CoreAllowance(total: ProcessInfo.processInfo.activeProcessorCount),
    dataCache: DataCache = DataCache(), context: ZMQContext? = nil, curve: CurveClientKeys? = nil,
    dataCacheDirectory: String = DataFetcher.defaultDirectory, dataCacheBytes: Int64 = 4 << 30,
    programs: ProgramOptions = ProgramOptions(), drainGrace: Double? = nil, dataRoot: String? = nil
  ) throws {
    programOptions = programs
    self.name = name
    resources = ResourceGate(cores: slots, gpus: programs.gpus)
    codeCache = CodeCache(directory: (dataCacheDirectory as NSString).deletingLastPathComponent + "/code")
    self.curve = curve
    self.endpoint = endpoint
    self.cores = cores
    self.dataCache = dataCache
    // Every line of this agent names its worker.
    var named = logger
    named[metadataKey: "worker"] = "\(name)"
    self.logger = named
    ownsContext = context == nil
    let zmqContext = try context ?? ZMQContext()
    self.context = zmqContext
    // The fetch connection is made on first use, from whichever slot needs data first; the
    // fetcher runs one fetch at a time, so the client is never used by two threads at once.
    dataFetcher = DataFetcher(directory: dataCacheDirectory, capacityBytes: dataCacheBytes) {
      let client = try CoordinatorClient(endpoint, context: zmqContext, curve: curve)
      client.timeout = 60
      return client
    }
    dataFetcher.log = { [named] line in named.info("\(line)") }
    dataFetcher.dataRoot = dataRoot
    let host = ProcessInfo.processInfo.hostName
    var settings = WorkerState.Settings()
    settings.drainGrace = drainGrace
    state = WorkerState(
      name: name, host: host, slots: slots, version: version, settings: settings,
      session: UUID().uuidString.lowercased())
    state.programs = programs.allowed
    state.gpus = programs.gpus.count
    var ends: [Int32] = [0, 0]
    guard pipe(&ends) == 0 else { throw ZMQError("pipe", code: errno) }
    for end in ends { _ = fcntl(end, F_SETFL, fcntl(end, F_GETFL) | O_NONBLOCK) }
    wake = (ends[0], ends[1])
  }

  deinit {
    close(wake.read)
    close(wake.write)
  }

  var now: Double { Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9 }

  /// Asks the worker to shut down (the first call drains, the second leaves now).
  public func requestShutdown() {
    shutdownRequests.add(1, ordering: .relaxed)
    var byte: UInt8 = 1
    _ = write(wake.write, &byte, 1)
  }

  /// Runs until the state machine says exit.
  public func run() throws {
    let pool = SlotPool<Assignment>(
      threads: state.slots, prepare: { BLAS.useSingleThread() }, run: { [self] in train($0) })
    slotPool = pool
    defer { pool.close() }
    var handledShutdowns = 0
    var exit = try perform(state.handle(.start, now: now))
    var lastTick = now
    while !exit {
      sendWaiting()
      let limit = outboxStart < outbox.count ? 1 : 50
      let timeout = inbox.withLock {
        $0.sleepMilliseconds(now: DispatchTime.now().uptimeNanoseconds, limit: limit)
      }
      let polled = try ZMQPoller.readable(
        (socket.map { [$0] } ?? []) + (monitor.map { [$0] } ?? []), fileDescriptors: [wake.read],
        timeoutMilliseconds: timeout)
      if monitor != nil, polled.sockets.last == true { try watchHandshakes() }
      if polled.fileDescriptors[0] {
        var sink = [UInt8](repeating: 0, count: 256)
        while read(wake.read, &sink, sink.count) > 0 {}
      }
      if let socket, polled.sockets.first == true {
        while let message = try socket.receive(dontWait: true) {
          switch WireCodec.decodeCoordinatorMessage(message.frames) {
          case .success(let decoded): exit = try perform(state.handle(.received(decoded), now: now)) || exit
          case .failure(let error): logger.warning("dropped a message from the coordinator: \(error)")
          }
        }
      }
      let events = inbox.withLock { $0.collect(now: DispatchTime.now().uptimeNanoseconds) }
      for event in events { exit = try perform(state.handle(event, now: now)) || exit }
      let requested = shutdownRequests.load(ordering: .relaxed)
      while handledShutdowns < requested {
        handledShutdowns += 1
        logger.info(
          handledShutdowns == 1
            ? "shutting down after the running trials (\(state.running.count - state.queued.count) running; no new ones taken\(state.settings.drainGrace.map { "; handed back after \(Int(Swift.min($0, 1e9))) s" } ?? ""))"
            : "shutting down now")
        exit = try perform(state.handle(.shutdown, now: now)) || exit
      }
      if now - lastTick >= 0.1 {
        exit = try perform(state.handle(.tick, now: now)) || exit
        lastTick = now
      }
    }
    // Close the socket and wait (up to its linger) for the last messages to leave.
    if monitor != nil { socket?.stopMonitor() }
    monitor = nil
    socket = nil
    // Every socket must be closed before the context can terminate.
    dataFetcher.close()
    if ownsContext { context.terminate() }
  }

  /// Performs actions; returns true on `.exit`.
  func perform(_ actions: [WorkerState.Action]) throws -> Bool {
    var exit = false
    for action in actions {
      switch action {
      case .connect:
        connection += 1
        let fresh = try context.socket(.dealer)
        // A fresh routing id per connection (the coordinator knows the worker by name).
        try fresh.setOption(ZMQ_ROUTING_ID_OPTION, "\(state.name)#\(connection)")
        if let curve { try fresh.makeCurveClient(curve) }
        // The old connection's monitor stops before its reader goes (see `stopMonitor`).
        if monitor != nil { socket?.stopMonitor() }
        monitor = nil
        let watcher = endpoint.hasPrefix("inproc://") ? nil : try fresh.monitor()
        try fresh.connect(endpoint)
        socket = fresh
        monitor = watcher
        if connection > 1 { logger.info("reconnecting to \(endpoint)") }
      case .send(let message):
        if case .ready = message {
          // A new connection's READY goes before anything still waiting from the old one.
          outbox.insert(WireCodec.encode(message), at: outboxStart)
          sendWaiting()
        } else if case .metric = message, outbox.count - outboxStart >= Self.outboxLimit {
          if !warnedFull { logger.warning("send queue full: dropping METRIC messages until it drains") }
          warnedFull = true
        } else {
          outbox.append(WireCodec.encode(message))
          sendWaiting()
        }
      case .startTrial(let assignment):
        let time = Date().timeIntervalSince1970
        assignedAt.withLock { $0[assignment.attempt] = time }
        slotPool?.submit(assignment)
      case .stopTrial(let attempt, let reason):
        logger.info(
          "stopping \(attempt): \(reason)",
          metadata: ["trial": "\(attempt.trial)", "attempt": "\(attempt.attempt)"])
        _ = stopFlags.withLock { $0.insert(attempt) }
      case .exit:
        // Let the last messages (DONE, HANDBACK, BYE) leave before the socket closes.
        try? socket?.setOption(ZMQ_LINGER_OPTION, Int32(2000))
        exit = true
      }
    }
    return exit
  }

  /// Reads the connection's monitor: a failed handshake is an error in the log (the first,
  /// then at most one a minute while it goes on: a key may yet be authorized), and with
  /// `exitOnAuthFailure` it ends the worker non-zero.
  func watchHandshakes() throws {
    while let message = try monitor?.receive(dontWait: true) {
      guard let event = ZMQMonitorEvent(frames: message.frames) else { continue }
      switch event.kind {
      case .handshakeSucceeded:
        if authFailures > 0 { logger.info("the handshake with \(endpoint) succeeds again") }
        authFailures = 0
      case .handshakeFailed(let reason):
        authFailures += 1
        let advice =
          curve == nil
          ? "a coordinator with CURVE keys needs --curve-server-key and --curve-secret-key"
          : "check that --curve-server-key is the coordinator's public key and that this worker's .pub is in its --authorized-keys"
        let sentence =
          "the CURVE handshake with the coordinator at \(endpoint) failed: \(reason); \(advice) (\(authFailures) failure\(authFailures == 1 ? "" : "s") so far)"
        if exitOnAuthFailure { throw WorkerError(sentence) }
        if now - authFailureLogged >= 60 {
          logger.error("\(sentence)")
          authFailureLogged = now
        }
      default: break
      }
    }
  }

  /// Sends waiting messages in order until the socket's queue is full.
  func sendWaiting() {
    guard let socket else { return }
    while outboxStart < outbox.count {
      do {
        try socket.send(outbox[outboxStart], dontWait: true)
      } catch let error as ZMQError where error.wouldBlock {
        break
      } catch {
        logger.warning("dropped a message: \(error)")
      }
      outboxStart += 1
    }
    if outboxStart == outbox.count {
      outbox.removeAll(keepingCapacity: true)
      outboxStart = 0
      warnedFull = false
    } else if outboxStart > 4096 && outboxStart * 2 > outbox.count {
      outbox.removeFirst(outboxStart)
      outboxStart = 0
    }
  }

  /// Hands an event to the I/O thread, waking it unless it is already due (`SlotInbox`).
  func post(_ event: WorkerState.Event, mayWait: Bool = false) {
    guard inbox.withLock({ $0.post(event, now: DispatchTime.now().uptimeNanoseconds, mayWait: mayWait) })
    else {
      return
    }
    var byte: UInt8 = 1
    _ = write(wake.write, &byte, 1)
  }

  /// Trains one trial on the calling slot thread, posting each epoch and the end.
  func train(_ assignment: Assignment) {
    let attempt = assignment.attempt
    let assigned = assignedAt.withLock { $0.removeValue(forKey: attempt) }
    // Stopped or handed back while queued: the state machine has already accounted for it.
    if stopFlags.withLock({ $0.remove(attempt) != nil }) { return }
    post(.began(attempt))
    if ProgramTrialSpec.isProgram(assignment.spec.bytes) {
      let report = runProgram(assignment, began: DispatchTime.now().uptimeNanoseconds, assignedAt: assigned)
      _ = stopFlags.withLock { $0.remove(attempt) }
      post(.finished(report))
      return
    }
    cores.begin()
    defer { cores.end() }
    let began = DispatchTime.now().uptimeNanoseconds
    var epochs = 0
    var report: DoneReport
    // Files fetched by digest live in the cache under their digest; messages name the
    // user's own path instead (cache path → original path).
    var renamed: [(cached: String, original: String)] = []
    do {
      // The one place a trial spec is decoded: the protocol carries it as opaque JSON.
      let spec: TrialSpec
      do {
        spec = try WireCodec.decoder().decode(TrialSpec.self, from: Data(assignment.spec.bytes))
      } catch let error as DecodingError {
        throw WorkerError("the trial spec does not decode: \(error.readableDescription)")
      }
      var data: PreparedData?
      if spec.model.testFunction == nil {
        let resolved = try dataFetcher.resolve(spec.data)
        for (cached, original) in [
          (resolved.path, spec.data.path), (resolved.images, spec.data.images),
          (resolved.labels, spec.data.labels),
        ] {
          if let cached, let original, cached != original { renamed.append((cached, original)) }
        }
        data = try dataCache.data(for: resolved)
      }
      let runner = try TrialRunner(spec: spec, cores: cores.total, data: data, allowance: cores)
      let result = try runner.run { metrics in
        epochs = metrics.epoch
        let values = metrics.values
        self.post(
          .epoch(MetricReport(attempt: attempt, epoch: metrics.epoch, values: values)),
          mayWait: assignment.promptMetrics != true)
        return self.stopFlags.withLock { $0.contains(attempt) } ? .stop : .continue
      } interrupted: {
        self.stopFlags.withLock { $0.contains(attempt) }
      }
      let seconds = Double(DispatchTime.now().uptimeNanoseconds - began) / 1e9
      let status = result.status
      report = DoneReport(
        attempt: attempt, status: status, epochs: result.epochsRun, divergedEpoch: result.divergedEpoch,
        seconds: seconds)
    } catch {
      let seconds = Double(DispatchTime.now().uptimeNanoseconds - began) / 1e9
      var message = "\(error)"
      for (cached, original) in renamed { message = message.replacingOccurrences(of: cached, with: original) }
      report = DoneReport(
        attempt: attempt, status: .failed, epochs: epochs, seconds: seconds, message: message)
    }
    _ = stopFlags.withLock { $0.remove(attempt) }
    post(.finished(report))
  }
}

/// A trial the worker could not start, with why.
struct WorkerError: Error, CustomStringConvertible {
  var description: String
  init(_ description: String) { self.description = description }
}
