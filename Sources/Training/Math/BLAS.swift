import COpenBLAS

#if canImport(Glibc)
  import Glibc
#endif

/// Dense single-precision matrix products on OpenBLAS (`cblas_sgemm`), row-major.
public enum BLAS {
  /// Whether an operand is used as stored or transposed.
  public enum Transpose: Sendable {
    case none, transposed
    var cblas: CBLAS_TRANSPOSE { self == .none ? CblasNoTrans : CblasTrans }
  }

  /// C ← α·op(A)·op(B) + β·C, with op(A) m×k, op(B) k×n and C m×n, all row-major;
  /// `lda`, `ldb`, `ldc` are the row strides of the stored matrices.
  @inline(__always)
  public static func gemm(
    _ transA: Transpose, _ transB: Transpose, m: Int, n: Int, k: Int,
    alpha: Float = 1, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
    beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int
  ) {
    cblas_sgemm(
      CblasRowMajor, transA.cblas, transB.cblas, blasint(m), blasint(n), blasint(k), alpha, a,
      blasint(lda), b, blasint(ldb), beta, c, blasint(ldc))
  }

  /// The kernel family OpenBLAS chose at load time (`openblas_get_corename`, e.g. `SkylakeX`).
  public static var coreName: String {
    guard let name = openblas_get_corename() else { return "unknown" }
    return String(cString: name)
  }

  /// OpenBLAS's build description (`openblas_get_config`).
  public static var configuration: String {
    guard let text = openblas_get_config() else { return "unknown" }
    return String(cString: text)
  }

  /// Threads OpenBLAS itself may use per call.
  public static var threadCount: Int { Int(openblas_get_num_threads()) }

  /// Keeps OpenBLAS on the calling thread: sweepd parallelizes across slots and shards
  /// itself, and a BLAS thread pool inside each slot would oversubscribe the cores.
  public static func useSingleThread() {
    openblas_set_num_threads(1)
  }
}
