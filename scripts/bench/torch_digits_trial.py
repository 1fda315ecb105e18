"""One trial of the digits sweep of `optuna_torch_sweep.py`, as a stand-alone training script
(the kind of program people sweep): MLP 64-128-10 (ReLU), cross-entropy, batch 32, PyTorch
on one thread, optimizer and learning rate from the command line, 20% of digits held out.

Each epoch's validation error is one JSON line: on the descriptor in SWEEPD_METRICS_FD when
sweepd runs it, else on standard output (how the Optuna driver in `programs.py` reads it).
"""
import argparse
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
# The same split, scaling, optimizers and epoch as the in-process peer.
from optuna_torch_sweep import load_digits, make_optimizer, train_epoch, validation_error  # noqa: E402

parser = argparse.ArgumentParser()
parser.add_argument("--optimizer", required=True)
parser.add_argument("--lr", type=float, required=True)
parser.add_argument("--epochs", type=int, default=20)
parser.add_argument("--seed", type=int, default=3)
parser.add_argument("--trial", type=int, default=0)
parser.add_argument("--data", required=True)
args = parser.parse_args()

torch.set_num_threads(1)
x_train, y_train, x_val, y_val = load_digits(args.data, args.seed)
torch.manual_seed(args.trial)
model = torch.nn.Sequential(torch.nn.Linear(64, 128), torch.nn.ReLU(), torch.nn.Linear(128, 10))
optimizer = make_optimizer(args.optimizer, model.parameters(), args.lr)
loss_fn = torch.nn.CrossEntropyLoss()
generator = torch.Generator().manual_seed(args.trial)
fd = os.environ.get("SWEEPD_METRICS_FD")
out = os.fdopen(int(fd), "w", buffering=1) if fd else sys.stdout
for epoch in range(1, args.epochs + 1):
    loss = train_epoch(model, optimizer, loss_fn, x_train, y_train, generator)
    error = validation_error(model, x_val, y_val)
    if not torch.isfinite(loss).item():
        error = float("nan")
    out.write(json.dumps({"val_error": error, "train_loss": loss.item()}) + "\n")
    out.flush()
    if error != error:
        break
