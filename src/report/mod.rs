//! Output formats behind one trait: every report is a [`Table`] of typed cells, and each
//! [`Exporter`] (table, CSV, JSON, Markdown) renders any table. Reports go to stdout or, with
//! `-o`, to a file written atomically.

mod csv;
mod json;
mod markdown;
mod text;

use std::path::Path;
use std::str::FromStr;

pub use self::csv::CsvExporter;
pub use self::json::JsonExporter;
pub use self::markdown::MarkdownExporter;
pub use self::text::TextExporter;

/// One cell of a report.
#[derive(Clone, Debug, PartialEq)]
pub enum Cell {
    /// Unknown or not applicable: empty in CSV, `null` in JSON.
    Empty,
    /// Text.
    Text(String),
    /// A whole number.
    Int(i64),
    /// A measurement.
    Float(f64),
    /// Yes or no.
    Bool(bool),
    /// Several values: `;`-joined in CSV and tables, an array in JSON.
    List(Vec<String>),
}

impl Cell {
    /// Text, or `Empty` when blank.
    pub fn text(s: impl Into<String>) -> Cell {
        let s = s.into();
        if s.is_empty() {
            Cell::Empty
        } else {
            Cell::Text(s)
        }
    }

    /// A number that may be unknown.
    pub fn opt_f64(v: Option<f64>) -> Cell {
        v.map_or(Cell::Empty, Cell::Float)
    }

    /// The cell as plain text (lists joined with `sep`).
    pub fn render(&self, sep: &str) -> String {
        match self {
            Cell::Empty => String::new(),
            Cell::Text(s) => s.clone(),
            Cell::Int(n) => n.to_string(),
            Cell::Float(x) => format_float(*x),
            Cell::Bool(b) => b.to_string(),
            Cell::List(items) => items.join(sep),
        }
    }
}

/// Shortest exact form: `128`, `0.5`, `1.25e9` stays `1250000000`.
fn format_float(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        format!("{}", x as i64)
    } else {
        format!("{x}")
    }
}

/// A report: named columns and rows of cells.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Table {
    /// Column names (snake_case; they are CSV headers and JSON keys).
    pub columns: Vec<&'static str>,
    /// Rows, each as long as `columns`.
    pub rows: Vec<Vec<Cell>>,
}

impl Table {
    /// An empty table with these columns.
    pub fn new(columns: &[&'static str]) -> Table {
        Table {
            columns: columns.to_vec(),
            rows: Vec::new(),
        }
    }

    /// Adds a row.
    pub fn push(&mut self, row: Vec<Cell>) {
        debug_assert_eq!(row.len(), self.columns.len());
        self.rows.push(row);
    }
}

/// A titled table inside a report with several parts (e.g. a summary).
#[derive(Clone, Debug)]
pub struct Section {
    /// Key used in JSON.
    pub key: &'static str,
    /// Heading for humans.
    pub title: String,
    /// The data.
    pub table: Table,
}

/// Renders reports in one format.
pub trait Exporter {
    /// Renders one table.
    fn export(&self, table: &Table) -> anyhow::Result<Vec<u8>>;

    /// Renders several titled tables; by default each under its title, separated by a blank
    /// line.
    fn export_sections(&self, sections: &[Section]) -> anyhow::Result<Vec<u8>> {
        let mut out = Vec::new();
        for (i, s) in sections.iter().enumerate() {
            if i > 0 {
                out.push(b'\n');
            }
            out.extend_from_slice(self.heading(&s.title).as_bytes());
            out.extend(self.export(&s.table)?);
        }
        Ok(out)
    }

    /// How a section title is written.
    fn heading(&self, title: &str) -> String {
        format!("{title}\n")
    }
}

/// The output formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Aligned columns for reading in a terminal.
    Table,
    /// RFC 4180 CSV with a header line.
    Csv,
    /// A JSON array of objects.
    Json,
    /// A GitHub-flavoured Markdown table.
    Markdown,
}

impl Format {
    /// The exporter for this format.
    pub fn exporter(self) -> Box<dyn Exporter> {
        match self {
            Format::Table => Box::new(TextExporter),
            Format::Csv => Box::new(CsvExporter),
            Format::Json => Box::new(JsonExporter),
            Format::Markdown => Box::new(MarkdownExporter),
        }
    }

    /// The format a file name asks for by its extension.
    pub fn from_extension(path: &Path) -> Option<Format> {
        match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
            "csv" => Some(Format::Csv),
            "json" => Some(Format::Json),
            "md" | "markdown" => Some(Format::Markdown),
            "txt" => Some(Format::Table),
            _ => None,
        }
    }
}

impl FromStr for Format {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        <Format as clap::ValueEnum>::from_str(s, true)
    }
}

/// Writes a rendered report to `out` atomically, or to stdout when `out` is `None`.
pub fn emit(bytes: &[u8], out: Option<&Path>) -> anyhow::Result<()> {
    match out {
        Some(path) => crate::fsutil::write_atomic(path, bytes),
        None => {
            use std::io::Write;
            let mut stdout = std::io::stdout().lock();
            stdout.write_all(bytes)?;
            stdout.flush()?;
            Ok(())
        }
    }
}

#[cfg(test)]
pub(crate) fn sample_table() -> Table {
    let mut t = Table::new(&["name", "version", "memory_gb", "leak", "advisories"]);
    t.push(vec![
        Cell::text("cn01-lb01"),
        Cell::text("11.5.1 HF10"),
        Cell::Float(32.0),
        Cell::Bool(true),
        Cell::List(vec!["ID454018".into(), "ID603598".into()]),
    ]);
    t.push(vec![
        Cell::text("us-east \"edge\", 2"),
        Cell::text("13.1-49.13"),
        Cell::Empty,
        Cell::Bool(false),
        Cell::List(vec![]),
    ]);
    t
}
