import Foundation
import XCTest

@testable import Training

final class DataTests: XCTestCase {
  /// A data file is a regular file of bounded size: `/dev/zero` (which read until memory ran
  /// out) and a directory are refused at once, naming the path.
  func testOnlyRegularFilesAreRead() {
    for path in ["/dev/zero", "/tmp"] {
      XCTAssertThrowsError(try CSVLoader.load(path: path, target: nil, task: nil)) { error in
        XCTAssertEqual("\(error)", "\(path): not a regular file (a directory, device or FIFO is not data)")
      }
    }
  }

  func testDigitsShipsWithThePackage() throws {
    let digits = try Digits.load()
    XCTAssertEqual(digits.rows, 1797)
    XCTAssertEqual(digits.featureCount, 64)
    XCTAssertEqual(digits.task, .classification(classes: 10))
    XCTAssertEqual(digits.features.max(), 16)
    XCTAssertEqual(digits.features.min(), 0)
    // The first image of the scikit-learn copy is a 0.
    XCTAssertEqual(digits.labels[0], 0)
    XCTAssertEqual(Array(digits.features[0..<8]), [0, 0, 5, 13, 9, 1, 0, 0])
    let counts = Dictionary(grouping: digits.labels, by: { $0 }).mapValues(\.count)
    XCTAssertEqual(counts.count, 10)
    XCTAssertTrue(counts.values.allSatisfy { (174...183).contains($0) })
  }

  func testSplitIsSeededAndStandardizedWithTrainingStatisticsOnly() throws {
    let spec = DataSpec(dataset: .digits, validation: 0.2, standardize: true, seed: 3)
    let a = try spec.prepare(), b = try spec.prepare()
    XCTAssertEqual(a.training.rows, 1438)
    XCTAssertEqual(a.validation.rows, 359)
    XCTAssertEqual(a.training.features, b.training.features)
    XCTAssertEqual(a.validation.labels, b.validation.labels)
    var other = spec
    other.seed = 4
    XCTAssertNotEqual(try other.prepare().validation.labels, a.validation.labels)
    // Training columns have mean 0 and standard deviation 1 (or are constant); validation
    // columns use the training statistics, so they are not exactly standardized.
    let d = a.training.featureCount
    for j in [10, 20, 36] {
      let column = (0..<a.training.rows).map { Double(a.training.features[$0 * d + j]) }
      let mean = column.reduce(0, +) / Double(column.count)
      let variance = column.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(column.count)
      XCTAssertEqual(mean, 0, accuracy: 1e-4)
      XCTAssertEqual(variance, 1, accuracy: 1e-3)
      let held = (0..<a.validation.rows).map { Double(a.validation.features[$0 * d + j]) }
      XCTAssertNotEqual(held.reduce(0, +) / Double(held.count), 0, accuracy: 1e-6)
    }
  }

  func testSyntheticSetsAreSeededAndShaped() throws {
    for source in [DataSpec.Source.spirals, .moons, .circles, .blobs, .xor, .sine] {
      let spec = DataSpec(dataset: source, seed: 5, samples: 300)
      let a = try spec.loadRows(), b = try spec.loadRows()
      XCTAssertEqual(a.rows, 300, "\(source)")
      XCTAssertEqual(a.features, b.features, "\(source) is not reproducible")
      var other = spec
      other.seed = 6
      XCTAssertNotEqual(try other.loadRows().features, a.features, "\(source) ignores its seed")
      XCTAssertTrue(a.features.allSatisfy(\.isFinite))
      if source == .sine {
        XCTAssertEqual(a.task, .regression(outputs: 1))
        // y ≈ sin x.
        let error = zip(a.features, a.targets).map { abs(Double($1) - sin(Double($0))) }.max()!
        XCTAssertLessThan(error, 0.6)
      } else {
        XCTAssertTrue(a.task.isClassification)
      }
    }
    let blobs = try DataSpec(dataset: .blobs, samples: 90, classes: 5, dimensions: 3).loadRows()
    XCTAssertEqual(blobs.featureCount, 3)
    XCTAssertEqual(blobs.task, .classification(classes: 5))
  }

  func testCSVWithWordLabelsAndAChosenTarget() throws {
    let text = """
      species, length, width,weight
      "cat", 1.5, 2, 3
      dog, 2.5, 3.5, -1

      cat, 0, 0, 0e0
      """
    let (data, classes) = try CSVLoader.parse(
      text: text, source: "t.csv", target: "species", task: .classification)
    XCTAssertEqual(classes, ["cat", "dog"])
    XCTAssertEqual(data.labels, [0, 1, 0])
    XCTAssertEqual(data.featureCount, 3)
    XCTAssertEqual(data.features, [1.5, 2, 3, 2.5, 3.5, -1, 0, 0, 0])
    let (regression, _) = try CSVLoader.parse(
      text: "a,b,y\n1,2,0.5\n3,4,1.5\n", source: "r.csv", target: nil, task: .regression)
    XCTAssertEqual(regression.task, .regression(outputs: 1))
    XCTAssertEqual(regression.targets, [0.5, 1.5])
  }

  func testCSVErrorsNameTheLine() {
    func error(_ text: String, target: String? = nil, task: DataSpec.CSVTask? = .classification) -> String {
      do {
        _ = try CSVLoader.parse(text: text, source: "bad.csv", target: target, task: task)
        return "no error"
      } catch { return "\(error)" }
    }
    XCTAssertEqual(
      error("a,b,label\n1,2,0\n3,x,1\n"), "bad.csv:3: column 'b' is not a finite number in this row (a cell's text is not shown)")
    XCTAssertEqual(
      error("a,b,label\n1,2,0\n\n3,4\n"), "bad.csv:4: expected 3 fields as in the header, found 2")
    XCTAssertEqual(
      error("a,b,y\n1,2,nan\n", task: .regression),
      "bad.csv:2: target 'y' is missing ('nan'); remove the row or give its value")
    XCTAssertEqual(
      error("a,b,y\n1,2,inf\n3,4,1\n", task: .regression),
      "bad.csv:2: target 'y' is not a finite number in this row (data.task is regression; a cell's text is not shown)")
    // A NaN label is not a class; a file without a header is not silently one row short.
    XCTAssertEqual(
      error("a,b,label\n1,2,0\n3,4,NaN\n"),
      "bad.csv:3: target 'label' is missing ('NaN'); remove the row or give its value")
    XCTAssertTrue(error("1,2,0\n3,4,1\n").hasPrefix("bad.csv:1: the first line holds only numbers (1,2,0…)"))
    XCTAssertTrue(
      error("a,b,label\n1,2,0\n", target: "lable").contains("no column named 'lable' (did you mean 'label'?)")
    )
    XCTAssertEqual(error(""), "bad.csv: the file is empty")
    XCTAssertEqual(error("a,label\n"), "bad.csv: the file has a header but no rows")
    XCTAssertTrue(error("a,label\n1,x\n2,x\n").contains("single class"))
  }

  /// A float target with many distinct values is regression unless told otherwise; told it
  /// is classification, that is an error naming the fix.
  func testAContinuousTargetIsRegression() throws {
    var text = "x,y\n"
    for i in 0..<100 { text += "\(i),\(Double(i) * 0.37 + 0.01)\n" }
    let (inferred, _) = try CSVLoader.parse(text: text, source: "f.csv", target: nil, task: nil)
    XCTAssertEqual(inferred.task, .regression(outputs: 1))
    XCTAssertThrowsError(try CSVLoader.parse(text: text, source: "f.csv", target: nil, task: .classification))
    {
      XCTAssertTrue("\($0)".contains("100 distinct numbers in 100 rows"), "\($0)")
      XCTAssertTrue("\($0)".contains("set data.task: regression"), "\($0)")
    }
    // Whole-number labels stay classes.
    let (labels, _) = try CSVLoader.parse(
      text: "x,label\n1,0\n2,1\n3,2\n4,0\n", source: "l.csv", target: nil, task: nil)
    XCTAssertEqual(labels.task, .classification(classes: 3))
  }

  func testCSVFilesIncludingGzip() throws {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sweepd-csv-\(getpid())")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    var text = "x1,x2,label\n"
    for i in 0..<40 { text += "\(i % 7),\(Double(i) / 3),\(i % 2 == 0 ? "even" : "odd")\n" }
    let plain = directory.appendingPathComponent("t.csv")
    try text.write(to: plain, atomically: true, encoding: .utf8)
    let gzip = Process()
    gzip.executableURL = URL(fileURLWithPath: "/bin/gzip")
    gzip.arguments = ["-k", plain.path]
    try gzip.run()
    gzip.waitUntilExit()
    for path in [plain.path, plain.path + ".gz"] {
      let spec = DataSpec(dataset: .csv, path: path, target: "label")
      XCTAssertEqual(spec.problems(), [])
      let prepared = try spec.prepare()
      XCTAssertEqual(prepared.training.rows + prepared.validation.rows, 40)
      XCTAssertEqual(prepared.training.task, .classification(classes: 2))
    }
    XCTAssertEqual(
      DataSpec(dataset: .csv, path: directory.appendingPathComponent("missing.csv").path).problems(),
      ["data.path: no such file '\(directory.appendingPathComponent("missing.csv").path)'"])
    XCTAssertEqual(DataSpec(dataset: .csv).problems(), ["data.path is required for dataset csv"])
  }

  func testIDXRoundTripAndErrors() throws {
    func idx(type: UInt8, shape: [Int], payload: [UInt8]) -> Data {
      var bytes: [UInt8] = [0, 0, type, UInt8(shape.count)]
      for size in shape {
        bytes += [UInt8(size >> 24), UInt8((size >> 16) & 255), UInt8((size >> 8) & 255), UInt8(size & 255)]
      }
      return Data(bytes + payload)
    }
    let images = idx(type: 0x08, shape: [3, 2, 2], payload: Array(0..<12))
    let parsed = try IDXLoader.parse(images, source: "i")
    XCTAssertEqual(parsed.shape, [3, 2, 2])
    XCTAssertEqual(parsed.values, (0..<12).map(Float.init))
    // float32, big-endian: 1.5 = 0x3FC00000.
    let floats = try IDXLoader.parse(idx(type: 0x0D, shape: [1], payload: [0x3F, 0xC0, 0, 0]), source: "f")
    XCTAssertEqual(floats.values, [1.5])
    XCTAssertThrowsError(try IDXLoader.parse(idx(type: 0x08, shape: [5], payload: [1, 2]), source: "short")) {
      error in
      XCTAssertTrue("\(error)".contains("needs 5 bytes of data, the file has 2"), "\(error)")
    }
    XCTAssertThrowsError(try IDXLoader.parse(Data([1, 2, 3, 4]), source: "junk"))
    XCTAssertThrowsError(try IDXLoader.parse(idx(type: 0x42, shape: [1], payload: [0]), source: "type"))

    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sweepd-idx-\(getpid())")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    let imagePath = directory.appendingPathComponent("images.idx").path
    let labelPath = directory.appendingPathComponent("labels.idx").path
    try idx(type: 0x08, shape: [3, 2, 2], payload: Array(0..<12)).write(to: URL(fileURLWithPath: imagePath))
    try idx(type: 0x08, shape: [3], payload: [2, 0, 1]).write(to: URL(fileURLWithPath: labelPath))
    let dataset = try IDXLoader.load(images: imagePath, labels: labelPath)
    XCTAssertEqual(dataset.featureCount, 4)
    XCTAssertEqual(dataset.labels, [2, 0, 1])
    XCTAssertEqual(dataset.task, .classification(classes: 3))
    try idx(type: 0x08, shape: [2], payload: [0, 1]).write(to: URL(fileURLWithPath: labelPath))
    XCTAssertThrowsError(try IDXLoader.load(images: imagePath, labels: labelPath)) { error in
      XCTAssertTrue("\(error)".contains("2 labels for 3 images"), "\(error)")
    }
  }

  func testCorruptGzipIsAnError() {
    XCTAssertThrowsError(try Gzip.decompress(Data([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 1, 2, 3])))
  }
}
