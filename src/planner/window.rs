//! Maintenance-window occurrences in real time.
//!
//! A window is written in site-local wall-clock time (`Sun 02:00-06:00`). Each occurrence is
//! turned into instants with the site's IANA zone: a wall time that does not exist (the hour
//! skipped when clocks spring forward) moves to the first instant after the gap, a wall time that
//! happens twice (clocks fall back) takes the earlier one. The real length of an occurrence is
//! therefore shorter or longer than written on DST days, and work is placed by real minutes.

use jiff::civil::{DateTime, Time};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp, ZonedDateTime};

use crate::inventory::{Site, Window};

/// One occurrence of a site's maintenance window.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Occurrence {
    /// When the window opens, in site time.
    pub start: ZonedDateTime,
    /// When it closes, in site time.
    pub end: ZonedDateTime,
}

impl Occurrence {
    /// Real length in minutes (DST-aware).
    pub fn minutes(&self) -> i64 {
        self.end.duration_since(&self.start).as_secs() / 60
    }
}

/// A placement of work: inside `window`, from `start` to `end`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Slot {
    /// The window occurrence that holds the work.
    pub window: Occurrence,
    /// Work starts.
    pub start: ZonedDateTime,
    /// Work is done (never after the window closes).
    pub end: ZonedDateTime,
}

fn zoned(dt: DateTime, tz: &TimeZone) -> ZonedDateTime {
    // `compatible`: gaps resolve after the gap, folds to the earlier instant.
    dt.to_zoned_datetime(tz.clone())
        .expect("civil datetimes in range resolve in any zone")
}

fn occurrence(date: jiff::civil::Date, w: &Window, tz: &TimeZone) -> Occurrence {
    let open = DateTime::from_parts(
        date,
        Time::new(
            (w.start_minute / 60) as i8,
            (w.start_minute % 60) as i8,
            0,
            0,
        )
        .expect("valid window time"),
    );
    let close = open
        .checked_add(SignedDuration::from_mins(i64::from(w.minutes)))
        .expect("window end in range");
    Occurrence {
        start: zoned(open, tz),
        end: zoned(close, tz),
    }
}

/// The site's window occurrences that close after `after`, in start order, looking `days` days
/// ahead in site time.
pub fn occurrences(site: &Site, after: Timestamp, days: i64) -> Vec<Occurrence> {
    let tz = &site.timezone;
    // Start a day early: a window opening yesterday may still be open (crossing midnight).
    let first = after
        .to_zoned_datetime(tz.clone())
        .date()
        .yesterday()
        .expect("date in range");
    let mut out = Vec::new();
    for offset in 0..=days + 1 {
        let Ok(date) = first.checked_add(jiff::Span::new().days(offset)) else {
            break;
        };
        let weekday = date.weekday().to_monday_zero_offset() as usize;
        for w in site.windows.iter().filter(|w| w.opens_on(weekday)) {
            let o = occurrence(date, w, tz);
            if o.end.timestamp() > after && o.end > o.start {
                out.push(o);
            }
        }
    }
    out.sort_by_key(|o| o.start.timestamp());
    out
}

/// The earliest slot of `minutes` real minutes, starting no earlier than `after`, that fits
/// entirely inside one window occurrence within `days` days; `None` when no occurrence is long
/// enough.
pub fn place(site: &Site, after: Timestamp, minutes: i64, days: i64) -> Option<Slot> {
    fit(
        &occurrences(site, after, days),
        after,
        &site.timezone,
        minutes,
    )
}

/// The earliest slot of `minutes` real minutes in `occs` (sorted, from [`occurrences`]) that
/// starts no earlier than `after`.
pub fn fit(occs: &[Occurrence], after: Timestamp, tz: &TimeZone, minutes: i64) -> Option<Slot> {
    let need = SignedDuration::from_mins(minutes);
    occs.iter().find_map(|o| {
        let start = if o.start.timestamp() >= after {
            o.start.clone()
        } else {
            after.to_zoned_datetime(tz.clone())
        };
        let end = start.checked_add(need).ok()?;
        (end.timestamp() <= o.end.timestamp()).then(|| Slot {
            window: o.clone(),
            start,
            end,
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Location;
    use crate::inventory::parse_windows;

    fn site(tz: &str, windows: &str) -> Site {
        Site {
            name: "S".into(),
            timezone_name: tz.into(),
            timezone: TimeZone::get(tz).unwrap(),
            windows: parse_windows(windows).unwrap(),
            order: None,
            at: Location::file("sites.csv"),
        }
    }

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn spring_forward_shortens_the_window() {
        // Europe/Berlin skips 02:00-03:00 on Sunday 2026-03-29.
        let s = site("Europe/Berlin", "Sun 02:00-06:00");
        let occ = occurrences(&s, ts("2026-03-27T00:00:00Z"), 7);
        assert_eq!(
            occ[0].start.to_string(),
            "2026-03-29T03:00:00+02:00[Europe/Berlin]"
        );
        assert_eq!(
            occ[0].end.to_string(),
            "2026-03-29T06:00:00+02:00[Europe/Berlin]"
        );
        assert_eq!(occ[0].minutes(), 180);
        // 200 minutes do not fit that night: the next Sunday (4 real hours) takes them.
        let slot = place(&s, ts("2026-03-27T00:00:00Z"), 200, 14).unwrap();
        assert_eq!(
            slot.start.to_string(),
            "2026-04-05T02:00:00+02:00[Europe/Berlin]"
        );
        assert_eq!(
            slot.end.to_string(),
            "2026-04-05T05:20:00+02:00[Europe/Berlin]"
        );
    }

    #[test]
    fn fall_back_lengthens_the_window() {
        // America/New_York repeats 01:00-02:00 on Sunday 2026-11-01.
        let s = site("America/New_York", "Sun 00:00-04:00");
        let occ = occurrences(&s, ts("2026-10-30T00:00:00Z"), 3);
        assert_eq!(occ[0].minutes(), 300);
        let slot = place(&s, ts("2026-10-30T00:00:00Z"), 290, 3).unwrap();
        assert_eq!(
            slot.end.to_string(),
            "2026-11-01T03:50:00-05:00[America/New_York]"
        );
    }

    #[test]
    fn windows_past_midnight_and_started_windows() {
        let s = site("America/New_York", "Sat 23:00-03:00");
        let occ = occurrences(&s, ts("2026-06-01T00:00:00Z"), 7);
        assert_eq!(
            occ[0].start.to_string(),
            "2026-06-06T23:00:00-04:00[America/New_York]"
        );
        assert_eq!(
            occ[0].end.to_string(),
            "2026-06-07T03:00:00-04:00[America/New_York]"
        );
        // Asked at 01:00 local on Sunday: the open window has 2 hours left.
        let after = ts("2026-06-07T05:00:00Z");
        let slot = place(&s, after, 90, 7).unwrap();
        assert_eq!(slot.start.timestamp(), after);
        // 150 minutes no longer fit tonight: next Saturday.
        let slot = place(&s, after, 150, 14).unwrap();
        assert_eq!(
            slot.start.to_string(),
            "2026-06-13T23:00:00-04:00[America/New_York]"
        );
    }

    #[test]
    fn shanghai_has_no_dst_and_work_longer_than_any_window_is_unplaceable() {
        let s = site("Asia/Shanghai", "Sat 02:00-06:00;Sun 02:00-06:00");
        let occ = occurrences(&s, ts("2026-11-25T00:00:00Z"), 7);
        assert_eq!(occ.len(), 2);
        assert!(occ.iter().all(|o| o.minutes() == 240));
        assert!(place(&s, ts("2026-11-25T00:00:00Z"), 241, 60).is_none());
    }
}
