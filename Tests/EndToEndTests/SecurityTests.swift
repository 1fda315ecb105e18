import Foundation
import XCTest

/// CURVE between real processes: keys from `sweepd keygen`, a coordinator that lets in only
/// the keys it lists, operators and workers told apart, and no unauthenticated network bind.
final class SecurityTests: DaemonTestCase {
  func keygen(_ name: String) throws -> (secret: String, public: String) {
    let keys = directory.appendingPathComponent("keys").path
    let output = try SweepdProcess.run(["keygen", "--out", keys, "--name", name])
    XCTAssertEqual(output.status, 0, output.stderr)
    return ("\(keys)/\(name).key", "\(keys)/\(name).pub")
  }

  func testKeygenWritesAPrivateSecretAndRefusesToOverwrite() throws {
    let (secret, publicFile) = try keygen("box")
    let attributes = try FileManager.default.attributesOfItem(atPath: secret)
    XCTAssertEqual((attributes[.posixPermissions] as? NSNumber)?.intValue, 0o600)
    let lines = try String(contentsOfFile: publicFile, encoding: .utf8).split(separator: "\n")
    XCTAssertEqual(lines.first, "# sweepd CURVE public key", "the file says which half it holds")
    XCTAssertEqual(lines.last?.count, 40)
    let again = try SweepdProcess.run([
      "keygen", "--out", directory.appendingPathComponent("keys").path, "--name", "box",
    ])
    XCTAssertNotEqual(again.status, 0)
    XCTAssertTrue(again.stderr.contains("exists"), again.stderr)
  }

  func testANetworkBindWithoutCurveIsRefused() throws {
    let db = directory.appendingPathComponent("open.db").path
    let refused = try SweepdProcess.run(
      ["coordinator", "--bind", "tcp://0.0.0.0:0", "--db", db], timeout: 30)
    XCTAssertNotEqual(refused.status, 0)
    XCTAssertTrue(refused.stderr.contains("refusing to serve tcp://0.0.0.0:0 without CURVE"), refused.stderr)
    let lonely = try SweepdProcess.run(
      ["coordinator", "--db", db, "--curve-secret-key", try keygen("c").secret], timeout: 30)
    XCTAssertNotEqual(lonely.status, 0)
    XCTAssertTrue(lonely.stderr.contains("nobody could connect"), lonely.stderr)
  }

  /// An operator submits, a worker trains, the sweep completes; a worker's key cannot
  /// submit; an unknown key is refused at the handshake and logged with its address.
  typealias KeyPair = (secret: String, public: String)

  /// A coordinator with CURVE that lists one worker key and one operator key, and a worker
  /// with that key; returns the endpoint, the key pairs and the options that use a pair.
  func startSecureSweepd() throws -> (
    endpoint: String, log: URL, worker: KeyPair, operator: KeyPair, keys: (KeyPair) -> [String]
  ) {
    let coordinatorKeys = try keygen("coordinator"), worker = try keygen("worker")
    let operatorKeys = try keygen("operator")
    let db = directory.appendingPathComponent("secure.db").path
    let (_, endpoint, log) = try launchCoordinator(
      [
        "--db", db, "--curve-secret-key", coordinatorKeys.secret, "--authorized-keys", worker.public,
        "--operator-keys", operatorKeys.public,
      ], name: "secure-coordinator")
    let keys = { (pair: KeyPair) -> [String] in
      ["--curve-server-key", coordinatorKeys.public, "--curve-secret-key", pair.secret]
    }
    _ = try launch(
      ["worker", "--connect", endpoint, "--slots", "2", "--name", "trusted"] + keys(worker), name: "trusted",
      environment: ["SWEEPD_DATA_CACHE": directory.appendingPathComponent("cache").path])
    return (endpoint, log, worker, operatorKeys, keys)
  }

  func testOnlyListedKeysGetInAndRolesAreKept() throws {
    let (endpoint, log, worker, operatorKeys, keys) = try startSecureSweepd()
    let stranger = try keygen("stranger")
    let file = try writeRosenbrockSweep(epochs: 3, rates: ["0.001", "0.0001", "0.00001", "0.000001"])

    let asWorker = try SweepdProcess.run(["submit", file.path, "--coordinator", endpoint] + keys(worker))
    XCTAssertNotEqual(asWorker.status, 0)
    XCTAssertTrue(asWorker.stderr.contains("only operator keys may submit"), asWorker.stderr)

    let submitted = try SweepdProcess.run(
      ["submit", file.path, "--coordinator", endpoint] + keys(operatorKeys))
    XCTAssertEqual(submitted.status, 0, submitted.stderr)
    let sweep = submitted.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    let status = try waitUntilComplete(endpoint, sweep, seconds: 120, options: keys(worker))
    XCTAssertTrue(status.contains("\(sweep) completed: 4/4 done"), status)

    // A stranger's request is never read: it gets no answer, and the refusal is logged.
    let (intruder, _) = try launch(
      ["status", "--coordinator", endpoint] + keys(stranger), name: "intruder")
    _ = try wait(for: "refused a connection from 127.0.0.1", in: log, seconds: 20)
    kill(intruder.processIdentifier, SIGKILL)
    // Without keys at all, nothing gets through either.
    // Its client hears at once that the handshake failed (libzmq's monitor), and says why.
    let (plain, plainLog) = try launch(["status", "--coordinator", endpoint], name: "plain")
    let refusal = try wait(for: "did not accept this connection", in: plainLog, seconds: 30)
    XCTAssertTrue(refusal.contains("needs --curve-server-key and --curve-secret-key"), refusal)
    plain.waitUntilExit()
    XCTAssertNotEqual(plain.terminationStatus, 0)
  }

  /// The whole first line of `log` that holds `text`.
  func line(containing text: String, in log: URL) throws -> String {
    try String(contentsOf: log, encoding: .utf8).split(separator: "\n").first { $0.contains(text) }.map(String.init)
      ?? ""
  }

  /// What the operator reads about keys: the coordinator logs each worker's join with its
  /// key, a second worker on the same key, and an unknown key at error level; a worker whose
  /// key is refused says so at error level (not the cut-link line), and with
  /// `--exit-on-auth-failure` ends non-zero at once.
  func testKeyProblemsAreErrorsAndJoinsNameTheirKeys() throws {
    let (endpoint, log, worker, _, keys) = try startSecureSweepd()
    let workerKey = try String(contentsOfFile: worker.public, encoding: .utf8)
      .split(separator: "\n").first { !$0.hasPrefix("#") }.map(String.init) ?? ""
    XCTAssertEqual(workerKey.count, 40)
    let joined = try wait(for: "worker trusted joined from", in: log, seconds: 30)
    XCTAssertTrue(joined.contains("key \(workerKey)"), joined)
    _ = try launch(
      ["worker", "--connect", endpoint, "--slots", "1", "--name", "twin"] + keys(worker), name: "twin")
    let twin = try wait(for: "worker twin uses the same key as worker trusted", in: log, seconds: 30)
    XCTAssertTrue(twin.contains(workerKey), twin)

    let stranger = try keygen("stranger-worker")
    let (patient, patientLog) = try launch(
      ["worker", "--connect", endpoint, "--name", "patient"] + keys(stranger), name: "patient")
    _ = try wait(for: "the CURVE handshake with the coordinator", in: patientLog, seconds: 30)
    let error = try line(containing: "the CURVE handshake with the coordinator", in: patientLog)
    XCTAssertTrue(error.contains(" error "), error)
    XCTAssertTrue(error.contains("--authorized-keys"), error)
    XCTAssertTrue(patient.isRunning, "without --exit-on-auth-failure the worker keeps trying")
    _ = try wait(for: "is not among the authorized worker or operator keys", in: log, seconds: 30)
    let refused = try line(containing: "is not among the authorized worker or operator keys", in: log)
    XCTAssertTrue(refused.contains(" error "), refused)

    let (strict, strictLog) = try launch(
      ["worker", "--connect", endpoint, "--name", "strict", "--exit-on-auth-failure"] + keys(stranger),
      name: "strict")
    let started = Date()
    strict.waitUntilExit()
    XCTAssertLessThan(Date().timeIntervalSince(started), 30)
    XCTAssertNotEqual(strict.terminationStatus, 0)
    _ = try wait(for: "the CURVE handshake with the coordinator", in: strictLog, seconds: 5)
  }

  /// A CSV travels over CURVE: a worker key may not upload it, an operator key may, and the
  /// worker fetches it by digest over its authenticated, encrypted connection.
  func testDataTravelsOverCurveAndOnlyOperatorsUpload() throws {
    let (endpoint, _, worker, operatorKeys, keys) = try startSecureSweepd()
    var rows = "x,y,label\n"
    for i in 0..<400 { rows += "\(Double(i % 20) / 10),\(Double(i % 7) / 3),\(i % 2)\n" }
    try rows.write(to: directory.appendingPathComponent("grid.csv"), atomically: true, encoding: .utf8)
    try """
    method: grid
    metric: {name: val_error, goal: minimize}
    data: {dataset: csv, path: grid.csv}
    model: {kind: logistic}
    training: {epochs: 2}
    parameters:
      lr: {values: [0.1, 0.01]}
    """.write(to: directory.appendingPathComponent("csv.yaml"), atomically: true, encoding: .utf8)
    let asWorker = try SweepdProcess.run(
      ["submit", "csv.yaml", "--coordinator", endpoint] + keys(worker), in: directory)
    XCTAssertNotEqual(asWorker.status, 0)
    XCTAssertTrue(
      asWorker.stderr.contains("only operator keys may submit, upload, cancel or delete"), asWorker.stderr)
    let submitted = try SweepdProcess.run(
      ["submit", "csv.yaml", "--coordinator", endpoint] + keys(operatorKeys), in: directory)
    XCTAssertEqual(submitted.status, 0, submitted.stderr)
    XCTAssertTrue(submitted.stderr.contains("uploaded grid.csv"), submitted.stderr)
    let sweep = submitted.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    let status = try waitUntilComplete(endpoint, sweep, seconds: 120, options: keys(operatorKeys))
    XCTAssertTrue(status.contains("\(sweep) completed: 2/2 done"), status)
    // A worker key may read the report.
    let report = try SweepdProcess.run(
      ["report", sweep, "-o", directory.appendingPathComponent("r.html").path, "--coordinator", endpoint]
        + keys(worker))
    XCTAssertEqual(report.status, 0, report.stderr)
  }
}
