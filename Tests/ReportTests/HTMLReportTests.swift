import Foundation
import Vocabulary
import Wire
import XCTest

@testable import Report
@testable import Search

#if canImport(FoundationXML)
  import FoundationXML
#endif

final class HTMLReportTests: XCTestCase {
  let config = """
    name: study
    method: grid
    metric: {name: val_error, goal: minimize}
    data: {dataset: digits}
    training: {epochs: 4}
    parameters:
      optimizer: {values: [sgd, sgd_hd]}
      lr: {values: [0.0001, 0.01, 1.0]}
      training.batch_size: {values: [16, 32]}
    """

  /// 12 trials: sgd is sensitive to lr, sgd_hd is not; one sgd trial is stopped early and
  /// the one at lr = 1 diverges (its curve ends in a non-finite value).
  func history() -> SweepHistory {
    var trials: [TrialSummary] = []
    var curves: [Int64: [SweepHistory.Epoch]] = [:]
    var id: Int64 = 0
    for optimizer in ["sgd", "sgd_hd"] {
      for lr in [0.0001, 0.01, 1.0] {
        for batch in [16, 32] {
          id += 1
          let final = optimizer == "sgd_hd" ? 0.05 : (lr == 0.01 ? 0.04 : 0.6)
          let diverged = optimizer == "sgd" && lr == 1.0 && batch == 32
          let stopped = optimizer == "sgd" && lr == 0.0001 && batch == 16
          let epochs = stopped ? 2 : diverged ? 3 : 4
          var points: [SweepHistory.Epoch] = (1...epochs).map { epoch in
            let value = final + 0.5 / Double(epoch)
            let rate = optimizer == "sgd_hd" ? 0.01 * Double(epoch) : lr
            return .init(epoch: epoch, values: ["val_error": value, "lr": rate, "train_loss": value])
          }
          if diverged { points[epochs - 1].values["val_error"] = .nan }
          curves[id] = points
          let finite = points.compactMap { $0.values["val_error"] }.filter(\.isFinite)
          trials.append(
            TrialSummary(
              trial: id, index: Int(id - 1), configuration: Int(id - 1),
              status: diverged ? .diverged : stopped ? .earlyStopped : .completed,
              params: [
                ("optimizer", .string(optimizer)), ("lr", .double(lr)), ("training.batch_size", .int(batch)),
              ],
              best: finite.min(), bestEpoch: finite.count, epochs: epochs, seconds: 0.5,
              message: stopped ? "median rule" : nil, result: finite.last, resultEpoch: finite.count))
        }
      }
    }
    return SweepHistory(
      file: "study.yaml", config: config,
      leaderboard: Leaderboard(
        sweep: "s1", metric: .init(name: "val_error", goal: .minimize), trials: trials),
      curves: curves)
  }

  /// The inline SVG elements of a page.
  func svgs(_ html: String) -> [String] {
    var found: [String] = []
    var rest = html[...]
    while let start = rest.range(of: "<svg "), let end = rest[start.lowerBound...].range(of: "</svg>") {
      found.append(String(rest[start.lowerBound..<end.upperBound]))
      rest = rest[end.upperBound...]
    }
    return found
  }

  func testReportHasEverySectionAndEachPictureIsWellFormedSVG() throws {
    let html = HTMLReport(history: history()).html()
    for heading in [
      "Leaderboard", "By optimizer", "Learning curves", "Learning-rate traces", "Parallel coordinates",
      "val_error against each parameter", "Learning-rate sensitivity", "Hyperparameter importance", "Config",
    ] {
      XCTAssertTrue(html.contains(">\(heading)</h"), "missing section \(heading)")
    }
    let pictures = svgs(html)
    // Curves (top, per group), lr traces (a panel per optimizer: 2), parallel coordinates,
    // 3 scatter plots, sensitivity, and the importance bars (3 parameters).
    XCTAssertEqual(pictures.count, 2 + 2 + 1 + 3 + 1 + 3)
    for svg in pictures {
      let parser = XMLParser(data: Data(svg.utf8))
      XCTAssertTrue(
        parser.parse(), "malformed SVG: \(parser.parserError.map { "\($0)" } ?? "") \(svg.prefix(300))")
    }
    // Self-contained: nothing is loaded from anywhere.
    XCTAssertFalse(html.contains("src="))
    XCTAssertFalse(html.contains("<link"))
    XCTAssertFalse(html.contains("@import"))
    XCTAssertNil(html.range(of: "https?://(?!www\\.w3\\.org/2000/svg)", options: .regularExpression))
    // Every trial is a row of the sortable leaderboard, the best first.
    XCTAssertEqual(html.components(separatedBy: "<tr><td class=\"num\" data-v=").count - 1, 12)
    XCTAssertTrue(html.contains("✕ stopped"))
    XCTAssertTrue(html.contains("■ diverged"))
    XCTAssertTrue(html.contains("median rule"))
  }

  func testCurvesMarkTheEarlyStopAndTheLogAxes() throws {
    let report = HTMLReport(history: history(), top: 12)
    let columns = ParameterColumn.varying(report.board, spec: report.history.spec)
    XCTAssertEqual(columns.map(\.name), ["optimizer", "lr", "training.batch_size"])
    XCTAssertEqual(columns[0].kind, .categorical(["sgd", "sgd_hd"]), "in order of their best trial")
    XCTAssertEqual(
      columns[1].kind, .numeric(log: true), "a grid spanning four decades is drawn on a log axis")
    XCTAssertEqual(columns[2].kind, .numeric(log: false))
    let curves = report.curvesSection(columns.first, varying: columns.map(\.name))
    // The stopped trial's ✕ (a two-stroke path) on both charts; non-finite values are not drawn.
    XCTAssertEqual(curves.components(separatedBy: "stroke-width=\"2.2\"").count - 1, 2, curves)
    XCTAssertFalse(curves.contains("nan"))
    let sensitivity = report.sensitivitySection(columns)
    XCTAssertTrue(sensitivity.contains("initial learning rate (log scale)"))
    // One median line per optimizer over the three rates.
    XCTAssertEqual(sensitivity.components(separatedBy: "<polyline").count - 1, 2)
  }

  func testSensitivityIsExplainedWhenTheSweepDoesNotVaryTheRate() {
    var history = history()
    history.leaderboard = Leaderboard(
      sweep: "s1", metric: history.leaderboard.metric,
      trials: history.leaderboard.ranked.map { trial in
        var trial = trial
        trial.params.removeAll { $0.0 == "lr" }
        return trial
      })
    let html = HTMLReport(history: history).html()
    XCTAssertTrue(html.contains("Not drawn: this sweep does not vary <code>lr</code>"))
  }

  func testHistoryDocumentRoundTrips() throws {
    let original = history()
    // The coordinator's writer splices the stored epochs; it reads back as the encoder's does.
    let rows = original.curves.keys.sorted().flatMap { trial in
      original.curves[trial]!.map {
        (trial: trial, epoch: $0.epoch, values: MetricJSON.encode(values: $0.values))
      }
    }
    let spliced = SweepHistory.json(
      file: original.file, config: original.config, dataDigests: original.dataDigests,
      leaderboard: original.leaderboard, storedEpochs: rows)
    XCTAssertNoThrow(try JSONSerialization.jsonObject(with: Data(spliced)), "well-formed JSON")
    let fromStore = try SweepHistory(json: spliced)
    let fromEncoder = try SweepHistory(json: original.json)
    XCTAssertEqual(fromStore.config, fromEncoder.config)
    XCTAssertEqual(fromStore.leaderboard.ranked, fromEncoder.leaderboard.ranked)
    XCTAssertEqual(fromStore.curves.keys.sorted(), fromEncoder.curves.keys.sorted())
    for (trial, epochs) in fromEncoder.curves {
      XCTAssertEqual(fromStore.curves[trial]?.map(\.epoch), epochs.map(\.epoch))
      XCTAssertEqual(
        fromStore.curves[trial]?.map { $0.values.mapValues { $0.isNaN ? -1 : $0 } },
        epochs.map { $0.values.mapValues { $0.isNaN ? -1 : $0 } })
    }
    let json = spliced
    let decoded = try SweepHistory(json: json)
    XCTAssertEqual(decoded.config, original.config)
    XCTAssertEqual(decoded.file, "study.yaml")
    XCTAssertEqual(decoded.leaderboard.ranked.map(\.trial), original.leaderboard.ranked.map(\.trial))
    XCTAssertEqual(decoded.leaderboard.ranked.map(\.status), original.leaderboard.ranked.map(\.status))
    XCTAssertEqual(Set(decoded.curves.keys), Set(original.curves.keys))
    for (trial, epochs) in original.curves {
      let back = decoded.curves[trial]!
      XCTAssertEqual(back.map(\.epoch), epochs.map(\.epoch))
      for (a, b) in zip(back, epochs) {
        XCTAssertEqual(a.values.keys.sorted(), b.values.keys.sorted())
        for (key, value) in b.values {
          if value.isNaN { XCTAssertTrue(a.values[key]!.isNaN) } else { XCTAssertEqual(a.values[key], value) }
        }
      }
    }
    XCTAssertNotNil(decoded.spec, "the config travels with the history and parses")
    // An empty sweep is a valid document too.
    let empty = try SweepHistory(
      json: SweepHistory(
        file: "f", config: "",
        leaderboard: Leaderboard(sweep: "s", metric: .init(name: "m", goal: .minimize), trials: []),
        curves: [:]
      ).json)
    XCTAssertTrue(empty.curves.isEmpty)
    XCTAssertTrue(
      HTMLReport(history: empty).html().contains(
        "No data to draw: no trial has a value of m. No trial has reported an epoch yet."))
    // Every trial failed: no empty axes, but why (the first failure's reason).
    let failed = SweepHistory(
      file: "f", config: "",
      leaderboard: Leaderboard(
        sweep: "s", metric: .init(name: "val_error", goal: .minimize),
        trials: [2, 1].map {
          TrialSummary(
            trial: $0, index: Int($0), configuration: 0, status: .failed, params: [], best: nil,
            bestEpoch: nil,
            epochs: 0, seconds: 0, message: "data.csv:3: column 'b' = 'x' is not a finite number")
        }),
      curves: [:])
    let page = HTMLReport(history: failed).html()
    XCTAssertTrue(
      page.contains("the first, trial 1: data.csv:3: column &#39;b&#39;")
        || page.contains("the first, trial 1: data.csv:3: column 'b'"), page)
    XCTAssertFalse(page.contains("<svg"), "no empty charts")
  }

  /// A sweep whose CSV was uploaded: its history carries the digests, so the config parses
  /// (and log axes come from its distributions) on a box without the file.
  func testAHistoryWithUploadedDataParsesWhereTheFileIsNot() throws {
    let config = """
      method: random
      metric: {name: val_error, goal: minimize}
      data: {dataset: csv, path: /only/on/the/submitter.csv}
      parameters:
        lr: {distribution: log_uniform_values, min: 0.001, max: 0.01}
      """
    let digest = String(repeating: "5e", count: 32)
    let board = Leaderboard(sweep: "s", metric: .init(name: "val_error", goal: .minimize), trials: [])
    let json = SweepHistory(
      file: "c.yaml", config: config, dataDigests: ["/only/on/the/submitter.csv": digest], leaderboard: board,
      curves: [:]
    ).json
    let history = try SweepHistory(json: json)
    XCTAssertEqual(history.dataDigests, ["/only/on/the/submitter.csv": digest])
    let spec = try XCTUnwrap(history.spec)
    XCTAssertEqual(spec.parameters.first?.distribution, .logUniformValues(min: 0.001, max: 0.01))
    XCTAssertNil(SweepHistory(file: "c.yaml", config: config, leaderboard: board, curves: [:]).spec)
  }

  /// A crowd of trials is drawn faint, and the best 5% (at most 50) solid on top.
  func testParallelCoordinatesHighlightTheBestOfACrowd() {
    let lines = (0..<400).map { i in
      ParallelCoordinates.Line(values: [Double(i % 7), Double(i)], colour: Double(i) / 399)
    }
    let svg = ParallelCoordinates(
      id: "p", title: "t", axes: [("a", .linear), ("m", .linear)], lines: lines, note: ""
    ).svg()
    let solid = svg.components(separatedBy: "<g fill=\"none\" stroke-width=\"1.8\">")
    XCTAssertEqual(solid.count, 2)
    XCTAssertEqual(solid[1].components(separatedBy: "</g>")[0].components(separatedBy: "<path").count - 1, 20)
    XCTAssertTrue(svg.contains("opacity=\"0.53\""), "0.75 · √(200/400)")
    // The best are the last drawn (on top), best last of all.
    XCTAssertTrue(solid[1].components(separatedBy: "</g>")[0].hasSuffix("stroke=\"\(SVG.viridis(0))\"/>\n"))
    XCTAssertEqual(SVG.crowdOpacity(100, base: 0.6), 0.6)
    XCTAssertEqual(SVG.crowdOpacity(1_000_000, base: 0.6), 0.12)
  }

  // MARK: Importance

  func testImportanceMatchesHandComputedEpsilonSquared() throws {
    // Ranks 1…4; the parameter splits them {1, 2} | {3, 4}: SS_total = 5, SS_within = 1,
    // SS_between = 4, so ε² = (4 − 1 · 1/2) / 5 = 0.7.
    let split = try XCTUnwrap(
      Importance.estimate(
        parameter: "a", coordinates: [0, 0, 1, 1], scores: [0.1, 0.2, 0.3, 0.4], categorical: true))
    XCTAssertEqual(split.share, 0.7, accuracy: 1e-12)
    XCTAssertEqual(split.groups, 2)
    XCTAssertEqual(split.trials, 4)
    // Alternating: SS_between = 1, SS_within = 4 → negative, clipped to 0.
    let noise = try XCTUnwrap(
      Importance.estimate(
        parameter: "b", coordinates: [0, 1, 0, 1], scores: [0.1, 0.2, 0.3, 0.4], categorical: true))
    XCTAssertEqual(noise.share, 0)
    // A parameter that decides everything explains (nearly) all of it; ε² < η² = 1 only
    // through the correction for the number of groups.
    let coordinates = (0..<40).map { Double($0 % 4) }
    let scores = coordinates.map { $0 * 10 + Double.random(in: 0..<1) }
    let decisive = try XCTUnwrap(
      Importance.estimate(parameter: "c", coordinates: coordinates, scores: scores, categorical: false))
    XCTAssertGreaterThan(decisive.share, 0.9)
    XCTAssertNil(
      Importance.estimate(parameter: "d", coordinates: [1, 1, 1], scores: [1, 2, 3], categorical: false),
      "a constant explains nothing and is not estimated")
  }

  func testRanksAverageTiesAndPutNonFiniteLast() {
    XCTAssertEqual(Importance.ranks([1, .nan, .infinity, 0]), [2, 3.5, 3.5, 1])
    XCTAssertEqual(Importance.ranks([2, 2, 1]), [2.5, 2.5, 1])
  }

  func testContinuousParametersAreBinnedByEqualCounts() throws {
    // 80 distinct values → 10 bins of 8; the metric is a step in the parameter.
    let coordinates = (0..<80).map { Double($0) / 10 }
    let scores = coordinates.map { $0 < 4 ? 1.0 + $0 / 100 : 2.0 + $0 / 100 }
    let estimate = try XCTUnwrap(
      Importance.estimate(parameter: "x", coordinates: coordinates, scores: scores, categorical: false))
    XCTAssertEqual(estimate.groups, 10)
    XCTAssertGreaterThan(estimate.share, 0.95)
  }

  // MARK: Drawing helpers

  func testTicksAndColourScales() {
    XCTAssertEqual(SVG.logTicks(0.001...0.1), [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1])
    XCTAssertEqual(SVG.logTicks(1e-6...1), [1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 0.1, 1].map { $0 })
    XCTAssertEqual(SVG.ticks(0...1), [0, 0.2, 0.4, 0.6, 0.8, 1].map { $0 })
    XCTAssertEqual(SVG.viridis(0), "#440154")
    XCTAssertEqual(SVG.viridis(1), "#B4DE2C")
    XCTAssertEqual(SVG.viridis(.nan), "#440154")
    XCTAssertEqual(Set(SVG.palette).count, 8)
    XCTAssertEqual(metricScale([0.1, 0.5]), .linear)
    XCTAssertEqual(metricScale([0.02, 0.6]), .log)
    XCTAssertEqual(metricScale([1e-4, 10]), .log)
    XCTAssertEqual(metricScale([0, 10]), .linear, "zero cannot be drawn on a log axis")
  }

  /// A constant series gets a band around its value (a fixed learning rate of 0.01 is not
  /// drawn on a −1…1 axis, where it would read as 0).
  func testAConstantSeriesKeepsItsScale() {
    XCTAssertEqual(Chart.domain(Chart.Axis(title: "lr"), [0.01, 0.01]), 0.005...0.015)
    XCTAssertEqual(Chart.domain(Chart.Axis(title: "x"), [0, 0]), -1...1)
    XCTAssertEqual(Chart.domain(Chart.Axis(title: "x"), [-4, -4]), -6 ... -2)
  }
}
