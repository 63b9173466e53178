//! `lbfleet inventory report [PATH...]`: one row per device with advisories, target, path and
//! action; `--summary` for counts and defect exposure.

use std::path::PathBuf;

use jiff::civil::Date;

use super::Ctx;
use super::inventory_check::paths_or_default;
use crate::ExitStatus;
use crate::inventory::report::{TargetSpec, assess, device_table, summary};
use crate::report::Format;
use crate::upgrade::Policy;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Inventory folders or files (default: inventories/).
    #[arg(value_name = "PATH")]
    paths: Vec<PathBuf>,
    /// `recommended`, a version (one-vendor fleets), or VENDOR=VERSION[,VENDOR=VERSION...].
    #[arg(long, default_value = "recommended")]
    target: TargetSpec,
    /// Accept a target version the catalog does not list (by default a typo guard: exit 2).
    #[arg(long)]
    allow_unknown_target: bool,
    /// Date for the recommended policy: releases out by then and still supported (default today).
    #[arg(long, value_name = "DATE")]
    as_of: Option<Date>,
    /// Output format (default: from the -o extension, else table).
    #[arg(long, value_enum)]
    format: Option<Format>,
    /// Write to FILE (atomically) instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Counts by site × model × version and devices per defect, instead of device rows.
    #[arg(long)]
    summary: bool,
}

pub fn run(ctx: &Ctx, args: &Args) -> anyhow::Result<ExitStatus> {
    let catalog = ctx.catalog()?;
    let Some(inv) = super::load_inventory(
        &catalog,
        &paths_or_default(&args.paths),
        Some(": no report written"),
    )?
    else {
        return Ok(ExitStatus::Findings);
    };
    let policy = Policy {
        as_of: args.as_of.unwrap_or_else(super::today),
    };
    let rows = assess(
        &inv,
        &catalog,
        &args.target,
        args.allow_unknown_target,
        policy,
    )
    .map_err(|e| anyhow::anyhow!("--target: {e}"))?;
    let format = args
        .format
        .or_else(|| args.output.as_deref().and_then(Format::from_extension))
        .unwrap_or(if args.output.is_some() {
            Format::Csv
        } else {
            Format::Table
        });
    let exporter = format.exporter();
    let bytes = if args.summary {
        exporter.export_sections(&summary(&rows))?
    } else {
        exporter.export(&device_table(&rows))?
    };
    crate::report::emit(&bytes, args.output.as_deref())?;
    if let Some(out) = &args.output {
        eprintln!("wrote {} ({} devices)", out.display(), rows.len());
    }
    Ok(ExitStatus::Success)
}
