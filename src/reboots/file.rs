//! The reboot schedule file: what a reviewer reads and what `lbfleet reboots run` executes.
//! JSON with a `schema` version. Its `rounds` are waves of the rollout engine: round *k* holds
//! the *k*-th reboot of every group, each group placed in one maintenance window of its site.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{InputError, Location};
use crate::planner::file::{CatalogRef, InventoryRef, Lint, Unschedulable, Wave};

/// The schema identifier written into every schedule.
pub const SCHEMA: &str = "lbfleet.reboots/1";

/// A recurring reboot schedule.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Schedule {
    /// Always [`SCHEMA`].
    pub schema: String,
    /// When the schedule was made (UTC).
    pub created: String,
    /// The inventory it was made from.
    pub inventory: InventoryRef,
    /// The catalog whose defects chose devices.
    pub catalog: CatalogRef,
    /// The options it was built with.
    pub options: ScheduleOptions,
    /// The IANA zone of each site with reboots (for calendars).
    pub sites: BTreeMap<String, String>,
    /// Every device that gets reboots, with why and how often.
    pub devices: Vec<Rebooted>,
    /// Round *k*: the *k*-th reboot of each group, in start order.
    pub rounds: Vec<Wave>,
    /// Devices that need reboots but cannot get them (no window long enough, unknown site).
    pub unschedulable: Vec<Unschedulable>,
    /// Devices affected by a leak defect that get no reboots, with the reason (the telemetry
    /// shows no leak, a planned upgrade fixes it before the first reboot).
    pub skipped: Vec<Unschedulable>,
    /// Warnings (an interval the windows cannot meet, a member without telemetry...).
    pub lints: Vec<Lint>,
}

/// The options that shaped the schedule.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScheduleOptions {
    /// Nothing starts before this instant (UTC).
    pub from: String,
    /// Weeks covered.
    pub weeks: u32,
    /// `7d`, or `auto` (the evaluator's recommended interval per device).
    pub interval: String,
    /// Groups of a site rebooting at the same time, at most.
    pub max_per_site: usize,
    /// Telemetry read for `auto` intervals and leak detection: the files, or the Prometheus
    /// server with its mapping and window.
    pub telemetry: Vec<String>,
    /// The upgrade plan whose fixed releases end the reboots, when given.
    pub upgrade_plan: Option<String>,
}

/// A device that gets reboots.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Rebooted {
    /// Device name.
    pub name: String,
    /// Site.
    pub site: String,
    /// HA group, when in one.
    pub ha_group: Option<String>,
    /// Why: defect ids of the catalog, `telemetry` when found leaking, `ha-peer` when only its
    /// peer is affected (a pair is rebooted together).
    pub reasons: Vec<String>,
    /// Leak rate measured in telemetry, bytes/day.
    pub leak_bytes_per_day: Option<f64>,
    /// Days between reboots in force for its group.
    pub interval_days: u32,
    /// Where that interval comes from: `given`, `telemetry`, `default` (no telemetry: weekly).
    pub interval_source: String,
    /// The planned upgrade that fixes its defects: no reboots start after this instant.
    pub fixed_after: Option<String>,
    /// The release that upgrade installs.
    pub fixed_by: Option<String>,
}

impl Schedule {
    /// Reads a schedule, refusing other schemas with the file and field.
    pub fn load(path: &Path) -> Result<Schedule, InputError> {
        let at = Location::file(path.display().to_string());
        let bytes = std::fs::read(path)
            .map_err(|e| InputError::new(at.clone(), format!("cannot read: {e}")))?;
        let v: serde_json::Value = serde_json::from_slice(&bytes).map_err(|e| {
            InputError::new(
                Location::line(path.display().to_string(), e.line() as u64),
                format!("not a JSON schedule: {e}"),
            )
        })?;
        match v.get("schema").and_then(|s| s.as_str()) {
            Some(SCHEMA) => {}
            Some(other) => {
                return Err(InputError::new(
                    at.field("schema"),
                    format!("\"{other}\" is not a reboot schedule (expected \"{SCHEMA}\")"),
                ));
            }
            None => {
                return Err(InputError::new(
                    at.field("schema"),
                    format!("missing: not a reboot schedule (expected \"{SCHEMA}\")"),
                ));
            }
        }
        serde_json::from_value(v).map_err(|e| InputError::new(at, e.to_string()))
    }

    /// Reboots of groups in all rounds.
    pub fn group_reboots(&self) -> usize {
        self.rounds.iter().map(|r| r.groups.len()).sum()
    }
}
