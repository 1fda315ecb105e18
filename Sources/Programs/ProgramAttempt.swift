import Foundation

/// Runs one started program to its end: reads its metrics channel and output as they come,
/// stops it on request (SIGTERM to its group, SIGKILL after `killGrace`) or at its time
/// limit, and says how it ended. The caller's thread blocks here for the program's life.
public struct ProgramAttempt {
  public struct Settings: Sendable {
    /// Seconds between SIGTERM and SIGKILL when a program is stopped (W&B's agent: 30).
    public var killGrace: Double = 30
    /// The attempt's wall-clock limit (seconds); nil: none.
    public var maxSeconds: Double?
    /// Bytes of standard error kept for the failure message (the last ones).
    public var stderrTailBytes = 64 << 10

    public init(killGrace: Double = 30, maxSeconds: Double? = nil) {
      self.killGrace = killGrace
      self.maxSeconds = maxSeconds
    }
  }

  /// Where output came from.
  public enum Stream: String, Sendable, Codable, Hashable {
    case stdout, stderr
  }

  public struct End: Sendable {
    public var exit: ProgramRun.Exit
    /// Stopped on request (a STOP) before it ended by itself.
    public var stopped: Bool
    /// The limit it was killed at, when it ran past `maxSeconds`.
    public var timedOut: Double?
    /// Every good report, in order.
    public var reports: [MetricsChannel.Report]
    /// Lines of the metrics channel that were not reports: (line number, why).
    public var badLines: [(line: Int, error: MetricsChannel.LineError)]
    /// The last bytes of standard error.
    public var stderrTail: String
    public var seconds: Double
  }

  public let process: ProgramProcess
  public let settings: Settings

  public init(process: ProgramProcess, settings: Settings) {
    self.process = process
    self.settings = settings
  }

  /// Supervises the program until it ends.
  /// - Parameters:
  ///   - shouldStop: polled about ten times a second; true once asks the program to stop.
  ///   - report: each good report with its position (1, 2, …): the step stopping rules
  ///     count. A line's own `step` stays in the report.
  ///   - output: each chunk of standard output and error as read.
  public func run(
    shouldStop: () -> Bool, report: (MetricsChannel.Report, Int) -> Void,
    output: (Stream, [UInt8]) -> Void = { _, _ in }, tick: () -> Void = {}
  ) -> End {
    let start = DispatchTime.now().uptimeNanoseconds
    func elapsed() -> Double { Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 }
    var open = [true, true, true]
    var splitter = MetricsChannel.LineSplitter()
    var lineNumber = 0
    var reports: [MetricsChannel.Report] = []
    var badLines: [(line: Int, error: MetricsChannel.LineError)] = []
    var stderrTail: [UInt8] = []
    var status: Int32?
    var stopped = false
    var timedOut: Double?
    var killAt: Double?
    var buffer = [UInt8](repeating: 0, count: 64 << 10)

    func handle(lines: [String]) {
      for line in lines {
        lineNumber += 1
        switch MetricsChannel.parse(line) {
        case nil: lineNumber -= 1
        case .success(let parsed)?:
          reports.append(parsed)
          report(parsed, reports.count)
        case .failure(let error)?: badLines.append((lineNumber, error))
        }
      }
    }

    /// Reads what is there on output `index`; false at end of stream.
    func drain(_ index: Int) {
      while open[index] {
        let count = read(process.outputs[index], &buffer, buffer.count)
        if count > 0 {
          let chunk = Array(buffer[0..<count])
          switch index {
          case 0: output(.stdout, chunk)
          case 1:
            output(.stderr, chunk)
            stderrTail += chunk
            if stderrTail.count > settings.stderrTailBytes * 2 {
              stderrTail.removeFirst(stderrTail.count - settings.stderrTailBytes)
            }
          default: handle(lines: splitter.feed(chunk))
          }
        } else if count == 0 {
          open[index] = false
        } else if errno == EINTR {
          continue
        } else {
          if errno != EAGAIN { open[index] = false }
          return
        }
      }
    }

    while status == nil {
      var fds = [pollfd(fd: process.reportFD, events: Int16(POLLIN), revents: 0)]
      for index in 0..<3 where open[index] {
        fds.append(pollfd(fd: process.outputs[index], events: Int16(POLLIN), revents: 0))
      }
      _ = poll(&fds, nfds_t(fds.count), 100)
      for index in 0..<3 { drain(index) }
      if fds[0].revents != 0 {
        var value: Int32 = 0
        let count = read(process.reportFD, &value, MemoryLayout<Int32>.size)
        // 4 bytes: the program's wait status. Anything else: the supervisor is gone.
        status = count == MemoryLayout<Int32>.size ? value : -1
        break
      }
      tick()
      let now = elapsed()
      if killAt == nil {
        if shouldStop() {
          stopped = true
          process.signal(SIGTERM)
          killAt = now + settings.killGrace
        } else if let limit = settings.maxSeconds, now >= limit {
          timedOut = limit
          process.signal(SIGTERM)
          killAt = now + settings.killGrace
        }
      } else if let deadline = killAt, now >= deadline {
        process.signal(SIGKILL)
        killAt = .infinity
      }
    }
    // Every process of the group is dead now: the pipes hold their last bytes, then EOF
    // (unless a process left the group with setsid and kept them: it gets two seconds).
    let drainUntil = elapsed() + 2
    while open.contains(true) && elapsed() < drainUntil {
      var fds: [pollfd] = (0..<3).filter { open[$0] }.map {
        pollfd(fd: process.outputs[$0], events: Int16(POLLIN), revents: 0)
      }
      _ = poll(&fds, nfds_t(fds.count), 100)
      for index in 0..<3 { drain(index) }
    }
    if let last = splitter.finish() { handle(lines: [last]) }
    process.finish()
    let raw = status ?? -1
    let exit: ProgramRun.Exit
    if raw == -1 {
      exit = .signal(SIGKILL)
    } else if raw & 0x7f == 0 {
      exit = .status((raw >> 8) & 0xff)
    } else {
      exit = .signal(raw & 0x7f)
    }
    let tail = String(decoding: stderrTail.suffix(settings.stderrTailBytes), as: UTF8.self)
    return End(
      exit: exit, stopped: stopped, timedOut: timedOut, reports: reports, badLines: badLines,
      stderrTail: tail, seconds: elapsed())
  }
}
