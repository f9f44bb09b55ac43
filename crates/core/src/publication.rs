//! When the server publishes each kind of data (PROTOCOL.md section 6, the official schedule in
//! China time) and how far back it has it: what a request made at a given server time can
//! have answered, so that nothing is marked covered before its kind exists.

use baostock::value::Frequency;
use chrono::{Datelike, Days, Months, NaiveDate, NaiveDateTime, NaiveTime};

use crate::period;

/// A kind of data the server publishes at an hour of its own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// 98, 9A and daily 95: the trading day at 17:30.
    Daily,
    /// 9C and the factor rows of 15: the day at 18:00.
    Factors,
    /// 5/15/30/60-minute 95: the day at 20:00.
    Minute,
    /// Weekly 95: a week's bar on its Saturday at 17:30.
    Weekly,
    /// Monthly 95: a month's bar on the 1st of the next month at 17:30.
    Monthly,
}

impl Kind {
    pub fn of(frequency: Frequency) -> Kind {
        match frequency {
            Frequency::Daily => Kind::Daily,
            Frequency::Weekly => Kind::Weekly,
            Frequency::Monthly => Kind::Monthly,
            _ => Kind::Minute,
        }
    }

    /// The China time of day this kind is published at.
    pub fn hour(self) -> NaiveTime {
        let (h, m) = match self {
            Kind::Daily | Kind::Weekly | Kind::Monthly => (17, 30),
            Kind::Factors => (18, 0),
            Kind::Minute => (20, 0),
        };
        NaiveTime::from_hms_opt(h, m, 0).unwrap_or(NaiveTime::MIN)
    }

    pub fn name(self) -> &'static str {
        match self {
            Kind::Daily => "daily",
            Kind::Factors => "factors",
            Kind::Minute => "minute",
            Kind::Weekly => "weekly",
            Kind::Monthly => "monthly",
        }
    }
}

/// The first day of minute bars on the server by its documentation ("about the last five
/// years"); the setting `baostock.minute_history_start` moves it.
pub const MINUTE_HISTORY_START: NaiveDate = match NaiveDate::from_ymd_opt(2020, 1, 3) {
    Some(d) => d,
    None => panic!("valid date"),
};

/// The first day of ETF bars (daily, weekly, monthly) on the server.
pub const ETF_HISTORY_START: NaiveDate = match NaiveDate::from_ymd_opt(2026, 1, 5) {
    Some(d) => d,
    None => panic!("valid date"),
};

/// The last day whose data of `kind` the server has published at China time `now`: for days
/// (daily, factors, minute) today once its hour has passed, else yesterday; for weeks the
/// Sunday ending the last week whose Saturday hour has passed; for months the last day of the
/// last month whose next 1st hour has passed.
pub fn published_through(kind: Kind, now: NaiveDateTime) -> NaiveDate {
    let (today, passed) = (now.date(), now.time() >= kind.hour());
    let yesterday = today.pred_opt().unwrap_or(today);
    match kind {
        Kind::Daily | Kind::Factors | Kind::Minute => {
            if passed {
                today
            } else {
                yesterday
            }
        }
        Kind::Weekly => {
            let saturday = period::period_start(Frequency::Weekly, today) + Days::new(5);
            let this_week_out = today > saturday || (today == saturday && passed);
            let sunday = period::period_end(Frequency::Weekly, today);
            sunday - Days::new(if this_week_out { 0 } else { 7 })
        }
        Kind::Monthly => {
            let first = today.with_day(1).unwrap_or(today);
            let last_month_out = today.day() > 1 || passed;
            let through = first.pred_opt().unwrap_or(first);
            if last_month_out {
                through
            } else {
                (first - Months::new(1)).pred_opt().unwrap_or(through)
            }
        }
    }
}

/// When the data of `kind` for `day` (a week's or month's: its period's) is published.
pub fn published_at(kind: Kind, day: NaiveDate) -> NaiveDateTime {
    let on = match kind {
        Kind::Daily | Kind::Factors | Kind::Minute => day,
        Kind::Weekly => period::period_start(Frequency::Weekly, day) + Days::new(5),
        Kind::Monthly => period::period_end(Frequency::Monthly, day) + Days::new(1),
    };
    on.and_time(kind.hour())
}

/// The first day the server has bars of a frequency for a security type (1 stock, 2 index,
/// 5 ETF, ...): minute bars from `minute_start`, ETF daily, weekly and monthly bars from
/// [`ETF_HISTORY_START`].
pub fn history_start(frequency: Frequency, sec_type: i16, minute_start: NaiveDate) -> Option<NaiveDate> {
    match Kind::of(frequency) {
        Kind::Minute => Some(minute_start),
        _ if sec_type == 5 => Some(ETF_HISTORY_START),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(y: i32, m: u32, d: u32, h: u32, min: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(y, m, d)
            .unwrap()
            .and_hms_opt(h, min, 0)
            .unwrap()
    }

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn a_day_is_published_in_stages() {
        // 2024-03-06 is a Wednesday.
        let cases = [
            (16, 0, [day(2024, 3, 5); 3]),
            (17, 45, [day(2024, 3, 6), day(2024, 3, 5), day(2024, 3, 5)]),
            (18, 30, [day(2024, 3, 6), day(2024, 3, 6), day(2024, 3, 5)]),
            (21, 0, [day(2024, 3, 6); 3]),
        ];
        for (h, m, [daily, factors, minute]) in cases {
            let now = at(2024, 3, 6, h, m);
            assert_eq!(published_through(Kind::Daily, now), daily, "{now}");
            assert_eq!(published_through(Kind::Factors, now), factors, "{now}");
            assert_eq!(published_through(Kind::Minute, now), minute, "{now}");
        }
    }

    #[test]
    fn a_week_is_published_on_its_saturday_and_a_month_on_the_next_first() {
        // The week of Monday 2024-03-04 ends Sunday 2024-03-10; its Saturday is 03-09.
        assert_eq!(published_through(Kind::Weekly, at(2024, 3, 8, 21, 0)), day(2024, 3, 3));
        assert_eq!(published_through(Kind::Weekly, at(2024, 3, 9, 17, 0)), day(2024, 3, 3));
        assert_eq!(
            published_through(Kind::Weekly, at(2024, 3, 9, 18, 30)),
            day(2024, 3, 10)
        );
        assert_eq!(published_through(Kind::Weekly, at(2024, 3, 10, 8, 0)), day(2024, 3, 10));
        assert_eq!(
            published_through(Kind::Monthly, at(2024, 3, 31, 21, 0)),
            day(2024, 2, 29)
        );
        assert_eq!(published_through(Kind::Monthly, at(2024, 4, 1, 8, 0)), day(2024, 2, 29));
        assert_eq!(
            published_through(Kind::Monthly, at(2024, 4, 1, 18, 30)),
            day(2024, 3, 31)
        );
        assert_eq!(published_through(Kind::Monthly, at(2024, 4, 2, 0, 0)), day(2024, 3, 31));
        assert_eq!(published_at(Kind::Weekly, day(2024, 3, 6)), at(2024, 3, 9, 17, 30));
        assert_eq!(published_at(Kind::Monthly, day(2024, 3, 6)), at(2024, 4, 1, 17, 30));
        assert_eq!(published_at(Kind::Factors, day(2024, 3, 6)), at(2024, 3, 6, 18, 0));
    }

    #[test]
    fn floors_by_frequency_and_type() {
        let m = MINUTE_HISTORY_START;
        assert_eq!(history_start(Frequency::Daily, 1, m), None);
        assert_eq!(history_start(Frequency::Min5, 1, m), Some(m));
        assert_eq!(history_start(Frequency::Weekly, 5, m), Some(ETF_HISTORY_START));
        assert_eq!(history_start(Frequency::Min60, 5, m), Some(m));
    }
}
