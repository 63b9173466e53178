//! Plain-text table for terminals: left-aligned columns separated by two spaces, header
//! upper-cased, unknown values shown as `-`.

use super::{Exporter, Table};

/// Renders aligned columns.
pub struct TextExporter;

impl Exporter for TextExporter {
    fn export(&self, table: &Table) -> anyhow::Result<Vec<u8>> {
        let header: Vec<String> = table
            .columns
            .iter()
            .map(|c| c.to_ascii_uppercase())
            .collect();
        let rows: Vec<Vec<String>> = table
            .rows
            .iter()
            .map(|r| {
                r.iter()
                    .map(|c| match c.render(";") {
                        s if s.is_empty() => "-".to_string(),
                        s => s,
                    })
                    .collect()
            })
            .collect();
        let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
        for r in &rows {
            for (w, c) in widths.iter_mut().zip(r) {
                *w = (*w).max(c.chars().count());
            }
        }
        let mut out = String::new();
        for line in std::iter::once(&header).chain(&rows) {
            let mut s = String::new();
            for (i, (c, w)) in line.iter().zip(&widths).enumerate() {
                if i + 1 == line.len() {
                    s.push_str(c);
                } else {
                    s.push_str(&format!("{c:<w$}  "));
                }
            }
            out.push_str(s.trim_end());
            out.push('\n');
        }
        Ok(out.into_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot() {
        let out =
            String::from_utf8(TextExporter.export(&super::super::sample_table()).unwrap()).unwrap();
        insta::assert_snapshot!(out, @r#"
        NAME               VERSION      MEMORY_GB  LEAK   ADVISORIES
        cn01-lb01          11.5.1 HF10  32         true   ID454018;ID603598
        us-east "edge", 2  13.1-49.13   -          false  -
        "#);
    }
}
