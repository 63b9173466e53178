//! `lbfleet evaluate --telemetry FILE...`: leaks, reboot intervals, projected peaks and ranked
//! hardware, written to a folder of CSV, Markdown and SVG.

use std::path::PathBuf;
use std::str::FromStr;

use super::Ctx;
use super::telemetry::TelemetryArgs;
use crate::ExitStatus;
use crate::evaluator::analysis::Settings;
use crate::evaluator::{self, Options, candidates, output};
use crate::report::Format;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    telemetry: TelemetryArgs,
    /// Inventory folders or files, for sites, HA groups and current models
    /// [default: inventories/ when it exists].
    #[arg(long, value_name = "PATH", num_args = 1..)]
    inventory: Vec<PathBuf>,
    /// Candidate models CSV (vendor, model, l4_throughput_gbps, memory_gb, ssl_tps_rsa2k,
    /// max_concurrent_conns, power_w, price, currency) [default: candidates.csv in the
    /// inventory folder when there is one, else the catalog's models].
    #[arg(long, value_name = "FILE")]
    candidates: Option<PathBuf>,
    /// How far ahead to project throughput (`3y`, `18m`, `90d`).
    #[arg(long, value_name = "DURATION", default_value = "3y")]
    horizon: Days,
    /// Growth of peak throughput per year, used beyond what the history's trend supports
    /// (`20%/y`) [default: none, the observed peak].
    #[arg(long, value_name = "RATE")]
    growth: Option<Growth>,
    /// Capacity to keep free (`30%` or `0.3`).
    #[arg(long, value_name = "PERCENT", default_value = "30%")]
    headroom: Fraction,
    /// Memory in use that must not be reached (`90%`).
    #[arg(long, value_name = "PERCENT", default_value = "90%")]
    memory_threshold: Fraction,
    /// The time to the threshold is divided by this for the reboot interval.
    #[arg(long, value_name = "FACTOR", default_value_t = 1.5)]
    safety_factor: f64,
    /// The reboot interval used today, compared with the recommendation (`7d`).
    #[arg(long, value_name = "DURATION", default_value = "7d")]
    reboot_interval: Days,
    /// Journals of `lbfleet upgrade` or `reboots run` (PLAN.journal): the reboots lbfleet
    /// performed cut the memory series exactly where they happened.
    #[arg(long, value_name = "FILE", num_args = 1..)]
    journal: Vec<PathBuf>,
    /// Folder for devices.csv, candidates.csv, report.md and the charts.
    #[arg(short, long, value_name = "DIR", default_value = "reports/evaluation")]
    output: PathBuf,
    /// How to print the device table.
    #[arg(long, value_enum, default_value = "table")]
    format: Format,
    /// Print every column of devices.csv in the table (the default table and Markdown show
    /// the essentials; CSV and JSON always have every column).
    #[arg(long)]
    wide: bool,
}

/// A duration in days: `3y`, `18m` (months of 30.44 days), `6w`, `90d`.
#[derive(Clone, Copy, Debug)]
struct Days(f64);

impl FromStr for Days {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim().to_ascii_lowercase();
        let err = || format!("\"{s}\": expected a duration such as 3y, 18m, 6w or 90d");
        let unit = t.chars().last().ok_or_else(err)?;
        let days = match unit {
            'y' => 365.25,
            'm' => 30.4375,
            'w' => 7.0,
            'd' => 1.0,
            _ => return Err(err()),
        };
        let n: f64 = t[..t.len() - 1].trim().parse().map_err(|_| err())?;
        if !(n.is_finite() && n > 0.0 && n * days <= 36_525.0) {
            return Err(err());
        }
        Ok(Days(n * days))
    }
}

/// A fraction: `30%` or `0.3`, strictly between 0 and 1.
#[derive(Clone, Copy, Debug)]
struct Fraction(f64);

impl FromStr for Fraction {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        let v = match t.strip_suffix('%') {
            Some(p) => p.trim().parse::<f64>().map(|v| v / 100.0),
            None => t.parse::<f64>(),
        }
        .map_err(|_| format!("\"{s}\": expected a percentage such as 30% or 0.3"))?;
        if !(v > 0.0 && v < 1.0) {
            return Err(format!("\"{s}\": must be between 0 and 100 %"));
        }
        Ok(Fraction(v))
    }
}

/// A yearly growth rate: `20%/y`, `20%/year`, `20%` or `0.2`; from -100 % (exclusive) to
/// 1000 %.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Growth(f64);

impl FromStr for Growth {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || format!("\"{s}\": expected a yearly growth rate such as 20%/y or 0.2");
        let t = s.trim().to_ascii_lowercase();
        let t = ["/year", "/yr", "/y"]
            .iter()
            .find_map(|u| t.strip_suffix(u))
            .unwrap_or(&t)
            .trim();
        let v = match t.strip_suffix('%') {
            Some(p) => p.trim().parse::<f64>().map(|v| v / 100.0),
            None => t.parse::<f64>(),
        }
        .map_err(|_| err())?;
        if !(v > -1.0 && v <= 10.0) {
            return Err(format!(
                "\"{s}\": must be above -100 % and at most 1000 % a year"
            ));
        }
        Ok(Growth(v))
    }
}

pub fn run(ctx: &Ctx, args: &Args) -> anyhow::Result<ExitStatus> {
    small_pages();
    if !(args.safety_factor.is_finite() && args.safety_factor >= 1.0) {
        anyhow::bail!("--safety-factor must be 1 or more");
    }
    // Flags, the mapping file and the URL are checked before anything is read.
    let source = args.telemetry.required()?;
    let catalog = ctx.catalog()?;
    let inv_paths = if args.inventory.is_empty() {
        let default = PathBuf::from("inventories");
        if default.is_dir() {
            vec![default]
        } else {
            Vec::new()
        }
    } else {
        args.inventory.clone()
    };
    let inv = if inv_paths.is_empty() {
        None
    } else {
        let Some(inv) = super::load_inventory(&catalog, &inv_paths, Some(": nothing evaluated"))?
        else {
            return Ok(ExitStatus::Findings);
        };
        Some(inv)
    };
    let beside = inv_paths
        .iter()
        .map(|p| p.join("candidates.csv"))
        .find(|p| p.is_file());
    let (candidates, dims, candidates_from) = match args.candidates.as_ref().or(beside.as_ref()) {
        Some(p) => {
            let (c, d) = candidates::from_file(p)?;
            (c, d, p.display().to_string())
        }
        None => (
            candidates::from_catalog(&catalog),
            candidates::Dims::ALL,
            "the catalog's models".to_string(),
        ),
    };
    let settings = Settings {
        threshold: args.memory_threshold.0,
        safety_factor: args.safety_factor,
        horizon_days: args.horizon.0,
        growth_per_year: args.growth.map(|g| g.0),
        current_interval_days: args.reboot_interval.0,
        ..Settings::default()
    };
    let opts = Options {
        telemetry: Vec::new(),
        skip_bad_rows: false,
        settings,
        headroom: args.headroom.0,
        candidates,
        candidates_from,
        dims,
        journals: args.journal.clone(),
    };
    let t = super::telemetry::load(&source)?;
    let e = evaluator::evaluate_with(&opts, t, inv.as_ref(), &catalog)?;
    let files = output::write_all(&e, &args.output)?;
    let table = match args.format {
        Format::Table | Format::Markdown if !args.wide => output::summary(&e),
        _ => output::devices(&e),
    };
    let bytes = args.format.exporter().export(&table)?;
    crate::report::emit(&bytes, None)?;
    eprintln!(
        "wrote {} files to {} (report: {})",
        files.len(),
        args.output.display(),
        args.output.join("report.md").display()
    );
    let too_slow: Vec<&str> = e
        .devices
        .iter()
        .filter(|d| {
            d.memory
                .as_ref()
                .and_then(|m| m.reboot_interval_days)
                .is_some_and(|n| f64::from(n) < settings.current_interval_days)
        })
        .map(|d| d.name.as_str())
        .collect();
    if !too_slow.is_empty() {
        eprintln!(
            "leaking faster than a {}-day reboot interval allows: {}",
            settings.current_interval_days,
            too_slow.join(", ")
        );
        return Ok(ExitStatus::Findings);
    }
    Ok(ExitStatus::Success)
}

/// Asks Linux not to back this process with transparent huge pages from here on: with them,
/// the allocator's half-used 2 MiB pages made the evaluator's resident memory a third larger
/// (`scripts/bench-evaluate`). Only here: the planner is faster with them.
fn small_pages() {
    #[cfg(target_os = "linux")]
    // SAFETY: PR_SET_THP_DISABLE only changes this process's page policy; failure is harmless.
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn growth_rates_in_the_forms_operators_write() {
        for (text, want) in [
            ("20%/y", 0.2),
            ("20 %/year", 0.2),
            ("0.2", 0.2),
            ("-5%/yr", -0.05),
        ] {
            assert_eq!(text.parse::<Growth>(), Ok(Growth(want)), "{text}");
        }
        for bad in ["20%/month", "fast", "-100%", "1001%"] {
            let e = bad.parse::<Growth>().unwrap_err();
            assert!(e.starts_with(&format!("\"{bad}\": ")), "{e}");
        }
    }
}
