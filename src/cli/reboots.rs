//! `lbfleet reboots plan [PATH...]`: a recurring, HA-safe reboot schedule for leaking devices;
//! `lbfleet reboots run SCHEDULE --due`: run the reboots due now with the rollout engine.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use jiff::Timestamp;

use super::Ctx;
use super::device::SshArgs;
use super::engine::{self, Lock, SshConnector, WaitArgs};
use super::inventory_check::paths_or_default;
use super::plan::StartTime;
use super::telemetry::TelemetryArgs;
use crate::ExitStatus;
use crate::clock::{Clock, SystemClock};
use crate::driver::Drivers;
use crate::executor::journal::{self, Event, Journal};
use crate::executor::{self, Budget, Settings};
use crate::images::Manifest;
use crate::planner::{Durations, Provenance};
use crate::reboots::{self, Evidence, Interval, Leak, Schedule};
use crate::report::{Cell, Table};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Schedule reboots of devices with a known memory-leak defect or a measured leak.
    Plan(Box<PlanArgs>),
    /// Run the reboots of a schedule that are due now: journaled, HA-safe, memory checked.
    Run(Box<RunArgs>),
}

#[derive(Debug, clap::Args)]
struct PlanArgs {
    /// Inventory folders or files (default: inventories/).
    #[arg(value_name = "PATH")]
    paths: Vec<PathBuf>,
    /// Memory telemetry (as for `lbfleet evaluate`): leaks found there get reboots too, and
    /// `--interval auto` takes each group's interval from it.
    #[command(flatten)]
    telemetry: TelemetryArgs,
    /// Days between reboots (`7d`, `3d`, `2w`), or `auto`: the evaluator's recommended interval
    /// for the group's fastest leak (weekly where no telemetry tells).
    #[arg(long, value_name = "DURATION|auto", default_value = "7d")]
    interval: Interval,
    /// First possible reboot: RFC 3339 or a UTC date [default: now].
    #[arg(long, value_name = "DATETIME")]
    from: Option<StartTime>,
    /// Weeks to schedule.
    #[arg(long, value_name = "N", default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=104))]
    weeks: u32,
    /// Groups of one site rebooting at the same time, at most.
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    max_per_site: u32,
    /// An upgrade plan (`lbfleet plan`): a device whose planned upgrade installs a release
    /// without its leak defects gets no reboots after that upgrade.
    #[arg(long, value_name = "FILE")]
    upgrade_plan: Option<PathBuf>,
    /// Step durations CSV (as for `lbfleet plan`).
    #[arg(long, value_name = "FILE")]
    durations: Option<PathBuf>,
    /// Count only these catalog defects (the one you are hitting), not every leak defect of a
    /// version (repeatable or comma-separated ids, as `lbfleet catalog` shows them).
    #[arg(long, value_name = "ID", value_delimiter = ',')]
    defect: Vec<String>,
    /// Write to FILE (atomically) instead of stdout: the schedule when FILE is JSON, else the
    /// --format rendering (the schedule then goes beside it, as FILE.json).
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// A table of steps, CSV, the schedule JSON, or an iCalendar file [default: from the -o
    /// extension (.json, .csv, .ics, .txt), else table].
    #[arg(long, value_enum)]
    format: Option<PrintFormat>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum PrintFormat {
    Table,
    Csv,
    Json,
    Ics,
}

#[derive(Debug, clap::Args)]
struct RunArgs {
    /// The schedule file (from `lbfleet reboots plan`).
    schedule: PathBuf,
    /// Run the group reboots whose planned start has come and whose window is still open.
    /// Without it, only show what is due, missed and next.
    #[arg(long)]
    due: bool,
    /// Take this instant as now (RFC 3339 or a UTC date-time) [default: the clock].
    #[arg(long, value_name = "DATETIME")]
    now: Option<StartTime>,
    /// Connect and run only the read-only pre-checks of the due devices; print the commands.
    #[arg(long)]
    dry_run: bool,
    /// Groups rebooted at once (the schedule's per-site cap still holds).
    #[arg(long, value_name = "N", default_value_t = 4)]
    parallel: usize,
    /// Failed groups tolerated before nothing new starts: a count or a share (`5%`).
    #[arg(long, value_name = "N|P%", default_value = "0")]
    max_failures: Budget,
    /// Go on after a failure recorded in the journal (once the device is fixed).
    #[arg(long)]
    resume: bool,
    /// Reboot groups even where their window has closed or has too little left (an emergency;
    /// recorded in the journal and the report).
    #[arg(long)]
    ignore_windows: bool,
    /// Leave the inventory as it is: by default each verified failover writes both units'
    /// roles into their CSV rows.
    #[arg(long)]
    no_write_inventory: bool,
    /// Run a schedule that no longer matches the inventory.
    #[arg(long)]
    force: bool,
    /// The journal [default: the schedule's path with `.journal`].
    #[arg(long, value_name = "FILE")]
    journal: Option<PathBuf>,
    /// Inventory folders or files [default: the paths recorded in the schedule].
    #[arg(long, value_name = "PATH", num_args = 1..)]
    inventory: Vec<PathBuf>,
    /// Where to write the Markdown run report [default: beside the schedule, SCHEDULE.report.md].
    #[arg(long, value_name = "FILE")]
    report: Option<PathBuf>,
    #[command(flatten)]
    wait: WaitArgs,
    #[command(flatten)]
    ssh: SshArgs,
}

pub fn run(ctx: &Ctx, args: &Args) -> anyhow::Result<ExitStatus> {
    match &args.command {
        Command::Plan(a) => plan(ctx, a),
        Command::Run(a) => run_due(ctx, a),
    }
}

/// Leaks per device from telemetry: `Some` leak or `None` (analysed, no leak).
fn telemetry_evidence(
    telemetry: Option<crate::evaluator::telemetry::Telemetry>,
    inv: &crate::inventory::Inventory,
    catalog: &crate::catalog::Catalog,
) -> anyhow::Result<crate::HashMap<String, Option<Leak>>> {
    let mut out = crate::HashMap::default();
    let Some(telemetry) = telemetry else {
        return Ok(out);
    };
    let opts = crate::evaluator::Options {
        telemetry: Vec::new(),
        skip_bad_rows: false,
        settings: crate::evaluator::analysis::Settings::default(),
        headroom: 0.3,
        candidates: Vec::new(),
        dims: crate::evaluator::candidates::Dims::ALL,
        candidates_from: String::new(),
        journals: Vec::new(),
    };
    let e = crate::evaluator::evaluate_with(&opts, telemetry, Some(inv), catalog)?;
    for d in e.devices {
        let Some(m) = d.memory else { continue };
        let leak = m.leak.then(|| Leak {
            bytes_per_day: m.line.map_or(0.0, |l| l.slope),
            interval_days: m.reboot_interval_days,
        });
        out.insert(d.name, leak);
    }
    Ok(out)
}

/// Per device of an upgrade plan: when its planned upgrade ends and on which release, and
/// each (start, end) its group works on it.
type UpgradeEvidence = (
    crate::HashMap<String, (Timestamp, String)>,
    crate::HashMap<String, Vec<(Timestamp, Timestamp)>>,
);

fn upgrade_evidence(path: &Path) -> anyhow::Result<UpgradeEvidence> {
    let plan = crate::planner::check::load(path)?;
    let (mut ends, mut work) = (crate::HashMap::default(), crate::HashMap::default());
    for (_, g, d) in plan.devices() {
        let (Ok(start), Ok(end)) = (g.start.parse::<Timestamp>(), g.end.parse::<Timestamp>())
        else {
            continue;
        };
        work.entry(d.name.clone())
            .or_insert_with(Vec::new)
            .push((start, end));
        if let Some(to) = d.path.last() {
            ends.insert(d.name.clone(), (end, to.clone()));
        }
    }
    Ok((ends, work))
}

fn table(s: &Schedule) -> Table {
    let mut t = Table::new(&[
        "round",
        "site",
        "ha_group",
        "step",
        "device",
        "role",
        "site time",
        "start (UTC)",
        "version",
        "minutes",
    ]);
    for r in &s.rounds {
        for g in &r.groups {
            // Each reboot entry fails over and back: it starts from the planned roles.
            crate::planner::export::step_rows(
                g,
                &[Cell::Int(r.index as i64)],
                &mut t,
                true,
                &mut Default::default(),
            );
        }
    }
    t
}

fn summary(s: &Schedule) -> Vec<String> {
    let groups: std::collections::BTreeSet<String> = s
        .rounds
        .iter()
        .flat_map(|r| r.groups.iter().map(executor::group_name))
        .collect();
    let mut out = vec![format!(
        "{} devices in {} groups get reboots: {} group reboots over {} weeks from {}",
        s.devices.len(),
        groups.len(),
        s.group_reboots(),
        s.options.weeks,
        s.options.from
    )];
    for d in &s.devices {
        out.push(format!(
            "  {} ({}): every {} days ({}), {}{}",
            d.name,
            d.site,
            d.interval_days,
            d.interval_source,
            d.reasons.join(", "),
            match (&d.fixed_after, &d.fixed_by) {
                (Some(t), Some(v)) => format!("; ends after its upgrade to {v} ({t})"),
                _ => String::new(),
            }
        ));
    }
    for u in s.unschedulable.iter().chain(&s.skipped) {
        out.push(format!("{} {}: {}: {}", u.code, u.name, u.site, u.reason));
    }
    for l in &s.lints {
        out.push(format!("warning[{}]: {}", l.code, l.message));
    }
    out
}

fn plan(ctx: &Ctx, args: &PlanArgs) -> anyhow::Result<ExitStatus> {
    let to = super::output::destinations(
        args.format,
        args.output.as_deref(),
        PrintFormat::Json,
        PrintFormat::Table,
        "reboots.json",
    )?;
    if let Some(file) = &to.rendered {
        super::output::guard_rendering(file)?;
    }
    let durations = match &args.durations {
        Some(p) => Durations::with_file(p)?,
        None => Durations::default(),
    };
    let catalog = ctx.catalog()?;
    check_defects(&catalog, &args.defect)?;
    let paths = paths_or_default(&args.paths);
    let Some(inv) = super::load_inventory(&catalog, &paths, Some(": no schedule written"))? else {
        return Ok(ExitStatus::Findings);
    };
    let now = SystemClock.now();
    let (upgrades, upgrading) = match &args.upgrade_plan {
        Some(p) => upgrade_evidence(p)?,
        None => Default::default(),
    };
    let (sources, telemetry) = match args.telemetry.load()? {
        Some((source, t)) => (source.describe(), Some(t)),
        None => (Vec::new(), None),
    };
    let ev = Evidence {
        telemetry: telemetry_evidence(telemetry, &inv, &catalog)?,
        upgrades,
        upgrading,
        telemetry_files: sources,
        upgrade_plan: args.upgrade_plan.as_ref().map(|p| p.display().to_string()),
    };
    let opts = reboots::Options {
        from: args.from.map_or(now, |f| f.0),
        weeks: args.weeks,
        interval: args.interval,
        max_per_site: args.max_per_site as usize,
        durations,
        defects: args.defect.clone(),
    };
    let prov = Provenance {
        paths: paths.iter().map(|p| p.display().to_string()).collect(),
        catalog_source: ctx.catalog_source(),
        created: now,
    };
    let s = reboots::build(&inv, &catalog, &opts, &ev, &prov);
    let json = serde_json::to_string_pretty(&s)? + "\n";
    let saved = super::output::save(&to.saved, "schedule", |w| {
        std::io::Write::write_all(w, json.as_bytes())
    })?;
    let render = |format| -> anyhow::Result<Vec<u8>> {
        Ok(match format {
            PrintFormat::Json => json.clone().into_bytes(),
            PrintFormat::Ics => reboots::ics::calendar(&s, &to.saved).into_bytes(),
            PrintFormat::Csv => crate::report::Format::Csv.exporter().export(&table(&s))?,
            PrintFormat::Table => {
                let mut bytes = crate::report::Format::Table.exporter().export(&table(&s))?;
                bytes.push(b'\n');
                for line in summary(&s) {
                    bytes.extend_from_slice(line.as_bytes());
                    bytes.push(b'\n');
                }
                bytes
            }
        })
    };
    to.write_rendering(render)?;
    crate::report::emit(&render(to.shown)?, None)?;
    eprintln!("{}", saved.message("schedule", &to.saved));
    Ok(ExitStatus::Success)
}

/// Every `--defect` must be a memory defect of the catalog: reboots mitigate nothing else, and a
/// security defect would silently schedule nothing.
fn check_defects(catalog: &crate::catalog::Catalog, ids: &[String]) -> anyhow::Result<()> {
    for id in ids {
        let Some(d) = catalog
            .defects
            .iter()
            .find(|d| d.id.eq_ignore_ascii_case(id))
        else {
            anyhow::bail!(
                "--defect {id}: not in the catalog{} (see `lbfleet catalog defects`)",
                crate::suggest::did_you_mean(id, catalog.defects.iter().map(|d| d.id.as_str()))
            );
        };
        if !reboots::LEAK_KINDS.contains(&d.kind.as_str()) {
            anyhow::bail!(
                "--defect {id}: {} is a {} defect, not a memory defect (\"{}\"); reboots mitigate only {} defects",
                d.id,
                d.kind,
                d.title,
                reboots::LEAK_KINDS.join(" and ")
            );
        }
    }
    Ok(())
}

fn journal_path(schedule: &Path, given: &Option<PathBuf>) -> PathBuf {
    given
        .clone()
        .unwrap_or_else(|| schedule.with_extension("journal"))
}

/// Whether the journal finished every step of round `k`'s reboot of `g`.
fn group_finished(entries: &[journal::Entry], k: usize, g: &crate::planner::file::Group) -> bool {
    let name = executor::group_name(g);
    let wave = k.to_string();
    let done = |e: &&journal::Entry| {
        matches!(e.event, Event::Done | Event::Skip)
            && e.get("wave") == Some(wave.as_str())
            && e.get("group") == Some(name.as_str())
    };
    let steps = entries.iter().filter(done).count();
    steps >= g.steps.len()
}

fn run_due(ctx: &Ctx, args: &RunArgs) -> anyhow::Result<ExitStatus> {
    let s = Schedule::load(&args.schedule)?;
    let now = args.now.map_or_else(|| SystemClock.now(), |n| n.0);
    let recorded: Vec<PathBuf> = s.inventory.paths.iter().map(PathBuf::from).collect();
    let paths = if args.inventory.is_empty() {
        paths_or_default(&recorded)
    } else {
        args.inventory.clone()
    };
    let catalog = ctx.catalog()?;
    let Some(inv) = super::load_inventory(&catalog, &paths, Some(": nothing run"))? else {
        return Ok(ExitStatus::Findings);
    };
    // The schedule must still be true of the fleet (each device once).
    let mut seen = std::collections::HashSet::new();
    let devices = s
        .rounds
        .iter()
        .flat_map(|r| &r.groups)
        .flat_map(|g| g.devices.iter().map(move |d| (g, d)))
        .filter(|(_, d)| seen.insert(d.name.clone()));
    let jpath = journal_path(&args.schedule, &args.journal);
    let groups: Vec<_> = s
        .rounds
        .iter()
        .flat_map(|r| r.groups.iter().map(move |g| (r.index, g)))
        .collect();
    let done = engine::journaled(&jpath, &groups)?;
    let diffs = crate::planner::check::check_devices(devices, &inv, &done);
    if !diffs.is_empty() {
        for d in &diffs {
            eprintln!("{}: {d}", args.schedule.display());
        }
        if !args.force {
            eprintln!(
                "the schedule no longer matches the fleet: plan the reboots again, or run anyway with --force"
            );
            return Ok(ExitStatus::Findings);
        }
    }
    let entries = if jpath.exists() {
        Journal::read(&jpath)?
    } else {
        Vec::new()
    };
    let due: Vec<_> = reboots::due(&s, now)
        .into_iter()
        .map(|mut w| {
            w.groups.retain(|g| !group_finished(&entries, w.index, g));
            w
        })
        .filter(|w| !w.groups.is_empty())
        .collect();
    let missed = reboots::missed(&s, now, &|k, g| group_finished(&entries, k, g));
    for (k, g) in &missed {
        eprintln!(
            "missed: round {k} of {} at {} (window {} to {}) did not finish",
            executor::group_name(g),
            g.site,
            g.window_start,
            g.window_end
        );
    }
    let mut t = Table::new(&["round", "group", "site", "start", "window closes", "steps"]);
    for w in &due {
        for g in &w.groups {
            t.push(vec![
                Cell::Int(w.index as i64),
                Cell::text(executor::group_name(g)),
                Cell::text(g.site.clone()),
                Cell::text(g.start.clone()),
                Cell::text(g.window_end.clone()),
                Cell::Int(g.steps.len() as i64),
            ]);
        }
    }
    let count: usize = due.iter().map(|w| w.groups.len()).sum();
    if count == 0 {
        let next = s
            .rounds
            .iter()
            .flat_map(|r| &r.groups)
            .filter(|g| g.start.parse::<Timestamp>().is_ok_and(|t| t > now))
            .min_by_key(|g| g.start.parse::<Timestamp>().ok());
        super::out(format!(
            "nothing due at {}{}",
            crate::planner::utc(now),
            next.map(|g| format!(
                "; next: {} at {} ({})",
                executor::group_name(g),
                g.start,
                g.site
            ))
            .unwrap_or_default()
        ))?;
        return Ok(if missed.is_empty() {
            ExitStatus::Success
        } else {
            ExitStatus::Findings
        });
    }
    crate::report::emit(&crate::report::Format::Table.exporter().export(&t)?, None)?;
    if !args.due {
        super::out(format!(
            "{count} group reboot{} due: nothing run (pass --due to run them)",
            if count == 1 { "" } else { "s" }
        ))?;
        return Ok(ExitStatus::Success);
    }
    let drivers = Drivers::load(args.ssh.drivers.as_deref())?;
    let connector = SshConnector::new(&args.ssh)?;
    if args.dry_run {
        return dry_run(&due, &drivers, &connector);
    }
    let _lock = Lock::take(&jpath)?;
    let mut journal = Journal::open(&jpath)?;
    // A failure stops the schedule until someone has looked at the device.
    let unresolved: Vec<&journal::Entry> = journal::last_events(&journal.entries)
        .into_iter()
        .filter(|e| e.event == Event::Fail)
        .collect();
    if !unresolved.is_empty() && !args.resume {
        for e in &unresolved {
            eprintln!(
                "failed earlier: {} {}: {}",
                e.get("group").unwrap_or(""),
                e.get("device").or(e.get("to")).unwrap_or(""),
                e.get("error").unwrap_or("")
            );
        }
        anyhow::bail!(
            "{} records a failed reboot: check the device, then continue with --resume",
            jpath.display()
        );
    }
    engine::on_ctrl_c_finish_steps();
    if args.ignore_windows {
        journal.record(
            Event::Note,
            &[
                ("what", "ignore-windows"),
                ("detail", "group reboots started outside their windows"),
            ],
        )?;
    }
    let clock = crate::clock::FixedClock(now);
    let writer = engine::CsvInventory::new(&inv);
    let settings = Settings {
        parallel: args.parallel.max(1),
        budget: args.max_failures,
        wait: args.wait.wait(),
        images: PathBuf::new(),
        // The window each group was scheduled in, as the schedule says: a group starts only
        // while its window has room for it (the same rule as `upgrade`).
        windows: &executor::PlannedWindows,
        mode: if args.ignore_windows {
            executor::WindowMode::Ignore
        } else {
            executor::WindowMode::Due
        },
        soak_minutes: (0, 0),
        clock: if args.now.is_some() {
            &clock
        } else {
            &crate::clock::SystemClock
        },
        inventory: (!args.no_write_inventory).then_some(&writer as _),
        backups: None,
        gate: None,
    };
    let journal = Mutex::new(journal);
    let observer = engine::observer();
    // Batches only exist to keep the site cap; no question between them (this runs from cron).
    let mut go_on = |_: &executor::WaveReport| true;
    let outcome = executor::run(
        &due,
        &drivers,
        &Manifest::default(),
        &connector,
        &settings,
        &journal,
        &mut go_on,
        observer.as_ref(),
    );
    observer.settle();
    let entries = journal.into_inner().expect("journal").entries;
    engine::finish(
        &outcome,
        &entries,
        &engine::report_path(&args.report, &args.schedule),
        |steps| {
            Ok(format!(
                "# Reboot run report: {}\n\nJournal {}; {count} group reboots due at {}.\n\n{}",
                args.schedule.display(),
                jpath.display(),
                crate::planner::utc(now),
                String::from_utf8(crate::report::Format::Markdown.exporter().export(steps)?)?
            ))
        },
        "group reboots",
        count,
        &jpath,
    )
}

fn dry_run(
    due: &[crate::planner::file::Wave],
    drivers: &Drivers,
    connector: &SshConnector,
) -> anyhow::Result<ExitStatus> {
    let mut blocked = false;
    for w in due {
        for g in &w.groups {
            super::out(format!(
                "round {} {} at {}: {} to {}",
                w.index,
                executor::group_name(g),
                g.site,
                g.start,
                g.end
            ))?;
            for d in &g.devices {
                blocked |= engine::print_dry_run(
                    &d.name,
                    executor::dry_run_reboot(drivers, connector, d),
                )?;
            }
        }
    }
    if blocked {
        eprintln!("dry run: a pre-check would block a reboot");
        return Ok(ExitStatus::Findings);
    }
    Ok(ExitStatus::Success)
}
