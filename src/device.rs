//! Operations on one device through its driver and a [`Transport`]: the pre-checks of an
//! upgrade hop, each a typed result the rollout engine can journal.

use crate::driver::Driver;
use crate::inventory::HaRole;
use crate::ssh::{SshError, Transport};
use crate::version::{Vendor, Version};

/// What the inventory or plan expects of the device.
#[derive(Clone, Debug)]
pub struct Expectation {
    /// Vendor.
    pub vendor: Vendor,
    /// The version it should run.
    pub version: Version,
    /// Its HA role.
    pub role: HaRole,
    /// Bytes that must fit where images go (image size plus margin), when an upload is next.
    pub space_needed: Option<u64>,
}

/// How a check ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// As expected.
    Ok,
    /// Not as expected: the hop must not go on.
    Fail,
    /// Information only.
    Info,
}

/// One pre-check.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Check {
    /// Stable name: `version`, `ha-role`, `sync`, `free-space`, `memory`, `health`.
    pub name: &'static str,
    /// Result.
    pub status: Status,
    /// What was found, in the user's terms.
    pub detail: String,
}

/// Runs a read-only driver command and returns its output, or a failed check explaining why.
fn run(t: &mut dyn Transport, d: &Driver, name: &'static str, cmd: &str) -> Result<String, Check> {
    let line = d.render(cmd, &[]).map_err(|e| Check {
        name,
        status: Status::Fail,
        detail: e.to_string(),
    })?;
    match t.exec(&line) {
        Ok(o) if o.status == 0 => Ok(o.stdout),
        Ok(o) => Err(Check {
            name,
            status: Status::Fail,
            detail: format!("`{line}` exited {}: {}", o.status, o.stderr.trim()),
        }),
        Err(e) => Err(Check {
            name,
            status: Status::Fail,
            detail: e.to_string(),
        }),
    }
}

/// The version the device reports, in vendor notation (F5 hotfix editions become ` HFn`,
/// NetScaler's release and build are joined with `-`).
pub fn reported_version(d: &Driver, out: &str) -> Option<String> {
    let v = d.parse_output("show_version", out);
    match d.vendor {
        Vendor::NetScaler => Some(format!("{}-{}", v.get("release")?, v.get("build")?)),
        _ => {
            let base = v.get("version")?.clone();
            match v.get("edition").and_then(|e| e.strip_prefix("Hotfix ")) {
                Some(hf) => Some(format!("{base} {hf}")),
                None => Some(base),
            }
        }
    }
}

/// Which pre-checks to run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Every check, the informational ones (free space, memory) included: what an operator
    /// or a dry run wants to see.
    All,
    /// Only what can stop the step: version, HA role, sync, health, and free space when
    /// `space_needed` is set. Steps that read space or memory themselves use this, so that a
    /// hop sends no command twice.
    Gate,
}

/// The read-only pre-checks of an upgrade hop or a reboot. A transport error on connect is the
/// caller's; errors during a check become failed checks, so all are reported.
pub fn precheck(t: &mut dyn Transport, d: &Driver, e: &Expectation, scope: Scope) -> Vec<Check> {
    let mut out = Vec::new();
    let mut push = |r: Result<Check, Check>| out.push(r.unwrap_or_else(|c| c));
    push(version_check(t, d, e.vendor, &e.version));
    push(role_check(t, d, e.role));
    if e.role != HaRole::Standalone {
        push(sync_check(t, d));
    }
    if scope == Scope::All || e.space_needed.is_some() {
        push(run(t, d, "free-space", "free_space").map(|text| {
            let kib = d
                .parse_output("free_space", &text)
                .get("available_kib")
                .and_then(|v| v.parse::<u64>().ok());
            match (kib, e.space_needed) {
                (None, _) => Check {
                    name: "free-space",
                    status: Status::Fail,
                    detail: "free space not reported".into(),
                },
                (Some(k), Some(need)) if k * 1024 < need => Check {
                    name: "free-space",
                    status: Status::Fail,
                    detail: format!(
                        "{} MiB free in {}, {} MiB needed",
                        k / 1024,
                        d.image_dir,
                        need.div_ceil(1 << 20)
                    ),
                },
                (Some(k), need) => Check {
                    name: "free-space",
                    status: if need.is_some() {
                        Status::Ok
                    } else {
                        Status::Info
                    },
                    detail: format!("{} MiB free in {}", k / 1024, d.image_dir),
                },
            }
        }));
    }
    if scope == Scope::All && d.commands.contains_key("memory") {
        push(
            run(t, d, "memory", "memory")
                .map(|text| {
                    let v = d.parse_output("memory", &text);
                    let n = |k: &str| v.get(k).and_then(|x| x.parse::<f64>().ok());
                    Check {
                        name: "memory",
                        status: Status::Info,
                        detail: match (n("used_bytes"), n("total_bytes")) {
                            (Some(u), Some(t)) if t > 0.0 => format!(
                                "{:.1} of {:.1} GiB in use ({:.0} %)",
                                u / 1073741824.0,
                                t / 1073741824.0,
                                u / t * 100.0
                            ),
                            _ => "not reported".into(),
                        },
                    }
                })
                // Information only: a device that cannot say its memory is not blocked by it.
                .map_err(|c| Check {
                    status: Status::Info,
                    detail: format!("not reported ({})", c.detail),
                    ..c
                }),
        );
    }
    push(health_check(t, d));
    out
}

/// The version the device reports against `version` ("drift" when it differs), quoting what it
/// said when the driver cannot read it.
pub fn version_check(
    t: &mut dyn Transport,
    d: &Driver,
    vendor: Vendor,
    version: &Version,
) -> Result<Check, Check> {
    run(t, d, "version", "show_version").map(|text| {
        match reported_version(d, &text).map(|v| (Version::parse(vendor, &v), v)) {
            Some((Ok(v), _)) if v == *version => Check {
                name: "version",
                status: Status::Ok,
                detail: format!("runs {v}"),
            },
            Some((Ok(v), _)) => Check {
                name: "version",
                status: Status::Fail,
                detail: format!("drift: runs {v}, expected {version}"),
            },
            Some((Err(err), raw)) => Check {
                name: "version",
                status: Status::Fail,
                detail: format!("reports \"{raw}\": {err}"),
            },
            None => Check {
                name: "version",
                status: Status::Fail,
                detail: "no version in the output of show_version".into(),
            },
        }
    })
}

/// The first few lines of a device's answer, for messages that quote it.
pub fn quote(text: &str) -> String {
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let mut q = lines
        .iter()
        .take(3)
        .copied()
        .collect::<Vec<_>>()
        .join(" / ");
    if lines.len() > 3 {
        q.push_str(" / ...");
    }
    if q.is_empty() {
        "nothing".into()
    } else {
        format!("\"{q}\"")
    }
}

/// The HA role the device reports, as the driver reads it.
pub fn reported_role(d: &Driver, text: &str) -> Option<HaRole> {
    let role = d
        .parse_output("ha_role", text)
        .get("role")
        .map(|r| r.to_ascii_lowercase());
    match role.as_deref() {
        Some("active" | "primary" | "master") => Some(HaRole::Active),
        Some("standby" | "secondary" | "backup") => Some(HaRole::Standby),
        _ => None,
    }
}

/// The device's HA role against `want` (a standalone unit must report itself active). A role
/// the driver cannot read fails the check, quoting what the device answered.
pub fn role_check(t: &mut dyn Transport, d: &Driver, want: HaRole) -> Result<Check, Check> {
    run(t, d, "ha-role", "ha_role").map(|text| {
        let seen = reported_role(d, &text);
        let ok = match (want, seen) {
            (HaRole::Standalone, Some(HaRole::Active)) => true,
            (want, Some(got)) => want == got,
            _ => false,
        };
        Check {
            name: "ha-role",
            status: if ok { Status::Ok } else { Status::Fail },
            detail: match seen {
                Some(r) if ok => format!("{} as expected", r.id()),
                Some(r) => format!("is {}, expected {}", r.id(), want.id()),
                None => format!(
                    "role not reported as {} expects (expected {}): the device answered {}",
                    d.commands["ha_role"].run,
                    want.id(),
                    quote(&text)
                ),
            },
        }
    })
}

/// Whether the device's configuration is in sync with its peer, quoting its status.
pub fn sync_check(t: &mut dyn Transport, d: &Driver) -> Result<Check, Check> {
    run(t, d, "sync", "sync_status").map(|text| {
        let status = d.parse_output("sync_status", &text).get("status").cloned();
        let wanted = &d.commands["sync_status"].in_sync;
        let ok = status
            .as_ref()
            .is_some_and(|s| wanted.iter().any(|w| w == s));
        Check {
            name: "sync",
            status: if ok { Status::Ok } else { Status::Fail },
            detail: match status {
                Some(s) if ok => s,
                Some(s) => format!("\"{s}\", not in sync"),
                None => format!(
                    "sync status not reported: the device answered {}",
                    quote(&text)
                ),
            },
        }
    })
}

/// The driver's health command.
pub fn health_check(t: &mut dyn Transport, d: &Driver) -> Result<Check, Check> {
    run(t, d, "health", "health").map(|text| Check {
        name: "health",
        status: if d.succeeded("health", &text) {
            Status::Ok
        } else {
            Status::Fail
        },
        detail: text.lines().last().unwrap_or("").trim().to_string(),
    })
}

/// The checks that gate a failover on one unit of the pair: its role, sync and health. Every
/// check runs, so a refusal shows all that is wrong.
pub fn ha_gate(t: &mut dyn Transport, d: &Driver, want: HaRole) -> Vec<Check> {
    [role_check(t, d, want), sync_check(t, d), health_check(t, d)]
        .into_iter()
        .map(|r| r.unwrap_or_else(|c| c))
        .collect()
}

/// A transport error as a failed check (for reports that list every device).
pub fn unreachable(e: &SshError) -> Check {
    Check {
        name: "connect",
        status: Status::Fail,
        detail: e.to_string(),
    }
}

/// Why a hop stopped. Every variant leaves the device in a state the message names.
#[derive(Debug, thiserror::Error)]
pub enum HopError {
    /// A pre-check failed; nothing was changed.
    #[error("pre-checks failed, nothing changed: {}", summary(.0))]
    Precheck(Vec<Check>),
    /// The connection failed.
    #[error(transparent)]
    Ssh(#[from] SshError),
    /// A value was refused by the driver's guard.
    #[error(transparent)]
    Refused(#[from] crate::driver::RenderError),
    /// Not enough room for the image.
    #[error("not enough space: {0}")]
    NoSpace(String),
    /// The image on the device does not have the manifest's SHA-256 (the copy stays, unused).
    #[error(
        "checksum mismatch for {file} on the device: {got}, the manifest says {expected}; not installed"
    )]
    ChecksumMismatch {
        /// Image file.
        file: String,
        /// Manifest SHA-256.
        expected: String,
        /// What the device computed.
        got: String,
    },
    /// A command reported failure.
    #[error("{step} failed: {detail}")]
    Command {
        /// Step.
        step: &'static str,
        /// Output.
        detail: String,
    },
    /// The device reported the install failed (its own words), or never finished it.
    #[error("install of {image} to {volume} {why}")]
    Install {
        /// Image.
        image: String,
        /// Volume.
        volume: String,
        /// What the device said, or how long it was given.
        why: String,
    },
    /// Ctrl-C while waiting on the device: the step stays unfinished, `--resume` continues it.
    #[error("interrupted while {0}: the step is unfinished (`--resume` continues it)")]
    Interrupted(&'static str),
    /// The device did not answer SSH again in time after the reboot.
    #[error(
        "the device did not come back within {0} s after the reboot (it may still be booting: check it before anything else)"
    )]
    NotBack(u64),
    /// The device still answered long after the reboot command: it did not reboot.
    #[error(
        "the device still answered {0} s after the reboot command: it did not reboot (nothing else was done)"
    )]
    NotDown(u64),
    /// It came back on another version than the hop's.
    #[error(
        "the device came back on {got}, not {expected} (the install did not take; it runs the old volume)"
    )]
    WrongVersion {
        /// Hop target.
        expected: String,
        /// What it runs.
        got: String,
    },
    /// It came back and passed its checks, but memory in use did not drop.
    #[error(
        "memory in use did not drop after the reboot: {before} before, {after} after (the leak is elsewhere, or the reboot did not happen)"
    )]
    MemoryNotReleased {
        /// Before.
        before: MemoryUse,
        /// After.
        after: MemoryUse,
    },
    /// It came back but a post-check failed.
    #[error("post-checks failed on {version}: {}", summary(.checks))]
    Postcheck {
        /// The version it runs (the hop's target).
        version: String,
        /// The checks.
        checks: Vec<Check>,
    },
}

impl HopError {
    /// Whether the reboot command had been sent when this happened (the device went through a
    /// reboot, or may have).
    pub fn after_reboot(&self) -> bool {
        matches!(
            self,
            HopError::NotBack(_)
                | HopError::Interrupted(
                    "waiting for the device to come back" | "waiting for the device to go down"
                )
                | HopError::WrongVersion { .. }
                | HopError::Postcheck { .. }
                | HopError::MemoryNotReleased { .. }
        )
    }
}

fn summary(checks: &[Check]) -> String {
    checks
        .iter()
        .filter(|c| c.status == Status::Fail)
        .map(|c| format!("{}: {}", c.name, c.detail))
        .collect::<Vec<_>>()
        .join("; ")
}

/// What staging did.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Staged {
    /// Bytes sent (0 when the device already had the image).
    pub sent: u64,
    /// Bytes that were already there and kept (a resumed copy).
    pub resumed_from: u64,
    /// The SHA-256 verified on the device.
    pub sha256: String,
    /// Seconds spent sending (the last attempt).
    pub upload_seconds: f64,
}

/// The steps of a hop, for progress and journals.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Step {
    /// Read-only pre-checks.
    Precheck,
    /// Upload and on-device checksum.
    Stage,
    /// Install to the alternate volume.
    Install,
    /// Reboot into it.
    Reboot,
    /// Wait for SSH to answer again.
    WaitBack,
    /// Version and health after the reboot.
    Postcheck,
}

fn run_cmd(
    t: &mut dyn Transport,
    d: &Driver,
    step: &'static str,
    cmd: &str,
    values: &[(&str, &str)],
) -> Result<String, HopError> {
    let line = d.render_with(cmd, values)?;
    let o = t.exec(&line)?;
    if o.status != 0 {
        return Err(HopError::Command {
            step,
            detail: format!("`{line}` exited {}: {}", o.status, o.stderr.trim()),
        });
    }
    Ok(o.stdout)
}

fn remote_sha(t: &mut dyn Transport, d: &Driver, file: &str) -> Result<Option<String>, HopError> {
    let line = d.render_with("image_checksum", &[("image", file)])?;
    let o = t.exec(&line)?;
    Ok((o.status == 0)
        .then(|| {
            d.parse_output("image_checksum", &o.stdout)
                .get("sha256")
                .cloned()
        })
        .flatten())
}

/// Room an upload of `size` bytes needs where images go: the image and 5 %, at least 64 MiB.
pub fn space_needed(size: u64) -> u64 {
    size + (size / 20).max(64 << 20)
}

/// Uploads an image unless the device already holds it with the right SHA-256, continuing a
/// partial copy, and verifies the SHA-256 on the device. A resumed copy that does not verify is
/// sent again from the start once.
pub fn stage(
    t: &mut dyn Transport,
    d: &Driver,
    image: &crate::images::Image,
    local: &std::path::Path,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<Staged, HopError> {
    if remote_sha(t, d, &image.file)?.as_deref() == Some(image.sha256.as_str()) {
        return Ok(Staged {
            sent: 0,
            resumed_from: image.size,
            sha256: image.sha256.clone(),
            upload_seconds: 0.0,
        });
    }
    let space = run_cmd(t, d, "free-space", "free_space", &[])?;
    let free = d
        .parse_output("free_space", &space)
        .get("available_kib")
        .and_then(|v| v.parse::<u64>().ok())
        .map(|k| k * 1024);
    let need = space_needed(image.size);
    match free {
        Some(f) if f < need => {
            return Err(HopError::NoSpace(format!(
                "{} MiB free in {}, {} MiB needed for {}",
                f >> 20,
                d.image_dir,
                need.div_ceil(1 << 20),
                image.file
            )));
        }
        None => {
            return Err(HopError::NoSpace("free space not reported".into()));
        }
        _ => {}
    }
    let remote = format!("{}/{}", d.image_dir.trim_end_matches('/'), image.file);
    let mut resume = true;
    loop {
        let started = std::time::Instant::now();
        let kept = t.upload(local, &remote, resume, d.upload_streams, progress)?;
        let upload_seconds = started.elapsed().as_secs_f64();
        let got = remote_sha(t, d, &image.file)?.unwrap_or_else(|| "none".into());
        if got == image.sha256 {
            return Ok(Staged {
                sent: image.size - kept,
                resumed_from: kept,
                sha256: got,
                upload_seconds,
            });
        }
        if kept == 0 || !resume {
            return Err(HopError::ChecksumMismatch {
                file: image.file.clone(),
                expected: image.sha256.clone(),
                got,
            });
        }
        resume = false;
    }
}

/// How long to wait for a device's background work and reboots.
#[derive(Clone, Copy, Debug)]
pub struct Wait {
    /// Until SSH answers again.
    pub reboot: std::time::Duration,
    /// Until an install the device runs in the background is complete.
    pub install: std::time::Duration,
    /// Until both units of a pair report their new roles after a failover.
    pub failover: std::time::Duration,
    /// Pause between attempts to reconnect or to read install progress (at most 1 s while
    /// waiting to see it go down).
    pub interval: std::time::Duration,
    /// Set (by Ctrl-C) to stop waiting at once.
    pub cancel: &'static std::sync::atomic::AtomicBool,
}

impl Wait {
    fn cancelled(&self) -> bool {
        self.cancel.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Sleeps `d`, in short pieces so that a cancel stops it promptly; false when cancelled.
    pub fn sleep(&self, d: std::time::Duration) -> bool {
        let end = std::time::Instant::now() + d;
        loop {
            if self.cancelled() {
                return false;
            }
            let left = end.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                return true;
            }
            std::thread::sleep(left.min(std::time::Duration::from_millis(100)));
        }
    }
}

/// Where an install the device runs in the background stands, from its volume's row.
#[derive(Clone, Debug, PartialEq)]
pub enum InstallState {
    /// The volume holds the target and is complete.
    Complete,
    /// Still running: the percentage when the device gives one, and its status text.
    Running(Option<f64>, String),
    /// The device says it failed (its words).
    Failed(String),
}

/// The state of the install of `to` on `volume`, from the rows of the driver's `wait_for`
/// command. A volume the device does not list yet, or one that still shows another release,
/// is still running: the install has not reached it.
pub fn install_state(
    d: &Driver,
    status_cmd: &str,
    rows: &[std::collections::BTreeMap<String, String>],
    volume: &str,
    to: &Version,
) -> InstallState {
    let Some(row) = rows
        .iter()
        .find(|r| r.get("volume").map(String::as_str) == Some(volume))
    else {
        return InstallState::Running(None, format!("{volume} not listed yet"));
    };
    let c = &d.commands[status_cmd];
    let status = row.get("status").cloned().unwrap_or_default();
    if c.failed.as_ref().is_some_and(|r| r.is_match(&status)) {
        return InstallState::Failed(status);
    }
    let holds_target = row
        .get("version")
        .is_some_and(|v| Version::parse(d.vendor, v).is_ok_and(|v| &v == to));
    if holds_target && c.complete.as_ref().is_some_and(|r| r.is_match(&status)) {
        return InstallState::Complete;
    }
    let pct = c
        .progress
        .as_ref()
        .and_then(|r| r.captures(&status))
        .and_then(|m| m.get(1))
        .and_then(|m| m.as_str().parse::<f64>().ok());
    let shows = match row.get("version") {
        Some(v) if !holds_target => format!("{volume} shows {v} {status}"),
        _ => format!("{volume} {status}"),
    };
    InstallState::Running(pct, shows)
}

/// Polls the driver's `wait_for` command until the install of `to` on `volume` is complete,
/// failed (the device's words) or out of time; `on_progress` hears each reading.
fn wait_installed(
    t: &mut dyn Transport,
    d: &Driver,
    status_cmd: &str,
    hop: &Hop<'_>,
    volume: &str,
    wait: Wait,
    on_progress: &mut dyn FnMut(&str),
) -> Result<(), HopError> {
    let (image, to) = (&hop.image.file, &hop.to);
    let start = std::time::Instant::now();
    let err = |why: String| HopError::Install {
        image: image.to_string(),
        volume: volume.to_string(),
        why,
    };
    loop {
        let rows = read_rows(t, d, status_cmd)?;
        match install_state(d, status_cmd, &rows, volume, to) {
            InstallState::Complete => return Ok(()),
            InstallState::Failed(words) => {
                return Err(err(format!("failed: the device reports \"{words}\"")));
            }
            InstallState::Running(pct, text) => {
                on_progress(&match pct {
                    Some(p) => format!("{p:.0} % ({text})"),
                    None => text.clone(),
                });
                if start.elapsed() >= wait.install {
                    return Err(err(format!(
                        "did not complete within {} s (last: {text}); nothing was rebooted",
                        wait.install.as_secs()
                    )));
                }
            }
        }
        if !wait.sleep(wait.interval) {
            return Err(HopError::Interrupted("waiting for the install to complete"));
        }
    }
}

/// The volume to install to, for drivers that list volumes (`software_status` rows): the first
/// inactive one, else the next number. `None` for drivers without volumes.
pub fn choose_volume(t: &mut dyn Transport, d: &Driver) -> Result<Option<String>, HopError> {
    if d.commands
        .get("software_status")
        .is_none_or(|c| c.rows.is_none())
    {
        return Ok(None);
    }
    pick_volume(&read_rows(t, d, "software_status")?, None)
}

/// The rows of a read-only command (software status), its exit status checked.
pub fn read_rows(
    t: &mut dyn Transport,
    d: &Driver,
    cmd: &str,
) -> Result<Vec<std::collections::BTreeMap<String, String>>, HopError> {
    let out = run_cmd(t, d, "install", cmd, &[])?;
    Ok(d.parse_rows(cmd, &out))
}

/// The volume a hop installs to among `rows`: the first inactive one other than `keep`, if
/// any ([`pick_volume`]).
pub fn first_inactive(
    rows: &[std::collections::BTreeMap<String, String>],
    keep: Option<&str>,
) -> Option<String> {
    pick_volume(rows, keep).ok().flatten()
}

/// Marks `volume` the active one of `rows` (what a reboot into it does), adding it if absent.
pub fn activate(rows: &mut Vec<std::collections::BTreeMap<String, String>>, volume: &str) {
    if !rows
        .iter()
        .any(|r| r.get("volume").map(String::as_str) == Some(volume))
    {
        rows.push(std::collections::BTreeMap::from([(
            "volume".to_string(),
            volume.to_string(),
        )]));
    }
    for r in rows.iter_mut() {
        let on = r.get("volume").map(String::as_str) == Some(volume);
        r.insert("active".into(), if on { "yes" } else { "no" }.into());
    }
}

/// The first inactive volume of `rows` other than `keep` (the volume the device ran before the
/// rollout: the way back, kept while another inactive volume exists), else `keep`, else the
/// next number after the listed ones.
fn pick_volume(
    rows: &[std::collections::BTreeMap<String, String>],
    keep: Option<&str>,
) -> Result<Option<String>, HopError> {
    let inactive = |r: &&std::collections::BTreeMap<String, String>| {
        r.get("active").map(String::as_str) == Some("no")
    };
    let volume = rows
        .iter()
        .filter(inactive)
        .find(|r| r.get("volume").map(String::as_str) != keep)
        .or_else(|| rows.iter().find(inactive))
        .and_then(|r| r.get("volume").cloned())
        .or_else(|| {
            let n = rows.len() + 1;
            rows.first()
                .and_then(|r| r.get("volume"))
                .and_then(|v| v.rsplit_once('.'))
                .map(|(prefix, _)| format!("{prefix}.{n}"))
        })
        .ok_or_else(|| HopError::Command {
            step: "install",
            detail: "no volume to install to".into(),
        })?;
    Ok(Some(volume))
}

/// Sends a reboot command. A non-zero exit is the device refusing (a volume that is not
/// bootable): the step fails with its words and nothing else happens. A session cut before the
/// command could answer is the reboot itself.
fn send_reboot(t: &mut dyn Transport, line: &str) -> Result<(), HopError> {
    match t.exec(line) {
        Ok(o) if o.status != 0 => Err(HopError::Command {
            step: "reboot",
            detail: format!(
                "`{line}` exited {}: {} (the device did not reboot)",
                o.status,
                quote(&format!("{}\n{}", o.stderr, o.stdout))
            ),
        }),
        Ok(_) | Err(_) => Ok(()),
    }
}

/// The volume a hop installs to, and what an earlier attempt left there: an inactive volume
/// that already holds `to` (complete, still installing, or failed) is used again, so a resumed
/// hop neither installs twice nor reboots into a half-written volume; otherwise the first
/// inactive one ([`choose_volume`]). For drivers without volumes, `(None, None)`.
pub fn target_volume(
    t: &mut dyn Transport,
    d: &Driver,
    to: &Version,
    wait_for: Option<&str>,
) -> Result<(Option<String>, Option<InstallState>), HopError> {
    target_volumes(t, d, to, wait_for, None).map(|(v, s, _)| (v, s))
}

/// The volume to install to, what an earlier attempt left there, and the volume the device
/// runs now.
type Targets = (Option<String>, Option<InstallState>, Option<String>);

/// [`target_volume`], and the volume the device runs now as the same reading lists it.
fn target_volumes(
    t: &mut dyn Transport,
    d: &Driver,
    to: &Version,
    wait_for: Option<&str>,
    keep: Option<&str>,
) -> Result<Targets, HopError> {
    let Some(status_cmd) = wait_for else {
        if !lists_volumes(d) {
            return Ok((None, None, None));
        }
        let rows = read_rows(t, d, "software_status")?;
        return Ok((pick_volume(&rows, keep)?, None, running_volume(&rows)));
    };
    let rows = read_rows(t, d, status_cmd)?;
    let running = running_volume(&rows);
    let earlier = rows.iter().find(|r| {
        r.get("active").map(String::as_str) == Some("no")
            && r.get("version")
                .is_some_and(|v| Version::parse(d.vendor, v).is_ok_and(|v| &v == to))
    });
    if let Some(vol) = earlier.and_then(|r| r.get("volume")) {
        let state = install_state(d, status_cmd, &rows, vol, to);
        return Ok((Some(vol.clone()), Some(state), running));
    }
    Ok((pick_volume(&rows, keep)?, None, running))
}

/// Whether the driver lists boot volumes (`software_status` with rows).
pub fn lists_volumes(d: &Driver) -> bool {
    d.commands
        .get("software_status")
        .is_some_and(|c| c.rows.is_some())
}

/// The active volume of a software-status reading.
fn running_volume(rows: &[std::collections::BTreeMap<String, String>]) -> Option<String> {
    rows.iter()
        .find(|r| r.get("active").map(String::as_str) == Some("yes"))
        .and_then(|r| r.get("volume").cloned())
}

/// Where a device booted from before and after a change, as it reported it: its volume for
/// drivers that list volumes, otherwise the version it ran.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Booted {
    /// Before.
    pub before: Option<String>,
    /// After.
    pub after: Option<String>,
}

/// How a hop ended well.
#[derive(Clone, Debug, PartialEq)]
pub enum HopOutcome {
    /// Installed, rebooted, post-checks passed.
    Upgraded(Vec<Check>, Booted),
    /// The device already ran the hop's target: nothing was done.
    AlreadyAtTarget,
}

/// One upgrade hop on one device.
pub struct Hop<'a> {
    /// What the device must run and be before.
    pub expect: Expectation,
    /// The hop's target.
    pub to: Version,
    /// The image for `to`.
    pub image: &'a crate::images::Image,
    /// Where the image is locally.
    pub local: &'a std::path::Path,
    /// The volume the device ran before the rollout's first hop (the way back): not installed
    /// over while another inactive volume exists.
    pub keep: Option<&'a str>,
}

/// Takes one device through one hop: pre-checks, stage, install to the alternate volume,
/// reboot, wait until SSH answers again (bounded, with backoff), post-checks. `connect` opens a
/// new session (used again after the reboot); `on_step` hears every step start.
#[allow(clippy::too_many_arguments)]
pub fn upgrade_hop(
    connect: &mut dyn Reconnect,
    d: &Driver,
    hop: &Hop<'_>,
    wait: Wait,
    resumed: bool,
    on_step: &mut dyn FnMut(Step, &str),
    progress: &mut dyn FnMut(u64, u64),
) -> Result<HopOutcome, HopError> {
    let mut t = first_session(connect, wait, resumed, on_step)?;
    on_step(Step::Precheck, "");
    let mut expect = hop.expect.clone();
    expect.space_needed = None;
    let checks = precheck(t.as_mut(), d, &expect, Scope::Gate);
    // Already at the hop's target (a hop finished before a crash): nothing to do.
    let done_already = format!("drift: runs {}, expected", hop.to);
    if checks
        .iter()
        .any(|c| c.name == "version" && c.detail.starts_with(&done_already))
    {
        return Ok(HopOutcome::AlreadyAtTarget);
    }
    if checks.iter().any(|c| c.status == Status::Fail) {
        return Err(HopError::Precheck(checks));
    }
    on_step(Step::Stage, &hop.image.file);
    stage(t.as_mut(), d, hop.image, hop.local, progress)?;
    let wait_for = d.commands.get("install").and_then(|c| c.wait_for.clone());
    let (volume, earlier, running) =
        target_volumes(t.as_mut(), d, &hop.to, wait_for.as_deref(), hop.keep)?;
    let mut booted = Booted {
        before: running.or_else(|| Some(hop.expect.version.to_string())),
        after: None,
    };
    let mut values: Vec<(&str, String)> = vec![
        ("image", hop.image.file.clone()),
        ("release", hop.to.as_str().to_string()),
    ];
    if let Some(v) = &volume {
        values.push(("volume", v.clone()));
    }
    let pairs: Vec<(&str, &str)> = values.iter().map(|(k, v)| (*k, v.as_str())).collect();
    match &earlier {
        // An install started before a crash or an interrupt: not started again.
        Some(InstallState::Complete | InstallState::Running(..)) => on_step(
            Step::Install,
            &format!(
                "{} already on {} (an earlier attempt's install)",
                hop.to,
                volume.as_deref().unwrap_or("")
            ),
        ),
        _ => {
            on_step(Step::Install, &hop.to.to_string());
            run_cmd(t.as_mut(), d, "install", "install", &pairs)?;
        }
    }
    if let Some(status_cmd) = &wait_for {
        let volume = volume.as_deref().ok_or_else(|| HopError::Command {
            step: "install",
            detail: "no volume to wait for".into(),
        })?;
        let mut last = String::new();
        wait_installed(t.as_mut(), d, status_cmd, hop, volume, wait, &mut |text| {
            if text != last {
                on_step(Step::Install, text);
                last = text.to_string();
            }
        })?;
    }
    on_step(Step::Reboot, "");
    let line = d.render_with("reboot", &pairs)?;
    send_reboot(t.as_mut(), &line)?;
    drop(t);
    on_step(Step::WaitBack, "");
    let mut t = wait_back(connect, wait)?;
    on_step(Step::Postcheck, "");
    let mut after = hop.expect.clone();
    after.version = hop.to.clone();
    after.space_needed = None;
    let checks = precheck(t.as_mut(), d, &after, Scope::Gate);
    if let Some(v) = checks
        .iter()
        .find(|c| c.name == "version" && c.status == Status::Fail)
    {
        let got = v
            .detail
            .strip_prefix("drift: runs ")
            .and_then(|s| s.split(',').next())
            .unwrap_or(&v.detail)
            .to_string();
        return Err(HopError::WrongVersion {
            expected: hop.to.to_string(),
            got,
        });
    }
    if checks.iter().any(|c| c.status == Status::Fail) {
        return Err(HopError::Postcheck {
            version: hop.to.to_string(),
            checks,
        });
    }
    // Best effort: the hop is verified; an unreadable volume list only costs the record.
    booted.after = active_volume(t.as_mut(), d)
        .ok()
        .flatten()
        .or_else(|| Some(hop.to.to_string()));
    connect.keep(t);
    Ok(HopOutcome::Upgraded(checks, booted))
}

/// Sessions to one device, opened again after its reboot.
pub trait Reconnect {
    /// A new session.
    fn session(&mut self) -> Result<Box<dyn Transport>, SshError>;

    /// Whether the device accepts connections at all (used to see it go down after a reboot
    /// command); by default whether a session opens, cheaper where the transport allows.
    fn answers(&mut self) -> bool {
        self.session().is_ok()
    }

    /// Takes back a session that ended a step well, for the next step on the same device to
    /// use instead of logging in again. By default it is closed.
    fn keep(&mut self, _session: Box<dyn Transport>) {}
}

impl<F: FnMut() -> Result<Box<dyn Transport>, SshError>> Reconnect for F {
    fn session(&mut self) -> Result<Box<dyn Transport>, SshError> {
        self()
    }
}

/// The first session of a step. A step the journal shows started and never ended (lbfleet was
/// killed part-way) may have left its device rebooting: an unreachable device is then waited
/// for as after a reboot, within the reboot timeout, instead of failing at once.
fn first_session(
    connect: &mut dyn Reconnect,
    wait: Wait,
    resumed: bool,
    on_step: &mut dyn FnMut(Step, &str),
) -> Result<Box<dyn Transport>, HopError> {
    match connect.session() {
        Ok(t) => Ok(t),
        Err(e @ (SshError::Connect { .. } | SshError::Session { .. })) if resumed => {
            on_step(
                Step::WaitBack,
                &format!(
                    "unreachable after an unfinished attempt ({e}): waiting for it as after a reboot"
                ),
            );
            wait_up(connect, wait, std::time::Instant::now())
        }
        Err(e) => Err(e.into()),
    }
}

/// Waits until the device has gone down after a reboot command and answers SSH again. A reboot
/// command returns before the device stops, so a session opened at once may still reach the old
/// system: first the device must be seen gone (polled every `interval`, at most 1 s), then an
/// attempt every `interval`, all within `wait.reboot`. The pause does not grow: an attempt on a
/// device that is down costs one refused or timed-out TCP connection, and a growing pause would
/// add up to half the boot time to every reboot.
fn wait_back(connect: &mut dyn Reconnect, wait: Wait) -> Result<Box<dyn Transport>, HopError> {
    let start = std::time::Instant::now();
    let probe = wait.interval.min(std::time::Duration::from_secs(1));
    loop {
        if !wait.sleep(probe) {
            return Err(HopError::Interrupted("waiting for the device to go down"));
        }
        if !connect.answers() {
            break;
        }
        if start.elapsed() >= wait.reboot {
            return Err(HopError::NotDown(wait.reboot.as_secs()));
        }
    }
    wait_up(connect, wait, start)
}

/// Tries a session every `interval` until one opens, within `wait.reboot` of `start`.
fn wait_up(
    connect: &mut dyn Reconnect,
    wait: Wait,
    start: std::time::Instant,
) -> Result<Box<dyn Transport>, HopError> {
    loop {
        if !wait.sleep(wait.interval) {
            return Err(HopError::Interrupted("waiting for the device to come back"));
        }
        match connect.session() {
            Ok(t) => return Ok(t),
            Err(SshError::Connect { .. } | SshError::Session { .. })
                if start.elapsed() < wait.reboot => {}
            Err(SshError::Connect { .. } | SshError::Session { .. }) => {
                return Err(HopError::NotBack(wait.reboot.as_secs()));
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// Memory in use as the driver's `memory` command reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct MemoryUse {
    /// Bytes in use.
    pub used: u64,
    /// Bytes in all.
    pub total: u64,
}

impl std::fmt::Display for MemoryUse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:.1} GiB ({:.0} %)",
            self.used as f64 / 1073741824.0,
            self.used as f64 / self.total.max(1) as f64 * 100.0
        )
    }
}

/// Memory in use, or `None` when the driver has no `memory` command or the output has no figures.
pub fn memory(t: &mut dyn Transport, d: &Driver) -> Result<Option<MemoryUse>, HopError> {
    if !d.commands.contains_key("memory") {
        return Ok(None);
    }
    let out = run_cmd(t, d, "memory", "memory", &[])?;
    let v = d.parse_output("memory", &out);
    let n = |k: &str| v.get(k).and_then(|x| x.parse::<u64>().ok());
    Ok(match (n("used_bytes"), n("total_bytes")) {
        (Some(used), Some(total)) if total > 0 => Some(MemoryUse { used, total }),
        _ => None,
    })
}

/// The volume the device runs now, for drivers that list volumes; `None` for the others.
pub fn active_volume(t: &mut dyn Transport, d: &Driver) -> Result<Option<String>, HopError> {
    if d.commands
        .get("software_status")
        .is_none_or(|c| c.rows.is_none())
    {
        return Ok(None);
    }
    let out = run_cmd(t, d, "reboot", "software_status", &[])?;
    d.parse_rows("software_status", &out)
        .iter()
        .find(|r| r.get("active").map(String::as_str) == Some("yes"))
        .and_then(|r| r.get("volume").cloned())
        .map(Some)
        .ok_or_else(|| HopError::Command {
            step: "reboot",
            detail: "no active volume listed".into(),
        })
}

/// A configuration backup copied off a device and checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BackedUp {
    /// The file on the device.
    pub remote: String,
    /// Where it was copied.
    pub local: std::path::PathBuf,
    /// Its size.
    pub bytes: u64,
    /// Its SHA-256, the same on both sides.
    pub sha256: String,
}

/// Runs a command that changes the device (saving its configuration), checked: its exit status
/// and its output against the driver's `expect`/`fail_if`, a failure quoting the device.
fn run_checked(
    t: &mut dyn Transport,
    d: &Driver,
    cmd: &str,
    values: &[(&str, &str)],
) -> Result<(), HopError> {
    let line = d.render_with(cmd, values)?;
    let o = t.exec(&line)?;
    if o.status != 0 || !d.succeeded(cmd, &o.stdout) {
        return Err(HopError::Command {
            step: "backup",
            detail: format!(
                "`{line}` exited {}: {}",
                o.status,
                quote(&format!("{}\n{}", o.stderr, o.stdout))
            ),
        });
    }
    Ok(())
}

/// Takes a device's configuration backup before its first change: the pre-checks of `expect`
/// first (read-only; a failure of role, sync or health changes nothing), then the driver's `save_config` (if it has
/// one) and `backup` with `{archive}`, the file `backup` names copied over SFTP into `dir`
/// (a temporary name, renamed once checked), its size against the device's listing and its
/// SHA-256 against the device's `backup_checksum`. `Ok(None)` when the driver has no backup.
pub fn backup(
    t: &mut dyn Transport,
    d: &Driver,
    expect: &Expectation,
    archive: &str,
    dir: &std::path::Path,
) -> Result<Option<BackedUp>, HopError> {
    if !d.commands.contains_key("backup") {
        return Ok(None);
    }
    // The gates, not the version: a device found on the hop's target already (a hop finished
    // before a crash) is backed up all the same, and its hop then changes nothing.
    let checks = precheck(t, d, expect, Scope::Gate);
    if checks
        .iter()
        .any(|c| c.status == Status::Fail && c.name != "version")
    {
        return Err(HopError::Precheck(checks));
    }
    let values = [("archive", archive)];
    let remote = d
        .render_fetch("backup", &values)?
        .ok_or_else(|| HopError::Command {
            step: "backup",
            detail: format!(
                "the {} driver's backup names no file to copy (fetch)",
                d.vendor.id()
            ),
        })?;
    if d.commands.contains_key("save_config") {
        run_checked(t, d, "save_config", &values)?;
    }
    run_checked(t, d, "backup", &values)?;
    let fail = |detail: String| HopError::Command {
        step: "backup",
        detail,
    };
    std::fs::create_dir_all(dir).map_err(|e| fail(format!("{}: {e}", dir.display())))?;
    let name = remote.rsplit('/').next().unwrap_or(&remote);
    let local = dir.join(name);
    let part = dir.join(format!(".{name}.part"));
    let result = (|| {
        let (listed, copied) = t.download(&remote, &part)?;
        if listed != copied || copied == 0 {
            return Err(fail(format!(
                "{remote}: copied {copied} bytes, the device lists {listed}"
            )));
        }
        let (sha256, _) =
            crate::images::digest(&part).map_err(|e| fail(format!("{}: {e}", part.display())))?;
        if d.commands.contains_key("backup_checksum") {
            let out = run_cmd(t, d, "backup", "backup_checksum", &values)?;
            let theirs = d
                .parse_output("backup_checksum", &out)
                .get("sha256")
                .cloned()
                .unwrap_or_default();
            if theirs != sha256 {
                return Err(fail(format!(
                    "{remote}: the copy's SHA-256 is {sha256}, the device says {}",
                    if theirs.is_empty() {
                        "nothing readable"
                    } else {
                        &theirs
                    }
                )));
            }
        }
        // An earlier backup of the device (an earlier rollout of a plan of the same name, or a
        // --restart) is kept beside it, never replaced.
        if local.exists() {
            crate::fsutil::set_aside(&local)
                .map_err(|e| fail(format!("{}: {e}", local.display())))?;
        }
        std::fs::rename(&part, &local).map_err(|e| fail(format!("{}: {e}", local.display())))?;
        Ok(BackedUp {
            remote: remote.clone(),
            local: local.clone(),
            bytes: copied,
            sha256,
        })
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&part);
    }
    result.map(Some)
}

/// What taking a device back to its old release needs: the volume (for drivers that list
/// volumes) that still holds that release, complete, as the device lists it now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Way {
    /// The device runs the old release already: nothing to do.
    AlreadyThere,
    /// Boot this (the driver's `rollback` command with `{volume}`; `None` for drivers without
    /// volumes, whose rollback command needs none).
    Boot(Option<String>),
}

/// How `d` can take the device back to `old`, read-only: it must have a `rollback` command and,
/// when it lists volumes, a volume other than the running one must still hold `old`, complete
/// (`prefer`, the volume the journal says the device booted before the rollout, first). The
/// error says why not, in the device's terms.
pub fn way_back(
    t: &mut dyn Transport,
    d: &Driver,
    old: &Version,
    prefer: Option<&str>,
) -> Result<Way, String> {
    let out = run(t, d, "version", "show_version").map_err(|c| c.detail)?;
    let runs = reported_version(d, &out).and_then(|v| Version::parse(d.vendor, &v).ok());
    if runs.as_ref() == Some(old) {
        return Ok(Way::AlreadyThere);
    }
    if !d.commands.contains_key("rollback") {
        return Err(format!(
            "the {} driver ({}) has no rollback command: lbfleet cannot boot the previous release \
             on this device",
            d.vendor.id(),
            d.source
        ));
    }
    if !lists_volumes(d) {
        return Ok(Way::Boot(None));
    }
    let rows = read_rows(t, d, "software_status").map_err(|e| e.to_string())?;
    let complete = d.commands["software_status"].complete.as_ref();
    let holds = |r: &&std::collections::BTreeMap<String, String>| {
        r.get("active").map(String::as_str) == Some("no")
            && r.get("version")
                .is_some_and(|v| Version::parse(d.vendor, v).is_ok_and(|v| &v == old))
            && complete.is_none_or(|c| r.get("status").is_some_and(|s| c.is_match(s)))
    };
    let mut candidates: Vec<&std::collections::BTreeMap<String, String>> =
        rows.iter().filter(holds).collect();
    candidates.sort_by_key(|r| r.get("volume").map(String::as_str) != prefer);
    if let Some(v) = candidates.first().and_then(|r| r.get("volume")) {
        return Ok(Way::Boot(Some(v.clone())));
    }
    let listed: Vec<String> = rows
        .iter()
        .map(|r| {
            format!(
                "{} {} {}{}",
                r.get("volume").map_or("?", String::as_str),
                r.get("version").map_or("?", String::as_str),
                r.get("status").map_or("?", String::as_str),
                if r.get("active").map(String::as_str) == Some("yes") {
                    " (active)"
                } else {
                    ""
                }
            )
        })
        .collect();
    Err(format!(
        "no volume holds {old} any more{}: the device lists {}",
        match prefer {
            Some(p) => format!(
                " ({p}, where it ran before the rollout, was overwritten by a later install)"
            ),
            None => String::new(),
        },
        listed.join(", ")
    ))
}

/// What a rollback of one device did.
#[derive(Clone, Debug, PartialEq)]
pub enum Reverted {
    /// It ran the old release already.
    AlreadyThere,
    /// Rebooted into the old release; post-checks passed.
    Rebooted(Vec<Check>, Booted),
}

/// Takes one device back to `old`: its role checked first (a unit carrying traffic is never
/// rebooted here; the way back moves traffic before), the way back read ([`way_back`]), the
/// driver's `rollback` command (a refusal quotes the device and changes nothing), wait until
/// SSH answers again, then post-checks: the old version, the role, sync and health.
#[allow(clippy::too_many_arguments)]
pub fn revert(
    connect: &mut dyn Reconnect,
    d: &Driver,
    vendor: Vendor,
    old: &Version,
    role: HaRole,
    prefer: Option<&str>,
    wait: Wait,
    resumed: bool,
    on_step: &mut dyn FnMut(Step, &str),
) -> Result<Reverted, HopError> {
    let mut t = first_session(connect, wait, resumed, on_step)?;
    on_step(Step::Precheck, "");
    let gate = role_check(t.as_mut(), d, role).unwrap_or_else(|c| c);
    let volume = match way_back(t.as_mut(), d, old, prefer) {
        // Back already (an earlier attempt's reboot, or by hand): checked as after the reboot.
        Ok(Way::AlreadyThere) => {
            let after = Expectation {
                vendor,
                version: old.clone(),
                role,
                space_needed: None,
            };
            let checks = precheck(t.as_mut(), d, &after, Scope::Gate);
            if checks.iter().any(|c| c.status == Status::Fail) {
                return Err(HopError::Postcheck {
                    version: old.to_string(),
                    checks,
                });
            }
            connect.keep(t);
            return Ok(Reverted::AlreadyThere);
        }
        Ok(Way::Boot(v)) => v,
        Err(why) => {
            return Err(HopError::Command {
                step: "rollback",
                detail: format!("{why}; nothing changed"),
            });
        }
    };
    if gate.status == Status::Fail {
        return Err(HopError::Precheck(vec![gate]));
    }
    let before = active_volume(t.as_mut(), d).ok().flatten();
    let mut values: Vec<(&str, &str)> = vec![("release", old.as_str())];
    if let Some(v) = &volume {
        values.push(("volume", v.as_str()));
    }
    let line = d.render_with("rollback", &values)?;
    on_step(Step::Reboot, &line);
    send_reboot(t.as_mut(), &line)?;
    drop(t);
    on_step(Step::WaitBack, "");
    let mut t = wait_back(connect, wait)?;
    on_step(Step::Postcheck, "");
    let after = Expectation {
        vendor,
        version: old.clone(),
        role,
        space_needed: None,
    };
    let checks = precheck(t.as_mut(), d, &after, Scope::Gate);
    if checks.iter().any(|c| c.status == Status::Fail) {
        return Err(HopError::Postcheck {
            version: old.to_string(),
            checks,
        });
    }
    let booted = Booted {
        before,
        after: active_volume(t.as_mut(), d)
            .ok()
            .flatten()
            .or_else(|| Some(old.to_string())),
    };
    connect.keep(t);
    Ok(Reverted::Rebooted(checks, booted))
}

/// What a mitigation reboot did.
#[derive(Clone, Debug, PartialEq)]
pub struct Rebooted {
    /// Memory in use before the reboot, when the driver reports it.
    pub before: Option<MemoryUse>,
    /// Memory in use after it.
    pub after: Option<MemoryUse>,
    /// The post-checks.
    pub checks: Vec<Check>,
}

/// Reboots a device into the software it runs (the memory-leak mitigation): pre-checks, memory
/// in use, reboot into the active volume, wait until SSH answers again, post-checks (same
/// version, same role, healthy), memory in use again, which must have dropped when
/// `require_drop` (not when an earlier attempt already rebooted the device: it has nothing left
/// to give back).
#[allow(clippy::too_many_arguments)]
pub fn reboot(
    connect: &mut dyn Reconnect,
    d: &Driver,
    expect: &Expectation,
    wait: Wait,
    require_drop: bool,
    resumed: bool,
    on_step: &mut dyn FnMut(Step, &str),
) -> Result<Rebooted, HopError> {
    let mut t = first_session(connect, wait, resumed, on_step)?;
    on_step(Step::Precheck, "");
    let checks = precheck(t.as_mut(), d, expect, Scope::Gate);
    if checks.iter().any(|c| c.status == Status::Fail) {
        return Err(HopError::Precheck(checks));
    }
    let before = memory(t.as_mut(), d)?;
    let volume = active_volume(t.as_mut(), d)?;
    let values: Vec<(&str, &str)> = volume.iter().map(|v| ("volume", v.as_str())).collect();
    let line = d.render_with("reboot", &values)?;
    on_step(Step::Reboot, &line);
    send_reboot(t.as_mut(), &line)?;
    drop(t);
    on_step(Step::WaitBack, "");
    let mut t = wait_back(connect, wait)?;
    on_step(Step::Postcheck, "");
    let checks = precheck(t.as_mut(), d, expect, Scope::Gate);
    if checks.iter().any(|c| c.status == Status::Fail) {
        return Err(HopError::Postcheck {
            version: expect.version.to_string(),
            checks,
        });
    }
    let after = memory(t.as_mut(), d)?;
    if let (true, Some(b), Some(a)) = (require_drop, before, after)
        && a.used >= b.used
    {
        return Err(HopError::MemoryNotReleased {
            before: b,
            after: a,
        });
    }
    connect.keep(t);
    Ok(Rebooted {
        before,
        after,
        checks,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ssh::CommandOutput;
    use std::collections::HashMap;

    /// A device that answers each command with a canned exit status and output.
    struct Canned(HashMap<&'static str, (i32, String)>);

    impl Transport for Canned {
        fn exec(&mut self, command: &str) -> Result<CommandOutput, SshError> {
            let (status, text) = self
                .0
                .get(command)
                .cloned()
                .unwrap_or((1, format!("Syntax Error: \"{command}\" unknown command")));
            Ok(CommandOutput {
                status,
                stdout: if status == 0 {
                    text.clone()
                } else {
                    String::new()
                },
                stderr: if status == 0 { String::new() } else { text },
            })
        }
        fn upload(
            &mut self,
            _: &std::path::Path,
            _: &str,
            _: bool,
            _: usize,
            _: &mut dyn FnMut(u64, u64),
        ) -> Result<u64, SshError> {
            unreachable!("no uploads in pre-checks")
        }
    }

    /// A healthy active BIG-IP on 15.1.10 with `free_kib` free and 12 of 32 GiB in use.
    fn bigip(free_kib: u64, mem_total: u64) -> Canned {
        let ok = |s: &str| (0, s.to_string());
        Canned(HashMap::from([
            (
                "tmsh show sys version",
                ok(
                    "Sys::Version\nMain Package\n  Product      BIG-IP\n  Version      15.1.10\n  Build        0.0.3\n  Edition      Final\n",
                ),
            ),
            (
                "tmsh show cm failover-status",
                ok("Status   ACTIVE\nSummary  1/1 active\n"),
            ),
            (
                "tmsh show cm sync-status",
                ok("Status   In Sync\nMode     high-availability\n"),
            ),
            (
                "df -Pk /shared/images",
                (
                    0,
                    format!(
                        "Filesystem 1024-blocks Used Available Capacity Mounted on\n/dev/x 20971520 1 {free_kib} 5% /shared\n"
                    ),
                ),
            ),
            (
                "free -b",
                (
                    0,
                    format!("       total used\nMem:   {mem_total} 12884901888\n"),
                ),
            ),
            (
                "tmsh load sys config verify",
                ok(
                    "Validating system configuration...\nValidating configuration...\n  /config/bigip.conf\n",
                ),
            ),
        ]))
    }

    fn f5() -> Driver {
        crate::driver::Drivers::load(None)
            .unwrap()
            .get(Vendor::F5)
            .unwrap()
            .clone()
    }

    fn expect(role: HaRole, space: Option<u64>) -> Expectation {
        Expectation {
            vendor: Vendor::F5,
            version: Version::parse(Vendor::F5, "15.1.10").unwrap(),
            role,
            space_needed: space,
        }
    }

    fn shown(checks: &[Check]) -> Vec<String> {
        checks
            .iter()
            .map(|c| format!("{} {:?} {}", c.name, c.status, c.detail))
            .collect()
    }

    #[test]
    fn every_precheck_reads_the_device_as_it_answers() {
        let mut t = bigip(2_000_000, 34359738368);
        let checks = precheck(&mut t, &f5(), &expect(HaRole::Active, None), Scope::All);
        assert_eq!(
            shown(&checks),
            [
                "version Ok runs 15.1.10",
                "ha-role Ok active as expected",
                "sync Ok In Sync",
                "free-space Info 1953 MiB free in /shared/images",
                "memory Info 12.0 of 32.0 GiB in use (38 %)",
                "health Ok /config/bigip.conf",
            ]
        );
        // The gate leaves out what cannot stop a step; a standalone unit has no sync.
        let checks = precheck(
            &mut t,
            &f5(),
            &expect(HaRole::Standalone, None),
            Scope::Gate,
        );
        assert_eq!(
            shown(&checks),
            [
                "version Ok runs 15.1.10",
                "ha-role Ok active as expected",
                "health Ok /config/bigip.conf",
            ]
        );
        // A device that cannot say its memory is not held back by it.
        let mut t = bigip(2_000_000, 34359738368);
        t.0.remove("free -b");
        let checks = precheck(&mut t, &f5(), &expect(HaRole::Active, None), Scope::All);
        assert!(
            shown(&checks).contains(
                &"memory Info not reported (`free -b` exited 1: Syntax Error: \"free -b\" unknown command)"
                    .to_string()
            ),
            "{checks:?}"
        );
        // A memory total of 0 is no figure.
        let mut t = bigip(2_000_000, 0);
        let checks = precheck(&mut t, &f5(), &expect(HaRole::Active, None), Scope::All);
        assert!(shown(&checks).contains(&"memory Info not reported".to_string()));
    }

    #[test]
    fn free_space_is_a_gate_exactly_at_what_an_upload_needs() {
        let kib = 1_000_000u64;
        for (need, status) in [
            (kib * 1024, Status::Ok),
            (kib * 1024 + 1, Status::Fail),
            (kib * 1024 - 1, Status::Ok),
        ] {
            let mut t = bigip(kib, 34359738368);
            let checks = precheck(
                &mut t,
                &f5(),
                &expect(HaRole::Active, Some(need)),
                Scope::Gate,
            );
            let c = checks.iter().find(|c| c.name == "free-space").unwrap();
            assert_eq!(c.status, status, "need {need}: {c:?}");
        }
        let mut t = bigip(kib, 34359738368);
        let checks = precheck(
            &mut t,
            &f5(),
            &expect(HaRole::Active, Some(kib * 2048)),
            Scope::Gate,
        );
        assert_eq!(
            checks
                .iter()
                .find(|c| c.name == "free-space")
                .unwrap()
                .detail,
            "976 MiB free in /shared/images, 1954 MiB needed"
        );
    }

    #[test]
    fn a_command_that_fails_is_a_failed_check_quoting_the_device() {
        let mut t = bigip(1, 1);
        t.0.insert(
            "tmsh show cm sync-status",
            (
                1,
                "01020036:3: The requested device group was not found.".into(),
            ),
        );
        let checks = precheck(&mut t, &f5(), &expect(HaRole::Active, None), Scope::Gate);
        let c = checks.iter().find(|c| c.name == "sync").unwrap();
        assert_eq!(c.status, Status::Fail);
        assert_eq!(
            c.detail,
            "`tmsh show cm sync-status` exited 1: 01020036:3: The requested device group was not found."
        );
    }

    #[test]
    fn quotes_keep_the_first_three_lines() {
        assert_eq!(quote(""), "nothing");
        assert_eq!(quote("\n  \n"), "nothing");
        assert_eq!(quote("Status   OFFLINE\n"), "\"Status   OFFLINE\"");
        assert_eq!(quote("a\nb\n\nc\n"), "\"a / b / c\"");
        assert_eq!(quote("a\nb\nc\nd"), "\"a / b / c / ...\"");
    }

    #[test]
    fn netscaler_versions_join_release_and_build() {
        let ns = crate::driver::Drivers::load(None).unwrap();
        let ns = ns.get(Vendor::NetScaler).unwrap();
        assert_eq!(
            reported_version(
                ns,
                "NetScaler NS13.1: Build 37.38.nc, Date: Nov 23 2022, 04:42:36   (64-bit)"
            )
            .as_deref(),
            Some("13.1-37.38")
        );
        assert_eq!(reported_version(ns, "nothing here"), None);
    }

    /// A device with a disk: images as bytes, a free-space figure, sha256sum over what is
    /// stored, and uploads that continue a shorter copy when asked to.
    struct Disk {
        files: HashMap<String, Vec<u8>>,
        free_kib: Option<u64>,
        uploads: Vec<(bool, u64)>,
        /// Every upload arrives damaged.
        corrupt: bool,
    }

    impl Transport for Disk {
        fn exec(&mut self, command: &str) -> Result<CommandOutput, SshError> {
            let out = |status: i32, stdout: String| {
                Ok(CommandOutput {
                    status,
                    stdout,
                    stderr: String::new(),
                })
            };
            if let Some(file) = command.strip_prefix("sha256sum /shared/images/") {
                return match self.files.get(file) {
                    Some(b) => {
                        use sha2::Digest;
                        let sha = crate::fsutil::hex(&sha2::Sha256::digest(b));
                        out(0, format!("{sha}  /shared/images/{file}\n"))
                    }
                    None => out(1, String::new()),
                };
            }
            match (command, self.free_kib) {
                ("df -Pk /shared/images", Some(k)) => out(
                    0,
                    format!(
                        "Filesystem 1024-blocks Used Available Capacity Mounted on\n/dev/x 9 1 {k} 5% /shared\n"
                    ),
                ),
                _ => out(0, "nothing useful\n".into()),
            }
        }

        fn upload(
            &mut self,
            local: &std::path::Path,
            remote: &str,
            resume: bool,
            _: usize,
            progress: &mut dyn FnMut(u64, u64),
        ) -> Result<u64, SshError> {
            let bytes = std::fs::read(local).unwrap();
            let name = remote.rsplit('/').next().unwrap().to_string();
            let have = match self.files.get(&name) {
                Some(b) if resume && b.len() <= bytes.len() => b.len(),
                _ => 0,
            };
            let mut stored = self.files.get(&name).map_or(vec![], |b| b[..have].to_vec());
            stored.extend_from_slice(&bytes[have..]);
            if self.corrupt {
                stored[0] ^= 1;
            }
            self.files.insert(name, stored);
            self.uploads.push((resume, have as u64));
            progress(bytes.len() as u64, bytes.len() as u64);
            Ok(have as u64)
        }
    }

    /// An image of `len` bytes in a temp folder, with its manifest entry.
    fn image(len: usize) -> (tempfile::TempDir, crate::images::Image) {
        let dir = tempfile::tempdir().unwrap();
        let file = "BIGIP-16.1.4-0.0.1.iso";
        let bytes: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
        std::fs::write(dir.path().join(file), &bytes).unwrap();
        let (sha256, size) = crate::images::digest(&dir.path().join(file)).unwrap();
        let img = crate::images::Image {
            vendor: Vendor::F5,
            version: "16.1.4".into(),
            file: file.into(),
            size,
            sha256,
        };
        (dir, img)
    }

    fn disk(free_kib: Option<u64>) -> Disk {
        Disk {
            files: HashMap::new(),
            free_kib,
            uploads: vec![],
            corrupt: false,
        }
    }

    #[test]
    fn staging_needs_room_continues_a_partial_copy_and_resends_a_bad_one_once() {
        let (dir, img) = image(3072);
        let local = dir.path().join(&img.file);
        let need = space_needed(img.size);
        // 3 KiB and 64 MiB: a whole number of KiB.
        assert_eq!(need % 1024, 0);
        let kib = need / 1024;
        // Exactly enough room: sent in full.
        let mut t = disk(Some(kib));
        let s = stage(&mut t, &f5(), &img, &local, &mut |_, _| {}).unwrap();
        assert_eq!((s.sent, s.resumed_from), (3072, 0));
        // Already there with its SHA-256: nothing sent.
        let s = stage(&mut t, &f5(), &img, &local, &mut |_, _| {}).unwrap();
        assert_eq!((s.sent, s.resumed_from), (0, 3072));
        // One KiB short of what it needs: refused before sending.
        let mut t = disk(Some(kib - 1));
        let e = stage(&mut t, &f5(), &img, &local, &mut |_, _| {}).unwrap_err();
        assert!(
            matches!(&e, HopError::NoSpace(m) if m.contains("needed for BIGIP-16.1.4-0.0.1.iso")),
            "{e}"
        );
        assert!(t.uploads.is_empty());
        // No figure at all: refused too.
        let mut t = disk(None);
        let e = stage(&mut t, &f5(), &img, &local, &mut |_, _| {}).unwrap_err();
        assert_eq!(e.to_string(), "not enough space: free space not reported");
        // A partial copy is continued: only the rest is sent.
        let bytes = std::fs::read(&local).unwrap();
        let mut t = disk(Some(kib + 1));
        t.files.insert(img.file.clone(), bytes[..1000].to_vec());
        let s = stage(&mut t, &f5(), &img, &local, &mut |_, _| {}).unwrap();
        assert_eq!((s.sent, s.resumed_from), (2072, 1000));
        assert_eq!(t.uploads, [(true, 1000)]);
        // A partial copy that was wrong is sent again from the start, once.
        let mut t = disk(Some(kib + 1));
        t.files.insert(img.file.clone(), vec![9u8; 1000]);
        let s = stage(&mut t, &f5(), &img, &local, &mut |_, _| {}).unwrap();
        assert_eq!((s.sent, s.resumed_from), (3072, 0));
        assert_eq!(t.uploads, [(true, 1000), (false, 0)]);
        // A whole copy that arrives damaged is not sent again: the link or the disk is at
        // fault, and the hop stops with both digests.
        let mut t = disk(Some(kib));
        t.corrupt = true;
        let e = stage(&mut t, &f5(), &img, &local, &mut |_, _| {}).unwrap_err();
        assert!(matches!(e, HopError::ChecksumMismatch { .. }), "{e}");
        assert_eq!(t.uploads, [(true, 0)]);
    }

    #[test]
    fn what_counts_as_after_the_reboot_and_what_a_refusal_says() {
        let after = |e: HopError| e.after_reboot();
        assert!(after(HopError::NotBack(5)));
        assert!(after(HopError::Interrupted(
            "waiting for the device to come back"
        )));
        assert!(after(HopError::Interrupted(
            "waiting for the device to go down"
        )));
        assert!(!after(HopError::Interrupted(
            "waiting for the install to complete"
        )));
        assert!(!after(HopError::NotDown(5)));
        assert!(!after(HopError::NoSpace("x".into())));
        assert!(!after(HopError::Precheck(vec![])));
        let checks = vec![
            Check {
                name: "version",
                status: Status::Ok,
                detail: "runs 15.1.10".into(),
            },
            Check {
                name: "sync",
                status: Status::Fail,
                detail: "\"Changes Pending\", not in sync".into(),
            },
            Check {
                name: "health",
                status: Status::Fail,
                detail: "error".into(),
            },
        ];
        assert_eq!(
            HopError::Precheck(checks).to_string(),
            "pre-checks failed, nothing changed: sync: \"Changes Pending\", not in sync; health: error"
        );
    }

    #[test]
    fn waits_end_at_once_when_cancelled() {
        static ON: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(true);
        static OFF: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
        let wait = |cancel| Wait {
            reboot: std::time::Duration::ZERO,
            install: std::time::Duration::ZERO,
            failover: std::time::Duration::ZERO,
            interval: std::time::Duration::ZERO,
            cancel,
        };
        let d = std::time::Duration::from_millis(150);
        let start = std::time::Instant::now();
        assert!(!wait(&ON).sleep(d));
        assert!(start.elapsed() < d);
        let start = std::time::Instant::now();
        assert!(wait(&OFF).sleep(d));
        assert!(start.elapsed() >= d);
    }

    fn row(
        volume: &str,
        version: &str,
        active: &str,
        status: &str,
    ) -> std::collections::BTreeMap<String, String> {
        [
            ("volume", volume),
            ("version", version),
            ("active", active),
            ("status", status),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }

    #[test]
    fn an_install_is_complete_only_with_the_target_on_the_volume() {
        let d = f5();
        let to = Version::parse(Vendor::F5, "16.1.4").unwrap();
        let state = |r: Vec<_>| install_state(&d, "software_status", &r, "HD1.2", &to);
        let active = row("HD1.1", "15.1.10", "yes", "complete");
        assert_eq!(
            state(vec![
                active.clone(),
                row("HD1.2", "16.1.4", "no", "complete")
            ]),
            InstallState::Complete
        );
        assert_eq!(
            state(vec![
                active.clone(),
                row("HD1.2", "14.1.5", "no", "complete")
            ]),
            InstallState::Running(None, "HD1.2 shows 14.1.5 complete".into())
        );
        assert_eq!(
            state(vec![
                active.clone(),
                row("HD1.2", "16.1.4", "no", "installing 42.000 pct")
            ]),
            InstallState::Running(Some(42.0), "HD1.2 installing 42.000 pct".into())
        );
        assert_eq!(
            state(vec![
                active.clone(),
                row("HD1.2", "16.1.4", "no", "failed (media)")
            ]),
            InstallState::Failed("failed (media)".into())
        );
        assert_eq!(
            state(vec![active]),
            InstallState::Running(None, "HD1.2 not listed yet".into())
        );
    }

    #[test]
    fn the_volume_to_install_to_is_the_first_inactive_or_the_next_one() {
        let status = |rows: &str| {
            Canned(HashMap::from([(
                "tmsh show sys software status",
                (
                    0,
                    format!("Volume  Product   Version  Build  Active    Status\n{rows}"),
                ),
            )]))
        };
        let d = f5();
        let mut t = status(
            "HD1.1    BIG-IP  15.1.10  0.0.3  yes  complete\nHD1.2    BIG-IP  14.1.5  0.0.9  no  complete\n",
        );
        assert_eq!(choose_volume(&mut t, &d).unwrap().as_deref(), Some("HD1.2"));
        let mut t = status("HD1.1    BIG-IP  15.1.10  0.0.3  yes  complete\n");
        assert_eq!(choose_volume(&mut t, &d).unwrap().as_deref(), Some("HD1.2"));
        // A driver that lists no volumes installs without one.
        let ns = crate::driver::Drivers::load(None).unwrap();
        assert_eq!(
            choose_volume(&mut t, ns.get(Vendor::NetScaler).unwrap()).unwrap(),
            None
        );
        // Without a background install to wait for, the volume comes from the same choice.
        let to = Version::parse(Vendor::F5, "16.1.4").unwrap();
        let mut t = status(
            "HD1.1    BIG-IP  15.1.10  0.0.3  yes  complete\nHD1.2    BIG-IP  14.1.5  0.0.9  no  complete\n",
        );
        assert_eq!(
            target_volume(&mut t, &d, &to, None).unwrap(),
            (Some("HD1.2".into()), None)
        );
        // A driver without volumes is asked for none.
        let ns = ns.get(Vendor::NetScaler).unwrap();
        assert!(!lists_volumes(ns) && lists_volumes(&d));
        let nto = Version::parse(Vendor::NetScaler, "14.1-66.62").unwrap();
        assert_eq!(target_volume(&mut t, ns, &nto, None).unwrap(), (None, None));
    }

    #[test]
    fn volumes_alternate_hop_after_hop_from_a_single_one() {
        let mut rows = vec![row("HD1.1", "15.1.10", "yes", "complete")];
        let mut chosen = Vec::new();
        for _ in 0..3 {
            let v = first_inactive(&rows, None).unwrap();
            activate(&mut rows, &v);
            chosen.push(v);
        }
        assert_eq!(chosen, ["HD1.2", "HD1.1", "HD1.2"]);
        assert_eq!(rows.len(), 2);
    }

    #[test]
    fn memory_in_use_reads_and_shows_as_operators_say_it() {
        let m = MemoryUse {
            used: 12 << 30,
            total: 32 << 30,
        };
        assert_eq!(m.to_string(), "12.0 GiB (38 %)");
        let mut t = bigip(1, 34359738368);
        assert_eq!(
            memory(&mut t, &f5()).unwrap(),
            Some(MemoryUse {
                used: 12884901888,
                total: 34359738368
            })
        );
        let mut t = bigip(1, 0);
        assert_eq!(memory(&mut t, &f5()).unwrap(), None);
    }

    #[test]
    fn a_session_closure_answers_when_it_opens() {
        let mut up = || -> Result<Box<dyn Transport>, SshError> { Ok(Box::new(bigip(1, 1))) };
        assert!(Reconnect::answers(&mut up));
        let mut down = || -> Result<Box<dyn Transport>, SshError> {
            Err(SshError::Connect {
                target: "x".into(),
                message: "refused".into(),
            })
        };
        assert!(!Reconnect::answers(&mut down));
    }
}
