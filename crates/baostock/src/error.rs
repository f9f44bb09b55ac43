//! Errors of the codec. Each malformed input gets its own variant, so callers and tests can
//! tell a truncated frame from a corrupt one.

use thiserror::Error;

/// Why a frame or a body could not be decoded.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum DecodeError {
    #[error("malformed frame header: {0}")]
    BadHeader(&'static str),
    #[error("frame length field {declared} does not match the body")]
    BadLength { declared: usize },
    #[error("frame exceeds the limit of {limit} bytes")]
    FrameTooLarge { limit: usize },
    #[error("inflated body exceeds the limit of {limit} bytes")]
    InflatedTooLarge { limit: usize },
    #[error("compressed body is not a valid zlib stream")]
    CorruptZlib,
    #[error("frame is not valid UTF-8")]
    InvalidUtf8,
    #[error("frame has no crc field")]
    MissingCrc,
    #[error("crc mismatch: frame says {declared}, content has {actual}")]
    CrcMismatch { declared: u32, actual: u32 },
    #[error("frame does not end with the <![CDATA[]]> trailer")]
    MissingTrailer,
    #[error("body has {got} fields, at least {expected} expected")]
    MissingFields { expected: usize, got: usize },
    #[error("malformed JSON data at byte {offset}: {reason}")]
    Json { offset: usize, reason: &'static str },
    #[error("row {row} has {got} values but the field list has {expected}")]
    RowArity { row: usize, expected: usize, got: usize },
    #[error("response has more than {limit} rows")]
    TooManyRows { limit: usize },
    /// Rows × fields of one response over [`crate::Limits::max_cells`] (typed rows count at
    /// least the number of fields of their type).
    #[error("response has more than {limit} cells")]
    TooManyCells { limit: usize },
    /// A body with more `\x01`-separated fields, or a field list with more columns, than
    /// [`crate::Limits::max_fields`].
    #[error("response has more than {limit} fields")]
    TooManyFields { limit: usize },
    #[error("field list lacks required field {0:?}")]
    MissingColumn(&'static str),
    #[error("row {row}, field {field}: invalid value {value:?} ({reason})")]
    Value {
        row: usize,
        field: String,
        value: String,
        reason: &'static str,
    },
    #[error("request body is invalid: {0}")]
    BadRequest(String),
}
