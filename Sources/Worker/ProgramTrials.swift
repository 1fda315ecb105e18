import DataTransfer
import Foundation
import Programs
import Vocabulary
import Wire

/// How a worker runs program trials (`sweepd worker --allow-programs …`).
/// A user that program trials run as (`sweepd worker --program-user NAME`).
public struct ProgramUser: Sendable, Equatable {
  public var name: String
  public var uid: UInt32
  public var gid: UInt32

  public init(name: String, uid: UInt32, gid: UInt32) {
    self.name = name
    self.uid = uid
    self.gid = gid
  }

  /// The user called `name` (its primary group), from the system's user database; only a
  /// worker running as root can start programs as another user.
  public static func lookup(_ name: String) throws -> ProgramUser {
    guard let entry = getpwnam(name) else { throw WorkerError("--program-user \(name): no such user") }
    guard geteuid() == 0 else {
      throw WorkerError(
        "--program-user \(name): only a worker running as root can start programs as another user")
    }
    return ProgramUser(name: name, uid: entry.pointee.pw_uid, gid: entry.pointee.pw_gid)
  }

  /// Why this user cannot reach `directory` (nil: it can): every existing directory on the
  /// way must be searchable by it.
  public func cannotReach(_ directory: String) -> String? {
    var path = URL(fileURLWithPath: directory).standardized.path
    while true {
      var info = stat()
      if stat(path, &info) == 0 {
        let searchable =
          info.st_uid == uid ? info.st_mode & S_IXUSR != 0
          : info.st_gid == gid ? info.st_mode & S_IXGRP != 0 : info.st_mode & S_IXOTH != 0
        if !searchable {
          return "user \(name) cannot enter \(path) (mode \(String(info.st_mode & 0o777, radix: 8))); choose a --work-dir it can reach, e.g. /var/lib/sweepd-runs"
        }
      }
      if path == "/" { return nil }
      path = (path as NSString).deletingLastPathComponent
    }
  }
}

public struct ProgramOptions: Sendable {
  /// Whether this worker runs program trials at all: a program sweep runs whatever code its
  /// submitter sent, so a worker must be started to allow it.
  public var allowed: Bool
  /// Seconds between SIGTERM and SIGKILL when a program is stopped (`--kill-grace`, W&B's 30).
  public var killGrace: Double
  /// The GPU ids trials may have (`--gpus`); each trial gets its own, exclusively.
  public var gpus: [String]
  /// Where attempts run: `<workDirectory>/<sweep>/trial-<id>-attempt-<n>/`.
  public var workDirectory: String
  /// Whether Python programs get sweepd's `wandb` module first on `PYTHONPATH` (unless
  /// their sweep says `wandb: real`); `--no-wandb-shim` turns it off for the worker.
  public var wandbShim: Bool
  /// The user programs run as (`--program-user`), instead of the worker's own: then a
  /// program cannot read the worker's CURVE secret key, nor write its caches.
  public var user: ProgramUser?

  public init(
    allowed: Bool = false, killGrace: Double = 30, gpus: [String] = [], workDirectory: String? = nil,
    wandbShim: Bool = true, user: ProgramUser? = nil
  ) {
    self.user = user
    self.wandbShim = wandbShim
    self.allowed = allowed
    self.killGrace = killGrace
    self.gpus = gpus
    self.workDirectory = workDirectory ?? Self.defaultWorkDirectory
  }

  /// `$XDG_CACHE_HOME/sweepd/runs` (or `~/.cache/sweepd/runs`).
  public static var defaultWorkDirectory: String {
    let base =
      ProcessInfo.processInfo.environment["XDG_CACHE_HOME"]
      ?? (NSHomeDirectory() as NSString).appendingPathComponent(".cache")
    return (base as NSString).appendingPathComponent("sweepd/runs")
  }
}

extension WorkerAgent {
  /// The descriptor a program reads its metrics channel's number from `SWEEPD_METRICS_FD`.
  static let metricsFD: Int32 = 3

  /// Runs one attempt of a program trial on the calling slot thread: takes its cores and
  /// GPUs, prepares its directory (code, parameters file), runs the program under a
  /// supervisor and reports each step and the end.
  func runProgram(_ assignment: Assignment, began: UInt64, assignedAt: Double? = nil) -> DoneReport {
    let attempt = assignment.attempt
    func seconds() -> Double { Double(DispatchTime.now().uptimeNanoseconds - began) / 1e9 }
    func failed(_ message: String, steps: Int = 0) -> DoneReport {
      DoneReport(attempt: attempt, status: .failed, epochs: steps, seconds: seconds(), message: message)
    }
    guard programOptions.allowed else {
      return failed("this worker does not run programs; start it with `sweepd worker --allow-programs`")
    }
    let spec: ProgramTrialSpec
    do {
      spec = try WireCodec.decoder().decode(ProgramTrialSpec.self, from: Data(assignment.spec.bytes))
    } catch let error as DecodingError {
      return failed("the program trial spec does not decode: \(error.readableDescription)")
    } catch {
      return failed("the program trial spec does not decode: \(error)")
    }
    let stopRequested = { self.stopFlags.withLock { $0.contains(attempt) } }
    guard
      let gpus = resources.acquire(cores: spec.cores, gpus: spec.gpus, abandon: stopRequested)
    else {
      if stopRequested() {
        return DoneReport(attempt: attempt, status: .stopped, epochs: 0, seconds: seconds())
      }
      return failed("the trial needs \(spec.gpus) GPUs; this worker has \(resources.gpus.count) (--gpus)")
    }
    defer { resources.release(cores: spec.cores, gpus: gpus) }

    // The attempt's own directory, with the code copied in. Few file-system operations: on
    // some disks each costs a few hundred microseconds, and a short trial pays them all.
    let sweepDirectory = URL(fileURLWithPath: programOptions.workDirectory).appendingPathComponent(
      assignment.sweep)
    let directory = sweepDirectory.appendingPathComponent("trial-\(attempt.trial)-attempt-\(attempt.attempt)")
    var copied: [String: (Int, Date)] = [:]
    do {
      try CodeCache.makeFreshDirectory(directory, parent: sweepDirectory)
      if let digest = spec.code {
        let archive = try dataFetcher.localFile(digest, displayName: "code snapshot")
        let tree = try codeCache.unpacked(digest, archive: archive)
        copied = try CodeCache.copyTree(tree, into: directory)
      }
    } catch {
      return failed("cannot prepare the trial's directory \(directory.path): \(error)")
    }
    // Afterwards the copied code goes, off the slot's path: the trial's DONE need not wait
    // for the file system.
    defer {
      let leftover = copied
      codeCache.janitor.async { CodeCache.removeUnchanged(leftover, in: directory) }
    }
    // Another user's program owns its attempt's directory (and nothing else of the worker's).
    if let user = programOptions.user {
      do {
        try CodeCache.chownTree(directory, uid: user.uid, gid: user.gid)
      } catch {
        return failed("cannot give the trial's directory to user \(user.name): \(error)")
      }
    }
    let parametersFile = directory.appendingPathComponent(".sweepd-params.json").path
    let argsFile = directory.appendingPathComponent(".sweepd-args.json").path
    let json = ProgramCommand.argsJSON(spec.assignment)
    do {
      try CodeCache.write(json + "\n", to: parametersFile)
      if (spec.command ?? []).contains("${args_json_file}") { try CodeCache.write(json, to: argsFile) }
    } catch {
      return failed("cannot write the parameters file \(parametersFile): \(error)")
    }

    let inherited = ProcessInfo.processInfo.environment
    var environment = ProgramRun.environment(
      worker: inherited, sweep: assignment.sweep, trial: attempt.trial, attempt: attempt.attempt,
      parametersFile: parametersFile, metricsFD: Self.metricsFD,
      gpus: spec.gpus > 0 || !resources.gpus.isEmpty ? gpus : nil)
    environment["SWEEPD_SEED"] = String(spec.seed)
    environment["SWEEPD_WORKER"] = name
    // Python buffers standard output into a pipe until exit: unbuffered, `sweepd logs
    // --follow` shows a Python program's prints as they happen (unless the user chose).
    if environment["PYTHONUNBUFFERED"] == nil { environment["PYTHONUNBUFFERED"] = "1" }
    if let assignedAt { environment["SWEEPD_ASSIGNED_AT"] = String(format: "%.6f", assignedAt) }
    // What W&B's agent gives a run, so code that reads it works.
    environment["WANDB_SWEEP_ID"] = assignment.sweep
    environment["WANDB_RUN_ID"] = "\(assignment.sweep)-\(attempt.trial)-\(attempt.attempt)"
    environment["WANDB_DIR"] = directory.path
    if programOptions.wandbShim, spec.realWandb != true,
      WandbShim.isPython(program: spec.program, command: spec.command)
    {
      do {
        let shim = try wandbShimDirectory()
        environment["PYTHONPATH"] = [shim, environment["PYTHONPATH"]].compactMap { $0 }.filter { !$0.isEmpty }
          .joined(separator: ":")
        let path = directory.appendingPathComponent(".sweepd-wandb-params.yaml").path
        try CodeCache.write(
          WandbShim.sweepParameters(spec.assignment.map { ($0.0, PythonText.json($0.1)) }), to: path)
        environment["WANDB_SWEEP_PARAM_PATH"] = path
      } catch {
        return failed("cannot set up the wandb module for the program: \(error)")
      }
    }
    environment["SWEEPD_TRIAL_DIR"] = directory.path
    let builder = ProgramCommand(
      command: spec.command, program: spec.program,
      interpreter: ProgramCommand.interpreter(path: inherited["PATH"]))
    let arguments = builder.arguments(parameters: spec.assignment, jsonFile: argsFile, environment: inherited)
    guard let first = arguments.first else {
      return failed("the command is empty once its macros are expanded (\(builder.command))")
    }
    guard let executable = ProgramProcess.resolve(first, path: environment["PATH"]) else {
      return failed("cannot run \(first): not found in PATH (\(environment["PATH"] ?? ""))")
    }
    let process: ProgramProcess
    do {
      process = try ProgramProcess(
        executable: executable, arguments: Array(arguments.dropFirst()), environment: environment,
        directory: directory.path, metricsFD: Self.metricsFD,
        user: programOptions.user.map { ($0.uid, $0.gid) })
    } catch {
      return failed("\(error)")
    }

    // A step is a line that reports the sweep's metric; values of lines without it ride
    // along with the next one that has it.
    var steps = 0
    var carried: [String: Double] = [:]
    var logs = LogShipper(attempt: attempt) { self.post(.log($0)) }
    let end = ProgramAttempt(
      process: process, settings: .init(killGrace: programOptions.killGrace, maxSeconds: spec.maxSeconds)
    ).run(shouldStop: stopRequested) { report, _ in
      carried.merge(report.values) { $1 }
      if let step = report.step { carried["step"] = Double(step) }
      guard report.values[spec.metric] != nil else { return }
      steps += 1
      self.post(
        .epoch(MetricReport(attempt: attempt, epoch: steps, values: carried)),
        mayWait: assignment.promptMetrics != true)
      carried = [:]
    } output: { stream, bytes in
      logs.add(stream == .stdout ? .stdout : .stderr, bytes, now: DispatchTime.now().uptimeNanoseconds)
    } tick: {
      logs.flushIfDue(now: DispatchTime.now().uptimeNanoseconds)
    }
    logs.flush()
    var (status, message) = ProgramRun.outcome(
      exit: end.exit, metric: spec.metric, reports: end.reports, stderrTail: end.stderrTail,
      stopped: end.stopped, timedOut: end.timedOut)
    if !end.badLines.isEmpty {
      let first = end.badLines[0]
      let note =
        "\(end.badLines.count) metrics line\(end.badLines.count == 1 ? " was" : "s were") ignored (line \(first.line): \(first.error))"
      message = message.map { "\($0); \(note)" } ?? note
    }
    var divergedEpoch: Int?
    if status == .diverged { divergedEpoch = max(steps, 1) }
    // An exit with an error or a signal may not recur; a time limit or a missing metric will.
    var retryable: Bool?
    var preempted: Bool?
    if status == .failed, end.timedOut == nil, !end.stopped {
      if case .status(0) = end.exit {
      } else {
        retryable = true
        // `wandb.mark_preempting()`: the program said it was being preempted.
        if access(directory.appendingPathComponent(".sweepd-preempting").path, F_OK) == 0 {
          preempted = true
          message = "preempted (the program called mark_preempting); " + (message ?? "")
        }
      }
    }
    return DoneReport(
      attempt: attempt, status: status, epochs: steps, divergedEpoch: divergedEpoch, seconds: seconds(),
      message: message, retryable: retryable, preempted: preempted)
  }
}

/// Sends a program's output to the coordinator in LOG messages: a stream's bytes wait up to
/// `delay` (or until `LogChunk.maximumBytes`), so a chatty program costs a few messages a
/// second, and a character split across reads is never cut in two.
struct LogShipper {
  static let delay: UInt64 = 200_000_000

  let attempt: AttemptID
  let send: (LogChunk) -> Void
  var pending: [LogChunk.Stream: [UInt8]] = [:]
  var since: UInt64?

  init(attempt: AttemptID, send: @escaping (LogChunk) -> Void) {
    self.attempt = attempt
    self.send = send
  }

  mutating func add(_ stream: LogChunk.Stream, _ bytes: [UInt8], now: UInt64) {
    pending[stream, default: []] += bytes
    if since == nil { since = now }
    while (pending[stream]?.count ?? 0) >= LogChunk.maximumBytes {
      let whole = Self.completeUTF8Prefix(Array(pending[stream]!.prefix(LogChunk.maximumBytes)))
      send(LogChunk(attempt: attempt, stream: stream, text: String(decoding: whole, as: UTF8.self)))
      pending[stream]!.removeFirst(whole.count)
    }
    flushIfDue(now: now)
  }

  mutating func flushIfDue(now: UInt64) {
    guard let since, now - since >= Self.delay else { return }
    flush(keepingPartial: true)
  }

  /// Sends what waits; `keepingPartial`: an unfinished character stays for the next read.
  mutating func flush(keepingPartial: Bool = false) {
    for stream in [LogChunk.Stream.stdout, .stderr] {
      guard let bytes = pending[stream], !bytes.isEmpty else { continue }
      let whole = keepingPartial ? Self.completeUTF8Prefix(bytes) : bytes[...]
      if !whole.isEmpty {
        send(LogChunk(attempt: attempt, stream: stream, text: String(decoding: whole, as: UTF8.self)))
      }
      pending[stream] = Array(bytes.dropFirst(whole.count))
    }
    since = pending.values.contains { !$0.isEmpty } ? since : nil
  }

  /// `bytes` without a trailing UTF-8 sequence that is not complete yet.
  static func completeUTF8Prefix(_ bytes: [UInt8]) -> ArraySlice<UInt8> {
    var start = bytes.count
    // Back over at most three continuation bytes to the sequence's lead byte.
    while start > 0 && bytes.count - start < 4 {
      start -= 1
      let byte = bytes[start]
      if byte & 0xC0 != 0x80 {
        let length = byte < 0x80 ? 1 : byte >= 0xF0 ? 4 : byte >= 0xE0 ? 3 : byte >= 0xC0 ? 2 : 1
        return bytes.count - start >= length ? bytes[...] : bytes[..<start]
      }
    }
    return bytes[...]
  }
}
