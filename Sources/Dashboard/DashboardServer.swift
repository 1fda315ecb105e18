import Coordinator
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
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
  /// One-time login codes → the role their session gets.
  let loginCodes: Mutex<[String: DashboardAccess.Role]>
  /// Browser sessions made by a login.
  let sessions = DashboardSessions()
  /// What one client may hold: connections, event streams, idle time.
  public let limits: Limits
  let connections = ConnectionCount()
  let eventStreams = ConnectionCount()

  /// The server's bounds, so no number of clients can exhaust the process's descriptors.
  public struct Limits: Sendable {
    /// Open connections at once; past it a new one is closed at once. Default 256.
    public var connections = 256
    /// Server-sent event streams at once (`/api/events`); past it, 503. Default 64.
    public var eventStreams = 64
    /// Seconds a connection may stay silent (no request, or a request sent too slowly)
    /// before it is closed. Default 30.
    public var idleSeconds: Int64 = 30

    public init() {}
  }
  /// Prometheus exposition text, from the coordinator's counters.
  let metrics: @Sendable () -> String

  public init(
    coordinator: CoordinatorServer, access: DashboardAccess, logger: Logger,
    metrics: @escaping @Sendable () -> String, limits: Limits = Limits()
  ) {
    self.limits = limits
    self.coordinator = coordinator
    self.reads = LiveReads(store: coordinator.storeForReading, logger: logger)
    self.access = access
    self.logger = logger
    self.metrics = metrics
    coordinator.enableLiveView()
    var codes: [String: DashboardAccess.Role] = [:]
    if let token = access.loginToken, let role = access.role(ofToken: token) { codes[Self.randomCode()] = role }
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
    router.add(middleware: ErrorShapeMiddleware())
    router.add(middleware: OriginMiddleware(access: access))
    router.add(middleware: AccessMiddleware(access: access, sessions: sessions))
    routes(router)
    let (connections, limit) = (self.connections, limits.connections)
    let app = Application(
      router: router,
      server: .http1(
        configuration: .init(
          additionalChannelHandlers: [ConnectionCap(count: connections, limit: limit)],
          idleTimeout: .seconds(limits.idleSeconds))),
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
      if let code = request.uri.queryParameters.get("code") {
        guard let role = self.loginCodes.withLock({ $0.removeValue(forKey: String(code)) }) else {
          throw HTTPError(
            .unauthorized,
            message:
              "this login link was used already or is wrong; log in with a token at /login, or send Authorization: Bearer TOKEN"
          )
        }
        return self.loggedIn(role)
      }
      if let token = request.uri.queryParameters.get("token") { return try self.logIn(token: String(token)) }
      return self.html(Pages.login(failed: false))
    }
    router.post("/login") { request, context in
      var request = request
      let body = try await request.collectBody(upTo: 4096)
      let form = String(buffer: body)
      let token =
        form.split(separator: "&").lazy.compactMap { pair -> String? in
          let parts = pair.split(separator: "=", maxSplits: 1)
          guard parts.count == 2, parts[0] == "token" else { return nil }
          return String(parts[1]).replacingOccurrences(of: "+", with: " ").removingPercentEncoding
        }.first ?? ""
      return try self.logIn(token: token)
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
    router.get("/api/events") { _, _ in try self.events() }
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

  /// A session for `token`'s role (any valid token), or 401 without saying which part was
  /// wrong; the token itself is never logged or put in a cookie.
  func logIn(token: String) throws -> Response {
    guard let role = access.role(ofToken: token) else {
      return Response(
        status: .unauthorized, headers: [.contentType: "text/html; charset=utf-8"],
        body: ResponseBody(byteBuffer: ByteBuffer(string: Pages.login(failed: true))))
    }
    return loggedIn(role)
  }

  /// Sets a new session's cookie (12 hours) and goes to the sweeps page.
  func loggedIn(_ role: DashboardAccess.Role) -> Response {
    let id = sessions.open(role, now: Date().timeIntervalSince1970)
    var response = Response(status: .seeOther, headers: [.location: "/"])
    response.setCookie(
      Cookie(
        name: "sweepd_session", value: id, maxAge: Int(DashboardSessions.lifetime), path: "/", secure: false,
        httpOnly: true, sameSite: .strict))
    return response
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

  /// A reply as JSON: the document, or `{"error": "…"}` with 400 (404 for an unknown name).
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
  func events() throws -> Response {
    let coordinator = self.coordinator
    let streams = self.eventStreams
    guard streams.open.add(1, ordering: .relaxed).newValue <= limits.eventStreams else {
      streams.open.subtract(1, ordering: .relaxed)
      throw HTTPError(
        .serviceUnavailable,
        message: "\(limits.eventStreams) event streams are open already; close a dashboard tab and reload")
    }
    return Response(
      status: .ok,
      headers: [.contentType: "text/event-stream", .cacheControl: "no-store"],
      body: ResponseBody { writer in
        defer { streams.open.subtract(1, ordering: .relaxed) }
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
  let sessions: DashboardSessions

  func handle(
    _ request: Request, context: DashboardContext, next: (Request, DashboardContext) async throws -> Response
  ) async throws -> Response {
    var context = context
    if request.uri.path == "/login" { return try await next(request, context) }
    let session = sessions.role(of: request.cookies["sweepd_session"]?.value, now: Date().timeIntervalSince1970)
    guard let role = access.role(authorization: request.headers[.authorization], session: session) else {
      throw HTTPError(
        .unauthorized, headers: [.wwwAuthenticate: "Bearer"],
        message:
          "this dashboard needs a token: log in at /login (or with the link the coordinator printed at start), or send Authorization: Bearer TOKEN"
      )
    }
    context.role = role
    return try await next(request, context)
  }
}

/// Only loopback host names without tokens (DNS rebinding), and no cross-site request may
/// change anything (CSRF): see `DashboardAccess`.
struct OriginMiddleware: RouterMiddleware {
  typealias Context = DashboardContext
  let access: DashboardAccess
  static let fetchSite = HTTPField.Name("Sec-Fetch-Site")!

  func handle(
    _ request: Request, context: DashboardContext, next: (Request, DashboardContext) async throws -> Response
  ) async throws -> Response {
    let host = request.head.authority
    guard access.allows(host: host) else {
      throw HTTPError(
        .misdirectedRequest,
        message:
          "this dashboard answers loopback names only (localhost, 127.0.0.1, [::1]) without --http-token-file; Host '\(host ?? "")' is not one"
      )
    }
    if request.method != .get && request.method != .head,
      !DashboardAccess.isSameOrigin(
        origin: request.headers[.origin], fetchSite: request.headers[Self.fetchSite],
        host: host)
    {
      throw HTTPError(.forbidden, message: "a request from another site may not change anything here")
    }
    return try await next(request, context)
  }
}

/// One error shape: under `/api/` every error is `{"error": "message"}` with its status
/// (401 and a route's own errors alike); elsewhere it is a line of text.
struct ErrorShapeMiddleware: RouterMiddleware {
  typealias Context = DashboardContext

  func handle(
    _ request: Request, context: DashboardContext, next: (Request, DashboardContext) async throws -> Response
  ) async throws -> Response {
    do {
      return try await next(request, context)
    } catch let error as HTTPError {
      let message = error.body ?? error.status.reasonPhrase
      var headers = error.headers
      let body: ByteBuffer
      if request.uri.path.hasPrefix("/api/") {
        headers[.contentType] = "application/json"
        body = ByteBuffer(bytes: DocumentJSON.encode(["error": message]))
      } else {
        headers[.contentType] = "text/plain; charset=utf-8"
        body = ByteBuffer(string: "\(error.status.code): \(message)\n")
      }
      return Response(status: error.status, headers: headers, body: ResponseBody(byteBuffer: body))
    }
  }
}

/// A count shared across threads: a server's open connections, or event streams.
final class ConnectionCount: Sendable {
  let open = Atomic<Int>(0)
}

/// Counts a connection while it is open and closes it at once past `limit` (one per
/// connection, in its pipeline).
final class ConnectionCap: ChannelInboundHandler, RemovableChannelHandler, @unchecked Sendable {
  typealias InboundIn = NIOAny
  let count: ConnectionCount
  let limit: Int
  var counted = false

  init(count: ConnectionCount, limit: Int) {
    self.count = count
    self.limit = limit
  }

  func admit(_ context: ChannelHandlerContext) {
    guard !counted else { return }
    counted = true
    if count.open.add(1, ordering: .relaxed).newValue > limit { context.close(promise: nil) }
  }

  func handlerAdded(context: ChannelHandlerContext) {
    if context.channel.isActive { admit(context) }
  }

  func channelActive(context: ChannelHandlerContext) {
    admit(context)
    context.fireChannelActive()
  }

  func channelInactive(context: ChannelHandlerContext) {
    if counted {
      counted = false
      count.open.subtract(1, ordering: .relaxed)
    }
    context.fireChannelInactive()
  }

  func handlerRemoved(context: ChannelHandlerContext) {
    if counted {
      counted = false
      count.open.subtract(1, ordering: .relaxed)
    }
  }
}
