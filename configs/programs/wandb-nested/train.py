"""A W&B sweep script with nested parameters, as W&B's nested-parameters example shapes it:
argparse takes the flags `${args}` passes (the nested one as text), and `wandb.config`
holds the nested values as dicts. The "training" is a stand-in whose loss falls faster
with a larger batch, learning rate and beta, so the sweep has a clear best.
"""
import argparse
import ast

import wandb

parser = argparse.ArgumentParser()
parser.add_argument("--epochs", type=int, default=3)
parser.add_argument("--batch_size", type=int, default=16)
parser.add_argument("--optimizer", type=str, default=None)
args = parser.parse_args()

wandb.init(project="sweeps-examples", config=args)
config = wandb.config
optimizer = config["optimizer"]
# The flag and the config agree: the flag is the dict as Python writes it.
assert ast.literal_eval(args.optimizer) == optimizer, (args.optimizer, optimizer)

for epoch in range(config["epochs"]):
    progress = epoch / config["epochs"]
    loss = 1 - progress * optimizer["lr"] * config["batch_size"] * optimizer["nadam"]["beta"]
    wandb.log({"loss": loss, "epoch": epoch})
