import ArgumentParser
import Client
import Coordinator
import Dashboard
import DataTransfer
import Dispatch
import Foundation
import Logging
import Report
import Search
import Store
import Synchronization
import Training
import Vocabulary
import Wire
import Worker
import ZMQ

/// The SUBMIT for a config: its data files (if it names any) are uploaded first unless the
/// coordinator has them, with progress on standard error, and the request carries their
/// digests.
///
/// A program sweep's code is snapshotted (see `CodeSnapshot`) and travels the same way,
/// under `SweepSpec.codeDigestKey`.
func uploadingData(
  _ spec: SweepSpec, file: String, text: String, client: CoordinatorClient,
  codeLimit: Int64 = CodeSnapshot.defaultLimit
) throws -> SubmitRequest {
  // The last chunk of a large file waits for the coordinator to verify the whole file.
  let timeout = client.timeout
  client.timeout = 60
  defer { client.timeout = timeout }
  let progress: (String) -> Void = { FileHandle.standardError.write(Data(($0 + "\n").utf8)) }
  var digests = try DataUpload.upload(spec.dataFiles, channel: client, progress: progress)
  if let (archive, description) = try codeArchive(spec, file: file, limit: codeLimit) {
    defer { try? FileManager.default.removeItem(atPath: archive) }
    let uploaded = try DataUpload.upload([archive], channel: client) {
      progress($0.replacingOccurrences(of: archive, with: description))
    }
    digests[SweepSpec.codeDigestKey] = uploaded[archive]
  }
  return SubmitRequest(file: file, text: text, data: digests.isEmpty ? nil : digests)
}

/// The code snapshot of a program sweep, as a temporary tar file (nil: a built-in sweep, or
/// `code: false`). The directory is `code.dir` relative to the config file's, or the config
/// file's own; a `program` the command runs must be in it.
func codeArchive(_ spec: SweepSpec, file: String, limit: Int64) throws -> (path: String, description: String)?
{
  guard let program = spec.program, program.sendsCode else { return nil }
  let configDirectory = (URL(fileURLWithPath: file).deletingLastPathComponent().path as NSString)
  let directory =
    program.codeDirectory.map {
      $0.hasPrefix("/") ? $0 : configDirectory.appendingPathComponent($0)
    } ?? (configDirectory as String)
  let snapshot: CodeSnapshot
  do {
    snapshot = try CodeSnapshot.list(directory: directory, exclude: program.codeExclude, limit: limit)
  } catch let failure as CodeSnapshot.Failure {
    throw CommandFailure("\(file): \(failure)")
  }
  let runsProgram = (program.command ?? ["${program}"]).contains("${program}")
  if let script = program.program, runsProgram, !script.hasPrefix("/"),
    !snapshot.files.contains((script as NSString).standardizingPath)
  {
    throw CommandFailure(
      "\(file): program \(script) is not in the code sent with the sweep (\(directory), \(snapshot.files.count) files); set code.dir to the directory that holds it, or check .gitignore and code.exclude"
    )
  }
  let archive = FileManager.default.temporaryDirectory.appendingPathComponent(
    "sweepd-code-\(getpid())-\(UUID().uuidString).tar"
  ).path
  do { try snapshot.archive(to: archive) } catch let failure as CodeSnapshot.Failure {
    throw CommandFailure("\(file): \(failure)")
  }
  return (archive, "code \(directory) (\(snapshot.files.count) file\(snapshot.files.count == 1 ? "" : "s"))")
}

/// The options a worker (or `sweepd run`) takes for program trials.
struct ProgramFlags: ParsableArguments {
  @Option(help: "Seconds between SIGTERM and SIGKILL when a program trial is stopped.") var killGrace:
    Double = 30
  @Option(help: "GPU ids program trials may use, each exclusively: 0,1 | auto (nvidia-smi -L) | none.")
  var gpus: String = "none"
  @Option(help: "Where program trials run, a directory per attempt (default: ~/.cache/sweepd/runs).")
  var workDir: String?
  @Flag(help: "Python programs import W&B's own wandb package, not sweepd's wandb module.")
  var noWandbShim = false
  @Option(
    help:
      "Run program trials as this user (the worker runs as root): they cannot read the worker's keys nor write its caches (docs/programs.md)."
  )
  var programUser: String?

  func validate() throws {
    if !(killGrace >= 0) || !killGrace.isFinite {
      throw ValidationError("--kill-grace must be a number of seconds ≥ 0, got \(killGrace)")
    }
    do { _ = try GPUList.parse(gpus, detect: { [] }) } catch { throw ValidationError("\(error)") }
  }

  func options(allowed: Bool) throws -> ProgramOptions {
    let user = try programUser.map(ProgramUser.lookup)
    var options = ProgramOptions(
      allowed: allowed, killGrace: killGrace, gpus: try GPUList.parse(gpus), workDirectory: workDir, user: user)
    if let user, let problem = user.cannotReach(options.workDirectory) { throw CommandFailure(problem) }
    options.wandbShim = !noWandbShim
    return options
  }
}

/// A connection to the coordinator for typed requests.
func connect(_ coordinator: String, context: ZMQContext? = nil, curve: CurveClientKeys? = nil) throws
  -> CoordinatorClient
{
  try CoordinatorClient(coordinator, context: context, curve: curve)
}

/// Routes SIGINT and SIGTERM to `handler` (on a Dispatch queue, not in signal context).
/// Keep the returned sources alive while they should fire (`withExtendedLifetime`).
func onTerminationSignals(_ handler: @escaping @Sendable () -> Void) -> [DispatchSourceSignal] {
  [SIGINT, SIGTERM].map { number in
    signal(number, SIG_IGN)
    let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
    source.setEventHandler(handler: handler)
    source.resume()
    return source
  }
}

extension LeaderboardFormat: ExpressibleByArgument {}

/// How `status` and `submit` print: text for people, json for scripts.
enum StatusFormat: String, CaseIterable, ExpressibleByArgument {
  case text, json
}

struct CoordinatorCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "coordinator",
    abstract: "Run the coordinator: hand out trials, collect metrics, keep the store.")

  @Option(help: "Address to bind.") var bind: String = "tcp://127.0.0.1:5555"
  @Option(help: "SQLite database file.") var db: String = "sweepd.db"
  @Option(help: "The coordinator's secret key file (CURVE; from `sweepd keygen`).") var curveSecretKey:
    String?
  @Option(help: "Workers' public keys: a file (one per line) or a directory of .pub files.")
  var authorizedKeys: String?
  @Option(help: "Operators' public keys (may submit and cancel): a file or a directory of .pub files.")
  var operatorKeys: String?
  @Flag(help: "Serve a non-loopback address without CURVE (anyone who can reach it may submit).")
  var insecure = false
  @Option(help: "Log lines: text or json (one object per line, ids as fields).") var logFormat: LogFormat =
    .text

  @Option(help: "Serve Prometheus metrics at http://ADDRESS:PORT/metrics (0: any free port).")
  var metricsPort: Int?
  @Option(help: "The address the metrics endpoint listens on.") var metricsAddress: String = "127.0.0.1"
  @OptionGroup var dashboard: DashboardFlags
  @Option(help: "Where uploaded data files are kept (default: the database path + .data).") var dataDir:
    String?
  @Option(help: "Largest data file a client may upload, MiB.") var dataMaxFileMb: Int = 1024
  @Option(help: "Most bytes of data files kept in all, MiB.") var dataMaxTotalMb: Int = 8192

  func validate() throws {
    if dataMaxFileMb < 1 || dataMaxTotalMb < 1 {
      throw ValidationError("--data-max-file-mb and --data-max-total-mb must be ≥ 1")
    }
    if curveSecretKey == nil && (authorizedKeys != nil || operatorKeys != nil) {
      throw ValidationError("--authorized-keys and --operator-keys need --curve-secret-key")
    }
    if curveSecretKey != nil && authorizedKeys == nil && operatorKeys == nil {
      throw ValidationError(
        "--curve-secret-key needs --authorized-keys or --operator-keys (nobody could connect)")
    }
    if curveSecretKey == nil && !KeyFiles.isLocal(bind) && !insecure {
      throw ValidationError(
        "refusing to serve \(bind) without CURVE: give --curve-secret-key and --authorized-keys/--operator-keys (see docs/deploy.md), or --insecure"
      )
    }
  }

  func run() throws {
    Sweepd.bootstrapLogging(format: logFormat)
    let logger = Logger(label: "sweepd.coordinator")
    raiseDescriptorLimit(logger: logger)
    var security: CoordinatorServer.Security?
    if let curveSecretKey {
      guard ZMQContext.has("curve") else { throw ValidationError("this libzmq is built without CURVE") }
      security = CoordinatorServer.Security(
        secretKey: try KeyFiles.key(curveSecretKey, what: "secret key", secret: true),
        workerKeys: try authorizedKeys.map(KeyFiles.keyList) ?? [],
        operatorKeys: try operatorKeys.map(KeyFiles.keyList) ?? [])
      logger.info(
        "CURVE on: \(security!.workerKeys.count) worker keys, \(security!.operatorKeys.count) operator keys")
    } else if !KeyFiles.isLocal(bind) {
      logger.warning(
        "serving \(bind) WITHOUT authentication (--insecure): anyone who can reach it may submit")
    }
    let dataStore = try ContentStore(
      directory: dataDir ?? db + ".data",
      limits: ContentStore.Limits(
        maximumFileBytes: Int64(dataMaxFileMb) << 20, maximumTotalBytes: Int64(dataMaxTotalMb) << 20))
    let server = try CoordinatorServer(
      bind: bind, store: try Store(path: db, lockedBy: "sweepd coordinator"), logger: logger, security: security, dataStore: dataStore)
    logger.info("coordinator at \(server.endpoint), store \(db)")
    if let metricsPort {
      let address = metricsAddress
      let bound = try DashboardFlags.serveInBackground(what: "--metrics-port \(metricsPort)", logger: logger)
      {
        started in
        try await DashboardServer.serveMetrics(
          host: address, port: metricsPort, logger: logger, metrics: { server.metricsSnapshot().text },
          started: started)
      }
      logger.info("metrics at http://\(metricsAddress):\(bound)/metrics")
    }
    try dashboard.start(server, logger: logger)
    // The sources must outlive the loop (an optimized build would otherwise free them, and
    // with them the handlers, as soon as they are created).
    let sources = onTerminationSignals { server.stop() }
    try withExtendedLifetime(sources) { try server.run() }
  }
}

struct WorkerCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "worker", abstract: "Run a worker: train the trials the coordinator assigns.")

  @Option(help: "The coordinator's address.") var connect: String = "tcp://127.0.0.1:5555"
  @Option(help: "Trials at once (default: the core count).") var slots: Int?
  @Option(help: "The worker's name (default: host:pid).") var name: String?
  @Option(help: "Cores the slots share; a lone trial uses the idle ones (default: all).") var cores: Int?
  @OptionGroup var keys: ClientKeyOptions
  @Option(help: "Log lines: text or json (one object per line, ids as fields).") var logFormat: LogFormat =
    .text
  @Option(help: "Where fetched data files are cached (default: ~/.cache/sweepd/data).") var dataCache: String?
  @Option(help: "The data cache's size bound, MiB (least recently used files go first).") var dataCacheMb:
    Int =
      4096
  @Flag(help: "Run program trials: the code a program sweep's submitter sent (off by default).")
  var allowPrograms = false
  @OptionGroup var programs: ProgramFlags
  @Option(
    help:
      "Seconds SIGTERM lets running trials finish before they are handed back (not counted as attempts) and the worker leaves; 0: no limit."
  )
  var drainGrace: Double = 540
  @Flag(
    help:
      "Exit non-zero when the coordinator refuses this worker's key (or the server key is wrong), instead of logging the error and retrying."
  )
  var exitOnAuthFailure = false
  @Option(
    help:
      "A directory trials may read data files from by path (files that did not travel with the sweep); default: none."
  )
  var dataRoot: String?

  func validate() throws {
    if dataCacheMb < 1 { throw ValidationError("--data-cache-mb must be ≥ 1") }
    if !(drainGrace >= 0) || !drainGrace.isFinite {
      throw ValidationError("--drain-grace must be a number of seconds ≥ 0, got \(drainGrace)")
    }
  }

  func run() throws {
    Sweepd.bootstrapLogging(format: logFormat)
    let workerName = name ?? "\(ProcessInfo.processInfo.hostName):\(getpid())"
    var logger = Logger(label: "sweepd.worker")
    logger[metadataKey: "worker"] = "\(workerName)"
    let curve = try keys.load()
    BLASLauncher.prepare(logger: logger, announce: true)
    let agent = try WorkerAgent(
      connect: connect, name: workerName,
      slots: slots ?? ProcessInfo.processInfo.activeProcessorCount, version: SweepdVersion.string,
      logger: logger, cores: CoreAllowance(total: cores ?? ProcessInfo.processInfo.activeProcessorCount),
      curve: curve, dataCacheDirectory: dataCache ?? DataFetcher.defaultDirectory,
      dataCacheBytes: Int64(dataCacheMb) << 20, programs: try programs.options(allowed: allowPrograms),
      drainGrace: drainGrace > 0 ? drainGrace : nil, dataRoot: dataRoot)
    agent.exitOnAuthFailure = exitOnAuthFailure
    // The first SIGTERM lets running trials finish; a second hands them back and exits.
    let sources = onTerminationSignals { agent.requestShutdown() }
    try withExtendedLifetime(sources) { try agent.run() }
  }
}

struct Submit: ParsableCommand {
  static let configuration = CommandConfiguration(abstract: "Submit a sweep config; prints the sweep id.")
  @Argument(help: "The sweep config (YAML).") var file: String
  @Option(help: "The coordinator's address.") var coordinator: String = "tcp://127.0.0.1:5555"
  @OptionGroup var keys: ClientKeyOptions
  @Option(help: "Largest code snapshot a program sweep may send, MiB.") var maxCodeMb: Int = 64
  @Option(help: "text (the sweep id) or json ({sweep, name, method, metric, total, warnings}).")
  var format: StatusFormat = .text

  func validate() throws {
    if maxCodeMb < 1 { throw ValidationError("--max-code-mb must be ≥ 1, got \(maxCodeMb)") }
  }

  /// What `submit --format json` prints.
  struct Submitted: Encodable {
    var sweep: String
    var name: String?
    var method: String
    var metric: SweepMetric
    /// The sweep's trial count; nil when it runs until cancelled or its target is reached.
    var total: Int?
    var warnings: [String]
  }

  func run() throws {
    let spec = try loadSweep(file)
    for warning in spec.warnings { printError("warning: \(warning)") }
    try checkDataFiles(spec, file: file)
    if SweepPlan(spec: spec).totalTrials == nil {
      printError(
        "warning: \(file): a \(spec.methodName) sweep without run_cap runs until you cancel it (`sweepd cancel SWEEP`)"
      )
    }
    let text = try String(contentsOfFile: file, encoding: .utf8)
    let client = try CoordinatorClient(coordinator, curve: try keys.load())
    let sweep = try client.submit(
      try uploadingData(spec, file: file, text: text, client: client, codeLimit: Int64(maxCodeMb) << 20)
    ).sweep
    switch format {
    case .text: print(sweep)
    case .json:
      let submitted = Submitted(
        sweep: sweep, name: spec.name, method: spec.methodName, metric: spec.metric,
        total: SweepPlan(spec: spec).totalTrials, warnings: spec.warnings.map(\.description))
      print(String(decoding: DocumentJSON.encode(submitted), as: UTF8.self))
    }
  }
}

struct Status: ParsableCommand {
  static let configuration = CommandConfiguration(abstract: "Show sweeps and their trial counts.")
  @Argument(help: "A sweep id (default: all).") var sweep: String?
  @OptionGroup var source: ReadSource
  @Option(help: "text, or json (the coordinator's STATUS document: a list of sweeps).") var format:
    StatusFormat =
      .text

  func run() throws {
    let list = try source.channel().status(sweep: sweep)
    switch format {
    case .text: print(list.isEmpty ? "no sweeps" : list.map(\.summary).joined(separator: "\n"))
    case .json: print(String(decoding: DocumentJSON.encode(SweepStatus.List(sweeps: list)), as: UTF8.self))
    }
  }
}

struct Cancel: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Cancel a sweep: pending trials are dropped, running ones stopped.")
  @Argument(help: "The sweep id.") var sweep: String
  @Option(help: "The coordinator's address.") var coordinator: String = "tcp://127.0.0.1:5555"
  @OptionGroup var keys: ClientKeyOptions

  func run() throws {
    let reply = try connect(coordinator, curve: try keys.load()).cancel(sweep: sweep)
    print(reply.already == true ? "\(sweep) is already cancelled" : "cancelled \(sweep)")
  }
}

struct Delete: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract:
      "Delete a sweep: its trials, metrics and events go from the store (a running one is cancelled first).")
  @Argument(help: "The sweep id.") var sweep: String
  @Option(help: "The coordinator's address.") var coordinator: String = "tcp://127.0.0.1:5555"
  @OptionGroup var keys: ClientKeyOptions

  func run() throws {
    let reply = try connect(coordinator, curve: try keys.load()).delete(sweep: sweep)
    print("deleted \(reply.deleted) (\(reply.trials) trial\(reply.trials == 1 ? "" : "s"))")
  }
}

struct LeaderboardCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "leaderboard", abstract: "A sweep's ranked trials.")
  @Argument(help: "The sweep id.") var sweep: String
  @OptionGroup var source: ReadSource
  @Option(help: "Show the best N.") var top: Int?
  @Option(help: "Aggregate by a parameter (e.g. optimizer).") var groupBy: String?
  @Option(help: "table, csv, json or markdown.") var format: LeaderboardFormat = .table

  func run() throws {
    let board = try source.channel().leaderboard(LeaderboardRequest(sweep: sweep))
    try checkGroupBy(groupBy, board)
    print(board.render(format, top: top, groupBy: groupBy), terminator: "")
  }
}

/// The width of the terminal on `descriptor` (80 when it cannot be read).
func terminalColumns(_ descriptor: Int32) -> Int {
  var size = winsize()
  guard ioctl(descriptor, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 else { return 80 }
  return Int(size.ws_col)
}

/// Shows a sweep's progress until it ends, asking every `interval` seconds: a progress bar
/// with counts, best so far and ETA, redrawn in place on a terminal; elsewhere a plain line
/// when something changed (at most one a second) and the final one.
func follow(
  _ coordinator: String, sweep: String, output: Int32 = STDERR_FILENO, interval: Double = 0.1,
  context: ZMQContext? = nil, curve: CurveClientKeys? = nil
) throws {
  let terminal = isatty(output) == 1
  let handle = FileHandle(fileDescriptor: output, closeOnDealloc: false)
  let started = Date()
  var lastLine = ""
  var lastPrinted = Date.distantPast
  var doneAtStart: Int?
  let client = try CoordinatorClient(coordinator, context: context, curve: curve)
  var estimator = ETAEstimator()
  while true {
    guard let status = try client.status(sweep: sweep).first else {
      throw ValidationError("the coordinator reported no sweep '\(sweep)'")
    }
    if doneAtStart == nil { doneAtStart = status.done }
    let elapsed = Date().timeIntervalSince(started)
    let eta = estimator.update(
      elapsed: elapsed, done: status.done, remaining: (status.total ?? 0) - status.done - status.cancelled)
    let line = status.progressLine(
      elapsed: elapsed, doneAtStart: doneAtStart!, eta: status.total == nil ? nil : eta,
      columns: terminal ? terminalColumns(output) - 1 : nil)
    if terminal {
      handle.write(Data(("\r\u{1B}[K" + line).utf8))
    } else {
      // Plain output: the summary without the ever-changing ETA, when it changes.
      let summary = status.summary
      if summary != lastLine && (Date().timeIntervalSince(lastPrinted) >= 1 || status.state != "running") {
        handle.write(Data(((status.state == "running" ? line : summary) + "\n").utf8))
        lastPrinted = Date()
        lastLine = summary
      }
    }
    if status.state != "running" && status.state != "paused" { break }
    Thread.sleep(forTimeInterval: interval)
  }
  if terminal { handle.write(Data("\n".utf8)) }
}

struct Watch: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Follow a sweep's progress (trials done, running, pending, best so far) until it ends.")
  @Argument(help: "The sweep id.") var sweep: String
  @Option(help: "The coordinator's address.") var coordinator: String = "tcp://127.0.0.1:5555"
  @OptionGroup var keys: ClientKeyOptions

  func run() throws {
    try follow(coordinator, sweep: sweep, output: STDOUT_FILENO, curve: try keys.load())
  }
}

/// `sweepd run`: a coordinator and a local worker in one process, one sweep, its leaderboard.
struct Run: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract:
      "Run a sweep locally: a coordinator and a worker (real ZeroMQ, real SQLite), then the leaderboard.")

  @Argument(help: "The sweep config (YAML).") var file: String
  @Option(help: "Trials at once: the local worker's slots (default: the core count).") var workers: Int?
  @Option(help: "Cores the slots share; a lone trial uses the idle ones (default: all).") var cores: Int?
  @Option(help: "SQLite database file the results are kept in (default: sweepd.db in the current directory).")
  var db: String = "sweepd.db"
  @Option(help: "Leaderboard format: table, csv, json or markdown.") var format: LeaderboardFormat = .table
  @Option(help: "Show the best N trials.") var top: Int?
  @Option(help: "Aggregate the leaderboard by a parameter.") var groupBy: String?
  @Option(help: "Also write the sweep's HTML report (see `sweepd report`) to this file.") var report: String?
  @Option(help: "Largest code snapshot a program sweep may send, MiB.") var maxCodeMb: Int = 64
  @OptionGroup var programs: ProgramFlags
  @OptionGroup var dashboard: DashboardFlags

  func validate() throws {
    if maxCodeMb < 1 { throw ValidationError("--max-code-mb must be ≥ 1, got \(maxCodeMb)") }
    if let workers, workers < 1 { throw ValidationError("--workers must be ≥ 1, got \(workers)") }
    if let cores, cores < 1 { throw ValidationError("--cores must be ≥ 1, got \(cores)") }
    if let top, top < 1 { throw ValidationError("--top must be ≥ 1, got \(top)") }
  }

  func run() throws {
    Sweepd.bootstrapLogging()
    let logger = Logger(label: "sweepd.run")
    BLASLauncher.prepare(logger: logger)
    let spec = try loadSweep(file)
    for warning in spec.warnings { printError("warning: \(warning)") }
    try checkGroupBy(groupBy, names: spec.parameters.map(\.path))
    try checkDataFiles(spec, file: file)
    guard SweepPlan(spec: spec).totalTrials != nil || spec.target != nil else {
      // `run` waits for the sweep to end; an unbounded one without a target never does.
      printError(
        "error: \(file): a \(spec.methodName) sweep without run_cap runs until stopped, and `sweepd run` waits for the end; add `run_cap: N` or `metric.target` (or `sweepd submit` it to a coordinator)"
      )
      throw ExitCode(2)
    }
    let text = try String(contentsOfFile: file, encoding: .utf8)
    let path = db
    var quiet = Logger(label: "sweepd.coordinator")
    quiet.logLevel = .warning
    // One process: the coordinator, the worker and this client share a ZeroMQ context and
    // talk over inproc:// (no TCP, no ZeroMQ I/O threads between a slot and the store).
    let context = try ZMQContext()
    // Data files travel as they would to another box: uploaded, fetched by digest, verified.
    let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("sweepd-run-\(getpid())-data")
    defer { try? FileManager.default.removeItem(at: scratch) }
    let server: CoordinatorServer
    do {
      server = try CoordinatorServer(
        bind: "inproc://sweepd-run-\(getpid())", store: try Store(path: path, lockedBy: "sweepd run"), logger: quiet,
        context: context,
        dataStore: try ContentStore(directory: scratch.appendingPathComponent("store").path),
        role: "sweepd run")
    } catch let error as StoreLock.InUse {
      printError("error: \(error)")
      throw ExitCode(1)
    }
    let endpoint = server.endpoint
    if dashboard.http != nil {
      // The dashboard's address matters to the user, whatever the coordinator's log level.
      var dashboardLogger = Logger(label: "sweepd.run")
      dashboardLogger.logLevel = .info
      try dashboard.start(server, logger: dashboardLogger)
    }
    let serverDone = DispatchSemaphore(value: 0)
    Thread {
      do { try server.run() } catch {
        logger.error("coordinator: \(error)")
      }
      serverDone.signal()
    }.start()
    // One local worker with a slot per requested worker: one I/O thread and one connection
    // serve every slot (each extra agent would add a thread waking per epoch).
    let slots = workers ?? ProcessInfo.processInfo.activeProcessorCount
    let programOptions = try programs.options(allowed: true)
    if let program = spec.program {
      // The one local worker must fit a trial, or the sweep would wait forever.
      if program.cores > slots {
        throw CommandFailure(
          "\(file): each trial takes \(program.cores) cores (resources.cores), but this run has \(slots) slots; pass --workers \(program.cores) or more"
        )
      }
      if program.gpus > programOptions.gpus.count {
        throw CommandFailure(
          "\(file): each trial takes \(program.gpus) GPU\(program.gpus == 1 ? "" : "s") (resources.gpus), but --gpus lists \(programOptions.gpus.count); pass --gpus 0,1,… (or auto)"
        )
      }
    }
    var workerLogger = Logger(label: "sweepd.worker")
    workerLogger.logLevel = .warning
    let agent = try WorkerAgent(
      connect: endpoint, name: "local", slots: slots, version: SweepdVersion.string, logger: workerLogger,
      cores: CoreAllowance(total: cores ?? ProcessInfo.processInfo.activeProcessorCount), context: context,
      dataCacheDirectory: scratch.appendingPathComponent("cache").path,
      // Everything is local and the code is the user's own: programs run.
      programs: programOptions)
    let workersDone = DispatchGroup()
    workersDone.enter()
    Thread {
      do { try agent.run() } catch { logger.error("worker: \(error)") }
      workersDone.leave()
    }.start()
    let client = try CoordinatorClient(endpoint, context: context)
    let sweep = try client.submit(
      try uploadingData(spec, file: file, text: text, client: client, codeLimit: Int64(maxCodeMb) << 20)
    ).sweep
    printError(
      "sweep \(sweep): results kept in \(path) (`sweepd coordinator --db \(path)` serves them again to leaderboard, report and status)"
    )
    // In-process: poll often, so the leaderboard follows the last trial at once.
    try follow(endpoint, sweep: sweep, interval: 0.02, context: context)
    let board = try client.leaderboard(LeaderboardRequest(sweep: sweep))
    try checkGroupBy(groupBy, board)
    print(board.render(format, top: top, groupBy: groupBy), terminator: "")
    if let report {
      try writeReport(try client.history(sweep: sweep), to: report, groupBy: groupBy)
      FileHandle.standardError.write(Data("report: \(report)\n".utf8))
    }
    agent.requestShutdown()
    agent.requestShutdown()
    _ = workersDone.wait(timeout: .now() + 10)
    server.stop()
    serverDone.wait()
    if !board.ranked.isEmpty, board.ranked.allSatisfy({ $0.status == .failed }) {
      // Nothing was learned: say why, and fail.
      let first = board.ranked.min { $0.trial < $1.trial }
      printError(
        "error: every trial of sweep \(sweep) failed; trial \(first?.trial ?? 0): \(first?.message ?? "no reason recorded")"
      )
      throw ExitCode(1)
    }
  }
}

/// Raises the soft limit on open files to the hard one (systemd's default soft limit is
/// 1,024): a coordinator holds a descriptor per worker connection, dashboard connection and
/// store file, and running out of them ends a process inside libdispatch. Logged when it
/// changes; the dashboard's own cap (`--http-max-connections`) stays well below it.
func raiseDescriptorLimit(logger: Logger) {
  var limit = rlimit()
  guard getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return }
  let wanted = min(limit.rlim_max, 1 << 20)
  guard limit.rlim_cur < wanted else { return }
  let before = limit.rlim_cur
  limit.rlim_cur = wanted
  if setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0 {
    logger.info("open files: soft limit raised from \(before) to \(wanted)")
  } else {
    logger.warning("open files: cannot raise the soft limit from \(before) (errno \(errno))")
  }
}

struct Backup: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Copy a store consistently, even while a coordinator writes it (docs/results.md).")
  @Option(help: "The store to copy (a coordinator's --db).") var db: String
  @Argument(help: "The copy to write (must not exist).") var out: String

  func run() throws {
    do {
      let store = try Store(readingOnly: db)
      try store.backup(to: out)
      let size = (try? FileManager.default.attributesOfItem(atPath: out)[.size] as? Int) ?? 0
      print("backed up \(db) to \(out) (\(size) bytes, every committed change)")
    } catch let error as StoreError {
      throw CommandFailure(error.description)
    }
  }
}
