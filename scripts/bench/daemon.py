"""Runs the daemon benchmarks of scripts/bench/daemon and prints Markdown tables."""
import argparse
import json
import os
import sqlite3
import statistics
import subprocess
import tempfile
import time

DISPATCH = """name: dispatch
method: random
run_cap: {trials}
seed: 1
metric: {{name: val_loss, goal: minimize}}
model: {{kind: rosenbrock}}
optimizer: {{name: sgd}}
training: {{epochs: 1}}
parameters:
  lr: {{distribution: log_uniform_values, min: 1.0e-5, max: 1.0e-3}}
"""
METRICS = """name: metrics
method: grid
seed: 1
metric: {{name: val_loss, goal: minimize}}
model: {{kind: rosenbrock}}
optimizer: {{name: sgd, lr: 1.0e-6}}
training: {{epochs: {epochs}}}
parameters:
  lr: {{value: 1.0e-6}}
"""
SCALING = """name: scaling
method: grid
seed: 1
repeats: 4
metric: {name: val_error, goal: minimize}
data: {dataset: digits}
model: {kind: mlp, hidden: [128]}
training: {epochs: 40, batch_size: 32}
parameters:
  optimizer: {values: [sgd, momentum, adam, rmsprop, adagrad, adamw]}
  lr: {values: [0.1, 0.03, 0.01, 0.003]}
"""


def run_sweep(sweepd, config, work, name, *options):
    path = os.path.join(work, f"{name}.yaml")
    with open(path, "w") as handle:
        handle.write(config)
    db = os.path.join(work, f"{name}.db")
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(db + suffix):
            os.remove(db + suffix)
    started = time.perf_counter()
    output = subprocess.run(
        [sweepd, "run", path, "--db", db, "--format", "json", *options],
        check=True, capture_output=True, text=True).stdout
    return time.perf_counter() - started, json.loads(output), db


def span(db):
    """Seconds from the first trial's start to the last trial's end, from the store."""
    first, last = sqlite3.connect(db).execute(
        "select min(updatedAt - seconds), max(updatedAt) from trial").fetchone()
    return last - first


def dispatch(args, work):
    seconds, board, _ = run_sweep(args.sweepd, DISPATCH.format(trials=args.trials), work, "dispatch", "--workers", "2")
    done = sum(t["status"] == "completed" for t in board["trials"])
    metric_seconds, _, db = run_sweep(args.sweepd, METRICS.format(epochs=args.epochs), work, "metrics", "--workers", "2")
    rows = sqlite3.connect(db).execute("select count(*) from metric").fetchone()[0]
    print("| measurement | size | wall time (s) | rate | target |")
    print("|---|---:|---:|---:|---:|")
    print(f"| dispatch: trivial trials, start → leaderboard, 2 slots | {done}/{args.trials} completed "
          f"| {seconds:.2f} | **{done / seconds:,.0f} trials/s** | ≥ 2,000 trials/s |")
    print(f"| metric ingestion: one trial's epochs, stored | {rows}/{args.epochs} rows | {metric_seconds:.2f} "
          f"| **{rows / metric_seconds:,.0f} METRIC/s** | ≥ 20,000 METRIC/s |")
    print()


def ceiling(sweepd):
    """The machine's own 2-core scaling: two independent `sweepd train` processes against one."""
    command = [sweepd, "train", "--epochs", "800", "--cores", "1", "--format", "json"]
    started = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True)
    single = time.perf_counter() - started
    started = time.perf_counter()
    pair = [subprocess.Popen(command, stdout=subprocess.DEVNULL) for _ in range(2)]
    for process in pair:
        process.wait()
    return 2 * single / (time.perf_counter() - started)


def scaling(args, work):
    results = {1: [], 2: []}
    ceilings = []
    for _ in range(args.rounds):
        ceilings.append(ceiling(args.sweepd))
        for workers in (1, 2):
            seconds, board, db = run_sweep(
                args.sweepd, SCALING, work, f"scaling{workers}", "--workers", str(workers), "--cores", str(workers))
            trials = len(board["trials"])
            results[workers].append((trials / span(db), trials / seconds))
    one = [r[0] for r in results[1]]
    two = [r[0] for r in results[2]]
    ratios = [b / a for a, b in zip(one, two)]
    walls = [b[1] / a[1] for a, b in zip(results[1], results[2])]
    print("| digits MLP trials (96 × 40 epochs) | 1 slot, 1 core | 2 slots, 2 cores | ratio (median) | range | target |")
    print("|---|---:|---:|---:|---:|---:|")
    print(f"| trials/s over the sweep's span | {statistics.median(one):.1f} | {statistics.median(two):.1f} "
          f"| **{statistics.median(ratios):.2f}×** | {min(ratios):.2f}–{max(ratios):.2f}× | ≥ 1.9× |")
    print(f"| trials/s, process start → leaderboard | {statistics.median(r[1] for r in results[1]):.1f} "
          f"| {statistics.median(r[1] for r in results[2]):.1f} | {statistics.median(walls):.2f}× "
          f"| {min(walls):.2f}–{max(walls):.2f}× | — |")
    print(f"| the machine's ceiling: two independent `sweepd train` processes against one | — | — "
          f"| {statistics.median(ceilings):.2f}× | {min(ceilings):.2f}–{max(ceilings):.2f}× | — |")
    print()


def against_optuna(args, work):
    root = os.getcwd()
    config = open(os.path.join(root, "configs/digits-tpe-median.yaml")).read()
    data = os.path.join(root, "Sources/Training/Resources/digits.csv.gz")
    # The config uses Optuna's rule (`compare: step`), as the peer does; the same sweep with
    # sweepd's default rule (Vizier's running averages) is measured alongside.
    step_config = config
    default_config = config.replace(", compare: step}", "}")
    assert default_config != config
    ours, ours_step, theirs = [], [], []

    def sweep(text, name):
        seconds, board, _ = run_sweep(args.sweepd, text, work, name, "--workers", "2")
        epochs = sum(t["epochs"] for t in board["trials"])
        best = min(t["best"]["value"] for t in board["trials"] if t["best"]["value"] is not None)
        stopped = sum(t["status"] == "early_stopped" for t in board["trials"])
        return seconds, best, epochs, stopped

    for _ in range(args.rounds):
        ours.append(sweep(default_config, "tpe-median"))
        ours_step.append(sweep(step_config, "tpe-median-step"))
        peer = json.loads(subprocess.run(
            [args.python, "scripts/bench/optuna_torch_sweep.py", "--data", data],
            check=True, capture_output=True, text=True).stdout)
        theirs.append((peer["seconds"], peer["best_val_error"], peer["epochs"], peer["pruned"]))
    ratios = [t[0] / o[0] for o, t in zip(ours, theirs)]
    step_ratios = [t[0] / o[0] for o, t in zip(ours_step, theirs)]
    median = lambda rows, i: statistics.median(r[i] for r in rows)
    print("| 50-trial digits sweep, TPE + median rule | wall time (s) | best val error | epochs trained | stopped early |")
    print("|---|---:|---:|---:|---:|")
    print(f"| Optuna 5 + PyTorch, 1 process (study.optimize only) | {median(theirs, 0):.2f} "
          f"| {median(theirs, 1):.4f} | {median(theirs, 2):.0f} | {median(theirs, 3):.0f} |")
    print(f"| sweepd run, 2 slots (process start → leaderboard), the same rule (`compare: step`) "
          f"| {median(ours_step, 0):.2f} | {median(ours_step, 1):.4f} | {median(ours_step, 2):.0f} "
          f"| {median(ours_step, 3):.0f} |")
    print(f"| sweepd run, 2 slots, sweepd's default rule (Vizier's running averages) "
          f"| {median(ours, 0):.2f} | {median(ours, 1):.4f} | {median(ours, 2):.0f} | {median(ours, 3):.0f} |")
    print()
    print(f"Speed-up with the same rule, median of {args.rounds} interleaved rounds: "
          f"**{statistics.median(step_ratios):.1f}×** (range {min(step_ratios):.1f}–{max(step_ratios):.1f}×; "
          f"target ≥ 20×); best validation error per round (sweepd, peer): "
          + ", ".join(f"{o[1]:.4f}/{t[1]:.4f}" for o, t in zip(ours_step, theirs)) + ".")
    print()
    print(f"With sweepd's default rule: {statistics.median(ratios):.1f}× "
          f"(range {min(ratios):.1f}–{max(ratios):.1f}×); best validation error per round (sweepd, peer): "
          + ", ".join(f"{o[1]:.4f}/{t[1]:.4f}" for o, t in zip(ours, theirs)) + ".")
    print()


def against_baseline(args, work):
    """The same binary-independent sweeps with two sweepd binaries, interleaved rounds:
    dispatch, metric ingestion, and the Optuna + PyTorch ratio (same rule). Medians and the
    new/old ratio of each; the peer runs once per round, between the two."""
    root = os.getcwd()
    tpe = open(os.path.join(root, "configs/digits-tpe-median.yaml")).read()
    data = os.path.join(root, "Sources/Training/Resources/digits.csv.gz")
    binaries = {"baseline": args.baseline, "this build": args.sweepd}
    rows = {name: {"dispatch": [], "ingestion": [], "optuna": []} for name in binaries}
    peer_seconds = []
    for _ in range(args.rounds):
        peer = None
        for name, binary in binaries.items():
            seconds, board, _ = run_sweep(binary, DISPATCH.format(trials=args.trials), work, "dispatch", "--workers", "2")
            done = sum(t["status"] == "completed" for t in board["trials"])
            rows[name]["dispatch"].append(done / seconds)
            seconds, _, db = run_sweep(binary, METRICS.format(epochs=args.epochs), work, "metrics", "--workers", "2")
            stored = sqlite3.connect(db).execute("select count(*) from metric").fetchone()[0]
            rows[name]["ingestion"].append(stored / seconds)
            if peer is None:
                peer = json.loads(subprocess.run(
                    [args.python, "scripts/bench/optuna_torch_sweep.py", "--data", data],
                    check=True, capture_output=True, text=True).stdout)
                peer_seconds.append(peer["seconds"])
            seconds, _, _ = run_sweep(binary, tpe, work, "tpe-median-step", "--workers", "2")
            rows[name]["optuna"].append(peer["seconds"] / seconds)
    median = statistics.median
    print(f"| measurement (median of {args.rounds} interleaved rounds) | baseline | this build | this / baseline |")
    print("|---|---:|---:|---:|")
    for key, label, unit in [
        ("dispatch", f"dispatch: {args.trials:,} trivial trials, 2 slots", "trials/s"),
        ("ingestion", f"metric ingestion: {args.epochs:,} epochs of one trial", "METRIC/s"),
        ("optuna", "Optuna + PyTorch time ÷ sweepd time, 50-trial digits TPE + median", "×"),
    ]:
        old, new = median(rows["baseline"][key]), median(rows["this build"][key])
        pairs = [b / a for a, b in zip(rows["baseline"][key], rows["this build"][key])]
        fmt = (lambda x: f"{x:,.0f} {unit}") if unit != "×" else (lambda x: f"{x:.1f}×")
        print(f"| {label} | {fmt(old)} | {fmt(new)} | **{median(pairs):.2f}** "
              f"(rounds {min(pairs):.2f}–{max(pairs):.2f}) |")
    print()
    print(f"Peer (Optuna + PyTorch) wall time per round: " + ", ".join(f"{x:.1f} s" for x in peer_seconds) + ".")
    print()


def with_dashboard(args, work):
    """Dispatch with the dashboard open and refreshing (the sweep page's requests, made by
    scripts/bench/dashboard_client.py) against without, interleaved rounds, medians."""
    here = os.path.dirname(os.path.abspath(__file__))
    plain, open_page, fetched = [], [], []
    config = DISPATCH.format(trials=args.trials)
    for _ in range(args.rounds):
        seconds, board, _ = run_sweep(args.sweepd, config, work, "dispatch-plain", "--workers", "2")
        plain.append(sum(t["status"] == "completed" for t in board["trials"]) / seconds)
        log = os.path.join(work, "dashboard.log")
        if os.path.exists(log):
            os.remove(log)
        path = os.path.join(work, "dispatch-dashboard.yaml")
        with open(path, "w") as handle:
            handle.write(config)
        db = os.path.join(work, "dispatch-dashboard.db")
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(db + suffix):
                os.remove(db + suffix)
        with open(log, "w") as stderr:
            client = subprocess.Popen(
                ["python3", os.path.join(here, "dashboard_client.py"), log, "600"],
                stdout=subprocess.PIPE, text=True)
            started = time.perf_counter()
            output = subprocess.run(
                [args.sweepd, "run", path, "--db", db, "--format", "json", "--workers", "2", "--http", "127.0.0.1:0"],
                check=True, stdout=subprocess.PIPE, stderr=stderr, text=True).stdout
            seconds = time.perf_counter() - started
            board = json.loads(output)
            fetched.append(client.communicate(timeout=60)[0].strip())
        open_page.append(sum(t["status"] == "completed" for t in board["trials"]) / seconds)
    ratios = [b / a for a, b in zip(plain, open_page)]
    print("| dispatch, trivial trials, 2 slots | without the dashboard | with it open and refreshing | ratio (median) | range | target |")
    print("|---|---:|---:|---:|---:|---:|")
    print(f"| trials/s, start → leaderboard | {statistics.median(plain):,.0f} | {statistics.median(open_page):,.0f} "
          f"| **{statistics.median(ratios):.2f}** | {min(ratios):.2f}–{max(ratios):.2f} | ≥ 0.90 |")
    print()
    print(f"Dashboard client per round: {'; '.join(fetched)}.")
    print()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--sweepd", required=True)
    parser.add_argument("--python", required=True)
    parser.add_argument("--trials", type=int, default=20000)
    parser.add_argument("--epochs", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--parts", nargs="*", default=["1", "2", "3", "4"])
    parser.add_argument("--baseline", help="another sweepd binary: compare it with --sweepd (A/B)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        if args.baseline:
            against_baseline(args, work)
            return
        if "1" in args.parts:
            dispatch(args, work)
        if "2" in args.parts:
            scaling(args, work)
        if "3" in args.parts:
            against_optuna(args, work)
        if "4" in args.parts:
            with_dashboard(args, work)


if __name__ == "__main__":
    main()
