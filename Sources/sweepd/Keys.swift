import ArgumentParser
import Foundation
import ZMQ

/// `sweepd keygen`: a CURVE key pair for a coordinator, a worker or an operator.
struct Keygen: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Write a CURVE key pair: NAME.key (secret, mode 0600) and NAME.pub (public).")

  @Option(help: "Directory to write the keys to (made if missing).") var out: String
  @Option(help: "File name of the pair.") var name: String = "sweepd"

  func run() throws {
    guard ZMQContext.has("curve") else { throw ValidationError("this libzmq is built without CURVE") }
    let (publicKey, secretKey) = try ZMQContext.curveKeyPair()
    try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
    let secretPath = (out as NSString).appendingPathComponent("\(name).key")
    let publicPath = (out as NSString).appendingPathComponent("\(name).pub")
    for path in [secretPath, publicPath] where FileManager.default.fileExists(atPath: path) {
      throw ValidationError("\(path) exists; not overwriting a key")
    }
    // The secret file is created 0600 before anything is written to it.
    guard
      FileManager.default.createFile(
        atPath: secretPath, contents: nil, attributes: [.posixPermissions: 0o600])
    else { throw ValidationError("cannot create \(secretPath)") }
    try Data((KeyFiles.secretHeader + "\n" + secretKey + "\n").utf8).write(
      to: URL(fileURLWithPath: secretPath))
    try Data((KeyFiles.publicHeader + "\n" + publicKey + "\n").utf8).write(
      to: URL(fileURLWithPath: publicPath))
    print("secret key \(secretPath) (keep it on this box)\npublic key \(publicPath): \(publicKey)")
  }
}

/// Reading keys from files, with errors that name the file.
enum KeyFiles {
  /// The first lines `sweepd keygen` writes, saying which half of the pair a file holds.
  static let secretHeader = "# sweepd CURVE secret key: keep it on this box"
  static let publicHeader = "# sweepd CURVE public key"

  /// A Z85 key: the first non-comment line of the file. `secret`: whether a secret key is
  /// wanted; a file that says it holds the other half (keygen's header, or its `.pub` or
  /// `.key` name) is refused, since both halves are 40 Z85 characters.
  static func key(_ path: String, what: String, secret: Bool = false) throws -> String {
    guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
      throw ValidationError("cannot read the \(what) at \(path)")
    }
    let saysPublic = text.hasPrefix(publicHeader) || (!text.hasPrefix(secretHeader) && path.hasSuffix(".pub"))
    let saysSecret = text.hasPrefix(secretHeader) || (!text.hasPrefix(publicHeader) && path.hasSuffix(".key"))
    if secret && saysPublic {
      throw ValidationError(
        "\(path) is a public key; the \(what) is the secret half of the pair (NAME.key from `sweepd keygen`)")
    }
    if !secret && saysSecret {
      throw ValidationError(
        "\(path) is a secret key; the \(what) is a public key (NAME.pub from `sweepd keygen`), and a secret key should not leave its box"
      )
    }
    let lines = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
    guard let key = lines.first(where: { !$0.isEmpty && !$0.hasPrefix("#") }), CurveKey.isValid(key) else {
      throw ValidationError("\(path): not a CURVE key (40 Z85 characters, as `sweepd keygen` writes)")
    }
    return key
  }

  /// Public keys from a file (one per line; `#` comments) or a directory of `*.pub` files.
  static func keyList(_ path: String) throws -> Set<String> {
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
      throw ValidationError("no such key file or directory: \(path)")
    }
    let files =
      isDirectory.boolValue
      ? try FileManager.default.contentsOfDirectory(atPath: path).filter { $0.hasSuffix(".pub") }.sorted().map
      {
        (path as NSString).appendingPathComponent($0)
      } : [path]
    var keys: Set<String> = []
    for file in files {
      guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
        throw ValidationError("cannot read \(file)")
      }
      for (number, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
        let line = raw.trimmingCharacters(in: .whitespaces)
        if line.isEmpty || line.hasPrefix("#") { continue }
        guard CurveKey.isValid(line) else {
          throw ValidationError("\(file):\(number + 1): not a CURVE public key")
        }
        keys.insert(line)
      }
    }
    return keys
  }

  /// Whether a ZeroMQ endpoint only listens on this machine (loopback TCP, ipc, inproc).
  static func isLocal(_ endpoint: String) -> Bool {
    if endpoint.hasPrefix("ipc://") || endpoint.hasPrefix("inproc://") { return true }
    guard endpoint.hasPrefix("tcp://") else { return false }
    var host = String(endpoint.dropFirst("tcp://".count))
    if let colon = host.lastIndex(of: ":") { host = String(host[..<colon]) }
    host = host.trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
    return host == "localhost" || host == "::1" || host.hasPrefix("127.")
  }
}

/// The CURVE keys of a worker or client: the coordinator's public key and its own secret
/// key (its public key is derived). Also from `SWEEPD_CURVE_SERVER_KEY` and
/// `SWEEPD_CURVE_SECRET_KEY` (file paths).
struct ClientKeyOptions: ParsableArguments {
  @Option(help: "The coordinator's public key file (CURVE).") var curveServerKey: String?
  @Option(help: "This side's secret key file (CURVE; from `sweepd keygen`).") var curveSecretKey: String?

  func load() throws -> CurveClientKeys? {
    let environment = ProcessInfo.processInfo.environment
    let serverPath = curveServerKey ?? environment["SWEEPD_CURVE_SERVER_KEY"]
    let secretPath = curveSecretKey ?? environment["SWEEPD_CURVE_SECRET_KEY"]
    switch (serverPath, secretPath) {
    case (nil, nil): return nil
    case (let server?, let secret?):
      let secretKey = try KeyFiles.key(secret, what: "secret key", secret: true)
      guard let publicKey = CurveKey.publicKey(ofSecret: secretKey) else {
        throw ValidationError("\(secret): not a CURVE secret key")
      }
      return CurveClientKeys(
        serverKey: try KeyFiles.key(server, what: "coordinator's public key"), publicKey: publicKey,
        secretKey: secretKey)
    default:
      throw ValidationError("CURVE needs both --curve-server-key and --curve-secret-key")
    }
  }
}
