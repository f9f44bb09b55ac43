//! Weeks (ISO, Monday to Sunday) and months: where the period holding a day starts and ends.

use baostock::value::Frequency;
use chrono::{Datelike, NaiveDate};

/// The first day of the week (ISO, Monday) or month holding `day`.
pub fn period_start(frequency: Frequency, day: NaiveDate) -> NaiveDate {
    match frequency {
        Frequency::Weekly => day - chrono::Days::new(u64::from(day.weekday().num_days_from_monday())),
        _ => day.with_day(1).unwrap_or(day),
    }
}

/// The last day of the week (Sunday) or month holding `day`.
pub fn period_end(frequency: Frequency, day: NaiveDate) -> NaiveDate {
    let start = period_start(frequency, day);
    let next = match frequency {
        Frequency::Weekly => start + chrono::Days::new(7),
        _ => start + chrono::Months::new(1),
    };
    next.pred_opt().unwrap_or(day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_start_on_monday_and_on_the_first() {
        let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day).unwrap();
        // 2024-01-05 is a Friday; 2024-12-31 a Tuesday of ISO week 1 of 2025.
        assert_eq!(period_start(Frequency::Weekly, d(2024, 1, 5)), d(2024, 1, 1));
        assert_eq!(period_start(Frequency::Weekly, d(2024, 1, 1)), d(2024, 1, 1));
        assert_eq!(period_start(Frequency::Weekly, d(2024, 12, 31)), d(2024, 12, 30));
        assert_eq!(period_start(Frequency::Monthly, d(2024, 2, 29)), d(2024, 2, 1));
        assert_eq!(period_end(Frequency::Weekly, d(2024, 12, 31)), d(2025, 1, 5));
        assert_eq!(period_end(Frequency::Monthly, d(2024, 2, 10)), d(2024, 2, 29));
        assert_eq!(period_end(Frequency::Monthly, d(2024, 12, 31)), d(2024, 12, 31));
    }
}
