import Foundation
import Vocabulary

/// The wire protocol's messages: value types only. Every message travels as the frames
/// `["SWP1", COMMAND, BODY]` (a ROUTER adds the peer's routing id in front); BODY is JSON.
/// The header names the protocol version, so a peer speaking another version is refused
/// with a clear error instead of being misread.
public enum Protocol {
  public static let header = "SWP1"
  public static let version = 1
  /// Largest frame accepted from the network (bytes). Larger frames are refused.
  public static let maximumFrameBytes = 1 << 20
  /// Largest reply a client accepts from the coordinator (bytes).
  public static let maximumReplyBytes = 256 << 20
  /// Bytes of a data file per UPLOAD (base64 makes it 4/3 larger, within the frame limit).
  public static let uploadChunkBytes = 512 << 10
  /// Most bytes a FETCH may ask for (a DATA reply carries them raw).
  public static let maximumFetchBytes = 4 << 20
}

/// A trial attempt on the wire: the trial's id in the coordinator's store, and which
/// attempt (1, 2, …). Messages about an older attempt are stale and change nothing.
public struct AttemptID: Hashable, Sendable, Codable, CustomStringConvertible {
  public var trial: Int64
  public var attempt: Int

  public init(trial: Int64, attempt: Int) {
    self.trial = trial
    self.attempt = attempt
  }

  public var description: String { "trial \(trial) attempt \(attempt)" }
}

// MARK: Worker → coordinator

public struct Ready: Hashable, Sendable, Codable {
  /// The worker's name (stable across reconnects; `--name`, default host:pid).
  public var worker: String
  public var host: String
  /// Trials the worker runs at once.
  public var slots: Int
  /// The worker's sweepd version.
  public var version: String
  /// Attempts the worker is still running (after a reconnect), so the coordinator can keep
  /// their leases instead of requeueing them.
  public var running: [AttemptID]
  /// Identifies the worker process (random, fixed for its life). A reconnect from the same
  /// process that does not claim an attempt never received it (its ASSIGN was lost with the
  /// old connection), so requeueing it does not count against `max_attempts`; from a new
  /// process (a restart), the attempt was lost with the old one and counts.
  public var session: String?
  /// Whether it runs program trials (`--allow-programs`; absent: no).
  public var programs: Bool?
  /// How many GPUs it has for trials (`--gpus`; absent: none).
  public var gpus: Int?

  public init(
    worker: String, host: String, slots: Int, version: String, running: [AttemptID] = [],
    session: String? = nil, programs: Bool? = nil, gpus: Int? = nil
  ) {
    self.programs = programs
    self.gpus = gpus
    self.worker = worker
    self.host = host
    self.slots = slots
    self.version = version
    self.running = running
    self.session = session
  }
}

public struct MetricReport: Hashable, Sendable, Codable {
  public var attempt: AttemptID
  /// 1-based epoch.
  public var epoch: Int
  /// The epoch's metrics by name (train_loss, val_loss, val_error, …, lr, seconds).
  public var values: [String: Double]

  public init(attempt: AttemptID, epoch: Int, values: [String: Double]) {
    self.attempt = attempt
    self.epoch = epoch
    self.values = values
  }
}

public struct DoneReport: Hashable, Sendable, Codable {
  /// completed, stopped (obeyed a STOP), diverged, or failed (`message` says why).
  public typealias Status = TrialOutcome

  public var attempt: AttemptID
  public var status: Status
  public var epochs: Int
  public var divergedEpoch: Int?
  public var seconds: Double
  public var message: String?
  /// A failure another attempt may not repeat (a program that exited non-zero or was
  /// killed): the coordinator requeues it while the trial has attempts left. Absent: final.
  public var retryable: Bool?
  /// The program said it was being preempted (`wandb.mark_preempting()`) before it failed:
  /// requeued without using up an attempt.
  public var preempted: Bool?

  public init(
    attempt: AttemptID, status: Status, epochs: Int, divergedEpoch: Int? = nil, seconds: Double,
    message: String? = nil, retryable: Bool? = nil, preempted: Bool? = nil
  ) {
    self.retryable = retryable
    self.preempted = preempted
    self.attempt = attempt
    self.status = status
    self.epochs = epochs
    self.divergedEpoch = divergedEpoch
    self.seconds = seconds
    self.message = message
  }
}

/// A piece of a program trial's standard output or error, in order per attempt and stream.
/// The coordinator keeps the last `TrialLogs.keptBytes` of each.
public struct LogChunk: Hashable, Sendable, Codable {
  public enum Stream: String, Hashable, Sendable, Codable {
    case stdout, stderr
  }

  public var attempt: AttemptID
  public var stream: Stream
  /// The bytes as UTF-8 text (invalid sequences replaced).
  public var text: String

  public init(attempt: AttemptID, stream: Stream, text: String) {
    self.attempt = attempt
    self.stream = stream
    self.text = text
  }

  /// Most bytes one LOG carries (well within a frame, even escaped in JSON).
  public static let maximumBytes = 128 << 10
}

/// What a worker sends.
public enum WorkerMessage: Hashable, Sendable {
  case ready(Ready)
  case heartbeat
  case metric(MetricReport)
  /// Output of a running program trial.
  case log(LogChunk)
  case done(DoneReport)
  /// Handing back attempts it will not finish (graceful shutdown).
  case handBack([AttemptID])
  /// The worker is draining (SIGTERM): it takes no new trial and leaves when its running
  /// ones have finished and been acknowledged. Sent before any hand-back, so the
  /// coordinator never assigns a handed-back trial to it again.
  case draining
  case bye
}

// MARK: Coordinator → worker

/// A trial spec as the JSON the coordinator stored for it: opaque to the protocol and the
/// coordinator, decoded only by the worker (with the trainer's `TrialSpec`), so neither
/// `Wire` nor the coordinator depends on the trainer.
public struct SpecJSON: Hashable, Sendable {
  public var bytes: [UInt8]

  public init(_ bytes: [UInt8]) { self.bytes = bytes }
  public init(_ text: String) { bytes = Array(text.utf8) }
}

public struct Assignment: Hashable, Sendable {
  public var attempt: AttemptID
  public var sweep: String
  public var spec: SpecJSON
  /// The coordinator judges this trial's epochs as they arrive (its sweep has a stopping
  /// policy), so each METRIC should leave at once; otherwise (absent, `false`) the worker may
  /// hold a METRIC a few milliseconds to send it with others.
  public var promptMetrics: Bool?

  public init(attempt: AttemptID, sweep: String, spec: SpecJSON, promptMetrics: Bool? = nil) {
    self.attempt = attempt
    self.sweep = sweep
    self.spec = spec
    self.promptMetrics = promptMetrics
  }

  /// Every member but the spec, which `RawJSON` cuts out of the body unread.
  struct Envelope: Codable {
    var attempt: AttemptID
    var sweep: String
    var promptMetrics: Bool?
  }
}

public struct StopOrder: Hashable, Sendable, Codable {
  public var attempt: AttemptID
  public var reason: String

  public init(attempt: AttemptID, reason: String) {
    self.attempt = attempt
    self.reason = reason
  }
}

/// What the coordinator sends a worker.
public enum CoordinatorMessage: Hashable, Sendable {
  case assign(Assignment)
  case stop(StopOrder)
  /// Acknowledges a DONE, so the worker can forget the result.
  case acknowledge(AttemptID)
  case heartbeat
  /// The worker must close its socket and reconnect (or exit); says why.
  case disconnect(String)
}

// MARK: Client ↔ coordinator

public struct SubmitRequest: Hashable, Sendable, Codable {
  /// The config's file name (for error messages) and its text.
  public var file: String
  public var text: String
  /// The SHA-256 of each data file the config names (path as written → digest), uploaded
  /// before the SUBMIT; absent when the config names none.
  public var data: [String: String]?

  public init(file: String, text: String, data: [String: String]? = nil) {
    self.file = file
    self.text = text
    self.data = data
  }
}

/// HAVE: which of these data files (by SHA-256) the coordinator lacks. The reply is
/// `{"missing": {digest: bytes already received of an interrupted upload}}`.
public struct HaveDataRequest: Hashable, Sendable, Codable {
  public var digests: [String]

  public init(digests: [String]) { self.digests = digests }
}

/// UPLOAD: one chunk of a data file, at `offset` of its `size` bytes (base64 in the JSON
/// body). The reply is `{"received": bytes held, "complete": bool}`; the last chunk
/// completes the file once its SHA-256 matches.
public struct UploadChunk: Hashable, Sendable, Codable {
  public var sha256: String
  public var size: Int64
  public var offset: Int64
  public var data: String

  public init(sha256: String, size: Int64, offset: Int64, bytes: [UInt8]) {
    self.sha256 = sha256
    self.size = size
    self.offset = offset
    self.data = Data(bytes).base64EncodedString()
  }

  /// The chunk's bytes (nil if `data` is not base64).
  public var bytes: [UInt8]? { Data(base64Encoded: data).map { Array($0) } }
}

/// FETCH: up to `length` bytes of a stored data file from `offset`. The reply is DATA with
/// the bytes as its body (fewer than asked at the end of the file).
public struct FetchRequest: Hashable, Sendable, Codable {
  public var sha256: String
  public var offset: Int64
  public var length: Int

  public init(sha256: String, offset: Int64, length: Int) {
    self.sha256 = sha256
    self.offset = offset
    self.length = length
  }
}

public struct LeaderboardRequest: Hashable, Sendable, Codable {
  public var sweep: String
  public var top: Int?
  public var groupBy: String?

  public init(sweep: String, top: Int? = nil, groupBy: String? = nil) {
    self.sweep = sweep
    self.top = top
    self.groupBy = groupBy
  }
}

/// What a client (`sweepd submit`, `status`, …) asks.
public enum ClientRequest: Hashable, Sendable {
  case submit(SubmitRequest)
  case status(sweep: String?)
  case leaderboard(LeaderboardRequest)
  /// Everything a report draws: the sweep's config, its leaderboard and every trial's
  /// per-epoch metrics from its current attempt (`sweepd report`).
  case history(sweep: String)
  case cancel(sweep: String)
  /// Removes a sweep and everything stored about it (a running one is cancelled first).
  case delete(sweep: String)
  case haveData(HaveDataRequest)
  case upload(UploadChunk)
  case fetch(FetchRequest)
  /// A program trial's output (`sweepd logs`).
  case logs(LogsRequest)
  /// Pause, resume, extend or add to a sweep (`sweepd pause`, `resume`, `extend`, `enqueue`).
  case manage(ManageRequest)
}

/// MANAGE: a change to a live or finished sweep, persisted before it acts.
public struct ManageRequest: Hashable, Sendable, Codable {
  public enum Action: String, Hashable, Sendable, Codable {
    /// No trial starts until `resume`; running ones finish (or, with `stopRunning`, are
    /// stopped now and restart on resume, the attempt not counted).
    case pause
    case resume
    /// A new `run_cap` (more than the trials created so far); a finished random, Sobol or
    /// TPE sweep runs again from where its sampler was.
    case extend
    /// A configuration with `values` given by hand (the others sampled), started next, like
    /// Optuna's `enqueue_trial`.
    case enqueue
  }

  public var sweep: String
  public var action: Action
  public var stopRunning: Bool?
  public var runCap: Int?
  /// enqueue: parameter path → its value as YAML text (`0.01`, `adam`, `[64, 64]`).
  public var values: [String: String]?

  public init(
    sweep: String, action: Action, stopRunning: Bool? = nil, runCap: Int? = nil,
    values: [String: String]? = nil
  ) {
    self.sweep = sweep
    self.action = action
    self.stopRunning = stopRunning
    self.runCap = runCap
    self.values = values
  }
}

/// MANAGE's reply: the sweep's state now, and what changed, in a sentence.
public struct ManageReply: Hashable, Sendable, Codable {
  public var sweep: String
  public var state: String
  public var detail: String

  public init(sweep: String, state: String, detail: String) {
    self.sweep = sweep
    self.state = state
    self.detail = detail
  }
}

/// LOGS: a trial's kept output after row `after` (0 or absent: from the first kept), of one
/// attempt or (absent) of its current one.
public struct LogsRequest: Hashable, Sendable, Codable {
  public var trial: Int64
  public var attempt: Int?
  public var after: Int64?

  public init(trial: Int64, attempt: Int? = nil, after: Int64? = nil) {
    self.trial = trial
    self.attempt = attempt
    self.after = after
  }
}

/// The coordinator's answer to a client: a JSON document, or an error message.
public enum ClientReply: Hashable, Sendable {
  case ok(json: [UInt8])
  case error(String)
  /// Raw bytes (a FETCH's chunk of a data file), sent as they are.
  case data([UInt8])
}
