//! `inventory sync`: what each device says of itself, read with its driver's read-only
//! commands, against what the inventory says; the differences become cell edits.

use super::{Device, HaRole};
use crate::driver::Driver;
use crate::ssh::Transport;
use crate::version::Version;

/// What a device reported.
#[derive(Clone, Debug, PartialEq)]
pub struct Observed {
    /// Its version, in vendor notation.
    pub version: Version,
    /// Its HA role (a standalone unit reports itself active).
    pub role: HaRole,
    /// Its configuration sync status, when the driver reads one.
    pub sync: Option<String>,
}

/// One cell where the inventory and the device disagree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Difference {
    /// The device.
    pub device: String,
    /// The inventory column: `version` or `ha_role`.
    pub field: &'static str,
    /// What the inventory says.
    pub inventory: String,
    /// What the device says.
    pub observed: String,
}

/// Runs a read-only command of the driver; a failed command is an error in the device's words.
fn read(t: &mut dyn Transport, d: &Driver, cmd: &str) -> Result<String, String> {
    let line = d.render(cmd, &[]).map_err(|e| e.to_string())?;
    let out = t.exec(&line).map_err(|e| e.to_string())?;
    if out.status != 0 {
        return Err(format!(
            "`{line}` exited {}: {}",
            out.status,
            crate::device::quote(&out.stderr)
        ));
    }
    Ok(out.stdout)
}

/// Reads version, HA role and sync status with the driver's read-only commands. An answer the
/// driver cannot read is an error quoting the device, never a guess.
pub fn observe(t: &mut dyn Transport, d: &Driver, device: &Device) -> Result<Observed, String> {
    let text = read(t, d, "show_version")?;
    let raw = crate::device::reported_version(d, &text).ok_or_else(|| {
        format!(
            "version not reported as the driver reads it: the device answered {}",
            crate::device::quote(&text)
        )
    })?;
    let version = Version::parse(device.vendor, &raw)
        .map_err(|e| format!("the device reports version \"{raw}\": {e}"))?;
    let text = read(t, d, "ha_role")?;
    let role = crate::device::reported_role(d, &text).ok_or_else(|| {
        format!(
            "HA role not reported as the driver reads it: the device answered {}",
            crate::device::quote(&text)
        )
    })?;
    let sync = if d.commands.contains_key("sync_status") {
        let text = read(t, d, "sync_status")?;
        d.parse_output("sync_status", &text).get("status").cloned()
    } else {
        None
    };
    Ok(Observed {
        version,
        role,
        sync,
    })
}

/// Where `device`'s row and what it reported disagree. A standalone unit reporting itself
/// active agrees with `standalone`.
pub fn differences(device: &Device, o: &Observed) -> Vec<Difference> {
    let mut out = Vec::new();
    let mut diff = |field, inventory: String, observed: String| {
        out.push(Difference {
            device: device.name.clone(),
            field,
            inventory,
            observed,
        })
    };
    if o.version != device.version {
        diff("version", device.version.to_string(), o.version.to_string());
    }
    let same_role = matches!(
        (device.ha_role, o.role),
        (HaRole::Standalone, HaRole::Active)
    ) || device.ha_role == o.role;
    if !same_role {
        diff(
            "ha_role",
            device.ha_role.id().to_string(),
            o.role.id().to_string(),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::version::Vendor;

    fn device(version: &str, role: HaRole) -> Device {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("sites.csv"),
            "site,timezone,windows\nFRA1,Europe/Berlin,Sun 00:00-08:00\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("devices.csv"),
            match role {
                HaRole::Standalone => format!(
                    "name,site,vendor,model,version,mgmt_host,ha_group,ha_role\n\
                     lb1,FRA1,f5,i4800,{version},10.0.0.1,,standalone\n"
                ),
                _ => format!(
                    "name,site,vendor,model,version,mgmt_host,ha_group,ha_role\n\
                     lb1,FRA1,f5,i4800,{version},10.0.0.1,g,{}\n\
                     lb2,FRA1,f5,i4800,{version},10.0.0.2,g,{}\n",
                    role.id(),
                    if role == HaRole::Active {
                        "standby"
                    } else {
                        "active"
                    }
                ),
            },
        )
        .unwrap();
        let catalog = crate::catalog::Catalog::embedded().unwrap();
        let inv = crate::inventory::load(&[dir.path().to_path_buf()], &catalog).unwrap();
        assert!(!inv.has_errors(), "{:?}", inv.findings);
        inv.devices.into_iter().find(|d| d.name == "lb1").unwrap()
    }

    fn seen(version: &str, role: HaRole) -> Observed {
        Observed {
            version: Version::parse(Vendor::F5, version).unwrap(),
            role,
            sync: None,
        }
    }

    #[test]
    fn only_what_the_device_says_otherwise_is_a_difference() {
        let d = device("15.1.10", HaRole::Standby);
        assert!(differences(&d, &seen("15.1.10", HaRole::Standby)).is_empty());
        assert_eq!(
            differences(&d, &seen("16.1.4", HaRole::Active)),
            [
                Difference {
                    device: "lb1".into(),
                    field: "version",
                    inventory: "15.1.10".into(),
                    observed: "16.1.4".into(),
                },
                Difference {
                    device: "lb1".into(),
                    field: "ha_role",
                    inventory: "standby".into(),
                    observed: "active".into(),
                },
            ]
        );
        // The same version in another spelling is the same version.
        let d = device("11.5.1 HF10", HaRole::Standalone);
        assert!(differences(&d, &seen("11.5.1 hf10", HaRole::Active)).is_empty());
        // A standalone unit reports itself active; one reporting standby is not standalone.
        assert_eq!(
            differences(&d, &seen("11.5.1 HF10", HaRole::Standby))[0].field,
            "ha_role"
        );
    }
}
