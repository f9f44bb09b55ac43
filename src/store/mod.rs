//! The only module that talks SPI. Bars go in through COPY (`copy`) and are compared with
//! what is stored by their digests (`write_rows`); the other tables by batch upserts, many rows
//! a statement through array parameters and `unnest`, one prepared statement per table and
//! call. Every write touches only rows whose values changed and counts inserted / updated /
//! unchanged.

use std::collections::BTreeMap;
use std::panic::AssertUnwindSafe;

use baostock::reply::{AdjustFactor, DailyBar, StockBasic, TradeDate};
use baostock::value::Decimal;
use chrono::NaiveDate;
use pgrx::datum::DatumWithOid;
use pgrx::pg_sys::{PgBuiltInOids, PgOid};
use pgrx::spi::{SpiClient, SpiResult};
use pgrx::{pg_sys, PgTryBuilder, Spi};

use crate::error::{SyncError, SyncResult};
use copy::Value;

pub mod bars;
mod copy;
pub mod jobs;
#[cfg(any(test, feature = "pg_test"))]
mod pg_tests;
pub mod reference;
pub mod server;

/// What an upsert did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub inserted: i64,
    pub updated: i64,
    pub unchanged: i64,
}

impl Counts {
    /// Rows received (after removing duplicates).
    pub fn total(&self) -> i64 {
        self.inserted + self.updated + self.unchanged
    }
}

impl std::ops::AddAssign for Counts {
    fn add_assign(&mut self, o: Counts) {
        self.inserted += o.inserted;
        self.updated += o.updated;
        self.unchanged += o.unchanged;
    }
}

pub fn spi_err(e: pgrx::spi::SpiError) -> SyncError {
    SyncError::Store(format!("pg_baostock store: {e}"))
}

fn text(d: Option<Decimal>) -> Option<String> {
    d.map(|d| d.to_string())
}

pub fn date_text(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

/// A column of one batch, in the type its placeholder declares.
enum Column {
    Text(Vec<Option<String>>),
    Int2(Vec<Option<i16>>),
    Bool(Vec<Option<bool>>),
}

impl Column {
    fn oid(&self) -> PgOid {
        PgOid::BuiltIn(match self {
            Column::Text(_) => PgBuiltInOids::TEXTARRAYOID,
            Column::Int2(_) => PgBuiltInOids::INT2ARRAYOID,
            Column::Bool(_) => PgBuiltInOids::BOOLARRAYOID,
        })
    }

    fn datum(self) -> DatumWithOid<'static> {
        match self {
            Column::Text(v) => v.into(),
            Column::Int2(v) => v.into(),
            Column::Bool(v) => v.into(),
        }
    }
}

/// Runs an upsert statement (which must return `inserted, updated` counts) over `rows` in
/// batches of `batch` rows, preparing it once.
fn upsert<T>(sql: &str, rows: &[T], batch: usize, columns: impl Fn(&[T]) -> Vec<Column>) -> SyncResult<Counts> {
    let mut total = Counts::default();
    if rows.is_empty() {
        return Ok(total);
    }
    Spi::connect_mut(|client: &mut SpiClient| -> SpiResult<()> {
        let oids: Vec<PgOid> = columns(&rows[..1]).iter().map(Column::oid).collect();
        let stmt = client.prepare_mut(sql, &oids)?;
        for chunk in rows.chunks(batch) {
            let args: Vec<DatumWithOid> = columns(chunk).into_iter().map(Column::datum).collect();
            let table = client.update(&stmt, None, &args)?;
            let row = table.first();
            let inserted = row.get::<i64>(1)?.unwrap_or(0);
            let updated = row.get::<i64>(2)?.unwrap_or(0);
            let n = i64::try_from(chunk.len()).unwrap_or(i64::MAX);
            total += Counts {
                inserted,
                updated,
                unchanged: n - inserted - updated,
            };
        }
        Ok(())
    })
    .map_err(spi_err)?;
    Ok(total)
}

/// Upserts daily bars; a code and date that appears twice keeps its last row.
pub fn upsert_bars(rows: &[DailyBar], batch: usize) -> SyncResult<Counts> {
    write_rows("baostock.daily_bars", rows, batch)
}

/// Writes `rows` into `table` (`schema.name`; partitioned or not) the way COPY does, each
/// with a digest of its values (`row_hash`); a key sent twice keeps its last row. Rows not
/// stored yet go in through COPY at once (a day or a range fetched for the first time). When
/// some are stored already, COPY stops at the first and its subtransaction is rolled back;
/// then each batch is compared with what is stored: one aggregate (count and sum of digests)
/// over the part of the table the batch covers settles a batch stored unchanged, else each row
/// is looked up: unchanged rows are only counted, changed ones deleted (by `ctid`) and copied
/// in again with the new ones.
pub fn write_rows<R: copy::CopyRow>(table: &str, rows: &[R], batch: usize) -> SyncResult<Counts> {
    let rows: Vec<&R> = if rows.windows(2).all(|w| w[0].key() < w[1].key()) {
        rows.iter().collect()
    } else {
        let unique: BTreeMap<R::Key<'_>, &R> = rows.iter().map(|r| (r.key(), r)).collect();
        unique.into_values().collect()
    };
    if rows.is_empty() {
        return Ok(Counts::default());
    }
    let count = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
    let lines = copy::Lines::new(&rows);
    let columns = copy::names::<R>();
    match subtransaction(|| copy::copy_in(table, &columns, lines.all())) {
        Ok(n) => {
            return Ok(Counts {
                inserted: i64::try_from(n).unwrap_or(i64::MAX),
                ..Counts::default()
            })
        }
        Err(SyncError::Postgres {
            sqlstate: pgrx::PgSqlErrorCode::ERRCODE_UNIQUE_VIOLATION,
            ..
        }) => {}
        Err(e) => return Err(e),
    }
    let mut total = Counts::default();
    // The aggregate is skipped after a batch it did not settle, until a batch turns out
    // unchanged again: rows that change tend to come together (a day revised, a range fetched
    // again with new values), and then the probe only costs.
    let mut probe = true;
    for (c, chunk) in rows.chunks(batch).enumerate() {
        let picked: Vec<usize> = (c * batch..c * batch + chunk.len()).collect();
        let keys = KeyArgs::new(lines.keys(c * batch..c * batch + chunk.len()), R::KEY);
        let mut in_range = count(chunk.len());
        if probe {
            let stored = stored_in_range::<R>(table, &keys)?;
            let sum: i128 = picked.iter().map(|&i| i128::from(lines.hashes[i])).sum();
            if stored == (count(chunk.len()), sum) {
                total.unchanged += count(chunk.len());
                continue;
            }
            in_range = stored.0;
        }
        let hashes: Vec<i64> = picked.iter().map(|&i| lines.hashes[i]).collect();
        let Differences { new, changed } = stored_differences::<R>(table, &keys, hashes, in_range)?;
        probe = new.is_empty() && changed.is_empty();
        for (relation, rows) in &changed {
            delete_rows(*relation, rows)?;
        }
        let mut write: Vec<usize> = new.clone();
        write.extend(changed.values().flatten().map(|(i, _)| *i));
        write.sort_unstable();
        if !write.is_empty() {
            copy::copy_in(table, &columns, lines.picked(write.iter().map(|i| picked[*i])))?;
        }
        let updated = changed.values().map(Vec::len).sum::<usize>();
        total += Counts {
            inserted: count(new.len()),
            updated: count(updated),
            unchanged: count(chunk.len() - new.len() - updated),
        };
    }
    Ok(total)
}

/// A key value as a query parameter of its column's type.
fn key_value(v: Value<'_>) -> DatumWithOid<'static> {
    key_param(std::slice::from_ref(&v), false)
}

/// A key column's values as an array parameter of the column's type.
fn key_array(column: &[Value<'_>]) -> DatumWithOid<'static> {
    key_param(column, true)
}

/// The first of `column`'s values, or all of them as an array, in the type of the first: text,
/// int2, int8, date or timestamp (every key column is one). A value of another kind goes as
/// NULL, which matches no stored key.
fn key_param(column: &[Value<'_>], array: bool) -> DatumWithOid<'static> {
    fn param<T>(column: &[Value<'_>], array: bool, f: impl Fn(Value<'_>) -> Option<T>) -> DatumWithOid<'static>
    where
        T: pgrx::IntoDatum + 'static,
    {
        let mut values = column.iter().map(|v| f(*v));
        if array {
            values.collect::<Vec<Option<T>>>().into()
        } else {
            values.next().flatten().into()
        }
    }
    match column.first() {
        Some(Value::Date(_)) => param(column, array, |v| match v {
            Value::Date(d) => Some(pgrx::datum::Date::saturating_from_raw(copy::pg_days(d))),
            _ => None,
        }),
        Some(Value::Timestamp(_)) => param(column, array, |v| match v {
            Value::Timestamp(t) => Some(pgrx::datum::Timestamp::saturating_from_raw(copy::pg_micros(t))),
            _ => None,
        }),
        Some(Value::Int2(_)) => param(column, array, |v| match v {
            Value::Int2(i) => i,
            _ => None,
        }),
        Some(Value::Int8(_)) => param(column, array, |v| match v {
            Value::Int8(i) => i,
            _ => None,
        }),
        _ => param(column, array, |v| match v {
            Value::Text(s) => Some(s.to_owned()),
            _ => None,
        }),
    }
}

/// A batch's keys, for the queries that compare it with the table: every row's key columns,
/// and the part of the table the batch covers. The batch is sorted by key, so its rows fall
/// into groups of equal leading key columns (a code, or a code and frequency), each a stretch
/// of the last one (dates, times) from `lo` to `hi`.
struct KeyArgs<'a> {
    /// Per key column, every row's value.
    rows: Vec<Vec<Value<'a>>>,
    /// Per leading key column, its value in each group.
    leads: Vec<Vec<Value<'a>>>,
    lo: Vec<Value<'a>>,
    hi: Vec<Value<'a>>,
}

impl<'a> KeyArgs<'a> {
    /// The keys of a batch: `n` values a row, one row's after another.
    fn new(keys: &[Value<'a>], n: usize) -> KeyArgs<'a> {
        let mut k = KeyArgs {
            rows: vec![Vec::with_capacity(keys.len() / n); n],
            leads: vec![Vec::new(); n - 1],
            lo: Vec::new(),
            hi: Vec::new(),
        };
        for (i, values) in keys.chunks_exact(n).enumerate() {
            for (c, v) in values.iter().enumerate() {
                k.rows[c].push(*v);
            }
            let same_group = i > 0 && (0..n - 1).all(|c| k.rows[c][i] == k.rows[c][i - 1]);
            let last = values[n - 1];
            match k.hi.last_mut() {
                Some(hi) if same_group => *hi = last,
                _ => {
                    for (lead, v) in k.leads.iter_mut().zip(values) {
                        lead.push(*v);
                    }
                    k.lo.push(last);
                    k.hi.push(last);
                }
            }
        }
        k
    }

    /// Every group spans the same stretch (a day of every code): the table's rows of the
    /// groups' leading values within it are exactly the batch's part.
    fn one_stretch(&self) -> bool {
        self.lo.iter().all(|l| *l == self.lo[0]) && self.hi.iter().all(|h| *h == self.hi[0])
    }

    /// The stored rows of the part of `table` the batch covers, as a FROM item `b` with the
    /// key columns, `row_hash`, `rel` (the partition) and `tid`; its parameters come after the
    /// first `taken` ones.
    fn covered<R: copy::CopyRow>(&self, table: &str, taken: usize) -> (String, Vec<DatumWithOid<'static>>) {
        let keys = &R::COLUMNS[..R::KEY];
        let (last, last_ty) = keys[keys.len() - 1];
        let leads = &keys[..keys.len() - 1];
        let names: Vec<String> = keys.iter().map(|(k, _)| format!("t.{k}")).collect();
        let select = format!(
            "SELECT {}, t.row_hash, t.tableoid AS rel, t.ctid AS tid FROM {table} t",
            names.join(", ")
        );
        let p = |i: usize| taken + i + 1;
        let mut args: Vec<DatumWithOid<'static>> = self.leads.iter().map(|v| key_array(v)).collect();
        if self.one_stretch() {
            let mut conds: Vec<String> = leads
                .iter()
                .enumerate()
                .map(|(i, (k, ty))| format!("t.{k} = ANY(${}::{ty}[])", p(i)))
                .collect();
            conds.push(format!(
                "t.{last} BETWEEN ${}::{last_ty} AND ${}::{last_ty}",
                p(leads.len()),
                p(leads.len() + 1)
            ));
            args.push(key_value(self.lo[0]));
            args.push(key_value(self.hi[0]));
            (format!("({select} WHERE {}) b", conds.join(" AND ")), args)
        } else {
            // A stretch per group, each read by its own index scan (a lateral subquery).
            let mut arrays: Vec<String> = leads
                .iter()
                .enumerate()
                .map(|(i, (_, ty))| format!("${}::{ty}[]", p(i)))
                .collect();
            arrays.push(format!("${}::{last_ty}[]", p(leads.len())));
            arrays.push(format!("${}::{last_ty}[]", p(leads.len() + 1)));
            let mut cols: Vec<String> = leads.iter().map(|(k, _)| k.to_string()).collect();
            cols.extend(["lo".to_owned(), "hi".to_owned()]);
            let mut conds: Vec<String> = leads.iter().map(|(k, _)| format!("t.{k} = g.{k}")).collect();
            conds.push(format!("t.{last} BETWEEN g.lo AND g.hi"));
            args.push(key_array(&self.lo));
            args.push(key_array(&self.hi));
            (
                format!(
                    "unnest({}) g({}) CROSS JOIN LATERAL ({select} WHERE {} OFFSET 0) b",
                    arrays.join(", "),
                    cols.join(", "),
                    conds.join(" AND ")
                ),
                args,
            )
        }
    }
}

/// How many rows are stored in the part of the table a batch covers, and the sum of their
/// digests.
fn stored_in_range<R: copy::CopyRow>(table: &str, keys: &KeyArgs) -> SyncResult<(i64, i128)> {
    let (covered, args) = keys.covered::<R>(table, 0);
    let sql = format!("SELECT count(*), coalesce(sum(b.row_hash), 0)::text FROM {covered}");
    Spi::connect(|c| {
        let row = c.select(&sql, Some(1), &args)?.first();
        Ok::<_, pgrx::spi::SpiError>((
            row.get::<i64>(1)?.unwrap_or(0),
            row.get::<String>(2)?.unwrap_or_default(),
        ))
    })
    .map_err(spi_err)
    .map(|(n, sum)| (n, sum.parse::<i128>().unwrap_or(i128::MIN)))
}

/// What a batch of rows holds against the stored rows (indexes into the batch).
struct Differences {
    /// Rows whose key is not stored.
    new: Vec<usize>,
    /// Rows stored with other values: by the oid of the relation (partition) holding the stored row,
    /// the row and the stored row's `ctid`.
    changed: BTreeMap<u32, Vec<(usize, pg_sys::ItemPointerData)>>,
}

/// Of a batch (its keys and digests), the rows whose key is not stored in `table`, and those
/// stored with another digest. The stored rows of the key range are read at once and matched
/// by a hash join; when the range holds many more rows than the batch (`in_range`), each key
/// is looked up in the index instead (the OFFSET keeps the planner from hashing the table).
fn stored_differences<R: copy::CopyRow>(
    table: &str,
    keys: &KeyArgs,
    hashes: Vec<i64>,
    in_range: i64,
) -> SyncResult<Differences> {
    let key = &R::COLUMNS[..R::KEY];
    let params: Vec<String> = key
        .iter()
        .enumerate()
        .map(|(i, (_, ty))| format!("${}::{ty}[]", i + 1))
        .collect();
    let names: Vec<&str> = key.iter().map(|(k, _)| *k).collect();
    let matches: Vec<String> = key.iter().map(|(k, _)| format!("s.{k} = i.{k}")).collect();
    let mut extra = Vec::new();
    let stored = if in_range > 4 * i64::try_from(hashes.len()).unwrap_or(i64::MAX) {
        format!(
            "LEFT JOIN LATERAL (SELECT b.tableoid AS rel, b.ctid AS tid, b.row_hash AS h
                                FROM {table} b WHERE {} OFFSET 0) s ON true",
            matches.join(" AND ").replace("s.", "b.")
        )
    } else {
        let (covered, args) = keys.covered::<R>(table, key.len() + 1);
        extra = args;
        format!(
            "LEFT JOIN (SELECT {}, b.rel, b.tid, b.row_hash AS h FROM {covered}) s ON {}",
            names.iter().map(|k| format!("b.{k}")).collect::<Vec<_>>().join(", "),
            matches.join(" AND ")
        )
    };
    let sql = format!(
        "SELECT i.n::int, s.rel, s.tid
         FROM unnest({params}, ${h}::int8[]) WITH ORDINALITY AS i({names}, h, n) {stored}
         WHERE s.tid IS NULL OR s.h IS DISTINCT FROM i.h",
        params = params.join(", "),
        h = key.len() + 1,
        names = names.join(", "),
    );
    let mut args: Vec<DatumWithOid<'static>> = keys.rows.iter().map(|v| key_array(v)).collect();
    args.push(hashes.into());
    args.extend(extra);
    let differing = Spi::connect(|c| {
        let mut out = Vec::new();
        for row in c.select(&sql, None, &args)? {
            out.push((
                row.get::<i32>(1)?.unwrap_or(0),
                row.get::<pg_sys::Oid>(2)?,
                row.get::<pg_sys::ItemPointerData>(3)?,
            ));
        }
        Ok::<_, pgrx::spi::SpiError>(out)
    })
    .map_err(spi_err)?;
    let mut d = Differences {
        new: Vec::new(),
        changed: BTreeMap::new(),
    };
    for (n, rel, tid) in differing {
        let Some(i) = usize::try_from(n).ok().and_then(|n| n.checked_sub(1)) else {
            continue;
        };
        match (rel, tid) {
            (Some(rel), Some(tid)) => d.changed.entry(rel.to_u32()).or_default().push((i, tid)),
            _ => d.new.push(i),
        }
    }
    Ok(d)
}

/// Deletes rows of `relation` (a table, not a partitioned one: `ctid`s are per relation) by
/// `ctid`, with a TID scan (a small table would be scanned whole for a batch otherwise).
fn delete_rows(relation: u32, rows: &[(usize, pg_sys::ItemPointerData)]) -> SyncResult<()> {
    let tids: Vec<pg_sys::ItemPointerData> = rows.iter().map(|(_, t)| *t).collect();
    let name = Spi::get_one_with_args::<String>("SELECT $1::regclass::text", &[pg_sys::Oid::from(relation).into()])
        .map_err(spi_err)?
        .ok_or_else(|| SyncError::Store(format!("pg_baostock store: no relation {relation}")))?;
    let sql = format!("DELETE FROM {name} WHERE ctid = ANY($1::tid[])");
    with_settings(&[(c"enable_seqscan", c"off")], || {
        Spi::run_with_args(&sql, &[tids.into()]).map_err(spi_err)
    })
}

/// Runs `body` with planner settings changed, as a function's `SET` clause does: restored
/// when it returns (an ERROR restores them with the transaction it aborts).
fn with_settings<T>(settings: &[(&std::ffi::CStr, &std::ffi::CStr)], body: impl FnOnce() -> T) -> T {
    // SAFETY: what fmgr_security_definer does for proconfig: a new GUC nest level, settings
    // saved at it, and AtEOXact_GUC(true) to pop it.
    unsafe {
        let level = pg_sys::NewGUCNestLevel();
        for (name, value) in settings {
            pg_sys::set_config_option(
                name.as_ptr(),
                value.as_ptr(),
                pg_sys::GucContext::PGC_USERSET,
                pg_sys::GucSource::PGC_S_SESSION,
                pg_sys::GucAction::GUC_ACTION_SAVE,
                true,
                0,
                false,
            );
        }
        let out = body();
        pg_sys::AtEOXact_GUC(true, level);
        out
    }
}

const FACTORS_SQL: &str = "
WITH input AS (
    SELECT * FROM unnest($1::text[], $2::text[]::date[], $3::text[]::numeric[], $4::text[]::numeric[],
                         $5::text[]::numeric[])
        AS t(code, operate_date, fore_factor, back_factor, adjust_factor)
), written AS (
    INSERT INTO baostock.adjust_factors AS f (code, operate_date, fore_factor, back_factor, adjust_factor)
    SELECT * FROM input
    ON CONFLICT (code, operate_date) DO UPDATE SET
        fore_factor = excluded.fore_factor, back_factor = excluded.back_factor,
        adjust_factor = excluded.adjust_factor, updated_at = now()
    WHERE (f.fore_factor, f.back_factor, f.adjust_factor)
          IS DISTINCT FROM (excluded.fore_factor, excluded.back_factor, excluded.adjust_factor)
    RETURNING (xmax = 0) AS inserted
)
SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM written";

/// Upserts adjust factors, then makes the fore factors of every code written relative to
/// that code's latest back factor again, as the server's are (a new factor changes them all):
/// for codes whose whole factor history is stored; the others keep what the server sent,
/// which is relative to a latest factor the store may not have.
pub fn upsert_factors(rows: &[AdjustFactor], batch: usize) -> SyncResult<Counts> {
    let unique: BTreeMap<(&str, NaiveDate), &AdjustFactor> =
        rows.iter().map(|r| ((r.code.as_str(), r.operate_date), r)).collect();
    let rows: Vec<&AdjustFactor> = unique.into_values().collect();
    let counts = upsert(FACTORS_SQL, &rows, batch, |c| {
        vec![
            Column::Text(c.iter().map(|r| Some(r.code.clone())).collect()),
            Column::Text(c.iter().map(|r| Some(date_text(r.operate_date))).collect()),
            Column::Text(c.iter().map(|r| text(r.fore)).collect()),
            Column::Text(c.iter().map(|r| text(r.back)).collect()),
            Column::Text(c.iter().map(|r| text(r.factor)).collect()),
        ]
    })?;
    let mut codes: Vec<String> = rows.iter().map(|r| r.code.clone()).collect();
    codes.dedup();
    if !codes.is_empty() {
        Spi::run_with_args(
            "UPDATE baostock.adjust_factors f SET fore_factor = round(f.back_factor / l.back, 6), updated_at = now()
             FROM (SELECT DISTINCT ON (code) code, back_factor AS back FROM baostock.adjust_factors
                   WHERE code = ANY($1::text[]) ORDER BY code, operate_date DESC) l
             WHERE f.code = l.code AND l.back > 0
               AND f.fore_factor IS DISTINCT FROM round(f.back_factor / l.back, 6)
               AND EXISTS (SELECT 1 FROM baostock.synced_ranges r
                           WHERE r.code = f.code AND r.kind = 'factors' AND lower(r.span) <= $2::text::date)",
            &[codes.into(), date_text(crate::sync::FIRST_TRADING_DAY).into()],
        )
        .map_err(spi_err)?;
    }
    Ok(counts)
}

const CALENDAR_SQL: &str = "
WITH written AS (
    INSERT INTO baostock.trade_calendar AS c (day, is_trading_day)
    SELECT * FROM unnest($1::text[]::date[], $2::bool[])
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
            Column::Text(c.iter().map(|d| Some(date_text(d.date))).collect()),
            Column::Bool(c.iter().map(|d| Some(d.is_trading_day)).collect()),
        ]
    })
}

const SECURITIES_SQL: &str = "
WITH input AS (
    SELECT * FROM unnest($1::text[], $2::text[], $3::int2[], $4::int2[], $5::text[]::date[], $6::text[]::date[])
        AS t(code, name, sec_type, status, ipo_date, out_date)
), written AS (
    INSERT INTO baostock.securities AS s (code, name, sec_type, status, ipo_date, out_date)
    SELECT * FROM input
    ON CONFLICT (code) DO UPDATE SET
        name = excluded.name, sec_type = excluded.sec_type, status = excluded.status,
        ipo_date = excluded.ipo_date, out_date = excluded.out_date, updated_at = now()
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
            Column::Text(c.iter().map(|r| r.ipo_date.map(date_text)).collect()),
            Column::Text(c.iter().map(|r| r.out_date.map(date_text)).collect()),
        ]
    })
}

/// Whether the calendar says `day` is a trading day; `None` when the calendar lacks it.
pub fn trading_day(day: NaiveDate) -> SyncResult<Option<bool>> {
    Spi::get_one_with_args::<bool>(
        "SELECT (SELECT is_trading_day FROM baostock.trade_calendar WHERE day = $1::text::date)",
        &[date_text(day).into()],
    )
    .map_err(spi_err)
}

/// Whether `day` is already complete.
pub fn is_synced(day: NaiveDate) -> SyncResult<bool> {
    Spi::get_one_with_args::<bool>(
        "SELECT EXISTS (SELECT 1 FROM baostock.synced_days WHERE day = $1::text::date)",
        &[date_text(day).into()],
    )
    .map(|b| b.unwrap_or(false))
    .map_err(spi_err)
}

/// Whether a run of `kind` ended ok on the China day `today`.
pub fn ran_ok_today(kind: &str, today: NaiveDate) -> SyncResult<bool> {
    Spi::get_one_with_args::<bool>(
        "SELECT EXISTS (SELECT 1 FROM baostock.sync_runs WHERE kind = $1 AND status = 'ok'
                          AND (started_at AT TIME ZONE 'Asia/Shanghai')::date = $2::text::date)",
        &[kind.into(), date_text(today).into()],
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
        "INSERT INTO baostock.synced_days (day, job_id, bars, factors) VALUES ($1::text::date, $2, $3::int, $4::int)
         ON CONFLICT (day) DO UPDATE SET run_id = NULL, job_id = excluded.job_id, synced_at = now(),
                                         bars = excluded.bars, factors = excluded.factors",
        &[date_text(day).into(), job_id.into(), bars.into(), factors.into()],
    )
    .map_err(spi_err)
}

/// Records which run completed `day`.
pub fn set_synced_run(day: NaiveDate, run_id: i64) -> SyncResult<()> {
    Spi::run_with_args(
        "UPDATE baostock.synced_days SET run_id = $2 WHERE day = $1::text::date",
        &[date_text(day).into(), run_id.into()],
    )
    .map_err(spi_err)
}

/// Marks one code's range of `kind` (`d` or `factors`) complete, beside its rows.
pub fn mark_range(code: &str, kind: &str, start: NaiveDate, end: NaiveDate, job_id: Option<i64>) -> SyncResult<()> {
    Spi::run_with_args(
        "INSERT INTO baostock.synced_ranges (code, kind, span, job_id)
         VALUES ($1, $2, daterange($3::text::date, $4::text::date, '[]'), $5)",
        &[
            code.into(),
            kind.into(),
            date_text(start).into(),
            date_text(end).into(),
            job_id.into(),
        ],
    )
    .map_err(spi_err)
}

/// The last day a range of `frequency` ending on `end` covers for good: `end`, but for weeks
/// and months the day before the period of `end` while that period is not over: its last
/// day is today or later (China), or it has trading days after `end`. Its bar is stored; the
/// next backfill fetches it again.
pub fn covered_end(frequency: baostock::value::Frequency, end: NaiveDate) -> SyncResult<Option<NaiveDate>> {
    use baostock::value::Frequency;
    if !matches!(frequency, Frequency::Weekly | Frequency::Monthly) {
        return Ok(Some(end));
    }
    let (start, last) = (bars::period_start(frequency, end), bars::period_end(frequency, end));
    let open = last >= china_today()?
        || Spi::get_one_with_args::<bool>(
            "SELECT EXISTS (SELECT 1 FROM baostock.trade_calendar WHERE is_trading_day
                              AND day > $1::text::date AND day <= $2::text::date)",
            &[date_text(end).into(), date_text(last).into()],
        )
        .map_err(spi_err)?
        .unwrap_or(false);
    Ok(if open { start.pred_opt() } else { Some(end) })
}

/// Securities of a type (1 stock, 5 ETF) that `baostock.securities` lists as trading on `day`.
pub fn listed(day: NaiveDate, sec_type: i16) -> SyncResult<i64> {
    Spi::get_one_with_args::<i64>(
        "SELECT count(*) FROM baostock.securities
         WHERE sec_type = $2 AND ipo_date <= $1::text::date AND (out_date IS NULL OR out_date > $1::text::date)",
        &[date_text(day).into(), sec_type.into()],
    )
    .map(|n| n.unwrap_or(0))
    .map_err(spi_err)
}

/// Trading days after the newest synced day up to `latest`, oldest first (every trading day
/// up to `latest` is not included when nothing is synced: then only `latest`).
pub fn unsynced_days_after_newest(latest: NaiveDate) -> SyncResult<Vec<NaiveDate>> {
    dates(
        "SELECT to_char(day, 'YYYY-MM-DD') FROM baostock.trade_calendar
         WHERE is_trading_day AND day <= $1::text::date
           AND day > coalesce((SELECT max(day) FROM baostock.synced_days), $1::text::date - 1)
           AND day NOT IN (SELECT day FROM baostock.synced_days)
         ORDER BY day",
        &[date_text(latest).into()],
    )
}

/// How long a sync waits for a lock another sync holds before it gives up.
const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(120);

/// Takes the lock `name` of `baostock.sync_locks` until the end of the transaction: a row lock
/// on a row no role but the extension's owner may lock (made on first use). While another
/// sync holds it, waits in short steps that a cancel, a termination or the worker's stop ends,
/// and gives up after [`LOCK_WAIT`] with 55P03.
pub fn lock(name: &str) -> SyncResult<()> {
    Spi::run_with_args(
        "INSERT INTO baostock.sync_locks (name) VALUES ($1) ON CONFLICT (name) DO NOTHING",
        &[name.into()],
    )
    .map_err(spi_err)?;
    let started = std::time::Instant::now();
    loop {
        let got = Spi::get_one_with_args::<bool>(
            "SELECT true FROM baostock.sync_locks WHERE name = $1 FOR UPDATE SKIP LOCKED",
            &[name.into()],
        )
        .map_err(spi_err)?
        .unwrap_or(false);
        if got {
            return Ok(());
        }
        if started.elapsed() >= LOCK_WAIT {
            return Err(SyncError::Busy {
                message: format!(
                    "another session has held pg_baostock's lock on {name} for over {} s",
                    LOCK_WAIT.as_secs()
                ),
                hint: Some("A sync of the same day or month is running (or its transaction is left open): see pg_stat_activity, then try again.".into()),
            });
        }
        pause(50)?;
    }
}

/// Sleeps `ms` on the process latch; a pending cancel, termination or stop of the worker ends
/// it with an error instead.
fn pause(ms: i64) -> SyncResult<()> {
    // SAFETY: waiting on our own latch, as any backend does.
    unsafe {
        pg_sys::WaitLatch(
            pg_sys::MyLatch,
            (pg_sys::WL_LATCH_SET | pg_sys::WL_TIMEOUT | pg_sys::WL_EXIT_ON_PM_DEATH) as i32,
            ms,
            pg_sys::PG_WAIT_EXTENSION,
        );
        pg_sys::ResetLatch(pg_sys::MyLatch);
    }
    if crate::net::interrupt_pending() {
        return Err(SyncError::Interrupted);
    }
    Ok(())
}

/// Takes the lock that keeps two syncs from fetching and writing one day at once.
pub fn lock_day(day: NaiveDate) -> SyncResult<()> {
    lock(&format!("day {}", date_text(day)))
}

/// The first column of a query's rows, as text (rows where it is NULL left out).
pub fn strings(sql: &str, args: &[DatumWithOid]) -> SyncResult<Vec<String>> {
    Spi::connect(|c| {
        let mut out = Vec::new();
        for row in c.select(sql, None, args)? {
            if let Some(s) = row.get::<String>(1)? {
                out.push(s);
            }
        }
        Ok::<_, pgrx::spi::SpiError>(out)
    })
    .map_err(spi_err)
}

/// Dates a query returns as `YYYY-MM-DD` text, in order.
pub fn dates(sql: &str, args: &[DatumWithOid]) -> SyncResult<Vec<NaiveDate>> {
    strings(sql, args)?.iter().map(|s| stored_date(s)).collect()
}

/// A date the store formatted as `YYYY-MM-DD` (DateStyle varies, so queries format it).
pub fn stored_date(s: &str) -> SyncResult<NaiveDate> {
    baostock::value::parse_date(s).map_err(|e| SyncError::Store(format!("pg_baostock store: bad date {s:?}: {e}")))
}

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
             VALUES ($1, $2::jsonb, $3::text::date, to_timestamp($4), to_timestamp($5), $6, $7::int, $8, $9, $10, $11,
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
            r.day.map(date_text).into(),
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

/// Today in China (UTC+8), by the database clock (formatted explicitly: DateStyle varies).
pub fn china_today() -> SyncResult<NaiveDate> {
    let s =
        Spi::get_one::<String>("SELECT to_char(now() AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD')").map_err(spi_err)?;
    s.and_then(|s| baostock::value::parse_date(&s).ok())
        .ok_or_else(|| SyncError::Store("pg_baostock store: cannot read today's date".into()))
}

fn date_query(sql: &str, args: &[DatumWithOid]) -> SyncResult<Option<NaiveDate>> {
    let s = Spi::get_one_with_args::<String>(sql, args).map_err(spi_err)?;
    s.map(|s| stored_date(&s)).transpose()
}

/// The last day the stored calendar has, if any.
pub fn calendar_end() -> SyncResult<Option<NaiveDate>> {
    date_query(
        "SELECT to_char(max(day), 'YYYY-MM-DD') FROM baostock.trade_calendar",
        &[],
    )
}

/// The latest trading day up to `today` in the stored calendar.
pub fn latest_trading_day(today: NaiveDate) -> SyncResult<Option<NaiveDate>> {
    date_query(
        "SELECT to_char(max(day), 'YYYY-MM-DD') FROM baostock.trade_calendar
         WHERE is_trading_day AND day <= $1::text::date",
        &[date_text(today).into()],
    )
}

/// Runs a statement that returns nothing (benchmark set-up).
#[cfg(feature = "bench")]
pub fn run(sql: &str) -> SyncResult<()> {
    Spi::run(sql).map_err(spi_err)
}

/// The version of pg_baostock's SQL in this database (`pg_extension.extversion`), if it is
/// installed.
fn extension_version() -> SyncResult<Option<String>> {
    Spi::get_one::<String>("SELECT (SELECT extversion FROM pg_extension WHERE extname = 'pg_baostock')")
        .map_err(spi_err)
}

/// Refuses to work on a database whose pg_baostock SQL is not this library's version (the
/// library was updated and `ALTER EXTENSION pg_baostock UPDATE` not run yet), or that has none
/// (the worker's database before `CREATE EXTENSION`).
pub fn require_current_schema() -> SyncResult<()> {
    match extension_version()? {
        Some(v) if v == crate::VERSION => Ok(()),
        v => Err(SyncError::NotReady {
            message: format!(
                "the pg_baostock library is {} but this database has pg_baostock {}",
                crate::VERSION,
                v.as_deref().unwrap_or("not installed")
            ),
            hint: Some(match v {
                Some(_) => {
                    "Run ALTER EXTENSION pg_baostock UPDATE (after installing a library, restart PostgreSQL first)."
                        .into()
                }
                None => "Run CREATE EXTENSION pg_baostock.".into(),
            }),
        }),
    }
}

/// Pins this session's settings until it ends (call in a transaction that commits, before any
/// other statement of a background worker): `search_path` is `pg_catalog, pg_temp`, so no
/// function, operator or table a role creates in another schema stands in for a built-in one;
/// with `lock_timeout`, no lock is waited on longer than that.
pub fn pin_session(lock_timeout: Option<&str>) -> SyncResult<()> {
    Spi::run_with_args(
        "SELECT pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', false),
                pg_catalog.set_config('lock_timeout', coalesce($1, pg_catalog.current_setting('lock_timeout')), false)",
        &[lock_timeout.into()],
    )
    .map_err(spi_err)
}

/// Runs `body` in a subtransaction: its writes are kept when it returns `Ok` and rolled back
/// otherwise, and a Postgres ERROR raised inside comes back as `SyncError::Postgres` only
/// after the rollback, so the caller may go on using the database.
pub fn subtransaction<T>(body: impl FnOnce() -> SyncResult<T>) -> SyncResult<T> {
    // SAFETY: the pattern of PL/pgSQL's exception blocks: begin, run, then release or roll
    // back, and restore the caller's memory context and resource owner.
    unsafe {
        let (context, owner) = (pg_sys::CurrentMemoryContext, pg_sys::CurrentResourceOwner);
        pg_sys::BeginInternalSubTransaction(std::ptr::null());
        let result = PgTryBuilder::new(AssertUnwindSafe(body))
            .catch_others(|caught| Err(SyncError::caught(&caught)))
            .execute();
        if result.is_ok() {
            pg_sys::ReleaseCurrentSubTransaction();
        } else {
            pg_sys::RollbackAndReleaseCurrentSubTransaction();
        }
        pg_sys::MemoryContextSwitchTo(context);
        pg_sys::CurrentResourceOwner = owner;
        result
    }
}
