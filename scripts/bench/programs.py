"""Program trials, measured (see scripts/bench/programs for what and why).

1. overhead: TRIALS trials of a tiny C program that reports one value and exits, `sweepd
   run` with 2 slots: trials per second over the run, and the time from the worker
   receiving ASSIGN to the program's first instruction (SWEEPD_ASSIGNED_AT against the
   program's clock at main), median and 90th percentile. Beside it, the floor: the same
   program started TRIALS times by Python's subprocess from 2 threads (no sweep at all).
2. against Optuna: the 50-trial digits sweep (TPE + median, 2 at a time) with PyTorch in a
   stand-alone script (torch_digits_trial.py): as a sweepd program sweep, and as Optuna
   calling the same script as a subprocess per trial (n_jobs=2, a journal file, the median
   pruner fed each epoch's line and the process killed when pruned). Wall time and best
   validation error, ROUNDS interleaved rounds, medians.
"""
import argparse
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
FIRST_C = r"""
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
int main(void) {
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  const char *assigned = getenv("SWEEPD_ASSIGNED_AT"), *fd = getenv("SWEEPD_METRICS_FD");
  double latency = assigned ? (now.tv_sec + now.tv_nsec / 1e9) - atof(assigned) : -1;
  char line[96];
  int n = snprintf(line, sizeof line, "{\"v\": 1, \"start_latency\": %.6f}\n", latency);
  if (fd) write(atoi(fd), line, n);
  return 0;
}
"""


def overhead(sweepd, trials, work):
    code = os.path.join(work, "overhead")
    os.makedirs(code)
    with open(os.path.join(code, "first.c"), "w") as f:
        f.write(FIRST_C)
    subprocess.run(["cc", "-O2", "-o", os.path.join(code, "first"), os.path.join(code, "first.c")], check=True)
    os.remove(os.path.join(code, "first.c"))
    with open(os.path.join(code, "sweep.yaml"), "w") as f:
        f.write(f"program: first\ncommand: [\"./first\"]\nmethod: random\nrun_cap: {trials}\n"
                "metric: {name: v, goal: minimize}\nparameters:\n  x: {min: 0.0, max: 1.0}\n")
    db = os.path.join(work, "overhead.db")
    env = dict(os.environ, XDG_CACHE_HOME=os.path.join(work, "cache"))
    started = time.perf_counter()
    subprocess.run([sweepd, "run", "sweep.yaml", "--workers", "2", "--db", db, "--top", "1"], cwd=code, env=env,
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    seconds = time.perf_counter() - started
    failed = sqlite3.connect(db).execute("select message from trial where state != 'completed'").fetchall()
    if failed:
        print(f"bench: {len(failed)} trials did not complete: {failed[:3]}", file=sys.stderr)
    rows = sqlite3.connect(db).execute("select \"values\" from metric").fetchall()
    latencies = sorted(json.loads(v)["start_latency"] * 1000 for (v,) in rows)
    completed = sqlite3.connect(db).execute("select count(*) from trial where state = 'completed'").fetchone()[0]
    # The floor: the same binary started and waited for, 2 at a time.
    binary = os.path.join(code, "first")
    count = [0]
    lock = threading.Lock()

    def spawn():
        while True:
            with lock:
                if count[0] >= trials:
                    return
                count[0] += 1
            subprocess.run([binary], env={"SWEEPD_METRICS_FD": "1"}, stdout=subprocess.DEVNULL)

    floor_started = time.perf_counter()
    threads = [threading.Thread(target=spawn) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    floor = time.perf_counter() - floor_started
    return {
        "trials": trials, "completed": completed, "seconds": seconds, "trials_per_second": trials / seconds,
        "latency_ms_median": statistics.median(latencies), "latency_ms_p90": latencies[int(0.9 * len(latencies))],
        "floor_spawns_per_second": trials / floor,
    }


def sweepd_torch(sweepd, python, data, work, round_index):
    code = os.path.join(work, f"torch-sweepd-{round_index}")
    os.makedirs(code)
    for name in ("torch_digits_trial.py", "optuna_torch_sweep.py"):
        shutil.copy(os.path.join(HERE, name), code)
    with open(os.path.join(code, "sweep.yaml"), "w") as f:
        f.write(f"""program: torch_digits_trial.py
command: ["{python}", "${{program}}", "${{args}}"]
method: tpe
run_cap: 50
seed: 3
metric: {{name: val_error, goal: minimize}}
early_terminate: {{type: median, min_trials: 5, grace_epochs: 1, compare: step}}
parameters:
  optimizer: {{values: [sgd, momentum, adam, rmsprop]}}
  lr: {{distribution: log_uniform_values, min: 1.0e-4, max: 0.3}}
  epochs: {{value: 20}}
  data: {{value: {data}}}
""")
    db = os.path.join(work, f"torch-{round_index}.db")
    env = dict(os.environ, XDG_CACHE_HOME=os.path.join(work, "cache"), OMP_NUM_THREADS="1")
    started = time.perf_counter()
    output = subprocess.run([sweepd, "run", "sweep.yaml", "--workers", "2", "--db", db, "--format", "json"],
                            cwd=code, env=env, check=True, capture_output=True, text=True).stdout
    seconds = time.perf_counter() - started
    trials = json.loads(output)["trials"]
    best = min(t["best"]["value"] for t in trials if t.get("best"))
    return {"seconds": seconds, "best_val_error": best,
            "completed": sum(t["status"] == "completed" for t in trials),
            "stopped": sum(t["status"] == "early_stopped" for t in trials),
            "epochs": sum(t["epochs"] for t in trials)}


OPTUNA_DRIVER = r"""
import json, os, subprocess, sys, time
import optuna
script, data, journal = sys.argv[1], sys.argv[2], sys.argv[3]
optuna.logging.set_verbosity(optuna.logging.WARNING)
try:
    from optuna.storages.journal import JournalFileBackend as Backend
except ImportError:
    from optuna.storages import JournalFileStorage as Backend
storage = optuna.storages.JournalStorage(Backend(journal))
study = optuna.create_study(direction="minimize", storage=storage,
                            sampler=optuna.samplers.TPESampler(seed=3),
                            pruner=optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=0))

def objective(trial):
    name = trial.suggest_categorical("optimizer", ["sgd", "momentum", "adam", "rmsprop"])
    lr = trial.suggest_float("lr", 1e-4, 0.3, log=True)
    process = subprocess.Popen([sys.executable, script, "--optimizer", name, "--lr", repr(lr), "--epochs", "20",
                                "--trial", str(trial.number), "--data", data],
                               stdout=subprocess.PIPE, text=True, env=dict(os.environ, OMP_NUM_THREADS="1"))
    best = float("inf")
    for step, line in enumerate(process.stdout, start=1):
        error = json.loads(line)["val_error"]
        if error != error:
            process.kill(); process.wait()
            raise optuna.TrialPruned()
        best = min(best, error)
        trial.report(error, step)
        if trial.should_prune():
            process.kill(); process.wait()
            raise optuna.TrialPruned()
    if process.wait() != 0:
        raise RuntimeError("the training script failed")
    return best

started = time.perf_counter()
study.optimize(objective, n_trials=50, n_jobs=2)
seconds = time.perf_counter() - started
best = min(min(t.intermediate_values.values()) for t in study.trials if t.intermediate_values)
states = [t.state for t in study.trials]
print(json.dumps({"seconds": seconds, "best_val_error": best,
                  "completed": sum(s == optuna.trial.TrialState.COMPLETE for s in states),
                  "stopped": sum(s == optuna.trial.TrialState.PRUNED for s in states),
                  "epochs": sum(len(t.intermediate_values) for t in study.trials)}))
"""


def optuna_torch(python, data, work, round_index):
    journal = os.path.join(work, f"optuna-{round_index}.journal")
    driver = os.path.join(work, "optuna_driver.py")
    with open(driver, "w") as f:
        f.write(OPTUNA_DRIVER)
    started = time.perf_counter()
    output = subprocess.run([python, driver, os.path.join(HERE, "torch_digits_trial.py"), data, journal],
                            check=True, capture_output=True, text=True).stdout
    wall = time.perf_counter() - started
    result = json.loads(output.strip().splitlines()[-1])
    result["seconds"] = wall  # the whole run, imports included, as for sweepd run
    return result


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--sweepd", required=True)
    parser.add_argument("--python", required=True)
    parser.add_argument("--data", required=True)
    parser.add_argument("--trials", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--parts", nargs="*", default=["1", "2"])
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="sweepd-bench-programs-")
    try:
        if "1" in args.parts:
            result = overhead(os.path.abspath(args.sweepd), args.trials, work)
            print("### Per-trial overhead (2 slots)\n")
            print("| trials | completed | seconds | trials/s | ASSIGN → first instruction, median | p90 | floor: bare spawns/s (2 threads) |")
            print("|---|---|---|---|---|---|---|")
            print(f"| {result['trials']} | {result['completed']} | {result['seconds']:.2f} | "
                  f"{result['trials_per_second']:.0f} | {result['latency_ms_median']:.2f} ms | "
                  f"{result['latency_ms_p90']:.2f} ms | {result['floor_spawns_per_second']:.0f} |\n")
            sys.stdout.flush()
        if "2" in args.parts:
            rows = {"sweepd": [], "optuna": []}
            for index in range(args.rounds):
                rows["sweepd"].append(sweepd_torch(os.path.abspath(args.sweepd), args.python, args.data, work, index))
                rows["optuna"].append(optuna_torch(args.python, args.data, work, index))
            print(f"### The digits sweep as a PyTorch script: sweepd vs Optuna, {args.rounds} round(s), medians\n")
            print("| runner | wall s | best val_error | completed | stopped early | epochs trained | rounds' wall s |")
            print("|---|---|---|---|---|---|---|")
            for name, label in (("sweepd", "sweepd run (program sweep, TPE + median, 2 slots)"),
                                ("optuna", "Optuna (subprocess per trial, n_jobs=2, journal file, MedianPruner)")):
                r = rows[name]
                rounds = ", ".join("%.1f" % x["seconds"] for x in r)
                print(f"| {label} | {statistics.median(x['seconds'] for x in r):.1f} | "
                      f"{statistics.median(x['best_val_error'] for x in r):.4f} | "
                      f"{statistics.median(x['completed'] for x in r):.0f} | "
                      f"{statistics.median(x['stopped'] for x in r):.0f} | "
                      f"{statistics.median(x['epochs'] for x in r):.0f} | "
                      f"{rounds} |")
            ratio = statistics.median(x["seconds"] for x in rows["optuna"]) / statistics.median(
                x["seconds"] for x in rows["sweepd"])
            print(f"\nOptuna's wall time / sweepd's: {ratio:.2f}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
