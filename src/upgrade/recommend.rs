//! The `recommended` target policy.
//!
//! Candidates are the vendor's mainline catalog releases (no special track such as FIPS) that
//! are at or above the device's version, released by the policy date, not past their end of
//! technical support on that date (unknown dates do not exclude), and not affected by any known
//! defect on the device's model. They are ranked long-term branches first, then newest first.
//! The first candidate the device's hardware can run and reach by vendor-supported upgrades is
//! the target. When the hardware can run none of them, the outcome is "replace hardware" with the
//! top candidate as target. When it can run some but reach none, the best candidate that the
//! rules reach but the hardware cannot walk to ("replace hardware") is reported, else the best
//! candidate with the reason it is blocked.

use jiff::civil::Date;

use crate::catalog::{Catalog, Model, Release, Support, SupportRule};
use crate::version::Version;

use super::{Outcome, find_path};

/// Inputs of the recommended-target policy.
#[derive(Clone, Copy, Debug)]
pub struct Policy {
    /// The date at which releases must be released and still supported.
    pub as_of: Date,
}

/// The recommended target for a device and how to get there.
#[derive(Clone, Debug)]
pub struct Recommendation {
    /// The target; `None` only when no catalog release satisfies the policy.
    pub target: Option<Version>,
    /// How to reach it.
    pub outcome: Outcome,
    /// Why a better-ranked candidate was passed over (the hardware cannot run it, or no
    /// vendor-supported path reaches it), when one was.
    pub note: Option<String>,
}

impl Recommendation {
    /// The report's action word: the outcome's, except that a device on its target while a
    /// better-ranked release is out of its reach `stay`s (`none` means it is on the best one).
    pub fn action(&self) -> &'static str {
        match self.outcome {
            Outcome::AlreadyThere { newer: false } if self.note.is_some() => "stay",
            _ => self.outcome.action(),
        }
    }
}

/// Applies the policy to one device.
pub fn recommend(
    catalog: &Catalog,
    policy: Policy,
    model: Option<&Model>,
    current: &Version,
) -> Recommendation {
    let (target, outcome, note) = choose(catalog, policy, model, current);
    Recommendation {
        target,
        outcome,
        note,
    }
}

fn choose(
    catalog: &Catalog,
    policy: Policy,
    model: Option<&Model>,
    current: &Version,
) -> (Option<Version>, Outcome, Option<String>) {
    let mut candidates: Vec<&Release> = catalog
        .releases_of(current.vendor())
        .filter(|r| r.track.is_empty() && r.version >= *current)
        .filter(|r| released_by(r).is_none_or(|d| d <= policy.as_of))
        .filter(|r| r.supported_on(policy.as_of) != Some(false))
        .filter(|r| {
            catalog
                .defects_affecting(&r.version, model)
                .next()
                .is_none()
        })
        .collect();
    candidates.sort_by(|a, b| {
        (b.long_term == Some(true))
            .cmp(&(a.long_term == Some(true)))
            .then_with(|| b.version.cmp(&a.version))
    });
    let Some(top) = candidates.first() else {
        let newest = catalog.releases_of(current.vendor()).last();
        let why = match newest {
            Some(n) if n.version < *current => {
                return (None, Outcome::AlreadyThere { newer: true }, None);
            }
            Some(_) => format!(
                "no {} release at or above {current} is released, supported on {} and free of known defects{}",
                current.vendor(),
                policy.as_of,
                model.map(|m| format!(" on {}", m.id)).unwrap_or_default()
            ),
            None => format!("the catalog lists no {} releases", current.vendor()),
        };
        return (None, Outcome::Blocked(why), None);
    };
    let runnable: Vec<&&Release> = candidates
        .iter()
        .filter(|r| match model {
            Some(m) => !matches!(catalog.hardware_support(m, &r.version), Support::No(_)),
            None => true,
        })
        .collect();
    if runnable.is_empty() {
        let target = top.version.clone();
        let outcome = find_path(catalog, model, current, &target);
        return (Some(target), outcome, None);
    }
    let mut failures = Vec::new();
    for r in &runnable {
        let outcome = find_path(catalog, model, current, &r.version);
        if matches!(outcome, Outcome::Upgrade(_) | Outcome::AlreadyThere { .. }) {
            // A better-ranked release was passed over: say why.
            let note = if r.version == top.version {
                None
            } else if let Some(m) = model
                && let Support::No(rule) = catalog.hardware_support(m, &top.version)
            {
                Some(needs_hardware(m, &top.version, rule, policy.as_of))
            } else {
                failures.first().map(|(v, o): &(Version, Outcome)| {
                    format!(
                        "{v} ranks higher but is out of reach ({}): {}",
                        o.action(),
                        o.reason().unwrap_or_default()
                    )
                })
            };
            return (Some(r.version.clone()), outcome, note);
        }
        failures.push((r.version.clone(), outcome));
    }
    // A candidate the rules reach but the hardware cannot walk to explains more than one the
    // rules do not reach at all.
    let pick = failures
        .iter()
        .position(|(_, o)| matches!(o, Outcome::ReplaceHardware(_)))
        .unwrap_or(0);
    let (target, outcome) = failures.swap_remove(pick);
    (Some(target), outcome, None)
}

/// Why `model` cannot have the better-ranked `better`: the platform-support rule with its
/// source, and when the hardware's software support ends, where the catalog knows it.
fn needs_hardware(model: &Model, better: &Version, rule: &SupportRule, as_of: Date) -> String {
    let mut s = format!(
        "{better} ranks higher but needs new hardware: {} cannot run it ({})",
        model.id, rule.source
    );
    match model.end_of_software_support {
        Some(end) if end <= as_of => {
            s.push_str(&format!("; {}'s software support ended {end}", model.id))
        }
        // The catalog records the earliest date the vendor gives.
        Some(end) => s.push_str(&format!(
            "; {}'s software support ends {end} at the earliest",
            model.id
        )),
        None => {}
    }
    s
}

/// The release date, or for a release without one its branch's first release date (a release
/// cannot be older than its branch).
fn released_by(r: &Release) -> Option<Date> {
    r.release_date.or(r.branch_date)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::version::Vendor;

    fn rec(vendor: Vendor, model: &str, current: &str, date: &str) -> (Option<String>, Outcome) {
        let c = Catalog::embedded().unwrap();
        let m = c.model(vendor, model).cloned();
        let Recommendation {
            target: t,
            outcome: o,
            ..
        } = recommend(
            &c,
            Policy {
                as_of: date.parse().unwrap(),
            },
            m.as_ref(),
            &Version::parse(vendor, current).unwrap(),
        );
        (t.map(|v| v.to_string()), o)
    }

    #[test]
    fn fortiadc_releases_without_dates_are_candidates_and_reached_branch_by_branch() {
        // No source dates the FortiADC releases: unknown dates do not exclude a release, and
        // the 7.0 branch (6.2.x -> 7.0.x -> 7.1.x) is what a 6.2 unit upgrades through.
        let c = Catalog::embedded().unwrap();
        let newest = c.releases_of(Vendor::FortiAdc).last().unwrap();
        assert!(newest.release_date.is_none());
        let r = recommend(
            &c,
            Policy {
                as_of: "2026-11-25".parse().unwrap(),
            },
            c.model(Vendor::FortiAdc, "FAD-400D"),
            &Version::parse(Vendor::FortiAdc, "6.2.6").unwrap(),
        );
        assert_eq!(r.action(), "upgrade", "{r:?}");
        assert_eq!(r.target.as_ref(), Some(&newest.version), "{r:?}");
        assert!(
            r.outcome
                .hops()
                .iter()
                .any(|h| h.version.as_str().starts_with("7.0.")),
            "{r:?}"
        );
    }

    #[test]
    fn staying_below_an_unreachable_release_is_stay_and_on_the_best_one_is_none() {
        let c = Catalog::embedded().unwrap();
        let policy = Policy {
            as_of: "2026-11-25".parse().unwrap(),
        };
        let at = |model: &str, v: &str| {
            recommend(
                &c,
                policy,
                c.model(Vendor::F5, model),
                &Version::parse(Vendor::F5, v).unwrap(),
            )
        };
        // The newest LTS 21.1.0 ranks above 17.5.1 but an iSeries unit does not get it.
        let r = at("i5800", "17.5.1");
        assert_eq!(
            r.target.as_ref().map(|t| t.to_string()).as_deref(),
            Some("17.5.1")
        );
        assert!(matches!(r.outcome, Outcome::AlreadyThere { newer: false }));
        assert_eq!(r.action(), "stay");
        assert!(
            r.note
                .as_deref()
                .is_some_and(|n| n.starts_with("21.1.0 ranks higher")),
            "{:?}",
            r.note
        );
        // On the best release itself: nothing was passed over.
        let r = at("r5600", "21.1.0");
        assert_eq!(r.action(), "none");
        assert!(r.note.is_none(), "{:?}", r.note);
        // An upgrade stays an upgrade whether or not something better was passed over.
        assert_eq!(at("i5800", "15.1.10").action(), "upgrade");
    }

    #[test]
    fn f5_prefers_the_newest_reachable_supported_lts() {
        // 21.1.0 is the newest LTS but iSeries hardware cannot run it.
        let (t, o) = rec(Vendor::F5, "i5800", "15.1.10", "2026-11-25");
        assert_eq!(t.as_deref(), Some("17.5.1"), "{o:?}");
        assert_eq!(o.action(), "upgrade");
        // rSeries on 17.1.x goes straight to it (K13845).
        let (t, o) = rec(Vendor::F5, "r10900", "17.1.3", "2026-11-25");
        assert_eq!(t.as_deref(), Some("21.1.0"), "{o:?}");
        assert_eq!(o.hops().len(), 1, "{o:?}");
        // Before 17.5 existed, 17.1 was the answer.
        let (t, _) = rec(Vendor::F5, "i5800", "15.1.10", "2024-06-01");
        assert!(t.as_deref().is_some_and(|t| t.starts_with("17.1")), "{t:?}");
    }

    #[test]
    fn rseries_on_15_1_must_be_replaced() {
        let (t, o) = rec(Vendor::F5, "r5600", "15.1.10", "2026-11-25");
        // The rules leave 15.1 only through 16.x, which rSeries tenants cannot run.
        assert!(t.is_some());
        assert_eq!(o.action(), "replace-hardware", "{o:?}");
        assert!(o.reason().unwrap().contains("cannot run 16."), "{o:?}");
    }

    #[test]
    fn iseries_stays_on_17_and_says_the_newest_lts_needs_new_hardware() {
        let c = Catalog::embedded().unwrap();
        let policy = Policy {
            as_of: "2026-11-25".parse().unwrap(),
        };
        // The newest long-term release the policy allows on any hardware.
        let newest_lts = recommend(
            &c,
            policy,
            None,
            &Version::parse(Vendor::F5, "17.5.1").unwrap(),
        )
        .target
        .unwrap();
        assert!(newest_lts.as_str().starts_with("21."), "{newest_lts}");
        let iseries: Vec<&Model> = c.models.iter().filter(|m| m.family == "iSeries").collect();
        assert!(!iseries.is_empty());
        for m in iseries {
            let r = recommend(
                &c,
                policy,
                Some(m),
                &Version::parse(Vendor::F5, "15.1.10").unwrap(),
            );
            let t = r.target.clone().unwrap();
            assert!(t.as_str().starts_with("17."), "{}: {t}", m.id);
            let note = r.note.clone().unwrap_or_default();
            assert!(
                note.starts_with(&format!("{newest_lts} ranks higher but needs new hardware")),
                "{}: {note}",
                m.id
            );
            let end = m.end_of_software_support.expect("K9476 gives iSeries EoSS");
            assert!(note.contains(&end.to_string()), "{}: {note}", m.id);
        }
    }

    #[test]
    fn already_on_the_recommended_release() {
        let (t, o) = rec(Vendor::F5, "r5600", "21.1.0", "2026-11-25");
        assert_eq!(t.as_deref(), Some("21.1.0"));
        assert_eq!(o.action(), "none");
    }

    #[test]
    fn netscaler_skips_fips_builds_and_defective_ones() {
        let (t, o) = rec(Vendor::NetScaler, "MPX-17000", "13.1-49.13", "2026-11-25");
        assert_eq!(t.as_deref(), Some("14.1-66.62"), "{o:?}");
        assert_eq!(o.action(), "upgrade");
    }
}
