//! The way back (`lbfleet rollback`): every unit of a group that this rollout changed returns to
//! the release the plan found it on, by a reboot into the volume that still holds it, in
//! HA-safe order: first the units not carrying traffic, then a verified failover to a unit on
//! the old release, then the unit that carried traffic. Read from the plan and the journal
//! alone, so an interrupted rollback is continued by running it again.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::AtomicBool;

use super::journal::{self, Event, Journal};
use super::{
    Connector, Ctx, GroupStop, Link, Observer, Progress, Sessions, Settings, driver_of, group_name,
    hand_over, step_key, unit,
};
use crate::device::{self, Check, Way};
use crate::driver::Drivers;
use crate::images::Manifest;
use crate::inventory::HaRole;
use crate::planner::durations::StepMinutes;
use crate::planner::file::{Group, Step as PlanStep, Wave};
use crate::version::{Vendor, Version};

/// A failover of the way back: traffic goes to a unit on the release it ran before the
/// rollout.
#[derive(Clone, Debug)]
pub struct FailBack<'a> {
    /// The wave the back-out is journaled under (the group's last entry the rollout reached).
    pub wave: usize,
    /// A plan entry of the group (its vendor, site and steps' addresses).
    pub entry: &'a Group,
    /// The unit taking traffic, with its address.
    pub to: (String, String),
    /// The unit carrying traffic now, with its address.
    pub from: (String, String),
    /// The release `to` ran when the plan was made, and must run when it takes traffic.
    pub old: Version,
}

/// One unit's return to its old release.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Revert {
    /// The unit.
    pub device: String,
    /// Its address.
    pub mgmt_host: String,
    /// The release the plan found it on.
    pub old: Version,
    /// The release the journal says it runs now.
    pub runs: String,
    /// The volume (or build) it booted before the rollout's first hop, as it reported it.
    pub booted_before: Option<String>,
    /// The role it must have: never the unit carrying a pair's traffic.
    pub role: HaRole,
    /// The release of a later hop that booted `booted_before` again, so was installed over the
    /// old release there (only a third volume could still hold it: the device is asked).
    pub overwritten_by: Option<String>,
    /// The configuration backup taken before the rollout changed it: where it was copied.
    pub backup: Option<String>,
    /// The pair's other unit, with its address: it carries the traffic while this one reboots
    /// and must report active first.
    pub peer: Option<(String, String)>,
}

/// A step of the way back.
#[derive(Clone, Debug)]
pub enum BackStep<'a> {
    /// A unit reboots into its old release.
    Revert(Revert),
    /// Traffic moves to a unit on the old release.
    Failover(FailBack<'a>),
}

/// How a group goes back to the releases the plan found it on.
#[derive(Clone, Debug)]
pub struct BackOut<'a> {
    /// The group's name in the journal.
    pub group: String,
    /// The wave its steps are journaled under.
    pub wave: usize,
    /// A plan entry of the group.
    pub entry: &'a Group,
    /// The steps, in order.
    pub steps: Vec<BackStep<'a>>,
    /// The pair's units with their addresses (empty for a standalone device).
    pub units: Vec<(String, String)>,
    /// The unit taken to carry the pair's traffic when the way back starts.
    pub carrier: Option<String>,
}

impl BackOut<'_> {
    /// The first failover of the way back, if it has one.
    pub fn failover(&self) -> Option<&FailBack<'_>> {
        self.steps.iter().find_map(|s| match s {
            BackStep::Failover(f) => Some(f),
            BackStep::Revert(_) => None,
        })
    }

    /// The unit carrying the pair's traffic once the way back is done.
    pub fn carrier_after(&self) -> Option<&str> {
        self.steps
            .iter()
            .rev()
            .find_map(|s| match s {
                BackStep::Failover(f) => Some(f.to.0.as_str()),
                BackStep::Revert(_) => None,
            })
            .or(self.carrier.as_deref())
    }

    /// The units that reboot, in order.
    pub fn reverts(&self) -> impl Iterator<Item = &Revert> {
        self.steps.iter().filter_map(|s| match s {
            BackStep::Revert(r) => Some(r),
            BackStep::Failover(_) => None,
        })
    }

    /// Minutes the way back takes: a reboot and its checks per unit, and the failover.
    pub fn minutes(&self, m: &StepMinutes) -> i64 {
        self.steps
            .iter()
            .map(|s| match s {
                BackStep::Revert(_) => i64::from(m.reboot + m.checks),
                BackStep::Failover(_) => i64::from(m.failover),
            })
            .sum()
    }

    /// Only what takes `device` back: its reboot, with the failover that moves traffic off it
    /// first when it carries the traffic. Refused when that failover needs its peer back on the
    /// old release first: that is the group's rollback, not one device's.
    pub fn only(&self, device: &str) -> Result<Self, NoWayBack> {
        let Some(i) = self
            .steps
            .iter()
            .position(|s| matches!(s, BackStep::Revert(r) if r.device == device))
        else {
            return Err(NoWayBack::Nothing(format!(
                "{device}: this rollout has not changed it, or it is back already"
            )));
        };
        let mut keep = vec![i];
        if let Some(BackStep::Failover(f)) = i.checked_sub(1).map(|j| &self.steps[j])
            && f.from.0 == device
        {
            if self.reverts().any(|r| r.device == f.to.0) {
                return Err(NoWayBack::Refused(format!(
                    "{device} carries {}'s traffic and {}, its peer, runs the new release too: \
                     traffic can only go to {} once it is back on {}; roll back the group \
                     (--group {})",
                    self.group, f.to.0, f.to.0, f.old, self.group
                )));
            }
            keep.insert(0, i - 1);
        }
        let mut out = self.clone();
        out.steps = keep.into_iter().map(|j| self.steps[j].clone()).collect();
        Ok(out)
    }

    /// The steps in words, for consent and reports.
    pub fn describe(&self) -> Vec<String> {
        self.steps
            .iter()
            .map(|s| match s {
                BackStep::Revert(r) => format!(
                    "reboot {} ({}) from {} back into {}{}",
                    r.device,
                    r.mgmt_host,
                    r.runs,
                    r.old,
                    r.booted_before
                        .as_deref()
                        .map(|v| format!(" (it ran {v} before the rollout)"))
                        .unwrap_or_default()
                ),
                BackStep::Failover(f) => format!(
                    "fail over from {} ({}) to {} ({}) on {}",
                    f.from.0, f.from.1, f.to.0, f.to.1, f.old
                ),
            })
            .collect()
    }
}

/// Why a group has no way back here.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NoWayBack {
    /// Nothing to do: the rollout has not changed it, or it is back already.
    Nothing(String),
    /// It cannot go back this way: the reason.
    Refused(String),
}

impl std::fmt::Display for NoWayBack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NoWayBack::Nothing(m) | NoWayBack::Refused(m) => f.write_str(m),
        }
    }
}

impl From<String> for NoWayBack {
    fn from(m: String) -> NoWayBack {
        NoWayBack::Refused(m)
    }
}

/// A unit of the group as the plan knows it.
#[derive(Clone, Debug, Default)]
struct Known {
    host: String,
    role: Option<String>,
    from: Option<String>,
    vendor: Option<String>,
}

/// What the journal says of one unit.
#[derive(Clone, Debug, Default)]
struct Seen {
    /// A hop began since the last time it went back.
    changed: bool,
    /// The release it runs, when a step said.
    runs: Option<String>,
    /// The volume it booted before its first finished hop.
    booted_before: Option<String>,
    /// A later hop that booted that volume again.
    overwritten_by: Option<String>,
}

fn seen(entries: &[journal::Entry], device: &str) -> Seen {
    let mut s = Seen::default();
    let mut finished = false;
    for e in entries.iter().filter(|e| e.get("device") == Some(device)) {
        match (e.get("step"), e.event) {
            (
                Some("hop"),
                Event::Start | Event::Fail | Event::Interrupted | Event::Done | Event::Skip,
            ) => {
                // Where it ran before this rollout: recorded with the first hop's start (or,
                // in journals from before that, its end), never a later hop's.
                if !finished && s.booted_before.is_none() {
                    s.booted_before = e.get("booted_before").map(str::to_string);
                }
                if matches!(e.event, Event::Done | Event::Skip) {
                    if s.booted_before.is_some()
                        && e.get("booted_after") == s.booted_before.as_deref()
                    {
                        s.overwritten_by = e.get("to").map(str::to_string);
                    }
                    finished = true;
                    s.runs = e.get("to").map(str::to_string);
                }
                s.changed = true;
            }
            (Some("revert"), Event::Done | Event::Skip) => {
                s = Seen::default();
                finished = false;
            }
            _ => {}
        }
    }
    s
}

/// The volume (or build) `device` booted before this rollout's first finished hop, as the
/// journal recorded it.
pub(super) fn booted_first(entries: &[journal::Entry], device: &str) -> Option<String> {
    seen(entries, device).booted_before
}

/// How `group` goes back to the releases the plan found its units on, from the plan and the
/// journal, or why there is nothing to do.
pub fn back_out<'a>(
    waves: &'a [Wave],
    entries: &[journal::Entry],
    group: &str,
) -> Result<BackOut<'a>, NoWayBack> {
    back_out_from(waves, entries, group, None)
}

/// [`back_out`], with the unit the devices say carries the pair's traffic when it is not the
/// one the journal knows (a failover by hand).
pub fn back_out_from<'a>(
    waves: &'a [Wave],
    entries: &[journal::Entry],
    group: &str,
    carrier_now: Option<&str>,
) -> Result<BackOut<'a>, NoWayBack> {
    let of_group: Vec<(usize, &Group)> = waves
        .iter()
        .flat_map(|w| w.groups.iter().map(move |g| (w.index, g)))
        .filter(|(_, g)| group_name(g) == group)
        .collect();
    let Some(&(first_wave, first)) = of_group.first() else {
        return Err(format!("{group}: not in the plan").into());
    };
    // The units, from every entry of the group: upgraded devices, and the failovers' units.
    let mut units: Vec<(String, Known)> = Vec::new();
    let mut know = |name: &str, k: Known| match units.iter_mut().find(|(n, _)| n == name) {
        Some((_, have)) => {
            have.role = have.role.take().or(k.role);
            have.from = have.from.take().or(k.from);
            have.vendor = have.vendor.take().or(k.vendor);
        }
        None => units.push((name.to_string(), k)),
    };
    for (_, g) in &of_group {
        for d in &g.devices {
            know(
                &d.name,
                Known {
                    host: d.mgmt_host.clone(),
                    role: Some(d.role.clone()),
                    from: Some(d.from.clone()),
                    vendor: Some(d.vendor.clone()),
                },
            );
        }
        for s in &g.steps {
            // A failover's taker is upgraded by an entry of the group (its devices give it);
            // its giver may be in none (a canary whose later waves are not planned).
            if let PlanStep::Failover {
                from: Some(f),
                from_mgmt_host: Some(h),
                ..
            } = s
            {
                know(
                    f,
                    Known {
                        host: h.clone(),
                        role: Some("active".into()),
                        ..Known::default()
                    },
                );
            }
        }
    }
    // The entry the way back is journaled under: the last one the rollout reached.
    let (wave, entry) = of_group
        .iter()
        .rev()
        .find(|(w, _)| {
            let w = w.to_string();
            entries
                .iter()
                .any(|e| e.get("group") == Some(group) && e.get("wave") == Some(w.as_str()))
        })
        .copied()
        .unwrap_or((first_wave, first));
    let touched = entries
        .iter()
        .any(|e| e.get("group") == Some(group) && e.get("step").is_some());
    if !touched {
        return Err(NoWayBack::Nothing(format!(
            "{group}: nothing of this rollout has changed it: there is nothing to roll back"
        )));
    }
    // A rollback whose failover left traffic on a unit that then failed its checks: rebooting
    // the other unit would leave the pair's traffic on a failing unit with no standby. An
    // operator decides.
    if let Some(e) = entries.iter().rev().find(|e| {
        e.get("group") == Some(group)
            && e.get("step") == Some("failover")
            && e.event != Event::Start
    }) && e.event == Event::Fail
        && e.get("swapped") == Some("yes")
        && e.get("rollback").is_some()
    {
        let to = e.get("to").unwrap_or_default();
        return Err(format!(
            "{group}: the rollback's failover at {} left traffic on {to}, which then failed its checks ({}): \
             lbfleet reboots no unit of the pair while {to} carries its traffic failing; check {to} \
             (`lbfleet inventory sync` reads both units)",
            e.at,
            e.get("error").unwrap_or("no detail")
        )
        .into());
    }
    let old_of = |name: &str, k: &Known| -> Result<Version, String> {
        let vendor: Vendor = k
            .vendor
            .as_deref()
            .or(first.devices.first().map(|d| d.vendor.as_str()))
            .unwrap_or_default()
            .parse()
            .map_err(|e: crate::version::UnknownVendor| e.to_string())?;
        let from = k
            .from
            .as_deref()
            .ok_or_else(|| format!("{group}: the plan does not say which release {name} ran"))?;
        Version::parse(vendor, from).map_err(|e| e.to_string())
    };
    let revert = |name: &str,
                  k: &Known,
                  role: HaRole,
                  peer: Option<(String, String)>|
     -> Result<Revert, String> {
        let s = seen(entries, name);
        let old = old_of(name, k)?;
        Ok(Revert {
            device: name.to_string(),
            mgmt_host: k.host.clone(),
            runs: s
                .runs
                .unwrap_or_else(|| "an unfinished hop's release".into()),
            booted_before: s.booted_before,
            overwritten_by: s.overwritten_by,
            backup: entries
                .iter()
                .rev()
                .find(|e| {
                    e.event == Event::Done
                        && e.get("step") == Some("backup")
                        && e.get("device") == Some(name)
                })
                .and_then(|e| e.get("copied_to"))
                .map(str::to_string),
            peer,
            old,
            role,
        })
    };
    let mut steps = Vec::new();
    let mut carrying_now = None;
    if first.ha_group.is_none() {
        for (name, k) in &units {
            if seen(entries, name).changed {
                steps.push(BackStep::Revert(revert(name, k, HaRole::Standalone, None)?));
            }
        }
    } else {
        let carrier = carrier_now
            .or_else(|| super::carrying(entries, group))
            .map(str::to_string)
            .or_else(|| {
                units
                    .iter()
                    .find(|(_, k)| k.role.as_deref() == Some("active"))
                    .map(|(n, _)| n.clone())
            })
            .ok_or_else(|| {
                NoWayBack::Refused(format!(
                    "{group}: neither the plan nor the journal says which unit carries traffic"
                ))
            })?;
        carrying_now = Some(carrier.clone());
        let others: Vec<&(String, Known)> = units.iter().filter(|(n, _)| *n != carrier).collect();
        let host_of = |n: &str| {
            units
                .iter()
                .find(|(x, _)| x == n)
                .map(|(_, k)| k.host.clone())
                .unwrap_or_default()
        };
        let carrier_at = Some((carrier.clone(), host_of(&carrier)));
        for (name, k) in &others {
            if seen(entries, name).changed {
                steps.push(BackStep::Revert(revert(
                    name,
                    k,
                    HaRole::Standby,
                    carrier_at.clone(),
                )?));
            }
        }
        if seen(entries, &carrier).changed {
            let (to, tk) = others.first().ok_or_else(|| {
                NoWayBack::Refused(format!(
                    "{group}: the plan names no unit to take {carrier}'s traffic"
                ))
            })?;
            let ck = units
                .iter()
                .find(|(n, _)| *n == carrier)
                .map(|(_, k)| k.clone())
                .unwrap_or_default();
            steps.push(BackStep::Failover(FailBack {
                wave,
                entry,
                to: (to.clone(), tk.host.clone()),
                from: (carrier.clone(), ck.host.clone()),
                old: old_of(to, tk)?,
            }));
            steps.push(BackStep::Revert(revert(
                &carrier,
                &ck,
                HaRole::Standby,
                Some((to.clone(), tk.host.clone())),
            )?));
        }
        // The state before the change: its active unit carries the traffic again.
        let last = steps.iter().rev().find_map(|s| match s {
            BackStep::Failover(f) => Some(f.to.0.clone()),
            BackStep::Revert(_) => None,
        });
        let original = units
            .iter()
            .find(|(_, k)| k.role.as_deref() == Some("active"));
        if let (Some(now), Some((name, k))) = (last, original)
            && now != *name
        {
            steps.push(BackStep::Failover(FailBack {
                wave,
                entry,
                to: (name.clone(), k.host.clone()),
                from: (now.clone(), host_of(&now)),
                old: old_of(name, k)?,
            }));
        }
    }
    if steps.is_empty() {
        return Err(NoWayBack::Nothing(
            match super::rolled_back(entries, group) {
                Some(at) => format!(
                    "{group} was rolled back at {at}: every unit runs the release the plan found it on"
                ),
                None => format!(
                    "{group}: every unit runs the release the plan found it on: there is nothing to roll back"
                ),
            },
        ));
    }
    let pair: Vec<(String, String)> = if first.ha_group.is_some() {
        units
            .iter()
            .map(|(n, k)| (n.clone(), k.host.clone()))
            .collect()
    } else {
        Vec::new()
    };
    Ok(BackOut {
        group: group.to_string(),
        wave,
        entry,
        steps,
        units: pair,
        carrier: carrying_now,
    })
}

/// The unit of the pair that reports active now, read from both units (read-only): `Ok(None)`
/// for a standalone group; an error when none or both do, or one cannot be read.
pub fn carrier_now(
    bo: &BackOut<'_>,
    drivers: &Drivers,
    connector: &dyn Connector,
) -> Result<Option<String>, String> {
    let mut active = Vec::new();
    for (name, host) in &bo.units {
        let d = unit(bo.entry, name, host)?;
        let (driver, _) = driver_of(drivers, &d)?;
        let mut t = connector.connect(&d).map_err(|e| format!("{name}: {e}"))?;
        let c = device::role_check(t.as_mut(), driver, HaRole::Active).unwrap_or_else(|c| c);
        if c.status == device::Status::Ok {
            active.push(name.clone());
        }
    }
    match active.as_slice() {
        [] if bo.units.is_empty() => Ok(None),
        [one] => Ok(Some(one.clone())),
        [] => Err(format!(
            "{}: no unit reports active ({}): nothing can take the traffic",
            bo.group,
            bo.units
                .iter()
                .map(|(n, _)| n.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )),
        many => Err(format!(
            "{}: {} report active at once: settle the pair first",
            bo.group,
            many.join(" and ")
        )),
    }
}

/// Why a group's way back cannot start, read-only: every unit that reboots must have a way
/// back ([`device::way_back`]: a rollback command, and a volume that still holds its old
/// release). Returns the command each such unit will be sent, in step order.
pub fn check_back_out(
    bo: &BackOut<'_>,
    drivers: &Drivers,
    connector: &dyn Connector,
) -> Result<Vec<(String, Option<String>)>, String> {
    let mut out = Vec::new();
    for r in bo.reverts() {
        let d = unit(bo.entry, &r.device, &r.mgmt_host)?;
        let (driver, _) = driver_of(drivers, &d)?;
        let mut t = connector
            .connect(&d)
            .map_err(|e| format!("{}: {e}", r.device))?;
        let way = device::way_back(t.as_mut(), driver, &r.old, r.booted_before.as_deref())
            .map_err(|why| {
                format!(
                    "{}: {why}{}",
                    r.device,
                    r.backup
                        .as_deref()
                        .map(|b| format!(
                            " (the configuration backup taken before its first change: {b})"
                        ))
                        .unwrap_or_default()
                )
            })?;
        let line = match way {
            Way::AlreadyThere => None,
            Way::Boot(v) => {
                let mut values: Vec<(&str, &str)> = vec![("release", r.old.as_str())];
                values.extend(v.as_deref().map(|v| ("volume", v)));
                Some(
                    driver
                        .render_with("rollback", &values)
                        .map_err(|e| format!("{}: {e}", r.device))?,
                )
            }
        };
        out.push((r.device.clone(), line));
    }
    Ok(out)
}

/// The checks a dry run shows for a unit that reboots back: its role (never the unit carrying
/// traffic, unless the failover before it moves traffic away).
pub fn dry_run_revert(
    bo: &BackOut<'_>,
    r: &Revert,
    drivers: &Drivers,
    connector: &dyn Connector,
    after_failover: bool,
) -> Result<Vec<Check>, String> {
    if after_failover {
        return Ok(Vec::new());
    }
    let d = unit(bo.entry, &r.device, &r.mgmt_host)?;
    let (driver, _) = driver_of(drivers, &d)?;
    let mut t = connector
        .connect(&d)
        .map_err(|e| format!("{}: {e}", r.device))?;
    let mut checks = vec![device::role_check(t.as_mut(), driver, r.role).unwrap_or_else(|c| c)];
    if let Some(why) = peer_not_carrying(drivers, connector, bo, r) {
        checks.push(Check {
            name: "peer",
            status: device::Status::Fail,
            detail: why,
        });
    }
    Ok(checks)
}

/// Why the unit that must carry the pair's traffic while `r` reboots does not, if it does not
/// (it must report active).
fn peer_not_carrying(
    drivers: &Drivers,
    connector: &dyn Connector,
    bo: &BackOut<'_>,
    r: &Revert,
) -> Option<String> {
    let (name, host) = r.peer.as_ref()?;
    let p = match unit(bo.entry, name, host) {
        Ok(p) => p,
        Err(e) => return Some(e),
    };
    let (driver, _) = match driver_of(drivers, &p) {
        Ok(d) => d,
        Err(e) => return Some(e),
    };
    let mut t = match connector.connect(&p) {
        Ok(t) => t,
        Err(e) => {
            return Some(format!(
                "{name}, which must carry the traffic meanwhile: {e}"
            ));
        }
    };
    let c = device::role_check(t.as_mut(), driver, HaRole::Active).unwrap_or_else(|c| c);
    (c.status == device::Status::Fail).then(|| {
        format!(
            "{name}, which must carry the traffic meanwhile, {}",
            c.detail
        )
    })
}

/// Runs a group's way back: each unit rebooted into its old release and checked (journaled as
/// `step=revert`, its version written back), the failover checked as every failover is (the
/// taker must run its old release). Stops at the first step that fails; running it again
/// continues from the journal.
pub fn roll_back(
    bo: &BackOut<'_>,
    drivers: &Drivers,
    connector: &dyn Connector,
    settings: &Settings<'_>,
    journal: &Mutex<Journal>,
    observer: &dyn Observer,
    minutes: i64,
) -> Result<(), String> {
    let stop = AtomicBool::new(false);
    let manifest = Manifest::default();
    let c = Ctx {
        drivers,
        manifest: &manifest,
        connector,
        settings,
        journal,
        stop: &stop,
        observer,
    };
    let flat = |e: GroupStop| match e {
        GroupStop::Failed(m)
        | GroupStop::Waiting(m)
        | GroupStop::Interrupted(m)
        | GroupStop::Held(m) => m,
    };
    // The window must hold the way back, not the forward work the entry was planned for.
    let mut sized = bo.entry.clone();
    sized.estimated_minutes = minutes;
    c.admit(&sized, None).map_err(flat)?;
    let wave = bo.wave.to_string();
    let kept: Sessions = Default::default();
    for step in &bo.steps {
        if let Some(h) = c.hold() {
            return Err(flat(h));
        }
        match step {
            BackStep::Revert(r) => revert_one(&c, bo, &wave, r, &kept).map_err(flat)?,
            BackStep::Failover(fb) => {
                let fields = [
                    ("wave", wave.as_str()),
                    ("group", bo.group.as_str()),
                    ("step", "failover"),
                    ("to", fb.to.0.as_str()),
                    ("for", "rollback"),
                    ("from", fb.from.0.as_str()),
                    ("rollback", "operator"),
                ];
                let roles: HashMap<String, HaRole> = [
                    (fb.from.0.clone(), HaRole::Active),
                    (fb.to.0.clone(), HaRole::Standby),
                ]
                .into();
                hand_over(
                    &c,
                    &fields,
                    fb.entry,
                    (&fb.to.0, &fb.to.1),
                    Some((&fb.from.0, &fb.from.1)),
                    &roles,
                    &kept,
                    Some(&fb.old),
                )
                .map_err(flat)?;
            }
        }
    }
    Ok(())
}

fn revert_one(
    c: &Ctx<'_>,
    bo: &BackOut<'_>,
    wave: &str,
    r: &Revert,
    kept: &Sessions,
) -> Result<(), GroupStop> {
    let fields = [
        ("wave", wave),
        ("group", bo.group.as_str()),
        ("step", "revert"),
        ("device", r.device.as_str()),
        ("to", r.old.as_str()),
    ];
    let d = unit(bo.entry, &r.device, &r.mgmt_host)?;
    let (driver, vendor) = driver_of(c.drivers, &d)?;
    let resumed = c.unfinished(&step_key(&fields));
    c.record(Event::Start, &fields)?;
    // The pair's traffic must be on the other unit before this one goes down.
    if let Some(why) = peer_not_carrying(c.drivers, c.connector, bo, r) {
        let msg = format!("not rebooted: {why}");
        let mut f = fields.to_vec();
        f.push(("error", &msg));
        c.record(Event::Fail, &f)?;
        return Err(GroupStop::Failed(format!("{}: {msg}", r.device)));
    }
    c.observer.on(Progress::Step {
        device: &r.device,
        step: "rollback",
        detail: &format!("{} -> {}", r.runs, r.old),
    });
    let mut connect = Link::new(c, &d, kept);
    let mut on_step = super::step_reporter(c.observer, &r.device);
    match device::revert(
        &mut connect,
        driver,
        vendor,
        &r.old,
        r.role,
        r.booted_before.as_deref(),
        c.settings.wait,
        resumed,
        &mut on_step,
    ) {
        Ok(device::Reverted::AlreadyThere) => {
            c.record(Event::Skip, &fields)?;
        }
        Ok(device::Reverted::Rebooted(_, booted)) => {
            let mut f = fields.to_vec();
            f.extend(booted.before.as_deref().map(|v| ("booted_before", v)));
            f.extend(booted.after.as_deref().map(|v| ("booted_after", v)));
            c.record(Event::Done, &f)?;
        }
        Err(e) => {
            let msg = e.to_string();
            let mut f = fields.to_vec();
            f.push(("error", &msg));
            if let device::HopError::Interrupted(_) = e {
                c.record(Event::Interrupted, &f)?;
                return Err(GroupStop::Interrupted(format!("{}: {msg}", r.device)));
            }
            c.record(Event::Fail, &f)?;
            return Err(GroupStop::Failed(format!("{}: {msg}", r.device)));
        }
    }
    c.write_back(&r.device, "version", r.old.as_str())?;
    c.observer.on(Progress::Step {
        device: &r.device,
        step: "rolled back",
        detail: &format!("runs {}", r.old),
    });
    Ok(())
}
