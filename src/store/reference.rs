//! Reference data: index constituents and industries, each a list per date the server says
//! it applies to; a list fetched again replaces the stored list of its date.

use baostock::reply::{IndexConstituent, StockIndustry};
use baostock::StockIndex;
use pg_baostock_core::Counts;
use pgrx::datum::Date;
use pgrx::Spi;

use super::{date_query, pg_date, spi_err};
use crate::error::SyncResult;

/// The short name of an index in `baostock.index_constituents`.
pub fn index_name(index: StockIndex) -> &'static str {
    match index {
        StockIndex::Hs300 => "hs300",
        StockIndex::Sz50 => "sz50",
        StockIndex::Zz500 => "zz500",
    }
}

/// The index of a short name in `baostock.index_constituents`.
pub fn index_of_name(name: &str) -> Option<StockIndex> {
    StockIndex::ALL.into_iter().find(|i| index_name(*i) == name)
}

/// Writes the lists of one index (usually one date): rows of the answer's dates that are no
/// longer in it are deleted, new ones inserted, renamed ones updated.
pub fn replace_constituents(index: StockIndex, rows: &[IndexConstituent]) -> SyncResult<Counts> {
    let dates: Vec<Date> = rows.iter().map(|r| pg_date(r.update_date)).collect();
    let codes: Vec<String> = rows.iter().map(|r| r.code.clone()).collect();
    let names: Vec<Option<String>> = rows.iter().map(|r| r.code_name.clone()).collect();
    counts(
        "WITH input AS (
             SELECT DISTINCT ON (d, code) d AS update_date, code, name
             FROM unnest($2::date[], $3::text[], $4::text[]) AS t(d, code, name)
         ), gone AS (
             DELETE FROM baostock.index_constituents c
             WHERE c.index_name = $1 AND c.update_date IN (SELECT update_date FROM input)
               AND NOT EXISTS (SELECT 1 FROM input i WHERE i.update_date = c.update_date AND i.code = c.code)
             RETURNING 1
         ), written AS (
             INSERT INTO baostock.index_constituents AS c (index_name, update_date, code, code_name, updated_at)
             SELECT $1, update_date, code, name, now() FROM input
             ON CONFLICT (index_name, update_date, code) DO UPDATE SET
                 code_name = excluded.code_name, updated_at = excluded.updated_at
             WHERE c.code_name IS DISTINCT FROM excluded.code_name
             RETURNING (xmax = 0) AS inserted
         )
         SELECT (SELECT count(*) FROM input), count(*) FILTER (WHERE inserted),
                count(*) FILTER (WHERE NOT inserted)
         FROM written, (SELECT count(*) FROM gone) g",
        vec![index_name(index).into(), dates.into(), codes.into(), names.into()],
    )
}

/// Writes the industries of the answer's dates (stocks no longer classified on a date are
/// deleted from it).
pub fn replace_industries(rows: &[StockIndustry]) -> SyncResult<Counts> {
    let dates: Vec<Date> = rows.iter().map(|r| pg_date(r.update_date)).collect();
    let codes: Vec<String> = rows.iter().map(|r| r.code.clone()).collect();
    let names: Vec<Option<String>> = rows.iter().map(|r| r.code_name.clone()).collect();
    let industries: Vec<Option<String>> = rows.iter().map(|r| r.industry.clone()).collect();
    let classes: Vec<Option<String>> = rows.iter().map(|r| r.industry_classification.clone()).collect();
    counts(
        "WITH input AS (
             SELECT DISTINCT ON (code, d) code, d AS update_date, name, industry, class
             FROM unnest($1::date[], $2::text[], $3::text[], $4::text[], $5::text[]) AS t(d, code, name, industry, class)
         ), gone AS (
             DELETE FROM baostock.stock_industries s
             WHERE s.update_date IN (SELECT update_date FROM input)
               AND NOT EXISTS (SELECT 1 FROM input i WHERE i.update_date = s.update_date AND i.code = s.code)
             RETURNING 1
         ), written AS (
             INSERT INTO baostock.stock_industries AS s (code, update_date, code_name, industry, industry_classification, updated_at)
             SELECT code, update_date, name, industry, class, now() FROM input
             ON CONFLICT (code, update_date) DO UPDATE SET
                 code_name = excluded.code_name, industry = excluded.industry,
                 industry_classification = excluded.industry_classification, updated_at = excluded.updated_at
             WHERE (s.code_name, s.industry, s.industry_classification)
                   IS DISTINCT FROM (excluded.code_name, excluded.industry, excluded.industry_classification)
             RETURNING (xmax = 0) AS inserted
         )
         SELECT (SELECT count(*) FROM input), count(*) FILTER (WHERE inserted),
                count(*) FILTER (WHERE NOT inserted)
         FROM written, (SELECT count(*) FROM gone) g",
        vec![
            dates.into(),
            codes.into(),
            names.into(),
            industries.into(),
            classes.into(),
        ],
    )
}

/// Runs a write returning `received, inserted, changed` of the rows received and turns it
/// into counts (rows a list no longer has are deleted and not counted).
pub(super) fn counts(sql: &str, args: Vec<pgrx::datum::DatumWithOid>) -> SyncResult<Counts> {
    Spi::connect_mut(|c| {
        let row = c.update(sql, Some(1), &args)?.first();
        let n = row.get::<i64>(1)?.unwrap_or(0);
        let inserted = row.get::<i64>(2)?.unwrap_or(0);
        let updated = row.get::<i64>(3)?.unwrap_or(0);
        Ok::<_, pgrx::spi::SpiError>(Counts {
            inserted,
            updated,
            unchanged: n - inserted - updated,
        })
    })
    .map_err(spi_err)
}

/// The oldest of the newest dates the stored lists of each index and the industries apply
/// to: `None` while any of them has none.
pub fn oldest_newest_date() -> SyncResult<Option<chrono::NaiveDate>> {
    date_query(
        "SELECT CASE WHEN count(*) = 4 AND count(d) = 4 THEN min(d) END
         FROM (SELECT (SELECT max(update_date) FROM baostock.index_constituents WHERE index_name = i) AS d
               FROM unnest(ARRAY['hs300', 'sz50', 'zz500']) AS i
               UNION ALL SELECT max(update_date) FROM baostock.stock_industries) x",
        &[],
    )
}
