import ArgumentParser
import Foundation
import Logging
import Training
import ZMQ

/// `sweepd doctor`: what this machine runs, and whether the math is right.
struct Doctor: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Report the BLAS kernel, libzmq and CPU, and check sgemm against a float64 product.")

  func run() throws {
    Sweepd.bootstrapLogging()
    BLASLauncher.prepare(logger: Logger(label: "sweepd.doctor"), announce: true)
    let cpuinfo = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
    let features = BLASKernelSelection.CPUFeatures(cpuinfo: cpuinfo)
    print("sweepd \(SweepdVersion.string)")
    print("cores: \(ProcessInfo.processInfo.activeProcessorCount)")
    print("cpu best kernel: \(features.bestCoreType ?? "generic")")
    print("vector code: \(BuildInfo.vectorInstructions)")
    print("openblas core: \(BLAS.coreName)")
    print("openblas threads per call: \(BLAS.threadCount)")
    print("openblas config: \(BLAS.configuration)")
    print("libzmq: \(ZMQContext.version), curve: \(ZMQContext.has("curve") ? "yes" : "no")")
    let outcomes = GemmCheck.run()
    let worst = outcomes.map(\.maxRelativeError).max() ?? 0
    let ok = worst <= GemmCheck.tolerance
    print(
      "sgemm check: \(outcomes.count) products, max relative error \(String(format: "%.2e", worst)) — \(ok ? "ok" : "WRONG")"
    )
    if !ok { throw ExitCode(1) }
  }
}
