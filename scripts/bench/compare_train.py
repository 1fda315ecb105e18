"""Runs sweepd and PyTorch training-step benchmarks interleaved and prints a Markdown table.

Each round runs one sweepd measurement and one PyTorch measurement of every case (each
itself the median of several timed repeats), alternating which goes first; the table shows
the median over rounds and the ratio of throughputs.
"""
import argparse
import json
import platform
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

CASES = [
    # (label, layers, batch, optimizer, steps per repeat, target ratio)
    ("digits-size MLP", "64,128,10", 32, "adam", 1000, 15.0),
    ("digits-size MLP", "64,128,10", 32, "sgd", 1000, None),
    ("MNIST-size MLP", "784,256,10", 128, "adam", 100, 1.5),
    ("MNIST-size MLP", "784,256,10", 128, "sgd", 100, None),
]


def run_json(command):
    result = subprocess.run(command, check=True, capture_output=True, text=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--sweepd", required=True)
    parser.add_argument("--python", required=True)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()

    peak = run_json([args.sweepd, "bench-step", "--layers", "64,10", "--steps", "1", "--repeats", "1", "--peak"])
    core = peak["blas_core"]
    torch_version = run_json([args.python, "-c", "import json, torch; print(json.dumps({'v': torch.__version__}))"])["v"]

    rows = []
    for label, layers, batch, optimizer, steps, target in CASES:
        ours, theirs, gflops = [], [], []
        for round_index in range(args.rounds):
            sweepd_cmd = [args.sweepd, "bench-step", "--layers", layers, "--batch-size", str(batch),
                          "--optimizer", optimizer, "--steps", str(steps), "--repeats", "5"]
            torch_cmd = [args.python, str(HERE / "torch_step.py"), "--layers", layers, "--batch-size", str(batch),
                         "--optimizer", optimizer, "--steps", str(steps), "--repeats", "5", "--threads", "1"]
            order = [("sweepd", sweepd_cmd), ("torch", torch_cmd)]
            if round_index % 2:
                order.reverse()
            for name, command in order:
                result = run_json(command)
                if name == "sweepd":
                    ours.append(result["us_per_step"])
                    gflops.append(result["gflops"])
                else:
                    theirs.append(result["us_per_step"])
        us_ours, us_theirs = statistics.median(ours), statistics.median(theirs)
        ratio = us_theirs / us_ours
        rows.append((label, layers, batch, optimizer, us_theirs, us_ours, ratio, statistics.median(gflops), target))
        print(f"{label} {layers} b{batch} {optimizer}: torch {us_theirs:.1f} µs, sweepd {us_ours:.1f} µs, "
              f"{ratio:.2f}×", file=sys.stderr)

    # 1 and 2 cores alternate, so a passing load on the second core hits both sides alike.
    scaling = {1: [], 2: []}
    for _ in range(max(5, args.rounds)):
        for cores in (1, 2):
            scaling[cores].append(run_json([args.sweepd, "bench-step", "--layers", "784,512,256,10", "--batch-size",
                                            "256", "--optimizer", "adam", "--steps", "20", "--repeats", "3",
                                            "--cores", str(cores)])["us_per_step"])
    ratios = sorted(one / two for one, two in zip(scaling[1], scaling[2]))

    print(f"Machine: {platform.processor() or platform.machine()}, OpenBLAS kernel {core}, "
          f"PyTorch {torch_version} (1 thread), {args.rounds} interleaved rounds; medians.\n")
    print("| model | layers | batch | optimizer | PyTorch µs/step | sweepd µs/step | sweepd samples/s | ratio | target | sweepd GFLOP/s | of sgemm peak |")
    print("|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for label, layers, batch, optimizer, theirs, ours, ratio, gf, target in rows:
        target_text = f"≥ {target:g}×" if target else "—"
        print(f"| {label} | {layers} | {batch} | {optimizer} | {theirs:.1f} | {ours:.1f} | {batch / ours * 1e6:,.0f} | "
              f"**{ratio:.2f}×** | {target_text} | {gf:.1f} | {gf / peak['sgemm_peak_gflops'] * 100:.0f}% |")
    print(f"\nOpenBLAS single-thread sgemm peak (1024³): {peak['sgemm_peak_gflops']:.1f} GFLOP/s.")
    print(f"\nGradient shards on 2 cores, 784-512-256-10, batch 256, Adam: 1 core "
          f"{statistics.median(scaling[1]):.0f} µs/step, 2 cores {statistics.median(scaling[2]):.0f} µs/step; "
          f"speed-up per round: median **{statistics.median(ratios):.2f}×**, range {ratios[0]:.2f}–{ratios[-1]:.2f}× "
          f"over {len(ratios)} rounds (target ≥ 1.6×).")


if __name__ == "__main__":
    main()
