import ArgumentParser
import Coordinator
import Dashboard
import Dispatch
import Foundation
import Logging
import Synchronization

/// `--http ADDR` and `--http-token-file FILE`: the live dashboard and JSON API (docs/api.md).
struct DashboardFlags: ParsableArguments {
  @Option(
    help: ArgumentHelp(
      "Serve the live dashboard and its JSON API at HOST:PORT (port 0: any free one).",
      discussion: "Loopback only unless --http-token-file is given."))
  var http: String?
  @Option(
    help:
      "Tokens the dashboard accepts: one per line, `operator` after one that may pause, resume and cancel.")
  var httpTokenFile: String?
  @Option(help: "Dashboard connections open at once; past it new ones are closed at once.")
  var httpMaxConnections: Int = 256

  /// HOST and PORT of `--http` (`8080`, `:8080`, `0.0.0.0:8080`, `[::1]:8080`).
  static func split(_ address: String) throws -> (host: String, port: Int) {
    var host = "127.0.0.1"
    var portText = address
    if address.hasPrefix("["), let close = address.firstIndex(of: "]") {
      host = String(address[address.index(after: address.startIndex)..<close])
      portText = String(address[address.index(after: close)...].drop { $0 == ":" })
    } else if let colon = address.lastIndex(of: ":") {
      let given = String(address[..<colon])
      if !given.isEmpty { host = given }
      portText = String(address[address.index(after: colon)...])
    }
    guard let port = Int(portText), (0...65535).contains(port) else {
      throw ValidationError("--http \(address): expected HOST:PORT, e.g. 127.0.0.1:8080 (or just a port)")
    }
    return (host, port)
  }

  func validate() throws {
    if let http { _ = try Self.split(http) }
    if !(1...100_000).contains(httpMaxConnections) {
      throw ValidationError("--http-max-connections must be 1 to 100000, got \(httpMaxConnections)")
    }
    if httpTokenFile != nil && http == nil {
      throw ValidationError("--http-token-file goes with --http ADDR")
    }
  }

  /// Starts the dashboard for `server` when `--http` is given, and waits until it listens
  /// (or fails, which fails the command).
  func start(_ server: CoordinatorServer, logger: Logger) throws {
    guard let http else { return }
    let (host, port) = try Self.split(http)
    let access: DashboardAccess
    do {
      access = try httpTokenFile.map(DashboardAccess.load) ?? DashboardAccess()
      try access.check(host: host)
    } catch let problem as DashboardAccess.Problem {
      throw CommandFailure(problem.description)
    }
    var limits = DashboardServer.Limits()
    limits.connections = httpMaxConnections
    let dashboard = DashboardServer(
      coordinator: server, access: access, logger: logger, metrics: { server.metricsSnapshot().text },
      limits: limits)
    let bound = try Self.serveInBackground(what: "--http \(http)", logger: logger) { started in
      try await dashboard.run(host: host, port: port, started: started)
    }
    let shown = host.contains(":") ? "[\(host)]" : host
    logger.info("dashboard at http://\(shown):\(bound)/")
    if let login = dashboard.loginPath {
      logger.info("dashboard login (once): http://\(shown):\(bound)\(login)")
    }
  }

  /// Runs an HTTP server in the background and waits until it listens: its port, or the
  /// command fails with why it could not serve.
  static func serveInBackground(
    what: String, logger: Logger,
    _ serve: @escaping @Sendable (@escaping @Sendable (Int) -> Void) async throws -> Void
  ) throws -> Int {
    let outcome = Mutex<Result<Int, Error>?>(nil)
    let ready = DispatchSemaphore(value: 0)
    Task.detached {
      do {
        try await serve { bound in
          outcome.withLock { $0 = .success(bound) }
          ready.signal()
        }
      } catch {
        if outcome.withLock({ $0 }) == nil {
          outcome.withLock { $0 = .failure(error) }
          ready.signal()
        } else {
          logger.error("\(what): stopped serving: \(error)")
        }
      }
    }
    guard ready.wait(timeout: .now() + 30) == .success, let result = outcome.withLock({ $0 }) else {
      throw CommandFailure("\(what): the server did not start within 30 s")
    }
    switch result {
    case .success(let bound): return bound
    case .failure(let error): throw CommandFailure("\(what): cannot serve: \(error)")
    }
  }
}
