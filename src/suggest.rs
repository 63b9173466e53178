//! "Did you mean …?": the known names closest to a mistyped one.
//!
//! Closeness is the Damerau–Levenshtein distance (optimal string alignment: insertions,
//! deletions, substitutions and swaps of two neighbouring characters each count one), ignoring
//! ASCII case. As rustc and cargo do, the edits allowed grow with the length of what was typed:
//! one edit up to 4 characters (`FRA9` → `FRA1`), two from 5 (`netscalar` → `netscaler`,
//! `Asia/Shanghia` → `Asia/Shanghai`), and never as many edits as the typed name has
//! characters (so `x` does not suggest `f5`).

/// The candidates closest to `typed` within the allowed distance: every one at the smallest
/// distance found, in the order given (duplicates, ignoring case, once). Empty when none is
/// close enough.
pub fn closest<'a, I>(typed: &str, candidates: I) -> Vec<&'a str>
where
    I: IntoIterator<Item = &'a str>,
{
    let typed: Vec<char> = typed.trim().to_lowercase().chars().collect();
    let limit = max_distance(typed.len());
    let mut best = limit + 1;
    let mut out: Vec<&'a str> = Vec::new();
    for c in candidates {
        let lower: Vec<char> = c.to_lowercase().chars().collect();
        // Lengths further apart than the limit cannot be close enough.
        if lower.len().abs_diff(typed.len()) > best.min(limit) {
            continue;
        }
        let d = distance(&typed, &lower);
        if d > limit || d >= typed.len().max(1) {
            continue;
        }
        if d < best {
            best = d;
            out.clear();
        }
        if d == best && !out.iter().any(|o| o.eq_ignore_ascii_case(c)) {
            out.push(c);
        }
    }
    out
}

/// ` (did you mean "x"?)`, ` (did you mean "x" or "y"?)`, or empty when nothing is close.
pub fn did_you_mean<'a, I>(typed: &str, candidates: I) -> String
where
    I: IntoIterator<Item = &'a str>,
{
    phrase(&closest(typed, candidates))
}

/// The ` (did you mean …?)` phrase for suggestions already found; empty for none.
pub fn phrase(found: &[&str]) -> String {
    question(found).map_or_else(String::new, |q| format!(" ({q})"))
}

/// `did you mean "x"?` / `did you mean "x" or "y"?` (at most three named); `None` for none.
pub fn question(found: &[&str]) -> Option<String> {
    let quoted: Vec<String> = found.iter().take(3).map(|s| format!("\"{s}\"")).collect();
    match quoted.as_slice() {
        [] => None,
        [one] => Some(format!("did you mean {one}?")),
        [init @ .., last] => Some(format!("did you mean {} or {last}?", init.join(", "))),
    }
}

/// Edits allowed for a typed name of `len` characters.
fn max_distance(len: usize) -> usize {
    if len <= 4 { 1 } else { 2 }
}

/// Optimal string alignment distance between `a` and `b`.
fn distance(a: &[char], b: &[char]) -> usize {
    // Three rows: two back (for swaps), one back, and the current one.
    let mut two_back: Vec<usize> = vec![0; b.len() + 1];
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur: Vec<usize> = vec![0; b.len() + 1];
    for i in 1..=a.len() {
        cur[0] = i;
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut d = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d = d.min(two_back[j - 2] + 1);
            }
            cur[j] = d;
        }
        std::mem::swap(&mut two_back, &mut prev);
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(a: &str, b: &str) -> usize {
        let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
        distance(&a, &b)
    }

    #[test]
    fn distance_counts_each_edit_once_and_a_swap_as_one() {
        assert_eq!(d("", ""), 0);
        assert_eq!(d("abc", ""), 3);
        assert_eq!(d("", "ab"), 2);
        assert_eq!(d("netscalar", "netscaler"), 1);
        assert_eq!(d("shanghia", "shanghai"), 1);
        assert_eq!(d("ab", "ba"), 1);
        assert_eq!(d("kitten", "sitting"), 3);
        assert_eq!(d("f5", "f5x"), 1);
        assert_eq!(d("fortiadc", "fortadc"), 1);
        assert_eq!(d("a10", "kemp"), 4);
    }

    #[test]
    fn suggests_the_closest_known_name_ignoring_case() {
        let vendors = ["f5", "netscaler", "a10", "kemp", "fortiadc", "generic"];
        assert_eq!(closest("netscalar", vendors), ["netscaler"]);
        assert_eq!(closest("NETSCALAR", vendors), ["netscaler"]);
        assert_eq!(closest("Kmep", vendors), ["kemp"]);
        assert_eq!(closest("fortiadcc", vendors), ["fortiadc"]);
        assert_eq!(
            closest("Europe/Berlni", ["Europe/Brussels", "Europe/Berlin"]),
            ["Europe/Berlin"]
        );
    }

    #[test]
    fn nothing_when_too_far_or_too_short() {
        let vendors = ["f5", "netscaler", "a10", "kemp", "fortiadc", "generic"];
        assert!(closest("cisco", vendors).is_empty());
        assert!(closest("x", vendors).is_empty());
        assert!(closest("", vendors).is_empty());
        // Two edits are too many for a four-character name...
        assert!(closest("FRX9", ["FRA1"]).is_empty());
        // ... and allowed for a longer one.
        assert_eq!(closest("netscalr1", vendors), ["netscaler"]);
        assert!(closest("netsclr12", vendors).is_empty());
    }

    #[test]
    fn ties_are_all_named_and_a_closer_one_wins() {
        assert_eq!(closest("FRA9", ["FRA1", "NYC2", "FRA2"]), ["FRA1", "FRA2"]);
        assert_eq!(closest("FRA1x", ["FRA2xy", "FRA1"]), ["FRA1"]);
        // The same name in two spellings is one suggestion.
        assert_eq!(closest("i480", ["i4800", "I4800"]), ["i4800"]);
    }

    #[test]
    fn phrases() {
        assert_eq!(phrase(&[]), "");
        assert_eq!(phrase(&["a"]), " (did you mean \"a\"?)");
        assert_eq!(phrase(&["a", "b"]), " (did you mean \"a\" or \"b\"?)");
        assert_eq!(
            phrase(&["a", "b", "c", "d"]),
            " (did you mean \"a\", \"b\" or \"c\"?)"
        );
        assert_eq!(
            did_you_mean("kemq", ["kemp", "f5"]),
            " (did you mean \"kemp\"?)"
        );
    }
}
