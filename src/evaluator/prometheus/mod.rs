//! Telemetry from a Prometheus server (`--prometheus URL`), aggregated by the server.
//!
//! The result is the same [`Telemetry`] the CSV reader gives, so the analysis is unchanged;
//! what the server computes (each PromQL below over whole UTC hours or days, at evaluation
//! times 1 ms before each hour's or day's end, so a window holds exactly the whole seconds of
//! that hour or day under both Prometheus 2's closed and 3's left-open ranges):
//!
//! - memory in use: hourly means, `sum_over_time(SEL[1h]) / count_over_time(SEL[1h])` (the
//!   hourly `avg_over_time`, as lbfleet sums and divides: Prometheus' own `avg_over_time` keeps
//!   an incremental mean that rounds differently in the last bits), step 1 h. Each hour becomes
//!   two full-precision points ([`DeviceData::mem_exact`]) with its mean, at the hour's first
//!   and last second (at the boot instant instead of the first second when a boot falls inside
//!   the hour), so the analysis forms the same hourly means, cycles and judged spans as from the
//!   raw samples;
//! - boots: `timestamp(SEL) - SEL` of the uptime, step 1 h (the latest sample of each hour);
//! - total memory: `max_over_time(SEL[RANGE])` over the whole window;
//! - throughput: `quantile_over_time(0.5|0.95|0.99, SEL[RANGE])` (linear interpolation between
//!   closest ranks, Hyndman–Fan type 7, the same definition as lbfleet's) and
//!   `count_over_time`, over the whole window; daily peaks `max_over_time(SEL[1d])`, step 1 d;
//! - connections, SSL TPS, CPU: daily peaks, `max_over_time(SEL[1d])`.
//!
//! The fleet is paged: the devices are listed first (`/api/v1/label/LABEL/values` with each
//! mapped selector as `match[]`), then queried [`BATCH`] at a time through a regex matcher on
//! the device label; each range query asks for at most [`MAX_POINTS`] points per series
//! (Prometheus refuses more than 11 000), so memory stays flat as the fleet and the window grow.

pub mod mapping;
pub mod remote;
pub mod xor;

use std::collections::BTreeMap;

pub use mapping::{Mapping, Selector};

use super::telemetry::{DeviceData, Telemetry, ThroughputSummary};
use crate::HashMap;

/// Devices per query.
pub const BATCH: usize = 100;
/// Points per series per range query, at most (Prometheus' own limit is 11 000).
pub const MAX_POINTS: u32 = 10_000;

/// A Prometheus server's base URL (`http://host:9090`, or with a path prefix behind a proxy).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint(String);

impl Endpoint {
    /// The URL as given, without a trailing slash.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for Endpoint {
    type Err = String;

    fn from_str(s: &str) -> Result<Endpoint, String> {
        let err = |why: &str| {
            format!(
                "\"{s}\": {why} (expected an http:// or https:// URL such as http://prometheus:9090)"
            )
        };
        let uri: ureq::http::Uri = s.trim().parse().map_err(|e| err(&format!("{e}")))?;
        match uri.scheme_str() {
            Some("http" | "https") => {}
            Some(other) => return Err(err(&format!("scheme `{other}` is not http or https"))),
            None => return Err(err("no scheme")),
        }
        if uri.host().is_none_or(str::is_empty) {
            return Err(err("no host"));
        }
        if uri.authority().is_some_and(|a| a.as_str().contains('@')) {
            // It would be written into schedules and reports, and is not sent anyway.
            return Err(err("credentials in the URL are not supported"));
        }
        if uri.query().is_some() {
            return Err(err("a query string is not allowed"));
        }
        Ok(Endpoint(s.trim().trim_end_matches('/').to_string()))
    }
}

/// What to read: where, which series, and which time window (Unix seconds, `[start, end)`).
#[derive(Clone, Debug)]
pub struct Query {
    /// The server.
    pub endpoint: Endpoint,
    /// Which series.
    pub mapping: Mapping,
    /// First second of the window (rounded down to the hour).
    pub start: u32,
    /// End of the window (rounded up to the hour).
    pub end: u32,
    /// Devices per query ([`BATCH`]).
    pub batch: usize,
    /// Points per series per range query, at most ([`MAX_POINTS`]; smaller in tests, to see
    /// the window paged).
    pub max_points: u32,
    /// Which API reads the samples.
    pub api: Api,
}

/// Which of Prometheus' APIs reads the telemetry (`--prometheus-api`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Api {
    /// Remote read where the server serves it, else PromQL queries.
    #[default]
    Auto,
    /// Remote read (`/api/v1/read`, streamed chunks): the raw samples, aggregated here in one
    /// pass; fastest, but every sample crosses the network (about 2 bytes each).
    Read,
    /// PromQL queries (`/api/v1/query_range`): aggregated by the server; only the results
    /// cross the network, for stores without remote read and for slow links.
    Query,
}

/// What a read reports as it goes.
#[derive(Debug, PartialEq, Eq)]
pub enum Progress<'a> {
    /// Devices read so far, of all.
    Devices {
        /// Read.
        done: usize,
        /// In all.
        total: usize,
    },
    /// The server does not serve remote read (why): the rest is asked with PromQL queries.
    Fallback(&'a str),
}

/// Why Prometheus could not be read. Every variant quotes the server's (or the network's) own
/// words.
#[derive(Debug, thiserror::Error)]
pub enum PromError {
    /// No connection (refused, no route, name not resolved, timeout).
    #[error("cannot reach Prometheus at {url}: {message}")]
    Connect {
        /// The request URL.
        url: String,
        /// What the network said.
        message: String,
    },
    /// An HTTP status that is not a Prometheus API answer.
    #[error("Prometheus at {url} answered HTTP {status}: {body}")]
    Http {
        /// The request URL.
        url: String,
        /// HTTP status code.
        status: u16,
        /// The start of the body.
        body: String,
    },
    /// The API answered `status: error`.
    #[error("Prometheus refused the query `{query}`: {error_type}: {error}")]
    Query {
        /// The PromQL (or the API path).
        query: String,
        /// `errorType` as the server gave it.
        error_type: String,
        /// `error` as the server gave it.
        error: String,
    },
    /// An answer that is not the API's JSON.
    #[error("Prometheus at {url} answered something that is not its API's JSON: {message}")]
    Decode {
        /// The request URL.
        url: String,
        /// What did not parse.
        message: String,
    },
    /// `--prometheus-api read` on a server that does not serve remote read.
    #[error("{url} does not serve remote read: {why} (use --prometheus-api query)")]
    NoRemoteRead {
        /// The request URL.
        url: String,
        /// What it answered.
        why: String,
    },
    /// A remote-read answer that could not be decoded.
    #[error("Prometheus at {url} answered a remote read that cannot be decoded: {message}")]
    Stream {
        /// The request URL.
        url: String,
        /// What is wrong with it.
        message: String,
    },
    /// A mapped selector that matches no series in the window, or gives a device several:
    /// the mapping file, the field and what to change.
    #[error("{0}")]
    Series(String),
}

#[derive(serde::Deserialize)]
struct Envelope<T> {
    status: String,
    data: Option<T>,
    #[serde(rename = "errorType")]
    error_type: Option<String>,
    error: Option<String>,
}

#[derive(Debug, serde::Deserialize)]
struct Data<T> {
    result: Vec<T>,
}

/// One series of a range query.
#[derive(Debug, serde::Deserialize)]
struct RangeSeries {
    metric: BTreeMap<String, String>,
    values: Vec<(f64, String)>,
}

/// One series of an instant query.
#[derive(Debug, serde::Deserialize)]
struct InstantSeries {
    metric: BTreeMap<String, String>,
    value: (f64, String),
}

/// The HTTP side: form POSTs to the API, JSON answers.
struct Client {
    agent: ureq::Agent,
    base: String,
}

impl Client {
    fn new(endpoint: &Endpoint) -> Client {
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_connect(Some(std::time::Duration::from_secs(10)))
            .timeout_global(Some(std::time::Duration::from_secs(600)))
            .tls_config(
                ureq::tls::TlsConfig::builder()
                    .provider(ureq::tls::TlsProvider::NativeTls)
                    .build(),
            )
            .build();
        Client {
            agent: config.into(),
            base: endpoint.as_str().to_string(),
        }
    }

    /// Sends the form to the API path (POST: queries of a batch are long; GET for the label
    /// values, which take no POST) and decodes `data`; `what` names the query in errors.
    fn call<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        form: &[(&str, String)],
        what: &str,
    ) -> Result<T, PromError> {
        let url = format!("{}{path}", self.base);
        let pairs = form.iter().map(|(k, v)| (*k, v.as_str()));
        let sent = if path.starts_with("/api/v1/label/") {
            self.agent.get(&url).query_pairs(pairs).call()
        } else {
            self.agent.post(&url).send_form(pairs)
        };
        let response = sent.map_err(|e| unreachable(&url, e))?;
        let status = response.status().as_u16();
        let json = content_type(&response).starts_with("application/json");
        let mut body = response.into_body();
        if !json {
            let text = body
                .with_config()
                .limit(64 * 1024)
                .read_to_string()
                .unwrap_or_default();
            return Err(PromError::Http {
                url,
                status,
                body: excerpt(&text),
            });
        }
        decode(body.into_reader(), what, &url, status)
    }
}

impl Client {
    /// Sends a remote-read request: the streamed answer, or why the server does not serve
    /// remote read (not found, or an answer that is not streamed chunks).
    fn stream(&self, body: &[u8]) -> Result<Result<ureq::BodyReader<'static>, String>, PromError> {
        let url = format!("{}/api/v1/read", self.base);
        let response = self
            .agent
            .post(&url)
            .header("Content-Type", "application/x-protobuf")
            .header("Content-Encoding", "snappy")
            .header("X-Prometheus-Remote-Read-Version", "0.1.0")
            .send(body)
            .map_err(|e| unreachable(&url, e))?;
        let status = response.status().as_u16();
        let kind = content_type(&response).to_string();
        let mut body = response.into_body();
        if status == 200 && kind == remote::STREAMED {
            return Ok(Ok(body.into_reader()));
        }
        let text = body
            .with_config()
            .limit(64 * 1024)
            .read_to_string()
            .unwrap_or_default();
        match status {
            // Not found, not allowed, a request it does not take (VictoriaMetrics: 400
            // "unsupported path"; a store answering only raw samples: 400), not implemented.
            400..=499 | 501 => Ok(Err(format!("HTTP {status}: {}", excerpt(&text)))),
            200 => Ok(Err(format!("it answered `{kind}`, not streamed chunks"))),
            _ => Err(PromError::Http {
                url,
                status,
                body: excerpt(&text),
            }),
        }
    }
}

/// A request that got no answer: the network's words.
fn unreachable(url: &str, e: ureq::Error) -> PromError {
    PromError::Connect {
        url: url.to_string(),
        message: match e {
            ureq::Error::Io(io) => io.to_string(),
            other => other.to_string(),
        },
    }
}

/// An answer's `Content-Type` ("" without one).
fn content_type(r: &ureq::http::Response<ureq::Body>) -> &str {
    r.headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

/// The start of a body, one line, for an error message.
fn excerpt(text: &str) -> String {
    let one: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if one.chars().count() > 300 {
        format!("{}…", one.chars().take(300).collect::<String>())
    } else {
        one
    }
}

/// Decodes an API answer (streamed: a batch's matrix is never held as text).
fn decode<T: serde::de::DeserializeOwned>(
    reader: impl std::io::Read,
    what: &str,
    url: &str,
    status: u16,
) -> Result<T, PromError> {
    let env: Envelope<T> =
        serde_json::from_reader(std::io::BufReader::new(reader)).map_err(|e| {
            PromError::Decode {
                url: url.to_string(),
                message: format!("HTTP {status}: {e}"),
            }
        })?;
    if env.status != "success" {
        return Err(PromError::Query {
            query: what.to_string(),
            error_type: env.error_type.unwrap_or_else(|| "error".into()),
            error: env.error.unwrap_or_default(),
        });
    }
    if !(200..300).contains(&status) {
        return Err(PromError::Http {
            url: url.to_string(),
            status,
            body: "status success with an error code".into(),
        });
    }
    env.data.ok_or_else(|| PromError::Decode {
        url: url.to_string(),
        message: "no `data`".into(),
    })
}

/// Seconds with milliseconds, as the API takes them.
fn secs(t: f64) -> String {
    format!("{t:.3}")
}

fn rfc3339(t: u32) -> String {
    jiff::Timestamp::from_second(i64::from(t)).map_or_else(|_| t.to_string(), |t| t.to_string())
}

/// A regex matching exactly these names, as a PromQL double-quoted string's contents.
fn any_of(names: &[String]) -> String {
    quote(&regex_of(names))
}

/// A regex matching exactly these names (the server anchors it).
fn regex_of(names: &[String]) -> String {
    names
        .iter()
        .map(|n| regex::escape(n))
        .collect::<Vec<_>>()
        .join("|")
}

/// How each device's series are collected in a batch.
#[derive(Default)]
struct Collect {
    /// Hourly means: (hour number, mean).
    hourly: Vec<(u32, f64)>,
    boots: Vec<u32>,
    mem_total: Option<f64>,
    thr: ThroughputSummary,
    thr_seen: bool,
    connections: BTreeMap<u32, f64>,
    ssl: BTreeMap<u32, f64>,
    cpu: BTreeMap<u32, f64>,
}

/// Reads the window's telemetry, reporting each batch of devices to `progress`.
pub fn read(q: &Query, progress: &mut dyn FnMut(Progress)) -> Result<Telemetry, PromError> {
    let client = Client::new(&q.endpoint);
    let m = &q.mapping;
    let start = q.start / 3600 * 3600;
    let end = q.end.div_ceil(3600).max(start / 3600 + 1) * 3600;

    let devices = list_devices(&client, m, start, end)?;

    let mut out = Telemetry::default();
    let mut present = [false; 7];
    let total = devices.len();
    let mut done = 0;
    progress(Progress::Devices { done, total });
    let batches: Vec<&[String]> = devices.chunks(q.batch.max(1)).collect();
    let one = |batch: &[String], api: Api| {
        let matcher = format!("{}=~\"{}\"", m.device_label, any_of(batch));
        let ctx = Ctx {
            client: &client,
            mapping: m,
            matcher: &matcher,
            start,
            end,
            max_points: q.max_points.max(1),
        };
        match api {
            Api::Query => ctx.queries().map(Ok),
            _ => ctx.remote(batch),
        }
    };
    let no_read = |why: String| PromError::NoRemoteRead {
        url: format!("{}/api/v1/read", client.base),
        why,
    };
    let mut take = |mut got: HashMap<String, Collect>,
                    batch: &[String],
                    progress: &mut dyn FnMut(Progress)| {
        for name in batch {
            if let Some(c) = got.remove(name) {
                out.devices
                    .push(device(name, c, &mut out.rows, &mut present));
            }
        }
        done += batch.len();
        progress(Progress::Devices { done, total });
    };
    // The first batch settles the API (`auto` falls back to queries where remote read is
    // not served); PromQL batches then go one at a time (their queries run side by side),
    // remote-read batches on a worker per core (at most 4), decoding while the server
    // streams.
    let mut api = q.api;
    let mut first = batches.iter();
    for batch in first.by_ref() {
        let got = match one(batch, api)? {
            Ok(got) => got,
            Err(why) if api == Api::Auto => {
                progress(Progress::Fallback(&why));
                api = Api::Query;
                one(batch, api)?.map_err(no_read)?
            }
            Err(why) => return Err(no_read(why)),
        };
        take(got, batch, progress);
        if api != Api::Query {
            break;
        }
    }
    let rest: Vec<&[String]> = first.copied().collect();
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get().min(4));
    let next = std::sync::atomic::AtomicUsize::new(0);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::scope(|scope| {
        for _ in 0..workers.min(rest.len()) {
            let tx = tx.clone();
            let (rest, next, one) = (&rest, &next, &one);
            scope.spawn(move || {
                loop {
                    let k = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(batch) = rest.get(k) else { break };
                    // The receiver is gone after an error: stop.
                    if tx.send((k, one(batch, Api::Read))).is_err() {
                        break;
                    }
                }
            });
        }
        drop(tx);
        for (k, r) in rx {
            match r {
                Ok(Ok(got)) => take(got, rest[k], progress),
                Ok(Err(why)) => {
                    next.store(rest.len(), std::sync::atomic::Ordering::Relaxed);
                    return Err(no_read(why));
                }
                Err(e) => {
                    next.store(rest.len(), std::sync::atomic::Ordering::Relaxed);
                    return Err(e);
                }
            }
        }
        Ok(())
    })?;
    // Batches end in any order; the devices are listed sorted, as asked.
    out.devices.sort_by(|a, b| a.name.cmp(&b.name));
    out.columns = super::telemetry::METRICS
        .iter()
        .zip(present)
        .filter(|(_, p)| *p)
        .map(|(c, _)| c.to_string())
        .collect();
    Ok(out)
}

/// The devices, sorted: every value of the device label on any mapped series in the window; a
/// selector that matches nothing is a mistake in the mapping.
fn list_devices(
    client: &Client,
    m: &Mapping,
    start: u32,
    end: u32,
) -> Result<Vec<String>, PromError> {
    let mut devices: Vec<String> = Vec::new();
    for (field, sel) in m.fields() {
        let path = format!("/api/v1/label/{}/values", m.device_label);
        let names: Vec<String> = client.call(
            &path,
            &[
                ("match[]", sel.to_string()),
                ("start", secs(f64::from(start))),
                ("end", secs(f64::from(end))),
            ],
            &format!("{path}?match[]={sel}"),
        )?;
        if names.is_empty() {
            return Err(PromError::Series(format!(
                "{}: field \"{field}\": `{sel}` matches no series between {} and {} (is the metric name or a matcher mistyped? device label `{}`)",
                m.source,
                rfc3339(start),
                rfc3339(end),
                m.device_label
            )));
        }
        devices.extend(names);
    }
    devices.sort_unstable();
    devices.dedup();
    Ok(devices)
}

/// One device's collected series as the CSV reader would give them.
fn device(name: &str, mut c: Collect, rows: &mut u64, present: &mut [bool; 7]) -> DeviceData {
    c.boots.sort_unstable();
    c.boots.dedup();
    c.hourly.sort_by_key(|h| h.0);
    let mut exact = Vec::with_capacity(c.hourly.len() * 2);
    for &(h, mean) in &c.hourly {
        let first = h * 3600;
        let last = first + 3599;
        // A boot inside the hour: the hour's mean starts the new cycle, at the boot.
        let i = c.boots.partition_point(|&b| b <= first);
        let at = c.boots.get(i).filter(|&&b| b < last).map_or(first, |&b| b);
        exact.push((at, mean));
        exact.push((last, mean));
    }
    *rows += c.hourly.len() as u64;
    present[0] |= !c.hourly.is_empty();
    present[1] |= c.mem_total.is_some();
    present[2] |= c.thr_seen;
    present[3] |= !c.connections.is_empty();
    present[4] |= !c.cpu.is_empty();
    present[5] |= !c.ssl.is_empty();
    present[6] |= !c.boots.is_empty();
    let mut d = DeviceData {
        name: name.to_string(),
        mem_total: c.mem_total,
        boots: c.boots,
        connections_daily: c.connections,
        ssl_daily: c.ssl,
        cpu_daily: c.cpu,
        mem_exact: exact,
        ..DeviceData::default()
    };
    if c.thr_seen && c.thr.samples > 0 {
        c.thr.max = c
            .thr
            .daily_peaks
            .values()
            .copied()
            .fold(f64::NEG_INFINITY, f64::max);
        d.throughput_summary = Some(c.thr);
    }
    d
}

/// One batch's queries.
struct Ctx<'a> {
    client: &'a Client,
    mapping: &'a Mapping,
    matcher: &'a str,
    start: u32,
    end: u32,
    max_points: u32,
}

impl Ctx<'_> {
    fn ambiguous(
        &self,
        field: &'static str,
        sel: &Selector,
        device: &str,
        a: &BTreeMap<String, String>,
        b: &BTreeMap<String, String>,
    ) -> PromError {
        let show = |m: &BTreeMap<String, String>| {
            let l: Vec<String> = m.iter().map(|(k, v)| format!("{k}=\"{v}\"")).collect();
            format!("{{{}}}", l.join(","))
        };
        PromError::Series(format!(
            "{}: field \"{field}\": `{sel}` gives device {device} more than one series ({} and {}): add matchers so that each device has one",
            self.mapping.source,
            show(a),
            show(b)
        ))
    }

    /// The batch through remote read: one query per mapped field, whose raw samples are
    /// aggregated here as they stream in (one series at a time: memory stays flat); why not,
    /// when the server does not serve it.
    fn remote(
        &self,
        batch: &[String],
    ) -> Result<Result<HashMap<String, Collect>, String>, PromError> {
        let m = self.mapping;
        let fields: Vec<(Kind, &'static str, &Selector)> = m
            .fields()
            .map(|(field, sel)| (Kind::of(field), field, sel))
            .collect();
        let (start_ms, end_ms) = (i64::from(self.start) * 1000, i64::from(self.end) * 1000);
        // Daily peaks cover whole UTC days, as `max_over_time(SEL[1d])` does for the queries.
        let days_ms = (
            i64::from(self.start / 86_400) * 86_400_000,
            i64::from(self.end.div_ceil(86_400)) * 86_400_000,
        );
        let range = |kind: Kind| match kind {
            Kind::Throughput | Kind::Peak(_) => days_ms,
            _ => (start_ms, end_ms),
        };
        let device = remote::Matcher {
            op: remote::MatchOp::Re,
            name: m.device_label.clone(),
            value: regex_of(batch),
        };
        let queries: Vec<remote::ReadQuery> = fields
            .iter()
            .map(|&(kind, _, sel)| remote::ReadQuery {
                start_ms: range(kind).0,
                end_ms: range(kind).1 - 1,
                matchers: sel.parsed.iter().cloned().chain([device.clone()]).collect(),
            })
            .collect();
        let url = format!("{}/api/v1/read", self.client.base);
        let reader = match self.client.stream(&remote::request(&queries))? {
            Ok(r) => r,
            Err(why) => return Ok(Err(why)),
        };
        let bad = |message: String| PromError::Stream {
            url: url.clone(),
            message,
        };
        let mut frames = remote::Frames::new(std::io::BufReader::with_capacity(1 << 16, reader));
        let mut got: HashMap<String, Collect> = HashMap::default();
        // Per query, each device's series: its labels, its last sample, and whether it ended.
        let mut seen: Vec<HashMap<String, Seen>> =
            fields.iter().map(|_| HashMap::default()).collect();
        // The series being read: its query and device, and its running aggregates.
        let mut open: Option<(usize, String)> = None;
        let mut run = Running::default();
        // One series' samples of a frame, before they are taken.
        let mut taken: Vec<(i64, f64)> = Vec::new();
        while let Some(msg) = frames.frame().map_err(&bad)? {
            let (index, series) = remote::response(msg).map_err(&bad)?;
            let Some(&(kind, field, sel)) = fields.get(index) else {
                return Err(bad(format!(
                    "an answer to query {index} of {}",
                    fields.len()
                )));
            };
            let (lo, hi) = range(kind);
            for s in series {
                let Some(&(_, dev)) = s.labels.iter().find(|(k, _)| *k == m.device_label) else {
                    continue;
                };
                // Chunks are whole: samples outside the range and values that are no number
                // (NaN: staleness markers) are left out.
                taken.clear();
                for (k, chunk) in s.chunks.iter().enumerate() {
                    if chunk.encoding != 1 {
                        return Err(PromError::Series(format!(
                            "{}: field \"{field}\": `{sel}` gives device {dev} native histograms (chunk encoding {}), not a gauge",
                            m.source, chunk.encoding
                        )));
                    }
                    let decoded = xor::decode(chunk.data, |t, v| {
                        if t >= lo && t < hi && v.is_finite() {
                            taken.push((t, v));
                        }
                    });
                    match decoded {
                        Ok(_) => {}
                        // The server's open head chunk can grow while it is sent (its sample
                        // count ahead of the bytes copied): the samples before the cut stand.
                        Err(e) if k + 1 == s.chunks.len() && e == xor::Corrupt::CUT => {}
                        Err(e) => {
                            return Err(bad(format!(
                                "a chunk of {field} for device {dev}: {}",
                                e.0
                            )));
                        }
                    }
                }
                // A series with nothing in the window is as if absent (as from the queries).
                if taken.is_empty() {
                    continue;
                }
                let labels: BTreeMap<String, String> = s
                    .labels
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect();
                if open.as_ref().is_none_or(|(i, d)| *i != index || d != dev) {
                    if let Some((i, d)) = open.take() {
                        run.finish(fields[i].0, got.entry(d.clone()).or_default());
                        if let Some(x) = seen[i].get_mut(&d) {
                            x.ended = true;
                        }
                    }
                    open = Some((index, dev.to_string()));
                }
                let state = seen[index].entry(dev.to_string()).or_insert_with(|| Seen {
                    labels: labels.clone(),
                    last: i64::MIN,
                    ended: false,
                });
                if state.labels != labels {
                    return Err(self.ambiguous(field, sel, dev, &state.labels, &labels));
                }
                if state.ended {
                    return Err(bad(format!(
                        "the series of {field} for device {dev} came back after others"
                    )));
                }
                let c = got.entry(dev.to_string()).or_default();
                let window = start_ms..end_ms;
                for &(t, v) in &taken {
                    // Repeats where the series' chunks overlap are left out.
                    if t > state.last {
                        state.last = t;
                        run.add(kind, c, t, v, window.contains(&t));
                    }
                }
            }
        }
        if let Some((i, d)) = open {
            run.finish(fields[i].0, got.entry(d).or_default());
        }
        Ok(Ok(got))
    }

    /// The batch through PromQL queries, aggregated by the server.
    fn queries(&self) -> Result<HashMap<String, Collect>, PromError> {
        let m = self.mapping;
        let mut got: HashMap<String, Collect> = HashMap::default();
        // The batch's queries run side by side (the server answers them concurrently), then
        // their points are merged.
        let mut jobs: Vec<(Part, &'static str, &Selector)> = Vec::new();
        if let Some(sel) = &m.mem_used_bytes {
            jobs.push((Part::Mean, "mem_used_bytes", sel));
        }
        if let Some(sel) = &m.uptime_s {
            jobs.push((Part::Boots, "uptime_s", sel));
        }
        for (field, sel, slot) in [
            ("connections", &m.connections, 0),
            ("ssl_tps", &m.ssl_tps, 1),
            ("cpu_pct", &m.cpu_pct, 2),
            ("throughput_bps", &m.throughput_bps, 3),
        ] {
            if let Some(sel) = sel {
                jobs.push((Part::Peak(slot), field, sel));
            }
        }
        if let Some(sel) = &m.mem_total_bytes {
            jobs.push((Part::Total, "mem_total_bytes", sel));
        }
        if let Some(sel) = &m.throughput_bps {
            for i in 0..4 {
                jobs.push((Part::Quantile(i), "throughput_bps", sel));
            }
        }
        let ctx = self;
        let results: Vec<Result<(Part, Points), PromError>> = std::thread::scope(|scope| {
            let handles: Vec<_> = jobs
                .iter()
                .map(|&(part, field, sel)| {
                    scope.spawn(move || ctx.run(part, field, sel).map(|p| (part, p)))
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("queries do not panic"))
                .collect()
        });
        for r in results {
            let (part, points) = r?;
            for (dev, values) in points {
                let c = got.entry(dev).or_default();
                for (step, v) in values {
                    match part {
                        Part::Mean => c.hourly.push((step, v)),
                        Part::Boots => c
                            .boots
                            .push(v.round().clamp(0.0, f64::from(u32::MAX)) as u32),
                        Part::Peak(slot) => {
                            let map = match slot {
                                0 => &mut c.connections,
                                1 => &mut c.ssl,
                                2 => &mut c.cpu,
                                _ => &mut c.thr.daily_peaks,
                            };
                            map.insert(step, v);
                        }
                        Part::Total => c.mem_total = Some(v),
                        Part::Quantile(i) => {
                            c.thr_seen = true;
                            match i {
                                0 => c.thr.p50 = v,
                                1 => c.thr.p95 = v,
                                2 => c.thr.p99 = v,
                                _ => c.thr.samples = v as usize,
                            }
                        }
                    }
                }
            }
        }
        Ok(got)
    }

    /// One of a batch's queries (see [`Part`]).
    fn run(&self, part: Part, field: &'static str, sel: &Selector) -> Result<Points, PromError> {
        let window =
            |f: &str| format!("{f}{}[{}s])", sel.with(self.matcher), self.end - self.start);
        match part {
            // The mean as lbfleet takes it (sum / count): avg_over_time's incremental mean
            // rounds differently in the last bits, enough to break ties the CSV path sees.
            Part::Mean => self.range(
                field,
                sel,
                &|s| format!("sum_over_time({s}[1h]) / count_over_time({s}[1h])"),
                3600,
            ),
            Part::Boots => self.boots(field, sel),
            Part::Peak(_) => self.range(field, sel, &|s| format!("max_over_time({s}[1d])"), 86_400),
            Part::Total => self.instant(field, sel, &window("max_over_time(")),
            Part::Quantile(i) => {
                let f = [
                    "quantile_over_time(0.5, ",
                    "quantile_over_time(0.95, ",
                    "quantile_over_time(0.99, ",
                    "count_over_time(",
                ][i];
                self.instant(field, sel, &window(f))
            }
        }
    }

    /// Boot instants, exact: the hours where a device's latest uptime is under an hour (a boot
    /// in or just before that hour) and each device's first hour (the boot before the
    /// window, which tells the analysis that reboots come from the uptime), then at each such
    /// hour's end `timestamp(SEL) - SEL` of that device, many in one query with `@`.
    /// (`timestamp()` over a whole range query costs the server a decode from the block's start
    /// at every step: minutes for a fleet.)
    fn boots(&self, field: &'static str, sel: &Selector) -> Result<Points, PromError> {
        let latest = self.range(field, sel, &|s| format!("last_over_time({s}[1h])"), 3600)?;
        let mut asks: Vec<(String, u32)> = Vec::new();
        let mut first: HashMap<String, u32> = HashMap::default();
        for (dev, values) in latest {
            for (h, v) in values {
                let f = first.entry(dev.clone()).or_insert(h);
                *f = (*f).min(h);
                if v < 3600.0 {
                    asks.push((dev.clone(), h));
                }
            }
        }
        asks.extend(first);
        asks.sort_unstable();
        asks.dedup();
        let mut out = Vec::new();
        for chunk in asks.chunks(100) {
            let terms: Vec<String> = chunk
                .iter()
                .enumerate()
                .map(|(i, (dev, h))| {
                    let one = sel.with(&format!("{}=\"{}\"", self.mapping.device_label, quote(dev)));
                    let at = secs(f64::from(h + 1) * 3600.0 - 0.001);
                    format!(
                        "label_replace(timestamp({one} @ {at}) - {one} @ {at}, \"lbfleet_ask\", \"{i}\", \"\", \"\")"
                    )
                })
                .collect();
            out.extend(self.instant(field, sel, &terms.join(" or "))?);
        }
        Ok(out)
    }

    /// A range query over the window in steps of `step` seconds (hours or days), evaluated
    /// 1 ms before each step's end, in chunks of at most `max_points` points: per series, its
    /// device and (step number, value).
    fn range(
        &self,
        field: &'static str,
        sel: &Selector,
        expr: &dyn Fn(&str) -> String,
        step: u32,
    ) -> Result<Points, PromError> {
        let query = expr(&sel.with(self.matcher));
        let first = self.start / step;
        let last = (self.end - 1) / step;
        let mut from = first;
        let mut out = Vec::new();
        while from <= last {
            let to = (from + self.max_points - 1).min(last);
            let data: Data<RangeSeries> = self.client.call(
                "/api/v1/query_range",
                &[
                    ("query", query.clone()),
                    ("start", secs(f64::from(from + 1) * f64::from(step) - 0.001)),
                    ("end", secs(f64::from(to + 1) * f64::from(step) - 0.001)),
                    ("step", step.to_string()),
                ],
                &query,
            )?;
            let mut seen: HashMap<String, BTreeMap<String, String>> = HashMap::default();
            for s in data.result {
                let Some(dev) = s.metric.get(&self.mapping.device_label).cloned() else {
                    continue;
                };
                if let Some(other) = seen.get(&dev) {
                    return Err(self.ambiguous(field, sel, &dev, other, &s.metric));
                }
                let values: Vec<(u32, f64)> = s
                    .values
                    .iter()
                    .filter_map(|(t, v)| {
                        let v = v.parse::<f64>().ok().filter(|v| v.is_finite())?;
                        Some(((t / f64::from(step)).floor() as u32, v))
                    })
                    .collect();
                out.push((dev.clone(), values));
                seen.insert(dev, s.metric);
            }
            from = to + 1;
        }
        Ok(out)
    }

    /// An instant query at the window's end: per series, its device and (0, value).
    fn instant(
        &self,
        field: &'static str,
        sel: &Selector,
        query: &str,
    ) -> Result<Points, PromError> {
        let data: Data<InstantSeries> = self.client.call(
            "/api/v1/query",
            &[
                ("query", query.to_string()),
                ("time", secs(f64::from(self.end) - 0.001)),
            ],
            query,
        )?;
        let mut seen: HashMap<String, BTreeMap<String, String>> = HashMap::default();
        let mut out = Vec::new();
        for mut s in data.result {
            // The boots' terms are told apart by their own label.
            let ask = s.metric.remove("lbfleet_ask");
            let Some(dev) = s.metric.get(&self.mapping.device_label).cloned() else {
                continue;
            };
            if ask.is_none()
                && let Some(other) = seen.get(&dev)
            {
                return Err(self.ambiguous(field, sel, &dev, other, &s.metric));
            }
            if let Ok(v) = s.value.1.parse::<f64>()
                && v.is_finite()
            {
                out.push((dev.clone(), vec![(0, v)]));
            }
            seen.insert(dev, s.metric);
        }
        Ok(out)
    }
}

/// A value as the contents of a PromQL double-quoted string.
fn quote(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// What a remote-read query's samples become.
#[derive(Clone, Copy, Debug)]
enum Kind {
    /// Hourly means of memory in use.
    Mean,
    /// Boot instants from the uptime.
    Boots,
    /// Total memory: the largest.
    Total,
    /// Throughput: quantiles, count and daily peaks.
    Throughput,
    /// Daily peaks: 0 connections, 1 SSL TPS, 2 CPU.
    Peak(usize),
}

impl Kind {
    /// What a mapped field's samples become.
    fn of(field: &str) -> Kind {
        match field {
            "mem_used_bytes" => Kind::Mean,
            "uptime_s" => Kind::Boots,
            "mem_total_bytes" => Kind::Total,
            "throughput_bps" => Kind::Throughput,
            "connections" => Kind::Peak(0),
            "ssl_tps" => Kind::Peak(1),
            // cpu_pct: `Mapping::fields` names no other.
            _ => Kind::Peak(2),
        }
    }
}

/// A device's series of one remote-read query.
struct Seen {
    labels: BTreeMap<String, String>,
    /// The last sample's timestamp, ms.
    last: i64,
    /// Whether another series came after it.
    ended: bool,
}

/// The running aggregates of the series being read.
#[derive(Default)]
struct Running {
    /// The hour being summed: (hour number, sum, count).
    hour: Option<(u32, f64, u32)>,
    /// The day being scanned for its peak: (day number, peak).
    day: Option<(u32, f64)>,
    /// Throughput samples as order keys ([`order_key`]).
    keys: Vec<u64>,
    /// The previous uptime.
    uptime: Option<f64>,
}

impl Running {
    /// Adds a sample (`t` in milliseconds, after the series' previous one) of device `c`;
    /// `inside`: in the window, not only in the whole days around it (daily peaks).
    #[inline(always)]
    fn add(&mut self, kind: Kind, c: &mut Collect, t: i64, v: f64, inside: bool) {
        let secs = t.div_euclid(1000);
        match kind {
            Kind::Mean => {
                let hour = (secs / 3600) as u32;
                match &mut self.hour {
                    Some((h, sum, n)) if *h == hour => {
                        *sum += v;
                        *n += 1;
                    }
                    open => {
                        if let Some((h, sum, n)) = open.take() {
                            c.hourly.push((h, sum / f64::from(n)));
                        }
                        *open = Some((hour, v, 1));
                    }
                }
            }
            Kind::Boots => {
                // A boot where the uptime starts or goes down (as `resets()` counts them): the
                // device's clock drifting against the server's moves `t - uptime` slowly,
                // which is no boot.
                if self.uptime.is_none_or(|u| v < u) {
                    let boot = (t as f64 / 1000.0 - v).round();
                    c.boots.push(boot.clamp(0.0, f64::from(u32::MAX)) as u32);
                }
                self.uptime = Some(v);
            }
            Kind::Total => c.mem_total = Some(c.mem_total.map_or(v, |m| m.max(v))),
            Kind::Throughput | Kind::Peak(_) => {
                if let Kind::Throughput = kind
                    && inside
                {
                    self.keys.push(order_key(v));
                }
                let day = (secs / 86_400) as u32;
                match &mut self.day {
                    Some((d, p)) if *d == day => *p = p.max(v),
                    open => {
                        if let Some((d, p)) = open.take() {
                            peaks(kind, c).insert(d, p);
                        }
                        *open = Some((day, v));
                    }
                }
            }
        }
    }

    /// Ends a device's series of one query: the last hour's mean and day's peak, the
    /// throughput's quantiles.
    fn finish(&mut self, kind: Kind, c: &mut Collect) {
        if let Some((h, sum, n)) = self.hour.take() {
            c.hourly.push((h, sum / f64::from(n)));
        }
        if let Some((d, p)) = self.day.take() {
            peaks(kind, c).insert(d, p);
        }
        if let Kind::Throughput = kind
            && let Some(q) = crate::evaluator::stats::quantiles_of_keys(
                &mut self.keys,
                &[0.50, 0.95, 0.99],
                from_key,
            )
        {
            c.thr.samples = self.keys.len();
            (c.thr.p50, c.thr.p95, c.thr.p99) = (q[0], q[1], q[2]);
            c.thr_seen = true;
        }
        self.keys.clear();
        self.uptime = None;
    }
}

/// Where a kind's daily peaks go.
fn peaks(kind: Kind, c: &mut Collect) -> &mut BTreeMap<u32, f64> {
    match kind {
        Kind::Peak(0) => &mut c.connections,
        Kind::Peak(1) => &mut c.ssl,
        Kind::Peak(_) => &mut c.cpu,
        _ => &mut c.thr.daily_peaks,
    }
}

/// A float's key in the total order of floats (`from_key` inverts it).
fn order_key(v: f64) -> u64 {
    let b = v.to_bits();
    if b >> 63 == 1 { !b } else { b | 1 << 63 }
}

fn from_key(k: u64) -> f64 {
    f64::from_bits(if k >> 63 == 1 { k & !(1 << 63) } else { !k })
}

/// What one query of a batch gives: per series, its device and (hour or day number, value).
type Points = Vec<(String, Vec<(u32, f64)>)>;

/// Which of a batch's queries.
#[derive(Clone, Copy, Debug)]
enum Part {
    /// Hourly means of memory in use.
    Mean,
    /// Boot instants from the uptime.
    Boots,
    /// Daily peaks: 0 connections, 1 SSL TPS, 2 CPU, 3 throughput.
    Peak(usize),
    /// Total memory over the window.
    Total,
    /// Throughput over the window: 0 p50, 1 p95, 2 p99, 3 the sample count.
    Quantile(usize),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_checked_before_anything_is_asked() {
        let e: Endpoint = "http://127.0.0.1:9090/".parse().unwrap();
        assert_eq!(e.as_str(), "http://127.0.0.1:9090");
        let p: Endpoint = "https://mon.example/prometheus".parse().unwrap();
        assert_eq!(p.as_str(), "https://mon.example/prometheus");
        for bad in [
            "127.0.0.1:9090",
            "ftp://x",
            "http://",
            "not a url",
            "http://x/?a=b",
        ] {
            let e = bad.parse::<Endpoint>().unwrap_err();
            assert!(e.starts_with(&format!("\"{bad}\"")), "{e}");
        }
    }

    #[test]
    fn device_names_are_escaped_for_the_regex_and_the_string() {
        let re = any_of(&["lb.1".into(), "a\"b".into(), "c|d".into()]);
        assert_eq!(re, r#"lb\\.1|a\"b|c\\|d"#);
    }

    // Captured from Prometheus 2.42 (`/api/v1/query_range`, a bad query, and a vector).
    #[test]
    fn the_api_answers_decode_and_errors_quote_the_server() {
        let ok = br#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"device":"lb1"},"values":[[1700003599.999,"4294967296"],[1700007199.999,"NaN"]]}]}}"#;
        let r: Data<RangeSeries> = decode(&ok[..], "q", "u", 200).unwrap();
        assert_eq!(r.result[0].metric["device"], "lb1");
        assert_eq!(r.result[0].values[0].1, "4294967296");
        let bad = br#"{"status":"error","errorType":"bad_data","error":"1:15: parse error: unexpected \"]\""}"#;
        let e = decode::<Data<RangeSeries>>(&bad[..], "avg_over_time(x[1h]])", "u", 400)
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "Prometheus refused the query `avg_over_time(x[1h]])`: bad_data: 1:15: parse error: unexpected \"]\""
        );
        let v = br#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{"device":"lb1"},"value":[1700003599.999,"17179869184"]}]}}"#;
        let r: Data<InstantSeries> = decode(&v[..], "q", "u", 200).unwrap();
        assert_eq!(r.result[0].value.1, "17179869184");
        let e = decode::<Data<InstantSeries>>(&b"<html>"[..], "q", "http://x/api", 502)
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("Prometheus at http://x/api answered something"),
            "{e}"
        );
    }

    #[test]
    fn an_hour_with_a_boot_starts_the_new_cycle_at_the_boot() {
        let c = Collect {
            hourly: vec![(10, 5.0), (11, 1.0)],
            boots: vec![11 * 3600 + 20, 11 * 3600 + 20, 100],
            ..Collect::default()
        };
        let (mut rows, mut present) = (0, [false; 7]);
        let d = device("lb1", c, &mut rows, &mut present);
        let t: Vec<u32> = d.mem_exact.iter().map(|s| s.0).collect();
        assert_eq!(t, [36_000, 36_000 + 3599, 11 * 3600 + 20, 11 * 3600 + 3599]);
        assert_eq!(d.boots, [100, 11 * 3600 + 20]);
        assert_eq!(rows, 2);
        assert_eq!(present, [true, false, false, false, false, false, true]);
        // Everything else goes to the device as collected.
        let peaks = |day: u32, v: f64| BTreeMap::from([(day, v)]);
        let c = Collect {
            hourly: vec![(10, 5.0)],
            mem_total: Some(32.0),
            connections: peaks(1, 10.0),
            ssl: peaks(2, 20.0),
            cpu: peaks(3, 30.0),
            ..Collect::default()
        };
        let d = device("lb2", c, &mut rows, &mut present);
        assert_eq!(d.name, "lb2");
        assert_eq!(d.mem_total, Some(32.0));
        assert_eq!(
            (d.connections_daily, d.ssl_daily, d.cpu_daily),
            (peaks(1, 10.0), peaks(2, 20.0), peaks(3, 30.0))
        );
        assert!(d.throughput_summary.is_none());
        assert_eq!(present, [true, true, false, true, true, true, true]);
        // Throughput with samples: its summary, the largest daily peak as its maximum; a boot
        // on an hour's last second starts no cycle inside it.
        let mut thr = ThroughputSummary {
            samples: 3,
            p50: 1.0,
            daily_peaks: BTreeMap::from([(1, 5.0), (2, 9.0), (3, 7.0)]),
            ..ThroughputSummary::default()
        };
        let c = Collect {
            hourly: vec![(10, 5.0)],
            boots: vec![10 * 3600 + 3599],
            thr: thr.clone(),
            thr_seen: true,
            ..Collect::default()
        };
        let mut present = [false; 7];
        let d = device("lb3", c, &mut rows, &mut present);
        assert_eq!(d.mem_exact, [(36_000, 5.0), (36_000 + 3599, 5.0)]);
        thr.max = 9.0;
        assert_eq!(d.throughput_summary, Some(thr.clone()));
        assert!(present[2]);
        // Seen, but no sample with a value: no summary.
        let c = Collect {
            thr: ThroughputSummary { samples: 0, ..thr },
            thr_seen: true,
            ..Collect::default()
        };
        assert!(
            device("lb4", c, &mut rows, &mut present)
                .throughput_summary
                .is_none()
        );
        // Counted but never seen (no throughput series): none either.
        let c = Collect {
            thr: ThroughputSummary {
                samples: 3,
                ..ThroughputSummary::default()
            },
            ..Collect::default()
        };
        let d = device("lb5", c, &mut rows, &mut present);
        assert!(d.throughput_summary.is_none());
    }

    #[test]
    fn order_keys_sort_as_the_floats_do_and_give_them_back() {
        let v = [
            f64::NEG_INFINITY,
            -1e300,
            -1.5,
            -1e-300,
            -0.0,
            0.0,
            1e-300,
            2.0,
            1e300,
            f64::INFINITY,
        ];
        for w in v.windows(2) {
            assert!(order_key(w[0]) < order_key(w[1]), "{w:?}");
        }
        for x in v {
            assert_eq!(from_key(order_key(x)).to_bits(), x.to_bits(), "{x}");
        }
    }

    /// Remote read's samples go through [`Running`] as the CSV reader's rows would.
    #[test]
    fn streamed_samples_become_hourly_means_boots_peaks_and_quantiles() {
        let mut run = Running::default();
        let mut c = Collect::default();
        let ms = |s: i64| s * 1000;
        // Memory: two samples in hour 0 (one on its first second), three in hour 1 (one on
        // its last second), one in hour 3.
        for (t, v) in [
            (0, 10.0),
            (1800, 20.0),
            (3600, 1.0),
            (3601, 2.0),
            (7199, 6.0),
            (3 * 3600 + 5, 7.0),
            (3 * 3600 + 10, 9.0),
        ] {
            run.add(Kind::Mean, &mut c, ms(t), v, true);
        }
        run.finish(Kind::Mean, &mut c);
        assert_eq!(c.hourly, [(0, 15.0), (1, 3.0), (3, 8.0)]);
        // The next series starts afresh.
        let mut other = Collect::default();
        run.add(Kind::Mean, &mut other, ms(3 * 3600 + 9), 100.0, true);
        run.finish(Kind::Mean, &mut other);
        assert_eq!(other.hourly, [(3, 100.0)]);
        // Boots: t - uptime where the uptime starts or goes down (a reading that repeats the
        // last uptime is none). A device clock drifting
        // 200 s against the server's (t - uptime creeping up, uptime never down) is no boot.
        for (t, up) in [
            (1000, 100.0),
            (1060, 160.4),
            (1100, 5.0),
            (1200, 45.0),
            (1260, 45.0),
            (90_000, 88_705.0),
            (200_000, 198_700.0),
            (200_100, 3.4),
        ] {
            run.add(Kind::Boots, &mut c, ms(t), up, true);
        }
        run.finish(Kind::Boots, &mut c);
        assert_eq!(c.boots, [900, 1095, 200_097]);
        // The next device's first reading is its boot, whatever the last one's uptime was.
        let mut other = Collect::default();
        run.add(Kind::Boots, &mut other, ms(500_000), 400_000.0, true);
        run.finish(Kind::Boots, &mut other);
        assert_eq!(other.boots, [100_000]);
        // Total memory: the largest.
        for v in [4.0, 9.0, 8.0] {
            run.add(Kind::Total, &mut c, ms(1), v, true);
        }
        assert_eq!(c.mem_total, Some(9.0));
        // Throughput 1..=100 over two days: type-7 quantiles, the count, daily peaks.
        for i in 1..=100i64 {
            let day = if i <= 60 { 0 } else { 86_400 };
            run.add(
                Kind::Throughput,
                &mut c,
                ms(day + i),
                (101 - i) as f64,
                true,
            );
        }
        // Outside the window, in its first or last day: a daily peak, not a sample.
        run.add(Kind::Throughput, &mut c, ms(86_400 + 500), 1000.0, false);
        run.finish(Kind::Throughput, &mut c);
        assert!(c.thr_seen);
        assert_eq!(c.thr.samples, 100);
        assert!((c.thr.p50 - 50.5).abs() < 1e-12, "{}", c.thr.p50);
        assert!((c.thr.p95 - 95.05).abs() < 1e-12, "{}", c.thr.p95);
        assert!((c.thr.p99 - 99.01).abs() < 1e-12, "{}", c.thr.p99);
        assert_eq!(
            c.thr
                .daily_peaks
                .iter()
                .map(|(d, p)| (*d, *p))
                .collect::<Vec<_>>(),
            [(0, 100.0), (1, 1000.0)]
        );
        // Daily peaks of the other gauges, each in its own map.
        for (slot, series) in [
            (0, &[(10, 5.0), (20, 7.0), (86_400, 1.0)][..]),
            (1, &[(5, 3.0)]),
            (2, &[(5, 2.0)]),
        ] {
            for &(t, v) in series {
                run.add(Kind::Peak(slot), &mut c, ms(t), v, true);
            }
            run.finish(Kind::Peak(slot), &mut c);
        }
        assert_eq!(
            c.connections
                .iter()
                .map(|(d, p)| (*d, *p))
                .collect::<Vec<_>>(),
            [(0, 7.0), (1, 1.0)]
        );
        assert_eq!(c.ssl.get(&0), Some(&3.0));
        assert_eq!(c.cpu.get(&0), Some(&2.0));
    }
}
