import ArgumentParser
import Client
import Coordinator
import Store

/// Where a reading command (`status`, `leaderboard`, `report`, `logs`, `export`) gets its
/// answers: the coordinator at `--coordinator` (the default, at tcp://127.0.0.1:5555), or
/// with `--db FILE` a store file read directly — the same answers, with no coordinator.
struct ReadSource: ParsableArguments {
  @Option(help: "The coordinator's address (default: tcp://127.0.0.1:5555).") var coordinator: String?
  @Option(
    help: ArgumentHelp(
      "Read this store file (a coordinator's or `sweepd run`'s --db) directly, read-only, with no coordinator.",
      discussion: "Safe while a coordinator writes it, and on a copy taken elsewhere."))
  var db: String?
  @OptionGroup var keys: ClientKeyOptions

  func validate() throws {
    if coordinator != nil && db != nil {
      throw ValidationError(
        "give --coordinator or --db, not both: --db reads a store file with no coordinator")
    }
  }

  /// The channel the command asks: a coordinator connection, or a reader of the store file.
  func channel() throws -> RequestChannel {
    if let db {
      do {
        return try StoreReader(path: db)
      } catch let error as StoreError {
        throw CommandFailure(error.description)
      }
    }
    return try CoordinatorClient(coordinator ?? "tcp://127.0.0.1:5555", curve: try keys.load())
  }
}
