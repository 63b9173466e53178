//! `lbfleet device check NAME`: connect to one device of the inventory over SSH and run every
//! read-only pre-check of an upgrade hop.

use std::path::PathBuf;

use super::Ctx;
use super::inventory_check::paths_or_default;
use crate::ExitStatus;
use crate::device::{self, Expectation, Status};
use crate::driver::Drivers;
use crate::inventory::{self, Severity};
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
}

/// How to reach devices over SSH.
#[derive(Debug, clap::Args)]
pub struct SshArgs {
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
    /// A driver file replacing the built-in driver of its vendor.
    #[arg(long, value_name = "FILE")]
    drivers: Option<PathBuf>,
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

pub fn run(ctx: &Ctx, args: &Args) -> anyhow::Result<ExitStatus> {
    let Command::Check(a) = &args.command;
    let catalog = ctx.catalog()?;
    let inv = inventory::load(&paths_or_default(&a.inventory), &catalog)?;
    if inv.has_errors() {
        for f in inv
            .findings
            .iter()
            .filter(|f| f.severity == Severity::Error)
        {
            eprintln!("{f}");
        }
        return Ok(ExitStatus::Findings);
    }
    let d = inv
        .devices
        .iter()
        .find(|d| d.name == a.name)
        .ok_or_else(|| anyhow::anyhow!("no device \"{}\" in the inventory", a.name))?;
    let drivers = Drivers::load(a.ssh.drivers.as_deref())?;
    let driver = drivers.get(d.vendor)?;
    let target = Target {
        host: d.mgmt.host.clone(),
        port: d.mgmt.port_or_default(),
        user: a.ssh.user(),
    };
    let mut t = Ssh2Transport::connect(&target, &a.ssh.options()?)?;
    let checks = device::precheck(
        &mut t,
        driver,
        &Expectation {
            vendor: d.vendor,
            version: d.version.clone(),
            role: d.ha_role,
            space_needed: None,
        },
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
