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
