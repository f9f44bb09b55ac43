//! The session and transaction the store works in: the settings the workers pin, the schema
//! version check, subtransactions, the database's China day, and the syncs' locks (rows of
//! `baostock.sync_locks`, which no other role may lock).

use std::panic::AssertUnwindSafe;

use chrono::{NaiveDate, NaiveDateTime};
use pg_baostock_core::clock;
use pg_baostock_core::publication::{self, Kind};
use pgrx::{pg_sys, PgTryBuilder, Spi};

use super::{date_query, spi_err};
use crate::error::{SyncError, SyncResult};
use crate::latch;

/// How long a sync waits for a lock another sync holds before it gives up.
const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(120);

/// Takes the lock `name` of `baostock.sync_locks` until the end of the transaction: a row lock
/// on a row no role but the extension's owner may lock (made on first use). While another
/// sync holds it, waits in short steps that a cancel, a termination or the worker's stop ends,
/// and gives up after [`LOCK_WAIT`] with 55P03.
pub fn lock(name: &str) -> SyncResult<()> {
    lock_in(name, "UPDATE")
}

/// Takes the lock `name` shared (`FOR SHARE`) until the end of the transaction: with other
/// shared holders at once, never with an exclusive one; waits as `lock` does.
pub fn lock_shared(name: &str) -> SyncResult<()> {
    lock_in(name, "SHARE")
}

fn lock_in(name: &str, mode: &str) -> SyncResult<()> {
    Spi::run_with_args(
        "INSERT INTO baostock.sync_locks (name) VALUES ($1) ON CONFLICT (name) DO NOTHING",
        &[name.into()],
    )
    .map_err(spi_err)?;
    let started = std::time::Instant::now();
    loop {
        // A row another session holds is skipped: no row, so count it (one is the lock).
        let got = Spi::get_one_with_args::<i64>(
            &format!("SELECT count(*) FROM (SELECT FROM baostock.sync_locks WHERE name = $1 FOR {mode} SKIP LOCKED) l"),
            &[name.into()],
        )
        .map_err(spi_err)?
        .unwrap_or(0);
        if got == 1 {
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
        latch::pause(50)?;
    }
}

/// Takes the lock that keeps two syncs from fetching and writing one day at once.
pub fn lock_day(day: NaiveDate) -> SyncResult<()> {
    lock(&format!("day {day}"))
}

/// The server's China time now: the host's clock plus the offset the last login reply showed
/// (shared memory's; without the preload the one `server_state` keeps; else none).
pub fn server_now() -> SyncResult<NaiveDateTime> {
    let offset = match crate::shmem::clock_offset_ms() {
        Some(o) => o,
        None => Spi::get_one::<i64>("SELECT (SELECT clock_offset_ms FROM baostock.server_state)")
            .map_err(spi_err)?
            .unwrap_or(0),
    };
    Ok(clock::china_time(clock::now_ms() + offset))
}

/// The last day whose data of `kind` the server has published now, by its clock.
pub fn published_through(kind: Kind) -> SyncResult<NaiveDate> {
    Ok(publication::published_through(kind, server_now()?))
}

/// Today in China (UTC+8), by the database clock.
pub fn china_today() -> SyncResult<NaiveDate> {
    date_query("SELECT (now() AT TIME ZONE 'Asia/Shanghai')::date", &[])?
        .ok_or_else(|| SyncError::Store("pg_baostock store: cannot read today's date".into()))
}

/// The name of the database this session is connected to.
pub fn current_database() -> SyncResult<String> {
    Spi::get_one::<String>("SELECT current_database()::text")
        .map_err(spi_err)
        .map(Option::unwrap_or_default)
}

/// The version of pg_baostock's SQL in this database (`pg_extension.extversion`), if it is
/// installed.
fn extension_version() -> SyncResult<Option<String>> {
    Spi::get_one::<String>("SELECT (SELECT extversion FROM pg_extension WHERE extname = 'pg_baostock')")
        .map_err(spi_err)
}

/// Refuses to work on a database whose pg_baostock SQL is not this library's version (the
/// library was updated and `ALTER EXTENSION pg_baostock UPDATE` not run yet), or that has none
/// (the worker's database before `CREATE EXTENSION`), or on a Citus worker node (whose bar
/// tables are shards of the coordinator's: syncs and jobs run on the coordinator).
pub fn require_current_schema() -> SyncResult<()> {
    match extension_version()? {
        Some(v) if v == crate::VERSION => {
            match Spi::get_one::<i32>("SELECT baostock.citus_group()").map_err(spi_err)? {
                Some(group) if group != 0 => Err(SyncError::NotReady {
                    message: format!("this node is a Citus worker (group {group})"),
                    hint: Some("pg_baostock syncs on the Citus coordinator: call it there.".into()),
                }),
                _ => Ok(()),
            }
        }
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
/// with `lock_timeout`, no lock is waited on longer than that; whatever the database's or a
/// role's settings say, transactions are writable, read committed, and no statement, idle
/// transaction or transaction is timed out (a database owner could otherwise stall the
/// worker); and no statement is compiled
/// with JIT: every statement of the worker is short, and the planner's estimates for the health
/// queries (never-analysed, empty tables count as ten pages) pass `jit_above_cost`, which made
/// each alert evaluation spend 1.5 s compiling a query that runs in milliseconds.
pub fn pin_session(lock_timeout: Option<&str>) -> SyncResult<()> {
    Spi::run_with_args(
        "SELECT pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', false),
                pg_catalog.set_config('jit', 'off', false),
                pg_catalog.set_config('default_transaction_read_only', 'off', false),
                pg_catalog.set_config('statement_timeout', '0', false),
                pg_catalog.set_config('idle_in_transaction_session_timeout', '0', false),
                pg_catalog.set_config('default_transaction_isolation', 'read committed', false),
                -- PostgreSQL 17 on: a whole transaction's time limit.
                CASE WHEN pg_catalog.current_setting('transaction_timeout', true) IS NOT NULL
                     THEN pg_catalog.set_config('transaction_timeout', '0', false) END,
                pg_catalog.set_config('lock_timeout', coalesce($1, pg_catalog.current_setting('lock_timeout')), false)",
        &[lock_timeout.into()],
    )
    .map_err(spi_err)
}

/// Sets every `baostock.*` setting that a database or role setting (`ALTER DATABASE ... SET`,
/// `ALTER ROLE ... SET`) gave this session back to what the server's configuration files say
/// (else its built-in default): the worker's settings are the superuser's, not those of the
/// owner of its database. Called at the worker's start and after each reload of the files
/// (a value set here is the session's, which a reload does not touch: so it is set again).
pub fn settings_from_server_configuration() -> SyncResult<()> {
    Spi::run(
        "SELECT pg_catalog.set_config(s.name, v.value, false)
         FROM pg_catalog.pg_settings s,
              LATERAL (SELECT coalesce((SELECT f.setting FROM pg_catalog.pg_file_settings f
                                        WHERE f.name = s.name AND f.applied ORDER BY f.seqno DESC LIMIT 1),
                                       s.boot_val) AS value) v
         WHERE s.name LIKE 'baostock.%' AND s.source IN ('database', 'user', 'database user', 'session')
           AND v.value IS NOT NULL",
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

/// Runs `body` with settings changed, as a function's `SET` clause does: restored when it
/// returns (an ERROR restores them with the transaction it aborts).
pub(super) fn with_settings<T>(settings: &[(&std::ffi::CStr, &std::ffi::CStr)], body: impl FnOnce() -> T) -> T {
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

/// Runs `body` waiting at most 10 s for any lock (`lock_timeout`): for work a sync does in its
/// caller's transaction on tables whose rows another granted role could hold locked.
pub fn with_bounded_lock_waits<T>(body: impl FnOnce() -> T) -> T {
    with_settings(&[(c"lock_timeout", c"10s")], body)
}

/// Runs a unit's writes, on a database where Citus is loaded, with one connection to each
/// node holding shards (`citus.max_adaptive_executor_pool_size = 1`): a batch of a day of
/// every code goes to all 32 shards of a table, and Citus' default of up to 16 new connections
/// a node, made again in every transaction (it keeps one), cost more than the rows
/// (`INSERT ... SELECT` of 4,960 daily bars into 32 shards on two workers: 0.57 s, with one
/// connection a node 0.14 s; its commit 60 ms against 1 ms). Elsewhere `body` runs as it is.
pub fn with_citus_connections<T>(body: impl FnOnce() -> T) -> T {
    // SAFETY: a lookup by name; NULL (missing_ok) when Citus has not defined the setting.
    let citus =
        unsafe { !pg_sys::GetConfigOption(c"citus.max_adaptive_executor_pool_size".as_ptr(), true, false).is_null() };
    if citus {
        with_settings(&[(c"citus.max_adaptive_executor_pool_size", c"1")], body)
    } else {
        body()
    }
}
