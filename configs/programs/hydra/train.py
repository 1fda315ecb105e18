"""A Hydra-style program: it takes `key=value` overrides (W&B's `${args_no_hyphens}`), as a
Hydra app does, without needing Hydra installed. Dotted keys address nested settings.

It minimizes the Rosenbrock function with gradient descent and momentum and reports the
loss each step on the metrics channel.
"""
import json
import os
import sys

config = {"optim": {"lr": 0.001, "momentum": 0.0}, "steps": 100, "start": [-1.5, 2.0]}
for override in sys.argv[1:]:
    key, _, text = override.lstrip("+").partition("=")
    node = config
    *path, last = key.split(".")
    for part in path:
        node = node.setdefault(part, {})
    node[last] = json.loads(text) if text[:1] in "[{" or text.replace(".", "", 1).replace("e-", "", 1).isdigit() else text

x, y = config["start"]
vx = vy = 0.0
lr, momentum = float(config["optim"]["lr"]), float(config["optim"]["momentum"])
metrics = os.fdopen(int(os.environ["SWEEPD_METRICS_FD"]), "w", buffering=1)
for step in range(1, int(config["steps"]) + 1):
    gx = -2 * (1 - x) - 400 * x * (y - x * x)
    gy = 200 * (y - x * x)
    vx, vy = momentum * vx - lr * gx, momentum * vy - lr * gy
    x, y = x + vx, y + vy
    try:
        value = (1 - x) ** 2 + 100 * (y - x * x) ** 2
    except OverflowError:
        value = float("inf")
    # json.dumps writes inf/nan as Infinity/NaN: sweepd marks the trial diverged.
    metrics.write(json.dumps({"loss": value, "x": x, "y": y}) + "\n")
    if value != value or value == float("inf"):
        break
