//! Backfill jobs as users see them: the planner (units from `backfill()`'s arguments, with
//! estimates), queueing, `wait` and `cancel`. The worker runs the units.

use std::time::{Duration, Instant};

use baostock::value::Frequency;
use chrono::NaiveDate;
use pg_baostock_core::plan::{days_under_budget, Costs, PlanRow, ASSUMED_LATENCY_S, ASSUMED_WRITE_RATE};
use pg_baostock_core::publication::{self, Kind};
use pg_baostock_core::states::{JobKind, JobState};
use pg_baostock_core::Unit;
use serde_json::json;

use crate::error::{SyncError, SyncResult};
use crate::latch;
use crate::store;
use crate::store::jobs::{self as q, JobArgs};
use crate::sync;
use crate::{guc, shmem};

/// Seconds between two progress NOTICEs of `wait`.
const NOTICE_EVERY: Duration = Duration::from_secs(2);

/// Validated arguments of `backfill()` and `plan()`.
pub struct Args {
    pub start: NaiveDate,
    pub end: Option<NaiveDate>,
    pub codes: Option<Vec<String>>,
    pub frequency: String,
    pub force: bool,
    /// Whether codes without their whole factor history get it.
    pub factors: bool,
}

/// A plan: the units, and the figures users see.
pub struct Plan {
    pub start: NaiveDate,
    pub end: NaiveDate,
    pub units: Vec<Unit>,
    pub rows: Vec<PlanRow>,
    pub est_requests: i64,
    pub est_seconds: f64,
    pub summary: serde_json::Value,
}

fn check_frequency(f: &str) -> SyncResult<Frequency> {
    f.parse().map_err(|_| SyncError::InvalidArgument {
        message: format!("unknown frequency {f:?}"),
        hint: Some("Frequencies are d, w, m, 5, 15, 30 and 60.".into()),
        null: false,
    })
}

/// Validates the arguments, brings the calendar and securities up to date where they fall
/// short, and plans the units, by the server's clock as the last login reply showed it.
pub fn plan(args: &Args) -> SyncResult<Plan> {
    plan_by(args, ServerClock::LastSeen)
}

/// Which server clock a plan goes by: the one the last login reply showed, or one learnt by a
/// login first (what a job will ask for is what the server has published now).
#[derive(Clone, Copy, PartialEq, Eq)]
enum ServerClock {
    LastSeen,
    Learnt,
}

fn plan_by(args: &Args, clock: ServerClock) -> SyncResult<Plan> {
    let frequency = check_frequency(&args.frequency)?;
    let today = store::china_today()?;
    pg_baostock_core::check_not_before_first("start_date", args.start)?;
    if let Some(end) = args.end {
        pg_baostock_core::check_day("end_date", end, today)?;
    }
    if args.start > args.end.unwrap_or(today) {
        return Err(SyncError::invalid(format!(
            "start_date {} is after end_date {}",
            args.start,
            args.end.unwrap_or(today)
        )));
    }
    if let Some(codes) = &args.codes {
        check_code_shapes(codes, "every stock and ETF")?;
    }
    sync::extend_calendar(None, args.end.unwrap_or(today))?;
    sync::reference::ensure_securities()?;
    if let Some(codes) = &args.codes {
        check_known_codes(codes)?;
        if frequency.minutes().is_some() {
            let indices = q::indices_among(codes)?;
            if !indices.is_empty() {
                return Err(SyncError::InvalidArgument {
                    message: format!("the server has no minute bars of indices: {}", indices.join(", ")),
                    hint: Some("Ask for their daily, weekly or monthly bars instead.".into()),
                    null: false,
                });
            }
        }
    }
    // The arguments are good: what is due is what the server has published by its clock. A
    // clock that cannot be learnt now (a budget spent, a blacklist) leaves the last one seen:
    // the job is queued all the same and its units wait as they would.
    if clock == ServerClock::Learnt {
        learn_server_clock_for_plan();
    }
    let published = store::published_through(Kind::of(frequency))?;
    let end = match args.end {
        Some(e) => e,
        None => store::latest_trading_day(published)?.unwrap_or(published),
    };
    let etfs = match &args.codes {
        None => true,
        Some(codes) => q::has_etfs(codes)?,
    };
    left_out(frequency, args.start, end, published, etfs);
    let codes = match &args.codes {
        None if frequency == Frequency::Daily => None,
        None => Some(q::listed_codes(args.start, end)?),
        Some(codes) => Some(codes.clone()),
    };
    // Every code whose bars are stored gets its whole factor history once (adjusted prices
    // need the factor in force on its first bar); daily syncs keep it current.
    // A day is synced with its factors: days whose factors are not out yet are sync_date's.
    let factors_published = store::published_through(Kind::Factors)?;
    if codes.is_none() && end > factors_published {
        pgrx::notice!(
            "pg_baostock: the adjust factors of days after {factors_published} are not published yet (18:00 China time): sync_date() syncs those days after that"
        );
    }
    let mut units = match &codes {
        None => q::plan_days(args.start, end.min(factors_published), args.force)?
            .into_iter()
            .map(Unit::Day)
            .collect(),
        Some(codes) => q::plan_ranges(codes, frequency, args.start, end, args.force, published)?,
    };
    let factor_codes = match codes {
        _ if !args.factors => Vec::new(),
        Some(c) => c,
        None => q::listed_codes(args.start, end)?,
    };
    // A history reaches today whatever the job's end (one request however long it is): the
    // forward-adjusted prices of every day depend on the code's latest factor. Histories go
    // first: bars written after them are adjusted as they are written, while a history
    // written after its bars adjusts them again (a second write of each).
    let mut factor_units = q::plan_factors(&factor_codes, factors_published, args.force)?;
    factor_units.append(&mut units);
    let units = factor_units;
    let mut plan = estimate(args, end, units)?;
    plan.rows.extend(tracking_a_day(end)?);
    Ok(plan)
}

/// Refuses an empty list of codes (`all` names what NULL asks for) and a code not shaped like
/// one, before anything is looked up.
pub(crate) fn check_code_shapes(codes: &[String], all: &str) -> SyncResult<()> {
    if codes.is_empty() {
        return Err(SyncError::InvalidArgument {
            message: "codes is an empty array".into(),
            hint: Some(format!("Pass NULL (the default) for {all}.")),
            null: false,
        });
    }
    if let Some(bad) = codes.iter().find(|c| c.len() != 9 || !c.is_ascii()) {
        return Err(SyncError::invalid(format!(
            "{bad:?} is not a Baostock code (like sh.600000)"
        )));
    }
    Ok(())
}

/// Refuses codes `baostock.securities` does not list.
pub(crate) fn check_known_codes(codes: &[String]) -> SyncResult<()> {
    let unknown = q::unknown_codes(codes)?;
    if !unknown.is_empty() {
        return Err(SyncError::InvalidArgument {
            message: format!("unknown codes: {}", unknown.join(", ")),
            hint: Some("Codes come from baostock.securities (SELECT baostock.sync_securities() refreshes it).".into()),
            null: false,
        });
    }
    Ok(())
}

/// Logs in once so that a plan goes by the server's clock now (what a job will ask for is
/// what the server has published); a clock that cannot be learnt now (a spent budget, a
/// blacklist) leaves the last one seen, and says so.
pub(crate) fn learn_server_clock_for_plan() {
    if let Err(e) = crate::net::learn_server_clock() {
        pgrx::notice!(
            "pg_baostock: the server's clock was not read ({}); planned by the one its last login showed",
            e.text()
        );
    }
}

/// Says what of `start..=end` the server does not have (yet) at `frequency`, so asks nothing
/// of it: days after its last published one, minute bars before its minute history, ETF bars
/// before its ETF history (when `etfs`: the plan may have ETFs).
fn left_out(frequency: Frequency, start: NaiveDate, end: NaiveDate, published: NaiveDate, etfs: bool) {
    if end > published {
        pgrx::notice!(
            "pg_baostock: {} bars after {published} are not published yet (the server publishes them at {} China time); they are left out",
            Kind::of(frequency).name(),
            Kind::of(frequency).hour().format("%H:%M")
        );
    }
    let kind = Kind::of(frequency).name();
    let minute_start = guc::minute_history_start();
    if let Some(floor) = publication::history_start(frequency, 1, minute_start).filter(|f| start < *f) {
        pgrx::notice!("pg_baostock: the server has no {kind} bars before {floor}; those days are left out");
    } else if let Some(floor) = publication::history_start(frequency, 5, minute_start).filter(|f| etfs && start < *f) {
        pgrx::notice!("pg_baostock: the server has no {kind} bars of ETFs before {floor}; those are left out");
    }
}

/// What keeping the tracked series current costs each evening (beside the backfill, not in
/// its total); `None` when nothing is tracked.
fn tracking_a_day(day: NaiveDate) -> SyncResult<Option<PlanRow>> {
    let series = q::tracked_series(day)?.len() as i64;
    if series == 0 {
        return Ok(None);
    }
    let indexes = q::tracked_indexes()?.len() as i64;
    Ok(Some(pg_baostock_core::plan::tracking_a_day(
        series,
        indexes,
        worker_sessions(),
    )))
}

/// Estimates the units (`pg_baostock_core::plan::estimate`) by the stored calendar and
/// listings and the settings, with the summary `sync_jobs.plan` keeps.
fn estimate(args: &Args, end: NaiveDate, units: Vec<Unit>) -> SyncResult<Plan> {
    let costs = Costs {
        sessions: worker_sessions(),
        // A range is asked in pages of net::HISTORY_PAGE rows (not the client's per_page).
        per_page: crate::net::HISTORY_PAGE,
        budget: guc::daily_request_budget(),
        listed: (store::listed(end, 1)? + store::listed(end, 5)?) as f64,
    };
    let estimate =
        pg_baostock_core::plan::estimate(&units, &costs, |start, end| q::trading_days(start, end).unwrap_or(0));
    let rows = estimate.rows;
    let summary = json!({
        "units": rows.iter().filter(|r| r.kind != "total").map(|r| (r.kind, r.units)).collect::<std::collections::BTreeMap<_, _>>(),
        "trading_days": q::trading_days(args.start, end)?,
        "est_requests": estimate.requests,
        "est_seconds": estimate.seconds,
        "est_days": days_under_budget(estimate.requests, costs.budget),
        "assumed": {"latency_s": ASSUMED_LATENCY_S, "write_rows_per_s": ASSUMED_WRITE_RATE, "sessions": costs.sessions as f64, "daily_request_budget": costs.budget},
    });
    Ok(Plan {
        start: args.start,
        end,
        units,
        rows,
        est_requests: estimate.requests,
        est_seconds: estimate.seconds,
        summary,
    })
}

/// Queues the job that extends every tracked series to `day` (default: the newest synced
/// day), after bringing the tracked indices' constituent lists to that day; returns its id,
/// or `None` when nothing is tracked, nothing is missing, or a tracking job is still
/// unfinished (it is not doubled; the next call plans what it left). Lock waits are bounded.
pub fn track(day: Option<NaiveDate>) -> SyncResult<Option<i64>> {
    // It runs in the caller's transaction (sync_date's, or sync_tracked()'s): no lock another
    // session holds (a row of index_constituents, say) stalls it for long.
    store::with_bounded_lock_waits(|| queue_tracking(day))
}

fn queue_tracking(day: Option<NaiveDate>) -> SyncResult<Option<i64>> {
    if !q::tracking_anything()? {
        return Ok(None);
    }
    check_worker_can_run("sync_tracked")?;
    let today = store::china_today()?;
    let day = match day {
        Some(d) => pg_baostock_core::check_day("day", d, today)?,
        None => match store::newest_synced_day()? {
            Some(d) => d,
            None => store::latest_trading_day(today)?.unwrap_or(today),
        },
    };
    if let Some(job) = q::unfinished_track_job()? {
        pgrx::notice!("pg_baostock: tracking job {job} is not finished; the tracked series are extended after it");
        return Ok(None);
    }
    if !q::tracked_indexes()?.is_empty() {
        sync::sync_index_constituents(Some(day))?;
    }
    let series = q::tracked_series(day)?;
    let mut groups: std::collections::BTreeMap<(String, NaiveDate), Vec<String>> = Default::default();
    let mut codes = std::collections::BTreeSet::new();
    for (code, frequency, start) in series {
        codes.insert(code.clone());
        groups.entry((frequency, start)).or_default().push(code);
    }
    let mut units = Vec::new();
    for ((frequency, start), codes) in &groups {
        let frequency = check_frequency(frequency)?;
        let published = store::published_through(Kind::of(frequency))?;
        units.extend(q::plan_ranges(codes, frequency, *start, day, false, published)?);
    }
    // The tracked codes' reports published since (those a fundamentals job fetched before).
    units.extend(super::fundamentals::pickup(&codes.into_iter().collect::<Vec<_>>())?);
    if units.is_empty() {
        return Ok(None);
    }
    let mut frequencies: Vec<&str> = groups.keys().map(|(f, _)| f.as_str()).collect();
    frequencies.dedup();
    let args = Args {
        start: groups.keys().map(|(_, s)| *s).min().unwrap_or(day),
        end: Some(day),
        codes: None,
        frequency: frequencies.join(","),
        force: false,
        factors: false,
    };
    let plan = estimate(&args, day, units)?;
    let job_args = JobArgs {
        kind: JobKind::Track,
        start: args.start,
        end: day,
        codes: None,
        frequency: &args.frequency,
        force: false,
    };
    let job_id = q::insert_job(
        &job_args,
        &plan.summary,
        plan.est_requests,
        plan.est_seconds,
        &plan.units,
    )?;
    pgrx::notice!(
        "pg_baostock: tracking job {job_id}: {} units extend the tracked series to {}, about {} requests",
        plan.units.len(),
        day,
        plan.est_requests
    );
    Ok(Some(job_id))
}

/// Sessions the worker fetches with: one of the cluster's is left to `sync_date`.
pub fn worker_sessions() -> usize {
    guc::client_config().max_sessions.saturating_sub(1).max(1)
}

/// Refuses `what` outside the worker's database, which alone holds the cluster's jobs and its
/// saved server state.
fn require_worker_database(what: &str) -> SyncResult<()> {
    let here = store::current_database()?;
    let there = guc::worker_database();
    if here != there {
        return Err(SyncError::NotReady {
            message: format!("the pg_baostock worker runs in database {there:?}, not in {here:?}"),
            hint: Some(format!(
                "Set baostock.worker_database = '{here}' (ALTER SYSTEM, then SELECT pg_reload_conf()), or call {what} in {there}."
            )),
        });
    }
    Ok(())
}

/// Checks that a queued job will be run by a worker of this database.
pub(crate) fn check_worker_can_run(what: &str) -> SyncResult<()> {
    if !shmem::preloaded() {
        return Err(SyncError::NotReady {
            message: format!(
                "{what} needs the pg_baostock background worker, which runs only when the library is preloaded"
            ),
            hint: Some("Add pg_baostock to shared_preload_libraries in postgresql.conf and restart PostgreSQL.".into()),
        });
    }
    require_worker_database(&format!("{what}()"))?;
    Ok(())
}

/// Plans and queues a job; returns its id. A plan with nothing to do is recorded as done.
pub fn backfill(args: &Args) -> SyncResult<i64> {
    let plan = plan_by(args, ServerClock::Learnt)?;
    check_worker_can_run("backfill")?;
    let job_args = JobArgs {
        kind: JobKind::Backfill,
        start: plan.start,
        end: plan.end,
        codes: args.codes.as_deref(),
        frequency: &args.frequency,
        force: args.force,
    };
    let job_id = q::insert_job(
        &job_args,
        &plan.summary,
        plan.est_requests,
        plan.est_seconds,
        &plan.units,
    )?;
    if plan.units.is_empty() {
        q::finish_empty_job(job_id)?;
        pgrx::notice!(
            "job {job_id}: everything from {} to {} is already stored; nothing to fetch (force => true fetches it again)",
            plan.start,
            plan.end
        );
    } else {
        let days = match days_under_budget(plan.est_requests, guc::daily_request_budget()) {
            Some(d) if d > 1 => format!(", {d} China days under the daily request budget"),
            _ => String::new(),
        };
        pgrx::notice!(
            "job {job_id}: {} units, about {} requests and {:.0} s{days}; SELECT baostock.wait({job_id}) follows it",
            plan.units.len(),
            plan.est_requests,
            plan.est_seconds
        );
    }
    Ok(job_id)
}

fn describe(job_id: i64, p: &q::Progress) -> String {
    let rate = p.rate.map_or_else(|| "-".to_string(), |r| format!("{r:.1}"));
    let eta = p.eta.map_or_else(|| "-".to_string(), |e| format!("{e:.0} s"));
    let state = match p.state {
        JobState::Running => String::new(),
        s => format!(" ({s})"),
    };
    format!(
        "job {job_id}{state}: {}/{} units, {} failed, {} rows, {rate} units/s, ETA {eta}",
        p.done, p.total, p.failed, p.rows
    )
}

/// One line on a job's progress, for `pg_stat_activity` and NOTICEs.
pub fn progress_line(job_id: i64) -> SyncResult<String> {
    Ok(q::progress(job_id)?.map_or_else(|| format!("job {job_id}"), |p| describe(job_id, &p)))
}

/// Blocks until the job ends, with a progress NOTICE every few seconds; a cancel ends the
/// wait (57014), not the job.
pub fn wait(job_id: i64) -> SyncResult<String> {
    if q::job_state(job_id)?.is_none() {
        return Err(SyncError::UnknownJob(format!("there is no job {job_id}")));
    }
    if q::created_here(job_id)? {
        return Err(SyncError::NotReady {
            message: format!("job {job_id} was queued by this transaction, which the worker cannot see yet"),
            hint: Some("Commit the transaction that called backfill() before waiting for its job.".into()),
        });
    }
    let mut last_notice = Instant::now();
    loop {
        let Some(p) = q::progress(job_id)? else {
            return Err(SyncError::UnknownJob(format!("job {job_id} was deleted while waiting")));
        };
        if !p.state.is_unfinished() {
            pgrx::notice!("{}", describe(job_id, &p));
            return Ok(p.state.label().to_owned());
        }
        if last_notice.elapsed() >= NOTICE_EVERY {
            pgrx::notice!("{}", describe(job_id, &p));
            last_notice = Instant::now();
        }
        // A cancel ends the wait (raised as 57014 by the caller); other interrupts are served.
        latch::pause(200)?;
        pgrx::check_for_interrupts!();
    }
}

/// Cancels a job; returns its state afterwards (its final state if it had already ended).
pub fn cancel(job_id: i64) -> SyncResult<String> {
    let before = q::job_state(job_id)?.ok_or_else(|| SyncError::UnknownJob(format!("there is no job {job_id}")))?;
    let after = q::cancel_job(job_id)?.unwrap_or(before);
    if !before.is_unfinished() {
        pgrx::notice!("job {job_id} had already ended: {before}");
    }
    Ok(after.label().to_owned())
}

/// Queues an ended job's failed units again; returns how many.
pub fn retry(job_id: i64) -> SyncResult<i64> {
    if q::job_state(job_id)?.is_none() {
        return Err(SyncError::UnknownJob(format!("there is no job {job_id}")));
    }
    match q::retry_job(job_id)? {
        None => Err(SyncError::NotReady {
            message: format!("job {job_id} is still queued or running"),
            hint: Some("Its failed units get a second pass by themselves; retry() is for jobs that have ended.".into()),
        }),
        Some(0) => {
            pgrx::notice!("job {job_id} has no failed units; nothing to retry");
            Ok(0)
        }
        Some(n) => {
            pgrx::notice!("job {job_id}: {n} failed units queued again; SELECT baostock.wait({job_id}) follows it");
            Ok(n)
        }
    }
}

/// Lifts a blacklist early; returns the jobs it had paused, now queued again.
/// The blacklist is the cluster's (the server's view of this address): only the worker's
/// database, which keeps it across restarts, may lift it.
pub fn resume() -> SyncResult<i64> {
    require_worker_database("resume()")?;
    shmem::lift_blacklist();
    let n = store::server::lift_blacklist()?;
    pgrx::notice!("requests to the server are allowed again; {n} paused job(s) queued");
    Ok(n)
}
