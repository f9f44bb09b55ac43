//! Jobs and their units: planning queries, the queue, checkpoints and progress.

use baostock::report::ReportKind;
use baostock::value::Frequency;
use chrono::NaiveDate;
use pg_baostock_core::states::{JobKind, JobState, UnitKind, UnitState};
use pg_baostock_core::{clock, membership, plan, reports, Unit};
use pgrx::datum::{Date, DatumWithOid};
use pgrx::{pg_sys, Spi};

use super::reference::{index_name, index_of_name};
use super::{dates, pg_date, spi_err, stored_day, strings};
use crate::error::{SyncError, SyncResult};

/// Trading days in a range that are not synced yet (all of them with `force`).
pub fn plan_days(start: NaiveDate, end: NaiveDate, force: bool) -> SyncResult<Vec<NaiveDate>> {
    dates(
        "SELECT day FROM baostock.trade_calendar
         WHERE is_trading_day AND day BETWEEN $1 AND $2
           AND ($3 OR day NOT IN (SELECT day FROM baostock.synced_days))
         ORDER BY day",
        &[pg_date(start).into(), pg_date(end).into(), force.into()],
    )
}

/// Trading days of the stored calendar in a range.
pub fn trading_days(start: NaiveDate, end: NaiveDate) -> SyncResult<i64> {
    Spi::get_one_with_args::<i64>(
        "SELECT count(*) FROM baostock.trade_calendar
         WHERE is_trading_day AND day BETWEEN $1 AND $2",
        &[pg_date(start).into(), pg_date(end).into()],
    )
    .map(|n| n.unwrap_or(0))
    .map_err(spi_err)
}

/// Codes of `codes` that `baostock.securities` does not know.
pub fn unknown_codes(codes: &[String]) -> SyncResult<Vec<String>> {
    strings(
        "SELECT x FROM unnest($1::text[]) x WHERE x NOT IN (SELECT code FROM baostock.securities) ORDER BY 1",
        &[codes.to_vec().into()],
    )
}

/// `(code, start, end)` rows of a planning query.
fn spans_of(sql: &str, args: &[DatumWithOid]) -> SyncResult<Vec<(String, NaiveDate, NaiveDate)>> {
    let rows = Spi::connect(|c| {
        let mut out = Vec::new();
        for row in c.select(sql, None, args)? {
            out.push((row.get::<String>(1)?, row.get::<Date>(2)?, row.get::<Date>(3)?));
        }
        Ok::<_, pgrx::spi::SpiError>(out)
    })
    .map_err(spi_err)?;
    rows.into_iter()
        .map(|(code, start, end)| Ok((code.unwrap_or_default(), stored_day(start)?, stored_day(end)?)))
        .collect()
}

/// Per-code bar ranges of a frequency: for each code, the stretches of trading days in the
/// range and in its listing that no synced range of that code and frequency covers (nor, for
/// daily bars, a synced day), cut into units by `plan::range_units` (weekly and monthly ones
/// widened to their periods, minute ones cut at year ends). Nothing after `published` (the
/// last day of the frequency's kind the server has published) nor before the server's history
/// of a code's type and the frequency (`plan::history_floor`).
pub fn plan_ranges(
    codes: &[String],
    frequency: Frequency,
    start: NaiveDate,
    end: NaiveDate,
    force: bool,
    published: NaiveDate,
) -> SyncResult<Vec<Unit>> {
    let end = end.min(published);
    let minute_start = crate::guc::minute_history_start();
    let floor = |sec_type| plan::history_floor(frequency, sec_type, minute_start);
    let spans = spans_of(
        "WITH t AS (
             SELECT day, row_number() OVER (ORDER BY day) AS n FROM baostock.trade_calendar
             WHERE is_trading_day AND day BETWEEN $2 AND $3
         ), need AS (
             SELECT s.code, t.day, t.n FROM baostock.securities s
             JOIN t ON (s.ipo_date IS NULL OR t.day >= s.ipo_date) AND (s.out_date IS NULL OR t.day < s.out_date)
                    AND t.day >= CASE WHEN s.sec_type = 5 THEN $7 ELSE $6 END
             WHERE s.code = ANY($1::text[])
               AND ($4 OR NOT (($5 = 'd' AND s.sec_type IN (1, 5)
                                AND EXISTS (SELECT 1 FROM baostock.synced_days d WHERE d.day = t.day))
                            OR EXISTS (SELECT 1 FROM baostock.synced_ranges r
                                       WHERE r.code = s.code AND r.kind = $5 AND r.span @> t.day)))
         )
         SELECT code, min(day), max(day)
         FROM (SELECT code, day, n - row_number() OVER (PARTITION BY code ORDER BY n) AS island FROM need) x
         GROUP BY code, island
         ORDER BY code, min(day)",
        &[
            codes.to_vec().into(),
            pg_date(start).into(),
            pg_date(end).into(),
            force.into(),
            frequency.code().into(),
            pg_date(floor(1)).into(),
            pg_date(floor(5)).into(),
        ],
    )?;
    Ok(spans
        .into_iter()
        .flat_map(|(code, s, e)| plan::range_units(&code, frequency, s, e, published))
        .collect())
}

/// Per-code factor histories: every factor from the first trading day to `end` (one request,
/// whatever the span), for codes whose stored history does not reach `end`: none fetched
/// yet, or one that ends before `end` with trading days after it that no synced day (whose
/// 9C brings that day's factors) covers.
pub fn plan_factors(codes: &[String], end: NaiveDate, force: bool) -> SyncResult<Vec<Unit>> {
    let spans = spans_of(
        "SELECT u.code, $2, $3 FROM unnest($1::text[]) AS u(code)
         WHERE $4 OR NOT EXISTS (
             SELECT 1 FROM baostock.synced_ranges r
             WHERE r.code = u.code AND r.kind = 'factors' AND lower(r.span) <= $2
               AND NOT EXISTS (SELECT 1 FROM baostock.trade_calendar c
                               WHERE c.is_trading_day AND c.day >= upper(r.span) AND c.day <= $3
                                 AND NOT EXISTS (SELECT 1 FROM baostock.synced_days s WHERE s.day = c.day)))
         ORDER BY u.code",
        &[
            codes.to_vec().into(),
            pg_date(pg_baostock_core::FIRST_TRADING_DAY).into(),
            pg_date(end).into(),
            force.into(),
        ],
    )?;
    Ok(spans
        .into_iter()
        .map(|(code, start, end)| Unit::Factors { code, start, end })
        .collect())
}

/// Stocks and ETFs listed at some time between two days.
pub fn listed_codes(start: NaiveDate, end: NaiveDate) -> SyncResult<Vec<String>> {
    strings(
        "SELECT code FROM baostock.securities
         WHERE sec_type IN (1, 5) AND (ipo_date IS NULL OR ipo_date <= $2)
           AND (out_date IS NULL OR out_date > $1)
         ORDER BY code",
        &[pg_date(start).into(), pg_date(end).into()],
    )
}

/// The indices among `codes`.
pub fn indices_among(codes: &[String]) -> SyncResult<Vec<String>> {
    strings(
        "SELECT code FROM baostock.securities WHERE sec_type = 2 AND code = ANY($1::text[]) ORDER BY code",
        &[codes.to_vec().into()],
    )
}

/// Whether any of `codes` is an ETF.
pub fn has_etfs(codes: &[String]) -> SyncResult<bool> {
    Spi::get_one_with_args::<bool>(
        "SELECT EXISTS (SELECT 1 FROM baostock.securities WHERE sec_type = 5 AND code = ANY($1::text[]))",
        &[codes.to_vec().into()],
    )
    .map(|b| b.unwrap_or(false))
    .map_err(spi_err)
}

/// What `backfill()` was asked (or what a tracking job extends).
pub struct JobArgs<'a> {
    pub kind: JobKind,
    pub start: NaiveDate,
    pub end: NaiveDate,
    pub codes: Option<&'a [String]>,
    pub frequency: &'a str,
    pub force: bool,
}

/// Writes a job and its units; returns the job id.
pub fn insert_job(
    args: &JobArgs,
    plan: &serde_json::Value,
    est_requests: i64,
    est_seconds: f64,
    units: &[Unit],
) -> SyncResult<i64> {
    let job_id = Spi::get_one_with_args::<i64>(
        "INSERT INTO baostock.sync_jobs (start_date, end_date, codes, frequency, force, plan, est_requests, est_seconds, kind)
         VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7, $8, $9::baostock.job_kind) RETURNING job_id",
        &[
            pg_date(args.start).into(),
            pg_date(args.end).into(),
            args.codes.map(<[String]>::to_vec).into(),
            args.frequency.into(),
            args.force.into(),
            plan.to_string().into(),
            est_requests.into(),
            est_seconds.into(),
            args.kind.label().into(),
        ],
    )
    .map_err(spi_err)?
    .ok_or_else(|| SyncError::Store("pg_baostock store: INSERT ... RETURNING gave no row".into()))?;
    insert_units(job_id, 0, units)?;
    Ok(job_id)
}

/// Appends units to a job, numbered from `first`.
pub fn insert_units(job_id: i64, first: i32, units: &[Unit]) -> SyncResult<()> {
    const CHUNK: usize = 10_000;
    for (i, chunk) in units.chunks(CHUNK).enumerate() {
        // Each chunk numbers on from the one before.
        let first = first.saturating_add(i32::try_from(i * CHUNK).unwrap_or(i32::MAX));
        let mut kinds = Vec::with_capacity(chunk.len());
        let mut codes: Vec<Option<String>> = Vec::with_capacity(chunk.len());
        let mut starts = Vec::with_capacity(chunk.len());
        let mut ends = Vec::with_capacity(chunk.len());
        let mut frequencies = Vec::with_capacity(chunk.len());
        let mut subjects: Vec<Option<&str>> = Vec::with_capacity(chunk.len());
        for u in chunk {
            kinds.push(u.kind().label());
            let (code, s, e, f, subject) = match u {
                Unit::Day(d) => (None, *d, *d, Frequency::Daily, None),
                Unit::Range {
                    code,
                    frequency,
                    start,
                    end,
                } => (Some(code.clone()), *start, *end, *frequency, None),
                Unit::Factors { code, start, end } => (Some(code.clone()), *start, *end, Frequency::Daily, None),
                Unit::Report { code, kind, period } => (
                    Some(code.clone()),
                    reports::period_start(*kind, *period),
                    *period,
                    Frequency::Daily,
                    Some(kind.name()),
                ),
                Unit::Lists { index, date } => (None, *date, *date, Frequency::Daily, Some(index_name(*index))),
            };
            codes.push(code);
            frequencies.push(f.code().to_owned());
            starts.push(pg_date(s));
            ends.push(pg_date(e));
            subjects.push(subject);
        }
        Spi::run_with_args(
            "INSERT INTO baostock.sync_units (job_id, unit_no, kind, code, frequency, start_date, end_date, subject)
             SELECT $1, $2 + n::int - 1, kind::baostock.unit_kind, code, f, s, e, r
             FROM unnest($3::text[], $4::text[], $5::date[], $6::date[], $7::text[], $8::text[])
                  WITH ORDINALITY AS u(kind, code, s, e, f, r, n)",
            &[
                job_id.into(),
                first.into(),
                kinds.into(),
                codes.into(),
                starts.into(),
                ends.into(),
                frequencies.into(),
                subjects.into(),
            ],
        )
        .map_err(spi_err)?;
    }
    Ok(())
}

/// The oldest queued job, or paused job whose pause is over, now running (started_at set on
/// its first start).
pub fn claim_job() -> SyncResult<Option<i64>> {
    let claim = JobState::CLAIM;
    Spi::get_one::<i64>(&format!(
        "WITH claimed AS (
             UPDATE baostock.sync_jobs SET state = '{running}', started_at = coalesce(started_at, now()),
                    paused_until = NULL, pause_reason = NULL, passes = greatest(passes, 1)
             WHERE job_id = (SELECT job_id FROM baostock.sync_jobs
                             WHERE {guard} AND (state <> 'paused' OR paused_until <= now())
                             ORDER BY job_id LIMIT 1 FOR UPDATE SKIP LOCKED)
             RETURNING job_id
         )
         SELECT (SELECT job_id FROM claimed)",
        running = claim.target(),
        guard = claim.guard(),
    ))
    .map_err(spi_err)
}

/// Pauses a running job until `until_ms` (Unix milliseconds); its unfinished units go back
/// to the queue.
pub fn pause_job(job_id: i64, reason: &str, until_ms: i64) -> SyncResult<()> {
    Spi::run_with_args(
        &format!(
            "WITH u AS (
                 UPDATE baostock.sync_units SET state = '{queued}' WHERE job_id = $1 AND {units}
             )
             UPDATE baostock.sync_jobs SET state = '{paused}', pause_reason = $2, paused_until = to_timestamp($3)
             WHERE job_id = $1 AND {jobs}",
            queued = UnitState::REQUEUE.target(),
            units = UnitState::REQUEUE.guard(),
            paused = JobState::PAUSE.target(),
            jobs = JobState::PAUSE.guard(),
        ),
        &[job_id.into(), reason.into(), (until_ms as f64 / 1000.0).into()],
    )
    .map_err(spi_err)
}

/// Whether a job has failed units.
pub fn has_failed_units(job_id: i64) -> SyncResult<bool> {
    Spi::get_one_with_args::<bool>(
        "SELECT EXISTS (SELECT 1 FROM baostock.sync_units WHERE job_id = $1 AND state = 'failed')",
        &[job_id.into()],
    )
    .map(|b| b.unwrap_or(false))
    .map_err(spi_err)
}

/// Queues a running job's failed units for another pass; counts the pass.
pub fn requeue_failed(job_id: i64) -> SyncResult<i64> {
    Spi::get_one_with_args::<i64>(
        &format!(
            "WITH u AS (
             UPDATE baostock.sync_units SET state = '{queued}' WHERE job_id = $1 AND {guard} RETURNING 1
         ), j AS (
             UPDATE baostock.sync_jobs SET passes = passes + 1 WHERE job_id = $1
         )
         SELECT count(*) FROM u",
            queued = UnitState::RETRY.target(),
            guard = UnitState::RETRY.guard(),
        ),
        &[job_id.into()],
    )
    .map(|n| n.unwrap_or(0))
    .map_err(spi_err)
}

/// `baostock.retry()`: queues an ended job's failed units again (the job goes back to the
/// queue). Returns the units queued, or `None` when the job is still queued or running.
pub fn retry_job(job_id: i64) -> SyncResult<Option<i64>> {
    Spi::get_one_with_args::<i64>(
        &format!(
            "WITH j AS (
                 UPDATE baostock.sync_jobs SET state = '{queued}', finished_at = NULL, error_message = NULL,
                        paused_until = NULL, pause_reason = NULL
                 WHERE job_id = $1 AND {jobs}
                   AND EXISTS (SELECT 1 FROM baostock.sync_units WHERE job_id = $1 AND state IN ('failed', 'queued'))
                 RETURNING job_id
             ), u AS (
                 UPDATE baostock.sync_units SET state = '{unit_queued}', error_sqlstate = NULL, error_message = NULL
                 WHERE job_id = $1 AND {units} AND EXISTS (SELECT 1 FROM j) RETURNING 1
             )
             SELECT CASE WHEN EXISTS (SELECT 1 FROM j) THEN (SELECT count(*) FROM u)
                         WHEN (SELECT state FROM baostock.sync_jobs WHERE job_id = $1) IN ('queued', 'running') THEN NULL
                         ELSE 0 END",
            queued = JobState::RETRY.target(),
            jobs = JobState::RETRY.guard(),
            unit_queued = UnitState::RETRY.target(),
            units = UnitState::RETRY.guard(),
        ),
        &[job_id.into()],
    )
    .map_err(spi_err)
}

/// After a crash or a restart: running jobs and units go back to the queue.
pub fn requeue_orphans() -> SyncResult<()> {
    Spi::run(&format!(
        "UPDATE baostock.sync_units SET state = '{}' WHERE {};
         UPDATE baostock.sync_jobs SET state = '{}' WHERE {}",
        UnitState::REQUEUE.target(),
        UnitState::REQUEUE.guard(),
        JobState::REQUEUE.target(),
        JobState::REQUEUE.guard(),
    ))
    .map_err(spi_err)
}

/// A job's queued units, now marked running, in order.
pub fn take_units(job_id: i64) -> SyncResult<Vec<(i32, Unit)>> {
    let rows = Spi::connect_mut(|c| {
        let mut out = Vec::new();
        let rows = c.update(
            &format!(
                "WITH taken AS (
                     UPDATE baostock.sync_units SET state = '{running}'
                     WHERE job_id = $1 AND {guard}
                     RETURNING unit_no, kind::text AS kind, code, start_date AS s, end_date AS e,
                               frequency, subject
                 )
                 SELECT unit_no, kind, code, s, e, frequency, subject FROM taken ORDER BY unit_no",
                running = UnitState::TAKE.target(),
                guard = UnitState::TAKE.guard(),
            ),
            None,
            &[job_id.into()],
        )?;
        for row in rows {
            out.push((
                row.get::<i32>(1)?.unwrap_or(0),
                row.get::<String>(2)?.unwrap_or_default(),
                row.get::<String>(3)?,
                row.get::<Date>(4)?,
                row.get::<Date>(5)?,
                row.get::<String>(6)?.unwrap_or_default(),
                row.get::<String>(7)?,
            ));
        }
        Ok::<_, pgrx::spi::SpiError>(out)
    })
    .map_err(spi_err)?;
    rows.into_iter()
        .map(|(no, kind, code, s, e, f, subject)| {
            let (start, end, code) = (stored_day(s)?, stored_day(e)?, code.unwrap_or_default());
            let unit = match UnitKind::parse(&kind)? {
                UnitKind::Day => Unit::Day(start),
                UnitKind::Range => Unit::Range {
                    code,
                    frequency: f
                        .parse()
                        .map_err(|_| SyncError::Store(format!("pg_baostock store: unit {no} has frequency {f:?}")))?,
                    start,
                    end,
                },
                UnitKind::Factors => Unit::Factors { code, start, end },
                UnitKind::Report => Unit::Report {
                    code,
                    kind: subject.as_deref().and_then(ReportKind::from_name).ok_or_else(|| {
                        SyncError::Store(format!("pg_baostock store: unit {no} has report kind {subject:?}"))
                    })?,
                    period: end,
                },
                UnitKind::Lists => Unit::Lists {
                    index: subject.as_deref().and_then(index_of_name).ok_or_else(|| {
                        SyncError::Store(format!("pg_baostock store: unit {no} has index {subject:?}"))
                    })?,
                    date: start,
                },
            };
            Ok((no, unit))
        })
        .collect()
}

/// How a unit ended.
pub struct UnitEnd {
    pub state: UnitState,
    pub rows: i64,
    pub sqlstate: Option<String>,
    pub message: Option<String>,
}

/// A unit's final state and the job's totals so far, in the transaction of the unit's data.
pub fn finish_unit(job_id: i64, unit_no: i32, end: &UnitEnd, requests: i64, bytes: i64) -> SyncResult<()> {
    let state = UnitState::FINISH.enter(end.state)?;
    let finished = Spi::get_one_with_args::<bool>(
        &format!(
            "WITH u AS (
                 UPDATE baostock.sync_units SET state = $3::baostock.unit_state, rows_written = $4, attempts = attempts + 1,
                        finished_at = now(), error_sqlstate = $5, error_message = $6
                 WHERE job_id = $1 AND unit_no = $2 AND {guard}
                 RETURNING 1
             ), j AS (
                 UPDATE baostock.sync_jobs SET rows_written = rows_written + $4, requests = $7, bytes = $8
                 WHERE job_id = $1 AND EXISTS (SELECT 1 FROM u)
             )
             SELECT EXISTS (SELECT 1 FROM u)",
            guard = UnitState::FINISH.guard(),
        ),
        &[
            job_id.into(),
            unit_no.into(),
            state.into(),
            end.rows.into(),
            end.sqlstate.clone().into(),
            end.message.clone().into(),
            requests.into(),
            bytes.into(),
        ],
    )
    .map_err(spi_err)?;
    if finished != Some(true) {
        return Err(SyncError::Store(format!(
            "unit {unit_no} of job {job_id} ended but was not running"
        )));
    }
    Ok(())
}

/// A job's traffic so far.
pub fn set_job_traffic(job_id: i64, requests: i64, bytes: i64) -> SyncResult<()> {
    Spi::run_with_args(
        "UPDATE baostock.sync_jobs SET requests = $2, bytes = $3 WHERE job_id = $1",
        &[job_id.into(), requests.into(), bytes.into()],
    )
    .map_err(spi_err)
}

/// Ends a job that cannot go on, with the reason.
pub fn fail_job(job_id: i64, message: &str) -> SyncResult<()> {
    Spi::run_with_args(
        &format!(
            "UPDATE baostock.sync_jobs SET state = '{}', finished_at = now(), error_message = $2
             WHERE job_id = $1 AND {}",
            JobState::FAIL.target(),
            JobState::FAIL.guard()
        ),
        &[job_id.into(), message.into()],
    )
    .map_err(spi_err)
}

/// Puts a running job back in the queue (the worker is stopping).
pub fn requeue_job(job_id: i64) -> SyncResult<()> {
    Spi::run_with_args(
        &format!(
            "UPDATE baostock.sync_jobs SET state = '{}' WHERE job_id = $1 AND {}",
            JobState::REQUEUE.target(),
            JobState::REQUEUE.guard()
        ),
        &[job_id.into()],
    )
    .map_err(spi_err)
}

/// A job's state (`None` if there is no such job).
pub fn job_state(job_id: i64) -> SyncResult<Option<JobState>> {
    Spi::get_one_with_args::<String>(
        "SELECT (SELECT state::text FROM baostock.sync_jobs WHERE job_id = $1)",
        &[job_id.into()],
    )
    .map_err(spi_err)?
    .map(|s| JobState::parse(&s).map_err(SyncError::from))
    .transpose()
}

/// Requests and bytes a job had before this pass.
pub fn job_traffic(job_id: i64) -> SyncResult<(i64, i64)> {
    let (requests, bytes) = Spi::get_two_with_args::<i64, i64>(
        "SELECT requests, bytes FROM baostock.sync_jobs WHERE job_id = $1",
        &[job_id.into()],
    )
    .map_err(spi_err)?;
    Ok((requests.unwrap_or(0), bytes.unwrap_or(0)))
}

/// Units a cancel or stop left running go back to `state` (queued, or cancelled).
pub fn release_running(job_id: i64, state: UnitState) -> SyncResult<()> {
    let state = UnitState::RELEASE.enter(state)?;
    Spi::run_with_args(
        &format!(
            "UPDATE baostock.sync_units SET state = $2::baostock.unit_state WHERE job_id = $1 AND {}",
            UnitState::RELEASE.guard()
        ),
        &[job_id.into(), state.into()],
    )
    .map_err(spi_err)
}

/// Plans per-code units for the stretches of a job's days whose all-market answer was empty
/// (every stock and ETF listed in a stretch: its bars and its factors), and marks those days
/// replanned. Returns the number of units added.
pub fn replan_empty_days(job_id: i64) -> SyncResult<i64> {
    let added = Spi::get_one_with_args::<i64>(
        &format!(
            "WITH e AS (
             SELECT start_date AS day FROM baostock.sync_units WHERE job_id = $1 AND kind = 'day' AND state = 'empty'
         ), t AS (
             SELECT day, row_number() OVER (ORDER BY day) AS n FROM baostock.trade_calendar
             WHERE is_trading_day AND day BETWEEN (SELECT min(day) FROM e) AND (SELECT max(day) FROM e)
         ), stretch AS (
             SELECT min(day) AS a, max(day) AS b
             FROM (SELECT e.day, t.n - row_number() OVER (ORDER BY e.day) AS g FROM e JOIN t USING (day)) x
             GROUP BY g
         ), planned AS (
             SELECT k.kind, s.code, greatest(st.a, s.ipo_date) AS a, least(st.b, s.out_date - 1) AS b
             FROM stretch st
             JOIN baostock.securities s ON s.sec_type IN (1, 5)
                  AND (s.ipo_date IS NULL OR s.ipo_date <= st.b) AND (s.out_date IS NULL OR s.out_date > st.a)
             CROSS JOIN (VALUES ('range'::baostock.unit_kind), ('factors')) AS k(kind)
         ), ins AS (
             INSERT INTO baostock.sync_units (job_id, unit_no, kind, code, start_date, end_date)
             SELECT $1, (SELECT coalesce(max(unit_no), 0) FROM baostock.sync_units WHERE job_id = $1)
                        + row_number() OVER (ORDER BY code, kind, a)::int,
                    kind, code, a, b
             FROM planned WHERE a <= b
             RETURNING 1
         ), marked AS (
             UPDATE baostock.sync_units SET state = '{replanned}' WHERE job_id = $1 AND kind = 'day' AND {guard}
         )
         SELECT count(*) FROM ins",
            replanned = UnitState::REPLAN.target(),
            guard = UnitState::REPLAN.guard(),
        ),
        &[job_id.into()],
    )
    .map_err(spi_err)?;
    Ok(added.unwrap_or(0))
}

/// The dates of an index's stored lists.
pub fn stored_list_dates(index_name: &str) -> SyncResult<std::collections::HashSet<NaiveDate>> {
    Ok(dates(
        "SELECT DISTINCT update_date FROM baostock.index_constituents WHERE index_name = $1",
        &[index_name.into()],
    )?
    .into_iter()
    .collect())
}

/// Adds, to a membership job, a lists unit for the Monday halfway between each two adjacent
/// stored lists of one of its indices (within its dates) that differ and lie more than a week
/// apart (`membership::midpoint`), unless the job asked that date already. Returns the units
/// added (0: every change of its lists lies between two lists a week apart, or it is not a
/// membership job).
pub fn bisect_lists(job_id: i64) -> SyncResult<i64> {
    let pairs = Spi::connect(|c| {
        let mut out = Vec::new();
        for row in c.select(
            "WITH job AS (
                 SELECT start_date, end_date FROM baostock.sync_jobs WHERE job_id = $1 AND kind = 'membership'
             ), idx AS (
                 SELECT DISTINCT subject AS index_name FROM baostock.sync_units WHERE job_id = $1 AND kind = 'lists'
             ), lists AS (
                 SELECT c.index_name, c.update_date, array_agg(c.code ORDER BY c.code) AS codes
                 FROM baostock.index_constituents c JOIN idx USING (index_name), job
                 WHERE c.update_date BETWEEN job.start_date - 6 AND job.end_date
                 GROUP BY c.index_name, c.update_date
             ), pairs AS (
                 SELECT index_name, update_date AS a, codes,
                        lead(update_date) OVER w AS b, lead(codes) OVER w AS next_codes
                 FROM lists WINDOW w AS (PARTITION BY index_name ORDER BY update_date)
             )
             SELECT index_name, a, b FROM pairs
             WHERE b IS NOT NULL AND b - a > 7 AND codes IS DISTINCT FROM next_codes
               AND NOT EXISTS (SELECT 1 FROM baostock.sync_units u
                               WHERE u.job_id = $1 AND u.kind = 'lists' AND u.subject = pairs.index_name
                                 AND u.start_date > pairs.a AND u.start_date < pairs.b)
             ORDER BY a, index_name",
            None,
            &[job_id.into()],
        )? {
            out.push((row.get::<String>(1)?, row.get::<Date>(2)?, row.get::<Date>(3)?));
        }
        Ok::<_, pgrx::spi::SpiError>(out)
    })
    .map_err(spi_err)?;
    let mut units = Vec::new();
    for (name, a, b) in pairs {
        let index = name.as_deref().and_then(index_of_name);
        if let (Some(index), Some(date)) = (index, membership::midpoint(stored_day(a)?, stored_day(b)?)) {
            units.push(Unit::Lists { index, date });
        }
    }
    if units.is_empty() {
        return Ok(0);
    }
    let next = Spi::get_one_with_args::<i32>(
        "SELECT coalesce(max(unit_no), -1) + 1 FROM baostock.sync_units WHERE job_id = $1",
        &[job_id.into()],
    )
    .map_err(spi_err)?
    .unwrap_or(0);
    insert_units(job_id, next, &units)?;
    Ok(units.len() as i64)
}

/// Ends a job whose units are all final: done, with the failed units counted (the replanned
/// days count as synced only when no unit failed). Returns the state (cancelled, if the job
/// was no longer running).
pub fn finish_job(job_id: i64) -> SyncResult<JobState> {
    // The replanned days' bars and factors are counted by statements of their own: on Citus one
    // statement may not join the local units to the distributed bars.
    let days = dates(
        "SELECT start_date FROM baostock.sync_units
         WHERE job_id = $1 AND kind = 'day' AND state = 'replanned' ORDER BY start_date",
        &[job_id.into()],
    )?;
    let bars = counts_on(
        &days,
        "SELECT date, count(*) FROM baostock.daily_bars WHERE date = ANY ($1::date[]) GROUP BY date",
    )?;
    let factors = counts_on(&days, "SELECT operate_date, count(*) FROM baostock.adjust_factors WHERE operate_date = ANY ($1::date[]) GROUP BY operate_date")?;
    let days: Vec<Date> = days.into_iter().map(pg_date).collect();
    Spi::get_one_with_args::<String>(
        &format!(
            "WITH failed AS (
             SELECT count(*) AS n FROM baostock.sync_units WHERE job_id = $1 AND state = 'failed'
         ), days AS (
             INSERT INTO baostock.synced_days (day, job_id, bars, factors)
             SELECT d.day, $1, d.bars, d.factors
             FROM unnest($2::date[], $3::bigint[], $4::bigint[]) AS d(day, bars, factors), failed
             WHERE failed.n = 0
             ON CONFLICT (day) DO NOTHING
         )
         , ended AS (
             UPDATE baostock.sync_jobs SET state = '{done}', finished_at = now()
             WHERE job_id = $1 AND {guard}
             RETURNING state
         )
         SELECT (SELECT state::text FROM ended)",
            done = JobState::FINISH.target(),
            guard = JobState::FINISH.guard(),
        ),
        &[job_id.into(), days.into(), bars.into(), factors.into()],
    )
    .map_err(spi_err)?
    .map_or(Ok(JobState::Cancelled), |s| {
        JobState::parse(&s).map_err(SyncError::from)
    })
}

/// For each of `days`, the count `sql` gives it (its rows: day, count; $1 the days); 0 for a
/// day it leaves out.
fn counts_on(days: &[NaiveDate], sql: &str) -> SyncResult<Vec<i64>> {
    if days.is_empty() {
        return Ok(Vec::new());
    }
    let asked: Vec<Date> = days.iter().copied().map(pg_date).collect();
    let counted: std::collections::HashMap<i32, i64> = Spi::connect(|c| {
        let mut out = std::collections::HashMap::new();
        for row in c.select(sql, None, &[asked.into()])? {
            if let (Some(day), Some(n)) = (row.get::<Date>(1)?, row.get::<i64>(2)?) {
                out.insert(day.to_pg_epoch_days(), n);
            }
        }
        Ok::<_, pgrx::spi::SpiError>(out)
    })
    .map_err(spi_err)?;
    Ok(days
        .iter()
        .map(|d| counted.get(&clock::pg_days(*d)).copied().unwrap_or(0))
        .collect())
}

/// Progress of a job: state, units total, done, failed, rows, rate (units/s), seconds left.
pub struct Progress {
    pub state: JobState,
    pub total: i64,
    pub done: i64,
    pub failed: i64,
    pub rows: i64,
    pub rate: Option<f64>,
    pub eta: Option<f64>,
}

pub fn progress(job_id: i64) -> SyncResult<Option<Progress>> {
    Spi::connect_mut(|c| {
        let rows = c.update(
            "SELECT state::text, units_total, units_done, units_failed, rows_written, rate, extract(epoch FROM eta)::float8
             FROM baostock.jobs WHERE job_id = $1",
            None,
            &[job_id.into()],
        )?;
        let mut out = None;
        for row in rows {
            out = Some((
                row.get::<String>(1)?.unwrap_or_default(),
                Progress {
                state: JobState::Queued,
                total: row.get::<i64>(2)?.unwrap_or(0),
                done: row.get::<i64>(3)?.unwrap_or(0),
                failed: row.get::<i64>(4)?.unwrap_or(0),
                rows: row.get::<i64>(5)?.unwrap_or(0),
                rate: row.get::<f64>(6)?,
                eta: row.get::<f64>(7)?,
                },
            ));
        }
        Ok::<_, pgrx::spi::SpiError>(out)
    })
    .map_err(spi_err)?
    .map(|(state, p)| Ok(Progress { state: JobState::parse(&state)?, ..p }))
    .transpose()
}

/// Whether the job row was written by the current, uncommitted transaction or one of its
/// subtransactions (a savepoint, as psql's ON_ERROR_ROLLBACK and drivers' nested transactions
/// make).
pub fn created_here(job_id: i64) -> SyncResult<bool> {
    let xmin = Spi::get_one_with_args::<String>(
        "SELECT xmin::text FROM baostock.sync_jobs WHERE job_id = $1",
        &[job_id.into()],
    )
    .map_err(spi_err)?;
    Ok(xmin.and_then(|x| x.parse::<u32>().ok()).is_some_and(|x| {
        // SAFETY: a lookup in this backend's own transaction state.
        unsafe { pg_sys::TransactionIdIsCurrentTransactionId(pg_sys::TransactionId::from(x)) }
    }))
}

/// Ends a job planned with nothing to fetch: done at once.
pub fn finish_empty_job(job_id: i64) -> SyncResult<()> {
    Spi::run_with_args(
        &format!(
            "UPDATE baostock.sync_jobs SET state = '{}', started_at = now(), finished_at = now() WHERE job_id = $1 AND {}",
            JobState::FINISH_EMPTY.target(),
            JobState::FINISH_EMPTY.guard()
        ),
        &[job_id.into()],
    )
    .map_err(spi_err)
}

/// Cancels a queued, running or paused job; returns its state afterwards.
pub fn cancel_job(job_id: i64) -> SyncResult<Option<JobState>> {
    Spi::get_one_with_args::<String>(
        &format!(
            "WITH c AS (
                 UPDATE baostock.sync_jobs SET state = '{cancelled}', finished_at = now(), paused_until = NULL, pause_reason = NULL
                 WHERE job_id = $1 AND {jobs} RETURNING state::text AS state
             ), u AS (
                 -- Units the worker has not taken; those it has, it sets aside itself.
                 UPDATE baostock.sync_units SET state = '{unit_cancelled}'
                 WHERE job_id = $1 AND {units} AND EXISTS (SELECT 1 FROM c)
             )
             SELECT coalesce((SELECT state FROM c), (SELECT state::text FROM baostock.sync_jobs WHERE job_id = $1))",
            cancelled = JobState::CANCEL.target(),
            jobs = JobState::CANCEL.guard(),
            unit_cancelled = UnitState::CANCEL.target(),
            units = UnitState::CANCEL.guard(),
        ),
        &[job_id.into()],
    )
    .map_err(spi_err)?
    .map(|s| JobState::parse(&s).map_err(SyncError::from))
    .transpose()
}

/// The indices whose constituents are tracked.
pub fn tracked_indexes() -> SyncResult<Vec<String>> {
    strings(
        "SELECT DISTINCT index_name FROM baostock.tracking WHERE index_name IS NOT NULL ORDER BY 1",
        &[],
    )
}

/// Every tracked series that starts by `day` (`baostock.tracked`): code, frequency, start.
pub fn tracked_series(day: NaiveDate) -> SyncResult<Vec<(String, String, NaiveDate)>> {
    let rows = Spi::connect(|c| {
        c.select(
            "SELECT code, frequency, start_date FROM baostock.tracked
             WHERE start_date <= $1 ORDER BY frequency, start_date, code",
            None,
            &[pg_date(day).into()],
        )?
        .map(|r| Ok((r.get::<String>(1)?, r.get::<String>(2)?, r.get::<Date>(3)?)))
        .collect::<Result<Vec<_>, pgrx::spi::SpiError>>()
    })
    .map_err(spi_err)?;
    rows.into_iter()
        .map(|(code, f, start)| Ok((code.unwrap_or_default(), f.unwrap_or_default(), stored_day(start)?)))
        .collect()
}

/// Whether anything is tracked at all.
pub fn tracking_anything() -> SyncResult<bool> {
    Spi::get_one::<bool>("SELECT EXISTS (SELECT 1 FROM baostock.tracking)")
        .map(|b| b.unwrap_or(false))
        .map_err(spi_err)
}

/// A tracking job not finished yet (queued, running or paused), if there is one.
pub fn unfinished_track_job() -> SyncResult<Option<i64>> {
    Spi::get_one::<i64>(
        "SELECT max(job_id) FROM baostock.sync_jobs WHERE kind = 'track' AND state IN ('queued', 'running', 'paused')",
    )
    .map_err(spi_err)
}
