//! Backfill jobs as SQL functions: `backfill`, `plan`, `backfill_fundamentals`,
//! `plan_fundamentals`, `backfill_membership`, `wait`, `cancel`, `retry`, `resume`.

// pgrx reads the result columns from each signature, so the row tuple is spelled out there
// rather than hidden behind a type alias.
#![allow(clippy::type_complexity)]

use pgrx::datum::Date;
use pgrx::prelude::*;

use pg_baostock_core::plan::PlanRow;

use super::{current, not_null, raise, to_naive};
use crate::error::SyncResult;
use crate::sync::fundamentals::{self, FundamentalsArgs};
use crate::sync::jobs::{self, Args};

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
    TableIterator::new(plan_rows(plan.rows))
}

/// The rows `plan()` and `plan_fundamentals()` return.
fn plan_rows(
    rows: Vec<PlanRow>,
) -> impl Iterator<Item = (String, i64, Option<Date>, Option<Date>, i64, f64, Option<i64>)> {
    rows.into_iter().map(|r| {
        (
            r.kind.to_string(),
            r.units,
            r.first_day.map(crate::store::pg_date),
            r.last_day.map(crate::store::pg_date),
            r.est_requests,
            r.est_seconds,
            r.est_days,
        )
    })
}

/// `backfill_fundamentals()`'s and `plan_fundamentals()`'s arguments, checked for NULLs.
fn fundamentals_args(
    start_year: Option<i32>,
    end_year: Option<i32>,
    codes: Option<Vec<Option<String>>>,
    kinds: Option<Vec<Option<String>>>,
    force: Option<bool>,
) -> SyncResult<FundamentalsArgs> {
    let elements = |v: Option<Vec<Option<String>>>, what: &str| -> SyncResult<Option<Vec<String>>> {
        v.map(|v| v.into_iter().map(|c| not_null(c, what)).collect())
            .transpose()
    };
    Ok(FundamentalsArgs {
        start_year: not_null(start_year, "start_year")?,
        end_year,
        codes: elements(codes, "an element of codes")?,
        kinds: elements(kinds, "an element of kinds")?,
        force: not_null(force, "force")?,
    })
}

/// Queues a job that fetches codes' quarterly reports, express and forecast reports and
/// dividends for a range of years; returns its id at once.
#[pg_extern(security_definer, volatile, parallel_unsafe)]
#[search_path(pg_catalog, pg_temp)]
fn backfill_fundamentals(
    start_year: Option<i32>,
    end_year: default!(Option<i32>, "NULL"),
    codes: default!(Option<Vec<Option<String>>>, "NULL"),
    kinds: default!(Option<Vec<Option<String>>>, "NULL"),
    force: default!(Option<bool>, false),
) -> i64 {
    current()
        .and_then(|()| fundamentals_args(start_year, end_year, codes, kinds, force))
        .and_then(|a| fundamentals::backfill(&a))
        .unwrap_or_else(|e| raise(e))
}

/// What `backfill_fundamentals()` with the same arguments would ask, without queueing: a row
/// per report kind, then the total with its China days under the daily request budget.
#[pg_extern(security_definer, volatile, parallel_unsafe)]
#[search_path(pg_catalog, pg_temp)]
fn plan_fundamentals(
    start_year: Option<i32>,
    end_year: default!(Option<i32>, "NULL"),
    codes: default!(Option<Vec<Option<String>>>, "NULL"),
    kinds: default!(Option<Vec<Option<String>>>, "NULL"),
    force: default!(Option<bool>, false),
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
        .and_then(|()| fundamentals_args(start_year, end_year, codes, kinds, force))
        .and_then(|a| fundamentals::plan(&a))
        .unwrap_or_else(|e| raise(e));
    TableIterator::new(plan_rows(plan.estimate.rows))
}

/// Queues a job that fetches the index lists of past dates (a Monday a month, and halfway
/// between two that differ until each change is found to the week); returns its id at once.
#[pg_extern(security_definer, volatile, parallel_unsafe)]
#[search_path(pg_catalog, pg_temp)]
fn backfill_membership(
    index_name: default!(Option<String>, "NULL"),
    start_date: default!(Option<Date>, "NULL"),
) -> i64 {
    current()
        .and_then(|()| to_naive(start_date))
        .and_then(|start| crate::sync::membership::backfill(index_name.as_deref(), start))
        .unwrap_or_else(|e| raise(e))
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

/// Queues the failed units of an ended job again.
#[pg_extern(security_definer, volatile, parallel_unsafe)]
#[search_path(pg_catalog, pg_temp)]
fn retry(job_id: Option<i64>) -> i64 {
    not_null(job_id, "job_id")
        .and_then(jobs::retry)
        .unwrap_or_else(|e| raise(e))
}

/// Queues the job that extends every tracked series to a day (default: the newest synced);
/// NULL when there is nothing to fetch.
#[pg_extern(security_definer, volatile, parallel_unsafe)]
#[search_path(pg_catalog, pg_temp)]
fn sync_tracked(day: default!(Option<Date>, "NULL")) -> Option<i64> {
    current()
        .and_then(|()| to_naive(day))
        .and_then(jobs::track)
        .unwrap_or_else(|e| raise(e))
}

/// Lifts a blacklist before it ends and resumes the jobs it paused.
#[pg_extern(security_definer, volatile, parallel_unsafe)]
#[search_path(pg_catalog, pg_temp)]
fn resume() -> i64 {
    jobs::resume().unwrap_or_else(|e| raise(e))
}
