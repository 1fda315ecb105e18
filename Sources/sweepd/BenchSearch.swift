import ArgumentParser
import Foundation
import Search

/// `sweepd bench-search`: best value found by a sampler on a test function (used by
/// scripts/bench/search).
struct BenchSearch: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "bench-search",
    abstract: "Run a sampler against Branin or Hartmann-6 over many seeds; prints one JSON object.",
    shouldDisplay: false)

  @Option(help: "branin, hartmann6 or digits (the tabulated digits-MLP surface).") var function: String
  @Option(help: "The digits surface table.") var table: String = "scripts/bench/data/digits-mlp-surface.csv"
  @Option(help: "random, sobol or tpe.") var method: String
  @Option(help: "Trials per run.") var trials: Int = 100
  @Option(help: "Seeds (runs).") var seeds: Int = 20

  func run() throws {
    let objective: any SearchObjective
    if let standard = TestObjective(rawValue: function) {
      objective = standard
    } else if function == "digits" {
      objective = try TabulatedObjective(name: "digits", csv: String(contentsOfFile: table, encoding: .utf8))
    } else {
      throw ValidationError("unknown function '\(function)'; known: branin, hartmann6, digits")
    }
    guard let sampler = SweepSpec.Method(rawValue: method), sampler != .grid else {
      throw ValidationError("unknown method '\(method)'; known: random, sobol, tpe")
    }
    var curves: [[Double]] = []
    for seed in 0..<seeds {
      curves.append(objective.bestSoFar(method: sampler, trials: trials, seed: UInt64(seed)))
    }
    let minimum =
      (objective as? TestObjective)?.minimum ?? (objective as? TabulatedObjective)?.values.min() ?? .nan
    let object: [String: Any] = [
      "function": function, "method": method, "trials": trials, "minimum": minimum, "best_so_far": curves,
    ]
    print(
      String(
        decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self))
  }
}
