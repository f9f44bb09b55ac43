//! The syncs as SQL functions: `sync_date`, the calendar, the securities, the index lists and
//! the industries.

// pgrx reads the result columns from each signature, so the row tuple is spelled out there
// rather than hidden behind a type alias.
#![allow(clippy::type_complexity)]

use chrono::NaiveDate;
use pgrx::datum::Date;
use pgrx::prelude::*;

use super::{current, not_null, raise, to_naive};
use crate::error::{SyncError, SyncResult};
use crate::sync::{DayArg, Outcome};

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
            o.day.map(crate::store::pg_date),
            o.status.to_string(),
            o.counts.inserted,
            o.counts.updated,
            o.counts.unchanged,
            i32::try_from(o.traffic.requests).unwrap_or(i32::MAX),
            o.seconds,
        )
    }))
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
        Some(d) => pg_baostock_core::check_day("day", d, crate::store::china_today()?)
            .map(Some)
            .map_err(SyncError::from),
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
    TableIterator::new(named_rows(rows))
}

/// The rows of a sync with a result row per item (an index, a macro series).
fn named_rows(rows: Vec<(&'static str, Outcome)>) -> impl Iterator<Item = (String, String, i64, i64, i64, i32, f64)> {
    rows.into_iter().map(|(name, o)| {
        (
            name.to_owned(),
            o.status.to_owned(),
            o.counts.inserted,
            o.counts.updated,
            o.counts.unchanged,
            i32::try_from(o.traffic.requests).unwrap_or(i32::MAX),
            o.seconds,
        )
    })
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

/// Fetches the macro series whole (deposit and loan rates, required reserve ratios, money
/// supply by month and by year: five requests) and writes them: a row per series.
#[pg_extern(security_definer, volatile, parallel_unsafe)]
#[search_path(pg_catalog, pg_temp)]
fn sync_macro() -> TableIterator<
    'static,
    (
        name!(series, String),
        name!(status, String),
        name!(rows_inserted, i64),
        name!(rows_updated, i64),
        name!(rows_unchanged, i64),
        name!(requests, i32),
        name!(seconds, f64),
    ),
> {
    let rows = current()
        .and_then(|()| crate::sync::reports::sync_macro())
        .unwrap_or_else(|e| raise(e));
    TableIterator::new(named_rows(rows))
}
