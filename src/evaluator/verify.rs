//! Did the upgrade fix the leak? Each upgraded device's memory slope after its verified hop,
//! against its own slope before the upgrade and a control group's (devices of its model still
//! on the old release), with the evaluator's own statistics.
//!
//! Step by step (`Settings` are the evaluator's, `min_days` is `--min-days`):
//!
//! 1. A device's samples are split at its upgrade: **before** is everything up to the first
//!    hop's start, **after** everything from the last hop's end (the journal's times). Each part
//!    is cut into cycles at reboots and aggregated to hourly means exactly as `evaluate` does,
//!    and its judged cycles give a pooled Sen slope with its 95 % interval (Hamed–Rao's variance
//!    for autocorrelated hourly means), computed whatever the trend.
//! 2. The **control** slope pools the judged cycles of every control device of the model and
//!    old release over all their telemetry.
//! 3. A reference (before, control) counts only when it **leaks** by the evaluator's rule
//!    (significant rise, interval above zero, material at the device's level), so there is a
//!    leak to fix.
//! 4. With at least `min_days` of data after the upgrade, and a judged cycle (a day) there:
//!    - **not fixed** when the new release still leaks by that rule, or rises significantly
//!      (interval above zero) with the old rate inside its interval;
//!    - **fixed** when the interval's top is below the material rate and below the bottom of a
//!      reference's interval;
//!    - else **inconclusive**.
//! 5. **Days still needed** for an inconclusive device, from the series' own noise: how long
//!    until the interval's half-width (now) narrows to the margin a release that stopped the
//!    leak needs to show `fixed` (the lower of the material rate and a reference's bottom), at
//!    the rate a Sen interval narrows with days — as days^-3/2 within one cycle (a trend's slope
//!    error over a span), as days^-1/2 when more cycles of the same length add up. The slope
//!    seen so far does not enter: over a day or two it is mostly the noise's wander. At least
//!    what `min_days` still asks; more than a year is "not foreseeable".
//! 6. Per model and new release: not fixed when a device is; fixed when every device is;
//!    else inconclusive with the largest days needed.

use std::collections::BTreeMap;

use super::analysis::{self, Cycle, Memory, Settings};
use super::telemetry::{DeviceData, Telemetry};
use crate::HashMap;

/// A device the journal shows upgraded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Upgraded {
    /// Device name.
    pub device: String,
    /// Model id.
    pub model: String,
    /// The release before the rollout.
    pub from: String,
    /// The release its last verified hop reached.
    pub to: String,
    /// When its first hop started (Unix seconds): the end of "before".
    pub began: u32,
    /// When its last hop was verified (Unix seconds): the start of "after".
    pub ended: u32,
}

/// A device of the control group: still on the old release.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Control {
    /// Device name.
    pub device: String,
    /// Model id.
    pub model: String,
    /// The release it runs.
    pub release: String,
}

/// A slope with its interval, bytes per day.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Slope {
    /// Sen's slope.
    pub slope: f64,
    /// 95 % interval, low end.
    pub ci_low: f64,
    /// 95 % interval, high end.
    pub ci_high: f64,
    /// Judged cycles it pools.
    pub cycles: usize,
    /// A significant rise: Mann–Kendall p < alpha with the interval above zero.
    pub rising: bool,
}

impl Slope {
    /// The pooled slope of judged `cycles`, if there is one.
    fn of(cycles: &[&Cycle], s: &Settings) -> Option<Slope> {
        let (mk, line) = analysis::pooled_rate(cycles, s);
        let (mk, line) = (mk?, line?);
        let judged = cycles.iter().filter(|c| c.judged).count();
        Some(Slope {
            slope: line.slope,
            ci_low: line.ci_low,
            ci_high: line.ci_high,
            cycles: judged,
            rising: mk.p < s.alpha && line.ci_low > 0.0,
        })
    }

    /// Whether it leaks by the evaluator's rule at the material rate `material`.
    pub fn leaks(&self, material: f64) -> bool {
        self.rising && self.slope >= material
    }
}

/// The verdict on a device or a (model, release).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Verdict {
    /// The new release does not leak, and leaks significantly less than the old one.
    Fixed,
    /// The new release still leaks.
    NotFixed,
    /// Not yet decidable: days of data still needed after the upgrade (`None`: not foreseeable,
    /// or nothing to compare with).
    Inconclusive(Option<f64>),
    /// Nothing to verify: the old release did not leak here (nor in the control group), and
    /// the new one does not either.
    NoLeak,
}

impl Verdict {
    /// The word in tables and files.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Fixed => "fixed",
            Verdict::NotFixed => "not-fixed",
            Verdict::Inconclusive(_) => "inconclusive",
            Verdict::NoLeak => "no-leak",
        }
    }

    /// Days of data still needed, for an inconclusive verdict that can tell.
    pub fn days_needed(self) -> Option<f64> {
        match self {
            Verdict::Inconclusive(d) => d,
            _ => None,
        }
    }
}

/// One upgraded device's verdict with its evidence.
#[derive(Clone, Debug)]
pub struct DeviceVerdict {
    /// What the journal says of it.
    pub device: Upgraded,
    /// Memory before the upgrade (the evaluator's view of those samples).
    pub before: Option<Memory>,
    /// Memory after it.
    pub after: Option<Memory>,
    /// The slope before.
    pub pre: Option<Slope>,
    /// The slope after.
    pub post: Option<Slope>,
    /// The control group's slope (model, old release), with its device count.
    pub control: Option<(Slope, usize)>,
    /// Days of samples since the upgrade was verified (to the last).
    pub days_after: f64,
    /// The material rate, bytes/day (at the latest level).
    pub material: f64,
    /// The verdict.
    pub verdict: Verdict,
    /// Why, in a sentence.
    pub reason: String,
}

/// The verdict on a model and the release it was upgraded to.
#[derive(Clone, Debug, PartialEq)]
pub struct GroupVerdict {
    /// Model id.
    pub model: String,
    /// The new release.
    pub release: String,
    /// Devices judged.
    pub devices: usize,
    /// Of which fixed, not fixed.
    pub fixed: usize,
    /// See `fixed`.
    pub not_fixed: usize,
    /// The verdict.
    pub verdict: Verdict,
}

/// Everything `verify-fix` found.
#[derive(Clone, Debug, Default)]
pub struct Verification {
    /// One per upgraded device, in the order given.
    pub devices: Vec<DeviceVerdict>,
    /// One per (model, new release), in order of first device.
    pub groups: Vec<GroupVerdict>,
    /// Control devices with telemetry, per (model, old release).
    pub controls: Vec<((String, String), Vec<String>)>,
    /// Upgraded or control devices without memory telemetry.
    pub without_telemetry: Vec<String>,
    /// `--min-days`.
    pub min_days: f64,
}

/// Memory in use in time order: the reader's full-precision points (Prometheus' hourly
/// means), else the samples, one per second (as `analyse` merges them).
fn points(d: &mut DeviceData) -> Vec<(u32, f64)> {
    if !d.mem_exact.is_empty() {
        let mut p = std::mem::take(&mut d.mem_exact);
        p.sort_by_key(|x| x.0);
        return p;
    }
    let mut v = std::mem::take(&mut d.samples).into_vec();
    v.sort_by_key(|x| x.t);
    analysis::merge_duplicates(v)
        .into_iter()
        .filter(|x| !x.mem.is_nan())
        .map(|x| (x.t, f64::from(x.mem)))
        .collect()
}

/// Judges every upgraded device against its own past and the control group.
pub fn verify(
    telemetry: Telemetry,
    upgraded: &[Upgraded],
    control: &[Control],
    s: &Settings,
    min_days: f64,
) -> Verification {
    let mut data: HashMap<String, DeviceData> = telemetry
        .devices
        .into_iter()
        .map(|d| (d.name.clone(), d))
        .collect();
    let mut out = Verification {
        min_days,
        ..Verification::default()
    };
    // The control group's cycles, per (model, release).
    let mut pools: BTreeMap<(String, String), (Vec<Cycle>, Vec<String>)> = BTreeMap::new();
    for c in control {
        let Some(mut d) = data.remove(&c.device) else {
            out.without_telemetry.push(c.device.clone());
            continue;
        };
        let v = points(&mut d);
        let Some(m) = analysis::memory_rate(&[], v, d.mem_total, (d.boots, d.reboot_windows), s)
        else {
            out.without_telemetry.push(c.device.clone());
            continue;
        };
        let pool = pools
            .entry((c.model.clone(), c.release.clone()))
            .or_default();
        pool.0.extend(m.cycles);
        pool.1.push(c.device.clone());
    }
    let controls: BTreeMap<(String, String), (Slope, usize)> = pools
        .iter()
        .filter_map(|(k, (cycles, names))| {
            let refs: Vec<&Cycle> = cycles.iter().collect();
            Some((k.clone(), (Slope::of(&refs, s)?, names.len())))
        })
        .collect();
    out.controls = pools
        .into_iter()
        .map(|(k, (_, names))| (k, names))
        .collect();
    // An upgraded device without memory telemetry is judged too: inconclusive, named, so a
    // verdict never rests on part of the devices quietly.
    let missing = |u: &Upgraded, out: &mut Verification| {
        out.without_telemetry.push(u.device.clone());
        out.devices.push(DeviceVerdict {
            device: u.clone(),
            before: None,
            after: None,
            pre: None,
            post: None,
            control: None,
            days_after: 0.0,
            material: analysis::material(None, None, s),
            verdict: Verdict::Inconclusive(None),
            reason: "no memory telemetry for this device (is it named so in the telemetry?)".into(),
        });
    };
    for u in upgraded {
        let Some(mut d) = data.remove(&u.device) else {
            missing(u, &mut out);
            continue;
        };
        let hourly = !d.mem_exact.is_empty();
        let mut v = points(&mut d);
        if hourly {
            // A reader's hourly means (Prometheus) of the hours the hop ran in mix the old
            // release with the new: neither before nor after.
            let (first, last) = (u.began / 3600, u.ended / 3600);
            v.retain(|x| !(first..=last).contains(&(x.0 / 3600)));
        }
        let cut = v.partition_point(|x| x.0 < u.began);
        let from = v.partition_point(|x| x.0 <= u.ended);
        let part = |range: &[(u32, f64)]| {
            analysis::memory_rate(
                &[],
                range.to_vec(),
                d.mem_total,
                (d.boots.clone(), d.reboot_windows.clone()),
                s,
            )
        };
        let (before, after) = (part(&v[..cut]), part(&v[from..]));
        if before.is_none() && after.is_none() {
            missing(u, &mut out);
            continue;
        }
        let slope = |m: &Option<Memory>| {
            let m = m.as_ref()?;
            Slope::of(&m.cycles.iter().collect::<Vec<_>>(), s)
        };
        let (pre, post) = (slope(&before), slope(&after));
        // Days the data covers since the upgrade was verified.
        let days_after = v[from..]
            .last()
            .map_or(0.0, |b| f64::from(b.0 - u.ended) / 86_400.0);
        let level = |m: &Option<Memory>| m.as_ref().and_then(|m| m.level);
        let material = analysis::material(d.mem_total, level(&after).or(level(&before)), s);
        let control = controls.get(&(u.model.clone(), u.from.clone())).copied();
        let (verdict, reason) = judge(
            Evidence {
                post: post.as_ref(),
                days_after,
                pre: pre.as_ref(),
                control: control.as_ref().map(|c| &c.0),
                material,
            },
            min_days,
        );
        out.devices.push(DeviceVerdict {
            device: u.clone(),
            before,
            after,
            pre,
            post,
            control,
            days_after,
            material,
            verdict,
            reason,
        });
    }
    out.groups = groups(&out.devices);
    out
}

/// What a device's verdict rests on.
#[derive(Clone, Copy, Debug)]
pub struct Evidence<'a> {
    /// The slope after the upgrade, if a cycle there is judged.
    pub post: Option<&'a Slope>,
    /// Days of samples after the upgrade.
    pub days_after: f64,
    /// Its own slope before.
    pub pre: Option<&'a Slope>,
    /// The control group's.
    pub control: Option<&'a Slope>,
    /// The material rate at the device's level.
    pub material: f64,
}

/// Rates beyond a year of waiting are "not foreseeable".
const FORESEEABLE_DAYS: f64 = 365.0;

/// The verdict and its reason (see the module documentation).
pub fn judge(e: Evidence<'_>, min_days: f64) -> (Verdict, String) {
    let m = e.material;
    let refs: Vec<(&str, &Slope)> = [
        ("its own rate before the upgrade", e.pre),
        ("the control group's rate", e.control),
    ]
    .into_iter()
    .filter_map(|(what, s)| Some((what, s?)))
    .filter(|(_, s)| s.leaks(m))
    .collect();
    let short = (min_days - e.days_after).max(0.0);
    let Some(post) = e.post else {
        // Enough days, yet not one whole day between reboots or gaps: more of the same will
        // not tell.
        if e.days_after >= min_days.max(1.0) {
            return (
                Verdict::Inconclusive(None),
                format!(
                    "{:.1} days of memory data after the upgrade, but no whole day of it without a reboot or a gap",
                    e.days_after
                ),
            );
        }
        let need = (min_days.max(1.0) - e.days_after).max(0.0);
        return (
            Verdict::Inconclusive(Some(need)),
            format!(
                "{:.1} days of memory data after the upgrade: no whole judged day yet",
                e.days_after
            ),
        );
    };
    let shown = format!(
        "{}/day after (95 %: {} to {})",
        rate(post.slope),
        rate(post.ci_low),
        rate(post.ci_high)
    );
    if short > 0.0 {
        return (
            foreseeable(short.max(needed(post, &refs, m, e.days_after))),
            format!(
                "{shown} over {:.1} days: --min-days {min_days} asks for more",
                e.days_after
            ),
        );
    }
    // A new release that leaks is not fixed, whatever the old one did.
    if post.leaks(m) {
        return (
            Verdict::NotFixed,
            format!("{shown}: still leaks (material from {}/day)", rate(m)),
        );
    }
    if refs.is_empty() {
        return if e.pre.is_none() && e.control.is_none() {
            (
                Verdict::Inconclusive(None),
                "nothing to compare with: no judged telemetry before the upgrade, and no control \
                 devices of its model on the old release"
                    .to_string(),
            )
        } else {
            (
                Verdict::NoLeak,
                format!(
                    "{shown}, and no leak to fix: neither its own memory before the upgrade nor the control group leaked (material from {}/day)",
                    rate(m)
                ),
            )
        };
    }
    if let Some((what, r)) = refs
        .iter()
        .find(|(_, r)| post.rising && post.ci_low <= r.slope && r.slope <= post.ci_high)
    {
        return (
            Verdict::NotFixed,
            format!(
                "{shown}: rises, and {what} ({}/day) is inside its interval",
                rate(r.slope)
            ),
        );
    }
    if post.ci_high < m
        && let Some((what, r)) = refs.iter().find(|(_, r)| post.ci_high < r.ci_low)
    {
        return (
            Verdict::Fixed,
            format!(
                "{shown}: below the material {}/day and below {what} ({}/day, 95 %: {} to {})",
                rate(m),
                rate(r.slope),
                rate(r.ci_low),
                rate(r.ci_high)
            ),
        );
    }
    (
        foreseeable(needed(post, &refs, m, e.days_after)),
        format!("{shown}: the interval is still too wide to tell"),
    )
}

/// Inconclusive, with the days needed when they are foreseeable.
fn foreseeable(days: f64) -> Verdict {
    Verdict::Inconclusive((days <= FORESEEABLE_DAYS).then_some(days))
}

/// Days of data still needed after `days` for the interval to decide, if the slope stays
/// where it is (see the module documentation, step 5); above [`FORESEEABLE_DAYS`] when it
/// cannot.
fn needed(post: &Slope, refs: &[(&str, &Slope)], material: f64, days: f64) -> f64 {
    let bottom = refs
        .iter()
        .map(|(_, r)| r.ci_low)
        .fold(f64::NEG_INFINITY, f64::max);
    let want = material.min(bottom);
    let have = (post.ci_high - post.ci_low) / 2.0;
    if have <= want {
        return 0.0;
    }
    if want <= 0.0 {
        return f64::INFINITY;
    }
    // Within one cycle the half-width narrows as days^-3/2; over cycles as days^-1/2.
    let power = if post.cycles > 1 { 0.5 } else { 1.5 };
    let total = days * (have / want).powf(1.0 / power);
    (total - days).max(0.0)
}

/// Bytes per day as MiB/day.
pub fn rate(bytes_per_day: f64) -> String {
    format!("{:.1} MiB", bytes_per_day / (1024.0 * 1024.0))
}

/// The verdicts per (model, new release).
fn groups(devices: &[DeviceVerdict]) -> Vec<GroupVerdict> {
    let mut out: Vec<GroupVerdict> = Vec::new();
    for d in devices {
        let i = match out
            .iter()
            .position(|g| g.model == d.device.model && g.release == d.device.to)
        {
            Some(i) => i,
            None => {
                out.push(GroupVerdict {
                    model: d.device.model.clone(),
                    release: d.device.to.clone(),
                    devices: 0,
                    fixed: 0,
                    not_fixed: 0,
                    verdict: Verdict::Fixed,
                });
                out.len() - 1
            }
        };
        let g = &mut out[i];
        g.devices += 1;
        g.verdict = combine(g.verdict, d.verdict);
        match d.verdict {
            Verdict::Fixed => g.fixed += 1,
            Verdict::NotFixed => g.not_fixed += 1,
            Verdict::Inconclusive(_) | Verdict::NoLeak => {}
        }
    }
    out
}

/// Two verdicts of one group: not fixed wins, then inconclusive (the longer wait), then fixed;
/// a device with no leak to fix says nothing of the others.
pub fn combine(a: Verdict, b: Verdict) -> Verdict {
    match (a, b) {
        (Verdict::NoLeak, x) | (x, Verdict::NoLeak) => x,
        (Verdict::NotFixed, _) | (_, Verdict::NotFixed) => Verdict::NotFixed,
        (Verdict::Inconclusive(x), Verdict::Inconclusive(y)) => {
            Verdict::Inconclusive(x.zip(y).map(|(x, y)| x.max(y)))
        }
        (Verdict::Inconclusive(x), Verdict::Fixed) | (Verdict::Fixed, Verdict::Inconclusive(x)) => {
            Verdict::Inconclusive(x)
        }
        (Verdict::Fixed, Verdict::Fixed) => Verdict::Fixed,
    }
}

/// The devices a rollout's journal shows upgraded to their target (every hop done or found
/// done, not rolled back since), in plan order, with the times that split their telemetry; and
/// the control group: the plan's devices no hop of which has begun, and `others` (inventory
/// devices as (name, model, release)) outside the plan, each of an upgraded device's model on
/// its old release. `waves` keeps only devices whose last hop ran in those waves (the gate's
/// canary).
pub fn subjects(
    plan: &crate::planner::Plan,
    entries: &[crate::executor::journal::Entry],
    others: &[(String, String, String)],
    waves: Option<&[usize]>,
) -> (Vec<Upgraded>, Vec<Control>) {
    use crate::executor::journal::Event;
    let secs = |at: &str| {
        at.parse::<jiff::Timestamp>()
            .ok()
            .and_then(|t| u32::try_from(t.as_second()).ok())
    };
    let mut upgraded: Vec<Upgraded> = Vec::new();
    let mut untouched: Vec<Control> = Vec::new();
    let mut seen: Vec<&str> = Vec::new();
    for (_, _, d) in plan.devices() {
        if seen.contains(&d.name.as_str()) {
            continue;
        }
        seen.push(&d.name);
        let mine = |step: &'static str| {
            entries
                .iter()
                .filter(move |e| e.get("step") == Some(step) && e.get("device") == Some(&d.name))
        };
        let began = mine("hop").find(|e| e.event == Event::Start);
        let Some(began) = began else {
            untouched.push(Control {
                device: d.name.clone(),
                model: d.model.clone(),
                release: d.from.clone(),
            });
            continue;
        };
        let target = d.path.last().map(String::as_str);
        let last = mine("hop")
            .rfind(|e| matches!(e.event, Event::Done | Event::Skip) && e.get("to") == target);
        let reverted = mine("revert").any(|e| matches!(e.event, Event::Done | Event::Skip));
        let (Some(last), false) = (last, reverted) else {
            continue;
        };
        let in_waves = waves.is_none_or(|w| {
            last.get("wave")
                .and_then(|x| x.parse::<usize>().ok())
                .is_some_and(|x| w.contains(&x))
        });
        if let (Some(b), Some(e), true) = (secs(&began.at), secs(&last.at), in_waves) {
            upgraded.push(Upgraded {
                device: d.name.clone(),
                model: d.model.clone(),
                from: d.from.clone(),
                to: target.unwrap_or_default().to_string(),
                began: b,
                ended: e,
            });
        }
    }
    let wanted = |model: &str, release: &str| {
        upgraded
            .iter()
            .any(|u| u.model == model && u.from == release)
    };
    let mut control: Vec<Control> = untouched
        .into_iter()
        .filter(|c| wanted(&c.model, &c.release))
        .collect();
    for (name, model, release) in others {
        if !seen.contains(&name.as_str()) && wanted(model, release) {
            control.push(Control {
                device: name.clone(),
                model: model.clone(),
                release: release.clone(),
            });
        }
    }
    (upgraded, control)
}

/// The columns of `verdicts.csv` (and of the table with `--format csv|json`).
pub const COLUMNS: [&str; 17] = [
    "device",
    "model",
    "from",
    "to",
    "verdict",
    "days_after",
    "days_needed",
    "after_bytes_per_day",
    "after_ci_low",
    "after_ci_high",
    "before_bytes_per_day",
    "before_ci_low",
    "before_ci_high",
    "control_bytes_per_day",
    "control_devices",
    "material_bytes_per_day",
    "reason",
];

/// Days up to the next tenth (a whole thousandth first: 2.5000001 is 2.5).
fn tenths_up(x: f64) -> f64 {
    ((x * 1000.0).round() / 100.0).ceil() / 10.0
}

/// Days to the nearest tenth.
fn tenth(x: f64) -> crate::report::Cell {
    crate::report::Cell::Float((x * 10.0).round() / 10.0)
}

fn days(x: f64) -> crate::report::Cell {
    crate::report::Cell::Float(tenths_up(x))
}

/// One row per device, every column.
pub fn table(v: &Verification) -> crate::report::Table {
    use crate::report::Cell;
    let mut t = crate::report::Table::new(&COLUMNS);
    let whole = |x: f64| Cell::Float(x.round());
    for d in &v.devices {
        let slope = |s: Option<Slope>| {
            [
                s.map_or(Cell::Empty, |s| whole(s.slope)),
                s.map_or(Cell::Empty, |s| whole(s.ci_low)),
                s.map_or(Cell::Empty, |s| whole(s.ci_high)),
            ]
        };
        let [a, a_lo, a_hi] = slope(d.post);
        let [b, b_lo, b_hi] = slope(d.pre);
        t.push(vec![
            Cell::text(&d.device.device),
            Cell::text(&d.device.model),
            Cell::text(&d.device.from),
            Cell::text(&d.device.to),
            Cell::text(d.verdict.as_str()),
            tenth(d.days_after),
            d.verdict.days_needed().map_or(Cell::Empty, days),
            a,
            a_lo,
            a_hi,
            b,
            b_lo,
            b_hi,
            d.control.map_or(Cell::Empty, |c| whole(c.0.slope)),
            d.control.map_or(Cell::Empty, |c| Cell::Int(c.1 as i64)),
            whole(d.material),
            Cell::text(&d.reason),
        ]);
    }
    t
}

/// The essentials, for the terminal: rates in MiB/day.
pub fn summary(v: &Verification) -> crate::report::Table {
    use crate::report::Cell;
    let mut t = crate::report::Table::new(&[
        "device",
        "model",
        "upgrade",
        "verdict",
        "days after",
        "days needed",
        "MiB/day after (95 %)",
        "before",
        "control",
    ]);
    let mib = |x: f64| format!("{:.1}", x / (1024.0 * 1024.0));
    for d in &v.devices {
        t.push(vec![
            Cell::text(&d.device.device),
            Cell::text(&d.device.model),
            Cell::text(format!("{} → {}", d.device.from, d.device.to)),
            Cell::text(d.verdict.as_str()),
            tenth(d.days_after),
            d.verdict.days_needed().map_or(Cell::Empty, days),
            d.post.map_or(Cell::Empty, |s| {
                Cell::text(format!(
                    "{} ({} to {})",
                    mib(s.slope),
                    mib(s.ci_low),
                    mib(s.ci_high)
                ))
            }),
            d.pre.map_or(Cell::Empty, |s| Cell::text(mib(s.slope))),
            d.control
                .map_or(Cell::Empty, |c| Cell::text(mib(c.0.slope))),
        ]);
    }
    t
}

/// The verdict per (model, release), as a sentence each.
pub fn group_lines(v: &Verification) -> Vec<String> {
    v.groups
        .iter()
        .map(|g| {
            let tail = match g.verdict {
                Verdict::Inconclusive(Some(d)) => {
                    format!(" ({:.1} more days of data needed)", tenths_up(d))
                }
                Verdict::Inconclusive(None) => " (no foreseeable verdict: see the devices)".into(),
                Verdict::NoLeak => " (no device had a leak to fix)".into(),
                _ => String::new(),
            };
            format!(
                "{} on {}: {}{tail}: {} of {} devices fixed, {} not fixed",
                g.model,
                g.release,
                g.verdict.as_str(),
                g.fixed,
                g.devices,
                g.not_fixed
            )
        })
        .collect()
}

/// The Markdown report: the verdicts, the method, a table per device and its chart.
pub fn report(v: &Verification, charts: &[(String, String)]) -> String {
    use crate::report::Exporter;
    let mut out = String::from("# Did the upgrade fix the leak?\n\n");
    for line in group_lines(v) {
        out.push_str(&format!("- **{line}**\n"));
    }
    out.push_str(&format!(
        "\nEach upgraded device's memory slope after its verified hop is compared with its own \
         slope before the upgrade and with the control group's (devices of its model still on the \
         old release). Fixed: the 95 % interval after lies below the material rate and below the \
         old rate's interval; not fixed: the new release still leaks, or rises with the old rate \
         inside its interval. At least {} days of data after the upgrade are required \
         (`--min-days`).\n\n",
        v.min_days
    ));
    let md = crate::report::MarkdownExporter
        .export(&summary(v))
        .unwrap_or_default();
    out.push_str(&String::from_utf8_lossy(&md));
    out.push('\n');
    for d in &v.devices {
        out.push_str(&format!(
            "## {}\n\n{}: {}\n\n",
            d.device.device,
            d.verdict.as_str(),
            d.reason
        ));
        if let Some((file, title)) = charts.iter().find(|(_, t)| *t == d.device.device) {
            out.push_str(&format!("![{title}: memory before and after]({file})\n\n"));
        }
    }
    if !v.without_telemetry.is_empty() {
        out.push_str(&format!(
            "Without memory telemetry: {}.\n",
            v.without_telemetry.join(", ")
        ));
    }
    out
}

/// Writes `verdicts.csv`, a chart per device and `report.md` into `dir`, each atomically;
/// returns the files written.
pub fn write_all(
    v: &Verification,
    dir: &std::path::Path,
    threshold: f64,
) -> anyhow::Result<Vec<String>> {
    use crate::report::Exporter;
    crate::fsutil::create_out_dir(dir)?;
    let put = |name: &str, bytes: &[u8]| crate::fsutil::write_atomic(&dir.join(name), bytes);
    let mut files = vec!["verdicts.csv".to_string()];
    put(
        "verdicts.csv",
        &crate::report::CsvExporter.export(&table(v))?,
    )?;
    let mut charts = Vec::new();
    for d in &v.devices {
        if let Some(svg) = super::chart::before_after(d, threshold) {
            let file = format!("before-after-{}.svg", super::output::safe(&d.device.device));
            put(&file, svg.as_bytes())?;
            charts.push((file.clone(), d.device.device.clone()));
            files.push(file);
        }
    }
    put("report.md", report(v, &charts).as_bytes())?;
    files.push("report.md".to_string());
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evaluator::synth::{Series, csv};
    use crate::evaluator::telemetry;

    const DAY: u32 = 86_400;
    const T0: u32 = 1_790_000_000;
    const MIB: f64 = 1024.0 * 1024.0;
    const UPGRADE: u32 = T0 + 21 * DAY;

    /// Two devices upgraded at day 21 (weekly reboots before), leaking 200 MiB/day before and
    /// `after` bytes/day after, with `days` of data after; two control devices leaking on.
    fn fleet(after: f64, days: f64, noise: f64) -> Verification {
        fleet_with(after, days, noise, true, 3.0)
    }

    fn fleet_with(
        after: f64,
        days: f64,
        noise: f64,
        controls: bool,
        min_days: f64,
    ) -> Verification {
        fleet_from(T0, (after, days, noise), controls, min_days)
    }

    /// The upgraded devices' telemetry from `start` (after the upgrade: none before it).
    fn fleet_from(
        start: u32,
        (after, days, noise): (f64, f64, f64),
        controls: bool,
        min_days: f64,
    ) -> Verification {
        let ended = UPGRADE + 2400;
        let end = ended + (days * 86_400.0) as u32;
        let mut series = Vec::new();
        let mut upgraded = Vec::new();
        for (i, name) in ["lb1", "lb2"].into_iter().enumerate() {
            let mut s = Series::leaking(name, start, end, 200.0 * MIB, i as u64 + 1);
            s.noise *= noise;
            s.boots = vec![T0 + 7 * DAY, T0 + 14 * DAY, ended - 600];
            s.rates.push((ended - 600, after));
            series.push(s);
            upgraded.push(Upgraded {
                device: name.into(),
                model: "i5800".into(),
                from: "15.1.10".into(),
                to: "16.1.4".into(),
                began: UPGRADE,
                ended,
            });
        }
        let mut control = Vec::new();
        if controls {
            for (i, name) in ["c1", "c2"].into_iter().enumerate() {
                let mut s = Series::leaking(name, T0, end, 200.0 * MIB, i as u64 + 11);
                s.boots = vec![T0 + 7 * DAY, T0 + 14 * DAY, T0 + 21 * DAY];
                series.push(s);
                control.push(Control {
                    device: name.into(),
                    model: "i5800".into(),
                    release: "15.1.10".into(),
                });
            }
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.csv");
        std::fs::write(&path, csv(&series)).unwrap();
        let t = telemetry::read(&[path], false).unwrap();
        verify(t, &upgraded, &control, &Settings::default(), min_days)
    }

    fn verdicts(v: &Verification) -> Vec<&'static str> {
        v.devices.iter().map(|d| d.verdict.as_str()).collect()
    }

    #[test]
    fn a_release_that_stops_the_leak_is_fixed() {
        let v = fleet(0.0, 4.0, 1.0);
        assert_eq!(
            verdicts(&v),
            ["fixed", "fixed"],
            "{:#?}",
            v.devices[0].reason
        );
        let d = &v.devices[0];
        // The planted rates, found: 200 MiB/day before and in the control group, 0 after.
        let pre = d.pre.unwrap();
        assert!((pre.slope / MIB - 200.0).abs() < 10.0, "{pre:?}");
        assert!(
            pre.ci_low < 200.0 * MIB && 200.0 * MIB < pre.ci_high,
            "{pre:?}"
        );
        let (control, n) = d.control.unwrap();
        assert_eq!(n, 2);
        assert!((control.slope / MIB - 200.0).abs() < 10.0, "{control:?}");
        let post = d.post.unwrap();
        assert!(post.slope.abs() < 10.0 * MIB, "{post:?}");
        assert!(post.ci_high < d.material);
        assert!((d.days_after - 4.0).abs() < 0.01);
        assert!(d.reason.contains("below the material"), "{}", d.reason);
        assert_eq!(v.groups.len(), 1);
        assert_eq!(
            (v.groups[0].verdict, v.groups[0].fixed, v.groups[0].devices),
            (Verdict::Fixed, 2, 2)
        );
    }

    #[test]
    fn the_verdicts_as_tables_sentences_a_report_and_files() {
        use crate::report::Exporter;
        let v = fleet(0.0, 4.0, 1.0);
        // The table: every column, slopes in bytes/day, days to a tenth.
        let csv =
            String::from_utf8(crate::report::CsvExporter.export(&table(&v)).unwrap()).unwrap();
        let mut lines = csv.lines();
        assert_eq!(lines.next().unwrap(), COLUMNS.join(","));
        let row: Vec<&str> = lines.next().unwrap().split(',').collect();
        assert_eq!(
            &row[..7],
            ["lb1", "i5800", "15.1.10", "16.1.4", "fixed", "4", ""]
        );
        let before: f64 = row[10].parse().unwrap();
        assert!((before / MIB - 200.0).abs() < 10.0, "{row:?}");
        assert_eq!(row[14], "2", "two control devices");
        // The terminal's: MiB/day.
        let text =
            String::from_utf8(crate::report::TextExporter.export(&summary(&v)).unwrap()).unwrap();
        assert!(
            text.contains("15.1.10 → 16.1.4") && text.contains(" 4 "),
            "{text}"
        );
        assert_eq!(
            group_lines(&v),
            ["i5800 on 16.1.4: fixed: 2 of 2 devices fixed, 0 not fixed"]
        );
        let waiting = fleet(0.0, 0.5, 1.0);
        assert_eq!(
            group_lines(&waiting),
            [
                "i5800 on 16.1.4: inconclusive (2.5 more days of data needed): 0 of 2 devices fixed, 0 not fixed"
            ]
        );
        // The report and its files, each device with its chart.
        let dir = tempfile::tempdir().unwrap();
        let files = write_all(&v, dir.path(), 0.9).unwrap();
        assert_eq!(
            files,
            [
                "verdicts.csv",
                "before-after-lb1.svg",
                "before-after-lb2.svg",
                "report.md"
            ]
        );
        let md = std::fs::read_to_string(dir.path().join("report.md")).unwrap();
        assert!(md.starts_with("# Did the upgrade fix the leak?\n\n- **i5800 on 16.1.4: fixed"));
        assert!(md.contains("## lb2\n\nfixed: "), "{md}");
        // Each device's section shows its own chart.
        for d in ["lb1", "lb2"] {
            let section = md.split(&format!("## {d}\n")).nth(1).unwrap();
            let section = section.split("## ").next().unwrap();
            assert!(
                section.contains(&format!(
                    "![{d}: memory before and after](before-after-{d}.svg)"
                )),
                "{md}"
            );
        }
        assert_eq!(
            std::fs::read_to_string(dir.path().join("verdicts.csv")).unwrap(),
            csv
        );
        let svg = std::fs::read_to_string(dir.path().join("before-after-lb1.svg")).unwrap();
        assert!(svg.contains("lb1: 15.1.10 → 16.1.4: fixed"), "{svg}");
        // A group with no foreseeable verdict, one with nothing to fix; devices without
        // telemetry named in the report.
        let mut odd = v.clone();
        odd.groups[0].verdict = Verdict::Inconclusive(None);
        let mut none = odd.groups[0].clone();
        none.verdict = Verdict::NoLeak;
        odd.groups.push(none);
        odd.without_telemetry = vec!["lb9".into()];
        assert_eq!(
            group_lines(&odd),
            [
                "i5800 on 16.1.4: inconclusive (no foreseeable verdict: see the devices): 2 of 2 devices fixed, 0 not fixed",
                "i5800 on 16.1.4: no-leak (no device had a leak to fix): 2 of 2 devices fixed, 0 not fixed"
            ]
        );
        assert!(report(&odd, &[]).ends_with("Without memory telemetry: lb9.\n"));
        assert!(!md.contains("Without memory telemetry"));
        // Rates and days as people read them.
        assert_eq!(rate(3.0 * MIB), "3.0 MiB");
        assert_eq!(rate(-1.5 * MIB), "-1.5 MiB");
        for (x, up) in [(2.5000001, 2.5), (2.51, 2.6), (0.0, 0.0), (1.96, 2.0)] {
            assert_eq!(tenths_up(x), up, "{x}");
        }
    }

    #[test]
    fn each_model_and_new_release_gets_its_own_verdict() {
        let v = fleet(0.0, 4.0, 1.0);
        let mut devices = v.devices.clone();
        devices[1].device.model = "i7800".into();
        devices[1].verdict = Verdict::NotFixed;
        let g = groups(&devices);
        assert_eq!(g.len(), 2);
        assert_eq!(
            (g[0].verdict, g[1].verdict),
            (Verdict::Fixed, Verdict::NotFixed)
        );
        devices[1].device.model = "i5800".into();
        devices[1].device.to = "17.1.1".into();
        assert_eq!(groups(&devices).len(), 2);
        devices[1].device.to = "16.1.4".into();
        let one = groups(&devices);
        assert_eq!(
            (one.len(), one[0].verdict, one[0].not_fixed),
            (1, Verdict::NotFixed, 1)
        );
    }

    #[test]
    fn a_reader_s_hourly_means_of_the_hours_the_hop_ran_in_are_neither_before_nor_after() {
        // Prometheus gives two points per hour (its first and last second) with the mean.
        let gib = 1024.0 * MIB * 1024.0;
        let mut exact = Vec::new();
        for h in 0..(10 * 24) {
            let first = T0 / 3600 * 3600 + h * 3600;
            let level = 6.0 * gib + 200.0 * MIB * f64::from(h) / 24.0;
            exact.extend([(first, level), (first + 3599, level)]);
        }
        let hop_hour = T0 / 3600 * 3600 + 6 * 86_400;
        let u = Upgraded {
            device: "lb1".into(),
            model: "i5800".into(),
            from: "15.1.10".into(),
            to: "16.1.4".into(),
            // The hop ran from mid-hour to mid next hour.
            began: hop_hour + 1800,
            ended: hop_hour + 5400,
        };
        let t = Telemetry {
            devices: vec![DeviceData {
                name: "lb1".into(),
                mem_total: Some(16.0 * gib),
                mem_exact: exact,
                ..DeviceData::default()
            }],
            ..Telemetry::default()
        };
        let v = verify(t, &[u], &[], &Settings::default(), 3.0);
        let d = &v.devices[0];
        let last_before = d.before.as_ref().unwrap().cycles.last().unwrap().end;
        let first_after = d.after.as_ref().unwrap().cycles[0].start;
        assert_eq!(
            last_before,
            hop_hour - 1,
            "the hour before the hop's is the last before"
        );
        assert_eq!(
            first_after,
            hop_hour + 7200,
            "the hour after the hop's is the first after"
        );
    }

    #[test]
    fn an_upgraded_device_without_telemetry_keeps_its_group_from_a_verdict() {
        let mut v = fleet(0.0, 4.0, 1.0);
        assert_eq!(v.groups[0].verdict, Verdict::Fixed);
        // The same fleet with a third upgraded device the telemetry does not name.
        let mut third = v.devices[0].device.clone();
        third.device = "lb3".into();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.csv");
        std::fs::write(
            &path,
            "timestamp,device,mem_used_bytes\n1790000000,other,1\n",
        )
        .unwrap();
        let t = telemetry::read(&[path], false).unwrap();
        let alone = verify(t, &[third], &[], &Settings::default(), 3.0);
        assert_eq!(alone.devices.len(), 1);
        assert_eq!(alone.devices[0].verdict, Verdict::Inconclusive(None));
        assert!(alone.devices[0].reason.starts_with("no memory telemetry"));
        assert_eq!(alone.without_telemetry, ["lb3"]);
        v.devices.extend(alone.devices);
        let groups = groups(&v.devices);
        assert_eq!(
            (groups[0].verdict, groups[0].devices, groups[0].fixed),
            (Verdict::Inconclusive(None), 3, 2)
        );
    }

    #[test]
    fn a_release_that_leaks_on_is_not_fixed() {
        let v = fleet(200.0 * MIB, 4.0, 1.0);
        assert_eq!(verdicts(&v), ["not-fixed", "not-fixed"]);
        assert!(
            v.devices[0].reason.contains("still leaks"),
            "{}",
            v.devices[0].reason
        );
        assert_eq!(v.groups[0].verdict, Verdict::NotFixed);
        assert_eq!(v.groups[0].not_fixed, 2);
        // Half the leak is still a material leak: not fixed either.
        let v = fleet(100.0 * MIB, 4.0, 1.0);
        assert_eq!(verdicts(&v), ["not-fixed", "not-fixed"]);
    }

    #[test]
    fn too_little_data_after_the_upgrade_is_inconclusive_with_the_days_still_needed() {
        // Half a day: no whole judged day yet; the verdict needs --min-days 3.
        let v = fleet(0.0, 0.5, 1.0);
        assert_eq!(verdicts(&v), ["inconclusive", "inconclusive"]);
        let need = v.devices[0].verdict.days_needed().unwrap();
        assert!((need - 2.5).abs() < 0.01, "{need}");
        assert_eq!(v.groups[0].verdict, Verdict::Inconclusive(Some(need)));
        // A day and a half of very noisy data with --min-days 1: the interval is too wide yet.
        let v = fleet_with(0.0, 1.5, 12.0, true, 1.0);
        let d = &v.devices[0];
        assert_eq!(d.verdict.as_str(), "inconclusive", "{}", d.reason);
        let need = d.verdict.days_needed().expect("foreseeable");
        assert!(need > 0.0, "{need}");
        // That many days more (and a margin for the noise of the estimate) decide it.
        let v = fleet_with(0.0, 1.5 + need * 1.5, 12.0, true, 1.0);
        assert_eq!(
            v.devices[0].verdict,
            Verdict::Fixed,
            "{}",
            v.devices[0].reason
        );
    }

    #[test]
    fn without_a_leak_to_compare_with_there_is_no_verdict() {
        // No control group, and no telemetry before: nothing to compare with.
        let mut v = fleet_with(0.0, 4.0, 1.0, false, 3.0);
        assert_eq!(verdicts(&v), ["fixed", "fixed"], "its own past suffices");
        let d = v.devices.remove(0);
        let (verdict, why) = judge(
            Evidence {
                post: d.post.as_ref(),
                days_after: 4.0,
                pre: None,
                control: None,
                material: d.material,
            },
            3.0,
        );
        assert_eq!(verdict, Verdict::Inconclusive(None));
        assert!(why.starts_with("nothing to compare with"), "{why}");
        // Telemetry only after the upgrade: judged against the control group alone.
        let v = fleet_from(UPGRADE + 1800, (0.0, 4.0, 1.0), true, 3.0);
        assert_eq!(
            verdicts(&v),
            ["fixed", "fixed"],
            "{:?}",
            v.devices[0].reason
        );
        assert!(v.devices[0].pre.is_none() && v.without_telemetry.is_empty());
        assert!(v.devices[0].reason.contains("the control group's rate"));
        // ... and without a control group either: nothing to compare with.
        let v = fleet_from(UPGRADE + 1800, (0.0, 4.0, 1.0), false, 3.0);
        assert_eq!(v.devices[0].verdict, Verdict::Inconclusive(None));
        // The report states the --min-days it judged with.
        assert!(report(&v, &[]).contains("At least 3 days of data after the upgrade"));
    }

    fn slope(slope: f64, half: f64, rising: bool) -> Slope {
        Slope {
            slope: slope * MIB,
            ci_low: (slope - half) * MIB,
            ci_high: (slope + half) * MIB,
            cycles: 1,
            rising,
        }
    }

    fn judged(post: Slope, pre: Slope, days: f64) -> (Verdict, String) {
        judge(
            Evidence {
                post: Some(&post),
                days_after: days,
                pre: Some(&pre),
                control: None,
                material: 30.0 * MIB,
            },
            3.0,
        )
    }

    #[test]
    fn the_verdict_rules_at_their_edges() {
        let old = slope(200.0, 10.0, true);
        // Fixed needs the top of the interval below the material rate ...
        assert_eq!(judged(slope(0.0, 29.0, false), old, 3.0).0, Verdict::Fixed);
        for half in [30.0, 31.0] {
            assert!(matches!(
                judged(slope(0.0, half, false), old, 3.0).0,
                Verdict::Inconclusive(Some(_))
            ));
        }
        // ... and below the bottom of the old rate's.
        let slow_old = slope(40.0, 15.0, true);
        for half in [25.0, 26.0] {
            assert!(matches!(
                judged(slope(0.0, half, false), slow_old, 3.0).0,
                Verdict::Inconclusive(Some(_))
            ));
        }
        assert_eq!(
            judged(slope(0.0, 24.0, false), slow_old, 3.0).0,
            Verdict::Fixed
        );
        // A rise that holds the old rate in its interval is not fixed, though not material
        // by its slope; without a significant rise it is only inconclusive.
        let (v, why) = judged(slope(20.0, 19.0, true), slope(35.0, 3.0, true), 3.0);
        assert_eq!(v, Verdict::NotFixed, "{why}");
        assert!(why.contains("inside its interval"), "{why}");
        assert!(matches!(
            judged(slope(20.0, 19.0, false), slope(35.0, 3.0, true), 3.0).0,
            Verdict::Inconclusive(_)
        ));
        // A material, significant rise is a leak.
        assert_eq!(
            judged(slope(31.0, 5.0, true), old, 3.0).0,
            Verdict::NotFixed
        );
        assert_eq!(
            judged(slope(29.0, 5.0, true), old, 3.0).0.as_str(),
            "inconclusive"
        );
        // Short of --min-days, nothing is decided, however clear.
        let (v, _) = judged(slope(0.0, 1.0, false), old, 2.0);
        assert_eq!(v, Verdict::Inconclusive(Some(1.0)));
        // An old release that did not leak leaves nothing to fix ...
        let (v, why) = judged(slope(0.0, 1.0, false), slope(10.0, 1.0, true), 3.0);
        assert_eq!(v, Verdict::NoLeak);
        assert!(why.contains("no leak to fix"), "{why}");
        // ... but a new release that leaks is not fixed, whatever the old one did.
        let (v, why) = judged(slope(50.0, 5.0, true), slope(10.0, 1.0, true), 3.0);
        assert_eq!(v, Verdict::NotFixed, "{why}");
        let alone = slope(50.0, 5.0, true);
        let (v, _) = judge(
            Evidence {
                post: Some(&alone),
                days_after: 3.0,
                pre: None,
                control: None,
                material: 30.0 * MIB,
            },
            3.0,
        );
        assert_eq!(v, Verdict::NotFixed);
        // Enough days but not one whole judged day: more of the same will not tell.
        let gaps = |days: f64| {
            judge(
                Evidence {
                    post: None,
                    days_after: days,
                    pre: Some(&old),
                    control: None,
                    material: 30.0 * MIB,
                },
                3.0,
            )
        };
        assert_eq!(gaps(2.5).0, Verdict::Inconclusive(Some(0.5)));
        let (v, why) = gaps(3.0);
        assert_eq!(v, Verdict::Inconclusive(None));
        assert!(
            why.contains("no whole day of it without a reboot or a gap"),
            "{why}"
        );
    }

    #[test]
    fn days_needed_follow_the_interval_width() {
        let old = [("before the upgrade", &slope(200.0, 10.0, true))];
        let m = 30.0 * MIB;
        // One cycle: a half-width twice the margin needs 2^(2/3) times the days, wherever
        // the slope is.
        for at in [0.0, 50.0] {
            let one = needed(&slope(at, 60.0, false), &old, m, 2.0);
            assert!(
                (one - 2.0 * (2f64.powf(2.0 / 3.0) - 1.0)).abs() < 1e-9,
                "{one}"
            );
        }
        // Several cycles: 2^2 times.
        let mut many = slope(0.0, 60.0, false);
        many.cycles = 3;
        assert!((needed(&many, &old, m, 2.0) - 6.0).abs() < 1e-9);
        // The margin is the lower of the material rate and the old rate's bottom.
        let slow = [("control group", &slope(35.0, 20.0, true))];
        let low = needed(&slope(0.0, 30.0, false), &slow, m, 2.0);
        assert!(
            (low - 2.0 * (2f64.powf(2.0 / 3.0) - 1.0)).abs() < 1e-9,
            "{low}"
        );
        // Narrow enough already: nothing more; no margin at all: never.
        assert_eq!(needed(&slope(0.0, 30.0, false), &old, m, 2.0), 0.0);
        let edge = [("control group", &slope(200.0, 200.0, true))];
        assert!(needed(&slope(0.0, 10.0, false), &edge, m, 2.0).is_infinite());
        assert_eq!(foreseeable(400.0), Verdict::Inconclusive(None));
        assert_eq!(foreseeable(365.0), Verdict::Inconclusive(Some(365.0)));
    }

    #[test]
    fn group_verdicts_combine_worst_first() {
        use Verdict::*;
        // A device with no leak to fix says nothing of the others.
        assert_eq!(combine(NoLeak, Fixed), Fixed);
        assert_eq!(
            combine(Inconclusive(Some(1.0)), NoLeak),
            Inconclusive(Some(1.0))
        );
        assert_eq!(combine(NoLeak, NoLeak), NoLeak);
        assert_eq!(combine(Fixed, Fixed), Fixed);
        assert_eq!(combine(Fixed, NotFixed), NotFixed);
        assert_eq!(combine(Inconclusive(Some(2.0)), NotFixed), NotFixed);
        assert_eq!(
            combine(Fixed, Inconclusive(Some(2.0))),
            Inconclusive(Some(2.0))
        );
        assert_eq!(
            combine(Inconclusive(Some(2.0)), Inconclusive(Some(5.0))),
            Inconclusive(Some(5.0))
        );
        assert_eq!(
            combine(Inconclusive(None), Inconclusive(Some(5.0))),
            Inconclusive(None)
        );
    }
}
