import Training
import XCTest

@testable import Search

final class SobolTests: XCTestCase {
  /// The unscrambled sequence equals SciPy's `scipy.stats.qmc.Sobol(d, scramble=False)`
  /// (same Joe–Kuo direction numbers, same Gray-code order).
  func testMatchesTheReferenceSequence() {
    let sobol = SobolSequence(dimensions: 8)
    XCTAssertEqual(sobol.point(0), Array(repeating: 0, count: 8))
    XCTAssertEqual(sobol.point(1), Array(repeating: 0.5, count: 8))
    XCTAssertEqual(sobol.point(2), [0.75, 0.25, 0.25, 0.25, 0.75, 0.75, 0.25, 0.75])
    XCTAssertEqual(sobol.point(4), [0.375, 0.375, 0.625, 0.875, 0.375, 0.125, 0.375, 0.875])
    XCTAssertEqual(sobol.point(15), [0.0625, 0.9375, 0.5625, 0.3125, 0.6875, 0.1875, 0.8125, 0.3125])
    let wide = SobolSequence(dimensions: 64)
    XCTAssertEqual(
      wide.integerPoint(1000),
      [
        943_718_400, 415_236_096, 2_227_175_424, 2_906_652_672, 1_203_765_248, 3_896_508_416, 197_132_288,
        3_862_953_984, 2_151_677_952, 297_795_584, 364_904_448, 1_094_713_344, 692_060_160, 1_648_361_472,
        616_562_688, 1_589_641_216, 3_091_202_048, 1_480_589_312, 4_257_218_560, 3_116_367_872, 2_243_952_640,
        2_361_393_152, 4_081_057_792, 2_319_450_112, 2_503_999_488, 3_896_508_416, 171_966_464, 4_206_886_912,
        255_852_544, 1_463_812_096, 633_339_904, 624_951_296, 1_270_874_112, 2_545_942_528, 3_443_523_584,
        3_309_305_856, 3_644_850_176, 3_569_352_704, 1_321_205_760, 2_059_403_264, 3_921_674_240,
        1_094_713_344,
        4_123_000_832, 3_015_704_576, 3_611_295_744, 398_458_880, 3_745_513_472, 3_946_840_064, 4_290_772_992,
        2_059_403_264, 1_514_143_744, 2_218_786_816, 3_233_808_384, 1_883_242_496, 541_065_216, 3_829_399_552,
        1_950_351_360, 339_738_624, 3_795_845_120, 2_453_667_840, 1_916_796_928, 2_587_885_568, 1_111_490_560,
        1_916_796_928,
      ])
    XCTAssertEqual(
      Array(wide.integerPoint(777).prefix(10)),
      [
        2_973_761_536, 4_022_337_536, 700_448_768, 1_178_599_424, 2_730_491_904, 1_530_920_960, 817_889_280,
        3_275_751_424, 1_497_366_528, 1_388_314_624,
      ])
  }

  /// Net property: the first 2^k points put exactly one point in each of the 2^k dyadic
  /// intervals of every dimension, scrambled or not.
  func testEveryDimensionIsStratified() {
    for seed in [nil, 3, 4] as [UInt64?] {
      let sobol = SobolSequence(dimensions: 20, scrambleSeed: seed)
      let points = (0..<256).map { sobol.point($0) }
      for d in 0..<20 {
        XCTAssertEqual(
          Set(points.map { Int($0[d] * 256) }).count, 256, "dimension \(d), seed \(String(describing: seed))")
      }
      // The first two dimensions form a (0, 2)-sequence: each of the 16 × 16 boxes holds
      // one of 256 points. Later pairs have t > 0 (Joe–Kuo keep it small): at most 2 a box.
      XCTAssertEqual(Set(points.map { Int($0[0] * 16) * 16 + Int($0[1] * 16) }).count, 256)
      for (a, b) in [(2, 7), (5, 19)] {
        XCTAssertGreaterThanOrEqual(
          Set(points.map { Int($0[a] * 16) * 16 + Int($0[b] * 16) }).count, 128, "dimensions \(a), \(b)")
      }
    }
    XCTAssertNotEqual(SobolSequence(dimensions: 2, scrambleSeed: 1).point(0), [0, 0])
  }

  /// Better coverage than random for the same count: lower star discrepancy proxy (the
  /// worst gap between the fraction of points in [0, x)² boxes and their area).
  func testCoversTheSquareBetterThanRandom() {
    func discrepancy(_ points: [[Double]]) -> Double {
      var worst = 0.0
      for i in 1...16 {
        for j in 1...16 {
          let x = Double(i) / 16, y = Double(j) / 16
          let inside = points.filter { $0[0] < x && $0[1] < y }.count
          worst = max(worst, abs(Double(inside) / Double(points.count) - x * y))
        }
      }
      return worst
    }
    let sobol = SobolSequence(dimensions: 2, scrambleSeed: 9)
    let quasi = discrepancy((0..<128).map { sobol.point($0) })
    var random = RandomSource(seed: 9)
    let pseudo = discrepancy((0..<128).map { _ in [random.nextUnitDouble(), random.nextUnitDouble()] })
    XCTAssertLessThan(quasi, pseudo)
    XCTAssertLessThan(quasi, 0.03)
  }
}
