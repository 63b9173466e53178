use crate::support::Test;

#[test]
fn multi_hop_path_prints_each_hop_with_its_rule() {
    let out = Test::new()
        .args(&[
            "path", "--vendor", "f5", "--model", "i7800", "15.1.10", "17.5.1",
        ])
        .run();
    out.code(0);
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{}", out.stdout);
    assert!(lines[0].starts_with("15.1.10 -> 16.1.4  [f5 direct 15.x -> 16.x"));
    assert!(lines[1].starts_with("16.1.4 -> 17.1.1.3  [f5 direct 16.1.4.x -> 17.1.1.3"));
    assert!(lines[2].starts_with("17.1.1.3 -> 17.5.1"));
}

#[test]
fn no_path_exits_1_with_the_reason() {
    Test::new()
        .args(&["path", "--vendor", "a10", "5.2.1-P3", "6.0.6"])
        .run()
        .code(1)
        .stderr_has("no path: blocked: no upgrade rules are known for a10");
    // K13845: 17.1.x goes to 21.x directly, but not on iSeries hardware (K9476).
    Test::new()
        .args(&["path", "--vendor", "f5", "17.1.3", "21.1.0"])
        .run()
        .code(0)
        .stdout_has("17.1.3 -> 21.1.0  [f5 direct 17.1.x -> 21.x")
        .stdout_has("K13845");
    Test::new()
        .args(&[
            "path", "--vendor", "f5", "--model", "i5800", "17.1.3", "21.1.0",
        ])
        .run()
        .code(1)
        .stderr_has("replace hardware: i5800 cannot run 21.1.0");
    Test::new()
        .args(&[
            "path", "--vendor", "f5", "--model", "r5600", "15.1.10", "16.1.6",
        ])
        .run()
        .code(1)
        .stderr_has("replace hardware: r5600 cannot run 16.1.6");
    Test::new()
        .args(&["path", "--vendor", "netscaler", "13.0-92.19", "14.1-66.62"])
        .run()
        .code(0)
        .stdout_has("13.0-92.19 -> 13.1-62.23");
}

#[test]
fn a_version_missing_from_the_catalog_still_starts_a_path() {
    Test::new()
        .args(&["path", "--vendor", "kemp", "7.2.50.1", "7.2.62.0"])
        .run()
        .code(0)
        .stdout_has("7.2.50.1 -> 7.2.60")
        .stdout_has("7.2.60 -> 7.2.62.0");
}

#[test]
fn recommended_target_is_explained() {
    Test::new()
        .args(&[
            "path",
            "--vendor",
            "f5",
            "--model",
            "i4800",
            "--as-of",
            "2026-11-25",
            "12.1.2",
            "recommended",
        ])
        .run()
        .code(0)
        .stderr_has("recommended target: 17.5.1")
        .stdout_has("-> 17.5.1");
}

#[test]
fn unknown_model_is_an_input_error() {
    Test::new()
        .args(&[
            "path", "--vendor", "f5", "--model", "i9999", "15.1.10", "17.1.3",
        ])
        .run()
        .code(2)
        .stderr_has("\"i9999\" is not a known f5 model");
}

#[test]
fn kemp_below_the_gate_moves_freely_but_not_past_it() {
    Test::new()
        .args(&["path", "--vendor", "kemp", "7.2.48.2", "7.2.54.0"])
        .run()
        .code(0)
        .stdout_has("7.2.48.2 -> 7.2.54.0");
    let out = Test::new()
        .args(&["path", "--vendor", "kemp", "7.2.54.0", "7.2.62.0"])
        .run();
    out.code(0);
    assert_eq!(
        out.stdout.lines().count(),
        2,
        "through 7.2.60: {}",
        out.stdout
    );
}

// Regression: a target the catalog does not list (a typo) got a path as if it were a release.
#[test]
fn an_unknown_target_is_refused_unless_allowed() {
    Test::new()
        .args(&["path", "--vendor", "f5", "15.1.10", "17.9.9"])
        .run()
        .code(2)
        .stderr_has("f5 17.9.9 is not a release the catalog lists (nearest known: 17.1.3, 17.5.0, 17.5.1, 21.0.0, 21.1.0)")
        .stderr_has("--allow-unknown-target")
        .stdout_lacks("->");
    Test::new()
        .args(&["path", "--vendor", "f5", "15.1.10", "17.1.9"])
        .run()
        .code(2)
        .stderr_has("f5 17.1.9 is not a release the catalog lists (known in 17.1: 17.1.1.2, 17.1.1.3, 17.1.2.1, 17.1.3)");
    Test::new()
        .args(&[
            "path",
            "--vendor",
            "f5",
            "15.1.10",
            "17.9.9",
            "--allow-unknown-target",
        ])
        .run()
        .code(0)
        .stdout_has("17.1.1.3 -> 17.9.9");
}
