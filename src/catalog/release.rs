//! Vendor releases with their lifecycle dates and long-term flag.

use crate::HashSet;

use jiff::civil::Date;

use super::Fields;
use crate::csvio::CsvFile;
use crate::error::InputError;
use crate::version::Version;

/// One release of one vendor.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Release {
    /// The version (its vendor included).
    pub version: Version,
    /// General availability, where known.
    pub release_date: Option<Date>,
    /// When the release's branch first shipped, where known (a lower bound for `release_date`).
    pub branch_date: Option<Date>,
    /// End of software development (no more fixes), where known.
    pub end_of_development: Option<Date>,
    /// End of technical support, where known.
    pub end_of_support: Option<Date>,
    /// Long-term branch (F5 LTS, A10 GR, HAProxy LTS), where known.
    pub long_term: Option<bool>,
    /// A special track such as `fips`; empty for the mainline.
    pub track: String,
    /// Where the facts come from.
    pub source: String,
}

impl Release {
    /// Whether the release is supported on `date`: `None` when the catalog does not know.
    pub fn supported_on(&self, date: Date) -> Option<bool> {
        self.end_of_support.map(|end| date <= end)
    }
}

pub(super) fn load(file: &CsvFile) -> Result<Vec<Release>, InputError> {
    let [vendor, version, source] = file.require(["vendor", "version", "source"])?;
    let mut seen = HashSet::default();
    let mut out = Vec::with_capacity(file.rows.len());
    for row in &file.rows {
        let f = Fields { file, row };
        let v = f.vendor(vendor)?;
        let r = Release {
            version: f.version(version, v)?,
            release_date: f.date("release_date")?,
            branch_date: f.date("branch_date")?,
            end_of_development: f.date("end_of_development")?,
            end_of_support: f.date("end_of_support")?,
            long_term: f.flag("long_term")?,
            track: f.opt("track").to_ascii_lowercase(),
            source: f.required(source)?.to_string(),
        };
        if !seen.insert(r.version.clone()) {
            return Err(InputError::new(
                f.loc("version"),
                format!("release {} {} is listed twice", v, r.version),
            ));
        }
        out.push(r);
    }
    Ok(out)
}
