import CProcessGroup
import Foundation

/// A running program: its own process group under a supervisor that kills the whole group
/// when the program ends or the worker dies (see `Sources/CProcessGroup/spawn.c`), with
/// pipes for its standard output, standard error and metrics channel.
public final class ProgramProcess: @unchecked Sendable {
  /// The program's pid and process group id.
  public let group: pid_t
  let supervisor: pid_t
  let reportFD: Int32
  let lifelineFD: Int32
  /// Read ends (non-blocking): standard output, standard error, metrics.
  let outputs: [Int32]
  var closed = false

  public struct StartError: Error, CustomStringConvertible, Hashable {
    public var executable: String
    public var code: Int32
    public var description: String {
      let reason = String(cString: strerror(code))
      if code == ENOENT { return "cannot run \(executable): no such file (\(reason))" }
      if code == EACCES { return "cannot run \(executable): not executable (\(reason))" }
      return "cannot run \(executable): \(reason)"
    }
  }

  /// Starts `executable` (a path; see `resolve`) with `arguments` (without argv[0]).
  /// The metrics channel is open in the program as descriptor `metricsFD`.
  /// `user`: run as this user and group instead of the worker's (`--program-user`).
  public init(
    executable: String, arguments: [String], environment: [String: String], directory: String,
    metricsFD: Int32, user: (uid: UInt32, gid: UInt32)? = nil
  ) throws {
    var pipes: [[Int32]] = []
    defer { for pair in pipes { close(pair[1]) } }
    for _ in 0..<3 {
      var ends: [Int32] = [0, 0]
      let code = sweepd_pipe_cloexec(&ends)
      guard code == 0 else {
        for pair in pipes { close(pair[0]) }
        throw StartError(executable: executable, code: code)
      }
      pipes.append(ends)
    }
    let argv = [executable] + arguments
    let envp = environment.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
    var spawned = sweepd_program()
    let code = withCStrings(argv) { argvPointers in
      withCStrings(envp) { envPointers in
        sweepd_spawn_program(
          executable, argvPointers, envPointers, directory, pipes[0][1], pipes[1][1], pipes[2][1], metricsFD,
          user.map { Int($0.uid) } ?? -1, user.map { Int($0.gid) } ?? -1, &spawned)
      }
    }
    guard code == 0 else {
      for pair in pipes { close(pair[0]) }
      throw StartError(executable: executable, code: code)
    }
    for pair in pipes { _ = fcntl(pair[0], F_SETFL, fcntl(pair[0], F_GETFL) | O_NONBLOCK) }
    group = spawned.group
    supervisor = spawned.supervisor
    reportFD = spawned.report_fd
    lifelineFD = spawned.lifeline_fd
    outputs = pipes.map { $0[0] }
  }

  deinit { finish() }

  /// Sends `signal` to the program's whole process group.
  public func signal(_ signal: Int32) { _ = kill(-group, signal) }

  /// Closes everything and reaps the supervisor (after the program has ended, or to end it:
  /// closing the lifeline makes the supervisor kill the group).
  func finish() {
    guard !closed else { return }
    closed = true
    close(lifelineFD)
    for fd in outputs { close(fd) }
    var status: Int32 = 0
    while waitpid(supervisor, &status, 0) < 0 && errno == EINTR {}
    close(reportFD)
  }

  /// The path `name` runs as: itself when it contains a `/`, else the first executable file
  /// of that name in `PATH` (as `execvp` looks); nil when there is none.
  public static func resolve(_ name: String, path: String?) -> String? {
    if name.contains("/") { return name }
    for directory in (path ?? "/usr/local/bin:/usr/bin:/bin").split(separator: ":") {
      let candidate = "\(directory.isEmpty ? "." : String(directory))/\(name)"
      if access(candidate, X_OK) == 0 {
        var info = stat()
        if stat(candidate, &info) == 0 && (info.st_mode & S_IFMT) == S_IFREG { return candidate }
      }
    }
    return nil
  }
}

/// Calls `body` with a NULL-terminated C array of `strings`.
func withCStrings<R>(_ strings: [String], _ body: (UnsafePointer<UnsafeMutablePointer<CChar>?>) -> R) -> R {
  var pointers: [UnsafeMutablePointer<CChar>?] = strings.map { strdup($0) }
  pointers.append(nil)
  defer { for pointer in pointers { free(pointer) } }
  return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
}
