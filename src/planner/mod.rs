//! The rollout planner: from an inventory and a target to a reviewable plan of waves.
//!
//! * the first wave is a **canary** of standby or standalone units covering each distinct
//!   (vendor, model, current version) once where the caps allow;
//! * every HA group goes standby first, then a verified failover, then the former active, then
//!   a failback so the original active carries traffic again (unless `failback` is off), in one
//!   window (or, with `ha_two_phase`, the active in a later wave);
//! * a canary HA group upgrades its standby and fails over to it, so the new release carries
//!   traffic through the soak while the former active, still on the old release, is the
//!   instant way back; the next wave upgrades the former active;
//! * groups are taken site by site in `sites.csv` order, at most `max_per_wave` groups per wave
//!   and `max_per_site` per site per wave;
//! * each group is placed in its site's maintenance windows ([`window`]) where its estimated
//!   work ([`durations`]) finishes before the window closes; a wave starts after the previous
//!   one ended plus its soak time.
//!
//! The result is a [`Plan`] ([`file`]), checked again later by [`check`].

mod build;
pub mod check;
pub mod durations;
pub(crate) mod export;
pub mod file;
mod lint;
pub mod select;
pub mod window;

#[cfg(test)]
mod tests;

use jiff::civil::Date;
use jiff::{SignedDuration, Timestamp};

pub use build::build;
pub use durations::Durations;
pub use export::{markdown, summary_lines, table};
pub use file::Plan;
pub use select::{Selection, Selector};

use crate::inventory::report::TargetSpec;

/// Everything that shapes a plan besides the inventory and the catalog.
#[derive(Clone, Debug)]
pub struct Options {
    /// What to upgrade to.
    pub target: TargetSpec,
    /// Accept a target version the catalog does not list.
    pub allow_unknown_target: bool,
    /// The date for the `recommended` policy and the end-of-support lint.
    pub as_of: Date,
    /// Nothing is placed before this instant.
    pub start: Timestamp,
    /// Groups per wave.
    pub max_per_wave: Option<usize>,
    /// Groups per site per wave.
    pub max_per_site: Option<usize>,
    /// HA members in separate windows (the active one wave later).
    pub ha_two_phase: bool,
    /// HA groups end with their original active carrying traffic (a failback after the
    /// former active's upgrade).
    pub failback: bool,
    /// Images are uploaded ahead of the windows (`lbfleet stage`): a hop's estimate leaves
    /// out the upload.
    pub pre_staged: bool,
    /// Whether the first wave is a canary.
    pub canary: bool,
    /// Waiting time after the canary.
    pub canary_soak: SignedDuration,
    /// Waiting time after every later wave.
    pub soak: SignedDuration,
    /// `--only` / `--exclude`.
    pub selection: Selection,
    /// Step durations.
    pub durations: Durations,
    /// How far ahead to look for a window, in days.
    pub horizon_days: i64,
    /// What must say yes before the waves after the canary (`--gate`), recorded for `upgrade`.
    pub gate: Option<String>,
}

impl Options {
    /// Defaults: recommended target, canary with 24 h soak, no caps, one-phase HA.
    pub fn new(start: Timestamp, as_of: Date) -> Options {
        Options {
            target: TargetSpec::Recommended,
            allow_unknown_target: false,
            as_of,
            start,
            max_per_wave: None,
            max_per_site: None,
            ha_two_phase: false,
            failback: true,
            pre_staged: false,
            canary: true,
            canary_soak: SignedDuration::from_hours(24),
            soak: SignedDuration::ZERO,
            selection: Selection::default(),
            durations: Durations::default(),
            horizon_days: 366,
            gate: None,
        }
    }
}

/// Where the inputs came from, recorded in the plan.
#[derive(Clone, Debug)]
pub struct Provenance {
    /// The inventory paths as given.
    pub paths: Vec<String>,
    /// `embedded` or the catalog folder.
    pub catalog_source: String,
    /// When the plan is made.
    pub created: Timestamp,
}

/// `2026-11-29T01:00:00+11:00` (digits written by hand: plans format hundreds of thousands of
/// these, and the generic formatters are several times slower).
pub(crate) fn rfc3339(z: &jiff::ZonedDateTime) -> String {
    let dt = z.datetime();
    if !(0..=9999).contains(&dt.year()) {
        return z.strftime("%Y-%m-%dT%H:%M:%S%:z").to_string();
    }
    let off = z.offset().seconds();
    let (sign, off) = if off < 0 { ('-', -off) } else { ('+', off) };
    let mut s = String::with_capacity(25);
    let two = |s: &mut String, n: i32, sep: char| {
        s.push(char::from(b'0' + (n / 10) as u8));
        s.push(char::from(b'0' + (n % 10) as u8));
        s.push(sep);
    };
    let y = i32::from(dt.year());
    two(&mut s, y / 100, char::from(b'0' + (y % 100 / 10) as u8));
    s.push(char::from(b'0' + (y % 10) as u8));
    s.push('-');
    two(&mut s, i32::from(dt.month()), '-');
    two(&mut s, i32::from(dt.day()), 'T');
    two(&mut s, i32::from(dt.hour()), ':');
    two(&mut s, i32::from(dt.minute()), ':');
    two(&mut s, i32::from(dt.second()), sign);
    two(&mut s, off / 3600, ':');
    s.push(char::from(b'0' + (off % 3600 / 60 / 10) as u8));
    s.push(char::from(b'0' + (off % 3600 / 60 % 10) as u8));
    s
}

/// `2026-11-28T14:00:00Z`.
pub(crate) fn utc(t: Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

#[cfg(test)]
mod format_tests {
    #[test]
    fn rfc3339_matches_strftime() {
        for (t, tz) in [
            ("2026-03-29T01:30:00Z", "Europe/Berlin"),
            ("2026-11-01T06:00:00Z", "America/New_York"),
            ("2026-06-01T00:00:00Z", "Asia/Kolkata"),
            ("2026-06-01T00:00:00Z", "America/St_Johns"),
            ("0999-01-02T03:04:05Z", "UTC"),
        ] {
            let z = t
                .parse::<jiff::Timestamp>()
                .unwrap()
                .to_zoned_datetime(jiff::tz::TimeZone::get(tz).unwrap());
            assert_eq!(
                super::rfc3339(&z),
                z.strftime("%Y-%m-%dT%H:%M:%S%:z").to_string()
            );
        }
    }
}
