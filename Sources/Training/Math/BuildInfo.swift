import CVectorMath

/// How this binary's own vector code was compiled (see Package.swift).
public enum BuildInfo {
  /// "AVX2+FMA" for a native build on an AVX2 machine, else "x86-64 baseline (SSE2)" or the
  /// architecture's default.
  public static var vectorInstructions: String {
    if sweepd_built_for_avx2() != 0 { return "AVX2+FMA (native build)" }
    #if arch(x86_64)
      return "x86-64 baseline (SSE2; portable build)"
    #else
      return "architecture default"
    #endif
  }
}
