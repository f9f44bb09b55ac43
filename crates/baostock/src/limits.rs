//! Size bounds that keep a hostile or broken peer from exhausting memory.

/// Caps applied while decoding. Every read and allocation of the codec is bounded by these.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest frame on the wire, header and trailer included.
    pub max_frame_bytes: usize,
    /// Largest body after inflating a compressed frame (stops zip bombs).
    pub max_inflated_bytes: usize,
    /// Most rows one response may carry.
    pub max_rows: usize,
    /// Check the crc of plain frames (the real server's always matched in the captures).
    pub verify_crc: bool,
}

impl Default for Limits {
    /// Room for the largest real answers (an all-market day is ~1.2 MB inflated, the
    /// 5,638-row stock list 189 kB) with a wide margin.
    fn default() -> Self {
        Limits {
            max_frame_bytes: 64 << 20,
            max_inflated_bytes: 256 << 20,
            max_rows: 1_000_000,
            verify_crc: true,
        }
    }
}
