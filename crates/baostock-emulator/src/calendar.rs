//! The trading calendar: weekends and an approximation of the exchanges' Chinese holidays.
//!
//! Closed days: Saturdays, Sundays, 1 January (and the Monday after when it is a weekend
//! day), the Spring Festival week (New Year's Eve and
//! the six days after New Year's Day, from a table of lunar new year dates for 1990-2040, an
//! approximation outside it), Qingming (4 April in years ≡ 0, 1 mod 4, otherwise 5 April),
//! Labour Day (1-7 May until 2007, 1-3 May since), Dragon Boat and Mid-Autumn festivals
//! (since 2008; lunar new year + 122 and + 221 days), National Day week (1-7 October).
//! Make-up working weekends are not modelled (weekends never trade).

use chrono::{Datelike, NaiveDate, Weekday};

/// Gregorian dates (month, day) of the lunar new year, 1990..=2040.
#[rustfmt::skip]
const LUNAR_NEW_YEAR: [(u32, u32); 51] = [
    (1, 27), (2, 15), (2, 4), (1, 23), (2, 10), (1, 31), (2, 19), (2, 7), (1, 28), (2, 16), // 1990-1999
    (2, 5), (1, 24), (2, 12), (2, 1), (1, 22), (2, 9), (1, 29), (2, 18), (2, 7), (1, 26), // 2000-2009
    (2, 14), (2, 3), (1, 23), (2, 10), (1, 31), (2, 19), (2, 8), (1, 28), (2, 16), (2, 5), // 2010-2019
    (1, 25), (2, 12), (2, 1), (1, 22), (2, 10), (1, 29), (2, 17), (2, 6), (1, 26), (2, 13), // 2020-2029
    (2, 3), (1, 23), (2, 11), (1, 31), (2, 19), (2, 8), (1, 28), (2, 15), (2, 4), (1, 24), // 2030-2039
    (2, 12), // 2040
];

/// The lunar new year's day of a year (exact for 1990-2040, approximate outside).
pub fn lunar_new_year(year: i32) -> NaiveDate {
    let (m, d) = if (1990..=2040).contains(&year) {
        LUNAR_NEW_YEAR[(year - 1990) as usize]
    } else {
        let off = (year.rem_euclid(19) * 11) % 30;
        if off < 10 {
            (2, 1 + off as u32)
        } else {
            (1, 11 + off as u32)
        }
    };
    NaiveDate::from_ymd_opt(year, m, d.min(28)).unwrap_or(NaiveDate::MIN)
}

/// Whether the exchanges are closed on a weekday for a holiday.
pub fn is_holiday(d: NaiveDate) -> bool {
    let (y, m, day) = (d.year(), d.month(), d.day());
    if m == 1 && (day == 1 || (day <= 3 && d.weekday() == Weekday::Mon)) {
        // New Year's Day, and the Monday after it when it falls on a weekend.
        return true;
    }
    let cny = lunar_new_year(y);
    let from_cny = (d - cny).num_days();
    if (-1..=5).contains(&from_cny) {
        return true;
    }
    if m == 4 && day == if y.rem_euclid(4) <= 1 { 4 } else { 5 } {
        return true;
    }
    if m == 5 && (1..=if y < 2008 { 7 } else { 3 }).contains(&day) {
        return true;
    }
    if y >= 2008 && (from_cny == 122 || from_cny == 221) {
        return true;
    }
    m == 10 && (1..=7).contains(&day)
}

/// Whether `d` is a trading day.
pub fn is_trading_day(d: NaiveDate) -> bool {
    !matches!(d.weekday(), Weekday::Sat | Weekday::Sun) && !is_holiday(d)
}

/// The trading days of the market's history, with fast lookups.
#[derive(Clone, Debug)]
pub struct Calendar {
    start: NaiveDate,
    end: NaiveDate,
    days: Vec<NaiveDate>,
    /// `YYYY-MM-DD` of each trading day.
    labels: Vec<String>,
    /// For each calendar day from `start`: the number of trading days strictly before it.
    before: Vec<u32>,
}

impl Calendar {
    /// The calendar from `start` to `end` inclusive.
    pub fn new(start: NaiveDate, end: NaiveDate) -> Calendar {
        let mut days = Vec::new();
        let mut before = Vec::new();
        let mut d = start;
        while d <= end {
            before.push(days.len() as u32);
            if is_trading_day(d) {
                days.push(d);
            }
            match d.succ_opt() {
                Some(n) => d = n,
                None => break,
            }
        }
        let labels = days.iter().map(|d| d.format("%Y-%m-%d").to_string()).collect();
        Calendar {
            start,
            end,
            days,
            labels,
            before,
        }
    }

    /// First calendar day covered.
    pub fn start(&self) -> NaiveDate {
        self.start
    }

    /// Last calendar day covered.
    pub fn end(&self) -> NaiveDate {
        self.end
    }

    /// Every trading day, ascending.
    pub fn trading_days(&self) -> &[NaiveDate] {
        &self.days
    }

    /// The trading day with this index.
    pub fn day(&self, i: usize) -> NaiveDate {
        self.days[i]
    }

    /// The trading day with this index as `YYYY-MM-DD`.
    pub fn label(&self, i: usize) -> &str {
        &self.labels[i]
    }

    /// Number of trading days.
    pub fn len(&self) -> usize {
        self.days.len()
    }

    /// Whether there are no trading days.
    pub fn is_empty(&self) -> bool {
        self.days.is_empty()
    }

    /// Number of trading days strictly before `d` (clamped to the covered range).
    pub fn count_before(&self, d: NaiveDate) -> usize {
        if d <= self.start {
            return 0;
        }
        if d > self.end {
            return self.days.len();
        }
        self.before[(d - self.start).num_days() as usize] as usize
    }

    /// The index of `d` if it is a covered trading day.
    pub fn index_of(&self, d: NaiveDate) -> Option<usize> {
        if d < self.start || d > self.end || !is_trading_day(d) {
            return None;
        }
        Some(self.count_before(d))
    }

    /// Indices of the trading days in `from..=to`.
    pub fn range(&self, from: NaiveDate, to: NaiveDate) -> std::ops::Range<usize> {
        let a = self.count_before(from);
        let b = match to.succ_opt() {
            Some(n) => self.count_before(n),
            None => self.days.len(),
        };
        a..b.max(a)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn matches_the_captured_calendar() {
        // query_trade_dates capture, 2024-01-01..10.
        let expect = [0, 1, 1, 1, 1, 0, 0, 1, 1, 1];
        for (i, e) in expect.iter().enumerate() {
            assert_eq!(is_trading_day(d(2024, 1, 1 + i as u32)), *e == 1, "day {}", i + 1);
        }
        assert!(!is_trading_day(d(2024, 2, 12)), "spring festival");
        assert!(!is_trading_day(d(2024, 10, 3)), "national day");
    }

    #[test]
    fn lookups_agree() {
        let c = Calendar::new(d(2000, 1, 1), d(2001, 12, 31));
        for (i, day) in c.trading_days().iter().enumerate() {
            assert_eq!(c.index_of(*day), Some(i));
            assert_eq!(c.count_before(*day), i);
        }
        assert_eq!(c.range(d(2000, 1, 1), d(2001, 12, 31)), 0..c.len());
        assert_eq!(c.range(d(2000, 1, 8), d(2000, 1, 9)).len(), 0);
    }
}
