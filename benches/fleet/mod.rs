//! The benchmark fleet: 100 000 devices across 1 000 sites, deterministic. HA pairs (80 %) and
//! standalones over the catalog's F5, NetScaler, Kemp and FortiADC models with real catalog
//! versions; sites in five time zones with two weekend windows each.

use std::fmt::Write as _;
use std::path::Path;

/// Devices in the fleet.
pub const DEVICES: usize = 100_000;
/// Sites in the fleet.
pub const SITES: usize = 1_000;

/// Writes `sites.csv` and `devices.csv` into `dir`.
pub fn generate(dir: &Path) {
    let zones = [
        "Asia/Shanghai",
        "Europe/Berlin",
        "America/New_York",
        "Australia/Sydney",
        "UTC",
    ];
    let mut sites = String::from("site,timezone,windows,order\n");
    for s in 0..SITES {
        writeln!(
            sites,
            "S{s:04},{},Sat 02:00-06:00;Sun 02:00-06:00,{s}",
            zones[s % zones.len()]
        )
        .unwrap();
    }
    let kinds = [
        ("f5", "i4800", "12.1.2"),
        ("f5", "i7800", "15.1.10"),
        ("f5", "r5600", "17.1.3"),
        ("netscaler", "MPX-17000", "13.1-49.13"),
        ("kemp", "LM-1500", "7.2.48.2"),
        ("fortiadc", "FAD-2200F", "7.1.0"),
    ];
    let mut devices =
        String::from("name,site,vendor,model,version,mgmt_host,ha_group,ha_role,rack\n");
    let mut i = 0;
    while i < DEVICES {
        let site = (i / 2) % SITES;
        let (vendor, model, version) = kinds[(i / 2) % kinds.len()];
        let ip = |n: usize| format!("10.{}.{}.{}", n >> 16 & 255, n >> 8 & 255, n & 255);
        if i % 10 < 8 && i + 1 < DEVICES {
            for (k, role) in ["active", "standby"].iter().enumerate() {
                let n = i + k;
                writeln!(
                    devices,
                    "d{n:06},S{site:04},{vendor},{model},{version},{},g{i:06},{role},R{}",
                    ip(n),
                    n % 40
                )
                .unwrap();
            }
            i += 2;
        } else {
            writeln!(devices, "d{i:06},S{site:04},{vendor},{model},{version},lb{i}.mgmt.example.net,,standalone,R1").unwrap();
            i += 1;
        }
    }
    std::fs::write(dir.join("sites.csv"), sites).unwrap();
    std::fs::write(dir.join("devices.csv"), devices).unwrap();
}
