//! The rollout journal: one human-readable line per step start and end, appended and fsynced,
//! so that after a crash, Ctrl-C or a fixed failure `--resume` repeats no finished step and
//! `lbfleet status` can tell where the rollout stands from the journal alone.
//!
//! ```text
//! 2026-11-25T15:44:01Z start wave=1 group=lab-ha01 step=hop device=lab-lb02 to=17.5.1
//! 2026-11-25T15:44:09Z done wave=1 group=lab-ha01 step=hop device=lab-lb02 to=17.5.1
//! 2026-11-25T15:44:09Z fail wave=1 group=lab-ha03 step=hop device=lab-lb04 to=17.5.1 error="..."
//! ```

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

/// What happened to a step.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Event {
    /// It began.
    Start,
    /// It finished well.
    Done,
    /// It finished badly.
    Fail,
    /// It was not needed (already done on the device).
    Skip,
    /// Ctrl-C stopped it part-way (waiting on the device): unfinished, continued by `--resume`,
    /// never counted as a failure.
    Interrupted,
    /// Not a step: an override or a decision of the run (`--force`, `--ignore-windows`),
    /// recorded for the report.
    Note,
    /// Not a step: a cell of the inventory was written to say what a step changed.
    Wrote,
}

impl Event {
    fn word(self) -> &'static str {
        match self {
            Event::Start => "start",
            Event::Done => "done",
            Event::Fail => "fail",
            Event::Skip => "skip",
            Event::Interrupted => "interrupted",
            Event::Note => "note",
            Event::Wrote => "wrote",
        }
    }
}

/// One line of the journal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// UTC time.
    pub at: String,
    /// What happened.
    pub event: Event,
    /// `key=value` fields in order (`wave`, `group`, `step`, `device`, `to`, `error`...).
    pub fields: Vec<(String, String)>,
}

impl Entry {
    /// A field's value.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The step's identity: everything but the time, the event and the result fields.
    pub fn key(&self) -> String {
        self.fields
            .iter()
            .filter(|(k, _)| !RESULT_FIELDS.contains(&k.as_str()))
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// Fields that tell how a step ended, or describe it, rather than which step it is.
pub const RESULT_FIELDS: [&str; 13] = [
    "archive",
    "archive_bytes",
    "archive_sha256",
    "copied_to",
    "booted_before",
    "booted_after",
    "error",
    "detail",
    "mem_before",
    "mem_after",
    "rebooted",
    "from",
    "rollback",
];

/// The notes of a journal (`--force`, `--ignore-windows`, ...), as `what: detail`.
pub fn notes(entries: &[Entry]) -> Vec<String> {
    entries
        .iter()
        .filter(|e| e.event == Event::Note && e.get("what") != Some("gate"))
        .map(|e| {
            format!(
                "{} {}: {}",
                e.at,
                e.get("what").unwrap_or(""),
                e.get("detail").unwrap_or("")
            )
        })
        .collect()
}

/// What the gate after the canary said, each time it changed: "AT gate G: VERDICT: DETAIL".
pub fn gate_notes(entries: &[Entry]) -> Vec<String> {
    entries
        .iter()
        .filter(|e| e.event == Event::Note && e.get("what") == Some("gate"))
        .map(|e| {
            format!(
                "{} gate {}: {}: {}",
                e.at,
                e.get("gate").unwrap_or(""),
                e.get("verdict").unwrap_or(""),
                e.get("detail").unwrap_or("")
            )
        })
        .collect()
}

fn quote(v: &str) -> String {
    if !v.is_empty()
        && v.bytes()
            .all(|b| b.is_ascii_graphic() && b != b'"' && b != b'=' && b != b'\\')
    {
        v.to_string()
    } else {
        let mut s = String::from("\"");
        for c in v.chars() {
            match c {
                '"' => s.push_str("\\\""),
                '\\' => s.push_str("\\\\"),
                '\n' => s.push_str("\\n"),
                c => s.push(c),
            }
        }
        s.push('"');
        s
    }
}

/// Parses one line; `None` for anything else (a torn last line after a crash).
fn parse(line: &str) -> Option<Entry> {
    let (at, rest) = line.split_once(' ')?;
    let (word, mut rest) = rest.split_once(' ').unwrap_or((rest, ""));
    let event = match word {
        "start" => Event::Start,
        "done" => Event::Done,
        "fail" => Event::Fail,
        "skip" => Event::Skip,
        "interrupted" => Event::Interrupted,
        "note" => Event::Note,
        "wrote" => Event::Wrote,
        _ => return None,
    };
    let mut fields = Vec::new();
    while !rest.is_empty() {
        let (k, after) = rest.split_once('=')?;
        let (v, after) = if let Some(q) = after.strip_prefix('"') {
            let mut v = String::new();
            let mut chars = q.char_indices();
            let mut end = None;
            while let Some((i, c)) = chars.next() {
                match c {
                    '\\' => match chars.next() {
                        Some((_, 'n')) => v.push('\n'),
                        Some((_, c)) => v.push(c),
                        None => return None,
                    },
                    '"' => {
                        end = Some(i + 1);
                        break;
                    }
                    c => v.push(c),
                }
            }
            (v, &q[end?..])
        } else {
            let (v, a) = after.split_once(' ').unwrap_or((after, ""));
            (v.to_string(), a)
        };
        fields.push((k.to_string(), v));
        rest = after.trim_start();
    }
    Some(Entry {
        at: at.to_string(),
        event,
        fields,
    })
}

/// An open journal.
pub struct Journal {
    path: PathBuf,
    file: File,
    /// Everything read at open and written since.
    pub entries: Vec<Entry>,
}

impl Journal {
    /// Opens (creating) the journal and reads what is there.
    pub fn open(path: &Path) -> std::io::Result<Journal> {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        let entries = text.lines().filter_map(parse).collect();
        let mut file = OpenOptions::new().create(true).append(true).open(path)?;
        // End a line torn by a crash, so the next entry starts on its own line.
        if !text.is_empty() && !text.ends_with('\n') {
            file.write_all(b"\n")?;
            file.sync_data()?;
        }
        Ok(Journal {
            path: path.to_path_buf(),
            file,
            entries,
        })
    }

    /// Reads a journal without opening it for writing.
    pub fn read(path: &Path) -> std::io::Result<Vec<Entry>> {
        Ok(std::fs::read_to_string(path)?
            .lines()
            .filter_map(parse)
            .collect())
    }

    /// Where it is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one line and fsyncs it.
    pub fn record(&mut self, event: Event, fields: &[(&str, &str)]) -> std::io::Result<()> {
        let at = jiff::Timestamp::now()
            .strftime("%Y-%m-%dT%H:%M:%SZ")
            .to_string();
        let mut line = format!("{at} {}", event.word());
        for (k, v) in fields {
            line.push_str(&format!(" {k}={}", quote(v)));
        }
        line.push('\n');
        self.file.write_all(line.as_bytes())?;
        self.file.sync_data()?;
        self.entries.push(Entry {
            at,
            event,
            fields: fields
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        });
        Ok(())
    }

    /// Whether a step (by its identity) finished well or was skipped.
    pub fn finished(&self, key: &str) -> bool {
        self.entries
            .iter()
            .any(|e| matches!(e.event, Event::Done | Event::Skip) && e.key() == key)
    }
}

/// The last event of each step, in order of first appearance.
pub fn last_events(entries: &[Entry]) -> Vec<&Entry> {
    let mut order: Vec<String> = Vec::new();
    let mut last: BTreeMap<String, &Entry> = BTreeMap::new();
    for e in entries {
        let k = e.key();
        if !last.contains_key(&k) {
            order.push(k.clone());
        }
        last.insert(k, e);
    }
    order.iter().map(|k| last[k]).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_round_trip_and_torn_lines_are_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("j");
        let mut j = Journal::open(&p).unwrap();
        j.record(
            Event::Start,
            &[
                ("wave", "1"),
                ("step", "hop"),
                ("device", "a"),
                ("to", "17.5.1"),
            ],
        )
        .unwrap();
        j.record(
            Event::Fail,
            &[
                ("wave", "1"),
                ("step", "hop"),
                ("device", "a"),
                ("to", "17.5.1"),
                ("error", "said \"no\" = bad\nnext"),
            ],
        )
        .unwrap();
        j.record(
            Event::Done,
            &[
                ("wave", "1"),
                ("step", "hop"),
                ("device", "a"),
                ("to", "17.5.1"),
            ],
        )
        .unwrap();
        drop(j);
        // A crash mid-write leaves half a line.
        let mut f = OpenOptions::new().append(true).open(&p).unwrap();
        f.write_all(b"2026-11-25T00:00:00Z don").unwrap();
        let mut j = Journal::open(&p).unwrap();
        assert_eq!(j.entries.len(), 3);
        // The next entry starts on its own line, after the torn one.
        j.record(Event::Start, &[("step", "hop"), ("device", "z")])
            .unwrap();
        let text = std::fs::read_to_string(&p).unwrap();
        assert!(text.contains("don\n2026-"), "{text}");
        assert!(!text.contains("\n\n"), "{text}");
        assert_eq!(Journal::read(&p).unwrap().len(), 4);
        let j = Journal::open(&p).unwrap();
        assert_eq!(j.entries.len(), 4);
        assert_eq!(j.entries[1].get("error"), Some("said \"no\" = bad\nnext"));
        assert!(j.finished("wave=1 step=hop device=a to=17.5.1"));
        assert!(!j.finished("wave=1 step=hop device=b to=17.5.1"));
        // The file format: values that need it are quoted and escaped, others are bare.
        let p = dir.path().join("format");
        let mut f = Journal::open(&p).unwrap();
        f.record(
            Event::Note,
            &[
                ("what", "force"),
                ("empty", ""),
                ("eq", "a=b"),
                ("quote", "say \"hi\""),
                ("slash", "a\\b"),
                ("space", "a b"),
            ],
        )
        .unwrap();
        let text = std::fs::read_to_string(&p).unwrap();
        let line = text.split_once(' ').unwrap().1;
        assert_eq!(
            line,
            "note what=force empty=\"\" eq=\"a=b\" quote=\"say \\\"hi\\\"\" slash=\"a\\\\b\" space=\"a b\"\n"
        );
        // One line: a new journal does not start with an empty one.
        assert_eq!(text.lines().count(), 1, "{text:?}");
        let read = Journal::open(&p).unwrap();
        assert_eq!(read.entries[0].get("quote"), Some("say \"hi\""));
        assert_eq!(read.entries[0].get("slash"), Some("a\\b"));
        assert_eq!(read.entries[0].get("empty"), Some(""));
        // Notes are listed for the report; steps are not.
        f.record(Event::Done, &[("step", "hop"), ("device", "a")])
            .unwrap();
        f.record(
            Event::Note,
            &[("what", "ignore-windows"), ("detail", "now")],
        )
        .unwrap();
        f.record(
            Event::Note,
            &[
                ("what", "gate"),
                ("gate", "leak-fixed"),
                ("verdict", "wait"),
                ("detail", "2 more days"),
            ],
        )
        .unwrap();
        let notes = notes(&f.entries);
        assert_eq!(notes.len(), 2, "{notes:?}");
        assert!(notes[0].ends_with("Z force: "), "{notes:?}");
        assert!(notes[1].ends_with("Z ignore-windows: now"), "{notes:?}");
        // The gate's words are listed apart.
        let gate = gate_notes(&f.entries);
        assert_eq!(gate.len(), 1, "{gate:?}");
        assert!(
            gate[0].ends_with("Z gate leak-fixed: wait: 2 more days"),
            "{gate:?}"
        );
        // Started, failed or interrupted is not finished; skipped is.
        for (event, finished) in [
            (Event::Start, false),
            (Event::Fail, false),
            (Event::Interrupted, false),
            (Event::Note, false),
            (Event::Wrote, false),
            (Event::Skip, true),
            (Event::Done, true),
        ] {
            let p = dir.path().join(format!("{event:?}"));
            let mut j = Journal::open(&p).unwrap();
            j.record(event, &[("step", "hop"), ("device", "c"), ("error", "x")])
                .unwrap();
            assert_eq!(j.finished("step=hop device=c"), finished, "{event:?}");
            // The same, read back from the file.
            let read = Journal::open(&p).unwrap();
            assert_eq!(read.entries.len(), 1, "{event:?}");
            assert_eq!(read.finished("step=hop device=c"), finished, "{event:?}");
        }
        let last: Vec<(Event, String)> = last_events(&j.entries)
            .into_iter()
            .map(|e| (e.event, e.key()))
            .collect();
        assert_eq!(
            last,
            [
                (
                    Event::Done,
                    "wave=1 step=hop device=a to=17.5.1".to_string()
                ),
                (Event::Start, "step=hop device=z".to_string()),
            ]
        );
    }
}
