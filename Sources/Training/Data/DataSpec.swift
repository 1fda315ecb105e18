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

  /// The file references of this spec: (key, path, digest) for `path`, `images`, `labels`.
  public var files: [(key: String, path: String, sha256: String?)] {
    [("path", path, pathSHA256), ("images", images, imagesSHA256), ("labels", labels, labelsSHA256)]
      .compactMap { key, path, digest in path.map { (key, $0, digest) } }
  }

  /// Replaces the file named by `key` ("path", "images", "labels") with `localPath`,
  /// keeping its digest.
  public mutating func relocate(_ key: String, to localPath: String) {
    switch key {
    case "path": path = localPath
    case "images": images = localPath
    case "labels": labels = localPath
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
  }

  /// The keys of the `data` section.
  /// The digests (`path_sha256`, …) are not among them: the coordinator sets them from what
  /// the client uploaded, and a config cannot claim one.
  public static var configKeys: [String] {
    CodingKeys.allCases.map(\.rawValue).filter { !$0.hasSuffix("_sha256") }
  }

  enum CodingKeys: String, CodingKey, CaseIterable {
    case dataset, validation, standardize, seed, samples, noise, classes, dimensions, path, target, task
    case images, labels
    case pathSHA256 = "path_sha256", imagesSHA256 = "images_sha256", labelsSHA256 = "labels_sha256"
  }

  public init(from decoder: Decoder) throws {
    try rejectUnknownKeys(decoder, allowed: CodingKeys.allCases.map(\.rawValue), in: "data")
    let c = try decoder.container(keyedBy: CodingKeys.self)
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
    for (key, digest) in [("path", pathSHA256), ("images", imagesSHA256), ("labels", labelsSHA256)] {
      guard let digest else { continue }
      if digest.utf8.count != 64
        || !digest.utf8.allSatisfy({ (48...57).contains($0) || (97...102).contains($0) })
      {
        problems.append("data.\(key)_sha256 must be 64 lowercase hex digits (a SHA-256), got '\(digest)'")
      }
    }
    switch dataset {
    case .csv:
      if let path {
        if pathSHA256 == nil && !FileManager.default.fileExists(atPath: path) {
          problems.append("data.path: no such file '\(path)'")
        }
      } else {
        problems.append("data.path is required for dataset csv")
      }
    case .idx:
      for (key, value, digest) in [("images", images, imagesSHA256), ("labels", labels, labelsSHA256)] {
        if let value {
          if digest == nil && !FileManager.default.fileExists(atPath: value) {
            problems.append("data.\(key): no such file '\(value)'")
          }
        } else {
          problems.append("data.\(key) is required for dataset idx")
        }
      }
    default: break
    }
    return problems
  }

  /// Loads or generates the rows (before splitting).
  public func loadRows() throws -> Dataset {
    if let problem = problems().first { throw DataError(source: "data", message: problem) }
    var random = RandomSource.derived(seed: seed, stream: "synthetic")
    let n = samples ?? 1000
    switch dataset {
    case .digits: return try Digits.load()
    case .spirals:
      return SyntheticData.spirals(samples: n, classes: classes ?? 3, noise: noise ?? 0.05, random: &random)
    case .moons: return SyntheticData.moons(samples: n, noise: noise ?? 0.1, random: &random)
    case .circles: return SyntheticData.circles(samples: n, noise: noise ?? 0.05, random: &random)
    case .blobs:
      return SyntheticData.blobs(
        samples: n, classes: classes ?? 3, dimensions: dimensions ?? 2, noise: noise ?? 1, random: &random)
    case .xor: return SyntheticData.xor(samples: n, noise: noise ?? 0.05, random: &random)
    case .sine: return SyntheticData.sine(samples: n, noise: noise ?? 0.1, random: &random)
    case .csv: return try CSVLoader.load(path: path!, target: target, task: task).0
    case .idx: return try IDXLoader.load(images: images!, labels: labels!)
    }
  }

  /// Loads the rows, splits them with a seeded shuffle (the last `validation` fraction of
  /// the shuffled order is held out) and standardizes with training statistics only.
  public func prepare() throws -> PreparedData {
    let rows = try loadRows()
    var order = Array(0..<rows.rows)
    var random = RandomSource.derived(seed: seed, stream: "split")
    random.shuffle(&order)
    let validationRows = Int((Double(rows.rows) * validation).rounded())
    guard validationRows >= 1, rows.rows - validationRows >= 1 else {
      throw DataError(
        source: dataset.rawValue,
        message: "\(rows.rows) rows cannot be split \(1 - validation):\(validation) into two non-empty parts")
    }
    var training = rows.subset(Array(order[..<(rows.rows - validationRows)]))
    var held = rows.subset(Array(order[(rows.rows - validationRows)...]))
    if standardize {
      let statistics = Standardization(fitting: training)
      statistics.apply(to: &training)
      statistics.apply(to: &held)
    }
    return PreparedData(
      training: training, validation: held,
      description:
        "\(dataset.rawValue): \(training.rows) training + \(held.rows) validation rows, \(rows.featureCount) features"
    )
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
