//! Time as pg_baostock counts it: now in Unix seconds and milliseconds, days since 1970 and
//! since 2000 (Postgres's epoch), and waits on the process latch that a cancel, a termination
//! or the worker's stop ends.

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use pgrx::pg_sys;

use crate::error::{SyncError, SyncResult};

/// Seconds since the Unix epoch, for run timestamps.
pub fn now_secs() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// Unix milliseconds now, by our clock.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// A Unix-milliseconds time for messages.
pub fn utc_text(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .map_or_else(|| ms.to_string(), |t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
}

/// The China time (UTC+8) of a Unix-milliseconds time.
pub fn china_time(ms: i64) -> NaiveDateTime {
    DateTime::<Utc>::from_timestamp_millis(ms + 8 * 3_600_000).map_or(NaiveDateTime::MIN, |t| t.naive_utc())
}

/// Days from 1970-01-01 to a date (the shared memory keeps days as numbers).
pub fn epoch_day(d: NaiveDate) -> i64 {
    (d - NaiveDate::default()).num_days()
}

/// The date `n` days after 1970-01-01.
pub fn day_of(n: i64) -> NaiveDate {
    NaiveDate::default() + chrono::Duration::days(n)
}

/// Postgres's epoch.
const POSTGRES_EPOCH: NaiveDate = match NaiveDate::from_ymd_opt(2000, 1, 1) {
    Some(d) => d,
    None => panic!("valid date"),
};

/// A date as Postgres holds it: days from 2000-01-01.
pub fn pg_days(d: NaiveDate) -> i32 {
    (d - POSTGRES_EPOCH).num_days() as i32
}

/// The day `days` after 2000-01-01 (a Postgres `date` as it holds it); `None` beyond chrono's
/// range (Postgres' dates reach the year 5874897, chrono's 262143).
pub fn from_pg_days(days: i32) -> Option<NaiveDate> {
    POSTGRES_EPOCH.checked_add_signed(chrono::Duration::days(i64::from(days)))
}

/// A timestamp as Postgres holds it, to the millisecond as its text form has it: microseconds
/// from 2000-01-01, the fraction of a millisecond dropped (downwards, before 2000 too).
pub fn pg_micros(t: NaiveDateTime) -> i64 {
    let epoch = POSTGRES_EPOCH.and_time(NaiveTime::MIN).and_utc().timestamp_millis();
    (t.and_utc().timestamp_millis() - epoch) * 1000
}

/// Whether a cancel, a termination or a shutdown is pending. Backends must still raise it
/// (CHECK_FOR_INTERRUPTS); the worker stops.
pub fn interrupt_pending() -> bool {
    // SAFETY: plain reads of flags the signal handlers set.
    unsafe { pg_sys::QueryCancelPending != 0 || pg_sys::ProcDiePending != 0 || pg_sys::ShutdownRequestPending != 0 }
}

/// Sleeps `ms` on the process latch; a pending cancel, termination or stop of the worker ends
/// it with an error instead.
pub fn pause(ms: i64) -> SyncResult<()> {
    // SAFETY: waiting on our own latch, as any backend does.
    unsafe {
        pg_sys::WaitLatch(
            pg_sys::MyLatch,
            (pg_sys::WL_LATCH_SET | pg_sys::WL_TIMEOUT | pg_sys::WL_EXIT_ON_PM_DEATH) as i32,
            ms,
            pg_sys::PG_WAIT_EXTENSION,
        );
        pg_sys::ResetLatch(pg_sys::MyLatch);
    }
    if interrupt_pending() {
        return Err(SyncError::Interrupted);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postgres_days_convert_both_ways_and_far_dates_are_none() {
        for d in [
            POSTGRES_EPOCH,
            NaiveDate::from_ymd_opt(1990, 12, 19).unwrap(),
            NaiveDate::MAX,
            NaiveDate::MIN,
        ] {
            assert_eq!(from_pg_days(pg_days(d)), Some(d));
        }
        // Postgres' last date (5874897-12-31) and its first (4714-11-24 BC) are beyond chrono.
        assert_eq!(from_pg_days(i32::MAX), None);
        assert_eq!(from_pg_days(i32::MIN), None);
    }
}
