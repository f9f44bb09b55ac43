//! What each sync does: validate, decide what must be asked of the server, run it (units
//! through the engine; the calendar and securities directly), write in subtransactions and
//! record the run. Errors come back as `SyncError`; the SQL functions in `api` raise them.

use baostock::StockIndex;
use chrono::NaiveDate;
use serde_json::json;

use crate::engine::Runner;
use crate::error::{SyncError, SyncResult};
use crate::guc;
use crate::net::{self, Traffic};
use crate::runlog;
use crate::store::{self, reference, Counts, RunRecord};
use crate::unit::{Status, Unit};

/// The first trading day of the Shanghai exchange; the server has nothing earlier.
pub const FIRST_TRADING_DAY: NaiveDate = match NaiveDate::from_ymd_opt(1990, 12, 19) {
    Some(d) => d,
    None => panic!("valid date"),
};

/// Which day `sync_date` is asked for.
#[derive(Clone, Copy, Debug)]
pub enum DayArg {
    /// Every trading day after the newest synced one up to the latest, after bringing the
    /// calendar up to today.
    Latest,
    Given(NaiveDate),
}

/// A result row of a sync.
#[derive(Clone, Debug)]
pub struct Outcome {
    pub day: Option<NaiveDate>,
    pub status: &'static str,
    pub counts: Counts,
    pub traffic: Traffic,
    pub seconds: f64,
}

pub use crate::store::subtransaction;

/// A run in progress: its record, filled as it goes.
struct Run {
    rec: RunRecord,
}

impl Run {
    fn start(kind: &str, params: &serde_json::Value, day: Option<NaiveDate>) -> Run {
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
    fn finish(mut self, status: &'static str, counts: Counts, note: Option<String>) -> SyncResult<(i64, Outcome)> {
        self.rec.status = status.into();
        self.rec.finished_at = runlog::now();
        self.rec.inserted = counts.inserted;
        self.rec.updated = counts.updated;
        self.rec.unchanged = counts.unchanged;
        self.rec.error_message = note;
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

    /// Records the failure so that it outlives the rollback the raised error will cause, and
    /// hands the error back for raising. Call only after any failed subtransaction is rolled
    /// back.
    fn fail(self, err: SyncError) -> SyncError {
        runlog::record_failure(self.rec, &err);
        err
    }

    /// Records the failure in the current transaction, which goes on and commits.
    fn fail_here(mut self, err: &SyncError) -> SyncResult<Outcome> {
        self.rec.status = "failed".into();
        self.rec.finished_at = runlog::now();
        self.rec.error_sqlstate = Some(err.sqlstate_text());
        self.rec.error_message = Some(err.text());
        store::insert_run(&self.rec)?;
        Ok(self.outcome("failed", Counts::default()))
    }
}

/// Refuses, before any connection, when the settings are unusable (a credentials file that
/// cannot be read, a control character) or while the server's blacklist holds: the one
/// remembered in `baostock.server_state` (which survives restarts) or in shared memory. The
/// callers record the refusal as a failed run.
pub fn guard_server() -> SyncResult<()> {
    crate::net::config()?;
    let saved = store::server::load()?;
    crate::shmem::restore(crate::shmem::ServerState {
        blacklisted_until: saved.blacklisted_until,
        ..Default::default()
    });
    let until = crate::shmem::server_state()
        .map_or(0, |s| s.blacklisted_until)
        .max(saved.blacklisted_until);
    if until > crate::shmem::now_ms() {
        let until = crate::shmem::utc_text(until);
        return Err(SyncError::client(
            "login",
            baostock::client::ClientError::Refused(baostock::client::Refusal::Blacklisted { until }),
        ));
    }
    Ok(())
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
    let (outcome, ()) = one_session(
        "sync_calendar",
        json!({"start": start, "end": end}),
        None,
        |pool| net::fetch_calendar(pool, start, end),
        |days| Ok((store::upsert_calendar(&days, guc::batch_rows())?, ())),
    )?;
    Ok(outcome)
}

/// A sync of what one session asks: refused while the server is out of reach (a failed
/// run), the answer written in a subtransaction, the run recorded either way. `write` gives
/// the run's counts and what the caller reports beside them.
fn one_session<T, W>(
    kind: &str,
    params: serde_json::Value,
    day: Option<NaiveDate>,
    fetch: impl FnOnce(&baostock::client::Pool) -> SyncResult<T>,
    write: impl FnOnce(T) -> SyncResult<(Counts, W)>,
) -> SyncResult<(Outcome, W)> {
    runlog::import_leftovers();
    let mut run = Run::start(kind, &params, day);
    if let Err(e) = guard_server() {
        return Err(run.fail(e));
    }
    let pool = net::pool(Some(1), net::Budget::Full)?;
    let answer = fetch(&pool);
    run.add_traffic(Traffic::of(&pool));
    match answer.and_then(|a| subtransaction(|| write(a))) {
        Ok((counts, reported)) => Ok((run.finish("ok", counts, None)?.1, reported)),
        Err(e) => Err(run.fail(e)),
    }
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
    Ok(per_index
        .into_iter()
        .map(|(name, counts)| {
            (
                name,
                Outcome {
                    counts,
                    ..outcome.clone()
                },
            )
        })
        .collect())
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
fn refresh_reference(today: NaiveDate) -> Traffic {
    let monday = crate::store::bars::period_start(baostock::Frequency::Weekly, today);
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
        match due.and_then(|due| if due { sync() } else { Ok(Traffic::default()) }) {
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

/// Checks a requested day before anything is asked of the server.
pub fn check_day(day: NaiveDate, today: NaiveDate) -> SyncResult<NaiveDate> {
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

/// The interrupt check of a backend's network waits: a cancel or a termination.
pub fn backend_interrupt() -> Option<SyncError> {
    net::interrupt_pending().then_some(SyncError::Interrupted)
}

/// `sync_date`: one given day, or the catch-up of every trading day after the newest synced
/// one up to the latest (at most `baostock.catchup_days`). Each day is a unit of its own,
/// applied oldest first in a subtransaction with its run record. The catch-up stops at the
/// first day that is not `ok`, so what it leaves unsynced are always the newest days and the
/// next call starts there. An error is raised when no day was kept before it; otherwise the
/// failed day is reported as a `failed` row (with a WARNING) and the days before it commit.
pub fn sync_date(arg: DayArg, force: bool) -> SyncResult<Vec<Outcome>> {
    runlog::import_leftovers();
    let today = store::china_today()?;
    let given = match arg {
        DayArg::Given(d) => Some(check_day(d, today)?),
        DayArg::Latest => None,
    };
    let label = given.map_or_else(|| json!("latest"), |d| json!(d));
    let params = json!({"day": label, "force": force});
    let early = Run::start("sync_date", &params, given);
    if let Err(e) = guard_server() {
        return Err(early.fail(e));
    }

    let mut nested = Traffic::default();
    match extend_calendar(given, today).and_then(|t| ensure_securities().map(|s| t + s)) {
        Ok(t) => nested = nested + t,
        Err(e) => return Err(early.fail(e)),
    }
    let mut days = match given {
        Some(day) => match store::trading_day(day)? {
            None => {
                let e = SyncError::Protocol {
                    what: "query_trade_dates".into(),
                    message: format!("the server's calendar has no entry for {day}"),
                };
                return Err(early.fail(e));
            }
            Some(false) => {
                pgrx::notice!("{day} is not a trading day; nothing to sync");
                return skipped(early, day, nested);
            }
            Some(true) => vec![day],
        },
        None => {
            let Some(latest) = store::latest_trading_day(today)? else {
                return Err(early.fail(SyncError::invalid(format!(
                    "the calendar has no trading day up to {today}"
                ))));
            };
            let mut days = store::unsynced_days_after_newest(latest)?;
            if days.is_empty() && force {
                days.push(latest);
            }
            let cap = guc::catchup_days();
            if days.len() > cap {
                let older = days.len() - cap;
                pgrx::notice!(
                    "{older} unsynced trading days from {} to {} are older than baostock.catchup_days ({cap}); they are left to backfill: SELECT baostock.backfill('{}', '{}')",
                    days[0],
                    days[older - 1],
                    days[0],
                    days[older - 1]
                );
                days.drain(..older);
            }
            if days.is_empty() {
                pgrx::notice!("{latest} is already synced; nothing to catch up");
                return skipped(early, latest, nested + refresh_reference(today));
            }
            days
        }
    };
    // One day is fetched by one call at a time: wait for a concurrent call's commit, then
    // leave out what it synced.
    for d in &days {
        store::lock_day(*d)?;
    }
    if !force {
        let before = days.len();
        let mut still = Vec::with_capacity(days.len());
        for d in days {
            if !store::is_synced(d)? {
                still.push(d);
            }
        }
        days = still;
        if days.is_empty() {
            pgrx::notice!("{before} day(s) were synced by a concurrent call; nothing to do");
            return skipped(early, given.unwrap_or(today), nested);
        }
    }
    let nested = nested + refresh_reference(today);
    run_days(&days, &params, nested)
}

/// A `skipped` row and its run record.
fn skipped(mut run: Run, day: NaiveDate, nested: Traffic) -> SyncResult<Vec<Outcome>> {
    run.rec.day = Some(day);
    run.add_traffic(nested);
    Ok(vec![run.finish("skipped", Counts::default(), None)?.1])
}

fn run_days(days: &[NaiveDate], params: &serde_json::Value, nested: Traffic) -> SyncResult<Vec<Outcome>> {
    let pool = net::pool(None, net::Budget::Full)?;
    let window = pool.config().max_sessions * 2;
    let batch = guc::batch_rows();
    let mut runner = Some(Runner::start(
        days.iter().map(|d| Unit::Day(*d)).collect(),
        pool,
        window,
    )?);
    let mut seen = Traffic::default();
    let mut out: Vec<Outcome> = Vec::new();
    let mut started = runlog::now();
    while let Some(r) = runner.as_mut() {
        let index = out.len();
        let day = days[index];
        let mut run = Run::start("sync_date", params, Some(day));
        run.rec.started_at = started;
        if index == 0 {
            run.add_traffic(nested);
        }
        let answer = match r.next(&mut backend_interrupt) {
            Ok(Some((_, answer))) => answer,
            Ok(None) => break,
            Err(e) => Err(e),
        };
        // A failure: the logouts belong to this run. After the last answer the network thread
        // logs out by itself while the answer is written; the logouts are added to its run then.
        let last = index + 1 == days.len();
        let now = if answer.is_err() {
            runner.take().map_or(seen, Runner::finish)
        } else {
            r.traffic()
        };
        run.add_traffic(now - seen);
        seen = now;
        let unit = Unit::Day(day);
        let applied = answer.and_then(|fetched| {
            subtransaction(|| {
                let (status, counts) = unit.apply(fetched, None, batch)?;
                let note = match &status {
                    Status::Incomplete(why) => Some(why.clone()),
                    _ => None,
                };
                let (run_id, outcome) = Run { rec: run.rec.clone() }.finish(status.word(), counts, note)?;
                if status == Status::Ok {
                    store::set_synced_run(day, run_id)?;
                }
                Ok((status, outcome, run_id))
            })
        });
        let applied = match applied {
            Ok((status, mut outcome, run_id)) if last => {
                let logouts = runner.take().map_or(seen, Runner::finish) - seen;
                let finished_at = runlog::now();
                outcome.traffic = outcome.traffic + logouts;
                outcome.seconds = (finished_at - run.rec.started_at).max(0.0);
                store::add_run_traffic(run_id, logouts.requests, logouts.bytes, finished_at).map(|()| (status, outcome))
            }
            other => other.map(|(status, outcome, _)| (status, outcome)),
        };
        started = runlog::now();
        match applied {
            Ok((status, outcome)) => {
                match &status {
                    Status::Ok => {}
                    Status::Empty => pgrx::notice!(
                        "the server has not published {day} yet; it is not marked synced, try again later"
                    ),
                    Status::Incomplete(why) => {
                        pgrx::notice!("{why}; {day} is not marked synced, try again later")
                    }
                }
                out.push(outcome);
                if status != Status::Ok {
                    break;
                }
            }
            Err(e) => {
                if let Some(r) = runner.take() {
                    run.add_traffic(r.finish() - seen);
                }
                // A cancel ends the statement; so does a failure with nothing kept before it.
                if matches!(e, SyncError::Interrupted) || !out.iter().any(|o| o.status == "ok") {
                    return Err(run.fail(e));
                }
                pgrx::warning!(
                    "sync_date stopped at {day}: {} (SQLSTATE {})",
                    e.text(),
                    e.sqlstate_text()
                );
                out.push(run.fail_here(&e)?);
                break;
            }
        }
    }
    Ok(out)
}
