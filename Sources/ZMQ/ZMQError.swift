import CZeroMQ

#if canImport(Glibc)
  import Glibc
#endif

/// A libzmq failure: the operation and its errno, with libzmq's text for it.
public struct ZMQError: Error, Equatable, Sendable, CustomStringConvertible {
  public let operation: String
  public let code: Int32

  public init(_ operation: String, code: Int32 = zmq_errno()) {
    self.operation = operation
    self.code = code
  }

  public var description: String { "\(operation): \(String(cString: zmq_strerror(code))) (errno \(code))" }

  /// A non-blocking call would have blocked.
  public var wouldBlock: Bool { code == EAGAIN }
  /// A ROUTER with ROUTER_MANDATORY has no peer with that routing id.
  public var hostUnreachable: Bool { code == EHOSTUNREACH }
  /// The context was terminated.
  public var contextTerminated: Bool { code == ETERM }
  /// A signal interrupted the call.
  public var interrupted: Bool { code == EINTR }
}
