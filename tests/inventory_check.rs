use crate::support::Test;

const SITES: &str = "site,timezone,windows\nCN01,Asia/Shanghai,Sat 02:00-06:00\nFRA1,Europe/Berlin,Sun 01:00-05:00\n";
const HEADER: &str = "name,site,vendor,model,version,mgmt_host,ha_group,ha_role\n";

/// A small clean fleet: one HA pair and one standalone.
fn fleet(extra_rows: &str) -> Test {
    let devices = format!(
        "{HEADER}cn01-lb01,CN01,f5,i4800,12.1.2,lb01.example.net,cn01-ha1,active\ncn01-lb02,CN01,f5,i4800,12.1.2,lb02.example.net,cn01-ha1,standby\nfra1-lb01,FRA1,kemp,LM-1500,7.2.48.2,10.0.0.3:2222,,standalone\n{extra_rows}"
    );
    Test::new()
        .file("inv/sites.csv", SITES)
        .file("inv/devices.csv", devices)
        .args(&["inventory", "check", "inv"])
}

#[test]
fn the_sample_fleet_is_clean() {
    Test::new()
        .sample()
        .args(&["inventory", "check"])
        .run()
        .code(0)
        .stderr_has("0 error(s)")
        .stdout_lacks("error[");
}

#[test]
fn bom_crlf_quotes_and_blank_trailing_lines_are_read() {
    let devices = format!("\u{feff}{HEADER}cn01-lb01,CN01,f5,i4800,\"12.1.2\",lb01.example.net,cn01-ha1,active\ncn01-lb02,CN01,f5,\"i4800\",12.1.2,lb02.example.net,cn01-ha1,standby\n\n\n")
        .replace('\n', "\r\n");
    Test::new()
        .file(
            "inv/sites.csv",
            format!("\u{feff}{}", SITES.replace('\n', "\r\n")),
        )
        .file("inv/devices.csv", devices)
        .args(&["inventory", "check", "inv"])
        .run()
        .code(0)
        .stderr_has("2 devices: 0 error(s)");
}

#[test]
fn duplicate_names_and_addresses_name_both_lines() {
    fleet("CN01-LB01,CN01,f5,i4800,12.1.2,lb09.example.net,,standalone\ncn01-lb09,CN01,f5,i4800,12.1.2,LB02.example.net,,standalone\n")
        .run()
        .code(1)
        .stdout_has("inv/devices.csv:5: field \"name\": error[duplicate-name]: device \"CN01-LB01\" is also defined at inv/devices.csv:2")
        .stdout_has("inv/devices.csv:6: field \"mgmt_host\": error[duplicate-mgmt-host]: management address lb02.example.net is also used at inv/devices.csv:3");
}

#[test]
fn same_host_on_another_port_is_not_a_duplicate_but_the_default_port_is() {
    fleet("x1,CN01,f5,i4800,12.1.2,10.0.0.3:2223,,standalone\n")
        .run()
        .code(0);
    fleet("x1,CN01,f5,i4800,12.1.2,lb01.example.net:22,,standalone\n")
        .run()
        .code(1)
        .stdout_has("duplicate-mgmt-host");
}

#[test]
fn two_actives_in_a_group() {
    fleet("cn01-lb03,CN01,f5,i4800,12.1.2,lb03.example.net,cn01-ha1,active\n")
        .run()
        .code(1)
        .stdout_has("error[ha-group-roles]: HA group \"cn01-ha1\" must have exactly one active and one standby, has 2 active and 1 standby");
}

#[test]
fn a_lone_group_member_and_mixed_models() {
    fleet("x1,CN01,f5,i4800,12.1.2,x1.example.net,g2,standby\n")
        .run()
        .code(1)
        .stdout_has("has 0 active and 1 standby");
    fleet("x1,CN01,f5,i4800,12.1.2,x1.example.net,g2,active\nx2,CN01,f5,i2800,12.1.2,x2.example.net,g2,standby\n")
        .run()
        .code(1)
        .stdout_has("error[ha-group-models]: HA group \"g2\" mixes models");
}

#[test]
fn version_skew_in_a_group_is_a_warning() {
    fleet("x1,CN01,f5,i4800,12.1.2,x1.example.net,g2,active\nx2,CN01,f5,i4800,12.1.3,x2.example.net,g2,standby\n")
        .run()
        .code(0)
        .stdout_has("warning[ha-version-skew]");
}

#[test]
fn injected_shell_metacharacters_are_rejected() {
    for (bad, field) in [
        ("lb9.example.net;reboot", "mgmt_host"),
        ("$(id)", "mgmt_host"),
        ("`id`.example.net", "mgmt_host"),
    ] {
        fleet(&format!("x1,CN01,f5,i4800,12.1.2,\"{bad}\",,standalone\n"))
            .run()
            .code(1)
            .stdout_has(&format!(
                "inv/devices.csv:5: field \"{field}\": error[invalid-mgmt-host]"
            ));
    }
    fleet("x1,CN01,f5,i4800,\"12.1.2; reboot\",x1.example.net,,standalone\n")
        .run()
        .code(1)
        .stdout_has(
            "field \"version\": error[invalid-version]: invalid f5 version \"12.1.2; reboot\"",
        );
    fleet("\"x1;id\",CN01,f5,i4800,12.1.2,x1.example.net,,standalone\n")
        .run()
        .code(1)
        .stdout_has("field \"name\": error[invalid-name]");
}

#[test]
fn unknown_vendor_model_site_and_bad_role() {
    let out = fleet(
        "x1,CN01,cisco,ace,1.0,x1.example.net,,standalone\nx2,CN01,f5,i9999,15.1.10,x2.example.net,,standalone\nx3,LON9,f5,i4800,15.1.10,x3.example.net,,standalone\nx4,CN01,f5,i4800,15.1.10,x4.example.net,,primary\nx5,CN01,f5,i4800,15.1.10,x5.example.net,g7,standalone\nx6,CN01,f5,i4800,15.1.10,x6.example.net,,active\n",
    )
    .run();
    out.code(1)
        .stdout_has("inv/devices.csv:5: field \"vendor\": error[unknown-vendor]")
        .stdout_has("inv/devices.csv:6: field \"model\": warning[unknown-model]: \"i9999\" is not a known f5 model")
        .stdout_has("inv/devices.csv:7: field \"site\": error[unknown-site]: site \"LON9\" is not in sites.csv")
        .stdout_has("inv/devices.csv:8: field \"ha_role\": error[invalid-ha-role]")
        .stdout_has("inv/devices.csv:9: field \"ha_group\": error[standalone-in-group]")
        .stdout_has("inv/devices.csv:10: field \"ha_group\": error[missing-ha-group]");
}

#[test]
fn models_the_catalog_does_not_know_are_warnings_and_the_devices_are_kept() {
    // Real hardware no catalog row names (issue 16): the fleet must still be usable.
    let out = fleet(
        "ns1,CN01,netscaler,MPX 8905,13.1-49.13,ns1.example.net,ns-ha,active\n\
         ns2,CN01,netscaler,MPX 8905,13.1-49.13,ns2.example.net,ns-ha,standby\n\
         a1,FRA1,a10,Thunder 3030S,5.2.1-P3,a1.example.net,,standalone\n\
         k1,FRA1,kemp,LM-X15,7.2.48.2,k1.example.net,,standalone\n",
    )
    .run();
    out.code(0)
        .stdout_lacks("error[")
        .stdout_has("inv/devices.csv:5: field \"model\": warning[unknown-model]: \"MPX 8905\" is not a known netscaler model")
        .stdout_has("inv/devices.csv:7: field \"model\": warning[unknown-model]: \"Thunder 3030S\" is not a known a10 model")
        .stdout_has("inv/devices.csv:8: field \"model\": warning[unknown-model]: \"LM-X15\" is not a known kemp model")
        .stdout_has("hardware not checked");
    // Every device is kept (the HA pair of unknown models too): 3 of the fleet and 4 more.
    assert!(out.stderr.contains("7 devices"), "{}", out.stderr);
    // An empty model is still an error: there is nothing to check at all.
    fleet("x1,CN01,f5,,15.1.10,x1.example.net,,standalone\n")
        .run()
        .code(1)
        .stdout_has("field \"model\": error[unknown-model]");
}

#[test]
fn non_f5_hardware_named_by_public_sources_is_in_the_catalog() {
    // Models hardware-nonf5.csv names (community device-type data): known, so no warning.
    fleet(
        "ns1,CN01,netscaler,MPX-8910,13.1-49.13,ns1.example.net,,standalone\n\
         ns2,CN01,netscaler,SDX-14000,13.1-49.13,ns2.example.net,,standalone\n\
         a1,FRA1,a10,TH4440,5.2.1-P3,a1.example.net,,standalone\n\
         a2,FRA1,a10,Thunder 1040S,5.2.1-P3,a2.example.net,,standalone\n\
         k1,FRA1,kemp,LM-X1,7.2.48.2,k1.example.net,,standalone\n\
         f1,FRA1,fortiadc,FAD-420F,7.4.3,f1.example.net,,standalone\n",
    )
    .run()
    .code(0)
    .stdout_lacks("unknown-model");
}

#[test]
fn a_version_missing_from_the_catalog_is_a_warning() {
    fleet("x1,CN01,f5,i4800,15.1.10.99,x1.example.net,,standalone\n")
        .run()
        .code(0)
        .stdout_has("inv/devices.csv:5: field \"version\": warning[unknown-version]");
}

#[test]
fn bad_sites_are_reported() {
    Test::new()
        .file("inv/sites.csv", "site,timezone,windows,order\nCN01,Asia/Shanghia,Sat 02:00-06:00,1\nFRA1,Europe/Berlin,Sunday 1am,2\nNYC2,America/New_York,Sat 23:00-03:00,x\nCN01,Asia/Shanghai,,\n")
        .file("inv/devices.csv", HEADER)
        .args(&["inventory", "check", "inv"])
        .run()
        .code(1)
        .stdout_has("inv/sites.csv:2: field \"timezone\": error[unknown-timezone]: \"Asia/Shanghia\"")
        .stdout_has("inv/sites.csv:3: field \"windows\": error[invalid-window]")
        .stdout_has("inv/sites.csv:4: field \"order\": error[invalid-order]");
}

#[test]
fn extra_columns_are_kept_not_rejected() {
    Test::new()
        .file("inv/sites.csv", SITES)
        .file("inv/devices.csv", "rack,name,site,vendor,model,version,mgmt_host,ha_group,ha_role,owner\nR1,x1,CN01,f5,i4800,12.1.2,x1.example.net,,standalone,neteng\n")
        .args(&["inventory", "check", "inv"])
        .run()
        .code(0);
}

#[test]
fn unreadable_input_exits_2() {
    Test::new()
        .args(&["inventory", "check", "nowhere"])
        .run()
        .code(2)
        .stderr_has("nowhere: cannot read");
    Test::new()
        .file("inv/sites.csv", SITES)
        .file(
            "inv/devices.csv",
            "name,site,vendor,model,version,mgmt_host\nx1,CN01,f5,i4800,12.1.2,x1\n",
        )
        .args(&["inventory", "check", "inv"])
        .run()
        .code(2)
        .stderr_has("inv/devices.csv:1: missing column(s) ha_group, ha_role");
    Test::new()
        .file("inv/sites.csv", SITES)
        .file("inv/devices.csv", b"name,site\n\xff\xfe,x\n")
        .args(&["inventory", "check", "inv"])
        .run()
        .code(2)
        .stderr_has("inv/devices.csv: not UTF-8 text");
    Test::new()
        .file("inv/other.csv", "a,b\n1,2\n")
        .args(&["inventory", "check", "inv"])
        .run()
        .code(2)
        .stderr_has("inv/other.csv:1: neither a sites file");
}

#[test]
fn findings_as_json() {
    let out = fleet("x1,CN01,f5,i4800,12.1.2,lb01.example.net,,standalone\n")
        .args(&["--json"])
        .run();
    out.code(1);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(v[0]["code"], "duplicate-mgmt-host");
    assert_eq!(v[0]["location"]["line"], 5);
    assert_eq!(v[0]["location"]["field"], "mgmt_host");
}

#[test]
fn a_broken_member_row_does_not_also_report_its_group() {
    // Regression: one bad row used to leave its peer "alone" and add an ha-group-roles error.
    let out = fleet("x1,CN01,f5,i4800,12.1.2,x1.example.net,g2,active\nx2,CN01,f5,i4800,12.1.x,x2.example.net,g2,standby\n").run();
    out.code(1).stdout_has("error[invalid-version]");
    assert!(!out.stdout.contains("ha-group-roles"), "{}", out.stdout);
}

#[test]
fn a_row_with_missing_or_extra_commas_is_a_finding_and_the_rest_is_checked() {
    fleet("x1,CN01,f5,i4800,12.1.2\nx2,CN01,f5,i4800,12.1.2,x2.example.net,,standalone,extra\nx3,CN01,f5,i4800,12.1.x,x3.example.net,,standalone\n")
        .run()
        .code(1)
        .stdout_has("inv/devices.csv:5: error[csv-row]: 5 fields, but the header has 8")
        .stdout_has("inv/devices.csv:6: error[csv-row]: 9 fields, but the header has 8")
        .stdout_has("inv/devices.csv:7: field \"version\": error[invalid-version]");
}

#[test]
fn typos_in_vendor_model_and_site_get_a_did_you_mean() {
    fleet("x1,CN01,netscalar,MPX 8905,13.1-49.13,x1.example.net,,standalone\nx2,CN01,F5,i480,15.1.10,x2.example.net,,standalone\nx3,FRA9,f5,i4800,15.1.10,x3.example.net,,standalone\nx4,CN01,cisco,ace,1.0,x4.example.net,,standalone\n")
        .run()
        .code(1)
        .stdout_has("inv/devices.csv:5: field \"vendor\": error[unknown-vendor]: unknown vendor \"netscalar\" (did you mean \"netscaler\"?)")
        .stdout_has("\"i480\" is not a known f5 model (did you mean \"i4800\"?)")
        .stdout_has("site \"FRA9\" is not in sites.csv (did you mean \"FRA1\"?)")
        // Nothing close: the known values instead of a guess.
        .stdout_has("unknown vendor \"cisco\" (expected one of: f5, netscaler")
        .stdout_lacks("\"cisco\" (did you mean");
}

#[test]
fn a_vendor_typo_on_the_command_line_gets_a_did_you_mean() {
    Test::new()
        .args(&["path", "--vendor", "netscalar", "13.1-49.13", "14.1-66.62"])
        .run()
        .code(2)
        .stderr_has("unknown vendor \"netscalar\" (did you mean \"netscaler\"?)");
    Test::new()
        .args(&[
            "path", "--vendor", "f5", "--model", "i780", "15.1.10", "17.5.1",
        ])
        .run()
        .code(2)
        .stderr_has("\"i780\" is not a known f5 model (did you mean \"i7800\"?)");
    Test::new()
        .sample()
        .args(&["inventory", "report", "--target", "f5=17.1.3,kmep=7.2.60"])
        .run()
        .code(2)
        .stderr_has("unknown vendor \"kmep\" (did you mean \"kemp\"?)");
}

#[test]
fn a_site_in_error_is_reported_once_and_its_devices_are_skipped() {
    // Regression: one time-zone typo gave an unknown-site error on every device row of the site,
    // listed before the site's own error.
    let out = Test::new()
        .file("inv/sites.csv", "site,timezone,windows\nCN01,Asia/Shanghai,Sat 02:00-06:00\nFRA1,Europe/Berlni,Sun 01:00-05:00\n")
        .file("inv/devices.csv", format!("{HEADER}fra1-lb01,FRA1,f5,i4800,15.1.10,x1.example.net,fra1-ha1,active\nfra1-lb02,FRA1,f5,i4800,15.1.10,x2.example.net,fra1-ha1,standby\ncn01-lb01,CN01,f5,i4800,15.1.10,x3.example.net,,standalone\nfra1-lb03,FRA1,f5,i4800,15.1.10,x4.example.net,,standalone\ncn01-lb02,LON9,f5,i4800,15.1.10,x5.example.net,,standalone\n"))
        .args(&["inventory", "check", "inv"])
        .run();
    out.code(1);
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{}", out.stdout);
    assert!(
        lines[0].starts_with("inv/sites.csv:3: field \"timezone\": error[unknown-timezone]: \"Europe/Berlni\" is not an IANA time zone (did you mean \"Europe/Berlin\"?); the 3 device rows at site \"FRA1\" are skipped, not checked further, until the site is fixed (first at inv/devices.csv:2)"),
        "{}",
        out.stdout
    );
    // A site that is nowhere in sites.csv is still an error on its device row.
    assert!(
        lines[1].starts_with("inv/devices.csv:6: field \"site\": error[unknown-site]"),
        "{}",
        out.stdout
    );
    out.stderr_has("2 error(s)");
}

#[test]
fn the_summary_counts_rows_read_not_only_usable_devices() {
    // Regression: a duplicated row (which also takes its HA peer out) made a 4-row fleet read as
    // "1 devices"; a broken site row made the sites look fewer.
    Test::new()
        .file(
            "inv/sites.csv",
            format!("{SITES}NYC2,America/New_Yrok,Sat 23:00-03:00\n"),
        )
        .file("inv/devices.csv", format!("{HEADER}cn01-lb01,CN01,f5,i4800,12.1.2,lb01.example.net,cn01-ha1,active\ncn01-lb02,CN01,f5,i4800,12.1.2,lb02.example.net,cn01-ha1,standby\nfra1-lb01,FRA1,kemp,LM-1500,7.2.48.2,10.0.0.3:2222,,standalone\ncn01-lb01,CN01,f5,i4800,12.1.2,lb01.example.net,cn01-ha1,active\nx1,CN01,f5\n"))
        .args(&["inventory", "check", "inv"])
        .run()
        .code(1)
        .stderr_has("checked 2 files, 3 sites, 5 devices: ")
        .stderr_has("usable: 2 sites, 1 devices");
}

#[test]
fn devices_without_any_sites_file_are_one_error_not_one_per_row() {
    let t = Test::new()
        .sample()
        .args(&["inventory", "check", "inventories/devices.csv"])
        .run();
    t.code(2)
        .stderr_has("inventories/devices.csv: no sites file among the inventory files")
        .stdout_lacks("unknown-site");
    assert_eq!(t.stderr.lines().count(), 1, "{}", t.stderr);
}
