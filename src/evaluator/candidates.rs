//! Candidate hardware against each unit's projected needs.
//!
//! A **unit** is an HA group (or a standalone device). Its needs, from the telemetry of its
//! members: throughput = the sum of the members' projected peaks (N+1: one box must carry the
//! pair when the other is down; summing peaks is the conservative reading), SSL TPS and
//! concurrent connections likewise from their observed daily peaks; memory = the fastest
//! member's conservative leak rate and the highest post-reboot baseline.
//!
//! A candidate is **feasible** when every known figure covers the need divided by
//! (1 − headroom), and, for a leaking unit, its memory lasts the required reboot interval:
//! (threshold × memory − baseline) / leak rate ≥ interval. A figure the candidate file does
//! not give makes the verdict **unknown** for that need, never a guess. Feasible candidates are
//! ranked cheapest first when every one has a price (the price per unit of the unit's **binding
//! need**, the need the candidates meet with the least room, orders them the same way and is
//! reported), else by the smallest sufficient throughput; infeasible ones list their
//! shortfalls.

use std::path::Path;

use crate::catalog::Catalog;
use crate::csvio::CsvFile;
use crate::error::InputError;
use crate::version::Vendor;

/// One candidate model.
#[derive(Clone, Debug, PartialEq)]
pub struct Candidate {
    /// Vendor.
    pub vendor: String,
    /// Model id.
    pub model: String,
    /// L4 throughput, Gbit/s.
    pub throughput_gbps: Option<f64>,
    /// Memory, GB (GiB as vendors publish them).
    pub memory_gb: Option<f64>,
    /// SSL TPS (RSA 2048).
    pub ssl_tps: Option<f64>,
    /// Concurrent connections.
    pub connections: Option<f64>,
    /// Price in any currency (the same for all candidates).
    pub price: Option<f64>,
    /// The price's currency (`currency` column), the same for every priced candidate.
    pub currency: Option<String>,
    /// Power draw, W.
    pub power_w: Option<f64>,
}

/// Which needs a candidate list speaks to: a candidate file without a column leaves that need
/// unjudged (rather than every candidate "unknown").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Dims {
    /// `l4_throughput_gbps` present.
    pub throughput: bool,
    /// `memory_gb` present.
    pub memory: bool,
    /// `ssl_tps_rsa2k` present.
    pub ssl: bool,
    /// `max_concurrent_conns` present.
    pub connections: bool,
}

impl Dims {
    /// Every need judged.
    pub const ALL: Dims = Dims {
        throughput: true,
        memory: true,
        ssl: true,
        connections: true,
    };

    /// The needs with the unjudged ones removed.
    pub fn filter(&self, n: &Needs) -> Needs {
        Needs {
            throughput_bps: n.throughput_bps.filter(|_| self.throughput),
            ssl_tps: n.ssl_tps.filter(|_| self.ssl),
            connections: n.connections.filter(|_| self.connections),
            leak_bytes_per_day: n.leak_bytes_per_day.filter(|_| self.memory),
            baseline_bytes: n.baseline_bytes,
        }
    }
}

/// The catalog's models as candidates (no prices).
pub fn from_catalog(catalog: &Catalog) -> Vec<Candidate> {
    catalog
        .models
        .iter()
        .map(|m| Candidate {
            vendor: m.vendor.id().into(),
            model: m.id.clone(),
            throughput_gbps: m.l4_throughput_gbps,
            memory_gb: m.memory_gb,
            ssl_tps: m.ssl_tps_rsa2k,
            connections: m.max_concurrent_conns,
            price: None,
            currency: None,
            power_w: m.power_w,
        })
        .collect()
}

/// Candidates from a CSV with the catalog's model columns (`vendor`, `model`,
/// `l4_throughput_gbps`, `memory_gb`, `ssl_tps_rsa2k`, `max_concurrent_conns`, `power_w`) and an
/// optional `price` with its `currency` (one currency for every priced row). Empty cells are
/// unknown; an absent column is a need not judged; other columns (`source`) are ignored.
pub fn from_file(path: &Path) -> Result<(Vec<Candidate>, Dims), InputError> {
    let file = CsvFile::read(path)?.strict()?;
    let [vendor, model] = file.require(["vendor", "model"])?;
    let col = |n: &str| file.column(n);
    let (thr, mem, ssl, conns, power, price) = (
        col("l4_throughput_gbps"),
        col("memory_gb"),
        col("ssl_tps_rsa2k"),
        col("max_concurrent_conns"),
        col("power_w"),
        col("price"),
    );
    let currency = col("currency");
    let mut seen_currency: Option<(String, u64)> = None;
    let dims = Dims {
        throughput: thr.is_some(),
        memory: mem.is_some(),
        ssl: ssl.is_some(),
        connections: conns.is_some(),
    };
    let mut out = Vec::new();
    for row in &file.rows {
        let num = |idx: Option<usize>, name: &str| -> Result<Option<f64>, InputError> {
            let t = row.get(idx);
            if t.is_empty() {
                return Ok(None);
            }
            match t.parse::<f64>() {
                Ok(v) if v.is_finite() && v >= 0.0 => Ok(Some(v)),
                _ => Err(InputError::new(
                    file.at(row).field(name),
                    format!("\"{t}\" is not a non-negative number"),
                )),
            }
        };
        let v = row.get(Some(vendor));
        v.parse::<Vendor>()
            .map_err(|e: crate::version::UnknownVendor| {
                InputError::new(file.at(row).field("vendor"), e.to_string())
            })?;
        let m = row.get(Some(model));
        if m.is_empty() {
            return Err(InputError::new(
                file.at(row).field("model"),
                "model is empty",
            ));
        }
        let price_value = num(price, "price")?;
        let cur = row.get(currency).trim().to_ascii_uppercase();
        let cur = (!cur.is_empty()).then_some(cur);
        if price_value.is_some() {
            match (&seen_currency, &cur) {
                (Some((first, line)), c) if c.as_deref().unwrap_or("") != first => {
                    return Err(InputError::new(
                        file.at(row).field("currency"),
                        format!(
                            "{} differs from {} at line {line}: give every price in one currency",
                            c.as_deref()
                                .map_or("no currency".into(), |c| format!("\"{c}\"")),
                            if first.is_empty() {
                                "no currency".into()
                            } else {
                                format!("\"{first}\"")
                            }
                        ),
                    ));
                }
                (None, c) => seen_currency = Some((c.clone().unwrap_or_default(), row.line)),
                _ => {}
            }
        }
        out.push(Candidate {
            vendor: v.to_ascii_lowercase(),
            model: m.to_string(),
            throughput_gbps: num(thr, "l4_throughput_gbps")?,
            memory_gb: num(mem, "memory_gb")?,
            ssl_tps: num(ssl, "ssl_tps_rsa2k")?,
            connections: num(conns, "max_concurrent_conns")?,
            price: price_value,
            currency: cur,
            power_w: num(power, "power_w")?,
        });
    }
    if out.is_empty() {
        return Err(InputError::new(
            crate::error::Location::file(path.display().to_string()),
            "no candidates in the file",
        ));
    }
    Ok((out, dims))
}

/// What a unit needs, before headroom.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Needs {
    /// Projected peak throughput, bit/s.
    pub throughput_bps: Option<f64>,
    /// Peak SSL TPS.
    pub ssl_tps: Option<f64>,
    /// Peak concurrent connections.
    pub connections: Option<f64>,
    /// Conservative leak rate, bytes/day (none when no member leaks).
    pub leak_bytes_per_day: Option<f64>,
    /// Post-reboot memory baseline, bytes.
    pub baseline_bytes: Option<f64>,
}

/// The verdict on one candidate for one unit.
#[derive(Clone, Debug, PartialEq)]
pub struct Verdict {
    /// `Some(true)` feasible, `Some(false)` not, `None` unknown (a needed figure is missing).
    pub feasible: Option<bool>,
    /// What falls short, in words.
    pub shortfalls: Vec<String>,
    /// Needs whose figure the candidate does not give.
    pub unknown: Vec<&'static str>,
    /// Days until the memory threshold after a reboot, at the unit's leak rate.
    pub memory_days: Option<f64>,
    /// Price per Gbit/s, when both are known.
    pub cost_per_gbps: Option<f64>,
    /// Per judged need with a known figure: how far the figure exceeds the need with headroom
    /// (memory: the days after a reboot beyond the interval), in % (negative: short).
    pub margins: Vec<(&'static str, f64)>,
}

impl Verdict {
    /// The margin of one need, in %.
    pub fn margin(&self, what: &str) -> Option<f64> {
        self.margins.iter().find(|m| m.0 == what).map(|m| m.1)
    }

    /// The verdict in words: `enough (+35 % throughput)`, `short: …` or
    /// `unknown (needs datasheet figure: …)`.
    pub fn describe(&self) -> String {
        match self.feasible {
            Some(true) => {
                let tightest = self
                    .margins
                    .iter()
                    .min_by(|a, b| a.1.total_cmp(&b.1))
                    .map(|(what, m)| format!(" (+{}% {what})", fmt(*m)))
                    .unwrap_or_default();
                format!("enough{tightest}")
            }
            Some(false) => format!("short: {}", self.shortfalls.join("; ")),
            None => format!(
                "unknown (needs datasheet figure: {})",
                self.unknown.join(", ")
            ),
        }
    }
}

/// Judges a candidate.
pub fn judge(
    c: &Candidate,
    needs: &Needs,
    headroom: f64,
    threshold: f64,
    interval_days: f64,
) -> Verdict {
    let mut v = Verdict {
        feasible: Some(true),
        shortfalls: Vec::new(),
        unknown: Vec::new(),
        memory_days: None,
        margins: Vec::new(),
        cost_per_gbps: c
            .price
            .zip(c.throughput_gbps)
            .filter(|(_, t)| *t > 0.0)
            .map(|(p, t)| p / t),
    };
    let scale = 1.0 / (1.0 - headroom);
    let mut check =
        |need: Option<f64>, have: Option<f64>, what: &'static str, unit: &str, to_unit: f64| {
            let Some(need) = need.filter(|n| *n > 0.0) else {
                return;
            };
            match have {
                None => v.unknown.push(what),
                Some(have) => {
                    let needed = need * scale;
                    v.margins
                        .push((what, (have * to_unit - needed) / needed * 100.0));
                    if have * to_unit < needed {
                        v.shortfalls.push(format!(
                            "{what}: needs {} {unit} with headroom, has {}",
                            fmt(needed / to_unit),
                            fmt(have)
                        ));
                    }
                }
            }
        };
    check(
        needs.throughput_bps,
        c.throughput_gbps,
        "throughput",
        "Gbit/s",
        1e9,
    );
    check(needs.ssl_tps, c.ssl_tps, "SSL TPS", "TPS", 1.0);
    check(
        needs.connections,
        c.connections,
        "connections",
        "connections",
        1.0,
    );
    if let Some(rate) = needs.leak_bytes_per_day.filter(|r| *r > 0.0) {
        match c.memory_gb {
            None => v.unknown.push("memory"),
            Some(gb) => {
                let bytes = gb * 1024.0 * 1024.0 * 1024.0;
                let days = (threshold * bytes - needs.baseline_bytes.unwrap_or(0.0)) / rate;
                v.memory_days = Some(days.max(0.0));
                v.margins
                    .push(("memory", (days - interval_days) / interval_days * 100.0));
                if days < interval_days {
                    v.shortfalls.push(format!(
                        "memory: reaches {:.0} % {} days after a reboot at the observed leak, less than the {} day interval",
                        threshold * 100.0,
                        fmt(days.max(0.0)),
                        fmt(interval_days)
                    ));
                }
            }
        }
    }
    v.feasible = if !v.shortfalls.is_empty() {
        Some(false)
    } else if !v.unknown.is_empty() {
        None
    } else {
        Some(true)
    };
    v
}

/// A unit's **binding need**: of the needs judged on known figures, the one the candidates
/// meet with the least room (the lowest median margin). It is what a box is bought for, so
/// prices compare per unit of it.
pub fn binding(verdicts: &[Verdict]) -> Option<&'static str> {
    let mut names: Vec<&'static str> = Vec::new();
    for v in verdicts {
        for (what, _) in &v.margins {
            if !names.contains(what) {
                names.push(what);
            }
        }
    }
    names
        .into_iter()
        .map(|what| {
            let mut m: Vec<f64> = verdicts.iter().filter_map(|v| v.margin(what)).collect();
            (what, super::stats::median_unsorted(&mut m))
        })
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(what, _)| what)
}

/// The unit a need is counted in, for "cost per …".
pub fn unit_of(what: &str) -> &'static str {
    match what {
        "throughput" => "Gbit/s",
        "SSL TPS" => "SSL TPS",
        "connections" => "connection",
        _ => "GiB",
    }
}

/// How much of a need a box must have, in the need's unit ([`unit_of`]), with headroom:
/// memory is what lasts the interval from the baseline at the leak's rate below the threshold.
pub fn needed(
    needs: &Needs,
    what: &str,
    headroom: f64,
    threshold: f64,
    interval_days: f64,
) -> Option<f64> {
    let scale = 1.0 / (1.0 - headroom);
    match what {
        "throughput" => needs.throughput_bps.map(|t| t * scale / 1e9),
        "SSL TPS" => needs.ssl_tps.map(|t| t * scale),
        "connections" => needs.connections.map(|c| c * scale),
        _ => needs.leak_bytes_per_day.map(|rate| {
            (needs.baseline_bytes.unwrap_or(0.0) + rate * interval_days)
                / threshold
                / (1024.0 * 1024.0 * 1024.0)
        }),
    }
    .filter(|n| *n > 0.0)
}

/// Ranks feasible candidates: the cheapest first when every one has a price (for one unit the
/// same order as the price per unit of its binding need), more room (the tightest margin)
/// breaking ties; else the smallest sufficient throughput (then memory). Returns indices into
/// `verdicts` of the feasible ones, best first.
pub fn rank(cands: &[Candidate], verdicts: &[Verdict]) -> Vec<usize> {
    let mut ok: Vec<usize> = (0..cands.len())
        .filter(|&i| verdicts[i].feasible == Some(true))
        .collect();
    let priced = ok.iter().all(|&i| cands[i].price.is_some());
    let tightest = |i: usize| {
        verdicts[i]
            .margins
            .iter()
            .map(|m| m.1)
            .fold(f64::INFINITY, f64::min)
    };
    let key = |i: usize| -> (f64, f64, f64) {
        let c = &cands[i];
        let t = c.throughput_gbps.unwrap_or(f64::INFINITY);
        let m = c.memory_gb.unwrap_or(f64::INFINITY);
        if priced {
            (c.price.unwrap_or(f64::INFINITY), -tightest(i), t)
        } else {
            (t, m, 0.0)
        }
    };
    ok.sort_by(|&a, &b| {
        key(a)
            .partial_cmp(&key(b))
            .unwrap_or(std::cmp::Ordering::Equal)
            .then_with(|| cands[a].model.cmp(&cands[b].model))
    });
    ok
}

/// A number in a short readable form.
pub fn fmt(x: f64) -> String {
    if x.abs() >= 100.0 || x == x.trunc() {
        format!("{x:.0}")
    } else {
        format!("{x:.2}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cand(model: &str, gbps: Option<f64>, gb: Option<f64>, price: Option<f64>) -> Candidate {
        Candidate {
            vendor: "f5".into(),
            model: model.into(),
            throughput_gbps: gbps,
            memory_gb: gb,
            ssl_tps: None,
            connections: None,
            price,
            currency: None,
            power_w: None,
        }
    }

    #[test]
    fn feasibility_with_headroom_memory_and_unknowns() {
        let needs = Needs {
            throughput_bps: Some(7e9),
            leak_bytes_per_day: Some(1024.0 * 1024.0 * 1024.0),
            baseline_bytes: Some(4.0 * 1024.0 * 1024.0 * 1024.0),
            ..Needs::default()
        };
        // 7 Gbit/s / 0.7 = 10 Gbit/s needed.
        let v = judge(
            &cand("a", Some(10.0), Some(64.0), None),
            &needs,
            0.3,
            0.9,
            7.0,
        );
        assert_eq!(v.feasible, Some(true), "{v:?}");
        // (0.9 × 64 − 4) GiB at 1 GiB/day = 53.6 days.
        assert!((v.memory_days.unwrap() - 53.6).abs() < 1e-9);
        let v = judge(
            &cand("b", Some(9.9), Some(8.0), None),
            &needs,
            0.3,
            0.9,
            7.0,
        );
        assert_eq!(v.feasible, Some(false));
        assert_eq!(v.shortfalls.len(), 2, "{v:?}");
        assert!(
            v.shortfalls[0].contains("needs 10 Gbit/s"),
            "{:?}",
            v.shortfalls
        );
        let v = judge(&cand("c", None, Some(64.0), None), &needs, 0.3, 0.9, 7.0);
        assert_eq!(
            (v.feasible, v.unknown.as_slice()),
            (None, &["throughput"][..])
        );
    }

    #[test]
    fn margins_say_how_far_each_known_figure_exceeds_the_need() {
        let needs = Needs {
            throughput_bps: Some(7e9),
            leak_bytes_per_day: Some(1024.0 * 1024.0 * 1024.0),
            baseline_bytes: Some(4.0 * 1024.0 * 1024.0 * 1024.0),
            ..Needs::default()
        };
        // 10 Gbit/s needed with 30 % headroom: 15 Gbit/s is 50 % more; memory lasts 53.6
        // days after a reboot against a 7-day interval.
        let v = judge(
            &cand("a", Some(15.0), Some(64.0), None),
            &needs,
            0.3,
            0.9,
            7.0,
        );
        assert!((v.margin("throughput").unwrap() - 50.0).abs() < 1e-9);
        assert!((v.margin("memory").unwrap() - (53.6 - 7.0) / 7.0 * 100.0).abs() < 1e-9);
        assert_eq!(v.describe(), "enough (+50% throughput)");
        let v = judge(&cand("b", Some(5.0), None, None), &needs, 0.3, 0.9, 7.0);
        assert!((v.margin("throughput").unwrap() + 50.0).abs() < 1e-9);
        assert_eq!(v.margin("memory"), None);
        assert!(
            v.describe()
                .starts_with("short: throughput: needs 10 Gbit/s")
        );
        let v = judge(&cand("c", None, None, None), &needs, 0.3, 0.9, 7.0);
        assert_eq!(
            v.describe(),
            "unknown (needs datasheet figure: throughput, memory)"
        );
    }

    #[test]
    fn a_candidate_file_gives_one_currency_for_every_price() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.csv");
        let head = "vendor,model,l4_throughput_gbps,price,currency,source\n";
        std::fs::write(
            &p,
            format!("{head}f5,a,10,1000,usd,datasheet\nf5,b,20,,,\nf5,c,40,3000,USD,\n"),
        )
        .unwrap();
        let (c, dims) = from_file(&p).unwrap();
        assert_eq!(c[0].currency.as_deref(), Some("USD"));
        assert_eq!((c[1].price, c[2].price), (None, Some(3000.0)));
        assert!(dims.throughput && !dims.memory);
        std::fs::write(&p, format!("{head}f5,a,10,1000,USD,\nf5,b,20,900,EUR,\n")).unwrap();
        let e = from_file(&p).unwrap_err().to_string();
        assert!(e.contains(":3:") && e.contains("currency"), "{e}");
        assert!(e.contains("\"EUR\" differs from \"USD\" at line 2"), "{e}");
    }

    #[test]
    fn the_cheapest_box_that_is_enough_comes_first_and_the_binding_need_is_named() {
        // 1 Gbit/s (1.43 with headroom) is easy for everyone; a 1 GiB/day leak over 7 days
        // from 4 GiB is the tight one: memory binds.
        let needs = Needs {
            throughput_bps: Some(1e9),
            leak_bytes_per_day: Some(1024.0 * 1024.0 * 1024.0),
            baseline_bytes: Some(4.0 * 1024.0 * 1024.0 * 1024.0),
            ..Needs::default()
        };
        let c = vec![
            cand("roomy", Some(100.0), Some(64.0), Some(32_000.0)),
            cand("fits", Some(10.0), Some(16.0), Some(16_000.0)),
            cand("tiny", Some(10.0), Some(8.0), Some(1_000.0)),
            cand("same-price", Some(40.0), Some(32.0), Some(16_000.0)),
        ];
        let v: Vec<Verdict> = c.iter().map(|x| judge(x, &needs, 0.3, 0.9, 7.0)).collect();
        assert_eq!(v[2].feasible, Some(false), "{:?}", v[2]);
        assert_eq!(binding(&v), Some("memory"));
        // Cheapest that is enough first; at one price, the one with more room.
        let order: Vec<&str> = rank(&c, &v).iter().map(|&i| c[i].model.as_str()).collect();
        assert_eq!(order, ["same-price", "fits", "roomy"]);
        // Memory needed: (4 + 7 × 1) GiB / 0.9.
        let gib = needed(&needs, "memory", 0.3, 0.9, 7.0).unwrap();
        assert!((gib - 11.0 / 0.9).abs() < 1e-9, "{gib}");
        let gbps = needed(&needs, "throughput", 0.3, 0.9, 7.0).unwrap();
        assert!((gbps - 1.0 / 0.7).abs() < 1e-12);
        assert_eq!(needed(&needs, "SSL TPS", 0.3, 0.9, 7.0), None);
        assert_eq!(binding(&[]), None);
        assert_eq!(unit_of("memory"), "GiB");
        assert_eq!(unit_of("throughput"), "Gbit/s");
    }

    #[test]
    fn ranking_by_price_per_gbps_else_smallest() {
        let needs = Needs {
            throughput_bps: Some(1e9),
            ..Needs::default()
        };
        let c = vec![
            cand("big", Some(40.0), Some(64.0), Some(40_000.0)),
            cand("small", Some(10.0), Some(16.0), Some(20_000.0)),
            cand("mid", Some(20.0), Some(32.0), Some(30_000.0)),
        ];
        let v: Vec<Verdict> = c.iter().map(|x| judge(x, &needs, 0.3, 0.9, 7.0)).collect();
        let names = |r: Vec<usize>| {
            r.into_iter()
                .map(|i| c[i].model.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(binding(&v), Some("throughput"));
        // Priced: the cheapest first.
        assert_eq!(names(rank(&c, &v)), ["small", "mid", "big"]);
        let unpriced: Vec<Candidate> = c
            .iter()
            .map(|x| Candidate {
                price: None,
                ..x.clone()
            })
            .collect();
        let v: Vec<Verdict> = unpriced
            .iter()
            .map(|x| judge(x, &needs, 0.3, 0.9, 7.0))
            .collect();
        assert_eq!(names(rank(&unpriced, &v)), ["small", "mid", "big"]);
    }
}
