//! An async client: sessions (one TCP connection plus a login), paging, a capped pool with
//! pacing, and retries of transient errors only.

mod pool;
mod session;

use std::any::Any;
use std::fmt;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use thiserror::Error;

use crate::error::DecodeError;
use crate::limits::Limits;
use crate::reply::{codes, ServerError};

pub use pool::Pool;
pub use session::Session;

/// Where and how to talk to the server.
#[derive(Clone)]
pub struct Config {
    pub host: String,
    pub port: u16,
    pub user: String,
    /// Never printed: `Debug` redacts it.
    pub password: String,
    /// Sent as the login `options` field; `None` sends `0` as the official client does.
    /// Never printed.
    pub api_key: Option<String>,
    /// Seven characters, e.g. `00.9.40` (the official client 0.9.4).
    pub client_version: String,
    pub connect_timeout: Duration,
    /// Longest silence while waiting for bytes of a response.
    pub read_timeout: Duration,
    /// Longest time for one request, reconnect and login included.
    pub request_timeout: Duration,
    /// Rows a page for paged queries; the official client uses 2000.
    pub per_page: u32,
    pub limits: Limits,
    /// Hard cap on concurrent sessions of a pool (the real server blacklists at ~8).
    pub max_sessions: usize,
    /// Least time between two requests of one session.
    pub min_interval: Duration,
    /// Further attempts after a transient failure.
    pub retries: u32,
    /// First backoff; doubles with each retry, with full jitter, up to `backoff_max`.
    pub backoff_base: Duration,
    pub backoff_max: Duration,
    /// A cap shared with other pools (other processes): a session connects only with a slot.
    pub gate: Option<Arc<dyn SessionGate>>,
}

/// A slot of a `SessionGate`, given back when dropped.
pub type SessionSlot = Box<dyn Any + Send + Sync>;

/// What sessions share beyond one pool, such as every process of a database cluster: a cap
/// on connected sessions, a request budget, and what the server said about us.
pub trait SessionGate: Send + Sync {
    /// A slot for one more connected session, or `None` when all are taken.
    fn try_acquire(&self) -> Option<SessionSlot>;
    /// Asked before every request (logins included) is written; a refusal stops the request
    /// unsent and is not retried.
    fn admit(&self) -> std::result::Result<(), Refusal> {
        Ok(())
    }
    /// Told at once when the server answers that we are blacklisted (`10001011`).
    fn blacklisted(&self) {}
    /// Told the server's 17-digit time (`YYYYMMDDHHMMSSmmm`, China) from each login reply.
    fn server_time(&self, _time: &str) {}
}

/// Why a gate refused to let a request out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The server blacklisted this address; nothing may be sent until the time given.
    Blacklisted { until: String },
    /// The request budget of the day is spent.
    BudgetSpent { used: u64, budget: u64 },
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::Blacklisted { until } => write!(
                f,
                "the server blacklisted this address; no request is sent until {until}"
            ),
            Refusal::BudgetSpent { used, budget } => {
                write!(
                    f,
                    "the daily request budget is spent ({used} of {budget} requests today, China time)"
                )
            }
        }
    }
}

/// Characters that would reframe a request if they were in a credential or the host name.
pub fn unsafe_char(s: &str) -> Option<char> {
    s.chars().find(|c| c.is_control())
}

impl Config {
    /// Checks that no field a request carries could break its framing (`\x01` separates
    /// fields, `\n` ends a frame). The error names the field, never its value.
    pub fn check(&self) -> std::result::Result<(), String> {
        let fields = [
            ("host", self.host.as_str()),
            ("user", self.user.as_str()),
            ("password", self.password.as_str()),
            ("api_key", self.api_key.as_deref().unwrap_or("")),
        ];
        match fields.iter().find(|(_, v)| unsafe_char(v).is_some()) {
            Some((name, _)) => Err(format!("{name} contains a control character")),
            None => Ok(()),
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            host: "public-api.baostock.com".into(),
            port: 10030,
            user: "anonymous".into(),
            password: "123456".into(),
            api_key: None,
            client_version: crate::frame::CLIENT_VERSION.into(),
            connect_timeout: Duration::from_secs(10),
            read_timeout: Duration::from_secs(30),
            request_timeout: Duration::from_secs(120),
            per_page: 2000,
            limits: Limits::default(),
            max_sessions: 2,
            min_interval: Duration::ZERO,
            retries: 3,
            backoff_base: Duration::from_millis(200),
            backoff_max: Duration::from_secs(10),
            gate: None,
        }
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("user", &self.user)
            .field("password", &"<redacted>")
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("client_version", &self.client_version)
            .field("connect_timeout", &self.connect_timeout)
            .field("read_timeout", &self.read_timeout)
            .field("request_timeout", &self.request_timeout)
            .field("per_page", &self.per_page)
            .field("max_sessions", &self.max_sessions)
            .field("min_interval", &self.min_interval)
            .field("retries", &self.retries)
            .field("gate", &self.gate.is_some())
            .finish_non_exhaustive()
    }
}

/// How a failure should be handled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorClass {
    /// Worth another attempt, after a backoff, on a fresh connection.
    Transient,
    /// Will fail again the same way (bad parameters, bad credentials).
    Permanent,
    /// The server blacklisted us: stop everything and wait.
    Blacklist,
    /// Our own gate refused to send (a blacklist remembered, a spent budget): stop, unsent.
    Refused,
}

/// Why a request failed.
#[derive(Debug, Error)]
pub enum ClientError {
    #[error("cannot connect to {addr}: {source}")]
    Connect { addr: String, source: io::Error },
    #[error("{what} timed out after {after:?}")]
    Timeout { what: &'static str, after: Duration },
    #[error("server closed the connection {}", if *.mid_frame { "in the middle of a response" } else { "before responding" })]
    Closed { mid_frame: bool },
    #[error("network error: {0}")]
    Io(#[from] io::Error),
    #[error("malformed response: {0}")]
    Decode(#[from] DecodeError),
    #[error("server error {}: {}", .0.code, .0.message)]
    Server(ServerError),
    #[error("unexpected response to {method}: {what}")]
    Unexpected { method: String, what: String },
    #[error("blacklisted by the server; requests are stopped")]
    Blacklisted,
    #[error("not sent: {0}")]
    Refused(Refusal),
}

impl ClientError {
    /// Sorts the error into retry, don't retry, or stop everything.
    pub fn class(&self) -> ErrorClass {
        match self {
            ClientError::Connect { .. }
            | ClientError::Timeout { .. }
            | ClientError::Closed { .. }
            | ClientError::Io(_)
            | ClientError::Decode(_) => ErrorClass::Transient,
            ClientError::Server(e) => match e.code.as_str() {
                codes::BLACKLISTED => ErrorClass::Blacklist,
                // Not logged in: the session was lost; a fresh login fixes it. (The login limit,
                // 10001005, is permanent: retrying it is what gets an address blacklisted.)
                codes::NOT_LOGGED_IN => ErrorClass::Transient,
                // The receive error code the official client reports for a broken network.
                "10002007" => ErrorClass::Transient,
                _ => ErrorClass::Permanent,
            },
            ClientError::Unexpected { .. } => ErrorClass::Permanent,
            ClientError::Blacklisted => ErrorClass::Blacklist,
            ClientError::Refused(_) => ErrorClass::Refused,
        }
    }

    /// The server's error code, when the server reported one.
    pub fn server_code(&self) -> Option<&str> {
        match self {
            ClientError::Server(e) => Some(&e.code),
            _ => None,
        }
    }
}

pub type Result<T, E = ClientError> = std::result::Result<T, E>;
