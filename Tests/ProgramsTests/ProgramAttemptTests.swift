import Foundation
import Synchronization
import XCTest

@testable import Programs

/// Real processes under the supervisor: metrics, output, exit statuses, stopping with a
/// grace period, time limits, and no process of a program's group outliving it.
final class ProgramAttemptTests: XCTestCase {
  var directory: String!

  override func setUpWithError() throws {
    directory = NSTemporaryDirectory() + "program-attempt-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
  }

  override func tearDownWithError() throws {
    try? FileManager.default.removeItem(atPath: directory)
  }

  func start(_ script: String, metricsFD: Int32 = 3, environment extra: [String: String] = [:]) throws
    -> ProgramProcess
  {
    var environment = ProcessInfo.processInfo.environment
    environment["SWEEPD_METRICS_FD"] = String(metricsFD)
    environment.merge(extra) { $1 }
    return try ProgramProcess(
      executable: "/bin/sh", arguments: ["-c", script], environment: environment, directory: directory,
      metricsFD: metricsFD)
  }

  func run(
    _ process: ProgramProcess, settings: ProgramAttempt.Settings = .init(), stopAfter: Double? = nil
  ) -> (ProgramAttempt.End, [Int], String) {
    let began = Date()
    var positions: [Int] = []
    var stdout: [UInt8] = []
    let end = ProgramAttempt(process: process, settings: settings).run(
      shouldStop: { stopAfter.map { Date().timeIntervalSince(began) >= $0 } ?? false },
      report: { positions.append($1) },
      output: { stream, bytes in if stream == .stdout { stdout += bytes } })
    return (end, positions, String(decoding: stdout, as: UTF8.self))
  }

  /// Whether a process with this pid is alive (not a zombie).
  func alive(_ pid: Int32) -> Bool {
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8) else { return false }
    let state = stat.split(separator: ")").last?.split(separator: " ").first
    return state != "Z" && state != "X"
  }

  func waitUntilGone(_ pid: Int32, within seconds: Double) -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
      if !alive(pid) { return true }
      usleep(20_000)
    }
    return !alive(pid)
  }

  func testMetricsOutputAndExitZero() throws {
    let process = try start(
      """
      echo hello; echo oops >&2
      echo '{"loss": 1.5, "acc": 0.25}' >&$SWEEPD_METRICS_FD
      echo 'not json' >&$SWEEPD_METRICS_FD
      echo '{"loss": NaN, "step": 7}' >&$SWEEPD_METRICS_FD
      pwd
      """)
    let (end, positions, stdout) = run(process)
    XCTAssertEqual(end.exit, .status(0))
    XCTAssertFalse(end.stopped)
    XCTAssertEqual(positions, [1, 2])
    XCTAssertEqual(end.reports.count, 2)
    XCTAssertEqual(end.reports[0].values, ["loss": 1.5, "acc": 0.25])
    XCTAssertTrue(end.reports[1].values["loss"]!.isNaN)
    XCTAssertEqual(end.reports[1].step, 7)
    XCTAssertEqual(end.badLines.map(\.line), [2])
    XCTAssertEqual(end.stderrTail, "oops\n")
    let realDirectory = URL(fileURLWithPath: directory).resolvingSymlinksInPath().path
    XCTAssertTrue(stdout.hasPrefix("hello\n"), stdout)
    XCTAssertTrue(stdout.contains(realDirectory) || stdout.contains(directory), stdout)
  }

  func testExitStatusAndSignal() throws {
    XCTAssertEqual(run(try start("exit 3")).0.exit, .status(3))
    XCTAssertEqual(run(try start("kill -9 $$")).0.exit, .signal(9))
  }

  func testOnlyTheMetricsDescriptorIsInherited() throws {
    // Descriptors 0, 1, 2 and the metrics one; nothing of the worker's. The shell execs `ls`
    // (a pipeline would give the shell pipe descriptors of its own while `ls` looks), which
    // lists its own descriptors: what it inherited, plus the one it reads the directory with.
    let (_, _, stdout) = run(try start("exec ls -1 /proc/self/fd", metricsFD: 9))
    let fds = Set(stdout.split(whereSeparator: \.isWhitespace).compactMap { Int($0) })
    XCTAssertTrue(Set([0, 1, 2, 9]).isSubset(of: fds), stdout)
    XCTAssertEqual(
      fds.subtracting([0, 1, 2, 9]).count, 1, "only ls's own directory descriptor besides: \(stdout)")
  }

  func testStopSendsSIGTERMToTheGroupAndTheChildDiesToo() throws {
    let pidFile = directory + "/child.pid"
    let process = try start(
      """
      sleep 300 &
      echo $! > \(pidFile)
      trap 'echo got TERM; exit 0' TERM
      while true; do sleep 0.05; done
      """)
    let (end, _, stdout) = run(process, stopAfter: 0.5)
    XCTAssertTrue(end.stopped)
    XCTAssertEqual(end.exit, .status(0), "the trap ran: SIGTERM reached the shell")
    XCTAssertTrue(stdout.contains("got TERM"))
    let child = Int32(
      try String(contentsOfFile: pidFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines))!
    XCTAssertTrue(waitUntilGone(child, within: 5), "the background child of the program survived")
  }

  func testAProgramIgnoringSIGTERMIsKilledAfterTheGrace() throws {
    let process = try start("trap '' TERM; while true; do sleep 0.05; done")
    let (end, _, _) = run(process, settings: .init(killGrace: 0.5), stopAfter: 0.2)
    XCTAssertTrue(end.stopped)
    XCTAssertEqual(end.exit, .signal(SIGKILL))
    XCTAssertLessThan(end.seconds, 10)
  }

  func testTimeLimit() throws {
    let (end, _, _) = run(try start("sleep 30"), settings: .init(killGrace: 1, maxSeconds: 0.3))
    XCTAssertEqual(end.timedOut, 0.3)
    XCTAssertLessThan(end.seconds, 10)
    XCTAssertEqual(
      ProgramRun.outcome(
        exit: end.exit, metric: "x", reports: [], stderrTail: "", stopped: false, timedOut: end.timedOut
      ).0, .failed)
  }

  func testAChildLeftRunningAfterTheProgramExitsIsKilled() throws {
    let pidFile = directory + "/child.pid"
    let (end, _, _) = run(try start("sleep 300 >/dev/null 2>&1 & echo $! > \(pidFile); exit 0"))
    XCTAssertEqual(end.exit, .status(0))
    let child = Int32(
      try String(contentsOfFile: pidFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines))!
    XCTAssertTrue(waitUntilGone(child, within: 5))
  }

  /// A program whose children leave its process group (`setsid`, twice, the parent gone)
  /// still loses them when it ends: the supervisor is their subreaper and kills them (the
  /// defect: two `sleep 120` escaped with PPID 1 and outlived the sweep).
  func testChildrenThatLeaveTheGroupWithSetsidAreKilledToo() throws {
    let pidFile = directory + "/escaped.pid"
    let script =
      "setsid sh -c 'sleep 120 >/dev/null 2>&1 & echo $! >> \(pidFile)' ; "
      + "setsid sleep 120 >/dev/null 2>&1 & echo $! >> \(pidFile); sleep 0.3; exit 0"
    let (end, _, _) = run(try start(script))
    XCTAssertEqual(end.exit, .status(0))
    let pids = try String(contentsOfFile: pidFile, encoding: .utf8).split(separator: "\n").compactMap {
      Int32($0.trimmingCharacters(in: .whitespaces))
    }
    XCTAssertEqual(pids.count, 2)
    for pid in pids { XCTAssertTrue(waitUntilGone(pid, within: 5), "process \(pid) escaped its trial") }
  }

  /// `--program-user`: the program runs as that user (here `nobody`), and cannot read a
  /// file only the worker's user may (as the worker's CURVE secret key is).
  func testAProgramRunsAsAnotherUserAndCannotReadTheWorkersSecrets() throws {
    guard geteuid() == 0 else { throw XCTSkip("switching users needs root (CI runs as root)") }
    guard let nobody = getpwnam("nobody") else { return XCTFail("no user nobody on this machine") }
    let secret = NSTemporaryDirectory() + "worker-\(UUID().uuidString).key"
    try Data("secret".utf8).write(to: URL(fileURLWithPath: secret))
    chmod(secret, 0o600)
    defer { try? FileManager.default.removeItem(atPath: secret) }
    chmod(directory, 0o777)
    let process = try ProgramProcess(
      executable: "/bin/sh",
      arguments: ["-c", "id -u; id -G; cat \(secret) >/dev/null 2>&1 && echo read || echo refused"],
      environment: ["PATH": "/usr/bin:/bin"], directory: directory, metricsFD: 3,
      user: (nobody.pointee.pw_uid, nobody.pointee.pw_gid))
    let (end, _, output) = run(process)
    XCTAssertEqual(end.exit, .status(0))
    let lines = output.split(separator: "\n").map(String.init)
    XCTAssertEqual(lines.first, String(nobody.pointee.pw_uid))
    XCTAssertEqual(lines.dropFirst().first, String(nobody.pointee.pw_gid), "no supplementary groups")
    XCTAssertEqual(lines.last, "refused")
  }

  func testAMissingExecutableIsAClearError() {
    XCTAssertThrowsError(
      try ProgramProcess(
        executable: directory + "/nope", arguments: [], environment: [:], directory: directory, metricsFD: 3)
    ) { error in
      XCTAssertTrue("\(error)".contains("no such file"), "\(error)")
    }
  }

  func testResolveSearchesPath() {
    XCTAssertEqual(ProgramProcess.resolve("sh", path: "/nonexistent:/bin"), "/bin/sh")
    XCTAssertNil(ProgramProcess.resolve("no-such-program-here", path: "/bin"))
    XCTAssertEqual(ProgramProcess.resolve("./x", path: "/bin"), "./x")
  }

  /// Programs started at the same moment from several threads: one supervisor must never
  /// hold another's pipes while it waits (that deadlocked both).
  func testConcurrentStartsFromManyThreadsAllFinish() throws {
    let finished = DispatchSemaphore(value: 0)
    let threads = 6
    let each = 40
    let errors = Mutex<[String]>([])
    let directory = self.directory!
    let shell = URL(fileURLWithPath: "/bin/sh").resolvingSymlinksInPath().path
    for thread in 0..<threads {
      Thread {
        for index in 0..<each {
          do {
            // Each program is a fresh copy, written just before it runs (as a worker copies
            // an attempt's code), while other threads fork: exec must not fail with ETXTBSY.
            let copy = "\(directory)/sh-\(thread)-\(index)"
            try FileManager.default.copyItem(atPath: shell, toPath: copy)
            let process = try ProgramProcess(
              executable: copy, arguments: ["-c", "echo '{\"v\": 1}' >&3"], environment: [:],
              directory: "/", metricsFD: 3)
            let end = ProgramAttempt(process: process, settings: .init()).run(
              shouldStop: { false }, report: { _, _ in })
            if end.exit != .status(0) || end.reports.count != 1 {
              errors.withLock { $0.append("\(end.exit), \(end.reports.count) reports") }
            }
          } catch {
            errors.withLock { $0.append("\(error)") }
          }
        }
        finished.signal()
      }.start()
    }
    let deadline = DispatchTime.now() + 60
    for _ in 0..<threads {
      XCTAssertEqual(finished.wait(timeout: deadline), .success, "a start hung")
    }
    let seen = errors.withLock { $0 }
    XCTAssertEqual(seen.count, 0, "\(seen.count) failed, e.g. \(seen.prefix(3))")
  }
}
