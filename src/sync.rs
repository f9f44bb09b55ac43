//! What each sync does: validate, decide whether the server must be asked, fetch (net),
//! write (store) and record the run (runlog). Errors come back as `SyncError`; the SQL
//! functions in `api` raise them.

use chrono::NaiveDate;
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
        Ok((id, self.outcome(status, counts)))
    }

    fn outcome(&self, status: &'static str, counts: Counts) -> Outcome {
        Outcome {
            day: self.rec.day,
            status,
            counts,
            traffic: Traffic {
                requests: self.rec.requests,
                bytes: self.rec.bytes,
            },
            seconds: (runlog::now() - self.rec.started_at).max(0.0),
        }
    }

    /// Records the failure durably and hands the error back for raising.
    fn fail(self, err: SyncError) -> SyncError {
        runlog::record_failure(self.rec, &err);
        err
    }
}

/// Runs `body`, recording a failure when it fails.
fn recorded<T>(mut run: Run, body: impl FnOnce(&mut Run) -> SyncResult<T>) -> SyncResult<(Run, T)> {
    match body(&mut run) {
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
fn check_day(day: Option<NaiveDate>, today: NaiveDate) -> SyncResult<NaiveDate> {
    let Some(day) = day else {
        return Err(SyncError::InvalidArgument {
            message: "day must not be NULL".into(),
            hint: Some("Omit the argument to sync the latest trading day.".into()),
            null: true,
        });
    };
    if day < FIRST_TRADING_DAY {
        return Err(SyncError::InvalidArgument {
            message: format!("day {day} is before the first trading day {FIRST_TRADING_DAY}"),
            hint: None,
            null: false,
        });
    }
    if day > today {
        return Err(SyncError::InvalidArgument {
            message: format!("day {day} is in the future (today in China is {today})"),
            hint: None,
            null: false,
        });
    }
    Ok(day)
}

/// Daily bars of every A-share and ETF and the day's adjust factors, for one trading day.
pub fn sync_date(day: Option<NaiveDate>, force: bool) -> SyncResult<Outcome> {
    let today = store::china_today()?;
    let day = check_day(day, today)?;
    let run = Run::start("sync_date", json!({"day": day, "force": force}), Some(day));

    let trading = match store::trading_day(day)? {
        Some(t) => t,
        None => {
            // The calendar does not reach this day yet: bring it up to today.
            sync_calendar(None, Some(today)).map_err(|e| run_failed(&run, e))?;
            match store::trading_day(day)? {
                Some(t) => t,
                None => {
                    let e = SyncError::Protocol {
                        what: "query_trade_dates".into(),
                        message: format!("the server's calendar has no entry for {day}"),
                    };
                    return Err(run.fail(e));
                }
            }
        }
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
        sync_securities().map_err(|e| run_failed(&run, e))?;
    }

    let (run, written) = recorded(run, |run| {
        let pool = net::pool(Some(1))?;
        let fetched = net::fetch_day(&pool, day);
        run.add_traffic(Traffic::of(&pool));
        let fetched = fetched?;
        if fetched.stocks.is_empty() {
            return Ok(None);
        }
        let batch = guc::batch_rows();
        let mut bars = fetched.stocks;
        bars.extend(fetched.etfs);
        let mut counts = store::upsert_bars(&bars, batch)?;
        counts += store::upsert_factors(&fetched.factors, batch)?;
        Ok(Some((counts, bars.len(), fetched.factors.len())))
    })?;
    match written {
        None => {
            pgrx::notice!("the server has not published {day} yet; it is not marked synced, try again later");
            Ok(run.finish("not_available", Counts::default())?.1)
        }
        Some((counts, bars, factors)) => {
            let (run_id, outcome) = run.finish("ok", counts)?;
            store::mark_synced(day, run_id, bars as i64, factors as i64)?;
            Ok(outcome)
        }
    }
}

/// A nested sync already recorded its own failure; this run is recorded as failed too.
fn run_failed(run: &Run, e: SyncError) -> SyncError {
    let mut rec = run.rec.clone();
    rec.error_message = Some(format!("{e}"));
    runlog::record_failure(rec, &e);
    e
}
