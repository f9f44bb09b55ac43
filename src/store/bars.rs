//! The bar tables: the table of each frequency, and the writes that need more than a COPY (a
//! minute bar's month partition). What each kind of bar gives COPY is
//! `pg_baostock_core::bars`.

use std::collections::BTreeSet;

use baostock::value::Frequency;
use chrono::{Datelike, NaiveDate};
use pg_baostock_core::bars::{MinuteRow, PeriodRow};
use pg_baostock_core::Counts;
use pgrx::Spi;

use super::{spi_err, write_rows};
use crate::error::{SyncError, SyncResult};

/// The table of a frequency's bars.
pub fn table(frequency: Frequency) -> &'static str {
    match frequency {
        Frequency::Daily => "baostock.daily_bars",
        Frequency::Weekly => "baostock.weekly_bars",
        Frequency::Monthly => "baostock.monthly_bars",
        _ => "baostock.minute_bars",
    }
}

/// Writes weekly or monthly bars.
pub fn upsert_periods(frequency: Frequency, rows: &[PeriodRow], batch: usize) -> SyncResult<Counts> {
    write_rows(table(frequency), rows, batch)
}

/// Writes minute bars, creating the month partitions they need first.
pub fn upsert_minutes(rows: &[MinuteRow], batch: usize) -> SyncResult<Counts> {
    let months: BTreeSet<(i32, u32)> = rows.iter().map(|r| (r.bar.time.year(), r.bar.time.month())).collect();
    for (year, month) in months {
        ensure_minute_partition(year, month)?;
    }
    write_rows("baostock.minute_bars", rows, batch)
}

/// Creates `baostock.minute_bars_YYYYMM` when it does not exist (without waiting for readers
/// of `baostock.minute_bars`), and stores it heap again
/// when it is columnar (`baostock.columnar_after`: columnar takes no UPDATE or DELETE); two
/// writers of one month wait for each other (a lock of `baostock.sync_locks`, to the end of
/// the transaction).
fn ensure_minute_partition(year: i32, month: u32) -> SyncResult<()> {
    let name = format!("minute_bars_{year:04}{month:02}");
    let lock = format!("minute partition {year:04}{month:02}");
    // heap, columnar, or NULL when there is no such table.
    let method = || {
        Spi::get_one::<String>(&format!(
            "SELECT (SELECT a.amname::text FROM pg_catalog.pg_class c JOIN pg_catalog.pg_am a ON a.oid = c.relam
                     WHERE c.oid = to_regclass('baostock.{name}'))"
        ))
        .map_err(spi_err)
    };
    let exists = || method().map(|m| m.is_some());
    match method()?.as_deref() {
        Some("heap") => return Ok(()),
        Some(_) => {
            super::lock(&lock)?;
            let converted = Spi::get_one::<bool>(&format!(
                "SELECT baostock.set_minute_month_storage('baostock.{name}', 'heap')"
            ))
            .map_err(spi_err)?;
            if converted == Some(true) {
                pgrx::log!("pg_baostock: baostock.{name} stored heap again to be written (it was columnar)");
            }
            return Ok(());
        }
        None => {}
    }
    let (Some(from), Some(to)) = (
        NaiveDate::from_ymd_opt(year, month, 1),
        NaiveDate::from_ymd_opt(year + i32::from(month == 12), month % 12 + 1, 1),
    ) else {
        return Err(SyncError::Store(format!("pg_baostock store: no month {year}-{month}")));
    };
    super::lock(&lock)?;
    if exists()? {
        return Ok(());
    }
    let bounds = format!("FOR VALUES FROM ('{from} 00:00') TO ('{to} 00:00')");
    let comment = format!(
        "COMMENT ON TABLE baostock.{name} IS 'Minute bars of {from} to {to} (a partition of baostock.minute_bars, created by the store).'"
    );
    // Citus distributes a partition made by PARTITION OF a distributed table.
    let distributed = Spi::get_one::<String>("SELECT baostock.distribution_of('baostock.minute_bars')")
        .map_err(spi_err)?
        .is_some();
    if distributed {
        return Spi::run(&format!(
            "CREATE TABLE baostock.{name} PARTITION OF baostock.minute_bars (PRIMARY KEY (code, frequency, time)) {bounds};
             {comment}"
        ))
        .map_err(spi_err);
    }
    // Made apart and attached: ATTACH PARTITION takes SHARE UPDATE EXCLUSIVE on minute_bars,
    // which readers of the table (any role's idle transaction after a view) do not block,
    // where PARTITION OF needs ACCESS EXCLUSIVE. The CHECK of the bounds spares the scan.
    Spi::run(&format!(
        "CREATE TABLE baostock.{name} (LIKE baostock.minute_bars INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING STORAGE INCLUDING COMPRESSION,
             PRIMARY KEY (code, frequency, time),
             CONSTRAINT {name}_bounds CHECK (time >= '{from} 00:00' AND time < '{to} 00:00')) USING heap;
         ALTER TABLE baostock.minute_bars ATTACH PARTITION baostock.{name} {bounds};
         ALTER TABLE baostock.{name} DROP CONSTRAINT {name}_bounds;
         {comment}"
    ))
    .map_err(spi_err)
}
