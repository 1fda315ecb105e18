import Foundation
import Programs
import Training
import Vocabulary

/// What a trial runs: the built-in trainer with a trial spec, or the user's program.
public enum TrialWork: Hashable, Sendable {
  case builtIn(TrialSpec)
  case program(ProgramTrialSpec)

  /// The JSON the coordinator stores and ASSIGN carries (the worker tells the two apart by
  /// the program spec's `kind`).
  public func json(_ encoder: JSONEncoder) throws -> Data {
    switch self {
    case .builtIn(let spec): try encoder.encode(spec)
    case .program(let spec): try encoder.encode(spec)
    }
  }
}

extension TrialWork {
  /// The final run of a sweep with test rows, from its selected trial's stored spec: trained
  /// again for `epochs` epochs on training + validation rows (`data.refit`, the default) or
  /// on its own split (`refit: false`, the same model bit for bit), then tested once. Nil
  /// for a spec that does not decode or holds out no test rows.
  public static func finalRun(of storedSpec: String, epochs: Int, encoder: JSONEncoder) -> String? {
    guard var spec = try? JSONDecoder().decode(TrialSpec.self, from: Data(storedSpec.utf8)), spec.data.hasTest
    else { return nil }
    spec.data.stage = spec.data.refits ? .refit : .evaluate
    spec.data.stageEpochs = Swift.max(1, Swift.min(epochs, spec.epochs))
    return (try? encoder.encode(spec)).map { String(decoding: $0, as: UTF8.self) }
  }
}

/// One trial a sweep starts: which configuration and repeat, its seed, the values it used,
/// and the complete trial spec.
/// A trial whose values the trainer refuses together, though each passed the config's
/// checks alone (eve's `k_lower: 5` drawn with `k_upper: 2`): what was drawn, and the
/// trainer's reason. The coordinator records it `failed` with that reason and goes on.
public struct RefusedTrial: Error, Sendable, CustomStringConvertible {
  public var index: Int
  public var configuration: Int
  public var repeatIndex: Int
  public var seed: UInt64
  public var assigned: [(String, ConfigValue)]
  public var point: [Double]
  /// The trainer's sentence.
  public var reason: String

  public var description: String { reason }
}

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
  public var work: TrialWork
  /// The built-in trial's spec (nil for a program trial).
  public var spec: TrialSpec? {
    if case .builtIn(let spec) = work { return spec }
    return nil
  }
  /// The quantile point the values came from (empty for grid trials), for TPE's history.
  public var point: [Double]
}

/// Expands a sweep into trials: grid, random and sobol up front; TPE as results arrive.
///
/// Same config and seed → the same sequence of trials: configuration c draws its values from
/// the seeded stream `random/c`, and repeat r of configuration c trains with the seed of
/// stream `trial/c/r`.
public struct SweepPlan: Sendable {
  public let spec: SweepSpec

  /// The TPE sampler of a `tpe` (or `bayes`) sweep.
  public let tpe: TPESampler

  public init(spec: SweepSpec) {
    self.spec = spec
    tpe = TPESampler(
      parameters: spec.parameters, goal: spec.metric.goal, seed: spec.seed, impute: spec.impute)
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
    var count = Swift.min(limit, totalTrials ?? limit)
    if spec.method == .tpe {
      // Beyond its random start-up trials TPE needs results; without any, the plan ends there.
      count = Swift.min(count, tpe.startupTrials)
    }
    var result: [PlannedTrial] = []
    result.reserveCapacity(Swift.max(count, 0))
    for index in 0..<Swift.max(count, 0) {
      result.append(try trial(index))
    }
    return result
  }

  /// Trial `index`. For TPE, `history` holds one observation per configuration so far (in
  /// order); the other methods ignore it.
  /// `point` overrides the sampler (a TPE sweep's repeats reuse their configuration's point).
  /// `overrides`: values given by hand (`sweepd enqueue`) by parameter path, in place of the
  /// sampled ones; the point gets their quantiles, so TPE models the trial where it is.
  /// Throws `RefusedTrial` when the trainer refuses the values drawn together.
  public func trial(
    _ index: Int, history: [Observation] = [], point given: [Double]? = nil,
    overrides: [String: ConfigValue] = [:]
  ) throws(RefusedTrial) -> PlannedTrial {
    let configuration = index / spec.repeats
    let repeatIndex = index % spec.repeats
    var point = spec.method == .grid ? [] : given ?? self.point(configuration, history: history)
    if !overrides.isEmpty && !point.isEmpty {
      for (dimension, parameter) in spec.parameters.enumerated() {
        if let value = overrides[parameter.path], let u = parameter.distribution.quantile(of: value) {
          point[dimension] = u
        }
      }
    }
    var assigned =
      spec.method == .grid
      ? assignment(configuration)
      : zip(spec.parameters, point).map { ($0.path, $0.distribution.value(at: $1)) }
    for index in assigned.indices {
      if let value = overrides[assigned[index].0] { assigned[index].1 = value }
    }
    // Shared seeds: repeat r of every configuration has the same seed (paired comparisons).
    var seedSource = RandomSource.derived(
      seed: spec.seed,
      stream: spec.sharedSeeds ? "trial/shared/\(repeatIndex)" : "trial/\(configuration)/\(repeatIndex)")
    let seed = seedSource.next()
    if let program = spec.program {
      // The program gets every value as sampled; none has a built-in meaning.
      let work = ProgramTrialSpec(
        program: program.program, command: program.command, parameters: spec.programParameters(assigned),
        metric: spec.metric.name.rawValue, maxSeconds: program.maxSeconds, cores: program.cores,
        gpus: program.gpus, code: spec.codeDigest, seed: seed, realWandb: program.realWandb ? true : nil)
      return PlannedTrial(
        index: index, configuration: configuration, repeatIndex: repeatIndex, seed: seed, assigned: assigned,
        used: assigned, work: .program(work), point: point)
    }
    let made: TrialFactory.Made
    do {
      made = try TrialFactory.make(base: spec.base, assignment: assigned, seed: seed, digests: spec.dataDigests)
    } catch {
      throw RefusedTrial(
        index: index, configuration: configuration, repeatIndex: repeatIndex, seed: seed, assigned: assigned,
        point: point, reason: "\(error)")
    }
    return PlannedTrial(
      index: index, configuration: configuration, repeatIndex: repeatIndex, seed: seed, assigned: assigned,
      used: made.used, work: .builtIn(made.spec), point: point)
  }

  /// The quantile point of configuration `c` (one u ∈ [0, 1) per parameter), for the
  /// sampling methods; TPE reads `history`.
  public func point(_ c: Int, history: [Observation] = []) -> [Double] {
    switch spec.method {
    case .sobol:
      return SobolSequence(dimensions: Swift.max(spec.parameters.count, 1), scrambleSeed: spec.seed).point(c)
    case .tpe:
      return tpe.suggest(index: c, history: history)
    default:
      var random = RandomSource.derived(seed: spec.seed, stream: "random/\(c)")
      return spec.parameters.map { _ in random.nextUnitDouble() }
    }
  }

  /// The parameter values of configuration `c`.
  public func assignment(_ c: Int, history: [Observation] = []) -> [(String, ConfigValue)] {
    switch spec.method {
    case .grid:
      // Mixed-radix digits of c, the last parameter varying fastest (nested loops in file
      // order).
      var remainder = c
      var values: [(String, ConfigValue)] = []
      for parameter in spec.parameters.reversed() {
        let count = Swift.max(parameter.distribution.gridCount ?? 1, 1)
        values.append((parameter.path, parameter.distribution.gridValue(at: remainder % count) ?? .null))
        remainder /= count
      }
      return values.reversed()
    default:
      // Random: seeded uniforms; Sobol: point c of a scrambled sequence; TPE: its
      // suggestion. Each through the parameters' inverse CDFs (categoricals included).
      return zip(spec.parameters, point(c, history: history)).map { ($0.path, $0.distribution.value(at: $1)) }
    }
  }
}

extension SweepSpec {
  /// A program's parameters from a trial's values by parameter path (as leaderboards list
  /// them): nested parameters' leaves go back into their dicts, as W&B's agent passes them;
  /// a value whose path is not a parameter of the sweep stays under its own name.
  public func programParameters(_ values: [(String, ConfigValue)]) -> [(String, ConfigValue)] {
    let keys = Dictionary(parameters.map { ($0.path, $0.keys) }, uniquingKeysWith: { first, _ in first })
    var nested = ConfigValue.map([])
    for (path, value) in values { nested.set(value, at: keys[path] ?? [path]) }
    if case .map(let entries) = nested { return entries.map { ($0.key, $0.value) } }
    return values
  }
}
