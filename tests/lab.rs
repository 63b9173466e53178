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

/// A lab with a 2 MiB BIG-IP 17.5.1 image in its manifest.
fn lab_with_image(devices: u32, net: u32, faults: &str) -> Lab {
    let lab = Lab::up(devices, net, faults);
    let bytes: Vec<u8> = (0..2u32 << 20)
        .map(|i| (i.wrapping_mul(2654435761) >> 24) as u8)
        .collect();
    lab.add_image("BIGIP-17.5.1-0.0.7.iso", "17.5.1", &bytes);
    lab.add_image("BIGIP-16.1.4-0.0.1.iso", "16.1.4", &bytes[..1 << 20]);
    lab
}

/// `device upgrade-hop NAME --to TO` with short reconnect and install polls, then `extra`.
fn hop(lab: &Lab, name: &str, to: &str, extra: &[&str]) -> crate::support::Output {
    let mut args = vec![
        "device",
        "upgrade-hop",
        name,
        "--to",
        to,
        "--poll-interval",
        "0.3",
    ];
    args.extend_from_slice(extra);
    device(lab, &args)
}

/// Runs `command` on a lab device with the OpenSSH client, as an operator at its shell would.
fn ssh(lab: &Lab, n: u32, net: u32, command: &str) -> std::process::Output {
    std::process::Command::new("ssh")
        .args(["-i", &lab.path("id_ed25519")])
        .args([
            "-o",
            &format!("UserKnownHostsFile={}", lab.path("known_hosts")),
        ])
        .args(["-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes"])
        .args(["-p", "2222", &format!("127.0.{net}.{n}"), command])
        .output()
        .expect("run ssh")
}

fn device(lab: &Lab, args: &[&str]) -> crate::support::Output {
    let mut all: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    for (k, v) in [
        ("--inventory", "inventory"),
        ("--identity", "id_ed25519"),
        ("--known-hosts", "known_hosts"),
        ("--drivers", "drivers/f5.toml"),
        ("--images", "images"),
    ] {
        all.push(k.into());
        all.push(lab.path(v));
    }
    let refs: Vec<&str> = all.iter().map(String::as_str).collect();
    Test::new().args(&refs).run()
}

#[test]
fn stage_uploads_verifies_skips_and_resumes_a_dropped_upload() {
    let lab = lab_with_image(2, 21, "lab-lb02=drop-mid-upload");
    device(
        &lab,
        &["device", "stage", "lab-lb01", "--version", "17.5.1"],
    )
    .code(0)
    .stdout_has("staged (2097152 bytes sent in ")
    .stdout_has("verified on the device");
    device(
        &lab,
        &["device", "stage", "lab-lb01", "--version", "17.5.1"],
    )
    .code(0)
    .stdout_has("already on the device");
    // The connection drops after 256 KiB: a clear failure, then the next run continues.
    device(
        &lab,
        &["device", "stage", "lab-lb02", "--version", "17.5.1"],
    )
    .code(1);
    device(
        &lab,
        &["device", "stage", "lab-lb02", "--version", "17.5.1"],
    )
    .code(0)
    .stdout_has(", resumed after ");
    assert!(!lab.commands("lab-lb02").contains("install"));
}

#[test]
fn stage_refuses_a_bad_checksum_and_a_full_disk_without_installing() {
    let lab = lab_with_image(2, 22, "lab-lb01=checksum-mismatch;lab-lb02=disk-full");
    device(
        &lab,
        &["device", "stage", "lab-lb01", "--version", "17.5.1"],
    )
    .code(1)
    .stderr_has("checksum mismatch for BIGIP-17.5.1-0.0.7.iso on the device");
    device(
        &lab,
        &["device", "stage", "lab-lb02", "--version", "17.5.1"],
    )
    .code(1)
    .stderr_has("not enough space: 0 MiB free in shared/images");
    for d in ["lab-lb01", "lab-lb02"] {
        assert!(!lab.commands(d).contains("tmsh install"), "{d}");
    }
    device(
        &lab,
        &["device", "stage", "lab-lb01", "--version", "17.5.2"],
    )
    .code(2)
    .stderr_has("no f5 17.5.2 image");
}

#[test]
fn one_hop_installs_reboots_for_real_and_passes_post_checks() {
    let lab = lab_with_image(1, 23, "");
    let out = hop(&lab, "lab-lb01", "16.1.4", &["--reboot-timeout", "30"]);
    out.code(0)
        .stdout_has("lab-lb01: upgraded 15.1.10 -> 16.1.4, post-checks passed")
        .stderr_has("Reboot")
        // The install's progress as the device reports it.
        .stderr_has("Install 0 % (HD1.2 installing 0.000 pct)");
    let log = lab.commands("lab-lb01");
    let install = log
        .find("tmsh install sys software image BIGIP-16.1.4-0.0.1.iso volume HD1.2 create-volume")
        .unwrap_or_else(|| panic!("no install:\n{log}"));
    let reboot = log
        .find("tmsh reboot volume HD1.2")
        .unwrap_or_else(|| panic!("no reboot:\n{log}"));
    // Between the two, lbfleet read the install's progress until the volume was complete.
    assert!(
        log[install..reboot].contains("tmsh show sys software status"),
        "{log}"
    );
    // The lab's own record: the reboot was not refused, and sshd really went away and came back.
    let events = lab.events();
    assert!(!events.contains("reboot refused"), "{events}");
    assert!(
        events.contains("lab-lb01 install HD1.2 16.1.4")
            && events.contains("lab-lb01 down")
            && events.contains("lab-lb01 up"),
        "{events}"
    );
    // Run again: the device already runs the hop's target: nothing is done (idempotent).
    let installs = lab.commands("lab-lb01").matches("tmsh install").count();
    hop(&lab, "lab-lb01", "16.1.4", &["--reboot-timeout", "30"])
        .code(0)
        .stdout_has("lab-lb01: already runs 16.1.4: nothing done");
    assert_eq!(
        lab.commands("lab-lb01").matches("tmsh install").count(),
        installs
    );
}

#[test]
fn the_lab_refuses_a_reboot_into_an_unfinished_install_as_a_device_does() {
    let lab = lab_with_image(1, 31, "");
    // Staged by lbfleet, installed and rebooted by hand at once, as a hurried operator would.
    device(
        &lab,
        &["device", "stage", "lab-lb01", "--version", "16.1.4"],
    )
    .code(0);
    let install = ssh(
        &lab,
        1,
        31,
        "tmsh install sys software image BIGIP-16.1.4-0.0.1.iso volume HD1.2 create-volume",
    );
    assert!(install.status.success(), "{install:?}");
    let status = ssh(&lab, 1, 31, "tmsh show sys software status");
    let text = String::from_utf8_lossy(&status.stdout);
    assert!(text.contains("installing"), "{text}");
    let reboot = ssh(&lab, 1, 31, "tmsh reboot volume HD1.2");
    assert_eq!(reboot.status.code(), Some(1), "{reboot:?}");
    assert!(
        String::from_utf8_lossy(&reboot.stderr).contains("Volume HD1.2 is not bootable."),
        "{reboot:?}"
    );
    assert!(lab.events().contains("reboot refused HD1.2"));
    assert!(!lab.events().contains("lab-lb01 down"));
}

#[test]
fn an_install_that_fails_or_outlasts_its_timeout_is_never_rebooted_into() {
    let lab = lab_with_image(2, 32, "lab-lb01=install-fails");
    hop(&lab, "lab-lb01", "16.1.4", &[])
        .code(1)
        .stderr_has("install of BIGIP-16.1.4-0.0.1.iso to HD1.2 failed: the device reports \"failed (installation of the image did not complete)\"");
    assert!(!lab.commands("lab-lb01").contains("reboot"));
    // The lab's installs take 3 s: a 1 s limit stops before any reboot.
    hop(&lab, "lab-lb02", "16.1.4", &["--install-timeout", "1"])
        .code(1)
        .stderr_has("did not complete within 1 s (last: HD1.2 installing")
        .stderr_has("nothing was rebooted");
    assert!(!lab.commands("lab-lb02").contains("reboot"));
    // Run again: the volume now holds the finished install; it is used, not installed again.
    hop(&lab, "lab-lb02", "16.1.4", &["--reboot-timeout", "30"])
        .code(0)
        .stderr_has("16.1.4 already on HD1.2 (an earlier attempt's install)");
    assert_eq!(lab.commands("lab-lb02").matches("tmsh install").count(), 1);
}

#[test]
fn a_hop_the_vendor_does_not_support_is_refused_with_the_supported_path() {
    let lab = lab_with_image(1, 33, "");
    hop(&lab, "lab-lb01", "17.5.1", &[])
        .code(2)
        .stderr_has("15.1.10 -> 17.5.1 is not a vendor-supported hop: the supported path is 15.1.10 > 16.1.4 > 17.1.1.3 > 17.5.1")
        .stderr_has("nothing was done");
    assert_eq!(lab.commands("lab-lb01"), "", "the device was not contacted");
}

#[test]
fn hop_faults_end_in_typed_failures() {
    let lab = lab_with_image(3, 24, "lab-lb02=never-returns;lab-lb03=wrong-version");
    hop(&lab, "lab-lb02", "16.1.4", &["--reboot-timeout", "4"])
        .code(1)
        .stderr_has("did not come back within 4 s");
    hop(&lab, "lab-lb03", "16.1.4", &["--reboot-timeout", "30"])
        .code(1)
        .stderr_has("came back on 15.1.10, not 16.1.4");
}

#[test]
fn hostile_values_never_reach_a_device() {
    let lab = lab_with_image(1, 25, "");
    // A manifest naming a hostile file is refused before any connection.
    let manifest = lab.dir.path().join("images/manifest.csv");
    let text = std::fs::read_to_string(&manifest).unwrap();
    std::fs::write(
        &manifest,
        text.replace("BIGIP-17.5.1-0.0.7.iso", "x.iso;reboot"),
    )
    .unwrap();
    device(
        &lab,
        &["device", "stage", "lab-lb01", "--version", "17.5.1"],
    )
    .code(2)
    .stderr_has("is not a plain file name");
    device(
        &lab,
        &[
            "device",
            "upgrade-hop",
            "lab-lb01",
            "--to",
            "17.5.1; reboot",
        ],
    )
    .code(2)
    .stderr_has("invalid f5 version");
    device(
        &lab,
        &["device", "upgrade-hop", "lab-lb01", "--to", "$(id)"],
    )
    .code(2);
    assert!(
        lab.commands("lab-lb01").is_empty(),
        "{}",
        lab.commands("lab-lb01")
    );
}

#[test]
fn a_slow_device_hits_the_command_timeout_as_a_failed_check() {
    let lab = Lab::up(1, 26, "lab-lb01=slow");
    check(&lab, "lab-lb01", &["--command-timeout", "1"])
        .code(1)
        .stdout_has("FAIL")
        .stdout_has("127.0.26.1:2222");
    // The device was only slow: the commands it received were all read-only.
    assert!(!lab.commands("lab-lb01").contains("install"));
}

#[test]
fn a_lab_brought_up_again_starts_fresh_without_the_last_walk_through_s_files() {
    let lab = Lab::up(2, 88, "");
    std::fs::write(lab.dir.path().join("plan.journal"), "x\n").unwrap();
    std::fs::write(
        lab.dir.path().join("plan.json"),
        "{\n  \"schema\": \"lbfleet.plan/1\"\n}\n",
    )
    .unwrap();
    // Not the lab's and not lbfleet's: left alone.
    std::fs::write(lab.dir.path().join("notes.json"), "{}\n").unwrap();
    let out = std::process::Command::new(crate::support::repo().join("scripts/lab"))
        .env("LAB_DEVICE", env!("CARGO_BIN_EXE_lbfleet-lab-device"))
        .args(["up", "--devices", "2", "--net", "88", "--dir"])
        .arg(lab.dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!lab.dir.path().join("plan.journal").exists());
    assert!(!lab.dir.path().join("plan.json").exists());
    assert!(lab.dir.path().join("notes.json").exists());
    // And its devices answer, with the new keys.
    check(&lab, "lab-lb01", &[])
        .code(0)
        .stdout_has("runs 15.1.10");
}
