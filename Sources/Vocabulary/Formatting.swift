/// The project's shared words: how numbers are written in messages and errors, and the
/// did-you-mean rule every "unknown key" error uses. A leaf target with no dependencies, so
/// the stopping rules, the protocol documents and the trainer agree without importing each
/// other.

/// Formats a number the short way (`0.001`, `1e-8`, `10`).
public func formatNumber(_ x: Double) -> String {
  if x == x.rounded() && abs(x) < 1e15 { return String(Int64(x)) }
  var text = "\(x)"
  // Swift writes 1e-08; configs and docs write 1e-8.
  while let range = text.range(of: "e-0") { text.replaceSubrange(range, with: "e-") }
  while let range = text.range(of: "e+0") { text.replaceSubrange(range, with: "e+") }
  return text
}

/// The candidate closest to `word` by edit distance, ignoring letter case, if it is close
/// enough to be a likely typo (distance ≤ max(2, length/3)); a candidate that differs only
/// in case is suggested too. nil when `word` is itself a candidate.
public func closestMatch(to word: String, among candidates: [String]) -> String? {
  var best: (String, Int)?
  for candidate in candidates {
    let distance = editDistance(word.lowercased(), candidate.lowercased())
    if best == nil || distance < best!.1 { best = (candidate, distance) }
  }
  guard let (candidate, distance) = best else { return nil }
  // The same word in other letter case (`Adam` for `adam`) is the likeliest meaning.
  if distance == 0 { return candidate == word ? nil : candidate }
  return distance <= max(2, word.count / 3) ? candidate : nil
}

/// Levenshtein distance.
public func editDistance(_ a: String, _ b: String) -> Int {
  let a = Array(a), b = Array(b)
  if a.isEmpty { return b.count }
  if b.isEmpty { return a.count }
  var previous = Array(0...b.count)
  var current = [Int](repeating: 0, count: b.count + 1)
  for i in 1...a.count {
    current[0] = i
    for j in 1...b.count {
      current[j] = Swift.min(
        previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
    }
    swap(&previous, &current)
  }
  return previous[b.count]
}

/// A measured value for people to read: 4 significant digits (`0.03621`, `1.5e-5`,
/// `1234`), as status lines, stop reasons and messages show metrics. Numeric JSON fields
/// keep full precision.
public func formatValue(_ x: Double, significant: Int = 4) -> String {
  guard x.isFinite else { return x.isNaN ? "nan" : (x > 0 ? "inf" : "-inf") }
  guard x != 0 else { return "0" }
  let rounded = Double(String(format: "%.\(significant)g", x)) ?? x
  return formatNumber(rounded)
}
