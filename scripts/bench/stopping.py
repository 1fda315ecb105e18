"""Runs the early-stopping benchmark of scripts/bench/stopping and prints a Markdown table."""
import argparse
import json
import os
import re
import statistics
import subprocess
import tempfile
import time

POLICIES = [
    ("none", None),
    ("plateau", "configs/digits-stop-plateau.yaml"),
    ("median (step, Optuna's rule)", "configs/digits-stop-median.yaml"),
    ("median (running averages, Vizier's rule)", "vizier"),
    ("asha", "configs/digits-stop-asha.yaml"),
    ("hyperband", "configs/digits-stop-hyperband.yaml"),
]


def config_text(source):
    """The sweep of each row: the ASHA config without its policy is the sweep without one."""
    if source is None:
        text = open("configs/digits-stop-asha.yaml").read()
        return re.sub(r"(?m)^early_terminate:.*\n", "", text)
    if source == "vizier":
        text = open("configs/digits-stop-median.yaml").read()
        return text.replace(", compare: step}", "}")
    return open(source).read()


def run(sweepd, text, work, name):
    path = os.path.join(work, f"{name}.yaml")
    with open(path, "w") as handle:
        handle.write(text)
    started = time.perf_counter()
    output = subprocess.run([sweepd, "run", path, "--format", "json", "--workers", "2"],
                            check=True, capture_output=True, text=True).stdout
    seconds = time.perf_counter() - started
    trials = json.loads(output)["trials"]
    epochs = sum(t["epochs"] for t in trials)
    best = min(t["best"]["value"] for t in trials if t["best"]["value"] is not None)
    stopped = sum(t["status"] == "early_stopped" for t in trials)
    return epochs, best, stopped, seconds, len(trials)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--sweepd", required=True)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    texts = {label: config_text(source) for label, source in POLICIES}
    assert "early_terminate" not in texts["none"]
    results = {label: [] for label, _ in POLICIES}
    with tempfile.TemporaryDirectory() as work:
        for _ in range(args.rounds):
            for index, (label, _) in enumerate(POLICIES):
                results[label].append(run(args.sweepd, texts[label], work, f"p{index}"))
    full = statistics.median(r[0] for r in results["none"])
    base_best = statistics.median(r[1] for r in results["none"])
    print("| policy (100 trials × 40 epochs) | epochs trained | share of no stopping | best val error "
          "| Δ best (pp) | stopped early | wall time (s) |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for label, _ in POLICIES:
        rows = results[label]
        epochs = statistics.median(r[0] for r in rows)
        best = statistics.median(r[1] for r in rows)
        print(f"| {label} | {epochs:,.0f} | {epochs / full:.0%} | {best:.4f} | {100 * (best - base_best):+.2f} "
              f"| {statistics.median(r[2] for r in rows):.0f} | {statistics.median(r[3] for r in rows):.2f} |")
    print()
    print(f"Medians of {args.rounds} interleaved rounds; every run had "
          f"{sorted(set(r[4] for rows in results.values() for r in rows))} trials. Best validation error "
          f"per round: " + "; ".join(
              f"{label}: " + ", ".join(f"{r[1]:.4f}" for r in results[label]) for label, _ in POLICIES))
    for label in ("median (step, Optuna's rule)", "asha"):
        rows = results[label]
        share = statistics.median(r[0] for r in rows) / full
        gap = 100 * (statistics.median(r[1] for r in rows) - base_best)
        verdict = "met" if share <= 0.40 and gap <= 0.5 else "NOT met"
        print(f"\nTarget for {label}: ≤ 40% of the epochs within 0.5 pp of no stopping — "
              f"{share:.0%}, {gap:+.2f} pp: **{verdict}**")


if __name__ == "__main__":
    main()
