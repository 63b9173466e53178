//! The way back on the device lab: `lbfleet rollback` after a rollout returns a pair to its
//! original release HA-safely (the lab's own event log is the judge), goes straight back to the
//! original volume after two hops when the device kept it, and refuses with the reason when an
//! install overwrote it or the driver has no rollback.

use crate::canary::{csv_row, pair, unit};
use crate::rollout::{setup_with, upgrade};
use crate::support::{Lab, Test};

fn rollback(lab: &Lab, extra: &[&str]) -> crate::support::Output {
    let plan = lab.path("plan.json");
    let mut args = vec!["rollback", plan.as_str()];
    args.extend_from_slice(extra);
    lab.run(&args)
}

/// The lab's events after the first `skip`, without their times.
fn events_after(lab: &Lab, skip: usize) -> Vec<String> {
    lab.events()
        .lines()
        .skip(skip)
        .map(|l| l.split_once(' ').unwrap().1.to_string())
        .collect()
}

#[test]
fn a_rolled_out_pair_goes_back_standby_first_as_the_lab_log_shows() {
    let lab = setup_with(2, 96, "", &[]);
    upgrade(&lab, &["--yes"]).code(0);
    assert_eq!(unit(&lab, "lab-lb01"), pair("active", "16.1.4"));
    assert_eq!(unit(&lab, "lab-lb02"), pair("standby", "16.1.4"));
    // The journal knows where each unit came from.
    let journal = std::fs::read_to_string(lab.path("plan.journal")).unwrap();
    assert!(
        journal
            .contains("step=hop device=lab-lb02 to=16.1.4 booted_before=HD1.1 booted_after=HD1.2"),
        "{journal}"
    );
    Test::new()
        .args(&["status", &lab.path("plan.json")])
        .run()
        .code(0)
        .stdout_has("lab-ha01: lab-lb01 carries traffic; can be rolled back: reboot lab-lb02")
        .stdout_has("(it ran HD1.1 before the rollout), then fail over from lab-lb01");
    // The mistakes a user makes: nothing selected, a typo, a wave the plan lacks.
    let plan = lab.path("plan.json");
    Test::new()
        .args(&["rollback", &plan])
        .run()
        .code(2)
        .stderr_has("--group");
    rollback(&lab, &["--device", "lab-lb2", "--yes"])
        .code(2)
        .stderr_has("no device lab-lb2 in the plan")
        .stderr_has("did you mean \"lab-lb02\"?");
    rollback(&lab, &["--wave", "7", "--yes"])
        .code(2)
        .stderr_has("no wave 7 in the plan (its waves: 0, 1)");
    // A driver without a rollback command refuses, having changed nothing.
    let no_rollback = lab.path("drivers/no-rollback.toml");
    std::fs::write(
        &no_rollback,
        std::fs::read_to_string(lab.path("drivers/f5.toml"))
            .unwrap()
            .replace("[commands.rollback]", "[commands.not_rollback]"),
    )
    .unwrap();
    let before = lab.events();
    Test::new()
        .args(&[
            "rollback",
            &plan,
            "--group",
            "lab-ha01",
            "--yes",
            "--identity",
            &lab.path("id_ed25519"),
            "--known-hosts",
            &lab.path("known_hosts"),
            "--drivers",
            &no_rollback,
        ])
        .run()
        .code(1)
        .stderr_has("lab-ha01: cannot roll back: lab-lb02: the f5 driver")
        .stderr_has("has no rollback command");
    // The dry run reads both units and prints the exact commands, changing nothing.
    rollback(&lab, &["--group", "lab-ha01", "--dry-run"])
        .code(0)
        .stdout_has("lab-lb02 ha-role: Ok standby as expected")
        .stdout_has("lab-lb02 $ tmsh reboot volume HD1.1")
        .stdout_has("lab-lb01 $ tmsh reboot volume HD1.1")
        .stdout_has("tmsh run sys failover standby");
    assert_eq!(lab.events(), before);
    let seen = lab.events().lines().count();
    rollback(&lab, &["--group", "lab-ha01", "--yes"])
        .code(0)
        .stdout_has("lab-ha01: rolled back: lab-lb02 on 15.1.10, lab-lb01 on 15.1.10; lab-lb01 carries traffic");
    // The lab's own log: the standby back first, then traffic to it, then the other unit, then
    // traffic back to the unit that carried it before the change.
    assert_eq!(
        events_after(&lab, seen),
        [
            "lab-lb02 down",
            "lab-lb02 up",
            "lab-lb01 failover to lab-lb02",
            "lab-lb01 down",
            "lab-lb01 up",
            "lab-lb02 failover to lab-lb01"
        ]
    );
    lab.assert_pairs_never_both_down();
    // The run report, rewritten from the whole journal, says so.
    let report = std::fs::read_to_string(lab.path("plan.report.md")).unwrap();
    assert!(
        report.contains("| lab-lb02 | 15.1.10 | 16.1.4 | 1/1 | rolled back: runs 15.1.10 again |")
            && report.contains("| revert | lab-lb01 | 15.1.10 | done |"),
        "{report}"
    );
    assert_eq!(unit(&lab, "lab-lb01"), pair("active", "15.1.10"));
    assert_eq!(unit(&lab, "lab-lb02"), pair("standby", "15.1.10"));
    assert!(
        lab.commands("lab-lb02")
            .contains("tmsh reboot volume HD1.1")
    );
    // The inventory follows, and the plan still explains the fleet.
    assert!(
        csv_row(&lab, "lab-lb01").contains(",15.1.10,")
            && csv_row(&lab, "lab-lb01").ends_with(",active")
    );
    assert!(
        csv_row(&lab, "lab-lb02").contains(",15.1.10,")
            && csv_row(&lab, "lab-lb02").ends_with(",standby")
    );
    Test::new().args(&["plan", "check", &plan]).run().code(0);
    Test::new()
        .args(&["status", &plan])
        .run()
        .code(0)
        .stdout_has("lab-ha01: rolled back at ");
    // Again: nothing to do, which is no failure.
    rollback(&lab, &["--group", "lab-ha01", "--yes"])
        .code(0)
        .stdout_has("lab-ha01 was rolled back at")
        .stdout_has("nothing to do");
}

/// A standalone lab device planned from 15.1.10 to 17.1.1.3 (two hops, through 16.1.4).
fn two_hops(net: u32, volumes: usize) -> Lab {
    let lab = Lab::up(1, net, "");
    if volumes > 2 {
        lab.change("lab-lb01", |s| {
            s["volumes"].as_array_mut().unwrap().push(serde_json::json!(
                {"version": "13.1.5", "build": "0.0.4", "active": false, "status": "complete"}
            ));
        });
    }
    lab.add_image("BIGIP-16.1.4-0.0.1.iso", "16.1.4", &[42u8; 1 << 16]);
    lab.add_image("BIGIP-17.1.1.3-0.0.1.iso", "17.1.1.3", &[43u8; 1 << 16]);
    let plan = lab.path("plan.json");
    Test::new()
        .args(&[
            "plan",
            &lab.path("inventory"),
            "--target",
            "f5=17.1.1.3",
            "--canary-soak",
            "0",
            "-o",
            &plan,
            "-q",
        ])
        .run()
        .code(0);
    lab
}

#[test]
fn after_two_hops_the_way_back_is_the_kept_volume_or_a_refusal_saying_why() {
    // Three volumes: the second hop goes to HD1.3, HD1.1 keeps 15.1.10.
    let lab = two_hops(97, 3);
    upgrade(&lab, &["--yes"]).code(0);
    assert_eq!(lab.version("lab-lb01"), "17.1.1.3");
    let installs: Vec<String> = lab
        .events()
        .lines()
        .filter(|l| l.contains(" install "))
        .map(|l| l.split_once(' ').unwrap().1.to_string())
        .collect();
    assert_eq!(
        installs,
        [
            "lab-lb01 install HD1.2 16.1.4",
            "lab-lb01 install HD1.3 17.1.1.3"
        ]
    );
    let seen = lab.events().lines().count();
    rollback(&lab, &["--device", "lab-lb01", "--yes"])
        .code(0)
        .stdout_has("rolled back: lab-lb01 on 15.1.10");
    assert_eq!(events_after(&lab, seen), ["lab-lb01 down", "lab-lb01 up"]);
    assert_eq!(lab.version("lab-lb01"), "15.1.10");
    assert!(
        lab.commands("lab-lb01")
            .contains("tmsh reboot volume HD1.1")
    );

    // Two volumes: the second hop had to install over HD1.1. The plan's dry run said so, status
    // says so, and the rollback refuses in the device's terms, having changed nothing.
    let lab = two_hops(98, 2);
    upgrade(&lab, &["--dry-run"])
        .stdout_has("HD1.1 holds 15.1.10, the release to go back to: with no other inactive volume, this install overwrites it");
    upgrade(&lab, &["--yes"]).code(0);
    Test::new()
        .args(&["status", &lab.path("plan.json")])
        .run()
        .code(0)
        .stdout_has("lab-lb01: cannot be rolled back by a reboot: lab-lb01 ran 15.1.10 on HD1.1, which the hop to 17.1.1.3 was installed over (reinstall 15.1.10 and restore the backup ")
        .stdout_has("plan.backups/lab-lb01/lbfleet-plan-lab-lb01.ucs)");
    let before = lab.events();
    rollback(&lab, &["--device", "lab-lb01", "--yes"])
        .code(1)
        .stderr_has("no volume holds 15.1.10 any more (HD1.1, where it ran before the rollout, was overwritten by a later install)")
        .stderr_has("HD1.1 17.1.1.3 complete (active)")
        .stderr_has("(the configuration backup taken before its first change: ")
        .stderr_has("plan.backups/lab-lb01/lbfleet-plan-lab-lb01.ucs)");
    assert_eq!(lab.events(), before);
    assert_eq!(lab.version("lab-lb01"), "17.1.1.3");
}

#[test]
fn each_device_is_backed_up_before_its_first_change_and_a_failed_save_stops_it_untouched() {
    let lab = setup_with(2, 99, "lab-lb02=backup-fails", &[]);
    upgrade(&lab, &["--yes"])
        .code(1)
        .stdout_has(
            "lab-lb02: backup failed: `tmsh save sys ucs lbfleet-plan-lab-lb02.ucs` exited 1",
        )
        .stdout_has("No space left on device")
        .stdout_has("the device was not changed");
    assert!(!lab.commands("lab-lb02").contains("install"));
    assert!(!lab.events().contains("failover"));
    assert_eq!(unit(&lab, "lab-lb02"), pair("standby", "15.1.10"));
    // Fixed on the device, the resume takes the backup first, then upgrades.
    lab.change("lab-lb02", |s| s["faults"] = serde_json::json!([]));
    upgrade(&lab, &["--yes", "--resume"]).code(0);
    let events = lab.events();
    for d in ["lab-lb01", "lab-lb02"] {
        let archive = format!("lbfleet-plan-{d}.ucs");
        let at = |what: &str| {
            events
                .lines()
                .position(|l| l.ends_with(what))
                .unwrap_or_else(|| panic!("{what} missing:\n{events}"))
        };
        assert!(at(&format!("{d} save config")) < at(&format!("{d} save ucs {archive}")));
        assert!(at(&format!("{d} save ucs {archive}")) < at(&format!("{d} install HD1.2 16.1.4")));
        // The copy beside the plan is the device's archive, byte for byte, and the journal
        // records it.
        let copy = std::fs::read(lab.path(&format!("plan.backups/{d}/{archive}"))).unwrap();
        let theirs =
            std::fs::read(lab.path(&format!("devices/{d}/root/var/local/ucs/{archive}"))).unwrap();
        assert!(copy == theirs && copy.len() > 300 * 1024, "{d}");
        let journal = std::fs::read_to_string(lab.path("plan.journal")).unwrap();
        let done = journal
            .lines()
            .find(|l| l.contains(" done ") && l.contains(&format!("step=backup device={d} ")))
            .unwrap_or_else(|| panic!("no backup of {d}:\n{journal}"));
        assert!(
            done.contains(&format!("archive=/var/local/ucs/{archive}").replace("/var", "var"))
                && done.contains(&format!("archive_bytes={}", copy.len())),
            "{done}"
        );
    }
    // Nothing half-written beside the copies.
    for d in ["lab-lb01", "lab-lb02"] {
        let names: Vec<String> = std::fs::read_dir(lab.path(&format!("plan.backups/{d}")))
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, [format!("lbfleet-plan-{d}.ucs")]);
    }
}
