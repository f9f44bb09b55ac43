//! Run history that survives errors. A successful run is written in the caller's
//! transaction, beside its data. A failed run that is about to be raised must outlive the
//! rollback its error causes, so it is spooled to a file in the data directory and imported
//! by a short-lived background worker in a transaction of its own, which the caller waits for
//! before raising. A record whose worker could not start is imported by the next one.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use pg_baostock_core::clock;
use pgrx::bgworkers::{BackgroundWorker, BackgroundWorkerBuilder, SignalWakeFlags};
use pgrx::pg_sys;
use pgrx::prelude::*;

use crate::error::SyncError;
use crate::store::{self, RunRecord};

/// Spool folder, relative to the data directory (the working directory of every backend).
const SPOOL: &str = "pg_baostock_spool";

/// Records a failed run durably, whatever happens to the current transaction (which is
/// about to be rolled back by the error), and waits until it is committed. Call it only
/// after rolling back any failed subtransaction.
pub fn record_failure(mut rec: RunRecord, err: &SyncError) {
    rec.status = "failed".into();
    rec.finished_at = clock::now_secs();
    rec.error_sqlstate = Some(err.sqlstate_text());
    rec.error_message = Some(err.text());
    match spool(&rec) {
        Ok(_) => import_now(true),
        Err(e) => pgrx::warning!("pg_baostock: could not record the failed run: {e}"),
    }
}

/// Spool files carry their database's OID, so a recorder imports only its own database's.
fn db_prefix() -> String {
    // SAFETY: MyDatabaseId is set once the backend is connected.
    format!("db{}-", u32::from(unsafe { pg_sys::MyDatabaseId }))
}

fn ours(p: &Path, prefix: &str) -> bool {
    p.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.starts_with(prefix))
}

/// The pid in a claimed file's extension (`.claimed-<pid>`).
fn claimed_by(p: &Path) -> Option<i32> {
    p.extension()?.to_str()?.strip_prefix("claimed-")?.parse().ok()
}

/// Starts a worker for any records of this database left in the spool, without waiting.
pub fn import_leftovers() {
    let prefix = db_prefix();
    let pending = std::fs::read_dir(SPOOL)
        .map(|d| {
            d.flatten()
                .map(|e| e.path())
                .any(|p| ours(&p, &prefix) && (p.extension().is_some_and(|x| x == "json") || claimed_by(&p).is_some()))
        })
        .unwrap_or(false);
    if pending {
        import_now(false);
    }
}

fn spool(rec: &RunRecord) -> std::io::Result<PathBuf> {
    std::fs::create_dir_all(SPOOL)?;
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    // SAFETY: MyProcPid is set for the life of the backend.
    let pid = unsafe { pg_sys::MyProcPid };
    let path = Path::new(SPOOL).join(format!("{}{nanos:039}-{pid}.json", db_prefix()));
    let tmp = path.with_extension("tmp");
    let body = serde_json::to_vec(rec).map_err(std::io::Error::other)?;
    {
        use std::io::Write;
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(&body)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, &path)?;
    Ok(path)
}

fn import_now(wait: bool) {
    // SAFETY: plain reads of backend globals.
    let (db, user, pid) = unsafe { (pg_sys::MyDatabaseId, pg_sys::GetUserId(), pg_sys::MyProcPid) };
    let worker = BackgroundWorkerBuilder::new("pg_baostock run recorder")
        .set_type("pg_baostock run recorder")
        .set_library("pg_baostock")
        .set_function("pg_baostock_import_runs")
        .enable_spi_access()
        .set_extra(&format!("{} {}", u32::from(db), u32::from(user)))
        .set_notify_pid(pid)
        .set_restart_time(None)
        .load_dynamic();
    match worker {
        Ok(w) if wait => {
            if w.wait_for_shutdown().is_err() {
                pgrx::notice!("pg_baostock: the failed run stays spooled until the next import");
            }
        }
        Ok(_) => {}
        Err(_) => pgrx::notice!(
            "pg_baostock: no background worker slot free; the failed run stays spooled in {SPOOL} until the next import"
        ),
    }
}

/// Entry point of the run recorder: imports this database's spooled records, one
/// transaction each, removing a file only after its row is committed.
#[pg_guard]
#[no_mangle]
pub extern "C-unwind" fn pg_baostock_import_runs(_arg: pg_sys::Datum) {
    BackgroundWorker::attach_signal_handlers(SignalWakeFlags::SIGTERM);
    let extra = BackgroundWorker::get_extra();
    let mut ids = extra.split_whitespace().filter_map(|s| s.parse::<u32>().ok());
    let (Some(db), Some(user)) = (ids.next(), ids.next()) else {
        return;
    };
    BackgroundWorker::connect_worker_to_spi_by_oid(Some(pg_sys::Oid::from(db)), Some(pg_sys::Oid::from(user)));
    if !BackgroundWorker::transaction(|| store::pin_session(None).is_ok()) {
        return;
    }
    let prefix = db_prefix();
    let Ok(dir) = std::fs::read_dir(SPOOL) else { return };
    let mut files = Vec::new();
    for p in dir.flatten().map(|e| e.path()).filter(|p| ours(p, &prefix)) {
        match claimed_by(&p) {
            None if p.extension().is_some_and(|x| x == "json") => files.push(p),
            // Claimed by a recorder that died before finishing: back to the queue.
            // SAFETY: signal 0 only asks whether the process exists.
            Some(owner) if unsafe { libc::kill(owner, 0) } != 0 => {
                let back = p.with_extension("json");
                if std::fs::rename(&p, &back).is_ok() {
                    files.push(back);
                }
            }
            _ => {}
        }
    }
    files.sort();
    // SAFETY: MyProcPid is set for the life of the process.
    let me = unsafe { pg_sys::MyProcPid };
    for path in files {
        // Claim the file first, so two recorders never import the same record.
        let claimed = path.with_extension(format!("claimed-{me}"));
        if std::fs::rename(&path, &claimed).is_err() {
            continue;
        }
        let rec: Option<RunRecord> = std::fs::read(&claimed)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok());
        let Some(mut rec) = rec else {
            let _ = std::fs::rename(&claimed, path.with_extension("bad"));
            continue;
        };
        // Keyed by its file: imported again after a death between the commit and the unlink,
        // it is found, not written twice.
        rec.spool_key = path.file_stem().and_then(|n| n.to_str()).map(str::to_owned);
        let ok = BackgroundWorker::transaction(|| store::insert_run(&rec).is_ok());
        if ok {
            let _ = std::fs::remove_file(&claimed);
        } else {
            let _ = std::fs::rename(&claimed, &path);
        }
        if BackgroundWorker::sigterm_received() {
            return;
        }
    }
}
