//! `lbfleet reboots plan` and `reboots run` on the sample fleet and against the device lab.

use crate::support::{Lab, Test};

/// The lab's devices run 15.1.10 on i4800, inside F5 ID974501 (a memory-leak defect): they get
/// reboots. The lab's one window is all day, every day, in UTC.
const FROM: &str = "2026-11-25T00:00:00Z";

/// `reboots plan` of the lab inventory to `reboots.json`, with `extra` flags.
fn plan(lab: &Lab, extra: &[&str]) -> crate::support::Output {
    let inventory = lab.path("inventory");
    let out = lab.path("reboots.json");
    let mut args = vec![
        "reboots",
        "plan",
        inventory.as_str(),
        "--from",
        FROM,
        "--weeks",
        "2",
        "-o",
        out.as_str(),
    ];
    args.extend_from_slice(extra);
    Test::new().args(&args).run()
}

/// `reboots run reboots.json` with the lab's key, known_hosts and driver, short reboot waits.
fn run(lab: &Lab, extra: &[&str]) -> crate::support::Output {
    let mut args = vec![
        "reboots".to_string(),
        "run".into(),
        lab.path("reboots.json"),
    ];
    for (k, v) in [
        ("--identity", "id_ed25519"),
        ("--known-hosts", "known_hosts"),
        ("--drivers", "drivers/f5.toml"),
        ("--report", "report.md"),
    ] {
        args.push(k.into());
        args.push(lab.path(v));
    }
    args.extend(["--poll-interval".to_string(), "0.2".into()]);
    if !extra.contains(&"--reboot-timeout") {
        args.extend(["--reboot-timeout".to_string(), "20".into()]);
    }
    args.extend(extra.iter().map(|s| s.to_string()));
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    Test::new().args(&refs).run()
}

fn state(lab: &Lab, device: &str) -> serde_json::Value {
    let text = std::fs::read_to_string(lab.dir.path().join(format!("devices/{device}/state.json")))
        .unwrap();
    serde_json::from_str(&text).unwrap()
}

/// Position of the first event line containing `what` (panics when missing).
fn at(events: &str, what: &str) -> usize {
    events
        .lines()
        .position(|l| l.contains(what))
        .unwrap_or_else(|| panic!("no \"{what}\" in the lab's events:\n{events}"))
}

#[test]
fn an_ha_pair_reboot_cycle_fails_over_and_back_and_frees_memory() {
    let lab = Lab::up(3, 81, "");
    plan(&lab, &["--max-per-site", "2"])
        .code(0)
        .stdout_has("3 devices in 2 groups get reboots")
        .stdout_has("ID974501");
    // Before the window nothing is due; `run` without --due only shows what is due.
    run(&lab, &["--now", "2026-11-24T23:00:00Z", "--due"])
        .code(0)
        .stdout_has("nothing due");
    run(&lab, &["--now", "2026-11-25T00:01:00Z"])
        .code(0)
        .stdout_has("2 group reboots due: nothing run");
    assert!(lab.events().is_empty(), "{}", lab.events());
    run(&lab, &["--now", "2026-11-25T00:01:00Z", "--due"])
        .code(0)
        .stdout_has("2 of 2 group reboots completed, 0 failed")
        .stdout_has("memory in use 12.0 GiB (38 %) before, 4.0 GiB (12 %) after");
    // The lab's own record: the standby first, a failover to it, the former active, back.
    let events = lab.events();
    let order = [
        "lab-lb02 down",
        "lab-lb02 up",
        "lab-lb01 failover to lab-lb02",
        "lab-lb01 down",
        "lab-lb01 up",
        "lab-lb02 failover to lab-lb01",
    ]
    .map(|e| at(&events, e));
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{events}");
    lab.assert_pairs_never_both_down();
    assert!(events.contains("lab-lb03 down"), "{events}");
    // Roles end as the inventory says; memory is back at its baseline on every unit.
    assert_eq!(state(&lab, "lab-lb01")["role"], "active");
    assert_eq!(state(&lab, "lab-lb02")["role"], "standby");
    for d in ["lab-lb01", "lab-lb02", "lab-lb03"] {
        assert_eq!(state(&lab, d)["mem_used"], state(&lab, d)["mem_baseline"]);
        // Rebooted into the volume it runs (HD1.1), never another one.
        assert!(lab.commands(d).contains("tmsh reboot volume HD1.1"));
    }
    let journal = std::fs::read_to_string(lab.dir.path().join("reboots.journal")).unwrap();
    assert!(
        journal.contains("step=reboot device=lab-lb02 detail=")
            && journal.contains("mem_before=12884901888 mem_after=4294967296"),
        "{journal}"
    );
    let report = std::fs::read_to_string(lab.dir.path().join("report.md")).unwrap();
    assert!(report.contains("| reboot | lab-lb01 |"), "{report}");
    // Run again in the same window: nothing repeats.
    run(&lab, &["--now", "2026-11-25T00:30:00Z", "--due"])
        .code(0)
        .stdout_has("nothing due");
    assert_eq!(lab.events(), events);
}

#[test]
fn a_unit_that_does_not_come_back_stops_the_rest_until_resumed() {
    let lab = Lab::up(4, 82, "lab-lb02=never-returns");
    plan(&lab, &["--max-per-site", "2"]).code(0);
    run(
        &lab,
        &[
            "--now",
            "2026-11-25T00:01:00Z",
            "--due",
            "--parallel",
            "1",
            "--reboot-timeout",
            "4",
        ],
    )
    .code(1)
    .stdout_has("failed: lab-ha01: lab-lb02: the device did not come back within 4 s")
    .stdout_has("stopped: 1 failed groups exceed the budget of 0");
    // The active was never touched and kept the traffic; the other pair was left alone.
    let events = lab.events();
    assert!(!events.contains("failover"), "{events}");
    assert!(!events.contains("lab-lb01 down"), "{events}");
    assert!(!lab.commands("lab-lb03").contains("tmsh reboot"));
    assert!(!lab.commands("lab-lb04").contains("tmsh reboot"));
    // The next run refuses until someone has looked.
    run(&lab, &["--now", "2026-11-25T00:30:00Z", "--due"])
        .code(2)
        .stderr_has("records a failed reboot: check the device, then continue with --resume");
    assert!(!lab.commands("lab-lb03").contains("tmsh reboot"));
    // Someone powers lab-lb02 back on; --resume then finishes both pairs.
    let dev = lab.dir.path().join("devices/lab-lb02");
    let path = dev.join("state.json");
    let mut st = state(&lab, "lab-lb02");
    st["faults"] = serde_json::json!([]);
    std::fs::write(&path, st.to_string()).unwrap();
    let started = std::process::Command::new("/usr/sbin/sshd")
        .arg("-f")
        .arg(dev.join("sshd_config"))
        .arg("-E")
        .arg(dev.join("sshd.log"))
        .status()
        .unwrap();
    assert!(started.success());
    run(
        &lab,
        &[
            "--now",
            "2026-11-25T00:40:00Z",
            "--due",
            "--resume",
            "--parallel",
            "1",
        ],
    )
    .code(0)
    .stdout_has("2 of 2 group reboots completed, 0 failed")
    // Rebooted by the failed attempt already: its memory has nothing left to give back.
    .stdout_has("(not compared: an earlier attempt rebooted it)");
    lab.assert_pairs_never_both_down();
    assert_eq!(state(&lab, "lab-lb01")["role"], "active");
    assert!(
        lab.commands("lab-lb04")
            .contains("tmsh reboot volume HD1.1")
    );
}

#[test]
fn memory_that_does_not_drop_fails_the_reboot() {
    let lab = Lab::up(1, 83, "lab-lb01=memory-stays");
    plan(&lab, &[]).code(0);
    run(&lab, &["--now", "2026-11-25T00:01:00Z", "--due"])
        .code(1)
        .stdout_has("memory in use did not drop after the reboot: 12.0 GiB (38 %) before, 12.0 GiB (38 %) after");
}

#[test]
fn a_dry_run_changes_nothing_and_shows_the_reboot_command() {
    let lab = Lab::up(2, 84, "");
    plan(&lab, &[]).code(0);
    run(
        &lab,
        &["--now", "2026-11-25T00:01:00Z", "--due", "--dry-run"],
    )
    .code(0)
    .stdout_has("lab-lb02 memory: Info 12.0 of 32.0 GiB in use (38 %)")
    .stdout_has("lab-lb01 $ tmsh reboot volume HD1.1");
    assert!(lab.events().is_empty());
    for d in ["lab-lb01", "lab-lb02"] {
        assert!(!lab.commands(d).contains("tmsh reboot"));
        assert!(!lab.commands(d).contains("tmsh run sys failover"));
    }
    assert!(!lab.dir.path().join("reboots.journal").exists());
}

const SITES: &str = "site,timezone,windows\nFRA1,Europe/Berlin,Sun 00:00-06:00\n";
const DEVICES: &str = "name,site,vendor,model,version,mgmt_host,ha_group,ha_role\n\
    fra-lb01,FRA1,f5,i4800,15.1.10,10.0.0.1,fra-ha01,active\n\
    fra-lb02,FRA1,f5,i4800,15.1.10,10.0.0.2,fra-ha01,standby\n\
    fra-lb03,FRA1,f5,i4800,15.1.10,10.0.0.3,,standalone\n";

/// 14 days of 10-minute memory samples: 32 GiB total, from 4 GiB up by `leak` GiB a day, with
/// a little deterministic noise.
fn telemetry(devices: &[(&str, f64)]) -> String {
    const GIB: f64 = 1073741824.0;
    let start = 1_795_000_000u64;
    let mut out = String::from("timestamp,device,mem_used_bytes,mem_total_bytes\n");
    for (name, leak) in devices {
        for i in 0..(14 * 144u64) {
            let days = i as f64 / 144.0;
            let noise = ((i * 7919 % 101) as f64 - 50.0) * 1e6;
            let used = 4.0 * GIB + leak * GIB * days + noise;
            out.push_str(&format!(
                "{},{name},{:.0},{:.0}\n",
                start + i * 600,
                used,
                32.0 * GIB
            ));
        }
    }
    out
}

#[test]
fn auto_intervals_come_from_a_planted_leak() {
    // fra-ha01 leaks 1 GiB/day: 90 % of 32 GiB is reached from 4 GiB after 24.8 days; divided
    // by the safety factor 1.5 (at the slope's upper bound): 16 days at most.
    let t = Test::new()
        .file("inv/sites.csv", SITES)
        .file("inv/devices.csv", DEVICES)
        .file(
            "mem.csv",
            telemetry(&[("fra-lb01", 1.0), ("fra-lb02", 1.0), ("fra-lb03", 0.0)]),
        )
        .args(&[
            "reboots",
            "plan",
            "inv",
            "--telemetry",
            "mem.csv",
            "--interval",
            "auto",
            "--from",
            FROM,
            "--weeks",
            "8",
            "--format",
            "json",
        ])
        .run();
    t.code(0);
    let s: serde_json::Value = serde_json::from_str(&t.read("reboots.json")).unwrap();
    let devices = s["devices"].as_array().unwrap();
    assert_eq!(devices.len(), 2, "{devices:#?}");
    for d in devices {
        let days = d["interval_days"].as_u64().unwrap();
        assert!((15..=16).contains(&days), "{d}");
        assert_eq!(d["interval_source"], "telemetry");
        let rate = d["leak_bytes_per_day"].as_f64().unwrap() / 1073741824.0;
        assert!((rate - 1.0).abs() < 0.01, "{rate}");
    }
    // The flat standalone unit is in ID974501 too, but measured clean: no reboots.
    let skipped = s["skipped"].as_array().unwrap();
    assert_eq!(skipped[0]["name"], "fra-lb03");
    assert_eq!(skipped[0]["code"], "not-leaking");
    // Weekly windows, a 15-16 day interval: every other Sunday within 8 weeks, 4 reboots.
    let rounds = s["rounds"].as_array().unwrap();
    assert_eq!(rounds.len(), 4, "{rounds:#?}");
}

#[test]
fn the_sample_schedule_exports_to_icalendar_and_csv() {
    let t = Test::new()
        .sample()
        .args(&[
            "reboots", "plan", "--defect", "ID640376", "--from", FROM, "--weeks", "4", "--format",
            "ics",
        ])
        .run();
    t.code(0);
    let s: serde_json::Value = serde_json::from_str(&t.read("reboots.json")).unwrap();
    let reboots: usize = s["rounds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["groups"].as_array().unwrap().len())
        .sum();
    let mut parser = ical::IcalParser::new(std::io::BufReader::new(t.stdout.as_bytes()));
    let cal = parser.next().unwrap().unwrap();
    assert_eq!(cal.events.len(), reboots);
    assert!(reboots >= 4 * 4, "{reboots}");
    // CN01's Saturday window opens at 00:00 Shanghai time: the first reboot starts there.
    let start = cal.events[0]
        .properties
        .iter()
        .find(|p| p.name == "DTSTART")
        .unwrap();
    assert_eq!(
        start.params.as_ref().unwrap()[0],
        ("TZID".to_string(), vec!["Asia/Shanghai".to_string()])
    );
    assert_eq!(start.value.as_deref(), Some("20261128T000000"));
    t.then()
        .args(&[
            "reboots", "plan", "--defect", "ID640376", "--from", FROM, "--weeks", "1", "--format",
            "csv",
        ])
        .run()
        .code(0)
        .stdout_has("round,site,ha_group,step,device,role,site time,start (UTC),version,minutes")
        .stdout_has("0,CN01,cn01-ha01,reboot,cn01-lb02,standby,");
}

#[test]
fn a_calendar_asked_for_in_a_file_lands_there_and_names_its_schedule() {
    let args = [
        "reboots", "plan", "--defect", "ID640376", "--from", FROM, "--weeks", "2",
    ];
    let t = Test::new()
        .sample()
        .args(&args)
        .args(&["--format", "ics", "-o", "reboots.ics"])
        .run();
    t.code(0)
        .stdout_has("cn01-lb02")
        .stderr_has("wrote reboots.ics (ics)")
        .stderr_has("wrote reboots.json (the schedule)");
    let ics = t.read("reboots.ics");
    let mut parser = ical::IcalParser::new(std::io::BufReader::new(ics.as_bytes()));
    let cal = parser.next().unwrap().unwrap();
    let schedule = t.dir.join("reboots.json").canonicalize().unwrap();
    let description = cal.events[0]
        .properties
        .iter()
        .find(|p| p.name == "DESCRIPTION")
        .and_then(|p| p.value.clone())
        .unwrap();
    assert!(
        description.contains(&format!("lbfleet reboots run {} --due", schedule.display())),
        "{description}"
    );
    let s: serde_json::Value = serde_json::from_str(&t.read("reboots.json")).unwrap();
    assert!(!s["rounds"].as_array().unwrap().is_empty());
    // A calendar is never written where the schedule goes.
    let t = t
        .then()
        .args(&args)
        .args(&["--format", "ics", "-o", "reboots.json"])
        .run();
    t.code(2)
        .stderr_has("its extension says json, --format says ics");
    assert!(serde_json::from_str::<serde_json::Value>(&t.read("reboots.json")).is_ok());
    // `--format ics > x.ics` from other inputs: the earlier schedule is kept, and named.
    let earlier = t.read("reboots.json");
    let again = t
        .then()
        .args(&args[..7])
        .args(&["1", "--format", "ics"])
        .run();
    again
        .code(0)
        .stdout_has("BEGIN:VCALENDAR")
        .stderr_has("is kept as");
    let kept: Vec<_> = std::fs::read_dir(&again.dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_str().unwrap().contains("reboots.json."))
        .collect();
    assert_eq!(kept.len(), 1, "{kept:?}");
    assert_eq!(std::fs::read_to_string(&kept[0]).unwrap(), earlier);
}

#[test]
fn bad_input_is_refused_with_the_reason() {
    let t = Test::new().sample();
    let out = t
        .args(&["reboots", "plan", "--defect", "ID999", "--from", FROM])
        .run();
    out.code(2).stderr_has("--defect ID999: not in the catalog");
    assert!(!out.path_exists("reboots.json"));
    // Regression: a security defect (not a leak) scheduled 0 devices, exit 0.
    let out = out
        .then()
        .args(&[
            "reboots",
            "plan",
            "--defect",
            "CVE-2023-4966",
            "--from",
            FROM,
        ])
        .run();
    out.code(2).stderr_has(
        "--defect CVE-2023-4966: CVE-2023-4966 is a security defect, not a memory defect",
    );
    assert!(!out.path_exists("reboots.json"));
    let out = out
        .then()
        .args(&["reboots", "plan", "--defect", "ID640367", "--from", FROM])
        .run();
    out.code(2)
        .stderr_has("--defect ID640367: not in the catalog (did you mean \"ID640376\"?)");
    assert!(!out.path_exists("reboots.json"));
    let out = out
        .then()
        .args(&["reboots", "plan", "--interval", "0d"])
        .run();
    out.code(2).stderr_has("between 1 day and a year");
    // A plan file is not a schedule: the schema field says so.
    let out = out
        .then()
        .args(&["plan", "--start", FROM, "-q", "-o", "plan.json"])
        .run();
    out.code(0);
    let out = out.then().args(&["reboots", "run", "plan.json"]).run();
    out.code(2)
        .stderr_has("plan.json: field \"schema\"")
        .stderr_has("is not a reboot schedule");
    // A schedule the fleet no longer matches is not run.
    let out = out
        .then()
        .args(&["reboots", "plan", "--defect", "ID640376", "--from", FROM])
        .run();
    out.code(0);
    let devices = out.read("inventories/devices.csv").replacen(
        "cn01-lb02,CN01,f5,i4800,12.1.2",
        "cn01-lb02,CN01,f5,i4800,12.1.3",
        1,
    );
    out.then()
        .file("inventories/devices.csv", devices)
        .args(&[
            "reboots",
            "run",
            "reboots.json",
            "--due",
            "--now",
            "2026-11-27T16:30:00Z",
        ])
        .run()
        .code(1)
        .stderr_has("cn01-lb02")
        .stderr_has("version-drift")
        .stderr_has("the schedule no longer matches the fleet");
}
