import Foundation
import Vocabulary
import Wire

/// A command that could not do its job for a reason other than how it was called (bad data,
/// a config file's content, a sweep that failed): printed as `Error: …` with exit code 1,
/// without the usage text, which is for usage errors (`ValidationError`) only.
struct CommandFailure: Error, CustomStringConvertible, LocalizedError {
  var description: String
  init(_ description: String) { self.description = description }
  var errorDescription: String? { description }
}

/// `--group-by KEY` must name a parameter of the sweep: the error lists them, with a
/// did-you-mean.
func checkGroupBy(_ key: String?, _ board: Leaderboard) throws {
  try checkGroupBy(key, names: board.parameterNames)
}

func checkGroupBy(_ key: String?, names: [String]) throws {
  guard let key, !names.contains(key) else { return }
  let hint = closestMatch(to: key, among: names).map { " (did you mean '\($0)'?)" } ?? ""
  throw CommandFailure(
    "--group-by \(key): no trial has a parameter of that name\(hint); the sweep's parameters: \(names.isEmpty ? "none" : names.joined(separator: ", "))"
  )
}
