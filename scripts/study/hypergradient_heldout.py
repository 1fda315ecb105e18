#!/usr/bin/env python3
"""Does hypergradient descent still win on held-out test rows, with significance?

For each seed s (the split, the initial weights and the shuffles) and each optimizer, one
`sweepd run` of a grid sweep over the initial learning rate on digits with 20 % of the rows
held out (`data.test: 0.2`, stratified): the sweep selects the rate by validation error,
refits that configuration on training + validation rows and scores it once on the test
rows. Every optimizer of seed s sees the same split and the same initial weights (the trial
seed is fixed per s), so each base method and its hypergradient variant form a pair per
seed; the Wilcoxon signed-rank test over seeds (scipy, two-sided) says whether the
difference in test error is more than chance.

    .venv-bench/bin/python scripts/study/hypergradient_heldout.py --sweepd .build/release/sweepd --seeds 10
"""

import argparse
import json
import pathlib
import statistics
import subprocess
import tempfile

from scipy.stats import wilcoxon

PAIRS = [("sgd", "sgd_hd"), ("nesterov", "sgdn_hd"), ("adam", "adam_hd")]
RATES = [1e-5, 1e-4, 1e-3, 1e-2, 1e-1]


def run(sweepd, directory, optimizer, seed, model):
    config = directory / f"{optimizer}-{seed}-{model}.yaml"
    config.write_text(
        f"""name: hd-heldout-{optimizer}-{seed}
method: grid
seed: {seed}
metric: {{name: val_error, goal: minimize}}
data: {{dataset: digits, test: 0.2, seed: {seed}}}
model: {{kind: {model}, hidden: [128]}}
optimizer: {{name: {optimizer}}}
training: {{epochs: 20, batch_size: 32}}
parameters:
  lr: {{values: {json.dumps(RATES)}}}
  seed: {{value: {1000 + seed}}}
"""
    )
    db = directory / f"{optimizer}-{seed}-{model}.db"
    subprocess.run(
        [sweepd, "run", str(config), "--workers", "2", "--db", str(db)],
        check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    status = json.loads(subprocess.check_output([sweepd, "status", "--db", str(db), "--format", "json"]))
    sweep = status["sweeps"][0]["sweep"]
    board = json.loads(subprocess.check_output([sweepd, "leaderboard", sweep, "--db", str(db), "--format", "json"]))
    best = board["trials"][0]
    return {
        "val": best["best"]["value"],
        "lr": best["params"]["lr"],
        "test": board["selected"]["test"].get("test_error", float("nan")),
    }


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--sweepd", required=True)
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--models", default="logistic,mlp")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="sweepd-hd-") as temporary:
        directory = pathlib.Path(temporary)
        print("| model | base / HD | base test error | HD test error | HD better / worse / tied (of seeds) | p (signed-rank, test) | p (signed-rank, validation) | rates selected (base; HD) |")
        print("|---|---|---:|---:|---|---:|---:|---|")
        for model in args.models.split(","):
            for base, hd in PAIRS:
                results = {base: [], hd: []}
                for seed in range(args.seeds):
                    for optimizer in (base, hd):
                        results[optimizer].append(run(args.sweepd, directory, optimizer, seed, model))
                a = [r["test"] for r in results[base]]
                b = [r["test"] for r in results[hd]]
                better = sum(y < x for x, y in zip(a, b))
                worse = sum(y > x for x, y in zip(a, b))
                tied = len(a) - better - worse
                def p(x, y):
                    if all(u == v for u, v in zip(x, y)):
                        return 1.0
                    return wilcoxon(x, y).pvalue
                va = [r["val"] for r in results[base]]
                vb = [r["val"] for r in results[hd]]
                rates = lambda rs: ",".join(f"{r['lr']:g}" for r in rs)
                print(
                    f"| {model} | {base} / {hd} | {statistics.median(a):.4f} | {statistics.median(b):.4f} "
                    f"| {better} / {worse} / {tied} | {p(a, b):.3g} | {p(va, vb):.3g} | {rates(results[base])}; {rates(results[hd])} |",
                    flush=True,
                )


if __name__ == "__main__":
    main()
