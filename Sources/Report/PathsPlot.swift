import Foundation

/// Optimizer paths over a 2-D function, as one self-contained SVG: the function's
/// log-scaled values as a shaded grid with iso-lines, each path as a polyline with a start
/// marker and an end marker, the minimum as a star, a legend, axes with ticks, and a title.
///
/// Colours: the paths use the Okabe–Ito palette (distinguishable with the common colour
/// vision deficiencies), and each path also has its own dash pattern, so they can be told
/// apart in grey as well; the background is a light grey ramp (darker = higher f).
public struct PathsPlot: Sendable {
  public struct Path: Sendable {
    public var label: String
    public var points: [(x: Double, y: Double)]

    public init(label: String, points: [(x: Double, y: Double)]) {
      self.label = label
      self.points = points
    }
  }

  public var title: String
  public var xRange: ClosedRange<Double>
  public var yRange: ClosedRange<Double>
  public var minimum: (x: Double, y: Double)?
  public var paths: [Path]
  /// The function drawn underneath (its log₁₀(1 + f) is shaded).
  public var function: @Sendable (Double, Double) -> Double

  public init(
    title: String, xRange: ClosedRange<Double>, yRange: ClosedRange<Double>, minimum: (x: Double, y: Double)?,
    paths: [Path], function: @escaping @Sendable (Double, Double) -> Double
  ) {
    self.title = title
    self.xRange = xRange
    self.yRange = yRange
    self.minimum = minimum
    self.paths = paths
    self.function = function
  }

  static let palette = SVG.palette
  static let dashes = SVG.dashes

  /// The SVG document (width × height px; plot area with margins for axes and legend).
  public func svg(width: Int = 840, height: Int = 560) -> String {
    let left = 60.0, right = 280.0, top = 40.0, bottom = 50.0
    let plotWidth = Double(width) - left - right, plotHeight = Double(height) - top - bottom
    func px(_ x: Double) -> Double {
      left + (x - xRange.lowerBound) / (xRange.upperBound - xRange.lowerBound) * plotWidth
    }
    func py(_ y: Double) -> Double {
      top + (yRange.upperBound - y) / (yRange.upperBound - yRange.lowerBound) * plotHeight
    }
    var out: [String] = []
    out.append(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(width)\" height=\"\(height)\" viewBox=\"0 0 \(width) \(height)\" "
        + "font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\" font-size=\"12\">")
    out.append("<title>\(SVG.escape(title))</title>")
    out.append("<rect width=\"100%\" height=\"100%\" fill=\"white\"/>")
    // The shaded function: a grid of cells, grey by log10(1 + f) scaled to the grid's range.
    let columns = 80, rows = 60
    var levels: [[Double]] = []
    for row in 0..<rows {
      let y = yRange.upperBound - (Double(row) + 0.5) / Double(rows) * (yRange.upperBound - yRange.lowerBound)
      levels.append(
        (0..<columns).map { column in
          let x =
            xRange.lowerBound + (Double(column) + 0.5) / Double(columns)
            * (xRange.upperBound - xRange.lowerBound)
          let value = function(x, y)
          return value.isFinite ? log10(1 + Swift.max(0, value)) : .nan
        })
    }
    let finite = levels.joined().filter(\.isFinite)
    let low = finite.min() ?? 0, high = finite.max() ?? 1
    let cellWidth = plotWidth / Double(columns), cellHeight = plotHeight / Double(rows)
    out.append("<g shape-rendering=\"crispEdges\">")
    for (row, values) in levels.enumerated() {
      for (column, level) in values.enumerated() {
        let t = level.isFinite && high > low ? (level - low) / (high - low) : 1
        let shade = Int(250 - 130 * t)
        out.append(
          "<rect x=\"\(SVG.f(left + Double(column) * cellWidth))\" y=\"\(SVG.f(top + Double(row) * cellHeight))\" "
            + "width=\"\(SVG.f(cellWidth + 0.3))\" height=\"\(SVG.f(cellHeight + 0.3))\" fill=\"rgb(\(shade),\(shade),\(shade))\"/>"
        )
      }
    }
    out.append("</g>")
    // Iso-lines at 8 evenly spaced log levels (marching squares, segments only).
    out.append("<g stroke=\"#777\" stroke-width=\"0.6\" fill=\"none\">")
    for k in 1...8 {
      let level = low + (high - low) * Double(k) / 9
      var segments = ""
      for row in 0..<(rows - 1) {
        for column in 0..<(columns - 1) {
          let corners = [
            levels[row][column], levels[row][column + 1], levels[row + 1][column + 1],
            levels[row + 1][column],
          ]
          guard corners.allSatisfy(\.isFinite) else { continue }
          let x0 = left + (Double(column) + 0.5) * cellWidth, y0 = top + (Double(row) + 0.5) * cellHeight
          let positions = [
            (x0, y0), (x0 + cellWidth, y0), (x0 + cellWidth, y0 + cellHeight), (x0, y0 + cellHeight),
          ]
          var crossings: [(Double, Double)] = []
          for edge in 0..<4 {
            let a = corners[edge], b = corners[(edge + 1) % 4]
            guard (a < level) != (b < level) else { continue }
            let t = (level - a) / (b - a)
            let (ax, ay) = positions[edge], (bx, by) = positions[(edge + 1) % 4]
            crossings.append((ax + t * (bx - ax), ay + t * (by - ay)))
          }
          var index = 0
          while index + 1 < crossings.count {
            segments +=
              "M\(SVG.f(crossings[index].0)) \(SVG.f(crossings[index].1))L\(SVG.f(crossings[index + 1].0)) \(SVG.f(crossings[index + 1].1))"
            index += 2
          }
        }
      }
      if !segments.isEmpty { out.append("<path d=\"\(segments)\"/>") }
    }
    out.append("</g>")
    // The paths, clipped to the plot area.
    out.append(
      "<clipPath id=\"plot\"><rect x=\"\(SVG.f(left))\" y=\"\(SVG.f(top))\" width=\"\(SVG.f(plotWidth))\" height=\"\(SVG.f(plotHeight))\"/></clipPath>"
    )
    out.append("<g clip-path=\"url(#plot)\" fill=\"none\" stroke-width=\"2\" stroke-linejoin=\"round\">")
    for (index, path) in paths.enumerated() {
      let (colour, dash) = SVG.style(index)
      let points = path.points.filter { $0.x.isFinite && $0.y.isFinite }.map {
        "\(SVG.f(px(Swift.min(Swift.max($0.x, xRange.lowerBound - 1e3), xRange.upperBound + 1e3)))),"
          + "\(SVG.f(py(Swift.min(Swift.max($0.y, yRange.lowerBound - 1e3), yRange.upperBound + 1e3))))"
      }
      guard !points.isEmpty else { continue }
      let dashAttribute = dash.isEmpty ? "" : " stroke-dasharray=\"\(dash)\""
      out.append(
        "<polyline points=\"\(points.joined(separator: " "))\" stroke=\"\(colour)\"\(dashAttribute)/>")
      if let last = points.last {
        let xy = last.split(separator: ",")
        out.append("<circle cx=\"\(xy[0])\" cy=\"\(xy[1])\" r=\"4\" fill=\"\(colour)\" stroke=\"white\"/>")
      }
    }
    out.append("</g>")
    if let start = paths.first?.points.first {
      out.append(
        "<rect x=\"\(SVG.f(px(start.x) - 5))\" y=\"\(SVG.f(py(start.y) - 5))\" width=\"10\" height=\"10\" fill=\"white\" stroke=\"black\"/>"
      )
    }
    if let minimum {
      out.append(
        "<text x=\"\(SVG.f(px(minimum.x)))\" y=\"\(SVG.f(py(minimum.y) + 6))\" text-anchor=\"middle\" font-size=\"18\">★</text>"
      )
    }
    // Axes, ticks and labels.
    out.append(
      "<rect x=\"\(SVG.f(left))\" y=\"\(SVG.f(top))\" width=\"\(SVG.f(plotWidth))\" height=\"\(SVG.f(plotHeight))\" fill=\"none\" stroke=\"black\"/>"
    )
    for tick in SVG.ticks(xRange) {
      out.append(
        "<line x1=\"\(SVG.f(px(tick)))\" y1=\"\(SVG.f(top + plotHeight))\" x2=\"\(SVG.f(px(tick)))\" y2=\"\(SVG.f(top + plotHeight + 5))\" stroke=\"black\"/>"
      )
      out.append(
        "<text x=\"\(SVG.f(px(tick)))\" y=\"\(SVG.f(top + plotHeight + 18))\" text-anchor=\"middle\">\(SVG.label(tick))</text>"
      )
    }
    for tick in SVG.ticks(yRange) {
      out.append(
        "<line x1=\"\(SVG.f(left - 5))\" y1=\"\(SVG.f(py(tick)))\" x2=\"\(SVG.f(left))\" y2=\"\(SVG.f(py(tick)))\" stroke=\"black\"/>"
      )
      out.append(
        "<text x=\"\(SVG.f(left - 8))\" y=\"\(SVG.f(py(tick) + 4))\" text-anchor=\"end\">\(SVG.label(tick))</text>"
      )
    }
    out.append(
      "<text x=\"\(SVG.f(left + plotWidth / 2))\" y=\"\(height - 12)\" text-anchor=\"middle\">x</text>")
    out.append(
      "<text x=\"16\" y=\"\(SVG.f(top + plotHeight / 2))\" text-anchor=\"middle\" transform=\"rotate(-90 16 \(SVG.f(top + plotHeight / 2)))\">y</text>"
    )
    out.append(
      "<text x=\"\(SVG.f(left + plotWidth / 2))\" y=\"24\" text-anchor=\"middle\" font-size=\"15\" font-weight=\"bold\">\(SVG.escape(title))</text>"
    )
    // Legend.
    let legendX = left + plotWidth + 16
    for (index, path) in paths.enumerated() {
      let y = top + 10 + Double(index) * 20
      let (colour, dash) = SVG.style(index)
      let dashAttribute = dash.isEmpty ? "" : " stroke-dasharray=\"\(dash)\""
      out.append(
        "<line x1=\"\(SVG.f(legendX))\" y1=\"\(SVG.f(y))\" x2=\"\(SVG.f(legendX + 30))\" y2=\"\(SVG.f(y))\" stroke=\"\(colour)\" stroke-width=\"2\"\(dashAttribute)/>"
      )
      out.append(
        "<text x=\"\(SVG.f(legendX + 36))\" y=\"\(SVG.f(y + 4))\">\(SVG.escape(path.label))</text>")
    }
    let notesY = top + 20 + Double(paths.count) * 20
    out.append("<text x=\"\(SVG.f(legendX))\" y=\"\(SVG.f(notesY))\">□ start   ● end   ★ minimum</text>")
    out.append(
      "<text x=\"\(SVG.f(legendX))\" y=\"\(SVG.f(notesY + 16))\" fill=\"#555\">shade: log₁₀(1 + f)</text>")
    out.append("</svg>")
    return out.joined(separator: "\n") + "\n"
  }
}
