import Foundation

/// Reads the IDX format of the MNIST files (LeCun et al.): a 4-byte magic number
/// `0x00 0x00 type dims`, then `dims` big-endian UInt32 sizes, then the values in row-major
/// order. Types: 0x08 unsigned byte, 0x09 signed byte, 0x0B int16, 0x0C int32, 0x0D float32,
/// 0x0E float64 (all big-endian). `.gz` files are decompressed first.
public enum IDXLoader {
  public struct Array: Sendable {
    public var shape: [Int]
    public var values: [Float]
  }

  public static func read(path: String, maxBytes: Int = 1 << 31) throws -> Array {
    var data = try DataFile.read(path, maxBytes: maxBytes)
    if Gzip.isCompressed(data) {
      do { data = try Gzip.decompress(data, limit: maxBytes) } catch {
        throw DataError(source: path, message: "\(error)")
      }
    }
    return try parse(data, source: path)
  }

  public static func parse(_ data: Data, source: String) throws -> Array {
    let bytes = [UInt8](data)
    guard bytes.count >= 4, bytes[0] == 0, bytes[1] == 0 else {
      throw DataError(source: source, message: "not an IDX file (bad magic number)")
    }
    let type = bytes[2], dims = Int(bytes[3])
    let width: Int
    switch type {
    case 0x08, 0x09: width = 1
    case 0x0B: width = 2
    case 0x0C, 0x0D: width = 4
    case 0x0E: width = 8
    default: throw DataError(source: source, message: "unknown IDX element type 0x\(String(type, radix: 16))")
    }
    guard dims >= 1, bytes.count >= 4 + 4 * dims else {
      throw DataError(source: source, message: "IDX header truncated")
    }
    func word(_ offset: Int) -> UInt32 {
      (UInt32(bytes[offset]) << 24) | (UInt32(bytes[offset + 1]) << 16) | (UInt32(bytes[offset + 2]) << 8)
        | UInt32(bytes[offset + 3])
    }
    var shape: [Int] = []
    var count = 1
    for d in 0..<dims {
      let size = Int(word(4 + 4 * d))
      shape.append(size)
      let (product, overflow) = count.multipliedReportingOverflow(by: size)
      guard !overflow, product <= bytes.count else {
        throw DataError(source: source, message: "IDX shape \(shape) is larger than the file")
      }
      count = product
    }
    let start = 4 + 4 * dims
    guard bytes.count - start == count * width else {
      throw DataError(
        source: source,
        message:
          "IDX shape \(shape) needs \(count * width) bytes of data, the file has \(bytes.count - start)")
    }
    var values = [Float](repeating: 0, count: count)
    for i in 0..<count {
      let o = start + i * width
      switch type {
      case 0x08: values[i] = Float(bytes[o])
      case 0x09: values[i] = Float(Int8(bitPattern: bytes[o]))
      case 0x0B: values[i] = Float(Int16(bitPattern: UInt16(bytes[o]) << 8 | UInt16(bytes[o + 1])))
      case 0x0C: values[i] = Float(Int32(bitPattern: word(o)))
      case 0x0D: values[i] = Float(bitPattern: word(o))
      default:
        let bits = UInt64(word(o)) << 32 | UInt64(word(o + 4))
        values[i] = Float(Double(bitPattern: bits))
      }
    }
    return Array(shape: shape, values: values)
  }

  /// An image file (n × …) and a label file (n) as a classification data set; each sample's
  /// trailing dimensions are flattened into features.
  public static func load(images: String, labels: String) throws -> Dataset {
    let x = try read(path: images)
    let y = try read(path: labels)
    guard y.shape.count == 1 else {
      throw DataError(source: labels, message: "labels must be one-dimensional, found shape \(y.shape)")
    }
    guard x.shape[0] == y.shape[0] else {
      throw DataError(
        source: labels, message: "\(y.shape[0]) labels for \(x.shape[0]) images in \(images)")
    }
    guard x.shape[0] > 0 else { throw DataError(source: images, message: "no samples") }
    let featureCount = x.shape.dropFirst().reduce(1, *)
    var labelValues: [Int32] = []
    for (i, value) in y.values.enumerated() {
      guard value >= 0, value == value.rounded(), value < 65536 else {
        throw DataError(source: labels, message: "label #\(i) = \(value) is not a class index")
      }
      labelValues.append(Int32(value))
    }
    let classes = Int(labelValues.max()!) + 1
    guard classes >= 2 else { throw DataError(source: labels, message: "need at least two classes") }
    return Dataset(features: x.values, featureCount: featureCount, labels: labelValues, classes: classes)
  }
}
