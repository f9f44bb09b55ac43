//! Running unattended on a real cluster: a soak under faults with the second pass, a request
//! budget that pauses a job until the next China day, a blacklist that stops everything and
//! survives a restart, and alerts (table, NOTIFY, webhook) for units that fail twice and a
//! daily sync that keeps failing.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use baostock_emulator::market::china_today;
use chrono::NaiveDate;
use pg_baostock_cluster_tests::*;

/// `n` trading days of last year from March on.
fn days(env: &TestEnv, n: usize) -> (NaiveDate, NaiveDate) {
    let days = env.trading_days(d(last_year(), 3, 1), d(last_year(), 12, 31));
    (days[0], days[n - 1])
}

/// `wait()` on a job, given at most two minutes.
fn wait_for(id: i64) -> String {
    wait_within(id, Duration::from_secs(120))
}

/// The open alerts' kinds, sorted.
fn open_alerts() -> Vec<String> {
    sql("SELECT kind FROM baostock.alerts WHERE cleared_at IS NULL ORDER BY kind")
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

#[test]
fn a_soak_with_a_fifth_of_requests_faulted_ends_with_every_unit_done_and_the_same_tables() {
    let env = TestEnv::start();
    let (start, end) = days(&env, 60);
    let id = backfill(&format!("'{start}', '{end}'"));
    assert_eq!(wait_for(id), "done");
    assert_eq!(job(id).units_failed, 0);
    let clean = (bars_checksum(start, end), factors_checksum(start, end));
    assert_ne!(
        clean.0, "0 d41d8cd98f00b204e9800998ecf8427e",
        "the clean run stored bars"
    );
    drop(env);

    // The same market again, now with one request in five faulted, spread over every fault
    // mode; an empty 9A answer makes its day incomplete (a failure for the second pass) and an
    // empty 98 answer makes its day go per code. (A random empty 9C answer cannot be told from
    // a day without factors, so empty answers are scripted rather than drawn.) The empty 98 is
    // the 30th: the 7th could be the retried 98 of a day whose 9A was scripted empty (the
    // random faults' retries move the counts), and that day went per code instead of being
    // incomplete (a CI run saw one incomplete day where two were meant).
    let env = TestEnv::start();
    settings(
        "ALTER SYSTEM SET baostock.read_timeout = '400ms'; ALTER SYSTEM SET baostock.retries = 3;
         ALTER SYSTEM SET baostock.retry_pause = '1s';",
        "baostock.read_timeout",
        "400ms",
    );
    // 1 - (1 - 0.0315)^7 = 20% of requests.
    let each = 31_500;
    env.control(&format!(
        "faults reset={each} fin={each} silence={each} truncated={each} corrupt-zlib={each} error-frame={each} \
             slow-drip={each} drip_chunk=4096 drip_ms=2 script=9A:2:empty script=9A:5:empty script=98:30:empty"
    ));
    let t0 = Instant::now();
    let id = backfill(&format!("'{start}', '{end}'"));
    assert_eq!(wait_for(id), "done");
    let took = t0.elapsed();
    let c = env.emu.counters();
    for mode in [
        "reset",
        "fin",
        "silence",
        "truncated",
        "corrupt-zlib",
        "error-frame",
        "slow-drip",
        "empty",
    ] {
        assert!(
            c.faults_by_mode.get(mode).copied().unwrap_or(0) > 0,
            "no {mode} fault was injected: {:?}",
            c.faults_by_mode
        );
    }
    let share = c.faults_injected as f64 / (c.total_requests() - c.requests("00") - c.requests("02")) as f64;
    assert!(share > 0.12, "only {share:.3} of the requests were faulted");
    let j = job(id);
    assert_eq!(
        j.units_failed,
        0,
        "units still failed after the second pass: {:?}",
        unit_states(id)
    );
    assert_eq!(
        one(&format!("SELECT passes FROM baostock.sync_jobs WHERE job_id = {id}")),
        "2"
    );
    assert!(
        int(&format!(
            "SELECT count(*) FROM baostock.sync_units WHERE job_id = {id} AND attempts >= 2"
        )) >= 2,
        "the incomplete days were fetched again"
    );
    assert_eq!(
        (bars_checksum(start, end), factors_checksum(start, end)),
        clean,
        "the faulted run stored other rows than the clean one"
    );
    assert_eq!(synced_days(start, end).len(), 60);
    eprintln!(
        "soak: {} requests, {} faults {:?}, {took:?}",
        c.total_requests(),
        c.faults_injected,
        c.faults_by_mode
    );
}

#[test]
fn a_spent_budget_pauses_the_job_with_an_alert_and_the_next_china_day_resumes_it() {
    let env = TestEnv::start();
    let (start, end) = days(&env, 12);
    // The server's clock 25 s before midnight of a China day no earlier test has counted
    // requests on; the extension learns it from each login reply.
    let tomorrow = china_today().succ_opt().unwrap();
    env.control(&format!("clock {tomorrow}T23:59:35 running"));
    // One call while there is no budget: its login teaches the cluster the server's clock.
    assert_eq!(one("SELECT status FROM baostock.sync_calendar()"), "ok");
    // The emulator blacklists past 45 requests a day: the budget must keep us below.
    env.control("sessions daily_limit=45");
    // 50 a day, of which backfills may use 30 (20 are kept for sync_date).
    settings(
        "ALTER SYSTEM SET baostock.daily_request_budget = 50;",
        "baostock.daily_request_budget",
        "50",
    );
    env.emu.reset_counters();
    // The bars alone: a factor history a code would outrun this budget many times over.
    let id = backfill(&format!("'{start}', '{end}', factors => false"));
    poll("the job to pause for the budget", Duration::from_secs(20), || {
        (one(&format!(
            "SELECT state || '/' || coalesce(pause_reason, '') FROM baostock.sync_jobs WHERE job_id = {id}"
        )) == "paused/budget")
            .then_some(())
    });
    let sent_day_one = env.emu.counters().total_requests();
    assert!(sent_day_one <= 30, "{sent_day_one} requests, over the backfill's 30");
    assert!(job(id).units_done < 12, "the budget cannot cover 12 days");
    poll("the budget_spent alert", Duration::from_secs(10), || {
        open_alerts().contains(&"budget_spent".to_owned()).then_some(())
    });
    poll("the budget used in health", Duration::from_secs(5), || {
        let used: i64 = one("SELECT budget_used_today FROM baostock.sync_health()")
            .parse()
            .ok()?;
        (used >= 28).then_some(())
    });
    assert_eq!(
        one("SELECT jobs_paused || ' ' || daily_budget FROM baostock.sync_health()"),
        "1 50"
    );
    // Midnight on the server's clock renews the budget; the job resumes by itself.
    assert_eq!(wait_for(id), "done");
    assert!(
        env.emu.controls().now().date() > tomorrow,
        "the job finished before the server's day changed"
    );
    let j = job(id);
    assert_eq!((j.units_done, j.units_failed), (12, 0));
    assert_eq!(synced_days(start, end).len(), 12);
    let c = env.emu.counters();
    assert_eq!(c.logins_refused, 0, "the emulator blacklisted us: {c:?}");
    poll("the budget alert to clear", Duration::from_secs(10), || {
        (!open_alerts().contains(&"budget_spent".to_owned())).then_some(())
    });
}

#[test]
fn a_blacklist_stops_every_fetch_pauses_the_job_alerts_and_survives_a_restart() {
    let env = TestEnv::start();
    let (start, end) = days(&env, 30);
    let listener = spawn_sql("LISTEN baostock_alerts; SELECT pg_sleep(12);");
    std::thread::sleep(Duration::from_millis(500));
    env.control("sessions daily_limit=20 blacklist_ms=3600000");
    let id = backfill(&format!("'{start}', '{end}', factors => false"));
    poll("the job to pause for the blacklist", Duration::from_secs(20), || {
        (one(&format!(
            "SELECT state || '/' || coalesce(pause_reason, '') FROM baostock.sync_jobs WHERE job_id = {id}"
        )) == "paused/blacklisted")
            .then_some(())
    });
    // Within a second nothing more goes out, and nothing does later.
    std::thread::sleep(Duration::from_secs(1));
    let sent = env.emu.counters().total_requests();
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(
        env.emu.counters().total_requests(),
        sent,
        "requests went out after the blacklist"
    );

    let refused_without_connecting = |when: &str| {
        let connections = env.emu.counters().connections;
        let e = try_sql("SELECT * FROM baostock.sync_date()").expect_err("sync_date while blacklisted");
        assert_eq!(e.sqlstate, "53400", "{when}: {e}");
        assert!(e.to_string().contains("blacklist"), "{when}: {e}");
        assert_eq!(
            env.emu.counters().connections,
            connections,
            "{when}: sync_date connected"
        );
    };
    refused_without_connecting("blacklisted");
    poll("the blacklisted alert", Duration::from_secs(10), || {
        open_alerts().contains(&"blacklisted".to_owned()).then_some(())
    });
    let (listened, _) = listener.finish_within(Duration::from_secs(20));
    let listened = listened.expect("the LISTEN session");
    assert!(
        listened.contains("Asynchronous notification \"baostock_alerts\"") && listened.contains("blacklisted"),
        "no NOTIFY of the blacklist: {listened}"
    );
    let health = one(
        "SELECT status || ' ' || (blacklisted_until > now() + interval '20 hours') || ' ' || jobs_paused
                || ' ' || (worker_pid IS NOT NULL) FROM baostock.sync_health()",
    );
    assert_eq!(health, "blacklisted true 1 true");

    // A restart forgets nothing.
    restart_fast();
    poll("the worker after the restart", Duration::from_secs(20), worker_pid);
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(job(id).state, "paused");
    refused_without_connecting("after a restart");
    assert_eq!(
        env.emu.counters().total_requests(),
        sent,
        "requests went out after the restart"
    );
    assert!(one("SELECT status FROM baostock.sync_health()") == "blacklisted");

    // resume() lifts it early (here, once the server has forgiven us too).
    env.control("clear-blacklist");
    env.control("sessions daily_limit=none");
    assert_eq!(one("SELECT baostock.resume()"), "1");
    assert_eq!(wait_for(id), "done");
    let j = job(id);
    assert_eq!((j.units_done, j.units_failed), (30, 0));
    poll("the blacklist alert to clear", Duration::from_secs(10), || {
        (!open_alerts().contains(&"blacklisted".to_owned())).then_some(())
    });
}

/// A local webhook: answers 200 to every POST and keeps the bodies.
fn webhook() -> (u16, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let bodies = Arc::new(Mutex::new(Vec::new()));
    let kept = bodies.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { continue };
            let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            // Read the head, then as many body bytes as Content-Length says.
            loop {
                let n = s.read(&mut chunk).unwrap_or(0);
                if n == 0 {
                    break;
                }
                buf.extend_from_slice(&chunk[..n]);
                let text = String::from_utf8_lossy(&buf);
                if let Some((head, body)) = text.split_once("\r\n\r\n") {
                    let len = head
                        .lines()
                        .find_map(|l| l.strip_prefix("Content-Length: "))
                        .and_then(|v| v.trim().parse::<usize>().ok())
                        .unwrap_or(0);
                    if body.len() >= len {
                        kept.lock().unwrap().push(body.to_owned());
                        break;
                    }
                }
            }
            let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
        }
    });
    (port, bodies)
}

#[test]
fn units_failing_twice_end_the_job_done_with_an_alert_on_the_webhook_and_retry_finishes_it() {
    let env = TestEnv::start();
    let (start, end) = days(&env, 5);
    let bad_day = env.trading_days(start, end)[2];
    let (port, bodies) = webhook();
    settings(
        &format!("ALTER SYSTEM SET baostock.alert_webhook = 'http://127.0.0.1:{port}/robot';"),
        "baostock.alert_webhook",
        &format!("http://127.0.0.1:{port}/robot"),
    );
    // A bar the codec cannot read makes that day's answer undecodable, every time.
    env.control(&format!("override sh.600000 {bad_day} close not-a-number"));
    let id = backfill(&format!("'{start}', '{end}', factors => false"));
    assert_eq!(wait_for(id), "done", "a job with failed units still ends done");
    let j = job(id);
    assert_eq!((j.units_done, j.units_failed), (4, 1));
    assert_eq!(
        one(&format!(
            "SELECT start_date || ' ' || attempts || ' ' || error_sqlstate FROM baostock.sync_units
             WHERE job_id = {id} AND state = 'failed'"
        )),
        format!("{bad_day} 2 08P01"),
        "the undecodable day was tried in both passes, no more"
    );
    poll("the job_failures alert", Duration::from_secs(10), || {
        open_alerts().contains(&"job_failures".to_owned()).then_some(())
    });
    poll("the alert on the webhook", Duration::from_secs(10), || {
        let got = bodies.lock().unwrap().clone();
        got.iter()
            .find(|b| b.contains("\"job_failures\"") && b.contains(&format!("\"job_id\" : {id}")))
            .cloned()
    });
    // The courier's answer is written down by the worker's next tick.
    poll("the delivery recorded", Duration::from_secs(10), || {
        (one("SELECT count(*) FILTER (WHERE delivered_at IS NOT NULL) || '/' || count(*) FROM baostock.alerts WHERE kind = 'job_failures'")
            == "1/1")
            .then_some(())
    });
    assert_eq!(one("SELECT failed_units FROM baostock.sync_health()"), "1");
    // Nothing of this year is synced: the calendar says which day is due, and that is stale.
    let due = one("SELECT due_day FROM baostock.sync_health()");
    let expected = one("SELECT max(day) FROM baostock.trade_calendar WHERE is_trading_day
           AND ((day + time '18:00') AT TIME ZONE 'Asia/Shanghai') + interval '15 hours' <= now()");
    assert_eq!(due, expected);
    assert!(due > end.to_string(), "{due}");
    assert!(open_alerts().contains(&"stale".to_owned()), "{:?}", open_alerts());
    assert!(bodies.lock().unwrap().iter().any(|b| b.contains("\"stale\"")));

    // Three failed daily syncs in a row are an alert of their own.
    for _ in 0..3 {
        let e = try_sql(&format!("SELECT * FROM baostock.sync_date('{bad_day}')")).expect_err("an undecodable day");
        assert_eq!(e.sqlstate, "08P01", "{e}");
    }
    poll("the sync_failing alert", Duration::from_secs(10), || {
        open_alerts().contains(&"sync_failing".to_owned()).then_some(())
    });

    // Once the server answers well again, retry() finishes the job and the alerts clear.
    env.control("clear-overrides");
    assert_eq!(one(&format!("SELECT baostock.retry({id})")), "1");
    assert_eq!(wait_for(id), "done");
    assert_eq!(job(id).units_failed, 0);
    assert_eq!(
        one(&format!("SELECT * FROM baostock.sync_date('{bad_day}')"))
            .split('|')
            .nth(1),
        Some("skipped")
    );
    poll("the job and sync alerts to clear", Duration::from_secs(10), || {
        let open = open_alerts();
        (!open.contains(&"job_failures".to_owned())).then_some(())
    });
    // Each condition was raised once, however many evaluations saw it.
    assert_eq!(
        one("SELECT count(*) FROM baostock.alerts WHERE kind = 'job_failures'"),
        "1"
    );
    assert_eq!(
        one("SELECT count(*) FROM baostock.alerts WHERE kind = 'sync_failing'"),
        "1"
    );
    assert_eq!(
        bodies
            .lock()
            .unwrap()
            .iter()
            .filter(|b| b.contains("\"job_failures\""))
            .count(),
        1
    );
}

#[test]
fn a_worker_that_keeps_restarting_raises_a_crash_loop_alert() {
    let _env = TestEnv::start();
    assert!(!open_alerts().contains(&"worker_crash_loop".to_owned()));
    // History older than baostock.retention (90 days) goes at the worker's daily pass, which
    // a restart runs when the day's pass has not been made.
    sql("INSERT INTO baostock.sync_runs (kind, started_at, finished_at, status)
         VALUES ('sync_date', now() - interval '100 days', now() - interval '100 days', 'ok'),
                ('sync_date', now() - interval '10 days', now() - interval '10 days', 'ok');
         INSERT INTO baostock.sync_jobs (state, start_date, end_date, frequency, force, plan, est_requests, est_seconds, finished_at)
         VALUES ('done', '2024-01-02', '2024-01-02', 'd', false, '{}', 0, 0, now() - interval '100 days'),
                ('done', '2024-01-02', '2024-01-02', 'd', false, '{}', 0, 0, now() - interval '10 days');
         UPDATE baostock.server_state SET calendar_checked = NULL;");
    // Each termination makes the postmaster start the worker again (after 2 s).
    for _ in 0..5 {
        let pid = poll("the worker", Duration::from_secs(20), worker_pid);
        sql(&format!("SELECT pg_terminate_backend({pid})"));
        poll("a new worker", Duration::from_secs(20), || {
            worker_pid().filter(|p| *p != pid)
        });
    }
    poll("the worker_crash_loop alert", Duration::from_secs(15), || {
        open_alerts().contains(&"worker_crash_loop".to_owned()).then_some(())
    });
    assert!(int("SELECT count(*) FROM baostock.worker_starts WHERE started_at > now() - interval '10 minutes'") >= 5);
    let health = one("SELECT status || ' ' || open_alerts FROM baostock.sync_health()");
    assert!(
        health.starts_with("stale") || health.starts_with("degraded"),
        "{health}"
    );
    assert_eq!(
        one(
            "SELECT (SELECT count(*) FROM baostock.sync_runs WHERE finished_at < now() - interval '90 days')
                 || ' ' || (SELECT count(*) FROM baostock.sync_runs) || ' '
                 || (SELECT count(*) FROM baostock.sync_jobs WHERE finished_at < now() - interval '90 days')
                 || ' ' || (SELECT count(*) FROM baostock.sync_jobs)"
        ),
        "0 3 0 1",
        "old history pruned, the rest kept (the runs: the recent one and the test's calendar and securities)"
    );
    // Cleared when the starts age out of the window: here, by forgetting them.
    sql("DELETE FROM baostock.worker_starts");
    poll("the crash loop alert to clear", Duration::from_secs(10), || {
        (!open_alerts().contains(&"worker_crash_loop".to_owned())).then_some(())
    });
}

/// Writes the credentials file with `mode`, owned by the server's OS user.
fn credentials(path: &str, text: &str, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    let status = std::process::Command::new("chown")
        .args(["postgres:postgres", path])
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
fn credentials_come_from_a_file_only_the_server_reads_and_never_show() {
    let _env = TestEnv::start();
    let path = format!("{}/baostock-credentials", cluster().dir);
    credentials(
        &path,
        "# the Baostock account\nuser=anonymous\npassword=123456\n",
        0o600,
    );
    settings(
        &format!("ALTER SYSTEM SET baostock.credentials_file = '{path}';"),
        "baostock.credentials_file",
        &path,
    );
    assert_eq!(one("SELECT status FROM baostock.sync_securities()"), "ok");

    // The file's values are the ones used: a control character in its password is refused,
    // by name, without the value.
    credentials(&path, "user=anonymous\npassword=top\u{1}secret\n", 0o600);
    let e = try_sql("SELECT * FROM baostock.sync_securities()").expect_err("a control character");
    assert_eq!(e.sqlstate, "22023", "{e}");
    assert!(e.message.contains("password contains a control character"), "{e}");
    // A file others may read, or a line it does not know, is refused too.
    credentials(&path, "user=anonymous\npassword=topsecret\n", 0o644);
    let e = try_sql("SELECT * FROM baostock.sync_securities()").expect_err("a readable file");
    assert_eq!(e.sqlstate, "22023", "{e}");
    assert!(e.message.contains("readable by it alone"), "{e}");
    credentials(&path, "user=anonymous\npasword=topsecret\n", 0o600);
    let e = try_sql("SELECT * FROM baostock.sync_securities()").expect_err("an unknown key");
    assert!(e.message.contains("line 2 has an unknown key"), "{e}");
    // A bare API key pasted on a line of its own (base64: it ends in '='): its line number,
    // never the key, in the error, the run history, the health and the alerts.
    credentials(&path, "user=anonymous\nQmFyZUFwaUtleVNlY3JldA==\n", 0o600);
    let e = try_sql("SELECT * FROM baostock.sync_securities()").expect_err("a bare key line");
    assert_eq!(e.sqlstate, "22023", "{e}");
    assert!(e.message.contains("line 2 has an unknown key"), "{e}");
    let _ = sql("SELECT baostock.evaluate_alerts()");
    let shown = sql("SELECT coalesce(string_agg(error_message, ' '), '') FROM baostock.runs;
         SELECT coalesce(last_error, '') FROM baostock.health;
         SELECT coalesce(string_agg(message || ' ' || coalesce(delivery_error, ''), ' '), '') FROM baostock.alerts");
    assert!(shown.contains("line 2"), "{shown}");
    assert!(!shown.contains("QmFyZUFwaUtleVNlY3JldA"), "the key showed: {shown}");
    // Errors name the setting, never the superuser's path (runs is PUBLIC's to read).
    assert!(!shown.contains(&path), "the credentials file's path showed: {shown}");

    settings(
        "ALTER SYSTEM RESET baostock.credentials_file;",
        "baostock.credentials_file",
        "",
    );
    // No secret reached an error, the run history or the server log.
    let recorded = sql("SELECT string_agg(coalesce(error_message, ''), ' ') FROM baostock.sync_runs");
    assert!(recorded.contains("credentials_file"), "{recorded}");
    let log = std::fs::read_to_string(&cluster().log).unwrap_or_default();
    for secret in ["topsecret", "top\u{1}secret", "QmFyZUFwaUtleVNlY3JldA"] {
        assert!(!recorded.contains(secret) && !log.contains(secret), "{secret} leaked");
    }
}
