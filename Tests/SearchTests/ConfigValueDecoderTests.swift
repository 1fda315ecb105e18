import Foundation
import Training
import Vocabulary
import XCTest

@testable import Search

/// A trial spec decoded straight from the config tree means what the JSON round trip it
/// replaces meant: the same spec, or the same error at the same key (followed by the value
/// it got, which the JSON decoder does not say).
final class ConfigValueDecoderTests: XCTestCase {
  struct Failed: Error, Equatable { var text: String }

  func bothWays(_ yaml: String) throws -> (
    direct: Result<TrialSpec, Failed>, viaJSON: Result<TrialSpec, Failed>
  ) {
    let tree = try ConfigTreeBuilder.parse(yaml, limits: ConfigLimits()).plain
    func run(_ body: () throws -> TrialSpec) -> Result<TrialSpec, Failed> {
      do { return .success(try body()) } catch let error as DecodingError {
        return .failure(Failed(text: error.readableDescription))
      } catch { return .failure(Failed(text: "\(error)")) }
    }
    let direct = run { try ConfigValueDecoder().decode(TrialSpec.self, from: tree) }
    let viaJSON = run { try JSONDecoder().decode(TrialSpec.self, from: try JSONEncoder().encode(tree)) }
    return (direct, viaJSON)
  }

  func testSameSpecsAndSameErrorsAsTheJSONRoundTrip() throws {
    let configs = [
      "optimizer: {name: adam, lr: 0.001, betas: 3}",
      "optimizer: {name: adam, lr: 0.001}\nmodel: {kind: mlp, hidden: [64, 32], activation: tanh}",
      "training: {epochs: 3.0, batch_size: 16}\nseed: 7",
      "data: {dataset: spirals, samples: 300, noise: 0.1}\nschedule: {kind: cosine, eta_min: 0.001}",
      "data: {dataset: csv, path: a.csv, target: label}\noptimizer: {name: sgd_hd, hypergrad_scope: parameter}",
      "model: {hidden: [64, x]}",
      "model: {kind: mlpp}",
      "training: {epochs: many}",
      "training: {epochs: 2.5}",
      "training: {epoch: 3}",
      "optimizer: {name: adamm}",
      "optimizer: {name: adam, lr: fast}",
      "seed: -1",
      "model: {activation: null}",
      "model: {start: [1, 2]}\noptimizer: {name: rmsprop, centered: true, momentum: 0.9}",
    ]
    for yaml in configs {
      let (direct, viaJSON) = try bothWays(yaml)
      switch (direct, viaJSON) {
      case (.success(let a), .success(let b)): XCTAssertEqual(a, b, yaml)
      case (.failure(let a), .failure(let b)) where b.text == "The given data was not valid JSON.":
        // Foundation's decoder loses the key for a number out of range; the direct one names it.
        XCTAssertTrue(a.text.hasPrefix("training.epochs: ") || a.text.hasPrefix("seed: "), a.text)
      case (.failure(let a), .failure(let b)):
        // The same error at the same key; the direct decoder also says what it got.
        XCTAssertTrue(a.text.hasPrefix(b.text), "\(yaml): \(a.text) against \(b.text)")
      default: XCTFail("\(yaml): direct \(direct), via JSON \(viaJSON)")
      }
    }
  }

  /// A non-finite number, which JSON cannot carry, is an error naming its key.
  func testNonFiniteNumbersAreRefused() throws {
    let tree = try ConfigTreeBuilder.parse("optimizer: {name: adam, lr: .nan}", limits: ConfigLimits()).plain
    XCTAssertThrowsError(try ConfigValueDecoder().decode(TrialSpec.self, from: tree)) { error in
      XCTAssertEqual((error as? DecodingError)?.keyPath, "optimizer.lr")
    }
  }
}
