"""Times `lbfleet evaluate` and a simpler DuckDB query on the same telemetry file.

lbfleet does the full evaluation (parse, sort, merge duplicates, reboot detection, hourly
Mann-Kendall and Theil-Sen with Sen's interval per cycle, quantiles, daily-peak trends,
candidates, CSV/Markdown/SVG output). DuckDB runs the per-device query the issue names:
regr_slope of memory over time, two quantiles and the max of throughput. Min and median wall
time of RUNS runs each; lbfleet's peak RSS from wait4 (its own, not the build's).
"""

import os
import statistics
import subprocess
import sys
import tempfile
import time

import duckdb

path, runs = sys.argv[1], int(sys.argv[2])
size_mb = os.path.getsize(path) / 1e6
lbfleet = os.path.join("target", "release", "lbfleet")

QUERY = f"""
SELECT device,
       regr_slope(mem_used_bytes, epoch(timestamp)) AS mem_slope,
       quantile_cont(throughput_bps, 0.95) AS p95,
       quantile_cont(throughput_bps, 0.99) AS p99,
       max(throughput_bps) AS max
FROM read_csv('{path}', header = true)
GROUP BY device
"""


def timed(fn):
    out = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return min(out), statistics.median(out)


with tempfile.TemporaryDirectory() as out_dir:
    peak_rss_kb = 0

    def run_lbfleet():
        # wait4 gives this run's own peak RSS (RUSAGE_CHILDREN would also count the cargo
        # build that ran before this script in the same process).
        global peak_rss_kb
        p = subprocess.Popen(
            [lbfleet, "evaluate", "--telemetry", path, "-o", out_dir, "--format", "csv"],
            stdout=subprocess.DEVNULL,
        )
        _, _, usage = os.wait4(p.pid, 0)
        p.returncode = 0
        peak_rss_kb = max(peak_rss_kb, usage.ru_maxrss)

    def run_duckdb():
        con = duckdb.connect()
        rows = con.execute(QUERY).fetchall()
        assert len(rows) > 0
        con.close()

    run_lbfleet()  # warm the page cache for both
    lb_min, lb_med = timed(run_lbfleet)
    rss_mb = peak_rss_kb / 1024
    db_min, db_med = timed(run_duckdb)

threads = duckdb.connect().execute("SELECT current_setting('threads')").fetchone()[0]
print(f"telemetry: {path} ({size_mb:.0f} MB), {os.cpu_count()} cores, DuckDB {duckdb.__version__} with {threads} threads")
print(f"lbfleet evaluate (full evaluation): min {lb_min:.2f} s, median {lb_med:.2f} s, peak RSS {rss_mb:.0f} MB (target <= 150 MB)")
print(f"DuckDB (slope, 2 quantiles, max):   min {db_min:.2f} s, median {db_med:.2f} s")
print(f"lbfleet is {db_min / lb_min:.2f}x faster than DuckDB by min time (target >= 2.8x)")
