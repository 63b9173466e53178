use std::fmt::Write as _;

use crate::support::Test;

const GIB: f64 = 1024.0 * 1024.0 * 1024.0;
const T0: u64 = 1_790_812_800; // 2026-10-01T00:00:00Z

/// Deterministic noise in [-1, 1).
fn noise(i: u64) -> f64 {
    let x = (i + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 11;
    (x as f64 / (1u64 << 53) as f64) * 2.0 - 1.0
}

/// Telemetry with planted behaviour, every 5 minutes, rows newest first (unsorted on
/// purpose) and the first hour of dev-leak repeated (duplicates).
fn telemetry(days: u64) -> String {
    let mut rows: Vec<String> = Vec::new();
    let steps = days * 288;
    for k in 0..steps {
        let t = T0 + k * 300;
        let day = k as f64 / 288.0;
        let n = |s: u64| noise(k * 7 + s);
        let thr = |base: f64| base * (1.0 + 0.3 * (day * std::f64::consts::TAU).sin().abs());
        let devices = [
            // 256 MiB/day from 4 GiB on 16 GiB, not in the inventory.
            (
                "dev-leak",
                4.0 * GIB + 0.25 * GIB * day + 40e6 * n(1),
                16.0 * GIB,
                thr(2e9),
            ),
            // No leak: noise only.
            ("dev-flat", 6.0 * GIB + 200e6 * n(2), 16.0 * GIB, thr(1e9)),
            // 1 GiB/day from 3 GiB, rebooted weekly.
            (
                "dev-weekly",
                3.0 * GIB + GIB * (day % 7.0) + 20e6 * n(3),
                16.0 * GIB,
                thr(1e9),
            ),
            ("ha1a", 20.0 * GIB + 100e6 * n(4), 128.0 * GIB, thr(20e9)),
            ("ha1b", 18.0 * GIB + 100e6 * n(5), 128.0 * GIB, thr(1e6)),
        ];
        for (name, mem, total, thr) in devices {
            rows.push(format!(
                "{t},{name},{mem:.0},{total:.0},{thr:.0},{}",
                (thr / 1e5) as u64
            ));
        }
    }
    rows.reverse();
    let dups: Vec<String> = rows
        .iter()
        .rev()
        .take(60)
        .filter(|r| r.contains("dev-leak"))
        .cloned()
        .collect();
    rows.extend(dups);
    let mut out = String::from(
        "timestamp,device,mem_used_bytes,mem_total_bytes,throughput_bps,connections\n",
    );
    for r in rows {
        writeln!(out, "{r}").unwrap();
    }
    out
}

const SITES: &str = "site,timezone,windows\nS1,UTC,Sun 00:00-06:00\n";
const DEVICES: &str = "name,site,vendor,model,version,mgmt_host,ha_group,ha_role\n\
    ha1a,S1,f5,r5900,17.1.3,10.0.0.1,ha1,active\n\
    ha1b,S1,f5,r5900,17.1.3,10.0.0.2,ha1,standby\n\
    dev-flat,S1,kemp,LM-1500,7.2.60,10.0.0.3,,standalone\n\
    dev-weekly,S1,f5,i4800,15.1.10,10.0.0.4,,standalone\n";
const CANDIDATES: &str = "vendor,model,l4_throughput_gbps,memory_gb,price\n\
    f5,small,10,16,10000\nf5,mid,40,64,30000\nf5,big,100,256,60000\nf5,mystery,,64,\n";

fn setup() -> Test {
    Test::new()
        .file("inv/sites.csv", SITES)
        .file("inv/devices.csv", DEVICES)
        .file("cands.csv", CANDIDATES)
        .file("t.csv", telemetry(21))
}

fn rows(text: &str) -> Vec<csv::StringRecord> {
    csv::Reader::from_reader(text.as_bytes())
        .records()
        .map(Result::unwrap)
        .collect()
}

fn field<'a>(headers: &'a [&str], row: &'a csv::StringRecord, name: &str) -> &'a str {
    &row[headers
        .iter()
        .position(|h| *h == name)
        .unwrap_or_else(|| panic!("no column {name}"))]
}

#[test]
fn planted_leaks_are_recovered_and_the_rest_is_not_flagged() {
    let out = setup()
        .args(&[
            "evaluate",
            "--telemetry",
            "t.csv",
            "--inventory",
            "inv",
            "--candidates",
            "cands.csv",
            "-o",
            "out",
            "--format",
            "csv",
        ])
        .run();
    out.code(0).stderr_has("wrote").stderr_has("out/report.md");
    let devices = out.read("out/devices.csv");
    let headers: Vec<&str> = devices.lines().next().unwrap().split(',').collect();
    assert_eq!(
        headers[..12],
        [
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
            "projected_peak_bps"
        ]
    );
    let all = rows(&devices);
    let get = |name: &str| {
        all.iter()
            .find(|r| &r[0] == name)
            .unwrap_or_else(|| panic!("{name} missing"))
    };
    let f = |r: &csv::StringRecord, c: &str| field(&headers, r, c).to_string();
    let num = |r: &csv::StringRecord, c: &str| {
        f(r, c)
            .parse::<f64>()
            .unwrap_or_else(|_| panic!("{c}: {:?}", f(r, c)))
    };

    let leak = get("dev-leak");
    assert_eq!(f(leak, "leak"), "true");
    let rate = 0.25 * GIB;
    assert!(
        num(leak, "leak_ci_low") <= rate && rate <= num(leak, "leak_ci_high"),
        "{leak:?}"
    );
    assert_eq!(
        f(leak, "samples"),
        (21 * 288).to_string(),
        "duplicates merged"
    );
    assert_eq!(f(leak, "duplicates"), "12");
    assert_eq!(f(leak, "in_inventory"), "false");

    let flat = get("dev-flat");
    assert_eq!(f(flat, "leak"), "false");
    assert_eq!(f(flat, "leak_bytes_per_day"), "");
    assert_eq!(f(flat, "reboot_interval_days"), "");

    let weekly = get("dev-weekly");
    assert_eq!(
        f(weekly, "leak"),
        "true",
        "the saw-tooth is a leak, not a flat line"
    );
    assert_eq!(f(weekly, "reboots"), "2");
    assert!(num(weekly, "leak_ci_low") <= GIB && GIB <= num(weekly, "leak_ci_high"));
    // (0.9 × 16 − 3) GiB at ~1 GiB/day, / 1.5 → 7 days: weekly is just enough.
    assert_eq!(f(weekly, "reboot_interval_days"), "7");
    assert_eq!(f(weekly, "weekly_reboot_enough"), "true");

    // N+1: the pair must fit in one unit; candidates ranked by price per Gbit/s.
    let cands = out.read("out/candidates.csv");
    let ch: Vec<&str> = cands.lines().next().unwrap().split(',').collect();
    let ha: Vec<csv::StringRecord> = rows(&cands)
        .into_iter()
        .filter(|r| &r[0] == "ha1")
        .collect();
    let pair_need = num(get("ha1a"), "projected_peak_bps") + num(get("ha1b"), "projected_peak_bps");
    let needed: f64 = field(&ch, &ha[0], "needed_gbps").parse().unwrap();
    assert!(
        (needed - pair_need / 1e9 / 0.7).abs() < 0.01,
        "{needed} vs {pair_need}"
    );
    assert_eq!(field(&ch, &ha[0], "kind"), "current");
    assert_eq!(field(&ch, &ha[0], "model"), "r5900");
    let ranked: Vec<&str> = ha
        .iter()
        .filter(|r| !field(&ch, r, "rank").is_empty())
        .map(|r| field(&ch, r, "model"))
        .collect();
    // Both are enough: the cheaper first (30 000 before 60 000).
    assert_eq!(ranked, ["mid", "big"], "{ha:?}");
    let mystery = ha
        .iter()
        .find(|r| field(&ch, r, "model") == "mystery")
        .unwrap();
    assert_eq!(field(&ch, mystery, "feasible"), "");
    assert!(field(&ch, mystery, "why").contains("unknown: throughput"));
    let small = ha
        .iter()
        .find(|r| field(&ch, r, "model") == "small")
        .unwrap();
    assert_eq!(field(&ch, small, "feasible"), "false");

    let report = out.read("out/report.md");
    assert!(
        report.contains(
            "Not in the inventory (analysed anyway, no site or current model): dev-leak."
        )
    );
    assert!(report.contains("| dev-weekly | i4800 |"), "{report}");
    for svg in [
        "out/memory-dev-leak.svg",
        "out/memory-dev-weekly.svg",
        "out/capacity-ha1.svg",
    ] {
        let s = out.read(svg);
        assert!(
            s.starts_with("<svg") && s.trim_end().ends_with("</svg>"),
            "{svg}"
        );
        assert!(report.contains(svg.trim_start_matches("out/")));
    }
    assert!(!out.path_exists("out/memory-dev-flat.svg"));
}

#[test]
fn an_output_folder_that_is_a_file_is_named_in_the_error() {
    setup()
        .file("out", "not a folder")
        .args(&["evaluate", "--telemetry", "t.csv", "-o", "out"])
        .run()
        .code(2)
        .stderr_has("lbfleet: error: out: cannot create the output folder: File exists");
}

#[test]
fn a_longer_reboot_interval_than_the_leak_allows_is_a_finding() {
    setup()
        .args(&[
            "evaluate",
            "--telemetry",
            "t.csv",
            "--inventory",
            "inv",
            "--reboot-interval",
            "14d",
            "-o",
            "out",
        ])
        .run()
        .code(1)
        .stderr_has("leaking faster than a 14-day reboot interval allows: dev-weekly");
}

#[test]
fn bad_rows_stop_with_their_line_or_are_counted() {
    let mut t = telemetry(2);
    t.push_str("1790900000,dev-flat,lots,1,1,1\n");
    let bad_line = t.lines().count();
    let test = Test::new().file("t.csv", &t);
    let out = test
        .args(&["evaluate", "--telemetry", "t.csv", "-o", "out"])
        .run();
    out.code(2)
        .stderr_has(&format!("t.csv:{bad_line}"))
        .stderr_has("mem_used_bytes: \"lots\" is not a number");
    assert!(!out.path_exists("out/devices.csv"), "nothing half-written");
    let out = out
        .then()
        .args(&[
            "evaluate",
            "--telemetry",
            "t.csv",
            "-o",
            "out",
            "--skip-bad-rows",
        ])
        .run();
    out.code(0);
    assert!(out.read("out/report.md").contains(&format!(
        "Skipped 1 bad rows in t.csv (first at lines {bad_line})"
    )));
    Test::new()
        .file("t.csv", "when,device,mem_used_bytes\n")
        .args(&["evaluate", "--telemetry", "t.csv"])
        .run()
        .code(2)
        .stderr_has("t.csv:1: no `timestamp` column");
    Test::new()
        .file("t.csv", "timestamp,device,mem_used_bytes\n")
        .args(&["evaluate", "--telemetry", "t.csv", "--headroom", "130%"])
        .run()
        .code(2)
        .stderr_has("between 0 and 100 %");
}

#[test]
fn the_committed_sample_evaluation_is_not_stale() {
    let repo = crate::support::repo();
    let out = Test::new()
        .sample()
        .file(
            "telemetry/sample.csv",
            std::fs::read(repo.join("telemetry/sample.csv")).unwrap(),
        )
        .args(&["evaluate", "--telemetry", "telemetry/sample.csv"])
        .run();
    // cn01-lb09 leaks faster than weekly reboots allow: the sample's point.
    out.code(1)
        .stderr_has("leaking faster than a 7-day reboot interval allows: cn01-lb09");
    for f in [
        "devices.csv",
        "candidates.csv",
        "report.md",
        "memory-cn01-lb09.svg",
    ] {
        let committed = std::fs::read_to_string(repo.join("reports/evaluation").join(f)).unwrap();
        assert!(
            out.read(&format!("reports/evaluation/{f}")) == committed,
            "reports/evaluation/{f} is stale: regenerate with `cargo run --release -- evaluate --telemetry telemetry/sample.csv`"
        );
    }
}

#[test]
fn the_terminal_shows_the_essentials_and_wide_shows_every_column() {
    let args = [
        "evaluate",
        "--telemetry",
        "t.csv",
        "--inventory",
        "inv",
        "-o",
        "out",
    ];
    let out = setup().args(&args).run();
    out.code(0);
    let header = out.stdout.lines().next().unwrap().to_string();
    let columns: Vec<&str> = header.split_whitespace().collect();
    assert_eq!(
        columns,
        [
            "DEVICE",
            "LEAK_MIB_PER_DAY",
            "CYCLES",
            "DAYS_TO_EXHAUSTION",
            "REBOOT_EVERY_DAYS",
            "P95_GBPS",
            "PROJECTED_GBPS",
            "BASIS"
        ]
    );
    // devices.csv keeps every column whatever the terminal shows.
    assert!(
        out.read("out/devices.csv")
            .starts_with("device,samples,leak,")
    );
    let wide = out.then().args(&args).args(&["--wide"]).run();
    wide.code(0)
        .stdout_has("LEAK_CI_HIGH")
        .stdout_has("PROJECTION_BASIS");
}

/// The reviewer's case (issue 15): 12 devices, 28 days at 5-minute samples, 64 GiB each,
/// leaking 250-280 MB/day and rebooted every 7 days (a drop of about 1.8 GB, under 3 % of
/// the memory), ±50 MB noise; and a flat noisy device. Through the CSV reader and the CLI.
#[test]
fn weekly_reboots_freeing_under_3_percent_do_not_hide_the_leaks() {
    // SplitMix64: independent-looking noise (averages of neighbours stay noisy).
    let noise = |i: u64| {
        let mut z = (i + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        ((z >> 11) as f64 / (1u64 << 53) as f64) * 2.0 - 1.0
    };
    let mut csv = String::from("timestamp,device,mem_used_bytes,mem_total_bytes\n");
    let rates: Vec<f64> = (0..12)
        .map(|d| 250e6 + 30e6 * f64::from(d) / 11.0)
        .collect();
    for k in 0..28 * 288u64 {
        let t = T0 + k * 300;
        let day_in_week = (k % (7 * 288)) as f64 / 288.0;
        for (d, rate) in rates.iter().enumerate() {
            let mem = 30.0 * GIB + rate * day_in_week + 50e6 * noise(k * 13 + d as u64);
            writeln!(csv, "{t},lb{d:02},{mem:.0},{:.0}", 64.0 * GIB).unwrap();
        }
        let flat = 30.0 * GIB + 50e6 * noise(k * 13 + 12);
        writeln!(csv, "{t},flat,{flat:.0},{:.0}", 64.0 * GIB).unwrap();
    }
    let out = Test::new()
        .file("t.csv", csv)
        .args(&["evaluate", "--telemetry", "t.csv", "-o", "out"])
        .run();
    out.code(0);
    let devices = out.read("out/devices.csv");
    let headers: Vec<&str> = devices.lines().next().unwrap().split(',').collect();
    let rows = rows(&devices);
    assert_eq!(rows.len(), 13);
    for row in &rows {
        let name = field(&headers, row, "device");
        let leak = field(&headers, row, "leak");
        if name == "flat" {
            assert_eq!(leak, "false", "{row:?}");
            continue;
        }
        let rate = rates[name[2..].parse::<usize>().unwrap()];
        let got: f64 = field(&headers, row, "leak_bytes_per_day").parse().unwrap();
        assert_eq!(leak, "true", "{name}");
        assert!((got - rate).abs() / rate < 0.10, "{name}: {got} vs {rate}");
        assert_eq!(field(&headers, row, "reboots"), "3", "{name}");
        assert_eq!(field(&headers, row, "cycles_judged"), "4", "{name}");
    }
}

/// The candidates file's figures for the current model are the operator's datasheet: the
/// current box is judged on them, not on the catalog's.
#[test]
fn the_current_model_is_judged_on_the_candidates_file_figures() {
    let cands = "vendor,model,l4_throughput_gbps,memory_gb,price,currency\n\
        f5,R5900,100,64,50000,USD\nf5,small,10,16,10000,USD\n";
    let out = setup()
        .file("quotes.csv", cands)
        .args(&[
            "evaluate",
            "--telemetry",
            "t.csv",
            "--inventory",
            "inv",
            "--candidates",
            "quotes.csv",
            "-o",
            "out",
        ])
        .run();
    let table = out.read("out/candidates.csv");
    let headers: Vec<&str> = table.lines().next().unwrap().split(',').collect();
    let rows = rows(&table);
    let current = rows
        .iter()
        .find(|r| field(&headers, r, "unit") == "ha1" && field(&headers, r, "kind") == "current")
        .expect("ha1's current model");
    assert_eq!(field(&headers, current, "throughput_gbps"), "100");
    assert_eq!(field(&headers, current, "price"), "50000");
    assert_eq!(field(&headers, current, "currency"), "USD");
}

/// A model the catalog does not know is still the unit's current hardware: shown as the
/// baseline (judged on the candidates file's figures when it lists the model).
#[test]
fn an_unknown_current_model_is_still_the_baseline() {
    let devices = DEVICES.replace("kemp,LM-1500", "kemp,LM-X15");
    let cands = "vendor,model,l4_throughput_gbps,memory_gb\nkemp,lm-x15,15,8\nf5,small,10,16\n";
    let out = setup()
        .file("inv/devices.csv", devices)
        .file("quotes.csv", cands)
        .args(&[
            "evaluate",
            "--telemetry",
            "t.csv",
            "--inventory",
            "inv",
            "--candidates",
            "quotes.csv",
            "-o",
            "out",
        ])
        .run();
    let table = out.read("out/candidates.csv");
    let headers: Vec<&str> = table.lines().next().unwrap().split(',').collect();
    let rows = rows(&table);
    let current = rows
        .iter()
        .find(|r| {
            field(&headers, r, "unit") == "dev-flat" && field(&headers, r, "kind") == "current"
        })
        .expect("dev-flat's current model");
    assert!(
        field(&headers, current, "model").eq_ignore_ascii_case("LM-X15"),
        "{current:?}"
    );
    assert_eq!(field(&headers, current, "throughput_gbps"), "15");
}

/// The current hardware's end of software support (K9476 for iSeries) is an input of the
/// hardware decision: devices.csv and report.md carry the catalog's date.
#[test]
fn the_current_models_end_of_software_support_is_shown() {
    let catalog = Test::new()
        .args(&["catalog", "models", "--vendor", "f5", "--format", "csv"])
        .run();
    let text = catalog.stdout.clone();
    let headers: Vec<&str> = text.lines().next().unwrap().split(',').collect();
    let i4800 = rows(&text)
        .into_iter()
        .find(|r| field(&headers, r, "model") == "i4800")
        .unwrap();
    let date = field(&headers, &i4800, "end_of_software_support").to_string();
    assert!(!date.is_empty(), "the catalog dates iSeries EoSS");
    let out = setup()
        .args(&[
            "evaluate",
            "--telemetry",
            "t.csv",
            "--inventory",
            "inv",
            "--candidates",
            "cands.csv",
            "-o",
            "out",
        ])
        .run();
    let table = out.read("out/devices.csv");
    let headers: Vec<&str> = table.lines().next().unwrap().split(',').collect();
    let rows = rows(&table);
    let eoss = |name: &str| {
        let r = rows
            .iter()
            .find(|r| field(&headers, r, "device") == name)
            .unwrap();
        field(&headers, r, "end_of_software_support").to_string()
    };
    assert_eq!(eoss("dev-weekly"), date, "dev-weekly is an i4800");
    assert_eq!(eoss("dev-leak"), "", "not in the inventory");
    let report = out.read("out/report.md");
    assert!(
        report
            .lines()
            .any(|l| l.starts_with("End of software support")
                && l.contains(&format!("i4800 {date}"))),
        "{report}"
    );
}
