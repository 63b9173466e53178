//! Reboot schedules on hand-made fleets.

use jiff::{SignedDuration, Timestamp};

use super::*;
use crate::inventory;

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

fn opts(interval: Interval, weeks: u32, cap: usize) -> Options {
    Options {
        // A Wednesday.
        from: ts("2026-11-25T00:00:00Z"),
        weeks,
        interval,
        max_per_site: cap,
        durations: Durations::default(),
        defects: Vec::new(),
    }
}

fn schedule(inv: &Inventory, o: &Options, ev: &Evidence) -> Schedule {
    let prov = Provenance {
        paths: vec!["inv".into()],
        catalog_source: "embedded".into(),
        created: ts("2026-11-25T00:00:00Z"),
    };
    build(inv, catalog(), o, ev, &prov)
}

const HEADER: &str = "name,site,vendor,model,version,mgmt_host,ha_group,ha_role\n";
const BERLIN: &str = "site,timezone,windows\nFRA,Europe/Berlin,Sun 00:00-06:00\n";

/// An i4800 pair on 12.1.2 (F5 ID640376, STPD leak on i4000 platforms) and an unaffected pair.
fn fleet() -> Inventory {
    load(
        BERLIN,
        &format!(
            "{HEADER}a1,FRA,f5,i4800,12.1.2,a1.example,ha-a,active\n\
             a2,FRA,f5,i4800,12.1.2,a2.example,ha-a,standby\n\
             b1,FRA,f5,i7800,17.5.1,b1.example,ha-b,active\n\
             b2,FRA,f5,i7800,17.5.1,b2.example,ha-b,standby\n\
             c1,FRA,f5,i4800,12.1.2,c1.example,,standalone\n"
        ),
    )
}

fn starts(s: &Schedule, group: &str) -> Vec<Timestamp> {
    s.rounds
        .iter()
        .flat_map(|r| &r.groups)
        .filter(|g| crate::executor::group_name(g) == group)
        .map(|g| ts(&g.start))
        .collect()
}

#[test]
fn affected_pairs_go_standby_failover_active_failback_weekly_in_windows() {
    let s = schedule(
        &fleet(),
        &opts(Interval::Days(7), 4, 1),
        &Evidence::default(),
    );
    // ha-b runs a release without leak defects: no reboots.
    assert!(
        s.devices
            .iter()
            .all(|d| d.ha_group.as_deref() != Some("ha-b"))
    );
    let a2 = s.devices.iter().find(|d| d.name == "a2").unwrap();
    assert!(a2.reasons.contains(&"ID640376".to_string()), "{a2:?}");
    let g = &s.rounds[0]
        .groups
        .iter()
        .find(|g| g.ha_group.as_deref() == Some("ha-a"))
        .unwrap();
    assert_eq!(
        g.steps,
        vec![
            Step::Reboot {
                device: "a2".into()
            },
            Step::Failover {
                to: "a2".into(),
                mgmt_host: "a2.example".into(),
                from: Some("a1".into()),
                from_mgmt_host: Some("a1.example".into()),
            },
            Step::Reboot {
                device: "a1".into()
            },
            Step::Failover {
                to: "a1".into(),
                mgmt_host: "a1.example".into(),
                from: Some("a2".into()),
                from_mgmt_host: Some("a2.example".into()),
            },
        ]
    );
    // f5: 15 min reboot + 10 min checks per unit, 5 min per failover.
    assert_eq!(g.estimated_minutes, 25 + 25 + 5 + 5);
    for group in ["ha-a", "c1"] {
        let st = starts(&s, group);
        // Sundays 29 Nov, 6, 13 and 20 Dec 2026 (4 weeks from Wednesday 25 Nov).
        assert_eq!(st.len(), 4, "{group}: {st:?}");
        for w in st.windows(2) {
            assert!(w[1].duration_since(w[0]) <= SignedDuration::from_hours(24 * 7));
        }
    }
    for g in s.rounds.iter().flat_map(|r| &r.groups) {
        let (start, end) = (ts(&g.start), ts(&g.end));
        assert!(
            ts(&g.window_start) <= start && end <= ts(&g.window_end),
            "{g:?}"
        );
        assert_eq!(end.duration_since(start).as_mins(), g.estimated_minutes);
        assert!(g.start.ends_with("+01:00"), "site time: {}", g.start);
    }
}

#[test]
fn the_site_cap_staggers_groups_inside_a_window() {
    for cap in [1, 2] {
        let s = schedule(
            &fleet(),
            &opts(Interval::Days(7), 1, cap),
            &Evidence::default(),
        );
        let r = &s.rounds[0].groups;
        assert_eq!(r.len(), 2);
        let overlap = ts(&r[0].start) < ts(&r[1].end) && ts(&r[1].start) < ts(&r[0].end);
        assert_eq!(overlap, cap == 2, "cap {cap}: {r:#?}");
    }
}

#[test]
fn short_intervals_use_every_window_and_say_when_windows_are_too_far_apart() {
    let daily = load(
        "site,timezone,windows\nFRA,Europe/Berlin,Mon-Sun 01:00-05:00\n",
        &format!("{HEADER}c1,FRA,f5,i4800,12.1.2,c1.example,,standalone\n"),
    );
    let s = schedule(&daily, &opts(Interval::Days(3), 3, 1), &Evidence::default());
    let st = starts(&s, "c1");
    assert!(st.len() >= 7, "{st:?}");
    for w in st.windows(2) {
        let gap = w[1].duration_since(w[0]);
        // The latest window that still ends within 3 days: exactly 3 days later here.
        assert_eq!(gap, SignedDuration::from_hours(72), "{st:?}");
    }
    assert!(s.lints.is_empty(), "{:?}", s.lints);
    let s = schedule(
        &fleet(),
        &opts(Interval::Days(3), 3, 1),
        &Evidence::default(),
    );
    let lint = s.lints.iter().find(|l| l.code == "interval-unmet").unwrap();
    assert!(
        lint.message.contains("up to 7.0 days apart"),
        "{}",
        lint.message
    );
}

#[test]
fn no_reboot_goes_in_a_window_where_the_group_is_being_upgraded() {
    let plain = schedule(
        &fleet(),
        &opts(Interval::Days(7), 4, 1),
        &Evidence::default(),
    );
    let before = starts(&plain, "ha-a");
    assert_eq!(before.len(), 4, "{before:?}");
    // ha-a's upgrade (still to an affected release) takes the second reboot's window, on a2
    // alone: the group's reboot moves to another occurrence; other groups are not affected.
    let mut ev = Evidence::default();
    let second = before[1];
    ev.upgrading.insert(
        "a2".into(),
        vec![(
            second,
            second.checked_add(SignedDuration::from_mins(90)).unwrap(),
        )],
    );
    let s = schedule(&fleet(), &opts(Interval::Days(7), 4, 1), &ev);
    let after = starts(&s, "ha-a");
    assert!(!after.contains(&second), "{after:?}");
    assert!(
        after.contains(&before[0]) && after.contains(&before[2]),
        "{after:?}"
    );
    // c1 is not being upgraded: it keeps its four reboots (one may take the slot ha-a left).
    assert_eq!(starts(&s, "c1").len(), 4);
    // Work that starts as the window closes, or ends as it opens, does not overlap it.
    let window = plain
        .rounds
        .iter()
        .flat_map(|r| &r.groups)
        .find(|g| crate::executor::group_name(g) == "ha-a" && ts(&g.start) == second)
        .map(|g| (ts(&g.window_start), ts(&g.window_end)))
        .unwrap();
    let hour = SignedDuration::from_hours(1);
    for work in [
        (window.1, window.1.checked_add(hour).unwrap()),
        (window.0.checked_sub(hour).unwrap(), window.0),
    ] {
        let mut ev = Evidence::default();
        ev.upgrading.insert("a1".into(), vec![work]);
        let s = schedule(&fleet(), &opts(Interval::Days(7), 4, 1), &ev);
        assert_eq!(starts(&s, "ha-a"), before, "{work:?}");
    }
}

#[test]
fn a_planned_upgrade_to_a_fixed_release_ends_the_reboots() {
    let mut ev = Evidence::default();
    // Both units of ha-a end their upgrade to 17.5.1 (outside every leak defect of 12.1.2)
    // on 10 December.
    for d in ["a1", "a2"] {
        ev.upgrades
            .insert(d.into(), (ts("2026-12-10T03:00:00Z"), "17.5.1".into()));
    }
    // c1 goes to 12.1.2 → still affected: reboots continue.
    ev.upgrades
        .insert("c1".into(), (ts("2026-12-10T03:00:00Z"), "12.1.2".into()));
    let s = schedule(&fleet(), &opts(Interval::Days(7), 6, 1), &Evidence { ..ev });
    let a = starts(&s, "ha-a");
    assert_eq!(a.len(), 2, "29 Nov and 6 Dec only: {a:?}");
    assert!(a.iter().all(|t| *t < ts("2026-12-10T03:00:00Z")));
    assert_eq!(starts(&s, "c1").len(), 6);
    let a1 = s.devices.iter().find(|d| d.name == "a1").unwrap();
    assert_eq!(a1.fixed_by.as_deref(), Some("17.5.1"));
    // Units fixed a week apart (two-phase): reboots go on until the later one is fixed.
    let mut ev = Evidence::default();
    ev.upgrades
        .insert("a2".into(), (ts("2026-12-03T03:00:00Z"), "17.5.1".into()));
    ev.upgrades
        .insert("a1".into(), (ts("2026-12-10T03:00:00Z"), "17.5.1".into()));
    let s = schedule(&fleet(), &opts(Interval::Days(7), 6, 1), &ev);
    assert_eq!(starts(&s, "ha-a").len(), 2, "{:?}", starts(&s, "ha-a"));
    // ... whichever order the members are listed in.
    let mut ev = Evidence::default();
    ev.upgrades
        .insert("a1".into(), (ts("2026-12-03T03:00:00Z"), "17.5.1".into()));
    ev.upgrades
        .insert("a2".into(), (ts("2026-12-10T03:00:00Z"), "17.5.1".into()));
    let s = schedule(&fleet(), &opts(Interval::Days(7), 6, 1), &ev);
    assert_eq!(starts(&s, "ha-a").len(), 2, "{:?}", starts(&s, "ha-a"));
    // Only one unit fixed, or an upgrade to 13.1.5 (still inside ID708830): reboots go on.
    for (devices, to) in [(&["a2"][..], "17.5.1"), (&["a1", "a2"][..], "13.1.5")] {
        let mut ev = Evidence::default();
        for d in devices {
            ev.upgrades
                .insert(d.to_string(), (ts("2026-12-10T03:00:00Z"), to.into()));
        }
        let s = schedule(&fleet(), &opts(Interval::Days(7), 6, 1), &ev);
        assert_eq!(starts(&s, "ha-a").len(), 6, "{devices:?} to {to}");
    }
}

#[test]
fn auto_intervals_come_from_telemetry() {
    let mut ev = Evidence::default();
    // a1 leaks with a 3-day recommendation; a2 (same pair) was analysed and does not leak.
    ev.telemetry.insert(
        "a1".into(),
        Some(Leak {
            bytes_per_day: 2.0e9,
            interval_days: Some(3),
        }),
    );
    ev.telemetry.insert("a2".into(), None);
    // c1 is affected by the defect but its telemetry shows no leak: no reboots under auto.
    ev.telemetry.insert("c1".into(), None);
    // b1 runs a clean release but leaks in telemetry: reboots for ha-b.
    ev.telemetry.insert(
        "b1".into(),
        Some(Leak {
            bytes_per_day: 1.0e9,
            interval_days: Some(10),
        }),
    );
    let s = schedule(&fleet(), &opts(Interval::Auto, 3, 1), &ev);
    let a1 = s.devices.iter().find(|d| d.name == "a1").unwrap();
    assert_eq!(
        (a1.interval_days, a1.interval_source.as_str()),
        (3, "telemetry")
    );
    let b2 = s.devices.iter().find(|d| d.name == "b2").unwrap();
    assert_eq!(b2.reasons, vec!["ha-peer".to_string()]);
    assert_eq!(b2.interval_days, 10);
    assert!(s.devices.iter().all(|d| d.name != "c1"));
    // Only c1 is skipped for that: b2 (clean release, no leak of its own) is not "affected".
    let not_leaking: Vec<&str> = s
        .skipped
        .iter()
        .filter(|x| x.code == "not-leaking")
        .map(|x| x.name.as_str())
        .collect();
    let names: Vec<&str> = s.devices.iter().map(|d| d.name.as_str()).collect();
    assert_eq!(not_leaking, ["c1"], "{:?} {names:?}", s.skipped);
    // A 3-day interval with weekly windows cannot be met: said so.
    assert!(
        s.lints
            .iter()
            .any(|l| l.code == "interval-unmet" && l.message.starts_with("ha-a"))
    );
    // No telemetry at all: weekly, with a lint.
    let s = schedule(&fleet(), &opts(Interval::Auto, 1, 1), &Evidence::default());
    assert!(
        s.devices
            .iter()
            .all(|d| d.interval_days == 7 && d.interval_source == "default")
    );
    assert!(s.lints.iter().any(|l| l.code == "no-telemetry-interval"));
}

#[test]
fn work_longer_than_any_window_is_unschedulable() {
    let inv = load(
        "site,timezone,windows\nFRA,Europe/Berlin,Sun 00:00-00:20\n",
        &format!("{HEADER}c1,FRA,f5,i4800,12.1.2,c1.example,,standalone\n"),
    );
    let s = schedule(&inv, &opts(Interval::Days(7), 2, 1), &Evidence::default());
    assert!(s.rounds.is_empty());
    assert_eq!(s.unschedulable[0].code, "no-window");
}

#[test]
fn due_reboots_are_those_started_in_an_open_window_batched_by_the_site_cap() {
    let s = schedule(
        &fleet(),
        &opts(Interval::Days(7), 2, 1),
        &Evidence::default(),
    );
    let first = &s.rounds[0].groups;
    // Sunday 29 Nov 00:00 Berlin = 28 Nov 23:00 UTC.
    assert!(due(&s, ts("2026-11-28T22:59:00Z")).is_empty());
    let at_open = due(&s, ts("2026-11-28T23:00:00Z"));
    assert_eq!(at_open.len(), 1);
    assert_eq!(at_open[0].groups, vec![first[0].clone()]);
    // Later in the window both are due (the first was missed or is done): one batch each.
    let later = due(&s, ts("2026-11-29T02:00:00Z"));
    assert_eq!(later.len(), 2);
    assert!(later.iter().all(|w| w.index == 0 && w.groups.len() == 1));
    // After the window: nothing due, both missed when nothing finished them.
    let after = ts("2026-11-29T05:30:00Z");
    assert!(due(&s, after).is_empty());
    assert_eq!(missed(&s, after, &|_, _| false).len(), 2);
    assert_eq!(missed(&s, after, &|_, _| true).len(), 0);
    // The window's last instant belongs to it: at its close nothing is due any more and the
    // unfinished reboots are missed; a moment before, they are due and not missed.
    let close = ts(&first[0].window_end);
    assert!(due(&s, close).is_empty());
    assert_eq!(missed(&s, close, &|_, _| false).len(), 2);
    let just_before = close - SignedDuration::from_secs(1);
    assert_eq!(due(&s, just_before).len(), 2);
    assert!(missed(&s, just_before, &|_, _| false).is_empty());
    // A cap of two lets both run in one batch.
    let s = schedule(
        &fleet(),
        &opts(Interval::Days(7), 2, 2),
        &Evidence::default(),
    );
    let later = due(&s, ts("2026-11-29T02:00:00Z"));
    assert_eq!(later.len(), 1, "{later:?}");
    assert_eq!(later[0].groups.len(), 2);
}

#[test]
fn the_calendar_parses_with_an_icalendar_parser() {
    let s = schedule(
        &fleet(),
        &opts(Interval::Days(7), 4, 1),
        &Evidence::default(),
    );
    let text = ics::calendar(
        &s,
        std::path::Path::new("/srv/lbfleet/a long folder/reboots.json"),
    );
    let mut parser = ical::IcalParser::new(std::io::BufReader::new(text.as_bytes()));
    let cal = parser.next().expect("one calendar").expect("parses");
    assert!(parser.next().is_none());
    assert_eq!(cal.events.len(), s.group_reboots());
    assert_eq!(cal.timezones.len(), 1);
    let prop = |e: &ical::parser::ical::component::IcalEvent, name: &str| {
        e.properties
            .iter()
            .find(|p| p.name == name)
            .cloned()
            .unwrap()
    };
    let e = &cal.events[0];
    let start = prop(e, "DTSTART");
    assert_eq!(
        start.params.unwrap(),
        vec![("TZID".to_string(), vec!["Europe/Berlin".to_string()])]
    );
    // The first reboot: Sunday 29 November 2026, 00:00 in Berlin.
    assert_eq!(start.value.as_deref(), Some("20261129T000000"));
    assert!(prop(e, "SUMMARY").value.unwrap().contains("ha-a"));
    // Each event says how to run it, with the schedule's own path (folded lines unfolded).
    let description = prop(e, "DESCRIPTION").value.unwrap();
    assert!(
        description.contains("lbfleet reboots run /srv/lbfleet/a long folder/reboots.json --due"),
        "{description}"
    );
    let uids: std::collections::HashSet<_> =
        cal.events.iter().map(|e| prop(e, "UID").value).collect();
    assert_eq!(uids.len(), cal.events.len());
}

#[test]
fn a_reboot_keeps_its_calendar_uid_when_planned_again_from_a_later_day() {
    let uids = |from: &str| -> std::collections::BTreeSet<String> {
        let mut o = opts(Interval::Days(7), 4, 1);
        o.from = ts(from);
        let text = ics::calendar(
            &schedule(&fleet(), &o, &Evidence::default()),
            std::path::Path::new("/r.json"),
        );
        text.lines()
            .filter_map(|l| l.strip_prefix("UID:"))
            .map(str::to_string)
            .collect()
    };
    let first = uids("2026-11-25T00:00:00Z");
    // A week later the first week's reboots are gone and the rest are in other rounds.
    let later = uids("2026-12-02T00:00:00Z");
    let shared = first.intersection(&later).count();
    assert!(shared >= 3 && shared < first.len(), "{first:?}\n{later:?}");
}

#[test]
fn only_the_named_defects_count_when_given() {
    let mut o = opts(Interval::Days(7), 1, 1);
    // ID640376 is limited to 2000/4000/i2000/i4000 platforms: the i4800 units qualify.
    o.defects = vec!["id640376".into()];
    let s = schedule(&fleet(), &o, &Evidence::default());
    assert_eq!(s.devices.len(), 3);
    assert!(
        s.devices
            .iter()
            .all(|d| d.reasons == vec!["ID640376".to_string()])
    );
    // A defect none of them has: nothing to reboot.
    o.defects = vec!["ID454018".into()];
    assert!(
        schedule(&fleet(), &o, &Evidence::default())
            .devices
            .is_empty()
    );
}

#[test]
fn intervals_in_days_weeks_or_auto() {
    for (text, want) in [
        ("auto", Interval::Auto),
        (" AUTO ", Interval::Auto),
        ("7d", Interval::Days(7)),
        ("2w", Interval::Days(14)),
        ("366d", Interval::Days(366)),
    ] {
        assert_eq!(text.parse::<Interval>(), Ok(want), "{text}");
    }
    assert_eq!(Interval::Days(7).to_string(), "7d");
    assert_eq!(Interval::Auto.to_string(), "auto");
    for bad in ["0d", "367d", "53w", "7x", "d", "weekly"] {
        let e = bad.parse::<Interval>().unwrap_err();
        assert!(e.starts_with(&format!("\"{bad}\": ")), "{e}");
    }
}

#[test]
fn a_reboot_slot_may_end_exactly_when_the_window_closes() {
    let z = |s: &str| s.parse::<jiff::ZonedDateTime>().unwrap();
    let occ = Occurrence {
        start: z("2026-11-29T00:00:00+01:00[Europe/Berlin]"),
        end: z("2026-11-29T06:00:00+01:00[Europe/Berlin]"),
    };
    let start = occ.start.timestamp();
    let at = |h: i64| start + SignedDuration::from_hours(h);
    // The whole window.
    assert_eq!(slot_in(&occ, start, 360, &[], 1), Some((start, at(6))));
    assert_eq!(slot_in(&occ, start, 361, &[], 1), None);
    // A reboot from 0 to 2 h with a cap of one: the next slot starts when it ends, and one
    // that ended before the lower bound does not move the start earlier.
    let busy = [(at(0), at(2)), (at(-3), at(-1))];
    assert_eq!(slot_in(&occ, start, 240, &busy, 1), Some((at(2), at(6))));
    assert_eq!(slot_in(&occ, start, 241, &busy, 1), None);
    assert_eq!(slot_in(&occ, start, 60, &busy, 2), Some((start, at(1))));
    // A reboot that starts exactly when ours would end does not overlap it.
    let later = [(at(4), at(6))];
    assert_eq!(slot_in(&occ, start, 240, &later, 1), Some((start, at(4))));
}

#[test]
fn groups_are_placed_site_by_site_in_the_order_of_sites_csv() {
    // No order column: sites.csv lists NYC before FRA, devices.csv the other way round.
    let sites = "site,timezone,windows\nNYC,America/New_York,Sun 00:00-06:00\nFRA,Europe/Berlin,Sun 00:00-06:00\n";
    let devices = format!(
        "{HEADER}f1,FRA,f5,i4800,12.1.2,f1.example,,standalone\n\
         n1,NYC,f5,i4800,12.1.2,n1.example,,standalone\n"
    );
    let s = schedule(
        &load(sites, &devices),
        &opts(Interval::Days(7), 1, 1),
        &Evidence::default(),
    );
    let names: Vec<&str> = s.devices.iter().map(|d| d.name.as_str()).collect();
    assert_eq!(names, ["n1", "f1"]);
}

#[test]
fn a_long_schedule_finds_a_window_for_every_round() {
    // 20 weekly rounds: windows are searched for the whole span, not a fixed few weeks.
    let s = schedule(
        &fleet(),
        &opts(Interval::Days(7), 20, 1),
        &Evidence::default(),
    );
    let c1 = starts(&s, "c1");
    assert_eq!(c1.len(), 20, "{c1:?}");
    // The unaffected pair is neither rebooted nor listed as skipped.
    assert!(starts(&s, "ha-b").is_empty());
    assert!(
        s.skipped.iter().all(|x| !x.name.starts_with('b')),
        "{:?}",
        s.skipped
    );
    // Sundays in Berlin: a week apart, 167 hours across the spring change.
    assert!(c1.windows(2).all(|w| {
        let h = (w[1] - w[0]).as_hours();
        h == 168 || h == 167
    }));
}

#[test]
fn a_device_fixed_before_its_first_window_is_skipped_with_why() {
    // c1's upgrade to 17.5.1 ends on Thursday, before Sunday's window.
    let mut ev = Evidence::default();
    ev.upgrades
        .insert("c1".into(), (ts("2026-11-26T03:00:00Z"), "17.5.1".into()));
    let s = schedule(&fleet(), &opts(Interval::Days(7), 4, 1), &ev);
    assert!(starts(&s, "c1").is_empty());
    let c1 = s.skipped.iter().find(|x| x.name == "c1").unwrap();
    assert_eq!(c1.code, "fixed-first");
    assert!(
        c1.reason
            .starts_with("its planned upgrade to 17.5.1 ends 2026-11-26T03:00:00Z"),
        "{}",
        c1.reason
    );
    // Another device that cannot get a window changes nothing for c1.
    // (SHORT first: its device is placed, and found unschedulable, before c1.)
    let sites = "site,timezone,windows\nSHORT,Europe/Berlin,Sun 00:00-00:10\nFRA,Europe/Berlin,Sun 00:00-06:00\n";
    let devices = format!(
        "{HEADER}c1,FRA,f5,i4800,12.1.2,c1.example,,standalone\n\
         x1,SHORT,f5,i4800,12.1.2,x1.example,,standalone\n"
    );
    let s2 = schedule(&load(sites, &devices), &opts(Interval::Days(7), 4, 1), &ev);
    assert!(
        s2.unschedulable
            .iter()
            .any(|x| x.name == "x1" && x.code == "no-window")
    );
    assert!(
        s2.skipped
            .iter()
            .any(|x| x.name == "c1" && x.code == "fixed-first"),
        "{:?}",
        s2.skipped
    );
    // Each rebooted device's estimate is its reboot and checks (F5: 15 + 10 minutes).
    let g = s.rounds[0]
        .groups
        .iter()
        .find(|g| g.ha_group.as_deref() == Some("ha-a"))
        .unwrap();
    assert!(
        g.devices.iter().all(|d| d.estimated_minutes == 25),
        "{:?}",
        g.devices
    );
}
