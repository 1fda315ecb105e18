import CZeroMQ
import Dispatch
import Synchronization
import XCTest

@testable import ZMQ

/// The libzmq wrapper over real sockets on loopback.
final class ZMQSocketTests: XCTestCase {
  /// A bound ROUTER and a DEALER connected to it.
  func pair() throws -> (ZMQContext, ZMQSocket, ZMQSocket) {
    let context = try ZMQContext()
    let router = try context.socket(.router)
    try router.setOption(ZMQ_ROUTER_MANDATORY, Int32(1))
    try router.bind("tcp://127.0.0.1:*")
    let dealer = try context.socket(.dealer)
    try dealer.setOption(ZMQ_ROUTING_ID, "worker-1")
    try dealer.connect(router.lastEndpoint)
    return (context, router, dealer)
  }

  /// The frames and user id of the next message, or nil if none arrives in time.
  func receive(_ socket: ZMQSocket, within milliseconds: Int = 5000) throws -> (
    frames: [[UInt8]], userID: String?
  )? {
    guard try ZMQPoller.readable([socket], timeoutMilliseconds: milliseconds)[0] else { return nil }
    guard let message = try socket.receive() else { return nil }
    return (message.frames, message.userID)
  }

  func testMultipartRoundTripThroughRouterAndDealer() throws {
    let (_, router, dealer) = try pair()
    XCTAssertTrue(router.lastEndpoint.hasPrefix("tcp://127.0.0.1:"), router.lastEndpoint)
    let big = (0..<100_000).map { UInt8(truncatingIfNeeded: $0 * 7) }
    try dealer.send([Array("SWP1".utf8), [1, 2, 3], big, []])
    let message = try XCTUnwrap(try receive(router))
    // The ROUTER prepends the peer's routing id.
    XCTAssertEqual(message.frames.count, 5)
    XCTAssertEqual(message.frames[0], Array("worker-1".utf8))
    XCTAssertEqual(message.frames[1], Array("SWP1".utf8))
    XCTAssertEqual(message.frames[2], [1, 2, 3])
    XCTAssertEqual(message.frames[3], big)
    XCTAssertEqual(message.frames[4], [])
    XCTAssertNil(message.userID)
    // And back, routed by the id.
    try router.send([Array("worker-1".utf8), Array("reply".utf8)])
    let reply = try XCTUnwrap(try receive(dealer))
    XCTAssertEqual(reply.frames, [Array("reply".utf8)])
  }

  func testMandatoryRouterReportsAnUnknownPeer() throws {
    let (_, router, _) = try pair()
    XCTAssertThrowsError(try router.send([Array("nobody".utf8), [0]], dontWait: true)) { error in
      XCTAssertTrue((error as? ZMQError)?.hostUnreachable ?? false, "\(error)")
    }
  }

  func testPollerHonoursItsDeadlineAndReceiveCanSkip() throws {
    let (_, router, _) = try pair()
    let start = DispatchTime.now().uptimeNanoseconds
    XCTAssertEqual(try ZMQPoller.readable([router], timeoutMilliseconds: 150), [false])
    let waited = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
    XCTAssertGreaterThanOrEqual(waited, 100)
    let nothing = try router.receive(dontWait: true)
    XCTAssertTrue(nothing == nil)
  }

  /// A peer that sends more than ZMQ_MAXMSGSIZE is disconnected; nothing reaches the router.
  func testOversizedMessagesAreRefused() throws {
    let context = try ZMQContext()
    let router = try context.socket(.router)
    try router.setOption(ZMQ_MAXMSGSIZE, Int64(1024))
    try router.bind("tcp://127.0.0.1:*")
    let dealer = try context.socket(.dealer)
    try dealer.connect(router.lastEndpoint)
    try dealer.send([[UInt8](repeating: 7, count: 10_000)])
    XCTAssertNil(try receive(router, within: 300))
    let small = try context.socket(.dealer)
    try small.connect(router.lastEndpoint)
    try small.send([[1, 2, 3]])
    XCTAssertEqual(try receive(router)?.frames.last, [1, 2, 3])
  }

  func testErrorsCarryTheirErrno() throws {
    let context = try ZMQContext()
    let socket = try context.socket(.dealer)
    XCTAssertThrowsError(try socket.bind("nonsense://where")) { error in
      let zmq = error as? ZMQError
      XCTAssertEqual(zmq?.code, EPROTONOSUPPORT)
      XCTAssertTrue(zmq?.description.hasPrefix("bind nonsense://where: ") ?? false, "\(error)")
    }
  }

  func testCurveIsAvailable() throws {
    XCTAssertTrue(ZMQContext.has("curve"), "Debian's libzmq5 is built with libsodium")
    XCTAssertTrue(ZMQContext.version.hasPrefix("4."))
    let (publicKey, secretKey) = try ZMQContext.curveKeyPair()
    XCTAssertEqual(publicKey.count, 40)
    XCTAssertEqual(secretKey.count, 40)
    XCTAssertNotEqual(publicKey, secretKey)
  }

  /// A CURVE server behind a ZAP handler: an allowed key gets in and its messages carry the
  /// handler's user id; an unknown key gets nothing through.
  func testZAPLetsInOnlyAuthorizedKeys() throws {
    let context = try ZMQContext()
    let server = try ZMQContext.curveKeyPair(), allowed = try ZMQContext.curveKeyPair()
    let stranger = try ZMQContext.curveKeyPair()
    let seen = Mutex<[String]>([])
    let handler = ZAPHandler(context: context) { key, address in
      seen.withLock { $0.append(address) }
      return key == allowed.publicKey ? "worker" : nil
    }
    try handler.start()
    defer { handler.stop() }
    let router = try context.socket(.router)
    try router.makeCurveServer(secretKey: server.secretKey)
    try router.bind("tcp://127.0.0.1:*")
    func client(_ keys: (publicKey: String, secretKey: String)) throws -> ZMQSocket {
      let socket = try context.socket(.dealer)
      try socket.makeCurveClient(
        serverKey: server.publicKey, publicKey: keys.publicKey, secretKey: keys.secretKey)
      try socket.connect(router.lastEndpoint)
      try socket.send([Array("hello".utf8)], dontWait: true)
      return socket
    }
    let intruder = try client(stranger)
    let friend = try client(allowed)
    XCTAssertTrue(try ZMQPoller.readable([router], timeoutMilliseconds: 5000)[0])
    guard let message = try router.receive() else { return XCTFail("no message") }
    XCTAssertEqual(message.userID, "worker")
    XCTAssertEqual(message.frames.last, Array("hello".utf8))
    // The stranger's message never arrives.
    XCTAssertFalse(try ZMQPoller.readable([router], timeoutMilliseconds: 500)[0])
    XCTAssertEqual(seen.withLock { $0.count }, 2, "both were asked about, with their address")
    XCTAssertTrue(seen.withLock { $0.allSatisfy { $0 == "127.0.0.1" } })
    withExtendedLifetime((intruder, friend)) {}
  }

  /// With no ZAP handler at all, a CURVE server made by `makeCurveServer` refuses everyone
  /// (libzmq 4.3.4 alone would let any key in).
  func testWithoutAHandlerNobodyGetsIn() throws {
    let context = try ZMQContext()
    let server = try ZMQContext.curveKeyPair(), keys = try ZMQContext.curveKeyPair()
    let router = try context.socket(.router)
    try router.makeCurveServer(secretKey: server.secretKey)
    try router.bind("tcp://127.0.0.1:*")
    let dealer = try context.socket(.dealer)
    try dealer.makeCurveClient(
      serverKey: server.publicKey, publicKey: keys.publicKey, secretKey: keys.secretKey)
    try dealer.connect(router.lastEndpoint)
    try dealer.send([Array("hello".utf8)], dontWait: true)
    XCTAssertFalse(try ZMQPoller.readable([router], timeoutMilliseconds: 700)[0])
  }

  func testCurveKeyHelpers() throws {
    let (publicKey, secretKey) = try ZMQContext.curveKeyPair()
    XCTAssertEqual(CurveKey.publicKey(ofSecret: secretKey), publicKey)
    XCTAssertTrue(CurveKey.isValid(publicKey))
    XCTAssertFalse(CurveKey.isValid("too short"))
    XCTAssertFalse(
      CurveKey.isValid(String(repeating: "~", count: 40))
        && CurveKey.decode(String(repeating: "~", count: 40)) == nil)
    XCTAssertEqual(CurveKey.encode(try XCTUnwrap(CurveKey.decode(publicKey))), publicKey)
    XCTAssertNil(CurveKey.publicKey(ofSecret: "not a key"))
  }
}
