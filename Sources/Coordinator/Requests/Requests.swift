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
    /// A paused sweep (the store has it): start none of its trials; with `stopRunning`, stop
    /// and requeue the running ones.
    case pause(String, stopRunning: Bool)
    /// A resumed sweep (the store has it): its pending trials may start again.
    case resume(String)
    /// A new run_cap (the store has it); `revived`: the sweep had completed, and is live again.
    case extend(String, runCap: Int, revived: Bool)
    /// Hand-given trials (stored, and in the book): to the front of the sweep's queue.
    case enqueued(String, trials: [Int64])
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
      // Asking twice is not an error: the sweep is as the operator wants it.
      if record.state == .cancelled {
        return Answer(reply: WireCodec.reply(CancelReply(cancelled: sweep, already: true)))
      }
      guard record.state == .running || record.state == .paused else {
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
      // A live sweep's (running or paused) leases go too, and its running trials are stopped;
      // what its workers still send about them is dropped by the lease machine.
      return Answer(
        reply: WireCodec.reply(DeleteReply(deleted: sweep, trials: trials)),
        effects: record.state.isLive ? [.cancel(sweep)] : [.collectData])
    case .manage(let request): return manage(request, book: &book)
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

  /// MANAGE: pause, resume, extend or enqueue, written to the store before anything acts on it.
  func manage(_ request: ManageRequest, book: inout SweepBook) -> Answer {
    let id = request.sweep
    guard let record = try? store.sweep(id) else { return Self.refuse("unknown sweep '\(id)'") }
    func written(_ change: () throws -> Void) -> String? {
      do {
        try change()
        return nil
      } catch {
        return "the store cannot be written (\(error)); sweep \(id) is unchanged"
      }
    }
    switch request.action {
    case .pause:
      guard record.state == .running else {
        return Self.refuse("sweep \(id) is \(record.state.rawValue); only a running sweep can be paused")
      }
      if let failure = written({ try store.setSweepState(id, .paused) }) { return Self.refuse(failure) }
      let stop = request.stopRunning ?? false
      logger.info(
        "sweep \(id) paused\(stop ? " (running trials stopped)" : "")", metadata: ["sweep": "\(id)"])
      return Answer(
        reply: WireCodec.reply(
          ManageReply(
            sweep: id, state: "paused",
            detail: stop
              ? "no trial starts until `sweepd resume \(id)`; running trials are stopped and start again then"
              : "no trial starts until `sweepd resume \(id)`; running trials finish")),
        effects: [.pause(id, stopRunning: stop)])
    case .resume:
      guard record.state == .paused else {
        return Self.refuse("sweep \(id) is \(record.state.rawValue); only a paused sweep can be resumed")
      }
      if let failure = written({ try store.setSweepState(id, .running) }) { return Self.refuse(failure) }
      logger.info("sweep \(id) resumed", metadata: ["sweep": "\(id)"])
      return Answer(
        reply: WireCodec.reply(ManageReply(sweep: id, state: "running", detail: "its trials start again")),
        effects: [.resume(id)])
    case .enqueue:
      return enqueue(request, book: &book)
    case .extend:
      let cap = request.runCap ?? 0
      guard [.running, .paused, .completed].contains(record.state) else {
        return Self.refuse(
          "sweep \(id) is \(record.state.rawValue); only a running, paused or completed sweep can be extended"
        )
      }
      guard var spec = try? record.spec() else { return Self.refuse("sweep \(id)'s config no longer parses") }
      let created = book.sweeps[id]?.created ?? ((try? store.trials(sweep: id).count) ?? 0)
      spec.runCap = cap
      let total = SweepPlan(spec: spec).totalTrials ?? cap
      guard total > created else {
        let why =
          spec.method == .grid && total < cap
          ? "the grid has \(total) trials in all"
          : "run_cap \(cap) is not more than the \(created) trials it has"
        return Self.refuse("sweep \(id) cannot be extended: \(why)")
      }
      let state: SweepRecord.State = record.state == .completed ? .running : record.state
      if let failure = written({ try store.extendSweep(id, runCap: cap, state: state) }) {
        return Self.refuse(failure)
      }
      logger.info("sweep \(id) extended to run_cap \(cap)", metadata: ["sweep": "\(id)"])
      return Answer(
        reply: WireCodec.reply(
          ManageReply(
            sweep: id, state: state.rawValue,
            detail: "run_cap \(cap): \(total - created) more trial\(total - created == 1 ? "" : "s")")),
        effects: [.extend(id, runCap: cap, revived: record.state == .completed)])
    }
  }

  /// MANAGE enqueue: the sweep's next configuration with the given values (checked against
  /// their parameters' distributions), written with the sweep's new run_cap in one
  /// transaction, then in the book; the shell puts its trials first in the sweep's queue.
  func enqueue(_ request: ManageRequest, book: inout SweepBook) -> Answer {
    let id = request.sweep
    guard let record = try? store.sweep(id) else { return Self.refuse("unknown sweep '\(id)'") }
    guard [.running, .paused, .completed].contains(record.state) else {
      return Self.refuse(
        "sweep \(id) is \(record.state.rawValue); trials are enqueued into a running, paused or completed sweep"
      )
    }
    guard let spec = try? record.spec() else { return Self.refuse("sweep \(id)'s config no longer parses") }
    guard spec.method != .grid else {
      return Self.refuse(
        "sweep \(id) is a grid: it runs exactly its configurations; enqueue is for random, sobol and bayes sweeps"
      )
    }
    var values: [String: ConfigValue] = [:]
    let names = spec.parameters.map(\.path)
    for (path, text) in (request.values ?? [:]).sorted(by: { $0.key < $1.key }) {
      guard let parameter = spec.parameters.first(where: { $0.path == path }) else {
        let hint = closestMatch(to: path, among: names).map { " (did you mean '\($0)'?)" } ?? ""
        return Self.refuse(
          "'\(path)' is not a parameter of sweep \(id)\(hint); its parameters: \(names.joined(separator: ", "))"
        )
      }
      guard let value = ConfigTree.value(yaml: text), parameter.distribution.quantile(of: value) != nil else {
        return Self.refuse(
          "\(path)=\(text): not a value of this parameter, which takes \(parameter.distribution.support)")
      }
      values[path] = value
    }
    // A completed sweep is live again, rebuilt as recovery rebuilds it.
    let revived = book.sweeps[id] == nil
    if revived && !Recovery.revive(record, from: store, into: &book, logger: logger) {
      return Self.refuse("sweep \(id) cannot be read back from the store")
    }
    guard let live = book.sweeps[id] else { return Self.refuse("sweep \(id) is not live") }
    let proposal: SweepBook.Proposal?
    do {
      proposal = try book.enqueueProposal(for: id, values: values, now: Date().timeIntervalSince1970)
    } catch {
      if revived { book.end(id) }
      return Self.refuse("\(error)")
    }
    guard let proposal else {
      if revived { book.end(id) }
      return Self.refuse(
        "sweep \(id) is between the repeats of a configuration; enqueue once its current configuration's repeats are created"
      )
    }
    let runCap = spec.runCap.map { max($0, live.created) + spec.repeats }
    let state: SweepRecord.State = record.state == .completed ? .running : record.state
    let stored: [TrialRecord]
    do {
      stored = try store.enqueueTrials(proposal.records, sweep: id, runCap: runCap, state: state)
    } catch {
      if revived { book.end(id) }
      return Self.refuse("the store cannot be written (\(error)); nothing was enqueued")
    }
    book.commit(proposal, stored: stored)
    if let runCap { book.setRunCap(id, runCap) }
    book.setState(id, state)
    let ids = stored.compactMap(\.id)
    let given = values.keys.sorted().map { "\($0)=\(values[$0]!)" }.joined(separator: " ")
    logger.info(
      "sweep \(id): enqueued trial \(ids.map(String.init).joined(separator: ", ")) (\(given))",
      metadata: ["sweep": "\(id)"])
    return Answer(
      reply: WireCodec.reply(
        ManageReply(
          sweep: id, state: state.rawValue,
          detail:
            "trial\(ids.count == 1 ? "" : "s") \(ids.map(String.init).joined(separator: ", ")) enqueued (\(given)); \(state == .paused ? "it starts on resume" : "it starts next")"
        )),
      effects: [.enqueued(id, trials: ids)])
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
      var counts: [String: Int]
      let best: Double?
      if let live = book.sweeps[record.id] {
        counts = Dictionary(
          uniqueKeysWithValues: live.counts.filter { $0.value > 0 }.map { ($0.key.rawValue, $0.value) })
        best = book.best(of: record.id)
      } else {
        (counts, best) =
          (try? store.progress(sweep: record.id, maximize: record.metricGoal == "maximize")) ?? ([:], nil)
      }
      var total = book.sweeps[record.id]?.plan.totalTrials
      if total == nil && record.state != .running {
        total = counts.values.reduce(0, +)
        // A cancelled sweep is shown whole: the trials it never created count as cancelled
        // (70/420 done, 350 cancelled — not 70/84).
        if record.state == .cancelled, let planned = plannedTrials(record), planned > total! {
          counts["cancelled", default: 0] += planned - total!
          total = planned
        }
      }
      list.append(
        SweepStatus(
          sweep: record.id, name: record.name, state: record.state.rawValue, trials: counts,
          total: total,
          best: best, metric: record.metric, workers: workers,
          stops: book.sweeps[record.id]?.recentStops ?? (sweep == nil ? nil : try? latestStops(record.id)),
          waiting: record.state == .running ? leases.unplaceable(sweep: record.id) : nil,
          target: target(of: record, book: book, asked: sweep != nil)))
      list[list.count - 1].finalRun = finalRunLine(book.sweeps[record.id], book: book)
    }
    return Answer(reply: WireCodec.reply(SweepStatus.List(sweeps: list)))
  }

  /// The trials a stored sweep's plan has in all (its grid or run_cap, as extended), if its
  /// config still parses and the number is bounded.
  func plannedTrials(_ record: SweepRecord) -> Int? {
    do {
      return SweepPlan(spec: try record.spec()).totalTrials
    } catch {
      logger.debug("sweep \(record.id): its config no longer parses (\(error)); its total is what it created")
      return nil
    }
  }

  /// What `status` says about a live sweep's final run, from the book (no read).
  func finalRunLine(_ live: SweepBook.Sweep?, book: SweepBook) -> String? {
    guard let live, let selection = live.selection, live.searchIsComplete else { return nil }
    let what = "final run of trial \(selection.trial) on the held-out test rows"
    switch live.finalRun {
    case .notCreated: return "\(what): being created"
    case .created(let id):
      return "\(what): " + (book.progress(of: id) == nil ? "pending" : "running (trial \(id))")
    case .ended: return "\(what): ended"
    }
  }

  /// What `status` says about `metric.target`: for a live sweep, from the book (no read:
  /// `watch` asks ten times a second); for a finished one asked for by name, the stored
  /// event's sentence.
  func target(of record: SweepRecord, book: SweepBook, asked: Bool) -> String? {
    if let live = book.sweeps[record.id] {
      return live.targetReachedBy.map(SweepBook.Sweep.targetSentence)
    }
    guard asked else { return nil }
    return (try? store.events(sweep: record.id).last { $0.kind == "target_reached" })?.detail
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
      ?? (try? record.spec())
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
        result: trial.resultValue, resultEpoch: trial.resultEpoch, attempt: trial.attempt, seed: trial.seed)
    }
    var board = Leaderboard(sweep: record.id, metric: record.metric, trials: summaries)
    if spec?.base["data"]?["folds"] != nil {
      board.addFoldDeviations(
        from: ((try? store.currentMetrics(sweep: record.id)) ?? []).map { ($0.trialID, $0.epoch, $0.values) })
    }
    if let final = try? store.refit(sweep: record.id),
      let selected = trials.first(where: { $0.index == final.selectedIndex })
    {
      let last = (try? store.metrics(trial: final.id!, attempt: final.attempt))?.last
      let values = last.flatMap { MetricJSON.decodeValues($0.values) } ?? [:]
      let spec = try? WireCodec.decoder().decode(FinalRunSpec.self, from: Data(final.spec.utf8))
      board.selected = SelectedRun(
        trial: selected.id!, run: final.id!, refit: spec?.data.stage != "evaluate", status: final.state,
        epochs: spec?.data.stageEpochs ?? final.epochs, test: values.filter { $0.key.hasPrefix("test_") },
        message: final.state == .failed || final.state == .diverged ? final.message : nil)
    }
    return board
  }

  /// What a final run's stored spec says about how it trains.
  struct FinalRunSpec: Decodable {
    struct DataPart: Decodable {
      var stage: String?
      var stageEpochs: Int?
      enum CodingKeys: String, CodingKey {
        case stage
        case stageEpochs = "stage_epochs"
      }
    }
    var data: DataPart
  }
}

extension ClientRequest {
  /// Whether the request changes what the coordinator holds (operators only under CURVE).
  var changesState: Bool {
    switch self {
    case .submit, .cancel, .delete, .haveData, .upload, .manage: true
    case .status, .leaderboard, .history, .fetch, .logs: false
    }
  }
}
