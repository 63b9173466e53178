//! The rollout engine on a scripted fleet ([`super::testbed`]): failure budgets at their
//! boundaries, HA order, both-unit failover checks, resume after each kind of fault, consent
//! between waves, windows and soaks. Each runs in milliseconds; the same paths over real SSH
//! are in the lab tests.

use std::sync::Mutex;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use super::testbed::{Fault, Fleet};
use super::*;
use crate::clock::FixedClock;
use crate::planner::file::{Group, Phase, PlannedDevice, Step, Wave, WaveKind};

static NEVER: AtomicBool = AtomicBool::new(false);

struct Quiet;
impl Observer for Quiet {
    fn on(&self, _: Progress<'_>) {}
}

fn device(name: &str, role: &str, path: &[&str]) -> PlannedDevice {
    PlannedDevice {
        name: name.into(),
        role: role.into(),
        vendor: "f5".into(),
        model: "i4800".into(),
        from: "15.1.10".into(),
        path: path.iter().map(|s| s.to_string()).collect(),
        mgmt_host: format!("{name}.example:22"),
        estimated_minutes: 60,
    }
}

fn group(ha: Option<&str>, devices: Vec<PlannedDevice>, steps: Vec<Step>) -> Group {
    Group {
        site: "LAB".into(),
        ha_group: ha.map(str::to_string),
        phase: Phase::Full,
        window_start: "2026-01-01T00:00:00Z".into(),
        window_end: "2036-01-01T00:00:00Z".into(),
        start: "2026-01-01T00:00:00Z".into(),
        end: "2026-01-01T01:00:00Z".into(),
        estimated_minutes: 60,
        devices,
        steps,
        carrier: None,
    }
}

/// A standalone unit upgraded to 16.1.4.
fn single(name: &str) -> Group {
    group(
        None,
        vec![device(name, "standalone", &["16.1.4"])],
        vec![Step::Upgrade {
            device: name.into(),
        }],
    )
}

/// An HA pair, standby first, then a failover to it, then the former active.
fn pair(g: &str, active: &str, standby: &str, path: &[&str]) -> Group {
    group(
        Some(g),
        vec![
            device(standby, "standby", path),
            device(active, "active", path),
        ],
        vec![
            Step::Upgrade {
                device: standby.into(),
            },
            Step::Failover {
                to: standby.into(),
                mgmt_host: format!("{standby}.example:22"),
                from: None,
                from_mgmt_host: None,
            },
            Step::Upgrade {
                device: active.into(),
            },
        ],
    )
}

fn waves(canary: Vec<Group>, rest: Vec<Group>) -> Vec<Wave> {
    vec![
        Wave {
            index: 0,
            kind: WaveKind::Canary,
            not_before: String::new(),
            groups: canary,
        },
        Wave {
            index: 1,
            kind: WaveKind::Wave,
            not_before: String::new(),
            groups: rest,
        },
    ]
}

/// A scripted fleet with images for 16.1.4 and 17.1.1.3, a journal and the built-in drivers.
struct Bed {
    fleet: Fleet,
    dir: tempfile::TempDir,
    manifest: Manifest,
    drivers: Drivers,
    inventory: Cells,
    /// Backups before each device's first change (none unless a test sets them).
    backups: Option<Backups>,
    /// The gate after the canary (none unless a test sets one).
    gate: Option<Scripted>,
}

/// A gate that says what it is told, in order (the last answer repeats), and counts the
/// times it was asked with the journal's length each time.
struct Scripted {
    says: Mutex<Vec<GateCheck>>,
    asked: Mutex<Vec<usize>>,
    accept: bool,
}

impl Scripted {
    fn new(says: &[GateCheck]) -> Scripted {
        Scripted {
            says: Mutex::new(says.iter().rev().cloned().collect()),
            asked: Mutex::new(Vec::new()),
            accept: false,
        }
    }

    /// As `--accept-verdict` makes it.
    fn accepting(says: &[GateCheck]) -> Scripted {
        Scripted {
            accept: true,
            ..Scripted::new(says)
        }
    }

    fn asked(&self) -> usize {
        self.asked.lock().unwrap().len()
    }
}

impl Gate for Scripted {
    fn name(&self) -> String {
        "leak-fixed".into()
    }

    fn check(&self, entries: &[journal::Entry]) -> GateCheck {
        self.asked.lock().unwrap().push(entries.len());
        let mut says = self.says.lock().unwrap();
        if says.len() > 1 {
            says.pop().unwrap()
        } else {
            says[0].clone()
        }
    }

    fn recheck(&self) -> Duration {
        Duration::from_millis(1)
    }

    fn accepting(&self) -> bool {
        self.accept
    }

    fn settings(&self) -> String {
        if self.accept {
            "accept".into()
        } else {
            String::new()
        }
    }
}

/// An inventory as cells: what the engine writes back, every call in order.
#[derive(Default)]
struct Cells {
    cells: Mutex<HashMap<(String, String), String>>,
    calls: Mutex<Vec<String>>,
    fail: AtomicBool,
}

impl InventoryWriter for Cells {
    fn set(&self, device: &str, field: &str, value: &str) -> Result<Option<String>, String> {
        self.calls
            .lock()
            .unwrap()
            .push(format!("{device} {field}={value}"));
        if self.fail.load(std::sync::atomic::Ordering::SeqCst) {
            return Err("read-only file system".into());
        }
        let old = self
            .cells
            .lock()
            .unwrap()
            .insert((device.into(), field.into()), value.into());
        Ok((old.as_deref() != Some(value)).then(|| "inv/devices.csv".to_string()))
    }
}

impl Cells {
    fn get(&self, device: &str, field: &str) -> Option<String> {
        self.cells
            .lock()
            .unwrap()
            .get(&(device.to_string(), field.to_string()))
            .cloned()
    }
}

impl Bed {
    fn new() -> Bed {
        let dir = tempfile::tempdir().unwrap();
        let mut images = Vec::new();
        for (file, version) in [
            ("BIGIP-16.1.4-0.0.1.iso", "16.1.4"),
            ("BIGIP-17.1.1.3-0.0.1.iso", "17.1.1.3"),
        ] {
            let p = dir.path().join(file);
            std::fs::write(&p, version.as_bytes()).unwrap();
            let (sha256, size) = crate::images::digest(&p).unwrap();
            images.push(crate::images::Image {
                vendor: Vendor::F5,
                version: version.into(),
                file: file.into(),
                size,
                sha256,
            });
        }
        Bed {
            fleet: Fleet::default(),
            manifest: Manifest {
                dir: dir.path().to_path_buf(),
                images,
            },
            dir,
            drivers: Drivers::load(None).unwrap(),
            inventory: Cells::default(),
            backups: None,
            gate: None,
        }
    }

    fn journal(&self) -> std::path::PathBuf {
        self.dir.path().join("plan.journal")
    }

    fn run_with(
        &self,
        waves: &[Wave],
        budget: Budget,
        windows: &dyn Windows,
        mode: WindowMode,
        soak: (i64, i64),
        confirm: &mut dyn FnMut(&WaveReport) -> bool,
    ) -> Outcome {
        let clock = FixedClock(jiff::Timestamp::now());
        self.run_clocked(waves, budget, windows, mode, soak, confirm, &clock)
    }

    #[allow(clippy::too_many_arguments)]
    fn run_clocked(
        &self,
        waves: &[Wave],
        budget: Budget,
        windows: &dyn Windows,
        mode: WindowMode,
        soak: (i64, i64),
        confirm: &mut dyn FnMut(&WaveReport) -> bool,
        clock: &(dyn crate::clock::Clock + Sync),
    ) -> Outcome {
        self.run_observed(waves, budget, windows, mode, soak, confirm, clock, &Quiet)
    }

    #[allow(clippy::too_many_arguments)]
    fn run_observed(
        &self,
        waves: &[Wave],
        budget: Budget,
        windows: &dyn Windows,
        mode: WindowMode,
        soak: (i64, i64),
        confirm: &mut dyn FnMut(&WaveReport) -> bool,
        clock: &(dyn crate::clock::Clock + Sync),
        observer: &dyn Observer,
    ) -> Outcome {
        let settings = Settings {
            parallel: 1,
            budget,
            wait: Wait {
                reboot: Duration::from_millis(300),
                install: Duration::from_secs(2),
                failover: Duration::from_millis(50),
                interval: Duration::from_millis(1),
                cancel: &NEVER,
            },
            images: self.dir.path().to_path_buf(),
            windows,
            mode,
            soak_minutes: soak,
            clock,
            inventory: Some(&self.inventory),
            backups: self.backups.as_ref(),
            gate: self.gate.as_ref().map(|g| g as &dyn Gate),
        };
        let journal = Mutex::new(Journal::open(&self.journal()).unwrap());
        run(
            waves,
            &self.drivers,
            &self.manifest,
            &self.fleet,
            &settings,
            &journal,
            confirm,
            observer,
        )
    }

    fn run(&self, waves: &[Wave], budget: Budget) -> Outcome {
        self.run_with(
            waves,
            budget,
            &PlannedWindows,
            WindowMode::Wait,
            (0, 0),
            &mut |_| true,
        )
    }

    fn journal_text(&self) -> String {
        std::fs::read_to_string(self.journal()).unwrap_or_default()
    }
}

fn names(v: &[(String, String)]) -> Vec<&str> {
    v.iter().map(|(g, _)| g.as_str()).collect()
}

#[test]
fn budget_as_a_count_tolerates_exactly_that_many_failures() {
    for (allowed, completed, failed, last_touched) in [
        (1, 2, vec!["b1", "b3"], false),
        (2, 3, vec!["b1", "b3"], true),
    ] {
        let bed = Bed::new();
        for n in ["c0", "b2", "b4"] {
            bed.fleet.add(n, "active", None, &[]);
        }
        for n in ["b1", "b3"] {
            bed.fleet.add(n, "active", None, &[Fault::InstallFails]);
        }
        let w = waves(
            vec![single("c0")],
            ["b1", "b2", "b3", "b4"].map(single).to_vec(),
        );
        let out = bed.run(&w, Budget::Count(allowed));
        assert_eq!(out.completed, completed, "allowed {allowed}: {out:?}");
        assert_eq!(names(&out.failed), failed, "allowed {allowed}");
        // The group after the failure that spends the budget never starts.
        assert_eq!(
            !bed.fleet.commands("b4").is_empty(),
            last_touched,
            "allowed {allowed}"
        );
        assert_eq!(
            out.stopped
                .as_deref()
                .is_some_and(|s| s.contains("exceed the budget")),
            !last_touched
        );
    }
}

#[test]
fn budget_as_a_share_rounds_down() {
    assert_eq!(Budget::Percent(25.0).allowed(10), 2);
    assert_eq!(Budget::Percent(20.0).allowed(9), 1);
    assert_eq!(Budget::Percent(0.0).allowed(50), 0);
    assert_eq!(Budget::Percent(100.0).allowed(7), 7);
    assert_eq!(Budget::Count(3).allowed(1), 3);
    assert_eq!("5%".parse::<Budget>(), Ok(Budget::Percent(5.0)));
    assert_eq!("2".parse::<Budget>(), Ok(Budget::Count(2)));
    assert!("101%".parse::<Budget>().is_err());
    assert!("-1".parse::<Budget>().is_err());
    // 5 groups at 40 %: two failures are tolerated, the third stops what follows.
    let bed = Bed::new();
    bed.fleet.add("c0", "active", None, &[]);
    for n in ["b1", "b2", "b3"] {
        bed.fleet.add(n, "active", None, &[Fault::InstallFails]);
    }
    bed.fleet.add("b4", "active", None, &[]);
    let w = waves(
        vec![single("c0")],
        ["b1", "b2", "b3", "b4"].map(single).to_vec(),
    );
    let out = bed.run(&w, Budget::Percent(40.0));
    assert_eq!(names(&out.failed), ["b1", "b2", "b3"]);
    assert!(bed.fleet.commands("b4").is_empty());
    assert!(
        out.stopped
            .unwrap()
            .contains("3 failed groups exceed the budget of 2")
    );
}

#[test]
fn a_failed_canary_stops_everything_whatever_the_budget() {
    let bed = Bed::new();
    bed.fleet.add("c0", "active", None, &[Fault::InstallFails]);
    bed.fleet.add("b1", "active", None, &[]);
    let out = bed.run(
        &waves(vec![single("c0")], vec![single("b1")]),
        Budget::Count(5),
    );
    assert_eq!(out.completed, 0);
    assert_eq!(
        out.stopped.as_deref(),
        Some("the canary failed: nothing else starts")
    );
    assert!(bed.fleet.commands("b1").is_empty());
}

#[test]
fn a_pair_goes_standby_first_and_ends_swapped_on_the_target() {
    let bed = Bed::new();
    bed.fleet.add("lb01", "active", Some("lb02"), &[]);
    bed.fleet.add("lb02", "standby", Some("lb01"), &[]);
    let w = waves(
        vec![],
        vec![pair("ha01", "lb01", "lb02", &["16.1.4", "17.1.1.3"])],
    );
    let out = bed.run(&w, Budget::Count(0));
    assert_eq!(out.completed, 1, "{out:?}");
    let events = bed.fleet.events();
    let at = |e: &str| {
        events
            .iter()
            .position(|x| x == e)
            .unwrap_or_else(|| panic!("{e} missing: {events:?}"))
    };
    // Both hops of the standby (into HD1.2, then HD1.1), the failover, then the former active.
    assert!(at("lb02 install HD1.2 16.1.4") < at("lb02 install HD1.1 17.1.1.3"));
    assert!(at("lb02 install HD1.1 17.1.1.3") < at("lb01 failover to lb02"));
    assert!(at("lb01 failover to lb02") < at("lb01 install HD1.2 16.1.4"));
    // Never both down: every down of one is followed by its up before the other goes down.
    let mut down = std::collections::HashSet::new();
    for e in &events {
        let (dev, what) = e.split_once(' ').unwrap();
        match what {
            "down" => {
                assert!(down.is_empty(), "{dev} down while {down:?}: {events:?}");
                down.insert(dev.to_string());
            }
            "up" => {
                down.remove(dev);
            }
            _ => {}
        }
    }
    // The peer carried the traffic at every reboot, by the devices' own account.
    assert!(
        !events.iter().any(|e| e.contains("was not serving")),
        "{events:?}"
    );
    // No reboot was ever refused: each waited for its install.
    assert!(
        !events.iter().any(|e| e.contains("reboot-refused")),
        "{events:?}"
    );
    let (a, b) = (bed.fleet.device("lb01"), bed.fleet.device("lb02"));
    assert_eq!((a.version(), a.role.as_str()), ("17.1.1.3", "standby"));
    assert_eq!((b.version(), b.role.as_str()), ("17.1.1.3", "active"));
}

#[test]
fn each_verified_step_is_written_back_to_the_inventory_and_journaled() {
    let bed = Bed::new();
    bed.fleet.add("lb01", "active", Some("lb02"), &[]);
    bed.fleet.add("lb02", "standby", Some("lb01"), &[]);
    let w = waves(
        vec![],
        vec![pair("ha01", "lb01", "lb02", &["16.1.4", "17.1.1.3"])],
    );
    let out = bed.run(&w, Budget::Count(0));
    assert_eq!(out.completed, 1, "{out:?}");
    // In step order: each hop once verified, both roles once the failover is.
    assert_eq!(
        *bed.inventory.calls.lock().unwrap(),
        [
            "lb02 version=16.1.4",
            "lb02 version=17.1.1.3",
            "lb02 ha_role=active",
            "lb01 ha_role=standby",
            "lb01 version=16.1.4",
            "lb01 version=17.1.1.3",
        ]
    );
    let text = bed.journal_text();
    assert_eq!(text.matches(" wrote ").count(), 6, "{text}");
    assert!(
        text.contains(" wrote device=lb01 field=version value=17.1.1.3 file=inv/devices.csv"),
        "{text}"
    );
    // A failed hop writes nothing.
    let bed = Bed::new();
    bed.fleet.add("s1", "active", None, &[Fault::InstallFails]);
    let out = bed.run(&waves(vec![], vec![single("s1")]), Budget::Count(0));
    assert_eq!(out.failed.len(), 1, "{out:?}");
    assert!(bed.inventory.calls.lock().unwrap().is_empty());
}

#[test]
fn a_failover_in_a_later_phase_writes_both_roles_and_a_resume_replays_them() {
    // The canary upgrades the standby alone; wave 1 fails over to it and upgrades the active.
    let bed = Bed::new();
    bed.fleet.add("lb01", "active", Some("lb02"), &[]);
    bed.fleet.add("lb02", "standby", Some("lb01"), &[]);
    let mut first = group(
        Some("ha01"),
        vec![device("lb02", "standby", &["16.1.4"])],
        vec![Step::Upgrade {
            device: "lb02".into(),
        }],
    );
    first.phase = Phase::Standby;
    let mut second = group(
        Some("ha01"),
        vec![device("lb01", "active", &["16.1.4"])],
        vec![
            Step::Failover {
                to: "lb02".into(),
                mgmt_host: "lb02.example:22".into(),
                from: None,
                from_mgmt_host: None,
            },
            Step::Upgrade {
                device: "lb01".into(),
            },
        ],
    );
    second.phase = Phase::Active;
    let w = waves(vec![first], vec![second]);
    let out = bed.run(&w, Budget::Count(0));
    assert_eq!(out.completed, 2, "{out:?}");
    let cells = |bed: &Bed| {
        ["lb01", "lb02"].map(|d| {
            (
                bed.inventory.get(d, "version").unwrap_or_default(),
                bed.inventory.get(d, "ha_role").unwrap_or_default(),
            )
        })
    };
    let want = [
        ("16.1.4".to_string(), "standby".to_string()),
        ("16.1.4".to_string(), "active".to_string()),
    ];
    assert_eq!(cells(&bed), want);
    // A stop after the steps and before any write-back (the journal has no `wrote` line):
    // the next run writes what the journal says, the failover of wave 1 included.
    let unwritten: String = bed
        .journal_text()
        .lines()
        .filter(|l| !l.contains(" wrote "))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(bed.journal(), unwritten).unwrap();
    bed.inventory.cells.lock().unwrap().clear();
    let out = bed.run(&w, Budget::Count(0));
    assert_eq!(out.completed, 2, "{out:?}");
    assert_eq!(cells(&bed), want);
    // Written cells are not written again: an operator's later correction stands.
    bed.inventory
        .cells
        .lock()
        .unwrap()
        .insert(("lb01".into(), "version".into()), "15.1.10".into());
    bed.inventory.calls.lock().unwrap().clear();
    let out = bed.run(&w, Budget::Count(0));
    assert_eq!(out.completed, 2, "{out:?}");
    assert!(bed.inventory.calls.lock().unwrap().is_empty());
    assert_eq!(
        bed.inventory.get("lb01", "version").as_deref(),
        Some("15.1.10")
    );
}

#[test]
fn only_finished_steps_count_as_what_the_inventory_should_say() {
    let dir = tempfile::tempdir().unwrap();
    let mut j = Journal::open(&dir.path().join("j")).unwrap();
    let hop = |d: &'static str| {
        [
            ("wave", "0"),
            ("group", d),
            ("step", "hop"),
            ("device", d),
            ("to", "16.1.4"),
        ]
    };
    // s1: started and failed, never upgraded; s2: upgraded; s3: found already upgraded.
    j.record(Event::Start, &hop("s1")).unwrap();
    j.record(Event::Fail, &hop("s1")).unwrap();
    j.record(Event::Start, &hop("s2")).unwrap();
    j.record(Event::Done, &hop("s2")).unwrap();
    j.record(Event::Interrupted, &hop("s4")).unwrap();
    j.record(Event::Skip, &hop("s3")).unwrap();
    let failover = [
        ("wave", "1"),
        ("group", "ha01"),
        ("step", "failover"),
        ("to", "lb02"),
    ];
    j.record(Event::Start, &failover).unwrap();
    let g = pair("ha01", "lb01", "lb02", &["16.1.4"]);
    assert_eq!(
        journaled_cells(&[(1, &g)], &j.entries),
        [
            (("s2".to_string(), "version"), "16.1.4".to_string()),
            (("s3".to_string(), "version"), "16.1.4".to_string()),
        ]
    );
    // Once the failover is done, both units' roles; a failover of another wave is not this one.
    j.record(Event::Done, &failover).unwrap();
    let cells = journaled_cells(&[(1, &g)], &j.entries);
    assert_eq!(cells.len(), 4, "{cells:?}");
    assert!(cells.contains(&(("lb02".to_string(), "ha_role"), "active".to_string())));
    assert!(cells.contains(&(("lb01".to_string(), "ha_role"), "standby".to_string())));
    // Its group not known (another wave's): left out, not half written.
    assert_eq!(journaled_cells(&[(0, &g)], &j.entries).len(), 2);
    assert_eq!(journaled_cells(&[], &j.entries).len(), 2);
}

#[test]
fn a_write_back_that_failed_after_the_device_changed_is_repaired_on_resume() {
    let bed = Bed::new();
    bed.fleet.add("s1", "active", None, &[]);
    bed.fleet.add("s2", "active", None, &[]);
    let w = waves(vec![single("s1")], vec![single("s2")]);
    bed.inventory
        .fail
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let out = bed.run(&w, Budget::Count(0));
    // The device was upgraded; the group fails saying the inventory does not know it yet.
    assert_eq!(out.failed.len(), 1, "{out:?}");
    assert_eq!(bed.fleet.device("s1").version(), "16.1.4", "{out:?}");
    assert!(
        out.failed[0]
            .1
            .contains("16.1.4 on the device, but the inventory could not say so"),
        "{out:?}"
    );
    assert!(
        bed.fleet.commands("s2").is_empty(),
        "the failed canary stops the rest"
    );
    bed.inventory
        .fail
        .store(false, std::sync::atomic::Ordering::SeqCst);
    bed.inventory.calls.lock().unwrap().clear();
    let installs = |n: &str| {
        bed.fleet
            .commands(n)
            .iter()
            .filter(|c| c.contains("install"))
            .count()
    };
    let before = installs("s1");
    let out = bed.run(&w, Budget::Count(0));
    assert_eq!(out.completed, 2, "{out:?}");
    // The resume first writes what the journal says was done, then goes on; s1 is not
    // installed again.
    let calls = bed.inventory.calls.lock().unwrap().clone();
    assert_eq!(calls, ["s1 version=16.1.4", "s2 version=16.1.4"]);
    assert_eq!(installs("s1"), before);
    assert_eq!(
        bed.inventory.get("s1", "version").as_deref(),
        Some("16.1.4")
    );
    assert!(
        bed.journal_text()
            .contains(" wrote device=s1 field=version value=16.1.4"),
        "{}",
        bed.journal_text()
    );
}

#[test]
fn a_failover_is_refused_when_the_unit_giving_up_traffic_is_not_ready() {
    let bed = Bed::new();
    bed.fleet
        .add("lb01", "active", Some("lb02"), &[Fault::OutOfSync]);
    bed.fleet.add("lb02", "standby", Some("lb01"), &[]);
    let w = waves(vec![], vec![pair("ha01", "lb01", "lb02", &["16.1.4"])]);
    let out = bed.run(&w, Budget::Count(0));
    let (_, why) = &out.failed[0];
    assert!(
        why.contains("refused, nothing changed: lb01: sync: \"Changes Pending\", not in sync"),
        "{why}"
    );
    assert!(!bed.fleet.events().iter().any(|e| e.contains("failover")));
    assert_eq!(bed.fleet.device("lb01").version(), "15.1.10");
    assert_eq!(bed.fleet.device("lb01").role, "active");
    // The unit taking traffic is checked too: a standby that already reports active is not
    // a standby to fail over to.
    let bed = Bed::new();
    bed.fleet.add("lb01", "active", Some("lb02"), &[]);
    bed.fleet
        .add("lb02", "standby", Some("lb01"), &[Fault::OutOfSync]);
    let w = waves(
        vec![],
        vec![group(
            Some("ha01"),
            vec![device("lb01", "active", &["16.1.4"])],
            vec![Step::Failover {
                to: "lb02".into(),
                mgmt_host: "lb02.example:22".into(),
                from: None,
                from_mgmt_host: None,
            }],
        )],
    );
    let out = bed.run(&w, Budget::Count(0));
    let (_, why) = &out.failed[0];
    assert!(why.contains("lb02: sync: \"Changes Pending\""), "{why}");
}

#[test]
fn a_failover_whose_roles_do_not_swap_fails_with_what_both_units_say() {
    let bed = Bed::new();
    bed.fleet
        .add("lb01", "active", Some("lb02"), &[Fault::FailoverIgnored]);
    bed.fleet.add("lb02", "standby", Some("lb01"), &[]);
    let w = waves(vec![], vec![pair("ha01", "lb01", "lb02", &["16.1.4"])]);
    let out = bed.run(&w, Budget::Count(0));
    let (_, why) = &out.failed[0];
    assert!(why.contains("the roles did not swap"), "{why}");
    assert!(why.contains("lb02: is standby, expected active"), "{why}");
    // The former active was never upgraded.
    assert_eq!(bed.fleet.device("lb01").version(), "15.1.10");
}

#[test]
fn resume_after_each_fault_finishes_and_repeats_no_finished_step() {
    for (who, fault) in [
        ("lb02", Fault::InstallFails),
        ("lb02", Fault::NeverReturns),
        ("lb02", Fault::WrongVersion),
        ("lb01", Fault::FailoverFails),
        ("lb01", Fault::OutOfSync),
        ("lb01", Fault::Unreachable),
    ] {
        let bed = Bed::new();
        let f = |n: &str| if n == who { vec![fault] } else { vec![] };
        bed.fleet.add("lb01", "active", Some("lb02"), &f("lb01"));
        bed.fleet.add("lb02", "standby", Some("lb01"), &f("lb02"));
        bed.fleet.add("c0", "active", None, &[]);
        let w = waves(
            vec![single("c0")],
            vec![pair("ha01", "lb01", "lb02", &["16.1.4", "17.1.1.3"])],
        );
        let first = bed.run(&w, Budget::Count(0));
        assert_eq!(first.failed.len(), 1, "{fault:?}: {first:?}");
        let before = bed.journal_text();
        // Every started step ended: failed or done, never left open.
        assert_eq!(
            before.matches(" start ").count(),
            before.matches(" done ").count() + before.matches(" fail ").count(),
            "{fault:?}:\n{before}"
        );
        bed.fleet.fix(who);
        let second = bed.run(&w, Budget::Count(0));
        assert_eq!(second.failed, vec![], "{fault:?}");
        assert_eq!(second.completed, 2, "{fault:?}");
        let after = bed.journal_text();
        for line in before.lines().filter(|l| l.contains(" done ")) {
            let key = line.split_once(" done ").unwrap().1;
            // The step's identity, without what it reported (the volumes it booted).
            let key = key.split(" booted_before=").next().unwrap();
            assert_eq!(
                after.matches(&format!("start {key}")).count(),
                1,
                "{fault:?}: {key} started again:\n{after}"
            );
        }
        let (a, b) = (bed.fleet.device("lb01"), bed.fleet.device("lb02"));
        assert_eq!(
            (a.version(), a.role.as_str()),
            ("17.1.1.3", "standby"),
            "{fault:?}"
        );
        assert_eq!(
            (b.version(), b.role.as_str()),
            ("17.1.1.3", "active"),
            "{fault:?}"
        );
        assert_eq!(bed.fleet.device("c0").version(), "16.1.4");
        // Each hop installed once on each unit, whatever was repeated around it (a failed
        // install is installed again).
        for d in ["lb01", "lb02"] {
            let again = usize::from(fault == Fault::InstallFails && d == who);
            let installs = bed
                .fleet
                .events()
                .iter()
                .filter(|e| e.starts_with(&format!("{d} install")))
                .count();
            assert_eq!(
                installs,
                2 + again,
                "{fault:?} {d}: {:?}",
                bed.fleet.events()
            );
        }
    }
}

#[test]
fn a_step_left_unfinished_by_a_kill_waits_for_its_rebooting_device() {
    let bed = Bed::new();
    bed.fleet.add("c0", "active", None, &[]);
    bed.fleet.add("b1", "active", None, &[]);
    // A run killed while c0 rebooted: its hop started and never ended; another step finished
    // after it. The device is still down for a few attempts.
    std::fs::write(
        bed.journal(),
        "2026-11-29T10:00:00Z start wave=0 group=c0 step=hop device=c0 to=16.1.4\n\
         2026-11-29T10:00:05Z done wave=9 group=x step=hop device=x to=16.1.4\n",
    )
    .unwrap();
    bed.fleet.hold_down("c0", 5);
    let w = waves(vec![single("c0")], vec![single("b1")]);
    let out = bed.run(&w, Budget::Count(0));
    assert_eq!(out.completed, 2, "{out:?}");
    assert_eq!(bed.fleet.device("c0").version(), "16.1.4");
    // A device unreachable at the start of a fresh step is an error at once, not a wait.
    let bed = Bed::new();
    bed.fleet.add("c0", "active", None, &[Fault::Unreachable]);
    let out = bed.run(&waves(vec![single("c0")], vec![]), Budget::Count(0));
    assert!(
        out.failed[0]
            .1
            .contains("cannot connect: Connection refused"),
        "{out:?}"
    );
}

#[test]
fn a_declined_wave_changes_nothing() {
    let bed = Bed::new();
    for n in ["c0", "b1", "b2"] {
        bed.fleet.add(n, "active", None, &[]);
    }
    let mut w = waves(vec![single("c0")], vec![single("b1")]);
    w.push(Wave {
        index: 2,
        kind: WaveKind::Wave,
        not_before: String::new(),
        groups: vec![single("b2")],
    });
    // Yes after the canary, no after wave 1.
    let mut asked = Vec::new();
    let out = bed.run_with(
        &w,
        Budget::Count(0),
        &PlannedWindows,
        WindowMode::Wait,
        (0, 0),
        &mut |r| {
            asked.push((r.index, r.completed));
            r.index == 0
        },
    );
    assert_eq!(asked, [(0, 1), (1, 1)]);
    assert_eq!(bed.fleet.device("b1").version(), "16.1.4");
    assert!(bed.fleet.commands("b2").is_empty());
    assert_eq!(
        out.stopped.as_deref(),
        Some("stopped before wave 2 at the operator's answer")
    );
}

/// Groups whose window opens in a day.
fn later(mut g: Group) -> Group {
    let now = jiff::Timestamp::now();
    g.window_start = (now + jiff::SignedDuration::from_hours(24)).to_string();
    g.window_end = (now + jiff::SignedDuration::from_hours(28)).to_string();
    g
}

#[test]
fn due_leaves_a_group_outside_its_window_untouched_and_ignore_runs_it() {
    let bed = Bed::new();
    bed.fleet.add("c0", "active", None, &[]);
    bed.fleet.add("b1", "active", None, &[]);
    let w = waves(vec![single("c0")], vec![later(single("b1"))]);
    let out = bed.run_with(
        &w,
        Budget::Count(0),
        &PlannedWindows,
        WindowMode::Due,
        (0, 0),
        &mut |_| true,
    );
    assert_eq!(out.completed, 1);
    assert_eq!(names(&out.waiting), ["b1"]);
    assert!(out.waiting[0].1.contains("its window at "), "{out:?}");
    assert!(out.failed.is_empty() && out.stopped.is_none(), "{out:?}");
    assert!(bed.fleet.commands("b1").is_empty());
    // Run again with the override: it runs; the canary, finished, is not run again.
    let c0 = bed.fleet.commands("c0").len();
    let out = bed.run_with(
        &w,
        Budget::Count(0),
        &PlannedWindows,
        WindowMode::Ignore,
        (0, 0),
        &mut |_| true,
    );
    assert_eq!(out.completed, 2, "{out:?}");
    assert_eq!(bed.fleet.device("b1").version(), "16.1.4");
    assert_eq!(bed.fleet.commands("c0").len(), c0);
}

#[test]
fn a_wave_waiting_for_its_window_holds_every_later_wave() {
    let bed = Bed::new();
    bed.fleet.add("c0", "active", None, &[]);
    bed.fleet.add("b1", "active", None, &[]);
    let w = waves(vec![later(single("c0"))], vec![single("b1")]);
    let out = bed.run_with(
        &w,
        Budget::Count(0),
        &PlannedWindows,
        WindowMode::Due,
        (0, 0),
        &mut |_| true,
    );
    assert_eq!(names(&out.waiting), ["c0"]);
    assert_eq!(out.completed, 0);
    assert!(bed.fleet.commands("b1").is_empty());
}

#[test]
fn a_window_too_short_or_closed_is_a_failure_not_a_change() {
    let bed = Bed::new();
    bed.fleet.add("c0", "active", None, &[]);
    let mut g = single("c0");
    let now = jiff::Timestamp::now();
    g.window_start = (now - jiff::SignedDuration::from_hours(2)).to_string();
    // 59 minutes left for 60 minutes of work.
    g.window_end = (now + jiff::SignedDuration::from_mins(59)).to_string();
    let out = bed.run_with(
        &waves(vec![g], vec![]),
        Budget::Count(0),
        &PlannedWindows,
        WindowMode::Wait,
        (0, 0),
        &mut |_| true,
    );
    assert!(
        out.failed[0].1.contains("has no room for its 60 minutes"),
        "{out:?}"
    );
    assert!(bed.fleet.commands("c0").is_empty());
}

fn gate_notes(bed: &Bed) -> Vec<String> {
    std::fs::read_to_string(bed.journal())
        .unwrap()
        .lines()
        .filter(|l| l.contains("what=gate"))
        .map(|l| l.split_once(' ').unwrap().1.to_string())
        .collect()
}

fn gated(says: &[GateCheck]) -> (Bed, Vec<Wave>) {
    let mut bed = Bed::new();
    bed.fleet.add("c0", "active", None, &[]);
    bed.fleet.add("b1", "active", None, &[]);
    bed.gate = Some(Scripted::new(says));
    (bed, waves(vec![single("c0")], vec![single("b1")]))
}

fn due(bed: &Bed, w: &[Wave], soak: (i64, i64)) -> Outcome {
    bed.run_with(
        w,
        Budget::Count(0),
        &PlannedWindows,
        WindowMode::Due,
        soak,
        &mut |_| true,
    )
}

#[test]
fn a_gate_that_waits_holds_the_wave_after_the_canary_until_it_opens_once_for_all() {
    use GateCheck::*;
    let (bed, w) = gated(&[
        Wait("2.5 more days".into()),
        Wait("2.5 more days".into()),
        Wait("1 more day".into()),
        Open("i5800 on 16.1.4: fixed".into()),
        Stop("never asked again".into()),
    ]);
    // The canary runs; the gate waits: with --due the run ends, waiting, and wave 1 is untouched.
    let out = due(&bed, &w, (0, 0));
    assert_eq!(
        (out.completed, out.stopped.as_deref()),
        (1, None),
        "{out:?}"
    );
    assert_eq!(
        out.waiting,
        [(
            "wave 1".to_string(),
            "waiting for verdict (leak-fixed): 2.5 more days".to_string()
        )]
    );
    assert_eq!(bed.fleet.device("c0").version(), "16.1.4");
    assert!(bed.fleet.commands("b1").is_empty());
    // Asked after the canary's steps were journaled.
    let asked = bed.gate.as_ref().unwrap().asked.lock().unwrap()[0];
    assert!(asked >= 2, "{asked}");
    // Waiting again is not journaled again, whatever its details (they move with every
    // reading).
    due(&bed, &w, (0, 0));
    let out = due(&bed, &w, (0, 0));
    assert_eq!(
        out.waiting[0].1,
        "waiting for verdict (leak-fixed): 1 more day"
    );
    assert_eq!(
        gate_notes(&bed),
        ["note what=gate gate=leak-fixed wave=1 verdict=wait detail=\"2.5 more days\""]
    );
    assert!(bed.fleet.commands("b1").is_empty());
    // Open: wave 1 runs, and the opening is journaled.
    let out = due(&bed, &w, (0, 0));
    assert_eq!((out.completed, out.waiting.len()), (2, 0), "{out:?}");
    assert_eq!(bed.fleet.device("b1").version(), "16.1.4");
    assert_eq!(
        gate_notes(&bed).last().unwrap(),
        "note what=gate gate=leak-fixed wave=1 verdict=open detail=\"i5800 on 16.1.4: fixed\""
    );
    // Once open, never asked again (the rest of the fleet goes on whatever comes later).
    let asked = bed.gate.as_ref().unwrap().asked();
    let out = due(&bed, &w, (0, 0));
    assert!(out.stopped.is_none(), "{out:?}");
    assert_eq!(bed.gate.as_ref().unwrap().asked(), asked);
}

#[test]
fn a_gate_that_says_stop_ends_the_rollout_with_its_evidence() {
    let (bed, w) = gated(&[GateCheck::Stop("c0: not-fixed: still leaks".into())]);
    let out = due(&bed, &w, (0, 0));
    assert_eq!(
        out.stopped.as_deref(),
        Some(
            "the gate leak-fixed holds wave 1 and everything after it: c0: not-fixed: still leaks \
             (--accept-verdict goes on anyway; `lbfleet rollback` takes the canary back)"
        )
    );
    assert_eq!(out.completed, 1);
    assert!(bed.fleet.commands("b1").is_empty());
    assert_eq!(gate_notes(&bed).len(), 1);
    assert!(gate_notes(&bed)[0].contains("verdict=stop"));
    // The run report says so in a section of its own, not among the overrides.
    let md = report::markdown(&plan_of(w.clone()), "plan.json", &bed.entries());
    let section = md
        .split("## Gate after the canary\n\n")
        .nth(1)
        .expect("a gate section");
    assert!(
        section.starts_with("- 20")
            && section.contains("Z gate leak-fixed: stop: c0: not-fixed: still leaks\n"),
        "{md}"
    );
    assert!(!md.contains("## Overrides"), "{md}");
    assert!(journal::notes(&bed.entries()).is_empty());
    // A stop holds: a later run does not ask again, and says since when.
    let out = due(&bed, &w, (0, 0));
    assert_eq!(bed.gate.as_ref().unwrap().asked(), 1);
    let why = out.stopped.unwrap();
    assert!(
        why.starts_with("the gate leak-fixed stopped the rollout at 20")
            && why.contains("and holds wave 1 and everything after it: c0: not-fixed: still leaks"),
        "{why}"
    );
    assert!(bed.fleet.commands("b1").is_empty());
    // ... unless the operator accepts: then the gate is asked, and its word goes.
    let mut bed = bed;
    bed.gate = Some(Scripted::accepting(&[GateCheck::Open("accepted".into())]));
    let out = due(&bed, &w, (0, 0));
    assert_eq!(out.completed, 2, "{out:?}");
    assert!(gate_notes(&bed).last().unwrap().contains("verdict=open"));
}

#[test]
fn a_gate_that_cannot_read_its_data_ends_the_run_without_a_verdict() {
    let (bed, w) = gated(&[GateCheck::Error(
        "cannot read the telemetry: refused".into(),
    )]);
    let out = due(&bed, &w, (0, 0));
    assert_eq!(
        out.stopped.as_deref(),
        Some("the gate leak-fixed could not be asked: cannot read the telemetry: refused")
    );
    assert!(gate_notes(&bed).is_empty());
    assert!(bed.fleet.commands("b1").is_empty());
    // Not sticky: the next run asks again.
    due(&bed, &w, (0, 0));
    assert_eq!(bed.gate.as_ref().unwrap().asked(), 2);
}

#[test]
fn without_due_a_waiting_gate_is_asked_again_until_it_opens() {
    use GateCheck::*;
    let (bed, w) = gated(&[Wait("a".into()), Wait("b".into()), Open("fixed".into())]);
    let clock = FixedClock("2026-11-30T10:00:00Z".parse().unwrap());
    let waits = Waits::default();
    let out = bed.run_observed(
        &w,
        Budget::Count(0),
        &PlannedWindows,
        WindowMode::Wait,
        (0, 0),
        &mut |_| true,
        &clock,
        &waits,
    );
    assert_eq!(out.completed, 2, "{out:?}");
    assert_eq!(bed.gate.as_ref().unwrap().asked(), 3);
    // Each wait is shown with when the gate is asked again (the scripted gate's 1 ms).
    assert_eq!(
        waits.0.into_inner().unwrap(),
        [
            "wave 1 2026-11-30T10:00:00.001Z the verdict of leak-fixed (a)",
            "wave 1 2026-11-30T10:00:00.001Z the verdict of leak-fixed (b)"
        ]
    );
}

#[test]
fn a_gate_is_asked_when_the_canary_s_soak_ends_on_the_minute_or_after_a_countdown() {
    let canary_done = "2026-01-01T10:00:00Z start wave=0 group=c0 step=hop device=c0 to=16.1.4\n\
                       2026-01-01T10:05:00Z done wave=0 group=c0 step=hop device=c0 to=16.1.4\n";
    // --due at the soak's last second: waiting; at its end: the gate is asked, wave 1 runs.
    for (now, asked) in [("2026-01-01T10:34:59Z", 0), ("2026-01-01T10:35:00Z", 1)] {
        let (bed, w) = gated(&[GateCheck::Open("fixed".into())]);
        std::fs::write(bed.journal(), canary_done).unwrap();
        let clock = FixedClock(now.parse().unwrap());
        let out = bed.run_clocked(
            &w,
            Budget::Count(0),
            &PlannedWindows,
            WindowMode::Due,
            (30, 0),
            &mut |_| true,
            &clock,
        );
        assert_eq!(bed.gate.as_ref().unwrap().asked(), asked, "{now}: {out:?}");
        assert_eq!(out.completed, 1 + asked, "{now}: {out:?}");
    }
    // Without --due: a countdown to the soak's end, then the gate (ten minutes pass at every
    // look at the clock).
    // The clock is read at 10:05 (is the soak over?), 10:15 (still?), 10:25 (how long?), then
    // 10:35: over, on the minute: one wait, then the gate.
    let (bed, w) = gated(&[GateCheck::Open("fixed".into())]);
    std::fs::write(bed.journal(), canary_done).unwrap();
    let clock = Stepping {
        now: Mutex::new("2026-01-01T10:05:00Z".parse().unwrap()),
        step: jiff::SignedDuration::from_mins(10),
    };
    let waits = Waits::default();
    let out = bed.run_observed(
        &w,
        Budget::Count(0),
        &PlannedWindows,
        WindowMode::Wait,
        (30, 0),
        &mut |_| true,
        &clock,
        &waits,
    );
    assert_eq!(out.completed, 2, "{out:?}");
    assert_eq!(bed.gate.as_ref().unwrap().asked(), 1);
    assert_eq!(
        waits.0.into_inner().unwrap(),
        ["wave 1 2026-01-01T10:35:00Z the 30-minute soak after wave 0"]
    );
}

/// Hears the waits.
#[derive(Default)]
struct Waits(Mutex<Vec<String>>);

impl Observer for Waits {
    fn on(&self, p: Progress<'_>) {
        if let Progress::Waiting { group, until, what } = p {
            self.0
                .lock()
                .unwrap()
                .push(format!("{group} {until} {what}"));
        }
    }
}

#[test]
fn a_gate_asks_again_every_ten_minutes_and_journals_only_what_changed() {
    struct Plain;
    impl Gate for Plain {
        fn name(&self) -> String {
            "g".into()
        }
        fn check(&self, _: &[journal::Entry]) -> GateCheck {
            GateCheck::Open(String::new())
        }
    }
    assert_eq!(Plain.recheck(), Duration::from_secs(600));
    // By default a gate takes its own word, and is journaled without settings.
    assert!(!Plain.accepting());
    assert_eq!(Plain.settings(), "");
    // Another gate's stop (a plan gated otherwise before) does not hold this one.
    let (bed, w) = gated(&[GateCheck::Open("fixed".into())]);
    std::fs::write(
        bed.journal(),
        "2026-01-01T10:00:00Z start wave=0 group=c0 step=hop device=c0 to=16.1.4\n\
         2026-01-01T10:05:00Z done wave=0 group=c0 step=hop device=c0 to=16.1.4\n\
         2026-01-01T10:06:00Z note what=gate gate=leak-fixed:ID1 wave=1 verdict=stop detail=x\n",
    )
    .unwrap();
    let out = due(&bed, &w, (0, 0));
    assert_eq!(out.completed, 2, "{out:?}");
    assert_eq!(bed.gate.as_ref().unwrap().asked(), 1);
    // Another note after the gate's does not make the same answer new.
    let (bed, w) = gated(&[GateCheck::Wait("2 more days".into())]);
    due(&bed, &w, (0, 0));
    let mut j = Journal::open(&bed.journal()).unwrap();
    j.record(Event::Note, &[("what", "force"), ("detail", "x")])
        .unwrap();
    drop(j);
    due(&bed, &w, (0, 0));
    assert_eq!(gate_notes(&bed).len(), 1, "{:?}", gate_notes(&bed));
}

#[test]
fn a_gate_is_asked_only_after_a_canary_that_finished_and_its_soak() {
    // A failed canary: the rollout stops without asking.
    let mut bed = Bed::new();
    bed.fleet.add("c0", "active", None, &[Fault::InstallFails]);
    bed.fleet.add("b1", "active", None, &[]);
    bed.gate = Some(Scripted::new(&[GateCheck::Open("fixed".into())]));
    let w = waves(vec![single("c0")], vec![single("b1")]);
    let out = due(&bed, &w, (0, 0));
    assert!(out.stopped.is_some());
    assert_eq!(bed.gate.as_ref().unwrap().asked(), 0);
    // The soak first: waiting for it, the gate is not asked yet.
    let (bed, w) = gated(&[GateCheck::Open("fixed".into())]);
    let out = due(&bed, &w, (30, 0));
    assert_eq!(bed.gate.as_ref().unwrap().asked(), 0);
    assert_eq!(out.waiting.len(), 1, "{out:?}");
    assert!(
        out.waiting[0]
            .1
            .starts_with("the 30-minute soak after wave 0: ends at "),
        "{out:?}"
    );
    // --ignore-windows skips the soak, not the gate.
    let out = bed.run_with(
        &w,
        Budget::Count(0),
        &PlannedWindows,
        WindowMode::Ignore,
        (30, 0),
        &mut |_| true,
    );
    assert_eq!(out.completed, 2, "{out:?}");
    assert_eq!(bed.gate.as_ref().unwrap().asked(), 1);
    // A plan without a canary has no gate to pass.
    let (bed, mut w) = gated(&[GateCheck::Stop("no".into())]);
    w[0].kind = WaveKind::Wave;
    let out = due(&bed, &w, (0, 0));
    assert_eq!(out.completed, 2, "{out:?}");
    assert_eq!(bed.gate.as_ref().unwrap().asked(), 0);
}

#[test]
fn the_wave_after_the_canary_waits_for_the_soak_and_a_finished_group_never_waits() {
    let bed = Bed::new();
    bed.fleet.add("c0", "active", None, &[]);
    bed.fleet.add("b1", "active", None, &[]);
    let w = waves(vec![single("c0")], vec![single("b1")]);
    let out = bed.run_with(
        &w,
        Budget::Count(0),
        &PlannedWindows,
        WindowMode::Due,
        (30, 0),
        &mut |_| true,
    );
    assert_eq!(out.completed, 1);
    assert!(
        out.waiting[0].1.contains("the 30-minute soak after wave 0"),
        "{out:?}"
    );
    assert!(bed.fleet.commands("b1").is_empty());
    // A soak that has passed holds nothing: the canary finished long ago.
    let earlier = Bed::new();
    earlier.fleet.add("c0", "active", None, &[]);
    earlier.fleet.add("b1", "active", None, &[]);
    std::fs::write(
        earlier.journal(),
        "2026-01-01T10:00:00Z start wave=0 group=c0 step=hop device=c0 to=16.1.4\n\
         2026-01-01T10:05:00Z done wave=0 group=c0 step=hop device=c0 to=16.1.4\n",
    )
    .unwrap();
    let out = earlier.run_with(
        &w,
        Budget::Count(0),
        &PlannedWindows,
        WindowMode::Due,
        (30, 0),
        &mut |_| true,
    );
    assert_eq!(out.completed, 2, "{out:?}");
    assert_eq!(earlier.fleet.device("b1").version(), "16.1.4");
    // Without a soak after the canary nothing holds wave 1; c0, done, does not wait for a
    // window that has since closed.
    let mut w = w;
    w[0].groups[0].window_end = "2026-01-01T01:00:00Z".into();
    let out = bed.run_with(
        &w,
        Budget::Count(0),
        &PlannedWindows,
        WindowMode::Due,
        (0, 0),
        &mut |_| true,
    );
    assert_eq!(out.completed, 2, "{out:?}");
}

#[test]
fn pending_lists_only_what_the_journal_has_not_finished() {
    let bed = Bed::new();
    bed.fleet.add("lb01", "active", Some("lb02"), &[]);
    bed.fleet
        .add("lb02", "standby", Some("lb01"), &[Fault::InstallFails]);
    let w = waves(
        vec![],
        vec![pair("ha01", "lb01", "lb02", &["16.1.4", "17.1.1.3"])],
    );
    let entries = Journal::read(&bed.journal()).unwrap_or_default();
    let all = pending(&w[1], &entries);
    assert_eq!(all.len(), 1);
    assert!(
        all[0].contains("upgrade lb02 (lb02.example:22) 15.1.10 -> 16.1.4, then upgrade lb02 (lb02.example:22) 16.1.4 -> 17.1.1.3, then fail over to lb02, then upgrade lb01"),
        "{all:?}"
    );
    bed.run(&w, Budget::Count(0));
    bed.fleet.fix("lb02");
    let entries = Journal::read(&bed.journal()).unwrap();
    // The first hop failed: it is still pending.
    assert!(pending(&w[1], &entries)[0].starts_with("ha01 at LAB"));
    bed.run(&w, Budget::Count(0));
    let entries = Journal::read(&bed.journal()).unwrap();
    assert!(pending(&w[1], &entries).is_empty());
    assert!(pending(&w[0], &entries).is_empty());
    // A reboot step, before and after.
    let bed = Bed::new();
    bed.fleet.add("c0", "active", None, &[]);
    let w = waves(vec![reboot_group("c0")], vec![]);
    assert!(
        pending(&w[0], &[])[0].ends_with("): reboot c0"),
        "{:?}",
        pending(&w[0], &[])
    );
    bed.run(&w, Budget::Count(0));
    assert!(pending(&w[0], &Journal::read(&bed.journal()).unwrap()).is_empty());
}

#[test]
fn a_dry_run_shows_volumes_as_they_will_be_chosen_and_changes_nothing() {
    let bed = Bed::new();
    bed.fleet.add("lb02", "standby", Some("lb01"), &[]);
    let d = device("lb02", "standby", &["16.1.4", "17.1.1.3"]);
    let (checks, commands) = dry_run_device(
        &bed.drivers,
        &bed.fleet,
        &bed.manifest,
        bed.dir.path(),
        &d,
        None,
        None,
    )
    .unwrap();
    assert!(
        checks.iter().all(|c| c.status != device::Status::Fail),
        "{checks:?}"
    );
    let installs: Vec<&String> = commands
        .iter()
        .filter(|c| c.starts_with("tmsh install"))
        .collect();
    assert_eq!(
        installs,
        [
            "tmsh install sys software image BIGIP-16.1.4-0.0.1.iso volume HD1.2 create-volume",
            "tmsh install sys software image BIGIP-17.1.1.3-0.0.1.iso volume HD1.1 create-volume"
        ]
    );
    assert!(commands.contains(&"tmsh reboot volume HD1.1".to_string()));
    // The second install goes over HD1.1, where 15.1.10 is: said before it.
    let note = commands
        .iter()
        .position(|c| c.starts_with("# HD1.1 holds 15.1.10, the release to go back to"))
        .unwrap_or_else(|| panic!("{commands:#?}"));
    let second = commands
        .iter()
        .position(|c| c.contains("BIGIP-17.1.1.3-0.0.1.iso volume HD1.1"))
        .unwrap();
    let first = commands
        .iter()
        .position(|c| c.contains("BIGIP-16.1.4-0.0.1.iso volume HD1.2"))
        .unwrap();
    assert!(first < note && note < second, "{commands:#?}");
    assert_eq!(
        commands
            .iter()
            .filter(|c| c.contains("the release to go back to"))
            .count(),
        1
    );
    // With the journal's volume to keep (a resumed rollout on HD1.2 now) and a backup to take:
    // the backup's commands first, and the second hop keeps HD1.2's neighbour as told.
    let backups = Backups {
        dir: "/srv/b".into(),
        tag: "plan".into(),
    };
    let (_, commands) = dry_run_device(
        &bed.drivers,
        &bed.fleet,
        &bed.manifest,
        bed.dir.path(),
        &d,
        Some("HD1.2"),
        Some(&backups),
    )
    .unwrap();
    assert_eq!(
        &commands[..5],
        [
            "# before the first change, the configuration backup:",
            "tmsh save sys config",
            "tmsh save sys ucs lbfleet-plan-lb02.ucs",
            "# copy /var/local/ucs/lbfleet-plan-lb02.ucs to /srv/b/lb02/ over SFTP, then check its size and SHA-256 against:",
            "sha256sum /var/local/ucs/lbfleet-plan-lb02.ucs"
        ]
    );
    // HD1.2 is the one kept: the first hop must go over it (the only inactive volume), and
    // says so; the second goes to HD1.1.
    assert!(
        commands
            .iter()
            .any(|c| c.starts_with("# HD1.2 holds 15.1.10")),
        "{commands:#?}"
    );
    let sent = bed.fleet.commands("lb02");
    assert!(
        sent.iter()
            .all(|c| !c.starts_with("tmsh install") && !c.starts_with("tmsh reboot")),
        "{sent:?}"
    );
    // An image file whose size is not the manifest's is a failed gate.
    std::fs::write(
        bed.dir.path().join("BIGIP-16.1.4-0.0.1.iso"),
        b"16.1.4 and more",
    )
    .unwrap();
    let (checks, _) = dry_run_device(
        &bed.drivers,
        &bed.fleet,
        &bed.manifest,
        bed.dir.path(),
        &d,
        None,
        None,
    )
    .unwrap();
    let image = checks.iter().find(|c| c.name == "image").unwrap();
    assert_eq!(image.status, device::Status::Fail, "{checks:?}");
    assert!(
        image.detail.ends_with("is 15 bytes, the manifest says 6"),
        "{image:?}"
    );
    // A missing image file is a failed gate.
    std::fs::remove_file(bed.dir.path().join("BIGIP-17.1.1.3-0.0.1.iso")).unwrap();
    let (checks, _) = dry_run_device(
        &bed.drivers,
        &bed.fleet,
        &bed.manifest,
        bed.dir.path(),
        &d,
        None,
        None,
    )
    .unwrap();
    assert!(
        checks
            .iter()
            .any(|c| c.name == "image" && c.status == device::Status::Fail),
        "{checks:?}"
    );
}

/// A clock that moves `step` on at every reading.
struct Stepping {
    now: Mutex<jiff::Timestamp>,
    step: jiff::SignedDuration,
}

impl crate::clock::Clock for Stepping {
    fn now(&self) -> jiff::Timestamp {
        let mut t = self.now.lock().unwrap();
        let now = *t;
        *t = now + self.step;
        now
    }
}

#[test]
fn by_default_a_group_waits_for_its_window_to_open_then_runs() {
    let bed = Bed::new();
    bed.fleet.add("c0", "active", None, &[]);
    let start = jiff::Timestamp::now();
    let mut g = single("c0");
    g.window_start = (start + jiff::SignedDuration::from_mins(25)).to_string();
    g.window_end = (start + jiff::SignedDuration::from_hours(5)).to_string();
    // Ten minutes pass at every look at the clock.
    let clock = Stepping {
        now: Mutex::new(start),
        step: jiff::SignedDuration::from_mins(10),
    };
    let out = bed.run_clocked(
        &waves(vec![g], vec![]),
        Budget::Count(0),
        &PlannedWindows,
        WindowMode::Wait,
        (0, 0),
        &mut |_| true,
        &clock,
    );
    assert_eq!(out.completed, 1, "{out:?}");
    assert_eq!(bed.fleet.device("c0").version(), "16.1.4");
    // It looked at the clock until the window opened (0, 10, 20 minutes: closed; 30: open).
    assert!(*clock.now.lock().unwrap() >= start + jiff::SignedDuration::from_mins(30));
}

#[test]
fn a_soak_ends_on_the_minute() {
    let bed = Bed::new();
    bed.fleet.add("c0", "active", None, &[]);
    bed.fleet.add("b1", "active", None, &[]);
    // The soak counts from wave 0's last step; what other waves or notes did later does not
    // move it.
    std::fs::write(
        bed.journal(),
        "2026-01-01T10:00:00Z start wave=0 group=c0 step=hop device=c0 to=16.1.4\n\
         2026-01-01T10:05:00Z done wave=0 group=c0 step=hop device=c0 to=16.1.4\n\
         2026-01-01T10:20:00Z done wave=7 group=z step=hop device=z to=16.1.4\n\
         2026-01-01T10:21:00Z note wave=0 what=force detail=x\n",
    )
    .unwrap();
    let w = waves(vec![single("c0")], vec![single("b1")]);
    let at = |t: &str| FixedClock(t.parse().unwrap());
    let run = |t: &str| {
        bed.run_clocked(
            &w,
            Budget::Count(0),
            &PlannedWindows,
            WindowMode::Due,
            (30, 0),
            &mut |_| true,
            &at(t),
        )
    };
    // One second before the soak ends: waiting; at its end: it runs.
    assert_eq!(names(&run("2026-01-01T10:34:59Z").waiting), ["b1"]);
    assert!(bed.fleet.commands("b1").is_empty());
    let out = run("2026-01-01T10:35:00Z");
    assert!(out.waiting.is_empty(), "{out:?}");
    assert_eq!(bed.fleet.device("b1").version(), "16.1.4");
}

#[test]
fn a_failover_waits_for_both_roles_and_refuses_a_unit_left_active() {
    // The new active takes a moment to report it (the scripted peer lags two readings): the
    // engine waits for it rather than giving up.
    let bed = Bed::new();
    bed.fleet.add("lb01", "active", Some("lb02"), &[]);
    bed.fleet.add("lb02", "standby", Some("lb01"), &[]);
    let w = waves(vec![], vec![pair("ha01", "lb01", "lb02", &["16.1.4"])]);
    assert_eq!(bed.run(&w, Budget::Count(0)).completed, 1);
    let events = bed.fleet.events();
    assert!(
        !events.iter().any(|e| e.contains("was not serving")),
        "{events:?}"
    );
    // A unit that stays active after handing over: both active is not a failover.
    let bed = Bed::new();
    bed.fleet
        .add("lb01", "active", Some("lb02"), &[Fault::FailoverHalf]);
    bed.fleet.add("lb02", "standby", Some("lb01"), &[]);
    let out = bed.run(&w, Budget::Count(0));
    let (_, why) = &out.failed[0];
    assert!(why.contains("the roles did not swap"), "{why}");
    assert!(why.contains("lb01: is active, expected standby"), "{why}");
    assert_eq!(bed.fleet.device("lb01").version(), "15.1.10");
}

fn reboot_group(name: &str) -> Group {
    let mut g = single(name);
    g.devices[0].path = vec![];
    g.steps = vec![Step::Reboot {
        device: name.into(),
    }];
    g
}

#[test]
fn a_mitigation_reboot_must_give_memory_back_unless_an_earlier_attempt_rebooted() {
    // Memory drops from 12 to 4 GiB: done.
    let bed = Bed::new();
    bed.fleet.add("c0", "active", None, &[]);
    let out = bed.run(&waves(vec![reboot_group("c0")], vec![]), Budget::Count(0));
    assert_eq!(out.completed, 1, "{out:?}");
    assert_eq!(bed.fleet.device("c0").mem_used, 4 << 30);
    // Memory that stays: the reboot failed its purpose.
    let bed = Bed::new();
    bed.fleet.add("c0", "active", None, &[Fault::MemoryStays]);
    let out = bed.run(&waves(vec![reboot_group("c0")], vec![]), Budget::Count(0));
    assert!(
        out.failed[0].1.contains("memory in use did not drop"),
        "{out:?}"
    );
    // An earlier attempt of this step rebooted the device (then failed): memory already low
    // is not held against the retry. Another device's reboot, or a failure before the
    // reboot, does not count.
    for (journal, ok) in [
        (
            "fail wave=0 group=c0 step=reboot device=c0 error=x rebooted=yes",
            true,
        ),
        ("fail wave=0 group=c0 step=reboot device=c0 error=x", false),
        (
            "fail wave=0 group=b1 step=reboot device=b1 error=x rebooted=yes\n2026-01-01T10:00:01Z fail wave=0 group=c0 step=reboot device=c0 error=x",
            false,
        ),
        (
            "done wave=0 group=b1 step=reboot device=b1 rebooted=yes",
            false,
        ),
    ] {
        let bed = Bed::new();
        bed.fleet.add("c0", "active", None, &[]);
        bed.fleet.set_memory("c0", 4 << 30);
        std::fs::write(bed.journal(), format!("2026-01-01T10:00:00Z {journal}\n")).unwrap();
        let out = bed.run(&waves(vec![reboot_group("c0")], vec![]), Budget::Count(0));
        assert_eq!(out.completed == 1, ok, "{journal}: {out:?}");
    }
}

#[test]
fn room_for_an_image_is_its_size_and_five_percent_or_64_mib() {
    assert_eq!(device::space_needed(0), 64 << 20);
    assert_eq!(device::space_needed(1 << 30), (1 << 30) + (64 << 20));
    assert_eq!(device::space_needed(2 << 30), (2 << 30) + (2 << 30) / 20);
    assert_eq!(device::space_needed(2_000_000_000), 2_100_000_000);
}

#[test]
fn a_wave_finished_in_an_earlier_run_is_not_asked_about_again() {
    let bed = Bed::new();
    bed.fleet.add("c0", "active", None, &[]);
    bed.fleet.add("b1", "active", None, &[]);
    std::fs::write(
        bed.journal(),
        "2026-01-01T10:00:00Z start wave=0 group=c0 step=hop device=c0 to=16.1.4\n\
         2026-01-01T10:05:00Z done wave=0 group=c0 step=hop device=c0 to=16.1.4\n",
    )
    .unwrap();
    let mut asked = 0;
    let out = bed.run_with(
        &waves(vec![single("c0")], vec![single("b1")]),
        Budget::Count(0),
        &PlannedWindows,
        WindowMode::Wait,
        (0, 0),
        &mut |_| {
            asked += 1;
            true
        },
    );
    assert_eq!(out.completed, 2);
    assert_eq!(
        asked, 0,
        "the operator's consent at the start covers the first wave run"
    );
    assert!(bed.fleet.commands("c0").is_empty());
}

#[test]
fn a_dry_run_failover_checks_both_units_as_they_are_and_names_the_command() {
    let bed = Bed::new();
    bed.fleet
        .add("lb01", "active", Some("lb02"), &[Fault::OutOfSync]);
    bed.fleet.add("lb02", "standby", Some("lb01"), &[]);
    let g = pair("ha01", "lb01", "lb02", &["16.1.4"]);
    let (checks, commands) = dry_run_failover(
        &bed.drivers,
        &bed.fleet,
        &g,
        ("lb02", "lb02.example:22"),
        None,
        true,
        None,
    )
    .unwrap();
    let shown: Vec<String> = checks
        .iter()
        .map(|c| format!("{} {:?} {}", c.name, c.status, c.detail))
        .collect();
    assert_eq!(
        shown,
        [
            "ha-role Ok lb02: standby as expected",
            "sync Ok lb02: In Sync",
            "health Ok lb02: /config/bigip.conf",
            "ha-role Ok lb01: active as expected",
            "sync Fail lb01: \"Changes Pending\", not in sync",
            "health Ok lb01: /config/bigip.conf",
        ]
    );
    assert_eq!(
        commands,
        [
            "# on lb01 (lb01.example:22), after the steps before it:",
            "tmsh run sys failover standby",
            "# until lb02 reports active and lb01 standby; then lb02 in sync and healthy, or back to lb01",
        ]
    );
    // Read-only: nothing changed on either unit.
    assert!(bed.fleet.events().is_empty());
}

#[test]
fn a_dry_run_reboot_shows_the_reboot_into_the_running_volume() {
    let bed = Bed::new();
    bed.fleet.add("c0", "active", None, &[]);
    let g = reboot_group("c0");
    let (checks, commands) = dry_run_reboot(&bed.drivers, &bed.fleet, &g.devices[0]).unwrap();
    assert!(
        checks
            .iter()
            .any(|c| c.name == "memory" && c.detail.starts_with("12.0 of 32.0 GiB")),
        "{checks:?}"
    );
    assert_eq!(commands, ["tmsh reboot volume HD1.1"]);
    assert!(bed.fleet.events().is_empty());
}

/// Hears the engine's step events.
struct Recorder(Mutex<Vec<String>>);
impl Observer for Recorder {
    fn on(&self, p: Progress<'_>) {
        if let Progress::Step {
            device,
            step,
            detail,
        } = p
        {
            self.0
                .lock()
                .unwrap()
                .push(format!("{device} {step} {detail}"));
        }
    }
}

#[test]
fn install_progress_is_shown_once_per_reading_that_changes() {
    let bed = Bed::new();
    bed.fleet.add("c0", "active", None, &[]);
    let rec = Recorder(Mutex::new(vec![]));
    let out = bed.run_observed(
        &waves(vec![single("c0")], vec![]),
        Budget::Count(0),
        &PlannedWindows,
        WindowMode::Wait,
        (0, 0),
        &mut |_| true,
        &FixedClock(jiff::Timestamp::now()),
        &rec,
    );
    assert_eq!(out.completed, 1);
    let installs: Vec<String> = rec
        .0
        .into_inner()
        .unwrap()
        .into_iter()
        .filter(|l| l.starts_with("c0 Install"))
        .collect();
    assert_eq!(
        installs,
        [
            "c0 Install 16.1.4",
            "c0 Install 33 % (HD1.2 installing 33.000 pct)",
            "c0 Install 50 % (HD1.2 installing 50.000 pct)",
        ]
    );
}

#[test]
fn a_refused_reboot_or_a_wrong_volume_fails_with_what_the_device_did() {
    let bed = Bed::new();
    bed.fleet.add("c0", "active", None, &[Fault::RebootRefused]);
    let out = bed.run(&waves(vec![single("c0")], vec![]), Budget::Count(0));
    assert!(
        out.failed[0].1.contains(
            "reboot failed: `tmsh reboot volume HD1.2` exited 1: \"01070734:3: reboot is not allowed now\" (the device did not reboot)"
        ),
        "{out:?}"
    );
    assert!(!bed.fleet.events().iter().any(|e| e.ends_with(" down")));
    let bed = Bed::new();
    bed.fleet.add("c0", "active", None, &[Fault::WrongVersion]);
    let out = bed.run(&waves(vec![single("c0")], vec![]), Budget::Count(0));
    assert!(
        out.failed[0].1.contains("came back on 15.1.10, not 16.1.4"),
        "{out:?}"
    );
}

/// A plan around `waves`, for the run report.
fn plan_of(waves: Vec<Wave>) -> crate::planner::file::Plan {
    let mut plan: crate::planner::file::Plan = serde_json::from_value(serde_json::json!({
        "schema": "lbfleet.plan/1",
        "created": "2026-11-29T10:00:00Z",
        "inventory": {"paths": [], "files": [], "digest": ""},
        "catalog": {"source": "embedded", "digest": ""},
        "target": "f5=16.1.4",
        "options": {
            "start": "", "as_of": "", "max_per_wave": null, "max_per_site": null,
            "ha_two_phase": false, "canary": true, "canary_soak_minutes": 0, "soak_minutes": 0,
            "only": [], "exclude": [], "horizon_days": 14, "durations": []
        },
        "summary": {
            "devices": 0, "selected": 0, "scheduled": 0, "up_to_date": 0, "unschedulable": 0,
            "waves": 0, "windows_needed": {}, "finish": null
        },
        "waves": [],
        "unschedulable": [],
        "up_to_date": [],
        "lints": []
    }))
    .unwrap();
    plan.waves = waves;
    plan
}

#[test]
fn the_run_report_tells_each_device_s_result_and_each_step_s_time() {
    let w = waves(
        vec![single("c0")],
        vec![
            pair("ha01", "lb01", "lb02", &["16.1.4", "17.1.1.3"]),
            single("b1"),
            single("b2"),
            single("b3"),
        ],
    );
    let journal = "\
2026-11-29T10:00:00Z note what=force detail=\"2 differences with the fleet\"
2026-11-29T10:00:00Z start wave=0 group=c0 step=hop device=c0 to=16.1.4
2026-11-29T10:07:30Z done wave=0 group=c0 step=hop device=c0 to=16.1.4
2026-11-29T10:08:00Z start wave=1 group=ha01 step=hop device=lb02 to=16.1.4
2026-11-29T10:09:00Z done wave=1 group=ha01 step=hop device=lb02 to=16.1.4
2026-11-29T10:09:00Z start wave=1 group=ha01 step=hop device=lb02 to=17.1.1.3
2026-11-29T10:09:40Z fail wave=1 group=ha01 step=hop device=lb02 to=17.1.1.3 error=\"install | failed\"
2026-11-29T10:10:00Z start wave=1 group=b1 step=hop device=b1 to=16.1.4
2026-11-29T10:10:05Z interrupted wave=1 group=b1 step=hop device=b1 to=16.1.4 error=x
2026-11-29T10:11:00Z skip wave=1 group=b2 step=hop device=b2 to=16.1.4
2026-11-29T10:12:00Z fail wave=1 group=b3 step=hop device=b3 to=16.1.4 error=first
2026-11-29T10:13:00Z fail wave=1 group=b3 step=hop device=b3 to=16.1.4 error=second
";
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("j"), journal).unwrap();
    let entries = Journal::read(&dir.path().join("j")).unwrap();
    let md = report::markdown(&plan_of(w), "plan.json", &entries);
    for row in [
        "Target f5=16.1.4; 2 waves, 5 groups; journal from 2026-11-29T10:00:00Z to 2026-11-29T10:13:00Z.",
        "| 0 | c0 | c0 | 15.1.10 | 16.1.4 | 1/1 | upgraded |",
        "| 1 | ha01 | lb02 | 15.1.10 | 17.1.1.3 | 1/2 | failed: install \\| failed |",
        "| 1 | ha01 | lb01 | 15.1.10 | 17.1.1.3 | 0/2 | not started |",
        "| 1 | b1 | b1 | 15.1.10 | 16.1.4 | 0/1 | interrupted (unfinished: `--resume` continues it) |",
        "| 1 | b2 | b2 | 15.1.10 | 16.1.4 | 1/1 | upgraded |",
        "| 1 | b3 | b3 | 15.1.10 | 16.1.4 | 0/1 | failed: second |",
        "## Overrides\n\n- 2026-11-29T10:00:00Z force: 2 differences with the fleet\n",
    ] {
        assert!(md.contains(row), "{row}\n{md}");
    }
    // A part-way device: one hop of two done, nothing failed.
    let part = "2026-11-29T10:00:00Z done wave=1 group=ha01 step=hop device=lb02 to=16.1.4\n";
    std::fs::write(dir.path().join("p"), part).unwrap();
    let w = waves(
        vec![],
        vec![pair("ha01", "lb01", "lb02", &["16.1.4", "17.1.1.3"])],
    );
    let md = report::markdown(
        &plan_of(w),
        "p",
        &Journal::read(&dir.path().join("p")).unwrap(),
    );
    assert!(
        md.contains("| 1 | ha01 | lb02 | 15.1.10 | 17.1.1.3 | 1/2 | part-way |"),
        "{md}"
    );
    // The steps, each with its seconds from start to end.
    let t = report::steps(&entries);
    let text =
        String::from_utf8(crate::report::Format::Csv.exporter().export(&t).unwrap()).unwrap();
    for line in [
        "0,c0,hop,c0,16.1.4,done,450,",
        "1,ha01,hop,lb02,16.1.4,done,60,",
        "1,ha01,hop,lb02,17.1.1.3,FAILED,40,install | failed",
        "1,b1,hop,b1,16.1.4,interrupted,5,x",
        "1,b2,hop,b2,16.1.4,skipped,,",
    ] {
        assert!(text.contains(line), "{line}\n{text}");
    }
}

/// A failover step that names both units, as plans do.
fn handover_step(to: &str, from: &str) -> Step {
    Step::Failover {
        to: to.into(),
        mgmt_host: format!("{to}.example:22"),
        from: Some(from.into()),
        from_mgmt_host: Some(format!("{from}.example:22")),
    }
}

/// The canary that carries traffic: wave 0 upgrades lb02 and fails over to it; wave 1
/// upgrades lb01 (standby by then) and fails back.
fn carried_canary() -> Vec<Wave> {
    let mut first = group(
        Some("ha01"),
        vec![device("lb02", "standby", &["16.1.4"])],
        vec![
            Step::Upgrade {
                device: "lb02".into(),
            },
            handover_step("lb02", "lb01"),
        ],
    );
    first.phase = Phase::Standby;
    let mut second = group(
        Some("ha01"),
        vec![device("lb01", "active", &["16.1.4"])],
        vec![
            Step::Upgrade {
                device: "lb01".into(),
            },
            handover_step("lb01", "lb02"),
        ],
    );
    second.phase = Phase::Active;
    waves(vec![first], vec![second])
}

fn pair_fleet(bed: &Bed, lb02_faults: &[Fault]) {
    bed.fleet.add("lb01", "active", Some("lb02"), &[]);
    bed.fleet.add("lb02", "standby", Some("lb01"), lb02_faults);
}

#[test]
fn the_canary_carries_traffic_on_the_new_release_and_the_pair_ends_as_it_began() {
    let bed = Bed::new();
    pair_fleet(&bed, &[]);
    let w = carried_canary();
    let mut soaked = Vec::new();
    let out = bed.run_with(
        &w,
        Budget::Count(0),
        &PlannedWindows,
        WindowMode::Wait,
        (0, 0),
        &mut |r| {
            // Between the waves (the soak): the upgraded unit carries traffic, the old one waits.
            soaked.push((
                bed.fleet.device("lb02").role,
                bed.fleet.device("lb02").version().to_string(),
                bed.fleet.device("lb01").version().to_string(),
            ));
            r.failed.is_empty()
        },
    );
    assert_eq!(out.completed, 2, "{out:?}");
    assert_eq!(
        soaked,
        [(
            "active".to_string(),
            "16.1.4".to_string(),
            "15.1.10".to_string()
        )]
    );
    // Wave 1 upgraded lb01 as the standby it was by then, then gave it its traffic back.
    let failovers: Vec<String> = bed
        .fleet
        .events()
        .into_iter()
        .filter(|e| e.contains("failover"))
        .collect();
    assert_eq!(
        failovers,
        ["lb01 failover to lb02", "lb02 failover to lb01"]
    );
    assert_eq!(bed.fleet.device("lb01").role, "active");
    assert_eq!(bed.fleet.device("lb01").version(), "16.1.4");
    // The inventory follows: both roles after each failover, ending as it began.
    let roles: Vec<String> = bed
        .inventory
        .calls
        .lock()
        .unwrap()
        .iter()
        .filter(|c| c.contains("ha_role"))
        .cloned()
        .collect();
    assert_eq!(
        roles,
        [
            "lb02 ha_role=active",
            "lb01 ha_role=standby",
            "lb01 ha_role=active",
            "lb02 ha_role=standby"
        ]
    );
}

#[test]
fn a_new_active_that_fails_its_checks_hands_traffic_straight_back() {
    let bed = Bed::new();
    pair_fleet(&bed, &[Fault::UnhealthyWhenActive]);
    let out = bed.run(&carried_canary(), Budget::Count(0));
    assert_eq!(out.completed, 0, "{out:?}");
    let (_, why) = &out.failed[0];
    assert!(
        why.contains("lb02 became active and failed its checks")
            && why.contains("Configuration error")
            && why.contains("failed back to lb01, which carries traffic again"),
        "{why}"
    );
    assert_eq!(
        out.stopped.as_deref(),
        Some("the canary failed: nothing else starts")
    );
    assert_eq!(bed.fleet.device("lb01").role, "active");
    assert_eq!(bed.fleet.device("lb01").version(), "15.1.10");
    // Traffic is where it began, so no role was written; lb02's new version was.
    let calls = bed.inventory.calls.lock().unwrap().clone();
    assert_eq!(calls, ["lb02 version=16.1.4"]);
}

#[test]
fn a_carrier_that_fails_its_checks_after_the_soak_is_rolled_back_and_stays_so() {
    let bed = Bed::new();
    pair_fleet(&bed, &[]);
    let w = carried_canary();
    let out = bed.run_with(
        &w,
        Budget::Count(0),
        &PlannedWindows,
        WindowMode::Wait,
        (0, 0),
        &mut |_| {
            // During the soak the new release starts misbehaving under traffic.
            bed.fleet.break_with("lb02", Fault::UnhealthyWhenActive);
            true
        },
    );
    assert_eq!(out.completed, 1, "{out:?}");
    let (group, why) = &out.failed[0];
    assert_eq!(group, "ha01");
    assert!(
        why.contains("lb02 failed its checks after the soak")
            && why.contains("failed back to lb01, which carries traffic again"),
        "{why}"
    );
    // lb01 was never touched by wave 1: it carries traffic on the old release.
    assert_eq!(bed.fleet.device("lb01").role, "active");
    assert_eq!(bed.fleet.device("lb01").version(), "15.1.10");
    assert!(
        !bed.fleet
            .commands("lb01")
            .iter()
            .any(|c| c.starts_with("tmsh install"))
    );
    assert_eq!(
        bed.inventory.get("lb01", "ha_role").as_deref(),
        Some("active")
    );
    assert_eq!(
        bed.inventory.get("lb02", "ha_role").as_deref(),
        Some("standby")
    );
    assert!(
        bed.journal_text()
            .contains("step=failover to=lb01 from=lb02 rollback=soak-check"),
        "{}",
        bed.journal_text()
    );
    // A resume does not undo the rollback: the group stays stopped until it is planned again.
    bed.fleet.fix("lb02");
    let out = bed.run(&w, Budget::Count(0));
    assert!(
        out.failed[0].1.contains("ha01 was rolled back at"),
        "{out:?}"
    );
    assert_eq!(bed.fleet.device("lb01").version(), "15.1.10");
}

#[test]
fn only_a_pair_left_swapped_hands_over_to_the_next_wave() {
    let w = carried_canary();
    let h = handover(&w, 1, &w[1].groups[0]).unwrap();
    assert_eq!((h.wave, h.to.as_str()), (0, "lb02"));
    assert_eq!(
        h.from,
        Some(("lb01".to_string(), "lb01.example:22".to_string()))
    );
    assert_eq!(handover(&w, 0, &w[0].groups[0]), None);
    // Rounds that fail over and back (reboots) leave the pair as planned: nothing inherited.
    let round = || {
        group(
            Some("ha01"),
            vec![
                device("lb02", "standby", &["15.1.10"]),
                device("lb01", "active", &["15.1.10"]),
            ],
            vec![handover_step("lb02", "lb01"), handover_step("lb01", "lb02")],
        )
    };
    let w = waves(vec![round()], vec![round()]);
    assert_eq!(handover(&w, 1, &w[1].groups[0]), None);
    // Another pair's failover is not this pair's.
    let mut other = carried_canary();
    other[1].groups[0].ha_group = Some("ha02".into());
    assert_eq!(handover(&other, 1, &other[1].groups[0]), None);
}

impl Bed {
    /// `roll_back` through the bed's fleet, journal and inventory.
    fn roll_back(&self, bo: &BackOut<'_>) -> Result<(), String> {
        let clock = FixedClock(jiff::Timestamp::now());
        let settings = Settings {
            parallel: 1,
            budget: Budget::Count(0),
            wait: Wait {
                reboot: Duration::from_millis(300),
                install: Duration::from_secs(2),
                failover: Duration::from_millis(50),
                interval: Duration::from_millis(1),
                cancel: &NEVER,
            },
            images: self.dir.path().to_path_buf(),
            windows: &PlannedWindows,
            mode: WindowMode::Ignore,
            soak_minutes: (0, 0),
            clock: &clock,
            inventory: Some(&self.inventory),
            backups: self.backups.as_ref(),
            gate: self.gate.as_ref().map(|g| g as &dyn Gate),
        };
        let journal = Mutex::new(Journal::open(&self.journal()).unwrap());
        roll_back(
            bo,
            &self.drivers,
            &self.fleet,
            &settings,
            &journal,
            &Quiet,
            30,
        )
    }

    fn entries(&self) -> Vec<journal::Entry> {
        Journal::read(&self.journal()).unwrap_or_default()
    }

    /// Where the fleet's events show `event` last.
    fn at(&self, event: &str) -> usize {
        let events = self.fleet.events();
        events
            .iter()
            .rposition(|x| x == event)
            .unwrap_or_else(|| panic!("{event} missing: {events:?}"))
    }
}

/// The way back's steps in words: `revert X` and `failover X->Y`.
fn back_steps(bo: &BackOut<'_>) -> Vec<String> {
    bo.steps
        .iter()
        .map(|s| match s {
            BackStep::Revert(r) => format!("revert {} {}", r.device, r.role.id()),
            BackStep::Failover(f) => format!("failover {}->{}", f.from.0, f.to.0),
        })
        .collect()
}

#[test]
fn rollback_in_the_soak_gives_traffic_back_first_then_reboots_the_canary_back() {
    let bed = Bed::new();
    pair_fleet(&bed, &[]);
    let w = carried_canary();
    // Nothing ran: nothing to give back.
    let err = back_out(&w, &bed.entries(), "ha01")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("nothing of this rollout has changed it"),
        "{err}"
    );
    // The canary ran; the operator stops before wave 1.
    let out = bed.run_with(
        &w,
        Budget::Count(0),
        &PlannedWindows,
        WindowMode::Wait,
        (0, 0),
        &mut |_| false,
    );
    assert_eq!(out.completed, 1, "{out:?}");
    // The journal knows where lb02 came from: HD1.1, and it boots HD1.2 now.
    let hop = bed
        .entries()
        .into_iter()
        .find(|e| e.event == journal::Event::Done && e.get("step") == Some("hop"))
        .unwrap();
    assert_eq!(
        (hop.get("booted_before"), hop.get("booted_after")),
        (Some("HD1.1"), Some("HD1.2"))
    );
    let bo = back_out(&w, &bed.entries(), "ha01").unwrap();
    assert_eq!(
        back_steps(&bo),
        ["failover lb02->lb01", "revert lb02 standby"]
    );
    assert_eq!(bo.carrier_after(), Some("lb01"));
    // Only lb02: the same two steps (traffic off it first).
    assert_eq!(
        back_steps(&bo.only("lb02").unwrap()),
        ["failover lb02->lb01", "revert lb02 standby"]
    );
    assert!(matches!(bo.only("lb01"), Err(NoWayBack::Nothing(_))));
    let fb = bo.failover().unwrap();
    assert_eq!(fb.wave, 0);
    assert_eq!(fb.to.1, "lb01.example:22");
    assert_eq!(fb.from.1, "lb02.example:22");
    assert_eq!(fb.old.as_str(), "15.1.10");
    let r = bo.reverts().next().unwrap();
    assert_eq!(
        (
            r.runs.as_str(),
            r.booted_before.as_deref(),
            r.overwritten_by.as_deref()
        ),
        ("16.1.4", Some("HD1.1"), None)
    );
    // A group unknown to the journal has nothing to give back.
    assert!(back_out(&w, &bed.entries(), "ha02").is_err());
    bed.inventory.calls.lock().unwrap().clear();
    bed.roll_back(&bo).unwrap();
    for d in ["lb01", "lb02"] {
        assert_eq!(bed.fleet.device(d).version(), "15.1.10", "{d}");
    }
    assert_eq!(bed.fleet.device("lb01").role, "active");
    // Traffic went back before lb02 went down, and no unit went down while carrying traffic.
    assert!(bed.at("lb02 failover to lb01") < bed.at("lb02 down"));
    assert!(
        !bed.fleet.events().iter().any(|e| e.contains("not serving")),
        "{:?}",
        bed.fleet.events()
    );
    assert_eq!(
        bed.inventory.calls.lock().unwrap().clone(),
        [
            "lb01 ha_role=active",
            "lb02 ha_role=standby",
            "lb02 version=15.1.10"
        ]
    );
    assert!(rolled_back(&bed.entries(), "ha01").is_some());
    assert!(rolled_back(&bed.entries(), "ha02").is_none());
    let err = back_out(&w, &bed.entries(), "ha01")
        .unwrap_err()
        .to_string();
    assert!(err.contains("ha01 was rolled back at"), "{err}");
    // The journal explains the inventory: lb01 active, both on their old release.
    let groups: Vec<(usize, &Group)> = w
        .iter()
        .flat_map(|w| w.groups.iter().map(move |g| (w.index, g)))
        .collect();
    let cells = journaled_cells(&groups, &bed.entries());
    let cell = |d: &str, f: &str| {
        cells
            .iter()
            .find(|((n, k), _)| n == d && *k == f)
            .map(|(_, v)| v.as_str())
    };
    assert_eq!(
        (cell("lb01", "ha_role"), cell("lb02", "ha_role")),
        (Some("active"), Some("standby"))
    );
    assert_eq!(cell("lb02", "version"), Some("15.1.10"));
    // The rollout never continues the group, and says why it stops.
    let out = bed.run(&w, Budget::Count(0));
    assert_eq!(names(&out.failed), ["ha01"], "{out:?}");
    assert_eq!(
        out.stopped.as_deref(),
        Some("the canary ha01 was rolled back: nothing else starts (plan again)")
    );
    assert_eq!(bed.fleet.device("lb01").version(), "15.1.10");
}

#[test]
fn after_the_whole_rollout_the_standby_goes_back_first_then_traffic_then_the_other() {
    let bed = Bed::new();
    pair_fleet(&bed, &[]);
    let w = carried_canary();
    assert_eq!(bed.run(&w, Budget::Count(0)).completed, 2);
    let bo = back_out(&w, &bed.entries(), "ha01").unwrap();
    // lb01 carries traffic after the failback: lb02 first, then traffic to it, lb01 back, and
    // traffic back to lb01 as before the change.
    assert_eq!(
        back_steps(&bo),
        [
            "revert lb02 standby",
            "failover lb01->lb02",
            "revert lb01 standby",
            "failover lb02->lb01"
        ]
    );
    assert_eq!(bo.wave, 1);
    assert_eq!(bo.carrier.as_deref(), Some("lb01"));
    assert_eq!(bo.carrier_after(), Some("lb01"));
    let m = crate::planner::durations::StepMinutes {
        upload: 15,
        install: 30,
        reboot: 15,
        checks: 10,
        failover: 5,
    };
    assert_eq!(bo.minutes(&m), 25 + 5 + 25 + 5);
    // Only lb01: traffic would have to move to lb02, which runs the new release too: that is
    // the group's rollback, not one device's.
    let err = bo.only("lb01").unwrap_err();
    assert!(
        matches!(&err, NoWayBack::Refused(m) if m.contains("lb01 carries ha01's traffic and lb02, its peer, runs the new release too")),
        "{err}"
    );
    assert_eq!(
        back_steps(&bo.only("lb02").unwrap()),
        ["revert lb02 standby"]
    );
    assert!(matches!(bo.only("lb09"), Err(NoWayBack::Nothing(_))));
    bed.roll_back(&bo).unwrap();
    for d in ["lb01", "lb02"] {
        assert_eq!(bed.fleet.device(d).version(), "15.1.10", "{d}");
    }
    // Roles as before the change.
    assert_eq!(bed.fleet.device("lb01").role, "active");
    assert!(bed.at("lb02 down") < bed.at("lb01 failover to lb02"));
    assert!(bed.at("lb01 failover to lb02") < bed.at("lb01 down"));
    assert!(bed.at("lb01 down") < bed.at("lb02 failover to lb01"));
    assert!(
        !bed.fleet.events().iter().any(|e| e.contains("not serving")),
        "{:?}",
        bed.fleet.events()
    );
    // The failover is the taker's check: lb02 had to run 15.1.10 again.
    let failover = bed
        .entries()
        .into_iter()
        .rev()
        .find(|e| e.get("step") == Some("failover") && e.event == journal::Event::Done)
        .unwrap();
    assert_eq!(failover.get("for"), Some("rollback"));
    let err = back_out(&w, &bed.entries(), "ha01")
        .unwrap_err()
        .to_string();
    assert!(err.contains("was rolled back at"), "{err}");
}

#[test]
fn an_interrupted_rollback_continues_from_the_journal() {
    let bed = Bed::new();
    pair_fleet(&bed, &[]);
    let w = carried_canary();
    assert_eq!(bed.run(&w, Budget::Count(0)).completed, 2);
    // The failover to lb02 is refused: lb02 went back, lb01 still carries traffic on 16.1.4.
    bed.fleet.break_with("lb01", Fault::FailoverFails);
    let bo = back_out(&w, &bed.entries(), "ha01").unwrap();
    let err = bed.roll_back(&bo).unwrap_err();
    assert!(err.contains("failover"), "{err}");
    assert_eq!(bed.fleet.device("lb02").version(), "15.1.10");
    assert_eq!(bed.fleet.device("lb01").version(), "16.1.4");
    assert_eq!(bed.fleet.device("lb01").role, "active");
    // Run again: lb02 is not rebooted twice.
    bed.fleet.fix("lb01");
    let bo = back_out(&w, &bed.entries(), "ha01").unwrap();
    assert_eq!(
        back_steps(&bo),
        [
            "failover lb01->lb02",
            "revert lb01 standby",
            "failover lb02->lb01"
        ]
    );
    bed.roll_back(&bo).unwrap();
    assert_eq!(bed.fleet.device("lb01").version(), "15.1.10");
    let downs = bed
        .fleet
        .events()
        .iter()
        .filter(|e| *e == "lb02 down")
        .count();
    // Its upgrade's reboots in the rollout (one) and the rollback's (one).
    assert_eq!(downs, 2, "{:?}", bed.fleet.events());
}

#[test]
fn a_standalone_goes_back_and_an_overwritten_volume_is_found_before_anything_changes() {
    let bed = Bed::new();
    bed.fleet.add("c0", "active", None, &[]);
    let w = waves(vec![single("c0")], vec![]);
    assert_eq!(bed.run(&w, Budget::Count(0)).completed, 1);
    let bo = back_out(&w, &bed.entries(), "c0").unwrap();
    assert_eq!(back_steps(&bo), ["revert c0 standalone"]);
    assert_eq!(bo.carrier_after(), None);
    assert_eq!(carrier_now(&bo, &bed.drivers, &bed.fleet), Ok(None));
    assert_eq!(
        check_back_out(&bo, &bed.drivers, &bed.fleet).unwrap(),
        [(
            "c0".to_string(),
            Some("tmsh reboot volume HD1.1".to_string())
        )]
    );
    bed.roll_back(&bo).unwrap();
    assert_eq!(bed.fleet.device("c0").version(), "15.1.10");
    // Two hops: the second is installed over HD1.1, where 15.1.10 was.
    let bed = Bed::new();
    bed.fleet.add("c1", "active", None, &[]);
    let mut g = single("c1");
    g.devices[0].path = vec!["16.1.4".into(), "17.1.1.3".into()];
    let w = waves(vec![g], vec![]);
    assert_eq!(bed.run(&w, Budget::Count(0)).completed, 1);
    let bo = back_out(&w, &bed.entries(), "c1").unwrap();
    let r = bo.reverts().next().unwrap();
    assert_eq!(
        (r.booted_before.as_deref(), r.overwritten_by.as_deref()),
        (Some("HD1.1"), Some("17.1.1.3"))
    );
    let err = check_back_out(&bo, &bed.drivers, &bed.fleet).unwrap_err();
    assert!(
        err.contains("c1: no volume holds 15.1.10 any more (HD1.1")
            && err.contains("HD1.1 17.1.1.3 complete (active)"),
        "{err}"
    );
    // The run itself refuses the same way, having changed nothing.
    let err = bed.roll_back(&bo).unwrap_err();
    assert!(
        err.contains("no volume holds 15.1.10") && err.contains("nothing changed"),
        "{err}"
    );
    assert_eq!(bed.fleet.device("c1").version(), "17.1.1.3");
    // A driver without a rollback command says so.
    let text = include_str!("../../drivers/f5.toml")
        .replace("[commands.rollback]", "[commands.unused_rollback]");
    let f5 = crate::driver::Driver::parse("no-rollback.toml", &text).unwrap();
    let mut t = bed.fleet.connect(&device("c1", "standalone", &[])).unwrap();
    let old = Version::parse(Vendor::F5, "15.1.10").unwrap();
    let err = crate::device::way_back(t.as_mut(), &f5, &old, None).unwrap_err();
    assert!(err.contains("has no rollback command"), "{err}");
    // With a third volume, the second hop goes there and HD1.1 keeps 15.1.10: the way back is
    // one reboot, straight into it.
    let bed = Bed::new();
    bed.fleet.add("c2", "active", None, &[]);
    bed.fleet.add_volume("c2", "13.1.5");
    let mut g = single("c2");
    g.devices[0].path = vec!["16.1.4".into(), "17.1.1.3".into()];
    let w = waves(vec![g], vec![]);
    assert_eq!(bed.run(&w, Budget::Count(0)).completed, 1);
    assert!(bed.at("c2 install HD1.2 16.1.4") < bed.at("c2 install HD1.3 17.1.1.3"));
    let bo = back_out(&w, &bed.entries(), "c2").unwrap();
    let r = bo.reverts().next().unwrap();
    assert_eq!(
        (r.booted_before.as_deref(), r.overwritten_by.as_deref()),
        (Some("HD1.1"), None)
    );
    assert_eq!(
        check_back_out(&bo, &bed.drivers, &bed.fleet).unwrap(),
        [(
            "c2".to_string(),
            Some("tmsh reboot volume HD1.1".to_string())
        )]
    );
    bed.roll_back(&bo).unwrap();
    assert_eq!(bed.fleet.device("c2").version(), "15.1.10");
    assert_eq!(bed.fleet.device("c2").active, 0);
}

#[test]
fn a_unit_is_never_rebooted_back_while_it_carries_traffic() {
    let bed = Bed::new();
    pair_fleet(&bed, &[]);
    let w = carried_canary();
    bed.run_with(
        &w,
        Budget::Count(0),
        &PlannedWindows,
        WindowMode::Wait,
        (0, 0),
        &mut |_| false,
    );
    // lb02 carries traffic. A way back that would reboot it without the failover first (its
    // steps cut short) is refused twice over: the unit that must carry traffic meanwhile does
    // not report active...
    let bo = back_out(&w, &bed.entries(), "ha01").unwrap();
    let mut only = BackOut {
        steps: bo.steps[1..].to_vec(),
        ..bo.clone()
    };
    let err = bed.roll_back(&only).unwrap_err();
    assert!(
        err.contains(
            "lb02: not rebooted: lb01, which must carry the traffic meanwhile, is standby, expected active"
        ),
        "{err}"
    );
    // ... and the unit itself reports active, not the standby a revert needs.
    if let BackStep::Revert(r) = &mut only.steps[0] {
        r.peer = None;
    }
    let err = bed.roll_back(&only).unwrap_err();
    assert!(
        err.contains("pre-checks failed, nothing changed")
            && err.contains("is active, expected standby"),
        "{err}"
    );
    assert_eq!(bed.fleet.device("lb02").version(), "16.1.4");
    // Its only reboot is the upgrade's.
    let downs = bed
        .fleet
        .events()
        .iter()
        .filter(|e| *e == "lb02 down")
        .count();
    assert_eq!(downs, 1);
}

/// `carried_canary` for a second pair, lb04 (active) and lb03 (standby), in group ha02.
fn with_second_pair(mut w: Vec<Wave>) -> Vec<Wave> {
    let rename = |g: &Group| {
        let mut g = g.clone();
        g.ha_group = Some("ha02".into());
        let text = serde_json::to_string(&g)
            .unwrap()
            .replace("lb01", "lb04")
            .replace("lb02", "lb03");
        serde_json::from_str::<Group>(&text).unwrap()
    };
    for wave in &mut w {
        let second = rename(&wave.groups[0]);
        wave.groups.push(second);
    }
    w
}

#[test]
fn each_pair_checks_its_own_carrier_after_the_soak() {
    let bed = Bed::new();
    pair_fleet(&bed, &[]);
    bed.fleet.add("lb04", "active", Some("lb03"), &[]);
    bed.fleet.add("lb03", "standby", Some("lb04"), &[]);
    let w = with_second_pair(carried_canary());
    let out = bed.run_with(
        &w,
        Budget::Count(1),
        &PlannedWindows,
        WindowMode::Wait,
        (0, 0),
        &mut |_| {
            bed.fleet.break_with("lb03", Fault::UnhealthyWhenActive);
            true
        },
    );
    // ha01 finishes first; ha02's carrier is checked all the same, and rolled back.
    assert_eq!(out.completed, 3, "{out:?}");
    assert_eq!(names(&out.failed), ["ha02"], "{out:?}");
    assert!(
        out.failed[0]
            .1
            .contains("lb03 failed its checks after the soak"),
        "{out:?}"
    );
    assert_eq!(bed.fleet.device("lb04").role, "active");
    assert_eq!(bed.fleet.device("lb04").version(), "15.1.10");
    assert_eq!(bed.fleet.device("lb01").version(), "16.1.4");
    // The journal knows each pair's carrier apart.
    let entries = bed.entries();
    assert_eq!(carrying(&entries, "ha01"), Some("lb01"));
    assert_eq!(carrying(&entries, "ha02"), Some("lb04"));
    assert_eq!(carrying(&entries, "ha03"), None);
}

#[test]
fn a_failover_found_in_effect_on_resume_is_still_checked() {
    let bed = Bed::new();
    pair_fleet(&bed, &[Fault::UnhealthyWhenActive]);
    // A run upgraded lb02 and sent the failover, then died before checking the new active.
    let mut w = carried_canary();
    let failover = w[0].groups[0].steps.pop().unwrap();
    bed.run_with(
        &w,
        Budget::Count(0),
        &PlannedWindows,
        WindowMode::Wait,
        (0, 0),
        &mut |_| false,
    );
    let lb01 = device("lb01", "active", &[]);
    let out = bed
        .fleet
        .connect(&lb01)
        .unwrap()
        .exec("tmsh run sys failover standby")
        .unwrap();
    assert_eq!(out.status, 0);
    // A unit takes a moment to report its new role: let it settle.
    let lb02 = device("lb02", "standby", &[]);
    let mut t = bed.fleet.connect(&lb02).unwrap();
    while !t
        .exec("tmsh show cm failover-status")
        .unwrap()
        .stdout
        .contains("ACTIVE")
    {}
    // The resume finds the failover in effect: not sent again, but lb02 is checked, and fails.
    w[0].groups[0].steps.push(failover);
    let out = bed.run(&w, Budget::Count(0));
    assert_eq!(out.completed, 0, "{out:?}");
    assert!(
        out.failed[0]
            .1
            .contains("lb02 became active and failed its checks")
            && out.failed[0].1.contains("failed back to lb01"),
        "{out:?}"
    );
    assert_eq!(bed.fleet.device("lb01").role, "active");
    assert_eq!(bed.fleet.device("lb01").version(), "15.1.10");
}

#[test]
fn a_refused_rollback_changes_nothing_and_marks_nothing() {
    let bed = Bed::new();
    pair_fleet(&bed, &[]);
    let w = carried_canary();
    bed.run_with(
        &w,
        Budget::Count(0),
        &PlannedWindows,
        WindowMode::Wait,
        (0, 0),
        &mut |_| false,
    );
    // The unit that would take traffic back is out of sync: refused, in both units' words.
    bed.fleet.break_with("lb01", Fault::OutOfSync);
    let bo = back_out(&w, &bed.entries(), "ha01").unwrap();
    bed.inventory.calls.lock().unwrap().clear();
    let err = bed.roll_back(&bo).unwrap_err();
    assert!(
        err.contains("refused, nothing changed") && err.contains("lb01: sync"),
        "{err}"
    );
    assert_eq!(bed.fleet.device("lb02").role, "active");
    assert_eq!(bed.fleet.device("lb02").version(), "16.1.4");
    assert!(bed.inventory.calls.lock().unwrap().is_empty());
    assert_eq!(rolled_back(&bed.entries(), "ha01"), None);
    // Fixed, it can be rolled back still.
    bed.fleet.fix("lb01");
    assert!(back_out(&w, &bed.entries(), "ha01").is_ok());
}

#[test]
fn a_rollback_needs_the_old_release_and_keeps_traffic_there_even_when_checks_fail() {
    // The plan says lb01 ran 15.1.7; it runs 15.1.10 now (changed behind the rollout's back).
    let bed = Bed::new();
    pair_fleet(&bed, &[]);
    let mut w = carried_canary();
    w[1].groups[0].devices[0].from = "15.1.7".into();
    bed.run_with(
        &w,
        Budget::Count(0),
        &PlannedWindows,
        WindowMode::Wait,
        (0, 0),
        &mut |_| false,
    );
    let bo = back_out(&w, &bed.entries(), "ha01").unwrap();
    let err = bed.roll_back(&bo).unwrap_err();
    assert!(
        err.contains("refused, nothing changed")
            && err.contains("drift: runs 15.1.10, expected 15.1.7"),
        "{err}"
    );
    assert_eq!(bed.fleet.device("lb02").role, "active");
    // The old release takes traffic back and then fails its checks: it keeps the traffic (the
    // unit it came from is no way out), the rollback counts and stops there, and the inventory
    // says where traffic is.
    let bed = Bed::new();
    pair_fleet(&bed, &[]);
    let w = carried_canary();
    bed.run_with(
        &w,
        Budget::Count(0),
        &PlannedWindows,
        WindowMode::Wait,
        (0, 0),
        &mut |_| false,
    );
    bed.fleet.break_with("lb01", Fault::UnhealthyWhenActive);
    let bo = back_out(&w, &bed.entries(), "ha01").unwrap();
    bed.inventory.calls.lock().unwrap().clear();
    let err = bed.roll_back(&bo).unwrap_err();
    assert!(
        err.contains("lb01 (the old release) carries traffic again but failed its checks"),
        "{err}"
    );
    assert_eq!(bed.fleet.device("lb01").role, "active");
    assert_eq!(bed.fleet.device("lb02").version(), "16.1.4");
    assert!(rolled_back(&bed.entries(), "ha01").is_some());
    assert_eq!(carrying(&bed.entries(), "ha01"), Some("lb01"));
    assert_eq!(
        bed.inventory.calls.lock().unwrap().clone(),
        ["lb01 ha_role=active", "lb02 ha_role=standby"]
    );
    // Running the rollback again would reboot lb02, the pair's only other unit, while lb01
    // carries traffic failing: refused until an operator decides.
    let err = back_out(&w, &bed.entries(), "ha01")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("ha01: the rollback's failover at ")
            && err.contains("left traffic on lb01, which then failed its checks")
            && err.contains("lbfleet reboots no unit of the pair"),
        "{err}"
    );
}

#[test]
fn a_dry_run_rollback_gates_as_the_rollback_does() {
    let bed = Bed::new();
    bed.fleet.add(
        "lb02",
        "active",
        Some("lb01"),
        &[Fault::UnhealthyWhenActive],
    );
    bed.fleet.add("lb01", "standby", Some("lb02"), &[]);
    let w = carried_canary();
    let g = &w[0].groups[0];
    let old = Version::parse(Vendor::F5, "15.1.10").unwrap();
    let fails = |rollback: Option<&Version>| -> Vec<String> {
        let (checks, _) = dry_run_failover(
            &bed.drivers,
            &bed.fleet,
            g,
            ("lb01", "lb01.example:22"),
            Some(("lb02", "lb02.example:22")),
            true,
            rollback,
        )
        .unwrap();
        checks
            .iter()
            .filter(|c| c.status == device::Status::Fail)
            .map(|c| format!("{} {}", c.name, c.detail))
            .collect()
    };
    // The giver's failing health is the reason for a rollback, not a gate of it.
    assert_eq!(fails(Some(&old)), Vec::<String>::new());
    assert_eq!(fails(None).len(), 1, "{:?}", fails(None));
    // The taker must still run the old release.
    let newer = Version::parse(Vendor::F5, "16.1.4").unwrap();
    let f = fails(Some(&newer));
    assert!(
        f.len() == 1 && f[0].contains("drift: runs 15.1.10"),
        "{f:?}"
    );
}

#[test]
fn each_device_is_backed_up_once_before_its_first_change_and_a_failed_backup_changes_nothing() {
    let mut bed = Bed::new();
    let folder = bed.dir.path().join("plan.backups");
    bed.backups = Some(Backups {
        dir: folder.clone(),
        tag: "plan".into(),
    });
    pair_fleet(&bed, &[]);
    let w = carried_canary();
    assert_eq!(bed.run(&w, Budget::Count(0)).completed, 2);
    for d in ["lb01", "lb02"] {
        let archive = format!("lbfleet-plan-{d}.ucs");
        assert!(bed.at(&format!("{d} save config")) < bed.at(&format!("{d} save ucs {archive}")));
        assert!(
            bed.at(&format!("{d} save ucs {archive}"))
                < bed.at(&format!("{d} install HD1.2 16.1.4"))
        );
        let copy = folder.join(d).join(&archive);
        let body = std::fs::read_to_string(&copy).unwrap();
        assert_eq!(body, format!("UCS of {d} on 15.1.10\n"));
        let done = bed
            .entries()
            .into_iter()
            .find(|e| {
                e.event == journal::Event::Done
                    && e.get("step") == Some("backup")
                    && e.get("device") == Some(d)
            })
            .unwrap();
        let (sha, _) = crate::images::digest(&copy).unwrap();
        assert_eq!(done.get("archive_sha256"), Some(sha.as_str()));
        assert_eq!(
            done.get("archive"),
            Some(format!("/var/local/ucs/{archive}").as_str())
        );
        assert_eq!(
            done.get("archive_bytes"),
            Some(body.len().to_string().as_str())
        );
        assert_eq!(
            done.get("copied_to"),
            Some(copy.display().to_string().as_str())
        );
    }
    // The way back names each unit's backup, to restore if no volume holds the old release.
    let bo = back_out(&w, &bed.entries(), "ha01").unwrap();
    for r in bo.reverts() {
        let want = folder
            .join(&r.device)
            .join(format!("lbfleet-plan-{}.ucs", r.device));
        assert_eq!(
            r.backup.as_deref(),
            Some(want.display().to_string().as_str())
        );
    }
    // Once each, even with a failover between.
    let saves = bed
        .fleet
        .events()
        .iter()
        .filter(|e| e.contains(" save ucs "))
        .count();
    assert_eq!(saves, 2);
    // Once per device, not per hop: two hops, one backup; and an earlier copy of the same
    // name (a rollout of a plan of that name before) is kept beside the new one.
    let mut bed = Bed::new();
    let folder = bed.dir.path().join("plan.backups");
    std::fs::create_dir_all(folder.join("c0")).unwrap();
    std::fs::write(folder.join("c0/lbfleet-plan-c0.ucs"), "earlier").unwrap();
    bed.backups = Some(Backups {
        dir: folder.clone(),
        tag: "plan".into(),
    });
    bed.fleet.add("c0", "active", None, &[]);
    let mut g = single("c0");
    g.devices[0].path = vec!["16.1.4".into(), "17.1.1.3".into()];
    assert_eq!(
        bed.run(&waves(vec![g], vec![]), Budget::Count(0)).completed,
        1
    );
    let saves = bed
        .fleet
        .events()
        .iter()
        .filter(|e| e.contains(" save ucs "))
        .count();
    assert_eq!(saves, 1, "{:?}", bed.fleet.events());
    let kept: Vec<String> = std::fs::read_dir(folder.join("c0"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(kept.len(), 2, "{kept:?}");
    assert!(kept.iter().any(|k| k.starts_with("lbfleet-plan-c0.ucs.")));
    assert_eq!(
        std::fs::read_to_string(folder.join("c0/lbfleet-plan-c0.ucs")).unwrap(),
        "UCS of c0 on 15.1.10\n"
    );

    // A save the device refuses stops the device untouched, quoting it; fixed, the resume takes
    // the backup and goes on.
    for fault in [Fault::BackupFails, Fault::DownloadShort] {
        let mut bed = Bed::new();
        let folder = bed.dir.path().join("b");
        bed.backups = Some(Backups {
            dir: folder.clone(),
            tag: "plan".into(),
        });
        pair_fleet(&bed, &[fault]);
        let out = bed.run(&w, Budget::Count(0));
        assert_eq!(names(&out.failed), ["ha01"], "{fault:?} {out:?}");
        let why = &out.failed[0].1;
        assert!(
            why.contains("lb02: backup failed: ") && why.ends_with("; the device was not changed"),
            "{why}"
        );
        match fault {
            Fault::BackupFails => assert!(why.contains("no space left on device"), "{why}"),
            _ => assert!(
                why.contains("copied 11 bytes, the device lists 23"),
                "{why}"
            ),
        }
        assert!(
            !bed.fleet
                .events()
                .iter()
                .any(|e| e.contains("install") || e.contains("failover")),
            "{fault:?}: {:?}",
            bed.fleet.events()
        );
        // Nothing half-written is left.
        let left: Vec<_> = std::fs::read_dir(folder.join("lb02"))
            .map(|d| d.flatten().map(|e| e.file_name()).collect())
            .unwrap_or_default();
        assert!(left.is_empty(), "{fault:?}: {left:?}");
        bed.fleet.fix("lb02");
        assert_eq!(bed.run(&w, Budget::Count(0)).completed, 2, "{fault:?}");
        assert!(folder.join("lb02/lbfleet-plan-lb02.ucs").exists());
    }
}

#[test]
fn archive_names_are_what_the_driver_accepts() {
    let b = Backups {
        dir: "x".into(),
        tag: "fra1 plan (v2)".into(),
    };
    assert_eq!(b.archive("lb01;rm"), "lbfleet-fra1-plan--v2--lb01-rm.ucs");
    let f5 = Drivers::load(None).unwrap();
    let f5 = f5.get(Vendor::F5).unwrap();
    assert!(
        f5.render("backup", &[("archive", &b.archive("lb01;rm"))])
            .is_ok()
    );
    let long = Backups {
        dir: "x".into(),
        tag: "p".repeat(300),
    };
    assert_eq!(long.archive("d").len(), 124);
    assert!(
        f5.render("backup", &[("archive", &long.archive("d"))])
            .is_ok()
    );
}

#[test]
fn the_ticket_s_back_out_is_what_rollback_does_after_the_entry() {
    // After the canary entry, and after the whole rollout, the way back the ticket reads from
    // its planned journal is the one `back_out` finds in the real run's journal.
    let w = carried_canary();
    let bed = Bed::new();
    pair_fleet(&bed, &[]);
    bed.run_with(
        &w,
        Budget::Count(0),
        &PlannedWindows,
        WindowMode::Wait,
        (0, 0),
        &mut |_| false,
    );
    let planned = ticket::journal_after(&w, 0, "ha01");
    assert_eq!(
        back_steps(&back_out(&w, &planned, "ha01").unwrap()),
        back_steps(&back_out(&w, &bed.entries(), "ha01").unwrap())
    );
    let bed = Bed::new();
    pair_fleet(&bed, &[]);
    assert_eq!(bed.run(&w, Budget::Count(0)).completed, 2);
    let planned = ticket::journal_after(&w, 1, "ha01");
    let steps = back_steps(&back_out(&w, &planned, "ha01").unwrap());
    assert_eq!(
        steps,
        back_steps(&back_out(&w, &bed.entries(), "ha01").unwrap())
    );
    assert_eq!(steps.len(), 4);
    // Another group's steps are not this one's.
    assert!(ticket::journal_after(&w, 1, "ha02").is_empty());
}

#[test]
fn a_hop_cut_short_still_knows_the_volume_to_keep_and_the_way_back() {
    // Three volumes and two hops; the first hop's reboot never comes back in time.
    let bed = Bed::new();
    bed.fleet.add("c3", "active", None, &[Fault::NeverReturns]);
    bed.fleet.add_volume("c3", "13.1.5");
    let mut g = single("c3");
    g.devices[0].path = vec!["16.1.4".into(), "17.1.1.3".into()];
    let w = waves(vec![g], vec![]);
    assert_eq!(bed.run(&w, Budget::Count(0)).completed, 0);
    // The start of the first hop recorded where c3 ran before anything changed.
    let start = bed
        .entries()
        .into_iter()
        .find(|e| e.event == journal::Event::Start && e.get("step") == Some("hop"))
        .unwrap();
    assert_eq!(start.get("booted_before"), Some("HD1.1"));
    // Back, the resume finds the first hop done (no volume in its record) and the second hop
    // still keeps HD1.1.
    bed.fleet.fix("c3");
    assert_eq!(bed.run(&w, Budget::Count(0)).completed, 1);
    assert!(bed.at("c3 install HD1.3 17.1.1.3") > bed.at("c3 install HD1.2 16.1.4"));
    let bo = back_out(&w, &bed.entries(), "c3").unwrap();
    let r = bo.reverts().next().unwrap();
    assert_eq!(
        (r.booted_before.as_deref(), r.overwritten_by.as_deref()),
        (Some("HD1.1"), None)
    );
    bed.roll_back(&bo).unwrap();
    assert_eq!(bed.fleet.device("c3").active, 0);
}

#[test]
fn a_revert_that_did_not_come_back_is_continued_and_checked() {
    let bed = Bed::new();
    pair_fleet(&bed, &[]);
    let w = carried_canary();
    assert_eq!(bed.run(&w, Budget::Count(0)).completed, 2);
    // lb02's reboot back does not return in time: the rollback stops there, lb01 untouched.
    bed.fleet.break_with("lb02", Fault::NeverReturns);
    let bo = back_out(&w, &bed.entries(), "ha01").unwrap();
    let err = bed.roll_back(&bo).unwrap_err();
    // A revert that failed is no rollback in the report.
    let md = report::markdown(&plan_of(w.clone()), "plan.json", &bed.entries());
    assert!(
        md.contains("| 0 | ha01 | lb02 | 15.1.10 | 16.1.4 | 1/1 | upgraded |"),
        "{md}"
    );
    assert!(
        err.contains("lb02: ") && err.contains("did not come back"),
        "{err}"
    );
    assert_eq!(bed.fleet.device("lb01").role, "active");
    assert_eq!(bed.fleet.device("lb01").version(), "16.1.4");
    // It came back on 15.1.10 but out of sync: found there, and checked as after a reboot.
    bed.fleet.fix("lb02");
    bed.fleet.break_with("lb02", Fault::OutOfSync);
    let bo = back_out(&w, &bed.entries(), "ha01").unwrap();
    assert_eq!(back_steps(&bo)[0], "revert lb02 standby");
    let err = bed.roll_back(&bo).unwrap_err();
    assert!(
        err.contains("post-checks failed on 15.1.10") && err.contains("sync"),
        "{err}"
    );
    assert_eq!(bed.fleet.device("lb01").role, "active");
    // In sync again: lb02 is not rebooted a third time, the rest follows.
    bed.fleet.fix("lb02");
    let bo = back_out(&w, &bed.entries(), "ha01").unwrap();
    bed.roll_back(&bo).unwrap();
    let downs = bed
        .fleet
        .events()
        .iter()
        .filter(|e| *e == "lb02 down")
        .count();
    assert_eq!(downs, 2, "{:?}", bed.fleet.events());
    assert_eq!(bed.fleet.device("lb01").version(), "15.1.10");
    assert_eq!(bed.fleet.device("lb01").role, "active");
    let skipped = bed.entries().into_iter().any(|e| {
        e.event == journal::Event::Skip
            && e.get("step") == Some("revert")
            && e.get("device") == Some("lb02")
    });
    assert!(skipped);
}

#[test]
fn a_failover_by_hand_since_the_journal_is_read_off_the_devices() {
    let bed = Bed::new();
    pair_fleet(&bed, &[]);
    let w = carried_canary();
    assert_eq!(bed.run(&w, Budget::Count(0)).completed, 2);
    // An operator fails the pair over at the console: lb02 carries traffic, the journal says lb01.
    let out = bed
        .fleet
        .connect(&device("lb01", "active", &[]))
        .unwrap()
        .exec("tmsh run sys failover standby")
        .unwrap();
    assert_eq!(out.status, 0);
    let bo = back_out(&w, &bed.entries(), "ha01").unwrap();
    assert_eq!(bo.carrier.as_deref(), Some("lb01"));
    // The devices say otherwise (once lb02 has settled into its role).
    let now = (0..20)
        .find_map(|_| carrier_now(&bo, &bed.drivers, &bed.fleet).ok().flatten())
        .expect("one unit reports active");
    assert_eq!(now, "lb02");
    let bo = back_out_from(&w, &bed.entries(), "ha01", Some(&now)).unwrap();
    assert_eq!(
        back_steps(&bo),
        [
            "revert lb01 standby",
            "failover lb02->lb01",
            "revert lb02 standby"
        ]
    );
    bed.roll_back(&bo).unwrap();
    for d in ["lb01", "lb02"] {
        assert_eq!(bed.fleet.device(d).version(), "15.1.10", "{d}");
    }
    assert_eq!(bed.fleet.device("lb01").role, "active");
    // Both units active, or neither: nothing is decided for the operator.
    let bed = Bed::new();
    bed.fleet.add("lb01", "active", Some("lb02"), &[]);
    bed.fleet.add("lb02", "active", Some("lb01"), &[]);
    let e = carrier_now(&bo, &bed.drivers, &bed.fleet).unwrap_err();
    assert!(e.contains("lb02 and lb01 report active at once"), "{e}");
    let bed = Bed::new();
    bed.fleet.add("lb01", "standby", Some("lb02"), &[]);
    bed.fleet.add("lb02", "standby", Some("lb01"), &[]);
    let e = carrier_now(&bo, &bed.drivers, &bed.fleet).unwrap_err();
    assert!(e.contains("no unit reports active (lb02, lb01)"), "{e}");
}

#[test]
fn the_way_back_prefers_the_volume_the_device_ran_before() {
    // Two volumes hold 15.1.10 once the hop is done: HD1.1 (where it ran) and HD1.3.
    let bed = Bed::new();
    bed.fleet.add("c5", "active", None, &[]);
    bed.fleet.add_volume("c5", "15.1.10");
    let w = waves(vec![single("c5")], vec![]);
    assert_eq!(bed.run(&w, Budget::Count(0)).completed, 1);
    let f5 = bed.drivers.get(Vendor::F5).unwrap();
    let old = Version::parse(Vendor::F5, "15.1.10").unwrap();
    let mut t = bed.fleet.connect(&device("c5", "standalone", &[])).unwrap();
    for (prefer, want) in [
        (Some("HD1.3"), "HD1.3"),
        (Some("HD1.1"), "HD1.1"),
        (None, "HD1.1"),
    ] {
        assert_eq!(
            crate::device::way_back(t.as_mut(), f5, &old, prefer).unwrap(),
            crate::device::Way::Boot(Some(want.into())),
            "{prefer:?}"
        );
    }
}

#[test]
fn the_backup_is_gated_by_the_checks_and_not_taken_again_after_a_failed_hop() {
    // Out of sync before anything: no backup, nothing changed.
    let mut bed = Bed::new();
    bed.backups = Some(Backups {
        dir: bed.dir.path().join("b"),
        tag: "plan".into(),
    });
    bed.fleet.add("lb01", "active", Some("lb02"), &[]);
    bed.fleet
        .add("lb02", "standby", Some("lb01"), &[Fault::OutOfSync]);
    let w = carried_canary();
    let out = bed.run(&w, Budget::Count(0));
    assert!(
        out.failed[0]
            .1
            .contains("lb02: before the backup: pre-checks failed, nothing changed")
            && out.failed[0].1.contains("sync"),
        "{out:?}"
    );
    assert!(bed.fleet.events().is_empty(), "{:?}", bed.fleet.events());
    // A hop that fails after the backup: the resume does not save again.
    let mut bed = Bed::new();
    bed.backups = Some(Backups {
        dir: bed.dir.path().join("b"),
        tag: "plan".into(),
    });
    bed.fleet.add("c0", "active", None, &[Fault::InstallFails]);
    let w = waves(vec![single("c0")], vec![]);
    assert_eq!(bed.run(&w, Budget::Count(0)).failed.len(), 1);
    bed.fleet.fix("c0");
    assert_eq!(bed.run(&w, Budget::Count(0)).completed, 1);
    let saves = bed
        .fleet
        .events()
        .iter()
        .filter(|e| e.contains(" save ucs "))
        .count();
    assert_eq!(saves, 1, "{:?}", bed.fleet.events());
    // A device found on the hop's target already (a hop finished before a crash, the journal
    // restarted) is backed up all the same, and its hop changes nothing.
    let mut bed = Bed::new();
    bed.backups = Some(Backups {
        dir: bed.dir.path().join("b"),
        tag: "plan".into(),
    });
    bed.fleet.add("c1", "active", None, &[]);
    let w = waves(vec![single("c1")], vec![]);
    assert_eq!(bed.run(&w, Budget::Count(0)).completed, 1);
    std::fs::remove_file(bed.journal()).unwrap();
    assert_eq!(bed.run(&w, Budget::Count(0)).completed, 1);
    let saves = bed
        .fleet
        .events()
        .iter()
        .filter(|e| e.contains(" save ucs "))
        .count();
    assert_eq!(saves, 2);
}

#[test]
fn the_run_report_and_the_consent_tell_a_rollback() {
    let bed = Bed::new();
    pair_fleet(&bed, &[]);
    bed.fleet.add("c0", "active", None, &[]);
    let mut w = carried_canary();
    w[1].groups.push(single("c0"));
    assert_eq!(bed.run(&w, Budget::Count(0)).completed, 3);
    let bo = back_out(&w, &bed.entries(), "ha01").unwrap();
    assert_eq!(
        bo.describe(),
        [
            "reboot lb02 (lb02.example:22) from 16.1.4 back into 15.1.10 (it ran HD1.1 before the rollout)",
            "fail over from lb01 (lb01.example:22) to lb02 (lb02.example:22) on 15.1.10",
            "reboot lb01 (lb01.example:22) from 16.1.4 back into 15.1.10 (it ran HD1.1 before the rollout)",
            "fail over from lb02 (lb02.example:22) to lb01 (lb01.example:22) on 15.1.10"
        ]
    );
    // Only lb02 goes back here (its hop is the last word on it), c0 stays upgraded.
    let only = bo.only("lb02").unwrap();
    bed.roll_back(&only).unwrap();
    let md = report::markdown(&plan_of(w), "plan.json", &bed.entries());
    for row in [
        "| 0 | ha01 | lb02 | 15.1.10 | 16.1.4 | 1/1 | rolled back: runs 15.1.10 again |",
        "| 1 | ha01 | lb01 | 15.1.10 | 16.1.4 | 1/1 | upgraded |",
        "| 1 | c0 | c0 | 15.1.10 | 16.1.4 | 1/1 | upgraded |",
    ] {
        assert!(md.contains(row), "{row}\n{md}");
    }
}

#[test]
fn a_canary_stopped_at_its_failover_goes_back_by_its_standby_alone() {
    // Only the canary's wave is planned; its failover is refused, so the journal names no
    // carrier: the plan's active (the failover's giver, outside the entry's devices) carries.
    let bed = Bed::new();
    bed.fleet
        .add("lb01", "active", Some("lb02"), &[Fault::FailoverFails]);
    bed.fleet.add("lb02", "standby", Some("lb01"), &[]);
    let mut w = carried_canary();
    w.truncate(1);
    let out = bed.run(&w, Budget::Count(0));
    assert_eq!(names(&out.failed), ["ha01"], "{out:?}");
    assert_eq!(carrying(&bed.entries(), "ha01"), None);
    let bo = back_out(&w, &bed.entries(), "ha01").unwrap();
    assert_eq!(bo.carrier.as_deref(), Some("lb01"));
    assert_eq!(back_steps(&bo), ["revert lb02 standby"]);
    let r = bo.reverts().next().unwrap();
    assert_eq!(
        r.peer,
        Some(("lb01".to_string(), "lb01.example:22".to_string()))
    );
    bed.roll_back(&bo).unwrap();
    assert_eq!(bed.fleet.device("lb02").version(), "15.1.10");
    assert_eq!(bed.fleet.device("lb01").role, "active");
    // Another group of the plan that nothing touched has nothing to do, in those words.
    let other = with_second_pair(w.clone());
    let err = back_out(&other, &bed.entries(), "ha02").unwrap_err();
    assert_eq!(
        err,
        NoWayBack::Nothing(
            "ha02: nothing of this rollout has changed it: there is nothing to roll back".into()
        )
    );
}

#[test]
fn a_dry_run_revert_checks_the_unit_and_its_peer_as_the_run_does() {
    let bed = Bed::new();
    pair_fleet(&bed, &[]);
    let w = carried_canary();
    assert_eq!(bed.run(&w, Budget::Count(0)).completed, 2);
    let bo = back_out(&w, &bed.entries(), "ha01").unwrap();
    let lb02 = bo.reverts().next().unwrap().clone();
    let shown = |r: &Revert, after: bool| -> Vec<String> {
        dry_run_revert(&bo, r, &bed.drivers, &bed.fleet, after)
            .unwrap()
            .iter()
            .map(|c| format!("{} {:?} {}", c.name, c.status, c.detail))
            .collect()
    };
    assert_eq!(shown(&lb02, false), ["ha-role Ok standby as expected"]);
    // After the failover before it, the roles differ: checked then, not now.
    assert!(shown(&lb02, true).is_empty());
    // A peer that does not carry the traffic is what the real run refuses on.
    let mut wrong = lb02.clone();
    wrong.peer = Some(("lb02".into(), "lb02.example:22".into()));
    let out = shown(&wrong, false);
    assert_eq!(out.len(), 2, "{out:?}");
    assert!(
        out[1].starts_with("peer Fail lb02, which must carry the traffic meanwhile, is standby"),
        "{out:?}"
    );
}

#[test]
fn the_ticket_shows_each_step_on_its_address_and_the_way_back_after_it() {
    let mut w = carried_canary();
    w[0].groups[0].devices[0].path = vec!["16.1.4".into(), "17.1.1.3".into()];
    let mut plan = plan_of(w);
    plan.options.durations = crate::planner::Durations::default().rows;
    let b = Backups {
        dir: "plan.backups".into(),
        tag: "plan".into(),
    };
    let sections = ticket::sections(&plan, &Drivers::load(None).unwrap(), &b, "plan.json");
    assert_eq!(sections.len(), 2);
    let rows = |i: usize| -> Vec<String> {
        sections[i]
            .table
            .rows
            .iter()
            .map(|r| {
                r.iter()
                    .map(|c| c.render("; "))
                    .collect::<Vec<_>>()
                    .join(" | ")
            })
            .collect()
    };
    let canary = rows(0);
    let on = "lb02 (lb02.example:22)";
    for row in [
        format!("1 | pre-check | {on} | `tmsh show sys version` | runs 15.1.10 | "),
        format!("4 | pre-check | {on} | `tmsh load sys config verify` | succeeds | "),
        format!("5 | backup | {on} | `tmsh save sys config` | exit 0 | "),
        format!("6 | backup | {on} | `tmsh save sys ucs lbfleet-plan-lb02.ucs` | /var/local/ucs/lbfleet-plan-lb02.ucs copied to plan.backups/lb02/lbfleet-plan-lb02.ucs, size and SHA-256 as the device's; if not, stop here | "),
        format!("8 | forward | {on} | `tmsh install sys software image <image for 16.1.4> volume <an inactive volume> create-volume` | `tmsh show sys software status` shows the volume complete with 16.1.4 | 30"),
        format!("13 | post-check | {on} | `tmsh load sys config verify` | succeeds | 10"),
        "22 | forward | lb01 (lb01.example:22) | `tmsh run sys failover standby` | lb02 (lb02.example:22) active, in sync and healthy; if not, traffic goes back to lb01 | 5".to_string(),
        "23 | back-out | lbfleet | `lbfleet rollback plan.json --group ha01` runs the steps below | the group back on the releases it ran before, roles as before | ".to_string(),
        format!("24 | back-out | {on} | `tmsh run sys failover standby` | lb01 (lb01.example:22) active on 15.1.10, in sync and healthy | 5"),
        format!("25 | back-out | {on} | `tmsh reboot volume <the volume holding 15.1.10>` | answers again on 15.1.10, standby, in sync and healthy; if no volume holds 15.1.10: reinstall it and restore plan.backups/lb02/lbfleet-plan-lb02.ucs | 25"),
    ] {
        assert!(canary.contains(&row), "{row}\nnot in\n{canary:#?}");
    }
    // The note on the way back by reboot comes before the second hop's install.
    let note = canary
        .iter()
        .position(|r| r.contains(" | note | "))
        .unwrap();
    let second = canary
        .iter()
        .position(|r| r.contains("<image for 17.1.1.3> volume"))
        .unwrap();
    assert_eq!(note + 1, second, "{canary:#?}");
    // Forward minutes: two hops of 15 + 30 + 15 + 10, and the failover.
    let minutes: i64 = canary
        .iter()
        .filter(|r| r.contains(" | forward | ") || r.contains(" | post-check | "))
        .filter_map(|r| r.rsplit(" | ").next()?.parse::<i64>().ok())
        .sum();
    assert_eq!(minutes, 145);
    assert!(
        sections[0]
            .title
            .ends_with("; forward about 60 min, back-out about 30 min by reboot while a volume still holds the old release (else a reinstall and the backup)"),
        "{}",
        sections[0].title
    );
    // Wave 1: the soak's carrier checked first; the way back ends with lb01 carrying again.
    let wave1 = rows(1);
    assert!(
        wave1[0].starts_with(
            "1 | soak check | lb02 (lb02.example:22) | `tmsh show cm failover-status` | active"
        ),
        "{wave1:#?}"
    );
    // lb01 is upgraded as the standby the canary's failover left it.
    assert!(
        wave1.iter().any(|r| r.contains(
            "| pre-check | lb01 (lb01.example:22) | `tmsh show cm failover-status` | standby |"
        )),
        "{wave1:#?}"
    );
    // In a group done in one window, the former active is upgraded as standby too.
    let mut full = plan_of(waves(
        vec![],
        vec![pair("ha01", "lb01", "lb02", &["16.1.4"])],
    ));
    full.options.durations = crate::planner::Durations::default().rows;
    let s = ticket::sections(&full, &Drivers::load(None).unwrap(), &b, "plan.json");
    let checks: Vec<String> = s[0]
        .table
        .rows
        .iter()
        .map(|r| {
            r.iter()
                .map(|c| c.render("; "))
                .collect::<Vec<_>>()
                .join(" | ")
        })
        .filter(|r| r.contains("| pre-check |") && r.contains("failover-status"))
        .collect();
    assert_eq!(checks.len(), 2, "{checks:#?}");
    assert!(
        checks.iter().all(|r| r.contains("| standby |")),
        "{checks:#?}"
    );
    let back: Vec<&String> = wave1
        .iter()
        .filter(|r| r.contains(" | back-out | "))
        .collect();
    assert_eq!(back.len(), 5, "{back:#?}");
    assert!(back[4].contains("| lb02 (lb02.example:22) | `tmsh run sys failover standby` | lb01 (lb01.example:22) active on 15.1.10"));
    assert!(
        sections[1]
            .title
            .contains(", back-out about 60 min by reboot"),
        "{}",
        sections[1].title
    );
}

#[test]
fn no_backup_once_a_device_s_change_has_begun() {
    // A first run without backups whose hop failed (or was cut off mid-way): the device may be
    // changed already, so a later run with backups takes none for it ("before the first
    // change" has passed) and goes on with the hop.
    for cut in [false, true] {
        let mut bed = Bed::new();
        bed.fleet.add("c0", "active", None, &[Fault::InstallFails]);
        let w = waves(vec![single("c0")], vec![]);
        assert_eq!(bed.run(&w, Budget::Count(0)).failed.len(), 1);
        if cut {
            // As if killed before the failure was written: the hop's start is the last word.
            let text = std::fs::read_to_string(bed.journal()).unwrap();
            let kept: Vec<&str> = text.lines().filter(|l| !l.contains(" fail ")).collect();
            std::fs::write(bed.journal(), kept.join("\n") + "\n").unwrap();
        }
        bed.fleet.fix("c0");
        bed.backups = Some(Backups {
            dir: bed.dir.path().join("b"),
            tag: "plan".into(),
        });
        assert_eq!(bed.run(&w, Budget::Count(0)).completed, 1, "cut {cut}");
        let saves = bed
            .fleet
            .events()
            .iter()
            .filter(|e| e.contains(" save "))
            .count();
        assert_eq!(saves, 0, "cut {cut}: {:?}", bed.fleet.events());
    }
}

#[test]
fn one_pair_s_stuck_rollback_does_not_hold_another_pair() {
    let bed = Bed::new();
    pair_fleet(&bed, &[]);
    bed.fleet.add("lb04", "active", Some("lb03"), &[]);
    bed.fleet.add("lb03", "standby", Some("lb04"), &[]);
    let w = with_second_pair(carried_canary());
    bed.run_with(
        &w,
        Budget::Count(0),
        &PlannedWindows,
        WindowMode::Wait,
        (0, 0),
        &mut |_| false,
    );
    // ha02's rollback leaves traffic on lb04, which then fails its checks: ha02 waits for an
    // operator, ha01 does not.
    bed.fleet.break_with("lb04", Fault::UnhealthyWhenActive);
    let bo = back_out(&w, &bed.entries(), "ha02").unwrap();
    assert!(bed.roll_back(&bo).is_err());
    assert!(matches!(
        back_out(&w, &bed.entries(), "ha02"),
        Err(NoWayBack::Refused(_))
    ));
    let bo = back_out(&w, &bed.entries(), "ha01").unwrap();
    bed.roll_back(&bo).unwrap();
    assert_eq!(bed.fleet.device("lb02").version(), "15.1.10");
}

#[test]
fn a_standalone_ticket_has_no_sync_check_and_goes_back_alone() {
    let mut plan = plan_of(waves(vec![single("c0")], vec![]));
    plan.options.durations = crate::planner::Durations::default().rows;
    let b = Backups {
        dir: "b".into(),
        tag: "p".into(),
    };
    let sections = ticket::sections(&plan, &Drivers::load(None).unwrap(), &b, "p.json");
    let rows: Vec<String> = sections[0]
        .table
        .rows
        .iter()
        .map(|r| {
            r.iter()
                .map(|c| c.render("; "))
                .collect::<Vec<_>>()
                .join(" | ")
        })
        .collect();
    assert!(!rows.iter().any(|r| r.contains("sync-status")), "{rows:#?}");
    assert_eq!(
        rows.iter().filter(|r| r.contains("| pre-check |")).count(),
        3
    );
    assert!(
        rows.iter().any(|r| r.contains("| back-out | c0 (c0.example:22) | `tmsh reboot volume <the volume holding 15.1.10>` | answers again on 15.1.10, standalone,")),
        "{rows:#?}"
    );
    assert!(
        sections[0].title.ends_with(", back-out about 25 min"),
        "{}",
        sections[0].title
    );
}

#[test]
fn verify_fix_judges_devices_upgraded_to_their_target_against_untouched_ones_of_the_old_release() {
    use crate::evaluator::verify::{Control, Upgraded, subjects};
    let mut b3 = single("b3");
    b3.devices[0].path = vec!["16.1.4".into(), "17.1.1.3".into()];
    let w = waves(
        vec![single("c0")],
        vec![
            single("b1"),
            single("b2"),
            pair("ha01", "lb01", "lb02", &["16.1.4"]),
            b3,
        ],
    );
    let journal = "\
2026-11-29T10:00:00Z start wave=0 group=c0 step=hop device=c0 to=16.1.4
2026-11-29T10:05:00Z done wave=0 group=c0 step=hop device=c0 to=16.1.4
2026-11-29T11:00:00Z start wave=1 group=b1 step=hop device=b1 to=16.1.4
2026-11-29T11:10:00Z done wave=1 group=b1 step=hop device=b1 to=16.1.4
2026-11-29T12:00:00Z done wave=1 group=b1 step=revert device=b1 to=15.1.10
2026-11-29T11:00:00Z start wave=1 group=b2 step=hop device=b2 to=16.1.4
2026-11-29T11:01:00Z fail wave=1 group=b2 step=hop device=b2 to=16.1.4 error=x
2026-11-29T11:20:00Z start wave=1 group=ha01 step=hop device=lb02 to=16.1.4
2026-11-29T11:30:00Z skip wave=1 group=ha01 step=hop device=lb02 to=16.1.4
2026-11-29T11:40:00Z start wave=1 group=b3 step=hop device=b3 to=16.1.4
2026-11-29T11:50:00Z done wave=1 group=b3 step=hop device=b3 to=16.1.4
";
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("j"), journal).unwrap();
    let entries = Journal::read(&dir.path().join("j")).unwrap();
    let others: Vec<(String, String, String)> = [
        ("x1", "i4800", "15.1.10"),
        ("x2", "i4800", "14.1.0"),
        ("x3", "i2800", "15.1.10"),
        ("c0", "i4800", "16.1.4"),
    ]
    .iter()
    .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
    .collect();
    let plan = plan_of(w);
    let at = |t: &str| t.parse::<jiff::Timestamp>().unwrap().as_second() as u32;
    let up = |d: &str, began: &str, ended: &str| Upgraded {
        device: d.into(),
        model: "i4800".into(),
        from: "15.1.10".into(),
        to: "16.1.4".into(),
        began: at(began),
        ended: at(ended),
    };
    let control = |d: &str| Control {
        device: d.into(),
        model: "i4800".into(),
        release: "15.1.10".into(),
    };
    // Rolled back (b1), failed (b2) and part-way (b3) are neither upgraded nor control; the
    // untouched unit of the pair is, and so is the inventory's x1 (same model and release).
    let (upgraded, controls) = subjects(&plan, &entries, &others, None);
    assert_eq!(
        upgraded,
        [
            up("c0", "2026-11-29T10:00:00Z", "2026-11-29T10:05:00Z"),
            up("lb02", "2026-11-29T11:20:00Z", "2026-11-29T11:30:00Z")
        ]
    );
    assert_eq!(controls, [control("lb01"), control("x1")]);
    // The gate's view: the canary wave only.
    let (upgraded, _) = subjects(&plan, &entries, &others, Some(&[0]));
    assert_eq!(
        upgraded,
        [up("c0", "2026-11-29T10:00:00Z", "2026-11-29T10:05:00Z")]
    );
    // Nothing upgraded: no control group either.
    let (upgraded, controls) = subjects(&plan, &entries[..0], &others, None);
    assert!(upgraded.is_empty() && controls.is_empty());
}
