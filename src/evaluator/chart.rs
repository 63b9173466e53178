//! SVG charts a procurement meeting can read: plain lines, labelled axes, no scripts.

use std::fmt::Write as _;

use super::analysis::DeviceResult;
use super::candidates::fmt;
use super::{Evaluation, Unit};

const W: f64 = 820.0;
const H: f64 = 400.0;
const LEFT: f64 = 80.0;
const RIGHT: f64 = 20.0;
const TOP: f64 = 40.0;
const BOTTOM: f64 = 50.0;

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A coordinate with one decimal, as `{:.1}` writes it (bar ties, which `{:.1}` rounds on the
/// exact binary value), by integer formatting: float formatting was most of a chart's cost.
struct Px(f64);

impl std::fmt::Display for Px {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let tenths = (self.0 * 10.0).round_ties_even();
        if tenths.is_nan() || tenths.abs() >= 1e15 {
            return write!(f, "{:.1}", self.0);
        }
        let t = tenths.abs() as u64;
        let sign = if self.0.is_sign_negative() { "-" } else { "" };
        write!(f, "{sign}{}.{}", t / 10, t % 10)
    }
}

/// Linear axis mapping.
struct Axis {
    lo: f64,
    hi: f64,
    from: f64,
    to: f64,
}

impl Axis {
    fn new(lo: f64, hi: f64, from: f64, to: f64) -> Axis {
        let hi = if hi > lo { hi } else { lo + 1.0 };
        Axis { lo, hi, from, to }
    }
    fn map(&self, v: f64) -> f64 {
        self.from + (v - self.lo) / (self.hi - self.lo) * (self.to - self.from)
    }
}

fn frame(
    out: &mut String,
    title: &str,
    x: &Axis,
    y: &Axis,
    x_label: &str,
    y_label: &str,
    y_scale: f64,
) {
    let _ = write!(
        out,
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" font-family="sans-serif" font-size="12">
<rect width="100%" height="100%" fill="white"/>
<text x="{}" y="22" font-size="15" font-weight="bold">{}</text>
"##,
        LEFT,
        esc(title)
    );
    for k in 0..=5 {
        let v = y.lo + (y.hi - y.lo) * f64::from(k) / 5.0;
        let py = y.map(v);
        let _ = writeln!(
            out,
            r##"<line x1="{LEFT}" y1="{py:.1}" x2="{:.1}" y2="{py:.1}" stroke="#ddd"/><text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"##,
            W - RIGHT,
            LEFT - 6.0,
            py + 4.0,
            fmt(v / y_scale)
        );
    }
    for k in 0..=5 {
        let v = x.lo + (x.hi - x.lo) * f64::from(k) / 5.0;
        let px = x.map(v);
        let _ = writeln!(
            out,
            r##"<text x="{px:.1}" y="{:.1}" text-anchor="middle">{}</text>"##,
            H - BOTTOM + 18.0,
            fmt(v)
        );
    }
    let _ = writeln!(
        out,
        r##"<line x1="{LEFT}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="#333"/><line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{:.1}" stroke="#333"/>
<text x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>
<text x="18" y="{:.1}" text-anchor="middle" transform="rotate(-90 18 {:.1})">{}</text>"##,
        H - BOTTOM,
        W - RIGHT,
        H - BOTTOM,
        H - BOTTOM,
        (LEFT + W - RIGHT) / 2.0,
        H - 10.0,
        esc(x_label),
        (TOP + H - BOTTOM) / 2.0,
        (TOP + H - BOTTOM) / 2.0,
        esc(y_label)
    );
}

/// Memory in use (hourly means) with the judged cycle's trend, Sen's interval as a band, and
/// the threshold; x in days since the first sample.
pub fn memory(d: &DeviceResult, threshold: f64) -> Option<String> {
    let m = d.memory.as_ref()?;
    let (t0, _) = d.span?;
    let gib = 1024.0 * 1024.0 * 1024.0;
    let day = |t: u32, x: f64| f64::from(t - t0) / 86_400.0 + x;
    let points: Vec<(f64, f64)> = m
        .cycles
        .iter()
        .flat_map(|c| c.hourly.iter().map(move |h| (day(c.start, h.0), h.1)))
        .collect();
    let x_hi = points.iter().map(|p| p.0).fold(1.0, f64::max);
    let total = m.total;
    let y_hi = total
        .unwrap_or(0.0)
        .max(points.iter().map(|p| p.1).fold(0.0, f64::max))
        * 1.05;
    let x = Axis::new(0.0, x_hi, LEFT, W - RIGHT);
    let y = Axis::new(0.0, y_hi, H - BOTTOM, TOP);
    let mut out = String::new();
    let title = format!(
        "{}: memory in use{}",
        d.name,
        match m.reboot_interval_days {
            Some(n) => format!(" (leaking; reboot every {n} days)"),
            None if m.leak => " (leaking)".into(),
            None => String::new(),
        }
    );
    frame(
        &mut out,
        &title,
        &x,
        &y,
        "days since first sample",
        "GiB in use",
        gib,
    );
    if let (Some(c), Some(total)) = (m.cycle(), total) {
        if let Some(l) = m.line.filter(|_| m.leak) {
            // Band from the cycle start at the interval's slopes, to the end of the chart.
            let (xs, xe) = (day(c.start, 0.0), x_hi);
            let span = xe - xs;
            let _ = writeln!(
                out,
                r##"<polygon points="{:.1},{:.1} {:.1},{:.1} {:.1},{:.1}" fill="#f4a261" fill-opacity="0.25"/>"##,
                x.map(xs),
                y.map(l.intercept),
                x.map(xe),
                y.map((l.intercept + l.ci_high * span).min(y_hi)),
                x.map(xe),
                y.map((l.intercept + l.ci_low * span).max(0.0)),
            );
            let _ = writeln!(
                out,
                r##"<line x1="{:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="#e76f51" stroke-width="2"/>"##,
                x.map(xs),
                y.map(l.intercept),
                x.map(xe),
                y.map((l.intercept + l.slope * span).min(y_hi)),
            );
        }
        let ty = y.map(threshold * total);
        let _ = writeln!(
            out,
            r##"<line x1="{LEFT}" y1="{ty:.1}" x2="{:.1}" y2="{ty:.1}" stroke="#c1121f" stroke-dasharray="6 4"/><text x="{:.1}" y="{:.1}" text-anchor="end" fill="#c1121f">threshold {:.0} %</text>"##,
            W - RIGHT,
            W - RIGHT - 4.0,
            ty - 5.0,
            threshold * 100.0
        );
    }
    for c in &m.cycles {
        let mut path = String::new();
        for h in &c.hourly {
            let _ = write!(path, "{},{} ", Px(x.map(day(c.start, h.0))), Px(y.map(h.1)));
        }
        let _ = writeln!(
            out,
            r##"<polyline points="{}" fill="none" stroke="#264653" stroke-width="1.2"/>"##,
            path.trim_end()
        );
    }
    let _ = writeln!(
        out,
        r##"<text x="{:.1}" y="{:.1}" text-anchor="end" fill="#555">hourly means; orange: the leak (pooled Theil–Sen slope of all cycles, Sen's 95 % interval) from the latest cycle's start</text>
</svg>"##,
        W - RIGHT,
        TOP - 6.0
    );
    Some(out)
}

/// The unit's projected peak (with headroom) against the throughput of the current model and
/// the best feasible and closest infeasible candidates.
pub fn capacity(e: &Evaluation, u: &Unit) -> Option<String> {
    let need = u.needs.throughput_bps? / 1e9;
    let with_headroom = need / (1.0 - e.headroom);
    let mut bars: Vec<(String, f64, &str)> = Vec::new();
    if let Some((c, v, t)) = u
        .current
        .as_ref()
        .and_then(|(c, v)| c.throughput_gbps.map(|t| (c, v, t)))
    {
        let color = if v.feasible == Some(true) {
            "#2a9d8f"
        } else {
            "#c1121f"
        };
        bars.push((format!("{} (current)", c.model), t, color));
    }
    for &i in u.ranked.iter().take(5) {
        let c = &e.candidates[i];
        bars.push((c.model.clone(), c.throughput_gbps.unwrap_or(0.0), "#2a9d8f"));
    }
    let mut short: Vec<usize> = (0..e.candidates.len())
        .filter(|&i| {
            u.verdicts[i].feasible == Some(false) && e.candidates[i].throughput_gbps.is_some()
        })
        .collect();
    short.sort_by(|&a, &b| {
        e.candidates[b]
            .throughput_gbps
            .partial_cmp(&e.candidates[a].throughput_gbps)
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    for &i in short.iter().take(3) {
        let c = &e.candidates[i];
        bars.push((c.model.clone(), c.throughput_gbps.unwrap_or(0.0), "#e9c46a"));
    }
    if bars.is_empty() {
        return None;
    }
    let y_hi = bars.iter().map(|b| b.1).fold(with_headroom, f64::max) * 1.1;
    let x = Axis::new(0.0, bars.len() as f64, LEFT, W - RIGHT);
    let y = Axis::new(0.0, y_hi, H - BOTTOM, TOP);
    let mut out = String::new();
    let _ = write!(
        out,
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" font-family="sans-serif" font-size="12">
<rect width="100%" height="100%" fill="white"/>
<text x="{LEFT}" y="22" font-size="15" font-weight="bold">{}: projected peak {} Gbit/s, {} with {:.0} % headroom</text>
"##,
        esc(&u.name),
        fmt(need),
        fmt(with_headroom),
        e.headroom * 100.0
    );
    for k in 0..=5 {
        let v = y_hi * f64::from(k) / 5.0;
        let _ = writeln!(
            out,
            r##"<line x1="{LEFT}" y1="{0:.1}" x2="{1:.1}" y2="{0:.1}" stroke="#ddd"/><text x="{2:.1}" y="{3:.1}" text-anchor="end">{4}</text>"##,
            y.map(v),
            W - RIGHT,
            LEFT - 6.0,
            y.map(v) + 4.0,
            fmt(v)
        );
    }
    for (k, (name, t, color)) in bars.iter().enumerate() {
        let x0 = x.map(k as f64 + 0.15);
        let x1 = x.map(k as f64 + 0.85);
        let _ = writeln!(
            out,
            r##"<rect x="{x0:.1}" y="{:.1}" width="{:.1}" height="{:.1}" fill="{color}"/><text x="{:.1}" y="{:.1}" text-anchor="middle" font-size="10">{}</text>"##,
            y.map(*t),
            x1 - x0,
            y.map(0.0) - y.map(*t),
            (x0 + x1) / 2.0,
            H - BOTTOM + 14.0,
            esc(name)
        );
    }
    let ny = y.map(with_headroom);
    let _ = writeln!(
        out,
        r##"<line x1="{LEFT}" y1="{ny:.1}" x2="{:.1}" y2="{ny:.1}" stroke="#c1121f" stroke-dasharray="6 4"/>
<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{:.1}" stroke="#333"/>
<text x="18" y="{:.1}" text-anchor="middle" transform="rotate(-90 18 {:.1})">L4 throughput, Gbit/s</text>
<text x="{:.1}" y="{:.1}" text-anchor="end" fill="#555">green: feasible (best first), yellow: short, red line: need with headroom</text>
</svg>"##,
        W - RIGHT,
        H - BOTTOM,
        (TOP + H - BOTTOM) / 2.0,
        (TOP + H - BOTTOM) / 2.0,
        W - RIGHT,
        H - 8.0
    );
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coordinates_print_as_one_decimal_formatting_does() {
        for v in [
            0.0,
            -0.0,
            0.04,
            -0.04,
            0.25,
            1.35,
            99.95,
            123.456,
            819.99,
            -3.7,
            1e16,
            f64::NAN,
        ] {
            assert_eq!(Px(v).to_string(), format!("{v:.1}"), "{v}");
        }
    }
}
