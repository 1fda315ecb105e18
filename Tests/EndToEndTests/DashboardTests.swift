import Foundation
import XCTest

/// The live dashboard served by `sweepd coordinator --http`: a real browser watching a
/// running sweep, the JSON API, and the access rules.
final class DashboardTests: DaemonTestCase {
  var chromium: String? {
    ["/usr/bin/chromium", "/usr/bin/chromium-browser"].first {
      FileManager.default.isExecutableFile(atPath: $0)
    }
  }

  /// The Python with websocket-client (scripts/test installs it into .venv-test).
  func python() throws -> String {
    if let given = ProcessInfo.processInfo.environment["SWEEPD_TEST_PYTHON"] { return given }
    let local = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
      .deletingLastPathComponent().appendingPathComponent(".venv-test/bin/python").path
    guard FileManager.default.isExecutableFile(atPath: local) else {
      throw XCTSkip("no Python with websocket-client here (scripts/test installs one into .venv-test)")
    }
    return local
  }

  /// Starts a coordinator with the dashboard; its ZeroMQ endpoint and the dashboard's URL.
  func startWithDashboard(_ extra: [String] = []) throws -> (coordinator: String, http: String) {
    let started = try launchCoordinator(
      ["--db", directory.appendingPathComponent("d.db").path, "--http", "127.0.0.1:0"] + extra)
    let line = try wait(for: "dashboard at http://", in: started.log, seconds: 30)
    let url = String(line.dropFirst("dashboard at ".count).prefix { !$0.isWhitespace })
    return (started.endpoint, url.hasSuffix("/") ? String(url.dropLast()) : url)
  }

  func sweepFile(trials: Int, epochs: Int) throws -> String {
    let file = directory.appendingPathComponent("live.yaml")
    try """
    name: live
    method: random
    run_cap: \(trials)
    seed: 6
    metric: {name: val_error, goal: minimize}
    data: {dataset: spirals, samples: 1500}
    model: {kind: mlp, hidden: [32, 32]}
    training: {epochs: \(epochs), batch_size: 16}
    parameters:
      lr: {distribution: log_uniform_values, min: 0.003, max: 0.03}
    """.write(to: file, atomically: true, encoding: .utf8)
    return file.path
  }

  /// `curl` with `arguments`: the status code and the body.
  func curl(_ arguments: [String]) throws -> (status: Int, body: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
    process.arguments = ["-s", "-o", "-", "-w", "\n%{http_code}"] + arguments
    let pipe = Pipe()
    process.standardOutput = pipe
    try process.run()
    let text = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    let code = Int(text.split(separator: "\n").last ?? "") ?? 0
    return (code, String(text.dropLast(String(code).count + 1)))
  }

  /// Headless Chromium keeps the sweep page of a running sweep open; without a reload, its
  /// DOM shows trials finishing and the running trials' curves gaining points as the epochs
  /// arrive, and no script error happens.
  func testTheSweepPageUpdatesLiveInChromium() throws {
    guard let chromium else {
      if ProcessInfo.processInfo.environment["SWEEPD_REQUIRE_BROWSERS"] == "1" {
        return XCTFail("chromium is required (scripts/setup --test installs it)")
      }
      throw XCTSkip("chromium is not installed")
    }
    let python = try python()
    let (coordinator, http) = try startWithDashboard()
    _ = try launch(["worker", "--connect", coordinator, "--slots", "1"], name: "worker")
    let submitted = try SweepdProcess.run([
      "submit", try sweepFile(trials: 5, epochs: 30), "--coordinator", coordinator,
    ])
    XCTAssertEqual(submitted.status, 0, submitted.stderr)
    let sweep = submitted.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
      .deletingLastPathComponent().appendingPathComponent("scripts/browser/watch_page.py").path
    let expression = """
      (function () {
        var main = document.getElementById("live");
        if (!main) { return null; }
        var points = 0;
        document.querySelectorAll("#running polyline").forEach(function (line) {
          points += line.getAttribute("points").trim().split(/\\s+/).length;
        });
        var completed = document.querySelectorAll("#live td.status-completed").length;
        return {version: Number(main.dataset.version || "0"), completed: completed, points: points,
                done: completed >= 5};
      })()
      """
    let process = Process()
    process.executableURL = URL(fileURLWithPath: python)
    process.arguments = [script, chromium, "\(http)/sweeps/\(sweep)", "120", expression]
    let pipe = Pipe()
    process.standardOutput = pipe
    try process.run()
    let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    XCTAssertEqual(process.terminationStatus, 0, output)
    let lines = output.split(separator: "\n").compactMap {
      try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
    }
    XCTAssertEqual(lines.compactMap { $0["error"] as? String }, [], "script errors in the page")
    let samples = lines.compactMap { $0["value"] as? [String: Any] }.map {
      (
        version: $0["version"] as? Int ?? 0, completed: $0["completed"] as? Int ?? 0,
        points: $0["points"] as? Int ?? 0
      )
    }
    let first = try XCTUnwrap(samples.first, output)
    // The page is never reloaded: its count of swapped-in updates only grows.
    XCTAssertEqual(
      samples.map(\.version), samples.map(\.version).sorted(), "the page was reloaded: \(samples)")
    XCTAssertTrue(
      samples.contains { $0.version > first.version && $0.completed > first.completed },
      "no trial finished in the open page: \(samples)")
    // Curve points arrive: a later look at the same page draws more points of a running trial.
    let grew = zip(samples, samples.dropFirst()).contains {
      $1.version > $0.version && $1.points > $0.points && $0.points > 0
    }
    XCTAssertTrue(grew, "the running trials' curves did not grow in the open page: \(samples)")
    XCTAssertEqual(samples.last?.completed, 5, "the page ends with every trial finished: \(samples)")
  }

  /// The JSON API is the ZeroMQ replies' own documents.
  func testTheJSONAPI() throws {
    let (coordinator, http) = try startWithDashboard()
    _ = try launch(["worker", "--connect", coordinator, "--slots", "2", "--name", "box-a:1"], name: "worker")
    let sweep = try SweepdProcess.run([
      "submit", try sweepFile(trials: 3, epochs: 3), "--coordinator", coordinator,
    ])
    .stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    try waitUntilComplete(coordinator, sweep, seconds: 120)
    let status = try curl(["\(http)/api/sweeps/\(sweep)"])
    XCTAssertEqual(status.status, 200)
    XCTAssertTrue(status.body.contains(#""state":"completed""#), status.body)
    let board = try curl(["\(http)/api/sweeps/\(sweep)/leaderboard?top=2"])
    let viaZMQ = try SweepdProcess.run([
      "leaderboard", sweep, "--coordinator", coordinator, "--format", "json", "--top", "2",
    ])
    XCTAssertEqual(board.body + "\n", viaZMQ.stdout, "the same document as LEADERBOARD")
    let workers = try curl(["\(http)/api/workers"])
    XCTAssertTrue(
      workers.body.contains(#""name":"box-a:1""#) && workers.body.contains(#""slots":2"#), workers.body)
    XCTAssertTrue(
      workers.body.contains(#""host":""#) && workers.body.contains(#""version":""#)
        && workers.body.contains(#""draining":false"#), workers.body)
    XCTAssertEqual(try curl(["\(http)/api/sweeps/nope-1"]).status, 404)
    let list = try curl(["\(http)/"])
    XCTAssertTrue(
      list.body.contains(">\(sweep)</a>") && list.body.contains(#"<td class="num">3/3</td>"#),
      "a finished sweep keeps its progress on the list: \(list.body.suffix(600))")
    let page = try curl(["\(http)/sweeps/\(sweep)"])
    XCTAssertEqual(page.status, 200)
    XCTAssertTrue(
      page.body.contains("Leaderboard") && page.body.contains("<svg"), String(page.body.prefix(300)))
    XCTAssertFalse(
      page.body.contains("http://") && page.body.contains("<script src="), "nothing from outside")
    let trial = try curl(["\(http)/trials/1"])
    XCTAssertTrue(trial.body.contains("val_error per epoch"), String(trial.body.prefix(300)))
    let metrics = try curl(["\(http)/metrics"])
    XCTAssertTrue(metrics.body.contains("sweepd_"), String(metrics.body.prefix(300)))
    try renderInFirefox("\(http)/sweeps/\(sweep)")
  }

  /// Firefox draws the page (a screenshot with more than a blank page in it) and reports
  /// no script error from it (the page's console goes to standard output).
  func renderInFirefox(_ url: String) throws {
    guard
      let firefox = ["/usr/bin/firefox-esr", "/usr/bin/firefox"].first(where: {
        FileManager.default.isExecutableFile(atPath: $0)
      })
    else {
      if ProcessInfo.processInfo.environment["SWEEPD_REQUIRE_BROWSERS"] == "1" {
        return XCTFail("firefox-esr is required (scripts/setup --test installs it)")
      }
      return
    }
    let profile = directory.appendingPathComponent("firefox-profile")
    try FileManager.default.createDirectory(at: profile, withIntermediateDirectories: true)
    try #"user_pref("devtools.console.stdout.content", true);"#.write(
      to: profile.appendingPathComponent("user.js"), atomically: true, encoding: .utf8)
    let png = directory.appendingPathComponent("firefox.png")
    let process = Process()
    process.executableURL = URL(fileURLWithPath: firefox)
    process.arguments = [
      "--headless", "--no-remote", "--profile", profile.path, "--screenshot", png.path,
      "--window-size=1200,1600", url,
    ]
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    try process.run()
    let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    let size = ((try? FileManager.default.attributesOfItem(atPath: png.path))?[.size] as? Int) ?? 0
    XCTAssertGreaterThan(size, 50_000, "Firefox drew nothing: \(output.suffix(500))")
    let pageErrors = output.split(separator: "\n").filter {
      $0.contains("JavaScript error: http://127.0.0.1")
    }
    XCTAssertEqual(pageErrors, [], "script errors in Firefox")
  }

  /// Fail-closed access: a non-loopback address without tokens is refused at start; with
  /// tokens, a request without one or with a wrong one gets 401, a read-only token cannot
  /// pause (403), an operator token can; the one-time login link works once.
  func testAccessRules() throws {
    let refused = try SweepdProcess.run([
      "coordinator", "--bind", "tcp://127.0.0.1:*", "--db", directory.appendingPathComponent("x.db").path,
      "--http", "0.0.0.0:0",
    ])
    XCTAssertNotEqual(refused.status, 0)
    XCTAssertTrue(refused.stderr.contains("needs --http-token-file"), refused.stderr)

    let tokens = directory.appendingPathComponent("tokens")
    try "# readers and operators\nreader-token-0123456789\noperator-token-0123456789 operator\n".write(
      to: tokens, atomically: true, encoding: .utf8)
    let started = try launchCoordinator(
      [
        "--db", directory.appendingPathComponent("t.db").path, "--http", "127.0.0.1:0", "--http-token-file",
        tokens.path,
      ], name: "secured")
    let line = try wait(for: "dashboard at http://", in: started.log, seconds: 30)
    let http = String(line.dropFirst("dashboard at ".count).prefix { !$0.isWhitespace }.dropLast())
    let login = try wait(for: "dashboard login (once): ", in: started.log, seconds: 10)
    let link = String(login.dropFirst("dashboard login (once): ".count).prefix { !$0.isWhitespace })
    let sweep = try SweepdProcess.run(
      ["submit", try sweepFile(trials: 2, epochs: 200), "--coordinator", started.endpoint]
    ).stdout.trimmingCharacters(in: .whitespacesAndNewlines)

    XCTAssertEqual(try curl(["\(http)/api/sweeps"]).status, 401, "no token")
    XCTAssertEqual(
      try curl(["-H", "Authorization: Bearer wrong-token-0123456789", "\(http)/api/sweeps"]).status, 401)
    XCTAssertEqual(try curl(["-b", "sweepd_session=wrong-session", "\(http)/"]).status, 401)
    // One error shape under /api/, 401 included.
    let unauthorized = try curl(["\(http)/api/sweeps"])
    XCTAssertTrue(unauthorized.body.hasPrefix(#"{"error":""#), unauthorized.body)
    let reader = ["-H", "Authorization: Bearer reader-token-0123456789"]
    XCTAssertEqual(try curl(reader + ["\(http)/api/sweeps"]).status, 200)
    XCTAssertEqual(try curl(reader + ["-X", "POST", "\(http)/api/sweeps/\(sweep)/pause"]).status, 403)
    let operatorToken = ["-H", "Authorization: Bearer operator-token-0123456789"]
    let paused = try curl(operatorToken + ["-X", "POST", "\(http)/api/sweeps/\(sweep)/pause"])
    XCTAssertEqual(paused.status, 200, paused.body)
    XCTAssertTrue(paused.body.contains(#""state":"paused""#), paused.body)
    XCTAssertTrue(
      try curl(reader + ["\(http)/api/sweeps/\(sweep)"]).body.contains(#""state":"paused""#),
      "the store has it")
    // The login link sets a session cookie once; it carries no token and expires.
    let jar = directory.appendingPathComponent("cookies").path
    let first = try curl(["-c", jar, link])
    XCTAssertEqual(first.status, 303)
    let cookies = try String(contentsOfFile: jar, encoding: .utf8)
    XCTAssertTrue(cookies.contains("sweepd_session"), cookies)
    XCTAssertFalse(cookies.contains("token-0123456789"), "a token went into a cookie")
    XCTAssertEqual(try curl(["-b", jar, "\(http)/api/sweeps"]).status, 200, "the session lets it in")
    XCTAssertEqual(try curl([link]).status, 401, "a login link works once")
    // Any valid token logs a browser in, as often as needed: a link with it, or the form.
    for attempt in 0..<2 {
      let other = directory.appendingPathComponent("cookies-\(attempt)").path
      XCTAssertEqual(try curl(["-c", other, "\(http)/login?token=reader-token-0123456789"]).status, 303)
      XCTAssertEqual(try curl(["-b", other, "\(http)/api/sweeps"]).status, 200)
      XCTAssertEqual(
        try curl(["-b", other, "-X", "POST", "\(http)/api/sweeps/\(sweep)/resume"]).status, 403,
        "a reader's session reads only")
    }
    let form = directory.appendingPathComponent("cookies-form").path
    XCTAssertTrue(try curl(["\(http)/login"]).body.contains(#"name="token""#), "the login form")
    XCTAssertEqual(
      try curl(["-c", form, "--data-urlencode", "token=operator-token-0123456789", "\(http)/login"]).status, 303)
    XCTAssertEqual(try curl(["-b", form, "-X", "POST", "\(http)/api/sweeps/\(sweep)/resume"]).status, 200)
    XCTAssertEqual(
      try curl(["--data-urlencode", "token=wrong-token-0123456789", "\(http)/login"]).status, 401)
    let log = try String(contentsOf: started.log, encoding: .utf8)
    XCTAssertFalse(log.contains("token-0123456789"), "a token was logged")
  }

  /// Hostile requests to a token-less loopback dashboard: numbers out of range are 400s
  /// naming the field (the defect: `top=-1` trapped the coordinator); a foreign `Host` is
  /// refused (DNS rebinding); a cross-site POST — even as text/plain, the kind a form on
  /// any page may send — changes nothing (CSRF); same-origin and non-browser clients act.
  func testHostileRequestsAreRefusedAndChangeNothing() throws {
    let (coordinator, http) = try startWithDashboard()
    let sweep = try SweepdProcess.run([
      "submit", try sweepFile(trials: 2, epochs: 200), "--coordinator", coordinator,
    ]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    for (query, field) in [("top=-1", "top: -1"), ("top=abc", "top: 'abc'"), ("top=0", "top: 0")] {
      let reply = try curl(["\(http)/api/sweeps/\(sweep)/leaderboard?\(query)"])
      XCTAssertEqual(reply.status, 400, query)
      XCTAssertTrue(reply.body.hasPrefix(#"{"error":"\#(field)"#), reply.body)
    }
    XCTAssertEqual(try curl(["\(http)/api/trials/1/logs?attempt=-4"]).status, 400)
    XCTAssertEqual(try curl(["\(http)/api/sweeps/..%2Fx"]).status, 400)
    let rebound = try curl(["-H", "Host: attacker.rebind.example", "\(http)/api/sweeps"])
    XCTAssertEqual(rebound.status, 421, rebound.body)
    XCTAssertFalse(rebound.body.contains(sweep), "a rebound name read the sweeps")
    XCTAssertEqual(try curl(["-H", "Host: 127.0.0.1.example.com", "\(http)/"]).status, 421)
    for headers in [
      ["-H", "Origin: http://evil.example.com", "-H", "Content-Type: text/plain"],
      ["-H", "Sec-Fetch-Site: cross-site"],
    ] {
      let forged = try curl(headers + ["-X", "POST", "-d", "x", "\(http)/api/sweeps/\(sweep)/cancel"])
      XCTAssertEqual(forged.status, 403, forged.body)
    }
    XCTAssertTrue(try curl(["\(http)/api/sweeps/\(sweep)"]).body.contains(#""state":"running""#))
    let origin = "http://" + http.dropFirst("http://".count).prefix { $0 != "/" }
    let same = try curl(["-H", "Origin: \(origin)", "-X", "POST", "\(http)/api/sweeps/\(sweep)/pause"])
    XCTAssertEqual(same.status, 200, same.body)
    XCTAssertEqual(try curl(["-X", "POST", "\(http)/api/sweeps/\(sweep)/resume"]).status, 200, "curl acts")
    XCTAssertEqual(try curl(["\(http)/api/sweeps"]).status, 200, "the coordinator still serves")
  }

  /// More idle connections than the process has descriptors (the defect: 1,100 silent
  /// connections under `ulimit -n 1024` ended the coordinator): past the cap new ones are
  /// closed at once, and the dashboard answers again as soon as they go.
  func testIdleConnectionsBeyondTheCapDoNotEndTheCoordinator() throws {
    let db = directory.appendingPathComponent("cap.db").path
    let (process, log) = try launch(
      [
        "-c",
        "ulimit -n 300 && exec \"$0\" coordinator --bind tcp://127.0.0.1:* --db \"$1\" --http 127.0.0.1:0 --http-max-connections 100",
        SweepdProcess.binary.path, db,
      ], name: "capped", executable: "/bin/sh")
    let line = try wait(for: "dashboard at http://", in: log, seconds: 30)
    let http = String(line.dropFirst("dashboard at ".count).prefix { !$0.isWhitespace }.dropLast())
    let port = UInt16(http.split(separator: ":").last ?? "") ?? 0
    var sockets: [Int32] = []
    defer { for fd in sockets { close(fd) } }
    for _ in 0..<400 {
      let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
      guard fd >= 0 else { break }
      var address = sockaddr_in()
      address.sin_family = sa_family_t(AF_INET)
      address.sin_port = port.bigEndian
      address.sin_addr.s_addr = inet_addr("127.0.0.1")
      _ = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
          connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
        }
      }
      sockets.append(fd)
    }
    XCTAssertEqual(sockets.count, 400)
    // Give the server time to accept (and refuse) them all, then check it is alive.
    let settle = Date().addingTimeInterval(3)
    while Date() < settle && process.isRunning { usleep(100_000) }
    XCTAssertTrue(process.isRunning, "the coordinator died: \((try? String(contentsOf: log, encoding: .utf8))?.suffix(800) ?? "")")
    for fd in sockets { close(fd) }
    sockets = []
    var answered = 0
    let deadline = Date().addingTimeInterval(15)
    while answered != 200 && Date() < deadline {
      answered = try curl(["-m", "2", "\(http)/api/sweeps"]).status
      if answered != 200 { usleep(200_000) }
    }
    XCTAssertEqual(answered, 200, "the dashboard did not answer again")
    XCTAssertTrue(process.isRunning)
  }
}
