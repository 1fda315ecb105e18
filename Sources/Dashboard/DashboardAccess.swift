import Foundation

/// Who may use the dashboard, fail-closed, as the coordinator's ZeroMQ side does:
///
/// - Without a token file the server binds loopback only (127.0.0.1, ::1, localhost), and
///   anyone on the machine may read and act (as anyone on it may use the coordinator's
///   loopback socket); any other address without tokens is refused at start.
/// - With a token file every request carries a token — `Authorization: Bearer TOKEN`, or the
///   `sweepd_token` cookie the one-time login link printed at start sets — or gets 401.
///   A token marked `operator` in the file may also pause, resume and cancel; others read.
///
/// The token file has one token per line, optionally followed by `operator`; `#` starts a
/// comment. Tokens are at least 16 characters of letters, digits, `-`, `_` and `.`.
public struct DashboardAccess: Sendable {
  public enum Role: String, Sendable, Comparable {
    case reader, `operator`

    public static func < (a: Role, b: Role) -> Bool { a == .reader && b == .operator }
  }

  /// Token → role; empty: no tokens (loopback only, everyone an operator).
  public let tokens: [String: Role]

  public init(tokens: [String: Role] = [:]) { self.tokens = tokens }

  public struct Problem: Error, CustomStringConvertible, Sendable {
    public var description: String
  }

  /// Reads a token file (see the type's documentation); every bad line is an error naming it.
  public static func load(path: String) throws -> DashboardAccess {
    guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
      throw Problem(
        description:
          "\(path): cannot be read (a token file: one token per line, `operator` after it to allow actions)")
    }
    var tokens: [String: Role] = [:]
    for (number, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
      let line = raw.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
      let words = line.split(whereSeparator: \.isWhitespace).map(String.init)
      guard let token = words.first else { continue }
      let allowed = token.unicodeScalars.allSatisfy {
        ($0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0)))
          || "-_.".unicodeScalars.contains($0)
      }
      guard token.count >= 16, allowed else {
        throw Problem(
          description:
            "\(path):\(number + 1): a token is at least 16 letters, digits, '-', '_' or '.' (`openssl rand -hex 16` makes one)"
        )
      }
      switch words.dropFirst().first {
      case nil: tokens[token] = .reader
      case "operator"?: tokens[token] = .operator
      case let other?:
        throw Problem(
          description:
            "\(path):\(number + 1): unknown role '\(other)' after the token; allowed: operator (or nothing: read-only)"
        )
      }
      if words.count > 2 {
        throw Problem(description: "\(path):\(number + 1): a line is a token and optionally `operator`")
      }
    }
    guard !tokens.isEmpty else { throw Problem(description: "\(path): no tokens in it") }
    return DashboardAccess(tokens: tokens)
  }

  /// Whether `host` is a loopback address.
  public static func isLoopback(_ host: String) -> Bool {
    host == "localhost" || host == "::1" || host.hasPrefix("127.")
  }

  /// Refuses, at start, to serve a non-loopback address without tokens.
  public func check(host: String) throws {
    if tokens.isEmpty && !Self.isLoopback(host) {
      throw Problem(
        description:
          "--http \(host): serving a non-loopback address needs --http-token-file (every request must then carry a token); without one the dashboard binds 127.0.0.1 only"
      )
    }
  }

  /// The role a request has: from its bearer token or cookie; nil: not allowed at all.
  public func role(authorization: String?, cookie: String?) -> Role? {
    if tokens.isEmpty { return .operator }
    if let authorization, authorization.hasPrefix("Bearer ") {
      return tokens[String(authorization.dropFirst("Bearer ".count)).trimmingCharacters(in: .whitespaces)]
    }
    if let cookie { return tokens[cookie] }
    return nil
  }

  /// A token for the one-time login link: the first operator token, else the first.
  public var loginToken: String? {
    tokens.filter { $0.value == .operator }.keys.sorted().first ?? tokens.keys.sorted().first
  }
}
