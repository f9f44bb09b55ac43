//! State every process of the cluster shares (needs `shared_preload_libraries`): the slots
//! of the cluster-wide cap on server sessions, and the worker's pid and heartbeat. Only
//! atomics: the network thread takes and returns slots, and it must not touch Postgres locks.

use std::sync::atomic::{AtomicBool, AtomicI32, AtomicI64, Ordering};

use baostock::client::{SessionGate, SessionSlot};
use pgrx::prelude::*;
use pgrx::{pg_shmem_init, pg_sys, PGRXSharedMemory, PgAtomic};

/// The most server sessions the cluster may hold (the upper bound of `baostock.max_sessions`).
pub const SLOTS: usize = 6;

#[repr(C)]
pub struct Shared {
    /// Pid of the process holding each slot, 0 when free.
    slots: [AtomicI32; SLOTS],
    worker_pid: AtomicI32,
    /// Unix seconds of the worker's last loop.
    worker_beat: AtomicI64,
}

// SAFETY: only atomics, valid in any process that maps the segment.
unsafe impl PGRXSharedMemory for Shared {}

impl Shared {
    fn new() -> Shared {
        Shared {
            slots: std::array::from_fn(|_| AtomicI32::new(0)),
            worker_pid: AtomicI32::new(0),
            worker_beat: AtomicI64::new(0),
        }
    }
}

static SHARED: PgAtomic<Shared> = unsafe { PgAtomic::new(c"pg_baostock_shared") };
static PRELOADED: AtomicBool = AtomicBool::new(false);

/// Reserves the shared state; call from `_PG_init` while preloading.
#[allow(unexpected_cfgs)] // the macro tests features of other Postgres versions
pub fn init() {
    pg_shmem_init!(SHARED = Shared::new());
    PRELOADED.store(true, Ordering::Relaxed);
}

/// Whether the library was loaded by `shared_preload_libraries` (so the worker runs).
pub fn preloaded() -> bool {
    PRELOADED.load(Ordering::Relaxed)
}

fn shared() -> Option<&'static Shared> {
    preloaded().then(|| SHARED.get())
}

fn alive(pid: i32) -> bool {
    // SAFETY: signal 0 only asks whether the process exists.
    pid > 0
        && (unsafe { libc::kill(pid, 0) } == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM))
}

/// The cluster-wide cap: a session connects only while fewer than `max` slots are held by
/// live processes. Without the preload there is no shared memory and only the pool's own cap
/// applies.
pub struct ClusterGate {
    pub max: usize,
}

struct Held {
    index: usize,
    pid: i32,
}

impl Drop for Held {
    fn drop(&mut self) {
        if let Some(s) = shared() {
            let _ = s.slots[self.index].compare_exchange(self.pid, 0, Ordering::AcqRel, Ordering::Relaxed);
        }
    }
}

impl SessionGate for ClusterGate {
    fn try_acquire(&self) -> Option<SessionSlot> {
        let Some(s) = shared() else {
            return Some(Box::new(()));
        };
        let pid = i32::try_from(std::process::id()).unwrap_or(i32::MAX);
        // Slots of processes that died (a crashed backend) are free again.
        for slot in &s.slots {
            let owner = slot.load(Ordering::Acquire);
            if owner != 0 && !alive(owner) {
                let _ = slot.compare_exchange(owner, 0, Ordering::AcqRel, Ordering::Relaxed);
            }
        }
        let max = self.max.clamp(1, SLOTS);
        let index = (0..SLOTS).find(|&i| {
            s.slots[i]
                .compare_exchange(0, pid, Ordering::AcqRel, Ordering::Relaxed)
                .is_ok()
        })?;
        let held = Held { index, pid };
        // Claim first, count after: two processes racing for the last slot both see the
        // excess and back off, rather than both going over.
        let taken = s.slots.iter().filter(|x| x.load(Ordering::Acquire) != 0).count();
        (taken <= max).then(|| Box::new(held) as SessionSlot)
    }
}

/// Server sessions held in the cluster right now.
pub fn sessions_held() -> i64 {
    shared().map_or(0, |s| {
        s.slots.iter().filter(|x| x.load(Ordering::Acquire) != 0).count() as i64
    })
}

/// The worker announces itself (and each loop, its heartbeat).
pub fn worker_beat(pid: i32, unix_secs: i64) {
    if let Some(s) = shared() {
        s.worker_pid.store(pid, Ordering::Release);
        s.worker_beat.store(unix_secs, Ordering::Release);
    }
}

/// The worker's pid and last heartbeat, when one is alive.
pub fn worker() -> Option<(i32, i64)> {
    let s = shared()?;
    let pid = s.worker_pid.load(Ordering::Acquire);
    alive(pid).then(|| (pid, s.worker_beat.load(Ordering::Acquire)))
}
