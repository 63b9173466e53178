use crate::support::Test;

const START: [&str; 2] = ["--start", "2026-11-25T15:00:00Z"];

fn without_created(plan: &str) -> String {
    plan.lines()
        .filter(|l| !l.trim_start().starts_with("\"created\""))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn sample_plan_is_written_printed_and_current() {
    let out = Test::new()
        .sample()
        .args(&["plan", START[0], START[1]])
        .run();
    out.code(0)
        .stdout_has("canary")
        .stdout_has("failover")
        .stdout_has("windows needed: CN01")
        .stdout_has("unschedulable: cn01-lb10 (CN01): replace-hardware")
        .stdout_has("warning[no-path]")
        .stderr_has("wrote plan.json");
    let plan: serde_json::Value = serde_json::from_str(&out.read("plan.json")).unwrap();
    assert_eq!(plan["schema"], "lbfleet.plan/1");
    assert_eq!(plan["waves"][0]["kind"], "canary");
    assert!(
        plan["inventory"]["digest"]
            .as_str()
            .unwrap()
            .starts_with("sha256:")
    );
    assert!(
        plan["catalog"]["digest"]
            .as_str()
            .unwrap()
            .starts_with("sha256:")
    );
    let g = &plan["waves"][1]["groups"][0];
    for field in [
        "site",
        "ha_group",
        "window_start",
        "window_end",
        "estimated_minutes",
        "devices",
    ] {
        assert!(
            !g[field].is_null() || field == "ha_group",
            "{field} missing: {g}"
        );
    }
    let d = &g["devices"][0];
    for field in ["name", "role", "from", "path", "mgmt_host"] {
        assert!(!d[field].is_null(), "{field} missing: {d}");
    }
    out.then()
        .args(&["plan", "check", "plan.json"])
        .run()
        .code(0)
        .stdout_has("plan.json: current");
}

#[test]
fn same_inputs_give_the_same_plan_bytes() {
    let args = [
        "plan",
        START[0],
        START[1],
        "--max-per-site",
        "1",
        "-o",
        "a.json",
    ];
    let first = Test::new().sample().args(&args).run();
    first.code(0);
    let a = first.read("a.json");
    let second = first
        .then()
        .args(&[
            "plan",
            START[0],
            START[1],
            "--max-per-site",
            "1",
            "-o",
            "b.json",
        ])
        .run();
    second.code(0);
    assert_eq!(without_created(&a), without_created(&second.read("b.json")));
}

#[test]
fn markdown_has_one_table_per_wave_in_site_time() {
    Test::new()
        .sample()
        .args(&["plan", START[0], START[1], "--format", "markdown"])
        .run()
        .code(0)
        .stdout_has("## Upgrade plan")
        .stdout_has("## Wave 0 (canary), not before 2026-11-25T15:00:00Z")
        .stdout_has("## Wave 1, not before")
        .stdout_has("| site | ha_group | step | device | role | site time | path | minutes |")
        .stdout_has("+08:00 |")
        .stdout_has("## Not scheduled");
}

#[test]
fn the_markdown_change_ticket_has_each_group_s_steps_addresses_and_way_back() {
    let out = Test::new()
        .sample()
        .args(&["plan", START[0], START[1], "-o", "ticket.md"])
        .run();
    out.code(0);
    let md = out.read("ticket.md");
    let section = |title: &str| -> String {
        let start = md
            .find(title)
            .unwrap_or_else(|| panic!("{title} missing:\n{md}"));
        let rest = &md[start..];
        let end = rest[3..].find("\n## ").map_or(rest.len(), |e| e + 3);
        rest[..end].to_string()
    };
    // The canary pair: pre-checks, the backup, every hop with the driver's own commands and
    // minutes on the standby's address, the failover from the active, then the way back.
    let fra = section("## Change: wave 0 (canary), FRA1 fra1-ha01 — window ");
    let on = "fra1-lb02 (fra1-lb02.mgmt.meridian.example)";
    for row in [
        format!("| 1 | pre-check | {on} | `tmsh show sys version` | runs 15.1.10 |  |"),
        format!("| backup | {on} | `tmsh save sys ucs lbfleet-ticket-fra1-lb02.ucs` | /var/local/ucs/lbfleet-ticket-fra1-lb02.ucs copied to ticket.backups/fra1-lb02/lbfleet-ticket-fra1-lb02.ucs"),
        format!("| forward | {on} | `tmsh install sys software image <image for 16.1.4> volume <an inactive volume> create-volume` | `tmsh show sys software status` shows the volume complete with 16.1.4 | 30 |"),
        "| forward | fra1-lb01 (fra1-lb01.mgmt.meridian.example) | `tmsh run sys failover standby` | fra1-lb02 (fra1-lb02.mgmt.meridian.example) active, in sync and healthy; if not, traffic goes back to fra1-lb01 | 5 |".to_string(),
        "| back-out | lbfleet | `lbfleet rollback ticket.json --group fra1-ha01` runs the steps below |".to_string(),
        format!("| back-out | {on} | `tmsh run sys failover standby` | fra1-lb01 (fra1-lb01.mgmt.meridian.example) active on 15.1.10, in sync and healthy | 5 |"),
        format!("| back-out | {on} | `tmsh reboot volume <the volume holding 15.1.10>` | answers again on 15.1.10, standby, in sync and healthy; if no volume holds 15.1.10: reinstall it and restore ticket.backups/fra1-lb02/lbfleet-ticket-fra1-lb02.ucs | 25 |"),
    ] {
        assert!(fra.contains(&row), "{row}\nnot in:\n{fra}");
    }
    assert!(
        fra.contains("; forward about 215 min, back-out about 30 min by reboot while a volume still holds the old release (else a reinstall and the backup)"),
        "{fra}"
    );
    // Where the way back by reboot may end: before the second hop's install.
    let note = fra.find("| note | ").expect("the volume note");
    let second_install = fra
        .find("`tmsh install sys software image <image for 17.1.1.3>")
        .unwrap();
    assert!(note < second_install, "{fra}");
    // Minutes add up to the estimate: each hop's upload, install, reboot and checks, and the
    // failover.
    let minutes: i64 = fra
        .lines()
        .filter(|l| l.contains("| forward |") || l.contains("| post-check |"))
        .filter_map(|l| {
            l.trim_end_matches(" |")
                .rsplit(" | ")
                .next()?
                .parse::<i64>()
                .ok()
        })
        .sum();
    assert_eq!(minutes, 215, "{fra}");
    // Wave 1 of the same pair: both units go back, the one not carrying traffic first.
    let wave1 = section("## Change: wave 1, FRA1 fra1-ha01 — window ");
    let back: Vec<&str> = wave1
        .lines()
        .filter(|l| l.contains("| back-out |"))
        .map(|l| l.split(" | ").nth(2).unwrap())
        .collect();
    assert_eq!(
        back,
        [
            "lbfleet",
            "fra1-lb02 (fra1-lb02.mgmt.meridian.example)",
            "fra1-lb01 (fra1-lb01.mgmt.meridian.example)",
            "fra1-lb01 (fra1-lb01.mgmt.meridian.example)",
            "fra1-lb02 (fra1-lb02.mgmt.meridian.example)"
        ]
    );
    // After the canary's soak, wave 1 first checks the unit that carried the traffic.
    assert!(
        wave1.contains("| soak check | fra1-lb02 (fra1-lb02.mgmt.meridian.example) | `tmsh load sys config verify` | succeeds; if not, traffic goes back to fra1-lb01 and the group stops |"),
        "{wave1}"
    );
    assert!(
        md.contains("| by hand | fra1-lb09 (")
            && md.contains("lbfleet has no kemp driver to run it")
    );
    // A vendor without a driver is planned but says lbfleet cannot run it.
    assert!(md.contains("(no kemp driver: lbfleet cannot run it; write one with --drivers)"));
}

#[test]
fn plan_check_reports_drift() {
    let out = Test::new()
        .sample()
        .args(&["plan", START[0], START[1]])
        .run();
    out.code(0);
    let devices = out.read("inventories/devices.csv");
    // fra1-lb01/02 swap roles, nyc2-lb07 runs another version, syd1-lb04 is gone, a new device.
    let mut changed = String::new();
    for line in devices.lines() {
        let line = if line.starts_with("fra1-lb01,") {
            line.replace(",active,", ",standby,")
        } else if line.starts_with("fra1-lb02,") {
            line.replace(",standby,", ",active,")
        } else if line.starts_with("nyc2-lb07,") {
            line.replace(",7.1.0,", ",7.2.6,")
        } else if line.starts_with("syd1-lb04,") {
            continue;
        } else {
            line.to_string()
        };
        changed.push_str(&line);
        changed.push('\n');
    }
    changed.push_str("syd1-lb99,SYD1,kemp,LM-1500,7.2.48.2,10.9.9.9,,standalone,R1\n");
    // Where each device is: its line in the plan file, its row in the changed inventory.
    let plan = out.read("plan.json");
    let plan_line = |device: &str| {
        let key = format!("\"name\": \"{device}\"");
        1 + plan.lines().position(|l| l.contains(&key)).unwrap()
    };
    let row = |device: &str| {
        let start = format!("{device},");
        1 + changed.lines().position(|l| l.starts_with(&start)).unwrap()
    };
    let at = |device: &str| {
        format!(
            "plan.json:{}: error[{{}}]: {device} (inventories/devices.csv:{}): ",
            plan_line(device),
            row(device)
        )
    };
    let out = out
        .then()
        .file("inventories/devices.csv", changed.clone())
        .args(&["plan", "check", "plan.json"])
        .run();
    out.code(1)
        .stdout_has(&(at("fra1-lb01").replace("{}", "role-changed") + "HA role is standby, the plan expects active"))
        .stdout_has(&(at("fra1-lb02").replace("{}", "role-changed") + "HA role is active, the plan expects standby"))
        .stdout_has(&(at("nyc2-lb07").replace("{}", "version-drift") + "runs 7.2.6 (hop 1 of the planned path), the plan expects 7.1.0"))
        // Gone from the inventory: the plan's line only.
        .stdout_has(&format!("plan.json:{}: error[device-removed]: syd1-lb04: no longer in the inventory", plan_line("syd1-lb04")))
        // Not in the plan: no plan line, the inventory row.
        .stdout_has(&format!("plan.json: error[device-added]: syd1-lb99 (inventories/devices.csv:{}): in the inventory (kemp LM-1500 7.2.48.2) but not in the plan", row("syd1-lb99")))
        .stderr_has("5 differences");
}

#[test]
fn plan_check_notices_another_catalog() {
    let out = Test::new()
        .sample()
        .args(&["plan", START[0], START[1]])
        .run();
    out.code(0);
    let repo = crate::support::repo();
    let mut t = out.then();
    for f in [
        "models.csv",
        "releases.csv",
        "upgrade-rules.csv",
        "platform-support.csv",
    ] {
        t = t.file(
            &format!("cat/{f}"),
            std::fs::read(repo.join("inventories/catalog").join(f)).unwrap(),
        );
    }
    let defects = std::fs::read_to_string(repo.join("inventories/catalog/defects.csv")).unwrap();
    let fewer: Vec<&str> = defects.lines().take(3).collect();
    t.file("cat/defects.csv", fewer.join("\n") + "\n")
        .args(&["plan", "check", "plan.json", "--catalog", "cat"])
        .run()
        .code(1)
        .stdout_has("plan.json: error[catalog-changed]: the catalog changed since planning");
}

#[test]
fn selectors_two_phase_and_caps() {
    let out = Test::new()
        .sample()
        .args(&[
            "plan",
            START[0],
            START[1],
            "--only",
            "site=FRA1,NYC2",
            "--exclude",
            "model=LM-*",
            "--ha-two-phase",
            "--max-per-wave",
            "2",
            "--format",
            "json",
        ])
        .run();
    out.code(0);
    let plan: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let mut sites = std::collections::BTreeSet::new();
    for w in plan["waves"].as_array().unwrap() {
        let groups = w["groups"].as_array().unwrap();
        assert!(groups.len() <= 2);
        for g in groups {
            sites.insert(g["site"].as_str().unwrap().to_string());
            for d in g["devices"].as_array().unwrap() {
                assert!(!d["model"].as_str().unwrap().starts_with("LM-"));
            }
            if g["ha_group"].is_string() {
                assert_ne!(g["phase"], "full", "two-phase keeps HA members apart: {g}");
            }
        }
    }
    assert_eq!(sites.into_iter().collect::<Vec<_>>(), ["FRA1", "NYC2"]);
    assert_eq!(plan["options"]["only"][0], "site=fra1,nyc2");
}

#[test]
fn bad_input_is_refused_with_the_reason() {
    Test::new()
        .sample()
        .args(&["plan", "--start", "next tuesday"])
        .run()
        .code(2)
        .stderr_has("expected RFC 3339");
    Test::new()
        .sample()
        .args(&["plan", "--only", "rack=R1"])
        .run()
        .code(2)
        .stderr_has("unknown selector key");
    Test::new()
        .sample()
        .args(&["plan", "--soak", "3 fortnights"])
        .run()
        .code(2)
        .stderr_has("expected a duration");
    let out = Test::new()
        .file("inv/sites.csv", "site,timezone,windows\nS1,Mars/Olympus,Sun 01:00-05:00\n")
        .file(
            "inv/devices.csv",
            "name,site,vendor,model,version,mgmt_host,ha_group,ha_role\nd1,S1,f5,i4800,15.1.10,10.0.0.1,,standalone\n",
        )
        .args(&["plan", "inv"])
        .run();
    out.code(1)
        .stderr_has("inv/sites.csv:2")
        .stderr_has("no plan written");
    assert!(!out.path_exists("plan.json"));
    Test::new()
        .file("plan.json", "{\"schema\": \"lbfleet.plan/9\"}")
        .args(&["plan", "check", "plan.json"])
        .run()
        .code(2)
        .stderr_has("plan.json: field \"schema\"");
    Test::new()
        .file("plan.json", "{\n  \"schema\": oops\n}")
        .args(&["plan", "check", "plan.json"])
        .run()
        .code(2)
        .stderr_has("plan.json:2");
}

// Regression: `plan --target f5=17.9.9` (not a release) planned an upgrade to it.
#[test]
fn an_unknown_target_is_refused_unless_allowed() {
    let out = Test::new()
        .sample()
        .args(&["plan", START[0], START[1], "--target", "f5=17.9.9"])
        .run();
    out.code(2)
        .stderr_has("--target: f5 17.9.9 is not a release the catalog lists (nearest known: ")
        .stderr_has("--allow-unknown-target");
    assert!(!out.path_exists("plan.json"));
    let out = out
        .then()
        .args(&[
            "plan",
            START[0],
            START[1],
            "--target",
            "f5=17.9.9",
            "--allow-unknown-target",
            "--format",
            "json",
        ])
        .run();
    out.code(0).stdout_has("\"target\": \"f5=17.9.9\"");
    assert!(out.read("plan.json").contains("17.9.9"));
}

/// Files in the test folder whose names start with `prefix`.
fn kept(dir: &std::path::Path, prefix: &str) -> Vec<std::path::PathBuf> {
    let mut out: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_str().unwrap().starts_with(prefix))
        .collect();
    out.sort();
    out
}

#[test]
fn the_format_asked_for_lands_in_the_file_named_and_the_plan_where_asked() {
    let t = Test::new()
        .sample()
        .args(&[
            "plan",
            START[0],
            START[1],
            "--format",
            "markdown",
            "-o",
            "ticket.md",
        ])
        .run();
    t.code(0)
        .stdout_has("wave")
        .stderr_has("wrote ticket.md (markdown)")
        .stderr_has("wrote ticket.json (the plan)");
    assert!(
        t.read("ticket.md").starts_with("## Upgrade plan"),
        "{}",
        t.read("ticket.md")
    );
    let plan: serde_json::Value = serde_json::from_str(&t.read("ticket.json")).unwrap();
    assert!(
        !t.path_exists("plan.json"),
        "the plan goes beside the ticket"
    );
    assert_eq!(plan["schema"], "lbfleet.plan/1");
    // The extension alone says the format; JSON is the plan itself.
    let t = t
        .then()
        .args(&["plan", START[0], START[1], "-o", "steps.txt"])
        .run();
    t.code(0);
    assert!(
        t.read("steps.txt").contains("wave"),
        "{}",
        t.read("steps.txt")
    );
    assert!(serde_json::from_str::<serde_json::Value>(&t.read("steps.txt")).is_err());
}

#[test]
fn a_redirected_plan_never_silently_replaces_an_earlier_one() {
    let first = Test::new()
        .sample()
        .args(&["plan", START[0], START[1]])
        .run();
    first.code(0);
    let earlier = first.read("plan.json");
    // `plan --format markdown > ticket.md` with other inputs: the earlier plan is kept.
    let second = first
        .then()
        .args(&[
            "plan",
            START[0],
            START[1],
            "--target",
            "f5=17.1.3",
            "--format",
            "markdown",
        ])
        .run();
    second.code(0).stdout_has("## Upgrade plan");
    let old = kept(&second.dir, "plan.json.");
    assert_eq!(old.len(), 1, "{old:?}");
    assert_eq!(std::fs::read_to_string(&old[0]).unwrap(), earlier);
    let name = old[0].file_name().unwrap().to_str().unwrap();
    second.stderr_has(&format!("is kept as {name}"));
    assert!(second.read("plan.json").contains("17.1.3"));
    // The same inputs again: nothing more is kept.
    let third = second
        .then()
        .args(&["plan", START[0], START[1], "--target", "f5=17.1.3"])
        .run();
    third.code(0);
    assert_eq!(kept(&third.dir, "plan.json.").len(), 1);
    // A plan whose rollout has a journal is never replaced by another.
    let current = third.read("plan.json");
    std::fs::write(
        third.dir.join("plan.journal"),
        "2026-11-25T15:47:30Z start wave=0 group=x step=hop\n",
    )
    .unwrap();
    let fourth = third.then().args(&["plan", START[0], START[1]]).run();
    fourth.code(2).stderr_has("plan.journal");
    assert_eq!(fourth.read("plan.json"), current);
    assert_eq!(kept(&fourth.dir, "plan.json.").len(), 1);
}

#[test]
fn a_selector_that_matches_nothing_is_refused_and_nothing_is_written() {
    // Regression: `--only site=FRA9` (no such site) printed "0 selected", exit 0, and wrote an
    // empty plan.
    let sample =
        std::fs::read_to_string(crate::support::repo().join("inventories/devices.csv")).unwrap();
    let mut sites: Vec<&str> = sample
        .lines()
        .skip(1)
        .filter_map(|l| l.split(',').nth(1))
        .collect();
    sites.sort_unstable();
    sites.dedup();
    assert!(sites.contains(&"FRA1") && !sites.contains(&"FRA9"));
    let out = Test::new()
        .sample()
        .args(&["plan", START[0], START[1], "--only", "site=FRA9"])
        .run();
    out.code(2)
        .stderr_has(&format!(
            "--only site=fra9: no device at site \"fra9\" (did you mean \"FRA1\"?); sites with devices: {}",
            sites.join(", ")
        ))
        .stderr_has("no plan written");
    assert!(!out.path_exists("plan.json"));

    // Each selector matches something, but together they leave nothing.
    let out = Test::new()
        .sample()
        .args(&[
            "plan",
            START[0],
            START[1],
            "--only",
            "site=FRA1",
            "--exclude",
            "site=fra*",
        ])
        .run();
    out.code(2)
        .stderr_has("--only site=fra1 --exclude site=fra* together leave no device");
    assert!(!out.path_exists("plan.json"));

    // An exclude that matches nothing is harmless, but named: probably a typo.
    let out = Test::new()
        .sample()
        .args(&["plan", START[0], START[1], "--exclude", "site=FRA9", "-q"])
        .run();
    out.code(0).stderr_has(
        "warning: --exclude site=fra9: no device at site \"fra9\" (did you mean \"FRA1\"?)",
    );
    assert!(out.path_exists("plan.json"));
}
