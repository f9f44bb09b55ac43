//! Size bounds that keep a hostile or broken peer from exhausting memory.
//!
//! # Memory bound of one decode
//!
//! [`decode_reply`](crate::decode_reply) allocates at most [`Limits::decode_memory_bound`]
//! bytes at once, besides the caller's input buffer (itself bounded by `max_frame_bytes` when
//! the caller stops reading on [`FrameTooLarge`](crate::DecodeError::FrameTooLarge)). With the
//! defaults that is about **82 MB** (78 MiB), whatever the input. Where it comes from:
//!
//! * The header is checked as soon as its 21 bytes are in: a frame whose declared length
//!   cannot fit in `max_frame_bytes` fails at once, before its body arrives.
//! * Inflating grows the output at most to `max_inflated_bytes + 1` (doubling, so the old and
//!   the new buffer while it moves: 1.5 ×), plus the inflater's state (under 256 KiB).
//! * Then the body (at most `max(max_frame_bytes, max_inflated_bytes + 1)` bytes) stays alive
//!   while the reply is built. The reply's strings (cells, echoed parameters, field names)
//!   are copies of disjoint parts of the body: at most the body's size again.
//! * The rows are first counted by a pass over the JSON that allocates nothing, which fails
//!   as soon as the count passes `max_rows` or `max_cells`; then they are built with exact
//!   capacities. Untyped rows take 24 bytes a cell plus 24 a row (at most 48 a cell); a typed
//!   row (a daily bar is 288 bytes) counts for at least as many cells as its type has fields
//!   (18 for a daily bar), which keeps every typed kind under 24 bytes a cell.
//! * Field lists and the body's `\x01` fields are bounded by `max_fields` (about 100 bytes of
//!   bookkeeping each).
//!
//! The bound counts the bytes asked of the allocator; the allocator's own overhead (about 16
//! bytes an allocation with glibc, one allocation a non-empty untyped cell) comes on top.
//! `tests/hostile_frames.rs` measures the peak with a counting global allocator.

/// Caps applied while decoding. Every read and allocation of the codec is bounded by these.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest frame on the wire, header and trailer included. A header declaring a longer
    /// frame is refused as soon as it is complete.
    pub max_frame_bytes: usize,
    /// Largest body after inflating a compressed frame (stops zip bombs).
    pub max_inflated_bytes: usize,
    /// Most rows one response may carry. The client also applies it to the rows of every page
    /// of one query together.
    pub max_rows: usize,
    /// Most cells (rows × fields) one response may carry, counted while the JSON is parsed
    /// and before any row is allocated. A typed row counts for at least the number of fields
    /// of its type (daily bar 18, weekly/monthly 11, minute 10, stock basic 6, adjust factor
    /// 5, listing 3, trade date 2), whatever fields were asked for.
    pub max_cells: usize,
    /// Most `\x01`-separated fields in a body, and most columns in a field list.
    pub max_fields: usize,
    /// Check the crc of plain frames (the real server's always matched in the captures).
    pub verify_crc: bool,
}

impl Default for Limits {
    /// A few times the largest real answers: an all-market day (98) is ~1.2 MB inflated and
    /// ~5,600 rows × 18 fields (~100,000 cells); a 95 page is at most 10,000 rows × 18 fields
    /// (180,000 cells); a minute page 10,000 × 10; the 5,638-row stock list 189 kB.
    fn default() -> Self {
        Limits {
            max_frame_bytes: 16 << 20,
            max_inflated_bytes: 16 << 20,
            max_rows: 1_000_000,
            max_cells: 1_000_000,
            max_fields: 256,
            verify_crc: true,
        }
    }
}

/// Bytes an untyped cell may take at most (its `Option<String>` and, for one-field rows, the
/// row's `Vec`); typed rows stay under it (checked by a unit test of `reply`).
pub(crate) const BYTES_PER_CELL: usize = 48;
/// Bookkeeping bytes a body field or column may take: the `&str` of the split body, the
/// `String` of a field name or echoed parameter, and one cell of the row being parsed.
pub(crate) const BYTES_PER_FIELD: usize = 128;
/// Inflater state and other fixed small allocations (header strings, an error's text).
const FIXED_BYTES: usize = 256 << 10;

impl Limits {
    /// The most bytes [`decode_reply`](crate::decode_reply) (and
    /// [`decode_response`](crate::frame::decode_response)) allocate at once under these
    /// limits, not counting the caller's input buffer; see the [module docs](self). About
    /// 82 MB with the defaults.
    pub fn decode_memory_bound(&self) -> usize {
        let inflating = self
            .max_inflated_bytes
            .saturating_add(1)
            .saturating_add(self.max_inflated_bytes / 2 + 1);
        let body = self.max_frame_bytes.max(self.max_inflated_bytes.saturating_add(1));
        let reply = body
            .saturating_mul(2)
            .saturating_add(self.max_cells.saturating_mul(BYTES_PER_CELL))
            .saturating_add(self.max_fields.saturating_add(1).saturating_mul(BYTES_PER_FIELD));
        inflating.max(reply).saturating_add(FIXED_BYTES)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_bound_is_under_100_mb() {
        let b = Limits::default().decode_memory_bound();
        assert!(b < 100_000_000, "{b}");
        assert!(b > 2 * (16 << 20), "{b}");
    }
}
