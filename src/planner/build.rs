//! Building a plan: select, assess, group, pick the canary, fill waves, place in windows.

use crate::{HashMap, HashSet};
use std::collections::{BTreeMap, VecDeque};

use jiff::Timestamp;

use super::file::{
    Carrier, CatalogRef, Group, InventoryRef, Phase, Plan, PlanOptions, PlannedDevice, SCHEMA,
    Step, Summary, Unschedulable, Wave, WaveKind,
};
use super::window::{self, Occurrence, Slot};
use super::{Options, Provenance, lint, rfc3339, utc};
use crate::catalog::Catalog;
use crate::inventory::report::assess_devices;
use crate::inventory::{Device, HaRole, Inventory, Site};
use crate::upgrade::{Outcome, Policy};
use crate::version::{Vendor, Version};

/// Days of windows looked at first for each site and wave; longer searches only when nothing
/// in that span is long enough (a DST night, say).
const LOOKAHEAD_DAYS: i64 = 21;

/// A device with its path.
pub(super) struct Member<'a> {
    pub device: &'a Device,
    pub hops: Vec<&'a Version>,
    pub minutes: i64,
}

/// An HA group (or a standalone device) with the members that need an upgrade.
pub(super) struct Work<'a> {
    pub site: &'a Site,
    pub rank: usize,
    pub ha_group: Option<&'a str>,
    pub name: &'a str,
    /// Upgrading members, standbys first, then the active.
    pub members: Vec<Member<'a>>,
    /// The unit that takes over when the active goes down.
    pub standby: Option<&'a Device>,
    /// The group's active unit, upgrading or not.
    pub active: Option<&'a Device>,
    pub failover_minutes: i64,
    /// Whether the group ends with its original active carrying traffic again.
    pub failback: bool,
}

/// What a group entry covers: which members, and whether an earlier entry of the group (the
/// canary) already failed over to the upgraded standby.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Part {
    pub phase: Phase,
    /// Standby phase: fail over to the upgraded standby at the end (the canary carries
    /// traffic). Active phase: the standby phase did so, and the former active is standby now.
    pub carried: bool,
}

impl Part {
    pub const FULL: Part = Part {
        phase: Phase::Full,
        carried: false,
    };
}

impl Work<'_> {
    fn members_of(&self, phase: Phase) -> impl Iterator<Item = &Member<'_>> {
        self.members.iter().filter(move |m| match phase {
            Phase::Full => true,
            Phase::Standby => m.device.ha_role != HaRole::Active,
            Phase::Active => m.device.ha_role == HaRole::Active,
        })
    }

    /// Whether the part's work is no longer than the site's longest written window.
    fn fits_some_window(&self, part: Part) -> bool {
        let longest = self.site.windows.iter().map(|w| i64::from(w.minutes)).max();
        longest.is_some_and(|l| self.minutes(part) <= l)
    }

    fn has_active(&self) -> bool {
        self.members
            .iter()
            .any(|m| m.device.ha_role == HaRole::Active)
    }

    /// Whether the group can be split into a standby and an active phase.
    fn splittable(&self) -> bool {
        self.has_active() && self.members_of(Phase::Standby).next().is_some()
    }

    /// The pair a failover needs: the standby taking over and the active giving up traffic.
    fn pair(&self) -> Option<(&Device, &Device)> {
        self.standby.zip(self.active)
    }

    fn steps(&self, part: Part) -> Vec<Step> {
        let failover = |to: &Device, from: &Device| Step::Failover {
            to: to.name.clone(),
            mgmt_host: to.mgmt.to_string(),
            from: Some(from.name.clone()),
            from_mgmt_host: Some(from.mgmt.to_string()),
        };
        let upgrade = |m: &Member| Step::Upgrade {
            device: m.device.name.clone(),
        };
        let mut out = Vec::new();
        // The standby phase of a canary ends carrying traffic on the upgraded standby.
        if part.phase == Phase::Standby {
            out.extend(self.members_of(Phase::Standby).map(upgrade));
            if let (true, Some((standby, active))) = (part.carried, self.pair()) {
                out.push(failover(standby, active));
            }
            return out;
        }
        let mut failed_over = part.phase == Phase::Active && part.carried;
        for m in self.members_of(part.phase) {
            if m.device.ha_role == HaRole::Active && !failed_over {
                if let Some((standby, active)) = self.pair() {
                    out.push(failover(standby, active));
                }
                failed_over = true;
            }
            out.push(upgrade(m));
        }
        // Roles end as they began: the upgraded former active takes traffic back.
        if self.failback
            && failed_over
            && let Some((standby, active)) = self.pair()
        {
            out.push(failover(active, standby));
        }
        out
    }

    fn minutes(&self, part: Part) -> i64 {
        let work: i64 = self.members_of(part.phase).map(|m| m.minutes).sum();
        let failovers = self
            .steps(part)
            .iter()
            .filter(|s| matches!(s, Step::Failover { .. }))
            .count() as i64;
        work + failovers * self.failover_minutes
    }

    /// The release an upgrading member ends on.
    fn target_of(&self, name: &str) -> Option<String> {
        self.members
            .iter()
            .find(|m| m.device.name == name)
            .and_then(|m| m.hops.last())
            .map(|v| v.as_str().to_string())
    }

    /// The unit carrying traffic after the part, and the release it runs then.
    fn carrier(&self, part: Part) -> Option<Carrier> {
        let start = self
            .active
            .or_else(|| self.members.first().map(|m| m.device))?;
        let mut steps = Vec::new();
        if part.phase == Phase::Active {
            steps = self.steps(Part {
                phase: Phase::Standby,
                ..part
            });
        }
        steps.extend(self.steps(part));
        let mut active = start.name.clone();
        for s in &steps {
            if let Step::Failover { to, .. } = s {
                active.clone_from(to);
            }
        }
        let upgraded = steps
            .iter()
            .any(|s| matches!(s, Step::Upgrade { device } if *device == active));
        let version = match self.target_of(&active) {
            Some(t) if upgraded => Some(t),
            _ => [self.active, self.standby]
                .into_iter()
                .flatten()
                .chain(self.members.iter().map(|m| m.device))
                .find(|d| d.name == active)
                .map(|d| d.version.as_str().to_string()),
        }?;
        Some(Carrier {
            device: active,
            version,
        })
    }
}

#[derive(Clone, Copy, Debug)]
struct Unit {
    work: usize,
    part: Part,
    /// Not before this instant (two-phase: after the window of the standby phase).
    after: Option<Timestamp>,
}

type Key<'a> = (Vendor, &'a str, &'a Version);

fn key<'a>(d: &'a Device) -> Key<'a> {
    (d.vendor, d.model.as_str(), &d.version)
}

/// Builds the plan.
pub fn build(
    inv: &Inventory,
    catalog: &Catalog,
    opts: &Options,
    prov: &Provenance,
) -> Result<Plan, String> {
    let mut lints = lint::Lints::default();
    let mut unschedulable: Vec<Unschedulable> = Vec::new();

    // Sites in rollout order: the `order` column (missing last), then file order.
    let mut site_order: Vec<usize> = (0..inv.sites.len()).collect();
    site_order.sort_by_key(|&i| (inv.sites[i].order.unwrap_or(i64::MAX), i));
    let rank: HashMap<&str, usize> = site_order
        .iter()
        .enumerate()
        .map(|(r, &i)| (inv.sites[i].name.as_str(), r))
        .collect();

    // Groups in inventory order; selection applies to whole groups.
    let mut groups: Vec<(Option<&str>, Vec<&Device>)> = Vec::new();
    let mut by_ha: HashMap<&str, usize> = HashMap::default();
    for d in &inv.devices {
        match &d.ha_group {
            Some(g) => match by_ha.get(g.as_str()) {
                Some(&i) => groups[i].1.push(d),
                None => {
                    by_ha.insert(g, groups.len());
                    groups.push((Some(g), vec![d]));
                }
            },
            None => groups.push((None, vec![d])),
        }
    }
    let sel = &opts.selection;
    groups.retain(|(name, members)| {
        let picked = members.iter().filter(|d| sel.selects(d)).count();
        let excluded = members.iter().filter(|d| sel.excludes(d)).count();
        let keep = picked > 0 && excluded == 0;
        let split = (picked > 0 && picked < members.len())
            || (excluded > 0 && excluded < members.len());
        if let (Some(name), true) = (name, split) {
            lints.push(
                "selector-splits-group",
                format!(
                    "the selectors match only some members of HA group {name}: the group is {} as a whole",
                    if keep { "planned" } else { "left out" }
                ),
            );
        }
        keep
    });
    // A pair already on two releases (a rollback, an upgrade stopped half-way): its failovers
    // put traffic on the other release, which a reviewer should know before approving.
    for (name, members) in &groups {
        if let Some(name) = name
            && members.iter().any(|d| d.version != members[0].version)
        {
            let shown: Vec<String> = members
                .iter()
                .map(|d| format!("{} {} {}", d.name, d.ha_role.id(), d.version))
                .collect();
            lints.push(
                "mixed-pair",
                format!(
                    "HA group {name} runs two releases ({}): each failover of its plan moves traffic between them",
                    shown.join(", ")
                ),
            );
        }
    }
    let selected: Vec<&Device> = groups.iter().flat_map(|(_, m)| m.iter().copied()).collect();
    // Devices whose model the catalog does not know are planned on the vendor's rules alone.
    let mut unknown_models: BTreeMap<(Vendor, &str), Vec<&str>> = BTreeMap::new();
    for d in selected.iter().filter(|d| d.hardware(catalog).is_none()) {
        unknown_models
            .entry((d.vendor, d.model.as_str()))
            .or_default()
            .push(d.name.as_str());
    }
    for ((vendor, model), names) in unknown_models {
        lints.push(
            "unknown-model",
            format!(
                "{vendor} model \"{model}\" is not in the catalog ({}): {}",
                names.join(", "),
                crate::inventory::UNKNOWN_MODEL_EFFECT
            ),
        );
    }
    let assessed = assess_devices(
        selected.clone(),
        catalog,
        &opts.target,
        opts.allow_unknown_target,
        Policy { as_of: opts.as_of },
    )?;
    // Assessments come in the order of `selected`: groups in order, members in order.
    let mut assessed = assessed.iter();
    let mut up_to_date: Vec<String> = Vec::new();

    // (vendor, model, version, code, reason) → devices left out for it.
    type NoPathKey<'k> = (Vendor, &'k str, &'k Version, &'static str, String);
    let mut no_path: std::collections::BTreeMap<NoPathKey, usize> = Default::default();
    let mut stays: BTreeMap<(Vendor, &str, &Version, String), usize> = BTreeMap::new();
    let mut works: Vec<Work> = Vec::new();
    for (ha, members) in &groups {
        let mut blocked: Vec<(&Device, &str, String)> = Vec::new();
        let mut upgrading = Vec::new();
        for &d in members {
            let a = assessed.next().expect("one assessment per selected device");
            debug_assert!(std::ptr::eq(a.device, d));
            match &a.rec.outcome {
                Outcome::AlreadyThere { .. } => {
                    // Staying because a better release is out of reach: up to date for the
                    // plan, and the lint says why.
                    if a.rec.action() == "stay"
                        && let Some(why) = &a.rec.note
                    {
                        *stays
                            .entry((d.vendor, d.model.as_str(), &d.version, why.clone()))
                            .or_default() += 1;
                    }
                    up_to_date.push(d.name.clone())
                }
                Outcome::Upgrade(hops) => upgrading.push((d, hops)),
                o @ (Outcome::ReplaceHardware(r) | Outcome::Blocked(r)) => {
                    blocked.push((d, o.action(), r.clone()))
                }
            }
        }
        let site = inv.site(&members[0].site);
        if site.is_none() {
            for &(d, _) in &upgrading {
                blocked.push((
                    d,
                    "unknown-site",
                    format!("site {} is not in sites.csv", d.site),
                ));
            }
            upgrading.clear();
        }
        if let Some(&(peer, _, _)) = blocked.first() {
            for (d, _) in upgrading.drain(..) {
                unschedulable.push(Unschedulable {
                    name: d.name.clone(),
                    site: d.site.clone(),
                    code: "peer".into(),
                    reason: format!(
                        "its HA peer {} cannot be upgraded, and a pair is upgraded together",
                        peer.name
                    ),
                });
            }
        }
        for (d, code, reason) in blocked {
            *no_path
                .entry((d.vendor, d.model.as_str(), &d.version, code, reason.clone()))
                .or_default() += 1;
            unschedulable.push(Unschedulable {
                name: d.name.clone(),
                site: d.site.clone(),
                code: code.into(),
                reason,
            });
        }
        let (Some(site), false) = (site, upgrading.is_empty()) else {
            continue;
        };
        {
            // Members on different paths (a lone member never differs).
            let paths: Vec<Vec<&str>> = upgrading
                .iter()
                .map(|(_, hops)| hops.iter().map(|h| h.version.as_str()).collect())
                .collect();
            if paths.iter().any(|p| *p != paths[0]) {
                let shown: Vec<String> = upgrading
                    .iter()
                    .zip(&paths)
                    .map(|((d, _), p)| format!("{}: {}", d.name, p.join(" → ")))
                    .collect();
                lints.push(
                    "ha-path-mismatch",
                    format!(
                        "HA group {} needs different paths on its members ({}): the pair runs mixed versions in between",
                        ha.unwrap_or_default(),
                        shown.join("; ")
                    ),
                );
            }
        }
        upgrading.sort_by_key(|(d, _)| {
            (
                match d.ha_role {
                    HaRole::Standby => 0,
                    HaRole::Standalone => 1,
                    HaRole::Active => 2,
                },
                d.name.as_str(),
            )
        });
        let standby = members
            .iter()
            .filter(|d| d.ha_role == HaRole::Standby)
            .min_by(|a, b| a.name.cmp(&b.name))
            .copied();
        let first = members[0];
        works.push(Work {
            site,
            rank: rank[site.name.as_str()],
            ha_group: *ha,
            name: ha.unwrap_or(first.name.as_str()),
            members: upgrading
                .into_iter()
                .map(|(d, hops)| {
                    let steps = opts.durations.of(d.vendor, &d.model);
                    let per_hop = steps.hop() - if opts.pre_staged { steps.upload } else { 0 };
                    Member {
                        device: d,
                        hops: hops.iter().map(|h| &h.version).collect(),
                        minutes: i64::from(per_hop) * hops.len() as i64,
                    }
                })
                .collect(),
            standby,
            active: members
                .iter()
                .find(|d| d.ha_role == HaRole::Active)
                .copied(),
            failover_minutes: i64::from(opts.durations.of(first.vendor, &first.model).failover),
            failback: opts.failback,
        });
    }
    works.sort_by(|a, b| (a.rank, a.name).cmp(&(b.rank, b.name)));

    for ((vendor, model, version, why), n) in stays {
        lints.push(
            "stay",
            format!(
                "{n} {} {model} device{} stay{} on {version}: {why}",
                vendor.id(),
                if n == 1 { "" } else { "s" },
                if n == 1 { "s" } else { "" }
            ),
        );
    }
    for ((vendor, model, version, _, reason), n) in no_path {
        lints.push(
            "no-path",
            format!(
                "{n} {} {model} {version} device{} left out: {reason}",
                vendor.id(),
                if n == 1 { " is" } else { "s are" }
            ),
        );
    }

    // The canary: one unit per (vendor, model, version), standbys first, then standalones.
    let mut waves_units: Vec<(WaveKind, Vec<Unit>)> = Vec::new();
    let mut in_canary = vec![false; works.len()];
    let mut carry: Vec<Unit> = Vec::new();
    if opts.canary {
        let mut covered: HashSet<Key> = HashSet::default();
        let mut per_site: HashMap<usize, usize> = HashMap::default();
        let mut units = Vec::new();
        for pass_ha in [true, false] {
            for (i, w) in works.iter().enumerate() {
                if w.ha_group.is_some() != pass_ha || in_canary[i] {
                    continue;
                }
                let Some(m) = w.members_of(Phase::Standby).next() else {
                    continue;
                };
                let part = if w.splittable() {
                    Part {
                        phase: Phase::Standby,
                        carried: true,
                    }
                } else {
                    Part::FULL
                };
                if !w.fits_some_window(part) {
                    continue;
                }
                let k = key(m.device);
                let site_count = per_site.get(&w.rank).copied().unwrap_or(0);
                if covered.contains(&k)
                    || opts.max_per_wave.is_some_and(|c| units.len() >= c)
                    || opts.max_per_site.is_some_and(|c| site_count >= c)
                {
                    continue;
                }
                covered.insert(k);
                *per_site.entry(w.rank).or_default() += 1;
                in_canary[i] = true;
                if w.splittable() {
                    units.push(Unit {
                        work: i,
                        part,
                        after: None,
                    });
                    carry.push(Unit {
                        work: i,
                        part: Part {
                            phase: Phase::Active,
                            carried: true,
                        },
                        after: None,
                    });
                } else {
                    units.push(Unit {
                        work: i,
                        part,
                        after: None,
                    });
                }
            }
        }
        let mut missing: Vec<String> = Vec::new();
        let mut seen: HashSet<Key> = HashSet::default();
        for w in &works {
            for m in &w.members {
                let k = key(m.device);
                if !covered.contains(&k) && seen.insert(k) {
                    missing.push(format!("{} {} {}", k.0.id(), k.1, k.2));
                }
            }
        }
        if !missing.is_empty() {
            lints.push(
                "canary-coverage",
                format!(
                    "the canary does not cover {} (no standby or standalone unit of that kind{}): {}",
                    if missing.len() == 1 { "one kind of device".to_string() } else { format!("{} kinds of device", missing.len()) },
                    if opts.max_per_wave.is_some() || opts.max_per_site.is_some() { " within the caps" } else { "" },
                    missing.join(", ")
                ),
            );
        }
        if !units.is_empty() {
            waves_units.push((WaveKind::Canary, units));
        }
    }

    // Queues per site, in rollout order.
    let mut queues: Vec<VecDeque<Unit>> = (0..inv.sites.len()).map(|_| VecDeque::new()).collect();
    for (i, w) in works.iter().enumerate() {
        if in_canary[i] {
            continue;
        }
        let part = if opts.ha_two_phase && w.splittable() {
            Part {
                phase: Phase::Standby,
                carried: false,
            }
        } else {
            Part::FULL
        };
        queues[w.rank].push_back(Unit {
            work: i,
            part,
            after: None,
        });
    }

    let mut placer = Placer {
        opts,
        t: opts.start,
        cache: HashMap::default(),
        windows_used: HashSet::default(),
    };
    let mut waves: Vec<Wave> = Vec::new();
    let mut next_kind = waves_units.pop();
    loop {
        let (kind, units) = match next_kind.take() {
            Some(w) => w,
            None => {
                let mut units = std::mem::take(&mut carry);
                let mut per_site: HashMap<usize, usize> = HashMap::default();
                for u in &units {
                    *per_site.entry(works[u.work].rank).or_default() += 1;
                }
                for (r, q) in queues.iter_mut().enumerate() {
                    while !q.is_empty()
                        && opts.max_per_wave.is_none_or(|c| units.len() < c)
                        && opts
                            .max_per_site
                            .is_none_or(|c| per_site.get(&r).copied().unwrap_or(0) < c)
                    {
                        units.push(q.pop_front().expect("not empty"));
                        *per_site.entry(r).or_default() += 1;
                    }
                    if opts.max_per_wave.is_some_and(|c| units.len() >= c) {
                        break;
                    }
                }
                if units.is_empty() {
                    break;
                }
                (WaveKind::Wave, units)
            }
        };
        let not_before = placer.t;
        let mut groups: Vec<(Timestamp, usize, &str, Group)> = Vec::new();
        let mut end = None::<Timestamp>;
        for u in units {
            let w = &works[u.work];
            match placer.place(w, u.part, u.after) {
                Ok(slot) => {
                    end = end.max(Some(slot.end.timestamp()));
                    if opts.ha_two_phase && u.part.phase == Phase::Standby && kind == WaveKind::Wave
                    {
                        carry.push(Unit {
                            work: u.work,
                            part: Part {
                                phase: Phase::Active,
                                carried: false,
                            },
                            after: Some(slot.window.end.timestamp()),
                        });
                    }
                    groups.push((
                        slot.start.timestamp(),
                        w.rank,
                        w.name,
                        group(w, u.part, &slot),
                    ));
                }
                Err(reason) => {
                    drop_second_phase(&mut carry, u.work);
                    for m in w.members_of(u.part.phase) {
                        unschedulable.push(Unschedulable {
                            name: m.device.name.clone(),
                            site: m.device.site.clone(),
                            code: "no-window".into(),
                            reason: reason.clone(),
                        });
                    }
                    if u.part.phase == Phase::Standby {
                        for m in w.members_of(Phase::Active) {
                            unschedulable.push(Unschedulable {
                                name: m.device.name.clone(),
                                site: m.device.site.clone(),
                                code: "peer".into(),
                                reason: format!(
                                    "its HA peer cannot be placed, and the active goes only after its standby ({reason})"
                                ),
                            });
                        }
                    }
                    if u.part.phase == Phase::Active {
                        lints.push(
                            "half-upgraded-group",
                            format!(
                                "HA group {}: the standby is planned but the active cannot be placed ({reason}){}",
                                w.name,
                                if u.part.carried {
                                    ": after the canary the upgraded standby keeps carrying traffic"
                                } else {
                                    ""
                                }
                            ),
                        );
                    }
                }
            }
        }
        if let Some(end) = end {
            // Sort small keys, not the groups themselves (moving them dominated planning time).
            let mut order: Vec<(Timestamp, usize, &str, usize)> = groups
                .iter()
                .enumerate()
                .map(|(i, g)| (g.0, g.1, g.2, i))
                .collect();
            order.sort_unstable();
            let mut slots: Vec<Option<Group>> = groups.into_iter().map(|g| Some(g.3)).collect();
            waves.push(Wave {
                index: waves.len(),
                kind,
                not_before: utc(not_before),
                groups: order
                    .into_iter()
                    .map(|(.., i)| slots[i].take().expect("each group once"))
                    .collect(),
            });
            let soak = if kind == WaveKind::Canary {
                opts.canary_soak
            } else {
                opts.soak
            };
            placer.t = end.checked_add(soak).unwrap_or(end);
        }
    }

    lint::paths(&mut lints, catalog, &works, opts.as_of);
    let mut windows_needed: BTreeMap<String, usize> = BTreeMap::new();
    for (site, _) in &placer.windows_used {
        *windows_needed.entry(site.to_string()).or_default() += 1;
    }
    unschedulable.sort_by(|a, b| a.name.cmp(&b.name));
    up_to_date.sort();
    let scheduled = waves
        .iter()
        .flat_map(|w| &w.groups)
        .map(|g| g.devices.len())
        .sum();
    let finish = waves
        .iter()
        .flat_map(|w| &w.groups)
        .filter_map(|g| g.end.parse::<Timestamp>().ok())
        .max()
        .map(utc);
    Ok(Plan {
        schema: SCHEMA.into(),
        created: utc(prov.created),
        inventory: InventoryRef::of(inv, &prov.paths),
        catalog: CatalogRef::of(catalog, &prov.catalog_source),
        target: opts.target.to_string(),
        options: PlanOptions {
            start: utc(opts.start),
            as_of: opts.as_of.to_string(),
            max_per_wave: opts.max_per_wave,
            max_per_site: opts.max_per_site,
            ha_two_phase: opts.ha_two_phase,
            failback: opts.failback,
            pre_staged: opts.pre_staged,
            canary: opts.canary,
            canary_soak_minutes: opts.canary_soak.as_secs() / 60,
            soak_minutes: opts.soak.as_secs() / 60,
            only: opts.selection.only.iter().map(|s| s.to_string()).collect(),
            exclude: opts
                .selection
                .exclude
                .iter()
                .map(|s| s.to_string())
                .collect(),
            horizon_days: opts.horizon_days,
            durations: opts.durations.rows.clone(),
            gate: opts.gate.clone(),
        },
        summary: Summary {
            devices: inv.devices.len(),
            selected: selected.len(),
            scheduled,
            up_to_date: up_to_date.len(),
            unschedulable: unschedulable.len(),
            waves: waves.len(),
            windows_needed,
            finish,
        },
        waves,
        unschedulable,
        up_to_date,
        lints: lints.finish(),
    })
}

/// A first phase that cannot be placed takes its second phase with it.
fn drop_second_phase(carry: &mut Vec<Unit>, work: usize) {
    carry.retain(|c| c.work != work);
}

fn group(w: &Work, part: Part, slot: &Slot) -> Group {
    let phase = part.phase;
    Group {
        site: w.site.name.clone(),
        ha_group: w.ha_group.map(String::from),
        phase,
        window_start: rfc3339(&slot.window.start),
        window_end: rfc3339(&slot.window.end),
        start: rfc3339(&slot.start),
        end: rfc3339(&slot.end),
        estimated_minutes: w.minutes(part),
        devices: w
            .members_of(phase)
            .map(|m| PlannedDevice {
                name: m.device.name.clone(),
                role: m.device.ha_role.id().into(),
                vendor: m.device.vendor.id().into(),
                model: m.device.model.clone(),
                from: m.device.version.as_str().into(),
                path: m.hops.iter().map(|h| h.as_str().to_string()).collect(),
                mgmt_host: m.device.mgmt.to_string(),
                estimated_minutes: m.minutes,
            })
            .collect(),
        steps: w.steps(part),
        carrier: w.carrier(part),
    }
}

/// Places units of one wave in their sites' windows, caching each site's occurrences per wave.
struct Placer<'a> {
    opts: &'a Options,
    /// The wave's earliest start.
    t: Timestamp,
    /// Per site: window occurrences for [`LOOKAHEAD_DAYS`] from the instant they were listed
    /// at, with the past ones dropped as waves move on.
    cache: HashMap<&'a str, (Timestamp, Vec<Occurrence>)>,
    /// (site, window start) pairs used.
    windows_used: HashSet<(&'a str, Timestamp)>,
}

impl<'a> Placer<'a> {
    /// The earliest slot for the unit, or why there is none. Work longer than the site's
    /// longest written window is refused even when a DST night would be long enough: a plan
    /// should not wait months for the clocks to fall back.
    fn place(
        &mut self,
        w: &Work<'a>,
        part: Part,
        after: Option<Timestamp>,
    ) -> Result<Slot, String> {
        let minutes = w.minutes(part);
        let site = w.site;
        let longest = site.windows.iter().map(|w| i64::from(w.minutes)).max();
        match longest {
            None => {
                return Err(format!(
                    "site {} has no maintenance window (sites.csv, column windows)",
                    site.name
                ));
            }
            Some(longest) if minutes > longest => {
                return Err(format!(
                    "needs {minutes} min in one window and the longest window of site {} is {longest} min: \
                     lengthen the window, give measured step times (--durations), upgrade to an intermediate \
                     --target first, or split HA members (--ha-two-phase)",
                    site.name
                ));
            }
            Some(_) => {}
        }
        let t = after.map_or(self.t, |a| a.max(self.t));
        let (listed_at, occs) = self
            .cache
            .entry(site.name.as_str())
            .or_insert_with(|| (t, window::occurrences(site, t, LOOKAHEAD_DAYS)));
        // Occurrences that closed before `t` can never be used again: waves only move forward.
        let closed = occs.iter().take_while(|o| o.end.timestamp() <= t).count();
        occs.drain(..closed);
        let mut slot = window::fit(occs, t, &site.timezone, minutes);
        if slot.is_none() && *listed_at != t {
            // The list may have run out since it was made: list again from `t`.
            *listed_at = t;
            *occs = window::occurrences(site, t, LOOKAHEAD_DAYS);
            slot = window::fit(occs, t, &site.timezone, minutes);
        }
        let slot = slot
            .or_else(|| window::place(site, t, minutes, self.opts.horizon_days))
            .ok_or_else(|| {
                format!(
                    "needs {minutes} min in one window, and no window of site {} within {} days is that long",
                    site.name, self.opts.horizon_days
                )
            })?;
        self.windows_used
            .insert((site.name.as_str(), slot.window.start.timestamp()));
        Ok(slot)
    }
}
