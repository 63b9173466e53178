//! `lbfleet rollback PLAN --group G`: gives a group's traffic back to the unit that ran it
//! before the rollout, while that unit still runs the old release (the canary's soak: the
//! upgraded standby carries traffic, the former active waits untouched). Checked like every
//! failover, journaled so the rollout never continues the group, written back to the inventory.

use std::io::{BufRead, IsTerminal};
use std::path::PathBuf;
use std::sync::Mutex;

use super::Ctx;
use super::device::SshArgs;
use super::engine::{self, Lock, SshConnector, WaitArgs};
use crate::ExitStatus;
use crate::driver::Drivers;
use crate::executor::journal::Journal;
use crate::executor::{self, Settings, WindowMode};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The plan file whose rollout is rolled back.
    plan: PathBuf,
    /// The HA group to roll back (repeatable; a group that cannot be rolled back is refused and
    /// the others go on).
    #[arg(long, value_name = "G", required = true)]
    group: Vec<String>,
    /// Check both units and print the commands; change nothing.
    #[arg(long)]
    dry_run: bool,
    /// Do not ask before the change (needed without a terminal).
    #[arg(long)]
    yes: bool,
    /// Leave the inventory as it is (by default both units' roles are written back).
    #[arg(long)]
    no_write_inventory: bool,
    /// The journal [default: the plan's path with `.journal`].
    #[arg(long, value_name = "FILE")]
    journal: Option<PathBuf>,
    /// Inventory folders or files [default: the paths recorded in the plan].
    #[arg(long, value_name = "PATH", num_args = 1..)]
    inventory: Vec<PathBuf>,
    #[command(flatten)]
    wait: WaitArgs,
    #[command(flatten)]
    ssh: SshArgs,
}

pub fn run(ctx: &Ctx, args: &Args) -> anyhow::Result<ExitStatus> {
    let plan = crate::planner::check::load(&args.plan)?;
    if engine::refuse_unsafe(&args.plan, &plan) {
        return Ok(ExitStatus::Input);
    }
    let jpath = args
        .journal
        .clone()
        .unwrap_or_else(|| args.plan.with_extension("journal"));
    if !jpath.exists() {
        eprintln!(
            "{}: no journal: this plan has not run, so there is nothing to roll back",
            jpath.display()
        );
        return Ok(ExitStatus::Findings);
    }
    let known: Vec<String> = plan
        .waves
        .iter()
        .flat_map(|w| &w.groups)
        .map(executor::group_name)
        .collect();
    for g in &args.group {
        if !known.contains(g) {
            let hint = crate::suggest::did_you_mean(g, known.iter().map(String::as_str));
            eprintln!("{}: no group {g} in the plan{hint}", args.plan.display());
            return Ok(ExitStatus::Input);
        }
    }
    let drivers = Drivers::load(args.ssh.drivers.as_deref())?;
    let _lock = if args.dry_run {
        None
    } else {
        Some(Lock::take(&jpath)?)
    };
    let journal = Journal::open(&jpath)?;
    // Every group's way back is found before anything changes; a group without one is
    // refused and the others go on (in an incident, one wrong name must not hold the rest).
    let mut backs = Vec::new();
    let mut refused = false;
    let mut named: Vec<&String> = Vec::new();
    for g in &args.group {
        if named.contains(&g) {
            continue;
        }
        named.push(g);
        match executor::back_out(&plan.waves, &journal.entries, g) {
            Ok(fb) => backs.push(fb),
            Err(why) => {
                eprintln!("{why}: nothing done for {g}");
                refused = true;
            }
        }
    }
    if backs.is_empty() {
        return Ok(ExitStatus::Findings);
    }
    let connector = SshConnector::new(&args.ssh)?;
    if args.dry_run {
        let mut blocked = false;
        for fb in &backs {
            super::out(format!(
                "{}: {} carries traffic on the new release; {} still runs the old one",
                executor::group_name(fb.entry),
                fb.from.0,
                fb.to.0
            ))?;
            blocked |= engine::print_dry_run(
                &format!("failover to {}", fb.to.0),
                executor::dry_run_failover(
                    &drivers,
                    &connector,
                    fb.entry,
                    (&fb.to.0, &fb.to.1),
                    Some((&fb.from.0, &fb.from.1)),
                    true,
                    Some(&fb.old),
                ),
            )?;
        }
        if blocked {
            eprintln!("dry run: a check would stop the rollback");
        }
        return Ok(if blocked || refused {
            ExitStatus::Findings
        } else {
            ExitStatus::Success
        });
    }
    if !args.yes {
        if !std::io::stdin().is_terminal() {
            eprintln!(
                "not a terminal: nothing was done. Pass --yes to roll back without questions"
            );
            return Ok(ExitStatus::Input);
        }
        for fb in &backs {
            eprintln!(
                "{}: fail over from {} ({}) back to {} ({})",
                executor::group_name(fb.entry),
                fb.from.0,
                fb.from.1,
                fb.to.0,
                fb.to.1
            );
        }
        eprint!("roll back? [y/N] ");
        let mut line = String::new();
        let _ = std::io::stdin().lock().read_line(&mut line);
        if !matches!(line.trim(), "y" | "Y" | "yes") {
            eprintln!("nothing was done");
            return Ok(ExitStatus::Findings);
        }
    }
    let catalog = ctx.catalog()?;
    let paths = super::plan::inventory_paths(&plan, &args.inventory);
    let inv = crate::inventory::load(&paths, &catalog)?;
    let writer = engine::CsvInventory::new(&inv);
    let windows = crate::executor::windows::SiteWindows::new(&inv.sites, plan.options.horizon_days);
    let settings = Settings {
        parallel: 1,
        budget: executor::Budget::Count(0),
        wait: args.wait.wait(),
        images: PathBuf::new(),
        windows: &windows,
        // The way back runs now: it is what an incident needs.
        mode: WindowMode::Ignore,
        soak_minutes: (0, 0),
        clock: &crate::clock::SystemClock,
        inventory: (!args.no_write_inventory).then_some(&writer as _),
    };
    let observer = engine::observer();
    let journal = Mutex::new(journal);
    let mut failed = false;
    for fb in &backs {
        let name = executor::group_name(fb.entry);
        match executor::fail_back(
            fb,
            &drivers,
            &connector,
            &settings,
            &journal,
            observer.as_ref(),
        ) {
            Ok(()) => super::out(format!(
                "{name}: rolled back: {} carries traffic again; the rollout will not continue {name}",
                fb.to.0
            ))?,
            Err(e) => {
                failed = true;
                eprintln!("{name}: rollback failed: {e}");
            }
        }
    }
    observer.settle();
    Ok(if failed || refused {
        ExitStatus::Findings
    } else {
        ExitStatus::Success
    })
}
