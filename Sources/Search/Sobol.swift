import Training

/// The Sobol low-discrepancy sequence in base 2 (Sobol 1967), with Joe–Kuo direction
/// numbers, generated in Gray-code order (Antonov & Saleev 1979): point n+1 is point n with
/// the direction vector of the lowest zero bit of n XOR-ed in. Point 0 is the origin.
///
/// With `scramble`, every dimension is XOR-ed with a seeded random 32-bit digital shift,
/// which keeps the net structure (every dyadic box of the right size still holds its share
/// of points) while removing the origin and the points on the box edges.
public struct SobolSequence: Sendable {
  public static let maximumDimensions = sobolDirectionNumbers.count + 1
  static let bits = 32

  public let dimensions: Int
  /// directions[d][k]: the k-th direction vector of dimension d, as a 32-bit fraction.
  private let directions: [[UInt32]]
  private let shift: [UInt32]

  public init(dimensions: Int, scrambleSeed: UInt64? = nil) {
    precondition(
      dimensions >= 1 && dimensions <= Self.maximumDimensions,
      "Sobol supports 1…\(Self.maximumDimensions) dimensions")
    self.dimensions = dimensions
    var directions: [[UInt32]] = [(0..<Self.bits).map { UInt32(1) << (31 - $0) }]
    for d in 1..<dimensions {
      let (polynomial, initial) = sobolDirectionNumbers[d - 1]
      let degree = UInt32.bitWidth - polynomial.leadingZeroBitCount - 1
      // Coefficients a₁…a_{s−1}: the polynomial's bits between the leading and trailing ones.
      let a = (polynomial >> 1) & ((1 << (degree - 1)) - 1)
      var v = [UInt32](repeating: 0, count: Self.bits)
      for k in 0..<Self.bits {
        if k < degree {
          v[k] = initial[k] << (31 - k)
        } else {
          var value = v[k - degree] ^ (v[k - degree] >> degree)
          for j in 1..<degree where (a >> (degree - 1 - j)) & 1 == 1 {
            value ^= v[k - j]
          }
          v[k] = value
        }
      }
      directions.append(v)
    }
    self.directions = directions
    if let scrambleSeed {
      var random = RandomSource.derived(seed: scrambleSeed, stream: "sobol-shift")
      shift = (0..<dimensions).map { _ in UInt32(truncatingIfNeeded: random.next() >> 32) }
    } else {
      shift = [UInt32](repeating: 0, count: dimensions)
    }
  }

  /// Point `index` (0-based) as 32-bit integers (the fractions × 2³²).
  public func integerPoint(_ index: Int) -> [UInt32] {
    precondition(index >= 0 && index < (1 << 32))
    // The Gray code of n selects which direction vectors are XOR-ed together.
    let gray = UInt64(index) ^ (UInt64(index) >> 1)
    return (0..<dimensions).map { d in
      var x: UInt32 = 0
      var bits = gray
      var k = 0
      while bits != 0 {
        if bits & 1 == 1 { x ^= directions[d][k] }
        bits >>= 1
        k += 1
      }
      return x ^ shift[d]
    }
  }

  /// Point `index` in [0, 1)^dimensions.
  public func point(_ index: Int) -> [Double] {
    integerPoint(index).map { Double($0) * 0x1p-32 }
  }
}
