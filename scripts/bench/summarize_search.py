"""Reads `sweepd bench-search` / `optuna_search.py` JSON lines and prints a Markdown table."""
import json
import statistics
import sys

print("| function (minimum) | sampler | median best after 50 | after 100 | interquartile range after 100 | median gap to minimum after 100 |")
print("|---|---|---:|---:|---:|---:|")
for line in sys.stdin:
    d = json.loads(line)
    curves = d["best_so_far"]
    at50 = statistics.median(c[49] for c in curves)
    at100 = statistics.median(c[99] for c in curves)
    quartiles = statistics.quantiles([c[99] for c in curves], n=4)
    name = "Optuna TPE " + d["optuna"] if d["method"] == "optuna-tpe" else "sweepd " + d["method"]
    function, minimum = d["function"], d["minimum"]
    print(f"| {function} ({minimum:.6g}) | {name} | {at50:.4f} | {at100:.4f} | {quartiles[0]:.4f} … {quartiles[2]:.4f} | {at100 - minimum:.4f} |")
print(f"\n{len(curves)} seeds per sampler, 100 trials each.")
