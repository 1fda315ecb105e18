import ArgumentParser
import Client
import Wire

/// Where a command that changes a sweep sends it: the coordinator (changes go through the
/// coordinator that owns the store, never to the file directly).
struct CoordinatorAddress: ParsableArguments {
  @Option(help: "The coordinator's address.") var coordinator: String = "tcp://127.0.0.1:5555"
  @OptionGroup var keys: ClientKeyOptions

  func client() throws -> CoordinatorClient { try CoordinatorClient(coordinator, curve: try keys.load()) }
}

struct Pause: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Pause a sweep: no trial starts until `sweepd resume`; running ones finish.",
    discussion: """
      With --stop-running, running trials are stopped now and start again (from the start, \
      the attempt not counted) on resume. A pause is written to the store first, so it \
      survives a coordinator restart.
      """)
  @Argument(help: "The sweep id.") var sweep: String
  @Flag(help: "Stop the running trials now; they start again on resume.") var stopRunning = false
  @OptionGroup var address: CoordinatorAddress

  func run() throws {
    let reply = try address.client().manage(
      ManageRequest(sweep: sweep, action: .pause, stopRunning: stopRunning))
    print("\(reply.sweep) \(reply.state): \(reply.detail)")
  }
}

struct Resume: ParsableCommand {
  static let configuration = CommandConfiguration(abstract: "Resume a paused sweep.")
  @Argument(help: "The sweep id.") var sweep: String
  @OptionGroup var address: CoordinatorAddress

  func run() throws {
    let reply = try address.client().manage(ManageRequest(sweep: sweep, action: .resume))
    print("\(reply.sweep) \(reply.state): \(reply.detail)")
  }
}

struct Extend: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Give a sweep a larger run_cap; a completed one runs again from where it stopped.",
    discussion: """
      Random search continues with the next configurations of its seeded sequence, Sobol \
      with the next points, TPE with every earlier result as its history, so the extended \
      sweep is the one the larger run_cap would have run (for TPE: given the same results).

      Example:
        sweepd extend s1733-1 --run-cap 100
      """)
  @Argument(help: "The sweep id.") var sweep: String
  @Option(help: "The new run_cap: more than the trials the sweep has.") var runCap: Int
  @OptionGroup var address: CoordinatorAddress

  func validate() throws {
    if runCap < 1 { throw ValidationError("--run-cap must be ≥ 1, got \(runCap)") }
  }

  func run() throws {
    let reply = try address.client().manage(ManageRequest(sweep: sweep, action: .extend, runCap: runCap))
    print("\(reply.sweep) \(reply.state): \(reply.detail)")
  }
}

struct Enqueue: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Add a trial with values you choose to a sweep, started next (like Optuna's enqueue_trial).",
    discussion: """
      The parameters you give take those values; the others are sampled as usual (a bayes \
      sweep: TPE's suggestion from every result so far). The trial's run joins the sweep's \
      results, and a bayes sweep learns from it like any other. A sweep with a run_cap gets \
      one more; a completed one runs again for it. Each value must be one the parameter's \
      distribution can give (one of a categorical's values, within min…max).

      Example:
        sweepd enqueue s1733-1 --set optimizer=adam --set lr=0.003
      """)
  @Argument(help: "The sweep id.") var sweep: String
  @Option(
    name: .customLong("set"), help: "PARAMETER=VALUE (the value as YAML: 0.003, adam, [64, 64]); repeat it.")
  var values: [String] = []
  @OptionGroup var address: CoordinatorAddress

  func validate() throws {
    if values.isEmpty { throw ValidationError("give at least one --set PARAMETER=VALUE") }
    for value in values where !value.contains("=") || value.hasPrefix("=") {
      throw ValidationError("--set \(value): expected PARAMETER=VALUE")
    }
  }

  func run() throws {
    var given: [String: String] = [:]
    for value in values {
      let parts = value.split(separator: "=", maxSplits: 1)
      given[String(parts[0])] = parts.count > 1 ? String(parts[1]) : ""
    }
    let reply = try address.client().manage(ManageRequest(sweep: sweep, action: .enqueue, values: given))
    print("\(reply.sweep) \(reply.state): \(reply.detail)")
  }
}
