//! `lbfleet rollback PLAN (--group G | --device D | --wave N)`: returns what this rollout
//! changed to the releases the plan found it on, HA-safely: the units not carrying traffic are
//! rebooted into the volume that still holds their old release, traffic fails over to one of
//! them (checked like every failover), then the unit that carried it goes back too. Through
//! the same engine as `upgrade`: lock, consent, windows (`--ignore-windows` in an emergency),
//! journal (an interrupted rollback is continued by running it again), progress, inventory.

use std::io::{BufRead, IsTerminal};
use std::path::PathBuf;
use std::sync::Mutex;

use super::Ctx;
use super::device::SshArgs;
use super::engine::{self, Lock, SshConnector, WaitArgs};
use crate::ExitStatus;
use crate::driver::Drivers;
use crate::executor::journal::{Event, Journal};
use crate::executor::{self, BackOut, BackStep, Settings, WindowMode};
use crate::planner::Durations;
use crate::version::Vendor;

#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("what").required(true).multiple(true)))]
pub struct Args {
    /// The plan file whose rollout is rolled back.
    plan: PathBuf,
    /// An HA group (or a standalone device) to roll back: every unit this rollout changed, and
    /// the pair's roles as before (repeatable; a group that cannot be rolled back is refused and
    /// the others go on).
    #[arg(long, value_name = "G", group = "what")]
    group: Vec<String>,
    /// One device to roll back (repeatable): its reboot into the old release, after a failover
    /// away from it when it carries its pair's traffic (refused when that needs its peer taken
    /// back too: use --group).
    #[arg(long, value_name = "D", group = "what")]
    device: Vec<String>,
    /// Every group of wave N, each whole (whichever wave upgraded each unit).
    #[arg(long, value_name = "N", group = "what")]
    wave: Option<usize>,
    /// Check every unit and print the exact commands; change nothing.
    #[arg(long)]
    dry_run: bool,
    /// Do not ask before the change (needed without a terminal).
    #[arg(long)]
    yes: bool,
    /// Start now, whatever the sites' maintenance windows say (an emergency; recorded in the
    /// journal). By default a group waits, counting down, for a window long enough for its way
    /// back.
    #[arg(long)]
    ignore_windows: bool,
    /// Leave the inventory as it is (by default each unit's version and both roles are
    /// written back).
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

/// The groups (and, with `--device`, the one unit of each) the arguments select, or the
/// message for an unknown name.
fn selection(
    plan: &crate::planner::Plan,
    args: &Args,
) -> Result<Vec<(String, Option<String>)>, String> {
    let path = args.plan.display();
    let entries = || {
        plan.waves
            .iter()
            .flat_map(|w| w.groups.iter().map(move |g| (w, g)))
    };
    let known: Vec<String> = entries().map(|(_, g)| executor::group_name(g)).collect();
    let mut out: Vec<(String, Option<String>)> = Vec::new();
    let mut add = |g: String, d: Option<String>| {
        if !out.contains(&(g.clone(), d.clone())) {
            out.push((g, d));
        }
    };
    for g in &args.group {
        if !known.contains(g) {
            let hint = crate::suggest::did_you_mean(g, known.iter().map(String::as_str));
            return Err(format!("{path}: no group {g} in the plan{hint}"));
        }
        add(g.clone(), None);
    }
    for d in &args.device {
        let owner = entries().find(|(_, g)| {
            g.devices.iter().any(|x| &x.name == d)
                || g.steps.iter().any(|s| match s {
                    crate::planner::file::Step::Failover { to, from, .. } => {
                        to == d || from.as_ref() == Some(d)
                    }
                    _ => false,
                })
        });
        match owner {
            Some((_, g)) => add(executor::group_name(g), Some(d.clone())),
            None => {
                let names: Vec<&str> = entries()
                    .flat_map(|(_, g)| g.devices.iter().map(|x| x.name.as_str()))
                    .collect();
                let hint = crate::suggest::did_you_mean(d, names);
                return Err(format!("{path}: no device {d} in the plan{hint}"));
            }
        }
    }
    if let Some(n) = args.wave {
        let waves: Vec<usize> = plan.waves.iter().map(|w| w.index).collect();
        if !waves.contains(&n) {
            return Err(format!(
                "{path}: no wave {n} in the plan (its waves: {})",
                waves
                    .iter()
                    .map(usize::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        for (_, g) in entries().filter(|(w, _)| w.index == n) {
            add(executor::group_name(g), None);
        }
    }
    Ok(out)
}

/// Minutes a group's way back takes, by the plan's step durations.
fn minutes(plan: &crate::planner::Plan, bo: &BackOut<'_>) -> i64 {
    let durations = Durations {
        rows: plan.options.durations.clone(),
    };
    let Some(d) = bo.entry.devices.first() else {
        return 0;
    };
    match d.vendor.parse::<Vendor>() {
        Ok(v) => bo.minutes(&durations.of(v, &d.model)),
        Err(_) => 0,
    }
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
    let selected = match selection(&plan, args) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{e}");
            return Ok(ExitStatus::Input);
        }
    };
    if !jpath.exists() {
        eprintln!(
            "{}: no journal: this plan has not run, so there is nothing to roll back",
            jpath.display()
        );
        return Ok(ExitStatus::Findings);
    }
    let drivers = Drivers::load(args.ssh.drivers.as_deref())?;
    let _lock = if args.dry_run {
        None
    } else {
        Some(Lock::take(&jpath)?)
    };
    let journal = Journal::open(&jpath)?;
    // Every group's way back is found from the journal, then read on its devices, before
    // anything changes; a group without one is refused and the others go on (in an incident,
    // one wrong name must not hold the rest). A group with nothing to do is not a failure.
    let mut refused = false;
    let mut nothing = |why: &executor::NoWayBack| -> anyhow::Result<()> {
        match why {
            executor::NoWayBack::Nothing(m) => super::out(format!("{m}: nothing to do")),
            executor::NoWayBack::Refused(m) => {
                eprintln!("{m}: nothing done");
                refused = true;
                Ok(())
            }
        }
    };
    let connector = SshConnector::new(&args.ssh)?;
    let mut ready = Vec::new();
    for (g, device) in &selected {
        let mut found = executor::back_out(&plan.waves, &journal.entries, g);
        // Where the traffic really is: a failover by hand since the journal's last word.
        if let Ok(bo) = &found {
            match executor::carrier_now(bo, &drivers, &connector) {
                Ok(Some(now)) if Some(&now) != bo.carrier.as_ref() => {
                    super::out(format!(
                        "{g}: the devices say {now} carries the traffic (not what the journal says: a failover by hand?); the way back starts from there"
                    ))?;
                    found = executor::back_out_from(&plan.waves, &journal.entries, g, Some(&now));
                }
                Ok(_) => {}
                Err(why) => found = Err(executor::NoWayBack::Refused(why)),
            }
        }
        let found = found.and_then(|bo| match device {
            None => Ok(bo),
            Some(d) => bo.only(d),
        });
        let bo = match found {
            Ok(bo) => bo,
            Err(why) => {
                nothing(&why)?;
                continue;
            }
        };
        match executor::check_back_out(&bo, &drivers, &connector) {
            Ok(commands) => ready.push((bo, commands)),
            Err(why) => nothing(&executor::NoWayBack::Refused(format!(
                "{}: cannot roll back: {why}",
                bo.group
            )))?,
        }
    }
    if ready.is_empty() {
        return Ok(if refused {
            ExitStatus::Findings
        } else {
            ExitStatus::Success
        });
    }
    if args.dry_run {
        let mut blocked = false;
        for (bo, commands) in &ready {
            super::out(format!(
                "{}: {} (about {} min)",
                bo.group,
                bo.describe().join(", then "),
                minutes(&plan, bo)
            ))?;
            blocked |= dry_run(bo, commands, &drivers, &connector)?;
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
        for (bo, _) in &ready {
            eprintln!("{}: {}", bo.group, bo.describe().join(", then "));
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
    engine::on_ctrl_c_finish_steps();
    let journal = Mutex::new(journal);
    if args.ignore_windows {
        journal.lock().expect("journal").record(
            Event::Note,
            &[
                ("what", "ignore-windows"),
                ("detail", "rollback started outside the maintenance windows"),
            ],
        )?;
    }
    let settings = Settings {
        parallel: 1,
        budget: executor::Budget::Count(0),
        wait: args.wait.wait(),
        images: PathBuf::new(),
        windows: &windows,
        mode: if args.ignore_windows {
            WindowMode::Ignore
        } else {
            WindowMode::Wait
        },
        soak_minutes: (0, 0),
        clock: &crate::clock::SystemClock,
        inventory: (!args.no_write_inventory).then_some(&writer as _),
        backups: None,
        gate: None,
    };
    let observer = engine::observer();
    let mut failed = false;
    for (bo, _) in &ready {
        let name = &bo.group;
        match executor::roll_back(
            bo,
            &drivers,
            &connector,
            &settings,
            &journal,
            observer.as_ref(),
            minutes(&plan, bo),
        ) {
            Ok(()) => {
                observer.settle();
                let units: Vec<String> = bo
                    .reverts()
                    .map(|r| format!("{} on {}", r.device, r.old))
                    .collect();
                let carrier = bo
                    .carrier_after()
                    .map(|c| format!("; {c} carries traffic"))
                    .unwrap_or_default();
                super::out(format!(
                    "{name}: rolled back: {}{carrier}; the rollout will not continue {name}",
                    units.join(", ")
                ))?
            }
            Err(e) => {
                observer.settle();
                failed = true;
                eprintln!(
                    "{name}: rollback stopped: {e} (running the same rollback again continues it)"
                );
            }
        }
    }
    observer.settle();
    // The run report beside the plan, from the whole journal: the rollout and its rollback.
    let entries = journal.into_inner().expect("journal").entries;
    let report = engine::report_path(&None, &args.plan);
    crate::fsutil::write_atomic(
        &report,
        crate::executor::report::markdown(&plan, &args.plan.display().to_string(), &entries)
            .as_bytes(),
    )?;
    super::out(format!("report {}", report.display()))?;
    Ok(if failed || refused {
        ExitStatus::Findings
    } else {
        ExitStatus::Success
    })
}

/// Prints a group's way back as a dry run: per step, the checks that gate it now and the exact
/// command. Whether a check would stop it.
fn dry_run(
    bo: &BackOut<'_>,
    commands: &[(String, Option<String>)],
    drivers: &Drivers,
    connector: &SshConnector,
) -> anyhow::Result<bool> {
    let mut blocked = false;
    let mut reverted: Vec<&str> = Vec::new();
    let mut moved = false;
    for step in &bo.steps {
        match step {
            BackStep::Revert(r) => {
                let line = commands
                    .iter()
                    .find(|(d, _)| *d == r.device)
                    .and_then(|(_, l)| l.clone());
                let result = executor::dry_run_revert(bo, r, drivers, connector, moved).map(|checks| {
                    let lines = match line {
                        Some(l) => vec![
                            format!("# on {} ({}):", r.device, r.mgmt_host),
                            l,
                            format!(
                                "# until it answers again on {}, {} as before, in sync and healthy",
                                r.old,
                                r.role.id()
                            ),
                        ],
                        None => vec![format!("# {} runs {} already: nothing to do", r.device, r.old)],
                    };
                    (checks, lines)
                });
                blocked |= engine::print_dry_run(&r.device, result)?;
                reverted.push(&r.device);
            }
            BackStep::Failover(f) => {
                // A taker rebooted back just before is checked then, not now.
                let now = !reverted.contains(&f.to.0.as_str());
                blocked |= engine::print_dry_run(
                    &format!("failover to {}", f.to.0),
                    executor::dry_run_failover(
                        drivers,
                        connector,
                        f.entry,
                        (&f.to.0, &f.to.1),
                        Some((&f.from.0, &f.from.1)),
                        now,
                        Some(&f.old),
                    ),
                )?;
                moved = true;
            }
        }
    }
    Ok(blocked)
}
