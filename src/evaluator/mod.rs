//! The hardware evaluator: from memory and throughput telemetry to leaks, reboot intervals,
//! projected peaks and ranked candidate hardware.
//!
//! [`telemetry`] streams the CSV files, [`analysis`] judges each device (in parallel),
//! [`candidates`] weighs models against each HA group's needs, [`output`] writes the CSV
//! files, the Markdown report and the SVG charts.

pub mod analysis;
pub mod candidates;
pub(crate) mod chart;
pub mod output;
pub mod prometheus;
pub mod stats;
#[doc(hidden)]
pub mod synth;
pub mod telemetry;
pub mod verify;

use std::path::PathBuf;

use analysis::{DeviceResult, Settings};
use candidates::{Candidate, Needs, Verdict};

use crate::HashMap;
use crate::catalog::Catalog;
use crate::error::{InputError, Location};
use crate::inventory::{HaRole, Inventory};

/// Where telemetry comes from: CSV files or a Prometheus server.
#[derive(Clone, Debug)]
pub enum Source {
    /// Telemetry CSV files.
    Csv {
        /// The files, read in order.
        files: Vec<PathBuf>,
        /// Count and skip malformed rows instead of stopping.
        skip_bad_rows: bool,
    },
    /// A Prometheus server, aggregated there (see [`prometheus`]).
    Prometheus(Box<prometheus::Query>),
}

impl Source {
    /// Reads the telemetry, reporting a Prometheus read's progress.
    pub fn load(
        &self,
        progress: &mut dyn FnMut(prometheus::Progress),
    ) -> anyhow::Result<telemetry::Telemetry> {
        Ok(match self {
            Source::Csv {
                files,
                skip_bad_rows,
            } => telemetry::read(files, *skip_bad_rows)?,
            Source::Prometheus(q) => prometheus::read(q, progress)?,
        })
    }

    /// What it is, for reports and schedules: the files, or the server and mapping.
    pub fn describe(&self) -> Vec<String> {
        match self {
            Source::Csv { files, .. } => files.iter().map(|p| p.display().to_string()).collect(),
            Source::Prometheus(q) => vec![format!(
                "{} ({}, {} to {})",
                q.endpoint,
                q.mapping.source,
                jiff::Timestamp::from_second(i64::from(q.start))
                    .map_or_else(|_| q.start.to_string(), |t| t.to_string()),
                jiff::Timestamp::from_second(i64::from(q.end))
                    .map_or_else(|_| q.end.to_string(), |t| t.to_string()),
            )],
        }
    }
}

/// What to evaluate and how.
#[derive(Clone, Debug)]
pub struct Options {
    /// Telemetry CSV files.
    pub telemetry: Vec<PathBuf>,
    /// Count and skip malformed rows instead of stopping.
    pub skip_bad_rows: bool,
    /// Analysis thresholds.
    pub settings: Settings,
    /// Capacity kept free (0.3 = 30 %).
    pub headroom: f64,
    /// The models to weigh.
    pub candidates: Vec<Candidate>,
    /// Where the candidates come from, for the report (a file, or the catalog).
    pub candidates_from: String,
    /// Which needs the candidates speak to.
    pub dims: candidates::Dims,
    /// Journals of `upgrade` and `reboots run`: the reboots lbfleet itself performed.
    pub journals: Vec<PathBuf>,
}

/// The reboots lbfleet performed, per device: from each finished `hop` or `reboot` step of
/// the journals, the time from its start to its end (Unix seconds).
pub fn journal_reboots(paths: &[PathBuf]) -> Result<HashMap<String, Vec<(u32, u32)>>, InputError> {
    use crate::executor::journal::{Event, Journal};
    let mut out: HashMap<String, Vec<(u32, u32)>> = HashMap::default();
    for path in paths {
        let name = path.display().to_string();
        let entries = Journal::read(path)
            .map_err(|e| InputError::new(Location::file(&name), format!("cannot read: {e}")))?;
        let text_len = std::fs::metadata(path).map_or(0, |m| m.len());
        if entries.is_empty() && text_len > 0 {
            return Err(InputError::new(
                Location::file(&name),
                "not an lbfleet journal (no line such as `2026-11-25T15:44:01Z start wave=1 group=g step=hop device=lb1`): give the PLAN.journal that upgrade or reboots run wrote",
            ));
        }
        let mut started: HashMap<String, u32> = HashMap::default();
        for e in &entries {
            if !matches!(e.get("step"), Some("hop" | "reboot")) {
                continue;
            }
            let Some(device) = e.get("device") else {
                continue;
            };
            let Ok(at) = e.at.parse::<jiff::Timestamp>() else {
                continue;
            };
            let at = u32::try_from(at.as_second()).unwrap_or(0);
            match e.event {
                Event::Start => {
                    started.insert(e.key(), at);
                }
                Event::Done => {
                    let from = started.remove(&e.key()).unwrap_or(at);
                    out.entry(device.to_string()).or_default().push((from, at));
                }
                _ => {}
            }
        }
    }
    Ok(out)
}

/// Where a device stands in the inventory.
#[derive(Clone, Debug, PartialEq)]
pub struct Placement {
    /// Site.
    pub site: String,
    /// Vendor id.
    pub vendor: String,
    /// Model id.
    pub model: String,
    /// HA group.
    pub ha_group: Option<String>,
    /// HA role.
    pub role: HaRole,
    /// When the hardware's software support ends (the earliest date the vendor gives), where
    /// the catalog knows it.
    pub end_of_software_support: Option<jiff::civil::Date>,
}

/// An HA group or standalone device with its needs and the candidates' verdicts.
#[derive(Clone, Debug)]
pub struct Unit {
    /// HA group name, or the device name.
    pub name: String,
    /// Site, when known.
    pub site: Option<String>,
    /// Indices into [`Evaluation::devices`].
    pub members: Vec<usize>,
    /// What it needs.
    pub needs: Needs,
    /// The current hardware as a candidate, with its verdict.
    pub current: Option<(Candidate, Verdict)>,
    /// One verdict per candidate, in candidate order.
    pub verdicts: Vec<Verdict>,
    /// Feasible candidates, best first.
    pub ranked: Vec<usize>,
    /// The need the candidates meet with the least room (see [`candidates::binding`]).
    pub binding: Option<&'static str>,
}

/// The whole evaluation.
#[derive(Debug)]
pub struct Evaluation {
    /// One result per device, in order of first appearance in the telemetry.
    pub devices: Vec<DeviceResult>,
    /// Each device's place in the inventory (`None`: not in it).
    pub placement: Vec<Option<Placement>>,
    /// Data rows read.
    pub rows: u64,
    /// Skipped bad rows per file: (file, count, first rows).
    pub bad_rows: Vec<(String, u64, Vec<telemetry::BadRow>)>,
    /// Metric columns present.
    pub columns: Vec<String>,
    /// Units, in inventory order, then devices not in the inventory.
    pub units: Vec<Unit>,
    /// The candidates weighed.
    pub candidates: Vec<Candidate>,
    /// The options used.
    pub settings: Settings,
    /// Headroom used.
    pub headroom: f64,
    /// Where the candidates come from.
    pub candidates_from: String,
    /// The journals read and how many reboots each gave.
    pub journals: Vec<(String, usize)>,
}

/// Runs the evaluation on the telemetry CSV files of `opts`.
pub fn evaluate(
    opts: &Options,
    inventory: Option<&Inventory>,
    catalog: &Catalog,
) -> Result<Evaluation, InputError> {
    let t = telemetry::read(&opts.telemetry, opts.skip_bad_rows)?;
    evaluate_with(opts, t, inventory, catalog)
}

/// Runs the evaluation on telemetry already read (from any [`Source`]); `opts.telemetry` and
/// `opts.skip_bad_rows` are not used.
pub fn evaluate_with(
    opts: &Options,
    t: telemetry::Telemetry,
    inventory: Option<&Inventory>,
    catalog: &Catalog,
) -> Result<Evaluation, InputError> {
    // Each journal read once: its reboots per device, and how many for the report.
    let mut performed: HashMap<String, Vec<(u32, u32)>> = HashMap::default();
    let mut journals: Vec<(String, usize)> = Vec::new();
    for p in &opts.journals {
        let one = journal_reboots(std::slice::from_ref(p))?;
        journals.push((p.display().to_string(), one.values().map(Vec::len).sum()));
        for (device, steps) in one {
            performed.entry(device).or_default().extend(steps);
        }
    }
    let settings = opts.settings;
    let mut datas = t.devices;
    for d in &mut datas {
        d.reboot_windows = performed.remove(&d.name).unwrap_or_default();
    }
    let n = datas.len();
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(n.max(1));
    // Each thread takes the next device not yet taken: the costly ones (leaks get the O(n²)
    // Theil–Sen) do not pile up on one thread.
    let queue: Vec<std::sync::Mutex<Option<telemetry::DeviceData>>> = datas
        .into_iter()
        .map(|d| std::sync::Mutex::new(Some(d)))
        .collect();
    let next = std::sync::atomic::AtomicUsize::new(0);
    let mut results: Vec<Option<DeviceResult>> = (0..n).map(|_| None).collect();
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(slot) = queue.get(i) else {
                            break done;
                        };
                        let d = slot
                            .lock()
                            .expect("no panics while holding")
                            .take()
                            .expect("each device is taken once");
                        done.push((i, analysis::analyse(d, &settings)));
                    }
                })
            })
            .collect();
        for h in handles {
            for (i, r) in h.join().expect("analysis does not panic") {
                results[i] = Some(r);
            }
        }
    });
    let devices: Vec<DeviceResult> = results
        .into_iter()
        .map(|r| r.expect("every device analysed"))
        .collect();

    let by_name: crate::HashMap<&str, &crate::inventory::Device> = inventory
        .map(|inv| inv.devices.iter().map(|d| (d.name.as_str(), d)).collect())
        .unwrap_or_default();
    let placement: Vec<Option<Placement>> = devices
        .iter()
        .map(|r| {
            let d = by_name.get(r.name.as_str())?;
            Some(Placement {
                site: d.site.clone(),
                vendor: d.vendor.id().into(),
                model: d.model.clone(),
                ha_group: d.ha_group.clone(),
                role: d.ha_role,
                end_of_software_support: d
                    .hardware(catalog)
                    .and_then(|m| m.end_of_software_support),
            })
        })
        .collect();

    // Units: HA groups and standalone devices, in order of first member.
    let mut units: Vec<Unit> = Vec::new();
    for (i, p) in placement.iter().enumerate() {
        let name = match p.as_ref().and_then(|p| p.ha_group.clone()) {
            Some(g) => g,
            None => devices[i].name.clone(),
        };
        match units.iter_mut().find(|u| u.name == name && p.is_some()) {
            Some(u) => u.members.push(i),
            None => units.push(Unit {
                name,
                site: p.as_ref().map(|p| p.site.clone()),
                members: vec![i],
                needs: Needs::default(),
                current: None,
                verdicts: Vec::new(),
                ranked: Vec::new(),
                binding: None,
            }),
        }
    }
    let s = &settings;
    for u in &mut units {
        let sum = |f: &dyn Fn(&DeviceResult) -> Option<f64>| -> Option<f64> {
            u.members
                .iter()
                .filter_map(|&i| f(&devices[i]))
                .reduce(|a, b| a + b)
        };
        let max = |f: &dyn Fn(&DeviceResult) -> Option<f64>| -> Option<f64> {
            u.members
                .iter()
                .filter_map(|&i| f(&devices[i]))
                .reduce(f64::max)
        };
        let leaking = |d: &DeviceResult| d.memory.as_ref().filter(|m| m.leak).and_then(|m| m.line);
        u.needs = Needs {
            throughput_bps: sum(&|d| d.throughput.as_ref().map(|t| t.projected_peak)),
            ssl_tps: sum(&|d| d.peak_ssl_tps),
            connections: sum(&|d| d.peak_connections),
            leak_bytes_per_day: max(&|d| leaking(d).map(|l| l.ci_high)),
            baseline_bytes: max(&|d| leaking(d).map(|l| l.intercept)),
        };
        let judged = opts.dims.filter(&u.needs);
        u.verdicts = opts
            .candidates
            .iter()
            .map(|c| {
                candidates::judge(
                    c,
                    &judged,
                    opts.headroom,
                    s.threshold,
                    s.current_interval_days,
                )
            })
            .collect();
        u.binding = candidates::binding(&u.verdicts);
        u.ranked = candidates::rank(&opts.candidates, &u.verdicts);
        let current = u.members.iter().find_map(|&i| placement[i].as_ref());
        u.current = current.and_then(|p| {
            let vendor: crate::version::Vendor = p.vendor.parse().ok()?;
            // A model the catalog does not know is still the current box: its figures are
            // unknown unless the candidates file gives them.
            let m = catalog.model(vendor, &p.model);
            let id = m.map_or(p.model.as_str(), |m| m.id.as_str());
            // The candidates file's figures for the same model are the operator's datasheet:
            // the current box is judged on them too.
            let listed = opts.candidates.iter().find(|c| {
                c.vendor.eq_ignore_ascii_case(vendor.id()) && c.model.eq_ignore_ascii_case(id)
            });
            let c = listed.cloned().unwrap_or_else(|| Candidate {
                vendor: p.vendor.clone(),
                model: id.to_string(),
                throughput_gbps: m.and_then(|m| m.l4_throughput_gbps),
                memory_gb: m.and_then(|m| m.memory_gb),
                ssl_tps: m.and_then(|m| m.ssl_tps_rsa2k),
                connections: m.and_then(|m| m.max_concurrent_conns),
                price: None,
                currency: None,
                power_w: m.and_then(|m| m.power_w),
            });
            let v = candidates::judge(
                &c,
                &judged,
                opts.headroom,
                s.threshold,
                s.current_interval_days,
            );
            Some((c, v))
        });
    }
    Ok(Evaluation {
        devices,
        placement,
        rows: t.rows,
        bad_rows: t.bad_rows,
        columns: t.columns,
        units,
        candidates: opts.candidates.clone(),
        settings,
        headroom: opts.headroom,
        candidates_from: opts.candidates_from.clone(),
        journals,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_journals_give_each_device_the_time_of_its_finished_hops_and_reboots() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("plan.journal");
        std::fs::write(
            &p,
            "2026-10-08T02:00:00Z start wave=1 group=g step=hop device=lb1 to=17.5.1\n\
             2026-10-08T02:00:00Z start wave=1 group=g step=precheck device=lb2\n\
             2026-10-08T02:30:00Z done wave=1 group=g step=hop device=lb1 to=17.5.1\n\
             2026-10-08T03:00:00Z start wave=1 group=g step=hop device=lb2 to=17.5.1\n\
             2026-10-08T03:10:00Z fail wave=1 group=g step=hop device=lb2 to=17.5.1 error=\"no\"\n\
             2026-10-15T02:00:00Z start wave=2 group=g step=reboot device=lb2\n\
             2026-10-15T02:05:00Z done wave=2 group=g step=reboot device=lb2\n",
        )
        .unwrap();
        let r = journal_reboots(&[p]).unwrap();
        let t = |s: &str| s.parse::<jiff::Timestamp>().unwrap().as_second() as u32;
        assert_eq!(
            r["lb1"],
            [(t("2026-10-08T02:00:00Z"), t("2026-10-08T02:30:00Z"))]
        );
        // The failed hop rebooted nothing lbfleet can vouch for; the mitigation reboot did.
        assert_eq!(
            r["lb2"],
            [(t("2026-10-15T02:00:00Z"), t("2026-10-15T02:05:00Z"))]
        );
        let e = journal_reboots(&[dir.path().join("missing.journal")]).unwrap_err();
        assert!(e.to_string().contains("missing.journal"), "{e}");
        // Something else given as a journal is refused, not read as "no reboots".
        let other = dir.path().join("plan.json");
        std::fs::write(&other, "{\"schema\": \"lbfleet.plan/1\"}\n").unwrap();
        let e = journal_reboots(&[other]).unwrap_err().to_string();
        assert!(
            e.contains("plan.json") && e.contains("not an lbfleet journal"),
            "{e}"
        );
        // An empty journal (a run that did nothing yet) is fine.
        let empty = dir.path().join("empty.journal");
        std::fs::write(&empty, "").unwrap();
        assert!(journal_reboots(&[empty]).unwrap().is_empty());
    }
}
