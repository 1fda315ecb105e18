import Foundation
import Programs
import Stopping
import Training
import Vocabulary

/// Parses and validates sweep configs (YAML, W&B-compatible where the keys overlap).
///
/// Every problem is collected, not just the first, each with file, line, column, key path,
/// what was wrong and what is allowed (with a did-you-mean for misspelt names).
public enum SweepConfig {
  static let topLevelKeys = [
    "name", "description", "method", "metric", "parameters", "run_cap", "early_terminate", "seed", "repeats",
    "max_attempts", "deterministic", "data", "model", "training", "schedule", "optimizer", "program",
    "command",
    "code", "resources", "max_seconds", "wandb",
  ]
  /// W&B keys that describe its own service; accepted with a warning.
  static let wandbOnlyKeys = ["project", "entity"]
  /// Keys that only W&B Launch or W&B's own sweep controller act on: a config that needs
  /// them cannot mean the same here, so each is an error that says where it belongs.
  static let launchKeys: [String: String] = [
    "controller":
      "`controller` chooses where W&B runs a sweep's search (its cloud or a local controller); sweepd's coordinator is the controller — remove it",
    "job": "`job` names a W&B Launch job; sweepd runs the config's `program`/`command` — give those instead",
    "image_uri":
      "`image_uri` names a container image for W&B Launch; sweepd runs the config's `program`/`command` on its workers — give those instead",
    "scheduler":
      "`scheduler` configures a W&B Launch sweep scheduler; sweepd's coordinator schedules the trials — remove it",
  ]
  static let methods = ["grid", "random", "bayes", "sobol", "tpe"]
  static let metricNames = MetricName.optimizable.map(\.rawValue)
  static let distributions = [
    "constant", "categorical", "uniform", "int_uniform", "q_uniform", "log_uniform", "q_log_uniform",
    "inv_log_uniform", "log_uniform_values", "q_log_uniform_values", "inv_log_uniform_values", "normal",
    "q_normal",
    "log_normal", "q_log_normal", "beta", "q_beta",
  ]
  static let sections = ["data", "model", "training", "schedule", "optimizer"]
  static let trainingKeys = ["epochs", "batch_size"]

  /// Reads and parses a file.
  /// Why `path` could not be read, naming it (not Foundation's sentence without a path).
  static func unreadable(_ path: String, _ error: Error) -> String {
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
      return "no such file: \(path)"
    }
    if isDirectory.boolValue { return "\(path) is a directory, not a sweep config" }
    if !FileManager.default.isReadableFile(atPath: path) { return "\(path) cannot be read (permission denied)" }
    return "\(path) cannot be read: \(error.localizedDescription)"
  }

  /// The most trials a sweep may plan (run_cap, and `sweepd extend`): a billion.
  public static let maximumRunCap = 1_000_000_000
  /// The most repeats (seeds) of one configuration.
  public static let maximumRepeats = 10_000_000

  public static func load(path: String, limits: ConfigLimits = ConfigLimits()) throws -> SweepSpec {
    let data: Data
    do {
      let attributes = try FileManager.default.attributesOfItem(atPath: path)
      if let size = attributes[.size] as? Int, size > limits.maximumBytes {
        throw ConfigErrors(issues: [
          ConfigIssue(
            file: path, location: SourceLocation(line: 1, column: 1), keyPath: "",
            message: "the file is \(size) bytes; a config may be at most \(limits.maximumBytes) bytes")
        ])
      }
      data = try Data(contentsOf: URL(fileURLWithPath: path))
    } catch let error as ConfigErrors {
      throw error
    } catch {
      throw ConfigErrors(issues: [
        ConfigIssue(
          file: path, location: SourceLocation(line: 1, column: 1), keyPath: "",
          message: unreadable(path, error))
      ])
    }
    guard let text = String(data: data, encoding: .utf8) else {
      throw ConfigErrors(issues: [
        ConfigIssue(
          file: path, location: SourceLocation(line: 1, column: 1), keyPath: "",
          message: "not UTF-8 text (binary data?); a config is YAML text")
      ])
    }
    return try parse(text: text, file: path, limits: limits)
  }

  /// Parses config text; `file` names it in errors. `dataDigests` (path → SHA-256) are the
  /// data files the submitting client uploaded: they need not exist here, and trials refer
  /// to them by digest.
  /// `checkingCombinations`: try the swept values' combinations against the trainer and
  /// warn (`warnAboutCombinations`, up to 512 trial specs built) — for a config a user wrote
  /// (`validate`, `submit`); a stored config read back (recovery, status, extend) skips it.
  public static func parse(
    text: String, file: String, limits: ConfigLimits = ConfigLimits(), dataDigests: [String: String] = [:],
    checkingCombinations: Bool = true
  ) throws -> SweepSpec {
    let tree: ConfigTree
    do {
      tree = try ConfigTreeBuilder.parse(text, limits: limits)
    } catch let failure as ConfigTreeBuilder.Failure {
      throw ConfigErrors(issues: [
        ConfigIssue(file: file, location: failure.location, keyPath: "", message: failure.message)
      ])
    }
    var parser = Parser(file: file)
    parser.checkingCombinations = checkingCombinations
    parser.lines = text.split(separator: "\n", omittingEmptySubsequences: false)
    var digests = dataDigests
    let codeDigest = digests.removeValue(forKey: SweepSpec.codeDigestKey)
    parser.digests = digests
    var spec = parser.parse(tree)
    spec?.codeDigest = codeDigest
    if !parser.issues.isEmpty || spec == nil {
      let order: (ConfigIssue, ConfigIssue) -> Bool = {
        ($0.location.line, $0.location.column) < ($1.location.line, $1.location.column)
      }
      throw ConfigErrors(issues: parser.issues.sorted(by: order), warnings: parser.warnings.sorted(by: order))
    }
    return spec!
  }

  struct Parser {
    let file: String
    var checkingCombinations = true
    var issues: [ConfigIssue] = []
    var warnings: [ConfigIssue] = []
    var digests: [String: String] = [:]
    /// The file's lines, to read a scalar as written (see `pyyamlText`).
    var lines: [Substring] = []
    /// `metric.target`, `metric.impute` and `metric.impute_while_running`, as parsed.
    var metricSettings: (target: Double?, impute: TPESampler.Impute, imputeWhileRunning: TPESampler.Impute?) =
      (
        nil, .worst, nil
      )
    var metricSettingsLocation: SourceLocation?

    init(file: String) { self.file = file }

    mutating func issue(_ location: SourceLocation, _ path: String, _ message: String) {
      issues.append(ConfigIssue(file: file, location: location, keyPath: path, message: message))
    }

    func hint(_ word: String, _ candidates: [String]) -> String { Self.hint(word, candidates) }

    static func hint(_ word: String, _ candidates: [String]) -> String {
      closestMatch(to: word, among: candidates).map { " (did you mean '\($0)'?)" } ?? ""
    }

    mutating func parse(_ tree: ConfigTree) -> SweepSpec? {
      guard let entries = tree.entries else {
        issue(
          tree.location, "",
          "a sweep config is a mapping of keys (method, parameters, …), not \(tree.kindDescription)")
        return nil
      }
      var byKey: [String: ConfigTree.Entry] = [:]
      for entry in entries {
        if Self.isTopLevel(entry.key) {
          byKey[entry.key] = entry
        } else if SweepConfig.wandbOnlyKeys.contains(entry.key) {
          warnings.append(
            ConfigIssue(
              file: file, location: entry.keyLocation, keyPath: entry.key,
              message: "W&B key ignored: it names a part of W&B's own service, which sweepd does not use"))
        } else if let why = SweepConfig.launchKeys[entry.key] {
          issue(entry.keyLocation, entry.key, why)
        } else {
          issue(
            entry.keyLocation, entry.key,
            "unknown key\(hint(entry.key, SweepConfig.topLevelKeys)); allowed: \(SweepConfig.topLevelKeys.joined(separator: ", "))"
          )
        }
      }

      if byKey["method"] == nil && byKey["parameters"] == nil {
        // Neither a method nor parameters: a single trial's config, not a sweep.
        issue(
          tree.location, "",
          "this is a trial config (no `method`, no `parameters`): run it with `sweepd train --config \(file)`; a sweep config names a `method` and the `parameters` to vary"
        )
        return nil
      }
      // A config naming the user's program (W&B's `program`/`command`) is a program sweep:
      // its parameters and metric are the program's own words.
      let isProgram = byKey["program"] != nil || byKey["command"] != nil
      var programSetup: ProgramSetup?
      if isProgram {
        programSetup = parseProgramSetup(byKey)
        if byKey["metric"] == nil {
          issue(
            tree.location, "metric",
            "a program sweep needs `metric: {name: …, goal: minimize|maximize}`: the value your program reports that trials are ranked by"
          )
        }
      } else {
        for key in Self.programOnlyKeys {
          guard let entry = byKey[key] else { continue }
          issue(
            entry.keyLocation, key,
            "`\(key)` applies to program sweeps (a config with `program` or `command`) only; the built-in trainer runs in the worker"
          )
        }
      }
      let name = text(byKey["name"], "name")
      let description = text(byKey["description"], "description")
      var methodName = "random"
      var method = SweepSpec.Method.random
      if byKey["method"] == nil {
        // W&B's schema requires a method; a sweep that silently became random search would
        // not be what its author chose.
        issue(
          tree.location, "method",
          "missing key 'method' (W&B requires it too); allowed: \(SweepConfig.methods.joined(separator: ", "))"
        )
      }
      if let entry = byKey["method"] {
        if let word = entry.value.string, SweepConfig.methods.contains(word) {
          methodName = word
          method = word == "bayes" ? .tpe : SweepSpec.Method(rawValue: word)!
        } else if entry.value.string == "custom" {
          issue(
            entry.value.location, "method",
            "method custom is W&B Launch's (a scheduler you write); sweepd searches itself — use grid, random, bayes, sobol or tpe"
          )
        } else {
          issue(
            entry.value.location, "method",
            "unknown method '\(entry.value.plain)'\(hint(entry.value.string ?? "", SweepConfig.methods)); allowed: \(SweepConfig.methods.joined(separator: ", "))"
          )
        }
      }
      let metric = parseMetric(byKey["metric"], anyName: isProgram)
      if method == .tpe && byKey["metric"] == nil && !isProgram, let entry = byKey["method"] {
        issue(
          entry.value.location, "metric",
          "\(methodName) search models the metric, and this config names none (W&B requires one too): add `metric: {name: val_loss, goal: minimize}`"
        )
      }
      let runCap = integer(byKey["run_cap"], "run_cap", minimum: 1, maximum: SweepConfig.maximumRunCap)
      let seed = integer(byKey["seed"], "seed", minimum: 0).map { UInt64($0) } ?? 0
      var repeats = 1
      var sharedSeeds = false
      if let entry = byKey["repeats"] {
        if let fields = entry.value.entries {
          let values = knownFields(fields, allowed: ["count", "seeds"], path: "repeats") { key in
            "not a setting of repeats\(Self.hint(key, ["count", "seeds"])); allowed: count, seeds"
          }
          if let count = values["count"] {
            repeats =
              integer(
                ConfigTree.Entry(key: "count", keyLocation: count.location, value: count), "repeats.count",
                minimum: 1, maximum: SweepConfig.maximumRepeats)
              ?? 1
          } else {
            issue(entry.keyLocation, "repeats", "needs `count` (how many seeds per configuration)")
          }
          if let seeds = values["seeds"] {
            if let word = seeds.string, ["shared", "independent"].contains(word) {
              sharedSeeds = word == "shared"
            } else {
              issue(
                seeds.location, "repeats.seeds",
                "expected shared (repeat r of every configuration has the same seed: paired comparisons) or independent (the default), found '\(seeds.plain)'"
              )
            }
          }
        } else {
          repeats = integer(entry, "repeats", minimum: 1, maximum: SweepConfig.maximumRepeats) ?? 1
        }
      }
      let maxAttempts = integer(byKey["max_attempts"], "max_attempts", minimum: 1, maximum: 1000) ?? 3
      let earlyTerminate = byKey["early_terminate"].flatMap { parseEarlyTermination($0.value) }
      var deterministicLag: Int? = nil
      if let entry = byKey["deterministic"] { deterministicLag = parseDeterministic(entry) }

      // The base trial: sections as written, checked by decoding each as the trial spec does.
      var base = ConfigValue.map([])
      for section in SweepConfig.sections where !isProgram {
        guard let entry = byKey[section] else { continue }
        if section == "optimizer", let word = entry.value.string {
          base.set(.map([ConfigValue.Entry(key: "name", value: .string(word))]), at: ["optimizer"])
          continue
        }
        guard entry.value.entries != nil else {
          issue(
            entry.value.location, section,
            "expected a mapping of settings, found \(entry.value.kindDescription)")
          continue
        }
        base.set(entry.value.plain, at: [section])
      }
      if !isProgram {
        if base["data"]?["seed"] == nil { base.set(.int(Int(seed)), at: ["data", "seed"]) }
        if base["data"]?["dataset"] == nil { base.set(.string("digits"), at: ["data", "dataset"]) }
        checkBase(base, byKey)
      }

      var parameters: [SweepSpec.Parameter] = []
      if let entry = byKey["parameters"] {
        if let specs = entry.value.entries {
          parameters = parseParameters(specs, under: [], program: isProgram)
        } else {
          issue(
            entry.value.location, "parameters",
            "expected a mapping from setting names to value specs, found \(entry.value.kindDescription)")
        }
      }
      var spec = SweepSpec(
        file: file, name: name, description: description, method: method, methodName: methodName,
        metric: metric ?? SweepSpec.Metric(name: "val_loss", goal: .minimize), runCap: runCap, seed: seed,
        repeats: repeats, maxAttempts: maxAttempts, earlyTerminate: earlyTerminate, base: base,
        parameters: parameters, warnings: warnings, deterministicLag: deterministicLag)
      spec.dataDigests = digests
      spec.program = programSetup
      spec.sharedSeeds = sharedSeeds
      (spec.target, spec.impute, spec.imputeWhileRunning) = metricSettings
      if spec.imputeWhileRunning != nil, deterministicLag != nil, let location = metricSettingsLocation {
        issue(
          location, "metric.impute_while_running",
          "TPE seeing trials still running depends on timing, which deterministic mode rules out; remove one of them"
        )
      }
      if isProgram { checkProgramParameters(spec) } else { checkParameters(&spec) }
      warnAboutSize(
        spec, at: byKey["repeats"]?.keyLocation ?? byKey["parameters"]?.keyLocation ?? tree.location)
      if let entry = byKey["early_terminate"] { warnIfNothingStops(spec, at: entry.keyLocation) }
      if checkingCombinations, !isProgram, issues.isEmpty, let entry = byKey["parameters"] {
        warnAboutCombinations(spec, at: entry.keyLocation)
      }
      spec.warnings = warnings
      if method == .sobol && spec.parameters.count > SobolSequence.maximumDimensions {
        issue(
          SourceLocation(line: 1, column: 1), "parameters",
          "sobol supports up to \(SobolSequence.maximumDimensions) parameters, this sweep has \(spec.parameters.count)"
        )
      }
      if method == .grid {
        for parameter in spec.parameters where parameter.distribution.gridCount == nil {
          issue(
            parameter.location, "parameters.\(parameter.path)",
            "grid search cannot enumerate a \(parameter.distribution.name) distribution; give `values` (or use int_uniform or q_uniform)"
          )
        }
      }
      return spec
    }

    /// Sizes no sweep means: a billion trials or more (a grid's product × repeats, before any
    /// run_cap), or a billion epochs per trial. Warnings: the config is valid, just absurd.
    mutating func warnAboutSize(_ spec: SweepSpec, at location: SourceLocation) {
      let plan = SweepPlan(spec: spec)
      if let size = plan.gridSize {
        let (all, overflow) = size.multipliedReportingOverflow(by: spec.repeats)
        if overflow || all >= 1_000_000_000, spec.runCap == nil {
          let count = overflow ? "more than \(Int.max)" : "\(all)"
          warnings.append(
            ConfigIssue(
              file: file, location: location, keyPath: spec.repeats > 1 ? "repeats" : "parameters",
              message:
                "this grid has \(count) trials (\(size) configurations × \(spec.repeats) repeats); at a second each that is \(Self.years(overflow ? Double(Int.max) : Double(all))) — set run_cap or fewer values"
            ))
        }
      }
      if spec.program == nil && spec.trialEpochs >= 1_000_000_000 {
        warnings.append(
          ConfigIssue(
            file: file, location: location, keyPath: "training.epochs",
            message: "trials run \(spec.trialEpochs) epochs each; a billion or more never ends in practice"))
      }
    }

    /// Hyperband judges trials at its bands only: when the first band is at or past the last
    /// epoch a built-in trial runs, no trial is ever stopped early (a program's last step is
    /// not known in advance, so its sweeps get no such warning).
    mutating func warnIfNothingStops(_ spec: SweepSpec, at location: SourceLocation) {
      guard spec.program == nil,
        case .hyperband(let minIter, let maxIter, let s, let eta, let strict)? = spec.earlyTerminate
      else { return }
      let rule = HyperbandRule(
        minIter: minIter, maxIter: maxIter, s: s, eta: eta, strict: strict, goal: .minimize)
      let epochs = spec.trialEpochs
      guard let first = rule.bands.first, first >= epochs else { return }
      let setting = minIter != nil && maxIter == nil ? "min_iter \(first)" : "max_iter and s give \(first)"
      warnings.append(
        ConfigIssue(
          file: file, location: location, keyPath: "early_terminate",
          message:
            "hyperband's first band is at epoch \(first) (\(setting)), but trials run \(epochs) epochs: no trial is ever stopped early; lower \(minIter != nil && maxIter == nil ? "min_iter" : "max_iter") below \(epochs)"
        ))
    }

    /// Seconds as years, roughly (`3.2 years`, `6.3 million years`).
    static func years(_ seconds: Double) -> String {
      let years = seconds / 31_557_600
      if years >= 1e6 { return String(format: "%.2g million years", years / 1e6) }
      if years >= 1 { return String(format: "%.2g years", years) }
      return String(format: "%.2g days", seconds / 86_400)
    }

    static func isTopLevel(_ key: String) -> Bool { SweepConfig.topLevelKeys.contains(key) }

    /// The fields whose keys are in `allowed`, by key; every other key is an issue at its
    /// own line, worded by `unknown`.
    mutating func knownFields(
      _ fields: [ConfigTree.Entry], allowed: [String], path: String, unknown: (String) -> String
    ) -> [String: ConfigTree] {
      var known: [String: ConfigTree] = [:]
      for field in fields {
        if allowed.contains(field.key) {
          known[field.key] = field.value
        } else {
          issue(field.keyLocation, "\(path).\(field.key)", unknown(field.key))
        }
      }
      return known
    }

    // MARK: Scalars

    mutating func text(_ entry: ConfigTree.Entry?, _ path: String) -> String? {
      guard let entry else { return nil }
      if let word = entry.value.string { return word }
      issue(entry.value.location, path, "expected text, found \(entry.value.kindDescription)")
      return nil
    }

    mutating func integer(_ entry: ConfigTree.Entry?, _ path: String, minimum: Int, maximum: Int = Int.max) -> Int? {
      guard let entry else { return nil }
      guard case .scalar(.int(let value), _) = entry.value else {
        issue(
          entry.value.location, path,
          "expected a whole number ≥ \(minimum), found \(entry.value.kindDescription) '\(entry.value.plain)'")
        return nil
      }
      guard value >= minimum else {
        issue(entry.value.location, path, "must be ≥ \(minimum), got \(value)")
        return nil
      }
      guard value <= maximum else {
        issue(entry.value.location, path, "must be at most \(maximum), got \(value)")
        return nil
      }
      return value
    }

    mutating func number(_ tree: ConfigTree, _ path: String) -> Double? {
      guard let value = tree.number, value.isFinite else {
        issue(tree.location, path, "expected a number, found \(tree.kindDescription) '\(tree.plain)'")
        return nil
      }
      return value
    }

    /// `deterministic: true | false | {lag: L}` (L ≥ 0) → the lag, or nil when off.
    mutating func parseDeterministic(_ entry: ConfigTree.Entry) -> Int? {
      if let flag = entry.value.bool { return flag ? SweepSpec.defaultDeterministicLag : nil }
      guard let fields = entry.value.entries else {
        issue(
          entry.value.location, "deterministic",
          "expected true, false or {lag: N}, found \(entry.value.kindDescription) '\(entry.value.plain)'")
        return nil
      }
      let values = knownFields(fields, allowed: ["lag"], path: "deterministic") { key in
        "not a setting of deterministic\(Self.hint(key, ["lag"])); allowed: lag"
      }
      guard let lag = values["lag"] else { return SweepSpec.defaultDeterministicLag }
      return integer(
        ConfigTree.Entry(key: "lag", keyLocation: lag.location, value: lag), "deterministic.lag", minimum: 0)
    }

    // MARK: Metric and early termination

    /// `anyName`: a program sweep's metric is whatever its program reports.
    mutating func parseMetric(_ entry: ConfigTree.Entry?, anyName: Bool = false) -> SweepSpec.Metric? {
      guard let entry else { return nil }
      guard let fields = entry.value.entries else {
        issue(
          entry.value.location, "metric",
          "expected {name: …, goal: minimize|maximize}, found \(entry.value.kindDescription)")
        return nil
      }
      var name = MetricName.valLoss
      var goal = SweepSpec.Goal.minimize
      var goalGiven = false
      for field in fields {
        switch field.key {
        case "name":
          if let word = field.value.string,
            SweepConfig.metricNames.contains(word) || (anyName && !word.isEmpty)
          {
            name = MetricName(word)
          } else if anyName {
            issue(
              field.value.location, "metric.name",
              "expected the name of a value your program reports (text such as val_loss), found \(field.value.kindDescription) '\(field.value.plain)'"
            )
          } else if let word = field.value.string, word.hasPrefix("test_") {
            // Choosing by the test rows would make them validation rows: refused.
            issue(
              field.value.location, "metric.name",
              "'\(word)' is measured once, on held-out rows, after the search has chosen; a sweep chooses by validation: use '\(word.replacingOccurrences(of: "test_", with: "val_"))' (data.test holds the test rows out)"
            )
          } else {
            issue(
              field.value.location, "metric.name",
              "unknown metric '\(field.value.plain)'\(hint(field.value.string ?? "", SweepConfig.metricNames)); sweepd records: \(SweepConfig.metricNames.joined(separator: ", "))"
            )
          }
        case "goal":
          if let word = field.value.string, let value = SweepSpec.Goal(rawValue: word) {
            goal = value
            goalGiven = true
          } else {
            issue(
              field.value.location, "metric.goal",
              "expected minimize or maximize, found '\(field.value.plain)'")
          }
        case "target":
          metricSettings.target = number(field.value, "metric.target")
        case "impute", "impute_while_running":
          let words = TPESampler.Impute.allCases.map(\.rawValue) + (field.key == "impute" ? [] : ["false"])
          if field.key == "impute_while_running", field.value.bool == false {
            metricSettings.imputeWhileRunning = nil
          } else if let word = field.value.string, words.contains(word) {
            if field.key == "impute" {
              metricSettings.impute = TPESampler.Impute(rawValue: word)!
            } else {
              metricSettings.imputeWhileRunning = TPESampler.Impute(rawValue: word)
              metricSettingsLocation = field.keyLocation
            }
          } else {
            issue(
              field.value.location, "metric.\(field.key)",
              "expected one of \(words.joined(separator: ", ")), found '\(field.value.plain)'\(hint(field.value.string ?? "", words))"
            )
          }
        default:
          let keys = ["name", "goal", "target", "impute", "impute_while_running"]
          issue(
            field.keyLocation, "metric.\(field.key)",
            "unknown key\(hint(field.key, keys)); allowed: \(keys.joined(separator: ", "))")
        }
      }
      // W&B's default goal is minimize, whatever the name; a name that reads as "higher is
      // better" without a goal is probably a mistake worth a warning.
      if !goalGiven, Self.soundsMaximized(name.rawValue) {
        warnings.append(
          ConfigIssue(
            file: file, location: entry.keyLocation, keyPath: "metric.goal",
            message:
              "no goal: minimizing \(name.rawValue), as W&B does by default; add `goal: maximize` if higher is better"
          ))
      }
      return SweepSpec.Metric(name: name, goal: goal)
    }

    /// Whether a metric's name reads as "higher is better" (accuracy, AUC, F1, reward, …):
    /// one of its words (split at anything not a letter or digit) is such a word.
    static func soundsMaximized(_ name: String) -> Bool {
      let words = name.lowercased().split { !($0.isLetter || $0.isNumber) }.map(String.init)
      let higherIsBetter: Set<String> = [
        "accuracy", "acc", "auc", "auroc", "f1", "precision", "recall", "score", "reward", "rewards",
        "return",
        "map", "iou", "miou", "dice", "bleu", "rouge", "r2", "top1", "top5", "ndcg", "mrr", "sharpe",
      ]
      return words.contains { higherIsBetter.contains($0) }
    }

    mutating func parseEarlyTermination(_ tree: ConfigTree) -> SweepSpec.EarlyTermination? {
      guard let fields = tree.entries else {
        issue(tree.location, "early_terminate", "expected {type: …, …}, found \(tree.kindDescription)")
        return nil
      }
      let types = ["hyperband", "plateau", "median", "asha"]
      guard let typeField = fields.first(where: { $0.key == "type" }) else {
        issue(
          tree.location, "early_terminate", "missing key 'type' (one of \(types.joined(separator: ", ")))")
        return nil
      }
      guard let type = typeField.value.string, types.contains(type) else {
        issue(
          typeField.value.location, "early_terminate.type",
          "unknown type '\(typeField.value.plain)'\(hint(typeField.value.string ?? "", types)); allowed: \(types.joined(separator: ", "))"
        )
        return nil
      }
      let allowed: [String]
      switch type {
      case "hyperband": allowed = ["type", "min_iter", "max_iter", "s", "eta", "strict"]
      case "plateau": allowed = ["type", "patience", "min_delta", "mode", "min_epochs", "restore_best"]
      case "median": allowed = ["type", "min_trials", "grace_epochs", "compare"]
      default: allowed = ["type", "min_epochs", "max_epochs", "eta"]
      }
      let values = knownFields(fields, allowed: allowed, path: "early_terminate") { key in
        "not a setting of \(type)\(Self.hint(key, allowed)); allowed: \(allowed.dropFirst().joined(separator: ", "))"
      }
      func whole(_ key: String, _ minimum: Int, _ fallback: Int?) -> Int? {
        guard let tree = values[key] else { return fallback }
        guard let value = tree.integer, case .scalar(.int, _) = tree else {
          issue(
            tree.location, "early_terminate.\(key)",
            "expected a whole number ≥ \(minimum), found '\(tree.plain)'")
          return fallback
        }
        if value < minimum {
          issue(tree.location, "early_terminate.\(key)", "must be ≥ \(minimum), got \(value)")
        }
        return value
      }
      func real(_ key: String, _ fallback: Double, above minimum: Double) -> Double {
        guard let tree = values[key] else { return fallback }
        guard let value = tree.number else {
          issue(tree.location, "early_terminate.\(key)", "expected a number, found '\(tree.plain)'")
          return fallback
        }
        if !(value > minimum) {
          issue(
            tree.location, "early_terminate.\(key)",
            "must be > \(formatNumber(minimum)), got \(formatNumber(value))")
        }
        return value
      }
      func flag(_ key: String, default fallback: Bool = false) -> Bool {
        guard let tree = values[key] else { return fallback }
        guard let value = tree.bool else {
          issue(tree.location, "early_terminate.\(key)", "expected true or false, found '\(tree.plain)'")
          return false
        }
        return value
      }
      switch type {
      case "hyperband":
        let minIter = whole("min_iter", 1, nil), maxIter = whole("max_iter", 1, nil), s = whole("s", 1, nil)
        if minIter == nil && (maxIter == nil || s == nil) {
          issue(tree.location, "early_terminate", "hyperband needs min_iter, or max_iter and s")
        }
        return .hyperband(
          minIter: minIter, maxIter: maxIter, s: s, eta: real("eta", 3, above: 1),
          // W&B's schema has defaulted `strict` to true (the original algorithm's rule).
          strict: flag("strict", default: true))
      case "plateau":
        var relative = false
        if let mode = values["mode"] {
          if let word = mode.string, word == "rel" || word == "abs" {
            relative = word == "rel"
          } else {
            issue(mode.location, "early_terminate.mode", "expected abs or rel, found '\(mode.plain)'")
          }
        }
        var minDelta = 0.0
        if let tree = values["min_delta"] {
          if let value = tree.number, value >= 0 {
            minDelta = value
          } else {
            issue(tree.location, "early_terminate.min_delta", "expected a number ≥ 0, found '\(tree.plain)'")
          }
        }
        return .plateau(
          patience: whole("patience", 1, 5) ?? 5, minDelta: minDelta, relative: relative,
          minEpochs: whole("min_epochs", 0, 0) ?? 0, restoreBest: flag("restore_best"))
      case "median":
        var compare = MedianStoppingRule.Comparison.runningAverage
        if let tree = values["compare"] {
          if let word = tree.string, let chosen = MedianStoppingRule.Comparison(rawValue: word) {
            compare = chosen
          } else {
            issue(
              tree.location, "early_terminate.compare",
              "expected running_average or step, found '\(tree.plain)'")
          }
        }
        return .median(
          minTrials: whole("min_trials", 1, 5) ?? 5, graceEpochs: whole("grace_epochs", 0, 5) ?? 5,
          compare: compare)
      default:
        let minEpochs = whole("min_epochs", 1, 1) ?? 1
        let maxEpochs = whole("max_epochs", 1, nil)
        if let maxEpochs, maxEpochs < minEpochs {
          issue(
            values["max_epochs"]!.location, "early_terminate.max_epochs",
            "must be ≥ min_epochs (\(minEpochs)), got \(maxEpochs)")
        }
        return .asha(minEpochs: minEpochs, maxEpochs: maxEpochs, eta: real("eta", 3, above: 1))
      }
    }

    // MARK: Distributions

    /// The parameters of a `parameters` mapping, in file order, with W&B's nested parameters
    /// (`optimizer: {parameters: {lr: …, nadam: {parameters: {beta: …}}}}`) as leaves named by
    /// their dotted path (`optimizer.lr`, `optimizer.nadam.beta`). A built-in sweep's leaf
    /// path is its setting path (`model: {parameters: {hidden: …}}` is `model.hidden`); a
    /// program receives each top key as a dict of its leaves, as W&B's agent passes it.
    mutating func parseParameters(_ specs: [ConfigTree.Entry], under nesting: [String], program: Bool)
      -> [SweepSpec.Parameter]
    {
      var parameters: [SweepSpec.Parameter] = []
      for parameter in specs {
        let keys = nesting + [parameter.key]
        let name = keys.joined(separator: ".")
        let keyPath = "parameters." + keys.joined(separator: ".parameters.")
        if let fields = parameter.value.entries, let inner = fields.first(where: { $0.key == "parameters" }) {
          for other in fields where other.key != "parameters" {
            issue(
              other.keyLocation, "\(keyPath).\(other.key)",
              "a nested parameter holds only `parameters` (its own parameters, each with values or a distribution); move `\(other.key)` into one of them"
            )
          }
          guard let children = inner.value.entries, !children.isEmpty else {
            issue(
              inner.value.location, "\(keyPath).parameters",
              "expected a mapping of nested parameters such as {lr: {values: [0.01, 0.1]}}, found \(inner.value.kindDescription)"
            )
            continue
          }
          parameters += parseParameters(children, under: keys, program: program)
          continue
        }
        guard let distribution = parseDistribution(parameter, keyPath: keyPath, program: program) else {
          continue
        }
        parameters.append(
          SweepSpec.Parameter(
            path: name, distribution: distribution, location: parameter.keyLocation,
            nesting: nesting.isEmpty ? nil : keys))
      }
      guard nesting.isEmpty else { return parameters }
      // A dotted name and a nested leaf may spell the same path (`optimizer.lr` both ways).
      var first: [String: SweepSpec.Parameter] = [:]
      for parameter in parameters {
        if let earlier = first[parameter.path] {
          issue(
            parameter.location, "parameters.\(parameter.path)",
            "'\(parameter.path)' is swept twice (also at line \(earlier.location.line)); keep one")
        } else {
          first[parameter.path] = parameter
        }
      }
      return parameters
    }

    /// `program`: a program sweep's parameter (whose name is its own, not a setting path).
    mutating func parseDistribution(_ entry: ConfigTree.Entry, keyPath: String? = nil, program: Bool = false)
      -> Distribution?
    {
      let path = keyPath ?? "parameters.\(entry.key)"
      guard let fields = entry.value.entries else {
        issue(
          entry.value.location, path,
          "expected a value spec such as {values: […]}, {value: …} or {min: …, max: …}, found \(entry.value.kindDescription)"
        )
        return nil
      }
      let allowed = [
        "value", "values", "probabilities", "distribution", "min", "max", "q", "mu", "sigma", "a", "b",
        "parameters",
      ]
      let f = knownFields(fields, allowed: allowed, path: path) { key in
        "unknown key\(Self.hint(key, allowed)); allowed: \(allowed.joined(separator: ", "))"
      }
      var kind: String
      if let given = f["distribution"] {
        guard let word = given.string, SweepConfig.distributions.contains(word) else {
          issue(
            given.location, "\(path).distribution",
            "unknown distribution '\(given.plain)'\(hint(given.string ?? "", SweepConfig.distributions)); allowed: \(SweepConfig.distributions.joined(separator: ", "))"
          )
          return nil
        }
        kind = word
      } else if f["value"] != nil {
        kind = "constant"
      } else if f["values"] != nil {
        kind = "categorical"
      } else if let low = f["min"], let high = f["max"] {
        if case .scalar(.int, _) = low, case .scalar(.int, _) = high {
          kind = "int_uniform"
        } else {
          kind = "uniform"
        }
      } else {
        issue(
          entry.keyLocation, path,
          "needs `value`, `values`, or `min` and `max` (with an optional `distribution`)")
        return nil
      }
      let needs: [String: [String]] = [
        "constant": ["value"], "categorical": ["values"], "uniform": ["min", "max"],
        "int_uniform": ["min", "max"],
        "q_uniform": ["min", "max"], "log_uniform": ["min", "max"], "q_log_uniform": ["min", "max"],
        "inv_log_uniform": ["min", "max"], "log_uniform_values": ["min", "max"],
        "q_log_uniform_values": ["min", "max"], "inv_log_uniform_values": ["min", "max"], "normal": [],
        "q_normal": [], "log_normal": [], "q_log_normal": [], "beta": [], "q_beta": [],
      ]
      let accepts: [String: [String]] = [
        "constant": ["value"], "categorical": ["values", "probabilities"], "uniform": ["min", "max"],
        "int_uniform": ["min", "max"], "q_uniform": ["min", "max", "q"], "log_uniform": ["min", "max"],
        "q_log_uniform": ["min", "max", "q"], "inv_log_uniform": ["min", "max"],
        "log_uniform_values": ["min", "max"], "q_log_uniform_values": ["min", "max", "q"],
        "inv_log_uniform_values": ["min", "max"], "normal": ["mu", "sigma"],
        "q_normal": ["mu", "sigma", "q"],
        "log_normal": ["mu", "sigma"], "q_log_normal": ["mu", "sigma", "q"], "beta": ["a", "b"],
        "q_beta": ["a", "b", "q"],
      ]
      var complete = true
      for key in needs[kind]! where f[key] == nil {
        issue(entry.keyLocation, path, "distribution \(kind) needs `\(key)`")
        complete = false
      }
      for field in fields
      where allowed.contains(field.key) && field.key != "distribution" && !accepts[kind]!.contains(field.key)
      {
        issue(
          field.keyLocation, "\(path).\(field.key)",
          "not used by distribution \(kind), which takes: \(accepts[kind]!.joined(separator: ", "))")
        complete = false
      }
      guard complete else { return nil }
      if program { warnWherePyYAMLReadsText(f, path) }

      switch kind {
      case "constant":
        return .constant(f["value"]!.plain)
      case "categorical":
        guard let items = f["values"]!.items else {
          issue(
            f["values"]!.location, "\(path).values", "expected a list, found \(f["values"]!.kindDescription)")
          return nil
        }
        guard !items.isEmpty else {
          issue(f["values"]!.location, "\(path).values", "is empty; give at least one value")
          return nil
        }
        var probabilities: [Double]?
        if let given = f["probabilities"] {
          guard let list = given.items, list.count == items.count, list.allSatisfy({ ($0.number ?? -1) >= 0 })
          else {
            issue(
              given.location, "\(path).probabilities",
              "expected \(items.count) numbers ≥ 0, one per value")
            return nil
          }
          let values = list.map { $0.number! }
          let total = values.reduce(0, +)
          guard abs(total - 1) < 1e-6 else {
            issue(
              given.location, "\(path).probabilities", "must sum to 1, they sum to \(formatNumber(total))")
            return nil
          }
          probabilities = values
        }
        return .categorical(items.map(\.plain), probabilities: probabilities)
      case "normal", "q_normal", "log_normal", "q_log_normal":
        let mu = f["mu"].flatMap { number($0, "\(path).mu") } ?? 0
        let sigma = f["sigma"].flatMap { number($0, "\(path).sigma") } ?? 1
        guard sigma > 0 else {
          issue(f["sigma"]!.location, "\(path).sigma", "must be > 0, got \(formatNumber(sigma))")
          return nil
        }
        if kind == "normal" { return .normal(mu: mu, sigma: sigma) }
        if kind == "log_normal" { return .logNormal(mu: mu, sigma: sigma) }
        guard let q = quantum(f, path) else { return nil }
        return kind == "q_normal"
          ? .qNormal(mu: mu, sigma: sigma, q: q) : .qLogNormal(mu: mu, sigma: sigma, q: q)
      case "beta", "q_beta":
        // W&B's defaults: a = b = 1 (the uniform distribution on [0, 1]).
        var shape: [Double] = []
        for key in ["a", "b"] {
          guard let tree = f[key] else {
            shape.append(1)
            continue
          }
          guard let value = number(tree, "\(path).\(key)") else { return nil }
          guard value > 0, value.isFinite else {
            issue(
              tree.location, "\(path).\(key)",
              "must be a number > 0 (a shape of the beta distribution), got \(formatNumber(value))")
            return nil
          }
          shape.append(value)
        }
        if kind == "beta" { return .beta(a: shape[0], b: shape[1]) }
        guard let q = quantum(f, path) else { return nil }
        return .qBeta(a: shape[0], b: shape[1], q: q)
      default:
        guard let low = number(f["min"]!, "\(path).min"), let high = number(f["max"]!, "\(path).max") else {
          return nil
        }
        guard low < high || (kind == "int_uniform" && low == high) else {
          issue(
            f["min"]!.location, "\(path).min",
            "min (\(formatNumber(low))) must be less than max (\(formatNumber(high)))")
          return nil
        }
        switch kind {
        case "uniform": return .uniform(min: low, max: high)
        case "int_uniform":
          guard let a = f["min"]!.integer, let b = f["max"]!.integer, case .scalar(.int, _) = f["min"]!,
            case .scalar(.int, _) = f["max"]!
          else {
            issue(f["min"]!.location, "\(path).min", "int_uniform needs whole-number min and max")
            return nil
          }
          // Within ±2^53: every value is a Double exactly, and max − min + 1 cannot overflow.
          let bound: UInt = 1 << 53
          guard a.magnitude <= bound, b.magnitude <= bound else {
            let key = a.magnitude > bound ? "min" : "max"
            issue(
              f[key]!.location, "\(path).\(key)",
              "int_uniform bounds must lie within ±\(bound) (2^53), got \(a.magnitude > bound ? a : b)")
            return nil
          }
          return .intUniform(min: a, max: b)
        case "q_uniform":
          guard let q = quantum(f, path) else { return nil }
          return .qUniform(min: low, max: high, q: q)
        case "log_uniform", "q_log_uniform", "inv_log_uniform":
          warnIfExponentsLookLikeValues(kind, low, high, at: f["min"]!.location, path)
          if kind == "q_log_uniform" {
            guard let q = quantum(f, path) else { return nil }
            return .qLogUniform(min: low, max: high, q: q)
          }
          return kind == "log_uniform"
            ? .logUniform(min: low, max: high) : .invLogUniform(min: low, max: high)
        default:
          guard low > 0 else {
            issue(
              f["min"]!.location, "\(path).min",
              "\(kind) needs min > 0 (it is a value, not an exponent), got \(formatNumber(low))\(kind == "log_uniform_values" ? "; for exponents use log_uniform" : "")"
            )
            return nil
          }
          if kind == "log_uniform_values" { return .logUniformValues(min: low, max: high) }
          if kind == "inv_log_uniform_values" { return .invLogUniformValues(min: low, max: high) }
          guard let q = quantum(f, path) else { return nil }
          return .qLogUniformValues(min: low, max: high, q: q)
        }
      }
    }

    /// W&B reads configs with PyYAML, whose YAML 1.1 rules read a number without a dot
    /// (`1e-5`, `1E3`) or with an unsigned exponent (`1.0e5`) as text; sweepd's YAML 1.2
    /// reader reads a number. Where that changes what the program receives (a `value` or one
    /// of the `values`), or makes W&B refuse the config (a bound), say so.
    mutating func warnWherePyYAMLReadsText(_ fields: [String: ConfigTree], _ path: String) {
      for (key, tree) in fields.sorted(by: { $0.key < $1.key }) {
        let scalars = key == "values" ? tree.items ?? [] : [tree]
        for scalar in scalars {
          guard let written = pyyamlText(scalar) else { continue }
          let consequence =
            ["value", "values"].contains(key)
            ? "so under W&B the program receives the string '\(written)' where sweepd passes the number \(PythonText.str(scalar.plain))"
            : "so W&B refuses this config (\(key) must be a number) where sweepd reads \(PythonText.str(scalar.plain))"
          warnings.append(
            ConfigIssue(
              file: file, location: scalar.location, keyPath: "\(path).\(key)",
              message:
                "W&B's YAML loader (PyYAML) reads \(written) as text, not a number (it needs a dot and a signed exponent, as in \(Self.pyyamlNumber(written))), \(consequence); write \(Self.pyyamlNumber(written)) to mean the same in both"
            ))
        }
      }
    }

    /// A number scalar's text as written, when PyYAML (YAML 1.1) would read that text as a
    /// string; nil otherwise (not a number, or a number in both).
    func pyyamlText(_ tree: ConfigTree) -> String? {
      guard case .scalar(let scalar, let location) = tree, location.line >= 1, location.line <= lines.count
      else { return nil }
      switch scalar {
      case .int, .double: break
      default: return nil
      }
      let line = lines[location.line - 1]
      guard location.column >= 1, location.column <= line.count else { return nil }
      let written = String(
        line.dropFirst(location.column - 1).prefix { !",]}#".contains($0) && !$0.isWhitespace })
      guard !written.isEmpty, !written.hasPrefix("\""), !written.hasPrefix("'") else { return nil }
      // PyYAML's resolver: floats need a dot (or are .inf/.nan); exponents need a sign.
      let float =
        #/[-+]?([0-9][0-9_]*)\.[0-9_]*([eE][-+][0-9]+)?|\.[0-9_]+([eE][-+][0-9]+)?|[-+]?\.(inf|Inf|INF)|\.(nan|NaN|NAN)/#
      let int = #/[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+/#
      if written.wholeMatch(of: float) != nil || written.wholeMatch(of: int) != nil { return nil }
      return written
    }

    /// The same number written so PyYAML reads a number: `1e-5` → `1.0e-5`, `1.5e3` →
    /// `1.5e+3`.
    static func pyyamlNumber(_ written: String) -> String {
      var mantissa = written, exponent = ""
      if let e = written.firstIndex(where: { $0 == "e" || $0 == "E" }) {
        mantissa = String(written[..<e])
        exponent = String(written[written.index(after: e)...])
        if !exponent.hasPrefix("-") && !exponent.hasPrefix("+") { exponent = "+" + exponent }
        exponent = String(written[e]) + exponent
      }
      if !mantissa.contains(".") { mantissa += ".0" }
      return mantissa + exponent
    }

    /// `log_uniform`, `q_log_uniform` and `inv_log_uniform` take natural-log exponents (as in
    /// W&B). Bounds that are positive and a decade or more apart (`min: 0.0001, max: 0.1`),
    /// or whose exponential overflows, were almost certainly meant as values: a warning that
    /// shows the values they give and names the `_values` form.
    mutating func warnIfExponentsLookLikeValues(
      _ kind: String, _ low: Double, _ high: Double, at location: SourceLocation, _ path: String
    ) {
      guard (low > 0 && high / low >= 10) || high > 700 else { return }
      let inverse = kind == "inv_log_uniform"
      let from = inverse ? exp(-high) : exp(low), to = inverse ? exp(-low) : exp(high)
      func short(_ x: Double) -> String { String(format: "%.4g", x) }
      let range =
        inverse
        ? "e^-\(formatNumber(high)) = \(short(from)) to e^-\(formatNumber(low)) = \(short(to))"
        : "e^\(formatNumber(low)) = \(short(from)) to e^\(formatNumber(high)) = \(short(to))"
      warnings.append(
        ConfigIssue(
          file: file, location: location, keyPath: "\(path).min",
          message:
            "\(kind) takes natural-log exponents (as in W&B), so values run from \(range); for values between \(formatNumber(low)) and \(formatNumber(high)) use \(kind)_values"
        ))
    }

    mutating func quantum(_ f: [String: ConfigTree], _ path: String) -> Double? {
      guard let tree = f["q"] else { return 1 }
      guard let q = number(tree, "\(path).q") else { return nil }
      guard q > 0 else {
        issue(tree.location, "\(path).q", "must be > 0, got \(formatNumber(q))")
        return nil
      }
      return q
    }
  }
}
