import Synchronization
import Training

/// Prepared data sets kept across a worker's trials, so a sweep over one data set loads,
/// decompresses and splits it once rather than once per trial. Least recently used entries
/// are dropped beyond `capacity`. Two slots asking for the same new data set at once may
/// both prepare it (the result is the same); the cache never blocks one slot on another.
final class DataCache: Sendable {
  let capacity: Int
  let entries = Mutex<[(spec: DataSpec, data: PreparedData)]>([])

  init(capacity: Int = 4) {
    self.capacity = Swift.max(1, capacity)
  }

  /// The prepared data for `spec`, from the cache or prepared now.
  func data(for spec: DataSpec) throws -> PreparedData {
    if let hit = entries.withLock({ list -> PreparedData? in
      guard let index = list.firstIndex(where: { $0.spec == spec }) else { return nil }
      let entry = list.remove(at: index)
      list.append(entry)
      return entry.data
    }) {
      return hit
    }
    let prepared = try spec.prepare()
    entries.withLock { list in
      if !list.contains(where: { $0.spec == spec }) { list.append((spec, prepared)) }
      if list.count > capacity { list.removeFirst(list.count - capacity) }
    }
    return prepared
  }

  var count: Int { entries.withLock { $0.count } }
}
