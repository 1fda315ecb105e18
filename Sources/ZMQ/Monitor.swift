import CZeroMQ
import Foundation

/// What libzmq's socket monitor reports about a connection (`zmq_socket_monitor`): the
/// events a client needs to say *why* it hears nothing — the peer refuses connections, or
/// the security handshake failed — instead of waiting out its timeout.
public struct ZMQMonitorEvent: Hashable, Sendable {
  public enum Kind: Hashable, Sendable {
    case connected, connectRetried, disconnected, handshakeSucceeded
    /// The handshake failed: no detail (often a CURVE server that could not decrypt our
    /// HELLO: a wrong server key), a protocol error (mechanisms differ: CURVE against
    /// NULL), or refused by the server's authentication (ZAP: an unknown key).
    case handshakeFailed(reason: String)
    case other(UInt16)
  }

  public var kind: Kind
  public var value: UInt32
  public var address: String

  /// The events a connecting client watches.
  public static let clientEvents: Int32 =
    ZMQ_EVENT_CONNECTED | ZMQ_EVENT_CONNECT_RETRIED | ZMQ_EVENT_DISCONNECTED | ZMQ_EVENT_HANDSHAKE_SUCCEEDED
    | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL
    | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH

  /// The two frames of a monitor message (event id and value, then the address); nil if
  /// malformed.
  public init?(frames: [[UInt8]]) {
    guard frames.count == 2, frames[0].count >= 6 else { return nil }
    let id = UInt16(frames[0][0]) | UInt16(frames[0][1]) << 8
    value =
      UInt32(frames[0][2]) | UInt32(frames[0][3]) << 8 | UInt32(frames[0][4]) << 16 | UInt32(frames[0][5])
      << 24
    address = String(decoding: frames[1], as: UTF8.self)
    switch Int32(id) {
    case ZMQ_EVENT_CONNECTED: kind = .connected
    case ZMQ_EVENT_CONNECT_RETRIED: kind = .connectRetried
    case ZMQ_EVENT_DISCONNECTED: kind = .disconnected
    case ZMQ_EVENT_HANDSHAKE_SUCCEEDED: kind = .handshakeSucceeded
    case ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL:
      kind = .handshakeFailed(reason: "the server dropped the handshake")
    case ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL:
      kind = .handshakeFailed(
        reason: "the security mechanisms differ (one side uses CURVE keys, the other not)")
    case ZMQ_EVENT_HANDSHAKE_FAILED_AUTH: kind = .handshakeFailed(reason: "the server refused this key")
    default: kind = .other(id)
    }
  }
}

extension ZMQSocket {
  /// Starts libzmq's monitor on this socket for `events` and returns the PAIR socket that
  /// receives them (read with `ZMQMonitorEvent(frames:)`).
  public func monitor(events: Int32 = ZMQMonitorEvent.clientEvents) throws -> ZMQSocket {
    let address = "inproc://sweepd-monitor-\(UUID().uuidString)"
    guard zmq_socket_monitor(handle, address, events) == 0 else { throw ZMQError("zmq_socket_monitor") }
    let pair = try context.socket(.pair)
    try pair.setOption(ZMQ_LINGER_OPTION, Int32(0))
    try pair.connect(address)
    return pair
  }

  /// Stops this socket's monitor. Call it before the monitor's PAIR socket goes: a monitor
  /// left without its reader blocks libzmq's I/O thread on the next event (the socket's
  /// close is one), and with it every socket of the context.
  public func stopMonitor() {
    _ = zmq_socket_monitor(handle, nil, 0)
  }
}
