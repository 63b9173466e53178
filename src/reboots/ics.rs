//! The schedule as an iCalendar file (RFC 5545): one event per group reboot, in site time
//! (`DTSTART;TZID=Europe/Berlin:...`), with a `VTIMEZONE` per zone built from the zone's real
//! transitions over the schedule's span, so calendars show the right hour across DST changes.

use std::collections::BTreeMap;
use std::fmt::Write;

use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};

use super::Schedule;
use crate::planner::file::{Group, Step};

/// Escapes a TEXT value (RFC 5545 3.3.11).
fn text(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c => out.push(c),
        }
    }
    out
}

/// Appends a content line folded at 75 octets (continuations start with a space), ended by CRLF.
fn line(out: &mut String, content: &str) {
    // The current physical line: its characters and octets (a continuation counts its space).
    let mut cur: Vec<char> = Vec::new();
    let mut width = 0;
    for c in content.chars() {
        let n = c.len_utf8();
        if width + n > 75 {
            // Never fold beside a space: RFC 5545 unfolding keeps it, but clients that trim
            // folded lines (ical-rs among them) would lose it.
            let next = |k: usize| cur.get(k).copied().unwrap_or(c);
            let mut k = cur.len();
            while k > 1 && (cur[k - 1] == ' ' || next(k) == ' ') {
                k -= 1;
            }
            if k == 1 {
                k = cur.len();
            }
            out.extend(&cur[..k]);
            out.push_str("\r\n ");
            cur.drain(..k);
            width = 1 + cur.iter().map(|c| c.len_utf8()).sum::<usize>();
        }
        cur.push(c);
        width += n;
    }
    out.extend(&cur);
    out.push_str("\r\n");
}

fn local(t: Timestamp, tz: &TimeZone) -> String {
    t.to_zoned_datetime(tz.clone())
        .strftime("%Y%m%dT%H%M%S")
        .to_string()
}

fn offset(seconds: i32) -> String {
    let (sign, s) = if seconds < 0 {
        ('-', -seconds)
    } else {
        ('+', seconds)
    };
    format!("{sign}{:02}{:02}", s / 3600, s % 3600 / 60)
}

/// A `VTIMEZONE` for `tz` valid over `[from, to]`: the observance in force at `from`, then
/// every transition up to `to`.
fn vtimezone(out: &mut String, name: &str, tz: &TimeZone, from: Timestamp, to: Timestamp) {
    line(out, "BEGIN:VTIMEZONE");
    line(out, &format!("TZID:{name}"));
    let mut observance = |at: Timestamp, before: i32, after: i32, abbrev: &str, dst: bool| {
        let kind = if dst { "DAYLIGHT" } else { "STANDARD" };
        line(out, &format!("BEGIN:{kind}"));
        // DTSTART is the local time of the onset in the offset in force before it.
        let onset = at
            .checked_add(SignedDuration::from_secs(i64::from(before)))
            .unwrap_or(at);
        line(
            out,
            &format!(
                "DTSTART:{}",
                onset
                    .to_zoned_datetime(TimeZone::UTC)
                    .strftime("%Y%m%dT%H%M%S")
            ),
        );
        line(out, &format!("TZOFFSETFROM:{}", offset(before)));
        line(out, &format!("TZOFFSETTO:{}", offset(after)));
        if !abbrev.is_empty() {
            line(out, &format!("TZNAME:{}", text(abbrev)));
        }
        line(out, &format!("END:{kind}"));
    };
    match tz
        .preceding(
            from.checked_add(SignedDuration::from_secs(1))
                .unwrap_or(from),
        )
        .next()
    {
        Some(t) => {
            let before = tz
                .to_offset(t.timestamp() - SignedDuration::from_secs(1))
                .seconds();
            observance(
                t.timestamp(),
                before,
                t.offset().seconds(),
                t.abbreviation(),
                t.dst().is_dst(),
            );
        }
        None => {
            let info = tz.to_offset_info(from);
            let o = info.offset().seconds();
            observance(
                Timestamp::UNIX_EPOCH,
                o,
                o,
                info.abbreviation(),
                info.dst().is_dst(),
            );
        }
    }
    for t in tz.following(from).take_while(|t| t.timestamp() <= to) {
        let before = tz
            .to_offset(t.timestamp() - SignedDuration::from_secs(1))
            .seconds();
        observance(
            t.timestamp(),
            before,
            t.offset().seconds(),
            t.abbreviation(),
            t.dst().is_dst(),
        );
    }
    line(out, "END:VTIMEZONE");
}

fn summary(g: &Group) -> String {
    let steps: Vec<String> = g
        .steps
        .iter()
        .map(|s| match s {
            Step::Reboot { device } => format!("reboot {device}"),
            Step::Failover { to, .. } => format!("failover to {to}"),
            Step::Upgrade { device } => format!("upgrade {device}"),
        })
        .collect();
    steps.join(", ")
}

/// The calendar of the schedule saved at `path` (each event says how to run it). Events are
/// stable across runs (UIDs from group and start, whatever round the reboot is in), so a re-imported schedule updates
/// events instead of duplicating them.
pub fn calendar(s: &Schedule, path: &std::path::Path) -> String {
    let path = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut out = String::new();
    line(&mut out, "BEGIN:VCALENDAR");
    line(&mut out, "VERSION:2.0");
    line(
        &mut out,
        &format!(
            "PRODID:-//lbfleet//reboots {}//EN",
            env!("CARGO_PKG_VERSION")
        ),
    );
    line(&mut out, "CALSCALE:GREGORIAN");
    line(&mut out, "METHOD:PUBLISH");
    line(&mut out, "X-WR-CALNAME:lbfleet reboots");
    let zones: BTreeMap<&str, TimeZone> = s
        .sites
        .values()
        .filter_map(|z| TimeZone::get(z).ok().map(|tz| (z.as_str(), tz)))
        .collect();
    let at = |t: &str| t.parse::<Timestamp>().ok();
    let times: Vec<Timestamp> = s
        .rounds
        .iter()
        .flat_map(|r| &r.groups)
        .flat_map(|g| [at(&g.start), at(&g.end)])
        .flatten()
        .collect();
    let (Some(&first), Some(&last)) = (times.iter().min(), times.iter().max()) else {
        line(&mut out, "END:VCALENDAR");
        return out;
    };
    let day = SignedDuration::from_hours(24);
    for (name, tz) in &zones {
        vtimezone(&mut out, name, tz, first - day, last + day);
    }
    let stamp = at(&s.created).unwrap_or(first);
    for r in &s.rounds {
        for g in &r.groups {
            let Some(zone) = s.sites.get(&g.site) else {
                continue;
            };
            let (Some(tz), Some(start), Some(end)) =
                (zones.get(zone.as_str()), at(&g.start), at(&g.end))
            else {
                continue;
            };
            let who = g.ha_group.clone().unwrap_or_else(|| {
                g.devices
                    .first()
                    .map(|d| d.name.clone())
                    .unwrap_or_default()
            });
            line(&mut out, "BEGIN:VEVENT");
            line(
                &mut out,
                &format!("UID:{}-{}@lbfleet", who, start.strftime("%Y%m%dT%H%M%SZ")),
            );
            line(
                &mut out,
                &format!("DTSTAMP:{}", stamp.strftime("%Y%m%dT%H%M%SZ")),
            );
            line(
                &mut out,
                &format!("DTSTART;TZID={zone}:{}", local(start, tz)),
            );
            line(&mut out, &format!("DTEND;TZID={zone}:{}", local(end, tz)));
            line(
                &mut out,
                &format!("SUMMARY:{}", text(&format!("Reboot {who} ({})", g.site))),
            );
            line(&mut out, &format!("LOCATION:{}", text(&g.site)));
            let mut description = format!(
                "Round {} of the lbfleet reboot schedule: {}.\nWindow {} to {}.\nRun: lbfleet reboots run {} --due",
                r.index,
                summary(g),
                g.window_start,
                g.window_end,
                path.display()
            );
            let _ = write!(description, "\nEstimated {} min.", g.estimated_minutes);
            line(&mut out, &format!("DESCRIPTION:{}", text(&description)));
            line(&mut out, "CATEGORIES:lbfleet,reboot");
            line(&mut out, "END:VEVENT");
        }
    }
    line(&mut out, "END:VCALENDAR");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_fold_at_75_octets_and_text_is_escaped() {
        let mut out = String::new();
        line(&mut out, &format!("DESCRIPTION:{}", "é".repeat(60)));
        for l in out.split("\r\n").filter(|l| !l.is_empty()) {
            assert!(l.len() <= 75, "{} octets: {l}", l.len());
        }
        assert!(out.contains("\r\n é"));
        // Words keep their spaces through unfolding by clients that trim continuations.
        let mut out = String::new();
        let words = format!("DESCRIPTION:{}end", "abc ".repeat(40));
        line(&mut out, &words);
        assert!(!out.contains("\r\n  ") && !out.contains(" \r\n"), "{out:?}");
        assert_eq!(out.replace("\r\n ", ""), words + "\r\n");
        for l in out.split("\r\n") {
            assert!(l.len() <= 75, "{l}");
        }
        assert_eq!(text("a,b;c\\d\ne"), "a\\,b\\;c\\\\d\\ne");
    }

    #[test]
    fn berlin_timezone_has_its_transitions() {
        let tz = TimeZone::get("Europe/Berlin").unwrap();
        let mut out = String::new();
        vtimezone(
            &mut out,
            "Europe/Berlin",
            &tz,
            "2026-10-01T00:00:00Z".parse().unwrap(),
            "2027-04-30T00:00:00Z".parse().unwrap(),
        );
        // In force on 1 October: CEST since 29 March 2026 (02:00 CET local onset).
        assert!(out.contains("BEGIN:DAYLIGHT\r\nDTSTART:20260329T020000\r\nTZOFFSETFROM:+0100\r\nTZOFFSETTO:+0200\r\nTZNAME:CEST"), "{out}");
        // Back to CET on 25 October 2026 at 03:00 CEST.
        assert!(out.contains("BEGIN:STANDARD\r\nDTSTART:20261025T030000\r\nTZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\nTZNAME:CET"), "{out}");
        // CEST again on 28 March 2027.
        assert!(out.contains("DTSTART:20270328T020000"), "{out}");
    }
}
