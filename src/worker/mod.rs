//! The static background worker (registered when the library is preloaded): connected to
//! `baostock.worker_database`, it sleeps on its latch, claims queued jobs and runs their
//! units through the engine, each unit's rows and state in one transaction; units that fail
//! get a second pass after `baostock.retry_pause`. A blacklist or a spent budget pauses the
//! job until it lifts. On start it puts units a crash left running back in the queue; on
//! SIGTERM it stops between units; on SIGHUP it reloads the settings. Between and during jobs
//! it keeps house: the shared server state written down, alerts evaluated and delivered, the
//! calendar brought up to date once a China day, old history pruned. Its progress is the
//! `query` of its row in `pg_stat_activity`.
//!
//! `house` is its housekeeping, `job` the run of a job's units. It may use every layer below
//! it: scripts/check-layers.sh.

use std::ffi::CString;
use std::panic::AssertUnwindSafe;
use std::time::Duration;

use pg_baostock_core::clock;
use pgrx::bgworkers::{BackgroundWorker, BackgroundWorkerBuilder, BgWorkerStartTime, SignalWakeFlags};
use pgrx::prelude::*;
use pgrx::{pg_sys, PgTryBuilder};

use crate::error::{SyncError, SyncResult};
use crate::store::jobs as q;
use crate::store::server;
use crate::{guc, shmem, store};

mod house;
mod job;

use house::House;
use job::run_job;

/// The worker's `backend_type` in `pg_stat_activity`.
pub const TYPE: &str = "pg_baostock worker";

/// Sleep between looks at the queue when idle.
const IDLE: Duration = Duration::from_millis(250);
/// How often a running job's state is read (for a cancel) and its progress reported.
const LOOK: Duration = Duration::from_millis(200);
/// How often the shared server state is written down.
const SAVE_EVERY: Duration = Duration::from_secs(1);
/// How often alert conditions are evaluated.
const ALERTS_EVERY: Duration = Duration::from_secs(2);
/// How often the calendar check and the pruning may be tried.
const DAILY_TRY_EVERY: Duration = Duration::from_secs(600);
/// The longest the worker waits for any lock (its `lock_timeout`): a wait on a lock another
/// session holds ends, the unit fails and gets the second pass, and the worker goes on.
pub const LOCK_WAIT: &str = "10s";

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
    shmem::worker_beat(pid(), clock::now_secs() as i64);
}

/// Entry point of the worker.
#[pg_guard]
#[no_mangle]
pub extern "C-unwind" fn pg_baostock_worker_main(_arg: pg_sys::Datum) {
    BackgroundWorker::attach_signal_handlers(SignalWakeFlags::SIGHUP | SignalWakeFlags::SIGTERM);
    let database = guc::worker_database();
    BackgroundWorker::connect_worker_to_spi(Some(&database), None);
    // It runs as the bootstrap superuser: before any other statement, names resolve in
    // pg_catalog alone and lock waits are bounded, for the worker's whole life, and its
    // baostock.* settings are the server's, whatever its database's owner set there.
    if let Err(e) =
        xact(|| store::pin_session(Some(LOCK_WAIT)).and_then(|()| store::settings_from_server_configuration()))
    {
        warning!("{TYPE}: cannot pin its session settings, stopping: {}", e.text());
        // SAFETY: exit code 1 makes the postmaster restart the worker.
        unsafe { pg_sys::proc_exit(1) };
    }
    log!("{TYPE} started in database {database:?}");
    let mut recovered = false;
    let mut house = House::new(database);
    while !stopping() {
        beat();
        house.reload();
        if house.schema_current() {
            if !recovered {
                match xact(|| {
                    q::requeue_orphans()?;
                    server::record_start(pid())?;
                    shmem::restore(server::load()?);
                    Ok(())
                }) {
                    Ok(()) => recovered = true,
                    Err(e) => warning!("{TYPE}: cannot requeue interrupted units: {}", e.text()),
                }
            }
            house.tick();
            match xact(q::claim_job) {
                Ok(Some(job)) => {
                    run_job(job, &mut house);
                    house.tick();
                    continue;
                }
                Ok(None) => {}
                Err(e) => warning!("{TYPE}: cannot read the job queue: {}", e.text()),
            }
        }
        report("idle");
        if !BackgroundWorker::wait_latch(Some(IDLE)) {
            break;
        }
    }
    house.save();
    log!("{TYPE} stopping");
    // Exit code 1: if only this worker was told to stop (pg_terminate_backend), the
    // postmaster starts it again; at a shutdown it does not.
    // SAFETY: the normal end of a background worker.
    unsafe { pg_sys::proc_exit(1) };
}

fn pid() -> i32 {
    // SAFETY: MyProcPid is set for the life of the process.
    unsafe { pg_sys::MyProcPid }
}
