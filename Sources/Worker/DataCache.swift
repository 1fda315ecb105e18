import Synchronization
import Training

/// Prepared data sets kept across a worker's trials (and across the workers of one
/// process), so a sweep over one data set loads, decompresses and splits it once rather than
/// once per trial. Least recently used entries are dropped beyond `capacity`. Preparations
/// happen one at a time, so slots starting together on a new data set prepare it once.
public final class DataCache: Sendable {
  let capacity: Int
  let entries = Mutex<[(spec: DataSpec, data: PreparedData)]>([])
  let preparing = Mutex<Void>(())

  public init(capacity: Int = 4) {
    self.capacity = Swift.max(1, capacity)
  }

  /// The prepared data for `spec`, from the cache or prepared now.
  func data(for spec: DataSpec) throws -> PreparedData {
    if let hit = cached(spec) { return hit }
    return try preparing.withLock { _ in
      // Another slot may have prepared it while this one waited.
      if let hit = cached(spec) { return hit }
      let prepared = try spec.prepare()
      entries.withLock { list in
        list.append((spec, prepared))
        if list.count > capacity { list.removeFirst(list.count - capacity) }
      }
      return prepared
    }
  }

  /// The cached entry for `spec`, marked most recently used.
  func cached(_ spec: DataSpec) -> PreparedData? {
    entries.withLock { list -> PreparedData? in
      guard let index = list.firstIndex(where: { $0.spec == spec }) else { return nil }
      let entry = list.remove(at: index)
      list.append(entry)
      return entry.data
    }
  }

  var count: Int { entries.withLock { $0.count } }
}
