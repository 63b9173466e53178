//! The run report, from the plan and the journal alone: per device its path, every step with
//! its duration, and failures. Markdown for the change ticket; the same rows as a table.

use jiff::Timestamp;

use super::group_name;
use super::journal::{Entry, Event};
use crate::planner::file::Plan;
use crate::report::{Cell, Table};

fn seconds(a: &str, b: &str) -> Option<i64> {
    let a: Timestamp = a.parse().ok()?;
    let b: Timestamp = b.parse().ok()?;
    Some(b.duration_since(a).as_secs())
}

/// One row per journaled step: wave, group, step, device, target, result, duration.
pub fn steps(entries: &[Entry]) -> Table {
    let mut t = Table::new(&[
        "wave", "group", "step", "device", "to", "result", "seconds", "detail",
    ]);
    let mut starts: Vec<&Entry> = Vec::new();
    for e in entries {
        match e.event {
            Event::Start => starts.push(e),
            Event::Note | Event::Wrote => {}
            Event::Done | Event::Fail | Event::Skip | Event::Interrupted => {
                let start = starts
                    .iter()
                    .rposition(|s| s.key() == e.key())
                    .map(|i| starts.remove(i));
                t.push(vec![
                    Cell::text(e.get("wave").unwrap_or("")),
                    Cell::text(e.get("group").unwrap_or("")),
                    Cell::text(e.get("step").unwrap_or("")),
                    Cell::text(e.get("device").unwrap_or("")),
                    Cell::text(e.get("to").unwrap_or("")),
                    Cell::text(match e.event {
                        Event::Done => "done",
                        Event::Fail => "FAILED",
                        Event::Interrupted => "interrupted",
                        _ => "skipped",
                    }),
                    start
                        .and_then(|s| seconds(&s.at, &e.at))
                        .map_or(Cell::Empty, Cell::Int),
                    Cell::text(e.get("error").or(e.get("detail")).unwrap_or("")),
                ]);
            }
        }
    }
    // Steps started and never ended: interrupted.
    for s in starts {
        t.push(vec![
            Cell::text(s.get("wave").unwrap_or("")),
            Cell::text(s.get("group").unwrap_or("")),
            Cell::text(s.get("step").unwrap_or("")),
            Cell::text(s.get("device").unwrap_or("")),
            Cell::text(s.get("to").unwrap_or("")),
            Cell::text("interrupted"),
            Cell::Empty,
            Cell::text(format!("started {}", s.at)),
        ]);
    }
    t
}

/// The Markdown report.
pub fn markdown(plan: &Plan, plan_path: &str, entries: &[Entry]) -> String {
    let mut md = format!("# Rollout report: {plan_path}\n\n");
    let total: usize = plan.waves.iter().map(|w| w.groups.len()).sum();
    let first = entries.first().map(|e| e.at.as_str()).unwrap_or("");
    let last = entries.last().map(|e| e.at.as_str()).unwrap_or("");
    md.push_str(&format!(
        "Target {}; {} waves, {total} groups; journal from {first} to {last}.\n\n",
        plan.target,
        plan.waves.len()
    ));
    md.push_str("## Devices\n\n| wave | group | device | from | to | hops done | result |\n|---|---|---|---|---|---|---|\n");
    for w in &plan.waves {
        for g in &w.groups {
            for d in &g.devices {
                let mine: Vec<&Entry> = entries
                    .iter()
                    .filter(|e| {
                        e.get("device") == Some(d.name.as_str()) && e.get("step") == Some("hop")
                    })
                    .collect();
                let done = d
                    .path
                    .iter()
                    .filter(|h| {
                        mine.iter().any(|e| {
                            matches!(e.event, Event::Done | Event::Skip)
                                && e.get("to") == Some(h.as_str())
                        })
                    })
                    .count();
                let failed = mine.iter().rev().find(|e| e.event == Event::Fail);
                let interrupted = mine.last().is_some_and(|e| e.event == Event::Interrupted);
                // `lbfleet rollback` took it back after its hops.
                let reverted = entries
                    .iter()
                    .rev()
                    .filter(|e| e.get("device") == Some(d.name.as_str()))
                    .find(|e| {
                        matches!(e.event, Event::Done | Event::Skip)
                            && matches!(e.get("step"), Some("hop" | "revert"))
                    })
                    .is_some_and(|e| e.get("step") == Some("revert"));
                let result = if reverted {
                    format!("rolled back: runs {} again", d.from)
                } else if done == d.path.len() {
                    "upgraded".to_string()
                } else if interrupted {
                    "interrupted (unfinished: `--resume` continues it)".into()
                } else if let Some(f) = failed {
                    format!(
                        "failed: {}",
                        f.get("error").unwrap_or("").replace('|', "\\|")
                    )
                } else if done > 0 {
                    "part-way".into()
                } else {
                    "not started".into()
                };
                md.push_str(&format!(
                    "| {} | {} | {} | {} | {} | {done}/{} | {result} |\n",
                    w.index,
                    group_name(g),
                    d.name,
                    d.from,
                    d.path.last().map(String::as_str).unwrap_or(""),
                    d.path.len()
                ));
            }
        }
    }
    let notes = super::journal::notes(entries);
    if !notes.is_empty() {
        md.push_str("\n## Overrides\n\n");
        for n in notes {
            md.push_str(&format!("- {n}\n"));
        }
    }
    let gate = super::journal::gate_notes(entries);
    if !gate.is_empty() {
        md.push_str("\n## Gate after the canary\n\n");
        for n in gate {
            md.push_str(&format!("- {n}\n"));
        }
    }
    md.push_str("\n## Steps\n\n");
    let table = steps(entries);
    let bytes = crate::report::Format::Markdown
        .exporter()
        .export(&table)
        .unwrap_or_default();
    md.push_str(&String::from_utf8_lossy(&bytes));
    md
}
