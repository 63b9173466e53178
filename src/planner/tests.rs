//! Planner invariants over random fleets, and hand-made examples.

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;

use jiff::{SignedDuration, Timestamp};
use proptest::prelude::*;

use super::file::{Carrier, Phase, Plan, Step, WaveKind};
use super::{Options, Provenance, build, window};
use crate::catalog::Catalog;
use crate::inventory::{self, Inventory};

fn catalog() -> &'static Catalog {
    static C: std::sync::OnceLock<Catalog> = std::sync::OnceLock::new();
    C.get_or_init(|| Catalog::embedded().unwrap())
}

fn load(sites: &str, devices: &str) -> Inventory {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("sites.csv"), sites).unwrap();
    std::fs::write(dir.path().join("devices.csv"), devices).unwrap();
    let inv = inventory::load(&[dir.path().to_path_buf()], catalog()).unwrap();
    assert!(!inv.has_errors(), "{:#?}", inv.findings);
    inv
}

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn plan(inv: &Inventory, opts: &Options) -> Plan {
    let prov = Provenance {
        paths: vec!["inv".into()],
        catalog_source: "embedded".into(),
        created: ts("2026-11-25T00:00:00Z"),
    };
    build(inv, catalog(), opts, &prov).unwrap()
}

const HEADER: &str = "name,site,vendor,model,version,mgmt_host,ha_group,ha_role\n";

/// Device kinds with real catalog paths to the recommended target.
const KINDS: [(&str, &str, &str); 7] = [
    ("f5", "i7800", "15.1.10"),
    ("f5", "r5600", "17.1.3"),
    ("f5", "i4800", "16.1.3.2"),
    ("netscaler", "MPX-17000", "13.1-49.13"),
    ("kemp", "LM-1500", "7.2.48.2"),
    ("fortiadc", "FAD-2200F", "7.1.0"),
    ("f5", "r5600", "17.5.1"),
];
const ZONES: [&str; 5] = [
    "Europe/Berlin",
    "America/New_York",
    "Australia/Sydney",
    "Asia/Shanghai",
    "UTC",
];
const WINDOWS: [&str; 4] = [
    "Sun 00:00-06:00",
    "Sat 22:00-06:00",
    "Wed 01:00-03:00;Sun 01:00-05:00",
    "Mon-Fri 02:00-05:00",
];

/// Every rule of the planner, checked on one plan.
fn verify(plan: &Plan, inv: &Inventory, opts: &Options) {
    // Each selected device exactly once: in a wave, unschedulable, or up to date.
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for (_, _, d) in plan.devices() {
        *seen.entry(&d.name).or_default() += 1;
    }
    for u in &plan.unschedulable {
        assert!(!u.reason.is_empty(), "{} has no reason", u.name);
        *seen.entry(&u.name).or_default() += 1;
    }
    for n in &plan.up_to_date {
        *seen.entry(n).or_default() += 1;
    }
    for d in &inv.devices {
        let selected = opts.selection.selects(d) && !opts.selection.excludes(d);
        let n = seen.get(d.name.as_str()).copied().unwrap_or(0);
        // (Selection is per device here: random groups never span sites.)
        assert_eq!(n, usize::from(selected), "{} appears {n} times", d.name);
    }
    assert_eq!(plan.summary.scheduled, plan.devices().count());

    let by_name: HashMap<&str, &crate::inventory::Device> =
        inv.devices.iter().map(|d| (d.name.as_str(), d)).collect();
    let mut group_intervals: HashMap<&str, Vec<(Timestamp, Timestamp, usize)>> = HashMap::new();
    let mut standby_done: HashMap<&str, (usize, usize)> = HashMap::new();
    // HA group → the unit carrying its traffic, as the plan's steps leave it.
    let mut carrying: HashMap<String, String> = HashMap::new();
    let mut prev_end: Option<Timestamp> = None;
    for (wi, w) in plan.waves.iter().enumerate() {
        assert_eq!(w.index, wi);
        if w.kind == WaveKind::Canary {
            assert!(wi == 0 && opts.canary);
        }
        let not_before: Timestamp = w.not_before.parse().unwrap();
        if let Some(p) = prev_end {
            let soak = if wi == 1 && opts.canary {
                opts.canary_soak
            } else {
                opts.soak
            };
            assert!(
                not_before >= p.checked_add(soak).unwrap(),
                "wave {wi} starts early"
            );
        }
        assert!(not_before >= opts.start);
        if let Some(cap) = opts.max_per_wave {
            assert!(
                w.groups.len() <= cap,
                "wave {wi}: {} groups",
                w.groups.len()
            );
        }
        let mut per_site: HashMap<&str, usize> = HashMap::new();
        let mut end = None;
        for g in &w.groups {
            *per_site.entry(&g.site).or_default() += 1;
            let (ws, we, s, e): (Timestamp, Timestamp, Timestamp, Timestamp) = (
                g.window_start.parse().unwrap(),
                g.window_end.parse().unwrap(),
                g.start.parse().unwrap(),
                g.end.parse().unwrap(),
            );
            // Inside a real window occurrence of its own site, and long enough.
            let site = inv.site(&g.site).unwrap();
            let occ = window::occurrences(
                site,
                ws.checked_sub(SignedDuration::from_secs(1)).unwrap(),
                2,
            );
            assert!(
                occ.iter()
                    .any(|o| o.start.timestamp() == ws && o.end.timestamp() == we),
                "{} {:?}: not a window of its site",
                g.site,
                g.ha_group
            );
            assert!(ws <= s && e <= we && s >= not_before);
            assert_eq!(e.duration_since(s).as_secs(), g.estimated_minutes * 60);
            end = end.max(Some(e));
            for d in &g.devices {
                let dev = by_name[d.name.as_str()];
                assert_eq!(dev.site, g.site);
                assert_eq!(dev.ha_group, g.ha_group);
                assert_eq!(d.from, dev.version.as_str());
            }
            // Across the plan, per HA group: the unit carrying traffic is never upgraded, a
            // failover goes from it to a standby, and the plan's carrier is the truth.
            let mut upgraded = false;
            for step in &g.steps {
                let key = g.ha_group.clone().unwrap_or_default();
                let active = carrying.entry(key).or_insert_with(|| {
                    inv.devices
                        .iter()
                        .find(|d| d.ha_group == g.ha_group && d.ha_role.id() == "active")
                        .map(|d| d.name.clone())
                        .unwrap_or_default()
                });
                match step {
                    Step::Failover { to, from, .. } => {
                        assert_ne!(to, active, "failover to the active {to}");
                        assert_eq!(from.as_ref(), Some(&*active), "failover from a standby");
                        assert!(g.ha_group.is_some());
                        *active = to.clone();
                    }
                    Step::Upgrade { device } => {
                        assert_ne!(device, active, "{device} upgraded while carrying traffic");
                        upgraded = true;
                    }
                    Step::Reboot { device } => panic!("a plan reboots {device}"),
                }
            }
            assert!(upgraded, "an entry without an upgrade");
            if let (Some(h), Some(c)) = (&g.ha_group, &g.carrier) {
                assert_eq!(carrying.get(h), Some(&c.device), "{h}: carrier");
            }
            if let Some(h) = &g.ha_group {
                group_intervals.entry(h).or_default().push((s, e, wi));
                match g.phase {
                    Phase::Standby => {
                        standby_done.insert(h, (wi, 0));
                    }
                    Phase::Active => {
                        let (sw, _) = standby_done
                            .get(h.as_str())
                            .copied()
                            .unwrap_or_else(|| panic!("{h}: active phase without a standby phase"));
                        assert!(sw < wi, "{h}: active phase not after the standby phase");
                        if !opts.ha_two_phase {
                            assert_eq!(sw, 0, "{h}: split outside the canary");
                        }
                    }
                    Phase::Full => {}
                }
            } else {
                assert_eq!(g.phase, Phase::Full);
            }
        }
        if let Some(cap) = opts.max_per_site {
            assert!(per_site.values().all(|&n| n <= cap), "wave {wi}: site cap");
        }
        prev_end = end.max(prev_end);
    }
    // With the failback, every pair ends with its original active carrying traffic.
    if opts.failback {
        for (h, active) in &carrying {
            let first = inv
                .devices
                .iter()
                .find(|d| d.ha_group.as_deref() == Some(h.as_str()) && d.ha_role.id() == "active");
            if let Some(first) = first {
                assert_eq!(&first.name, active, "{h}: roles end swapped");
            }
        }
    }
    // Entries of one HA group never overlap in time: never both members out at once.
    for (h, mut iv) in group_intervals {
        iv.sort();
        for pair in iv.windows(2) {
            assert!(pair[0].1 <= pair[1].0, "{h}: overlapping entries");
        }
    }
}

#[derive(Debug, Clone)]
struct FleetSpec {
    sites: Vec<(usize, usize)>,
    groups: Vec<(usize, usize, usize, bool)>,
}

fn fleet_spec() -> impl Strategy<Value = FleetSpec> {
    (
        prop::collection::vec((0..ZONES.len(), 0..WINDOWS.len()), 1..5),
        prop::collection::vec(
            (0..8usize, 0..KINDS.len(), 0..KINDS.len(), any::<bool>()),
            1..30,
        ),
    )
        .prop_map(|(sites, groups)| FleetSpec { sites, groups })
}

fn render(spec: &FleetSpec) -> (String, String) {
    let mut sites = String::from("site,timezone,windows,order\n");
    for (i, (z, w)) in spec.sites.iter().enumerate() {
        // Orders run backwards so that file order and rollout order differ.
        writeln!(sites, "S{i},{},{},{}", ZONES[*z], WINDOWS[*w], 10 - i).unwrap();
    }
    let mut devices = String::from(HEADER);
    for (g, (site, k1, k2, ha)) in spec.groups.iter().enumerate() {
        let site = site % spec.sites.len();
        let (vendor, model, v1) = KINDS[*k1];
        if *ha {
            // Peers share a model; the standby may run another version of the same model.
            let v2 = if KINDS[*k2].1 == model {
                KINDS[*k2].2
            } else {
                v1
            };
            writeln!(
                devices,
                "d{g}a,S{site},{vendor},{model},{v1},10.0.{g}.1,g{g},active"
            )
            .unwrap();
            writeln!(
                devices,
                "d{g}b,S{site},{vendor},{model},{v2},10.0.{g}.2,g{g},standby"
            )
            .unwrap();
        } else {
            writeln!(
                devices,
                "d{g},S{site},{vendor},{model},{v1},10.0.{g}.1,,standalone"
            )
            .unwrap();
        }
    }
    (sites, devices)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn random_fleets_obey_every_rule(
        spec in fleet_spec(),
        per_wave in prop::option::of(1..5usize),
        per_site in prop::option::of(1..3usize),
        two_phase: bool,
        canary: bool,
        soak_h in 0..48i64,
        start_h in 0..24 * 365i64,
        exclude_site in prop::option::of(0..4usize),
    ) {
        let (sites, devices) = render(&spec);
        let inv = load(&sites, &devices);
        let mut opts = Options::new(
            ts("2026-01-01T00:00:00Z").checked_add(SignedDuration::from_hours(start_h)).unwrap(),
            "2026-11-25".parse().unwrap(),
        );
        opts.max_per_wave = per_wave;
        opts.max_per_site = per_site;
        opts.ha_two_phase = two_phase;
        opts.canary = canary;
        opts.soak = SignedDuration::from_hours(soak_h);
        if let Some(s) = exclude_site {
            opts.selection.exclude.push(format!("site=S{s}").parse().unwrap());
        }
        let p = plan(&inv, &opts);
        verify(&p, &inv, &opts);
        // Deterministic: the same inputs give the same bytes.
        let again = plan(&inv, &opts);
        prop_assert_eq!(serde_json::to_string(&p).unwrap(), serde_json::to_string(&again).unwrap());
    }
}

const SITES: &str = "site,timezone,windows,order\nFRA1,Europe/Berlin,Sun 00:00-08:00,2\nNYC2,America/New_York,Sat 22:00-06:00,1\n";

#[test]
fn canary_covers_each_kind_once_with_standbys_first() {
    let devices = format!(
        "{HEADER}\
         a1,FRA1,f5,i7800,15.1.10,10.0.0.1,g1,active\n\
         a2,FRA1,f5,i7800,15.1.10,10.0.0.2,g1,standby\n\
         b1,FRA1,f5,i7800,15.1.10,10.0.0.3,g2,active\n\
         b2,FRA1,f5,i7800,15.1.10,10.0.0.4,g2,standby\n\
         c1,NYC2,f5,i7800,15.1.10,10.0.0.5,,standalone\n\
         k1,NYC2,kemp,LM-1500,7.2.48.2,10.0.0.6,,standalone\n\
         k2,FRA1,kemp,LM-1500,7.2.48.2,10.0.0.7,,standalone\n\
         n1,NYC2,netscaler,MPX-17000,13.1-49.13,10.0.0.8,g3,active\n\
         n2,NYC2,netscaler,MPX-17000,12.1-65.39,10.0.0.9,g3,standby\n"
    );
    let inv = load(SITES, &devices);
    let opts = Options::new(ts("2026-11-25T00:00:00Z"), "2026-11-25".parse().unwrap());
    let p = plan(&inv, &opts);
    verify(&p, &inv, &opts);
    let canary = &p.waves[0];
    assert_eq!(canary.kind, WaveKind::Canary);
    let mut names: Vec<&str> = canary
        .groups
        .iter()
        .flat_map(|g| g.devices.iter().map(|d| d.name.as_str()))
        .collect();
    names.sort();
    // i7800 15.1.10 by a standby of the first group (not the standalone c1), Kemp by the first
    // site in rollout order (NYC2), NetScaler 12.1 by the standby n2. NetScaler 13.1 runs only
    // on an active unit: not covered, and said so.
    assert_eq!(names, ["a2", "k1", "n2"]);
    let failover = |to: &str, to_host: &str, from: &str, from_host: &str| Step::Failover {
        to: to.into(),
        mgmt_host: to_host.into(),
        from: Some(from.into()),
        from_mgmt_host: Some(from_host.into()),
    };
    let upgrade = |d: &str| Step::Upgrade { device: d.into() };
    // The canary's HA groups carry traffic on their upgraded standby through the soak.
    let entry = |w: usize, g: &str| {
        p.waves[w]
            .groups
            .iter()
            .find(|e| e.ha_group.as_deref() == Some(g))
            .unwrap()
    };
    let g1 = entry(0, "g1");
    assert_eq!(g1.phase, Phase::Standby);
    assert_eq!(
        g1.steps,
        [upgrade("a2"), failover("a2", "10.0.0.2", "a1", "10.0.0.1")]
    );
    let carrier = |device: &str, version: &str| {
        Some(Carrier {
            device: device.into(),
            version: version.into(),
        })
    };
    assert_eq!(g1.carrier, carrier("a2", "17.5.1"));
    assert_eq!(
        entry(0, "g3").steps,
        [upgrade("n2"), failover("n2", "10.0.0.9", "n1", "10.0.0.8")]
    );
    let n2 = &entry(0, "g3").devices[0];
    assert_eq!(
        entry(0, "g3").carrier,
        carrier("n2", n2.path.last().unwrap())
    );
    // Wave 1, after the 24 h soak: the former active, then the failback.
    let g1 = entry(1, "g1");
    assert_eq!(g1.phase, Phase::Active);
    assert_eq!(
        g1.steps,
        [upgrade("a1"), failover("a1", "10.0.0.1", "a2", "10.0.0.2")]
    );
    assert_eq!(g1.carrier, carrier("a1", "17.5.1"));
    // One failover (5 min) besides the upgrade.
    assert_eq!(g1.estimated_minutes, g1.devices[0].estimated_minutes + 5);
    let g2 = entry(1, "g2");
    assert_eq!(g2.phase, Phase::Full);
    assert_eq!(
        g2.steps,
        [
            upgrade("b2"),
            failover("b2", "10.0.0.4", "b1", "10.0.0.3"),
            upgrade("b1"),
            failover("b1", "10.0.0.3", "b2", "10.0.0.4"),
        ]
    );
    assert_eq!(g2.carrier, carrier("b1", "17.5.1"));
    // Without the failback the roles stay swapped, and the plan says who carries traffic.
    let mut opts = opts;
    opts.failback = false;
    let p = plan(&inv, &opts);
    verify(&p, &inv, &opts);
    let entry = |w: usize, g: &str| {
        p.waves[w]
            .groups
            .iter()
            .find(|e| e.ha_group.as_deref() == Some(g))
            .unwrap()
            .clone()
    };
    assert_eq!(entry(1, "g1").steps, [upgrade("a1")]);
    assert_eq!(entry(1, "g1").carrier, carrier("a2", "17.5.1"));
    assert_eq!(
        entry(1, "g2").steps,
        [
            upgrade("b2"),
            failover("b2", "10.0.0.4", "b1", "10.0.0.3"),
            upgrade("b1")
        ]
    );
    assert_eq!(entry(1, "g2").carrier, carrier("b2", "17.5.1"));
    let lint = p
        .lints
        .iter()
        .find(|l| l.code == "canary-coverage")
        .unwrap();
    assert!(
        lint.message.contains("netscaler MPX-17000 13.1-49.13"),
        "{}",
        lint.message
    );
}

#[test]
fn a_window_across_the_spring_forward_night_is_shorter() {
    // Berlin skips 02:00-03:00 on Sunday 2026-03-29: the 01:00-05:00 window lasts 3 real hours,
    // so a 200-minute pair goes one week later, at +02:00.
    let sites = "site,timezone,windows\nFRA1,Europe/Berlin,Sun 01:00-05:00\n";
    let devices = format!(
        "{HEADER}a1,FRA1,f5,i7800,15.1.10,10.0.0.1,g1,active\na2,FRA1,f5,i7800,15.1.10,10.0.0.2,g1,standby\n"
    );
    let inv = load(sites, &devices);
    let mut opts = Options::new(ts("2026-03-27T00:00:00Z"), "2026-11-25".parse().unwrap());
    opts.canary = false;
    // One failover, no failback: the minutes below are about the night, not the pair.
    opts.failback = false;
    opts.durations.rows.push(super::durations::DurationRow {
        vendor: crate::version::Vendor::F5,
        model: String::new(),
        minutes: super::durations::StepMinutes {
            upload: 0,
            install: 15,
            reboot: 10,
            checks: 7,
            failover: 8,
        },
    });
    let p = plan(&inv, &opts);
    verify(&p, &inv, &opts);
    let g = &p.waves[0].groups[0];
    // 15.1.10 → 17.5.1 via 16.1.4 and 17.1.1.3: 3 hops × 32 min × 2 units + 8 min failover.
    assert_eq!(g.estimated_minutes, 200);
    assert_eq!(g.window_start, "2026-04-05T01:00:00+02:00");
    assert_eq!(g.end, "2026-04-05T04:20:00+02:00");
    // 180 minutes fit on the short night itself, starting after the gap is irrelevant: the
    // window opens at 01:00 +01:00 and closes at 05:00 +02:00.
    opts.durations.rows.last_mut().unwrap().minutes.failover = 0;
    opts.durations.rows.last_mut().unwrap().minutes.checks = 5;
    let p = plan(&inv, &opts);
    let g = &p.waves[0].groups[0];
    assert_eq!(g.estimated_minutes, 180);
    assert_eq!(g.window_start, "2026-03-29T01:00:00+01:00");
    assert_eq!(g.end, "2026-03-29T05:00:00+02:00");
}

#[test]
fn two_phase_puts_the_active_in_a_later_window() {
    let devices = format!(
        "{HEADER}a1,FRA1,f5,i7800,15.1.10,10.0.0.1,g1,active\na2,FRA1,f5,i7800,15.1.10,10.0.0.2,g1,standby\n"
    );
    let inv = load(SITES, &devices);
    let mut opts = Options::new(ts("2026-11-25T00:00:00Z"), "2026-11-25".parse().unwrap());
    opts.canary = false;
    opts.ha_two_phase = true;
    let p = plan(&inv, &opts);
    verify(&p, &inv, &opts);
    assert_eq!(p.waves.len(), 2);
    let (first, second) = (&p.waves[0].groups[0], &p.waves[1].groups[0]);
    assert_eq!((first.phase, second.phase), (Phase::Standby, Phase::Active));
    assert_eq!(first.devices[0].name, "a2");
    assert_eq!(second.devices[0].name, "a1");
    assert_eq!(first.window_start, "2026-11-29T00:00:00+01:00");
    assert_eq!(second.window_start, "2026-12-06T00:00:00+01:00");
    // Without two-phase, both in the same window.
    opts.ha_two_phase = false;
    let p = plan(&inv, &opts);
    assert_eq!(p.waves.len(), 1);
    assert_eq!(p.waves[0].groups[0].devices.len(), 2);
}

#[test]
fn caps_and_site_order_shape_the_waves() {
    let mut devices = String::from(HEADER);
    for i in 0..3 {
        writeln!(
            devices,
            "f{i},FRA1,kemp,LM-1500,7.2.48.2,10.0.0.{i},,standalone"
        )
        .unwrap();
        writeln!(
            devices,
            "n{i},NYC2,kemp,LM-1500,7.2.48.2,10.0.1.{i},,standalone"
        )
        .unwrap();
    }
    let inv = load(SITES, &devices);
    let mut opts = Options::new(ts("2026-11-25T00:00:00Z"), "2026-11-25".parse().unwrap());
    opts.canary = false;
    opts.max_per_wave = Some(3);
    opts.max_per_site = Some(2);
    let p = plan(&inv, &opts);
    verify(&p, &inv, &opts);
    let waves: Vec<Vec<&str>> = p
        .waves
        .iter()
        .map(|w| {
            let mut names: Vec<&str> = w
                .groups
                .iter()
                .map(|g| g.devices[0].name.as_str())
                .collect();
            names.sort();
            names
        })
        .collect();
    // NYC2 has order 1: it goes first, two per wave, FRA1 fills the rest.
    assert_eq!(waves, [vec!["f0", "n0", "n1"], vec!["f1", "f2", "n2"]]);
    let hosts: HashSet<&str> = p.devices().map(|(_, _, d)| d.mgmt_host.as_str()).collect();
    assert_eq!(hosts.len(), 6);
}

#[test]
fn lints_name_path_mismatch_and_unsupported_targets() {
    let devices = format!(
        "{HEADER}\
         a1,FRA1,f5,i4800,14.1.5,10.0.0.1,g1,active\n\
         a2,FRA1,f5,i4800,12.1.3.4,10.0.0.2,g1,standby\n"
    );
    let inv = load(SITES, &devices);
    let mut opts = Options::new(ts("2026-11-25T00:00:00Z"), "2026-11-25".parse().unwrap());
    opts.target = "f5=15.1.10".parse().unwrap();
    let p = plan(&inv, &opts);
    verify(&p, &inv, &opts);
    let codes: Vec<&str> = p.lints.iter().map(|l| l.code.as_str()).collect();
    assert!(codes.contains(&"ha-path-mismatch"), "{codes:?}");
    let eos = p
        .lints
        .iter()
        .find(|l| l.code == "target-end-of-support")
        .unwrap();
    assert!(
        eos.message.contains("15.1.10") && eos.message.contains("2024-12-31"),
        "{}",
        eos.message
    );
    // Supported on an earlier date: no such warning.
    opts.as_of = "2024-06-01".parse().unwrap();
    let p = plan(&inv, &opts);
    assert!(p.lints.iter().all(|l| l.code != "target-end-of-support"));
}

#[test]
fn devices_of_unknown_models_are_planned_and_named_in_a_lint() {
    let devices = format!(
        "{HEADER}\
         n1,FRA1,netscaler,MPX 8905,13.1-49.13,10.0.0.1,g1,active\n\
         n2,FRA1,netscaler,MPX 8905,13.1-49.13,10.0.0.2,g1,standby\n\
         n3,FRA1,netscaler,MPX-17000,13.1-49.13,10.0.0.3,,standalone\n"
    );
    let inv = load(SITES, &devices);
    let opts = Options::new(ts("2026-11-25T00:00:00Z"), "2026-11-25".parse().unwrap());
    let p = plan(&inv, &opts);
    verify(&p, &inv, &opts);
    let planned: HashSet<&str> = p.devices().map(|(_, _, d)| d.name.as_str()).collect();
    assert_eq!(planned, HashSet::from(["n1", "n2", "n3"]));
    let unknown: Vec<&str> = p
        .lints
        .iter()
        .filter(|l| l.code == "unknown-model")
        .map(|l| l.message.as_str())
        .collect();
    assert_eq!(unknown.len(), 1, "{:?}", p.lints);
    assert!(
        unknown[0].contains("\"MPX 8905\"") && unknown[0].contains("n1, n2"),
        "{}",
        unknown[0]
    );
}

#[test]
fn a_device_that_stays_is_up_to_date_and_the_lint_says_why() {
    let devices = format!(
        "{HEADER}\
         old,FRA1,f5,i5800,17.5.1,10.0.0.1,,standalone\n\
         new,FRA1,f5,r5600,21.1.0,10.0.0.2,,standalone\n\
         old2,FRA1,f5,i5800,17.5.1,10.0.0.3,,standalone\n"
    );
    let inv = load(SITES, &devices);
    let opts = Options::new(ts("2026-11-25T00:00:00Z"), "2026-11-25".parse().unwrap());
    let p = plan(&inv, &opts);
    verify(&p, &inv, &opts);
    assert_eq!(p.up_to_date, ["new", "old", "old2"]);
    let stays: Vec<&str> = p
        .lints
        .iter()
        .filter(|l| l.code == "stay")
        .map(|l| l.message.as_str())
        .collect();
    assert_eq!(stays.len(), 1, "{:?}", p.lints);
    // One line for the kind, counting its devices.
    assert!(
        stays[0].starts_with("2 f5 i5800 devices stay on 17.5.1: ")
            && stays[0].contains("ranks higher"),
        "{}",
        stays[0]
    );
}

#[test]
fn only_the_phase_with_the_active_unit_counts_the_failover() {
    let devices = format!(
        "{HEADER}a1,FRA1,f5,i7800,15.1.10,10.0.0.1,g1,active\na2,FRA1,f5,i7800,15.1.10,10.0.0.2,g1,standby\n\
         s1,FRA1,f5,i7800,15.1.10,10.0.0.3,,standalone\n"
    );
    let inv = load(SITES, &devices);
    let mut opts = Options::new(ts("2026-11-25T00:00:00Z"), "2026-11-25".parse().unwrap());
    opts.canary = false;
    opts.ha_two_phase = true;
    let p = plan(&inv, &opts);
    verify(&p, &inv, &opts);
    let minutes = |name: &str| {
        p.waves
            .iter()
            .flat_map(|w| &w.groups)
            .find(|g| g.devices.iter().any(|d| d.name == name))
            .map(|g| g.estimated_minutes)
            .unwrap()
    };
    let failover = i64::from(
        opts.durations
            .of(crate::version::Vendor::F5, "i7800")
            .failover,
    );
    assert!(failover > 0);
    // The same path on each unit: the standby's phase and the standalone take the hops only,
    // the active's phase the hops, the failover and the failback.
    assert_eq!(minutes("a2"), minutes("s1"));
    assert_eq!(minutes("a1"), minutes("a2") + 2 * failover);
    // Two phases of one pair and a standalone: the standalone shares the first window.
    assert_eq!(p.summary.windows_needed["FRA1"], 2);
    assert_eq!(p.waves.len(), 2);
    // The plan keeps the soaks it was made with, in minutes.
    let mut soaked = opts.clone();
    soaked.canary_soak = jiff::SignedDuration::from_mins(90);
    soaked.soak = jiff::SignedDuration::from_mins(30);
    let o = plan(&inv, &soaked).options;
    assert_eq!((o.canary_soak_minutes, o.soak_minutes), (90, 30));
    // The same path on both units: no mismatch to report.
    assert!(
        p.lints.iter().all(|l| l.code != "ha-path-mismatch"),
        "{:?}",
        p.lints
    );
}

#[test]
fn a_selector_that_splits_an_ha_group_plans_or_leaves_it_whole_with_a_lint() {
    let devices = format!(
        "{HEADER}a1,FRA1,f5,i7800,15.1.10,10.0.0.1,g1,active\na2,FRA1,f5,i7800,15.1.10,10.0.0.2,g1,standby\n\
         s1,FRA1,f5,i7800,15.1.10,10.0.0.3,,standalone\n"
    );
    let inv = load(SITES, &devices);
    let base = Options::new(ts("2026-11-25T00:00:00Z"), "2026-11-25".parse().unwrap());
    let run = |only: &[&str], exclude: &[&str]| {
        let mut opts = base.clone();
        opts.selection.only = only.iter().map(|s| s.parse().unwrap()).collect();
        opts.selection.exclude = exclude.iter().map(|s| s.parse().unwrap()).collect();
        let p = plan(&inv, &opts);
        let mut names: Vec<String> = p.devices().map(|(_, _, d)| d.name.clone()).collect();
        names.sort();
        let lints: Vec<String> = p
            .lints
            .iter()
            .filter(|l| l.code == "selector-splits-group")
            .map(|l| l.message.clone())
            .collect();
        (names, lints)
    };
    let (names, lints) = run(&["device=a1"], &[]);
    assert_eq!(names, ["a1", "a2"]);
    assert_eq!(lints.len(), 1);
    assert!(
        lints[0].contains("g1: the group is planned as a whole"),
        "{lints:?}"
    );
    let (names, lints) = run(&[], &["device=a2"]);
    assert_eq!(names, ["s1"]);
    assert!(
        lints[0].contains("g1: the group is left out as a whole"),
        "{lints:?}"
    );
    // Whole groups and standalones split nothing.
    assert_eq!(run(&["device=a1,a2"], &[]).1.len(), 0);
    assert_eq!(run(&["device=s1"], &[]), (vec!["s1".to_string()], vec![]));
    assert_eq!(run(&[], &["device=s1"]).1.len(), 0);
    assert_eq!(
        run(&[], &["device=a1,a2"]),
        (vec!["s1".to_string()], vec![])
    );
}

#[test]
fn devices_without_a_path_are_counted_per_kind_in_one_lint() {
    let devices = format!(
        "{HEADER}s1,FRA1,f5,i7800,15.1.10,10.0.0.1,,standalone\n\
         s2,FRA1,f5,i7800,15.1.10,10.0.0.2,,standalone\n\
         s3,FRA1,f5,i7800,15.1.10,10.0.0.3,,standalone\n\
         s4,FRA1,f5,i4800,15.1.10,10.0.0.4,,standalone\n"
    );
    let inv = load(SITES, &devices);
    let mut opts = Options::new(ts("2026-11-25T00:00:00Z"), "2026-11-25".parse().unwrap());
    opts.target = "f5=21.1.0".parse().unwrap();
    let p = plan(&inv, &opts);
    let no_path: Vec<&str> = p
        .lints
        .iter()
        .filter(|l| l.code == "no-path")
        .map(|l| l.message.as_str())
        .collect();
    assert_eq!(no_path.len(), 2, "{no_path:?}");
    assert!(
        no_path[0].starts_with("1 f5 i4800 15.1.10 device is left out: "),
        "{no_path:?}"
    );
    assert!(
        no_path[1].starts_with("3 f5 i7800 15.1.10 devices are left out: "),
        "{no_path:?}"
    );
}

/// Durations where an i7800 hop takes 100 minutes and a failover 30.
fn slow_i7800(dir: &tempfile::TempDir) -> super::durations::Durations {
    let path = dir.path().join("d.csv");
    std::fs::write(
        &path,
        "vendor,model,upload,install,reboot,checks,failover\nf5,i7800,10,40,30,20,30\n",
    )
    .unwrap();
    super::durations::Durations::with_file(&path).unwrap()
}

#[test]
fn a_group_longer_than_every_window_is_unschedulable_and_a_half_placed_pair_is_named() {
    // A 2-hour window: the standby's 100 minutes fit, the active's 100 + 30 + 30 (failover and
    // failback) do not.
    let sites = "site,timezone,windows\nFRA1,Europe/Berlin,Sun 00:00-02:00\n";
    let devices = format!(
        "{HEADER}a1,FRA1,f5,i7800,15.1.7,10.0.0.1,g1,active\na2,FRA1,f5,i7800,15.1.7,10.0.0.2,g1,standby\n"
    );
    let inv = load(sites, &devices);
    let dir = tempfile::tempdir().unwrap();
    let mut opts = Options::new(ts("2026-11-25T00:00:00Z"), "2026-11-25".parse().unwrap());
    opts.durations = slow_i7800(&dir);
    opts.target = "f5=15.1.10".parse().unwrap();
    opts.canary = false;
    opts.ha_two_phase = true;
    let p = plan(&inv, &opts);
    let placed: Vec<&str> = p.devices().map(|(_, _, d)| d.name.as_str()).collect();
    assert_eq!(placed, ["a2"], "{:#?}", p.unschedulable);
    let a1 = p.unschedulable.iter().find(|u| u.name == "a1").unwrap();
    assert!(
        a1.reason
            .contains("needs 160 min in one window and the longest window of site FRA1 is 120 min"),
        "{}",
        a1.reason
    );
    assert!(p.lints.iter().any(|l| {
        l.code == "half-upgraded-group"
            && l.message
                .starts_with("HA group g1: the standby is planned but the active cannot be placed")
    }));
    // Exactly as long as the window: it fits.
    let sites = "site,timezone,windows\nFRA1,Europe/Berlin,Sun 00:00-02:40\n";
    let p = plan(&load(sites, &devices), &opts);
    assert_eq!(p.devices().count(), 2);
    assert!(p.lints.iter().all(|l| l.code != "half-upgraded-group"));
}

#[test]
fn the_canary_names_each_uncovered_kind_once() {
    // Two pairs whose actives run a release no standby or standalone runs.
    let devices = format!(
        "{HEADER}a1,FRA1,f5,i7800,15.1.10,10.0.0.1,g1,active\na2,FRA1,f5,i7800,15.1.10.2,10.0.0.2,g1,standby\n\
         b1,FRA1,f5,i7800,15.1.10,10.0.0.3,g2,active\nb2,FRA1,f5,i7800,15.1.10.2,10.0.0.4,g2,standby\n"
    );
    let inv = load(SITES, &devices);
    let opts = Options::new(ts("2026-11-25T00:00:00Z"), "2026-11-25".parse().unwrap());
    let p = plan(&inv, &opts);
    let lint = p
        .lints
        .iter()
        .find(|l| l.code == "canary-coverage")
        .unwrap();
    assert!(
        lint.message.ends_with("does not cover one kind of device (no standby or standalone unit of that kind): f5 i7800 15.1.10"),
        "{}",
        lint.message
    );
}

#[test]
fn waves_beyond_the_first_weeks_still_find_their_windows() {
    // One device a week at one site for 6 weeks: past the 3 weeks of windows listed at first.
    let mut devices = String::from(HEADER);
    for i in 0..6 {
        writeln!(
            devices,
            "s{i},FRA1,kemp,LM-1500,7.2.48.2,10.0.0.{i},,standalone"
        )
        .unwrap();
    }
    let inv = load(SITES, &devices);
    let mut opts = Options::new(ts("2026-11-25T00:00:00Z"), "2026-11-25".parse().unwrap());
    opts.canary = false;
    opts.max_per_site = Some(1);
    // 300 minutes a device: one per 8-hour Sunday window.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("d.csv");
    std::fs::write(
        &path,
        "vendor,model,upload,install,reboot,checks,failover\nkemp,,50,50,25,25,5\n",
    )
    .unwrap();
    opts.durations = super::durations::Durations::with_file(&path).unwrap();
    let p = plan(&inv, &opts);
    verify(&p, &inv, &opts);
    assert!(p.unschedulable.is_empty(), "{:?}", p.unschedulable);
    let starts: Vec<&str> = p
        .waves
        .iter()
        .map(|w| &w.groups[0].window_start[..10])
        .collect();
    assert_eq!(
        starts,
        [
            "2026-11-29",
            "2026-12-06",
            "2026-12-13",
            "2026-12-20",
            "2026-12-27",
            "2027-01-03"
        ]
    );
}

#[test]
fn selector_values_that_match_no_device_are_named_with_those_that_exist() {
    let inv = load(
        "site,timezone,windows\nFRA1,Europe/Berlin,Sun 00:00-06:00\nFRA2,Europe/Berlin,Sun 00:00-06:00\nNYC2,America/New_York,Sun 00:00-06:00\n",
        &format!(
            "{HEADER}a,FRA1,kemp,LM-1500,7.2.48.2,10.0.0.1,,standalone\nb,NYC2,kemp,LM-1500,7.2.48.2,10.0.0.2,,standalone\n"
        ),
    );
    let sel = |only: &[&str], exclude: &[&str]| super::Selection {
        only: only.iter().map(|s| s.parse().unwrap()).collect(),
        exclude: exclude.iter().map(|s| s.parse().unwrap()).collect(),
    };
    // Everything matches something: nothing to say.
    let (errors, warnings) =
        sel(&["site=FRA1,nyc*", "vendor=kemp"], &["device=b"]).unmatched(&inv.devices);
    assert!(
        errors.is_empty() && warnings.is_empty(),
        "{errors:?} {warnings:?}"
    );
    // FRA2 is in sites.csv but has no device; FRA9 is a typo of FRA1 (the existing values, not
    // sites.csv, are suggested and listed); a glob gets no guess.
    let (errors, warnings) = sel(
        &["site=FRA1,fra9", "site=FRA2", "model=lm-*x"],
        &["device=c"],
    )
    .unmatched(&inv.devices);
    assert_eq!(
        errors,
        [
            "--only site=fra1,fra9: no device at site \"fra9\" (did you mean \"FRA1\"?); sites with devices: FRA1, NYC2",
            "--only site=fra2: no device at site \"fra2\" (did you mean \"FRA1\"?); sites with devices: FRA1, NYC2",
            "--only model=lm-*x: no device of model \"lm-*x\"; models in the inventory: LM-1500",
        ]
    );
    assert_eq!(
        warnings,
        ["--exclude device=c: no device named \"c\"; devices in the inventory: a, b"]
    );
}

#[test]
fn each_entry_names_the_unit_carrying_traffic_after_it_and_its_release() {
    // Two phases: the standby's entry leaves the old active carrying traffic on its own
    // release; the active's entry ends (after the failback) with it on the target.
    let devices = format!(
        "{HEADER}a1,FRA1,f5,i7800,15.1.10,10.0.0.1,g1,active\na2,FRA1,f5,i7800,15.1.10.2,10.0.0.2,g1,standby\n"
    );
    let inv = load(SITES, &devices);
    let mut opts = Options::new(ts("2026-11-25T00:00:00Z"), "2026-11-25".parse().unwrap());
    opts.canary = false;
    opts.ha_two_phase = true;
    opts.target = "f5=16.1.4".parse().unwrap();
    let p = plan(&inv, &opts);
    verify(&p, &inv, &opts);
    let carriers: Vec<(Phase, String, String)> = p
        .waves
        .iter()
        .flat_map(|w| &w.groups)
        .map(|g| {
            let c = g.carrier.clone().unwrap();
            (g.phase, c.device, c.version)
        })
        .collect();
    assert_eq!(
        carriers,
        [
            (Phase::Standby, "a1".to_string(), "15.1.10".to_string()),
            (Phase::Active, "a1".to_string(), "16.1.4".to_string()),
        ]
    );
}

#[test]
fn pre_staged_plans_leave_the_upload_out_of_every_hop() {
    let devices = format!("{HEADER}s1,FRA1,f5,i7800,15.1.10,10.0.0.3,,standalone\n");
    let inv = load(SITES, &devices);
    let mut opts = Options::new(ts("2026-11-25T00:00:00Z"), "2026-11-25".parse().unwrap());
    opts.canary = false;
    let minutes = |opts: &Options| {
        let p = plan(&inv, opts);
        let g = &p.waves[0].groups[0];
        (
            g.estimated_minutes,
            g.devices[0].path.len() as i64,
            p.options.pre_staged,
        )
    };
    let (full, hops, recorded) = minutes(&opts);
    assert!(!recorded);
    opts.pre_staged = true;
    let (staged, _, recorded) = minutes(&opts);
    assert!(recorded);
    let upload = i64::from(
        opts.durations
            .of(crate::version::Vendor::F5, "i7800")
            .upload,
    );
    assert!(upload > 0 && hops > 1);
    assert_eq!(staged, full - upload * hops);
}

#[test]
fn a_pair_on_two_releases_is_named_and_only_that_pair() {
    let devices = format!(
        "{HEADER}a1,FRA1,f5,i7800,15.1.10,10.0.0.1,g1,active\na2,FRA1,f5,i7800,15.1.10,10.0.0.2,g1,standby\n\
         b1,FRA1,f5,i7800,15.1.10,10.0.0.3,g2,active\nb2,FRA1,f5,i7800,16.1.4,10.0.0.4,g2,standby\n"
    );
    let inv = load(SITES, &devices);
    let opts = Options::new(ts("2026-11-25T00:00:00Z"), "2026-11-25".parse().unwrap());
    let p = plan(&inv, &opts);
    let mixed: Vec<&str> = p
        .lints
        .iter()
        .filter(|l| l.code == "mixed-pair")
        .map(|l| l.message.as_str())
        .collect();
    assert_eq!(
        mixed,
        [
            "HA group g2 runs two releases (b1 active 15.1.10, b2 standby 16.1.4): each failover of its plan moves traffic between them"
        ]
    );
}

#[test]
fn the_plan_table_shows_each_unit_in_the_role_it_has_at_its_step() {
    let devices = format!(
        "{HEADER}a1,FRA1,f5,i7800,15.1.10,10.0.0.1,g1,active\na2,FRA1,f5,i7800,15.1.10,10.0.0.2,g1,standby\n\
         b1,FRA1,f5,i7800,15.1.10,10.0.0.3,g2,active\nb2,FRA1,f5,i7800,15.1.10,10.0.0.4,g2,standby\n"
    );
    let inv = load(SITES, &devices);
    let opts = Options::new(ts("2026-11-25T00:00:00Z"), "2026-11-25".parse().unwrap());
    let p = plan(&inv, &opts);
    let csv = crate::report::Format::Csv
        .exporter()
        .export(&super::table(&p))
        .unwrap();
    let rows: Vec<String> = String::from_utf8(csv)
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| {
            let c: Vec<&str> = l.split(',').collect();
            format!("{} {} {} {}", c[0], c[4], c[5], c[6])
        })
        .collect();
    // The canary hands g1 to a2; wave 1 upgrades a1 as the standby it is then, and the full
    // entry of g2 upgrades b1 after the failover to b2: no unit is upgraded while active.
    assert_eq!(
        rows,
        [
            "0 upgrade a2 standby",
            "0 failover a2 standby",
            "0 carries traffic a2 active",
            "1 upgrade a1 standby",
            "1 failover a1 standby",
            "1 carries traffic a1 active",
            "1 upgrade b2 standby",
            "1 failover b2 standby",
            "1 upgrade b1 standby",
            "1 failover b1 standby",
            "1 carries traffic b1 active",
        ]
    );
}
