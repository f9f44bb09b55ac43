//! Time as pg_baostock counts it: now in Unix seconds and milliseconds, days since 1970 and
//! since 2000 (Postgres's epoch). Waits on the process latch, which a cancel, a termination or
//! the worker's stop ends, are the extension's (src/latch.rs).

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Utc};

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

/// Postgres's epoch (`POSTGRES_EPOCH_JDATE` in its sources).
pub const POSTGRES_EPOCH: NaiveDate = match NaiveDate::from_ymd_opt(2000, 1, 1) {
    Some(d) => d,
    None => panic!("valid date"),
};

/// Days from the Unix epoch to Postgres's: `POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE` in
/// Postgres's sources, which the extension checks against pgrx's `pg_sys` when it compiles
/// (src/store/mod.rs).
pub const POSTGRES_EPOCH_UNIX_DAYS: i64 = 10_957;

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

    #[test]
    fn postgres_epoch_is_its_day_count_after_the_unix_epoch() {
        assert_eq!(epoch_day(POSTGRES_EPOCH), POSTGRES_EPOCH_UNIX_DAYS);
        assert_eq!(day_of(POSTGRES_EPOCH_UNIX_DAYS), POSTGRES_EPOCH);
        assert_eq!(pg_days(day_of(0)), -POSTGRES_EPOCH_UNIX_DAYS as i32);
    }
}
