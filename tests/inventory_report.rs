use crate::support::{Test, repo};

/// The command that produced reports/inventory-report.csv (see README).
const REPORT_ARGS: [&str; 6] = [
    "inventory",
    "report",
    "--as-of",
    "2026-11-25",
    "-o",
    "report.csv",
];

#[test]
fn the_committed_sample_report_is_not_stale() {
    let out = Test::new().sample().args(&REPORT_ARGS).run();
    out.code(0);
    let committed = std::fs::read_to_string(repo().join("reports/inventory-report.csv")).unwrap();
    assert!(
        out.read("report.csv") == committed,
        "reports/inventory-report.csv is stale: regenerate it with `cargo run -- inventory report --as-of 2026-11-25 -o reports/inventory-report.csv`"
    );
}

#[test]
fn sample_report_shows_every_action() {
    let out = Test::new().sample().args(&REPORT_ARGS).run();
    out.code(0);
    let text = out.read("report.csv");
    let mut r = csv::Reader::from_reader(text.as_bytes());
    let headers: Vec<String> = r.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(
        headers[..12],
        [
            "name",
            "site",
            "vendor",
            "model",
            "version",
            "ha_group",
            "ha_role",
            "advisories",
            "target",
            "path",
            "hops",
            "action"
        ]
    );
    let rows: Vec<csv::StringRecord> = r.records().map(Result::unwrap).collect();
    assert!(rows.len() >= 40, "the sample fleet has at least 40 devices");
    let row = |name: &str| rows.iter().find(|r| &r[0] == name).unwrap().clone();
    // The CN01 i4800 pairs run 12.1.2: the STPD leak ID640376, and a four-hop path.
    let lb01 = row("cn01-lb01");
    assert!(lb01[7].contains("ID640376"));
    assert_eq!(&lb01[8], "17.5.1");
    assert_eq!(&lb01[9], "14.1.5 > 16.1.4 > 17.1.1.3 > 17.5.1");
    assert_eq!(&lb01[10], "4");
    assert_eq!(&lb01[11], "upgrade");
    let rseries = row("cn01-lb10");
    assert_eq!(&rseries[11], "replace-hardware");
    assert!(
        rseries[12].contains("r5600 cannot run 16.1.4"),
        "{rseries:?}"
    );
    // (`none` and `stay` are checked on fleets of their own.)
    for action in ["upgrade", "replace-hardware"] {
        assert!(rows.iter().any(|r| &r[11] == action), "no {action} row");
    }
}

#[test]
fn a_device_of_an_unknown_model_is_assessed_on_the_vendor_rules_and_says_so() {
    let out = Test::new()
        .file(
            "inv/sites.csv",
            "site,timezone,windows\nFRA1,Europe/Berlin,Sun 01:00-05:00\n",
        )
        .file(
            "inv/devices.csv",
            "name,site,vendor,model,version,mgmt_host,ha_group,ha_role\n\
             n1,FRA1,netscaler,MPX 8905,13.1-49.13,10.0.0.1,,standalone\n\
             n2,FRA1,netscaler,MPX-17000,13.1-49.13,10.0.0.2,,standalone\n",
        )
        .args(&[
            "inventory",
            "report",
            "inv",
            "--as-of",
            "2026-11-25",
            "--format",
            "csv",
        ])
        .run();
    out.code(0);
    let mut r = csv::Reader::from_reader(out.stdout.as_bytes());
    let rows: Vec<csv::StringRecord> = r.records().map(Result::unwrap).collect();
    let (unknown, known) = (&rows[0], &rows[1]);
    assert_eq!(&unknown[3], "MPX 8905", "the model is kept as written");
    // Same vendor rules, same version: the same target and path as a known model.
    assert_eq!(&unknown[8], &known[8]);
    assert_eq!(&unknown[9], &known[9]);
    assert_eq!(&unknown[11], "upgrade");
    assert!(
        unknown[12].contains("\"MPX 8905\" is not in the catalog")
            && unknown[12].contains("hardware not checked"),
        "{}",
        &unknown[12]
    );
    assert!(
        !known[12].contains("hardware not checked"),
        "{}",
        &known[12]
    );
}

#[test]
fn a_device_kept_below_an_unreachable_better_release_stays() {
    let out = Test::new()
        .file(
            "inv/sites.csv",
            "site,timezone,windows\nFRA1,Europe/Berlin,Sun 01:00-05:00\n",
        )
        .file(
            "inv/devices.csv",
            "name,site,vendor,model,version,mgmt_host,ha_group,ha_role\n\
             old,FRA1,f5,i5800,17.5.1,10.0.0.1,,standalone\n\
             new,FRA1,f5,r5600,21.1.0,10.0.0.2,,standalone\n",
        )
        .args(&[
            "inventory",
            "report",
            "inv",
            "--as-of",
            "2026-11-25",
            "--format",
            "csv",
        ])
        .run();
    out.code(0);
    let mut r = csv::Reader::from_reader(out.stdout.as_bytes());
    let rows: Vec<csv::StringRecord> = r.records().map(Result::unwrap).collect();
    let (old, new) = (&rows[0], &rows[1]);
    // Both are on their target; only one of them on the best release.
    assert_eq!(&old[8], &old[4]);
    assert_eq!(&new[8], &new[4]);
    assert_eq!(&old[11], "stay");
    assert!(old[12].contains("ranks higher"), "{}", &old[12]);
    assert_eq!(&new[11], "none");
    assert_eq!(&new[12], "");
}

#[test]
fn json_and_markdown_and_table() {
    let out = Test::new()
        .sample()
        .args(&[
            "inventory",
            "report",
            "--as-of",
            "2026-11-25",
            "--format",
            "json",
        ])
        .run();
    out.code(0);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let first = &v[0];
    assert_eq!(first["name"], "cn01-lb01");
    assert_eq!(first["hops"], 4);
    assert_eq!(first["advisories"][0], "ID640376");
    Test::new()
        .sample()
        .args(&[
            "inventory",
            "report",
            "--as-of",
            "2026-11-25",
            "--format",
            "markdown",
        ])
        .run()
        .code(0)
        .stdout_has("| name | site | vendor |");
    Test::new()
        .sample()
        .args(&["inventory", "report", "--as-of", "2026-11-25"])
        .run()
        .code(0)
        .stdout_has("NAME       SITE");
}

#[test]
fn explicit_targets_per_vendor() {
    let out = Test::new()
        .sample()
        .args(&[
            "inventory",
            "report",
            "--as-of",
            "2026-11-25",
            "--format",
            "csv",
            "--target",
            "f5=17.1.3,kemp=7.2.60",
        ])
        .run();
    out.code(0)
        .stdout_has("fra1-lb01,FRA1,f5,i7800,15.1.10,fra1-ha01,active,ID974501,17.1.3,16.1.4 > 17.1.1.3 > 17.1.3,3,upgrade")
        .stdout_has("fra1-lb09,FRA1,kemp,LM-1500,7.2.48.2,,standalone,,7.2.60,7.2.60,1,upgrade")
        // Vendors without an explicit target keep the recommended one.
        .stdout_has("fra1-lb07,FRA1,netscaler,MPX-11500,13.0-92.19,fra1-ha07,active,,14.1-66.62");
    Test::new()
        .sample()
        .args(&["inventory", "report", "--target", "17.1.3"])
        .run()
        .code(2)
        .stderr_has("give the target per vendor");
}

// Regression: `--target f5=17.9.9` (not a release) gave every f5 device a path to it.
#[test]
fn an_unknown_target_is_refused_unless_allowed() {
    let out = Test::new()
        .sample()
        .args(&[
            "inventory",
            "report",
            "--target",
            "f5=17.9.9",
            "-o",
            "r.csv",
        ])
        .run();
    out.code(2)
        .stderr_has("--target: f5 17.9.9 is not a release the catalog lists (nearest known: ")
        .stderr_has("--allow-unknown-target");
    assert!(!out.path_exists("r.csv"));
    // Every vendor's target is checked, whether or not the fleet has that vendor.
    Test::new()
        .sample()
        .args(&["inventory", "report", "--target", "f5=17.1.3,kemp=7.3.0"])
        .run()
        .code(2)
        .stderr_has("kemp 7.3.0 is not a release the catalog lists");
    Test::new()
        .sample()
        .args(&[
            "inventory",
            "report",
            "--format",
            "csv",
            "--target",
            "f5=17.9.9",
            "--allow-unknown-target",
        ])
        .run()
        .code(0)
        .stdout_has("fra1-lb01,FRA1,f5,i7800,15.1.10,fra1-ha01,active,ID974501,17.9.9,");
}

#[test]
fn summary_counts_and_defect_exposure() {
    let out = Test::new()
        .sample()
        .args(&[
            "inventory",
            "report",
            "--as-of",
            "2026-11-25",
            "--summary",
            "--format",
            "json",
        ])
        .run();
    out.code(0);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let i4800 = v["fleet"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["model"] == "i4800")
        .unwrap();
    assert_eq!(i4800["devices"], 6);
    assert_eq!(i4800["site"], "CN01");
    let stpd = v["defects"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["defect"] == "ID640376")
        .unwrap();
    assert_eq!(stpd["devices"], 9, "6 x i4800 + 3 x i2800");
}

#[test]
fn output_is_written_atomically_and_not_at_all_on_errors() {
    let out = Test::new().sample().args(&REPORT_ARGS).run();
    out.code(0);
    let leftovers: Vec<_> = std::fs::read_dir(&out.dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");

    let t = Test::new().sample().file("report.csv", "previous\n");
    let devices = std::fs::read_to_string(t.path().join("inventories/devices.csv")).unwrap();
    let t = t.file(
        "inventories/devices.csv",
        devices.replace(
            "cn01-lb02,CN01,f5,i4800,12.1.2",
            "cn01-lb02,CN01,f5,i4800,12.1.x",
        ),
    );
    let out = t.args(&REPORT_ARGS).run();
    out.code(1).stderr_has("error[invalid-version]");
    assert_eq!(
        out.read("report.csv"),
        "previous\n",
        "a failed run must not touch the output"
    );
}
