//! The rollout engine: runs a plan's waves in order, the groups of a wave in parallel, each HA
//! group standby first, then a verified failover, then the former active; every step journaled
//! (see [`journal`]) so that `--resume` repeats nothing finished.
//!
//! Safety rules: one step at a time per group (never both members of a pair out of service);
//! when failures exceed the budget, or the canary fails, or Ctrl-C is pressed, running groups
//! finish their current step and nothing new starts.

pub mod journal;
pub mod report;

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
pub struct Settings {
    /// Groups of a wave at once.
    pub parallel: usize,
    /// Failed groups tolerated.
    pub budget: Budget,
    /// Reboot waits.
    pub wait: Wait,
    /// Image folder.
    pub images: PathBuf,
}

/// How the run ended.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Groups that finished every step.
    pub completed: usize,
    /// Groups that failed, with the reason.
    pub failed: Vec<(String, String)>,
    /// Why the rollout stopped early, if it did.
    pub stopped: Option<String>,
    /// Whether Ctrl-C stopped it.
    pub interrupted: bool,
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
        /// Whether every step passed.
        ok: bool,
        /// The failure, if any.
        detail: &'a str,
    },
}

/// Hears the engine's progress (terminal bars, plain lines, tests).
pub trait Observer: Sync {
    /// One event.
    fn on(&self, p: Progress<'_>);
}

/// Set by the Ctrl-C handler: finish the current steps, start nothing new.
pub static INTERRUPTED: AtomicBool = AtomicBool::new(false);

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
    settings: &'a Settings,
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

    fn finished(&self, key: &str) -> bool {
        self.journal.lock().expect("journal lock").finished(key)
    }

    fn halted(&self) -> bool {
        self.stop.load(Ordering::SeqCst) || INTERRUPTED.load(Ordering::SeqCst)
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

/// Runs one group's steps; `Err` is the reason it failed (or stopped).
fn run_group(c: &Ctx<'_>, wave: usize, g: &Group) -> Result<(), String> {
    let gname = group_name(g);
    let wave_s = wave.to_string();
    let mut roles: HashMap<&str, HaRole> = g
        .devices
        .iter()
        .map(|d| (d.name.as_str(), role_of(&d.role)))
        .collect();
    let kept: Sessions = Default::default();
    for step in &g.steps {
        if c.halted() {
            return Err("stopped before this step".into());
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
                    if c.halted() {
                        return Err("stopped before this step".into());
                    }
                    let image = c.manifest.find(vendor, &to).ok_or_else(|| {
                        format!(
                            "no {} {to} image in {}",
                            vendor.id(),
                            c.settings.images.display()
                        )
                    })?;
                    let local = c.settings.images.join(&image.file);
                    c.record(Event::Start, &fields)?;
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
                        &mut on_step,
                        &mut progress,
                    ) {
                        Ok(device::HopOutcome::Upgraded(_)) => {
                            c.record(Event::Done, &fields)?;
                            prev = to;
                        }
                        // A hop finished before a crash that the journal did not record.
                        Ok(device::HopOutcome::AlreadyAtTarget) => {
                            c.record(Event::Skip, &fields)?;
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
                            c.record(Event::Fail, &f)?;
                            return Err(format!("{name}: {msg}"));
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
                    !rebooted_before,
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
                        c.record(Event::Fail, &f)?;
                        return Err(format!("{name}: {msg}"));
                    }
                }
            }
            PlanStep::Failover { to, mgmt_host } => {
                let fields = [
                    ("wave", wave_s.as_str()),
                    ("group", gname.as_str()),
                    ("step", "failover"),
                    ("to", to.as_str()),
                ];
                let key = step_key(&fields);
                let promote = |roles: &mut HashMap<&str, HaRole>| {
                    for (n, r) in roles.iter_mut() {
                        *r = if *n == to.as_str() {
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
                c.record(Event::Start, &fields)?;
                let result = failover(c, g, to, mgmt_host, &roles, &kept);
                match result {
                    Ok(()) => {
                        c.record(Event::Done, &fields)?;
                        promote(&mut roles);
                        c.observer.on(Progress::Step {
                            device: &gname,
                            step: "failover",
                            detail: &format!("{to} is active"),
                        });
                    }
                    Err(msg) => {
                        let mut f = fields.to_vec();
                        f.push(("error", &msg));
                        c.record(Event::Fail, &f)?;
                        return Err(format!("{gname}: failover to {to}: {msg}"));
                    }
                }
            }
        }
    }
    Ok(())
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

/// Makes `to` the active unit. Both units are checked first (the unit giving up traffic must
/// be active, the one taking it standby, both in sync and healthy), and the failover is refused
/// with both units' answers when either is not ready: a device itself fails over even when out
/// of sync. After the command (on the current active, its exit status checked), both roles
/// must have swapped within 30 s.
fn failover(
    c: &Ctx<'_>,
    g: &Group,
    to: &str,
    mgmt_host: &str,
    roles: &HashMap<&str, HaRole>,
    kept: &Sessions,
) -> Result<(), String> {
    // The unit to promote may not be upgraded in this entry (a canary's second phase): the
    // step carries its address.
    let target = g
        .devices
        .first()
        .map(|d| PlannedDevice {
            name: to.to_string(),
            mgmt_host: mgmt_host.to_string(),
            ..d.clone()
        })
        .ok_or("empty group")?;
    let (driver, _) = driver_of(c.drivers, &target)?;
    let active = g
        .devices
        .iter()
        .find(|d| d.name != to && roles.get(d.name.as_str()) == Some(&HaRole::Active))
        .ok_or_else(|| format!("no active member other than {to} in the group"))?;
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
    let mut t_from = session(active)?;
    let keep = |name: &str, t: Box<dyn Transport>| {
        kept.borrow_mut().insert(name.to_string(), t);
    };
    let swapped = |t_to: &mut dyn Transport, t_from: &mut dyn Transport| -> (bool, String) {
        let a = device::role_check(t_to, driver, HaRole::Active).unwrap_or_else(|c| c);
        let b = device::role_check(t_from, driver, HaRole::Standby).unwrap_or_else(|c| c);
        (
            a.status == device::Status::Ok && b.status == device::Status::Ok,
            format!("{to}: {}; {}: {}", a.detail, active.name, b.detail),
        )
    };
    // Already done (a failover that finished before a crash): nothing to do.
    if swapped(t_to.as_mut(), t_from.as_mut()).0 {
        keep(to, t_to);
        keep(&active.name, t_from);
        return Ok(());
    }
    let gate_to = device::ha_gate(t_to.as_mut(), driver, HaRole::Standby);
    let gate_from = device::ha_gate(t_from.as_mut(), driver, HaRole::Active);
    let refusals: Vec<String> = [
        failed_checks(to, &gate_to),
        failed_checks(&active.name, &gate_from),
    ]
    .into_iter()
    .flatten()
    .collect();
    if !refusals.is_empty() {
        return Err(format!(
            "refused, nothing changed: {}",
            refusals.join(" | ")
        ));
    }
    let cmd = driver.render("failover", &[]).map_err(|e| e.to_string())?;
    let out = t_from
        .exec(&cmd)
        .map_err(|e| format!("{}: {e}", active.name))?;
    if out.status != 0 {
        return Err(format!(
            "`{cmd}` on {} exited {}: {}",
            active.name,
            out.status,
            device::quote(&format!("{}\n{}", out.stderr, out.stdout))
        ));
    }
    let mut last = String::new();
    for i in 0..30 {
        let (ok, seen) = swapped(t_to.as_mut(), t_from.as_mut());
        if ok {
            keep(to, t_to);
            keep(&active.name, t_from);
            return Ok(());
        }
        last = seen;
        if i < 29 {
            std::thread::sleep(std::time::Duration::from_secs(1));
        }
    }
    Err(format!(
        "the roles did not swap within 30 s of `{cmd}`: {last}"
    ))
}

/// Runs the waves of a plan (or of a reboot schedule). `confirm` is asked before each wave
/// after the canary (with the previous wave's results); returning false stops the rollout.
#[allow(clippy::too_many_arguments)]
pub fn run(
    waves: &[Wave],
    drivers: &Drivers,
    manifest: &Manifest,
    connector: &dyn Connector,
    settings: &Settings,
    journal: &Mutex<Journal>,
    confirm: &mut dyn FnMut(&WaveReport) -> bool,
    observer: &dyn Observer,
) -> Outcome {
    let total_groups: usize = waves.iter().map(|w| w.groups.len()).sum();
    let allowed = settings.budget.allowed(total_groups);
    let failures = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let mut outcome = Outcome::default();
    let mut previous: Option<WaveReport> = None;
    for wave in waves {
        if stop.load(Ordering::SeqCst) || INTERRUPTED.load(Ordering::SeqCst) {
            break;
        }
        let declined =
            wave.kind == WaveKind::Wave && previous.as_ref().is_some_and(|p| !confirm(p));
        if declined {
            outcome.stopped = Some(format!(
                "stopped before wave {} at the operator's answer",
                wave.index
            ));
            break;
        }
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
                        if ctx.halted() {
                            break;
                        }
                        let Some(g) = queue.lock().expect("queue").pop_front() else {
                            break;
                        };
                        let name = group_name(g);
                        match run_group(&ctx, wave.index, g) {
                            Ok(()) => {
                                observer.on(Progress::GroupDone {
                                    group: &name,
                                    ok: true,
                                    detail: "",
                                });
                                report.lock().expect("report").completed += 1
                            }
                            Err(e) => {
                                observer.on(Progress::GroupDone {
                                    group: &name,
                                    ok: false,
                                    detail: &e,
                                });
                                report.lock().expect("report").failed.push((name, e));
                                let n = failures.fetch_add(1, Ordering::SeqCst) + 1;
                                if wave.kind == WaveKind::Canary || n > allowed {
                                    stop.store(true, Ordering::SeqCst);
                                }
                            }
                        }
                    }
                });
            }
        });
        let report = report.into_inner().expect("report");
        outcome.completed += report.completed;
        outcome.failed.extend(report.failed.iter().cloned());
        if !report.failed.is_empty() && wave.kind == WaveKind::Canary {
            outcome.stopped = Some("the canary failed: nothing else starts".into());
        } else if stop.load(Ordering::SeqCst) {
            outcome.stopped = Some(format!(
                "{} failed groups exceed the budget of {allowed}: nothing new starts",
                failures.load(Ordering::SeqCst)
            ));
        }
        previous = Some(report);
    }
    if INTERRUPTED.load(Ordering::SeqCst) {
        outcome.interrupted = true;
        outcome.stopped.get_or_insert_with(|| {
            "interrupted: current steps finished, nothing new started".into()
        });
    }
    outcome
}

/// A session to a planned device with its driver and read-only pre-checks, for dry runs.
struct Probe<'a> {
    t: Box<dyn Transport>,
    driver: &'a Driver,
    vendor: Vendor,
    checks: Vec<device::Check>,
}

fn connect_and_precheck<'a>(
    drivers: &'a Drivers,
    connector: &dyn Connector,
    d: &PlannedDevice,
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
            space_needed: None,
        },
        device::Scope::All,
    );
    Ok(Probe {
        t,
        driver,
        vendor,
        checks,
    })
}

/// The pre-checks and exact commands of a dry run for one device, without changing anything.
pub fn dry_run_device(
    drivers: &Drivers,
    connector: &dyn Connector,
    manifest: &Manifest,
    images: &Path,
    d: &PlannedDevice,
) -> Result<(Vec<device::Check>, Vec<String>), String> {
    let Probe {
        mut t,
        driver,
        vendor,
        checks,
    } = connect_and_precheck(drivers, connector, d)?;
    let volume = device::choose_volume(t.as_mut(), driver).ok().flatten();
    let mut commands = Vec::new();
    for hop in &d.path {
        let to = Version::parse(vendor, hop).map_err(|e| e.to_string())?;
        match manifest.find(vendor, &to) {
            None => commands.push(format!(
                "# no {} {to} image in {}",
                vendor.id(),
                images.display()
            )),
            Some(img) => {
                commands.push(format!(
                    "# upload {} to {}/ over SFTP, then:",
                    img.file, driver.image_dir
                ));
                for cmd in ["image_checksum", "install", "reboot"] {
                    let values = [
                        ("image", img.file.as_str()),
                        ("volume", volume.as_deref().unwrap_or("HD1.2")),
                        ("release", hop.as_str()),
                    ];
                    match driver.render_with(cmd, &values) {
                        Ok(line) => commands.push(line),
                        Err(e) => commands.push(format!("# refused: {e}")),
                    }
                }
            }
        }
    }
    Ok((checks, commands))
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
    } = connect_and_precheck(drivers, connector, d)?;
    let volume = device::active_volume(t.as_mut(), driver).map_err(|e| e.to_string())?;
    let values: Vec<(&str, &str)> = volume.iter().map(|v| ("volume", v.as_str())).collect();
    let command = driver
        .render_with("reboot", &values)
        .unwrap_or_else(|e| format!("# refused: {e}"));
    Ok((checks, vec![command]))
}
