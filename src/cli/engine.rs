//! What the commands that run the rollout engine share (`upgrade`, `reboots run`): SSH
//! sessions from the plan's addresses, the lock beside a journal, Ctrl-C that lets the current
//! steps finish, progress on a terminal or as lines, and the reboot waits.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::Ordering;

use super::device::SshArgs;
use crate::ExitStatus;
use crate::executor::journal::Entry;
use crate::executor::{Connector, INTERRUPTED, Observer, Outcome};
use crate::planner::file::PlannedDevice;
use crate::report::Table;
use crate::ssh::{self, Ssh2Transport, SshError, Target, Transport};

/// How long to wait for a device after a reboot.
#[derive(Debug, clap::Args)]
pub struct WaitArgs {
    /// Seconds to wait for a device after its reboot.
    #[arg(long, value_name = "SECONDS", default_value_t = 1800)]
    reboot_timeout: u64,
    /// Seconds to wait for an install the device runs in the background to complete.
    #[arg(long, value_name = "SECONDS", default_value_t = 3600)]
    install_timeout: u64,
    /// Seconds between reconnection attempts after a reboot, and between readings of install
    /// progress.
    #[arg(long, value_name = "SECONDS", default_value_t = 5.0)]
    poll_interval: f64,
}

impl WaitArgs {
    /// The waits.
    pub fn wait(&self) -> crate::device::Wait {
        crate::device::Wait {
            reboot: std::time::Duration::from_secs(self.reboot_timeout),
            install: std::time::Duration::from_secs(self.install_timeout),
            failover: std::time::Duration::from_secs(30),
            interval: std::time::Duration::from_secs_f64(self.poll_interval.clamp(0.05, 60.0)),
            cancel: &INTERRUPTED,
        }
    }
}

/// Opens SSH sessions to planned devices.
pub struct SshConnector {
    options: ssh::Options,
    user: String,
}

impl SshConnector {
    /// From the command line's SSH options.
    pub fn new(args: &SshArgs) -> anyhow::Result<SshConnector> {
        Ok(SshConnector {
            options: args.options()?,
            user: args.user(),
        })
    }
}

impl SshConnector {
    fn target(&self, d: &PlannedDevice) -> Result<Target, SshError> {
        let host: crate::inventory::MgmtHost =
            d.mgmt_host.parse().map_err(|e: String| SshError::Connect {
                target: d.mgmt_host.clone(),
                message: e,
            })?;
        Ok(Target {
            host: host.host.clone(),
            port: host.port_or_default(),
            user: self.user.clone(),
        })
    }
}

impl Connector for SshConnector {
    fn connect(&self, d: &PlannedDevice) -> Result<Box<dyn Transport>, SshError> {
        Ok(Box::new(Ssh2Transport::connect(
            &self.target(d)?,
            &self.options,
        )?))
    }

    /// A TCP connection to the SSH port: no key exchange, no login on the device.
    fn answers(&self, d: &PlannedDevice) -> bool {
        self.target(d)
            .is_ok_and(|t| ssh::accepts(&t, self.options.connect_timeout))
    }
}

/// A lock beside the journal: a second run on the same plan is refused while the first lives.
/// It holds the owner's pid and start time: a lock whose process is gone, is a zombie, or whose
/// pid now belongs to another process (a different start time) is taken over at once.
pub struct Lock(PathBuf);

/// A process's start time (clock ticks after boot) and whether it is a zombie, from /proc.
fn process(pid: i32) -> Option<(u64, bool)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // pid (comm) state ppid ... starttime is field 22; comm may hold spaces and parentheses.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let zombie = matches!(fields.first(), Some(&("Z" | "X")));
    Some((fields.get(19)?.parse().ok()?, zombie))
}

/// Whether the lock's owner (`pid start`) is still running.
fn owner_alive(text: &str) -> Option<i32> {
    let mut it = text.split_whitespace();
    let pid: i32 = it.next()?.parse().ok()?;
    let start: Option<u64> = it.next().and_then(|s| s.parse().ok());
    match process(pid) {
        Some((_, true)) | None => None,
        Some((t, false)) if start.is_none_or(|s| s == t) => Some(pid),
        Some(_) => None,
    }
}

impl Lock {
    /// Takes the lock of `journal`, taking over a stale one (its process is gone).
    pub fn take(journal: &Path) -> anyhow::Result<Lock> {
        let path = journal.with_extension("lock");
        let me = std::process::id() as i32;
        let mine = format!(
            "{me} {}\n",
            process(me).map_or(String::new(), |(t, _)| t.to_string())
        );
        for _ in 0..2 {
            match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&path)
            {
                Ok(mut f) => {
                    f.write_all(mine.as_bytes())?;
                    f.sync_all()?;
                    return Ok(Lock(path));
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    let text = std::fs::read_to_string(&path).unwrap_or_default();
                    if let Some(pid) = owner_alive(&text) {
                        anyhow::bail!(
                            "another lbfleet (pid {pid}) is running this plan ({} is locked by {})",
                            journal.display(),
                            path.display()
                        );
                    }
                    eprintln!(
                        "taking over the stale lock {} (its process {} is gone)",
                        path.display(),
                        text.split_whitespace().next().unwrap_or("?")
                    );
                    std::fs::remove_file(&path)?;
                }
                Err(e) => return Err(e.into()),
            }
        }
        anyhow::bail!("cannot take the lock {}", path.display())
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

extern "C" fn on_sigint(_: libc::c_int) {
    INTERRUPTED.store(true, Ordering::SeqCst);
}

/// Ctrl-C from now on lets the commands running finish, stops every wait (reboot, install,
/// window) at once and starts nothing new.
pub fn on_ctrl_c_finish_steps() {
    // SAFETY: the handler only stores to an atomic.
    unsafe {
        libc::signal(libc::SIGINT, on_sigint as *const () as libc::sighandler_t);
    }
}

/// Bars on a terminal, timestamped lines otherwise.
pub fn observer() -> Box<dyn Observer> {
    if std::io::stderr().is_terminal() {
        Box::new(super::progress::Bars::new())
    } else {
        Box::new(super::progress::Lines::new())
    }
}

/// What the journal at `path`, if there is one, says finished steps made of the devices.
pub fn journaled(
    path: &Path,
    groups: &[(usize, &crate::planner::file::Group)],
) -> anyhow::Result<crate::planner::check::Journaled> {
    let entries = match crate::executor::journal::Journal::read(path) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => anyhow::bail!("cannot read {}: {e}", path.display()),
    };
    Ok(crate::executor::journaled_cells(groups, &entries)
        .into_iter()
        .collect())
}

/// The inventory's CSV files as `upgrade` and `reboots run` write back to them: each device's
/// cell in the file that defines it, one write at a time.
pub struct CsvInventory {
    files: crate::HashMap<String, PathBuf>,
    lock: Mutex<()>,
}

impl CsvInventory {
    pub fn new(inv: &crate::inventory::Inventory) -> CsvInventory {
        CsvInventory {
            files: inv
                .devices
                .iter()
                .map(|d| (d.name.clone(), PathBuf::from(&d.at.file)))
                .collect(),
            lock: Mutex::new(()),
        }
    }
}

impl crate::executor::InventoryWriter for CsvInventory {
    fn set(&self, device: &str, field: &str, value: &str) -> Result<Option<String>, String> {
        let file = self
            .files
            .get(device)
            .ok_or_else(|| format!("{device} is not in the inventory"))?;
        let _one = self.lock.lock().expect("inventory lock");
        let edit = crate::inventory::edit::CellEdit {
            device: device.into(),
            column: field.into(),
            value: value.into(),
        };
        let changed = crate::fsutil::with_inventory_lock(file, || {
            let (changed, unmatched) = crate::inventory::edit::apply_file(file, &[edit])?;
            if !unmatched.is_empty() {
                anyhow::bail!("{}: no {field} cell for {device}", file.display());
            }
            Ok(changed)
        })
        .map_err(|e| format!("{e:#}"))?;
        if !changed {
            return Ok(None);
        }
        Ok(Some(file.display().to_string()))
    }
}

/// Where the run report goes: `given`, else beside the input file as `STEM.report.md` (as
/// its journal and lock are), wherever lbfleet was started from.
pub fn report_path(given: &Option<PathBuf>, input: &Path) -> PathBuf {
    given
        .clone()
        .unwrap_or_else(|| input.with_extension("report.md"))
}

/// After a run: the step table on stdout, the Markdown report (from the steps) written
/// atomically, the counts, failures and why it stopped, and the exit status.
pub fn finish(
    outcome: &Outcome,
    entries: &[Entry],
    report: &Path,
    markdown: impl FnOnce(&Table) -> anyhow::Result<String>,
    counted: &str,
    total: usize,
    journal: &Path,
) -> anyhow::Result<ExitStatus> {
    let steps = crate::executor::report::steps(entries);
    crate::report::emit(
        &crate::report::Format::Table.exporter().export(&steps)?,
        None,
    )?;
    if let Some(dir) = report.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    crate::fsutil::write_atomic(report, markdown(&steps)?.as_bytes())?;
    super::out(format!("report {}", report.display()))?;
    super::out(format!(
        "{} of {total} {counted} completed, {} failed; journal {}",
        outcome.completed,
        outcome.failed.len(),
        journal.display()
    ))?;
    for (g, e) in &outcome.failed {
        super::out(format!("failed: {g}: {e}"))?;
    }
    for (g, e) in &outcome.waiting {
        super::out(format!("waiting: {g}: {e}"))?;
    }
    if let Some(why) = &outcome.stopped {
        super::out(format!("stopped: {why}"))?;
    }
    Ok(if outcome.interrupted {
        ExitStatus::Interrupted
    } else if outcome.failed.is_empty() && outcome.stopped.is_none() {
        ExitStatus::Success
    } else {
        ExitStatus::Findings
    })
}

/// Prints one device's dry run (its checks, then its commands); true when something would
/// block: a failed check, a missing image or refused value (`# no ...`, `# refused ...`), or no
/// session at all.
pub fn print_dry_run(
    device: &str,
    result: Result<(Vec<crate::device::Check>, Vec<String>), String>,
) -> anyhow::Result<bool> {
    let mut blocked = false;
    match result {
        Ok((checks, commands)) => {
            for c in &checks {
                blocked |= c.status == crate::device::Status::Fail;
                super::out(format!(
                    "    {device} {}: {:?} {}",
                    c.name, c.status, c.detail
                ))?;
            }
            for line in commands {
                blocked |= line.starts_with("# no ") || line.starts_with("# refused");
                super::out(format!("    {device} $ {line}"))?;
            }
        }
        Err(e) => {
            blocked = true;
            super::out(format!("    {device}: {e}"))?;
        }
    }
    Ok(blocked)
}

/// Prints every value of the plan lbfleet will not send to a device, and whether there was one:
/// checked before anything else, `--force` or not.
pub fn refuse_unsafe(path: &Path, plan: &crate::planner::Plan) -> bool {
    let invalid = crate::planner::check::validate(&plan.waves);
    for p in &invalid {
        eprintln!("{}: {p}", path.display());
    }
    if !invalid.is_empty() {
        eprintln!("the plan holds values lbfleet will not send to a device: nothing was done");
    }
    !invalid.is_empty()
}

/// Prints what [`missing_images`] finds, and whether it found anything: before any device is
/// contacted.
pub fn refuse_missing_images(
    plan: &crate::planner::Plan,
    manifest: &crate::images::Manifest,
    dir: &Path,
    entries: &[Entry],
) -> bool {
    let missing = missing_images(plan, manifest, dir, entries);
    for m in &missing {
        eprintln!("{m}");
    }
    if !missing.is_empty() {
        eprintln!("the plan's hops need images the folder does not have: nothing was done");
    }
    !missing.is_empty()
}

/// Whether the rollout journal shows `device`'s hop to `hop` finished in that wave and group.
pub fn hop_done(entries: &[Entry], wave: usize, group: &str, device: &str, hop: &str) -> bool {
    let w = wave.to_string();
    entries.iter().any(|e| {
        matches!(
            e.event,
            crate::executor::journal::Event::Done | crate::executor::journal::Event::Skip
        ) && e.get("step") == Some("hop")
            && e.get("wave") == Some(w.as_str())
            && e.get("group") == Some(group)
            && e.get("device") == Some(device)
            && e.get("to") == Some(hop)
    })
}

/// The images the plan's unfinished hops need that the image folder cannot give, in words
/// (`f5 16.1.4 (for lab-lb02)`), with what is wrong with the folder itself first.
pub fn missing_images(
    plan: &crate::planner::Plan,
    manifest: &crate::images::Manifest,
    dir: &Path,
    entries: &[Entry],
) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    if !dir.is_dir() {
        out.push(format!(
            "the image folder {} does not exist (give --images DIR)",
            dir.display()
        ));
        return out;
    }
    for w in &plan.waves {
        for g in &w.groups {
            let gname = crate::executor::group_name(g);
            for d in &g.devices {
                let Ok(vendor) = d.vendor.parse::<crate::version::Vendor>() else {
                    continue;
                };
                for hop in &d.path {
                    if hop_done(entries, w.index, &gname, &d.name, hop) {
                        continue;
                    }
                    let Ok(v) = crate::version::Version::parse(vendor, hop) else {
                        continue;
                    };
                    let what = match manifest.find(vendor, &v) {
                        None => format!(
                            "{} {hop} is not in {} (add it with `lbfleet images add`)",
                            vendor.id(),
                            dir.join("manifest.csv").display()
                        ),
                        Some(i) if !dir.join(&i.file).is_file() => {
                            format!("{} is in the manifest but not in {}", i.file, dir.display())
                        }
                        Some(_) => continue,
                    };
                    if !out.contains(&what) {
                        out.push(what);
                    }
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_run_report_goes_beside_its_plan_unless_given() {
        let plan = Path::new("/srv/fleet/plan.json");
        assert_eq!(
            report_path(&None, plan),
            Path::new("/srv/fleet/plan.report.md")
        );
        assert_eq!(
            report_path(&None, Path::new("reboots")),
            Path::new("reboots.report.md")
        );
        let given = Some(PathBuf::from("r.md"));
        assert_eq!(report_path(&given, plan), Path::new("r.md"));
    }
}
