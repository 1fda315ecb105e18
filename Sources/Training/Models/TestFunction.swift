/// The classic 2-D optimization test surfaces. As a model, the parameters are the point
/// (x, y) and the loss is f(x, y); gradients and Hessian diagonals are closed-form.
public enum TestFunction: String, CaseIterable, Codable, Sendable {
  /// Beale (1958): f = (1.5 − x + xy)² + (2.25 − x + xy²)² + (2.625 − x + xy³)²,
  /// minimum f(3, 0.5) = 0; usual domain [−4.5, 4.5]².
  case beale
  /// Rosenbrock (1960) with a = 1, b = 100: f = (1 − x)² + 100(y − x²)², minimum f(1, 1) = 0.
  case rosenbrock

  /// The conventional start: Beale (1, 1.5), Rosenbrock (−1.5, 2).
  public var defaultStart: (Double, Double) {
    switch self {
    case .beale: return (1, 1.5)
    case .rosenbrock: return (-1.5, 2)
    }
  }

  public var minimum: (x: Double, y: Double) {
    switch self {
    case .beale: return (3, 0.5)
    case .rosenbrock: return (1, 1)
    }
  }

  /// f(x, y).
  public func value<S: OptimizerScalar>(_ x: S, _ y: S) -> S {
    switch self {
    case .beale:
      let a = 1.5 - x + x * y
      let b = 2.25 - x + x * y * y
      let c = 2.625 - x + x * y * y * y
      return a * a + b * b + c * c
    case .rosenbrock:
      let u = 1 - x, w = y - x * x
      return u * u + 100 * w * w
    }
  }

  /// ∇f(x, y). Beale: ∂x = 2A(y−1) + 2B(y²−1) + 2C(y³−1), ∂y = 2Ax + 4Bxy + 6Cxy².
  /// Rosenbrock: ∂x = −2(1−x) − 400x(y−x²), ∂y = 200(y−x²).
  public func gradient<S: OptimizerScalar>(_ x: S, _ y: S) -> (S, S) {
    switch self {
    case .beale:
      let y2 = y * y, y3 = y2 * y
      let a: S = 1.5 - x + x * y
      let b: S = 2.25 - x + x * y2
      let c: S = 2.625 - x + x * y3
      let dxA: S = 2 * a * (y - 1)
      let dxB: S = 2 * b * (y2 - 1)
      let dxC: S = 2 * c * (y3 - 1)
      let dyA: S = 2 * a * x
      let dyB: S = 4 * b * x * y
      let dyC: S = 6 * c * x * y2
      return (dxA + dxB + dxC, dyA + dyB + dyC)
    case .rosenbrock:
      let w = y - x * x
      return (-2 * (1 - x) - 400 * x * w, 200 * w)
    }
  }

  /// The Hessian diagonal (∂²f/∂x², ∂²f/∂y²).
  /// Beale: ∂xx = 2[(y−1)² + (y²−1)² + (y³−1)²],
  ///        ∂yy = 2x² + 2(2xy)² + 4Bx + 2(3xy²)² + 12Cxy.
  /// Rosenbrock: ∂xx = 2 − 400(y − x²) + 800x², ∂yy = 200.
  public func hessianDiagonal<S: OptimizerScalar>(_ x: S, _ y: S) -> (S, S) {
    switch self {
    case .beale:
      let y2 = y * y, y3 = y2 * y
      let b = 2.25 - x + x * y2
      let c = 2.625 - x + x * y3
      let p = y - 1, q = y2 - 1, r = y3 - 1
      let squares: S = p * p + q * q + r * r
      let hxx: S = 2 * squares
      let bx: S = 2 * x * y
      let cx: S = 3 * x * y2
      let termA: S = 2 * x * x
      let termB: S = 2 * bx * bx + 4 * b * x
      let termC: S = 2 * cx * cx + 12 * c * x * y
      return (hxx, termA + termB + termC)
    case .rosenbrock:
      return (2 - 400 * (y - x * x) + 800 * x * x, 200)
    }
  }
}
