#if canImport(Glibc)
  import Glibc
#else
  import Foundation
#endif

/// Seeded synthetic data sets, in the spirit of scikit-learn's `make_*` generators.
/// `noise` is the standard deviation of Gaussian noise added to every coordinate (blobs:
/// the cluster spread).
public enum SyntheticData {
  /// K interleaved spiral arms in 2-D (the CS231n spiral): class k has radius r ∈ [0, 1]
  /// and angle 4k + 4r (+ noise on the angle, scaled by 4).
  public static func spirals(samples: Int, classes: Int, noise: Double, random: inout RandomSource) -> Dataset
  {
    var features: [Float] = [], labels: [Int32] = []
    for i in 0..<samples {
      let k = i % classes
      let r = Double(i / classes) / Double(max((samples + classes - 1) / classes - 1, 1))
      let angle = Double(k) * 4 + r * 4 + random.normal() * noise * 4
      features += [Float(r * sin(angle)), Float(r * cos(angle))]
      labels.append(Int32(k))
    }
    return Dataset(features: features, featureCount: 2, labels: labels, classes: classes)
  }

  /// Two interleaving half circles: (cos t, sin t) and (1 − cos t, 0.5 − sin t), t ∈ [0, π].
  public static func moons(samples: Int, noise: Double, random: inout RandomSource) -> Dataset {
    var features: [Float] = [], labels: [Int32] = []
    for i in 0..<samples {
      let k = i % 2
      let t = random.uniform(0, Double.pi)
      let (x, y) = k == 0 ? (cos(t), sin(t)) : (1 - cos(t), 0.5 - sin(t))
      features += [Float(x + noise * random.normal()), Float(y + noise * random.normal())]
      labels.append(Int32(k))
    }
    return Dataset(features: features, featureCount: 2, labels: labels, classes: 2)
  }

  /// Two concentric circles, radii 1 and 0.5.
  public static func circles(samples: Int, noise: Double, random: inout RandomSource) -> Dataset {
    var features: [Float] = [], labels: [Int32] = []
    for i in 0..<samples {
      let k = i % 2
      let t = random.uniform(0, 2 * Double.pi)
      let radius = k == 0 ? 1.0 : 0.5
      features += [
        Float(radius * cos(t) + noise * random.normal()), Float(radius * sin(t) + noise * random.normal()),
      ]
      labels.append(Int32(k))
    }
    return Dataset(features: features, featureCount: 2, labels: labels, classes: 2)
  }

  /// Isotropic Gaussian clusters: K centres uniform in [−10, 10]^d, spread `noise`.
  public static func blobs(
    samples: Int, classes: Int, dimensions: Int, noise: Double, random: inout RandomSource
  ) -> Dataset {
    let centres = (0..<(classes * dimensions)).map { _ in random.uniform(-10, 10) }
    var features: [Float] = [], labels: [Int32] = []
    for i in 0..<samples {
      let k = i % classes
      for j in 0..<dimensions {
        features.append(Float(centres[k * dimensions + j] + noise * random.normal()))
      }
      labels.append(Int32(k))
    }
    return Dataset(features: features, featureCount: dimensions, labels: labels, classes: classes)
  }

  /// XOR: points uniform in [−1, 1]², class 1 where x·y > 0; noise is added after labelling.
  public static func xor(samples: Int, noise: Double, random: inout RandomSource) -> Dataset {
    var features: [Float] = [], labels: [Int32] = []
    for _ in 0..<samples {
      let x = random.uniform(-1, 1), y = random.uniform(-1, 1)
      labels.append(x * y > 0 ? 1 : 0)
      features += [Float(x + noise * random.normal()), Float(y + noise * random.normal())]
    }
    return Dataset(features: features, featureCount: 2, labels: labels, classes: 2)
  }

  /// Regression: x uniform in [−π, π], y = sin x + noise.
  public static func sine(samples: Int, noise: Double, random: inout RandomSource) -> Dataset {
    var features: [Float] = [], targets: [Float] = []
    for _ in 0..<samples {
      let x = random.uniform(-Double.pi, Double.pi)
      features.append(Float(x))
      targets.append(Float(sin(x) + noise * random.normal()))
    }
    return Dataset(features: features, featureCount: 1, targets: targets, outputs: 1)
  }
}
