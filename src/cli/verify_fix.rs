//! `lbfleet verify-fix PLAN --telemetry FILE...`: did the upgrade fix the leak? Each device the
//! rollout's journal shows upgraded, judged on its memory slope after the upgrade against its
//! own before and a control group's; table on stdout, CSV, Markdown and charts in a folder.

use std::path::{Path, PathBuf};

use super::Ctx;
use crate::ExitStatus;
use crate::evaluator::analysis::Settings;
use crate::evaluator::verify::{self, Verdict, Verification};
use crate::executor::journal::Journal;
use crate::executor::{Gate, GateCheck};
use crate::report::Format;

use super::telemetry::TelemetryArgs;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The plan file: its rollout's journal says which devices were upgraded, and when.
    plan: PathBuf,
    /// Memory telemetry before and after the upgrade (as for `lbfleet evaluate`).
    #[command(flatten)]
    telemetry: TelemetryArgs,
    /// Days of data after the upgrade a verdict needs at least.
    #[arg(long, value_name = "DAYS", default_value_t = MinDays(DEFAULT_MIN_DAYS), allow_negative_numbers = true)]
    min_days: MinDays,
    /// The rollout's journal [default: the plan's path with `.journal`].
    #[arg(long, value_name = "FILE")]
    journal: Option<PathBuf>,
    /// Inventory folders or files, for control devices outside the plan [default: the paths
    /// recorded in the plan].
    #[arg(long, value_name = "PATH", num_args = 1..)]
    inventory: Vec<PathBuf>,
    /// Folder for verdicts.csv, report.md and a before/after chart per device.
    #[arg(short, long, value_name = "DIR", default_value = "reports/verify-fix")]
    output: PathBuf,
    /// How to print the verdicts.
    #[arg(long, value_enum, default_value = "table")]
    format: Format,
}

/// `--min-days` unless given: the days of data after the upgrade a verdict needs at least
/// (and the canary soak of a plan with `--gate`).
pub const DEFAULT_MIN_DAYS: f64 = 3.0;

/// Days of data after the upgrade a verdict needs: more than 0, at most 365 (`3`, `1.5`, `3d`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MinDays(pub f64);

impl std::fmt::Display for MinDays {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl std::str::FromStr for MinDays {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        let t = t.strip_suffix('d').unwrap_or(t).trim();
        match t.parse::<f64>() {
            Ok(v) if v > 0.0 && v <= 365.0 => Ok(MinDays(v)),
            _ => Err(format!(
                "\"{s}\": expected days of data, more than 0 and at most 365 (such as 3 or 1.5)"
            )),
        }
    }
}

/// Everything a verdict needs besides the journal and the telemetry.
pub struct Rollout {
    /// The plan.
    pub plan: crate::planner::Plan,
    /// Inventory devices as (name, model, release), for the control group.
    pub others: Vec<(String, String, String)>,
}

/// Reads a plan's journal for a verdict: it must exist (something has run).
fn read_journal(
    plan_path: &Path,
    journal: &Option<PathBuf>,
) -> anyhow::Result<Vec<crate::executor::journal::Entry>> {
    let jpath = journal
        .clone()
        .unwrap_or_else(|| plan_path.with_extension("journal"));
    if !jpath.exists() {
        return Err(crate::error::InputError::new(
            crate::error::Location::file(jpath.display().to_string()),
            format!(
                "no journal: nothing of this plan has run (`lbfleet upgrade {}` writes it)",
                plan_path.display()
            ),
        )
        .into());
    }
    let entries = Journal::read(&jpath).map_err(|e| {
        crate::error::InputError::new(
            crate::error::Location::file(jpath.display().to_string()),
            format!("cannot read: {e}"),
        )
    })?;
    Ok(entries)
}

impl Rollout {
    /// Reads the plan and (for control devices) the inventory.
    pub fn load(ctx: &Ctx, plan_path: &Path, inventory: &[PathBuf]) -> anyhow::Result<Rollout> {
        let plan = crate::planner::check::load(plan_path)?;
        let catalog = ctx.catalog()?;
        let paths = super::plan::inventory_paths(&plan, inventory);
        // The inventory only adds control devices: one that cannot be read leaves them out.
        let others = match crate::inventory::load(&paths, &catalog) {
            Ok(inv) => inv
                .devices
                .iter()
                .map(|d| (d.name.clone(), d.model.clone(), d.version.to_string()))
                .collect(),
            Err(e) => {
                eprintln!("warning: control devices from the inventory left out: {e}");
                Vec::new()
            }
        };
        Ok(Rollout { plan, others })
    }

    /// The verdicts on the devices `entries` show upgraded in `waves` (all when `None`), of
    /// those named in `only` (all when `None`).
    pub fn verify(
        &self,
        entries: &[crate::executor::journal::Entry],
        telemetry: crate::evaluator::telemetry::Telemetry,
        min_days: MinDays,
        (waves, only): (Option<&[usize]>, Option<&[String]>),
    ) -> Verification {
        let (mut upgraded, control) = verify::subjects(&self.plan, entries, &self.others, waves);
        if let Some(only) = only {
            upgraded.retain(|u| only.contains(&u.device));
        }
        verify::verify(
            telemetry,
            &upgraded,
            &control,
            &Settings::default(),
            min_days.0,
        )
    }
}

/// The verdict of every (model, release) together: not fixed first, then inconclusive.
pub fn overall(v: &Verification) -> Option<Verdict> {
    v.groups.iter().map(|g| g.verdict).reduce(verify::combine)
}

pub fn run(ctx: &Ctx, args: &Args) -> anyhow::Result<ExitStatus> {
    let rollout = Rollout::load(ctx, &args.plan, &args.inventory)?;
    let entries = read_journal(&args.plan, &args.journal)?;
    let telemetry = super::telemetry::load(&args.telemetry.required()?)?;
    let v = rollout.verify(&entries, telemetry, args.min_days, (None, None));
    if v.devices.is_empty() {
        let missing = if v.without_telemetry.is_empty() {
            String::new()
        } else {
            format!(
                "; without memory telemetry: {}",
                v.without_telemetry.join(", ")
            )
        };
        eprintln!(
            "no verdict: the journal shows no device of {} upgraded with telemetry to judge{missing}",
            args.plan.display()
        );
        return Ok(ExitStatus::Findings);
    }
    let files = verify::write_all(&v, &args.output, Settings::default().threshold)?;
    let table = match args.format {
        Format::Table | Format::Markdown => verify::summary(&v),
        _ => verify::table(&v),
    };
    crate::report::emit(&args.format.exporter().export(&table)?, None)?;
    for line in verify::group_lines(&v) {
        eprintln!("{line}");
    }
    if !v.without_telemetry.is_empty() {
        eprintln!(
            "without memory telemetry: {}",
            v.without_telemetry.join(", ")
        );
    }
    eprintln!(
        "wrote {} files to {} (report: {})",
        files.len(),
        args.output.display(),
        args.output.join("report.md").display()
    );
    Ok(match overall(&v) {
        Some(Verdict::Fixed) => ExitStatus::Success,
        _ => ExitStatus::Findings,
    })
}

/// `--gate`: what must say yes before the waves after the canary.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GateSpec {
    /// `leak-fixed[:DEFECT]`: the canary's verdict is `fixed` (for the devices the defect
    /// affects, when one is named).
    LeakFixed(Option<String>),
}

impl std::str::FromStr for GateSpec {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (kind, defect) = match s.split_once(':') {
            Some((k, d)) => (k, Some(d.trim())),
            None => (s, None),
        };
        match (kind.trim(), defect) {
            ("leak-fixed", None) => Ok(GateSpec::LeakFixed(None)),
            ("leak-fixed", Some(d)) if !d.is_empty() => Ok(GateSpec::LeakFixed(Some(d.into()))),
            ("leak-fixed", Some(_)) => Err(format!(
                "\"{s}\": name the defect after the colon (leak-fixed:ID974501), or leave it out"
            )),
            (other, _) => Err(format!(
                "\"{s}\": unknown gate {other:?}; the gate is leak-fixed or leak-fixed:DEFECT{}",
                crate::suggest::did_you_mean(other, ["leak-fixed"])
            )),
        }
    }
}

impl std::fmt::Display for GateSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            GateSpec::LeakFixed(None) => write!(f, "leak-fixed"),
            GateSpec::LeakFixed(Some(d)) => write!(f, "leak-fixed:{d}"),
        }
    }
}

/// The `leak-fixed` gate: the verdict on the canary's upgraded devices, from telemetry read
/// afresh each time it is asked.
pub struct LeakGate {
    /// As given.
    pub spec: GateSpec,
    /// The rollout.
    pub rollout: Rollout,
    /// Where the telemetry comes from (read afresh, to now, each time the gate is asked).
    pub telemetry: TelemetryArgs,
    /// Days after the upgrade a verdict needs.
    pub min_days: MinDays,
    /// The canary waves.
    pub canary: Vec<usize>,
    /// The devices the named defect affects (`None`: every canary device).
    pub affected: Option<Vec<String>>,
    /// `--accept-verdict`: open whatever the verdict says.
    pub accept: bool,
    /// Where the gate was asked for: "the plan's" (`plan --gate`) or "--gate".
    pub from: &'static str,
}

impl LeakGate {
    /// The gate for `plan`, checked before anything runs: a named defect must be a memory
    /// defect of the catalog that affects a canary device's release and not its target.
    pub fn new(
        spec: GateSpec,
        rollout: Rollout,
        catalog: &crate::catalog::Catalog,
        (telemetry, min_days, accept, from): (TelemetryArgs, MinDays, bool, &'static str),
    ) -> anyhow::Result<LeakGate> {
        let names: Option<Vec<String>> = match telemetry.source()? {
            // Readable now: a typo or a server that is down fails here, not after the canary.
            Some(source) => Some(
                super::telemetry::load(&source)?
                    .devices
                    .into_iter()
                    .map(|d| d.name)
                    .collect(),
            ),
            // The operator's override needs no data.
            None if accept => None,
            None => anyhow::bail!(
                "the gate {spec} ({from}) needs --telemetry FILE... or --prometheus URL (the canary's memory before and after its upgrade), or --accept-verdict to go on without a verdict"
            ),
        };
        let canary = canary_waves(&rollout.plan);
        if canary.is_empty() {
            anyhow::bail!(
                "the gate {spec} ({from}): the plan has no canary wave to judge (plan it without --no-canary)"
            );
        }
        let affected = match &spec {
            GateSpec::LeakFixed(None) => None,
            GateSpec::LeakFixed(Some(id)) => {
                Some(affected_devices(&rollout.plan, &canary, catalog, id)?)
            }
        };
        // Telemetry that names none of the devices the gate will judge is another fleet's (or
        // another naming): found now, before the canary changes anything.
        let judged: Vec<&str> = rollout
            .plan
            .devices()
            .filter(|(w, _, d)| {
                canary.contains(&w.index) && affected.as_ref().is_none_or(|a| a.contains(&d.name))
            })
            .map(|(_, _, d)| d.name.as_str())
            .collect();
        if let Some(names) = &names
            && !judged.iter().any(|d| names.iter().any(|n| n == d))
        {
            anyhow::bail!(
                "the gate {spec} ({from}): the telemetry names none of the canary devices it judges ({}); its devices are named like {}",
                judged.join(", "),
                names.iter().take(3).cloned().collect::<Vec<_>>().join(", ")
            );
        }
        Ok(LeakGate {
            spec,
            rollout,
            telemetry,
            min_days,
            canary,
            affected,
            accept,
            from,
        })
    }
}

/// The plan's canary waves.
pub(crate) fn canary_waves(plan: &crate::planner::Plan) -> Vec<usize> {
    plan.waves
        .iter()
        .filter(|w| w.kind == crate::planner::file::WaveKind::Canary)
        .map(|w| w.index)
        .collect()
}

/// The canary devices that defect `id` affects on their release and that their target fixes.
pub(crate) fn affected_devices(
    plan: &crate::planner::Plan,
    canary: &[usize],
    catalog: &crate::catalog::Catalog,
    id: &str,
) -> anyhow::Result<Vec<String>> {
    let Some(defect) = catalog
        .defects
        .iter()
        .find(|d| d.id.eq_ignore_ascii_case(id))
    else {
        let hint = crate::suggest::did_you_mean(id, catalog.defects.iter().map(|d| d.id.as_str()));
        anyhow::bail!("--gate leak-fixed:{id}: no defect {id} in the catalog{hint}");
    };
    if !defect.kind.starts_with("memory") {
        anyhow::bail!(
            "--gate leak-fixed:{id}: {id} is a {} defect, not a memory leak",
            defect.kind
        );
    }
    let mut out = Vec::new();
    for (w, _, d) in plan.devices() {
        if !canary.contains(&w.index) {
            continue;
        }
        let Ok(vendor) = d.vendor.parse::<crate::version::Vendor>() else {
            continue;
        };
        let model = catalog.model(vendor, &d.model);
        let parse = |v: &str| crate::version::Version::parse(vendor, v).ok();
        let (Some(from), Some(to)) = (parse(&d.from), d.path.last().and_then(|t| parse(t))) else {
            continue;
        };
        if defect.affects(&from, model) && !defect.affects(&to, model) {
            out.push(d.name.clone());
        }
    }
    if out.is_empty() {
        anyhow::bail!(
            "--gate leak-fixed:{id}: no canary device runs a release {id} affects and moves to one it does not"
        );
    }
    Ok(out)
}

impl Gate for LeakGate {
    fn name(&self) -> String {
        self.spec.to_string()
    }

    fn check(&self, entries: &[crate::executor::journal::Entry]) -> GateCheck {
        let read = match self.telemetry.source() {
            Ok(Some(source)) => Some(super::telemetry::load(&source)),
            Ok(None) => None,
            Err(e) => Some(Err(e)),
        };
        let said = match read {
            None => GateCheck::Wait("no telemetry given".into()),
            Some(Err(e)) => GateCheck::Error(format!("cannot read the telemetry: {e:#}")),
            Some(Ok(t)) => {
                let v = self.rollout.verify(
                    entries,
                    t,
                    self.min_days,
                    (Some(&self.canary), self.affected.as_deref()),
                );
                let lines = verify::group_lines(&v).join("; ");
                let evidence = v
                    .devices
                    .iter()
                    .map(|d| format!("{} ({}): {}", d.device.device, d.verdict.as_str(), d.reason))
                    .collect::<Vec<_>>()
                    .join("; ");
                match overall(&v) {
                    Some(Verdict::Fixed) => GateCheck::Open(lines),
                    Some(Verdict::NotFixed) => GateCheck::Stop(format!("not fixed: {evidence}")),
                    Some(Verdict::Inconclusive(Some(_))) => {
                        GateCheck::Wait(format!("{lines}; {evidence}"))
                    }
                    Some(Verdict::Inconclusive(None)) => {
                        GateCheck::Stop(format!("no verdict is foreseeable: {evidence}"))
                    }
                    Some(Verdict::NoLeak) => GateCheck::Stop(format!(
                        "no canary device had a leak to fix: {evidence} (name the defect that leaks: --gate leak-fixed:DEFECT)"
                    )),
                    None => GateCheck::Wait("no canary device is upgraded yet".into()),
                }
            }
        };
        match said {
            GateCheck::Open(d) => GateCheck::Open(d),
            other if self.accept => {
                let (GateCheck::Wait(d)
                | GateCheck::Stop(d)
                | GateCheck::Open(d)
                | GateCheck::Error(d)) = other;
                GateCheck::Open(format!("accepted by the operator (--accept-verdict): {d}"))
            }
            other => other,
        }
    }

    fn accepting(&self) -> bool {
        self.accept
    }

    fn settings(&self) -> String {
        let from = if self.from == "--gate" {
            "--gate"
        } else {
            "plan"
        };
        let accept = if self.accept {
            " accept-verdict=yes"
        } else {
            ""
        };
        format!("min-days={} from={from}{accept}", self.min_days)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn min_days_in_the_forms_operators_write() {
        for (text, want) in [("3", 3.0), ("1.5", 1.5), ("3d", 3.0), ("365", 365.0)] {
            assert_eq!(text.parse::<MinDays>(), Ok(MinDays(want)), "{text}");
        }
        for bad in ["0", "-1", "366", "3w", "three"] {
            let e = bad.parse::<MinDays>().unwrap_err();
            assert!(e.starts_with(&format!("\"{bad}\": ")), "{e}");
        }
    }
}
