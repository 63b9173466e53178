//! When a group may start: inside an occurrence of its site's maintenance window, with room
//! left in it for the group's estimated minutes. The plan placed every group in a window; at
//! run time the engine keeps that promise whatever time it is started at.

use std::collections::HashMap;

use jiff::{SignedDuration, Timestamp};

use crate::inventory::Site;
use crate::planner::file::Group;
use crate::planner::window::{Occurrence, occurrences};

/// What to do with a group whose window is not open now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WindowMode {
    /// Wait for it (a countdown; Ctrl-C ends the wait).
    Wait,
    /// Leave it for a later run (`--due`, for cron).
    Due,
    /// Start it anyway (`--ignore-windows`, an emergency; recorded in the journal).
    Ignore,
}

/// Whether a group may start now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Admit {
    /// Now.
    Now,
    /// Not before this instant (the start of the next occurrence it fits in), and what that is.
    At(Timestamp, String),
    /// Not within the horizon: why.
    Never(String),
}

/// When each group may start.
pub trait Windows: Sync {
    /// Whether `g` may start at `now`.
    fn admit(&self, g: &Group, now: Timestamp) -> Admit;
}

/// Occurrences that touch or overlap, merged: a window `Mon-Sun 00:00-24:00` is one long
/// opening, not a day each.
fn merged(mut occ: Vec<Occurrence>) -> Vec<(Timestamp, Timestamp)> {
    occ.sort_by_key(|o| o.start.timestamp());
    let mut out: Vec<(Timestamp, Timestamp)> = Vec::new();
    for o in occ {
        let (s, e) = (o.start.timestamp(), o.end.timestamp());
        match out.last_mut() {
            Some(last) if s <= last.1 => last.1 = last.1.max(e),
            _ => out.push((s, e)),
        }
    }
    out
}

/// The first instant at or after `now` when `minutes` of work fit in one opening of
/// `openings`, if any.
pub fn first_fit(
    openings: &[(Timestamp, Timestamp)],
    now: Timestamp,
    minutes: i64,
) -> Option<Timestamp> {
    let need = SignedDuration::from_mins(minutes.max(0));
    openings.iter().find_map(|&(s, e)| {
        let start = s.max(now);
        (start + need <= e).then_some(start)
    })
}

/// The sites' maintenance windows from the inventory, searched `horizon_days` ahead.
pub struct SiteWindows {
    sites: HashMap<String, Site>,
    horizon_days: i64,
}

impl SiteWindows {
    /// From the inventory's sites.
    pub fn new(sites: &[Site], horizon_days: i64) -> SiteWindows {
        SiteWindows {
            sites: sites.iter().map(|s| (s.name.clone(), s.clone())).collect(),
            horizon_days: horizon_days.max(1),
        }
    }
}

impl Windows for SiteWindows {
    fn admit(&self, g: &Group, now: Timestamp) -> Admit {
        let Some(site) = self.sites.get(&g.site) else {
            return Admit::Never(format!(
                "site {} is not in the inventory: no maintenance window",
                g.site
            ));
        };
        let openings = merged(occurrences(site, now, self.horizon_days));
        match first_fit(&openings, now, g.estimated_minutes) {
            Some(t) if t <= now => Admit::Now,
            Some(t) => Admit::At(
                t,
                format!(
                    "the next {} window with room for {} minutes ({})",
                    g.site,
                    g.estimated_minutes,
                    t.to_zoned_datetime(site.timezone.clone())
                        .strftime("%a %Y-%m-%d %H:%M %Z")
                ),
            ),
            None => Admit::Never(format!(
                "no {} maintenance window in the next {} days has room for its {} minutes",
                g.site, self.horizon_days, g.estimated_minutes
            )),
        }
    }
}

/// The window the plan (or schedule) placed each group in, as written in the group
/// (`window_start` to `window_end`).
pub struct PlannedWindows;

impl Windows for PlannedWindows {
    fn admit(&self, g: &Group, now: Timestamp) -> Admit {
        let parse = |s: &str| s.parse::<Timestamp>();
        let (Ok(s), Ok(e)) = (parse(&g.window_start), parse(&g.window_end)) else {
            return Admit::Never(format!(
                "its window \"{}\" to \"{}\" is not a time",
                g.window_start, g.window_end
            ));
        };
        match first_fit(&[(s, e)], now, g.estimated_minutes) {
            Some(t) if t <= now => Admit::Now,
            Some(t) => Admit::At(t, format!("its window at {}", g.window_start)),
            None => Admit::Never(format!(
                "its window {} to {} has closed or has no room for its {} minutes",
                g.window_start, g.window_end, g.estimated_minutes
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn work_starts_only_where_it_fits_before_the_window_closes() {
        let open = [
            (t("2026-11-30T08:00:00Z"), t("2026-11-30T13:00:00Z")),
            (t("2026-12-07T08:00:00Z"), t("2026-12-07T13:00:00Z")),
        ];
        // Inside, with room: now.
        assert_eq!(
            first_fit(&open, t("2026-11-30T09:00:00Z"), 60),
            Some(t("2026-11-30T09:00:00Z"))
        );
        // Exactly enough room left.
        assert_eq!(
            first_fit(&open, t("2026-11-30T12:00:00Z"), 60),
            Some(t("2026-11-30T12:00:00Z"))
        );
        // One minute short: the next occurrence.
        assert_eq!(
            first_fit(&open, t("2026-11-30T12:01:00Z"), 60),
            Some(t("2026-12-07T08:00:00Z"))
        );
        // Before the window: its opening.
        assert_eq!(
            first_fit(&open, t("2026-11-29T15:00:00Z"), 60),
            Some(t("2026-11-30T08:00:00Z"))
        );
        // Longer than any opening: never.
        assert_eq!(first_fit(&open, t("2026-11-29T15:00:00Z"), 301), None);
    }

    fn site(windows: &str) -> Site {
        Site {
            name: "LAB".into(),
            timezone_name: "UTC".into(),
            timezone: jiff::tz::TimeZone::UTC,
            windows: crate::inventory::parse_windows(windows).unwrap(),
            order: None,
            at: crate::error::Location::file("sites.csv"),
        }
    }

    #[test]
    fn separate_occurrences_stay_separate_and_a_group_waits_for_the_next() {
        // Sunday 2026-11-29 15:00 UTC; the window is Mondays 08:00-13:00.
        let now = t("2026-11-29T15:00:00Z");
        let open = merged(occurrences(&site("Mon 08:00-13:00"), now, 14));
        assert_eq!(
            open,
            [
                (t("2026-11-30T08:00:00Z"), t("2026-11-30T13:00:00Z")),
                (t("2026-12-07T08:00:00Z"), t("2026-12-07T13:00:00Z")),
            ]
        );
        let w = SiteWindows::new(&[site("Mon 08:00-13:00")], 14);
        let mut g = crate::planner::file::Group {
            site: "LAB".into(),
            ha_group: None,
            phase: crate::planner::file::Phase::Full,
            window_start: String::new(),
            window_end: String::new(),
            start: String::new(),
            end: String::new(),
            estimated_minutes: 120,
            devices: vec![],
            steps: vec![],
            carrier: None,
        };
        match w.admit(&g, now) {
            Admit::At(at, what) => {
                assert_eq!(at, t("2026-11-30T08:00:00Z"));
                assert!(
                    what.contains("room for 120 minutes (Mon 2026-11-30 08:00 UTC)"),
                    "{what}"
                );
            }
            other => panic!("{other:?}"),
        }
        // Between the two Mondays, after the first closed: the second.
        assert_eq!(
            w.admit(&g, t("2026-11-30T12:00:00Z")),
            Admit::At(
                t("2026-12-07T08:00:00Z"),
                "the next LAB window with room for 120 minutes (Mon 2026-12-07 08:00 UTC)".into()
            )
        );
        assert_eq!(w.admit(&g, t("2026-11-30T09:00:00Z")), Admit::Now);
        g.estimated_minutes = 301;
        assert!(matches!(w.admit(&g, now), Admit::Never(_)));
        g.site = "NOWHERE".into();
        assert!(matches!(w.admit(&g, now), Admit::Never(m) if m.contains("not in the inventory")));
    }

    #[test]
    fn touching_occurrences_are_one_opening() {
        let site = Site {
            name: "LAB".into(),
            timezone_name: "UTC".into(),
            timezone: jiff::tz::TimeZone::UTC,
            windows: crate::inventory::parse_windows("Mon-Sun 00:00-24:00").unwrap(),
            order: None,
            at: crate::error::Location::file("sites.csv"),
        };
        let occ = occurrences(&site, t("2026-11-29T23:30:00Z"), 3);
        let open = merged(occ);
        assert_eq!(open.len(), 1, "{open:?}");
        // Two hours of work at 23:30 fit across midnight.
        assert_eq!(
            first_fit(&open, t("2026-11-29T23:30:00Z"), 120),
            Some(t("2026-11-29T23:30:00Z"))
        );
    }
}
