//! The telemetry arguments every command that reads telemetry shares (`evaluate`, `reboots plan`,
//! `verify-fix`): CSV files or a Prometheus server with a metrics mapping, validated into an
//! [`evaluator::Source`](crate::evaluator::Source) before any work starts.

use std::io::IsTerminal;
use std::path::PathBuf;

use super::plan::StartTime;
use crate::evaluator::Source;
use crate::evaluator::prometheus::{self, Endpoint, Mapping};
use crate::evaluator::telemetry::Telemetry;

/// Where telemetry comes from: `--telemetry FILE...` or `--prometheus URL`.
#[derive(Clone, Debug, Default, clap::Args)]
pub struct TelemetryArgs {
    /// Telemetry CSV files (timestamp, device, and any of mem_used_bytes, mem_total_bytes,
    /// throughput_bps, connections, cpu_pct, ssl_tps, uptime_s).
    #[arg(long, value_name = "FILE", num_args = 1.., conflicts_with = "prometheus")]
    pub(crate) telemetry: Vec<PathBuf>,
    /// Read telemetry from this Prometheus server instead (http://host:9090): hourly memory
    /// means, daily peaks, throughput quantiles, computed as from the CSV.
    #[arg(long, value_name = "URL")]
    pub(crate) prometheus: Option<Endpoint>,
    /// The metrics mapping for --prometheus: a TOML file naming the series selector of each
    /// metric and the device label [default: the README's example mapping for the SNMP
    /// exporter's F5 BIG-IP module].
    #[arg(
        long,
        value_name = "FILE",
        requires = "prometheus",
        conflicts_with = "telemetry"
    )]
    pub(crate) metrics: Option<PathBuf>,
    /// With --prometheus: how far back to read (`30d`, `6w`, `12h`).
    #[arg(
        long,
        value_name = "DURATION",
        default_value = "30d",
        requires = "prometheus",
        conflicts_with = "telemetry"
    )]
    pub(crate) prometheus_range: Range,
    /// With --prometheus: the end of the window (RFC 3339 or a UTC date) [default: now].
    #[arg(
        long,
        value_name = "DATETIME",
        requires = "prometheus",
        conflicts_with = "telemetry"
    )]
    pub(crate) prometheus_end: Option<StartTime>,
    /// With --prometheus: devices per query (a regex matcher on the device label).
    #[arg(long, value_name = "N", default_value_t = prometheus::BATCH as u32, value_parser = clap::value_parser!(u32).range(1..=10_000), requires = "prometheus", conflicts_with = "telemetry")]
    pub(crate) prometheus_batch: u32,
    /// With --prometheus: which API reads the samples.
    #[arg(long, value_name = "API", value_enum, default_value_t = prometheus::Api::Auto, requires = "prometheus", conflicts_with = "telemetry")]
    pub(crate) prometheus_api: prometheus::Api,
    /// With --prometheus: points per series per range query, at most (the tests page the
    /// window with a small one).
    #[arg(long, value_name = "N", default_value_t = prometheus::MAX_POINTS, value_parser = clap::value_parser!(u32).range(1..=11_000), hide = true, requires = "prometheus", conflicts_with = "telemetry")]
    pub(crate) prometheus_max_points: u32,
    /// Count and skip malformed telemetry rows (the report lists the first line numbers)
    /// instead of stopping at the first.
    #[arg(long, conflicts_with = "prometheus")]
    pub(crate) skip_bad_rows: bool,
}

/// A window length in seconds: `30d`, `6w`, `12h`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Range(pub u32);

impl Default for Range {
    fn default() -> Range {
        Range(30 * 86_400)
    }
}

impl std::str::FromStr for Range {
    type Err = String;

    fn from_str(s: &str) -> Result<Range, String> {
        let err = || format!("\"{s}\": expected a duration such as 30d, 6w or 12h");
        let t = s.trim().to_ascii_lowercase();
        let unit = match t.chars().last().ok_or_else(err)? {
            'h' => 3600,
            'd' => 86_400,
            'w' => 7 * 86_400,
            _ => return Err(err()),
        };
        let n: u32 = t[..t.len() - 1].trim().parse().map_err(|_| err())?;
        match n.checked_mul(unit) {
            Some(v) if (3600..=3 * 366 * 86_400).contains(&v) => Ok(Range(v)),
            _ => Err(format!("\"{s}\": must be from 1h to 3 years")),
        }
    }
}

impl TelemetryArgs {
    /// The validated source (the mapping file read and checked), `None` when no telemetry was
    /// given.
    pub fn source(&self) -> anyhow::Result<Option<Source>> {
        if let Some(endpoint) = &self.prometheus {
            let mapping = match &self.metrics {
                Some(p) => Mapping::from_file(p)?,
                None => Mapping::default_mapping(),
            };
            let end = self
                .prometheus_end
                .map_or_else(jiff::Timestamp::now, |t| t.0);
            let end = u32::try_from(end.as_second())
                .map_err(|_| anyhow::anyhow!("--prometheus-end: {end} is out of range"))?;
            let start = end
                .checked_sub(self.prometheus_range.0)
                .ok_or_else(|| anyhow::anyhow!("--prometheus-range reaches before 1970"))?;
            return Ok(Some(Source::Prometheus(Box::new(prometheus::Query {
                endpoint: endpoint.clone(),
                mapping,
                start,
                end,
                batch: self.prometheus_batch as usize,
                max_points: self.prometheus_max_points,
                api: self.prometheus_api,
            }))));
        }
        if self.telemetry.is_empty() {
            return Ok(None);
        }
        Ok(Some(Source::Csv {
            files: self.telemetry.clone(),
            skip_bad_rows: self.skip_bad_rows,
        }))
    }

    /// The validated source; an error when none was given.
    pub fn required(&self) -> anyhow::Result<Source> {
        self.source()?.ok_or_else(|| {
            anyhow::anyhow!("no telemetry: give --telemetry FILE... or --prometheus URL")
        })
    }

    /// Reads the telemetry (`None` when none was given), showing progress on stderr.
    pub fn load(&self) -> anyhow::Result<Option<(Source, Telemetry)>> {
        let Some(source) = self.source()? else {
            return Ok(None);
        };
        let t = load(&source)?;
        Ok(Some((source, t)))
    }
}

/// Reads a source, showing a Prometheus read's progress on stderr: a bar on a terminal, a line
/// per batch otherwise.
pub fn load(source: &Source) -> anyhow::Result<Telemetry> {
    let bar = (matches!(source, Source::Prometheus(_)) && std::io::stderr().is_terminal())
        .then(|| indicatif::ProgressBar::new(0));
    if let Some(b) = &bar {
        b.set_style(
            indicatif::ProgressStyle::with_template(
                "reading Prometheus [{bar:30}] {pos}/{len} devices",
            )
            .expect("valid template")
            .progress_chars("=> "),
        );
    }
    let now = || jiff::Timestamp::now().strftime("%H:%M:%S");
    let mut progress = |p: prometheus::Progress| match (p, &bar) {
        (prometheus::Progress::Devices { done, total }, Some(b)) => {
            b.set_length(total as u64);
            b.set_position(done as u64);
        }
        (prometheus::Progress::Devices { done, total }, None) => {
            eprintln!("{} prometheus: {done}/{total} devices read", now());
        }
        (prometheus::Progress::Fallback(why), _) => {
            let line = format!(
                "{} prometheus: no remote read ({why}): asking PromQL queries instead",
                now()
            );
            match &bar {
                Some(b) => b.println(line),
                None => eprintln!("{line}"),
            }
        }
    };
    let t = source.load(&mut progress);
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_in_hours_days_and_weeks() {
        assert_eq!("30d".parse::<Range>(), Ok(Range(30 * 86_400)));
        assert_eq!("12h".parse::<Range>(), Ok(Range(12 * 3600)));
        assert_eq!("2w".parse::<Range>(), Ok(Range(14 * 86_400)));
        for bad in ["30", "0d", "5y", "x"] {
            assert!(bad.parse::<Range>().is_err(), "{bad}");
        }
    }
}
