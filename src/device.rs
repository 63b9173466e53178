//! Operations on one device through its driver and a [`Transport`]: the pre-checks of an
//! upgrade hop, each a typed result the rollout engine can journal.

use crate::driver::Driver;
use crate::inventory::HaRole;
use crate::ssh::{SshError, Transport};
use crate::version::{Vendor, Version};

/// What the inventory or plan expects of the device.
#[derive(Clone, Debug)]
pub struct Expectation {
    /// Vendor.
    pub vendor: Vendor,
    /// The version it should run.
    pub version: Version,
    /// Its HA role.
    pub role: HaRole,
    /// Bytes that must fit where images go (image size plus margin), when an upload is next.
    pub space_needed: Option<u64>,
}

/// How a check ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// As expected.
    Ok,
    /// Not as expected: the hop must not go on.
    Fail,
    /// Information only.
    Info,
}

/// One pre-check.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Check {
    /// Stable name: `version`, `ha-role`, `sync`, `free-space`, `memory`, `health`.
    pub name: &'static str,
    /// Result.
    pub status: Status,
    /// What was found, in the user's terms.
    pub detail: String,
}

/// Runs a read-only driver command and returns its output, or a failed check explaining why.
fn run(t: &mut dyn Transport, d: &Driver, name: &'static str, cmd: &str) -> Result<String, Check> {
    let line = d.render(cmd, &[]).map_err(|e| Check {
        name,
        status: Status::Fail,
        detail: e.to_string(),
    })?;
    match t.exec(&line) {
        Ok(o) if o.status == 0 => Ok(o.stdout),
        Ok(o) => Err(Check {
            name,
            status: Status::Fail,
            detail: format!("`{line}` exited {}: {}", o.status, o.stderr.trim()),
        }),
        Err(e) => Err(Check {
            name,
            status: Status::Fail,
            detail: e.to_string(),
        }),
    }
}

/// The version the device reports, in vendor notation (F5 hotfix editions become ` HFn`,
/// NetScaler's release and build are joined with `-`).
pub fn reported_version(d: &Driver, out: &str) -> Option<String> {
    let v = d.parse_output("show_version", out);
    match d.vendor {
        Vendor::NetScaler => Some(format!("{}-{}", v.get("release")?, v.get("build")?)),
        _ => {
            let base = v.get("version")?.clone();
            match v.get("edition").and_then(|e| e.strip_prefix("Hotfix ")) {
                Some(hf) => Some(format!("{base} {hf}")),
                None => Some(base),
            }
        }
    }
}

/// Every read-only pre-check of an upgrade hop. A transport error on connect is the caller's;
/// errors during a check become failed checks, so all are reported.
pub fn precheck(t: &mut dyn Transport, d: &Driver, e: &Expectation) -> Vec<Check> {
    let mut out = Vec::new();
    let mut push = |r: Result<Check, Check>| out.push(r.unwrap_or_else(|c| c));
    push(run(t, d, "version", "show_version").map(|text| {
        match reported_version(d, &text).map(|v| (Version::parse(e.vendor, &v), v)) {
            Some((Ok(v), _)) if v == e.version => Check {
                name: "version",
                status: Status::Ok,
                detail: format!("runs {v}"),
            },
            Some((Ok(v), _)) => Check {
                name: "version",
                status: Status::Fail,
                detail: format!("drift: runs {v}, expected {}", e.version),
            },
            Some((Err(err), raw)) => Check {
                name: "version",
                status: Status::Fail,
                detail: format!("reports \"{raw}\": {err}"),
            },
            None => Check {
                name: "version",
                status: Status::Fail,
                detail: "no version in the output of show_version".into(),
            },
        }
    }));
    push(run(t, d, "ha-role", "ha_role").map(|text| {
        let role = d
            .parse_output("ha_role", &text)
            .get("role")
            .map(|r| r.to_ascii_lowercase());
        let seen = match role.as_deref() {
            Some("active" | "primary" | "master") => Some(HaRole::Active),
            Some("standby" | "secondary" | "backup") => Some(HaRole::Standby),
            _ => None,
        };
        let ok = match (e.role, seen) {
            (HaRole::Standalone, Some(HaRole::Active)) => true,
            (want, Some(got)) => want == got,
            _ => false,
        };
        Check {
            name: "ha-role",
            status: if ok { Status::Ok } else { Status::Fail },
            detail: match seen {
                Some(r) if ok => format!("{} as expected", r.id()),
                Some(r) => format!("is {}, expected {}", r.id(), e.role.id()),
                None => "role not reported (not ready?)".into(),
            },
        }
    }));
    if e.role != HaRole::Standalone {
        push(run(t, d, "sync", "sync_status").map(|text| {
            let status = d.parse_output("sync_status", &text).get("status").cloned();
            let wanted = &d.commands["sync_status"].in_sync;
            let ok = status
                .as_ref()
                .is_some_and(|s| wanted.iter().any(|w| w == s));
            Check {
                name: "sync",
                status: if ok { Status::Ok } else { Status::Fail },
                detail: match status {
                    Some(s) if ok => s,
                    Some(s) => format!("\"{s}\", not in sync"),
                    None => "sync status not reported".into(),
                },
            }
        }));
    }
    push(run(t, d, "free-space", "free_space").map(|text| {
        let kib = d
            .parse_output("free_space", &text)
            .get("available_kib")
            .and_then(|v| v.parse::<u64>().ok());
        match (kib, e.space_needed) {
            (None, _) => Check {
                name: "free-space",
                status: Status::Fail,
                detail: "free space not reported".into(),
            },
            (Some(k), Some(need)) if k * 1024 < need => Check {
                name: "free-space",
                status: Status::Fail,
                detail: format!(
                    "{} MiB free in {}, {} MiB needed",
                    k / 1024,
                    d.image_dir,
                    need.div_ceil(1 << 20)
                ),
            },
            (Some(k), need) => Check {
                name: "free-space",
                status: if need.is_some() {
                    Status::Ok
                } else {
                    Status::Info
                },
                detail: format!("{} MiB free in {}", k / 1024, d.image_dir),
            },
        }
    }));
    if d.commands.contains_key("memory") {
        push(run(t, d, "memory", "memory").map(|text| {
            let v = d.parse_output("memory", &text);
            let n = |k: &str| v.get(k).and_then(|x| x.parse::<f64>().ok());
            Check {
                name: "memory",
                status: Status::Info,
                detail: match (n("used_bytes"), n("total_bytes")) {
                    (Some(u), Some(t)) if t > 0.0 => format!(
                        "{:.1} of {:.1} GiB in use ({:.0} %)",
                        u / 1073741824.0,
                        t / 1073741824.0,
                        u / t * 100.0
                    ),
                    _ => "not reported".into(),
                },
            }
        }));
    }
    push(run(t, d, "health", "health").map(|text| Check {
        name: "health",
        status: if d.succeeded("health", &text) {
            Status::Ok
        } else {
            Status::Fail
        },
        detail: text.lines().last().unwrap_or("").trim().to_string(),
    }));
    out
}

/// A transport error as a failed check (for reports that list every device).
pub fn unreachable(e: &SshError) -> Check {
    Check {
        name: "connect",
        status: Status::Fail,
        detail: e.to_string(),
    }
}
