import Foundation
import XCTest

@testable import Training

/// Batch, layer and weight normalization and dropout against PyTorch's own modules
/// (`scripts/reference/normalization.py` writes the fixture) and finite differences.
final class NormalizationTests: XCTestCase {
  static func fixture() throws -> [String: Any] {
    let url = try XCTUnwrap(
      Bundle.module.url(forResource: "normalization", withExtension: "json", subdirectory: "Fixtures"))
    return try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
  }

  /// One training pass of the case's network: loss, logits, gradient (in the flat layout),
  /// and the running statistics and evaluation logits of batch normalization.
  struct Outcome {
    var loss: Double
    var logits: [Float]
    var gradient: [Float]
    var runningMean: [[Float]] = []
    var runningVariance: [[Float]] = []
    var evaluationLogits: [Float] = []
  }

  static func network(_ c: [String: Any]) -> Network {
    Network(
      inputs: c["inputs"] as! Int, hidden: c["hidden"] as! [Int], outputs: c["outputs"] as! Int,
      activation: Activation(rawValue: c["activation"] as! String)!,
      loss: LossKind(rawValue: c["loss"] as! String)!, norm: Normalization(rawValue: c["norm"] as! String)!,
      dropout: c["dropout"] as! Double)
  }

  static func floats(_ value: Any?) -> [Float] { (value as? [Double] ?? []).map(Float.init) }

  static func train(
    _ network: Network, parameters: [Float], x: [Float], rows: Int, labels: [Int32]?, targets: [Float]?,
    masks: [[Float]], initialMean: [[Float]]? = nil, initialVariance: [[Float]]? = nil
  ) -> Outcome {
    let workspace = NetworkWorkspace(network: network, capacity: rows)
    var effective = parameters
    parameters.withUnsafeBufferPointer { p in
      effective.withUnsafeMutableBufferPointer {
        network.materializeWeights(p.baseAddress!, into: $0.baseAddress!)
      }
    }
    var gradient = [Float](repeating: 0, count: network.parameterCount)
    let hidden = network.layerCount - 1
    var runningMean = initialMean ?? (0..<hidden).map { [Float](repeating: 0, count: network.widths[$0 + 1]) }
    var runningVariance =
      initialVariance ?? (0..<hidden).map { [Float](repeating: 1, count: network.widths[$0 + 1]) }
    let normalizer = network.lossNormalizer(rows: rows)
    var loss = 0.0
    var logits: [Float] = []
    var evaluation: [Float] = []
    let labelArray = labels ?? [], targetArray = targets ?? []
    let maskPointers = masks.map { mask -> UnsafeMutablePointer<Float> in
      let p = UnsafeMutablePointer<Float>.allocate(capacity: mask.count)
      p.initialize(from: mask, count: mask.count)
      return p
    }
    defer { maskPointers.forEach { $0.deallocate() } }
    effective.withUnsafeBufferPointer { theta in
      x.withUnsafeBufferPointer { xs in
        labelArray.withUnsafeBufferPointer { l in
          targetArray.withUnsafeBufferPointer { t in
            let batchTargets: BatchTargets = labels != nil ? .labels(l.baseAddress!) : .values(t.baseAddress!)
            var pass = Network.Pass()
            pass.training = true
            pass.masks = maskPointers.map { UnsafePointer($0) }
            network.forward(
              theta.baseAddress!, x: xs.baseAddress!, rows: rows, workspace: workspace, pass: pass)
            let z = workspace.preActivations[network.layerCount - 1]
            logits = Array(UnsafeBufferPointer(start: z, count: rows * network.outputs))
            loss =
              network.lossFromOutputs(
                targets: batchTargets, rows: rows, workspace: workspace,
                outputGradientScale: Float(1 / normalizer)
              ).lossSum / normalizer
            gradient.withUnsafeMutableBufferPointer { g in
              network.backward(
                theta.baseAddress!, x: xs.baseAddress!, rows: rows, workspace: workspace,
                gradient: g.baseAddress!,
                pass: pass)
            }
            if network.norm == .batch {
              let means = runningMean.indices.map { i in
                runningMean[i].withUnsafeMutableBufferPointer { $0.baseAddress! }
              }
              let variances = runningVariance.indices.map { i in
                runningVariance[i].withUnsafeMutableBufferPointer { $0.baseAddress! }
              }
              network.updateRunningStatistics(from: workspace, rows: rows, mean: means, variance: variances)
              var evaluationPass = Network.Pass()
              evaluationPass.runningMean = means.map { UnsafePointer($0) }
              evaluationPass.runningVariance = variances.map { UnsafePointer($0) }
              network.forward(
                theta.baseAddress!, x: xs.baseAddress!, rows: rows, workspace: workspace, pass: evaluationPass
              )
              evaluation = Array(UnsafeBufferPointer(start: z, count: rows * network.outputs))
            }
          }
        }
      }
    }
    parameters.withUnsafeBufferPointer { p in
      gradient.withUnsafeMutableBufferPointer {
        network.pullBackWeightNorm(p.baseAddress!, gradient: $0.baseAddress!)
      }
    }
    return Outcome(
      loss: loss, logits: logits, gradient: gradient, runningMean: runningMean,
      runningVariance: runningVariance,
      evaluationLogits: evaluation)
  }

  func assertClose(_ a: [Float], _ b: [Double], _ what: String, tolerance: Double = 2e-4) {
    XCTAssertEqual(a.count, b.count, what)
    for (i, (x, y)) in zip(a, b).enumerated() {
      XCTAssertEqual(Double(x), y, accuracy: tolerance * max(1, abs(y)), "\(what)[\(i)]")
    }
  }

  /// Every case of the fixture: the loss, the logits, every parameter's gradient, and for
  /// batch normalization the running statistics after the step and the evaluation logits.
  func testEveryLayerMatchesPyTorch() throws {
    let fixture = try Self.fixture()
    let cases = try XCTUnwrap(fixture["cases"] as? [[String: Any]])
    XCTAssertEqual(cases.count, 7)
    for c in cases {
      let name = c["name"] as! String
      let network = Self.network(c)
      let parameters = Self.floats(c["parameters"])
      XCTAssertEqual(parameters.count, network.parameterCount, "\(name): the flat layout")
      let masks = (c["masks"] as? [[Double]])?.map { $0.map(Float.init) } ?? []
      let outcome = Self.train(
        network, parameters: parameters, x: Self.floats(c["x"]), rows: c["rows"] as! Int,
        labels: (c["labels"] as? [Int])?.map(Int32.init),
        targets: (c["targets"] as? [Double])?.map(Float.init),
        masks: masks, initialMean: (c["initial_running_mean"] as? [[Double]])?.map { $0.map(Float.init) },
        initialVariance: (c["initial_running_var"] as? [[Double]])?.map { $0.map(Float.init) })
      XCTAssertEqual(outcome.loss, try XCTUnwrap(c["loss_value"] as? Double), accuracy: 1e-4, name)
      assertClose(outcome.logits, c["logits"] as! [Double], "\(name) logits")
      assertClose(outcome.gradient, c["gradient"] as! [Double], "\(name) gradient")
      if network.norm == .batch {
        assertClose(
          outcome.runningMean.flatMap { $0 }, (c["running_mean"] as! [[Double]]).flatMap { $0 },
          "\(name) running mean")
        assertClose(
          outcome.runningVariance.flatMap { $0 }, (c["running_var"] as! [[Double]]).flatMap { $0 },
          "\(name) running variance")
        assertClose(outcome.evaluationLogits, c["eval_logits"] as! [Double], "\(name) evaluation logits")
      }
    }
  }
}

extension NormalizationTests {
  /// Central differences of the training loss (fixed masks, batch statistics) against the
  /// analytic gradient, for every normalization with and without dropout.
  func testGradientsMatchFiniteDifferences() throws {
    for (norm, dropout) in [
      (Normalization.batch, 0.0), (.layer, 0.0), (.weight, 0.0), (.none, 0.4), (.layer, 0.3),
    ] {
      let network = Network(
        inputs: 3, hidden: [5, 4], outputs: 3, activation: .tanh, loss: .crossEntropy, norm: norm,
        dropout: dropout)
      var random = RandomSource(seed: 21)
      var parameters = [Float](repeating: 0, count: network.parameterCount)
      parameters.withUnsafeMutableBufferPointer {
        network.initialize($0, initializer: .xavier, random: &random)
      }
      // Move γ, β and g off their starting values so each term matters.
      for i in parameters.indices { parameters[i] += Float(random.uniform(-0.2, 0.2)) }
      let rows = 6
      let x = (0..<(rows * 3)).map { _ in Float(random.normal()) }
      let labels = (0..<rows).map { _ in Int32(random.index(below: 3)) }
      let masks =
        network.dropout > 0
        ? [5, 4].map { w in (0..<(rows * w)).map { _ in Float(random.nextUnitDouble() < dropout ? 0 : 1) } }
        : []
      func loss(_ theta: [Float]) -> Double {
        Self.train(network, parameters: theta, x: x, rows: rows, labels: labels, targets: nil, masks: masks)
          .loss
      }
      let analytic = Self.train(
        network, parameters: parameters, x: x, rows: rows, labels: labels, targets: nil, masks: masks
      ).gradient
      let h: Float = 1e-2
      for i in parameters.indices {
        var up = parameters, down = parameters
        up[i] += h
        down[i] -= h
        let numeric = (loss(up) - loss(down)) / Double(2 * h)
        XCTAssertEqual(
          Double(analytic[i]), numeric, accuracy: 2e-3 + 2e-2 * abs(numeric),
          "\(norm) dropout \(dropout) parameter \(i)")
      }
    }
  }

  /// Through the trainer: the same metrics on 1 core as on 3 (batches of several shards for
  /// layer and weight normalization and dropout, one for batch normalization), dropout
  /// masks dropping about p of the units, and an evaluation that is the same every time.
  func testTrainingIsDeterministicAndDropoutIsOffAtEvaluation() throws {
    for (norm, dropout) in [(Normalization.batch, 0.2), (.layer, 0.3), (.weight, 0.25)] {
      var spec = TrialSpec(
        data: DataSpec(dataset: .spirals, seed: 3, samples: 900), model: ModelSpec(hidden: [16, 16]),
        epochs: 2,
        batchSize: 300, seed: 5)
      spec.model.norm = norm
      spec.model.dropout = dropout
      let one = try TrialRunner(spec: spec, cores: 1).run().metrics
      let three = try TrialRunner(spec: spec, cores: 3).run().metrics
      XCTAssertEqual(one.map(\.valLoss), three.map(\.valLoss), "\(norm)")
      XCTAssertEqual(one.map(\.trainLoss), three.map(\.trainLoss), "\(norm)")
      XCTAssertTrue(one.allSatisfy { $0.valLoss!.isFinite })
      let runner = try TrialRunner(spec: spec, cores: 2)
      let trainer = try NetworkTrainer(
        network: runner.network!, training: runner.data!.training, spec: spec, cores: 2)
      _ = trainer.trainEpoch(rate: .unscheduled)
      let dropped = trainer.masks.enumerated().map { layer, mask in
        (0..<(300 * 16)).filter { mask[$0] == 0 }.count
      }
      for count in dropped { XCTAssertEqual(Double(count) / 4800, dropout, accuracy: 0.03, "\(norm)") }
      let first = trainer.evaluate(runner.data!.validation)
      let second = trainer.evaluate(runner.data!.validation)
      XCTAssertEqual(first.loss, second.loss)
      XCTAssertEqual(first.errors, second.errors)
    }
  }

  /// The settings are checked and sweepable: a probability for dropout, hidden layers for
  /// both, a first-order optimizer.
  func testModelSettingsAreChecked() throws {
    var spec = TrialSpec()
    spec.model.dropout = 1
    XCTAssertTrue(
      spec.problems().contains { $0.contains("model.dropout must be a probability in [0, 1), got 1.0") })
    spec = TrialSpec(model: ModelSpec(kind: .logistic))
    spec.model.norm = .batch
    XCTAssertTrue(
      spec.problems().contains { $0.contains("model.norm: batch normalization acts on hidden layers") })
    spec = TrialSpec(optimizer: OptimizerSpec(name: "diag_newton"))
    spec.model.norm = .layer
    XCTAssertTrue(spec.problems().contains { $0.contains("Gauss–Newton diagonal is for plain MLPs") })
    let decoded = try JSONDecoder().decode(
      ModelSpec.self, from: Data(#"{"hidden": [8], "norm": "weight", "dropout": 0.5}"#.utf8))
    XCTAssertEqual(decoded.norm, .weight)
    XCTAssertEqual(decoded.dropout, 0.5)
    XCTAssertFalse(String(decoding: try JSONEncoder().encode(ModelSpec()), as: UTF8.self).contains("norm"))
  }
}
