import Foundation
import Vocabulary

/// Everything `sweepd report` draws, as the coordinator sends it (the HISTORY reply): the
/// sweep's config text, its leaderboard, and every trial's per-epoch metrics from its
/// current attempt.
///
/// The JSON document is `{"file": …, "config": …, "data": {path: sha256}, "leaderboard": {…},
/// "curves": [{"trial": id, "epochs": [[epoch, {metric: value, …}], …]}, …]}`, with the
/// usual conventions (sorted keys; non-finite numbers as "nan", "inf", "-inf").
public struct SweepHistory: Sendable {
  /// One epoch's metrics (`val_error`, `val_loss`, `train_loss`, `lr`, `seconds`, …).
  public struct Epoch: Sendable, Hashable, Codable {
    public var epoch: Int
    public var values: [String: Double]

    public init(epoch: Int, values: [String: Double]) {
      self.epoch = epoch
      self.values = values
    }

    /// `[epoch, {metric: value}]`. Values that are not numbers (none are written today) are
    /// skipped rather than failing the whole report.
    public init(from decoder: Decoder) throws {
      var container = try decoder.unkeyedContainer()
      epoch = try container.decode(Int.self)
      values = try container.decode([String: LenientNumber].self).compactMapValues(\.value)
    }

    public func encode(to encoder: Encoder) throws {
      var container = encoder.unkeyedContainer()
      try container.encode(epoch)
      try container.encode(values)
    }

    struct LenientNumber: Decodable {
      var value: Double?
      init(from decoder: Decoder) throws { value = try? decoder.singleValueContainer().decode(Double.self) }
    }
  }

  public var file: String
  public var config: String
  /// The uploaded data files the config names (path → SHA-256), so the config parses where
  /// the files are not.
  public var dataDigests: [String: String]
  public var leaderboard: Leaderboard
  /// Per trial id, its epochs in order.
  public var curves: [Int64: [Epoch]]

  public init(
    file: String, config: String, dataDigests: [String: String] = [:], leaderboard: Leaderboard,
    curves: [Int64: [Epoch]]
  ) {
    self.file = file
    self.config = config
    self.dataDigests = dataDigests
    self.leaderboard = leaderboard
    self.curves = curves
  }

  /// The wire form.
  struct Document: Codable {
    struct Curve: Codable {
      var trial: Int64
      var epochs: [Epoch]
    }

    var file: String
    var config: String
    var data: [String: String]?
    var leaderboard: LeaderboardDocument
    var curves: [Curve]
  }

  /// The reply document; curves in trial order.
  public var json: [UInt8] {
    DocumentJSON.encode(
      Document(
        file: file, config: config, data: dataDigests, leaderboard: LeaderboardDocument(leaderboard),
        curves: curves.keys.sorted().map { Document.Curve(trial: $0, epochs: curves[$0]!) }))
  }

  /// The reply document written from the store's rows: the envelope's members and the
  /// leaderboard by the documents' encoder, each epoch's metrics spliced in as the JSON
  /// object the store keeps (`MetricJSON.encode(values:)`), never decoded and encoded again.
  /// `rows` are ordered by trial, then epoch. Reads back (`init(json:)`) to the same value as
  /// `json`.
  ///
  /// Why by hand: re-encoding the stored epochs with `JSONEncoder` took 2.3 s of a 4.4 s
  /// `sweepd report` of a 5,000-trial, 200,000-epoch sweep on the coordinator's loop
  /// (measured); splicing costs nothing. Only the framing (brackets, commas, sorted member
  /// names) is written here.
  public static func json(
    file: String, config: String, dataDigests: [String: String], leaderboard: Leaderboard,
    storedEpochs rows: [(trial: Int64, epoch: Int, values: String)]
  ) -> [UInt8] {
    var out: [UInt8] = []
    out.reserveCapacity(rows.count * 160 + config.utf8.count + 4096)
    out += Array(#"{"config":"#.utf8) + DocumentJSON.encode(config) + Array(#","curves":["#.utf8)
    var index = 0
    while index < rows.count {
      // One trial: {"epochs":[[e,{…}],…],"trial":id} (members in sorted order).
      let trial = rows[index].trial
      if index > 0 { out.append(UInt8(ascii: ",")) }
      out += Array(#"{"epochs":["#.utf8)
      var first = true
      while index < rows.count && rows[index].trial == trial {
        if !first { out.append(UInt8(ascii: ",")) }
        first = false
        out += Array("[\(rows[index].epoch),".utf8) + Array(rows[index].values.utf8)
        out.append(UInt8(ascii: "]"))
        index += 1
      }
      out += Array(#"],"trial":\#(trial)}"#.utf8)
    }
    out += Array(#"],"data":"#.utf8) + DocumentJSON.encode(dataDigests)
    out += Array(#","file":"#.utf8) + DocumentJSON.encode(file)
    out += Array(#","leaderboard":"#.utf8) + DocumentJSON.encode(LeaderboardDocument(leaderboard))
    out.append(UInt8(ascii: "}"))
    return out
  }

  /// Reads the reply document.
  public init(json: [UInt8]) throws {
    let document = try DocumentJSON.decode(Document.self, from: json)
    var curves: [Int64: [Epoch]] = [:]
    for curve in document.curves { curves[curve.trial] = curve.epochs.sorted { $0.epoch < $1.epoch } }
    self.init(
      file: document.file, config: document.config, dataDigests: document.data ?? [:],
      leaderboard: Leaderboard(document: document.leaderboard), curves: curves)
  }
}
