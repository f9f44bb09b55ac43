//! The market tables: daily bars, adjust factors, the calendar and the securities, and the data
//! checkpoints written beside them (`synced_days`, `synced_ranges`), with what the syncs ask
//! of them.

use std::collections::{BTreeMap, HashMap};

use baostock::reply::{AdjustFactor, DailyBar, StockBasic, TradeDate};
use baostock::value::Decimal;
use chrono::{NaiveDate, NaiveDateTime};
use pg_baostock_core::bars::AdjustedDay;
use pg_baostock_core::publication::{self, Kind};
use pg_baostock_core::{period, Counts};
use pgrx::datum::Date;
use pgrx::Spi;

use super::writer::{upsert, upsert_touching, write_rows, Column};
use super::{date_query, dates, from_pg_date, pg_date, spi_err};
use crate::error::{SyncError, SyncResult};

/// Upserts daily bars with their adjusted prices; a code and date that appears twice keeps
/// its last row.
pub fn upsert_bars(rows: &[DailyBar], batch: usize) -> SyncResult<Counts> {
    write_daily("baostock.daily_bars", rows, batch)
}

/// The lock (a row of `baostock.sync_locks`) that bar writers hold shared and factor writers
/// exclusive, to the end of their transactions: a write of factors (which then adjusts the
/// stored bars of their codes again) waits for the bars being written, and these for it, so
/// no bar keeps a factor that changed meanwhile. A row lock, not a table lock: autovacuum of
/// `adjust_factors` never holds it up.
const FACTORS_LOCK: &str = "factors";

/// Writes daily bars into `table` (daily_bars, or a copy of it), each with its prices times
/// the factors in force on its day, read under the factors lock held shared.
pub fn write_daily(table: &str, rows: &[DailyBar], batch: usize) -> SyncResult<Counts> {
    if rows.is_empty() {
        return Ok(Counts::default());
    }
    super::lock_shared(FACTORS_LOCK)?;
    let spans = FactorSpans::of(rows)?;
    let adjusted = rows
        .iter()
        .map(|bar| {
            let (back, fore) = spans.at(&bar.code, bar.date)?;
            Ok(AdjustedDay { bar, back, fore })
        })
        .collect::<SyncResult<Vec<_>>>()?;
    write_rows(table, &adjusted, batch)
}

/// A day's writes of factors and bars (9C and 98 in one transaction): the factors lock taken
/// exclusive first, so that two such writers wait for each other instead of each holding it
/// shared and waiting for the other to let go.
pub fn lock_factors_and_bars() -> SyncResult<()> {
    super::lock(FACTORS_LOCK)
}

/// The factor spans (`baostock.factor_spans`) of a batch's codes over its days: per code,
/// from its earliest span, each start (`None`: from the beginning) with its back and fore.
struct FactorSpans(HashMap<String, Vec<(Option<NaiveDate>, Decimal, Decimal)>>);

impl FactorSpans {
    fn of(rows: &[DailyBar]) -> SyncResult<FactorSpans> {
        let mut codes: Vec<&str> = rows.iter().map(|r| r.code.as_str()).collect();
        codes.sort_unstable();
        codes.dedup();
        let codes: Vec<String> = codes.into_iter().map(str::to_owned).collect();
        let lo = rows.iter().map(|r| r.date).min().unwrap_or_default();
        let hi = rows.iter().map(|r| r.date).max().unwrap_or_default();
        let found = Spi::connect(|c| {
            let rows = c.select(
                "SELECT s.code, CASE WHEN s.since > '-infinity' THEN s.since END,
                        s.back::text, s.fore::text
                 FROM baostock.factor_spans($1) s
                 WHERE s.until > $2 AND s.since <= $3
                 ORDER BY s.code, s.since",
                None,
                &[codes.into(), pg_date(lo).into(), pg_date(hi).into()],
            )?;
            rows.map(|r| {
                Ok((
                    r.get::<String>(1)?,
                    r.get::<Date>(2)?,
                    r.get::<String>(3)?,
                    r.get::<String>(4)?,
                ))
            })
            .collect::<Result<Vec<_>, pgrx::spi::SpiError>>()
        })
        .map_err(spi_err)?;
        let factor = |s: Option<String>| {
            s.as_deref()
                .and_then(|s| baostock::value::parse_decimal(s).ok())
                .ok_or_else(|| SyncError::Store(format!("pg_baostock store: a factor span has factor {s:?}")))
        };
        let mut spans: HashMap<String, Vec<(Option<NaiveDate>, Decimal, Decimal)>> = HashMap::new();
        for (code, since, back, fore) in found {
            let since = since.map(from_pg_date).transpose()?;
            spans
                .entry(code.unwrap_or_default())
                .or_default()
                .push((since, factor(back)?, factor(fore)?));
        }
        Ok(FactorSpans(spans))
    }

    /// The back and fore factors of a code on a day.
    fn at(&self, code: &str, day: NaiveDate) -> SyncResult<(Decimal, Decimal)> {
        self.0
            .get(code)
            .and_then(|spans| spans.iter().rev().find(|(since, _, _)| since.is_none_or(|s| s <= day)))
            .map(|(_, back, fore)| (*back, *fore))
            .ok_or_else(|| SyncError::Store(format!("pg_baostock store: no factor span of {code} on {day}")))
    }
}

/// Makes the adjusted prices of the stored daily bars of `codes` whose factors this
/// transaction changed equal to their prices times the factors now (a new factor moves every
/// forward-adjusted price before it; a history fetched after the bars moves them all).
/// The codes come as a plain array: on Citus, a call with a subquery over a distributed table
/// would be sent to a shard, where adjust_bars() may not run its own distributed statement.
fn adjust_stored_bars(codes: Vec<String>) -> SyncResult<()> {
    if codes.is_empty() {
        return Ok(());
    }
    Spi::run_with_args("SELECT baostock.adjust_bars($1::text[])", &[codes.into()]).map_err(spi_err)
}

fn text(d: Option<Decimal>) -> Option<String> {
    d.map(|d| d.to_string())
}

// `updated_at` comes from the rows inserted (`now()` in the SELECT), not from the DO UPDATE SET
// clause: Citus takes no volatile function there.
const FACTORS_SQL: &str = "
WITH input AS (
    SELECT * FROM unnest($1::text[], $2::date[], $3::text[]::numeric[], $4::text[]::numeric[],
                         $5::text[]::numeric[])
        AS t(code, operate_date, fore_factor, back_factor, adjust_factor)
), written AS (
    INSERT INTO baostock.adjust_factors AS f (code, operate_date, fore_factor, back_factor, adjust_factor, updated_at)
    SELECT *, now() FROM input
    ON CONFLICT (code, operate_date) DO UPDATE SET
        fore_factor = excluded.fore_factor, back_factor = excluded.back_factor,
        adjust_factor = excluded.adjust_factor, updated_at = excluded.updated_at
    WHERE (f.fore_factor, f.back_factor, f.adjust_factor)
          IS DISTINCT FROM (excluded.fore_factor, excluded.back_factor, excluded.adjust_factor)
    RETURNING (xmax = 0) AS inserted, code
)
SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted),
       coalesce(array_agg(DISTINCT code), '{}') FROM written";

/// Upserts adjust factors, then makes the fore factors of every code written relative to
/// that code's latest back factor again, as the server's are (a new factor changes them all):
/// for codes whose whole factor history is stored; the others keep what the server sent,
/// which is relative to a latest factor the store may not have.
pub fn upsert_factors(rows: &[AdjustFactor], batch: usize) -> SyncResult<Counts> {
    let unique: BTreeMap<(&str, NaiveDate), &AdjustFactor> =
        rows.iter().map(|r| ((r.code.as_str(), r.operate_date), r)).collect();
    let rows: Vec<&AdjustFactor> = unique.into_values().collect();
    if rows.is_empty() {
        return Ok(Counts::default());
    }
    super::lock(FACTORS_LOCK)?;
    let (counts, mut written) = upsert_touching(FACTORS_SQL, &rows, batch, |c| {
        vec![
            Column::Text(c.iter().map(|r| Some(r.code.clone())).collect()),
            Column::Date(c.iter().map(|r| Some(pg_date(r.operate_date))).collect()),
            Column::Text(c.iter().map(|r| text(r.fore)).collect()),
            Column::Text(c.iter().map(|r| text(r.back)).collect()),
            Column::Text(c.iter().map(|r| text(r.factor)).collect()),
        ]
    })?;
    let mut codes: Vec<String> = rows.iter().map(|r| r.code.clone()).collect();
    codes.dedup();
    // The codes whose whole history is stored, read first: on Citus the factors are
    // distributed and the checkpoints local, and one statement may not join the two.
    let whole = Spi::get_one_with_args::<Vec<String>>(
        "SELECT coalesce(array_agg(DISTINCT r.code), '{}') FROM baostock.synced_ranges r
         WHERE r.code = ANY($1::text[]) AND r.kind = 'factors' AND lower(r.span) <= $2",
        &[codes.into(), pg_date(pg_baostock_core::FIRST_TRADING_DAY).into()],
    )
    .map_err(spi_err)?
    .unwrap_or_default();
    if !whole.is_empty() {
        let recomputed = Spi::connect_mut(|c| {
            let rows = c.update(
                "UPDATE baostock.adjust_factors f SET fore_factor = round(f.back_factor / l.back, 6), updated_at = now()
                 FROM (SELECT DISTINCT ON (code) code, back_factor AS back FROM baostock.adjust_factors
                       WHERE code = ANY($1::text[]) ORDER BY code, operate_date DESC) l
                 WHERE f.code = l.code AND f.code = ANY($1::text[]) AND l.back > 0
                   AND f.fore_factor IS DISTINCT FROM round(f.back_factor / l.back, 6)
                 RETURNING f.code",
                None,
                &[whole.into()],
            )?;
            rows.map(|r| r.get::<String>(1)).collect::<Result<Vec<_>, _>>()
        })
        .map_err(spi_err)?;
        written.extend(recomputed.into_iter().flatten());
    }
    // The codes whose factors changed: their stored bars' adjusted prices move with them.
    written.sort_unstable();
    written.dedup();
    adjust_stored_bars(written)?;
    Ok(counts)
}

const CALENDAR_SQL: &str = "
WITH written AS (
    INSERT INTO baostock.trade_calendar AS c (day, is_trading_day)
    SELECT * FROM unnest($1::date[], $2::bool[])
    ON CONFLICT (day) DO UPDATE SET is_trading_day = excluded.is_trading_day
    WHERE c.is_trading_day IS DISTINCT FROM excluded.is_trading_day
    RETURNING (xmax = 0) AS inserted
)
SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM written";

/// Upserts calendar days.
pub fn upsert_calendar(days: &[TradeDate], batch: usize) -> SyncResult<Counts> {
    let unique: BTreeMap<NaiveDate, &TradeDate> = days.iter().map(|d| (d.date, d)).collect();
    let days: Vec<&TradeDate> = unique.into_values().collect();
    upsert(CALENDAR_SQL, &days, batch, |c| {
        vec![
            Column::Date(c.iter().map(|d| Some(pg_date(d.date))).collect()),
            Column::Bool(c.iter().map(|d| Some(d.is_trading_day)).collect()),
        ]
    })
}

const SECURITIES_SQL: &str = "
WITH input AS (
    SELECT * FROM unnest($1::text[], $2::text[], $3::int2[], $4::int2[], $5::date[], $6::date[])
        AS t(code, name, sec_type, status, ipo_date, out_date)
), written AS (
    INSERT INTO baostock.securities AS s (code, name, sec_type, status, ipo_date, out_date, updated_at)
    SELECT *, now() FROM input
    ON CONFLICT (code) DO UPDATE SET
        name = excluded.name, sec_type = excluded.sec_type, status = excluded.status,
        ipo_date = excluded.ipo_date, out_date = excluded.out_date, updated_at = excluded.updated_at
    WHERE (s.name, s.sec_type, s.status, s.ipo_date, s.out_date)
          IS DISTINCT FROM (excluded.name, excluded.sec_type, excluded.status, excluded.ipo_date, excluded.out_date)
    RETURNING (xmax = 0) AS inserted
)
SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM written";

/// Upserts securities.
pub fn upsert_securities(rows: &[StockBasic], batch: usize) -> SyncResult<Counts> {
    let unique: BTreeMap<&str, &StockBasic> = rows.iter().map(|r| (r.code.as_str(), r)).collect();
    let rows: Vec<&StockBasic> = unique.into_values().collect();
    upsert(SECURITIES_SQL, &rows, batch, |c| {
        vec![
            Column::Text(c.iter().map(|r| Some(r.code.clone())).collect()),
            Column::Text(c.iter().map(|r| r.name.clone()).collect()),
            Column::Int2(c.iter().map(|r| r.sec_type).collect()),
            Column::Int2(c.iter().map(|r| r.status).collect()),
            Column::Date(c.iter().map(|r| r.ipo_date.map(pg_date)).collect()),
            Column::Date(c.iter().map(|r| r.out_date.map(pg_date)).collect()),
        ]
    })
}

/// Whether the calendar says `day` is a trading day; `None` when the calendar lacks it.
pub fn trading_day(day: NaiveDate) -> SyncResult<Option<bool>> {
    Spi::get_one_with_args::<bool>(
        "SELECT (SELECT is_trading_day FROM baostock.trade_calendar WHERE day = $1)",
        &[pg_date(day).into()],
    )
    .map_err(spi_err)
}

/// The newest day `sync_date` (or a backfill's day unit) synced.
pub fn newest_synced_day() -> SyncResult<Option<NaiveDate>> {
    date_query("SELECT max(day) FROM baostock.synced_days", &[])
}

/// Whether `day` is already complete.
pub fn is_synced(day: NaiveDate) -> SyncResult<bool> {
    Spi::get_one_with_args::<bool>(
        "SELECT EXISTS (SELECT 1 FROM baostock.synced_days WHERE day = $1)",
        &[pg_date(day).into()],
    )
    .map(|b| b.unwrap_or(false))
    .map_err(spi_err)
}

/// Number of securities stored.
pub fn securities_count() -> SyncResult<i64> {
    Spi::get_one::<i64>("SELECT count(*) FROM baostock.securities")
        .map(|n| n.unwrap_or(0))
        .map_err(spi_err)
}

/// Marks `day` complete, in the transaction that wrote its data (by a job, or by a run whose
/// id `set_synced_run` adds once its record is written).
pub fn mark_synced(day: NaiveDate, job_id: Option<i64>, bars: i64, factors: i64) -> SyncResult<()> {
    Spi::run_with_args(
        "INSERT INTO baostock.synced_days (day, job_id, bars, factors) VALUES ($1, $2, $3::int, $4::int)
         ON CONFLICT (day) DO UPDATE SET run_id = NULL, job_id = excluded.job_id, synced_at = now(),
                                         bars = excluded.bars, factors = excluded.factors",
        &[pg_date(day).into(), job_id.into(), bars.into(), factors.into()],
    )
    .map_err(spi_err)
}

/// Records which run completed `day`.
pub fn set_synced_run(day: NaiveDate, run_id: i64) -> SyncResult<()> {
    Spi::run_with_args(
        "UPDATE baostock.synced_days SET run_id = $2 WHERE day = $1",
        &[pg_date(day).into(), run_id.into()],
    )
    .map_err(spi_err)
}

/// Marks one code's range of `kind` (`d` or `factors`) complete, beside its rows.
pub fn mark_range(code: &str, kind: &str, start: NaiveDate, end: NaiveDate, job_id: Option<i64>) -> SyncResult<()> {
    Spi::run_with_args(
        "INSERT INTO baostock.synced_ranges (code, kind, span, job_id)
         VALUES ($1, $2, daterange($3, $4, '[]'), $5)",
        &[
            code.into(),
            kind.into(),
            pg_date(start).into(),
            pg_date(end).into(),
            job_id.into(),
        ],
    )
    .map_err(spi_err)
}

/// The last day a range of `frequency` ending on `end`, asked for at the server's time
/// `asked_at`, covers for good: `end`, but no day after the last one of its kind the server
/// had published then (for weeks and months the end of a period whose bar was out), and for
/// weeks and months the day before the period of that day while it has trading days after
/// it. Its bar is stored; the next backfill fetches it again.
pub fn covered_end(
    frequency: baostock::value::Frequency,
    end: NaiveDate,
    asked_at: NaiveDateTime,
) -> SyncResult<Option<NaiveDate>> {
    use baostock::value::Frequency;
    let published = publication::published_through(Kind::of(frequency), asked_at);
    let end = end.min(published);
    if !matches!(frequency, Frequency::Weekly | Frequency::Monthly) {
        return Ok(Some(end));
    }
    let (start, last) = (period::period_start(frequency, end), period::period_end(frequency, end));
    let open = Spi::get_one_with_args::<bool>(
        "SELECT EXISTS (SELECT 1 FROM baostock.trade_calendar WHERE is_trading_day
                              AND day > $1 AND day <= $2)",
        &[pg_date(end).into(), pg_date(last).into()],
    )
    .map_err(spi_err)?
    .unwrap_or(false);
    Ok(if open { start.pred_opt() } else { Some(end) })
}

/// Securities of a type (1 stock, 5 ETF) that `baostock.securities` lists as trading on `day`.
pub fn listed(day: NaiveDate, sec_type: i16) -> SyncResult<i64> {
    Spi::get_one_with_args::<i64>(
        "SELECT count(*) FROM baostock.securities
         WHERE sec_type = $2 AND ipo_date <= $1 AND (out_date IS NULL OR out_date > $1)",
        &[pg_date(day).into(), sec_type.into()],
    )
    .map(|n| n.unwrap_or(0))
    .map_err(spi_err)
}

/// Trading days after the newest synced day up to `latest`, oldest first (every trading day
/// up to `latest` is not included when nothing is synced: then only `latest`).
pub fn unsynced_days_after_newest(latest: NaiveDate) -> SyncResult<Vec<NaiveDate>> {
    dates(
        "SELECT day FROM baostock.trade_calendar
         WHERE is_trading_day AND day <= $1
           AND day > coalesce((SELECT max(day) FROM baostock.synced_days), $1 - 1)
           AND day NOT IN (SELECT day FROM baostock.synced_days)
         ORDER BY day",
        &[pg_date(latest).into()],
    )
}

/// The last day the stored calendar has, if any.
pub fn calendar_end() -> SyncResult<Option<NaiveDate>> {
    date_query("SELECT max(day) FROM baostock.trade_calendar", &[])
}

/// The latest trading day up to `today` in the stored calendar.
pub fn latest_trading_day(today: NaiveDate) -> SyncResult<Option<NaiveDate>> {
    date_query(
        "SELECT max(day) FROM baostock.trade_calendar
         WHERE is_trading_day AND day <= $1",
        &[pg_date(today).into()],
    )
}
