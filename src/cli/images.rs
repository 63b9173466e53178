//! `lbfleet images add|verify|list`: the image folder and its manifest.

use std::path::PathBuf;

use crate::ExitStatus;
use crate::images::Manifest;
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
    Add {
        /// The image file.
        file: PathBuf,
        /// Its vendor.
        #[arg(long)]
        vendor: Vendor,
        /// The version it installs, in vendor notation.
        #[arg(long)]
        version: String,
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
        } => {
            let v = Version::parse(*vendor, version)?;
            let img = m.add(file, *vendor, &v)?;
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
