"""The peer of `sweepd run configs/digits-tpe-median.yaml`: the same 50-trial digits sweep
with Optuna (TPE, median pruning) and PyTorch (CPU, one thread) in one process.

MLP 64-128-10 (ReLU, PyTorch's default init), cross-entropy, batch 32, 20 epochs, optimizer
in {sgd, momentum (0.9), adam, rmsprop} and lr log-uniform in [1e-4, 0.3]; features
standardized on the training split, 20% held out for validation. Each epoch reports the
validation error; Optuna's MedianPruner (5 start-up trials, no warm-up) prunes.

Prints one JSON object: seconds for study.optimize (imports and data loading excluded), the
best validation error, trials completed and pruned, and epochs trained.
"""
import argparse
import csv
import gzip
import json
import time

import numpy as np
import optuna
import torch


def load_digits(path, seed):
    with gzip.open(path, "rt") as handle:
        rows = list(csv.reader(handle))
    header, body = rows[0], rows[1:]
    label = header.index("label")
    data = np.array([[float(v) for v in row] for row in body], dtype=np.float32)
    y = data[:, label].astype(np.int64)
    x = np.delete(data, label, axis=1)
    order = np.random.default_rng(seed).permutation(len(x))
    validation = int(round(0.2 * len(x)))
    train, val = order[validation:], order[:validation]
    mean, std = x[train].mean(axis=0), x[train].std(axis=0)
    std[std == 0] = 1
    x = (x - mean) / std
    return (torch.from_numpy(x[train]), torch.from_numpy(y[train]),
            torch.from_numpy(x[val]), torch.from_numpy(y[val]))


def make_optimizer(name, parameters, lr):
    """sgd, momentum (0.9), adam or rmsprop, as the sweep names them."""
    if name == "sgd":
        return torch.optim.SGD(parameters, lr=lr)
    if name == "momentum":
        return torch.optim.SGD(parameters, lr=lr, momentum=0.9)
    if name == "adam":
        return torch.optim.Adam(parameters, lr=lr)
    return torch.optim.RMSprop(parameters, lr=lr)


def train_epoch(model, optimizer, loss_fn, x_train, y_train, generator):
    """One epoch of batch-32 steps in a shuffled order; returns the last batch's loss."""
    model.train()
    order = torch.randperm(len(x_train), generator=generator)
    for start in range(0, len(order), 32):
        batch = order[start:start + 32]
        optimizer.zero_grad()
        loss = loss_fn(model(x_train[batch]), y_train[batch])
        loss.backward()
        optimizer.step()
    return loss


def validation_error(model, x_val, y_val):
    model.eval()
    with torch.no_grad():
        return (model(x_val).argmax(dim=1) != y_val).float().mean().item()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", required=True)
    parser.add_argument("--trials", type=int, default=50)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args()

    torch.set_num_threads(1)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    x_train, y_train, x_val, y_val = load_digits(args.data, args.seed)
    epochs_trained = 0

    def objective(trial):
        nonlocal epochs_trained
        name = trial.suggest_categorical("optimizer", ["sgd", "momentum", "adam", "rmsprop"])
        lr = trial.suggest_float("lr", 1e-4, 0.3, log=True)
        torch.manual_seed(trial.number)
        model = torch.nn.Sequential(torch.nn.Linear(64, 128), torch.nn.ReLU(), torch.nn.Linear(128, 10))
        optimizer = make_optimizer(name, model.parameters(), lr)
        loss_fn = torch.nn.CrossEntropyLoss()
        generator = torch.Generator().manual_seed(trial.number)
        best = 1.0
        for epoch in range(1, args.epochs + 1):
            loss = train_epoch(model, optimizer, loss_fn, x_train, y_train, generator)
            epochs_trained += 1
            error = validation_error(model, x_val, y_val)
            if not np.isfinite(loss.item()):
                raise optuna.TrialPruned()
            best = min(best, error)
            trial.report(error, epoch)
            if trial.should_prune():
                raise optuna.TrialPruned()
        return best

    study = optuna.create_study(
        direction="minimize", sampler=optuna.samplers.TPESampler(seed=args.seed),
        pruner=optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=0))
    started = time.perf_counter()
    study.optimize(objective, n_trials=args.trials)
    seconds = time.perf_counter() - started
    states = [t.state for t in study.trials]
    # A pruned trial's best so far counts too (as on sweepd's leaderboard).
    best = min(min(t.intermediate_values.values()) for t in study.trials if t.intermediate_values)
    print(json.dumps({
        "seconds": seconds, "best_val_error": best,
        "completed": sum(s == optuna.trial.TrialState.COMPLETE for s in states),
        "pruned": sum(s == optuna.trial.TrialState.PRUNED for s in states),
        "epochs": epochs_trained,
    }))


if __name__ == "__main__":
    main()
