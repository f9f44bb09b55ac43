//! The server-facing state that outlives restarts (`baostock.server_state`, one row, written by
//! the first save: a fresh install has none), the worker's
//! start log, alerts and the pruning of old history.

use pg_baostock_core::clock;
use pgrx::Spi;

use super::{date_query, from_pg_date, pg_date, spi_err};
use crate::error::SyncResult;
use crate::shmem::ServerState;

/// What the last save left (times as Unix milliseconds, 0: none).
pub fn load() -> SyncResult<ServerState> {
    Spi::connect(|c| {
        let row = c
            .select(
                "SELECT CASE WHEN mine THEN coalesce((extract(epoch FROM blacklisted_until) * 1000)::bigint, 0) END,
                        coalesce((extract(epoch FROM blacklisted_at) * 1000)::bigint, 0),
                        CASE WHEN mine THEN budget_day END, budget_used, clock_offset_ms
                 FROM (VALUES (true)) one (id) LEFT JOIN baostock.server_state USING (id),
                      -- A row another cluster saved (a restored dump) brings no blacklist or budget;
                      -- one without the column's value was saved here by 0.2.0.
                      LATERAL (SELECT cluster_id IS NULL
                                      OR cluster_id = (SELECT system_identifier FROM pg_control_system()) AS mine) m",
                None,
                &[],
            )?
            .first();
        Ok::<_, pgrx::spi::SpiError>((
            row.get::<i64>(1)?.unwrap_or(0),
            row.get::<i64>(2)?.unwrap_or(0),
            row.get::<pgrx::datum::Date>(3)?,
            row.get::<i64>(4)?.unwrap_or(0),
            row.get::<i64>(5)?.unwrap_or(0),
        ))
    })
    .map_err(spi_err)
    .and_then(|(until, at, day, used, offset)| {
        Ok(ServerState {
            blacklisted_until: until,
            blacklisted_at: at,
            budget_day: match day {
                Some(d) => clock::epoch_day(from_pg_date(d)?),
                None => 0,
            },
            budget_used: u64::try_from(used).unwrap_or(0),
            clock_offset_ms: offset,
        })
    })
}

/// Writes the shared state down.
pub fn save(s: &ServerState) -> SyncResult<()> {
    let ms = |v: i64| (v > 0).then_some(v as f64 / 1000.0);
    Spi::run_with_args(
        "INSERT INTO baostock.server_state AS s (blacklisted_until, blacklisted_at, budget_day, budget_used, clock_offset_ms, cluster_id)
         VALUES (to_timestamp($1), to_timestamp($2), $3, $4, $5, (SELECT system_identifier FROM pg_control_system()))
         ON CONFLICT (id) DO UPDATE SET
             blacklisted_until = excluded.blacklisted_until,
             blacklisted_at = coalesce(excluded.blacklisted_at, s.blacklisted_at),
             budget_day = excluded.budget_day, budget_used = excluded.budget_used,
             clock_offset_ms = excluded.clock_offset_ms, cluster_id = excluded.cluster_id, updated_at = now()",
        &[
            ms(s.blacklisted_until).into(),
            ms(s.blacklisted_at).into(),
            pg_date(clock::day_of(s.budget_day)).into(),
            i64::try_from(s.budget_used).unwrap_or(i64::MAX).into(),
            s.clock_offset_ms.into(),
        ],
    )
    .map_err(spi_err)
}

/// Forgets a blacklist and puts the jobs it paused back in the queue; returns how many.
pub fn lift_blacklist() -> SyncResult<i64> {
    Spi::get_one::<i64>(
        "WITH s AS (
             UPDATE baostock.server_state SET blacklisted_until = NULL, updated_at = now()
         ), j AS (
             UPDATE baostock.sync_jobs SET state = 'queued', paused_until = NULL, pause_reason = NULL
             WHERE state = 'paused' AND pause_reason = 'blacklisted' RETURNING 1
         )
         SELECT count(*) FROM j",
    )
    .map(|n| n.unwrap_or(0))
    .map_err(spi_err)
}

/// Notes a start of the worker.
pub fn record_start(pid: i32) -> SyncResult<()> {
    Spi::run_with_args("INSERT INTO baostock.worker_starts (pid) VALUES ($1)", &[pid.into()]).map_err(spi_err)
}

/// The China day the worker last brought the calendar up to date.
pub fn calendar_checked() -> SyncResult<Option<chrono::NaiveDate>> {
    date_query("SELECT (SELECT calendar_checked FROM baostock.server_state)", &[])
}

pub fn set_calendar_checked(day: chrono::NaiveDate) -> SyncResult<()> {
    Spi::run_with_args(
        "INSERT INTO baostock.server_state (calendar_checked) VALUES ($1)
         ON CONFLICT (id) DO UPDATE SET calendar_checked = excluded.calendar_checked",
        &[pg_date(day).into()],
    )
    .map_err(spi_err)
}

/// Stores columnar the months of minute bars older than `baostock.columnar_after`; how many.
pub fn compress_minute_months() -> SyncResult<i64> {
    Spi::get_one::<i64>("SELECT count(*) FROM baostock.compress_minute_months()")
        .map(|n| n.unwrap_or(0))
        .map_err(spi_err)
}

/// Deletes run history, finished jobs (with their units), cleared alerts and worker starts
/// older than `days`.
pub fn prune(days: i32) -> SyncResult<()> {
    Spi::run_with_args(
        "WITH cut AS (SELECT now() - make_interval(days => $1) AS t),
         r AS (DELETE FROM baostock.sync_runs WHERE finished_at < (SELECT t FROM cut)),
         j AS (DELETE FROM baostock.sync_jobs
               WHERE state IN ('done', 'failed', 'cancelled') AND finished_at < (SELECT t FROM cut)),
         a AS (DELETE FROM baostock.alerts WHERE cleared_at < (SELECT t FROM cut))
         DELETE FROM baostock.worker_starts WHERE started_at < (SELECT t FROM cut)",
        &[days.into()],
    )
    .map_err(spi_err)
}

/// A new alert, for the webhook.
pub struct NewAlert {
    pub id: i64,
    pub json: String,
}

/// Raises and clears alerts for the conditions of now (`baostock.evaluate_alerts()`, which
/// also sends each new one as a NOTIFY); returns the alerts not yet delivered to the webhook.
pub fn evaluate_alerts(webhook: bool) -> SyncResult<Vec<NewAlert>> {
    Spi::run("SELECT baostock.evaluate_alerts()").map_err(spi_err)?;
    if !webhook {
        return Ok(Vec::new());
    }
    Spi::connect(|c| {
        let mut out = Vec::new();
        for row in c.select(
            "SELECT alert_id, baostock.alert_json(a) FROM baostock.alerts a
             WHERE delivered_at IS NULL AND cleared_at IS NULL ORDER BY alert_id LIMIT 20",
            None,
            &[],
        )? {
            out.push(NewAlert {
                id: row.get::<i64>(1)?.unwrap_or(0),
                json: row.get::<String>(2)?.unwrap_or_default(),
            });
        }
        Ok::<_, pgrx::spi::SpiError>(out)
    })
    .map_err(spi_err)
}

/// Records the webhook's answer to an alert.
pub fn set_delivered(id: i64, error: Option<&str>) -> SyncResult<()> {
    Spi::run_with_args(
        "UPDATE baostock.alerts SET delivered_at = CASE WHEN $2::text IS NULL THEN now() END, delivery_error = $2
         WHERE alert_id = $1",
        &[id.into(), error.into()],
    )
    .map_err(spi_err)
}
