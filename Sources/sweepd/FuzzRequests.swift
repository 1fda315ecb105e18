import ArgumentParser
import Coordinator
import Dashboard
import Foundation
import Logging
import Store
import Synchronization
import Training
import Wire
import ZMQ

/// The second half of `sweepd fuzz`: hostile but well-formed requests to a real coordinator
/// (its loop on a thread, a real store in a scratch directory) over ZeroMQ, and to its
/// dashboard over HTTP on loopback. Every request must be answered within a deadline (a
/// hang fails), and the coordinator must still answer at the end (a trap ends the process).
struct RequestFuzzer {
  var random: RandomSource
  /// Sweep ids the fuzzer has seen accepted (requests name them as often as junk).
  var known: [String] = []

  init(seed: UInt64) { random = RandomSource(seed: seed ^ 0x9e37_79b9_7f4a_7c15) }

  mutating func pick<T>(_ choices: [T]) -> T { choices[random.index(below: choices.count)] }

  /// A number from the edges: negative, zero, one, huge, or small and ordinary.
  mutating func hostileInt() -> Int {
    pick([-1, 0, 1, 2, Int.min, Int.max, Int(Int32.max) + 1, -7, 1_000_000_000_000, random.index(below: 100)])
  }

  mutating func text() -> String {
    pick([
      "", "../../etc/passwd", String(repeating: "a", count: 5000), "s1-1", "\u{0}", "é☃\u{202e}", "a b",
      "<script>alert(1)</script>", "%2e%2e%2f", "lr", "optimizer", "=HYPERLINK(1)",
    ])
  }

  mutating func sweep() -> String { known.isEmpty || random.index(below: 3) == 0 ? text() : pick(known) }

  /// Configs: valid ones with hostile numbers, combinations the trainer refuses, junk.
  mutating func config() -> String {
    let bodies = [
      "training: {epochs: 1e19}\nparameters:\n  lr: {values: [0.1]}",
      "parameters:\n  training.epochs: {values: [1e300, 2]}",
      "parameters:\n  training.epochs: {distribution: int_uniform, min: -9223372036854775807, max: 9223372036854775807}",
      "optimizer: {name: eve}\nparameters:\n  k_lower: {values: [0.1, 5.0]}\n  k_upper: {values: [2.0, 10.0]}",
      "early_terminate: {type: hyperband, max_iter: 9223372036854775807, s: 9223372036854775807, eta: 1.0000001}\nparameters:\n  lr: {values: [0.1]}",
      "early_terminate: {type: asha, min_epochs: 1, max_epochs: 9223372036854775807, eta: 1.0001}\nparameters:\n  lr: {values: [0.1]}",
      "repeats: 9223372036854775807\nparameters:\n  lr: {values: [0.1, 0.2]}",
      "parameters:\n  lr: {distribution: q_log_uniform_values, min: 1e-300, max: 1e300, q: 5e-324}",
      "data: {dataset: csv, path: /dev/zero}\nparameters:\n  lr: {values: [0.1]}",
      "deterministic: {lag: 9223372036854775807}\nmethod: tpe\nparameters:\n  lr: {min: 0.001, max: 0.1}",
      "parameters: [1, 2",
      "a: &a [*a]",
      "parameters:\n  " + String(repeating: "x", count: 3000) + ": {values: [1]}",
    ]
    let method = pick(["random", "grid", "sobol", "tpe", "bayes", ""])
    return
      "method: \(method)\nrun_cap: \(pick(["3", "0", "-1", "1e19", "9223372036854775807"]))\nmetric: {name: val_loss}\nmodel: {kind: rosenbrock}\n"
      + pick(bodies) + "\n"
  }

  mutating func digest() -> String {
    pick([String(repeating: "ab", count: 32), "../../probe_target", "", String(repeating: "Z", count: 64)])
  }

  /// A request built from hostile fields.
  mutating func request() -> ClientRequest {
    switch random.index(below: 11) {
    case 0, 1:
      return .submit(
        SubmitRequest(
          file: pick(["t.yaml", "", "../x.yaml"]), text: config(),
          data: random.index(below: 4) == 0 ? [pick(["data.path", "x", ""]): digest()] : nil))
    case 2: return .status(sweep: random.index(below: 2) == 0 ? nil : sweep())
    case 3:
      return .leaderboard(
        LeaderboardRequest(
          sweep: sweep(), top: random.index(below: 3) == 0 ? nil : hostileInt(),
          groupBy: random.index(below: 2) == 0 ? nil : text()))
    case 4: return .history(sweep: sweep())
    case 5: return .cancel(sweep: sweep())
    case 6: return random.index(below: 4) == 0 ? .delete(sweep: sweep()) : .status(sweep: sweep())
    case 7:
      return .logs(
        LogsRequest(
          trial: Int64(hostileInt()), attempt: random.index(below: 2) == 0 ? nil : hostileInt(),
          after: random.index(below: 2) == 0 ? nil : Int64(hostileInt())))
    case 8:
      let action = pick([ManageRequest.Action.pause, .resume, .extend, .enqueue])
      return .manage(
        ManageRequest(
          sweep: sweep(), action: action, stopRunning: random.index(below: 2) == 0,
          runCap: random.index(below: 3) == 0 ? nil : hostileInt(),
          values: random.index(below: 2) == 0 ? nil : [text(): pick(["0.1", "[", "adam", "1e999", text()])]))
    case 9:
      return .fetch(FetchRequest(sha256: digest(), offset: Int64(hostileInt()), length: hostileInt()))
    default:
      return .upload(
        UploadChunk(
          sha256: digest(), size: Int64(hostileInt()), offset: Int64(hostileInt()),
          bytes: Array(text().utf8)))
    }
  }

  /// An HTTP request's bytes: a method, a path with hostile parameters, hostile headers.
  mutating func httpRequest(authority: String) -> [UInt8] {
    let id = sweep().addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? "x"
    let value = text().addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
    let path = pick([
      "/api/sweeps/\(id)/leaderboard?top=\(hostileInt())&group_by=\(value)",
      "/api/sweeps/\(id)/leaderboard?top=\(value)", "/api/sweeps/\(id)", "/api/sweeps/\(id)/history",
      "/api/trials/\(hostileInt())/logs?attempt=\(hostileInt())&after=\(hostileInt())",
      "/api/trials/\(value)/logs", "/sweeps/\(id)", "/sweeps/\(id)/body", "/trials/\(hostileInt())",
      "/login?code=\(value)", "/login?token=\(value)", "/api/sweeps/\(id)/pause", "/api/sweeps/\(id)/cancel",
      "/\(value)", "/api/workers", "/metrics", "/../../etc/passwd", "/%00", "/api/sweeps/%ff%fe",
    ])
    let method = pick(["GET", "GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS", "BREW"])
    let host = pick([authority, authority, "attacker.rebind.example", "127.0.0.1.example.com", "", "[::1]"])
    var headers = "Host: \(host)\r\n"
    if random.index(below: 3) == 0 { headers += "Origin: \(pick(["http://evil.example", "http://\(authority)", "null"]))\r\n" }
    if random.index(below: 4) == 0 { headers += "Sec-Fetch-Site: \(pick(["cross-site", "same-origin", "none"]))\r\n" }
    if random.index(below: 5) == 0 { headers += "Cookie: sweepd_session=\(value)\r\n" }
    if random.index(below: 5) == 0 { headers += "Authorization: Bearer \(value)\r\n" }
    let body = method == "POST" || method == "PUT" ? "token=\(value)" : ""
    if !body.isEmpty { headers += "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: \(body.utf8.count)\r\n" }
    return Array("\(method) \(path) HTTP/1.1\r\n\(headers)Connection: close\r\n\r\n\(body)".utf8)
  }
}

extension Fuzz {
  /// Sends `count` hostile requests to a real coordinator over ZeroMQ, and `httpCount` to
  /// its dashboard; throws at the first one not answered within 10 s.
  func fuzzRequests(count: Int, httpCount: Int) throws {
    guard count > 0 || httpCount > 0 else { return }
    let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("sweepd-fuzz-\(getpid())")
    try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: scratch) }
    var logger = Logger(label: "sweepd.fuzz")
    logger.logLevel = .critical
    let context = try ZMQContext()
    let endpoint = "inproc://sweepd-fuzz-\(getpid())"
    let server = try CoordinatorServer(
      bind: endpoint, store: try Store(path: scratch.appendingPathComponent("fuzz.db").path), logger: logger,
      context: context)
    let finished = DispatchSemaphore(value: 0)
    Thread {
      do { try server.run() } catch { FileHandle.standardError.write(Data("fuzz: the loop threw: \(error)\n".utf8)) }
      finished.signal()
    }.start()
    defer {
      server.stop()
      finished.wait()
    }
    var fuzzer = RequestFuzzer(seed: seed)
    let client = try context.socket(.dealer)
    try client.connect(endpoint)
    var refused = 0
    var answered = 0
    for index in 0..<count {
      try client.send(WireCodec.encode(fuzzer.request()))
      guard try ZMQPoller.readable([client], timeoutMilliseconds: 10_000)[0], let reply = try client.receive()
      else {
        throw ValidationError("fuzz: request \(index) (seed \(seed)) was not answered within 10 s")
      }
      switch WireCodec.decodeClientReply(reply.frames) {
      case .success(.ok(let json)):
        answered += 1
        if let accepted = try? DocumentJSON.decode(SubmitReply.self, from: json) { fuzzer.known.append(accepted.sweep) }
      case .success: refused += 1
      case .failure(let error): throw ValidationError("fuzz: request \(index): an unreadable reply (\(error))")
      }
    }
    var statuses: [Int: Int] = [:]
    if httpCount > 0 {
      let started = Mutex<Int?>(nil)
      let dashboard = DashboardServer(
        coordinator: server, access: DashboardAccess(), logger: logger, metrics: { server.metricsSnapshot().text })
      let ready = DispatchSemaphore(value: 0)
      let task = _Concurrency.Task.detached {
        try await dashboard.run(host: "127.0.0.1", port: 0) { port in
          started.withLock { $0 = port }
          ready.signal()
        }
      }
      defer { task.cancel() }
      guard ready.wait(timeout: .now() + 30) == .success, let port = started.withLock({ $0 }) else {
        throw ValidationError("fuzz: the dashboard did not start")
      }
      for index in 0..<httpCount {
        let status = try Self.exchange(fuzzer.httpRequest(authority: "127.0.0.1:\(port)"), port: port)
        guard let status else {
          throw ValidationError("fuzz: HTTP request \(index) (seed \(seed)) was not answered within 10 s")
        }
        statuses[status, default: 0] += 1
      }
      guard try Self.exchange(Array("GET /api/sweeps HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".utf8), port: port) == 200
      else { throw ValidationError("fuzz: the dashboard no longer answers") }
    }
    try client.send(WireCodec.encode(ClientRequest.status(sweep: nil)))
    guard try ZMQPoller.readable([client], timeoutMilliseconds: 10_000)[0], try client.receive() != nil else {
      throw ValidationError("fuzz: the coordinator no longer answers")
    }
    print(
      "fuzz: \(count) hostile requests (seed \(seed)): every one answered (\(answered) accepted, \(refused) refused); "
        + "\(httpCount) HTTP requests answered (\(statuses.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: ", "))); "
        + "the coordinator still serves")
  }

  /// Sends one HTTP request on a new loopback connection; the response's status code, or
  /// nil when none came within 10 s (a closed connection without a response is 0).
  static func exchange(_ request: [UInt8], port: Int) throws -> Int? {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw ValidationError("fuzz: socket: errno \(errno)") }
    defer { close(fd) }
    var timeout = timeval(tv_sec: 10, tv_usec: 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = UInt16(port).bigEndian
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let connected = withUnsafePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard connected == 0 else { throw ValidationError("fuzz: connect: errno \(errno)") }
    _ = request.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    var buffer = [UInt8](repeating: 0, count: 64)
    let received = recv(fd, &buffer, buffer.count, 0)
    if received < 0 { return errno == EAGAIN || errno == EWOULDBLOCK ? nil : 0 }
    let line = String(decoding: buffer.prefix(max(received, 0)), as: UTF8.self)
    let parts = line.split(separator: " ")
    return parts.count >= 2 ? Int(parts[1]) ?? 0 : 0
  }
}
