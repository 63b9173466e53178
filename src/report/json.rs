//! JSON exporter: an array of objects keyed by column name; unknown values are `null`.

use serde_json::{Map, Value};

use super::{Cell, Exporter, Section, Table};

/// Renders JSON.
pub struct JsonExporter;

fn value(c: &Cell) -> Value {
    match c {
        Cell::Empty => Value::Null,
        Cell::Text(s) => Value::String(s.clone()),
        Cell::Int(n) => Value::from(*n),
        Cell::Float(x) => serde_json::Number::from_f64(*x).map_or(Value::Null, Value::Number),
        Cell::Bool(b) => Value::Bool(*b),
        Cell::List(items) => Value::Array(items.iter().cloned().map(Value::String).collect()),
    }
}

fn rows(table: &Table) -> Value {
    Value::Array(
        table
            .rows
            .iter()
            .map(|row| {
                let obj: Map<String, Value> = table
                    .columns
                    .iter()
                    .zip(row)
                    .map(|(k, c)| ((*k).to_string(), value(c)))
                    .collect();
                Value::Object(obj)
            })
            .collect(),
    )
}

fn pretty(v: &Value) -> anyhow::Result<Vec<u8>> {
    let mut out = serde_json::to_vec_pretty(v)?;
    out.push(b'\n');
    Ok(out)
}

impl Exporter for JsonExporter {
    fn export(&self, table: &Table) -> anyhow::Result<Vec<u8>> {
        pretty(&rows(table))
    }

    /// One object with a key per section.
    fn export_sections(&self, sections: &[Section]) -> anyhow::Result<Vec<u8>> {
        let obj: Map<String, Value> = sections
            .iter()
            .map(|s| (s.key.to_string(), rows(&s.table)))
            .collect();
        pretty(&Value::Object(obj))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot() {
        let out =
            String::from_utf8(JsonExporter.export(&super::super::sample_table()).unwrap()).unwrap();
        insta::assert_snapshot!(out, @r#"
        [
          {
            "name": "cn01-lb01",
            "version": "11.5.1 HF10",
            "memory_gb": 32.0,
            "leak": true,
            "advisories": [
              "ID454018",
              "ID603598"
            ]
          },
          {
            "name": "us-east \"edge\", 2",
            "version": "13.1-49.13",
            "memory_gb": null,
            "leak": false,
            "advisories": []
          }
        ]
        "#);
    }
}
