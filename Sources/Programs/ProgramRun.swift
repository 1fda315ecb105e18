import Foundation
import Vocabulary

/// How a program trial's process is started and judged, as pure values: the environment it
/// gets, and the outcome its exit and reports amount to.
public enum ProgramRun {
  /// Variables a program never sees: sweepd's own secrets.
  public static let withheld: Set<String> = ["SWEEPD_CURVE_SECRET_KEY", "SWEEPD_CURVE_SERVER_KEY"]

  /// The program's environment: the worker's own, minus `withheld`, plus the trial's
  /// identity, its parameters file and metrics descriptor, and `CUDA_VISIBLE_DEVICES` when
  /// it has GPUs (an empty list hides every GPU: `""` is not "all").
  public static func environment(
    worker: [String: String], sweep: String, trial: Int64, attempt: Int, parametersFile: String,
    metricsFD: Int32,
    gpus: [String]?
  ) -> [String: String] {
    var environment = worker.filter { !withheld.contains($0.key) }
    environment["SWEEPD_SWEEP_ID"] = sweep
    environment["SWEEPD_TRIAL_ID"] = String(trial)
    environment["SWEEPD_ATTEMPT"] = String(attempt)
    environment["SWEEPD_PARAMS_FILE"] = parametersFile
    environment["SWEEPD_METRICS_FD"] = String(metricsFD)
    if let gpus { environment["CUDA_VISIBLE_DEVICES"] = gpus.joined(separator: ",") }
    return environment
  }

  /// How the process ended.
  public enum Exit: Hashable, Sendable {
    case status(Int32)
    case signal(Int32)
  }

  /// The trial's outcome and message:
  /// - stopped on request (a STOP) → `stopped`, whatever the exit;
  /// - over its time limit → `failed` ("timed out after N s");
  /// - a non-zero exit or a signal → `failed`, with the last lines of standard error;
  /// - a non-finite value of the sweep's metric → `diverged` (at its step);
  /// - exit 0 without one value of the metric → `failed`, naming the metric and the keys
  ///   the program did report;
  /// - otherwise `completed`.
  public static func outcome(
    exit: Exit, metric: String, reports: [MetricsChannel.Report], stderrTail: String, stopped: Bool,
    timedOut: Double? = nil
  ) -> (TrialOutcome, message: String?) {
    if stopped { return (.stopped, nil) }
    if let limit = timedOut { return (.failed, "timed out after \(formatNumber(limit)) s (max_seconds)") }
    let tail = lastLines(stderrTail, 5)
    switch exit {
    case .status(let code) where code != 0:
      return (.failed, "exited with status \(code)" + (tail.isEmpty ? "" : ": \(tail)"))
    case .signal(let number):
      return (.failed, "killed by signal \(number)" + (tail.isEmpty ? "" : ": \(tail)"))
    default: break
    }
    for (offset, report) in reports.enumerated() {
      if let value = report.values[metric], !value.isFinite {
        return (.diverged, "\(metric) = \(value) at step \(report.step ?? offset + 1)")
      }
    }
    guard reports.contains(where: { $0.values[metric] != nil }) else {
      let keys = Set(reports.flatMap(\.values.keys)).sorted()
      return (
        .failed,
        "the program never reported \(metric)"
          + (keys.isEmpty
            ? " (it reported no metrics at all)" : "; it reported \(keys.joined(separator: ", "))")
      )
    }
    return (.completed, nil)
  }

  /// The last `count` non-empty lines of `text`, joined with " | ".
  static func lastLines(_ text: String, _ count: Int) -> String {
    text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter {
      !$0.isEmpty
    }
    .suffix(count).joined(separator: " | ")
  }
}
