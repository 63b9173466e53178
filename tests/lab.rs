//! `lbfleet device check` against the device lab: real OpenSSH servers on loopback.

use crate::support::{Lab, Test};

fn check(lab: &Lab, device: &str, extra: &[&str]) -> crate::support::Output {
    let inv = lab.path("inventory");
    let key = lab.path("id_ed25519");
    let mut args = vec![
        "device",
        "check",
        device,
        "--inventory",
        &inv,
        "--identity",
        &key,
    ];
    args.extend_from_slice(extra);
    let known = lab.path("known_hosts");
    if !extra.contains(&"--known-hosts") {
        args.extend_from_slice(&["--known-hosts", &known]);
    }
    Test::new().args(&args).run()
}

#[test]
fn a_healthy_pair_passes_every_precheck() {
    let lab = Lab::up(2, 11, "");
    let out = check(&lab, "lab-lb01", &[]);
    out.code(0)
        .stdout_has("runs 15.1.10")
        .stdout_has("active as expected")
        .stdout_has("In Sync")
        .stdout_has("MiB free in /shared/images");
    check(&lab, "lab-lb02", &[])
        .code(0)
        .stdout_has("standby as expected");
    // Only read-only commands reached the device, as the driver spells them.
    let log = lab.commands("lab-lb01");
    assert!(
        log.contains("tmsh show sys version") && log.contains("tmsh show cm sync-status"),
        "{log}"
    );
    assert!(!log.contains("install") && !log.contains("reboot"), "{log}");
}

#[test]
fn drift_role_changes_and_lab_faults_fail_their_checks() {
    let lab = Lab::up(2, 12, "lab-lb02=out-of-sync");
    let inv = std::path::Path::new(&lab.path("inventory")).join("devices.csv");
    // The inventory says lab-lb01 runs 14.1.5 and is the standby (lab-lb02 the active): the
    // devices disagree.
    let changed = "name,site,vendor,model,version,mgmt_host,ha_group,ha_role\n\
        lab-lb01,LAB,f5,i4800,14.1.5,127.0.12.1:2222,lab-ha01,standby\n\
        lab-lb02,LAB,f5,i4800,15.1.10,127.0.12.2:2222,lab-ha01,active\n";
    std::fs::write(&inv, changed).unwrap();
    check(&lab, "lab-lb01", &[])
        .code(1)
        .stdout_has("drift: runs 15.1.10, expected 14.1.5")
        .stdout_has("is active, expected standby");
    check(&lab, "lab-lb02", &[])
        .code(1)
        .stdout_has("is standby, expected active")
        .stdout_has("\"Changes Pending\", not in sync");
}

#[test]
fn host_keys_are_strict_unless_new_ones_are_accepted_and_a_changed_key_is_refused() {
    let lab = Lab::up(1, 13, "");
    let kh = lab.path("kh-empty");
    let out = check(&lab, "lab-lb01", &["--known-hosts", &kh]);
    out.code(2)
        .stderr_has("127.0.13.1:2222: unknown host key SHA256:")
        .stderr_has("--accept-new-host-keys");
    assert!(
        lab.commands("lab-lb01").is_empty(),
        "nothing ran before the key was trusted"
    );
    check(
        &lab,
        "lab-lb01",
        &["--known-hosts", &kh, "--accept-new-host-keys"],
    )
    .code(0)
    .stderr_has("recorded host key SHA256:");
    assert!(
        std::fs::read_to_string(&kh)
            .unwrap()
            .starts_with("[127.0.13.1]:2222 ssh-ed25519 ")
    );
    check(&lab, "lab-lb01", &["--known-hosts", &kh]).code(0);
    lab.rekey("lab-lb01");
    for extra in [
        vec!["--known-hosts", &kh],
        vec!["--known-hosts", &kh, "--accept-new-host-keys"],
    ] {
        check(&lab, "lab-lb01", &extra)
            .code(2)
            .stderr_has("HOST KEY CHANGED")
            .stderr_has("ssh-keygen -R '[127.0.13.1]:2222'");
    }
}

#[test]
fn a_device_that_is_down_or_refuses_the_key_is_a_clear_error() {
    let lab = Lab::up(1, 14, "");
    let wrong = lab.path("wrong_key");
    std::process::Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f", &wrong])
        .status()
        .unwrap();
    let inv = lab.path("inventory");
    Test::new()
        .args(&[
            "device",
            "check",
            "lab-lb01",
            "--inventory",
            &inv,
            "--identity",
            &wrong,
            "--known-hosts",
            &lab.path("known_hosts"),
        ])
        .run()
        .code(2)
        .stderr_has("authentication failed");
    drop(lab);
    let lab = Lab::up(1, 15, "");
    let inv = lab.path("inventory");
    let key = lab.path("id_ed25519");
    let known = lab.path("known_hosts");
    std::process::Command::new(crate::support::repo().join("scripts/lab"))
        .args(["down", "--dir", lab.dir.path().to_str().unwrap()])
        .status()
        .unwrap();
    Test::new()
        .args(&[
            "device",
            "check",
            "lab-lb01",
            "--inventory",
            &inv,
            "--identity",
            &key,
            "--known-hosts",
            &known,
            "--connect-timeout",
            "2",
        ])
        .run()
        .code(2)
        .stderr_has("127.0.15.1:2222: cannot connect");
}
