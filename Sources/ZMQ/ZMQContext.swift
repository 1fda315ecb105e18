import CZeroMQ

/// Owner of a libzmq context. Contexts are thread-safe (sockets are not); sockets keep their
/// context alive, so the context is terminated only after its last socket is closed.
public final class ZMQContext: @unchecked Sendable {
  let handle: UnsafeMutableRawPointer
  private var terminated = false

  public init() throws {
    guard let handle = zmq_ctx_new() else { throw ZMQError("zmq_ctx_new") }
    self.handle = handle
  }

  deinit {
    // Every socket holds a reference to its context, so none is open here; terminate
    // cannot block on them. EINTR is retried.
    terminate()
  }

  /// Terminates the context now: waits (up to each socket's LINGER) for messages still queued
  /// on closed sockets to leave. Call after releasing every socket, before the process exits
  /// (a process that just exits drops them). Idempotent.
  public func terminate() {
    guard !terminated else { return }
    terminated = true
    while zmq_ctx_term(handle) != 0 && zmq_errno() == EINTR {}
  }

  /// A new socket of `type`, with LINGER 0 (closing never waits for unsent messages).
  public func socket(_ type: ZMQSocket.Kind) throws -> ZMQSocket {
    try ZMQSocket(context: self, kind: type)
  }

  /// libzmq's version, e.g. "4.3.4".
  public static var version: String {
    var major: Int32 = 0, minor: Int32 = 0, patch: Int32 = 0
    zmq_version(&major, &minor, &patch)
    return "\(major).\(minor).\(patch)"
  }

  /// Whether libzmq was built with a capability ("curve", "ipc", "gssapi", "draft", …).
  public static func has(_ capability: String) -> Bool { zmq_has(capability) == 1 }

  /// A new CURVE key pair, both keys in Z85 (40 characters).
  public static func curveKeyPair() throws -> (publicKey: String, secretKey: String) {
    var publicKey = [CChar](repeating: 0, count: 41), secretKey = [CChar](repeating: 0, count: 41)
    guard zmq_curve_keypair(&publicKey, &secretKey) == 0 else { throw ZMQError("zmq_curve_keypair") }
    return (
      String(decoding: publicKey.prefix(40).map { UInt8(bitPattern: $0) }, as: UTF8.self),
      String(decoding: secretKey.prefix(40).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    )
  }
}

#if canImport(Glibc)
  import Glibc
#endif
