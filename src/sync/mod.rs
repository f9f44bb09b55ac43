//! What each sync does: validate, decide what must be asked of the server, run it (units
//! through the engine; the calendar and securities directly), write in subtransactions and
//! record the run. `daily` is `sync_date`, `reference` the calendar, securities, index lists
//! and industries, `reports` the macro series, `jobs` backfill jobs as users see them
//! (planning, wait, cancel), `fundamentals` and `membership` the research jobs, `runlog` the
//! failed runs that must outlive a rollback. Errors come back as `SyncError`; the SQL
//! functions in `api` raise them. It may use `engine`, `store`, `net` and what they use; not
//! `api` or `worker`: scripts/check-layers.sh.

use chrono::NaiveDate;
use pg_baostock_core::{clock, Counts};

use crate::error::{SyncError, SyncResult};
use crate::latch;
use crate::net::{self, Traffic};
use crate::store::{self, RunRecord};

pub mod daily;
pub mod fundamentals;
pub mod jobs;
pub mod membership;
pub mod reference;
pub mod reports;
pub mod runlog;

pub use daily::sync_date;
pub use reference::{extend_calendar, sync_calendar, sync_index_constituents, sync_industries, sync_securities};
pub use store::subtransaction;

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

/// A run's outcome as a result row per item (an index, a macro series), each with its own counts.
fn per_item(outcome: Outcome, items: Vec<(&'static str, Counts)>) -> Vec<(&'static str, Outcome)> {
    items
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
        .collect()
}

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
                started_at: clock::now_secs(),
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
        self.rec.finished_at = clock::now_secs();
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
            seconds: (clock::now_secs() - self.rec.started_at).max(0.0),
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
        self.rec.finished_at = clock::now_secs();
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
    if until > clock::now_ms() {
        let until = clock::utc_text(until);
        return Err(SyncError::client(
            "login",
            baostock::client::ClientError::Refused(baostock::client::Refusal::Blacklisted { until }),
        ));
    }
    Ok(())
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

/// The interrupt check of a backend's network waits: a cancel or a termination.
pub fn backend_interrupt() -> Option<SyncError> {
    latch::interrupt_pending().then_some(SyncError::Interrupted)
}
