//! `--only` / `--exclude` selectors: `site=FRA1`, `model=i4800,i7800`, `vendor=f5`,
//! `device=fra1-lb0*`. Values are case-insensitive and may use `*` as a wildcard. Under
//! `--only`, selectors on different keys must all match and values of one key are
//! alternatives; under `--exclude`, any match excludes.

use std::fmt;
use std::str::FromStr;

use crate::inventory::Device;

/// What a selector looks at.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Key {
    /// The site name.
    Site,
    /// The model id.
    Model,
    /// The vendor.
    Vendor,
    /// The device name.
    Device,
}

impl Key {
    fn id(self) -> &'static str {
        match self {
            Key::Site => "site",
            Key::Model => "model",
            Key::Vendor => "vendor",
            Key::Device => "device",
        }
    }

    /// "no device …" a value, and what the values that exist are called.
    fn words(self) -> (&'static str, &'static str) {
        match self {
            Key::Site => ("at site", "sites with devices"),
            Key::Model => ("of model", "models in the inventory"),
            Key::Vendor => ("of vendor", "vendors in the inventory"),
            Key::Device => ("named", "devices in the inventory"),
        }
    }

    /// The device's value for this key.
    fn value(self, d: &Device) -> &str {
        match self {
            Key::Site => d.site.as_str(),
            Key::Model => d.model.as_str(),
            Key::Vendor => d.vendor.id(),
            Key::Device => d.name.as_str(),
        }
    }
}

/// One `KEY=VALUE[,VALUE...]` selector.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Selector {
    /// What it looks at.
    pub key: Key,
    /// Patterns (lower-case), any of which may match.
    pub patterns: Vec<String>,
}

impl FromStr for Selector {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (k, v) = s.split_once('=').ok_or_else(|| {
            format!("\"{s}\": expected KEY=VALUE with KEY one of site, model, vendor, device")
        })?;
        let key = match k.trim().to_ascii_lowercase().as_str() {
            "site" => Key::Site,
            "model" => Key::Model,
            "vendor" => Key::Vendor,
            "device" | "name" => Key::Device,
            other => {
                return Err(format!(
                    "\"{other}\": unknown selector key (expected site, model, vendor or device)"
                ));
            }
        };
        let patterns: Vec<String> = v
            .split(',')
            .map(|p| p.trim().to_ascii_lowercase())
            .filter(|p| !p.is_empty())
            .collect();
        if patterns.is_empty() {
            return Err(format!("\"{s}\": no value after ="));
        }
        Ok(Selector { key, patterns })
    }
}

impl fmt::Display for Selector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={}", self.key.id(), self.patterns.join(","))
    }
}

/// Whether `text` matches `pattern`, where `*` matches any run of characters (ASCII
/// case-insensitive; `pattern` is lower-case).
fn glob(pattern: &str, text: &str) -> bool {
    let text = text.to_ascii_lowercase();
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return text == pattern;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !text.starts_with(first) || text.len() < first.len() + last.len() || !text.ends_with(last) {
        return false;
    }
    let mut rest = &text[first.len()..text.len() - last.len()];
    for mid in &parts[1..parts.len() - 1] {
        match rest.find(mid) {
            Some(i) => rest = &rest[i + mid.len()..],
            None => return false,
        }
    }
    true
}

impl Selector {
    /// Whether the device matches.
    pub fn matches(&self, d: &Device) -> bool {
        let value = self.key.value(d);
        self.patterns.iter().any(|p| glob(p, value))
    }

    /// For each value of the selector that matches none of `devices`: what it is, the closest
    /// existing values and a list of them (`flag` is `--only` or `--exclude`).
    fn unmatched(&self, flag: &str, devices: &[Device]) -> Vec<String> {
        let mut out = Vec::new();
        for p in &self.patterns {
            if devices.iter().any(|d| glob(p, self.key.value(d))) {
                continue;
            }
            let mut values: Vec<&str> = devices.iter().map(|d| self.key.value(d)).collect();
            values.sort_unstable();
            values.dedup();
            let hint = if p.contains('*') {
                String::new()
            } else {
                crate::suggest::did_you_mean(p, values.iter().copied())
            };
            const SHOWN: usize = 20;
            let (no_device, existing) = self.key.words();
            let list = if values.is_empty() {
                "the inventory has no devices".to_string()
            } else if values.len() > SHOWN {
                format!(
                    "{existing}: {}, … ({} more)",
                    values[..SHOWN].join(", "),
                    values.len() - SHOWN
                )
            } else {
                format!("{existing}: {}", values.join(", "))
            };
            out.push(format!(
                "{flag} {self}: no device {no_device} \"{p}\"{hint}; {list}"
            ));
        }
        out
    }
}

/// The `--only` and `--exclude` selectors together.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Selection {
    /// Devices must match these (keys ANDed, values ORed); empty selects all.
    pub only: Vec<Selector>,
    /// Devices matching any of these are left out.
    pub exclude: Vec<Selector>,
}

impl Selection {
    /// Selector values that match no device: under `--only` errors (first), under `--exclude`
    /// warnings (harmless, but likely a typo). Each names the values that exist.
    pub fn unmatched(&self, devices: &[Device]) -> (Vec<String>, Vec<String>) {
        let only = self
            .only
            .iter()
            .flat_map(|s| s.unmatched("--only", devices))
            .collect();
        let exclude = self
            .exclude
            .iter()
            .flat_map(|s| s.unmatched("--exclude", devices))
            .collect();
        (only, exclude)
    }

    /// Whether `--only` selects the device.
    pub fn selects(&self, d: &Device) -> bool {
        if self.only.is_empty() {
            return true;
        }
        let mut keys: Vec<Key> = self.only.iter().map(|s| s.key).collect();
        keys.sort();
        keys.dedup();
        keys.iter().all(|&k| {
            self.only
                .iter()
                .filter(|s| s.key == k)
                .any(|s| s.matches(d))
        })
    }

    /// Whether `--exclude` leaves the device out.
    pub fn excludes(&self, d: &Device) -> bool {
        self.exclude.iter().any(|s| s.matches(d))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob("fra1-*", "FRA1-lb01"));
        assert!(glob("*lb0*", "fra1-lb01"));
        assert!(glob("a*b*c", "aXbYc"));
        assert!(!glob("a*b*c", "acb"));
        assert!(!glob("ab*ba", "aba"));
        assert!(glob("*", ""));
        assert!(!glob("i4800", "i48000"));
    }

    #[test]
    fn parse_errors_say_what_is_expected() {
        assert!(
            "site"
                .parse::<Selector>()
                .unwrap_err()
                .contains("KEY=VALUE")
        );
        assert!(
            "rack=1"
                .parse::<Selector>()
                .unwrap_err()
                .contains("unknown")
        );
        assert_eq!(
            "Site=FRA1, NYC2".parse::<Selector>().unwrap().to_string(),
            "site=fra1,nyc2"
        );
    }
}
