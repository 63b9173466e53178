//! Vendor firmware versions: parsing each vendor's notation, a correct total order per vendor,
//! display in the vendor's own notation, release branches, and version sets for the catalog.
//!
//! Semver is used only where it fits (`generic`). Every other vendor is parsed into a fixed tuple
//! of numbers so that `11.5.1 HF10` > `11.5.1 HF9`, `14.1-8.122` > `14.1-8.50` and
//! `5.2.1-P11` > `5.2.1-P9` > `5.2.1`, all of which semver's pre-release rules get wrong.

mod parse;
mod set;

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::str::FromStr;

pub use set::{VersionSet, VersionSetError};

/// A load-balancer vendor, as written in inventories and the catalog.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Vendor {
    /// F5 BIG-IP (TMOS): `15.1.10.2`, `11.5.1 HF10`.
    F5,
    /// NetScaler (Citrix) ADC: `13.1-49.13`.
    NetScaler,
    /// A10 Networks ACOS: `5.2.1-P3`, `4.1.4-GR1-P9`.
    A10,
    /// Kemp / Progress LoadMaster: `7.2.62.0`.
    Kemp,
    /// Fortinet FortiADC: `7.2.6`, `6.1.4 build 0140`.
    FortiAdc,
    /// Anything else with semantic versions (HAProxy, a Linux-based load balancer).
    Generic,
}

impl Vendor {
    /// Every vendor, in display order.
    pub const ALL: [Vendor; 6] = [
        Vendor::F5,
        Vendor::NetScaler,
        Vendor::A10,
        Vendor::Kemp,
        Vendor::FortiAdc,
        Vendor::Generic,
    ];

    /// The identifier used in files and on the command line.
    pub fn id(self) -> &'static str {
        match self {
            Vendor::F5 => "f5",
            Vendor::NetScaler => "netscaler",
            Vendor::A10 => "a10",
            Vendor::Kemp => "kemp",
            Vendor::FortiAdc => "fortiadc",
            Vendor::Generic => "generic",
        }
    }

    /// What a version of this vendor looks like, for error messages.
    pub fn version_hint(self) -> &'static str {
        match self {
            Vendor::F5 => "MAJOR.MINOR.MAINT[.POINT] [HFn], e.g. 15.1.10.2 or 11.5.1 HF10",
            Vendor::NetScaler => "RELEASE-BUILD.SUB, e.g. 13.1-49.13",
            Vendor::A10 => "X.Y.Z[-GRn][-Pn][-SPn], e.g. 5.2.1-P3 or 4.1.4-GR1-P9",
            Vendor::Kemp => "A.B.C[.D], e.g. 7.2.62.0",
            Vendor::FortiAdc => "X.Y.Z [build NNNN], e.g. 7.2.6",
            Vendor::Generic => "semantic version MAJOR.MINOR.PATCH, e.g. 2.8.3",
        }
    }

    /// How many leading key components make a release branch (train).
    fn branch_len(self) -> usize {
        match self {
            Vendor::F5 | Vendor::NetScaler | Vendor::FortiAdc | Vendor::Generic => 2,
            Vendor::Kemp => 3,
            // X.Y.Z plus the GR line: 4.1.4-GR1 is its own long-lived branch.
            Vendor::A10 => 4,
        }
    }
}

impl fmt::Display for Vendor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

/// Every name a vendor is accepted by: its id first, then aliases.
const VENDOR_NAMES: [(&str, Vendor); 11] = [
    ("f5", Vendor::F5),
    ("netscaler", Vendor::NetScaler),
    ("a10", Vendor::A10),
    ("kemp", Vendor::Kemp),
    ("fortiadc", Vendor::FortiAdc),
    ("generic", Vendor::Generic),
    ("big-ip", Vendor::F5),
    ("bigip", Vendor::F5),
    ("citrix", Vendor::NetScaler),
    ("loadmaster", Vendor::Kemp),
    ("fortinet", Vendor::FortiAdc),
];

/// An unknown vendor name; its message suggests the closest known name.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("unknown vendor \"{0}\" ({hint})", hint = unknown_vendor_hint(.0))]
pub struct UnknownVendor(pub String);

fn unknown_vendor_hint(typed: &str) -> String {
    let found = crate::suggest::closest(typed, VENDOR_NAMES.iter().map(|(n, _)| *n));
    crate::suggest::question(&found)
        .unwrap_or_else(|| "expected one of: f5, netscaler, a10, kemp, fortiadc, generic".into())
}

impl FromStr for Vendor {
    type Err = UnknownVendor;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let lower = s.trim().to_ascii_lowercase();
        VENDOR_NAMES
            .iter()
            .find(|(n, _)| *n == lower)
            .map(|&(_, v)| v)
            .ok_or_else(|| UnknownVendor(s.trim().to_string()))
    }
}

/// A value that is not a version of the given vendor.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
#[error("invalid {vendor} version \"{value}\": {reason} (expected {})", vendor.version_hint())]
pub struct VersionError {
    /// The vendor whose notation was expected.
    pub vendor: Vendor,
    /// The value as given.
    pub value: String,
    /// What is wrong with it.
    pub reason: String,
}

/// Number of numeric components in a version key.
pub(crate) const KEY_LEN: usize = 6;

/// The comparable part of a version.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Key {
    Tuple([u64; KEY_LEN]),
    Semver(semver::Version),
}

/// A firmware version of one vendor: ordered correctly, displayed in the vendor's notation.
///
/// Two versions are equal when they denote the same release (`15.1.10` = `15.1.10.0`); the
/// display keeps the form that was written, normalised (`5.2.1-p3` shows as `5.2.1-P3`).
#[derive(Clone, Debug)]
pub struct Version {
    vendor: Vendor,
    key: Key,
    text: Box<str>,
}

impl Version {
    /// Parses `text` in `vendor`'s notation.
    pub fn parse(vendor: Vendor, text: &str) -> Result<Version, VersionError> {
        let err = |reason: &str| VersionError {
            vendor,
            value: text.to_string(),
            reason: reason.to_string(),
        };
        let trimmed = text.trim();
        if trimmed.is_empty() {
            return Err(err("empty"));
        }
        if vendor == Vendor::Generic {
            let v = semver::Version::parse(trimmed).map_err(|e| err(&e.to_string()))?;
            return Ok(Version {
                vendor,
                text: v.to_string().into(),
                key: Key::Semver(v),
            });
        }
        let (key, text) = parse::parse(vendor, trimmed).map_err(|reason| err(&reason))?;
        Ok(Version {
            vendor,
            key: Key::Tuple(key),
            text: text.into(),
        })
    }

    /// The vendor this version belongs to.
    pub fn vendor(&self) -> Vendor {
        self.vendor
    }

    /// The version in the vendor's notation.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The numeric key (semver versions map major, minor, patch).
    pub(crate) fn components(&self) -> [u64; KEY_LEN] {
        match &self.key {
            Key::Tuple(t) => *t,
            Key::Semver(v) => [v.major, v.minor, v.patch, 0, 0, 0],
        }
    }

    /// The release branch (train) this version belongs to.
    pub fn branch(&self) -> Branch {
        let n = self.vendor.branch_len();
        let mut parts = [0u64; KEY_LEN];
        parts[..n].copy_from_slice(&self.components()[..n]);
        Branch {
            vendor: self.vendor,
            parts,
        }
    }

    /// Whether the first `prefix.len()` key components equal `prefix`.
    pub(crate) fn has_prefix(&self, prefix: &[u64]) -> bool {
        let c = self.components();
        prefix.len() <= KEY_LEN && c[..prefix.len()] == *prefix
    }
}

impl PartialEq for Version {
    fn eq(&self, other: &Self) -> bool {
        self.vendor == other.vendor && self.key == other.key
    }
}

impl Eq for Version {}

impl Hash for Version {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.vendor.hash(state);
        self.key.hash(state);
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        self.vendor
            .cmp(&other.vendor)
            .then_with(|| self.key.cmp(&other.key))
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl serde::Serialize for Version {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text)
    }
}

/// A release branch (train) of one vendor: F5 `15.1`, NetScaler `13.1`, A10 `4.1.4-GR1`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Branch {
    vendor: Vendor,
    parts: [u64; KEY_LEN],
}

impl fmt::Display for Branch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let p = &self.parts;
        match self.vendor {
            Vendor::Kemp => write!(f, "{}.{}.{}", p[0], p[1], p[2]),
            Vendor::A10 if p[3] > 0 => write!(f, "{}.{}.{}-GR{}", p[0], p[1], p[2], p[3]),
            Vendor::A10 => write!(f, "{}.{}.{}", p[0], p[1], p[2]),
            _ => write!(f, "{}.{}", p[0], p[1]),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(vendor: Vendor, s: &str) -> Version {
        Version::parse(vendor, s).unwrap_or_else(|e| panic!("{e}"))
    }

    #[track_caller]
    fn ascending(vendor: Vendor, list: &[&str]) {
        for pair in list.windows(2) {
            let (a, b) = (v(vendor, pair[0]), v(vendor, pair[1]));
            assert!(a < b, "{vendor}: expected {a} < {b}");
        }
    }

    #[test]
    fn a_bad_version_says_what_one_looks_like() {
        let e = Version::parse(Vendor::NetScaler, "13.1")
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("invalid netscaler version \"13.1\": ")
                && e.ends_with("(expected RELEASE-BUILD.SUB, e.g. 13.1-49.13)"),
            "{e}"
        );
        let e = Version::parse(Vendor::F5, "fifteen")
            .unwrap_err()
            .to_string();
        assert!(
            e.ends_with(
                "(expected MAJOR.MINOR.MAINT[.POINT] [HFn], e.g. 15.1.10.2 or 11.5.1 HF10)"
            ),
            "{e}"
        );
    }

    #[test]
    fn vendor_names_and_their_aliases() {
        for v in Vendor::ALL {
            assert_eq!(v.id().parse::<Vendor>(), Ok(v));
            assert_eq!(v.to_string(), v.id());
        }
        for (alias, v) in [
            ("BIG-IP", Vendor::F5),
            ("bigip", Vendor::F5),
            (" Citrix ", Vendor::NetScaler),
            ("A10", Vendor::A10),
            ("LoadMaster", Vendor::Kemp),
            ("fortinet", Vendor::FortiAdc),
            ("GENERIC", Vendor::Generic),
        ] {
            assert_eq!(alias.parse::<Vendor>(), Ok(v), "{alias}");
        }
        assert_eq!(
            " radware ".parse::<Vendor>(),
            Err(UnknownVendor("radware".into()))
        );
    }

    #[test]
    fn an_unknown_vendor_a_typo_away_suggests_the_known_one() {
        let e = "netscalar".parse::<Vendor>().unwrap_err().to_string();
        assert_eq!(
            e,
            "unknown vendor \"netscalar\" (did you mean \"netscaler\"?)"
        );
        let e = "Citirx".parse::<Vendor>().unwrap_err().to_string();
        assert!(e.contains("did you mean \"citrix\"?"), "{e}");
        // Nothing close: the list of vendors instead.
        let e = "radware".parse::<Vendor>().unwrap_err().to_string();
        assert!(e.contains("expected one of: f5, netscaler"), "{e}");
        assert!(!e.contains("did you mean"), "{e}");
    }

    #[test]
    fn a_wrong_count_of_parts_says_how_many_are_expected() {
        let e = Version::parse(Vendor::NetScaler, "13-49.13").unwrap_err();
        assert_eq!(e.reason, "release: \"13\" has 1 numeric parts, 2 expected");
        let e = Version::parse(Vendor::F5, "15.1").unwrap_err();
        assert_eq!(e.reason, "\"15.1\" has 2 numeric parts, 3 to 4 expected");
    }

    #[test]
    fn a_number_has_at_most_nine_digits() {
        assert_eq!(
            v(Vendor::F5, "15.1.123456789").to_string(),
            "15.1.123456789"
        );
        let e = Version::parse(Vendor::F5, "15.1.1234567890").unwrap_err();
        assert_eq!(e.reason, "\"1234567890\" is not a number");
    }

    #[test]
    fn equal_versions_hash_alike_and_different_ones_apart() {
        use std::collections::hash_map::DefaultHasher;
        let hash = |x: &Version| {
            let mut h = DefaultHasher::new();
            x.hash(&mut h);
            h.finish()
        };
        let (a, b) = (v(Vendor::F5, "15.1.10"), v(Vendor::F5, "15.1.10.0"));
        assert_eq!(hash(&a), hash(&b));
        // A constant hash would still be consistent with Eq; it must also tell releases apart.
        let c = v(Vendor::F5, "15.1.10.2");
        let d = v(Vendor::Kemp, "15.1.10");
        assert_ne!(hash(&a), hash(&c));
        assert_ne!(hash(&a), hash(&d));
    }

    #[test]
    fn kemp_build_letters_rank_above_the_bare_build() {
        ascending(
            Vendor::Kemp,
            &["6.0-28", "6.0-28a", "6.0-28b", "6.0-28z", "6.0-29"],
        );
        assert_eq!(v(Vendor::Kemp, "6.0-28a").to_string(), "6.0-28a");
        assert_eq!(
            Version::parse(Vendor::Kemp, "6.0-28A").unwrap_err().reason,
            "build: \"28A\" is not a number"
        );
    }

    #[test]
    fn f5_builds_order_by_their_first_number_first() {
        ascending(
            Vendor::F5,
            &[
                "15.1.10",
                "15.1.10-0.0.7",
                "15.1.10-0.0.30",
                "15.1.10-0.2.1",
                "15.1.10-1.0.2",
                "15.1.10-2.0.1",
                "15.1.10-2.1.0",
                "15.1.10.1",
            ],
        );
    }

    #[test]
    fn f5_hotfixes_order_numerically_not_lexically() {
        ascending(
            Vendor::F5,
            &[
                "11.5.1",
                "11.5.1 HF1",
                "11.5.1 HF2",
                "11.5.1 HF9",
                "11.5.1 HF10",
                "11.5.1 HF11",
                "11.5.3 HF1",
                "11.5.10",
                "15.1.2.1",
                "15.1.10",
                "15.1.10.2",
                "17.1.1.3",
                "21.1.0",
            ],
        );
    }

    #[test]
    fn f5_missing_point_is_zero_but_display_is_kept() {
        assert_eq!(v(Vendor::F5, "15.1.10"), v(Vendor::F5, "15.1.10.0"));
        assert_eq!(v(Vendor::F5, "15.1.10").to_string(), "15.1.10");
        assert_eq!(v(Vendor::F5, "11.5.1  hf10").to_string(), "11.5.1 HF10");
    }

    #[test]
    fn netscaler_builds_compare_as_numbers() {
        ascending(
            Vendor::NetScaler,
            &[
                "12.1-65.39",
                "13.0-92.19",
                "13.1-37.262",
                "13.1-48.47",
                "13.1-49.13",
                "13.1-49.15",
                "14.1-8.50",
                "14.1-8.122",
                "14.1-43.56",
                "14.1-43.109",
            ],
        );
        assert_eq!(
            v(Vendor::NetScaler, "13.1 build 49.13").to_string(),
            "13.1-49.13"
        );
    }

    #[test]
    fn a10_patches_rank_above_the_base_release_in_any_case() {
        ascending(
            Vendor::A10,
            &[
                "4.1.4-GR1-P6",
                "4.1.4-gr1-p9",
                "5.2.0",
                "5.2.1",
                "5.2.1-p1",
                "5.2.1-P9",
                "5.2.1-p11",
                "5.2.1-P14",
                "6.0.0-p2",
                "6.0.8",
                "6.0.8-SP1",
            ],
        );
        assert_eq!(v(Vendor::A10, "4.1.4-gr1-p9").to_string(), "4.1.4-GR1-P9");
    }

    #[test]
    fn kemp_and_fortiadc_and_generic() {
        ascending(
            Vendor::Kemp,
            &["6.0-28a", "7.2.48.2", "7.2.54.0", "7.2.60", "7.2.62.0"],
        );
        ascending(
            Vendor::FortiAdc,
            &["5.3.0 build 0635", "6.1.4", "6.1.4, Build 0140", "7.2.6"],
        );
        assert_eq!(
            v(Vendor::FortiAdc, "6.1.4, Build 0140").to_string(),
            "6.1.4 build 0140"
        );
        ascending(Vendor::Generic, &["2.8.3", "2.8.4", "3.2.22-rc1", "3.2.22"]);
    }

    #[test]
    fn garbage_is_rejected_with_the_value_named() {
        for (vendor, bad) in [
            (Vendor::F5, "15.1.x"),
            (Vendor::F5, "7.2.6; reboot"),
            (Vendor::F5, "15.1"),
            (Vendor::F5, "$(id)"),
            (Vendor::F5, "15.1.10.2.1"),
            (Vendor::NetScaler, "13.1"),
            (Vendor::NetScaler, "13.1-49.13;id"),
            (Vendor::A10, "5.2.1-Q3"),
            (Vendor::A10, "5.2.1-P3-P4"),
            (Vendor::Kemp, "7.2"),
            (Vendor::FortiAdc, "7.2.6 build"),
            (Vendor::Generic, "1.2"),
            (Vendor::F5, ""),
        ] {
            let e = Version::parse(vendor, bad).unwrap_err();
            assert!(e.to_string().contains(bad.trim()), "{e}");
        }
    }

    #[test]
    fn branches() {
        assert_eq!(v(Vendor::F5, "15.1.10.2").branch().to_string(), "15.1");
        assert_eq!(
            v(Vendor::NetScaler, "13.1-49.13").branch().to_string(),
            "13.1"
        );
        assert_eq!(
            v(Vendor::A10, "4.1.4-GR1-P9").branch().to_string(),
            "4.1.4-GR1"
        );
        assert_eq!(v(Vendor::Kemp, "7.2.62.0").branch().to_string(), "7.2.62");
        // An A10 release without a GR line is its own X.Y.Z branch, shown without "-GR0".
        assert_eq!(v(Vendor::A10, "5.2.1-P3").branch().to_string(), "5.2.1");
        assert_eq!(v(Vendor::FortiAdc, "7.2.6").branch().to_string(), "7.2");
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    fn f5() -> impl Strategy<Value = (String, [u64; 5])> {
        (
            0u64..30,
            0u64..10,
            0u64..20,
            proptest::option::of(0u64..20),
            proptest::option::of(0u64..30),
            any::<bool>(),
        )
            .prop_map(|(a, b, c, p, hf, lower)| {
                let mut s = format!("{a}.{b}.{c}");
                if let Some(p) = p {
                    s.push_str(&format!(".{p}"));
                }
                if let Some(h) = hf {
                    s.push_str(if lower { " hf" } else { " HF" });
                    s.push_str(&h.to_string());
                }
                (s, [a, b, c, p.unwrap_or(0), hf.unwrap_or(0)])
            })
    }

    fn netscaler() -> impl Strategy<Value = (String, [u64; 4])> {
        (9u64..15, 0u64..6, 1u64..100, 0u64..400)
            .prop_map(|(a, b, c, d)| (format!("{a}.{b}-{c}.{d}"), [a, b, c, d]))
    }

    fn a10() -> impl Strategy<Value = (String, [u64; 6])> {
        (
            2u64..7,
            0u64..3,
            0u64..9,
            proptest::option::of(1u64..3),
            proptest::option::of(1u64..20),
            proptest::option::of(1u64..3),
            any::<bool>(),
        )
            .prop_map(|(x, y, z, gr, p, sp, lower)| {
                let mut s = format!("{x}.{y}.{z}");
                for (label, n) in [("GR", gr), ("P", p), ("SP", sp)] {
                    if let Some(n) = n {
                        let label = if lower {
                            label.to_ascii_lowercase()
                        } else {
                            label.to_string()
                        };
                        s.push_str(&format!("-{label}{n}"));
                    }
                }
                (
                    s,
                    [x, y, z, gr.unwrap_or(0), p.unwrap_or(0), sp.unwrap_or(0)],
                )
            })
    }

    proptest! {
        #[test]
        fn f5_order_is_the_tuple_order_and_display_round_trips(a in f5(), b in f5()) {
            let (va, vb) = (Version::parse(Vendor::F5, &a.0).unwrap(), Version::parse(Vendor::F5, &b.0).unwrap());
            prop_assert_eq!(va.cmp(&vb), a.1.cmp(&b.1), "{} vs {}", a.0, b.0);
            prop_assert_eq!(va.to_string(), a.0.replace(" hf", " HF"));
            prop_assert_eq!(Version::parse(Vendor::F5, va.as_str()).unwrap(), va);
        }

        #[test]
        fn netscaler_order_and_round_trip(a in netscaler(), b in netscaler()) {
            let (va, vb) = (Version::parse(Vendor::NetScaler, &a.0).unwrap(), Version::parse(Vendor::NetScaler, &b.0).unwrap());
            prop_assert_eq!(va.cmp(&vb), a.1.cmp(&b.1));
            prop_assert_eq!(va.to_string(), a.0);
        }

        #[test]
        fn a10_order_and_round_trip(a in a10(), b in a10()) {
            let (va, vb) = (Version::parse(Vendor::A10, &a.0).unwrap(), Version::parse(Vendor::A10, &b.0).unwrap());
            prop_assert_eq!(va.cmp(&vb), a.1.cmp(&b.1));
            prop_assert_eq!(va.to_string(), a.0.to_ascii_uppercase());
            prop_assert_eq!(Version::parse(Vendor::A10, va.as_str()).unwrap(), va);
        }

        #[test]
        fn sorting_a_list_matches_sorting_the_tuples(mut list in proptest::collection::vec(f5(), 0..40)) {
            let mut versions: Vec<Version> = list.iter().map(|(s, _)| Version::parse(Vendor::F5, s).unwrap()).collect();
            versions.sort();
            list.sort_by_key(|(_, k)| *k);
            let got: Vec<[u64; 6]> = versions.iter().map(Version::components).collect();
            let want: Vec<[u64; 6]> = list.iter().map(|(_, k)| [k[0], k[1], k[2], k[3], k[4], 0]).collect();
            prop_assert_eq!(got, want);
        }

        #[test]
        fn arbitrary_text_never_panics(s in "\\PC{0,30}") {
            for v in Vendor::ALL {
                let _ = Version::parse(v, &s);
            }
        }
    }
}
