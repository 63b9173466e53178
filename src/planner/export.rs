//! The plan for humans: a table for the terminal and Markdown for change tickets (one table per
//! wave, windows in site time), both built from the same rows.

use crate::report::{Cell, Section, Table};

use super::file::{Group, Plan, Step, WaveKind};

/// `2026-11-29 01:00-05:00 +11:00` from two RFC 3339 times written by the planner.
pub(crate) fn local_window(start: &str, end: &str) -> String {
    let part = |s: &str, a: usize, b: usize| s.get(a..b).unwrap_or("").to_string();
    let mut out = format!(
        "{} {}-{}",
        part(start, 0, 10),
        part(start, 11, 16),
        part(end, 11, 16)
    );
    if part(start, 0, 10) != part(end, 0, 10) {
        out.push_str(" (+1d)");
    }
    let offset = start.get(19..).unwrap_or("");
    if !offset.is_empty() {
        out.push(' ');
        out.push_str(if offset == "+00:00" { "UTC" } else { offset });
    }
    out
}

fn utc_of(rfc3339: &str) -> String {
    rfc3339
        .parse::<jiff::Timestamp>()
        .map(|t| t.strftime("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_default()
}

/// The unit carrying each HA group's traffic after the entries seen so far, by (site, group):
/// an entry after a canary that failed over starts with the roles swapped.
#[derive(Default)]
pub(crate) struct Carriers(std::collections::HashMap<(String, String), String>);

impl Carriers {
    /// The active unit when `g` starts, if an earlier entry moved it.
    fn before(&self, g: &Group) -> Option<&str> {
        let key = (g.site.clone(), g.ha_group.clone()?);
        self.0.get(&key).map(String::as_str)
    }

    /// Records who carries traffic after `g`.
    fn after(&mut self, g: &Group) {
        if let (Some(h), Some(c)) = (&g.ha_group, &g.carrier) {
            self.0.insert((g.site.clone(), h.clone()), c.device.clone());
        }
    }
}

/// One row per step of a group: site, HA group, step, device, its role at that step, site time,
/// [UTC], path or version, minutes after the `lead` cells. `carriers` says who is active when the
/// entry starts (moved by an earlier wave's failover) and hears who is after it.
pub(crate) fn step_rows(
    g: &Group,
    lead: &[Cell],
    out: &mut Table,
    with_utc: bool,
    carriers: &mut Carriers,
) {
    // The active unit as the steps go: where an earlier entry left it, else as planned.
    let mut active: Option<String> = carriers
        .before(g)
        .map(str::to_string)
        .or_else(|| {
            g.devices
                .iter()
                .find(|d| d.role == "active")
                .map(|d| d.name.clone())
        })
        .or_else(|| {
            g.steps.iter().find_map(|s| match s {
                Step::Failover { from, .. } => from.clone(),
                _ => None,
            })
        });
    carriers.after(g);
    let role_now = |d: &super::file::PlannedDevice, active: &Option<String>| {
        if d.role == "standalone" || active.is_none() {
            d.role.clone()
        } else if active.as_deref() == Some(d.name.as_str()) {
            "active".to_string()
        } else {
            "standby".to_string()
        }
    };
    // An HA group's last row says which unit carries traffic from then on (through the soak).
    let carrier = g.ha_group.as_ref().and(g.carrier.as_ref()).map(|c| {
        (
            "carries traffic",
            c.device.clone(),
            "active".to_string(),
            format!("runs {}", c.version),
            Cell::Empty,
        )
    });
    let steps = g.steps.iter().map(|step| match step {
        Step::Upgrade { device } => {
            let d = g.devices.iter().find(|d| &d.name == device);
            (
                "upgrade",
                device.clone(),
                d.map(|d| role_now(d, &active)).unwrap_or_default(),
                d.map(|d| format!("{} → {}", d.from, d.path.join(" → ")))
                    .unwrap_or_default(),
                d.map_or(Cell::Empty, |d| Cell::Int(d.estimated_minutes)),
            )
        }
        Step::Reboot { device } => {
            let d = g.devices.iter().find(|d| &d.name == device);
            (
                "reboot",
                device.clone(),
                d.map(|d| role_now(d, &active)).unwrap_or_default(),
                d.map(|d| d.from.clone()).unwrap_or_default(),
                d.map_or(Cell::Empty, |d| Cell::Int(d.estimated_minutes)),
            )
        }
        Step::Failover { to, .. } => {
            active = Some(to.clone());
            (
                "failover",
                to.clone(),
                "standby".into(),
                String::new(),
                Cell::Empty,
            )
        }
    });
    for (action, device, role, path, minutes) in steps.chain(carrier) {
        let mut row = lead.to_vec();
        row.extend([
            Cell::text(g.site.clone()),
            Cell::text(g.ha_group.clone().unwrap_or_default()),
            Cell::text(action),
            Cell::text(device),
            Cell::text(role),
            Cell::text(local_window(&g.start, &g.end)),
        ]);
        if with_utc {
            row.push(Cell::text(utc_of(&g.start)));
        }
        row.extend([Cell::text(path), minutes]);
        out.push(row);
    }
}

/// Every step of every wave in one table.
pub fn table(plan: &Plan) -> Table {
    let mut t = Table::new(&[
        "wave",
        "kind",
        "site",
        "ha_group",
        "step",
        "device",
        "role",
        "site time",
        "start (UTC)",
        "path",
        "minutes",
    ]);
    let mut carriers = Carriers::default();
    for w in &plan.waves {
        let kind = match w.kind {
            WaveKind::Canary => "canary",
            WaveKind::Wave => "wave",
        };
        for g in &w.groups {
            step_rows(
                g,
                &[Cell::Int(w.index as i64), Cell::text(kind)],
                &mut t,
                true,
                &mut carriers,
            );
        }
    }
    t
}

/// The summary, unschedulable devices and lints as text lines.
pub fn summary_lines(plan: &Plan) -> Vec<String> {
    let s = &plan.summary;
    let mut out = vec![format!(
        "{} devices, {} selected: {} scheduled in {} wave{}, {} already at target, {} unschedulable",
        s.devices,
        s.selected,
        s.scheduled,
        s.waves,
        if s.waves == 1 { "" } else { "s" },
        s.up_to_date,
        s.unschedulable
    )];
    if !s.windows_needed.is_empty() {
        let w: Vec<String> = s
            .windows_needed
            .iter()
            .map(|(site, n)| format!("{site} {n}"))
            .collect();
        out.push(format!("windows needed: {}", w.join(", ")));
    }
    if let Some(f) = &s.finish {
        out.push(format!("last group done by {f}"));
    }
    for u in &plan.unschedulable {
        out.push(format!(
            "unschedulable: {} ({}): {}: {}",
            u.name, u.site, u.code, u.reason
        ));
    }
    for l in &plan.lints {
        out.push(format!("warning[{}]: {}", l.code, l.message));
    }
    out
}

/// Sections for Markdown: the summary, one table per wave, then what was left out.
pub fn markdown(plan: &Plan) -> Vec<Section> {
    let mut sections = Vec::new();
    let mut summary = Table::new(&["item", "value"]);
    let s = &plan.summary;
    for (k, v) in [
        ("target", plan.target.clone()),
        ("inventory digest", plan.inventory.digest.clone()),
        ("catalog digest", plan.catalog.digest.clone()),
        ("devices selected", s.selected.to_string()),
        ("scheduled", s.scheduled.to_string()),
        ("already at target", s.up_to_date.to_string()),
        ("unschedulable", s.unschedulable.to_string()),
        ("waves", s.waves.to_string()),
        (
            "last group done by (UTC)",
            s.finish.clone().unwrap_or_default(),
        ),
    ] {
        summary.push(vec![Cell::text(k), Cell::text(v)]);
    }
    if let Some(g) = &plan.options.gate {
        summary.push(vec![
            Cell::text("gate after the canary"),
            Cell::text(format!(
                "{g}: the waves after the canary start only when `lbfleet verify-fix` says the canary's leak is fixed (upgrade holds them)"
            )),
        ]);
    }
    for (site, n) in &s.windows_needed {
        summary.push(vec![
            Cell::text(format!("windows needed at {site}")),
            Cell::Int(*n as i64),
        ]);
    }
    sections.push(Section {
        key: "summary",
        title: "Upgrade plan".into(),
        table: summary,
    });
    let mut carriers = Carriers::default();
    for w in &plan.waves {
        let mut t = Table::new(&[
            "site",
            "ha_group",
            "step",
            "device",
            "role",
            "site time",
            "path",
            "minutes",
        ]);
        for g in &w.groups {
            step_rows(g, &[], &mut t, false, &mut carriers);
        }
        let title = match w.kind {
            WaveKind::Canary => format!("Wave {} (canary), not before {}", w.index, w.not_before),
            WaveKind::Wave => format!("Wave {}, not before {}", w.index, w.not_before),
        };
        sections.push(Section {
            key: "wave",
            title,
            table: t,
        });
    }
    if !plan.unschedulable.is_empty() {
        let mut t = Table::new(&["device", "site", "code", "reason"]);
        for u in &plan.unschedulable {
            t.push(vec![
                Cell::text(u.name.clone()),
                Cell::text(u.site.clone()),
                Cell::text(u.code.clone()),
                Cell::text(u.reason.clone()),
            ]);
        }
        sections.push(Section {
            key: "unschedulable",
            title: "Not scheduled".into(),
            table: t,
        });
    }
    if !plan.lints.is_empty() {
        let mut t = Table::new(&["code", "warning"]);
        for l in &plan.lints {
            t.push(vec![
                Cell::text(l.code.clone()),
                Cell::text(l.message.clone()),
            ]);
        }
        sections.push(Section {
            key: "lints",
            title: "Warnings".into(),
            table: t,
        });
    }
    sections
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_windows() {
        assert_eq!(
            local_window("2026-11-29T01:00:00+11:00", "2026-11-29T02:10:00+11:00"),
            "2026-11-29 01:00-02:10 +11:00"
        );
        assert_eq!(
            local_window("2026-11-28T23:00:00-05:00", "2026-11-29T00:40:00-05:00"),
            "2026-11-28 23:00-00:40 (+1d) -05:00"
        );
    }
}
