"""Runs scripts/bench/dashboard: page times of the dashboard over a large sweep."""
import argparse
import json
import os
import re
import sys
import statistics
import subprocess
import tempfile
import time
import urllib.request

CONFIG = """name: large
method: random
run_cap: {trials}
seed: 1
metric: {{name: val_loss, goal: minimize}}
model: {{kind: rosenbrock}}
optimizer: {{name: adam}}
training: {{epochs: {epochs}}}
parameters:
  lr: {{distribution: log_uniform_values, min: 1.0e-4, max: 1.0e-1}}
  beta1: {{min: 0.8, max: 0.99}}
"""


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--sweepd", required=True)
    parser.add_argument("--trials", type=int, default=5000)
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    here = os.path.dirname(os.path.abspath(__file__))
    with tempfile.TemporaryDirectory() as work:
        config = os.path.join(work, "large.yaml")
        with open(config, "w") as handle:
            handle.write(CONFIG.format(trials=args.trials, epochs=args.epochs))
        db = os.path.join(work, "large.db")
        started = time.perf_counter()
        subprocess.run([args.sweepd, "run", config, "--db", db, "--workers", "2", "--top", "1"],
                       check=True, capture_output=True)
        made = time.perf_counter() - started
        log = os.path.join(work, "coordinator.log")
        with open(log, "w") as output:
            coordinator = subprocess.Popen(
                [args.sweepd, "coordinator", "--bind", "tcp://127.0.0.1:*", "--db", db, "--http", "127.0.0.1:0"],
                stdout=output, stderr=output)
        try:
            base = None
            deadline = time.time() + 30
            while base is None and time.time() < deadline:
                match = re.search(r"dashboard at (http://[^/\s]+)/", open(log).read())
                base = match.group(1) if match else None
                time.sleep(0.05)
            sweep = json.loads(urllib.request.urlopen(base + "/api/sweeps").read())["sweeps"][0]["sweep"]
            best = json.loads(urllib.request.urlopen(base + "/api/sweeps/%s/leaderboard?top=1" % sweep).read())
            trial = best["trials"][0]["trial"]
            pages = [("sweeps", "/"), ("one sweep", "/sweeps/" + sweep), ("one trial", "/trials/%d" % trial),
                     ("workers", "/workers"), ("leaderboard JSON (all trials)", "/api/sweeps/%s/leaderboard" % sweep)]
            print(f"A {args.trials:,}-trial, {args.epochs}-epoch sweep ({args.trials * args.epochs:,} stored epochs; "
                  f"made in {made:.1f} s), served by `sweepd coordinator --http`; medians of {args.rounds}.")
            print()
            print("| page | bytes | server time (median) | range |")
            print("|---|---:|---:|---:|")
            for name, path in pages:
                times, size = [], 0
                for _ in range(args.rounds):
                    begun = time.perf_counter()
                    size = len(urllib.request.urlopen(base + path).read())
                    times.append(time.perf_counter() - begun)
                print(f"| {name} (`{path.replace(sweep, 'ID')}`) | {size:,} | **{statistics.median(times) * 1000:.0f} ms** "
                      f"| {min(times) * 1000:.0f}–{max(times) * 1000:.0f} ms |")
            loads = []
            expression = ('(function(){var t=performance.getEntriesByType("navigation")[0];'
                          'return t ? {load: t.loadEventEnd, done: t.loadEventEnd > 0} : null})()')
            for _ in range(args.rounds):
                output = subprocess.run(
                    [sys.executable,
                     os.path.join(here, "..", "browser", "watch_page.py"), "/usr/bin/chromium",
                     base + "/sweeps/" + sweep, "30", expression],
                    check=True, capture_output=True, text=True).stdout
                values = [json.loads(line).get("value") for line in output.splitlines() if line.startswith("{")]
                done = [v for v in values if isinstance(v, dict) and v.get("done")]
                loads.append(done[-1]["load"] / 1000)
            print(f"| one sweep, in headless Chromium: navigation start → load event | — "
                  f"| **{statistics.median(loads) * 1000:.0f} ms** | {min(loads) * 1000:.0f}–{max(loads) * 1000:.0f} ms |")
        finally:
            coordinator.terminate()
            coordinator.wait()


if __name__ == "__main__":
    main()
