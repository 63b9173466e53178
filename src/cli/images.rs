//! `lbfleet images add|verify|list`: the image folder and its manifest.

use std::path::PathBuf;

use crate::ExitStatus;
use crate::driver::Drivers;
use crate::images::{Manifest, describe};
use crate::version::{Vendor, Version};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The image folder (with manifest.csv).
    #[arg(long, global = true, value_name = "DIR", default_value = "images")]
    images: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Copy an image into the folder (if elsewhere), hash it and record it in the manifest.
    ///
    /// Refused when the file name says another vendor or version (per the vendor's driver) or
    /// the manifest already lists the name or the version differently, unless --force.
    Add {
        /// The image file.
        file: PathBuf,
        /// Its vendor.
        #[arg(long)]
        vendor: Vendor,
        /// The version it installs, in vendor notation.
        #[arg(long)]
        version: String,
        /// Record it even if its name says otherwise, replacing what the manifest lists for the
        /// same file name or version (each replaced entry is named on stderr).
        #[arg(long)]
        force: bool,
        /// A driver file replacing the built-in driver of its vendor (for its image naming).
        #[arg(long, value_name = "FILE")]
        drivers: Option<PathBuf>,
    },
    /// Re-hash every image against the manifest; exit 1 on any difference.
    Verify,
    /// The manifest.
    List,
}

pub fn run(args: &Args) -> anyhow::Result<ExitStatus> {
    let mut m = Manifest::load(&args.images)?;
    match &args.command {
        Command::Add {
            file,
            vendor,
            version,
            force,
            drivers,
        } => {
            let v = Version::parse(*vendor, version)?;
            let drivers = Drivers::load(drivers.as_deref())?;
            let added = m.add(file, *vendor, &v, &drivers, *force)?;
            for w in &added.warnings {
                eprintln!("warning: {w}");
            }
            for r in &added.replaced {
                eprintln!(
                    "{}: replaced {}",
                    crate::images::location(&args.images),
                    describe(r)
                );
            }
            if added.unchanged {
                eprintln!("already in the manifest: nothing changed");
            }
            let img = &added.image;
            super::out(format!(
                "{} {} {} {} bytes sha256 {}",
                img.vendor.id(),
                img.version,
                img.file,
                img.size,
                img.sha256
            ))?;
        }
        Command::Verify => {
            let problems = m.verify()?;
            for p in &problems {
                super::out(format!(
                    "{}: {}: {}",
                    args.images.join(&p.file).display(),
                    p.file,
                    p.message
                ))?;
            }
            if !problems.is_empty() {
                return Ok(ExitStatus::Findings);
            }
            super::out(format!("{} images verified", m.images.len()))?;
        }
        Command::List => {
            for i in &m.images {
                super::out(format!(
                    "{}\t{}\t{}\t{}\t{}",
                    i.vendor.id(),
                    i.version,
                    i.file,
                    i.size,
                    i.sha256
                ))?;
            }
        }
    }
    Ok(ExitStatus::Success)
}
