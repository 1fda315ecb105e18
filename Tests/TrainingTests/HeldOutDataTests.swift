import Foundation
import XCTest

@testable import Training

/// Test rows, folds and refits: what each stage of a run may see.
final class HeldOutDataTests: XCTestCase {
  /// Stratified hold-out: the total is ⌊n·f + ½⌋, each class holds within one row of its
  /// share, and the parts partition the rows.
  func testStratifiedHoldOutKeepsEveryClassShare() throws {
    var random = RandomSource.derived(seed: 7, stream: "t")
    // Unbalanced classes: 500, 300, 150, 50 rows.
    let labels: [Int32] = (0..<1000).map { $0 < 500 ? 0 : $0 < 800 ? 1 : $0 < 950 ? 2 : 3 }
    let table = Dataset(
      features: (0..<1000).map(Float.init), featureCount: 1, labels: labels.shuffledDeterministically(),
      classes: 4)
    for fraction in [0.1, 0.2, 0.33, 0.5] {
      let (kept, held) = DataSplits.holdOut(table, fraction: fraction, stratified: true, random: &random)
      XCTAssertEqual(held.count, Int((1000 * fraction).rounded()))
      XCTAssertEqual(Set(kept).union(held), Set(0..<1000))
      XCTAssertTrue(Set(kept).isDisjoint(with: held))
      for c in Int32(0)..<4 {
        let total = labels.filter { $0 == c }.count
        let inHeld = held.filter { table.labels[$0] == c }.count
        XCTAssertLessThanOrEqual(
          abs(Double(inHeld) - Double(total) * fraction), 1, "class \(c) at \(fraction)")
      }
    }
  }

  /// Folds partition the rows exactly; sizes and per-class counts differ by at most one.
  func testFoldsPartitionTheRowsAndStratify() throws {
    var random = RandomSource.derived(seed: 3, stream: "t")
    let labels: [Int32] = (0..<503).map { Int32($0 % 7 == 0 ? 2 : $0 % 3 == 0 ? 1 : 0) }
    let table = Dataset(features: (0..<503).map(Float.init), featureCount: 1, labels: labels, classes: 3)
    let rows = Array(0..<503).filter { $0 % 11 != 0 }
    for k in [2, 5, 10] {
      let folds = DataSplits.folds(rows, of: table, folds: k, stratified: true, random: &random)
      XCTAssertEqual(folds.count, k)
      XCTAssertEqual(folds.flatMap { $0 }.sorted(), rows)
      let sizes = folds.map(\.count)
      XCTAssertLessThanOrEqual(sizes.max()! - sizes.min()!, 1)
      for c in Int32(0)..<3 {
        let counts = folds.map { fold in fold.filter { labels[$0] == c }.count }
        XCTAssertLessThanOrEqual(counts.max()! - counts.min()!, 1, "class \(c), \(k) folds")
      }
    }
  }

  /// The search never holds a test row; the refit trains on exactly the search's training
  /// and validation rows and tests on the rest; the same split every time.
  func testSearchNeverHoldsTestRowsAndRefitUsesTrainingPlusValidation() throws {
    var spec = DataSpec(dataset: .digits, seed: 5)
    spec.test = 0.2
    let search = try spec.prepare()
    XCTAssertNil(search.test)
    let seen = Set(search.training.rowIDs + search.validation.rowIDs)
    XCTAssertEqual(seen.count, search.training.rows + search.validation.rows)
    spec.stage = .refit
    let refit = try spec.prepare()
    let test = try XCTUnwrap(refit.test)
    XCTAssertEqual(test.rows, 359)
    XCTAssertTrue(seen.isDisjoint(with: test.rowIDs), "a test row was in the search's data")
    XCTAssertEqual(Set(refit.training.rowIDs), seen)
    XCTAssertEqual(refit.validation.rows, 0)
    XCTAssertEqual(seen.union(test.rowIDs), Set(0..<1797))
    // Stratified: each digit's test share within one row of 20 %.
    let all = try spec.loadRows()
    for c in Int32(0)..<10 {
      let total = all.labels.filter { $0 == c }.count
      let held = test.labels.filter { $0 == c }.count
      XCTAssertLessThanOrEqual(abs(Double(held) - Double(total) * 0.2), 1)
    }
    spec.stage = .evaluate
    let evaluate = try spec.prepare()
    XCTAssertEqual(evaluate.training.rowIDs, search.training.rowIDs)
    XCTAssertEqual(evaluate.test?.rowIDs, test.rowIDs)
  }

  /// k folds: each validates on one fold, trains on the others, all standardized by their
  /// own training rows; test rows are in none.
  func testFoldsCoverTheNonTestRows() throws {
    var spec = DataSpec(dataset: .digits, seed: 1)
    spec.test = 0.25
    spec.folds = 4
    let data = try spec.prepare()
    XCTAssertEqual(data.splits.count, 4)
    let validation = data.splits.flatMap(\.validation.rowIDs)
    XCTAssertEqual(validation.count, Set(validation).count)
    for split in data.splits {
      XCTAssertEqual(Set(split.training.rowIDs).union(split.validation.rowIDs), Set(validation))
      XCTAssertTrue(Set(split.training.rowIDs).isDisjoint(with: split.validation.rowIDs))
      XCTAssertNil(split.test)
      // Standardized by its training rows: every feature of the training rows has mean ≈ 0.
      let d = split.training.featureCount
      for j in 0..<d {
        var sum = 0.0
        for r in 0..<split.training.rows { sum += Double(split.training.features[r * d + j]) }
        XCTAssertEqual(sum / Double(split.training.rows), 0, accuracy: 1e-4)
      }
    }
    spec.stage = .refit
    let testIDs = try XCTUnwrap(spec.prepare().test).rowIDs
    XCTAssertEqual(Set(validation).union(testIDs), Set(0..<1797))
    XCTAssertTrue(Set(validation).isDisjoint(with: testIDs))
  }

  /// A k-fold trial reports, each epoch, the mean over folds of what each fold alone would
  /// report, with the population standard deviation; on 1 core as on 3.
  func testFoldTrialReportsTheMeanOfItsFolds() throws {
    var spec = TrialSpec(
      data: DataSpec(dataset: .moons, seed: 2, samples: 300), model: ModelSpec(hidden: [8]), epochs: 3,
      batchSize: 16, seed: 4)
    spec.data.folds = 3
    let together = try TrialRunner(spec: spec, cores: 3).run().metrics
    XCTAssertEqual(
      try TrialRunner(spec: spec, cores: 1).run().metrics.map(\.valError), together.map(\.valError))
    let data = try spec.data.prepare()
    var alone: [[EpochMetrics]] = []
    for split in data.splits {
      let single = PreparedData(splits: [split], description: "fold")
      alone.append(try TrialRunner(spec: spec, cores: 1, data: single).run().metrics)
    }
    for epoch in 0..<3 {
      let losses = alone.map { $0[epoch].valLoss! }
      let mean = losses.reduce(0, +) / 3
      let deviation = (losses.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / 3).squareRoot()
      XCTAssertEqual(together[epoch].valLoss!, mean, accuracy: 1e-12)
      XCTAssertEqual(together[epoch].values["val_loss_std"]!, deviation, accuracy: 1e-12)
      XCTAssertEqual(
        together[epoch].valError!, alone.map { $0[epoch].valError! }.reduce(0, +) / 3, accuracy: 1e-12)
      XCTAssertGreaterThan(together[epoch].values["val_error_std"] ?? -1, -1)
    }
  }

  /// `evaluate` retrains the trial itself (the same validation curve, bit for bit) and
  /// tests it once, after the stage's last epoch; `refit` has no validation and tests once.
  func testEvaluateAndRefitTestOnlyAtTheirLastEpoch() throws {
    var spec = TrialSpec(
      data: DataSpec(dataset: .blobs, seed: 9, samples: 400), model: ModelSpec(hidden: [8]), epochs: 6,
      batchSize: 32, seed: 1)
    spec.data.test = 0.2
    let search = try TrialRunner(spec: spec).run().metrics
    XCTAssertTrue(search.allSatisfy { $0.testLoss == nil && $0.testError == nil })
    spec.data.stage = .evaluate
    spec.data.stageEpochs = 4
    let evaluated = try TrialRunner(spec: spec).run()
    XCTAssertEqual(evaluated.epochsRun, 4)
    XCTAssertEqual(evaluated.metrics.map(\.valLoss), search.prefix(4).map(\.valLoss))
    XCTAssertTrue(evaluated.metrics.dropLast().allSatisfy { $0.testError == nil })
    let testError = try XCTUnwrap(evaluated.metrics.last?.testError)
    XCTAssertEqual(evaluated.metrics.last!.testAccuracy!, 1 - testError, accuracy: 1e-12)
    spec.data.stage = .refit
    let refit = try TrialRunner(spec: spec).run()
    XCTAssertEqual(refit.epochsRun, 4)
    XCTAssertTrue(refit.metrics.allSatisfy { $0.valLoss == nil })
    XCTAssertNotNil(refit.metrics.last?.testLoss)
    XCTAssertNil(refit.metrics.first?.testLoss)
  }

  /// A CSV test file is read like the training file: its class names are mapped to the
  /// training file's numbering; an unknown class or a different width is an error naming
  /// the file.
  func testCSVTestFileUsesTheTrainingClasses() throws {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("heldout-\(getpid())")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    let train = directory.appendingPathComponent("train.csv").path
    let test = directory.appendingPathComponent("test.csv").path
    var lines = ["x,y,label"]
    for i in 0..<60 { lines.append("\(i % 3),\(i % 5),\(["ant", "bee", "cat"][i % 3])") }
    try lines.joined(separator: "\n").write(toFile: train, atomically: true, encoding: .utf8)
    // Only two classes, in another order: "cat" must still be class 2, "bee" class 1.
    try "x,y,label\n2,1,cat\n1,0,bee\n2,3,cat\n".write(toFile: test, atomically: true, encoding: .utf8)
    var spec = DataSpec(dataset: .csv, path: train)
    spec.testPath = test
    spec.stage = .refit
    let data = try spec.prepare()
    XCTAssertEqual(data.test?.labels, [2, 1, 2])
    XCTAssertEqual(data.training.rows, 60)
    spec.stage = .search
    XCTAssertNil(try spec.prepare().test)
    try "x,y,label\n2,1,dog\n".write(toFile: test, atomically: true, encoding: .utf8)
    spec.stage = .refit
    XCTAssertThrowsError(try spec.prepare()) { error in
      XCTAssertTrue(
        "\(error)".contains(":2: class 'dog' is not among the training file's classes (ant, bee, cat)"),
        "\(error)")
      XCTAssertTrue("\(error)".contains(test))
    }
    try "x,label\n2,cat\n".write(toFile: test, atomically: true, encoding: .utf8)
    XCTAssertThrowsError(try spec.prepare()) { error in
      XCTAssertTrue("\(error)".contains("1 features per row; the training data has 2"), "\(error)")
    }
  }

  /// Each combination that cannot mean anything is refused, naming its keys.
  func testConflictingKeysAreRefused() throws {
    var spec = DataSpec(dataset: .digits)
    spec.test = 0.2
    spec.testPath = "/nonexistent.csv"
    XCTAssertTrue(spec.problems().contains { $0.contains("data.test and data.test_path exclude each other") })
    spec = DataSpec(dataset: .digits)
    spec.refit = true
    XCTAssertTrue(spec.problems().contains { $0.contains("data.refit needs held-out test data") })
    spec = DataSpec(dataset: .digits)
    spec.folds = 1
    XCTAssertTrue(
      spec.problems().contains { $0.contains("data.folds must be a whole number in 2…100, got 1") })
    spec = DataSpec(dataset: .digits)
    spec.test = 1.5
    XCTAssertTrue(spec.problems().contains { $0.contains("data.test must be in (0, 1), got 1.5") })
    XCTAssertThrowsError(
      try JSONDecoder().decode(
        DataSpec.self, from: Data(#"{"dataset": "digits", "folds": 5, "validation": 0.2}"#.utf8))
    ) { error in
      XCTAssertTrue("\(error)".contains("excludes data.validation"), "\(error)")
    }
  }

  /// The stage travels in the trial spec; a search spec's JSON does not mention it.
  func testStageRoundTrips() throws {
    var spec = DataSpec(dataset: .digits)
    spec.test = 0.2
    spec.folds = 3
    let search = try JSONEncoder().encode(spec)
    XCTAssertFalse(String(decoding: search, as: UTF8.self).contains("stage"))
    XCTAssertEqual(try JSONDecoder().decode(DataSpec.self, from: search), spec)
    spec.stage = .refit
    spec.stageEpochs = 12
    XCTAssertEqual(try JSONDecoder().decode(DataSpec.self, from: JSONEncoder().encode(spec)), spec)
    XCTAssertFalse(DataSpec.configKeys.contains("stage"))
    XCTAssertTrue(DataSpec.configKeys.contains("test_path"))
  }
}

extension Array where Element == Int32 {
  /// A fixed permutation (so classes are interleaved, not in blocks).
  fileprivate func shuffledDeterministically() -> [Int32] {
    var copy = self
    var random = RandomSource.derived(seed: 11, stream: "labels")
    random.shuffle(&copy)
    return copy
  }
}
