import Foundation
import Programs
import Vocabulary

/// How a program sweep runs its trials: the parts of a config that name the user's own
/// training program (W&B's `program` and `command`), where its code comes from, and what
/// each trial may use.
public struct ProgramSetup: Hashable, Sendable {
  /// `program`: the script `${program}` names (relative to the code directory).
  public var program: String?
  /// `command`: the command line template (nil: W&B's default).
  public var command: [String]?
  /// `code.dir`: the directory snapshotted and sent with the sweep, relative to the config
  /// file (default: the config file's directory).
  public var codeDirectory: String?
  /// `code.exclude`: glob patterns left out of the snapshot (besides `.git` and what
  /// `.gitignore` ignores).
  public var codeExclude: [String] = []
  /// `code: false`: send no code; the program must already be where workers run it.
  public var sendsCode = true
  /// `max_seconds`: each attempt's wall-clock limit; nil: none.
  public var maxSeconds: Double?
  /// `resources.cores` (default 1) and `resources.gpus` (default 0), per trial.
  public var cores = 1
  public var gpus = 0
  /// `wandb: real`: Python programs import W&B's own package instead of sweepd's `wandb`
  /// module (`wandb: sweepd`, the default).
  public var realWandb = false
}

extension SweepConfig {
  /// W&B's rule for parameter names (its sweep config schema), which the corpus of real
  /// configs also uses with `/` (`eval/loss`).
  static func isValidProgramParameterName(_ name: String) -> Bool {
    guard let first = name.unicodeScalars.first,
      first == "_" || (first.isASCII && first.properties.isAlphabetic)
    else { return false }
    return name.unicodeScalars.allSatisfy {
      $0.isASCII
        && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || "_.-/".unicodeScalars.contains($0))
    }
  }
}

extension SweepConfig.Parser {
  /// The keys only a program sweep takes.
  static let programOnlyKeys = ["code", "resources", "max_seconds", "wandb"]

  /// Reads `program`, `command`, `code`, `resources` and `max_seconds` of a program sweep,
  /// and says why each built-in section does not belong in one.
  mutating func parseProgramSetup(_ byKey: [String: ConfigTree.Entry]) -> ProgramSetup {
    var setup = ProgramSetup()
    for section in SweepConfig.sections {
      guard let entry = byKey[section] else { continue }
      issue(
        entry.keyLocation, section,
        "`\(section)` configures sweepd's built-in trainer, but this sweep runs your program (it has `program`/`command`); pass settings to the program as `parameters`, or remove `program` and `command` to use the built-in trainer"
      )
    }
    if let entry = byKey["program"] {
      if let word = entry.value.string, !word.isEmpty {
        setup.program = word
      } else {
        issue(
          entry.value.location, "program",
          "expected the program to run (a path such as train.py), found \(entry.value.kindDescription) '\(entry.value.plain)'"
        )
      }
    }
    if let entry = byKey["command"] {
      if let items = entry.value.items, !items.isEmpty {
        var command: [String] = []
        for item in items {
          guard case .scalar = item, item.plain != .null else {
            issue(
              item.location, "command", "each element is one argument (text), found \(item.kindDescription)")
            continue
          }
          let word = item.string ?? item.plain.description
          command.append(word)
          if word.hasPrefix("${") && word.hasSuffix("}") && !word.hasPrefix("${envvar:") {
            let macro = String(word.dropFirst(2).dropLast())
            if !ProgramCommand.macros.contains(macro) {
              warnings.append(
                ConfigIssue(
                  file: file, location: item.location, keyPath: "command",
                  message:
                    "unknown macro '\(word)' expands to nothing (as in W&B)\(closestMatch(to: macro, among: ProgramCommand.macros).map { " (did you mean '${\($0)}'?)" } ?? ""); known: \(ProgramCommand.macros.map { "${\($0)}" }.joined(separator: ", "))"
                ))
            }
          }
        }
        setup.command = command
        if setup.program == nil && command.contains("${program}") {
          issue(
            entry.keyLocation, "command",
            "uses ${program}, but the config names no `program`; add `program: train.py` or write the script's name in the command"
          )
        }
      } else {
        issue(
          entry.value.location, "command",
          "expected a list of arguments such as [\"${env}\", \"python\", \"${program}\", \"${args}\"], found \(entry.value.kindDescription)"
        )
      }
    }
    if let entry = byKey["code"] { parseCode(entry, into: &setup) }
    if let entry = byKey["wandb"] {
      if let word = entry.value.string, ["real", "sweepd"].contains(word) {
        setup.realWandb = word == "real"
      } else {
        issue(
          entry.value.location, "wandb",
          "expected sweepd (the default: Python programs import sweepd's wandb module) or real (W&B's own package), found '\(entry.value.plain)'"
        )
      }
    }
    if let entry = byKey["max_seconds"] {
      if let value = entry.value.number, value.isFinite, value > 0 {
        setup.maxSeconds = value
      } else {
        issue(
          entry.value.location, "max_seconds",
          "expected a number of seconds > 0, found \(entry.value.kindDescription) '\(entry.value.plain)'")
      }
    }
    if let entry = byKey["resources"] {
      if let fields = entry.value.entries {
        let values = knownFields(fields, allowed: ["cores", "gpus"], path: "resources") { key in
          // Other tools' words for cores (Ray's `cpu`, Slurm's `cpus-per-task`) mean ours.
          let hint =
            ["cpu", "cpus", "threads", "cpus_per_task", "cpus-per-task"].contains(key.lowercased())
            ? " (did you mean 'cores'?)" : Self.hint(key, ["cores", "gpus"])
          return "not a resource\(hint); allowed: cores, gpus"
        }
        if let tree = values["cores"] {
          setup.cores =
            integer(
              ConfigTree.Entry(key: "cores", keyLocation: tree.location, value: tree), "resources.cores",
              minimum: 1)
            ?? 1
        }
        if let tree = values["gpus"] {
          setup.gpus =
            integer(
              ConfigTree.Entry(key: "gpus", keyLocation: tree.location, value: tree), "resources.gpus",
              minimum: 0)
            ?? 0
        }
      } else {
        issue(
          entry.value.location, "resources",
          "expected {cores: N, gpus: M}, found \(entry.value.kindDescription)")
      }
    }
    return setup
  }

  /// `code: {dir: …, exclude: […]}`, or `code: false` (send nothing).
  mutating func parseCode(_ entry: ConfigTree.Entry, into setup: inout ProgramSetup) {
    if let flag = entry.value.bool {
      setup.sendsCode = flag
      return
    }
    guard let fields = entry.value.entries else {
      issue(
        entry.value.location, "code",
        "expected {dir: …, exclude: […]} or false, found \(entry.value.kindDescription) '\(entry.value.plain)'"
      )
      return
    }
    let values = knownFields(fields, allowed: ["dir", "exclude"], path: "code") { key in
      "not a setting of code\(Self.hint(key, ["dir", "exclude"])); allowed: dir, exclude"
    }
    if let tree = values["dir"] {
      if let word = tree.string, !word.isEmpty {
        setup.codeDirectory = word
      } else {
        issue(
          tree.location, "code.dir",
          "expected a directory path, found \(tree.kindDescription) '\(tree.plain)'")
      }
    }
    if let tree = values["exclude"] {
      if let items = tree.items, items.allSatisfy({ $0.string != nil }) {
        setup.codeExclude = items.compactMap(\.string)
      } else {
        issue(
          tree.location, "code.exclude", "expected a list of glob patterns such as [\"data/*\", \"*.ckpt\"]")
      }
    }
  }

  /// A program sweep's parameter names follow W&B's rule; their values are the program's
  /// business.
  mutating func checkProgramParameters(_ spec: SweepSpec) {
    for parameter in spec.parameters where !SweepConfig.isValidProgramParameterName(parameter.path) {
      issue(
        parameter.location, "parameters.\(parameter.path)",
        "'\(parameter.path)' is not a parameter name: it starts with a letter or _, then letters, digits, _ . - or / (W&B's rule)"
      )
    }
  }
}
