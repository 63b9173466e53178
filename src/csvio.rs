//! Reading CSV files the way real exports come: UTF-8 BOM, CRLF, quoted fields, blank lines,
//! surrounding spaces, extra columns. Rows keep their line numbers for error messages.

use std::path::Path;

use crate::error::{InputError, Location};

/// A parsed CSV file: lower-cased headers and rows with their line numbers.
#[derive(Debug)]
pub struct CsvFile {
    /// The file name used in messages.
    pub name: String,
    /// Header names, trimmed and lower-cased.
    pub headers: Vec<String>,
    /// Data rows in file order.
    pub rows: Vec<CsvRow>,
    /// Rows that could not be split into the header's columns (left out of `rows`).
    pub bad_rows: Vec<InputError>,
}

/// One data row.
#[derive(Debug)]
pub struct CsvRow {
    /// 1-based line where the record starts.
    pub line: u64,
    /// The fields as read (use [`CsvRow::get`], which trims).
    pub record: csv::StringRecord,
}

impl CsvRow {
    /// The field at `idx` without surrounding spaces, or "" when the column is absent.
    pub fn get(&self, idx: Option<usize>) -> &str {
        idx.and_then(|i| self.record.get(i)).unwrap_or("").trim()
    }
}

impl CsvFile {
    /// Reads and parses a file from disk.
    pub fn read(path: &Path) -> Result<CsvFile, InputError> {
        let name = path.display().to_string();
        let bytes = std::fs::read(path)
            .map_err(|e| InputError::new(Location::file(&name), format!("cannot read: {e}")))?;
        CsvFile::parse(name, &bytes)
    }

    /// Parses CSV bytes; `name` is used in messages.
    pub fn parse(name: String, bytes: &[u8]) -> Result<CsvFile, InputError> {
        let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        if std::str::from_utf8(bytes).is_err() {
            return Err(InputError::new(
                Location::file(&name),
                "not UTF-8 text (save the export as UTF-8 CSV)",
            ));
        }
        let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(bytes);
        let headers: Vec<String> = reader
            .headers()
            .map_err(|e| csv_error(&name, &e))?
            .iter()
            .map(|h| h.trim().to_ascii_lowercase())
            .collect();
        if headers.iter().all(|h| h.is_empty()) {
            return Err(InputError::new(
                Location::line(&name, 1),
                "empty file or missing header line",
            ));
        }
        let mut rows = Vec::new();
        let mut bad_rows = Vec::new();
        // csv counts records, not physical lines; count newlines up to each record's offset.
        let (mut line, mut counted) = (1u64, 0usize);
        for result in reader.records() {
            let record = result.map_err(|e| csv_error(&name, &e))?;
            // The position may point at the previous line's terminator: skip line breaks.
            let mut start = record
                .position()
                .map_or(counted, |p| p.byte() as usize)
                .clamp(counted, bytes.len());
            while start < bytes.len() && matches!(bytes[start], b'\r' | b'\n') {
                start += 1;
            }
            line += memchr_count(&bytes[counted..start]);
            counted = start;
            if record.iter().all(|f| f.trim().is_empty()) {
                continue;
            }
            if record.len() != headers.len() {
                bad_rows.push(InputError::new(
                    Location::line(&name, line),
                    format!(
                        "{} fields, but the header has {} (a missing or extra comma?)",
                        record.len(),
                        headers.len()
                    ),
                ));
                continue;
            }
            rows.push(CsvRow { line, record });
        }
        Ok(CsvFile {
            name,
            headers,
            rows,
            bad_rows,
        })
    }

    /// The index of a column, if present.
    pub fn column(&self, name: &str) -> Option<usize> {
        self.headers.iter().position(|h| h == name)
    }

    /// The indexes of required columns, or an error naming the missing ones.
    pub fn require<const N: usize>(&self, names: [&str; N]) -> Result<[usize; N], InputError> {
        let missing: Vec<&str> = names
            .iter()
            .copied()
            .filter(|n| self.column(n).is_none())
            .collect();
        if !missing.is_empty() {
            return Err(InputError::new(
                Location::line(&self.name, 1),
                format!(
                    "missing column(s) {} (header has: {})",
                    missing.join(", "),
                    self.headers.join(",")
                ),
            ));
        }
        Ok(names.map(|n| self.column(n).expect("checked")))
    }

    /// The file, or an error for its first malformed row (for files where any bad row is fatal).
    pub fn strict(self) -> Result<CsvFile, InputError> {
        match self.bad_rows.first() {
            Some(e) => Err(e.clone()),
            None => Ok(self),
        }
    }

    /// The location of a row.
    pub fn at(&self, row: &CsvRow) -> Location {
        Location::line(&self.name, row.line)
    }
}

fn memchr_count(bytes: &[u8]) -> u64 {
    bytes.iter().filter(|&&b| b == b'\n').count() as u64
}

fn csv_error(name: &str, e: &csv::Error) -> InputError {
    let location = match e.position() {
        Some(p) => Location::line(name, p.line()),
        None => Location::file(name),
    };
    let message = match e.kind() {
        csv::ErrorKind::Utf8 { .. } => "not UTF-8 text".to_string(),
        _ => format!("malformed CSV: {e}"),
    };
    InputError::new(location, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bom_crlf_quotes_and_blank_lines() {
        let data = b"\xEF\xBB\xBFName , Site\r\n\"a,b\", x \r\n\r\nc,\"y\"\r\n\r\n\r\n";
        let f = CsvFile::parse("t.csv".into(), data).unwrap();
        assert_eq!(f.headers, ["name", "site"]);
        assert_eq!(f.rows.len(), 2);
        assert_eq!(f.rows[0].get(Some(0)), "a,b");
        assert_eq!(f.rows[0].get(Some(1)), "x");
        assert_eq!(f.rows[1].line, 4);
    }

    #[test]
    fn short_rows_name_their_line() {
        let f = CsvFile::parse("t.csv".into(), b"a,b\n1,2\n3\n4,5\n").unwrap();
        assert_eq!(f.rows.len(), 2);
        assert_eq!(f.bad_rows[0].location, Location::line("t.csv", 3));
        assert_eq!(f.strict().unwrap_err().location, Location::line("t.csv", 3));
    }
}
