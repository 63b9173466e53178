//! The change ticket: for each group entry of a plan, what the rollout will do on which
//! management address, in the driver's own commands (pre-checks, backup, forward steps with
//! their expected minutes) and the way back if it must be undone once the entry has run (the
//! steps `lbfleet rollback` takes, found by the same [`back_out`] from the journal the entry
//! would leave, with their minutes, and the archive to restore when no volume holds the old
//! release any more).

use super::journal::{Entry, Event};
use super::{BackStep, Backups, back_out, group_name};
use crate::driver::{Driver, Drivers};
use crate::planner::durations::StepMinutes;
use crate::planner::file::{Group, PlannedDevice, Step, Wave, WaveKind};
use crate::planner::{Durations, Plan};
use crate::report::{Cell, Section, Table};
use crate::version::Vendor;

/// A driver command as the ticket shows it: its template with `values` put in for display
/// (never run: placeholders the plan cannot know, such as the image file, read `<...>`).
fn shown(d: &Driver, name: &str, values: &[(&str, &str)]) -> Option<String> {
    let mut run = d.commands.get(name)?.run.clone();
    for (k, v) in values {
        run = run.replace(&format!("{{{k}}}"), v);
    }
    Some(run)
}

struct Rows<'a> {
    t: Table,
    n: i64,
    minutes: &'a StepMinutes,
}

impl Rows<'_> {
    fn push(&mut self, when: &str, on: &str, what: String, expect: String, minutes: Option<u32>) {
        self.n += 1;
        self.t.push(vec![
            Cell::Int(self.n),
            Cell::text(when),
            Cell::text(on),
            Cell::text(what),
            Cell::text(expect),
            minutes.map_or(Cell::Empty, |m| Cell::Int(i64::from(m))),
        ]);
    }

    /// The read-only checks of a unit: its release, role, sync and health.
    fn checks(&mut self, when: &str, d: &Driver, on: &str, version: &str, role: &str) {
        let sync = d
            .commands
            .get("sync_status")
            .map(|c| c.in_sync.join(" or "))
            .unwrap_or_default();
        for (cmd, expect) in [
            ("show_version", format!("runs {version}")),
            ("ha_role", role.to_string()),
            ("sync_status", sync),
            ("health", "succeeds".to_string()),
        ] {
            if cmd == "sync_status" && role == "standalone" {
                continue;
            }
            if let Some(line) = shown(d, cmd, &[]) {
                self.push(when, on, format!("`{line}`"), expect, None);
            }
        }
        // A hop's checks are counted once, after its reboot.
        if when == "post-check" {
            let last = self.t.rows.len() - 1;
            self.t.rows[last][5] = Cell::Int(i64::from(self.minutes.checks));
        }
    }
}

fn at(d: &PlannedDevice) -> String {
    format!("{} ({})", d.name, d.mgmt_host)
}

/// The journal an entry's finished steps leave, with every earlier entry's of the same group:
/// what [`back_out`] reads to find the way back after it.
pub(super) fn journal_after(waves: &[Wave], upto: usize, group: &str) -> Vec<Entry> {
    let mut out = Vec::new();
    let entry = |fields: Vec<(&str, &str)>| Entry {
        at: "planned".into(),
        event: Event::Done,
        fields: fields
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    };
    for w in waves.iter().filter(|w| w.index <= upto) {
        let wave = w.index.to_string();
        for g in w.groups.iter().filter(|g| group_name(g) == group) {
            for s in &g.steps {
                match s {
                    Step::Upgrade { device } => {
                        let Some(d) = g.devices.iter().find(|d| &d.name == device) else {
                            continue;
                        };
                        for hop in &d.path {
                            out.push(entry(vec![
                                ("wave", &wave),
                                ("group", group),
                                ("step", "hop"),
                                ("device", device),
                                ("to", hop),
                            ]));
                        }
                    }
                    Step::Failover { to, from, .. } => {
                        let mut f = vec![
                            ("wave", wave.as_str()),
                            ("group", group),
                            ("step", "failover"),
                            ("to", to.as_str()),
                        ];
                        f.extend(from.as_deref().map(|f| ("from", f)));
                        out.push(entry(f));
                    }
                    Step::Reboot { .. } => {}
                }
            }
        }
    }
    out
}

/// One section per group entry of the plan: its change ticket.
pub fn sections(
    plan: &Plan,
    drivers: &Drivers,
    backups: &Backups,
    plan_path: &str,
) -> Vec<Section> {
    let durations = Durations {
        rows: plan.options.durations.clone(),
    };
    let mut out = Vec::new();
    for w in &plan.waves {
        for g in &w.groups {
            let Some(first) = g.devices.first() else {
                continue;
            };
            let Ok(vendor) = first.vendor.parse::<Vendor>() else {
                continue;
            };
            let minutes = durations.of(vendor, &first.model);
            let driver = drivers.get(vendor).ok();
            let name = group_name(g);
            let (table, back) = match driver {
                Some(d) => ticket(plan, w, g, d, &minutes, backups, plan_path),
                None => {
                    let mut t = Table::new(&["#", "when", "on", "do", "expect", "minutes"]);
                    for dev in &g.devices {
                        t.push(vec![
                            Cell::Int(t.rows.len() as i64 + 1),
                            Cell::text("by hand"),
                            Cell::text(at(dev)),
                            Cell::text(format!(
                                "{} -> {} by the vendor's procedure: lbfleet has no {} driver to run it",
                                dev.from,
                                dev.path.join(" -> "),
                                vendor.id()
                            )),
                            Cell::text("no backup, checks or back-out by lbfleet"),
                            Cell::Empty,
                        ]);
                    }
                    (t, None)
                }
            };
            out.push(Section {
                key: "change",
                title: format!(
                    "Change: wave {}{}, {} {} — window {}; forward about {} min{}{}",
                    w.index,
                    if w.kind == WaveKind::Canary {
                        " (canary)"
                    } else {
                        ""
                    },
                    g.site,
                    name,
                    crate::planner::export::local_window(&g.window_start, &g.window_end),
                    g.estimated_minutes,
                    match back {
                        Some(Back::Reboots(m, false)) => format!(", back-out about {m} min"),
                        Some(Back::Reboots(m, true)) => format!(
                            ", back-out about {m} min by reboot while a volume still holds the old release (else a reinstall and the backup)"
                        ),
                        Some(Back::ByHand) => ", back-out by hand".into(),
                        None => String::new(),
                    },
                    match driver {
                        Some(_) => String::new(),
                        None => format!(
                            " (no {} driver: lbfleet cannot run it; write one with --drivers)",
                            vendor.id()
                        ),
                    }
                ),
                table,
            });
        }
    }
    out
}

/// The back-out a ticket section states in its title.
enum Back {
    /// By lbfleet: minutes, and whether a multi-hop path may leave no volume to boot.
    Reboots(i64, bool),
    /// The driver has no rollback.
    ByHand,
}

/// The rows of one entry's ticket and its back-out.
fn ticket(
    plan: &Plan,
    w: &Wave,
    g: &Group,
    d: &Driver,
    minutes: &StepMinutes,
    backups: &Backups,
    plan_path: &str,
) -> (Table, Option<Back>) {
    let mut r = Rows {
        t: Table::new(&["#", "when", "on", "do", "expect", "minutes"]),
        n: 0,
        minutes,
    };
    let gname = group_name(g);
    // Roles as the steps leave them (a failover swaps the pair).
    let mut roles: Vec<(String, String)> = g
        .devices
        .iter()
        .map(|x| (x.name.clone(), x.role.clone()))
        .collect();
    if let Some(h) = super::handover(&plan.waves, w.index, g) {
        for (n, role) in roles.iter_mut() {
            if role != "standalone" {
                *role = if *n == h.to { "active" } else { "standby" }.into();
            }
        }
        // After the soak: the unit that carried the traffic through it is checked first.
        let on = format!("{} ({})", h.to, h.mgmt_host);
        let back_to = h
            .from
            .as_ref()
            .map_or("the former active", |(f, _)| f.as_str());
        for (cmd, expect) in [
            ("ha_role", "active".to_string()),
            (
                "health",
                format!("succeeds; if not, traffic goes back to {back_to} and the group stops"),
            ),
        ] {
            if let Some(line) = shown(d, cmd, &[]) {
                r.push("soak check", &on, format!("`{line}`"), expect, None);
            }
        }
    }
    let role_of = |roles: &Vec<(String, String)>, n: &str| {
        roles
            .iter()
            .find(|(x, _)| x == n)
            .map_or("standby".to_string(), |(_, r)| r.clone())
    };
    for step in &g.steps {
        match step {
            Step::Upgrade { device } => {
                let Some(dev) = g.devices.iter().find(|x| &x.name == device) else {
                    continue;
                };
                let on = at(dev);
                let role = role_of(&roles, device);
                r.checks("pre-check", d, &on, &dev.from, &role);
                if d.commands.contains_key("backup") {
                    let archive = backups.archive(device);
                    let values = [("archive", archive.as_str())];
                    if let Some(line) = shown(d, "save_config", &values) {
                        r.push("backup", &on, format!("`{line}`"), "exit 0".into(), None);
                    }
                    let file = d
                        .render_fetch("backup", &values)
                        .ok()
                        .flatten()
                        .unwrap_or_default();
                    r.push(
                        "backup",
                        &on,
                        format!("`{}`", shown(d, "backup", &values).unwrap_or_default()),
                        format!(
                            "{file} copied to {}, size and SHA-256 as the device's; if not, stop here",
                            backups.folder(device).join(file.rsplit('/').next().unwrap_or("")).display()
                        ),
                        None,
                    );
                }
                let mut prev = dev.from.clone();
                for (i, hop) in dev.path.iter().enumerate() {
                    let image = format!("<image for {hop}>");
                    let volume = "<an inactive volume>".to_string();
                    let values = [
                        ("image", image.as_str()),
                        ("volume", volume.as_str()),
                        ("release", hop.as_str()),
                    ];
                    let staged = plan.options.pre_staged;
                    r.push(
                        "forward",
                        &on,
                        format!(
                            "{} {image} to {} over SFTP; `{}`",
                            if staged {
                                "staged ahead (`lbfleet stage`): check"
                            } else {
                                "copy"
                            },
                            d.image_dir,
                            shown(d, "image_checksum", &values).unwrap_or_default()
                        ),
                        "the image manifest's SHA-256".into(),
                        (!staged).then_some(minutes.upload),
                    );
                    // Where the way back by reboot ends: with two volumes, the second hop
                    // installs over the one that holds the old release.
                    if i == 1 && crate::device::lists_volumes(d) {
                        r.push(
                            "note",
                            &on,
                            format!(
                                "the next install goes to an inactive volume other than the one holding {} if the device has one; with only two volumes it goes over it",
                                dev.from
                            ),
                            "after that, the way back is a reinstall and the backup, not a reboot"
                                .into(),
                            None,
                        );
                    }
                    let wait = d
                        .commands
                        .get("install")
                        .and_then(|c| c.wait_for.as_deref())
                        .and_then(|w| shown(d, w, &[]))
                        .map(|w| format!("`{w}` shows the volume complete with {hop}"))
                        .unwrap_or_else(|| "exit 0".into());
                    r.push(
                        "forward",
                        &on,
                        format!("`{}`", shown(d, "install", &values).unwrap_or_default()),
                        wait,
                        Some(minutes.install),
                    );
                    r.push(
                        "forward",
                        &on,
                        format!("`{}`", shown(d, "reboot", &values).unwrap_or_default()),
                        format!("goes down, answers SSH again ({prev} -> {hop})"),
                        Some(minutes.reboot),
                    );
                    r.checks("post-check", d, &on, hop, &role);
                    prev = hop.clone();
                }
            }
            Step::Failover {
                to,
                mgmt_host,
                from,
                from_mgmt_host,
            } => {
                let giver = match (from, from_mgmt_host) {
                    (Some(f), Some(h)) => format!("{f} ({h})"),
                    _ => "the active unit".into(),
                };
                r.push(
                    "forward",
                    &giver,
                    format!("`{}`", shown(d, "failover", &[]).unwrap_or_default()),
                    format!(
                        "{to} ({mgmt_host}) active, in sync and healthy; if not, traffic goes back to {}",
                        from.as_deref().unwrap_or("it")
                    ),
                    Some(minutes.failover),
                );
                for (n, role) in roles.iter_mut() {
                    if role != "standalone" {
                        *role = if n == to { "active" } else { "standby" }.into();
                    }
                }
            }
            // Reboot rounds are the reboot schedule's (`lbfleet reboots`), not an upgrade plan's.
            Step::Reboot { .. } => {}
        }
    }
    // The way back once this entry has run.
    let journal = journal_after(&plan.waves, w.index, &gname);
    let Ok(bo) = back_out(&plan.waves, &journal, &gname) else {
        return (r.t, None);
    };
    let by_hand = !d.commands.contains_key("rollback");
    r.push(
        "back-out",
        "lbfleet",
        if by_hand {
            format!(
                "by hand: the {} driver has no rollback command (`lbfleet rollback` refuses)",
                d.vendor.id()
            )
        } else {
            format!("`lbfleet rollback {plan_path} --group {gname}` runs the steps below")
        },
        "the group back on the releases it ran before, roles as before".into(),
        None,
    );
    for step in &bo.steps {
        match step {
            BackStep::Revert(rv) => {
                let on = format!("{} ({})", rv.device, rv.mgmt_host);
                let volume = format!("<the volume holding {}>", rv.old);
                match shown(
                    d,
                    "rollback",
                    &[("volume", volume.as_str()), ("release", rv.old.as_str())],
                ) {
                    Some(line) => r.push(
                        "back-out",
                        &on,
                        format!("`{line}`"),
                        format!(
                            "answers again on {}, {}, in sync and healthy; if no volume holds {}: reinstall it and restore {}",
                            rv.old,
                            rv.role.id(),
                            rv.old,
                            backups.folder(&rv.device).join(backups.archive(&rv.device)).display()
                        ),
                        Some(minutes.reboot + minutes.checks),
                    ),
                    None => r.push(
                        "back-out",
                        &on,
                        format!(
                            "by hand: the {} driver has no rollback command",
                            d.vendor.id()
                        ),
                        format!(
                            "reinstall {} and restore the backup in {}",
                            rv.old,
                            backups.folder(&rv.device).display()
                        ),
                        None,
                    ),
                }
            }
            BackStep::Failover(f) => r.push(
                "back-out",
                &format!("{} ({})", f.from.0, f.from.1),
                format!("`{}`", shown(d, "failover", &[]).unwrap_or_default()),
                format!(
                    "{} ({}) active on {}, in sync and healthy",
                    f.to.0, f.to.1, f.old
                ),
                Some(minutes.failover),
            ),
        }
    }
    let multi_hop = crate::device::lists_volumes(d)
        && bo.reverts().any(|rv| {
            plan.waves
                .iter()
                .flat_map(|w| &w.groups)
                .flat_map(|g| &g.devices)
                .any(|x| x.name == rv.device && x.path.len() > 1)
        });
    let back = if by_hand {
        Back::ByHand
    } else {
        Back::Reboots(bo.minutes(minutes), multi_hop)
    };
    (r.t, Some(back))
}
