import ArgumentParser
import Foundation
import Report
import Training

/// `sweepd paths`: several optimizers' paths on Beale or Rosenbrock, drawn over the function
/// as one SVG.
struct Paths: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract:
      "Draw optimizers' paths on Beale or Rosenbrock as an SVG (contours, legend, start and minimum).",
    discussion: """
      Each --optimizer is NAME or NAME:LR (e.g. adam:0.05); every path starts at the same \
      point (default: Beale 1,1.5; Rosenbrock -1.5,2) and runs --steps steps in float64.

      Examples:
        sweepd paths --function beale --optimizer sgd:0.001 --optimizer adam:0.05
        sweepd paths --function rosenbrock --optimizer adam_hd --steps 1000 -o r.svg
      """)

  @Option(help: "beale or rosenbrock.") var function: String
  @Option(name: .customLong("optimizer"), help: "An optimizer, NAME or NAME:LR (repeatable).")
  var optimizers: [String]
  @Option(help: "Start point X,Y.") var start: String?
  @Option(help: "Steps per path.") var steps: Int = 300
  @Option(name: .shortAndLong, help: "The SVG file to write (default: standard output).") var output: String?

  func validate() throws {
    if optimizers.isEmpty { throw ValidationError("give at least one --optimizer") }
    if steps < 1 { throw ValidationError("--steps must be ≥ 1") }
  }

  func run() throws {
    let (surface, point) = try testSurface(function, start: start)
    var paths: [PathsPlot.Path] = []
    for entry in optimizers {
      let parts = entry.split(separator: ":", maxSplits: 1).map(String.init)
      var hyperparameters: [String: HyperparameterValue] = [:]
      if parts.count == 2 {
        guard let rate = Double(parts[1]), rate > 0 else {
          throw ValidationError("--optimizer \(entry): the learning rate after ':' must be a positive number")
        }
        hyperparameters["lr"] = .number(rate)
      }
      let spec = OptimizerSpec(name: parts[0], hyperparameters: hyperparameters)
      let trace: [TracePoint]
      do {
        trace = try traceOptimizer(function: surface, optimizer: spec, start: point, steps: steps)
      } catch {
        throw ValidationError("--optimizer \(entry): \(error)")
      }
      let final =
        trace.last.map { $0.loss.isFinite ? "f=" + String(format: "%.3g", $0.loss) : "diverged" } ?? ""
      paths.append(PathsPlot.Path(label: "\(entry)  \(final)", points: trace.map { (x: $0.x, y: $0.y) }))
    }
    let (xRange, yRange): (ClosedRange<Double>, ClosedRange<Double>) =
      surface == .beale ? (-4.5...4.5, -4.5...4.5) : (-2...2, -1...3)
    let plot = PathsPlot(
      title:
        "\(surface == .beale ? "Beale" : "Rosenbrock"): \(steps) steps from (\(Self.number(point.0)), \(Self.number(point.1)))",
      xRange: xRange, yRange: yRange, minimum: surface.minimum, paths: paths,
      function: { surface.value($0, $1) })
    let svg = plot.svg()
    if let output {
      try Data(svg.utf8).write(to: URL(fileURLWithPath: output))
    } else {
      FileHandle.standardOutput.write(Data(svg.utf8))
    }
  }

  static func number(_ value: Double) -> String { String(format: "%g", value) }
}
