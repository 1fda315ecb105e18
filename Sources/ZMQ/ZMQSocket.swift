import CZeroMQ

#if canImport(Glibc)
  import Glibc
#endif

/// A received multipart message: its frames, and the authenticated user id when the socket
/// runs a ZAP-checked security mechanism. Non-copyable: a message is handled once.
public struct Multipart: ~Copyable {
  public let frames: [[UInt8]]
  /// ZAP's "User-Id" metadata of the message (nil without authentication).
  public let userID: String?
}

/// Owner of one libzmq socket. Not thread-safe (libzmq's rule): use a socket from the
/// thread that owns it only. Closed when released.
public final class ZMQSocket {
  public enum Kind: Sendable {
    case router, dealer, pair, request, reply, push, pull, publish, subscribe

    var raw: Int32 {
      switch self {
      case .router: return ZMQ_ROUTER
      case .dealer: return ZMQ_DEALER
      case .pair: return ZMQ_PAIR
      case .request: return ZMQ_REQ
      case .reply: return ZMQ_REP
      case .push: return ZMQ_PUSH
      case .pull: return ZMQ_PULL
      case .publish: return ZMQ_PUB
      case .subscribe: return ZMQ_SUB
      }
    }
  }

  /// `ZMQ_ZAP_ENFORCE_DOMAIN`, a draft option (93) Debian's non-draft libzmq 4.3.4 still
  /// accepts: with it, a CURVE server refuses everyone when no ZAP handler answers.
  public static let zapEnforceDomain: Int32 = 93

  let context: ZMQContext
  let handle: UnsafeMutableRawPointer
  public let kind: Kind

  init(context: ZMQContext, kind: Kind) throws {
    guard let handle = zmq_socket(context.handle, kind.raw) else { throw ZMQError("zmq_socket") }
    self.context = context
    self.handle = handle
    self.kind = kind
    try setOption(ZMQ_LINGER, Int32(0))
  }

  deinit {
    zmq_close(handle)
  }

  // MARK: Options

  public func setOption(_ option: Int32, _ value: Int32) throws {
    var value = value
    guard zmq_setsockopt(handle, option, &value, MemoryLayout<Int32>.size) == 0 else {
      throw ZMQError("zmq_setsockopt(\(option))")
    }
  }

  public func setOption(_ option: Int32, _ value: Int64) throws {
    var value = value
    guard zmq_setsockopt(handle, option, &value, MemoryLayout<Int64>.size) == 0 else {
      throw ZMQError("zmq_setsockopt(\(option))")
    }
  }

  public func setOption(_ option: Int32, _ bytes: [UInt8]) throws {
    let status = bytes.withUnsafeBytes { zmq_setsockopt(handle, option, $0.baseAddress, $0.count) }
    guard status == 0 else { throw ZMQError("zmq_setsockopt(\(option))") }
  }

  public func setOption(_ option: Int32, _ text: String) throws {
    try setOption(option, Array(text.utf8))
  }

  public func intOption(_ option: Int32) throws -> Int32 {
    var value: Int32 = 0
    var size = MemoryLayout<Int32>.size
    guard zmq_getsockopt(handle, option, &value, &size) == 0 else {
      throw ZMQError("zmq_getsockopt(\(option))")
    }
    return value
  }

  /// The endpoint last bound (with the port the system chose for `tcp://host:*`).
  public var lastEndpoint: String {
    var buffer = [CChar](repeating: 0, count: 256)
    var size = buffer.count
    guard zmq_getsockopt(handle, ZMQ_LAST_ENDPOINT, &buffer, &size) == 0 else { return "" }
    return String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
  }

  // MARK: Endpoints

  public func bind(_ endpoint: String) throws {
    guard zmq_bind(handle, endpoint) == 0 else { throw ZMQError("bind \(endpoint)") }
  }

  public func connect(_ endpoint: String) throws {
    guard zmq_connect(handle, endpoint) == 0 else { throw ZMQError("connect \(endpoint)") }
  }

  public func unbind(_ endpoint: String) throws {
    guard zmq_unbind(handle, endpoint) == 0 else { throw ZMQError("unbind \(endpoint)") }
  }

  public func disconnect(_ endpoint: String) throws {
    guard zmq_disconnect(handle, endpoint) == 0 else { throw ZMQError("disconnect \(endpoint)") }
  }

  // MARK: Messages

  /// Sends the frames as one multipart message. With `dontWait`, a full queue throws a
  /// `ZMQError` whose `wouldBlock` is true; a ROUTER_MANDATORY router with no such peer
  /// throws one whose `hostUnreachable` is true. EINTR is retried.
  public func send(_ frames: [[UInt8]], dontWait: Bool = false) throws {
    precondition(!frames.isEmpty, "a message has at least one frame")
    for (index, frame) in frames.enumerated() {
      var flags: Int32 = dontWait ? ZMQ_DONTWAIT : 0
      if index < frames.count - 1 { flags |= ZMQ_SNDMORE }
      while true {
        let sent = frame.withUnsafeBytes { zmq_send(handle, $0.baseAddress, $0.count, flags) }
        if sent >= 0 { break }
        let error = ZMQError("send", code: zmq_errno())
        if error.interrupted { continue }
        throw error
      }
    }
  }

  /// Receives one multipart message; nil when `dontWait` and none is waiting. EINTR is
  /// retried. Each frame is copied out and its `zmq_msg_t` closed before the next.
  public func receive(dontWait: Bool = false) throws -> Multipart? {
    var frames: [[UInt8]] = []
    var userID: String?
    let message = UnsafeMutablePointer<zmq_msg_t>.allocate(capacity: 1)
    defer { message.deallocate() }
    while true {
      guard zmq_msg_init(message) == 0 else { throw ZMQError("zmq_msg_init") }
      var received: Int32
      repeat {
        received = zmq_msg_recv(message, handle, dontWait && frames.isEmpty ? ZMQ_DONTWAIT : 0)
      } while received < 0 && zmq_errno() == EINTR
      if received < 0 {
        let error = ZMQError("receive", code: zmq_errno())
        zmq_msg_close(message)
        if error.wouldBlock && frames.isEmpty { return nil }
        throw error
      }
      let size = zmq_msg_size(message)
      if let data = zmq_msg_data(message), size > 0 {
        frames.append(Array(UnsafeRawBufferPointer(start: data, count: size)))
      } else {
        frames.append([])
      }
      // A ROUTER's routing-id frame carries no metadata: take the first frame that has it.
      if userID == nil, let id = zmq_msg_gets(message, "User-Id") {
        userID = String(cString: id)
      }
      // Read "more" before the frame is closed.
      let more = zmq_msg_more(message) != 0
      zmq_msg_close(message)
      if !more { break }
    }
    return Multipart(frames: frames, userID: userID)
  }
}

/// Waits until any of the sockets has a message to read, or the timeout passes.
public enum ZMQPoller {
  /// Returns, per socket, whether it is readable. `timeoutMilliseconds` < 0 waits forever.
  /// A signal interrupting the wait returns all false.
  public static func readable(_ sockets: [ZMQSocket], timeoutMilliseconds: Int) throws -> [Bool] {
    var items = sockets.map {
      zmq_pollitem_t(socket: $0.handle, fd: 0, events: Int16(ZMQ_POLLIN), revents: 0)
    }
    let count = zmq_poll(&items, Int32(items.count), timeoutMilliseconds)
    if count < 0 {
      if zmq_errno() == EINTR { return Array(repeating: false, count: sockets.count) }
      throw ZMQError("zmq_poll")
    }
    return items.map { $0.revents & Int16(ZMQ_POLLIN) != 0 }
  }

  /// Like `readable(_:timeoutMilliseconds:)`, also watching plain file descriptors (a pipe
  /// that other threads write to, to wake the socket's thread at once).
  public static func readable(
    _ sockets: [ZMQSocket], fileDescriptors: [Int32], timeoutMilliseconds: Int
  ) throws -> (sockets: [Bool], fileDescriptors: [Bool]) {
    var items = sockets.map {
      zmq_pollitem_t(socket: $0.handle, fd: 0, events: Int16(ZMQ_POLLIN), revents: 0)
    }
    items += fileDescriptors.map {
      zmq_pollitem_t(socket: nil, fd: $0, events: Int16(ZMQ_POLLIN), revents: 0)
    }
    let count = zmq_poll(&items, Int32(items.count), timeoutMilliseconds)
    if count < 0 {
      if zmq_errno() == EINTR {
        return (
          Array(repeating: false, count: sockets.count), Array(repeating: false, count: fileDescriptors.count)
        )
      }
      throw ZMQError("zmq_poll")
    }
    let ready = items.map { $0.revents & Int16(ZMQ_POLLIN) != 0 }
    return (Array(ready.prefix(sockets.count)), Array(ready.suffix(fileDescriptors.count)))
  }
}

/// libzmq option numbers other modules need without importing the C module.
public let ZMQ_ROUTER_MANDATORY_OPTION: Int32 = ZMQ_ROUTER_MANDATORY
public let ZMQ_MAXMSGSIZE_OPTION: Int32 = ZMQ_MAXMSGSIZE
public let ZMQ_ROUTING_ID_OPTION: Int32 = ZMQ_ROUTING_ID
public let ZMQ_IMMEDIATE_OPTION: Int32 = ZMQ_IMMEDIATE
public let ZMQ_LINGER_OPTION: Int32 = ZMQ_LINGER
