import Foundation
import Vocabulary

/// Which data a trial trains on and how it is split. Config key `data`.
public struct DataSpec: Hashable, Sendable, Codable {
  public enum Source: String, CaseIterable, Codable, Sendable {
    case digits, spirals, moons, circles, blobs, xor, sine, csv, idx
  }

  public enum CSVTask: String, Codable, Sendable {
    case classification, regression
  }

  /// The data set (`dataset:` in configs).
  public var dataset: Source
  /// Fraction of rows held out for validation, in (0, 1). Default 0.2.
  public var validation: Double
  /// Standardize features with training-split statistics. Default true.
  public var standardize: Bool
  /// Seed of the split and of synthetic generation (a sweep sets its own seed here, so all
  /// trials of a sweep see the same split). Default 0.
  public var seed: UInt64
  /// Synthetic sets: number of samples (default 1000), noise (default per set), classes
  /// (spirals and blobs, default 3), feature dimensions (blobs, default 2).
  public var samples: Int?
  public var noise: Double?
  public var classes: Int?
  public var dimensions: Int?
  /// CSV: the file, its target column (default: the last) and the task (default
  /// classification).
  public var path: String?
  public var target: String?
  public var task: CSVTask?
  /// IDX: the image and label files.
  public var images: String?
  public var labels: String?
  /// The SHA-256 (64 hex digits) of the file at `path`, `images`, `labels`: set by the
  /// coordinator when the submitting client uploaded the file (config keys `path_sha256`, …).
  /// A worker then fetches the file by this digest instead of looking for the path on its
  /// own disk, and the path is kept for display only.
  public var pathSHA256: String?
  public var imagesSHA256: String?
  public var labelsSHA256: String?
  /// Held-out test rows, never seen while the sweep runs: a seeded fraction of the rows in
  /// (0, 1), taken before the validation split (stratified for classification), or a file
  /// of its own (`test_path` for CSV, `test_images` + `test_labels` for IDX). Default none.
  public var test: Double?
  public var testPath: String?
  public var testImages: String?
  public var testLabels: String?
  public var testPathSHA256: String?
  public var testImagesSHA256: String?
  public var testLabelsSHA256: String?
  /// With test data: refit the selected configuration on training + validation rows before
  /// testing it (default true), or test the selected trial's own model (false).
  public var refit: Bool?
  /// k-fold cross-validation (k ≥ 2): a trial trains k models in lockstep, each validated
  /// on its fold, and reports the mean and standard deviation over folds. Default none (one
  /// validation split of `validation` rows).
  public var folds: Int?
  /// Which part of the data a run uses (set by the coordinator, not by configs): `search`
  /// (the default: training and validation rows only; test rows are not kept), `refit`
  /// (train on every non-test row, test at the end) or `evaluate` (the search's splits,
  /// then test each model at the end).
  public var stage: Stage
  /// For `refit` and `evaluate`: the epoch after which training ends and the test rows are
  /// scored (default: `training.epochs`).
  public var stageEpochs: Int?

  public enum Stage: String, Codable, Sendable, CaseIterable {
    case search, refit, evaluate
  }

  /// Whether the spec names held-out test rows.
  public var hasTest: Bool { test != nil || testPath != nil || testImages != nil || testLabels != nil }
  /// Whether a finished sweep refits its selected configuration before testing it.
  public var refits: Bool { hasTest && (refit ?? true) }

  /// The file references of this spec: (key, path, digest) for `path`, `images`, `labels`.
  public var files: [(key: String, path: String, sha256: String?)] {
    [
      ("path", path, pathSHA256), ("images", images, imagesSHA256), ("labels", labels, labelsSHA256),
      ("test_path", testPath, testPathSHA256), ("test_images", testImages, testImagesSHA256),
      ("test_labels", testLabels, testLabelsSHA256),
    ]
    .compactMap { key, path, digest in path.map { (key, $0, digest) } }
  }

  /// The files a run in this spec's stage reads: a search never reads (or fetches) the test
  /// file; a refit or an evaluation reads them all.
  public var filesRead: [(key: String, path: String, sha256: String?)] {
    stage == .search ? files.filter { !$0.key.hasPrefix("test_") } : files
  }

  /// The keys that name data files (each with a `<key>_sha256` digest key).
  public static let fileKeys = ["path", "images", "labels", "test_path", "test_images", "test_labels"]

  /// Replaces the file named by `key` ("path", "images", "labels") with `localPath`,
  /// keeping its digest.
  public mutating func relocate(_ key: String, to localPath: String) {
    switch key {
    case "path": path = localPath
    case "images": images = localPath
    case "labels": labels = localPath
    case "test_path": testPath = localPath
    case "test_images": testImages = localPath
    case "test_labels": testLabels = localPath
    default: break
    }
  }

  public init(
    dataset: Source, validation: Double = 0.2, standardize: Bool = true, seed: UInt64 = 0,
    samples: Int? = nil, noise: Double? = nil, classes: Int? = nil, dimensions: Int? = nil,
    path: String? = nil, target: String? = nil, task: CSVTask? = nil, images: String? = nil,
    labels: String? = nil, pathSHA256: String? = nil, imagesSHA256: String? = nil, labelsSHA256: String? = nil
  ) {
    self.pathSHA256 = pathSHA256
    self.imagesSHA256 = imagesSHA256
    self.labelsSHA256 = labelsSHA256
    self.dataset = dataset
    self.validation = validation
    self.standardize = standardize
    self.seed = seed
    self.samples = samples
    self.noise = noise
    self.classes = classes
    self.dimensions = dimensions
    self.path = path
    self.target = target
    self.task = task
    self.images = images
    self.labels = labels
    self.stage = .search
  }

  /// The keys of the `data` section.
  /// The digests (`path_sha256`, …) are not among them: the coordinator sets them from what
  /// the client uploaded, and a config cannot claim one; nor is the coordinator's `stage`.
  public static var configKeys: [String] {
    CodingKeys.allCases.map(\.rawValue).filter { !$0.hasSuffix("_sha256") && !$0.hasPrefix("stage") }
  }

  enum CodingKeys: String, CodingKey, CaseIterable {
    case dataset, validation, standardize, seed, samples, noise, classes, dimensions, path, target, task
    case images, labels
    case test, testPath = "test_path", testImages = "test_images", testLabels = "test_labels", refit, folds
    case pathSHA256 = "path_sha256", imagesSHA256 = "images_sha256", labelsSHA256 = "labels_sha256"
    case testPathSHA256 = "test_path_sha256", testImagesSHA256 = "test_images_sha256"
    case testLabelsSHA256 = "test_labels_sha256"
    case stage, stageEpochs = "stage_epochs"
  }

  public init(from decoder: Decoder) throws {
    try rejectUnknownKeys(decoder, allowed: CodingKeys.allCases.map(\.rawValue), in: "data")
    let c = try decoder.container(keyedBy: CodingKeys.self)
    if c.contains(.folds) && c.contains(.validation) {
      throw DecodingError.dataCorruptedError(
        forKey: .folds, in: c,
        debugDescription:
          "excludes data.validation: with k folds each fold is the validation rows of one model; remove validation"
      )
    }
    self.init(
      dataset: try c.decode(Source.self, forKey: .dataset),
      validation: try c.decodeIfPresent(Double.self, forKey: .validation) ?? 0.2,
      standardize: try c.decodeIfPresent(Bool.self, forKey: .standardize) ?? true,
      seed: try c.decodeIfPresent(UInt64.self, forKey: .seed) ?? 0,
      samples: try c.decodeIfPresent(Int.self, forKey: .samples),
      noise: try c.decodeIfPresent(Double.self, forKey: .noise),
      classes: try c.decodeIfPresent(Int.self, forKey: .classes),
      dimensions: try c.decodeIfPresent(Int.self, forKey: .dimensions),
      path: try c.decodeIfPresent(String.self, forKey: .path),
      target: try c.decodeIfPresent(String.self, forKey: .target),
      task: try c.decodeIfPresent(CSVTask.self, forKey: .task),
      images: try c.decodeIfPresent(String.self, forKey: .images),
      labels: try c.decodeIfPresent(String.self, forKey: .labels),
      pathSHA256: try c.decodeIfPresent(String.self, forKey: .pathSHA256),
      imagesSHA256: try c.decodeIfPresent(String.self, forKey: .imagesSHA256),
      labelsSHA256: try c.decodeIfPresent(String.self, forKey: .labelsSHA256))
    test = try c.decodeIfPresent(Double.self, forKey: .test)
    testPath = try c.decodeIfPresent(String.self, forKey: .testPath)
    testImages = try c.decodeIfPresent(String.self, forKey: .testImages)
    testLabels = try c.decodeIfPresent(String.self, forKey: .testLabels)
    testPathSHA256 = try c.decodeIfPresent(String.self, forKey: .testPathSHA256)
    testImagesSHA256 = try c.decodeIfPresent(String.self, forKey: .testImagesSHA256)
    testLabelsSHA256 = try c.decodeIfPresent(String.self, forKey: .testLabelsSHA256)
    refit = try c.decodeIfPresent(Bool.self, forKey: .refit)
    folds = try c.decodeIfPresent(Int.self, forKey: .folds)
    stage = try c.decodeIfPresent(Stage.self, forKey: .stage) ?? .search
    stageEpochs = try c.decodeIfPresent(Int.self, forKey: .stageEpochs)
  }

  public func encode(to encoder: Encoder) throws {
    var c = encoder.container(keyedBy: CodingKeys.self)
    try c.encode(dataset, forKey: .dataset)
    if folds == nil { try c.encode(validation, forKey: .validation) }
    try c.encode(standardize, forKey: .standardize)
    try c.encode(seed, forKey: .seed)
    try c.encodeIfPresent(samples, forKey: .samples)
    try c.encodeIfPresent(noise, forKey: .noise)
    try c.encodeIfPresent(classes, forKey: .classes)
    try c.encodeIfPresent(dimensions, forKey: .dimensions)
    try c.encodeIfPresent(path, forKey: .path)
    try c.encodeIfPresent(target, forKey: .target)
    try c.encodeIfPresent(task, forKey: .task)
    try c.encodeIfPresent(images, forKey: .images)
    try c.encodeIfPresent(labels, forKey: .labels)
    try c.encodeIfPresent(test, forKey: .test)
    try c.encodeIfPresent(testPath, forKey: .testPath)
    try c.encodeIfPresent(testImages, forKey: .testImages)
    try c.encodeIfPresent(testLabels, forKey: .testLabels)
    try c.encodeIfPresent(refit, forKey: .refit)
    try c.encodeIfPresent(folds, forKey: .folds)
    try c.encodeIfPresent(pathSHA256, forKey: .pathSHA256)
    try c.encodeIfPresent(imagesSHA256, forKey: .imagesSHA256)
    try c.encodeIfPresent(labelsSHA256, forKey: .labelsSHA256)
    try c.encodeIfPresent(testPathSHA256, forKey: .testPathSHA256)
    try c.encodeIfPresent(testImagesSHA256, forKey: .testImagesSHA256)
    try c.encodeIfPresent(testLabelsSHA256, forKey: .testLabelsSHA256)
    if stage != .search { try c.encode(stage, forKey: .stage) }
    try c.encodeIfPresent(stageEpochs, forKey: .stageEpochs)
  }

  /// Problems with this spec, each naming its key (empty when valid). Files are checked
  /// for existence here, unless they travel by digest (the worker fetches them); their
  /// contents when loaded.
  public func problems() -> [String] {
    var problems: [String] = []
    if !(validation > 0 && validation < 1) {
      problems.append("data.validation must be in (0, 1), got \(validation)")
    }
    if let samples, samples < 4 { problems.append("data.samples must be ≥ 4, got \(samples)") }
    if let noise, !(noise >= 0 && noise.isFinite) { problems.append("data.noise must be ≥ 0, got \(noise)") }
    if let classes, classes < 2 { problems.append("data.classes must be ≥ 2, got \(classes)") }
    if let dimensions, dimensions < 1 { problems.append("data.dimensions must be ≥ 1, got \(dimensions)") }
    if let test, !(test > 0 && test < 1) { problems.append("data.test must be in (0, 1), got \(test)") }
    if test != nil && (testPath != nil || testImages != nil || testLabels != nil) {
      problems.append(
        "data.test and data.\(testPath != nil ? "test_path" : "test_images") exclude each other: hold out a fraction of the rows or name a test file, not both"
      )
    }
    if let folds, !(2...100).contains(folds) {
      problems.append("data.folds must be a whole number in 2…100, got \(folds)")
    }
    if refit != nil && !hasTest {
      problems.append("data.refit needs held-out test data: set data.test (a fraction) or data.test_path")
    }
    if stage != .search && !hasTest {
      problems.append("data.stage \(stage.rawValue) needs held-out test data")
    }
    if let stageEpochs, stageEpochs < 1 {
      problems.append("data.stage_epochs must be ≥ 1, got \(stageEpochs)")
    }
    for (key, _, digest) in files {
      guard let digest else { continue }
      if digest.utf8.count != 64
        || !digest.utf8.allSatisfy({ (48...57).contains($0) || (97...102).contains($0) })
      {
        problems.append("data.\(key)_sha256 must be 64 lowercase hex digits (a SHA-256), got '\(digest)'")
      }
    }
    func exists(_ key: String, _ value: String, _ digest: String?) {
      if digest == nil && !FileManager.default.fileExists(atPath: value) {
        problems.append("data.\(key): no such file '\(value)'")
      }
    }
    switch dataset {
    case .csv:
      if let path {
        exists("path", path, pathSHA256)
      } else {
        problems.append("data.path is required for dataset csv")
      }
      if let testPath { exists("test_path", testPath, testPathSHA256) }
      if testImages != nil || testLabels != nil {
        problems.append(
          "data.test_images and data.test_labels are for dataset idx; a CSV's test file is data.test_path")
      }
    case .idx:
      for (key, value, digest) in [("images", images, imagesSHA256), ("labels", labels, labelsSHA256)] {
        if let value {
          exists(key, value, digest)
        } else {
          problems.append("data.\(key) is required for dataset idx")
        }
      }
      if (testImages == nil) != (testLabels == nil) {
        problems.append("data.test_images and data.test_labels go together: give both files or neither")
      }
      for (key, value, digest) in [
        ("test_images", testImages, testImagesSHA256), ("test_labels", testLabels, testLabelsSHA256),
      ] {
        if let value { exists(key, value, digest) }
      }
      if testPath != nil {
        problems.append(
          "data.test_path is for dataset csv; IDX test files are data.test_images and data.test_labels")
      }
    default:
      if testPath != nil || testImages != nil || testLabels != nil {
        problems.append(
          "data.test_path, test_images and test_labels name files; the built-in \(dataset.rawValue) set holds out test rows with data.test (a fraction)"
        )
      }
    }
    return problems
  }

  /// Loads or generates the rows (before splitting).
  public func loadRows() throws -> Dataset { try loadTable().rows }

  /// The rows and, for a CSV classification file, its class names (label i is name i).
  func loadTable() throws -> (rows: Dataset, classNames: [String]) {
    if let problem = problems().first { throw DataError(source: "data", message: problem) }
    var random = RandomSource.derived(seed: seed, stream: "synthetic")
    let n = samples ?? 1000
    switch dataset {
    case .digits: return (try Digits.load(), [])
    case .spirals:
      return (
        SyntheticData.spirals(samples: n, classes: classes ?? 3, noise: noise ?? 0.05, random: &random), []
      )
    case .moons: return (SyntheticData.moons(samples: n, noise: noise ?? 0.1, random: &random), [])
    case .circles: return (SyntheticData.circles(samples: n, noise: noise ?? 0.05, random: &random), [])
    case .blobs:
      return (
        SyntheticData.blobs(
          samples: n, classes: classes ?? 3, dimensions: dimensions ?? 2, noise: noise ?? 1, random: &random),
        []
      )
    case .xor: return (SyntheticData.xor(samples: n, noise: noise ?? 0.05, random: &random), [])
    case .sine: return (SyntheticData.sine(samples: n, noise: noise ?? 0.1, random: &random), [])
    case .csv:
      let (rows, names) = try CSVLoader.load(path: path!, target: target, task: task)
      return (rows, names)
    case .idx: return (try IDXLoader.load(images: images!, labels: labels!), [])
    }
  }

  /// The test file's rows, read like the training file and checked against it: the same
  /// features, the same task, and classes the training file has (labels renumbered to its).
  func loadTestFile(matching rows: Dataset, classNames: [String]) throws -> Dataset {
    var test: Dataset
    let source: String
    if let testPath {
      source = testPath
      let task: CSVTask = rows.task.isClassification ? .classification : .regression
      test = try CSVLoader.load(
        path: testPath, target: target, task: task, classes: rows.task.isClassification ? classNames : nil
      ).0
    } else {
      source = testImages!
      test = try IDXLoader.load(images: testImages!, labels: testLabels!)
      if case .classification(let classes) = rows.task, case .classification(let testClasses) = test.task {
        guard testClasses <= classes else {
          throw DataError(
            source: testLabels!,
            message: "labels go up to \(testClasses - 1); the training labels only to \(classes - 1)")
        }
        test.task = rows.task
      }
    }
    guard test.featureCount == rows.featureCount else {
      throw DataError(
        source: source,
        message: "\(test.featureCount) features per row; the training data has \(rows.featureCount)")
    }
    return test
  }

  /// Loads the rows and splits them, each split standardized with its own training rows'
  /// statistics:
  /// 1. test rows (`test`, a seeded stratified fraction, or the test file) are set apart
  ///    first, and kept only for the `refit` and `evaluate` stages;
  /// 2. `refit`: every other row trains;
  ///    otherwise `folds` seeded stratified folds (fold i validates model i), or a seeded
  ///    shuffle whose last `validation` fraction validates.
  public func prepare() throws -> PreparedData {
    var (rows, classNames) = try loadTable()
    var test: Dataset?
    var testNote = ""
    if let fraction = self.test {
      var random = RandomSource.derived(seed: seed, stream: "test")
      let (kept, held) = DataSplits.holdOut(rows, fraction: fraction, stratified: true, random: &random)
      guard !kept.isEmpty, !held.isEmpty else {
        throw DataError(
          source: dataset.rawValue,
          message: "\(rows.rows) rows cannot be split \(1 - fraction):\(fraction) into training and test rows"
        )
      }
      // The search never keeps the test rows: they are dropped here.
      if stage != .search { test = rows.subset(held) }
      testNote = stage == .search ? " (\(held.count) test rows held out)" : " + \(held.count) test rows"
      rows = rows.subset(kept)
    } else if testPath != nil || testImages != nil {
      // The search never reads the test file.
      if stage != .search {
        test = try loadTestFile(matching: rows, classNames: classNames)
        testNote = " + \(test!.rows) test rows"
      } else {
        testNote = " (test file held out)"
      }
    }
    var splits: [PreparedData.Split]
    let features = rows.featureCount
    if stage == .refit {
      splits = [PreparedData.Split(training: rows, validation: rows.subset([]))]
    } else if let folds {
      guard rows.rows >= folds else {
        throw DataError(source: dataset.rawValue, message: "\(rows.rows) rows cannot make \(folds) folds")
      }
      var random = RandomSource.derived(seed: seed, stream: "folds")
      let parts = DataSplits.folds(
        Array(0..<rows.rows), of: rows, folds: folds, stratified: true, random: &random)
      splits = (0..<folds).map { i in
        PreparedData.Split(
          training: rows.subset((0..<folds).filter { $0 != i }.flatMap { parts[$0] }),
          validation: rows.subset(parts[i]))
      }
    } else {
      var order = Array(0..<rows.rows)
      var random = RandomSource.derived(seed: seed, stream: "split")
      random.shuffle(&order)
      let validationRows = Int((Double(rows.rows) * validation).rounded())
      guard validationRows >= 1, rows.rows - validationRows >= 1 else {
        throw DataError(
          source: dataset.rawValue,
          message:
            "\(rows.rows) rows cannot be split \(1 - validation):\(validation) into two non-empty parts")
      }
      splits = [
        PreparedData.Split(
          training: rows.subset(Array(order[..<(rows.rows - validationRows)])),
          validation: rows.subset(Array(order[(rows.rows - validationRows)...])))
      ]
    }
    for i in splits.indices {
      splits[i].test = test
      if standardize {
        let statistics = Standardization(fitting: splits[i].training)
        statistics.apply(to: &splits[i].training)
        statistics.apply(to: &splits[i].validation)
        if splits[i].test != nil { statistics.apply(to: &splits[i].test!) }
      }
    }
    let first = splits[0]
    let description: String
    switch (stage, folds) {
    case (.refit, _):
      description =
        "\(dataset.rawValue): \(first.training.rows) training rows (refit on training + validation)\(testNote), \(features) features"
    case (_, let k?):
      let sizes = splits.map(\.validation.rows)
      let range = sizes.min() == sizes.max() ? "\(sizes[0])" : "\(sizes.min()!)–\(sizes.max()!)"
      description =
        "\(dataset.rawValue): \(k) folds of \(range) validation rows, \(rows.rows) rows in all\(testNote), \(features) features"
    default:
      description =
        "\(dataset.rawValue): \(first.training.rows) training + \(first.validation.rows) validation rows\(testNote), \(features) features"
    }
    return PreparedData(splits: splits, description: description)
  }
}

/// Throws a `DecodingError` naming every key of the object at `decoder` that is not in
/// `allowed`, with a did-you-mean hint.
func rejectUnknownKeys(_ decoder: Decoder, allowed: [String], in section: String) throws {
  struct AnyKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
  }
  guard let container = try? decoder.container(keyedBy: AnyKey.self) else { return }
  let unknown = container.allKeys.map(\.stringValue).filter { !allowed.contains($0) }.sorted()
  guard !unknown.isEmpty else { return }
  let described = unknown.map { key -> String in
    if let hint = closestMatch(to: key, among: allowed) { return "'\(key)' (did you mean '\(hint)'?)" }
    return "'\(key)'"
  }
  throw DecodingError.dataCorrupted(
    DecodingError.Context(
      codingPath: decoder.codingPath,
      debugDescription:
        "unknown key\(unknown.count > 1 ? "s" : "") in \(section): \(described.joined(separator: ", ")); allowed: \(allowed.joined(separator: ", "))"
    ))
}
