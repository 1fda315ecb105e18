import ArgumentParser
import Foundation
import Logging
import Training

/// `sweepd bench-step`: times training steps on random data (used by scripts/bench/train).
struct BenchStep: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "bench-step",
    abstract: "Time MLP training steps on random data; prints one JSON object.", shouldDisplay: false)

  @Option(help: "Layer widths, input to output, e.g. 64,128,10.") var layers: String = "64,128,10"
  @Option(help: "Batch size.") var batchSize: Int = 32
  @Option(help: "Optimizer.") var optimizer: String = "adam"
  @Option(name: .customLong("set"), help: "A hyperparameter, KEY=VALUE (repeatable).") var settings:
    [String] = []
  @Option(help: "Steps per timed repeat.") var steps: Int = 500
  @Option(help: "Timed repeats (the median is reported).") var repeats: Int = 7
  @Option(help: "Threads for the gradient shards.") var cores: Int = 1
  @Flag(help: "Also measure OpenBLAS's large-sgemm GFLOP/s (1024³, one thread).") var peak = false

  func run() throws {
    Sweepd.bootstrapLogging()
    BLASLauncher.prepare(logger: Logger(label: "sweepd.bench"))
    let widths = layers.split(separator: ",").compactMap { Int($0) }
    guard widths.count >= 2, widths.allSatisfy({ $0 > 0 }) else {
      throw ValidationError("--layers takes at least two positive widths, e.g. 64,128,10")
    }
    let benchmark = StepBenchmark(
      inputs: widths[0], hidden: Array(widths.dropFirst().dropLast()), outputs: widths.last!,
      batchSize: batchSize,
      optimizer: OptimizerSpec(name: optimizer, hyperparameters: try parseSettings(settings)),
      cores: cores)
    let result = try benchmark.run(steps: steps, repeats: repeats)
    let object: [String: Any] = [
      "layers": widths, "batch_size": batchSize, "optimizer": optimizer, "cores": cores,
      "us_per_step": result.microsecondsPerStep, "samples_per_s": result.samplesPerSecond,
      "repeats_us": result.repeats, "gflops": result.flopsPerStep / result.microsecondsPerStep / 1e3,
      "blas_core": BLAS.coreName,
    ]
    var report = object
    if peak { report["sgemm_peak_gflops"] = StepBenchmark.sgemmPeak() }
    let data = try JSONSerialization.data(withJSONObject: report, options: [.sortedKeys])
    print(String(decoding: data, as: UTF8.self))
  }
}
