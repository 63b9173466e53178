//! `plan check`: is a plan still true of the fleet? Every planned device must still exist with
//! the version, HA group and role, site, model and management address the plan expects, and
//! the catalog must be the one the paths came from. New devices that the plan's selectors would
//! have picked are reported too.

use crate::{HashMap, HashSet};
use std::path::Path;

use super::file::{Group, Plan, PlannedDevice, SCHEMA, Step, Wave};
use super::select::{Selection, Selector};
use crate::catalog::Catalog;
use crate::error::{InputError, Location};
use crate::inventory::Inventory;

/// One way the fleet no longer matches the plan.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Difference {
    /// The device concerned, if one.
    pub device: Option<String>,
    /// The device's row in the current inventory, when it has one.
    pub inventory: Option<Location>,
    /// Stable identifier: `catalog-changed`, `device-removed`, `version-drift`, …
    pub code: &'static str,
    /// What changed.
    pub message: String,
}

/// `error[CODE]: DEVICE (INVENTORY-FILE:LINE): MESSAGE`, the device parts when known: the form
/// of `inventory check` after its location.
impl std::fmt::Display for Difference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "error[{}]: ", self.code)?;
        if let Some(d) = &self.device {
            f.write_str(d)?;
            if let Some(at) = &self.inventory {
                write!(f, " ({at})")?;
            }
            f.write_str(": ")?;
        }
        f.write_str(&self.message)
    }
}

impl Difference {
    /// `PLAN[:LINE]: error[CODE]: …`: the line is where the device is in the plan file, when
    /// known.
    pub fn located(&self, plan: &Path, lines: &DeviceLines) -> String {
        let file = plan.display().to_string();
        let at = match self.device.as_deref().and_then(|d| lines.get(d)) {
            Some(line) => Location::line(file, line),
            None => Location::file(file),
        };
        format!("{at}: {self}")
    }
}

/// Where each device first appears in a plan file (its `"name": "…"` line), so that findings
/// can point into the file as `inventory check` points into CSV.
#[derive(Clone, Debug, Default)]
pub struct DeviceLines(HashMap<String, u64>);

impl DeviceLines {
    /// Scans the text of a plan (as `lbfleet plan` writes it, one key per line).
    pub fn scan(text: &[u8]) -> DeviceLines {
        let mut out: HashMap<String, u64> = HashMap::default();
        for (i, line) in text.split(|&b| b == b'\n').enumerate() {
            let Ok(line) = std::str::from_utf8(line) else {
                continue;
            };
            if let Some(rest) = line.trim_start().strip_prefix("\"name\": \"")
                && let Some((name, _)) = rest.split_once('"')
            {
                out.entry(name.to_string()).or_insert(i as u64 + 1);
            }
        }
        DeviceLines(out)
    }

    /// The line of a device, when found.
    pub fn get(&self, device: &str) -> Option<u64> {
        self.0.get(device).copied()
    }
}

/// Reads a plan file, refusing other schemas.
pub fn load(path: &Path) -> Result<Plan, InputError> {
    load_located(path).map(|(plan, _)| plan)
}

/// Reads a plan file, with where its devices are in it.
pub fn load_located(path: &Path) -> Result<(Plan, DeviceLines), InputError> {
    let at = Location::file(path.display().to_string());
    let bytes = std::fs::read(path)
        .map_err(|e| InputError::new(at.clone(), format!("cannot read: {e}")))?;
    let value: serde_json::Value = serde_json::from_slice(&bytes).map_err(|e| {
        InputError::new(
            Location::line(path.display().to_string(), e.line() as u64),
            format!("not a JSON plan: {e}"),
        )
    })?;
    match value.get("schema").and_then(|s| s.as_str()) {
        Some(SCHEMA) => {}
        Some(other) => {
            return Err(InputError::new(
                at.field("schema"),
                format!(
                    "plan schema \"{other}\" is not supported (this lbfleet reads \"{SCHEMA}\")"
                ),
            ));
        }
        None => {
            return Err(InputError::new(
                at.field("schema"),
                "not an lbfleet plan: no schema",
            ));
        }
    }
    let plan = serde_json::from_value(value)
        .map_err(|e| InputError::new(at, format!("malformed plan: {e}")))?;
    Ok((plan, DeviceLines::scan(&bytes)))
}

/// Everything in a plan that will reach a session or a command, checked before the first
/// session whatever `--force` says: device and group names, management addresses, vendors,
/// versions, and that every step names a device of its group. A hand-edited plan cannot get
/// `$(touch x)` or `127.0.9.10;reboot` near a device, and a bad value late in the plan stops
/// the run before the first device is changed, not when its turn comes.
pub fn validate(waves: &[Wave]) -> Vec<String> {
    use crate::inventory::{MgmtHost, valid_name};
    use crate::version::{Vendor, Version};
    let mut out = Vec::new();
    for w in waves {
        for g in &w.groups {
            let gname = g.ha_group.as_deref().unwrap_or("");
            if !gname.is_empty() && !valid_name(gname) {
                out.push(format!(
                    "wave {}: group name {gname:?} is not valid",
                    w.index
                ));
            }
            let at = |what: &str| format!("wave {} group {}: {what}", w.index, gname);
            for d in &g.devices {
                let dev = |what: String| at(&format!("device {:?}: {what}", d.name));
                if !valid_name(&d.name) {
                    out.push(dev("not a valid device name".into()));
                }
                if let Err(e) = d.mgmt_host.parse::<MgmtHost>() {
                    out.push(dev(format!("mgmt_host {:?}: {e}", d.mgmt_host)));
                }
                match d.vendor.parse::<Vendor>() {
                    Err(e) => out.push(dev(format!("vendor: {e}"))),
                    Ok(v) => {
                        for (field, value) in std::iter::once(("from", &d.from))
                            .chain(d.path.iter().map(|h| ("path", h)))
                        {
                            if let Err(e) = Version::parse(v, value) {
                                out.push(dev(format!("{field} {value:?}: {e}")));
                            }
                        }
                    }
                }
                if !matches!(d.role.as_str(), "active" | "standby" | "standalone") {
                    out.push(dev(format!(
                        "role {:?} is not active, standby or standalone",
                        d.role
                    )));
                }
            }
            let member = |n: &str| g.devices.iter().any(|d| d.name == n);
            for step in &g.steps {
                match step {
                    Step::Upgrade { device } | Step::Reboot { device } if !member(device) => {
                        out.push(at(&format!(
                            "a step names {device:?}, not a device of the group"
                        )));
                    }
                    Step::Failover {
                        to,
                        mgmt_host,
                        from,
                        from_mgmt_host,
                    } => {
                        let units = [
                            (Some(to), Some(mgmt_host), "mgmt_host"),
                            (from.as_ref(), from_mgmt_host.as_ref(), "from_mgmt_host"),
                        ];
                        for (name, host, field) in units {
                            if let Some(name) = name
                                && !valid_name(name)
                            {
                                out.push(at(&format!(
                                    "failover to {to:?}: {name:?} is not a valid device name"
                                )));
                            }
                            if let Some(host) = host
                                && let Err(e) = host.parse::<MgmtHost>()
                            {
                                out.push(at(&format!("failover to {to:?}: {field} {host:?}: {e}")));
                            }
                        }
                        if from.is_some() != from_mgmt_host.is_some() {
                            out.push(at(&format!(
                                "failover to {to:?}: from and from_mgmt_host go together"
                            )));
                        }
                    }
                    _ => {}
                }
            }
        }
    }
    out
}

/// The differences between `plan` and the current inventory and catalog.
/// What a run's journal says devices now are: (device, `version` | `ha_role`) → value, as
/// `executor::journaled_cells` reads it. A device may be as planned or as the journal says.
pub type Journaled = HashMap<(String, &'static str), String>;

pub fn check(plan: &Plan, inv: &Inventory, catalog: &Catalog, done: &Journaled) -> Vec<Difference> {
    let mut out = Vec::new();
    if plan.catalog.digest != catalog.digest {
        out.push(Difference {
            device: None,
            inventory: None,
            code: "catalog-changed",
            message: format!(
                "the catalog changed since planning ({} → {}): paths and targets may differ, plan again",
                plan.catalog.digest, catalog.digest
            ),
        });
    }
    out.extend(check_devices(
        plan.devices().map(|(_, g, p)| (g, p)),
        inv,
        done,
    ));
    // Devices the plan's selection would pick that the plan does not know.
    let known: HashSet<&str> = plan
        .devices()
        .map(|(_, _, d)| d.name.as_str())
        .chain(plan.unschedulable.iter().map(|u| u.name.as_str()))
        .chain(plan.up_to_date.iter().map(String::as_str))
        .collect();
    let parse =
        |v: &[String]| -> Vec<Selector> { v.iter().filter_map(|s| s.parse().ok()).collect() };
    let sel = Selection {
        only: parse(&plan.options.only),
        exclude: parse(&plan.options.exclude),
    };
    for d in &inv.devices {
        if !known.contains(d.name.as_str()) && sel.selects(d) && !sel.excludes(d) {
            out.push(Difference {
                device: Some(d.name.clone()),
                inventory: Some(d.at.clone()),
                code: "device-added",
                message: format!(
                    "in the inventory ({} {} {}) but not in the plan",
                    d.vendor.id(),
                    d.model,
                    d.version
                ),
            });
        }
    }
    out
}

/// The differences between planned devices (each with its group) and the inventory: removed,
/// another version, role, HA group, site, model or management address. A version or role is
/// current when it is the plan's or the one the run's journal says a finished step made.
pub fn check_devices<'a>(
    devices: impl Iterator<Item = (&'a Group, &'a PlannedDevice)>,
    inv: &Inventory,
    done: &Journaled,
) -> Vec<Difference> {
    let mut out = Vec::new();
    let by_name: HashMap<&str, &crate::inventory::Device> =
        inv.devices.iter().map(|d| (d.name.as_str(), d)).collect();
    for (g, p) in devices {
        let Some(d) = by_name.get(p.name.as_str()) else {
            out.push(Difference {
                device: Some(p.name.clone()),
                inventory: None,
                code: "device-removed",
                message: "no longer in the inventory".into(),
            });
            continue;
        };
        let mut diff = |code, message: String| {
            out.push(Difference {
                device: Some(p.name.clone()),
                inventory: Some(d.at.clone()),
                code,
                message,
            })
        };
        let journaled = |field| done.get(&(p.name.clone(), field)).map(String::as_str);
        if d.version.as_str() != p.from && journaled("version") != Some(d.version.as_str()) {
            let hop = p.path.iter().position(|h| h == d.version.as_str());
            diff(
                "version-drift",
                match hop {
                    Some(i) => format!(
                        "runs {} (hop {} of the planned path), the plan expects {}",
                        d.version,
                        i + 1,
                        p.from
                    ),
                    None => format!("runs {}, the plan expects {}", d.version, p.from),
                },
            );
        }
        if d.ha_role.id() != p.role && journaled("ha_role") != Some(d.ha_role.id()) {
            diff(
                "role-changed",
                format!("HA role is {}, the plan expects {}", d.ha_role.id(), p.role),
            );
        }
        if d.ha_group.as_deref() != g.ha_group.as_deref() {
            diff(
                "group-changed",
                format!(
                    "HA group is {}, the plan expects {}",
                    d.ha_group.as_deref().unwrap_or("none"),
                    g.ha_group.as_deref().unwrap_or("none")
                ),
            );
        }
        if d.site != g.site {
            diff(
                "site-changed",
                format!("site is {}, the plan expects {}", d.site, g.site),
            );
        }
        if !d.model.eq_ignore_ascii_case(&p.model) || d.vendor.id() != p.vendor {
            diff(
                "model-changed",
                format!(
                    "is a {} {}, the plan expects {} {}",
                    d.vendor.id(),
                    d.model,
                    p.vendor,
                    p.model
                ),
            );
        }
        if d.mgmt.to_string() != p.mgmt_host {
            diff(
                "mgmt-changed",
                format!(
                    "management address is {}, the plan expects {}",
                    d.mgmt, p.mgmt_host
                ),
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_lines_are_where_each_name_first_appears() {
        let text = b"{\n  \"waves\": [\n    {\n      \"name\": \"a1\",\n      \"steps\": [{\"device\": \"a1\"}]\n    },\n    {\n      \"name\": \"b2\"\n    }\n  ],\n  \"unschedulable\": [{\n    \"name\": \"a1\"\n  }]\n}\n";
        let lines = DeviceLines::scan(text);
        assert_eq!(lines.get("a1"), Some(4));
        assert_eq!(lines.get("b2"), Some(8));
        assert_eq!(lines.get("c3"), None);
        let d = Difference {
            device: Some("b2".into()),
            inventory: Some(Location::line("inv/devices.csv", 7)),
            code: "role-changed",
            message: "HA role is standby, the plan expects active".into(),
        };
        assert_eq!(
            d.located(Path::new("plan.json"), &lines),
            "plan.json:8: error[role-changed]: b2 (inv/devices.csv:7): HA role is standby, the plan expects active"
        );
        let gone = Difference {
            device: Some("c3".into()),
            inventory: None,
            code: "device-removed",
            message: "no longer in the inventory".into(),
        };
        assert_eq!(
            gone.located(Path::new("plan.json"), &lines),
            "plan.json: error[device-removed]: c3: no longer in the inventory"
        );
    }
}
