//! Benchmark: `lbfleet inventory check` on a generated 100 000-device inventory across 1 000
//! sites (target: under 1 s). Run with `cargo bench --bench inventory_check`.
//!
//! The fleet is deterministic: HA pairs and standalones over the catalog's F5, NetScaler, Kemp
//! and FortiADC models, with real catalog versions. The binary is run end to end (process start,
//! catalog load, CSV parse, every check) several times; min and median wall times are printed.

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

const DEVICES: usize = 100_000;
const SITES: usize = 1_000;
const RUNS: usize = 7;

fn generate(dir: &Path) {
    let zones = [
        "Asia/Shanghai",
        "Europe/Berlin",
        "America/New_York",
        "Australia/Sydney",
        "UTC",
    ];
    let mut sites = String::from("site,timezone,windows,order\n");
    for s in 0..SITES {
        writeln!(
            sites,
            "S{s:04},{},Sat 02:00-06:00;Sun 02:00-06:00,{s}",
            zones[s % zones.len()]
        )
        .unwrap();
    }
    let kinds = [
        ("f5", "i4800", "12.1.2"),
        ("f5", "i7800", "15.1.10"),
        ("f5", "r5600", "17.1.3"),
        ("netscaler", "MPX-17000", "13.1-49.13"),
        ("kemp", "LM-1500", "7.2.48.2"),
        ("fortiadc", "FAD-2200F", "7.1.0"),
    ];
    let mut devices =
        String::from("name,site,vendor,model,version,mgmt_host,ha_group,ha_role,rack\n");
    let mut i = 0;
    while i < DEVICES {
        let site = (i / 2) % SITES;
        let (vendor, model, version) = kinds[(i / 2) % kinds.len()];
        let ip = |n: usize| format!("10.{}.{}.{}", n >> 16 & 255, n >> 8 & 255, n & 255);
        if i % 10 < 8 && i + 1 < DEVICES {
            for (k, role) in ["active", "standby"].iter().enumerate() {
                let n = i + k;
                writeln!(
                    devices,
                    "d{n:06},S{site:04},{vendor},{model},{version},{},g{i:06},{role},R{}",
                    ip(n),
                    n % 40
                )
                .unwrap();
            }
            i += 2;
        } else {
            writeln!(devices, "d{i:06},S{site:04},{vendor},{model},{version},lb{i}.mgmt.example.net,,standalone,R1").unwrap();
            i += 1;
        }
    }
    std::fs::write(dir.join("sites.csv"), sites).unwrap();
    std::fs::write(dir.join("devices.csv"), devices).unwrap();
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    generate(dir.path());
    let size = std::fs::metadata(dir.path().join("devices.csv"))
        .unwrap()
        .len();
    let mut times: Vec<Duration> = Vec::new();
    for _ in 0..RUNS {
        let start = Instant::now();
        let out = Command::new(env!("CARGO_BIN_EXE_lbfleet"))
            .args(["inventory", "check"])
            .arg(dir.path())
            .output()
            .unwrap();
        times.push(start.elapsed());
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        if times.len() == 1 {
            eprint!("{}", String::from_utf8_lossy(&out.stderr));
        }
    }
    times.sort();
    println!(
        "inventory check: {DEVICES} devices, {SITES} sites, devices.csv {:.1} MB: min {:.3} s, median {:.3} s over {RUNS} runs (target < 1 s)",
        size as f64 / 1e6,
        times[0].as_secs_f64(),
        times[RUNS / 2].as_secs_f64()
    );
}
