/// Checks the loaded OpenBLAS kernel against a naive float64 product, so a kernel override
/// (see `BLASKernelSelection`) can be verified to give correct results on this machine.
public enum GemmCheck {
  public struct Outcome: Sendable {
    public var m: Int, n: Int, k: Int
    public var transA: Bool, transB: Bool
    /// max |C_blas − C_ref| / max(1, |C_ref|) over every element.
    public var maxRelativeError: Double
  }

  /// Tolerance for a float32 product against float64 (k up to ~1000).
  public static let tolerance = 1e-4

  /// Runs C = op(A)·op(B) on random matrices of several shapes, including the edge sizes
  /// that exercise OpenBLAS's remainder kernels.
  public static func run(seed: UInt64 = 1) -> [Outcome] {
    let shapes: [(Int, Int, Int)] = [
      (1, 1, 1), (3, 5, 7), (17, 33, 65), (32, 128, 64), (128, 256, 784), (31, 10, 128), (256, 512, 784),
    ]
    var random = RandomSource(seed: seed)
    var outcomes: [Outcome] = []
    for (m, n, k) in shapes {
      for (transA, transB) in [(false, false), (true, false), (false, true)] {
        let a = (0..<(m * k)).map { _ in Float(random.uniform(-1, 1)) }
        let b = (0..<(k * n)).map { _ in Float(random.uniform(-1, 1)) }
        var c = [Float](repeating: 0, count: m * n)
        // Stored shapes: op(A) is m×k, so A is k×m when transposed.
        let lda = transA ? m : k, ldb = transB ? k : n
        a.withUnsafeBufferPointer { a in
          b.withUnsafeBufferPointer { b in
            c.withUnsafeMutableBufferPointer { c in
              BLAS.gemm(
                transA ? .transposed : .none, transB ? .transposed : .none, m: m, n: n, k: k,
                a: a.baseAddress!, lda: lda, b: b.baseAddress!, ldb: ldb, c: c.baseAddress!, ldc: n)
            }
          }
        }
        var worst = 0.0
        for i in 0..<m {
          for j in 0..<n {
            var sum = 0.0
            for p in 0..<k {
              let aip = transA ? a[p * m + i] : a[i * k + p]
              let bpj = transB ? b[j * k + p] : b[p * n + j]
              sum += Double(aip) * Double(bpj)
            }
            worst = Swift.max(worst, abs(Double(c[i * n + j]) - sum) / Swift.max(1, abs(sum)))
          }
        }
        outcomes.append(Outcome(m: m, n: n, k: k, transA: transA, transB: transB, maxRelativeError: worst))
      }
    }
    return outcomes
  }
}
