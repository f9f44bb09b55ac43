//! What a membership job asks for: an index's list (61, 63, 65) on the first Monday of every
//! month from its first list on, then, where two stored lists more than a week apart differ,
//! the list of a Monday halfway between, until every change lies between two lists a week
//! apart (the server dates its lists by the Monday of the week asked for). A month's list and
//! a few bisections a change: about 20 requests an index a year.

use baostock::StockIndex;
use chrono::{Datelike, Days, NaiveDate};

/// The day each index published its first list (CSI 300 2005-04-08, SSE 50 2004-01-02, CSI 500
/// 2007-01-15): the server has no list before it.
pub fn launch(index: StockIndex) -> NaiveDate {
    let (y, m, d) = match index {
        StockIndex::Hs300 => (2005, 4, 8),
        StockIndex::Sz50 => (2004, 1, 2),
        StockIndex::Zz500 => (2007, 1, 15),
    };
    NaiveDate::from_ymd_opt(y, m, d).unwrap_or(NaiveDate::MIN)
}

/// The Monday of a day's week: the date the server gives that week's list.
pub fn monday(day: NaiveDate) -> NaiveDate {
    day - Days::new(u64::from(day.weekday().num_days_from_monday()))
}

/// The list dates a job asks for first, from `start` (not before the launch) to `end`: the
/// week of the start, the first Monday of each month after it, and the week of the end.
pub fn list_dates(index: StockIndex, start: NaiveDate, end: NaiveDate) -> Vec<NaiveDate> {
    let first = monday(start.max(launch(index)));
    let last = monday(end);
    let mut out = Vec::new();
    if first > last {
        return out;
    }
    out.push(first);
    let mut month = first.with_day(1).unwrap_or(first);
    loop {
        month = match month.checked_add_months(chrono::Months::new(1)) {
            Some(m) => m,
            None => break,
        };
        // The first Monday of the month.
        let m = month + Days::new(u64::from((7 - month.weekday().num_days_from_monday()) % 7));
        if m >= last {
            break;
        }
        out.push(m);
    }
    if out.last() != Some(&last) {
        out.push(last);
    }
    out
}

/// A Monday halfway between two list dates more than a week apart (`None` when a week or
/// less apart: the change is found).
pub fn midpoint(a: NaiveDate, b: NaiveDate) -> Option<NaiveDate> {
    let weeks = (b - a).num_days() / 7;
    (weeks >= 2).then(|| monday(a + Days::new(7 * (weeks as u64 / 2))))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn a_year_is_asked_a_monday_a_month_from_the_launch() {
        let dates = list_dates(StockIndex::Hs300, d(2000, 1, 1), d(2005, 12, 15));
        // The launch's week (Friday 2005-04-08: Monday 04-04), then first Mondays, then the
        // end's week.
        assert_eq!(dates[0], d(2005, 4, 4));
        assert_eq!(dates[1], d(2005, 5, 2));
        assert_eq!(dates[dates.len() - 1], d(2005, 12, 12));
        assert_eq!(dates.len(), 10);
        assert!(dates.iter().all(|x| x.weekday() == chrono::Weekday::Mon));
        assert!(dates.windows(2).all(|w| w[0] < w[1]));
        assert!(list_dates(StockIndex::Zz500, d(2000, 1, 1), d(2006, 12, 31)).is_empty());
    }

    #[test]
    fn bisection_halves_the_weeks_until_one_is_left() {
        // Lists of 06-03 and 07-01 differ: the change took effect in the week of 06-17.
        let changed = d(2024, 6, 17);
        let (mut a, mut b) = (d(2024, 6, 3), d(2024, 7, 1));
        let mut steps = 0;
        while let Some(m) = midpoint(a, b) {
            assert!(a < m && m < b && m.weekday() == chrono::Weekday::Mon);
            steps += 1;
            if m < changed {
                a = m;
            } else {
                b = m;
            }
        }
        assert_eq!((a, b), (d(2024, 6, 10), changed));
        assert_eq!(steps, 2);
        assert_eq!(midpoint(d(2024, 6, 3), d(2024, 6, 10)), None);
    }
}
