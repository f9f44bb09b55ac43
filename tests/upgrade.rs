//! The shared cluster's database made by an earlier release and updated to this one, before
//! the other cluster tests run on it (`UPGRADE_FROM=0.1.0 bash scripts/test-cluster.sh`, what
//! the cluster15 tier runs; cluster18 takes 0.2.0's SQL up).
//!
//! On 15, the released library is built from its commit (scripts/released-library.sh) and
//! installed in place of this one, the extension created at that version and a few days synced
//! with it; then this library goes back, the worker must say it waits for the update, the old
//! SQL must refuse to sync, a trigger and grants of the DBA's on a table the update makes again
//! must stop it with their names, and ALTER EXTENSION UPDATE must keep every row of every table
//! (digested in the update's own transaction, by the old version's columns), keep the DBA's
//! index and leave the schema object for object what a fresh install makes
//! (scripts/sql/schema-fingerprint.sql). The released libraries are 15 builds: on 18 the
//! current library takes the released SQL up, without rows of the old library's.

use std::time::Duration;

use baostock_emulator::{Emulator, EmulatorConfig};
use pg_baostock_cluster_tests::*;

const FINGERPRINT: &str = include_str!("../scripts/sql/schema-fingerprint.sql");

/// `sql()` must fail with `sqlstate` and say each of `says` (in its message, detail or hint).
fn refused(script: &str, sqlstate: &str, says: &[&str]) -> String {
    let e = try_sql(script).expect_err("went through");
    assert_eq!(e.sqlstate, sqlstate, "{e}");
    for s in says {
        assert!(e.stderr.contains(s), "the error does not say {s:?}: {e}");
    }
    e.message
}

#[test]
fn a_database_of_an_earlier_release_updates_to_this_one() {
    let from = std::env::var("UPGRADE_FROM")
        .expect("UPGRADE_FROM is not set: run with `UPGRADE_FROM=0.1.0 bash scripts/test-cluster.sh`");
    let c = cluster();
    let old_library = pg_config(&c.pgbin, "version").starts_with("PostgreSQL 15");
    let extdir = format!("{}/extension", pg_config(&c.pgbin, "sharedir"));
    let planted = Planted::default();
    planted.copy(
        &repo_path(&format!("sql/released/pg_baostock--{from}.sql")),
        &format!("{extdir}/pg_baostock--{from}.sql"),
    );
    let emu = Emulator::start(EmulatorConfig {
        codes: 300,
        ..EmulatorConfig::default()
    })
    .expect("start the emulator");

    // The library of the release, while the database is made and filled by it.
    let released = old_library.then(|| {
        let out = std::process::Command::new("bash")
            .arg(repo_path("scripts/released-library.sh"))
            .arg(&from)
            .output()
            .expect("run released-library.sh");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let library = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        println!("the library of pg_baostock {from}: {library}");
        pg_ctl(&["-m", "fast", "-w", "stop"]);
        let aside = LibraryAside::replaced_by(&pg_config(&c.pgbin, "pkglibdir"), &library);
        pg_ctl(&["-w", "-t", "60", "-l", &c.log, "start"]);
        aside
    });
    sql(&format!(
        "ALTER SYSTEM SET baostock.host = '127.0.0.1'; ALTER SYSTEM SET baostock.port = {};
         SELECT pg_reload_conf();",
        emu.addr().port()
    ));
    sql(&format!(
        "CREATE EXTENSION pg_baostock VERSION '{from}'; CREATE EXTENSION pg_cron;"
    ));
    if old_library {
        sql(
            "SELECT count(*) FROM baostock.sync_calendar('2023-12-01', '2024-01-31');
             SELECT count(*) FROM baostock.sync_securities();
             SELECT status FROM baostock.sync_date('2024-01-02');
             SELECT status FROM baostock.sync_date('2024-01-03');
             SELECT status FROM baostock.sync_date('2024-01-04');",
        );
    }
    // Every row of every table, by the columns the old version has: the same digests after.
    let digests = sql(TABLE_DIGESTS);
    let before = sql(&digests);
    println!("{before}");
    if old_library {
        assert!(
            rows_in(&before, "baostock.daily_bars") > Some(0),
            "pg_baostock {from} stored no daily bars"
        );
    }
    // What a DBA gave daily_bars, which 0.3.0 makes again with its columns in a new order:
    // grants stop the update (one made by it would become the extension's own, which pg_dump
    // leaves out), an index comes along (dropped before the schema is compared).
    sql(
        "CREATE ROLE upgrade_analyst NOLOGIN; CREATE ROLE upgrade_column_reader NOLOGIN;
         GRANT SELECT, UPDATE ON baostock.daily_bars TO upgrade_analyst WITH GRANT OPTION;
         GRANT SELECT (code, date, close) ON baostock.daily_bars TO upgrade_column_reader;
         CREATE INDEX daily_bars_close_of_dba ON baostock.daily_bars (close) WHERE close > 100;",
    );

    if let Some(aside) = released {
        pg_ctl(&["-m", "fast", "-w", "stop"]);
        drop(aside);
        pg_ctl(&["-w", "-t", "60", "-l", &c.log, "start"]);
    }
    let waiting = format!("but this database has pg_baostock {from} (Run ALTER EXTENSION pg_baostock UPDATE");
    poll(
        "the worker to say it waits for the update",
        Duration::from_secs(10),
        || {
            let log = std::fs::read_to_string(&c.log).unwrap_or_default();
            log.lines()
                .any(|l| {
                    l.contains("waiting in database \"postgres\": the pg_baostock library is ") && l.contains(&waiting)
                })
                .then_some(())
        },
    );
    // Until the update, the functions the old SQL has refuse to work on it, with a hint.
    let stale = refused(
        "SELECT * FROM baostock.sync_date('2024-01-05')",
        "55000",
        &["ALTER EXTENSION pg_baostock UPDATE"],
    );
    println!("before the update: {stale}");
    // A trigger of the DBA's on daily_bars cannot come along: the update refuses, changing nothing.
    let trigger = refused(
        "BEGIN;
         CREATE FUNCTION pg_temp.dba_audit() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN RETURN NEW; END';
         CREATE TRIGGER dba_audit BEFORE UPDATE ON baostock.daily_bars FOR EACH ROW EXECUTE FUNCTION pg_temp.dba_audit();
         ALTER EXTENSION pg_baostock UPDATE;",
        "55000",
        &["trigger dba_audit"],
    );
    println!("with a trigger of the DBA's: {trigger}");
    let grants = refused(
        "ALTER EXTENSION pg_baostock UPDATE",
        "55000",
        &["UPDATE to upgrade_analyst", "SELECT (close) to upgrade_column_reader"],
    );
    println!("with grants of the DBA's: {grants}");
    sql("REVOKE ALL ON baostock.daily_bars FROM upgrade_analyst CASCADE;
         REVOKE ALL (code, date, close) ON baostock.daily_bars FROM upgrade_column_reader;
         DROP ROLE upgrade_analyst; DROP ROLE upgrade_column_reader;");

    // The digests in the update's transaction: once it commits, the worker brings the calendar
    // up to date.
    let after = sql(&format!(
        "BEGIN; ALTER EXTENSION pg_baostock UPDATE; {digests}; COMMIT;"
    ));
    assert_eq!(after, before, "stored rows changed by the update");
    assert_eq!(
        one("SELECT extversion FROM pg_extension WHERE extname = 'pg_baostock'"),
        one("SELECT default_version FROM pg_available_extensions WHERE name = 'pg_baostock'"),
        "the version after the update"
    );
    assert_eq!(
        one(
            "SELECT count(*) FROM pg_index WHERE indrelid = 'baostock.daily_bars'::regclass
               AND indexrelid = 'baostock.daily_bars_close_of_dba'::regclass"
        ),
        "1",
        "the DBA's index on daily_bars came along"
    );
    sql("DROP INDEX baostock.daily_bars_close_of_dba");

    // The updated schema against a fresh install.
    sql("CREATE DATABASE fresh_install");
    let fresh = sql(&format!(
        "\\c fresh_install\nCREATE EXTENSION pg_baostock;\n{FINGERPRINT}"
    ));
    sql("DROP DATABASE fresh_install");
    let updated = sql(FINGERPRINT);
    let (fresh, updated): (Vec<&str>, Vec<&str>) = (fresh.lines().collect(), updated.lines().collect());
    let only_fresh: Vec<&str> = fresh.iter().filter(|l| !updated.contains(l)).copied().collect();
    let only_updated: Vec<&str> = updated.iter().filter(|l| !fresh.contains(l)).copied().collect();
    assert!(
        only_fresh.is_empty() && only_updated.is_empty() && fresh.len() == updated.len(),
        "the schema after the update differs from a fresh install:\nonly fresh: {only_fresh:#?}\nonly updated: {only_updated:#?}"
    );
    println!("the same {} catalog lines as a fresh install", fresh.len());

    // The old version's rows have no digest: the first sync of their day rewrites them
    // (counted as updated), the next finds them unchanged.
    if old_library {
        let bars = one("SELECT count(*) FROM baostock.daily_bars WHERE date = '2024-01-02'");
        let resync =
            "SELECT rows_updated || ' ' || rows_unchanged FROM baostock.sync_date('2024-01-02', force => true)";
        let (first, again) = (one(resync), one(resync));
        assert_eq!(
            (first.as_str(), again.as_str()),
            (format!("{bars} 0").as_str(), format!("0 {bars}").as_str()),
            "a day of {from}'s rows synced again: updated and unchanged"
        );
    }
    // The worker took the updated database up.
    poll(
        "the worker to start on the updated database",
        Duration::from_secs(10),
        || (int("SELECT count(*) FROM baostock.worker_starts") > 0).then_some(()),
    );
}
