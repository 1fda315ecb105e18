"""Optuna's TPE (default settings) on the same test functions as `sweepd bench-search`.

Prints one JSON object: the best value found after each trial, per seed.
"""
import argparse
import json
import math

import optuna


def branin(x):
    b, c, t = 5.1 / (4 * math.pi ** 2), 5 / math.pi, 1 / (8 * math.pi)
    return (x[1] - b * x[0] ** 2 + c * x[0] - 6) ** 2 + 10 * (1 - t) * math.cos(x[0]) + 10


ALPHA = [1.0, 1.2, 3.0, 3.2]
A = [[10, 3, 17, 3.5, 1.7, 8], [0.05, 10, 17, 0.1, 8, 14], [3, 3.5, 1.7, 10, 17, 8], [17, 8, 0.05, 10, 0.1, 14]]
P = [[0.1312, 0.1696, 0.5569, 0.0124, 0.8283, 0.5886], [0.2329, 0.4135, 0.8307, 0.3736, 0.1004, 0.9991],
     [0.2348, 0.1451, 0.3522, 0.2883, 0.3047, 0.6650], [0.4047, 0.8828, 0.8732, 0.5743, 0.1091, 0.0381]]


def hartmann6(x):
    return -sum(ALPHA[i] * math.exp(-sum(A[i][j] * (x[j] - P[i][j]) ** 2 for j in range(6))) for i in range(4))


def load_surface(path):
    """The tabulated digits-MLP surface: ln(val_loss), multilinear in log coordinates."""
    with open(path) as f:
        rows = [[float(v) for v in line.split(",")] for line in f.read().splitlines()[1:] if line]
    axes = [sorted({row[d] for row in rows}) for d in range(len(rows[0]) - 1)]
    table = {tuple(row[:-1]): math.log(row[-1]) for row in rows}

    def value(x):
        cells = []
        for d, axis in enumerate(axes):
            t = math.log(min(max(x[d], axis[0]), axis[-1]))
            i = 0
            while i < len(axis) - 2 and math.log(axis[i + 1]) < t:
                i += 1
            a, b = math.log(axis[i]), math.log(axis[i + 1])
            cells.append((i, min(max((t - a) / (b - a), 0.0), 1.0)))
        total = 0.0
        for corner in range(1 << len(axes)):
            weight, key = 1.0, []
            for d, axis in enumerate(axes):
                upper = (corner >> d) & 1
                weight *= cells[d][1] if upper else 1 - cells[d][1]
                key.append(axis[cells[d][0] + upper])
            total += weight * table[tuple(key)]
        return total

    return value, [(axis[0], axis[-1]) for axis in axes], min(table.values())


FUNCTIONS = {"branin": (branin, [(-5, 10), (0, 15)]), "hartmann6": (hartmann6, [(0, 1)] * 6)}
MINIMA = {"branin": 0.397887, "hartmann6": -3.32237}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--function", required=True)
    parser.add_argument("--trials", type=int, default=100)
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--table", default="scripts/bench/data/digits-mlp-surface.csv")
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    log_scale = False
    if args.function == "digits":
        function, bounds, minimum = load_surface(args.table)
        log_scale = True
    else:
        function, bounds = FUNCTIONS[args.function]
        minimum = MINIMA[args.function]
    curves = []
    for seed in range(args.seeds):
        study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=seed))
        study.optimize(
            lambda trial: function([trial.suggest_float(f"x{i}", lo, hi, log=log_scale) for i, (lo, hi) in enumerate(bounds)]),
            n_trials=args.trials)
        best, curve = math.inf, []
        for trial in study.trials:
            best = min(best, trial.value)
            curve.append(best)
        curves.append(curve)
    print(json.dumps({"function": args.function, "method": "optuna-tpe", "optuna": optuna.__version__,
                      "trials": args.trials, "minimum": minimum, "best_so_far": curves}))


if __name__ == "__main__":
    main()
