//! Runs units: a network thread fetches them as async tasks over the pool's sessions while
//! the calling thread (a backend or the worker, the only one that may use SPI) applies the
//! answers in unit order as they arrive. A credit of `window` answers bounds what is in
//! flight or waiting, so memory stays flat whatever the number of units. `unit` fetches and
//! applies each kind of unit. It may use `store`, `net`, `error` and the core crate; not
//! `sync`, `api` or `worker`: scripts/check-layers.sh.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use baostock::client::Pool;
use pg_baostock_core::Unit;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::error::{SyncError, SyncResult};
use crate::net::Traffic;

pub mod unit;

pub use unit::{apply, fetch, Fetched};

/// How often a wait for an answer, and the network thread, look for a stop.
const POLL: Duration = Duration::from_millis(100);

type Answer = (usize, SyncResult<Fetched>);

pub struct Runner {
    results: Receiver<Answer>,
    waiting: BTreeMap<usize, SyncResult<Fetched>>,
    next: usize,
    total: usize,
    credit: Arc<Semaphore>,
    stop: Arc<AtomicBool>,
    pool: Arc<Pool>,
    thread: Option<JoinHandle<()>>,
}

impl Runner {
    /// Starts fetching `units` with at most `window` answers in flight or not yet taken.
    pub fn start(units: Vec<Unit>, pool: Pool, window: usize) -> SyncResult<Runner> {
        let (tx, results) = mpsc::channel();
        let credit = Arc::new(Semaphore::new(window.max(1)));
        let stop = Arc::new(AtomicBool::new(false));
        let pool = Arc::new(pool);
        let total = units.len();
        let thread = {
            let (credit, stop, pool) = (credit.clone(), stop.clone(), pool.clone());
            std::thread::Builder::new()
                .name("pg_baostock network".into())
                .spawn(move || network(units, pool, credit, stop, tx))
                .map_err(|e| SyncError::Config(format!("cannot start the network thread: {e}")))?
        };
        Ok(Runner {
            results,
            waiting: BTreeMap::new(),
            next: 0,
            total,
            credit,
            stop,
            pool,
            thread: Some(thread),
        })
    }

    /// The next unit's answer, in unit order; `None` after the last. It asks `interrupted`
    /// first, and every 100 ms while it waits, and returns its error, if it has one.
    pub fn next(
        &mut self,
        interrupted: &mut dyn FnMut() -> Option<SyncError>,
    ) -> SyncResult<Option<(usize, SyncResult<Fetched>)>> {
        if self.next >= self.total {
            return Ok(None);
        }
        loop {
            if let Some(e) = interrupted() {
                return Err(e);
            }
            if let Some(answer) = self.waiting.remove(&self.next) {
                let seq = self.next;
                self.next += 1;
                self.credit.add_permits(1);
                return Ok(Some((seq, answer)));
            }
            match self.results.recv_timeout(POLL) {
                Ok((seq, answer)) => {
                    self.waiting.insert(seq, answer);
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => {
                    return Err(SyncError::Store(
                        "pg_baostock: the network thread ended before every unit was answered".into(),
                    ))
                }
            }
        }
    }

    /// Requests and bytes so far (sessions returned to the pool).
    pub fn traffic(&self) -> Traffic {
        Traffic::of(&self.pool)
    }

    /// Stops fetching, logs the sessions out and waits for the network thread.
    pub fn finish(mut self) -> Traffic {
        self.shut_down();
        self.traffic()
    }

    fn shut_down(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        // Answers nobody will take must not hold the network thread back.
        self.credit.add_permits(self.total);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Runner {
    fn drop(&mut self) {
        self.shut_down();
    }
}

/// The network thread: a current-thread runtime running one task per unit, as credit allows.
fn network(units: Vec<Unit>, pool: Arc<Pool>, credit: Arc<Semaphore>, stop: Arc<AtomicBool>, tx: mpsc::Sender<Answer>) {
    let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            for seq in 0..units.len() {
                let _ = tx.send((
                    seq,
                    Err(SyncError::Config(format!("cannot start the network runtime: {e}"))),
                ));
            }
            return;
        }
    };
    rt.block_on(async move {
        let mut tasks = JoinSet::new();
        let mut ids = HashMap::new();
        let mut todo = units.into_iter().enumerate();
        let mut next = todo.next();
        loop {
            if stop.load(Ordering::Relaxed) {
                tasks.abort_all();
                break;
            }
            if next.is_none() && tasks.is_empty() {
                break;
            }
            tokio::select! {
                permit = credit.clone().acquire_owned(), if next.is_some() => {
                    if let (Ok(permit), Some((seq, unit))) = (permit, next.take()) {
                        // Given back by the applier when it takes the answer.
                        permit.forget();
                        let (pool, tx) = (pool.clone(), tx.clone());
                        let handle = tasks.spawn(async move {
                            let answer = fetch(&unit, &pool).await;
                            let _ = tx.send((seq, answer));
                        });
                        ids.insert(handle.id(), seq);
                        next = todo.next();
                    }
                }
                Some(done) = tasks.join_next_with_id(), if !tasks.is_empty() => {
                    // A task that panicked still owes its unit an answer.
                    if let Err(e) = done {
                        if let Some(seq) = ids.remove(&e.id()) {
                            if e.is_panic() {
                                let _ = tx.send((seq, Err(SyncError::Store("pg_baostock: a fetch panicked".into()))));
                            }
                        }
                    } else if let Ok((id, ())) = done {
                        ids.remove(&id);
                    }
                }
                _ = tokio::time::sleep(POLL) => {}
            }
        }
        while tasks.join_next().await.is_some() {}
        pool.close().await;
    });
}
