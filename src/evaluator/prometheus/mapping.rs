//! The metrics mapping (`--metrics FILE`): which Prometheus series holds each telemetry metric,
//! and which label names the device.
//!
//! A small TOML file whose keys are the telemetry CSV's column names, each a PromQL series
//! selector (a metric name and/or `{label="value",...}` matchers) of a gauge in lbfleet's units,
//! plus `device_label`:
//!
//! ```toml
//! device_label = "instance"
//! mem_used_bytes = 'sysStatMemoryUsed{job="snmp-f5"}'
//! mem_total_bytes = 'sysStatMemoryTotal{job="snmp-f5"}'
//! ```
//!
//! Selectors only, not expressions: lbfleet adds a matcher on the device label to page the
//! fleet, and wraps each selector in `avg_over_time`, `max_over_time` and
//! `quantile_over_time`. Counters and unit conversions belong in recording rules.

use std::path::Path;

use super::remote::{MatchOp, Matcher, unquote};
use crate::error::{InputError, Location};

/// The metrics a mapping can name, in the telemetry CSV's column names.
pub const FIELDS: [&str; 7] = crate::evaluator::telemetry::METRICS;

/// Where each metric lives in Prometheus: validated selectors.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mapping {
    /// Where the mapping comes from: the file, or `<default>`.
    pub source: String,
    /// The label whose value is the device name.
    pub device_label: String,
    /// Memory in use, bytes.
    pub mem_used_bytes: Option<Selector>,
    /// Total memory, bytes.
    pub mem_total_bytes: Option<Selector>,
    /// Throughput, bits per second.
    pub throughput_bps: Option<Selector>,
    /// Concurrent connections.
    pub connections: Option<Selector>,
    /// CPU in use, percent.
    pub cpu_pct: Option<Selector>,
    /// SSL transactions per second.
    pub ssl_tps: Option<Selector>,
    /// Seconds since the device booted.
    pub uptime_s: Option<Selector>,
}

/// The documented default: the SNMP exporter's F5 BIG-IP gauges (F5-BIG-IP-SYSTEM-MIB, as the
/// snmp_exporter generator names them) and recording rules for what the MIB has only as
/// counters or in other units. An example: most fleets need their own mapping.
pub const DEFAULT: &str = r#"# lbfleet's default metrics mapping: an EXAMPLE for the SNMP exporter's F5 BIG-IP module.
device_label = "instance"
mem_used_bytes = "sysStatMemoryUsed"
mem_total_bytes = "sysStatMemoryTotal"
connections = "sysStatClientCurConns"
cpu_pct = "sysGlobalHostCpuUsageRatio1m"
# Recording rules (see the README): the MIB has these as counters or in hundredths of seconds.
throughput_bps = "lbfleet:throughput_bps"
ssl_tps = "lbfleet:ssl_tps"
uptime_s = "lbfleet:uptime_s"
"#;

/// A PromQL series selector: an optional metric name and label matchers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Selector {
    /// The metric name, if given outside the braces.
    pub name: Option<String>,
    /// Matchers, each as written (`label="value"`).
    pub matchers: Vec<String>,
    /// The same as remote-read matchers (values unquoted), the metric name's first.
    pub parsed: Vec<Matcher>,
}

impl Selector {
    /// The selector with one more matcher (already valid PromQL).
    pub fn with(&self, matcher: &str) -> String {
        let mut all = self.matchers.clone();
        all.push(matcher.to_string());
        format!(
            "{}{{{}}}",
            self.name.as_deref().unwrap_or(""),
            all.join(",")
        )
    }
}

impl std::fmt::Display for Selector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = self.name.as_deref().unwrap_or("");
        if self.matchers.is_empty() {
            f.write_str(name)
        } else {
            write!(f, "{name}{{{}}}", self.matchers.join(","))
        }
    }
}

fn is_name(s: &str, colon: bool) -> bool {
    let mut c = s.chars();
    c.next()
        .is_some_and(|f| f.is_ascii_alphabetic() || f == '_' || (colon && f == ':'))
        && c.all(|x| x.is_ascii_alphanumeric() || x == '_' || (colon && x == ':'))
}

/// Whether `s` is a Prometheus label name.
pub fn is_label_name(s: &str) -> bool {
    is_name(s, false)
}

impl std::str::FromStr for Selector {
    type Err = String;

    fn from_str(text: &str) -> Result<Selector, String> {
        let s = text.trim();
        let (name, rest) = match s.find('{') {
            Some(i) => (s[..i].trim(), Some(&s[i..])),
            None => (s, None),
        };
        let name = if name.is_empty() {
            None
        } else if is_name(name, true) {
            Some(name.to_string())
        } else {
            return Err(format!(
                "`{text}` is not a series selector: `{name}` is not a metric name (selectors only, such as metric{{job=\"snmp\"}}: put expressions in a recording rule)"
            ));
        };
        let mut matchers = Vec::new();
        let mut parsed: Vec<Matcher> = name
            .iter()
            .map(|n| Matcher {
                op: MatchOp::Eq,
                name: "__name__".into(),
                value: n.clone(),
            })
            .collect();
        if let Some(rest) = rest {
            let inner = rest
                .strip_prefix('{')
                .and_then(|r| r.strip_suffix('}'))
                .ok_or_else(|| {
                    let why = if rest.contains('}') {
                        "text after the closing `}`"
                    } else {
                        "no closing `}`"
                    };
                    format!("`{text}` is not a series selector: {why}")
                })?;
            let mut chars = inner.char_indices().peekable();
            let bytes = inner.as_bytes();
            let mut start = 0;
            // Split at commas outside quoted values.
            let mut parts = Vec::new();
            let mut quote: Option<char> = None;
            while let Some((i, c)) = chars.next() {
                match (quote, c) {
                    // Backticks are raw: a backslash in them escapes nothing.
                    (Some(q), '\\') if q != '`' => {
                        chars.next();
                    }
                    (Some(q), c) if c == q => quote = None,
                    (None, '"' | '\'' | '`') => quote = Some(c),
                    (None, ',') => {
                        parts.push(&inner[start..i]);
                        start = i + 1;
                    }
                    _ => {}
                }
            }
            if quote.is_some() {
                return Err(format!("`{text}`: unterminated quoted value"));
            }
            if start < bytes.len() {
                parts.push(&inner[start..]);
            }
            for p in parts {
                let p = p.trim();
                if p.is_empty() {
                    continue;
                }
                let op = ["=~", "!~", "!=", "="]
                    .iter()
                    .filter_map(|op| p.find(op).map(|i| (i, *op)))
                    .min_by_key(|&(i, op)| (i, std::cmp::Reverse(op.len())))
                    .ok_or_else(|| {
                        format!("`{text}`: matcher `{p}` has no operator (=, !=, =~, !~)")
                    })?;
                let label = p[..op.0].trim();
                let value = p[op.0 + op.1.len()..].trim();
                if !is_label_name(label) {
                    return Err(format!("`{text}`: `{label}` is not a label name"));
                }
                let quoted = value.len() >= 2
                    && ['"', '\'', '`']
                        .iter()
                        .any(|&q| value.starts_with(q) && value.ends_with(q));
                if !quoted {
                    return Err(format!(
                        "`{text}`: the value of `{label}` must be quoted (\"...\")"
                    ));
                }
                matchers.push(format!("{label}{}{value}", op.1));
                parsed.push(Matcher {
                    op: match op.1 {
                        "=" => MatchOp::Eq,
                        "!=" => MatchOp::Neq,
                        "=~" => MatchOp::Re,
                        _ => MatchOp::Nre,
                    },
                    name: label.to_string(),
                    value: unquote(value).map_err(|e| format!("`{text}`: {e}"))?,
                });
            }
        }
        if name.is_none() && matchers.is_empty() {
            return Err(format!("`{text}`: an empty selector matches nothing"));
        }
        Ok(Selector {
            name,
            matchers,
            parsed,
        })
    }
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    device_label: toml::Spanned<String>,
    mem_used_bytes: Option<toml::Spanned<String>>,
    mem_total_bytes: Option<toml::Spanned<String>>,
    throughput_bps: Option<toml::Spanned<String>>,
    connections: Option<toml::Spanned<String>>,
    cpu_pct: Option<toml::Spanned<String>>,
    ssl_tps: Option<toml::Spanned<String>>,
    uptime_s: Option<toml::Spanned<String>>,
}

fn line_of(text: &str, at: usize) -> u64 {
    text[..at.min(text.len())]
        .bytes()
        .filter(|&b| b == b'\n')
        .count() as u64
        + 1
}

impl Mapping {
    /// Reads and validates a mapping file.
    pub fn from_file(path: &Path) -> Result<Mapping, InputError> {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path)
            .map_err(|e| InputError::new(Location::file(&name), format!("cannot read: {e}")))?;
        Mapping::parse(&name, &text)
    }

    /// The documented default mapping.
    pub fn default_mapping() -> Mapping {
        Mapping::parse("<default>", DEFAULT).expect("the default mapping is valid")
    }

    /// Parses a mapping; errors name the file, line and field.
    pub fn parse(file: &str, text: &str) -> Result<Mapping, InputError> {
        let raw: Raw = toml::from_str(text).map_err(|e| {
            let span = e.span();
            let mut at = match &span {
                Some(s) => Location::line(file, line_of(text, s.start)),
                None => Location::file(file),
            };
            let msg = e.message().trim().to_string();
            // An unknown key: the span is the key itself.
            if let Some(s) = span.filter(|_| msg.starts_with("unknown field")) {
                let key = text[s.clone()].trim().trim_matches(['"', '\'']);
                at = at.field(key);
                let near = crate::suggest::did_you_mean(
                    key,
                    FIELDS.iter().copied().chain(["device_label"]),
                );
                return InputError::new(
                    at,
                    format!(
                        "unknown field{near}; expected device_label and any of {}",
                        FIELDS.join(", ")
                    ),
                );
            }
            InputError::new(at, msg)
        })?;
        let at = |s: &toml::Spanned<String>, field: &str| {
            Location::line(file, line_of(text, s.span().start)).field(field)
        };
        let label = raw.device_label.get_ref().trim();
        if !is_label_name(label) {
            return Err(InputError::new(
                at(&raw.device_label, "device_label"),
                format!("`{label}` is not a label name"),
            ));
        }
        let sel = |v: &Option<toml::Spanned<String>>, field: &str| {
            v.as_ref()
                .map(|s| {
                    s.get_ref()
                        .parse::<Selector>()
                        .map_err(|m| InputError::new(at(s, field), m))
                })
                .transpose()
        };
        let m = Mapping {
            source: file.to_string(),
            device_label: label.to_string(),
            mem_used_bytes: sel(&raw.mem_used_bytes, "mem_used_bytes")?,
            mem_total_bytes: sel(&raw.mem_total_bytes, "mem_total_bytes")?,
            throughput_bps: sel(&raw.throughput_bps, "throughput_bps")?,
            connections: sel(&raw.connections, "connections")?,
            cpu_pct: sel(&raw.cpu_pct, "cpu_pct")?,
            ssl_tps: sel(&raw.ssl_tps, "ssl_tps")?,
            uptime_s: sel(&raw.uptime_s, "uptime_s")?,
        };
        if m.fields().next().is_none() {
            return Err(InputError::new(
                Location::file(file),
                format!("no metric mapped: give any of {}", FIELDS.join(", ")),
            ));
        }
        Ok(m)
    }

    /// The mapped metrics: (field, selector), in [`FIELDS`] order.
    pub fn fields(&self) -> impl Iterator<Item = (&'static str, &Selector)> {
        [
            ("mem_used_bytes", &self.mem_used_bytes),
            ("mem_total_bytes", &self.mem_total_bytes),
            ("throughput_bps", &self.throughput_bps),
            ("connections", &self.connections),
            ("cpu_pct", &self.cpu_pct),
            ("ssl_tps", &self.ssl_tps),
            ("uptime_s", &self.uptime_s),
        ]
        .into_iter()
        .filter_map(|(f, s)| s.as_ref().map(|s| (f, s)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selectors_are_parsed_and_take_a_device_matcher() {
        let s: Selector = r#"lb_mem{job="snmp", a=~"x,y"}"#.parse().unwrap();
        assert_eq!(s.name.as_deref(), Some("lb_mem"));
        assert_eq!(s.matchers, [r#"job="snmp""#, r#"a=~"x,y""#]);
        assert_eq!(s.with(r#"d=~"a""#), r#"lb_mem{job="snmp",a=~"x,y",d=~"a"}"#);
        // The same as remote-read matchers: the name first, values unquoted.
        let parsed = |s: &Selector| -> Vec<(MatchOp, String, String)> {
            s.parsed
                .iter()
                .map(|m| (m.op, m.name.clone(), m.value.clone()))
                .collect()
        };
        assert_eq!(
            parsed(&s),
            [
                (MatchOp::Eq, "__name__".into(), "lb_mem".into()),
                (MatchOp::Eq, "job".into(), "snmp".into()),
                (MatchOp::Re, "a".into(), "x,y".into())
            ]
        );
        let q: Selector = r#"{path!~`C:\`, n!="a\"b"}"#.parse().unwrap();
        assert_eq!(
            parsed(&q),
            [
                (MatchOp::Nre, "path".into(), r"C:\".into()),
                (MatchOp::Neq, "n".into(), "a\"b".into())
            ]
        );
        let bare: Selector = "lbfleet:uptime_s".parse().unwrap();
        assert_eq!(bare.with("d=\"x\""), "lbfleet:uptime_s{d=\"x\"}");
        assert_eq!(bare.to_string(), "lbfleet:uptime_s");
        let e = r#"x{a="b""#.parse::<Selector>().unwrap_err();
        assert!(e.ends_with("no closing `}`"), "{e}");
        let e = r#"x{a="b"} + 1"#.parse::<Selector>().unwrap_err();
        assert!(e.ends_with("text after the closing `}`"), "{e}");
        for bad in [
            "rate(x[5m])",
            "x{job=snmp}",
            "x{job}",
            "x{1a=\"b\"}",
            "{}",
            "x{a=\"b\"} + 1",
            "x{a=\"b}",
        ] {
            assert!(bad.parse::<Selector>().is_err(), "{bad}");
        }
    }

    #[test]
    fn a_typo_names_file_line_and_field() {
        let e = Mapping::parse(
            "m.toml",
            "device_label = \"instance\"\nmem_used_bytes = \"a\"\nmem_totl_bytes = \"b\"\n",
        )
        .unwrap_err();
        assert_eq!(e.location.line, Some(3), "{e}");
        assert_eq!(e.location.field.as_deref(), Some("mem_totl_bytes"), "{e}");
        assert!(
            e.message.contains("did you mean \"mem_total_bytes\""),
            "{e}"
        );
        let e = Mapping::parse(
            "m.toml",
            "device_label = \"instance\"\n\nthroughput_bps = \"rate(x[1m])\"\n",
        )
        .unwrap_err();
        assert_eq!(e.to_string().split(": ").next(), Some("m.toml:3"), "{e}");
        assert_eq!(e.location.field.as_deref(), Some("throughput_bps"));
        let e = Mapping::parse("m.toml", "mem_used_bytes = \"a\"\n").unwrap_err();
        assert!(e.to_string().contains("device_label"), "{e}");
        let e = Mapping::parse("m.toml", "device_label = \"instance\"\n").unwrap_err();
        assert!(e.to_string().contains("no metric mapped"), "{e}");
    }

    #[test]
    fn the_default_mapping_is_valid() {
        let m = Mapping::default_mapping();
        assert_eq!(m.device_label, "instance");
        assert_eq!(m.fields().count(), 7);
    }
}
