//! A scripted fleet behind [`Connector`] and [`Transport`], for fast tests of the rollout
//! engine's logic: BIG-IP-shaped answers to the built-in f5 driver's commands (the output forms
//! of `shared/reference/cli-output.md`), installs that take a few status readings, reboots that
//! take the device away for a few connection attempts, failovers that swap the pair, faults per
//! device, and an event log in order. It stands beside the device lab (real sshd), not instead
//! of it: the SSH path is tested end to end there.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use super::Connector;
use crate::planner::file::PlannedDevice;
use crate::ssh::{CommandOutput, SshError, Transport};

/// A fault a scripted device has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// The install reports failed.
    InstallFails,
    /// After a reboot it never answers again.
    NeverReturns,
    /// It comes back on its old volume.
    WrongVersion,
    /// Sync status `Changes Pending`.
    OutOfSync,
    /// The failover command exits 1.
    FailoverFails,
    /// The failover command exits 0 but nothing changes.
    FailoverIgnored,
    /// Connections are refused.
    Unreachable,
    /// The failover command makes the peer active but this unit stays active too.
    FailoverHalf,
    /// A reboot gives no memory back.
    MemoryStays,
    /// The reboot command is refused (exit 1).
    RebootRefused,
    /// The health command fails (exit 1) while the unit is active: a release that misbehaves
    /// once it carries traffic.
    UnhealthyWhenActive,
    /// Saving the configuration archive fails (exit 1).
    BackupFails,
    /// The archive copied off the device is cut short.
    DownloadShort,
}

/// One scripted device.
#[derive(Clone, Debug)]
pub struct Device {
    /// Volumes: (version, build, status); the active one is `active`.
    pub volumes: Vec<(String, String, String)>,
    /// Index of the active volume.
    pub active: usize,
    /// `active` or `standby` (a standalone unit is active).
    pub role: String,
    /// The HA peer.
    pub peer: Option<String>,
    /// Faults.
    pub faults: Vec<Fault>,
    /// Status readings left before an install completes.
    installing: Option<(usize, u32)>,
    /// Connection attempts the old system still answers after a reboot command (it takes a
    /// moment to stop), and the volume it comes back on.
    going_down: Option<(u32, usize)>,
    /// Connection attempts left while down after a reboot.
    down: u32,
    /// Images on the device, by file name, with their SHA-256.
    files: HashMap<String, String>,
    /// Configuration archives saved on the device, by file name.
    archives: HashMap<String, String>,
    /// Bytes of memory in use (12 GiB of 32; a reboot brings it to 4 GiB).
    pub mem_used: u64,
    /// Reads of its failover status that still show its old role after a failover (a unit
    /// takes a moment to change).
    lag: u32,
}

impl Device {
    /// The version it runs.
    pub fn version(&self) -> &str {
        &self.volumes[self.active].0
    }
}

/// The fleet: devices by name and the log of everything that changed a device.
#[derive(Clone, Default)]
pub struct Fleet {
    state: Arc<Mutex<FleetState>>,
}

#[derive(Default)]
struct FleetState {
    devices: HashMap<String, Device>,
    events: Vec<String>,
    commands: HashMap<String, Vec<String>>,
}

impl Fleet {
    /// A device on 15.1.10 (HD1.1, with 14.1.5 on HD1.2) in `role`, paired with `peer`.
    pub fn add(&self, name: &str, role: &str, peer: Option<&str>, faults: &[Fault]) {
        let volumes = vec![
            ("15.1.10".into(), "0.0.3".into(), "complete".into()),
            ("14.1.5".into(), "0.0.9".into(), "complete".into()),
        ];
        self.state.lock().unwrap().devices.insert(
            name.into(),
            Device {
                volumes,
                active: 0,
                role: role.into(),
                peer: peer.map(str::to_string),
                faults: faults.to_vec(),
                installing: None,
                going_down: None,
                down: 0,
                files: HashMap::new(),
                archives: HashMap::new(),
                mem_used: 12 << 30,
                lag: 0,
            },
        );
    }

    /// Gives a device one more (inactive, complete) volume holding `version`.
    pub fn add_volume(&self, name: &str, version: &str) {
        let mut s = self.state.lock().unwrap();
        s.devices.get_mut(name).unwrap().volumes.push((
            version.into(),
            "0.0.1".into(),
            "complete".into(),
        ));
    }

    /// A device's state now.
    pub fn device(&self, name: &str) -> Device {
        self.state.lock().unwrap().devices[name].clone()
    }

    /// Sets a device's memory in use.
    pub fn set_memory(&self, name: &str, bytes: u64) {
        self.state
            .lock()
            .unwrap()
            .devices
            .get_mut(name)
            .unwrap()
            .mem_used = bytes;
    }

    /// Takes a device down for `attempts` connection attempts, as a reboot in progress does.
    pub fn hold_down(&self, name: &str, attempts: u32) {
        self.state
            .lock()
            .unwrap()
            .devices
            .get_mut(name)
            .unwrap()
            .down = attempts;
    }

    /// Gives a device a fault from now on.
    pub fn break_with(&self, name: &str, fault: Fault) {
        let mut s = self.state.lock().unwrap();
        s.devices.get_mut(name).unwrap().faults.push(fault);
    }

    /// Clears a device's faults (the operator fixed it).
    pub fn fix(&self, name: &str) {
        let mut s = self.state.lock().unwrap();
        let d = s.devices.get_mut(name).unwrap();
        d.faults.clear();
        d.down = 0;
    }

    /// `DEVICE EVENT` lines, in order: `install`, `down`, `up`, `failover`, `reboot-refused`.
    pub fn events(&self) -> Vec<String> {
        self.state.lock().unwrap().events.clone()
    }

    /// Every command a device received.
    pub fn commands(&self, name: &str) -> Vec<String> {
        self.state
            .lock()
            .unwrap()
            .commands
            .get(name)
            .cloned()
            .unwrap_or_default()
    }
}

fn ok(stdout: String) -> Result<CommandOutput, SshError> {
    Ok(CommandOutput {
        status: 0,
        stdout,
        stderr: String::new(),
    })
}

fn refused(stderr: &str) -> Result<CommandOutput, SshError> {
    Ok(CommandOutput {
        status: 1,
        stdout: String::new(),
        stderr: stderr.into(),
    })
}

impl Connector for Fleet {
    fn connect(&self, d: &PlannedDevice) -> Result<Box<dyn Transport>, SshError> {
        let mut s = self.state.lock().unwrap();
        // Each device answers at its own address only.
        if d.mgmt_host != format!("{}.example:22", d.name) {
            return Err(SshError::Connect {
                target: d.mgmt_host.clone(),
                message: format!("no device {} at this address", d.name),
            });
        }
        let dev = s
            .devices
            .get_mut(&d.name)
            .unwrap_or_else(|| panic!("no scripted device {}", d.name));
        // A reboot command returns before the device stops: the old system answers a little
        // longer, then the device goes down on the volume it boots next.
        if let Some((left, next)) = dev.going_down.as_mut() {
            if *left > 0 {
                *left -= 1;
            } else {
                if !dev.faults.contains(&Fault::MemoryStays) {
                    dev.mem_used = 4 << 30;
                }
                dev.active = *next;
                dev.going_down = None;
                dev.down = 2;
                s.events.push(format!("{} down", d.name));
            }
        }
        let dev = s.devices.get_mut(&d.name).expect("device");
        let gone = dev.faults.contains(&Fault::Unreachable)
            || (dev.down > 0 && dev.faults.contains(&Fault::NeverReturns));
        if dev.down > 0 && !gone {
            dev.down -= 1;
            if dev.down == 0 {
                s.events.push(format!("{} up", d.name));
            }
        }
        let dev = &s.devices[&d.name];
        if gone || dev.down > 0 {
            return Err(SshError::Connect {
                target: d.mgmt_host.clone(),
                message: "Connection refused".into(),
            });
        }
        Ok(Box::new(Session {
            fleet: self.clone(),
            name: d.name.clone(),
        }))
    }
}

struct Session {
    fleet: Fleet,
    name: String,
}

impl Transport for Session {
    fn exec(&mut self, command: &str) -> Result<CommandOutput, SshError> {
        let mut s = self.fleet.state.lock().unwrap();
        s.commands
            .entry(self.name.clone())
            .or_default()
            .push(command.to_string());
        let name = self.name.clone();
        let st = &mut *s;
        let d = st.devices.get_mut(&name).expect("device");
        if d.down > 0 {
            return Err(SshError::Session {
                target: name,
                message: "connection closed".into(),
            });
        }
        match command {
            "tmsh show sys version" => ok(format!(
                "Sys::Version\nMain Package\n  Product      BIG-IP\n  Version      {}\n  Build        {}\n  Edition      Final\n",
                d.volumes[d.active].0, d.volumes[d.active].1
            )),
            "tmsh show sys software status" => {
                if let Some((v, left)) = d.installing.as_mut() {
                    *left = left.saturating_sub(1);
                    let (v, left) = (*v, *left);
                    if left == 0 {
                        d.installing = None;
                        d.volumes[v].2 = if d.faults.contains(&Fault::InstallFails) {
                            "failed (scripted install failure)".into()
                        } else {
                            "complete".into()
                        };
                    } else {
                        d.volumes[v].2 = format!("installing {}.000 pct", 100 / (left + 1));
                    }
                }
                let mut o = String::from(
                    "Sys::Software Status\nVolume  Product   Version  Build  Active    Status\n",
                );
                for (i, (v, b, status)) in d.volumes.iter().enumerate() {
                    o.push_str(&format!(
                        "HD1.{}    BIG-IP  {v}  {b}  {}  {status}\n",
                        i + 1,
                        if i == d.active { "yes" } else { "no" }
                    ));
                }
                ok(o)
            }
            "df -Pk /shared/images" => ok("Filesystem 1024-blocks Used Available Capacity Mounted on\n/dev/x 20971520 971520 20000000 5% /shared\n".into()),
            "tmsh show cm failover-status" => {
                let role = if d.lag > 0 {
                    d.lag -= 1;
                    // Not changed yet: still the other role.
                    if d.role == "active" { "standby" } else { "active" }
                } else {
                    d.role.as_str()
                };
                ok(format!("Status   {}\nSummary  1/1 {role}\n", role.to_uppercase()))
            }
            "tmsh show cm sync-status" => ok(if d.peer.is_none() {
                "Status   Standalone\n".into()
            } else if d.faults.contains(&Fault::OutOfSync) {
                "Status   Changes Pending\n".into()
            } else {
                "Status   In Sync\n".into()
            }),
            "free -b" => ok(format!(
                "               total        used\nMem:    34359738368 {}\n",
                d.mem_used
            )),
            "tmsh load sys config verify" => {
                if d.faults.contains(&Fault::UnhealthyWhenActive) && d.role == "active" {
                    return refused(
                        "01070734:3: Configuration error: the configuration does not load on this unit",
                    );
                }
                ok("Validating configuration...\n  /config/bigip.conf\n".into())
            }
            "tmsh run sys failover standby" => {
                if d.role != "active" {
                    return refused("01070734:3: this device is not active");
                }
                if d.faults.contains(&Fault::FailoverFails) {
                    return refused("01070734:3: failover failed");
                }
                if d.faults.contains(&Fault::FailoverIgnored) {
                    return ok(String::new());
                }
                if !d.faults.contains(&Fault::FailoverHalf) {
                    d.role = "standby".into();
                }
                let peer = d.peer.clone();
                if let Some(p) = &peer {
                    let p = st.devices.get_mut(p).expect("peer");
                    p.role = "active".into();
                    p.lag = 2;
                }
                st.events
                    .push(format!("{name} failover to {}", peer.unwrap_or_default()));
                ok(String::new())
            }
            c if c.starts_with("sha256sum /shared/images/") => {
                let file = &c["sha256sum /shared/images/".len()..];
                match d.files.get(file) {
                    Some(sha) => ok(format!("{sha}  /shared/images/{file}\n")),
                    None => refused("sha256sum: No such file or directory"),
                }
            }
            "tmsh save sys config" => {
                st.events.push(format!("{name} save config"));
                ok("Saving running configuration...\n".into())
            }
            c if c.starts_with("tmsh save sys ucs ") => {
                if d.faults.contains(&Fault::BackupFails) {
                    return refused("01070711:3: Caught system exception: no space left on device");
                }
                let file = c["tmsh save sys ucs ".len()..].to_string();
                let body = format!("UCS of {name} on {}\n", d.volumes[d.active].0);
                let sha = {
                    use sha2::Digest;
                    crate::fsutil::hex(&sha2::Sha256::digest(body.as_bytes()))
                };
                d.files.insert(format!("ucs/{file}"), sha);
                d.archives.insert(file.clone(), body);
                st.events.push(format!("{name} save ucs {file}"));
                ok(String::new())
            }
            c if c.starts_with("sha256sum /var/local/ucs/") => {
                let file = &c["sha256sum /var/local/ucs/".len()..];
                match d.files.get(&format!("ucs/{file}")) {
                    Some(sha) => ok(format!("{sha}  /var/local/ucs/{file}\n")),
                    None => refused("sha256sum: No such file or directory"),
                }
            }
            c if c.starts_with("tmsh install sys software image ") => {
                let words: Vec<&str> = c.split_whitespace().collect();
                let (image, volume) = (words[5], words[7]);
                let Some(v) = volume
                    .strip_prefix("HD1.")
                    .and_then(|n| n.parse::<usize>().ok())
                    .filter(|&n| n >= 1 && n != d.active + 1)
                else {
                    return refused("01070712:3: bad volume");
                };
                if !d.files.contains_key(image) {
                    return refused("01070712:3: Software image not found");
                }
                let version = image
                    .strip_prefix("BIGIP-")
                    .and_then(|r| r.rsplit_once('-'))
                    .map(|(v, _)| v.to_string())
                    .unwrap_or_default();
                while d.volumes.len() < v {
                    d.volumes
                        .push(("none".into(), "none".into(), "complete".into()));
                }
                d.volumes[v - 1] = (version.clone(), "0.0.1".into(), "installing 0.000 pct".into());
                d.installing = Some((v - 1, 3));
                st.events.push(format!("{name} install {volume} {version}"));
                ok(String::new())
            }
            c if c.starts_with("tmsh reboot volume HD1.") => {
                let v: usize = c["tmsh reboot volume HD1.".len()..].parse().unwrap_or(0);
                if d.faults.contains(&Fault::RebootRefused) {
                    return refused("01070734:3: reboot is not allowed now");
                }
                if v == 0 || v > d.volumes.len() || d.volumes[v - 1].2 != "complete" {
                    st.events.push(format!("{name} reboot-refused HD1.{v}"));
                    return refused(&format!("01070734:3: Volume HD1.{v} is not bootable."));
                }
                // The traffic must be on the peer before a pair member reboots.
                if let Some(peer) = d.peer.clone() {
                    let p = &st.devices[&peer];
                    if p.role != "active" || p.lag > 0 {
                        st.events
                            .push(format!("{name} rebooted while {peer} was not serving"));
                    }
                }
                let d = st.devices.get_mut(&name).expect("device");
                let next = if d.faults.contains(&Fault::WrongVersion) {
                    d.active
                } else {
                    v - 1
                };
                d.going_down = Some((2, next));
                ok("Rebooting...\n".into())
            }
            other => refused(&format!("Syntax Error: \"{other}\" unknown command")),
        }
    }

    fn download(&mut self, remote: &str, local: &Path) -> Result<(u64, u64), SshError> {
        let s = self.fleet.state.lock().unwrap();
        let d = &s.devices[&self.name];
        let file = remote.strip_prefix("/var/local/ucs/").unwrap_or(remote);
        let body = d.archives.get(file).ok_or_else(|| SshError::Session {
            target: self.name.clone(),
            message: format!("{remote}: no such file"),
        })?;
        let listed = body.len() as u64;
        let bytes = if d.faults.contains(&Fault::DownloadShort) {
            &body.as_bytes()[..body.len() / 2]
        } else {
            body.as_bytes()
        };
        std::fs::write(local, bytes).map_err(|e| SshError::Session {
            target: self.name.clone(),
            message: e.to_string(),
        })?;
        Ok((listed, bytes.len() as u64))
    }

    fn upload(
        &mut self,
        local: &Path,
        remote: &str,
        _resume: bool,
        _streams: usize,
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<u64, SshError> {
        let (sha, size) = crate::images::digest(local).map_err(|e| SshError::Session {
            target: self.name.clone(),
            message: e.to_string(),
        })?;
        let file = remote.rsplit('/').next().unwrap_or(remote).to_string();
        let mut s = self.fleet.state.lock().unwrap();
        s.devices
            .get_mut(&self.name)
            .expect("device")
            .files
            .insert(file, sha);
        progress(size, size);
        Ok(0)
    }
}
