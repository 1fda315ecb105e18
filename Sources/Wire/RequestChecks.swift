/// The bounds every client request is held to at the boundary, before any of it is used: a
/// request that passes can be answered without a trap, whatever its numbers (a negative
/// `top` once reached `prefix` and killed the coordinator). Each check names the field, the
/// value and what is allowed, and the coordinator refuses the request with that sentence.
public enum RequestLimits {
  /// A sweep id: 1–128 characters of letters, digits, `.`, `_` and `-` (the coordinator's own
  /// are `s<time>-<n>`).
  public static let sweepIDCharacters = 128
  /// LEADERBOARD's `top`: 1 to this many rows.
  public static let maximumTop = 10_000_000
  /// MANAGE extend's `runCap`: at most this many trials (a billion).
  public static let maximumRunCap = 1_000_000_000
  /// MANAGE enqueue's values: at most this many, each at most `maximumValueBytes`.
  public static let maximumValues = 1_000
  public static let maximumValueBytes = 64 << 10
  /// A SUBMIT's file name and a `groupBy` path: at most this many bytes.
  public static let maximumNameBytes = 4_096
  /// SUBMIT's data digests: at most this many files.
  public static let maximumDataFiles = 10_000

  /// Whether `id` is shaped like a sweep id (see `sweepIDCharacters`).
  public static func isSweepID(_ id: String) -> Bool {
    !id.isEmpty && id.utf8.count <= sweepIDCharacters
      && id.utf8.allSatisfy { byte in
        (48...57).contains(byte) || (65...90).contains(byte) || (97...122).contains(byte)
          || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-")
      }
  }
}

extension ClientRequest {
  /// What is wrong with the request's fields (nil: nothing), as `field: value …; allowed …`.
  public var problem: String? {
    switch self {
    case .submit(let request):
      if request.file.utf8.count > RequestLimits.maximumNameBytes || request.file.contains("\0") {
        return "file: a name of \(request.file.utf8.count) bytes; allowed: up to \(RequestLimits.maximumNameBytes), no NUL"
      }
      if let data = request.data {
        if data.count > RequestLimits.maximumDataFiles {
          return "data: \(data.count) files; allowed: up to \(RequestLimits.maximumDataFiles)"
        }
        for (path, digest) in data.sorted(by: { $0.key < $1.key }) {
          guard WireCodec.isDigest(digest) else {
            return "data.\(Self.shown(path)): '\(Self.shown(digest))' is not a SHA-256 (64 lowercase hex digits)"
          }
          if path.utf8.count > RequestLimits.maximumNameBytes {
            return "data: a path of \(path.utf8.count) bytes; allowed: up to \(RequestLimits.maximumNameBytes)"
          }
        }
      }
      return nil
    case .status(let sweep):
      return sweep.flatMap(Self.sweepProblem)
    case .leaderboard(let request):
      if let problem = Self.sweepProblem(request.sweep) { return problem }
      if let top = request.top, !(1...RequestLimits.maximumTop).contains(top) {
        return "top: \(top); allowed: 1 to \(RequestLimits.maximumTop) (or absent for every trial)"
      }
      if let group = request.groupBy, group.isEmpty || group.utf8.count > RequestLimits.maximumNameBytes {
        return "groupBy: a path of \(group.utf8.count) bytes; allowed: 1 to \(RequestLimits.maximumNameBytes)"
      }
      return nil
    case .history(let sweep), .cancel(let sweep), .delete(let sweep):
      return Self.sweepProblem(sweep)
    case .haveData, .upload, .fetch:
      // Checked by the codec with their digests, offsets and lengths.
      return nil
    case .logs(let request):
      if request.trial < 0 { return "trial: \(request.trial); allowed: a trial id ≥ 0" }
      if let attempt = request.attempt, attempt < 1 { return "attempt: \(attempt); allowed: ≥ 1" }
      if let after = request.after, after < 0 { return "after: \(after); allowed: ≥ 0" }
      return nil
    case .manage(let request):
      if let problem = Self.sweepProblem(request.sweep) { return problem }
      if let cap = request.runCap, !(1...RequestLimits.maximumRunCap).contains(cap) {
        return "runCap: \(cap); allowed: 1 to \(RequestLimits.maximumRunCap)"
      }
      if request.action == .extend && request.runCap == nil { return "runCap: missing; extend needs one" }
      if let values = request.values {
        if values.count > RequestLimits.maximumValues {
          return "values: \(values.count); allowed: up to \(RequestLimits.maximumValues)"
        }
        for (key, value) in values.sorted(by: { $0.key < $1.key })
        where key.isEmpty || key.utf8.count > RequestLimits.maximumNameBytes
          || value.utf8.count > RequestLimits.maximumValueBytes
        {
          return
            "values.\(Self.shown(key)): a key of \(key.utf8.count) bytes and a value of \(value.utf8.count); allowed: keys 1 to \(RequestLimits.maximumNameBytes) bytes, values up to \(RequestLimits.maximumValueBytes)"
        }
      }
      if request.action == .enqueue && (request.values ?? [:]).isEmpty { return "values: enqueue needs at least one" }
      return nil
    }
  }

  static func sweepProblem(_ sweep: String) -> String? {
    RequestLimits.isSweepID(sweep)
      ? nil
      : "sweep: '\(shown(sweep))' is not a sweep id; allowed: 1 to \(RequestLimits.sweepIDCharacters) letters, digits, '.', '_' or '-'"
  }

  /// A value for an error message: at most 40 characters, control characters escaped.
  static func shown(_ text: String) -> String {
    let short = text.count > 40 ? String(text.prefix(39)) + "…" : text
    return String(
      short.unicodeScalars.map { $0.properties.generalCategory == .control ? "?" : Character($0) })
  }
}
