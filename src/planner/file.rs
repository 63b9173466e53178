//! The plan file: what a reviewer reads in a change ticket and what `lbfleet upgrade` executes.
//! JSON with a `schema` version; times are RFC 3339 with the site's UTC offset. Everything is
//! ordered deterministically, so the same inputs give the same bytes apart from `created`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::durations::DurationRow;

/// The schema identifier written into every plan.
pub const SCHEMA: &str = "lbfleet.plan/1";

/// A rollout plan.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// Always [`SCHEMA`].
    pub schema: String,
    /// When the plan was made (UTC).
    pub created: String,
    /// The inventory the plan was made from.
    pub inventory: InventoryRef,
    /// The catalog the paths come from.
    pub catalog: CatalogRef,
    /// The target as given (`recommended`, a version, or per vendor).
    pub target: String,
    /// The options the plan was built with.
    pub options: PlanOptions,
    /// Counts for the reviewer.
    pub summary: Summary,
    /// The waves, in order.
    pub waves: Vec<Wave>,
    /// Devices selected but left out, each with the reason.
    pub unschedulable: Vec<Unschedulable>,
    /// Devices selected that already run their target.
    pub up_to_date: Vec<String>,
    /// Warnings about the plan.
    pub lints: Vec<Lint>,
}

/// Which inventory.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InventoryRef {
    /// The paths given on the command line.
    pub paths: Vec<String>,
    /// The files read.
    pub files: Vec<String>,
    /// SHA-256 over those files.
    pub digest: String,
}

/// Which catalog.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogRef {
    /// `embedded` or the `--catalog` folder.
    pub source: String,
    /// SHA-256 over the catalog files.
    pub digest: String,
}

/// The options that shaped the plan.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanOptions {
    /// Nothing is placed before this instant (UTC).
    pub start: String,
    /// The date the `recommended` policy and the end-of-support lint use.
    pub as_of: String,
    /// Groups per wave, if capped.
    pub max_per_wave: Option<usize>,
    /// Groups per site per wave, if capped.
    pub max_per_site: Option<usize>,
    /// Whether HA members go in separate windows.
    pub ha_two_phase: bool,
    /// Whether the first wave is a canary.
    pub canary: bool,
    /// Minutes to wait after the canary.
    pub canary_soak_minutes: i64,
    /// Minutes to wait after every later wave.
    pub soak_minutes: i64,
    /// Whether an HA group ends with its original active carrying traffic again (`false`:
    /// `--no-failback`, the roles stay swapped).
    #[serde(default = "yes")]
    pub failback: bool,
    /// Whether hop estimates leave out the upload (images staged ahead with `lbfleet stage`).
    #[serde(default)]
    pub pre_staged: bool,
    /// `--only` selectors.
    pub only: Vec<String>,
    /// `--exclude` selectors.
    pub exclude: Vec<String>,
    /// How far ahead windows are searched, in days.
    pub horizon_days: i64,
    /// The step durations in force (built-in rows first, then the user's).
    pub durations: Vec<DurationRow>,
    /// What must say yes before the waves after the canary (`plan --gate`): `upgrade` holds
    /// them for it unless told another gate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gate: Option<String>,
}

fn yes() -> bool {
    true
}

/// Counts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    /// Devices in the inventory.
    pub devices: usize,
    /// Devices the selectors left in.
    pub selected: usize,
    /// Devices with an upgrade in a wave.
    pub scheduled: usize,
    /// Devices already at their target.
    pub up_to_date: usize,
    /// Devices that cannot be scheduled.
    pub unschedulable: usize,
    /// Number of waves, the canary included.
    pub waves: usize,
    /// Maintenance windows needed, per site.
    pub windows_needed: BTreeMap<String, usize>,
    /// When the last group is expected to finish.
    pub finish: Option<String>,
}

/// Whether a wave is the canary.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WaveKind {
    /// The first, small wave that proves the path on each kind of device.
    Canary,
    /// Any later wave.
    Wave,
}

/// One wave: groups that may run at the same time.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Wave {
    /// 0-based position.
    pub index: usize,
    /// Canary or not.
    pub kind: WaveKind,
    /// Nothing of this wave starts earlier (end of the previous wave plus soak), UTC.
    pub not_before: String,
    /// The groups, in start order.
    pub groups: Vec<Group>,
}

/// Which members of an HA group a group entry covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    /// The whole group in one window.
    Full,
    /// The standby only (canary, or `--ha-two-phase`).
    Standby,
    /// Failover, then the former active (after a `standby` phase in an earlier wave).
    Active,
}

/// One HA group (or standalone device) in one window.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Group {
    /// Site.
    pub site: String,
    /// HA group name; null for a standalone device.
    pub ha_group: Option<String>,
    /// Which members this entry covers.
    pub phase: Phase,
    /// The maintenance window that holds the work (site offset).
    pub window_start: String,
    /// When that window closes (site offset).
    pub window_end: String,
    /// Planned start (site offset).
    pub start: String,
    /// Planned end, never after `window_end` (site offset).
    pub end: String,
    /// Estimated minutes of work.
    pub estimated_minutes: i64,
    /// The devices upgraded, in execution order.
    pub devices: Vec<PlannedDevice>,
    /// Every step in order, failovers included.
    pub steps: Vec<Step>,
    /// The unit carrying traffic when the entry ends, through the soak after its wave.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub carrier: Option<Carrier>,
}

/// Which unit carries traffic after a group entry, and on which release.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Carrier {
    /// The active (or standalone) unit.
    pub device: String,
    /// The release it runs then.
    pub version: String,
}

/// A device upgraded by a group.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedDevice {
    /// Device name.
    pub name: String,
    /// HA role at planning time.
    pub role: String,
    /// Vendor.
    pub vendor: String,
    /// Model id.
    pub model: String,
    /// The version it is expected to run before the upgrade.
    pub from: String,
    /// Hop versions in order; the last is the target.
    pub path: Vec<String>,
    /// Management host or address.
    pub mgmt_host: String,
    /// Estimated minutes for all its hops.
    pub estimated_minutes: i64,
}

/// One step of a group.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "lowercase")]
pub enum Step {
    /// Take a device through its whole path.
    Upgrade {
        /// The device.
        device: String,
    },
    /// Reboot a device into the software it runs (the memory-leak mitigation).
    Reboot {
        /// The device.
        device: String,
    },
    /// Make `to` the active unit of the group, verified on both units.
    Failover {
        /// The unit that becomes active.
        to: String,
        /// Its management address (it may not be upgraded in this entry).
        mgmt_host: String,
        /// The unit giving up traffic (plans written before this field: the group's active
        /// member).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        from: Option<String>,
        /// Its management address.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        from_mgmt_host: Option<String>,
    },
}

/// A device that cannot be scheduled.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unschedulable {
    /// Device name.
    pub name: String,
    /// Site.
    pub site: String,
    /// `blocked`, `replace-hardware`, `no-window`, `peer` (its HA peer cannot go), …
    pub code: String,
    /// Why, in the user's terms.
    pub reason: String,
}

/// A warning about the plan.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lint {
    /// Stable identifier.
    pub code: String,
    /// What, in the user's terms.
    pub message: String,
}

impl InventoryRef {
    /// The record of `inv`, read from `paths`.
    pub fn of(inv: &crate::inventory::Inventory, paths: &[String]) -> InventoryRef {
        InventoryRef {
            paths: paths.to_vec(),
            files: inv.files.iter().map(|f| f.display().to_string()).collect(),
            digest: inv.digest.clone(),
        }
    }
}

impl CatalogRef {
    /// The record of `catalog`, from `source`.
    pub fn of(catalog: &crate::catalog::Catalog, source: &str) -> CatalogRef {
        CatalogRef {
            source: source.to_string(),
            digest: catalog.digest.clone(),
        }
    }
}

impl Plan {
    /// Every planned device with the wave that upgrades it.
    pub fn devices(&self) -> impl Iterator<Item = (&Wave, &Group, &PlannedDevice)> {
        self.waves.iter().flat_map(|w| {
            w.groups
                .iter()
                .flat_map(move |g| g.devices.iter().map(move |d| (w, g, d)))
        })
    }
}
