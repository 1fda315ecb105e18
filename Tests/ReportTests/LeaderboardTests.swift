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
      "optimizer,trials,measured,best,median,mean,std,best_trial")
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
