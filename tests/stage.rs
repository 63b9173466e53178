//! `lbfleet stage PLAN` against the device lab: images ahead of the windows, resumed uploads,
//! and a rollout that then sends nothing.

use crate::rollout::{plan_lab, upgrade};
use crate::support::{Lab, Test};

fn stage(lab: &Lab, extra: &[&str]) -> crate::support::Output {
    let (plan, key, known, drivers, images) = (
        lab.path("plan.json"),
        lab.path("id_ed25519"),
        lab.path("known_hosts"),
        lab.path("drivers/f5.toml"),
        lab.path("images"),
    );
    let mut args = vec![
        "stage",
        &plan,
        "--identity",
        &key,
        "--known-hosts",
        &known,
        "--drivers",
        &drivers,
        "--images",
        &images,
    ];
    args.extend_from_slice(extra);
    Test::new().args(&args).run()
}

/// Sessions that started the device's SFTP server: uploads.
fn sftp_sessions(lab: &Lab, device: &str) -> usize {
    lab.commands(device).matches("sftp").count()
}

#[test]
fn stage_puts_every_image_ahead_and_the_rollout_then_sends_nothing() {
    let lab = plan_lab(Lab::up(2, 94, ""), &["--pre-staged"]);
    // Mistakes: a wave or group the plan does not have.
    stage(&lab, &["--wave", "7"])
        .code(2)
        .stderr_has("no wave 7: the plan has waves 0 to 1");
    stage(&lab, &["--group", "lab-ha1"])
        .code(2)
        .stderr_has("did you mean \"lab-ha01\"?");
    stage(&lab, &[])
        .code(0)
        .stdout_has("2 of 2 images staged and verified on 2 devices, 0 failed");
    for d in ["lab-lb01", "lab-lb02"] {
        let copy = lab.dir.path().join(format!(
            "devices/{d}/root/shared/images/BIGIP-16.1.4-0.0.1.iso"
        ));
        assert_eq!(std::fs::read(copy).unwrap(), vec![42u8; 1 << 20], "{d}");
    }
    // Again: verified on the device, nothing sent.
    let before = sftp_sessions(&lab, "lab-lb01");
    stage(&lab, &[])
        .code(0)
        .stdout_has("already there, SHA-256 verified: nothing sent");
    assert_eq!(sftp_sessions(&lab, "lab-lb01"), before);
    Test::new()
        .args(&["status", &lab.path("plan.json")])
        .run()
        .code(0)
        .stdout_has("staged ahead: 2 images verified on 2 devices");
    // The rollout installs what was staged, sending no byte: the image on the device is not
    // written again, and the one SFTP session is the configuration backup's copy.
    let image = lab
        .dir
        .path()
        .join("devices/lab-lb01/root/shared/images/BIGIP-16.1.4-0.0.1.iso");
    let written = std::fs::metadata(&image).unwrap().modified().unwrap();
    upgrade(&lab, &["--yes"]).code(0);
    for d in ["lab-lb01", "lab-lb02"] {
        assert_eq!(lab.version(d), "16.1.4");
    }
    assert_eq!(sftp_sessions(&lab, "lab-lb01"), before + 1);
    assert_eq!(
        std::fs::metadata(&image).unwrap().modified().unwrap(),
        written
    );
    assert!(
        std::path::Path::new(&lab.path("plan.backups/lab-lb01/lbfleet-plan-lab-lb01.ucs")).exists()
    );
    // The plan knew: its hops leave out the upload.
    let plan: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(lab.path("plan.json")).unwrap()).unwrap();
    assert_eq!(plan["options"]["pre_staged"], true);
}

#[test]
fn a_multi_stream_upload_cut_part_way_continues_with_only_the_parts_not_sent() {
    // 130 MiB: three parts (64 + 64 + 2 MiB) over several streams; the device cuts the first
    // upload session after 256 KiB.
    let lab = Lab::up(2, 95, "lab-lb02=drop-mid-upload");
    lab.add_image("BIGIP-16.1.4-0.0.1.iso", "16.1.4", &vec![7u8; 130 << 20]);
    Test::new()
        .args(&[
            "plan",
            &lab.path("inventory"),
            "--target",
            "f5=16.1.4",
            "-o",
            &lab.path("plan.json"),
            "-q",
        ])
        .run()
        .code(0);
    stage(&lab, &["--group", "lab-ha01"])
        .code(1)
        .stdout_has("1 of 2 images staged and verified on 2 devices, 1 failed");
    let parts = lab
        .dir
        .path()
        .join("images/.BIGIP-16.1.4-0.0.1.iso.127.0.95.2_2222.parts");
    assert!(parts.exists(), "the finished parts are recorded");
    // Only the part that was cut goes again (which part depends on the streams' order).
    let out = stage(&lab, &["--group", "lab-ha01"]);
    out.code(0).stdout_has("continued after ");
    let text = out.stdout.clone();
    let sent: u64 = text
        .lines()
        .find(|l| l.starts_with("lab-lb02"))
        .and_then(|l| l.split("iso").nth(1))
        .and_then(|r| r.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap();
    assert!(sent <= 64, "{text}");
    assert!(!parts.exists(), "the record goes when the copy is verified");
    let copy = lab
        .dir
        .path()
        .join("devices/lab-lb02/root/shared/images/BIGIP-16.1.4-0.0.1.iso");
    assert_eq!(std::fs::read(copy).unwrap(), vec![7u8; 130 << 20]);
}
