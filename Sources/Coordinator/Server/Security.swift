import Foundation
import Logging
import Wire
import ZMQ

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

  /// A connection's role; its ZAP user id is `role:public key`.
  public enum Role: String, Sendable {
    case `operator`, worker
  }

  /// The role and public key a ZAP user id names (`worker:KEY`).
  static func identity(_ userID: String?) -> (role: Role, key: String)? {
    guard let userID, let colon = userID.firstIndex(of: ":"),
      let role = Role(rawValue: String(userID[..<colon]))
    else { return nil }
    return (role, String(userID[userID.index(after: colon)...]))
  }

  /// The role of a public key (nil: refused).
  public func role(of key: String) -> Role? {
    operatorKeys.contains(key) ? .operator : workerKeys.contains(key) ? .worker : nil
  }
}

extension CoordinatorSecurity {
  /// The coordinator's ROUTER, bound to `bind`: with `security`, its ZAP handler is started
  /// first (the socket refuses everyone if no handler answers) and the socket is a CURVE
  /// server. A restarted coordinator's port can be briefly taken by a local worker's
  /// reconnect attempt (a TCP connection to a port with no listener may get that same port
  /// as its own source port), so binding is retried for five seconds.
  static func router(context: ZMQContext, bind: String, security: CoordinatorSecurity?, logger: Logger) throws
    -> (ZMQSocket, ZAPHandler?)
  {
    var zapHandler: ZAPHandler?
    if let security {
      let handler = ZAPHandler(context: context) { [logger] key, address in
        guard let role = security.role(of: key) else {
          logger.error(
            "refused a connection from \(address): its key \(key) is not among the authorized worker or operator keys",
            metadata: ["address": "\(address)", "key": "\(key)"])
          return nil
        }
        return "\(role.rawValue):\(key)"
      }
      try handler.start()
      zapHandler = handler
    }
    let socket = try context.socket(.router)
    if let security { try socket.makeCurveServer(secretKey: security.secretKey) }
    try socket.setOption(ZMQ_ROUTER_MANDATORY_OPTION, Int32(1))
    try socket.setOption(ZMQ_MAXMSGSIZE_OPTION, Int64(Protocol.maximumFrameBytes + 4096))
    var attempts = 0
    while true {
      do {
        try socket.bind(bind)
        return (socket, zapHandler)
      } catch let error as ZMQError where error.code == EADDRINUSE && attempts < 50 {
        attempts += 1
        usleep(100_000)
      }
    }
  }
}
