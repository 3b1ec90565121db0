//! Calendar spans ("90m", "36h", "10d", "1 month", "1 year") and zoned arithmetic (TIME-1, TIME-2).
//!
//! Minutes and hours are exact durations; days, weeks, months and years are calendar units added
//! in the account's zone. Decisions written down here (TIME-2):
//! - Month arithmetic clamps to the month end: Jan 31 + 1 month = Feb 28 (Feb 29 in a leap year).
//! - A local time that falls in a DST gap is moved forward by the gap's length; a local time that
//!   falls in a DST fold takes the earlier of its two instants. This is jiff's (and RFC 5545 /
//!   Temporal's) "compatible" resolution, so 02:30 on a spring-forward night becomes 03:30.
//! - A calendar span is applied largest unit first, once, from the start instant: adding "1 month"
//!   twice from Jan 31 gives Mar 28, adding "2 months" once gives Mar 31. Terms are therefore always
//!   computed from the start of the whole term, never step by step.

use crate::error::Refusal;
use jiff::{Span as JiffSpan, Timestamp, Unit, tz::TimeZone};
use serde::{Deserialize, Serialize};

/// The unit of a [`Span`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum SpanUnit {
    Minute,
    Hour,
    Day,
    Week,
    Month,
    Year,
}

impl SpanUnit {
    fn word(self) -> &'static str {
        match self {
            SpanUnit::Minute => "m",
            SpanUnit::Hour => "h",
            SpanUnit::Day => "d",
            SpanUnit::Week => "w",
            SpanUnit::Month => "month",
            SpanUnit::Year => "year",
        }
    }

    /// Calendar units depend on the zone; minutes and hours do not.
    pub fn is_calendar(self) -> bool {
        matches!(
            self,
            SpanUnit::Day | SpanUnit::Week | SpanUnit::Month | SpanUnit::Year
        )
    }
}

/// The largest count a span may carry. A hundred years of months is far past any term.
pub const SPAN_COUNT_MAX: i64 = 100 * 12 * 31 * 24 * 60;

/// A signed count of one unit. Written `"10d"`, `"10 days"`, `"1 month"`, `"-3h"`, `"90m"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Span {
    pub count: i64,
    pub unit: SpanUnit,
}

impl Span {
    pub const fn new(count: i64, unit: SpanUnit) -> Span {
        Span { count, unit }
    }
    pub const fn days(count: i64) -> Span {
        Span::new(count, SpanUnit::Day)
    }
    pub const fn hours(count: i64) -> Span {
        Span::new(count, SpanUnit::Hour)
    }
    pub const fn months(count: i64) -> Span {
        Span::new(count, SpanUnit::Month)
    }
    pub const fn years(count: i64) -> Span {
        Span::new(count, SpanUnit::Year)
    }

    /// Parses `"<count><unit>"` or `"<count> <unit>"`; units: m, min, minute(s), h, hour(s),
    /// d, day(s), w, week(s), month(s), mo, y, year(s). A leading `-` makes it negative.
    pub fn parse(text: &str) -> Result<Span, Refusal> {
        let bad = || {
            Refusal::invalid(format!(
                "{text:?} is not a span (examples: \"90m\", \"36h\", \"10d\", \"1 month\", \"1 year\")"
            ))
        };
        let t = text.trim();
        let (negative, rest) = match t.strip_prefix('-') {
            Some(r) => (true, r.trim_start()),
            None => (false, t.strip_prefix('+').unwrap_or(t)),
        };
        let digits_end = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        if digits_end == 0 || digits_end > 12 {
            return Err(bad());
        }
        let count: i64 = rest[..digits_end].parse().map_err(|_| bad())?;
        let unit = match rest[digits_end..].trim().to_ascii_lowercase().as_str() {
            "m" | "min" | "mins" | "minute" | "minutes" => SpanUnit::Minute,
            "h" | "hr" | "hour" | "hours" => SpanUnit::Hour,
            "d" | "day" | "days" => SpanUnit::Day,
            "w" | "week" | "weeks" => SpanUnit::Week,
            "mo" | "month" | "months" => SpanUnit::Month,
            "y" | "year" | "years" => SpanUnit::Year,
            _ => return Err(bad()),
        };
        if count > SPAN_COUNT_MAX {
            return Err(Refusal::invalid(format!("span {text:?} is too long")));
        }
        Ok(Span {
            count: if negative { -count } else { count },
            unit,
        })
    }

    pub fn negate(self) -> Span {
        Span {
            count: -self.count,
            unit: self.unit,
        }
    }

    fn to_jiff(self) -> JiffSpan {
        let s = JiffSpan::new();
        match self.unit {
            SpanUnit::Minute => s.minutes(self.count),
            SpanUnit::Hour => s.hours(self.count),
            SpanUnit::Day => s.days(self.count),
            SpanUnit::Week => s.weeks(self.count),
            SpanUnit::Month => s.months(self.count),
            SpanUnit::Year => s.years(self.count),
        }
    }

    /// `at + self`, calendar units in `zone` (TIME-1, TIME-2). Errors only past year 9999.
    pub fn add_to(self, at: Timestamp, zone: &TimeZone) -> Result<Timestamp, Refusal> {
        let overflow = || Refusal::invalid(format!("{at} + {self} is out of range"));
        if self.unit.is_calendar() {
            let zoned = at.to_zoned_datetime(zone.clone());
            zoned
                .checked_add(self.to_jiff())
                .map(|z| z.timestamp())
                .map_err(|_| overflow())
        } else {
            at.checked_add(self.to_jiff()).map_err(|_| overflow())
        }
    }

    /// `at - self`, calendar units in `zone`.
    pub fn sub_from(self, at: Timestamp, zone: &TimeZone) -> Result<Timestamp, Refusal> {
        self.negate().add_to(at, zone)
    }

    /// The span's length in whole months if it is a month or year span.
    pub fn whole_months(self) -> Option<i64> {
        match self.unit {
            SpanUnit::Month => Some(self.count),
            SpanUnit::Year => Some(self.count * 12),
            _ => None,
        }
    }

    /// An exact span's length in seconds (minutes and hours only).
    pub fn exact_seconds(self) -> Option<i64> {
        match self.unit {
            SpanUnit::Minute => Some(self.count * 60),
            SpanUnit::Hour => Some(self.count * 3600),
            _ => None,
        }
    }
}

impl std::fmt::Display for Span {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.unit {
            SpanUnit::Month | SpanUnit::Year => {
                let plural = if self.count.abs() == 1 { "" } else { "s" };
                write!(f, "{} {}{}", self.count, self.unit.word(), plural)
            }
            _ => write!(f, "{}{}", self.count, self.unit.word()),
        }
    }
}

impl TryFrom<String> for Span {
    type Error = String;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Span::parse(&s).map_err(|r| r.detail)
    }
}

impl From<Span> for String {
    fn from(s: Span) -> String {
        s.to_string()
    }
}

/// Parses an IANA zone name (TIME-1). Fixed offsets and "UTC" are accepted too.
pub fn parse_zone(name: &str) -> Result<TimeZone, Refusal> {
    TimeZone::get(name).map_err(|_| {
        Refusal::invalid(format!(
            "unknown time zone {name:?} (IANA name such as \"Asia/Shanghai\")"
        ))
    })
}

/// Parses an RFC 3339 instant with an offset ("2026-03-01T09:00:00+08:00").
pub fn parse_instant(text: &str) -> Result<Timestamp, Refusal> {
    text.trim().parse::<Timestamp>().map_err(|_| {
        Refusal::invalid(format!(
            "{text:?} is not an RFC 3339 instant with an offset"
        ))
    })
}

/// Formats an instant in a zone as RFC 3339 with its offset ("2026-03-15T14:00:00+08:00").
pub fn format_in_zone(at: Timestamp, zone: &TimeZone) -> String {
    at.to_zoned_datetime(zone.clone())
        .timestamp()
        .display_with_offset(zone.to_offset(at))
        .to_string()
}

/// The start of the next calendar boundary of `unit` (hour, day, month) strictly after `at`, in
/// `zone`. Used for hourly/daily/monthly cycles (PAYG-2) and resetting plans (PLAN-11).
pub fn next_boundary(at: Timestamp, unit: SpanUnit, zone: &TimeZone) -> Result<Timestamp, Refusal> {
    let z = at.to_zoned_datetime(zone.clone());
    let (start, step) = match unit {
        SpanUnit::Minute => (
            z.round(
                jiff::ZonedDateTimeRound::new()
                    .smallest(Unit::Minute)
                    .mode(jiff::RoundMode::Trunc),
            ),
            Span::new(1, SpanUnit::Minute),
        ),
        SpanUnit::Hour => (
            z.round(
                jiff::ZonedDateTimeRound::new()
                    .smallest(Unit::Hour)
                    .mode(jiff::RoundMode::Trunc),
            ),
            Span::hours(1),
        ),
        SpanUnit::Day => (z.start_of_day(), Span::days(1)),
        SpanUnit::Week => (z.start_of_day(), Span::days(7)),
        SpanUnit::Month => (
            z.first_of_month().and_then(|f| f.start_of_day()),
            Span::months(1),
        ),
        SpanUnit::Year => (
            z.first_of_year().and_then(|f| f.start_of_day()),
            Span::years(1),
        ),
    };
    let start = start.map_err(|e| Refusal::invalid(format!("no boundary after {at}: {e}")))?;
    step.add_to(start.timestamp(), zone)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        parse_instant(s).unwrap()
    }

    #[test]
    fn parses_the_span_forms_of_the_scenario_format() {
        assert_eq!(Span::parse("90m").unwrap(), Span::new(90, SpanUnit::Minute));
        assert_eq!(Span::parse("36h").unwrap(), Span::hours(36));
        assert_eq!(Span::parse("10d").unwrap(), Span::days(10));
        assert_eq!(Span::parse("1 month").unwrap(), Span::months(1));
        assert_eq!(Span::parse("2 years").unwrap(), Span::years(2));
        assert_eq!(Span::parse("-3h").unwrap(), Span::hours(-3));
        for bad in [
            "",
            "d",
            "10",
            "10 fortnights",
            "1.5d",
            "abc",
            "99999999999999d",
        ] {
            assert!(Span::parse(bad).is_err(), "{bad:?} should be refused");
        }
        assert_eq!(Span::parse("1 month").unwrap().to_string(), "1 month");
        assert_eq!(Span::parse("3 months").unwrap().to_string(), "3 months");
        assert_eq!(Span::parse("10d").unwrap().to_string(), "10d");
    }

    /// TIME-1, TIME-2: one table of calendar edge cases, each in the zone it matters in.
    #[test]
    fn time_2_calendar_table() {
        let cases: &[(&str, &str, &str, &str)] = &[
            // (zone, start, span, expected)
            // Month ends clamp.
            (
                "Asia/Shanghai",
                "2026-01-31T10:00:00+08:00",
                "1 month",
                "2026-02-28T10:00:00+08:00",
            ),
            (
                "Asia/Shanghai",
                "2028-01-31T10:00:00+08:00",
                "1 month",
                "2028-02-29T10:00:00+08:00",
            ),
            (
                "Asia/Shanghai",
                "2026-01-31T10:00:00+08:00",
                "6 months",
                "2026-07-31T10:00:00+08:00",
            ),
            (
                "Asia/Shanghai",
                "2026-03-31T10:00:00+08:00",
                "1 month",
                "2026-04-30T10:00:00+08:00",
            ),
            (
                "Asia/Shanghai",
                "2026-01-31T10:00:00+08:00",
                "2 months",
                "2026-03-31T10:00:00+08:00",
            ),
            // Leap days.
            (
                "Asia/Shanghai",
                "2028-02-29T00:00:00+08:00",
                "1 year",
                "2029-02-28T00:00:00+08:00",
            ),
            (
                "Asia/Shanghai",
                "2028-02-29T00:00:00+08:00",
                "4 years",
                "2032-02-29T00:00:00+08:00",
            ),
            (
                "Asia/Shanghai",
                "2028-02-28T12:00:00+08:00",
                "1d",
                "2028-02-29T12:00:00+08:00",
            ),
            (
                "Asia/Shanghai",
                "2027-02-28T12:00:00+08:00",
                "1d",
                "2027-03-01T12:00:00+08:00",
            ),
            // The zone decides the calendar: 2026-01-31T20:00Z is Feb 1 in Shanghai.
            (
                "Asia/Shanghai",
                "2026-01-31T20:00:00Z",
                "1 month",
                "2026-03-01T04:00:00+08:00",
            ),
            (
                "UTC",
                "2026-01-31T20:00:00Z",
                "1 month",
                "2026-02-28T20:00:00Z",
            ),
            // DST spring forward in New York (2026-03-08 02:00 -> 03:00): a calendar day keeps
            // the wall time, an exact 24h does not.
            (
                "America/New_York",
                "2026-03-07T09:00:00-05:00",
                "1d",
                "2026-03-08T09:00:00-04:00",
            ),
            (
                "America/New_York",
                "2026-03-07T09:00:00-05:00",
                "24h",
                "2026-03-08T10:00:00-04:00",
            ),
            // A wall time that falls in the gap moves forward by the gap.
            (
                "America/New_York",
                "2026-03-07T02:30:00-05:00",
                "1d",
                "2026-03-08T03:30:00-04:00",
            ),
            // DST fall back (2026-11-01 02:00 -> 01:00): the fold takes the earlier instant.
            (
                "America/New_York",
                "2026-10-31T01:30:00-04:00",
                "1d",
                "2026-11-01T01:30:00-04:00",
            ),
            (
                "America/New_York",
                "2026-10-31T09:00:00-04:00",
                "1d",
                "2026-11-01T09:00:00-05:00",
            ),
            // Negative spans: T-9d is nine calendar days before, in the zone.
            (
                "America/New_York",
                "2026-03-15T08:00:00-04:00",
                "-9d",
                "2026-03-06T08:00:00-05:00",
            ),
            (
                "Asia/Shanghai",
                "2026-03-31T10:00:00+08:00",
                "-1 month",
                "2026-02-28T10:00:00+08:00",
            ),
        ];
        for (zone, start, span, want) in cases {
            let tz = parse_zone(zone).unwrap();
            let got = Span::parse(span).unwrap().add_to(ts(start), &tz).unwrap();
            assert_eq!(got, ts(want), "{zone}: {start} + {span}");
        }
    }

    #[test]
    fn time_1_boundaries_follow_the_account_zone() {
        let sh = parse_zone("Asia/Shanghai").unwrap();
        let at = ts("2026-03-01T09:15:00+08:00");
        assert_eq!(
            next_boundary(at, SpanUnit::Hour, &sh).unwrap(),
            ts("2026-03-01T10:00:00+08:00")
        );
        assert_eq!(
            next_boundary(at, SpanUnit::Day, &sh).unwrap(),
            ts("2026-03-02T00:00:00+08:00")
        );
        assert_eq!(
            next_boundary(at, SpanUnit::Month, &sh).unwrap(),
            ts("2026-04-01T00:00:00+08:00")
        );
        // Exactly on a boundary: the next one, not itself.
        let on = ts("2026-03-01T10:00:00+08:00");
        assert_eq!(
            next_boundary(on, SpanUnit::Hour, &sh).unwrap(),
            ts("2026-03-01T11:00:00+08:00")
        );
        // A day that is 23 hours long in New York.
        let ny = parse_zone("America/New_York").unwrap();
        let d = ts("2026-03-08T00:30:00-05:00");
        assert_eq!(
            next_boundary(d, SpanUnit::Day, &ny).unwrap(),
            ts("2026-03-09T00:00:00-04:00")
        );
        assert!(parse_zone("Mars/Olympus").is_err());
        assert_eq!(format_in_zone(on, &sh), "2026-03-01T10:00:00+08:00");
    }
}
