import Foundation
import Training
import Vocabulary

/// Turns a parameter assignment into a trial spec: the base trial with each dotted path set,
/// `optimizer` choosing the optimizer, and bare names passed as hyperparameters only to an
/// optimizer that accepts them (conditional parameters). The trial records what it used.
public enum TrialFactory {
  public struct Made: Sendable {
    public var spec: TrialSpec
    /// The parameter values this trial actually used, in parameter order.
    public var used: [(String, ConfigValue)]
  }

  public struct Failure: Error, CustomStringConvertible {
    public var keyPath: String
    public var message: String
    public var description: String { keyPath.isEmpty ? message : "\(keyPath): \(message)" }
  }

  /// - Parameter digests: SHA-256 per data file path (what the submitting client
  ///   uploaded); a file the trial names gets its digest as `data.<key>_sha256`.
  public static func make(
    base: ConfigValue, assignment: [(String, ConfigValue)], seed: UInt64, digests: [String: String] = [:]
  ) throws -> Made {
    var tree = base
    var used: [(String, ConfigValue)] = []
    var hyperparameters: [(String, ConfigValue)] = []
    for (path, value) in assignment {
      if path == "seed" {
        // A swept seed is the trial's seed (below), not a setting.
        used.append((path, value))
      } else if path == "optimizer" {
        // A new optimizer keeps only the base hyperparameters it accepts (below).
        tree.set(value, at: ["optimizer", "name"])
        used.append((path, value))
      } else if path.contains(".") {
        tree.set(value, at: path.split(separator: ".").map(String.init))
        used.append((path, value))
      } else {
        hyperparameters.append((path, value))
      }
    }
    let name: String
    if case .string(let chosen)? = tree["optimizer"]?["name"] {
      name = chosen
    } else {
      name = TrialSpec().optimizer.name
    }
    let kind = try? OptimizerKind.named(name)
    let accepted = Set(kind?.hyperparameters.map(\.name) ?? [])
    var optimizer: [ConfigValue.Entry] = [ConfigValue.Entry(key: "name", value: .string(name))]
    let sweptOptimizer = assignment.contains { $0.0 == "optimizer" }
    if case .map(let entries)? = tree["optimizer"] {
      for entry in entries where entry.key != "name" && (!sweptOptimizer || accepted.contains(entry.key)) {
        optimizer.append(entry)
      }
    }
    for (key, value) in hyperparameters where accepted.contains(key) {
      optimizer.removeAll { $0.key == key }
      optimizer.append(ConfigValue.Entry(key: key, value: value))
      used.append((key, value))
    }
    tree.set(.map(optimizer), at: ["optimizer"])
    // The tree holds the trial's settings; its seed is the sweep's choice for this trial.
    var result = try decodeTrial(tree, digests: digests)
    result.seed = seed
    if let swept = assignment.first(where: { $0.0 == "seed" })?.1 {
      guard case .int(let value) = swept, value >= 0 else {
        throw Failure(keyPath: "seed", message: "a swept seed is a whole number ≥ 0, got \(swept)")
      }
      result.seed = UInt64(value)
    }
    let problems = result.problems()
    if let first = problems.first {
      throw Failure(keyPath: "", message: first)
    }
    return Made(spec: result, used: used)
  }

  /// Decodes a trial spec straight from a config value (no JSON in between), with the same
  /// checks and errors as `sweepd train --config`.
  static func decodeTrial(_ tree: ConfigValue, digests: [String: String] = [:]) throws -> TrialSpec {
    var tree = tree
    if !digests.isEmpty, case .map(var data)? = tree["data"] {
      for key in DataSpec.fileKeys {
        guard case .string(let path)? = data.first(where: { $0.key == key })?.value,
          let digest = digests[path]
        else { continue }
        data.removeAll { $0.key == key + "_sha256" }
        data.append(ConfigValue.Entry(key: key + "_sha256", value: .string(digest)))
      }
      tree.set(.map(data), at: ["data"])
    }
    do {
      return try ConfigValueDecoder().decode(TrialSpec.self, from: tree)
    } catch let error as DecodingError {
      throw Failure(keyPath: "", message: describe(error))
    }
  }

  /// A decoding error as "key.path: what was wrong"; an unknown enum word names what is
  /// allowed.
  static func describe(_ error: DecodingError) -> String {
    if case .dataCorrupted(let context) = error, context.debugDescription.hasPrefix("Cannot initialize") {
      // "Cannot initialize Activation from invalid String value rellu": echo the value,
      // with a did-you-mean among the allowed words.
      let value = context.debugDescription.components(separatedBy: " value ").last ?? ""
      let key = context.codingPath.last?.stringValue ?? ""
      let message: String
      if let (what, words) = allowedWords(for: key) {
        let hint = closestMatch(to: value, among: words).map { " (did you mean '\($0)'?)" } ?? ""
        message = "unknown \(what) '\(value)'\(hint); allowed: \(words.joined(separator: ", "))"
      } else {
        message = "'\(value)' is not one of the allowed words"
      }
      return (error.keyPath.isEmpty ? "" : error.keyPath + ": ") + message
    }
    return error.readableDescription
  }

  static func allowedWords(for key: String) -> (what: String, words: [String])? {
    switch key {
    case "dataset": return ("data set", DataSpec.Source.allCases.map(\.rawValue))
    case "kind": return ("model kind", ModelSpec.Kind.allCases.map(\.rawValue))
    case "activation": return ("activation", Activation.allCases.map(\.rawValue))
    case "init": return ("initializer", Initializer.allCases.map(\.rawValue))
    case "loss": return ("loss", LossKind.allCases.map(\.rawValue))
    case "task": return ("task", ["classification", "regression"])
    case "norm": return ("normalization", Normalization.allCases.map(\.rawValue))
    case "stage": return ("stage", DataSpec.Stage.allCases.map(\.rawValue))
    default: return nil
    }
  }

}
