use crate::support::Test;

#[test]
fn f5_hotfixes_sort_numerically() {
    // The order F5's own bug tracker prints is lexical (HF10 before HF2).
    let out = Test::new()
        .args(&[
            "versions",
            "sort",
            "--vendor",
            "f5",
            "11.5.1",
            "11.5.1 HF1",
            "11.5.1 HF10",
            "11.5.1 HF11",
            "11.5.1 HF2",
            "11.5.1 HF9",
            "15.1.10.2",
            "15.1.2.1",
        ])
        .run();
    out.code(0);
    assert_eq!(
        out.stdout,
        "11.5.1\n11.5.1 HF1\n11.5.1 HF2\n11.5.1 HF9\n11.5.1 HF10\n11.5.1 HF11\n15.1.2.1\n15.1.10.2\n"
    );
}

#[test]
fn netscaler_and_a10_in_vendor_notation() {
    let out = Test::new()
        .args(&[
            "versions",
            "sort",
            "--vendor",
            "netscaler",
            "14.1-8.122",
            "14.1-8.50",
            "13.1-49.15",
            "13.1-37.262",
        ])
        .run();
    out.code(0);
    assert_eq!(
        out.stdout,
        "13.1-37.262\n13.1-49.15\n14.1-8.50\n14.1-8.122\n"
    );
    let out = Test::new()
        .args(&[
            "versions",
            "sort",
            "--vendor",
            "a10",
            "5.2.1-p11",
            "5.2.1",
            "5.2.1-P9",
            "4.1.4-GR1-P9",
        ])
        .run();
    out.code(0);
    assert_eq!(out.stdout, "4.1.4-GR1-P9\n5.2.1\n5.2.1-P9\n5.2.1-P11\n");
}

#[test]
fn a_bad_value_exits_2_and_is_named() {
    Test::new()
        .args(&[
            "versions",
            "sort",
            "--vendor",
            "f5",
            "15.1.10",
            "7.2.6; reboot",
        ])
        .run()
        .code(2)
        .stderr_has("\"7.2.6; reboot\"");
    Test::new()
        .args(&["versions", "sort", "--vendor", "f5", "15.1.x"])
        .run()
        .code(2)
        .stderr_has("\"15.1.x\"");
    Test::new()
        .args(&["versions", "sort", "--vendor", "bigco", "1.2.3"])
        .run()
        .code(2)
        .stderr_has("unknown vendor \"bigco\"");
}
