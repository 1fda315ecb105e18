/// One problem in a sweep config: where it is, which key, what is wrong and what is allowed.
public struct ConfigIssue: Hashable, Sendable, CustomStringConvertible {
  public var file: String
  public var location: SourceLocation
  /// The dotted key path (`parameters.lr.min`), or empty for the whole document.
  public var keyPath: String
  public var message: String

  public init(file: String, location: SourceLocation, keyPath: String, message: String) {
    self.file = file
    self.location = location
    self.keyPath = keyPath
    self.message = message
  }

  /// `file:line:column: key.path: message`.
  public var description: String {
    "\(file):\(location.line):\(location.column): " + (keyPath.isEmpty ? "" : "\(keyPath): ") + message
  }
}

/// Every problem found in a config, reported together.
public struct ConfigErrors: Error, Sendable, CustomStringConvertible {
  public var issues: [ConfigIssue]
  /// The config's warnings, found alongside its errors (shown with them).
  public var warnings: [ConfigIssue] = []

  public init(issues: [ConfigIssue], warnings: [ConfigIssue] = []) {
    self.issues = issues
    self.warnings = warnings
  }

  public var description: String { issues.map(\.description).joined(separator: "\n") }
}
