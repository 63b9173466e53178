//! `lbfleet inventory sync [PATH...]`: read every selected device over SSH (read-only) and
//! show where the inventory disagrees with it; `--apply` writes the devices' word into the CSV.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Mutex;

use super::Ctx;
use super::device::SshArgs;
use super::inventory_check::paths_or_default;
use crate::ExitStatus;
use crate::driver::Drivers;
use crate::inventory::Device;
use crate::inventory::edit::CellEdit;
use crate::inventory::sync::{self, Difference};
use crate::planner::{Selection, Selector};
use crate::report::{Cell, Format, Table};
use crate::ssh::{Ssh2Transport, Target};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Inventory folders or files (default: inventories/).
    #[arg(value_name = "PATH")]
    paths: Vec<PathBuf>,
    /// Read only matching devices: site=, model=, vendor=, device= (as for `lbfleet plan`).
    #[arg(long, value_name = "KEY=VALUE")]
    only: Vec<Selector>,
    /// Leave out matching devices.
    #[arg(long, value_name = "KEY=VALUE")]
    exclude: Vec<Selector>,
    /// Write what the devices say into their inventory rows (only the cells that differ).
    #[arg(long)]
    apply: bool,
    /// Devices read at once.
    #[arg(long, value_name = "N", default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=256))]
    parallel: u32,
    /// Output format [default: table].
    #[arg(long, value_enum, default_value = "table")]
    format: Format,
    #[command(flatten)]
    ssh: SshArgs,
}

/// What reading one device gave.
enum Read {
    Differs(Vec<Difference>),
    /// Unreachable, or an answer its driver cannot read: the row is never changed.
    Unread(String),
}

pub fn run(ctx: &Ctx, args: &Args) -> anyhow::Result<ExitStatus> {
    let catalog = ctx.catalog()?;
    let Some(inv) = super::load_inventory(
        &catalog,
        &paths_or_default(&args.paths),
        Some(": nothing read"),
    )?
    else {
        return Ok(ExitStatus::Findings);
    };
    let sel = Selection {
        only: args.only.clone(),
        exclude: args.exclude.clone(),
    };
    let (errors, warnings) = sel.unmatched(&inv.devices);
    for w in &warnings {
        eprintln!("warning: {w}");
    }
    if !errors.is_empty() {
        for e in &errors {
            eprintln!("error: {e}");
        }
        return Ok(ExitStatus::Input);
    }
    let devices: Vec<&Device> = inv
        .devices
        .iter()
        .filter(|d| sel.selects(d) && !sel.excludes(d))
        .collect();
    let drivers = Drivers::load(args.ssh.drivers.as_deref())?;
    let options = args.ssh.options()?;
    let user = args.ssh.user();
    let bar = std::io::stderr()
        .is_terminal()
        .then(|| indicatif::ProgressBar::new(devices.len() as u64));
    if let Some(b) = &bar {
        b.set_style(
            indicatif::ProgressStyle::with_template("reading devices [{bar:30}] {pos}/{len} {msg}")
                .expect("valid template")
                .progress_chars("=> "),
        );
    }
    let read_one = |d: &Device| -> Read {
        let driver = match drivers.get(d.vendor) {
            Ok(dr) => dr,
            Err(e) => return Read::Unread(e.to_string()),
        };
        let target = Target {
            host: d.mgmt.host.clone(),
            port: d.mgmt.port_or_default(),
            user: user.clone(),
        };
        let mut t = match Ssh2Transport::connect(&target, &options) {
            Ok(t) => t,
            Err(e) => return Read::Unread(format!("unreachable: {e}")),
        };
        match sync::observe(&mut t, driver, d) {
            Ok(o) => {
                if let Some(s) = o.sync.as_deref().filter(|s| !s.contains("In Sync")) {
                    let line = format!("{}: note: configuration sync status is \"{s}\"", d.name);
                    match &bar {
                        Some(b) => b.println(line),
                        None => eprintln!("{line}"),
                    }
                }
                Read::Differs(sync::differences(d, &o))
            }
            Err(e) => Read::Unread(e),
        }
    };
    let results: Mutex<Vec<Option<Read>>> = Mutex::new((0..devices.len()).map(|_| None).collect());
    let next = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|s| {
        for _ in 0..(args.parallel as usize).min(devices.len().max(1)) {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    let Some(d) = devices.get(i) else { break };
                    if let Some(b) = &bar {
                        b.set_message(d.name.clone());
                    }
                    let r = read_one(d);
                    results.lock().expect("results")[i] = Some(r);
                    if let Some(b) = &bar {
                        b.inc(1);
                    }
                }
            });
        }
    });
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    let results: Vec<Read> = results
        .into_inner()
        .expect("results")
        .into_iter()
        .map(|r| r.expect("every device read"))
        .collect();
    let mut t = Table::new(&["device", "field", "inventory", "device_says"]);
    let mut edits: Vec<(PathBuf, CellEdit)> = Vec::new();
    let mut unread = 0;
    for (d, r) in devices.iter().zip(&results) {
        match r {
            Read::Differs(diffs) => {
                for x in diffs {
                    t.push(vec![
                        Cell::text(x.device.clone()),
                        Cell::text(x.field),
                        Cell::text(x.inventory.clone()),
                        Cell::text(x.observed.clone()),
                    ]);
                    edits.push((
                        PathBuf::from(&d.at.file),
                        CellEdit {
                            device: x.device.clone(),
                            column: x.field.into(),
                            value: x.observed.clone(),
                        },
                    ));
                }
            }
            Read::Unread(why) => {
                unread += 1;
                t.push(vec![
                    Cell::text(d.name.clone()),
                    Cell::text("unread"),
                    Cell::text(d.mgmt.to_string()),
                    Cell::text(why.clone()),
                ]);
            }
        }
    }
    crate::report::emit(&args.format.exporter().export(&t)?, None)?;
    let read = devices.len() - unread;
    let summary = format!(
        "{} devices read, {} unread (left as they are); {} cells differ",
        read,
        unread,
        edits.len()
    );
    if args.apply && !edits.is_empty() {
        write(&edits)?;
        eprintln!("{summary}: written to the inventory");
    } else {
        eprintln!(
            "{summary}{}",
            if edits.is_empty() || args.apply {
                ""
            } else {
                " (--apply writes them)"
            }
        );
    }
    let differs = !edits.is_empty() && !args.apply;
    Ok(if differs || unread > 0 {
        ExitStatus::Findings
    } else {
        ExitStatus::Success
    })
}

/// Writes each file's edits in one atomic rewrite, once every file's edits are known to apply
/// (nothing is written when one does not).
fn write(edits: &[(PathBuf, CellEdit)]) -> anyhow::Result<()> {
    let mut files: Vec<&PathBuf> = edits.iter().map(|(f, _)| f).collect();
    files.sort();
    files.dedup();
    // One folder lock around reading and writing, so a running rollout's write-back waits.
    let first = files
        .first()
        .map(|f| f.as_path())
        .unwrap_or(std::path::Path::new("."));
    crate::fsutil::with_inventory_lock(first, || {
        let mut ready = Vec::new();
        for f in &files {
            let mine: Vec<CellEdit> = edits
                .iter()
                .filter(|(g, _)| g == *f)
                .map(|(_, e)| e.clone())
                .collect();
            let before = std::fs::read(f)
                .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", f.display()))?;
            let (after, unmatched) = crate::inventory::edit::apply(&before, &mine);
            if let Some(e) = unmatched.first() {
                anyhow::bail!(
                    "{}: no {} cell for {} (was the file changed meanwhile?): nothing written",
                    f.display(),
                    e.column,
                    e.device
                );
            }
            ready.push((f, after));
        }
        for (f, bytes) in ready {
            crate::fsutil::write_atomic(f, &bytes)?;
        }
        Ok(())
    })?;
    Ok(())
}
