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
    let z = if s > 0.0 {
        (s - 1.0) / var_s.sqrt()
    } else if s < 0.0 {
        (s + 1.0) / var_s.sqrt()
    } else {
        0.0
    };
    MannKendall {
        n,
        s,
        var_s,
        z,
        p: two_sided_p(z),
        tau: if n > 1 {
            s / (0.5 * nf * (nf - 1.0))
        } else {
            0.0
        },
    }
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
    assert_eq!(x.len(), y.len());
    let n = x.len();
    let mut slopes = Vec::with_capacity(n * n.saturating_sub(1) / 2);
    if x.windows(2).all(|w| w[0] < w[1]) {
        // Increasing x (time order), so no pair is skipped: a loop the compiler vectorises.
        for i in 0..n {
            let (xi, yi) = (x[i], y[i]);
            slopes.extend(
                x[i + 1..]
                    .iter()
                    .zip(&y[i + 1..])
                    .map(|(xj, yj)| ordered((yj - yi) / (xj - xi))),
            );
        }
    } else {
        for i in 0..n {
            for j in i + 1..n {
                let dx = x[j] - x[i];
                if dx != 0.0 {
                    slopes.push(ordered((y[j] - y[i]) / dx));
                }
            }
        }
    }
    if slopes.is_empty() {
        return None;
    }
    // Order statistics by selection rather than sorting the N ≈ n²/2 slopes: the median
    // first, then each bound inside the half that holds it.
    let n_slopes = slopes.len();
    let mid = (n_slopes - 1) / 2;
    // Selection on integer keys (`ordered`) is about twice as fast as on floats.
    let slope_pair = |keys: &mut [u64], k: usize| {
        let (a, b) = key_pair(keys, k);
        (unordered(a), unordered(b))
    };
    let (mid_lo, mid_hi) = slope_pair(&mut slopes, mid);
    let slope = if n_slopes % 2 == 1 {
        mid_lo
    } else {
        (mid_lo + mid_hi) / 2.0
    };
    let mut xs = x.to_vec();
    let mut ys = y.to_vec();
    let intercept = median_unsorted(&mut ys) - median_unsorted(&mut xs) * slope;
    let big_n = n_slopes as f64;
    let c = z * var_s.sqrt();
    let mut rank = |r: f64| -> f64 {
        // 1-based rank r, clamped, linearly interpolated between neighbours.
        let r = r.clamp(1.0, big_n) - 1.0;
        let lo = r.floor() as usize;
        let (lo_v, hi_v) = if lo < mid {
            let (a, b) = slope_pair(&mut slopes[..mid], lo);
            (a, if lo + 1 == mid { mid_lo } else { b })
        } else if lo == mid {
            (mid_lo, mid_hi)
        } else {
            slope_pair(&mut slopes[mid + 1..], lo - mid - 1)
        };
        lo_v + (hi_v - lo_v) * (r - lo as f64)
    };
    let ci_low = rank((big_n - c) / 2.0);
    let ci_high = rank((big_n + c) / 2.0 + 1.0);
    Some(SenLine {
        slope,
        intercept,
        ci_low,
        ci_high,
    })
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
