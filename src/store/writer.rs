//! The generic diff-writer: rows in through COPY (`copy`, in the formats of
//! `pg_baostock_core::copy`), compared with what is stored by their digests, and the batch
//! upsert the smaller tables use (many rows a statement through array parameters and `unnest`,
//! one prepared statement per table and call). Every write touches only rows whose values
//! changed and counts inserted / updated / unchanged.

use std::collections::BTreeMap;

use pg_baostock_core::copy::{self, Value};
use pg_baostock_core::{clock, Counts};
use pgrx::datum::DatumWithOid;
use pgrx::pg_sys::{PgBuiltInOids, PgOid};
use pgrx::spi::{SpiClient, SpiResult};
use pgrx::{pg_sys, Spi};

use super::copy::copy_in;
use super::session::{subtransaction, with_settings};
use super::spi_err;
use crate::error::{SyncError, SyncResult};

/// A column of one batch, in the type its placeholder declares.
pub(super) enum Column {
    Text(Vec<Option<String>>),
    Int2(Vec<Option<i16>>),
    Bool(Vec<Option<bool>>),
    Date(Vec<Option<pgrx::datum::Date>>),
}

impl Column {
    fn oid(&self) -> PgOid {
        PgOid::BuiltIn(match self {
            Column::Text(_) => PgBuiltInOids::TEXTARRAYOID,
            Column::Int2(_) => PgBuiltInOids::INT2ARRAYOID,
            Column::Bool(_) => PgBuiltInOids::BOOLARRAYOID,
            Column::Date(_) => PgBuiltInOids::DATEARRAYOID,
        })
    }

    fn datum(self) -> DatumWithOid<'static> {
        match self {
            Column::Text(v) => v.into(),
            Column::Int2(v) => v.into(),
            Column::Bool(v) => v.into(),
            Column::Date(v) => v.into(),
        }
    }
}

/// Runs an upsert statement (which must return `inserted, updated` counts) over `rows` in
/// batches of `batch` rows, preparing it once.
pub(super) fn upsert<T>(
    sql: &str,
    rows: &[T],
    batch: usize,
    columns: impl Fn(&[T]) -> Vec<Column>,
) -> SyncResult<Counts> {
    upsert_touching(sql, rows, batch, columns).map(|(counts, _)| counts)
}

/// `upsert` of a statement that also returns, third, the keys (text) of the rows it inserted
/// or changed; the counts and those keys of every batch.
pub(super) fn upsert_touching<T>(
    sql: &str,
    rows: &[T],
    batch: usize,
    columns: impl Fn(&[T]) -> Vec<Column>,
) -> SyncResult<(Counts, Vec<String>)> {
    let mut total = Counts::default();
    let mut touched = Vec::new();
    if rows.is_empty() {
        return Ok((total, touched));
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
            if row.columns()? > 2 {
                touched.extend(row.get::<Vec<String>>(3)?.unwrap_or_default());
            }
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
    Ok((total, touched))
}

/// Writes `rows` into `table` (`schema.name`; partitioned or not) the way COPY does, each
/// with a digest of its values (`row_hash`); a key sent twice keeps its last row. Rows not
/// stored yet go in through COPY at once (a day or a range fetched for the first time). When
/// some are stored already, COPY stops at the first and its subtransaction is rolled back;
/// then each batch is compared with what is stored: one aggregate (count and sum of digests)
/// over the part of the table the batch covers settles a batch stored unchanged (or not stored
/// at all: copied in whole), else each row
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
    let target = Target::of(table, &columns)?;
    // Citus reports a key stored twice as XX000, not 23505: a Citus table's rows are compared
    // with what is stored first.
    if !target.routed() {
        match subtransaction(|| target.copy(lines.all())) {
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
            let stored = stored_in_range::<R>(table, &keys, &target)?;
            let sum: i128 = picked.iter().map(|&i| i128::from(lines.hashes[i])).sum();
            if stored == (count(chunk.len()), sum) {
                total.unchanged += count(chunk.len());
                continue;
            }
            if stored.0 == 0 {
                // None of the batch's keys is stored: every row is new.
                target.copy(lines.picked(picked.iter().copied()))?;
                total.inserted += count(chunk.len());
                continue;
            }
            in_range = stored.0;
        }
        let hashes: Vec<i64> = picked.iter().map(|&i| lines.hashes[i]).collect();
        let Differences { new, changed } = stored_differences::<R>(table, &keys, hashes, in_range, &target)?;
        probe = new.is_empty() && changed.is_empty();
        if target.routed() {
            let rows: Vec<usize> = changed.values().flatten().map(|(i, _)| *i).collect();
            delete_by_key::<R>(table, &keys, &rows)?;
        } else {
            for (relation, rows) in &changed {
                delete_rows(*relation, rows)?;
            }
        }
        let mut write: Vec<usize> = new.clone();
        write.extend(changed.values().flatten().map(|(i, _)| *i));
        write.sort_unstable();
        if !write.is_empty() {
            target.copy(lines.picked(write.iter().map(|i| picked[*i])))?;
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

/// Where a table's rows go: into this node's table through the backend's COPY, or, for a
/// table Citus distributes (or replicates), only by statements Citus routes: rows are copied
/// into a temporary table of this session, then `INSERT ... SELECT` from it. The backend's COPY
/// into a Citus table would fill the coordinator's empty shell, which no query reads, and a
/// `ctid` there is a shard's: neither is ever used on one.
struct Target<'c> {
    table: &'c str,
    columns: &'c [&'static str],
    /// For a Citus table: the temporary table of this session the rows go through.
    stage: Option<String>,
}

impl<'c> Target<'c> {
    /// The target `table` is, asked once a write (`baostock.distribution_of`); for a Citus
    /// table, its staging table made if this session has none yet. One that is there but not
    /// owned by the current role (a caller of a `SECURITY DEFINER` sync may have made it, with
    /// a trigger that would run as the owner) is refused, never written.
    fn of(table: &'c str, columns: &'c [&'static str]) -> SyncResult<Target<'c>> {
        let placed = Spi::get_one_with_args::<String>("SELECT baostock.distribution_of($1::regclass)", &[table.into()])
            .map_err(spi_err)?;
        let mut target = Target {
            table,
            columns,
            stage: None,
        };
        if placed.is_none() {
            return Ok(target);
        }
        let name = table.rsplit('.').next().unwrap_or(table);
        let stage = format!("pg_temp.baostock_stage_{name}");
        let ours = Spi::get_one_with_args::<bool>(
            "SELECT (SELECT c.relowner = (SELECT oid FROM pg_catalog.pg_roles WHERE rolname = current_user)
                     FROM pg_catalog.pg_class c WHERE c.oid = to_regclass($1))",
            &[stage.as_str().into()],
        )
        .map_err(spi_err)?;
        match ours {
            Some(true) => {}
            Some(false) => {
                return Err(SyncError::NotReady {
                    message: format!("a temporary table {stage} of another role is in the way"),
                    hint: Some(format!("Drop it (DROP TABLE {stage}) and call again.")),
                })
            }
            // Emptied at every commit; dropped with the session.
            None => Spi::run(&format!(
                "CREATE TEMPORARY TABLE baostock_stage_{name} (LIKE {table} INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"
            ))
            .map_err(spi_err)?,
        }
        target.stage = Some(stage);
        Ok(target)
    }

    /// Writes rows given in COPY's binary format; how many.
    fn copy(&self, data: Vec<u8>) -> SyncResult<u64> {
        let Some(stage) = &self.stage else {
            return copy_in(self.table, self.columns, data);
        };
        Spi::run(&format!("DELETE FROM {stage}")).map_err(spi_err)?;
        let n = copy_in(stage, self.columns, data)?;
        let names = self.columns.join(", ");
        Spi::run(&format!(
            "INSERT INTO {} ({names}) SELECT {names} FROM {stage}",
            self.table
        ))
        .map_err(spi_err)?;
        Ok(n)
    }

    fn routed(&self) -> bool {
        self.stage.is_some()
    }
}

/// Deletes the stored rows of a batch's rows `rows` (indexes into it) by their keys, in one
/// statement Citus routes to the shards holding them.
fn delete_by_key<R: copy::CopyRow>(table: &str, keys: &KeyArgs<'_>, rows: &[usize]) -> SyncResult<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let key = &R::COLUMNS[..R::KEY];
    let names: Vec<&str> = key.iter().map(|(k, _)| *k).collect();
    let arrays: Vec<String> = key
        .iter()
        .enumerate()
        .map(|(i, (_, ty))| format!("${}::{ty}[]", i + 1))
        .collect();
    let sql = format!(
        "DELETE FROM {table} WHERE ({names}) IN (SELECT {names} FROM unnest({arrays}) AS k({names}))",
        names = names.join(", "),
        arrays = arrays.join(", ")
    );
    let args: Vec<DatumWithOid<'static>> = keys
        .rows
        .iter()
        .map(|column| key_array(&rows.iter().map(|&i| column[i]).collect::<Vec<_>>()))
        .collect();
    Spi::run_with_args(&sql, &args).map_err(spi_err)
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
            Value::Date(d) => Some(pgrx::datum::Date::saturating_from_raw(clock::pg_days(d))),
            _ => None,
        }),
        Some(Value::Timestamp(_)) => param(column, array, |v| match v {
            Value::Timestamp(t) => Some(pgrx::datum::Timestamp::saturating_from_raw(clock::pg_micros(t))),
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

/// The most groups (codes) of a batch whose values go into the queries a Citus table's shards
/// run; a batch of more reads its stretch for every code there and keeps its own here.
const ROUTED_KEYS_SENT: usize = 16;

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
    /// On a Citus table (`routed`) the row's place is not read (a shard's `ctid` means nothing
    /// here) and the stretches are joined, not looked up one by one (Citus does not push a
    /// lateral subquery down).
    fn covered<R: copy::CopyRow>(
        &self,
        table: &str,
        taken: usize,
        routed: bool,
    ) -> (String, Vec<DatumWithOid<'static>>) {
        let keys = &R::COLUMNS[..R::KEY];
        let (last, last_ty) = keys[keys.len() - 1];
        let leads = &keys[..keys.len() - 1];
        let names: Vec<String> = keys.iter().map(|(k, _)| format!("t.{k}")).collect();
        let place = if routed {
            "0::oid AS rel, '(0,0)'::tid AS tid"
        } else {
            "t.tableoid AS rel, t.ctid AS tid"
        };
        let columns = format!("{}, t.row_hash, {place}", names.join(", "));
        let select = format!("SELECT {columns} FROM {table} t");
        let p = |i: usize| taken + i + 1;
        let mut args: Vec<DatumWithOid<'static>> = self.leads.iter().map(|v| key_array(v)).collect();
        if routed && self.one_stretch() && self.leads[0].len() > ROUTED_KEYS_SENT {
            // Many groups on a Citus table (a day of every code): the stretch is read on the
            // shards and the groups kept here. Sent down, the array would go into every
            // shard's query (a day of 5,000 codes on 32 shards: 0.6 s against 0.03 s); OFFSET 0
            // keeps Citus from pushing the filter into the subquery.
            let conds: Vec<String> = leads
                .iter()
                .enumerate()
                .map(|(i, (k, ty))| format!("t.{k} = ANY(${}::{ty}[])", p(i)))
                .collect();
            let inner = format!(
                "SELECT {}, row_hash FROM {table} WHERE {last} BETWEEN ${}::{last_ty} AND ${}::{last_ty} OFFSET 0",
                keys.iter().map(|(k, _)| *k).collect::<Vec<_>>().join(", "),
                p(leads.len()),
                p(leads.len() + 1)
            );
            args.push(key_value(self.lo[0]));
            args.push(key_value(self.hi[0]));
            return (
                format!("(SELECT {columns} FROM ({inner}) t WHERE {}) b", conds.join(" AND ")),
                args,
            );
        }
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
            if routed {
                let from = format!("unnest({}) g({}) JOIN {table} t", arrays.join(", "), cols.join(", "));
                return (
                    format!("(SELECT {columns} FROM {from} ON {}) b", conds.join(" AND ")),
                    args,
                );
            }
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
fn stored_in_range<R: copy::CopyRow>(table: &str, keys: &KeyArgs, target: &Target) -> SyncResult<(i64, i128)> {
    let (covered, args) = keys.covered::<R>(table, 0, target.routed());
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
    target: &Target,
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
    let stored = if !target.routed() && in_range > 4 * i64::try_from(hashes.len()).unwrap_or(i64::MAX) {
        format!(
            "LEFT JOIN LATERAL (SELECT b.tableoid AS rel, b.ctid AS tid, b.row_hash AS h
                                FROM {table} b WHERE {} OFFSET 0) s ON true",
            matches.join(" AND ").replace("s.", "b.")
        )
    } else {
        let (covered, args) = keys.covered::<R>(table, key.len() + 1, target.routed());
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
