//! The fleet inventory: device CSV files and `sites.csv`, read into validated domain types.
//!
//! Loading never stops at the first bad row: every problem becomes a [`Finding`] with file,
//! line and field, and only rows without errors become [`Device`]s. Files that cannot be read or
//! parsed as CSV at all are an [`InputError`].

pub mod edit;
mod host;
pub mod report;
mod site;
pub mod sync;

use crate::{HashMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

pub use host::MgmtHost;
pub use site::{Site, Window, parse_windows};

use crate::catalog::{Catalog, Model};
use crate::csvio::{CsvFile, CsvRow};
use crate::error::{InputError, Location};
use crate::version::{Vendor, Version};

/// The role of a device in its HA group.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum HaRole {
    /// Carries traffic.
    Active,
    /// Takes over on failover.
    Standby,
    /// Not in an HA group.
    Standalone,
}

impl HaRole {
    /// The word used in files.
    pub fn id(self) -> &'static str {
        match self {
            HaRole::Active => "active",
            HaRole::Standby => "standby",
            HaRole::Standalone => "standalone",
        }
    }
}

/// One load balancer.
#[derive(Clone, Debug)]
pub struct Device {
    /// Unique name.
    pub name: String,
    /// Site name (defined in `sites.csv`).
    pub site: String,
    /// Vendor.
    pub vendor: Vendor,
    /// Catalog model id; the model as written when the catalog does not know it (a warning:
    /// see [`Device::hardware`]).
    pub model: String,
    /// Running version.
    pub version: Version,
    /// Management address.
    pub mgmt: MgmtHost,
    /// HA group name; `None` for a standalone device.
    pub ha_group: Option<String>,
    /// HA role.
    pub ha_role: HaRole,
    /// Columns lbfleet does not use, kept as they were.
    pub extra: Vec<(String, String)>,
    /// Where the device is defined.
    pub at: Location,
}

impl Device {
    /// The catalog's entry for the device's hardware; `None` when the catalog does not know the
    /// model (warning `unknown-model`). Every hardware check goes through this, so an unknown
    /// model is judged like "any hardware": no platform-support rule applies, defects limited
    /// to some models count as they would on any model, and paths follow the vendor's rules.
    pub fn hardware<'c>(&self, catalog: &'c Catalog) -> Option<&'c Model> {
        catalog.model(self.vendor, &self.model)
    }
}

/// How bad a finding is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The inventory cannot be used until this is fixed.
    Error,
    /// Worth a look; does not block.
    Warning,
}

/// One problem found in the inventory.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Finding {
    /// Error or warning.
    pub severity: Severity,
    /// Stable identifier, e.g. `duplicate-name`.
    pub code: &'static str,
    /// Where.
    pub location: Location,
    /// What, in the user's terms.
    pub message: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sev = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(
            f,
            "{}: {sev}[{}]: {}",
            self.location, self.code, self.message
        )
    }
}

/// A loaded inventory.
#[derive(Debug, Default)]
pub struct Inventory {
    /// Devices without errors, in file order.
    pub devices: Vec<Device>,
    /// Sites by name.
    pub sites: Vec<Site>,
    /// The files read, in order.
    pub files: Vec<PathBuf>,
    /// SHA-256 over the files read (names and bytes).
    pub digest: String,
    /// Device rows read, with errors or not (`devices` holds the usable ones).
    pub device_rows: usize,
    /// Site rows read, with errors or not (`sites` holds the usable ones).
    pub site_rows: usize,
    /// Everything found wrong: sites files first, then in file order.
    pub findings: Vec<Finding>,
    site_index: HashMap<String, usize>,
    /// Sites defined only by rows with errors, by name: where their error is. Their devices
    /// are skipped, not reported one by one as at an unknown site.
    broken_sites: HashMap<String, Location>,
}

impl Inventory {
    /// Whether any finding is an error.
    pub fn has_errors(&self) -> bool {
        self.findings.iter().any(|f| f.severity == Severity::Error)
    }

    /// A site by name.
    pub fn site(&self, name: &str) -> Option<&Site> {
        self.site_index.get(name).map(|&i| &self.sites[i])
    }
}

/// The CSV files under `paths`: files as given, folders searched recursively for `*.csv`
/// (skipping a `catalog` folder and hidden entries), sorted within each folder.
pub fn discover(paths: &[PathBuf]) -> Result<Vec<PathBuf>, InputError> {
    let mut out = Vec::new();
    for p in paths {
        let meta = std::fs::metadata(p).map_err(|e| {
            InputError::new(
                Location::file(p.display().to_string()),
                format!("cannot read: {e}"),
            )
        })?;
        if meta.is_dir() {
            walk(p, &mut out)?;
        } else {
            out.push(p.clone());
        }
    }
    if out.is_empty() {
        let names: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
        return Err(InputError::new(
            Location::file(names.join(", ")),
            "no CSV files found",
        ));
    }
    Ok(out)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), InputError> {
    let err = |e: std::io::Error| {
        InputError::new(
            Location::file(dir.display().to_string()),
            format!("cannot read: {e}"),
        )
    };
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(err)?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()
        .map_err(err)?;
    entries.sort();
    for path in entries {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if name.starts_with('.') {
            continue;
        }
        if path.is_dir() {
            if name != "catalog" {
                walk(&path, out)?;
            }
        } else if name.to_ascii_lowercase().ends_with(".csv") {
            out.push(path);
        }
    }
    Ok(())
}

/// Whether a CSV is a list of candidate models (vendor and model columns, no device `name`,
/// no site `timezone`): `evaluate`'s `--candidates` file, not part of the inventory.
fn is_candidates(csv: &CsvFile) -> bool {
    csv.column("vendor").is_some()
        && csv.column("model").is_some()
        && csv.column("name").is_none()
        && csv.column("timezone").is_none()
}

/// Reads and checks the inventory under `paths` against `catalog`.
pub fn load(paths: &[PathBuf], catalog: &Catalog) -> Result<Inventory, InputError> {
    let files = discover(paths)?;
    let mut hasher = Sha256::new();
    let mut site_files = Vec::new();
    let mut device_files = Vec::new();
    let mut inv_findings = Vec::new();
    let mut files_read = Vec::new();
    for path in &files {
        let name = path.display().to_string();
        let bytes = std::fs::read(path)
            .map_err(|e| InputError::new(Location::file(&name), format!("cannot read: {e}")))?;
        let csv = CsvFile::parse(name.clone(), &bytes)?;
        // A candidate hardware list (`evaluate --candidates`) may live beside the inventory.
        if is_candidates(&csv) {
            continue;
        }
        hasher.update(name.as_bytes());
        hasher.update([0]);
        hasher.update(&bytes);
        files_read.push(path.clone());
        // A row that does not split into the header's columns is a finding; the rest is checked.
        inv_findings.extend(csv.bad_rows.iter().map(|e| Finding {
            severity: Severity::Error,
            code: "csv-row",
            location: e.location.clone(),
            message: e.message.clone(),
        }));
        if csv.column("timezone").is_some() {
            site_files.push(csv);
        } else if csv.column("name").is_some() && csv.column("vendor").is_some() {
            device_files.push(csv);
        } else {
            return Err(InputError::new(
                Location::line(&csv.name, 1),
                format!(
                    "neither a sites file (site,timezone,windows) nor a device file (name,site,vendor,model,version,mgmt_host,ha_group,ha_role); header: {}",
                    csv.headers.join(",")
                ),
            ));
        }
    }
    // Every device names a site: without a sites file each row would fail alone.
    if let (Some(devices), true) = (device_files.first(), site_files.is_empty()) {
        return Err(InputError::new(
            Location::file(&devices.name),
            "no sites file among the inventory files (a CSV with site,timezone,windows, such as \
             inventories/sites.csv): name it too, or the folder that holds both",
        ));
    }
    let mut inv = Inventory {
        files: files_read,
        digest: format!("sha256:{}", crate::fsutil::hex(&hasher.finalize())),
        findings: inv_findings,
        ..Inventory::default()
    };
    let rows = |files: &[CsvFile]| -> usize {
        files.iter().map(|c| c.rows.len() + c.bad_rows.len()).sum()
    };
    inv.site_rows = rows(&site_files);
    inv.device_rows = rows(&device_files);
    for csv in &site_files {
        load_sites(csv, &mut inv)?;
    }
    let mut checker = DeviceChecker::default();
    for csv in &device_files {
        checker.load(csv, catalog, &mut inv)?;
    }
    check_ha_groups(&mut inv, &checker.tainted_groups);
    note_skipped_devices(&mut inv, &checker.skipped);
    // A site's error first: it explains what follows on the device rows.
    let site_file_names: HashSet<&str> = site_files.iter().map(|c| c.name.as_str()).collect();
    inv.findings.sort_by(|a, b| {
        let devices_file = |f: &Finding| !site_file_names.contains(f.location.file.as_str());
        devices_file(a)
            .cmp(&devices_file(b))
            .then(a.location.cmp(&b.location))
            .then(a.severity.cmp(&b.severity))
    });
    Ok(inv)
}

/// Adds to each broken site's error how many device rows use the site and were skipped.
fn note_skipped_devices(inv: &mut Inventory, skipped: &HashMap<String, (usize, Location)>) {
    for (site, (count, first)) in skipped {
        let Some(at) = inv.broken_sites.get(site) else {
            continue;
        };
        if let Some(f) = inv
            .findings
            .iter_mut()
            .find(|f| f.severity == Severity::Error && &f.location == at)
        {
            let rows = if *count == 1 {
                format!("the 1 device row at site \"{site}\" is")
            } else {
                format!("the {count} device rows at site \"{site}\" are")
            };
            f.message.push_str(&format!(
                "; {rows} skipped, not checked further, until the site is fixed (first at {})",
                Location {
                    field: None,
                    ..first.clone()
                }
            ));
        }
    }
}

/// Names of devices, sites and HA groups: they end up in file names, journals and reports.
pub(crate) fn valid_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.as_bytes()[0].is_ascii_alphanumeric()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
}

const NAME_RULE: &str =
    "letters, digits, '.', '_' and '-', starting with a letter or digit, at most 64";

fn load_sites(csv: &CsvFile, inv: &mut Inventory) -> Result<(), InputError> {
    let [site, tz, windows] = csv.require(["site", "timezone", "windows"])?;
    let order = csv.column("order");
    let mut findings = Vec::new();
    for row in &csv.rows {
        let at = csv.at(row);
        let mut err = |field: &str, code: &'static str, message: String| {
            findings.push(Finding {
                severity: Severity::Error,
                code,
                location: at.field(field),
                message,
            });
        };
        let name = row.get(Some(site));
        if !valid_name(name) {
            err(
                "site",
                "invalid-site",
                format!("site name \"{name}\" is not valid ({NAME_RULE})"),
            );
            continue;
        }
        let tz_name = row.get(Some(tz));
        let timezone = match jiff::tz::TimeZone::get(tz_name) {
            Ok(z) if !tz_name.is_empty() => z,
            _ => {
                err(
                    "timezone",
                    "unknown-timezone",
                    format!(
                        "\"{tz_name}\" is not an IANA time zone ({})",
                        timezone_hint(tz_name)
                    ),
                );
                continue;
            }
        };
        let windows = match parse_windows(row.get(Some(windows))) {
            Ok(w) => w,
            Err(e) => {
                err("windows", "invalid-window", e);
                continue;
            }
        };
        let order = match row.get(order) {
            "" => None,
            o => match o.parse::<i64>() {
                Ok(n) => Some(n),
                Err(_) => {
                    err(
                        "order",
                        "invalid-order",
                        format!("\"{o}\" is not a whole number"),
                    );
                    continue;
                }
            },
        };
        if let Some(first) = inv.site(name) {
            let first = first.at.clone();
            err(
                "site",
                "duplicate-site",
                format!("site \"{name}\" is also defined at {first}"),
            );
            continue;
        }
        if windows.is_empty() {
            findings.push(Finding {
                severity: Severity::Warning,
                code: "no-windows",
                location: at.field("windows"),
                message: format!(
                    "site \"{name}\" has no maintenance window: nothing there can be scheduled"
                ),
            });
        }
        inv.site_index.insert(name.to_string(), inv.sites.len());
        inv.sites.push(Site {
            name: name.to_string(),
            timezone_name: tz_name.to_string(),
            timezone,
            windows,
            order,
            at,
        });
    }
    // A site known only from rows in error: its devices are skipped, with a note on its error.
    for f in findings.iter().filter(|f| f.severity == Severity::Error) {
        let Some(row) = csv.rows.iter().find(|r| Some(r.line) == f.location.line) else {
            continue;
        };
        let name = row.get(Some(site));
        if !name.is_empty() && inv.site(name).is_none() {
            inv.broken_sites
                .entry(name.to_string())
                .or_insert_with(|| f.location.clone());
        }
    }
    inv.findings.extend(findings);
    Ok(())
}

/// `did you mean "Europe/Berlin"?` for a zone name a typo away from a known one (there is no
/// `Europe/Frankfurt` to suggest for `Europe/Frankfrut`), else an example.
fn timezone_hint(typed: &str) -> String {
    let known: Vec<String> = jiff::tz::db()
        .available()
        .map(|n| n.as_str().to_string())
        .collect();
    let found = crate::suggest::closest(typed, known.iter().map(String::as_str));
    crate::suggest::question(&found).unwrap_or_else(|| "e.g. Asia/Shanghai".into())
}

/// Versions already parsed: a fleet runs few distinct versions.
#[derive(Default)]
struct VersionCache(
    HashMap<Vendor, HashMap<String, Result<Version, crate::version::VersionError>>>,
);

impl VersionCache {
    fn parse(
        &mut self,
        vendor: Vendor,
        text: &str,
    ) -> Result<Version, crate::version::VersionError> {
        let known = self.0.entry(vendor).or_default();
        if let Some(r) = known.get(text) {
            return r.clone();
        }
        let r = Version::parse(vendor, text);
        known.insert(text.to_string(), r.clone());
        r
    }
}

/// What one row says on its own, before the checks across rows (duplicates).
struct RowCheck {
    device: Option<Device>,
    findings: Vec<Finding>,
    at: Location,
    /// The name as written, and lower-cased when valid.
    name: String,
    name_key: Option<String>,
    /// The management address, when valid.
    host: Option<MgmtHost>,
    group: String,
    /// The row's site is defined only by rows in error: the row is skipped, not checked.
    skipped_site: Option<String>,
}

#[derive(Default)]
struct DeviceChecker {
    names: HashMap<String, Location>,
    hosts: HashMap<(String, u16), Location>,
    /// HA groups with a member row that has errors: their role checks would only repeat them.
    tainted_groups: HashSet<String>,
    /// Device rows skipped because their site is in error: how many per site, the first.
    skipped: HashMap<String, (usize, Location)>,
}

const DEVICE_COLUMNS: [&str; 8] = [
    "name",
    "site",
    "vendor",
    "model",
    "version",
    "mgmt_host",
    "ha_group",
    "ha_role",
];

/// Rows per thread below which checking stays on one thread (tiny in unit tests, so that
/// every test inventory crosses thread boundaries).
const PARALLEL_ROWS: usize = if cfg!(test) { 2 } else { 20_000 };

impl DeviceChecker {
    /// Checks every row: each on its own (in parallel for large files), then names and
    /// addresses across rows, in file order.
    fn load(
        &mut self,
        csv: &CsvFile,
        catalog: &Catalog,
        inv: &mut Inventory,
    ) -> Result<(), InputError> {
        let cols = csv.require(DEVICE_COLUMNS)?;
        let extra: Vec<usize> = (0..csv.headers.len())
            .filter(|i| !cols.contains(i))
            .collect();
        let threads = std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .min(csv.rows.len() / PARALLEL_ROWS)
            .max(1);
        let chunk = csv.rows.len().div_ceil(threads).max(1);
        let shared: &Inventory = inv;
        let checked: Vec<Vec<RowCheck>> = std::thread::scope(|scope| {
            let handles: Vec<_> = csv
                .rows
                .chunks(chunk)
                .map(|rows| {
                    let extra = &extra;
                    scope.spawn(move || {
                        let mut versions = VersionCache::default();
                        rows.iter()
                            .map(|row| {
                                check_row(csv, row, cols, extra, catalog, shared, &mut versions)
                            })
                            .collect()
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("row checks do not panic"))
                .collect()
        });
        inv.devices.reserve(csv.rows.len());
        for mut c in checked.into_iter().flatten() {
            if let Some(site) = c.skipped_site.take() {
                self.skipped
                    .entry(site)
                    .or_insert_with(|| (0, c.at.clone()))
                    .0 += 1;
                if !c.group.is_empty() {
                    self.tainted_groups.insert(c.group);
                }
                continue;
            }
            if let Some(key) = c.name_key.take() {
                match self.names.entry(key) {
                    std::collections::hash_map::Entry::Occupied(first) => {
                        c.findings.push(Finding {
                            severity: Severity::Error,
                            code: "duplicate-name",
                            location: c.at.field("name"),
                            message: format!(
                                "device \"{}\" is also defined at {}",
                                c.name,
                                first.get()
                            ),
                        });
                        c.device = None;
                    }
                    std::collections::hash_map::Entry::Vacant(v) => {
                        v.insert(c.at.clone());
                    }
                }
            }
            if let Some(h) = &c.host {
                match self.hosts.entry(h.key()) {
                    std::collections::hash_map::Entry::Occupied(first) => {
                        c.findings.push(Finding {
                            severity: Severity::Error,
                            code: "duplicate-mgmt-host",
                            location: c.at.field("mgmt_host"),
                            message: format!(
                                "management address {h} is also used at {}",
                                first.get()
                            ),
                        });
                        c.device = None;
                    }
                    std::collections::hash_map::Entry::Vacant(v) => {
                        v.insert(c.at.clone());
                    }
                }
            }
            let has_error = c.findings.iter().any(|f| f.severity == Severity::Error);
            inv.findings.extend(c.findings);
            if has_error {
                if !c.group.is_empty() {
                    self.tainted_groups.insert(c.group);
                }
                continue;
            }
            if let Some(d) = c.device {
                inv.devices.push(d);
            }
        }
        Ok(())
    }
}

/// What happens to a device whose model the catalog does not know.
pub const UNKNOWN_MODEL_EFFECT: &str = "hardware not checked (no platform support or memory figures; defects limited to some models are counted), upgrade paths follow the vendor's rules only";

/// Checks one row on its own; the device is built when the row has no error.
fn check_row(
    csv: &CsvFile,
    row: &CsvRow,
    cols: [usize; 8],
    extra: &[usize],
    catalog: &Catalog,
    inv: &Inventory,
    versions: &mut VersionCache,
) -> RowCheck {
    let [name, site, vendor, model, version, mgmt, group, role] = cols.map(|c| row.get(Some(c)));
    let at = csv.at(row);
    let mut found = Vec::new();
    let mut find = |severity, field: &str, code, message: String| {
        found.push(Finding {
            severity,
            code,
            location: at.field(field),
            message,
        });
    };
    use Severity::{Error, Warning};

    // A site whose own row is in error: one note on that error, not a finding per device.
    if inv.site(site).is_none() && inv.broken_sites.contains_key(site) {
        return RowCheck {
            device: None,
            findings: Vec::new(),
            at,
            name: name.to_string(),
            name_key: None,
            host: None,
            group: group.to_string(),
            skipped_site: Some(site.to_string()),
        };
    }

    if !valid_name(name) {
        find(
            Error,
            "name",
            "invalid-name",
            format!("device name \"{name}\" is not valid ({NAME_RULE})"),
        );
    }

    if site.is_empty() {
        find(Error, "site", "unknown-site", "site is empty".into());
    } else if inv.site(site).is_none() {
        let known: Vec<&str> = inv.sites.iter().map(|s| s.name.as_str()).collect();
        let hint = match crate::suggest::closest(site, known.iter().copied()).as_slice() {
            [] => format!("known: {}", known.join(", ")),
            found => crate::suggest::question(found).expect("found one"),
        };
        find(
            Error,
            "site",
            "unknown-site",
            format!("site \"{site}\" is not in sites.csv ({hint})"),
        );
    }

    let vendor = match vendor.parse::<Vendor>() {
        Ok(v) => Some(v),
        Err(e) => {
            find(Error, "vendor", "unknown-vendor", e.to_string());
            None
        }
    };

    // A model the catalog does not know is kept as written: its hardware is not checked.
    let model_entry: Option<&Model> = vendor.and_then(|v| {
            let m = catalog.model(v, model);
            if m.is_none() {
                // An empty cell is a missing value, not hardware the catalog lacks: an error.
                let (severity, effect) = if model.trim().is_empty() { (Error, String::new()) } else { (Warning, format!(": {UNKNOWN_MODEL_EFFECT}")) };
                find(severity, "model", "unknown-model", format!("\"{model}\" is not a known {v} model{} (see `lbfleet catalog models --vendor {v}`){effect}", catalog.model_hint(v, model)));
            }
            m
        });

    let version = vendor.and_then(|v| match versions.parse(v, version) {
            Ok(ver) => {
                if catalog.release(&ver).is_none() {
                    find(Warning, "version", "unknown-version", format!("{v} {ver} is not in the catalog's releases: paths start from it, but its defects are judged by range only"));
                }
                Some(ver)
            }
            Err(e) => {
                find(Error, "version", "invalid-version", e.to_string());
                None
            }
        });

    let mgmt = match mgmt.parse::<MgmtHost>() {
        Ok(h) => Some(h),
        Err(e) => {
            find(Error, "mgmt_host", "invalid-mgmt-host", e);
            None
        }
    };

    let ha_role = match role.to_ascii_lowercase().as_str() {
        "active" => Some(HaRole::Active),
        "standby" => Some(HaRole::Standby),
        "standalone" => Some(HaRole::Standalone),
        _ => {
            find(
                Error,
                "ha_role",
                "invalid-ha-role",
                format!("\"{role}\" is not active, standby or standalone"),
            );
            None
        }
    };
    let ha_group = match (ha_role, group) {
        (Some(HaRole::Standalone), "") => None,
        (Some(HaRole::Standalone), g) => {
            find(
                Error,
                "ha_group",
                "standalone-in-group",
                format!(
                    "a standalone device cannot be in HA group \"{g}\" (make it active or standby, or clear ha_group)"
                ),
            );
            None
        }
        (Some(_), "") => {
            find(
                Error,
                "ha_group",
                "missing-ha-group",
                format!("an {} device needs an HA group", role.to_ascii_lowercase()),
            );
            None
        }
        (_, g) if !g.is_empty() && !valid_name(g) => {
            find(
                Error,
                "ha_group",
                "invalid-ha-group",
                format!("HA group \"{g}\" is not valid ({NAME_RULE})"),
            );
            None
        }
        (_, g) => Some(g.to_string()).filter(|g| !g.is_empty()),
    };

    let has_error = found.iter().any(|f| f.severity == Error);
    let device = if has_error {
        None
    } else {
        Some(Device {
            name: name.to_string(),
            site: site.to_string(),
            vendor: vendor.expect("no error"),
            model: model_entry.map_or_else(|| model.trim().to_string(), |m| m.id.clone()),
            version: version.expect("no error"),
            mgmt: mgmt.clone().expect("no error"),
            ha_group,
            ha_role: ha_role.expect("no error"),
            extra: extra
                .iter()
                .map(|&i| (csv.headers[i].clone(), row.get(Some(i)).to_string()))
                .collect(),
            at: at.clone(),
        })
    };
    RowCheck {
        name_key: valid_name(name).then(|| name.to_ascii_lowercase()),
        name: name.to_string(),
        host: mgmt,
        device,
        findings: found,
        at,
        group: group.to_string(),
        skipped_site: None,
    }
}

/// Every HA group must be exactly one active and one standby of one model; version skew and
/// split sites are warnings. Groups with a member row in error are not judged again (their
/// remaining members are dropped: a half-known group cannot be planned).
fn check_ha_groups(inv: &mut Inventory, tainted: &HashSet<String>) {
    let mut groups: HashMap<&str, Vec<&Device>> = HashMap::default();
    let mut bad_devices = HashSet::default();
    for d in &inv.devices {
        if let Some(g) = &d.ha_group {
            if tainted.contains(g) {
                bad_devices.insert(d.name.clone());
            } else {
                groups.entry(g).or_default().push(d);
            }
        }
    }
    let mut found = Vec::new();
    for (group, members) in groups {
        let list = || {
            members
                .iter()
                .map(|d| {
                    format!(
                        "{} ({}, line {})",
                        d.name,
                        d.ha_role.id(),
                        d.at.line.unwrap_or(0)
                    )
                })
                .collect::<Vec<_>>()
                .join(", ")
        };
        let at = members[0].at.field("ha_group");
        let actives = members
            .iter()
            .filter(|d| d.ha_role == HaRole::Active)
            .count();
        let standbys = members
            .iter()
            .filter(|d| d.ha_role == HaRole::Standby)
            .count();
        let mut error = |code, message| {
            found.push(Finding {
                severity: Severity::Error,
                code,
                location: at.clone(),
                message,
            });
        };
        let mut broken = false;
        if actives != 1 || standbys != 1 {
            error(
                "ha-group-roles",
                format!(
                    "HA group \"{group}\" must have exactly one active and one standby, has {actives} active and {standbys} standby: {}",
                    list()
                ),
            );
            broken = true;
        }
        if members.iter().any(|d| {
            d.vendor != members[0].vendor || !d.model.eq_ignore_ascii_case(&members[0].model)
        }) {
            error(
                "ha-group-models",
                format!(
                    "HA group \"{group}\" mixes models: {}",
                    members
                        .iter()
                        .map(|d| format!("{} is {} {}", d.name, d.vendor, d.model))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            );
            broken = true;
        }
        if broken {
            bad_devices.extend(members.iter().map(|d| d.name.clone()));
            continue;
        }
        if members.iter().any(|d| d.version != members[0].version) {
            found.push(Finding {
                severity: Severity::Warning,
                code: "ha-version-skew",
                location: at.clone(),
                message: format!(
                    "HA group \"{group}\" runs different versions: {}",
                    members
                        .iter()
                        .map(|d| format!("{} {}", d.name, d.version))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            });
        }
        if members.iter().any(|d| d.site != members[0].site) {
            found.push(Finding {
                severity: Severity::Warning,
                code: "ha-group-sites",
                location: at,
                message: format!(
                    "HA group \"{group}\" spans sites: {}",
                    members
                        .iter()
                        .map(|d| format!("{} at {}", d.name, d.site))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            });
        }
    }
    inv.findings.extend(found);
    if !bad_devices.is_empty() {
        inv.devices.retain(|d| !bad_devices.contains(&d.name));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_candidates_list_beside_the_inventory_is_not_part_of_it() {
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, text: &str| std::fs::write(dir.path().join(name), text).unwrap();
        write(
            "sites.csv",
            "site,timezone,windows\nS1,UTC,Sun 00:00-04:00\n",
        );
        write(
            "devices.csv",
            "name,site,vendor,model,version,mgmt_host,ha_group,ha_role\n\
             d0,S1,kemp,LM-1500,7.2.48.2,10.0.0.1,,standalone\n",
        );
        let catalog = Catalog::embedded().unwrap();
        let before = load(&[dir.path().to_path_buf()], &catalog).unwrap();
        write(
            "candidates.csv",
            "vendor,model,memory_gb,price,currency\nf5,i4800,32,,\n",
        );
        let inv = load(&[dir.path().to_path_buf()], &catalog).unwrap();
        assert_eq!(inv.files.len(), 2);
        assert_eq!(inv.devices.len(), 1);
        // Prices change without the inventory's digest (which plans record) changing.
        assert_eq!(inv.digest, before.digest);
        // Anything else that is neither sites nor devices is still refused.
        write("notes.csv", "what,when\nx,y\n");
        let e = load(&[dir.path().to_path_buf()], &catalog).unwrap_err();
        assert!(e.to_string().contains("neither a sites file"), "{e}");
    }

    #[test]
    fn duplicates_are_found_across_threads_in_file_order() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("sites.csv"),
            "site,timezone,windows\nS1,UTC,Sun 00:00-04:00\n",
        )
        .unwrap();
        let mut devices =
            String::from("name,site,vendor,model,version,mgmt_host,ha_group,ha_role\n");
        for i in 0..9 {
            devices.push_str(&format!(
                "d{i},S1,kemp,LM-1500,7.2.48.2,10.0.0.{i},,standalone\n"
            ));
        }
        // Line 11 repeats d1's name, line 12 d7's address; line 13 is broken on its own.
        devices.push_str("D1,S1,kemp,LM-1500,7.2.48.2,10.0.1.1,,standalone\n");
        devices.push_str("x7,S1,kemp,LM-1500,7.2.48.2,10.0.0.7,,standalone\n");
        devices.push_str("y,S1,kemp,LM-1500,9,10.0.2.1,,standalone\n");
        std::fs::write(dir.path().join("devices.csv"), devices).unwrap();
        let catalog = Catalog::embedded().unwrap();
        let inv = load(&[dir.path().to_path_buf()], &catalog).unwrap();
        let names: Vec<&str> = inv.devices.iter().map(|d| d.name.as_str()).collect();
        assert_eq!(
            names,
            ["d0", "d1", "d2", "d3", "d4", "d5", "d6", "d7", "d8"]
        );
        let found: Vec<String> = inv
            .findings
            .iter()
            .map(|f| format!("{}:{}", f.location.line.unwrap_or(0), f.code))
            .collect();
        assert_eq!(
            found,
            [
                "11:duplicate-name",
                "12:duplicate-mgmt-host",
                "13:invalid-version"
            ]
        );
        assert!(
            inv.findings[0]
                .message
                .contains("device \"D1\" is also defined at")
        );
        assert!(
            inv.findings[0].message.ends_with(":3"),
            "{}",
            inv.findings[0].message
        );
    }
}
