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

`--part fixed` asks the paper's own question instead, sensitivity to the initial rate: at
each of a few fixed rates (no tuning), one `sweepd train --config` per optimizer and seed
with the test rows held out, which prints the trained model's test error; base and HD are
paired by seed (same split, same initial weights) and compared by the signed-rank test.
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


def trained(sweepd, directory, optimizer, seed, model, rate):
    """The test error of one trial trained at `rate` (sweepd train, evaluate stage)."""
    config = directory / f"train-{optimizer}-{seed}-{model}-{rate:g}.yaml"
    config.write_text(
        f"""data: {{dataset: digits, test: 0.2, seed: {seed}}}
model: {{kind: {model}, hidden: [128]}}
optimizer: {{name: {optimizer}, lr: {rate}}}
training: {{epochs: 20, batch_size: 32}}
seed: {1000 + seed}
"""
    )
    lines = subprocess.check_output(
        [sweepd, "train", "--config", str(config), "--format", "json", "--cores", "1"], stderr=subprocess.DEVNULL
    ).splitlines()
    summary = json.loads(lines[-1])
    last = json.loads(lines[-2])
    return summary["test"]["test_error"], last.get("val_error", float("nan"))


def fixed(args):
    rates = [1e-4, 1e-3, 1e-2]
    with tempfile.TemporaryDirectory(prefix="sweepd-hd-fixed-") as temporary:
        directory = pathlib.Path(temporary)
        print("| model | base / HD | α₀ | base test error | HD test error | HD better / worse / tied | p (signed-rank) |")
        print("|---|---|---:|---:|---:|---|---:|")
        for model in args.models.split(","):
            for base, hd in PAIRS:
                for rate in rates:
                    a = [trained(args.sweepd, directory, base, seed, model, rate)[0] for seed in range(args.seeds)]
                    b = [trained(args.sweepd, directory, hd, seed, model, rate)[0] for seed in range(args.seeds)]
                    better = sum(y < x for x, y in zip(a, b))
                    worse = sum(y > x for x, y in zip(a, b))
                    p = 1.0 if a == b else wilcoxon(a, b).pvalue
                    print(
                        f"| {model} | {base} / {hd} | {rate:g} | {statistics.median(a):.4f} | {statistics.median(b):.4f} "
                        f"| {better} / {worse} / {len(a) - better - worse} | {p:.3g} |",
                        flush=True,
                    )


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--sweepd", required=True)
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--models", default="logistic,mlp")
    parser.add_argument("--part", choices=["tuned", "fixed"], default="tuned")
    args = parser.parse_args()
    if args.part == "fixed":
        fixed(args)
        return
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
