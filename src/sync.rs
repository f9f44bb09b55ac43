//! What each sync does: validate, decide whether the server must be asked, fetch (net),
//! write (store) and record the run (runlog). Errors come back as `SyncError`; the SQL
//! functions in `api` raise them.

use std::cell::RefCell;
use std::panic::AssertUnwindSafe;

use chrono::NaiveDate;
use pgrx::pg_sys::panic::CaughtError;
use pgrx::PgTryBuilder;
use serde_json::json;

use crate::error::{SyncError, SyncResult};
use crate::guc;
use crate::net::{self, Traffic};
use crate::runlog;
use crate::store::{self, Counts, RunRecord};

/// The first trading day of the Shanghai exchange; the server has nothing earlier.
pub const FIRST_TRADING_DAY: NaiveDate = match NaiveDate::from_ymd_opt(1990, 12, 19) {
    Some(d) => d,
    None => panic!("valid date"),
};

/// Which day `sync_date` is asked for.
#[derive(Clone, Copy, Debug)]
pub enum DayArg {
    /// The latest trading day up to today, after bringing the calendar up to today.
    Latest,
    Given(NaiveDate),
}

/// The result row of a sync.
#[derive(Clone, Debug)]
pub struct Outcome {
    pub day: Option<NaiveDate>,
    pub status: &'static str,
    pub counts: Counts,
    pub traffic: Traffic,
    pub seconds: f64,
}

/// A run in progress: its record, filled as it goes.
struct Run {
    rec: RunRecord,
}

impl Run {
    fn start(kind: &str, params: serde_json::Value, day: Option<NaiveDate>) -> Run {
        runlog::import_leftovers();
        Run {
            rec: RunRecord {
                kind: kind.into(),
                params: params.to_string(),
                day,
                started_at: runlog::now(),
                status: "ok".into(),
                ..RunRecord::default()
            },
        }
    }

    fn add_traffic(&mut self, t: Traffic) {
        self.rec.requests += t.requests;
        self.rec.bytes += t.bytes;
    }

    /// Writes the run in the current transaction and returns its id and the result row.
    fn finish(mut self, status: &'static str, counts: Counts) -> SyncResult<(i64, Outcome)> {
        self.rec.status = status.into();
        self.rec.finished_at = runlog::now();
        self.rec.inserted = counts.inserted;
        self.rec.updated = counts.updated;
        self.rec.unchanged = counts.unchanged;
        let id = store::insert_run(&self.rec)?;
        let outcome = Outcome {
            day: self.rec.day,
            status,
            counts,
            traffic: Traffic {
                requests: self.rec.requests,
                bytes: self.rec.bytes,
            },
            seconds: (self.rec.finished_at - self.rec.started_at).max(0.0),
        };
        Ok((id, outcome))
    }

    /// Records the failure durably and hands the error back for raising.
    fn fail(self, err: SyncError) -> SyncError {
        runlog::record_failure(self.rec, &err);
        err
    }
}

/// Runs `body`, recording the run as failed when it fails: through the `Result`, or through a
/// Postgres error (an SPI failure, a cancel during a write), which is recorded and re-raised.
fn recorded<T>(run: Run, body: impl FnOnce(&mut Run) -> SyncResult<T>) -> SyncResult<(Run, T)> {
    let cell = RefCell::new(run);
    // The cell is only read after the body has unwound (its borrow released).
    let shared = AssertUnwindSafe(&cell);
    let result = PgTryBuilder::new(AssertUnwindSafe(|| body(&mut cell.borrow_mut())))
        .catch_others(move |caught: CaughtError| {
            let (state, message) = match &caught {
                CaughtError::PostgresError(r)
                | CaughtError::ErrorReport(r)
                | CaughtError::RustPanic { ereport: r, .. } => {
                    (crate::error::sqlstate_of(r.sql_error_code()), r.message().to_owned())
                }
            };
            runlog::record_raised_failure(shared.borrow().rec.clone(), state, message);
            caught.rethrow()
        })
        .execute();
    let run = cell.into_inner();
    match result {
        Ok(v) => Ok((run, v)),
        Err(e) => Err(run.fail(e)),
    }
}

/// Fetches the calendar between two days and upserts it.
pub fn sync_calendar(start: Option<NaiveDate>, end: Option<NaiveDate>) -> SyncResult<Outcome> {
    let today = store::china_today()?;
    let start = start.unwrap_or(FIRST_TRADING_DAY);
    let end = end.unwrap_or(today);
    if start > end {
        return Err(SyncError::invalid(format!("start {start} is after end {end}")));
    }
    if start < FIRST_TRADING_DAY {
        return Err(SyncError::invalid(format!(
            "start {start} is before the first trading day {FIRST_TRADING_DAY}"
        )));
    }
    let run = Run::start("sync_calendar", json!({"start": start, "end": end}), None);
    let (run, counts) = recorded(run, |run| {
        let pool = net::pool(Some(1))?;
        let days = net::fetch_calendar(&pool, start, end);
        run.add_traffic(Traffic::of(&pool));
        store::upsert_calendar(&days?, guc::batch_rows())
    })?;
    Ok(run.finish("ok", counts)?.1)
}

/// Fetches every security's basic data and upserts it.
pub fn sync_securities() -> SyncResult<Outcome> {
    let run = Run::start("sync_securities", json!({}), None);
    let (run, counts) = recorded(run, |run| {
        let pool = net::pool(Some(1))?;
        let rows = net::fetch_securities(&pool);
        run.add_traffic(Traffic::of(&pool));
        store::upsert_securities(&rows?, guc::batch_rows())
    })?;
    Ok(run.finish("ok", counts)?.1)
}

/// Checks a requested day before anything is asked of the server.
fn check_day(day: NaiveDate, today: NaiveDate) -> SyncResult<NaiveDate> {
    if day < FIRST_TRADING_DAY {
        return Err(SyncError::invalid(format!(
            "day {day} is before the first trading day {FIRST_TRADING_DAY}"
        )));
    }
    if day > today {
        return Err(SyncError::invalid(format!(
            "day {day} is in the future (today in China is {today})"
        )));
    }
    Ok(day)
}

/// Brings the stored calendar up to today when it ends earlier or lacks `day`; returns the
/// nested sync's traffic.
fn extend_calendar(day: Option<NaiveDate>, today: NaiveDate) -> SyncResult<Traffic> {
    let end = store::calendar_end()?;
    let covered = match day {
        Some(d) => store::trading_day(d)?.is_some(),
        None => end.is_some_and(|e| e >= today),
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
    Ok(sync_calendar(Some(from), Some(today))?.traffic)
}

/// Daily bars of every A-share and ETF and the day's adjust factors, for one trading day.
pub fn sync_date(arg: DayArg, force: bool) -> SyncResult<Outcome> {
    let today = store::china_today()?;
    let given = match arg {
        DayArg::Given(d) => Some(check_day(d, today)?),
        DayArg::Latest => None,
    };
    let label = given.map_or_else(|| json!("latest"), |d| json!(d));
    let mut run = Run::start("sync_date", json!({"day": label, "force": force}), given);

    let nested = extend_calendar(given, today).map_err(|e| nested_failed(&run, e))?;
    run.add_traffic(nested);
    let day = match given {
        Some(d) => d,
        None => match store::latest_trading_day(today)? {
            Some(d) => d,
            None => {
                return Err(run.fail(SyncError::invalid(format!(
                    "the calendar has no trading day up to {today}"
                ))))
            }
        },
    };
    run.rec.day = Some(day);
    let Some(trading) = store::trading_day(day)? else {
        let e = SyncError::Protocol {
            what: "query_trade_dates".into(),
            message: format!("the server's calendar has no entry for {day}"),
        };
        return Err(run.fail(e));
    };
    if !trading {
        pgrx::notice!("{day} is not a trading day; nothing to sync");
        return Ok(run.finish("skipped", Counts::default())?.1);
    }
    if !force && store::is_synced(day)? {
        pgrx::notice!("{day} is already synced; pass force => true to fetch it again");
        return Ok(run.finish("skipped", Counts::default())?.1);
    }
    if store::securities_count()? == 0 {
        let o = sync_securities().map_err(|e| nested_failed(&run, e))?;
        run.add_traffic(o.traffic);
    }

    let (run, written) = recorded(run, |run| {
        let pool = net::pool(Some(1))?;
        let fetched = net::fetch_day(&pool, day);
        run.add_traffic(Traffic::of(&pool));
        let fetched = fetched?;
        if fetched.stocks.is_empty() {
            return Ok(None);
        }
        let mut bars = fetched.stocks;
        bars.extend(fetched.etfs);
        // Rows of another day would mark this one synced without its data.
        if let Some(b) = bars.iter().find(|b| b.date != day) {
            return Err(other_day("bar", &b.code, b.date, day));
        }
        if let Some(f) = fetched.factors.iter().find(|f| f.operate_date != day) {
            return Err(other_day("adjust factor", &f.code, f.operate_date, day));
        }
        let batch = guc::batch_rows();
        let bar_counts = store::upsert_bars(&bars, batch)?;
        let factor_counts = store::upsert_factors(&fetched.factors, batch)?;
        Ok(Some((bar_counts, factor_counts)))
    })?;
    match written {
        None => {
            pgrx::notice!("the server has not published {day} yet; it is not marked synced, try again later");
            Ok(run.finish("not_available", Counts::default())?.1)
        }
        Some((bars, factors)) => {
            let mut counts = bars;
            counts += factors;
            let (run_id, outcome) = run.finish("ok", counts)?;
            store::mark_synced(day, run_id, bars.total(), factors.total())?;
            Ok(outcome)
        }
    }
}

fn other_day(what: &str, code: &str, got: NaiveDate, day: NaiveDate) -> SyncError {
    SyncError::Protocol {
        what: "sync_date".into(),
        message: format!("the server answered {day} with a {what} of {code} for {got}"),
    }
}

/// A nested sync already recorded its own failure; this run is recorded as failed too.
fn nested_failed(run: &Run, e: SyncError) -> SyncError {
    runlog::record_failure(run.rec.clone(), &e);
    e
}
