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
use crate::executor::{self, Budget, Settings, WaveReport};
use crate::images::Manifest;
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
    /// Do not ask before each wave after the canary.
    #[arg(long)]
    yes: bool,
    /// Continue a rollout from its journal (required when the journal has entries).
    #[arg(long)]
    resume: bool,
    /// Run a plan that no longer matches the inventory or catalog.
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
    /// Where to write the Markdown run report [default: reports/rollout-PLAN.md].
    #[arg(long, value_name = "FILE")]
    report: Option<PathBuf>,
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
}

fn journal_path(plan: &Path, given: &Option<PathBuf>) -> PathBuf {
    given
        .clone()
        .unwrap_or_else(|| plan.with_extension("journal"))
}

pub fn run(ctx: &Ctx, args: &Args) -> anyhow::Result<ExitStatus> {
    let plan = crate::planner::check::load(&args.plan)?;
    // The plan must still be true of the fleet.
    let paths = super::plan::inventory_paths(&plan, &args.inventory);
    let catalog = ctx.catalog()?;
    let inv = crate::inventory::load(&paths, &catalog)?;
    let diffs = crate::planner::check::check(&plan, &inv, &catalog);
    if !diffs.is_empty() {
        for d in &diffs {
            eprintln!("{}: {d}", args.plan.display());
        }
        if !args.force {
            eprintln!(
                "the plan no longer matches the fleet: plan again, or run it anyway with --force"
            );
            return Ok(ExitStatus::Findings);
        }
    }
    let drivers = Drivers::load(args.ssh.drivers.as_deref())?;
    let manifest = Manifest::load(&args.images)?;
    let connector = SshConnector::new(&args.ssh)?;
    if args.dry_run {
        return dry_run(&plan, &drivers, &connector, &manifest, &args.images);
    }
    let jpath = journal_path(&args.plan, &args.journal);
    let _lock = Lock::take(&jpath)?;
    let journal = Journal::open(&jpath)?;
    if !journal.entries.is_empty() && !args.resume {
        anyhow::bail!(
            "{} already records this rollout: continue it with --resume (finished steps are not repeated), or see `lbfleet status {}`",
            jpath.display(),
            args.plan.display()
        );
    }
    engine::on_ctrl_c_finish_steps();
    let settings = Settings {
        parallel: args.parallel.max(1),
        budget: args.max_failures,
        wait: args.wait.wait(),
        images: args.images.clone(),
    };
    let journal = Mutex::new(journal);
    let observer = engine::observer();
    let yes = args.yes;
    let mut confirm = |prev: &WaveReport| -> bool {
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
    let entries = journal.into_inner().expect("journal").entries;
    let total: usize = plan.waves.iter().map(|w| w.groups.len()).sum();
    let plan_name = args.plan.display().to_string();
    engine::finish(
        &outcome,
        &entries,
        &engine::report_path(&args.report, &args.plan, "rollout"),
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
    drivers: &Drivers,
    connector: &SshConnector,
    manifest: &Manifest,
    images: &Path,
) -> anyhow::Result<ExitStatus> {
    let mut blocked = false;
    for w in &plan.waves {
        super::out(format!(
            "wave {} ({:?}), not before {}",
            w.index, w.kind, w.not_before
        ))?;
        for g in &w.groups {
            super::out(format!(
                "  {} at {}: {} to {}",
                executor::group_name(g),
                g.site,
                g.start,
                g.end
            ))?;
            for d in &g.devices {
                blocked |= engine::print_dry_run(
                    &d.name,
                    executor::dry_run_device(drivers, connector, manifest, images, d),
                )?;
            }
        }
    }
    if blocked {
        eprintln!("dry run: a pre-check would block the rollout");
        return Ok(ExitStatus::Findings);
    }
    Ok(ExitStatus::Success)
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
                    .find(|e| matches!(e.event, Event::Start | Event::Fail));
                let (state, detail) = match current {
                    Some(e) if e.event == Event::Fail => {
                        ("failed", e.get("error").unwrap_or("").to_string())
                    }
                    Some(e) => (
                        "in progress (or interrupted)",
                        format!("hop to {}", e.get("to").unwrap_or("")),
                    ),
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
            if group_done {
                done_groups += 1;
            }
        }
    }
    crate::report::emit(&crate::report::Format::Table.exporter().export(&t)?, None)?;
    super::out(format!(
        "{done_groups} of {total} groups done; journal {}",
        jpath.display()
    ))?;
    Ok(ExitStatus::Success)
}
