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

/// Round tick values from `lo` to `hi`: steps of 1, 2 or 5 times a power of ten, at most
/// `max` of them.
fn ticks(lo: f64, hi: f64, max: usize) -> Vec<f64> {
    let span = hi - lo;
    if span.is_nan() || span <= 0.0 || max < 2 {
        return vec![lo];
    }
    let pow = 10f64.powf((span / (max - 1) as f64).log10().floor());
    let range = |step: f64| {
        let first = (lo / step - 1e-9).ceil() as i64;
        let last = (hi / step + 1e-9).floor() as i64;
        first..=last
    };
    let step = [1.0, 2.0, 5.0, 10.0, 20.0]
        .iter()
        .map(|m| m * pow)
        .find(|&st| range(st).count() <= max)
        .unwrap_or(50.0 * pow);
    range(step).map(|k| k as f64 * step).collect()
}

/// Day ticks for a time axis in days since `t0` (Unix seconds): UTC midnights every 1, 2, 7,
/// 14 or 28 days, at most `max`, with "Mon DD" labels.
fn date_ticks(t0: u32, days: f64, max: usize) -> Vec<(f64, String)> {
    let step = [1u32, 2, 7, 14, 28]
        .into_iter()
        .find(|st| days / f64::from(*st) <= max as f64)
        .unwrap_or(56);
    let first_midnight = t0.div_ceil(86_400) * 86_400;
    (0..)
        .map(|k| first_midnight + k * step * 86_400)
        .map(|t| (f64::from(t - t0) / 86_400.0, t))
        .take_while(|(d, _)| *d <= days)
        .map(|(d, t)| {
            let label = jiff::Timestamp::from_second(i64::from(t))
                .map(|ts| ts.strftime("%b %d").to_string())
                .unwrap_or_default();
            (d, label)
        })
        .collect()
}

/// The chart's frame: title, grid and tick labels (y values divided by `y_scale`), axes and
/// their labels.
fn frame(
    out: &mut String,
    title: &str,
    (x, x_ticks): (&Axis, &[(f64, String)]),
    y: &Axis,
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
    for v in ticks(y.lo / y_scale, y.hi / y_scale, 7) {
        let py = y.map(v * y_scale);
        let _ = writeln!(
            out,
            r##"<line x1="{LEFT}" y1="{py:.1}" x2="{:.1}" y2="{py:.1}" stroke="#ddd"/><text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"##,
            W - RIGHT,
            LEFT - 6.0,
            py + 4.0,
            fmt(v)
        );
    }
    for (v, label) in x_ticks {
        let px = x.map(*v);
        let _ = writeln!(
            out,
            r##"<line x1="{px:.1}" y1="{:.1}" x2="{px:.1}" y2="{:.1}" stroke="#333"/><text x="{px:.1}" y="{:.1}" text-anchor="middle">{}</text>"##,
            H - BOTTOM,
            H - BOTTOM + 5.0,
            H - BOTTOM + 18.0,
            esc(label)
        );
    }
    let _ = writeln!(
        out,
        r##"<line x1="{LEFT}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="#333"/><line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{:.1}" stroke="#333"/>
<text x="18" y="{:.1}" text-anchor="middle" transform="rotate(-90 18 {:.1})">{}</text>"##,
        H - BOTTOM,
        W - RIGHT,
        H - BOTTOM,
        H - BOTTOM,
        (TOP + H - BOTTOM) / 2.0,
        (TOP + H - BOTTOM) / 2.0,
        esc(y_label)
    );
}

/// A legend along the bottom: each entry's colour as it is drawn (a line, a dashed line or a
/// filled box) and its name.
fn legend(out: &mut String, entries: &[(&str, &str, &str)]) {
    let mut px = LEFT;
    let py = H - 12.0;
    for (kind, color, name) in entries {
        let swatch = match *kind {
            "band" => format!(
                r##"<rect x="{px:.1}" y="{:.1}" width="18" height="10" fill="{color}" fill-opacity="0.35"/>"##,
                py - 9.0
            ),
            "box" => format!(
                r##"<rect x="{px:.1}" y="{:.1}" width="18" height="10" fill="{color}"/>"##,
                py - 9.0
            ),
            "dash" => format!(
                r##"<line x1="{px:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="{color}" stroke-width="2" stroke-dasharray="4 3"/>"##,
                py - 4.0,
                px + 18.0,
                py - 4.0
            ),
            _ => format!(
                r##"<line x1="{px:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="{color}" stroke-width="2"/>"##,
                py - 4.0,
                px + 18.0,
                py - 4.0
            ),
        };
        let _ = writeln!(
            out,
            r##"{swatch}<text x="{:.1}" y="{py:.1}" fill="#333">{}</text>"##,
            px + 23.0,
            esc(name)
        );
        px += 23.0 + 7.0 * name.chars().count() as f64 + 18.0;
    }
}

/// The memory threshold as a dashed red line at `py`.
fn threshold_line(out: &mut String, py: f64) {
    let _ = writeln!(
        out,
        r##"<line x1="{LEFT}" y1="{py:.1}" x2="{:.1}" y2="{py:.1}" stroke="#c1121f" stroke-dasharray="6 4"/>"##,
        W - RIGHT,
    );
}

/// Each cycle's hourly means as a line, x from the cycle's start and the hour's offset in days.
fn cycle_lines(
    out: &mut String,
    cycles: &[super::analysis::Cycle],
    x: impl Fn(u32, f64) -> f64,
    y: &Axis,
    color: &str,
) {
    for c in cycles {
        let mut path = String::new();
        for h in &c.hourly {
            let _ = write!(path, "{},{} ", Px(x(c.start, h.0)), Px(y.map(h.1)));
        }
        let _ = writeln!(
            out,
            r##"<polyline points="{}" fill="none" stroke="{color}" stroke-width="1.2"/>"##,
            path.trim_end()
        );
    }
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
    let x_ticks = date_ticks(t0, x_hi, 9);
    frame(&mut out, &title, (&x, &x_ticks), &y, "GiB in use", gib);
    let mut drawn: Vec<(&str, &str, &str)> = vec![("line", "#264653", "hourly mean")];
    for &r in &m.reboots {
        let px = x.map(day(r, 0.0));
        let _ = writeln!(
            out,
            r##"<line x1="{px:.1}" y1="{TOP}" x2="{px:.1}" y2="{:.1}" stroke="#6c757d" stroke-dasharray="2 3"/>"##,
            y.map(0.0)
        );
    }
    if !m.reboots.is_empty() {
        drawn.push(("dash", "#6c757d", "reboot"));
    }
    if let Some(total) = total {
        threshold_line(&mut out, y.map(threshold * total));
        drawn.push(("dash", "#c1121f", "threshold"));
    }
    cycle_lines(&mut out, &m.cycles, |c, h| x.map(day(c, h)), &y, "#264653");
    // Drawn over the data, so a trend that follows it closely stays visible.
    let mut trend = String::new();
    if let (Some(c), Some(l)) = (m.cycle(), m.line.filter(|_| m.leak)) {
        // The pooled slope from the latest cycle's start, with Sen's interval as a band.
        let (xs, xe) = (day(c.start, 0.0), x_hi);
        let span = xe - xs;
        let _ = writeln!(
            trend,
            r##"<polygon points="{:.1},{:.1} {:.1},{:.1} {:.1},{:.1}" fill="#f4a261" fill-opacity="0.35"/>"##,
            x.map(xs),
            y.map(l.intercept),
            x.map(xe),
            y.map((l.intercept + l.ci_high * span).min(y_hi)),
            x.map(xe),
            y.map((l.intercept + l.ci_low * span).max(0.0)),
        );
        let _ = writeln!(
            trend,
            r##"<line x1="{:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="#e76f51" stroke-width="2"/>"##,
            x.map(xs),
            y.map(l.intercept),
            x.map(xe),
            y.map((l.intercept + l.slope * span).min(y_hi)),
        );
        drawn.push(("line", "#e76f51", "leak trend"));
        drawn.push(("band", "#f4a261", "95 % interval"));
    }
    out.push_str(&trend);
    let threshold_name = format!("threshold {:.0} %", threshold * 100.0);
    for e in drawn.iter_mut() {
        if e.2 == "threshold" {
            e.2 = &threshold_name;
        }
    }
    legend(&mut out, &drawn);
    out.push_str("</svg>\n");
    Some(out)
}

/// The unit's projected peak (with headroom) against the throughput of the current model and
/// the best feasible and closest infeasible candidates.
pub fn capacity(e: &Evaluation, u: &Unit) -> Option<String> {
    let need = u.needs.throughput_bps? / 1e9;
    let with_headroom = need / (1.0 - e.headroom);
    let mut bars: Vec<(String, f64, &str)> = Vec::new();
    // The current model is shown once, as the current one.
    let current = u
        .current
        .as_ref()
        .map(|(c, _)| (c.vendor.as_str(), c.model.as_str()));
    let not_current = |i: &&usize| {
        let c = &e.candidates[**i];
        current != Some((c.vendor.as_str(), c.model.as_str()))
    };
    if let Some((c, v, t)) = u
        .current
        .as_ref()
        .and_then(|(c, v)| c.throughput_gbps.map(|t| (c, v, t)))
    {
        let color = match v.feasible {
            Some(true) => "#2a9d8f",
            Some(false) => "#c1121f",
            None => "#adb5bd",
        };
        bars.push((format!("{} (current)", c.model), t, color));
    }
    for &i in u.ranked.iter().filter(not_current).take(5) {
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
    for &i in short.iter().filter(not_current).take(3) {
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
    for v in ticks(0.0, y_hi, 7) {
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
"##,
        W - RIGHT,
        H - BOTTOM,
        (TOP + H - BOTTOM) / 2.0,
        (TOP + H - BOTTOM) / 2.0,
    );
    let mut drawn = Vec::new();
    for (color, name) in [
        ("#2a9d8f", "enough (candidates best first)"),
        ("#e9c46a", "short"),
        ("#c1121f", "current, short"),
        ("#adb5bd", "current, other figures unknown"),
    ] {
        if bars.iter().any(|b| b.2 == color) {
            drawn.push(("box", color, name));
        }
    }
    drawn.push(("dash", "#c1121f", "need with headroom"));
    legend(&mut out, &drawn);
    out.push_str("</svg>\n");
    Some(out)
}

/// Memory in use before and after a device's upgrade (hourly means, x in days from the
/// upgrade), each side's pooled slope over its latest judged cycle, the upgrade's time and
/// the threshold.
pub fn before_after(v: &super::verify::DeviceVerdict, threshold: f64) -> Option<String> {
    let gib = 1024.0 * 1024.0 * 1024.0;
    let at = f64::from(v.device.ended);
    let rel = |t: u32, x: f64| (f64::from(t) - at) / 86_400.0 + x;
    // (memory, slope, its line's colour, its slope's colour, name)
    let sides = [
        (v.before.as_ref(), v.pre, "#264653", "#e76f51", "before"),
        (v.after.as_ref(), v.post, "#2a9d8f", "#9d4edd", "after"),
    ];
    let points: Vec<(f64, f64)> = sides
        .iter()
        .filter_map(|s| s.0)
        .flat_map(|m| m.cycles.iter())
        .flat_map(|c| c.hourly.iter().map(move |h| (rel(c.start, h.0), h.1)))
        .collect();
    if points.is_empty() {
        return None;
    }
    let x_lo = points.iter().map(|p| p.0).fold(0.0, f64::min);
    let x_hi = points.iter().map(|p| p.0).fold(1.0, f64::max);
    let total = sides.iter().filter_map(|s| s.0).find_map(|m| m.total);
    let y_hi = total
        .unwrap_or(0.0)
        .max(points.iter().map(|p| p.1).fold(0.0, f64::max))
        * 1.05;
    let x = Axis::new(x_lo, x_hi, LEFT, W - RIGHT);
    let y = Axis::new(0.0, y_hi, H - BOTTOM, TOP);
    let x_ticks: Vec<(f64, String)> = ticks(x_lo, x_hi, 9)
        .into_iter()
        .map(|d| (d, format!("{d:+} d")))
        .collect();
    let title = format!(
        "{}: {} → {}: {}",
        v.device.device,
        v.device.from,
        v.device.to,
        v.verdict.as_str()
    );
    let mut out = String::new();
    frame(&mut out, &title, (&x, &x_ticks), &y, "GiB in use", gib);
    let mut drawn: Vec<(&str, &str, String)> = Vec::new();
    let px = x.map(0.0);
    let _ = writeln!(
        out,
        r##"<line x1="{px:.1}" y1="{TOP}" x2="{px:.1}" y2="{:.1}" stroke="#6c757d" stroke-dasharray="2 3"/>"##,
        y.map(0.0)
    );
    drawn.push(("dash", "#6c757d", "upgrade".into()));
    if let Some(total) = total {
        threshold_line(&mut out, y.map(threshold * total));
        drawn.push((
            "dash",
            "#c1121f",
            format!("threshold {:.0} %", threshold * 100.0),
        ));
    }
    for (memory, slope, color, slope_color, name) in sides {
        let Some(m) = memory else { continue };
        cycle_lines(&mut out, &m.cycles, |c, h| x.map(rel(c, h)), &y, color);
        let label = match slope {
            Some(s) => format!("{name}: {}/d", super::verify::rate(s.slope)),
            None => format!("{name}: no judged day"),
        };
        // The pooled slope drawn through the latest judged cycle's own hourly means.
        if let (Some(s), Some(c)) = (slope, m.cycles.iter().rev().find(|c| c.judged)) {
            let (xs, xe) = (c.hourly[0].0, c.hourly[c.hourly.len() - 1].0);
            let mid = c.hourly.iter().map(|h| h.1).sum::<f64>() / c.hourly.len() as f64;
            let centre = (xs + xe) / 2.0;
            let at_x = |d: f64| (mid + s.slope * (d - centre)).clamp(0.0, y_hi);
            let _ = writeln!(
                out,
                r##"<line x1="{:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="{slope_color}" stroke-width="2" stroke-dasharray="8 4"/>"##,
                x.map(rel(c.start, xs)),
                y.map(at_x(xs)),
                x.map(rel(c.start, xe)),
                y.map(at_x(xe)),
            );
        }
        drawn.push(("line", color, label));
        if slope.is_some() {
            drawn.push(("dash", slope_color, "slope".into()));
        }
    }
    let entries: Vec<(&str, &str, &str)> =
        drawn.iter().map(|(k, c, n)| (*k, *c, n.as_str())).collect();
    legend(&mut out, &entries);
    out.push_str("</svg>\n");
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round_steps_of_one_two_or_five() {
        assert_eq!(ticks(0.0, 12.6, 7), [0.0, 2.0, 4.0, 6.0, 8.0, 10.0, 12.0]);
        assert_eq!(ticks(0.0, 16.8, 7), [0.0, 5.0, 10.0, 15.0]);
        assert_eq!(ticks(0.0, 209.0, 7), [0.0, 50.0, 100.0, 150.0, 200.0]);
        assert_eq!(ticks(0.0, 0.9, 7), [0.0, 0.2, 0.4, 0.6000000000000001, 0.8]);
        assert_eq!(ticks(3.0, 3.0, 7), [3.0]);
    }

    #[test]
    fn the_time_axis_shows_dates_at_midnight_every_day_or_week() {
        // 2026-10-01 06:00 UTC; 14.5 days: every 2 days from Oct 02 (at most 9 ticks).
        let t0 = 1_790_812_800 + 6 * 3600;
        let t = date_ticks(t0, 14.5, 9);
        assert_eq!(t[0], (0.75, "Oct 02".to_string()));
        assert_eq!(t[1].1, "Oct 04");
        assert_eq!(t.len(), 7);
        // 60 days: weekly.
        let t = date_ticks(t0, 60.0, 9);
        assert_eq!((t[1].0 - t[0].0, t.len()), (7.0, 9));
    }

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
