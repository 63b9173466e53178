//! `lbfleet inventory check [PATH...]`: every problem with file, line and field.

use std::path::PathBuf;

use super::Ctx;
use crate::ExitStatus;
use crate::inventory::{self, Severity};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Inventory folders or files (default: inventories/).
    #[arg(value_name = "PATH")]
    paths: Vec<PathBuf>,
    /// Print findings as JSON instead of lines.
    #[arg(long)]
    json: bool,
}

pub(crate) fn paths_or_default(paths: &[PathBuf]) -> Vec<PathBuf> {
    if paths.is_empty() {
        vec![PathBuf::from("inventories")]
    } else {
        paths.to_vec()
    }
}

pub fn run(ctx: &Ctx, args: &Args) -> anyhow::Result<ExitStatus> {
    let catalog = ctx.catalog()?;
    let inv = inventory::load(&paths_or_default(&args.paths), &catalog)?;
    if args.json {
        let mut text = serde_json::to_string_pretty(&inv.findings)?;
        text.push('\n');
        crate::report::emit(text.as_bytes(), None)?;
    } else {
        let mut text = String::new();
        for f in &inv.findings {
            text.push_str(&f.to_string());
            text.push('\n');
        }
        crate::report::emit(text.as_bytes(), None)?;
    }
    let errors = inv
        .findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .count();
    let warnings = inv.findings.len() - errors;
    // Rows read, so that a duplicated or broken row does not make the fleet look smaller.
    eprintln!(
        "checked {} files, {} sites, {} devices: {errors} error(s), {warnings} warning(s); usable: {} sites, {} devices",
        inv.files.len(),
        inv.site_rows,
        inv.device_rows,
        inv.sites.len(),
        inv.devices.len()
    );
    Ok(if errors > 0 {
        ExitStatus::Findings
    } else {
        ExitStatus::Success
    })
}
