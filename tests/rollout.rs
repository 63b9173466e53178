//! `lbfleet upgrade` and `lbfleet status` against the device lab.

use crate::support::{Lab, Test};

/// A lab of `devices` with 16.1.4 images and a plan to 16.1.4 (canary soak 0).
pub(crate) fn setup(devices: u32, net: u32, faults: &str) -> Lab {
    setup_with(devices, net, faults, &[])
}

/// As [`setup`], with more `lbfleet plan` flags.
pub(crate) fn setup_with(devices: u32, net: u32, faults: &str, plan_flags: &[&str]) -> Lab {
    plan_lab(Lab::up(devices, net, faults), plan_flags)
}

/// Adds a 16.1.4 image to `lab` and plans its inventory to 16.1.4 (canary soak 0 unless
/// `plan_flags` say otherwise).
pub(crate) fn plan_lab(lab: Lab, plan_flags: &[&str]) -> Lab {
    lab.add_image("BIGIP-16.1.4-0.0.1.iso", "16.1.4", &vec![42u8; 1 << 20]);
    let inventory = lab.path("inventory");
    let plan = lab.path("plan.json");
    let mut args = vec![
        "plan",
        inventory.as_str(),
        "--target",
        "f5=16.1.4",
        "-o",
        plan.as_str(),
        "-q",
    ];
    args.extend_from_slice(plan_flags);
    if !plan_flags.contains(&"--canary-soak") {
        args.extend(["--canary-soak", "0"]);
    }
    Test::new().args(&args).run().code(0);
    lab
}

/// `upgrade PLAN` with the lab's key, known_hosts, driver and images, then `extra`.
pub(crate) fn upgrade_args(lab: &Lab, extra: &[&str]) -> Vec<String> {
    let mut args = vec!["upgrade".to_string(), lab.path("plan.json")];
    for (k, v) in [
        ("--identity", "id_ed25519"),
        ("--known-hosts", "known_hosts"),
        ("--drivers", "drivers/f5.toml"),
        ("--images", "images"),
    ] {
        args.push(k.into());
        args.push(lab.path(v));
    }
    args.extend(["--poll-interval".to_string(), "0.3".into()]);
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}

pub(crate) fn upgrade(lab: &Lab, extra: &[&str]) -> crate::support::Output {
    let args = upgrade_args(lab, extra);
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    Test::new().args(&refs).run()
}

/// `lbfleet` with `args` in the lab folder, in the background, quiet.
pub(crate) fn spawn(lab: &Lab, args: &[String]) -> std::process::Child {
    std::process::Command::new(env!("CARGO_BIN_EXE_lbfleet"))
        .args(args)
        .current_dir(lab.dir.path())
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap()
}

/// Waits (up to a minute) until the journal's text satisfies `ready`.
pub(crate) fn wait_for(journal: &std::path::Path, ready: impl Fn(&str) -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let text = std::fs::read_to_string(journal).unwrap_or_default();
        if ready(&text) {
            return;
        }
        assert!(std::time::Instant::now() < deadline, "no progress:\n{text}");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

#[test]
fn a_rollout_runs_waves_in_order_with_ha_pairs_standby_first() {
    let lab = setup(4, 41, "");
    let out = upgrade(
        &lab,
        &[
            "--yes",
            "--parallel",
            "2",
            "--report",
            &lab.path("report.md"),
        ],
    );
    out.code(0)
        .stdout_has("3 of 3 groups completed, 0 failed")
        .stdout_has("STEP")
        .stderr_has("wave 1 (Wave): 2 groups");
    let report = std::fs::read_to_string(lab.dir.path().join("report.md")).unwrap();
    assert!(
        report.contains("| 0 | lab-ha01 | lab-lb02 | 15.1.10 | 16.1.4 | 1/1 | upgraded |"),
        "{report}"
    );
    // The canary's standby took the traffic in wave 0; wave 1 gave it back to the upgraded
    // former active.
    for row in [
        "| 0 | lab-ha01 | failover |  | lab-lb02 | done |",
        "| 1 | lab-ha01 | failover |  | lab-lb01 | done |",
    ] {
        assert!(report.contains(row), "{row}\n{report}");
    }
    lab.assert_pairs_never_both_down();
    let journal = std::fs::read_to_string(lab.dir.path().join("plan.journal")).unwrap();
    // In each pair the standby's hop ends before the failover, which ends before the active's hop.
    for (standby, active, group) in [
        ("lab-lb02", "lab-lb01", "lab-ha01"),
        ("lab-lb04", "lab-lb03", "lab-ha03"),
    ] {
        let pos = |what: &str| {
            journal
                .lines()
                .position(|l| {
                    l.contains(" done ")
                        && l.contains(&format!("group={group} "))
                        && l.contains(what)
                })
                .unwrap_or_else(|| panic!("{group} {what} missing:\n{journal}"))
        };
        let a = pos(&format!("step=hop device={standby} "));
        let b = pos(&format!("step=failover to={standby} "));
        let c = pos(&format!("step=hop device={active} "));
        let d = pos(&format!("step=failover to={active} "));
        assert!(a < b && b < c && c < d, "{journal}");
        assert_eq!(lab.role(active), "active");
    }
    // The canary is lab-ha01's standby alone (one unit covers the one kind of device), and it
    // ends carrying traffic.
    let canary: Vec<&str> = journal.lines().filter(|l| l.contains("wave=0")).collect();
    assert!(!canary.is_empty(), "{journal}");
    assert!(
        canary.iter().all(|l| l.contains("device=lab-lb02")
            || l.contains("step=failover to=lab-lb02 from=lab-lb01")),
        "{journal}"
    );
    Test::new()
        .args(&["status", &lab.path("plan.json")])
        .run()
        .code(0)
        .stdout_has("3 of 3 groups done");
    // Run again: the journal records it all; without --resume it is refused, with it nothing repeats.
    upgrade(&lab, &["--yes"])
        .code(2)
        .stderr_has("continue it with --resume");
    let before = lab.commands("lab-lb01");
    upgrade(&lab, &["--yes", "--resume"])
        .code(0)
        .stdout_has("3 of 3 groups completed");
    assert!(!lab.commands("lab-lb01")[before.len()..].contains("install"));
}

#[test]
fn a_failed_canary_stops_the_rollout() {
    let lab = setup(4, 42, "lab-lb02=install-fails");
    let out = upgrade(&lab, &["--yes"]);
    out.code(1).stdout_has("stopped: the canary failed");
    let journal = std::fs::read_to_string(lab.dir.path().join("plan.journal")).unwrap();
    assert!(!journal.contains("wave=1"), "{journal}");
    assert!(!lab.commands("lab-lb04").contains("install"));
    Test::new()
        .args(&["status", &lab.path("plan.json")])
        .run()
        .code(0)
        .stdout_has("failed");
}

#[test]
fn the_budget_stops_new_groups_and_resume_finishes_after_the_fix() {
    // Wave 1 has two groups; with one worker and no failures allowed, the first failure stops
    // the second group from starting.
    let lab = setup(4, 43, "lab-lb04=never-returns");
    let out = upgrade(&lab, &["--yes", "--parallel", "1", "--reboot-timeout", "3"]);
    out.code(1).stdout_has("exceed the budget of 0");
    lab.assert_pairs_never_both_down();
    // Fix the device (it comes back, fault cleared), then resume.
    let state = lab.dir.path().join("devices/lab-lb04/state.json");
    let text = std::fs::read_to_string(&state)
        .unwrap()
        .replace("\"never-returns\"", "\"slow-not\"");
    std::fs::write(&state, text).unwrap();
    let sshd = std::process::Command::new("/usr/sbin/sshd")
        .args(["-f", &lab.path("devices/lab-lb04/sshd_config")])
        .status()
        .unwrap();
    assert!(sshd.success());
    // The repaired device is back: record it in the lab's event log as the device would.
    let mut events = std::fs::OpenOptions::new()
        .append(true)
        .open(lab.dir.path().join("devices/events.log"))
        .unwrap();
    std::io::Write::write_all(&mut events, b"0 lab-lb04 up\n").unwrap();
    lab.wait_listening("lab-lb04");
    upgrade(&lab, &["--yes", "--resume", "--parallel", "1"])
        .code(0)
        .stdout_has("3 of 3 groups completed");
    lab.assert_pairs_never_both_down();
}

#[test]
fn dry_run_changes_nothing_and_a_second_run_is_locked_out() {
    let lab = setup(2, 44, "");
    let out = upgrade(&lab, &["--dry-run"]);
    out.code(0)
        .stdout_has("lab-lb02 $ tmsh install sys software image BIGIP-16.1.4-0.0.1.iso volume HD1.2 create-volume")
        .stdout_has("lab-lb01 ha-role: Ok active as expected")
        .stdout_has("failover to lab-lb02 $ tmsh run sys failover standby");
    for d in ["lab-lb01", "lab-lb02"] {
        let log = lab.commands(d);
        for changing in ["tmsh install", "tmsh reboot", "tmsh run sys failover"] {
            assert!(!log.contains(changing), "{log}");
        }
    }
    assert!(!lab.dir.path().join("plan.journal").exists());
    // A live process holds the lock: refused.
    std::fs::write(
        lab.dir.path().join("plan.lock"),
        format!("{}\n", std::process::id()),
    )
    .unwrap();
    upgrade(&lab, &["--yes"])
        .code(2)
        .stderr_has("is running this plan");
    // Our pid with another start time: the pid was reused, the lock's owner is gone.
    std::fs::write(
        lab.dir.path().join("plan.lock"),
        format!("{} 1\n", std::process::id()),
    )
    .unwrap();
    upgrade(&lab, &["--yes", "--due"])
        .code(0)
        .stderr_has("taking over the stale lock");
    // A dead one: the stale lock is taken over.
    std::fs::write(lab.dir.path().join("plan.lock"), "999999\n").unwrap();
    upgrade(&lab, &["--yes", "--resume"])
        .code(0)
        .stderr_has("taking over the stale lock");
}

#[test]
fn sigkill_then_resume_finishes_without_repeating_a_step() {
    let lab = setup(4, 45, "");
    let mut args = upgrade_args(&lab, &["--yes", "--parallel", "1"]);
    let mut child = spawn(&lab, &args);
    let journal = lab.dir.path().join("plan.journal");
    wait_for(&journal, |t| t.matches(" done ").count() >= 2);
    child.kill().unwrap();
    child.wait().unwrap();
    let before = std::fs::read_to_string(&journal).unwrap();
    args.push("--resume".into());
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    Test::new()
        .args(&refs)
        .run()
        .code(0)
        .stdout_has("3 of 3 groups completed");
    let after = std::fs::read_to_string(&journal).unwrap();
    // Steps finished before the kill are not started again.
    for line in before.lines().filter(|l| l.contains(" done ")) {
        // The step's identity: its fields without what it reported.
        let key: Vec<&str> = line
            .split_once(" done ")
            .unwrap()
            .1
            .split(' ')
            .filter(|f| {
                !["archive", "copied_to=", "booted_"]
                    .iter()
                    .any(|r| f.starts_with(r))
            })
            .collect();
        let key = key.join(" ");
        assert_eq!(
            after.matches(&format!("start {key}")).count(),
            1,
            "{key} started twice:\n{after}"
        );
    }
    lab.assert_pairs_never_both_down();
}

#[test]
fn ctrl_c_is_an_interruption_not_a_failure_and_resume_finishes() {
    let lab = setup(4, 46, "");
    let mut args = upgrade_args(&lab, &["--yes", "--parallel", "1"]);
    let mut child = spawn(&lab, &args);
    let journal = lab.dir.path().join("plan.journal");
    wait_for(&journal, |t| t.contains(" start "));
    // Let the hop reach its install or reboot wait, then Ctrl-C.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !lab.events().contains("install") && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let sent = std::time::Instant::now();
    // SAFETY: sending SIGINT to our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130));
    // A wait is stopped promptly, not run to its end.
    assert!(
        sent.elapsed() < std::time::Duration::from_secs(3),
        "{:?}",
        sent.elapsed()
    );
    let text = std::fs::read_to_string(&journal).unwrap();
    // The step is recorded as interrupted, never as failed; nothing else started (the backup
    // before it finished).
    assert_eq!(text.matches(" start ").count(), 2, "{text}");
    assert!(
        text.contains(" done wave=0 group=lab-ha01 step=backup device=lab-lb02 "),
        "{text}"
    );
    assert_eq!(text.matches(" interrupted ").count(), 1, "{text}");
    assert!(!text.contains(" fail "), "{text}");
    let report = std::fs::read_to_string(lab.dir.path().join("plan.report.md")).unwrap();
    assert!(!report.contains("FAILED"), "{report}");
    assert!(
        !lab.dir.path().join("plan.lock").exists(),
        "the lock is released"
    );
    Test::new()
        .args(&["status", &lab.path("plan.json")])
        .run()
        .code(0)
        .stdout_has("interrupted (--resume continues it)");
    args.push("--resume".into());
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    Test::new()
        .args(&refs)
        .run()
        .code(0)
        .stdout_has("3 of 3 groups completed");
    // The interrupted install was not started twice.
    assert_eq!(lab.commands("lab-lb02").matches("tmsh install").count(), 1);
    lab.assert_pairs_never_both_down();
}

#[test]
fn two_concurrent_runs_on_one_plan_the_second_is_refused() {
    let lab = setup(2, 47, "");
    let args = upgrade_args(&lab, &["--yes"]);
    let mut first = spawn(&lab, &args);
    let journal = lab.dir.path().join("plan.journal");
    wait_for(&journal, |t| t.contains(" start "));
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut resume = refs.clone();
    resume.push("--resume");
    Test::new()
        .args(&resume)
        .run()
        .code(2)
        .stderr_has("is running this plan");
    assert!(first.wait().unwrap().success());
    let text = std::fs::read_to_string(&journal).unwrap();
    assert_eq!(
        text.matches(" start ").count(),
        text.matches(" done ").count(),
        "{text}"
    );
    lab.assert_pairs_never_both_down();
}

/// The fault matrix: a fault on lab-lb04 (the standby of lab-ha03, upgraded in wave 1), a
/// rollout with no failures allowed, then the fault cleared and `--resume`. Every case: no pair
/// ever had both members down (lab's own log), every journaled start has its end, and the resumed
/// rollout finishes.
fn fault_case(fault: &str, net: u32) {
    fault_on("lab-lb04", fault, net);
}

fn fault_on(device: &str, fault: &str, net: u32) {
    let lab = setup(4, net, &format!("{device}={fault}"));
    let out = upgrade(
        &lab,
        &[
            "--yes",
            "--parallel",
            "2",
            "--reboot-timeout",
            "4",
            "--command-timeout",
            "10",
        ],
    );
    // A slow device still answers within the command timeout; every other fault fails its
    // group, and only its group (the canary and lab-ha01 finish).
    if fault == "slow" {
        out.code(0).stdout_has("3 of 3 groups completed");
    } else {
        out.code(1)
            .stdout_has("failed: lab-ha03: ")
            .stdout_lacks("failed: lab-ha01");
    }
    let journal = lab.dir.path().join("plan.journal");
    let text = std::fs::read_to_string(&journal).expect("the journal");
    assert!(
        text.contains(" start "),
        "{fault}: nothing journaled:\n{text}"
    );
    assert_eq!(
        text.matches(" start ").count(),
        text.matches(" done ").count()
            + text.matches(" fail ").count()
            + text.matches(" skip ").count(),
        "{fault}: a step without its end:\n{text}"
    );
    lab.assert_pairs_never_both_down();
    // Clear the fault; a device that never came back is started again.
    let state = lab.dir.path().join(format!("devices/{device}/state.json"));
    let cleared = std::fs::read_to_string(&state)
        .unwrap()
        .replace(&format!("\"{fault}\""), "\"cleared\"");
    std::fs::write(&state, cleared).unwrap();
    let pid = lab.dir.path().join(format!("devices/{device}/sshd.pid"));
    let alive = std::fs::read_to_string(&pid)
        .ok()
        .and_then(|p| p.trim().parse::<i32>().ok())
        // SAFETY: signal 0 only checks that the process exists.
        .is_some_and(|p| unsafe { libc::kill(p, 0) } == 0);
    if !alive {
        assert!(
            std::process::Command::new("/usr/sbin/sshd")
                .args(["-f", &lab.path(&format!("devices/{device}/sshd_config"))])
                .status()
                .unwrap()
                .success()
        );
        let mut events = std::fs::OpenOptions::new()
            .append(true)
            .open(lab.dir.path().join("devices/events.log"))
            .unwrap();
        std::io::Write::write_all(&mut events, format!("0 {device} up\n").as_bytes()).unwrap();
        lab.wait_listening(device);
    }
    let resumed = upgrade(&lab, &["--yes", "--resume", "--parallel", "2"]);
    resumed.code(0).stdout_has("3 of 3 groups completed");
    lab.assert_pairs_never_both_down();
    // From the lab's own state: every unit runs the target, and each pair's roles are as they
    // began (the standby was upgraded first and took over, then gave the traffic back).
    for (n, role) in [(1, "active"), (2, "standby"), (3, "active"), (4, "standby")] {
        let name = format!("lab-lb{n:02}");
        assert_eq!(lab.version(&name), "16.1.4", "{fault}: {name}");
        assert_eq!(lab.role(&name), role, "{fault}: {name}");
    }
}

#[test]
fn fault_matrix_upload_faults() {
    fault_case("drop-mid-upload", 61);
    fault_case("checksum-mismatch", 62);
}

#[test]
fn fault_matrix_install_and_reboot_faults() {
    fault_case("install-fails", 63);
    fault_case("never-returns", 64);
    fault_case("wrong-version", 65);
}

#[test]
fn fault_matrix_failover_fault() {
    // The failover runs on the active unit of lab-ha03.
    fault_on("lab-lb03", "failover-fails", 69);
}

#[test]
fn fault_matrix_state_faults() {
    fault_case("out-of-sync", 66);
    fault_case("disk-full", 67);
    fault_case("slow", 68);
}

#[test]
fn two_phase_plans_roll_out_with_the_active_in_a_later_wave() {
    let lab = setup_with(4, 70, "", &["--no-canary", "--ha-two-phase"]);
    upgrade(&lab, &["--yes", "--parallel", "2"])
        .code(0)
        .stdout_has("4 of 4 groups completed");
    let journal = std::fs::read_to_string(lab.dir.path().join("plan.journal")).unwrap();
    // Standbys in wave 0, failovers and actives in wave 1.
    for l in journal.lines().filter(|l| l.contains(" done ")) {
        let standby = l.contains("device=lab-lb02") || l.contains("device=lab-lb04");
        assert_eq!(l.contains("wave=0"), standby, "{l}");
    }
    lab.assert_pairs_never_both_down();
}

#[test]
fn a_host_key_changed_mid_rollout_stops_that_group_until_it_is_trusted_again() {
    let lab = setup(4, 71, "");
    lab.rekey("lab-lb04");
    upgrade(&lab, &["--yes", "--parallel", "2"])
        .code(1)
        .stdout_has("HOST KEY CHANGED");
    assert!(
        !lab.commands("lab-lb04").contains("tmsh"),
        "nothing ran on the device with the new key"
    );
    // The operator checks the new key and records it.
    let kh = lab.path("known_hosts");
    let status = std::process::Command::new("ssh-keygen")
        .args(["-R", "[127.0.71.4]:2222", "-f", &kh])
        .output()
        .unwrap()
        .status;
    assert!(status.success());
    upgrade(&lab, &["--yes", "--resume", "--accept-new-host-keys"])
        .code(0)
        .stdout_has("3 of 3 groups completed");
    lab.assert_pairs_never_both_down();
}

#[test]
fn a_finished_rollout_leaves_the_inventory_true_and_every_other_byte_as_it_was() {
    let lab = Lab::up(4, 85, "");
    // An export as spreadsheets write them: a BOM, CRLF, a quoted comma in an extra column.
    let csv = lab.dir.path().join("inventory/devices.csv");
    let plain = std::fs::read_to_string(&csv).unwrap();
    let export = |text: &str| -> String {
        let lines: Vec<String> = text
            .lines()
            .enumerate()
            .map(|(i, l)| {
                if i == 0 {
                    format!("{l},owner")
                } else {
                    format!("{l},\"Ops, Lab {i}\"")
                }
            })
            .collect();
        format!("\u{feff}{}\r\n", lines.join("\r\n"))
    };
    std::fs::write(&csv, export(&plain)).unwrap();
    let lab = plan_lab(lab, &[]);
    upgrade(&lab, &["--yes"]).code(0);
    // Every unit runs 16.1.4 and each pair's roles are as they began (standby first, a
    // failover, the former active, a failback): exactly those cells changed.
    let upgraded = plain.replace("15.1.10", "16.1.4");
    assert_eq!(std::fs::read_to_string(&csv).unwrap(), export(&upgraded));
    let jpath = lab.dir.path().join("plan.journal");
    let journal = std::fs::read_to_string(&jpath).unwrap();
    // 4 versions, and both roles after each of the 4 failovers.
    assert_eq!(journal.matches(" wrote ").count(), 12, "{journal}");
    // A crash after the devices changed and before their rows were written: the journal has
    // the steps, not the writes, and the CSV is as before. The resume repairs it, changing
    // nothing on the devices.
    let unwritten: String = journal
        .lines()
        .filter(|l| !l.contains(" wrote "))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&jpath, unwritten).unwrap();
    std::fs::write(&csv, export(&plain)).unwrap();
    let installs = || lab.commands("lab-lb01").matches("install").count();
    let before = installs();
    upgrade(&lab, &["--yes", "--resume"]).code(0);
    assert_eq!(std::fs::read_to_string(&csv).unwrap(), export(&upgraded));
    assert_eq!(installs(), before);
    // The plan and the devices agree with the inventory, without a hand edit.
    Test::new()
        .args(&["plan", "check", &lab.path("plan.json")])
        .run()
        .code(0);
    for (device, role) in [("lab-lb01", "active"), ("lab-lb02", "standby")] {
        Test::new()
            .args(&[
                "device",
                "check",
                device,
                "--inventory",
                &lab.path("inventory"),
                "--identity",
                &lab.path("id_ed25519"),
                "--known-hosts",
                &lab.path("known_hosts"),
            ])
            .run()
            .code(0)
            .stdout_has("runs 16.1.4")
            .stdout_has(&format!("{role} as expected"));
    }
}

#[test]
fn no_write_inventory_leaves_the_csv_alone_and_resume_still_accepts_it() {
    let lab = setup(2, 86, "");
    let csv = lab.dir.path().join("inventory/devices.csv");
    let before = std::fs::read(&csv).unwrap();
    upgrade(&lab, &["--yes", "--no-write-inventory"]).code(0);
    assert_eq!(std::fs::read(&csv).unwrap(), before);
    let journal = std::fs::read_to_string(lab.dir.path().join("plan.journal")).unwrap();
    assert!(!journal.contains(" wrote "), "{journal}");
    // The run's journal explains the difference: the plan is still current.
    Test::new()
        .args(&["plan", "check", &lab.path("plan.json")])
        .run()
        .code(0);
}
