//! The SQL functions: thin wrappers that check and convert arguments, call `sync`, and raise
//! errors with their SQLSTATE (`sync` the syncs, `jobs` backfill jobs, `status` the worker's
//! state, `bench` the store benchmark). It may use every layer below it: scripts/check-layers.sh.

use chrono::NaiveDate;
use pg_baostock_core::clock;
use pgrx::datum::Date;

use crate::error::{SyncError, SyncResult};
use crate::net;

#[cfg(feature = "bench")]
mod bench;
mod jobs;
mod status;
mod sync;

fn to_naive(d: Option<Date>) -> SyncResult<Option<NaiveDate>> {
    match d {
        None => Ok(None),
        Some(d) if !d.is_finite() => Err(SyncError::invalid("infinite dates are not trading days")),
        Some(d) => clock::from_pg_days(d.to_pg_epoch_days())
            .map(Some)
            .ok_or_else(|| SyncError::invalid(format!("date {d} is out of range"))),
    }
}

/// Raises `e`; a cancel is raised as Postgres' own query-canceled error.
fn raise(e: SyncError) -> ! {
    if net::is_interrupt(&e) {
        net::check_for_interrupts();
    }
    e.raise()
}

/// What every function that syncs or queues checks first: the database's SQL is this library's.
fn current() -> SyncResult<()> {
    crate::store::require_current_schema()
}

/// `v`, or a 22004 error naming the argument `name`.
fn not_null<T>(v: Option<T>, name: &str) -> SyncResult<T> {
    v.ok_or_else(|| SyncError::InvalidArgument {
        message: format!("{name} must not be NULL"),
        hint: None,
        null: true,
    })
}
