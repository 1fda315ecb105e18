import ArgumentParser
import Coordinator
import Foundation
import Training
import Wire

/// `sweepd fuzz`: hostile frames against the wire decoders and the coordinator's state
/// machine, as the network could send them (used by `scripts/test` with a million frames).
///
/// Frames come from a seeded generator: random byte frames (0–5 frames of 0–96 bytes), valid
/// messages of every kind with 1–4 bytes overwritten, frames cut short or grown, and valid
/// worker messages about trials and attempts that do not exist or belong to another worker.
/// Every frame goes to all four decoders; every worker message that decodes goes to a
/// coordinator state machine (with sweeps, trials and two workers) under a fake clock, from
/// one of the workers or a stranger. A trap ends the process (the seed and index are printed
/// every 100,000 frames, so a failure can be replayed); memory must stay bounded: the
/// resident set may not grow by more than `--memory-limit` MiB.
struct Fuzz: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Feed seeded hostile frames to the decoders and the coordinator state machine.",
    shouldDisplay: false)

  @Option(help: "Frames to generate.") var frames: Int = 1_000_000
  @Option(help: "Seed of the generator.") var seed: UInt64 = 1
  @Option(help: "Most the resident set may grow (MiB).") var memoryLimit: Int = 64
  @Option(help: "Hostile client requests to a real coordinator over ZeroMQ (after the frames).")
  var requests: Int = 0
  @Option(help: "Hostile HTTP requests to its dashboard.") var httpRequests: Int = 0

  func run() throws {
    var random = RandomSource(seed: seed)
    let samples = Self.samples()
    var state = CoordinatorState()
    let peers = ["w1#1", "w2#1", "stranger"]
    _ = state.handle(.trialsAdded(sweep: "s", trials: Array(1...64), maxAttempts: 1_000_000), now: 0)
    _ = state.handle(.message("w1#1", .ready(Ready(worker: "w1", host: "h", slots: 4, version: "f"))), now: 0)
    _ = state.handle(.message("w2#1", .ready(Ready(worker: "w2", host: "h", slots: 4, version: "f"))), now: 0)
    let startMemory = Self.residentMiB()
    var decoded = 0, fedToState = 0, now = 0.0
    for index in 0..<frames {
      let message = Self.frame(&random, samples: samples)
      if case .success(let worker) = WireCodec.decodeWorkerMessage(message) {
        decoded += 1
        now += 0.001
        let peer = peers[random.index(below: peers.count)]
        _ = state.handle(.message(peer, worker), now: now)
        fedToState += 1
        // Keep the machine busy: new trials as old ones finish, workers back after drops.
        if state.pendingCount < 8 {
          _ = state.handle(
            .trialsAdded(sweep: "s", trials: [Int64(100 + index)], maxAttempts: 1_000_000), now: now)
        }
      } else {
        _ = state.handle(.malformed(peers[random.index(below: peers.count)], reason: "fuzz"), now: now)
      }
      if case .success = WireCodec.decodeCoordinatorMessage(message) { decoded += 1 }
      if case .success = WireCodec.decodeClientRequest(message) { decoded += 1 }
      if case .success = WireCodec.decodeClientReply(message) { decoded += 1 }
      if index % 1000 == 999 {
        now += 1
        _ = state.handle(.tick, now: now)
        for (peer, name) in [("w1#1", "w1"), ("w2#1", "w2")] {
          _ = state.handle(
            .message(peer, .ready(Ready(worker: name, host: "h", slots: 4, version: "f"))), now: now)
        }
      }
      if index % 100_000 == 99_999 {
        FileHandle.standardError.write(Data("fuzz: seed \(seed), \(index + 1) frames\n".utf8))
      }
    }
    let growth = Self.residentMiB() - startMemory
    print(
      "fuzz: \(frames) frames (seed \(seed)): no trap; \(decoded) decoded, \(fedToState) fed to the state machine; "
        + "resident set grew \(growth) MiB")
    guard growth <= memoryLimit else {
      throw ValidationError("memory grew by \(growth) MiB (limit \(memoryLimit) MiB)")
    }
    try fuzzRequests(count: requests, httpCount: httpRequests)
  }

  /// Valid frames of every message kind, to mutate.
  static func samples() -> [[[UInt8]]] {
    let attempt = AttemptID(trial: 3, attempt: 1)
    let worker: [WorkerMessage] = [
      .ready(Ready(worker: "w1", host: "h", slots: 2, version: "f", running: [attempt])), .heartbeat,
      .metric(MetricReport(attempt: attempt, epoch: 2, values: ["val_loss": 0.5, "lr": .nan])),
      .done(DoneReport(attempt: attempt, status: .completed, epochs: 3, seconds: 0.1)),
      .handBack([attempt]), .draining, .bye,
    ]
    let coordinator: [CoordinatorMessage] = [
      .assign(
        Assignment(
          attempt: attempt, sweep: "s", spec: SpecJSON(Array(try! WireCodec.encoder().encode(TrialSpec()))))),
      .stop(StopOrder(attempt: attempt, reason: "r")), .acknowledge(attempt), .heartbeat, .disconnect("x"),
    ]
    let requests: [ClientRequest] = [
      .submit(SubmitRequest(file: "f.yaml", text: "method: grid\n")), .status(sweep: "s"),
      .cancel(sweep: "s"), .delete(sweep: "s"),
      .leaderboard(LeaderboardRequest(sweep: "s", top: 3, groupBy: "lr")), .history(sweep: "s"),
      .haveData(HaveDataRequest(digests: [String(repeating: "ab", count: 32)])),
      .upload(
        UploadChunk(sha256: String(repeating: "cd", count: 32), size: 4, offset: 0, bytes: [1, 2, 3, 4])),
      .fetch(FetchRequest(sha256: String(repeating: "ef", count: 32), offset: 0, length: 4096)),
      .logs(LogsRequest(trial: 3, attempt: 1, after: 0)),
      .manage(ManageRequest(sweep: "s", action: .extend, runCap: 20)),
      .manage(ManageRequest(sweep: "s", action: .enqueue, values: ["lr": "0.1"])),
      .submit(SubmitRequest(file: "f.yaml", text: "method: grid\n", data: ["x": String(repeating: "ab", count: 32)])),
    ]
    return worker.map { WireCodec.encode($0) } + coordinator.map { WireCodec.encode($0) }
      + requests.map { WireCodec.encode($0) }
  }

  static func frame(_ random: inout RandomSource, samples: [[[UInt8]]]) -> [[UInt8]] {
    func byte() -> UInt8 { UInt8(truncatingIfNeeded: random.next()) }
    switch random.index(below: 5) {
    case 0:
      return (0..<random.index(below: 6)).map { _ in (0..<random.index(below: 97)).map { _ in byte() } }
    case 1, 2:
      var frames = samples[random.index(below: samples.count)]
      let which = random.index(below: frames.count)
      if !frames[which].isEmpty {
        for _ in 0..<(1 + random.index(below: 4)) {
          frames[which][random.index(below: frames[which].count)] = byte()
        }
      }
      return frames
    case 3:
      var frames = samples[random.index(below: samples.count)]
      let which = random.index(below: frames.count)
      if random.index(below: 2) == 0 {
        frames[which] = Array(frames[which].prefix(random.index(below: frames[which].count + 1)))
      } else {
        frames[which] += (0..<random.index(below: 32)).map { _ in byte() }
      }
      return frames
    default:
      // Well-formed messages about random trials and attempts: the state machine's input.
      let attempt = AttemptID(
        trial: Int64(random.index(below: 80)), attempt: 1 + random.index(below: 3))
      let message: WorkerMessage
      switch random.index(below: 4) {
      case 0:
        message = .metric(
          MetricReport(
            attempt: attempt, epoch: 1 + random.index(below: 5), values: ["val_loss": Double(byte())]))
      case 1: message = .done(DoneReport(attempt: attempt, status: .completed, epochs: 2, seconds: 0.01))
      case 2: message = .handBack([attempt])
      default: message = .heartbeat
      }
      return WireCodec.encode(message)
    }
  }

  /// The process's resident set (MiB), from /proc.
  static func residentMiB() -> Int {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
      let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
      let kilobytes = Int(line.split(separator: " ").dropFirst().first ?? "")
    else { return 0 }
    return kilobytes / 1024
  }
}
