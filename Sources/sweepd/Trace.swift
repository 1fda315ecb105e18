import ArgumentParser
import Foundation
import Training

/// `sweepd trace`: an optimizer's path on Beale or Rosenbrock.
struct Trace: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Print an optimizer's path on a 2-D test function (float64).",
    discussion: """
      Row 0 is the start; row k is the point after k steps and the learning rate used in \
      step k. CSV columns: step,x,y,loss,lr.

      Examples:
        sweepd trace --function rosenbrock --optimizer adam --set lr=0.01 > path.csv
        sweepd trace --function beale --optimizer sgd_hd --start 1,1.5 --format json
      """)

  @Option(help: "beale or rosenbrock.") var function: String
  @Option(help: "Optimizer name.") var optimizer: String
  @Option(name: .customLong("set"), help: "A hyperparameter, KEY=VALUE (repeatable).") var settings:
    [String] = []
  @Option(help: "Start point X,Y (default: Beale 1,1.5; Rosenbrock -1.5,2).") var start: String?
  @Option(help: "Number of steps.") var steps: Int = 200
  @Option(help: "csv or json.") var format: Format = .csv

  enum Format: String, ExpressibleByArgument { case csv, json }

  func validate() throws {
    if steps < 0 { throw ValidationError("--steps must be ≥ 0") }
  }

  func run() throws {
    let (surface, point) = try testSurface(function, start: start)
    let spec = OptimizerSpec(name: optimizer, hyperparameters: try parseSettings(settings))
    let path: [TracePoint]
    do {
      path = try traceOptimizer(function: surface, optimizer: spec, start: point, steps: steps)
    } catch {
      throw CommandFailure("\(error)")
    }
    switch format {
    case .csv:
      var out = "step,x,y,loss,lr\n"
      for row in path { out += "\(row.step),\(row.x),\(row.y),\(row.loss),\(row.lr)\n" }
      FileHandle.standardOutput.write(Data(out.utf8))
    case .json:
      let encoder = JSONEncoder()
      encoder.outputFormatting = [.sortedKeys]
      for row in path { print(String(decoding: try encoder.encode(row), as: UTF8.self)) }
    }
  }
}

/// The test function named `function` and the start point: `start` ("X,Y") or the
/// function's default. Errors name the option and the accepted values.
func testSurface(_ function: String, start: String?) throws -> (TestFunction, (Double, Double)) {
  guard let surface = TestFunction(rawValue: function) else {
    throw ValidationError("unknown function '\(function)'; known: beale, rosenbrock")
  }
  guard let start else { return (surface, surface.defaultStart) }
  let parts = start.split(separator: ",").map { Double($0.trimmingCharacters(in: .whitespaces)) }
  guard parts.count == 2, let x = parts[0], let y = parts[1], x.isFinite, y.isFinite else {
    throw ValidationError("--start takes X,Y such as -1.5,2; got '\(start)'")
  }
  return (surface, (x, y))
}
