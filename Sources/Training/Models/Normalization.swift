#if canImport(Glibc)
  import Glibc
#else
  import Foundation
#endif

/// The normalization a network applies (config key `model.norm`), with PyTorch's semantics.
public enum Normalization: String, CaseIterable, Codable, Sendable {
  case none
  /// Batch normalization (Ioffe & Szegedy 2015) after each hidden layer's affine map, as
  /// PyTorch's `BatchNorm1d`: in training x̂ = (z − μ_B)/√(σ²_B + ε) with the batch's mean
  /// and biased variance, y = γ·x̂ + β; the running statistics move by momentum 0.1 toward
  /// the batch's mean and *unbiased* variance, and evaluation normalizes with them.
  /// ε = 1e-5; γ starts at 1, β at 0, the running mean at 0 and the running variance at 1.
  case batch
  /// Layer normalization (Ba, Kiros & Hinton 2016) after each hidden affine map, as
  /// PyTorch's `LayerNorm` over the layer's units: per sample x̂ = (z − μ)/√(σ² + ε) over its
  /// units (biased variance), y = γ·x̂ + β; the same in training and evaluation. ε = 1e-5.
  case layer
  /// Weight normalization (Salimans & Kingma 2016) of every layer but the first, as
  /// PyTorch's `weight_norm(dim=0)`: each output unit's weight row is w = g·v/‖v‖, with v
  /// and g the parameters (g starts at ‖v‖, so the initial weights are the initializer's).
  case weight

  /// Whether hidden layers carry a scale γ and shift β.
  var hasAffine: Bool { self == .batch || self == .layer }

  static let epsilon: Float = 1e-5
  /// PyTorch's `BatchNorm1d` momentum: running ← (1 − m)·running + m·batch.
  static let momentum: Float = 0.1
}

/// Normalization of one layer's rows × width pre-activations: forward and backward.
enum NormKernels {
  /// Batch statistics (training): per unit j, the mean and biased variance over `rows` rows
  /// of `z`; writes x̂ to `normalized`, 1/√(σ² + ε) to `inverse`, y = γ·x̂ + β to `y`, and
  /// the mean and biased variance to `mean`/`variance`.
  static func batchForward(
    z: UnsafePointer<Float>, rows: Int, width: Int, scale: UnsafePointer<Float>, shift: UnsafePointer<Float>,
    normalized: UnsafeMutablePointer<Float>, inverse: UnsafeMutablePointer<Float>,
    y: UnsafeMutablePointer<Float>,
    mean: UnsafeMutablePointer<Float>, variance: UnsafeMutablePointer<Float>
  ) {
    for j in 0..<width {
      var sum = 0.0
      for r in 0..<rows { sum += Double(z[r * width + j]) }
      let mu = sum / Double(rows)
      var squares = 0.0
      for r in 0..<rows {
        let d = Double(z[r * width + j]) - mu
        squares += d * d
      }
      let sigma2 = squares / Double(rows)
      mean[j] = Float(mu)
      variance[j] = Float(sigma2)
      inverse[j] = Float(1 / (sigma2 + Double(Normalization.epsilon)).squareRoot())
    }
    for r in 0..<rows {
      for j in 0..<width {
        let i = r * width + j
        let xhat = (z[i] - mean[j]) * inverse[j]
        normalized[i] = xhat
        y[i] = scale[j] * xhat + shift[j]
      }
    }
  }

  /// Evaluation with running statistics: y = γ·(z − μ_run)/√(σ²_run + ε) + β.
  static func batchEvaluate(
    z: UnsafePointer<Float>, rows: Int, width: Int, scale: UnsafePointer<Float>, shift: UnsafePointer<Float>,
    runningMean: UnsafePointer<Float>, runningVariance: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>
  ) {
    for j in 0..<width {
      let inverse = 1 / (runningVariance[j] + Normalization.epsilon).squareRoot()
      for r in 0..<rows {
        let i = r * width + j
        y[i] = scale[j] * (z[i] - runningMean[j]) * inverse + shift[j]
      }
    }
  }

  /// Layer statistics: per row, the mean and biased variance over its `width` units.
  /// Writes x̂, 1/√(σ² + ε) per row to `inverse`, and y = γ·x̂ + β.
  static func layerForward(
    z: UnsafePointer<Float>, rows: Int, width: Int, scale: UnsafePointer<Float>, shift: UnsafePointer<Float>,
    normalized: UnsafeMutablePointer<Float>, inverse: UnsafeMutablePointer<Float>,
    y: UnsafeMutablePointer<Float>
  ) {
    for r in 0..<rows {
      let row = z + r * width
      var sum = 0.0
      for j in 0..<width { sum += Double(row[j]) }
      let mu = sum / Double(width)
      var squares = 0.0
      for j in 0..<width {
        let d = Double(row[j]) - mu
        squares += d * d
      }
      let inv = Float(1 / (squares / Double(width) + Double(Normalization.epsilon)).squareRoot())
      inverse[r] = inv
      for j in 0..<width {
        let i = r * width + j
        let xhat = (row[j] - Float(mu)) * inv
        normalized[i] = xhat
        y[i] = scale[j] * xhat + shift[j]
      }
    }
  }

  /// Batch normalization's backward: given δy (rows × width, in place), writes ∂γ = Σ_r δy·x̂
  /// and ∂β = Σ_r δy, and replaces δy by δz = (γ·inv/N)·(N·δy − Σ_r δy − x̂·Σ_r δy·x̂) —
  /// the statistics depend on every row of the batch.
  static func batchBackward(
    delta: UnsafeMutablePointer<Float>, rows: Int, width: Int, normalized: UnsafePointer<Float>,
    inverse: UnsafePointer<Float>, scale: UnsafePointer<Float>, scaleGradient: UnsafeMutablePointer<Float>,
    shiftGradient: UnsafeMutablePointer<Float>
  ) {
    let n = Float(rows)
    for j in 0..<width {
      var sumDelta: Float = 0
      var sumDeltaXhat: Float = 0
      for r in 0..<rows {
        let i = r * width + j
        sumDelta += delta[i]
        sumDeltaXhat += delta[i] * normalized[i]
      }
      scaleGradient[j] = sumDeltaXhat
      shiftGradient[j] = sumDelta
      let factor = scale[j] * inverse[j] / n
      for r in 0..<rows {
        let i = r * width + j
        delta[i] = factor * (n * delta[i] - sumDelta - normalized[i] * sumDeltaXhat)
      }
    }
  }

  /// Layer normalization's backward: ∂γ_j = Σ_r δy·x̂, ∂β_j = Σ_r δy, and per row
  /// δz = (inv_r/D)·(D·g − Σ_j g − x̂·Σ_j g·x̂) with g = γ·δy, D the width.
  static func layerBackward(
    delta: UnsafeMutablePointer<Float>, rows: Int, width: Int, normalized: UnsafePointer<Float>,
    inverse: UnsafePointer<Float>, scale: UnsafePointer<Float>, scaleGradient: UnsafeMutablePointer<Float>,
    shiftGradient: UnsafeMutablePointer<Float>
  ) {
    scaleGradient.update(repeating: 0, count: width)
    shiftGradient.update(repeating: 0, count: width)
    let d = Float(width)
    for r in 0..<rows {
      var sumG: Float = 0
      var sumGXhat: Float = 0
      for j in 0..<width {
        let i = r * width + j
        scaleGradient[j] += delta[i] * normalized[i]
        shiftGradient[j] += delta[i]
        let g = scale[j] * delta[i]
        sumG += g
        sumGXhat += g * normalized[i]
      }
      let factor = inverse[r] / d
      for j in 0..<width {
        let i = r * width + j
        delta[i] = factor * (d * scale[j] * delta[i] - sumG - normalized[i] * sumGXhat)
      }
    }
  }
}
