"""A training script written for W&B sweeps, unchanged: parameters from `wandb.config`,
metrics with `wandb.log`. Under sweepd, `import wandb` finds sweepd's own module (no
account, no network); under `wandb agent` it is W&B's.

A small logistic regression on two noisy Gaussian blobs in plain Python, so it runs
wherever python3 does.
"""
import math
import random

import wandb

defaults = {"learning_rate": 0.1, "epochs": 15, "batch_size": 16, "optimizer": "sgd"}
run = wandb.init(project="blobs", config=defaults)
config = wandb.config

rng = random.Random(0)
data = [((rng.gauss(1, 1.2), rng.gauss(1, 1.2)), 1) for _ in range(300)]
data += [((rng.gauss(-1, 1.2), rng.gauss(-0.5, 1.2)), 0) for _ in range(300)]
rng.shuffle(data)
train, valid = data[:480], data[480:]
w, b = [0.0, 0.0], 0.0
velocity = [0.0, 0.0, 0.0]


def predict(x):
    z = max(min(w[0] * x[0] + w[1] * x[1] + b, 30), -30)
    return 1.0 / (1.0 + math.exp(-z))


def loss(rows):
    return -sum(y * math.log(predict(x) + 1e-12) + (1 - y) * math.log(1 - predict(x) + 1e-12) for x, y in rows) / len(rows)


for epoch in range(config.epochs):
    rng.shuffle(train)
    for start in range(0, len(train), config.batch_size):
        batch = train[start:start + config.batch_size]
        grads = [0.0, 0.0, 0.0]
        for x, y in batch:
            error = predict(x) - y
            grads[0] += error * x[0] / len(batch)
            grads[1] += error * x[1] / len(batch)
            grads[2] += error / len(batch)
        momentum = 0.9 if config.optimizer == "momentum" else 0.0
        for i in range(3):
            velocity[i] = momentum * velocity[i] - config.learning_rate * grads[i]
        w[0] += velocity[0]
        w[1] += velocity[1]
        b += velocity[2]
    errors = sum((predict(x) > 0.5) != bool(y) for x, y in valid) / len(valid)
    wandb.log({"epoch": epoch, "train": {"loss": loss(train)}, "val": {"loss": loss(valid), "error": errors}})
wandb.finish()
