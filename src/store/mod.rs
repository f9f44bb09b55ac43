//! The only module that talks SPI. `writer` puts rows in (COPY and digests for the bars,
//! batch upserts for the rest), `market` owns the market tables and their checkpoints, `bars`
//! the weekly, monthly and minute bars, `reference` the index lists and industries, `jobs` the
//! job queue, `runs` the run history, `server` the server state and alerts, `session` the
//! transaction and session it all runs in. It may use `domain`, `error`, `shmem` and `guc`;
//! nothing above it (`engine`, `sync`, `worker`, `api`): scripts/check-layers.sh.

use chrono::NaiveDate;
use pgrx::datum::DatumWithOid;
use pgrx::Spi;

use crate::error::{SyncError, SyncResult};

pub mod bars;
mod copy;
pub mod jobs;
mod market;
#[cfg(any(test, feature = "pg_test"))]
mod pg_tests;
pub mod reference;
mod runs;
pub mod server;
mod session;
mod writer;

pub use market::*;
pub use runs::*;
pub use session::*;
pub use writer::write_rows;

pub fn spi_err(e: pgrx::spi::SpiError) -> SyncError {
    SyncError::Store(format!("pg_baostock store: {e}"))
}

pub fn date_text(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
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

fn date_query(sql: &str, args: &[DatumWithOid]) -> SyncResult<Option<NaiveDate>> {
    let s = Spi::get_one_with_args::<String>(sql, args).map_err(spi_err)?;
    s.map(|s| stored_date(&s)).transpose()
}

/// Runs a statement that returns nothing (benchmark set-up).
#[cfg(feature = "bench")]
pub fn run(sql: &str) -> SyncResult<()> {
    Spi::run(sql).map_err(spi_err)
}
