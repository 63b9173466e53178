//! `lbfleet path --vendor V [--model M] FROM TO`: the hops one per line with the rule behind
//! each; exit 1 with the reason when there is no path.

use jiff::civil::Date;

use super::Ctx;
use super::versions::parse_vendor;
use crate::ExitStatus;
use crate::upgrade::{Outcome, Policy, find_path, recommend};
use crate::version::{Vendor, Version};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Vendor.
    #[arg(long, value_parser = parse_vendor)]
    vendor: Vendor,
    /// Hardware model (catalog id or name); every hop is checked against it.
    #[arg(long)]
    model: Option<String>,
    /// Date for the `recommended` policy (YYYY-MM-DD; default today).
    #[arg(long, value_name = "DATE")]
    as_of: Option<Date>,
    /// Current version.
    from: String,
    /// Target version, or `recommended`.
    to: String,
    /// Accept a target version the catalog does not list (by default a typo guard: exit 2).
    #[arg(long)]
    allow_unknown_target: bool,
}

pub fn run(ctx: &Ctx, args: &Args) -> anyhow::Result<ExitStatus> {
    let catalog = ctx.catalog()?;
    let model = match &args.model {
        Some(m) => Some(catalog.model(args.vendor, m).ok_or_else(|| {
            anyhow::anyhow!(
                "\"{m}\" is not a known {} model{} (see `lbfleet catalog models --vendor {}`)",
                args.vendor,
                catalog.model_hint(args.vendor, m),
                args.vendor
            )
        })?),
        None => None,
    };
    let from = Version::parse(args.vendor, &args.from)?;
    let (to, outcome) = if args.to.eq_ignore_ascii_case("recommended") {
        let policy = Policy {
            as_of: args.as_of.unwrap_or_else(super::today),
        };
        let r = recommend(&catalog, policy, model, &from);
        if let Some(t) = &r.target {
            eprintln!("recommended target: {t}");
        }
        if let Some(note) = &r.note {
            eprintln!("note: {note}");
        }
        (r.target, r.outcome)
    } else {
        let to = Version::parse(args.vendor, &args.to)?;
        if !args.allow_unknown_target {
            catalog.known_target(&to)?;
        }
        let o = find_path(&catalog, model, &from, &to);
        (Some(to), o)
    };
    match outcome {
        Outcome::Upgrade(hops) => {
            let mut prev = from.clone();
            for h in hops {
                super::out(format!(
                    "{prev} -> {}  [{} (upgrade-rules.csv line {}); {}]",
                    h.version,
                    h.rule.describe(),
                    h.rule.line,
                    h.rule.source
                ))?;
                prev = h.version;
            }
            Ok(ExitStatus::Success)
        }
        Outcome::AlreadyThere { newer } => {
            let to = to.map(|t| t.to_string()).unwrap_or_default();
            eprintln!(
                "{from} is {} {to}: nothing to do",
                if newer { "newer than" } else { "already" }
            );
            Ok(ExitStatus::Success)
        }
        Outcome::ReplaceHardware(why) => {
            eprintln!("no path: replace hardware: {why}");
            Ok(ExitStatus::Findings)
        }
        Outcome::Blocked(why) => {
            eprintln!("no path: blocked: {why}");
            Ok(ExitStatus::Findings)
        }
    }
}
