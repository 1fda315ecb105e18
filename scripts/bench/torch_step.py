"""Times PyTorch CPU training steps of an MLP on random data (the peer of `sweepd bench-step`).

One step = zero_grad, forward, cross-entropy, backward, optimizer step, exactly what a
PyTorch training loop does per batch. Prints one JSON object.
"""
import argparse
import json
import statistics
import time

import torch


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--layers", default="64,128,10")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--optimizer", default="adam")
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    widths = [int(w) for w in args.layers.split(",")]
    modules = []
    for i in range(len(widths) - 1):
        modules.append(torch.nn.Linear(widths[i], widths[i + 1]))
        if i < len(widths) - 2:
            modules.append(torch.nn.ReLU())
    model = torch.nn.Sequential(*modules)
    if args.optimizer == "adam":
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    elif args.optimizer == "sgd":
        optimizer = torch.optim.SGD(model.parameters(), lr=1e-2)
    else:
        raise SystemExit(f"unsupported optimizer {args.optimizer}")
    loss_fn = torch.nn.CrossEntropyLoss()
    rows = args.batch_size * 16
    x = torch.randn(rows, widths[0])
    y = torch.randint(0, widths[-1], (rows,))
    batches = [(x[i : i + args.batch_size], y[i : i + args.batch_size]) for i in range(0, rows, args.batch_size)]

    def run(steps):
        for s in range(steps):
            xb, yb = batches[s % len(batches)]
            optimizer.zero_grad(set_to_none=True)
            loss = loss_fn(model(xb), yb)
            loss.backward()
            optimizer.step()

    run(20)
    times = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        run(args.steps)
        times.append((time.perf_counter() - start) / args.steps * 1e6)
    median = statistics.median(times)
    print(json.dumps({
        "layers": widths, "batch_size": args.batch_size, "optimizer": args.optimizer,
        "threads": args.threads, "us_per_step": median, "samples_per_s": args.batch_size / median * 1e6,
        "repeats_us": times, "torch": torch.__version__,
    }))


if __name__ == "__main__":
    main()
