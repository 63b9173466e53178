//! How long each step of an upgrade hop takes, for placing work inside maintenance windows.
//!
//! No vendor publishes these figures (nothing in `shared/reference/` gives one), so the
//! built-in values are lbfleet's own planning assumptions, deliberately generous, and shown in
//! every plan. Operators replace them with their own measurements with `--durations FILE`: a CSV
//! with `vendor,model,upload,install,reboot,checks,failover` in minutes, where an empty `model`
//! applies to the whole vendor and a model row beats a vendor row. Later rows win.

use std::path::Path;

use crate::csvio::CsvFile;
use crate::error::InputError;
use crate::version::Vendor;

/// Minutes per step.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct StepMinutes {
    /// Copying the image to the device.
    pub upload: u32,
    /// Installing it to the alternate boot location.
    pub install: u32,
    /// Rebooting into it until management answers again.
    pub reboot: u32,
    /// Pre- and post-checks.
    pub checks: u32,
    /// One HA failover, verified.
    pub failover: u32,
}

impl StepMinutes {
    /// One hop: upload, install, reboot and checks.
    pub fn hop(&self) -> u32 {
        self.upload + self.install + self.reboot + self.checks
    }
}

/// One row of the durations table.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DurationRow {
    /// Vendor.
    pub vendor: Vendor,
    /// Model id, or empty for every model of the vendor.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub model: String,
    /// The minutes.
    #[serde(flatten)]
    pub minutes: StepMinutes,
}

/// The durations in force: built-in assumptions, then the user's rows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Durations {
    /// Every row, later rows winning.
    pub rows: Vec<DurationRow>,
}

/// lbfleet's assumptions (minutes): upload, install, reboot, checks, failover.
const BUILTIN: [(Vendor, [u32; 5]); 6] = [
    (Vendor::F5, [15, 30, 15, 10, 5]),
    (Vendor::NetScaler, [10, 15, 10, 10, 5]),
    (Vendor::A10, [10, 20, 10, 10, 5]),
    (Vendor::Kemp, [5, 10, 10, 10, 5]),
    (Vendor::FortiAdc, [10, 15, 10, 10, 5]),
    (Vendor::Generic, [5, 5, 5, 5, 5]),
];

impl Default for Durations {
    fn default() -> Self {
        Durations {
            rows: BUILTIN
                .iter()
                .map(
                    |&(vendor, [upload, install, reboot, checks, failover])| DurationRow {
                        vendor,
                        model: String::new(),
                        minutes: StepMinutes {
                            upload,
                            install,
                            reboot,
                            checks,
                            failover,
                        },
                    },
                )
                .collect(),
        }
    }
}

impl Durations {
    /// The built-in rows followed by the rows of a user CSV file.
    pub fn with_file(path: &Path) -> Result<Durations, InputError> {
        let file = CsvFile::read(path)?.strict()?;
        let [vendor, upload, install, reboot, checks, failover] = file.require([
            "vendor", "upload", "install", "reboot", "checks", "failover",
        ])?;
        let model = file.column("model");
        let mut out = Durations::default();
        for row in &file.rows {
            let v = row.get(Some(vendor));
            let vendor: Vendor = v.parse().map_err(|e: crate::version::UnknownVendor| {
                InputError::new(file.at(row).field("vendor"), e.to_string())
            })?;
            let minutes = |idx: usize, name: &str| -> Result<u32, InputError> {
                let text = row.get(Some(idx)).trim();
                match text.parse::<u32>() {
                    Ok(n) if n <= 24 * 60 => Ok(n),
                    _ => Err(InputError::new(
                        file.at(row).field(name),
                        format!("\"{text}\" is not a number of minutes (0 to 1440)"),
                    )),
                }
            };
            out.rows.push(DurationRow {
                vendor,
                model: row.get(model).trim().to_string(),
                minutes: StepMinutes {
                    upload: minutes(upload, "upload")?,
                    install: minutes(install, "install")?,
                    reboot: minutes(reboot, "reboot")?,
                    checks: minutes(checks, "checks")?,
                    failover: minutes(failover, "failover")?,
                },
            });
        }
        Ok(out)
    }

    /// The minutes for a model: its own row if any, else its vendor's.
    pub fn of(&self, vendor: Vendor, model: &str) -> StepMinutes {
        let rows = self.rows.iter().rev().filter(|r| r.vendor == vendor);
        rows.clone()
            .find(|r| r.model.eq_ignore_ascii_case(model))
            .or_else(|| rows.clone().find(|r| r.model.is_empty()))
            .map(|r| r.minutes)
            .expect("every vendor has a built-in row")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_rows_beat_vendor_rows_and_later_rows_win() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.csv");
        std::fs::write(
            &path,
            "vendor,model,upload,install,reboot,checks,failover\n\
             f5,,1,2,3,4,5\nf5,i4800,10,10,10,10,10\n",
        )
        .unwrap();
        let d = Durations::with_file(&path).unwrap();
        assert_eq!(d.of(Vendor::F5, "I4800").hop(), 40);
        assert_eq!(d.of(Vendor::F5, "r5600").hop(), 10);
        assert_eq!(d.of(Vendor::Kemp, "LM-1500").hop(), 35);
    }

    #[test]
    fn bad_minutes_name_line_and_field() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.csv");
        std::fs::write(
            &path,
            "vendor,model,upload,install,reboot,checks,failover\nf5,,1,2,x,4,5\n",
        )
        .unwrap();
        let e = Durations::with_file(&path).unwrap_err().to_string();
        assert!(e.contains("d.csv:2") && e.contains("reboot"), "{e}");
    }
}
