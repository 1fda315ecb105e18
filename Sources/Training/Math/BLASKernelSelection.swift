/// Chooses the OpenBLAS kernel family for this CPU.
///
/// OpenBLAS 0.3.21 (Debian 12) misdetects some AVX-512 CPUs as `Prescott` and then runs its
/// SSE3 kernels, about 4× slower. The kernel is chosen when the library loads, from
/// `OPENBLAS_CORETYPE` in the environment, so the fix has to happen before load: the
/// `sweepd` executable checks at start and, if the loaded kernel is older than the CPU
/// supports, re-executes itself with `OPENBLAS_CORETYPE` set (see `BLASLauncher` in the CLI).
/// This type is the pure decision, tested without touching the process.
public struct BLASKernelSelection: Equatable, Sendable {
  /// CPU instruction-set features that decide the kernel family.
  public struct CPUFeatures: Equatable, Sendable {
    public var avx = false
    public var avx2 = false
    public var fma = false
    public var avx512f = false
    public var avx512bw = false
    public var avx512dq = false
    public var avx512vl = false
    public var avx512cd = false

    public init() {}

    /// Reads the `flags` line of `/proc/cpuinfo` text.
    public init(cpuinfo: String) {
      guard let line = cpuinfo.split(separator: "\n").first(where: { $0.hasPrefix("flags") }),
        let colon = line.firstIndex(of: ":")
      else { return }
      let flags = Set(line[line.index(after: colon)...].split(separator: " ").map(String.init))
      avx = flags.contains("avx")
      avx2 = flags.contains("avx2")
      fma = flags.contains("fma")
      avx512f = flags.contains("avx512f")
      avx512bw = flags.contains("avx512bw")
      avx512dq = flags.contains("avx512dq")
      avx512vl = flags.contains("avx512vl")
      avx512cd = flags.contains("avx512cd")
    }

    /// The best OpenBLAS core type these features run: SKYLAKEX (AVX-512 F/BW/DQ/VL/CD),
    /// HASWELL (AVX2 + FMA), SANDYBRIDGE (AVX), or nil (leave OpenBLAS's choice alone).
    public var bestCoreType: String? {
      if avx512f && avx512bw && avx512dq && avx512vl && avx512cd { return "SKYLAKEX" }
      if avx2 && fma { return "HASWELL" }
      if avx { return "SANDYBRIDGE" }
      return nil
    }
  }

  public enum Decision: Equatable, Sendable {
    /// Keep the loaded kernel.
    case keep(reason: String)
    /// Restart with `OPENBLAS_CORETYPE` set to this value.
    case override(coreType: String, reason: String)
  }

  /// Vector-width rank of OpenBLAS core names (as `openblas_get_corename` spells them):
  /// 1 SSE, 2 AVX, 3 AVX2, 4 AVX-512. Names not listed are left alone.
  static let rankOfCoreName: [String: Int] = {
    var ranks: [String: Int] = [:]
    for name in [
      "katmai", "coppermine", "northwood", "prescott", "banias", "atom", "core2", "penryn",
      "dunnington", "nehalem", "opteron", "opteron_sse3", "barcelona", "bobcat", "nano",
    ] { ranks[name] = 1 }
    for name in ["sandybridge", "bulldozer", "piledriver", "steamroller", "excavator"] {
      ranks[name] = 2
    }
    for name in ["haswell", "zen"] { ranks[name] = 3 }
    for name in ["skylakex", "cooperlake", "sapphirerapids"] { ranks[name] = 4 }
    return ranks
  }()

  static let rankOfCoreType = ["SANDYBRIDGE": 2, "HASWELL": 3, "SKYLAKEX": 4]

  /// The environment variable that marks a process already restarted by sweepd.
  public static let restartMarker = "SWEEPD_BLAS_RESTARTED"

  /// Decides whether to restart with a better kernel.
  /// - Parameters:
  ///   - loadedCoreName: what `openblas_get_corename()` reports in this process.
  ///   - features: the CPU's features.
  ///   - environment: this process's environment.
  public static func decide(
    loadedCoreName: String, features: CPUFeatures, environment: [String: String]
  ) -> Decision {
    if let chosen = environment["OPENBLAS_CORETYPE"], !chosen.isEmpty {
      return .keep(reason: "OPENBLAS_CORETYPE=\(chosen) set in the environment")
    }
    if environment[restartMarker] != nil {
      return .keep(reason: "already restarted once")
    }
    guard let best = features.bestCoreType, let bestRank = rankOfCoreType[best] else {
      return .keep(reason: "no AVX on this CPU")
    }
    guard let loadedRank = rankOfCoreName[loadedCoreName.lowercased()] else {
      return .keep(reason: "kernel \(loadedCoreName) is not one sweepd ranks")
    }
    if loadedRank >= bestRank {
      return .keep(reason: "kernel \(loadedCoreName) matches the CPU")
    }
    return .override(
      coreType: best,
      reason: "OpenBLAS detected \(loadedCoreName) on a CPU that supports \(best)")
  }
}
