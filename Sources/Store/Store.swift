import Foundation
import GRDB

/// A store that cannot be opened as asked, in one sentence.
public struct StoreError: Error, CustomStringConvertible, Sendable {
  public var description: String
  public init(_ description: String) { self.description = description }
}

/// The coordinator's durable state in SQLite (WAL mode, through GRDB): sweeps, trials,
/// per-epoch metrics and events. Every change is a transaction, so a crash leaves either the
/// old or the new state, never half of one; the coordinator writes a transition here before
/// acting on it.
public final class Store: Sendable {
  let pool: DatabasePool

  /// Opens (creating if needed) the database at `path` and brings its schema up to date.
  /// The database file (nil for one in memory).
  public let path: String?

  /// The writer's lock, when this store was opened with `lockedBy` (see `StoreLock`).
  public let lock: StoreLock?

  /// `lockedBy`: the writer this process is (`sweepd coordinator`): its `StoreLock` is taken
  /// before anything touches the file, migrations included, so a second coordinator on the
  /// same file is refused before it changes a byte.
  public init(path: String, lockedBy role: String? = nil) throws {
    let file = path == ":memory:" || path.isEmpty ? nil : path
    self.path = file
    if let role, let file { lock = try StoreLock(store: file, role: role) } else { lock = nil }
    var configuration = Configuration()
    configuration.busyMode = .timeout(5)
    // WAL with synchronous=NORMAL: a killed process loses nothing committed; only an OS
    // crash or power loss can roll back the last transactions (never corrupt the file).
    configuration.prepareDatabase { db in try db.execute(sql: "PRAGMA synchronous = NORMAL") }
    pool = try DatabasePool(path: path, configuration: configuration)
    try Self.migrator.migrate(pool)
  }

  /// Moves every committed transaction from the write-ahead log into the database file and
  /// empties the log (SQLite's TRUNCATE checkpoint), so the file alone holds everything — a
  /// copy of it, without its `-wal`, is complete. Done when a coordinator stops; a reader
  /// still open only delays it (then the log stays, and is still read with the file).
  public func checkpoint() {
    try? pool.writeWithoutTransaction { try $0.checkpoint(.truncate) }
  }

  /// Writes a consistent copy of the store to `path` (SQLite's `VACUUM INTO`): one
  /// transaction's snapshot, the write-ahead log's committed changes included, in a single
  /// file (rollback journal mode, so reading the copy creates no `-wal` or `-shm` beside
  /// it). Safe while a coordinator writes the store; `path` must not exist.
  public func backup(to path: String) throws {
    guard !FileManager.default.fileExists(atPath: path) else {
      throw StoreError("\(path) exists already; a backup is written to a new file")
    }
    try pool.unsafeRead { db in try db.execute(sql: "VACUUM INTO ?", arguments: [path]) }
    // The copy is a plain file: no write-ahead log to carry along with it.
    let copy = try DatabaseQueue(path: path)
    try copy.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA journal_mode = DELETE") }
    try copy.close()
  }

  /// Opens an existing database only to read it: while a coordinator writes it (SQLite's WAL
  /// readers see each committed transaction, and never block the writer), or a copy taken
  /// elsewhere. Nothing is created or migrated; a file that is not a sweepd store, or one
  /// written by a newer sweepd, is refused with a sentence saying which.
  public init(readingOnly path: String) throws {
    guard FileManager.default.fileExists(atPath: path) else {
      throw StoreError("\(path): no such file (a store is the --db file a coordinator or `sweepd run` wrote)")
    }
    self.path = path
    lock = nil
    var configuration = Configuration()
    configuration.readonly = true
    configuration.busyMode = .timeout(5)
    do {
      pool = try DatabasePool(path: path, configuration: configuration)
      let applied = try pool.read { try Self.migrator.appliedIdentifiers($0) }
      let known = Set(Self.migrator.migrations)
      if applied.isEmpty {
        throw StoreError("\(path) is not a sweepd store (no sweepd tables in it)")
      }
      if !applied.isSubset(of: known) {
        throw StoreError(
          "\(path) was written by a newer sweepd (schema \(applied.sorted().last ?? "?")); read it with that version"
        )
      }
      // An older schema is read as it is: each later migration only added columns and
      // tables, which read as absent.
    } catch let error as StoreError {
      throw error
    } catch let error as DatabaseError {
      throw StoreError("\(path) cannot be read as a store: \(error.message ?? "\(error)")")
    }
  }

  static var migrator: DatabaseMigrator {
    var migrator = DatabaseMigrator()
    migrator.registerMigration("v1") { db in
      try db.create(table: "sweep") { t in
        t.primaryKey("id", .text)
        t.column("name", .text)
        t.column("file", .text).notNull()
        t.column("configText", .text).notNull()
        t.column("method", .text).notNull()
        t.column("metricName", .text).notNull()
        t.column("metricGoal", .text).notNull()
        t.column("seedBits", .integer).notNull()
        t.column("state", .text).notNull()
        t.column("createdAt", .double).notNull()
      }
      try db.create(table: "trial") { t in
        t.autoIncrementedPrimaryKey("id")
        t.column("sweepID", .text).notNull().references("sweep", onDelete: .cascade)
        t.column("index", .integer).notNull()
        t.column("configuration", .integer).notNull()
        t.column("repeatIndex", .integer).notNull()
        t.column("seedBits", .integer).notNull()
        t.column("params", .text).notNull()
        t.column("point", .text).notNull()
        t.column("spec", .text).notNull()
        t.column("state", .text).notNull().indexed()
        t.column("attempt", .integer).notNull()
        t.column("worker", .text)
        t.column("bestValue", .double)
        t.column("bestEpoch", .integer)
        t.column("epochs", .integer).notNull()
        t.column("seconds", .double).notNull()
        t.column("message", .text)
        t.column("updatedAt", .double).notNull()
        t.uniqueKey(["sweepID", "index"])
      }
      try db.create(table: "metric") { t in
        t.column("trialID", .integer).notNull().references("trial", onDelete: .cascade)
        t.column("attempt", .integer).notNull()
        t.column("epoch", .integer).notNull()
        t.column("values", .text).notNull()
        t.primaryKey(["trialID", "attempt", "epoch"])
      }
      try db.create(table: "event") { t in
        t.autoIncrementedPrimaryKey("id")
        t.column("time", .double).notNull()
        t.column("sweepID", .text)
        t.column("trialID", .integer)
        t.column("kind", .text).notNull()
        t.column("detail", .text).notNull()
      }
    }
    // v2: the value a trial reports as its result (last or best epoch).
    migrator.registerMigration("v2") { db in
      try db.alter(table: "trial") { t in
        t.add(column: "resultValue", .double)
        t.add(column: "resultEpoch", .integer)
      }
    }
    // v3: the data files a sweep's trials fetch by digest (JSON object path → SHA-256).
    migrator.registerMigration("v3") { db in
      try db.alter(table: "sweep") { t in t.add(column: "dataDigests", .text) }
    }
    // v4: program trials' output (the last `logBytesKept` of each attempt's stream).
    migrator.registerMigration("v4") { db in
      try db.create(table: "log") { t in
        t.autoIncrementedPrimaryKey("id")
        t.column("trialID", .integer).notNull().references("trial", onDelete: .cascade)
        t.column("attempt", .integer).notNull()
        t.column("stream", .text).notNull()
        t.column("text", .text).notNull()
        t.column("bytes", .integer).notNull()
      }
      try db.create(index: "log_by_attempt", on: "log", columns: ["trialID", "attempt", "stream", "id"])
    }
    // v5: a run_cap given after submission (`sweepd extend`), over the config's own.
    migrator.registerMigration("v5") { db in
      try db.alter(table: "sweep") { t in t.add(column: "runCap", .integer) }
    }
    // v6: a trial's role: NULL for the search's trials, `refit` for the run that refits
    // and tests the selected configuration once the search has ended.
    migrator.registerMigration("v6") { db in
      try db.alter(table: "trial") { t in t.add(column: "role", .text) }
    }
    return migrator
  }

  /// The journal mode in force ("wal").
  /// Caps the database at `pages` pages (SQLite's `max_page_count`; nil: SQLite's maximum)
  /// on the connection that writes. A write past the cap fails with SQLITE_FULL, as on a full
  /// disk, and its transaction leaves nothing behind — how the tests fill the disk.
  public func capSize(pages: Int?) throws {
    try pool.writeWithoutTransaction { db in
      try db.execute(sql: "PRAGMA max_page_count = \(pages ?? 1_073_741_823)")
    }
  }

  /// The database's size in pages.
  public func pageCount() throws -> Int {
    try pool.read { db in try Int.fetchOne(db, sql: "PRAGMA page_count") ?? 0 }
  }

  public func journalMode() throws -> String {
    try pool.read { db in try String.fetchOne(db, sql: "PRAGMA journal_mode") ?? "" }
  }

  // MARK: Sweeps and trials

  /// Stores a new sweep and its first trials in one transaction; returns the trials with
  /// their ids.
  public func createSweep(_ sweep: SweepRecord, trials: [TrialRecord]) throws -> [TrialRecord] {
    try pool.write { db in
      try sweep.insert(db)
      var stored: [TrialRecord] = []
      for var trial in trials {
        try trial.insert(db)
        stored.append(trial)
      }
      return stored
    }
  }

  /// Adds trials to an existing sweep (adaptive samplers add them as results arrive).
  public func appendTrials(_ trials: [TrialRecord]) throws -> [TrialRecord] {
    try pool.write { db in
      var stored: [TrialRecord] = []
      for var trial in trials {
        try trial.insert(db)
        stored.append(trial)
      }
      return stored
    }
  }

  public func sweeps() throws -> [SweepRecord] {
    try pool.read { db in try SweepRecord.order(Column("createdAt")).fetchAll(db) }
  }

  public func sweep(_ id: String) throws -> SweepRecord? {
    try pool.read { db in try SweepRecord.fetchOne(db, key: id) }
  }

  /// Adds hand-given trials (`sweepd enqueue`) with the sweep's new run_cap (nil: none)
  /// and state, in one transaction.
  public func enqueueTrials(_ trials: [TrialRecord], sweep id: String, runCap: Int?, state: SweepRecord.State)
    throws -> [TrialRecord]
  {
    try pool.write { db in
      try db.execute(
        sql: "UPDATE sweep SET runCap = ?, state = ? WHERE id = ?", arguments: [runCap, state.rawValue, id])
      var stored: [TrialRecord] = []
      for var trial in trials {
        try trial.insert(db)
        stored.append(trial)
      }
      return stored
    }
  }

  /// Sets a sweep's run_cap (`sweepd extend`) and state in one transaction.
  public func extendSweep(_ id: String, runCap: Int, state: SweepRecord.State) throws {
    try pool.write { db in
      try db.execute(
        sql: "UPDATE sweep SET runCap = ?, state = ? WHERE id = ?", arguments: [runCap, state.rawValue, id])
    }
  }

  public func setSweepState(_ id: String, _ state: SweepRecord.State) throws {
    try pool.write { db in
      try db.execute(sql: "UPDATE sweep SET state = ? WHERE id = ?", arguments: [state.rawValue, id])
    }
  }

  /// Removes a sweep with its trials, their metrics and its events, in one transaction.
  /// Returns how many trials it had (nil: no such sweep).
  @discardableResult
  public func deleteSweep(_ id: String) throws -> Int? {
    try pool.write { db in
      guard try SweepRecord.fetchOne(db, key: id) != nil else { return nil }
      let trials =
        try Int.fetchOne(db, sql: "SELECT count(*) FROM trial WHERE sweepID = ?", arguments: [id]) ?? 0
      try db.execute(
        sql: "DELETE FROM metric WHERE trialID IN (SELECT id FROM trial WHERE sweepID = ?)", arguments: [id])
      try db.execute(
        sql: "DELETE FROM log WHERE trialID IN (SELECT id FROM trial WHERE sweepID = ?)", arguments: [id])
      try db.execute(sql: "DELETE FROM event WHERE sweepID = ?", arguments: [id])
      try db.execute(sql: "DELETE FROM trial WHERE sweepID = ?", arguments: [id])
      try db.execute(sql: "DELETE FROM sweep WHERE id = ?", arguments: [id])
      return trials
    }
  }

  /// The search's trials of a sweep, by index (its refit is `refit(sweep:)`).
  public func trials(sweep: String) throws -> [TrialRecord] {
    try pool.read { db in
      try TrialRecord.filter(Column("sweepID") == sweep && searchOnly(db)).order(Column("index")).fetchAll(db)
    }
  }

  /// The run that refits and tests a sweep's selected configuration, if it has one.
  public func refit(sweep: String) throws -> TrialRecord? {
    try pool.read { db in
      guard try hasRoles(db) else { return nil }
      return try TrialRecord.filter(
        Column("sweepID") == sweep && Column("role") == TrialRecord.Role.refit.rawValue
      )
      .order(Column("id").desc).fetchOne(db)
    }
  }

  /// Whether the store's trials have roles (schema v6; an older file read as it is has
  /// none, and every trial is the search's).
  func hasRoles(_ db: Database) throws -> Bool {
    try db.columns(in: "trial").contains { $0.name == "role" }
  }

  /// The SQL condition "a search trial", for a store with or without roles.
  func searchOnly(_ db: Database) throws -> SQLExpression {
    try hasRoles(db) ? Column("role") == nil : true.sqlExpression
  }

  /// `AND t.role IS NULL` where trials have roles.
  func searchOnlySQL(_ db: Database, alias: String = "") throws -> String {
    try hasRoles(db) ? " AND \(alias)role IS NULL" : ""
  }

  /// Trials of a sweep by state, and the best stored value (lowest, or highest when
  /// `maximize`) — what a status line needs, without reading every trial.
  public func progress(sweep: String, maximize: Bool) throws -> (counts: [String: Int], best: Double?) {
    try pool.read { db in
      var counts: [String: Int] = [:]
      for row in try Row.fetchAll(
        db, sql: "SELECT state, COUNT(*) FROM trial WHERE sweepID = ?\(searchOnlySQL(db)) GROUP BY state",
        arguments: [sweep])
      {
        counts[row[0]] = row[1]
      }
      let best = try Double.fetchOne(
        db,
        sql: "SELECT \(maximize ? "MAX" : "MIN")(bestValue) FROM trial WHERE sweepID = ?\(searchOnlySQL(db))",
        arguments: [sweep])
      return (counts, best)
    }
  }

  public func trial(_ id: Int64) throws -> TrialRecord? {
    try pool.read { db in try TrialRecord.fetchOne(db, key: id) }
  }

  /// Trials that were pending or running: what a restarted coordinator must recover.
  public func unfinishedTrials() throws -> [TrialRecord] {
    try pool.read { db in
      try TrialRecord.filter(
        [TrialRecord.State.pending.rawValue, TrialRecord.State.running.rawValue].contains(Column("state"))
      )
      .order(Column("id")).fetchAll(db)
    }
  }

  /// One guarded trial change: the columns to set, applied only if the trial's attempt is
  /// `ifAttempt` (nil: whatever it is). A value type, so a batch can be built, logged and
  /// tested before it is written.
  public struct TrialChange: Hashable, Sendable {
    public enum Field: Hashable, Sendable {
      case state(TrialRecord.State)
      case attempt(Int)
      case worker(String?)
      case epochs(Int)
      case seconds(Double)
      case message(String?)
      case best(value: Double?, epoch: Int?)
      case result(value: Double?, epoch: Int?)
    }

    public var id: Int64
    public var ifAttempt: Int?
    public var fields: [Field]

    public init(id: Int64, ifAttempt: Int?, _ fields: [Field]) {
      self.id = id
      self.ifAttempt = ifAttempt
      self.fields = fields
    }

    /// `UPDATE trial SET … WHERE id = ? [AND attempt = ?]` and its arguments.
    func statement(now: Double) -> (sql: String, arguments: StatementArguments) {
      var columns: [String] = []
      var values: [DatabaseValueConvertible?] = []
      for field in fields {
        switch field {
        case .state(let state): columns.append("state"); values.append(state.rawValue)
        case .attempt(let attempt): columns.append("attempt"); values.append(attempt)
        case .worker(let worker): columns.append("worker"); values.append(worker)
        case .epochs(let epochs): columns.append("epochs"); values.append(epochs)
        case .seconds(let seconds): columns.append("seconds"); values.append(seconds)
        case .message(let message): columns.append("message"); values.append(message)
        case .best(let value, let epoch):
          columns += ["bestValue", "bestEpoch"]
          values += [value, epoch]
        case .result(let value, let epoch):
          columns += ["resultValue", "resultEpoch"]
          values += [value, epoch]
        }
      }
      columns.append("updatedAt")
      values.append(now)
      values.append(id)
      var sql =
        "UPDATE trial SET " + columns.map { "\"\($0)\" = ?" }.joined(separator: ", ") + " WHERE id = ?"
      if let ifAttempt {
        sql += " AND attempt = ?"
        values.append(ifAttempt)
      }
      return (sql, StatementArguments(values))
    }
  }

  /// Applies several guarded changes in one transaction (one commit for a batch of
  /// transitions), each a single cached `UPDATE`, after writing `metrics` (as
  /// `recordMetrics`) and `events` (stopping decisions) in the same transaction. Returns, per change, whether it applied
  /// (false: stale attempt or unknown trial).
  @discardableResult
  public func updateTrials(
    _ changes: [TrialChange], metrics: [MetricRecord] = [], events: [EventRecord] = [],
    logs: [LogRecord] = [], now: Double
  ) throws -> [Bool] {
    guard !changes.isEmpty || !metrics.isEmpty || !events.isEmpty || !logs.isEmpty else { return [] }
    return try pool.write { db in
      try Self.insert(metrics, db)
      try Self.append(logs, db)
      for var event in events { try event.insert(db) }
      return try changes.map { change -> Bool in
        let (sql, arguments) = change.statement(now: now)
        try db.cachedStatement(sql: sql).execute(arguments: arguments)
        return db.changesCount > 0
      }
    }
  }

  /// Whether a write failed because the store refuses the rows themselves — a constraint
  /// (a row about a trial or sweep that no longer exists: `FOREIGN KEY constraint failed`),
  /// a type mismatch, a value too big — so that writing them again can never succeed.
  /// Everything else (a full disk, an I/O error, a read-only or busy file) passes, and the
  /// same write may succeed later.
  public static func refusesRows(_ error: Error) -> Bool {
    guard let error = error as? DatabaseError else { return false }
    return [.SQLITE_CONSTRAINT, .SQLITE_MISMATCH, .SQLITE_TOOBIG, .SQLITE_RANGE].contains(error.resultCode)
  }

  // MARK: Metrics and events

  /// Writes a batch of metric rows in one transaction. A row already stored for the same
  /// (trial, attempt, epoch) is kept (a resent message changes nothing).
  public func recordMetrics(_ rows: [MetricRecord]) throws {
    guard !rows.isEmpty else { return }
    try pool.write { db in try Self.insert(rows, db) }
  }

  static func insert(_ rows: [MetricRecord], _ db: Database) throws {
    guard !rows.isEmpty else { return }
    let statement = try db.cachedStatement(
      sql: "INSERT OR IGNORE INTO metric (trialID, attempt, epoch, \"values\") VALUES (?, ?, ?, ?)")
    for row in rows {
      try statement.execute(arguments: [row.trialID, row.attempt, row.epoch, row.values])
    }
  }

  public func metrics(trial: Int64, attempt: Int) throws -> [MetricRecord] {
    try pool.read { db in
      try MetricRecord.filter(Column("trialID") == trial && Column("attempt") == attempt).order(
        Column("epoch")
      ).fetchAll(db)
    }
  }

  /// Every stored metric row of a sweep's trials from their current attempt, by trial then
  /// epoch: the learning curves a stopping policy judges (rebuilt after a restart).
  public func currentMetrics(sweep: String) throws -> [MetricRecord] {
    try pool.read { db in
      try MetricRecord.fetchAll(
        db,
        sql: """
          SELECT m.* FROM metric m JOIN trial t ON t.id = m.trialID AND t.attempt = m.attempt
          WHERE t.sweepID = ?\(searchOnlySQL(db, alias: "t.")) ORDER BY m.trialID, m.epoch
          """, arguments: [sweep])
    }
  }

  /// The stored epochs of the current attempts of `trials`, by trial then epoch.
  public func currentMetrics(trials: [Int64]) throws -> [MetricRecord] {
    guard !trials.isEmpty else { return [] }
    return try pool.read { db in
      try MetricRecord.fetchAll(
        db,
        sql: """
          SELECT m.* FROM metric m JOIN trial t ON t.id = m.trialID AND t.attempt = m.attempt
          WHERE t.id IN (\(trials.map { _ in "?" }.joined(separator: ","))) ORDER BY m.trialID, m.epoch
          """, arguments: StatementArguments(trials))
    }
  }

  /// Bytes of output kept per attempt and stream (the last ones): 4 MiB.
  public static let logBytesKept = 4 << 20

  /// Appends output rows, then trims each stream they touched to its last `logBytesKept`.
  static func append(_ rows: [LogRecord], _ db: Database) throws {
    guard !rows.isEmpty else { return }
    var touched = Set<[String]>()
    for var row in rows {
      try row.insert(db)
      touched.insert([String(row.trialID), String(row.attempt), row.stream])
    }
    for key in touched {
      let arguments: StatementArguments = [Int64(key[0])!, Int(key[1])!, key[2]]
      let total =
        try Int.fetchOne(
          db, sql: "SELECT sum(bytes) FROM log WHERE trialID = ? AND attempt = ? AND stream = ?",
          arguments: arguments) ?? 0
      guard total > logBytesKept else { continue }
      // Oldest first, drop rows until the rest fits.
      var excess = total - logBytesKept
      var doomed: [Int64] = []
      let rows = try Row.fetchCursor(
        db, sql: "SELECT id, bytes FROM log WHERE trialID = ? AND attempt = ? AND stream = ? ORDER BY id",
        arguments: arguments)
      while excess > 0, let row = try rows.next() {
        doomed.append(row["id"])
        excess -= row["bytes"] as Int
      }
      try db.execute(
        sql: "DELETE FROM log WHERE id IN (\(doomed.map(String.init).joined(separator: ",")))")
    }
  }

  /// A trial's output rows after `after` (a row id; 0: from the first kept), oldest first:
  /// of `attempt`, or of every attempt when nil.
  public func logs(trial: Int64, attempt: Int?, after: Int64 = 0) throws -> [LogRecord] {
    try pool.read { db in
      var request = LogRecord.filter(Column("trialID") == trial && Column("id") > after)
      if let attempt { request = request.filter(Column("attempt") == attempt) }
      return try request.order(Column("id")).fetchAll(db)
    }
  }

  public func recordEvent(_ event: EventRecord) throws {
    var event = event
    try pool.write { db in try event.insert(db) }
  }

  public func events(sweep: String) throws -> [EventRecord] {
    try pool.read { db in try EventRecord.filter(Column("sweepID") == sweep).order(Column("id")).fetchAll(db)
    }
  }
}
