//! End-to-end tests on a live cluster with the extension preloaded (`cargo pgrx test`). Each
//! test starts the emulator inside its own backend and points the `baostock.*` settings at
//! it; the official Python client 0.9.4 is the referee for what a day's data must be.

#[pgrx::pg_schema]
mod tests {
    use std::time::{Duration, Instant};

    use baostock_emulator::{Emulator, EmulatorConfig, FaultConfig, FaultMode, ScriptedFault};
    use chrono::{Datelike, NaiveDate, NaiveTime, Weekday};
    use pgrx::prelude::*;

    /// Runs a statement and returns the SQLSTATE it fails with, or NULL.
    const SQLSTATE_OF: &str = "
        CREATE OR REPLACE FUNCTION pg_temp.sqlstate_of(q text) RETURNS text LANGUAGE plpgsql AS $f$
        BEGIN
            EXECUTE q;
            RETURN NULL;
        EXCEPTION WHEN OTHERS OR query_canceled THEN
            RETURN SQLSTATE;
        END $f$";

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    /// A small market (fast to build in a test) served on a free loopback port, with the
    /// settings pointed at it and earlier tests' committed run records out of sight.
    fn start(cfg: EmulatorConfig) -> Emulator {
        let emu = Emulator::start(EmulatorConfig { codes: 300, ..cfg }).expect("start the emulator");
        let port = emu.addr().port();
        Spi::run("SET baostock.host = '127.0.0.1'").unwrap();
        Spi::run(&format!("SET baostock.port = {port}")).unwrap();
        Spi::run("SET baostock.retries = 0").unwrap();
        Spi::run("SET baostock.read_timeout = '10s'").unwrap();
        Spi::run(SQLSTATE_OF).unwrap();
        Spi::run("DELETE FROM baostock.sync_runs").unwrap();
        Spi::run("DELETE FROM baostock.synced_days").unwrap();
        emu
    }

    /// An emulator, a rich trading day, and the calendar up to that day and the securities
    /// already synced, as most tests need them.
    fn start_with_reference_data() -> (Emulator, NaiveDate) {
        let emu = start(EmulatorConfig::default());
        let day = rich_day(&emu);
        let (calendar, ..) = sync(&format!("SELECT * FROM baostock.sync_calendar('2024-01-01', '{day}')"));
        let (securities, ..) = sync("SELECT * FROM baostock.sync_securities()");
        assert_eq!((calendar.as_str(), securities.as_str()), ("ok", "ok"));
        // Fresh reference data: sync_date has nothing to refresh before its day.
        let (industries, ..) = sync("SELECT * FROM baostock.sync_industries()");
        let lists = Spi::get_one::<i64>("SELECT count(*) FROM baostock.sync_index_constituents() WHERE status = 'ok'");
        assert_eq!((industries.as_str(), lists), ("ok", Ok(Some(3))));
        (emu, day)
    }

    /// A trading day of 2024 on which the market has stocks, ETFs and adjust factors.
    fn rich_day(emu: &Emulator) -> NaiveDate {
        let m = emu.market();
        m.trade_dates()
            .iter()
            .copied()
            .filter(|t| *t >= d(2026, 1, 5) && *t <= d(2026, 6, 30))
            .find(|t| !m.daily_adjust_factors(*t).is_empty() && !m.daily_etf(*t).is_empty())
            .expect("a day with factors and ETF bars (the server has ETF bars from 2026-01-05)")
    }

    /// The summary row of a sync call: status, inserted, updated, unchanged, requests.
    fn sync(sql: &str) -> (String, i64, i64, i64, i32) {
        Spi::connect(|c| {
            let row = c.select(sql, None, &[]).unwrap().first();
            (
                row.get_by_name::<String, _>("status").unwrap().unwrap(),
                row.get_by_name::<i64, _>("rows_inserted").unwrap().unwrap(),
                row.get_by_name::<i64, _>("rows_updated").unwrap().unwrap(),
                row.get_by_name::<i64, _>("rows_unchanged").unwrap().unwrap(),
                row.get_by_name::<i32, _>("requests").unwrap().unwrap(),
            )
        })
    }

    fn sqlstate_of(sql: &str) -> Option<String> {
        Spi::get_one_with_args::<String>("SELECT pg_temp.sqlstate_of($1)", &[sql.into()]).unwrap()
    }

    /// Whether `day` is marked synced (1) or not (0).
    fn synced(day: NaiveDate) -> i64 {
        count(&format!(
            "SELECT count(*) FROM baostock.synced_days WHERE day = '{day}'"
        ))
    }

    /// The daily bars stored of `day`.
    fn bars_of(day: NaiveDate) -> i64 {
        count(&format!(
            "SELECT count(*) FROM baostock.daily_bars WHERE date = '{day}'"
        ))
    }

    fn count(sql: &str) -> i64 {
        Spi::get_one::<i64>(sql).unwrap().unwrap()
    }

    fn health() -> (String, Option<i32>, Option<i32>) {
        Spi::connect(|c| {
            let row = c
                .select("SELECT * FROM baostock.sync_health()", None, &[])
                .unwrap()
                .first();
            (
                row.get_by_name::<String, _>("status").unwrap().unwrap(),
                row.get_by_name::<i32, _>("lag_trading_days").unwrap(),
                row.get_by_name::<i32, _>("consecutive_failures").unwrap(),
            )
        })
    }

    /// What the official client gets for one day (98, 9A, 9C), as JSON. The backend runs as
    /// the postgres OS user, so the script is passed inline and the virtualenv lives outside
    /// the checkout (scripts/setup-python.sh).
    fn official(port: u16, day: NaiveDate) -> serde_json::Value {
        let venv = option_env!("BAOSTOCK_VENV").unwrap_or("/var/tmp/pg_baostock-venv");
        let out = std::process::Command::new(format!("{venv}/bin/python"))
            .arg("-c")
            .arg(include_str!("../scripts/official.py"))
            .arg(port.to_string())
            .arg("daily")
            .arg(day.to_string())
            .output()
            .expect("run the official client (scripts/setup-python.sh makes the virtualenv)");
        assert!(
            out.status.success(),
            "official client failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("official client JSON")
    }

    /// The rows (`code date (why)`) where the referee's `rows` and the stored ones restricted by
    /// `scope` differ: the comparison of tests/sql/ (the cluster tests use the same files).
    fn mismatches(template: &str, rows: &[serde_json::Value], scope: &str) -> Vec<String> {
        let json = serde_json::Value::Array(rows.to_vec()).to_string();
        assert!(!json.contains("$json$"), "the JSON holds the quote tag");
        let q = template
            .replace("{rows}", &format!("$json${json}$json$::jsonb"))
            .replace("{scope}", scope);
        Spi::connect(|c| {
            c.select(&q, None, &[])?
                .map(|r| r.get::<String>(1))
                .collect::<Result<Vec<_>, _>>()
        })
        .expect("the comparison runs")
        .into_iter()
        .flatten()
        .collect()
    }

    const BAR_MISMATCHES: &str = include_str!("../tests/sql/bar_mismatches.sql");
    const FACTOR_MISMATCHES: &str = include_str!("../tests/sql/factor_mismatches.sql");

    #[pg_test]
    fn sync_date_stores_what_the_official_client_gets_and_is_idempotent() {
        let (emu, day) = start_with_reference_data();

        emu.reset_counters();
        let (status, inserted, updated, unchanged, requests) =
            sync(&format!("SELECT * FROM baostock.sync_date('{day}')"));
        assert_eq!(status, "ok");
        let served = emu.settled_counters(Duration::from_secs(5)).total_requests();
        // Two logins at once, 98 + 9A + 9C over both sessions, two logouts.
        assert!(served <= 7, "sync_date made {served} requests");
        assert_eq!(
            i64::from(requests),
            served as i64,
            "reported requests, server saw {:?}",
            emu.counters().requests_by_type
        );
        assert_eq!(updated, 0);
        assert_eq!(unchanged, 0);

        // The referee: the official client against the same emulator, same day.
        let py = official(emu.addr().port(), day);
        let mut bars = py["stocks"].as_array().unwrap().clone();
        bars.extend(py["etfs"].as_array().unwrap().iter().cloned());
        let factors = py["factors"].as_array().unwrap().clone();
        assert!(bars.len() > 100, "only {} bars", bars.len());
        assert!(!factors.is_empty(), "the chosen day has factors");
        let fields: Vec<&str> = py["fields"]["stocks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        assert_eq!(
            fields.join(","),
            baostock::value::DAILY_FIELDS,
            "column order the comparison assumes"
        );
        assert_eq!(inserted, (bars.len() + factors.len()) as i64);
        let differ = mismatches(BAR_MISMATCHES, &bars, &format!("date = '{day}'"));
        assert_eq!(
            differ,
            Vec::<String>::new(),
            "stored bars differ from the official client's"
        );
        let differ = mismatches(FACTOR_MISMATCHES, &factors, &format!("operate_date = '{day}'"));
        assert_eq!(
            differ,
            Vec::<String>::new(),
            "stored factors differ from the official client's"
        );
        // Empty cells are NULL, not zero or ''.
        let suspended = bars.iter().filter(|r| r[10].as_str() == Some("")).count() as i64;
        assert_eq!(
            count(&format!(
                "SELECT count(*) FROM baostock.daily_bars WHERE date = '{day}' AND turn IS NULL"
            )),
            suspended
        );

        // Again: skipped, no request at all.
        emu.reset_counters();
        let (status, _, _, _, requests) = sync(&format!("SELECT * FROM baostock.sync_date('{day}')"));
        assert_eq!((status.as_str(), requests), ("skipped", 0));
        assert_eq!(emu.counters().total_requests(), 0);

        // Forced: fetched again, nothing changes.
        let (status, inserted, updated, unchanged, _) =
            sync(&format!("SELECT * FROM baostock.sync_date('{day}', force => true)"));
        assert_eq!((status.as_str(), inserted, updated), ("ok", 0, 0));
        assert_eq!(unchanged, (bars.len() + factors.len()) as i64);

        // One bar changes on the server: exactly that row is updated.
        let code = bars[0][1].as_str().unwrap().to_string();
        emu.controls().override_bar(&code, day, "close", "1234.5678").unwrap();
        let (_, inserted, updated, _, _) = sync(&format!("SELECT * FROM baostock.sync_date('{day}', force => true)"));
        assert_eq!((inserted, updated), (0, 1));
        let close = Spi::get_one::<String>(&format!(
            "SELECT close::text FROM baostock.daily_bars WHERE code = '{code}' AND date = '{day}'"
        ));
        assert_eq!(close, Ok(Some("1234.5678".to_string())));
    }

    #[pg_test]
    fn a_day_not_yet_published_is_not_marked_synced_and_a_later_call_syncs_it() {
        let (emu, day) = start_with_reference_data();
        emu.controls()
            .set_publish_time(Some(NaiveTime::from_hms_opt(17, 0, 0).unwrap()));
        emu.controls().set_clock(Some(day.and_hms_opt(10, 0, 0).unwrap()));
        let (status, inserted, ..) = sync(&format!("SELECT * FROM baostock.sync_date('{day}')"));
        assert_eq!((status.as_str(), inserted), ("not_available", 0));
        assert_eq!(synced(day), 0);
        assert_eq!(bars_of(day), 0);

        // After the factors' publication (18:00).
        emu.controls().set_clock(Some(day.and_hms_opt(18, 30, 0).unwrap()));
        let (status, inserted, ..) = sync(&format!("SELECT * FROM baostock.sync_date('{day}')"));
        assert_eq!(status, "ok");
        assert!(inserted > 0);
        assert_eq!(synced(day), 1);
    }

    #[pg_test]
    fn bad_days_and_server_errors_are_sql_errors_that_write_no_bars() {
        let (emu, day) = start_with_reference_data();

        assert_eq!(
            sqlstate_of("SELECT * FROM baostock.sync_date(NULL)").as_deref(),
            Some("22004")
        );
        assert_eq!(
            sqlstate_of("SELECT * FROM baostock.sync_date('1990-12-18')").as_deref(),
            Some("22023")
        );
        assert_eq!(
            sqlstate_of("SELECT * FROM baostock.sync_date((now() AT TIME ZONE 'Asia/Shanghai')::date + 1)").as_deref(),
            Some("22023")
        );
        assert_eq!(
            sqlstate_of("SELECT * FROM baostock.sync_date('-infinity')").as_deref(),
            Some("22023")
        );
        // A NULL force is refused with its own error, not a panic.
        assert_eq!(
            sqlstate_of(&format!("SELECT * FROM baostock.sync_date('{day}', force => NULL)")).as_deref(),
            Some("22004")
        );

        // A weekend day is skipped with a run record, and asks nothing of the server.
        let mut weekend = day;
        while !matches!(weekend.weekday(), Weekday::Sat | Weekday::Sun) {
            weekend = weekend.pred_opt().unwrap();
        }
        emu.reset_counters();
        let (status, ..) = sync(&format!("SELECT * FROM baostock.sync_date('{weekend}')"));
        assert_eq!(status, "skipped");
        assert_eq!(emu.counters().total_requests(), 0);

        // An error frame from the server.
        emu.controls().set_faults(FaultConfig {
            script: vec![ScriptedFault {
                msg_type: "98".into(),
                nth: 1,
                mode: FaultMode::ErrorFrame,
            }],
            error_code: "10004011".into(),
            ..FaultConfig::default()
        });
        emu.reset_counters();
        assert_eq!(
            sqlstate_of(&format!("SELECT * FROM baostock.sync_date('{day}')")).as_deref(),
            Some("38000")
        );
        assert_eq!(bars_of(day), 0);
        assert_eq!(synced(day), 0);
        // The failed run outlives the error's rollback.
        let failed = Spi::get_one::<String>(
            "SELECT error_sqlstate FROM baostock.sync_runs WHERE status = 'failed' ORDER BY run_id DESC LIMIT 1",
        );
        assert_eq!(failed, Ok(Some("38000".to_string())));
    }

    #[pg_test]
    fn cancel_stops_the_network_wait_within_a_second_and_writes_nothing() {
        let (emu, day) = start_with_reference_data();
        // Silence on 9C: the stocks and ETFs are already in memory when the cancel comes.
        emu.controls().set_faults(FaultConfig {
            script: vec![ScriptedFault {
                msg_type: "9C".into(),
                nth: 1,
                mode: FaultMode::Silence,
            }],
            ..FaultConfig::default()
        });
        emu.reset_counters();
        Spi::run("SET baostock.read_timeout = '60s'").unwrap();
        // Ctrl-C: SIGINT to this backend (what pg_cancel_backend sends) 300 ms into the wait.
        let canceller = std::thread::spawn(|| {
            std::thread::sleep(Duration::from_millis(300));
            // SAFETY: signalling our own process; Postgres' handler only sets flags.
            unsafe { libc::kill(libc::getpid(), libc::SIGINT) };
        });
        let t0 = Instant::now();
        let state = sqlstate_of(&format!("SELECT * FROM baostock.sync_date('{day}')"));
        let took = t0.elapsed();
        canceller.join().unwrap();
        assert_eq!(state.as_deref(), Some("57014"));
        assert!(took < Duration::from_millis(1300), "cancel took {took:?}");
        assert_eq!(
            emu.counters().requests("9A"),
            1,
            "98 and 9A had been answered: {:?}",
            emu.counters()
        );
        assert_eq!(bars_of(day), 0);
    }

    #[pg_test]
    fn health_tells_stale_healthy_failing_and_the_lag() {
        let emu = start(EmulatorConfig::default());
        let day = rich_day(&emu);
        sync(&format!("SELECT * FROM baostock.sync_calendar('2024-01-01', '{day}')"));
        assert_eq!(health().0, "stale");
        sync(&format!("SELECT * FROM baostock.sync_date('{day}')"));
        assert_eq!(health(), ("healthy".to_string(), Some(0), Some(0)));

        // The calendar gains the next trading day: one day of lag.
        let next = emu.market().trade_dates().iter().copied().find(|t| *t > day).unwrap();
        sync(&format!(
            "SELECT * FROM baostock.sync_calendar('{}', '{next}')",
            day.succ_opt().unwrap()
        ));
        assert_eq!(health().1, Some(1));

        // Three failed runs in a row.
        emu.controls().set_faults(FaultConfig {
            rates: [(FaultMode::ErrorFrame, 1_000_000)].into_iter().collect(),
            error_code: "10004011".into(),
            ..FaultConfig::default()
        });
        for _ in 0..3 {
            let state = sqlstate_of(&format!("SELECT * FROM baostock.sync_date('{day}', force => true)"));
            assert_eq!(state.as_deref(), Some("38000"));
        }
        let (status, _, failures) = health();
        assert_eq!((status.as_str(), failures), ("failing", Some(3)));
        assert_eq!(
            count("SELECT count(*) FROM baostock.runs WHERE status = 'failed' AND error_sqlstate = '38000'"),
            3
        );
    }

    #[pg_test]
    fn secrets_never_reach_an_error_or_the_run_history() {
        let emu = start(EmulatorConfig::default());
        // The prefix is reserved: a typo is an error, not a placeholder.
        assert_eq!(sqlstate_of("SET baostock.hots = '127.0.0.1'").as_deref(), Some("42602"));
        Spi::run("SET baostock.password = 'sekret-pw-4711'").unwrap();
        Spi::run("SET baostock.api_key = 'bs-sekret-key'").unwrap();
        Spi::run(
            "CREATE OR REPLACE FUNCTION pg_temp.error_of(q text) RETURNS text LANGUAGE plpgsql AS $f$
             DECLARE m text; d text; h text;
             BEGIN
                 EXECUTE q;
                 RETURN NULL;
             EXCEPTION WHEN OTHERS THEN
                 GET STACKED DIAGNOSTICS m = MESSAGE_TEXT, d = PG_EXCEPTION_DETAIL, h = PG_EXCEPTION_HINT;
                 RETURN SQLSTATE || ' ' || m || ' ' || coalesce(d, '') || ' ' || coalesce(h, '');
             END $f$",
        )
        .unwrap();
        // The server refuses the login that carried the secrets.
        emu.controls().set_faults(FaultConfig {
            script: vec![ScriptedFault {
                msg_type: "00".into(),
                nth: 1,
                mode: FaultMode::ErrorFrame,
            }],
            error_code: "10001002".into(),
            ..FaultConfig::default()
        });
        let error = Spi::get_one::<String>(
            "SELECT pg_temp.error_of($$SELECT * FROM baostock.sync_calendar('2024-01-01', '2024-01-31')$$)",
        )
        .unwrap()
        .expect("the login must fail");
        assert!(error.starts_with("28P01 "), "{error}");
        assert!(!error.contains("sekret"), "{error}");
        assert_eq!(emu.counters().requests("00"), 1, "the login was sent");
        let leaked = "SELECT count(*) FROM baostock.sync_runs
                      WHERE error_message LIKE '%sekret%' OR params::text LIKE '%sekret%'";
        assert_eq!(
            count("SELECT count(*) FROM baostock.sync_runs WHERE error_sqlstate = '28P01'"),
            1
        );
        assert_eq!(count(leaked), 0);
        // What each role may read, call or set: tests/regress/sql/privileges.sql.
    }

    #[pg_test]
    fn sync_date_without_a_day_brings_the_calendar_to_today_and_syncs_the_latest_trading_day() {
        let emu = start(EmulatorConfig::default());
        // A calendar last fetched long ago, as in a database left alone for a while.
        sync("SELECT * FROM baostock.sync_calendar('2024-01-01', '2024-06-28')");
        let today = Spi::get_one::<String>("SELECT to_char(now() AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD')")
            .unwrap()
            .unwrap();
        let today = baostock::value::parse_date(&today).unwrap();
        // The evening of the newest day whose every kind is out, whatever the time here: the
        // latest trading day is the newest the server has published.
        let whole = emu.controls().last_published(baostock_emulator::Kind::Factors);
        emu.controls().set_clock_running(whole.and_hms_opt(21, 0, 0).unwrap());
        let latest = emu
            .market()
            .trade_dates()
            .iter()
            .copied()
            .filter(|t| *t <= whole)
            .max()
            .unwrap();
        let day = Spi::get_one::<String>("SELECT day::text FROM baostock.sync_date() WHERE status = 'ok'");
        assert_eq!(day, Ok(Some(latest.to_string())));
        let end = Spi::get_one::<String>("SELECT to_char(max(day), 'YYYY-MM-DD') FROM baostock.trade_calendar");
        assert_eq!(end, Ok(Some(today.to_string())), "the calendar reaches today");
        // The next call has nothing to fetch: the day is synced and the calendar current. It
        // logs in and out once, to read the server's clock.
        emu.reset_counters();
        let (status, .., requests) = sync("SELECT * FROM baostock.sync_date()");
        assert_eq!((status.as_str(), requests), ("skipped", 2));
        // The logout is counted when the emulator has read it: wait for the counters to settle.
        let c = emu.settled_counters(Duration::from_secs(5));
        assert_eq!((c.total_requests(), c.requests("00"), c.requests("02")), (2, 1, 1));
    }

    #[pg_test]
    fn a_first_sync_reports_every_request_it_made() {
        let emu = start(EmulatorConfig::default());
        let day = rich_day(&emu);
        Spi::run("DELETE FROM baostock.trade_calendar").unwrap();
        Spi::run("DELETE FROM baostock.securities").unwrap();
        emu.reset_counters();
        let (status, .., requests) = sync(&format!("SELECT * FROM baostock.sync_date('{day}')"));
        assert_eq!(status, "ok");
        let served = emu.settled_counters(Duration::from_secs(5)).total_requests();
        assert_eq!(
            i64::from(requests),
            served as i64,
            "{:?}",
            emu.counters().requests_by_type
        );
        assert!(emu.counters().requests("33") >= 1 && emu.counters().requests("45") >= 1);
        // The calendar and securities runs are in the history too.
        assert_eq!(
            count("SELECT count(*) FROM baostock.sync_runs WHERE kind IN ('sync_calendar', 'sync_securities')"),
            2
        );
    }

    #[pg_test]
    fn a_postgres_error_in_the_middle_of_a_write_is_recorded_as_a_failed_run() {
        let (_emu, day) = start_with_reference_data(); // held: the server lives while the test runs
                                                       // The factors are written after the bars: fail there, with the bars already written.
        Spi::run(
            "CREATE FUNCTION pg_temp.refuse() RETURNS trigger LANGUAGE plpgsql AS $f$
             BEGIN RAISE EXCEPTION 'refused by test' USING ERRCODE = 'P0001'; END $f$",
        )
        .unwrap();
        Spi::run(
            "CREATE TRIGGER refuse BEFORE INSERT ON baostock.adjust_factors
             FOR EACH ROW EXECUTE FUNCTION pg_temp.refuse()",
        )
        .unwrap();
        let state = sqlstate_of(&format!("SELECT * FROM baostock.sync_date('{day}')"));
        assert_eq!(state.as_deref(), Some("P0001"));
        assert_eq!(bars_of(day), 0);
        assert_eq!(synced(day), 0);
        // The recorder was started, not waited for: its commit arrives within moments.
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let n = count(
                "SELECT count(*) FROM baostock.sync_runs
                 WHERE kind = 'sync_date' AND status = 'failed' AND error_sqlstate = 'P0001'
                   AND error_message = 'refused by test' AND requests = 7",
            );
            if n == 1 {
                break;
            }
            assert!(Instant::now() < deadline, "no failed run recorded within 10 s");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The newest trading days of the emulator's calendar up to today (China), oldest first.
    fn newest_trading_days(emu: &Emulator, n: usize) -> Vec<NaiveDate> {
        // Whole days: their factors (the last kind of a day sync_date takes) are out.
        let today = emu.controls().last_published(baostock_emulator::Kind::Factors);
        let days: Vec<NaiveDate> = emu
            .market()
            .trade_dates()
            .iter()
            .copied()
            .filter(|t| *t <= today)
            .collect();
        days[days.len() - n..].to_vec()
    }

    fn statuses(sql: &str) -> Vec<(String, String)> {
        Spi::connect(|c| {
            c.select(sql, None, &[])
                .unwrap()
                .map(|r| {
                    (
                        r.get_by_name::<String, _>("day").unwrap().unwrap_or_default(),
                        r.get_by_name::<String, _>("status").unwrap().unwrap(),
                    )
                })
                .collect()
        })
    }

    #[pg_test]
    fn sync_date_catches_up_every_missed_day_and_leaves_an_unpublished_one() {
        let emu = start(EmulatorConfig::default());
        let days = newest_trading_days(&emu, 5);
        sync(&format!("SELECT * FROM baostock.sync_date('{}')", days[0]));
        // The newest day is not published yet: the server's clock is that morning.
        emu.controls().set_clock(Some(days[4].and_hms_opt(10, 0, 0).unwrap()));
        emu.reset_counters();
        let rows = statuses("SELECT day::text AS day, status FROM baostock.sync_date()");
        let want: Vec<(String, String)> = days[1..4].iter().map(|d| (d.to_string(), "ok".to_string())).collect();
        assert_eq!(rows, want);
        assert_eq!(
            count(&format!(
                "SELECT count(*) FROM baostock.synced_days WHERE day > '{}'",
                days[0]
            )),
            3
        );
        // Three days of 98 + 9A + 9C: nothing is asked of the day the server has not published
        // by its clock (learnt from a login first).
        assert_eq!(
            emu.counters().requests("98"),
            3,
            "{:?}",
            emu.counters().requests_by_type
        );
        assert_eq!(emu.counters().requests("9A"), 3);
        // One run per day synced.
        assert_eq!(
            count(&format!(
                "SELECT count(*) FROM baostock.sync_runs WHERE kind = 'sync_date' AND day > '{}'",
                days[0]
            )),
            3
        );
        // Between 17:30 and 18:00 the day's bars are stored but it is not marked synced: its
        // factors are not out yet.
        emu.controls().set_clock(Some(days[4].and_hms_opt(17, 45, 0).unwrap()));
        let rows = statuses("SELECT day::text AS day, status FROM baostock.sync_date()");
        assert_eq!(rows, vec![(days[4].to_string(), "incomplete".to_string())]);
        assert_eq!(
            count(&format!(
                "SELECT count(*) FROM baostock.synced_days WHERE day = '{}'",
                days[4]
            )),
            0
        );
        assert!(
            count(&format!(
                "SELECT count(*) FROM baostock.daily_bars WHERE date = '{}'",
                days[4]
            )) > 0
        );
        // Later that evening the day is whole and the next call takes only that day.
        emu.controls().set_clock(Some(days[4].and_hms_opt(18, 30, 0).unwrap()));
        let rows = statuses("SELECT day::text AS day, status FROM baostock.sync_date()");
        assert_eq!(rows, vec![(days[4].to_string(), "ok".to_string())]);
    }

    #[pg_test]
    fn a_day_without_etfs_is_incomplete_and_not_marked_synced() {
        let (emu, day) = start_with_reference_data();
        emu.controls().set_faults(FaultConfig {
            script: vec![ScriptedFault {
                msg_type: "9A".into(),
                nth: 1,
                mode: FaultMode::Empty,
            }],
            ..FaultConfig::default()
        });
        emu.reset_counters();
        let (status, inserted, ..) = sync(&format!("SELECT * FROM baostock.sync_date('{day}')"));
        assert_eq!((status.as_str(), inserted), ("incomplete", 0));
        assert_eq!(synced(day), 0);
        assert_eq!(bars_of(day), 0);
        let why = Spi::get_one::<String>(
            "SELECT error_message FROM baostock.sync_runs WHERE status = 'incomplete' ORDER BY run_id DESC LIMIT 1",
        )
        .unwrap()
        .unwrap();
        assert!(why.contains("0 ETF bars"), "{why}");
        // The fault is spent: the next call completes the day.
        let (status, ..) = sync(&format!("SELECT * FROM baostock.sync_date('{day}')"));
        assert_eq!(status, "ok");
    }

    #[pg_test]
    fn a_hole_shows_in_health_and_gaps() {
        let (emu, day) = start_with_reference_data();
        let next: Vec<NaiveDate> = emu
            .market()
            .trade_dates()
            .iter()
            .copied()
            .filter(|t| *t > day)
            .take(2)
            .collect();
        sync(&format!("SELECT * FROM baostock.sync_calendar('{day}', '{}')", next[1]));
        sync(&format!("SELECT * FROM baostock.sync_date('{day}')"));
        sync(&format!("SELECT * FROM baostock.sync_date('{}')", next[1]));
        let holes = Spi::get_one::<i32>("SELECT holes FROM baostock.sync_health()").unwrap();
        assert_eq!(holes, Some(1));
        assert_eq!(health().0, "stale");
        let gap =
            Spi::get_one::<String>("SELECT day::text FROM baostock.gaps WHERE missing = 'day not synced'").unwrap();
        assert_eq!(gap, Some(next[0].to_string()));
        sync(&format!("SELECT * FROM baostock.sync_date('{}')", next[0]));
        assert_eq!(
            Spi::get_one::<i32>("SELECT holes FROM baostock.sync_health()").unwrap(),
            Some(0)
        );
        assert_eq!(count("SELECT count(*) FROM baostock.gaps"), 0);
    }

    #[pg_test]
    fn bad_input_to_backfill_plan_wait_and_cancel_queues_nothing() {
        let (_emu, day) = start_with_reference_data();
        Spi::run("DELETE FROM baostock.sync_jobs").unwrap();
        let cases = [
            ("SELECT baostock.backfill(NULL)", "22004"),
            ("SELECT baostock.backfill('2024-02-01', '2024-01-02')", "22023"),
            ("SELECT baostock.backfill('1980-01-01', '2024-01-02')", "22023"),
            (
                "SELECT baostock.backfill('2024-01-02', (now() AT TIME ZONE 'Asia/Shanghai')::date + 1)",
                "22023",
            ),
            (
                "SELECT baostock.backfill('2024-01-02', '2024-02-01', frequency => 'x')",
                "22023",
            ),
            (
                "SELECT baostock.backfill('2024-01-02', '2024-02-01', frequency => '5', codes => ARRAY['sh.000001'])",
                "22023",
            ),
            (
                "SELECT baostock.backfill('2024-01-02', '2024-02-01', frequency => NULL)",
                "22004",
            ),
            (
                "SELECT baostock.backfill('2024-01-02', '2024-02-01', force => NULL)",
                "22004",
            ),
            (
                "SELECT baostock.backfill('2024-01-02', '2024-02-01', codes => ARRAY[]::text[])",
                "22023",
            ),
            (
                "SELECT baostock.backfill('2024-01-02', '2024-02-01', codes => ARRAY['sh.999999'])",
                "22023",
            ),
            (
                "SELECT baostock.backfill('2024-01-02', '2024-02-01', codes => ARRAY[NULL::text])",
                "22004",
            ),
            ("SELECT * FROM baostock.plan(NULL)", "22004"),
            ("SELECT * FROM baostock.plan('2024-02-01', '2024-01-02')", "22023"),
            (
                "SELECT * FROM baostock.plan('2024-01-02', '2024-02-01', frequency => '60', codes => ARRAY['sh.000001'])",
                "22023",
            ),
            (
                "SELECT * FROM baostock.plan('2024-01-02', '2024-02-01', codes => ARRAY['bogus'])",
                "22023",
            ),
            ("SELECT baostock.wait(NULL)", "22004"),
            ("SELECT baostock.wait(-1)", "42704"),
            ("SELECT baostock.cancel(NULL)", "22004"),
            ("SELECT baostock.cancel(-1)", "42704"),
            // A valid call in a database the worker does not serve says so instead of queueing.
            ("SELECT baostock.backfill('2024-01-02', '2024-02-01')", "55000"),
        ];
        for (sql, want) in cases {
            assert_eq!(sqlstate_of(sql).as_deref(), Some(want), "{sql}");
        }
        assert_eq!(count("SELECT count(*) FROM baostock.sync_jobs"), 0);
        assert_eq!(count("SELECT count(*) FROM baostock.sync_units"), 0);

        // A job queued by this very transaction cannot be waited for: the worker cannot see it.
        let job = Spi::get_one::<i64>(
            "INSERT INTO baostock.sync_jobs (start_date, end_date, frequency, force, plan, est_requests, est_seconds)
             VALUES ('2024-01-02', '2024-01-02', 'd', false, '{}', 0, 0) RETURNING job_id",
        )
        .unwrap()
        .unwrap();
        assert_eq!(
            sqlstate_of(&format!("SELECT baostock.wait({job})")).as_deref(),
            Some("55000")
        );
        assert_eq!(
            Spi::get_one::<String>(&format!("SELECT baostock.cancel({job})"))
                .unwrap()
                .as_deref(),
            Some("cancelled")
        );
        let _ = day;
    }

    /// Rows of every table of the extension, to show a call wrote nothing.
    fn all_rows() -> i64 {
        count(
            "SELECT (SELECT count(*) FROM baostock.daily_bars) + (SELECT count(*) FROM baostock.adjust_factors)
                  + (SELECT count(*) FROM baostock.securities) + (SELECT count(*) FROM baostock.trade_calendar)
                  + (SELECT count(*) FROM baostock.synced_days) + (SELECT count(*) FROM baostock.synced_ranges)
                  + (SELECT count(*) FROM baostock.sync_runs) + (SELECT count(*) FROM baostock.sync_jobs)
                  + (SELECT count(*) FROM baostock.sync_units) + (SELECT count(*) FROM baostock.alerts)",
        )
    }

    #[pg_test]
    fn a_hundred_bad_calls_each_get_a_clear_sqlstate_and_write_and_ask_nothing() {
        let (emu, day) = start_with_reference_data();
        emu.reset_counters();
        let before = all_rows();
        let future = "(now() AT TIME ZONE 'Asia/Shanghai')::date + 2";
        let mut cases: Vec<(String, &str)> = Vec::new();
        let mut case = |sql: String, want: &'static str| cases.push((sql, want));
        // sync_date
        for (arg, want) in [
            ("NULL", "22004"),
            ("'-infinity'", "22023"),
            ("'1900-01-01'", "22023"),
            ("'1990-12-18'", "22023"),
            (future, "22023"),
            ("'2024-13-01'", "22008"),
            ("'not a date'", "22007"),
        ] {
            case(format!("SELECT * FROM baostock.sync_date({arg})"), want);
        }
        case(
            format!("SELECT * FROM baostock.sync_date('{day}', force => NULL)"),
            "22004",
        );
        case("SELECT * FROM baostock.sync_date(force => NULL)".into(), "22004");
        // sync_calendar
        for (args, want) in [
            ("'2024-02-01', '2024-01-01'", "22023"),
            ("'1980-01-01', '2024-01-01'", "22023"),
            ("'infinity'", "22023"),
            ("'2024-01-01', '-infinity'", "22023"),
            ("'-infinity', '2024-01-01'", "22023"),
        ] {
            case(format!("SELECT * FROM baostock.sync_calendar({args})"), want);
        }
        // backfill and plan take the same arguments and refuse the same way.
        let job_args: Vec<(String, &str)> = vec![
            ("NULL".into(), "22004"),
            ("'-infinity'".into(), "22023"),
            ("'infinity'".into(), "22023"),
            ("'1980-01-01'".into(), "22023"),
            ("'2024-02-01', '2024-01-02'".into(), "22023"),
            (format!("'2024-01-02', {future}"), "22023"),
            ("'2024-01-02', 'infinity'".into(), "22023"),
            ("'2024-01-02', '2024-02-01', frequency => NULL".into(), "22004"),
            ("'2024-01-02', '2024-02-01', frequency => ''".into(), "22023"),
            ("'2024-01-02', '2024-02-01', frequency => 'D'".into(), "22023"),
            ("'2024-01-02', '2024-02-01', frequency => 'daily'".into(), "22023"),
            ("'2024-01-02', '2024-02-01', frequency => '1'".into(), "22023"),
            ("'2024-01-02', '2024-02-01', frequency => 'W'".into(), "22023"),
            ("'2024-01-02', '2024-02-01', frequency => '120'".into(), "22023"),
            (
                "'2024-01-02', '2024-02-01', frequency => '5', codes => ARRAY['sh.000001']".into(),
                "22023",
            ),
            (
                "'2024-01-02', '2024-02-01', frequency => '15', codes => ARRAY['sh.600000', 'sh.000300']".into(),
                "22023",
            ),
            (
                "'2024-01-02', '2024-02-01', frequency => '30', codes => ARRAY['sz.399001']".into(),
                "22023",
            ),
            (
                "'2024-01-02', '2024-02-01', frequency => '60', codes => ARRAY['sh.600000', 'sz.399001']".into(),
                "22023",
            ),
            ("'2024-01-02', '2024-02-01', force => NULL".into(), "22004"),
            ("'2024-01-02', '2024-02-01', factors => NULL".into(), "22004"),
            ("'2024-01-02', '2024-02-01', codes => ARRAY[]::text[]".into(), "22023"),
            ("'2024-01-02', '2024-02-01', codes => ARRAY[NULL::text]".into(), "22004"),
            (
                "'2024-01-02', '2024-02-01', codes => ARRAY['sh.600000', NULL]".into(),
                "22004",
            ),
            ("'2024-01-02', '2024-02-01', codes => ARRAY['600000']".into(), "22023"),
            (
                "'2024-01-02', '2024-02-01', codes => ARRAY['sh.999999']".into(),
                "22023",
            ),
            (
                "'2024-01-02', '2024-02-01', codes => ARRAY['sh.600000', 'sz.399999']".into(),
                "22023",
            ),
            (
                "'2024-01-02', '2024-02-01', codes => ARRAY['sh.60000０']".into(),
                "22023",
            ),
            (
                "'2024-01-02', '2024-02-01', codes => ARRAY[repeat('x', 10000)]".into(),
                "22023",
            ),
        ];
        for (args, want) in &job_args {
            case(format!("SELECT baostock.backfill({args})"), want);
            case(format!("SELECT * FROM baostock.plan({args})"), want);
        }
        // Job ids
        for f in ["wait", "cancel", "retry"] {
            case(format!("SELECT baostock.{f}(NULL)"), "22004");
            for id in ["-1", "0", "9223372036854775807"] {
                case(format!("SELECT baostock.{f}({id})"), "42704");
            }
            case(format!("SELECT baostock.{f}('x')"), "22P02");
        }
        // schedule_daily: bad times first, then a missing pg_cron.
        for (times, want) in [
            ("NULL", "22004"),
            ("ARRAY[]::text[]", "22023"),
            ("ARRAY['25:00']", "22023"),
            ("ARRAY['12:60']", "22023"),
            ("ARRAY['8:00']", "22023"),
            ("ARRAY['18:30', NULL]", "22023"),
            ("ARRAY['18:30', '18:30']", "22023"),
            ("ARRAY['18:30; DROP TABLE x']", "22023"),
            ("ARRAY['18:30']", "55000"),
        ] {
            case(format!("SELECT * FROM baostock.schedule_daily({times})"), want);
        }
        case("SELECT baostock.unschedule_daily()".into(), "55000");
        // Settings
        for (setting, want) in [
            ("baostock.max_sessions = 0", "22023"),
            ("baostock.max_sessions = 7", "22023"),
            ("baostock.max_sessions = 'two'", "22023"),
            ("baostock.retries = -1", "22023"),
            ("baostock.retries = 11", "22023"),
            ("baostock.port = 0", "22023"),
            ("baostock.port = 70000", "22023"),
            ("baostock.request_timeout = 0", "22023"),
            ("baostock.request_timeout = '2h'", "22023"),
            ("baostock.request_timeout = 'forever'", "22023"),
            ("baostock.read_timeout = '-1s'", "22023"),
            ("baostock.connect_timeout = '0'", "22023"),
            ("baostock.min_request_interval = '2min'", "22023"),
            ("baostock.batch_rows = 0", "22023"),
            ("baostock.batch_rows = 1000000", "22023"),
            ("baostock.catchup_days = 0", "22023"),
            ("baostock.catchup_days = 1001", "22023"),
            ("baostock.client_version = E'00.9.4\\x01'", "22023"),
            ("baostock.host = E'127.0.0.1\\x01'", "22023"),
            ("baostock.host = E'127.0.0.1\\n'", "22023"),
            ("baostock.password = E'12\\n3456'", "22023"),
            ("baostock.api_key = E'key\\x01'", "22023"),
            ("baostock.daily_request_budget = 100", "55P02"),
            ("baostock.blacklist_pause = '1h'", "55P02"),
            ("baostock.retry_pause = '1s'", "55P02"),
            ("baostock.stale_after = '1h'", "55P02"),
            ("baostock.retention = 1", "55P02"),
            ("baostock.worker_database = 'x'", "55P02"),
            ("baostock.credentials_file = '/tmp/x'", "55P02"),
            ("baostock.alert_webhook = 'http://x/'", "55P02"),
            ("baostock.max_session = 2", "42602"),
            ("baostock.hots = 'x'", "42602"),
        ] {
            case(format!("SET {setting}"), want);
        }
        // `user` is a keyword: SET baostock.user needs quotes, set_config does not.
        case(
            "SELECT set_config('baostock.user', E'anon\\x01ymous', false)".into(),
            "22023",
        );
        case("SET baostock.\"user\" = E'anon\\nymous'".into(), "22023");
        assert!(cases.len() >= 100, "only {} cases", cases.len());
        let mut wrong = Vec::new();
        for (sql, want) in &cases {
            let got = sqlstate_of(sql);
            if got.as_deref() != Some(*want) {
                wrong.push(format!("{sql}: got {got:?}, want {want}"));
            }
        }
        assert!(
            wrong.is_empty(),
            "{} of {} calls:\n{}",
            wrong.len(),
            cases.len(),
            wrong.join("\n")
        );
        assert_eq!(all_rows(), before, "a bad call wrote something");
        assert_eq!(emu.counters().total_requests(), 0, "a bad call asked the server");
    }

    #[pg_test]
    fn plan_says_how_many_china_days_the_budget_makes_a_backfill_take() {
        let _ = start_with_reference_data();
        // The default budget: 40,000 a day, 38,000 of them for backfills.
        let days = |requests: i64| {
            Spi::get_one::<i64>(&format!(
            "SELECT est_days FROM baostock.plan('2024-01-02', '2024-03-29') WHERE kind = 'total' AND est_requests = {requests}"
        ))
        };
        let total = count("SELECT est_requests FROM baostock.plan('2024-01-02', '2024-03-29') WHERE kind = 'total'");
        assert_eq!(days(total).unwrap(), Some((total + 37_999) / 38_000));
        // The arithmetic alone (a budget all reserve, no budget): pg_baostock_core::plan's tests.
    }

    #[pg_test]
    fn plan_counts_day_units_for_unsynced_days_and_code_units_for_codes() {
        let (emu, day) = start_with_reference_data();
        let days: Vec<NaiveDate> = emu
            .market()
            .trade_dates()
            .iter()
            .copied()
            .filter(|t| *t >= d(2024, 3, 1) && *t <= d(2024, 3, 31))
            .collect();
        let (first, last) = (days[0], days[days.len() - 1]);
        sync(&format!("SELECT * FROM baostock.sync_date('{}')", days[3]));
        let units = |sql: &str| -> (i64, i64) {
            Spi::connect(|c| {
                let r = c.select(sql, None, &[]).unwrap().first();
                (
                    r.get_by_name::<i64, _>("units").unwrap().unwrap(),
                    r.get_by_name::<i64, _>("est_requests").unwrap().unwrap(),
                )
            })
        };
        let (n, requests) = units(&format!(
            "SELECT * FROM baostock.plan('{first}', '{last}') WHERE kind = 'day'"
        ));
        assert_eq!(n, days.len() as i64 - 1, "the synced day is not planned again");
        assert_eq!(requests, 3 * n);
        let (n, _) = units(&format!(
            "SELECT * FROM baostock.plan('{first}', '{last}', force => true) WHERE kind = 'day'"
        ));
        assert_eq!(n, days.len() as i64);
        // Per code: the synced day splits the bar range in two; one factor history.
        let code = Spi::get_one::<String>(
            "SELECT code FROM baostock.securities
             WHERE sec_type = 1 AND ipo_date < '2024-01-01' AND out_date IS NULL ORDER BY code LIMIT 1",
        )
        .unwrap()
        .unwrap();
        let (n, _) = units(&format!(
            "SELECT * FROM baostock.plan('{first}', '{last}', codes => ARRAY['{code}']) WHERE kind = 'range'"
        ));
        assert_eq!(n, 2);
        let (n, _) = units(&format!(
            "SELECT * FROM baostock.plan('{first}', '{last}', codes => ARRAY['{code}']) WHERE kind = 'factors'"
        ));
        assert_eq!(n, 1);
        assert_eq!(count("SELECT count(*) FROM baostock.sync_jobs"), 0);
        let _ = day;
    }

    /// sync_macro fetches the five series whole: every money-supply month the server has
    /// released (the 15th of the next month) from 1990 on, no gap; rate changes ascending and
    /// none after the server's day; a second call changes nothing.
    #[pg_test]
    fn the_macro_series_are_synced_whole_and_a_second_call_changes_nothing() {
        let emu = start(EmulatorConfig::default());
        let now = d(2024, 6, 20).and_hms_opt(10, 0, 0).unwrap();
        emu.controls().set_clock(Some(now));
        let rows = |sql: &str| -> Vec<(String, String, i64, i64, i64)> {
            Spi::connect(|c| {
                c.select(sql, None, &[])
                    .unwrap()
                    .map(|r| {
                        (
                            r.get_by_name::<String, _>("series").unwrap().unwrap(),
                            r.get_by_name::<String, _>("status").unwrap().unwrap(),
                            r.get_by_name::<i64, _>("rows_inserted").unwrap().unwrap(),
                            r.get_by_name::<i64, _>("rows_updated").unwrap().unwrap(),
                            r.get_by_name::<i64, _>("rows_unchanged").unwrap().unwrap(),
                        )
                    })
                    .collect()
            })
        };
        let first = rows("SELECT * FROM baostock.sync_macro()");
        let names: Vec<&str> = first.iter().map(|r| r.0.as_str()).collect();
        assert_eq!(
            names,
            [
                "deposit_rate",
                "loan_rate",
                "reserve_ratio",
                "money_supply_month",
                "money_supply_year"
            ]
        );
        for (name, status, inserted, updated, unchanged) in &first {
            assert_eq!((status.as_str(), *updated, *unchanged), ("ok", 0, 0), "{name}");
            assert!(*inserted > 0, "{name}: nothing inserted");
        }
        // The months released by the server's day: a month on the 15th of the next one.
        let bound = now.date().min(emu.market().calendar().end());
        let mut released = 0i64;
        let (mut y, mut m) = (1990, 1);
        while NaiveDate::from_ymd_opt(if m == 12 { y + 1 } else { y }, m % 12 + 1, 15).unwrap() <= bound {
            released += 1;
            (y, m) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
        }
        let months = Spi::get_one::<i64>("SELECT count(*) FROM baostock.report_money_supply_month").unwrap();
        assert_eq!(months, Some(released));
        let contiguous = Spi::get_one::<bool>(
            "SELECT max(stat_year * 12 + stat_month) - min(stat_year * 12 + stat_month) + 1 = count(*)
                    AND min(stat_year * 12 + stat_month) = 1990 * 12 + 1
             FROM baostock.report_money_supply_month",
        )
        .unwrap();
        assert_eq!(contiguous, Some(true));
        let rates_in_order = Spi::get_one::<bool>(
            "SELECT bool_and(pub_date > prev) AND max(pub_date) <= '2024-06-20' AND count(*) >= 10
             FROM (SELECT pub_date, lag(pub_date, 1, '1989-12-31') OVER (ORDER BY pub_date) AS prev
                   FROM baostock.report_deposit_rate) r",
        )
        .unwrap();
        assert_eq!(rates_in_order, Some(true));
        let again = rows("SELECT * FROM baostock.sync_macro()");
        for ((name, status, inserted, updated, unchanged), before) in again.iter().zip(&first) {
            assert_eq!(
                (status.as_str(), *inserted, *updated, *unchanged),
                ("ok", 0, 0, before.2),
                "{name}: a second call"
            );
        }
    }
}
