//! Synthetic memory telemetry with a planted truth, for the tests of `verify-fix` and the
//! upgrade gate (lib and integration tests alike): a leak whose rate changes at given instants
//! (an upgrade that fixes it, or not), reboots that free what leaked, and autocorrelated noise.
//! Not part of the tool's interface.

use std::fmt::Write as _;

/// One device's series.
#[derive(Clone, Debug)]
pub struct Series {
    /// Device name.
    pub device: String,
    /// First sample, Unix seconds.
    pub start: u32,
    /// Last sample at or before this, Unix seconds.
    pub end: u32,
    /// Seconds between samples.
    pub step: u32,
    /// Memory total, bytes.
    pub total: f64,
    /// Memory in use just after a boot, bytes.
    pub base: f64,
    /// Standard deviation of the noise, bytes (AR(1), 0.98 per sample).
    pub noise: f64,
    /// The leak, bytes/day, from each instant on (sorted; the first applies from `start`).
    pub rates: Vec<(u32, f64)>,
    /// Boots (memory back to `base`, uptime restarts), Unix seconds, in any order.
    pub boots: Vec<u32>,
    /// Seed of the noise.
    pub seed: u64,
}

/// The CSV header [`Series::rows`] writes under.
pub const HEADER: &str = "timestamp,device,mem_used_bytes,mem_total_bytes,uptime_s\n";

impl Series {
    /// A device that leaks `rate` bytes/day on 16 GiB from `start` to `end`, 1-minute samples.
    pub fn leaking(device: &str, start: u32, end: u32, rate: f64, seed: u64) -> Series {
        let gib = 1024.0 * 1024.0 * 1024.0;
        Series {
            device: device.to_string(),
            start,
            end,
            step: 60,
            total: 16.0 * gib,
            base: 6.0 * gib,
            noise: 24.0 * 1024.0 * 1024.0,
            rates: vec![(start, rate)],
            boots: Vec::new(),
            seed,
        }
    }

    /// Appends its rows (Unix-second timestamps) to `out`.
    pub fn rows(&self, out: &mut String) {
        let mut rng = self.seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        let phi: f64 = 0.98;
        let innovation = self.noise * (1.0 - phi * phi).sqrt();
        let mut noise = 0.0;
        let mut level = self.base;
        let mut boot = self.start.saturating_sub(3600);
        let mut t = self.start;
        let first = t;
        let mut boots: Vec<u32> = self.boots.iter().copied().filter(|&b| b > first).collect();
        boots.sort_unstable();
        let mut next_boot = boots.into_iter().peekable();
        while t <= self.end {
            if next_boot.peek().is_some_and(|&b| b <= t) {
                boot = next_boot.next().expect("peeked");
                level = self.base;
            }
            let rate = self
                .rates
                .iter()
                .rev()
                .find(|r| r.0 <= t)
                .map_or(0.0, |r| r.1);
            noise = phi * noise + innovation * normal(&mut rng);
            let used = (level + noise).clamp(0.0, self.total);
            let _ = writeln!(
                out,
                "{t},{},{used:.0},{:.0},{}",
                self.device,
                self.total,
                t - boot.min(t)
            );
            level += rate * f64::from(self.step) / 86_400.0;
            t += self.step;
        }
    }
}

/// A standard normal deviate (Box–Muller on xorshift64*).
fn normal(state: &mut u64) -> f64 {
    let mut uniform = || {
        *state ^= *state >> 12;
        *state ^= *state << 25;
        *state ^= *state >> 27;
        let x = state.wrapping_mul(0x2545_F491_4F6C_DD1D);
        ((x >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    };
    let (u, v) = (uniform(), uniform());
    (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
}

/// The CSV of several series.
pub fn csv(series: &[Series]) -> String {
    let mut out = String::from(HEADER);
    for s in series {
        s.rows(&mut out);
    }
    out
}
