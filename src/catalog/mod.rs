//! The catalog: what lbfleet knows about hardware models, vendor releases, upgrade rules,
//! hardware ↔ release support and known defects. Built from `../shared/reference/` with a
//! source on every row; embedded in the binary, replaceable with `--catalog DIR`.

mod defect;
mod model;
mod release;
mod rule;
mod support;

use crate::HashMap;
use std::path::Path;

use jiff::civil::Date;
use sha2::{Digest, Sha256};

pub use defect::Defect;
pub use model::Model;
pub use release::Release;
pub use rule::{Rule, RuleKind};
pub use support::{Support, SupportRule};

use crate::csvio::{CsvFile, CsvRow};
use crate::error::{InputError, Location};
use crate::version::{Vendor, Version, VersionSet};

/// The catalog files, in load order.
pub const FILES: [&str; 5] = [
    "models.csv",
    "releases.csv",
    "upgrade-rules.csv",
    "platform-support.csv",
    "defects.csv",
];

const EMBEDDED: [(&str, &str); 5] = [
    (
        "models.csv",
        include_str!("../../inventories/catalog/models.csv"),
    ),
    (
        "releases.csv",
        include_str!("../../inventories/catalog/releases.csv"),
    ),
    (
        "upgrade-rules.csv",
        include_str!("../../inventories/catalog/upgrade-rules.csv"),
    ),
    (
        "platform-support.csv",
        include_str!("../../inventories/catalog/platform-support.csv"),
    ),
    (
        "defects.csv",
        include_str!("../../inventories/catalog/defects.csv"),
    ),
];

/// Everything lbfleet knows about vendors and hardware.
#[derive(Debug)]
pub struct Catalog {
    /// Hardware models.
    pub models: Vec<Model>,
    /// Releases, sorted by vendor then version.
    pub releases: Vec<Release>,
    /// Upgrade rules in file order.
    pub rules: Vec<Rule>,
    /// Hardware ↔ release support rules.
    pub support: Vec<SupportRule>,
    /// Known defects.
    pub defects: Vec<Defect>,
    /// SHA-256 over the catalog files, to tell which catalog a plan was made with.
    pub digest: String,
    model_index: HashMap<(Vendor, String), usize>,
}

impl Catalog {
    /// The catalog built into the binary.
    pub fn embedded() -> Result<Catalog, InputError> {
        let files =
            EMBEDDED.map(|(name, text)| (format!("<embedded>/{name}"), text.as_bytes().to_vec()));
        Catalog::from_files(files)
    }

    /// Loads the five catalog files from `dir`.
    pub fn from_dir(dir: &Path) -> Result<Catalog, InputError> {
        let mut files = Vec::new();
        for name in FILES {
            let path = dir.join(name);
            let bytes = std::fs::read(&path).map_err(|e| {
                InputError::new(
                    Location::file(path.display().to_string()),
                    format!("cannot read catalog file: {e}"),
                )
            })?;
            files.push((path.display().to_string(), bytes));
        }
        Catalog::from_files(files.try_into().expect("five files"))
    }

    fn from_files(files: [(String, Vec<u8>); 5]) -> Result<Catalog, InputError> {
        let mut hasher = Sha256::new();
        for (name, bytes) in &files {
            let base = name.rsplit('/').next().unwrap_or(name);
            hasher.update(base.as_bytes());
            hasher.update([0]);
            hasher.update(bytes);
        }
        let digest = format!("sha256:{}", crate::fsutil::hex(&hasher.finalize()));
        let [models, releases, rules, support, defects] =
            files.map(|(name, bytes)| CsvFile::parse(name, &bytes).and_then(CsvFile::strict));
        let models = model::load(&models?)?;
        let mut model_index = HashMap::default();
        for (i, m) in models.iter().enumerate() {
            model_index.insert((m.vendor, m.id.to_ascii_lowercase()), i);
            model_index
                .entry((m.vendor, m.name.to_ascii_lowercase()))
                .or_insert(i);
        }
        let mut releases = release::load(&releases?)?;
        releases.sort_by(|a, b| a.version.cmp(&b.version));
        Ok(Catalog {
            models,
            releases,
            rules: rule::load(&rules?)?,
            support: support::load(&support?)?,
            defects: defect::load(&defects?)?,
            digest,
            model_index,
        })
    }

    /// A model of `vendor` by id or full name, case-insensitively.
    pub fn model(&self, vendor: Vendor, name: &str) -> Option<&Model> {
        self.model_index
            .get(&(vendor, name.trim().to_ascii_lowercase()))
            .map(|&i| &self.models[i])
    }

    /// ` (did you mean "i4800"?)` when `name` is a typo away from the id or name of one of
    /// `vendor`'s models; empty otherwise.
    pub fn model_hint(&self, vendor: Vendor, name: &str) -> String {
        crate::suggest::did_you_mean(
            name,
            self.models
                .iter()
                .filter(|m| m.vendor == vendor)
                .flat_map(|m| [m.id.as_str(), m.name.as_str()]),
        )
    }

    /// The releases of one vendor, ascending.
    pub fn releases_of(&self, vendor: Vendor) -> impl Iterator<Item = &Release> + Clone {
        self.releases
            .iter()
            .filter(move |r| r.version.vendor() == vendor)
    }

    /// The catalog entry for a version, if it is a known release.
    pub fn release(&self, version: &Version) -> Option<&Release> {
        self.releases
            .binary_search_by(|r| r.version.cmp(version))
            .ok()
            .map(|i| &self.releases[i])
    }

    /// The upgrade rules of one vendor.
    pub fn rules_of(&self, vendor: Vendor) -> impl Iterator<Item = &Rule> + Clone {
        self.rules.iter().filter(move |r| r.vendor == vendor)
    }

    /// `Ok` when `target` is a release the catalog lists; otherwise the error names the known
    /// releases nearest to it, for an upgrade target that is most likely a typo.
    pub fn known_target(&self, target: &Version) -> Result<&Release, UnknownTarget> {
        if let Some(r) = self.release(target) {
            return Ok(r);
        }
        const SHOWN: usize = 6;
        let vendor: Vec<&Version> = self
            .releases_of(target.vendor())
            .map(|r| &r.version)
            .collect();
        let branch: Vec<&Version> = vendor
            .iter()
            .copied()
            .filter(|v| v.branch() == target.branch())
            .collect();
        let (same_branch, nearby) = if branch.is_empty() {
            // The releases on either side of it, at most half of SHOWN each.
            let at = vendor.partition_point(|v| *v < target);
            let from = at.saturating_sub(SHOWN / 2);
            (
                false,
                vendor[from..(at + SHOWN / 2).min(vendor.len())].to_vec(),
            )
        } else {
            (true, branch[branch.len().saturating_sub(SHOWN)..].to_vec())
        };
        Err(UnknownTarget {
            target: target.clone(),
            same_branch,
            nearby: nearby.into_iter().cloned().collect(),
        })
    }

    /// Whether `model` can run `version`, per the platform-support rules.
    pub fn hardware_support(&self, model: &Model, version: &Version) -> Support<'_> {
        support::evaluate(&self.support, model, version)
    }

    /// Known defects of `version` on `model` (all models when `None`).
    pub fn defects_affecting<'a>(
        &'a self,
        version: &'a Version,
        model: Option<&'a Model>,
    ) -> impl Iterator<Item = &'a Defect> + 'a {
        self.defects
            .iter()
            .filter(move |d| d.affects(version, model))
    }
}

/// An upgrade target the catalog does not list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownTarget {
    /// The target as given.
    pub target: Version,
    /// Whether `nearby` are the newest releases of the target's branch (else its neighbours).
    pub same_branch: bool,
    /// Known releases near it, ascending.
    pub nearby: Vec<Version>,
}

impl std::fmt::Display for UnknownTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let t = &self.target;
        let vendor = t.vendor();
        write!(f, "{vendor} {t} is not a release the catalog lists (")?;
        let list = self
            .nearby
            .iter()
            .map(Version::to_string)
            .collect::<Vec<_>>()
            .join(", ");
        match (self.nearby.is_empty(), self.same_branch) {
            (true, _) => write!(f, "it lists no {vendor} releases")?,
            (false, true) => write!(f, "known in {}: {list}", t.branch())?,
            (false, false) => write!(f, "nearest known: {list}")?,
        }
        write!(
            f,
            "); check the version (`lbfleet catalog releases --vendor {vendor}`), or give --allow-unknown-target to use it anyway"
        )
    }
}

impl std::error::Error for UnknownTarget {}

/// `*`-glob match, ASCII case-insensitive.
pub(crate) fn glob_match(pattern: &str, text: &str) -> bool {
    let (p, t) = (pattern.as_bytes(), text.as_bytes());
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && p[pi] != b'*' && p[pi].eq_ignore_ascii_case(&t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == b'*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == b'*')
}

/// Reads the fields of catalog rows with errors that name file, line and field.
pub(crate) struct Fields<'a> {
    pub file: &'a CsvFile,
    pub row: &'a CsvRow,
}

impl<'a> Fields<'a> {
    pub fn loc(&self, field: &str) -> Location {
        self.file.at(self.row).field(field)
    }

    pub fn text(&self, idx: usize) -> &'a str {
        self.row.get(Some(idx))
    }

    pub fn opt(&self, name: &str) -> &'a str {
        self.row.get(self.file.column(name))
    }

    pub fn required(&self, idx: usize) -> Result<&'a str, InputError> {
        let v = self.text(idx);
        if v.is_empty() {
            return Err(InputError::new(
                self.loc(&self.file.headers[idx]),
                "must not be empty",
            ));
        }
        Ok(v)
    }

    pub fn vendor(&self, idx: usize) -> Result<Vendor, InputError> {
        self.required(idx)?
            .parse()
            .map_err(|e: crate::version::UnknownVendor| {
                InputError::new(self.loc("vendor"), e.to_string())
            })
    }

    pub fn version(&self, idx: usize, vendor: Vendor) -> Result<Version, InputError> {
        Version::parse(vendor, self.required(idx)?)
            .map_err(|e| InputError::new(self.loc(&self.file.headers[idx]), e.to_string()))
    }

    pub fn set(&self, name: &str, vendor: Vendor) -> Result<VersionSet, InputError> {
        VersionSet::parse(vendor, self.opt(name))
            .map_err(|e| InputError::new(self.loc(name), e.to_string()))
    }

    pub fn date(&self, name: &str) -> Result<Option<Date>, InputError> {
        let v = self.opt(name);
        if v.is_empty() {
            return Ok(None);
        }
        v.parse::<Date>().map(Some).map_err(|e| {
            InputError::new(
                self.loc(name),
                format!("\"{v}\" is not a date (YYYY-MM-DD): {e}"),
            )
        })
    }

    pub fn number(&self, name: &str) -> Result<Option<f64>, InputError> {
        let v = self.opt(name);
        if v.is_empty() {
            return Ok(None);
        }
        match v.parse::<f64>() {
            Ok(n) if n.is_finite() && n >= 0.0 => Ok(Some(n)),
            _ => Err(InputError::new(
                self.loc(name),
                format!("\"{v}\" is not a non-negative number"),
            )),
        }
    }

    pub fn flag(&self, name: &str) -> Result<Option<bool>, InputError> {
        match self.opt(name).to_ascii_lowercase().as_str() {
            "" => Ok(None),
            "yes" | "true" => Ok(Some(true)),
            "no" | "false" => Ok(Some(false)),
            other => Err(InputError::new(
                self.loc(name),
                format!("\"{other}\" is not yes or no"),
            )),
        }
    }
}

/// A `;`-separated list field, trimmed, empties dropped.
pub(crate) fn list(s: &str) -> Vec<String> {
    s.split(';')
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .map(String::from)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob_match("i2*", "i2800"));
        assert!(glob_match("I2*", "i2800"));
        assert!(!glob_match("i2*", "r2800"));
        assert!(glob_match("*", ""));
        assert!(glob_match("a*c*e", "abcde"));
        assert!(!glob_match("a*c", "abcd"));
    }

    #[test]
    fn the_embedded_catalog_loads() {
        let c = Catalog::embedded().unwrap();
        assert!(c.models.len() > 40);
        assert!(c.model(Vendor::F5, "i4800").is_some());
        assert!(c.model(Vendor::F5, "BIG-IP iSeries i4800").is_some());
        assert!(c.model(Vendor::F5, "FAD-2200F").is_none());
        assert!(c.digest.starts_with("sha256:"));
    }

    #[test]
    fn unknown_targets_name_the_releases_near_them() {
        let c = Catalog::embedded().unwrap();
        let v = |vendor, s| Version::parse(vendor, s).unwrap();
        // 17.5.1.0 is 17.5.1: compared as versions.
        assert!(c.known_target(&v(Vendor::F5, "17.5.1.0")).is_ok());
        let e = c.known_target(&v(Vendor::F5, "17.1.9")).unwrap_err();
        assert!(e.same_branch);
        assert_eq!(
            e.to_string(),
            "f5 17.1.9 is not a release the catalog lists (known in 17.1: 17.1.1.2, 17.1.1.3, 17.1.2.1, 17.1.3); check the version (`lbfleet catalog releases --vendor f5`), or give --allow-unknown-target to use it anyway"
        );
        // No release of its branch: its neighbours on either side.
        let e = c.known_target(&v(Vendor::F5, "17.9.9")).unwrap_err();
        assert!(!e.same_branch);
        let near: Vec<String> = e.nearby.iter().map(Version::to_string).collect();
        assert_eq!(near, ["17.1.3", "17.5.0", "17.5.1", "21.0.0", "21.1.0"]);
        let e = c.known_target(&v(Vendor::F5, "99.0.0")).unwrap_err();
        assert_eq!(e.nearby.last().unwrap().to_string(), "21.1.0");
        // At most six of a long branch: the newest.
        let e = c
            .known_target(&v(Vendor::NetScaler, "14.1-66.63"))
            .unwrap_err();
        assert_eq!(e.nearby.len(), 6);
        assert_eq!(e.nearby.last().unwrap().to_string(), "14.1-66.62");
    }
}
