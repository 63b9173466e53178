//! Test builder: each test gets its own temp dir, runs the real binary there, and on failure
//! prints the command, cwd, status, stdout and stderr.

pub mod prometheus;

use std::path::{Path, PathBuf};
use std::process::Command;

/// The repository root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// One invocation of lbfleet in a fresh folder.
pub struct Test {
    dir: tempfile::TempDir,
    args: Vec<String>,
}

/// What a run produced.
pub struct Output {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub dir: PathBuf,
    shown: String,
    _keep: tempfile::TempDir,
}

impl Test {
    pub fn new() -> Test {
        Test {
            dir: tempfile::tempdir().expect("temp dir"),
            args: Vec::new(),
        }
    }

    /// The test's folder.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes a file (parents created) relative to the test folder.
    pub fn file(self, rel: &str, contents: impl AsRef<[u8]>) -> Test {
        let p = self.dir.path().join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, contents).unwrap();
        self
    }

    /// Copies the bundled sample fleet to `inventories/` in the test folder.
    pub fn sample(self) -> Test {
        let sites = std::fs::read(repo().join("inventories/sites.csv")).unwrap();
        let devices = std::fs::read(repo().join("inventories/devices.csv")).unwrap();
        let candidates = std::fs::read(repo().join("inventories/candidates.csv")).unwrap();
        self.file("inventories/sites.csv", sites)
            .file("inventories/devices.csv", devices)
            .file("inventories/candidates.csv", candidates)
    }

    pub fn args(mut self, args: &[&str]) -> Test {
        self.args.extend(args.iter().map(|s| s.to_string()));
        self
    }

    #[track_caller]
    pub fn run(self) -> Output {
        let out = Command::new(env!("CARGO_BIN_EXE_lbfleet"))
            .args(&self.args)
            .current_dir(self.dir.path())
            .env_remove("LBFLEET_CATALOG")
            .output()
            .expect("run lbfleet");
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        let code = out.status.code().unwrap_or(-1);
        let shown = format!(
            "command: lbfleet {}\ncwd: {}\nstatus: {code}\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
            self.args.join(" "),
            self.dir.path().display()
        );
        Output {
            code,
            stdout,
            stderr,
            dir: self.dir.path().to_path_buf(),
            shown,
            _keep: self.dir,
        }
    }
}

impl Output {
    #[track_caller]
    pub fn code(&self, want: i32) -> &Output {
        assert_eq!(self.code, want, "unexpected exit status\n{}", self.shown);
        self
    }

    #[track_caller]
    pub fn stdout_has(&self, s: &str) -> &Output {
        assert!(
            self.stdout.contains(s),
            "stdout lacks {s:?}\n{}",
            self.shown
        );
        self
    }

    #[track_caller]
    pub fn stderr_has(&self, s: &str) -> &Output {
        assert!(
            self.stderr.contains(s),
            "stderr lacks {s:?}\n{}",
            self.shown
        );
        self
    }

    #[track_caller]
    pub fn stderr_lacks(&self, s: &str) -> &Output {
        assert!(!self.stderr.contains(s), "stderr has {s:?}\n{}", self.shown);
        self
    }

    #[track_caller]
    pub fn stdout_lacks(&self, s: &str) -> &Output {
        assert!(!self.stdout.contains(s), "stdout has {s:?}\n{}", self.shown);
        self
    }

    /// A new command in the same folder, with the files this run left.
    pub fn then(self) -> Test {
        Test {
            dir: self._keep,
            args: Vec::new(),
        }
    }

    /// Whether the run left a file at `rel`.
    pub fn path_exists(&self, rel: &str) -> bool {
        self.dir.join(rel).exists()
    }

    /// Reads a file the run left in its folder.
    pub fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.dir.join(rel))
            .unwrap_or_else(|e| panic!("{rel}: {e}\n{}", self.shown))
    }
}

/// A running device lab (scripts/lab), stopped when dropped.
pub struct Lab {
    pub dir: tempfile::TempDir,
}

impl Lab {
    /// Starts `devices` simulated devices on 127.0.`net`.N:2222 with `faults`
    /// (`lab-lb01=out-of-sync;lab-lb02=disk-full`).
    #[track_caller]
    pub fn up(devices: u32, net: u32, faults: &str) -> Lab {
        let dir = tempfile::tempdir().expect("temp dir");
        let out = Command::new(repo().join("scripts/lab"))
            .env("LAB_DEVICE", env!("CARGO_BIN_EXE_lbfleet-lab-device"))
            .args([
                "up",
                "--devices",
                &devices.to_string(),
                "--net",
                &net.to_string(),
                "--faults",
                faults,
                "--dir",
            ])
            .arg(dir.path())
            .output()
            .expect("run scripts/lab");
        assert!(
            out.status.success(),
            "scripts/lab up failed (is openssh-server installed? scripts/setup installs it):\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        Lab { dir }
    }

    /// A path inside the lab folder, as a string.
    pub fn path(&self, rel: &str) -> String {
        self.dir.path().join(rel).display().to_string()
    }

    /// `scripts/lab telemetry`: the lab's memory telemetry around `plan.journal`'s upgrades,
    /// leaking or not (`after`) for `days` simulated days after them; the file's path.
    #[track_caller]
    pub fn telemetry(&self, after: &str, days: f64) -> String {
        let file = self.path("telemetry.csv");
        let out = Command::new(repo().join("scripts/lab"))
            .env("LAB_DEVICE", env!("CARGO_BIN_EXE_lbfleet-lab-device"))
            .args(["telemetry", "--dir"])
            .arg(self.dir.path())
            .args(
                Some(self.path("plan.journal"))
                    .filter(|j| std::path::Path::new(j).exists())
                    .map(|j| ["--journal".to_string(), j])
                    .into_iter()
                    .flatten(),
            )
            .args([
                "--after-upgrade",
                after,
                "--days-after",
                &days.to_string(),
                "-o",
                &file,
            ])
            .output()
            .expect("run scripts/lab");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        file
    }

    /// Gives a device a new host key and restarts its sshd.
    pub fn rekey(&self, device: &str) {
        let out = Command::new(repo().join("scripts/lab"))
            .args(["rekey", "--device", device, "--dir"])
            .arg(self.dir.path())
            .output()
            .expect("run scripts/lab");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Writes `bytes` as a BIG-IP image file in the lab folder and adds it to the lab's image
    /// manifest for f5 `version`.
    #[track_caller]
    pub fn add_image(&self, file: &str, version: &str, bytes: &[u8]) {
        let iso = self.dir.path().join(file);
        std::fs::write(&iso, bytes).unwrap();
        Test::new()
            .args(&[
                "images",
                "--images",
                &self.path("images"),
                "add",
                iso.to_str().unwrap(),
                "--vendor",
                "f5",
                "--version",
                version,
            ])
            .run()
            .code(0);
    }

    /// From the lab's own event log: no HA pair ever had both members down at once. The log
    /// must exist and record at least one reboot, or there is nothing to judge.
    #[track_caller]
    pub fn assert_pairs_never_both_down(&self) {
        let events = std::fs::read_to_string(self.dir.path().join("devices/events.log"))
            .expect("the lab's event log");
        assert!(
            events.lines().any(|l| l.ends_with(" down")),
            "no reboot in the lab's event log:\n{events}"
        );
        let mut down: std::collections::HashMap<String, bool> = std::collections::HashMap::new();
        for line in events.lines() {
            let parts: Vec<&str> = line.split_whitespace().collect();
            let (dev, what) = (parts[1], parts[2]);
            match what {
                "down" => {
                    let n: u32 = dev.trim_start_matches("lab-lb").parse().unwrap();
                    let peer = if n % 2 == 1 { n + 1 } else { n - 1 };
                    let peer = format!("lab-lb{peer:02}");
                    assert!(
                        !down.get(&peer).copied().unwrap_or(false),
                        "{dev} went down while {peer} was down:\n{events}"
                    );
                    down.insert(dev.to_string(), true);
                }
                "up" => {
                    down.insert(dev.to_string(), false);
                }
                _ => {}
            }
        }
    }

    /// The lab's own event log (reboots, failovers), one `UNIX-TIME DEVICE EVENT` per line.
    pub fn events(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("devices/events.log")).unwrap_or_default()
    }

    /// Waits (up to 10 s) until a device's sshd accepts TCP connections.
    #[track_caller]
    pub fn wait_listening(&self, device: &str) {
        let config = std::fs::read_to_string(
            self.dir
                .path()
                .join("devices")
                .join(device)
                .join("sshd_config"),
        )
        .unwrap();
        let addr = config
            .lines()
            .find_map(|l| l.strip_prefix("ListenAddress "))
            .expect("ListenAddress")
            .trim()
            .to_string();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while std::net::TcpStream::connect(&addr).is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "{device} not listening on {addr}"
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }

    fn state(&self, device: &str) -> serde_json::Value {
        let path = self
            .dir
            .path()
            .join("devices")
            .join(device)
            .join("state.json");
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    }

    /// The version a lab device runs, from its own state.
    pub fn version(&self, device: &str) -> String {
        let s = self.state(device);
        s["volumes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["active"] == true)
            .and_then(|v| v["version"].as_str())
            .unwrap_or("")
            .to_string()
    }

    /// A lab device's HA role, from its own state.
    pub fn role(&self, device: &str) -> String {
        self.state(device)["role"]
            .as_str()
            .unwrap_or("")
            .to_string()
    }

    /// Changes a lab device's own state, as something happening on the device would.
    pub fn change(&self, device: &str, change: impl FnOnce(&mut serde_json::Value)) {
        let path = self.dir.path().join(format!("devices/{device}/state.json"));
        let mut s = self.state(device);
        change(&mut s);
        std::fs::write(&path, serde_json::to_string_pretty(&s).unwrap()).unwrap();
    }

    /// `lbfleet ARGS` with the lab's key, known_hosts and driver after them.
    pub fn run(&self, args: &[&str]) -> Output {
        let (key, known, drivers) = (
            self.path("id_ed25519"),
            self.path("known_hosts"),
            self.path("drivers/f5.toml"),
        );
        let mut all = args.to_vec();
        all.extend([
            "--identity",
            &key,
            "--known-hosts",
            &known,
            "--drivers",
            &drivers,
            "--poll-interval",
            "0.3",
        ]);
        Test::new().args(&all).run()
    }

    /// The commands a device received, from the lab's own log.
    pub fn commands(&self, device: &str) -> String {
        std::fs::read_to_string(
            self.dir
                .path()
                .join("devices")
                .join(device)
                .join("commands.log"),
        )
        .unwrap_or_default()
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        let _ = Command::new(repo().join("scripts/lab"))
            .args(["down", "--dir"])
            .arg(self.dir.path())
            .output();
    }
}
