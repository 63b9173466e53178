//! The inventory report: for every device what runs, which known defects affect it, what
//! should run (a given target or the recommended one), and how to get there.

use crate::HashMap;
use std::collections::BTreeMap;
use std::rc::Rc;
use std::str::FromStr;

use crate::catalog::{Catalog, Defect, Model};
use crate::report::{Cell, Section, Table};
use crate::upgrade::{Outcome, Policy, Recommendation, find_path, recommend};
use crate::version::{Vendor, Version};

use super::{Device, Inventory};

/// What the report aims each device at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TargetSpec {
    /// The recommended-target policy, per device.
    Recommended,
    /// A version for every device (valid only when the devices are of one vendor).
    Version(String),
    /// Versions per vendor (`f5=17.1.3`); other vendors get the recommended target.
    PerVendor(Vec<(Vendor, String)>),
}

impl FromStr for TargetSpec {
    type Err = String;

    /// `recommended`, `VERSION`, or `VENDOR=VERSION[,VENDOR=VERSION...]`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if s.eq_ignore_ascii_case("recommended") {
            return Ok(TargetSpec::Recommended);
        }
        if !s.contains('=') {
            return Ok(TargetSpec::Version(s.to_string()));
        }
        let mut out = Vec::new();
        for part in s.split(',') {
            let (v, ver) = part
                .split_once('=')
                .ok_or_else(|| format!("\"{part}\": expected VENDOR=VERSION"))?;
            let vendor: Vendor = v
                .parse()
                .map_err(|e: crate::version::UnknownVendor| e.to_string())?;
            Version::parse(vendor, ver).map_err(|e| e.to_string())?;
            out.push((vendor, ver.trim().to_string()));
        }
        Ok(TargetSpec::PerVendor(out))
    }
}

impl std::fmt::Display for TargetSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TargetSpec::Recommended => f.write_str("recommended"),
            TargetSpec::Version(v) => f.write_str(v),
            TargetSpec::PerVendor(list) => {
                let parts: Vec<String> = list
                    .iter()
                    .map(|(vendor, v)| format!("{}={v}", vendor.id()))
                    .collect();
                f.write_str(&parts.join(","))
            }
        }
    }
}

/// The assessment of one device.
#[derive(Debug)]
pub struct Assessment<'a> {
    /// The device.
    pub device: &'a Device,
    /// Known defects affecting its current version on its model.
    pub advisories: Vec<&'a Defect>,
    /// Target, path and remark; shared by every device of the same vendor, model and version.
    pub rec: Rc<Recommendation>,
    /// The catalog's entry for its hardware; `None` when the model is unknown (not checked).
    pub hardware: Option<&'a Model>,
}

impl Assessment<'_> {
    /// The report's `reason`: why there is no path or why a better release was passed over,
    /// and that the hardware was not checked when the catalog does not know the model.
    pub fn reason(&self) -> String {
        let mut parts: Vec<String> = Vec::new();
        match &self.rec.outcome {
            Outcome::AlreadyThere { newer: true } => {
                parts.push("already newer than the target".to_string())
            }
            o => parts.extend(
                o.reason()
                    .map(String::from)
                    .or_else(|| self.rec.note.clone()),
            ),
        }
        if self.hardware.is_none() {
            let d = self.device;
            parts.push(format!(
                "{} model \"{}\" is not in the catalog: {}",
                d.vendor,
                d.model,
                super::UNKNOWN_MODEL_EFFECT
            ));
        }
        parts.join("; ")
    }
}

/// Resolves `spec` to a version per vendor present, or an error naming the problem. A target
/// the catalog does not list is refused unless `allow_unknown` (`--allow-unknown-target`).
fn resolve(
    spec: &TargetSpec,
    devices: &[&Device],
    catalog: &Catalog,
    allow_unknown: bool,
) -> Result<HashMap<Vendor, Version>, String> {
    let mut out = HashMap::default();
    match spec {
        TargetSpec::Recommended => {}
        TargetSpec::Version(v) => {
            let mut vendors: Vec<Vendor> = devices.iter().map(|d| d.vendor).collect();
            vendors.sort();
            vendors.dedup();
            match vendors.as_slice() {
                [] => {}
                [one] => {
                    out.insert(*one, Version::parse(*one, v).map_err(|e| e.to_string())?);
                }
                many => {
                    let names: Vec<&str> = many.iter().map(|v| v.id()).collect();
                    return Err(format!(
                        "the devices are of several vendors ({}): give the target per vendor, e.g. --target {}={v}",
                        names.join(", "),
                        names[0]
                    ));
                }
            }
        }
        TargetSpec::PerVendor(list) => {
            for (vendor, v) in list {
                out.insert(
                    *vendor,
                    Version::parse(*vendor, v).map_err(|e| e.to_string())?,
                );
            }
        }
    }
    if !allow_unknown {
        let mut targets: Vec<&Version> = out.values().collect();
        targets.sort();
        for t in targets {
            catalog.known_target(t).map_err(|e| e.to_string())?;
        }
    }
    Ok(out)
}

/// Assesses every device of the inventory; `allow_unknown` as for [`assess_devices`].
pub fn assess<'a>(
    inv: &'a Inventory,
    catalog: &'a Catalog,
    spec: &TargetSpec,
    allow_unknown: bool,
    policy: Policy,
) -> Result<Vec<Assessment<'a>>, String> {
    assess_devices(
        inv.devices.iter().collect(),
        catalog,
        spec,
        allow_unknown,
        policy,
    )
}

/// Assesses the given devices. Paths are computed once per (vendor, model, version, target).
/// A target version the catalog does not list is an error unless `allow_unknown`.
pub fn assess_devices<'a>(
    devices: Vec<&'a Device>,
    catalog: &'a Catalog,
    spec: &TargetSpec,
    allow_unknown: bool,
    policy: Policy,
) -> Result<Vec<Assessment<'a>>, String> {
    let fixed = resolve(spec, &devices, catalog, allow_unknown)?;
    // Target, path and advisories depend only on (vendor, model, version): computed once each.
    type Shared<'c> = (Rc<Recommendation>, Vec<&'c Defect>);
    let mut cache: HashMap<(Vendor, &str, &Version), Shared<'a>> = HashMap::default();
    let mut out = Vec::with_capacity(devices.len());
    for d in devices {
        let (rec, advisories) = cache
            .entry((d.vendor, d.model.as_str(), &d.version))
            .or_insert_with(|| {
                let model = d.hardware(catalog);
                let rec = match fixed.get(&d.vendor) {
                    Some(t) => Recommendation {
                        target: Some(t.clone()),
                        outcome: find_path(catalog, model, &d.version, t),
                        note: None,
                    },
                    None => recommend(catalog, policy, model, &d.version),
                };
                (
                    Rc::new(rec),
                    catalog.defects_affecting(&d.version, model).collect(),
                )
            });
        out.push(Assessment {
            device: d,
            advisories: advisories.clone(),
            rec: rec.clone(),
            hardware: d.hardware(catalog),
        });
    }
    Ok(out)
}

/// The report's columns.
pub const COLUMNS: [&str; 13] = [
    "name",
    "site",
    "vendor",
    "model",
    "version",
    "ha_group",
    "ha_role",
    "advisories",
    "target",
    "path",
    "hops",
    "action",
    "reason",
];

/// One row per device.
pub fn device_table(rows: &[Assessment<'_>]) -> Table {
    let mut t = Table::new(&COLUMNS);
    for a in rows {
        let d = a.device;
        let hops = a.rec.outcome.hops();
        let reason = a.reason();
        t.push(vec![
            Cell::text(&d.name),
            Cell::text(&d.site),
            Cell::text(d.vendor.id()),
            Cell::text(&d.model),
            Cell::text(d.version.as_str()),
            Cell::text(d.ha_group.clone().unwrap_or_default()),
            Cell::text(d.ha_role.id()),
            Cell::List(a.advisories.iter().map(|x| x.id.clone()).collect()),
            Cell::text(
                a.rec
                    .target
                    .as_ref()
                    .map(ToString::to_string)
                    .unwrap_or_default(),
            ),
            Cell::text(
                hops.iter()
                    .map(|h| h.version.to_string())
                    .collect::<Vec<_>>()
                    .join(" > "),
            ),
            Cell::Int(hops.len() as i64),
            Cell::text(a.rec.action()),
            Cell::text(reason),
        ]);
    }
    t
}

/// Counts by site × model × version, and the devices affected by each defect.
pub fn summary(rows: &[Assessment<'_>]) -> Vec<Section> {
    // (site, vendor, model, version) -> (devices, devices per action)
    type Key<'a> = (&'a str, &'a str, &'a str, &'a Version);
    let mut fleet: BTreeMap<Key<'_>, (usize, BTreeMap<&str, usize>)> = BTreeMap::new();
    let mut defects: BTreeMap<&str, (&Defect, Vec<&str>)> = BTreeMap::new();
    for a in rows {
        let d = a.device;
        let e = fleet
            .entry((d.site.as_str(), d.vendor.id(), d.model.as_str(), &d.version))
            .or_default();
        e.0 += 1;
        *e.1.entry(a.rec.action()).or_default() += 1;
        for x in &a.advisories {
            defects
                .entry(&x.id)
                .or_insert((x, Vec::new()))
                .1
                .push(&d.name);
        }
    }
    let mut t = Table::new(&["site", "vendor", "model", "version", "devices", "actions"]);
    for ((site, vendor, model, version), (n, actions)) in fleet {
        t.push(vec![
            Cell::text(site),
            Cell::text(vendor),
            Cell::text(model),
            Cell::text(version.as_str()),
            Cell::Int(n as i64),
            Cell::List(actions.iter().map(|(a, n)| format!("{a}={n}")).collect()),
        ]);
    }
    let mut dt = Table::new(&["defect", "vendor", "kind", "title", "devices", "names"]);
    for (id, (d, names)) in defects {
        dt.push(vec![
            Cell::text(id),
            Cell::text(d.vendor.id()),
            Cell::text(&d.kind),
            Cell::text(&d.title),
            Cell::Int(names.len() as i64),
            Cell::List(names.iter().map(|s| s.to_string()).collect()),
        ]);
    }
    vec![
        Section {
            key: "fleet",
            title: "Devices by site, model and version".into(),
            table: t,
        },
        Section {
            key: "defects",
            title: "Devices affected by known defects".into(),
            table: dt,
        },
    ]
}
