import Foundation
import Vocabulary
import Wire
import XCTest

@testable import Report
@testable import Search

final class LeaderboardTests: XCTestCase {
  func summary(
    _ id: Int64, _ optimizer: String, _ lr: Double, _ best: Double?, status: TrialState = .completed
  )
    -> TrialSummary
  {
    TrialSummary(
      trial: id, index: Int(id), configuration: Int(id), status: status,
      params: [("optimizer", .string(optimizer)), ("lr", .double(lr))], best: best,
      bestEpoch: best == nil ? nil : 10,
      epochs: best == nil ? 0 : 12, seconds: 1.5)
  }

  var trials: [TrialSummary] {
    [
      summary(1, "sgd", 0.1, 0.08), summary(2, "sgd", 0.01, 0.12), summary(3, "adam", 0.001, 0.03),
      summary(4, "adam", 0.01, 0.05), summary(5, "adam", 0.1, nil, status: .running),
      summary(6, "eve", 0.01, 0.04, status: .earlyStopped),
    ]
  }

  func testRankingIsGoalAwareWithUnmeasuredTrialsLast() {
    let minimize = Leaderboard(
      sweep: "s", metric: SweepSpec.Metric(name: "val_error", goal: .minimize), trials: trials)
    XCTAssertEqual(minimize.ranked.map(\.trial), [3, 6, 4, 1, 2, 5])
    let maximize = Leaderboard(
      sweep: "s", metric: SweepSpec.Metric(name: "val_accuracy", goal: .maximize), trials: trials)
    XCTAssertEqual(maximize.ranked.map(\.trial), [2, 1, 4, 6, 3, 5])
  }

  func testGroupStatistics() throws {
    let board = Leaderboard(
      sweep: "s", metric: SweepSpec.Metric(name: "val_error", goal: .minimize), trials: trials)
    let groups = board.groups(by: "optimizer")
    XCTAssertEqual(groups.map(\.value), [.string("adam"), .string("eve"), .string("sgd")])
    let adam = groups[0]
    XCTAssertEqual(adam.count, 3)
    XCTAssertEqual(adam.measured, 2)
    XCTAssertEqual(adam.best, 0.03)
    XCTAssertEqual(try XCTUnwrap(adam.median), 0.04, accuracy: 1e-12)
    XCTAssertEqual(try XCTUnwrap(adam.mean), 0.04, accuracy: 1e-12)
    XCTAssertEqual(try XCTUnwrap(adam.standardDeviation), (2 * 0.01 * 0.01).squareRoot(), accuracy: 1e-12)
    XCTAssertEqual(adam.bestTrial?.trial, 3)
    XCTAssertNil(groups[1].standardDeviation, "one value has no spread")
  }

  /// `--group-by` on a paired sweep: each group against the best one by the Wilcoxon
  /// signed-rank test over the seeds both have (each side's best value at that seed);
  /// without shared seeds, by the rank-sum test; in every rendering.
  func testGroupsAreComparedWithTheBestOne() throws {
    func trial(_ id: Int64, _ optimizer: String, _ lr: Double, seed: UInt64, _ best: Double) -> TrialSummary {
      TrialSummary(
        trial: id, index: Int(id), configuration: 0, status: .completed,
        params: [("optimizer", .string(optimizer)), ("lr", .double(lr))], best: best, bestEpoch: 5, epochs: 5,
        seconds: 1, seed: seed)
    }
    let hd = [0.030, 0.031, 0.029, 0.033, 0.030, 0.028]
    let plain = [0.041, 0.036, 0.044, 0.035, 0.047, 0.039]
    var trials: [TrialSummary] = []
    for seed in 0..<6 {
      trials.append(trial(Int64(seed * 4 + 1), "adam_hd", 0.01, seed: UInt64(seed), hd[seed]))
      trials.append(trial(Int64(seed * 4 + 2), "adam", 0.01, seed: UInt64(seed), plain[seed]))
      // A worse learning rate of adam at the same seed: the group's best per seed counts.
      trials.append(trial(Int64(seed * 4 + 3), "adam", 0.1, seed: UInt64(seed), plain[seed] + 0.02))
    }
    let board = Leaderboard(
      sweep: "s", metric: SweepSpec.Metric(name: "val_error", goal: .minimize), trials: trials)
    let groups = board.groups(by: "optimizer")
    XCTAssertEqual(groups.map(\.value), [.string("adam_hd"), .string("adam")])
    XCTAssertNil(groups[0].comparison, "the best group is the reference")
    let paired = try XCTUnwrap(groups[1].comparison)
    XCTAssertEqual(paired.test, .signedRank)
    XCTAssertEqual(paired.n, 6)
    XCTAssertEqual(paired.p, Significance.wilcoxon(plain, hd)!.p, accuracy: 1e-15)
    XCTAssertEqual(paired.p, 0.03125, accuracy: 1e-12, "all six pairs favour adam_hd: 2/2⁶")
    XCTAssertTrue(board.render(.table, groupBy: "optimizer").contains("p 0.0312, 6 pairs"))
    let json = try XCTUnwrap(
      JSONSerialization.jsonObject(with: Data(board.render(.json, groupBy: "optimizer").utf8))
        as? [String: Any])
    let second = try XCTUnwrap((json["groups"] as? [[String: Any]])?.last?["comparison"] as? [String: Any])
    XCTAssertEqual(second["test"] as? String, "signed-rank")
    XCTAssertEqual(second["n"] as? Int, 6)
    // Independent seeds: nothing to pair, so the rank-sum test over every value.
    let unpaired = Leaderboard(
      sweep: "s", metric: SweepSpec.Metric(name: "val_error", goal: .minimize),
      trials: trials.enumerated().map { index, trial in
        var trial = trial
        trial.seed = UInt64(1000 + index)
        return trial
      })
    let rankSum = try XCTUnwrap(unpaired.groups(by: "optimizer")[1].comparison)
    XCTAssertEqual(rankSum.test, .rankSum)
    XCTAssertEqual(rankSum.n, 18)
    XCTAssertEqual(
      rankSum.p, Significance.rankSum(plain + plain.map { $0 + 0.02 }, hd)!.p, accuracy: 1e-15)
  }

  func testRenderings() throws {
    let board = Leaderboard(
      sweep: "s-1", metric: SweepSpec.Metric(name: "val_error", goal: .minimize), trials: trials)
    let table = board.render(.table, top: 3, groupBy: "optimizer")
    XCTAssertTrue(table.hasPrefix("rank  trial  status"), table)
    XCTAssertEqual(table.split(separator: "\n").count, 4 + 4, table)
    XCTAssertTrue(table.contains("adam       3       0.03"), table)
    let markdown = board.render(.markdown)
    XCTAssertTrue(
      markdown.hasPrefix(
        "| rank | trial | status | optimizer | lr | best val_error | epoch | epochs | seconds |\n|---|"),
      markdown)
    let csv = board.render(.csv)
    XCTAssertEqual(csv.split(separator: "\n")[1], "1,3,completed,adam,0.001,0.03,10,12,1.5")
    XCTAssertEqual(
      board.render(.csv, groupBy: "optimizer").split(separator: "\n")[0],
      "optimizer,trials,measured,best,median,mean,std,best_trial,test,p,n")
    let json = try XCTUnwrap(
      JSONSerialization.jsonObject(with: Data(board.render(.json, groupBy: "optimizer").utf8))
        as? [String: Any])
    XCTAssertEqual((json["metric"] as? [String: String]) ?? [:], ["name": "val_error", "goal": "minimize"])
    let first = try XCTUnwrap((json["trials"] as? [[String: Any]])?.first)
    XCTAssertEqual(first["trial"] as? Int, 3)
    XCTAssertEqual(first["status"] as? String, "completed")
    XCTAssertEqual((first["params"] as? [String: Any])?["optimizer"] as? String, "adam")
    XCTAssertEqual((first["best"] as? [String: Any])?["value"] as? Double, 0.03)
    XCTAssertEqual((first["best"] as? [String: Any])?["epoch"] as? Int, 10)
    XCTAssertEqual(first["epochs"] as? Int, 12)
    XCTAssertEqual((json["groups"] as? [[String: Any]])?.count, 3)
    let running = try XCTUnwrap((json["trials"] as? [[String: Any]])?.last)
    XCTAssertTrue((running["best"] as? [String: Any])?["value"] is NSNull)
  }

  /// What the coordinator writes, a client reads back: same trials, order, values (a
  /// non-finite best included) and the same rendering.
  func testJSONRoundTrip() throws {
    var all = trials
    all.append(summary(7, "sgd", 10, .infinity, status: .diverged))
    all[5].message = "median rule at epoch 3: best 0.04 is worse than the median 0.03"
    let board = Leaderboard(
      sweep: "s-1", metric: SweepSpec.Metric(name: "val_error", goal: .minimize), trials: all)
    let json = board.render(.json)
    XCTAssertTrue(json.contains(#""value":"inf""#), json)
    XCTAssertEqual(
      json.components(separatedBy: #""message":"#).count, 2, "only the trial with a message has one")
    let read = try Leaderboard(json: Array(json.utf8))
    XCTAssertEqual(read.sweep, "s-1")
    XCTAssertEqual(read.metric, board.metric)
    XCTAssertEqual(read.ranked.map(\.trial), board.ranked.map(\.trial))
    XCTAssertEqual(read.ranked.map(\.best), board.ranked.map(\.best))
    XCTAssertEqual(read.ranked.map(\.message), board.ranked.map(\.message))
    XCTAssertEqual(read.render(.json), json)
    XCTAssertEqual(read.render(.csv), board.render(.csv))
    XCTAssertThrowsError(try Leaderboard(json: Array(#"{"sweep":"s"}"#.utf8)))
  }
}

extension LeaderboardTests {
  /// The final run and the folds' spread survive the JSON a client reads, and the table
  /// shows them: `best ± std`, and the selected line apart from the validation rows; a
  /// failed final run says why.
  func testSelectedRunAndFoldSpreadRoundTrip() throws {
    var board = Leaderboard(
      sweep: "s", metric: SweepSpec.Metric(name: "val_error", goal: .minimize), trials: trials)
    board.addFoldDeviations(from: [
      (3, 10, #"{"val_error": 0.03, "val_error_std": 0.004}"#), (3, 9, #"{"val_error_std": 0.5}"#),
    ])
    XCTAssertEqual(board.ranked[0].bestDeviation, 0.004, "the spread at the best epoch")
    XCTAssertNil(board.ranked[1].bestDeviation)
    board.selected = SelectedRun(
      trial: 3, run: 9, refit: true, status: .completed, epochs: 10,
      test: ["test_error": 0.025, "test_loss": 0.11])
    let read = try Leaderboard(json: Array(board.render(.json).utf8))
    XCTAssertEqual(read.selected, board.selected)
    XCTAssertEqual(read.ranked[0].bestDeviation, 0.004)
    let table = read.render(.table)
    XCTAssertTrue(table.contains("0.03 ± 0.004"), table)
    XCTAssertTrue(
      table.contains(
        "selected: trial 3, refit on training + validation rows for 10 epochs, held-out test: test_error 0.025, test_loss 0.11"
      ), table)
    var failed = read
    failed.selected = SelectedRun(
      trial: 3, run: 9, refit: false, status: .failed, epochs: 10, test: [:], message: "worker lost")
    XCTAssertEqual(
      failed.selectedLine,
      "selected: trial 3, its own model (10 epochs), held-out test: failed (worker lost)")
  }
}
