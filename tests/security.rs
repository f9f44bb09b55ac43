//! What another role, another database or a hostile relay must not be able to do to the
//! worker and the syncs: make the superuser worker run its function, stall a sync with a lock,
//! spend past the budget, read a secret, hold the worker up with a slow webhook, cancel its way
//! out of nothing, or import one failed run twice. (A caller's temporary table and
//! evaluate_alerts(): tests/regress/sql/alerts.sql.)

use std::io::Read;
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use baostock_emulator::market::china_today;
use chrono::NaiveDate;
use pg_baostock_cluster_tests::*;

/// Runs `script` when dropped: the test's clean-up, also after a failed assertion.
struct Undo(&'static str);

impl Drop for Undo {
    fn drop(&mut self) {
        let _ = try_sql(self.0);
    }
}

/// Ends a backend when dropped (a psql killed mid-`pg_sleep` leaves its backend sleeping, its
/// locks held).
struct Terminate(i32);

impl Drop for Terminate {
    fn drop(&mut self) {
        let _ = try_sql(&format!("SELECT pg_terminate_backend({})", self.0));
    }
}

/// A trading day of March last year, and `n` trading days from it.
fn some_days(env: &TestEnv, n: usize) -> Vec<NaiveDate> {
    env.trading_days(d(last_year(), 3, 1), d(last_year(), 12, 31))[..n].to_vec()
}

/// Terminates the worker, runs `meanwhile` while none runs (the postmaster starts the next
/// one 2 s later), and waits for the new one.
fn restart_worker(meanwhile: &str) {
    let old = worker_pid().expect("a worker runs");
    sql(&format!("SELECT pg_terminate_backend({old})"));
    poll("the worker to stop", Duration::from_secs(30), || {
        (worker_pid() != Some(old)).then_some(())
    });
    // Its last save is done; what runs now is what the next one starts from.
    if !meanwhile.is_empty() {
        sql(meanwhile);
    }
    // Its start is done when its start is recorded: that transaction also restores the saved
    // server state and requeues units.
    poll("a new worker's recorded start", Duration::from_secs(30), || {
        let pid: i32 = try_sql("SELECT worker_pid FROM baostock.worker_status()")
            .ok()?
            .trim()
            .parse()
            .ok()?;
        (pid != old
            && int(&format!(
                "SELECT count(*) FROM baostock.worker_starts WHERE pid = {pid}"
            )) > 0)
            .then_some(())
    });
}

#[test]
fn the_worker_never_runs_a_function_planted_in_public() {
    let env = TestEnv::start();
    let _undo = Undo("DROP FUNCTION IF EXISTS public.to_char(date, text); DROP TABLE IF EXISTS public.planted_calls;");
    // pg_catalog has no to_char(date, text): with the default search_path this one is an
    // exact match and wins over pg_catalog.to_char(timestamptz, text) for a date.
    sql(r#"
        CREATE TABLE public.planted_calls (backend_type text, at timestamptz DEFAULT clock_timestamp());
        CREATE FUNCTION public.to_char(date, text) RETURNS text LANGUAGE plpgsql AS $$
        BEGIN
            INSERT INTO public.planted_calls (backend_type)
            SELECT backend_type FROM pg_catalog.pg_stat_activity WHERE pid = pg_catalog.pg_backend_pid();
            RETURN pg_catalog.to_char($1::timestamp, $2);
        END $$;
    "#);
    // The worker's start reads the saved server state, and every job its units' days.
    restart_worker("");
    let days = some_days(&env, 2);
    let id = backfill(&format!("'{}', '{}', factors => false", days[0], days[1]));
    assert_eq!(wait_within(id, Duration::from_secs(120)), "done");
    let calls = sql("SELECT backend_type FROM public.planted_calls WHERE backend_type <> 'client backend'");
    assert!(
        calls.trim().is_empty(),
        "the planted public.to_char ran in a background process:\n{calls}"
    );
}

#[test]
fn locks_another_role_takes_never_stall_sync_date_or_the_worker() {
    let env = TestEnv::start();
    let _undo = Undo("DROP ROLE IF EXISTS baostock_test_intruder");
    sql("DROP ROLE IF EXISTS baostock_test_intruder;
         CREATE ROLE baostock_test_intruder LOGIN;
         GRANT baostock_reader TO baostock_test_intruder;");
    let day = some_days(&env, 1)[0];
    // A month of 5-minute bars whose partition does not exist yet.
    let (year, month) = (last_year() - 1, 4);
    let first = d(year, month, 1);
    let last = d(year, month + 1, 1).pred_opt().unwrap();
    sql(&format!(
        "DROP TABLE IF EXISTS baostock.minute_bars_{year:04}{month:02}"
    ));
    let code = env.stock_listed(first, last);

    // What 0.2.0 waited on without end: the advisory keys of the day and of the month, which
    // any role may take. A role with no rights on pg_baostock takes them and keeps them.
    let holder = spawn_sql(&format!(
        "SET ROLE baostock_test_intruder;
         SELECT pg_advisory_lock(1651470195, ('{day}'::date - date '1990-01-01')),
                pg_advisory_lock(1651470196, {});
         SELECT pg_sleep(600);",
        year * 100 + month as i32
    ));
    let pid = holder.backend_pid(Duration::from_secs(10));
    poll("the intruder's advisory locks", Duration::from_secs(10), || {
        (int(&format!(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = {pid} AND granted"
        )) == 2)
            .then_some(())
    });
    let (res, _) =
        spawn_sql(&format!("SELECT status FROM baostock.sync_date('{day}')")).finish_within(Duration::from_secs(120));
    assert_eq!(res.expect("sync_date").trim(), "ok");
    let id = backfill(&format!(
        "'{first}', '{last}', codes => ARRAY['{code}'], frequency => '5', factors => false"
    ));
    assert_eq!(wait_within(id, Duration::from_secs(120)), "done", "{:?}", job(id));
    // The locks pg_baostock takes now are not the intruder's to take.
    let e = try_sql("SET ROLE baostock_test_intruder; SELECT * FROM baostock.sync_locks FOR UPDATE")
        .expect_err("the intruder locked a row of sync_locks");
    assert_eq!(e.sqlstate, "42501", "{e}");

    assert_eq!(
        one(&format!(
            "SELECT to_regclass('baostock.minute_bars_{year:04}{month:02}') IS NOT NULL"
        )),
        "t"
    );
    drop(holder);
}

#[test]
fn a_role_granted_sync_tracked_and_idle_after_it_never_stalls_sync_date() {
    let env = TestEnv::start();
    let _undo = Undo(
        "DO $$ BEGIN IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'baostock_test_tracker') THEN
             REVOKE EXECUTE ON FUNCTION baostock.sync_tracked(date) FROM baostock_test_tracker;
             DROP ROLE baostock_test_tracker;
         END IF; END $$",
    );
    sql("CREATE ROLE baostock_test_tracker LOGIN;
         GRANT EXECUTE ON FUNCTION baostock.sync_tracked(date) TO baostock_test_tracker;");
    let days = some_days(&env, 2);
    env.control(&format!("clock {}T21:00:00 running", days[1]));
    assert_eq!(
        one(&format!("SELECT status FROM baostock.sync_date('{}')", days[0])),
        "ok"
    );
    assert_eq!(
        one(&format!(
            "SELECT baostock.track(index_name => 'sz50', start_date => '{}')",
            days[0]
        )),
        "1"
    );
    // The role syncs the tracked series and keeps its transaction open: it holds the rows of
    // index_constituents it upserted (0.3.0: sync_date's tracked step then waited without end,
    // holding the day's and the factors' locks).
    let holder = spawn_sql(&format!(
        "SET ROLE baostock_test_tracker;
         BEGIN;
         SELECT baostock.sync_tracked('{}');
         SELECT pg_sleep(600);",
        days[0]
    ));
    let pid = holder.backend_pid(Duration::from_secs(30));
    let _end = Terminate(pid);
    poll("the tracker's pg_sleep", Duration::from_secs(30), || {
        (one(&format!(
            "SELECT query LIKE '%pg_sleep%' FROM pg_stat_activity WHERE pid = {pid}"
        )) == "t")
            .then_some(())
    });
    assert!(
        int(&format!(
            "SELECT count(*) FROM pg_locks WHERE pid = {pid} AND relation = 'baostock.index_constituents'::regclass"
        )) > 0,
        "the tracker holds no lock on index_constituents"
    );
    let started = Instant::now();
    let (res, _) = spawn_sql(&format!("SELECT status FROM baostock.sync_date('{}')", days[1]))
        .finish_within(Duration::from_secs(90));
    assert_eq!(res.expect("sync_date").trim(), "ok");
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "sync_date took {:?}",
        started.elapsed()
    );
    let log = std::fs::read_to_string(&cluster().log).unwrap_or_default();
    assert!(
        log.contains(&format!("the tracked series were not extended to {}", days[1])),
        "no WARNING that the tracked series wait"
    );
    assert_eq!(
        one(&format!(
            "SELECT count(*) FROM baostock.synced_days WHERE day = '{}'",
            days[1]
        )),
        "1"
    );
}

#[test]
fn a_new_minute_month_is_made_while_another_role_idles_in_a_read_transaction() {
    let env = TestEnv::start();
    let _undo = Undo("DROP ROLE IF EXISTS baostock_test_reader");
    sql("DROP ROLE IF EXISTS baostock_test_reader;
         CREATE ROLE baostock_test_reader LOGIN;");
    // A month of 5-minute bars whose partition does not exist yet.
    let (year, month) = (last_year() - 1, 3);
    let (first, last) = (d(year, month, 1), d(year, month + 1, 1).pred_opt().unwrap());
    let part = format!("baostock.minute_bars_{year:04}{month:02}");
    sql(&format!("DROP TABLE IF EXISTS {part}"));
    let code = env.stock_listed(first, last);
    // A role with no rights but PUBLIC's reads a view over minute_bars and keeps its
    // transaction open: it holds ACCESS SHARE on the table and every month of it.
    let reader = spawn_sql(
        "SET ROLE baostock_test_reader;
         BEGIN;
         SELECT count(*) FROM baostock.coverage;
         SELECT pg_sleep(600);",
    );
    let pid = reader.backend_pid(Duration::from_secs(10));
    let _end = Terminate(pid);
    poll("the reader's lock on minute_bars", Duration::from_secs(10), || {
        (int(&format!(
            "SELECT count(*) FROM pg_locks WHERE pid = {pid} AND relation = 'baostock.minute_bars'::regclass AND granted"
        )) == 1)
            .then_some(())
    });
    let id = backfill(&format!(
        "'{first}', '{last}', codes => ARRAY['{code}'], frequency => '5', factors => false"
    ));
    // No unit waits out the worker's lock_timeout (10 s) and fails: the month is attached
    // beside the reader.
    assert_eq!(wait_within(id, Duration::from_secs(60)), "done", "{:?}", job(id));
    assert_eq!(
        int(&format!("SELECT units_failed FROM baostock.jobs WHERE job_id = {id}")),
        0
    );
    assert_eq!(one(&format!("SELECT to_regclass('{part}') IS NOT NULL")), "t");
    assert!(int(&format!("SELECT count(*) FROM {part} WHERE code = '{code}'")) > 0);
    // It is a partition like any other: its key, and its rows seen through minute_bars.
    assert_eq!(
        one(&format!(
            "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = '{part}'::regclass AND contype = 'p'"
        )),
        "PRIMARY KEY (code, frequency, \"time\")"
    );
    assert_eq!(
        int(&format!("SELECT count(*) FROM baostock.minute_bars WHERE code = '{code}' AND time >= '{first}' AND time < '{last}'::date + 1")),
        int(&format!("SELECT count(*) FROM {part}"))
    );
    drop(reader);
}

#[test]
fn the_owner_of_the_workers_database_cannot_degrade_the_worker_by_its_settings() {
    let env = TestEnv::start();
    let days = some_days(&env, 2);
    let _undo =
        Undo("SET default_transaction_read_only = off; SET statement_timeout = 0; ALTER DATABASE postgres RESET ALL");
    // The test's own sessions in that database set the defaults back for themselves.
    const OWN: &str = "SET default_transaction_read_only = off; SET statement_timeout = 0;";
    // What the database's owner may set on it: every transaction read-only, every statement
    // cancelled after 100 ms, and a batch of one row for the store.
    restart_worker(
        "ALTER DATABASE postgres SET default_transaction_read_only = on;
         ALTER DATABASE postgres SET statement_timeout = '100ms';
         ALTER DATABASE postgres SET idle_in_transaction_session_timeout = '100ms';
         ALTER DATABASE postgres SET baostock.batch_rows = 1;",
    );
    assert_eq!(
        one("SHOW default_transaction_read_only"),
        "on",
        "the database's setting is in force"
    );
    let id = int(&format!("{OWN} SELECT baostock.backfill('{}', '{}')", days[0], days[1]));
    let (res, _) = spawn_sql(&format!("{OWN} SELECT baostock.wait({id})")).finish_within(Duration::from_secs(120));
    assert_eq!(res.expect("wait").trim(), "done", "{:?}", job(id));
    assert_eq!(
        int(&format!("SELECT units_failed FROM baostock.jobs WHERE job_id = {id}")),
        0
    );
    assert_eq!(
        int(&format!(
            "SELECT count(*) FROM baostock.synced_days WHERE day IN ('{}', '{}')",
            days[0], days[1]
        )),
        2
    );
    sql(&format!("{OWN} ALTER DATABASE postgres RESET ALL"));
    restart_worker("");
}

#[test]
fn a_budget_of_one_lets_through_at_most_one_request_and_a_paused_job_can_be_cancelled() {
    let env = TestEnv::start();
    // A China day of the server's no test has counted requests on.
    let day = china_today() + chrono::Days::new(20);
    env.control(&format!("clock {day}T12:00:00 running"));
    assert_eq!(one("SELECT status FROM baostock.sync_calendar()"), "ok");
    // 0.2.0 kept a reserve of min(max(b/20, 20), b) for sync_date: all of a budget of 1 to
    // 20, which left the worker a limit of 0, read as no budget at all.
    settings(
        "ALTER SYSTEM SET baostock.daily_request_budget = 1;",
        "baostock.daily_request_budget",
        "1",
    );
    let used_before = int("SELECT budget_used_today FROM baostock.sync_health()");
    assert!(used_before >= 1, "the calendar's requests were counted: {used_before}");
    env.emu.reset_counters();
    let days = some_days(&env, 9);
    let id = backfill(&format!("'{}', '{}', factors => false", days[0], days[8]));
    poll("the job to pause for the budget", Duration::from_secs(30), || {
        (one(&format!(
            "SELECT state || '/' || coalesce(pause_reason, '') FROM baostock.sync_jobs WHERE job_id = {id}"
        )) == "paused/budget")
            .then_some(())
    });
    let e = try_sql(&format!("SELECT * FROM baostock.sync_date('{}')", days[0])).expect_err("a spent budget");
    assert_eq!(e.sqlstate, "53400", "{e}");
    let sent = env.emu.counters().total_requests();
    assert!(
        sent <= 1,
        "{sent} requests went out under a budget of 1 that was spent already"
    );
    assert_eq!(job(id).units_done, 0);

    // A paused job is cancelled for good: it does not resume at the next China day.
    assert_eq!(one(&format!("SELECT baostock.cancel({id})")), "cancelled");
    assert_eq!(
        int(&format!(
            "SELECT count(*) FROM baostock.sync_units WHERE job_id = {id} AND state IN ('queued', 'running')"
        )),
        0
    );
    settings(
        "ALTER SYSTEM SET baostock.daily_request_budget = 0;",
        "baostock.daily_request_budget",
        "0",
    );
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(
        one(&format!("SELECT state FROM baostock.sync_jobs WHERE job_id = {id}")),
        "cancelled"
    );
}

/// Each alert a relay was offered, and when.
type Offers = Arc<Mutex<Vec<(i64, Instant)>>>;

/// A relay that reads each POST and never answers, keeping the connection open; it records
/// when each alert was offered.
fn silent_relay() -> (u16, Offers) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let offers = Arc::new(Mutex::new(Vec::new()));
    let kept = offers.clone();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { continue };
            let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            while !String::from_utf8_lossy(&buf).contains("\"alert_id\"") || !buf.ends_with(b"}") {
                match s.read(&mut chunk) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => buf.extend_from_slice(&chunk[..n]),
                }
            }
            let text = String::from_utf8_lossy(&buf);
            let id = text
                .split_once("\r\n\r\n")
                .and_then(|(_, body)| serde_json::from_str::<serde_json::Value>(body).ok())
                .and_then(|v| v["alert_id"].as_i64());
            if let Some(id) = id {
                kept.lock().unwrap().push((id, Instant::now()));
            }
            held.push(s);
        }
    });
    (port, offers)
}

#[test]
fn a_relay_that_never_answers_costs_a_running_job_nothing_and_its_url_never_shows() {
    let env = TestEnv::start();
    let _undo = Undo("ALTER SYSTEM RESET baostock.alert_webhook; SELECT pg_reload_conf();");
    let (port, offers) = silent_relay();
    // Twenty alerts to deliver: failed jobs, as the worker leaves them.
    sql(
        "INSERT INTO baostock.sync_jobs (state, start_date, end_date, frequency, force, plan, est_requests,
                                         est_seconds, error_message, finished_at)
         SELECT 'failed', current_date, current_date, 'd', false, '{}', 0, 0, 'a test failure', now()
         FROM generate_series(1, 20)",
    );
    // A token in the query string, right after the port (0.2.0 quoted it in its error).
    let url = format!("http://127.0.0.1:{port}?access_token=s3cr3t-relay-token");
    settings(
        &format!("ALTER SYSTEM SET baostock.alert_webhook = '{url}';"),
        "baostock.alert_webhook",
        &url,
    );
    poll("the relay to be offered alerts", Duration::from_secs(30), || {
        (offers.lock().unwrap().len() >= 2).then_some(())
    });
    // A job runs while every delivery hangs (0.2.0 posted them in the worker's loop, 5 s a
    // read, up to 20 at a time, between the job's units).
    let days = some_days(&env, 5);
    let id = backfill(&format!("'{}', '{}', factors => false", days[0], days[4]));
    assert_eq!(wait_within(id, Duration::from_secs(60)), "done");
    // Each alert offered again only after a pause that grows.
    let offers = offers.lock().unwrap().clone();
    let mut by_alert: std::collections::BTreeMap<i64, Vec<Instant>> = Default::default();
    for (alert, at) in offers {
        by_alert.entry(alert).or_default().push(at);
    }
    for (alert, times) in &by_alert {
        for w in times.windows(2) {
            let gap = w[1] - w[0];
            assert!(
                gap >= Duration::from_millis(1900),
                "alert {alert} offered again after {gap:?}"
            );
        }
    }
    let errors = poll("a delivery error recorded", Duration::from_secs(30), || {
        let e = sql("SELECT string_agg(delivery_error, ' | ') FROM baostock.alerts WHERE delivery_error IS NOT NULL");
        (!e.trim().is_empty()).then_some(e)
    });
    assert!(errors.contains("no answer within"), "{errors}");
    let shown = sql(
        "SELECT coalesce(string_agg(coalesce(delivery_error, '') || message, ' '), '') FROM baostock.alerts;
         SELECT coalesce(last_error, '') || coalesce(newest_alert, '') FROM baostock.health;",
    );
    let log = std::fs::read_to_string(&cluster().log).unwrap_or_default();
    assert!(!shown.contains("s3cr3t"), "the token showed: {shown}");
    // Postgres itself logs a setting's new value at a reload (docs/src/security.md); nothing of
    // pg_baostock's may.
    let ours: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("s3cr3t") && !l.contains("parameter \"baostock.alert_webhook\" changed to"))
        .collect();
    assert!(ours.is_empty(), "the token reached the server log: {ours:?}");
}

#[test]
fn wait_under_a_savepoint_refuses_a_job_its_own_transaction_queued() {
    let env = TestEnv::start();
    let day = some_days(&env, 1)[0];
    // psql's ON_ERROR_ROLLBACK runs each statement of a transaction under a savepoint, so the
    // job row's xmin is a subtransaction's.
    let (res, _) = spawn_sql(&format!(
        "BEGIN;
         \\set ON_ERROR_ROLLBACK on
         SELECT baostock.backfill('{day}', '{day}', factors => false) AS id \\gset
         SELECT baostock.wait(:id);"
    ))
    .finish_within(Duration::from_secs(30));
    let e = res.expect_err("wait() on a job its own transaction queued");
    assert_eq!(e.sqlstate, "55000", "{e}");
    assert!(e.message.contains("queued by this transaction"), "{e}");
}

#[test]
fn another_database_sees_the_clusters_budget_and_blacklist_but_cannot_lift_it() {
    let _env = TestEnv::start();
    let _undo = Undo("DROP DATABASE IF EXISTS pg_baostock_second");
    sql("DROP DATABASE IF EXISTS pg_baostock_second; CREATE DATABASE pg_baostock_second;");
    sql("\\c pg_baostock_second\nCREATE EXTENSION pg_baostock;");
    let in_second = |q: &str| sql(&format!("\\c pg_baostock_second\n{q}")).trim().to_owned();
    assert_eq!(one("SELECT status FROM baostock.sync_securities()"), "ok");
    let used = one("SELECT budget_used_today FROM baostock.sync_health()");
    assert!(used.parse::<i64>().unwrap() > 0, "{used}");
    assert_eq!(
        in_second("SELECT budget_used_today FROM baostock.sync_health()"),
        used,
        "the second database's health shows another budget"
    );

    // A row restored from another cluster's dump brings no blacklist here.
    restart_worker("UPDATE baostock.server_state SET blacklisted_until = now() + interval '1 hour', cluster_id = 42");
    assert_eq!(
        one("SELECT coalesce(blacklisted_until::text, 'none') FROM baostock.sync_health()"),
        "none"
    );
    assert_eq!(one("SELECT status FROM baostock.sync_calendar()"), "ok");

    // This cluster's own blacklist survives the restart, and every database sees it.
    restart_worker(
        "UPDATE baostock.server_state SET blacklisted_until = now() + interval '1 hour',
                cluster_id = (SELECT system_identifier FROM pg_control_system())",
    );
    assert_eq!(
        one("SELECT blacklisted_until IS NOT NULL FROM baostock.sync_health()"),
        "t"
    );
    assert_eq!(
        in_second("SELECT blacklisted_until IS NOT NULL FROM baostock.sync_health()"),
        "t"
    );
    // Only the worker's database may lift it.
    let e = try_sql("\\c pg_baostock_second\nSELECT baostock.resume()").expect_err("resume() elsewhere");
    assert_eq!(e.sqlstate, "55000", "{e}");
    assert_eq!(
        one("SELECT blacklisted_until IS NOT NULL FROM baostock.sync_health()"),
        "t"
    );
    sql("SELECT baostock.resume()");
    assert_eq!(
        in_second("SELECT blacklisted_until IS NULL FROM baostock.sync_health()"),
        "t"
    );
}

#[test]
fn a_failed_run_spooled_twice_is_imported_once() {
    let _env = TestEnv::start();
    let dir = format!("{}/pg_baostock_spool", cluster().pgdata);
    let oid = one("SELECT oid FROM pg_database WHERE datname = current_database()");
    let name = format!("db{oid}-{:039}-1.json", 1_700_000_000_000_000_000u128);
    let record = serde_json::json!({
        "kind": "spool_test", "params": "{}", "day": null, "started_at": 1.7e9, "finished_at": 1.7e9 + 1.0,
        "status": "failed", "requests": 0, "bytes": 0, "inserted": 0, "updated": 0, "unchanged": 0,
        "error_sqlstate": "XX000", "error_message": "spooled by a test"
    });
    let put = || {
        std::fs::create_dir_all(&dir).unwrap();
        let path = format!("{dir}/{name}");
        std::fs::write(&path, record.to_string()).unwrap();
        for p in [&dir, &path] {
            assert!(std::process::Command::new("chown")
                .args(["postgres:postgres", p])
                .status()
                .unwrap()
                .success());
        }
        // A sync starts by importing what the spool holds.
        let _ = try_sql("SELECT status FROM baostock.sync_calendar()");
        poll("the spooled run to be imported", Duration::from_secs(30), || {
            (!std::path::Path::new(&path).exists()).then_some(())
        });
    };
    put();
    // As if the recorder had died between its commit and the unlink: the same file again.
    put();
    assert_eq!(
        int("SELECT count(*) FROM baostock.sync_runs WHERE kind = 'spool_test'"),
        1
    );
}

#[test]
fn baostock_reader_is_never_a_role_someone_can_log_in_as() {
    let _env = TestEnv::start();
    let _undo = Undo("ALTER ROLE baostock_reader NOLOGIN; DROP DATABASE IF EXISTS pg_baostock_third;");
    sql("DROP DATABASE IF EXISTS pg_baostock_third; CREATE DATABASE pg_baostock_third;");
    // Made beforehand by someone with CREATEROLE, as a role they can log in as.
    sql("ALTER ROLE baostock_reader LOGIN");
    let e = try_sql("\\c pg_baostock_third\nCREATE EXTENSION pg_baostock").expect_err("adopted a LOGIN role");
    assert_eq!(e.sqlstate, "42710", "{e}");
    assert!(e.message.contains("baostock_reader"), "{e}");
    assert_eq!(
        sql("\\c pg_baostock_third\nSELECT count(*) FROM pg_extension WHERE extname = 'pg_baostock'").trim(),
        "0"
    );
    sql("ALTER ROLE baostock_reader NOLOGIN");
    sql("\\c pg_baostock_third\nCREATE EXTENSION pg_baostock;");
}
