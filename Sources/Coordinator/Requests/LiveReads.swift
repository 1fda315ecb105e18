import Foundation
import Logging
import Search
import Store
import Vocabulary
import Wire

/// The dashboard's reads of a running coordinator, on the dashboard's own threads: the
/// store (SQLite WAL readers never block the coordinator's writes) and the latest published
/// copies of the book and lease machine (`CoordinatorServer.LiveView`). The answers are the
/// ones the ZeroMQ requests give, built by the same code.
public struct LiveReads: Sendable {
  let requests: Requests

  public init(store: Store, logger: Logger = Logger(label: "sweepd.dashboard")) {
    requests = Requests(store: store, dataStore: nil, logger: logger)
  }

  /// A read-only request's reply (STATUS, LEADERBOARD, HISTORY, LOGS); anything else is an
  /// error reply (changes go through the coordinator's loop).
  public func answer(_ request: ClientRequest, view: CoordinatorServer.LiveView) -> ClientReply {
    switch request {
    case .status, .leaderboard, .history, .logs:
      var book = view.book
      var submitted = 0
      return requests.answer(request, book: &book, leases: view.leases, submitted: &submitted).reply
    default:
      return .error("\(WireCodec.command(of: request)) is not a read")
    }
  }

  /// A sweep's history for drawing, with the curves of `curvesOf` only (nil: every trial),
  /// so a page of a 5,000-trial sweep reads the epochs it draws, not all of them.
  public func history(sweep: String, view: CoordinatorServer.LiveView, curvesOf: ((Leaderboard) -> [Int64])?)
    -> SweepHistory?
  {
    guard let record = try? requests.store.sweep(sweep),
      let board = requests.leaderboard(record, book: view.book)
    else { return nil }
    let rows: [MetricRecord]?
    if let curvesOf {
      rows = try? requests.store.currentMetrics(trials: curvesOf(board))
    } else {
      rows = try? requests.store.currentMetrics(sweep: sweep)
    }
    var curves: [Int64: [SweepHistory.Epoch]] = [:]
    for row in rows ?? [] {
      let values = MetricJSON.decodeValues(row.values) ?? [:]
      curves[row.trialID, default: []].append(SweepHistory.Epoch(epoch: row.epoch, values: values))
    }
    return SweepHistory(
      file: record.file, config: record.configText, dataDigests: record.digests, leaderboard: board,
      curves: curves)
  }

  /// The sweep a trial belongs to.
  public func sweep(ofTrial id: Int64) -> String? { (try? requests.store.trial(id))?.sweepID }
}

extension CoordinatorState {
  /// A connected worker as the dashboard shows it.
  public struct WorkerSummary: Sendable, Codable, Hashable {
    public var name: String
    /// The host and sweepd version it said in READY.
    public var host: String
    public var version: String
    public var slots: Int
    public var programs: Bool
    public var gpus: Int
    /// The trials it runs (ids).
    public var running: [Int64]
    /// Seconds since it was last heard from, when the view was published.
    public var heardSecondsAgo: Double
    /// Draining (SIGTERM): it finishes its running trials and takes no new one.
    public var draining: Bool
  }

  /// The connected workers by name, as of `now` (the lease machine's clock).
  public func workerSummaries(now: Double) -> [WorkerSummary] {
    workers.values.map {
      WorkerSummary(
        name: $0.name, host: $0.host, version: $0.version, slots: $0.slots, programs: $0.programs,
        gpus: $0.gpus, running: $0.running.map(\.trial).sorted(), heardSecondsAgo: max(0, now - $0.lastHeard),
        draining: $0.draining)
    }.sorted { $0.name < $1.name }
  }
}
