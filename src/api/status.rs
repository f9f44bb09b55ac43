//! The state of the worker and of the cluster's traffic, as the shared memory holds it.

// pgrx reads the result columns from the signature, so the row tuple is spelled out there
// rather than hidden behind a type alias.
#![allow(clippy::type_complexity)]

use pg_baostock_core::clock;
use pgrx::prelude::*;

/// The background worker and the cluster's server sessions right now, from shared memory.
#[pg_extern(volatile, parallel_safe)]
fn worker_status() -> TableIterator<
    'static,
    (
        name!(preloaded, bool),
        name!(worker_pid, Option<i32>),
        name!(last_heartbeat, Option<pgrx::datum::TimestampWithTimeZone>),
        name!(server_sessions, i64),
        name!(budget_used_today, Option<i64>),
        name!(blacklisted_until, Option<pgrx::datum::TimestampWithTimeZone>),
        name!(clock_offset_ms, Option<i64>),
    ),
> {
    /// Unix milliseconds as a timestamptz (Postgres counts microseconds from 2000).
    fn at(ms: i64) -> Option<pgrx::datum::TimestampWithTimeZone> {
        pgrx::datum::TimestampWithTimeZone::try_from(pgrx::pg_sys::TimestampTz::from((ms - 946_684_800_000) * 1_000))
            .ok()
    }
    let worker = crate::shmem::worker();
    let server = crate::shmem::server_state();
    TableIterator::once((
        crate::shmem::preloaded(),
        worker.map(|(pid, _)| pid),
        worker.and_then(|(_, t)| at(t * 1000)),
        crate::shmem::sessions_held(),
        server.map(|s| i64::try_from(s.budget_used).unwrap_or(i64::MAX)),
        server
            .filter(|s| s.blacklisted_until > clock::now_ms())
            .and_then(|s| at(s.blacklisted_until)),
        crate::shmem::clock_offset_ms(),
    ))
}
