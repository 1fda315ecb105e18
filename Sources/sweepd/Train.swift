import ArgumentParser
import Foundation
import Logging
import Training
import Vocabulary
import Yams

/// `sweepd train`: one trial, one line per epoch.
struct Train: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Train one model and print its metrics, one line per epoch.",
    discussion: """
      The trial comes from --config (YAML: data, model, optimizer, schedule, training, seed), \
      from flags, or both (flags win). With neither, it trains the default: a 64-128-10 MLP \
      on the built-in digits data with Adam, 30 epochs, batch 32.

      Examples:
        sweepd train
        sweepd train --config configs/spirals-sgd-hd.yaml
        sweepd train --dataset moons --hidden 32,32 --optimizer rmsprop --set lr=0.005
        sweepd train --dataset csv --path houses.csv --target price --task regression
      """)

  @Option(help: "A YAML trial config.") var config: String?
  @Option(help: "Data set: digits, spirals, moons, circles, blobs, xor, sine, csv, idx.") var dataset: String?
  @Option(help: "CSV file (with --dataset csv).") var path: String?
  @Option(help: "CSV: the target column (default: the last).") var target: String?
  @Option(
    help:
      "CSV: classification or regression (default: regression when the target holds many distinct numbers with fractions, else classification)."
  )
  var task: DataSpec.CSVTask?
  @Option(help: "Model: mlp, linear, logistic, beale, rosenbrock.") var model: String?
  @Option(help: "Hidden layer widths, comma-separated (e.g. 128,64).") var hidden: String?
  @Option(help: "Activation: relu, tanh, sigmoid, leaky_relu, gelu.") var activation: String?
  @Option(name: .customLong("init"), help: "Initializer: he, xavier, torch_default.") var initializer: String?
  @Option(help: "Optimizer name (see docs/optimizers.md).") var optimizer: String?
  @Option(name: .customLong("set"), help: "An optimizer hyperparameter, KEY=VALUE (repeatable).")
  var settings: [String] = []
  @Option(help: "Learning-rate schedule kind.") var schedule: String?
  @Option(help: "Epochs.") var epochs: Int?
  @Option(help: "Batch size.") var batchSize: Int?
  @Option(help: "Seed of weights and shuffling.") var seed: UInt64?
  @Option(help: "Threads for this trial's gradient shards (default: all cores).") var cores: Int?
  @Option(help: "Output: table or json (JSON lines).") var format: OutputFormat = .table

  enum OutputFormat: String, ExpressibleByArgument { case table, json }

  func validate() throws {
    if let cores, cores < 1 { throw ValidationError("--cores must be ≥ 1, got \(cores)") }
    if let epochs, epochs < 1 { throw ValidationError("--epochs must be ≥ 1, got \(epochs)") }
    if let batchSize, batchSize < 1 { throw ValidationError("--batch-size must be ≥ 1, got \(batchSize)") }
  }

  func run() throws {
    Sweepd.bootstrapLogging()
    let logger = Logger(label: "sweepd.train")
    BLASLauncher.prepare(logger: logger)
    var spec = try makeSpec()
    // With test rows, the trial is scored on them after its last epoch: its own model
    // (`evaluate`), or with `data.refit: true` one refit on training + validation rows.
    if spec.data.hasTest && spec.data.stage == .search {
      spec.data.stage = spec.data.refit == true ? .refit : .evaluate
    }
    let threads = cores ?? ProcessInfo.processInfo.activeProcessorCount
    let runner: TrialRunner
    do {
      runner = try TrialRunner(spec: spec, cores: threads)
    } catch {
      throw CommandFailure("\(error)")
    }
    if let data = runner.data { logger.info("\(data.description)") }
    let classification = runner.data?.training.task.isClassification ?? false
    let refit = spec.data.stage == .refit
    let errorColumn = refit ? nil : classification ? "val_error" : (runner.data == nil ? nil : "val_rmse")
    let folds = (runner.data?.splits.count ?? 1) > 1
    var columns = ["epoch", "train_loss"] + (refit ? [] : ["val_loss"])
    if let errorColumn { columns += [errorColumn] + (folds ? [errorColumn + "_std"] : []) }
    columns += ["lr", "seconds"]
    let width = Swift.max(12, (columns.map(\.count).max() ?? 0) + 2)
    if format == .table {
      print(columns.map { $0.padding(toLength: width, withPad: " ", startingAt: 0) }.joined())
    }
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    let result = try runner.run { metrics in
      switch format {
      case .json:
        print(String(decoding: try encoder.encode(metrics), as: UTF8.self))
      case .table:
        let cells = columns.map { column in
          column == "seconds"
            ? String(format: "%.4f", metrics.seconds) : metrics.value(named: column).map(fmt) ?? "–"
        }
        print(cells.map { $0.padding(toLength: width, withPad: " ", startingAt: 0) }.joined())
      }
      fflush(nil)
      return .continue
    }
    let summary = summarize(result, metric: errorColumn ?? (refit ? "train_loss" : "val_loss"))
    let test =
      result.metrics.last.map { last in
        last.values.filter { $0.key.hasPrefix("test_") }.sorted { $0.key < $1.key }
      } ?? []
    if format == .json {
      var object: [String: Any] = ["status": result.status.rawValue, "epochs_run": result.epochsRun]
      if let epoch = result.divergedEpoch { object["diverged_epoch"] = epoch }
      if !test.isEmpty { object["test"] = Dictionary(uniqueKeysWithValues: test.map { ($0.key, $0.value) }) }
      let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
      print(String(decoding: data, as: UTF8.self))
    } else {
      print(summary)
      if !test.isEmpty, let data = runner.data, let rows = data.test?.rows {
        let model =
          refit
          ? "refit on \(data.training.rows) training + validation rows"
          : folds ? "mean of the \(data.splits.count) fold models" : "the model of epoch \(result.epochsRun)"
        print(
          "test (\(rows) held-out rows, \(model)): "
            + test.map { "\($0.key) \(fmt($0.value))" }.joined(separator: ", "))
      }
    }
  }

  func makeSpec() throws -> TrialSpec {
    var spec = TrialSpec(data: DataSpec(dataset: .digits), model: ModelSpec(hidden: [128]))
    if let config {
      let text: String
      do { text = try String(contentsOfFile: config, encoding: .utf8) } catch {
        throw CommandFailure("cannot read \(config): \(error.localizedDescription)")
      }
      do {
        spec = try YAMLDecoder().decode(TrialSpec.self, from: text)
      } catch let error as DecodingError {
        throw CommandFailure("\(config): \(error.readableDescription)")
      } catch {
        throw CommandFailure("\(config): \(error)")
      }
    }
    if let dataset {
      guard let source = DataSpec.Source(rawValue: dataset) else {
        throw ValidationError(
          "unknown data set '\(dataset)'; known: \(DataSpec.Source.allCases.map(\.rawValue).joined(separator: ", "))"
        )
      }
      spec.data.dataset = source
    }
    if let path { spec.data.path = path }
    if let target { spec.data.target = target }
    if let task { spec.data.task = task }
    if let model {
      guard let kind = ModelSpec.Kind(rawValue: model) else {
        throw ValidationError(
          "unknown model '\(model)'; known: \(ModelSpec.Kind.allCases.map(\.rawValue).joined(separator: ", "))"
        )
      }
      spec.model.kind = kind
    }
    if let hidden {
      let widths = hidden.split(separator: ",", omittingEmptySubsequences: false).map {
        Int($0.trimmingCharacters(in: .whitespaces))
      }
      guard !widths.isEmpty, widths.allSatisfy({ ($0 ?? 0) >= 1 }) else {
        throw ValidationError("--hidden takes comma-separated widths ≥ 1 such as 128,64; got '\(hidden)'")
      }
      spec.model.hidden = widths.map { $0! }
    }
    if let activation {
      guard let value = Activation(rawValue: activation) else {
        throw ValidationError(
          "unknown activation '\(activation)'; known: \(Activation.allCases.map(\.rawValue).joined(separator: ", "))"
        )
      }
      spec.model.activation = value
    }
    if let initializer {
      guard let value = Initializer(rawValue: initializer) else {
        throw ValidationError(
          "unknown initializer '\(initializer)'; known: \(Initializer.allCases.map(\.rawValue).joined(separator: ", "))"
        )
      }
      spec.model.initializer = value
    }
    if let optimizer {
      if optimizer != spec.optimizer.name { spec.optimizer = OptimizerSpec(name: optimizer) }
    }
    for (key, value) in try parseSettings(settings) { spec.optimizer.hyperparameters[key] = value }
    if let schedule {
      guard let kind = ScheduleSpec.Kind(rawValue: schedule) else {
        throw ValidationError(
          "unknown schedule '\(schedule)'; known: \(ScheduleSpec.Kind.allCases.map(\.rawValue).joined(separator: ", "))"
        )
      }
      spec.schedule = ScheduleSpec(kind: kind)
    }
    if let epochs { spec.epochs = epochs }
    if let batchSize { spec.batchSize = batchSize }
    if let seed { spec.seed = seed }
    return spec
  }
}

/// Parses repeated `KEY=VALUE` options.
func parseSettings(_ settings: [String]) throws -> [String: HyperparameterValue] {
  var result: [String: HyperparameterValue] = [:]
  for setting in settings {
    guard let equals = setting.firstIndex(of: "="), equals != setting.startIndex else {
      throw ValidationError("--set takes KEY=VALUE, got '\(setting)'")
    }
    let key = String(setting[..<equals])
    result[key] = HyperparameterValue(parsing: String(setting[setting.index(after: equals)...]))
  }
  return result
}

/// A compact number for tables.
func fmt(_ x: Double) -> String {
  if x == 0 { return "0" }
  if abs(x) >= 1e-3 && abs(x) < 1e5 { return String(format: "%.6g", x) }
  return String(format: "%.4e", x)
}

func summarize(_ result: TrialResult, metric: String) -> String {
  var text = "\(result.status.rawValue): \(result.epochsRun) epoch\(result.epochsRun == 1 ? "" : "s")"
  if let epoch = result.divergedEpoch { text += ", diverged in epoch \(epoch)" }
  let valued = result.metrics.compactMap { m in m.value(named: metric).map { (m.epoch, $0) } }
  if let best = valued.min(by: { $0.1 < $1.1 }) {
    text += ", best \(metric) \(fmt(best.1)) at epoch \(best.0)"
  }
  return text
}

extension DataSpec.CSVTask: ExpressibleByArgument {}
