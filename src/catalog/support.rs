//! Hardware ↔ release support: which models can run which releases.
//!
//! For a model, a matching `no` rule makes a version unsupported; when `yes` rules exist for the
//! model, the version must match one of them; with no rule at all support is unknown (and not
//! assumed impossible).

use super::{Fields, Model, glob_match, list};
use crate::csvio::CsvFile;
use crate::error::InputError;
use crate::version::{Vendor, Version, VersionSet};

/// One support rule.
#[derive(Clone, Debug)]
pub struct SupportRule {
    /// Vendor.
    pub vendor: Vendor,
    /// Model ids (globs) the rule applies to.
    pub models: Vec<String>,
    /// The versions concerned.
    pub versions: VersionSet,
    /// Whether those versions are supported (`yes`: only these) or not (`no`).
    pub supported: bool,
    /// Where the rule comes from.
    pub source: String,
}

impl SupportRule {
    fn applies_to(&self, model: &Model) -> bool {
        self.vendor == model.vendor && self.models.iter().any(|g| glob_match(g, &model.id))
    }
}

/// Whether a model can run a version.
#[derive(Clone, Debug)]
pub enum Support<'a> {
    /// A rule says it can.
    Yes,
    /// A rule says it cannot (or lists only other versions); the rule is the evidence.
    No(&'a SupportRule),
    /// No rule covers this model.
    Unknown,
}

pub(super) fn evaluate<'a>(rules: &'a [SupportRule], model: &Model, v: &Version) -> Support<'a> {
    let mut whitelist = None;
    for r in rules.iter().filter(|r| r.applies_to(model)) {
        if !r.supported && r.versions.contains(v) {
            return Support::No(r);
        }
        if r.supported {
            if r.versions.contains(v) {
                whitelist = Some(Support::Yes);
            } else if whitelist.is_none() {
                whitelist = Some(Support::No(r));
            }
        }
    }
    whitelist.unwrap_or(Support::Unknown)
}

pub(super) fn load(file: &CsvFile) -> Result<Vec<SupportRule>, InputError> {
    let [vendor, models, versions, support, source] =
        file.require(["vendor", "models", "versions", "support", "source"])?;
    let mut out = Vec::with_capacity(file.rows.len());
    for row in &file.rows {
        let f = Fields { file, row };
        let v = f.vendor(vendor)?;
        f.required(models)?;
        f.required(versions)?;
        out.push(SupportRule {
            vendor: v,
            models: list(f.text(models)),
            versions: f.set("versions", v)?,
            supported: match f.required(support)? {
                "yes" => true,
                "no" => false,
                other => {
                    return Err(InputError::new(
                        f.loc("support"),
                        format!("\"{other}\" is not yes or no"),
                    ));
                }
            },
            source: f.required(source)?.to_string(),
        });
    }
    Ok(out)
}
