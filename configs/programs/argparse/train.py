"""A training script as people write them: argparse flags in, one metrics line per epoch out.

A small logistic regression on two noisy Gaussian blobs, in plain Python (no packages),
so the example runs anywhere python3 does. sweepd passes the parameters as `--name=value`
(W&B's `${args}`); each epoch's metrics go, as one JSON object per line, to the file
descriptor named by SWEEPD_METRICS_FD.
"""
import argparse
import json
import math
import os
import random

parser = argparse.ArgumentParser()
parser.add_argument("--learning_rate", type=float, default=0.1)
parser.add_argument("--epochs", type=int, default=20)
parser.add_argument("--weight_decay", type=float, default=0.0)
parser.add_argument("--batch_size", type=int, default=16)
args = parser.parse_args()

seed = int(os.environ.get("SWEEPD_SEED", "0")) % (2**32)
rng = random.Random(seed)


def blob(label, count):
    centre = (1.0, 1.0) if label else (-1.0, -0.5)
    return [((centre[0] + rng.gauss(0, 1.2), centre[1] + rng.gauss(0, 1.2)), label) for _ in range(count)]


data = blob(0, 300) + blob(1, 300)
rng.shuffle(data)
train, valid = data[:480], data[480:]
w = [0.0, 0.0]
b = 0.0


def predict(x):
    z = w[0] * x[0] + w[1] * x[1] + b
    return 1.0 / (1.0 + math.exp(-max(min(z, 30), -30)))


def loss(rows):
    eps = 1e-12
    return -sum(y * math.log(predict(x) + eps) + (1 - y) * math.log(1 - predict(x) + eps) for x, y in rows) / len(rows)


metrics = os.fdopen(int(os.environ["SWEEPD_METRICS_FD"]), "w", buffering=1)
for epoch in range(1, args.epochs + 1):
    rng.shuffle(train)
    for start in range(0, len(train), args.batch_size):
        batch = train[start:start + args.batch_size]
        gw, gb = [0.0, 0.0], 0.0
        for x, y in batch:
            error = predict(x) - y
            gw[0] += error * x[0]
            gw[1] += error * x[1]
            gb += error
        for i in range(2):
            w[i] -= args.learning_rate * (gw[i] / len(batch) + args.weight_decay * w[i])
        b -= args.learning_rate * gb / len(batch)
    errors = sum((predict(x) > 0.5) != bool(y) for x, y in valid) / len(valid)
    metrics.write(json.dumps({"val_loss": loss(valid), "val_error": errors, "train_loss": loss(train)}) + "\n")
print(f"done: lr={args.learning_rate} epochs={args.epochs} weights={w} bias={b:.3f}")
