#!/usr/bin/env python3
"""Reference values for lbfleet's statistics on a rising series (tests/data/rising.csv).

Writes the series (200 values: a rise of 0.05 per step plus deterministic noise from a linear
congruential generator, rounded to one decimal so that ties occur) and prints pyMannKendall's
`original_test` and `sens_slope` results on it, plus Sen's (1968) confidence interval computed
here in plain Python from the sorted pairwise slopes (Gilbert 1987, eq. 16.15-16.16: C = z *
sqrt(Var S), lower = the (N - C)/2-th smallest slope, upper = the (N + C)/2 + 1-th, both 1-based
and linearly interpolated between neighbours, clamped to 1..N) as an independent check.

Run once to regenerate; the printed values are committed in src/evaluator/stats.rs.
  python3 -m venv /tmp/venv && /tmp/venv/bin/pip install pymannkendall==1.4.3
  /tmp/venv/bin/python scripts/stats-reference.py
"""
import math
import pathlib

import pymannkendall as mk

Z95 = 1.959963984540054

def series(n=200):
    state = 12345
    out = []
    for i in range(n):
        state = (1103515245 * state + 12345) % 2**31
        noise = (state / 2**31 - 0.5) * 40.0
        out.append(round(0.05 * i + noise, 1))
    return out

y = series()
path = pathlib.Path(__file__).resolve().parent.parent / "tests" / "data" / "rising.csv"
path.write_text("value\n" + "".join(f"{v}\n" for v in y))

r = mk.original_test(y)
s = mk.sens_slope(y)
slopes = sorted((y[j] - y[i]) / (j - i) for i in range(len(y)) for j in range(i + 1, len(y)))
big_n = len(slopes)
c = Z95 * math.sqrt(r.var_s)

def rank(k):
    k = min(max(k, 1.0), float(big_n)) - 1.0
    lo = int(math.floor(k))
    hi = min(lo + 1, big_n - 1)
    return slopes[lo] + (slopes[hi] - slopes[lo]) * (k - lo)

print(f"n = {len(y)}")
print(f"S = {r.s!r}, Var(S) = {r.var_s!r}, Z = {r.z!r}, p = {r.p!r}, tau = {r.Tau!r}, trend = {r.trend}")
print(f"Sen slope = {s.slope!r}, intercept = {s.intercept!r}")
print(f"Sen 95% interval = {rank((big_n - c) / 2.0)!r} .. {rank((big_n + c) / 2.0 + 1.0)!r}")
