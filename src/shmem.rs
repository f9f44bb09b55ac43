//! State every process of the cluster shares (needs `shared_preload_libraries`): the slots
//! of the cluster-wide cap on server sessions, the day's request count against the budget,
//! a blacklist and the server's clock, and the worker's pid and heartbeat. Only atomics: the
//! network thread uses them, and it must not touch Postgres locks. The worker copies what
//! must survive a restart to `baostock.server_state`.

use std::sync::atomic::{AtomicBool, AtomicI32, AtomicI64, Ordering};

use baostock::client::{Refusal, SessionGate, SessionSlot};
use chrono::NaiveDateTime;
use pg_baostock_core::clock;
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
    /// The budget's China day (days since 1970-01-01, by the server's clock) in the high 32
    /// bits and the requests sent that day in the low 32, so both change in one CAS.
    budget: AtomicI64,
    /// Unix milliseconds before which nothing is sent (0: not blacklisted).
    blacklisted_until: AtomicI64,
    /// Unix milliseconds of the last blacklist answer.
    blacklisted_at: AtomicI64,
    /// The server's clock minus ours, in milliseconds, from its last login reply.
    clock_offset_ms: AtomicI64,
}

// SAFETY: only atomics, valid in any process that maps the segment.
unsafe impl PGRXSharedMemory for Shared {}

impl Shared {
    fn new() -> Shared {
        Shared {
            slots: std::array::from_fn(|_| AtomicI32::new(0)),
            worker_pid: AtomicI32::new(0),
            worker_beat: AtomicI64::new(0),
            budget: AtomicI64::new(0),
            blacklisted_until: AtomicI64::new(0),
            blacklisted_at: AtomicI64::new(0),
            clock_offset_ms: AtomicI64::new(0),
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

/// The cluster-wide gate: a session connects only while fewer than `max` slots are held by
/// live processes, and a request goes out only while the cluster is not blacklisted and has
/// sent fewer than `budget` requests this China day (`None`: no budget). Without the preload there
/// is no shared memory and only the pool's own cap applies.
pub struct ClusterGate {
    pub max: usize,
    pub budget: Option<u64>,
    /// How long a blacklist answer stops every request.
    pub blacklist_pause_ms: i64,
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

    fn admit(&self) -> Result<(), Refusal> {
        let Some(s) = shared() else {
            return Ok(());
        };
        let until = s.blacklisted_until.load(Ordering::Acquire);
        if until > clock::now_ms() {
            return Err(Refusal::Blacklisted {
                until: clock::utc_text(until),
            });
        }
        let mut refusal = None;
        update_budget(s, |used| match self.budget {
            Some(budget) if used >= budget => {
                refusal = Some(Refusal::BudgetSpent { used, budget });
                None
            }
            _ => Some(used + 1),
        });
        refusal.map_or(Ok(()), Err)
    }

    fn blacklisted(&self) {
        if let Some(s) = shared() {
            let now = clock::now_ms();
            s.blacklisted_at.store(now, Ordering::Release);
            s.blacklisted_until
                .fetch_max(now.saturating_add(self.blacklist_pause_ms), Ordering::AcqRel);
        }
    }

    fn server_time(&self, time: &str) {
        let (Some(s), Some(server)) = (shared(), server_ms(time)) else {
            return;
        };
        s.clock_offset_ms.store(server - clock::now_ms(), Ordering::Release);
    }
}

/// Sets today's request count (the server's China day; a count of another day is 0) to what
/// `f` makes of it, in one CAS so no concurrent request is lost; `None` leaves it.
fn update_budget(s: &Shared, mut f: impl FnMut(u64) -> Option<u64>) {
    let today = server_day(s);
    let mut current = s.budget.load(Ordering::Acquire);
    loop {
        let (day, used) = unpack(current);
        let Some(next) = f(if day == today { used } else { 0 }) else {
            return;
        };
        match s
            .budget
            .compare_exchange(current, pack(today, next), Ordering::AcqRel, Ordering::Acquire)
        {
            Ok(_) => return,
            Err(now) => current = now,
        }
    }
}

fn pack(day: i64, used: u64) -> i64 {
    (day << 32) | i64::try_from(used.min(u64::from(u32::MAX))).unwrap_or(0)
}

fn unpack(v: i64) -> (i64, u64) {
    (v >> 32, (v & 0xffff_ffff) as u64)
}

/// Unix milliseconds of a 17-digit China time `YYYYMMDDHHMMSSmmm`.
fn server_ms(time: &str) -> Option<i64> {
    let t = NaiveDateTime::parse_from_str(time.get(..14)?, "%Y%m%d%H%M%S").ok()?;
    let millis: i64 = time.get(14..17).and_then(|m| m.parse().ok()).unwrap_or(0);
    Some(t.and_utc().timestamp_millis() - 8 * 3_600_000 + millis)
}

const DAY_MS: i64 = 86_400_000;

/// Today in China by the server's clock, as days since 1970-01-01.
fn server_day(s: &Shared) -> i64 {
    (clock::now_ms() + s.clock_offset_ms.load(Ordering::Acquire) + 8 * 3_600_000).div_euclid(DAY_MS)
}

/// The server's China time now: the host's clock plus the offset seen in the last login
/// reply (the host's clock before any, or without the preload).
pub fn server_now() -> NaiveDateTime {
    let offset = shared().map_or(0, |s| s.clock_offset_ms.load(Ordering::Acquire));
    clock::china_time(clock::now_ms() + offset)
}

/// The offset of the server's clock from the host's seen in the last login reply, when the
/// preload keeps one.
pub fn clock_offset_ms() -> Option<i64> {
    shared().map(|s| s.clock_offset_ms.load(Ordering::Acquire))
}

/// Milliseconds until the server's China day ends.
pub fn ms_to_next_server_day() -> i64 {
    shared().map_or(DAY_MS, |s| {
        let china = clock::now_ms() + s.clock_offset_ms.load(Ordering::Acquire) + 8 * 3_600_000;
        DAY_MS - china.rem_euclid(DAY_MS)
    })
}

/// What the worker copies to `baostock.server_state` (times in Unix milliseconds, 0: none).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ServerState {
    pub blacklisted_until: i64,
    pub blacklisted_at: i64,
    /// Days since 1970-01-01 (China, server clock).
    pub budget_day: i64,
    pub budget_used: u64,
    pub clock_offset_ms: i64,
}

/// The shared server state now (`None` without the preload).
pub fn server_state() -> Option<ServerState> {
    let s = shared()?;
    let (budget_day, budget_used) = unpack(s.budget.load(Ordering::Acquire));
    let today = server_day(s);
    Some(ServerState {
        blacklisted_until: s.blacklisted_until.load(Ordering::Acquire),
        blacklisted_at: s.blacklisted_at.load(Ordering::Acquire),
        budget_day: today,
        budget_used: if budget_day == today { budget_used } else { 0 },
        clock_offset_ms: s.clock_offset_ms.load(Ordering::Acquire),
    })
}

/// Merges what a restart left in `baostock.server_state` into shared memory: the later
/// blacklist and the larger count of the same day win.
pub fn restore(saved: ServerState) {
    let Some(s) = shared() else { return };
    s.blacklisted_until.fetch_max(saved.blacklisted_until, Ordering::AcqRel);
    s.blacklisted_at.fetch_max(saved.blacklisted_at, Ordering::AcqRel);
    if s.clock_offset_ms.load(Ordering::Acquire) == 0 {
        s.clock_offset_ms.store(saved.clock_offset_ms, Ordering::Release);
    }
    if saved.budget_day == server_day(s) {
        update_budget(s, |used| Some(used.max(saved.budget_used)));
    }
}

/// Lifts a blacklist (`baostock.resume()`).
pub fn lift_blacklist() {
    if let Some(s) = shared() {
        s.blacklisted_until.store(0, Ordering::Release);
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
