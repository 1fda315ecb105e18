import Foundation
import XCTest

/// What a new user hit in one afternoon (issue 15), each as they hit it: the command, its
/// exit status and its words.
final class NewUserTests: XCTestCase {
  var directory: URL!

  override func setUpWithError() throws {
    directory = FileManager.default.temporaryDirectory.appendingPathComponent(
      "sweepd-new-user-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
  }

  override func tearDownWithError() throws {
    try? FileManager.default.removeItem(at: directory)
  }

  func write(_ name: String, _ text: String) throws -> String {
    let url = directory.appendingPathComponent(name)
    try text.write(to: url, atomically: true, encoding: .utf8)
    return url.path
  }

  let tiny = """
    method: grid
    metric: {name: val_loss, goal: minimize}
    model: {kind: rosenbrock}
    optimizer: {name: sgd}
    training: {epochs: 3}
    parameters:
      lr: {values: [0.001, 0.0001]}
    """

  /// Usage errors are refused at once (no hang), with the option named.
  func testUsageErrorsAreRefusedAtOnce() throws {
    let file = try write("tiny.yaml", tiny)
    let run = try SweepdProcess.run(
      ["run", file, "--workers", "0", "--db", directory.path + "/w.db"], timeout: 30)
    XCTAssertNotEqual(run.status, 0)
    XCTAssertTrue(run.stderr.contains("--workers must be ≥ 1, got 0"), run.stderr)
    let hidden = try SweepdProcess.run(["train", "--hidden", "64,,32"], timeout: 30)
    XCTAssertNotEqual(hidden.status, 0)
    XCTAssertTrue(hidden.stderr.contains("--hidden takes comma-separated widths"), hidden.stderr)
    let cores = try SweepdProcess.run(["train", "--cores", "0"], timeout: 30)
    XCTAssertNotEqual(cores.status, 0)
    XCTAssertTrue(cores.stderr.contains("--cores must be ≥ 1"), cores.stderr)
  }

  /// `run` must end: an unbounded sweep and a trial config are refused before anything
  /// starts, saying what to do.
  func testRunRefusesWhatWouldNeverEnd() throws {
    let unbounded = try write(
      "random.yaml", tiny.replacingOccurrences(of: "method: grid", with: "method: random"))
    let output = try SweepdProcess.run(["run", unbounded, "--db", directory.path + "/u.db"], timeout: 30)
    XCTAssertEqual(output.status, 2, output.stderr)
    XCTAssertTrue(output.stderr.contains("without run_cap runs until stopped"), output.stderr)
    let trial = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
      .deletingLastPathComponent().appendingPathComponent("configs/digits-adam.yaml").path
    let refused = try SweepdProcess.run(["run", trial, "--db", directory.path + "/t.db"], timeout: 30)
    XCTAssertEqual(refused.status, 2, refused.stderr)
    XCTAssertTrue(refused.stderr.contains("this is a trial config"), refused.stderr)
    XCTAssertTrue(refused.stderr.contains("sweepd train --config"), refused.stderr)
  }

  /// A trial too large for the machine is refused before allocating: one line, exit 1, no
  /// backtrace and no usage text.
  func testATrialThatCannotFitIsRefused() throws {
    let output = try SweepdProcess.run(["train", "--hidden", "100000,100000", "--epochs", "1"], timeout: 60)
    XCTAssertEqual(output.status, 1, output.stderr)
    XCTAssertTrue(output.stderr.contains("this trial needs about"), output.stderr)
    XCTAssertFalse(output.stderr.contains("Fatal error"), output.stderr)
    XCTAssertFalse(output.stderr.contains("Usage:"), output.stderr)
  }

  /// Results are kept where the user works (./sweepd.db), and the path is said with the
  /// sweep id; a second writer on that store is refused, naming the first.
  func testResultsStayBesideTheWorkAndTheStoreHasOneWriter() throws {
    let file = try write("tiny.yaml", tiny)
    let output = try SweepdProcess.run(["run", file, "--workers", "1"], timeout: 120, in: directory)
    XCTAssertEqual(output.status, 0, output.stderr)
    XCTAssertTrue(output.stderr.contains("results kept in sweepd.db"), output.stderr)
    XCTAssertTrue(FileManager.default.fileExists(atPath: directory.appendingPathComponent("sweepd.db").path))

    let coordinator = Process()
    coordinator.executableURL = SweepdProcess.binary
    coordinator.arguments = ["coordinator", "--bind", "tcp://127.0.0.1:*", "--db", "sweepd.db"]
    coordinator.currentDirectoryURL = directory
    let log = directory.appendingPathComponent("coordinator.log")
    FileManager.default.createFile(atPath: log.path, contents: nil)
    coordinator.standardError = try FileHandle(forWritingTo: log)
    try coordinator.run()
    defer {
      coordinator.terminate()
      coordinator.waitUntilExit()
    }
    let deadline = Date().addingTimeInterval(30)
    while !((try? String(contentsOf: log, encoding: .utf8)) ?? "").contains("coordinator at"),
      Date() < deadline
    {
      Thread.sleep(forTimeInterval: 0.05)
    }
    XCTAssertTrue(((try? String(contentsOf: log, encoding: .utf8)) ?? "").contains("coordinator at"))
    let second = try SweepdProcess.run(["run", file, "--workers", "1"], timeout: 30, in: directory)
    XCTAssertEqual(second.status, 1, second.stderr)
    XCTAssertTrue(
      second.stderr.contains("in use by another coordinator (pid \(coordinator.processIdentifier) on host"),
      second.stderr)
  }

  /// A data file with a bad cell is reported by `validate` and `run` on the submitting box,
  /// with the user's path and line; a sweep whose trials all fail ends `failed`, and `run`
  /// exits 1 with the first failure's reason; `--group-by` with a typo is refused before
  /// anything runs.
  func testDataErrorsEarlyAndAllFailedAndTyposAreErrors() throws {
    let csv = try write("bad.csv", "a,b,label\n1,x,0\n2,3,1\n3,4,0\n4,5,1\n")
    let file = try write(
      "csv.yaml",
      """
      method: grid
      metric: {name: val_error, goal: minimize}
      data: {dataset: csv, path: \(csv)}
      model: {kind: mlp, hidden: [4]}
      training: {epochs: 1}
      parameters:
        lr: {values: [0.1, 0.01]}
      """)
    for command in [["validate", file], ["run", file, "--db", directory.path + "/f.db"]] {
      let output = try SweepdProcess.run(command, timeout: 120)
      XCTAssertEqual(output.status, 2, output.stderr)
      XCTAssertTrue(
        output.stderr.contains("\(csv):2: column 'b' is not a finite number in this row"), output.stderr)
    }

    let huge = try write(
      "huge-model.yaml",
      tiny.replacingOccurrences(
        of: "model: {kind: rosenbrock}", with: "model: {kind: mlp, hidden: [100000, 100000]}"
      )
      .replacingOccurrences(
        of: "optimizer: {name: sgd}", with: "optimizer: {name: sgd}\ndata: {dataset: digits}"))
    let failed = try SweepdProcess.run(["run", huge, "--db", directory.path + "/h.db"], timeout: 120)
    XCTAssertEqual(failed.status, 1, failed.stderr)
    XCTAssertTrue(failed.stderr.contains("every trial of sweep"), failed.stderr)
    XCTAssertTrue(failed.stderr.contains("this trial needs about"), failed.stderr)
    XCTAssertTrue(
      failed.stderr.contains("failed: 0/2 done") || failed.stderr.contains(" failed"), failed.stderr)

    let tinyFile = try write("tiny.yaml", tiny)
    let typo = try SweepdProcess.run(
      ["run", tinyFile, "--group-by", "l", "--db", directory.path + "/g.db"], timeout: 30)
    XCTAssertEqual(typo.status, 1, typo.stderr)
    XCTAssertTrue(typo.stderr.contains("--group-by l: no trial has a parameter of that name"), typo.stderr)
    XCTAssertTrue(typo.stderr.contains("the sweep's parameters: lr"), typo.stderr)
    XCTAssertFalse(FileManager.default.fileExists(atPath: directory.path + "/g.db"), "nothing ran")
  }

  /// The leaderboard lists parameters in the sweep's order, not alphabetically; `expand`
  /// shows the whole seed and calls its column `index` (a position, not a store id).
  func testParametersKeepTheSweepsOrderAndSeedsAreWhole() throws {
    let file = try write(
      "order.yaml",
      tiny.replacingOccurrences(of: "optimizer: {name: sgd}", with: "optimizer: {name: momentum}")
        .replacingOccurrences(
          of: "  lr: {values: [0.001, 0.0001]}", with: "  momentum: {values: [0.5]}\n  lr: {values: [0.001]}")
    )
    let output = try SweepdProcess.run(
      ["run", file, "--format", "json", "--db", directory.path + "/o.db"], timeout: 120)
    XCTAssertEqual(output.status, 0, output.stderr)
    let board = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(output.stdout.utf8)) as? [String: Any])
    XCTAssertEqual(board["parameters"] as? [String], ["momentum", "lr"])
    let expand = try SweepdProcess.run(["expand", file, "--limit", "1"], timeout: 30)
    let lines = expand.stdout.split(separator: "\n")
    XCTAssertTrue(lines.first?.hasPrefix("index") == true, expand.stdout)
    let seed = lines.count > 1 ? lines[1].split(separator: " ", omittingEmptySubsequences: true)[3] : ""
    XCTAssertGreaterThan(seed.count, 10, "the whole 64-bit seed: \(expand.stdout)")
  }

  /// A mistyped command gets a did-you-mean; the help lists the user's commands in groups,
  /// with examples, and keeps the development ones (fuzz, bench-*) out of the list.
  func testCommandsAndHelp() throws {
    let typo = try SweepdProcess.run(["lederboard", "s1"], timeout: 30)
    XCTAssertEqual(typo.status, 64)
    XCTAssertTrue(
      typo.stderr.contains("unknown command 'lederboard' (did you mean 'leaderboard'?)"), typo.stderr)
    let help = try SweepdProcess.run(["--help"], timeout: 30)
    XCTAssertTrue(help.stdout.contains("SWEEPS SUBCOMMANDS"), help.stdout)
    XCTAssertFalse(help.stdout.contains("fuzz"), help.stdout)
    XCTAssertFalse(help.stdout.contains("bench-step"), help.stdout)
    let train = try SweepdProcess.run(["train", "--help"], timeout: 30)
    XCTAssertTrue(train.stdout.contains("Examples:"), train.stdout)
    let flowed = train.stdout.replacingOccurrences(of: "\n", with: " ")
    XCTAssertTrue(
      flowed.contains("With neither, it trains the default: a 64-128-10 MLP"),
      "one paragraph: \(train.stdout)")
    for line in train.stdout.split(separator: "\n") where line.hasPrefix("  sweepd ") {
      XCTAssertLessThanOrEqual(line.count, 80, "an example fits a line: \(line)")
    }
  }
}
