import Foundation
import Search
import Store
import Vocabulary
import XCTest

@testable import Coordinator
@testable import Wire

/// The sweep book, pure: transitions and metrics in, store changes and actions out. Times
/// are passed in (a fake clock); trial ids are handed out as a store would.
final class SweepBookTests: XCTestCase {
  var nextID: Int64 = 1

  func sweep(_ yaml: String, id: String = "s") throws -> (SweepRecord, SweepPlan) {
    let spec = try SweepConfig.parse(text: yaml, file: "t.yaml")
    let record = SweepRecord(
      id: id, name: nil, file: "t.yaml", configText: yaml, method: spec.methodName,
      metricName: spec.metric.name.rawValue, metricGoal: spec.metric.goal.rawValue, seed: spec.seed,
      createdAt: 0)
    return (record, SweepPlan(spec: spec))
  }

  /// Plans and "stores" the sweep's next trials; returns their ids.
  @discardableResult
  func refill(_ book: inout SweepBook, _ id: String = "s", capacity: Int = 1) -> [Int64] {
    guard let proposal = book.proposal(for: id, capacity: capacity, now: 0) else { return [] }
    let stored = proposal.records.map { record -> TrialRecord in
      var record = record
      record.id = nextID
      nextID += 1
      return record
    }
    book.commit(proposal, stored: stored)
    return stored.map { $0.id! }
  }

  func start(_ book: inout SweepBook, _ trial: Int64, attempt: Int = 1) {
    XCTAssertNotNil(book.apply(.started(AttemptID(trial: trial, attempt: attempt), worker: "w")))
  }

  func finish(
    _ book: inout SweepBook, _ trial: Int64, _ status: DoneReport.Status = .completed, epochs: Int = 3,
    attempt: Int = 1
  ) -> Store.TrialChange? {
    book.apply(
      .finished(
        AttemptID(trial: trial, attempt: attempt),
        DoneReport(
          attempt: AttemptID(trial: trial, attempt: attempt), status: status, epochs: epochs, seconds: 1)))
  }

  func epoch(_ book: inout SweepBook, _ trial: Int64, _ epoch: Int, _ loss: Double, attempt: Int = 1)
    -> [SweepBook.Action]
  {
    book.record(
      MetricReport(
        attempt: AttemptID(trial: trial, attempt: attempt), epoch: epoch, values: ["val_loss": loss]),
      time: 100)
  }

  let grid = """
    method: grid
    metric: {name: val_loss, goal: minimize}
    model: {kind: rosenbrock}
    training: {epochs: 3}
    parameters:
      lr: {values: [0.001, 0.002, 0.003]}
    """

  /// A trial's life leaves nothing behind: once every trial ended and the sweep is
  /// complete, the book holds no trial (the coordinator's memory no longer grows with every
  /// trial it has run), and an ended sweep leaves with its trials.
  func testFinishedTrialsLeaveTheBook() throws {
    var book = SweepBook()
    let (record, plan) = try sweep(grid)
    book.add(record, plan: plan)
    let ids = refill(&book, capacity: 4)
    XCTAssertEqual(ids.count, 3, "a 3-trial grid never proposes more")
    XCTAssertNil(book.proposal(for: "s", capacity: 4, now: 0))
    for id in ids {
      start(&book, id)
      _ = epoch(&book, id, 1, 0.5)
      _ = finish(&book, id)
    }
    XCTAssertTrue(book.trials.isEmpty)
    XCTAssertTrue(try XCTUnwrap(book.sweeps["s"]).isComplete)
    XCTAssertEqual(book.sweeps["s"]?.counts[.completed], 3)
    book.end("s")
    XCTAssertTrue(book.sweeps.isEmpty)
    XCTAssertNil(book.apply(.started(AttemptID(trial: 1, attempt: 2), worker: "w")), "unknown: no change")
  }

  /// The store change of each transition, guarded by the attempt it is about; the best so
  /// far and the result (last epoch) come from the metrics.
  func testTransitionsBecomeGuardedStoreChanges() throws {
    var book = SweepBook()
    let (record, plan) = try sweep(grid)
    book.add(record, plan: plan)
    let ids = refill(&book)
    let id = ids[0]
    start(&book, id)
    for (e, loss) in [(1, 0.5), (2, 0.2), (3, 0.4)] { _ = epoch(&book, id, e, loss) }
    XCTAssertEqual(book.progress(of: id)?.best, 0.2)
    XCTAssertEqual(book.best(of: "s"), 0.2)
    let change = try XCTUnwrap(finish(&book, id))
    XCTAssertEqual(change.ifAttempt, 1)
    XCTAssertTrue(change.fields.contains(.state(.completed)))
    XCTAssertTrue(change.fields.contains(.best(value: 0.2, epoch: 2)))
    XCTAssertTrue(change.fields.contains(.result(value: 0.4, epoch: 3)))
    XCTAssertEqual(book.sweeps["s"]?.bestFinished, 0.2)
    // A requeue returns the trial to pending under the lost attempt's guard.
    let other = ids[1]
    start(&book, other)
    let requeued = try XCTUnwrap(
      book.apply(
        .requeued(
          lost: AttemptID(trial: other, attempt: 1), next: AttemptID(trial: other, attempt: 2), reason: "r")))
    XCTAssertEqual(requeued.ifAttempt, 1)
    XCTAssertTrue(requeued.fields.contains(.state(.pending)))
    XCTAssertEqual(book.sweeps["s"]?.counts[.running], 0)
    XCTAssertEqual(book.sweeps["s"]?.counts[.pending], 2, "the third trial and the requeued one")
  }

  let asha = """
    method: grid
    metric: {name: val_loss, goal: minimize}
    model: {kind: rosenbrock}
    training: {epochs: 9}
    early_terminate: {type: asha, min_epochs: 1, eta: 3}
    parameters:
      lr: {values: [0.001, 0.002, 0.003, 0.004]}
    """

  /// A book with the ASHA sweep, its trials created and the first two running.
  func twoRunningASHATrials() throws -> (SweepBook, [Int64]) {
    var book = SweepBook()
    let (record, plan) = try sweep(asha)
    book.add(record, plan: plan)
    let ids = refill(&book, capacity: 4)
    start(&book, ids[0])
    start(&book, ids[1])
    return (book, ids)
  }

  /// A trial that fails on its last attempt, or is cancelled, leaves the stopping peers:
  /// ASHA no longer counts its curve (the defect: it used to keep ranking others).
  func testFailedAndCancelledTrialsLeaveThePeers() throws {
    for ending in ["failed", "cancelled"] {
      let (made, ids) = try twoRunningASHATrials()
      var book = made
      XCTAssertEqual(epoch(&book, ids[1], 1, 0.1), [])
      let change =
        ending == "failed"
        ? book.apply(.failed(AttemptID(trial: ids[1], attempt: 1), reason: "attempts used"))
        : book.apply(.cancelled(trial: ids[1]))
      XCTAssertNotNil(change)
      XCTAssertEqual(book.judge.watchedCount, 1, ending)
      XCTAssertEqual(epoch(&book, ids[0], 1, 0.9), [], "\(ending): no peer ranks trial \(ids[0]) any more")
      XCTAssertNil(book.trials[ids[1]], "\(ending): the trial left the book")
    }
  }

  /// A stopping decision comes out as actions: record the event (written in the group
  /// commit) and then stop the trial; the sweep keeps it among its recent stops. Its DONE
  /// makes it early_stopped with the reason as its message.
  func testAStopIsRecordedThenSentAndEndsEarlyStopped() throws {
    let (made, ids) = try twoRunningASHATrials()
    var book = made
    _ = epoch(&book, ids[0], 1, 0.1)
    let actions = epoch(&book, ids[1], 1, 0.9)
    guard actions.count == 2, case .record(let event) = actions[0],
      case .stop(let trial, let reason) = actions[1]
    else { return XCTFail("expected record then stop, got \(actions)") }
    XCTAssertEqual(event.kind, "early_stop")
    XCTAssertEqual(event.trialID, ids[1])
    XCTAssertEqual(event.time, 100)
    XCTAssertEqual(trial, ids[1])
    XCTAssertEqual(event.detail, reason)
    XCTAssertEqual(book.sweeps["s"]?.recentStops.map(\.trial), [ids[1]])
    let change = try XCTUnwrap(finish(&book, ids[1], .stopped, epochs: 2))
    XCTAssertTrue(change.fields.contains(.state(.earlyStopped)))
    XCTAssertTrue(change.fields.contains(.message(reason)))
    // A STOP without a decision (a cancellation) is not early_stopped.
    let change0 = try XCTUnwrap(finish(&book, ids[0], .stopped, epochs: 1))
    XCTAssertTrue(change0.fields.contains(.state(.cancelled)))
  }

  /// Deterministic mode gates creation: trial k waits until trials 0 … k − L − 1 have
  /// finished, whatever order results arrive in; and a stopped trial's result is cut at its
  /// decision epoch, however many epochs its worker ran before the STOP arrived.
  func testDeterministicGatingAndTheCutResult() throws {
    var book = SweepBook()
    let (record, plan) = try sweep(
      """
      method: bayes
      metric: {name: val_loss, goal: minimize}
      model: {kind: rosenbrock}
      training: {epochs: 4}
      deterministic: {lag: 2}
      run_cap: 20
      early_terminate: {type: plateau, patience: 1}
      parameters:
        lr: {distribution: log_uniform_values, min: 0.0001, max: 0.01}
      """)
    book.add(record, plan: plan)
    let first = refill(&book, capacity: 8)
    XCTAssertEqual(first.count, 3, "indices 0…L see nobody and may start; index 3 waits for trial 0")
    for id in first { start(&book, id) }
    _ = finish(&book, first[1])
    _ = finish(&book, first[2])
    XCTAssertEqual(refill(&book, capacity: 8), [], "trial 0 has not finished: index 3 must wait")
    // Trial 0: better, then worse twice; plateau stops it at epoch 2, but it reports 4 epochs.
    _ = epoch(&book, first[0], 1, 0.5)
    let stop = epoch(&book, first[0], 2, 0.6)
    XCTAssertEqual(stop.count, 2)
    _ = epoch(&book, first[0], 3, 0.1)
    _ = epoch(&book, first[0], 4, 0.05)
    let change = try XCTUnwrap(finish(&book, first[0], .completed, epochs: 4))
    XCTAssertTrue(change.fields.contains(.state(.earlyStopped)))
    XCTAssertTrue(change.fields.contains(.epochs(2)))
    XCTAssertTrue(change.fields.contains(.best(value: 0.5, epoch: 1)), "\(change.fields)")
    XCTAssertTrue(change.fields.contains(.result(value: 0.6, epoch: 2)))
    XCTAssertEqual(refill(&book, capacity: 8).count, 3, "0, 1, 2 finished: indices 3, 4, 5 may start")
  }

  /// After a restart the book is rebuilt from the store's rows: counts, the running trial's
  /// best so far from its stored epochs, and refill continuing at the next index.
  func testRecoveryRebuildsAndRefillContinues() throws {
    let (record, plan) = try sweep(
      grid.replacingOccurrences(of: "[0.001, 0.002, 0.003]", with: "[0.001, 0.002, 0.003, 0.004, 0.005]"))
    var original = SweepBook()
    original.add(record, plan: plan)
    let proposal = try XCTUnwrap(original.proposal(for: "s", capacity: 1, now: 0))
    var rows = proposal.records.prefix(3).enumerated().map { offset, row -> TrialRecord in
      var row = row
      row.id = Int64(offset + 1)
      return row
    }
    rows[0].state = .completed
    rows[0].bestValue = 0.3
    rows[1].state = .running
    rows[1].attempt = 2
    rows[1].worker = "w1"
    let metrics = [
      MetricRecord(trialID: 2, attempt: 2, epoch: 1, values: #"{"val_loss":0.7}"#),
      MetricRecord(trialID: 2, attempt: 2, epoch: 2, values: #"{"val_loss":0.25}"#),
    ]
    let recovered = Recovery.rebuild([
      Recovery.Snapshot(record: record, spec: plan.spec, trials: rows, metrics: metrics, events: [])
    ])
    var book = recovered.book
    XCTAssertEqual(recovered.pending.map(\.trial), [3])
    XCTAssertEqual(recovered.running.map(\.trial), [2])
    XCTAssertEqual(recovered.running.first?.attempt, 2)
    let live = try XCTUnwrap(book.sweeps["s"])
    XCTAssertEqual(live.created, 3)
    XCTAssertEqual(live.counts[.completed], 1)
    XCTAssertEqual(live.counts[.running], 1)
    XCTAssertEqual(live.counts[.pending], 1)
    XCTAssertEqual(book.progress(of: 2)?.best, 0.25)
    XCTAssertEqual(book.progress(of: 2)?.bestEpoch, 2)
    XCTAssertEqual(book.best(of: "s"), 0.25)
    XCTAssertNil(book.trials[1], "a finished trial is not held")
    nextID = 4
    XCTAssertEqual(refill(&book, capacity: 4), [4, 5])
    XCTAssertEqual(book.trials[4]?.index, 3)
    XCTAssertEqual(book.trials[5]?.index, 4)
    XCTAssertNil(book.proposal(for: "s", capacity: 4, now: 0), "5 trials: none more")
  }

  /// `metric.target`: the first value that reaches it (≤ when minimizing) closes the sweep to
  /// new trials — its pending trials are cancelled, with the reason, an event is recorded,
  /// running ones finish, and then the sweep is complete. Recovery finds the target again
  /// from stored results.
  func testATargetReachedCreatesNoMoreTrials() throws {
    let yaml = """
      method: random
      metric: {name: val_loss, goal: minimize, target: 0.1}
      model: {kind: rosenbrock}
      training: {epochs: 3}
      parameters:
        lr: {min: 0.001, max: 0.01}
      """
    let (record, plan) = try sweep(yaml)
    XCTAssertEqual(plan.spec.target, 0.1)
    var book = SweepBook()
    book.add(record, plan: plan)
    let ids = refill(&book, capacity: 2)
    XCTAssertEqual(ids.count, 12, "no run_cap: 2 × capacity + 8 pending")
    start(&book, ids[0])
    start(&book, ids[1])
    XCTAssertEqual(epoch(&book, ids[0], 1, 0.5), [], "0.5 does not reach 0.1")
    let actions = epoch(&book, ids[0], 2, 0.08)
    guard actions.count == 2, case .record(let event) = actions[0],
      case .closePending(let sweep, let reason) = actions[1]
    else { return XCTFail("\(actions)") }
    XCTAssertEqual(sweep, "s")
    XCTAssertEqual(event.kind, "target_reached")
    XCTAssertTrue(reason.contains("trial \(ids[0]) reached metric.target (val_loss 0.08 ≤ 0.1)"), reason)
    XCTAssertEqual(book.sweeps["s"]?.targetReachedBy, ids[0])
    XCTAssertEqual(epoch(&book, ids[1], 1, 0.01), [], "reached once: no second closing")
    XCTAssertNil(book.proposal(for: "s", capacity: 8, now: 0), "no new trials after the target")
    // The shell cancels the pending ones (what `.closePending` makes it do).
    for id in ids.dropFirst(2) {
      let change = try XCTUnwrap(book.apply(.cancelled(trial: id, reason: reason)))
      XCTAssertTrue(change.fields.contains(.message(reason)), "\(change)")
    }
    XCTAssertFalse(book.sweeps["s"]!.isComplete, "two trials still running")
    _ = finish(&book, ids[0])
    _ = finish(&book, ids[1])
    XCTAssertTrue(book.sweeps["s"]!.isComplete, "running trials finished: complete, with no run_cap")

    // After a restart, the stored best finds the target again.
    var rows = try plan.trials(limit: 3).enumerated().map { offset, planned -> TrialRecord in
      var row = TrialRecord(
        sweepID: "s", index: planned.index, configuration: planned.configuration, repeatIndex: 0,
        seed: planned.seed,
        params: "{}", point: "[]", spec: "{}", updatedAt: 0)
      row.id = Int64(offset + 1)
      return row
    }
    rows[0].state = .completed
    rows[0].bestValue = 0.09
    let recovered = Recovery.rebuild([
      Recovery.Snapshot(record: record, spec: plan.spec, trials: rows, metrics: [], events: [])
    ])
    XCTAssertEqual(recovered.book.sweeps["s"]?.targetReachedBy, 1)
    XCTAssertNil(recovered.book.proposal(for: "s", capacity: 4, now: 0))
  }

  /// `metric.impute_while_running`: TPE's history includes running trials, with their best
  /// so far; without it, only finished trials.
  func testImputeWhileRunningShowsRunningTrialsToTPE() throws {
    for (setting, expected) in [("", 1), (", impute_while_running: best", 2)] {
      let yaml = """
        method: bayes
        metric: {name: val_loss, goal: minimize\(setting)}
        model: {kind: rosenbrock}
        training: {epochs: 3}
        parameters:
          lr: {min: 0.001, max: 0.01}
        """
      let (record, plan) = try sweep(yaml)
      var book = SweepBook()
      book.add(record, plan: plan)
      let ids = refill(&book, capacity: 2)
      start(&book, ids[0])
      start(&book, ids[1])
      _ = epoch(&book, ids[0], 1, 0.3)
      _ = finish(&book, ids[0])
      _ = epoch(&book, ids[1], 1, 0.2)
      let live = try XCTUnwrap(book.sweeps["s"])
      XCTAssertEqual(live.history(running: book.running(of: "s")).count, expected, setting)
    }
  }

  /// `sweepd extend` of a finished TPE sweep rebuilds it as recovery does: the next trial is
  /// TPE's suggestion given every earlier result (not a start-up draw, not a suggestion
  /// from no history).
  func testAnExtendedTPESweepContinuesWithItsHistory() throws {
    let yaml = """
      method: tpe
      metric: {name: val_loss, goal: minimize}
      run_cap: 12
      model: {kind: rosenbrock}
      training: {epochs: 3}
      parameters:
        lr: {distribution: log_uniform_values, min: 0.0001, max: 0.1}
      """
    let (record, plan) = try sweep(yaml)
    var history: [Observation] = []
    var rows: [TrialRecord] = []
    for index in 0..<12 {
      let point = plan.point(index, history: history)
      let planned = try plan.trial(index, point: point)
      var row = TrialRecord(
        sweepID: "s", index: index, configuration: index, repeatIndex: 0, seed: planned.seed, params: "{}",
        point: String(decoding: try JSONEncoder().encode(point), as: UTF8.self), spec: "{}", updatedAt: 0)
      row.id = Int64(index + 1)
      row.state = .completed
      // Loss: distance of log10(lr) from −2.5.
      let lr = planned.assigned[0].1.number!
      row.bestValue = abs(log10(lr) + 2.5)
      rows.append(row)
      history.append(Observation(point: point, value: row.bestValue))
    }
    var extended = plan.spec
    extended.runCap = 14
    var live = record
    live.runCap = 14
    let recovered = Recovery.rebuild([
      Recovery.Snapshot(record: live, spec: extended, trials: rows, metrics: [], events: [])
    ])
    let proposal = try XCTUnwrap(recovered.book.proposal(for: "s", capacity: 1, now: 0))
    XCTAssertEqual(proposal.records.first?.index, 12)
    let point = try JSONDecoder().decode([Double].self, from: Data(proposal.records[0].point.utf8))
    XCTAssertEqual(point, SweepPlan(spec: extended).point(12, history: history))
    XCTAssertNotEqual(point, SweepPlan(spec: extended).point(12, history: []), "the history matters")
  }

  /// `sweepd enqueue` in a TPE sweep: the given value exactly, its quantile in the point (so
  /// TPE models the trial where it is), the other coordinates TPE's own suggestion.
  func testAnEnqueuedTrialTakesItsValuesAndTheirPlaceInTPE() throws {
    let yaml = """
      method: tpe
      metric: {name: val_loss, goal: minimize}
      run_cap: 20
      model: {kind: rosenbrock}
      training: {epochs: 3}
      parameters:
        lr: {distribution: log_uniform_values, min: 0.0001, max: 0.1}
        momentum: {min: 0.5, max: 0.99}
        optimizer: {value: momentum}
      """
    let (record, plan) = try sweep(yaml)
    var book = SweepBook()
    book.add(record, plan: plan)
    let ids = refill(&book, capacity: 2)
    XCTAssertEqual(ids.count, 10, "TPE's start-up trials")
    let proposal = try XCTUnwrap(try book.enqueueProposal(for: "s", values: ["lr": .double(0.003)], now: 0))
    XCTAssertEqual(proposal.records.count, 1)
    let row = proposal.records[0]
    XCTAssertEqual(row.index, 10)
    XCTAssertTrue(row.params.contains(#""lr":0.003"#), row.params)
    let point = try JSONDecoder().decode([Double].self, from: Data(row.point.utf8))
    let lr = plan.spec.parameters[0].distribution
    XCTAssertEqual(point[0], lr.quantile(of: .double(0.003))!, accuracy: 1e-12)
    XCTAssertEqual(point[1], plan.point(10, history: [])[1], "momentum: the sampler's own")
  }
}

/// A sweep with held-out test rows ends with one final run of its selected trial.
extension SweepBookTests {
  var finalRunYAML: String {
    """
    method: grid
    metric: {name: val_error, goal: minimize}
    data: {dataset: blobs, samples: 200, test: 0.2}
    training: {epochs: 5}
    parameters:
      lr: {values: [0.001, 0.002, 0.003]}
    """
  }

  /// The search's trials end; the best one (the earliest of a tie) is selected; the final
  /// run is proposed once, with its refit stage and the selected trial's result epoch; it is
  /// outside the search's counts and decisions; the sweep is complete only when it ends.
  func testFinalRunRefitsTheSelectedTrialOnceTheSearchEnds() throws {
    var book = SweepBook()
    let (record, plan) = try sweep(finalRunYAML)
    XCTAssertTrue(plan.spec.testsSelection)
    book.add(record, plan: plan)
    let ids = refill(&book, capacity: 4)
    XCTAssertEqual(ids.count, 3)
    for (id, values) in zip(ids, [[0.3, 0.2, 0.25], [0.4, 0.1, 0.1], [0.1, 0.1, 0.3]]) {
      start(&book, id)
      for (epoch, value) in values.enumerated() {
        _ = book.record(
          MetricReport(
            attempt: AttemptID(trial: id, attempt: 1), epoch: epoch + 1, values: ["val_error": value]),
          time: 0)
      }
      XCTAssertNil(book.proposal(for: "s", capacity: 4, now: 0).flatMap { $0.records.first?.role })
      _ = finish(&book, id, epochs: 3)
    }
    // Trials 2 and 3 tie at 0.1; trial 2 (index 1) comes first.
    XCTAssertEqual(book.sweeps["s"]?.selection?.trial, ids[1])
    XCTAssertTrue(book.sweeps["s"]!.searchIsComplete)
    XCTAssertFalse(book.sweeps["s"]!.isComplete)
    let proposal = try XCTUnwrap(book.proposal(for: "s", capacity: 4, now: 0))
    XCTAssertEqual(proposal.records.count, 1)
    let final = proposal.records[0]
    XCTAssertEqual(final.role, .refit)
    XCTAssertEqual(final.index, -2)
    XCTAssertEqual(final.selectedIndex, 1)
    let spec = try JSONDecoder().decode(TrialSpecProbe.self, from: Data(final.spec.utf8))
    XCTAssertEqual(spec.data.stage, "refit")
    XCTAssertEqual(
      spec.data.stage_epochs, 2, "the selected trial's best epoch (the earliest of its two 0.1s)")
    let finalID = refill(&book, capacity: 4)
    XCTAssertEqual(finalID.count, 1)
    XCTAssertNil(book.proposal(for: "s", capacity: 4, now: 0), "one final run only")
    let counts = book.sweeps["s"]!.counts
    start(&book, finalID[0])
    XCTAssertEqual(book.sweeps["s"]!.counts, counts, "the final run is not one of the search's trials")
    XCTAssertEqual(
      book.record(
        MetricReport(
          attempt: AttemptID(trial: finalID[0], attempt: 1), epoch: 1, values: ["train_loss": 0.5]), time: 0),
      [])
    XCTAssertFalse(book.sweeps["s"]!.isComplete)
    _ = finish(&book, finalID[0], epochs: 3)
    XCTAssertTrue(book.sweeps["s"]!.isComplete)
    XCTAssertEqual(book.sweeps["s"]!.counts, counts)
  }

  /// Recovery finds the final run again: pending → leased again; ended → complete; older
  /// than the newest search trial (an extended sweep) → superseded, a new one is made.
  func testFinalRunIsRecovered() throws {
    let (record, plan) = try sweep(finalRunYAML)
    var rows: [TrialRecord] = []
    for index in 0..<3 {
      var row = TrialRecord(
        sweepID: "s", index: index, configuration: index, repeatIndex: 0, seed: 1, params: "{}", point: "[]",
        spec: try XCTUnwrap(plan.trial(index).work.json(JSONEncoder())).string, updatedAt: 0)
      row.id = Int64(index + 1)
      row.state = .completed
      row.bestValue = [0.3, 0.1, 0.2][index]
      row.bestEpoch = 2
      row.resultValue = 0.2
      row.resultEpoch = 4
      row.epochs = 4
      rows.append(row)
    }
    var final = rows[1]
    final.id = 4
    final.index = -2
    final.role = .refit
    final.state = .pending
    let pending = Recovery.rebuild([
      Recovery.Snapshot(
        record: record, spec: plan.spec, trials: rows, metrics: [], events: [], finalRun: final)
    ])
    XCTAssertEqual(pending.pending.map(\.trial), [4])
    XCTAssertEqual(pending.book.sweeps["s"]?.finalRun, .created(4))
    XCTAssertNil(pending.book.proposal(for: "s", capacity: 2, now: 0))
    final.state = .completed
    let ended = Recovery.rebuild([
      Recovery.Snapshot(
        record: record, spec: plan.spec, trials: rows, metrics: [], events: [], finalRun: final)
    ])
    XCTAssertTrue(ended.book.sweeps["s"]!.isComplete)
    let none = Recovery.rebuild([
      Recovery.Snapshot(record: record, spec: plan.spec, trials: rows, metrics: [], events: [])
    ])
    let made = try XCTUnwrap(none.book.proposal(for: "s", capacity: 2, now: 0)?.records.first)
    XCTAssertEqual(made.role, .refit)
    XCTAssertEqual(made.selectedIndex, 1)
    XCTAssertTrue(made.spec.contains("\"stage_epochs\":2"), made.spec)
    final.id = 2  // older than trial 3: superseded
    let superseded = Recovery.rebuild([
      Recovery.Snapshot(
        record: record, spec: plan.spec, trials: rows, metrics: [], events: [], finalRun: final)
    ])
    XCTAssertEqual(superseded.book.sweeps["s"]?.finalRun, .notCreated)
    // Extended after its final run ended: trials are due again, so the old one is superseded.
    final.id = 4
    let (randomRecord, randomPlan) = try sweep(
      finalRunYAML.replacingOccurrences(of: "method: grid", with: "method: random\nrun_cap: 3"))
    var extended = randomRecord
    extended.runCap = 5
    var spec = randomPlan.spec
    spec.runCap = 5
    let revived = Recovery.rebuild([
      Recovery.Snapshot(record: extended, spec: spec, trials: rows, metrics: [], events: [], finalRun: final)
    ])
    XCTAssertEqual(revived.book.sweeps["s"]?.finalRun, .notCreated)
    XCTAssertFalse(revived.book.sweeps["s"]!.isComplete)
  }

  struct TrialSpecProbe: Decodable {
    struct DataPart: Decodable {
      var stage: String?
      var stage_epochs: Int?
    }
    var data: DataPart
  }
  /// Values the trainer refuses together (eve's k_lower above its k_upper) become trials
  /// recorded failed with the trainer's reason, and the sweep goes on to its run_cap and
  /// completes (the defect: the proposal stopped at the first refused trial, for good).
  func testARefusedCombinationIsRecordedFailedAndTheSweepGoesOn() throws {
    var book = SweepBook()
    let (record, plan) = try sweep(
      """
      method: random
      run_cap: 12
      metric: {name: val_loss, goal: minimize}
      model: {kind: rosenbrock}
      optimizer: {name: eve}
      training: {epochs: 3}
      parameters:
        k_lower: {values: [0.1, 5.0]}
        k_upper: {values: [2.0, 10.0]}
      """)
    XCTAssertTrue(plan.spec.warnings.contains { $0.message.contains("refused by the trainer") })
    book.add(record, plan: plan)
    var refused = 0
    var runnable: [Int64] = []
    while let proposal = book.proposal(for: "s", capacity: 1, now: 0) {
      let stored = proposal.records.map { record -> TrialRecord in
        var record = record
        record.id = nextID
        nextID += 1
        return record
      }
      for record in stored where record.state == .failed {
        refused += 1
        XCTAssertTrue(record.message?.contains("k_lower must be smaller than k_upper") ?? false)
        XCTAssertTrue(record.params.contains("\"k_lower\":5"), record.params)
      }
      book.commit(proposal, stored: stored)
      for record in stored where record.state == .pending {
        runnable.append(record.id!)
        start(&book, record.id!)
        XCTAssertNotNil(finish(&book, record.id!))
      }
    }
    XCTAssertEqual(refused + runnable.count, 12)
    XCTAssertGreaterThan(refused, 0)
    XCTAssertEqual(book.sweeps["s"]?.counts[.failed], refused)
    XCTAssertEqual(book.sweeps["s"]?.counts[.pending] ?? 0, 0)
    XCTAssertEqual(book.sweeps["s"]?.isComplete, true)
  }
}

extension Data {
  fileprivate var string: String { String(decoding: self, as: UTF8.self) }

}
