//! Per-device analysis: memory cycles and leaks, days to exhaustion and the reboot interval;
//! throughput quantiles, the trend of daily peaks and the projected peak.
//!
//! Memory, step by step (thresholds are [`Settings`] fields, all documented in the README):
//!
//! 1. Samples are sorted by time; samples of the same second are merged (later rows win).
//! 2. A **reboot** is a drop between consecutive samples of at least `reboot_drop` (5 %) of
//!    the device's total memory (of the previous value when the total is unknown) and at least
//!    `reboot_noise` (8) times the median change between consecutive samples, so that noisy
//!    series do not split. Reboots cut the series into **cycles**.
//! 3. Each cycle is aggregated to **hourly means** (telemetry every minute is strongly
//!    autocorrelated; testing raw samples flags meaningless slopes). A cycle with fewer than
//!    `min_hours` hourly points is too short to judge.
//! 4. On the hourly means: Mann–Kendall, and the Theil–Sen slope in bytes/day with Sen's 95 %
//!    interval. A cycle **leaks** when the trend is upward and significant (p < `alpha`), the
//!    interval excludes zero, and the slope is material: at least `min_leak_fraction` (0.1 %)
//!    of total memory per day, or 1 MiB/day when the total is unknown.
//! 5. The device is judged on its latest cycle long enough to judge. From the **conservative**
//!    slope (the interval's upper bound): days until memory in use reaches the threshold and
//!    the total, from the latest hourly level; the **reboot interval** = (threshold level −
//!    post-reboot baseline) / conservative slope / `safety_factor`, rounded down to whole days,
//!    where the baseline is the Theil–Sen line at the start of the cycle.

use super::stats::{self, MannKendall, SenLine, Z95};
use super::telemetry::{DeviceData, Sample};

/// Thresholds of the analysis.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Settings {
    /// Memory-in-use threshold as a fraction of the total (`--memory-threshold`, 0.9).
    pub threshold: f64,
    /// Divides the time to the threshold for the reboot interval (`--safety-factor`, 1.5).
    pub safety_factor: f64,
    /// A drop of this fraction of total memory between two samples is a reboot (0.05)...
    pub reboot_drop: f64,
    /// ... when it is also this many times the median change between samples (8).
    pub reboot_noise: f64,
    /// Significance level of the Mann–Kendall test (0.05).
    pub alpha: f64,
    /// Smallest leak worth the name, as a fraction of total memory per day (0.001).
    pub min_leak_fraction: f64,
    /// Hourly points a cycle needs to be judged (24).
    pub min_hours: usize,
    /// How far ahead throughput is projected, in days (`--horizon`, 3 years).
    pub horizon_days: f64,
    /// The reboot interval operators use today, in days (7: weekly).
    pub current_interval_days: f64,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            threshold: 0.9,
            safety_factor: 1.5,
            reboot_drop: 0.05,
            reboot_noise: 8.0,
            alpha: 0.05,
            min_leak_fraction: 0.001,
            min_hours: 24,
            horizon_days: 3.0 * 365.25,
            current_interval_days: 7.0,
        }
    }
}

/// One memory cycle (between reboots).
#[derive(Clone, Debug, PartialEq)]
pub struct Cycle {
    /// First and last sample, Unix seconds.
    pub start: u32,
    /// Last sample.
    pub end: u32,
    /// Hourly means: (days since `start`, bytes).
    pub hourly: Vec<(f64, f64)>,
    /// Trend test on the hourly means (when there are at least two).
    pub mk: Option<MannKendall>,
    /// Slope in bytes/day with its interval; intercept = level at `start`. Computed for judged
    /// cycles with a significant upward trend only.
    pub line: Option<SenLine>,
    /// Whether the cycle is long enough to judge.
    pub judged: bool,
    /// Whether it leaks (see the module documentation).
    pub leak: bool,
}

/// The memory verdict for a device.
#[derive(Clone, Debug, PartialEq)]
pub struct Memory {
    /// Memory samples (after merging duplicates).
    pub samples: usize,
    /// Total memory, when reported.
    pub total: Option<f64>,
    /// Reboots found (Unix seconds of the first sample after each).
    pub reboots: Vec<u32>,
    /// Every cycle, oldest first.
    pub cycles: Vec<Cycle>,
    /// Index of the cycle the verdict is based on.
    pub judged: Option<usize>,
    /// Whether the judged cycle leaks.
    pub leak: bool,
    /// Latest hourly level, bytes.
    pub level: Option<f64>,
    /// Days until the threshold at the conservative slope (0 when already above).
    pub days_to_threshold: Option<f64>,
    /// Days until the total at the conservative slope.
    pub days_to_exhaustion: Option<f64>,
    /// Recommended reboot interval in whole days.
    pub reboot_interval_days: Option<u32>,
}

impl Memory {
    /// The judged cycle.
    pub fn cycle(&self) -> Option<&Cycle> {
        self.judged.map(|i| &self.cycles[i])
    }
}

/// The throughput view of a device.
#[derive(Clone, Debug, PartialEq)]
pub struct Throughput {
    /// Samples with a throughput value.
    pub samples: usize,
    /// Type-7 quantiles and the maximum, bits/s.
    pub p50: f64,
    /// 95th percentile.
    pub p95: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Maximum.
    pub max: f64,
    /// Peak per UTC day: (day number since the epoch, bits/s).
    pub daily_peaks: Vec<(u32, f64)>,
    /// Theil–Sen trend of the daily peaks in bits/s per day (x = day number), with 7+ days.
    pub trend: Option<SenLine>,
    /// max(highest daily peak, the trend at the horizon).
    pub projected_peak: f64,
}

/// Everything about one device.
#[derive(Clone, Debug, PartialEq)]
pub struct DeviceResult {
    /// Device name.
    pub name: String,
    /// Samples after merging duplicates.
    pub samples: usize,
    /// Rows merged because another row had the same device and second.
    pub duplicates: usize,
    /// First and last sample (Unix seconds).
    pub span: Option<(u32, u32)>,
    /// Memory, when the telemetry has it.
    pub memory: Option<Memory>,
    /// Throughput, when the telemetry has it.
    pub throughput: Option<Throughput>,
    /// Highest daily peak of connections, SSL TPS and CPU percent, when present.
    pub peak_connections: Option<f64>,
    /// See `peak_connections`.
    pub peak_ssl_tps: Option<f64>,
    /// See `peak_connections`.
    pub peak_cpu_pct: Option<f64>,
}

/// Analyses one device's data.
pub fn analyse(data: DeviceData, s: &Settings) -> DeviceResult {
    let DeviceData {
        name,
        samples,
        mem_total,
        connections_daily,
        ssl_daily,
        cpu_daily,
    } = data;
    let mut v = samples.into_vec();
    v.sort_by_key(|x| x.t); // stable: rows of one second stay in read order
    let raw = v.len();
    let v = merge_duplicates(v);
    let peak = |m: &std::collections::BTreeMap<u32, f64>| m.values().copied().reduce(f64::max);
    DeviceResult {
        name,
        samples: v.len(),
        duplicates: raw - v.len(),
        span: v.first().zip(v.last()).map(|(a, b)| (a.t, b.t)),
        memory: memory(&v, mem_total, s),
        throughput: throughput(&v, s),
        peak_connections: peak(&connections_daily),
        peak_ssl_tps: peak(&ssl_daily),
        peak_cpu_pct: peak(&cpu_daily),
    }
}

/// Samples of the same second become one; later values win, missing ones do not erase.
fn merge_duplicates(mut v: Vec<Sample>) -> Vec<Sample> {
    v.dedup_by(|later, kept| {
        if later.t != kept.t {
            return false;
        }
        if !later.mem.is_nan() {
            kept.mem = later.mem;
        }
        if !later.thr.is_nan() {
            kept.thr = later.thr;
        }
        true
    });
    v
}

fn memory(v: &[Sample], total: Option<f64>, s: &Settings) -> Option<Memory> {
    let points: Vec<(u32, f64)> = v
        .iter()
        .filter(|x| !x.mem.is_nan())
        .map(|x| (x.t, f64::from(x.mem)))
        .collect();
    if points.is_empty() {
        return None;
    }
    // Reboots: drops that are large against the memory and against the usual jitter.
    // Absolute differences are never negative: their bit patterns order as they do.
    let mut diffs: Vec<u64> = points
        .windows(2)
        .map(|w| (w[1].1 - w[0].1).abs().to_bits())
        .collect();
    let jitter = if diffs.is_empty() {
        0.0
    } else {
        stats::median_of_keys(&mut diffs, f64::from_bits)
    };
    let mut cuts = vec![0];
    for i in 1..points.len() {
        let (prev, cur) = (points[i - 1].1, points[i].1);
        let scale = total.unwrap_or(prev);
        if scale > 0.0 && prev - cur >= (s.reboot_drop * scale).max(s.reboot_noise * jitter) {
            cuts.push(i);
        }
    }
    cuts.push(points.len());
    let reboots: Vec<u32> = cuts[1..cuts.len() - 1]
        .iter()
        .map(|&i| points[i].0)
        .collect();
    let cycles: Vec<Cycle> = cuts
        .windows(2)
        .map(|w| cycle(&points[w[0]..w[1]], total, s))
        .collect();
    let judged = cycles.iter().rposition(|c| c.judged);
    let mut m = Memory {
        samples: points.len(),
        total,
        reboots,
        leak: judged.is_some_and(|i| cycles[i].leak),
        level: cycles.last().and_then(|c| c.hourly.last()).map(|h| h.1),
        cycles,
        judged,
        days_to_threshold: None,
        days_to_exhaustion: None,
        reboot_interval_days: None,
    };
    if let (true, Some(c), Some(total), Some(level)) = (m.leak, m.cycle(), total, m.level) {
        let line = c.line.expect("a leaking cycle has a line");
        let rate = line.ci_high;
        let limit = s.threshold * total;
        m.days_to_threshold = Some(((limit - level) / rate).max(0.0));
        m.days_to_exhaustion = Some(((total - level) / rate).max(0.0));
        let baseline = line.intercept;
        let days = ((limit - baseline) / rate / s.safety_factor).floor();
        m.reboot_interval_days = Some(days.max(0.0) as u32);
    }
    Some(m)
}

fn cycle(points: &[(u32, f64)], total: Option<f64>, s: &Settings) -> Cycle {
    let start = points[0].0;
    let end = points[points.len() - 1].0;
    // Hourly means, hours in time order.
    let mut hourly: Vec<(f64, f64)> = Vec::new();
    let mut bucket = u32::MAX;
    let (mut sum, mut n) = (0.0, 0u32);
    let flush = |bucket: u32, sum: f64, n: u32, out: &mut Vec<(f64, f64)>| {
        if n > 0 {
            let mid = f64::from(bucket) * 3600.0 + 1800.0;
            out.push(((mid - f64::from(start)) / 86_400.0, sum / f64::from(n)));
        }
    };
    for &(t, y) in points {
        let b = t / 3600;
        if b != bucket {
            flush(bucket, sum, n, &mut hourly);
            bucket = b;
            sum = 0.0;
            n = 0;
        }
        sum += y;
        n += 1;
    }
    flush(bucket, sum, n, &mut hourly);
    let ys: Vec<f64> = hourly.iter().map(|h| h.1).collect();
    let xs: Vec<f64> = hourly.iter().map(|h| h.0).collect();
    let mk = (ys.len() >= 2).then(|| stats::mann_kendall(&ys));
    let judged = hourly.len() >= s.min_hours && f64::from(end - start) >= 86_400.0;
    // The slope and its interval matter only for a significant upward trend: skip the
    // O(n²) slopes otherwise.
    let line = mk
        .filter(|mk| judged && mk.s > 0.0 && mk.p < s.alpha)
        .and_then(|mk| stats::theil_sen(&xs, &ys, mk.var_s, Z95));
    let material = match total {
        Some(t) => s.min_leak_fraction * t,
        None => 1024.0 * 1024.0,
    };
    let leak = judged
        && matches!((mk, line), (Some(mk), Some(l))
            if mk.s > 0.0 && mk.p < s.alpha && l.ci_low > 0.0 && l.slope >= material);
    Cycle {
        start,
        end,
        hourly,
        mk,
        line,
        judged,
        leak,
    }
}

fn throughput(v: &[Sample], s: &Settings) -> Option<Throughput> {
    // Throughput is never negative (the reader refuses it; + 0.0 makes a -0 a 0): the bit
    // patterns order as the values do.
    let mut keys: Vec<u32> = v
        .iter()
        .filter(|x| !x.thr.is_nan())
        .map(|x| (x.thr + 0.0).to_bits())
        .collect();
    if keys.is_empty() {
        return None;
    }
    // The running peak stays in a register until its day ends (no NaN here: `max` is plain).
    let mut daily_peaks: Vec<(u32, f64)> = Vec::new();
    let mut day = (u32::MAX, f64::NEG_INFINITY);
    for x in v.iter().filter(|x| !x.thr.is_nan()) {
        let d = x.t / 86_400;
        if d != day.0 {
            if day.0 != u32::MAX {
                daily_peaks.push(day);
            }
            day = (d, f64::NEG_INFINITY);
        }
        day.1 = day.1.max(f64::from(x.thr));
    }
    if day.0 != u32::MAX {
        daily_peaks.push(day);
    }
    let samples = keys.len();
    let value = |k: u32| f64::from(f32::from_bits(k));
    let max = keys.iter().copied().max().map(value)?;
    let [p50, p95, p99] = stats::quantiles_of_keys(&mut keys, &[0.50, 0.95, 0.99], value)?[..]
    else {
        unreachable!("three probabilities, three quantiles")
    };
    let trend = (daily_peaks.len() >= 7)
        .then(|| {
            let xs: Vec<f64> = daily_peaks.iter().map(|d| f64::from(d.0)).collect();
            let ys: Vec<f64> = daily_peaks.iter().map(|d| d.1).collect();
            let mk = stats::mann_kendall(&ys);
            stats::theil_sen(&xs, &ys, mk.var_s, Z95)
        })
        .flatten();
    let highest = daily_peaks
        .iter()
        .map(|d| d.1)
        .fold(f64::NEG_INFINITY, f64::max);
    let last_day = daily_peaks.last().map_or(0.0, |d| f64::from(d.0));
    let projected_peak = trend.map_or(highest, |l| l.at(last_day + s.horizon_days).max(highest));
    Some(Throughput {
        samples,
        p50,
        p95,
        p99,
        max,
        daily_peaks,
        trend,
        projected_peak,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evaluator::telemetry::Chunked;

    const GIB: f64 = 1024.0 * 1024.0 * 1024.0;

    /// `days` of one-minute samples from t0: memory from `f(minute)`, throughput from `g`.
    fn device(days: u32, f: impl Fn(u32) -> f64, g: impl Fn(u32) -> f64) -> DeviceData {
        let t0 = 1_790_000_000 / 86_400 * 86_400;
        let mut c = Chunked::default();
        let samples: Vec<Sample> = (0..days * 1440)
            .map(|m| Sample {
                t: t0 + m * 60,
                mem: f(m) as f32,
                thr: g(m) as f32,
            })
            .collect();
        c.extend_for_tests(&samples);
        DeviceData {
            name: "d".into(),
            samples: c,
            mem_total: Some(16.0 * GIB),
            ..DeviceData::default()
        }
    }

    /// Deterministic noise in [-1, 1).
    fn noise(i: u32) -> f64 {
        let x = (u64::from(i) + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 11;
        (x as f64 / (1u64 << 53) as f64) * 2.0 - 1.0
    }

    #[test]
    fn a_planted_leak_is_found_inside_its_interval() {
        // 4 GiB baseline, +200 MiB/day, ±50 MiB noise, 20 days.
        let rate = 200.0 * 1024.0 * 1024.0;
        let d = device(
            20,
            |m| 4.0 * GIB + rate * f64::from(m) / 1440.0 + 50e6 * noise(m),
            |_| 1e9,
        );
        let r = analyse(d, &Settings::default());
        let m = r.memory.unwrap();
        assert!(m.leak);
        let l = m.cycle().unwrap().line.unwrap();
        assert!(l.ci_low <= rate && rate <= l.ci_high, "{l:?}");
        assert!((l.slope - rate).abs() / rate < 0.01, "{l:?}");
        // Threshold 90 % of 16 GiB: (14.4 GiB − 4 GiB) / conservative rate / 1.5 ≈ 35 days.
        let want = ((0.9 * 16.0 * GIB - l.intercept) / l.ci_high / 1.5).floor() as u32;
        assert_eq!(m.reboot_interval_days, Some(want));
        assert!((34..=36).contains(&want), "{want}");
        let level = m.level.unwrap();
        assert!((m.days_to_exhaustion.unwrap() - (16.0 * GIB - level) / l.ci_high).abs() < 1e-9);
        let to_threshold = (0.9 * 16.0 * GIB - level) / l.ci_high;
        assert!((m.days_to_threshold.unwrap() - to_threshold).abs() < 1e-9);
    }

    #[test]
    fn a_device_already_past_the_threshold_has_zero_days_to_it() {
        // 14 GiB + 50 MiB/day for 14 days ends near 14.7 GiB, past 90 % of 16 GiB (14.4 GiB).
        let rate = 50.0 * 1024.0 * 1024.0;
        let d = device(
            14,
            |m| 14.0 * GIB + rate * f64::from(m) / 1440.0 + 5e6 * noise(m),
            |_| 1e9,
        );
        let m = analyse(d, &Settings::default()).memory.unwrap();
        assert!(m.leak);
        assert_eq!(m.days_to_threshold, Some(0.0));
        assert!(m.days_to_exhaustion.unwrap() > 0.0);
    }

    #[test]
    fn noise_larger_than_the_reboot_drop_splits_nothing() {
        // ±1 GiB between samples on 16 GiB: many single drops exceed 5 % of the total
        // (0.8 GiB), none exceeds 8 times the median change.
        let d = device(3, |m| 6.0 * GIB + GIB * noise(m), |_| 1e9);
        let m = analyse(d, &Settings::default()).memory.unwrap();
        assert_eq!(m.reboots, Vec::<u32>::new());
        assert_eq!(m.cycles.len(), 1);
    }

    #[test]
    fn a_small_clean_step_down_is_not_a_reboot() {
        // A quiet series (±1 MB) that steps down by 1 % of 16 GiB once and stays there: large
        // against the noise, small against the memory.
        let d = device(
            3,
            |m| 6.0 * GIB - if m < 2000 { 0.0 } else { 0.01 * 16.0 * GIB } + 1e6 * noise(m),
            |_| 1e9,
        );
        let m = analyse(d, &Settings::default()).memory.unwrap();
        assert_eq!(m.reboots, Vec::<u32>::new());
    }

    #[test]
    fn an_idle_counter_at_zero_is_not_a_string_of_reboots() {
        let mut d = device(2, |_| 0.0, |_| 1e9);
        d.mem_total = None;
        let m = analyse(d, &Settings::default()).memory.unwrap();
        assert_eq!(m.reboots, Vec::<u32>::new());
    }

    #[test]
    fn a_leak_must_be_material_as_well_as_significant() {
        // Clean, steady rises over 14 days: each is significant; only those at or above the
        // materiality floor are leaks.
        let leak = |mib_per_day: f64, total: Option<f64>| {
            let mut d = device(
                14,
                |m| 4.0 * GIB + mib_per_day * 1048576.0 * f64::from(m) / 1440.0 + 2e4 * noise(m),
                |_| 1e9,
            );
            d.mem_total = total;
            analyse(d, &Settings::default()).memory.unwrap().leak
        };
        // 0.1 % of 16 GiB is 16.4 MiB a day.
        assert!(!leak(12.0, Some(16.0 * GIB)));
        assert!(leak(20.0, Some(16.0 * GIB)));
        // Without a total: 1 MiB a day.
        assert!(!leak(0.5, None));
        assert!(leak(2.0, None));
    }

    #[test]
    fn a_flat_noisy_series_is_not_a_leak() {
        let d = device(
            14,
            |m| 6.0 * GIB + 300e6 * noise(m),
            |m| 1e9 + 1e8 * noise(m + 7),
        );
        let r = analyse(d, &Settings::default());
        let m = r.memory.unwrap();
        assert!(!m.leak);
        assert_eq!(m.reboot_interval_days, None);
    }

    #[test]
    fn weekly_reboots_are_cycles_not_a_flat_line() {
        // 1 GiB/day leak from 3 GiB, rebooted every 7 days: over 28 days the series is flat on
        // average, but each cycle leaks.
        let d = device(
            28,
            |m| 3.0 * GIB + GIB * f64::from(m % (7 * 1440)) / 1440.0 + 20e6 * noise(m),
            |_| 1e9,
        );
        let r = analyse(d, &Settings::default());
        let m = r.memory.unwrap();
        assert_eq!(m.reboots.len(), 3);
        assert_eq!(m.cycles.len(), 4);
        assert!(m.cycles.iter().all(|c| c.leak));
        assert!(m.leak);
        let l = m.cycle().unwrap().line.unwrap();
        assert!(l.ci_low <= GIB && GIB <= l.ci_high);
        // (14.4 − 3) GiB / ~1 GiB/day / 1.5 → 7 days: weekly is just enough.
        assert_eq!(m.reboot_interval_days, Some(7));
    }

    #[test]
    fn small_weekly_drops_are_reboots_too() {
        // 0.2 GiB/day on 16 GiB: a weekly reboot frees 1.4 GiB (under 9 % of the total).
        let rate = 0.2 * GIB;
        let d = device(
            21,
            |m| 5.0 * GIB + rate * f64::from(m % (7 * 1440)) / 1440.0 + 30e6 * noise(m),
            |_| 1e9,
        );
        let m = analyse(d, &Settings::default()).memory.unwrap();
        assert_eq!(m.reboots.len(), 2);
        let l = m.cycle().unwrap().line.unwrap();
        assert!(l.ci_low <= rate && rate <= l.ci_high, "{l:?}");
    }

    #[test]
    fn hourly_means_are_per_clock_hour_at_the_middle_of_the_hour() {
        let h = 1_790_000_000 / 3600 * 3600;
        // Two samples in the first hour (from 10 minutes in), one in the next.
        let points = [(h + 600, 1.0), (h + 1200, 3.0), (h + 3600 + 60, 10.0)];
        let c = cycle(&points, None, &Settings::default());
        let day = 86_400.0;
        assert_eq!(c.hourly, [(1200.0 / day, 2.0), (4800.0 / day, 10.0)]);
        assert_eq!((c.start, c.end), (h + 600, h + 3660));
        assert!(!c.judged);
    }

    #[test]
    fn a_cycle_under_a_day_is_not_judged_even_with_24_hours_in_it() {
        let h = 1_790_000_000 / 3600 * 3600;
        let points: Vec<(u32, f64)> = (0..24).map(|i| (h + i * 3600, f64::from(i))).collect();
        let c = cycle(&points, None, &Settings::default());
        assert_eq!(c.hourly.len(), 24);
        assert!(!c.judged && !c.leak);
        assert_eq!(c.line, None);
    }

    #[test]
    fn a_line_is_fitted_only_to_a_judged_significant_rise() {
        let h = 1_790_000_000 / 3600 * 3600;
        let series = |hours: u32, f: &dyn Fn(u32) -> f64| {
            let points: Vec<(u32, f64)> = (0..hours).map(|i| (h + i * 3600, f(i))).collect();
            cycle(&points, None, &Settings::default())
        };
        let gib = |i: u32| GIB + 1e8 * f64::from(i);
        let rising = series(48, &gib);
        assert!(rising.judged && rising.leak && rising.line.is_some());
        // Short, falling, and flat (p = 1): no line.
        assert_eq!(series(20, &gib).line, None);
        assert_eq!(series(48, &|i| GIB - 1e8 * f64::from(i)).line, None);
        let flat = series(48, &|i| GIB + 1e3 * f64::from(i % 2));
        assert!(flat.judged && flat.mk.unwrap().p > 0.05);
        assert_eq!(flat.line, None);
        // Rising but not significant: a few steps up among noise.
        let weak = series(48, &|i| GIB + 1e6 * noise(i) + 3e3 * f64::from(i));
        let mk = weak.mk.unwrap();
        assert!(mk.s > 0.0 && mk.p >= 0.05, "{mk:?}");
        assert_eq!(weak.line, None);
    }

    #[test]
    fn a_negative_zero_throughput_is_zero() {
        let d = device(1, |_| f64::NAN, |m| if m % 2 == 0 { -0.0 } else { 5.0 });
        let t = analyse(d, &Settings::default()).throughput.unwrap();
        assert_eq!((t.max, t.p50), (5.0, 2.5));
        assert!(t.p95 > 0.0);
    }

    #[test]
    fn a_repeated_second_keeps_the_latest_values_and_a_missing_one_erases_nothing() {
        let s = |t, mem: f32, thr: f32| Sample { t, mem, thr };
        let merged = merge_duplicates(vec![
            s(1, 10.0, 100.0),
            s(1, f32::NAN, 200.0),
            s(1, 30.0, f32::NAN),
            s(2, 5.0, 6.0),
        ]);
        let got: Vec<_> = merged.iter().map(|x| (x.t, x.mem, x.thr)).collect();
        assert_eq!(got, [(1, 30.0, 200.0), (2, 5.0, 6.0)]);
    }

    #[test]
    fn duplicates_merge_and_quantiles_are_exact() {
        let mut d = device(10, |_| f64::NAN, |m| f64::from(m % 1440));
        let dup: Vec<Sample> = d.samples.first_for_tests(5);
        d.samples.extend_for_tests(&dup);
        let r = analyse(d, &Settings::default());
        assert_eq!(r.duplicates, 5);
        assert!(r.memory.is_none());
        let t = r.throughput.unwrap();
        // 14 400 samples, 0..1439 each day: numpy.percentile gives 719.5, 1367.05, 1425.0.
        assert_eq!(t.samples, 14_400);
        assert_eq!((t.p50, t.p99, t.max), (719.5, 1425.0, 1439.0));
        assert!((t.p95 - 1367.05).abs() < 1e-9, "{t:?}");
        assert_eq!(t.daily_peaks.len(), 10);
        assert_eq!(t.projected_peak, 1439.0);
    }

    #[test]
    fn growing_peaks_are_projected() {
        // Daily peak 1 Gbit/s + 10 Mbit/s per day: in 3 years about 11.96 Gbit/s more.
        let d = device(
            30,
            |_| f64::NAN,
            |m| {
                let day = f64::from(m / 1440);
                if m % 1440 == 720 {
                    1e9 + 1e7 * day
                } else {
                    1e8
                }
            },
        );
        let s = Settings::default();
        let t = analyse(d, &s).throughput.unwrap();
        let l = t.trend.unwrap();
        assert!((l.slope - 1e7).abs() / 1e7 < 1e-4, "{l:?}");
        let want = 1e9 + 1e7 * (29.0 + s.horizon_days);
        assert!(
            (t.projected_peak - want).abs() / want < 1e-4,
            "{} vs {want}",
            t.projected_peak
        );
    }
}
