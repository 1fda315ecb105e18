"""Reference values for sweepd's significance tests, from SciPy (its defaults):
scipy.stats.wilcoxon(x, y) and scipy.stats.mannwhitneyu(x, y), two-sided.

    .venv-test/bin/pip install scipy && .venv-test/bin/python scripts/reference/significance.py \
        > Tests/ReportTests/Fixtures/significance.json

Cases cover exact and asymptotic branches, ties and zero differences, and small and
larger samples. Values are printed with 17 significant digits.
"""
import json

import numpy as np
import scipy
import scipy.stats as st


def main():
    rng = np.random.default_rng(20261202)
    cases = []

    def add(name, x, y):
        x = [float(v) for v in x]
        y = [float(v) for v in y]
        case = {"name": name, "x": x, "y": y}
        if len(x) == len(y) and any(a != b for a, b in zip(x, y)):
            w = st.wilcoxon(x, y)
            case["wilcoxon"] = {"statistic": float(w.statistic), "p": float(w.pvalue)}
        u = st.mannwhitneyu(x, y)
        case["rank_sum"] = {"statistic": float(u.statistic), "p": float(u.pvalue)}
        cases.append(case)

    add("five pairs, one better", [0.11, 0.12, 0.10, 0.13, 0.12], [0.14, 0.15, 0.12, 0.16, 0.13])
    for n in (6, 10, 20, 40, 60):
        x = rng.normal(0.10, 0.02, n)
        y = x + rng.normal(0.01, 0.01, n)
        add("paired normal n=%d" % n, np.round(x, 6), np.round(y, 6))
    add("ties and a zero, n=8", [1, 2, 3, 4, 5, 6, 7, 8], [2, 2, 4, 5, 5, 8, 7, 10])
    add("ties, n=20", np.round(rng.normal(0, 1, 20), 1), np.round(rng.normal(0.3, 1, 20), 1))
    add("unpaired small", [0.2, 0.25, 0.3, 0.22], [0.31, 0.35, 0.29, 0.4, 0.33, 0.38])
    add("unpaired large", np.round(rng.normal(0, 1, 15), 4), np.round(rng.normal(0.8, 1, 12), 4))
    add("unpaired with ties", [1, 2, 2, 3, 3, 3, 4], [2, 3, 4, 4, 5, 5, 6, 6])
    print(json.dumps({"scipy": scipy.__version__, "cases": cases}, indent=1))


if __name__ == "__main__":
    main()
