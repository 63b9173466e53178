//! `lbfleet drivers list|show|render`: what each vendor driver runs, and exactly which command a
//! set of values would produce (or why a value is refused).

use std::path::PathBuf;

use crate::ExitStatus;
use crate::driver::Drivers;
use crate::version::Vendor;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// A driver file replacing the built-in driver of its vendor.
    #[arg(long, global = true, value_name = "FILE")]
    drivers: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// One line per driver.
    List,
    /// A driver's parameters and commands.
    Show {
        /// Vendor.
        vendor: Vendor,
    },
    /// The command a driver would run with these values, after checking each.
    Render {
        /// Vendor.
        vendor: Vendor,
        /// Command name (`lbfleet drivers show VENDOR` lists them).
        command: String,
        /// Values as KEY=VALUE.
        #[arg(value_name = "KEY=VALUE")]
        values: Vec<String>,
    },
}

pub fn run(args: &Args) -> anyhow::Result<ExitStatus> {
    let drivers = Drivers::load(args.drivers.as_deref())?;
    match &args.command {
        Command::List => {
            for d in drivers.all() {
                super::out(format!(
                    "{:<10} {}  ({})",
                    d.vendor.id(),
                    d.description,
                    d.source
                ))?;
            }
            let missing: Vec<&str> = Vendor::ALL
                .iter()
                .filter(|v| drivers.get(**v).is_err())
                .map(|v| v.id())
                .collect();
            if !missing.is_empty() {
                super::out(format!(
                    "no driver (plan only): {}; see `lbfleet drivers show f5` for the format",
                    missing.join(", ")
                ))?;
            }
        }
        Command::Show { vendor } => {
            let d = drivers.get(*vendor)?;
            super::out(d.to_string().trim_end())?;
        }
        Command::Render {
            vendor,
            command,
            values,
        } => {
            let d = drivers.get(*vendor)?;
            let pairs: Vec<(&str, &str)> = values
                .iter()
                .map(|kv| {
                    kv.split_once('=')
                        .ok_or_else(|| anyhow::anyhow!("\"{kv}\": expected KEY=VALUE"))
                })
                .collect::<Result<_, _>>()?;
            match d.render(command, &pairs) {
                Ok(line) => super::out(line)?,
                Err(e) => {
                    eprintln!("refused: {e}");
                    return Ok(ExitStatus::Findings);
                }
            }
        }
    }
    Ok(ExitStatus::Success)
}
