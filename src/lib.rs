//! pg_baostock: keeps China A-share market data from Baostock in sync from inside PostgreSQL.
//!
//! Layers, each a folder whose `mod.rs` says what it owns; arrows point down only
//! (scripts/check-layers.sh fails the tests when one points up):
//!
//! * `api` (the SQL functions) and `worker` (the background worker)
//! * `sync`: what each sync does (daily, reference data, jobs, the failed-run spool)
//! * `engine`: units fetched on a network thread and applied in order
//! * `store` (the only SPI user) and `net` (the client, no SPI)
//! * `latch` (waits a cancel or a stop ends) and `error`
//!
//! Beside them: `guc` holds every setting, `shmem` the state every process shares, `webhook`
//! posts alerts. Beneath them all, what needs no Postgres is the crate `pg_baostock_core`
//! (crates/core, no pgrx: units, periods, publication, planning arithmetic, COPY's formats and
//! row digests, the clock), which every layer may use and which names none of them.

use pgrx::prelude::*;

mod api;
mod engine;
mod error;
mod guc;
mod latch;
mod net;
mod shmem;
mod store;
mod sync;
mod webhook;
mod worker;

::pgrx::pg_module_magic!(name, version);

/// The extension version this library is built for (its SQL is `pg_baostock--VERSION.sql`).
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

extension_sql_file!("../sql/schema.sql", name = "schema", bootstrap);
extension_sql_file!("../sql/reports.sql", name = "reports", requires = ["schema"]);
extension_sql_file!(
    "../sql/adjusted.sql",
    name = "adjusted",
    requires = ["schema", "reports"]
);
extension_sql_file!(
    "../sql/research.sql",
    name = "research",
    requires = ["reports", "adjusted"]
);
extension_sql_file!("../sql/api.sql", name = "api", finalize);

/// Called when the library is loaded.
#[pg_guard]
pub extern "C-unwind" fn _PG_init() {
    guc::register();
    // SAFETY: a plain read of a flag the postmaster sets while it loads preload libraries.
    if unsafe { pgrx::pg_sys::process_shared_preload_libraries_in_progress } {
        shmem::init();
        // pg_upgrade starts both servers in binary-upgrade mode to move the catalogs: no worker
        // may touch the data then.
        // SAFETY: a plain read of a flag set before preload libraries are loaded.
        if !unsafe { pgrx::pg_sys::IsBinaryUpgrade } {
            worker::register();
        }
    }
}

#[cfg(any(test, feature = "pg_test"))]
#[path = "../pgrx-tests/e2e.rs"]
mod e2e;

/// Required by `cargo pgrx test`.
#[cfg(test)]
pub mod pg_test {
    pub fn setup(_options: Vec<&str>) {}

    pub fn postgresql_conf_options() -> Vec<&'static str> {
        vec!["shared_preload_libraries = 'pg_baostock'"]
    }
}
