//! Drivers against the real output samples of shared/reference/cli-output.md, and the
//! injection guard.

use super::*;

fn drivers() -> Drivers {
    Drivers::load(None).unwrap()
}

#[test]
fn hostile_values_never_reach_a_command() {
    let d = drivers();
    let f5 = d.get(Vendor::F5).unwrap();
    assert_eq!(
        f5.render(
            "install",
            &[("image", "BIGIP-17.5.1-0.0.7.iso"), ("volume", "HD1.2")]
        )
        .unwrap(),
        "tmsh install sys software image BIGIP-17.5.1-0.0.7.iso volume HD1.2 create-volume"
    );
    for (param, value) in [
        ("volume", "HD1.2; reboot"),
        ("volume", "$(id)"),
        ("image", "x.iso; rm -rf /"),
        ("image", "`id`.iso"),
        ("image", "../../etc/passwd.iso"),
        ("image", "a b.iso"),
        ("image", "ok.iso\nreboot"),
        ("volume", "HD1.22"),
        ("image", "-rf.iso"),
    ] {
        let mut values = vec![("image", "BIGIP-17.5.1-0.0.7.iso"), ("volume", "HD1.2")];
        values.retain(|(k, _)| *k != param);
        values.push((param, value));
        let e = f5.render("install", &values).unwrap_err();
        assert!(matches!(e, RenderError::Refused { .. }), "{value:?}: {e}");
    }
    // Metacharacters are refused even where a pattern would let them through.
    let loose = Driver::parse(
        "loose.toml",
        &std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/drivers/generic.toml"))
            .unwrap()
            .replace(
                r"pattern = '^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$'",
                "pattern = '.*'",
            ),
    )
    .unwrap();
    for v in ["15.1.10; reboot", "$(id)", "a|b", "a&&b", "a>b"] {
        assert!(loose.render("install", &[("image", v)]).is_err(), "{v}");
    }
    // Every shell metacharacter, alone in an otherwise plain value, is refused, and the value
    // without it is rendered: the guard is the character, not the pattern.
    assert_eq!(
        loose.render("install", &[("image", "ab")]).unwrap(),
        loose.commands["install"].run.replace("{image}", "ab")
    );
    for c in [
        ';', '&', '|', '$', '`', '\'', '"', '\\', '<', '>', '(', ')', '{', '}', '[', ']', '*', '?',
        '!', '#', '~', ' ', '\t', '\n', '\r', '\0', '\u{7f}',
    ] {
        let v = format!("a{c}b");
        assert!(
            matches!(
                loose.render("install", &[("image", &v)]),
                Err(RenderError::Refused { .. })
            ),
            "{c:?} was let through"
        );
    }
    assert!(matches!(
        f5.render("install", &[("image", "a.iso")]).unwrap_err(),
        RenderError::Missing { .. }
    ));
    assert!(matches!(
        f5.render("reboot", &[("volume", "HD1.2"), ("force", "yes")])
            .unwrap_err(),
        RenderError::Unexpected { .. }
    ));
}

#[test]
fn vendors_without_a_driver_say_how_to_add_one() {
    let e = drivers().get(Vendor::A10).unwrap_err().to_string();
    assert!(
        e.contains("no driver for a10") && e.contains("--drivers FILE"),
        "{e}"
    );
}

#[test]
fn f5_version_and_volumes_from_real_output() {
    let d = drivers();
    let f5 = d.get(Vendor::F5).unwrap();
    // cli-output.md A1-1.
    let a1 = "Sys::Version\nMain Package\n  Product      BIG-IP\n  Version      21.1.0.1\n  Build        0.0.26\n  Edition      Point Release 1\n  Date         Tue Jul 14 05:03:24 PDT 2026\n  FIPS Module  Cryptographic Module for BIG-IP\n";
    let v = f5.parse_output("show_version", a1);
    assert_eq!(v["version"], "21.1.0.1");
    assert_eq!(v["build"], "0.0.26");
    assert_eq!(v["edition"], "Point Release 1");
    // A2-2: an installing volume and the Allowed Version column.
    let a2 = "--------------------------------------------------------------------------------\nSys::Software Status\nVolume  Product   Version   Build  Active                Status  Allowed Version\n--------------------------------------------------------------------------------\nHD1.1    BIG-IP  15.1.2.1  0.0.10      no              complete              yes\nHD1.2    BIG-IP    17.5.0  0.0.15      no installing 10.000 pct              yes\nHD1.3    BIG-IP  17.1.2.1   0.0.2     yes              complete              yes\n";
    let rows = f5.parse_rows("software_status", a2);
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[1]["volume"], "HD1.2");
    assert_eq!(rows[1]["status"], "installing 10.000 pct");
    assert_eq!(rows[2]["active"], "yes");
    assert_eq!(rows[2]["version"], "17.1.2.1");
    // A2-1 (no Allowed Version column, misaligned as published) and A2-3 (Slot column).
    let a21 = "Volume  Product   Version  Build  Active    Status\nHD1.3    BIG-IP  13.1.1.3  0.0.1      yes complete\n";
    assert_eq!(
        f5.parse_rows("software_status", a21)[0]["status"],
        "complete"
    );
    let a23 = "Volume  Slot  Product   Version    Build  Active    Status\nHD1.1      1   BIG-IP  12.1.3.4    0.0.2     yes  complete\n";
    assert_eq!(
        f5.parse_rows("software_status", a23)[0]["version"],
        "12.1.3.4"
    );
}

#[test]
fn f5_ha_sync_disk_and_health_from_real_output() {
    let d = drivers();
    let f5 = d.get(Vendor::F5).unwrap();
    // A3 fragments.
    let active =
        "Status   ACTIVE\nSummary  1/1 active\nDetails  active for /Common/traffic-group-1\n";
    assert_eq!(f5.parse_output("ha_role", active)["role"], "ACTIVE");
    assert_eq!(
        f5.parse_output("ha_role", "Status   STANDBY\nSummary  1/1 standby\n")["role"],
        "STANDBY"
    );
    assert!(f5.parse_output("ha_role", "Status   OFFLINE\n").is_empty());
    // A4 fragments.
    let sync = "Status   In Sync\nMode     high-availability\nSummary  All devices in the device group are in sync\n";
    assert_eq!(f5.parse_output("sync_status", sync)["status"], "In Sync");
    // A6: df in 1K blocks (one line of the playbook output).
    let df = "Filesystem                            1K-blocks    Used Available Use% Mounted on\n/dev/mapper/vg--db--vda-dat.share      15350768  156396  14391556   2% /shared\n";
    assert_eq!(
        f5.parse_output("free_space", df)["available_kib"],
        "14391556"
    );
    // A5: config verify with warnings is healthy; an error line is not.
    let ok = "Validating system configuration...\n  /defaults/asm_base.conf\nValidating configuration...\n  /config/bigip.conf\nThere were warnings:\nSSLv2 is no longer supported and has been removed.\n";
    assert!(f5.succeeded("health", ok));
    assert!(!f5.succeeded(
        "health",
        "Validating configuration...\nerror: 01070734:3: Configuration error\n"
    ));
}

#[test]
fn netscaler_version_and_ha_from_real_output() {
    let d = drivers();
    let ns = d.get(Vendor::NetScaler).unwrap();
    // B1-1 and B1-2.
    let v = ns.parse_output(
        "show_version",
        "NetScaler NS11.0: Build 63.16.nc, Date: Oct  4 2015, 08:55:49",
    );
    assert_eq!(
        (v["release"].as_str(), v["build"].as_str()),
        ("11.0", "63.16")
    );
    let v = ns.parse_output(
        "show_version",
        "NetScaler NS13.1: Build 37.38.nc, Date: Nov 23 2022, 04:42:36   (64-bit)",
    );
    assert_eq!(
        (v["release"].as_str(), v["build"].as_str()),
        ("13.1", "37.38")
    );
    // B2-1.
    let node = "        Node ID:      0\n        IP:  10.111.111.102 (VA1OOONSVPX02)\n        Node State: UP\n        Master State: Secondary\n";
    assert_eq!(ns.parse_output("ha_role", node)["role"], "Secondary");
    assert_eq!(
        ns.render(
            "install",
            &[
                ("release", "14.1-66.62"),
                ("image", "build-14.1-66.62_nc_64.tgz")
            ]
        )
        .unwrap(),
        "shell \"mkdir -p /var/nsinstall/14.1-66.62 && tar -xzf /var/nsinstall/build-14.1-66.62_nc_64.tgz -C /var/nsinstall/14.1-66.62 && cd /var/nsinstall/14.1-66.62 && ./installns -Y\""
    );
}

#[test]
fn broken_driver_files_name_the_problem() {
    let e = Driver::parse("d.toml", "vendor = \"f5\"\ndescription = \"x\"\nimage_dir = \"/x\"\n[commands.show_version]\nrun = \"v\"\n").unwrap_err();
    assert!(
        e.to_string().contains("missing commands: free_space"),
        "{e}"
    );
    let e = Driver::parse(
        "d.toml",
        "vendor = \"f5\"\ndescription = \"x\"\nimage_dir = \"/x\"\nbogus = 1\n",
    )
    .unwrap_err();
    assert!(e.to_string().starts_with("d.toml:4"), "{e}");
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/drivers/f5.toml")).unwrap();
    let e = Driver::parse(
        "d.toml",
        &text.replace("{volume} create-volume", "{slot} create-volume"),
    )
    .unwrap_err();
    assert!(
        e.to_string()
            .contains("uses {slot} but [params.slot] is not defined"),
        "{e}"
    );
    // A parse pattern must capture what it reads.
    let e = Driver::parse(
        "d.toml",
        &text.replace(
            r"parse.build = '(?m)^\s*Build\s+(\S+)\s*$'",
            r"parse.build = '(?m)^\s*Build\s+\S+\s*$'",
        ),
    )
    .unwrap_err();
    assert!(
        e.to_string()
            .contains("parse.build needs one capture group"),
        "{e}"
    );
    // An install waited for through a command that is not a read-only status with rows and a
    // `complete` pattern is refused: each of the three is needed.
    for (what, broken) in [
        (
            "read-only",
            text.replacen(
                "run = \"tmsh show sys software status\"\nread_only = true",
                "run = \"tmsh show sys software status\"",
                1,
            ),
        ),
        (
            "rows",
            text.replacen("\nrows = '", "\nnot_rows = '", 1)
                .replace("not_rows = '(?m)", "# "),
        ),
        ("complete", text.replacen("complete = '^complete$'", "", 1)),
    ] {
        assert_ne!(broken, text, "{what}: the edit did not apply");
        let e = Driver::parse("d.toml", &broken).unwrap_err();
        assert!(
            e.to_string().contains("commands.install.wait_for")
                && e.to_string()
                    .contains("must be a read-only command with `rows`"),
            "{what}: {e}"
        );
    }
    let e = Driver::parse(
        "d.toml",
        &text.replace("vendor = \"f5\"", "vendor = \"cisco\""),
    )
    .unwrap_err();
    assert!(e.to_string().contains("vendor"), "{e}");
    // An image naming without the version group could never confirm a version.
    let e = Driver::parse("d.toml", &text.replace("(?P<version>", "(")).unwrap_err();
    assert!(
        e.to_string()
            .contains("field \"image_name\": needs a named group (?P<version>...)"),
        "{e}"
    );
}

#[test]
fn a_user_driver_replaces_the_builtin_one() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("a10.toml");
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/drivers/f5.toml"))
        .unwrap()
        .replace("vendor = \"f5\"", "vendor = \"a10\"");
    std::fs::write(&p, text).unwrap();
    let d = Drivers::load(Some(&p)).unwrap();
    assert_eq!(d.get(Vendor::A10).unwrap().source, p.display().to_string());
    assert_eq!(d.all().len(), 4);
}

#[test]
fn a_driver_shows_what_it_runs() {
    let d = drivers();
    let shown = d.get(Vendor::F5).unwrap().to_string();
    assert!(
        shown.starts_with("f5 driver (<embedded>/drivers/f5.toml): "),
        "{shown}"
    );
    assert!(
        shown.contains("images go to /shared/images (up to 8 SSH streams per upload)\n"),
        "{shown}"
    );
    assert!(
        shown.contains("  param volume: ^(?:HD1\\.[1-9])$\n"),
        "{shown}"
    );
    assert!(
        shown.contains("  show_version (read-only): tmsh show sys version\n"),
        "{shown}"
    );
    assert!(
        shown.contains("  reboot: tmsh reboot volume {volume}\n"),
        "{shown}"
    );
}

#[test]
fn upload_streams_default_to_the_measured_count_and_take_1_to_16() {
    let f5 = include_str!("../../drivers/f5.toml");
    assert_eq!(
        drivers().get(Vendor::F5).unwrap().upload_streams,
        UPLOAD_STREAMS
    );
    let with = |n: &str| {
        Driver::parse(
            "d.toml",
            &f5.replace(
                "image_dir = \"/shared/images\"",
                &format!("image_dir = \"/x\"\nupload_streams = {n}"),
            ),
        )
    };
    assert_eq!(with("1").unwrap().upload_streams, 1);
    assert_eq!(with("16").unwrap().upload_streams, 16);
    for bad in ["0", "17"] {
        let e = with(bad).unwrap_err().to_string();
        assert!(
            e.contains("upload_streams") && e.contains("give 1 to 16"),
            "{e}"
        );
    }
}

#[test]
fn a_backup_names_the_file_it_leaves_and_its_archive_is_checked_like_any_value() {
    let d = drivers();
    let f5 = d.get(Vendor::F5).unwrap();
    let archive = [("archive", "lbfleet-plan-fra1-lb01.ucs")];
    assert_eq!(
        f5.render_fetch("backup", &archive).unwrap().as_deref(),
        Some("/var/local/ucs/lbfleet-plan-fra1-lb01.ucs")
    );
    assert_eq!(
        f5.render("backup", &archive).unwrap(),
        "tmsh save sys ucs lbfleet-plan-fra1-lb01.ucs"
    );
    for bad in [
        "x.ucs; reboot",
        "$(id).ucs",
        "../../etc/shadow.ucs",
        "a.tar",
    ] {
        let e = f5.render_fetch("backup", &[("archive", bad)]).unwrap_err();
        assert!(matches!(e, RenderError::Refused { .. }), "{bad:?}: {e}");
    }
    // A command without a file to fetch says so; NetScaler's saved configuration has a fixed path.
    assert_eq!(f5.render_fetch("save_config", &[]).unwrap(), None);
    let ns = d.get(Vendor::NetScaler).unwrap();
    assert_eq!(
        ns.render_fetch("backup", &[]).unwrap().as_deref(),
        Some("/nsconfig/ns.conf")
    );
    assert!(ns.succeeded("backup", " Done\n"));
    assert!(!ns.succeeded("backup", "ERROR: Not enough space\n"));
    // The way back: F5 boots a volume; NetScaler has no rollback command.
    assert_eq!(
        f5.render("rollback", &[("volume", "HD1.1")]).unwrap(),
        "tmsh reboot volume HD1.1"
    );
    assert!(!ns.commands.contains_key("rollback"));
    // A fetch path may only use what its command takes.
    let text = include_str!("../../drivers/f5.toml").replace(
        "fetch = \"/var/local/ucs/{archive}\"",
        "fetch = \"/var/local/ucs/{volume}\"",
    );
    let e = Driver::parse("bad.toml", &text).unwrap_err();
    assert!(
        e.to_string().contains("commands.backup.fetch") && e.to_string().contains("{volume}"),
        "{e}"
    );
}
