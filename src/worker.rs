//! The static background worker (registered when the library is preloaded): connected to
//! `baostock.worker_database`, it sleeps on its latch, claims queued jobs and runs their
//! units through the engine, each unit's rows and state in one transaction; units that fail
//! get a second pass after `baostock.retry_pause`. A blacklist or a spent budget pauses the
//! job until it lifts. On start it puts units a crash left running back in the queue; on
//! SIGTERM it stops between units; on SIGHUP it reloads the settings. Between and during jobs
//! it keeps house: the shared server state written down, alerts evaluated and delivered, the
//! calendar brought up to date once a China day, old history pruned. Its progress is the
//! `query` of its row in `pg_stat_activity`.

use std::ffi::CString;
use std::panic::AssertUnwindSafe;
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use pgrx::bgworkers::{BackgroundWorker, BackgroundWorkerBuilder, BgWorkerStartTime, SignalWakeFlags};
use pgrx::prelude::*;
use pgrx::{pg_sys, PgTryBuilder};

use crate::engine::Runner;
use crate::error::{Stop, SyncError, SyncResult};
use crate::net::{self, Traffic};
use crate::store::jobs::{self as q, UnitEnd};
use crate::store::server;
use crate::unit::{Status, Unit};
use crate::{guc, jobs, runlog, shmem, store};

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
    shmem::worker_beat(pid(), runlog::now() as i64);
}

/// Entry point of the worker.
#[pg_guard]
#[no_mangle]
pub extern "C-unwind" fn pg_baostock_worker_main(_arg: pg_sys::Datum) {
    BackgroundWorker::attach_signal_handlers(SignalWakeFlags::SIGHUP | SignalWakeFlags::SIGTERM);
    let database = guc::worker_database();
    BackgroundWorker::connect_worker_to_spi(Some(&database), None);
    // It runs as the bootstrap superuser: before any other statement, names resolve in
    // pg_catalog alone and lock waits are bounded, for the worker's whole life.
    if let Err(e) = xact(|| store::pin_session(Some(LOCK_WAIT))) {
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

/// The worker's housekeeping, each part at its own pace.
struct House {
    database: String,
    saved: Option<shmem::ServerState>,
    last_save: Instant,
    last_alerts: Instant,
    last_daily: Option<Instant>,
    /// Whether the database's extension version was this library's at the last look.
    schema_ok: bool,
    /// Why the worker waits, as the log was last told it.
    told: Option<String>,
    /// Posts alerts to the webhook on a thread of its own (started with the first).
    courier: Option<crate::webhook::Courier>,
    backoff: crate::webhook::Backoff,
}

impl House {
    fn new(database: String) -> House {
        let long_ago = Instant::now() - ALERTS_EVERY * 10;
        House {
            database,
            saved: None,
            last_save: long_ago,
            last_alerts: long_ago,
            last_daily: None,
            schema_ok: false,
            told: None,
            courier: None,
            backoff: Default::default(),
        }
    }

    /// Does whatever is due: reload the settings, write the server state down, evaluate and
    /// deliver alerts, and once a China day bring the calendar up to date and prune.
    fn tick(&mut self) {
        self.reload();
        if self.last_save.elapsed() >= SAVE_EVERY {
            self.save();
        }
        if self.last_alerts.elapsed() >= ALERTS_EVERY {
            self.last_alerts = Instant::now();
            self.alerts();
        }
        if self.last_daily.is_none_or(|t| t.elapsed() >= DAILY_TRY_EVERY) {
            self.last_daily = Some(Instant::now());
            self.daily();
        }
    }

    /// Whether the database holds the SQL of this library's version; while not (before
    /// `CREATE EXTENSION`, or between a new library and `ALTER EXTENSION pg_baostock UPDATE`) the
    /// worker waits, and says why once in the log.
    fn schema_current(&mut self) -> bool {
        let ready = xact(store::require_current_schema);
        self.schema_ok = ready.is_ok();
        match ready {
            Ok(()) => self.told = None,
            Err(e) => {
                let why = match e.hint() {
                    Some(hint) => format!("{e} ({hint})"),
                    None => e.to_string(),
                };
                if self.told.as_ref() != Some(&why) {
                    log!("{TYPE}: waiting in database {:?}: {why}", self.database);
                    self.told = Some(why);
                }
            }
        }
        self.schema_ok
    }

    /// Rereads the settings after a SIGHUP; a new `baostock.worker_database` restarts the worker.
    fn reload(&mut self) {
        if !BackgroundWorker::sighup_received() {
            return;
        }
        // SAFETY: what every process does on SIGHUP, outside a transaction.
        unsafe { pg_sys::ProcessConfigFile(pg_sys::GucContext::PGC_SIGHUP) };
        if guc::worker_database() != self.database {
            log!("{TYPE}: baostock.worker_database changed; restarting to connect there");
            self.save();
            // SAFETY: exit code 1 makes the postmaster restart the worker.
            unsafe { pg_sys::proc_exit(1) };
        }
    }

    /// Writes the shared server state to `baostock.server_state` when it changed (never into a
    /// database whose schema is not this library's).
    fn save(&mut self) {
        self.last_save = Instant::now();
        if !self.schema_ok {
            return;
        }
        let Some(now) = shmem::server_state() else { return };
        if self.saved == Some(now) {
            return;
        }
        match xact(|| server::save(&now)) {
            Ok(()) => self.saved = Some(now),
            Err(e) => warning!("{TYPE}: cannot save the server state: {}", e.text()),
        }
    }

    /// Raises and clears alerts, hands the undelivered ones whose pause is over to the courier
    /// (which posts them on its own thread), and records the deliveries it finished.
    fn alerts(&mut self) {
        let webhook = guc::alert_webhook();
        let pending = match xact(|| server::evaluate_alerts(webhook.is_some())) {
            Ok(p) => p,
            Err(e) => return warning!("{TYPE}: cannot evaluate alerts: {}", e.text()),
        };
        self.record_deliveries();
        let Some(url) = webhook else { return };
        let now = Instant::now();
        self.backoff
            .keep_only(&pending.iter().map(|a| a.id).collect::<Vec<_>>());
        for alert in pending {
            if self.backoff.take(alert.id, now) {
                let courier = self.courier.get_or_insert_with(crate::webhook::Courier::start);
                courier.send(crate::webhook::Parcel {
                    id: alert.id,
                    url: url.clone(),
                    json: alert.json,
                });
            }
        }
    }

    /// Writes down what became of the deliveries the courier finished.
    fn record_deliveries(&mut self) {
        let Some(courier) = &self.courier else { return };
        for (id, result) in courier.delivered() {
            self.backoff.ended(id, result.is_ok(), Instant::now());
            let error = result.err();
            if let Some(e) = &error {
                warning!("{TYPE}: alert {id} not delivered: {e}");
            }
            if let Err(e) = xact(|| server::set_delivered(id, error.as_deref())) {
                warning!("{TYPE}: alert {id}: {}", e.text());
            }
        }
    }

    /// Once a China day: the calendar through today (so health knows which day is due even
    /// when no sync runs), and the pruning of old history.
    fn daily(&mut self) {
        let done = xact(|| {
            let today = store::china_today()?;
            if server::calendar_checked()? == Some(today) {
                return Ok(true);
            }
            server::prune(guc::retention_days())?;
            Ok(false)
        });
        if done.unwrap_or(true) {
            return;
        }
        let refreshed = xact(|| {
            let today = store::china_today()?;
            // A calendar nobody has synced yet is the user's to start.
            if store::calendar_end()?.is_some() {
                crate::sync::extend_calendar(None, today)?;
            }
            server::set_calendar_checked(today)
        });
        if let Err(e) = refreshed {
            warning!("{TYPE}: cannot bring the calendar up to date: {}", e.text());
        }
    }
}

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

fn run_job(job: i64, house: &mut House) {
    log!("{TYPE}: running job {job}");
    let mut second_pass = false;
    loop {
        let units = match xact(|| q::take_units(job)) {
            Ok(u) => u,
            Err(e) => return give_up(job, &e),
        };
        let pass = if units.is_empty() {
            // The days the server had no all-market answer for become per-code units, once.
            match xact(|| q::replan_empty_days(job)) {
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
                if let Err(e) = xact(|| q::release_running(job, "cancelled")) {
                    warning!("{TYPE}: job {job}: {}", e.text());
                }
                return log!("{TYPE}: job {job} cancelled");
            }
            Pass::Stopping => {
                let _ = xact(|| {
                    q::release_running(job, "queued")?;
                    q::requeue_job(job)
                });
                return;
            }
            Pass::Paused(stop) => {
                let until = match stop {
                    Stop::Budget => shmem::now_ms() + shmem::ms_to_next_server_day(),
                    Stop::Blacklisted => shmem::server_state()
                        .map_or(0, |s| s.blacklisted_until)
                        .max(shmem::now_ms() + 1000),
                };
                if let Err(e) = xact(|| q::pause_job(job, stop.word(), until)) {
                    return give_up(job, &e);
                }
                house.save();
                return log!(
                    "{TYPE}: job {job} paused ({}) until {}",
                    stop.word(),
                    shmem::utc_text(until)
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
        if xact(|| q::job_state(job)).ok().flatten().as_deref() == Some("cancelled") {
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
        q::release_running(job, "queued")?;
        q::fail_job(job, &msg)
    }) {
        warning!("{TYPE}: job {job}: cannot record the failure: {}", e2.text());
    }
}

fn run_pass(job: i64, units: Vec<(i32, Unit)>, house: &mut House) -> SyncResult<Pass> {
    let (numbers, list): (Vec<i32>, Vec<Unit>) = units.into_iter().unzip();
    let (base_requests, base_bytes) = xact(|| q::job_traffic(job))?;
    let today = xact(store::china_today)?;
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
    answer: SyncResult<crate::unit::Fetched>,
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
        warning!("{TYPE}: job {job} unit {no} ({}) failed: {}", unit.kind(), e.text());
        let end = UnitEnd {
            state: "failed",
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
