import Foundation

/// The built-in `digits` data set: UCI Optical Recognition of Handwritten Digits, the copy
/// scikit-learn ships (1,797 samples, 8×8 pixels in 0…16, 10 classes; CC BY 4.0, see
/// `Resources/DIGITS-LICENSE.md`), bundled with sweepd.
public enum Digits {
  public static let sampleCount = 1797
  public static let featureCount = 64
  public static let classCount = 10

  /// Loads and decompresses the bundled file.
  public static func load() throws -> Dataset {
    guard let url = Bundle.module.url(forResource: "digits.csv", withExtension: "gz") else {
      throw DataError(source: "digits", message: "the bundled digits.csv.gz is missing from the installation")
    }
    let compressed = try Data(contentsOf: url)
    let text = String(decoding: try Gzip.decompress(compressed), as: UTF8.self)
    let (dataset, _) = try CSVLoader.parse(
      text: text, source: "digits.csv", target: "label", task: .classification)
    return dataset
  }
}
