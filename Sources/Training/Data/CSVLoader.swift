import Foundation
import Vocabulary

/// Reads a numeric CSV table: a header row naming the columns, then one sample per line.
///
/// Fields are separated by commas; surrounding spaces and double quotes are stripped (quoted
/// fields may not contain commas). Empty lines are skipped. Every feature must be a finite
/// number; the target column may hold numbers or, for classification, words (class names).
/// A `.gz` file is decompressed first. Any bad row is an error naming its line.
public enum CSVLoader {
  public static func load(
    path: String, target: String?, task: DataSpec.CSVTask?, classes: [String]? = nil, maxBytes: Int = 1 << 31
  ) throws -> (Dataset, classNames: [String]) {
    var data = try DataFile.read(path, maxBytes: maxBytes)
    if Gzip.isCompressed(data) {
      do { data = try Gzip.decompress(data, limit: maxBytes) } catch {
        throw DataError(source: path, message: "\(error)")
      }
    }
    guard let text = String(data: data, encoding: .utf8) else {
      throw DataError(source: path, message: "not UTF-8 text")
    }
    return try parse(text: text, source: path, target: target, task: task, classes: classes)
  }

  /// - Parameter classes: the class names of another file this one must match (a test
  ///   file's): labels are numbered as there, and a name not among them is an error.
  public static func parse(
    text: String, source: String, target: String?, task given: DataSpec.CSVTask?,
    classes known: [String]? = nil
  ) throws -> (Dataset, classNames: [String]) {
    // Lines and fields are cut on bytes (",", "\n" and "\r" never occur inside UTF-8
    // sequences), which keeps a large file's parse to milliseconds.
    var lines = text.utf8.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).enumerated()
      .lazy
      .map { line -> (number: Int, text: Substring) in
        var bytes = line.element
        if bytes.last == UInt8(ascii: "\r") { bytes = bytes.dropLast() }
        return (line.offset + 1, Substring(bytes))
      }
      .filter { !$0.text.allSatisfy(\.isWhitespace) }
      .makeIterator()
    guard let header = lines.next() else { throw DataError(source: source, message: "the file is empty") }
    let columns = fields(header.text).map(String.init)
    if !columns.isEmpty, columns.allSatisfy({ number(Substring($0)) != nil }) {
      throw DataError(
        source: source, line: header.number,
        message:
          "the first line holds only numbers (\(columns.prefix(4).joined(separator: ","))…): it would be taken as the header and lost; add a header row naming the columns"
      )
    }
    guard columns.count >= 2 else {
      throw DataError(
        source: source, line: header.number,
        message: "the header must name at least two columns (features and a target); found \(columns.count)")
    }
    let targetIndex: Int
    if let target {
      guard let index = columns.firstIndex(of: target) else {
        let hint = closestMatch(to: target, among: columns).map { " (did you mean '\($0)'?)" } ?? ""
        throw DataError(
          source: source, line: header.number,
          message: "no column named '\(target)'\(hint); columns: \(columns.joined(separator: ", "))")
      }
      targetIndex = index
    } else {
      targetIndex = columns.count - 1
    }
    var features: [Float] = []
    var wordTargets: [String] = []
    var targetLines: [Int] = []
    var rows = 0
    while let line = lines.next() {
      let values = fields(line.text)
      guard values.count == columns.count else {
        throw DataError(
          source: source, line: line.number,
          message: "expected \(columns.count) fields as in the header, found \(values.count)")
      }
      for (index, value) in values.enumerated() {
        if index == targetIndex {
          let word = value.trimmingCharacters(in: .whitespaces)
          if ["", "nan", "na", "n/a", "null", "none", "?"].contains(word.lowercased()) {
            throw DataError(
              source: source, line: line.number,
              message: "target '\(columns[index])' is missing ('\(value)'); remove the row or give its value")
          }
          wordTargets.append(word)
          targetLines.append(line.number)
        } else {
          guard let number = number(value), number.isFinite else {
            throw DataError(
              source: source, line: line.number,
              message: "column '\(columns[index])' is not a finite number in this row (a cell's text is not shown)")
          }
          features.append(number)
        }
      }
      rows += 1
    }
    guard rows > 0 else { throw DataError(source: source, message: "the file has a header but no rows") }
    let featureCount = columns.count - 1
    let numbers = wordTargets.map { Double($0) }
    let allNumbers = numbers.allSatisfy { $0 != nil }
    let distinct = Set(wordTargets)
    // Many distinct classes from few rows: a measurement, not a label.
    let looksContinuous =
      allNumbers && distinct.count > 20 && distinct.count * 2 > rows
      || allNumbers && numbers.contains { $0! != $0!.rounded() } && distinct.count * 4 > rows
    let task = given ?? (looksContinuous ? .regression : .classification)
    if let known, task == .classification {
      let index = Dictionary(uniqueKeysWithValues: known.enumerated().map { ($1, Int32($0)) })
      var labels: [Int32] = []
      labels.reserveCapacity(rows)
      for (word, line) in zip(wordTargets, targetLines) {
        guard let label = index[word] else {
          throw DataError(
            source: source, line: line,
            message:
              "class '\(word)' is not among the training file's classes (\(known.joined(separator: ", ")))")
        }
        labels.append(label)
      }
      return (
        Dataset(features: features, featureCount: featureCount, labels: labels, classes: known.count), known
      )
    }
    if task == .regression {
      var targets: [Float] = []
      targets.reserveCapacity(rows)
      for (value, line) in zip(numbers, targetLines) {
        guard let value, value.isFinite else {
          throw DataError(
            source: source, line: line,
            message:
              "target '\(columns[targetIndex])' is not a finite number in this row (data.task is regression; a cell's text is not shown)"
          )
        }
        targets.append(Float(value))
      }
      return (Dataset(features: features, featureCount: featureCount, targets: targets, outputs: 1), [])
    }
    if looksContinuous {
      throw DataError(
        source: source,
        message:
          "the target column '\(columns[targetIndex])' has \(distinct.count) distinct numbers in \(rows) rows (such as \(wordTargets.prefix(3).joined(separator: ", "))): that is a regression target, not \(distinct.count) classes; set data.task: regression"
      )
    }
    // Class names sorted numerically when all are numbers, else as words.
    let classNames: [String]
    if distinct.allSatisfy({ Double($0) != nil }) {
      classNames = distinct.sorted { Double($0)! < Double($1)! }
    } else {
      classNames = distinct.sorted()
    }
    guard classNames.count >= 2 else {
      throw DataError(
        source: source,
        message: "the target column '\(columns[targetIndex])' has a single class; need at least two")
    }
    let indexOfClass = Dictionary(uniqueKeysWithValues: classNames.enumerated().map { ($1, Int32($0)) })
    let labels = wordTargets.map { indexOfClass[$0]! }
    return (
      Dataset(features: features, featureCount: featureCount, labels: labels, classes: classNames.count),
      classNames
    )
  }

  /// The comma-separated fields of a line, each without surrounding spaces or tabs and
  /// without one pair of enclosing double quotes (slices of the line: no copies).
  static func fields(_ line: Substring) -> [Substring] {
    line.utf8.split(separator: UInt8(ascii: ","), omittingEmptySubsequences: false).map { field in
      var value = Substring(field)
      while let first = value.utf8.first, first == UInt8(ascii: " ") || first == UInt8(ascii: "\t") {
        value = value.dropFirst()
      }
      while let last = value.utf8.last, last == UInt8(ascii: " ") || last == UInt8(ascii: "\t") {
        value = value.dropLast()
      }
      if value.utf8.count >= 2 && value.utf8.first == UInt8(ascii: "\"")
        && value.utf8.last == UInt8(ascii: "\"")
      {
        value = value.dropFirst().dropLast()
      }
      return value
    }
  }

  /// A decimal number (as `strtof` reads it in the C locale: the whole field, nothing
  /// else), or nil.
  static func number(_ field: Substring) -> Float? {
    let count = field.utf8.count
    guard count > 0 else { return nil }
    guard count < 64 else { return Float(field) }
    return withUnsafeTemporaryAllocation(of: CChar.self, capacity: 64) { buffer -> Float? in
      var i = 0
      for byte in field.utf8 {
        buffer[i] = CChar(bitPattern: byte)
        i += 1
      }
      buffer[count] = 0
      var end: UnsafeMutablePointer<CChar>? = nil
      let value = strtof(buffer.baseAddress!, &end)
      return end == buffer.baseAddress! + count ? value : nil
    }
  }
}
