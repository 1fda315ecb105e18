import Foundation

/// Small helpers shared by every picture the `Report` module draws: number formatting,
/// escaping, "nice" ticks, and the colour scales.
enum SVG {
  /// A coordinate with one decimal (sub-pixel precision is invisible and bloats files).
  static func f(_ value: Double) -> String { String(format: "%.1f", value) }

  /// Text and attribute escaping for XML and HTML.
  static func escape(_ text: String) -> String {
    text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
      .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
  }

  /// A tick label: integers as integers, otherwise `%g`.
  static func label(_ value: Double) -> String {
    value == value.rounded() && abs(value) < 1e9 ? String(Int(value)) : String(format: "%g", value)
  }

  /// About `count` round ticks (steps of 1, 2, 2.5 or 5 × 10ᵏ) inside `range`.
  static func ticks(_ range: ClosedRange<Double>, count: Int = 6) -> [Double] {
    let span = range.upperBound - range.lowerBound
    guard span > 0, span.isFinite else { return [range.lowerBound] }
    let raw = span / Double(count)
    let magnitude = pow(10, floor(log10(raw)))
    let step = [1.0, 2, 2.5, 5, 10].map { $0 * magnitude }.first { $0 >= raw } ?? raw
    var ticks: [Double] = []
    var k = ceil(range.lowerBound / step)
    while k * step <= range.upperBound + step * 1e-9 {
      // k · step rounded to 12 significant digits (0.6, not 0.6000000000000001).
      let tick = Double(String(format: "%.12g", k * step)) ?? k * step
      ticks.append(abs(tick) < step * 1e-9 ? 0 : tick)
      k += 1
    }
    return ticks
  }

  /// Ticks for a log axis over `range` (positive): every power of ten, and 2× and 5× when
  /// the range spans fewer than three decades.
  static func logTicks(_ range: ClosedRange<Double>) -> [Double] {
    let low = floor(log10(range.lowerBound)), high = ceil(log10(range.upperBound))
    guard low.isFinite, high.isFinite else { return [] }
    let multiples: [Double] = high - low < 3 ? [1, 2, 5] : high - low <= 4 ? [1, 3] : [1]
    var ticks: [Double] = []
    var exponent = low
    while exponent <= high {
      for m in multiples {
        let tick = m * pow(10, exponent)
        if tick >= range.lowerBound * (1 - 1e-9) && tick <= range.upperBound * (1 + 1e-9) {
          ticks.append(tick)
        }
      }
      exponent += 1
    }
    return ticks
  }

  /// The Okabe–Ito palette (Okabe & Ito 2002, "Color Universal Design"): eight colours
  /// that stay distinct with protanopia, deuteranopia and tritanopia. Series also get a
  /// dash pattern each, so they can be told apart in grey.
  static let palette = [
    "#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442",
  ]
  static let dashes = ["", "8 4", "2 3", "10 3 2 3", "4 4", "1 2", "12 4 4 4", "6 2"]

  /// Series `index`'s colour and dash: colour i mod 8, dash (i + ⌊i/8⌋) mod 8, so the first
  /// 64 series each get a pair of their own (the first 8 also a dash each).
  static func style(_ index: Int) -> (colour: String, dash: String) {
    (palette[index % palette.count], dashes[(index + index / palette.count) % dashes.count])
  }

  /// Viridis (van der Walt & Smith, matplotlib 2015), perceptually uniform and readable by
  /// colour-blind readers, sampled at nine points and interpolated linearly. `t` in 0…1.
  static func viridis(_ t: Double) -> String {
    let anchors: [(Double, Double, Double)] = [
      (68, 1, 84), (72, 40, 120), (62, 73, 137), (49, 104, 142), (38, 130, 142),
      (31, 158, 137), (53, 183, 121), (109, 205, 89), (180, 222, 44),
    ]
    let clamped = t.isFinite ? Swift.min(1, Swift.max(0, t)) : 0
    let position = clamped * Double(anchors.count - 1)
    let index = Swift.min(Int(position), anchors.count - 2)
    let u = position - Double(index)
    let (a, b) = (anchors[index], anchors[index + 1])
    func mix(_ x: Double, _ y: Double) -> Int { Int((x + (y - x) * u).rounded()) }
    return String(format: "#%02X%02X%02X", mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
  }

  /// The opacity for `count` overlapping marks: `base` up to 200 of them, then falling as
  /// 1/√count (floor 0.12), so a dense region still reads darker than a sparse one.
  static func crowdOpacity(_ count: Int, base: Double) -> Double {
    count <= 200 ? base : Swift.max(0.12, base * (200 / Double(count)).squareRoot())
  }

  /// The opening tag of a standalone or inline SVG of `width` × `height` px.
  static func open(width: Int, height: Int, title: String) -> String {
    "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(width)\" height=\"\(height)\" viewBox=\"0 0 \(width) \(height)\" "
      + "font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\" font-size=\"12\" role=\"img\">"
      + "<title>\(escape(title))</title>"
  }
}
