import Foundation
import Vocabulary

/// A program trial's command line, built as W&B's agent builds it, so a sweep config written
/// for `wandb agent` starts the same process here.
///
/// `command` (default `[${env}, ${interpreter}, ${program}, ${args}]`) is a list run
/// without a shell. An element that is exactly a macro is replaced by zero or more
/// arguments; an unknown macro by nothing; any other element passes as it is, after
/// `${envvar:NAME}` is replaced inside it by the variable's value (or, as W&B does, by NAME
/// when the variable is not set). The macros, for parameters `lr = 0.001`, `amp = true`:
///
/// | macro | arguments |
/// |---|---|
/// | `${env}` | `/usr/bin/env` |
/// | `${interpreter}` | `python` (or the interpreter given: `python3` where only it exists) |
/// | `${program}` | the config's `program` |
/// | `${args}` | `--lr=0.001 --amp=True` |
/// | `${args_no_hyphens}` | `lr=0.001 amp=True` |
/// | `${args_no_boolean_flags}` | `--lr=0.001 --amp` (a false flag is left out) |
/// | `${args_no_equals}` | `--lr 0.001 --amp True` |
/// | `${args_json}` | `{"lr": 0.001, "amp": true}` (one argument) |
/// | `${args_json_file}` | the path of a file holding that JSON |
/// | `${args_append_hydra}` | `+lr=0.001 +amp=True` |
/// | `${args_override_hydra}` | `++lr=0.001 ++amp=True` |
///
/// Values are written as Python's `str()` writes them (`PythonText`), since that is what
/// W&B's programs parse.
public struct ProgramCommand: Sendable {
  /// W&B's default command.
  public static let defaultCommand = ["${env}", "${interpreter}", "${program}", "${args}"]

  public var command: [String]
  public var program: String?
  /// The interpreter `${interpreter}` names (default `python`).
  public var interpreter: String

  public init(command: [String]?, program: String?, interpreter: String = "python") {
    self.command = command ?? Self.defaultCommand
    self.program = program
    self.interpreter = interpreter
  }

  /// The interpreter `${interpreter}` names on a machine with this `PATH`: `python`, as W&B
  /// writes it, or `python3` where only that exists (Debian and Ubuntu without
  /// `python-is-python3`).
  public static func interpreter(path: String?) -> String {
    if ProgramProcess.resolve("python", path: path) == nil
      && ProgramProcess.resolve("python3", path: path) != nil
    {
      return "python3"
    }
    return "python"
  }

  /// The macro names this builder knows (a config naming another one gets a warning).
  public static let macros = [
    "env", "interpreter", "program", "args", "args_no_hyphens", "args_no_boolean_flags", "args_no_equals",
    "args_json", "args_json_file", "args_append_hydra", "args_override_hydra",
  ]

  /// The arguments for `parameters` (in the sweep's order); `jsonFile` is the path
  /// `${args_json_file}` names (the caller writes `argsJSON(parameters)` there);
  /// `environment` resolves `${envvar:NAME}`.
  public func arguments(
    parameters: [(String, ConfigValue)], jsonFile: String, environment: [String: String]
  ) -> [String] {
    var out: [String] = []
    for element in command {
      if element.hasPrefix("${") && element.hasSuffix("}") && !element.hasPrefix("${envvar:") {
        out += expand(String(element.dropFirst(2).dropLast()), parameters, jsonFile)
      } else {
        out.append(Self.substituteVariables(element, environment))
      }
    }
    return out
  }

  func expand(_ macro: String, _ parameters: [(String, ConfigValue)], _ jsonFile: String) -> [String] {
    let pairs = parameters.map { ($0.0, PythonText.str($0.1)) }
    switch macro {
    case "env": return ["/usr/bin/env"]
    case "interpreter": return [interpreter]
    case "program": return program.map { [$0] } ?? []
    case "args": return pairs.map { "--\($0)=\($1)" }
    case "args_no_hyphens": return pairs.map { "\($0)=\($1)" }
    case "args_no_boolean_flags":
      return parameters.compactMap { name, value in
        if case .bool(let flag) = value { return flag ? "--\(name)" : nil }
        return "--\(name)=\(PythonText.str(value))"
      }
    case "args_no_equals": return pairs.flatMap { ["--\($0)", $1] }
    case "args_json": return [Self.argsJSON(parameters)]
    case "args_json_file": return [jsonFile]
    case "args_append_hydra": return pairs.map { "+\($0)=\($1)" }
    case "args_override_hydra": return pairs.map { "++\($0)=\($1)" }
    default: return []
    }
  }

  /// The parameters as one JSON object, as `json.dumps` writes it.
  public static func argsJSON(_ parameters: [(String, ConfigValue)]) -> String {
    PythonText.json(.map(parameters.map { ConfigValue.Entry(key: $0.0, value: $0.1) }))
  }

  /// `${envvar:NAME}` (NAME of capitals, digits and `_`) replaced inside `element`: by the
  /// variable's value, or by NAME when it is not set.
  public static func substituteVariables(_ element: String, _ environment: [String: String]) -> String {
    var out = ""
    var rest = Substring(element)
    while let start = rest.range(of: "${envvar:") {
      let afterStart = rest[start.upperBound...]
      let name = afterStart.prefix { $0.isASCII && ($0.isUppercase || $0.isNumber || $0 == "_") }
      let end = afterStart.index(afterStart.startIndex, offsetBy: name.count)
      guard end < afterStart.endIndex, afterStart[end] == "}" else {
        out += rest[..<start.upperBound]
        rest = afterStart
        continue
      }
      out += rest[..<start.lowerBound]
      out += environment[String(name)] ?? String(name)
      rest = afterStart[afterStart.index(after: end)...]
    }
    return out + rest
  }
}
