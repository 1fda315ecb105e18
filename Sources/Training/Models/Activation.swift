#if canImport(Glibc)
  import Glibc
#else
  import Foundation
#endif

/// Hidden-layer nonlinearities. Each is applied element-wise to the pre-activation z.
public enum Activation: String, CaseIterable, Codable, Sendable {
  /// max(0, z); derivative 1 for z > 0, else 0 (PyTorch's choice at 0).
  case relu
  /// tanh z; derivative 1 − tanh² z.
  case tanh
  /// σ(z) = 1/(1 + e^(−z)); derivative σ(1 − σ).
  case sigmoid
  /// z for z > 0, else 0.01·z (PyTorch's default slope).
  case leakyRelu = "leaky_relu"
  /// The exact GELU of Hendrycks & Gimpel (2016): z·Φ(z) with Φ the standard normal CDF,
  /// Φ(z) = ½(1 + erf(z/√2)); derivative Φ(z) + z·φ(z). PyTorch's default (`approximate='none'`).
  case gelu

  static let leakySlope: Float = 0.01

  /// a ← f(z) for `count` elements.
  func apply(_ z: UnsafePointer<Float>, _ a: UnsafeMutablePointer<Float>, count: Int) {
    switch self {
    case .relu, .leakyRelu:
      var kernel = RectifierKernel(z: z, a: a, slope: self == .relu ? 0 : Activation.leakySlope)
      runElementwise(&kernel, count: count)
    case .tanh:
      for i in 0..<count { a[i] = tanhf(z[i]) }
    case .sigmoid:
      for i in 0..<count { a[i] = 1 / (1 + expf(-z[i])) }
    case .gelu:
      for i in 0..<count { a[i] = z[i] * 0.5 * (1 + erff(z[i] * 0.70710678118654752)) }
    }
  }

  /// d ← d ⊙ f′(z), given the pre-activation z and the activation a = f(z).
  func multiplyByDerivative(
    _ d: UnsafeMutablePointer<Float>, z: UnsafePointer<Float>, a: UnsafePointer<Float>, count: Int
  ) {
    switch self {
    case .relu, .leakyRelu:
      var kernel = RectifierDerivativeKernel(z: z, d: d, slope: self == .relu ? 0 : Activation.leakySlope)
      runElementwise(&kernel, count: count)
    case .tanh:
      for i in 0..<count { d[i] *= 1 - a[i] * a[i] }
    case .sigmoid:
      for i in 0..<count { d[i] *= a[i] * (1 - a[i]) }
    case .gelu:
      for i in 0..<count {
        let x = z[i]
        let cdf = 0.5 * (1 + erff(x * 0.70710678118654752))
        let pdf = expf(-0.5 * x * x) * 0.39894228040143268
        d[i] *= cdf + x * pdf
      }
    }
  }
}

/// a = z for z > 0, else slope·z (relu: slope 0), vectorized.
private struct RectifierKernel: ElementwiseKernel {
  typealias Scalar = Float
  let z: UnsafePointer<Float>, a: UnsafeMutablePointer<Float>, slope: Float

  @inline(__always)
  mutating func apply<V: Lane>(at i: Int, _: V.Type) where V.Scalar == Float {
    let x = V.load(z + i)
    x.wherePositive(x, else: V.splat(slope) * x).store(a + i)
  }
}

/// d ← d for z > 0, else slope·d (relu: slope 0), vectorized.
private struct RectifierDerivativeKernel: ElementwiseKernel {
  typealias Scalar = Float
  let z: UnsafePointer<Float>, d: UnsafeMutablePointer<Float>, slope: Float

  @inline(__always)
  mutating func apply<V: Lane>(at i: Int, _: V.Type) where V.Scalar == Float {
    let g = V.load(d + i)
    V.load(z + i).wherePositive(g, else: V.splat(slope) * g).store(d + i)
  }
}

/// Weight initialization schemes. Biases start at zero except under `torch_default`.
public enum Initializer: String, CaseIterable, Codable, Sendable {
  /// He/Kaiming normal (He et al., ICCV 2015): W ~ N(0, 2/fan_in).
  case he
  /// Xavier/Glorot uniform (Glorot & Bengio, AISTATS 2010, eq. 16):
  /// W ~ U(±√(6/(fan_in + fan_out))).
  case xavier
  /// PyTorch's `nn.Linear` default: weight and bias both U(±1/√fan_in).
  case torchDefault = "torch_default"
}
