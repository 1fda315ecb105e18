import Foundation
import Vocabulary
import Wire

/// Parallel coordinates (Inselberg 1985): one vertical axis per varying parameter and one
/// for the metric, each trial a line through its values, coloured by its rank on the
/// viridis scale (best = dark purple, worst = light green) and drawn worst first so the
/// best lie on top. Log-distributed parameters get log axes; categories are evenly spaced.
struct ParallelCoordinates {
  struct Line {
    /// Per axis (parameters, then the metric), the value's coordinate; nil = absent.
    var values: [Double?]
    /// 0 = best … 1 = worst.
    var colour: Double
  }

  var id: String
  var title: String
  var axes: [(title: String, scale: Chart.Scale)]
  var lines: [Line]
  var note: String
  var width = 1100
  var height = 380

  func svg() -> String {
    let domains = axes.indices.map { index in
      Chart.domain(Chart.Axis(title: "", scale: axes[index].scale), lines.compactMap { $0.values[index] })
    }
    // Room on the left for the first axis's tick labels (category names such as "momentum"),
    // about 7 px a character, so none is cut at the edge.
    let firstLabels = axes.first.map { Chart.ticks(Chart.Axis(title: "", scale: $0.scale), domains[0]) } ?? []
    let longest = firstLabels.map(\.1.count).max() ?? 0
    let left = Swift.max(50.0, 7.0 * Double(longest) + 16), right = 90.0, top = 50.0, bottom = 56.0
    let plotHeight = Double(height) - top - bottom
    let step = axes.count > 1 ? (Double(width) - left - right) / Double(axes.count - 1) : 0
    func y(_ value: Double?, _ index: Int) -> Double? {
      guard let value, value.isFinite else { return nil }
      let domain = domains[index]
      let t: Double
      switch axes[index].scale {
      case .log:
        guard value > 0 else { return nil }
        t = (log10(value) - log10(domain.lowerBound)) / (log10(domain.upperBound) - log10(domain.lowerBound))
      default: t = (value - domain.lowerBound) / (domain.upperBound - domain.lowerBound)
      }
      return top + (1 - t) * plotHeight
    }
    var out = [SVG.open(width: width, height: height, title: title)]
    out.append("<rect width=\"100%\" height=\"100%\" fill=\"white\"/>")
    out.append(
      "<text x=\"\(width / 2)\" y=\"20\" text-anchor=\"middle\" font-size=\"14\" font-weight=\"bold\">\(SVG.escape(title))</text>"
    )
    func path(_ line: Line) -> String? {
      var path = ""
      var pen = false
      for index in axes.indices {
        guard let yy = y(line.values[index], index) else {
          pen = false
          continue
        }
        path += (pen ? "L" : "M") + "\(SVG.f(left + Double(index) * step)) \(SVG.f(yy))"
        pen = true
      }
      return path.isEmpty ? nil : "<path d=\"\(path)\" stroke=\"\(SVG.viridis(line.colour))\"/>"
    }
    // Every trial, fainter the more there are; then the best (5%, at most 50) on top, solid,
    // so the configurations that won stand out of a crowd of thousands.
    let ordered = lines.sorted { $0.colour > $1.colour }
    let highlighted = lines.count > 200 ? Swift.min(50, lines.count / 20) : 0
    let opacity = Swift.max(0.25, SVG.crowdOpacity(lines.count, base: 0.75))
    out.append("<g fill=\"none\" stroke-width=\"1.3\" opacity=\"\(String(format: "%.2f", opacity))\">")
    out.append(contentsOf: ordered.dropLast(highlighted).compactMap(path))
    out.append("</g>")
    if highlighted > 0 {
      out.append("<g fill=\"none\" stroke-width=\"1.8\">")
      out.append(contentsOf: ordered.suffix(highlighted).compactMap(path))
      out.append("</g>")
    }
    for (index, axis) in axes.enumerated() {
      let x = left + Double(index) * step
      out.append(
        "<line x1=\"\(SVG.f(x))\" y1=\"\(SVG.f(top))\" x2=\"\(SVG.f(x))\" y2=\"\(SVG.f(top + plotHeight))\" stroke=\"#222\" stroke-width=\"1.2\"/>"
      )
      let anchor = index == 0 ? "start" : index == axes.count - 1 ? "end" : "middle"
      out.append(
        "<text x=\"\(SVG.f(x))\" y=\"\(SVG.f(top - 12))\" text-anchor=\"\(anchor)\" font-weight=\"bold\">\(SVG.escape(Chart.shorten(axis.title, 22)))</text>"
      )
      if axis.scale == .log {
        out.append(
          "<text x=\"\(SVG.f(x))\" y=\"\(SVG.f(top + plotHeight + 18))\" text-anchor=\"\(anchor)\" fill=\"#555\">log scale</text>"
        )
      }
      for (value, text) in Chart.ticks(Chart.Axis(title: "", scale: axis.scale), domains[index]) {
        guard let yy = y(value, index) else { continue }
        out.append(
          "<line x1=\"\(SVG.f(x - 4))\" y1=\"\(SVG.f(yy))\" x2=\"\(SVG.f(x))\" y2=\"\(SVG.f(yy))\" stroke=\"#222\"/>"
        )
        out.append(
          "<text x=\"\(SVG.f(x - 6))\" y=\"\(SVG.f(yy + 4))\" text-anchor=\"end\" stroke=\"white\" stroke-width=\"3\" paint-order=\"stroke\">\(SVG.escape(text))</text>"
        )
      }
    }
    // The colour bar.
    let barX = Double(width) - 40, barTop = top, barHeight = plotHeight
    for step in 0..<40 {
      let t = Double(step) / 39
      out.append(
        "<rect x=\"\(SVG.f(barX))\" y=\"\(SVG.f(barTop + t * barHeight - 0.5))\" width=\"14\" height=\"\(SVG.f(barHeight / 39 + 1))\" fill=\"\(SVG.viridis(t))\"/>"
      )
    }
    out.append("<text x=\"\(SVG.f(barX + 7))\" y=\"\(SVG.f(barTop - 6))\" text-anchor=\"middle\">best</text>")
    out.append(
      "<text x=\"\(SVG.f(barX + 7))\" y=\"\(SVG.f(barTop + barHeight + 16))\" text-anchor=\"middle\">worst</text>"
    )
    out.append(
      "<text x=\"\(SVG.f(left))\" y=\"\(SVG.f(Double(height) - 10))\" fill=\"#444\">\(SVG.escape(note))</text>"
    )
    out.append("</svg>")
    return out.joined(separator: "\n")
  }
}
