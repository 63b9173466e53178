//! `lbfleet catalog models|releases|rules|defects [--vendor V] [--format F]`: what lbfleet knows,
//! with the source of every row.

use super::Ctx;
use super::versions::parse_vendor;
use crate::ExitStatus;
use crate::catalog::Catalog;
use crate::report::{Cell, Format, Table};
use crate::version::Vendor;

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum What {
    /// Hardware models and their published figures.
    Models,
    /// Releases with lifecycle dates.
    Releases,
    /// Direct-upgrade rules.
    Rules,
    /// Hardware ↔ release support rules.
    Support,
    /// Known defects.
    Defects,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// What to list.
    #[arg(value_enum)]
    what: What,
    /// Only this vendor.
    #[arg(long, value_parser = parse_vendor)]
    vendor: Option<Vendor>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
}

fn date(d: Option<jiff::civil::Date>) -> Cell {
    d.map_or(Cell::Empty, |d| Cell::Text(d.to_string()))
}

fn table(c: &Catalog, what: What, keep: impl Fn(Vendor) -> bool) -> Table {
    match what {
        What::Models => {
            let mut t = Table::new(&[
                "vendor",
                "model",
                "name",
                "family",
                "platform_id",
                "memory_gb",
                "l4_throughput_gbps",
                "l7_rps",
                "l4_cps",
                "ssl_tps_rsa2k",
                "max_concurrent_conns",
                "power_w",
                "rack_units",
                "end_of_sale",
                "end_of_support",
                "end_of_software_support",
                "source",
            ]);
            for m in c.models.iter().filter(|m| keep(m.vendor)) {
                t.push(vec![
                    Cell::text(m.vendor.id()),
                    Cell::text(&m.id),
                    Cell::text(&m.name),
                    Cell::text(&m.family),
                    Cell::text(&m.platform_id),
                    Cell::opt_f64(m.memory_gb),
                    Cell::opt_f64(m.l4_throughput_gbps),
                    Cell::opt_f64(m.l7_rps),
                    Cell::opt_f64(m.l4_cps),
                    Cell::opt_f64(m.ssl_tps_rsa2k),
                    Cell::opt_f64(m.max_concurrent_conns),
                    Cell::opt_f64(m.power_w),
                    Cell::opt_f64(m.rack_units),
                    date(m.end_of_sale),
                    date(m.end_of_support),
                    date(m.end_of_software_support),
                    Cell::text(&m.source),
                ]);
            }
            t
        }
        What::Releases => {
            let mut t = Table::new(&[
                "vendor",
                "version",
                "branch",
                "release_date",
                "branch_date",
                "end_of_development",
                "end_of_support",
                "long_term",
                "track",
                "source",
            ]);
            for r in c.releases.iter().filter(|r| keep(r.version.vendor())) {
                t.push(vec![
                    Cell::text(r.version.vendor().id()),
                    Cell::text(r.version.as_str()),
                    Cell::text(r.version.branch().to_string()),
                    date(r.release_date),
                    date(r.branch_date),
                    date(r.end_of_development),
                    date(r.end_of_support),
                    r.long_term.map_or(Cell::Empty, Cell::Bool),
                    Cell::text(&r.track),
                    Cell::text(&r.source),
                ]);
            }
            t
        }
        What::Rules => {
            let mut t = Table::new(&["vendor", "kind", "from", "to", "via", "line", "source"]);
            for r in c.rules.iter().filter(|r| keep(r.vendor)) {
                t.push(vec![
                    Cell::text(r.vendor.id()),
                    Cell::text(r.kind.id()),
                    Cell::text(r.from.to_string()),
                    Cell::text(r.to.to_string()),
                    Cell::text(if r.via_latest { "latest" } else { "" }),
                    Cell::Int(r.line as i64),
                    Cell::text(&r.source),
                ]);
            }
            t
        }
        What::Support => {
            let mut t = Table::new(&["vendor", "models", "versions", "support", "source"]);
            for r in c.support.iter().filter(|r| keep(r.vendor)) {
                t.push(vec![
                    Cell::text(r.vendor.id()),
                    Cell::List(r.models.clone()),
                    Cell::text(r.versions.to_string()),
                    Cell::text(if r.supported { "yes" } else { "no" }),
                    Cell::text(&r.source),
                ]);
            }
            t
        }
        What::Defects => {
            let mut t = Table::new(&[
                "id", "vendor", "kind", "severity", "title", "affected", "fixed_in", "models",
                "source",
            ]);
            for d in c.defects.iter().filter(|d| keep(d.vendor)) {
                t.push(vec![
                    Cell::text(&d.id),
                    Cell::text(d.vendor.id()),
                    Cell::text(&d.kind),
                    Cell::text(&d.severity),
                    Cell::text(&d.title),
                    Cell::text(d.affected.to_string()),
                    Cell::List(d.fixed_in.iter().map(ToString::to_string).collect()),
                    Cell::List(d.models.clone()),
                    Cell::text(&d.source),
                ]);
            }
            t
        }
    }
}

pub fn run(ctx: &Ctx, args: &Args) -> anyhow::Result<ExitStatus> {
    let catalog = ctx.catalog()?;
    let t = table(&catalog, args.what, |v| {
        args.vendor.is_none_or(|want| want == v)
    });
    let bytes = args.format.exporter().export(&t)?;
    crate::report::emit(&bytes, None)?;
    Ok(ExitStatus::Success)
}
