#!/usr/bin/env python3
"""PyTorch reference values for sweepd's normalization layers and dropout.

Writes Tests/TrainingTests/Fixtures/normalization.json: for small networks with given
parameters (in sweepd's flat layout), a batch and labels, the loss, the logits, the gradient
of the loss with respect to every parameter (in the same layout), and for batch
normalization the running statistics after the training step and the logits at evaluation.

sweepd's flat layout: for each layer W (out x in, row-major) then b; then, for weight
normalization, g of every layer but the first (W's slots hold v); then, for batch and layer
normalization, gamma and beta of every hidden layer.

The models are PyTorch's own modules: nn.Linear, nn.BatchNorm1d (momentum 0.1, eps 1e-5),
nn.LayerNorm (eps 1e-5), torch.nn.utils.parametrizations.weight_norm (dim=0) and dropout
as F.dropout computes it, with the mask given (PyTorch's generator is not sweepd's).

Run with the bench environment's torch:
    .venv-bench/bin/python scripts/reference/normalization.py
"""

import json
import pathlib

import torch
import torch.nn as nn
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)
ROOT = pathlib.Path(__file__).resolve().parents[2]
OUT = ROOT / "Tests/TrainingTests/Fixtures/normalization.json"

ACTIVATIONS = {"relu": F.relu, "tanh": torch.tanh, "gelu": F.gelu, "sigmoid": torch.sigmoid}


def build(case, generator):
    widths = [case["inputs"], *case["hidden"], case["outputs"]]
    layers = [nn.Linear(widths[i], widths[i + 1]) for i in range(len(widths) - 1)]
    with torch.no_grad():
        for layer in layers:
            layer.weight.copy_(torch.randn(layer.weight.shape, generator=generator) * 0.7)
            layer.bias.copy_(torch.randn(layer.bias.shape, generator=generator) * 0.3)
    norms = []
    if case["norm"] == "weight":
        layers = [layers[0]] + [
            torch.nn.utils.parametrizations.weight_norm(layer, dim=0) for layer in layers[1:]
        ]
        with torch.no_grad():
            for layer in layers[1:]:
                # g away from ||v|| so that g matters.
                layer.parametrizations.weight.original0.mul_(
                    1 + 0.5 * torch.rand(layer.parametrizations.weight.original0.shape, generator=generator)
                )
    if case["norm"] in ("batch", "layer"):
        for width in case["hidden"]:
            module = nn.BatchNorm1d(width) if case["norm"] == "batch" else nn.LayerNorm(width)
            with torch.no_grad():
                module.weight.copy_(1 + 0.3 * torch.randn(width, generator=generator))
                module.bias.copy_(0.2 * torch.randn(width, generator=generator))
                if case["norm"] == "batch":
                    module.running_mean.copy_(0.1 * torch.randn(width, generator=generator))
                    module.running_var.copy_(1 + 0.2 * torch.rand(width, generator=generator))
            norms.append(module)
    return layers, norms


def flat(layers, norms, case, grad=False):
    pick = (lambda t: t.grad) if grad else (lambda t: t)
    values = []
    for i, layer in enumerate(layers):
        if case["norm"] == "weight" and i > 0:
            values += pick(layer.parametrizations.weight.original1).reshape(-1).tolist()
        else:
            values += pick(layer.weight).reshape(-1).tolist()
        values += pick(layer.bias).reshape(-1).tolist()
    if case["norm"] == "weight":
        for layer in layers[1:]:
            values += pick(layer.parametrizations.weight.original0).reshape(-1).tolist()
    for module in norms:
        values += pick(module.weight).reshape(-1).tolist() + pick(module.bias).reshape(-1).tolist()
    return values


def forward(layers, norms, masks, x, case):
    activation = ACTIVATIONS[case["activation"]]
    h = x
    for i, layer in enumerate(layers):
        h = layer(h)
        if i < len(layers) - 1:
            if norms:
                h = norms[i](h)
            h = activation(h)
            if masks is not None:
                p = case["dropout"]
                h = h * masks[i] / (1 - p)
    return h


def run(case, seed):
    generator = torch.Generator().manual_seed(seed)
    layers, norms = build(case, generator)
    x = torch.randn(case["rows"], case["inputs"], generator=generator) * 1.5 + 0.3
    if case["loss"] == "cross_entropy":
        labels = torch.randint(0, case["outputs"], (case["rows"],), generator=generator)
        targets = None
    else:
        targets = torch.randn(case["rows"], case["outputs"], generator=generator)
        labels = None
    masks = None
    if case["dropout"] > 0:
        masks = [
            (torch.rand(case["rows"], width, generator=generator) >= case["dropout"]).double()
            for width in case["hidden"]
        ]
    parameters = flat(layers, norms, case)
    initial = None
    if case["norm"] == "batch":
        initial = ([m.running_mean.tolist() for m in norms], [m.running_var.tolist() for m in norms])
    for module in norms:
        module.train()
    logits = forward(layers, norms, masks, x, case)
    if labels is not None:
        loss = F.cross_entropy(logits, labels)
    else:
        loss = F.mse_loss(logits, targets)
    loss.backward()
    result = dict(case)
    result.update(
        x=x.reshape(-1).tolist(),
        labels=labels.tolist() if labels is not None else None,
        targets=targets.reshape(-1).tolist() if targets is not None else None,
        masks=[m.reshape(-1).tolist() for m in masks] if masks is not None else None,
        parameters=parameters,
        loss_value=loss.item(),
        logits=logits.detach().reshape(-1).tolist(),
        gradient=flat(layers, norms, case, grad=True),
    )
    if case["norm"] == "batch":
        result["initial_running_mean"], result["initial_running_var"] = initial
        result["running_mean"] = [m.running_mean.tolist() for m in norms]
        result["running_var"] = [m.running_var.tolist() for m in norms]
        for module in norms:
            module.eval()
        with torch.no_grad():
            result["eval_logits"] = forward(layers, norms, None, x, case).reshape(-1).tolist()
    return result


CASES = [
    dict(name="batch-relu", norm="batch", activation="relu", dropout=0.0, loss="cross_entropy",
         inputs=5, hidden=[4, 3], outputs=3, rows=7),
    dict(name="batch-tanh-mse", norm="batch", activation="tanh", dropout=0.0, loss="mse",
         inputs=4, hidden=[6], outputs=2, rows=5),
    dict(name="layer-gelu", norm="layer", activation="gelu", dropout=0.0, loss="cross_entropy",
         inputs=5, hidden=[4, 6], outputs=3, rows=6),
    dict(name="weight-tanh", norm="weight", activation="tanh", dropout=0.0, loss="cross_entropy",
         inputs=3, hidden=[5, 4], outputs=4, rows=6),
    dict(name="weight-relu-mse", norm="weight", activation="relu", dropout=0.0, loss="mse",
         inputs=4, hidden=[3], outputs=2, rows=5),
    dict(name="dropout-relu", norm="none", activation="relu", dropout=0.3, loss="cross_entropy",
         inputs=5, hidden=[6, 4], outputs=3, rows=8),
    dict(name="batch-dropout-sigmoid", norm="batch", activation="sigmoid", dropout=0.25,
         loss="cross_entropy", inputs=4, hidden=[5], outputs=3, rows=9),
]


def main():
    cases = [run(case, seed=100 + i) for i, case in enumerate(CASES)]
    OUT.write_text(json.dumps({"torch": torch.__version__, "cases": cases}, indent=1) + "\n")
    print(f"wrote {OUT} ({len(cases)} cases, torch {torch.__version__})")


if __name__ == "__main__":
    main()
