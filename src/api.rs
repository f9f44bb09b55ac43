//! The SQL functions: thin wrappers that convert arguments, call `sync`, and raise errors
//! with their SQLSTATE.

// pgrx reads the result columns from each signature, so the row tuple is spelled out there
// rather than hidden behind a type alias.
#![allow(clippy::type_complexity)]

use chrono::{Datelike, NaiveDate};
use pgrx::datum::Date;
use pgrx::prelude::*;

use crate::error::{SyncError, SyncResult};
use crate::jobs::{self, Args};
use crate::net;
use crate::sync::{DayArg, Outcome};

fn to_naive(d: Option<Date>) -> SyncResult<Option<NaiveDate>> {
    match d {
        None => Ok(None),
        Some(d) if !d.is_finite() => Err(SyncError::invalid("infinite dates are not trading days")),
        Some(d) => NaiveDate::from_ymd_opt(d.year(), u32::from(d.month()), u32::from(d.day()))
            .map(Some)
            .ok_or_else(|| SyncError::invalid(format!("date {d} is out of range"))),
    }
}

/// `sync_date`'s day: NULL is an error, `infinity` (the default) the latest trading day.
fn day_arg(d: Option<Date>) -> SyncResult<DayArg> {
    match d {
        None => Err(SyncError::InvalidArgument {
            message: "day must not be NULL".into(),
            hint: Some("Omit the argument to sync the latest trading day.".into()),
            null: true,
        }),
        Some(d) if d.is_infinity() => Ok(DayArg::Latest),
        Some(d) => Ok(DayArg::Given(to_naive(Some(d))?.unwrap_or_default())),
    }
}

fn to_pg(d: NaiveDate) -> Option<Date> {
    Date::new(d.year(), d.month() as u8, d.day() as u8).ok()
}

/// Raises `e`; a cancel is raised as Postgres' own query-canceled error.
fn raise(e: SyncError) -> ! {
    if net::is_interrupt(&e) {
        net::check_for_interrupts();
    }
    e.raise()
}

fn summary(
    r: SyncResult<Vec<Outcome>>,
) -> TableIterator<
    'static,
    (
        name!(day, Option<Date>),
        name!(status, String),
        name!(rows_inserted, i64),
        name!(rows_updated, i64),
        name!(rows_unchanged, i64),
        name!(requests, i32),
        name!(seconds, f64),
    ),
> {
    let rows = r.unwrap_or_else(|e| raise(e));
    TableIterator::new(rows.into_iter().map(|o| {
        (
            o.day.and_then(to_pg),
            o.status.to_string(),
            o.counts.inserted,
            o.counts.updated,
            o.counts.unchanged,
            i32::try_from(o.traffic.requests).unwrap_or(i32::MAX),
            o.seconds,
        )
    }))
}

/// What every function that syncs or queues checks first: the database's SQL is this library's.
fn current() -> SyncResult<()> {
    crate::store::require_current_schema()
}

/// `v`, or a 22004 error naming the argument `name`.
pub(crate) fn not_null<T>(v: Option<T>, name: &str) -> SyncResult<T> {
    v.ok_or_else(|| SyncError::InvalidArgument {
        message: format!("{name} must not be NULL"),
        hint: None,
        null: true,
    })
}

/// `backfill()`'s and `plan()`'s arguments, checked for NULLs.
fn job_args(
    start_date: Option<Date>,
    end_date: Option<Date>,
    codes: Option<Vec<Option<String>>>,
    frequency: Option<String>,
    force: Option<bool>,
    factors: Option<bool>,
) -> SyncResult<Args> {
    let start = to_naive(Some(not_null(start_date, "start_date")?))?.unwrap_or_default();
    let codes = match codes {
        None => None,
        Some(v) => Some(
            v.into_iter()
                .map(|c| not_null(c, "an element of codes"))
                .collect::<SyncResult<Vec<String>>>()?,
        ),
    };
    Ok(Args {
        start,
        end: to_naive(end_date)?,
        codes,
        frequency: not_null(frequency, "frequency")?,
        force: not_null(force, "force")?,
        factors: not_null(factors, "factors")?,
    })
}

/// Syncs one trading day: every A-share's and ETF's daily bar and that day's adjust factors.
#[pg_extern(security_definer, volatile, parallel_unsafe)]
#[search_path(pg_catalog, pg_temp)]
fn sync_date(
    day: default!(Option<Date>, "'infinity'"),
    force: default!(Option<bool>, false),
) -> TableIterator<
    'static,
    (
        name!(day, Option<Date>),
        name!(status, String),
        name!(rows_inserted, i64),
        name!(rows_updated, i64),
        name!(rows_unchanged, i64),
        name!(requests, i32),
        name!(seconds, f64),
    ),
> {
    summary(
        current()
            .and_then(|()| day_arg(day))
            .and_then(|d| crate::sync::sync_date(d, not_null(force, "force")?)),
    )
}

/// Syncs the trade calendar between two days (default: the first trading day to today).
#[pg_extern(security_definer, volatile, parallel_unsafe)]
#[search_path(pg_catalog, pg_temp)]
fn sync_calendar(
    start_date: default!(Option<Date>, "NULL"),
    end_date: default!(Option<Date>, "NULL"),
) -> TableIterator<
    'static,
    (
        name!(day, Option<Date>),
        name!(status, String),
        name!(rows_inserted, i64),
        name!(rows_updated, i64),
        name!(rows_unchanged, i64),
        name!(requests, i32),
        name!(seconds, f64),
    ),
> {
    summary(
        current()
            .and_then(|()| to_naive(start_date))
            .and_then(|s| to_naive(end_date).and_then(|e| crate::sync::sync_calendar(s, e)))
            .map(|o| vec![o]),
    )
}

/// Syncs every security's name, type, status, listing and delisting dates.
#[pg_extern(security_definer, volatile, parallel_unsafe)]
#[search_path(pg_catalog, pg_temp)]
fn sync_securities() -> TableIterator<
    'static,
    (
        name!(day, Option<Date>),
        name!(status, String),
        name!(rows_inserted, i64),
        name!(rows_updated, i64),
        name!(rows_unchanged, i64),
        name!(requests, i32),
        name!(seconds, f64),
    ),
> {
    summary(current().and_then(|()| crate::sync::sync_securities()).map(|o| vec![o]))
}

/// A reference sync's day: NULL (the default) for the latest, else a past or present day.
fn reference_day(day: Option<Date>) -> SyncResult<Option<NaiveDate>> {
    match to_naive(day)? {
        None => Ok(None),
        Some(d) => crate::sync::check_day(d, crate::store::china_today()?).map(Some),
    }
}

/// Syncs the constituents of the CSI 300, SSE 50 and CSI 500 on a day (the latest lists by
/// default): a row per index.
#[pg_extern(security_definer, volatile, parallel_unsafe)]
#[search_path(pg_catalog, pg_temp)]
fn sync_index_constituents(
    day: default!(Option<Date>, "NULL"),
) -> TableIterator<
    'static,
    (
        name!(index_name, String),
        name!(status, String),
        name!(rows_inserted, i64),
        name!(rows_updated, i64),
        name!(rows_unchanged, i64),
        name!(requests, i32),
        name!(seconds, f64),
    ),
> {
    let rows = current()
        .and_then(|()| reference_day(day))
        .and_then(crate::sync::sync_index_constituents)
        .unwrap_or_else(|e| raise(e));
    TableIterator::new(rows.into_iter().map(|(name, o)| {
        (
            name.to_owned(),
            o.status.to_owned(),
            o.counts.inserted,
            o.counts.updated,
            o.counts.unchanged,
            i32::try_from(o.traffic.requests).unwrap_or(i32::MAX),
            o.seconds,
        )
    }))
}

/// Syncs every stock's industry on a day (the latest classification by default).
#[pg_extern(security_definer, volatile, parallel_unsafe)]
#[search_path(pg_catalog, pg_temp)]
fn sync_industries(
    day: default!(Option<Date>, "NULL"),
) -> TableIterator<
    'static,
    (
        name!(day, Option<Date>),
        name!(status, String),
        name!(rows_inserted, i64),
        name!(rows_updated, i64),
        name!(rows_unchanged, i64),
        name!(requests, i32),
        name!(seconds, f64),
    ),
> {
    summary(
        current()
            .and_then(|()| reference_day(day))
            .and_then(crate::sync::sync_industries)
            .map(|o| vec![o]),
    )
}

/// Queues a backfill job for the background worker and returns its id at once.
#[pg_extern(security_definer, volatile, parallel_unsafe)]
#[search_path(pg_catalog, pg_temp)]
fn backfill(
    start_date: Option<Date>,
    end_date: default!(Option<Date>, "NULL"),
    codes: default!(Option<Vec<Option<String>>>, "NULL"),
    frequency: default!(Option<String>, "'d'"),
    force: default!(Option<bool>, false),
    factors: default!(Option<bool>, true),
) -> i64 {
    current()
        .and_then(|()| job_args(start_date, end_date, codes, frequency, force, factors))
        .and_then(|a| jobs::backfill(&a))
        .unwrap_or_else(|e| raise(e))
}

/// What `backfill()` with the same arguments would do, without queueing anything.
#[pg_extern(security_definer, volatile, parallel_unsafe)]
#[search_path(pg_catalog, pg_temp)]
fn plan(
    start_date: Option<Date>,
    end_date: default!(Option<Date>, "NULL"),
    codes: default!(Option<Vec<Option<String>>>, "NULL"),
    frequency: default!(Option<String>, "'d'"),
    force: default!(Option<bool>, false),
    factors: default!(Option<bool>, true),
) -> TableIterator<
    'static,
    (
        name!(kind, String),
        name!(units, i64),
        name!(first_day, Option<Date>),
        name!(last_day, Option<Date>),
        name!(est_requests, i64),
        name!(est_seconds, f64),
        name!(est_days, Option<i64>),
    ),
> {
    let plan = current()
        .and_then(|()| job_args(start_date, end_date, codes, frequency, force, factors))
        .and_then(|a| jobs::plan(&a))
        .unwrap_or_else(|e| raise(e));
    TableIterator::new(plan.rows.into_iter().map(|r| {
        (
            r.kind.to_string(),
            r.units,
            r.first_day.and_then(to_pg),
            r.last_day.and_then(to_pg),
            r.est_requests,
            r.est_seconds,
            r.est_days,
        )
    }))
}

/// Blocks until a job ends, with progress NOTICEs; returns its final state.
#[pg_extern(security_definer, volatile, parallel_unsafe)]
#[search_path(pg_catalog, pg_temp)]
fn wait(job_id: Option<i64>) -> String {
    not_null(job_id, "job_id")
        .and_then(jobs::wait)
        .unwrap_or_else(|e| raise(e))
}

/// Cancels a job; the worker stops it between units, within a second.
#[pg_extern(security_definer, volatile, parallel_unsafe)]
#[search_path(pg_catalog, pg_temp)]
fn cancel(job_id: Option<i64>) -> String {
    not_null(job_id, "job_id")
        .and_then(jobs::cancel)
        .unwrap_or_else(|e| raise(e))
}

/// The background worker and the cluster's server sessions right now, from shared memory.
#[pg_extern(volatile, parallel_safe)]
fn worker_status() -> TableIterator<
    'static,
    (
        name!(preloaded, bool),
        name!(worker_pid, Option<i32>),
        name!(last_heartbeat, Option<pgrx::datum::TimestampWithTimeZone>),
        name!(server_sessions, i64),
        name!(budget_used_today, Option<i64>),
        name!(blacklisted_until, Option<pgrx::datum::TimestampWithTimeZone>),
    ),
> {
    /// Unix milliseconds as a timestamptz (Postgres counts microseconds from 2000).
    fn at(ms: i64) -> Option<pgrx::datum::TimestampWithTimeZone> {
        pgrx::datum::TimestampWithTimeZone::try_from(pgrx::pg_sys::TimestampTz::from((ms - 946_684_800_000) * 1_000))
            .ok()
    }
    let worker = crate::shmem::worker();
    let server = crate::shmem::server_state();
    TableIterator::once((
        crate::shmem::preloaded(),
        worker.map(|(pid, _)| pid),
        worker.and_then(|(_, t)| at(t * 1000)),
        crate::shmem::sessions_held(),
        server.map(|s| i64::try_from(s.budget_used).unwrap_or(i64::MAX)),
        server
            .filter(|s| s.blacklisted_until > crate::shmem::now_ms())
            .and_then(|s| at(s.blacklisted_until)),
    ))
}

/// Queues the failed units of an ended job again.
#[pg_extern(security_definer, volatile, parallel_unsafe)]
#[search_path(pg_catalog, pg_temp)]
fn retry(job_id: Option<i64>) -> i64 {
    not_null(job_id, "job_id")
        .and_then(jobs::retry)
        .unwrap_or_else(|e| raise(e))
}

/// Lifts a blacklist before it ends and resumes the jobs it paused.
#[pg_extern(security_definer, volatile, parallel_unsafe)]
#[search_path(pg_catalog, pg_temp)]
fn resume() -> i64 {
    jobs::resume().unwrap_or_else(|e| raise(e))
}
