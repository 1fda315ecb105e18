"""Reads `sweepd bench-search` / `optuna_search.py` JSON lines and prints a Markdown table."""
import json
import statistics
import sys

FINALS = {}
print("| function (minimum) | sampler | median best after 50 | after 100 | interquartile range after 100 | median gap to minimum after 100 |")
print("|---|---|---:|---:|---:|---:|")
for line in sys.stdin:
    d = json.loads(line)
    curves = d["best_so_far"]
    at50 = statistics.median(c[49] for c in curves)
    at100 = statistics.median(c[99] for c in curves)
    quartiles = statistics.quantiles([c[99] for c in curves], n=4)
    name = "Optuna TPE " + d["optuna"] if d["method"] == "optuna-tpe" else "sweepd " + d["method"]
    key = "optuna" if d["method"] == "optuna-tpe" else name
    FINALS.setdefault(d["function"], {})[key] = [c[99] for c in curves]
    function, minimum = d["function"], d["minimum"]
    print(f"| {function} ({minimum:.6g}) | {name} | {at50:.4f} | {at100:.4f} | {quartiles[0]:.4f} … {quartiles[2]:.4f} | {at100 - minimum:.4f} |")
print(f"\n{len(curves)} seeds per sampler, 100 trials each.")
# sweepd's TPE against Optuna's: two-sided Mann–Whitney U on the best values after 100 trials.
try:
    from scipy.stats import mannwhitneyu
except ImportError:
    mannwhitneyu = None
if mannwhitneyu:
    print()
    for function, finals in sorted(FINALS.items()):
        if "sweepd tpe" in finals and "optuna" in finals:
            p = mannwhitneyu(finals["sweepd tpe"], finals["optuna"]).pvalue
            print(f"- {function}: sweepd TPE vs Optuna TPE after 100 trials, Mann–Whitney U p = {p:.2f}")
