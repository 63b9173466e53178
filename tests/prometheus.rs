//! `--prometheus`: the same telemetry as CSV and backfilled into a real Prometheus server gives
//! the same evaluation and the same reboot schedule; mistakes are input errors that quote the
//! server.
//!
//! The generated data is exact where the two paths could differ for reasons that are not the
//! feature's: reboots on the hour and reported through the uptime (no hour holds two cycles),
//! values that `f32` (the CSV reader's sample type) holds exactly. Samples fall on the minute,
//! so every hour's and day's first sample is on its boundary: the server's windows must put it
//! in the same hour and day as lbfleet does.

use crate::support::Test;
use crate::support::prometheus::{Prometheus, free_port};

const GIB: f64 = 1_073_741_824.0;

/// Deterministic noise in [-1, 1) (SplitMix64's output function).
fn noise(i: u64) -> f64 {
    let mut z = (i + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    ((z >> 11) as f64 / (1u64 << 53) as f64) * 2.0 - 1.0
}

/// One generated device: its leak in GiB/day, and the hour of the first reboot (then every
/// two days).
struct Dev {
    name: &'static str,
    leak: f64,
    first_reboot_h: u64,
}

const FLEET: [Dev; 4] = [
    Dev {
        name: "fra-lb01",
        leak: 1.0,
        first_reboot_h: 30,
    },
    Dev {
        name: "fra-lb02",
        leak: 1.0,
        first_reboot_h: 41,
    },
    Dev {
        name: "fra-lb03",
        leak: 0.0,
        first_reboot_h: 20,
    },
    // Regex metacharacters in a name: the batch matcher must escape them.
    Dev {
        name: "lb.x+1",
        leak: 3.0,
        first_reboot_h: 50,
    },
];

const METRICS: &str = "device_label = \"device\"\n\
    mem_used_bytes = 'lb_mem_used_bytes{job=\"lb\"}'\n\
    mem_total_bytes = 'lb_mem_total_bytes'\n\
    throughput_bps = 'lb_throughput_bps'\n\
    connections = 'lb_connections'\n\
    cpu_pct = 'lb_cpu_pct'\n\
    ssl_tps = 'lb_ssl_tps'\n\
    uptime_s = 'lb_uptime_seconds'\n";

/// The same telemetry as CSV and as OpenMetrics text, `days` of one-minute samples ending at
/// `end` (a whole hour); (csv, openmetrics). With `margin`, the OpenMetrics text also has an
/// hour of outlandish samples (memory near full, a boot, peaks a thousand times higher) in the
/// UTC day before the window's first: whatever reads them has read outside the window.
fn generate(devices: &[Dev], end: u64, days: u64, margin: bool) -> (String, String) {
    let start = end - days * 86_400;
    let n = days * 1440;
    let mut csv = String::from(
        "timestamp,device,mem_used_bytes,mem_total_bytes,throughput_bps,connections,cpu_pct,ssl_tps,uptime_s\n",
    );
    // Per metric family, per series, in time order (as OpenMetrics wants them).
    let names = [
        "lb_mem_used_bytes",
        "lb_mem_total_bytes",
        "lb_throughput_bps",
        "lb_connections",
        "lb_cpu_pct",
        "lb_ssl_tps",
        "lb_uptime_seconds",
    ];
    let mut families: Vec<String> = names
        .iter()
        .map(|n| format!("# TYPE {n} gauge\n"))
        .collect();
    for (k, d) in devices.iter().enumerate() {
        let seed = k as u64 * 1_000_003;
        let boots: Vec<u64> = (0..)
            .map(|r| start + (d.first_reboot_h + 48 * r) * 3600)
            .take_while(|&b| b < end)
            .collect();
        if margin {
            let before = (start / 86_400 - 1) * 86_400 + 3600;
            for j in 0..60 {
                let t = before + j * 60;
                for ((family, name), v) in families.iter_mut().zip(names).zip([
                    31.0 * GIB,
                    64.0 * GIB,
                    1e12,
                    1e9,
                    100.0,
                    1e9,
                    j as f64,
                ]) {
                    let job = if name == "lb_mem_used_bytes" {
                        ",job=\"lb\""
                    } else {
                        ""
                    };
                    family.push_str(&format!("{name}{{device=\"{}\"{job}}} {v} {t}\n", d.name));
                }
            }
        }
        for i in 0..n {
            let t = start + i * 60;
            // Booted 3 days before the data, then at each reboot (on the hour).
            let boot = boots
                .iter()
                .rev()
                .find(|&&b| b <= t)
                .copied()
                .unwrap_or(start - 3 * 86_400);
            let up = t - boot;
            let days_up = up as f64 / 86_400.0;
            // Multiples of 4096 below 32 GiB, and of 256 below 2^31: exact in f32.
            let mem = ((4.0 * GIB + d.leak * GIB * days_up + 40e6 * noise(seed + i)) / 4096.0)
                .round()
                * 4096.0;
            let hour_of_day = (t % 86_400) as f64 / 3600.0;
            let daily = (std::f64::consts::TAU * hour_of_day / 24.0).sin();
            let thr =
                ((1.2e9 + 0.5e9 * daily + 2e6 * (i as f64 / 1440.0) + 1e8 * noise(seed + n + i))
                    / 256.0)
                    .round()
                    * 256.0;
            let conns = (40_000.0 + 15_000.0 * daily + 3000.0 * noise(seed + 2 * n + i)).round();
            let cpu = (35.0 + 20.0 * daily + 5.0 * noise(seed + 3 * n + i)).round();
            let ssl = (2000.0 + 800.0 * daily + 100.0 * noise(seed + 4 * n + i)).round();
            let total = 32.0 * GIB;
            csv.push_str(&format!(
                "{t},{},{mem},{total},{thr},{conns},{cpu},{ssl},{up}\n",
                d.name
            ));
            for ((f, family), v) in families
                .iter_mut()
                .zip(names)
                .zip([mem, total, thr, conns, cpu, ssl, up as f64])
            {
                // The memory series carries a job label the mapping selects on.
                let job = if family == "lb_mem_used_bytes" {
                    ",job=\"lb\""
                } else {
                    ""
                };
                f.push_str(&format!("{family}{{device=\"{}\"{job}}} {v} {t}\n", d.name));
            }
        }
    }
    let mut om: String = families.concat();
    om.push_str("# EOF\n");
    (csv, om)
}

/// The last whole hour (Unix seconds): the data ends a minute before it.
fn end_hour() -> u64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    now / 3600 * 3600
}

fn rfc3339(t: u64) -> String {
    jiff::Timestamp::from_second(t as i64).unwrap().to_string()
}

/// devices.csv as (device → column → value).
fn table(text: &str) -> std::collections::BTreeMap<String, Vec<(String, String)>> {
    let mut r = csv::Reader::from_reader(text.as_bytes());
    let headers: Vec<String> = r.headers().unwrap().iter().map(String::from).collect();
    r.records()
        .map(|rec| {
            let rec = rec.unwrap();
            let cols: Vec<(String, String)> = headers
                .iter()
                .cloned()
                .zip(rec.iter().map(String::from))
                .collect();
            (rec[0].to_string(), cols)
        })
        .collect()
}

/// Same text, or numbers within `rel` of each other.
fn close(a: &str, b: &str, rel: f64) -> bool {
    if a == b {
        return true;
    }
    match (a.parse::<f64>(), b.parse::<f64>()) {
        (Ok(x), Ok(y)) => (x - y).abs() <= rel * x.abs().max(y.abs()).max(1.0),
        _ => false,
    }
}

/// The same JSON, numbers within 1e-12 of each other.
#[track_caller]
fn same_json(a: &serde_json::Value, b: &serde_json::Value, at: &str) {
    use serde_json::Value;
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            let (x, y) = (x.as_f64().unwrap(), y.as_f64().unwrap());
            assert!(
                close(&x.to_string(), &y.to_string(), 1e-12),
                "{at}: {x} vs {y}"
            );
        }
        (Value::Array(x), Value::Array(y)) => {
            assert_eq!(x.len(), y.len(), "{at}");
            for (i, (x, y)) in x.iter().zip(y).enumerate() {
                same_json(x, y, &format!("{at}[{i}]"));
            }
        }
        (Value::Object(x), Value::Object(y)) => {
            assert_eq!(
                x.keys().collect::<Vec<_>>(),
                y.keys().collect::<Vec<_>>(),
                "{at}"
            );
            for (k, v) in x {
                same_json(v, &y[k], &format!("{at}.{k}"));
            }
        }
        _ => assert_eq!(a, b, "{at}"),
    }
}

#[test]
fn evaluate_from_prometheus_equals_evaluate_from_the_same_csv() {
    let end = end_hour();
    let (csv, om) = generate(&FLEET, end, 7, true);
    // Frames of about a kilobyte: every series spans many (Prometheus' default is 1 MiB, more
    // than a week of one series).
    let server = Prometheus::start_with(&om, &["--storage.remote.read-max-bytes-in-frame=1024"]);
    let base = Test::new().file("t.csv", &csv).file("m.toml", METRICS);
    let from_csv = base
        .args(&[
            "evaluate",
            "--telemetry",
            "t.csv",
            "-o",
            "csv-out",
            "--format",
            "csv",
        ])
        .run();
    from_csv.code(1);
    let end = rfc3339(end);
    let window = [
        "evaluate",
        "--prometheus",
        &server.url,
        "--metrics",
        "m.toml",
        "--prometheus-end",
        &end,
        "--prometheus-range",
        "7d",
        "--format",
        "csv",
    ];
    let from_prom = from_csv
        .then()
        .args(&window)
        .args(&["-o", "prom-out"])
        .run();
    // By default the server's remote read streams the raw samples (Prometheus serves it).
    from_prom
        .code(1)
        .stderr_has("prometheus: 4/4 devices read")
        .stderr_lacks("no remote read")
        .stderr_has("leaking faster than a 7-day reboot interval allows: lb.x+1");
    // Remote read paged: 3 devices per request (two requests, the regex-special name in the
    // second).
    let paged = from_prom
        .then()
        .args(&window)
        .args(&["--prometheus-api", "read", "--prometheus-batch", "3"])
        .args(&["-o", "read-out"])
        .run();
    paged
        .code(1)
        .stderr_has("prometheus: 3/4 devices read")
        .stderr_has("prometheus: 4/4 devices read");
    assert_eq!(
        paged.read("prom-out/devices.csv"),
        paged.read("read-out/devices.csv")
    );
    // PromQL queries, aggregated by the server, paged as hard: 3 devices per query and 50
    // points per range query (the week's 168 hours in four requests).
    let queried = paged
        .then()
        .args(&window)
        .args(&["--prometheus-api", "query", "--prometheus-batch", "3"])
        .args(&["--prometheus-max-points", "50", "-o", "query-out"])
        .run();
    queried
        .code(1)
        .stderr_has("prometheus: 3/4 devices read")
        .stderr_has("prometheus: 4/4 devices read");
    let a = table(&queried.read("csv-out/devices.csv"));
    assert_eq!(
        a.keys().collect::<Vec<_>>(),
        ["fra-lb01", "fra-lb02", "fra-lb03", "lb.x+1"]
    );
    for out in ["prom-out", "query-out"] {
        let b = table(&queried.read(&format!("{out}/devices.csv")));
        assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
        for (dev, cols) in &a {
            for ((name, x), (name_b, y)) in cols.iter().zip(&b[dev]) {
                assert_eq!(name, name_b);
                // `samples` counts what was read: raw minutes from CSV, two points an hour
                // from Prometheus (documented). Everything else is the same: the hourly means
                // are exact sums / counts on every side; quantiles differ at most in the last
                // bits (a + w(b − a) against a(1 − w) + bw).
                if name == "samples" {
                    continue;
                }
                assert!(
                    close(x, y, 1e-12),
                    "{out}: {dev} {name}: CSV {x} vs Prometheus {y}"
                );
            }
        }
    }
    // The planted truth, to be sure the comparison is not of two empty results.
    let get =
        |dev: &str, col: &str| -> String { a[dev].iter().find(|c| c.0 == col).unwrap().1.clone() };
    assert_eq!(get("fra-lb01", "leak"), "true");
    assert_eq!(get("fra-lb03", "leak"), "false");
    assert_eq!(get("lb.x+1", "leak"), "true");
    assert_eq!(get("fra-lb01", "reboots_from"), "uptime");
    assert_eq!(get("fra-lb01", "reboots"), "3");
    let rate: f64 = get("fra-lb01", "leak_bytes_per_day").parse().unwrap();
    assert!((rate / GIB - 1.0).abs() < 0.01, "{rate}");
    assert!(!get("fra-lb01", "throughput_p95_bps").is_empty());
    assert!(!get("fra-lb01", "peak_connections").is_empty());
    assert!(!get("fra-lb01", "peak_cpu_pct").is_empty());
    assert!(!get("fra-lb01", "peak_ssl_tps").is_empty());
    assert!(!get("fra-lb01", "days_to_exhaustion").is_empty());
}

const SITES: &str = "site,timezone,windows\nFRA1,Europe/Berlin,Sun 00:00-06:00\n";
const DEVICES: &str = "name,site,vendor,model,version,mgmt_host,ha_group,ha_role\n\
    fra-lb01,FRA1,f5,i4800,15.1.10,10.0.0.1,fra-ha01,active\n\
    fra-lb02,FRA1,f5,i4800,15.1.10,10.0.0.2,fra-ha01,standby\n\
    fra-lb03,FRA1,f5,i4800,15.1.10,10.0.0.3,,standalone\n";

#[test]
fn reboots_plan_interval_auto_from_prometheus_equals_the_csv_schedule() {
    let end = end_hour();
    let (csv, om) = generate(&FLEET[..3], end, 7, false);
    let server = Prometheus::start(&om);
    let common = [
        "--interval",
        "auto",
        "--from",
        "2026-12-01T00:00:00Z",
        "--weeks",
        "8",
        "--format",
        "json",
    ];
    let from_csv = Test::new()
        .file("inv/sites.csv", SITES)
        .file("inv/devices.csv", DEVICES)
        .file("t.csv", &csv)
        .file("m.toml", METRICS)
        .args(&[
            "reboots",
            "plan",
            "inv",
            "--telemetry",
            "t.csv",
            "-o",
            "csv.json",
        ])
        .args(&common)
        .run();
    from_csv.code(0);
    let from_prom = from_csv
        .then()
        .args(&[
            "reboots",
            "plan",
            "inv",
            "--prometheus",
            &server.url,
            "--metrics",
            "m.toml",
            "--prometheus-end",
            &rfc3339(end),
            "--prometheus-range",
            "7d",
            "-o",
            "prom.json",
        ])
        .args(&common)
        .run();
    from_prom.code(0);
    let read = |f: &str| -> serde_json::Value { serde_json::from_str(&from_prom.read(f)).unwrap() };
    let (a, b) = (read("csv.json"), read("prom.json"));
    let devices = a["devices"].as_array().unwrap();
    assert_eq!(devices.len(), 2, "{devices:#?}");
    for d in devices {
        assert_eq!(d["interval_source"], "telemetry", "{d}");
        let days = d["interval_days"].as_u64().unwrap();
        assert!((10..=20).contains(&days), "{d}");
    }
    // Numbers may differ in the last bits (sums in another order).
    for key in ["devices", "rounds", "skipped"] {
        same_json(&a[key], &b[key], key);
    }
    assert_eq!(b["skipped"][0]["name"], "fra-lb03");
    // The schedule says where its evidence came from.
    let sources = b["options"]["telemetry"].to_string();
    assert!(sources.contains(&server.url), "{b:#}");
}

#[test]
fn a_url_that_is_not_one_or_a_server_that_is_down_is_an_input_error() {
    Test::new()
        .args(&["evaluate", "--prometheus", "localhost:9090"])
        .run()
        .code(2)
        .stderr_has("\"localhost:9090\"")
        .stderr_has("http://");
    // A closed loopback port: the network's own words.
    let url = format!("http://127.0.0.1:{}", free_port());
    Test::new()
        .args(&["evaluate", "--prometheus", &url, "-o", "out"])
        .run()
        .code(2)
        .stderr_has(&format!("cannot reach Prometheus at {url}/api/v1/label/"))
        .stderr_has("Connection refused");
    // Exactly one source.
    Test::new()
        .file("t.csv", "timestamp,device,mem_used_bytes\n")
        .args(&["evaluate", "--telemetry", "t.csv", "--prometheus", &url])
        .run()
        .code(2)
        .stderr_has("cannot be used with");
    Test::new()
        .args(&["evaluate"])
        .run()
        .code(2)
        .stderr_has("give --telemetry FILE... or --prometheus URL");
    // A Prometheus flag beside CSV files would be ignored: refused instead, before anything
    // is read.
    for flag in [
        &["--metrics", "m.toml"][..],
        &["--prometheus-api", "read"],
        &["--prometheus-range", "5d"],
    ] {
        Test::new()
            .args(&["evaluate", "--telemetry", "missing.csv"])
            .args(flag)
            .run()
            .code(2)
            .stderr_has(&format!(
                "the argument '--telemetry <FILE>...' cannot be used with '{}",
                flag[0]
            ));
    }
}

#[test]
fn a_mapping_typo_names_the_file_line_and_field_before_anything_is_asked() {
    // The server would refuse the connection: the mapping is checked first.
    let url = format!("http://127.0.0.1:{}", free_port());
    Test::new()
        .file(
            "m.toml",
            "device_label = \"device\"\nmem_used_bytes = \"lb_mem\"\nmem_totl_bytes = \"lb_total\"\n",
        )
        .args(&["evaluate", "--prometheus", &url, "--metrics", "m.toml"])
        .run()
        .code(2)
        .stderr_has("m.toml:3: field \"mem_totl_bytes\": unknown field (did you mean \"mem_total_bytes\"?)");
    Test::new()
        .file(
            "m.toml",
            "device_label = \"device\"\nthroughput_bps = \"rate(lb_bytes[5m])\"\n",
        )
        .args(&["evaluate", "--prometheus", &url, "--metrics", "m.toml"])
        .run()
        .code(2)
        .stderr_has("m.toml:2: field \"throughput_bps\"")
        .stderr_has("recording rule");
}

#[test]
fn a_selector_that_matches_nothing_or_that_the_server_refuses_is_an_input_error() {
    let end = end_hour();
    let one = [Dev {
        name: "fra-lb01",
        leak: 0.0,
        first_reboot_h: 10,
    }];
    let (_, om) = generate(&one, end, 1, false);
    // CPU per core beside the device's own: three series for one device.
    let cores: String = (0..2)
        .map(|core| {
            format!(
                "lb_cpu_pct{{device=\"fra-lb01\",core=\"{core}\"}} 50 {}\n",
                end - 600
            )
        })
        .collect();
    let om = om.replace(
        "# TYPE lb_cpu_pct gauge\n",
        &format!("# TYPE lb_cpu_pct gauge\n{cores}"),
    );
    // Connections per interface, and nothing else: two series with the same timestamps.
    let ifaces: String = ["1.1", "1.2"]
        .iter()
        .flat_map(|iface| {
            (0..30).map(move |i| {
                format!(
                    "lb_conn_if{{device=\"fra-lb01\",iface=\"{iface}\"}} {} {}\n",
                    1000 + i,
                    end - 3600 + i * 60
                )
            })
        })
        .collect();
    let om = om.replace(
        "# EOF\n",
        &format!("# TYPE lb_conn_if gauge\n{ifaces}# EOF\n"),
    );
    let server = Prometheus::start(&om);
    let ask = [
        "evaluate",
        "--prometheus",
        &server.url,
        "--metrics",
        "m.toml",
    ];
    let window = [
        "--prometheus-end",
        &rfc3339(end),
        "--prometheus-range",
        "1d",
    ];
    let t = Test::new()
        .file(
            "m.toml",
            "device_label = \"device\"\nmem_used_bytes = \"lb_mem_usd_bytes\"\n",
        )
        .args(&ask)
        .args(&window)
        .run();
    t.code(2)
        .stderr_has("m.toml: field \"mem_used_bytes\": `lb_mem_usd_bytes` matches no series");
    // An invalid regex: Prometheus' own words.
    t.then()
        .file(
            "m.toml",
            "device_label = \"device\"\nmem_used_bytes = 'lb_mem_used_bytes{device=~\"(\"}'\n",
        )
        .args(&ask)
        .args(&window)
        .run()
        .code(2)
        .stderr_has("Prometheus refused the query")
        .stderr_has("error parsing regexp");
    // A wrong path prefix: an HTTP error, with the server's body.
    let wrong = format!("{}/prometheus", server.url);
    Test::new()
        .file(
            "m.toml",
            "device_label = \"device\"\nmem_used_bytes = 'lb_mem_used_bytes'\n",
        )
        .args(&["evaluate", "--prometheus", &wrong, "--metrics", "m.toml"])
        .args(&window)
        .run()
        .code(2)
        .stderr_has(&format!(
            "Prometheus at {wrong}/api/v1/label/device/values answered HTTP 404: 404 page not found"
        ));
    // The right selector on the same server works (the server was not the problem).
    Test::new()
        .file(
            "m.toml",
            "device_label = \"device\"\nmem_used_bytes = 'lb_mem_used_bytes'\n",
        )
        .args(&[
            "evaluate",
            "--prometheus",
            &server.url,
            "--metrics",
            "m.toml",
            "-o",
            "out",
        ])
        .args(&window)
        .run()
        .code(0)
        .stdout_has("fra-lb01");
    // A selector that gives a device two series, through either API: an error naming both.
    for api in ["read", "query"] {
        for (field, metric, label) in [
            ("cpu_pct", "lb_cpu_pct", "core=\"0\""),
            ("connections", "lb_conn_if", "iface=\"1.2\""),
        ] {
            Test::new()
                .file(
                    "m.toml",
                    format!(
                        "device_label = \"device\"\nmem_used_bytes = 'lb_mem_used_bytes'\n{field} = '{metric}'\n"
                    ),
                )
                .args(&ask)
                .args(&["--prometheus-api", api])
                .args(&window)
                .run()
                .code(2)
                .stderr_has(&format!(
                    "m.toml: field \"{field}\": `{metric}` gives device fra-lb01 more than one series ({{"
                ))
                .stderr_has(label);
        }
    }
    // Behind a proxy that does not pass remote read: the PromQL queries, said on stderr, with
    // the same results; remote read asked for by name is an input error instead.
    let proxy = server.without_remote_read();
    // (The per-core CPU series left out: `core=""` matches a series without the label.)
    let metrics = METRICS.replace("'lb_cpu_pct'", "'lb_cpu_pct{core=\"\"}'");
    assert_ne!(metrics, METRICS);
    let direct = Test::new()
        .file("m.toml", &metrics)
        .args(&ask)
        .args(&window)
        .args(&["--format", "csv", "-o", "direct"])
        .run();
    direct.code(0).stderr_lacks("no remote read");
    let fallback = direct
        .then()
        .args(&["evaluate", "--prometheus", &proxy, "--metrics", "m.toml"])
        .args(&window)
        .args(&["--format", "csv", "-o", "proxied"])
        .run();
    fallback.code(0).stderr_has(
        "prometheus: no remote read (HTTP 404: 404 page not found): asking PromQL queries instead",
    );
    assert_eq!(
        fallback.read("direct/devices.csv"),
        fallback.read("proxied/devices.csv")
    );
    fallback
        .then()
        .args(&["evaluate", "--prometheus", &proxy, "--metrics", "m.toml"])
        .args(&["--prometheus-api", "read"])
        .args(&window)
        .run()
        .code(2)
        .stderr_has(&format!(
            "{proxy}/api/v1/read does not serve remote read: HTTP 404: 404 page not found (use --prometheus-api query)"
        ));
}

/// `verify-fix --prometheus`: the verdicts from the server equal those from the same CSV. Three
/// standalone units leak 1.5 GiB a day; the canary's upgrade (journaled on the hour) stops its
/// leak; the other two are its control group.
#[test]
fn verify_fix_from_prometheus_equals_verify_fix_from_the_same_csv() {
    use lbfleet::evaluator::synth::{Series, csv};
    let end = end_hour() as u32 - 60;
    let start = end_hour() as u32 - 9 * 86_400;
    let upgraded = end_hour() as u32 - 4 * 86_400;
    let devices = "name,site,vendor,model,version,mgmt_host,ha_group,ha_role\n\
        fx-lb01,LAB,f5,i4800,15.1.10,127.0.0.1:22,,standalone\n\
        fx-lb02,LAB,f5,i4800,15.1.10,127.0.0.2:22,,standalone\n\
        fx-lb03,LAB,f5,i4800,15.1.10,127.0.0.3:22,,standalone\n";
    let base = Test::new()
        .file(
            "inv/sites.csv",
            "site,timezone,windows,order\nLAB,UTC,Mon-Sun 00:00-24:00,1\n",
        )
        .file("inv/devices.csv", devices)
        .file(
            "m.toml",
            "device_label = \"device\"\nmem_used_bytes = 'lb_mem_used_bytes'\n\
             mem_total_bytes = 'lb_mem_total_bytes'\nuptime_s = 'lb_uptime_seconds'\n",
        );
    let planned = base
        .args(&[
            "plan",
            "inv",
            "--target",
            "f5=16.1.4",
            "--canary-soak",
            "0",
            "-o",
            "plan.json",
        ])
        .run();
    planned.code(0);
    let plan: serde_json::Value = serde_json::from_str(&planned.read("plan.json")).unwrap();
    let canary = plan["waves"][0]["groups"][0]["devices"][0]["name"]
        .as_str()
        .unwrap()
        .to_string();
    // The hop took the hour before `upgraded`; the canary booted into 16.1.4 on the hour.
    let journal = format!(
        "{} start wave=0 group={canary} step=hop device={canary} to=16.1.4\n\
         {} done wave=0 group={canary} step=hop device={canary} to=16.1.4\n",
        rfc3339(u64::from(upgraded - 3600)),
        rfc3339(u64::from(upgraded - 1)),
    );
    let series: Vec<Series> = ["fx-lb01", "fx-lb02", "fx-lb03"]
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let mut s = Series::leaking(name, start, end, 1.5 * GIB, i as u64 + 1);
            s.boots = vec![start + 3 * 86_400, start + 6 * 86_400];
            if *name == canary {
                s.boots.push(upgraded);
                s.rates.push((upgraded, 0.0));
            }
            s
        })
        .collect();
    let text = csv(&series);
    // The same rows as OpenMetrics, one family at a time.
    let mut families = [
        String::from("# TYPE lb_mem_used_bytes gauge\n"),
        String::from("# TYPE lb_mem_total_bytes gauge\n"),
        String::from("# TYPE lb_uptime_seconds gauge\n"),
    ];
    for row in text.lines().skip(1) {
        let f: Vec<&str> = row.split(',').collect();
        for (family, (name, v)) in families.iter_mut().zip([
            ("lb_mem_used_bytes", f[2]),
            ("lb_mem_total_bytes", f[3]),
            ("lb_uptime_seconds", f[4]),
        ]) {
            family.push_str(&format!("{name}{{device=\"{}\"}} {v} {}\n", f[1], f[0]));
        }
    }
    let server = Prometheus::start(&(families.concat() + "# EOF\n"));
    let verdicts =
        |out: &crate::support::Output, dir: &str| table(&out.read(&format!("{dir}/verdicts.csv")));
    let from_csv = planned
        .then()
        .file("plan.journal", journal)
        .file("t.csv", text)
        .args(&[
            "verify-fix",
            "plan.json",
            "--telemetry",
            "t.csv",
            "-o",
            "csv-out",
        ])
        .run();
    from_csv
        .code(0)
        .stderr_has("i4800 on 16.1.4: fixed: 1 of 1 devices fixed");
    let a = verdicts(&from_csv, "csv-out");
    let from_server = [
        "verify-fix",
        "plan.json",
        "--prometheus",
        &server.url,
        "--metrics",
        "m.toml",
        "--prometheus-range",
        "10d",
    ];
    let from_prom = from_csv
        .then()
        .args(&from_server)
        .args(&["-o", "prom-out"])
        .run();
    from_prom
        .code(0)
        .stderr_has("i4800 on 16.1.4: fixed: 1 of 1 devices fixed");
    // The same through PromQL queries.
    let queried = from_prom
        .then()
        .args(&from_server)
        .args(&["--prometheus-api", "query", "-o", "query-out"])
        .run();
    queried
        .code(0)
        .stderr_has("i4800 on 16.1.4: fixed: 1 of 1 devices fixed");
    assert_eq!(a.keys().collect::<Vec<_>>(), [&canary]);
    for out in ["prom-out", "query-out"] {
        let b = verdicts(&queried, out);
        for (device, cols) in &a {
            for ((name, x), (_, y)) in cols.iter().zip(&b[device]) {
                // The CSV reader keeps samples as f32 (about 400 bytes apart at 6 GiB); the
                // Prometheus means are f64: a slope near zero moves by some 30 bytes a day.
                let rel = if name == "reason" { 0.0 } else { 1e-4 };
                assert!(
                    close(x, y, rel)
                        || (name == "reason" && x.split(':').next() == y.split(':').next()),
                    "{out}: {device} {name}: {x} vs {y}"
                );
            }
        }
    }
}
