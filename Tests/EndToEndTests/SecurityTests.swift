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
