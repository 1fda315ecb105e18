import Foundation
import Synchronization
import Vocabulary

#if canImport(Glibc)
  import Glibc
#endif

/// The coordinator's numbers for Prometheus, as the I/O loop last published them.
public struct CoordinatorMetrics: Sendable, Equatable {
  /// Trials by state (pending, running, completed, …) of the sweeps this coordinator has run
  /// since it started.
  public var trialsByState: [String: Int] = [:]
  /// Trials waiting for a slot.
  public var queueDepth = 0
  public var workersConnected = 0
  /// Totals since the coordinator started (Prometheus counters).
  public var assignments = 0
  public var metricMessages = 0
  /// Store write transactions: how many, and their total and largest duration (seconds).
  public var storeWrites = 0
  public var storeWriteSeconds = 0.0
  public var storeWriteMaxSeconds = 0.0
  /// Whether store writes are failing now (1) or not (0).
  public var storeFailing = false

  public init() {}

  /// The gauges as of now: trials by state (ended sweeps' and live ones'), queue depth,
  /// workers, whether store writes fail.
  mutating func update(
    book: SweepBook, ended: [TrialState: Int], leases: CoordinatorState, storeFailing: Bool
  ) {
    var trials: [String: Int] = [:]
    for (state, count) in ended { trials[state.rawValue, default: 0] += count }
    for live in book.sweeps.values {
      for (state, count) in live.counts { trials[state.rawValue, default: 0] += count }
    }
    trialsByState = trials
    queueDepth = leases.pendingCount
    workersConnected = leases.workerCount
    self.storeFailing = storeFailing
  }

  /// The Prometheus text exposition format (version 0.0.4).
  public var text: String {
    var lines: [String] = []
    func metric(_ name: String, _ type: String, _ help: String, _ samples: [(String, Double)]) {
      lines.append("# HELP \(name) \(help)")
      lines.append("# TYPE \(name) \(type)")
      for (labels, value) in samples {
        let number = value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : "\(value)"
        lines.append("\(name)\(labels) \(number)")
      }
    }
    let states = TrialState.allCases.map(\.rawValue)
    metric(
      "sweepd_trials", "gauge", "Trials by state of the sweeps run since the coordinator started.",
      states.map { ("{state=\"\($0)\"}", Double(trialsByState[$0] ?? 0)) })
    metric("sweepd_queue_depth", "gauge", "Trials waiting for a slot.", [("", Double(queueDepth))])
    metric("sweepd_workers_connected", "gauge", "Workers connected.", [("", Double(workersConnected))])
    metric("sweepd_assignments_total", "counter", "Trials assigned to workers.", [("", Double(assignments))])
    metric(
      "sweepd_metric_messages_total", "counter", "METRIC messages received (one per trial epoch).",
      [("", Double(metricMessages))])
    metric(
      "sweepd_store_write_seconds", "summary", "Duration of store write transactions.",
      [("_sum", storeWriteSeconds), ("_count", Double(storeWrites))])
    metric(
      "sweepd_store_write_max_seconds", "gauge", "The longest store write transaction so far.",
      [("", storeWriteMaxSeconds)])
    metric(
      "sweepd_store_failing", "gauge", "1 while store writes fail (a full disk), else 0.",
      [("", storeFailing ? 1 : 0)])
    return lines.joined(separator: "\n") + "\n"
  }
}

/// A minimal HTTP/1.0 responder for Prometheus scrapes: `GET /metrics` answers the current
/// `CoordinatorMetrics` as text; anything else is 404. One thread, one connection at a time,
/// reads at most 8 KiB of request with a 2 s timeout, so a slow or hostile client cannot
/// hold it long. (Written by hand: the exposition format is a few lines, and an HTTP stack
/// such as SwiftNIO would be a large dependency for one read-only endpoint.)
public final class MetricsEndpoint: @unchecked Sendable {
  let listener: Int32
  public let port: Int
  let snapshot: @Sendable () -> CoordinatorMetrics
  let stopRequested = Atomic<Bool>(false)
  let finished = DispatchSemaphore(value: 0)

  /// Listens on `address` (IPv4, e.g. 127.0.0.1 or 0.0.0.0) and `port` (0: any free one).
  public init(address: String, port: Int, snapshot: @escaping @Sendable () -> CoordinatorMetrics) throws {
    let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard socket >= 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
    var yes: Int32 = 1
    setsockopt(socket, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
    var address4 = sockaddr_in()
    address4.sin_family = sa_family_t(AF_INET)
    address4.sin_port = in_port_t(UInt16(port).bigEndian)
    guard inet_pton(AF_INET, address, &address4.sin_addr) == 1 else {
      close(socket)
      throw CocoaError(.formatting, userInfo: [NSLocalizedDescriptionKey: "not an IPv4 address: \(address)"])
    }
    let bound = withUnsafePointer(to: &address4) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
        bind(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
      }
    }
    guard bound == 0, listen(socket, 16) == 0 else {
      let code = errno
      close(socket)
      throw POSIXError(POSIXErrorCode(rawValue: code) ?? .EADDRINUSE)
    }
    var actual = sockaddr_in()
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &actual) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(socket, $0, &length) }
    }
    listener = socket
    self.port = Int(UInt16(bigEndian: actual.sin_port))
    self.snapshot = snapshot
    Thread { [self] in
      serve()
      finished.signal()
    }.start()
  }

  /// Stops serving (within 200 ms) and closes the port.
  public func stop() {
    stopRequested.store(true, ordering: .relaxed)
    finished.wait()
    close(listener)
  }

  func serve() {
    while !stopRequested.load(ordering: .relaxed) {
      var poller = pollfd(fd: listener, events: Int16(POLLIN), revents: 0)
      guard poll(&poller, 1, 200) > 0 else { continue }
      let connection = accept(listener, nil, nil)
      guard connection >= 0 else { continue }
      answer(connection)
      close(connection)
    }
  }

  func answer(_ connection: Int32) {
    var timeout = timeval(tv_sec: 2, tv_usec: 0)
    setsockopt(connection, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    var request: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 2048)
    while request.count < 8192, !request.containsHeaderEnd {
      let count = read(connection, &buffer, buffer.count)
      guard count > 0 else { break }
      request += buffer.prefix(count)
    }
    let line = String(
      decoding: request.prefix { $0 != UInt8(ascii: "\r") && $0 != UInt8(ascii: "\n") }, as: UTF8.self)
    let parts = line.split(separator: " ")
    let response: String
    if parts.count >= 2, parts[0] == "GET", parts[1] == "/metrics" || parts[1].hasPrefix("/metrics?") {
      let body = snapshot().text
      response =
        "HTTP/1.0 200 OK\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
        + "Content-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n" + body
    } else {
      let body = "not found: only GET /metrics\n"
      response =
        "HTTP/1.0 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: \(body.utf8.count)\r\n"
        + "Connection: close\r\n\r\n" + body
    }
    let bytes = Array(response.utf8)
    var sent = 0
    while sent < bytes.count {
      let count = bytes.withUnsafeBytes { write(connection, $0.baseAddress! + sent, $0.count - sent) }
      guard count > 0 else { return }
      sent += count
    }
  }
}

extension [UInt8] {
  /// Whether an HTTP request's header block has ended (a blank line, CRLF or bare LF).
  fileprivate var containsHeaderEnd: Bool {
    for (index, byte) in enumerated() where byte == 10 {
      if index + 1 < count && self[index + 1] == 10 { return true }
      if index + 2 < count && self[index + 1] == 13 && self[index + 2] == 10 { return true }
    }
    return false
  }
}
