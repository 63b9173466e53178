//! The canary that carries traffic, on the device lab: the upgraded standby is active through
//! the soak, the former active on the old release is the way back (a failed check, or
//! `lbfleet rollback`), and pairs end with the roles they began with unless `--no-failback`.

use crate::rollout::{plan_lab, setup_with, upgrade};
use crate::support::{Lab, Test};

fn rollback(lab: &Lab, extra: &[&str]) -> crate::support::Output {
    let plan = lab.path("plan.json");
    let mut args = vec!["rollback", plan.as_str()];
    args.extend_from_slice(extra);
    lab.run(&args)
}

pub(crate) fn csv_row(lab: &Lab, device: &str) -> String {
    std::fs::read_to_string(lab.dir.path().join("inventory/devices.csv"))
        .unwrap()
        .lines()
        .find(|l| l.starts_with(&format!("{device},")))
        .unwrap()
        .to_string()
}

/// (role, version) as the lab device itself says.
pub(crate) fn unit(lab: &Lab, device: &str) -> (String, String) {
    (lab.role(device), lab.version(device))
}

pub(crate) fn pair(role: &str, version: &str) -> (String, String) {
    (role.to_string(), version.to_string())
}

#[test]
fn a_new_active_that_fails_its_checks_hands_traffic_straight_back() {
    let lab = setup_with(2, 89, "lab-lb02=unhealthy-when-active", &[]);
    upgrade(&lab, &["--yes"])
        .code(1)
        .stdout_has("lab-lb02 became active and failed its checks")
        .stdout_has("Configuration error")
        .stdout_has("failed back to lab-lb01, which carries traffic again")
        .stdout_has("stopped: the canary failed");
    let events = lab.events();
    let failovers: Vec<&str> = events.lines().filter(|l| l.contains("failover")).collect();
    assert_eq!(failovers.len(), 2, "{events}");
    assert!(
        failovers[0].ends_with("lab-lb01 failover to lab-lb02"),
        "{events}"
    );
    assert!(
        failovers[1].ends_with("lab-lb02 failover to lab-lb01"),
        "{events}"
    );
    assert_eq!(unit(&lab, "lab-lb01"), pair("active", "15.1.10"));
    assert!(!lab.commands("lab-lb01").contains("install"));
    // The inventory says where traffic is: lab-lb01 active; lab-lb02 on its new release.
    assert!(
        csv_row(&lab, "lab-lb01").contains(",15.1.10,")
            && csv_row(&lab, "lab-lb01").ends_with(",active")
    );
    assert!(
        csv_row(&lab, "lab-lb02").contains(",16.1.4,")
            && csv_row(&lab, "lab-lb02").ends_with(",standby")
    );
    lab.assert_pairs_never_both_down();
}

#[test]
fn an_operator_rollback_during_the_soak_gives_traffic_back_and_the_rollout_stops_there() {
    let lab = setup_with(2, 90, "", &["--canary-soak", "2h"]);
    upgrade(&lab, &["--yes", "--due"])
        .code(0)
        .stdout_has("1 of 2 groups completed");
    // The soak: the new release carries traffic, the old one waits.
    assert_eq!(unit(&lab, "lab-lb02"), pair("active", "16.1.4"));
    assert_eq!(unit(&lab, "lab-lb01"), pair("standby", "15.1.10"));
    Test::new()
        .args(&["status", &lab.path("plan.json")])
        .run()
        .code(0)
        .stdout_has(
            "lab-ha01: lab-lb02 carries traffic; can be rolled back: fail over from lab-lb02",
        )
        .stdout_has("then reboot lab-lb02")
        .stdout_has("--group lab-ha01`");
    // A dry run during the soak checks what is left, in the roles the canary left.
    let (key, known, drivers, images) = (
        lab.path("id_ed25519"),
        lab.path("known_hosts"),
        lab.path("drivers/f5.toml"),
        lab.path("images"),
    );
    Test::new()
        .args(&[
            "upgrade",
            &lab.path("plan.json"),
            "--dry-run",
            "--identity",
            &key,
            "--known-hosts",
            &known,
            "--drivers",
            &drivers,
            "--images",
            &images,
        ])
        .run()
        .code(0)
        .stdout_has("done (the journal shows every step finished)")
        .stdout_has("lab-lb01 ha-role: Ok standby as expected");
    // Mistakes first: a group the plan lacks, no consent without a terminal.
    rollback(&lab, &["--group", "lab-ha1", "--yes"])
        .code(2)
        .stderr_has("no group lab-ha1 in the plan")
        .stderr_has("did you mean \"lab-ha01\"?");
    rollback(&lab, &["--group", "lab-ha01"])
        .code(2)
        .stderr_has("not a terminal: nothing was done");
    // The dry run checks both units and changes nothing.
    let before = lab.events();
    rollback(&lab, &["--group", "lab-ha01", "--dry-run"])
        .code(0)
        .stdout_has("lab-ha01: fail over from lab-lb02")
        .stdout_has("tmsh run sys failover standby")
        .stdout_has("lab-lb02 $ tmsh reboot volume HD1.1");
    assert_eq!(lab.events(), before);
    // Traffic goes back to the old release at once, then the canary reboots back into it.
    rollback(&lab, &["--group", "lab-ha01", "--yes"])
        .code(0)
        .stdout_has("lab-ha01: rolled back: lab-lb02 on 15.1.10; lab-lb01 carries traffic");
    let events = lab.events();
    let tail: Vec<&str> = events
        .lines()
        .rev()
        .take(3)
        .map(|l| l.split_once(' ').unwrap().1)
        .collect();
    assert_eq!(
        tail,
        [
            "lab-lb02 up",
            "lab-lb02 down",
            "lab-lb02 failover to lab-lb01"
        ],
        "{events}"
    );
    assert_eq!(unit(&lab, "lab-lb01"), pair("active", "15.1.10"));
    assert_eq!(unit(&lab, "lab-lb02"), pair("standby", "15.1.10"));
    assert!(csv_row(&lab, "lab-lb01").ends_with(",active"));
    assert!(
        csv_row(&lab, "lab-lb02").contains(",15.1.10,")
            && csv_row(&lab, "lab-lb02").ends_with(",standby")
    );
    // The plan still explains the fleet (the journal says what the rollback did).
    Test::new()
        .args(&["plan", "check", &lab.path("plan.json")])
        .run()
        .code(0);
    Test::new()
        .args(&["status", &lab.path("plan.json")])
        .run()
        .code(0)
        .stdout_has("lab-ha01: rolled back at ");
    // Once is enough; and the rollout does not continue the group.
    rollback(&lab, &["--group", "lab-ha01", "--yes"])
        .code(0)
        .stdout_has("lab-ha01 was rolled back at")
        .stdout_has("nothing to do");
    upgrade(&lab, &["--yes", "--resume", "--ignore-windows"])
        .code(1)
        .stdout_has("lab-ha01 was rolled back at");
    assert!(!lab.commands("lab-lb01").contains("install"));
    lab.assert_pairs_never_both_down();
}

#[test]
fn a_carrier_that_degrades_during_the_soak_is_rolled_back_before_the_next_wave() {
    let lab = setup_with(2, 91, "", &["--canary-soak", "2h"]);
    upgrade(&lab, &["--yes", "--due"]).code(0);
    lab.change("lab-lb02", |s| {
        s["faults"] = serde_json::json!(["unhealthy-when-active"]);
    });
    // The soak is cut short (an emergency run): the carrier is still checked first.
    upgrade(&lab, &["--yes", "--resume", "--ignore-windows"])
        .code(1)
        .stdout_has("lab-lb02 failed its checks after the soak")
        .stdout_has("failed back to lab-lb01, which carries traffic again");
    assert_eq!(unit(&lab, "lab-lb01"), pair("active", "15.1.10"));
    assert!(!lab.commands("lab-lb01").contains("install"));
    assert!(csv_row(&lab, "lab-lb01").ends_with(",active"));
    lab.assert_pairs_never_both_down();
}

#[test]
fn without_failback_the_pair_keeps_the_swap_and_the_inventory_says_so() {
    let lab = plan_lab(Lab::up(2, 92, ""), &["--no-failback"]);
    upgrade(&lab, &["--yes"])
        .code(0)
        .stdout_has("2 of 2 groups completed");
    assert_eq!(unit(&lab, "lab-lb01"), pair("standby", "16.1.4"));
    assert_eq!(unit(&lab, "lab-lb02"), pair("active", "16.1.4"));
    assert!(csv_row(&lab, "lab-lb01").ends_with(",standby"));
    assert!(csv_row(&lab, "lab-lb02").ends_with(",active"));
    assert_eq!(lab.events().matches("failover").count(), 1);
    Test::new()
        .args(&["plan", "check", &lab.path("plan.json")])
        .run()
        .code(0);
    let (inv, key, known) = (
        lab.path("inventory"),
        lab.path("id_ed25519"),
        lab.path("known_hosts"),
    );
    Test::new()
        .args(&[
            "inventory",
            "sync",
            &inv,
            "--identity",
            &key,
            "--known-hosts",
            &known,
        ])
        .run()
        .code(0);
}
