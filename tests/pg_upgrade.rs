//! A live database moved from PostgreSQL 15 to 18 with 18's pg_upgrade, as the manual's
//! "Upgrading" tells a user to: a 15 cluster with pg_baostock, synced days, a finished job and
//! a queued one; `pg_upgrade --check` refusing while 18 lacks the library; a new 18 cluster
//! (`initdb --no-data-checksums`, like Debian's 15); pg_upgrade; then on 18 every table's rows
//! equal, the same extversion, the worker runs the queued job and `sync_date()` catches up.
//! Needs pg_baostock of this version installed into both (`bash scripts/test.sh pg_upgrade`).

use std::time::Duration;

use baostock_emulator::{Emulator, EmulatorConfig};
use pg_baostock_cluster_tests::{last_year, poll, repo_path, signal, stop_asleep, LibraryAside, Node};

const DB: &str = "market";

#[test]
fn a_live_database_moves_from_15_to_18_with_pg_upgrade() {
    let emu = Emulator::start(EmulatorConfig {
        codes: 300,
        ..EmulatorConfig::default()
    })
    .expect("start the emulator");
    let port = emu.addr().port();
    let settings = [
        "shared_preload_libraries = 'pg_baostock'".to_owned(),
        format!("baostock.worker_database = '{DB}'"),
        "baostock.host = '127.0.0.1'".to_owned(),
        format!("baostock.port = {port}"),
        "baostock.retry_pause = 0".to_owned(),
    ];
    let settings: Vec<&str> = settings.iter().map(String::as_str).collect();

    // PostgreSQL 15: synced days, a finished job and a queued one.
    let old = Node::started("pgupgrade-15", 15, 5496, &settings);
    old.sql("postgres", &format!("CREATE DATABASE {DB}"));
    old.sql(DB, "CREATE EXTENSION pg_baostock");
    let year = last_year();
    old.sql(
        DB,
        &format!(
            "SELECT count(*) FROM baostock.sync_calendar('{year}-01-01', '{year}-12-31');
             SELECT count(*) FROM baostock.sync_securities();"
        ),
    );
    let days: Vec<String> = old
        .sql(
            DB,
            &format!(
                "SELECT day FROM baostock.trade_calendar WHERE is_trading_day AND day >= '{year}-03-01' ORDER BY day LIMIT 6"
            ),
        )
        .lines()
        .map(str::to_owned)
        .collect();
    assert_eq!(days.len(), 6, "six trading days from March");
    for day in &days[..3] {
        assert_eq!(
            old.sql(DB, &format!("SELECT status FROM baostock.sync_date('{day}')")),
            "ok",
            "sync_date('{day}') on 15"
        );
    }
    let done_job = old.sql(
        DB,
        &format!(
            "SELECT baostock.backfill('{}', '{}', factors => false)",
            days[3], days[4]
        ),
    );
    assert_eq!(
        old.sql(DB, &format!("SELECT baostock.wait({done_job})")),
        "done",
        "job {done_job} on 15"
    );
    // A job left queued: the worker, stopped first, is sent to another database (it restarts
    // there and waits, as before CREATE EXTENSION), so it never claims it.
    let worker: i32 = old
        .sql(
            DB,
            "SELECT pid FROM pg_stat_activity WHERE backend_type = 'pg_baostock worker'",
        )
        .parse()
        .expect("the worker's pid");
    stop_asleep(worker, || {
        old.try_sql(
            DB,
            &format!("SELECT wait_event_type FROM pg_stat_activity WHERE pid = {worker}"),
        )
        .ok()
    });
    let queued_job = old.sql(
        DB,
        &format!("SELECT baostock.backfill('{0}', '{0}', factors => false)", days[5]),
    );
    old.sql(
        DB,
        "ALTER SYSTEM SET baostock.worker_database = 'postgres'; SELECT pg_reload_conf();",
    );
    assert!(signal(worker, "CONT"), "continue the worker {worker}");
    poll("the worker in database postgres", Duration::from_secs(30), || {
        let n = old
            .try_sql(
                DB,
                "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'pg_baostock worker' AND datname = 'postgres'",
            )
            .ok()?;
        (n == "1").then_some(())
    });
    assert_eq!(
        old.sql(
            DB,
            &format!("SELECT state FROM baostock.sync_jobs WHERE job_id = {queued_job}")
        ),
        "queued"
    );

    let mut before = old.table_digests(DB);
    before.push(old.sql(
        DB,
        "SELECT 'extversion ' || extversion FROM pg_extension WHERE extname = 'pg_baostock'",
    ));
    assert!(
        before
            .iter()
            .any(|l| l.starts_with("baostock.daily_bars ") && !l.starts_with("baostock.daily_bars 0 ")),
        "no daily bars stored on 15: {before:?}"
    );
    // The PostgreSQL 15.20 installed here stamps every column with an attribute option
    // pg_attver that stock 18 does not know: pg_upgrade's restore of the schema would stop at
    // the first table. The manual's step (docs/src/upgrading.md): clear it in every database.
    let clear = std::fs::read_to_string(repo_path("scripts/sql/clear-pg-attver.sql")).expect("clear-pg-attver.sql");
    for db in ["postgres", DB] {
        old.sql(db, &clear);
    }
    old.stop();

    // PostgreSQL 18, without data checksums (Debian's 15 clusters have none; pg_upgrade needs
    // both alike), not yet preloading the library: a server told to preload a library it lacks
    // does not start.
    let new = Node::create("pgupgrade-18", 18, 5497, &["--no-data-checksums"], &[]);
    let (old_port, new_port) = (old.port.to_string(), new.port.to_string());
    let upgrade = [
        "-b",
        &old.bin,
        "-B",
        &new.bin,
        "-d",
        &old.pgdata,
        "-D",
        &new.pgdata,
        "-p",
        &old_port,
        "-P",
        &new_port,
        "-s",
        &new.dir,
    ];
    {
        let _aside = LibraryAside::new(&new.pkglibdir());
        let check = new.try_run_as_postgres("pg_upgrade", &[&upgrade[..], &["--check"]].concat());
        assert!(
            !check.0,
            "pg_upgrade --check passed without pg_baostock in 18:\n{}",
            check.1
        );
        // What --check found missing, in the report of each of its runs.
        let reports: String = std::fs::read_dir(format!("{}/pg_upgrade_output.d", new.pgdata))
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|run| std::fs::read_to_string(run.path().join("loadable_libraries.txt")).ok())
            .collect();
        assert!(
            check.1.contains("pg_baostock") || reports.contains("pg_baostock"),
            "pg_upgrade --check did not name pg_baostock:\n{}",
            check.1
        );
    }
    let _ = std::fs::remove_dir_all(format!("{}/pg_upgrade_output.d", new.pgdata));
    // The worker starts in another database until the rows are compared.
    let mut on_18 = settings.clone();
    on_18.push("baostock.worker_database = 'postgres'");
    new.add_settings(&on_18);

    let upgraded = new.try_run_as_postgres("pg_upgrade", &upgrade);
    assert!(upgraded.0, "pg_upgrade failed:\n{}", upgraded.1);

    // PostgreSQL 18: the same rows and version; the worker runs the queued job; sync_date()
    // catches up.
    new.start();
    let mut after = new.table_digests(DB);
    after.push(new.sql(
        DB,
        "SELECT 'extversion ' || extversion FROM pg_extension WHERE extname = 'pg_baostock'",
    ));
    assert_eq!(after, before, "the rows or the version differ after pg_upgrade");
    new.sql(
        DB,
        &format!("ALTER SYSTEM SET baostock.worker_database = '{DB}'; SELECT pg_reload_conf();"),
    );
    assert_eq!(
        new.sql(DB, &format!("SELECT baostock.wait({queued_job})")),
        "done",
        "the queued job on 18"
    );
    assert_eq!(
        new.sql(
            DB,
            &format!("SELECT count(*) FROM baostock.synced_days WHERE day = '{}'", days[5])
        ),
        "1",
        "the queued job's day is synced"
    );
    // The catch-up of the days since (baostock.catchup_days of them); today may not be
    // published yet, or (17:30-18:00 China time) its bars but not its factors: incomplete.
    let statuses = new.sql(
        DB,
        "SELECT string_agg(DISTINCT status, ',' ORDER BY status) FROM baostock.sync_date()",
    );
    assert!(
        ["ok", "ok,not_available", "incomplete,ok"].contains(&statuses.as_str()),
        "sync_date() on 18 answered {statuses}"
    );
    drop(emu);
}
