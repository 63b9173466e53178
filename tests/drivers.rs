use crate::support::Test;

#[test]
fn render_shows_the_command_or_refuses_the_value() {
    Test::new()
        .args(&[
            "drivers",
            "render",
            "f5",
            "install",
            "image=BIGIP-17.5.1-0.0.7.iso",
            "volume=HD1.2",
        ])
        .run()
        .code(0)
        .stdout_has(
            "tmsh install sys software image BIGIP-17.5.1-0.0.7.iso volume HD1.2 create-volume",
        );
    for hostile in ["volume=HD1.2; reboot", "volume=$(id)", "volume=`reboot`"] {
        Test::new()
            .args(&[
                "drivers",
                "render",
                "f5",
                "install",
                "image=BIGIP-17.5.1-0.0.7.iso",
                hostile,
            ])
            .run()
            .code(1)
            .stderr_has("refused: install: refused volume value")
            .stdout_lacks("tmsh");
    }
    Test::new()
        .args(&["drivers", "show", "kemp"])
        .run()
        .code(2)
        .stderr_has("no driver for kemp")
        .stderr_has("--drivers FILE");
    Test::new()
        .args(&["drivers", "list"])
        .run()
        .code(0)
        .stdout_has("no driver (plan only): a10, kemp, fortiadc");
}

#[test]
fn images_add_verify_and_catch_a_changed_file() {
    let out = Test::new()
        .file("dl/BIGIP-17.5.1-0.0.7.iso", vec![7u8; 100_000])
        .args(&[
            "images",
            "add",
            "dl/BIGIP-17.5.1-0.0.7.iso",
            "--vendor",
            "f5",
            "--version",
            "17.5.1",
        ])
        .run();
    out.code(0)
        .stdout_has("f5 17.5.1 BIGIP-17.5.1-0.0.7.iso 100000 bytes sha256 ");
    assert!(
        out.read("images/manifest.csv").starts_with(
            "vendor,version,file,size,sha256\nf5,17.5.1,BIGIP-17.5.1-0.0.7.iso,100000,"
        )
    );
    let out = out.then().args(&["images", "verify"]).run();
    out.code(0).stdout_has("1 images verified");
    let out = out
        .then()
        .file("images/BIGIP-17.5.1-0.0.7.iso", vec![7u8; 99_999])
        .args(&["images", "verify"])
        .run();
    out.code(1)
        .stdout_has("size is 99999 bytes, the manifest says 100000");
    out.then()
        .args(&[
            "images",
            "add",
            "x.iso",
            "--vendor",
            "f5",
            "--version",
            "17.5.1; reboot",
        ])
        .run()
        .code(2)
        .stderr_has("invalid f5 version");
}

/// `images add FILE --vendor V --version X` with extra flags, in `t`'s folder.
fn add(t: Test, file: &str, vendor: &str, version: &str, extra: &[&str]) -> Test {
    t.args(&[
        "images",
        "add",
        file,
        "--vendor",
        vendor,
        "--version",
        version,
    ])
    .args(extra)
}

// Regression: a BIG-IP 17.5.1 ISO was accepted as 16.1.4, and as a NetScaler image.
#[test]
fn images_add_refuses_a_name_that_says_otherwise() {
    let iso = "dl/BIGIP-17.5.1-0.0.7.iso";
    let t = Test::new().file(iso, b"iso");
    let out = add(t, iso, "f5", "16.1.4", &[]).run();
    out.code(2)
        .stderr_has("dl/BIGIP-17.5.1-0.0.7.iso: --vendor/--version say f5 16.1.4, but the file name says f5 17.5.1;")
        .stderr_has("--force");
    assert!(!out.path_exists("images/manifest.csv"));
    let out = add(out.then(), iso, "netscaler", "14.1-66.62", &[]).run();
    out.code(2)
        .stderr_has("say netscaler 14.1-66.62, but the file name says f5 17.5.1 (netscaler images are named like build-14.1-66.62_nc_64.tgz)");
    assert!(!out.path_exists("images/manifest.csv"));
    // --force takes the claim, and says what it overrode.
    let out = add(out.then(), iso, "f5", "16.1.4", &["--force"]).run();
    out.code(0)
        .stderr_has("warning: dl/BIGIP-17.5.1-0.0.7.iso: the file name says f5 17.5.1; recorded as f5 16.1.4 (--force)")
        .stdout_has("f5 16.1.4 BIGIP-17.5.1-0.0.7.iso 3 bytes");
}

#[test]
fn images_add_reads_each_netscaler_naming() {
    for (file, version) in [
        ("build-11.0-63.16_nc.tgz", "11.0-63.16"),
        ("build-14.1-66.62_nc_64.tgz", "14.1-66.62"),
        ("NSVPX-KVM-13.0-79.64_nc_64.tgz", "13.0-79.64"),
        ("NSVPX-NCore_build-12.1-48.13_nc_64.tgz", "12.1-48.13"),
    ] {
        let out = add(
            Test::new().file(file, b"tgz"),
            file,
            "netscaler",
            version,
            &[],
        )
        .run();
        out.code(0)
            .stdout_has(&format!("netscaler {version} {file} 3 bytes"));
        add(out.then(), file, "netscaler", "14.1-43.56", &[])
            .run()
            .code(2)
            .stderr_has(&format!("{file}: --vendor/--version say netscaler 14.1-43.56, but the file name says netscaler {version};"));
    }
}

// Regression: re-adding a file as another vendor replaced its manifest entry without a word.
#[test]
fn images_add_never_replaces_a_manifest_entry_silently() {
    let iso = "dl/BIGIP-17.5.1-0.0.7.iso";
    let out = add(Test::new().file(iso, b"iso one"), iso, "f5", "17.5.1", &[]).run();
    out.code(0);
    let manifest = out.read("images/manifest.csv");
    // The identical file with the same claim: a no-op.
    let out = add(out.then(), iso, "f5", "17.5.1", &[]).run();
    out.code(0)
        .stderr_has("already in the manifest: nothing changed");
    assert_eq!(out.read("images/manifest.csv"), manifest);
    // The same name as another vendor (generic takes any name): refused, naming the entry.
    let out = add(out.then(), iso, "generic", "2.8.3", &[]).run();
    out.code(2)
        .stderr_has(
            "images/manifest.csv: already lists f5 17.5.1 BIGIP-17.5.1-0.0.7.iso (7 bytes, sha256 ",
        )
        .stderr_has("BIGIP-17.5.1-0.0.7.iso is now claimed as generic 2.8.3; give --force");
    assert_eq!(out.read("images/manifest.csv"), manifest);
    // The same name and claim with other content: refused too.
    let out = add(out.then().file(iso, b"iso two"), iso, "f5", "17.5.1", &[]).run();
    out.code(2)
        .stderr_has("BIGIP-17.5.1-0.0.7.iso now has other content");
    assert_eq!(out.read("images/manifest.csv"), manifest);
    assert_eq!(out.read("images/BIGIP-17.5.1-0.0.7.iso"), "iso one");
    // --force replaces it and says which entry it replaced.
    let out = add(out.then(), iso, "f5", "17.5.1", &["--force"]).run();
    out.code(0).stderr_has(
        "images/manifest.csv: replaced f5 17.5.1 BIGIP-17.5.1-0.0.7.iso (7 bytes, sha256 ",
    );
    assert_eq!(out.read("images/BIGIP-17.5.1-0.0.7.iso"), "iso two");
    out.then().args(&["images", "verify"]).run().code(0);
}

// Regression: a missing file said only "No such file or directory (os error 2)".
#[test]
fn images_add_names_a_missing_file() {
    add(
        Test::new(),
        "dl/BIGIP-17.5.1-0.0.7.iso",
        "f5",
        "17.5.1",
        &[],
    )
    .run()
    .code(2)
    .stderr_has("lbfleet: error: dl/BIGIP-17.5.1-0.0.7.iso: No such file or directory");
}
