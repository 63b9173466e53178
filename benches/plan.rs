//! Benchmark: `lbfleet plan` on the generated 100 000-device, 1 000-site fleet (target: at
//! most 0.5 s and 300 MB peak RSS). Run with `cargo bench --bench plan`.
//!
//! The release binary runs end to end (process start, catalog and inventory load, paths,
//! canary, waves, window placement, the JSON plan written and fsynced; `--quiet` prints only
//! the summary) in two shapes: the defaults (canary, then one wave) and a capped rollout (`--max-per-site 1 --ha-two-phase`, about a hundred waves).
//! Wall time is min and median over several runs; peak RSS is the largest child's
//! `ru_maxrss` from `getrusage(RUSAGE_CHILDREN)`.

mod fleet;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use fleet::{SITES, generate};

const RUNS: usize = 7;

fn peak_rss_children_mb() -> f64 {
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `u` is a valid, writable rusage.
    let rc = unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut u) };
    assert_eq!(rc, 0);
    u.ru_maxrss as f64 / 1024.0 // kilobytes on Linux
}

fn main() {
    // `FLEET_DIR=/tmp/fleet cargo bench --bench plan` only writes the fleet, for profiling.
    if let Some(d) = std::env::var_os("FLEET_DIR") {
        std::fs::create_dir_all(&d).unwrap();
        generate(std::path::Path::new(&d));
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    generate(dir.path());
    let inv = dir.path().to_str().unwrap().to_string();
    let out = dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let plan = out.join("plan.json");
    let plan = plan.to_str().unwrap();
    let shapes: [(&str, Vec<&str>); 2] = [
        ("defaults", vec![]),
        ("capped", vec!["--max-per-site", "1", "--ha-two-phase"]),
    ];
    for (name, extra) in shapes {
        let mut times: Vec<Duration> = Vec::new();
        let mut last = None;
        for _ in 0..RUNS {
            let start = Instant::now();
            let o = Command::new(env!("CARGO_BIN_EXE_lbfleet"))
                .args([
                    "plan",
                    &inv,
                    "--start",
                    "2026-11-25T00:00:00Z",
                    "-o",
                    plan,
                    "--quiet",
                ])
                .args(&extra)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .output()
                .unwrap();
            times.push(start.elapsed());
            assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
            last = Some(o);
        }
        let last = last.expect("at least one run");
        times.sort();
        // The summary line, not the 60 MB plan: parsing it here would inflate the RSS that
        // forked children report before they exec.
        let summary = String::from_utf8_lossy(&last.stdout)
            .lines()
            .next()
            .unwrap_or("")
            .to_string();
        println!(
            "plan ({name}): {SITES} sites, {summary}: min {:.3} s, median {:.3} s over {RUNS} runs (target ≤ 0.5 s)",
            times[0].as_secs_f64(),
            times[RUNS / 2].as_secs_f64()
        );
    }
    println!(
        "peak RSS of any run: {:.1} MB (target ≤ 300 MB)",
        peak_rss_children_mb()
    );
}
