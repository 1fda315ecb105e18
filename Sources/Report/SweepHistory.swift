import Foundation
import Search

/// Everything `sweepd report` draws, as the coordinator sends it (HISTORY): the sweep's
/// config text, its leaderboard, and every trial's per-epoch metrics from its current
/// attempt.
///
/// The JSON document is `{"file": …, "config": …, "data": {path: sha256}, "leaderboard": {…},
/// "curves": [{"trial": id, "epochs": [[epoch, {metric: value, …}], …]}, …]}`, with the
/// usual conventions (non-finite numbers as "nan", "inf", "-inf"). The coordinator splices
/// the stored metric objects in as they are, so building a reply costs no re-encoding.
public struct SweepHistory: Sendable {
  /// One epoch's metrics (`val_error`, `val_loss`, `train_loss`, `lr`, `seconds`, …).
  public struct Epoch: Sendable, Hashable {
    public var epoch: Int
    public var values: [String: Double]

    public init(epoch: Int, values: [String: Double]) {
      self.epoch = epoch
      self.values = values
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

  /// The reply document. `metrics` are (trial, epoch, stored JSON object) rows ordered by
  /// trial then epoch; each object is spliced in unchanged.
  public static func json(
    file: String, config: String, dataDigests: [String: String] = [:], leaderboard: Leaderboard,
    metrics: [(trial: Int64, epoch: Int, values: String)]
  ) -> [UInt8] {
    let encoder = ReportJSON.encoder()
    var out: [UInt8] = []
    out.reserveCapacity(metrics.count * 160 + config.utf8.count + 4096)
    out += Array(#"{"file":"#.utf8)
    out += Array((try? encoder.encode(file)) ?? Data(#""""#.utf8))
    out += Array(#","config":"#.utf8)
    out += Array((try? encoder.encode(config)) ?? Data(#""""#.utf8))
    out += Array(#","data":"#.utf8)
    out += Array((try? encoder.encode(dataDigests)) ?? Data("{}".utf8))
    out += Array(#","leaderboard":"#.utf8)
    var board = Array(leaderboard.render(.json).utf8)
    while board.last == UInt8(ascii: "\n") { board.removeLast() }
    out += board
    out += Array(#","curves":["#.utf8)
    var current: Int64?
    for row in metrics {
      if row.trial != current {
        if current != nil { out += Array("]},".utf8) }
        out += Array(#"{"trial":\#(row.trial),"epochs":["#.utf8)
        current = row.trial
      } else {
        out.append(UInt8(ascii: ","))
      }
      out += Array("[\(row.epoch),".utf8)
      out += Array(row.values.utf8)
      out.append(UInt8(ascii: "]"))
    }
    if current != nil { out += Array("]}".utf8) }
    out += Array("]}".utf8)
    return out
  }

  struct Document: Decodable {
    struct Curve: Decodable {
      var trial: Int64
      var epochs: [EpochEntry]
    }

    /// `[epoch, {metric: value}]`; values that are not numbers (none are written today)
    /// are skipped rather than failing the whole report.
    struct EpochEntry: Decodable {
      var epoch: Int
      var values: [String: Double]

      init(from decoder: Decoder) throws {
        var container = try decoder.unkeyedContainer()
        epoch = try container.decode(Int.self)
        let raw = try container.decode([String: Number].self)
        values = raw.compactMapValues(\.value)
      }
    }

    struct Number: Decodable {
      var value: Double?
      init(from decoder: Decoder) throws {
        value = try? decoder.singleValueContainer().decode(Double.self)
      }
    }

    var file: String
    var config: String
    var data: [String: String]?
    var leaderboard: LeaderboardDocument
    var curves: [Curve]
  }

  /// Reads the reply document.
  public init(json: [UInt8]) throws {
    let document = try ReportJSON.decoder().decode(Document.self, from: Data(json))
    var curves: [Int64: [Epoch]] = [:]
    for curve in document.curves {
      curves[curve.trial] = curve.epochs.map { Epoch(epoch: $0.epoch, values: $0.values) }
        .sorted { $0.epoch < $1.epoch }
    }
    self.init(
      file: document.file, config: document.config, dataDigests: document.data ?? [:],
      leaderboard: Leaderboard(document: document.leaderboard), curves: curves)
  }

  /// The sweep's spec, parsed from its config (nil if it no longer parses, e.g. after a
  /// format change; the report then treats every parameter as linear or categorical).
  public var spec: SweepSpec? { try? SweepConfig.parse(text: config, file: file, dataDigests: dataDigests) }
}
