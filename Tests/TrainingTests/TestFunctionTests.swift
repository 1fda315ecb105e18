import XCTest

@testable import Training

final class TestFunctionTests: XCTestCase {
  func testReferenceValues() {
    // Check values from the reference notes (optimizers.md §6).
    XCTAssertEqual(TestFunction.beale.value(1.0, 1.0), 14.203125)
    XCTAssertEqual(TestFunction.beale.gradient(1.0, 1.0).0, 0)
    XCTAssertEqual(TestFunction.beale.gradient(1.0, 1.0).1, 27.75)
    XCTAssertEqual(TestFunction.beale.value(3.0, 4.0), 39062.953125)
    XCTAssertEqual(TestFunction.beale.gradient(3.0, 4.0).0, 25625.25)
    XCTAssertEqual(TestFunction.beale.gradient(3.0, 4.0).1, 57519)
    XCTAssertEqual(TestFunction.beale.value(2.0, 2.0), 356.703125)
    XCTAssertEqual(TestFunction.rosenbrock.value(-1.2, 1.0), 24.2, accuracy: 1e-12)
    XCTAssertEqual(TestFunction.rosenbrock.gradient(-1.2, 1.0).0, -215.6, accuracy: 1e-12)
    XCTAssertEqual(TestFunction.rosenbrock.gradient(-1.2, 1.0).1, -88, accuracy: 1e-12)
    XCTAssertEqual(TestFunction.rosenbrock.value(-1.0, 1.0), 4)
    XCTAssertEqual(TestFunction.beale.value(3.0, 0.5), 0)
    XCTAssertEqual(TestFunction.rosenbrock.value(1.0, 1.0), 0)
    XCTAssertEqual(TestFunction.rosenbrock.hessianDiagonal(1.0, 1.0).0, 802)
    XCTAssertEqual(TestFunction.rosenbrock.hessianDiagonal(1.0, 1.0).1, 200)
  }

  func testGradientsAndHessianDiagonalsMatchFiniteDifferences() {
    let h = 1e-5
    for function in TestFunction.allCases {
      for (x, y) in [(1.0, 1.5), (-1.5, 2.0), (0.3, -0.7), (2.5, 0.4)] {
        let (gx, gy) = function.gradient(x, y)
        let fdx = (function.value(x + h, y) - function.value(x - h, y)) / (2 * h)
        let fdy = (function.value(x, y + h) - function.value(x, y - h)) / (2 * h)
        XCTAssertEqual(gx, fdx, accuracy: 1e-5 * max(1, abs(fdx)), "\(function) ∂x at \(x),\(y)")
        XCTAssertEqual(gy, fdy, accuracy: 1e-5 * max(1, abs(fdy)), "\(function) ∂y at \(x),\(y)")
        let (hx, hy) = function.hessianDiagonal(x, y)
        let fdxx = (function.gradient(x + h, y).0 - function.gradient(x - h, y).0) / (2 * h)
        let fdyy = (function.gradient(x, y + h).1 - function.gradient(x, y - h).1) / (2 * h)
        XCTAssertEqual(hx, fdxx, accuracy: 1e-4 * max(1, abs(fdxx)), "\(function) ∂xx at \(x),\(y)")
        XCTAssertEqual(hy, fdyy, accuracy: 1e-4 * max(1, abs(fdyy)), "\(function) ∂yy at \(x),\(y)")
      }
    }
  }
}
