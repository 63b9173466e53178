//! CSV exporter: RFC 4180, header line, empty cells for unknown values, lists `;`-joined.

use super::{Exporter, Table};

/// Renders CSV.
pub struct CsvExporter;

impl Exporter for CsvExporter {
    fn export(&self, table: &Table) -> anyhow::Result<Vec<u8>> {
        let mut w = csv::WriterBuilder::new()
            .terminator(csv::Terminator::Any(b'\n'))
            .from_writer(Vec::new());
        w.write_record(&table.columns)?;
        for row in &table.rows {
            w.write_record(row.iter().map(|c| c.render(";")))?;
        }
        w.into_inner().map_err(|e| anyhow::anyhow!("{e}"))
    }

    /// CSV has no titles: blocks, each with its own header line, separated by a blank line.
    fn heading(&self, _title: &str) -> String {
        String::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot() {
        let out =
            String::from_utf8(CsvExporter.export(&super::super::sample_table()).unwrap()).unwrap();
        insta::assert_snapshot!(out, @r#"
        name,version,memory_gb,leak,advisories
        cn01-lb01,11.5.1 HF10,32,true,ID454018;ID603598
        "us-east ""edge"", 2",13.1-49.13,,false,
        "#);
    }
}
