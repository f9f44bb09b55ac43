//! Publication: when the server makes each kind of data visible (PROTOCOL.md §6).
//!
//! A [`Schedule`] holds, for every [`Kind`], the China time of day at which a day's rows
//! appear on that kind's release day (or no hour: from the start of the day itself), and
//! whether the official history floors apply. [`Publication`] is a schedule at one instant
//! plus the all-market start: the plain value a query is answered under
//! ([`crate::handler::answer_query`]); the server takes one from the controls per request.
//!
//! Rules, in every schedule:
//! * never a row of a day after the clock's date;
//! * with an hour, the rows of day `d` appear at that hour of `d`'s release day
//!   ([`Kind::release_day`]): `d` itself for daily bars, factors and minute bars; the
//!   Saturday of its ISO week for weekly bars (so a week's bar appears whole); the 1st of the
//!   next month for monthly bars; the Monday of its week for index constituents; the next
//!   day for reports (a report dated `d` appears at that hour of `d + 1`);
//! * without an hour, the rows of a day are there from the start of that day, and a weekly or
//!   monthly bar may cover a period up to the clock's date (a partial bar);
//! * with the floors on, minute bars have no rows before [`MINUTE_FLOOR`] and ETF daily,
//!   weekly and monthly bars none before [`ETF_FLOOR`].
//!
//! What is not published, or under a floor, is answered with no rows, never an error.

use std::fmt;
use std::ops::RangeInclusive;

use baostock::value::Frequency;
use chrono::{Datelike, Days, Months, NaiveDate, NaiveDateTime, NaiveTime};

use crate::market::{update_date, SecType};

/// The first day of 5/15/30/60-minute bars on the official server.
pub const MINUTE_FLOOR: NaiveDate = NaiveDate::from_ymd_opt(2020, 1, 3).expect("a valid date");

/// The first day of ETF daily, weekly and monthly bars on the official server.
pub const ETF_FLOOR: NaiveDate = NaiveDate::from_ymd_opt(2026, 1, 5).expect("a valid date");

/// A kind of data the server publishes on its own schedule.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    /// Daily bars: 98, 9A, and 95 at frequency `d`.
    Daily,
    /// Adjust factors: 9C, and the rows of 15 by their dividOperateDate.
    Factors,
    /// Minute bars: 95 at frequency 5, 15, 30 or 60.
    Minute,
    /// Weekly bars: 95 at frequency `w`.
    Weekly,
    /// Monthly bars: 95 at frequency `m`.
    Monthly,
    /// Index constituents: 61, 63 and 65.
    Constituents,
    /// Reports (13, 17..31 odd): a filing or announcement dated `d` (its pubDate, a dividend's
    /// announcement dates) appears on `d + 1`.
    Reports,
}

impl Kind {
    /// Every kind, in declaration order (the order status and the banner list them).
    pub const ALL: [Kind; 7] = [
        Kind::Daily,
        Kind::Factors,
        Kind::Minute,
        Kind::Weekly,
        Kind::Monthly,
        Kind::Constituents,
        Kind::Reports,
    ];

    /// The kind's name in the control port and status: `daily`, `factors`, `minute`,
    /// `weekly`, `monthly`, `constituents`, `reports`.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Daily => "daily",
            Kind::Factors => "factors",
            Kind::Minute => "minute",
            Kind::Weekly => "weekly",
            Kind::Monthly => "monthly",
            Kind::Constituents => "constituents",
            Kind::Reports => "reports",
        }
    }

    /// The kind named `name` (as [`Kind::name`] spells it).
    pub fn from_name(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.name() == name)
    }

    /// The kind of the bars of 95 at `frequency`.
    pub fn of_frequency(frequency: Frequency) -> Kind {
        match frequency {
            Frequency::Daily => Kind::Daily,
            Frequency::Weekly => Kind::Weekly,
            Frequency::Monthly => Kind::Monthly,
            Frequency::Min5 | Frequency::Min15 | Frequency::Min30 | Frequency::Min60 => Kind::Minute,
        }
    }

    /// The day on whose hour the rows of `day` appear: `day` itself for daily bars, factors
    /// and minute bars; the Saturday of its ISO week for weekly bars; the 1st of the next
    /// month for monthly bars; the Monday of its week (the reference-data update) for index
    /// constituents; the next day for reports.
    pub fn release_day(self, day: NaiveDate) -> NaiveDate {
        match self {
            Kind::Daily | Kind::Factors | Kind::Minute => day,
            Kind::Weekly => update_date(day)
                .checked_add_days(Days::new(5))
                .unwrap_or(NaiveDate::MAX),
            Kind::Monthly => first_of_month(day)
                .checked_add_months(Months::new(1))
                .unwrap_or(NaiveDate::MAX),
            Kind::Constituents => update_date(day),
            Kind::Reports => day.succ_opt().unwrap_or(NaiveDate::MAX),
        }
    }

    /// The first day of the period `day` belongs to, whose days share one release day.
    fn period_start(self, day: NaiveDate) -> NaiveDate {
        match self {
            Kind::Daily | Kind::Factors | Kind::Minute | Kind::Reports => day,
            Kind::Weekly | Kind::Constituents => update_date(day),
            Kind::Monthly => first_of_month(day),
        }
    }

    /// How the banner names the release day (empty: the day itself).
    fn release_label(self) -> &'static str {
        match self {
            Kind::Daily | Kind::Factors | Kind::Minute => "",
            Kind::Weekly => "Sat ",
            Kind::Monthly => "1st ",
            Kind::Constituents => "Mon ",
            Kind::Reports => "next day ",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

fn first_of_month(day: NaiveDate) -> NaiveDate {
    day.with_day(1).unwrap_or(day)
}

fn hm(h: u32, m: u32) -> Option<NaiveTime> {
    NaiveTime::from_hms_opt(h, m, 0)
}

/// When each kind is published, and whether the history floors apply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Schedule {
    /// The hour of each kind, indexed by `Kind as usize` (the order of [`Kind::ALL`]).
    hours: [Option<NaiveTime>; 7],
    /// Whether minute bars start at [`MINUTE_FLOOR`] and ETF daily, weekly and monthly bars
    /// at [`ETF_FLOOR`].
    pub floors: bool,
}

impl Schedule {
    /// The real server's schedule (China time): daily bars 17:30, factors 18:00, minute bars
    /// 20:00 of the day; a week's bar on its Saturday 17:30; a month's bar on the 1st of the
    /// next month 17:30; a Monday's constituent lists from that Monday 15:30; a report dated
    /// `d` at 01:30 of `d + 1`; floors on.
    pub fn official() -> Schedule {
        Schedule {
            hours: [
                hm(17, 30),
                hm(18, 0),
                hm(20, 0),
                hm(17, 30),
                hm(17, 30),
                hm(15, 30),
                hm(1, 30),
            ],
            floors: true,
        }
    }

    /// Every kind from the start of its day (up to the clock's date), no floors.
    pub fn always() -> Schedule {
        Schedule {
            hours: [None; 7],
            floors: false,
        }
    }

    /// A preset by name: `official` or `always`.
    pub fn preset(name: &str) -> Option<Schedule> {
        match name {
            "official" => Some(Schedule::official()),
            "always" => Some(Schedule::always()),
            _ => None,
        }
    }

    /// The name of the preset this schedule equals, if any.
    pub fn preset_name(&self) -> Option<&'static str> {
        if *self == Schedule::official() {
            Some("official")
        } else if *self == Schedule::always() {
            Some("always")
        } else {
            None
        }
    }

    /// The China time of day `kind` is published at on its release day; `None`: a day's rows
    /// are there from the start of that day.
    pub fn hour(&self, kind: Kind) -> Option<NaiveTime> {
        self.hours[kind as usize]
    }

    /// Sets the hour of one kind.
    pub fn set_hour(&mut self, kind: Kind, hour: Option<NaiveTime>) {
        self.hours[kind as usize] = hour;
    }

    /// Whether the rows of `day` for `kind` are published at China time `now` (the floors
    /// aside: see [`Schedule::floor`]).
    pub fn is_published(&self, kind: Kind, day: NaiveDate, now: NaiveDateTime) -> bool {
        day <= now.date() && self.hour(kind).is_none_or(|t| kind.release_day(day).and_time(t) <= now)
    }

    /// The last day whose rows for `kind` are published at China time `now`: every earlier
    /// day is published too. At most `now`'s date; for weekly and monthly bars with an hour,
    /// the last day of the last period whose bar is out (capped at `now`'s date).
    pub fn last_published(&self, kind: Kind, now: NaiveDateTime) -> NaiveDate {
        let mut day = now.date();
        while !self.is_published(kind, day, now) {
            match kind.period_start(day).pred_opt() {
                Some(before) => day = before,
                None => break,
            }
        }
        day
    }

    /// The first day `kind` has rows for a security of `sec_type`, with the floors on: minute
    /// bars from [`MINUTE_FLOOR`], ETF daily, weekly and monthly bars from [`ETF_FLOOR`];
    /// `None`: no floor.
    pub fn floor(&self, kind: Kind, sec_type: SecType) -> Option<NaiveDate> {
        if !self.floors {
            return None;
        }
        match kind {
            Kind::Minute => Some(MINUTE_FLOOR),
            Kind::Daily | Kind::Weekly | Kind::Monthly if sec_type == SecType::Etf => Some(ETF_FLOOR),
            _ => None,
        }
    }
}

impl Default for Schedule {
    /// The official schedule.
    fn default() -> Self {
        Schedule::official()
    }
}

impl fmt::Display for Schedule {
    /// `official (daily 17:30, …, weekly Sat 17:30, …; floors on)`; a kind without an hour
    /// shows `at once`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (", self.preset_name().unwrap_or("custom"))?;
        for (i, kind) in Kind::ALL.into_iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            match self.hour(kind) {
                Some(t) => write!(f, "{kind} {}{}", kind.release_label(), t.format("%H:%M:%S"))?,
                None => write!(f, "{kind} at once")?,
            }
        }
        write!(f, "; floors {})", if self.floors { "on" } else { "off" })
    }
}

/// The publication a query is answered under: a schedule at one China time, and the first
/// day of all-market history (98/9A/9C only).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Publication {
    /// The China time the query is answered at.
    pub now: NaiveDateTime,
    /// The schedule in force.
    pub schedule: Schedule,
    /// The first day 98/9A/9C have rows for; `None`: every day. 95 and 15 do not look at it.
    pub all_market_start: Option<NaiveDate>,
}

impl Publication {
    /// Everything published: the `always` schedule at the end of time.
    pub fn everything() -> Publication {
        Publication {
            now: NaiveDateTime::MAX,
            schedule: Schedule::always(),
            all_market_start: None,
        }
    }

    /// Nothing published: the `always` schedule before any history.
    pub fn nothing() -> Publication {
        Publication {
            now: NaiveDateTime::MIN,
            schedule: Schedule::always(),
            all_market_start: None,
        }
    }

    /// Whether the rows of `day` for `kind` are published (the floors aside).
    pub fn is_published(&self, kind: Kind, day: NaiveDate) -> bool {
        self.schedule.is_published(kind, day, self.now)
    }

    /// The last day whose rows for `kind` are published.
    pub fn last_published(&self, kind: Kind) -> NaiveDate {
        self.schedule.last_published(kind, self.now)
    }

    /// The days `kind` has rows for, for a security of `sec_type`: from the floor (if any) to
    /// the last published day.
    pub fn days(&self, kind: Kind, sec_type: SecType) -> RangeInclusive<NaiveDate> {
        let first = self.schedule.floor(kind, sec_type).unwrap_or(NaiveDate::MIN);
        first..=self.last_published(kind)
    }

    /// Whether `day` is not before the first day of all-market history.
    pub fn in_all_market_history(&self, day: NaiveDate) -> bool {
        self.all_market_start.is_none_or(|s| day >= s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M").unwrap()
    }

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn last_published_is_the_end_of_the_published_prefix() {
        let o = Schedule::official();
        // Friday 2024-06-21.
        let cases = [
            (Kind::Daily, "2024-06-21T17:29", "2024-06-20"),
            (Kind::Daily, "2024-06-21T17:30", "2024-06-21"),
            (Kind::Factors, "2024-06-21T17:59", "2024-06-20"),
            (Kind::Minute, "2024-06-21T20:00", "2024-06-21"),
            (Kind::Weekly, "2024-06-21T23:00", "2024-06-16"),
            (Kind::Weekly, "2024-06-22T17:30", "2024-06-22"),
            (Kind::Weekly, "2024-06-23T08:00", "2024-06-23"),
            (Kind::Monthly, "2024-07-01T17:29", "2024-05-31"),
            (Kind::Monthly, "2024-07-01T17:30", "2024-06-30"),
            (Kind::Constituents, "2024-06-24T15:29", "2024-06-23"),
            (Kind::Constituents, "2024-06-24T15:30", "2024-06-24"),
            (Kind::Reports, "2024-06-22T01:29", "2024-06-20"),
            (Kind::Reports, "2024-06-22T01:30", "2024-06-21"),
            (Kind::Reports, "2024-06-21T23:59", "2024-06-20"),
        ];
        for (kind, now, last) in cases {
            let now = at(now);
            let l = o.last_published(kind, now);
            assert_eq!(l, day(last), "{kind} at {now}");
            assert!(o.is_published(kind, l, now));
            assert!(!o.is_published(kind, l.succ_opt().unwrap(), now), "{kind} at {now}");
        }
        let a = Schedule::always();
        for kind in Kind::ALL {
            assert_eq!(a.last_published(kind, at("2024-06-21T00:00")), day("2024-06-21"));
        }
    }

    #[test]
    fn floors_follow_the_kind_and_the_security_type() {
        let o = Schedule::official();
        assert_eq!(o.floor(Kind::Minute, SecType::Stock), Some(MINUTE_FLOOR));
        assert_eq!(o.floor(Kind::Minute, SecType::Etf), Some(MINUTE_FLOOR));
        assert_eq!(o.floor(Kind::Weekly, SecType::Etf), Some(ETF_FLOOR));
        assert_eq!(o.floor(Kind::Daily, SecType::Stock), None);
        assert_eq!(o.floor(Kind::Factors, SecType::Etf), None);
        assert_eq!(Schedule::always().floor(Kind::Minute, SecType::Stock), None);
    }

    #[test]
    fn presets_are_named_and_displayed() {
        assert_eq!(Schedule::default(), Schedule::official());
        assert_eq!(Schedule::preset("always").unwrap().preset_name(), Some("always"));
        let mut s = Schedule::official();
        s.set_hour(Kind::Minute, None);
        assert_eq!(s.preset_name(), None);
        assert_eq!(
            s.to_string(),
            "custom (daily 17:30:00, factors 18:00:00, minute at once, weekly Sat 17:30:00, \
             monthly 1st 17:30:00, constituents Mon 15:30:00, reports next day 01:30:00; floors on)"
        );
        assert!(Kind::ALL.into_iter().all(|k| Kind::from_name(k.name()) == Some(k)));
        assert!(Kind::ALL.into_iter().enumerate().all(|(i, k)| k as usize == i));
    }
}
