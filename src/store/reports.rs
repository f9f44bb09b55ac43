//! The reports' tables (`baostock.report_<kind>`, sql/reports.sql): a kind's rows written by
//! one upsert whose columns come from the codec's field list, so a table and its kind cannot
//! drift apart without the store's test failing; the checks of what fundamentals jobs asked
//! (`baostock.report_checks`), and the stock listings their plans are made from.

use std::collections::HashSet;

use baostock::report::{CellType, Report, ReportKind};
use chrono::NaiveDate;
use pg_baostock_core::Counts;
use pgrx::datum::Date;
use pgrx::Spi;

use super::reference::counts;
use super::{from_pg_date, pg_date, spi_err, strings};
use crate::error::SyncResult;

/// The table a kind's rows go to.
pub fn table(kind: ReportKind) -> String {
    format!("baostock.report_{}", kind.name())
}

/// The columns of a kind's table with their SQL types, in order: the kind's fields, and for
/// dividends their date of knowledge (`pub_date`) first.
pub fn columns(kind: ReportKind) -> Vec<(&'static str, &'static str)> {
    let mut out = Vec::new();
    if kind == ReportKind::Dividend {
        out.push(("pub_date", "date"));
    }
    out.extend(kind.fields().iter().map(|f| {
        let ty = match f.ty {
            CellType::Date => "date",
            CellType::Number => "numeric",
            CellType::Integer => "integer",
            CellType::Text => "text",
        };
        (f.column, ty)
    }));
    out
}

/// The primary key of a kind's table: a quarterly, express or forecast report by code, period
/// and publication (every revision kept); a dividend by code and date of knowledge; the rates
/// by announcement; money supply by period.
pub fn key(kind: ReportKind) -> &'static [&'static str] {
    match kind {
        ReportKind::Dividend => &["code", "pub_date"],
        ReportKind::DepositRate | ReportKind::LoanRate => &["pub_date"],
        ReportKind::ReserveRatio => &["pub_date", "effective_date"],
        ReportKind::MoneySupplyMonth => &["stat_year", "stat_month"],
        ReportKind::MoneySupplyYear => &["stat_year"],
        _ => &["code", "stat_date", "pub_date"],
    }
}

/// The upsert of a kind's rows: every column a `text[]` parameter cast to its type (a row
/// repeated in one answer counts once), a row whose values did not change left alone.
fn upsert_sql(kind: ReportKind) -> String {
    let cols = columns(kind);
    let key = key(kind);
    let names: Vec<&str> = cols.iter().map(|(c, _)| *c).collect();
    let params: Vec<String> = (1..=cols.len()).map(|i| format!("${i}::text[]")).collect();
    let aliases: Vec<String> = (1..=cols.len()).map(|i| format!("c{i}")).collect();
    let casts: Vec<String> = cols
        .iter()
        .enumerate()
        .map(|(i, (c, ty))| format!("c{}::{ty} AS {c}", i + 1))
        .collect();
    let rest: Vec<&str> = names.iter().copied().filter(|c| !key.contains(c)).collect();
    let set: Vec<String> = rest.iter().map(|c| format!("{c} = excluded.{c}")).collect();
    let old: Vec<String> = rest.iter().map(|c| format!("t.{c}")).collect();
    let new: Vec<String> = rest.iter().map(|c| format!("excluded.{c}")).collect();
    format!(
        "WITH input AS (
             SELECT DISTINCT ON ({key}) {casts}
             FROM unnest({params}) AS u({aliases})
         ), written AS (
             INSERT INTO {table} AS t ({names}, fetched_at)
             SELECT {names}, now() FROM input
             ON CONFLICT ({key}) DO UPDATE SET {set}, fetched_at = excluded.fetched_at
             WHERE ({old}) IS DISTINCT FROM ({new})
             RETURNING (xmax = 0) AS inserted
         )
         SELECT (SELECT count(*) FROM input), count(*) FILTER (WHERE inserted),
                count(*) FILTER (WHERE NOT inserted)
         FROM written",
        key = key.join(", "),
        casts = casts.join(", "),
        params = params.join(", "),
        aliases = aliases.join(", "),
        table = table(kind),
        names = names.join(", "),
        set = set.join(", "),
        old = old.join(", "),
        new = new.join(", "),
    )
}

/// Writes rows of one kind: new ones inserted, changed ones updated (`fetched_at` too).
pub fn upsert_reports(kind: ReportKind, rows: &[Report]) -> SyncResult<Counts> {
    if rows.is_empty() {
        return Ok(Counts::default());
    }
    let mut columns: Vec<Vec<Option<String>>> = vec![Vec::with_capacity(rows.len()); self::columns(kind).len()];
    let offset = usize::from(kind == ReportKind::Dividend);
    for r in rows {
        if offset == 1 {
            columns[0].push(r.known_date().map(|d| d.to_string()));
        }
        for (i, cell) in r.cells.iter().enumerate() {
            columns[i + offset].push(cell.as_ref().map(|c| c.to_wire()));
        }
    }
    counts(&upsert_sql(kind), columns.into_iter().map(Into::into).collect())
}

/// Records the answer to a code's reports of a kind for a period (the last answer wins).
pub fn check_report(
    code: &str,
    kind: ReportKind,
    period: NaiveDate,
    rows: usize,
    is_final: bool,
    job_id: Option<i64>,
) -> SyncResult<()> {
    Spi::run_with_args(
        "INSERT INTO baostock.report_checks AS c (code, kind, period, rows, final, asked_at, job_id)
         VALUES ($1, $2, $3, $4, $5, now(), $6)
         ON CONFLICT (code, kind, period) DO UPDATE SET
             rows = excluded.rows, final = excluded.final, asked_at = excluded.asked_at, job_id = excluded.job_id",
        &[
            code.into(),
            kind.name().into(),
            pg_date(period).into(),
            i32::try_from(rows).unwrap_or(i32::MAX).into(),
            is_final.into(),
            job_id.into(),
        ],
    )
    .map_err(spi_err)
}

/// The periods of codes whose answers are final, by code and kind.
pub fn final_checks(codes: &[String]) -> SyncResult<HashSet<(String, String, NaiveDate)>> {
    Spi::connect(|c| {
        let mut out = HashSet::new();
        for row in c.select(
            "SELECT code, kind, period FROM baostock.report_checks WHERE final AND code = ANY ($1)",
            None,
            &[codes.to_vec().into()],
        )? {
            if let (Some(code), Some(kind), Some(period)) =
                (row.get::<String>(1)?, row.get::<String>(2)?, row.get::<Date>(3)?)
            {
                out.insert((code, kind, period));
            }
        }
        Ok::<_, pgrx::spi::SpiError>(out)
    })
    .map_err(spi_err)?
    .into_iter()
    .map(|(code, kind, period)| Ok((code, kind, from_pg_date(period)?)))
    .collect()
}

/// A stock's listing: its code, listing day and delisting day (if it was).
pub type Listing = (String, NaiveDate, Option<NaiveDate>);

/// The stocks (`sec_type` 1) listed at some time between two days, or the ones of `codes`
/// among them, by code; a stock without a listing day is left out (nothing says when it
/// reported).
pub fn stock_listings(codes: Option<&[String]>, from: NaiveDate, to: NaiveDate) -> SyncResult<Vec<Listing>> {
    let rows = Spi::connect(|c| {
        let mut out = Vec::new();
        for row in c.select(
            "SELECT code, ipo_date, out_date FROM baostock.securities
             WHERE sec_type = 1 AND ipo_date IS NOT NULL AND ipo_date <= $2 AND (out_date IS NULL OR out_date > $1)
               AND ($3::text[] IS NULL OR code = ANY ($3))
             ORDER BY code",
            None,
            &[
                pg_date(from).into(),
                pg_date(to).into(),
                codes.map(<[String]>::to_vec).into(),
            ],
        )? {
            out.push((row.get::<String>(1)?, row.get::<Date>(2)?, row.get::<Date>(3)?));
        }
        Ok::<_, pgrx::spi::SpiError>(out)
    })
    .map_err(spi_err)?;
    rows.into_iter()
        .filter_map(|(code, ipo, out)| Some((code?, ipo?, out)))
        .map(|(code, ipo, out)| Ok((code, from_pg_date(ipo)?, out.map(from_pg_date).transpose()?)))
        .collect()
}

/// The codes among `codes` that are not stocks (`sec_type` 1).
pub fn not_stocks(codes: &[String]) -> SyncResult<Vec<String>> {
    strings(
        "SELECT code FROM baostock.securities WHERE code = ANY ($1) AND sec_type IS DISTINCT FROM 1 ORDER BY code",
        &[codes.to_vec().into()],
    )
}

/// A code and kind asked before, the first period asked and the newest with a final answer.
pub type Followed = (String, ReportKind, NaiveDate, Option<NaiveDate>);

/// For each of `codes` and each kind asked of it before: the first period asked and the newest
/// period with a final answer (`None`: none yet).
pub fn followed(codes: &[String]) -> SyncResult<Vec<Followed>> {
    let rows = Spi::connect(|c| {
        let mut out = Vec::new();
        for row in c.select(
            "SELECT code, kind, min(period), max(period) FILTER (WHERE final) FROM baostock.report_checks
             WHERE code = ANY ($1) GROUP BY code, kind ORDER BY code, kind",
            None,
            &[codes.to_vec().into()],
        )? {
            out.push((
                row.get::<String>(1)?,
                row.get::<String>(2)?,
                row.get::<Date>(3)?,
                row.get::<Date>(4)?,
            ));
        }
        Ok::<_, pgrx::spi::SpiError>(out)
    })
    .map_err(spi_err)?;
    let mut out = Vec::new();
    for (code, kind, first, newest) in rows {
        if let (Some(code), Some(kind), Some(first)) = (code, kind.as_deref().and_then(ReportKind::from_name), first) {
            out.push((code, kind, from_pg_date(first)?, newest.map(from_pg_date).transpose()?));
        }
    }
    Ok(out)
}

/// When each not-final answer of `codes` was asked (Unix seconds), by code, kind and period.
pub fn open_checks(codes: &[String]) -> SyncResult<std::collections::HashMap<(String, String, NaiveDate), i64>> {
    let rows = Spi::connect(|c| {
        let mut out = Vec::new();
        for row in c.select(
            "SELECT code, kind, period, extract(epoch FROM asked_at)::bigint FROM baostock.report_checks
             WHERE NOT final AND code = ANY ($1)",
            None,
            &[codes.to_vec().into()],
        )? {
            out.push((
                row.get::<String>(1)?,
                row.get::<String>(2)?,
                row.get::<Date>(3)?,
                row.get::<i64>(4)?,
            ));
        }
        Ok::<_, pgrx::spi::SpiError>(out)
    })
    .map_err(spi_err)?;
    let mut out = std::collections::HashMap::new();
    for (code, kind, period, at) in rows {
        if let (Some(code), Some(kind), Some(period)) = (code, kind, period) {
            out.insert((code, kind, from_pg_date(period)?), at.unwrap_or(0));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_column_is_a_column_and_the_upsert_names_each_once() {
        for kind in ReportKind::ALL {
            let names: Vec<&str> = columns(kind).iter().map(|(c, _)| *c).collect();
            for k in key(kind) {
                assert!(names.contains(k), "{}: key {k}", kind.name());
            }
            let sql = upsert_sql(kind);
            assert!(sql.contains(&format!("INSERT INTO baostock.report_{} AS t", kind.name())));
            assert_eq!(sql.matches("::text[]").count(), names.len(), "{}", kind.name());
        }
    }
}
