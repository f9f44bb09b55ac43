//! pg_baostock on a real Citus 13.2.2 cluster of three local nodes (a coordinator and two
//! workers, `harness::Citus`) beside a single node (a fourth instance, no Citus), both with the
//! library preloaded and one emulator. The same days are synced and the same backfill jobs run
//! by each one's worker, and what is stored must be equal row for row (keys, digests, adjusted
//! prices), with the distributed rows in the shards on both workers and none in the
//! coordinator's shell tables; minute partitions made at run time are distributed too; the
//! health, gaps (holes made alike on both), coverage and tracked views work on the coordinator;
//! a job survives kill -9 of the coordinator's worker and a Citus worker node stopped under it;
//! closed minute months go columnar on both (the single node with the citus_columnar extension
//! alone) and back to heap when a day of them is fetched again; distribute() and the syncs
//! refuse clearly where they cannot run; a pg_dump of the coordinator restores and distributes
//! again; an update from the last release and an update to a next version and back (table
//! changes through baostock.table_ddl) reach every node and shard; last, the day in stages
//! (harness/stages.rs) on the coordinator.
//!
//! Needs Citus (scripts/setup-citus.sh) and pg_baostock installed for PostgreSQL 15; one test,
//! its steps in order (each a function below), as `bash scripts/test.sh citus` runs it.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use baostock_emulator::{Emulator, EmulatorConfig};
use pg_baostock_cluster_tests::*;

/// The coordinator's port; the workers are on the next two, the single node on the one after.
const PORT: u16 = 5480;
/// Days synced by sync_date() on both sides.
const DAYS: usize = 10;
/// The database of both sides.
const DB: &str = "postgres";
/// What the stored bar tables are compared by.
const DAILY: &str = "SELECT code, date, row_hash, qfq_open, qfq_close, hfq_open, hfq_close FROM baostock.daily_bars";
const MINUTE: &str = "SELECT code, frequency, time, date, row_hash FROM baostock.minute_bars";
const RANGES: &str = "SELECT code, kind, range_agg(span) FROM baostock.synced_ranges GROUP BY code, kind";
const BAR_TABLES: &str = "'{baostock.daily_bars,baostock.minute_bars,baostock.weekly_bars,baostock.monthly_bars,baostock.adjust_factors}'::regclass[]";

/// The two sides, their emulator and the update scripts the test put beside the installed ones.
struct Sides {
    citus: Citus,
    single: Node,
    emu: Emulator,
    planted: Planted,
}

fn step(what: &str) {
    println!("\n==> {what}");
}

fn int_of(s: &str) -> i64 {
    s.trim().parse().unwrap_or_else(|_| panic!("not an integer: {s:?}"))
}

impl Sides {
    fn coordinator(&self) -> &Node {
        &self.citus.coordinator
    }

    /// A query on the coordinator's database.
    fn c(&self, q: &str) -> String {
        self.citus.coordinator.sql(DB, q)
    }

    /// A query on the single node.
    fn s(&self, q: &str) -> String {
        self.single.sql(DB, q)
    }

    /// Both sides.
    fn both(&self) -> [&Node; 2] {
        [&self.single, &self.citus.coordinator]
    }

    fn control(&self, line: &str) {
        let out = baostock_emulator::control_port::execute(self.emu.controls(), line);
        assert!(out.contains("\"ok\":true"), "{line}: {out}");
    }

    /// Each `(table, query)` holds rows on the single node and the same rows in the cluster.
    fn same_rows(&self, tables: &[(&str, &str)]) {
        for (table, query) in tables {
            let single = self.single.digest(DB, query);
            assert!(!single.starts_with("0 "), "{table}: no rows on the single node");
            assert_eq!(
                self.coordinator().digest(DB, query),
                single,
                "{table} (digest and rows)"
            );
        }
    }

    /// A distributed table's rows are in its shards on both workers, none in the coordinator's
    /// shells (its own and, for minute_bars, each partition's).
    fn in_shards(&self, table: &str) {
        let shells = self.c(&format!(
            "SELECT sum(pg_relation_size(t)) FROM (
               SELECT 'baostock.{table}'::regclass AS t UNION SELECT relid FROM pg_partition_tree('baostock.{table}')) p"
        ));
        assert_eq!(shells, "0", "{table}: the coordinator's shells hold rows");
        let per_node = self.c(&format!(
            "SELECT string_agg(n::text, ' ' ORDER BY port) FROM (
               SELECT nodeport AS port, sum(result::bigint) AS n
               FROM run_command_on_placements('baostock.{table}', 'SELECT count(*) FROM %s') GROUP BY nodeport) p"
        ));
        let counts: Vec<i64> = per_node.split_whitespace().map(int_of).collect();
        assert_eq!(counts.len(), 2, "{table}: rows on {per_node:?}");
        assert!(
            counts.iter().all(|&n| n > 0),
            "{table}: a worker holds no rows ({per_node})"
        );
    }

    /// The same backfill (arguments of baostock.backfill) queued on both sides: the job ids.
    fn queue_both(&self, args: &str) -> (i64, i64) {
        let q = format!("SELECT baostock.backfill({args})");
        (int_of(&self.s(&q)), int_of(&self.c(&q)))
    }

    /// Both jobs of [`Sides::queue_both`] end done.
    fn both_done(&self, (single, citus): (i64, i64)) {
        assert_eq!(
            wait_job(&self.single, single),
            "done",
            "job {single} on the single node"
        );
        assert_eq!(
            wait_job(self.coordinator(), citus),
            "done",
            "job {citus} on the coordinator"
        );
    }

    /// Waits until a job of the coordinator has done some of its units and not all.
    fn mid_job(&self, job: i64) {
        poll(&format!("job {job} to be under way"), Duration::from_secs(60), || {
            let (ended, _, total) = units(self.coordinator(), job);
            assert!(
                !(total > 0 && ended >= total),
                "job {job} ended before it could be interrupted"
            );
            (ended >= 2).then_some(())
        });
    }

    fn log_of_coordinator(&self) -> String {
        std::fs::read_to_string(&self.coordinator().log).unwrap_or_default()
    }
}

/// The state a job ends in (through restarts of its node), waited for at most 10 minutes.
fn wait_job(node: &Node, job: i64) -> String {
    poll(&format!("job {job} to end"), Duration::from_secs(600), || {
        let state = node
            .try_sql(
                DB,
                &format!("SELECT state FROM baostock.sync_jobs WHERE job_id = {job}"),
            )
            .ok()?;
        ["done", "failed", "cancelled"]
            .contains(&state.as_str())
            .then_some(state)
    })
}

/// A job's units: ended (done, empty, ...), failed, all.
fn units(node: &Node, job: i64) -> (i64, i64, i64) {
    let out = node.sql(
        DB,
        &format!(
            "SELECT count(*) FILTER (WHERE state NOT IN ('queued', 'running')) || ' '
                    || count(*) FILTER (WHERE state = 'failed') || ' ' || count(*)
             FROM baostock.sync_units WHERE job_id = {job}"
        ),
    );
    let n: Vec<i64> = out.split_whitespace().map(int_of).collect();
    (n[0], n[1], n[2])
}

/// `pg_config --FLAG` of PostgreSQL 15.
fn pg15_config(flag: &str) -> String {
    pg_config(&node::pg_bin(15), flag)
}

/// `scripts/assemble-update.sh FROM` with a table part of its own: whether it succeeded.
fn assemble(from: &str, to: &str, part: &str, out: &str, install_script: &str) -> bool {
    Command::new("bash")
        .arg(repo_path("scripts/assemble-update.sh"))
        .arg(from)
        .env("UPDATE_TO", to)
        .env("UPDATE_PART", part)
        .env("UPDATE_OUT", out)
        .env("INSTALL_SCRIPT", install_script)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .expect("run assemble-update.sh")
        .success()
}

#[test]
fn a_citus_cluster_stores_what_a_single_node_stores() {
    assert!(
        Path::new(&format!("{}/pg_baostock.so", pg15_config("pkglibdir"))).exists(),
        "pg_baostock is not installed for PostgreSQL 15 (cargo pgrx install first)"
    );
    let emu = Emulator::start(EmulatorConfig {
        codes: 300,
        ..EmulatorConfig::default()
    })
    .expect("start the emulator");
    step(&format!(
        "the emulator on {}, a Citus cluster on ports {PORT}-{}, the single node on {}",
        emu.addr(),
        PORT + 2,
        PORT + 3
    ));
    let sides = Sides {
        citus: Citus::started("citus-test", PORT, "citus,pg_baostock"),
        single: Node::started(
            "citus-single",
            15,
            PORT + 3,
            &["shared_preload_libraries = 'pg_baostock'"],
        ),
        emu,
        planted: Planted::default(),
    };
    let emulator_port = sides.emu.addr().port();
    for node in sides.citus.nodes().into_iter().chain([&sides.single]) {
        node.sql(
            DB,
            &format!(
                "ALTER SYSTEM SET baostock.host = '127.0.0.1'; ALTER SYSTEM SET baostock.port = {emulator_port};
                 SELECT pg_reload_conf();"
            ),
        );
    }

    create_and_refuse(&sides);
    let days = reference_data_and_days(&sides);
    let day = days[0].clone();
    re_syncs(&sides, &day);
    let window = backfill_jobs(&sides);
    views_on_the_coordinator(&sides, &window);
    jobs_through_failures(&sides, &window);
    columnar_months(&sides, &window);
    dump_and_restore(&sides);
    update_from_the_last_release(&sides, &day);
    update_to_a_next_version_and_back(&sides, &day, &window);

    step("the day in stages on the coordinator (tests/publication.rs): each kind stored by the first sync_date() after its publication");
    sides.c("ALTER SYSTEM RESET baostock.worker_database; SELECT pg_reload_conf();");
    point_at(sides.coordinator());
    stages::each_kind_is_stored_by_the_first_call_after_its_publication_and_never_marked_before();
}

fn create_and_refuse(sides: &Sides) {
    step("CREATE EXTENSION on the coordinator reaches the workers");
    sides.c("SET client_min_messages = warning; CREATE EXTENSION pg_baostock;");
    let version = "SELECT extversion FROM pg_extension WHERE extname = 'pg_baostock'";
    for worker in &sides.citus.workers {
        assert_eq!(
            worker.sql(DB, version),
            sides.c(version),
            "pg_baostock on worker {}",
            worker.port
        );
    }
    sides.s("CREATE EXTENSION pg_baostock");

    step("bad input: distribute() without Citus, with a bad shard count, on a worker; syncs on a worker");
    let coordinator = sides.coordinator();
    let [_, worker1, worker2] = sides.citus.nodes();
    for (node, call, want, what) in [
        (
            &sides.single,
            "SELECT baostock.distribute()",
            "55000",
            "distribute() without Citus",
        ),
        (coordinator, "SELECT baostock.distribute(0)", "22023", "distribute(0)"),
        (
            coordinator,
            "SELECT baostock.distribute(64001)",
            "22023",
            "distribute(64001)",
        ),
        (
            worker1,
            "SELECT baostock.distribute()",
            "55000",
            "distribute() on a worker",
        ),
        (
            worker2,
            "SELECT baostock.sync_calendar()",
            "55000",
            "sync_calendar() on a worker",
        ),
    ] {
        assert_eq!(node.sqlstate(DB, call), want, "{what}");
    }
    assert_eq!(
        sides.c("SELECT count(*) FROM pg_dist_partition WHERE logicalrelid::text LIKE 'baostock.%'"),
        "0",
        "distributed by the refused calls"
    );
}

/// Reference data into both, distribute(4), then sync_date() of the days both sides compare:
/// the days, oldest first.
fn reference_data_and_days(sides: &Sides) -> Vec<String> {
    step("reference data into both databases, then distribute() with 4 shards (rows move to the shards)");
    for node in sides.both() {
        node.sql(
            DB,
            "SELECT status FROM baostock.sync_calendar(); SELECT status FROM baostock.sync_securities();",
        );
    }
    let out = sides.c("SET client_min_messages = warning; SELECT * FROM baostock.distribute(4);");
    let count = |suffix: &str| out.lines().filter(|l| l.ends_with(suffix)).count();
    assert_eq!(
        count("|distributed by code|distributed (4 shards)"),
        5,
        "distribute(4): distributed tables\n{out}"
    );
    assert_eq!(
        count("|reference|made a reference table"),
        4,
        "distribute(4): reference tables\n{out}"
    );
    assert_eq!(
        sides.c("SELECT count(*) FROM baostock.distribute() WHERE action NOT LIKE 'already%'"),
        "0",
        "distribute() again: nothing to do"
    );
    assert_eq!(
        sides.coordinator().sqlstate(DB, "SELECT baostock.distribute(8)"),
        "22023",
        "distribute(8) after 4"
    );
    let securities = "SELECT count(*) FROM baostock.securities";
    assert_eq!(
        sides.c(securities),
        sides.s(securities),
        "securities kept through distribute()"
    );

    // The newest trading days, and as many from the first of July on (the dividend season:
    // days with factors to write).
    let half = DAYS / 2;
    let days: Vec<String> = sides
        .s(&format!(
            "SELECT day FROM (
               (SELECT day FROM baostock.trade_calendar WHERE is_trading_day AND day < baostock.latest_trading_day()
                ORDER BY day DESC LIMIT {half})
               UNION
               (SELECT day FROM baostock.trade_calendar WHERE is_trading_day
                  AND day >= make_date(extract(year FROM baostock.latest_trading_day() - 200)::int, 7, 1)
                ORDER BY day LIMIT {rest})) d ORDER BY day",
            rest = DAYS - half
        ))
        .lines()
        .map(str::to_owned)
        .collect();
    assert_eq!(days.len(), DAYS, "{days:?}");
    step(&format!("sync_date of {DAYS} days into both: {}", days.join(" ")));
    for node in sides.both() {
        for day in &days {
            let status = node.sql(DB, &format!("SELECT status FROM baostock.sync_date('{day}')"));
            assert_eq!(status, "ok", "sync_date('{day}') on port {}", node.port);
        }
    }

    step("the same rows on the single node and in the Citus cluster");
    sides.same_rows(&[
        ("daily_bars", DAILY),
        (
            "adjust_factors",
            "SELECT code, operate_date, fore_factor, back_factor, adjust_factor FROM baostock.adjust_factors",
        ),
        (
            "securities",
            "SELECT code, name, sec_type, status, ipo_date, out_date FROM baostock.securities",
        ),
        (
            "trade_calendar",
            "SELECT day, is_trading_day FROM baostock.trade_calendar",
        ),
        ("synced_days", "SELECT day, bars, factors FROM baostock.synced_days"),
    ]);
    step("the rows are in the shards on both workers, none in the coordinator's shell tables");
    sides.in_shards("daily_bars");
    sides.in_shards("adjust_factors");
    days
}

fn re_syncs(sides: &Sides, day: &str) {
    step("a forced re-sync of an unchanged day writes nothing");
    let forced = format!("SELECT rows_inserted || '|' || rows_updated FROM baostock.sync_date('{day}', true)");
    assert_eq!(sides.c(&forced), "0|0", "sync_date('{day}', true) inserted|updated");

    step("a day whose stored rows differ from the server's: exactly those rows are written again");
    sides.c(&format!(
        "UPDATE baostock.daily_bars SET close = close + 1, row_hash = row_hash + 1
         WHERE date = '{day}' AND code IN (SELECT code FROM baostock.daily_bars WHERE date = '{day}' ORDER BY code LIMIT 3)"
    ));
    assert_eq!(sides.c(&forced), "0|3", "sync_date('{day}', true) inserted|updated");
    let query = "SELECT code, date, row_hash, close, qfq_close, hfq_close FROM baostock.daily_bars";
    assert_eq!(
        sides.coordinator().digest(DB, query),
        sides.single.digest(DB, query),
        "daily_bars after the re-sync"
    );

    step("a role granted sync_date cannot make the sync write into a table of its own");
    // The rows go through a temporary table of the session: one the caller made beforehand
    // (with a trigger that would run as the function's owner) is refused, not written.
    sides.c(
        "CREATE ROLE citus_test_etl; GRANT EXECUTE ON FUNCTION baostock.sync_date(date, boolean) TO citus_test_etl;",
    );
    let planted = format!(
        "SET ROLE citus_test_etl;
         CREATE FUNCTION pg_temp.planted() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN RAISE EXCEPTION 'the planted trigger ran as %', current_user; END $$;
         CREATE TEMP TABLE baostock_stage_daily_bars (code text);
         CREATE TRIGGER planted BEFORE INSERT OR DELETE ON baostock_stage_daily_bars
           FOR EACH STATEMENT EXECUTE FUNCTION pg_temp.planted();
         SELECT * FROM baostock.sync_date('{day}', true);"
    );
    assert_eq!(
        sides.coordinator().sqlstate(DB, &planted),
        "55000",
        "sync_date() with a planted staging table"
    );
}

/// What the backfill jobs covered: fifty stocks (quoted, comma-separated) and the days.
struct Window {
    codes: String,
    from: String,
    to: String,
}

fn backfill_jobs(sides: &Sides) -> Window {
    // Fifty stocks, and a month end before the newest trading day: three trading days on each side.
    let codes = sides.s("SELECT string_agg(quote_literal(code), ',' ORDER BY code) FROM (
           SELECT code FROM baostock.securities WHERE sec_type = 1 AND out_date IS NULL ORDER BY code LIMIT 50) c");
    let bounds = sides.s(
        "WITH m AS (SELECT date_trunc('month', baostock.latest_trading_day() - 40)::date AS first)
         SELECT (SELECT min(day) FROM (SELECT day FROM baostock.trade_calendar, m
                                       WHERE is_trading_day AND day < m.first ORDER BY day DESC LIMIT 3) a)
             || ' ' ||
                (SELECT max(day) FROM (SELECT day FROM baostock.trade_calendar, m
                                       WHERE is_trading_day AND day >= m.first ORDER BY day LIMIT 3) b)",
    );
    let (from, to) = bounds.split_once(' ').expect("two days");
    let w = Window {
        codes,
        from: from.to_owned(),
        to: to.to_owned(),
    };
    let (codes, from, to) = (&w.codes, &w.from, &w.to);
    step(&format!(
        "backfill jobs by each side's worker: 5-minute bars of 50 codes from {from} to {to} (a month end), weekly and monthly bars"
    ));
    let jobs: Vec<(i64, i64)> = [
        format!("'{from}', '{to}', ARRAY[{codes}], '5'"),
        format!("'{from}'::date - 90, '{to}', ARRAY[{codes}], 'w'"),
        format!("'{from}'::date - 90, '{to}', ARRAY[{codes}], 'm'"),
    ]
    .iter()
    .map(|args| sides.queue_both(args))
    .collect();
    for pair in jobs {
        sides.both_done(pair);
    }
    // synced_ranges is a log (jobs run at different times on the two sides record a code's
    // factors once or more): what is compared is the days each code's ranges cover.
    sides.same_rows(&[
        ("minute_bars", MINUTE),
        (
            "weekly_bars",
            "SELECT code, period_start, date, row_hash FROM baostock.weekly_bars",
        ),
        (
            "monthly_bars",
            "SELECT code, period_start, date, row_hash FROM baostock.monthly_bars",
        ),
        ("synced_ranges", RANGES),
    ]);
    let partitions =
        int_of(&sides.c("SELECT count(*) FROM pg_inherits WHERE inhparent = 'baostock.minute_bars'::regclass"));
    assert!(
        partitions >= 2,
        "minute_bars: {partitions} partitions across a month end"
    );
    let colocated = int_of(&sides.c(
        "SELECT count(*) FROM pg_inherits i JOIN pg_dist_partition p ON p.logicalrelid = i.inhrelid
         WHERE i.inhparent = 'baostock.minute_bars'::regclass
           AND p.colocationid = (SELECT colocationid FROM pg_dist_partition WHERE logicalrelid = 'baostock.daily_bars'::regclass)",
    ));
    assert_eq!(
        colocated, partitions,
        "minute partitions made at run time: distributed, colocated with daily_bars"
    );
    for table in ["minute_bars", "weekly_bars", "monthly_bars"] {
        sides.in_shards(table);
    }
    w
}

/// `count: code frequency day missing, ...` of baostock.gaps.
const ALL_GAPS: &str =
    "SELECT count(*) || ': ' || coalesce(string_agg(concat_ws(' ', code, frequency, day, missing), ', '
                        ORDER BY code, frequency, day), '') FROM baostock.gaps";

fn views_on_the_coordinator(sides: &Sides, w: &Window) {
    step("health, gaps, coverage, tracked and the alerts on the coordinator");
    let (codes, from, to) = (&w.codes, &w.from, &w.to);
    for node in sides.both() {
        node.sql(
            DB,
            &format!("SELECT baostock.track(ARRAY[{codes}], frequencies => ARRAY['5', 'w'], start_date => '{from}')"),
        );
    }
    sides.same_rows(&[
        ("coverage", "SELECT * FROM baostock.coverage"),
        (
            "tracked",
            "SELECT code, frequency, start_date, newest, synced_through, current_through, lag_trading_days FROM baostock.tracked",
        ),
    ]);
    // gaps on both, with holes made on each side alike in a transaction rolled back: a daily
    // bar of a synced day, a day of 5-minute bars and a weekly bar of two codes' ranges.
    let two = sides.s(&format!(
        "SELECT string_agg(code, ' ' ORDER BY code) FROM (
           SELECT code FROM baostock.securities WHERE code IN ({codes}) ORDER BY code LIMIT 2) c"
    ));
    let (code_a, code_b) = two.split_once(' ').expect("two codes");
    let newest = sides.s("SELECT max(day) FROM baostock.synced_days");
    let gaps_with_holes = |node: &Node| {
        node.sql(
            DB,
            &format!(
                "BEGIN;
                 DELETE FROM baostock.daily_bars WHERE code = '{code_a}' AND date = '{newest}';
                 DELETE FROM baostock.minute_bars WHERE code = '{code_a}' AND frequency = 5 AND time > '{to}' AND time < '{to}'::date + 1;
                 DELETE FROM baostock.weekly_bars WHERE code = '{code_b}' AND period_start = (
                   SELECT period_start FROM baostock.weekly_bars WHERE code = '{code_b}' ORDER BY period_start OFFSET 1 LIMIT 1);
                 SELECT string_agg(concat_ws(' ', code, frequency, day, missing), ', ' ORDER BY code, frequency, day) FROM baostock.gaps;
                 ROLLBACK;"
            ),
        )
    };
    let single = gaps_with_holes(&sides.single);
    let gaps: Vec<&str> = single.split(", ").collect();
    let holes = [
        gaps.contains(&format!("{code_a} d {newest} bar").as_str()),
        gaps.contains(&format!("{code_a} 5 {to} minute bars").as_str()),
        gaps.iter()
            .any(|g| g.starts_with(&format!("{code_b} w ")) && g.ends_with(" weekly bar")),
    ];
    assert_eq!(holes, [true; 3], "gaps on the single node: the three holes in {single}");
    assert_eq!(gaps_with_holes(sides.coordinator()), single, "gaps on the coordinator");
    assert_eq!(
        sides.c(ALL_GAPS),
        sides.s(ALL_GAPS),
        "gaps without the holes (rolled back)"
    );
    assert_eq!(
        sides.c("SELECT status IS NOT NULL AND tracked_lagging IS NOT NULL FROM baostock.sync_health()"),
        "t",
        "sync_health() answers"
    );
    assert_eq!(
        sides.c("SELECT baostock.evaluate_alerts() >= 0"),
        "t",
        "evaluate_alerts() runs"
    );
    assert!(
        !sides.log_of_coordinator().contains("cannot evaluate alerts"),
        "the worker's alert ticks failed"
    );
}

fn jobs_through_failures(sides: &Sides, w: &Window) {
    let (codes, from, to) = (&w.codes, &w.from, &w.to);
    step("kill -9 of the coordinator's worker mid-job: the job ends done, the rows equal the single node's");
    sides.control("latency base_ms=150 jitter_ms=0 per_byte_ns=0");
    let (single_job, citus_job) = sides.queue_both(&format!("'{from}', '{to}', ARRAY[{codes}], '15'"));
    sides.mid_job(citus_job);
    let pid = int_of(&sides.c("SELECT pid FROM pg_stat_activity WHERE backend_type = 'pg_baostock worker'"));
    kill_9(pid as i32);
    sides.both_done((single_job, citus_job));
    assert_eq!(
        units(sides.coordinator(), citus_job),
        units(&sides.single, single_job),
        "the units (ended, failed, all) of the killed job"
    );
    sides.same_rows(&[("minute_bars", MINUTE), ("synced_ranges", RANGES)]);

    step("a Citus worker node stopped mid-job and started again: the job's second pass (or retry()) finishes what failed meanwhile");
    let (single_job, citus_job) = sides.queue_both(&format!("'{from}', '{to}', ARRAY[{codes}], '30'"));
    sides.mid_job(citus_job);
    let worker2 = &sides.citus.workers[1];
    assert!(worker2.pg_ctl(&["-m", "immediate", "-w", "stop"]), "stop worker 2");
    // Down until a unit has failed on it (the worker logs each failed unit with its error).
    let refused = format!(
        "failed: connection to the remote node postgres@127.0.0.1:{} failed",
        worker2.port
    );
    let unit_of_job = format!("job {citus_job} unit ");
    let failures = || {
        sides
            .log_of_coordinator()
            .lines()
            .filter(|l| l.contains(&unit_of_job) && l.contains(&refused))
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    let first = poll(
        &format!("a unit of job {citus_job} to fail while worker 2 is down"),
        Duration::from_secs(60),
        || failures().into_iter().next(),
    );
    println!(
        "    while worker 2 was down: {}",
        first.split("WARNING:").last().unwrap_or_default().trim()
    );
    worker2.start();
    let state = wait_job(sides.coordinator(), citus_job);
    let (_, failed, _) = units(sides.coordinator(), citus_job);
    println!(
        "    {} unit runs failed; the job ended {state} with {failed} units failed",
        failures().len()
    );
    if failed > 0 {
        let errors = sides.c(&format!(
            "SELECT string_agg(DISTINCT coalesce(error_sqlstate, '?') || ' ' || left(error_message, 120), ' / ')
             FROM baostock.sync_units WHERE job_id = {citus_job} AND state = 'failed'"
        ));
        println!("    their errors: {errors}");
        assert!(!errors.is_empty(), "failed units without an error");
        sides.c(&format!("SELECT baostock.retry({citus_job})"));
        assert_eq!(
            wait_job(sides.coordinator(), citus_job),
            "done",
            "job {citus_job} after retry()"
        );
    }
    sides.control("latency fast");
    assert_eq!(
        wait_job(&sides.single, single_job),
        "done",
        "job {single_job} on the single node"
    );
    assert_eq!(
        units(sides.coordinator(), citus_job).1,
        0,
        "units of job {citus_job} failed in the end"
    );
    sides.same_rows(&[("minute_bars", MINUTE), ("synced_ranges", RANGES)]);
}

/// `bytes table_bytes` of the minute months.
const SIZES: &str = "SELECT sum(bytes) || ' ' || sum(table_bytes) FROM baostock.minute_months";

fn sizes(node: &Node) -> (i64, i64) {
    let out = node.sql(DB, SIZES);
    let (all, table) = out.split_once(' ').expect("two sizes");
    (int_of(all), int_of(table))
}

fn columnar_months(sides: &Sides, w: &Window) {
    step("columnar months: with baostock.columnar_after the coordinator's worker stores the closed months columnar");
    let coordinator = sides.coordinator();
    let before = coordinator.digest(DB, MINUTE);
    let (heap_bytes, heap_table) = sizes(coordinator);
    assert!(
        heap_table > 0 && heap_table < heap_bytes,
        "minute months: {heap_table} bytes without indexes, {heap_bytes} with"
    );
    let methods = "SELECT string_agg(DISTINCT access_method, ',') FROM baostock.minute_months";
    assert_eq!(sides.c(methods), "heap", "minute months before");
    assert_eq!(
        coordinator.sqlstate(DB, "SELECT * FROM baostock.compress_minute_months('1 month')"),
        "55000",
        "compress_minute_months() without Citus columnar"
    );
    sides.c("SET client_min_messages = warning; CREATE EXTENSION citus_columnar;
             ALTER SYSTEM SET baostock.columnar_after = '1 month';");
    assert!(
        coordinator.pg_ctl(&["-l", &coordinator.log, "-m", "fast", "-w", "restart"]),
        "restart the coordinator"
    );
    poll("the worker's columnar pass", Duration::from_secs(60), || {
        let heap = coordinator
            .try_sql(
                DB,
                "SELECT count(*) FROM baostock.minute_months WHERE access_method = 'heap'",
            )
            .ok()?;
        (heap == "0").then_some(())
    });
    assert_eq!(sides.c(methods), "columnar", "minute months after the worker's pass");
    // The worker logs it once the conversion has committed.
    poll("the worker's log of the conversion", Duration::from_secs(10), || {
        sides
            .log_of_coordinator()
            .contains("2 months of minute bars stored columnar")
            .then_some(())
    });
    assert_eq!(
        coordinator.digest(DB, MINUTE),
        before,
        "minute_bars rows through the conversion"
    );
    let (columnar_bytes, columnar_table) = sizes(coordinator);
    println!(
        "    minute months: {heap_bytes} bytes heap, {columnar_bytes} columnar (without indexes: {heap_table}, {columnar_table})"
    );
    assert!(
        columnar_table < heap_table && columnar_bytes < heap_bytes,
        "columnar months take {columnar_bytes} bytes ({columnar_table} without indexes), heap {heap_bytes} ({heap_table})"
    );
    // On one node (no Citus, only its citus_columnar extension) by hand: the same months.
    let (single_heap, single_heap_table) = sizes(&sides.single);
    sides.s("SET client_min_messages = warning; CREATE EXTENSION citus_columnar;");
    assert_eq!(
        sides.s("SELECT count(*) FROM baostock.compress_minute_months('1 month')"),
        "2",
        "single node: compress_minute_months() converts 2 months"
    );
    let months = "SELECT string_agg(month || ' ' || access_method, ', ' ORDER BY month) FROM baostock.minute_months";
    assert_eq!(
        sides.s(months),
        sides.c(months),
        "single node: the same months columnar as on the cluster"
    );
    assert_eq!(
        sides.single.digest(DB, MINUTE),
        before,
        "single node: minute_bars rows through the conversion"
    );
    let (single_columnar, single_columnar_table) = sizes(&sides.single);
    println!(
        "    single node: {single_heap} bytes heap, {single_columnar} columnar (without indexes: {single_heap_table}, {single_columnar_table})"
    );
    assert!(
        single_columnar_table < single_heap_table && single_columnar < single_heap,
        "single node: columnar months take {single_columnar} bytes ({single_columnar_table} without indexes), heap {single_heap} ({single_heap_table})"
    );

    step("a forced re-fetch of a day in a columnar month stores the month heap again, the rows right");
    let (codes, from) = (&w.codes, &w.from);
    let month = sides.c(&format!("SELECT to_char(date '{from}', 'YYYYMM')"));
    sides.both_done(sides.queue_both(&format!("'{from}', '{from}', ARRAY[{codes}], '5', true")));
    for node in sides.both() {
        assert_eq!(
            node.sql(
                DB,
                &format!(
                    "SELECT access_method FROM baostock.minute_months WHERE month_table = 'baostock.minute_bars_{month}'::regclass"
                )
            ),
            "heap",
            "minute_bars_{month} stored heap again (port {})",
            node.port
        );
    }
    sides.same_rows(&[("minute_bars", MINUTE)]);
    assert_eq!(
        coordinator.sqlstate(
            DB,
            "SET ROLE citus_test_etl; SELECT * FROM baostock.compress_minute_months('1 day');"
        ),
        "42501",
        "compress_minute_months() without the extension's rights"
    );
    assert_eq!(
        sides.c("SELECT count(*) FROM baostock.compress_minute_months('1 month')"),
        "1",
        "the month columnar again by compress_minute_months()"
    );
}

fn dump_and_restore(sides: &Sides) {
    step("pg_dump of the coordinator, restored into a new database of the cluster and distribute()d again: the rows equal");
    let coordinator = sides.coordinator();
    let dump = format!("{}/coordinator.dump", sides.citus.dir);
    let port = coordinator.port.to_string();
    let at = ["-h", coordinator.dir.as_str(), "-p", port.as_str()];
    coordinator.run_as_postgres("pg_dump", &[&at[..], &["-d", DB, "-Fc", "-f", &dump]].concat());
    // A database with Citus on every node and the workers registered (what a user makes
    // first); the dump's CREATE EXTENSION IF NOT EXISTS citus finds it there, and no Citus
    // metadata is in the dump: the tables come back local.
    sides.citus.add_database("restored");
    coordinator.run_as_postgres(
        "pg_restore",
        &[&at[..], &["-d", "restored", "--exit-on-error", &dump]].concat(),
    );
    let restored = |q: &str| coordinator.sql("restored", q);
    assert_eq!(
        restored("SELECT count(*) FROM pg_dist_partition WHERE logicalrelid::text LIKE 'baostock.%'"),
        "0",
        "the restored tables are local until distribute()"
    );
    restored("SET client_min_messages = warning; SELECT count(*) FROM baostock.distribute(4);");
    assert_eq!(
        restored(&format!(
            "SELECT count(*) FROM pg_dist_partition WHERE logicalrelid = ANY({BAR_TABLES}) AND partmethod = 'h'"
        )),
        "5",
        "the restored bar tables distributed again"
    );
    for (table, query) in [
        ("daily_bars", DAILY),
        ("minute_bars", MINUTE),
        (
            "weekly_bars",
            "SELECT code, period_start, date, row_hash FROM baostock.weekly_bars",
        ),
        (
            "monthly_bars",
            "SELECT code, period_start, date, row_hash FROM baostock.monthly_bars",
        ),
        (
            "adjust_factors",
            "SELECT code, operate_date, fore_factor, back_factor, adjust_factor FROM baostock.adjust_factors",
        ),
        (
            "securities",
            "SELECT code, name, sec_type, status, ipo_date, out_date FROM baostock.securities",
        ),
        ("synced_days", "SELECT day, bars, factors FROM baostock.synced_days"),
        ("synced_ranges", "SELECT code, kind, span FROM baostock.synced_ranges"),
        (
            "minute_months",
            "SELECT month, access_method FROM baostock.minute_months",
        ),
    ] {
        assert_eq!(
            coordinator.digest("restored", query),
            coordinator.digest(DB, query),
            "{table} restored"
        );
    }
    assert_eq!(restored(ALL_GAPS), sides.c(ALL_GAPS), "gaps of the restored database");
}

fn update_from_the_last_release(sides: &Sides, day: &str) {
    step("ALTER EXTENSION UPDATE from the last release on a distributed database: every node updated, the rows kept, the store writes");
    // distribute() came with 0.3.0: a distributed database is at 0.3.0 or later. Its install
    // script is put beside this version's for the test alone (the library refuses syncs until
    // the update).
    let released = last_release();
    let current = sides.c("SELECT extversion FROM pg_extension WHERE extname = 'pg_baostock'");
    assert_ne!(released, current, "no release before this version");
    let extdir = format!("{}/extension", pg15_config("sharedir"));
    let script = sides.planted.copy(
        &repo_path(&format!("sql/released/pg_baostock--{released}.sql")),
        &format!("{extdir}/pg_baostock--{released}.sql"),
    );
    sides.citus.add_database("upgraded");
    let coordinator = sides.coordinator();
    let upgraded = |q: &str| coordinator.sql("upgraded", q);
    upgraded(&format!(
        "SET client_min_messages = warning; CREATE EXTENSION pg_baostock VERSION '{released}';
         SELECT count(*) FROM baostock.distribute(4);
         INSERT INTO baostock.daily_bars (code, date, open, close, volume)
           SELECT 'sh.60000' || g % 10, date '2026-01-05' + g / 10, 1.5 + g, 2.5 + g, g FROM generate_series(0, 99) g;
         INSERT INTO baostock.adjust_factors (code, operate_date, fore_factor, back_factor, adjust_factor)
           SELECT 'sh.60000' || g, date '2025-07-01', 0.9, 1.1, 1.1 FROM generate_series(0, 9) g;"
    ));
    let bars = "SELECT code, date, open, close, volume FROM baostock.daily_bars";
    let before = coordinator.digest("upgraded", bars);
    upgraded("ALTER EXTENSION pg_baostock UPDATE");
    let _ = std::fs::remove_file(&script);
    for node in sides.citus.nodes() {
        assert_eq!(
            node.sql(
                "upgraded",
                "SELECT extversion FROM pg_extension WHERE extname = 'pg_baostock'"
            ),
            current,
            "port {} updated from {released}",
            node.port
        );
    }
    assert_eq!(
        coordinator.digest("upgraded", bars),
        before,
        "daily_bars kept through the update from {released}"
    );
    assert_eq!(
        upgraded(&format!(
            "SELECT count(*) FROM pg_dist_partition WHERE logicalrelid = ANY({BAR_TABLES}) AND partmethod = 'h'"
        )),
        "5",
        "the bar tables still distributed"
    );
    assert_eq!(
        upgraded(
            "SELECT count(*) FROM pg_proc WHERE pronamespace = 'baostock'::regnamespace AND has_function_privilege('public', oid, 'EXECUTE')
               AND proname NOT IN ('sync_health', 'worker_status', 'latest_trading_day', 'stale_after', 'wait', 'newest_bar',
                                   'published_through', 'missing_bars', 'relation_bytes', 'distribution_of')"
        ),
        "0",
        "PUBLIC executes nothing beyond the allowlist after the update"
    );
    upgraded("SELECT status FROM baostock.sync_calendar(); SELECT status FROM baostock.sync_securities();");
    assert_eq!(
        upgraded(&format!("SELECT status FROM baostock.sync_date('{day}')")),
        "ok",
        "sync_date('{day}') on the updated database"
    );
}

fn update_to_a_next_version_and_back(sides: &Sides, day: &str, w: &Window) {
    step("ALTER EXTENSION UPDATE of the distributed database, by a next version's update");
    // The coordinator's worker goes to the restored database first. Its library is the version
    // this database has, so it would go on reading the views the update drops and makes again,
    // and Postgres would end one side of that deadlock (a real update comes with a new library,
    // and the worker waits until the update commits: see docs/src/upgrading.md). The single
    // node's goes to template1 (no pg_baostock there: it waits).
    let coordinator = sides.coordinator();
    sides.c("ALTER SYSTEM SET baostock.worker_database = 'restored'; SELECT pg_reload_conf();");
    sides.s("ALTER SYSTEM SET baostock.worker_database = 'template1'; SELECT pg_reload_conf();");
    let workers_in = "SELECT string_agg(datname, ',' ORDER BY datname) FROM pg_stat_activity WHERE backend_type = 'pg_baostock worker'";
    poll("the workers to move", Duration::from_secs(30), || {
        (sides.c(workers_in) == "restored" && sides.s(workers_in) == "template1").then_some(())
    });
    // Made as a real update is (scripts/assemble-update.sh: views and functions dropped, the
    // table part, the install script's views and functions), with table changes of each kind
    // of table. Straight DDL in it fails on Citus and leaves nothing changed: why updates go
    // through table_ddl.
    let version = sides.c("SELECT extversion FROM pg_extension WHERE extname = 'pg_baostock'");
    let next = format!("{version}-next");
    let extdir = format!("{}/extension", pg15_config("sharedir"));
    let installed = format!("{extdir}/pg_baostock--{version}.sql");
    let next_update = sides
        .planted
        .add(&format!("{extdir}/pg_baostock--{version}--{next}.sql"));
    let back_update = sides
        .planted
        .add(&format!("{extdir}/pg_baostock--{next}--{version}.sql"));
    let part = |name: &str, sql: &str| {
        let path = format!("{}/{name}", sides.citus.dir);
        std::fs::write(&path, sql).expect("write a table part");
        path
    };
    let direct = part(
        "next-direct.sql",
        "ALTER TABLE baostock.daily_bars ADD COLUMN note text;\n",
    );
    assert!(
        !assemble(&version, &next, &direct, &next_update, &installed),
        "assemble-update.sh took a table part that alters a table directly"
    );
    // Citus sends the ALTER to the shards and to the workers' copies of the table, then runs
    // the same update on each worker, where the column is there already (alone; in a script of
    // many statements Citus sends the whole script and fails sooner).
    std::fs::copy(&direct, &next_update).expect("plant the direct update");
    assert_eq!(
        coordinator.sqlstate(DB, &format!("ALTER EXTENSION pg_baostock UPDATE TO '{next}'")),
        "42701",
        "an update with a table's DDL of its own on Citus"
    );
    for node in sides.citus.nodes() {
        assert_eq!(
            node.sql(
                DB,
                "SELECT extversion || ' ' || (SELECT count(*) FROM pg_attribute WHERE attname = 'note' AND NOT attisdropped)
                 FROM pg_extension WHERE extname = 'pg_baostock'"
            ),
            format!("{version} 0"),
            "port {}: changed by the failed update",
            node.port
        );
    }
    // The next version's table changes, one of each kind of table, and what undoes them.
    let changes = [
        ("daily_bars", "ADD COLUMN note text", "DROP COLUMN note"),
        ("securities", "ADD COLUMN note text", "DROP COLUMN note"),
        ("sync_jobs", "ADD COLUMN note text", "DROP COLUMN note"),
    ];
    let index = (
        "CREATE INDEX minute_bars_date_idx ON baostock.minute_bars (date)",
        "DROP INDEX baostock.minute_bars_date_idx",
    );
    let table_part = |name: &str, undo: bool| {
        let mut sql: String = changes
            .iter()
            .map(|(table, add, drop)| {
                let ddl = if undo { drop } else { add };
                format!("SELECT baostock.table_ddl('baostock.{table}', 'ALTER TABLE baostock.{table} {ddl}');\n")
            })
            .collect();
        let ddl = if undo { index.1 } else { index.0 };
        sql.push_str(&format!(
            "SELECT baostock.table_ddl('baostock.minute_bars', '{ddl}');\n"
        ));
        part(name, &sql)
    };
    let tables = table_part("next-tables.sql", false);
    assert!(
        assemble(&version, &next, &tables, &next_update, &installed),
        "assemble the next version's update"
    );
    let daily = "SELECT code, date, row_hash, qfq_close, hfq_close FROM baostock.daily_bars";
    let before = coordinator.digest(DB, daily);
    sides.c(&format!("ALTER EXTENSION pg_baostock UPDATE TO '{next}'"));
    sides.s(&format!("ALTER EXTENSION pg_baostock UPDATE TO '{next}'"));
    let columns = "SELECT (SELECT extversion FROM pg_extension WHERE extname = 'pg_baostock') || ' ' ||
                          coalesce(string_agg(attrelid::regclass::text, ',' ORDER BY attrelid::regclass::text), '')
                   FROM pg_attribute WHERE attname = 'note' AND NOT attisdropped
                     AND attrelid::regclass::text IN ('baostock.daily_bars', 'baostock.securities', 'baostock.sync_jobs')";
    for node in sides.citus.nodes().into_iter().chain([&sides.single]) {
        assert_eq!(
            node.sql(DB, columns),
            format!("{next} baostock.daily_bars,baostock.securities,baostock.sync_jobs"),
            "port {}: at {next}, its tables changed",
            node.port
        );
    }
    // Each shard's answer to a query of one shard (%s): `answers on shards`.
    let shards = |table: &str, query: &str| {
        sides.c(&format!(
            "SELECT string_agg(DISTINCT result, ',') || ' on ' || count(*) FROM run_command_on_shards('{table}', $q${query}$q$) WHERE success"
        ))
    };
    let month = sides.c(&format!("SELECT to_char(date '{}', 'YYYYMM')", w.from));
    let note =
        "SELECT count(*) FROM pg_attribute WHERE attrelid = '%s'::regclass AND attname = 'note' AND NOT attisdropped";
    assert_eq!(
        shards("baostock.daily_bars", note),
        "1 on 4",
        "every shard of daily_bars has the column"
    );
    assert_eq!(
        shards("baostock.securities", note),
        "1 on 1",
        "every replica of securities has the column"
    );
    assert_eq!(
        shards(
            &format!("baostock.minute_bars_{month}"),
            "SELECT count(*) FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
             WHERE i.indrelid = '%s'::regclass AND i.indnatts = 1 AND a.attname = 'date'"
        ),
        "1 on 4",
        "every shard of a minute month has the new index"
    );
    assert_eq!(
        coordinator.digest(DB, daily),
        before,
        "daily_bars unchanged by the update"
    );
    let qfq = "SELECT code, date, close FROM baostock.daily_bars_qfq";
    assert_eq!(
        coordinator.digest(DB, qfq),
        sides.single.digest(DB, qfq),
        "adjusted reads after the update"
    );
    assert_eq!(
        coordinator.sqlstate(DB, &format!("SELECT baostock.sync_date('{day}', true)")),
        "55000",
        "sync_date() at {next} (the library is {version})"
    );

    step(&format!(
        "ALTER EXTENSION UPDATE back to {version} (the same changes undone through table_ddl): the store writes again"
    ));
    let back = table_part("back-tables.sql", true);
    assert!(
        assemble(&next, &version, &back, &back_update, &installed),
        "assemble the update back"
    );
    sides.c(&format!("ALTER EXTENSION pg_baostock UPDATE TO '{version}'"));
    for node in sides.citus.nodes() {
        assert_eq!(
            node.sql(DB, columns),
            format!("{version} "),
            "port {}: back at {version}",
            node.port
        );
    }
    assert_eq!(
        shards("baostock.daily_bars", note),
        "0 on 4",
        "no shard of daily_bars has the column"
    );
    assert_eq!(
        shards(
            &format!("baostock.minute_bars_{month}"),
            "SELECT count(*) FROM pg_index WHERE indrelid = '%s'::regclass AND indnatts = 1 AND NOT indisprimary"
        ),
        "0 on 4",
        "no shard of the minute month has the index"
    );
    assert_eq!(
        sides.c(&format!(
            "SELECT rows_inserted || '|' || rows_updated FROM baostock.sync_date('{day}', true)"
        )),
        "0|0",
        "sync_date('{day}', true) after both updates inserted|updated"
    );
    assert_eq!(
        coordinator.digest(DB, daily),
        before,
        "daily_bars through both updates and the sync"
    );
}
