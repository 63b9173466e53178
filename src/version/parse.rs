//! Per-vendor version grammars. Each returns the comparable key and the canonical text.

use super::{KEY_LEN, Vendor};

type Parsed = Result<([u64; KEY_LEN], String), String>;

/// Parses a trimmed, non-empty `s` in `vendor`'s notation (not `generic`).
pub(super) fn parse(vendor: Vendor, s: &str) -> Parsed {
    match vendor {
        Vendor::F5 => f5(s),
        Vendor::NetScaler => netscaler(s),
        Vendor::A10 => a10(s),
        Vendor::Kemp => kemp(s),
        Vendor::FortiAdc => fortiadc(s),
        Vendor::Generic => unreachable!("generic versions are parsed by semver"),
    }
}

/// A decimal number of at most nine digits.
fn number(s: &str) -> Result<u64, String> {
    if s.is_empty() {
        return Err("a number is missing".into());
    }
    if s.len() > 9 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("\"{s}\" is not a number"));
    }
    Ok(s.parse().expect("checked digits"))
}

/// Dot-separated numbers, `min..=max` of them.
fn dotted(s: &str, min: usize, max: usize) -> Result<Vec<u64>, String> {
    let parts = s.split('.').map(number).collect::<Result<Vec<_>, _>>()?;
    if parts.len() < min || parts.len() > max {
        let want = if min == max {
            format!("{min}")
        } else {
            format!("{min} to {max}")
        };
        return Err(format!(
            "\"{s}\" has {} numeric parts, {want} expected",
            parts.len()
        ));
    }
    Ok(parts)
}

fn join(parts: &[u64]) -> String {
    parts
        .iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join(".")
}

/// Finds an ASCII word case-insensitively; returns (before, after).
fn split_word<'a>(s: &'a str, word: &str) -> Option<(&'a str, &'a str)> {
    let pos = s.to_ascii_lowercase().find(word)?;
    Some((&s[..pos], &s[pos + word.len()..]))
}

/// F5 BIG-IP: `15.1.10.2`, `11.5.1 HF10`, optionally a build `-0.0.6`.
fn f5(s: &str) -> Parsed {
    let (main, hf) = match split_word(s, "hf") {
        Some((before, after)) => {
            let before = before.trim_end().trim_end_matches('-').trim_end();
            (
                before,
                Some(number(after.trim()).map_err(|e| format!("hotfix: {e}"))?),
            )
        }
        None => (s, None),
    };
    let (numeric, build) = match main.split_once('-') {
        Some((n, b)) => {
            let b = dotted(b, 3, 3).map_err(|e| format!("build: {e}"))?;
            if b.iter().any(|&x| x >= 1 << 20) {
                return Err("build number too large".into());
            }
            (n, Some(b))
        }
        None => (main, None),
    };
    if numeric.is_empty() {
        return Err("the release number is missing".into());
    }
    let n = dotted(numeric, 3, 4)?;
    let mut key = [0; KEY_LEN];
    key[..n.len()].copy_from_slice(&n);
    let mut text = join(&n);
    if let Some(hf) = hf {
        key[4] = hf;
        text.push_str(&format!(" HF{hf}"));
    }
    if let Some(b) = build {
        key[5] = (b[0] << 40) | (b[1] << 20) | b[2];
        text.push_str(&format!("-{}", join(&b)));
    }
    Ok((key, text))
}

/// NetScaler: `13.1-49.13` (release-build.sub), also `13.1 build 49.13` and `NS13.1: Build 49.13`.
fn netscaler(s: &str) -> Parsed {
    let s = s
        .strip_prefix("NS")
        .or_else(|| s.strip_prefix("ns"))
        .unwrap_or(s);
    let (release, build) = if let Some((r, b)) = s.split_once('-') {
        (r, b)
    } else if let Some((r, b)) = split_word(s, "build") {
        (r.trim().trim_end_matches([':', ',']).trim(), b.trim())
    } else {
        return Err("the build is missing (RELEASE-BUILD.SUB)".into());
    };
    let r = dotted(release, 2, 2).map_err(|e| format!("release: {e}"))?;
    let b = dotted(build, 1, 2).map_err(|e| format!("build: {e}"))?;
    let key = [r[0], r[1], b[0], b.get(1).copied().unwrap_or(0), 0, 0];
    Ok((key, format!("{}-{}", join(&r), join(&b))))
}

/// A10 ACOS: `X.Y.Z[-GRn][-Pn][-SPn]`, letters in either case.
fn a10(s: &str) -> Parsed {
    let mut tokens = s.split('-');
    let base = dotted(tokens.next().unwrap_or(""), 3, 3)?;
    let mut key = [base[0], base[1], base[2], 0, 0, 0];
    let mut text = join(&base);
    // Qualifiers must come in this order, each at most once.
    let mut next_slot = 3;
    for token in tokens {
        let upper = token.to_ascii_uppercase();
        let (slot, label, digits) = if let Some(d) = upper.strip_prefix("GR") {
            (3, "GR", d)
        } else if let Some(d) = upper.strip_prefix("SP") {
            (5, "SP", d)
        } else if let Some(d) = upper.strip_prefix('P') {
            (4, "P", d)
        } else {
            return Err(format!(
                "unknown qualifier \"{token}\" (GRn, Pn or SPn expected)"
            ));
        };
        if slot < next_slot {
            return Err(format!(
                "qualifier \"{token}\" out of order or repeated (GR, then P, then SP)"
            ));
        }
        next_slot = slot + 1;
        key[slot] = number(digits).map_err(|e| format!("{label}: {e}"))?;
        text.push_str(&format!("-{label}{}", key[slot]));
    }
    Ok((key, text))
}

/// Kemp LoadMaster: `7.2.62.0` or `7.2.60`; the old `6.0-28a` form is accepted too.
fn kemp(s: &str) -> Parsed {
    if let Some((release, build)) = s.split_once('-') {
        let r = dotted(release, 2, 2).map_err(|e| format!("release: {e}"))?;
        // A build letter ranks above the bare build: 28 < 28a < 28b (0 < b'a' < b'b').
        let (digits, letter) = match build.char_indices().last() {
            Some((i, c)) if c.is_ascii_lowercase() => (&build[..i], u64::from(c as u8)),
            _ => (build, 0),
        };
        let b = number(digits).map_err(|e| format!("build: {e}"))?;
        let key = [r[0], r[1], 0, 0, b, letter];
        return Ok((key, format!("{}-{build}", join(&r))));
    }
    let n = dotted(s, 3, 4)?;
    let mut key = [0; KEY_LEN];
    key[..n.len()].copy_from_slice(&n);
    Ok((key, join(&n)))
}

/// FortiADC: `7.2.6`, `v6.1.4`, `6.1.4, Build 0140` or `6.1.4 build0140`.
fn fortiadc(s: &str) -> Parsed {
    let s = s.strip_prefix(['v', 'V']).unwrap_or(s);
    let (numeric, build) = match split_word(s, "build") {
        Some((n, b)) => (n.trim().trim_end_matches(',').trim(), Some(b.trim())),
        None => (s, None),
    };
    let n = dotted(numeric, 3, 3)?;
    let mut key = [n[0], n[1], n[2], 0, 0, 0];
    let mut text = join(&n);
    if let Some(b) = build {
        key[3] = number(b).map_err(|e| format!("build: {e}"))?;
        text.push_str(&format!(" build {b}"));
    }
    Ok((key, text))
}
