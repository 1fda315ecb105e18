import Foundation
import XCTest

/// Held-out test rows through real processes: the search never depends on them, and the
/// sweep's final run is the selected configuration refit and tested once.
final class HeldOutTests: DaemonTestCase {
  func sweepd(_ arguments: [String]) throws -> SweepdProcess.Output {
    let output = try SweepdProcess.run(arguments)
    XCTAssertEqual(output.status, 0, "sweepd \(arguments.joined(separator: " ")): \(output.stderr)")
    return output
  }

  func json(_ text: String) throws -> [String: Any] {
    try XCTUnwrap(JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
  }

  /// Two sweeps identical but for their test file: the second's test rows are scrambled
  /// (features ×1000, labels rotated). With TPE (the sampler) and the median rule
  /// (stopping) in deterministic mode, every search number is the same bit for bit — no
  /// test row reached training, validation, stopping or the sampler — and only the final
  /// run's test metrics differ. The final run's numbers are those of `sweepd train` with
  /// the selected trial's config refit on training + validation rows.
  func testTheSearchNeverSeesTheTestRows() throws {
    // Three blobs in 4-D: 240 training rows, 60 test rows.
    func rows(_ count: Int, offset: Int, scramble: Bool) -> String {
      var lines = ["a,b,c,d,label"]
      for i in 0..<count {
        let c = (i + offset) % 3
        let jitter = { (k: Int) in 4 * (Double(((i + offset) * 7919 + k * 104729) % 1000) / 1000 - 0.5) }
        var x = (0..<4).map { k in Double(c == k % 3 ? 2 : 0) + jitter(k) }
        var label = c
        if scramble {
          x = x.map { $0 * 1000 }
          label = (c + 1) % 3
        }
        lines.append(
          x.map { String(format: "%.4f", $0) }.joined(separator: ",") + ",\(["x", "y", "z"][label])")
      }
      return lines.joined(separator: "\n") + "\n"
    }
    let train = directory.appendingPathComponent("train.csv")
    try rows(240, offset: 0, scramble: false).write(to: train, atomically: true, encoding: .utf8)
    var boards: [[String: Any]] = []
    var selectedTrials: [[String: Any]] = []
    for (name, scramble) in [("clean", false), ("scrambled", true)] {
      let test = directory.appendingPathComponent("test-\(name).csv")
      try rows(60, offset: 1, scramble: scramble).write(to: test, atomically: true, encoding: .utf8)
      let file = directory.appendingPathComponent("\(name).yaml")
      try """
      name: heldout-\(name)
      method: bayes
      deterministic: true
      seed: 3
      run_cap: 10
      metric: {name: val_error, goal: minimize}
      data: {dataset: csv, path: \(train.path), test_path: \(test.path), folds: 3}
      model: {kind: mlp, hidden: [8]}
      training: {epochs: 6, batch_size: 16}
      early_terminate: {type: median, grace_epochs: 2}
      parameters:
        lr: {distribution: log_uniform_values, min: 0.001, max: 0.3}
        optimizer: {values: [sgd, adam]}
      """.write(to: file, atomically: true, encoding: .utf8)
      let db = directory.appendingPathComponent("\(name).db").path
      _ = try sweepd(["run", file.path, "--workers", "2", "--db", db])
      let status = try json(sweepd(["status", "--db", db, "--format", "json"]).stdout)
      let sweep = try XCTUnwrap((status["sweeps"] as? [[String: Any]])?.first?["sweep"] as? String)
      XCTAssertEqual((status["sweeps"] as? [[String: Any]])?.first?["state"] as? String, "completed")
      let board = try json(sweepd(["leaderboard", sweep, "--db", db, "--format", "json"]).stdout)
      boards.append(board)
      let trials = try XCTUnwrap(board["trials"] as? [[String: Any]])
      XCTAssertEqual(trials.count, 10, "the final run is not one of the search's trials")
      let selected = try XCTUnwrap(board["selected"] as? [String: Any], "no final run in \(board)")
      XCTAssertEqual(selected["status"] as? String, "completed")
      XCTAssertEqual(selected["refit"] as? Bool, true)
      XCTAssertEqual(selected["trial"] as? Int, trials[0]["trial"] as? Int, "rank 1 is selected")
      selectedTrials.append(selected)
      // Every search trial's best carries its folds' spread.
      XCTAssertNotNil((trials[0]["best"] as? [String: Any])?["std"])
      // The final run is `sweepd train` of the selected trial refit.
      let config = try sweepd(["best", sweep, "--db", db, "--as-config"]).stdout
      let rerun = directory.appendingPathComponent("\(name)-refit.yaml")
      let epochs = try XCTUnwrap(selected["epochs"] as? Int)
      // Refit, for the final run's epochs (a trial the median rule stopped trains fewer).
      XCTAssertTrue(config.contains("\n  folds: 3\n"), config)
      try config.replacingOccurrences(
        of: "\n  folds: 3\n", with: "\n  folds: 3\n  refit: true\n  stage_epochs: \(epochs)\n"
      ).write(to: rerun, atomically: true, encoding: .utf8)
      XCTAssertTrue(config.contains("test_path"), config)
      let trained = try json(
        try XCTUnwrap(
          sweepd(["train", "--config", rerun.path, "--format", "json", "--cores", "1"]).stdout
            .split(separator: "\n").last.map(String.init)))
      let scores = try XCTUnwrap(selected["test"] as? [String: Double])
      XCTAssertEqual(trained["test"] as? [String: Double], scores)
      XCTAssertNotNil(scores["test_error"])
      XCTAssertNil(scores["val_error"])
    }
    // The searches agree on every trial, value and decision.
    func search(_ board: [String: Any]) -> [String] {
      (board["trials"] as? [[String: Any]] ?? []).map { trial in
        let picked = trial.filter {
          ["trial", "status", "best", "result", "epochs", "params"].contains($0.key)
        }
        return String(
          decoding: (try? JSONSerialization.data(withJSONObject: picked, options: [.sortedKeys])) ?? Data(),
          as: UTF8.self)
      }
    }
    XCTAssertEqual(search(boards[0]), search(boards[1]))
    XCTAssertNotEqual(
      selectedTrials[0]["test"] as? [String: Double], selectedTrials[1]["test"] as? [String: Double])
    let scrambled = try XCTUnwrap((selectedTrials[1]["test"] as? [String: Double])?["test_error"])
    XCTAssertGreaterThan(scrambled, 0.3, "rotated labels are mostly wrong")
  }
}
