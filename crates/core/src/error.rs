//! The errors of the core's checks and conversions. The extension turns each into its
//! `SyncError` (src/error.rs: `From<CoreError>`), keeping the message as it is here.

use thiserror::Error;

/// Why a check or a conversion of the core refused.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum CoreError {
    /// A caller's argument is wrong (a day out of bounds): an invalid argument.
    #[error("{0}")]
    Invalid(String),
    /// A stored label that is not one of its SQL enum type's: the store's error.
    #[error("pg_baostock store: {label:?} is not a label of {sql_type}")]
    UnknownLabel { label: String, sql_type: &'static str },
    /// A state move to a state it may not enter: a bug of the caller, the store's error.
    #[error("pg_baostock store: a move out of {from:?} may not enter {to}")]
    NotAMove { from: Vec<&'static str>, to: &'static str },
}

pub type CoreResult<T> = Result<T, CoreError>;
