/// CURVE security: the coordinator's secret key and the public keys allowed in, by role.
/// Operators may do everything a client can (submit, cancel, upload, status, leaderboard);
/// workers may take and report trials, fetch data, and read status and leaderboards. A key
/// in neither list is refused at the handshake (ZAP), and nothing it sends is read.
public struct CoordinatorSecurity: Sendable {
  public var secretKey: String
  public var workerKeys: Set<String>
  public var operatorKeys: Set<String>

  public init(secretKey: String, workerKeys: Set<String>, operatorKeys: Set<String>) {
    self.secretKey = secretKey
    self.workerKeys = workerKeys
    self.operatorKeys = operatorKeys
  }

  /// A connection's role, as its ZAP user id.
  public enum Role: String, Sendable {
    case `operator`, worker
  }

  /// The role of a public key (nil: refused).
  public func role(of key: String) -> Role? {
    operatorKeys.contains(key) ? .operator : workerKeys.contains(key) ? .worker : nil
  }
}
