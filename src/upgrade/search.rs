//! Shortest-path search over a vendor's releases using the catalog's upgrade rules.

use crate::catalog::{Catalog, Model, Rule, RuleKind, Support};
use crate::version::{Branch, Version};

use super::{Hop, Outcome};

/// Finds the shortest vendor-supported path from `from` to `to` on `model` (any hardware when
/// `None`). Among paths with the fewest hops, the one crossing the fewest releases with known
/// defects on that model wins, then the one through the newest releases.
pub fn find_path(
    catalog: &Catalog,
    model: Option<&Model>,
    from: &Version,
    to: &Version,
) -> Outcome {
    if to <= from {
        return Outcome::AlreadyThere { newer: to < from };
    }
    if let Some(m) = model
        && let Support::No(rule) = catalog.hardware_support(m, to)
    {
        return Outcome::ReplaceHardware(format!(
            "{} cannot run {} (platform support: {} {} for {}; {})",
            m.id,
            to,
            if rule.supported { "only" } else { "not" },
            rule.versions,
            rule.models.join(";"),
            rule.source
        ));
    }
    let graph = Graph::new(catalog, from, to);
    if let Some(hops) = graph.shortest(catalog, model, true) {
        return Outcome::Upgrade(hops);
    }
    if let Some(m) = model
        && let Some(hops) = graph.shortest(catalog, Some(m), false)
    {
        let bad = hops
            .iter()
            .find(|h| matches!(catalog.hardware_support(m, &h.version), Support::No(_)))
            .map(|h| h.version.to_string())
            .unwrap_or_default();
        let route: Vec<String> = hops.iter().map(|h| h.version.to_string()).collect();
        return Outcome::ReplaceHardware(format!(
            "every vendor-supported path from {from} to {to} passes through a release {} cannot run (shortest: {} > {}; {} cannot run {bad})",
            m.id,
            from,
            route.join(" > "),
            m.id
        ));
    }
    Outcome::Blocked(graph.why_blocked())
}

struct Graph<'a> {
    /// Index 0 is `from`; the last node is `to`.
    nodes: Vec<Version>,
    rules: Vec<&'a Rule>,
    branches: Vec<Branch>,
    /// The latest catalog release of each branch.
    latest: Vec<(Branch, Version)>,
    /// Every catalog release of the vendor.
    known: Vec<Version>,
}

impl<'a> Graph<'a> {
    fn new(catalog: &'a Catalog, from: &Version, to: &Version) -> Graph<'a> {
        let vendor = from.vendor();
        let releases = catalog.releases_of(vendor);
        let mut nodes = vec![from.clone()];
        nodes.extend(
            releases
                .clone()
                .filter(|r| r.track.is_empty() && r.version > *from && r.version < *to)
                .map(|r| r.version.clone()),
        );
        nodes.push(to.clone());
        let mut branches: Vec<Branch> = releases
            .clone()
            .filter(|r| r.track.is_empty())
            .map(|r| r.version.branch())
            .chain([from.branch(), to.branch()])
            .collect();
        branches.sort();
        branches.dedup();
        let mut latest: Vec<(Branch, Version)> = Vec::new();
        for r in releases.filter(|r| r.track.is_empty()) {
            match latest.last_mut() {
                Some((b, v)) if *b == r.version.branch() => *v = r.version.clone(),
                _ => latest.push((r.version.branch(), r.version.clone())),
            }
        }
        Graph {
            nodes,
            rules: catalog.rules_of(vendor).collect(),
            branches,
            latest,
            known: catalog
                .releases_of(vendor)
                .map(|r| r.version.clone())
                .collect(),
        }
    }

    fn next_branch(&self, b: Branch) -> Option<Branch> {
        self.branches.iter().copied().find(|x| *x > b)
    }

    fn is_latest_of_branch(&self, v: &Version) -> bool {
        self.latest.iter().any(|(b, l)| *b == v.branch() && l == v)
    }

    /// The rule allowing a direct upgrade from `u` to `v`, unless a rule forbids it.
    fn edge(&self, u: &Version, v: &Version) -> Option<&'a Rule> {
        if v <= u {
            return None;
        }
        let target = self.nodes.last().expect("target");
        let mut allowed = None;
        for &r in &self.rules {
            if !r.from.contains(u) {
                continue;
            }
            let to_ok = r.to.is_empty() || r.to.contains(v);
            let applies = match r.kind {
                RuleKind::Direct | RuleKind::Blocked | RuleKind::NotRecommended => r.to.contains(v),
                RuleKind::SameBranch => to_ok && u.branch() == v.branch(),
                RuleKind::NextBranch => to_ok && self.next_branch(u.branch()) == Some(v.branch()),
            };
            if !applies {
                continue;
            }
            if r.kind.forbids() {
                return None;
            }
            // `via latest`: a hop that is not the target must land on its branch's latest.
            if !r.via_latest || v == target || self.is_latest_of_branch(v) {
                allowed.get_or_insert(r);
            }
        }
        allowed
    }

    /// Dijkstra on (hops, defective releases crossed); node order breaks ties toward newer.
    fn shortest(
        &self,
        catalog: &Catalog,
        model: Option<&Model>,
        check_hw: bool,
    ) -> Option<Vec<Hop>> {
        let n = self.nodes.len();
        let usable: Vec<bool> = self
            .nodes
            .iter()
            .map(|v| match (check_hw, model) {
                (true, Some(m)) => !matches!(catalog.hardware_support(m, v), Support::No(_)),
                _ => true,
            })
            .collect();
        let defective: Vec<u32> = self
            .nodes
            .iter()
            .map(|v| u32::from(catalog.defects_affecting(v, model).next().is_some()))
            .collect();
        let mut cost: Vec<Option<(u32, u32)>> = vec![None; n];
        let mut prev: Vec<Option<(usize, &Rule)>> = vec![None; n];
        let mut done = vec![false; n];
        cost[0] = Some((0, 0));
        // Pick the cheapest open node; ties go to the newest (highest index).
        let cheapest_open = |done: &[bool], cost: &[Option<(u32, u32)>]| {
            (0..n)
                .rev()
                .filter(|&i| !done[i] && cost[i].is_some())
                .min_by_key(|&i| cost[i])
        };
        while let Some(u) = cheapest_open(&done, &cost) {
            done[u] = true;
            if u == n - 1 {
                break;
            }
            let (hops, bad) = cost[u].expect("open node has a cost");
            for v in (u + 1..n).rev() {
                if done[v] || !usable[v] {
                    continue;
                }
                let Some(rule) = self.edge(&self.nodes[u], &self.nodes[v]) else {
                    continue;
                };
                let c = (hops + 1, bad + defective[v]);
                if cost[v].is_none_or(|old| c < old) {
                    cost[v] = Some(c);
                    prev[v] = Some((u, rule));
                }
            }
        }
        cost[n - 1]?;
        let mut hops = Vec::new();
        let mut at = n - 1;
        while let Some((p, rule)) = prev[at] {
            hops.push(Hop {
                version: self.nodes[at].clone(),
                rule: rule.clone(),
            });
            at = p;
        }
        hops.reverse();
        Some(hops)
    }

    /// Explains a missing path: how far the rules reach from the start.
    fn why_blocked(&self) -> String {
        let (from, to) = (&self.nodes[0], self.nodes.last().expect("target"));
        let n = self.nodes.len();
        let mut reached = vec![false; n];
        reached[0] = true;
        for u in 0..n {
            if !reached[u] {
                continue;
            }
            let tail = &mut reached[u + 1..];
            for (k, r) in tail.iter_mut().enumerate() {
                if !*r && self.edge(&self.nodes[u], &self.nodes[u + 1 + k]).is_some() {
                    *r = true;
                }
            }
        }
        let vendor = from.vendor();
        if self.rules.is_empty() {
            return format!(
                "no upgrade rules are known for {vendor}: add the vendor's published paths to upgrade-rules.csv"
            );
        }
        let furthest = (0..n).rev().find(|&i| reached[i]).unwrap_or(0);
        let forbidding: Vec<String> = self
            .rules
            .iter()
            .filter(|r| r.kind.forbids() && r.to.contains(to))
            .filter(|r| (0..n).any(|i| reached[i] && r.from.contains(&self.nodes[i])))
            .map(|r| format!("{} (line {})", r.describe(), r.line))
            .collect();
        let mut msg = if furthest == 0 {
            format!(
                "no vendor-supported upgrade from {from} to {to}: no {vendor} rule leads anywhere from {from}"
            )
        } else {
            format!(
                "no vendor-supported upgrade from {from} to {to}: from {from} the {vendor} rules reach at most {}",
                self.nodes[furthest]
            )
        };
        if !forbidding.is_empty() {
            msg.push_str(&format!("; forbidden by {}", forbidding.join(", ")));
        }
        // A rule that would go on from there, but to versions the catalog does not list.
        let stuck = &self.nodes[furthest];
        let dangling: Vec<String> = self
            .rules
            .iter()
            .filter(|r| r.kind == RuleKind::Direct && r.from.contains(stuck))
            .filter(|r| !r.to.contains(to) && !self.known.iter().any(|v| r.to.contains(v)))
            .map(|r| {
                format!(
                    "{} (line {}) needs a {} release the catalog does not list",
                    r.describe(),
                    r.line,
                    r.to
                )
            })
            .collect();
        if !dangling.is_empty() {
            msg.push_str(&format!("; {}", dangling.join(", ")));
        }
        msg
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::version::Vendor;

    fn path(vendor: Vendor, model: Option<&str>, from: &str, to: &str) -> Outcome {
        let c = Catalog::embedded().unwrap();
        let m = model.map(|m| c.model(vendor, m).unwrap().clone());
        find_path(
            &c,
            m.as_ref(),
            &Version::parse(vendor, from).unwrap(),
            &Version::parse(vendor, to).unwrap(),
        )
    }

    fn hops(o: &Outcome) -> Vec<String> {
        o.hops().iter().map(|h| h.version.to_string()).collect()
    }

    #[test]
    fn f5_major_jumps_follow_the_matrix() {
        let o = path(Vendor::F5, Some("i5800"), "15.1.10", "17.5.1");
        assert_eq!(hops(&o), ["16.1.4", "17.1.1.3", "17.5.1"], "{o:?}");
        let o = path(Vendor::F5, None, "12.1.3", "15.1.10");
        assert_eq!(hops(&o).len(), 2, "12.x -> 15.x is not direct: {o:?}");
        let o = path(Vendor::F5, None, "15.1.5", "15.1.7");
        assert_eq!(hops(&o), ["15.1.7"]);
    }

    #[test]
    fn rseries_cannot_cross_16x() {
        let o = path(Vendor::F5, Some("r5600"), "15.1.10", "17.5.1");
        assert_eq!(o.action(), "replace-hardware", "{o:?}");
        assert!(o.reason().unwrap().contains("16.1.4"), "{o:?}");
        let o = path(Vendor::F5, Some("r5600"), "17.1.1.3", "16.1.6");
        assert_eq!(o.action(), "none");
        let o = path(Vendor::F5, Some("r5600"), "15.1.5", "16.1.6");
        assert_eq!(o.action(), "replace-hardware");
        assert!(
            o.reason().unwrap().contains("r5600 cannot run 16.1.6"),
            "{o:?}"
        );
    }

    #[test]
    fn only_17_1_and_17_5_reach_21_directly() {
        // K13845: 21.x is upgraded to directly from 17.1.x and 17.5.x (and 21.x) only.
        let c = Catalog::embedded().unwrap();
        let to = Version::parse(Vendor::F5, "21.1.0").unwrap();
        let direct_from = |v: &Version| {
            v.as_str().starts_with("17.1.")
                || v.as_str().starts_with("17.5.")
                || v.as_str().starts_with("21.")
        };
        let mut seen = 0;
        for r in c.releases_of(Vendor::F5).filter(|r| r.version < to) {
            let o = find_path(&c, None, &r.version, &to);
            let h = hops(&o);
            if direct_from(&r.version) {
                assert_eq!(h, ["21.1.0"], "{} -> 21.1.0 is direct: {o:?}", r.version);
                seen += 1;
            } else if !h.is_empty() {
                assert!(h.len() > 1, "{} -> 21.1.0 is not direct: {o:?}", r.version);
                // The hop into 21.x starts from 17.1.x or 17.5.x.
                let before = Version::parse(Vendor::F5, &h[h.len() - 2]).unwrap();
                assert!(direct_from(&before), "{} -> 21.1.0: {h:?}", r.version);
            }
        }
        assert!(seen >= 2, "the catalog lists 17.1.x and 17.5.x releases");
        // 16.1 goes through 17.x; 17.0 is not in K13845's 21.x row either.
        let o = path(Vendor::F5, None, "16.1.4", "21.1.0");
        assert_eq!(hops(&o).len(), 2, "{o:?}");
        let o = path(Vendor::F5, None, "17.0.0", "21.1.0");
        assert_eq!(hops(&o).len(), 2, "{o:?}");
    }

    #[test]
    fn f5_21_runs_on_rseries_and_velos_tenants_not_on_iseries_or_viprion() {
        // K9476, K86001294, K9412.
        let c = Catalog::embedded().unwrap();
        let v21 = Version::parse(Vendor::F5, "21.1.0").unwrap();
        let v17 = Version::parse(Vendor::F5, "17.5.1").unwrap();
        let mut families = std::collections::BTreeSet::new();
        for m in c.models.iter().filter(|m| m.vendor == Vendor::F5) {
            let runs = |v| !matches!(c.hardware_support(m, v), Support::No(_));
            match m.family.as_str() {
                "iSeries" | "VIPRION" => {
                    assert!(!runs(&v21), "{} must not run 21.x", m.id);
                    families.insert(m.family.as_str());
                }
                "rSeries" | "VELOS" => {
                    assert!(runs(&v21), "{} runs 21.x tenants", m.id);
                    families.insert(m.family.as_str());
                }
                _ => {}
            }
            if matches!(m.family.as_str(), "iSeries" | "rSeries") {
                assert!(runs(&v17), "{} runs 17.5.1", m.id);
            }
        }
        assert_eq!(families.len(), 4, "{families:?}");
        // So an iSeries on 17.5.1 has no way to 21.1.0, and says why.
        let o = path(Vendor::F5, Some("i5800"), "17.5.1", "21.1.0");
        assert_eq!(o.action(), "replace-hardware", "{o:?}");
        assert!(o.reason().unwrap().contains("K9476"), "{o:?}");
    }

    #[test]
    fn netscaler_one_release_at_a_time() {
        let o = path(Vendor::NetScaler, None, "13.0-92.19", "14.1-66.62");
        assert_eq!(hops(&o), ["13.1-62.23", "14.1-66.62"], "{o:?}");
        let o = path(Vendor::NetScaler, None, "14.1-8.50", "14.1-8.122");
        assert_eq!(hops(&o), ["14.1-8.122"]);
    }

    #[test]
    fn fortiadc_goes_branch_by_branch_through_the_latest() {
        // The vendor's example: 5.3.5 -> 5.4.x -> 6.0.x -> 6.1.5, "x" the latest of the branch.
        let c = Catalog::embedded().unwrap();
        let latest = |b: crate::version::Branch| {
            c.releases_of(Vendor::FortiAdc)
                .filter(|r| r.version.branch() == b)
                .map(|r| r.version.clone())
                .max()
                .unwrap()
        };
        for (from, to) in [("5.3.5", "6.1.5"), ("6.1.4", "7.4.3"), ("5.3.0", "7.2.6")] {
            let o = path(Vendor::FortiAdc, None, from, to);
            let h: Vec<Version> = o.hops().iter().map(|h| h.version.clone()).collect();
            assert!(!h.is_empty(), "{from} -> {to}: {o:?}");
            assert_eq!(h.last().unwrap().as_str(), to);
            let mut prev = Version::parse(Vendor::FortiAdc, from).unwrap();
            for (i, v) in h.iter().enumerate() {
                assert!(v.branch() > prev.branch(), "one branch per hop: {h:?}");
                // No branch the catalog lists is skipped.
                assert!(
                    !c.releases_of(Vendor::FortiAdc)
                        .any(|r| r.version.branch() > prev.branch()
                            && r.version.branch() < v.branch()),
                    "{from} -> {to} skips a branch: {h:?}"
                );
                if i + 1 < h.len() {
                    assert_eq!(
                        *v,
                        latest(v.branch()),
                        "intermediate hops land on the latest"
                    );
                }
                prev = v.clone();
            }
        }
        let o = path(Vendor::FortiAdc, None, "6.1.4", "6.2.6");
        assert_eq!(hops(&o), ["6.2.6"], "{o:?}");
    }

    #[test]
    fn fortiadc_models_do_not_run_firmware_older_than_their_first_listed_line() {
        // FortiManager's model lists per FortiADC line (a proxy): 120F from 6.2, 320F from 7.4.
        let o = path(Vendor::FortiAdc, Some("FAD-120F"), "6.1.4", "6.1.5");
        assert_eq!(o.action(), "replace-hardware", "{o:?}");
        let o = path(Vendor::FortiAdc, Some("FAD-120F"), "6.2.6", "7.4.3");
        assert_eq!(o.action(), "upgrade", "{o:?}");
        let o = path(Vendor::FortiAdc, Some("FAD-320F"), "7.1.0", "7.2.6");
        assert_eq!(o.action(), "replace-hardware", "{o:?}");
        // A model listed from the first line the lists cover is not limited.
        let o = path(Vendor::FortiAdc, Some("FAD-400F"), "5.3.5", "6.1.5");
        assert_eq!(o.action(), "upgrade", "{o:?}");
    }

    #[test]
    fn kemp_gate_at_7_2_60() {
        let o = path(Vendor::Kemp, None, "7.2.48.2", "7.2.62.0");
        assert_eq!(hops(&o), ["7.2.60", "7.2.62.0"], "{o:?}");
    }

    #[test]
    fn a10_has_no_rules() {
        let o = path(Vendor::A10, None, "5.2.1-P3", "6.0.6");
        assert_eq!(o.action(), "blocked");
        assert!(o.reason().unwrap().contains("no upgrade rules"), "{o:?}");
    }
}
