//! Changing cells of an inventory CSV in place: only the cells named change; row order, other
//! columns, quoting, a BOM, blank lines and line endings stay byte for byte.

use std::ops::Range;
use std::path::Path;

/// One cell to change: the `column` of the row whose `name` is `device`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CellEdit {
    /// The device (the row's `name`).
    pub device: String,
    /// The column, as in the header (case and surrounding spaces ignored).
    pub column: String,
    /// The new value.
    pub value: String,
}

/// A field of a record: its raw bytes' range and whether it is quoted.
struct Field {
    span: Range<usize>,
    quoted: bool,
}

/// Splits CSV text into records of fields, keeping each field's byte range. Blank lines are
/// records of one empty field, as readers skip them.
fn records(text: &[u8], start: usize) -> Vec<Vec<Field>> {
    let mut out = Vec::new();
    let mut record = Vec::new();
    let mut i = start;
    let n = text.len();
    if i >= n {
        return out;
    }
    loop {
        let begin = i;
        let quoted = i < n && text[i] == b'"';
        if quoted {
            i += 1;
            while i < n {
                if text[i] == b'"' {
                    if i + 1 < n && text[i + 1] == b'"' {
                        i += 2;
                        continue;
                    }
                    i += 1;
                    break;
                }
                i += 1;
            }
        }
        while i < n && text[i] != b',' && text[i] != b'\n' {
            i += 1;
        }
        let mut end = i;
        if i < n && text[i] == b'\n' && end > begin && text[end - 1] == b'\r' {
            end -= 1;
        }
        record.push(Field {
            span: begin..end,
            quoted,
        });
        if i >= n {
            out.push(record);
            return out;
        }
        let sep = text[i];
        i += 1;
        if sep == b'\n' {
            out.push(std::mem::take(&mut record));
            if i >= n {
                return out;
            }
        }
    }
}

/// The value of a field: unquoted, `""` undone, surrounding spaces trimmed.
fn value(text: &[u8], f: &Field) -> String {
    let raw = String::from_utf8_lossy(&text[f.span.clone()]);
    let raw = raw.trim();
    if f.quoted && raw.len() >= 2 && raw.ends_with('"') {
        raw[1..raw.len() - 1].replace("\"\"", "\"")
    } else {
        raw.to_string()
    }
}

/// How a new value is written where `old` was: quoted if `old` was or if it must be.
fn encode(v: &str, was_quoted: bool) -> String {
    if was_quoted || v.contains([',', '"', '\n', '\r']) || v != v.trim() {
        format!("\"{}\"", v.replace('"', "\"\""))
    } else {
        v.to_string()
    }
}

/// Applies `edits` to CSV `bytes`: the new bytes, and the edits no row matched (unknown
/// device or column). A device named on several rows has each changed.
pub fn apply(bytes: &[u8], edits: &[CellEdit]) -> (Vec<u8>, Vec<CellEdit>) {
    let start = if bytes.starts_with(b"\xEF\xBB\xBF") {
        3
    } else {
        0
    };
    let recs = records(bytes, start);
    let mut header = recs
        .iter()
        .filter(|r| !(r.len() == 1 && r[0].span.is_empty()));
    let Some(head) = header.next() else {
        return (bytes.to_vec(), edits.to_vec());
    };
    let names: Vec<String> = head
        .iter()
        .map(|f| value(bytes, f).to_ascii_lowercase())
        .collect();
    let col = |c: &str| {
        names
            .iter()
            .position(|n| *n == c.trim().to_ascii_lowercase())
    };
    let name_col = col("name");
    // (byte range, replacement) in file order.
    let mut changes: Vec<(Range<usize>, String)> = Vec::new();
    let mut unmatched = Vec::new();
    for e in edits {
        let (Some(nc), Some(c)) = (name_col, col(&e.column)) else {
            unmatched.push(e.clone());
            continue;
        };
        let mut hit = false;
        for r in &recs {
            if std::ptr::eq(r, head) || r.len() <= nc.max(c) {
                continue;
            }
            if value(bytes, &r[nc]) == e.device {
                changes.retain(|(span, _)| *span != r[c].span);
                changes.push((r[c].span.clone(), encode(&e.value, r[c].quoted)));
                hit = true;
            }
        }
        if !hit {
            unmatched.push(e.clone());
        }
    }
    changes.sort_by_key(|(span, _)| span.start);
    let mut out = Vec::with_capacity(bytes.len() + 64);
    let mut at = 0;
    for (span, text) in changes {
        out.extend_from_slice(&bytes[at..span.start]);
        out.extend_from_slice(text.as_bytes());
        at = span.end;
    }
    out.extend_from_slice(&bytes[at..]);
    (out, unmatched)
}

/// Applies `edits` to the CSV file at `path`, atomically, when anything changes: whether it
/// did, and the edits no row matched.
pub fn apply_file(path: &Path, edits: &[CellEdit]) -> anyhow::Result<(bool, Vec<CellEdit>)> {
    use anyhow::Context;
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let (new, unmatched) = apply(&bytes, edits);
    let changed = new != bytes;
    if changed {
        crate::fsutil::write_atomic(path, &new)?;
    }
    Ok((changed, unmatched))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edit(device: &str, column: &str, value: &str) -> CellEdit {
        CellEdit {
            device: device.into(),
            column: column.into(),
            value: value.into(),
        }
    }

    #[test]
    fn only_the_named_cells_change_byte_for_byte() {
        let before = "\u{feff}name,site,Version,owner,ha_role\r\n\
             lb01,FRA1,15.1.10,\"Ops, Frankfurt\",active\r\n\
             \r\n\
             \"lb02\",FRA1,\"15.1.10\",\"say \"\"hi\"\"\",standby\r\n\
             lb03,NYC2,17.1.3,,standalone";
        let (after, unmatched) = apply(
            before.as_bytes(),
            &[
                edit("lb02", "version", "16.1.4"),
                edit("lb01", "ha_role", "standby"),
                edit("lb02", "ha_role", "active"),
                edit("lb03", "version", "17.5.1"),
                edit("lb09", "version", "1.0"),
                edit("lb01", "serial", "x"),
            ],
        );
        let want = "\u{feff}name,site,Version,owner,ha_role\r\n\
             lb01,FRA1,15.1.10,\"Ops, Frankfurt\",standby\r\n\
             \r\n\
             \"lb02\",FRA1,\"16.1.4\",\"say \"\"hi\"\"\",active\r\n\
             lb03,NYC2,17.5.1,,standalone";
        assert_eq!(String::from_utf8(after).unwrap(), want);
        assert_eq!(
            unmatched,
            [edit("lb09", "version", "1.0"), edit("lb01", "serial", "x")]
        );
    }

    #[test]
    fn values_that_need_quotes_get_them_and_lf_files_stay_lf() {
        let before = "name,version,note\nlb01,1.0,a\nlb02,2.0,b\n";
        let (after, _) = apply(
            before.as_bytes(),
            &[
                edit("lb01", "note", "x, \"y\""),
                edit("lb02", "version", "11.5.1 HF10"),
            ],
        );
        assert_eq!(
            String::from_utf8(after).unwrap(),
            "name,version,note\nlb01,1.0,\"x, \"\"y\"\"\"\nlb02,11.5.1 HF10,b\n"
        );
        // Nothing to change: the same bytes.
        let (same, _) = apply(before.as_bytes(), &[edit("lb01", "version", "1.0")]);
        assert_eq!(same, before.as_bytes());
    }

    #[test]
    fn the_file_is_rewritten_only_when_a_cell_changes() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("devices.csv");
        std::fs::write(&p, "name,version\nlb01,1.0\n").unwrap();
        assert!(
            apply_file(&p, &[edit("lb01", "version", "2.0")])
                .unwrap()
                .1
                .is_empty()
        );
        assert_eq!(
            std::fs::read_to_string(&p).unwrap(),
            "name,version\nlb01,2.0\n"
        );
    }

    proptest::proptest! {
        /// Whatever the quoting and line endings, a reader sees every cell as before except
        /// the one edited, which holds the new value.
        #[test]
        fn a_reader_sees_only_the_edited_cell_change(
            cells in proptest::collection::vec(proptest::collection::vec("[a-z ,\"]{0,6}", 3), 1..6),
            row in 0usize..6,
            col in 1usize..3,
            new in "[a-z0-9 ,.\"]{0,8}",
            crlf in proptest::bool::ANY,
        ) {
            let mut w = csv::WriterBuilder::new()
                .terminator(if crlf { csv::Terminator::CRLF } else { csv::Terminator::Any(b'\n') })
                .from_writer(Vec::new());
            w.write_record(["name", "a", "b"]).unwrap();
            for (i, r) in cells.iter().enumerate() {
                w.write_record([format!("d{i}"), r[1].clone(), r[2].clone()]).unwrap();
            }
            let bytes = w.into_inner().unwrap();
            let row = row % cells.len();
            let column = ["name", "a", "b"][col];
            let (after, unmatched) = apply(&bytes, &[edit(&format!("d{row}"), column, &new)]);
            proptest::prop_assert!(unmatched.is_empty());
            let read = |b: &[u8]| -> Vec<Vec<String>> {
                csv::ReaderBuilder::new().from_reader(b).records()
                    .map(|r| r.unwrap().iter().map(str::to_string).collect()).collect()
            };
            let mut want = read(&bytes);
            want[row][col] = new.trim().to_string();
            let mut got = read(&after);
            got[row][col] = got[row][col].trim().to_string();
            proptest::prop_assert_eq!(got, want);
        }
    }
}
