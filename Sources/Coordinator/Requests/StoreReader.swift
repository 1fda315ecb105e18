import Client
import Foundation
import Logging
import Store
import Wire

/// The read-only requests — STATUS, LEADERBOARD, HISTORY, LOGS — answered from a store file
/// with no coordinator running (`--db FILE`), by the same code a coordinator answers them
/// with, so the output is the same. Running sweeps are read as a restarted coordinator would
/// read them (`Recovery`): their trials' progress comes from the stored epochs. The file is
/// opened read-only, so this is safe while a coordinator writes it (SQLite WAL readers) and
/// on a copy taken elsewhere. Anything that would change a sweep is refused: it needs the
/// coordinator that owns the store.
public final class StoreReader: RequestChannel {
  let requests: Requests
  var book: SweepBook
  let leases = CoordinatorState()
  var replies: [ClientReply] = []

  public init(path: String) throws {
    let store = try Store(readingOnly: path)
    let logger = Logger(label: "sweepd.store-reader")
    requests = Requests(store: store, dataStore: nil, logger: logger)
    book = Recovery.rebuild(try Recovery.Snapshot.running(in: store, logger: logger)).book
  }

  public func send(_ request: ClientRequest) throws {
    switch request {
    case .status, .leaderboard, .history, .logs:
      var submitted = 0
      replies.append(requests.answer(request, book: &book, leases: leases, submitted: &submitted).reply)
    default:
      throw ClientError(
        "\(WireCodec.command(of: request)) changes a sweep, so it goes through the coordinator that owns the store (--coordinator ADDR), not --db"
      )
    }
  }

  public func receive() throws -> [UInt8] {
    guard !replies.isEmpty else { throw ClientError("no request is waiting for a reply") }
    switch replies.removeFirst() {
    case .ok(let json): return json
    case .data(let bytes): return bytes
    case .error(let message): throw ClientError(message)
    }
  }
}
