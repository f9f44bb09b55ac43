//! The run history: one row of `baostock.sync_runs` per sync call, and what the daily sync
//! asks of it.

use chrono::NaiveDate;
use pgrx::Spi;

use super::{pg_date, spi_err};
use crate::error::{SyncError, SyncResult};

/// One row of `baostock.sync_runs`.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct RunRecord {
    pub kind: String,
    /// JSON object of the call's arguments.
    pub params: String,
    pub day: Option<NaiveDate>,
    /// Seconds since the Unix epoch.
    pub started_at: f64,
    pub finished_at: f64,
    pub status: String,
    pub requests: i64,
    pub bytes: i64,
    pub inserted: i64,
    pub updated: i64,
    pub unchanged: i64,
    pub error_sqlstate: Option<String>,
    pub error_message: Option<String>,
    /// The spool file a failed run was imported from (written once, whatever the recorder does).
    #[serde(default)]
    pub spool_key: Option<String>,
}

/// Inserts a run and returns its id.
pub fn insert_run(r: &RunRecord) -> SyncResult<i64> {
    Spi::get_one_with_args::<i64>(
        "WITH new AS (
             INSERT INTO baostock.sync_runs (kind, params, day, started_at, finished_at, status, requests, bytes,
                                             rows_inserted, rows_updated, rows_unchanged, error_sqlstate, error_message,
                                             spool_key)
             VALUES ($1, $2::jsonb, $3, to_timestamp($4), to_timestamp($5), $6, $7::int, $8, $9, $10, $11,
                     $12, $13, $14)
             ON CONFLICT (spool_key) WHERE spool_key IS NOT NULL DO NOTHING
             RETURNING run_id
         )
         SELECT run_id FROM new
         UNION ALL
         SELECT run_id FROM baostock.sync_runs WHERE spool_key = $14 AND NOT EXISTS (SELECT 1 FROM new)",
        &[
            r.kind.clone().into(),
            r.params.clone().into(),
            r.day.map(pg_date).into(),
            r.started_at.into(),
            r.finished_at.into(),
            r.status.clone().into(),
            r.requests.into(),
            r.bytes.into(),
            r.inserted.into(),
            r.updated.into(),
            r.unchanged.into(),
            r.error_sqlstate.clone().into(),
            r.error_message.clone().into(),
            r.spool_key.clone().into(),
        ],
    )
    .map_err(spi_err)?
    .ok_or_else(|| SyncError::Store("pg_baostock store: INSERT ... RETURNING gave no row".into()))
}

/// Adds traffic that came after a run was written (its logouts) to the run, which ends at
/// `finished_at` (seconds since the Unix epoch) then.
pub fn add_run_traffic(run_id: i64, requests: i64, bytes: i64, finished_at: f64) -> SyncResult<()> {
    Spi::run_with_args(
        "UPDATE baostock.sync_runs SET requests = requests + $2::int, bytes = bytes + $3,
                finished_at = greatest(finished_at, to_timestamp($4))
         WHERE run_id = $1",
        &[run_id.into(), requests.into(), bytes.into(), finished_at.into()],
    )
    .map_err(spi_err)
}

/// Whether a run of `kind` ended ok on the China day `today`.
pub fn ran_ok_today(kind: &str, today: NaiveDate) -> SyncResult<bool> {
    Spi::get_one_with_args::<bool>(
        "SELECT EXISTS (SELECT 1 FROM baostock.sync_runs WHERE kind = $1 AND status = 'ok'
                          AND (started_at AT TIME ZONE 'Asia/Shanghai')::date = $2)",
        &[kind.into(), pg_date(today).into()],
    )
    .map(|b| b.unwrap_or(false))
    .map_err(spi_err)
}
