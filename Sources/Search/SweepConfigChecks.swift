import Training
import Vocabulary

extension SweepConfig.Parser {
  /// The location of the deepest key of `path` present in the document.
  func locate(_ path: [String], in byKey: [String: ConfigTree.Entry]) -> SourceLocation {
    guard let first = path.first, var entry = byKey[first] else { return SourceLocation(line: 1, column: 1) }
    var location = entry.keyLocation
    for key in path.dropFirst() {
      guard let next = entry.value.entries?.first(where: { $0.key == key }) else { break }
      entry = next
      location = next.keyLocation
    }
    return location
  }

  /// Splits "training.epochs must be ≥ 1" or "data.path: no such file" into key path and text.
  func splitProblem(_ problem: String) -> (path: [String], message: String) {
    let head = problem.prefix { $0 != " " && $0 != ":" }
    guard head.contains("."), SweepConfig.sections.contains(String(head.split(separator: ".")[0])) else {
      return ([], problem)
    }
    var message = problem.dropFirst(head.count)
    if message.hasPrefix(":") { message = message.dropFirst() }
    return (head.split(separator: ".").map(String.init), message.trimmingCharacters(in: .whitespaces))
  }

  /// Checks the base trial: each section decodes as the trial spec does, and the whole
  /// spec has no problems (epochs ≥ 1, files exist, …).
  mutating func checkBase(_ base: ConfigValue, _ byKey: [String: ConfigTree.Entry]) {
    var base = base
    // Unknown keys of the data and model sections, each at its own line.
    for (section, known) in [("data", DataSpec.configKeys), ("model", ModelSpec.configKeys)] {
      guard case .map(let entries)? = base[section] else { continue }
      let unknown = entries.filter { !known.contains($0.key) }
      for entry in unknown {
        issue(
          locate([section, entry.key], in: byKey), "\(section).\(entry.key)",
          "unknown key\(hint(entry.key, known)); allowed: \(known.joined(separator: ", "))")
      }
      if !unknown.isEmpty { base.set(.map(entries.filter { known.contains($0.key) }), at: [section]) }
    }
    if case .map(let entries)? = base["training"] {
      for entry in entries where !SweepConfig.trainingKeys.contains(entry.key) {
        issue(
          locate(["training", entry.key], in: byKey), "training.\(entry.key)",
          "unknown key\(hint(entry.key, SweepConfig.trainingKeys)); allowed: epochs, batch_size")
      }
    }
    var trial = base
    if case .map(let entries)? = base["training"] {
      trial.set(.map(entries.filter { SweepConfig.trainingKeys.contains($0.key) }), at: ["training"])
    }
    // Every key of every section alone first, so each bad value is reported at its own line
    // (a whole-trial decode stops at the first). The optimizer's name, data's set and the
    // schedule's kind stay with each of their section's keys: the others are read in their
    // light.
    var failed = false
    var reported = Set<String>()
    for section in SweepConfig.sections {
      guard case .map(let entries)? = trial[section] else { continue }
      let anchor = ["optimizer": "name", "data": "dataset", "schedule": "kind"][section] ?? ""
      for entry in entries {
        var single = ConfigValue.map([])
        var kept = entries.filter { $0.key == anchor && entry.key != anchor }
        kept.append(entry)
        single.set(.map(kept), at: [section])
        do {
          _ = try TrialFactory.decodeTrial(single, digests: digests)
        } catch let failure as TrialFactory.Failure {
          let (path, message) = splitFailure(failure.message)
          let at = path.isEmpty ? [section, entry.key] : path
          if reported.insert(at.joined(separator: ".") + message).inserted {
            issue(locate(at, in: byKey), at.joined(separator: "."), message)
          }
          failed = true
        } catch {
          issue(locate([section, entry.key], in: byKey), "\(section).\(entry.key)", "\(error)")
          failed = true
        }
      }
    }
    if case .string(let name)? = trial["optimizer"]?["name"], (try? OptimizerKind.named(name)) == nil {
      checkOptimizerName(.string(name), locate(["optimizer", "name"], in: byKey), "optimizer.name")
      failed = true
    }
    guard !failed else { return }
    // Optimizer hyperparameters are checked once here when the optimizer is fixed, and per
    // candidate optimizer in checkParameters when it is swept.
    do {
      let spec = try TrialFactory.decodeTrial(trial, digests: digests)
      for problem in spec.problems() {
        let (path, message) = splitProblem(problem)
        if path.isEmpty {
          issue(locate(["optimizer"], in: byKey), byKey["optimizer"] == nil ? "" : "optimizer", message)
        } else {
          issue(locate(path, in: byKey), path.joined(separator: "."), message)
        }
      }
    } catch let failure as TrialFactory.Failure {
      let (path, message) = splitFailure(failure.message)
      issue(locate(path, in: byKey), path.joined(separator: "."), message)
    } catch {
      issue(SourceLocation(line: 1, column: 1), "", "\(error)")
    }
  }

  func splitFailure(_ text: String) -> ([String], String) {
    guard let colon = text.range(of: ": ") else { return ([], text) }
    let path = text[..<colon.lowerBound]
    guard !path.contains(" ") else { return ([], text) }
    return (path.split(separator: ".").map(String.init), String(text[colon.upperBound...]))
  }

  /// Checks every parameter against what it addresses.
  mutating func checkParameters(_ spec: inout SweepSpec) {
    let allHyperparameters = Set(OptimizerKind.allCases.flatMap { $0.hyperparameters.map(\.name) }).sorted()
    // The swept optimizer's values first: later checks depend on them.
    if let swept = spec.parameters.first(where: { $0.path == "optimizer" }) {
      let path = "parameters.optimizer"
      switch swept.distribution {
      case .constant(let value):
        checkOptimizerName(value, swept.location, path)
      case .categorical(let values, _):
        for value in values { checkOptimizerName(value, swept.location, path) }
      default:
        issue(
          swept.location, path,
          "the optimizer is chosen by `value` or `values`, not a \(swept.distribution.name) distribution")
      }
    }
    let candidates = spec.candidateOptimizers.compactMap { OptimizerKind(rawValue: $0) }
    for parameter in spec.parameters where parameter.path != "optimizer" {
      let path = "parameters.\(parameter.path)"
      if probeValues(parameter.distribution).contains(.null) {
        // A null would silently mean the default: say so instead.
        issue(
          parameter.location, path,
          "null is not a value to sweep; to keep the base config's value in some trials, list that value itself"
        )
        continue
      }
      let heldOut = ["data.test", "data.test_path", "data.test_images", "data.test_labels", "data.refit"]
      if heldOut.contains(parameter.path) || (parameter.path == "data.seed" && spec.testsSelection) {
        // Which rows are test rows must not change between trials: one trial's test rows
        // would be another's training rows, and the selection would have seen them.
        issue(
          parameter.location, path,
          "the held-out test rows are fixed for the whole sweep: set \(parameter.path.dropFirst(5)) in the base data section, not as a parameter"
        )
        continue
      }
      if parameter.path == "seed" {
        // The trial's seed, swept (for paired comparisons across configurations).
        if probeValues(parameter.distribution).contains(where: {
          if case .int(let value) = $0 { return value < 0 }
          return true
        }) {
          issue(parameter.location, path, "the trial's seed is a whole number ≥ 0 (values or int_uniform)")
        }
        continue
      }
      if parameter.isHyperparameter {
        let accepting = candidates.filter { $0.hyperparameters.contains { $0.name == parameter.path } }
        // An unknown optimizer name is its own error; nothing accepts hyperparameters then.
        if candidates.isEmpty && !spec.candidateOptimizers.isEmpty { continue }
        if accepting.isEmpty {
          let owners = OptimizerKind.allCases.filter {
            $0.hyperparameters.contains { $0.name == parameter.path }
          }
          if owners.isEmpty {
            let aliases = [
              "learning_rate": "lr", "epsilon": "eps", "alpha": "rho", "beta_1": "beta1", "beta_2": "beta2",
              "decay": "weight_decay", "batch_size": "training.batch_size", "epochs": "training.epochs",
              "hidden": "model.hidden", "activation": "model.activation",
            ]
            let suggestion =
              aliases[parameter.path].map { " (did you mean '\($0)'?)" }
              ?? hint(parameter.path, allHyperparameters)
            issue(
              parameter.location, path,
              "not a hyperparameter of any optimizer nor a setting path\(suggestion); settings are written as data.…, model.…, training.… or schedule.…"
            )
          } else {
            issue(
              parameter.location, path,
              "no optimizer of this sweep (\(candidates.map(\.rawValue).joined(separator: ", "))) accepts '\(parameter.path)'; it belongs to \(owners.map(\.rawValue).joined(separator: ", "))"
            )
          }
          continue
        }
        for value in probeValues(parameter.distribution) {
          for kind in accepting {
            do {
              _ = try kind.resolve([parameter.path: hyperparameterValue(value)])
            } catch {
              issue(parameter.location, path, "value \(value) for \(kind.rawValue): \(error)")
              break
            }
          }
        }
        continue
      }
      let components = parameter.path.split(separator: ".").map(String.init)
      guard let root = components.first, SweepConfig.sections.contains(root), root != "optimizer",
        components.count >= 2
      else {
        issue(
          parameter.location, path,
          "not a setting path; paths start with data., model., training. or schedule. (bare names are optimizer hyperparameters)"
        )
        continue
      }
      let known: [String]? =
        root == "data"
        ? DataSpec.configKeys
        : root == "model"
          ? ModelSpec.configKeys
          : root == "training" ? SweepConfig.trainingKeys : nil
      if let known, components.count != 2 || !known.contains(components[1]) {
        issue(
          parameter.location, path,
          "\(root) has no setting '\(components.dropFirst().joined(separator: "."))'\(hint(components[1], known)); \(root) settings: \(known.joined(separator: ", "))"
        )
        continue
      }
      for value in probeValues(parameter.distribution) {
        var trial = spec.base
        trial.set(value, at: components)
        if case .map(let entries)? = trial["training"] {
          if let unknown = entries.first(where: { !SweepConfig.trainingKeys.contains($0.key) }) {
            issue(
              parameter.location, path,
              "training has no setting '\(unknown.key)'\(hint(unknown.key, SweepConfig.trainingKeys)); allowed: epochs, batch_size"
            )
            break
          }
        }
        do {
          let made = try TrialFactory.decodeTrial(trial, digests: digests)
          if let problem = made.problems().first {
            issue(parameter.location, path, "value \(value): \(problem)")
            break
          }
        } catch {
          issue(parameter.location, path, "value \(value): \(error)")
          break
        }
      }
    }
  }

  /// The most combinations `warnAboutCombinations` tries (the parse runs in the
  /// coordinator's loop on SUBMIT: a few milliseconds at most).
  static let combinationsTried = 512

  /// Values each passing alone can still be refused together (eve's `k_lower: 5` with
  /// `k_upper: 2`). Tries combinations of every parameter's probe values (a categorical's
  /// values, a range's ends) — all of them, or an evenly spread `combinationsTried` — and
  /// warns with the first refused one: such trials are recorded failed when drawn.
  mutating func warnAboutCombinations(_ spec: SweepSpec, at location: SourceLocation) {
    guard spec.parameters.count >= 2 else { return }
    let probes = spec.parameters.map { probeValues($0.distribution) }
    guard probes.allSatisfy({ !$0.isEmpty }) else { return }
    var total = 1
    for values in probes {
      let (product, overflow) = total.multipliedReportingOverflow(by: values.count)
      total = overflow ? Int.max : product
    }
    let tried = Swift.min(total, Self.combinationsTried)
    let stride = total / tried
    var refused = 0
    var example: String?
    for n in 0..<tried {
      var remainder = n * stride
      var assignment: [(String, ConfigValue)] = []
      for (parameter, values) in zip(spec.parameters, probes).reversed() {
        assignment.append((parameter.path, values[remainder % values.count]))
        remainder /= values.count
      }
      assignment.reverse()
      do {
        _ = try TrialFactory.make(base: spec.base, assignment: assignment, seed: 0, digests: digests)
      } catch {
        refused += 1
        if example == nil {
          example = "\(assignment.map { "\($0.0)=\($0.1)" }.joined(separator: ", ")): \(error)"
        }
      }
    }
    guard let example else { return }
    warnings.append(
      ConfigIssue(
        file: file, location: location, keyPath: "parameters",
        message:
          "\(refused) of \(tried) combinations of the swept values\(tried < total ? " tried" : "") are refused by the trainer, e.g. \(example); such trials are recorded failed and the sweep goes on"
      ))
  }

  mutating func checkOptimizerName(_ value: ConfigValue, _ location: SourceLocation, _ path: String) {
    guard case .string(let name) = value else {
      issue(location, path, "optimizer names are words, found \(value)")
      return
    }
    do { _ = try OptimizerKind.named(name) } catch { issue(location, path, "\(error)") }
  }

  /// Values that bound what a distribution produces: every categorical value, the ends of
  /// a range, a constant.
  func probeValues(_ distribution: Distribution) -> [ConfigValue] {
    switch distribution {
    case .constant(let value): return [value]
    case .categorical(let values, _): return values
    case .normal, .qNormal, .logNormal, .qLogNormal: return [distribution.value(at: 0.5)]
    default: return [distribution.value(at: 0), distribution.value(at: 1 - 0x1p-53)]
    }
  }

  func hyperparameterValue(_ value: ConfigValue) -> HyperparameterValue {
    switch value {
    case .bool(let b): return .flag(b)
    case .int(let i): return .number(Double(i))
    case .double(let d): return .number(d)
    case .string(let s): return .word(s)
    default: return .word(value.description)
    }
  }
}
