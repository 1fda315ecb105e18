import Foundation
import XCTest

/// `sweepd report` against a real coordinator, and the page rendered by headless Chromium
/// and Firefox.
final class ReportRenderTests: DaemonTestCase {
  /// Debian's `chromium` and `firefox-esr`. Without them the render test is skipped, unless
  /// `SWEEPD_REQUIRE_BROWSERS=1` (set by scripts/test, which installs them) makes that a
  /// failure.
  var chromium: String? {
    ["/usr/bin/chromium", "/usr/bin/chromium-browser"].first {
      FileManager.default.isExecutableFile(atPath: $0)
    }
  }
  var firefox: String? {
    ["/usr/bin/firefox-esr", "/usr/bin/firefox"].first { FileManager.default.isExecutableFile(atPath: $0) }
  }
  var browsersRequired: Bool { ProcessInfo.processInfo.environment["SWEEPD_REQUIRE_BROWSERS"] == "1" }

  func runSweep() throws -> (coordinator: String, sweep: String) {
    let file = directory.appendingPathComponent("report.yaml")
    try """
    name: report-e2e
    method: grid
    seed: 5
    metric: {name: val_error, goal: minimize}
    data: {dataset: digits, validation: 0.2}
    model: {kind: mlp, hidden: [16]}
    training: {epochs: 4, batch_size: 64}
    early_terminate: {type: median, min_trials: 2, grace_epochs: 2}
    parameters:
      optimizer: {values: [sgd, sgd_hd, adam]}
      lr: {values: [0.0001, 0.01, 0.1]}
    """.write(to: file, atomically: true, encoding: .utf8)
    let (_, coordinator) = try startCoordinator(db: directory.appendingPathComponent("r.db").path)
    _ = try launch(["worker", "--connect", coordinator, "--slots", "2"], name: "worker")
    let submit = try SweepdProcess.run(["submit", file.path, "--coordinator", coordinator])
    guard submit.status == 0 else {
      struct SubmitFailed: Error { var message: String }
      throw SubmitFailed(message: submit.stderr)
    }
    let sweep = submit.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    try waitUntilComplete(coordinator, sweep, seconds: 240)
    return (coordinator, sweep)
  }

  /// PNG width and height from the IHDR chunk.
  func pngSize(_ data: Data) -> (Int, Int)? {
    let bytes = [UInt8](data)
    guard bytes.count > 24, bytes[0..<8] == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] else {
      return nil
    }
    func be(_ at: Int) -> Int { bytes[at..<at + 4].reduce(0) { $0 << 8 | Int($1) } }
    return (be(16), be(20))
  }

  func screenshot(_ page: URL, _ png: URL, browser: String) throws {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: browser)
    if browser.contains("firefox") {
      let profile = directory.appendingPathComponent("firefox-profile")
      try FileManager.default.createDirectory(at: profile, withIntermediateDirectories: true)
      process.arguments = [
        "--headless", "--no-remote", "--profile", profile.path, "--screenshot", png.path,
        "--window-size=1200,2400", page.absoluteString,
      ]
    } else {
      process.arguments = [
        "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
        "--user-data-dir=\(directory.appendingPathComponent("chromium-profile").path)",
        "--screenshot=\(png.path)", "--window-size=1200,2400", page.absoluteString,
      ]
    }
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    try process.run()
    let deadline = Date().addingTimeInterval(90)
    while process.isRunning && Date() < deadline { usleep(50_000) }
    if process.isRunning { process.terminate() }
    process.waitUntilExit()
  }

  func testReportFromTheCoordinatorRendersInChromiumAndFirefox() throws {
    let (coordinator, sweep) = try runSweep()
    let page = directory.appendingPathComponent("report.html")
    let output = try SweepdProcess.run(["report", sweep, "-o", page.path, "--coordinator", coordinator])
    XCTAssertEqual(output.status, 0, output.stderr)
    let html = try String(contentsOf: page, encoding: .utf8)
    // The learning curves hold the stored epochs: 9 trials, so 9 lines in the top-10 chart.
    let top = try XCTUnwrap(
      html.range(of: "best 9 trials</title>"), "the top-trials chart covers every trial")
    let chart = html[top.lowerBound...].prefix { $0 != "§" }.components(separatedBy: "</svg>")[0]
    XCTAssertEqual(chart.components(separatedBy: "<polyline").count - 1, 9)
    for section in [
      "By optimizer", "Learning-rate traces", "Parallel coordinates", "Learning-rate sensitivity",
    ] {
      XCTAssertTrue(html.contains(section), section)
    }
    // The median rule stopped trials at lr = 1e-4; they are marked.
    let leaderboard = try leaderboard(coordinator, sweep)
    let stopped = leaderboard.filter { $0["status"] as? String == "early_stopped" }.count
    XCTAssertGreaterThan(stopped, 0, "the median rule stops the trials at lr = 1e-4")
    XCTAssertEqual(html.components(separatedBy: "class=\"status-early_stopped\"").count - 1, stopped)

    let blankPage = directory.appendingPathComponent("blank.html")
    try "<!DOCTYPE html><html><body></body></html>".write(to: blankPage, atomically: true, encoding: .utf8)
    var rendered = 0
    for (name, browser) in [("chromium", chromium), ("firefox", firefox)] {
      guard let browser else {
        if browsersRequired { XCTFail("\(name) is not installed (scripts/setup --test installs it)") }
        continue
      }
      let png = directory.appendingPathComponent("report-\(name).png")
      try screenshot(page, png, browser: browser)
      let blankPNG = directory.appendingPathComponent("blank-\(name).png")
      try screenshot(blankPage, blankPNG, browser: browser)
      let image = try Data(contentsOf: png), blank = try Data(contentsOf: blankPNG)
      XCTAssertEqual(pngSize(image)?.0, 1200, name)
      XCTAssertEqual(pngSize(image)?.1, 2400, name)
      // A rendered page of tables and charts compresses far worse than an empty one (6× in
      // Firefox, whose PNGs are less compressed, 30× in Chromium).
      XCTAssertGreaterThan(
        image.count, 4 * blank.count, "\(name): report \(image.count) bytes, blank \(blank.count)")
      rendered += 1
    }
    if rendered == 0 { throw XCTSkip("neither chromium nor firefox is installed") }
  }

  func testReportOfAnUnknownSweepIsAClearError() throws {
    let (_, coordinator) = try startCoordinator(db: directory.appendingPathComponent("u.db").path)
    let page = directory.appendingPathComponent("none.html")
    let output = try SweepdProcess.run(["report", "nope", "-o", page.path, "--coordinator", coordinator])
    XCTAssertNotEqual(output.status, 0)
    XCTAssertTrue(output.stderr.contains("unknown sweep 'nope'"), output.stderr)
    XCTAssertFalse(FileManager.default.fileExists(atPath: page.path))
  }
}
