#!/usr/bin/env python3
"""sweepd against scikit-learn's RandomizedSearchCV on small tabular data, in one run.

For each data set (scikit-learn's bundled breast-cancer, wine and diabetes, and digits) and
each seed, the same stratified 80/20 split is written as train.csv and test.csv. Then, in
turn:

- scikit-learn: RandomizedSearchCV(Pipeline(StandardScaler, MLPClassifier|MLPRegressor),
  n_iter=40, cv=5, refit=True, n_jobs=2) over hidden sizes, the initial learning rate
  (log-uniform), the solver (adam, sgd) and the L2 penalty alpha (log-uniform); max_iter
  as sweepd's epochs; then score() on the test rows.
- sweepd: `sweepd run` of a TPE sweep (40 trials, 5-fold cross-validation, ASHA or the
  median rule: --stopping)
  over the same kind of space (model.hidden, lr, optimizer adam/sgd, weight_decay), with the
  test file held out; the final run refits the selected configuration on all training rows
  and reports its test error once.

Reported per data set: test error (1 − accuracy) or test RMSE, median over seeds, for each
tool, and wall time (median) with the ratio. Both use the machine's 2 cores (sklearn
n_jobs=2, sweepd 2 slots).
"""

import argparse
import json
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
from scipy.stats import loguniform
from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits, load_wine
from sklearn.metrics import mean_squared_error
from sklearn.model_selection import RandomizedSearchCV, train_test_split
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

DATASETS = {
    "breast-cancer": (load_breast_cancer, "classification"),
    "wine": (load_wine, "classification"),
    "diabetes": (load_diabetes, "regression"),
    "digits": (load_digits, "classification"),
}
HIDDEN = [[16], [32], [64], [32, 32]]


def write_csv(path, x, y):
    columns = [f"f{i}" for i in range(x.shape[1])] + ["target"]
    with open(path, "w") as f:
        f.write(",".join(columns) + "\n")
        for row, target in zip(x, y):
            f.write(",".join(f"{v:.9g}" for v in row) + f",{target}\n")


def sklearn_search(task, x_train, y_train, x_test, y_test, seed, epochs):
    model = MLPClassifier if task == "classification" else MLPRegressor
    pipeline = Pipeline([("scale", StandardScaler()), ("mlp", model(max_iter=epochs, random_state=seed))])
    space = {
        "mlp__hidden_layer_sizes": [tuple(h) for h in HIDDEN],
        "mlp__learning_rate_init": loguniform(1e-4, 1e-1),
        "mlp__solver": ["adam", "sgd"],
        "mlp__alpha": loguniform(1e-6, 1e-2),
        "mlp__batch_size": [32],
    }
    scoring = "accuracy" if task == "classification" else "neg_root_mean_squared_error"
    search = RandomizedSearchCV(
        pipeline, space, n_iter=40, cv=5, refit=True, n_jobs=2, random_state=seed, scoring=scoring
    )
    started = time.perf_counter()
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        search.fit(x_train, y_train)
    seconds = time.perf_counter() - started
    if task == "classification":
        error = 1 - search.score(x_test, y_test)
    else:
        error = mean_squared_error(y_test, search.predict(x_test)) ** 0.5
    return error, seconds


# scikit-learn's MLP adds alpha·W to a batch's summed gradient and divides by the batch size:
# weight decay alpha/32 at batch 32. `--decay matched` searches that range (alpha's over 32);
# the default, `wide`, searches alpha's own range as weight decay.
DECAY = {"wide": (1.0e-6, 1.0e-2), "matched": (3.125e-8, 3.125e-4)}


def sweepd_search(sweepd, task, train, test, seed, epochs, directory, rule, decay):
    # One store per run (train.csv's name says which data set and seed).
    run = pathlib.Path(train).stem
    metric = "val_error" if task == "classification" else "val_rmse"
    stopping = (
        "{type: asha, min_epochs: 4, eta: 3}" if rule == "asha" else f"{{type: median, grace_epochs: {max(epochs // 5, 2)}}}"
    )
    config = directory / f"{run}.yaml"
    config.write_text(
        f"""name: sklearn-bench
method: bayes
run_cap: 40
seed: {seed + 1}
metric: {{name: {metric}, goal: minimize}}
data: {{dataset: csv, path: {train}, test_path: {test}, task: {task}, folds: 5}}
model: {{kind: mlp}}
training: {{epochs: {epochs}, batch_size: 32}}
early_terminate: {stopping}
parameters:
  model.hidden: {{values: {json.dumps(HIDDEN)}}}
  lr: {{distribution: log_uniform_values, min: 1.0e-4, max: 0.1}}
  optimizer: {{values: [adam, sgd]}}
  weight_decay: {{distribution: log_uniform_values, min: {decay[0]}, max: {decay[1]}}}
"""
    )
    db = directory / f"{run}.db"
    started = time.perf_counter()
    subprocess.run(
        [sweepd, "run", str(config), "--workers", "2", "--db", str(db), "--format", "json"],
        check=True, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
    )
    seconds = time.perf_counter() - started
    status = json.loads(subprocess.check_output([sweepd, "status", "--db", str(db), "--format", "json"]))
    sweep = status["sweeps"][0]["sweep"]
    board = json.loads(
        subprocess.check_output([sweepd, "leaderboard", sweep, "--db", str(db), "--format", "json"])
    )
    selected = board["selected"]
    name = "test_error" if task == "classification" else "test_rmse"
    if name not in selected["test"]:
        # The final run did not finish (diverged or failed): no test number, said so.
        print(f"sweepd's final run {selected['status']}: {selected.get('message')}", file=sys.stderr)
        return float("nan"), seconds
    return selected["test"][name], seconds


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--sweepd", required=True)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--datasets", default=",".join(DATASETS))
    parser.add_argument("--stopping", choices=["asha", "median"], default="asha")
    parser.add_argument("--decay", choices=list(DECAY), default="wide")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="sweepd-sklearn-") as temporary:
        directory = pathlib.Path(temporary)
        for name in args.datasets.split(","):
            loader, task = DATASETS[name]
            x, y = loader(return_X_y=True)
            # Regression targets in units of their standard deviation, so RMSEs compare.
            if task == "regression":
                y = (y - y.mean()) / y.std()
            epochs = 60 if name == "digits" else 100
            results = {"sklearn": [], "sweepd": []}
            for seed in range(args.seeds):
                x_train, x_test, y_train, y_test = train_test_split(
                    x, y, test_size=0.2, random_state=seed, stratify=y if task == "classification" else None
                )
                train = directory / f"{name}-{seed}-train.csv"
                test = directory / f"{name}-{seed}-test.csv"
                write_csv(train, x_train, y_train)
                write_csv(test, x_test, y_test)
                # Interleaved: each seed runs both tools, alternating which goes first.
                order = ["sklearn", "sweepd"] if seed % 2 == 0 else ["sweepd", "sklearn"]
                for tool in order:
                    if tool == "sklearn":
                        outcome = sklearn_search(task, x_train, y_train, x_test, y_test, seed, epochs)
                    else:
                        outcome = sweepd_search(
                            args.sweepd, task, train, test, seed, epochs, directory, args.stopping, DECAY[args.decay]
                        )
                    results[tool].append(outcome)
                    print(f"{name} seed {seed} {tool}: test {outcome[0]:.4f}, {outcome[1]:.1f} s", file=sys.stderr)
            rows.append((name, task, results))
    print("| data set | rows | metric | sweepd test (median of %d) | scikit-learn test | sweepd time | scikit-learn time | speed-up |" % args.seeds)
    print("|---|---|---|---|---|---|---|---|")
    for name, task, results in rows:
        x, _ = DATASETS[name][0](return_X_y=True)
        ours = statistics.median(e for e, _ in results["sweepd"])
        theirs = statistics.median(e for e, _ in results["sklearn"])
        our_time = statistics.median(s for _, s in results["sweepd"])
        their_time = statistics.median(s for _, s in results["sklearn"])
        metric = "error" if task == "classification" else "RMSE (σ units)"
        spread = lambda values: f"{min(values):.4f}–{max(values):.4f}"
        print(
            f"| {name} | {len(x)} | {metric} | {ours:.4f} ({spread([e for e, _ in results['sweepd']])}) "
            f"| {theirs:.4f} ({spread([e for e, _ in results['sklearn']])}) | {our_time:.1f} s | {their_time:.1f} s "
            f"| {their_time / our_time:.1f}× |"
        )


if __name__ == "__main__":
    main()
