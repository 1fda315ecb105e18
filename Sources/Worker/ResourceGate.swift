import Foundation
import Synchronization

/// The cores and GPUs a worker lends its program trials: a trial takes `cores` units of the
/// worker's slots and `gpus` GPU ids, exclusively, for its whole run. The coordinator never
/// places more than fit; the gate is the worker's own guarantee (a queued trial waits here
/// instead of sharing a GPU).
public final class ResourceGate: @unchecked Sendable {
  let condition = NSCondition()
  let cores: Int
  var freeCores: Int
  /// Free GPU ids, lowest first.
  var freeGPUs: [String]
  public let gpus: [String]

  public init(cores: Int, gpus: [String]) {
    self.cores = max(1, cores)
    freeCores = max(1, cores)
    self.gpus = gpus
    freeGPUs = gpus
  }

  /// Takes `cores` cores (at most all of them) and `gpus` GPU ids, waiting until they are
  /// free; nil when `gpus` exceeds what the worker has, or `abandon` turns true while waiting
  /// (polled every 50 ms).
  public func acquire(cores wanted: Int, gpus count: Int, abandon: () -> Bool) -> [String]? {
    guard count <= gpus.count else { return nil }
    let needed = min(max(1, wanted), cores)
    condition.lock()
    defer { condition.unlock() }
    while freeCores < needed || freeGPUs.count < count {
      if abandon() { return nil }
      _ = condition.wait(until: Date().addingTimeInterval(0.05))
    }
    freeCores -= needed
    let granted = Array(freeGPUs.prefix(count))
    freeGPUs.removeFirst(count)
    return granted
  }

  /// Gives back what `acquire` took.
  public func release(cores wanted: Int, gpus granted: [String]) {
    condition.lock()
    freeCores += min(max(1, wanted), cores)
    freeGPUs = gpus.filter { granted.contains($0) || freeGPUs.contains($0) }
    condition.broadcast()
    condition.unlock()
  }
}

/// GPU ids for `--gpus`: a comma-separated list (`0,1`), `none`, or `auto` (one per line of
/// `nvidia-smi -L`, none where it is not installed).
public enum GPUList {
  public static func parse(_ text: String, detect: () -> [String] = detected) throws -> [String] {
    let trimmed = text.trimmingCharacters(in: .whitespaces)
    if trimmed == "auto" { return detect() }
    if trimmed.isEmpty || trimmed == "none" { return [] }
    let ids = trimmed.split(separator: ",", omittingEmptySubsequences: false).map {
      $0.trimmingCharacters(in: .whitespaces)
    }
    for id in ids where id.isEmpty || id.contains(where: { $0.isWhitespace }) {
      throw GPUListError(text: text, reason: "an empty or spaced id")
    }
    guard Set(ids).count == ids.count else { throw GPUListError(text: text, reason: "an id named twice") }
    return ids
  }

  /// The GPUs `nvidia-smi -L` lists (`GPU 0: … (UUID: …)` → "0"); none without it.
  public static func detected() -> [String] {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["nvidia-smi", "-L"]
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = FileHandle.nullDevice
    do { try process.run() } catch { return [] }
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else { return [] }
    return String(decoding: data, as: UTF8.self).split(separator: "\n").compactMap { line in
      guard line.hasPrefix("GPU "), let colon = line.firstIndex(of: ":") else { return nil }
      return String(line[line.index(line.startIndex, offsetBy: 4)..<colon])
    }
  }

  public struct GPUListError: Error, CustomStringConvertible {
    public var text: String
    public var reason: String
    public var description: String {
      "--gpus '\(text)': \(reason); expected ids separated by commas (0,1), auto, or none"
    }
  }
}
