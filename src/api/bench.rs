//! `baostock.bench_store(rows)`: the store's batch upsert against `COPY` into an identical
//! table, side by side in one call, on synthetic bars. Superusers only (COPY reads a file);
//! built with the `bench` feature only (scripts/bench.sh), so not in a production install.

use std::io::Write;
use std::time::Instant;

use baostock::reply::DailyBar;
use baostock::value::{AdjustFlag, Decimal};
use chrono::NaiveDate;
use pgrx::prelude::*;

use crate::error::{SyncError, SyncResult};
use crate::{guc, store};

/// `n` bars: 500 codes a day, business-like values with the server's scales.
fn bars(n: usize, bump: i64) -> Vec<DailyBar> {
    let day0 = NaiveDate::from_ymd_opt(2015, 1, 5).unwrap_or_default();
    (0..n)
        .map(|i| {
            let code = format!("sh.{:06}", 600000 + i % 500);
            let date = day0 + chrono::Days::new((i / 500) as u64);
            let p = |k: i64| Some(Decimal::new(100_000 + (i as i64 * 37 + k * 11 + bump) % 90_000, 4));
            DailyBar {
                date,
                code,
                open: p(1),
                high: p(2),
                low: p(3),
                close: p(4),
                preclose: p(5),
                volume: Some(1_000_000 + i as i64),
                amount: Some(Decimal::new(1_234_567_890_000 + i as i64, 4)),
                adjustflag: Some(AdjustFlag::None),
                turn: Some(Decimal::new(75_200 + (i as i64 % 1000), 6)),
                tradestatus: Some(true),
                pct_chg: Some(Decimal::new(-302_100 + (i as i64 % 5000), 6)),
                pe_ttm: Some(Decimal::new(5_123_456, 6)),
                pb_mrq: Some(Decimal::new(612_345, 6)),
                ps_ttm: None,
                pcf_ncf_ttm: Some(Decimal::new(-3_210_000, 6)),
                is_st: Some(false),
            }
        })
        .collect()
}

fn csv(rows: &[DailyBar]) -> String {
    let d = |v: &Option<Decimal>| v.map(|x| x.to_string()).unwrap_or_default();
    let b = |v: Option<bool>| v.map(|x| if x { "t" } else { "f" }).unwrap_or("");
    let mut out = String::with_capacity(rows.len() * 160);
    for r in rows {
        out.push_str(&format!(
            "{},{},{},{},{},{},{},{},{},3,{},{},{},{},{},{},{},{}\n",
            r.code,
            r.date,
            d(&r.open),
            d(&r.high),
            d(&r.low),
            d(&r.close),
            d(&r.preclose),
            r.volume.unwrap_or(0),
            d(&r.amount),
            d(&r.turn),
            b(r.tradestatus),
            d(&r.pct_chg),
            d(&r.pe_ttm),
            d(&r.pb_mrq),
            d(&r.ps_ttm),
            d(&r.pcf_ncf_ttm),
            b(r.is_st),
        ));
    }
    out
}

/// Times `body`, after a checkpoint: no method pays for writing out the buffers the one
/// before it dirtied.
fn measure(rows: usize, body: impl FnOnce() -> SyncResult<()>) -> SyncResult<(i64, f64)> {
    store::run("CHECKPOINT")?;
    let t0 = Instant::now();
    body()?;
    Ok((rows as i64, t0.elapsed().as_secs_f64()))
}

fn run_bench(n: i32) -> SyncResult<Vec<(String, i64, f64)>> {
    let n = usize::try_from(n)
        .ok()
        .filter(|&n| n > 0 && n <= 10_000_000)
        .ok_or_else(|| SyncError::invalid("rows must be between 1 and 10000000"))?;
    let data = bars(n, 0);
    let changed = bars(n, 7);
    let batch = guc::batch_rows();
    let file = std::env::current_dir()
        .map_err(|e| SyncError::Store(format!("bench: {e}")))?
        .join("pg_baostock_bench.csv");
    std::fs::File::create(&file)
        .and_then(|mut f| f.write_all(csv(&data).as_bytes()))
        .map_err(|e| SyncError::Store(format!("bench: cannot write {}: {e}", file.display())))?;
    let cols = "code, date, open, high, low, close, preclose, volume, amount, adjustflag, turn, trade_status, \
                pct_chg, pe_ttm, pb_mrq, ps_ttm, pcf_ncf_ttm, is_st";
    // Plain tables, as the store's are (a temporary table lives in local buffers), that no
    // autovacuum visits: a vacuum of the rows one method wrote would run beside the next one.
    store::run("CREATE SCHEMA baostock_bench")?;
    for table in ["upsert", "copy", "copy_all"] {
        store::run(&format!(
            "CREATE TABLE baostock_bench.{table} (LIKE baostock.daily_bars INCLUDING ALL)
             WITH (autovacuum_enabled = false)"
        ))?;
    }
    let mut out = Vec::new();
    let (r, s) = measure(n, || {
        store::write_daily("baostock_bench.upsert", &data, batch).map(drop)
    })?;
    out.push(("upsert, all new".to_string(), r, s));
    // What the store wrote, every column (the adjusted prices too), for COPY to write again.
    let written = file.with_file_name("pg_baostock_bench_written.copy");
    store::run(&format!("COPY baostock_bench.upsert TO '{}'", written.display()))?;
    let (r, s) = measure(n, || {
        store::write_daily("baostock_bench.upsert", &data, batch).map(drop)
    })?;
    out.push(("upsert, all unchanged".to_string(), r, s));
    let (r, s) = measure(n, || {
        store::write_daily("baostock_bench.upsert", &changed, batch).map(drop)
    })?;
    out.push(("upsert, all changed".to_string(), r, s));
    let (r, s) = measure(n, || {
        store::run(&format!("COPY baostock_bench.copy_all FROM '{}'", written.display()))
    })?;
    out.push((
        "COPY of the rows as the store wrote them (adjusted prices too)".to_string(),
        r,
        s,
    ));
    let _ = std::fs::remove_file(&written);
    let (r, s) = measure(n, || {
        store::run(&format!(
            "COPY baostock_bench.copy ({cols}) FROM '{}' WITH (FORMAT csv)",
            file.display()
        ))
    })?;
    out.push(("COPY into an identical table".to_string(), r, s));
    let _ = std::fs::remove_file(&file);
    store::run("DROP SCHEMA baostock_bench CASCADE")?;
    Ok(out)
}

/// Measures the store's upsert (new, unchanged and changed rows), COPY of the rows as the store
/// wrote them, and COPY of the same bars' raw columns into an identical table (the baseline
/// every earlier run measured against); `vs_copy` is each method's rows/s over the last's.
#[pg_extern(volatile, parallel_unsafe)]
fn bench_store(
    rows: default!(Option<i32>, 100000),
) -> TableIterator<
    'static,
    (
        name!(method, String),
        name!(rows, i64),
        name!(seconds, f64),
        name!(rows_per_s, f64),
        name!(vs_copy, f64),
    ),
> {
    let results = super::not_null(rows, "rows")
        .and_then(run_bench)
        .unwrap_or_else(|e| e.raise());
    let copy_rate = results.last().map(|(_, r, s)| *r as f64 / s.max(1e-9)).unwrap_or(1.0);
    TableIterator::new(results.into_iter().map(move |(m, r, s)| {
        let rate = r as f64 / s.max(1e-9);
        (m, r, s, rate, rate / copy_rate)
    }))
}

extension_sql!(
    "REVOKE EXECUTE ON FUNCTION baostock.bench_store(integer) FROM PUBLIC;
     COMMENT ON FUNCTION baostock.bench_store(integer) IS 'Benchmark (a build with the bench feature only): the store''s writes of new, unchanged and changed rows against COPY of the rows it wrote and COPY of the same synthetic bars'' raw columns into an identical table, in one call; superusers only.';",
    name = "bench_store_comment",
    requires = [bench_store],
);
