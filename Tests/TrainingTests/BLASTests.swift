import XCTest

@testable import Training

final class BLASTests: XCTestCase {
  func testSgemmMatchesANaiveProduct() {
    BLAS.useSingleThread()
    let outcomes = GemmCheck.run(seed: 7)
    XCTAssertEqual(outcomes.count, 21)
    for outcome in outcomes {
      XCTAssertLessThanOrEqual(
        outcome.maxRelativeError, GemmCheck.tolerance,
        "\(outcome.m)×\(outcome.n)×\(outcome.k) transA \(outcome.transA) transB \(outcome.transB)")
    }
    XCTAssertEqual(BLAS.threadCount, 1)
  }

  func testKernelSelection() {
    let avx512 = BLASKernelSelection.CPUFeatures(
      cpuinfo:
        "processor\t: 0\nflags\t\t: fpu sse2 avx avx2 fma avx512f avx512dq avx512cd avx512bw avx512vl\n")
    XCTAssertEqual(avx512.bestCoreType, "SKYLAKEX")
    let avx2 = BLASKernelSelection.CPUFeatures(cpuinfo: "flags : sse2 avx avx2 fma\n")
    XCTAssertEqual(avx2.bestCoreType, "HASWELL")
    XCTAssertNil(BLASKernelSelection.CPUFeatures(cpuinfo: "flags : sse2 sse3\n").bestCoreType)

    // The Debian 12 misdetection: Prescott on an AVX-512 CPU.
    XCTAssertEqual(
      BLASKernelSelection.decide(loadedCoreName: "Prescott", features: avx512, environment: [:]),
      .override(coreType: "SKYLAKEX", reason: "OpenBLAS detected Prescott on a CPU that supports SKYLAKEX"))
    XCTAssertEqual(
      BLASKernelSelection.decide(loadedCoreName: "Sandybridge", features: avx2, environment: [:]),
      .override(coreType: "HASWELL", reason: "OpenBLAS detected Sandybridge on a CPU that supports HASWELL"))
    // A right or better kernel is kept, so is the user's explicit choice, and a restarted
    // process never restarts again.
    XCTAssertEqual(
      BLASKernelSelection.decide(loadedCoreName: "Cooperlake", features: avx512, environment: [:]),
      .keep(reason: "kernel Cooperlake matches the CPU"))
    XCTAssertEqual(
      BLASKernelSelection.decide(loadedCoreName: "Zen", features: avx2, environment: [:]),
      .keep(reason: "kernel Zen matches the CPU"))
    XCTAssertEqual(
      BLASKernelSelection.decide(
        loadedCoreName: "Prescott", features: avx512, environment: ["OPENBLAS_CORETYPE": "HASWELL"]),
      .keep(reason: "OPENBLAS_CORETYPE=HASWELL set in the environment"))
    XCTAssertEqual(
      BLASKernelSelection.decide(
        loadedCoreName: "Prescott", features: avx512, environment: [BLASKernelSelection.restartMarker: "1"]),
      .keep(reason: "already restarted once"))
    XCTAssertEqual(
      BLASKernelSelection.decide(loadedCoreName: "ARMV8", features: avx512, environment: [:]),
      .keep(reason: "kernel ARMV8 is not one sweepd ranks"))
  }
}
