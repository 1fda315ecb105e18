import Foundation
import Search
import Vocabulary
import Wire

/// How the report places one parameter on an axis: numbers on a linear or log scale, or
/// named categories.
struct ParameterColumn {
  enum Kind: Equatable {
    case numeric(log: Bool)
    case categorical([String])
  }

  var name: String
  var kind: Kind
  /// Distinct values among the trials.
  var distinct: Int

  /// A parameter is numeric when every value trials used is a number; it gets a log axis
  /// when its distribution is log-distributed, or when its values are positive and span at
  /// least two decades (a grid of learning rates). Everything else is categorical, in
  /// order of first appearance.
  init(name: String, values: [ConfigValue?], distribution: Distribution?) {
    self.name = name
    let present = values.compactMap { $0 }
    distinct = Set(present).count
    let numbers = present.compactMap { value -> Double? in
      if case .bool = value { return nil }
      return value.number
    }
    if !present.isEmpty, numbers.count == present.count {
      let logDistributed = distribution?.isLogScale ?? false
      let positive = numbers.allSatisfy { $0 > 0 }
      let spansDecades = positive && (numbers.max()! / numbers.min()! >= 100)
      kind = .numeric(log: positive && (logDistributed || spansDecades))
    } else {
      var names: [String] = []
      for value in present where !names.contains(value.description) { names.append(value.description) }
      kind = .categorical(names)
    }
  }

  /// Where a value sits: the number itself, or the category's index.
  func coordinate(_ value: ConfigValue?) -> Double? {
    guard let value else { return nil }
    switch kind {
    case .numeric: return value.number
    case .categorical(let names): return names.firstIndex(of: value.description).map(Double.init)
    }
  }

  var scale: Chart.Scale {
    switch kind {
    case .numeric(let log): return log ? .log : .linear
    case .categorical(let names): return .categories(names)
    }
  }

  /// The columns of a leaderboard's parameters that vary (constants say nothing).
  static func varying(_ board: Leaderboard, spec: SweepSpec?) -> [ParameterColumn] {
    board.parameterNames.compactMap { name in
      let column = ParameterColumn(
        name: name, values: board.ranked.map { $0.value(of: name) },
        distribution: spec?.parameters.first { $0.path == name }?.distribution)
      return column.distinct > 1 ? column : nil
    }
  }
}

/// A metric's axis: log when every value is positive and they span a factor of 20 or more
/// (losses, Rosenbrock values, error rates from 0.02 to 0.6, so the good trials are not
/// squashed at the bottom), linear otherwise (and whenever a value is 0).
func metricScale(_ values: [Double]) -> Chart.Scale {
  let finite = values.filter(\.isFinite)
  guard let low = finite.min(), let high = finite.max(), low > 0 else { return .linear }
  return high / low >= 20 ? .log : .linear
}
