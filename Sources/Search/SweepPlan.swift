import Training

/// One trial a sweep starts: which configuration and repeat, its seed, the values it used,
/// and the complete trial spec.
public struct PlannedTrial: Sendable {
  /// 0-based position in the sweep.
  public var index: Int
  /// 0-based configuration (trials of the same configuration differ only by seed).
  public var configuration: Int
  public var repeatIndex: Int
  public var seed: UInt64
  /// Every parameter's assigned value, in parameter order.
  public var assigned: [(String, ConfigValue)]
  /// The values the trial actually used (a hyperparameter its optimizer does not take is
  /// left out).
  public var used: [(String, ConfigValue)]
  public var spec: TrialSpec
}

/// Expands a sweep into trials for the non-adaptive methods (grid, random, sobol).
///
/// Same config and seed → the same sequence of trials: configuration c draws its values from
/// the seeded stream `random/c`, and repeat r of configuration c trains with the seed of
/// stream `trial/c/r`.
public struct SweepPlan: Sendable {
  public let spec: SweepSpec

  public struct Unavailable: Error, CustomStringConvertible {
    public var description: String
  }

  public init(spec: SweepSpec) {
    self.spec = spec
  }

  /// Distinct configurations of a grid (the product of every parameter's value count).
  public var gridSize: Int? {
    guard spec.method == .grid else { return nil }
    var product = 1
    for parameter in spec.parameters {
      guard let count = parameter.distribution.gridCount else { return nil }
      let (result, overflow) = product.multipliedReportingOverflow(by: count)
      if overflow { return Int.max }
      product = result
    }
    return product
  }

  /// How many trials the sweep runs: grid size × repeats capped by run_cap; run_cap for
  /// the sampling methods (nil: until stopped).
  public var totalTrials: Int? {
    if let size = gridSize {
      let (all, overflow) = size.multipliedReportingOverflow(by: spec.repeats)
      let total = overflow ? Int.max : all
      return spec.runCap.map { Swift.min($0, total) } ?? total
    }
    return spec.runCap
  }

  /// The first `limit` trials.
  public func trials(limit: Int) throws -> [PlannedTrial] {
    switch spec.method {
    case .grid, .random, .sobol: break
    case .tpe:
      throw Unavailable(
        description:
          "method \(spec.methodName): this build of sweepd expands grid and random sweeps; the \(spec.method.rawValue) sampler is not in it yet"
      )
    }
    let count = Swift.min(limit, totalTrials ?? limit)
    var result: [PlannedTrial] = []
    result.reserveCapacity(Swift.max(count, 0))
    for index in 0..<Swift.max(count, 0) {
      result.append(try trial(index))
    }
    return result
  }

  /// Trial `index` of a grid or random sweep.
  public func trial(_ index: Int) throws -> PlannedTrial {
    let configuration = index / spec.repeats
    let repeatIndex = index % spec.repeats
    let assigned = assignment(configuration)
    var seedSource = RandomSource.derived(seed: spec.seed, stream: "trial/\(configuration)/\(repeatIndex)")
    let seed = seedSource.next()
    let made = try TrialFactory.make(base: spec.base, assignment: assigned, seed: seed)
    return PlannedTrial(
      index: index, configuration: configuration, repeatIndex: repeatIndex, seed: seed, assigned: assigned,
      used: made.used, spec: made.spec)
  }

  /// The parameter values of configuration `c`.
  public func assignment(_ c: Int) -> [(String, ConfigValue)] {
    switch spec.method {
    case .grid:
      // Mixed-radix digits of c, the last parameter varying fastest (nested loops in file
      // order).
      var remainder = c
      var values: [(String, ConfigValue)] = []
      for parameter in spec.parameters.reversed() {
        let options = parameter.distribution.gridValues ?? []
        values.append((parameter.path, options[remainder % options.count]))
        remainder /= options.count
      }
      return values.reversed()
    case .sobol:
      // Point c of a scrambled Sobol sequence, one dimension per parameter (categoricals
      // through their inverse CDF like every other distribution).
      let point = SobolSequence(dimensions: Swift.max(spec.parameters.count, 1), scrambleSeed: spec.seed).point(c)
      return zip(spec.parameters, point).map { ($0.path, $0.distribution.value(at: $1)) }
    default:
      var random = RandomSource.derived(seed: spec.seed, stream: "random/\(c)")
      return spec.parameters.map { ($0.path, $0.distribution.value(at: random.nextUnitDouble())) }
    }
  }
}
