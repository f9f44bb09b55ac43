//! Rows written through Postgres' own COPY machinery (`BeginCopyFrom` / `CopyFrom`), fed from
//! memory in COPY's binary format, as `pg_baostock_core::copy` makes it (with the rows'
//! digests).

use std::cell::RefCell;
use std::ffi::{c_char, c_int, c_void, CString};

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

/// COPYs `data` (COPY's binary format, header to trailer) into the columns of `table`
/// (`schema.name`, or a name on the search path); returns the rows copied. Raises what COPY
/// raises (a unique violation first of all): call it in a subtransaction.
pub fn copy_in(table: &str, columns: &[&str], data: Vec<u8>) -> SyncResult<u64> {
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
    let format = c_string("format")?;
    let binary = c_string("binary")?;
    // SAFETY: makeDefElem, makeString and lappend allocate in the current memory context; the
    // list is what `COPY ... WITH (FORMAT binary)` parses to.
    let options = unsafe {
        let option = pg_sys::makeDefElem(format, pg_sys::makeString(binary).cast(), -1);
        pg_sys::lappend(std::ptr::null_mut(), option.cast())
    };
    FEED.with(|f| *f.borrow_mut() = (data, 0));
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
        // The permission to check: on the range table entry up to PostgreSQL 15, in its own
        // RTEPermissionInfo since 16.
        #[cfg(feature = "pg15")]
        let perms = &mut (*(*item).p_rte).requiredPerms;
        #[cfg(not(feature = "pg15"))]
        let perms = &mut (*(*item).p_perminfo).requiredPerms;
        *perms = pg_sys::ACL_INSERT as pg_sys::AclMode;
        let cstate = pg_sys::BeginCopyFrom(
            pstate,
            rel,
            std::ptr::null_mut(),
            std::ptr::null(),
            false,
            Some(feed),
            names,
            options,
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
