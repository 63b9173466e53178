//! `lbfleet plan [PATH...]`: a staged rollout plan from the inventory; `lbfleet plan check
//! PLAN [PATH...]`: is the plan still true of the fleet?

use std::path::PathBuf;
use std::str::FromStr;

use jiff::civil::Date;
use jiff::{SignedDuration, Timestamp};

use super::Ctx;
use super::inventory_check::paths_or_default;
use crate::ExitStatus;
use crate::clock::{Clock, SystemClock};
use crate::inventory::Inventory;
use crate::inventory::report::TargetSpec;
use crate::planner::{self, Durations, Options, Provenance, Selection, Selector};

#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct Args {
    #[command(subcommand)]
    command: Option<Command>,
    /// Inventory folders or files (default: inventories/).
    #[arg(value_name = "PATH")]
    paths: Vec<PathBuf>,
    /// `recommended`, a version (one-vendor fleets), or VENDOR=VERSION[,VENDOR=VERSION...].
    #[arg(long, default_value = "recommended")]
    target: TargetSpec,
    /// Accept a target version the catalog does not list (by default a typo guard: exit 2).
    #[arg(long)]
    allow_unknown_target: bool,
    /// Place nothing before this time: RFC 3339 (`2026-12-01T00:00:00Z`) or a UTC date or
    /// date-time (`2026-12-01`, `2026-12-01T18:00`) [default: now].
    #[arg(long, value_name = "DATETIME")]
    start: Option<StartTime>,
    /// Date for the recommended policy and the end-of-support lint [default: the start date].
    #[arg(long, value_name = "DATE")]
    as_of: Option<Date>,
    /// Write to FILE (atomically) instead of stdout: the plan when FILE is JSON, else the
    /// --format rendering (the plan then goes beside it, as FILE.json).
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// A table of steps, the plan JSON, or Markdown for a change ticket [default: from the -o
    /// extension (.json, .md, .txt), else table].
    #[arg(long, value_enum)]
    format: Option<PrintFormat>,
    /// A driver file replacing the built-in driver of its vendor, for the change ticket's
    /// commands (`--format markdown`).
    #[arg(long, value_name = "FILE")]
    drivers: Option<PathBuf>,
    /// Print only the summary and warnings, not every step (large fleets).
    #[arg(short, long)]
    quiet: bool,
    /// At most N groups (HA groups or standalone devices) per wave.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    max_per_wave: Option<u32>,
    /// At most N groups per site per wave.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    max_per_site: Option<u32>,
    /// Upgrade the two members of an HA group in separate windows (the active one wave later).
    #[arg(long)]
    ha_two_phase: bool,
    /// Leave each HA pair with its roles swapped after the upgrade: by default the former
    /// active, once upgraded, takes traffic back so roles end as the inventory says.
    #[arg(long)]
    no_failback: bool,
    /// The images will be uploaded ahead of the windows (`lbfleet stage`): estimate hops
    /// without the upload, so more groups fit a window.
    #[arg(long)]
    pre_staged: bool,
    /// Start with a regular wave instead of a canary.
    #[arg(long)]
    no_canary: bool,
    /// Wait this long after the canary (`24h`, `2d`, `90m`, `0`) [default: 24h; with `--gate
    /// leak-fixed`, the 3 days of data its verdict needs at least].
    #[arg(long, value_name = "DURATION")]
    canary_soak: Option<Soak>,
    /// Hold the waves after the canary until its verdict says the leak is fixed
    /// (`leak-fixed`, or `leak-fixed:DEFECT` for the devices a catalog defect affects):
    /// recorded in the plan, enforced by `lbfleet upgrade` (see `upgrade --gate`).
    #[arg(long, value_name = "GATE")]
    gate: Option<super::verify_fix::GateSpec>,
    /// Wait this long after every later wave.
    #[arg(long, value_name = "DURATION", default_value = "0")]
    soak: Soak,
    /// Plan only matching devices: site=, model=, vendor=, device= (globs with `*`; repeatable,
    /// different keys must all match).
    #[arg(long, value_name = "KEY=VALUE")]
    only: Vec<Selector>,
    /// Leave out matching devices (repeatable; any match excludes).
    #[arg(long, value_name = "KEY=VALUE")]
    exclude: Vec<Selector>,
    /// Step durations CSV (vendor,model,upload,install,reboot,checks,failover in minutes)
    /// replacing the built-in assumptions.
    #[arg(long, value_name = "FILE")]
    durations: Option<PathBuf>,
    /// Look this many days ahead for maintenance windows.
    #[arg(long, value_name = "DAYS", default_value_t = 366, value_parser = clap::value_parser!(i64).range(1..=3660))]
    horizon: i64,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Re-validate a plan against the current inventory and catalog; exit 1 on differences.
    Check(CheckArgs),
}

#[derive(Debug, clap::Args)]
struct CheckArgs {
    /// The plan file.
    plan: PathBuf,
    /// Inventory folders or files [default: the paths recorded in the plan].
    #[arg(value_name = "PATH")]
    paths: Vec<PathBuf>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum PrintFormat {
    Table,
    Json,
    Markdown,
}

/// `--start`: an instant.
#[derive(Clone, Copy, Debug)]
pub(crate) struct StartTime(pub(crate) Timestamp);

impl FromStr for StartTime {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if let Ok(t) = s.parse::<Timestamp>() {
            return Ok(StartTime(t));
        }
        let civil = s
            .parse::<jiff::civil::DateTime>()
            .or_else(|_| {
                s.parse::<Date>()
                    .map(|d| d.to_datetime(jiff::civil::Time::midnight()))
            })
            .map_err(|_| {
                format!(
                    "\"{s}\": expected RFC 3339 (2026-12-01T18:00:00Z) or a UTC date (2026-12-01)"
                )
            })?;
        civil
            .to_zoned_datetime(jiff::tz::TimeZone::UTC)
            .map(|z| StartTime(z.timestamp()))
            .map_err(|e| e.to_string())
    }
}

/// A duration such as `24h`, `1d12h`, `90m`, `2w` or `0`.
#[derive(Clone, Copy, Debug)]
struct Soak(SignedDuration);

impl FromStr for Soak {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || format!("\"{s}\": expected a duration such as 24h, 1d12h, 90m or 0");
        let t = s.trim().to_ascii_lowercase();
        if t == "0" {
            return Ok(Soak(SignedDuration::ZERO));
        }
        let mut minutes: i64 = 0;
        let mut num = String::new();
        for c in t.chars() {
            if c.is_ascii_digit() {
                num.push(c);
                continue;
            }
            let n: i64 = num.parse().map_err(|_| err())?;
            num.clear();
            let unit = match c {
                'm' => 1,
                'h' => 60,
                'd' => 24 * 60,
                'w' => 7 * 24 * 60,
                _ => return Err(err()),
            };
            minutes = n
                .checked_mul(unit)
                .and_then(|v| minutes.checked_add(v))
                .filter(|&m| m <= 366 * 24 * 60)
                .ok_or_else(|| format!("\"{s}\": longer than a year"))?;
        }
        if !num.is_empty() {
            return Err(err());
        }
        Ok(Soak(SignedDuration::from_mins(minutes)))
    }
}

fn load_inventory(
    ctx: &Ctx,
    paths: &[PathBuf],
) -> anyhow::Result<Option<(Inventory, crate::catalog::Catalog)>> {
    let catalog = ctx.catalog()?;
    Ok(super::load_inventory(&catalog, paths, Some(""))?.map(|inv| (inv, catalog)))
}

pub fn run(ctx: &Ctx, args: &Args) -> anyhow::Result<ExitStatus> {
    if let Some(Command::Check(c)) = &args.command {
        return check(ctx, c);
    }
    if let (Some(g), true) = (&args.gate, args.no_canary) {
        anyhow::bail!(
            "--gate {g} holds the waves after the canary: a plan with --no-canary has none to judge"
        );
    }
    let to = super::output::destinations(
        args.format,
        args.output.as_deref(),
        PrintFormat::Json,
        PrintFormat::Table,
        "plan.json",
    )?;
    if let Some(file) = &to.rendered {
        super::output::guard_rendering(file)?;
    }
    let durations = match &args.durations {
        Some(p) => Durations::with_file(p)?,
        None => Durations::default(),
    };
    let paths = paths_or_default(&args.paths);
    let Some((inv, catalog)) = load_inventory(ctx, &paths)? else {
        eprintln!("no plan written");
        return Ok(ExitStatus::Findings);
    };
    let now = SystemClock.now();
    let start = args.start.map_or(now, |s| s.0);
    let as_of = args
        .as_of
        .unwrap_or_else(|| start.to_zoned_datetime(jiff::tz::TimeZone::UTC).date());
    let opts = Options {
        target: args.target.clone(),
        allow_unknown_target: args.allow_unknown_target,
        as_of,
        start,
        max_per_wave: args.max_per_wave.map(|n| n as usize),
        max_per_site: args.max_per_site.map(|n| n as usize),
        ha_two_phase: args.ha_two_phase,
        failback: !args.no_failback,
        pre_staged: args.pre_staged,
        canary: !args.no_canary,
        canary_soak: match (args.canary_soak, &args.gate) {
            (Some(s), _) => s.0,
            (None, Some(_)) => jiff::SignedDuration::from_secs(
                (super::verify_fix::DEFAULT_MIN_DAYS * 86_400.0) as i64,
            ),
            (None, None) => jiff::SignedDuration::from_hours(24),
        },
        soak: args.soak.0,
        selection: Selection {
            only: args.only.clone(),
            exclude: args.exclude.clone(),
        },
        durations,
        horizon_days: args.horizon,
        gate: args.gate.as_ref().map(ToString::to_string),
    };
    if !selection_ok(&opts.selection, &inv) {
        eprintln!("no plan written");
        return Ok(ExitStatus::Input);
    }
    let prov = Provenance {
        paths: paths.iter().map(|p| p.display().to_string()).collect(),
        catalog_source: ctx.catalog_source(),
        created: now,
    };
    let plan = planner::build(&inv, &catalog, &opts, &prov)
        .map_err(|e| anyhow::anyhow!("--target: {e}"))?;
    // A gate naming a defect is checked as `upgrade` will check it, before anything is written.
    if let Some(super::verify_fix::GateSpec::LeakFixed(Some(id))) = &args.gate {
        let canary = super::verify_fix::canary_waves(&plan);
        super::verify_fix::affected_devices(&plan, &canary, &catalog, id)?;
    }
    let saved = super::output::save(&to.saved, "plan", |w| write_json(w, &plan))?;
    // The change ticket: the plan's waves, then per group entry its steps and way back.
    let drivers = crate::driver::Drivers::load(args.drivers.as_deref())?;
    let ticket = || {
        let mut sections = planner::markdown(&plan);
        sections.extend(crate::executor::ticket::sections(
            &plan,
            &drivers,
            &super::upgrade::backups(&to.saved, &None),
            &to.saved.display().to_string(),
        ));
        sections
    };
    to.write_rendering(|format| {
        Ok(match format {
            PrintFormat::Markdown => crate::report::Format::Markdown
                .exporter()
                .export_sections(&ticket())?,
            _ => crate::report::Format::Table
                .exporter()
                .export(&planner::table(&plan))?,
        })
    })?;
    match to.shown {
        _ if args.quiet => {
            for line in planner::summary_lines(&plan) {
                super::out(line)?;
            }
        }
        PrintFormat::Json => {
            let stdout = std::io::stdout();
            let mut w = std::io::BufWriter::new(stdout.lock());
            write_json(&mut w, &plan)?;
            std::io::Write::flush(&mut w)?;
        }
        PrintFormat::Markdown => {
            let bytes = crate::report::Format::Markdown
                .exporter()
                .export_sections(&ticket())?;
            crate::report::emit(&bytes, None)?;
        }
        PrintFormat::Table => {
            let bytes = crate::report::Format::Table
                .exporter()
                .export(&planner::table(&plan))?;
            crate::report::emit(&bytes, None)?;
            super::out("")?;
            for line in planner::summary_lines(&plan) {
                super::out(line)?;
            }
        }
    }
    eprintln!("{}", saved.message("plan", &to.saved));
    // Freeing a 100 000-device plan and inventory piece by piece takes longer than exiting.
    std::mem::forget((plan, inv, catalog));
    Ok(ExitStatus::Success)
}

/// Whether the selectors are worth planning with: an `--only` value that matches no device, or
/// selectors that leave no device at all, are errors (printed; most likely a typo, and an
/// empty plan helps nobody); an `--exclude` value that matches nothing is a warning.
fn selection_ok(sel: &Selection, inv: &Inventory) -> bool {
    if sel.only.is_empty() && sel.exclude.is_empty() {
        return true;
    }
    let (errors, warnings) = sel.unmatched(&inv.devices);
    for w in &warnings {
        eprintln!("warning: {w}");
    }
    for e in &errors {
        eprintln!("lbfleet: error: {e}");
    }
    if !errors.is_empty() {
        return false;
    }
    if !inv
        .devices
        .iter()
        .any(|d| sel.selects(d) && !sel.excludes(d))
    {
        let all: Vec<String> = sel
            .only
            .iter()
            .map(|s| format!("--only {s}"))
            .chain(sel.exclude.iter().map(|s| format!("--exclude {s}")))
            .collect();
        eprintln!(
            "lbfleet: error: {} together leave no device of the inventory's {} to plan",
            all.join(" "),
            inv.devices.len()
        );
        return false;
    }
    true
}

/// Pretty JSON and a final newline.
fn write_json<W: std::io::Write>(w: &mut W, plan: &planner::Plan) -> std::io::Result<()> {
    serde_json::to_writer_pretty(&mut *w, plan)?;
    w.write_all(b"\n")
}

/// The inventory a plan is checked against: the paths given, else those recorded in the plan.
pub(crate) fn inventory_paths(plan: &planner::Plan, given: &[PathBuf]) -> Vec<PathBuf> {
    if given.is_empty() {
        let recorded: Vec<PathBuf> = plan.inventory.paths.iter().map(PathBuf::from).collect();
        paths_or_default(&recorded)
    } else {
        given.to_vec()
    }
}

fn check(ctx: &Ctx, args: &CheckArgs) -> anyhow::Result<ExitStatus> {
    let (plan, lines) = planner::check::load_located(&args.plan)?;
    let paths = inventory_paths(&plan, &args.paths);
    let Some((inv, catalog)) = load_inventory(ctx, &paths)? else {
        return Ok(ExitStatus::Findings);
    };
    // Devices may be as planned, or as the rollout's journal beside the plan says it left them.
    let groups: Vec<_> = plan
        .waves
        .iter()
        .flat_map(|w| w.groups.iter().map(move |g| (w.index, g)))
        .collect();
    let done = super::engine::journaled(&args.plan.with_extension("journal"), &groups)?;
    let diffs = planner::check::check(&plan, &inv, &catalog, &done);
    let name = args.plan.display();
    for d in &diffs {
        super::out(d.located(&args.plan, &lines))?;
    }
    if !diffs.is_empty() {
        eprintln!(
            "{name}: {} difference{} with the fleet: plan again or fix the inventory",
            diffs.len(),
            if diffs.len() == 1 { "" } else { "s" }
        );
        return Ok(ExitStatus::Findings);
    }
    let n = plan.devices().count();
    if plan.inventory.digest != inv.digest {
        eprintln!(
            "{name}: the inventory files changed since planning, but nothing the plan depends on"
        );
    }
    super::out(format!(
        "{name}: current ({n} device{} in {} wave{})",
        if n == 1 { "" } else { "s" },
        plan.waves.len(),
        if plan.waves.len() == 1 { "" } else { "s" }
    ))?;
    Ok(ExitStatus::Success)
}
