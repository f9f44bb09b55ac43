//! The reference data: the trade calendar, the securities, the index lists and the
//! industries, each one session's sync (`one_session`), and the refresh the daily sync makes of
//! them when they are stale.

use baostock::StockIndex;
use chrono::NaiveDate;
use pg_baostock_core::{period, Counts, FIRST_TRADING_DAY};
use serde_json::json;

use super::{one_session, Outcome};
use crate::error::{SyncError, SyncResult};
use crate::guc;
use crate::net::{self, Traffic};
use crate::store::{self, reference};

/// Fetches the calendar between two days and upserts it.
pub fn sync_calendar(start: Option<NaiveDate>, end: Option<NaiveDate>) -> SyncResult<Outcome> {
    let today = store::china_today()?;
    let start = start.unwrap_or(FIRST_TRADING_DAY);
    let end = end.unwrap_or(today);
    if start > end {
        return Err(SyncError::invalid(format!("start {start} is after end {end}")));
    }
    pg_baostock_core::check_not_before_first("start", start)?;
    let (outcome, ()) = one_session(
        "sync_calendar",
        json!({"start": start, "end": end}),
        None,
        |pool| net::fetch_calendar(pool, start, end),
        |days| Ok((store::upsert_calendar(&days, guc::batch_rows())?, ())),
    )?;
    Ok(outcome)
}

/// Fetches every security's basic data and upserts it.
pub fn sync_securities() -> SyncResult<Outcome> {
    let (outcome, ()) = one_session("sync_securities", json!({}), None, net::fetch_securities, |rows| {
        Ok((store::upsert_securities(&rows, guc::batch_rows())?, ()))
    })?;
    Ok(outcome)
}

/// Fetches the constituents of the CSI 300, SSE 50 and CSI 500 on a day (the latest lists
/// without one) and writes them, each list replacing the stored list of its date. One run
/// for the three; a result row for each index.
pub fn sync_index_constituents(day: Option<NaiveDate>) -> SyncResult<Vec<(&'static str, Outcome)>> {
    let fetch = |pool: &baostock::client::Pool| {
        net::block_on(net::closing(pool, async {
            let mut lists = Vec::new();
            for index in StockIndex::ALL {
                lists.push((index, net::constituents(pool, index, day).await?));
            }
            Ok::<_, SyncError>(lists)
        }))?
    };
    let write = |lists: Vec<(StockIndex, Vec<baostock::reply::IndexConstituent>)>| {
        let mut per_index = Vec::new();
        let mut total = Counts::default();
        for (index, rows) in &lists {
            let counts = reference::replace_constituents(*index, rows)?;
            total += counts;
            per_index.push((reference::index_name(*index), counts));
        }
        Ok((total, per_index))
    };
    let (outcome, per_index) = one_session("sync_index_constituents", json!({"day": day}), day, fetch, write)?;
    Ok(super::per_item(outcome, per_index))
}

/// Fetches every stock's industry on a day (the latest without one) and writes it.
pub fn sync_industries(day: Option<NaiveDate>) -> SyncResult<Outcome> {
    let (outcome, ()) = one_session(
        "sync_industries",
        json!({"day": day}),
        day,
        |pool| net::block_on(net::closing(pool, net::industries(pool, day)))?,
        |rows| Ok((reference::replace_industries(&rows)?, ())),
    )?;
    Ok(outcome)
}

/// A refresh of reference data; its traffic.
type Refresh = dyn Fn() -> SyncResult<Traffic>;

/// What the daily sync refreshes before its days when stale: the securities once a China
/// day (new listings, delistings), the index lists and industries when the newest stored is
/// older than this week's Monday (the date the server gives the latest) and they were not
/// fetched today. Each is a run of its own; a failure is a WARNING, and the days go on.
/// Returns the traffic (which the first day's run counts too, as it counts the calendar's).
pub(crate) fn refresh_reference(today: NaiveDate) -> Traffic {
    let monday = period::period_start(baostock::Frequency::Weekly, today);
    let stale = |kind: &str| -> SyncResult<bool> {
        Ok(reference::oldest_newest_date()?.is_none_or(|d| d < monday) && !store::ran_ok_today(kind, today)?)
    };
    let steps: [(&str, &str, &Refresh); 3] = [
        ("the securities", "sync_securities", &|| Ok(sync_securities()?.traffic)),
        ("the index constituents", "sync_index_constituents", &|| {
            Ok(sync_index_constituents(None)?
                .first()
                .map(|(_, o)| o.traffic)
                .unwrap_or_default())
        }),
        ("the industries", "sync_industries", &|| {
            Ok(sync_industries(None)?.traffic)
        }),
    ];
    let mut traffic = Traffic::default();
    for (what, kind, sync) in steps {
        let due = if kind == "sync_securities" {
            store::ran_ok_today(kind, today).map(|ran| !ran)
        } else {
            stale(kind)
        };
        // In the caller's transaction: a lock another session holds on these rows is waited
        // on for 10 s at most (then a WARNING, and the day's sync goes on).
        let refreshed =
            store::with_bounded_lock_waits(|| due.and_then(|due| if due { sync() } else { Ok(Traffic::default()) }));
        match refreshed {
            Ok(t) => traffic = traffic + t,
            Err(e) => pgrx::warning!(
                "pg_baostock: refreshing {what} failed: {} (SQLSTATE {}); the day's sync goes on",
                e.text(),
                e.sqlstate_text()
            ),
        }
    }
    traffic
}

/// Brings the stored calendar up to `until` when it ends earlier or lacks `day`; returns the
/// nested sync's traffic.
pub fn extend_calendar(day: Option<NaiveDate>, until: NaiveDate) -> SyncResult<Traffic> {
    let end = store::calendar_end()?;
    let covered = match day {
        Some(d) => store::trading_day(d)?.is_some(),
        None => end.is_some_and(|e| e >= until),
    };
    if covered {
        return Ok(Traffic::default());
    }
    // Continue after the stored end; start over when the gap is before it.
    let from = match (end, day) {
        (Some(e), Some(d)) if d <= e => FIRST_TRADING_DAY,
        (Some(e), _) => e.succ_opt().unwrap_or(e),
        (None, _) => FIRST_TRADING_DAY,
    };
    Ok(sync_calendar(Some(from), Some(until))?.traffic)
}

/// Syncs the securities when none are stored; returns the nested sync's traffic.
pub fn ensure_securities() -> SyncResult<Traffic> {
    if store::securities_count()? > 0 {
        return Ok(Traffic::default());
    }
    Ok(sync_securities()?.traffic)
}
