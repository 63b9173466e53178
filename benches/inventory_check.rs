//! Benchmark: `lbfleet inventory check` on a generated 100 000-device inventory across 1 000
//! sites (target: under 1 s). Run with `cargo bench --bench inventory_check`.
//!
//! The fleet is deterministic: HA pairs and standalones over the catalog's F5, NetScaler, Kemp
//! and FortiADC models, with real catalog versions. The binary is run end to end (process start,
//! catalog load, CSV parse, every check) several times; min and median wall times are printed.

mod fleet;

use std::process::Command;
use std::time::{Duration, Instant};

use fleet::{DEVICES, SITES, generate};

const RUNS: usize = 7;

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
