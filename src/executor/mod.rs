//! The rollout engine: runs a plan's waves in order, the groups of a wave in parallel, each HA
//! group standby first, then a verified failover, then the former active; every step journaled
//! (see [`journal`]) so that `--resume` repeats nothing finished.
//!
//! Safety rules: one step at a time per group (never both members of a pair out of service);
//! when failures exceed the budget, or the canary fails, or Ctrl-C is pressed, running groups
//! finish their current step and nothing new starts.

pub mod journal;
pub mod report;
mod rollback;
#[cfg(test)]
mod testbed;
#[cfg(test)]
mod tests;
pub mod ticket;
pub mod windows;

use std::collections::{HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use crate::device::{self, Expectation, Hop, Wait};
use crate::driver::{Driver, Drivers};
use crate::images::Manifest;
use crate::inventory::HaRole;
use crate::planner::file::{Group, PlannedDevice, Step as PlanStep, Wave, WaveKind};
use crate::ssh::{SshError, Transport};
use crate::version::{Vendor, Version};

use journal::{Event, Journal};
pub use rollback::{
    BackOut, BackStep, FailBack, NoWayBack, Revert, back_out, back_out_from, carrier_now,
    check_back_out, dry_run_revert, roll_back,
};
pub use windows::{Admit, PlannedWindows, WindowMode, Windows};

/// How many failed groups the rollout tolerates.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Budget {
    /// At most this many.
    Count(usize),
    /// At most this share of all groups in the plan (0–100).
    Percent(f64),
}

impl std::str::FromStr for Budget {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        match t.strip_suffix('%') {
            Some(p) => p
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|v| (0.0..=100.0).contains(v))
                .map(Budget::Percent)
                .ok_or_else(|| format!("\"{s}\": expected N or P% (0 to 100)")),
            None => t
                .parse::<usize>()
                .map(Budget::Count)
                .map_err(|_| format!("\"{s}\": expected N or P% (0 to 100)")),
        }
    }
}

impl Budget {
    /// Failures allowed for `groups` groups.
    pub fn allowed(&self, groups: usize) -> usize {
        match *self {
            Budget::Count(n) => n,
            Budget::Percent(p) => ((groups as f64) * p / 100.0).floor() as usize,
        }
    }
}

/// Opens sessions to devices.
pub trait Connector: Sync {
    /// A new session to the device.
    fn connect(&self, device: &PlannedDevice) -> Result<Box<dyn Transport>, SshError>;

    /// Whether the device accepts connections at all, without a session when the transport
    /// allows (seeing a device go down after its reboot command).
    fn answers(&self, device: &PlannedDevice) -> bool {
        self.connect(device).is_ok()
    }
}

/// Sessions a group's last step left open, by device: the next step on the same device (a
/// failover checked on the unit just upgraded, the former active's hop after the failover
/// command) uses one instead of logging in again. A group's steps follow each other within
/// seconds, and a device's entry is taken before anything reboots it.
type Sessions = std::cell::RefCell<HashMap<String, Box<dyn Transport>>>;

/// One device's sessions through a [`Connector`], for the device steps that reconnect.
struct Link<'a> {
    connector: &'a dyn Connector,
    device: &'a PlannedDevice,
    kept: &'a Sessions,
}

impl<'a> Link<'a> {
    fn new(c: &Ctx<'a>, device: &'a PlannedDevice, kept: &'a Sessions) -> Link<'a> {
        Link {
            connector: c.connector,
            device,
            kept,
        }
    }
}

/// Reports a device step's start to the observer.
fn step_reporter<'a>(
    observer: &'a dyn Observer,
    device: &'a str,
) -> impl FnMut(device::Step, &str) + 'a {
    move |s, detail| {
        observer.on(Progress::Step {
            device,
            step: &format!("{s:?}"),
            detail,
        })
    }
}

impl device::Reconnect for Link<'_> {
    fn session(&mut self) -> Result<Box<dyn Transport>, SshError> {
        match self.kept.borrow_mut().remove(&self.device.name) {
            Some(t) => Ok(t),
            None => self.connector.connect(self.device),
        }
    }

    fn answers(&mut self) -> bool {
        self.connector.answers(self.device)
    }

    fn keep(&mut self, session: Box<dyn Transport>) {
        self.kept
            .borrow_mut()
            .insert(self.device.name.clone(), session);
    }
}

/// How to run.
pub struct Settings<'a> {
    /// Groups of a wave at once.
    pub parallel: usize,
    /// Failed groups tolerated.
    pub budget: Budget,
    /// Reboot and install waits.
    pub wait: Wait,
    /// Image folder.
    pub images: PathBuf,
    /// When each group may start.
    pub windows: &'a dyn Windows,
    /// What to do with a group whose window is not open.
    pub mode: WindowMode,
    /// Minutes after the canary wave, and after every later wave, before the next starts.
    pub soak_minutes: (i64, i64),
    /// Where "now" comes from.
    pub clock: &'a (dyn crate::clock::Clock + Sync),
    /// Where what a step changed is written back (`None`: `--no-write-inventory`).
    pub inventory: Option<&'a dyn InventoryWriter>,
    /// Where each device's configuration backup goes before its first change (`None`: no
    /// backups, `--no-backups`).
    pub backups: Option<&'a Backups>,
    /// What must say yes before the waves after the canary start (`--gate`), if anything.
    pub gate: Option<&'a dyn Gate>,
}

/// A condition between the canary and the rest of the fleet (`upgrade --gate leak-fixed`):
/// asked once the canary wave has finished and its soak is over, until it opens (journaled:
/// a later run does not ask again).
pub trait Gate: Sync {
    /// Its name in the journal and messages (`leak-fixed:ID974501`).
    fn name(&self) -> String;
    /// What it says now, given the journal so far.
    fn check(&self, entries: &[journal::Entry]) -> GateCheck;
    /// How long to wait before asking again after it said wait (without `--due`).
    fn recheck(&self) -> std::time::Duration {
        GATE_RECHECK
    }
    /// Whether the operator accepts whatever it says (`--accept-verdict`): a stop journaled
    /// earlier does not hold then.
    fn accepting(&self) -> bool {
        false
    }
    /// What it was asked with (`min-days=3 from=--gate`), journaled with each verdict.
    fn settings(&self) -> String {
        String::new()
    }
}

/// What a gate says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GateCheck {
    /// The rest of the fleet may go on; why (recorded).
    Open(String),
    /// Not yet: what it waits for.
    Wait(String),
    /// The rollout stops here: the evidence.
    Stop(String),
    /// It could not tell (its data could not be read): the run ends, nothing is journaled.
    Error(String),
}

impl GateCheck {
    /// Its word (`open`, `wait`, `stop`, `error`) and what it says.
    pub fn parts(&self) -> (&'static str, &str) {
        match self {
            GateCheck::Open(d) => ("open", d),
            GateCheck::Wait(d) => ("wait", d),
            GateCheck::Stop(d) => ("stop", d),
            GateCheck::Error(d) => ("error", d),
        }
    }
}

/// How often a waiting gate is asked again (without `--due`): a verdict moves with new
/// telemetry, not by the second.
pub const GATE_RECHECK: std::time::Duration = std::time::Duration::from_secs(600);

/// Whether the journal records `gate` open.
pub fn gate_opened(entries: &[journal::Entry], gate: &str) -> bool {
    entries.iter().any(|e| {
        e.event == Event::Note
            && e.get("what") == Some("gate")
            && e.get("gate") == Some(gate)
            && e.get("verdict") == Some("open")
    })
}

/// Asks the gate before the wave after the canary: `Ok` when it is (or was) open, `Err` with
/// how the run ends here (waiting with `--due`, stopped, interrupted). Without `--due` a gate
/// that says wait is asked again every [`GATE_RECHECK`]. A gate that once said stop stays
/// stopped (later telemetry does not reopen it) unless the operator accepts.
fn pass_gate(
    gate: &dyn Gate,
    wave: &Wave,
    settings: &Settings<'_>,
    journal: &Mutex<Journal>,
    observer: &dyn Observer,
) -> Result<(), GateEnd> {
    let name = gate.name();
    let label = format!("wave {}", wave.index);
    loop {
        let entries = journal.lock().expect("journal lock").entries.clone();
        if gate_opened(&entries, &name) {
            return Ok(());
        }
        let last = entries
            .iter()
            .rev()
            .find(|e| {
                e.event == Event::Note
                    && e.get("what") == Some("gate")
                    && e.get("gate") == Some(&name)
            })
            .map(|e| {
                (
                    e.at.clone(),
                    e.get("verdict").unwrap_or(""),
                    e.get("detail").unwrap_or(""),
                )
            });
        if let (Some((at, "stop", detail)), false) = (&last, gate.accepting()) {
            return Err(GateEnd::Stopped(format!(
                "the gate {name} stopped the rollout at {at} and holds {label} and everything after it: {detail} (--accept-verdict goes on anyway; `lbfleet rollback` takes the canary back)"
            )));
        }
        let said = gate.check(&entries);
        // Not a verdict: the run ends with the error, nothing journaled.
        if let GateCheck::Error(e) = &said {
            return Err(GateEnd::Stopped(format!(
                "the gate {name} could not be asked: {e}"
            )));
        }
        let (verdict, detail) = said.parts();
        // What the gate says is journaled when its word changes (a waiting gate's details move
        // with every reading).
        if last.as_ref().map(|l| l.1) != Some(verdict) {
            let with = gate.settings();
            let mut fields = vec![
                ("what", "gate"),
                ("gate", name.as_str()),
                ("wave", label.trim_start_matches("wave ")),
                ("verdict", verdict),
                ("detail", detail),
            ];
            if !with.is_empty() {
                fields.push(("with", with.as_str()));
            }
            journal
                .lock()
                .expect("journal lock")
                .record(Event::Note, &fields)
                .map_err(|e| GateEnd::Stopped(format!("cannot write the journal: {e}")))?;
        }
        match said {
            GateCheck::Open(d) => {
                observer.on(Progress::Step {
                    device: &label,
                    step: "gate",
                    detail: &format!("{name} open: {d}"),
                });
                return Ok(());
            }
            GateCheck::Stop(d) => {
                return Err(GateEnd::Stopped(format!(
                    "the gate {name} holds {label} and everything after it: {d} (--accept-verdict goes on anyway; `lbfleet rollback` takes the canary back)"
                )));
            }
            GateCheck::Wait(d) => {
                if settings.mode == WindowMode::Due {
                    return Err(GateEnd::Waiting(format!(
                        "waiting for verdict ({name}): {d}"
                    )));
                }
                let what = format!("the verdict of {name} ({d})");
                observer.on(Progress::Waiting {
                    group: &label,
                    until: settings.clock.now()
                        + jiff::SignedDuration::try_from(gate.recheck()).unwrap_or_default(),
                    what: &what,
                });
                if !settings.wait.sleep(gate.recheck()) {
                    return Err(GateEnd::Interrupted);
                }
            }
            GateCheck::Error(_) => unreachable!("returned above"),
        }
    }
}

/// How a run ends at a gate that did not open.
#[derive(Debug)]
enum GateEnd {
    Waiting(String),
    Stopped(String),
    Interrupted,
}

/// Configuration backups before each device's first change, copied to the operator's machine.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Backups {
    /// The folder (one subfolder per device).
    pub dir: PathBuf,
    /// What names this rollout in archive names (the plan file's name).
    pub tag: String,
}

impl Backups {
    /// The archive name for `device`: `lbfleet-TAG-DEVICE.ucs`, with anything a driver's
    /// archive pattern would refuse replaced by `-`.
    pub fn archive(&self, device: &str) -> String {
        let clean = |s: &str| -> String {
            s.chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                        c
                    } else {
                        '-'
                    }
                })
                .collect()
        };
        let mut name = format!("lbfleet-{}-{}", clean(&self.tag), clean(device));
        name.truncate(120);
        format!("{name}.ucs")
    }

    /// Where `device`'s backup is copied.
    pub fn folder(&self, device: &str) -> PathBuf {
        self.dir.join(device)
    }
}

/// Keeps the inventory true as steps finish: the version after a verified hop, both roles
/// after a verified failover (`upgrade` and `reboots run` write the devices' CSV rows).
pub trait InventoryWriter: Sync {
    /// Sets `field` (`version`, `ha_role`) of `device` to `value`: `Ok(Some(file))` when a
    /// cell changed, `Ok(None)` when the inventory said so already.
    fn set(&self, device: &str, field: &str, value: &str) -> Result<Option<String>, String>;
}

/// How the run ended.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Groups that finished every step.
    pub completed: usize,
    /// Groups that failed, with the reason.
    pub failed: Vec<(String, String)>,
    /// Groups that wait for a window or a soak (`--due`), with what they wait for.
    pub waiting: Vec<(String, String)>,
    /// Why the rollout stopped early, if it did.
    pub stopped: Option<String>,
    /// Whether Ctrl-C stopped it.
    pub interrupted: bool,
}

/// Why a group did not finish.
#[derive(Clone, Debug, PartialEq)]
pub enum GroupStop {
    /// A step failed: counted against the failure budget.
    Failed(String),
    /// Ctrl-C: unfinished, resumable, never counted.
    Interrupted(String),
    /// Its window (or the soak before its wave) has not come: `--due` leaves it for later.
    Waiting(String),
    /// Held by the failure budget or a failed canary before its next step.
    Held(String),
}

/// How a group ended, for the progress display.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GroupEnd {
    /// Every step done.
    Done,
    /// A step failed.
    Failed,
    /// Ctrl-C.
    Interrupted,
    /// Waiting for its window.
    Waiting,
    /// Held by the budget.
    Held,
}

/// What a wave did, for the confirmation before the next one.
#[derive(Debug, Default, Clone)]
pub struct WaveReport {
    /// Wave index.
    pub index: usize,
    /// Groups completed in this wave.
    pub completed: usize,
    /// Groups failed in this wave.
    pub failed: Vec<(String, String)>,
    /// Groups waiting for their window (`--due`).
    pub waiting: Vec<(String, String)>,
    /// Groups interrupted or held part-way.
    pub unfinished: Vec<(String, String)>,
    /// Whether any group of the wave did anything in this run (not all finished earlier).
    pub ran: bool,
}

/// What the engine reports as it goes.
#[derive(Clone, Copy, Debug)]
pub enum Progress<'a> {
    /// A wave starts.
    Wave {
        /// Its index.
        index: usize,
        /// Canary or not.
        kind: WaveKind,
        /// Groups in it.
        groups: usize,
    },
    /// A device starts a step (`hop`, `Precheck`, `Stage`, `Install`, `Reboot`, ...).
    Step {
        /// Device (or group, for a failover).
        device: &'a str,
        /// What.
        step: &'a str,
        /// Details.
        detail: &'a str,
    },
    /// Upload progress.
    Upload {
        /// Device.
        device: &'a str,
        /// Bytes sent.
        done: u64,
        /// Bytes in all.
        total: u64,
    },
    /// A group ended.
    GroupDone {
        /// Group.
        group: &'a str,
        /// How.
        end: GroupEnd,
        /// The failure or what it waits for, if anything.
        detail: &'a str,
    },
    /// A group waits for its maintenance window (or the soak before its wave).
    Waiting {
        /// Group.
        group: &'a str,
        /// When it may start (UTC).
        until: jiff::Timestamp,
        /// What it waits for.
        what: &'a str,
    },
}

/// Hears the engine's progress (terminal bars, plain lines, tests).
pub trait Observer: Sync {
    /// One event.
    fn on(&self, p: Progress<'_>);
    /// Nothing is in flight (a wave ended, or the run): clear what is shown per device.
    fn settle(&self) {}
}

/// Set by the Ctrl-C handler: finish the current steps, start nothing new.
pub static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Whether a journaled failover left traffic on its `to` unit: it finished, or it failed with
/// the roles swapped all the same (`swapped=yes`).
fn moved_traffic(e: &journal::Entry) -> bool {
    e.get("step") == Some("failover")
        && (e.event == Event::Done || (e.event == Event::Fail && e.get("swapped") == Some("yes")))
}

/// The unit the journal last moved the group's traffic to, if any failover of it did.
pub fn carrying<'e>(entries: &'e [journal::Entry], group: &str) -> Option<&'e str> {
    entries
        .iter()
        .rev()
        .find(|e| moved_traffic(e) && e.get("group") == Some(group))
        .and_then(|e| e.get("to"))
}

/// When the journal last shows the group going back to the old release (a failover marked
/// `rollback=` that moved traffic, or a unit rebooted back into it), if it does.
pub fn rolled_back(entries: &[journal::Entry], group: &str) -> Option<String> {
    entries
        .iter()
        .rev()
        .filter(|e| e.get("group") == Some(group))
        .find(|e| {
            (moved_traffic(e) && e.get("rollback").is_some())
                || (e.get("step") == Some("revert") && matches!(e.event, Event::Done | Event::Skip))
        })
        .map(|e| e.at.clone())
}

/// The group's name for journals: its HA group, or its device.
pub fn group_name(g: &Group) -> String {
    g.ha_group.clone().unwrap_or_else(|| {
        g.devices
            .first()
            .map(|d| d.name.clone())
            .unwrap_or_default()
    })
}

struct Ctx<'a> {
    drivers: &'a Drivers,
    manifest: &'a Manifest,
    connector: &'a dyn Connector,
    settings: &'a Settings<'a>,
    journal: &'a Mutex<Journal>,
    stop: &'a AtomicBool,
    observer: &'a dyn Observer,
}

impl Ctx<'_> {
    fn record(&self, event: Event, fields: &[(&str, &str)]) -> Result<(), String> {
        self.journal
            .lock()
            .expect("journal lock")
            .record(event, fields)
            .map_err(|e| format!("cannot write the journal: {e}"))
    }

    /// Writes what a verified step changed into the inventory, journaling each write; a
    /// write that fails fails the group (the device is changed; `--resume` writes it again).
    fn write_back(&self, device: &str, field: &str, value: &str) -> Result<(), GroupStop> {
        write_back(self.settings, self.journal, device, field, value).map_err(GroupStop::Failed)
    }

    fn finished(&self, key: &str) -> bool {
        self.journal.lock().expect("journal lock").finished(key)
    }

    /// When traffic of the group went back to a unit on the old release (`lbfleet rollback`,
    /// or a carrier that failed its checks after the soak), if it did.
    fn rolled_back(&self, group: &str) -> Option<String> {
        rolled_back(&self.journal.lock().expect("journal lock").entries, group)
    }

    /// Why nothing new may start, if something says so.
    fn hold(&self) -> Option<GroupStop> {
        if INTERRUPTED.load(Ordering::SeqCst) {
            Some(GroupStop::Interrupted(
                "interrupted before this step".into(),
            ))
        } else if self.stop.load(Ordering::SeqCst) {
            Some(GroupStop::Held(
                "held before this step: the rollout is stopping".into(),
            ))
        } else {
            None
        }
    }

    /// Whether a step failed in an earlier attempt (it got as far as its own checks, after
    /// everything before it).
    fn failed_before(&self, key: &str) -> bool {
        let j = self.journal.lock().expect("journal lock");
        j.entries
            .iter()
            .any(|e| e.event == Event::Fail && e.key() == key)
    }

    /// Whether a step was started and never ended (a crash or kill part-way): the device may
    /// be in the middle of it, rebooting.
    fn unfinished(&self, key: &str) -> bool {
        let j = self.journal.lock().expect("journal lock");
        j.entries
            .iter()
            .rev()
            .find(|e| e.event != Event::Note && e.key() == key)
            .is_some_and(|e| matches!(e.event, Event::Start | Event::Interrupted))
    }

    /// Waits until `g` may start: the soak before its wave (`ready`) is over and its window is
    /// open with room for its estimated minutes. With `--due` a group that cannot start now
    /// is left waiting; by default the wait is a countdown that Ctrl-C ends.
    fn admit(&self, g: &Group, ready: Option<(jiff::Timestamp, String)>) -> Result<(), GroupStop> {
        if self.settings.mode == WindowMode::Ignore {
            return Ok(());
        }
        let name = group_name(g);
        loop {
            if let Some(h) = self.hold() {
                return Err(h);
            }
            let now = self.settings.clock.now();
            let verdict = match &ready {
                Some((t, what)) if *t > now => Admit::At(*t, what.clone()),
                _ => self.settings.windows.admit(g, now),
            };
            match verdict {
                Admit::Now => return Ok(()),
                Admit::Never(why) => return Err(GroupStop::Failed(why)),
                Admit::At(t, what) => {
                    if self.settings.mode == WindowMode::Due {
                        return Err(GroupStop::Waiting(format!(
                            "{what}: starts at {}",
                            crate::planner::utc(t)
                        )));
                    }
                    self.observer.on(Progress::Waiting {
                        group: &name,
                        until: t,
                        what: &what,
                    });
                    // Checked again every poll interval (the countdown's pace).
                    let left = t.duration_since(now).unsigned_abs();
                    let step = left.min(self.settings.wait.interval);
                    if !self.settings.wait.sleep(step) {
                        return Err(GroupStop::Interrupted(format!(
                            "interrupted while waiting for {what}"
                        )));
                    }
                }
            }
        }
    }
}

fn driver_of<'a>(drivers: &'a Drivers, d: &PlannedDevice) -> Result<(&'a Driver, Vendor), String> {
    let vendor: Vendor = d
        .vendor
        .parse()
        .map_err(|e: crate::version::UnknownVendor| e.to_string())?;
    Ok((drivers.get(vendor).map_err(|e| e.to_string())?, vendor))
}

fn role_of(text: &str) -> HaRole {
    match text {
        "active" => HaRole::Active,
        "standby" => HaRole::Standby,
        _ => HaRole::Standalone,
    }
}

/// A step's journal key: its identifying fields as `k=v` pairs.
fn step_key(fields: &[(&str, &str)]) -> String {
    fields
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(" ")
}

impl From<String> for GroupStop {
    fn from(s: String) -> GroupStop {
        GroupStop::Failed(s)
    }
}

impl From<&str> for GroupStop {
    fn from(s: &str) -> GroupStop {
        GroupStop::Failed(s.to_string())
    }
}

/// Runs one group's steps; `Err` says why it did not finish. `ready` is when its wave may
/// start (the soak after the previous wave), checked with its window before its first
/// unfinished step, so a finished group never waits.
fn run_group(
    c: &Ctx<'_>,
    wave: usize,
    g: &Group,
    ready: &Option<(jiff::Timestamp, String)>,
    handover: Option<&Handover>,
) -> Result<(), GroupStop> {
    let gname = group_name(g);
    let wave_s = wave.to_string();
    // A rolled-back group runs no further step and is not done, whatever it finished before.
    if let Some(at) = c.rolled_back(&gname) {
        return Err(GroupStop::Failed(format!(
            "{gname} was rolled back at {at}: nothing more of it runs (plan it again)"
        )));
    }
    // Roles as planned, or as an earlier wave's failover of the group left them.
    let mut roles: HashMap<String, HaRole> = g
        .devices
        .iter()
        .map(|d| (d.name.clone(), role_of(&d.role)))
        .collect();
    if let Some(h) = handover {
        for (n, r) in roles.iter_mut() {
            if *r != HaRole::Standalone {
                *r = if *n == h.to {
                    HaRole::Active
                } else {
                    HaRole::Standby
                };
            }
        }
    }
    let kept: Sessions = Default::default();
    // Nothing of the entry has begun (not even a step an interruption cut short): a handover's
    // carrier is checked before the first step.
    let fresh = !c
        .journal
        .lock()
        .expect("journal lock")
        .entries
        .iter()
        .any(|e| e.get("wave") == Some(wave_s.as_str()) && e.get("group") == Some(gname.as_str()));
    let mut admitted = false;
    let mut admit = |c: &Ctx<'_>| -> Result<(), GroupStop> {
        if !admitted {
            c.admit(g, ready.clone())?;
            admitted = true;
            if let (true, Some(h)) = (fresh, handover) {
                soak_check(c, g, h, &kept)?;
            }
        }
        Ok(())
    };
    for step in &g.steps {
        if let Some(h) = c.hold() {
            return Err(h);
        }
        match step {
            PlanStep::Upgrade { device: name } => {
                let d = g
                    .devices
                    .iter()
                    .find(|d| &d.name == name)
                    .ok_or_else(|| format!("{name} is not in its group's devices"))?;
                let (driver, vendor) = driver_of(c.drivers, d)?;
                let mut prev = Version::parse(vendor, &d.from).map_err(|e| e.to_string())?;
                for hop in &d.path {
                    let to = Version::parse(vendor, hop).map_err(|e| e.to_string())?;
                    let fields = [
                        ("wave", wave_s.as_str()),
                        ("group", gname.as_str()),
                        ("step", "hop"),
                        ("device", name.as_str()),
                        ("to", hop.as_str()),
                    ];
                    if c.finished(&step_key(&fields)) {
                        prev = to;
                        continue;
                    }
                    if let Some(h) = c.hold() {
                        return Err(h);
                    }
                    admit(c)?;
                    // Before the device's first change: its configuration, copied and checked.
                    let started =
                        c.unfinished(&step_key(&fields)) || c.failed_before(&step_key(&fields));
                    if let (Some(b), false) = (c.settings.backups, started) {
                        let expect = Expectation {
                            vendor,
                            version: prev.clone(),
                            role: roles[name.as_str()],
                            space_needed: None,
                        };
                        backup_step(c, (&wave_s, &gname), d, driver, &expect, b, &kept)?;
                    }
                    let image = c.manifest.find(vendor, &to).ok_or_else(|| {
                        format!(
                            "no {} {to} image in {}",
                            vendor.id(),
                            c.settings.images.display()
                        )
                    })?;
                    let local = c.settings.images.join(&image.file);
                    let resumed = c.unfinished(&step_key(&fields));
                    // The volume it ran before this rollout's first hop: the way back. Read and
                    // journaled with the first hop's start, so an interrupted hop found done
                    // later still knows it.
                    let mut keep =
                        booted_first(&c.journal.lock().expect("journal lock").entries, name);
                    let mut start = fields.to_vec();
                    if keep.is_none() && !resumed {
                        keep = running_volume(c, d, driver, &kept);
                        start.extend(keep.as_deref().map(|v| ("booted_before", v)));
                    }
                    c.record(Event::Start, &start)?;
                    c.observer.on(Progress::Step {
                        device: name,
                        step: "hop",
                        detail: &format!("{prev} -> {to}"),
                    });
                    let hop_plan = Hop {
                        expect: Expectation {
                            vendor,
                            version: prev.clone(),
                            role: roles[name.as_str()],
                            space_needed: None,
                        },
                        to: to.clone(),
                        image,
                        local: &local,
                        keep: keep.as_deref(),
                    };
                    let mut connect = Link::new(c, d, &kept);
                    let observer = c.observer;
                    let mut on_step = step_reporter(observer, name);
                    let mut progress = |done: u64, total: u64| {
                        observer.on(Progress::Upload {
                            device: name,
                            done,
                            total,
                        })
                    };
                    match device::upgrade_hop(
                        &mut connect,
                        driver,
                        &hop_plan,
                        c.settings.wait,
                        resumed,
                        &mut on_step,
                        &mut progress,
                    ) {
                        Ok(device::HopOutcome::Upgraded(_, booted)) => {
                            // Where it came from, as it said: what a rollback boots again.
                            let mut f = fields.to_vec();
                            f.extend(booted.before.as_deref().map(|v| ("booted_before", v)));
                            f.extend(booted.after.as_deref().map(|v| ("booted_after", v)));
                            c.record(Event::Done, &f)?;
                            c.write_back(name, "version", hop)?;
                            prev = to;
                        }
                        // A hop finished before a crash that the journal did not record.
                        Ok(device::HopOutcome::AlreadyAtTarget) => {
                            c.record(Event::Skip, &fields)?;
                            c.write_back(name, "version", hop)?;
                            c.observer.on(Progress::Step {
                                device: name,
                                step: "skip",
                                detail: &format!("already runs {to}"),
                            });
                            prev = to;
                        }
                        Err(e) => {
                            let msg = e.to_string();
                            let mut f = fields.to_vec();
                            f.push(("error", &msg));
                            if let device::HopError::Interrupted(_) = e {
                                c.record(Event::Interrupted, &f)?;
                                return Err(GroupStop::Interrupted(format!("{name}: {msg}")));
                            }
                            c.record(Event::Fail, &f)?;
                            return Err(GroupStop::Failed(format!("{name}: {msg}")));
                        }
                    }
                }
            }
            PlanStep::Reboot { device: name } => {
                let d = g
                    .devices
                    .iter()
                    .find(|d| &d.name == name)
                    .ok_or_else(|| format!("{name} is not in its group's devices"))?;
                let (driver, vendor) = driver_of(c.drivers, d)?;
                let fields = [
                    ("wave", wave_s.as_str()),
                    ("group", gname.as_str()),
                    ("step", "reboot"),
                    ("device", name.as_str()),
                ];
                let key = step_key(&fields);
                if c.finished(&key) {
                    continue;
                }
                admit(c)?;
                let resumed = c.unfinished(&key);
                // An earlier attempt that got as far as the reboot command left memory low.
                let rebooted_before =
                    c.journal
                        .lock()
                        .expect("journal lock")
                        .entries
                        .iter()
                        .any(|e| {
                            e.event == Event::Fail
                                && e.key() == key
                                && e.get("rebooted") == Some("yes")
                        });
                c.record(Event::Start, &fields)?;
                c.observer.on(Progress::Step {
                    device: name,
                    step: "reboot",
                    detail: &d.from,
                });
                let expect = Expectation {
                    vendor,
                    version: Version::parse(vendor, &d.from).map_err(|e| e.to_string())?,
                    role: roles[name.as_str()],
                    space_needed: None,
                };
                let mut connect = Link::new(c, d, &kept);
                let mut on_step = step_reporter(c.observer, name);
                match device::reboot(
                    &mut connect,
                    driver,
                    &expect,
                    c.settings.wait,
                    !rebooted_before && !resumed,
                    resumed,
                    &mut on_step,
                ) {
                    Ok(r) => {
                        let show = |m: Option<device::MemoryUse>| {
                            m.map_or_else(|| "not reported".to_string(), |m| m.to_string())
                        };
                        let raw = |m: Option<device::MemoryUse>| {
                            m.map_or_else(String::new, |m| m.used.to_string())
                        };
                        let detail = format!(
                            "memory in use {} before, {} after{}",
                            show(r.before),
                            show(r.after),
                            if rebooted_before {
                                " (not compared: an earlier attempt rebooted it)"
                            } else {
                                ""
                            }
                        );
                        let (before, after) = (raw(r.before), raw(r.after));
                        let mut f = fields.to_vec();
                        f.extend([
                            ("detail", detail.as_str()),
                            ("mem_before", before.as_str()),
                            ("mem_after", after.as_str()),
                        ]);
                        c.record(Event::Done, &f)?;
                        c.observer.on(Progress::Step {
                            device: name,
                            step: "rebooted",
                            detail: &detail,
                        });
                    }
                    Err(e) => {
                        let msg = e.to_string();
                        let mut f = fields.to_vec();
                        f.push(("error", &msg));
                        if e.after_reboot() {
                            f.push(("rebooted", "yes"));
                        }
                        if let device::HopError::Interrupted(_) = e {
                            c.record(Event::Interrupted, &f)?;
                            return Err(GroupStop::Interrupted(format!("{name}: {msg}")));
                        }
                        c.record(Event::Fail, &f)?;
                        return Err(GroupStop::Failed(format!("{name}: {msg}")));
                    }
                }
            }
            PlanStep::Failover {
                to,
                mgmt_host,
                from,
                from_mgmt_host,
            } => {
                let mut fields = vec![
                    ("wave", wave_s.as_str()),
                    ("group", gname.as_str()),
                    ("step", "failover"),
                    ("to", to.as_str()),
                ];
                // The giver is recorded, not part of which step it is.
                let key = step_key(&fields);
                fields.extend(from.as_deref().map(|f| ("from", f)));
                let promote = |roles: &mut HashMap<String, HaRole>| {
                    for (n, r) in roles.iter_mut() {
                        *r = if n == to {
                            HaRole::Active
                        } else {
                            HaRole::Standby
                        };
                    }
                };
                if c.finished(&key) {
                    promote(&mut roles);
                    continue;
                }
                admit(c)?;
                let giver = from.as_deref().zip(from_mgmt_host.as_deref());
                hand_over(c, &fields, g, (to, mgmt_host), giver, &roles, &kept, None)?;
                promote(&mut roles);
            }
        }
    }
    Ok(())
}

/// The volume (or build) `device` booted before this rollout's first hop, as the journal
/// recorded it.
pub fn booted_first(entries: &[journal::Entry], device: &str) -> Option<String> {
    rollback::booted_first(entries, device)
}

/// The volume a device runs now, read before anything changes it; `None` when the driver lists
/// no volumes or the reading fails (the hop's own checks then speak).
fn running_volume(
    c: &Ctx<'_>,
    d: &PlannedDevice,
    driver: &Driver,
    kept: &Sessions,
) -> Option<String> {
    if !device::lists_volumes(driver) {
        return None;
    }
    let mut link = Link::new(c, d, kept);
    let mut t = device::Reconnect::session(&mut link).ok()?;
    let v = device::active_volume(t.as_mut(), driver).ok().flatten();
    device::Reconnect::keep(&mut link, t);
    v
}

/// The backup before a device's first change, once per rollout: journaled with the archive,
/// its size and SHA-256 and where it was copied; a failed backup fails the group before the
/// device is changed.
fn backup_step(
    c: &Ctx<'_>,
    (wave, gname): (&str, &str),
    d: &PlannedDevice,
    driver: &Driver,
    expect: &Expectation,
    b: &Backups,
    kept: &Sessions,
) -> Result<(), GroupStop> {
    let fields = [
        ("wave", wave),
        ("group", gname),
        ("step", "backup"),
        ("device", d.name.as_str()),
    ];
    if c.finished(&step_key(&fields)) {
        return Ok(());
    }
    c.record(Event::Start, &fields)?;
    c.observer.on(Progress::Step {
        device: &d.name,
        step: "backup",
        detail: &format!("to {}", b.folder(&d.name).display()),
    });
    let mut link = Link::new(c, d, kept);
    let result = device::Reconnect::session(&mut link)
        .map_err(device::HopError::from)
        .and_then(|mut t| {
            let r = device::backup(
                t.as_mut(),
                driver,
                expect,
                &b.archive(&d.name),
                &b.folder(&d.name),
            );
            device::Reconnect::keep(&mut link, t);
            r
        });
    match result {
        Ok(Some(done)) => {
            let (local, bytes) = (done.local.display().to_string(), done.bytes.to_string());
            let mut f = fields.to_vec();
            f.extend([
                ("archive", done.remote.as_str()),
                ("archive_bytes", bytes.as_str()),
                ("archive_sha256", done.sha256.as_str()),
                ("copied_to", local.as_str()),
            ]);
            c.record(Event::Done, &f)?;
        }
        Ok(None) => {
            let why = format!("the {} driver has no backup command", driver.vendor.id());
            let mut f = fields.to_vec();
            f.push(("detail", &why));
            c.record(Event::Skip, &f)?;
        }
        Err(e) => {
            let msg = match e {
                device::HopError::Precheck(_) => format!("before the backup: {e}"),
                _ => format!("{e}; the device was not changed"),
            };
            let mut f = fields.to_vec();
            f.push(("error", &msg));
            c.record(Event::Fail, &f)?;
            return Err(GroupStop::Failed(format!("{}: {msg}", d.name)));
        }
    }
    Ok(())
}

/// A unit of the group's pair as a planned device to connect to: its own entry when this group
/// entry upgrades it, otherwise (a canary's standby, a failover's giver) the name and address a
/// step carries, with the group's vendor and model (its role and path are not the unit's).
fn unit(g: &Group, name: &str, mgmt_host: &str) -> Result<PlannedDevice, String> {
    if let Some(d) = g.devices.iter().find(|d| d.name == name) {
        return Ok(d.clone());
    }
    g.devices
        .first()
        .map(|d| PlannedDevice {
            name: name.to_string(),
            mgmt_host: mgmt_host.to_string(),
            ..d.clone()
        })
        .ok_or_else(|| "empty group".to_string())
}

/// The last failover of the same HA group in an earlier wave: the unit it left carrying
/// traffic (the canary's upgraded standby) and the unit it took traffic from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Handover {
    /// The wave of that failover.
    pub wave: usize,
    /// The unit carrying traffic since.
    pub to: String,
    /// Its address.
    pub mgmt_host: String,
    /// The unit that gave up traffic, with its address (`None` in plans written before
    /// failovers named it).
    pub from: Option<(String, String)>,
}

/// The handover an entry of `wave` inherits from the earlier entries of its HA group: `None`
/// when they left the traffic where the plan found it (a failback, a reboot round).
pub fn handover(waves: &[Wave], wave: usize, g: &Group) -> Option<Handover> {
    let ha = g.ha_group.as_ref()?;
    let mut out = None;
    for w in waves.iter().filter(|w| w.index < wave) {
        for e in w
            .groups
            .iter()
            .filter(|e| e.site == g.site && e.ha_group.as_ref() == Some(ha))
        {
            for s in &e.steps {
                if let PlanStep::Failover {
                    to,
                    mgmt_host,
                    from,
                    from_mgmt_host,
                } = s
                {
                    out = Some(Handover {
                        wave: w.index,
                        to: to.clone(),
                        mgmt_host: mgmt_host.clone(),
                        from: from.clone().zip(from_mgmt_host.clone()),
                    });
                }
            }
        }
    }
    let planned_active = waves
        .iter()
        .flat_map(|w| &w.groups)
        .flat_map(|e| &e.devices)
        .any(|d| out.as_ref().is_some_and(|h| d.name == h.to) && d.role == "active");
    out.filter(|_| !planned_active)
}

/// Runs and journals one failover (`fields` name it), then writes both roles back. When the
/// new active fails its checks and traffic went back to the giver, or it stayed swapped, the
/// group stops saying so; the inventory says where traffic is.
#[allow(clippy::too_many_arguments)]
fn hand_over(
    c: &Ctx<'_>,
    fields: &[(&str, &str)],
    g: &Group,
    to: (&str, &str),
    from: Option<(&str, &str)>,
    roles: &HashMap<String, HaRole>,
    kept: &Sessions,
    rollback: Option<&Version>,
) -> Result<(), GroupStop> {
    let gname = group_name(g);
    c.record(Event::Start, fields)?;
    let (write_to, write_from, result) = match failover(c, g, to, from, roles, kept, rollback) {
        Ok(giver) => {
            c.record(Event::Done, fields)?;
            (to.0.to_string(), giver, Ok(()))
        }
        Err(e) => {
            let mut f = fields.to_vec();
            f.push(("error", &e.message));
            // The journal's replay and `rollback` must know traffic moved all the same.
            if e.swapped.is_some() {
                f.push(("swapped", "yes"));
            }
            c.record(Event::Fail, &f)?;
            let stop = GroupStop::Failed(format!("{gname}: failover to {}: {}", to.0, e.message));
            match e.swapped {
                // Traffic stayed on the new active: the inventory must say so.
                Some(giver) => (to.0.to_string(), giver, Err(stop)),
                None => return Err(stop),
            }
        }
    };
    // The unit taken over may be outside this entry's devices (the canary's standby): the step
    // names it.
    c.write_back(&write_to, "ha_role", "active")?;
    let mut standbys: Vec<&str> = vec![write_from.as_str()];
    standbys.extend(
        g.devices
            .iter()
            .map(|d| d.name.as_str())
            .filter(|n| *n != write_to && *n != write_from),
    );
    for n in standbys {
        c.write_back(n, "ha_role", "standby")?;
    }
    if result.is_ok() {
        c.observer.on(Progress::Step {
            device: &gname,
            step: "failover",
            detail: &format!("{write_to} is active"),
        });
    }
    result
}

/// Before the first step of an entry that follows a handover (the soak with the new release
/// carrying traffic): the carrier must still be active, in sync and healthy. Otherwise traffic
/// goes back to the unit it came from (a checked failover, journaled as a rollback) and the
/// group stops.
fn soak_check(c: &Ctx<'_>, g: &Group, h: &Handover, kept: &Sessions) -> Result<(), GroupStop> {
    let Some((from, from_mgmt)) = &h.from else {
        return Ok(());
    };
    let gname = group_name(g);
    let wave_s = h.wave.to_string();
    let carrier = unit(g, &h.to, &h.mgmt_host)?;
    let (driver, vendor) = driver_of(c.drivers, &carrier)?;
    let mut t = match kept.borrow_mut().remove(&carrier.name) {
        Some(t) => t,
        None => c
            .connector
            .connect(&carrier)
            .map_err(|e| format!("{}: {e}", carrier.name))?,
    };
    let checks = device::ha_gate(t.as_mut(), driver, HaRole::Active);
    kept.borrow_mut().insert(carrier.name.clone(), t);
    let Some(why) = failed_checks(&h.to, &checks) else {
        c.observer.on(Progress::Step {
            device: &h.to,
            step: "soak-check",
            detail: "carried traffic through the soak: active, in sync, healthy",
        });
        return Ok(());
    };
    let fields = [
        ("wave", wave_s.as_str()),
        ("group", gname.as_str()),
        ("step", "failover"),
        ("to", from.as_str()),
        ("from", h.to.as_str()),
        ("rollback", "soak-check"),
    ];
    let roles: HashMap<String, HaRole> = [
        (h.to.clone(), HaRole::Active),
        (from.clone(), HaRole::Standby),
    ]
    .into();
    // The release the former active ran when the plan was made, and must still run.
    let old = g
        .devices
        .iter()
        .find(|d| d.name == *from)
        .and_then(|d| Version::parse(vendor, &d.from).ok())
        .ok_or_else(|| format!("{from}: not in its group's devices: its release is unknown"))?;
    hand_over(
        c,
        &fields,
        g,
        (from, from_mgmt),
        Some((&h.to, &h.mgmt_host)),
        &roles,
        kept,
        Some(&old),
    )
    .map_err(|e| match e {
        GroupStop::Failed(m) => GroupStop::Failed(format!(
            "{} failed its checks after the soak ({why}), and failing back did not work: {m}",
            h.to
        )),
        other => other,
    })?;
    Err(GroupStop::Failed(format!(
        "{} failed its checks after the soak ({why}): failed back to {from}, which carries traffic again; nothing else of {gname} ran",
        h.to
    )))
}

/// The failed checks of one unit, for a refusal: `name: check: detail; ...`.
fn failed_checks(unit: &str, checks: &[device::Check]) -> Option<String> {
    let bad: Vec<String> = checks
        .iter()
        .filter(|c| c.status == device::Status::Fail)
        .map(|c| format!("{}: {}", c.name, c.detail))
        .collect();
    (!bad.is_empty()).then(|| format!("{unit}: {}", bad.join("; ")))
}

/// Why a failover did not leave the pair as planned; `swapped` names the giver when traffic
/// stayed on the new active anyway (its checks failed and failing back failed too).
#[derive(Debug)]
struct FailoverError {
    message: String,
    swapped: Option<String>,
}

impl From<String> for FailoverError {
    fn from(message: String) -> FailoverError {
        FailoverError {
            message,
            swapped: None,
        }
    }
}

/// Makes `to` the active unit and returns the giver's name. Both units are checked first (the
/// unit giving up traffic must be active, the one taking it standby, both in sync and healthy;
/// for a `rollback` the giver's role alone, and the taker must run the old release), and the
/// failover is refused with both units' answers when either is not ready: a device itself
/// fails over even when out of sync. A failover already in effect is not sent again. After the command (on the current active, its exit
/// status checked), both roles must have swapped within `wait.failover` (30 s); then the new
/// active must be in sync and healthy, or traffic goes straight back to the giver.
fn failover(
    c: &Ctx<'_>,
    g: &Group,
    (to, mgmt_host): (&str, &str),
    from: Option<(&str, &str)>,
    roles: &HashMap<String, HaRole>,
    kept: &Sessions,
    rollback: Option<&Version>,
) -> Result<String, FailoverError> {
    let target = unit(g, to, mgmt_host)?;
    let (driver, _) = driver_of(c.drivers, &target)?;
    let active = match from {
        Some((name, host)) => unit(g, name, host)?,
        None => g
            .devices
            .iter()
            .filter(|d| d.name != to)
            .find(|d| roles.get(d.name.as_str()) == Some(&HaRole::Active))
            .cloned()
            .ok_or_else(|| format!("no active member other than {to} in the group"))?,
    };
    let session = |d: &PlannedDevice| -> Result<Box<dyn Transport>, String> {
        match kept.borrow_mut().remove(&d.name) {
            Some(t) => Ok(t),
            None => c
                .connector
                .connect(d)
                .map_err(|e| format!("{}: {e}", d.name)),
        }
    };
    let mut t_to = session(&target)?;
    let mut t_from = session(&active)?;
    let keep = |name: &str, t: Box<dyn Transport>| {
        kept.borrow_mut().insert(name.to_string(), t);
    };
    let role_pair = |t_a: &mut dyn Transport, a: &str, t_s: &mut dyn Transport, s: &str| {
        let x = device::role_check(t_a, driver, HaRole::Active).unwrap_or_else(|c| c);
        let y = device::role_check(t_s, driver, HaRole::Standby).unwrap_or_else(|c| c);
        (
            x.status == device::Status::Ok && y.status == device::Status::Ok,
            format!("{a}: {}; {s}: {}", x.detail, y.detail),
        )
    };
    let wait = c.settings.wait;
    // Runs the failover command on the active and waits until `new` is active, `old` standby.
    let swap = |t_new: &mut dyn Transport,
                new: &str,
                t_old: &mut dyn Transport,
                old: &str|
     -> Result<(), String> {
        let cmd = driver.render("failover", &[]).map_err(|e| e.to_string())?;
        let out = t_old.exec(&cmd).map_err(|e| format!("{old}: {e}"))?;
        if out.status != 0 {
            return Err(format!(
                "`{cmd}` on {old} exited {}: {}",
                out.status,
                device::quote(&format!("{}\n{}", out.stderr, out.stdout))
            ));
        }
        let start = std::time::Instant::now();
        loop {
            let (ok, seen) = role_pair(t_new, new, t_old, old);
            if ok {
                return Ok(());
            }
            if start.elapsed() >= wait.failover
                || !wait.sleep(wait.interval.min(std::time::Duration::from_secs(1)))
            {
                return Err(format!(
                    "the roles did not swap within {} s of `{cmd}`: {seen}",
                    wait.failover.as_secs()
                ));
            }
        }
    };
    let giver = active.name.clone();
    // Already in effect (a failover that finished before a crash): not sent again, but the new
    // active is checked as after a failover.
    let already = role_pair(t_to.as_mut(), to, t_from.as_mut(), &giver).0;
    let result = if already {
        Ok(())
    } else {
        let mut gate_to = device::ha_gate(t_to.as_mut(), driver, HaRole::Standby);
        // Taking traffic back from a unit that failed its checks: those failures are the
        // reason, only its role must be right; the unit taking it must still run the old
        // release.
        let gate_from = match rollback {
            Some(old) => {
                gate_to.push(
                    device::version_check(t_to.as_mut(), driver, old.vendor(), old)
                        .unwrap_or_else(|c| c),
                );
                vec![
                    device::role_check(t_from.as_mut(), driver, HaRole::Active)
                        .unwrap_or_else(|c| c),
                ]
            }
            None => device::ha_gate(t_from.as_mut(), driver, HaRole::Active),
        };
        let refusals: Vec<String> = [
            failed_checks(to, &gate_to),
            failed_checks(&giver, &gate_from),
        ]
        .into_iter()
        .flatten()
        .collect();
        if !refusals.is_empty() {
            return Err(format!("refused, nothing changed: {}", refusals.join(" | ")).into());
        }
        swap(t_to.as_mut(), to, t_from.as_mut(), &giver)
    };
    let result = result.map_err(FailoverError::from).and_then(|()| {
        // The new active carries traffic now: in sync and healthy, or traffic goes back.
        let after = [
            device::sync_check(t_to.as_mut(), driver),
            device::health_check(t_to.as_mut(), driver),
        ]
        .map(|r| r.unwrap_or_else(|c| c));
        let Some(why) = failed_checks(to, &after) else {
            return Ok(giver.clone());
        };
        if rollback.is_some() {
            // Back on the old release: sending traffic to the unit it was taken from is no
            // way out. It stays, and the failed checks are reported.
            return Err(FailoverError {
                message: format!(
                    "{to} (the old release) carries traffic again but failed its checks ({why})"
                ),
                swapped: Some(giver.clone()),
            });
        }
        match swap(t_from.as_mut(), &giver, t_to.as_mut(), to) {
            Ok(()) => Err(FailoverError::from(format!(
                "{to} became active and failed its checks ({why}): failed back to {giver}, which carries traffic again"
            ))),
            Err(e) => Err(FailoverError {
                message: format!(
                    "{to} became active and failed its checks ({why}); failing back to {giver} failed too ({e}): {to} carries traffic"
                ),
                swapped: Some(giver.clone()),
            }),
        }
    });
    keep(to, t_to);
    keep(&giver, t_from);
    result
}

/// When the wave after `prev` may start: the time its last journaled step ended plus the soak,
/// with what it waits for; `None` without a soak or when `prev` journaled nothing.
fn soak_end(
    journal: &Mutex<Journal>,
    prev: &Wave,
    soak_minutes: (i64, i64),
) -> Option<(jiff::Timestamp, String)> {
    let minutes = match prev.kind {
        WaveKind::Canary => soak_minutes.0,
        WaveKind::Wave => soak_minutes.1,
    };
    if minutes <= 0 {
        return None;
    }
    let wave = prev.index.to_string();
    let j = journal.lock().expect("journal lock");
    let last = j
        .entries
        .iter()
        .filter(|e| e.get("wave") == Some(wave.as_str()) && e.event != Event::Note)
        .filter_map(|e| e.at.parse::<jiff::Timestamp>().ok())
        .max()?;
    Some((
        last + jiff::SignedDuration::from_mins(minutes),
        format!("the {minutes}-minute soak after wave {}", prev.index),
    ))
}

/// Runs the waves of a plan (or of a reboot schedule). `confirm` is asked before each wave
/// after the canary (with the previous wave's results); returning false stops the rollout.
/// Writes `device`'s `field` through the settings' inventory writer and journals the write
/// (`file=` when a cell changed, `unchanged=yes` when the inventory said so already), so a
/// later run knows the inventory has heard of the step.
fn write_back(
    settings: &Settings<'_>,
    journal: &Mutex<Journal>,
    device: &str,
    field: &str,
    value: &str,
) -> Result<(), String> {
    let Some(w) = settings.inventory else {
        return Ok(());
    };
    let written = w.set(device, field, value).map_err(|e| {
        format!(
            "{device}: {field} is {value} on the device, but the inventory could not say so: \
             {e} (--resume writes it again)"
        )
    })?;
    let mut fields = vec![("device", device), ("field", field), ("value", value)];
    match &written {
        Some(file) => fields.push(("file", file)),
        None => fields.push(("unchanged", "yes")),
    }
    journal
        .lock()
        .expect("journal lock")
        .record(Event::Wrote, &fields)
        .map_err(|e| format!("cannot write the journal: {e}"))
}

/// An inventory cell a step set: (device, field, value).
type CellValue = (String, &'static str, String);

/// The cells the journal's finished steps changed, in step order, the last word winning:
/// `version` after each hop, `ha_role` of both units after each failover. A failover whose
/// group (in its wave) is not among `groups` is left out rather than half known.
fn step_cells<'e>(
    groups: &[(usize, &Group)],
    entries: &'e [journal::Entry],
) -> Vec<(&'e journal::Entry, Vec<CellValue>)> {
    let mut out = Vec::new();
    for e in entries {
        if !matches!(e.event, Event::Done | Event::Skip) && !moved_traffic(e) {
            continue;
        }
        let cells = match (e.get("step"), e.get("device"), e.get("to")) {
            (Some("hop" | "revert"), Some(device), Some(to)) => {
                vec![(device.to_string(), "version", to.to_string())]
            }
            (Some("failover"), _, Some(to)) => {
                // A group may run in two waves (`--ha-two-phase`, the canary): this wave's.
                let Some((_, g)) = groups.iter().find(|(w, g)| {
                    e.get("wave") == Some(w.to_string().as_str())
                        && e.get("group") == Some(group_name(g).as_str())
                }) else {
                    continue;
                };
                let mut c = vec![(to.to_string(), "ha_role", "active".to_string())];
                let standby = |n: &str| (n.to_string(), "ha_role", "standby".to_string());
                c.extend(e.get("from").map(standby));
                c.extend(
                    g.devices
                        .iter()
                        .map(|d| d.name.as_str())
                        .filter(|n| *n != to && Some(*n) != e.get("from"))
                        .map(standby),
                );
                c
            }
            _ => continue,
        };
        out.push((e, cells));
    }
    out
}

/// What the journal's finished steps made of the inventory's cells, in the order first
/// changed, the last word winning.
pub fn journaled_cells(
    groups: &[(usize, &Group)],
    entries: &[journal::Entry],
) -> Vec<((String, &'static str), String)> {
    let mut cells: Vec<((String, &'static str), String)> = Vec::new();
    for (_, changed) in step_cells(groups, entries) {
        for (device, field, value) in changed {
            let key = (device, field);
            cells.retain(|(k, _)| *k != key);
            cells.push((key, value));
        }
    }
    cells
}

/// Before anything runs, the inventory hears of every finished step whose write-back the
/// journal does not record (a run that stopped between a device change and its write). Cells
/// written before are left alone: an operator's later correction stands.
fn repair_inventory(
    waves: &[Wave],
    settings: &Settings<'_>,
    journal: &Mutex<Journal>,
) -> Result<(), String> {
    if settings.inventory.is_none() {
        return Ok(());
    }
    let entries = journal.lock().expect("journal lock").entries.clone();
    let groups: Vec<(usize, &Group)> = waves
        .iter()
        .flat_map(|w| w.groups.iter().map(move |g| (w.index, g)))
        .collect();
    let steps = step_cells(&groups, &entries);
    // (device, field, value) and whether it is still unwritten, in journal order.
    let mut pending: Vec<(CellValue, bool)> = Vec::new();
    let mut steps = steps.into_iter().peekable();
    for e in &entries {
        while let Some((_, cells)) = steps.next_if(|(s, _)| std::ptr::eq(*s, e)) {
            for cell in cells {
                pending.retain(|((d, f, _), _)| !(*d == cell.0 && *f == cell.1));
                pending.push((cell, true));
            }
        }
        if e.event == Event::Wrote
            && let (Some(d), Some(f), Some(v)) = (e.get("device"), e.get("field"), e.get("value"))
            && let Some((_, open)) = pending
                .iter_mut()
                .find(|((pd, pf, pv), _)| pd == d && *pf == f && pv == v)
        {
            *open = false;
        }
    }
    for ((device, field, value), open) in pending {
        if open {
            write_back(settings, journal, &device, field, &value)?;
        }
    }
    Ok(())
}

/// A wave starts only when every group of the one before it has finished.
#[allow(clippy::too_many_arguments)]
pub fn run(
    waves: &[Wave],
    drivers: &Drivers,
    manifest: &Manifest,
    connector: &dyn Connector,
    settings: &Settings<'_>,
    journal: &Mutex<Journal>,
    confirm: &mut dyn FnMut(&WaveReport) -> bool,
    observer: &dyn Observer,
) -> Outcome {
    let total_groups: usize = waves.iter().map(|w| w.groups.len()).sum();
    let allowed = settings.budget.allowed(total_groups);
    let failures = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let mut outcome = Outcome::default();
    if let Err(e) = repair_inventory(waves, settings, journal) {
        outcome.stopped = Some(e);
        return outcome;
    }
    let mut previous: Option<(WaveReport, &Wave)> = None;
    for wave in waves {
        if stop.load(Ordering::SeqCst) || INTERRUPTED.load(Ordering::SeqCst) {
            break;
        }
        if let Some((p, _)) = &previous
            && (!p.waiting.is_empty() || !p.unfinished.is_empty())
        {
            // A wave whose groups have not all finished holds every later wave.
            break;
        }
        // The gate between the canary and the rest (after the canary's soak: the soak is the
        // least the canary runs before anything is judged).
        if let (Some(gate), Some((_, prev))) = (settings.gate, &previous)
            && prev.kind == WaveKind::Canary
            && wave.kind == WaveKind::Wave
        {
            let soaking = soak_end(journal, prev, settings.soak_minutes)
                .filter(|(t, _)| *t > settings.clock.now() && settings.mode != WindowMode::Ignore);
            let passed = match soaking {
                Some((t, what)) if settings.mode == WindowMode::Due => Err(GateEnd::Waiting(
                    format!("{what}: ends at {}", crate::planner::utc(t)),
                )),
                // Without --due: a countdown to the soak's end (Ctrl-C ends it), then the gate.
                Some((t, what)) => {
                    let mut waited = true;
                    while waited && t > settings.clock.now() {
                        let left = t.duration_since(settings.clock.now()).unsigned_abs();
                        observer.on(Progress::Waiting {
                            group: &format!("wave {}", wave.index),
                            until: t,
                            what: &what,
                        });
                        waited = settings.wait.sleep(left.min(settings.wait.interval));
                    }
                    if waited {
                        pass_gate(gate, wave, settings, journal, observer)
                    } else {
                        Err(GateEnd::Interrupted)
                    }
                }
                None => pass_gate(gate, wave, settings, journal, observer),
            };
            match passed {
                Ok(()) => {}
                Err(GateEnd::Waiting(why)) => {
                    outcome.waiting.push((format!("wave {}", wave.index), why));
                    break;
                }
                Err(GateEnd::Stopped(why)) => {
                    outcome.stopped = Some(why);
                    break;
                }
                Err(GateEnd::Interrupted) => {
                    INTERRUPTED.store(true, Ordering::SeqCst);
                    break;
                }
            }
        }
        let declined = wave.kind == WaveKind::Wave
            && previous.as_ref().is_some_and(|(p, _)| p.ran && !confirm(p));
        if declined {
            outcome.stopped = Some(format!(
                "stopped before wave {} at the operator's answer",
                wave.index
            ));
            break;
        }
        let ready = previous
            .as_ref()
            .and_then(|(_, w)| soak_end(journal, w, settings.soak_minutes));
        observer.on(Progress::Wave {
            index: wave.index,
            kind: wave.kind,
            groups: wave.groups.len(),
        });
        let queue: Mutex<VecDeque<&Group>> = Mutex::new(wave.groups.iter().collect());
        let report = Mutex::new(WaveReport {
            index: wave.index,
            ..WaveReport::default()
        });
        let ctx = Ctx {
            drivers,
            manifest,
            connector,
            settings,
            journal,
            stop: &stop,
            observer,
        };
        std::thread::scope(|scope| {
            for _ in 0..settings.parallel.max(1).min(wave.groups.len().max(1)) {
                scope.spawn(|| {
                    loop {
                        let Some(g) = queue.lock().expect("queue").pop_front() else {
                            break;
                        };
                        let name = group_name(g);
                        let before = journal.lock().expect("journal").entries.len();
                        let result = match ctx.hold() {
                            Some(h) => Err(h),
                            None => {
                                let h = handover(waves, wave.index, g);
                                run_group(&ctx, wave.index, g, &ready, h.as_ref())
                            }
                        };
                        let ran = journal.lock().expect("journal").entries.len() > before;
                        let mut r = report.lock().expect("report");
                        r.ran |= ran;
                        let (end, detail) = match result {
                            Ok(()) => {
                                r.completed += 1;
                                (GroupEnd::Done, String::new())
                            }
                            Err(GroupStop::Failed(e)) => {
                                r.failed.push((name.clone(), e.clone()));
                                let n = failures.fetch_add(1, Ordering::SeqCst) + 1;
                                if wave.kind == WaveKind::Canary || n > allowed {
                                    stop.store(true, Ordering::SeqCst);
                                }
                                (GroupEnd::Failed, e)
                            }
                            Err(GroupStop::Waiting(e)) => {
                                r.waiting.push((name.clone(), e.clone()));
                                (GroupEnd::Waiting, e)
                            }
                            Err(GroupStop::Interrupted(e)) => {
                                r.unfinished.push((name.clone(), e.clone()));
                                (GroupEnd::Interrupted, e)
                            }
                            Err(GroupStop::Held(e)) => {
                                r.unfinished.push((name.clone(), e.clone()));
                                (GroupEnd::Held, e)
                            }
                        };
                        drop(r);
                        observer.on(Progress::GroupDone {
                            group: &name,
                            end,
                            detail: &detail,
                        });
                    }
                });
            }
        });
        let report = report.into_inner().expect("report");
        outcome.completed += report.completed;
        outcome.failed.extend(report.failed.iter().cloned());
        outcome.waiting.extend(report.waiting.iter().cloned());
        let rolled: Vec<&str> = report
            .failed
            .iter()
            .filter(|(_, e)| e.contains(" was rolled back at "))
            .map(|(g, _)| g.as_str())
            .collect();
        if !rolled.is_empty() && wave.kind == WaveKind::Canary {
            outcome.stopped = Some(format!(
                "the canary {} was rolled back: nothing else starts (plan again)",
                rolled.join(", ")
            ));
        } else if !report.failed.is_empty() && wave.kind == WaveKind::Canary {
            outcome.stopped = Some("the canary failed: nothing else starts".into());
        } else if stop.load(Ordering::SeqCst) && !rolled.is_empty() {
            outcome.stopped = Some(format!(
                "{} rolled back: the rollout does not go on with this release (plan again; --max-failures {} lets the other groups go on)",
                rolled.join(", "),
                failures.load(Ordering::SeqCst)
            ));
        } else if stop.load(Ordering::SeqCst) {
            outcome.stopped = Some(format!(
                "{} failed groups exceed the budget of {allowed}: nothing new starts",
                failures.load(Ordering::SeqCst)
            ));
        }
        previous = Some((report, wave));
    }
    if INTERRUPTED.load(Ordering::SeqCst) {
        outcome.interrupted = true;
        outcome.stopped = Some(
            "interrupted: steps that were running commands finished, waits stopped, nothing new started (`--resume` continues)".into(),
        );
    }
    outcome
}

/// A session to a planned device with its driver and read-only pre-checks, for dry runs.
struct Probe<'a> {
    t: Box<dyn Transport>,
    driver: &'a Driver,
    checks: Vec<device::Check>,
}

fn connect_and_precheck<'a>(
    drivers: &'a Drivers,
    connector: &dyn Connector,
    d: &PlannedDevice,
    space_needed: Option<u64>,
) -> Result<Probe<'a>, String> {
    let (driver, vendor) = driver_of(drivers, d)?;
    let mut t = connector.connect(d).map_err(|e| e.to_string())?;
    let checks = device::precheck(
        t.as_mut(),
        driver,
        &Expectation {
            vendor,
            version: Version::parse(vendor, &d.from).map_err(|e| e.to_string())?,
            role: role_of(&d.role),
            space_needed,
        },
        device::Scope::All,
    );
    Ok(Probe { t, driver, checks })
}

/// The pre-checks and exact commands of a dry run for one device, without changing anything:
/// every gate the real run checks before its first change (version, role, sync, health, free
/// space for the largest image, each hop's image in the manifest and in the folder with its
/// size), and per hop the commands with the volume the real run would choose (the first
/// inactive one, which changes as each reboot makes another volume active).
///
/// `keep` is the volume the journal says the device ran before the rollout (else the one it runs
/// now); `backup`, when the device's backup is still to take, adds its commands.
#[allow(clippy::too_many_arguments)]
pub fn dry_run_device(
    drivers: &Drivers,
    connector: &dyn Connector,
    manifest: &Manifest,
    images: &Path,
    d: &PlannedDevice,
    keep: Option<&str>,
    backup: Option<&Backups>,
) -> Result<(Vec<device::Check>, Vec<String>), String> {
    let vendor: Vendor = d
        .vendor
        .parse()
        .map_err(|e: crate::version::UnknownVendor| e.to_string())?;
    let mut image_checks = Vec::new();
    let mut hops = Vec::new();
    for hop in &d.path {
        let to = Version::parse(vendor, hop).map_err(|e| e.to_string())?;
        let img = manifest.find(vendor, &to);
        let status = match img {
            None => Some(format!(
                "no {} {to} image in {}",
                vendor.id(),
                images.display()
            )),
            Some(img) => match std::fs::metadata(images.join(&img.file)) {
                Err(e) => Some(format!("{}: {e}", images.join(&img.file).display())),
                Ok(m) if m.len() != img.size => Some(format!(
                    "{} is {} bytes, the manifest says {}",
                    images.join(&img.file).display(),
                    m.len(),
                    img.size
                )),
                Ok(_) => None,
            },
        };
        image_checks.push(device::Check {
            name: "image",
            status: if status.is_some() {
                device::Status::Fail
            } else {
                device::Status::Ok
            },
            detail: status.unwrap_or_else(|| {
                let img = img.expect("found");
                format!("{} ({} MiB) for {to}", img.file, img.size >> 20)
            }),
        });
        hops.push((to, img));
    }
    let largest = hops.iter().filter_map(|(_, i)| i.map(|i| i.size)).max();
    let Probe {
        mut t,
        driver,
        mut checks,
    } = connect_and_precheck(drivers, connector, d, largest.map(device::space_needed))?;
    checks.extend(image_checks);
    // The volumes as the real run would choose them, hop after hop.
    let wait_for = driver
        .commands
        .get("install")
        .and_then(|c| c.wait_for.clone());
    // Unreadable volumes leave the choice to the real run's own reading.
    let mut rows = wait_for
        .as_deref()
        .and_then(|cmd| device::read_rows(t.as_mut(), driver, cmd).ok())
        .unwrap_or_default();
    let keep = keep.map(str::to_string).or_else(|| {
        rows.iter()
            .find(|r| r.get("active").map(String::as_str) == Some("yes"))
            .and_then(|r| r.get("volume").cloned())
    });
    let mut commands = Vec::new();
    if let Some(b) = backup.filter(|_| driver.commands.contains_key("backup")) {
        let archive = b.archive(&d.name);
        let values = [("archive", archive.as_str())];
        commands.push("# before the first change, the configuration backup:".into());
        for cmd in ["save_config", "backup"] {
            if driver.commands.contains_key(cmd) {
                commands.push(
                    driver
                        .render_with(cmd, &values)
                        .unwrap_or_else(|e| format!("# refused: {e}")),
                );
            }
        }
        let file = driver.render_fetch("backup", &values).ok().flatten();
        commands.push(format!(
            "# copy {} to {}/ over SFTP, then check its size and SHA-256 against:",
            file.as_deref().unwrap_or("?"),
            b.folder(&d.name).display()
        ));
        if driver.commands.contains_key("backup_checksum") {
            commands.push(
                driver
                    .render_with("backup_checksum", &values)
                    .unwrap_or_else(|e| format!("# refused: {e}")),
            );
        }
    }
    for (to, img) in &hops {
        let Some(img) = img else {
            commands.push(format!(
                "# no {} {to} image: the run stops here",
                vendor.id()
            ));
            break;
        };
        let volume = wait_for.as_ref().map(|_| {
            device::first_inactive(&rows, keep.as_deref()).unwrap_or_else(|| "HD1.2".into())
        });
        // The volume it ran at first is the way back: say when a hop has to install over it.
        if let (Some(v), Some(k)) = (&volume, &keep)
            && v == k
        {
            commands.push(format!(
                "# {k} holds {}, the release to go back to: with no other inactive volume, this install overwrites it (no rollback by reboot after it)",
                d.from
            ));
        }
        let mut values = vec![("image", img.file.as_str()), ("release", to.as_str())];
        if let Some(v) = &volume {
            values.push(("volume", v.as_str()));
        }
        commands.push(format!(
            "# upload {} ({} MiB) to {}/ over SFTP unless it is there with its SHA-256, then:",
            img.file,
            img.size >> 20,
            driver.image_dir
        ));
        for cmd in ["image_checksum", "install"] {
            match driver.render_with(cmd, &values) {
                Ok(line) => commands.push(line),
                Err(e) => commands.push(format!("# refused: {e}")),
            }
        }
        if let (Some(cmd), Some(v)) = (&wait_for, &volume) {
            commands.push(format!(
                "# until `{}` shows {v} complete with {to}",
                driver.commands[cmd].run
            ));
        }
        match driver.render_with("reboot", &values) {
            Ok(line) => commands.push(line),
            Err(e) => commands.push(format!("# refused: {e}")),
        }
        commands.push(format!(
            "# wait for SSH, then post-checks: runs {to}, role, sync, health"
        ));
        // After the reboot, the installed volume is the active one.
        if let Some(v) = &volume {
            device::activate(&mut rows, v);
        }
    }
    Ok((checks, commands))
}

/// The gates and command of a dry run's failover: both units checked as they are now (the one
/// planned active must be active, the other standby, both in sync and healthy).
pub fn dry_run_failover(
    drivers: &Drivers,
    connector: &dyn Connector,
    g: &Group,
    to: (&str, &str),
    from: Option<(&str, &str)>,
    check: bool,
    rollback: Option<&Version>,
) -> Result<(Vec<device::Check>, Vec<String>), String> {
    let target = unit(g, to.0, to.1)?;
    let (driver, _) = driver_of(drivers, &target)?;
    let active = match from {
        Some((name, host)) => unit(g, name, host)?,
        None => g
            .devices
            .iter()
            .filter(|d| d.name != to.0)
            .find(|d| d.role == "active")
            .cloned()
            .ok_or_else(|| format!("no active member other than {} in the group", to.0))?,
    };
    let mut checks = Vec::new();
    for (d, role) in [(&target, HaRole::Standby), (&active, HaRole::Active)] {
        if !check {
            break;
        }
        let mut t = connector
            .connect(d)
            .map_err(|e| format!("{}: {e}", d.name))?;
        // As the real failover gates it: a rollback checks the giver's role alone, and that
        // the taker still runs the old release.
        let gate = match (rollback, role) {
            (Some(_), HaRole::Active) => {
                vec![device::role_check(t.as_mut(), driver, role).unwrap_or_else(|c| c)]
            }
            (Some(old), _) => {
                let mut g = device::ha_gate(t.as_mut(), driver, role);
                g.push(
                    device::version_check(t.as_mut(), driver, old.vendor(), old)
                        .unwrap_or_else(|c| c),
                );
                g
            }
            (None, _) => device::ha_gate(t.as_mut(), driver, role),
        };
        for mut c in gate {
            c.detail = format!("{}: {}", d.name, c.detail);
            checks.push(c);
        }
    }
    let cmd = driver.render("failover", &[]).map_err(|e| e.to_string())?;
    let lines = vec![
        format!(
            "# on {} ({}){}:",
            active.name,
            active.mgmt_host,
            match (rollback, check) {
                (Some(_), true) => ", now",
                (Some(_), false) => {
                    ", after the steps before it (the taker is checked then: in sync, healthy, on its old release)"
                }
                (None, true) => ", after the steps before it",
                (None, false) => {
                    ", after the steps before it (both units are checked then, not now: the roles differ by then)"
                }
            }
        ),
        cmd,
        if rollback.is_some() {
            format!(
                "# until {} reports active and {} standby; then {} in sync and healthy (if not, it keeps the traffic and the failure is reported)",
                to.0, active.name, to.0
            )
        } else {
            format!(
                "# until {} reports active and {} standby; then {} in sync and healthy, or back to {}",
                to.0, active.name, to.0, active.name
            )
        },
    ];
    Ok((checks, lines))
}

/// The pre-checks, memory in use and exact reboot command of a dry run for one device, without
/// changing anything.
pub fn dry_run_reboot(
    drivers: &Drivers,
    connector: &dyn Connector,
    d: &PlannedDevice,
) -> Result<(Vec<device::Check>, Vec<String>), String> {
    let Probe {
        mut t,
        driver,
        checks,
        ..
    } = connect_and_precheck(drivers, connector, d, None)?;
    let volume = device::active_volume(t.as_mut(), driver).map_err(|e| e.to_string())?;
    let values: Vec<(&str, &str)> = volume.iter().map(|v| ("volume", v.as_str())).collect();
    let command = driver
        .render_with("reboot", &values)
        .unwrap_or_else(|e| format!("# refused: {e}"));
    Ok((checks, vec![command]))
}

/// The steps of `wave` the journal does not show finished, in words, with the window each
/// group was planned in: what the run will do next, for the operator's consent.
pub fn pending(wave: &Wave, entries: &[journal::Entry]) -> Vec<String> {
    let finished: std::collections::HashSet<String> = entries
        .iter()
        .filter(|e| matches!(e.event, Event::Done | Event::Skip))
        .map(journal::Entry::key)
        .collect();
    let w = wave.index.to_string();
    let mut out = Vec::new();
    for g in &wave.groups {
        let gname = group_name(g);
        let key = |step: &str, who: (&str, &str), to: Option<&str>| {
            let mut f = vec![
                ("wave", w.as_str()),
                ("group", gname.as_str()),
                ("step", step),
                who,
            ];
            f.extend(to.map(|t| ("to", t)));
            step_key(&f)
        };
        let mut lines = Vec::new();
        for step in &g.steps {
            match step {
                PlanStep::Upgrade { device } => {
                    let Some(d) = g.devices.iter().find(|d| &d.name == device) else {
                        continue;
                    };
                    let mut prev = d.from.as_str();
                    for hop in &d.path {
                        if !finished.contains(&key("hop", ("device", device), Some(hop))) {
                            lines.push(format!(
                                "upgrade {device} ({}) {prev} -> {hop}",
                                d.mgmt_host
                            ));
                        }
                        prev = hop;
                    }
                }
                PlanStep::Reboot { device } => {
                    if !finished.contains(&key("reboot", ("device", device), None)) {
                        lines.push(format!("reboot {device}"));
                    }
                }
                PlanStep::Failover { to, .. } => {
                    if !finished.contains(&key("failover", ("to", to), None)) {
                        lines.push(format!("fail over to {to}"));
                    }
                }
            }
        }
        if !lines.is_empty() {
            out.push(format!(
                "{gname} at {} (window {} to {}, about {} min): {}",
                g.site,
                g.window_start,
                g.window_end,
                g.estimated_minutes,
                lines.join(", then ")
            ));
        }
    }
    out
}
