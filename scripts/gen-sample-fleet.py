#!/usr/bin/env python3
"""Writes the bundled sample fleet (inventories/sites.csv, inventories/devices.csv).

A fictional payments operator, "Meridian", with four data centers. Deterministic: run it again
and the files come out byte-identical. Models and versions are real catalog entries, chosen so
the sample shows each situation lbfleet reports: devices on releases with real memory-leak
defects (F5 ID640376 on i4000/i2000, ID454018 on 11.5.x), multi-hop paths, hardware that cannot
reach the recommended target (rSeries tenants on 15.1), and vendors whose paths are blocked.
"""
import csv
import pathlib

root = pathlib.Path(__file__).resolve().parent.parent / "inventories"

sites = [
    # site, timezone, windows, order
    ("SYD1", "Australia/Sydney", "Sun 00:00-06:00", 1),
    ("FRA1", "Europe/Berlin", "Sun 00:00-06:00;Wed 01:00-05:00", 2),
    ("NYC2", "America/New_York", "Sat 22:00-06:00", 3),
    ("CN01", "Asia/Shanghai", "Sat 00:00-08:00;Sun 00:00-08:00", 4),
]

# (site, vendor, model, version, pairs, standalones, rack prefix)
groups = [
    ("CN01", "f5", "i4800", "12.1.2", 3, 0),        # ID640376 STPD leak: the weekly-reboot fleet
    ("CN01", "f5", "i2800", "11.6.5.1", 1, 1),      # ID640376 as well
    ("CN01", "f5", "r5600", "15.1.10", 1, 0),       # rSeries tenant: cannot cross 16.x
    ("CN01", "netscaler", "MPX-17000", "13.1-49.13", 1, 0),
    ("CN01", "fortiadc", "FAD-2000D", "7.2.6", 0, 1),
    ("FRA1", "f5", "i7800", "15.1.10", 2, 0),       # 15.1 -> 16.1.4 -> 17.1.1.3 -> 17.5.1
    ("FRA1", "f5", "i10800", "16.1.3.2", 1, 0),
    ("FRA1", "netscaler", "MPX-11500", "13.0-92.19", 1, 0),  # one release at a time
    ("FRA1", "kemp", "LM-1500", "7.2.48.2", 0, 2),  # through the 7.2.60 gate
    ("NYC2", "f5", "4200", "11.5.1 HF10", 1, 0),    # ID454018, ID604926, ID603598
    ("NYC2", "f5", "i11800", "17.1.1.3", 1, 0),
    ("NYC2", "f5", "r10900", "17.1.3", 1, 0),
    ("NYC2", "fortiadc", "FAD-2200F", "7.1.0", 0, 2),
    ("NYC2", "fortiadc", "FAD-400D", "6.2.6", 0, 1),  # no 7.0 release known: blocked
    ("SYD1", "f5", "i5800", "13.1.1.3", 1, 0),      # ID974501, ID741535, ID708830
    ("SYD1", "f5", "VE", "17.5.1", 0, 1),
    ("SYD1", "netscaler", "MPX-11500", "14.1-12.35", 0, 1),
    ("SYD1", "kemp", "LM-1500", "7.2.60", 0, 1),
    ("SYD1", "f5", "i2600", "12.1.3.4", 1, 0),      # 12.1.3 fixed ID640376 on the 12.1 train
    ("NYC2", "netscaler", "MPX-17000", "12.1-65.39", 0, 1),  # 12.1 -> 13.0 -> 13.1 -> 14.1
]

def main():
    with open(root / "sites.csv", "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["site", "timezone", "windows", "order"])
        w.writerows(sites)
    rows = []
    counter = {}
    for site, vendor, model, version, pairs, alone in groups:
        def name():
            counter[site] = counter.get(site, 0) + 1
            n = counter[site]
            return f"{site.lower()}-lb{n:02d}", n
        for p in range(pairs):
            members = []
            for role in ("active", "standby"):
                dev, n = name()
                members.append((dev, role, n))
            group = f"{site.lower()}-ha{members[0][2]:02d}"
            for dev, role, n in members:
                rows.append([dev, site, vendor, model, version, f"{dev}.mgmt.meridian.example", group, role, f"{site}-R{(n + 1) // 2:02d}"])
        for a in range(alone):
            dev, n = name()
            rows.append([dev, site, vendor, model, version, f"{dev}.mgmt.meridian.example", "", "standalone", f"{site}-R{(n + 1) // 2:02d}"])
    with open(root / "devices.csv", "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["name", "site", "vendor", "model", "version", "mgmt_host", "ha_group", "ha_role", "rack"])
        w.writerows(rows)
    print(f"{len(rows)} devices in {len(sites)} sites")

main()
