//! A simulated F5 BIG-IP for lbfleet's device lab (`scripts/lab`): the forced command of one
//! sshd, run for every session with the client's command in `SSH_ORIGINAL_COMMAND`.
//!
//! The device's state lives in `DEVDIR/state.json` (volumes, HA role and peer, disk, memory,
//! faults); the files it holds live under `DEVDIR/root/` (`/shared/images/X` is
//! `DEVDIR/root/shared/images/X`). Output shapes follow `shared/reference/cli-output.md`. Every
//! command is appended to `DEVDIR/commands.log` and every reboot and failover to
//! `DEVDIR/../events.log`: the lab's own record, which tests check instead of lbfleet's.
//!
//! Compiled rather than scripted: every command starts it anew, and its start-up time is lab
//! overhead that the rollout benchmark counts against lbfleet.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

const SFTP_SERVER: &str = "/usr/lib/openssh/sftp-server";
const SSHD: &str = "/usr/sbin/sshd";

struct Device {
    dir: PathBuf,
}

impl Device {
    fn state_path(&self) -> PathBuf {
        self.dir.join("state.json")
    }

    fn name(&self) -> String {
        self.dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    }

    /// A path on the device (`/shared/images/X`) in its folder.
    fn local(&self, path: &str) -> PathBuf {
        self.dir.join("root").join(path.trim_start_matches('/'))
    }

    fn append(&self, path: &Path, line: &str) {
        if let Ok(mut f) = OpenOptions::new().create(true).append(true).open(path) {
            let _ = f.write_all(line.as_bytes());
        }
    }

    fn log(&self, cmd: &str) {
        let now = jiff::Timestamp::now().strftime("%Y-%m-%dT%H:%M:%SZ");
        self.append(&self.dir.join("commands.log"), &format!("{now} {cmd}\n"));
    }

    /// The lab's own event log (service state changes), for tests that check HA safety.
    fn event(&self, text: &str) {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64());
        let path = self.dir.parent().unwrap_or(&self.dir).join("events.log");
        self.append(&path, &format!("{now:.3} {} {text}\n", self.name()));
    }

    /// Runs `f` holding the lab-wide lock (a failover changes two devices).
    fn locked<T>(&self, f: impl FnOnce() -> T) -> T {
        let path = self.dir.parent().unwrap_or(&self.dir).join(".lock");
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
            .unwrap_or_else(|e| fail(&format!("lab lock: {e}")));
        // SAFETY: flock on a descriptor we own; released when `file` is closed.
        unsafe {
            libc::flock(std::os::fd::AsRawFd::as_raw_fd(&file), libc::LOCK_EX);
        }
        let out = f();
        drop(file);
        out
    }
}

fn load(path: &Path) -> Value {
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|e| fail(&format!("{}: {e}", path.display())));
    serde_json::from_str(&text).unwrap_or_else(|e| fail(&format!("{}: {e}", path.display())))
}

fn save(path: &Path, s: &Value) {
    let tmp = path.with_extension("json.tmp");
    let text = serde_json::to_string_pretty(s).expect("state serializes");
    std::fs::write(&tmp, text).unwrap_or_else(|e| fail(&format!("{}: {e}", tmp.display())));
    std::fs::rename(&tmp, path).unwrap_or_else(|e| fail(&format!("{}: {e}", path.display())));
}

fn has_fault(s: &Value, fault: &str) -> bool {
    s["faults"]
        .as_array()
        .is_some_and(|f| f.iter().any(|x| x == fault))
}

fn out(text: &str) {
    let mut o = std::io::stdout().lock();
    let _ = o.write_all(text.as_bytes());
    let _ = o.flush();
}

fn fail(text: &str) -> ! {
    eprintln!("{text}");
    std::process::exit(1)
}

fn num(v: &Value, default: f64) -> f64 {
    v.as_f64().unwrap_or(default)
}

/// How fast the lab's 15.1.10 units leak, bytes/day: 3 GiB of 32 (faster than weekly reboots
/// keep up with, as in the incident this project started from).
const LEAK: f64 = 3.0 * 1024.0 * 1024.0 * 1024.0;

/// `--telemetry DEVICES.CSV JOURNAL AFTER DAYS OUT` (`scripts/lab telemetry`): the lab's
/// memory telemetry, with `lbfleet`'s own synthetic series (see `scripts/lab`).
fn telemetry(args: &[String]) {
    use lbfleet::evaluator::synth::{Series, csv};
    let [devices, journal, after, days, out] = args else {
        fail("usage: lbfleet-lab-device --telemetry DEVICES.CSV JOURNAL AFTER DAYS OUT");
    };
    let mib = 1024.0 * 1024.0;
    let after = match after.as_str() {
        "fixed" => 0.0,
        "leaking" => LEAK,
        other => usage(&format!(
            "lab: --after-upgrade {other}: expected fixed or leaking"
        )),
    };
    let days: f64 = match days.parse() {
        Ok(d) if (0.0..=60.0).contains(&d) => d,
        _ => usage(&format!("lab: --days-after {days}: expected 0 to 60 days")),
    };
    let names: Vec<String> = std::fs::read_to_string(devices)
        .unwrap_or_else(|e| fail(&format!("lab: {devices}: {e}")))
        .lines()
        .skip(1)
        .filter_map(|l| l.split(',').next().map(str::to_string))
        .collect();
    // No journal yet: nothing has been upgraded.
    let text = std::fs::read_to_string(journal).unwrap_or_default();
    // When each device's last hop ended, from the journal's `done ... step=hop` lines.
    let ended = |name: &str| {
        text.lines()
            .filter(|l| {
                l.split(' ').nth(1) == Some("done")
                    && l.contains(" step=hop ")
                    && l.contains(&format!(" device={name} "))
            })
            .filter_map(|l| l.split(' ').next()?.parse::<jiff::Timestamp>().ok())
            .map(|t| t.as_second() as u32)
            .max()
    };
    let now = jiff::Timestamp::now().as_second() as u32;
    let day = 86_400;
    let start = now - 21 * day;
    let upgraded: Vec<Option<u32>> = names.iter().map(|n| ended(n)).collect();
    let end =
        upgraded.iter().flatten().copied().max().unwrap_or(now) + (days * 86_400.0) as u32 + 120;
    let series: Vec<Series> = names
        .iter()
        .zip(&upgraded)
        .enumerate()
        .map(|(i, (name, upgraded))| {
            let mut s = Series::leaking(name, start, end, LEAK, i as u64 + 1);
            s.step = 120;
            // The lab's units: 32 GiB, 4 GiB in use after a boot.
            s.total = 32.0 * 1024.0 * mib;
            s.base = 4.0 * 1024.0 * mib;
            s.boots = vec![start + 7 * day, start + 14 * day];
            match upgraded {
                Some(at) => {
                    s.boots.push(at - 60);
                    s.rates.push((at - 60, after));
                }
                // Not upgraded: up to now, like the control group's.
                None => s.end = now,
            }
            s
        })
        .collect();
    std::fs::write(out, csv(&series)).unwrap_or_else(|e| fail(&format!("lab: {out}: {e}")));
}

/// A usage error of `scripts/lab telemetry`: exit 2, as the script's own.
fn usage(text: &str) -> ! {
    eprintln!("{text}");
    std::process::exit(2)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--telemetry") {
        telemetry(&args[2..]);
        return;
    }
    let dir = std::env::args_os()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| fail("usage: lbfleet-lab-device DEVDIR"));
    let dev = Device { dir };
    let cmd = std::env::var("SSH_ORIGINAL_COMMAND").unwrap_or_default();
    let cmd = cmd.trim();
    dev.log(if cmd.is_empty() { "<shell>" } else { cmd });
    let s = load(&dev.state_path());
    if has_fault(&s, "slow") {
        std::thread::sleep(Duration::from_secs_f64(num(&s["slow_seconds"], 2.0)));
    }
    if cmd == "internal-sftp" || cmd == "sftp" || cmd.ends_with("sftp-server") {
        sftp(&dev, &s);
    }
    let volumes = s["volumes"].as_array().cloned().unwrap_or_default();
    let active = volumes
        .iter()
        .find(|v| v["active"] == true)
        .unwrap_or_else(|| fail("no active volume"));
    let text = |v: &Value| v.as_str().unwrap_or("").to_string();
    match cmd {
        "tmsh show sys version" => out(&format!(
            "Sys::Version\nMain Package\n  Product      BIG-IP\n  Version      {}\n  Build        {}\n  Edition      Final\n  Date         Tue Jul 14 05:03:24 PDT 2026\n\n",
            text(&active["version"]),
            text(&active["build"])
        )),
        "tmsh show sys software status" => {
            let mut o = format!(
                "{}\nSys::Software Status\nVolume  Product   Version  Build  Active    Status\n{}\n",
                "-".repeat(64),
                "-".repeat(64)
            );
            for (i, v) in volumes.iter().enumerate() {
                o.push_str(&format!(
                    "HD1.{}    BIG-IP  {:>8}  {:>5}  {:>9}  {:>20}\n",
                    i + 1,
                    text(&v["version"]),
                    text(&v["build"]),
                    if v["active"] == true { "yes" } else { "no" },
                    volume_status(v)
                ));
            }
            out(&o);
        }
        "df -Pk /shared/images" => {
            let free = if has_fault(&s, "disk-full") {
                0
            } else {
                s["disk_free_kib"].as_i64().unwrap_or(0)
            };
            out(&format!(
                "Filesystem                      1024-blocks     Used Available Capacity Mounted on\n/dev/mapper/vg--db--vda-dat.share  20971520 {:>8} {:>9}      {}% /shared\n",
                20971520 - free,
                free,
                100 - free * 100 / 20971520
            ));
        }
        "tmsh show cm failover-status" => {
            // A3: ACTIVE / STANDBY; a standalone unit is active (its prompt reads
            // "(cfg-sync Standalone)(Active)"). The `offline` fault reports a state lbfleet must
            // not take for ready.
            let role = if has_fault(&s, "offline") {
                "offline".to_string()
            } else {
                text(&s["role"])
            };
            out(&format!(
                "Status   {}\nSummary  1/1 {role}\n",
                role.to_uppercase()
            ));
        }
        "tmsh show cm sync-status" => {
            // A4: a unit without a peer reports Status Standalone, Mode standalone.
            let (status, mode) = if s["peer"].is_null() {
                ("Standalone", "standalone")
            } else if has_fault(&s, "out-of-sync") {
                ("Changes Pending", "high-availability")
            } else {
                ("In Sync", "high-availability")
            };
            out(&format!(
                "Status   {status}\nMode     {mode}\nSummary  {status}\n"
            ));
        }
        "free -b" => {
            let total = s["mem_total"].as_i64().unwrap_or(0);
            let used = s["mem_used"].as_i64().unwrap_or(0);
            out(&format!(
                "               total        used        free      shared  buff/cache   available\nMem:    {total:>11} {used:>11} {:>11}           0           0 {:>11}\n",
                total - used,
                total - used
            ));
        }
        "tmsh run sys failover standby" => failover(&dev, &s),
        "tmsh load sys config verify" => {
            out(
                "Validating system configuration...\n  /defaults/config_base.conf\nValidating configuration...\n  /config/bigip.conf\n",
            );
            // The release misbehaves once it carries traffic: what a canary soak is for.
            if has_fault(&s, "unhealthy-when-active") && s["role"] == "active" {
                fail(
                    "01070734:3: Configuration error: the configuration does not load on this unit",
                );
            }
        }
        "tmsh save sys config" => {
            dev.event("save config");
            out(
                "Saving running configuration...\n  /config/bigip.conf\n  /config/bigip_base.conf\n",
            );
        }
        _ if cmd.starts_with("tmsh save sys ucs ") => {
            save_ucs(&dev, &s, &cmd["tmsh save sys ucs ".len()..])
        }
        _ if cmd.starts_with("sha256sum ")
            && (cmd.contains("shared/images/") || cmd.contains("var/local/ucs/")) =>
        {
            let name = &cmd["sha256sum ".len()..];
            let mut f = File::open(dev.local(name))
                .unwrap_or_else(|_| fail(&format!("sha256sum: {name}: No such file or directory")));
            let mut h = Sha256::new();
            let mut buf = vec![0u8; 1 << 20];
            loop {
                let n = f.read(&mut buf).unwrap_or(0);
                if n == 0 {
                    break;
                }
                h.update(&buf[..n]);
            }
            let mut digest: String = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
            if has_fault(&s, "checksum-mismatch") {
                let first = if digest.starts_with('0') { "1" } else { "0" };
                digest.replace_range(0..1, first);
            }
            out(&format!("{digest}  {name}\n"));
        }
        _ if cmd.starts_with("tmsh install sys software image ") => install(&dev, cmd),
        _ if cmd.starts_with("tmsh reboot volume ") => reboot(&dev, &s, cmd),
        _ => fail(&format!("Syntax Error: \"{cmd}\" unknown command")),
    }
}

/// The real sftp-server, started in the device's root; with the drop-mid-upload fault the
/// connection is cut once, when a session has sent 256 KiB of client data (an upload's; a
/// download sends little), and the next upload resumes.
fn sftp(dev: &Device, s: &Value) -> ! {
    let root = dev.dir.join("root");
    let _ = std::env::set_current_dir(&root);
    let mut server = Command::new(SFTP_SERVER);
    server.arg("-d").arg(&root);
    if !has_fault(s, "drop-mid-upload") {
        let e = server.exec();
        fail(&format!("{SFTP_SERVER}: {e}"));
    }
    let mut child = server
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| fail(&format!("{SFTP_SERVER}: {e}")));
    let mut to_child = child.stdin.take().expect("piped");
    let mut from_child = child.stdout.take().expect("piped");
    let pid = child.id() as libc::pid_t;
    std::thread::spawn(move || {
        let _ = std::io::copy(&mut from_child, &mut std::io::stdout().lock());
    });
    let mut seen = 0usize;
    let mut armed = true;
    let mut buf = vec![0u8; 65536];
    let mut stdin = std::io::stdin().lock();
    loop {
        let n = stdin.read(&mut buf).unwrap_or(0);
        if n == 0 {
            break;
        }
        seen += n;
        // Once: the session that takes the fault off the device is cut; the others (and the
        // resumed upload) go through.
        let fires = armed
            && seen > 256 * 1024
            && dev.locked(|| {
                let mut st = load(&dev.state_path());
                let had = has_fault(&st, "drop-mid-upload");
                if let Some(f) = st["faults"].as_array_mut() {
                    f.retain(|x| x != "drop-mid-upload");
                }
                save(&dev.state_path(), &st);
                had
            });
        armed &= seen <= 256 * 1024;
        if fires {
            // SAFETY: signalling our own child.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
            }
            std::process::exit(1);
        }
        if to_child.write_all(&buf[..n]).is_err() {
            break;
        }
    }
    drop(to_child);
    let _ = child.wait();
    std::process::exit(0)
}

/// `tmsh save sys ucs NAME`: the archive lands in /var/local/ucs/ (the device's state and
/// configuration, padded to a few hundred KiB as a real archive's bulk). With the `backup-fails`
/// fault the save fails, as on a full disk.
fn save_ucs(dev: &Device, s: &Value, name: &str) {
    let valid = regex::Regex::new(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}\.ucs$").expect("valid regex");
    if !valid.is_match(name) {
        fail(&format!(
            "Syntax Error: \"{name}\" is not a valid UCS file name"
        ));
    }
    if has_fault(s, "backup-fails") {
        dev.event(&format!("save ucs {name} failed"));
        fail("01070711:3: Caught system exception: /var/local/ucs: No space left on device");
    }
    let path = dev.local(&format!("/var/local/ucs/{name}"));
    if let Some(dir) = path.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    let mut body = serde_json::to_string_pretty(s).expect("state serializes");
    body.push('\n');
    let mut bytes = body.into_bytes();
    bytes.extend((0..300 * 1024u32).map(|i| (i % 251) as u8));
    std::fs::write(&path, bytes).unwrap_or_else(|e| fail(&format!("{}: {e}", path.display())));
    dev.event(&format!("save ucs {name}"));
    out(&format!(
        "Saving active configuration...\n/var/local/ucs/{name} is saved.\n"
    ));
}

fn install(dev: &Device, cmd: &str) {
    let re = regex::Regex::new(
        r"^tmsh install sys software image (\S+) volume HD1\.(\d+) create-volume$",
    )
    .expect("valid regex");
    let Some(m) = re.captures(cmd) else {
        fail("Syntax Error: install")
    };
    let image = m[1].to_string();
    let vol: usize = m[2].parse().unwrap_or(0);
    if !dev.local(&format!("/shared/images/{image}")).exists() {
        fail(&format!("01070712:3: Software image {image} not found"));
    }
    let version = regex::Regex::new(r"^BIGIP-(\d+(?:\.\d+){1,3})-(\d+\.\d+\.\d+)\.iso$")
        .expect("valid regex");
    let Some(v) = version.captures(&image) else {
        fail(&format!("01070712:3: {image} is not a BIG-IP image"))
    };
    if vol == 0 {
        fail("Syntax Error: install");
    }
    dev.locked(|| {
        let mut s = load(&dev.state_path());
        let seconds = num(&s["install_seconds"], 3.0);
        let fails = has_fault(&s, "install-fails");
        let volumes = s["volumes"].as_array_mut().expect("volumes");
        while volumes.len() < vol {
            volumes.push(
                json!({"version": "none", "build": "none", "active": false, "status": "complete"}),
            );
        }
        let target = &mut volumes[vol - 1];
        if target["active"] == true {
            fail(&format!(
                "01070712:3: cannot install to the active volume HD1.{vol}"
            ));
        }
        // A5: the install runs in the background; `show sys software` shows its progress
        // (A2-2's "installing 10.000 pct") until the volume is complete, or failed.
        target["version"] = json!(&v[1]);
        target["build"] = json!(&v[2]);
        target["status"] = json!("installing");
        target["install_started"] = json!(now_secs());
        target["install_seconds"] = json!(seconds);
        target["install_fails"] = json!(fails);
        save(&dev.state_path(), &s);
    });
    dev.event(&format!("install HD1.{vol} {}", &v[1]));
}

fn now_secs() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// A volume's status as the device shows it now: an install in progress is `installing N.000
/// pct` until its time is up, then `complete` (or, with the install-fails fault, a failure
/// half-way).
fn volume_status(v: &Value) -> String {
    let status = v["status"].as_str().unwrap_or("").to_string();
    if status != "installing" {
        return status;
    }
    let total = num(&v["install_seconds"], 3.0).max(0.001);
    let done = ((now_secs() - num(&v["install_started"], 0.0)) / total).clamp(0.0, 1.0);
    if v["install_fails"] == true && done >= 0.5 {
        return "failed (installation of the image did not complete)".into();
    }
    if done >= 1.0 {
        return "complete".into();
    }
    format!("installing {:.3} pct", (done * 100.0).floor())
}

fn reboot(dev: &Device, s: &Value, cmd: &str) {
    let re = regex::Regex::new(r"^tmsh reboot volume HD1\.(\d+)$").expect("valid regex");
    let volumes = s["volumes"].as_array().map_or(0, Vec::len);
    let vol: usize = match re.captures(cmd).and_then(|m| m[1].parse().ok()) {
        Some(v) if (1..=volumes).contains(&v) => v,
        _ => fail("Syntax Error: reboot"),
    };
    // A reboot into a volume whose install is not complete is refused.
    let status = volume_status(&s["volumes"][vol - 1]);
    if status != "complete" {
        dev.event(&format!("reboot refused HD1.{vol} {status}"));
        fail(&format!("01070734:3: Volume HD1.{vol} is not bootable."));
    }
    dev.locked(|| {
        let mut s = load(&dev.state_path());
        if !has_fault(&s, "wrong-version")
            && let Some(vs) = s["volumes"].as_array_mut()
        {
            for (i, v) in vs.iter_mut().enumerate() {
                v["active"] = json!(i == vol - 1);
            }
        }
        // A reboot gives back what a leak took, unless the fault says otherwise.
        if !has_fault(&s, "memory-stays") && s["mem_baseline"].is_number() {
            s["mem_used"] = s["mem_baseline"].clone();
        }
        save(&dev.state_path(), &s);
    });
    let down = num(&s["reboot_seconds"], 2.0);
    let back = !has_fault(s, "never-returns");
    out("Rebooting...\n");
    // Detach: the session ends at once, as a real reboot command's does, then sshd really goes
    // away for `down` seconds.
    // SAFETY: single-threaded here; the children only call async-signal-safe functions before
    // they go on as ordinary single-threaded processes.
    unsafe {
        if libc::fork() != 0 {
            return;
        }
        libc::setsid();
        let null = libc::open(c"/dev/null".as_ptr(), libc::O_RDWR);
        for fd in 0..3 {
            libc::dup2(null, fd);
        }
        if libc::fork() != 0 {
            libc::_exit(0);
        }
    }
    // Shutting down takes a moment: the session that sent the command sees it return first.
    std::thread::sleep(Duration::from_secs_f64(num(&s["shutdown_seconds"], 0.3)));
    let listener = std::fs::read_to_string(dev.dir.join("sshd.pid"))
        .ok()
        .and_then(|p| p.trim().parse::<u32>().ok());
    if let Some(pid) = listener {
        // SAFETY: a signal to the device's sshd.
        unsafe {
            libc::kill(pid as libc::pid_t, libc::SIGTERM);
        }
    }
    kill_sessions(dev, listener);
    dev.event("down");
    if back {
        std::thread::sleep(Duration::from_secs_f64(down));
        let _ = Command::new(SSHD)
            .arg("-r")
            .arg("-f")
            .arg(dev.dir.join("sshd_config"))
            .arg("-E")
            .arg(dev.dir.join("sshd.log"))
            .status();
        dev.event("up");
    }
    std::process::exit(0)
}

/// Ends the device's connections and commands, as a real reboot does: every process below its
/// sshd listener (one per connection) and every other run of this program for the device.
fn kill_sessions(dev: &Device, listener: Option<u32>) {
    let me = std::process::id();
    let Ok(procs) = std::fs::read_dir("/proc") else {
        return;
    };
    let want = dev.dir.as_os_str().as_encoded_bytes().to_vec();
    let mut parent: std::collections::HashMap<u32, u32> = std::collections::HashMap::new();
    let mut ours = Vec::new();
    for p in procs.flatten() {
        let Some(pid) = p.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else {
            continue;
        };
        if let Some(ppid) = std::fs::read_to_string(p.path().join("stat"))
            .ok()
            .and_then(|st| {
                // pid (comm) state ppid ...: comm may hold spaces, so split after the last ')'.
                let rest = &st[st.rfind(')')? + 1..];
                rest.split_whitespace().nth(1)?.parse().ok()
            })
        {
            parent.insert(pid, ppid);
        }
        let Ok(cmdline) = std::fs::read(p.path().join("cmdline")) else {
            continue;
        };
        let argv: Vec<&[u8]> = cmdline
            .split(|&b| b == 0)
            .filter(|a| !a.is_empty())
            .collect();
        if argv.len() >= 2
            && argv[argv.len() - 2].ends_with(b"lbfleet-lab-device")
            && argv[argv.len() - 1] == want.as_slice()
        {
            ours.push(pid);
        }
    }
    let below_listener = |mut pid: u32| {
        for _ in 0..16 {
            match parent.get(&pid) {
                Some(&pp) if Some(pp) == listener => return true,
                Some(&pp) if pp > 1 => pid = pp,
                _ => return false,
            }
        }
        false
    };
    let victims = parent
        .keys()
        .copied()
        .filter(|&pid| below_listener(pid))
        .chain(ours);
    for pid in victims.filter(|&pid| pid != me) {
        // SAFETY: a signal to a connection or command of this simulated device.
        unsafe {
            libc::kill(pid as libc::pid_t, libc::SIGKILL);
        }
    }
}

fn failover(dev: &Device, s: &Value) {
    if s["role"] != "active" {
        fail("01070734:3: this device is not active");
    }
    if has_fault(s, "failover-fails") {
        fail("01070734:3: failover failed");
    }
    let peer = s["peer"].as_str().map(str::to_string);
    dev.locked(|| {
        let mut me = load(&dev.state_path());
        me["role"] = json!("standby");
        save(&dev.state_path(), &me);
        if let Some(peer) = &peer {
            let path = dev
                .dir
                .parent()
                .unwrap_or(&dev.dir)
                .join(peer)
                .join("state.json");
            let mut p = load(&path);
            p["role"] = json!("active");
            save(&path, &p);
        }
    });
    dev.event(&format!(
        "failover to {}",
        peer.as_deref().unwrap_or("None")
    ));
}
