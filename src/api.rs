//! The SQL functions: thin wrappers that convert arguments, call `sync`, and raise errors
//! with their SQLSTATE.

// pgrx reads the result columns from each signature, so the row tuple is spelled out there
// rather than hidden behind a type alias.
#![allow(clippy::type_complexity)]

use chrono::{Datelike, NaiveDate};
use pgrx::datum::Date;
use pgrx::prelude::*;

use crate::error::{SyncError, SyncResult};
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
    r: SyncResult<Outcome>,
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
    let o = r.unwrap_or_else(|e| raise(e));
    TableIterator::once((
        o.day.and_then(to_pg),
        o.status.to_string(),
        o.counts.inserted,
        o.counts.updated,
        o.counts.unchanged,
        i32::try_from(o.traffic.requests).unwrap_or(i32::MAX),
        o.seconds,
    ))
}

/// Syncs one trading day: every A-share's and ETF's daily bar and that day's adjust factors.
#[pg_extern(security_definer, volatile, parallel_unsafe)]
#[search_path(pg_catalog, pg_temp)]
fn sync_date(
    day: default!(Option<Date>, "'infinity'"),
    force: default!(bool, false),
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
    summary(day_arg(day).and_then(|d| crate::sync::sync_date(d, force)))
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
    summary(to_naive(start_date).and_then(|s| to_naive(end_date).and_then(|e| crate::sync::sync_calendar(s, e))))
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
    summary(crate::sync::sync_securities())
}
