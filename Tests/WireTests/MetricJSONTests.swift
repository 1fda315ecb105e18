import Foundation
import Training
import XCTest

@testable import Wire

/// The hand-written METRIC codec agrees with `JSONDecoder` on everything it accepts, and
/// hands everything else to it.
final class MetricJSONTests: XCTestCase {
  typealias Generator = RandomSource

  static let names = [
    "train_loss", "val_loss", "val_error", "lr", "seconds", "naïve ✓", "quote\"d", "back\\slash", "tab\t",
  ]

  func randomValue(_ generator: inout Generator) -> Double {
    switch Int.random(in: 0..<10, using: &generator) {
    case 0: return .nan
    case 1: return .infinity
    case 2: return -.infinity
    case 3: return 0
    case 4: return -0.0
    case 5: return Double(Int.random(in: -1000...1000, using: &generator))
    case 6: return .greatestFiniteMagnitude
    case 7: return .leastNonzeroMagnitude
    default:
      return Double(
        bitPattern: generator.next() & ~(0x7FF << 52)
          | (UInt64.random(in: 900...1150, using: &generator) << 52))
    }
  }

  func randomReport(_ generator: inout Generator) -> MetricReport {
    var values: [String: Double] = [:]
    for name in Self.names where Bool.random(using: &generator) { values[name] = randomValue(&generator) }
    return MetricReport(
      attempt: AttemptID(
        trial: Int64.random(in: 0...Int64.max, using: &generator),
        attempt: Int.random(in: 1...9, using: &generator)),
      epoch: Int.random(in: 1...100_000, using: &generator), values: values)
  }

  /// Equal, counting NaN as equal to NaN (and telling 0 from -0).
  func same(_ a: MetricReport, _ b: MetricReport, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(a.attempt, b.attempt, file: file, line: line)
    XCTAssertEqual(a.epoch, b.epoch, file: file, line: line)
    XCTAssertEqual(Set(a.values.keys), Set(b.values.keys), file: file, line: line)
    for (key, value) in a.values {
      let other = b.values[key] ?? 0
      XCTAssertEqual(
        value.bitPattern == other.bitPattern || (value.isNaN && other.isNaN), true,
        "\(key): \(value) vs \(other)", file: file, line: line)
    }
  }

  func testCanonicalFormRoundTripsExactlyAndMatchesJSONDecoder() throws {
    var generator = Generator(seed: 7)
    let decoder = WireCodec.decoder()
    for _ in 0..<2000 {
      let report = randomReport(&generator)
      let bytes = MetricJSON.encode(report)
      let fast = try XCTUnwrap(MetricJSON.decode(bytes), String(decoding: bytes, as: UTF8.self))
      same(fast, report)
      same(try decoder.decode(MetricReport.self, from: Data(bytes)), report)
    }
  }

  func testTheStoreFormIsSortedAndReadableByJSONDecoder() throws {
    let text = MetricJSON.encode(values: [
      "val_loss": 0.25, "lr": 1e-05, "train_loss": .nan, "seconds": -.infinity,
    ])
    XCTAssertEqual(text, #"{"lr":1e-05,"seconds":"-inf","train_loss":"nan","val_loss":0.25}"#)
    let decoded = try WireCodec.decoder().decode([String: Double].self, from: Data(text.utf8))
    XCTAssertEqual(decoded["lr"], 1e-05)
    XCTAssertEqual(decoded["seconds"], -.infinity)
    XCTAssertTrue(decoded["train_loss"]!.isNaN)
    XCTAssertEqual(MetricJSON.encode(values: [:]), "{}")
  }

  /// Another writer's JSON (spaces, key order) is not canonical: the codec falls back to
  /// `JSONDecoder` and the message still arrives.
  func testOtherSpellingsFallBackToJSONDecoder() throws {
    let spaced = #"{ "epoch": 3, "values": {"val_loss": 1.5e0}, "attempt": {"trial": 4, "attempt": 1} }"#
    XCTAssertNil(MetricJSON.decode(Array(spaced.utf8)))
    let frames = [Array("SWP1".utf8), Array("METRIC".utf8), Array(spaced.utf8)]
    guard case .metric(let report) = try WireCodec.decodeWorkerMessage(frames).get() else {
      return XCTFail("not a METRIC")
    }
    XCTAssertEqual(
      report, MetricReport(attempt: AttemptID(trial: 4, attempt: 1), epoch: 3, values: ["val_loss": 1.5]))
  }

  /// Whatever the fast reader accepts, JSONDecoder accepts with the same value; mutations of
  /// canonical bodies (flipped, dropped, inserted bytes) never trap.
  func testMutatedBodiesAgreeWithJSONDecoderWheneverAccepted() {
    var generator = Generator(seed: 99)
    let decoder = WireCodec.decoder()
    let alphabet = Array(#"0123456789-+.eE",:{}"\ naif"#.utf8)
    var accepted = 0
    for _ in 0..<20_000 {
      var bytes = MetricJSON.encode(randomReport(&generator))
      for _ in 0..<Int.random(in: 1...3, using: &generator) {
        let index = Int.random(in: 0..<bytes.count, using: &generator)
        switch Int.random(in: 0..<3, using: &generator) {
        case 0: bytes[index] = alphabet.randomElement(using: &generator)!
        case 1: bytes.remove(at: index)
        default: bytes.insert(alphabet.randomElement(using: &generator)!, at: index)
        }
        if bytes.isEmpty { break }
      }
      guard let fast = MetricJSON.decode(bytes) else { continue }
      accepted += 1
      guard let reference = try? decoder.decode(MetricReport.self, from: Data(bytes)) else {
        return XCTFail("accepted what JSONDecoder refuses: \(String(decoding: bytes, as: UTF8.self))")
      }
      same(fast, reference)
    }
    XCTAssertGreaterThan(accepted, 100, "the mutations should leave some bodies valid")
  }

  func testRefusesWhatIsNotCanonical() {
    let bodies = [
      #"{"attempt":{"attempt":1,"trial":2},"epoch":3,"values":{"a":1,"a":2}}"#,  // duplicate key
      #"{"attempt":{"attempt":1,"trial":2},"epoch":3,"values":{"a":01}}"#,  // leading zero
      #"{"attempt":{"attempt":1,"trial":2},"epoch":3,"values":{"a":1e999}}"#,  // overflows
      #"{"attempt":{"attempt":1,"trial":99999999999999999999},"epoch":3,"values":{}}"#,
      #"{"attempt":{"attempt":1,"trial":2},"epoch":3.0,"values":{}}"#,
      #"{"attempt":{"attempt":1,"trial":2},"epoch":3,"values":{"a":1}} "#,
      #"{"attempt":{"attempt":1,"trial":2},"epoch":3,"values":{"a\u0041":1}}"#,
      #"{"attempt":{"attempt":1,"trial":2},"epoch":3,"values":{"a":.5}}"#,
      #"{"attempt":{"attempt":1,"trial":2},"epoch":3,"values":{"a":"NaN"}}"#,
    ]
    for body in bodies { XCTAssertNil(MetricJSON.decode(Array(body.utf8)), body) }
    XCTAssertEqual(
      MetricJSON.decode(Array(#"{"attempt":{"attempt":1,"trial":2},"epoch":3,"values":{}}"#.utf8)),
      MetricReport(attempt: AttemptID(trial: 2, attempt: 1), epoch: 3, values: [:]))
  }

  /// Stored metric maps read back: the canonical form by the fast reader, another writer's
  /// form through the fallback, non-numbers as nil; non-finite values as NaN and ±∞.
  func testStoredValuesReadBack() {
    let values: [String: Double] = ["val_loss": 0.25, "lr": 1e-5, "train_loss": .nan, "x": -.infinity]
    let stored = MetricJSON.encode(values: values)
    let back = MetricJSON.decodeValues(stored)
    XCTAssertEqual(back?["val_loss"], 0.25)
    XCTAssertEqual(back?["lr"], 1e-5)
    XCTAssertEqual(back?["x"], -.infinity)
    XCTAssertTrue(back?["train_loss"]?.isNaN == true)
    XCTAssertEqual(MetricJSON.decodeValues(#"{ "val_loss" : 0.5 }"#), ["val_loss": 0.5])
    XCTAssertEqual(MetricJSON.decodeValues("{}"), [:])
    XCTAssertNil(MetricJSON.decodeValues(#"{"val_loss": "high"}"#))
    XCTAssertNil(MetricJSON.decodeValues("not json"))
  }
}
