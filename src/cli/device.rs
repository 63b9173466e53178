//! `lbfleet device check NAME`: connect to one device of the inventory over SSH and run every
//! read-only pre-check of an upgrade hop.

use std::path::PathBuf;

use super::Ctx;
use super::inventory_check::paths_or_default;
use crate::ExitStatus;
use crate::device::{self, Expectation, Status};
use crate::driver::Drivers;
use crate::report::{Cell, Format, Table};
use crate::ssh::{self, Auth, HostKeyPolicy, Ssh2Transport, Target};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Run the read-only pre-checks (version, HA role, sync, free space, memory, health).
    Check(CheckArgs),
    /// Upload an image and verify its SHA-256 on the device, without installing it.
    Stage(StageArgs),
    /// Take the device through one upgrade hop: pre-checks, stage, install, reboot, wait,
    /// post-checks.
    UpgradeHop(HopArgs),
}

#[derive(Debug, clap::Args)]
struct StageArgs {
    /// Device name (from the inventory).
    name: String,
    /// The version whose image to stage (from the image manifest).
    #[arg(long)]
    version: String,
    /// Inventory folders or files (default: inventories/).
    #[arg(long, value_name = "PATH", num_args = 1..)]
    inventory: Vec<PathBuf>,
    /// The image folder with manifest.csv.
    #[arg(long, value_name = "DIR", default_value = "images")]
    images: PathBuf,
    #[command(flatten)]
    ssh: SshArgs,
}

#[derive(Debug, clap::Args)]
struct HopArgs {
    /// Device name (from the inventory).
    name: String,
    /// The hop's target version (its image must be in the manifest).
    #[arg(long)]
    to: String,
    /// Inventory folders or files (default: inventories/).
    #[arg(long, value_name = "PATH", num_args = 1..)]
    inventory: Vec<PathBuf>,
    /// The image folder with manifest.csv.
    #[arg(long, value_name = "DIR", default_value = "images")]
    images: PathBuf,
    /// Upgrade even where the catalog has no direct rule from the device's version to --to
    /// (the vendor does not support that hop).
    #[arg(long)]
    force: bool,
    #[command(flatten)]
    wait: super::engine::WaitArgs,
    #[command(flatten)]
    ssh: SshArgs,
}

/// How to reach devices over SSH.
#[derive(Debug, clap::Args)]
pub(crate) struct SshArgs {
    /// Private key file [default: the running ssh-agent].
    #[arg(long, value_name = "FILE")]
    identity: Option<PathBuf>,
    /// OpenSSH known_hosts file [default: ~/.ssh/known_hosts].
    #[arg(long, value_name = "FILE")]
    known_hosts: Option<PathBuf>,
    /// Record unknown host keys instead of refusing them (a changed key is always refused).
    #[arg(long)]
    accept_new_host_keys: bool,
    /// Login user [default: $LBFLEET_SSH_USER, else $USER].
    #[arg(long, value_name = "USER")]
    user: Option<String>,
    /// Seconds to connect.
    #[arg(long, value_name = "SECONDS", default_value_t = 10)]
    connect_timeout: u64,
    /// Seconds any one command (or upload step) may go without progress.
    #[arg(long, value_name = "SECONDS", default_value_t = 600)]
    command_timeout: u64,
    /// A driver file replacing the built-in driver of its vendor.
    #[arg(long, value_name = "FILE")]
    pub drivers: Option<PathBuf>,
}

impl SshArgs {
    pub fn options(&self) -> anyhow::Result<ssh::Options> {
        let known = match &self.known_hosts {
            Some(p) => p.clone(),
            None => PathBuf::from(
                std::env::var_os("HOME")
                    .ok_or_else(|| anyhow::anyhow!("no HOME: give --known-hosts FILE"))?,
            )
            .join(".ssh/known_hosts"),
        };
        let auth = match &self.identity {
            Some(k) => Auth::KeyFile(k.clone()),
            None => Auth::Agent,
        };
        let mut o = ssh::Options::new(auth, known);
        if self.accept_new_host_keys {
            o.policy = HostKeyPolicy::AcceptNew;
        }
        o.connect_timeout = std::time::Duration::from_secs(self.connect_timeout.max(1));
        o.command_timeout = std::time::Duration::from_secs(self.command_timeout.max(1));
        Ok(o)
    }

    pub fn user(&self) -> String {
        self.user
            .clone()
            .or_else(|| std::env::var("LBFLEET_SSH_USER").ok())
            .or_else(|| std::env::var("USER").ok())
            .unwrap_or_else(|| "root".into())
    }
}

#[derive(Debug, clap::Args)]
struct CheckArgs {
    /// Device name (from the inventory).
    name: String,
    /// Inventory folders or files (default: inventories/).
    #[arg(long, value_name = "PATH", num_args = 1..)]
    inventory: Vec<PathBuf>,
    #[command(flatten)]
    ssh: SshArgs,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    format: Format,
}

/// The device named `name` in the inventory under `paths`.
fn find_device(
    ctx: &Ctx,
    paths: &[PathBuf],
    name: &str,
) -> anyhow::Result<Option<crate::inventory::Device>> {
    let catalog = ctx.catalog()?;
    let Some(inv) = super::load_inventory(&catalog, &paths_or_default(paths), None)? else {
        return Ok(None);
    };
    Ok(Some(
        inv.devices
            .into_iter()
            .find(|d| d.name == name)
            .ok_or_else(|| anyhow::anyhow!("no device \"{name}\" in the inventory"))?,
    ))
}

/// Upload progress on stderr, about every 10 %.
fn progress_printer(name: String) -> impl FnMut(u64, u64) {
    let start = std::time::Instant::now();
    let mut shown = u64::MAX;
    move |done, total| {
        let pct = (done * 100).checked_div(total).unwrap_or(100);
        if shown == u64::MAX || pct / 10 != shown / 10 {
            shown = pct;
            let secs = start.elapsed().as_secs_f64().max(1e-3);
            eprintln!(
                "{name}: upload {pct:>3} % ({} of {} MiB, {:.0} MiB/s)",
                done >> 20,
                total >> 20,
                done as f64 / 1048576.0 / secs
            );
        }
    }
}

fn image_for(
    images: &std::path::Path,
    vendor: crate::version::Vendor,
    version: &crate::version::Version,
) -> anyhow::Result<crate::images::Image> {
    let m = crate::images::Manifest::load(images)?;
    m.find(vendor, version).cloned().ok_or_else(|| {
        anyhow::anyhow!(
            "no {} {version} image in {} (add it with `lbfleet images add FILE --vendor {} --version {version}`)",
            vendor.id(),
            crate::images::location(images),
            vendor.id()
        )
    })
}

fn connect_target(d: &crate::inventory::Device, ssh: &SshArgs) -> Target {
    Target {
        host: d.mgmt.host.clone(),
        port: d.mgmt.port_or_default(),
        user: ssh.user(),
    }
}

pub fn run(ctx: &Ctx, args: &Args) -> anyhow::Result<ExitStatus> {
    match &args.command {
        Command::Check(a) => check(ctx, a),
        Command::Stage(a) => stage(ctx, a),
        Command::UpgradeHop(a) => upgrade_hop(ctx, a),
    }
}

fn stage(ctx: &Ctx, a: &StageArgs) -> anyhow::Result<ExitStatus> {
    let Some(d) = find_device(ctx, &a.inventory, &a.name)? else {
        return Ok(ExitStatus::Findings);
    };
    let version = crate::version::Version::parse(d.vendor, &a.version)?;
    let image = image_for(&a.images, d.vendor, &version)?;
    let drivers = Drivers::load(a.ssh.drivers.as_deref())?;
    let driver = drivers.get(d.vendor)?;
    let mut t = Ssh2Transport::connect(&connect_target(&d, &a.ssh), &a.ssh.options()?)?;
    let local = a.images.join(&image.file);
    let mut progress = progress_printer(d.name.clone());
    match device::stage(&mut t, driver, &image, &local, &mut progress) {
        Ok(s) if s.sent == 0 => super::out(format!(
            "{}: {} already on the device with SHA-256 {}: nothing sent",
            d.name, image.file, s.sha256
        ))?,
        Ok(s) => super::out(format!(
            "{}: {} staged ({} bytes sent in {:.2} s, {:.0} MiB/s{}), SHA-256 {} verified on the device",
            d.name,
            image.file,
            s.sent,
            s.upload_seconds,
            s.sent as f64 / 1048576.0 / s.upload_seconds.max(1e-6),
            if s.resumed_from > 0 {
                format!(", resumed after {}", s.resumed_from)
            } else {
                String::new()
            },
            s.sha256
        ))?,
        Err(e) => {
            eprintln!("{}: {e}", d.name);
            return Ok(ExitStatus::Findings);
        }
    }
    Ok(ExitStatus::Success)
}

fn upgrade_hop(ctx: &Ctx, a: &HopArgs) -> anyhow::Result<ExitStatus> {
    let Some(d) = find_device(ctx, &a.inventory, &a.name)? else {
        return Ok(ExitStatus::Findings);
    };
    let to = crate::version::Version::parse(d.vendor, &a.to)?;
    let catalog = ctx.catalog()?;
    if let Err(why) = crate::upgrade::check_hop(&catalog, d.hardware(&catalog), &d.version, &to) {
        if !a.force {
            eprintln!(
                "{}: {why}; nothing was done (--force runs the hop anyway)",
                d.name
            );
            return Ok(ExitStatus::Input);
        }
        eprintln!("{}: {why}; running it anyway (--force)", d.name);
    }
    let image = image_for(&a.images, d.vendor, &to)?;
    let drivers = Drivers::load(a.ssh.drivers.as_deref())?;
    let driver = drivers.get(d.vendor)?;
    let target = connect_target(&d, &a.ssh);
    let options = a.ssh.options()?;
    let mut connect = || -> Result<Box<dyn crate::ssh::Transport>, crate::ssh::SshError> {
        Ok(Box::new(Ssh2Transport::connect(&target, &options)?))
    };
    let local = a.images.join(&image.file);
    let hop = device::Hop {
        expect: Expectation {
            vendor: d.vendor,
            version: d.version.clone(),
            role: d.ha_role,
            space_needed: None,
        },
        to: to.clone(),
        image: &image,
        local: &local,
        keep: None,
    };
    let wait = a.wait.wait();
    let name = d.name.clone();
    let mut on_step = |step: device::Step, detail: &str| {
        eprintln!("{name}: {step:?} {detail}");
    };
    let mut progress = progress_printer(d.name.clone());
    match device::upgrade_hop(
        &mut connect,
        driver,
        &hop,
        wait,
        false,
        &mut on_step,
        &mut progress,
    ) {
        Ok(device::HopOutcome::Upgraded(..)) => {
            super::out(format!(
                "{}: upgraded {} -> {to}, post-checks passed",
                d.name, d.version
            ))?;
            Ok(ExitStatus::Success)
        }
        Ok(device::HopOutcome::AlreadyAtTarget) => {
            super::out(format!("{}: already runs {to}: nothing done", d.name))?;
            Ok(ExitStatus::Success)
        }
        Err(e) => {
            eprintln!("{}: {e}", d.name);
            Ok(ExitStatus::Findings)
        }
    }
}

fn check(ctx: &Ctx, a: &CheckArgs) -> anyhow::Result<ExitStatus> {
    let Some(d) = find_device(ctx, &a.inventory, &a.name)? else {
        return Ok(ExitStatus::Findings);
    };
    let drivers = Drivers::load(a.ssh.drivers.as_deref())?;
    let driver = drivers.get(d.vendor)?;
    let mut t = Ssh2Transport::connect(&connect_target(&d, &a.ssh), &a.ssh.options()?)?;
    let checks = device::precheck(
        &mut t,
        driver,
        &Expectation {
            vendor: d.vendor,
            version: d.version.clone(),
            role: d.ha_role,
            space_needed: None,
        },
        device::Scope::All,
    );
    let mut table = Table::new(&["check", "result", "detail"]);
    for c in &checks {
        let r = match c.status {
            Status::Ok => "ok",
            Status::Fail => "FAIL",
            Status::Info => "info",
        };
        table.push(vec![
            Cell::text(c.name),
            Cell::text(r),
            Cell::text(c.detail.clone()),
        ]);
    }
    crate::report::emit(&a.format.exporter().export(&table)?, None)?;
    Ok(if checks.iter().any(|c| c.status == Status::Fail) {
        ExitStatus::Findings
    } else {
        ExitStatus::Success
    })
}
