//! pg_baostock: keeps China A-share market data from Baostock in sync from inside PostgreSQL.
//!
//! Layout: `api` (the SQL functions) → `sync` (sync_date and the reference syncs) and `jobs`
//! (backfill's planner, wait, cancel) → `engine` (units fetched on a network thread, applied
//! in order) → `unit` (what a unit fetches through `net`, no SPI, and writes through `store`,
//! the only SPI user). `worker` is the background worker that runs jobs; `shmem` the state
//! every process shares; `runlog` keeps failed runs across rollbacks; `guc` holds every
//! setting; `error` maps failures to SQLSTATEs.

use pgrx::prelude::*;

mod api;
#[cfg(feature = "bench")]
mod bench;
mod engine;
mod error;
mod guc;
mod jobs;
mod net;
mod runlog;
mod shmem;
mod store;
mod sync;
mod unit;
mod webhook;
mod worker;

::pgrx::pg_module_magic!(name, version);

/// The extension version this library is built for (its SQL is `pg_baostock--VERSION.sql`).
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

extension_sql_file!("../sql/schema.sql", name = "schema", bootstrap);
extension_sql_file!("../sql/adjusted.sql", name = "adjusted", requires = ["schema"]);
extension_sql_file!("../sql/api.sql", name = "api", finalize);

/// Called when the library is loaded.
#[pg_guard]
pub extern "C-unwind" fn _PG_init() {
    guc::register();
    // SAFETY: a plain read of a flag the postmaster sets while it loads preload libraries.
    if unsafe { pgrx::pg_sys::process_shared_preload_libraries_in_progress } {
        shmem::init();
        worker::register();
    }
}

#[cfg(any(test, feature = "pg_test"))]
mod e2e;

/// Required by `cargo pgrx test`.
#[cfg(test)]
pub mod pg_test {
    pub fn setup(_options: Vec<&str>) {}

    pub fn postgresql_conf_options() -> Vec<&'static str> {
        vec!["shared_preload_libraries = 'pg_baostock'"]
    }
}
