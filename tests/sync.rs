//! `lbfleet inventory sync` against the device lab: the devices' own word against the CSV.

use crate::support::{Lab, Test};

fn sync(lab: &Lab, extra: &[&str]) -> crate::support::Output {
    let (inv, key, known) = (
        lab.path("inventory"),
        lab.path("id_ed25519"),
        lab.path("known_hosts"),
    );
    let mut args = vec![
        "inventory",
        "sync",
        &inv,
        "--identity",
        &key,
        "--known-hosts",
        &known,
        "--connect-timeout",
        "3",
    ];
    args.extend_from_slice(extra);
    Test::new().args(&args).run()
}

/// Changes a lab device's own state as a console session would.
fn by_hand(lab: &Lab, device: &str, change: impl FnOnce(&mut serde_json::Value)) {
    let path = lab.dir.path().join(format!("devices/{device}/state.json"));
    let mut s: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    change(&mut s);
    std::fs::write(&path, serde_json::to_string_pretty(&s).unwrap()).unwrap();
}

#[test]
fn sync_finds_what_changed_behind_lbfleets_back_and_apply_writes_only_that() {
    let lab = Lab::up(2, 87, "");
    // Behind lbfleet's back: lab-lb02 was upgraded by hand, then the pair failed over.
    by_hand(&lab, "lab-lb02", |s| {
        for v in s["volumes"].as_array_mut().unwrap() {
            if v["active"] == true {
                v["version"] = "16.1.4".into();
            }
        }
        s["role"] = "active".into();
    });
    by_hand(&lab, "lab-lb01", |s| s["role"] = "standby".into());
    // The inventory as a spreadsheet exports it, with a unit nobody can reach.
    let csv = lab.dir.path().join("inventory/devices.csv");
    let plain = std::fs::read_to_string(&csv).unwrap()
        + "lab-lb09,LAB,f5,i4800,15.1.10,127.0.87.9:2222,,standalone\n";
    let export = |text: &str| -> String {
        let lines: Vec<String> = text
            .lines()
            .enumerate()
            .map(|(i, l)| match i {
                0 => format!("{l},owner"),
                _ => format!("{l},\"Ops, Lab {i}\""),
            })
            .collect();
        format!("\u{feff}{}\r\n", lines.join("\r\n"))
    };
    std::fs::write(&csv, export(&plain)).unwrap();

    let out = sync(&lab, &["--format", "csv"]);
    out.code(1)
        .stdout_has("device,field,inventory,device_says")
        .stdout_has("lab-lb01,ha_role,active,standby")
        .stdout_has("lab-lb02,version,15.1.10,16.1.4")
        .stdout_has("lab-lb02,ha_role,standby,active")
        .stdout_has("lab-lb09,unread,127.0.87.9:2222,unreachable")
        .stdout_lacks("lab-lb01,version")
        .stderr_has("2 devices read, 1 unread (left as they are); 3 cells differ");
    // Read-only: the file and the devices are as they were.
    assert_eq!(std::fs::read_to_string(&csv).unwrap(), export(&plain));
    for d in ["lab-lb01", "lab-lb02"] {
        let log = lab.commands(d);
        assert!(
            !log.is_empty()
                && log.lines().all(|l| l
                    .split_once(' ')
                    .is_some_and(|(_, c)| c.starts_with("tmsh show"))),
            "{d} got more than reads:\n{log}"
        );
    }

    // --apply writes exactly those cells; the unreachable unit's row stays as it was.
    sync(&lab, &["--apply"])
        .code(1)
        .stderr_has("written to the inventory");
    let want = plain
        .replace(
            "lab-lb01,LAB,f5,i4800,15.1.10,127.0.87.1:2222,lab-ha01,active",
            "lab-lb01,LAB,f5,i4800,15.1.10,127.0.87.1:2222,lab-ha01,standby",
        )
        .replace(
            "lab-lb02,LAB,f5,i4800,15.1.10,127.0.87.2:2222,lab-ha01,standby",
            "lab-lb02,LAB,f5,i4800,16.1.4,127.0.87.2:2222,lab-ha01,active",
        );
    assert_ne!(want, plain);
    assert_eq!(std::fs::read_to_string(&csv).unwrap(), export(&want));
    // Now the inventory tells the truth about every device that answers.
    sync(&lab, &["--exclude", "device=lab-lb09"])
        .code(0)
        .stderr_has("2 devices read, 0 unread (left as they are); 0 cells differ");
}
