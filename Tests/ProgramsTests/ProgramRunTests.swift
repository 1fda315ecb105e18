import Vocabulary
import XCTest

@testable import Programs

final class ProgramRunTests: XCTestCase {
  func testTheEnvironmentAProgramGets() {
    let environment = ProgramRun.environment(
      worker: ["PATH": "/usr/bin", "SWEEPD_CURVE_SECRET_KEY": "/keys/w.key", "HOME": "/root"], sweep: "s1-1",
      trial: 42, attempt: 2, parametersFile: "/run/params.json", metricsFD: 3, gpus: ["1"])
    XCTAssertNil(environment["SWEEPD_CURVE_SECRET_KEY"], "a program never sees sweepd's keys")
    XCTAssertEqual(environment["PATH"], "/usr/bin")
    XCTAssertEqual(environment["SWEEPD_SWEEP_ID"], "s1-1")
    XCTAssertEqual(environment["SWEEPD_TRIAL_ID"], "42")
    XCTAssertEqual(environment["SWEEPD_ATTEMPT"], "2")
    XCTAssertEqual(environment["SWEEPD_PARAMS_FILE"], "/run/params.json")
    XCTAssertEqual(environment["SWEEPD_METRICS_FD"], "3")
    XCTAssertEqual(environment["CUDA_VISIBLE_DEVICES"], "1")
    let noGPU = ProgramRun.environment(
      worker: ["CUDA_VISIBLE_DEVICES": "0,1"], sweep: "s", trial: 1, attempt: 1, parametersFile: "p",
      metricsFD: 3,
      gpus: [])
    XCTAssertEqual(noGPU["CUDA_VISIBLE_DEVICES"], "", "a trial without GPUs sees none")
  }

  func report(_ values: [String: Double], step: Int? = nil) -> MetricsChannel.Report {
    MetricsChannel.Report(step: step, values: values, ignored: [])
  }

  func testOutcomes() {
    let ok = [report(["val_loss": 0.5]), report(["val_loss": 0.3])]
    XCTAssertEqual(
      ProgramRun.outcome(exit: .status(0), metric: "val_loss", reports: ok, stderrTail: "", stopped: false).0,
      .completed)
    XCTAssertEqual(
      ProgramRun.outcome(exit: .signal(15), metric: "val_loss", reports: ok, stderrTail: "", stopped: true).0,
      .stopped)
    let crashed = ProgramRun.outcome(
      exit: .status(1), metric: "val_loss", reports: ok,
      stderrTail: "Traceback (most recent call last):\n  File \"train.py\", line 3\nValueError: bad lr\n\n",
      stopped: false)
    XCTAssertEqual(crashed.0, .failed)
    XCTAssertEqual(
      crashed.message,
      "exited with status 1: Traceback (most recent call last): | File \"train.py\", line 3 | ValueError: bad lr"
    )
    let silent = ProgramRun.outcome(
      exit: .status(0), metric: "val_loss", reports: [report(["loss": 1, "acc": 0.5])], stderrTail: "",
      stopped: false)
    XCTAssertEqual(silent.0, .failed)
    XCTAssertEqual(silent.message, "the program never reported val_loss; it reported acc, loss")
    let diverged = ProgramRun.outcome(
      exit: .status(0), metric: "val_loss", reports: [report(["val_loss": 0.5]), report(["val_loss": .nan])],
      stderrTail: "", stopped: false)
    XCTAssertEqual(diverged.0, .diverged)
    XCTAssertEqual(diverged.message, "val_loss = nan at step 2")
    XCTAssertEqual(
      ProgramRun.outcome(
        exit: .signal(9), metric: "val_loss", reports: ok, stderrTail: "", stopped: false, timedOut: 600
      ).message, "timed out after 600 s (max_seconds)")
  }
}
