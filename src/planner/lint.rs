//! Warnings about a plan: devices left out, HA groups with different paths, hops through a
//! release with a known defect, a target past its end of support, canary gaps.

use std::collections::BTreeMap;

use jiff::civil::Date;

use super::build::Work;
use super::file::Lint;
use crate::catalog::Catalog;

/// Lints collected while building.
#[derive(Default)]
pub(super) struct Lints(Vec<Lint>);

impl Lints {
    pub fn push(&mut self, code: &str, message: String) {
        self.0.push(Lint {
            code: code.into(),
            message,
        });
    }

    /// Sorted by code, then message; duplicates dropped.
    pub fn finish(mut self) -> Vec<Lint> {
        self.0
            .sort_by(|a, b| (&a.code, &a.message).cmp(&(&b.code, &b.message)));
        self.0.dedup();
        self.0
    }
}

/// Defective hops and unsupported targets over every planned path.
pub(super) fn paths(lints: &mut Lints, catalog: &Catalog, works: &[Work<'_>], as_of: Date) {
    // (vendor, model, hop) → devices crossing it; target → devices.
    let mut hops: BTreeMap<(&str, &str, &crate::version::Version), usize> = BTreeMap::new();
    let mut targets: BTreeMap<&crate::version::Version, usize> = BTreeMap::new();
    for m in works.iter().flat_map(|w| &w.members) {
        let d = m.device;
        for h in &m.hops {
            *hops
                .entry((d.vendor.id(), d.model.as_str(), h))
                .or_default() += 1;
        }
        if let Some(t) = m.hops.last() {
            *targets.entry(t).or_default() += 1;
        }
    }
    for ((vendor, model, hop), n) in hops {
        let ids: Vec<&str> = catalog
            .defects_affecting(hop, catalog.model(hop.vendor(), model))
            .map(|d| d.id.as_str())
            .collect();
        if !ids.is_empty() {
            lints.push(
                "defective-hop",
                format!(
                    "{n} {vendor} {model} device{} go through {hop}, affected by known defect{} {} (no path around it)",
                    if n == 1 { "" } else { "s" },
                    if ids.len() == 1 { "" } else { "s" },
                    ids.join(", ")
                ),
            );
        }
    }
    for (target, n) in targets {
        let Some(r) = catalog.release(target) else {
            continue;
        };
        if r.supported_on(as_of) == Some(false) {
            lints.push(
                "target-end-of-support",
                format!(
                    "target {} {target} ({n} device{}) is past its end of technical support ({}) on {as_of}",
                    target.vendor().id(),
                    if n == 1 { "" } else { "s" },
                    r.end_of_support.map(|d| d.to_string()).unwrap_or_default()
                ),
            );
        }
    }
}
