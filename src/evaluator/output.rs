//! What the evaluation writes: `devices.csv`, `candidates.csv`, `report.md` and SVG charts in
//! one folder, each file atomically.

use std::path::Path;

use super::analysis::{self, Basis};
use super::candidates::fmt;
use super::{Evaluation, chart};
use crate::report::{Cell, Exporter, Table};

/// The columns of `devices.csv`; the first twelve are the contract.
pub const DEVICE_COLUMNS: [&str; 33] = [
    "device",
    "samples",
    "leak",
    "leak_bytes_per_day",
    "leak_ci_low",
    "leak_ci_high",
    "days_to_exhaustion",
    "reboot_interval_days",
    "throughput_p95_bps",
    "throughput_p99_bps",
    "throughput_max_bps",
    "projected_peak_bps",
    "in_inventory",
    "site",
    "ha_group",
    "model",
    "duplicates",
    "reboots",
    "reboots_from",
    "mk_p",
    "cycles_judged",
    "mem_total_bytes",
    "mem_level_bytes",
    "days_to_threshold",
    "weekly_reboot_enough",
    "throughput_p50_bps",
    "daily_peak_trend_bps_per_day",
    "peak_connections",
    "peak_ssl_tps",
    "peak_cpu_pct",
    "projection_basis",
    "projection_trend_days",
    "end_of_software_support",
];

fn round(x: f64) -> Cell {
    Cell::Float((x * 1000.0).round() / 1000.0)
}

/// One row per device.
pub fn devices(e: &Evaluation) -> Table {
    let mut t = Table::new(&DEVICE_COLUMNS);
    for (d, p) in e.devices.iter().zip(&e.placement) {
        let m = d.memory.as_ref();
        let line = m.and_then(|m| m.line);
        let leak = m.map(|m| m.leak);
        let leak_line = line.filter(|_| leak == Some(true));
        let th = d.throughput.as_ref();
        let opt = |v: Option<f64>| v.map_or(Cell::Empty, round);
        t.push(vec![
            Cell::text(d.name.clone()),
            Cell::Int(d.samples as i64),
            leak.map_or(Cell::Empty, Cell::Bool),
            opt(leak_line.map(|l| l.slope)),
            opt(leak_line.map(|l| l.ci_low)),
            opt(leak_line.map(|l| l.ci_high)),
            opt(m.and_then(|m| m.days_to_exhaustion)),
            m.and_then(|m| m.reboot_interval_days)
                .map_or(Cell::Empty, |n| Cell::Int(i64::from(n))),
            opt(th.map(|t| t.p95)),
            opt(th.map(|t| t.p99)),
            opt(th.map(|t| t.max)),
            opt(th.map(|t| t.projected_peak)),
            Cell::Bool(p.is_some()),
            Cell::text(p.as_ref().map(|p| p.site.clone()).unwrap_or_default()),
            Cell::text(
                p.as_ref()
                    .and_then(|p| p.ha_group.clone())
                    .unwrap_or_default(),
            ),
            Cell::text(p.as_ref().map(|p| p.model.clone()).unwrap_or_default()),
            Cell::Int(d.duplicates as i64),
            m.map_or(Cell::Empty, |m| Cell::Int(m.reboots.len() as i64)),
            Cell::text(m.map_or("", |m| m.reboots_from.as_str())),
            opt(m.and_then(|m| m.mk).map(|mk| mk.p)),
            m.map_or(Cell::Empty, |m| Cell::Int(m.cycles_used as i64)),
            opt(m.and_then(|m| m.total)),
            opt(m.and_then(|m| m.level)),
            opt(m.and_then(|m| m.days_to_threshold)),
            m.and_then(|m| m.reboot_interval_days)
                .map_or(Cell::Empty, |n| {
                    Cell::Bool(f64::from(n) >= e.settings.current_interval_days)
                }),
            opt(th.map(|t| t.p50)),
            opt(th.and_then(|t| t.trend).map(|l| l.slope)),
            opt(d.peak_connections),
            opt(d.peak_ssl_tps),
            opt(d.peak_cpu_pct),
            Cell::text(th.map_or("", |t| t.basis.as_str())),
            opt(th.map(|t| t.trend_days)),
            Cell::text(
                p.as_ref()
                    .and_then(|p| p.end_of_software_support)
                    .map(|d| d.to_string())
                    .unwrap_or_default(),
            ),
        ]);
    }
    t
}

/// The essentials per device, for a terminal: the leak in MiB a day (GiB in the report), the cycles it was judged
/// on, days to exhaustion, the recommended reboot interval, p95 and projected peak in Gbit/s
/// and what the projection rests on.
pub fn summary(e: &Evaluation) -> Table {
    let mut t = Table::new(&[
        "device",
        "leak_mib_per_day",
        "cycles",
        "days_to_exhaustion",
        "reboot_every_days",
        "p95_gbps",
        "projected_gbps",
        "basis",
    ]);
    let one = |x: f64| Cell::Float((x * 10.0).round() / 10.0);
    let gbps = |x: f64| Cell::Float((x / 1e7).round() / 100.0);
    for d in &e.devices {
        let m = d.memory.as_ref();
        let th = d.throughput.as_ref();
        t.push(vec![
            Cell::text(d.name.clone()),
            m.filter(|m| m.leak)
                .and_then(|m| m.line)
                .map_or(Cell::Empty, |l| one(l.slope / 1048576.0)),
            m.map_or(Cell::Empty, |m| Cell::Int(m.cycles_used as i64)),
            m.and_then(|m| m.days_to_exhaustion)
                .map_or(Cell::Empty, one),
            m.and_then(|m| m.reboot_interval_days)
                .map_or(Cell::Empty, |n| Cell::Int(i64::from(n))),
            th.map_or(Cell::Empty, |t| gbps(t.p95)),
            th.map_or(Cell::Empty, |t| gbps(t.projected_peak)),
            Cell::text(th.map_or("", |t| t.basis.as_str())),
        ]);
    }
    t
}

/// A candidate's price per unit of the unit's binding need (with headroom).
fn cost_per_need(e: &Evaluation, u: &super::Unit, c: &super::Candidate) -> Option<f64> {
    let s = &e.settings;
    let need = super::candidates::needed(
        &u.needs,
        u.binding?,
        e.headroom,
        s.threshold,
        s.current_interval_days,
    )?;
    c.price.map(|p| p / need)
}

/// A unit's needs in words, with headroom: throughput, SSL TPS and connections where the
/// telemetry has them, and memory for a leak over the reboot interval.
fn needs(n: &super::Needs, e: &Evaluation) -> String {
    let scale = 1.0 / (1.0 - e.headroom);
    let mut out: Vec<String> = Vec::new();
    if let Some(t) = n.throughput_bps {
        out.push(format!("{} Gbit/s", fmt(t * scale / 1e9)));
    }
    if let Some(x) = n.ssl_tps {
        out.push(format!("{} SSL TPS", fmt(x * scale)));
    }
    if let Some(x) = n.connections {
        out.push(format!("{} connections", fmt(x * scale)));
    }
    if let Some(rate) = n.leak_bytes_per_day {
        let gib = 1024.0 * 1024.0 * 1024.0;
        out.push(format!(
            "memory for {} GiB/day over {} days from {} GiB",
            fmt(rate / gib),
            fmt(e.settings.current_interval_days),
            fmt(n.baseline_bytes.unwrap_or(0.0) / gib)
        ));
    }
    out.join("; ")
}

/// How many candidates could not be judged for some unit, and which figures they lack.
fn unjudged(e: &Evaluation) -> String {
    let n = e.candidates.len();
    let mut lacking: Vec<(&str, usize)> = Vec::new();
    let mut models = 0;
    for i in 0..n {
        let mut missing: Vec<&str> = Vec::new();
        for u in &e.units {
            for what in &u.verdicts[i].unknown {
                if !missing.contains(what) {
                    missing.push(what);
                }
            }
        }
        if !missing.is_empty() {
            models += 1;
        }
        for what in missing {
            match lacking.iter_mut().find(|l| l.0 == what) {
                Some(l) => l.1 += 1,
                None => lacking.push((what, 1)),
            }
        }
    }
    if models == 0 {
        return format!("All {n} candidates were judged on known figures.");
    }
    let why: Vec<String> = lacking
        .iter()
        .map(|(what, k)| format!("{k} lack {what}"))
        .collect();
    format!(
        "{models} of {n} candidates could not be judged for at least one unit: {} (give datasheet figures with `--candidates`).",
        why.join(", ")
    )
}

/// The columns of `candidates.csv`.
pub const CANDIDATE_COLUMNS: [&str; 24] = [
    "unit",
    "site",
    "kind",
    "rank",
    "vendor",
    "model",
    "feasible",
    "throughput_gbps",
    "needed_gbps",
    "memory_gb",
    "memory_days_after_reboot",
    "ssl_tps",
    "connections",
    "price",
    "currency",
    "cost_per_gbps",
    "binding_need",
    "cost_per_binding_need_unit",
    "power_w",
    "throughput_margin_pct",
    "ssl_margin_pct",
    "connections_margin_pct",
    "memory_margin_pct",
    "why",
];

/// Per unit: the current hardware, then every candidate (feasible ranked first, then
/// unknown, then infeasible).
pub fn candidates(e: &Evaluation) -> Table {
    candidates_of(e, &e.units)
}

/// [`candidates`] for some of the units.
fn candidates_of(e: &Evaluation, units: &[super::Unit]) -> Table {
    let mut t = Table::new(&CANDIDATE_COLUMNS);
    let needed = |u: &super::Unit| u.needs.throughput_bps.map(|n| n / 1e9 / (1.0 - e.headroom));
    for u in units {
        let row = |kind: &str, rank: Option<usize>, c: &super::Candidate, v: &super::Verdict| {
            let mut why: Vec<String> = v.shortfalls.clone();
            if !v.unknown.is_empty() {
                why.push(format!("unknown: {}", v.unknown.join(", ")));
            }
            let opt = |x: Option<f64>| x.map_or(Cell::Empty, round);
            vec![
                Cell::text(u.name.clone()),
                Cell::text(u.site.clone().unwrap_or_default()),
                Cell::text(kind),
                rank.map_or(Cell::Empty, |r| Cell::Int(r as i64 + 1)),
                Cell::text(c.vendor.clone()),
                Cell::text(c.model.clone()),
                v.feasible.map_or(Cell::Empty, Cell::Bool),
                opt(c.throughput_gbps),
                opt(needed(u)),
                opt(c.memory_gb),
                opt(v.memory_days),
                opt(c.ssl_tps),
                opt(c.connections),
                opt(c.price),
                Cell::text(c.currency.clone().unwrap_or_default()),
                opt(v.cost_per_gbps),
                Cell::text(u.binding.unwrap_or("")),
                opt(cost_per_need(e, u, c)),
                opt(c.power_w),
                opt(v.margin("throughput")),
                opt(v.margin("SSL TPS")),
                opt(v.margin("connections")),
                opt(v.margin("memory")),
                Cell::text(why.join("; ")),
            ]
        };
        if let Some((c, v)) = &u.current {
            t.push(row("current", None, c, v));
        }
        for (r, &i) in u.ranked.iter().enumerate() {
            t.push(row("candidate", Some(r), &e.candidates[i], &u.verdicts[i]));
        }
        for want in [None, Some(false)] {
            for (i, c) in e.candidates.iter().enumerate() {
                if u.verdicts[i].feasible == want {
                    t.push(row("candidate", None, c, &u.verdicts[i]));
                }
            }
        }
    }
    t
}

fn gib(x: f64) -> String {
    format!("{} GiB", fmt(x / 1024.0 / 1024.0 / 1024.0))
}

/// The Markdown report.
pub fn report(e: &Evaluation, charts: &[(String, String)]) -> String {
    let s = &e.settings;
    let mut md = String::from("# Hardware evaluation\n\n");
    let leaking: Vec<usize> = (0..e.devices.len())
        .filter(|&i| e.devices[i].memory.as_ref().is_some_and(|m| m.leak))
        .collect();
    md.push_str(&format!(
        "{} devices, {} telemetry rows ({}); {} leaking. Threshold {:.0} % of memory, safety factor {}, headroom {:.0} %, horizon {} days; today's reboot interval {} days.\n\n",
        e.devices.len(),
        e.rows,
        e.columns.join(", "),
        leaking.len(),
        s.threshold * 100.0,
        fmt(s.safety_factor),
        e.headroom * 100.0,
        fmt(s.horizon_days),
        fmt(s.current_interval_days),
    ));
    md.push_str(&format!(
        "Candidates: {} ({} models).",
        e.candidates_from,
        e.candidates.len()
    ));
    if e.journals.is_empty() {
        md.push_str(" No journal given: reboots come from uptime or from memory alone.\n\n");
    } else {
        let read: Vec<String> = e
            .journals
            .iter()
            .map(|(f, n)| format!("{f} ({n} reboots)"))
            .collect();
        md.push_str(&format!(
            " Reboots lbfleet performed, from its journals: {}.\n\n",
            read.join(", ")
        ));
    }
    let missing: Vec<&str> = e
        .devices
        .iter()
        .zip(&e.placement)
        .filter(|(_, p)| p.is_none())
        .map(|(d, _)| d.name.as_str())
        .collect();
    if !missing.is_empty() {
        md.push_str(&format!(
            "Not in the inventory (analysed anyway, no site or current model): {}.\n\n",
            missing.join(", ")
        ));
    }
    for (file, n, first) in &e.bad_rows {
        let lines: Vec<String> = first.iter().map(|b| b.line.to_string()).collect();
        md.push_str(&format!(
            "Skipped {n} bad rows in {file} (first at lines {}).\n\n",
            lines.join(", ")
        ));
    }
    md.push_str("## Memory leaks\n\n");
    if leaking.is_empty() {
        md.push_str("No device leaks memory by the criteria below.\n\n");
    } else {
        md.push_str("| device | model | leak/day (95 % interval) | level | days to threshold | days to exhaustion | reboot every | weekly enough? |\n|---|---|---|---|---|---|---|---|\n");
        for &i in &leaking {
            let d = &e.devices[i];
            let m = d.memory.as_ref().expect("leaking devices have memory");
            let l = m.line.expect("a leak has a line");
            let every = m.reboot_interval_days;
            md.push_str(&format!(
                "| {} | {} | {} ({} – {}) | {} | {} | {} | {} | {} |\n",
                d.name,
                e.placement[i].as_ref().map_or("", |p| p.model.as_str()),
                gib(l.slope),
                gib(l.ci_low),
                gib(l.ci_high),
                m.level.map(gib).unwrap_or_default(),
                m.days_to_threshold.map(fmt).unwrap_or_default(),
                m.days_to_exhaustion.map(fmt).unwrap_or_default(),
                every
                    .map(|n| format!("{n} days"))
                    .unwrap_or_else(|| "unknown (no total)".into()),
                match every {
                    Some(n) if f64::from(n) >= s.current_interval_days => "yes",
                    Some(_) => "**no**",
                    None => "",
                }
            ));
        }
        md.push('\n');
    }
    md.push_str(&format!(
        "A device leaks when the hourly means of all its cycles between reboots (each with {}+ hourly points and a day), taken together, trend upward with Mann–Kendall p < {} both as they are and with Hamed–Rao's correction for autocorrelation, Sen's 95 % interval of the pooled slope excludes zero, and at that slope memory would fill within {} days. Reboots are steps down that stay down, at least {} times the series' own step noise and {} % of total memory (exact from `uptime_s` when the telemetry has it). Days and the reboot interval use the interval's upper bound; days to the threshold and to exhaustion count from the latest level, the reboot interval from a fresh reboot (the post-reboot baseline), so a device can be days from exhaustion and still be fine with its next weekly reboot.\n\n",
        s.min_hours,
        s.alpha,
        fmt(s.leak_horizon_days),
        fmt(s.reboot_noise),
        fmt(s.reboot_drop * 100.0)
    ));
    md.push_str("## Throughput\n\n| device | p50 | p95 | p99 | max | daily-peak trend / day | projected peak | basis |\n|---|---|---|---|---|---|---|---|\n");
    let gb = |x: f64| format!("{} Gbit/s", fmt(x / 1e9));
    for d in &e.devices {
        if let Some(t) = &d.throughput {
            md.push_str(&format!(
                "| {} | {} | {} | {} | {} | {} | {} | {} |\n",
                d.name,
                gb(t.p50),
                gb(t.p95),
                gb(t.p99),
                gb(t.max),
                t.trend
                    .map(|l| format!("{} Mbit/s", fmt(l.slope / 1e6)))
                    .unwrap_or_default(),
                gb(t.projected_peak),
                match t.basis {
                    Basis::Trend | Basis::TrendGrowth =>
                        format!("{} ({} days)", t.basis.as_str(), fmt(t.trend_days)),
                    b => b.as_str().to_string(),
                }
            ));
        }
    }
    md.push_str(&format!("\nQuantiles interpolate linearly between closest ranks (type 7, as numpy and Prometheus). The projected peak rests on a trend only when the daily peaks (7+ days) rise significantly (Mann–Kendall p < {alpha}), and the Theil–Sen trend is extrapolated at most {ext} times the days it was seen over (basis `trend`, with the days); beyond that, or without a significant trend, it grows the peak at the `--growth` rate when one is given (basis `trend+growth` or `growth`; {growth}), else it is the highest daily peak (`observed`). It is never below the highest daily peak.\n\n## Hardware\n\nPer HA group (N+1: one unit carries the pair's summed projected peak) or standalone device.\n\n| unit | site | needs (with headroom) | current | best feasible candidates |\n|---|---|---|---|---|\n",
        alpha = s.alpha,
        ext = fmt(analysis::MAX_EXTRAPOLATION),
        growth = s.growth_per_year.map_or("none given here".to_string(), |g| format!("{} % a year here", fmt(g * 100.0))),
    ));
    for u in &e.units {
        let cur = u.current.as_ref().map_or(String::new(), |(c, v)| {
            format!("{}: {}", c.model, v.describe())
        });
        let best: Vec<String> = u
            .ranked
            .iter()
            .take(3)
            .map(|&i| {
                let c = &e.candidates[i];
                let cur = c.currency.as_deref().unwrap_or("");
                let price = c.price.map_or(String::new(), |p| {
                    let per =
                        cost_per_need(e, u, c)
                            .zip(u.binding)
                            .map_or(String::new(), |(k, what)| {
                                format!(
                                    ", {} {cur} per {} needed",
                                    fmt(k),
                                    super::candidates::unit_of(what)
                                )
                            });
                    format!(", {} {cur}{per}", fmt(p)).replace("  ", " ")
                });
                format!(
                    "{} {} {}{price}",
                    c.vendor,
                    c.model,
                    u.verdicts[i].describe()
                )
            })
            .collect();
        md.push_str(&format!(
            "| {} | {} | {} | {} | {} |\n",
            u.name,
            u.site.clone().unwrap_or_default(),
            match u.binding {
                Some(b) => format!("{}; binding: {b}", needs(&u.needs, e)),
                None => needs(&u.needs, e),
            },
            cur,
            if best.is_empty() {
                "none feasible on known figures".to_string()
            } else {
                best.join("; ")
            }
        ));
    }
    md.push_str(&end_of_software_support(e));
    md.push_str(&format!(
        "\n{}\n\nFigures the catalog or candidate file does not give are unknown, never guessed: a candidate with an unknown figure a unit needs is never feasible. Margins are how far a figure exceeds the need with headroom (memory: the days after a reboot beyond the interval). Every candidate, its margins and shortfalls are in `candidates.csv`.\n",
        unjudged(e)
    ));
    if !charts.is_empty() {
        md.push_str("\n## Charts\n\n");
        for (file, title) in charts {
            md.push_str(&format!("![{title}]({file})\n\n"));
        }
    }
    md
}

/// One line: when the software support of each current model ends, from the catalog.
fn end_of_software_support(e: &Evaluation) -> String {
    let mut known = std::collections::BTreeMap::new();
    let mut unknown = std::collections::BTreeSet::new();
    for p in e.placement.iter().flatten() {
        match p.end_of_software_support {
            Some(d) => {
                known.insert(p.model.as_str(), d);
            }
            None => {
                unknown.insert(p.model.as_str());
            }
        }
    }
    if known.is_empty() && unknown.is_empty() {
        return String::new();
    }
    let mut line = String::from(
        "\nEnd of software support of the current hardware (the earliest date the vendor gives; `end_of_software_support` in `devices.csv`): ",
    );
    let mut parts: Vec<String> = known.iter().map(|(m, d)| format!("{m} {d}")).collect();
    if !unknown.is_empty() {
        let names: Vec<&str> = unknown.into_iter().collect();
        parts.push(format!("no date known for {}", names.join(", ")));
    }
    line.push_str(&parts.join("; "));
    line.push_str(".\n");
    line
}

/// Writes everything into `dir`, each file atomically; returns the files written.
pub fn write_all(e: &Evaluation, dir: &Path) -> anyhow::Result<Vec<String>> {
    crate::fsutil::create_out_dir(dir)?;
    let csv = crate::report::CsvExporter;
    let put = |name: &str, bytes: &[u8]| crate::fsutil::write_atomic(&dir.join(name), bytes);
    let (names, charts) = std::thread::scope(|scope| -> anyhow::Result<_> {
        // The candidate table (the largest file) is formatted meanwhile, each half of the units
        // on a thread of its own (the second half's header line left out).
        let (first, second) = e.units.split_at(e.units.len() / 2);
        let first = scope.spawn(|| csv.export(&candidates_of(e, first)));
        let second = scope.spawn(|| csv.export(&candidates_of(e, second)));
        let mut files = vec![("devices.csv".to_string(), csv.export(&devices(e))?)];
        let mut charts = Vec::new();
        let leaking = e
            .devices
            .iter()
            .filter(|d| d.memory.as_ref().is_some_and(|m| m.leak));
        for d in leaking {
            if let Some(svg) = chart::memory(d, e.settings.threshold) {
                let file = format!("memory-{}.svg", safe(&d.name));
                charts.push((file.clone(), format!("{}: memory", d.name)));
                files.push((file, svg.into_bytes()));
            }
        }
        for u in &e.units {
            if let Some(svg) = chart::capacity(e, u) {
                let file = format!("capacity-{}.svg", safe(&u.name));
                charts.push((file.clone(), format!("{}: capacity", u.name)));
                files.push((file, svg.into_bytes()));
            }
        }
        // A few writers: each file is synced to disk, which waits on the disk, not the CPU.
        let next = std::sync::atomic::AtomicUsize::new(0);
        std::thread::scope(|writers| {
            let handles: Vec<_> = (0..4)
                .map(|_| {
                    writers.spawn(|| -> anyhow::Result<()> {
                        loop {
                            let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                            let Some((name, bytes)) = files.get(i) else {
                                return Ok(());
                            };
                            put(name, bytes)?;
                        }
                    })
                })
                .collect();
            handles
                .into_iter()
                .try_for_each(|h| h.join().expect("writing does not panic"))
        })?;
        let mut table = first.join().expect("formatting does not panic")?;
        let rest = second.join().expect("formatting does not panic")?;
        let header = rest
            .iter()
            .position(|c| *c == b'\n')
            .map_or(rest.len(), |p| p + 1);
        table.extend_from_slice(&rest[header..]);
        put("candidates.csv", &table)?;
        let names: Vec<String> = files.into_iter().map(|(name, _)| name).collect();
        Ok((names, charts))
    })?;
    put("report.md", report(e, &charts).as_bytes())?;
    let mut written = names;
    written.insert(1, "candidates.csv".to_string());
    written.push("report.md".to_string());
    Ok(written)
}

/// A file-name-safe version of a device or group name.
pub(crate) fn safe(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect()
}
