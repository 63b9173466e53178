//! Known defects (memory leaks first among them) with affected and fixed versions.

use crate::HashSet;

use super::{Fields, Model, glob_match, list};
use crate::csvio::CsvFile;
use crate::error::InputError;
use crate::version::{Vendor, Version, VersionSet};

/// One known defect.
#[derive(Clone, Debug)]
pub struct Defect {
    /// Vendor bug id (`ID640376`, `CTX200371`).
    pub id: String,
    /// Vendor.
    pub vendor: Vendor,
    /// What goes wrong.
    pub title: String,
    /// `memory-leak`, `memory-exhaustion`, `security`, ...
    pub kind: String,
    /// Vendor severity, as published (may be empty).
    pub severity: String,
    /// Affected versions.
    pub affected: VersionSet,
    /// First fixed version on each branch.
    pub fixed_in: Vec<Version>,
    /// Model ids (globs) the defect is limited to; empty for all models.
    pub models: Vec<String>,
    /// Where the facts come from.
    pub source: String,
}

impl Defect {
    /// Whether `version` on `model` is affected.
    ///
    /// A version is affected when the affected set names it exactly, or when it lies in an
    /// affected range and no fixed-in version on its branch is at or below it. (F5 ID454018
    /// lists 11.5.10 as affected although 11.5.3 HF2 is fixed: the explicit entry wins.)
    /// With `model` `None` the model scope is ignored.
    pub fn affects(&self, version: &Version, model: Option<&Model>) -> bool {
        if version.vendor() != self.vendor || !self.affected.contains(version) {
            return false;
        }
        if let Some(m) = model
            && !self.models.is_empty()
            && !self.models.iter().any(|g| glob_match(g, &m.id))
        {
            return false;
        }
        if self.affected.names_exactly(version) {
            return true;
        }
        let branch = version.branch();
        !self
            .fixed_in
            .iter()
            .any(|f| f.branch() == branch && f <= version)
    }

    /// Whether the defect is limited to some models.
    pub fn model_scoped(&self) -> bool {
        !self.models.is_empty()
    }
}

pub(super) fn load(file: &CsvFile) -> Result<Vec<Defect>, InputError> {
    let [id, vendor, title, kind, affected, source] =
        file.require(["id", "vendor", "title", "kind", "affected", "source"])?;
    let mut seen = HashSet::default();
    let mut out = Vec::with_capacity(file.rows.len());
    for row in &file.rows {
        let f = Fields { file, row };
        let v = f.vendor(vendor)?;
        f.required(affected)?;
        let fixed_in = list(f.opt("fixed_in"))
            .iter()
            .map(|s| {
                Version::parse(v, s).map_err(|e| InputError::new(f.loc("fixed_in"), e.to_string()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let d = Defect {
            id: f.required(id)?.to_string(),
            vendor: v,
            title: f.required(title)?.to_string(),
            kind: f.required(kind)?.to_string(),
            severity: f.opt("severity").to_string(),
            affected: f.set("affected", v)?,
            fixed_in,
            models: list(f.opt("models")),
            source: f.required(source)?.to_string(),
        };
        if !seen.insert(d.id.clone()) {
            return Err(InputError::new(
                f.loc("id"),
                format!("defect {} is listed twice", d.id),
            ));
        }
        out.push(d);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use crate::catalog::Catalog;
    use crate::version::{Vendor, Version};

    fn affected(c: &Catalog, id: &str, v: &str, model: &str) -> bool {
        let d = c.defects.iter().find(|d| d.id == id).unwrap();
        let m = c.model(d.vendor, model);
        d.affects(&Version::parse(d.vendor, v).unwrap(), m)
    }

    #[test]
    fn f5_defect_ranges_follow_the_bug_tracker() {
        let c = Catalog::embedded().unwrap();
        // ID454018: 11.1.0 - 11.5.3 HF1, plus 11.5.10 listed explicitly.
        assert!(affected(&c, "ID454018", "11.5.1 HF10", "i4800"));
        assert!(!affected(&c, "ID454018", "11.5.3 HF2", "i4800"));
        assert!(affected(&c, "ID454018", "11.5.10", "i4800"));
        assert!(!affected(&c, "ID454018", "11.6.0", "i4800"));
        // ID640376 only on 2000/4000/i2000/i4000, fixed on 12.1 from 12.1.3.
        assert!(affected(&c, "ID640376", "12.1.2", "i4800"));
        assert!(!affected(&c, "ID640376", "12.1.2", "i5800"));
        assert!(!affected(&c, "ID640376", "12.1.3", "i2800"));
        assert!(!affected(&c, "ID640376", "12.1.6", "i2800"));
        assert!(affected(&c, "ID640376", "11.6.5.1", "i2600"));
        assert!(!affected(&c, "ID640376", "11.6.5.2", "i2600"));
        assert!(affected(&c, "ID640376", "13.0.0", "4200"));
        assert!(!affected(&c, "ID640376", "13.0.0 HF1", "4200"));
        assert_eq!(Vendor::F5, c.defects[0].vendor);
    }

    #[test]
    fn netscaler_fixed_builds_are_per_release() {
        let c = Catalog::embedded().unwrap();
        assert!(affected(&c, "CVE-2023-4966", "14.1-4.42", "MPX-17000"));
        assert!(!affected(&c, "CVE-2023-4966", "14.1-8.50", "MPX-17000"));
        assert!(!affected(&c, "CVE-2023-4966", "14.1-12.35", "MPX-17000"));
        assert!(affected(&c, "CVE-2023-4966", "13.1-49.13", "MPX-17000"));
        assert!(affected(&c, "CTX200371", "10.1-126.9", "MPX-17000"));
        assert!(!affected(&c, "CTX200371", "10.1-127.2", "MPX-17000"));
    }
}
