//! The command line: one file per subcommand, each with `Args` and a `run`, dispatched by one
//! `match`. Arguments become validated domain types here, before any work starts.

mod catalog;
mod device;
mod drivers;
mod engine;
mod evaluate;
mod images;
mod inventory_check;
mod inventory_report;
mod inventory_sync;
mod output;
mod path;
mod plan;
mod progress;
mod reboots;
mod rollback;
mod stage;
mod telemetry;
mod upgrade;
mod verify_fix;
mod versions;

use std::ffi::OsString;
use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};
use jiff::civil::Date;

use crate::ExitStatus;

/// Plan, run and check firmware upgrades for fleets of hardware load balancers.
#[derive(Debug, Parser)]
#[command(name = "lbfleet", version, about, max_term_width = 100)]
pub struct Cli {
    /// Use the catalog files in DIR instead of the built-in catalog.
    #[arg(long, global = true, value_name = "DIR", env = "LBFLEET_CATALOG")]
    catalog: Option<PathBuf>,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Work with vendor version strings.
    #[command(subcommand)]
    Versions(versions::Command),
    /// Show what lbfleet knows: models, releases, upgrade rules, defects.
    Catalog(catalog::Args),
    /// Show the vendor-supported upgrade path between two versions.
    Path(path::Args),
    /// Work with one device over SSH.
    #[command(
        after_help = "Writes: nothing locally, except the known_hosts file when \
        --accept-new-host-keys records a key."
    )]
    Device(Box<device::Args>),
    /// Show vendor drivers and the commands they would run.
    Drivers(drivers::Args),
    /// Maintain the firmware image folder and its manifest.
    #[command(after_help = "Writes: `add`: the image copied into the folder and its manifest.csv.")]
    Images(images::Args),
    /// Find memory leaks, reboot intervals, projected peaks and the hardware that carries them.
    #[command(
        after_help = "Writes: devices.csv, candidates.csv, report.md and SVG charts in -o DIR \
        (default reports/evaluation/)."
    )]
    Evaluate(Box<evaluate::Args>),
    /// Upload and verify every image a plan's devices need, ahead of the maintenance windows.
    #[command(
        after_help = "Writes: the images on the devices, PLAN.stage.journal beside the plan \
        (PLAN.stage.lock while it runs), and .IMAGE.HOST_PORT.parts beside an image while a \
        multi-stream upload of it is unfinished."
    )]
    Stage(Box<stage::Args>),
    /// Run a plan over SSH: waves, HA order, failure budget, journal, resume.
    #[command(
        after_help = "Writes: PLAN.journal, PLAN.lock while it runs, the run report \
        PLAN.report.md and each device's configuration backup in PLAN.backups/DEVICE/ (--backups \
        DIR), beside the plan; the devices' version and ha_role in the inventory CSV; --restart \
        keeps the old journal as PLAN.journal.YYYYMMDDTHHMMSSZ."
    )]
    Upgrade(Box<upgrade::Args>),
    /// Where a rollout stands, from its journal.
    Status(upgrade::StatusArgs),
    /// Return groups a rollout changed to the releases they ran before it: reboots into the
    /// previous volume in HA-safe order, with a checked failover; the rollout does not continue
    /// them.
    #[command(
        after_help = "Writes: PLAN.journal (the rollback), the run report PLAN.report.md, the units' version and ha_role in the inventory CSV; PLAN.lock while it runs."
    )]
    Rollback(Box<rollback::Args>),
    /// Did the upgrade fix the leak? Memory slopes after the upgrade against before and a
    /// control group: fixed, not-fixed, or inconclusive with the days of data still needed.
    #[command(
        name = "verify-fix",
        after_help = "Writes: verdicts.csv, report.md and a before/after SVG chart per device in -o \
        DIR (default reports/verify-fix/).\n\nExit status: 0 when every model's new release is \
        fixed, 1 when one is not fixed or inconclusive, 2 for bad input."
    )]
    VerifyFix(Box<verify_fix::Args>),
    /// Plan and run recurring HA-safe reboots of leaking devices (the weekly-reboot mitigation).
    #[command(
        after_help = "Writes: `plan`: reboots.json, or -o FILE.json (an earlier schedule from \
        other inputs is kept beside it); -o FILE.ics|.csv|.txt writes that rendering and the schedule as \
        FILE.json. `run`: \
        SCHEDULE.journal, SCHEDULE.lock while it runs, and the run report SCHEDULE.report.md."
    )]
    Reboots(reboots::Args),
    /// Plan a staged rollout: canary, waves, HA order, maintenance windows.
    #[command(
        after_help = "Writes: plan.json, or -o FILE.json (an earlier plan from other inputs is kept \
        beside it as plan.json.YYYYMMDDTHHMMSSZ); -o FILE.md|.txt writes that rendering and the plan \
        as FILE.json."
    )]
    Plan(Box<plan::Args>),
    /// Check the fleet inventory or report on it.
    #[command(subcommand)]
    Inventory(InventoryCommand),
}

#[derive(Debug, Subcommand)]
enum InventoryCommand {
    /// Validate inventory files; exit 0 clean (warnings allowed), 1 findings, 2 unreadable.
    Check(inventory_check::Args),
    /// One row per device: advisories, target, upgrade path and action.
    #[command(after_help = "Writes: -o FILE only (the format from its extension).")]
    Report(inventory_report::Args),
    /// Read version and HA role from every device (read-only, over SSH) and show where the
    /// inventory differs; exit 1 when it does.
    #[command(
        after_help = "Writes: with --apply, the cells that differ in the devices' \
        inventory CSV rows (nothing else in the file changes)."
    )]
    Sync(Box<inventory_sync::Args>),
}

/// What every subcommand may need.
pub(crate) struct Ctx {
    catalog_dir: Option<PathBuf>,
}

impl Ctx {
    /// The catalog: from `--catalog DIR`, else the built-in one.
    pub fn catalog(&self) -> anyhow::Result<crate::catalog::Catalog> {
        Ok(match &self.catalog_dir {
            Some(dir) => crate::catalog::Catalog::from_dir(dir)?,
            None => {
                crate::catalog::Catalog::embedded().context("the built-in catalog is broken")?
            }
        })
    }
}

impl Ctx {
    /// `embedded` or the catalog folder, for the record.
    pub fn catalog_source(&self) -> String {
        self.catalog_dir
            .as_ref()
            .map_or_else(|| "embedded".into(), |d| d.display().to_string())
    }
}

/// Loads the inventory under `paths`. When it has errors, prints each (and, with `consequence`,
/// "the inventory has errors (see `lbfleet inventory check`)" followed by it) and returns `None`.
pub(crate) fn load_inventory(
    catalog: &crate::catalog::Catalog,
    paths: &[PathBuf],
    consequence: Option<&str>,
) -> anyhow::Result<Option<crate::inventory::Inventory>> {
    let inv = crate::inventory::load(paths, catalog)?;
    if !inv.has_errors() {
        return Ok(Some(inv));
    }
    for f in inv
        .findings
        .iter()
        .filter(|f| f.severity == crate::inventory::Severity::Error)
    {
        eprintln!("{f}");
    }
    if let Some(c) = consequence {
        eprintln!("the inventory has errors (see `lbfleet inventory check`){c}");
    }
    Ok(None)
}

/// Today's date on this machine's clock (in its local zone), the default for `--as-of`.
pub(crate) fn today() -> Date {
    use crate::clock::{Clock, SystemClock};
    SystemClock
        .now()
        .to_zoned_datetime(jiff::tz::TimeZone::system())
        .date()
}

/// Writes a line to stdout, reporting a closed pipe as an error the caller maps to success.
pub(crate) fn out(line: impl std::fmt::Display) -> anyhow::Result<()> {
    writeln!(std::io::stdout().lock(), "{line}")?;
    Ok(())
}

/// Parses the arguments and runs the subcommand.
pub fn run<I, T>(args: I) -> anyhow::Result<ExitStatus>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            // Help and version go to stdout with 0; usage errors to stderr with 2.
            let _ = e.print();
            return Ok(if e.use_stderr() {
                ExitStatus::Input
            } else {
                ExitStatus::Success
            });
        }
    };
    let ctx = Ctx {
        catalog_dir: cli.catalog,
    };
    match cli.command {
        Command::Versions(cmd) => versions::run(&cmd),
        Command::Catalog(args) => catalog::run(&ctx, &args),
        Command::Path(args) => path::run(&ctx, &args),
        Command::Plan(args) => plan::run(&ctx, &args),
        Command::Reboots(args) => reboots::run(&ctx, &args),
        Command::Upgrade(args) => upgrade::run(&ctx, &args),
        Command::Status(args) => upgrade::status(&args),
        Command::Rollback(args) => rollback::run(&ctx, &args),
        Command::Stage(args) => stage::run(&ctx, &args),
        Command::Evaluate(args) => evaluate::run(&ctx, &args),
        Command::VerifyFix(args) => verify_fix::run(&ctx, &args),
        Command::Drivers(args) => drivers::run(&args),
        Command::Device(args) => device::run(&ctx, &args),
        Command::Images(args) => images::run(&args),
        Command::Inventory(InventoryCommand::Check(args)) => inventory_check::run(&ctx, &args),
        Command::Inventory(InventoryCommand::Report(args)) => inventory_report::run(&ctx, &args),
        Command::Inventory(InventoryCommand::Sync(args)) => inventory_sync::run(&ctx, &args),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_command_that_writes_files_says_which_in_its_help() {
        use clap::CommandFactory;
        // Commands that only read and print.
        let read_only = ["versions", "catalog", "path", "drivers", "status", "check"];
        let cli = super::Cli::command();
        let mut leaves = Vec::new();
        for c in cli.get_subcommands() {
            if c.get_name() == "inventory" {
                leaves.extend(c.get_subcommands());
            } else {
                leaves.push(c);
            }
        }
        assert!(leaves.len() >= 13, "{}", leaves.len());
        for c in leaves {
            let writes = c
                .get_after_help()
                .is_some_and(|h| h.to_string().starts_with("Writes: "));
            assert_eq!(
                writes,
                !read_only.contains(&c.get_name()),
                "{}: {:?}",
                c.get_name(),
                c.get_after_help()
            );
        }
    }
}
