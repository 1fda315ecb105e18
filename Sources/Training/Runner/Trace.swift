/// One row of an optimizer's path on a 2-D test function.
public struct TracePoint: Hashable, Sendable, Codable {
  /// 0 for the start, k for the point after k steps.
  public var step: Int
  public var x: Double
  public var y: Double
  public var loss: Double
  /// The learning rate used in step k (row 0: the initial rate).
  public var lr: Double
}

/// Runs an optimizer on a 2-D test function in float64 (the optimizers are generic, and
/// training runs the same code in float32) and returns the path, `steps + 1` rows.
/// The path stops early, with its last row non-finite, if the iterate diverges.
public func traceOptimizer(
  function: TestFunction, optimizer spec: OptimizerSpec, start: (Double, Double), steps: Int
) throws -> [TracePoint] {
  precondition(steps >= 0, "steps must be ≥ 0")
  var optimizer = try spec.makeOptimizer(scalar: Double.self, parameterCount: 2)
  var point: [Double] = [start.0, start.1]
  var gradient: [Double] = [0, 0]
  var hessian: [Double] = [0, 0]
  var rows = [
    TracePoint(
      step: 0, x: point[0], y: point[1], loss: function.value(point[0], point[1]),
      lr: optimizer.currentLearningRate)
  ]
  rows.reserveCapacity(steps + 1)
  for k in stride(from: 1, through: steps, by: 1) {
    let loss = function.value(point[0], point[1])
    (gradient[0], gradient[1]) = function.gradient(point[0], point[1])
    if optimizer.needsHessianDiagonal {
      (hessian[0], hessian[1]) = function.hessianDiagonal(point[0], point[1])
    }
    hessian.withUnsafeBufferPointer { h in
      point.withUnsafeMutableBufferPointer { p in
        gradient.withUnsafeMutableBufferPointer { g in
          optimizer.step(
            parameters: p, gradient: g,
            context: StepContext(loss: loss, hessianDiagonal: optimizer.needsHessianDiagonal ? h : nil))
        }
      }
    }
    let value = function.value(point[0], point[1])
    rows.append(TracePoint(step: k, x: point[0], y: point[1], loss: value, lr: optimizer.currentLearningRate))
    if !(point[0].isFinite && point[1].isFinite && value.isFinite) { break }
  }
  return rows
}
