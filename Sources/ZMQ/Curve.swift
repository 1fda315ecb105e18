import CZeroMQ
import Foundation
import Synchronization

#if canImport(Glibc)
  import Glibc
#endif

/// CURVE keys (RFC 26/CURVEZMQ) as their 40-character Z85 text.
public enum CurveKey {
  /// Whether `text` is a Z85-encoded 32-byte key.
  public static func isValid(_ text: String) -> Bool {
    text.utf8.count == 40 && decode(text) != nil
  }

  /// The 32 raw bytes of a Z85 key, or nil if it is not one.
  public static func decode(_ text: String) -> [UInt8]? {
    guard text.utf8.count == 40 else { return nil }
    var raw = [UInt8](repeating: 0, count: 32)
    guard zmq_z85_decode(&raw, text) != nil else { return nil }
    return raw
  }

  /// The Z85 text of 32 raw key bytes.
  public static func encode(_ raw: [UInt8]) -> String? {
    guard raw.count == 32 else { return nil }
    var text = [CChar](repeating: 0, count: 41)
    guard zmq_z85_encode(&text, raw, 32) != nil else { return nil }
    return String(cString: text)
  }

  /// The public key of a secret key (both Z85).
  public static func publicKey(ofSecret secret: String) -> String? {
    guard isValid(secret) else { return nil }
    var text = [CChar](repeating: 0, count: 41)
    guard zmq_curve_public(&text, secret) == 0 else { return nil }
    return String(cString: text)
  }
}

/// What a CURVE client needs: the server's public key and its own key pair (all Z85).
public struct CurveClientKeys: Sendable, Hashable {
  public var serverKey: String
  public var publicKey: String
  public var secretKey: String

  public init(serverKey: String, publicKey: String, secretKey: String) {
    self.serverKey = serverKey
    self.publicKey = publicKey
    self.secretKey = secretKey
  }
}

extension ZMQSocket {
  /// `makeCurveClient` with the keys of `keys`.
  public func makeCurveClient(_ keys: CurveClientKeys) throws {
    try makeCurveClient(serverKey: keys.serverKey, publicKey: keys.publicKey, secretKey: keys.secretKey)
  }

  /// Makes this socket a CURVE server with `secretKey` (Z85) whose peers are checked by the
  /// ZAP handler of its context under `domain`; with no handler answering, nobody gets in
  /// (`ZMQ_ZAP_ENFORCE_DOMAIN`). Call before `bind`.
  public func makeCurveServer(secretKey: String, domain: String = "sweepd") throws {
    try setOption(ZMQ_CURVE_SERVER, Int32(1))
    try setOption(ZMQ_CURVE_SECRETKEY, secretKey)
    try setOption(ZMQ_ZAP_DOMAIN, domain)
    try setOption(ZMQSocket.zapEnforceDomain, Int32(1))
  }

  /// Makes this socket a CURVE client of the server with public key `serverKey`, with its
  /// own key pair (all Z85). Call before `connect`.
  public func makeCurveClient(serverKey: String, publicKey: String, secretKey: String) throws {
    try setOption(ZMQ_CURVE_SERVERKEY, serverKey)
    try setOption(ZMQ_CURVE_PUBLICKEY, publicKey)
    try setOption(ZMQ_CURVE_SECRETKEY, secretKey)
  }
}

/// A ZAP handler (RFC 27/ZAP) for one context: it answers the context's CURVE servers'
/// authentication requests on `inproc://zeromq.zap.01` from its own thread, asking
/// `authorize` with the client's public key (Z85) and address; a user id lets the peer in
/// (every message it sends carries that id as `Multipart.userID`), nil refuses it (status
/// 400). Start it before binding a CURVE server: libzmq 4.3.4 lets any client in while no
/// handler answers, unless the server sets `ZMQ_ZAP_ENFORCE_DOMAIN` (`makeCurveServer` does
/// both).
public final class ZAPHandler: @unchecked Sendable {
  public typealias Authorize = @Sendable (_ publicKey: String, _ address: String) -> String?

  let context: ZMQContext
  let authorize: Authorize
  let stopRequested = Atomic<Bool>(false)
  let finished = Mutex<Bool>(false)
  var thread: Thread?

  public init(context: ZMQContext, authorize: @escaping Authorize) {
    self.context = context
    self.authorize = authorize
  }

  /// Binds the handler's socket and starts answering; returns once it is bound.
  public func start() throws {
    // The socket is made and bound on the handler's thread (sockets stay on their thread);
    // `start` waits for the bind and reports its error.
    let bound = DispatchSemaphore(value: 0)
    let failure = Mutex<ZMQError?>(nil)
    let handler = Thread { [self] in
      defer { finished.withLock { $0 = true } }
      let socket: ZMQSocket
      do {
        socket = try context.socket(.router)
        try socket.bind("inproc://zeromq.zap.01")
      } catch {
        failure.withLock { $0 = error as? ZMQError ?? ZMQError("zap bind", code: EINVAL) }
        bound.signal()
        return
      }
      bound.signal()
      serve(socket)
    }
    handler.start()
    thread = handler
    bound.wait()
    if let error = failure.withLock({ $0 }) { throw error }
  }

  /// Stops answering (within 100 ms) and releases the endpoint.
  public func stop() {
    stopRequested.store(true, ordering: .relaxed)
    while !finished.withLock({ $0 }) && thread != nil { usleep(10_000) }
  }

  func serve(_ socket: ZMQSocket) {
    while !stopRequested.load(ordering: .relaxed) {
      guard (try? ZMQPoller.readable([socket], timeoutMilliseconds: 100))?.first == true,
        let message = try? socket.receive(dontWait: true)
      else { continue }
      // ROUTER: [peer, "", version, request id, domain, address, identity, mechanism, key…]
      let frames = message.frames
      guard frames.count >= 9, frames[1].isEmpty else { continue }
      let requestID = frames[3]
      let address = String(decoding: frames[5], as: UTF8.self)
      let mechanism = String(decoding: frames[7], as: UTF8.self)
      var user: String? = nil
      if String(decoding: frames[2], as: UTF8.self) == "1.0", mechanism == "CURVE",
        let key = CurveKey.encode(frames[8])
      {
        user = authorize(key, address)
      }
      let status = user == nil ? "400" : "200"
      let text = user == nil ? "unknown key" : "OK"
      try? socket.send([
        frames[0], [], Array("1.0".utf8), requestID, Array(status.utf8), Array(text.utf8),
        Array((user ?? "").utf8),
        [],
      ])
    }
    try? socket.unbind("inproc://zeromq.zap.01")
  }
}
