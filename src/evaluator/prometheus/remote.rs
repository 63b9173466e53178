//! Prometheus' remote-read API (`POST /api/v1/read`), asked for streamed XOR chunks: the
//! samples as the TSDB stores them (about 1–2 bytes each), framed per series, so the server
//! only copies chunks and the client decodes each sample once.
//!
//! The wire format (`prompb/remote.proto`, `types.proto`; `storage/remote/chunked.go`):
//! the request is a `ReadRequest` protobuf, snappy-compressed (block format); the answer,
//! `Content-Type: application/x-streamed-protobuf; proto=prometheus.ChunkedReadResponse`,
//! is a sequence of frames, each a uvarint length, a big-endian CRC-32C (Castagnoli) of the
//! message and a `ChunkedReadResponse` message.

/// The media type of a streamed answer.
pub const STREAMED: &str = "application/x-streamed-protobuf; proto=prometheus.ChunkedReadResponse";

/// A frame larger than this is refused (Prometheus' default is 1 MiB).
const MAX_FRAME: u64 = 64 << 20;

/// A label matcher's operator, as `LabelMatcher.Type` numbers it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MatchOp {
    /// `=`
    Eq = 0,
    /// `!=`
    Neq = 1,
    /// `=~`
    Re = 2,
    /// `!~`
    Nre = 3,
}

/// One label matcher, its value unquoted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Matcher {
    /// The operator.
    pub op: MatchOp,
    /// The label name.
    pub name: String,
    /// The value (a regex for `=~` and `!~`, anchored by the server).
    pub value: String,
}

/// One query of a read request: the series its matchers select, between two instants
/// (milliseconds, both included).
pub struct ReadQuery {
    /// First millisecond.
    pub start_ms: i64,
    /// Last millisecond.
    pub end_ms: i64,
    /// Every matcher must match.
    pub matchers: Vec<Matcher>,
}

fn put_uvarint(out: &mut Vec<u8>, mut x: u64) {
    while x >= 0x80 {
        out.push(x as u8 | 0x80);
        x >>= 7;
    }
    out.push(x as u8);
}

fn put_varint_field(out: &mut Vec<u8>, field: u32, x: u64) {
    put_uvarint(out, u64::from(field) << 3);
    put_uvarint(out, x);
}

fn put_bytes_field(out: &mut Vec<u8>, field: u32, b: &[u8]) {
    put_uvarint(out, u64::from(field) << 3 | 2);
    put_uvarint(out, b.len() as u64);
    out.extend_from_slice(b);
}

/// The request body: a `ReadRequest` accepting only streamed XOR chunks, snappy-compressed.
pub fn request(queries: &[ReadQuery]) -> Vec<u8> {
    let mut req = Vec::new();
    for q in queries {
        let mut query = Vec::new();
        put_varint_field(&mut query, 1, q.start_ms as u64);
        put_varint_field(&mut query, 2, q.end_ms as u64);
        for m in &q.matchers {
            let mut matcher = Vec::new();
            if m.op != MatchOp::Eq {
                put_varint_field(&mut matcher, 1, m.op as u64);
            }
            put_bytes_field(&mut matcher, 2, m.name.as_bytes());
            put_bytes_field(&mut matcher, 3, m.value.as_bytes());
            put_bytes_field(&mut query, 3, &matcher);
        }
        put_bytes_field(&mut req, 1, &query);
    }
    // accepted_response_types: [STREAMED_XOR_CHUNKS]
    put_varint_field(&mut req, 2, 1);
    snappy(&req)
}

/// Snappy's block format with literals only (a valid stream any decoder takes; a request of
/// a few kilobytes gains nothing from matching).
fn snappy(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len() + raw.len() / 60_000 * 3 + 16);
    put_uvarint(&mut out, raw.len() as u64);
    for piece in raw.chunks(1 << 16) {
        let n = piece.len() - 1;
        if n < 60 {
            out.push((n as u8) << 2);
        } else if n < 256 {
            out.extend([60 << 2, n as u8]);
        } else {
            out.extend([61 << 2, n as u8, (n >> 8) as u8]);
        }
        out.extend_from_slice(piece);
    }
    out
}

/// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), as the frames carry it: with the
/// processor's CRC32 instruction where it has one (SSE 4.2), else from tables.
pub fn crc32c(data: &[u8]) -> u32 {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("sse4.2") {
        // SAFETY: the processor has SSE 4.2, checked just above.
        return unsafe { crc32c_sse42(data) };
    }
    crc32c_table(data)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "sse4.2")]
fn crc32c_sse42(data: &[u8]) -> u32 {
    use std::arch::x86_64::{_mm_crc32_u8, _mm_crc32_u64};
    let mut crc = u64::from(!0u32);
    let mut words = data.chunks_exact(8);
    for w in &mut words {
        crc = _mm_crc32_u64(crc, u64::from_le_bytes(w.try_into().expect("eight bytes")));
    }
    let mut crc = crc as u32;
    for &b in words.remainder() {
        crc = _mm_crc32_u8(crc, b);
    }
    !crc
}

/// CRC-32C a byte at a time from a table.
fn crc32c_table(data: &[u8]) -> u32 {
    static TABLE: std::sync::OnceLock<[u32; 256]> = std::sync::OnceLock::new();
    let t = TABLE.get_or_init(|| {
        let mut t = [0u32; 256];
        for (i, e) in t.iter_mut().enumerate() {
            let mut c = i as u32;
            for _ in 0..8 {
                c = if c & 1 == 1 {
                    c >> 1 ^ 0x82F6_3B78
                } else {
                    c >> 1
                };
            }
            *e = c;
        }
        t
    });
    !data.iter().fold(!0u32, |crc, &b| {
        crc >> 8 ^ t[((crc ^ u32::from(b)) & 0xff) as usize]
    })
}

/// The frames of a streamed answer, read one at a time into one buffer.
pub struct Frames<R> {
    reader: R,
    buf: Vec<u8>,
}

impl<R: std::io::Read> Frames<R> {
    /// Frames from a reader (buffer it: the lengths are read a byte at a time).
    pub fn new(reader: R) -> Frames<R> {
        Frames {
            reader,
            buf: Vec::new(),
        }
    }

    /// The next frame's message, checked against its CRC; `None` at the end of the answer.
    pub fn frame(&mut self) -> Result<Option<&[u8]>, String> {
        use std::io::Read;
        // What the frame's header held, to show if it turns out to be text (an error the
        // server wrote into the answer after it began).
        let mut head = Vec::with_capacity(14);
        let mut len = 0u64;
        for shift in (0..64).step_by(7) {
            let mut b = [0u8];
            match self.reader.read_exact(&mut b) {
                Ok(()) => {}
                Err(e) if head.is_empty() && e.kind() == std::io::ErrorKind::UnexpectedEof => {
                    return Ok(None);
                }
                Err(e) => return Err(format!("reading a frame's length: {e}")),
            }
            head.push(b[0]);
            len |= u64::from(b[0] & 0x7f) << shift;
            if b[0] < 0x80 {
                break;
            }
        }
        let io = |e: std::io::Error| format!("reading a frame: {e}");
        let length_bytes = head.len();
        (&mut self.reader)
            .take(4)
            .read_to_end(&mut head)
            .map_err(io)?;
        if len > MAX_FRAME {
            return Err(said(
                format!("a frame of {len} bytes (at most {MAX_FRAME} taken)"),
                &head,
                &[],
            ));
        }
        self.buf.clear();
        (&mut self.reader)
            .take(len)
            .read_to_end(&mut self.buf)
            .map_err(io)?;
        if self.buf.len() as u64 != len || head.len() != length_bytes + 4 {
            return Err(said(
                format!("the answer ends inside a frame of {len} bytes"),
                &head,
                &self.buf,
            ));
        }
        let crc = &head[length_bytes..];
        let want = u32::from_be_bytes([crc[0], crc[1], crc[2], crc[3]]);
        let got = crc32c(&self.buf);
        if want != got {
            return Err(said(
                format!("a frame's checksum is {got:08x}, its header says {want:08x}"),
                &head,
                &self.buf,
            ));
        }
        Ok(Some(&self.buf))
    }
}

/// `message`, and what the bytes say when they are text.
fn said(message: String, head: &[u8], body: &[u8]) -> String {
    let bytes: Vec<u8> = head.iter().chain(body).copied().take(300).collect();
    let text = bytes
        .iter()
        .all(|b| b.is_ascii_graphic() || b.is_ascii_whitespace());
    if text && !bytes.is_empty() {
        let words: Vec<&str> = std::str::from_utf8(&bytes)
            .unwrap_or_default()
            .split_whitespace()
            .collect();
        format!("{message}; the server wrote: {}", words.join(" "))
    } else {
        message
    }
}

/// A protobuf field's value.
enum Value<'a> {
    Varint(u64),
    Bytes(&'a [u8]),
    Other,
}

/// A protobuf message's fields, in order.
struct Fields<'a> {
    b: &'a [u8],
}

impl<'a> Fields<'a> {
    fn uvarint(&mut self) -> Result<u64, String> {
        let mut x = 0u64;
        for shift in (0..64).step_by(7) {
            let (&b, rest) = self
                .b
                .split_first()
                .ok_or("a message ends inside a varint")?;
            self.b = rest;
            x |= u64::from(b & 0x7f) << shift;
            if b < 0x80 {
                return Ok(x);
            }
        }
        Err("a varint longer than 64 bits".into())
    }

    fn take(&mut self, n: u64) -> Result<&'a [u8], String> {
        if n > self.b.len() as u64 {
            return Err("a field runs past its message".into());
        }
        let (head, rest) = self.b.split_at(n as usize);
        self.b = rest;
        Ok(head)
    }

    fn next(&mut self) -> Result<Option<(u64, Value<'a>)>, String> {
        if self.b.is_empty() {
            return Ok(None);
        }
        let key = self.uvarint()?;
        let value = match key & 7 {
            0 => Value::Varint(self.uvarint()?),
            1 => {
                self.take(8)?;
                Value::Other
            }
            2 => {
                let n = self.uvarint()?;
                Value::Bytes(self.take(n)?)
            }
            5 => {
                self.take(4)?;
                Value::Other
            }
            w => return Err(format!("wire type {w} is not protobuf 3")),
        };
        Ok(Some((key >> 3, value)))
    }
}

fn text(b: &[u8]) -> Result<&str, String> {
    std::str::from_utf8(b).map_err(|_| "a label that is not UTF-8".to_string())
}

/// One chunk of a series.
pub struct Chunk<'a> {
    /// `Chunk.Encoding`: 1 is XOR (floats); 2 and 3 are native histograms.
    pub encoding: u64,
    /// The chunk's bytes.
    pub data: &'a [u8],
}

/// One series of a frame (a long series spans several frames, its labels repeated).
pub struct Series<'a> {
    /// Its labels, `__name__` among them.
    pub labels: Vec<(&'a str, &'a str)>,
    /// Its chunks, in time order.
    pub chunks: Vec<Chunk<'a>>,
}

/// A frame's message (`ChunkedReadResponse`): the index of the query it answers, and its
/// series.
pub fn response(msg: &[u8]) -> Result<(usize, Vec<Series<'_>>), String> {
    let mut index = 0;
    let mut series = Vec::new();
    let mut f = Fields { b: msg };
    while let Some((field, value)) = f.next()? {
        match (field, value) {
            (1, Value::Bytes(s)) => series.push(one_series(s)?),
            (2, Value::Varint(i)) => index = i as usize,
            _ => {}
        }
    }
    Ok((index, series))
}

fn one_series(b: &[u8]) -> Result<Series<'_>, String> {
    let mut out = Series {
        labels: Vec::new(),
        chunks: Vec::new(),
    };
    let mut f = Fields { b };
    while let Some((field, value)) = f.next()? {
        match (field, value) {
            (1, Value::Bytes(l)) => {
                let (mut name, mut value) = ("", "");
                let mut lf = Fields { b: l };
                while let Some((k, v)) = lf.next()? {
                    match (k, v) {
                        (1, Value::Bytes(s)) => name = text(s)?,
                        (2, Value::Bytes(s)) => value = text(s)?,
                        _ => {}
                    }
                }
                out.labels.push((name, value));
            }
            (2, Value::Bytes(c)) => {
                let mut chunk = Chunk {
                    encoding: 0,
                    data: &[],
                };
                let mut cf = Fields { b: c };
                while let Some((k, v)) = cf.next()? {
                    match (k, v) {
                        (3, Value::Varint(e)) => chunk.encoding = e,
                        (4, Value::Bytes(d)) => chunk.data = d,
                        _ => {}
                    }
                }
                out.chunks.push(chunk);
            }
            _ => {}
        }
    }
    Ok(out)
}

/// A PromQL string literal's value: `"…"` and `'…'` with Go's escapes, `` `…` `` raw.
pub fn unquote(s: &str) -> Result<String, String> {
    let mut chars = s.chars();
    let (Some(q), Some(last)) = (chars.next(), chars.next_back()) else {
        return Err(format!("{s} is not a quoted string"));
    };
    if q != last || !matches!(q, '"' | '\'' | '`') {
        return Err(format!("{s} is not a quoted string"));
    }
    let inner = chars.as_str();
    if q == '`' {
        return Ok(inner.to_string());
    }
    let mut out = String::with_capacity(inner.len());
    let mut it = inner.chars();
    let bad = |what: &str| format!("{s}: {what}");
    while let Some(c) = it.next() {
        if c == q {
            return Err(bad("an unescaped quote inside the string"));
        }
        if c != '\\' {
            out.push(c);
            continue;
        }
        let e = it.next().ok_or_else(|| bad("a backslash at the end"))?;
        let simple = match e {
            'a' => Some('\x07'),
            'b' => Some('\x08'),
            'f' => Some('\x0c'),
            'n' => Some('\n'),
            'r' => Some('\r'),
            't' => Some('\t'),
            'v' => Some('\x0b'),
            '\\' => Some('\\'),
            '"' | '\'' if e == q => Some(e),
            _ => None,
        };
        if let Some(c) = simple {
            out.push(c);
            continue;
        }
        let (digits, radix) = match e {
            'x' => (2, 16),
            'u' => (4, 16),
            'U' => (8, 16),
            '0'..='7' => (2, 8),
            _ => return Err(bad(&format!("unknown escape \\{e}"))),
        };
        let mut code: String = if radix == 8 {
            e.to_string()
        } else {
            String::new()
        };
        for _ in 0..digits {
            code.push(it.next().ok_or_else(|| bad("a short escape"))?);
        }
        let n = u32::from_str_radix(&code, radix).map_err(|_| bad("a bad escape"))?;
        if matches!(e, 'x' | '0'..='7') && n > 0x7f {
            // Go takes these as raw bytes, which may not be UTF-8.
            return Err(bad(&format!(
                "the byte escape \\{code} (write the character)"
            )));
        }
        out.push(char::from_u32(n).ok_or_else(|| bad("an escape that is no character"))?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        let s: String = s.split_whitespace().collect();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    /// The samples behind [`ANSWER`], as backfilled into Prometheus 2.42 (`promtool tsdb
    /// create-blocks-from openmetrics`): every timestamp bucket (deltas of deltas of 0, 1,
    /// 10 000, 200 000 and 5 000 000 ms, negative ones, a millisecond off) and every value
    /// encoding (the same value, new and reused bit windows, -0, 1e300, 1e-300).
    const SAMPLES: [(i64, f64); 15] = [
        (1_700_000_000_000, 1.5),
        (1_700_000_060_000, 1.5),
        (1_700_000_120_000, 2.0),
        (1_700_000_181_000, 1e300),
        (1_700_000_241_000, -3.25),
        (1_700_010_301_000, 0.0),
        (1_700_010_361_000, 123_456_789.123),
        (1_700_210_421_000, 123_456_789.125),
        (1_700_210_481_000, 4_294_967_296.0),
        (1_705_210_541_000, 4_294_967_296.0),
        (1_705_210_601_000, -0.0),
        (1_705_210_660_999, 7.0),
        (1_705_210_721_000, 7.000_000_000_000_001),
        (1_705_210_722_000, 0.1),
        (1_705_214_322_000, 1e-300),
    ];

    /// Prometheus 2.42's whole answer to [`REQUEST`] (`curl --data-binary` to
    /// `/api/v1/read`): one frame, one series, two chunks (two blocks).
    const ANSWER: &str = "
        8102acf463e40afe010a130a085f5f6e616d655f5f12076c625f746573740a0d0a066465766963651203612262128301
        0880d095ffbc3110e8aec4e3bd3118012271000980a0abfef9623ff8000000000000e0d4033099fff07d18bcf8df90f2
        2001d67bc18c1f5f1ef21e44003acfe0000000001312d016005000000000001ffffffffffeced30187e833ade68a8fbe
        76fc000000002faf08020000000001fbe76ffffffffffd050f80200dade68a90000000125208c8e7dfb3d03110d0cac6
        b5d03118012240000690cfbfe7a06341f0000000000000e0d403c0660fdfffe03b0078002ff08000000074661f0fffe9
        666666666666fc0000000000dbaa627c39ef0cb6c2d586";

    /// The request Prometheus 2.42 answered with [`ANSWER`].
    const REQUEST: &str = "
        3ae40a360880d095ffbc3110d0cac6b5d0311a1312085f5f6e616d655f5f1a076c625f746573741a110802120664657669
        63651a056122627c781001";

    fn query() -> ReadQuery {
        ReadQuery {
            start_ms: 1_700_000_000_000,
            end_ms: 1_705_214_322_000,
            matchers: vec![
                Matcher {
                    op: MatchOp::Eq,
                    name: "__name__".into(),
                    value: "lb_test".into(),
                },
                Matcher {
                    op: MatchOp::Re,
                    name: "device".into(),
                    value: "a\"b|x".into(),
                },
            ],
        }
    }

    #[test]
    fn the_request_is_the_one_prometheus_answered() {
        assert_eq!(request(&[query()]), hex(REQUEST));
    }

    #[test]
    fn a_captured_answer_decodes_to_the_samples_written() {
        let bytes = hex(ANSWER);
        let mut frames = Frames::new(&bytes[..]);
        let msg = frames.frame().unwrap().unwrap().to_vec();
        assert!(frames.frame().unwrap().is_none(), "one frame");
        let (index, series) = response(&msg).unwrap();
        assert_eq!(index, 0);
        assert_eq!(series.len(), 1);
        assert_eq!(
            series[0].labels,
            [("__name__", "lb_test"), ("device", "a\"b")]
        );
        assert_eq!(series[0].chunks.len(), 2);
        let mut got = Vec::new();
        for c in &series[0].chunks {
            assert_eq!(c.encoding, 1, "XOR");
            let n = super::super::xor::decode(c.data, |t, v| got.push((t, v))).unwrap();
            assert!(n > 1);
        }
        assert_eq!(got.len(), SAMPLES.len());
        for (g, w) in got.iter().zip(SAMPLES) {
            // Bit for bit: -0 is not 0.
            assert_eq!((g.0, g.1.to_bits()), (w.0, w.1.to_bits()), "{g:?} {w:?}");
        }
    }

    #[test]
    fn damaged_answers_are_refused() {
        let good = hex(ANSWER);
        // A flipped bit in the message: the checksum no longer matches.
        let mut bad = good.clone();
        bad[40] ^= 1;
        let e = Frames::new(&bad[..]).frame().unwrap_err();
        assert!(e.contains("checksum"), "{e}");
        // Cut short.
        let e = Frames::new(&good[..100]).frame().unwrap_err();
        assert!(
            e.contains("the answer ends inside a frame of 257 bytes"),
            "{e}"
        );
        // An error the server wrote into the answer after it began: its words.
        let e = Frames::new(&b"remote read failed: context canceled\n"[..])
            .frame()
            .unwrap_err();
        assert!(
            e.ends_with("; the server wrote: remote read failed: context canceled"),
            "{e}"
        );
        // A length beyond what is taken, and the largest taken.
        let e = Frames::new(&[0xff, 0xff, 0xff, 0xff, 0x7f][..])
            .frame()
            .unwrap_err();
        assert!(e.contains("at most"), "{e}");
        let mut largest = Vec::new();
        put_uvarint(&mut largest, MAX_FRAME);
        largest.extend([0; 4]);
        let e = Frames::new(&largest[..]).frame().unwrap_err();
        assert_eq!(
            e,
            format!("the answer ends inside a frame of {MAX_FRAME} bytes")
        );
        // Cut inside the length, or inside the checksum after a two-byte length.
        let e = Frames::new(&[0x80][..]).frame().unwrap_err();
        assert!(e.starts_with("reading a frame's length"), "{e}");
        let e = Frames::new(&[0x80, 0x01, 1, 2, 3][..]).frame().unwrap_err();
        assert_eq!(e, "the answer ends inside a frame of 128 bytes");
        // A binary frame that is not text says nothing of "the server wrote".
        assert!(!e.contains("wrote"));
        let mut flipped = good.clone();
        flipped[40] ^= 1;
        let e = Frames::new(&flipped[..]).frame().unwrap_err();
        assert!(!e.contains("wrote"), "{e}");
        // Every cut of a chunk is an error, never a panic or made-up samples.
        let (_, series) = response(&good[6..]).unwrap();
        let data = series[0].chunks[0].data;
        for cut in 0..data.len() {
            assert!(
                super::super::xor::decode(&data[..cut], |_, _| {}).is_err(),
                "cut {cut}"
            );
        }
        assert!(response(&good[6..100]).is_err());
    }

    /// Frames of every length form follow one another: a one-byte length (under 128), the
    /// smallest two-byte one (128), an empty message, and the end.
    #[test]
    fn frames_of_every_length_follow_one_another() {
        let mut stream = Vec::new();
        let messages: [Vec<u8>; 3] = [vec![7; 127], vec![9; 128], vec![]];
        for m in &messages {
            put_uvarint(&mut stream, m.len() as u64);
            stream.extend(crc32c(m).to_be_bytes());
            stream.extend(m);
        }
        let mut frames = Frames::new(&stream[..]);
        for m in &messages {
            assert_eq!(frames.frame().unwrap().unwrap(), &m[..]);
        }
        assert!(frames.frame().unwrap().is_none());
    }

    #[test]
    fn an_answer_to_a_later_query_says_which() {
        // ChunkedReadResponse { query_index: 2 }: no series.
        let (index, series) = response(&[0x10, 0x02]).unwrap();
        assert_eq!(index, 2);
        assert!(series.is_empty());
    }

    #[test]
    fn crc32c_matches_the_published_check_value() {
        // The CRC catalogue's check value for CRC-32/ISCSI over "123456789".
        assert_eq!(crc32c(b"123456789"), 0xE306_9283);
        assert_eq!(crc32c_table(b"123456789"), 0xE306_9283);
        let long: Vec<u8> = (0..1000u32).map(|i| (i * 7 % 251) as u8).collect();
        assert_eq!(crc32c(&long), crc32c_table(&long));
    }

    #[test]
    fn snappy_literals_of_every_length_form() {
        for n in [1usize, 60, 61, 256, 257, 65_536, 65_537, 200_000] {
            let raw: Vec<u8> = (0..n).map(|i| i as u8).collect();
            let s = snappy(&raw);
            // Decode: uvarint length, then literal elements.
            let mut f = Fields { b: &s };
            assert_eq!(f.uvarint().unwrap(), n as u64);
            let mut out = Vec::new();
            let mut b = f.b;
            while let Some((&tag, rest)) = b.split_first() {
                assert_eq!(tag & 3, 0, "a literal");
                let (len, rest) = match tag >> 2 {
                    60 => (usize::from(rest[0]) + 1, &rest[1..]),
                    61 => (
                        usize::from(rest[0]) + (usize::from(rest[1]) << 8) + 1,
                        &rest[2..],
                    ),
                    l => (usize::from(l) + 1, rest),
                };
                out.extend_from_slice(&rest[..len]);
                b = &rest[len..];
            }
            assert_eq!(out, raw, "{n}");
        }
    }

    #[test]
    fn promql_strings_unquote_as_prometheus_reads_them() {
        assert_eq!(unquote(r#""a\"b\\c\n""#).unwrap(), "a\"b\\c\n");
        assert_eq!(unquote(r"'it\'s'").unwrap(), "it's");
        assert_eq!(unquote(r"`raw\n`").unwrap(), r"raw\n");
        assert_eq!(unquote(r#""\x41\101\u00e9\U0001F600""#).unwrap(), "AAé😀");
        assert_eq!(unquote(r#""a.b|c""#).unwrap(), "a.b|c");
        assert_eq!(
            unquote(r#""\a\b\f\n\r\t\v\x7f""#).unwrap(),
            "\x07\x08\x0c\n\r\t\x0b\x7f"
        );
        // Only the string's own quote is escaped.
        assert!(unquote(r#""\'""#).is_err());
        assert!(unquote(r#"'\"'"#).is_err());
        for bad in [
            r#""a"#,
            r#""a"b""#,
            r#""\q""#,
            r#""\xff""#,
            r#""\"#,
            "x",
            r#"'a""#,
        ] {
            assert!(unquote(bad).is_err(), "{bad}");
        }
    }
}
