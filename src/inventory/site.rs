//! Sites: an IANA time zone and weekly maintenance windows in that zone's local time.

use std::fmt;
use std::str::FromStr;

use jiff::tz::TimeZone;

use crate::error::Location;

/// Day names, Monday first.
const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
const FULL_DAYS: [&str; 7] = [
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
];

/// A weekly maintenance window: on each of `days`, from `start` for `minutes`, in site time.
/// A window may run past midnight (`Sat 22:00-02:00`).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Window {
    /// Bit 0 = Monday … bit 6 = Sunday.
    pub days: u8,
    /// Minutes after local midnight when the window opens.
    pub start_minute: u16,
    /// Length in minutes (1 to 1440).
    pub minutes: u16,
}

impl Window {
    /// Whether the window opens on weekday `d` (0 = Monday).
    pub fn opens_on(&self, d: usize) -> bool {
        self.days & (1 << d) != 0
    }
}

impl fmt::Display for Window {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let days: Vec<&str> = (0..7)
            .filter(|&d| self.opens_on(d))
            .map(|d| DAYS[d])
            .collect();
        let end = (self.start_minute + self.minutes) % 1440;
        let end = if end == 0 && self.start_minute + self.minutes == 1440 {
            1440
        } else {
            end
        };
        write!(
            f,
            "{} {:02}:{:02}-{:02}:{:02}",
            days.join(","),
            self.start_minute / 60,
            self.start_minute % 60,
            end / 60,
            end % 60
        )
    }
}

fn day(s: &str) -> Result<usize, String> {
    let lower = s.to_ascii_lowercase();
    FULL_DAYS
        .iter()
        .position(|d| *d == lower || d[..3] == lower)
        .ok_or_else(|| format!("\"{s}\" is not a day (Mon..Sun)"))
}

fn time(s: &str, allow_24: bool) -> Result<u16, String> {
    let bad = || format!("\"{s}\" is not a time (HH:MM)");
    let (h, m) = s.split_once(':').ok_or_else(bad)?;
    if h.len() != 2 || m.len() != 2 {
        return Err(bad());
    }
    let (h, m): (u16, u16) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    if (h == 24 && m == 0 && allow_24) || (h < 24 && m < 60) {
        Ok(h * 60 + m)
    } else {
        Err(bad())
    }
}

impl FromStr for Window {
    type Err = String;

    /// `Sat 02:00-06:00`, `Mon-Fri 01:00-03:00`, `Sat,Sun 22:00-02:00`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (days_text, times) = s
            .trim()
            .split_once(char::is_whitespace)
            .ok_or_else(|| format!("\"{s}\": expected DAYS HH:MM-HH:MM, e.g. Sat 02:00-06:00"))?;
        let mut days = 0u8;
        for part in days_text.split(',') {
            match part.split_once('-') {
                Some((a, b)) => {
                    let (a, b) = (day(a)?, day(b)?);
                    let mut d = a;
                    loop {
                        days |= 1 << d;
                        if d == b {
                            break;
                        }
                        d = (d + 1) % 7;
                    }
                }
                None => days |= 1 << day(part)?,
            }
        }
        let (a, b) = times
            .trim()
            .split_once('-')
            .ok_or_else(|| format!("\"{times}\": expected HH:MM-HH:MM"))?;
        let (start, end) = (time(a.trim(), false)?, time(b.trim(), true)?);
        if start == end {
            return Err(format!("\"{s}\": the window has no length"));
        }
        let minutes = if end > start {
            end - start
        } else {
            end + 1440 - start
        };
        Ok(Window {
            days,
            start_minute: start,
            minutes,
        })
    }
}

/// Parses `;`-separated windows.
pub fn parse_windows(s: &str) -> Result<Vec<Window>, String> {
    s.split(';')
        .map(str::trim)
        .filter(|w| !w.is_empty())
        .map(str::parse)
        .collect()
}

/// A data center.
#[derive(Clone, Debug)]
pub struct Site {
    /// Site name as written.
    pub name: String,
    /// IANA zone name.
    pub timezone_name: String,
    /// The zone.
    pub timezone: TimeZone,
    /// Weekly maintenance windows in site time.
    pub windows: Vec<Window>,
    /// Rollout order (lowest first), when given.
    pub order: Option<i64>,
    /// Where the site is defined.
    pub at: Location,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_parse_and_display() {
        let w = parse_windows("Sat 02:00-06:00; sun 02:00-06:00").unwrap();
        assert_eq!(w.len(), 2);
        assert_eq!(w[1].to_string(), "Sun 02:00-06:00");
        let w: Window = "Mon-Fri 22:00-02:00".parse().unwrap();
        assert_eq!(w.minutes, 240);
        assert_eq!(w.days, 0b0011111);
        assert_eq!(w.to_string(), "Mon,Tue,Wed,Thu,Fri 22:00-02:00");
        let w: Window = "Sat-Mon 00:00-24:00".parse().unwrap();
        assert_eq!(w.days, 0b1100001);
        assert_eq!(w.minutes, 1440);
    }

    #[test]
    fn bad_windows() {
        for bad in [
            "Sat",
            "Sat 2:00-06:00",
            "Sat 02:00-02:00",
            "Xyz 01:00-02:00",
            "Sat 25:00-26:00",
            "Sat 02:00-06:00 reboot",
        ] {
            assert!(bad.parse::<Window>().is_err(), "{bad}");
        }
    }
}
