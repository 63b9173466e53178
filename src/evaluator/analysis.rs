//! Per-device analysis: memory cycles and leaks, days to exhaustion and the reboot interval;
//! throughput quantiles, the trend of daily peaks and the projected peak.
//!
//! Memory, step by step (thresholds are [`Settings`] fields, all documented in the README):
//!
//! 1. Samples are sorted by time; samples of the same second are merged (later rows win).
//! 2. A **reboot** is a step down in the level that is large against the series' own noise and
//!    stays down: the median of the (up to) 12 samples after it lies below the median of the 12
//!    before by at least `reboot_noise` (8) standard errors of that difference (the noise σ
//!    estimated robustly from the median absolute change between samples) and at least
//!    `reboot_drop` (0.5 %) of the total memory (of the level when the total is unknown), and
//!    the median of the 36 samples after it is still below the level before by half the step,
//!    so a dip that recovers is not a reboot. No fixed share of memory is needed: weekly reboots
//!    that free 1 % of a large unit are found. Reboots cut the series into **cycles**.
//! 3. Each cycle is aggregated to **hourly means**. A cycle with fewer than `min_hours` hourly
//!    points, or under a day, is too short to judge.
//! 4. The leak is the same leak every cycle, so the device is judged on **all** its judged
//!    cycles together: the Mann–Kendall S and Var(S) of the cycles add up (the seasonal Kendall
//!    test, cycles as seasons), the slope is the median of the pairwise slopes within cycles,
//!    with Sen's 95 % interval from the summed variance. Hourly means are autocorrelated, and
//!    the plain test takes a wander for a trend: each cycle's Var(S) is corrected with Hamed &
//!    Rao's (1998) modification (detrended by the pooled slope), and the trend must be
//!    significant (p < `alpha`) both before and after the correction.
//! 5. A device **leaks** when that trend is upward and significant, the interval excludes zero,
//!    and the slope is material: at that rate, memory in use would reach the total within
//!    `leak_horizon_days` (a year) from the latest level; 1 MiB/day when the total is unknown.
//! 6. From the **conservative** slope (the interval's upper bound): days until memory in use
//!    reaches the threshold and the total, from the latest hourly level; the **reboot interval**
//!    = (threshold level − post-reboot baseline) / conservative slope / `safety_factor`, rounded
//!    down to whole days, where the baseline is the pooled line at the start of the latest
//!    judged cycle.

use super::stats::{self, MannKendall, SenLine, Z95};
use super::telemetry::{BOOT_JITTER, DeviceData, Sample};

/// Thresholds of the analysis.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Settings {
    /// Memory-in-use threshold as a fraction of the total (`--memory-threshold`, 0.9).
    pub threshold: f64,
    /// Divides the time to the threshold for the reboot interval (`--safety-factor`, 1.5).
    pub safety_factor: f64,
    /// A reboot's step down is at least this fraction of total memory (0.005) ...
    pub reboot_drop: f64,
    /// ... and this many standard errors of the step (8).
    pub reboot_noise: f64,
    /// Significance level of the Mann–Kendall test (0.05).
    pub alpha: f64,
    /// A leak is material when it would fill the free memory within this many days (365).
    pub leak_horizon_days: f64,
    /// Hourly points a cycle needs to be judged (24).
    pub min_hours: usize,
    /// How far ahead throughput is projected, in days (`--horizon`, 3 years).
    pub horizon_days: f64,
    /// Growth of the peak per year beyond what the history supports (`--growth`, none).
    pub growth_per_year: Option<f64>,
    /// The reboot interval operators use today, in days (7: weekly).
    pub current_interval_days: f64,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            threshold: 0.9,
            safety_factor: 1.5,
            reboot_drop: 0.005,
            reboot_noise: 8.0,
            alpha: 0.05,
            leak_horizon_days: 365.0,
            min_hours: 24,
            horizon_days: 3.0 * 365.25,
            growth_per_year: None,
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
    /// The plain trend test on the hourly means (when there are at least two).
    pub mk: Option<MannKendall>,
    /// Whether the cycle is long enough to judge.
    pub judged: bool,
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
    /// How they were found.
    pub reboots_from: RebootSource,
    /// Every cycle, oldest first.
    pub cycles: Vec<Cycle>,
    /// Index of the latest judged cycle (the baseline's).
    pub judged: Option<usize>,
    /// How many cycles the verdict pools.
    pub cycles_used: usize,
    /// The pooled trend test of the judged cycles, with the Hamed–Rao variance once a plain
    /// test found an upward trend.
    pub mk: Option<MannKendall>,
    /// The pooled slope in bytes/day with its interval, intercept = the level at the start of
    /// the latest judged cycle. Computed for a significant upward trend only.
    pub line: Option<SenLine>,
    /// Whether the device leaks (see the module documentation).
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
    /// The latest judged cycle.
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
    /// Mann–Kendall p-value of the daily peaks (with 7+ days).
    pub trend_p: Option<f64>,
    /// The peak at the horizon (see [`Basis`]), never below the highest daily peak.
    pub projected_peak: f64,
    /// What the projection rests on.
    pub basis: Basis,
    /// Days past the last daily peak the trend was extrapolated (0 unless the basis has it).
    pub trend_days: f64,
}

/// What a projected peak rests on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Basis {
    /// A significant upward trend of the daily peaks, extrapolated to the horizon but no further
    /// than [`MAX_EXTRAPOLATION`] times the history's span.
    Trend,
    /// The trend as far as the history supports, then the operator's growth rate.
    TrendGrowth,
    /// The highest daily peak grown at the operator's rate (no significant trend).
    Growth,
    /// The highest daily peak (no significant trend, no growth rate given).
    Observed,
}

impl Basis {
    /// The name in `devices.csv` and the report.
    pub fn as_str(self) -> &'static str {
        match self {
            Basis::Trend => "trend",
            Basis::TrendGrowth => "trend+growth",
            Basis::Growth => "growth",
            Basis::Observed => "observed",
        }
    }
}

/// A trend of daily peaks is extrapolated at most this many times the span it was seen over.
pub const MAX_EXTRAPOLATION: f64 = 3.0;

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
        boots,
        reboot_windows,
        connections_daily,
        ssl_daily,
        cpu_daily,
        throughput_summary,
        mem_exact,
    } = data;
    let mut v = samples.into_vec();
    v.sort_by_key(|x| x.t); // stable: rows of one second stay in read order
    let raw = v.len();
    let v = merge_duplicates(v);
    let peak = |m: &std::collections::BTreeMap<u32, f64>| m.values().copied().reduce(f64::max);
    // A reader that gives memory only at full precision (Prometheus) counts those points.
    let (samples, span) = if v.is_empty() {
        let span = mem_exact
            .first()
            .zip(mem_exact.last())
            .map(|(a, b)| (a.0, b.0));
        (mem_exact.len(), span)
    } else {
        (v.len(), v.first().zip(v.last()).map(|(a, b)| (a.t, b.t)))
    };
    DeviceResult {
        name,
        samples,
        duplicates: raw - v.len(),
        span,
        memory: memory(&v, mem_exact, mem_total, (boots, reboot_windows), s, false),
        throughput: throughput(&v, throughput_summary, s),
        peak_connections: peak(&connections_daily),
        peak_ssl_tps: peak(&ssl_daily),
        peak_cpu_pct: peak(&cpu_daily),
    }
}

/// Samples of the same second become one; later values win, missing ones do not erase.
pub(crate) fn merge_duplicates(mut v: Vec<Sample>) -> Vec<Sample> {
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

/// The memory verdict of sorted, merged samples (`analyse` does both), or of `exact` points with the line of the
/// judged cycles computed whatever the trend (`verify-fix` compares slopes that need not be
/// leaks); `leak` and the reboot interval mean what they do in `analyse`.
pub fn memory_rate(
    v: &[Sample],
    exact: Vec<(u32, f64)>,
    total: Option<f64>,
    reboots: (Vec<u32>, Vec<(u32, u32)>),
    s: &Settings,
) -> Option<Memory> {
    memory(v, exact, total, reboots, s, true)
}

/// The pooled trend test and line of `cycles` (of one device or several), whatever the trend:
/// Mann–Kendall with Hamed–Rao's variance and Sen's slope with its 95 % interval, as for a
/// leak (see the module documentation). `None` without a judged cycle.
pub fn pooled_rate(cycles: &[&Cycle], s: &Settings) -> (Option<MannKendall>, Option<SenLine>) {
    let used: Vec<&Cycle> = cycles.iter().copied().filter(|c| c.judged).collect();
    trend(&used, s, true)
}

/// The smallest slope (bytes/day) that is material: memory in use would reach the total from
/// `level` within the leak horizon; 1 MiB/day when either is unknown.
pub fn material(total: Option<f64>, level: Option<f64>, s: &Settings) -> f64 {
    match (total, level) {
        (Some(t), Some(l)) => (t - l) / s.leak_horizon_days,
        _ => 1024.0 * 1024.0,
    }
}

/// Memory from the samples, or from `exact` (time-sorted, full precision) when a reader gave it.
fn memory(
    v: &[Sample],
    exact: Vec<(u32, f64)>,
    total: Option<f64>,
    (boots, performed): (Vec<u32>, Vec<(u32, u32)>),
    s: &Settings,
    always: bool,
) -> Option<Memory> {
    let points: Vec<(u32, f64)> = if exact.is_empty() {
        v.iter()
            .filter(|x| !x.mem.is_nan())
            .map(|x| (x.t, f64::from(x.mem)))
            .collect()
    } else {
        exact
    };
    if points.is_empty() {
        return None;
    }
    let (mut cuts, reboots_from) = if !boots.is_empty() {
        (booted(&points, boots), RebootSource::Uptime)
    } else if !performed.is_empty() {
        (
            with_performed(&points, reboots(&points, total, s), &performed),
            RebootSource::StepsAndJournal,
        )
    } else {
        (reboots(&points, total, s), RebootSource::Steps)
    };
    let reboots: Vec<u32> = cuts.iter().map(|&i| points[i].0).collect();
    cuts.insert(0, 0);
    cuts.push(points.len());
    let cycles: Vec<Cycle> = cuts
        .windows(2)
        .map(|w| cycle(&points[w[0]..w[1]], s))
        .collect();
    let used: Vec<&Cycle> = cycles.iter().filter(|c| c.judged).collect();
    let level = cycles.last().and_then(|c| c.hourly.last()).map(|h| h.1);
    let (mk, line) = trend(&used, s, always);
    let material = material(total, level, s);
    let leak = matches!((mk, line), (Some(mk), Some(l))
        if rises(&mk, s.alpha) && l.ci_low > 0.0 && l.slope >= material);
    let mut m = Memory {
        samples: points.len(),
        total,
        reboots,
        reboots_from,
        judged: cycles.iter().rposition(|c| c.judged),
        cycles_used: used.len(),
        mk,
        line,
        leak,
        level,
        cycles,
        days_to_threshold: None,
        days_to_exhaustion: None,
        reboot_interval_days: None,
    };
    if let (true, Some(line), Some(total), Some(level)) = (m.leak, m.line, total, m.level) {
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

/// Where a device's reboots come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RebootSource {
    /// The telemetry's `uptime_s`: exact.
    Uptime,
    /// Steps down in memory (see the module documentation).
    Steps,
    /// Steps down in memory and the reboots lbfleet performed (its journals).
    StepsAndJournal,
}

impl RebootSource {
    /// The name in `devices.csv`.
    pub fn as_str(self) -> &'static str {
        match self {
            RebootSource::Uptime => "uptime",
            RebootSource::Steps => "memory steps",
            RebootSource::StepsAndJournal => "memory steps + journal",
        }
    }
}

/// The indexes of the first sample after each boot in `boots` (instants from the uptime,
/// unsorted, repeated within [`BOOT_JITTER`]) that falls after the first sample.
fn booted(points: &[(u32, f64)], mut boots: Vec<u32>) -> Vec<usize> {
    boots.sort_unstable();
    let mut cuts: Vec<usize> = Vec::new();
    let mut last_boot: Option<u32> = None;
    for b in boots {
        if last_boot.is_some_and(|l| b - l <= BOOT_JITTER) {
            continue;
        }
        last_boot = Some(b);
        let i = points.partition_point(|p| p.0 < b);
        if i > 0 && i < points.len() && cuts.last() != Some(&i) {
            cuts.push(i);
        }
    }
    cuts
}

/// How long after a performed step ends its reboot may still show in the telemetry (samples
/// are exported late, a device reports memory a while after it is back).
const PERFORMED_SLACK: u32 = 3600;

/// The step-found reboots `found` with the reboots lbfleet performed: in each performed step's
/// time (to [`PERFORMED_SLACK`] after it), the cut is at the largest drop between samples, and
/// a step-found reboot there is the same one; a step with no sample in its time cuts at the
/// first sample after it.
fn with_performed(
    points: &[(u32, f64)],
    found: Vec<usize>,
    performed: &[(u32, u32)],
) -> Vec<usize> {
    let mut cuts: Vec<usize> = Vec::new();
    let mut spans: Vec<(usize, usize)> = Vec::new();
    for &(from, to) in performed {
        let a = points.partition_point(|p| p.0 <= from).max(1);
        let b = points.partition_point(|p| p.0 <= to.saturating_add(PERFORMED_SLACK));
        let cut = (a..b)
            .max_by(|&i, &j| {
                let drop = |k: usize| points[k - 1].1 - points[k].1;
                drop(i).total_cmp(&drop(j))
            })
            .unwrap_or(a);
        if cut < points.len() {
            cuts.push(cut);
            spans.push((a, b));
        }
    }
    cuts.extend(
        found
            .into_iter()
            .filter(|&i| !spans.iter().any(|&(a, b)| (a..=b).contains(&i))),
    );
    cuts.sort_unstable();
    cuts.dedup();
    cuts
}

/// Samples each side of a possible reboot whose levels are compared.
const SIDE: usize = 12;
/// How long after a reboot the level must stay down (a dip that recovers sooner is not one).
const STAY_SECONDS: u32 = 6 * 3600;

/// The indexes of the samples that follow a reboot (see the module documentation).
fn reboots(points: &[(u32, f64)], total: Option<f64>, s: &Settings) -> Vec<usize> {
    let n = points.len();
    if n < 2 * SIDE {
        return Vec::new();
    }
    // Running sums: the mean of any window in O(1).
    let mut sums = Vec::with_capacity(n + 1);
    sums.push(0.0);
    for p in points {
        sums.push(sums[sums.len() - 1] + p.1);
    }
    let mean = |a: usize, b: usize| (sums[b] - sums[a]) / (b - a) as f64;
    let spread = step_noise(&mean, n);
    let need = |level: f64| (s.reboot_noise * spread).max(s.reboot_drop * total.unwrap_or(level));
    let median = |a: usize, b: usize| {
        let mut w: Vec<f64> = points[a..b].iter().map(|p| p.1).collect();
        stats::median_unsorted(&mut w)
    };
    // A candidate's step, confirmed with medians (robust to a stray sample) and a level that
    // stays down over the STAY_SECONDS after it (that instant excluded; or to the end).
    let confirm = |best: usize| {
        // Means locate a step to within a window: the reboot is the largest drop between
        // samples there.
        let i = (best + 1 - SIDE..best + SIDE)
            .filter(|&k| k >= SIDE && k + SIDE <= n)
            .max_by(|&a, &b| {
                let drop = |k: usize| points[k - 1].1 - points[k].1;
                drop(a).total_cmp(&drop(b)).then(b.cmp(&a))
            })
            .unwrap_or(best);
        let before = median(i - SIDE, i);
        let step = before - median(i, i + SIDE);
        let stay_end = points.partition_point(|p| p.0 < points[i].0.saturating_add(STAY_SECONDS));
        (step >= need(before) && median(i, stay_end) <= before - step / 2.0).then_some(i)
    };
    let mut found: Vec<usize> = candidates(&mean, n, &need)
        .into_iter()
        .filter_map(confirm)
        .collect();
    // A reboot whose drop spans several samples may be confirmed from two neighbouring runs of
    // candidates: cuts closer than a window are one reboot.
    found.dedup_by(|later, kept| *later - *kept < SIDE);
    found
}

/// Where steps down may be, for [`reboots`] to confirm: scanning windows of SIDE samples either
/// side, each run of positions whose difference of means reaches half the step a reboot needs
/// (`need` at the level before), and of each run the position with the largest step. Only a
/// sieve: confirmation refines each to the largest drop between samples and decides.
fn candidates(
    mean: &dyn Fn(usize, usize) -> f64,
    n: usize,
    need: &dyn Fn(f64) -> f64,
) -> Vec<usize> {
    let mut out = Vec::new();
    let mut best: Option<(usize, f64)> = None;
    for i in SIDE..=n - SIDE {
        let before = mean(i - SIDE, i);
        let step = before - mean(i, i + SIDE);
        if step > 0.0 && step >= need(before) / 2.0 {
            // Neighbouring candidates are one reboot: keep the largest step.
            match best {
                Some((j, top)) if i - j < SIDE => {
                    if step > top {
                        best = Some((i, step));
                    }
                }
                _ => {
                    out.extend(best.map(|b| b.0));
                    best = Some((i, step));
                }
            }
        }
    }
    out.extend(best.map(|b| b.0));
    out
}

/// The noise of a step, at the step's own scale: the differences between the means (`mean`
/// of a half-open index range) of neighbouring windows of SIDE samples across the `n` samples,
/// and their robust spread (1.4826 × the median absolute deviation, σ for normal noise). A
/// series that wanders has a wide spread, so its wander is not taken for reboots; a trend
/// moves every difference alike and adds nothing; the reboots themselves are a few outliers.
fn step_noise(mean: &dyn Fn(usize, usize) -> f64, n: usize) -> f64 {
    let mut steps: Vec<f64> = (SIDE..=n - SIDE)
        .step_by(SIDE)
        .map(|i| mean(i - SIDE, i) - mean(i, i + SIDE))
        .collect();
    let centre = stats::median_unsorted(&mut steps);
    let mut dev: Vec<f64> = steps.iter().map(|d| (d - centre).abs()).collect();
    1.4826 * stats::median_unsorted(&mut dev)
}

/// Whether a Mann–Kendall test shows a significant rise (S > 0, p < `alpha`).
fn rises(mk: &MannKendall, alpha: f64) -> bool {
    mk.s > 0.0 && mk.p < alpha
}

/// The device's trend over its judged cycles: the pooled plain test and, when it shows a
/// significant rise (or `always`), the Hamed–Rao corrected test and the pooled line.
fn trend(used: &[&Cycle], s: &Settings, always: bool) -> (Option<MannKendall>, Option<SenLine>) {
    let tests: Vec<MannKendall> = used.iter().filter_map(|c| c.mk).collect();
    if tests.is_empty() {
        return (None, None);
    }
    let plain = stats::pooled(&tests);
    // The slopes matter only for a significant upward trend: skip the O(n²) pairs otherwise.
    if !always && !rises(&plain, s.alpha) {
        return (Some(plain), None);
    }
    let series: Vec<(Vec<f64>, Vec<f64>)> = used
        .iter()
        .map(|c| c.hourly.iter().copied().unzip())
        .collect();
    let refs: Vec<(&[f64], &[f64])> = series
        .iter()
        .map(|(x, y)| (x.as_slice(), y.as_slice()))
        .collect();
    let mut slopes = stats::Slopes::within(&refs);
    let Some(slope) = slopes.median() else {
        return (Some(plain), None);
    };
    let corrected: Vec<MannKendall> = series
        .iter()
        .zip(&tests)
        .map(|((x, y), mk)| {
            // The slope per point: hourly means are (nearly) evenly spaced.
            let step = (x[x.len() - 1] - x[0]) / (x.len() - 1) as f64;
            stats::hamed_rao(y, mk, slope * step, Z95)
        })
        .collect();
    let mk = stats::pooled(&corrected);
    (Some(mk), slopes.line(mk.var_s, Z95))
}

fn cycle(points: &[(u32, f64)], s: &Settings) -> Cycle {
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
    let mk = (ys.len() >= 2).then(|| stats::mann_kendall(&ys));
    let judged = hourly.len() >= s.min_hours && f64::from(end - start) >= 86_400.0;
    Cycle {
        start,
        end,
        hourly,
        mk,
        judged,
    }
}

/// The samples' throughput, or, when they carry none, the figures a server computed from the
/// raw samples (`summary`).
fn throughput(
    v: &[Sample],
    summary: Option<super::telemetry::ThroughputSummary>,
    s: &Settings,
) -> Option<Throughput> {
    if let Some(sum) = summary.filter(|_| v.iter().all(|x| x.thr.is_nan())) {
        let peaks: Vec<(u32, f64)> = sum.daily_peaks.into_iter().collect();
        return project(sum.samples, [sum.p50, sum.p95, sum.p99, sum.max], peaks, s);
    }
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
    project(samples, [p50, p95, p99, max], daily_peaks, s)
}

/// The trend of the daily peaks and the projected peak, from the quantiles
/// (`[p50, p95, p99, max]`) and the daily peaks.
fn project(
    samples: usize,
    [p50, p95, p99, max]: [f64; 4],
    daily_peaks: Vec<(u32, f64)>,
    s: &Settings,
) -> Option<Throughput> {
    let fit = (daily_peaks.len() >= 7).then(|| {
        let xs: Vec<f64> = daily_peaks.iter().map(|d| f64::from(d.0)).collect();
        let ys: Vec<f64> = daily_peaks.iter().map(|d| d.1).collect();
        let mk = stats::mann_kendall(&ys);
        (mk, stats::theil_sen(&xs, &ys, mk.var_s, Z95))
    });
    let trend = fit.and_then(|f| f.1);
    let trend_p = fit.map(|f| f.0.p);
    let highest = daily_peaks
        .iter()
        .map(|d| d.1)
        .fold(f64::NEG_INFINITY, f64::max);
    let (first_day, last_day) = match (daily_peaks.first(), daily_peaks.last()) {
        (Some(a), Some(b)) => (f64::from(a.0), f64::from(b.0)),
        _ => (0.0, 0.0),
    };
    // Only a significant rise is extrapolated, and only as far as the history supports.
    let rising = fit.filter(|(mk, _)| rises(mk, s.alpha)).and_then(|f| f.1);
    let trend_days = s
        .horizon_days
        .min(MAX_EXTRAPOLATION * (last_day - first_day));
    let grow = |peak: f64, days: f64| {
        s.growth_per_year
            .map(|g| peak * (1.0 + g).powf(days / 365.25))
    };
    let (projected_peak, basis, trend_days) = match rising {
        Some(l) => {
            let at = l.at(last_day + trend_days).max(highest);
            match grow(at, s.horizon_days - trend_days) {
                Some(p) if trend_days < s.horizon_days => (p, Basis::TrendGrowth, trend_days),
                _ => (at, Basis::Trend, trend_days),
            }
        }
        None => match grow(highest, s.horizon_days) {
            Some(p) => (p, Basis::Growth, 0.0),
            None => (highest, Basis::Observed, 0.0),
        },
    };
    Some(Throughput {
        samples,
        p50,
        p95,
        p99,
        max,
        daily_peaks,
        trend,
        trend_p,
        projected_peak,
        basis,
        trend_days,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evaluator::telemetry::Chunked;

    const GIB: f64 = 1024.0 * 1024.0 * 1024.0;

    /// A device's data from its samples and total memory.
    fn data(samples: &[Sample], total: f64) -> DeviceData {
        let mut c = Chunked::default();
        c.extend_for_tests(samples);
        DeviceData {
            name: "d".into(),
            samples: c,
            mem_total: Some(total),
            ..DeviceData::default()
        }
    }

    /// `days` of one-minute samples from t0: memory from `f(minute)`, throughput from `g`.
    fn device(days: u32, f: impl Fn(u32) -> f64, g: impl Fn(u32) -> f64) -> DeviceData {
        let t0 = 1_790_000_000 / 86_400 * 86_400;
        let samples: Vec<Sample> = (0..days * 1440)
            .map(|m| Sample {
                t: t0 + m * 60,
                mem: f(m) as f32,
                thr: g(m) as f32,
            })
            .collect();
        data(&samples, 16.0 * GIB)
    }

    /// Deterministic pseudo-random noise, uniform in [-1, 1) (SplitMix64's output function:
    /// independent-looking values, so averages of neighbours are as noisy as they would be).
    fn noise(i: u32) -> f64 {
        let mut z = (u64::from(i) + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        ((z >> 11) as f64 / (1u64 << 53) as f64) * 2.0 - 1.0
    }

    #[test]
    fn full_precision_points_and_a_server_summary_stand_in_for_samples() {
        // 10 days of hourly means as a Prometheus read gives them: two points an hour (its
        // first and last second), no samples; the same means as minute samples give the same
        // memory verdict.
        let rate = 300.0 * 1024.0 * 1024.0;
        let t0 = 1_790_000_000 / 86_400 * 86_400;
        let mean = |h: u32| {
            ((4.0 * GIB + rate * f64::from(h) / 24.0 + 64e6 * noise(h)) / 4096.0).round() * 4096.0
        };
        let hours = 240;
        let exact: Vec<(u32, f64)> = (0..hours)
            .flat_map(|h| [(t0 + h * 3600, mean(h)), (t0 + h * 3600 + 3599, mean(h))])
            .collect();
        let peaks: std::collections::BTreeMap<u32, f64> = (0..10)
            .map(|d| (t0 / 86_400 + d, if d == 3 { 2e9 + 9.0 } else { 2e9 }))
            .collect();
        let summary = crate::evaluator::telemetry::ThroughputSummary {
            samples: 14_400,
            p50: 1e9,
            p95: 1.5e9,
            p99: 1.9e9,
            max: 2e9 + 9.0,
            daily_peaks: peaks.clone(),
        };
        let served = DeviceData {
            name: "d".into(),
            mem_total: Some(16.0 * GIB),
            mem_exact: exact.clone(),
            throughput_summary: Some(summary.clone()),
            ..DeviceData::default()
        };
        let r = analyse(served, &Settings::default());
        assert_eq!(r.samples, 480);
        assert_eq!(r.span, Some((t0, t0 + 239 * 3600 + 3599)));
        let m = r.memory.clone().unwrap();
        assert!(m.leak);
        assert_eq!(m.samples, 480);
        // The same hourly means from one sample a minute (f32-exact values).
        let minutes: Vec<Sample> = (0..hours * 60)
            .map(|i| Sample {
                t: t0 + i * 60,
                mem: mean(i / 60) as f32,
                thr: f32::NAN,
            })
            .collect();
        let raw = analyse(data(&minutes, 16.0 * GIB), &Settings::default());
        let n = raw.memory.unwrap();
        assert_eq!(n.line, m.line);
        assert_eq!(n.reboot_interval_days, m.reboot_interval_days);
        assert_eq!(n.days_to_exhaustion, m.days_to_exhaustion);
        assert_eq!(raw.samples, 14_400);
        // Throughput from the summary: its quantiles, its daily peaks.
        let t = r.throughput.unwrap();
        assert_eq!(
            (t.samples, t.p50, t.p95, t.p99),
            (14_400, 1e9, 1.5e9, 1.9e9)
        );
        assert_eq!(t.max, 2e9 + 9.0);
        assert_eq!(t.daily_peaks, peaks.into_iter().collect::<Vec<_>>());
        assert_eq!(
            (t.projected_peak, t.basis),
            (2e9 + 9.0, Basis::Observed),
            "{t:?}"
        );
        // Samples that carry throughput win over a summary.
        let mut both = data(
            &[Sample {
                t: t0,
                mem: 1.0,
                thr: 5.0,
            }],
            16.0 * GIB,
        );
        both.throughput_summary = Some(summary);
        let t = analyse(both, &Settings::default()).throughput.unwrap();
        assert_eq!((t.samples, t.p95, t.max), (1, 5.0, 5.0));
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
        let l = m.line.unwrap();
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
    fn a_dip_that_recovers_or_a_step_under_the_floor_is_not_a_reboot() {
        // Quiet (±1 MB) series on 16 GiB. A 2 GiB dip of 20 minutes recovers; a step down of
        // 0.3 % of the total stays down but is under the 0.5 % floor.
        let dip = device(
            3,
            |m| {
                6.0 * GIB
                    - if (2000..2020).contains(&m) {
                        2.0 * GIB
                    } else {
                        0.0
                    }
                    + 1e6 * noise(m)
            },
            |_| 1e9,
        );
        assert_eq!(
            analyse(dip, &Settings::default()).memory.unwrap().reboots,
            Vec::<u32>::new()
        );
        let step = device(
            3,
            |m| 6.0 * GIB - if m < 2000 { 0.0 } else { 0.003 * 16.0 * GIB } + 1e6 * noise(m),
            |_| 1e9,
        );
        assert_eq!(
            analyse(step, &Settings::default()).memory.unwrap().reboots,
            Vec::<u32>::new()
        );
        // 1 % stays down: a reboot of a unit that does not leak, at the first sample after it.
        let step = device(
            3,
            |m| 6.0 * GIB - if m < 2000 { 0.0 } else { 0.01 * 16.0 * GIB } + 1e6 * noise(m),
            |_| 1e9,
        );
        let m = analyse(step, &Settings::default()).memory.unwrap();
        let t0 = m.cycles[0].start;
        assert_eq!(m.reboots, [t0 + 2000 * 60]);
    }

    /// `days` of samples every `every` minutes on a 64 GiB unit: a leak of `rate` bytes a day
    /// from `base`, reset every 7 days, with uniform noise of ±`noise` bytes.
    fn saw_tooth(days: u32, every: u32, base: f64, rate: f64, noise_amp: f64) -> DeviceData {
        let t0 = 1_790_000_000 / 86_400 * 86_400;
        let week = 7 * 1440;
        let samples: Vec<Sample> = (0..days * 1440 / every)
            .map(|k| {
                let m = k * every;
                let up = rate * f64::from(m % week) / 1440.0;
                Sample {
                    t: t0 + m * 60,
                    mem: (base + up + noise_amp * noise(k)) as f32,
                    thr: 1e9,
                }
            })
            .collect();
        data(&samples, 64.0 * GIB)
    }

    #[test]
    fn weekly_reboots_that_free_under_3_percent_hide_no_leak() {
        // The case: 64 GiB, 28 days at 5-minute samples, 250-280 MB/day reset every
        // 7 days (a drop of about 1.8 GB, 2.7 % of the total), ±50 MB noise.
        for rate in [250e6, 265e6, 280e6] {
            let m = analyse(
                saw_tooth(28, 5, 30.0 * GIB, rate, 50e6),
                &Settings::default(),
            )
            .memory
            .unwrap();
            assert_eq!(m.reboots.len(), 3, "{rate}");
            assert!(m.leak, "{rate}");
            assert_eq!(m.cycles_used, 4);
            // The latest judged cycle (the baseline's) is the last one.
            assert_eq!(m.cycle().map(|c| c.start), Some(m.cycles[3].start));
            let l = m.line.unwrap();
            assert!((l.slope - rate).abs() / rate < 0.10, "{rate}: {l:?}");
            assert!(
                l.ci_low <= rate && rate <= l.ci_high,
                "{rate}: {l:?} {:?} {:?}",
                m.mk,
                m.reboots
            );
        }
    }

    #[test]
    fn saw_teeth_of_1_to_10_percent_recover_the_planted_rate() {
        // The weekly rise is the drop; noise up to a quarter of it.
        for drop in [0.01, 0.02, 0.03, 0.10] {
            let rise = drop * 64.0 * GIB;
            let rate = rise / 7.0;
            for noise_amp in [0.05 * rise, 0.25 * rise] {
                let d = saw_tooth(28, 5, 40.0 * GIB, rate, noise_amp);
                let m = analyse(d, &Settings::default()).memory.unwrap();
                let what = format!("drop {drop}, noise {noise_amp:.0}");
                assert_eq!(m.reboots.len(), 3, "{what}");
                assert!(m.leak, "{what}");
                let l = m.line.unwrap();
                assert!(
                    (l.slope - rate).abs() / rate < 0.10,
                    "{what}: {l:?} vs {rate}"
                );
            }
        }
    }

    #[test]
    fn uptime_says_exactly_when_a_device_rebooted() {
        // Reboots that free only 0.2 % of 64 GiB (under the step floor) are found from the
        // uptime, at the first sample after each boot; the weekly leak is pooled over them.
        let rate = 0.002 * 64.0 * GIB / 7.0;
        let mut d = saw_tooth(28, 5, 30.0 * GIB, rate, 1e6);
        let t0 = 1_790_000_000 / 86_400 * 86_400;
        let week = 7 * 86_400;
        // Two readings of each boot, a second apart, and one boot before the data.
        d.boots = vec![
            t0 + week,
            t0 + week + 1,
            t0 - 50,
            t0 + 3 * week,
            t0 + 2 * week,
        ];
        let m = analyse(d, &Settings::default()).memory.unwrap();
        assert_eq!(m.reboots_from, RebootSource::Uptime);
        assert_eq!(m.reboots, [t0 + week, t0 + 2 * week, t0 + 3 * week]);
        assert_eq!(m.cycles_used, 4);
        let l = m.line.unwrap();
        assert!((l.slope - rate).abs() / rate < 0.10, "{l:?} vs {rate}");
        // The same memory without uptime: the steps are too small to be reboots.
        let m = analyse(
            saw_tooth(28, 5, 30.0 * GIB, rate, 1e6),
            &Settings::default(),
        )
        .memory
        .unwrap();
        assert_eq!((m.reboots_from, m.reboots.len()), (RebootSource::Steps, 0));
    }

    #[test]
    fn the_reboots_lbfleet_performed_cut_where_memory_dropped_within_them() {
        // Drops of 0.2 % of 64 GiB: too small for the steps, but the journal says a hop ran
        // from 20 minutes before each reboot to 10 minutes after it.
        let rate = 0.002 * 64.0 * GIB / 7.0;
        let mut d = saw_tooth(28, 5, 30.0 * GIB, rate, 1e6);
        let t0 = 1_790_000_000 / 86_400 * 86_400;
        let week = 7 * 86_400;
        d.reboot_windows = (1..4)
            .map(|k| (t0 + k * week - 1200, t0 + k * week + 600))
            .collect();
        let m = analyse(d, &Settings::default()).memory.unwrap();
        assert_eq!(m.reboots_from, RebootSource::StepsAndJournal);
        assert_eq!(m.reboots, [t0 + week, t0 + 2 * week, t0 + 3 * week]);
        let l = m.line.unwrap();
        assert!((l.slope - rate).abs() / rate < 0.10, "{l:?} vs {rate}");
        // A step-found reboot elsewhere stays; one inside a performed step is the same one.
        let points: Vec<(u32, f64)> = (0..100u32)
            .map(|i| {
                (
                    i * 300,
                    if i < 30 || (50..80).contains(&i) {
                        10.0
                    } else {
                        1.0
                    },
                )
            })
            .collect();
        let step = [(25 * 300, 40 * 300)];
        assert_eq!(with_performed(&points, vec![30, 80], &step), [30, 80]);
        assert_eq!(with_performed(&points, vec![31], &step), [30]);
        // A step after the last sample cuts nothing; one whose time has no sample cuts at the
        // first sample after it.
        let late = [(200 * 300, 201 * 300)];
        assert_eq!(with_performed(&points, vec![], &late), Vec::<usize>::new());
        let sparse: Vec<(u32, f64)> = vec![(0, 5.0), (100, 5.0), (10_000, 1.0), (10_100, 1.0)];
        assert_eq!(with_performed(&sparse, vec![], &[(200, 300)]), [2]);
    }

    #[test]
    fn boot_readings_within_two_minutes_are_one_boot() {
        let points: Vec<(u32, f64)> = (0..100u32).map(|i| (i * 60, 1.0)).collect();
        // 120 s apart: one boot; 121 s: two.
        assert_eq!(booted(&points, vec![1200, 1320]), [20]);
        assert_eq!(booted(&points, vec![1200, 1321]), [20, 23]);
        // A boot after the last sample (or at the first) starts no cycle in the data.
        assert_eq!(booted(&points, vec![0, 99 * 60 + 30]), Vec::<usize>::new());
        assert_eq!(booted(&points, vec![99 * 60]), [99]);
    }

    #[test]
    fn the_cut_in_a_performed_step_is_at_the_largest_drop_in_bytes() {
        // Drops of 500 (to half) and of 496 (to a hundredth of the level, then 3): the largest
        // drop in bytes, not in proportion.
        let points = [
            (0, 1000.0),
            (60, 500.0),
            (120, 500.0),
            (180, 4.0),
            (240, 1.0),
        ];
        assert_eq!(with_performed(&points, vec![], &[(0, 300)]), [1]);
    }

    #[test]
    fn a_dip_that_lasts_hours_but_recovers_within_six_is_not_a_reboot() {
        // Quiet 6 GiB on 16 GiB, 2 GiB lower for 2 hours, then back.
        let d = device(
            3,
            |m| {
                6.0 * GIB
                    - if (2000..2120).contains(&m) {
                        2.0 * GIB
                    } else {
                        0.0
                    }
                    + 1e6 * noise(m)
            },
            |_| 1e9,
        );
        assert_eq!(
            analyse(d, &Settings::default()).memory.unwrap().reboots,
            Vec::<u32>::new()
        );
    }

    #[test]
    fn step_noise_is_the_spread_of_window_differences_whatever_the_trend() {
        // Uniform noise of ±1 (σ = 1/√3): a difference of two 12-sample means has σ·√(2/12).
        let n = 120_000;
        let values: Vec<f64> = (0..n as u32).map(noise).collect();
        let mut sums = vec![0.0];
        for v in &values {
            sums.push(sums[sums.len() - 1] + v);
        }
        let mean = |a: usize, b: usize| (sums[b] - sums[a]) / (b - a) as f64;
        let want = (1.0 / 3f64.sqrt()) * (2.0 / 12.0f64).sqrt();
        let got = step_noise(&mean, n);
        assert!((got - want).abs() / want < 0.03, "{got} vs {want}");
        // A strong trend (each difference −12 × 0.5) changes nothing.
        let trended = |a: usize, b: usize| mean(a, b) + 0.5 * (a + b - 1) as f64 / 2.0;
        let got_t = step_noise(&trended, n);
        assert!((got_t - got).abs() < 1e-6, "{got_t} vs {got}");
    }

    #[test]
    fn a_reboot_right_after_a_rise_is_compared_with_the_level_just_before_it() {
        // 4 GiB for two days, 8 GiB for the last two hours, then a reboot back to 4 GiB.
        let d = device(
            3,
            |m| {
                let up = (2880..3000).contains(&m);
                (if up { 8.0 } else { 4.0 }) * GIB + 1e6 * noise(m)
            },
            |_| 1e9,
        );
        let m = analyse(d, &Settings::default()).memory.unwrap();
        let t0 = m.cycles[0].start;
        assert_eq!(m.reboots, [t0 + 3000 * 60]);
    }

    #[test]
    fn the_level_must_stay_down_over_the_six_hours_after_a_drop_its_end_excluded() {
        // Samples every 30 minutes at 10 GiB (of 16), then from sample 120 six at 8 GiB and
        // the rest back up. Over the 6 hours after the drop (12 samples, the 13th at exactly
        // 6 h excluded) half are low: the median is halfway and it counts as staying down.
        let (hi, lo) = (10.0 * GIB, 8.0 * GIB);
        let points: Vec<(u32, f64)> = (0..240u32)
            .map(|k| (k * 1800, if (120..126).contains(&k) { lo } else { hi }))
            .collect();
        assert_eq!(
            reboots(&points, Some(16.0 * GIB), &Settings::default()),
            [120]
        );
        // One low sample fewer: not down.
        let points: Vec<(u32, f64)> = (0..240u32)
            .map(|k| (k * 1800, if (120..125).contains(&k) { lo } else { hi }))
            .collect();
        assert_eq!(
            reboots(&points, Some(16.0 * GIB), &Settings::default()),
            Vec::<usize>::new()
        );
    }

    /// Minute samples with the given level (GiB) at each index, on 16 GiB.
    fn levels(f: impl Fn(u32) -> f64, n: u32) -> Vec<(u32, f64)> {
        (0..n).map(|i| (i * 60, f(i) * GIB)).collect()
    }

    #[test]
    fn the_cut_is_the_largest_drop_in_bytes_near_the_step() {
        // 10 GiB, then 5 at 100 (a drop of 5, half), then 0.04 at 102 (4.96, to a hundredth).
        let p = levels(
            |i| {
                if i < 100 {
                    10.0
                } else if i < 102 {
                    5.0
                } else {
                    0.04
                }
            },
            300,
        );
        assert_eq!(reboots(&p, Some(16.0 * GIB), &Settings::default()), [100]);
    }

    #[test]
    fn the_cut_is_never_where_a_window_would_leave_the_series() {
        // A large drop at 5 (too early for a window of 12 before it) and the step at 13.
        let p = levels(
            |i| {
                if i < 5 {
                    12.0
                } else if i < 13 {
                    4.0
                } else {
                    1.0
                }
            },
            300,
        );
        assert_eq!(reboots(&p, Some(16.0 * GIB), &Settings::default()), [13]);
        // A step at 280 of 300 and a larger drop at 292 (too late for 12 after it).
        let p = levels(
            |i| {
                if i < 280 {
                    12.0
                } else if i < 292 {
                    9.0
                } else {
                    1.0
                }
            },
            300,
        );
        assert_eq!(reboots(&p, Some(16.0 * GIB), &Settings::default()), [280]);
    }

    #[test]
    fn short_series_are_not_searched_for_reboots_but_24_samples_are() {
        let step = |n: u32| -> Vec<(u32, f64)> {
            (0..n)
                .map(|i| (i * 60, if i < n / 2 { 10e9 } else { 1e9 }))
                .collect()
        };
        let s = Settings::default();
        assert_eq!(
            reboots(&step(20), Some(16.0 * GIB), &s),
            Vec::<usize>::new()
        );
        assert_eq!(reboots(&step(24), Some(16.0 * GIB), &s), [12]);
    }

    #[test]
    fn with_uptime_a_step_down_without_a_boot_is_not_a_reboot() {
        let mut d = device(
            3,
            |m| 6.0 * GIB - if m < 2000 { 0.0 } else { 0.05 * 16.0 * GIB } + 1e6 * noise(m),
            |_| 1e9,
        );
        d.boots = vec![1_000];
        let m = analyse(d, &Settings::default()).memory.unwrap();
        assert_eq!(m.reboots, Vec::<u32>::new());
        assert_eq!(m.cycles.len(), 1);
    }

    #[test]
    fn an_ar1_wander_without_trend_is_not_a_leak() {
        // shared/reference/ar1_no_trend.csv as the hourly level (1 unit = 100 MB) of a 16 GiB
        // unit at 8 GiB, sampled every 5 minutes: the plain Mann–Kendall test on these hourly
        // means says "increasing" (p = 1.3e-5), the autocorrelation-aware one does not.
        let hourly: Vec<f64> = include_str!("../../tests/data/ar1_no_trend.csv")
            .lines()
            .skip(1)
            .map(|l| l.split_once(',').unwrap().1.parse().unwrap())
            .collect();
        let t0 = 1_790_000_000 / 86_400 * 86_400;
        let samples: Vec<Sample> = (0..hourly.len() as u32 * 12)
            .map(|k| Sample {
                t: t0 + k * 300,
                mem: (8.0 * GIB + 100e6 * hourly[(k / 12) as usize] + 1e6 * noise(k)) as f32,
                thr: 1e9,
            })
            .collect();
        let m = analyse(data(&samples, 16.0 * GIB), &Settings::default())
            .memory
            .unwrap();
        assert_eq!(m.reboots, Vec::<u32>::new());
        assert!(!m.leak, "{:?}", m.mk);
        let plain = stats::pooled(
            &m.cycles
                .iter()
                .filter(|c| c.judged)
                .filter_map(|c| c.mk)
                .collect::<Vec<_>>(),
        );
        assert!(plain.s > 0.0 && plain.p < 1e-4, "{plain:?}");
        assert!(m.mk.unwrap().p > 0.05, "{:?}", m.mk);
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
        // From about 4.2 GiB in use on 16 GiB, filling the rest within a year takes about
        // 32.5 MiB a day.
        assert!(!leak(28.0, Some(16.0 * GIB)));
        assert!(leak(38.0, Some(16.0 * GIB)));
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
        assert_eq!(m.cycles_used, 4);
        assert!(m.leak);
        let l = m.line.unwrap();
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
        let l = m.line.unwrap();
        assert!(l.ci_low <= rate && rate <= l.ci_high, "{l:?}");
    }

    #[test]
    fn hourly_means_are_per_clock_hour_at_the_middle_of_the_hour() {
        let h = 1_790_000_000 / 3600 * 3600;
        // Two samples in the first hour (from 10 minutes in), one in the next.
        let points = [(h + 600, 1.0), (h + 1200, 3.0), (h + 3600 + 60, 10.0)];
        let c = cycle(&points, &Settings::default());
        let day = 86_400.0;
        assert_eq!(c.hourly, [(1200.0 / day, 2.0), (4800.0 / day, 10.0)]);
        assert_eq!((c.start, c.end), (h + 600, h + 3660));
        assert!(!c.judged);
    }

    #[test]
    fn the_autocorrelation_correction_detrends_each_cycle_by_the_slope_per_hour() {
        // Three days of hourly points rising 1e8 a day with a wandering (AR(1)) noise.
        let h = 1_790_000_000 / 3600 * 3600;
        let mut w = 0.0;
        let points: Vec<(u32, f64)> = (0..72u32)
            .map(|i| {
                w = 0.9 * w + 3e6 * noise(i);
                (h + i * 3600, GIB + 1e8 * f64::from(i) / 24.0 + w)
            })
            .collect();
        let c = cycle(&points, &Settings::default());
        let (mk, line) = trend(&[&c], &Settings::default(), false);
        let (mk, line) = (mk.unwrap(), line.unwrap());
        let ys: Vec<f64> = c.hourly.iter().map(|p| p.1).collect();
        let want = stats::hamed_rao(&ys, &c.mk.unwrap(), line.slope / 24.0, Z95);
        assert!(
            (mk.var_s - want.var_s).abs() <= 1e-9 * want.var_s,
            "{mk:?} vs {want:?}"
        );
        assert!(
            mk.var_s != c.mk.unwrap().var_s,
            "the correction changed nothing: {mk:?}"
        );
    }

    #[test]
    fn a_cycle_under_a_day_is_not_judged_even_with_24_hours_in_it() {
        let h = 1_790_000_000 / 3600 * 3600;
        let points: Vec<(u32, f64)> = (0..24).map(|i| (h + i * 3600, f64::from(i))).collect();
        let c = cycle(&points, &Settings::default());
        assert_eq!(c.hourly.len(), 24);
        assert!(!c.judged);
    }

    #[test]
    fn a_line_is_fitted_only_to_a_significant_rise() {
        let h = 1_790_000_000 / 3600 * 3600;
        let series = |hours: u32, f: &dyn Fn(u32) -> f64| {
            let points: Vec<(u32, f64)> = (0..hours).map(|i| (h + i * 3600, f(i))).collect();
            cycle(&points, &Settings::default())
        };
        let s = Settings::default();
        let gib = |i: u32| GIB + 1e8 * f64::from(i);
        let rising = series(48, &gib);
        let (mk, line) = trend(&[&rising], &s, false);
        assert!(mk.unwrap().p < 0.05);
        assert!((line.unwrap().slope - 24e8).abs() < 1e-3, "{line:?}");
        // Falling and flat (p = 1): no line.
        assert_eq!(
            trend(&[&series(48, &|i| GIB - 1e8 * f64::from(i))], &s, false).1,
            None
        );
        let flat = series(48, &|_| GIB);
        let (mk, line) = trend(&[&flat], &s, false);
        assert!(mk.unwrap().p > 0.05);
        assert_eq!(line, None);
        // Rising but not significant: up, down, up, ... (S = 24).
        let weak = series(48, &|i| GIB + 1e6 * f64::from(i % 2));
        let (mk, line) = trend(&[&weak], &s, false);
        let mk = mk.unwrap();
        assert!(mk.s > 0.0 && mk.p >= 0.05, "{mk:?}");
        assert_eq!(line, None);
        // Nothing to judge: no test at all.
        assert_eq!(trend(&[], &s, false), (None, None));
        // `always` (verify-fix) gives the line of the falling and the flat series too, and
        // `pooled_rate` leaves out cycles too short to judge.
        let falling = series(48, &|i| GIB - 1e8 * f64::from(i));
        let line = trend(&[&falling], &s, true).1.unwrap();
        assert!((line.slope + 24e8).abs() < 1e-3, "{line:?}");
        assert_eq!(trend(&[&flat], &s, true).1.unwrap().slope, 0.0);
        let short = series(12, &gib);
        assert!(!short.judged);
        assert_eq!(pooled_rate(&[&short], &s), (None, None));
        assert_eq!(
            pooled_rate(&[&short, &falling], &s),
            trend(&[&falling], &s, true)
        );
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

    /// 30 days: a daily peak of `peak(day)` at noon, 100 Mbit/s otherwise.
    fn peaks(peak: impl Fn(f64) -> f64) -> DeviceData {
        device(
            30,
            |_| f64::NAN,
            move |m| {
                if m % 1440 == 720 {
                    peak(f64::from(m / 1440))
                } else {
                    1e8
                }
            },
        )
    }

    #[test]
    fn a_significant_trend_is_extrapolated_as_far_as_the_history_supports() {
        // Daily peak 1 Gbit/s + 10 Mbit/s per day over 30 days (29 days apart): the 3-year
        // horizon is cut to 3 × 29 = 87 days past the last peak.
        let s = Settings::default();
        let t = analyse(peaks(|day| 1e9 + 1e7 * day), &s)
            .throughput
            .unwrap();
        let l = t.trend.unwrap();
        assert!((l.slope - 1e7).abs() / 1e7 < 1e-4, "{l:?}");
        assert_eq!((t.basis, t.trend_days), (Basis::Trend, 87.0));
        let want = 1e9 + 1e7 * (29.0 + 87.0);
        assert!(
            (t.projected_peak - want).abs() / want < 1e-4,
            "{}",
            t.projected_peak
        );
        // A short horizon is used whole.
        let short = Settings {
            horizon_days: 30.0,
            ..s
        };
        let t = analyse(peaks(|day| 1e9 + 1e7 * day), &short)
            .throughput
            .unwrap();
        assert_eq!((t.basis, t.trend_days), (Basis::Trend, 30.0));
        assert!((t.projected_peak - (1e9 + 1e7 * 59.0)).abs() < 1e3);
        // A growth rate changes nothing when the trend reaches the horizon.
        let short_grown = Settings {
            growth_per_year: Some(0.2),
            ..short
        };
        let g = analyse(peaks(|day| 1e9 + 1e7 * day), &short_grown)
            .throughput
            .unwrap();
        assert_eq!(
            (g.basis, g.projected_peak),
            (Basis::Trend, t.projected_peak)
        );
        // Beyond the supported span, the operator's growth rate: 20 % a year for the rest.
        let grown = Settings {
            growth_per_year: Some(0.2),
            ..s
        };
        let t = analyse(peaks(|day| 1e9 + 1e7 * day), &grown)
            .throughput
            .unwrap();
        assert_eq!(t.basis, Basis::TrendGrowth);
        let want = (1e9 + 1e7 * 116.0) * 1.2f64.powf((3.0 * 365.25 - 87.0) / 365.25);
        assert!(
            (t.projected_peak - want).abs() / want < 1e-4,
            "{}",
            t.projected_peak
        );
    }

    #[test]
    fn bases_and_reboot_sources_have_the_names_the_csv_documents() {
        let names: Vec<&str> = [
            Basis::Trend,
            Basis::TrendGrowth,
            Basis::Growth,
            Basis::Observed,
        ]
        .map(Basis::as_str)
        .to_vec();
        assert_eq!(names, ["trend", "trend+growth", "growth", "observed"]);
        let names: Vec<&str> = [
            RebootSource::Uptime,
            RebootSource::Steps,
            RebootSource::StepsAndJournal,
        ]
        .map(RebootSource::as_str)
        .to_vec();
        assert_eq!(names, ["uptime", "memory steps", "memory steps + journal"]);
    }

    #[test]
    fn without_a_significant_rise_the_peak_is_observed_or_grown() {
        // Daily peaks that wander around 1 Gbit/s with no trend: no extrapolation.
        let wander = |day: f64| 1e9 + 5e7 * noise(day as u32 + 11);
        let t = analyse(peaks(wander), &Settings::default())
            .throughput
            .unwrap();
        assert!(t.trend_p.unwrap() >= 0.05, "{:?}", t.trend_p);
        assert_eq!((t.basis, t.trend_days), (Basis::Observed, 0.0));
        assert_eq!(t.projected_peak, t.max);
        let grown = Settings {
            growth_per_year: Some(0.2),
            ..Settings::default()
        };
        let t = analyse(peaks(wander), &grown).throughput.unwrap();
        assert_eq!(t.basis, Basis::Growth);
        assert!((t.projected_peak - t.max * 1.2f64.powi(3)).abs() / t.max < 1e-9);
        // A falling trend is significant but never projected below the highest peak.
        let t = analyse(peaks(|day| 2e9 - 1e7 * day), &Settings::default())
            .throughput
            .unwrap();
        assert!(t.trend_p.unwrap() < 0.05);
        assert_eq!((t.basis, t.projected_peak), (Basis::Observed, 2e9));
    }
}
