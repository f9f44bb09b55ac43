//! Errors of the extension and their SQLSTATEs. Client and codec errors are wrapped, never
//! flattened, so the SQL boundary can pick a fitting code; no variant carries a credential.

use baostock::client::{ClientError, ErrorClass, Refusal};
use baostock::reply::codes;
use pg_baostock_core::CoreError;
use pgrx::pg_sys::panic::ErrorReport;
use pgrx::{PgLogLevel, PgSqlErrorCode};
use thiserror::Error;

/// Why a sync failed.
#[derive(Debug, Error)]
pub enum SyncError {
    /// The caller's arguments are wrong; nothing was asked of the server.
    #[error("{message}")]
    InvalidArgument {
        message: String,
        hint: Option<String>,
        null: bool,
    },
    /// A setting is unusable.
    #[error("{0}")]
    Config(String),
    /// The server or the network failed.
    #[error("baostock {what}: {source}")]
    Client { what: String, source: ClientError },
    /// The server answered something this extension cannot use.
    #[error("baostock {what}: {message}")]
    Protocol { what: String, message: String },
    /// The statement was cancelled (Ctrl-C or statement_timeout) while waiting on the network.
    #[error("canceling statement while waiting for the Baostock server")]
    Interrupted,
    /// A database error inside the store; raised as it is.
    #[error("{0}")]
    Store(String),
    /// A Postgres ERROR caught (and its subtransaction rolled back); raised again as it was.
    #[error("{message}")]
    Postgres { sqlstate: PgSqlErrorCode, message: String },
    /// The call needs something that is not there (the preload, a job that can be waited for).
    #[error("{message}")]
    NotReady { message: String, hint: Option<String> },
    /// No such job.
    #[error("{0}")]
    UnknownJob(String),
    /// Another session held a lock of ours longer than we wait.
    #[error("{message}")]
    Busy { message: String, hint: Option<String> },
}

impl SyncError {
    pub fn invalid(message: impl Into<String>) -> SyncError {
        SyncError::InvalidArgument {
            message: message.into(),
            hint: None,
            null: false,
        }
    }

    pub fn client(what: impl Into<String>, source: ClientError) -> SyncError {
        SyncError::Client {
            what: what.into(),
            source,
        }
    }

    /// The SQLSTATE for this error.
    pub fn sqlstate(&self) -> PgSqlErrorCode {
        use PgSqlErrorCode::*;
        match self {
            SyncError::InvalidArgument { null: true, .. } => ERRCODE_NULL_VALUE_NOT_ALLOWED,
            SyncError::InvalidArgument { .. } => ERRCODE_INVALID_PARAMETER_VALUE,
            SyncError::Config(_) => ERRCODE_INVALID_PARAMETER_VALUE,
            SyncError::Protocol { .. } => ERRCODE_PROTOCOL_VIOLATION,
            SyncError::Interrupted => ERRCODE_QUERY_CANCELED,
            SyncError::Store(_) => ERRCODE_INTERNAL_ERROR,
            SyncError::Postgres { sqlstate, .. } => *sqlstate,
            SyncError::NotReady { .. } => ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
            SyncError::UnknownJob(_) => ERRCODE_UNDEFINED_OBJECT,
            SyncError::Busy { .. } => ERRCODE_LOCK_NOT_AVAILABLE,
            SyncError::Client { source, .. } => match source {
                ClientError::Connect { .. } => ERRCODE_SQLCLIENT_UNABLE_TO_ESTABLISH_SQLCONNECTION,
                ClientError::Timeout { .. } | ClientError::Closed { .. } | ClientError::Io(_) => {
                    ERRCODE_CONNECTION_FAILURE
                }
                ClientError::Decode(_) | ClientError::Unexpected { .. } => ERRCODE_PROTOCOL_VIOLATION,
                ClientError::Blacklisted | ClientError::Refused(_) => ERRCODE_CONFIGURATION_LIMIT_EXCEEDED,
                ClientError::Server(e) => match e.code.as_str() {
                    codes::BAD_CREDENTIALS => ERRCODE_INVALID_PASSWORD,
                    codes::LOGIN_LIMIT => ERRCODE_TOO_MANY_CONNECTIONS,
                    codes::BLACKLISTED => ERRCODE_CONFIGURATION_LIMIT_EXCEEDED,
                    _ => ERRCODE_EXTERNAL_ROUTINE_EXCEPTION,
                },
            },
        }
    }

    /// The message as recorded and raised: control characters as spaces, at most
    /// `MAX_MESSAGE` characters (text from the server ends up in it).
    pub fn text(&self) -> String {
        clean(&self.to_string())
    }

    /// Whether the error means that nothing may be sent to the server for now (a blacklist,
    /// or a spent budget): work pauses rather than fails.
    pub fn stops_fetching(&self) -> Option<Stop> {
        match self {
            SyncError::Client { source, .. } => match source {
                ClientError::Refused(Refusal::BudgetSpent { .. }) => Some(Stop::Budget),
                e if e.class() == ErrorClass::Blacklist => Some(Stop::Blacklisted),
                ClientError::Refused(Refusal::Blacklisted { .. }) => Some(Stop::Blacklisted),
                _ => None,
            },
            _ => None,
        }
    }

    /// The five-character SQLSTATE, for the run history.
    pub fn sqlstate_text(&self) -> String {
        sqlstate_of(self.sqlstate())
    }

    /// A Postgres error caught by `PgTryBuilder`, as an error of ours.
    pub fn caught(e: &pgrx::pg_sys::panic::CaughtError) -> SyncError {
        use pgrx::pg_sys::panic::CaughtError;
        match e {
            CaughtError::PostgresError(r) | CaughtError::ErrorReport(r) => SyncError::Postgres {
                sqlstate: r.sql_error_code(),
                message: r.message().to_owned(),
            },
            // A panic's text and backtrace stay in the server log, never in the client's error.
            CaughtError::RustPanic { .. } => {
                SyncError::Store("pg_baostock: internal error (see the server log)".into())
            }
        }
    }

    pub fn hint(&self) -> Option<String> {
        match self {
            SyncError::InvalidArgument { hint, .. } | SyncError::NotReady { hint, .. } | SyncError::Busy { hint, .. } => {
                hint.clone()
            }
            SyncError::Client { source, .. } => match source.class() {
                ErrorClass::Blacklist => Some(
                    "The server blacklisted this address, usually for too many parallel sessions; it lifts after about a day. Lower baostock.max_sessions.".into(),
                ),
                ErrorClass::Transient => Some(
                    "The failure looks temporary; the call can be repeated. Check baostock.host and baostock.port.".into(),
                ),
                ErrorClass::Permanent => None,
                ErrorClass::Refused => Some(match source {
                    ClientError::Refused(Refusal::BudgetSpent { .. }) => "The budget (baostock.daily_request_budget) renews at midnight China time by the server's clock; backfills resume by themselves.".into(),
                    _ => "Nothing is sent to the server until the blacklist ends (baostock.blacklist_pause after the server's 10001011 answer); SELECT baostock.resume() lifts it early.".into(),
                }),
            },
            _ => None,
        }
    }

    /// Raises this error as a Postgres ERROR. Does not return.
    pub fn raise(self) -> ! {
        let mut report = ErrorReport::new(self.sqlstate(), self.text(), "pg_baostock");
        if let Some(h) = self.hint() {
            report = report.set_hint(h);
        }
        if let SyncError::Client {
            source: ClientError::Server(e),
            ..
        } = &self
        {
            report = report.set_detail(format!("Server error code {}.", e.code));
        }
        report.report(PgLogLevel::ERROR);
        unreachable!("ERROR does not return")
    }
}

pub type SyncResult<T> = Result<T, SyncError>;

/// The core's refusals as the extension raises them, their messages as they are: a day out of
/// bounds is an invalid argument (22023), a stored label not of its type the store's error
/// (XX000).
impl From<CoreError> for SyncError {
    fn from(e: CoreError) -> SyncError {
        match e {
            CoreError::Invalid(message) => SyncError::invalid(message),
            e @ (CoreError::UnknownLabel { .. } | CoreError::NotAMove { .. }) => SyncError::Store(e.to_string()),
        }
    }
}

/// The five characters of a SQLSTATE (Postgres packs them as 6-bit values, lowest first).
pub fn sqlstate_of(code: PgSqlErrorCode) -> String {
    let code = code as i32;
    (0..5)
        .map(|i| char::from((((code >> (6 * i)) & 0x3f) as u8) + b'0'))
        .collect()
}

/// Why fetching stopped for now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stop {
    Budget,
    Blacklisted,
}

impl Stop {
    /// The `pause_reason` of a job paused for it.
    pub fn word(self) -> &'static str {
        match self {
            Stop::Budget => "budget",
            Stop::Blacklisted => "blacklisted",
        }
    }
}

/// Longest error message recorded or raised, in characters.
pub const MAX_MESSAGE: usize = 1000;

/// `text` with control characters as spaces, cut to `MAX_MESSAGE` characters.
pub fn clean(text: &str) -> String {
    let mut out: String = text
        .chars()
        .take(MAX_MESSAGE)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if text.chars().nth(MAX_MESSAGE).is_some() {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_strips_control_characters_and_cuts_long_text() {
        assert_eq!(clean("a\u{1}b\nc"), "a b c");
        let long = "x".repeat(MAX_MESSAGE + 10);
        let cut = clean(&long);
        assert_eq!(cut.chars().count(), MAX_MESSAGE + 1);
        assert!(cut.ends_with('…'));
        assert_eq!(clean(&"中".repeat(MAX_MESSAGE)), "中".repeat(MAX_MESSAGE));
    }

    #[test]
    fn the_cores_refusals_keep_their_messages_and_get_their_sqlstates() {
        let day = chrono::NaiveDate::from_ymd_opt(1990, 1, 1).unwrap();
        let e = SyncError::from(pg_baostock_core::check_not_before_first("day", day).unwrap_err());
        assert_eq!(e.text(), "day 1990-01-01 is before the first trading day 1990-12-19");
        assert_eq!(e.sqlstate_text(), "22023");
        let e = SyncError::from(pg_baostock_core::states::UnitKind::parse("minutes").unwrap_err());
        assert_eq!(
            e.text(),
            "pg_baostock store: \"minutes\" is not a label of baostock.unit_kind"
        );
        assert_eq!(e.sqlstate_text(), "XX000");
    }
}
