/// A data-loading error that says where: the file, and the line (CSV) or byte offset (IDX).
public struct DataError: Error, Equatable, CustomStringConvertible {
  public var source: String
  public var line: Int?
  public var message: String

  public init(source: String, line: Int? = nil, message: String) {
    self.source = source
    self.line = line
    self.message = message
  }

  public var description: String {
    if let line { return "\(source):\(line): \(message)" }
    return "\(source): \(message)"
  }
}
