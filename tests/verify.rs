//! `lbfleet verify-fix` and `upgrade --gate leak-fixed` on the device lab: the wave after the
//! canary waits for the canary's verdict, stops on `not-fixed`, goes on at `fixed`; the lab's
//! telemetry (`scripts/lab telemetry`) planted around the times the journal records.

use crate::rollout::{setup_with, upgrade};
use crate::support::{Lab, Test};

fn verify_fix(lab: &Lab, extra: &[&str]) -> crate::support::Output {
    let plan = lab.path("plan.json");
    let out = lab.path("verify");
    let mut args = vec!["verify-fix", plan.as_str(), "-o", out.as_str()];
    args.extend_from_slice(extra);
    Test::new().args(&args).run()
}

#[test]
fn the_wave_after_the_canary_waits_for_the_leak_verdict_and_goes_on_at_fixed() {
    let lab = setup_with(4, 102, "", &["--gate", "leak-fixed:ID974501"]);
    // Before anything ran: three weeks of the leak; the canary's verdict has nothing after its
    // upgrade to judge yet.
    let t = lab.telemetry("fixed", 0.0);
    // The dry run says what the gate would say, and changes nothing.
    upgrade(&lab, &["--dry-run", "--telemetry", &t])
        .code(0)
        .stdout_has("gate leak-fixed:ID974501 before the waves after the canary: it says wait now: no canary device is upgraded yet");
    assert!(!lab.dir.path().join("plan.journal").exists());
    // The plan's gate, without telemetry: refused before anything runs, saying whose gate.
    upgrade(&lab, &["--yes", "--due"])
        .code(2)
        .stderr_has("the gate leak-fixed:ID974501 (recorded in the plan by plan --gate) needs --telemetry FILE... or --prometheus URL");
    upgrade(&lab, &["--yes", "--due", "--telemetry", &t])
        .code(0)
        .stdout_has("1 of 3 groups completed")
        .stdout_has("waiting: wave 1: waiting for verdict (leak-fixed:ID974501): ")
        .stdout_has("lab-lb02 (inconclusive): 0.0 days of memory data after the upgrade");
    // The canary (lab-ha01's standby) is upgraded; nothing of wave 1 is.
    assert_eq!(lab.version("lab-lb02"), "16.1.4");
    for d in ["lab-lb01", "lab-lb03", "lab-lb04"] {
        assert_eq!(lab.version(d), "15.1.10", "{d}");
    }
    // Half a day after the canary's upgrade: inconclusive, with the days still needed.
    let t = lab.telemetry("fixed", 0.5);
    verify_fix(&lab, &["--telemetry", &t])
        .code(1)
        .stdout_has("lab-lb02")
        .stdout_has("inconclusive")
        .stderr_has("i4800 on 16.1.4: inconclusive (2.5 more days of data needed)");
    upgrade(&lab, &["--yes", "--due", "--telemetry", &t])
        .code(0)
        .stdout_has("waiting for verdict (leak-fixed:ID974501): i4800 on 16.1.4: inconclusive");
    assert_eq!(lab.version("lab-lb01"), "15.1.10");
    // Four days on, the leak is gone: fixed, and the rest of the fleet goes on.
    let t = lab.telemetry("fixed", 4.0);
    verify_fix(&lab, &["--telemetry", &t])
        .code(0)
        .stderr_has("i4800 on 16.1.4: fixed: 1 of 1 devices fixed");
    for f in ["verdicts.csv", "report.md", "before-after-lab-lb02.svg"] {
        assert!(lab.dir.path().join("verify").join(f).is_file(), "{f}");
    }
    let report = std::fs::read_to_string(lab.dir.path().join("verify/report.md")).unwrap();
    assert!(report.contains("![lab-lb02: memory before and after](before-after-lab-lb02.svg)"));
    upgrade(&lab, &["--yes", "--due", "--telemetry", &t])
        .code(0)
        .stdout_has("3 of 3 groups completed");
    for d in ["lab-lb01", "lab-lb02", "lab-lb03", "lab-lb04"] {
        assert_eq!(lab.version(d), "16.1.4", "{d}");
    }
    // Waiting is journaled once however often it was asked; then the opening, with what the
    // gate was asked with.
    let journal = std::fs::read_to_string(lab.dir.path().join("plan.journal")).unwrap();
    let notes: Vec<&str> = journal
        .lines()
        .filter(|l| l.contains("what=gate"))
        .collect();
    assert_eq!(notes.len(), 2, "{journal}");
    assert!(notes[0].contains("verdict=wait"), "{}", notes[0]);
    assert!(
        notes[1].contains("verdict=open detail=\"i4800 on 16.1.4: fixed")
            && notes[1].ends_with("with=\"min-days=3 from=plan\""),
        "{}",
        notes[1]
    );
    // `status` and the run report say what the gate said.
    Test::new()
        .args(&["status", &lab.path("plan.json")])
        .run()
        .code(0)
        .stdout_has("gate leak-fixed:ID974501: open: i4800 on 16.1.4: fixed");
    let report = std::fs::read_to_string(lab.dir.path().join("plan.report.md")).unwrap();
    assert!(report.contains("## Gate after the canary"), "{report}");
    assert!(!report.contains("## Overrides"), "{report}");
    // Once open, later runs need no telemetry.
    upgrade(&lab, &["--yes", "--due"]).code(0);
    lab.assert_pairs_never_both_down();
}

#[test]
fn a_gate_refuses_mistakes_first_stops_on_not_fixed_for_good_and_accept_verdict_is_recorded() {
    let lab = setup_with(2, 103, "", &[]);
    let t = lab.telemetry("fixed", 0.0);
    let other_fleet = crate::support::repo()
        .join("telemetry/sample.csv")
        .display()
        .to_string();
    for (flags, says) in [
        (vec!["--gate", "leak-fixd"], "unknown gate \"leak-fixd\""),
        (
            vec!["--gate", "leak-fixed"],
            "the gate leak-fixed (--gate) needs --telemetry FILE",
        ),
        (
            vec!["--gate", "leak-fixed:ID97450", "--telemetry", &t],
            "no defect ID97450 in the catalog (did you mean \"ID974501\"?)",
        ),
        (
            vec!["--gate", "leak-fixed:ID454018", "--telemetry", &t],
            "no canary device runs a release ID454018 affects",
        ),
        (
            vec!["--gate", "leak-fixed:ID974501", "--telemetry", "nope.csv"],
            "nope.csv",
        ),
        (vec!["--accept-verdict"], "add --gate leak-fixed"),
        (
            vec!["--gate", "leak-fixed", "--telemetry", &other_fleet],
            "the telemetry names none of the canary devices it judges (lab-lb02); its devices are named like cn01-lb01",
        ),
    ] {
        let mut args = vec!["--yes"];
        args.extend(flags.iter().copied());
        upgrade(&lab, &args).code(2).stderr_has(says);
        assert!(!lab.dir.path().join("plan.journal").exists(), "{flags:?}");
    }
    assert_eq!(lab.version("lab-lb02"), "15.1.10");
    // verify-fix before anything ran: no journal, named.
    verify_fix(&lab, &["--telemetry", &t])
        .code(2)
        .stderr_has("plan.journal: no journal: nothing of this plan has run");
    let gated = |t: &str, extra: &[&str]| {
        let mut args = vec!["--yes", "--due", "--gate", "leak-fixed", "--telemetry", t];
        args.extend_from_slice(extra);
        upgrade(&lab, &args)
    };
    gated(&t, &[])
        .code(0)
        .stdout_has("waiting for verdict (leak-fixed)");
    // Four days on, the canary leaks as before: not fixed; the rollout stops with the evidence.
    let t = lab.telemetry("leaking", 4.0);
    verify_fix(&lab, &["--telemetry", &t, "--format", "csv"])
        .code(1)
        .stdout_has("lab-lb02,i4800,15.1.10,16.1.4,not-fixed,");
    gated(&t, &[])
        .code(1)
        .stdout_has("stopped: the gate leak-fixed holds wave 1 and everything after it: not fixed: lab-lb02 (not-fixed): ")
        .stdout_has("still leaks")
        .stdout_has("(--accept-verdict goes on anyway; `lbfleet rollback` takes the canary back)");
    assert_eq!(lab.version("lab-lb01"), "15.1.10");
    // A stop holds: telemetry that later looks fixed does not reopen the gate.
    let t = lab.telemetry("fixed", 4.0);
    gated(&t, &[])
        .code(1)
        .stdout_has("stopped: the gate leak-fixed stopped the rollout at ");
    assert_eq!(lab.version("lab-lb01"), "15.1.10");
    Test::new()
        .args(&["status", &lab.path("plan.json")])
        .run()
        .code(0)
        .stdout_has("gate leak-fixed: stop: not fixed: lab-lb02 (not-fixed): ");
    // The operator accepts: recorded, and the pair finishes.
    gated(&t, &["--accept-verdict"])
        .code(0)
        .stdout_has("2 of 2 groups completed");
    let journal = std::fs::read_to_string(lab.dir.path().join("plan.journal")).unwrap();
    // The gate was asked past its stop because the operator accepted: both journaled.
    assert!(
        journal.contains(
            "verdict=open detail=\"i4800 on 16.1.4: fixed: 1 of 1 devices fixed, 0 not fixed\" \
             with=\"min-days=3 from=--gate accept-verdict=yes\""
        ),
        "{journal}"
    );
    assert_eq!(lab.version("lab-lb01"), "16.1.4");
}

#[test]
fn a_plan_with_a_gate_soaks_the_canary_for_the_days_its_verdict_needs() {
    let t = Test::new().sample();
    let out = t
        .args(&[
            "plan",
            "inventories",
            "--gate",
            "leak-fixed",
            "-o",
            "gated.json",
            "-q",
        ])
        .run();
    out.code(0);
    let plan: serde_json::Value = serde_json::from_str(&out.read("gated.json")).unwrap();
    assert_eq!(plan["options"]["gate"], "leak-fixed");
    assert_eq!(plan["options"]["canary_soak_minutes"], 3 * 24 * 60);
    // An explicit soak wins; without a gate the soak is a day and nothing is recorded.
    let out = out
        .then()
        .args(&[
            "plan",
            "inventories",
            "--gate",
            "leak-fixed",
            "--canary-soak",
            "5d",
            "-o",
            "g5.json",
            "-q",
        ])
        .run();
    let plan: serde_json::Value = serde_json::from_str(&out.read("g5.json")).unwrap();
    assert_eq!(plan["options"]["canary_soak_minutes"], 5 * 24 * 60);
    let out = out
        .then()
        .args(&["plan", "inventories", "-o", "plain.json", "-q"])
        .run();
    let plan: serde_json::Value = serde_json::from_str(&out.read("plain.json")).unwrap();
    assert_eq!(plan["options"]["canary_soak_minutes"], 24 * 60);
    assert!(plan["options"].get("gate").is_none());
    // The change ticket says what holds the waves after the canary.
    let out = out
        .then()
        .args(&[
            "plan",
            "inventories",
            "--gate",
            "leak-fixed",
            "-o",
            "gated.md",
            "-q",
        ])
        .run();
    out.code(0);
    assert!(
        out.read("gated.md").contains(
            "| gate after the canary | leak-fixed: the waves after the canary start only when"
        ),
        "{}",
        out.read("gated.md")
    );
    // A defect the catalog does not list is refused at plan time, nothing written.
    let out = out
        .then()
        .args(&[
            "plan",
            "inventories",
            "--gate",
            "leak-fixed:ID97450",
            "-o",
            "typo.json",
        ])
        .run();
    out.code(2).stderr_has("no defect ID97450 in the catalog");
    assert!(!out.path_exists("typo.json"));
    // A gate without a canary to judge, or one that does not exist, is refused.
    out.then()
        .args(&[
            "plan",
            "inventories",
            "--gate",
            "leak-fixed",
            "--no-canary",
            "-o",
            "x.json",
        ])
        .run()
        .code(2)
        .stderr_has("a plan with --no-canary has none to judge");
    Test::new()
        .sample()
        .args(&[
            "plan",
            "inventories",
            "--gate",
            "fixed-leak",
            "-o",
            "x.json",
        ])
        .run()
        .code(2)
        .stderr_has("unknown gate \"fixed-leak\"");
}

#[test]
fn mistakes_with_days_and_the_lab_s_telemetry_are_usage_errors() {
    // --min-days -1 reaches its own message, not the parser's "unexpected argument".
    Test::new()
        .args(&[
            "verify-fix",
            "plan.json",
            "--telemetry",
            "t.csv",
            "--min-days",
            "-1",
        ])
        .run()
        .code(2)
        .stderr_has("\"-1\": expected days of data, more than 0 and at most 365");
    // `scripts/lab telemetry`: each mistake exits 2 and writes nothing.
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("lab/inventory")).unwrap();
    std::fs::write(
        dir.path().join("lab/inventory/devices.csv"),
        "name,site,vendor,model,version,mgmt_host,ha_group,ha_role\nlab-lb01,LAB,f5,i4800,15.1.10,127.0.1.1:2222,,standalone\n",
    )
    .unwrap();
    let lab = dir.path().join("lab").display().to_string();
    let out = dir.path().join("t.csv").display().to_string();
    let nope = dir.path().join("nope.journal").display().to_string();
    let empty = dir.path().display().to_string();
    let journal = dir.path().join("plan.journal");
    std::fs::write(&journal, "").unwrap();
    let journal = journal.display().to_string();
    for (args, says) in [
        (vec!["--dir", &lab], "telemetry needs -o FILE"),
        (vec!["--dir", &empty, "-o", &out], "no lab in"),
        (
            vec!["--dir", &lab, "--journal", &nope, "-o", &out],
            "no such file",
        ),
        (
            vec!["--dir", &lab, "--days-after", "2", "-o", &out],
            "--days-after needs --journal",
        ),
        (
            vec!["--dir", &lab, "--after-upgrade", "maybe", "-o", &out],
            "expected fixed or leaking",
        ),
        (
            vec![
                "--dir",
                &lab,
                "--journal",
                &journal,
                "--days-after",
                "abc",
                "-o",
                &out,
            ],
            "expected 0 to 60 days",
        ),
    ] {
        let run = std::process::Command::new(crate::support::repo().join("scripts/lab"))
            .env("LAB_DEVICE", env!("CARGO_BIN_EXE_lbfleet-lab-device"))
            .arg("telemetry")
            .args(&args)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert_eq!(run.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(says), "{args:?}: {stderr}");
        assert!(!std::path::Path::new(&out).exists(), "{args:?}");
    }
}
