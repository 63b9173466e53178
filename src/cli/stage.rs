//! `lbfleet stage PLAN`: upload and verify, ahead of the maintenance windows, every image each
//! selected device needs for its whole path, so the windows hold only install, reboot and checks.
//! Resumable (a partial copy continues; a verified copy is never sent again), journaled beside the
//! plan (`PLAN.stage.journal`), and shown by `lbfleet status PLAN`.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use super::Ctx;
use super::device::SshArgs;
use super::engine::{self, Lock, SshConnector};
use crate::ExitStatus;
use crate::driver::Drivers;
use crate::executor::journal::{Entry, Event, Journal};
use crate::executor::{self, Connector, Progress};
use crate::images::{Image, Manifest};
use crate::planner::file::{Plan, PlannedDevice};
use crate::report::{Cell, Table};
use crate::version::{Vendor, Version};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The plan file (from `lbfleet plan`).
    plan: PathBuf,
    /// Only the groups of this wave (repeatable).
    #[arg(long, value_name = "N")]
    wave: Vec<usize>,
    /// Only this group: an HA group, or a standalone device (repeatable).
    #[arg(long, value_name = "G")]
    group: Vec<String>,
    /// Devices staged at once.
    #[arg(long, value_name = "N", default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..))]
    parallel: u32,
    /// The image folder with manifest.csv.
    #[arg(long, value_name = "DIR", default_value = "images")]
    images: PathBuf,
    #[command(flatten)]
    ssh: SshArgs,
}

/// The staging journal beside a plan.
pub fn journal_path(plan: &Path) -> PathBuf {
    let mut name = plan.file_stem().unwrap_or_default().to_os_string();
    name.push(".stage.journal");
    plan.with_file_name(name)
}

/// One staged image's row: device, image, what happened or why not.
type Row = (String, String, Result<String, String>);

/// One device's images, in path order.
struct Work<'a> {
    device: &'a PlannedDevice,
    images: Vec<&'a Image>,
}

pub fn run(_ctx: &Ctx, args: &Args) -> anyhow::Result<ExitStatus> {
    let plan = crate::planner::check::load(&args.plan)?;
    if engine::refuse_unsafe(&args.plan, &plan) {
        return Ok(ExitStatus::Input);
    }
    if let Some(bad) = unknown_selection(&plan, args) {
        eprintln!("{}: {bad}", args.plan.display());
        return Ok(ExitStatus::Input);
    }
    let manifest = Manifest::load(&args.images)?;
    // Hops the rollout has done need no image any more.
    let rollout = args.plan.with_extension("journal");
    let done = if rollout.exists() {
        Journal::read(&rollout)?
    } else {
        Vec::new()
    };
    if engine::refuse_missing_images(&plan, &manifest, &args.images, &done) {
        return Ok(ExitStatus::Input);
    }
    // Every image is in the folder and its manifest (checked above).
    let mut work: Vec<Work> = Vec::new();
    for w in plan
        .waves
        .iter()
        .filter(|w| args.wave.is_empty() || args.wave.contains(&w.index))
    {
        for g in w
            .groups
            .iter()
            .filter(|g| args.group.is_empty() || args.group.contains(&executor::group_name(g)))
        {
            let gname = executor::group_name(g);
            for d in &g.devices {
                let vendor: Vendor = d.vendor.parse()?;
                let mut images = Vec::new();
                for hop in &d.path {
                    if engine::hop_done(&done, w.index, &gname, &d.name, hop) {
                        continue;
                    }
                    let v = Version::parse(vendor, hop)?;
                    images.extend(manifest.find(vendor, &v));
                }
                if !images.is_empty() {
                    work.push(Work { device: d, images });
                }
            }
        }
    }
    if work.is_empty() {
        eprintln!(
            "nothing to stage: the selection holds no device with a hop still to do{}",
            if args.wave.is_empty() && args.group.is_empty() {
                ""
            } else {
                " (check --wave and --group together)"
            }
        );
        return Ok(ExitStatus::Findings);
    }
    let drivers = Drivers::load(args.ssh.drivers.as_deref())?;
    let connector = SshConnector::new(&args.ssh)?;
    let jpath = journal_path(&args.plan);
    let _lock = Lock::take(&jpath)?;
    let journal = Mutex::new(Journal::open(&jpath)?);
    let observer = engine::observer();
    let queue = Mutex::new(work.iter().collect::<std::collections::VecDeque<_>>());
    let rows: Mutex<Vec<Row>> = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..(args.parallel as usize).clamp(1, work.len().max(1)) {
            scope.spawn(|| {
                while let Some(w) = queue.lock().expect("queue").pop_front() {
                    let out = stage_device(
                        w,
                        &drivers,
                        &connector,
                        &args.images,
                        &journal,
                        observer.as_ref(),
                    );
                    rows.lock().expect("rows").extend(out);
                }
            });
        }
    });
    observer.settle();
    let rows = rows.into_inner().expect("rows");
    let mut t = Table::new(&["device", "image", "result"]);
    let mut failed = 0;
    for (device, image, result) in &rows {
        let text = match result {
            Ok(s) => s.clone(),
            Err(e) => {
                failed += 1;
                format!("FAILED: {e}")
            }
        };
        t.push(vec![
            Cell::text(device.clone()),
            Cell::text(image.clone()),
            Cell::text(text),
        ]);
    }
    crate::report::emit(&crate::report::Format::Table.exporter().export(&t)?, None)?;
    super::out(format!(
        "{} of {} images staged and verified on {} devices, {failed} failed; journal {}",
        rows.len() - failed,
        rows.len(),
        work.len(),
        jpath.display()
    ))?;
    Ok(if failed > 0 {
        ExitStatus::Findings
    } else {
        ExitStatus::Success
    })
}

/// A `--wave` or `--group` the plan does not have, in words.
fn unknown_selection(plan: &Plan, args: &Args) -> Option<String> {
    if let Some(w) = args.wave.iter().find(|&&w| w >= plan.waves.len()) {
        return Some(format!(
            "no wave {w}: the plan has waves 0 to {}",
            plan.waves.len().saturating_sub(1)
        ));
    }
    let names: Vec<String> = plan
        .waves
        .iter()
        .flat_map(|w| &w.groups)
        .map(executor::group_name)
        .collect();
    args.group.iter().find(|g| !names.contains(g)).map(|g| {
        format!(
            "no group {g} in the plan{}",
            crate::suggest::did_you_mean(g, names.iter().map(String::as_str))
        )
    })
}

/// Stages one device's images in path order, journaling each; the first failure ends the
/// device (its later hops' images wait for the next run).
fn stage_device(
    w: &Work<'_>,
    drivers: &Drivers,
    connector: &SshConnector,
    images: &Path,
    journal: &Mutex<Journal>,
    observer: &dyn executor::Observer,
) -> Vec<Row> {
    let name = w.device.name.as_str();
    let mut out = Vec::new();
    let record = |event: Event, fields: &[(&str, &str)]| {
        let _ = journal.lock().expect("journal").record(event, fields);
    };
    let driver = match w
        .device
        .vendor
        .parse::<Vendor>()
        .map_err(|e| e.to_string())
        .and_then(|v| drivers.get(v).map_err(|e| e.to_string()))
    {
        Ok(d) => d,
        Err(e) => {
            out.push((name.to_string(), String::new(), Err(e)));
            return out;
        }
    };
    let mut session = None;
    for image in &w.images {
        let fields = [
            ("step", "stage"),
            ("device", name),
            ("image", image.file.as_str()),
        ];
        record(Event::Start, &fields);
        observer.on(Progress::Step {
            device: name,
            step: "stage",
            detail: &image.file,
        });
        if session.is_none() {
            match connector.connect(w.device) {
                Ok(t) => session = Some(t),
                Err(e) => {
                    let msg = e.to_string();
                    record(
                        Event::Fail,
                        &[fields.as_slice(), &[("error", msg.as_str())]].concat(),
                    );
                    out.push((name.to_string(), image.file.clone(), Err(msg)));
                    return out;
                }
            }
        }
        let t = session.as_mut().expect("connected");
        let mut progress = |done: u64, total: u64| {
            observer.on(Progress::Upload {
                device: name,
                done,
                total,
            })
        };
        match crate::device::stage(
            t.as_mut(),
            driver,
            image,
            &images.join(&image.file),
            &mut progress,
        ) {
            Ok(s) => {
                let sent = s.sent.to_string();
                record(
                    Event::Done,
                    &[
                        fields.as_slice(),
                        &[("sha256", s.sha256.as_str()), ("sent", sent.as_str())],
                    ]
                    .concat(),
                );
                let text = if s.sent == 0 {
                    "already there, SHA-256 verified: nothing sent".to_string()
                } else {
                    format!(
                        "{} MiB sent in {:.1} s ({:.0} MiB/s{}), SHA-256 verified",
                        s.sent >> 20,
                        s.upload_seconds,
                        s.sent as f64 / 1048576.0 / s.upload_seconds.max(1e-6),
                        if s.resumed_from > 0 {
                            format!(", continued after {} MiB", s.resumed_from >> 20)
                        } else {
                            String::new()
                        }
                    )
                };
                observer.on(Progress::Step {
                    device: name,
                    step: "staged",
                    detail: &image.file,
                });
                out.push((name.to_string(), image.file.clone(), Ok(text)));
            }
            Err(e) => {
                let msg = e.to_string();
                record(
                    Event::Fail,
                    &[fields.as_slice(), &[("error", msg.as_str())]].concat(),
                );
                out.push((name.to_string(), image.file.clone(), Err(msg)));
                return out;
            }
        }
    }
    out
}

/// What the staging journal says is staged: (device, image) pairs whose last word is done.
pub fn staged(entries: &[Entry]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for e in entries.iter().filter(|e| e.get("step") == Some("stage")) {
        let (Some(d), Some(i)) = (e.get("device"), e.get("image")) else {
            continue;
        };
        let key = (d.to_string(), i.to_string());
        out.retain(|k| *k != key);
        if e.event == Event::Done {
            out.push(key);
        }
    }
    out
}
