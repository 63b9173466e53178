//! `lbfleet upgrade PLAN`: run a plan over SSH, journaled and resumable; `lbfleet status PLAN`:
//! where a rollout stands, from its journal alone.

use std::io::{BufRead, IsTerminal};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use super::Ctx;
use super::device::SshArgs;
use super::engine::{self, Lock, SshConnector, WaitArgs};
use crate::ExitStatus;
use crate::driver::Drivers;
use crate::executor::journal::{self, Event, Journal};
use crate::executor::{self, Budget, Settings, WaveReport, WindowMode};
use crate::images::Manifest;
use crate::planner::file::Step as PlanStep;
use crate::report::{Cell, Table};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The plan file (from `lbfleet plan`).
    plan: PathBuf,
    /// Connect and run only the read-only pre-checks; print each device's commands.
    #[arg(long)]
    dry_run: bool,
    /// Groups of a wave upgraded at once.
    #[arg(long, value_name = "N", default_value_t = 4)]
    parallel: usize,
    /// Failed groups tolerated before nothing new starts: a count or a share (`5%`).
    #[arg(long, value_name = "N|P%", default_value = "0")]
    max_failures: Budget,
    /// Do not ask before the first change, nor before each wave after the canary (needed
    /// without a terminal).
    #[arg(long)]
    yes: bool,
    /// Continue a rollout from its journal (required when the journal has entries).
    #[arg(long)]
    resume: bool,
    /// Start afresh: the journal is kept beside itself with a timestamp, and a new one begins.
    #[arg(long, conflicts_with = "resume")]
    restart: bool,
    /// Run what may start now and exit (for cron): groups whose maintenance window is not open,
    /// or has too little left, wait for a later run. Continues the journal.
    #[arg(long, conflicts_with = "ignore_windows")]
    due: bool,
    /// Start groups outside their maintenance windows and without the plan's soak times (an
    /// emergency; recorded in the journal and the run report).
    #[arg(long)]
    ignore_windows: bool,
    /// Leave the inventory as it is: by default each verified hop writes the device's new
    /// version, and each verified failover both units' roles, into its CSV row.
    #[arg(long)]
    no_write_inventory: bool,
    /// Run a plan that no longer matches the inventory or catalog, or whose hops the catalog
    /// does not support (recorded in the journal and the run report).
    #[arg(long)]
    force: bool,
    /// The journal [default: the plan's path with `.journal`].
    #[arg(long, value_name = "FILE")]
    journal: Option<PathBuf>,
    /// The image folder with manifest.csv.
    #[arg(long, value_name = "DIR", default_value = "images")]
    images: PathBuf,
    /// Inventory folders or files [default: the paths recorded in the plan].
    #[arg(long, value_name = "PATH", num_args = 1..)]
    inventory: Vec<PathBuf>,
    /// Where to write the Markdown run report [default: beside the plan, PLAN.report.md].
    #[arg(long, value_name = "FILE")]
    report: Option<PathBuf>,
    /// Where each device's configuration backup is copied before its first change (one folder
    /// per device) [default: beside the plan, PLAN.backups/].
    #[arg(long, value_name = "DIR")]
    backups: Option<PathBuf>,
    /// Change devices without taking their configuration backup first (recorded in the
    /// journal).
    #[arg(long, conflicts_with = "backups")]
    no_backups: bool,
    /// Hold the waves after the canary until the canary's verdict says yes: `leak-fixed` (every
    /// upgraded canary device's leak is fixed, judged as `lbfleet verify-fix` does) or
    /// `leak-fixed:DEFECT` (the canary devices that catalog defect affects). Not fixed stops
    /// the rollout; inconclusive waits (with --due: exits 0, "waiting for verdict")
    /// [default: the plan's --gate].
    #[arg(long, value_name = "GATE")]
    gate: Option<super::verify_fix::GateSpec>,
    /// Telemetry for the gate's verdict, read afresh each time it is asked.
    #[command(flatten)]
    telemetry: super::telemetry::TelemetryArgs,
    /// Days of data after the upgrade the gate's verdict needs at least.
    #[arg(long, value_name = "DAYS", default_value_t = super::verify_fix::MinDays(super::verify_fix::DEFAULT_MIN_DAYS), allow_negative_numbers = true)]
    min_days: super::verify_fix::MinDays,
    /// Open the gate whatever the verdict says (recorded in the journal and the run report).
    #[arg(long)]
    accept_verdict: bool,
    #[command(flatten)]
    wait: WaitArgs,
    #[command(flatten)]
    ssh: SshArgs,
}

#[derive(Debug, clap::Args)]
pub struct StatusArgs {
    /// The plan file.
    plan: PathBuf,
    /// The journal [default: the plan's path with `.journal`].
    #[arg(long, value_name = "FILE")]
    journal: Option<PathBuf>,
    /// A driver file replacing the built-in driver of its vendor (whether it can roll back).
    #[arg(long, value_name = "FILE")]
    drivers: Option<PathBuf>,
}

/// Where backups go: `--backups DIR`, else `PLAN.backups/` beside the plan; archives are named
/// after the plan file.
pub fn backups(plan: &Path, given: &Option<PathBuf>) -> executor::Backups {
    let dir = given
        .clone()
        .unwrap_or_else(|| plan.with_extension("backups"));
    executor::Backups {
        dir,
        tag: plan
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "plan".into()),
    }
}

fn journal_path(plan: &Path, given: &Option<PathBuf>) -> PathBuf {
    given
        .clone()
        .unwrap_or_else(|| plan.with_extension("journal"))
}

/// Every hop of the plan against the catalog's direct rules and the model's platform support.
fn unsupported_hops(plan: &crate::planner::Plan, catalog: &crate::catalog::Catalog) -> Vec<String> {
    let mut out = Vec::new();
    for (_, _, d) in plan.devices() {
        let Ok(vendor) = d.vendor.parse::<crate::version::Vendor>() else {
            continue;
        };
        let model = catalog.model(vendor, &d.model);
        let parse = |v: &str| crate::version::Version::parse(vendor, v).ok();
        let Some(mut prev) = parse(&d.from) else {
            continue;
        };
        for hop in &d.path {
            let Some(to) = parse(hop) else { break };
            if let Err(why) = crate::upgrade::check_hop(catalog, model, &prev, &to) {
                out.push(format!("{}: {why}", d.name));
            }
            prev = to;
        }
    }
    out
}

pub fn run(ctx: &Ctx, args: &Args) -> anyhow::Result<ExitStatus> {
    let (plan, lines) = crate::planner::check::load_located(&args.plan)?;
    // Every value that will reach a session or a command, before anything else, --force or not.
    if engine::refuse_unsafe(&args.plan, &plan) {
        return Ok(ExitStatus::Input);
    }
    // The plan must still be true of the fleet.
    let paths = super::plan::inventory_paths(&plan, &args.inventory);
    let catalog = ctx.catalog()?;
    let inv = crate::inventory::load(&paths, &catalog)?;
    let jpath = journal_path(&args.plan, &args.journal);
    // Devices may be as planned, or as this rollout's journal says it left them.
    let groups: Vec<_> = plan
        .waves
        .iter()
        .flat_map(|w| w.groups.iter().map(move |g| (w.index, g)))
        .collect();
    // --restart sets the journal aside: what it says explains nothing about the new run.
    let done = if args.restart {
        Default::default()
    } else {
        engine::journaled(&jpath, &groups)?
    };
    let diffs = crate::planner::check::check(&plan, &inv, &catalog, &done);
    let mut forced: Vec<String> = Vec::new();
    if !diffs.is_empty() {
        for d in &diffs {
            eprintln!("{}", d.located(&args.plan, &lines));
        }
        if !args.force {
            eprintln!(
                "the plan no longer matches the fleet: plan again, or run it anyway with --force"
            );
            return Ok(ExitStatus::Findings);
        }
        forced.push(format!("{} differences with the fleet", diffs.len()));
    }
    // Every hop must be one the vendor supports on that hardware, as `lbfleet path` finds them.
    let unsupported = unsupported_hops(&plan, &catalog);
    if !unsupported.is_empty() {
        for u in &unsupported {
            eprintln!("{}: {u}", args.plan.display());
        }
        if !args.force {
            eprintln!(
                "the plan has hops the vendor does not support: plan again, or run it anyway with --force"
            );
            return Ok(ExitStatus::Input);
        }
        forced.extend(unsupported);
    }
    let drivers = Drivers::load(args.ssh.drivers.as_deref())?;
    let manifest = Manifest::load(&args.images)?;
    // Every image the unfinished hops need, before anything is contacted.
    let so_far = if jpath.exists() && !args.restart {
        Journal::read(&jpath)?
    } else {
        Vec::new()
    };
    if engine::refuse_missing_images(&plan, &manifest, &args.images, &so_far) {
        return Ok(ExitStatus::Input);
    }
    // A plan sized without uploads whose images were not staged: the uploads happen inside
    // the windows.
    if plan.options.pre_staged {
        let spath = super::stage::journal_path(&args.plan);
        let staged = if spath.exists() {
            super::stage::staged(&Journal::read(&spath)?)
        } else {
            Vec::new()
        };
        let unstaged: Vec<String> = plan
            .waves
            .iter()
            .flat_map(|w| w.groups.iter().map(move |g| (w, g)))
            .flat_map(|(w, g)| g.devices.iter().map(move |d| (w, g, d)))
            .filter(|(w, g, d)| {
                d.path.iter().any(|hop| {
                    !engine::hop_done(&so_far, w.index, &executor::group_name(g), &d.name, hop)
                        && !staged.iter().any(|(sd, img)| {
                            *sd == d.name
                                && manifest
                                    .images
                                    .iter()
                                    .any(|i| i.file == *img && i.version == *hop)
                        })
                })
            })
            .map(|(_, _, d)| d.name.clone())
            .collect();
        if !unstaged.is_empty() {
            eprintln!(
                "warning: the plan was sized with images staged ahead (--pre-staged), but {} device{} ha{} images not staged ({}{}): their uploads fall inside the windows; run `lbfleet stage {}` first",
                unstaged.len(),
                if unstaged.len() == 1 { "" } else { "s" },
                if unstaged.len() == 1 { "s" } else { "ve" },
                unstaged
                    .iter()
                    .take(5)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", "),
                if unstaged.len() > 5 { ", …" } else { "" },
                args.plan.display()
            );
        }
    }
    // The gate (this run's, else the plan's), checked before anything is contacted.
    let planned_gate = plan
        .options
        .gate
        .as_deref()
        .map(|text| {
            text.parse::<super::verify_fix::GateSpec>()
                .map_err(|e| anyhow::anyhow!("{}: options.gate: {e}", args.plan.display()))
        })
        .transpose()?;
    let (given_gate, from) = match (&args.gate, &planned_gate) {
        (Some(g), _) => (Some(g.clone()), "--gate"),
        (None, p) => (p.clone(), "recorded in the plan by plan --gate"),
    };
    let mut gate_notes: Vec<String> = Vec::new();
    if let (Some(g), Some(p)) = (&args.gate, &planned_gate)
        && g != p
    {
        let note = format!("--gate {g} replaces the plan's gate {p}");
        eprintln!("warning: {note} (journaled)");
        gate_notes.push(note);
    }
    // A gate the journal records open is not asked again: no telemetry needed any more.
    let opened = given_gate
        .as_ref()
        .is_some_and(|g| executor::gate_opened(&so_far, &g.to_string()));
    if given_gate.is_none() && (args.accept_verdict || args.telemetry.source()?.is_some()) {
        anyhow::bail!(
            "--accept-verdict and telemetry (--telemetry, --prometheus) are for a gate: add --gate leak-fixed (or plan with it)"
        );
    }
    let gate = match given_gate.filter(|_| !opened) {
        Some(spec) => {
            let others = inv
                .devices
                .iter()
                .map(|d| (d.name.clone(), d.model.clone(), d.version.to_string()))
                .collect();
            let rollout = super::verify_fix::Rollout {
                plan: plan.clone(),
                others,
            };
            Some(super::verify_fix::LeakGate::new(
                spec,
                rollout,
                &catalog,
                (
                    args.telemetry.clone(),
                    args.min_days,
                    args.accept_verdict,
                    from,
                ),
            )?)
        }
        None => None,
    };
    if args.dry_run {
        if args.no_backups {
            eprintln!(
                "warning: --no-backups: the run would change devices without a configuration backup first"
            );
        }
        let connector = SshConnector::new(&args.ssh)?;
        let entries = if jpath.exists() {
            Journal::read(&jpath)?
        } else {
            Vec::new()
        };
        let backups = backups(&args.plan, &args.backups);
        // What the gate would say now (read-only: telemetry and journal).
        if let Some(g) = &gate {
            use executor::Gate;
            let said = g.check(&entries);
            let (word, detail) = said.parts();
            super::out(format!(
                "gate {} before the waves after the canary: it says {word} now: {detail}",
                g.name()
            ))?;
        }
        return dry_run(
            &plan,
            &entries,
            &drivers,
            &connector,
            &manifest,
            &args.images,
            (!args.no_backups).then_some(&backups),
        );
    }
    // Consent before the first change: without a terminal to ask on, only --yes gives it, and
    // nothing is contacted without it.
    if !args.yes && !std::io::stdin().is_terminal() {
        eprintln!(
            "not a terminal: nothing was done. Review the plan (`lbfleet upgrade {} --dry-run`), then pass --yes to run it without questions",
            args.plan.display()
        );
        return Ok(ExitStatus::Input);
    }
    let _lock = Lock::take(&jpath)?;
    if args.restart && jpath.exists() {
        let kept = crate::fsutil::set_aside(&jpath)?;
        eprintln!(
            "restart: the previous journal is kept as {}",
            kept.display()
        );
    }
    let journal = Journal::open(&jpath)?;
    if !journal.entries.is_empty() && !args.resume && !args.due {
        anyhow::bail!(
            "{} already records this rollout: continue it with --resume (finished steps are not repeated), start afresh with --restart, or see `lbfleet status {}`",
            jpath.display(),
            args.plan.display()
        );
    }
    if !args.yes {
        let next = plan
            .waves
            .iter()
            .map(|w| (w, executor::pending(w, &journal.entries)))
            .find(|(_, p)| !p.is_empty());
        let Some((wave, steps)) = next else {
            eprintln!("every step of the plan is already done");
            return Ok(ExitStatus::Success);
        };
        eprintln!(
            "wave {} ({:?}) will change these devices:",
            wave.index, wave.kind
        );
        for line in &steps {
            eprintln!("  {line}");
        }
        eprint!("start? [y/N] ");
        let mut line = String::new();
        let _ = std::io::stdin().lock().read_line(&mut line);
        if !matches!(line.trim(), "y" | "Y" | "yes") {
            eprintln!("nothing was done");
            return Ok(ExitStatus::Findings);
        }
    }
    let connector = SshConnector::new(&args.ssh)?;
    engine::on_ctrl_c_finish_steps();
    let journal = Mutex::new(journal);
    {
        let mut j = journal.lock().expect("journal");
        for f in &forced {
            j.record(Event::Note, &[("what", "force"), ("detail", f)])?;
        }
        for n in &gate_notes {
            j.record(Event::Note, &[("what", "gate-override"), ("detail", n)])?;
        }
        if args.no_backups {
            eprintln!(
                "warning: --no-backups: devices are changed without a configuration backup first (journaled)"
            );
            j.record(
                Event::Note,
                &[
                    ("what", "no-backups"),
                    (
                        "detail",
                        "devices changed without a configuration backup first",
                    ),
                ],
            )?;
        }
        if args.ignore_windows {
            j.record(
                Event::Note,
                &[
                    ("what", "ignore-windows"),
                    (
                        "detail",
                        "groups started outside their maintenance windows and soak times",
                    ),
                ],
            )?;
        }
    }
    let windows = crate::executor::windows::SiteWindows::new(&inv.sites, plan.options.horizon_days);
    let writer = engine::CsvInventory::new(&inv);
    let mut backups = backups(&args.plan, &args.backups);
    // Absolute, as the journal records it: a later run may start elsewhere.
    backups.dir = std::path::absolute(&backups.dir).unwrap_or(backups.dir);
    let settings = Settings {
        parallel: args.parallel.max(1),
        budget: args.max_failures,
        wait: args.wait.wait(),
        images: args.images.clone(),
        windows: &windows,
        mode: if args.ignore_windows {
            WindowMode::Ignore
        } else if args.due {
            WindowMode::Due
        } else {
            WindowMode::Wait
        },
        soak_minutes: (plan.options.canary_soak_minutes, plan.options.soak_minutes),
        clock: &crate::clock::SystemClock,
        inventory: (!args.no_write_inventory).then_some(&writer as _),
        backups: (!args.no_backups).then_some(&backups),
        gate: gate.as_ref().map(|g| g as &dyn executor::Gate),
    };
    let observer = engine::observer();
    let yes = args.yes;
    let mut confirm = |prev: &WaveReport| -> bool {
        observer.settle();
        eprintln!(
            "wave {} done: {} groups completed, {} failed{}",
            prev.index,
            prev.completed,
            prev.failed.len(),
            prev.failed
                .iter()
                .map(|(g, e)| format!("\n  {g}: {e}"))
                .collect::<String>()
        );
        if yes {
            return true;
        }
        if !std::io::stdin().is_terminal() {
            eprintln!("not a terminal: pass --yes to continue without confirmation");
            return false;
        }
        eprint!("start the next wave? [y/N] ");
        let mut line = String::new();
        let _ = std::io::stdin().lock().read_line(&mut line);
        matches!(line.trim(), "y" | "Y" | "yes")
    };
    let outcome = executor::run(
        &plan.waves,
        &drivers,
        &manifest,
        &connector,
        &settings,
        &journal,
        &mut confirm,
        observer.as_ref(),
    );
    observer.settle();
    let entries = journal.into_inner().expect("journal").entries;
    let total: usize = plan.waves.iter().map(|w| w.groups.len()).sum();
    let plan_name = args.plan.display().to_string();
    engine::finish(
        &outcome,
        &entries,
        &engine::report_path(&args.report, &args.plan),
        |_| {
            Ok(crate::executor::report::markdown(
                &plan, &plan_name, &entries,
            ))
        },
        "groups",
        total,
        &jpath,
    )
}

fn dry_run(
    plan: &crate::planner::Plan,
    entries: &[journal::Entry],
    drivers: &Drivers,
    connector: &SshConnector,
    manifest: &Manifest,
    images: &Path,
    backups: Option<&executor::Backups>,
) -> anyhow::Result<ExitStatus> {
    let mut blocked = false;
    // Steps the journal shows finished are not checked again (the device has moved on).
    let finished: std::collections::HashSet<String> = entries
        .iter()
        .filter(|e| matches!(e.event, Event::Done | Event::Skip))
        .map(journal::Entry::key)
        .collect();
    for w in &plan.waves {
        super::out(format!(
            "wave {} ({:?}), not before {}",
            w.index, w.kind, w.not_before
        ))?;
        for g in &w.groups {
            let gname = executor::group_name(g);
            super::out(format!(
                "  {} at {}: {} to {}",
                gname, g.site, g.start, g.end
            ))?;
            let key = |step: &str, who: (&str, &str), to: Option<&str>| {
                let w = w.index.to_string();
                let mut f = vec![
                    ("wave", w.as_str()),
                    ("group", gname.as_str()),
                    ("step", step),
                    who,
                ];
                f.extend(to.map(|t| ("to", t)));
                f.iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join(" ")
            };
            let done = |step: &PlanStep| match step {
                PlanStep::Upgrade { device } => g
                    .devices
                    .iter()
                    .find(|d| &d.name == device)
                    .is_some_and(|d| {
                        d.path.iter().all(|hop| {
                            finished.contains(&key("hop", ("device", device), Some(hop)))
                        })
                    }),
                PlanStep::Failover { to, .. } => {
                    finished.contains(&key("failover", ("to", to), None))
                }
                PlanStep::Reboot { device } => {
                    finished.contains(&key("reboot", ("device", device), None))
                }
            };
            if g.steps.iter().all(done) {
                super::out("    done (the journal shows every step finished)")?;
                continue;
            }
            if let Some(at) = executor::rolled_back(entries, &gname) {
                super::out(format!(
                    "    rolled back at {at}: nothing more of it runs (plan it again)"
                ))?;
                continue;
            }
            // The unit carrying the pair's traffic now: where the journal's last failover of
            // the group left it, else the active the plan found.
            let first_giver = g.steps.iter().find_map(|s| match s {
                PlanStep::Failover { from, .. } => from.clone(),
                _ => None,
            });
            let now_active: Option<String> = executor::carrying(entries, &gname)
                .map(str::to_string)
                .or_else(|| {
                    g.devices
                        .iter()
                        .find(|d| d.role == "active")
                        .map(|d| d.name.clone())
                })
                .or(first_giver);
            // Older plans name no giver: a failover after a handover or another failover of the
            // entry meets other roles than the fleet's now.
            let mut differs = executor::handover(&plan.waves, w.index, g).is_some();
            for step in &g.steps {
                if done(step) {
                    let what = match step {
                        PlanStep::Upgrade { device } | PlanStep::Reboot { device } => {
                            device.clone()
                        }
                        PlanStep::Failover { to, .. } => format!("failover to {to}"),
                    };
                    super::out(format!("    {what}: done (journal)"))?;
                    if matches!(step, PlanStep::Failover { .. }) {
                        differs = !differs;
                    }
                    continue;
                }
                match step {
                    PlanStep::Upgrade { device } => {
                        let Some(d) = g.devices.iter().find(|d| &d.name == device) else {
                            continue;
                        };
                        let mut d = d.clone();
                        if let Some(a) = &now_active
                            && d.role != "standalone"
                        {
                            d.role = if d.name == *a { "active" } else { "standby" }.into();
                        }
                        // The backup is taken once, before the device's first change.
                        let backed_up = entries.iter().any(|e| {
                            matches!(e.event, Event::Done | Event::Skip)
                                && e.get("step") == Some("backup")
                                && e.get("device") == Some(d.name.as_str())
                        });
                        blocked |= engine::print_dry_run(
                            &d.name,
                            executor::dry_run_device(
                                drivers,
                                connector,
                                manifest,
                                images,
                                &d,
                                executor::booted_first(entries, &d.name).as_deref(),
                                backups.filter(|_| !backed_up),
                            ),
                        )?;
                    }
                    PlanStep::Failover {
                        to,
                        mgmt_host,
                        from,
                        from_mgmt_host,
                    } => {
                        // Only a failover from the roles the fleet has now can be checked now.
                        let check = match from {
                            Some(f) => now_active.as_deref() == Some(f.as_str()),
                            None => !differs,
                        };
                        differs = !differs;
                        blocked |= engine::print_dry_run(
                            &format!("failover to {to}"),
                            executor::dry_run_failover(
                                drivers,
                                connector,
                                g,
                                (to, mgmt_host),
                                from.as_deref().zip(from_mgmt_host.as_deref()),
                                check,
                                None,
                            ),
                        )?;
                    }
                    PlanStep::Reboot { device } => {
                        super::out(format!("    {device}: reboot (not an upgrade step)"))?;
                    }
                }
            }
        }
    }
    if blocked {
        eprintln!("dry run: a pre-check would block the rollout");
        return Ok(ExitStatus::Findings);
    }
    Ok(ExitStatus::Success)
}

/// Whether the journal's last word on `device` is its rollback (a revert after its hops).
fn reverted(entries: &[journal::Entry], device: &str) -> bool {
    entries
        .iter()
        .rev()
        .filter(|e| e.get("device") == Some(device))
        .find(|e| {
            matches!(e.event, Event::Done | Event::Skip)
                && matches!(e.get("step"), Some("hop" | "revert"))
        })
        .is_some_and(|e| e.get("step") == Some("revert"))
}

pub fn status(args: &StatusArgs) -> anyhow::Result<ExitStatus> {
    let plan = crate::planner::check::load(&args.plan)?;
    let jpath = journal_path(&args.plan, &args.journal);
    let entries = if jpath.exists() {
        Journal::read(&jpath)?
    } else {
        Vec::new()
    };
    let mut t = Table::new(&["wave", "group", "device", "hops done", "state", "detail"]);
    let last = journal::last_events(&entries);
    let mut done_groups = 0;
    let mut rolled_groups = 0;
    let total: usize = plan.waves.iter().map(|w| w.groups.len()).sum();
    for w in &plan.waves {
        for g in &w.groups {
            let gname = executor::group_name(g);
            let mut group_done = true;
            for d in &g.devices {
                let mine: Vec<&&journal::Entry> = last
                    .iter()
                    .filter(|e| {
                        e.get("device") == Some(d.name.as_str()) && e.get("step") == Some("hop")
                    })
                    .collect();
                let done = mine
                    .iter()
                    .filter(|e| matches!(e.event, Event::Done | Event::Skip))
                    .count();
                let current = mine
                    .iter()
                    .rev()
                    .find(|e| matches!(e.event, Event::Start | Event::Fail | Event::Interrupted));
                // A backup that failed before the first hop.
                let backup_failed = last.iter().rev().find(|e| {
                    e.get("device") == Some(d.name.as_str()) && e.get("step") == Some("backup")
                });
                let (state, detail) = match current {
                    Some(e) if e.event == Event::Fail => {
                        ("failed", e.get("error").unwrap_or("").to_string())
                    }
                    None if done == 0 && backup_failed.is_some_and(|e| e.event == Event::Fail) => (
                        "failed",
                        backup_failed
                            .and_then(|e| e.get("error"))
                            .unwrap_or("")
                            .to_string(),
                    ),
                    Some(e) if e.event == Event::Interrupted => (
                        "interrupted (--resume continues it)",
                        format!("hop to {}", e.get("to").unwrap_or("")),
                    ),
                    Some(e) => (
                        "in progress (or interrupted)",
                        format!("hop to {}", e.get("to").unwrap_or("")),
                    ),
                    // Taken back by `lbfleet rollback` after its hops.
                    None if reverted(&entries, &d.name) => {
                        ("rolled back", format!("runs {} again", d.from))
                    }
                    None if done == d.path.len() => {
                        ("done", d.path.last().cloned().unwrap_or_default())
                    }
                    None if done > 0 => ("part-way", format!("at {}", d.path[done - 1])),
                    None => ("not started", String::new()),
                };
                if done < d.path.len() {
                    group_done = false;
                }
                t.push(vec![
                    Cell::Int(w.index as i64),
                    Cell::text(gname.clone()),
                    Cell::text(d.name.clone()),
                    Cell::text(format!("{done}/{}", d.path.len())),
                    Cell::text(state),
                    Cell::text(detail),
                ]);
            }
            if executor::rolled_back(&entries, &gname).is_some() {
                rolled_groups += 1;
            } else if group_done {
                done_groups += 1;
            }
        }
    }
    crate::report::emit(&crate::report::Format::Table.exporter().export(&t)?, None)?;
    super::out(format!(
        "{done_groups} of {total} groups done{}; journal {}",
        if rolled_groups > 0 {
            format!(", {rolled_groups} rolled back")
        } else {
            String::new()
        },
        jpath.display()
    ))?;
    // What the gate after the canary said last.
    if let Some(g) = journal::gate_notes(&entries).last() {
        super::out(g)?;
    }
    // Images staged ahead of the windows (`lbfleet stage`).
    let spath = super::stage::journal_path(&args.plan);
    if spath.exists() {
        let staged = super::stage::staged(&Journal::read(&spath)?);
        let devices: std::collections::BTreeSet<&str> =
            staged.iter().map(|(d, _)| d.as_str()).collect();
        super::out(format!(
            "staged ahead: {} images verified on {} devices; journal {}",
            staged.len(),
            devices.len(),
            spath.display()
        ))?;
    }
    let drivers = crate::driver::Drivers::load(args.drivers.as_deref())?;
    // Where each group stands for a way back, from the journal (the devices are asked when
    // `lbfleet rollback` runs).
    let mut seen: Vec<String> = Vec::new();
    for g in plan.waves.iter().flat_map(|w| &w.groups) {
        let name = executor::group_name(g);
        if seen.contains(&name) {
            continue;
        }
        seen.push(name.clone());
        match executor::back_out(&plan.waves, &entries, &name) {
            Ok(bo) => {
                let begun = executor::rolled_back(&entries, &name)
                    .map(|at| {
                        format!(
                            "rollback begun at {at}, not finished (the rollout does not continue it); "
                        )
                    })
                    .unwrap_or_default();
                // A driver without a way back: the steps by hand.
                let driver = bo
                    .entry
                    .devices
                    .first()
                    .and_then(|d| d.vendor.parse::<crate::version::Vendor>().ok())
                    .and_then(|v| drivers.get(v).ok());
                if let Some(d) = driver.filter(|d| !d.commands.contains_key("rollback")) {
                    let by_hand: Vec<String> = bo
                        .reverts()
                        .map(|r| {
                            format!(
                                "{} back to {}{}",
                                r.device,
                                r.old,
                                r.backup
                                    .as_deref()
                                    .map(|b| format!(" (backup {b})"))
                                    .unwrap_or_default()
                            )
                        })
                        .collect();
                    super::out(format!(
                        "{name}: {begun}cannot be rolled back by lbfleet: the {} driver has no rollback command; by hand: {}",
                        d.vendor.id(),
                        by_hand.join(", ")
                    ))?;
                    continue;
                }
                let gone: Vec<String> = bo
                    .reverts()
                    .filter_map(|r| {
                        Some(format!(
                            "{} ran {} on {}, which the hop to {} was installed over ({})",
                            r.device,
                            r.old,
                            r.booted_before.as_deref()?,
                            r.overwritten_by.as_deref()?,
                            match &r.backup {
                                Some(b) =>
                                    format!("reinstall {} and restore the backup {b}", r.old),
                                None => format!("reinstall {}; no backup was taken", r.old),
                            }
                        ))
                    })
                    .collect();
                if !gone.is_empty() {
                    super::out(format!(
                        "{name}: cannot be rolled back by a reboot: {}",
                        gone.join("; ")
                    ))?;
                    continue;
                }
                let carrier = executor::carrying(&entries, &name)
                    .map(|c| format!("{c} carries traffic; "))
                    .unwrap_or_default();
                super::out(format!(
                    "{name}: {begun}{carrier}can be rolled back: {}: `lbfleet rollback {} --group {name}`",
                    bo.describe().join(", then "),
                    args.plan.display()
                ))?;
            }
            Err(_) => {
                if let Some(at) = executor::rolled_back(&entries, &name) {
                    super::out(format!(
                        "{name}: rolled back at {at}; the rollout does not continue it"
                    ))?;
                }
            }
        }
    }
    Ok(ExitStatus::Success)
}
