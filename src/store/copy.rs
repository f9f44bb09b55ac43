//! Rows written through Postgres' own COPY machinery (`BeginCopyFrom` / `CopyFrom`), fed from
//! memory in COPY's text format: the store's fast path for rows that are not stored yet.

use std::cell::RefCell;
use std::ffi::{c_char, c_int, c_void, CString};

use baostock::reply::DailyBar;
use baostock::value::Decimal;
use pgrx::pg_sys;

use crate::error::{SyncError, SyncResult};

/// The columns of `baostock.daily_bars` a bar fills (`updated_at` takes its default).
pub const BAR_COLUMNS: &[&str] = &[
    "code",
    "date",
    "open",
    "high",
    "low",
    "close",
    "preclose",
    "volume",
    "amount",
    "adjustflag",
    "turn",
    "trade_status",
    "pct_chg",
    "pe_ttm",
    "pb_mrq",
    "ps_ttm",
    "pcf_ncf_ttm",
    "is_st",
    "row_hash",
];

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
fn push_text(out: &mut Vec<u8>, s: &str) {
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

fn push_opt<T: std::fmt::Display>(out: &mut Vec<u8>, v: Option<T>) {
    use std::io::Write;
    match v {
        Some(v) => {
            let _ = write!(out, "{v}");
        }
        None => out.extend_from_slice(b"\\N"),
    }
}

fn push_bool(out: &mut Vec<u8>, v: Option<bool>) {
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

/// The digest of a bar's values (its COPY text without the digest).
pub fn bar_hash(r: &DailyBar) -> i64 {
    let mut line = Vec::with_capacity(160);
    push_values(&mut line, r);
    fnv1a(&line)
}

/// Bars in COPY's text format, in the order of `BAR_COLUMNS`, each with its digest.
pub fn bars_text(rows: &[&DailyBar]) -> Vec<u8> {
    use std::io::Write;
    let mut out = Vec::with_capacity(rows.len() * 180);
    for r in rows {
        let start = out.len();
        push_values(&mut out, r);
        let h = fnv1a(&out[start..]);
        let _ = writeln!(out, "\t{h}");
    }
    out
}

/// A bar's values in COPY's text format, tab-separated, without a line end.
fn push_values(out: &mut Vec<u8>, r: &DailyBar) {
    let d = |out: &mut Vec<u8>, v: Option<Decimal>| {
        out.push(b'\t');
        push_opt(out, v);
    };
    push_text(out, &r.code);
    out.push(b'\t');
    push_opt(out, Some(r.date.format("%Y-%m-%d")));
    for v in [r.open, r.high, r.low, r.close, r.preclose] {
        d(out, v);
    }
    out.push(b'\t');
    push_opt(out, r.volume);
    d(out, r.amount);
    out.push(b'\t');
    push_opt(out, r.adjustflag.map(|a| a.code()));
    d(out, r.turn);
    out.push(b'\t');
    push_bool(out, r.tradestatus);
    for v in [r.pct_chg, r.pe_ttm, r.pb_mrq, r.ps_ttm, r.pcf_ncf_ttm] {
        d(out, v);
    }
    out.push(b'\t');
    push_bool(out, r.is_st);
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
    fn the_digest_changes_with_any_value() {
        let bar = DailyBar {
            date: chrono::NaiveDate::from_ymd_opt(2024, 6, 3).unwrap(),
            code: "sh.600000".into(),
            open: Some(Decimal::new(10_5000, 4)),
            high: None,
            low: None,
            close: Some(Decimal::new(10_6000, 4)),
            preclose: None,
            volume: Some(100),
            amount: None,
            adjustflag: None,
            turn: None,
            tradestatus: Some(true),
            pct_chg: None,
            pe_ttm: None,
            pb_mrq: None,
            ps_ttm: None,
            pcf_ncf_ttm: None,
            is_st: Some(false),
        };
        let h = bar_hash(&bar);
        assert_eq!(h, bar_hash(&bar.clone()));
        // 10.5000 and 10.50 are one number but not one text: a changed scale is a change.
        for other in [
            DailyBar {
                open: Some(Decimal::new(1050, 2)),
                ..bar.clone()
            },
            DailyBar {
                volume: None,
                ..bar.clone()
            },
            DailyBar {
                is_st: Some(true),
                ..bar.clone()
            },
            DailyBar {
                high: Some(Decimal::ZERO),
                ..bar.clone()
            },
        ] {
            assert_ne!(bar_hash(&other), h);
        }
        let text = bars_text(&[&bar]);
        let line = String::from_utf8(text).unwrap();
        assert!(line.ends_with(&format!("\t{h}\n")), "{line}");
        assert_eq!(line.matches('\t').count(), BAR_COLUMNS.len() - 1);
    }
}
