import CVectorMath

/// A unit of element-wise arithmetic: one scalar, or a SIMD vector of scalars.
///
/// Optimizer updates are written once, generic over `Lane`, and run over the parameter
/// vector in 8-wide SIMD chunks plus a scalar tail (`runElementwise`). Swift's
/// auto-vectorizer leaves multi-array update loops scalar; explicit vectors make them 4–8×
/// faster. Every lane computes exactly the scalar formula, so results do not depend on the
/// chunking.
public protocol Lane {
  associatedtype Scalar: OptimizerScalar
  static func splat(_ value: Scalar) -> Self
  static func load(_ pointer: UnsafePointer<Scalar>) -> Self
  func store(_ pointer: UnsafeMutablePointer<Scalar>)
  static func + (lhs: Self, rhs: Self) -> Self
  static func - (lhs: Self, rhs: Self) -> Self
  static func * (lhs: Self, rhs: Self) -> Self
  static func / (lhs: Self, rhs: Self) -> Self
  /// √x per lane, without libm's errno check (so vectors stay vectors).
  func root() -> Self
  static func maximum(_ a: Self, _ b: Self) -> Self
  static func absolute(_ a: Self) -> Self
  /// The lanes' sum, in lane order, in float64.
  func laneSum() -> Double
  /// Per lane: `ifPositive` where `self > 0`, else `otherwise` (NaN counts as not positive).
  func wherePositive(_ ifPositive: Self, else otherwise: Self) -> Self
}

extension OptimizerScalar {
  @inline(__always) public static func splat(_ value: Self) -> Self { value }
  @inline(__always) public static func load(_ pointer: UnsafePointer<Self>) -> Self { pointer.pointee }
  @inline(__always) public func store(_ pointer: UnsafeMutablePointer<Self>) { pointer.pointee = self }
  @inline(__always) public static func maximum(_ a: Self, _ b: Self) -> Self { a > b ? a : b }
  @inline(__always) public static func absolute(_ a: Self) -> Self { abs(a) }
  @inline(__always) public func laneSum() -> Double { Double(self) }
  @inline(__always) public func wherePositive(_ ifPositive: Self, else otherwise: Self) -> Self {
    self > 0 ? ifPositive : otherwise
  }
  @inline(__always) public func root() -> Self {
    if Self.self == Float.self {
      return unsafeBitCast(sweepd_sqrt_float(unsafeBitCast(self, to: Float.self)), to: Self.self)
    }
    if Self.self == Double.self {
      return unsafeBitCast(sweepd_sqrt_double(unsafeBitCast(self, to: Double.self)), to: Self.self)
    }
    return squareRoot()
  }
}

extension SIMD8: Lane where Scalar: OptimizerScalar {
  @inline(__always) public static func splat(_ value: Scalar) -> Self { Self(repeating: value) }
  @inline(__always) public static func load(_ pointer: UnsafePointer<Scalar>) -> Self {
    UnsafeRawPointer(pointer).loadUnaligned(as: Self.self)
  }
  @inline(__always) public func store(_ pointer: UnsafeMutablePointer<Scalar>) {
    UnsafeMutableRawPointer(pointer).storeBytes(of: self, as: Self.self)
  }
  @inline(__always) public static func maximum(_ a: Self, _ b: Self) -> Self {
    (b - a).wherePositive(b, else: a)
  }
  @inline(__always) public static func absolute(_ a: Self) -> Self { a.wherePositive(a, else: Self() - a) }
  @inline(__always) public func root() -> Self {
    if Scalar.self == Float.self {
      return unsafeBitCast(sweepd_sqrt_float8(unsafeBitCast(self, to: SIMD8<Float>.self)), to: Self.self)
    }
    if Scalar.self == Double.self {
      return unsafeBitCast(sweepd_sqrt_double8(unsafeBitCast(self, to: SIMD8<Double>.self)), to: Self.self)
    }
    return squareRoot()
  }
  @inline(__always) public func wherePositive(_ ifPositive: Self, else otherwise: Self) -> Self {
    if Scalar.self == Float.self {
      return unsafeBitCast(
        sweepd_where_positive_float8(
          unsafeBitCast(self, to: SIMD8<Float>.self), unsafeBitCast(ifPositive, to: SIMD8<Float>.self),
          unsafeBitCast(otherwise, to: SIMD8<Float>.self)), to: Self.self)
    }
    if Scalar.self == Double.self {
      return unsafeBitCast(
        sweepd_where_positive_double8(
          unsafeBitCast(self, to: SIMD8<Double>.self), unsafeBitCast(ifPositive, to: SIMD8<Double>.self),
          unsafeBitCast(otherwise, to: SIMD8<Double>.self)), to: Self.self)
    }
    return otherwise.replacing(with: ifPositive, where: self .> 0)
  }
  @inline(__always) public func laneSum() -> Double {
    var sum = 0.0
    for i in 0..<8 { sum += Double(self[i]) }
    return sum
  }
}

/// An element-wise update over `count` elements: `apply(at: i, V.self)` updates the
/// elements i..<i+width of its arrays, for V a scalar or an 8-wide vector. A kernel that
/// accumulates (a dot product, a sum of rates) merges the totals of its chunks in `absorb`.
public protocol ElementwiseKernel {
  associatedtype Scalar: OptimizerScalar
  mutating func apply<V: Lane>(at index: Int, _ lane: V.Type) where V.Scalar == Scalar
  /// Adds a chunk's accumulated totals into this kernel (chunks are absorbed in order).
  mutating func absorb(_ chunk: Self)
}

extension ElementwiseKernel {
  @inline(__always) public mutating func absorb(_ chunk: Self) {}
}

/// Elements per chunk of `runElementwise`. Chunk boundaries depend on the element count
/// only, so sums come out bit-identical however many threads run the chunks.
let elementwiseChunk = 16_384

/// Runs `kernel` over 0..<count in fixed chunks of `elementwiseChunk` elements (8-wide
/// vectors, then a scalar tail in the last chunk), the chunks spread over up to `threads`
/// threads. Each chunk runs on a fresh copy of `kernel`, and the copies are absorbed back in
/// chunk order.
@inline(__always)
func runElementwise<K: ElementwiseKernel>(_ kernel: inout K, count: Int, threads: Int = 1) {
  let chunks = Swift.max(1, (count + elementwiseChunk - 1) / elementwiseChunk)
  @inline(__always)
  func run(_ part: inout K, _ lower: Int, _ upper: Int) {
    var i = lower
    while i + 8 <= upper {
      part.apply(at: i, SIMD8<K.Scalar>.self)
      i += 8
    }
    while i < upper {
      part.apply(at: i, K.Scalar.self)
      i += 1
    }
  }
  if chunks == 1 {
    var part = kernel
    run(&part, 0, count)
    kernel.absorb(part)
    return
  }
  var parts = [K](repeating: kernel, count: chunks)
  parts.withUnsafeMutableBufferPointer { parts in
    let parts = parts
    parallelFor(chunks, cores: threads) { c in
      run(&parts[c], c * elementwiseChunk, Swift.min((c + 1) * elementwiseChunk, count))
    }
  }
  for part in parts { kernel.absorb(part) }
}

/// Σ a_i·b_i in a fixed order (per chunk: 8-lane sums in float64; chunks in order).
struct DotKernel<Scalar: OptimizerScalar>: ElementwiseKernel {
  let a: UnsafePointer<Scalar>, b: UnsafePointer<Scalar>
  var sum: Double = 0

  @inline(__always)
  mutating func apply<V: Lane>(at i: Int, _: V.Type) where V.Scalar == Scalar {
    sum += (V.load(a + i) * V.load(b + i)).laneSum()
  }

  mutating func absorb(_ chunk: Self) { sum += chunk.sum }
}
