//! Waits on the process latch, which a cancel, a termination or the worker's stop ends, and the
//! interrupt flags that say so. It may use `error` alone: scripts/check-layers.sh.

use pgrx::pg_sys;

use crate::error::{SyncError, SyncResult};

/// Whether a cancel, a termination or a shutdown is pending. Backends must still raise it
/// (CHECK_FOR_INTERRUPTS); the worker stops.
pub fn interrupt_pending() -> bool {
    // SAFETY: plain reads of flags the signal handlers set.
    unsafe { pg_sys::QueryCancelPending != 0 || pg_sys::ProcDiePending != 0 || pg_sys::ShutdownRequestPending != 0 }
}

/// Sleeps `ms` on the process latch; a pending cancel, termination or stop of the worker ends
/// it with an error instead.
pub fn pause(ms: i64) -> SyncResult<()> {
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
    if interrupt_pending() {
        return Err(SyncError::Interrupted);
    }
    Ok(())
}
