//! Rows written through Postgres' own COPY machinery (`BeginCopyFrom` / `CopyFrom`), fed from
//! memory in COPY's text format: the store's fast path for rows that are not stored yet.

use std::cell::RefCell;
use std::ffi::{c_char, c_int, c_void, CString};

use baostock::value::Decimal;
use pgrx::pg_sys;

use crate::error::{SyncError, SyncResult};

thread_local! {
    /// What the running COPY reads, and how far it has read (a backend runs one at a time).
    static FEED: RefCell<(Vec<u8>, usize)> = const { RefCell::new((Vec::new(), 0)) };
}

/// COPY's data source: the next bytes of `FEED`, 0 at the end.
unsafe extern "C-unwind" fn feed(outbuf: *mut c_void, _minread: c_int, maxread: c_int) -> c_int {
    FEED.with(|f| {
        let mut f = f.borrow_mut();
        let (data, pos) = &mut *f;
        let n = (data.len() - *pos).min(usize::try_from(maxread).unwrap_or(0));
        // SAFETY: COPY gives a buffer of at least `maxread` bytes; `n` is no more.
        unsafe { std::ptr::copy_nonoverlapping(data.as_ptr().add(*pos), outbuf.cast::<u8>(), n) };
        *pos += n;
        c_int::try_from(n).unwrap_or(0)
    })
}

fn c_string(s: &str) -> SyncResult<*mut c_char> {
    let c = CString::new(s).map_err(|_| SyncError::Store(format!("pg_baostock store: a NUL in {s:?}")))?;
    // SAFETY: pstrdup copies into the current memory context, which outlives the COPY.
    Ok(unsafe { pg_sys::pstrdup(c.as_ptr()) })
}

/// COPYs `text` (COPY's text format: tab-separated, `\N` for NULL, a line a row) into the
/// columns of `table` (`schema.name`, or a name on the search path); returns the rows copied.
/// Raises what COPY raises (a unique violation first of all): call it in a subtransaction.
pub fn copy_in(table: &str, columns: &[&str], text: Vec<u8>) -> SyncResult<u64> {
    let (schema, name) = match table.split_once('.') {
        Some((s, n)) => (Some(c_string(s)?), c_string(n)?),
        None => (None, c_string(table)?),
    };
    let mut names: *mut pg_sys::List = std::ptr::null_mut();
    for c in columns {
        let value = c_string(c)?;
        // SAFETY: makeString and lappend allocate in the current memory context.
        names = unsafe { pg_sys::lappend(names, pg_sys::makeString(value).cast()) };
    }
    FEED.with(|f| *f.borrow_mut() = (text, 0));
    let lock = pg_sys::RowExclusiveLock as pg_sys::LOCKMODE;
    // SAFETY: what DoCopy does for COPY ... FROM, with a callback as the source: the relation
    // opened and locked, a range table with it as entry 1 (CopyFrom's result relation), then
    // BeginCopyFrom / CopyFrom / EndCopyFrom, and the relation closed (its lock kept to the
    // end of the transaction). An ERROR in between unwinds to the caller's subtransaction,
    // whose abort releases the relation and frees the copy's memory.
    let copied = unsafe {
        let rv = pg_sys::makeRangeVar(schema.unwrap_or(std::ptr::null_mut()), name, -1);
        let rel = pg_sys::table_openrv(rv, lock);
        let pstate = pg_sys::make_parsestate(std::ptr::null_mut());
        let item = pg_sys::addRangeTableEntryForRelation(pstate, rel, lock, std::ptr::null_mut(), false, false);
        (*(*item).p_rte).requiredPerms = pg_sys::ACL_INSERT as pg_sys::AclMode;
        let cstate = pg_sys::BeginCopyFrom(
            pstate,
            rel,
            std::ptr::null_mut(),
            std::ptr::null(),
            false,
            Some(feed),
            names,
            std::ptr::null_mut(),
        );
        let n = pg_sys::CopyFrom(cstate);
        pg_sys::EndCopyFrom(cstate);
        pg_sys::free_parsestate(pstate);
        pg_sys::table_close(rel, pg_sys::NoLock as pg_sys::LOCKMODE);
        n
    };
    FEED.with(|f| *f.borrow_mut() = (Vec::new(), 0));
    Ok(copied)
}

/// A text value for COPY: backslash, tab, newline and carriage return escaped.
pub fn push_text(out: &mut Vec<u8>, s: &str) {
    for b in s.bytes() {
        match b {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\t' => out.extend_from_slice(b"\\t"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b => out.push(b),
        }
    }
}

pub fn push_opt<T: std::fmt::Display>(out: &mut Vec<u8>, v: Option<T>) {
    use std::io::Write;
    match v {
        Some(v) => {
            let _ = write!(out, "{v}");
        }
        None => out.extend_from_slice(b"\\N"),
    }
}

/// An integer as `Display` writes it, without the formatting machinery.
pub fn push_int(out: &mut Vec<u8>, v: i64) {
    if v < 0 {
        out.push(b'-');
    }
    let mut digits = [0u8; 20];
    let len = digits_of(v.unsigned_abs(), &mut digits);
    out.extend(digits[..len].iter().rev());
}

/// The decimal digits of `n`, least significant first; returns how many.
fn digits_of(mut n: u64, digits: &mut [u8]) -> usize {
    let mut len = 0;
    loop {
        digits[len] = b'0' + (n % 10) as u8;
        n /= 10;
        len += 1;
        if n == 0 {
            return len;
        }
    }
}

/// A date as `%Y-%m-%d` writes it (the only format COPY gets from the store).
pub fn push_date(out: &mut Vec<u8>, d: chrono::NaiveDate) {
    use chrono::Datelike;
    let y = d.year();
    if !(0..=9999).contains(&y) {
        use std::io::Write;
        let _ = write!(out, "{}", d.format("%Y-%m-%d"));
        return;
    }
    let two = |v: u32| [b'0' + (v / 10) as u8, b'0' + (v % 10) as u8];
    let y = y as u32;
    out.extend_from_slice(&two(y / 100));
    out.extend_from_slice(&two(y % 100));
    out.push(b'-');
    out.extend_from_slice(&two(d.month()));
    out.push(b'-');
    out.extend_from_slice(&two(d.day()));
}

/// A decimal as its `Display` writes it (the scale kept, `-` for a negative sign), without
/// the formatting machinery: the store formats millions of them (mantissas that fit 64 bits,
/// every price and amount, without 128-bit division).
pub fn push_decimal(out: &mut Vec<u8>, d: &Decimal) {
    if d.is_sign_negative() {
        out.push(b'-');
    }
    let mut digits = [0u8; 40];
    let m = d.mantissa().unsigned_abs();
    let mut len = match u64::try_from(m) {
        Ok(n) => digits_of(n, &mut digits),
        Err(_) => {
            let mut n = m;
            let mut len = 0;
            while n > 0 {
                digits[len] = b'0' + (n % 10) as u8;
                n /= 10;
                len += 1;
            }
            len
        }
    };
    let scale = d.scale() as usize;
    len = len.max(scale + 1);
    for i in (0..len).rev() {
        out.push(digits[i].max(b'0'));
        if i == scale && scale > 0 {
            out.push(b'.');
        }
    }
}

pub fn push_bool(out: &mut Vec<u8>, v: Option<bool>) {
    out.extend_from_slice(match v {
        Some(true) => b"t",
        Some(false) => b"f",
        None => b"\\N",
    });
}

/// FNV-1a, 64 bits: the digest of a row's values (stable across versions: it is stored).
fn fnv1a(bytes: &[u8]) -> i64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h as i64
}

/// A row the store writes through COPY into a table that has a unique key, a `row_hash` and
/// an `updated_at`.
pub trait CopyRow {
    /// The columns a row fills with their SQL types, in COPY order: the key first (`KEY` of
    /// them), `row_hash` last. Columns outside the key are never free text (an update splits
    /// a line on tabs without unescaping).
    const COLUMNS: &'static [(&'static str, &'static str)];
    /// How many of `COLUMNS` make the key.
    const KEY: usize;
    /// The key, to order rows and keep the last of a key sent twice.
    type Key<'a>: Ord
    where
        Self: 'a;
    fn key(&self) -> Self::Key<'_>;
    /// Key column `i` as text, in its type's input format.
    fn key_text(&self, i: usize) -> String;
    /// The values of every column but `row_hash` in COPY's text format, tab-separated.
    fn push_values(&self, out: &mut Vec<u8>);
}

/// The names of a row type's columns.
pub fn names<R: CopyRow>() -> Vec<&'static str> {
    R::COLUMNS.iter().map(|(n, _)| *n).collect()
}

/// Rows in COPY's text format, each line with its digest, kept apart so that any subset can
/// be copied again without formatting it twice.
pub struct Lines {
    text: Vec<u8>,
    /// Where each row's line ends in `text` (after its newline).
    ends: Vec<usize>,
    pub hashes: Vec<i64>,
}

impl Lines {
    pub fn new<R: CopyRow>(rows: &[&R]) -> Lines {
        let mut text = Vec::with_capacity(rows.len() * 180);
        let (mut ends, mut hashes) = (Vec::with_capacity(rows.len()), Vec::with_capacity(rows.len()));
        for r in rows {
            let start = text.len();
            r.push_values(&mut text);
            let h = fnv1a(&text[start..]);
            text.push(b'\t');
            push_int(&mut text, h);
            text.push(b'\n');
            ends.push(text.len());
            hashes.push(h);
        }
        Lines { text, ends, hashes }
    }

    /// Every line.
    pub fn all(&self) -> Vec<u8> {
        self.text.clone()
    }

    /// The lines of rows `picked` (indexes), in that order.
    pub fn picked(&self, picked: impl Iterator<Item = usize>) -> Vec<u8> {
        let mut out = Vec::new();
        for i in picked {
            let start = if i == 0 { 0 } else { self.ends[i - 1] };
            out.extend_from_slice(&self.text[start..self.ends[i]]);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_values_are_escaped_and_nulls_are_backslash_n() {
        let mut out = Vec::new();
        push_text(&mut out, "a\tb\\c\nd");
        assert_eq!(out, b"a\\tb\\\\c\\nd");
        let mut out = Vec::new();
        push_opt::<i64>(&mut out, None);
        push_bool(&mut out, Some(false));
        assert_eq!(out, b"\\Nf");
    }

    #[test]
    fn decimals_are_written_as_display_writes_them() {
        let mut values = vec![
            Decimal::ZERO,
            Decimal::new(0, 4),
            -Decimal::new(0, 2),
            Decimal::MAX,
            Decimal::MIN,
        ];
        for scale in 0..=28 {
            for m in [
                1i64,
                7,
                10,
                105_000,
                -302_100,
                1_234_567_890_000,
                i64::MAX,
                i64::MIN + 1,
            ] {
                values.push(Decimal::new(m, scale));
            }
        }
        for d in values {
            let mut out = Vec::new();
            push_decimal(&mut out, &d);
            assert_eq!(String::from_utf8(out).unwrap(), d.to_string(), "{d:?}");
        }
    }

    #[test]
    fn integers_and_dates_are_written_as_display_and_format_write_them() {
        for v in [0i64, 1, -1, 9, 10, -10, 99, 1_000_000, i64::MAX, i64::MIN, i64::MIN + 1] {
            let mut out = Vec::new();
            push_int(&mut out, v);
            assert_eq!(String::from_utf8(out).unwrap(), v.to_string());
        }
        let mut d = chrono::NaiveDate::from_ymd_opt(1, 1, 1).unwrap();
        let end = chrono::NaiveDate::from_ymd_opt(9999, 12, 31).unwrap();
        let mut days = vec![chrono::NaiveDate::MIN, chrono::NaiveDate::MAX, end];
        while d < end {
            days.push(d);
            d = d + chrono::Days::new(97);
        }
        for d in days {
            let mut out = Vec::new();
            push_date(&mut out, d);
            assert_eq!(String::from_utf8(out).unwrap(), d.format("%Y-%m-%d").to_string());
        }
    }
}
