/// A seeded, portable pseudo-random generator: xoshiro256** (Blackman & Vigna, 2018,
/// "Scrambled linear pseudorandom number generators"), seeded through SplitMix64.
///
/// Every random choice in training (initial weights, data split, per-epoch shuffles,
/// synthetic data) draws from one of these, so a trial's results depend on its seed only.
/// The sequence is fixed by this file and never by the platform.
public struct RandomSource: RandomNumberGenerator, Sendable {
  private var state: (UInt64, UInt64, UInt64, UInt64)

  /// Seeds the four state words from `seed` by SplitMix64, as the xoshiro authors advise.
  public init(seed: UInt64) {
    var mixer = SplitMix64(state: seed)
    state = (mixer.next(), mixer.next(), mixer.next(), mixer.next())
  }

  /// A generator for a named sub-stream: `RandomSource(seed: s).derived("split")` differs
  /// from `.derived("init")`, so adding a consumer never shifts another one's numbers.
  public static func derived(seed: UInt64, stream: String) -> RandomSource {
    // FNV-1a of the stream name, mixed with the seed.
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    for byte in stream.utf8 {
      hash ^= UInt64(byte)
      hash = hash &* 0x0000_0100_0000_01b3
    }
    var mixer = SplitMix64(state: seed ^ hash)
    return RandomSource(seed: mixer.next())
  }

  public mutating func next() -> UInt64 {
    let result = rotateLeft(state.1 &* 5, 7) &* 9
    let shifted = state.1 << 17
    state.2 ^= state.0
    state.3 ^= state.1
    state.1 ^= state.2
    state.0 ^= state.3
    state.2 ^= shifted
    state.3 = rotateLeft(state.3, 45)
    return result
  }

  /// Uniform in [0, 1) with 53 random bits.
  public mutating func nextUnitDouble() -> Double {
    Double(next() >> 11) * 0x1.0p-53
  }

  /// Uniform in [low, high).
  public mutating func uniform(_ low: Double, _ high: Double) -> Double {
    low + (high - low) * nextUnitDouble()
  }

  /// Standard normal by the Box–Muller transform (one value per call; the second is dropped
  /// so the stream position never depends on call history).
  public mutating func normal() -> Double {
    var u1 = nextUnitDouble()
    while u1 <= 0 { u1 = nextUnitDouble() }
    let u2 = nextUnitDouble()
    return (-2 * _log(u1)).squareRoot() * _cos(2 * Double.pi * u2)
  }

  /// Uniform integer in 0..<bound without modulo bias (Lemire's method).
  public mutating func index(below bound: Int) -> Int {
    precondition(bound > 0)
    return Int(next(upperBound: UInt64(bound)))
  }

  /// Fisher–Yates shuffle driven by this generator (the standard library's `shuffle(using:)`
  /// does not promise a fixed algorithm across versions).
  public mutating func shuffle<T>(_ values: inout [T]) {
    guard values.count > 1 else { return }
    for i in stride(from: values.count - 1, to: 0, by: -1) {
      let j = index(below: i + 1)
      if i != j { values.swapAt(i, j) }
    }
  }
}

private func rotateLeft(_ x: UInt64, _ k: UInt64) -> UInt64 {
  (x << k) | (x >> (64 - k))
}

/// SplitMix64 (Steele, Lea & Flood, 2014), used only to expand seeds.
struct SplitMix64 {
  var state: UInt64
  mutating func next() -> UInt64 {
    state &+= 0x9e37_79b9_7f4a_7c15
    var z = state
    z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
    z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
    return z ^ (z >> 31)
  }
}

#if canImport(Glibc)
  import Glibc
  @inline(__always) func _log(_ x: Double) -> Double { Glibc.log(x) }
  @inline(__always) func _cos(_ x: Double) -> Double { Glibc.cos(x) }
#else
  import Foundation
  @inline(__always) func _log(_ x: Double) -> Double { Foundation.log(x) }
  @inline(__always) func _cos(_ x: Double) -> Double { Foundation.cos(x) }
#endif
