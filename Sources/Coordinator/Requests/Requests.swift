import DataTransfer
import Foundation
import Logging
import Search
import Store
import Vocabulary
import Wire

/// Client requests to typed replies: SUBMIT, STATUS, LEADERBOARD, HISTORY, CANCEL and the
/// data requests (HAVE, UPLOAD, FETCH). Reads the store and the sweep book; a change is
/// written to the store before the book or the reply reflects it, and what the lease machine
/// must do about it comes back as an `Effect` for the shell.
struct Requests {
  let store: Store
  let dataStore: ContentStore?
  let logger: Logger

  /// What the shell does after answering.
  enum Effect: Hashable {
    /// A new sweep: create its first trials.
    case refill(String)
    /// A cancelled sweep (the store has it): drop its leases and stop its running trials.
    case cancel(String)
    /// Stored data files may have lost their last sweep.
    case collectData
  }

  /// The reply, and what the shell must do next.
  struct Answer {
    var reply: ClientReply
    var effects: [Effect] = []
  }

  static func refuse(_ message: String) -> Answer { Answer(reply: .error(message)) }

  /// `submitted`: sweeps this coordinator has accepted (the sweep id's suffix).
  /// `leases` answers how many workers are connected and whether a sweep waits for a kind
  /// of worker none of them is.
  func answer(
    _ request: ClientRequest, book: inout SweepBook, leases: CoordinatorState, submitted: inout Int
  ) -> Answer {
    switch request {
    case .submit(let submit): return self.submit(submit, book: &book, submitted: &submitted)
    case .status(let sweep): return status(sweep, book: book, leases: leases)
    case .leaderboard(let request):
      guard let record = try? store.sweep(request.sweep) else {
        return Self.refuse("unknown sweep '\(request.sweep)'")
      }
      guard let board = leaderboard(record, book: book) else {
        return Self.refuse("the store cannot be read")
      }
      return Answer(
        reply: WireCodec.reply(LeaderboardDocument(board, top: request.top, groupBy: request.groupBy)))
    case .logs(let request):
      guard let trial = try? store.trial(request.trial) else {
        return Self.refuse("unknown trial \(request.trial)")
      }
      let attempt = request.attempt ?? max(trial.attempt, 1)
      guard let rows = try? store.logs(trial: trial.id!, attempt: attempt, after: request.after ?? 0) else {
        return Self.refuse("the store cannot be read")
      }
      return Answer(
        reply: WireCodec.reply(
          TrialLogs(
            trial: trial.id!, sweep: trial.sweepID, attempt: attempt, state: trial.state,
            message: trial.message,
            chunks: rows.map { .init(id: $0.id!, attempt: $0.attempt, stream: $0.stream, text: $0.text) })))
    case .history(let sweep):
      guard let record = try? store.sweep(sweep) else { return Self.refuse("unknown sweep '\(sweep)'") }
      guard let board = leaderboard(record, book: book), let rows = try? store.currentMetrics(sweep: sweep)
      else {
        return Self.refuse("the store cannot be read")
      }
      return Answer(
        reply: .ok(
          json: SweepHistory.json(
            file: record.file, config: record.configText, dataDigests: record.digests, leaderboard: board,
            storedEpochs: rows.map { ($0.trialID, $0.epoch, $0.values) })))
    case .cancel(let sweep):
      guard let record = try? store.sweep(sweep) else { return Self.refuse("unknown sweep '\(sweep)'") }
      guard record.state == .running else {
        return Self.refuse("sweep \(sweep) is already \(record.state.rawValue)")
      }
      do {
        try store.setSweepState(sweep, .cancelled)
      } catch {
        // The store must know first: nothing changed, the client may ask again.
        return Self.refuse("the store cannot be written (\(error)); sweep \(sweep) is not cancelled")
      }
      return Answer(reply: WireCodec.reply(CancelReply(cancelled: sweep)), effects: [.cancel(sweep)])
    case .delete(let sweep):
      guard let record = try? store.sweep(sweep) else { return Self.refuse("unknown sweep '\(sweep)'") }
      let trials: Int
      do {
        trials = try store.deleteSweep(sweep) ?? 0
      } catch {
        return Self.refuse("the store cannot be written (\(error)); sweep \(sweep) is not deleted")
      }
      logger.info("sweep \(sweep) deleted (\(trials) trials)", metadata: ["sweep": "\(sweep)"])
      // A running sweep's leases go too, and its running trials are stopped.
      return Answer(
        reply: WireCodec.reply(DeleteReply(deleted: sweep, trials: trials)),
        effects: record.state == .running ? [.cancel(sweep)] : [.collectData])
    case .haveData(let request):
      guard let dataStore else { return Self.refuse("this coordinator keeps no data files") }
      return Answer(reply: WireCodec.reply(HaveDataReply(missing: dataStore.missing(request.digests))))
    case .upload(let chunk):
      guard let dataStore else { return Self.refuse("this coordinator keeps no data files") }
      do {
        let (received, complete) = try dataStore.receive(
          digest: chunk.sha256, size: chunk.size, offset: chunk.offset, bytes: chunk.bytes ?? [])
        if complete && chunk.offset + Int64((chunk.bytes ?? []).count) == chunk.size {
          logger.info("data \(chunk.sha256.prefix(12))… stored (\(chunk.size) bytes)")
        }
        return Answer(reply: WireCodec.reply(UploadReply(received: received, complete: complete)))
      } catch {
        return Self.refuse("\(error)")
      }
    case .fetch(let request):
      guard let dataStore else { return Self.refuse("this coordinator keeps no data files") }
      do {
        return Answer(
          reply: .data(
            try dataStore.read(digest: request.sha256, offset: request.offset, length: request.length)))
      } catch {
        return Self.refuse("\(error)")
      }
    }
  }

  func submit(_ submit: SubmitRequest, book: inout SweepBook, submitted: inout Int) -> Answer {
    do {
      let digests = submit.data ?? [:]
      for (path, digest) in digests.sorted(by: { $0.key < $1.key }) {
        guard let dataStore else {
          return Self.refuse("this coordinator keeps no data files; '\(path)' cannot travel")
        }
        guard dataStore.has(digest) else {
          let what = path == SweepSpec.codeDigestKey ? "the program's code snapshot" : "data file '\(path)'"
          return Self.refuse("\(what) (sha256 \(digest.prefix(12))…) was not uploaded; submit again")
        }
        dataStore.touch(digest)
      }
      let spec = try SweepConfig.parse(text: submit.text, file: submit.file, dataDigests: digests)
      var id: String
      repeat {
        submitted += 1
        id = "s\(Int(Date().timeIntervalSince1970 * 1000) % 100_000_000)-\(submitted)"
      } while try store.sweep(id) != nil
      let record = SweepRecord(
        id: id, name: spec.name, file: submit.file, configText: submit.text, method: spec.methodName,
        metricName: spec.metric.name.rawValue, metricGoal: spec.metric.goal.rawValue, seed: spec.seed,
        createdAt: Date().timeIntervalSince1970,
        dataDigests: digests.isEmpty ? nil : String(decoding: DocumentJSON.encode(digests), as: UTF8.self))
      _ = try store.createSweep(record, trials: [])
      let plan = SweepPlan(spec: spec)
      book.add(record, plan: plan)
      logger.info(
        "sweep \(id) submitted: \(spec.methodName), \(plan.totalTrials.map(String.init) ?? "unbounded") trials",
        metadata: ["sweep": "\(id)"])
      return Answer(reply: WireCodec.reply(SubmitReply(sweep: id)), effects: [.refill(id)])
    } catch let errors as ConfigErrors {
      return Self.refuse(errors.description)
    } catch {
      return Self.refuse("\(error)")
    }
  }

  /// One sweep (what `watch` and `run` poll, 50 times a second in `run`) reads one row; a
  /// live sweep's counts and best come from the book.
  func status(_ sweep: String?, book: SweepBook, leases: CoordinatorState) -> Answer {
    let workers = leases.workerCount
    let chosen: [SweepRecord]
    do {
      chosen = try sweep.map { try store.sweep($0).map { [$0] } ?? [] } ?? store.sweeps()
    } catch {
      return Self.refuse("the store cannot be read")
    }
    if let sweep, chosen.isEmpty { return Self.refuse("unknown sweep '\(sweep)'") }
    var list: [SweepStatus] = []
    for record in chosen {
      let counts: [String: Int]
      let best: Double?
      if let live = book.sweeps[record.id] {
        counts = Dictionary(
          uniqueKeysWithValues: live.counts.filter { $0.value > 0 }.map { ($0.key.rawValue, $0.value) })
        best = book.best(of: record.id)
      } else {
        (counts, best) =
          (try? store.progress(sweep: record.id, maximize: record.metricGoal == "maximize")) ?? ([:], nil)
      }
      list.append(
        SweepStatus(
          sweep: record.id, name: record.name, state: record.state.rawValue, trials: counts,
          total: book.sweeps[record.id]?.plan.totalTrials
            ?? (record.state == .running ? nil : counts.values.reduce(0, +)),
          best: best, metric: record.metric, workers: workers,
          stops: book.sweeps[record.id]?.recentStops ?? (sweep == nil ? nil : try? latestStops(record.id)),
          waiting: record.state == .running ? leases.unplaceable(sweep: record.id) : nil,
          target: (book.sweeps[record.id].map { $0.targetReachedBy != nil } ?? (sweep != nil))
            ? (try? store.events(sweep: record.id).last { $0.kind == "target_reached" })?.detail : nil))
    }
    return Answer(reply: WireCodec.reply(SweepStatus.List(sweeps: list)))
  }

  /// The latest stopping decisions stored for a sweep, oldest first.
  func latestStops(_ sweep: String) throws -> [SweepStatus.Stop] {
    try store.events(sweep: sweep).filter { $0.kind == "early_stop" }.suffix(SweepStatus.Stop.shown).map {
      SweepStatus.Stop(trial: $0.trialID ?? -1, reason: $0.detail)
    }
  }

  /// The sweep's trials as stored, running ones with their progress so far.
  func leaderboard(_ record: SweepRecord, book: SweepBook) -> Leaderboard? {
    guard let trials = try? store.trials(sweep: record.id) else { return nil }
    let decoder = WireCodec.decoder()
    // Parameters in the sweep's order (the stored JSON objects do not keep one).
    let spec =
      book.sweeps[record.id]?.plan.spec
      ?? (try? SweepConfig.parse(text: record.configText, file: record.file, dataDigests: record.digests))
    let order = Dictionary(
      (spec?.parameters.map(\.path) ?? []).enumerated().map { ($1, $0) },
      uniquingKeysWith: { first, _ in first })
    let summaries = trials.map { trial -> TrialSummary in
      let params = (try? decoder.decode(ConfigValue.self, from: Data(trial.params.utf8))) ?? .map([])
      var ordered: [(String, ConfigValue)] = []
      if case .map(let entries) = params { ordered = entries.map { ($0.key, $0.value) } }
      ordered.sort { (order[$0.0] ?? Int.max, $0.0) < (order[$1.0] ?? Int.max, $1.0) }
      let live = book.progress(of: trial.id!)
      return TrialSummary(
        trial: trial.id!, index: trial.index, configuration: trial.configuration, status: trial.state,
        params: ordered, best: trial.bestValue ?? live?.best, bestEpoch: trial.bestEpoch ?? live?.bestEpoch,
        epochs: max(trial.epochs, live?.epochs ?? 0), seconds: trial.seconds, message: trial.message,
        result: trial.resultValue, resultEpoch: trial.resultEpoch, attempt: trial.attempt)
    }
    return Leaderboard(sweep: record.id, metric: record.metric, trials: summaries)
  }
}

extension ClientRequest {
  /// Whether the request changes what the coordinator holds (operators only under CURVE).
  var changesState: Bool {
    switch self {
    case .submit, .cancel, .delete, .haveData, .upload: true
    case .status, .leaderboard, .history, .fetch, .logs: false
    }
  }
}
