//! Framing: the 21-byte header, request frames, plain and compressed response frames.
//!
//! Everything here works on byte slices and never does I/O. Decoders are incremental: they
//! return `Ok(None)` while the buffer holds only part of a frame, and `Ok(Some((frame, n)))`
//! once the first `n` bytes hold a whole frame.

use std::fmt;
use std::io::Write;

use flate2::write::ZlibEncoder;
use flate2::{Compression, Decompress, FlushDecompress, Status};

use crate::error::DecodeError;
use crate::limits::Limits;

/// Length of every frame header: version (7), `\x01`, type (2), `\x01`, body length (10).
pub const HEADER_LEN: usize = 21;
/// Separator between header fields and between body fields.
pub const SEP: char = '\x01';
/// Trailer that ends every response frame.
pub const END_MARKER: &[u8] = b"<![CDATA[]]>\n";
/// Version string the real server puts in its responses.
pub const SERVER_VERSION: &str = "00.9.00";
/// Version string of the official Python client 0.9.4.
pub const CLIENT_VERSION: &str = "00.9.40";
/// Longest `\x01<crc decimal>` run accepted after a compressed payload (crc is at most 10 digits).
const MAX_CRC_TAIL: usize = 1 + 10;

/// A two-character message type such as `95` or `9C`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MsgType([u8; 2]);

impl MsgType {
    pub const LOGIN: MsgType = MsgType(*b"00");
    pub const LOGIN_REPLY: MsgType = MsgType(*b"01");
    pub const LOGOUT: MsgType = MsgType(*b"02");
    pub const LOGOUT_REPLY: MsgType = MsgType(*b"03");
    /// Error frame: body is `code \x01 message`.
    pub const ERROR: MsgType = MsgType(*b"04");
    /// `query_dividend_data`.
    pub const DIVIDEND_DATA: MsgType = MsgType(*b"13");
    pub const ADJUST_FACTOR: MsgType = MsgType(*b"15");
    /// `query_profit_data` and the other quarterly reports (17..27, odd).
    pub const PROFIT_DATA: MsgType = MsgType(*b"17");
    pub const OPERATION_DATA: MsgType = MsgType(*b"19");
    pub const GROWTH_DATA: MsgType = MsgType(*b"21");
    pub const DUPONT_DATA: MsgType = MsgType(*b"23");
    pub const BALANCE_DATA: MsgType = MsgType(*b"25");
    pub const CASH_FLOW_DATA: MsgType = MsgType(*b"27");
    /// `query_performance_express_report`.
    pub const EXPRESS_REPORT: MsgType = MsgType(*b"29");
    /// `query_forecast_report`.
    pub const FORECAST_REPORT: MsgType = MsgType(*b"31");
    pub const TRADE_DATES: MsgType = MsgType(*b"33");
    pub const ALL_STOCK: MsgType = MsgType(*b"35");
    pub const STOCK_BASIC: MsgType = MsgType(*b"45");
    /// `query_deposit_rate_data`.
    pub const DEPOSIT_RATE: MsgType = MsgType(*b"47");
    /// `query_loan_rate_data`.
    pub const LOAN_RATE: MsgType = MsgType(*b"49");
    /// `query_required_reserve_ratio_data`.
    pub const RESERVE_RATIO: MsgType = MsgType(*b"51");
    /// `query_money_supply_data_month`.
    pub const MONEY_SUPPLY_MONTH: MsgType = MsgType(*b"53");
    /// `query_money_supply_data_year`.
    pub const MONEY_SUPPLY_YEAR: MsgType = MsgType(*b"55");
    /// The answer to both money-supply queries (53 too, though the client expects 54).
    pub const MONEY_SUPPLY_REPLY: MsgType = MsgType(*b"56");
    /// `query_stock_industry`.
    pub const STOCK_INDUSTRY: MsgType = MsgType(*b"59");
    /// `query_hs300_stocks`.
    pub const HS300_STOCKS: MsgType = MsgType(*b"61");
    /// `query_sz50_stocks`.
    pub const SZ50_STOCKS: MsgType = MsgType(*b"63");
    /// `query_zz500_stocks`.
    pub const ZZ500_STOCKS: MsgType = MsgType(*b"65");
    pub const HISTORY_K: MsgType = MsgType(*b"95");
    pub const HISTORY_K_REPLY: MsgType = MsgType(*b"96");
    pub const DAILY_ASTOCK: MsgType = MsgType(*b"98");
    pub const DAILY_ASTOCK_REPLY: MsgType = MsgType(*b"99");
    pub const DAILY_ETF: MsgType = MsgType(*b"9A");
    pub const DAILY_ETF_REPLY: MsgType = MsgType(*b"9B");
    pub const DAILY_ADJUST_FACTOR: MsgType = MsgType(*b"9C");
    pub const DAILY_ADJUST_FACTOR_REPLY: MsgType = MsgType(*b"9D");

    /// Builds a type from two ASCII alphanumeric bytes.
    pub fn new(bytes: [u8; 2]) -> Result<Self, DecodeError> {
        if bytes.iter().all(u8::is_ascii_alphanumeric) {
            Ok(MsgType(bytes))
        } else {
            Err(DecodeError::BadHeader(
                "message type is not two alphanumeric characters",
            ))
        }
    }

    /// The type as text.
    pub fn as_str(&self) -> &str {
        // Both bytes are ASCII alphanumerics by construction.
        std::str::from_utf8(&self.0).unwrap_or("??")
    }

    /// Whether a response of this type carries a zlib-compressed body.
    pub fn is_compressed_reply(&self) -> bool {
        matches!(&self.0, b"96" | b"99" | b"9B" | b"9D")
    }

    /// The type the server normally answers a request of this type with: the next type in
    /// the protocol's numbering (`95`→`96`, `98`→`99`, `9A`→`9B`, `19`→`20`). The real
    /// server does not always follow it (it answers `53` with `56`).
    pub fn reply_type(&self) -> MsgType {
        let [a, b] = self.0;
        match b {
            b'0'..=b'8' | b'A'..=b'E' => MsgType([a, b + 1]),
            b'9' if a == b'9' => MsgType([a, b'A']),
            b'9' if a < b'9' => MsgType([a + 1, b'0']),
            _ => *self,
        }
    }
}

impl fmt::Debug for MsgType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MsgType({})", self.as_str())
    }
}

impl fmt::Display for MsgType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The parsed 21-byte header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    /// Seven-character protocol version, e.g. `00.9.00`.
    pub version: String,
    pub msg_type: MsgType,
    /// Body length: characters of the body for plain frames, zlib bytes for compressed ones.
    pub length: usize,
}

impl Header {
    /// Parses a header from the first 21 bytes of `buf` (which must hold at least that many).
    pub fn parse(buf: &[u8]) -> Result<Header, DecodeError> {
        let h = buf.get(..HEADER_LEN).ok_or(DecodeError::BadHeader("short header"))?;
        let version = &h[..7];
        if !version.iter().all(|b| b.is_ascii_graphic()) {
            return Err(DecodeError::BadHeader("version is not printable ASCII"));
        }
        if h[7] != 0x01 || h[10] != 0x01 {
            return Err(DecodeError::BadHeader("missing separator"));
        }
        let msg_type = MsgType::new([h[8], h[9]])?;
        let digits = &h[11..21];
        if !digits.iter().all(u8::is_ascii_digit) {
            return Err(DecodeError::BadHeader("length is not 10 digits"));
        }
        let length = digits.iter().fold(0usize, |n, d| {
            n.saturating_mul(10).saturating_add(usize::from(d - b'0'))
        });
        Ok(Header {
            version: String::from_utf8_lossy(version).into_owned(),
            msg_type,
            length,
        })
    }

    /// The fewest bytes the whole response frame this header starts can take: the header,
    /// the declared body (a character is at least one byte; a compressed body is exactly
    /// `length` zlib bytes), a one-digit crc field and the trailer.
    pub fn min_response_len(&self) -> usize {
        // Plain: `\x01d<![CDATA[]]>\n`; compressed: `\x01d\n<![CDATA[]]>\n`.
        let tail = if self.msg_type.is_compressed_reply() { 3 } else { 2 } + END_MARKER.len();
        HEADER_LEN.saturating_add(self.length).saturating_add(tail)
    }

    fn encode(version: &str, msg_type: MsgType, length: usize) -> String {
        format!("{version}\x01{msg_type}\x01{length:010}")
    }
}

/// One decoded frame: header fields and the body text (inflated when it was compressed).
/// `Debug` leaves out the body of login requests, which carries the password.
#[derive(Clone, PartialEq, Eq)]
pub struct Frame {
    pub version: String,
    pub msg_type: MsgType,
    /// The body, without the crc and the trailer.
    pub body: String,
}

impl fmt::Debug for Frame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Frame");
        d.field("version", &self.version).field("msg_type", &self.msg_type);
        if self.msg_type == MsgType::LOGIN {
            d.field("body", &"<login body redacted>")
        } else {
            d.field("body", &self.body)
        }
        .finish()
    }
}

impl Frame {
    /// The body split on `\x01`.
    pub fn fields(&self) -> Vec<&str> {
        self.body.split(SEP).collect()
    }
}

/// crc32 (IEEE, as zlib computes it) of `parts` concatenated.
pub fn crc32(parts: &[&[u8]]) -> u32 {
    let mut h = crc32fast::Hasher::new();
    for p in parts {
        h.update(p);
    }
    h.finalize()
}

fn check_version(version: &str) {
    debug_assert!(
        version.len() == 7 && version.is_ascii(),
        "version must be 7 ASCII characters"
    );
}

/// Encodes a request frame: header, fields joined by `\x01`, `\x01`, crc, `\n`.
pub fn encode_request(version: &str, msg_type: MsgType, fields: &[&str]) -> Vec<u8> {
    check_version(version);
    let body = fields.join("\x01");
    let header = Header::encode(version, msg_type, body.chars().count());
    let crc = crc32(&[header.as_bytes(), body.as_bytes()]);
    format!("{header}{body}\x01{crc}\n").into_bytes()
}

/// Decodes one request frame (the server side). Requests end at their first `\n`.
pub fn decode_request(buf: &[u8], limits: &Limits) -> Result<Option<(Frame, usize)>, DecodeError> {
    if buf.len() < HEADER_LEN {
        return Ok(None);
    }
    let header = Header::parse(buf)?;
    // A body of n characters is at most 4n bytes; then `\x01`, 10 crc digits and `\n`.
    let max_len = HEADER_LEN + header.length.saturating_mul(4) + MAX_CRC_TAIL + 1;
    let Some(nl) = buf.iter().position(|&b| b == b'\n') else {
        if buf.len() >= max_len || buf.len() > limits.max_frame_bytes {
            return Err(DecodeError::FrameTooLarge {
                limit: limits.max_frame_bytes,
            });
        }
        return Ok(None);
    };
    if nl + 1 > limits.max_frame_bytes {
        return Err(DecodeError::FrameTooLarge {
            limit: limits.max_frame_bytes,
        });
    }
    let body = checked_body(&buf[..HEADER_LEN], &buf[HEADER_LEN..nl], header.length, true)?;
    Ok(Some((
        Frame {
            version: header.version,
            msg_type: header.msg_type,
            body: body.to_owned(),
        },
        nl + 1,
    )))
}

/// Encodes a response frame as the real server does: compressed types get a zlib (level 1)
/// body and the `\x01<crc>\n<![CDATA[]]>\n` trailer, the rest `\x01<crc><![CDATA[]]>\n`.
pub fn encode_response(version: &str, msg_type: MsgType, body: &str) -> Vec<u8> {
    check_version(version);
    if msg_type.is_compressed_reply() {
        let mut z = ZlibEncoder::new(Vec::with_capacity(body.len() / 4 + 64), Compression::new(1));
        // Writing into a Vec cannot fail.
        let _ = z.write_all(body.as_bytes());
        let zipped = z.finish().unwrap_or_default();
        let header = Header::encode(version, msg_type, zipped.len());
        // The real server's crc here matches no known input; this one covers header + payload.
        let crc = crc32(&[header.as_bytes(), &zipped]);
        let mut out = Vec::with_capacity(HEADER_LEN + zipped.len() + 32);
        out.extend_from_slice(header.as_bytes());
        out.extend_from_slice(&zipped);
        out.extend_from_slice(format!("\x01{crc}\n").as_bytes());
        out.extend_from_slice(END_MARKER);
        out
    } else {
        let header = Header::encode(version, msg_type, body.chars().count());
        let crc = crc32(&[header.as_bytes(), body.as_bytes()]);
        let mut out = format!("{header}{body}\x01{crc}").into_bytes();
        out.extend_from_slice(END_MARKER);
        out
    }
}

/// The length a response frame declares, from its header alone: `Ok(None)` while `buf` holds
/// fewer than [`HEADER_LEN`] bytes, then the **fewest bytes the whole frame can take**
/// ([`Header::min_response_len`]: header, declared body, shortest crc field and trailer), or
/// `Err(BadHeader)` when the header is malformed.
///
/// A reader can call it as soon as 21 bytes are in and stop when the answer exceeds
/// [`Limits::max_frame_bytes`] (which [`decode_response`] also does, returning
/// [`DecodeError::FrameTooLarge`] before the body arrives), or use it to know how many
/// bytes it must wait for at least. A plain body's length counts characters, so the frame
/// may be longer, up to 4 bytes a character.
pub fn declared_len(buf: &[u8]) -> Result<Option<usize>, DecodeError> {
    if buf.len() < HEADER_LEN {
        return Ok(None);
    }
    Ok(Some(Header::parse(buf)?.min_response_len()))
}

/// Decodes one response frame from the start of `buf`.
///
/// Plain frames have their crc and character length checked; compressed frames are inflated
/// within `limits.max_inflated_bytes` and their crc is ignored (the real server's matches no
/// known input). As soon as the header is complete, a frame that cannot fit in
/// `limits.max_frame_bytes` ([`declared_len`]) is [`DecodeError::FrameTooLarge`], even
/// before its body has arrived.
pub fn decode_response(buf: &[u8], limits: &Limits) -> Result<Option<(Frame, usize)>, DecodeError> {
    if buf.len() < HEADER_LEN {
        return Ok(None);
    }
    let header = Header::parse(buf)?;
    if header.min_response_len() > limits.max_frame_bytes {
        return Err(DecodeError::FrameTooLarge {
            limit: limits.max_frame_bytes,
        });
    }
    if header.msg_type.is_compressed_reply() {
        decode_compressed(buf, header, limits)
    } else {
        decode_plain(buf, header, limits)
    }
}

fn decode_plain(buf: &[u8], header: Header, limits: &Limits) -> Result<Option<(Frame, usize)>, DecodeError> {
    // Longest frame the declared length allows: 4 bytes a character, `\x01`, crc, trailer.
    let max_len = HEADER_LEN + header.length.saturating_mul(4) + MAX_CRC_TAIL + END_MARKER.len();
    // Plain bodies never contain `\n`, so the first `\n` ends the frame.
    let Some(nl) = buf[HEADER_LEN..]
        .iter()
        .position(|&b| b == b'\n')
        .map(|p| p + HEADER_LEN)
    else {
        if buf.len() >= max_len {
            return Err(DecodeError::BadLength {
                declared: header.length,
            });
        }
        if buf.len() > limits.max_frame_bytes {
            return Err(DecodeError::FrameTooLarge {
                limit: limits.max_frame_bytes,
            });
        }
        return Ok(None);
    };
    let end = nl + 1;
    if end > limits.max_frame_bytes {
        return Err(DecodeError::FrameTooLarge {
            limit: limits.max_frame_bytes,
        });
    }
    let content = buf[..end].strip_suffix(END_MARKER).ok_or(DecodeError::MissingTrailer)?;
    let body = checked_body(
        &buf[..HEADER_LEN],
        &content[HEADER_LEN..],
        header.length,
        limits.verify_crc,
    )?;
    Ok(Some((
        Frame {
            version: header.version,
            msg_type: header.msg_type,
            body: body.to_owned(),
        },
        end,
    )))
}

fn decode_compressed(buf: &[u8], header: Header, limits: &Limits) -> Result<Option<(Frame, usize)>, DecodeError> {
    let payload_end = HEADER_LEN
        .checked_add(header.length)
        .filter(|&n| n <= limits.max_frame_bytes)
        .ok_or(DecodeError::FrameTooLarge {
            limit: limits.max_frame_bytes,
        })?;
    if buf.len() < payload_end {
        return Ok(None);
    }
    // `\x01<crc>\n` follows the payload.
    let tail = &buf[payload_end..];
    let Some(nl) = tail.iter().take(MAX_CRC_TAIL + 1).position(|&b| b == b'\n') else {
        if tail.len() > MAX_CRC_TAIL {
            return Err(DecodeError::MissingCrc);
        }
        return Ok(None);
    };
    let crc_part = &tail[..nl];
    if crc_part.first() != Some(&0x01) {
        return Err(DecodeError::MissingCrc);
    }
    parse_crc(&crc_part[1..])?;
    let trailer_start = payload_end + nl + 1;
    let end = trailer_start + END_MARKER.len();
    let available = &buf[trailer_start..buf.len().min(end)];
    if !END_MARKER.starts_with(available) {
        return Err(DecodeError::MissingTrailer);
    }
    if buf.len() < end {
        return Ok(None);
    }
    if end > limits.max_frame_bytes {
        return Err(DecodeError::FrameTooLarge {
            limit: limits.max_frame_bytes,
        });
    }
    let inflated = inflate(&buf[HEADER_LEN..payload_end], limits.max_inflated_bytes)?;
    let body = String::from_utf8(inflated).map_err(|_| DecodeError::InvalidUtf8)?;
    Ok(Some((
        Frame {
            version: header.version,
            msg_type: header.msg_type,
            body,
        },
        end,
    )))
}

/// Inflates a zlib stream, failing as soon as the output would pass `limit` bytes.
///
/// The output buffer doubles as it fills but never beyond `limit + 1` bytes, so inflating
/// allocates at most 1.5 × (`limit` + 1) bytes at once (old and new buffer while it moves)
/// plus the inflater's state.
pub fn inflate(input: &[u8], limit: usize) -> Result<Vec<u8>, DecodeError> {
    const FIRST: usize = 64 * 1024;
    let cap_max = limit.saturating_add(1);
    let mut z = Decompress::new(true);
    let mut out: Vec<u8> = Vec::new();
    loop {
        if out.len() == out.capacity() {
            // Full at `limit + 1`: the output passed the limit.
            if out.len() >= cap_max {
                return Err(DecodeError::InflatedTooLarge { limit });
            }
            let grown = out.capacity().saturating_mul(2).clamp(FIRST.min(cap_max), cap_max);
            out.reserve_exact(grown - out.len());
        }
        let in_before = total(z.total_in());
        let out_before = out.len();
        let status = z
            .decompress_vec(&input[in_before.min(input.len())..], &mut out, FlushDecompress::None)
            .map_err(|_| DecodeError::CorruptZlib)?;
        if out.len() > limit {
            return Err(DecodeError::InflatedTooLarge { limit });
        }
        match status {
            // Bytes left after the end of the stream mean the length or the stream is wrong.
            Status::StreamEnd if total(z.total_in()) == input.len() => return Ok(out),
            Status::StreamEnd => return Err(DecodeError::CorruptZlib),
            // No progress with all input offered and room to write: the stream is cut short.
            _ if out.len() == out_before && total(z.total_in()) == in_before && out.len() < out.capacity() => {
                return Err(DecodeError::CorruptZlib)
            }
            _ => {}
        }
    }
}

fn total(n: u64) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}

/// Splits `body \x01 crc` (the bytes after the header), checks the body is UTF-8 of the
/// declared character length, and checks the crc over header + body when `verify`.
fn checked_body<'a>(header: &[u8], content: &'a [u8], length: usize, verify: bool) -> Result<&'a str, DecodeError> {
    let sep = content
        .iter()
        .rposition(|&b| b == 0x01)
        .ok_or(DecodeError::MissingCrc)?;
    let body = std::str::from_utf8(&content[..sep]).map_err(|_| DecodeError::InvalidUtf8)?;
    check_char_length(body, length)?;
    let declared = parse_crc(&content[sep + 1..])?;
    let actual = crc32(&[header, body.as_bytes()]);
    if verify && declared != actual {
        return Err(DecodeError::CrcMismatch { declared, actual });
    }
    Ok(body)
}

fn check_char_length(body: &str, declared: usize) -> Result<(), DecodeError> {
    if body.chars().count() == declared {
        Ok(())
    } else {
        Err(DecodeError::BadLength { declared })
    }
}

fn parse_crc(digits: &[u8]) -> Result<u32, DecodeError> {
    if digits.is_empty() || digits.len() > 10 || !digits.iter().all(u8::is_ascii_digit) {
        return Err(DecodeError::MissingCrc);
    }
    let n = digits.iter().fold(0u64, |n, d| n * 10 + u64::from(d - b'0'));
    u32::try_from(n).map_err(|_| DecodeError::MissingCrc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reply_types_follow_the_protocol_numbering() {
        let pairs = [
            ("00", "01"),
            ("33", "34"),
            ("95", "96"),
            ("98", "99"),
            ("9A", "9B"),
            ("9C", "9D"),
            ("15", "16"),
        ];
        for (req, rep) in pairs {
            let t = MsgType::new(req.as_bytes().try_into().unwrap()).unwrap();
            assert_eq!(t.reply_type().as_str(), rep, "reply to {req}");
        }
    }

    #[test]
    fn plain_round_trip_counts_characters() {
        let body = "0\x01success\x01浦发银行";
        let bytes = encode_response(SERVER_VERSION, MsgType::new(*b"46").unwrap(), body);
        assert_eq!(&bytes[11..21], b"0000000014");
        let (frame, n) = decode_response(&bytes, &Limits::default()).unwrap().unwrap();
        assert_eq!(n, bytes.len());
        assert_eq!(frame.body, body);
    }

    #[test]
    fn inflate_stops_at_the_limit() {
        let body = "x".repeat(100_000);
        let bytes = encode_response(SERVER_VERSION, MsgType::HISTORY_K_REPLY, &body);
        let limits = Limits {
            max_inflated_bytes: 99_999,
            ..Limits::default()
        };
        assert_eq!(
            decode_response(&bytes, &limits),
            Err(DecodeError::InflatedTooLarge { limit: 99_999 })
        );
        let limits = Limits {
            max_inflated_bytes: 100_000,
            ..Limits::default()
        };
        assert_eq!(decode_response(&bytes, &limits).unwrap().unwrap().0.body, body);
    }

    #[test]
    fn a_frame_too_long_for_the_limit_fails_on_its_header_alone() {
        let limits = Limits {
            max_frame_bytes: 1000,
            ..Limits::default()
        };
        // Plain: header 21 + body + `\x01d` + trailer 13; compressed one `\n` more.
        for (ty, tail) in [("34", 2 + 13), ("96", 3 + 13)] {
            let fits = 1000 - HEADER_LEN - tail;
            let head = |len: usize| format!("00.9.00\x01{ty}\x01{len:010}").into_bytes();
            assert_eq!(declared_len(&head(fits)), Ok(Some(1000)), "{ty}");
            assert_eq!(decode_response(&head(fits), &limits), Ok(None), "{ty}");
            assert_eq!(
                decode_response(&head(fits + 1), &limits),
                Err(DecodeError::FrameTooLarge { limit: 1000 }),
                "{ty}"
            );
            assert_eq!(
                decode_response(&head(9_999_999_999), &Limits::default()),
                Err(DecodeError::FrameTooLarge {
                    limit: Limits::default().max_frame_bytes
                }),
                "{ty}"
            );
        }
        assert_eq!(declared_len(b"00.9.00\x0134\x01000000"), Ok(None));
        assert!(matches!(
            declared_len(b"00.9.00\x0134\x010000x00000"),
            Err(DecodeError::BadHeader(_))
        ));
        // The shortest real frame is exactly as long as declared_len says.
        let bytes = encode_response(SERVER_VERSION, MsgType::ERROR, "1\x01m");
        let crc_digits = bytes.len() - HEADER_LEN - 3 - 1 - END_MARKER.len();
        assert_eq!(declared_len(&bytes).unwrap().unwrap() + crc_digits - 1, bytes.len());
    }

    #[test]
    fn inflating_never_reserves_past_the_limit() {
        let body = "y".repeat(300_000);
        let bytes = encode_response(SERVER_VERSION, MsgType::HISTORY_K_REPLY, &body);
        let n: usize = std::str::from_utf8(&bytes[11..21]).unwrap().parse().unwrap();
        let zlib = &bytes[HEADER_LEN..HEADER_LEN + n];
        let out = inflate(zlib, 300_000).unwrap();
        assert_eq!(out.len(), 300_000);
        assert!(out.capacity() <= 300_001, "{}", out.capacity());
        assert_eq!(
            inflate(zlib, 299_999),
            Err(DecodeError::InflatedTooLarge { limit: 299_999 })
        );
        assert_eq!(inflate(zlib, 0), Err(DecodeError::InflatedTooLarge { limit: 0 }));
        assert_eq!(inflate(&zlib[..n - 1], 1 << 20), Err(DecodeError::CorruptZlib));
        let empty = encode_response(SERVER_VERSION, MsgType::HISTORY_K_REPLY, "");
        let n: usize = std::str::from_utf8(&empty[11..21]).unwrap().parse().unwrap();
        assert_eq!(inflate(&empty[HEADER_LEN..HEADER_LEN + n], 0), Ok(Vec::new()));
    }
}
