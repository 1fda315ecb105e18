import Foundation

/// sweepd's `wandb` module (`Shim/wandb.py`, compiled into the binary): written once per
/// content into a cache directory, which program trials get first on `PYTHONPATH`, so a W&B
/// sweep program's `import wandb` finds it (see the module's docstring for what it covers).
public enum WandbShim {
  /// The module's source.
  static var source: [UInt8] { PackageResources.wandb_py }

  /// The directory to put on `PYTHONPATH` (holding `wandb/__init__.py`), written under
  /// `cache` if it is not there yet; named by the content's digest, so a new sweepd writes
  /// a new one and a running older worker keeps its own.
  static func directory(under cache: String) throws -> String {
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    for byte in source { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
    let root = (cache as NSString).appendingPathComponent("wandb-shim-\(String(hash, radix: 16))")
    let package = (root as NSString).appendingPathComponent("wandb")
    let file = (package as NSString).appendingPathComponent("__init__.py")
    if FileManager.default.fileExists(atPath: file) { return root }
    try FileManager.default.createDirectory(atPath: package, withIntermediateDirectories: true)
    let partial = file + ".\(getpid()).part"
    try Data(source).write(to: URL(fileURLWithPath: partial))
    try? FileManager.default.removeItem(atPath: file)
    try FileManager.default.moveItem(atPath: partial, toPath: file)
    return root
  }

  /// Whether a trial's command looks like a Python program: its `program` ends in `.py`,
  /// or the command names `${interpreter}` or a python executable.
  static func isPython(program: String?, command: [String]?) -> Bool {
    if program?.hasSuffix(".py") == true { return true }
    let words = command ?? ["${interpreter}"]
    return words.contains {
      $0 == "${interpreter}" || ($0 as NSString).lastPathComponent.hasPrefix("python")
    }
  }

  /// W&B's `WANDB_SWEEP_PARAM_PATH` file: `{name: {value: v}}`, as JSON (which is YAML).
  static func sweepParameters(_ json: [(String, String)]) -> String {
    "{" + json.map { "\(quoted($0.0)): {\"value\": \($0.1)}" }.joined(separator: ", ") + "}\n"
  }

  static func quoted(_ text: String) -> String {
    String(decoding: (try? JSONEncoder().encode(text)) ?? Data("\"\"".utf8), as: UTF8.self)
  }
}
