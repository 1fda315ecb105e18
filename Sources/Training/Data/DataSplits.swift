/// How rows are divided: a held-out part, or k folds, by a seeded shuffle; stratified by
/// class for classification (every class keeps its share in every part, as scikit-learn's
/// `StratifiedShuffleSplit` and `StratifiedKFold` do).
public enum DataSplits {
  /// Splits `dataset`'s rows into (kept, held) with `fraction` of them held: ⌊n·f + ½⌋ rows.
  ///
  /// Stratified: class c with n_c rows holds ⌊n_c·f⌋ of them plus one for the classes with
  /// the largest remainders n_c·f − ⌊n_c·f⌋ (ties to the lower class), until the total is
  /// reached, so each class's held share is within one row of f. Which rows of a class are
  /// held comes from `random`. Both lists are in the shuffled order.
  public static func holdOut(
    _ dataset: Dataset, fraction: Double, stratified: Bool, random: inout RandomSource
  ) -> (kept: [Int], held: [Int]) {
    var order = Array(0..<dataset.rows)
    random.shuffle(&order)
    let total = Int((Double(dataset.rows) * fraction).rounded())
    guard stratified, case .classification(let classes) = dataset.task else {
      return (Array(order[..<(order.count - total)]), Array(order[(order.count - total)...]))
    }
    let byClass = rowsByClass(order, dataset: dataset, classes: classes)
    var quota = byClass.map { Int((Double($0.count) * fraction).rounded(.down)) }
    let remainders = byClass.enumerated().map { c, rows in
      (c, Double(rows.count) * fraction - Double(quota[c]))
    }
    var missing = total - quota.reduce(0, +)
    for (c, _) in remainders.sorted(by: { $0.1 != $1.1 ? $0.1 > $1.1 : $0.0 < $1.0 }) where missing > 0 {
      if quota[c] < byClass[c].count {
        quota[c] += 1
        missing -= 1
      }
    }
    var held = Set<Int>()
    for (c, rows) in byClass.enumerated() { held.formUnion(rows.suffix(quota[c])) }
    return (order.filter { !held.contains($0) }, order.filter { held.contains($0) })
  }

  /// Assigns `rows` (indices into `dataset`) to `folds` folds: each fold's rows, in the
  /// shuffled order. The folds partition the rows and their sizes differ by at most one.
  ///
  /// Stratified: the shuffled rows are laid out class by class and dealt to the folds in
  /// turn, so each class's count differs by at most one between folds.
  public static func folds(
    _ rows: [Int], of dataset: Dataset, folds: Int, stratified: Bool, random: inout RandomSource
  ) -> [[Int]] {
    var order = rows
    random.shuffle(&order)
    if stratified, case .classification(let classes) = dataset.task {
      order = rowsByClass(order, dataset: dataset, classes: classes).flatMap { $0 }
    }
    var result = [[Int]](repeating: [], count: folds)
    for (position, row) in order.enumerated() { result[position % folds].append(row) }
    return result
  }

  /// The rows of `order` grouped by class label (each group in `order`'s order).
  static func rowsByClass(_ order: [Int], dataset: Dataset, classes: Int) -> [[Int]] {
    var byClass = [[Int]](repeating: [], count: classes)
    for row in order { byClass[Int(dataset.labels[row])].append(row) }
    return byClass
  }
}
