//! The `--prometheus` benchmark's telemetry (scripts/bench-prometheus): DEVICES devices x DAYS
//! days of one-minute samples ending at END (Unix seconds, a whole hour), written twice with
//! the same values: as telemetry CSV and as OpenMetrics text for `promtool tsdb
//! create-blocks-from openmetrics`. Memory used, total memory, uptime (weekly reboots on the
//! hour) and throughput; every fifth device leaks. Synthetic, deterministic; no dependencies
//! (built with plain rustc).
//!
//! Usage: gen-bench-prometheus DEVICES DAYS END OUT.csv OUT.om

use std::io::{BufWriter, Write};

const GIB: f64 = 1_073_741_824.0;

fn noise(i: u64) -> f64 {
    let mut z = (i + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    ((z >> 11) as f64 / (1u64 << 53) as f64) * 2.0 - 1.0
}

/// (mem, total, uptime, throughput) of device `d` at minute `i`.
fn values(d: u64, i: u64, start: u64) -> (u64, u64, u64, u64) {
    let t = start + i * 60;
    // Weekly reboots at the device's own hour; booted 3 days before the data.
    let first = start + (d % 168) * 3600;
    let boot = if t < first {
        start - 3 * 86_400
    } else {
        first + (t - first) / (7 * 86_400) * (7 * 86_400)
    };
    let up = t - boot;
    let leak = if d % 5 == 0 { 0.5 } else { 0.0 };
    let seed = d * 1_000_003 + i;
    let mem = ((4.0 * GIB + leak * GIB * up as f64 / 86_400.0 + 40e6 * noise(seed)) / 4096.0)
        .round() as u64
        * 4096;
    let hour = (t % 86_400) as f64 / 3600.0;
    let daily = (std::f64::consts::TAU * hour / 24.0).sin();
    let thr = ((1.2e9 + 0.5e9 * daily + 1e8 * noise(seed ^ 0x5555_5555)) / 256.0).round() as u64
        * 256;
    (mem, 32 * 1_073_741_824, up, thr)
}

fn main() -> std::io::Result<()> {
    let a: Vec<String> = std::env::args().collect();
    let [_, devices, days, end, csv, om] = &a[..] else {
        eprintln!("usage: gen-bench-prometheus DEVICES DAYS END OUT.csv OUT.om");
        std::process::exit(2);
    };
    let (devices, days, end): (u64, u64, u64) = (
        devices.parse().unwrap(),
        days.parse().unwrap(),
        end.parse().unwrap(),
    );
    let start = end - days * 86_400;
    let n = days * 1440;
    let mut c = BufWriter::with_capacity(1 << 20, std::fs::File::create(csv)?);
    writeln!(c, "timestamp,device,mem_used_bytes,mem_total_bytes,uptime_s,throughput_bps")?;
    for d in 0..devices {
        for i in 0..n {
            let (mem, total, up, thr) = values(d, i, start);
            writeln!(c, "{},bench-lb{d:04},{mem},{total},{up},{thr}", start + i * 60)?;
        }
    }
    c.flush()?;
    let mut o = BufWriter::with_capacity(1 << 20, std::fs::File::create(om)?);
    for (k, name) in ["lb_mem_used_bytes", "lb_mem_total_bytes", "lb_uptime_seconds", "lb_throughput_bps"]
        .iter()
        .enumerate()
    {
        writeln!(o, "# TYPE {name} gauge")?;
        for d in 0..devices {
            for i in 0..n {
                let v = values(d, i, start);
                let v = [v.0, v.1, v.2, v.3][k];
                writeln!(o, "{name}{{device=\"bench-lb{d:04}\"}} {v} {}", start + i * 60)?;
            }
        }
    }
    writeln!(o, "# EOF")?;
    o.flush()
}
