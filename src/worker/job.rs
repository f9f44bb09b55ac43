//! A job's run: passes over its queued units through the engine, each unit's rows and state in
//! one transaction, a second pass for what failed, and a pause when the budget is spent or the
//! server blacklisted us.

use std::time::{Duration, Instant};

use chrono::NaiveDate;
use pg_baostock_core::states::{JobState, UnitState};
use pg_baostock_core::{clock, Status, Unit};
use pgrx::bgworkers::BackgroundWorker;
use pgrx::prelude::*;

use super::house::House;
use super::{beat, report, stopping, xact, LOOK, TYPE};
use crate::engine::{self, Runner};
use crate::error::{Stop, SyncError, SyncResult};
use crate::net::{self, Traffic};
use crate::store::jobs::{self as q, UnitEnd};
use crate::sync::jobs;
use crate::{guc, shmem, store};

/// How a pass over a job's queued units ended.
enum Pass {
    /// Every unit reached a final state.
    Finished,
    Cancelled,
    /// The worker is stopping: the job goes back to the queue.
    Stopping,
    /// Nothing may be sent for now: the job pauses.
    Paused(Stop),
}

pub(super) fn run_job(job: i64, house: &mut House) {
    log!("{TYPE}: running job {job}");
    let mut second_pass = false;
    loop {
        let units = match xact(|| q::take_units(job)) {
            Ok(u) => u,
            Err(e) => return give_up(job, &e),
        };
        let pass = if units.is_empty() {
            // The days the server had no all-market answer for become per-code units, once;
            // index lists that differ more than a week apart get the list halfway between.
            match xact(|| Ok(q::replan_empty_days(job)? + q::bisect_lists(job)?)) {
                Ok(0) => {}
                Ok(_) => continue,
                Err(e) => return give_up(job, &e),
            }
            // What failed gets one more pass, after a pause.
            if !second_pass && xact(|| q::has_failed_units(job)).unwrap_or(false) {
                second_pass = true;
                match pause(job, guc::retry_pause(), house) {
                    Pass::Finished => match xact(|| q::requeue_failed(job)) {
                        Ok(n) => {
                            log!("{TYPE}: job {job}: second pass over {n} failed units");
                            continue;
                        }
                        Err(e) => return give_up(job, &e),
                    },
                    other => other,
                }
            } else {
                match xact(|| q::finish_job(job)) {
                    Ok(state) => return log!("{TYPE}: job {job} ended: {state}"),
                    Err(e) => return give_up(job, &e),
                }
            }
        } else {
            match run_pass(job, units, house) {
                Ok(p) => p,
                Err(e) => return give_up(job, &e),
            }
        };
        match pass {
            Pass::Finished => continue,
            Pass::Cancelled => {
                if let Err(e) = xact(|| q::release_running(job, UnitState::Cancelled)) {
                    warning!("{TYPE}: job {job}: {}", e.text());
                }
                return log!("{TYPE}: job {job} cancelled");
            }
            Pass::Stopping => {
                let _ = xact(|| {
                    q::release_running(job, UnitState::Queued)?;
                    q::requeue_job(job)
                });
                return;
            }
            Pass::Paused(stop) => {
                let until = match stop {
                    Stop::Budget => clock::now_ms() + shmem::ms_to_next_server_day(),
                    Stop::Blacklisted => shmem::server_state()
                        .map_or(0, |s| s.blacklisted_until)
                        .max(clock::now_ms() + 1000),
                };
                if let Err(e) = xact(|| q::pause_job(job, stop.word(), until)) {
                    return give_up(job, &e);
                }
                house.save();
                return log!(
                    "{TYPE}: job {job} paused ({}) until {}",
                    stop.word(),
                    clock::utc_text(until)
                );
            }
        }
    }
}

/// Waits `how_long` between passes, beating and keeping house, unless the job is cancelled
/// or the worker stops first (`Finished` when the wait ran out).
fn pause(job: i64, how_long: Duration, house: &mut House) -> Pass {
    let until = Instant::now() + how_long;
    report(&format!(
        "job {job}: pausing {} s before the second pass",
        how_long.as_secs()
    ));
    while Instant::now() < until {
        if stopping() {
            return Pass::Stopping;
        }
        beat();
        house.tick();
        if xact(|| q::job_state(job)).ok().flatten() == Some(JobState::Cancelled) {
            return Pass::Cancelled;
        }
        if !BackgroundWorker::wait_latch(Some(LOOK.min(until.saturating_duration_since(Instant::now())))) {
            return Pass::Stopping;
        }
    }
    Pass::Finished
}

fn give_up(job: i64, e: &SyncError) {
    warning!("{TYPE}: job {job} failed: {}", e.text());
    let msg = e.text();
    if let Err(e2) = xact(|| {
        q::release_running(job, UnitState::Queued)?;
        q::fail_job(job, &msg)
    }) {
        warning!("{TYPE}: job {job}: cannot record the failure: {}", e2.text());
    }
}

fn run_pass(job: i64, units: Vec<(i32, Unit)>, house: &mut House) -> SyncResult<Pass> {
    let (numbers, list): (Vec<i32>, Vec<Unit>) = units.into_iter().unzip();
    let (base_requests, base_bytes) = xact(|| q::job_traffic(job))?;
    // A day the server has published whose 98 is empty has no all-market history.
    let today = xact(|| store::published_through(pg_baostock_core::publication::Kind::Daily))?;
    // One of the cluster's sessions is left to sync_date, so a long backfill never holds up
    // the daily sync.
    let pool = net::pool(Some(jobs::worker_sessions()), net::Budget::LessReserve)?;
    let window = pool.config().max_sessions * 2;
    let batch = guc::batch_rows();
    let mut runner = Runner::start(list.clone(), pool, window)?;
    let traffic = |t: Traffic| (base_requests + t.requests, base_bytes + t.bytes);
    let mut cancelled = false;
    let mut last_look = Instant::now() - LOOK;
    let pass = loop {
        let mut interrupted = || -> Option<SyncError> {
            if stopping() {
                return Some(SyncError::Interrupted);
            }
            if last_look.elapsed() >= LOOK {
                last_look = Instant::now();
                beat();
                house.tick();
                if let Ok(line) = xact(|| jobs::progress_line(job)) {
                    report(&line);
                }
                if xact(|| q::job_state(job)).ok().flatten() == Some(JobState::Cancelled) {
                    cancelled = true;
                    return Some(SyncError::Interrupted);
                }
            }
            None
        };
        match runner.next(&mut interrupted) {
            Ok(Some((seq, answer))) => {
                let (requests, bytes) = traffic(runner.traffic());
                if let Some(stop) = apply(job, numbers[seq], &list[seq], answer, today, batch, requests, bytes) {
                    break Pass::Paused(stop);
                }
            }
            Ok(None) => break Pass::Finished,
            Err(_) if cancelled => break Pass::Cancelled,
            Err(_) => break Pass::Stopping,
        }
    };
    let (requests, bytes) = traffic(runner.finish());
    xact(|| q::set_job_traffic(job, requests, bytes))?;
    Ok(pass)
}

/// Applies one answer with its unit's checkpoint, or records why it failed; a blacklist or a
/// spent budget leaves the unit to a later pass and says so.
#[allow(clippy::too_many_arguments)]
fn apply(
    job: i64,
    no: i32,
    unit: &Unit,
    answer: SyncResult<crate::engine::Fetched>,
    today: NaiveDate,
    batch: usize,
    requests: i64,
    bytes: i64,
) -> Option<Stop> {
    if let Err(e) = &answer {
        if let Some(stop) = e.stops_fetching() {
            return Some(stop);
        }
    }
    let written = answer.and_then(|fetched| {
        xact(|| {
            let (status, counts) = engine::apply(unit, fetched, Some(job), batch)?;
            let end = match status {
                Status::Ok => UnitEnd {
                    state: UnitState::Done,
                    rows: counts.total(),
                    sqlstate: None,
                    message: None,
                },
                // A past day without an all-market answer is fetched per code instead.
                Status::Empty if matches!(unit, Unit::Day(d) if *d < today) => UnitEnd {
                    state: UnitState::Empty,
                    rows: 0,
                    sqlstate: None,
                    message: None,
                },
                Status::Empty => UnitEnd {
                    state: UnitState::Failed,
                    rows: 0,
                    sqlstate: None,
                    message: Some("the server has not published this day yet".into()),
                },
                Status::Incomplete(why) | Status::Awaiting(why) => UnitEnd {
                    state: UnitState::Failed,
                    rows: 0,
                    sqlstate: None,
                    message: Some(why),
                },
            };
            q::finish_unit(job, no, &end, requests, bytes)
        })
    });
    if let Err(e) = written {
        warning!("{TYPE}: job {job} unit {no} ({}) failed: {}", unit.kind(), e.text());
        let end = UnitEnd {
            state: UnitState::Failed,
            rows: 0,
            sqlstate: Some(e.sqlstate_text()),
            message: Some(e.text()),
        };
        if let Err(e2) = xact(|| q::finish_unit(job, no, &end, requests, bytes)) {
            warning!("{TYPE}: job {job} unit {no}: cannot record the failure: {}", e2.text());
        }
    }
    None
}
