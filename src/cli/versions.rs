//! `lbfleet versions sort --vendor V VERSION...`: prints versions ascending, one per line.

use crate::ExitStatus;
use crate::version::{Vendor, Version};

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Print versions in ascending vendor order, one per line, in the vendor's notation.
    Sort {
        /// Vendor whose notation the versions use.
        #[arg(long, value_parser = parse_vendor)]
        vendor: Vendor,
        /// Versions to sort.
        #[arg(required = true, value_name = "VERSION")]
        versions: Vec<String>,
    },
}

pub(crate) fn parse_vendor(s: &str) -> Result<Vendor, String> {
    s.parse()
        .map_err(|e: crate::version::UnknownVendor| e.to_string())
}

pub fn run(cmd: &Command) -> anyhow::Result<ExitStatus> {
    let Command::Sort { vendor, versions } = cmd;
    let mut parsed = versions
        .iter()
        .map(|v| Version::parse(*vendor, v))
        .collect::<Result<Vec<_>, _>>()?;
    parsed.sort();
    let mut text = String::new();
    for v in &parsed {
        text.push_str(v.as_str());
        text.push('\n');
    }
    crate::report::emit(text.as_bytes(), None)?;
    Ok(ExitStatus::Success)
}
