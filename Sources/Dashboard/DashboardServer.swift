import Coordinator
import Foundation
import Hummingbird
import Logging
import Report
import Synchronization
import Wire

/// The live dashboard and its JSON API, served by the coordinator process (Hummingbird):
/// pages for the sweeps, one sweep, the workers and one trial, updated by server-sent
/// events; the JSON documents the pages use (the ZeroMQ replies' own, `docs/api.md`); and
/// `/metrics`. Reads come from the store and the coordinator's published view on the
/// server's threads; actions (pause, resume, cancel) go to the coordinator's loop like a
/// client's request. Access: `DashboardAccess`.
public final class DashboardServer: Sendable {
  let coordinator: CoordinatorServer
  let reads: LiveReads
  let access: DashboardAccess
  let logger: Logger
  /// One-time login codes → the token their cookie carries.
  let loginCodes: Mutex<[String: String]>
  /// Prometheus exposition text, from the coordinator's counters.
  let metrics: @Sendable () -> String

  public init(
    coordinator: CoordinatorServer, access: DashboardAccess, logger: Logger,
    metrics: @escaping @Sendable () -> String
  ) {
    self.coordinator = coordinator
    self.reads = LiveReads(store: coordinator.storeForReading, logger: logger)
    self.access = access
    self.logger = logger
    self.metrics = metrics
    coordinator.enableLiveView()
    var codes: [String: String] = [:]
    if let token = access.loginToken { codes[Self.randomCode()] = token }
    loginCodes = Mutex(codes)
  }

  static func randomCode() -> String {
    var generator = SystemRandomNumberGenerator()
    return (0..<4).map { _ in String(generator.next() as UInt64, radix: 16) }.joined()
  }

  /// The one-time login path (`/login?code=…`), when the server has tokens.
  public var loginPath: String? { loginCodes.withLock { $0.keys.first }.map { "/login?code=\($0)" } }

  /// Serves on `host:port` until cancelled; `started` gets the bound port.
  public func run(host: String, port: Int, started: @escaping @Sendable (Int) -> Void) async throws {
    try access.check(host: host)
    let router = Router(context: DashboardContext.self)
    router.add(middleware: AccessMiddleware(access: access))
    routes(router)
    let app = Application(
      router: router,
      configuration: .init(address: .hostname(host, port: port), serverName: "sweepd"),
      onServerRunning: { channel in started(channel.localAddress?.port ?? port) },
      logger: logger)
    try await app.runService(gracefulShutdownSignals: [])
  }

  /// `--metrics-port` alone: only `/metrics` (Prometheus text, unauthenticated, as
  /// scrapers expect; bind it where only the scraper reaches), on `host:port` until
  /// cancelled.
  public static func serveMetrics(
    host: String, port: Int, logger: Logger, metrics: @escaping @Sendable () -> String,
    started: @escaping @Sendable (Int) -> Void
  ) async throws {
    let router = Router()
    router.get("/metrics") { _, _ in
      Response(
        status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
        body: ResponseBody(byteBuffer: ByteBuffer(string: metrics())))
    }
    let app = Application(
      router: router, configuration: .init(address: .hostname(host, port: port), serverName: "sweepd"),
      onServerRunning: { channel in started(channel.localAddress?.port ?? port) }, logger: logger)
    try await app.runService(gracefulShutdownSignals: [])
  }

  // MARK: Routes

  func routes(_ router: Router<DashboardContext>) {
    router.get("/") { _, _ in
      let view = self.coordinator.liveView()
      guard case .ok(let json) = self.reads.answer(.status(sweep: nil), view: view),
        let statuses = try? DocumentJSON.decode(SweepStatus.List.self, from: json).sweeps
      else { throw HTTPError(.internalServerError, message: "the store cannot be read") }
      return self.html(Pages.sweeps(statuses, view: view))
    }
    router.get("/sweeps/:id") { _, context in
      let id = try context.parameters.require("id")
      guard
        let page = Pages.sweep(id, reads: self.reads, view: self.coordinator.liveView(), role: context.role)
      else { throw HTTPError(.notFound, message: "no sweep \(id)") }
      return self.html(page)
    }
    router.get("/sweeps/:id/body") { _, context in
      let id = try context.parameters.require("id")
      guard let body = Pages.sweepBody(id, reads: self.reads, view: self.coordinator.liveView()) else {
        throw HTTPError(.notFound, message: "no sweep \(id)")
      }
      return self.html(body)
    }
    router.get("/workers") { _, _ in self.html(Pages.workers(self.coordinator.liveView())) }
    router.get("/trials/:id") { _, context in
      guard let id = Int64(try context.parameters.require("id")),
        let page = Pages.trial(id, reads: self.reads, view: self.coordinator.liveView())
      else { throw HTTPError(.notFound, message: "no such trial") }
      return self.html(page)
    }
    router.get("/login") { request, _ in
      let code = request.uri.queryParameters.get("code") ?? ""
      guard let token = self.loginCodes.withLock({ $0.removeValue(forKey: code) }) else {
        throw HTTPError(
          .unauthorized,
          message:
            "this login link was used already or is wrong; restart the coordinator for a new one, or send Authorization: Bearer TOKEN"
        )
      }
      var response = Response(status: .seeOther, headers: [.location: "/"])
      response.setCookie(
        Cookie(
          name: "sweepd_token", value: token, path: "/", secure: false, httpOnly: true, sameSite: .strict))
      return response
    }
    router.get("/metrics") { _, _ in
      Response(
        status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
        body: ResponseBody(byteBuffer: ByteBuffer(string: self.metrics())))
    }
    // The JSON API.
    router.get("/api/sweeps") { _, _ in
      self.json(self.reads.answer(.status(sweep: nil), view: self.coordinator.liveView()))
    }
    router.get("/api/sweeps/:id") { _, context in
      self.json(
        self.reads.answer(
          try Self.checked(.status(sweep: try context.parameters.require("id"))),
          view: self.coordinator.liveView()))
    }
    router.get("/api/sweeps/:id/leaderboard") { request, context in
      let id = try context.parameters.require("id")
      let top = try Self.integer("top", in: request)
      let groupBy = request.uri.queryParameters.get("group_by").map { String($0) }
      return self.json(
        self.reads.answer(
          try Self.checked(.leaderboard(LeaderboardRequest(sweep: id, top: top, groupBy: groupBy))),
          view: self.coordinator.liveView()))
    }
    router.get("/api/sweeps/:id/history") { _, context in
      self.json(
        self.reads.answer(
          try Self.checked(.history(sweep: try context.parameters.require("id"))),
          view: self.coordinator.liveView()))
    }
    router.get("/api/workers") { _, _ in
      let view = self.coordinator.liveView()
      let age = Date().timeIntervalSince(view.publishedAt)
      let workers = view.workers.map { worker -> CoordinatorState.WorkerSummary in
        var worker = worker
        worker.heardSecondsAgo += age
        return worker
      }
      return self.json(WireCodec.reply(WorkersDocument(workers: workers)))
    }
    router.get("/api/trials/:id/logs") { request, context in
      let text = try context.parameters.require("id")
      guard let id = Int64(text) else {
        throw HTTPError(.badRequest, message: "trial: '\(text)' is not a trial id (a whole number ≥ 0)")
      }
      let attempt = try Self.integer("attempt", in: request)
      let after = try Self.integer("after", in: request).map(Int64.init)
      return self.json(
        self.reads.answer(
          try Self.checked(.logs(LogsRequest(trial: id, attempt: attempt, after: after))),
          view: self.coordinator.liveView()))
    }
    router.get("/api/events") { _, _ in self.events() }
    for action in ["pause", "resume", "cancel"] {
      router.post("/api/sweeps/:id/\(action)") { _, context in
        guard context.role == .operator else {
          throw HTTPError(.forbidden, message: "\(action) needs an operator token (this one reads only)")
        }
        let id = try context.parameters.require("id")
        let request: ClientRequest =
          switch action {
          case "pause": .manage(ManageRequest(sweep: id, action: .pause))
          case "resume": .manage(ManageRequest(sweep: id, action: .resume))
          default: .cancel(sweep: id)
          }
        return self.json(await self.ask(try Self.checked(request)))
      }
    }
  }

  /// A query parameter that must be a whole number, if present: 400 naming it otherwise.
  static func integer(_ name: String, in request: Request) throws -> Int? {
    guard let text = request.uri.queryParameters.get(name) else { return nil }
    guard let value = Int(text) else {
      throw HTTPError(
        .badRequest, message: "\(name): '\(text.prefix(40))' is not a whole number")
    }
    return value
  }

  /// The request, if its fields pass the checks every ZeroMQ request passes
  /// (`ClientRequest.problem`); else 400 naming the field.
  static func checked(_ request: ClientRequest) throws -> ClientRequest {
    if let problem = request.problem { throw HTTPError(.badRequest, message: problem) }
    return request
  }

  /// A request answered by the coordinator's loop.
  func ask(_ request: ClientRequest) async -> ClientReply {
    await withCheckedContinuation { continuation in
      coordinator.ask(request) { continuation.resume(returning: $0) }
    }
  }

  func html(_ text: String) -> Response {
    Response(
      status: .ok, headers: [.contentType: "text/html; charset=utf-8", .cacheControl: "no-store"],
      body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
  }

  /// A reply as JSON: the document, or `{"error": …}` with 400 (404 for an unknown name).
  func json(_ reply: ClientReply) -> Response {
    switch reply {
    case .ok(let bytes), .data(let bytes):
      return Response(
        status: .ok, headers: [.contentType: "application/json", .cacheControl: "no-store"],
        body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes)))
    case .error(let message):
      let status: HTTPResponse.Status = message.hasPrefix("unknown") ? .notFound : .badRequest
      let body: [UInt8] = DocumentJSON.encode(["error": message])
      return Response(
        status: status, headers: [.contentType: "application/json"],
        body: ResponseBody(byteBuffer: ByteBuffer(bytes: body)))
    }
  }

  /// Server-sent events: `update` with the view's version whenever it changes (checked
  /// every 250 ms), a comment every 15 s to keep proxies from closing the stream.
  func events() -> Response {
    let coordinator = self.coordinator
    return Response(
      status: .ok,
      headers: [.contentType: "text/event-stream", .cacheControl: "no-store"],
      body: ResponseBody { writer in
        var seen = -1
        var quiet = 0
        while !Task.isCancelled {
          let version = coordinator.liveView().version
          if version != seen {
            seen = version
            quiet = 0
            try await writer.write(ByteBuffer(string: "event: update\ndata: {\"version\":\(version)}\n\n"))
          } else {
            quiet += 1
            if quiet % 60 == 0 { try await writer.write(ByteBuffer(string: ": still here\n\n")) }
          }
          try await Task.sleep(for: .milliseconds(250))
        }
        try await writer.finish(nil)
      })
  }
}

/// `/api/workers`: the connected workers.
struct WorkersDocument: Encodable {
  var workers: [CoordinatorState.WorkerSummary]
}

/// A request's context: who is asking.
public struct DashboardContext: RequestContext {
  public var coreContext: CoreRequestContextStorage
  public var role: DashboardAccess.Role = .reader

  public init(source: ApplicationRequestContextSource) {
    coreContext = .init(source: source)
  }
}

/// Every request but the login link carries a token the access rules know (see
/// `DashboardAccess`); its role goes on the context.
struct AccessMiddleware: RouterMiddleware {
  typealias Context = DashboardContext
  let access: DashboardAccess

  func handle(
    _ request: Request, context: DashboardContext, next: (Request, DashboardContext) async throws -> Response
  ) async throws -> Response {
    var context = context
    if request.uri.path == "/login" { return try await next(request, context) }
    guard
      let role = access.role(
        authorization: request.headers[.authorization], cookie: request.cookies["sweepd_token"]?.value)
    else {
      return Response(
        status: .unauthorized,
        headers: [.contentType: "text/plain; charset=utf-8", .wwwAuthenticate: "Bearer"],
        body: ResponseBody(
          byteBuffer: ByteBuffer(
            string:
              "401: this dashboard needs a token: open the login link the coordinator printed at start, or send Authorization: Bearer TOKEN\n"
          )))
    }
    context.role = role
    return try await next(request, context)
  }
}
