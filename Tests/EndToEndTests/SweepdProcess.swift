import Foundation
import XCTest

/// Runs the built `sweepd` executable as a separate process.
enum SweepdProcess {
  struct Output {
    var status: Int32
    var stdout: String
    var stderr: String
  }

  /// The `sweepd` binary next to the test bundle (or `$SWEEPD_BINARY`).
  static var binary: URL {
    if let path = ProcessInfo.processInfo.environment["SWEEPD_BINARY"] { return URL(fileURLWithPath: path) }
    var directory = Bundle.main.bundleURL
    if directory.pathExtension == "xctest" { directory.deleteLastPathComponent() }
    let candidate = directory.appendingPathComponent("sweepd")
    if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
    return URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent(
      "sweepd")
  }

  static func run(
    _ arguments: [String], environment: [String: String] = [:], unsetting: [String] = [],
    timeout: TimeInterval = 120, in directory: URL? = nil
  ) throws -> Output {
    let process = Process()
    process.executableURL = binary
    process.arguments = arguments
    if let directory { process.currentDirectoryURL = directory }
    var env = ProcessInfo.processInfo.environment
    for (key, value) in environment { env[key] = value }
    for key in unsetting { env[key] = nil }
    process.environment = env
    // Output goes to files, so a chatty process never blocks on a full pipe.
    let directory = FileManager.default.temporaryDirectory
    let stamp = UUID().uuidString
    let outURL = directory.appendingPathComponent("sweepd-\(stamp).out")
    let errURL = directory.appendingPathComponent("sweepd-\(stamp).err")
    FileManager.default.createFile(atPath: outURL.path, contents: nil)
    FileManager.default.createFile(atPath: errURL.path, contents: nil)
    defer {
      try? FileManager.default.removeItem(at: outURL)
      try? FileManager.default.removeItem(at: errURL)
    }
    process.standardOutput = try FileHandle(forWritingTo: outURL)
    process.standardError = try FileHandle(forWritingTo: errURL)
    try process.run()
    let deadline = Date().addingTimeInterval(timeout)
    while process.isRunning && Date() < deadline { usleep(10_000) }
    if process.isRunning {
      process.terminate()
      XCTFail("sweepd \(arguments.joined(separator: " ")) timed out")
    }
    process.waitUntilExit()
    let stdoutData = (try? Data(contentsOf: outURL)) ?? Data()
    let stderrData = (try? Data(contentsOf: errURL)) ?? Data()
    return Output(
      status: process.terminationStatus, stdout: String(decoding: stdoutData, as: UTF8.self),
      stderr: String(decoding: stderrData, as: UTF8.self))
  }
}
