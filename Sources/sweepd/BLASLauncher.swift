import Foundation
import Logging
import Training

/// Makes sure this process runs OpenBLAS's best kernel for the CPU, on the calling thread
/// only.
///
/// OpenBLAS picks its kernel and starts its thread pool when the library loads, from
/// `OPENBLAS_CORETYPE` and `OPENBLAS_NUM_THREADS`. If the loaded kernel is older than the CPU
/// supports (Debian's 0.3.21 reports `Prescott` on AVX-512 CPUs), or the thread count is not
/// pinned to 1, sweepd re-executes itself once (`/proc/self/exe`, same arguments) with
/// those variables set. The decision itself is `BLASKernelSelection`.
enum BLASLauncher {
  static let reasonVariable = "SWEEPD_BLAS_REASON"

  /// Call first thing in a command that trains. Returns only if no restart is needed (or a
  /// restart failed, which is logged).
  /// - Parameter announce: log the kernel in use at `info` (a daemon's start, `doctor`);
  ///   otherwise only when sweepd had to correct it, and at `debug` (a one-shot command's
  ///   output is its result, not this).
  static func prepare(logger: Logger, announce: Bool = false) {
    let environment = ProcessInfo.processInfo.environment
    let cpuinfo = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
    let features = BLASKernelSelection.CPUFeatures(cpuinfo: cpuinfo)
    let decision = BLASKernelSelection.decide(
      loadedCoreName: BLAS.coreName, features: features, environment: environment)
    let alreadyRestarted = environment[BLASKernelSelection.restartMarker] != nil
    var overrides: [String: String] = [:]
    var reason = ""
    if case .override(let coreType, let why) = decision {
      overrides["OPENBLAS_CORETYPE"] = coreType
      reason = why
    }
    if environment["OPENBLAS_NUM_THREADS"] != "1" {
      overrides["OPENBLAS_NUM_THREADS"] = "1"
    }
    if !overrides.isEmpty && !alreadyRestarted {
      overrides[BLASKernelSelection.restartMarker] = "1"
      overrides[reasonVariable] = reason
      for (key, value) in overrides { setenv(key, value, 1) }
      let arguments = CommandLine.unsafeArgv
      execv("/proc/self/exe", arguments)
      logger.warning("could not restart with a better OpenBLAS kernel: \(String(cString: strerror(errno)))")
    }
    BLAS.useSingleThread()
    var note = ""
    var corrected = false
    if let why = environment[reasonVariable], !why.isEmpty, let core = environment["OPENBLAS_CORETYPE"] {
      note = " (OPENBLAS_CORETYPE=\(core) set by sweepd: \(why))"
      corrected = true
    } else {
      // Why the loaded kernel is right, judged as on a first start.
      var firstStart = environment
      firstStart[BLASKernelSelection.restartMarker] = nil
      if case .keep(let why) = BLASKernelSelection.decide(
        loadedCoreName: BLAS.coreName, features: features, environment: firstStart)
      {
        note = " (\(why))"
      }
    }
    logger.log(
      level: announce || corrected ? .info : .debug,
      "OpenBLAS kernel \(BLAS.coreName), \(BLAS.threadCount) thread per call\(note)")
  }
}
