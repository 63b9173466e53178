//! Markdown exporter: a GitHub-flavoured table for change tickets; `|` escaped.

use super::{Exporter, Table};

/// Renders Markdown.
pub struct MarkdownExporter;

fn escape(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

impl Exporter for MarkdownExporter {
    fn export(&self, table: &Table) -> anyhow::Result<Vec<u8>> {
        let mut out = String::new();
        out.push_str(&format!("| {} |\n", table.columns.join(" | ")));
        out.push_str(&format!("|{}\n", "---|".repeat(table.columns.len())));
        for row in &table.rows {
            let cells: Vec<String> = row.iter().map(|c| escape(&c.render("; "))).collect();
            out.push_str(&format!("| {} |\n", cells.join(" | ")));
        }
        Ok(out.into_bytes())
    }

    fn heading(&self, title: &str) -> String {
        format!("## {title}\n\n")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot() {
        let out = String::from_utf8(
            MarkdownExporter
                .export(&super::super::sample_table())
                .unwrap(),
        )
        .unwrap();
        insta::assert_snapshot!(out, @r#"
        | name | version | memory_gb | leak | advisories |
        |---|---|---|---|---|
        | cn01-lb01 | 11.5.1 HF10 | 32 | true | ID454018; ID603598 |
        | us-east "edge", 2 | 13.1-49.13 |  | false |  |
        "#);
    }
}
