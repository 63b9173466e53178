//! The statistics the evaluator stands on, each checked against published reference values.
//!
//! * **Mann–Kendall** trend test: S = Σ sgn(yⱼ − yₖ) over k < j; Var(S) with the tie correction;
//!   Z with the continuity correction; two-sided p from the normal distribution (as
//!   pyMannKendall's `original_test`).
//! * **Theil–Sen** slope: the median of all pairwise slopes (pairs with equal x skipped);
//!   intercept = median(y) − median(x) × slope; **Sen's (1968) confidence interval**: with
//!   N pairwise slopes and C = z₁₋α/₂ √Var(S), the bounds are the order statistics of rank
//!   (N − C)/2 and (N + C)/2 + 1 (1-based), linearly interpolated between neighbouring ranks
//!   when not whole (Gilbert 1987, §16.4).
//! * **Pooled** (seasonal Kendall, Hirsch, Slack & Smith 1982): S and Var(S) of independent
//!   series add up; the slope is the median of the pairwise slopes within each series.
//! * **Hamed–Rao** (1998) modified Mann–Kendall for autocorrelated series: Var(S) scaled by n/n*
//!   from the significant autocorrelations of the detrended ranks (pyMannKendall's
//!   `hamed_rao_modification_test`).
//! * **Quantiles**: linear interpolation between closest ranks, h = (n − 1)p (Hyndman–Fan type 7,
//!   numpy's default and Prometheus' `quantile`).

/// z for a two-sided 95 % interval.
pub const Z95: f64 = 1.959_963_984_540_054;

/// The result of a Mann–Kendall test.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MannKendall {
    /// Number of values.
    pub n: usize,
    /// S statistic.
    pub s: f64,
    /// Variance of S with the tie correction.
    pub var_s: f64,
    /// Normal score with continuity correction.
    pub z: f64,
    /// Two-sided p-value.
    pub p: f64,
    /// Kendall's tau, S / (n(n−1)/2).
    pub tau: f64,
}

/// Mann–Kendall on values in time order (missing values already removed).
pub fn mann_kendall(y: &[f64]) -> MannKendall {
    let n = y.len();
    let (s, sorted) = if y.iter().any(|v| v.is_nan()) {
        let mut sorted: Vec<f64> = y.to_vec();
        sorted.sort_by(f64::total_cmp);
        (s_by_pairs(y), sorted)
    } else {
        s_by_merging(y)
    };
    let nf = n as f64;
    // Tie groups (a value alone adds nothing: t − 1 = 0).
    let ties: f64 = tie_groups(&sorted)
        .map(|t| {
            let t = t as f64;
            t * (t - 1.0) * (2.0 * t + 5.0)
        })
        .sum();
    let var_s = (nf * (nf - 1.0) * (2.0 * nf + 5.0) - ties) / 18.0;
    let s = s as f64;
    let (z, p) = score(s, var_s);
    MannKendall {
        n,
        s,
        var_s,
        z,
        p,
        tau: if n > 1 {
            s / (0.5 * nf * (nf - 1.0))
        } else {
            0.0
        },
    }
}

/// The normal score of S with the continuity correction, and its two-sided p-value.
fn score(s: f64, var_s: f64) -> (f64, f64) {
    let z = if s > 0.0 {
        (s - 1.0) / var_s.sqrt()
    } else if s < 0.0 {
        (s + 1.0) / var_s.sqrt()
    } else {
        0.0
    };
    (z, two_sided_p(z))
}

/// S = Σ sgn(yⱼ − yₖ) over k < j, pair by pair: O(n²).
fn s_by_pairs(y: &[f64]) -> i64 {
    let mut s: i64 = 0;
    let mut rest = y;
    while let Some((&yk, later)) = rest.split_first() {
        for &yj in later {
            s += (yj > yk) as i64 - (yj < yk) as i64;
        }
        rest = later;
    }
    s
}

/// S without NaN in O(n log n), and the values sorted: a merge sort counts the pairs out of
/// order (D, later value smaller); tied pairs (T) come from runs of equal sorted values, and
/// the pairs in order are the rest, so S = (N − T − D) − D for N = n(n − 1)/2 pairs.
fn s_by_merging(y: &[f64]) -> (i64, Vec<f64>) {
    let n = y.len();
    let mut a = y.to_vec();
    let mut b = vec![0.0; n];
    let mut discordant: i64 = 0;
    let mut width = 1;
    while width < n {
        for lo in (0..n).step_by(2 * width) {
            let mid = (lo + width).min(n);
            let hi = (lo + 2 * width).min(n);
            let (mut i, mut j, mut k) = (lo, mid, lo);
            while i < mid && j < hi {
                // Equal values are taken from the left first: a tie is not out of order.
                if a[j] < a[i] {
                    discordant += (mid - i) as i64;
                    b[k] = a[j];
                    j += 1;
                } else {
                    b[k] = a[i];
                    i += 1;
                }
                k += 1;
            }
            b[k..k + mid - i].copy_from_slice(&a[i..mid]);
            let k = k + mid - i;
            b[k..k + hi - j].copy_from_slice(&a[j..hi]);
        }
        std::mem::swap(&mut a, &mut b);
        width *= 2;
    }
    let tied: i64 = tie_groups(&a).map(|t| t as i64 * (t as i64 - 1) / 2).sum();
    let pairs = (n as i64) * (n as i64 - 1) / 2;
    (pairs - tied - 2 * discordant, a)
}

/// The sizes of the runs of equal values in sorted `v`.
fn tie_groups(v: &[f64]) -> impl Iterator<Item = usize> + '_ {
    v.chunk_by(|a, b| a == b).map(<[f64]>::len)
}

/// Two-sided p-value of a standard normal score: erfc(|z|/√2).
pub fn two_sided_p(z: f64) -> f64 {
    libm::erfc(z.abs() / std::f64::consts::SQRT_2)
}

/// A Theil–Sen line with Sen's confidence interval for the slope.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SenLine {
    /// Median pairwise slope.
    pub slope: f64,
    /// median(y) − median(x) × slope.
    pub intercept: f64,
    /// Lower bound of the slope's confidence interval.
    pub ci_low: f64,
    /// Upper bound.
    pub ci_high: f64,
}

impl SenLine {
    /// The line's value at `x`.
    pub fn at(&self, x: f64) -> f64 {
        self.intercept + self.slope * x
    }
}

/// Theil–Sen on points `(x, y)`, with Sen's interval at normal score `z` using `var_s` (the
/// Mann–Kendall variance of the same series). `None` with fewer than two distinct x.
pub fn theil_sen(x: &[f64], y: &[f64], var_s: f64, z: f64) -> Option<SenLine> {
    Slopes::within(&[(x, y)]).line(var_s, z)
}

/// The pairwise slopes of one or more series that share a slope (a device's memory cycles
/// between reboots: the same leak every cycle). Pairs are taken within each series only, as
/// the seasonal Kendall slope estimator does with seasons (Hirsch, Slack & Smith 1982); the
/// intercept is that of the last series.
pub struct Slopes<'a> {
    keys: Vec<u64>,
    last: (&'a [f64], &'a [f64]),
    median: Option<(usize, f64, f64)>,
}

impl<'a> Slopes<'a> {
    /// Every pairwise slope within each `(x, y)` series (pairs with equal x skipped).
    pub fn within(series: &[(&'a [f64], &'a [f64])]) -> Slopes<'a> {
        let mut keys = Vec::with_capacity(
            series
                .iter()
                .map(|(x, _)| x.len() * x.len().saturating_sub(1) / 2)
                .sum(),
        );
        for &(x, y) in series {
            push_slopes(&mut keys, x, y);
        }
        Slopes {
            keys,
            last: series.last().copied().unwrap_or((&[], &[])),
            median: None,
        }
    }

    /// How many slopes there are.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether there is none (fewer than two distinct x in every series).
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The median slope (the mean of the middle two for an even count).
    pub fn median(&mut self) -> Option<f64> {
        Some(self.middle()?.1)
    }

    /// (index of the lower middle, the median, the lower middle's value), selected once.
    fn middle(&mut self) -> Option<(usize, f64, f64)> {
        if self.median.is_none() && !self.keys.is_empty() {
            let n = self.keys.len();
            let mid = (n - 1) / 2;
            let (lo, hi) = slope_pair(&mut self.keys, mid);
            let median = if n % 2 == 1 { lo } else { (lo + hi) / 2.0 };
            self.median = Some((mid, median, lo));
        }
        self.median
    }

    /// The line: the median slope with Sen's interval at normal score `z` from `var_s`.
    pub fn line(&mut self, var_s: f64, z: f64) -> Option<SenLine> {
        // Order statistics by selection rather than sorting the N ≈ n²/2 slopes: the median
        // first, then each bound inside the half that holds it.
        let (mid, slope, mid_lo) = self.middle()?;
        let keys = &mut self.keys;
        let big_n = keys.len() as f64;
        let c = z * var_s.sqrt();
        let mut rank = |r: f64| -> f64 {
            // 1-based rank r, clamped, linearly interpolated between neighbours.
            let r = r.clamp(1.0, big_n) - 1.0;
            let lo = r.floor() as usize;
            let (lo_v, hi_v) = if lo < mid {
                let (a, b) = slope_pair(&mut keys[..mid], lo);
                (a, if lo + 1 == mid { mid_lo } else { b })
            } else if lo == mid {
                slope_pair(&mut keys[mid..], 0)
            } else {
                slope_pair(&mut keys[mid + 1..], lo - mid - 1)
            };
            lo_v + (hi_v - lo_v) * (r - lo as f64)
        };
        let ci_low = rank((big_n - c) / 2.0);
        let ci_high = rank((big_n + c) / 2.0 + 1.0);
        let (x, y) = self.last;
        let intercept = median_unsorted(&mut y.to_vec()) - median_unsorted(&mut x.to_vec()) * slope;
        Some(SenLine {
            slope,
            intercept,
            ci_low,
            ci_high,
        })
    }
}

/// Appends the pairwise slopes of one series as [`ordered`] keys.
fn push_slopes(slopes: &mut Vec<u64>, x: &[f64], y: &[f64]) {
    assert_eq!(x.len(), y.len());
    // Increasing x (time order): no pair is skipped, a loop the compiler vectorises.
    let increasing = x.windows(2).all(|w| w[0] < w[1]);
    let (mut xs, mut ys) = (x, y);
    while let (Some((&xi, x_later)), Some((&yi, y_later))) = (xs.split_first(), ys.split_first()) {
        let later = x_later.iter().zip(y_later);
        if increasing {
            slopes.extend(later.map(|(xj, yj)| ordered((yj - yi) / (xj - xi))));
        } else {
            // Pairs with equal x have no slope.
            slopes.extend(
                later
                    .filter(|(xj, _)| **xj != xi)
                    .map(|(xj, yj)| ordered((yj - yi) / (xj - xi))),
            );
        }
        (xs, ys) = (x_later, y_later);
    }
}

/// The k-th smallest slope (0-based) of [`ordered`] keys and the next one; selection on
/// integer keys is about twice as fast as on floats.
fn slope_pair(keys: &mut [u64], k: usize) -> (f64, f64) {
    let (a, b) = key_pair(keys, k);
    (unordered(a), unordered(b))
}

/// Mann–Kendall tests of independent series (cycles) taken together, as the seasonal Kendall
/// test does: S and Var(S) are the sums (Hirsch, Slack & Smith 1982), n the total count and
/// tau S over the pairs within the series.
pub fn pooled(parts: &[MannKendall]) -> MannKendall {
    let s: f64 = parts.iter().map(|m| m.s).sum();
    let var_s: f64 = parts.iter().map(|m| m.var_s).sum();
    let pairs: f64 = parts
        .iter()
        .map(|m| m.n as f64 * (m.n as f64 - 1.0) / 2.0)
        .sum();
    let (z, p) = score(s, var_s);
    MannKendall {
        n: parts.iter().map(|m| m.n).sum(),
        s,
        var_s,
        z,
        p,
        tau: if pairs > 0.0 { s / pairs } else { 0.0 },
    }
}

/// Hamed & Rao's (1998) modified Mann–Kendall test for an autocorrelated series `y` (no
/// missing values), as pyMannKendall's `hamed_rao_modification_test` with every lag: the
/// series is detrended with the Sen slope per step `slope` (yᵢ − slope·i), its ranks'
/// autocorrelations ρₖ (k ≥ 1) that are significant at `z_alpha` (|ρₖ| > z/√n) give
/// n/n* = 1 + 2/(n(n−1)(n−2)) Σ (n−k)(n−k−1)(n−k−2) ρₖ, and Var(S) is multiplied by it.
/// Positive autocorrelation (a series that wanders) widens the variance, so a wander is not
/// taken for a trend. `mk` is the plain test of the same series.
pub fn hamed_rao(y: &[f64], mk: &MannKendall, slope: f64, z_alpha: f64) -> MannKendall {
    let n = y.len();
    if n < 3 {
        return *mk;
    }
    // pyMannKendall subtracts slope·i for i from 1; any offset leaves the ranks alike.
    let detrended: Vec<f64> = y
        .iter()
        .enumerate()
        .map(|(i, v)| v - slope * i as f64)
        .collect();
    let rho = autocorrelations(&ranks(&detrended));
    let nf = n as f64;
    let bound = z_alpha / nf.sqrt();
    let sum: f64 = rho
        .iter()
        .enumerate()
        .skip(1)
        .filter(|(_, r)| r.abs() > bound)
        .map(|(k, r)| {
            let m = (n - k) as f64;
            m * (m - 1.0) * (m - 2.0) * r
        })
        .sum();
    let var_s = mk.var_s * (1.0 + 2.0 / (nf * (nf - 1.0) * (nf - 2.0)) * sum);
    let (z, p) = score(mk.s, var_s);
    MannKendall { var_s, z, p, ..*mk }
}

/// Ranks from 1, ties sharing the mean of their ranks (scipy's `rankdata`, method "average").
pub fn ranks(v: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..v.len()).collect();
    order.sort_by(|&a, &b| v[a].total_cmp(&v[b]));
    let mut out = vec![0.0; v.len()];
    let mut below = 0;
    for group in order.chunk_by(|&a, &b| v[a] == v[b]) {
        let mean = below as f64 + (group.len() as f64 + 1.0) / 2.0;
        for &i in group {
            out[i] = mean;
        }
        below += group.len();
    }
    out
}

/// Sample autocorrelations at lags 0..n: Σ (yₜ − ȳ)(yₜ₊ₖ − ȳ) / Σ (yₜ − ȳ)² (statsmodels'
/// `acf`, as pyMannKendall computes it).
pub fn autocorrelations(v: &[f64]) -> Vec<f64> {
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    let c: Vec<f64> = v.iter().map(|x| x - mean).collect();
    let c0: f64 = c.iter().map(|x| x * x).sum();
    (0..c.len())
        .map(|k| {
            c[..c.len() - k]
                .iter()
                .zip(&c[k..])
                .map(|(a, b)| a * b)
                .sum::<f64>()
                / c0
        })
        .collect()
}

/// An integer key whose order is [`f64::total_cmp`]'s order of the floats.
fn ordered(x: f64) -> u64 {
    let b = x.to_bits();
    // Negative: all bits flipped; otherwise the sign bit set. Branch-free.
    b ^ (((b as i64 >> 63) as u64) | 1 << 63)
}

/// The float of an [`ordered`] key.
fn unordered(k: u64) -> f64 {
    f64::from_bits(if k >> 63 == 1 { k & !(1 << 63) } else { !k })
}

/// The k-th smallest (0-based) and the next one (the same when k is the last).
fn pair(v: &mut [f64], k: usize) -> (f64, f64) {
    let (_, kth, right) = v.select_nth_unstable_by(k, f64::total_cmp);
    let kth = *kth;
    let next = right.iter().copied().min_by(f64::total_cmp).unwrap_or(kth);
    (kth, next)
}

/// The median of values in any order (reorders them).
pub fn median_unsorted(v: &mut [f64]) -> f64 {
    let n = v.len();
    let (a, b) = pair(v, (n - 1) / 2);
    if n % 2 == 1 { a } else { (a + b) / 2.0 }
}

/// Type-7 quantile of values in any order (reorders them).
pub fn quantile_unsorted(v: &mut [f64], p: f64) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    let h = (v.len() - 1) as f64 * p.clamp(0.0, 1.0);
    let lo = h.floor() as usize;
    let (a, b) = pair(v, lo);
    Some(a + (h - lo as f64) * (b - a))
}

/// The k-th smallest key (0-based) and the next one, of keys in any order (reorders them).
fn key_pair<K: Ord + Copy>(keys: &mut [K], k: usize) -> (K, K) {
    let (_, kth, right) = keys.select_nth_unstable(k);
    let kth = *kth;
    (kth, right.iter().copied().min().unwrap_or(kth))
}

/// Type-7 quantiles at ascending probabilities `ps`, of values given by keys whose integer
/// order is the values' order (such as the bit patterns of non-negative floats) and `value`,
/// reordering the keys. Integer comparisons, and each selection only right of the previous
/// one, make this several times faster than [`quantile_unsorted`] per quantile on large
/// series; the results are the same.
pub fn quantiles_of_keys<K: Ord + Copy>(
    keys: &mut [K],
    ps: &[f64],
    value: impl Fn(K) -> f64,
) -> Option<Vec<f64>> {
    if keys.is_empty() {
        return None;
    }
    let mut from = 0;
    let mut out = Vec::with_capacity(ps.len());
    for &p in ps {
        let h = (keys.len() - 1) as f64 * p.clamp(0.0, 1.0);
        let lo = (h.floor() as usize).max(from);
        let (a, b) = key_pair(&mut keys[from..], lo - from);
        let (a, b) = (value(a), value(b));
        out.push(a + (h - lo as f64) * (b - a));
        from = lo;
    }
    Some(out)
}

/// The median of values given as keys (as [`quantiles_of_keys`]), the mean of the middle two
/// for an even count, as [`median_unsorted`].
pub fn median_of_keys<K: Ord + Copy>(keys: &mut [K], value: impl Fn(K) -> f64) -> f64 {
    let n = keys.len();
    let (a, b) = key_pair(keys, (n - 1) / 2);
    if n % 2 == 1 {
        value(a)
    } else {
        (value(a) + value(b)) / 2.0
    }
}

/// The median of sorted values (mean of the middle two for an even count).
pub fn median_sorted(v: &[f64]) -> f64 {
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// Type-7 quantile of sorted values: h = (n − 1)p, linear between floor(h) and ceil(h).
pub fn quantile_sorted(v: &[f64], p: f64) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    let h = (v.len() - 1) as f64 * p.clamp(0.0, 1.0);
    let lo = h.floor() as usize;
    let hi = h.ceil() as usize;
    Some(v[lo] + (h - lo as f64) * (v[hi] - v[lo]))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The pyMannKendall test series (shared/reference/pymannkendall_arbitrary_1d.csv, MIT):
    /// (index, value) with the 7 missing values left out.
    fn reference() -> (Vec<f64>, Vec<f64>) {
        let text = include_str!("../../tests/data/pymannkendall_arbitrary_1d.csv");
        let mut x = Vec::new();
        let mut y = Vec::new();
        for line in text.lines().skip(1) {
            let (i, v) = line.split_once(',').unwrap();
            if !v.trim().is_empty() {
                x.push(i.parse().unwrap());
                y.push(v.parse().unwrap());
            }
        }
        (x, y)
    }

    #[test]
    fn mann_kendall_matches_pymannkendall() {
        let (_, y) = reference();
        let mk = mann_kendall(&y);
        assert_eq!(mk.n, 353);
        assert_eq!(mk.s, -1959.0);
        assert_eq!(mk.var_s, 4889800.333333333);
        assert_eq!(mk.z, -0.8854562842589916);
        assert_eq!(mk.tau, -0.03153167653875869);
        // p: the published value to the last digit or one unit in the last place (erfc
        // implementations differ by an ulp).
        let p = 0.37591058740506833_f64;
        assert!((mk.p - p).abs() <= 2.0 * f64::EPSILON * p, "p = {}", mk.p);
    }

    /// shared/reference/ar1_no_trend.csv: x[i] = 0.95·x[i−1] + e[i], no trend, 720 values.
    fn ar1() -> Vec<f64> {
        include_str!("../../tests/data/ar1_no_trend.csv")
            .lines()
            .skip(1)
            .map(|l| l.split_once(',').unwrap().1.parse().unwrap())
            .collect()
    }

    #[track_caller]
    fn close(got: f64, want: f64, rel: f64) {
        assert!(
            (got - want).abs() <= rel * want.abs(),
            "got {got}, want {want} (relative {rel})"
        );
    }

    #[test]
    fn hamed_rao_matches_pymannkendall_on_an_ar1_series_without_trend() {
        let y = ar1();
        let x: Vec<f64> = (0..y.len()).map(|i| i as f64).collect();
        let mk = mann_kendall(&y);
        // The plain test raises a false alarm ...
        assert_eq!((mk.s, mk.var_s), (28120.0, 41558200.0));
        close(mk.z, 4.361857842312986, 1e-12);
        close(mk.p, 1.2896265666251239e-05, 1e-9);
        let slope = theil_sen(&x, &y, mk.var_s, Z95).unwrap().slope;
        close(slope, 0.0028219712629154927, 1e-12);
        // ... the modified one does not.
        let hr = hamed_rao(&y, &mk, slope, Z95);
        close(hr.var_s, 786316941.4572308, 1e-9);
        close(hr.z, 1.002769359764846, 1e-9);
        close(hr.p, 0.31597215564206005, 1e-9);
        assert_eq!((hr.s, hr.n), (mk.s, mk.n));
    }

    #[test]
    fn hamed_rao_matches_pymannkendall_on_the_reference_series() {
        // pyMannKendall takes Sen's slope over the original positions (pairs with a missing
        // value skipped) and detrends the series with the missing values dropped.
        let (x, y) = reference();
        let mk = mann_kendall(&y);
        let slope = theil_sen(&x, &y, mk.var_s, Z95).unwrap().slope;
        let hr = hamed_rao(&y, &mk, slope, Z95);
        close(hr.var_s, 259723.81316716125, 1e-9);
        close(hr.z, -3.8419950613710894, 1e-9);
        close(hr.p, 0.00012203829241275166, 1e-7);
    }

    #[test]
    fn tiny_series_keep_their_plain_variance_and_one_value_pools_to_no_tau() {
        // Fewer than three values: nothing to correct (n(n-1)(n-2) = 0).
        let mk = mann_kendall(&[1.0, 2.0]);
        assert_eq!(hamed_rao(&[1.0, 2.0], &mk, 1.0, Z95), mk);
        let one = mann_kendall(&[1.0]);
        let m = pooled(&[one, one]);
        assert_eq!((m.n, m.tau), (2, 0.0));
    }

    #[test]
    fn ranks_share_ties_and_autocorrelations_start_at_one() {
        assert_eq!(ranks(&[3.0, 1.0, 3.0, 2.0]), [3.5, 1.0, 3.5, 2.0]);
        let r = autocorrelations(&[1.0, 2.0, 3.0, 4.0]);
        // Deviations -1.5, -0.5, 0.5, 1.5 (sum of squares 5): lag 1 = (0.75 − 0.25 + 0.75) / 5.
        assert_eq!(r.len(), 4);
        assert_eq!(r[0], 1.0);
        close(r[1], 0.25, 1e-15);
        close(r[3], -2.25 / 5.0, 1e-15);
    }

    #[test]
    fn pairs_with_equal_x_are_skipped_and_x_may_come_in_any_order() {
        // Pairs: (2,4)-(0,0): 2, (2,4)-(1,1): 3, (2,4)-(1,3): 1, (0,0)-(1,1): 1, (0,0)-(1,3): 3;
        // (1,1)-(1,3) has no slope. Sorted 1, 1, 2, 3, 3.
        let (x, y) = ([2.0, 0.0, 1.0, 1.0], [4.0, 0.0, 1.0, 3.0]);
        let mut slopes = Slopes::within(&[(&x, &y)]);
        assert_eq!(slopes.len(), 5);
        assert_eq!(slopes.median(), Some(2.0));
        // With C = 0 the bounds are the 1-based ranks N/2 = 2.5 and N/2 + 1 = 3.5,
        // interpolated: 1 + 0.5 × (2 − 1) and 2 + 0.5 × (3 − 2).
        let l = slopes.line(0.0, Z95).unwrap();
        assert_eq!((l.slope, l.ci_low, l.ci_high), (2.0, 1.5, 2.5));
        // median(y) = 2, median(x) = 1.
        assert_eq!(l.intercept, 0.0);
        // Sorted x with a repeat: the same slopes as in any order.
        let (x, y) = ([0.0, 1.0, 1.0, 2.0], [0.0, 1.0, 3.0, 4.0]);
        let mut sorted = Slopes::within(&[(&x, &y)]);
        assert_eq!((sorted.len(), sorted.median()), (5, Some(2.0)));
        assert!(Slopes::within(&[(&[1.0, 1.0], &[0.0, 5.0])]).is_empty());
        assert!(!Slopes::within(&[(&[1.0, 2.0], &[0.0, 5.0])]).is_empty());
        assert_eq!(theil_sen(&[1.0, 1.0], &[0.0, 5.0], 1.0, Z95), None);
    }

    #[test]
    fn pooled_cycles_add_their_s_and_variance_and_share_one_slope() {
        let a = [1.0, 2.0, 4.0, 3.0, 5.0];
        let b = [10.0, 12.0, 11.0, 13.0];
        let (ma, mb) = (mann_kendall(&a), mann_kendall(&b));
        let m = pooled(&[ma, mb]);
        assert_eq!((m.n, m.s, m.var_s), (9, ma.s + mb.s, ma.var_s + mb.var_s));
        close(m.tau, (ma.s + mb.s) / 16.0, 1e-15);
        assert_eq!(m.z, (m.s - 1.0) / m.var_s.sqrt());
        // Slopes within each cycle only: a's 10 and b's 6, never across the jump between them.
        let xa = [0.0, 1.0, 2.0, 3.0, 4.0];
        let xb = [5.0, 6.0, 7.0, 8.0];
        let mut all: Vec<f64> = Vec::new();
        for (x, y) in [(&xa[..], &a[..]), (&xb[..], &b[..])] {
            for i in 0..x.len() {
                for j in i + 1..x.len() {
                    all.push((y[j] - y[i]) / (x[j] - x[i]));
                }
            }
        }
        all.sort_by(f64::total_cmp);
        let mut slopes = Slopes::within(&[(&xa, &a), (&xb, &b)]);
        assert_eq!(slopes.len(), 16);
        assert_eq!(slopes.median(), Some(median_sorted(&all)));
        let l = slopes.line(m.var_s, Z95).unwrap();
        // The intercept is the last cycle's: median(b) − median(xb) · slope.
        close(l.intercept, 11.5 - 6.5 * l.slope, 1e-12);
        assert!(l.ci_low <= l.slope && l.slope <= l.ci_high);
    }

    #[test]
    fn no_trend_scores_zero_and_one_value_has_no_tau() {
        // S = 0: no continuity correction in either direction, z = 0, p = 1.
        let mk = mann_kendall(&[1.0, 2.0, 1.0]);
        assert_eq!((mk.s, mk.z, mk.p, mk.tau), (0.0, 0.0, 1.0, 0.0));
        let mk = mann_kendall(&[5.0]);
        assert_eq!((mk.n, mk.s, mk.tau), (1, 0.0, 0.0));
        // The pair-by-pair S (used when values are missing) counts each pair once.
        assert_eq!(s_by_pairs(&[1.0, 2.0, 3.0, f64::NAN, 0.0]), 3 - 3);
        assert_eq!(s_by_pairs(&[1.0, 2.0, 2.0, 4.0]), 5);
    }

    #[test]
    fn sen_slope_matches_pymannkendall() {
        let (x, y) = reference();
        let mk = mann_kendall(&y);
        let line = theil_sen(&x, &y, mk.var_s, Z95).unwrap();
        assert_eq!(line.slope, -0.006369426751592357);
        assert_eq!(line.intercept, 96.15286624203821);
        assert!(line.ci_low < line.slope && line.slope < line.ci_high);
    }

    #[test]
    fn selection_bounds_equal_sorted_bounds() {
        // The interval by selection inside the median's halves equals the one read off the
        // fully sorted slopes, on the reference series and on a short one.
        for (x, y) in [
            reference(),
            (
                (0..9).map(f64::from).collect(),
                vec![3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0, 5.0],
            ),
        ] {
            let mk = mann_kendall(&y);
            let l = theil_sen(&x, &y, mk.var_s, Z95).unwrap();
            let mut slopes = Vec::new();
            for i in 0..x.len() {
                for j in i + 1..x.len() {
                    slopes.push((y[j] - y[i]) / (x[j] - x[i]));
                }
            }
            slopes.sort_by(f64::total_cmp);
            let n = slopes.len() as f64;
            let c = Z95 * mk.var_s.sqrt();
            let at = |r: f64| {
                let r = r.clamp(1.0, n) - 1.0;
                let (lo, hi) = (r.floor() as usize, r.ceil() as usize);
                slopes[lo] + (slopes[hi] - slopes[lo]) * (r - lo as f64)
            };
            assert_eq!(l.ci_low, at((n - c) / 2.0));
            assert_eq!(l.ci_high, at((n + c) / 2.0 + 1.0));
            assert_eq!(l.slope, median_sorted(&slopes));
        }
    }

    /// A rising series with ties (tests/data/rising.csv, from scripts/stats-reference.py) and
    /// pyMannKendall 1.4.3's values on it; the Sen interval from the same script's plain-Python
    /// computation (sorted pairwise slopes, Gilbert 1987 eq. 16.15-16.16).
    #[test]
    fn a_rising_series_matches_pymannkendall_and_an_independent_sen_interval() {
        let y: Vec<f64> = include_str!("../../tests/data/rising.csv")
            .lines()
            .skip(1)
            .map(|l| l.parse().unwrap())
            .collect();
        let x: Vec<f64> = (0..y.len()).map(|i| i as f64).collect();
        let mk = mann_kendall(&y);
        assert_eq!(mk.n, 200);
        assert_eq!(mk.s, 3648.0);
        assert_eq!(mk.var_s, 895440.0);
        // S > 0: the continuity correction subtracts one.
        assert!((mk.z - 3.854051538094221).abs() < 1e-12, "z = {}", mk.z);
        assert!(
            (mk.p - 0.00011617912276684628).abs() < 1e-15,
            "p = {}",
            mk.p
        );
        assert!((mk.tau - 0.18331658291457287).abs() < 1e-15);
        let l = theil_sen(&x, &y, mk.var_s, Z95).unwrap();
        assert!((l.slope - 0.06).abs() < 1e-12, "{l:?}");
        assert!((l.intercept - -0.9699999999999998).abs() < 1e-9, "{l:?}");
        assert!((l.ci_low - 0.0310966845103631).abs() < 1e-12, "{l:?}");
        assert!((l.ci_high - 0.08942906718476473).abs() < 1e-12, "{l:?}");
    }

    #[test]
    fn sen_interval_on_a_textbook_series() {
        // Gilbert (1987) example 16.5 style check: a perfect line has a zero-width interval
        // around its slope, and a noisy one widens with the variance.
        let x: Vec<f64> = (0..30).map(f64::from).collect();
        let y: Vec<f64> = x.iter().map(|t| 3.0 * t + 1.0).collect();
        let mk = mann_kendall(&y);
        let l = theil_sen(&x, &y, mk.var_s, Z95).unwrap();
        assert_eq!(
            (l.slope, l.intercept, l.ci_low, l.ci_high),
            (3.0, 1.0, 3.0, 3.0)
        );
        assert_eq!(mk.s, 435.0);
        assert!(mk.p < 1e-12);
    }

    #[test]
    fn quantiles_are_type_7() {
        // numpy.percentile([1, 2, 3, 4, 10], [50, 95, 99]) = 3.0, 8.8, 9.76
        let v = [1.0, 2.0, 3.0, 4.0, 10.0];
        assert_eq!(quantile_sorted(&v, 0.5), Some(3.0));
        assert!((quantile_sorted(&v, 0.95).unwrap() - 8.8).abs() < 1e-12);
        assert!((quantile_sorted(&v, 0.99).unwrap() - 9.76).abs() < 1e-12);
        assert_eq!(quantile_sorted(&[7.0], 0.99), Some(7.0));
        assert_eq!(quantile_sorted(&[], 0.5), None);
        let mut shuffled = [10.0, 3.0, 1.0, 4.0, 2.0];
        for p in [0.0, 0.5, 0.95, 0.99, 1.0] {
            assert_eq!(quantile_unsorted(&mut shuffled, p), quantile_sorted(&v, p));
        }
    }

    #[test]
    fn ordered_keys_sort_as_total_cmp() {
        let mut v = [
            3.5,
            -0.0,
            0.0,
            -2.0,
            f64::INFINITY,
            -1e300,
            1e-300,
            f64::NEG_INFINITY,
            7.0,
        ];
        let mut keys: Vec<u64> = v.iter().map(|x| ordered(*x)).collect();
        v.sort_by(f64::total_cmp);
        keys.sort_unstable();
        let back: Vec<u64> = keys.iter().map(|k| unordered(*k).to_bits()).collect();
        assert_eq!(back, v.map(f64::to_bits));
    }

    proptest::proptest! {
        /// S by merging equals S pair by pair, with many ties and without.
        #[test]
        fn mann_kendall_s_by_merging_equals_pairs(
            values in proptest::collection::vec(0u32..40, 0..300),
            scale in 0.5f64..1e9,
        ) {
            let y: Vec<f64> = values.iter().map(|v| f64::from(*v) * scale).collect();
            let (s, sorted) = s_by_merging(&y);
            proptest::prop_assert_eq!(s, s_by_pairs(&y));
            proptest::prop_assert!(sorted.windows(2).all(|w| w[0] <= w[1]));
        }

        /// Quantiles and medians from integer keys equal those from sorted values, for the
        /// bit patterns of non-negative floats with ties, in any order and count.
        #[test]
        fn keyed_quantiles_equal_sorted_ones(
            values in proptest::collection::vec(0u32..2000, 1..400),
        ) {
            let floats: Vec<f32> = values.iter().map(|v| *v as f32 * 0.37).collect();
            let mut sorted: Vec<f64> = floats.iter().map(|v| f64::from(*v)).collect();
            sorted.sort_by(f64::total_cmp);
            let ps = [0.0, 0.25, 0.5, 0.95, 0.99, 1.0];
            let mut keys: Vec<u32> = floats.iter().map(|v| v.to_bits()).collect();
            let got = quantiles_of_keys(&mut keys, &ps, |k| f64::from(f32::from_bits(k))).unwrap();
            for (p, q) in ps.iter().zip(got) {
                proptest::prop_assert_eq!(Some(q), quantile_sorted(&sorted, *p));
            }
            let mut keys: Vec<u64> = sorted.iter().rev().map(|v| v.to_bits()).collect();
            proptest::prop_assert_eq!(
                median_of_keys(&mut keys, f64::from_bits),
                median_sorted(&sorted)
            );
        }
    }
}
