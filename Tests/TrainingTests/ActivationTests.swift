import XCTest

@testable import Training

final class ActivationTests: XCTestCase {
  /// Reference values of each activation and its derivative, on both the vector lanes and
  /// the scalar tail (19 = 2×8 + 3 elements).
  func testActivationsAndDerivativesMatchTheirDefinitions() {
    let z: [Float] = (0..<19).map { Float($0 - 9) * 0.37 + 0.05 }
    for activation in Activation.allCases {
      var a = [Float](repeating: .nan, count: z.count)
      z.withUnsafeBufferPointer { zp in
        a.withUnsafeMutableBufferPointer {
          activation.apply(zp.baseAddress!, $0.baseAddress!, count: z.count)
        }
      }
      var d = [Float](repeating: 1, count: z.count)
      z.withUnsafeBufferPointer { zp in
        a.withUnsafeBufferPointer { ap in
          d.withUnsafeMutableBufferPointer {
            activation.multiplyByDerivative(
              $0.baseAddress!, z: zp.baseAddress!, a: ap.baseAddress!, count: z.count)
          }
        }
      }
      for (i, x) in z.enumerated() {
        let value: Double, slope: Double
        let t = Double(x)
        switch activation {
        case .relu: value = max(t, 0); slope = t > 0 ? 1 : 0
        case .leakyRelu: value = t > 0 ? t : 0.01 * t; slope = t > 0 ? 1 : 0.01
        case .tanh: value = Foundation.tanh(t); slope = 1 - value * value
        case .sigmoid: value = 1 / (1 + Foundation.exp(-t)); slope = value * (1 - value)
        case .gelu:
          let cdf = 0.5 * (1 + Foundation.erf(t / 2.0.squareRoot()))
          value = t * cdf
          slope = cdf + t * Foundation.exp(-t * t / 2) / (2 * Double.pi).squareRoot()
        }
        XCTAssertEqual(Double(a[i]), value, accuracy: 1e-6, "\(activation)(\(x))")
        XCTAssertEqual(Double(d[i]), slope, accuracy: 1e-5, "\(activation)′(\(x))")
      }
    }
  }
}
