//! What has no I/O: the first trading day and the checks of a requested day, the counts a
//! write makes, the units of work (`unit`), weeks and months (`period`), the server's
//! publication schedule (`publication`), the states of jobs and units (`states`), and the clock (`clock`). It may use `error` alone: scripts/check-layers.sh.

use chrono::NaiveDate;

use crate::error::{SyncError, SyncResult};

pub mod clock;
pub mod period;
pub mod publication;
pub mod states;
pub mod unit;

pub use unit::{Status, Unit};

/// The first trading day of the Shanghai exchange; the server has nothing earlier.
pub const FIRST_TRADING_DAY: NaiveDate = match NaiveDate::from_ymd_opt(1990, 12, 19) {
    Some(d) => d,
    None => panic!("valid date"),
};

/// Refuses a day before the first trading day (`what` names it in the message).
pub fn check_not_before_first(what: &str, day: NaiveDate) -> SyncResult<NaiveDate> {
    if day < FIRST_TRADING_DAY {
        return Err(SyncError::invalid(format!(
            "{what} {day} is before the first trading day {FIRST_TRADING_DAY}"
        )));
    }
    Ok(day)
}

/// Checks a requested day before anything is asked of the server: not before the first
/// trading day, not after `today` (China).
pub fn check_day(what: &str, day: NaiveDate, today: NaiveDate) -> SyncResult<NaiveDate> {
    check_not_before_first(what, day)?;
    if day > today {
        return Err(SyncError::invalid(format!(
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
