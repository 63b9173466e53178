//! Version sets written in vendor notation, as the catalog uses them for defect ranges, upgrade
//! rules and hardware support.
//!
//! Grammar: alternatives separated by `;`, each a conjunction of terms separated by `,`.
//! A term is `*` (any version), a branch prefix such as `15.1.x` or `13.x`, a comparison with a
//! whole version (`>=11.1.0`, `<=11.5.3 HF1`, `<7.2.60`), or an exact version. Examples:
//! `>=11.1.0, <=11.5.3 HF1; 11.5.10`, `15.1.x, >=15.1.5`.

use std::fmt;

use super::{Vendor, Version, VersionError};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Eq,
    Lt,
    Le,
    Gt,
    Ge,
}

impl Op {
    fn symbol(self) -> &'static str {
        match self {
            Op::Eq => "",
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Ge => ">=",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Term {
    Any,
    Prefix(Vec<u64>),
    Cmp(Op, Version),
}

impl Term {
    fn matches(&self, v: &Version) -> bool {
        match self {
            Term::Any => true,
            Term::Prefix(p) => v.has_prefix(p),
            Term::Cmp(op, w) => match op {
                Op::Eq => v == w,
                Op::Lt => v < w,
                Op::Le => v <= w,
                Op::Gt => v > w,
                Op::Ge => v >= w,
            },
        }
    }
}

impl fmt::Display for Term {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Term::Any => f.write_str("*"),
            Term::Prefix(p) => {
                for n in p {
                    write!(f, "{n}.")?;
                }
                f.write_str("x")
            }
            Term::Cmp(op, v) => write!(f, "{}{v}", op.symbol()),
        }
    }
}

/// A term of a version set that could not be read.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum VersionSetError {
    /// A version inside the set is not valid for the vendor.
    #[error(transparent)]
    Version(#[from] VersionError),
    /// A branch prefix that is not dotted numbers.
    #[error("invalid branch pattern \"{0}\" (expected numbers then .x, e.g. 15.1.x)")]
    Prefix(String),
    /// An empty term between separators.
    #[error("empty term in version set \"{0}\"")]
    Empty(String),
}

/// A set of versions of one vendor, written in the vendor's notation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VersionSet {
    alternatives: Vec<Vec<Term>>,
}

impl VersionSet {
    /// The set that matches nothing.
    pub fn empty() -> VersionSet {
        VersionSet {
            alternatives: Vec::new(),
        }
    }

    /// Parses a set; an empty or blank string is the empty set.
    pub fn parse(vendor: Vendor, s: &str) -> Result<VersionSet, VersionSetError> {
        let mut alternatives = Vec::new();
        if s.trim().is_empty() {
            return Ok(VersionSet { alternatives });
        }
        for alt in s.split(';') {
            let mut terms = Vec::new();
            for raw in alt.split(',') {
                let t = raw.trim();
                if t.is_empty() {
                    return Err(VersionSetError::Empty(s.to_string()));
                }
                terms.push(parse_term(vendor, t)?);
            }
            alternatives.push(terms);
        }
        Ok(VersionSet { alternatives })
    }

    /// Whether the set has no alternatives at all.
    pub fn is_empty(&self) -> bool {
        self.alternatives.is_empty()
    }

    /// Whether `v` is in the set.
    pub fn contains(&self, v: &Version) -> bool {
        self.alternatives
            .iter()
            .any(|alt| alt.iter().all(|t| t.matches(v)))
    }

    /// Whether the set names `v` exactly as one of its alternatives (not through a range).
    pub fn names_exactly(&self, v: &Version) -> bool {
        self.alternatives
            .iter()
            .any(|alt| matches!(alt.as_slice(), [Term::Cmp(Op::Eq, w)] if w == v))
    }

    /// The versions the set names exactly, as alternatives or inside comparisons.
    pub fn named_versions(&self) -> impl Iterator<Item = &Version> {
        self.alternatives.iter().flatten().filter_map(|t| match t {
            Term::Cmp(_, v) => Some(v),
            _ => None,
        })
    }
}

fn parse_term(vendor: Vendor, t: &str) -> Result<Term, VersionSetError> {
    if t == "*" {
        return Ok(Term::Any);
    }
    if let Some(prefix) = t.strip_suffix(".x").or_else(|| t.strip_suffix(".*")) {
        let parts = prefix
            .split('.')
            .map(|p| {
                if !p.is_empty() && p.len() <= 9 && p.bytes().all(|b| b.is_ascii_digit()) {
                    Ok(p.parse::<u64>().expect("digits"))
                } else {
                    Err(VersionSetError::Prefix(t.to_string()))
                }
            })
            .collect::<Result<Vec<_>, _>>()?;
        if parts.len() > super::KEY_LEN {
            return Err(VersionSetError::Prefix(t.to_string()));
        }
        return Ok(Term::Prefix(parts));
    }
    let (op, rest) = [
        (">=", Op::Ge),
        ("<=", Op::Le),
        (">", Op::Gt),
        ("<", Op::Lt),
        ("=", Op::Eq),
    ]
    .iter()
    .find_map(|(sym, op)| t.strip_prefix(sym).map(|r| (*op, r.trim())))
    .unwrap_or((Op::Eq, t));
    Ok(Term::Cmp(op, Version::parse(vendor, rest)?))
}

impl fmt::Display for VersionSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, alt) in self.alternatives.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            for (j, t) in alt.iter().enumerate() {
                if j > 0 {
                    f.write_str(", ")?;
                }
                write!(f, "{t}")?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(s: &str) -> VersionSet {
        VersionSet::parse(Vendor::F5, s).unwrap()
    }
    fn v(s: &str) -> Version {
        Version::parse(Vendor::F5, s).unwrap()
    }

    #[test]
    fn ranges_prefixes_and_exact_versions() {
        let s = set(">=11.1.0, <=11.5.3 HF1; 11.5.10");
        assert!(s.contains(&v("11.5.1 HF10")));
        assert!(s.contains(&v("11.5.3 HF1")));
        assert!(!s.contains(&v("11.5.3 HF2")));
        assert!(!s.contains(&v("11.5.4")));
        assert!(s.contains(&v("11.5.10")));
        assert!(s.names_exactly(&v("11.5.10")));
        assert!(!s.names_exactly(&v("11.5.1")));
        assert_eq!(s.to_string(), ">=11.1.0, <=11.5.3 HF1; 11.5.10");

        let p = set("15.1.x, >=15.1.5; >=17.1.0");
        assert!(p.contains(&v("15.1.10.2")));
        assert!(!p.contains(&v("15.1.4")));
        assert!(!p.contains(&v("16.1.6")));
        assert!(p.contains(&v("21.1.0")));
        assert!(!set("").contains(&v("15.1.10")));
        assert!(set("*").contains(&v("15.1.10")));
    }

    #[test]
    fn strict_bounds_exclude_their_version_and_inclusive_ones_include_it() {
        let below = set("<15.1.10");
        assert!(below.contains(&v("15.1.9")));
        assert!(!below.contains(&v("15.1.10")));
        assert!(!below.contains(&v("15.1.11")));
        let above = set(">15.1.10");
        assert!(above.contains(&v("15.1.11")));
        assert!(!above.contains(&v("15.1.10")));
        assert!(!above.contains(&v("15.1.9")));
        assert_eq!(
            (below.to_string(), above.to_string()),
            ("<15.1.10".into(), ">15.1.10".into())
        );
        assert!(set("").is_empty() && VersionSet::empty().is_empty());
        assert!(!set("*").is_empty() && !below.is_empty());
    }

    #[test]
    fn named_versions_are_those_compared_with_not_branches() {
        let s = set("15.1.x, >=15.1.5; 16.1.x; 17.1.0");
        let named: Vec<String> = s.named_versions().map(|v| v.to_string()).collect();
        assert_eq!(named, ["15.1.5", "17.1.0"]);
    }

    #[test]
    fn a_branch_prefix_has_at_most_as_many_parts_as_a_version_key() {
        assert!(set("15.1.10.2.0.0.x").contains(&v("15.1.10.2")));
        assert_eq!(
            VersionSet::parse(Vendor::F5, "1.2.3.4.5.6.7.x"),
            Err(VersionSetError::Prefix("1.2.3.4.5.6.7.x".into()))
        );
    }

    #[test]
    fn bad_terms_are_errors() {
        assert!(VersionSet::parse(Vendor::F5, "15.a.x").is_err());
        assert!(VersionSet::parse(Vendor::F5, ">=15.1").is_err());
        assert!(VersionSet::parse(Vendor::F5, "15.1.10,,").is_err());
    }
}
