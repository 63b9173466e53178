//! `lbfleet upgrade` keeps every promise its plan makes, against the device lab (real sshd):
//! both units checked before a failover, windows and soaks, consent before any change, vendor
//! hop rules, a plan's values validated up front, a dry run that sees every gate, resume after
//! a kill mid-reboot, `--restart`, and errors that quote the device. Each test asserts from the
//! lab's own logs (commands received, events) as well as from lbfleet's output.

use crate::rollout::{plan_lab, setup, setup_with, spawn, upgrade, upgrade_args};
use crate::support::{Lab, Test};

/// Rewrites the lab's plan file through `edit` (a hand edit, as a reviewer might make).
fn edit_plan(lab: &Lab, edit: impl Fn(&mut serde_json::Value)) {
    let path = lab.dir.path().join("plan.json");
    let mut plan: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    edit(&mut plan);
    std::fs::write(&path, serde_json::to_string_pretty(&plan).unwrap()).unwrap();
}

/// Whether any lab device received a command.
fn untouched(lab: &Lab, devices: u32) -> bool {
    (1..=devices).all(|n| lab.commands(&format!("lab-lb{n:02}")).is_empty())
}

#[test]
fn a_failover_checks_both_units_and_refuses_with_both_answers() {
    // The active unit has changes not synced to its peer; a BIG-IP fails over all the same.
    let lab = setup(2, 51, "lab-lb01=out-of-sync");
    let out = upgrade(&lab, &["--yes"]);
    out.code(1)
        .stdout_has("failover to lab-lb02: refused, nothing changed: lab-lb01: sync: \"Changes Pending\", not in sync");
    // The lab's own record: the standby was upgraded, no failover happened, the active was
    // never touched beyond read-only commands.
    let events = lab.events();
    assert!(events.contains("lab-lb02 down"), "{events}");
    assert!(!events.contains("failover"), "{events}");
    let active = lab.commands("lab-lb01");
    for changing in ["tmsh install", "tmsh reboot", "tmsh run sys failover"] {
        assert!(!active.contains(changing), "{active}");
    }
    assert!(active.contains("tmsh show cm sync-status"), "{active}");
}

/// A window of four hours that opens eight hours from now (site time UTC), every day.
fn closed_window() -> String {
    let now = jiff::Timestamp::now().to_zoned_datetime(jiff::tz::TimeZone::UTC);
    let s = (now.hour() as i64 + 8) % 24;
    let e = (s + 4) % 24;
    format!(
        "Mon-Sun {s:02}:00-{}:00",
        if e == 0 {
            "24".into()
        } else {
            format!("{e:02}")
        }
    )
}

/// A lab whose site's window is not open now, planned (so the plan placed its groups there).
fn lab_with_window(devices: u32, net: u32, window: &str) -> Lab {
    let lab = Lab::up(devices, net, "");
    std::fs::write(
        lab.dir.path().join("inventory/sites.csv"),
        format!("site,timezone,windows,order\nLAB,UTC,{window},1\n"),
    )
    .unwrap();
    plan_lab(lab, &[])
}

#[test]
fn groups_start_only_inside_their_window_unless_windows_are_ignored() {
    let window = closed_window();
    let lab = lab_with_window(2, 52, &window);
    // --due: what may start now runs (nothing), the rest is listed with its window; exit 0.
    upgrade(&lab, &["--yes", "--due"])
        .code(0)
        .stdout_has("waiting: lab-ha01: the next LAB window with room for")
        .stdout_has("0 of 2 groups completed");
    assert!(
        untouched(&lab, 2),
        "a device was contacted outside its window"
    );
    // By default it waits, with a countdown; Ctrl-C ends the wait at once.
    let args = upgrade_args(&lab, &["--yes"]);
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_lbfleet"))
        .args(&args)
        .current_dir(lab.dir.path())
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut stderr, &mut text).unwrap();
        text
    });
    std::thread::sleep(std::time::Duration::from_millis(1500));
    // SAFETY: sending SIGINT to our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    assert_eq!(child.wait().unwrap().code(), Some(130));
    let text = reader.join().unwrap();
    assert!(
        text.contains("lab-ha01: waiting ") && text.contains("for the next LAB window"),
        "{text}"
    );
    assert!(
        untouched(&lab, 2),
        "a device was contacted outside its window"
    );
    // The emergency override runs now, and says so in the journal and the report.
    let report = lab.path("report.md");
    upgrade(
        &lab,
        &["--yes", "--resume", "--ignore-windows", "--report", &report],
    )
    .code(0)
    .stdout_has("2 of 2 groups completed");
    let journal = std::fs::read_to_string(lab.dir.path().join("plan.journal")).unwrap();
    assert!(journal.contains(" note what=ignore-windows "), "{journal}");
    let report = std::fs::read_to_string(&report).unwrap();
    assert!(
        report.contains("## Overrides") && report.contains("ignore-windows"),
        "{report}"
    );
    lab.assert_pairs_never_both_down();
}

#[test]
fn the_wave_after_the_canary_waits_for_the_soak() {
    let lab = setup_with(2, 53, "", &["--canary-soak", "2h"]);
    upgrade(&lab, &["--yes", "--due"])
        .code(0)
        .stdout_has("1 of 2 groups completed")
        .stdout_has("waiting: lab-ha01: the 120-minute soak after wave 0: starts at ");
    // The canary ran: the standby was upgraded and took the traffic for the soak; the former
    // active, on the old release, has not been touched.
    let events = lab.events();
    assert!(events.contains("lab-lb02 down"), "{events}");
    assert!(!events.contains("lab-lb01 down"), "{events}");
    assert_eq!(events.matches("failover").count(), 1, "{events}");
    assert!(events.contains("lab-lb01 failover to lab-lb02"), "{events}");
    assert_eq!(
        (lab.role("lab-lb02"), lab.version("lab-lb02")),
        ("active".to_string(), "16.1.4".to_string())
    );
    assert_eq!(
        (lab.role("lab-lb01"), lab.version("lab-lb01")),
        ("standby".to_string(), "15.1.10".to_string())
    );
}

#[test]
fn nothing_changes_without_consent() {
    let lab = setup(2, 54, "");
    // No terminal and no --yes: refused before any connection.
    upgrade(&lab, &[])
        .code(2)
        .stderr_has("not a terminal: nothing was done")
        .stderr_has("pass --yes");
    assert!(untouched(&lab, 2));
    assert!(!lab.dir.path().join("plan.journal").exists());
}

#[test]
fn a_hop_the_vendor_does_not_support_is_refused_before_any_session() {
    let lab = setup(2, 55, "");
    // A hand edit: straight from 15.1.10 to 17.5.1, skipping the vendor's required hops.
    edit_plan(&lab, |p| {
        p["waves"][0]["groups"][0]["devices"][0]["path"] = serde_json::json!(["17.5.1"]);
    });
    upgrade(&lab, &["--yes"])
        .code(2)
        .stderr_has("lab-lb02: 15.1.10 -> 17.5.1 is not a vendor-supported hop: the supported path is 15.1.10 > 16.1.4 > 17.1.1.3 > 17.5.1");
    assert!(untouched(&lab, 2));
    // Without the image the hop needs, refused before any session too (exit 2).
    upgrade(&lab, &["--yes", "--force"])
        .code(2)
        .stderr_has("f5 17.5.1 is not in");
    assert!(untouched(&lab, 2));
    // --force runs it anyway and records why.
    lab.add_image("BIGIP-17.5.1-0.0.7.iso", "17.5.1", &vec![17u8; 1 << 20]);
    upgrade(&lab, &["--yes", "--force"]).code(0);
    assert_eq!(lab.version("lab-lb02"), "17.5.1");
    let journal = std::fs::read_to_string(lab.dir.path().join("plan.journal")).unwrap();
    assert!(
        journal.contains(" note what=force ") && journal.contains("not a vendor-supported hop"),
        "{journal}"
    );
}

#[test]
fn every_value_of_a_hand_edited_plan_is_checked_before_the_first_session() {
    let lab = setup(4, 56, "");
    // A hostile device name in the canary, a hostile address in the last wave.
    edit_plan(&lab, |p| {
        p["waves"][0]["groups"][0]["devices"][0]["name"] = serde_json::json!("$(touch x)");
        let last = p["waves"].as_array().unwrap().len() - 1;
        p["waves"][last]["groups"][0]["devices"][0]["mgmt_host"] =
            serde_json::json!("127.0.56.3;reboot");
    });
    for extra in [&["--yes"][..], &["--yes", "--force"][..]] {
        upgrade(&lab, extra)
            .code(2)
            .stderr_has("device \"$(touch x)\": not a valid device name")
            .stderr_has("mgmt_host \"127.0.56.3;reboot\"")
            .stderr_has("nothing was done");
    }
    assert!(untouched(&lab, 4));
    assert!(!lab.dir.path().join("x").exists());
}

#[test]
fn a_dry_run_sees_every_gate_and_the_real_volumes_and_failovers() {
    let lab = Lab::up(2, 57, "lab-lb01=disk-full");
    lab.add_image("BIGIP-16.1.4-0.0.1.iso", "16.1.4", &vec![1u8; 1 << 20]);
    lab.add_image("BIGIP-17.1.1.3-0.0.5.iso", "17.1.1.3", &vec![2u8; 1 << 20]);
    let (inventory, plan) = (lab.path("inventory"), lab.path("plan.json"));
    Test::new()
        .args(&[
            "plan",
            &inventory,
            "--target",
            "f5=17.1.1.3",
            "-o",
            &plan,
            "--canary-soak",
            "0",
            "-q",
        ])
        .run()
        .code(0);
    let out = upgrade(&lab, &["--dry-run"]);
    // The full disk on the active would stop the real run: the dry run says so and exits 1.
    out.code(1)
        .stdout_has("lab-lb01 free-space: Fail 0 MiB free in shared/images, 65 MiB needed")
        // Volumes as the real run chooses them: HD1.2, then (after booting it) HD1.1.
        .stdout_has("lab-lb02 $ tmsh install sys software image BIGIP-16.1.4-0.0.1.iso volume HD1.2 create-volume")
        .stdout_has("lab-lb02 $ tmsh install sys software image BIGIP-17.1.1.3-0.0.5.iso volume HD1.1 create-volume")
        .stdout_has("lab-lb02 $ tmsh reboot volume HD1.1")
        .stdout_has("failover to lab-lb02 $ tmsh run sys failover standby")
        .stdout_has("failover to lab-lb02 sync: Ok lab-lb02: In Sync");
    for d in ["lab-lb01", "lab-lb02"] {
        let log = lab.commands(d);
        for changing in ["tmsh install", "tmsh reboot", "tmsh run sys failover"] {
            assert!(!log.contains(changing), "{log}");
        }
    }
    // A manifest entry whose file is gone is refused before any device is contacted.
    std::fs::remove_file(lab.dir.path().join("images/BIGIP-17.1.1.3-0.0.5.iso")).unwrap();
    let before = lab.commands("lab-lb02");
    upgrade(&lab, &["--dry-run"])
        .code(2)
        .stderr_has("BIGIP-17.1.1.3-0.0.5.iso is in the manifest but not in");
    assert_eq!(lab.commands("lab-lb02"), before);
}

#[test]
fn resume_after_a_kill_mid_reboot_waits_for_the_device_and_takes_the_dead_lock() {
    let lab = setup(2, 58, "");
    // A slow reboot, so that the kill lands while the device is down.
    let state = lab.dir.path().join("devices/lab-lb02/state.json");
    let text = std::fs::read_to_string(&state)
        .unwrap()
        .replace("\"reboot_seconds\": 2.0", "\"reboot_seconds\": 6.0");
    std::fs::write(&state, text).unwrap();
    let mut args = upgrade_args(&lab, &["--yes", "--reboot-timeout", "60"]);
    let mut child = spawn(&lab, &args);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !lab.events().contains("lab-lb02 down") {
        assert!(std::time::Instant::now() < deadline, "{}", lab.events());
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.kill().unwrap();
    // Not reaped yet: its pid is a zombie's, and the lock must still be taken over.
    args.push("--resume".into());
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = Test::new().args(&refs).run();
    child.wait().unwrap();
    out.code(0)
        .stderr_has("taking over the stale lock")
        .stderr_has("waiting for it as after a reboot")
        .stdout_has("2 of 2 groups completed");
    lab.assert_pairs_never_both_down();
}

#[test]
fn restart_keeps_the_old_journal_and_is_refused_while_a_run_holds_the_lock() {
    let lab = setup(2, 59, "");
    // The inventory is not written back, so the plan still matches it after the run.
    upgrade(&lab, &["--yes", "--no-write-inventory"]).code(0);
    // A live run holds the lock: refused, the journal left as it is.
    std::fs::write(
        lab.dir.path().join("plan.lock"),
        format!("{}\n", std::process::id()),
    )
    .unwrap();
    upgrade(&lab, &["--yes", "--restart"])
        .code(2)
        .stderr_has("is running this plan");
    std::fs::remove_file(lab.dir.path().join("plan.lock")).unwrap();
    let out = upgrade(&lab, &["--yes", "--restart"]);
    out.code(0).stderr_has("the previous journal is kept as ");
    let kept: Vec<String> = std::fs::read_dir(lab.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("plan.journal."))
        .collect();
    assert_eq!(kept.len(), 1, "{kept:?}");
    // The fresh journal starts over; the devices already run the target, so nothing installs.
    let journal = std::fs::read_to_string(lab.dir.path().join("plan.journal")).unwrap();
    assert!(journal.contains(" skip "), "{journal}");
    assert_eq!(lab.commands("lab-lb02").matches("tmsh install").count(), 1);
    // That restart wrote the devices' versions back: the plan is now stale, and a restart
    // (which sets aside the journal that would explain the difference) is refused.
    upgrade(&lab, &["--yes", "--restart"])
        .code(1)
        .stderr_has("error[version-drift]: lab-lb02");
}

#[test]
fn a_standalone_unit_that_is_not_ready_is_refused_quoting_its_answer() {
    let lab = setup(1, 60, "lab-lb01=offline");
    upgrade(&lab, &["--yes"])
        .code(1)
        .stdout_has("role not reported as tmsh show cm failover-status expects (expected standalone): the device answered \"Status   OFFLINE / Summary  1/1 offline\"");
    assert!(!lab.commands("lab-lb01").contains("tmsh install"));
}
