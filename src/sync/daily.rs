//! `sync_date`: the daily sync of one day, or the catch-up of every trading day not yet synced,
//! each day a unit of its own applied in a subtransaction with its run record.

use chrono::NaiveDate;
use pg_baostock_core::publication::Kind;
use pg_baostock_core::{clock, Counts, Status, Unit};
use serde_json::json;

use super::reference::{ensure_securities, extend_calendar, refresh_reference};
use super::{backend_interrupt, guard_server, runlog, subtransaction, DayArg, Outcome, Run};
use crate::engine::{self, Runner};
use crate::error::{SyncError, SyncResult};
use crate::guc;
use crate::net::{self, Traffic};
use crate::store;

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
        DayArg::Given(d) => Some(pg_baostock_core::check_day("day", d, today)?),
        DayArg::Latest => None,
    };
    let label = given.map_or_else(|| json!("latest"), |d| json!(d));
    let params = json!({"day": label, "force": force});
    let early = Run::start("sync_date", &params, given);
    if let Err(e) = guard_server() {
        return Err(early.fail(e));
    }

    // Without a day, what is due is what the server has published by its clock: learn it.
    let mut nested = Traffic::default();
    if given.is_none() {
        match net::learn_server_clock() {
            Ok(t) => nested = t,
            Err(e) => return Err(early.fail(e)),
        }
    }
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
            let published = store::published_through(Kind::Daily)?;
            let Some(latest) = store::latest_trading_day(published)? else {
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
                let out = skipped(early, latest, nested + refresh_reference(today));
                // The tracked series' later kinds (minute bars, weeks, months) come out after
                // the day: every scheduled call extends them.
                if let Some(day) = store::newest_synced_day()? {
                    extend_tracked(day);
                }
                return out;
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
    let outcomes = run_days(&days, &params, nested)?;
    if let Some(day) = outcomes.iter().filter(|o| o.status == "ok").filter_map(|o| o.day).max() {
        extend_tracked(day);
    }
    Ok(outcomes)
}

/// After a day is synced: queues the job that extends the tracked series to it (the day's
/// own sync is done, so it never waits for them; a lock is waited on for 10 s at most). A
/// failure is a warning: the day stays synced, and the next sync (or `sync_tracked()`) plans
/// what is missing.
fn extend_tracked(day: NaiveDate) {
    if let Err(e) = subtransaction(|| crate::sync::jobs::track(Some(day))) {
        pgrx::warning!(
            "pg_baostock: the tracked series were not extended to {day}: {} (SQLSTATE {})",
            e.text(),
            e.sqlstate_text()
        );
    }
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
    let mut started = clock::now_secs();
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
                let (status, counts) = engine::apply(&unit, fetched, None, batch)?;
                let note = match &status {
                    Status::Incomplete(why) | Status::Awaiting(why) => Some(why.clone()),
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
                let finished_at = clock::now_secs();
                outcome.traffic = outcome.traffic + logouts;
                outcome.seconds = (finished_at - run.rec.started_at).max(0.0);
                store::add_run_traffic(run_id, logouts.requests, logouts.bytes, finished_at).map(|()| (status, outcome))
            }
            other => other.map(|(status, outcome, _)| (status, outcome)),
        };
        started = clock::now_secs();
        match applied {
            Ok((status, outcome)) => {
                match &status {
                    Status::Ok => {}
                    Status::Empty => pgrx::notice!(
                        "the server has not published {day} yet; it is not marked synced, try again later"
                    ),
                    Status::Incomplete(why) | Status::Awaiting(why) => {
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
