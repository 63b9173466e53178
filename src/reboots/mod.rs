//! Rolling reboot schedules: the weekly-reboot mitigation of a memory leak, planned from the
//! catalog's leak defects and measured leaks, and run HA-safe by the rollout engine.
//!
//! * a device gets reboots when the catalog says its version (on its model) has a memory-leak
//!   defect, or its telemetry shows a leak; every member of its HA group is rebooted with it
//!   (pairs run the same software, and the peer carries the load meanwhile);
//! * per HA group: the standby first, a verified failover to it, the former active, then a
//!   failover back, so the roles end as the inventory says (and upgrade plans stay true);
//! * the interval is given (`7d`) or `auto`: the evaluator's recommended interval for the
//!   group's fastest leaker; a device whose telemetry shows no leak gets no reboots under `auto`;
//! * each reboot goes in a window of the device's site: the first as soon as possible, each
//!   next one in the latest window slot that starts within the interval after the previous start
//!   (never later than the interval allows, unless the windows are further apart: then a lint);
//!   no site has more than `max_per_site` groups rebooting at once;
//! * a device whose planned upgrade installs a release its defects do not affect gets no
//!   reboots that start after that upgrade ends.

pub mod file;
pub mod ics;

use std::collections::BTreeMap;

use jiff::{SignedDuration, Timestamp};

use crate::HashMap;
use crate::catalog::Catalog;
use crate::inventory::{Device, HaRole, Inventory, Site};
use crate::planner::durations::Durations;
use crate::planner::file::{
    CatalogRef, Group, InventoryRef, Lint, Phase, PlannedDevice, Step, Unschedulable, Wave,
    WaveKind,
};
use crate::planner::window::{self, Occurrence};
use crate::planner::{Provenance, rfc3339, utc};
use crate::version::Version;

pub use file::{Rebooted, SCHEMA, Schedule, ScheduleOptions};

/// Days between reboots.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Interval {
    /// Every N days.
    Days(u32),
    /// From the evaluator's recommendation per group.
    Auto,
}

impl std::fmt::Display for Interval {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Interval::Days(d) => write!(f, "{d}d"),
            Interval::Auto => f.write_str("auto"),
        }
    }
}

impl std::str::FromStr for Interval {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim().to_ascii_lowercase();
        if t == "auto" {
            return Ok(Interval::Auto);
        }
        let err = || format!("\"{s}\": expected auto or whole days or weeks such as 7d, 3d, 2w");
        let (num, unit) = t.split_at(t.len().saturating_sub(1));
        let n: u32 = num.trim().parse().map_err(|_| err())?;
        let days = match unit {
            "d" => n,
            "w" => n.checked_mul(7).ok_or_else(err)?,
            _ => return Err(err()),
        };
        if !(1..=366).contains(&days) {
            return Err(format!("\"{s}\": between 1 day and a year"));
        }
        Ok(Interval::Days(days))
    }
}

/// The interval used when `auto` has no telemetry to go by: the weekly reboot operators use.
pub const DEFAULT_INTERVAL_DAYS: u32 = 7;

/// Defect kinds reboots mitigate.
pub const LEAK_KINDS: [&str; 2] = ["memory-leak", "memory-exhaustion"];

/// What shapes a schedule besides the inventory and the catalog.
#[derive(Clone, Debug)]
pub struct Options {
    /// Nothing starts before this instant.
    pub from: Timestamp,
    /// Weeks covered.
    pub weeks: u32,
    /// Days between reboots.
    pub interval: Interval,
    /// Groups of one site rebooting at the same time, at most.
    pub max_per_site: usize,
    /// Step minutes (reboot, checks, failover).
    pub durations: Durations,
    /// Only these catalog defects count (ids, case-insensitive); empty: every leak defect.
    pub defects: Vec<String>,
}

/// A leak measured in telemetry.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Leak {
    /// Bytes per day (the trend's slope).
    pub bytes_per_day: f64,
    /// The evaluator's recommended reboot interval, whole days.
    pub interval_days: Option<u32>,
}

/// What is known besides the inventory and catalog.
#[derive(Clone, Debug, Default)]
pub struct Evidence {
    /// Devices with memory telemetry: `Some` leak, or `None` when analysed and not leaking.
    pub telemetry: HashMap<String, Option<Leak>>,
    /// Planned upgrades: device → (when its group's work ends, the release it ends on).
    pub upgrades: HashMap<String, (Timestamp, String)>,
    /// Planned upgrade work: device → each (start, end) its group works on it. A window
    /// occurrence that overlaps one gets no reboot of that device's group (the upgrade
    /// reboots it anyway, and two runs must not touch a pair at once).
    pub upgrading: HashMap<String, Vec<(Timestamp, Timestamp)>>,
    /// Telemetry files, for the record.
    pub telemetry_files: Vec<String>,
    /// The upgrade plan's path, for the record.
    pub upgrade_plan: Option<String>,
}

/// A member of a rebooted group, with why.
struct Member<'a> {
    device: &'a Device,
    reasons: Vec<String>,
    /// Defect ids (the reasons an upgrade can remove).
    defects: Vec<String>,
    leak: Option<Leak>,
}

/// One group to reboot.
struct Unit<'a> {
    site: &'a Site,
    ha_group: Option<&'a str>,
    name: &'a str,
    /// Standbys first, then the active (or the standalone device).
    members: Vec<Member<'a>>,
    interval_days: u32,
    interval_source: &'static str,
    /// No reboot starts at or after this instant (the fixing upgrade has ended).
    fixed_after: Option<(Timestamp, String)>,
    minutes: i64,
}

impl Unit<'_> {
    fn steps(&self) -> Vec<Step> {
        let active = self
            .members
            .iter()
            .find(|m| m.device.ha_role == HaRole::Active);
        let standby = self
            .members
            .iter()
            .find(|m| m.device.ha_role == HaRole::Standby);
        let failover = |to: &Member, from: &Member| Step::Failover {
            to: to.device.name.clone(),
            mgmt_host: to.device.mgmt.to_string(),
            from: Some(from.device.name.clone()),
            from_mgmt_host: Some(from.device.mgmt.to_string()),
        };
        let mut out = Vec::new();
        for m in &self.members {
            if m.device.ha_role == HaRole::Active
                && let Some(s) = standby
            {
                out.push(failover(s, m));
            }
            out.push(Step::Reboot {
                device: m.device.name.clone(),
            });
        }
        if let (Some(a), Some(s)) = (active, standby) {
            out.push(failover(a, s));
        }
        out
    }

    fn failovers(&self) -> i64 {
        self.steps()
            .iter()
            .filter(|s| matches!(s, Step::Failover { .. }))
            .count() as i64
    }
}

/// A placed reboot of a group.
#[derive(Clone, Debug)]
struct Placed {
    window: Occurrence,
    start: Timestamp,
    end: Timestamp,
}

/// Earliest start inside `occ`, no earlier than `lower`, where `minutes` of work fit before the
/// window closes with fewer than `cap` of the site's reboots overlapping.
fn slot_in(
    occ: &Occurrence,
    lower: Timestamp,
    minutes: i64,
    busy: &[(Timestamp, Timestamp)],
    cap: usize,
) -> Option<(Timestamp, Timestamp)> {
    let need = SignedDuration::from_mins(minutes);
    let first = occ.start.timestamp().max(lower);
    let close = occ.end.timestamp();
    // The first instant, and each end of a reboot after it (an end before it is the first).
    let mut candidates: Vec<Timestamp> = std::iter::once(first)
        .chain(busy.iter().map(|b| b.1.max(first)))
        .collect();
    candidates.sort();
    candidates.dedup();
    candidates.into_iter().find_map(|s| {
        let e = s.checked_add(need).ok()?;
        let overlapping = busy.iter().filter(|b| b.0 < e && s < b.1).count();
        (e <= close && overlapping < cap).then_some((s, e))
    })
}

/// How many days of windows to list for a schedule of `weeks`: the schedule's span and two
/// months more, for sites whose windows are far apart.
fn search_days(weeks: u32) -> i64 {
    7 * i64::from(weeks) + 60
}

/// Builds the schedule.
pub fn build(
    inv: &Inventory,
    catalog: &Catalog,
    opts: &Options,
    ev: &Evidence,
    prov: &Provenance,
) -> Schedule {
    let mut lints = Vec::new();
    let mut skipped = Vec::new();
    let mut unschedulable = Vec::new();
    // Groups in inventory order: an HA group by its name, a standalone device by its own.
    let mut order: Vec<&str> = Vec::new();
    let mut groups: HashMap<&str, Vec<&Device>> = HashMap::default();
    for d in &inv.devices {
        let key = d.ha_group.as_deref().unwrap_or(d.name.as_str());
        let g = groups.entry(key).or_insert_with(|| {
            order.push(key);
            Vec::new()
        });
        g.push(d);
    }
    let mut units = Vec::new();
    for key in order {
        let devices = &groups[key];
        let mut members = Vec::new();
        let mut any = false;
        // Affected members whose telemetry shows no leak: skipped only when the whole group
        // gets no reboots (a clean standby of a leaking active is rebooted with its pair).
        let mut clean = Vec::new();
        for d in devices {
            let model = d.hardware(catalog);
            let defects: Vec<String> = catalog
                .defects_affecting(&d.version, model)
                .filter(|x| LEAK_KINDS.contains(&x.kind.as_str()))
                .filter(|x| {
                    opts.defects.is_empty()
                        || opts.defects.iter().any(|id| id.eq_ignore_ascii_case(&x.id))
                })
                .map(|x| x.id.clone())
                .collect();
            let tele = ev.telemetry.get(&d.name);
            let leak = tele.copied().flatten();
            let measured_clean = matches!(tele, Some(None));
            // Under `auto`, telemetry that shows no leak outweighs the defect's "may leak".
            let trusted_clean = opts.interval == Interval::Auto && measured_clean;
            let needs = leak.is_some() || (!defects.is_empty() && !trusted_clean);
            if !defects.is_empty() && !needs {
                clean.push(Unschedulable {
                    name: d.name.clone(),
                    site: d.site.clone(),
                    code: "not-leaking".into(),
                    reason: format!(
                        "affected by {} but its telemetry shows no leak (interval auto)",
                        defects.join(", ")
                    ),
                });
            }
            any |= needs;
            let mut reasons = defects.clone();
            if let Some(l) = leak {
                reasons.push(format!(
                    "telemetry: leaks {:.0} MiB/day",
                    l.bytes_per_day / 1048576.0
                ));
            }
            members.push(Member {
                device: d,
                reasons,
                defects,
                leak,
            });
        }
        if !any {
            skipped.extend(clean);
            continue;
        }
        for m in &mut members {
            if m.reasons.is_empty() {
                m.reasons.push("ha-peer".into());
            }
        }
        // Standbys first, then the active; standalone devices alone.
        members.sort_by_key(|m| (m.device.ha_role == HaRole::Active, m.device.name.clone()));
        let first = members[0].device;
        let Some(site) = inv.site(&first.site) else {
            for m in &members {
                unschedulable.push(Unschedulable {
                    name: m.device.name.clone(),
                    site: m.device.site.clone(),
                    code: "unknown-site".into(),
                    reason: format!("site {} is not in sites.csv", m.device.site),
                });
            }
            continue;
        };
        let (interval_days, interval_source) = match opts.interval {
            Interval::Days(d) => (d, "given"),
            Interval::Auto => {
                let measured = members
                    .iter()
                    .filter_map(|m| m.leak.and_then(|l| l.interval_days))
                    .min();
                match measured {
                    Some(d) => (d.max(1), "telemetry"),
                    None => {
                        let leaking: Vec<&str> = members
                            .iter()
                            .filter(|m| m.leak.is_some())
                            .map(|m| m.device.name.as_str())
                            .collect();
                        let why = if leaking.is_empty() {
                            "no telemetry gives a reboot interval".to_string()
                        } else {
                            format!(
                                "{} leaking, but the telemetry has no total memory (mem_total_bytes): no interval can be computed",
                                leaking.join(", ")
                            )
                        };
                        lints.push(Lint {
                            code: "no-telemetry-interval".into(),
                            message: format!(
                                "{key}: {why}; weekly ({DEFAULT_INTERVAL_DAYS}d) is used"
                            ),
                        });
                        (DEFAULT_INTERVAL_DAYS, "default")
                    }
                }
            }
        };
        // The fixing upgrade: every member with a reason of its own must be fixed by it.
        let mut fixed_after: Option<(Timestamp, String)> = None;
        let mut all_fixed = true;
        for m in members.iter().filter(|m| m.reasons[0] != "ha-peer") {
            let fix = ev.upgrades.get(&m.device.name).and_then(|(at, to)| {
                let v = Version::parse(m.device.vendor, to).ok()?;
                let model = m.device.hardware(catalog);
                let still: Vec<&str> = catalog
                    .defects_affecting(&v, model)
                    .filter(|x| m.defects.contains(&x.id))
                    .map(|x| x.id.as_str())
                    .collect();
                (m.leak.is_none() && still.is_empty()).then(|| (*at, to.clone()))
            });
            match fix {
                // The group's reboots end when its last member is fixed.
                Some(f) => {
                    fixed_after = Some(match fixed_after.take() {
                        Some(old) => std::cmp::max_by_key(old, f, |x| x.0),
                        None => f,
                    });
                }
                None => all_fixed = false,
            }
        }
        if !all_fixed {
            fixed_after = None;
        }
        let durations = |d: &Device| opts.durations.of(d.vendor, &d.model);
        let mut unit = Unit {
            site,
            ha_group: first.ha_group.as_deref(),
            name: key,
            members,
            interval_days,
            interval_source,
            fixed_after,
            minutes: 0,
        };
        let work: i64 = unit
            .members
            .iter()
            .map(|m| {
                let s = durations(m.device);
                i64::from(s.reboot + s.checks)
            })
            .sum();
        let failover = i64::from(durations(first).failover);
        unit.minutes = work + unit.failovers() * failover;
        units.push(unit);
    }

    // Place each group's reboots, sites in order, groups in inventory order.
    units.sort_by_key(|u| {
        (
            u.site.order.unwrap_or(i64::MAX),
            inv.sites
                .iter()
                .position(|s| s.name == u.site.name)
                .unwrap_or(usize::MAX),
        )
    });
    let horizon_end = opts
        .from
        .checked_add(SignedDuration::from_hours(24 * 7 * i64::from(opts.weeks)))
        .expect("horizon in range");
    let search_days = search_days(opts.weeks);
    let mut occurrences: BTreeMap<&str, Vec<Occurrence>> = BTreeMap::new();
    let mut busy: BTreeMap<&str, Vec<(Timestamp, Timestamp)>> = BTreeMap::new();
    let mut rounds: Vec<Vec<(Group, Timestamp)>> = Vec::new();
    let mut rebooted = Vec::new();
    let cap = opts.max_per_site.max(1);
    for u in &units {
        let occs = occurrences
            .entry(u.site.name.as_str())
            .or_insert_with(|| window::occurrences(u.site, opts.from, search_days));
        let site_busy = busy.entry(u.site.name.as_str()).or_default();
        let mut placed: Vec<Placed> = Vec::new();
        let mut unmet_gap: Option<f64> = None;
        loop {
            let lower = placed.last().map_or(opts.from, |p| p.end);
            // One reboot per window occurrence: the next goes in a later one.
            let after_window = placed.last().map(|p| p.window.start.timestamp());
            let upgrading = |o: &Occurrence| {
                let (start, end) = (o.start.timestamp(), o.end.timestamp());
                u.members
                    .iter()
                    .filter_map(|m| ev.upgrading.get(&m.device.name))
                    .flatten()
                    .any(|&(a, b)| a < end && start < b)
            };
            let later = |o: &&Occurrence| {
                after_window.is_none_or(|w| o.start.timestamp() > w) && !upgrading(o)
            };
            let earliest = |occs: &[Occurrence], busy: &[(Timestamp, Timestamp)]| {
                occs.iter().filter(later).find_map(|o| {
                    slot_in(o, lower, u.minutes, busy, cap).map(|(s, e)| Placed {
                        window: o.clone(),
                        start: s,
                        end: e,
                    })
                })
            };
            let chosen = match placed.last() {
                None => earliest(occs, site_busy),
                Some(prev) => {
                    let deadline = prev
                        .start
                        .checked_add(SignedDuration::from_hours(24 * i64::from(u.interval_days)))
                        .expect("in range");
                    let latest = occs
                        .iter()
                        .rev()
                        .filter(later)
                        .filter(|o| o.start.timestamp() <= deadline)
                        .find_map(|o| {
                            slot_in(o, lower, u.minutes, site_busy, cap)
                                .filter(|&(s, _)| s <= deadline)
                                .map(|(s, e)| Placed {
                                    window: o.clone(),
                                    start: s,
                                    end: e,
                                })
                        });
                    latest.or_else(|| {
                        let p = earliest(occs, site_busy)?;
                        let gap = p.start.duration_since(prev.start).as_secs_f64() / 86400.0;
                        unmet_gap = Some(unmet_gap.map_or(gap, |g: f64| g.max(gap)));
                        Some(p)
                    })
                }
            };
            let Some(p) = chosen else {
                if placed.is_empty() {
                    let longest = u.site.windows.iter().map(|w| w.minutes).max().unwrap_or(0);
                    for m in &u.members {
                        unschedulable.push(Unschedulable {
                            name: m.device.name.clone(),
                            site: u.site.name.clone(),
                            code: "no-window".into(),
                            reason: format!(
                                "the group's reboot takes {} min; the longest window of {} is {longest} min",
                                u.minutes, u.site.name
                            ),
                        });
                    }
                }
                break;
            };
            if p.start >= horizon_end {
                break;
            }
            if u.fixed_after.as_ref().is_some_and(|(t, _)| p.start >= *t) {
                break;
            }
            site_busy.push((p.start, p.end));
            placed.push(p);
        }
        if let Some(gap) = unmet_gap {
            lints.push(Lint {
                code: "interval-unmet".into(),
                message: format!(
                    "{}: the windows of {} are further apart than its {}-day interval; reboots up to {gap:.1} days apart",
                    u.name, u.site.name, u.interval_days
                ),
            });
        }
        if placed.is_empty() {
            let no_window = unschedulable
                .iter()
                .any(|x| x.name == u.members[0].device.name);
            if let Some((t, to)) = &u.fixed_after
                && !no_window
            {
                for m in &u.members {
                    skipped.push(Unschedulable {
                        name: m.device.name.clone(),
                        site: u.site.name.clone(),
                        code: "fixed-first".into(),
                        reason: format!(
                            "its planned upgrade to {to} ends {} before the first window",
                            utc(*t)
                        ),
                    });
                }
            }
            continue;
        }
        for m in &u.members {
            rebooted.push(Rebooted {
                name: m.device.name.clone(),
                site: u.site.name.clone(),
                ha_group: u.ha_group.map(str::to_string),
                reasons: m.reasons.clone(),
                leak_bytes_per_day: m.leak.map(|l| l.bytes_per_day),
                interval_days: u.interval_days,
                interval_source: u.interval_source.into(),
                fixed_after: u.fixed_after.as_ref().map(|(t, _)| utc(*t)),
                fixed_by: u.fixed_after.as_ref().map(|(_, v)| v.clone()),
            });
        }
        let tz = &u.site.timezone;
        let devices: Vec<PlannedDevice> = u
            .members
            .iter()
            .map(|m| {
                let s = opts.durations.of(m.device.vendor, &m.device.model);
                PlannedDevice {
                    name: m.device.name.clone(),
                    role: m.device.ha_role.id().into(),
                    vendor: m.device.vendor.id().into(),
                    model: m.device.model.clone(),
                    from: m.device.version.as_str().into(),
                    path: Vec::new(),
                    mgmt_host: m.device.mgmt.to_string(),
                    estimated_minutes: i64::from(s.reboot + s.checks),
                }
            })
            .collect();
        let steps = u.steps();
        for (k, p) in placed.iter().enumerate() {
            if rounds.len() <= k {
                rounds.push(Vec::new());
            }
            rounds[k].push((
                Group {
                    site: u.site.name.clone(),
                    ha_group: u.ha_group.map(str::to_string),
                    phase: Phase::Full,
                    window_start: rfc3339(&p.window.start),
                    window_end: rfc3339(&p.window.end),
                    start: rfc3339(&p.start.to_zoned_datetime(tz.clone())),
                    end: rfc3339(&p.end.to_zoned_datetime(tz.clone())),
                    estimated_minutes: u.minutes,
                    devices: devices.clone(),
                    steps: steps.clone(),
                    carrier: None,
                },
                p.start,
            ));
        }
    }
    let rounds = rounds
        .into_iter()
        .enumerate()
        .map(|(index, mut groups)| {
            groups.sort_by(|a, b| (a.1, &a.0.site).cmp(&(b.1, &b.0.site)));
            Wave {
                index,
                kind: WaveKind::Wave,
                not_before: groups.first().map(|g| utc(g.1)).unwrap_or_default(),
                groups: groups.into_iter().map(|(g, _)| g).collect(),
            }
        })
        .collect();
    Schedule {
        schema: SCHEMA.into(),
        created: utc(prov.created),
        inventory: InventoryRef::of(inv, &prov.paths),
        catalog: CatalogRef::of(catalog, &prov.catalog_source),
        options: ScheduleOptions {
            from: utc(opts.from),
            weeks: opts.weeks,
            interval: opts.interval.to_string(),
            max_per_site: cap,
            telemetry: ev.telemetry_files.clone(),
            upgrade_plan: ev.upgrade_plan.clone(),
        },
        sites: units
            .iter()
            .map(|u| (u.site.name.clone(), u.site.timezone_name.clone()))
            .collect(),
        devices: rebooted,
        rounds,
        unschedulable,
        skipped,
        lints,
    }
}

/// The group reboots to run at `now`: those whose planned start has come and whose window is
/// still open, split into batches so that no site has more than the schedule's cap at once.
/// Each batch keeps its round as the wave index (the journal's key).
pub fn due(s: &Schedule, now: Timestamp) -> Vec<Wave> {
    let at = |t: &str| t.parse::<Timestamp>().ok();
    let cap = s.options.max_per_site.max(1);
    let mut out: Vec<Wave> = Vec::new();
    for round in &s.rounds {
        let mut batches: Vec<Wave> = Vec::new();
        for g in &round.groups {
            let (Some(start), Some(close)) = (at(&g.start), at(&g.window_end)) else {
                continue;
            };
            if !(start <= now && now < close) {
                continue;
            }
            let fits = |w: &Wave| w.groups.iter().filter(|x| x.site == g.site).count() < cap;
            match batches.iter_mut().find(|w| fits(w)) {
                Some(w) => w.groups.push(g.clone()),
                None => batches.push(Wave {
                    index: round.index,
                    kind: WaveKind::Wave,
                    not_before: round.not_before.clone(),
                    groups: vec![g.clone()],
                }),
            }
        }
        out.extend(batches);
    }
    out
}

/// The group reboots whose window has closed without a finished run (by `finished`).
pub fn missed<'a>(
    s: &'a Schedule,
    now: Timestamp,
    finished: &dyn Fn(usize, &Group) -> bool,
) -> Vec<(usize, &'a Group)> {
    s.rounds
        .iter()
        .flat_map(|r| r.groups.iter().map(move |g| (r.index, g)))
        .filter(|(k, g)| {
            g.window_end
                .parse::<Timestamp>()
                .is_ok_and(|close| close <= now)
                && !finished(*k, g)
        })
        .collect()
}

#[cfg(test)]
mod tests;
