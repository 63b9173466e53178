//! Upgrade paths: the shortest chain of vendor-supported direct upgrades from a device's
//! version to a target, every hop checked against the hardware, and the `recommended` target
//! policy. When no chain exists the outcome says why: the hardware cannot run the target (or
//! every route crosses a release it cannot run) → replace hardware; no rule connects → blocked.

mod recommend;
mod search;

pub use recommend::{Policy, Recommendation, recommend};
pub use search::find_path;

use crate::catalog::Rule;
use crate::version::Version;

/// One hop of an upgrade path.
#[derive(Clone, Debug)]
pub struct Hop {
    /// The version installed by this hop.
    pub version: Version,
    /// The rule that allows it.
    pub rule: Rule,
}

/// What can be done to bring a device to a target.
#[derive(Clone, Debug)]
pub enum Outcome {
    /// The device already runs the target (or something newer).
    AlreadyThere {
        /// Set when the device runs a newer version than the target.
        newer: bool,
    },
    /// A path of one or more hops.
    Upgrade(Vec<Hop>),
    /// The hardware is what stands in the way.
    ReplaceHardware(String),
    /// No vendor-supported chain of upgrades connects the versions.
    Blocked(String),
}

impl Outcome {
    /// The report's action word.
    pub fn action(&self) -> &'static str {
        match self {
            Outcome::AlreadyThere { .. } => "none",
            Outcome::Upgrade(_) => "upgrade",
            Outcome::ReplaceHardware(_) => "replace-hardware",
            Outcome::Blocked(_) => "blocked",
        }
    }

    /// The hops, empty unless the outcome is an upgrade.
    pub fn hops(&self) -> &[Hop] {
        match self {
            Outcome::Upgrade(h) => h,
            _ => &[],
        }
    }

    /// Why there is no path, if there is none.
    pub fn reason(&self) -> Option<&str> {
        match self {
            Outcome::ReplaceHardware(r) | Outcome::Blocked(r) => Some(r),
            _ => None,
        }
    }
}

/// Whether `from` → `to` is one hop the vendor supports on `model` (a direct rule of the
/// catalog, and hardware that runs `to`). `Err` says why not and, where one exists, the path
/// `lbfleet path` would take instead.
pub fn check_hop(
    catalog: &crate::catalog::Catalog,
    model: Option<&crate::catalog::Model>,
    from: &Version,
    to: &Version,
) -> Result<(), String> {
    match find_path(catalog, model, from, to) {
        Outcome::Upgrade(hops) if hops.len() == 1 => Ok(()),
        Outcome::Upgrade(hops) => Err(format!(
            "{from} -> {to} is not a vendor-supported hop: the supported path is {from} > {}",
            hops.iter()
                .map(|h| h.version.to_string())
                .collect::<Vec<_>>()
                .join(" > ")
        )),
        Outcome::AlreadyThere { newer: true } => {
            Err(format!("{to} is older than {from}: not an upgrade"))
        }
        // Nothing to install: the device step sees it runs `to` and does nothing.
        Outcome::AlreadyThere { newer: false } => Ok(()),
        Outcome::ReplaceHardware(why) | Outcome::Blocked(why) => Err(format!(
            "{from} -> {to} is not a vendor-supported hop: {why}"
        )),
    }
}
