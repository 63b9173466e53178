//! Reading telemetry CSV: streaming, on every core, in bounded memory.
//!
//! A file has a header with `timestamp` (RFC 3339, or Unix seconds) and `device`, and any of
//! `mem_used_bytes`, `mem_total_bytes`, `throughput_bps`, `connections`, `cpu_pct`, `ssl_tps`,
//! `uptime_s` (other columns are ignored). An empty cell is a missing sample. Rows may be unsorted,
//! duplicated and gappy: each device's samples are sorted later and duplicates (same device and
//! second) merged, later rows winning.
//!
//! The file is read in 1 MiB blocks split at line ends, one worker per core: each reads its
//! next block itself, parses it into per-device samples (time in Unix seconds, memory and
//! throughput as `f32`), hands the result in and, unless another worker is doing so, merges
//! the results that are next in file order into fixed-size chunks that keep each sample at
//! 10 bytes (see [`Chunked`]). Connections and SSL transactions are kept only as daily peaks,
//! `mem_total_bytes` as its largest value.
//!
//! Each line is first offered to a fast reader (`Fast`) that splits and parses its fields in
//! one pass, eight digits at a time, and guesses its device as the one after the previous
//! line's; a line it does not take (quotes, spaces, other timestamp or number forms, bad
//! values) goes to the general reader, which reads every accepted form and names what is
//! wrong. Both give the same values for the lines the fast one takes (a property test).

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

use crate::HashMap;
use crate::error::{InputError, Location};

/// One sample: Unix seconds, memory in use and throughput (`NaN` when missing).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sample {
    /// Unix seconds.
    pub t: u32,
    /// Memory in use, bytes.
    pub mem: f32,
    /// Throughput, bits per second.
    pub thr: f32,
}

const CHUNK: usize = 1024;

/// One chunk: times as seconds after `base` (16 bits), memory and throughput as `f32`, side by
/// side: 10 bytes a sample.
#[derive(Debug)]
struct Chunk {
    base: u32,
    dt: Vec<u16>,
    mem: Vec<f32>,
    thr: Vec<f32>,
}

impl Chunk {
    fn new(base: u32) -> Chunk {
        Chunk {
            base,
            dt: Vec::with_capacity(CHUNK),
            mem: Vec::with_capacity(CHUNK),
            thr: Vec::with_capacity(CHUNK),
        }
    }

    /// Whether `t` fits: after the base, less than 2^16 s later, and room left.
    fn takes(&self, t: u32) -> bool {
        self.dt.len() < CHUNK && t >= self.base && t - self.base <= u32::from(u16::MAX)
    }
}

/// Samples in fixed-size chunks: appending never copies what is already stored, and a sample
/// takes 10 bytes. A sample that does not fit the last chunk's 18-hour time range starts a new
/// chunk (rows far out of order cost chunk overhead, never correctness).
#[derive(Default, Debug)]
pub struct Chunked {
    chunks: Vec<Chunk>,
    len: usize,
}

impl Chunked {
    #[cfg(test)]
    pub(crate) fn extend_for_tests(&mut self, items: &[Sample]) {
        self.extend(items);
    }

    #[cfg(test)]
    pub(crate) fn first_for_tests(&self, n: usize) -> Vec<Sample> {
        let c = &self.chunks[0];
        (0..n.min(c.dt.len()))
            .map(|i| Sample {
                t: c.base + u32::from(c.dt[i]),
                mem: c.mem[i],
                thr: c.thr[i],
            })
            .collect()
    }

    fn extend(&mut self, items: &[Sample]) {
        self.len += items.len();
        let mut rest = items;
        while let Some(first) = rest.first() {
            if !self.chunks.last().is_some_and(|c| c.takes(first.t)) {
                self.chunks.push(Chunk::new(first.t));
            }
            let c = self.chunks.last_mut().expect("just pushed");
            // The run that fits this chunk, copied column by column.
            let room = rest.len().min(CHUNK - c.dt.len());
            let base = c.base;
            let n = rest[..room]
                .iter()
                .position(|s| s.t < base || s.t - base > u32::from(u16::MAX))
                .unwrap_or(room);
            let run = &rest[..n];
            c.dt.extend(run.iter().map(|s| (s.t - base) as u16));
            c.mem.extend(run.iter().map(|s| s.mem));
            c.thr.extend(run.iter().map(|s| s.thr));
            rest = &rest[n..];
        }
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// All samples in one vector (the chunks are released as they are copied).
    pub fn into_vec(self) -> Vec<Sample> {
        let mut out = Vec::with_capacity(self.len);
        for c in self.chunks {
            out.extend(
                c.dt.iter()
                    .zip(&c.mem)
                    .zip(&c.thr)
                    .map(|((&dt, &mem), &thr)| Sample {
                        t: c.base + u32::from(dt),
                        mem,
                        thr,
                    }),
            );
        }
        out
    }
}

/// Everything read for one device.
#[derive(Debug, Default)]
pub struct DeviceData {
    /// Device name as written.
    pub name: String,
    /// Memory and throughput samples, unsorted.
    pub samples: Chunked,
    /// Largest `mem_total_bytes` seen.
    pub mem_total: Option<f64>,
    /// Boot instants (Unix seconds, timestamp − `uptime_s`), unsorted, possibly repeated;
    /// empty when the telemetry has no uptime for the device.
    pub boots: Vec<u32>,
    /// Reboots lbfleet performed (from journals, not the telemetry): each step's start and end.
    pub reboot_windows: Vec<(u32, u32)>,
    /// Peak connections per UTC day (day number since the epoch).
    pub connections_daily: BTreeMap<u32, f64>,
    /// Peak SSL transactions per second per UTC day.
    pub ssl_daily: BTreeMap<u32, f64>,
    /// Peak CPU percent per UTC day.
    pub cpu_daily: BTreeMap<u32, f64>,
    /// Throughput figures a server computed from the raw samples (Prometheus), when the
    /// samples themselves carry no throughput.
    pub throughput_summary: Option<ThroughputSummary>,
    /// Memory in use at full precision, time-sorted, when a reader has it so (Prometheus'
    /// hourly means): the memory analysis uses it instead of the samples' `f32` values.
    pub mem_exact: Vec<(u32, f64)>,
}

/// Throughput figures computed from the raw samples elsewhere: the same definitions as the
/// analysis uses on samples it holds (type-7 quantiles, UTC daily peaks).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ThroughputSummary {
    /// Samples with a value.
    pub samples: usize,
    /// Median, bits/s.
    pub p50: f64,
    /// 95th percentile.
    pub p95: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Maximum.
    pub max: f64,
    /// Peak per UTC day (day number since the epoch).
    pub daily_peaks: BTreeMap<u32, f64>,
}

/// A row that could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BadRow {
    /// 1-based line number.
    pub line: u64,
    /// What is wrong.
    pub message: String,
}

/// Everything read from the telemetry files.
#[derive(Debug, Default)]
pub struct Telemetry {
    /// Devices in order of first appearance.
    pub devices: Vec<DeviceData>,
    /// Data rows read (bad rows excluded).
    pub rows: u64,
    /// Bad rows skipped, by file (only with `skip_bad_rows`).
    pub bad_rows: Vec<(String, u64, Vec<BadRow>)>,
    /// Which metric columns were present in any file.
    pub columns: Vec<String>,
}

/// Metric columns lbfleet reads.
pub const METRICS: [&str; N] = [
    "mem_used_bytes",
    "mem_total_bytes",
    "throughput_bps",
    "connections",
    "cpu_pct",
    "ssl_tps",
    "uptime_s",
];

/// How many metric columns there are.
const N: usize = 7;

#[derive(Clone, Copy, Debug)]
struct Columns {
    n: usize,
    timestamp: usize,
    device: usize,
    metric: [Option<usize>; N],
}

/// Daily peaks of one metric in one block: the day being read inline, earlier days (a block
/// that spans midnight) in a vector, so most blocks allocate nothing for them.
#[derive(Default, Debug)]
struct DayPeaks {
    current: Option<(u32, f64)>,
    earlier: Vec<(u32, f64)>,
}

impl DayPeaks {
    /// Adds a value (never NaN) of day `day`.
    #[inline]
    fn add(&mut self, day: u32, v: f64) {
        match &mut self.current {
            Some((d, p)) if *d == day => *p = p.max(v),
            Some(c) => {
                self.earlier.push(*c);
                *c = (day, v);
            }
            None => self.current = Some((day, v)),
        }
    }

    fn days(self) -> impl Iterator<Item = (u32, f64)> {
        self.earlier.into_iter().chain(self.current)
    }
}

/// Boot instants (from `uptime_s`) this close are one boot, seconds.
pub const BOOT_JITTER: u32 = 120;

/// Per-device results of one block.
#[derive(Default)]
struct BlockDevice {
    /// The name, for the fast reader's guess.
    key: Key,
    samples: Vec<Sample>,
    mem_total: Option<f64>,
    boots: Vec<u32>,
    connections: DayPeaks,
    ssl: DayPeaks,
    cpu: DayPeaks,
}

#[derive(Default)]
struct BlockResult {
    /// Emptied sample vectors to fill, taken from the shared pool (the rest go back).
    spares: Vec<Vec<Sample>>,
    /// Lines in the block (bad rows' line numbers are relative to its start).
    lines: u64,
    devices: Vec<(Box<str>, BlockDevice)>,
    /// The device of the previous row (a guess for the next one).
    last: usize,
    /// Whether a device was added from a quoted line (its name is not in the block, so not
    /// in the block's name index).
    quoted_devices: bool,
    rows: u64,
    bad: Vec<BadRow>,
}

/// The file being read, shared by the workers: each takes the next block in turn.
struct Source {
    file: std::fs::File,
    /// The start of a line the previous block cut.
    carry: Vec<u8>,
    seq: usize,
    eof: bool,
    error: Option<std::io::Error>,
}

impl Source {
    /// Fills `block` with the next lines (cut at the last line end; a line longer than the
    /// block grows it) and gives the block's number and length; `None` at the end or after an
    /// error (kept in `error`).
    fn fill(&mut self, block: &mut Vec<u8>) -> Option<(usize, usize)> {
        while !self.eof {
            if self.carry.len() >= block.len() {
                block.resize(self.carry.len() * 2, 0);
            }
            block[..self.carry.len()].copy_from_slice(&self.carry);
            let mut filled = self.carry.len();
            self.carry.clear();
            let cut = loop {
                match self.file.read(&mut block[filled..]) {
                    Ok(0) => {
                        self.eof = true;
                        break filled;
                    }
                    Ok(n) => filled += n,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(e) => {
                        self.error = Some(e);
                        self.eof = true;
                        return None;
                    }
                }
                if filled == block.len() {
                    match memchr::memrchr(b'\n', &block[..filled]) {
                        Some(p) => break p + 1,
                        None => block.resize(block.len() * 2, 0),
                    }
                }
            };
            self.carry.extend_from_slice(&block[cut..filled]);
            if cut > 0 {
                self.seq += 1;
                return Some((self.seq - 1, cut));
            }
        }
        None
    }
}

/// Parsed blocks waiting to be merged in file order.
#[derive(Default)]
struct Queue {
    waiting: BTreeMap<usize, BlockResult>,
    /// The number of the next block to merge.
    next: usize,
    /// Whether a worker is merging.
    merging: bool,
}

impl Queue {
    /// The results that are next in file order; when there are none, merging stops (under the
    /// same lock a worker takes to hand in a result, so none is left behind).
    fn ready(&mut self) -> Vec<BlockResult> {
        let mut ready = Vec::new();
        while let Some(r) = self.waiting.remove(&self.next) {
            ready.push(r);
            self.next += 1;
        }
        if ready.is_empty() {
            self.merging = false;
        }
        ready
    }
}

/// Where block results are merged, in file order.
struct Merger<'a> {
    out: &'a mut Telemetry,
    index: &'a mut HashMap<Box<str>, usize>,
    /// Each block's line count and bad rows.
    results: Vec<(u64, Vec<BadRow>)>,
}

impl Merger<'_> {
    fn merge(&mut self, mut r: BlockResult, pool: &std::sync::Mutex<Vec<Vec<Sample>>>) {
        let mut emptied = std::mem::take(&mut r.spares);
        let out = &mut *self.out;
        out.rows += r.rows;
        for (dev, d) in r.devices {
            let i = match self.index.get(&dev) {
                Some(&i) => i,
                None => {
                    out.devices.push(DeviceData {
                        name: dev.to_string(),
                        ..DeviceData::default()
                    });
                    self.index.insert(dev, out.devices.len() - 1);
                    out.devices.len() - 1
                }
            };
            let target = &mut out.devices[i];
            target.samples.extend(&d.samples);
            let mut v = d.samples;
            v.clear();
            emptied.push(v);
            target.boots.extend(&d.boots);
            target.mem_total = match (target.mem_total, d.mem_total) {
                (Some(a), Some(b)) => Some(a.max(b)),
                (a, b) => a.or(b),
            };
            for (map, peaks) in [
                (&mut target.connections_daily, d.connections),
                (&mut target.ssl_daily, d.ssl),
                (&mut target.cpu_daily, d.cpu),
            ] {
                for (day, v) in peaks.days() {
                    let e = map.entry(day).or_insert(v);
                    *e = e.max(v);
                }
            }
        }
        pool.lock()
            .expect("no panics while holding")
            .extend(emptied);
        self.results.push((r.lines, r.bad));
    }
}

/// How many bad rows are kept by line number; the rest are only counted.
pub const BAD_ROWS_KEPT: usize = 10;

const BLOCK: usize = 1 << 20;

/// Reads every file. A bad row is an error naming its file and line, unless `skip_bad_rows`,
/// when it is counted and skipped.
pub fn read(paths: &[std::path::PathBuf], skip_bad_rows: bool) -> Result<Telemetry, InputError> {
    let mut out = Telemetry::default();
    let mut index: HashMap<Box<str>, usize> = HashMap::default();
    for path in paths {
        read_file(path, skip_bad_rows, &mut out, &mut index)?;
    }
    Ok(out)
}

fn read_file(
    path: &Path,
    skip_bad_rows: bool,
    out: &mut Telemetry,
    index: &mut HashMap<Box<str>, usize>,
) -> Result<(), InputError> {
    let name = path.display().to_string();
    let at = Location::file(&name);
    let mut file = std::fs::File::open(path)
        .map_err(|e| InputError::new(at.clone(), format!("cannot read: {e}")))?;
    let io =
        |e: std::io::Error| InputError::new(Location::file(&name), format!("cannot read: {e}"));

    // The header: everything up to the first line end.
    let mut buf = vec![0u8; BLOCK];
    let mut filled = 0;
    let header_end = loop {
        let n = file.read(&mut buf[filled..]).map_err(io)?;
        filled += n;
        if let Some(p) = memchr::memchr(b'\n', &buf[..filled]) {
            break p + 1;
        }
        if n == 0 || filled == buf.len() {
            break filled;
        }
    };
    let header = std::str::from_utf8(&buf[..header_end])
        .map_err(|_| InputError::new(Location::line(&name, 1), "not UTF-8 text"))?;
    let header = header.strip_prefix('\u{feff}').unwrap_or(header);
    let cols = columns(header).map_err(|m| InputError::new(Location::line(&name, 1), m))?;
    for (m, c) in METRICS.iter().zip(cols.metric) {
        if c.is_some() && !out.columns.iter().any(|x| x == m) {
            out.columns.push(m.to_string());
        }
    }
    let source = std::sync::Mutex::new(Source {
        file,
        carry: buf[header_end..filled].to_vec(),
        seq: 0,
        eof: false,
        error: None,
    });
    drop(buf);

    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .max(1);
    let fast = &Fast::new(cols);
    let mut bad: Vec<BadRow> = Vec::new();
    let mut bad_count: u64 = 0;
    // Sample vectors the merger has emptied, for the workers to fill again: without this the
    // allocator keeps handing out fresh pages and the peak memory grows by a third.
    let pool: std::sync::Mutex<Vec<Vec<Sample>>> = std::sync::Mutex::new(Vec::new());
    let queue = std::sync::Mutex::new(Queue::default());
    let merger = std::sync::Mutex::new(Merger {
        out,
        index,
        results: Vec::new(),
    });
    // Each worker reads its next block itself (in turn, under the lock), so the block is in
    // its own core's cache when it parses it; then hands the result in and, unless another
    // worker is already merging, merges every result that is next in file order. No thread
    // only waits, and blocks are merged in file order, so device order and the order of
    // samples of one second are those of the file, whatever the threads do.
    let work = &|| {
        let mut block = vec![0u8; BLOCK];
        loop {
            let next = source
                .lock()
                .expect("no panics while holding")
                .fill(&mut block);
            let Some((seq, len)) = next else {
                break;
            };
            let spares = {
                let mut p = pool.lock().expect("no panics while holding");
                let keep = p.len().saturating_sub(512);
                p.split_off(keep)
            };
            let result = parse_block(&block[..len], cols, fast, spares);
            {
                let mut q = queue.lock().expect("no panics while holding");
                q.waiting.insert(seq, result);
                if q.merging {
                    continue;
                }
                q.merging = true;
            }
            loop {
                let ready = queue.lock().expect("no panics while holding").ready();
                if ready.is_empty() {
                    break;
                }
                let mut m = merger.lock().expect("no panics while holding");
                for r in ready {
                    m.merge(r, &pool);
                }
            }
        }
    };
    std::thread::scope(|scope| {
        for _ in 1..workers {
            scope.spawn(work);
        }
        work();
    });
    let results = merger
        .into_inner()
        .expect("no panics while holding")
        .results;
    let source = source.into_inner().expect("no panics while holding");
    if let Some(e) = source.error {
        return Err(io(e));
    }
    // Line numbers: blocks in order, each bad row relative to its block.
    let mut line: u64 = 2;
    for (lines, b) in results {
        for mut r in b {
            r.line += line;
            bad_count += 1;
            if bad.len() < BAD_ROWS_KEPT || !skip_bad_rows {
                bad.push(r);
            }
        }
        line += lines;
    }
    if let (false, Some(first)) = (skip_bad_rows, bad.iter().min_by_key(|b| b.line)) {
        return Err(InputError::new(
            Location::line(&name, first.line),
            format!(
                "{} (use --skip-bad-rows to skip bad rows; {bad_count} in this file)",
                first.message
            ),
        ));
    }
    if bad_count > 0 {
        bad.sort_by_key(|b| b.line);
        bad.truncate(BAD_ROWS_KEPT);
        out.bad_rows.push((name, bad_count, bad));
    }
    Ok(())
}

fn columns(header: &str) -> Result<Columns, String> {
    let names: Vec<String> = header
        .trim_end_matches(['\r', '\n'])
        .split(',')
        .map(|h| h.trim().trim_matches('"').to_ascii_lowercase())
        .collect();
    let find = |n: &str| names.iter().position(|h| h == n);
    let timestamp = find("timestamp").ok_or("no `timestamp` column in the header")?;
    let device = find("device").ok_or("no `device` column in the header")?;
    let metric = METRICS.map(find);
    if metric.iter().all(Option::is_none) {
        return Err(format!(
            "no metric column in the header (expected any of {})",
            METRICS.join(", ")
        ));
    }
    Ok(Columns {
        n: names.len(),
        timestamp,
        device,
        metric,
    })
}

fn parse_block(bytes: &[u8], cols: Columns, fast: &Fast, spares: Vec<Vec<Sample>>) -> BlockResult {
    let mut result = BlockResult {
        spares,
        ..BlockResult::default()
    };
    let mut by_name: HashMap<&[u8], usize> = HashMap::default();
    let mut dates = DateCache::default();
    let mut fields: Vec<&[u8]> = Vec::with_capacity(cols.n + 1);
    let mut this = 0;
    let mut pos = 0;
    let mut vals = [f64::NAN; N];
    while pos < bytes.len() {
        this += 1;
        let relative = this - 1;
        // Rows usually come device after device: the one after the previous row's is the guess.
        let next = if result.last + 1 < result.devices.len() {
            result.last + 1
        } else {
            0
        };
        let guess = result.devices.get(next).map_or(&Key::NONE, |d| &d.1.key);
        if let Some(r) = fast.read(bytes, pos, guess, &mut dates, &mut vals) {
            let i = if r.guessed {
                Some(next)
            } else {
                let device = &bytes[r.device.0..r.device.1];
                locate(&mut result, device, Some(&mut by_name)).ok()
            };
            if let Some(i) = i {
                pos = r.next;
                store(&mut result, i, r.t, vals);
                continue;
            }
        }
        // Anything else: split the line, then read each field (quoted lines by the CSV reader).
        let end = memchr::memchr(b'\n', &bytes[pos..]).map_or(bytes.len(), |e| pos + e);
        let raw = &bytes[pos..end];
        pos = end + 1;
        let line = raw.strip_suffix(b"\r").unwrap_or(raw);
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        if memchr::memchr(b'"', line).is_some() {
            let mut r = csv::ReaderBuilder::new()
                .has_headers(false)
                .from_reader(line);
            let mut rec = csv::StringRecord::new();
            match r.read_record(&mut rec) {
                Ok(true) => {}
                _ => {
                    result.bad.push(BadRow {
                        line: relative,
                        message: "malformed CSV quoting".into(),
                    });
                    continue;
                }
            }
            let quoted: Vec<&[u8]> = rec.iter().map(str::as_bytes).collect();
            if let Err(message) = row(&quoted, cols, &mut result, None, &mut dates) {
                result.bad.push(BadRow {
                    line: relative,
                    message,
                });
            }
            continue;
        }
        fields.clear();
        fields.extend(line.split(|c| *c == b','));
        if let Err(message) = row(&fields, cols, &mut result, Some(&mut by_name), &mut dates) {
            result.bad.push(BadRow {
                line: relative,
                message,
            });
        }
    }
    result.lines = this;
    result
}

/// The index of a device in the block's results, added when new. Names of quoted lines do
/// not live in the block and are not remembered in `by_name`.
fn locate<'b>(
    result: &mut BlockResult,
    device: &'b [u8],
    by_name: Option<&mut HashMap<&'b [u8], usize>>,
) -> Result<usize, String> {
    if let Some(&i) = by_name.as_ref().and_then(|m| m.get(device)) {
        return Ok(i);
    }
    let name = std::str::from_utf8(device).map_err(|_| "device name is not UTF-8".to_string())?;
    // Only a device first met on a quoted line can be missing from `by_name`.
    let known = if by_name.is_none() || result.quoted_devices {
        result.devices.iter().position(|(n, _)| n.as_ref() == name)
    } else {
        None
    };
    result.quoted_devices |= by_name.is_none();
    let devices = &mut result.devices;
    let i = match known {
        Some(i) => i,
        None => {
            let samples = result.spares.pop().unwrap_or_default();
            devices.push((
                name.into(),
                BlockDevice {
                    samples,
                    key: Key::of(device),
                    ..BlockDevice::default()
                },
            ));
            devices.len() - 1
        }
    };
    if let Some(m) = by_name {
        m.insert(device, i);
    }
    Ok(i)
}

/// Stores one row's values for device `i`.
fn store(result: &mut BlockResult, i: usize, t: u32, vals: [f64; N]) {
    result.last = i;
    let d = &mut result.devices[i].1;
    let [mem, total, thr, conn, cpu, ssl, uptime] = vals;
    if !mem.is_nan() || !thr.is_nan() {
        d.samples.push(Sample {
            t,
            mem: mem as f32,
            thr: thr as f32,
        });
    }
    if !total.is_nan() {
        d.mem_total = Some(d.mem_total.map_or(total, |m: f64| m.max(total)));
    }
    if !uptime.is_nan() {
        // The boot instant; rows of one boot agree within clock jitter, so keep one of them.
        let boot = (f64::from(t) - uptime).round().max(0.0) as u32;
        if d.boots
            .last()
            .is_none_or(|&b| b.abs_diff(boot) > BOOT_JITTER)
        {
            d.boots.push(boot);
        }
    }
    let day = t / 86_400;
    for (v, peaks) in [
        (conn, &mut d.connections),
        (ssl, &mut d.ssl),
        (cpu, &mut d.cpu),
    ] {
        if !v.is_nan() {
            peaks.add(day, v);
        }
    }
    result.rows += 1;
}

/// What a column holds, for the fast row reader.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Timestamp,
    Device,
    Metric(usize),
    Other,
}

/// The fast row reader: one pass over a line that splits and parses each field as it goes.
/// It takes only the plain forms (no quotes, no spaces around values, `YYYY-MM-DDTHH:MM:SSZ`
/// or integer Unix seconds, unsigned decimal numbers of up to 16 characters); for anything
/// else it declines and the line goes to the general reader ([`row`]), which gives the same
/// results for the plain forms and the errors for bad ones.
struct Fast {
    kinds: Vec<Kind>,
    /// Whether every metric has a column (so every line read sets every value).
    every_metric: bool,
}

/// One line read by [`Fast::read`], its metric values aside.
struct Plain {
    t: u32,
    /// Where the device name starts and ends.
    device: (usize, usize),
    /// Whether the device is the guessed one.
    guessed: bool,
    /// Where the next line starts.
    next: usize,
}

impl Fast {
    fn new(cols: Columns) -> Fast {
        let mut kinds = vec![Kind::Other; cols.n];
        kinds[cols.timestamp] = Kind::Timestamp;
        kinds[cols.device] = Kind::Device;
        for (k, c) in cols.metric.iter().enumerate() {
            if let Some(c) = c {
                kinds[*c] = Kind::Metric(k);
            }
        }
        let every_metric = cols.metric.iter().all(Option::is_some);
        Fast {
            kinds,
            every_metric,
        }
    }

    /// Reads the line starting at `i` into `vals` (`NaN` for an empty cell), or `None` when it is
    /// not in the plain form. `guess` is the device expected on this line.
    #[inline]
    fn read(
        &self,
        b: &[u8],
        mut i: usize,
        guess: &Key,
        dates: &mut DateCache,
        vals: &mut [f64; N],
    ) -> Option<Plain> {
        let mut out = Plain {
            t: 0,
            device: (0, 0),
            guessed: false,
            next: 0,
        };
        if !self.every_metric {
            *vals = [f64::NAN; N];
        }
        let last = self.kinds.len() - 1;
        for (k, kind) in self.kinds.iter().enumerate() {
            let start = i;
            i = match kind {
                Kind::Metric(m) => {
                    let (v, end) = plain_number(b, i)?;
                    vals[*m] = v;
                    end
                }
                Kind::Timestamp => {
                    let (t, end) = plain_timestamp(b, i, dates)?;
                    out.t = t;
                    end
                }
                Kind::Device => {
                    // A known name (the guess) has no spaces at its ends.
                    out.guessed = guess.at(b, i);
                    let end = if out.guessed {
                        i + guess.len
                    } else {
                        let end = plain_text(b, i)?;
                        let name = &b[start..end];
                        if name.is_empty()
                            || name[0].is_ascii_whitespace()
                            || name[name.len() - 1].is_ascii_whitespace()
                        {
                            return None;
                        }
                        end
                    };
                    out.device = (start, end);
                    end
                }
                Kind::Other => plain_text(b, i)?,
            };
            // The field must end where the header says: a comma, or the line end after the last.
            match (b.get(i), k == last) {
                (Some(b','), false) => i += 1,
                (Some(b'\n'), true) => {
                    out.next = i + 1;
                    return Some(out);
                }
                (Some(b'\r'), true) if b.get(i + 1) == Some(&b'\n') => {
                    out.next = i + 2;
                    return Some(out);
                }
                _ => return None,
            }
        }
        None
    }
}

/// A device name as the fast reader compares it: up to 15 bytes as two masked words.
#[derive(Clone, Copy, Debug, Default)]
struct Key {
    words: [u64; 2],
    masks: [u64; 2],
    /// 0 for a name the key cannot hold (never matches).
    len: usize,
}

impl Key {
    /// Matches nothing.
    const NONE: Key = Key {
        words: [0; 2],
        masks: [0; 2],
        len: 0,
    };

    fn of(name: &[u8]) -> Key {
        if name.len() > 15 {
            return Key::default();
        }
        let mut padded = [0u8; 16];
        padded[..name.len()].copy_from_slice(name);
        let mut mask = [0u8; 16];
        mask[..name.len()].fill(0xff);
        let word = |a: &[u8; 16], k: usize| {
            u64::from_le_bytes(a[8 * k..8 * k + 8].try_into().expect("8 bytes"))
        };
        Key {
            words: [word(&padded, 0), word(&padded, 1)],
            masks: [word(&mask, 0), word(&mask, 1)],
            len: name.len(),
        }
    }

    /// Whether the text at `b[i..]` is this name followed by a field end.
    #[inline]
    fn at(&self, b: &[u8], i: usize) -> bool {
        let Some(w) = b.get(i..i + 16) else {
            return false;
        };
        let (lo, hi) = w.split_at(8);
        let word = |s: &[u8]| u64::from_le_bytes(s.try_into().expect("8 bytes"));
        self.len > 0
            && word(lo) & self.masks[0] == self.words[0]
            && word(hi) & self.masks[1] == self.words[1]
            && matches!(w[self.len], b',' | b'\n' | b'\r')
    }
}

/// The end of a text field: the next comma or line end; `None` for a quote.
fn plain_text(b: &[u8], mut i: usize) -> Option<usize> {
    while let Some(&c) = b.get(i) {
        match c {
            b',' | b'\n' | b'\r' => return Some(i),
            b'"' => return None,
            _ => i += 1,
        }
    }
    None
}

/// An empty field (`NaN`) or unsigned decimal digits with an optional fraction, up to 16
/// characters, exactly as [`number`] reads them; with the position after it. Digits are read
/// eight at a time ([`digits8`]) while 16 bytes are left, byte by byte near the block's end.
fn plain_number(b: &[u8], start: usize) -> Option<(f64, usize)> {
    let Some((int, l)) = digits16(b, start) else {
        return plain_number_bytewise(b, start);
    };
    let i = start + l;
    if b[i] != b'.' {
        return match l {
            0 => Some((f64::NAN, i)),
            _ if int >= 1 << 53 => None,
            _ => Some((int as f64, i)),
        };
    }
    let Some((fraction, f)) = digits16(b, i + 1) else {
        return plain_number_bytewise(b, start);
    };
    let n = int.checked_mul(POW10_U64[f])?.checked_add(fraction)?;
    match l + 1 + f {
        1 => None,
        len if len > 16 || n >= 1 << 53 => None,
        _ if f == 0 => Some((n as f64, i + 1)),
        _ => Some((n as f64 / POW10[f], i + 1 + f)),
    }
}

/// Exact powers of ten as integers, up to 10^16.
const POW10_U64: [u64; 17] = {
    let mut p = [1u64; 17];
    let mut k = 1;
    while k < 17 {
        p[k] = p[k - 1] * 10;
        k += 1;
    }
    p
};

/// The decimal digits at `b[i..]`, at most 15, as (value, count); `None` when fewer than 16
/// bytes are left or 16 digits follow.
#[inline]
fn digits16(b: &[u8], i: usize) -> Option<(u64, usize)> {
    let w = b.get(i..i + 16)?;
    let (lo, hi) = w.split_at(8);
    let (n, l) = digits8(u64::from_le_bytes(lo.try_into().ok()?));
    if l < 8 {
        return Some((n, l));
    }
    let (m, k) = digits8(u64::from_le_bytes(hi.try_into().ok()?));
    (k < 8).then(|| (n * POW10_U64[k] + m, 8 + k))
}

/// The leading decimal digits of eight bytes (first byte lowest), as (value, count): the
/// count from a mask of the bytes that are not digits, the value by the multiply-and-shift
/// method that combines digit pairs, then pairs of pairs, then fours.
#[inline]
fn digits8(x: u64) -> (u64, usize) {
    const ONES: u64 = 0x0101_0101_0101_0101;
    let v = x ^ (0x30 * ONES); // a digit byte becomes its value, anything else is above 9
    let not_digit = (((v & (0x7f * ONES)) + 0x76 * ONES) | v) & (0x80 * ONES);
    let len = (not_digit.trailing_zeros() / 8) as usize;
    if len == 0 {
        return (0, 0);
    }
    // The digits move to the top bytes; the bytes below become leading zeros.
    let v = v << (8 * (8 - len));
    let v = ((v & 0x0f0f_0f0f_0f0f_0f0f).wrapping_mul(2561)) >> 8;
    let v = ((v & 0x00ff_00ff_00ff_00ff).wrapping_mul(6_553_601)) >> 16;
    let v = ((v & 0x0000_ffff_0000_ffff).wrapping_mul(42_949_672_960_001)) >> 32;
    (v, len)
}

/// [`plain_number`] a byte at a time.
fn plain_number_bytewise(b: &[u8], start: usize) -> Option<(f64, usize)> {
    let mut i = start;
    let mut n: u64 = 0;
    while let Some(d) = b.get(i).map(|c| c.wrapping_sub(b'0')).filter(|d| *d < 10) {
        n = n.wrapping_mul(10).wrapping_add(u64::from(d));
        i += 1;
    }
    let mut scale = None;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let fraction = i;
        while let Some(d) = b.get(i).map(|c| c.wrapping_sub(b'0')).filter(|d| *d < 10) {
            n = n.wrapping_mul(10).wrapping_add(u64::from(d));
            i += 1;
        }
        scale = Some(i - fraction);
    }
    let len = i - start;
    match scale {
        None if len == 0 => Some((f64::NAN, i)),
        _ if len > 16 || n >= (1 << 53) || len == 1 && scale.is_some() => None,
        None | Some(0) => Some((n as f64, i)),
        Some(k) => Some((n as f64 / POW10[k], i)),
    }
}

/// `YYYY-MM-DDTHH:MM:SSZ` or integer Unix seconds, with the position after it.
fn plain_timestamp(b: &[u8], i: usize, dates: &mut DateCache) -> Option<(u32, usize)> {
    let f = b.get(i..i + 20)?;
    // The date seen last (its text compared as words), then `THH:MM:SSZ`: the time of day as
    // one word, each byte minus '0' (the colons become 10), the six digit places checked at
    // once, then each pair combined (tens × 10 + ones, no byte carries).
    if let Some(days) = dates.get(f) {
        const ONES: u64 = 0x0101_0101_0101_0101;
        const DIGIT_PLACES: u64 = 0x8080_0080_8000_8080;
        const COLON_PLACES: u64 = 0x0000_ff00_00ff_0000;
        const COLONS: u64 = 0x0000_3a00_003a_0000;
        let x = u64::from_le_bytes(f[11..19].try_into().expect("8 bytes"));
        if f[10] == b'T' && f[19] == b'Z' && x & COLON_PLACES == COLONS {
            let v = x ^ (0x30 * ONES);
            if (((v & (0x7f * ONES)) + 0x76 * ONES) | v) & DIGIT_PLACES != 0 {
                return None;
            }
            let pairs = v * 10 + (v >> 8);
            let (h, m, s) = (
                (pairs & 0xff) as u32,
                ((pairs >> 24) & 0xff) as u32,
                ((pairs >> 48) & 0xff) as u32,
            );
            if h > 23 || m > 59 || s > 60 {
                return None;
            }
            let secs = days * 86_400 + i64::from(h * 3600 + m * 60 + s.min(59));
            return u32::try_from(secs).ok().map(|t| (t, i + 20));
        }
    }
    // Another date: the general reader's check, which also remembers the date.
    if f[4] == b'-'
        && f[7] == b'-'
        && f[10] == b'T'
        && f[13] == b':'
        && f[16] == b':'
        && f[19] == b'Z'
    {
        return timestamp(f, dates).ok().map(|t| (t, i + 20));
    }
    // Unix seconds: digits only.
    let mut j = i;
    let mut n: u64 = 0;
    while let Some(d) = b.get(j).map(|c| c.wrapping_sub(b'0')).filter(|d| *d < 10) {
        n = n.wrapping_mul(10).wrapping_add(u64::from(d));
        j += 1;
        if j - i > 10 {
            return None;
        }
    }
    (j > i).then_some(())?;
    u32::try_from(n).ok().map(|t| (t, j))
}

/// The last date seen and its day number: rows of one block share a handful of dates.
#[derive(Default)]
struct DateCache {
    /// The date's text as two words (eight bytes, then two), or zeros.
    text: (u64, u16),
    days: i64,
}

impl DateCache {
    fn key(b: &[u8]) -> (u64, u16) {
        (
            u64::from_le_bytes(b[..8].try_into().expect("8 bytes")),
            u16::from_le_bytes(b[8..10].try_into().expect("2 bytes")),
        )
    }

    /// The day number of the date that `b` starts with, if it is the one seen last.
    #[inline]
    fn get(&self, b: &[u8]) -> Option<i64> {
        (self.days != 0 && Self::key(b) == self.text).then_some(self.days)
    }

    fn set(&mut self, b: &[u8], days: i64) {
        self.text = Self::key(b);
        self.days = days;
    }
}

fn trim(b: &[u8]) -> &[u8] {
    let start = b
        .iter()
        .position(|c| !c.is_ascii_whitespace())
        .unwrap_or(b.len());
    let end = b
        .iter()
        .rposition(|c| !c.is_ascii_whitespace())
        .map_or(start, |e| e + 1);
    &b[start..end]
}

/// The general reader for one row's fields: trims spaces, reads every timestamp and number form
/// and says what is wrong with a bad row.
fn row<'b>(
    fields: &[&'b [u8]],
    cols: Columns,
    result: &mut BlockResult,
    by_name: Option<&mut HashMap<&'b [u8], usize>>,
    dates: &mut DateCache,
) -> Result<(), String> {
    if fields.len() != cols.n {
        return Err(format!(
            "{} fields, but the header has {}",
            fields.len(),
            cols.n
        ));
    }
    let device = trim(fields[cols.device]);
    if device.is_empty() {
        return Err("empty device".into());
    }
    let t = timestamp(trim(fields[cols.timestamp]), dates)?;
    let mut vals = [f64::NAN; N];
    for (k, c) in cols.metric.iter().enumerate() {
        if let Some(c) = c {
            let f = trim(fields[*c]);
            if !f.is_empty() {
                let v = number(f).ok_or_else(|| {
                    format!(
                        "{}: \"{}\" is not a number",
                        METRICS[k],
                        String::from_utf8_lossy(f)
                    )
                })?;
                if v < 0.0 {
                    return Err(format!("{}: negative value {v}", METRICS[k]));
                }
                vals[k] = v;
            }
        }
    }
    let i = locate(result, device, by_name)?;
    store(result, i, t, vals);
    Ok(())
}

/// Exact powers of ten up to 10^16.
const POW10: [f64; 17] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
];

/// A number: digits (and `digits.digits` with up to 15 digits in all, exactly) fast,
/// anything else through the standard parser; finite only.
fn number(b: &[u8]) -> Option<f64> {
    if b.len() <= 16 && !b.is_empty() {
        let mut n: u64 = 0;
        let mut scale: Option<u32> = None;
        let mut ok = true;
        for &c in b {
            match c {
                b'0'..=b'9' => {
                    n = n * 10 + u64::from(c - b'0');
                    if let Some(k) = scale.as_mut() {
                        *k += 1;
                    }
                }
                b'.' if scale.is_none() => scale = Some(0),
                _ => {
                    ok = false;
                    break;
                }
            }
        }
        // Below 2^53 both the integer and the power of ten are exact, so one division rounds
        // correctly, as the standard parser would.
        if ok && n < (1 << 53) && b.len() > usize::from(scale.is_some()) {
            return Some(match scale {
                None | Some(0) => n as f64,
                Some(k) => n as f64 / POW10[k as usize],
            });
        }
    }
    let v: f64 = std::str::from_utf8(b).ok()?.parse().ok()?;
    v.is_finite().then_some(v)
}

/// Days from 1970-01-01 to a civil date (proleptic Gregorian; Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// `2026-10-01T00:00:00Z` fast; any other RFC 3339 form through jiff; or Unix seconds.
fn timestamp(b: &[u8], dates: &mut DateCache) -> Result<u32, String> {
    let bad = || {
        format!(
            "timestamp \"{}\" is neither RFC 3339 nor Unix seconds",
            String::from_utf8_lossy(b)
        )
    };
    let secs: i64 = if b.len() == 20
        && b[4] == b'-'
        && b[7] == b'-'
        && (b[10] == b'T' || b[10] == b' ')
        && b[13] == b':'
        && b[16] == b':'
        && b[19] == b'Z'
    {
        let n = |r: std::ops::Range<usize>| -> Option<i64> {
            b[r].iter().try_fold(0i64, |acc, &c| {
                c.is_ascii_digit().then(|| acc * 10 + i64::from(c - b'0'))
            })
        };
        let days = if let Some(days) = dates.get(b) {
            days
        } else {
            let (Some(y), Some(mo), Some(d)) = (n(0..4), n(5..7), n(8..10)) else {
                return Err(bad());
            };
            let leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
            let dim = [
                31,
                28 + i64::from(leap),
                31,
                30,
                31,
                30,
                31,
                31,
                30,
                31,
                30,
                31,
            ];
            if !(1..=12).contains(&mo) || d < 1 || d > dim[(mo - 1) as usize] {
                return Err(bad());
            }
            let days = days_from_civil(y, mo, d);
            dates.set(b, days);
            days
        };
        let (Some(h), Some(mi), Some(s)) = (n(11..13), n(14..16), n(17..19)) else {
            return Err(bad());
        };
        if h > 23 || mi > 59 || s > 60 {
            return Err(bad());
        }
        days * 86_400 + h * 3600 + mi * 60 + s.min(59)
    } else if !b.is_empty() && b.iter().all(|c| c.is_ascii_digit() || *c == b'.') {
        let text = std::str::from_utf8(b).map_err(|_| bad())?;
        text.parse::<f64>().map_err(|_| bad())?.floor() as i64
    } else {
        let text = std::str::from_utf8(b).map_err(|_| bad())?;
        text.parse::<jiff::Timestamp>()
            .map_err(|_| bad())?
            .as_second()
    };
    u32::try_from(secs).map_err(|_| format!("{}: outside 1970-2106", bad()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn write(text: &str) -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.csv");
        std::fs::write(&p, text).unwrap();
        (dir, p)
    }

    const HEADER: &str = "timestamp,device,mem_used_bytes,mem_total_bytes,throughput_bps,connections,cpu_pct,ssl_tps,site";

    /// What a block result holds, comparable (NaN as bits).
    fn stored(r: &BlockResult) -> Vec<String> {
        r.devices
            .iter()
            .map(|(n, d)| {
                let samples: Vec<(u32, u32, u32)> = d
                    .samples
                    .iter()
                    .map(|s| (s.t, s.mem.to_bits(), s.thr.to_bits()))
                    .collect();
                format!(
                    "{n} {samples:?} {:?} {:?} {:?} {:?}",
                    d.mem_total.map(f64::to_bits),
                    d.connections,
                    d.ssl,
                    d.cpu
                )
            })
            .collect()
    }

    /// The line at the start of `block` through the fast reader (when it takes it) and through
    /// the general one.
    /// What the fast reader stored and where it says the next line starts, when it took the
    /// line; what the general reader stored, or its error.
    type Ways = (Option<(Vec<String>, usize)>, Result<Vec<String>, String>);

    fn both_ways(block: &[u8]) -> Ways {
        let cols = columns(HEADER).unwrap();
        let fast = Fast::new(cols);
        let mut vals = [f64::NAN; N];
        let mut quick = BlockResult::default();
        // A date seen before: the fast reader's own time-of-day parsing.
        let mut dates = DateCache::default();
        if let Some(date) = block.get(..10) {
            let midnight = [date, b"T00:00:00Z"].concat();
            let _ = timestamp(&midnight, &mut dates);
        }
        let taken = fast
            .read(block, 0, &Key::default(), &mut dates, &mut vals)
            .map(|r| {
                let i = locate(&mut quick, &block[r.device.0..r.device.1], None).unwrap();
                store(&mut quick, i, r.t, vals);
                (stored(&quick), r.next)
            });
        let end = memchr::memchr(b'\n', block).unwrap_or(block.len());
        let line = block[..end].strip_suffix(b"\r").unwrap_or(&block[..end]);
        let fields: Vec<&[u8]> = line.split(|c| *c == b',').collect();
        let mut general = BlockResult::default();
        let slow = row(&fields, cols, &mut general, None, &mut DateCache::default())
            .map(|()| stored(&general));
        (taken, slow)
    }

    /// Mostly plain numbers (the fast reader's), sometimes anything else.
    fn number_text() -> impl Strategy<Value = String> {
        prop_oneof![
            30 => "[0-9]{1,12}",
            15 => "[0-9]{0,9}\\.[0-9]{0,8}",
            5 => Just(String::new()),
            1 => "[0-9]{14,19}",
            1 => " ?[0-9]{1,4} ?",
            1 => "-?[0-9]{1,3}(e[0-9])?",
            1 => Just("nan".to_string()),
        ]
    }

    fn timestamp_text() -> impl Strategy<Value = String> {
        prop_oneof![
            20 => (2020u32..2030, 1u32..14, 0u32..32, 0u32..25, 0u32..61, 0u32..62).prop_map(
                |(y, mo, d, h, mi, s)| format!("{y}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
            ),
            4 => "2026-10-0[12]T[0-9a :]{2}:[0-9a ]{2}:[0-9a ]{2}Z",
            4 => (1_700_000_000u64..1_900_000_000).prop_map(|t| t.to_string()),
            1 => Just("2026-10-01 00:00:00Z".to_string()),
            1 => Just("2026-10-01T02:00:00+02:00".to_string()),
            1 => Just("1790000000.5".to_string()),
            1 => Just("99999999999".to_string()),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

        /// Whatever line the fast reader takes, the general reader reads it the same; and it
        /// declines every line the general reader refuses.
        #[test]
        fn the_fast_reader_agrees_with_the_general_one(
            t in timestamp_text(),
            device in prop_oneof![10 => "[a-z0-9]{1,18}", 1 => "[a-z ]{0,3}", 1 => Just("\"lb\"".to_string())],
            nums in proptest::collection::vec(number_text(), 6),
            site in "[a-z]{0,3}|\"x\"",
            crlf in any::<bool>(),
            more in any::<bool>(),
        ) {
            let mut block = format!("{t},{device},{},{site}", nums.join(","));
            block.push_str(if crlf { "\r\n" } else { "\n" });
            if more {
                // The digits are read eight at a time only with 16 bytes to spare.
                block.push_str("2026-10-01T00:00:00Z,lb1,1,2,3,4,5,6,x\n");
            }
            let (taken, slow) = both_ways(block.as_bytes());
            if let Some((quick, next)) = taken {
                prop_assert_eq!(Ok(quick), slow);
                prop_assert_eq!(next, block.find('\n').unwrap() + 1);
            }
        }
    }

    #[test]
    fn the_fast_reader_takes_plain_lines() {
        for line in [
            "2026-10-01T00:00:00Z,dev0001,8923118675,34359738368,1173364297,29334,6.8,586,cn\n",
            "2026-10-01T23:59:59Z,lb-with-a-long-name,1,,0.25,,,7,\r\n",
            "1790000000,a,,,,,,,\n2026-10-01T00:00:00Z,lb1,1,2,3,4,5,6,x\n",
            "2026-10-01T00:00:00Z,lb1,123456789012345,2,3.,4,5,6,x\n",
        ] {
            // At a block's end, and with more lines after it (digits eight at a time).
            for block in [line.to_string(), format!("{line}{line}")] {
                let (taken, slow) = both_ways(block.as_bytes());
                assert!(taken.is_some(), "{block}");
                assert_eq!(Ok(taken.unwrap().0), slow, "{block}");
            }
        }
        // Times the general reader refuses; the fast one must decline them (every digit place,
        // and a colon where a digit belongs, which the digit arithmetic would take as 10).
        for time in [
            "24:00:00", "1::00:00", ":1:00:00", "10:6:0:0", "10:60:00", "10:00:1:", "10:00:61",
            "1a:00:00", "10: 0:00", "10:00:0a",
        ] {
            let line = format!("2026-10-01T{time}Z,lb1,1,2,3,4,5,6,x\n").repeat(5);
            let (taken, slow) = both_ways(line.as_bytes());
            assert!(taken.is_none() && slow.is_err(), "{time}");
        }
    }

    #[test]
    fn timestamps_in_every_form_agree() {
        let want = "2026-10-01T12:34:56Z"
            .parse::<jiff::Timestamp>()
            .unwrap()
            .as_second() as u32;
        for s in [
            "2026-10-01T12:34:56Z",
            "2026-10-01 12:34:56Z",
            "2026-10-01T14:34:56+02:00",
            "2026-10-01T12:34:56.789Z",
            "1790858096",
            "1790858096.5",
        ] {
            assert_eq!(
                timestamp(s.as_bytes(), &mut DateCache::default()),
                Ok(want),
                "{s}"
            );
        }
        let mut cache = DateCache::default();
        assert_eq!(
            timestamp(b"2028-02-29T00:00:00Z", &mut cache).unwrap() % 86_400,
            0
        );
        // The cached date is reused only for the same date text.
        assert_eq!(
            timestamp(b"2028-02-29T00:00:01Z", &mut cache).unwrap() + 86_399,
            timestamp(b"2028-03-01T00:00:00Z", &mut cache).unwrap()
        );
        for s in [
            "2026-02-30T00:00:00Z",
            "yesterday",
            "",
            "2026-13-01T00:00:00Z",
            "1969-12-31T23:59:59Z",
        ] {
            assert!(
                timestamp(s.as_bytes(), &mut DateCache::default()).is_err(),
                "{s}"
            );
        }
    }

    #[test]
    fn numbers_parse_exactly_like_the_standard_parser() {
        for t in [
            "0",
            "12",
            "12.5",
            "0.1",
            "99.95",
            "123456789012345",
            "1.000000000000001",
            "7.",
            ".5",
            "1e3",
            "1234567890123456789",
        ] {
            assert_eq!(number(t.as_bytes()), t.parse::<f64>().ok(), "{t}");
        }
        for t in ["", ".", "1.2.3", "-1x", "nan", "inf"] {
            assert_eq!(number(t.as_bytes()), None, "{t}");
        }
    }

    #[test]
    fn rows_unsorted_quoted_gappy_and_in_any_column_order() {
        let (_d, p) = write(
            "device,throughput_bps,timestamp,mem_used_bytes,connections\r\n\
             lb1,100,2026-10-01T00:01:00Z,10,5\r\n\
             \"lb,2\",200,2026-10-01T00:00:00Z,,7\r\n\
             \r\n\
             lb1,,2026-10-01T00:00:00Z,9,9\r\n\
             lb1,,2026-10-02T00:00:00Z,,3\r\n",
        );
        let t = read(&[p], false).unwrap();
        assert_eq!(t.rows, 4);
        assert_eq!(t.devices.len(), 2);
        let lb1 = t.devices.iter().find(|d| d.name == "lb1").unwrap();
        assert_eq!(lb1.samples.len(), 2);
        assert_eq!(
            lb1.connections_daily.values().copied().collect::<Vec<_>>(),
            [9.0, 3.0]
        );
        let lb2 = t.devices.iter().find(|d| d.name == "lb,2").unwrap();
        let s = lb2.samples.first_for_tests(1)[0];
        assert_eq!((s.thr, s.mem.is_nan()), (200.0, true));
    }

    #[test]
    fn uptime_gives_each_device_its_boot_instants() {
        // lb1 booted at 1_790_000_000 (three rows agree within a second) and again 1000 s
        // later; lb2 reports no uptime; a quoted line goes through the general reader.
        let (_d, p) = write(
            "timestamp,device,mem_used_bytes,uptime_s\n\
             1790000100,lb1,5,100\n\
             1790000200,lb1,5,201\n\
             1790000300,\"lb1\",5,300\n\
             1790001100,lb1,1,100\n\
             1790001100,lb2,1,\n",
        );
        let t = read(&[p], false).unwrap();
        let lb1 = t.devices.iter().find(|d| d.name == "lb1").unwrap();
        // Readings of one boot within a few seconds are kept once.
        assert_eq!(lb1.boots, [1_790_000_000, 1_790_001_000]);
        let lb2 = t.devices.iter().find(|d| d.name == "lb2").unwrap();
        assert!(lb2.boots.is_empty());
        assert!(t.columns.iter().any(|c| c == "uptime_s"));
    }

    #[test]
    fn a_bad_row_names_its_line_or_is_counted() {
        let mut text = String::from("timestamp,device,mem_used_bytes\n");
        for i in 0..30 {
            text.push_str(&format!("{},lb1,{}\n", 1_790_000_000 + i * 60, 100 + i));
        }
        text.push_str("1790009999,lb1,lots\n");
        text.push_str("1790009999,lb1\n");
        text.push_str("1790009999,lb1,-5\n");
        let (_d, p) = write(&text);
        let e = read(std::slice::from_ref(&p), false)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("t.csv:32") && e.contains("mem_used_bytes: \"lots\""),
            "{e}"
        );
        assert!(e.contains("3 in this file"), "{e}");
        let t = read(&[p], true).unwrap();
        assert_eq!(t.rows, 30);
        let (_, n, first) = &t.bad_rows[0];
        assert_eq!(*n, 3);
        let lines: Vec<u64> = first.iter().map(|b| b.line).collect();
        assert_eq!(lines, [32, 33, 34]);
    }

    #[test]
    fn line_numbers_survive_block_boundaries() {
        // More than one 4 MiB block, a bad row near the end.
        let mut text = String::from("timestamp,device,throughput_bps\n");
        let rows = 200_000;
        for i in 0..rows {
            text.push_str(&format!(
                "2026-10-01T00:00:00Z,device-with-a-long-name-{},{}\n",
                i % 7,
                i
            ));
        }
        text.push_str("2026-10-01T00:00:00Z,x,oops\n");
        let (_d, p) = write(&text);
        assert!(text.len() > BLOCK);
        let e = read(&[p], false).unwrap_err().to_string();
        assert!(e.contains(&format!("t.csv:{}", rows + 2)), "{e}");
    }

    #[test]
    fn headers_without_the_needed_columns_are_refused() {
        let (_d, p) = write("time,device,mem_used_bytes\n");
        assert!(
            read(&[p], false)
                .unwrap_err()
                .to_string()
                .contains("t.csv:1: no `timestamp`")
        );
        let (_d, p) = write("timestamp,device,temperature\n");
        assert!(
            read(&[p], false)
                .unwrap_err()
                .to_string()
                .contains("no metric column")
        );
    }
}
