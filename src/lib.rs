//! pg_baostock: keeps China A-share market data from Baostock in sync from inside PostgreSQL.
//!
//! Layout: `api` (the SQL functions) → `sync` (what a sync does) → `net` (the async client,
//! no SPI) and `store` (the only SPI user); `runlog` keeps failed runs across rollbacks;
//! `guc` holds every setting; `error` maps failures to SQLSTATEs.

use pgrx::prelude::*;

mod api;
mod bench;
mod error;
mod guc;
mod net;
mod runlog;
mod store;
mod sync;

::pgrx::pg_module_magic!(name, version);

extension_sql_file!("../sql/schema.sql", name = "schema", bootstrap);
extension_sql_file!("../sql/api.sql", name = "api", finalize);

/// Called when the library is loaded.
#[pg_guard]
pub extern "C-unwind" fn _PG_init() {
    guc::register();
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
