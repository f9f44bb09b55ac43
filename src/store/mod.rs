//! The only module that talks SPI. `writer` puts rows in (COPY and digests for the bars,
//! batch upserts for the rest), `market` owns the market tables and their checkpoints, `bars`
//! the weekly, monthly and minute bars, `reference` the index lists and industries, `reports`
//! the report tables, `jobs` the job queue, `runs` the run history, `server` the server state
//! and alerts, `session` the transaction and session it all runs in. It may use `error`, `latch`, `shmem`, `guc` and the
//! core crate; nothing above it (`engine`, `sync`, `worker`, `api`): scripts/check-layers.sh.

use chrono::NaiveDate;
use pg_baostock_core::clock;
use pgrx::datum::{Date, DatumWithOid};
use pgrx::{pg_sys, Spi};

use crate::error::{SyncError, SyncResult};

pub mod bars;
mod copy;
pub mod jobs;
mod market;
#[cfg(any(test, feature = "pg_test"))]
#[path = "../../pgrx-tests/store.rs"]
mod pg_tests;
pub mod reference;
pub mod reports;
mod runs;
pub mod server;
mod session;
mod writer;

pub use market::*;
pub use runs::*;
pub use session::*;
pub use writer::write_rows;

// The core counts Postgres' days (and COPY's dates and times) from Postgres's epoch as days
// after the Unix epoch: the constant it writes down must be Postgres's own.
const _: () =
    assert!(clock::POSTGRES_EPOCH_UNIX_DAYS == (pg_sys::POSTGRES_EPOCH_JDATE - pg_sys::UNIX_EPOCH_JDATE) as i64);

pub fn spi_err(e: pgrx::spi::SpiError) -> SyncError {
    SyncError::Store(format!("pg_baostock store: {e}"))
}

/// A day as Postgres' `date`: what every date parameter of the store's queries is (typed, so
/// neither DateStyle nor a text cast stands between the two).
pub fn pg_date(d: NaiveDate) -> Date {
    Date::saturating_from_raw(clock::pg_days(d))
}

/// A `date` the store read; an infinite one (no day of the market) is an error.
pub fn from_pg_date(d: Date) -> SyncResult<NaiveDate> {
    if !d.is_finite() {
        return Err(SyncError::Store(format!(
            "pg_baostock store: the date {d} is not a day"
        )));
    }
    clock::from_pg_days(d.to_pg_epoch_days()).ok_or_else(|| {
        SyncError::Store(format!(
            "pg_baostock store: the date {d} is beyond the market's calendar"
        ))
    })
}

/// The first column of a query's rows, as text (rows where it is NULL left out).
pub fn strings(sql: &str, args: &[DatumWithOid]) -> SyncResult<Vec<String>> {
    first_column(sql, args)
}

/// The first column of a query's rows (rows where it is NULL left out).
fn first_column<T: pgrx::datum::FromDatum + pgrx::datum::IntoDatum>(
    sql: &str,
    args: &[DatumWithOid],
) -> SyncResult<Vec<T>> {
    Spi::connect(|c| {
        let mut out = Vec::new();
        for row in c.select(sql, None, args)? {
            if let Some(v) = row.get::<T>(1)? {
                out.push(v);
            }
        }
        Ok::<_, pgrx::spi::SpiError>(out)
    })
    .map_err(spi_err)
}

/// A `date` of a NOT NULL column the store read (NULL is an error, as an infinite date is).
pub fn stored_day(d: Option<Date>) -> SyncResult<NaiveDate> {
    d.map_or_else(
        || Err(SyncError::Store("pg_baostock store: NULL where a day is stored".into())),
        from_pg_date,
    )
}

/// The dates of a query's first column, in order (rows where it is NULL left out).
pub fn dates(sql: &str, args: &[DatumWithOid]) -> SyncResult<Vec<NaiveDate>> {
    first_column::<Date>(sql, args)?.into_iter().map(from_pg_date).collect()
}

/// The date a query of one value returns (`None` for no row or NULL).
fn date_query(sql: &str, args: &[DatumWithOid]) -> SyncResult<Option<NaiveDate>> {
    Spi::get_one_with_args::<Date>(sql, args)
        .map_err(spi_err)?
        .map(from_pg_date)
        .transpose()
}

/// Runs a statement that returns nothing (benchmark set-up).
#[cfg(feature = "bench")]
pub fn run(sql: &str) -> SyncResult<()> {
    Spi::run(sql).map_err(spi_err)
}
