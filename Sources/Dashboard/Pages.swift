import Coordinator
import Foundation
import Report
import Store
import Vocabulary
import Wire

/// The dashboard's pages: server-rendered HTML in the report's look (its stylesheet,
/// colours and marks), with a few lines of script that, on each server-sent `update`, fetch
/// the page's live part again and swap it in. Nothing is fetched from outside the
/// coordinator.
enum Pages {
  /// Curves drawn individually: every trial's for sweeps up to this size, else the top ones
  /// and the running ones (a 5,000-trial page reads the epochs it draws, not 200,000).
  static let allCurvesUpTo = 500
  static let topCurves = 10
  /// Leaderboard rows on a sweep's page (`/api/sweeps/ID/leaderboard` and `sweepd export`
  /// have them all).
  static let tableRows = 200

  static func escape(_ text: String) -> String {
    text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
      .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
  }

  /// A page: the report's stylesheet, a navigation bar, `body` inside `<main>` (the part
  /// `liveURL` returns again on each update), and the live-update script.
  /// `version`: the coordinator's view the page was drawn from; updates up to it are not
  /// fetched again.
  static func page(title: String, body: String, liveURL: String?, version: Int, extra: String = "") -> String
  {
    """
    <!DOCTYPE html>
    <html lang="en"><head><meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>\(escape(title))</title>
    <style>\(HTMLReport.css)\(css)</style></head>
    <body>
    <nav><a href="/">sweeps</a> · <a href="/workers">workers</a> <span id="liveness" class="note"></span></nav>
    \(extra)
    <main id="live" data-live="\(escape(liveURL ?? ""))" data-served="\(version)">\(body)</main>
    <script>\(script)</script>
    </body></html>

    """
  }

  static let css = """
    nav{max-width:1180px;margin:0 auto;padding:10px 24px 0;font-size:14px}
    nav a,main a{color:#0b5394}
    .actions{max-width:1180px;margin:0 auto;padding:0 24px}
    .actions button{margin-right:8px;font-size:13px}
    .bar{height:10px;background:#e6e6e6;border-radius:3px;overflow:hidden;max-width:520px}
    .bar span{display:block;height:100%;background:#0072b2}
    pre.logs{max-height:480px}
    """

  /// Binds the report's sortable tables, then follows the server's `update` events: at most
  /// once a second it fetches the live part and swaps it in.
  static let script = """
    (function () {
      function bindSort() {
        \(HTMLReport.script)
      }
      bindSort();
      var main = document.getElementById("live");
      var url = main.dataset.live;
      var liveness = document.getElementById("liveness");
      if (!url || !window.EventSource) { return; }
      // Fetches at most once a second, and at most one eighth of the time: a page whose live
      // part takes the server 350 ms to draw (20,000 trials) refreshes every 2.8 s, so an
      // open page costs the coordinator's machine little CPU.
      var busy = false, again = false, last = 0, cost = 0;
      function refresh() {
        if (busy) { again = true; return; }
        var wait = Math.max(0, Math.max(1000, 8 * cost) - (Date.now() - last));
        busy = true;
        setTimeout(function () {
          var started = Date.now();
          fetch(url, {credentials: "same-origin", cache: "no-store"}).then(function (response) {
            if (!response.ok) { throw new Error(response.status); }
            return response.text();
          }).then(function (text) {
            var parsed = new DOMParser().parseFromString(text, "text/html");
            var fresh = parsed.getElementById("live");
            main.innerHTML = fresh ? fresh.innerHTML : parsed.body.innerHTML;
            main.dataset.version = String(Number(main.dataset.version || "0") + 1);
            bindSort();
            liveness.textContent = "live · updated " + new Date().toLocaleTimeString();
          }).catch(function (error) {
            liveness.textContent = "update failed (" + error.message + "); retrying";
          }).then(function () {
            busy = false; last = Date.now(); cost = last - started;
            if (again) { again = false; refresh(); }
          });
        }, wait);
      }
      var events = new EventSource("/api/events");
      var served = Number(main.dataset.served || "0");
      events.addEventListener("update", function (event) {
        var version = 0;
        try { version = JSON.parse(event.data).version; } catch (error) { version = served + 1; }
        if (version <= served) { return; }
        served = version;
        refresh();
      });
      events.onopen = function () { liveness.textContent = "live"; };
      events.onerror = function () { liveness.textContent = "reconnecting…"; };
    })();
    """

  // MARK: Sweeps

  static func sweeps(_ statuses: [SweepStatus], view: CoordinatorServer.LiveView) -> String {
    page(title: "sweepd: sweeps", body: sweepsBody(statuses, view: view), liveURL: "/", version: view.version)
  }

  /// Every sweep, newest first, as the STATUS request reports it (live ones from the
  /// coordinator's book, finished ones from the store).
  static func sweepsBody(_ statuses: [SweepStatus], view: CoordinatorServer.LiveView) -> String {
    var rows = ""
    for status in statuses.reversed() {
      rows += """
        <tr><td><a href="/sweeps/\(escape(status.sweep))">\(escape(status.sweep))</a></td>\
        <td>\(escape(status.name ?? ""))</td><td class="status-\(status.state)">\(escape(status.state))</td>\
        <td class="num">\(status.done)/\(status.total.map(String.init) ?? "?")</td>\
        <td class="num">\(status.running)</td>\
        <td>\(escape(status.metric.name.rawValue)) (\(status.metric.goal.rawValue))</td>\
        <td class="num">\(status.best.map { String(format: "%.4g", $0) } ?? "–")</td></tr>
        """
    }
    let table =
      statuses.isEmpty
      ? "<p class=\"empty\">No sweeps yet: <code>sweepd submit sweep.yaml</code>.</p>"
      : """
      <div class="scroll"><table class="sortable"><thead><tr><th>sweep</th><th>name</th><th>state</th>\
      <th>done</th><th>running</th><th>metric</th><th>best</th></tr></thead>
      <tbody>\(rows)</tbody></table></div>
      """
    return
      "<h1>Sweeps</h1>\(table)<p class=\"note\">\(view.workers.count) worker\(view.workers.count == 1 ? "" : "s") connected.</p>"
  }

  // MARK: One sweep

  static func sweep(
    _ id: String, reads: LiveReads, view: CoordinatorServer.LiveView, role: DashboardAccess.Role
  )
    -> String?
  {
    guard let body = sweepBody(id, reads: reads, view: view) else { return nil }
    let state = view.book.sweeps[id]?.record.state
    let actions =
      role == .operator && state != nil
      ? """
      <div class="actions" data-sweep="\(escape(id))">\
      \(state == .paused ? "<button data-act=\"resume\">Resume</button>" : "<button data-act=\"pause\">Pause</button>")\
      <button data-act="cancel">Cancel</button> <span id="acted" class="note"></span></div>
      <script>
      document.querySelectorAll(".actions button").forEach(function (button) {
        button.addEventListener("click", function () {
          var act = button.dataset.act;
          var sweep = button.parentElement.dataset.sweep;
          if (act === "cancel" && !window.confirm("Cancel sweep " + sweep + "?")) { return; }
          fetch("/api/sweeps/" + encodeURIComponent(sweep) + "/" + act, {method: "POST", credentials: "same-origin"})
            .then(function (r) { return r.json(); })
            .then(function (reply) {
              document.getElementById("acted").textContent = reply.error || (reply.detail || act + "ed");
            });
        });
      });
      </script>
      """
      : ""
    return page(
      title: "sweepd: \(id)", body: body, liveURL: "/sweeps/\(id)/body", version: view.version, extra: actions
    )
  }

  /// The live part of a sweep's page: progress, latest stops, the running trials' curves,
  /// then the report's sections (leaderboard, curves, parallel coordinates, sensitivity…).
  static func sweepBody(_ id: String, reads: LiveReads, view: CoordinatorServer.LiveView) -> String? {
    let running = view.book.trials.filter {
      if $0.value.sweep == id, case .running = $0.value.phase { return true }
      return false
    }.keys.sorted()
    guard
      let history = reads.history(
        sweep: id, view: view,
        curvesOf: { board in
          if board.ranked.count <= allCurvesUpTo { return board.ranked.map(\.trial) }
          return Array(Set(board.ranked.prefix(topCurves).map(\.trial) + running)).sorted()
        })
    else { return nil }
    guard case .ok(let json) = reads.answer(.status(sweep: id), view: view),
      let status = try? DocumentJSON.decode(SweepStatus.List.self, from: json).sweeps.first
    else { return nil }
    var report = HTMLReport(history: history, top: topCurves)
    report.tableRows = tableRows
    let fraction = status.total.map { $0 > 0 ? Double(status.done) / Double($0) : 0 } ?? 0
    var header = """
      <h1>\(escape(status.name ?? id)) <span class="note">\(escape(id))</span></h1>
      <section class="summary"><dl>\
      <dt>state</dt><dd class="status-\(status.state)">\(escape(status.state))</dd>\
      <dt>progress</dt><dd>\(escape(status.summary.split(separator: "\n").first.map(String.init) ?? ""))\
      <div class="bar"><span style="width:\(Int(fraction * 100))%"></span></div></dd>\
      <dt>workers</dt><dd>\(view.workers.count) connected</dd></dl></section>
      """
    if let stops = status.stops, !stops.isEmpty {
      header += "<section id=\"stops\"><h2>Latest stop decisions</h2><ul>"
      for stop in stops.reversed() {
        header += "<li><a href=\"/trials/\(stop.trial)\">trial \(stop.trial)</a>: \(escape(stop.reason))</li>"
      }
      header += "</ul></section>"
    }
    if let target = status.target { header += "<p class=\"note\">\(escape(target))</p>" }
    if let finalRun = status.finalRun { header += "<p class=\"note\">\(escape(finalRun))</p>" }
    if let waiting = status.waiting { header += "<p class=\"note\">\(escape(waiting))</p>" }
    if history.leaderboard.ranked.count > allCurvesUpTo {
      header +=
        "<p class=\"note\">\(history.leaderboard.ranked.count) trials: curves are drawn for the best \(topCurves) and the running ones (<code>sweepd report</code> draws every one).</p>"
    }
    let sections = [report.runningSection(running)].compactMap { $0 } + report.sections().dropFirst()
    return header + sections.joined(separator: "\n") + links(history.leaderboard)
  }

  /// Links to each trial's page (the leaderboard's trial numbers).
  static func links(_ board: Leaderboard) -> String {
    let shown = board.ranked.prefix(50)
    guard !shown.isEmpty else { return "" }
    let items = shown.map { "<a href=\"/trials/\($0.trial)\">\($0.trial)</a>" }.joined(separator: " ")
    return "<section><h2>Trial pages</h2><p class=\"note\">Best first: \(items)</p></section>"
  }

  // MARK: Workers

  /// The login form (`POST /login` with `token`); `failed`: the last token was not valid.
  static func login(failed: Bool) -> String {
    let body = """
      <h1>Log in</h1>\
      \(failed ? "<p class=\"empty\">That token is not one this dashboard accepts.</p>" : "")\
      <form method="post" action="/login"><label>Token <input type="password" name="token" \
      autocomplete="current-password" size="40" autofocus></label> <button type="submit">Log in</button></form>\
      <p class="note">A token from the coordinator's --http-token-file; the session lasts 12 hours.</p>
      """
    return page(title: "sweepd: log in", body: body, liveURL: nil, version: 0)
  }

  static func workers(_ view: CoordinatorServer.LiveView) -> String {
    let age = Date().timeIntervalSince(view.publishedAt)
    var rows = ""
    for worker in view.workers {
      let host = worker.host.isEmpty ? "–" : worker.host
      let state = worker.draining ? " <span class=\"note\">(draining)</span>" : ""
      let running = worker.running.map { "<a href=\"/trials/\($0)\">\($0)</a>" }.joined(separator: " ")
      rows += """
        <tr><td>\(escape(worker.name))\(state)</td><td>\(escape(host))</td><td class="num">\(worker.slots)</td>\
        <td>\(worker.programs ? "yes" : "no")</td><td class="num">\(worker.gpus)</td><td>\(running)</td>\
        <td>\(escape(worker.version))</td><td class="num">\(String(format: "%.1f s ago", worker.heardSecondsAgo + age))</td></tr>
        """
    }
    let body =
      view.workers.isEmpty
      ? "<h1>Workers</h1><p class=\"empty\">No worker is connected.</p>"
      : """
      <h1>Workers</h1><div class="scroll"><table class="sortable"><thead><tr><th>name</th><th>host</th>\
      <th>slots</th><th>programs</th><th>GPUs</th><th>running trials</th><th>version</th><th>last heard</th></tr></thead>
      <tbody>\(rows)</tbody></table></div>
      """
    return page(title: "sweepd: workers", body: body, liveURL: "/workers", version: view.version)
  }

  // MARK: One trial

  static func trial(_ id: Int64, reads: LiveReads, view: CoordinatorServer.LiveView) -> String? {
    guard let sweep = reads.sweep(ofTrial: id),
      let history = reads.history(sweep: sweep, view: view, curvesOf: { _ in [id] }),
      let trial = history.leaderboard.ranked.first(where: { $0.trial == id })
    else { return nil }
    let report = HTMLReport(history: history)
    var body = """
      <h1>Trial \(id) <span class="note">of <a href="/sweeps/\(escape(sweep))">\(escape(sweep))</a></span></h1>
      <section class="summary"><dl>\
      <dt>status</dt><dd class="status-\(trial.status.rawValue)">\(trial.status.rawValue)</dd>\
      <dt>best</dt><dd>\(trial.best.map { String(format: "%.6g", $0) } ?? "–")\(trial.bestEpoch.map { " at epoch \($0)" } ?? "")</dd>\
      <dt>epochs</dt><dd>\(trial.epochs)</dd><dt>attempt</dt><dd>\(trial.attempt.map(String.init) ?? "–")</dd>\
      \(trial.message.map { "<dt>message</dt><dd>\(escape($0))</dd>" } ?? "")</dl></section>
      <section><h2>Parameters</h2><table><tbody>
      """
    for (name, value) in trial.params {
      body += "<tr><td>\(escape(name))</td><td>\(escape(history.leaderboard.cell(value)))</td></tr>"
    }
    body += "</tbody></table></section><section><h2>Metrics</h2>\(report.trialCharts(id))</section>"
    if case .ok(let json) = reads.answer(.logs(LogsRequest(trial: id)), view: view),
      let logs = try? DocumentJSON.decode(TrialLogs.self, from: json), !logs.chunks.isEmpty
    {
      let text = logs.chunks.map(\.text).joined()
      body +=
        "<section><h2>Output (attempt \(logs.attempt))</h2><pre class=\"logs\">\(escape(text))</pre></section>"
    }
    return page(title: "sweepd: trial \(id)", body: body, liveURL: "/trials/\(id)", version: view.version)
  }
}
