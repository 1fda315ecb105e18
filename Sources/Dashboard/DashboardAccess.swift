import Crypto
import Foundation
import Synchronization

/// Who may use the dashboard, fail-closed, as the coordinator's ZeroMQ side does:
///
/// - Without a token file the server binds loopback only (127.0.0.1, ::1, localhost), and
///   anyone on the machine may read and act (as anyone on it may use the coordinator's
///   loopback socket); any other address without tokens is refused at start.
/// - With a token file every request carries a token — `Authorization: Bearer TOKEN` — or a
///   session cookie (`sweepd_session`, 12 hours) that a login set: the one-time link
///   printed at start, `/login?token=TOKEN`, or the form at `/login`; else 401. A token
///   marked `operator` in the file may also pause, resume and cancel; others read. Tokens
///   are kept as SHA-256 hashes and compared in constant time; no token is logged.
/// - Without tokens, only loopback host names are answered (`Host: localhost`,
///   `127.0.0.1`, `[::1]`): a page on another site cannot reach the dashboard through a
///   name it rebinds to 127.0.0.1 (DNS rebinding).
/// - Every state-changing request (POST) must be same-origin when a browser sends it: an
///   `Origin` or `Sec-Fetch-Site` naming another site is refused (CSRF), as Jupyter does.
///
/// The token file has one token per line, optionally followed by `operator`; `#` starts a
/// comment. Tokens are at least 16 characters of letters, digits, `-`, `_` and `.`.
public struct DashboardAccess: Sendable {
  public enum Role: String, Sendable, Comparable {
    case reader, `operator`

    public static func < (a: Role, b: Role) -> Bool { a == .reader && b == .operator }
  }

  /// SHA-256 of each token → its role; empty: no tokens (loopback only, everyone an
  /// operator).
  let hashedTokens: [(hash: [UInt8], role: Role)]
  /// The token the one-time login link logs in with (kept for that alone).
  public let loginToken: String?

  public var hasTokens: Bool { !hashedTokens.isEmpty }

  public init(tokens: [String: Role] = [:]) {
    hashedTokens = tokens.sorted { $0.key < $1.key }.map { (Self.hash($0.key), $0.value) }
    loginToken =
      tokens.filter { $0.value == .operator }.keys.sorted().first ?? tokens.keys.sorted().first
  }

  static func hash(_ token: String) -> [UInt8] { Array(SHA256.hash(data: Data(token.utf8))) }

  /// The role of a token, comparing its hash with every known one in constant time (the
  /// time taken does not depend on which bytes match, nor on which token it is).
  public func role(ofToken token: String) -> Role? {
    let presented = Self.hash(token)
    var found: Role?
    for (hash, role) in hashedTokens {
      var difference: UInt8 = 0
      for index in 0..<hash.count { difference |= hash[index] ^ presented[index] }
      if difference == 0 { found = role }
    }
    return found
  }

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

  /// Whether `host` is a loopback address: `localhost`, an IPv4 address in 127.0.0.0/8 or
  /// `::1` (parsed as addresses: `127.0.0.1.example.com` is not one).
  public static func isLoopback(_ host: String) -> Bool {
    if host.lowercased() == "localhost" { return true }
    var v4 = in_addr()
    if inet_pton(AF_INET, host, &v4) == 1 { return UInt32(bigEndian: v4.s_addr) >> 24 == 127 }
    var v6 = in6_addr()
    if inet_pton(AF_INET6, host, &v6) == 1 {
      return withUnsafeBytes(of: &v6) { bytes in bytes.prefix(15).allSatisfy { $0 == 0 } && bytes[15] == 1 }
    }
    return false
  }

  /// The host name of a `Host` header (`name:port`, `[v6]:port`), without the port.
  static func hostName(_ header: String) -> String {
    if header.hasPrefix("["), let close = header.firstIndex(of: "]") {
      return String(header[header.index(after: header.startIndex)..<close])
    }
    if header.filter({ $0 == ":" }).count == 1, let colon = header.firstIndex(of: ":") {
      return String(header[..<colon])
    }
    return header
  }

  /// Whether a request's `Host` is answered: any with tokens (a token or session proves the
  /// caller); without tokens only loopback names (DNS rebinding).
  public func allows(host: String?) -> Bool {
    guard !hasTokens else { return true }
    guard let host else { return false }
    return Self.isLoopback(Self.hostName(host))
  }

  /// Whether a state-changing request may go on: a browser names where it comes from
  /// (`Sec-Fetch-Site`, `Origin`) and it must be this very site; a client that names
  /// neither (curl, scripts) is no browser a page could drive.
  public static func isSameOrigin(origin: String?, fetchSite: String?, host: String?) -> Bool {
    if let fetchSite {
      return fetchSite == "same-origin" || fetchSite == "none"
    }
    guard let origin else { return true }
    guard let host, let url = URL(string: origin), let originHost = url.host else { return false }
    let originAuthority = url.port.map { "\(originHost):\($0)" } ?? originHost
    let bracketed = originHost.contains(":") ? "[\(originHost)]" + (url.port.map { ":\($0)" } ?? "") : originAuthority
    return host == originAuthority || host == bracketed
  }

  /// Refuses, at start, to serve a non-loopback address without tokens.
  public func check(host: String) throws {
    if !hasTokens && !Self.isLoopback(host) {
      throw Problem(
        description:
          "--http \(host): serving a non-loopback address needs --http-token-file (every request must then carry a token); without one the dashboard binds 127.0.0.1 only"
      )
    }
  }

  /// The role a request has: from its bearer token, or its session; nil: not allowed at all.
  public func role(authorization: String?, session: Role?) -> Role? {
    if !hasTokens { return .operator }
    if let authorization, authorization.hasPrefix("Bearer ") {
      return role(ofToken: String(authorization.dropFirst("Bearer ".count)).trimmingCharacters(in: .whitespaces))
    }
    return session
  }
}

/// Browser sessions made by a login: a random id (the `sweepd_session` cookie) → its role,
/// until it expires. The token itself never goes into a cookie. At most `limit` sessions;
/// the oldest goes first.
public final class DashboardSessions: Sendable {
  /// How long a session lasts, seconds (12 hours).
  public static let lifetime: Double = 12 * 3600
  static let limit = 10_000
  let sessions = Mutex<[String: (role: DashboardAccess.Role, expires: Double)]>([:])

  public init() {}

  /// A new session for `role`, expiring `lifetime` after `now`; returns its id.
  public func open(_ role: DashboardAccess.Role, now: Double) -> String {
    var generator = SystemRandomNumberGenerator()
    let id = (0..<4).map { _ in String(generator.next() as UInt64, radix: 16) }.joined(separator: "-")
    sessions.withLock { table in
      table = table.filter { $0.value.expires > now }
      if table.count >= Self.limit, let oldest = table.min(by: { $0.value.expires < $1.value.expires }) {
        table[oldest.key] = nil
      }
      table[id] = (role, now + Self.lifetime)
    }
    return id
  }

  /// The role of a live session (nil: none, or expired).
  public func role(of id: String?, now: Double) -> DashboardAccess.Role? {
    guard let id else { return nil }
    return sessions.withLock { table in
      guard let session = table[id] else { return nil }
      guard session.expires > now else {
        table[id] = nil
        return nil
      }
      return session.role
    }
  }
}
