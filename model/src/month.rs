//! Months: what "as of the end of June" and a month-by-month chart count by, and the one rule of
//! which month a record counts in.
//!
//! A record counts in the month of the date the indicator is about, so that the figures as of the
//! end of a month do not change when a phone syncs, the next month, what was done in it
//! ([`month_counted`]). Both the phone's own reports and the server's kept figures use it.

use crate::plan::{Condition, FieldKind, Form, Period};
use crate::record::{is_date, Revision, StatusDates};
use serde::{Deserialize, Serialize};
use std::fmt;
use uuid::Uuid;

/// A calendar month, written `YYYY-MM`. Wire format: stable (as that text).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Month {
    year: i32,
    /// 1 to 12.
    month: u8,
}

/// China Standard Time, which Shequ's work is dated in: UTC+8, without daylight saving.
const CHINA_OFFSET_MS: i64 = 8 * 3_600_000;
const DAY_MS: i64 = 86_400_000;

impl Month {
    /// A month from its year and number (1 to 12).
    pub fn new(year: i32, month: u8) -> Option<Month> {
        ((1..=12).contains(&month) && (0..=9999).contains(&year)).then_some(Month { year, month })
    }

    /// Parses `YYYY-MM`; the message is for the worker.
    pub fn parse(s: &str) -> Result<Month, String> {
        let bad = || format!("“{s}”不是月份,请写成 年-月,例如 2018-06");
        let b = s.as_bytes();
        if b.len() != 7
            || b[4] != b'-'
            || !s[..4]
                .bytes()
                .chain(s[5..].bytes())
                .all(|c| c.is_ascii_digit())
        {
            return Err(bad());
        }
        let year = s[..4].parse().map_err(|_| bad())?;
        let month = s[5..].parse().map_err(|_| bad())?;
        Month::new(year, month).ok_or_else(bad)
    }

    /// The month of a `YYYY-MM-DD` date; none when it is not one.
    pub fn of_date(date: &str) -> Option<Month> {
        if !is_date(date) {
            return None;
        }
        Month::parse(&date[..7]).ok()
    }

    /// The month, in China, of a moment in milliseconds since 1970 (UTC).
    pub fn of_ms(ms: i64) -> Month {
        let (year, month, _) = china_day(ms);
        Month { year, month }
    }

    pub fn year(&self) -> i32 {
        self.year
    }

    /// 1 to 12.
    pub fn number(&self) -> u8 {
        self.month
    }

    pub fn next(&self) -> Month {
        if self.month == 12 {
            Month {
                year: self.year + 1,
                month: 1,
            }
        } else {
            Month {
                year: self.year,
                month: self.month + 1,
            }
        }
    }

    /// The months from `self` to `last`, both included.
    pub fn through(self, last: Month) -> impl Iterator<Item = Month> {
        std::iter::successors(Some(self), move |m| Some(m.next()).filter(|n| *n <= last))
            .filter(move |m| *m <= last)
    }
}

impl fmt::Display for Month {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

impl Serialize for Month {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Month {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Month, D::Error> {
        let s = String::deserialize(d)?;
        Month::parse(&s).map_err(serde::de::Error::custom)
    }
}

impl std::str::FromStr for Month {
    type Err = String;
    fn from_str(s: &str) -> Result<Month, String> {
        Month::parse(s)
    }
}

impl Period {
    /// The months the period covers, first to last: the months figures are kept for.
    pub fn months(&self) -> Vec<Month> {
        match (Month::of_date(&self.from), Month::of_date(&self.to)) {
            (Some(a), Some(b)) => a.through(b).collect(),
            _ => vec![],
        }
    }
}

/// The day, in China, of a moment in milliseconds since 1970 (UTC): year, month, day.
fn china_day(ms: i64) -> (i32, u8, u8) {
    let days = (ms + CHINA_OFFSET_MS).div_euclid(DAY_MS);
    // Howard Hinnant's civil-from-days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u8;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
    let year = (yoe + era * 400 + i64::from(month <= 2)) as i32;
    (year, month, day)
}

/// The first moment, in milliseconds since 1970 (UTC), of a `YYYY-MM-DD` day in China: the
/// inverse of [`china_date`]. None when `date` is not a date.
pub fn china_midnight(date: &str) -> Option<i64> {
    if !is_date(date) {
        return None;
    }
    let (y, m, d): (i64, i64, i64) = (
        date[..4].parse().ok()?,
        date[5..7].parse().ok()?,
        date[8..].parse().ok()?,
    );
    // Howard Hinnant's days-from-civil.
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * DAY_MS - CHINA_OFFSET_MS)
}

/// The date, in China, of a moment in milliseconds since 1970 (UTC), as `YYYY-MM-DD`.
pub fn china_date(ms: i64) -> String {
    let (y, m, d) = china_day(ms);
    format!("{y:04}-{m:02}-{d:02}")
}

/// The month a record counts in for a measure of its form with `filter`:
/// 1. the date it reached the step the filter asks for (a `reached` condition on a dated status;
///    a step skipped over counts from the first later step it has a date for);
/// 2. else the date the record is about: its form's first date field it fills, else the date its
///    first dated status started;
/// 3. else the month it was first stored, on the phone that made it (its id's time). A record
///    whose id carries no time counts from the start.
pub fn month_counted(form: &Form, filter: &[Condition], r: &Revision) -> Option<Month> {
    let status = |id: &str| -> Option<(&crate::plan::Field, StatusDates)> {
        let f = form
            .field(id)
            .filter(|f| f.kind == FieldKind::Status && f.dated)?;
        Some((f, StatusDates::of(r.content.get(id)?)?))
    };
    let earliest = |f: &crate::plan::Field, v: &StatusDates, from: usize| -> Option<Month> {
        f.states[from..]
            .iter()
            .filter_map(|s| v.get(s).and_then(Month::of_date))
            .min()
    };
    for c in filter {
        let Some(step) = &c.reached else { continue };
        if let Some((f, v)) = status(&c.field) {
            if let Some(at) = f.states.iter().position(|s| s == step) {
                if let Some(m) = earliest(f, &v, at) {
                    return Some(m);
                }
            }
        }
    }
    let dated = form.fields.iter().find_map(|f| match f.kind {
        FieldKind::Date => r.content.get(&f.id)?.as_str().and_then(Month::of_date),
        _ => None,
    });
    if dated.is_some() {
        return dated;
    }
    if let Some(m) = form
        .fields
        .iter()
        .find_map(|f| status(&f.id).and_then(|(f, v)| earliest(f, &v, 0)))
    {
        return Some(m);
    }
    first_stored(r.record)
}

/// The month a record was first stored on the phone that made it.
fn first_stored(record: Uuid) -> Option<Month> {
    made_at(record).map(Month::of_ms)
}

/// When a record was first stored on the phone that made it (epoch milliseconds): its id is a
/// UUIDv7. None for an id that carries no time.
pub fn made_at(record: Uuid) -> Option<i64> {
    let (secs, nanos) = record.get_timestamp()?.to_unix();
    Some(secs as i64 * 1000 + i64::from(nanos / 1_000_000))
}

/// Whether a record counted in `month` (none: from the start) is counted as of the end of `as_of`
/// (none: now, everything).
pub fn counted_by(month: Option<Month>, as_of: Option<Month>) -> bool {
    match (month, as_of) {
        (_, None) | (None, _) => true,
        (Some(m), Some(end)) => m <= end,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::Plan;
    use serde_json::json;

    #[test]
    fn a_day_in_china_starts_where_its_date_says() {
        for date in [
            "1970-01-01",
            "2000-02-29",
            "2018-01-01",
            "2018-12-31",
            "2024-03-01",
        ] {
            let ms = china_midnight(date).unwrap();
            assert_eq!(china_date(ms), date);
            assert_eq!(
                china_date(ms - 1),
                china_date(ms - DAY_MS),
                "{date}: the day before"
            );
            assert_ne!(china_date(ms - 1), date);
        }
        // Midnight in Beijing is four in the afternoon, UTC, the day before.
        assert_eq!(china_midnight("2018-01-01"), Some(1_514_736_000_000));
        assert_eq!(china_midnight("2018-02-30"), None);
    }

    const PLAN: &str = r#"
id = "t"
year = 2018
title = "测试"
county = "610324"

[[forms]]
id = "case"
name = "议事案例"
title_field = "topic"
fields = [
  { id = "topic", label = "议题", kind = "text" },
  { id = "steps", label = "程序", kind = "status", states = ["提", "议", "决", "评"], transitions = [["提", "议"], ["议", "决"], ["决", "评"], ["议", "评"]], dated = true },
]

[[forms]]
id = "meeting"
name = "会议"
title_field = "topic"
fields = [
  { id = "topic", label = "议题", kind = "text" },
  { id = "held", label = "日期", kind = "date" },
]

[[indicators]]
id = "decided"
name = "已决"
measure = { shape = "count", form = "case", filter = [{ field = "steps", reached = "决" }] }
"#;

    fn month_of(form: &str, filter: &[Condition], content: serde_json::Value) -> Option<String> {
        let plan = Plan::parse("t.toml", PLAN).unwrap_or_else(|e| panic!("{e}"));
        // Made on 2018-03-10 (UTC), as a phone makes UUIDv7 ids.
        let made = (1_520_640_000_000u128 << 80) | (0x7 << 76) | (0b10 << 62);
        let r = Revision {
            record: Uuid::from_u128(made),
            rev: Uuid::from_u128(made),
            parent: None,
            resolves: vec![],
            device: "t".into(),
            clock: 1,
            plan: Default::default(),
            form: form.into(),
            unit: crate::UnitCode::parse("610324001001").unwrap(),
            deleted: false,
            content: serde_json::from_value(content).unwrap(),
        };
        month_counted(plan.form(form).unwrap(), filter, &r).map(|m| m.to_string())
    }

    #[test]
    fn a_record_counts_in_the_month_of_the_date_the_measure_is_about() {
        let reached = [Condition {
            field: "steps".into(),
            is: None,
            any_of: None,
            has: None,
            at_least: None,
            reached: Some("决".into()),
        }];
        let steps = |dates: serde_json::Value| json!({"topic": "x", "steps": {"state": "评", "dates": dates}});
        let all =
            json!({"提": "2018-01-05", "议": "2018-02-01", "决": "2018-05-20", "评": "2018-07-01"});
        // The step the filter asks for.
        assert_eq!(
            month_of("case", &reached, steps(all.clone())).as_deref(),
            Some("2018-05")
        );
        // A step skipped over: the first later step with a date.
        let skipped = json!({"提": "2018-01-05", "议": "2018-02-01", "评": "2018-07-01"});
        assert_eq!(
            month_of("case", &reached, steps(skipped)).as_deref(),
            Some("2018-07")
        );
        // No step asked for: when the case started.
        assert_eq!(
            month_of("case", &[], steps(all)).as_deref(),
            Some("2018-01")
        );
        // A record's own date.
        let meeting = json!({"topic": "x", "held": "2018-09-30"});
        assert_eq!(
            month_of("meeting", &[], meeting).as_deref(),
            Some("2018-09")
        );
        // Without any date: when the phone first stored it.
        let undated = json!({"topic": "x"});
        assert_eq!(
            month_of("meeting", &[], undated).as_deref(),
            Some("2018-03")
        );
    }

    #[test]
    fn months_parse_only_as_year_dash_month() {
        assert_eq!(Month::parse("2018-06").unwrap().to_string(), "2018-06");
        for bad in [
            "2018-6",
            "2018-13",
            "2018-00",
            "201806",
            "2018/06",
            "２０１８-06",
            "",
        ] {
            assert!(Month::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_moment_falls_in_its_month_in_china() {
        // 2018-06-30T16:00:00Z is midnight of 1 July in China.
        assert_eq!(Month::of_ms(1_530_374_400_000).to_string(), "2018-07");
        assert_eq!(Month::of_ms(1_530_374_399_999).to_string(), "2018-06");
        assert_eq!(
            Month::of_ms(951_782_400_000 - 8 * 3_600_000).to_string(),
            "2000-02"
        );
    }

    #[test]
    fn a_moment_falls_on_its_day_in_china() {
        assert_eq!(china_date(1_530_374_400_000), "2018-07-01");
        assert_eq!(china_date(1_530_374_399_999), "2018-06-30");
        // 29 February 2000, midnight in China.
        assert_eq!(china_date(951_782_400_000 - 8 * 3_600_000), "2000-02-29");
        assert_eq!(china_date(1_798_732_800_000 - 1), "2026-12-31");
    }

    #[test]
    fn a_period_covers_its_months() {
        let p = Period {
            from: "2018-11-05".into(),
            to: "2019-02-01".into(),
        };
        let months: Vec<String> = p.months().iter().map(Month::to_string).collect();
        assert_eq!(months, ["2018-11", "2018-12", "2019-01", "2019-02"]);
    }
}
