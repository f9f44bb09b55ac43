//! A small pool of sessions: a hard cap on concurrent sessions, pacing inside each session,
//! retries with exponential backoff and jitter for transient errors, and a full stop on a
//! blacklist answer.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::Rng;
use tokio::sync::Semaphore;

use super::{ClientError, Config, ErrorClass, Result, Session};
use crate::reply::{Reply, Table};
use crate::request::Request;

/// Shares at most `max_sessions` sessions between concurrent callers.
pub struct Pool {
    cfg: Arc<Config>,
    idle: Mutex<Vec<Session>>,
    permits: Semaphore,
    blacklisted: AtomicBool,
    requests: AtomicU64,
    bytes_in: AtomicU64,
    retries: AtomicU64,
}

impl Pool {
    pub fn new(cfg: Config) -> Pool {
        let cap = cfg.max_sessions.max(1);
        Pool {
            cfg: Arc::new(cfg),
            idle: Mutex::new(Vec::new()),
            permits: Semaphore::new(cap),
            blacklisted: AtomicBool::new(false),
            requests: AtomicU64::new(0),
            bytes_in: AtomicU64::new(0),
            retries: AtomicU64::new(0),
        }
    }

    pub fn config(&self) -> &Config {
        &self.cfg
    }

    /// Requests sent by sessions that have been returned to the pool (logins included).
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// Response bytes received by sessions that have been returned to the pool.
    pub fn bytes_in(&self) -> u64 {
        self.bytes_in.load(Ordering::Relaxed)
    }

    /// Attempts repeated after a transient error.
    pub fn retries(&self) -> u64 {
        self.retries.load(Ordering::Relaxed)
    }

    /// Whether a blacklist answer has stopped this pool.
    pub fn is_blacklisted(&self) -> bool {
        self.blacklisted.load(Ordering::Relaxed)
    }

    /// One request, retried on transient errors.
    pub async fn request(&self, req: &Request) -> Result<Reply> {
        self.with_retries(req, |s, r| Box::pin(async move { s.request(r).await }))
            .await
    }

    /// Every page of a paged query, retried as a whole on transient errors.
    pub async fn query_all(&self, req: &Request) -> Result<Vec<Table>> {
        self.with_retries(req, |s, r| Box::pin(async move { s.query_all(r).await }))
            .await
    }

    /// Logs one session in now (it stays in the pool, idle): the login reply carries the
    /// server's clock, which the session gate is told of.
    pub async fn login(&self) -> Result<()> {
        if self.is_blacklisted() {
            return Err(ClientError::Blacklisted);
        }
        let permit = self.permits.acquire().await.map_err(|_| ClientError::Blacklisted)?;
        let mut session = self.take();
        let before = (session.requests(), session.bytes_in());
        let result = session.login().await;
        self.put_counted(session, before);
        drop(permit);
        if matches!(result.as_ref().map_err(ClientError::class), Err(ErrorClass::Blacklist)) {
            self.blacklisted.store(true, Ordering::Relaxed);
        }
        result
    }

    /// Logs every idle session out.
    pub async fn close(&self) {
        let sessions: Vec<Session> = std::mem::take(&mut *self.idle.lock().unwrap_or_else(|e| e.into_inner()));
        for mut s in sessions {
            let before = s.requests();
            s.logout().await;
            self.requests.fetch_add(s.requests() - before, Ordering::Relaxed);
        }
    }

    async fn with_retries<'a, T, F>(&'a self, req: &'a Request, mut op: F) -> Result<T>
    where
        F: for<'s> FnMut(
            &'s mut Session,
            &'s Request,
        ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<T>> + Send + 's>>,
    {
        let mut attempt = 0u32;
        loop {
            if self.is_blacklisted() {
                return Err(ClientError::Blacklisted);
            }
            let permit = self.permits.acquire().await.map_err(|_| ClientError::Blacklisted)?;
            let mut session = self.take();
            let before = (session.requests(), session.bytes_in());
            let result = op(&mut session, req).await;
            self.put_counted(session, before);
            drop(permit);
            match result {
                Ok(v) => return Ok(v),
                Err(e) => match e.class() {
                    ErrorClass::Blacklist => {
                        self.blacklisted.store(true, Ordering::Relaxed);
                        return Err(e);
                    }
                    ErrorClass::Permanent | ErrorClass::Refused => return Err(e),
                    ErrorClass::Transient if attempt >= self.cfg.retries => return Err(e),
                    ErrorClass::Transient => {
                        tokio::time::sleep(self.backoff(attempt)).await;
                        attempt += 1;
                        self.retries.fetch_add(1, Ordering::Relaxed);
                    }
                },
            }
        }
    }

    /// Full jitter: a random wait up to base × 2^attempt, capped.
    fn backoff(&self, attempt: u32) -> Duration {
        let cap = self
            .cfg
            .backoff_base
            .saturating_mul(1u32 << attempt.min(16))
            .min(self.cfg.backoff_max);
        let millis = u64::try_from(cap.as_millis()).unwrap_or(u64::MAX);
        Duration::from_millis(rand::thread_rng().gen_range(0..=millis))
    }

    fn take(&self) -> Session {
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        idle.pop().unwrap_or_else(|| Session::new(self.cfg.clone()))
    }

    /// Counts what a session sent and received since `before` (its requests and bytes then)
    /// and puts it back.
    fn put_counted(&self, session: Session, before: (u64, u64)) {
        self.requests
            .fetch_add(session.requests() - before.0, Ordering::Relaxed);
        self.bytes_in
            .fetch_add(session.bytes_in() - before.1, Ordering::Relaxed);
        self.put(session);
    }

    fn put(&self, session: Session) {
        self.idle.lock().unwrap_or_else(|e| e.into_inner()).push(session);
    }
}
