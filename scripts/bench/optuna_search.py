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


FUNCTIONS = {"branin": (branin, [(-5, 10), (0, 15)]), "hartmann6": (hartmann6, [(0, 1)] * 6)}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--function", required=True)
    parser.add_argument("--trials", type=int, default=100)
    parser.add_argument("--seeds", type=int, default=20)
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    function, bounds = FUNCTIONS[args.function]
    curves = []
    for seed in range(args.seeds):
        study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=seed))
        study.optimize(lambda trial: function([trial.suggest_float(f"x{i}", lo, hi) for i, (lo, hi) in enumerate(bounds)]),
                       n_trials=args.trials)
        best, curve = math.inf, []
        for trial in study.trials:
            best = min(best, trial.value)
            curve.append(best)
        curves.append(curve)
    print(json.dumps({"function": args.function, "method": "optuna-tpe", "optuna": optuna.__version__,
                      "trials": args.trials, "best_so_far": curves}))


if __name__ == "__main__":
    main()
