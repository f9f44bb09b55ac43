//! The static background worker (registered when the library is preloaded): connected to
//! `baostock.worker_database`, it sleeps on its latch, claims queued jobs and runs their
//! units through the engine, each unit's rows and state in one transaction. On start it puts
//! units a crash left running back in the queue; on SIGTERM it stops between units; on SIGHUP
//! it reloads the settings. Its progress is the `query` of its row in `pg_stat_activity`.

use std::ffi::CString;
use std::panic::AssertUnwindSafe;
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use pgrx::bgworkers::{BackgroundWorker, BackgroundWorkerBuilder, BgWorkerStartTime, SignalWakeFlags};
use pgrx::prelude::*;
use pgrx::{pg_sys, PgTryBuilder};

use crate::engine::Runner;
use crate::error::{SyncError, SyncResult};
use crate::net::{self, Traffic};
use crate::store::jobs::{self as q, UnitEnd};
use crate::unit::{Status, Unit};
use crate::{guc, jobs, runlog, shmem, store};

/// The worker's `backend_type` in `pg_stat_activity`.
pub const TYPE: &str = "pg_baostock worker";
/// Sleep between looks at the queue when idle.
const IDLE: Duration = Duration::from_millis(250);
/// How often a running job's state is read (for a cancel) and its progress reported.
const LOOK: Duration = Duration::from_millis(200);

/// Registers the worker with the postmaster; call from `_PG_init` while preloading.
pub fn register() {
    BackgroundWorkerBuilder::new(TYPE)
        .set_type(TYPE)
        .set_library("pg_baostock")
        .set_function("pg_baostock_worker_main")
        .enable_spi_access()
        .set_start_time(BgWorkerStartTime::RecoveryFinished)
        .set_restart_time(Some(Duration::from_secs(2)))
        .load();
}

fn stopping() -> bool {
    // SAFETY: a plain read of the flag the SIGTERM handler sets.
    unsafe { pg_sys::ShutdownRequestPending != 0 }
}

/// Runs `f` in a transaction of its own: committed when it returns `Ok`, rolled back when it
/// returns an error or raises one (which comes back as a `SyncError`).
fn xact<R>(f: impl FnOnce() -> SyncResult<R>) -> SyncResult<R> {
    // SAFETY: the worker's top-level transaction handling, as in Postgres' worker_spi.
    unsafe {
        pg_sys::SetCurrentStatementStartTimestamp();
        pg_sys::StartTransactionCommand();
        pg_sys::PushActiveSnapshot(pg_sys::GetTransactionSnapshot());
    }
    let result = PgTryBuilder::new(AssertUnwindSafe(f))
        .catch_others(|caught| Err(SyncError::caught(&caught)))
        .execute();
    // SAFETY: ends the transaction started above.
    unsafe {
        if result.is_ok() {
            pg_sys::PopActiveSnapshot();
            pg_sys::CommitTransactionCommand();
        } else {
            pg_sys::AbortCurrentTransaction();
        }
    }
    result
}

fn report(activity: &str) {
    if let Ok(c) = CString::new(activity) {
        // SAFETY: pgstat copies the string.
        unsafe { pg_sys::pgstat_report_activity(pg_sys::BackendState::STATE_RUNNING, c.as_ptr()) };
    }
}

fn beat() {
    // SAFETY: MyProcPid is set for the life of the process.
    let pid = unsafe { pg_sys::MyProcPid };
    shmem::worker_beat(pid, runlog::now() as i64);
}

/// Entry point of the worker.
#[pg_guard]
#[no_mangle]
pub extern "C-unwind" fn pg_baostock_worker_main(_arg: pg_sys::Datum) {
    BackgroundWorker::attach_signal_handlers(SignalWakeFlags::SIGHUP | SignalWakeFlags::SIGTERM);
    let database = guc::worker_database();
    BackgroundWorker::connect_worker_to_spi(Some(&database), None);
    log!("{TYPE} started in database {database:?}");
    let mut recovered = false;
    while !stopping() {
        beat();
        if BackgroundWorker::sighup_received() {
            // SAFETY: what every process does on SIGHUP, outside a transaction.
            unsafe { pg_sys::ProcessConfigFile(pg_sys::GucContext::PGC_SIGHUP) };
            if guc::worker_database() != database {
                log!("{TYPE}: baostock.worker_database changed; restarting to connect there");
                // SAFETY: exit code 1 makes the postmaster restart the worker.
                unsafe { pg_sys::proc_exit(1) };
            }
        }
        let installed = xact(|| {
            Spi::get_one::<bool>("SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_baostock')")
                .map(|b| b.unwrap_or(false))
                .map_err(store::spi_err)
        });
        if installed.unwrap_or(false) {
            if !recovered {
                match xact(q::requeue_orphans) {
                    Ok(()) => recovered = true,
                    Err(e) => warning!("{TYPE}: cannot requeue interrupted units: {e}"),
                }
            }
            match xact(q::claim_job) {
                Ok(Some(job)) => {
                    run_job(job);
                    continue;
                }
                Ok(None) => {}
                Err(e) => warning!("{TYPE}: cannot read the job queue: {e}"),
            }
        }
        report("idle");
        if !BackgroundWorker::wait_latch(Some(IDLE)) {
            break;
        }
    }
    log!("{TYPE} stopping");
}

/// How a pass over a job's queued units ended.
enum Pass {
    /// Every unit reached a final state.
    Finished,
    Cancelled,
    /// The worker is stopping: the job goes back to the queue.
    Stopping,
}

fn run_job(job: i64) {
    log!("{TYPE}: running job {job}");
    loop {
        let units = match xact(|| q::take_units(job)) {
            Ok(u) => u,
            Err(e) => return give_up(job, &e),
        };
        if units.is_empty() {
            // The days the server had no all-market answer for become per-code units, once.
            let next = xact(|| match q::replan_empty_days(job)? {
                0 => q::finish_job(job).map(Some),
                _ => Ok(None),
            });
            match next {
                Ok(None) => continue,
                Ok(Some(state)) => {
                    log!("{TYPE}: job {job} ended: {state}");
                    return;
                }
                Err(e) => return give_up(job, &e),
            }
        }
        match run_pass(job, units) {
            Ok(Pass::Finished) => continue,
            Ok(Pass::Cancelled) => {
                if let Err(e) = xact(|| q::release_running(job, "cancelled")) {
                    warning!("{TYPE}: job {job}: {e}");
                }
                log!("{TYPE}: job {job} cancelled");
                return;
            }
            Ok(Pass::Stopping) => {
                let _ = xact(|| {
                    q::release_running(job, "queued")?;
                    q::requeue_job(job)
                });
                return;
            }
            Err(e) => return give_up(job, &e),
        }
    }
}

fn give_up(job: i64, e: &SyncError) {
    warning!("{TYPE}: job {job} failed: {e}");
    let msg = e.to_string();
    if let Err(e2) = xact(|| {
        q::release_running(job, "queued")?;
        q::fail_job(job, &msg)
    }) {
        warning!("{TYPE}: job {job}: cannot record the failure: {e2}");
    }
}

fn run_pass(job: i64, units: Vec<(i32, Unit)>) -> SyncResult<Pass> {
    let (numbers, list): (Vec<i32>, Vec<Unit>) = units.into_iter().unzip();
    let (base_requests, base_bytes) = xact(|| q::job_traffic(job))?;
    let today = xact(store::china_today)?;
    // One of the cluster's sessions is left to sync_date, so a long backfill never holds up
    // the daily sync.
    let pool = net::pool(Some(jobs::worker_sessions()))?;
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
                if let Ok(line) = xact(|| jobs::progress_line(job)) {
                    report(&line);
                }
                if xact(|| q::job_state(job)).ok().flatten().as_deref() == Some("cancelled") {
                    cancelled = true;
                    return Some(SyncError::Interrupted);
                }
            }
            None
        };
        match runner.next(&mut interrupted) {
            Ok(Some((seq, answer))) => {
                let (requests, bytes) = traffic(runner.traffic());
                apply(job, numbers[seq], &list[seq], answer, today, batch, requests, bytes);
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

/// Applies one answer with its unit's checkpoint, or records why it failed.
#[allow(clippy::too_many_arguments)]
fn apply(
    job: i64,
    no: i32,
    unit: &Unit,
    answer: SyncResult<crate::unit::Fetched>,
    today: NaiveDate,
    batch: usize,
    requests: i64,
    bytes: i64,
) {
    let written = answer.and_then(|fetched| {
        xact(|| {
            let (status, counts) = unit.apply(fetched, Some(job), batch)?;
            let end = match status {
                Status::Ok => UnitEnd {
                    state: "done",
                    rows: counts.total(),
                    sqlstate: None,
                    message: None,
                },
                // A past day without an all-market answer is fetched per code instead.
                Status::Empty if matches!(unit, Unit::Day(d) if *d < today) => UnitEnd {
                    state: "empty",
                    rows: 0,
                    sqlstate: None,
                    message: None,
                },
                Status::Empty => UnitEnd {
                    state: "failed",
                    rows: 0,
                    sqlstate: None,
                    message: Some("the server has not published this day yet".into()),
                },
                Status::Incomplete(why) => UnitEnd {
                    state: "failed",
                    rows: 0,
                    sqlstate: None,
                    message: Some(why),
                },
            };
            q::finish_unit(job, no, &end, requests, bytes)
        })
    });
    if let Err(e) = written {
        warning!("{TYPE}: job {job} unit {no} ({}) failed: {e}", unit.kind());
        let end = UnitEnd {
            state: "failed",
            rows: 0,
            sqlstate: Some(e.sqlstate_text()),
            message: Some(e.to_string()),
        };
        if let Err(e2) = xact(|| q::finish_unit(job, no, &end, requests, bytes)) {
            warning!("{TYPE}: job {job} unit {no}: cannot record the failure: {e2}");
        }
    }
}
