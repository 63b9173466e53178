//! Upgrade rules as data: which direct upgrades each vendor supports.

use super::Fields;
use crate::csvio::CsvFile;
use crate::error::InputError;
use crate::version::{Vendor, VersionSet};

/// What a rule says about upgrading from a version in `from` to a version in `to`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RuleKind {
    /// A direct upgrade is supported.
    Direct,
    /// The vendor says a direct upgrade is not possible; overrides any `direct`.
    Blocked,
    /// The vendor advises against it; treated as blocked when planning.
    NotRecommended,
    /// Any newer release of the same branch (train) installs directly.
    SameBranch,
    /// The next branch (train) in release order installs directly.
    NextBranch,
}

impl RuleKind {
    /// The identifier used in the rules file.
    pub fn id(self) -> &'static str {
        match self {
            RuleKind::Direct => "direct",
            RuleKind::Blocked => "blocked",
            RuleKind::NotRecommended => "not-recommended",
            RuleKind::SameBranch => "same-branch",
            RuleKind::NextBranch => "next-branch",
        }
    }

    /// Whether the rule forbids rather than allows.
    pub fn forbids(self) -> bool {
        matches!(self, RuleKind::Blocked | RuleKind::NotRecommended)
    }
}

/// One upgrade rule.
#[derive(Clone, Debug)]
pub struct Rule {
    /// Vendor.
    pub vendor: Vendor,
    /// What the rule says.
    pub kind: RuleKind,
    /// Versions the rule applies from.
    pub from: VersionSet,
    /// Versions the rule applies to (empty for branch rules: any).
    pub to: VersionSet,
    /// For `next-branch`: intermediate hops must be the latest release of their branch.
    pub via_latest: bool,
    /// Where the rule comes from.
    pub source: String,
    /// Line in the rules file, to cite the rule.
    pub line: u64,
}

impl Rule {
    /// A short description: `f5 direct 16.1.4.x -> 17.1.1.3`.
    pub fn describe(&self) -> String {
        match self.kind {
            RuleKind::SameBranch => format!("{} same-branch from {}", self.vendor, self.from),
            RuleKind::NextBranch if self.via_latest => format!(
                "{} next-branch from {} (via the latest of each branch)",
                self.vendor, self.from
            ),
            RuleKind::NextBranch => format!("{} next-branch from {}", self.vendor, self.from),
            kind => format!("{} {} {} -> {}", self.vendor, kind.id(), self.from, self.to),
        }
    }
}

pub(super) fn load(file: &CsvFile) -> Result<Vec<Rule>, InputError> {
    let [vendor, kind, from, source] = file.require(["vendor", "kind", "from", "source"])?;
    let mut out = Vec::with_capacity(file.rows.len());
    for row in &file.rows {
        let f = Fields { file, row };
        let v = f.vendor(vendor)?;
        let k = match f.required(kind)? {
            "direct" => RuleKind::Direct,
            "blocked" => RuleKind::Blocked,
            "not-recommended" => RuleKind::NotRecommended,
            "same-branch" => RuleKind::SameBranch,
            "next-branch" => RuleKind::NextBranch,
            other => {
                return Err(InputError::new(
                    f.loc("kind"),
                    format!(
                        "unknown rule kind \"{other}\" (direct, blocked, not-recommended, same-branch, next-branch)"
                    ),
                ));
            }
        };
        f.required(from)?;
        let rule = Rule {
            vendor: v,
            kind: k,
            from: f.set("from", v)?,
            to: f.set("to", v)?,
            via_latest: match f.opt("via") {
                "" => false,
                "latest" => true,
                other => {
                    return Err(InputError::new(
                        f.loc("via"),
                        format!("unknown via \"{other}\" (empty or latest)"),
                    ));
                }
            },
            source: f.required(source)?.to_string(),
            line: row.line,
        };
        let needs_to = !matches!(k, RuleKind::SameBranch | RuleKind::NextBranch);
        if needs_to && rule.to.is_empty() {
            return Err(InputError::new(
                f.loc("to"),
                format!("a {} rule needs target versions", k.id()),
            ));
        }
        out.push(rule);
    }
    Ok(out)
}
