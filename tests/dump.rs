//! pg_dump and pg_restore of a database that holds pg_baostock: every table's rows, the job
//! history, the sequences, the per-database settings and the health report come back equal in
//! a fresh database, and the worker carries on with a job that was queued when the dump was made.

use std::process::Command;
use std::time::Duration;

use pg_baostock_cluster_tests::*;

const SOURCE: &str = "dump_source";
const MOVED: &str = "dump_source_before";

/// `script` run in database `db` (psql's `\c`).
fn sql_in(db: &str, script: &str) -> String {
    sql(&format!("\\c {db}\n{script}"))
}

fn int_in(db: &str, query: &str) -> i64 {
    int(&format!("\\c {db}\n{query}"))
}

/// Points the worker at `db` and waits until it runs there.
fn worker_to(db: &str) {
    sql(&format!(
        "ALTER SYSTEM SET baostock.worker_database = '{db}'; SELECT pg_reload_conf();"
    ));
    poll(&format!("the worker in {db}"), Duration::from_secs(30), || {
        let at = try_sql("SELECT datname FROM pg_stat_activity WHERE backend_type = 'pg_baostock worker'").ok()?;
        (at.trim() == db).then_some(())
    });
}

/// Everything the dump must carry, as text: each table's rows (partitions included), the
/// sequences, the database's settings, the jobs and the health report (without the worker's
/// heartbeat, which moves).
fn contents(db: &str) -> String {
    // The syncs' locks: rows made on first use, not dumped (nothing to keep in them).
    let tables: Vec<String> = table_digests(db)
        .into_iter()
        .filter(|l| !l.starts_with("baostock.sync_locks "))
        .collect();
    let tables = tables.join("\n");
    let sequences = sql_in(
        db,
        "SELECT string_agg(format('%s %s %s', schemaname, sequencename, last_value), E'\\n' ORDER BY sequencename)
         FROM pg_sequences WHERE schemaname = 'baostock'",
    );
    let settings = sql_in(
        db,
        "SELECT array_to_string(setconfig, ',') FROM pg_db_role_setting
         WHERE setdatabase = (SELECT oid FROM pg_database WHERE datname = current_database()) AND setrole = 0",
    );
    let jobs = sql_in(
        db,
        "SELECT job_id, state, units_total, units_done, units_failed, rows_written, requests, bytes, created_at,
                started_at, finished_at, plan FROM baostock.jobs",
    );
    let health = sql_in(
        db,
        "SELECT status, last_synced_day, due_day, lag_trading_days, holes, success_rate, mean_duration_s, recent_runs,
                consecutive_failures, last_error, jobs_queued, jobs_running, jobs_paused, failed_units
         FROM baostock.health",
    );
    format!("tables:\n{tables}\nsequences:\n{sequences}\nsettings: {settings}\njobs:\n{jobs}\nhealth: {health}")
}

fn run(program: &str, args: &[&str]) {
    let c = cluster();
    let out = Command::new(format!("{}/{program}", c.pgbin))
        .args(["-U", "postgres", "-h", &c.dir, "-p", &c.port.to_string()])
        .args(args)
        .env("LC_MESSAGES", "C")
        .output()
        .unwrap_or_else(|e| panic!("run {program}: {e}"));
    assert!(
        out.status.success(),
        "{program} {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_dump_restores_into_a_fresh_database_and_the_worker_carries_on() {
    let env = TestEnv::start();
    let _cleanup = Cleanup;
    let days = env.trading_days(d(last_year(), 1, 2), d(last_year(), 2, 10));
    // Stocks: the server has no ETF bars before 2026-01-05.
    let codes: Vec<String> = env
        .listed_codes(&days)
        .into_iter()
        .filter(|c| {
            env.emu
                .market()
                .security(c)
                .is_some_and(|s| s.sec_type == baostock_emulator::SecType::Stock)
        })
        .take(2)
        .collect();
    let list = codes.iter().map(|c| format!("'{c}'")).collect::<Vec<_>>().join(", ");
    sql(&format!(
        "DROP DATABASE IF EXISTS {SOURCE} WITH (FORCE); DROP DATABASE IF EXISTS {MOVED} WITH (FORCE);
         CREATE DATABASE {SOURCE};"
    ));
    sql_in(
        SOURCE,
        &format!(
            "CREATE EXTENSION pg_baostock;
             ALTER DATABASE {SOURCE} SET baostock.catchup_days = 3;
             SELECT status FROM baostock.sync_calendar();
             SELECT status FROM baostock.sync_securities();
             SELECT status FROM baostock.sync_date('{}');
             SELECT status FROM baostock.sync_date('{}');
             SELECT status FROM baostock.sync_index_constituents('{}');",
            days[0], days[1], days[1]
        ),
    );
    // Jobs run by the worker in the source database: weekly bars, and 5-minute bars over a
    // month boundary (two partitions the store creates at run time).
    worker_to(SOURCE);
    let month_end = days
        .iter()
        .rposition(|d| d.format("%m").to_string() == "01")
        .expect("a January day");
    for args in [
        format!(
            "'{}', '{}', codes => ARRAY[{list}], frequency => 'w'",
            days[0],
            days[days.len() - 1]
        ),
        format!(
            "'{}', '{}', codes => ARRAY[{list}], frequency => '5', factors => false",
            days[month_end - 1],
            days[month_end + 1]
        ),
    ] {
        let id = int_in(SOURCE, &format!("SELECT baostock.backfill({args})"));
        assert_eq!(
            sql_in(SOURCE, &format!("SELECT baostock.wait({id})")),
            "done",
            "job {args}"
        );
    }
    assert_eq!(
        int_in(
            SOURCE,
            "SELECT count(*) FROM pg_inherits WHERE inhparent = 'baostock.minute_bars'::regclass"
        ),
        2,
        "minute partitions"
    );
    // A job queued and not yet claimed when the dump is made: the worker, told to serve the
    // database, is held stopped (SIGSTOP) until the dump is written.
    worker_to("postgres");
    let worker = worker_pid().expect("the worker");
    stop_asleep(worker, || {
        try_sql(&format!(
            "SELECT wait_event_type FROM pg_stat_activity WHERE pid = {worker}"
        ))
        .ok()
    });
    sql(&format!(
        "ALTER SYSTEM SET baostock.worker_database = '{SOURCE}'; SELECT pg_reload_conf();"
    ));
    poll("the reloaded baostock.worker_database", Duration::from_secs(10), || {
        (try_sql("SHOW baostock.worker_database").ok()?.trim() == SOURCE).then_some(())
    });
    let (q_start, q_end) = (days[2], days[4]);
    let queued = int_in(
        SOURCE,
        &format!("SELECT baostock.backfill('{q_start}', '{q_end}', factors => false)"),
    );
    assert_eq!(job_state(SOURCE, queued), "queued");
    let before = contents(SOURCE);
    for table in [
        "daily_bars",
        "weekly_bars",
        "minute_bars",
        "index_constituents",
        "sync_runs",
        "sync_units",
    ] {
        assert!(
            int_in(SOURCE, &format!("SELECT count(*) FROM baostock.{table}")) > 0,
            "{table} has rows before the dump"
        );
    }

    let file = format!("{}/dump_source.dump", cluster().dir);
    run("pg_dump", &["-Fc", "-C", "-d", SOURCE, "-f", &file]);
    sql("ALTER SYSTEM SET baostock.worker_database = 'postgres'; SELECT pg_reload_conf();");
    poll("the reloaded baostock.worker_database", Duration::from_secs(10), || {
        (try_sql("SHOW baostock.worker_database").ok()?.trim() == "postgres").then_some(())
    });
    assert!(signal(worker, "CONT"), "kill -CONT {worker}");
    sql(&format!("ALTER DATABASE {SOURCE} RENAME TO {MOVED}"));
    run("pg_restore", &["--exit-on-error", "-C", "-d", "postgres", &file]);

    let after = contents(SOURCE);
    assert_eq!(after, before, "the restored database differs from the dumped one");
    assert_eq!(contents(MOVED), before, "the dumped database changed");
    assert_eq!(
        int_in(
            SOURCE,
            "SELECT count(*) FROM pg_inherits WHERE inhparent = 'baostock.minute_bars'::regclass"
        ),
        2,
        "restored minute partitions"
    );

    // The worker carries on in the restored database: the queued job runs, its days are
    // synced, its runs and units get ids after the restored ones.
    let restored_max_job = int_in(SOURCE, "SELECT max(job_id) FROM baostock.sync_jobs");
    worker_to(SOURCE);
    assert_eq!(sql_in(SOURCE, &format!("SELECT baostock.wait({queued})")), "done");
    let synced = int_in(
        SOURCE,
        &format!("SELECT count(*) FROM baostock.synced_days WHERE day BETWEEN '{q_start}' AND '{q_end}'"),
    );
    assert_eq!(synced, 3, "days of the restored job");
    let next = int_in(
        SOURCE,
        &format!("SELECT baostock.backfill('{q_start}', '{q_end}', factors => false)"),
    );
    assert!(
        next > restored_max_job,
        "a new job id {next} after the restored {restored_max_job}"
    );
    drop(env);
}

/// Sends the worker back to the suite's database and drops the test's databases, also when the
/// test fails half way.
struct Cleanup;

impl Drop for Cleanup {
    fn drop(&mut self) {
        if let Some(pid) = worker_pid() {
            signal(pid, "CONT");
        }
        let _ = try_sql("ALTER SYSTEM RESET baostock.worker_database; SELECT pg_reload_conf();");
        let _ = try_sql(&format!(
            "DROP DATABASE IF EXISTS {SOURCE} WITH (FORCE); DROP DATABASE IF EXISTS {MOVED} WITH (FORCE);"
        ));
    }
}

fn job_state(db: &str, id: i64) -> String {
    sql_in(db, &format!("SELECT state FROM baostock.sync_jobs WHERE job_id = {id}"))
}
