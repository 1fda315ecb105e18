import Vocabulary

#if canImport(Glibc)
  import Glibc
#else
  import Foundation
#endif

/// How a swept parameter's values are drawn (W&B's distribution names). Every distribution
/// is an inverse CDF: `value(at: u)` maps u ∈ [0, 1) to a value, so random search feeds it
/// uniform numbers and Sobol search feeds it low-discrepancy points.
public enum Distribution: Hashable, Sendable {
  /// Always `value`.
  case constant(ConfigValue)
  /// One of `values`, with the given probabilities (default: equal).
  case categorical([ConfigValue], probabilities: [Double]?)
  /// U(min, max).
  case uniform(min: Double, max: Double)
  /// A whole number in min…max, each equally likely.
  case intUniform(min: Int, max: Int)
  /// round(U(min, max)/q)·q.
  case qUniform(min: Double, max: Double, q: Double)
  /// exp(U(min, max)): min and max are natural-log exponents.
  case logUniform(min: Double, max: Double)
  /// round(exp(U(min, max))/q)·q: min and max are natural-log exponents (W&B's
  /// `q_log_uniform`, superseded there by `q_log_uniform_values`).
  case qLogUniform(min: Double, max: Double, q: Double)
  /// exp(−U(min, max)), drawn at 1 − u so the value rises with u: min and max are exponents
  /// of 1/x (W&B's `inv_log_uniform`): values lie in [e^−max, e^−min].
  case invLogUniform(min: Double, max: Double)
  /// exp(U(ln min, ln max)): log-uniform between the values min and max.
  case logUniformValues(min: Double, max: Double)
  /// round(exp(U(ln min, ln max))/q)·q.
  case qLogUniformValues(min: Double, max: Double, q: Double)
  /// 1/X with ln X uniform in [ln(1/max), ln(1/min)] (W&B's definition); as a distribution of
  /// values this is log-uniform on [min, max], drawn from the other end.
  case invLogUniformValues(min: Double, max: Double)
  /// N(μ, σ).
  case normal(mu: Double, sigma: Double)
  /// round(N(μ, σ)/q)·q.
  case qNormal(mu: Double, sigma: Double, q: Double)
  /// exp(N(μ, σ)).
  case logNormal(mu: Double, sigma: Double)
  /// round(exp(N(μ, σ))/q)·q.
  case qLogNormal(mu: Double, sigma: Double, q: Double)
  /// Beta(a, b) on [0, 1], density ∝ x^(a−1)·(1−x)^(b−1) (W&B's `beta`; a = b = 1 by
  /// default, which is U(0, 1)).
  case beta(a: Double, b: Double)
  /// round(Beta(a, b)/q)·q (W&B's `q_beta`).
  case qBeta(a: Double, b: Double, q: Double)

  /// The config name of the distribution.
  public var name: String {
    switch self {
    case .constant: return "constant"
    case .categorical: return "categorical"
    case .uniform: return "uniform"
    case .intUniform: return "int_uniform"
    case .qUniform: return "q_uniform"
    case .logUniform: return "log_uniform"
    case .qLogUniform: return "q_log_uniform"
    case .invLogUniform: return "inv_log_uniform"
    case .logUniformValues: return "log_uniform_values"
    case .qLogUniformValues: return "q_log_uniform_values"
    case .invLogUniformValues: return "inv_log_uniform_values"
    case .normal: return "normal"
    case .qNormal: return "q_normal"
    case .logNormal: return "log_normal"
    case .qLogNormal: return "q_log_normal"
    case .beta: return "beta"
    case .qBeta: return "q_beta"
    }
  }

  /// The value at quantile u (u is clamped into [0, 1)).
  public func value(at u: Double) -> ConfigValue {
    let u = Swift.min(Swift.max(u, 0), 1 - 0x1p-53)
    switch self {
    case .constant(let value):
      return value
    case .categorical(let values, let probabilities):
      guard let probabilities else {
        return values[Swift.min(Int(u * Double(values.count)), values.count - 1)]
      }
      var cumulative = 0.0
      for (index, p) in probabilities.enumerated() {
        cumulative += p
        if u < cumulative { return values[index] }
      }
      return values[values.count - 1]
    case .uniform(let low, let high):
      return .double(low + u * (high - low))
    case .intUniform(let low, let high):
      return .int(Swift.min(low + Int((u * Double(high - low + 1)).rounded(.down)), high))
    case .qUniform(let low, let high, let q):
      return quantize(low + u * (high - low), q)
    case .logUniform(let low, let high):
      return .double(exp(low + u * (high - low)))
    case .qLogUniform(let low, let high, let q):
      return quantize(exp(low + u * (high - low)), q)
    case .invLogUniform(let low, let high):
      return .double(exp(-(low + (1 - u) * (high - low))))
    case .logUniformValues(let low, let high):
      return .double(exp(log(low) + u * (log(high) - log(low))))
    case .qLogUniformValues(let low, let high, let q):
      return quantize(exp(log(low) + u * (log(high) - log(low))), q)
    case .invLogUniformValues(let low, let high):
      // W&B: exp(−U(ln(1/max), ln(1/min))) evaluated at 1 − u, so the value rises with u.
      let lower = log(1 / high), upper = log(1 / low)
      return .double(exp(-(lower + (1 - u) * (upper - lower))))
    case .normal(let mu, let sigma):
      return .double(mu + sigma * normalQuantile(u))
    case .qNormal(let mu, let sigma, let q):
      return quantize(mu + sigma * normalQuantile(u), q)
    case .logNormal(let mu, let sigma):
      return .double(exp(mu + sigma * normalQuantile(u)))
    case .qLogNormal(let mu, let sigma, let q):
      return quantize(exp(mu + sigma * normalQuantile(u)), q)
    case .beta(let a, let b):
      return .double(betaQuantile(u, a, b))
    case .qBeta(let a, let b, let q):
      return quantize(betaQuantile(u, a, b), q)
    }
  }

  /// The quantile u ∈ [0, 1) at which this distribution gives `value` (for a quantized or
  /// whole-number one: the middle of the values that round to it) — the inverse of
  /// `value(at:)` — so a value given by hand (`sweepd enqueue`) takes its place in the
  /// sampler's space. nil when `value` is outside the distribution's support (not one of a
  /// categorical's values, outside min…max, not positive for a log-scale one).
  public func quantile(of value: ConfigValue) -> Double? {
    func inside(_ u: Double) -> Double? { u >= 0 && u <= 1 ? Swift.min(u, 1 - 0x1p-53) : nil }
    switch self {
    case .constant(let constant):
      return value == constant ? 0.5 : nil
    case .categorical(let values, let probabilities):
      guard let index = values.firstIndex(of: value) else { return nil }
      guard let probabilities else { return (Double(index) + 0.5) / Double(values.count) }
      let before = probabilities.prefix(index).reduce(0, +)
      return before + probabilities[index] / 2
    default:
      break
    }
    guard let x = value.number, x.isFinite else { return nil }
    func phi(_ z: Double) -> Double { 0.5 * erfc(-z / 2.0.squareRoot()) }
    switch self {
    case .uniform(let low, let high), .qUniform(let low, let high, _):
      return inside((x - low) / (high - low))
    case .intUniform(let low, let high):
      guard x == x.rounded(), x >= Double(low), x <= Double(high) else { return nil }
      return (x - Double(low) + 0.5) / Double(high - low + 1)
    case .logUniform(let low, let high), .qLogUniform(let low, let high, _):
      return x > 0 ? inside((log(x) - low) / (high - low)) : nil
    case .invLogUniform(let low, let high):
      return x > 0 ? inside(1 - (-log(x) - low) / (high - low)) : nil
    case .logUniformValues(let low, let high), .qLogUniformValues(let low, let high, _):
      return x > 0 ? inside((log(x) - log(low)) / (log(high) - log(low))) : nil
    case .invLogUniformValues(let low, let high):
      let lower = log(1 / high), upper = log(1 / low)
      return x > 0 ? inside(1 - (-log(x) - lower) / (upper - lower)) : nil
    case .normal(let mu, let sigma), .qNormal(let mu, let sigma, _):
      return inside(phi((x - mu) / sigma))
    case .logNormal(let mu, let sigma), .qLogNormal(let mu, let sigma, _):
      return x > 0 ? inside(phi((log(x) - mu) / sigma)) : nil
    case .beta(let a, let b), .qBeta(let a, let b, _):
      return x >= 0 && x <= 1 ? inside(regularizedIncompleteBeta(x, a, b)) : nil
    case .constant, .categorical:
      return nil
    }
  }

  /// Where `quantile(of:)` looks: the values or range a hand-given value must come from.
  public var support: String {
    switch self {
    case .constant(let value): return "the constant \(value)"
    case .categorical(let values, _): return "one of \(values.map(\.description).joined(separator: ", "))"
    case .uniform(let low, let high), .qUniform(let low, let high, _):
      return "a number in \(formatNumber(low))…\(formatNumber(high))"
    case .intUniform(let low, let high): return "a whole number in \(low)…\(high)"
    case .logUniform(let low, let high), .qLogUniform(let low, let high, _):
      return "a number in \(formatNumber(exp(low)))…\(formatNumber(exp(high)))"
    case .invLogUniform(let low, let high):
      return "a number in \(formatNumber(exp(-high)))…\(formatNumber(exp(-low)))"
    case .logUniformValues(let low, let high), .qLogUniformValues(let low, let high, _),
      .invLogUniformValues(let low, let high):
      return "a number in \(formatNumber(low))…\(formatNumber(high))"
    case .normal, .qNormal: return "a number"
    case .logNormal, .qLogNormal: return "a number > 0"
    case .beta, .qBeta: return "a number in 0…1"
    }
  }

  /// Grid value `k` (0 ≤ k < `gridCount`), computed without building the others, so a
  /// grid over a wide integer range costs nothing until a trial needs one of its values.
  /// nil for continuous distributions or k out of range.
  public func gridValue(at k: Int) -> ConfigValue? {
    guard let count = gridCount, k >= 0, k < count else { return nil }
    switch self {
    case .constant(let value): return value
    case .categorical(let values, _): return values[k]
    case .intUniform(let low, _): return .int(low + k)
    case .qUniform(let low, _, let q): return quantize(((low / q).rounded() + Double(k)) * q, q)
    default: return nil
    }
  }

  /// Every value, for grid search; nil for continuous distributions. Builds them all: for
  /// one value use `gridValue(at:)`.
  public var gridValues: [ConfigValue]? {
    guard let count = gridCount else { return nil }
    return (0..<count).map { gridValue(at: $0)! }
  }

  /// How many grid values, without building them (nil for continuous).
  public var gridCount: Int? {
    switch self {
    case .constant: return 1
    case .categorical(let values, _): return values.count
    case .intUniform(let low, let high):
      let (span, overflow) = high.subtractingReportingOverflow(low)
      return overflow || span == Int.max ? nil : span + 1
    case .qUniform(let low, let high, let q):
      let count = (high / q).rounded() - (low / q).rounded() + 1
      return count < 100_000 ? Int(count) : nil
    default: return nil
    }
  }

  /// Whether values are numbers on a log scale (TPE models them in log space).
  public var isLogScale: Bool {
    switch self {
    case .logUniform, .qLogUniform, .invLogUniform, .logUniformValues, .qLogUniformValues,
      .invLogUniformValues,
      .logNormal, .qLogNormal:
      return true
    default: return false
    }
  }
}

/// round(x/q)·q, as a whole number when q is whole.
func quantize(_ x: Double, _ q: Double) -> ConfigValue {
  let value = (x / q).rounded() * q
  if q == q.rounded() && abs(value) < 9e15 { return .int(Int(value)) }
  // Trim the float noise of the multiplication (0.30000000000000004 → 0.3).
  let decimals = Swift.max(0, Int((-log10(q)).rounded(.up)) + 1)
  let scale = pow(10, Double(Swift.min(decimals, 15)))
  return .double((value * scale).rounded() / scale)
}

/// Φ⁻¹(u), the standard normal quantile, by Newton's method on Φ(x) = ½·erfc(−x/√2) from a
/// logistic start; accurate to ~1e-12 for u in [1e-300, 1 − 1e-16].
public func normalQuantile(_ u: Double) -> Double {
  let p = Swift.min(Swift.max(u, 1e-300), 1 - 1e-16)
  if p == 0.5 { return 0 }
  // Start: the logistic approximation Φ⁻¹(p) ≈ ln(p/(1−p))·√3/π·… refined below.
  var x = log(p / (1 - p)) * 0.5513
  for _ in 0..<60 {
    let cdf = 0.5 * erfc(-x / 2.0.squareRoot())
    let pdf = exp(-0.5 * x * x) / (2 * Double.pi).squareRoot()
    guard pdf > 0 else { break }
    var step = (cdf - p) / pdf
    // Damp steps in the tails, where Newton overshoots.
    if abs(step) > 1 { step = step > 0 ? 1 : -1 }
    x -= step
    if abs(step) < 1e-14 * Swift.max(1, abs(x)) { break }
  }
  return x
}

/// ln B(a, b) = ln Γ(a) + ln Γ(b) − ln Γ(a + b).
func logBeta(_ a: Double, _ b: Double) -> Double { lgamma(a) + lgamma(b) - lgamma(a + b) }

/// The regularized incomplete beta function I_x(a, b), the CDF of Beta(a, b), by its
/// continued fraction (evaluated with the modified Lentz method), which converges fast for
/// x < (a + 1)/(a + b + 2); above that, by the symmetry I_x(a, b) = 1 − I_{1−x}(b, a).
public func regularizedIncompleteBeta(_ x: Double, _ a: Double, _ b: Double) -> Double {
  if x <= 0 { return 0 }
  if x >= 1 { return 1 }
  if x > (a + 1) / (a + b + 2) { return 1 - regularizedIncompleteBeta(1 - x, b, a) }
  let front = exp(a * log(x) + b * log1p(-x) - logBeta(a, b)) / a
  // I_x(a, b) = front · 1/(1 + d1/(1 + d2/(1 + …))), with d_{2m+1} = −(a+m)(a+b+m)x /
  // ((a+2m)(a+2m+1)) and d_{2m} = m(b−m)x / ((a+2m−1)(a+2m)).
  let tiny = 1e-300
  var f = 1.0, c = 1.0, d = 0.0
  for i in 0...400 {
    let m = Double(i / 2)
    let numerator: Double
    if i == 0 {
      numerator = 1
    } else if i % 2 == 0 {
      numerator = m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m))
    } else {
      numerator = -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))
    }
    d = 1 + numerator * d
    if abs(d) < tiny { d = tiny }
    d = 1 / d
    c = 1 + numerator / c
    if abs(c) < tiny { c = tiny }
    let step = c * d
    f *= step
    if abs(1 - step) < 1e-15 { break }
  }
  return Swift.min(Swift.max(front * (f - 1), 0), 1)
}

/// The Beta(a, b) quantile: the x with I_x(a, b) = u, by bisection on [0, 1] (I is
/// increasing), refined until the bracket is within 1e-15 of its upper end, relatively, so
/// tiny quantiles (Beta(0.3, 4) at 0.001 is ~1e-10) keep their digits (at most 1100 halvings).
public func betaQuantile(_ u: Double, _ a: Double, _ b: Double) -> Double {
  if u <= 0 { return 0 }
  var low = 0.0, high = 1.0
  while high - low > 1e-15 * high {
    let middle = 0.5 * (low + high)
    if middle <= low || middle >= high { break }
    if regularizedIncompleteBeta(middle, a, b) < u { low = middle } else { high = middle }
  }
  return 0.5 * (low + high)
}
