import Foundation
import Vocabulary
import Wire

/// A two-axis chart as inline SVG: lines, points and markers over linear, logarithmic or
/// categorical axes, with ticks, axis titles, a title and a legend. The report's learning
/// curves, learning-rate traces, scatter and sensitivity plots are all `Chart`s.
struct Chart {
  enum Scale: Equatable {
    case linear
    /// Base-10 logarithmic; values ≤ 0 are not drawn.
    case log
    /// Evenly spaced named positions; a value v is drawn at position v (0, 1, …).
    case categories([String])
  }

  struct Axis {
    var title: String
    var scale: Scale = .linear
    /// Fixed bounds; nil: the data's range (padded by 4% on linear axes).
    var range: ClosedRange<Double>?
  }

  enum Mark { case circle, cross, square }

  struct Series {
    var label: String?
    var points: [(x: Double, y: Double)]
    var colour: String
    var dash: String = ""
    var width: Double = 1.8
    var opacity: Double = 1
    /// Draw the points as markers too (scatter when `connect` is false).
    var marks: Mark?
    var connect = true
    /// Extra markers (e.g. where a trial was stopped) in the series' colour.
    var annotations: [(x: Double, y: Double, mark: Mark)] = []
  }

  /// Unique within a page (names the clip path).
  var id: String
  var title: String
  var x: Axis
  var y: Axis
  var series: [Series]
  var width = 560
  var height = 340
  /// Lines under the legend (e.g. what a marker means).
  var notes: [String] = []

  /// The SVG element.
  func svg() -> String {
    let labelled = series.filter { $0.label != nil }
    let legendWidth = labelled.isEmpty && notes.isEmpty ? 0.0 : 190.0
    let slantRoom: Double = {
      guard case .categories(let names) = x.scale else { return 0 }
      return names.count > 3 ? 22 : 0
    }()
    let left = 64.0, right = 14 + legendWidth, top = 34.0, bottom = 48.0 + slantRoom
    // A legend that wraps needs room: the picture grows to hold it rather than cut it.
    let legendRows = labelled.prefix(14).map { Self.wrap($0.label!, Self.legendColumns).count }
    let legendHeight =
      Double(legendRows.reduce(0) { $0 + 17 + 13 * ($1 - 1) }) + (labelled.count > 14 ? 17 : 0)
      + Double(notes.count) * 19 + 12
    let height = Swift.max(self.height, Int(top + legendHeight + 10))
    let plotWidth = Double(width) - left - right, plotHeight = Double(height) - top - bottom
    let allX = series.flatMap { $0.points.map(\.x) + $0.annotations.map(\.x) }
    let allY = series.flatMap { $0.points.map(\.y) + $0.annotations.map(\.y) }
    let xDomain = Self.domain(x, allX), yDomain = Self.domain(y, allY)
    func position(_ value: Double, _ axis: Axis, _ domain: ClosedRange<Double>) -> Double? {
      guard value.isFinite else { return nil }
      switch axis.scale {
      case .log:
        guard value > 0 else { return nil }
        return (log10(value) - log10(domain.lowerBound))
          / (log10(domain.upperBound) - log10(domain.lowerBound))
      case .linear, .categories:
        return (value - domain.lowerBound) / (domain.upperBound - domain.lowerBound)
      }
    }
    func px(_ value: Double) -> Double? { position(value, x, xDomain).map { left + $0 * plotWidth } }
    func py(_ value: Double) -> Double? { position(value, y, yDomain).map { top + (1 - $0) * plotHeight } }

    var out = [SVG.open(width: width, height: height, title: title)]
    out.append("<rect width=\"100%\" height=\"100%\" fill=\"white\"/>")
    out.append(
      // Centred on the whole picture, smaller when long, so a long title is never clipped.
      "<text x=\"\(SVG.f(Double(width) / 2))\" y=\"20\" text-anchor=\"middle\" font-size=\"\(Self.titleSize(title, width))\" font-weight=\"bold\">\(SVG.escape(title))</text>"
    )
    // Grid and ticks.
    out.append("<g stroke=\"#e3e3e3\">")
    var tickText: [String] = []
    let xTicks = Self.ticks(x, xDomain)
    // Category names that would collide are slanted.
    let slanted =
      Double(xTicks.map(\.1.count).max() ?? 0) * 7.2 > plotWidth / Double(Swift.max(xTicks.count, 1)) - 4
    for (value, text) in xTicks {
      guard let p = px(value) else { continue }
      out.append(
        "<line x1=\"\(SVG.f(p))\" y1=\"\(SVG.f(top))\" x2=\"\(SVG.f(p))\" y2=\"\(SVG.f(top + plotHeight))\"/>"
      )
      if slanted {
        let y = SVG.f(top + plotHeight + 12)
        tickText.append(
          "<text x=\"\(SVG.f(p))\" y=\"\(y)\" text-anchor=\"end\" font-size=\"11\" transform=\"rotate(-30 \(SVG.f(p)) \(y))\">\(SVG.escape(text))</text>"
        )
      } else {
        tickText.append(
          "<text x=\"\(SVG.f(p))\" y=\"\(SVG.f(top + plotHeight + 16))\" text-anchor=\"middle\">\(SVG.escape(text))</text>"
        )
      }
    }
    for (value, text) in Self.ticks(y, yDomain) {
      guard let p = py(value) else { continue }
      out.append(
        "<line x1=\"\(SVG.f(left))\" y1=\"\(SVG.f(p))\" x2=\"\(SVG.f(left + plotWidth))\" y2=\"\(SVG.f(p))\"/>"
      )
      tickText.append(
        "<text x=\"\(SVG.f(left - 6))\" y=\"\(SVG.f(p + 4))\" text-anchor=\"end\">\(SVG.escape(text))</text>")
    }
    out.append("</g>")
    out.append(contentsOf: tickText)
    out.append(
      "<rect x=\"\(SVG.f(left))\" y=\"\(SVG.f(top))\" width=\"\(SVG.f(plotWidth))\" height=\"\(SVG.f(plotHeight))\" fill=\"none\" stroke=\"#333\"/>"
    )
    out.append(
      "<text x=\"\(SVG.f(left + plotWidth / 2))\" y=\"\(SVG.f(Double(height) - 10))\" text-anchor=\"middle\">\(SVG.escape(Self.axisTitle(x)))</text>"
    )
    let yMiddle = SVG.f(top + plotHeight / 2)
    out.append(
      "<text x=\"14\" y=\"\(yMiddle)\" text-anchor=\"middle\" transform=\"rotate(-90 14 \(yMiddle))\">\(SVG.escape(Self.axisTitle(y)))</text>"
    )
    // The data, clipped to the plot area.
    let clip = "clip-\(id)"
    out.append(
      "<clipPath id=\"\(clip)\"><rect x=\"\(SVG.f(left - 4))\" y=\"\(SVG.f(top - 4))\" width=\"\(SVG.f(plotWidth + 8))\" height=\"\(SVG.f(plotHeight + 8))\"/></clipPath>"
    )
    out.append("<g clip-path=\"url(#\(clip))\">")
    for line in series {
      let points = line.points.compactMap { point -> (Double, Double)? in
        guard let a = px(point.x), let b = py(point.y) else { return nil }
        return (a, b)
      }
      let opacity = line.opacity < 1 ? " opacity=\"\(line.opacity)\"" : ""
      if line.connect, points.count > 1 {
        let dash = line.dash.isEmpty ? "" : " stroke-dasharray=\"\(line.dash)\""
        out.append(
          "<polyline points=\"\(points.map { "\(SVG.f($0.0)),\(SVG.f($0.1))" }.joined(separator: " "))\" fill=\"none\" "
            + "stroke=\"\(line.colour)\" stroke-width=\"\(line.width)\" stroke-linejoin=\"round\"\(dash)\(opacity)/>"
        )
      }
      if let mark = line.marks {
        for point in points {
          out.append(Self.mark(mark, at: point, colour: line.colour, opacity: line.opacity))
        }
      }
      for annotation in line.annotations {
        guard let a = px(annotation.x), let b = py(annotation.y) else { continue }
        out.append(Self.mark(annotation.mark, at: (a, b), colour: line.colour, size: 5, opacity: 1))
      }
    }
    out.append("</g>")
    // Legend.
    let legendX = left + plotWidth + 14
    var legendY = top + 6
    for line in labelled.prefix(14) {
      let dash = line.dash.isEmpty ? "" : " stroke-dasharray=\"\(line.dash)\""
      if line.connect {
        out.append(
          "<line x1=\"\(SVG.f(legendX))\" y1=\"\(SVG.f(legendY))\" x2=\"\(SVG.f(legendX + 24))\" y2=\"\(SVG.f(legendY))\" stroke=\"\(line.colour)\" stroke-width=\"2\"\(dash)/>"
        )
      }
      if let mark = line.marks {
        out.append(Self.mark(mark, at: (legendX + 12, legendY), colour: line.colour, opacity: 1))
      }
      // Whole entries: a long one wraps onto further lines instead of being cut.
      for (row, text) in Self.wrap(line.label!, Self.legendColumns).enumerated() {
        if row > 0 { legendY += 13 }
        out.append(
          "<text x=\"\(SVG.f(legendX + 30))\" y=\"\(SVG.f(legendY + 4))\">\(SVG.escape(text))</text>")
      }
      legendY += 17
    }
    if labelled.count > 14 {
      out.append(
        "<text x=\"\(SVG.f(legendX))\" y=\"\(SVG.f(legendY + 4))\" fill=\"#555\">… \(labelled.count - 14) more</text>"
      )
      legendY += 17
    }
    for note in notes {
      legendY += 4
      out.append(
        "<text x=\"\(SVG.f(legendX))\" y=\"\(SVG.f(legendY + 4))\" fill=\"#444\">\(SVG.escape(note))</text>")
      legendY += 15
    }
    out.append("</svg>")
    return out.joined(separator: "\n")
  }

  static func axisTitle(_ axis: Axis) -> String {
    axis.scale == .log ? axis.title + " (log scale)" : axis.title
  }

  /// Characters per legend line (the legend is 190 px wide, 30 of them for the key).
  static let legendColumns = 22

  /// A title's font size: 14, down to 10 so that it fits `width` (about 0.6 em a character).
  static func titleSize(_ title: String, _ width: Int) -> Int {
    let fitting = Int(Double(width - 16) / (0.6 * Double(Swift.max(title.count, 1))))
    return Swift.max(10, Swift.min(14, fitting))
  }

  /// `text` in lines of at most `length` characters, broken at spaces (a longer word is cut
  /// with `…`), at most 3 lines.
  static func wrap(_ text: String, _ length: Int) -> [String] {
    var lines: [String] = []
    var current = ""
    for word in text.split(separator: " ") {
      let word = shorten(String(word), length)
      if current.isEmpty {
        current = word
      } else if current.count + 1 + word.count <= length {
        current += " " + word
      } else {
        lines.append(current)
        current = word
      }
    }
    if !current.isEmpty { lines.append(current) }
    if lines.count > 3 { lines = Array(lines.prefix(3)); lines[2] = shorten(lines[2] + " …", length) }
    return lines.isEmpty ? [""] : lines
  }

  static func shorten(_ text: String, _ length: Int) -> String {
    text.count <= length ? text : String(text.prefix(length - 1)) + "…"
  }

  /// The drawn range of an axis: fixed, or the data's (log: positive values only; linear:
  /// padded by 4%; categories: −0.5 … n − 0.5).
  static func domain(_ axis: Axis, _ values: [Double]) -> ClosedRange<Double> {
    if let range = axis.range { return range }
    switch axis.scale {
    case .categories(let names):
      return -0.5...(Double(Swift.max(names.count, 1)) - 0.5)
    case .log:
      let positive = values.filter { $0.isFinite && $0 > 0 }
      guard let low = positive.min(), let high = positive.max() else { return 0.1...10 }
      if low == high { return (low / 2)...(high * 2) }
      let pad = pow(high / low, 0.04)
      return (low / pad)...(high * pad)
    case .linear:
      let finite = values.filter(\.isFinite)
      guard let low = finite.min(), let high = finite.max() else { return 0...1 }
      // A constant series: a band of ±50% around it (±1 around zero), so 0.01 is not
      // drawn on an axis of −1…1, where it reads as 0.
      if low == high {
        let half = low == 0 ? 1 : abs(low) / 2
        return (low - half)...(high + half)
      }
      let pad = (high - low) * 0.04
      return (low - pad)...(high + pad)
    }
  }

  static func ticks(_ axis: Axis, _ domain: ClosedRange<Double>) -> [(Double, String)] {
    switch axis.scale {
    case .categories(let names):
      return names.enumerated().map { (Double($0.offset), shorten($0.element, 14)) }
    case .log:
      return SVG.logTicks(domain).map { ($0, String(format: "%g", $0)) }
    case .linear:
      return SVG.ticks(domain).map { ($0, SVG.label($0)) }
    }
  }

  static func mark(
    _ mark: Mark, at point: (Double, Double), colour: String, size: Double = 3.2, opacity: Double
  )
    -> String
  {
    let (x, y) = point
    let alpha = opacity < 1 ? " opacity=\"\(opacity)\"" : ""
    switch mark {
    case .circle:
      return "<circle cx=\"\(SVG.f(x))\" cy=\"\(SVG.f(y))\" r=\"\(size)\" fill=\"\(colour)\"\(alpha)/>"
    case .square:
      return
        "<rect x=\"\(SVG.f(x - size))\" y=\"\(SVG.f(y - size))\" width=\"\(SVG.f(2 * size))\" height=\"\(SVG.f(2 * size))\" fill=\"\(colour)\"\(alpha)/>"
    case .cross:
      return
        "<path d=\"M\(SVG.f(x - size)) \(SVG.f(y - size))L\(SVG.f(x + size)) \(SVG.f(y + size))M\(SVG.f(x - size)) \(SVG.f(y + size))L\(SVG.f(x + size)) \(SVG.f(y - size))\" stroke=\"\(colour)\" stroke-width=\"2.2\"/>"
    }
  }
}
