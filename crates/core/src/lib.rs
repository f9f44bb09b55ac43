//! pg_baostock's logic that needs no Postgres, tested with plain `cargo test`: it links no
//! pgrx and does no I/O (the clock reads the system time, nothing more).
//!
//! * [`unit`](mod@unit) and [`states`]: the units of work and the states of jobs and units
//! * [`period`] and [`publication`]: weeks and months, and when the server publishes what
//! * [`plan`]: the planning arithmetic (how units are cut, what they cost)
//! * [`reports`]: the periods a fundamentals job asks for, their queries and disclosure deadlines
//! * [`membership`]: the list dates a membership job asks for, and where it bisects
//! * [`copy`] and [`bars`]: COPY's text and binary formats, the row digests, and what each kind
//!   of bar gives them
//! * [`clock`]: now, and days as Unix and Postgres count them
//! * here: the first trading day, the checks of a requested day, the counts a write makes
//!
//! The extension's store, engine and syncs use it; errors convert into the extension's
//! `SyncError` (src/error.rs), which gives them their SQLSTATEs.

use chrono::NaiveDate;

pub mod bars;
pub mod clock;
pub mod copy;
pub mod error;
pub mod membership;
pub mod period;
pub mod plan;
pub mod publication;
pub mod reports;
pub mod states;
pub mod unit;

pub use error::{CoreError, CoreResult};
pub use unit::{Status, Unit};

/// The first trading day of the Shanghai exchange; the server has nothing earlier.
pub const FIRST_TRADING_DAY: NaiveDate = match NaiveDate::from_ymd_opt(1990, 12, 19) {
    Some(d) => d,
    None => panic!("valid date"),
};

/// Refuses a day before the first trading day (`what` names it in the message).
pub fn check_not_before_first(what: &str, day: NaiveDate) -> CoreResult<NaiveDate> {
    if day < FIRST_TRADING_DAY {
        return Err(CoreError::Invalid(format!(
            "{what} {day} is before the first trading day {FIRST_TRADING_DAY}"
        )));
    }
    Ok(day)
}

/// Checks a requested day before anything is asked of the server: not before the first
/// trading day, not after `today` (China).
pub fn check_day(what: &str, day: NaiveDate, today: NaiveDate) -> CoreResult<NaiveDate> {
    check_not_before_first(what, day)?;
    if day > today {
        return Err(CoreError::Invalid(format!(
            "{what} {day} is in the future (today in China is {today})"
        )));
    }
    Ok(day)
}

/// What a write did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub inserted: i64,
    pub updated: i64,
    pub unchanged: i64,
}

impl Counts {
    /// Rows received (after removing duplicates).
    pub fn total(&self) -> i64 {
        self.inserted + self.updated + self.unchanged
    }
}

impl std::ops::AddAssign for Counts {
    fn add_assign(&mut self, o: Counts) {
        self.inserted += o.inserted;
        self.updated += o.updated;
        self.unchanged += o.unchanged;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_requested_day_is_refused_before_the_first_trading_day_and_after_today() {
        let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day).unwrap();
        let today = d(2024, 3, 6);
        assert_eq!(check_day("day", FIRST_TRADING_DAY, today), Ok(FIRST_TRADING_DAY));
        assert_eq!(check_day("day", today, today), Ok(today));
        assert_eq!(
            check_day("day", d(1990, 12, 18), today).unwrap_err().to_string(),
            "day 1990-12-18 is before the first trading day 1990-12-19"
        );
        assert_eq!(
            check_day("end_date", d(2024, 3, 7), today),
            Err(CoreError::Invalid(
                "end_date 2024-03-07 is in the future (today in China is 2024-03-06)".into()
            ))
        );
    }
}
