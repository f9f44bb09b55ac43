//! The Baostock wire protocol.
//!
//! * [`frame`]: the byte-level framing (header, crc, plain and zlib-compressed frames),
//!   incremental and bounded by [`Limits`], with no I/O.
//! * [`request`] and [`reply`]: typed requests and responses on top of the frames.
//! * [`report`]: the report kinds (fundamentals, dividends, macro series), their fields and rows.
//! * [`client`] (feature `client`): an async tokio client with sessions, paging, timeouts,
//!   reconnects, pacing and error classification.
//!
//! ```
//! use baostock::{decode_reply, Limits, Reply, Request};
//! use baostock::frame::{encode_response, SERVER_VERSION, MsgType};
//!
//! let req = Request::Login { user: "anonymous".into(), password: "123456".into(), options: "0".into() };
//! assert!(req.encode("00.9.10").starts_with(b"00.9.10\x0100\x010000000024login"));
//!
//! let answer = encode_response(SERVER_VERSION, MsgType::LOGIN_REPLY,
//!     "0\x01success\x01login\x01anonymous\x0120260422163759563");
//! // A partial frame decodes to `None`; the whole frame to the reply and its length.
//! assert_eq!(decode_reply(&answer[..30], &Limits::default()).unwrap(), None);
//! let (reply, used) = decode_reply(&answer, &Limits::default()).unwrap().unwrap();
//! assert_eq!(used, answer.len());
//! assert!(matches!(reply, Reply::Login { .. }));
//! ```

pub mod error;
pub mod frame;
pub mod json;
pub mod limits;
pub mod reply;
pub mod report;
pub mod request;
pub mod value;

#[cfg(feature = "client")]
pub mod client;

pub use error::DecodeError;
pub use limits::Limits;
pub use reply::{decode_reply, Data, Reply, ServerError, Table};
pub use report::{Report, ReportKind, ReportQuery};
pub use request::{HistoryKQuery, Page, Request, Secret, StockIndex};
pub use value::{AdjustFlag, Frequency};
