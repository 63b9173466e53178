#!/usr/bin/env python3
"""Synthetic, deterministic load-balancer telemetry for lbfleet's evaluator.

Two uses:

  # The committed sample for the sample fleet (inventories/): 14 days every 30 minutes.
  # Devices affected by a memory-leak defect in the catalog (per reports/inventory-report.csv)
  # leak; the CN01 ones are rebooted weekly, as the incident's operators did.
  python3 scripts/gen-telemetry.py --sample -o telemetry/sample.csv

  # The benchmark file: 200 devices x 30 days x 1-minute samples (8.64 M rows, ~650 MB).
  python3 scripts/gen-telemetry.py --devices 200 --days 30 --step 60 -o /tmp/telemetry.csv

Memory totals come from the catalog's models.csv where it publishes one; otherwise the
simulated device reports no total (the column is left empty), as lbfleet must cope with.
Every figure here is synthetic: traffic shapes and leak rates are chosen, not measured.
"""

import argparse
import csv
import math
import os
import random
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GIB = 1024 ** 3
START = 1_790_812_800  # 2026-10-01T00:00:00Z


def catalog_models():
    out = {}
    with open(os.path.join(ROOT, "inventories/catalog/models.csv"), newline="") as f:
        for r in csv.DictReader(f):
            out[(r["vendor"], r["model"].lower())] = r
    return out


def leak_defects():
    with open(os.path.join(ROOT, "inventories/catalog/defects.csv"), newline="") as f:
        return {r["id"] for r in csv.DictReader(f) if r["kind"] in ("memory-leak", "memory-exhaustion")}


def sample_devices():
    """(name, total bytes or None, capacity bps, leak bytes/day or 0, weekly reboot, standby)."""
    models = catalog_models()
    leaks = leak_defects()
    advisories = {}
    with open(os.path.join(ROOT, "reports/inventory-report.csv"), newline="") as f:
        for r in csv.DictReader(f):
            advisories[r["name"]] = set(filter(None, r["advisories"].split(";")))
    out = []
    with open(os.path.join(ROOT, "inventories/devices.csv"), newline="") as f:
        for r in csv.DictReader(f):
            m = models.get((r["vendor"], r["model"].lower()), {})
            total = float(m["memory_gb"]) * GIB if m.get("memory_gb") else None
            cap = float(m["l4_throughput_gbps"]) * 1e9 if m.get("l4_throughput_gbps") else 10e9
            leaking = bool(advisories.get(r["name"], set()) & leaks)
            rate = 0.0
            if leaking:
                # 2 % of memory a day, or 300 MiB a day when the total is unknown; CN01 (the
                # incident's data center) 5 % a day: the threshold in about 12 days.
                share = 0.05 if r["site"] == "CN01" else 0.02
                rate = share * total if total else 300 * 1024 ** 2
            out.append((r["name"], total, cap, rate, leaking and r["site"] == "CN01", r["ha_role"] == "standby"))
    # A device the inventory does not know: still analysed, and said so.
    out.append(("lab-lb99", 16 * GIB, 10e9, 0.0, False, False))
    return out


def bench_devices(n):
    out = []
    for i in range(n):
        leaking = i % 4 == 0
        out.append((f"dev{i:04d}", 32 * GIB, 40e9, 0.015 * 32 * GIB if leaking else 0.0, i % 8 == 0, False))
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sample", action="store_true", help="the sample fleet's telemetry")
    p.add_argument("--devices", type=int, default=200)
    p.add_argument("--days", type=int)
    p.add_argument("--step", type=int, help="seconds between samples")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("-o", "--output", required=True)
    a = p.parse_args()
    devices = sample_devices() if a.sample else bench_devices(a.devices)
    days = a.days or (14 if a.sample else 30)
    step = a.step or (1800 if a.sample else 60)
    rng = random.Random(a.seed)
    # Per device: baseline fraction, traffic share and phase, fixed by the seed.
    state = []
    for name, total, cap, rate, weekly, standby in devices:
        base = (0.25 + 0.15 * rng.random()) * (total or 16 * GIB)
        share = 0.0 if standby else 0.10 + 0.15 * rng.random()
        state.append((name, total, cap, rate, weekly, base, share, rng.random() * 2 * math.pi))
    steps = days * 86_400 // step
    os.makedirs(os.path.dirname(os.path.abspath(a.output)), exist_ok=True)
    tmp = a.output + ".tmp"
    with open(tmp, "w", newline="\n") as f:
        f.write("timestamp,device,mem_used_bytes,mem_total_bytes,throughput_bps,connections,cpu_pct,ssl_tps\n")
        write = f.write
        for k in range(steps):
            t = START + k * step
            day = (t - START) / 86_400
            stamp = "%04d-%02d-%02dT%02d:%02d:%02dZ" % gmtime6(t)
            diurnal = 0.55 + 0.45 * math.sin(2 * math.pi * ((t % 86_400) / 86_400 - 0.3))
            for name, total, cap, rate, weekly, base, share, phase in state:
                age = day % 7 if weekly else day
                noise = rng.random() - 0.5
                mem = base + rate * age + 0.004 * (total or 16 * GIB) * noise
                thr = cap * share * (1 + 0.003 * day) * max(0.05, diurnal + 0.05 * math.sin(phase + day))
                thr *= 1 + 0.05 * (rng.random() - 0.5)
                conns = int(thr / 4e4)
                cpu = min(99.0, 5 + 60 * thr / cap)
                ssl = int(thr / 2e6)
                write("%s,%s,%d,%s,%d,%d,%.1f,%d\n" % (stamp, name, mem, "%d" % total if total else "", thr, conns, cpu, ssl))
    os.replace(tmp, a.output)
    print(f"wrote {a.output}: {len(state)} devices, {steps} samples each", file=sys.stderr)


def gmtime6(t):
    import time

    g = time.gmtime(t)
    return (g.tm_year, g.tm_mon, g.tm_mday, g.tm_hour, g.tm_min, g.tm_sec)


if __name__ == "__main__":
    main()
