use crate::support::Test;

#[test]
fn models_carry_figures_and_sources_and_leave_unknowns_empty() {
    let out = Test::new()
        .args(&["catalog", "models", "--vendor", "f5", "--format", "csv"])
        .run();
    out.code(0)
        .stdout_has("f5,i4800,BIG-IP iSeries i4800,iSeries,C115,32,,1100000,");
    let mut rows = csv::Reader::from_reader(out.stdout.as_bytes());
    let headers = rows.headers().unwrap().clone();
    let source = headers.iter().position(|h| h == "source").unwrap();
    for r in rows.records() {
        let r = r.unwrap();
        assert!(!r[source].is_empty(), "model without a source: {r:?}");
        assert_eq!(&r[0], "f5", "--vendor filter");
    }
    // No NetScaler datasheet figures were found: memory stays empty.
    let ns = Test::new()
        .args(&[
            "catalog",
            "models",
            "--vendor",
            "netscaler",
            "--format",
            "json",
        ])
        .run();
    ns.code(0).stdout_has("\"memory_gb\": null");
}

#[test]
fn defects_list_affected_ranges_in_vendor_notation() {
    Test::new()
        .args(&["catalog", "defects", "--vendor", "f5", "--format", "csv"])
        .run()
        .code(0)
        .stdout_has("ID454018,f5,memory-leak,3,")
        .stdout_has("\">=11.1.0, <=11.5.3 HF1; 11.5.10\"")
        .stdout_has("2*;4*;i2*;i4*");
}

#[test]
fn releases_and_rules_are_listed() {
    Test::new()
        .args(&["catalog", "releases", "--vendor", "f5"])
        .run()
        .code(0)
        .stdout_has("21.1.0")
        .stdout_has("2029-05-05");
    Test::new()
        .args(&["catalog", "rules", "--vendor", "kemp", "--format", "csv"])
        .run()
        .code(0)
        .stdout_has("kemp,direct,<7.2.60,7.2.60");
}

#[test]
fn a_catalog_dir_replaces_the_built_in_one_and_bad_rows_name_their_place() {
    let repo = crate::support::repo().join("inventories/catalog");
    let mut t = Test::new();
    let mut broken_line = 0;
    for f in [
        "models.csv",
        "releases.csv",
        "upgrade-rules.csv",
        "platform-support.csv",
        "defects.csv",
    ] {
        let mut text = std::fs::read_to_string(repo.join(f)).unwrap();
        if f == "releases.csv" {
            text.push_str("f5,17.1.x,,,,,,,broken row\n");
            broken_line = text.lines().count();
        }
        t = t.file(&format!("cat/{f}"), text);
    }
    t.args(&["catalog", "releases", "--catalog", "cat"])
        .run()
        .code(2)
        .stderr_has(&format!(
            "cat/releases.csv:{broken_line}: field \"version\": invalid f5 version \"17.1.x\""
        ));
}
