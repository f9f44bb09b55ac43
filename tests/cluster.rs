//! The background worker and backfill jobs on a real running cluster (`scripts/test-cluster.sh`),
//! driven from outside over psql: queue a job, wait for it, cancel it, kill the worker, restart
//! the cluster, and compare what got stored with what the official Python client gets from the
//! same emulator. One test at a time (`--test-threads=1`; the harness also serialises them).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use baostock_emulator::{LatencyConfig, SecType};
use chrono::{Datelike, NaiveDate};
use pg_baostock_cluster_tests::*;
use serde_json::Value;

/// Requests of a type beyond one a day that a job may make (retries, a probe, ...).
const HANDFUL: u64 = 5;

fn latency(base_ms: u64) -> LatencyConfig {
    LatencyConfig {
        base: Duration::from_millis(base_ms),
        ..LatencyConfig::default()
    }
}

/// `wait()` on a job, asserting that every progress NOTICE it printed has the documented form
/// for this job and that the units done never go backwards; the final state. (The total may
/// move either way: days found empty leave it, their per-code units join it.)
fn wait_checked(id: i64) -> String {
    let t0 = Instant::now();
    let (res, notices) = sql_with_notices(&format!("SELECT baostock.wait({id})"));
    let took = t0.elapsed();
    let state = res.unwrap_or_else(|e| panic!("wait({id}) failed: {e}"));
    let progress: Vec<&String> = notices.iter().filter(|n| n.contains("units/s")).collect();
    let mut last_done = 0;
    for n in &progress {
        let p = parse_progress(n).unwrap_or_else(|| panic!("progress NOTICE of an unexpected form: {n:?}"));
        assert_eq!(p.job, id, "{n}");
        assert!(p.done <= p.total && p.failed <= p.total, "{n}");
        assert!(p.done >= last_done, "progress went backwards: {n}");
        assert!(p.rows >= 0 && p.rate.is_none_or(|r| r >= 0.0), "{n}");
        last_done = p.done;
    }
    // A NOTICE every ~2 s: a wait of 5 s without one is wrong.
    if took >= Duration::from_secs(5) {
        assert!(
            !progress.is_empty(),
            "wait({id}) took {took:?} without a progress NOTICE: {notices:?}"
        );
    }
    state
}

/// A trading day of `days` with adjust factors (and ETF bars, where the server has them).
fn day_with_factors(env: &TestEnv, days: &[NaiveDate]) -> NaiveDate {
    let m = env.emu.market();
    days.iter()
        .copied()
        .find(|t| {
            !m.daily_adjust_factors(*t).is_empty()
                && (*t < baostock_emulator::publication::ETF_FLOOR || !m.daily_etf(*t).is_empty())
        })
        .expect("a day with factors")
}

/// Checks that the stored bars and factors of `day` are exactly the official client's.
fn assert_day_matches_official(env: &TestEnv, day: NaiveDate) -> usize {
    let py = official_daily(env.port(), day);
    assert_daily_fields(&py["fields"]["stocks"]);
    let mut bars = py["stocks"].as_array().unwrap().clone();
    bars.extend(py["etfs"].as_array().unwrap().iter().cloned());
    assert!(bars.len() > 100, "only {} bars on {day}", bars.len());
    let diff = bar_mismatches(&Value::Array(bars), &format!("date = '{day}'"));
    assert!(
        diff.is_empty(),
        "bars of {day} differ from the official client's: {}",
        first_few(&diff)
    );
    let factors = py["factors"].as_array().unwrap().clone();
    let n = factors.len();
    let diff = factor_mismatches(&Value::Array(factors), &format!("operate_date = '{day}'"));
    assert!(
        diff.is_empty(),
        "factors of {day} differ from the official client's: {}",
        first_few(&diff)
    );
    n
}

fn assert_all_days_synced(days: &[NaiveDate], start: NaiveDate, end: NaiveDate) {
    let (missing, extra) = day_differences(days, &synced_days(start, end));
    assert!(
        missing.is_empty() && extra.is_empty(),
        "synced_days: {} trading days missing (first {:?}), {} other days (first {:?})",
        missing.len(),
        missing.first(),
        extra.len(),
        extra.first()
    );
}

#[test]
fn two_year_daily_backfill_matches_the_official_client() {
    let env = TestEnv::start();
    let (start, end) = (d(last_year() - 1, 1, 1), d(last_year(), 12, 31));
    let days = env.trading_days(start, end);
    assert!(days.len() > 400, "{} trading days", days.len());

    let id = backfill(&format!("'{start}', '{end}'"));
    assert_eq!(wait_checked(id), "done");
    // The worker took the job up within a second of its commit (it polls every 250 ms; the
    // bound leaves room for a loaded machine).
    let lag = sql(&format!(
        "SELECT extract(epoch FROM started_at - created_at) FROM baostock.sync_jobs WHERE job_id = {id}"
    ));
    let lag: f64 = lag.trim().parse().unwrap();
    assert!(lag < 1.5, "the worker started job {id} {lag} s after backfill()");

    // One day unit per trading day and one factor history per stock and ETF listed in the
    // range, all done.
    let codes = env.listed_codes(&days).len() as i64;
    let units = unit_states(id);
    let expected: BTreeMap<(String, String), i64> = [
        (("day".to_owned(), "done".to_owned()), days.len() as i64),
        (("factors".to_owned(), "done".to_owned()), codes),
    ]
    .into_iter()
    .collect();
    assert_eq!(units, expected, "units of job {id}");
    let j = job(id);
    let all = days.len() as i64 + codes;
    assert_eq!(
        (
            j.state.as_str(),
            j.units_total,
            j.units_done,
            j.units_failed,
            j.finished
        ),
        ("done", all, all, 0, true),
        "{j:?}"
    );
    assert!(j.rows_written > 0, "{j:?}");
    assert_all_days_synced(&days, start, end);

    // Three days against the referee, one of them with adjust factors.
    let c = env.emu.settled_counters(Duration::from_secs(5));
    let rich = day_with_factors(&env, &days);
    let mut samples = vec![days[0], rich, *days.last().unwrap()];
    samples.dedup();
    let factors: usize = samples.iter().map(|day| assert_day_matches_official(&env, *day)).sum();
    assert!(factors > 0, "a sampled day has factors");

    // 98 + 9A + 9C once a day, and little else.
    let n = days.len() as u64;
    for ty in ["98", "9A", "9C"] {
        let r = c.requests(ty);
        assert!(
            (n..=n + HANDFUL).contains(&r),
            "{r} {ty} requests for {n} trading days: {:?}",
            c.requests_by_type
        );
    }
    // And one 15 a code, its whole factor history.
    assert_eq!(c.requests("15"), codes as u64, "{:?}", c.requests_by_type);
    assert!(
        c.total_requests() <= 3 * n + codes as u64 + 20,
        "{} requests for {n} trading days: {:?}",
        c.total_requests(),
        c.requests_by_type
    );
    assert!(
        j.requests >= 3 * n as i64 + codes && j.requests <= c.total_requests() as i64,
        "the job counts {} requests, the server saw {}",
        j.requests,
        c.total_requests()
    );

    // An ended job: wait returns at once, cancel reports the final state, plan has nothing left.
    assert_eq!(sql(&format!("SELECT baostock.wait({id})")), "done");
    assert_eq!(sql(&format!("SELECT baostock.cancel({id})")), "done");
    let left = int(&format!(
        "SELECT coalesce(sum(units), 0) FROM baostock.plan('{start}', '{end}') WHERE kind <> 'total'"
    ));
    assert_eq!(left, 0, "plan after the backfill");
    let forced = int(&format!(
        "SELECT coalesce(sum(units), 0) FROM baostock.plan('{start}', '{end}', force => true) WHERE kind = 'day'"
    ));
    assert_eq!(forced, days.len() as i64, "forced plan");
}

#[test]
fn per_code_backfill_matches_official_95() {
    let env = TestEnv::start();
    let (start, end) = (d(last_year(), 1, 1), d(last_year(), 12, 31));
    let days = env.trading_days(start, end);
    let m = env.emu.market();
    let listed_throughout = |s: &&baostock_emulator::Security| s.listed_on(start) && s.listed_on(end);
    let has_dividend = |s: &&baostock_emulator::Security| s.events.iter().any(|e| start <= e.date && e.date <= end);
    let mut codes: Vec<String> = m
        .securities()
        .iter()
        .filter(|s| s.sec_type == SecType::Stock)
        .filter(listed_throughout)
        .filter(has_dividend)
        .take(2)
        .map(|s| s.code.clone())
        .collect();
    assert_eq!(codes.len(), 2, "two stocks with dividends in {start}..{end}");
    let etfs: Vec<&baostock_emulator::Security> = m
        .securities()
        .iter()
        .filter(|s| s.sec_type == SecType::Etf)
        .filter(listed_throughout)
        .collect();
    let etf = etfs
        .iter()
        .find(|s| has_dividend(s))
        .or(etfs.first())
        .expect("an ETF listed throughout");
    codes.push(etf.code.clone());
    let array = format!(
        "ARRAY[{}]",
        codes.iter().map(|c| format!("'{c}'")).collect::<Vec<_>>().join(", ")
    );

    let id = backfill(&format!("'{start}', '{end}', codes => {array}"));
    assert_eq!(wait_checked(id), "done");

    // Per-code units only, each code with its bars and its factors, all done.
    let units = unit_states(id);
    assert!(
        units
            .keys()
            .all(|(kind, state)| (kind == "range" || kind == "factors") && state == "done"),
        "units of job {id}: {units:?}"
    );
    // The server has no ETF bars before 2026-01-05: nothing is asked of it for the ETF's bars
    // (its factors have no floor).
    let under_floor = end < baostock_emulator::publication::ETF_FLOOR;
    for code in &codes {
        let floored = under_floor && code == &etf.code;
        for kind in ["range", "factors"] {
            let n = int(&format!(
                "SELECT count(*) FROM baostock.sync_units WHERE job_id = {id} AND code = '{code}' AND kind = '{kind}'"
            ));
            if floored && kind == "range" {
                assert_eq!(n, 0, "a range unit for {code}, under the ETF floor");
            } else {
                assert!(n >= 1, "no {kind} unit for {code}");
            }
        }
        // The ranges say what was fetched: at least every trading day asked.
        for kind in ["d", "factors"] {
            if floored && kind == "d" {
                continue;
            }
            let covered = sql(&format!(
                "SELECT coalesce(range_agg(span) @> daterange('{}', '{}', '[]'), false)
                 FROM baostock.synced_ranges WHERE code = '{code}' AND kind = '{kind}'",
                days[0],
                days.last().unwrap()
            ));
            assert_eq!(covered, "t", "synced_ranges of {code} ({kind}) cover the range");
        }
    }
    let c = env.emu.settled_counters(Duration::from_secs(5));
    assert_eq!(c.requests("98"), 0, "{:?}", c.requests_by_type);
    let ranged = codes.len() - usize::from(under_floor);
    assert!(c.requests("95") >= ranged as u64, "{:?}", c.requests_by_type);
    assert!(c.requests("15") >= codes.len() as u64, "{:?}", c.requests_by_type);
    assert_eq!(
        int(&format!(
            "SELECT count(*) FROM baostock.daily_bars WHERE code <> ALL ({array})"
        )),
        0,
        "bars of codes not asked for"
    );

    for code in &codes {
        let py = official_history(env.port(), code, start, end);
        assert_daily_fields(&py["fields"]);
        let rows = &py["rows"];
        if under_floor && code == &etf.code {
            assert!(
                rows.as_array().unwrap().is_empty(),
                "the official 95 has ETF bars before the floor"
            );
        } else {
            assert!(
                rows.as_array().unwrap().len() > 200,
                "{code}: {} rows",
                rows.as_array().unwrap().len()
            );
        }
        let scope = format!("code = '{code}' AND date BETWEEN '{start}' AND '{end}'");
        let diff = bar_mismatches(rows, &scope);
        assert!(
            diff.is_empty(),
            "bars of {code} differ from the official 95: {}",
            first_few(&diff)
        );

        let factors = m.adjust_factors(code, start, end).expect("the library's factors");
        if code != &etf.code {
            assert!(!factors.is_empty(), "{code} has a dividend in the range");
        }
        let scope = format!("code = '{code}' AND operate_date BETWEEN '{start}' AND '{end}'");
        let diff = factor_mismatches(&rows_json(&factors), &scope);
        assert!(
            diff.is_empty(),
            "factors of {code} differ from the library's: {}",
            first_few(&diff)
        );
    }
}

#[test]
fn fallback_to_per_code_before_the_all_market_start() {
    let env = TestEnv::start();
    let (start, end) = (d(last_year(), 3, 1), d(last_year(), 5, 31));
    let days = env.trading_days(start, end);
    let split = days.len() / 2;
    let all_market_start = days[split];
    let (before, after) = days.split_at(split);
    env.emu.controls().set_all_market_start(Some(all_market_start));

    let id = backfill(&format!("'{start}', '{end}'"));
    assert_eq!(wait_checked(id), "done");
    assert_all_days_synced(&days, start, end);
    let j = job(id);
    assert_eq!((j.state.as_str(), j.units_failed), ("done", 0), "{j:?}");

    // Before the all-market start: day units the server had no answer for ('empty', then
    // 'replanned' once per-code units cover them), and per-code ranges; from it on, days done.
    let day_units = |cond: &str, states: &str| {
        int(&format!(
            "SELECT count(*) FROM baostock.sync_units
             WHERE job_id = {id} AND kind = 'day' AND start_date {cond} '{all_market_start}' AND state IN ({states})"
        ))
    };
    let units = unit_states(id);
    assert_eq!(day_units("<", "'empty', 'replanned'"), before.len() as i64, "{units:?}");
    assert_eq!(day_units(">=", "'done'"), after.len() as i64, "{units:?}");
    assert_eq!(
        int(&format!(
            "SELECT count(*) FROM baostock.sync_units WHERE job_id = {id} AND kind = 'day'"
        )),
        days.len() as i64,
        "{units:?}"
    );
    let ranges = sql(&format!(
        "SELECT count(*), count(*) FILTER (WHERE state <> 'done'), min(start_date), max(end_date)
         FROM baostock.sync_units WHERE job_id = {id} AND kind = 'range'"
    ));
    let f: Vec<&str> = ranges.split('|').collect();
    assert!(f[0].parse::<i64>().unwrap() > 0, "no range unit: {units:?}");
    assert_eq!(f[1], "0", "range units not done: {units:?}");
    assert!(
        f[2] <= before[0].to_string().as_str(),
        "range units start {} after {}",
        f[2],
        before[0]
    );
    assert!(
        f[3] < all_market_start.to_string().as_str(),
        "range units reach {} (all-market start {all_market_start})",
        f[3]
    );

    // Two days before the start equal the library's daily rows (the official 98 is empty there).
    for day in [before[0], *before.last().unwrap()] {
        let rows = env.served_daily(day);
        assert!(rows.len() > 100, "{day}: {} rows", rows.len());
        let diff = bar_mismatches(&rows_json(&rows), &format!("date = '{day}'"));
        assert!(
            diff.is_empty(),
            "bars of {day} differ from the library's: {}",
            first_few(&diff)
        );
    }
    // And one day after it, the official client's.
    assert_day_matches_official(&env, after[0]);

    // Every day from the start on was asked for once with 98; the days before at most once.
    let c = env.emu.settled_counters(Duration::from_secs(5));
    let r98 = c.requests("98");
    assert!(
        r98 >= after.len() as u64 && r98 <= (days.len() as u64) + HANDFUL,
        "{r98} 98 requests: {} days from {all_market_start}, {} in all ({:?})",
        after.len(),
        days.len(),
        c.requests_by_type
    );
    assert!(c.requests("95") >= 1, "{:?}", c.requests_by_type);
}

/// What a finished run left: the checksums of its bars and factors.
#[derive(Debug, PartialEq, Eq)]
struct RunResult {
    bars: String,
    factors: String,
}

fn run_result(start: NaiveDate, end: NaiveDate) -> RunResult {
    RunResult {
        bars: bars_checksum(start, end),
        factors: factors_checksum(start, end),
    }
}

/// Waits until the job has done some units and still has some to do.
fn wait_for_progress(id: i64) -> Job {
    let j = poll(&format!("job {id} to get going"), Duration::from_secs(60), || {
        try_job(id).ok().filter(|j| j.units_done > 0 || j.finished)
    });
    assert!(
        j.state == "running" && j.units_done < j.units_total,
        "job {id} is no longer mid-way (too fast for this test?): {j:?}"
    );
    j
}

/// Waits until a pg_baostock worker other than `old` runs.
fn wait_for_new_worker(old: Option<i32>) -> i32 {
    poll("a new pg_baostock worker", Duration::from_secs(60), || {
        worker_pid().filter(|p| Some(*p) != old)
    })
}

#[test]
fn worker_crash_immediate_restart_and_fast_shutdown_resume_the_job() {
    let (start, end) = (d(last_year(), 1, 1), d(last_year(), 12, 31));

    // 1. kill -9 of the worker mid-job: the postmaster restarts every process, the new worker
    //    re-queues the units left running and finishes the job.
    let killed = interrupted_job(start, end, "a crash", |old| {
        kill_9(old.expect("the worker runs"));
        wait_ready(Duration::from_secs(60));
    });

    // 2. The same job uninterrupted, from a fresh state (fast: only the data matters here).
    let env = TestEnv::start();
    let id = backfill(&format!("'{start}', '{end}'"));
    assert_eq!(wait_checked(id), "done");
    let clean = run_result(start, end);
    assert!(!clean.bars.starts_with("0 "), "no bars: {clean:?}");
    assert!(!clean.factors.starts_with("0 "), "no factors: {clean:?}");
    assert_eq!(
        killed, clean,
        "bars and factors after kill -9 of the worker vs uninterrupted"
    );
    drop(env);

    // 3. pg_ctl stop -m immediate and start mid-job.
    let restarted = interrupted_job(start, end, "an immediate restart", |_| restart_immediately());
    assert_eq!(
        restarted, clean,
        "bars and factors after an immediate restart vs uninterrupted"
    );

    // 4. A fast shutdown mid-job: SIGTERM stops the worker between units, the job goes back to
    //    the queue, and the next worker finishes it.
    let stopped = interrupted_job(start, end, "a fast restart", |_| restart_fast());
    assert_eq!(stopped, clean, "bars and factors after a fast restart vs uninterrupted");
}

/// A backfill of `start..=end` interrupted mid-job by `interrupt` (given the worker's pid):
/// it must finish by itself with every unit done and every day synced, fetching at most the
/// units in flight twice; returns the stored rows' checksums.
fn interrupted_job(start: NaiveDate, end: NaiveDate, what: &str, interrupt: impl FnOnce(Option<i32>)) -> RunResult {
    let env = TestEnv::start();
    let days = env.trading_days(start, end);
    let n = days.len() as u64;
    let max_sessions: u64 = sql("SHOW baostock.max_sessions").trim().parse().unwrap();
    let bound = n + max_sessions * 2 + 2;
    env.emu.controls().set_latency(latency(50));
    let id = backfill(&format!("'{start}', '{end}'"));
    wait_for_progress(id);
    let old = worker_pid();
    interrupt(old);
    wait_for_new_worker(old);
    assert_eq!(wait_checked(id), "done");
    let j = job(id);
    let codes = env.listed_codes(&days).len() as i64;
    assert_eq!((j.units_done, j.units_failed), (n as i64 + codes, 0), "{j:?}");
    assert_all_days_synced(&days, start, end);
    let r98 = env.emu.counters().requests("98");
    assert!(
        r98 <= bound,
        "{r98} 98 requests for {n} days across {what} (at most {bound})"
    );
    run_result(start, end)
}

#[test]
fn cancel_stops_within_a_second_and_a_cancelled_wait_leaves_the_job_running() {
    let env = TestEnv::start();
    let (start, end) = (d(last_year() - 1, 1, 1), d(last_year(), 12, 31));
    env.emu.controls().set_latency(latency(100));
    let id = backfill(&format!("'{start}', '{end}'"));
    wait_for_progress(id);

    // The worker shows the job in pg_stat_activity.
    poll("the worker's query to show the job", Duration::from_secs(10), || {
        let q = try_sql("SELECT query FROM pg_stat_activity WHERE backend_type = 'pg_baostock worker'").ok()?;
        q.contains(&format!("job {id}")).then_some(())
    });

    // A wait cut short by statement_timeout.
    let err = try_sql(&format!("SET statement_timeout = '1s'; SELECT baostock.wait({id})"))
        .expect_err("wait() outlived statement_timeout");
    assert_eq!(err.sqlstate, "57014", "{err}");
    // And one cancelled with pg_cancel_backend.
    let waiter = spawn_sql(&format!("SELECT baostock.wait({id})"));
    let pid = waiter.backend_pid(Duration::from_secs(10));
    assert_eq!(sql(&format!("SELECT pg_cancel_backend({pid})")), "t");
    let (res, _) = waiter.finish_within(Duration::from_secs(10));
    let err = res.expect_err("wait() survived pg_cancel_backend");
    assert_eq!(err.sqlstate, "57014", "{err}");

    // The job goes on.
    let j = job(id);
    assert_eq!(j.state, "running", "after the cancelled waits: {j:?}");
    poll(
        &format!("job {id} to go on after the cancelled waits"),
        Duration::from_secs(30),
        || (job(id).units_done > j.units_done).then_some(()),
    );

    // Factor histories come first: let some days be written before the cancel.
    poll(
        &format!("a day unit of job {id} done"),
        Duration::from_secs(120),
        || {
            let days = try_sql(&format!(
                "SELECT count(*) FROM baostock.sync_units WHERE job_id = {id} AND kind = 'day' AND state = 'done'"
            ))
            .ok()?;
            (days.trim() != "0").then_some(())
        },
    );

    // cancel(): the worker stops within a second.
    let t0 = Instant::now();
    assert_eq!(sql(&format!("SELECT baostock.cancel({id})")), "cancelled");
    poll("no unit running after cancel()", Duration::from_secs(10), || {
        let running = int(&format!(
            "SELECT count(*) FROM baostock.sync_units WHERE job_id = {id} AND state = 'running'"
        ));
        (running == 0).then_some(())
    });
    let stopped = t0.elapsed();
    assert!(
        stopped <= Duration::from_millis(1500),
        "units still running {stopped:?} after cancel()"
    );
    // Nothing but (perhaps) logouts reaches the server after 1.5 s: watch it for a second.
    if let Some(rest) = Duration::from_millis(1500).checked_sub(t0.elapsed()) {
        std::thread::sleep(rest);
    }
    let c1 = env.data_requests();
    std::thread::sleep(Duration::from_secs(1));
    let c2 = env.data_requests();
    assert_eq!(
        c1,
        c2,
        "requests went on after cancel(): {:?}",
        env.emu.counters().requests_by_type
    );
    let j = job(id);
    assert_eq!((j.state.as_str(), j.finished), ("cancelled", true), "{j:?}");
    assert_eq!(sql(&format!("SELECT baostock.cancel({id})")), "cancelled");
    assert_eq!(sql(&format!("SELECT baostock.wait({id})")), "cancelled");

    // No half-written unit.
    let units = unit_states(id);
    assert!(
        units
            .keys()
            .all(|(kind, state)| ["day", "factors"].contains(&kind.as_str())
                && ["done", "cancelled", "queued"].contains(&state.as_str())),
        "units after cancel(): {units:?}"
    );
    let done = units.get(&("day".to_owned(), "done".to_owned())).copied().unwrap_or(0);
    let planned: i64 = units.values().sum();
    assert!(done > 0 && done < planned, "units after cancel(): {units:?}");
    let expected: serde_json::Map<String, Value> = env
        .trading_days(start, end)
        .into_iter()
        .map(|day| (day.to_string(), Value::from(env.served_daily(day).len())))
        .collect();
    let incomplete = sql(&format!(
        "SELECT string_agg(u.start_date::text, ', ' ORDER BY u.start_date) FROM baostock.sync_units u
         WHERE u.job_id = {id} AND u.kind = 'day' AND u.state = 'done' AND (
               NOT EXISTS (SELECT FROM baostock.synced_days s WHERE s.day = u.start_date)
            OR (SELECT count(*) FROM baostock.daily_bars b WHERE b.date = u.start_date)
               <> ({expected} ->> u.start_date::text)::bigint)",
        expected = jsonb_literal(&Value::Object(expected))
    ));
    assert_eq!(
        incomplete, "",
        "done day units without synced_days or with missing bars"
    );
    let leaked = sql(&format!(
        "SELECT string_agg(u.start_date::text, ', ' ORDER BY u.start_date) FROM baostock.sync_units u
         WHERE u.job_id = {id} AND u.kind = 'day' AND u.state <> 'done' AND (
               EXISTS (SELECT FROM baostock.daily_bars b WHERE b.date = u.start_date)
            OR EXISTS (SELECT FROM baostock.synced_days s WHERE s.day = u.start_date))"
    ));
    assert_eq!(leaked, "", "day units not done with bars or in synced_days");
}

#[test]
fn two_sync_dates_and_a_backfill_never_exceed_the_session_cap() {
    let env = TestEnv::start();
    // An evening after every kind of the newest whole day is out, whatever the time here.
    env.control(&format!("clock {}T21:00:00 running", env.published_day()));
    sql("ALTER SYSTEM SET baostock.max_sessions = 2; SELECT pg_reload_conf();");
    poll("the reloaded max_sessions", Duration::from_secs(10), || {
        (try_sql("SHOW baostock.max_sessions").ok()?.trim() == "2").then_some(())
    });
    std::thread::sleep(Duration::from_millis(300)); // the worker's reload, unobservable
    env.emu.controls().set_latency(latency(20));
    env.emu.reset_counters();

    let (start, end) = (d(last_year(), 1, 1), d(last_year(), 12, 31));
    let id = backfill(&format!("'{start}', '{end}'"));
    wait_for_progress(id);
    let a = spawn_sql("SELECT day, status FROM baostock.sync_date()");
    let b = spawn_sql("SELECT day, status FROM baostock.sync_date()");
    for (name, bg) in [("first", a), ("second", b)] {
        let (res, _) = bg.finish_within(Duration::from_secs(180));
        let out = res.unwrap_or_else(|e| panic!("the {name} sync_date() failed: {e}"));
        assert!(!out.is_empty(), "the {name} sync_date() returned no row");
        for row in out.lines() {
            let status = row.split('|').nth(1).unwrap_or_default();
            assert!(["ok", "skipped"].contains(&status), "the {name} sync_date(): {row}");
        }
    }
    assert_eq!(wait_checked(id), "done");
    let c = env.emu.settled_counters(Duration::from_secs(5));
    assert!(c.peak_sessions >= 1, "{c:?}");
    assert!(
        c.peak_sessions <= 2,
        "{} server sessions at once with baostock.max_sessions = 2 ({} in all)",
        c.peak_sessions,
        c.sessions_total
    );
    assert_eq!(c.logins_refused, 0, "{c:?}");
    sql("ALTER SYSTEM RESET baostock.max_sessions; SELECT pg_reload_conf();");
}

#[test]
fn bad_input_queues_nothing() {
    let env = TestEnv::start();
    let m = env.emu.market();
    assert!(m.security("sh.999999").is_none() && m.security("sz.399999").is_none());
    let stock = m
        .securities()
        .iter()
        .find(|s| s.sec_type == SecType::Stock && s.listed_on(d(2024, 1, 2)))
        .expect("a stock")
        .code
        .clone();
    // Every bad argument and its SQLSTATE is pgrx-tests/e2e.rs's table (a_hundred_bad_calls_...);
    // here a few of them, each refused in a session of its own that commits what it can: no
    // job and no unit are left behind.
    let cases = [
        ("SELECT baostock.backfill(NULL::date)".to_owned(), "22004"),
        ("SELECT baostock.backfill('2024-02-01', '2024-01-31')".to_owned(), "22023"),
        (
            format!("SELECT baostock.backfill('2024-01-01', '2024-01-31', codes => ARRAY['{stock}', 'sz.399999'])"),
            "22023",
        ),
        (
            format!("SELECT * FROM baostock.plan('2024-01-01', '2024-01-31', frequency => '5', codes => ARRAY['{stock}', 'sh.000001'])"),
            "22023",
        ),
        ("SELECT baostock.wait(987654321)".to_owned(), "42704"),
        ("SELECT baostock.cancel(NULL)".to_owned(), "22004"),
    ];
    let mut wrong = Vec::new();
    for (q, want) in &cases {
        match try_sql(q) {
            Err(e) if e.sqlstate == *want => {}
            other => wrong.push(format!("{q}: want {want}, got {other:?}")),
        }
    }
    assert!(wrong.is_empty(), "wrong outcomes:\n{}", wrong.join("\n"));

    // plan() with good arguments shows the work and queues nothing either.
    let (start, end) = (d(2024, 3, 1), d(2024, 3, 31));
    let days = env.trading_days(start, end);
    let plan = sql(&format!(
        "SELECT kind, units, first_day, last_day FROM baostock.plan('{start}', '{end}') ORDER BY kind"
    ));
    let rows: BTreeMap<String, Vec<String>> = plan
        .lines()
        .map(|l| {
            let f: Vec<String> = l.split('|').map(str::to_owned).collect();
            (f[0].clone(), f)
        })
        .collect();
    let day = rows.get("day").unwrap_or_else(|| panic!("no day row: {plan}"));
    assert_eq!(day[1], days.len().to_string(), "{plan}");
    assert_eq!(
        (day[2].as_str(), day[3].as_str()),
        (days[0].to_string().as_str(), days.last().unwrap().to_string().as_str()),
        "{plan}"
    );
    let total = rows.get("total").unwrap_or_else(|| panic!("no total row: {plan}"));
    let sum: i64 = rows
        .iter()
        .filter(|(k, _)| *k != "total")
        .map(|(_, f)| f[1].parse::<i64>().unwrap())
        .sum();
    assert_eq!(total[1], sum.to_string(), "{plan}");
    let per_code = sql(&format!(
        "SELECT kind, units FROM baostock.plan('{start}', '{end}', codes => ARRAY['{stock}']) WHERE kind <> 'total'"
    ));
    assert!(
        per_code
            .lines()
            .all(|l| l.starts_with("range|") || l.starts_with("factors|") || l.ends_with("|0")),
        "plan for one code: {per_code}"
    );
    assert!(
        per_code.lines().any(|l| l.starts_with("range|") && !l.ends_with("|0")),
        "plan for one code: {per_code}"
    );

    assert_eq!(int("SELECT count(*) FROM baostock.sync_jobs"), 0, "jobs were queued");
    assert_eq!(int("SELECT count(*) FROM baostock.sync_units"), 0, "units were queued");
    assert_eq!(int("SELECT count(*) FROM baostock.jobs"), 0, "jobs were queued");
}

#[test]
fn two_concurrent_catch_ups_fetch_each_day_once() {
    let env = TestEnv::start();
    // The newest trading days the server has published whole (factors included); the oldest
    // of them synced, the rest to catch up.
    let today = env.published_day();
    env.control(&format!("clock {today}T21:00:00 running"));
    let all = env.trading_days(d(today.year() - 1, 1, 1), today);
    let days = &all[all.len() - 6..];
    let first = sql(&format!("SELECT status FROM baostock.sync_date('{}')", days[0]));
    assert_eq!(first, "ok");
    env.emu.controls().set_latency(latency(100));
    env.emu.reset_counters();
    let a = spawn_sql("SELECT day, status FROM baostock.sync_date()");
    let b = spawn_sql("SELECT day, status FROM baostock.sync_date()");
    let mut synced_by = Vec::new();
    for (name, bg) in [("first", a), ("second", b)] {
        let (res, _) = bg.finish_within(Duration::from_secs(120));
        let out = res.unwrap_or_else(|e| panic!("the {name} sync_date() failed: {e}"));
        let ok: Vec<String> = out
            .lines()
            .filter(|r| r.ends_with("|ok"))
            .map(|r| r.split('|').next().unwrap_or_default().to_owned())
            .collect();
        synced_by.push(ok);
    }
    // One call synced the five days, the other found them synced by it (or the other way).
    let mut both: Vec<String> = synced_by.concat();
    both.sort();
    let want: Vec<String> = days[1..].iter().map(|t| t.to_string()).collect();
    assert_eq!(both, want, "days synced by the two calls: {synced_by:?}");
    let c = env.emu.settled_counters(Duration::from_secs(5));
    assert_eq!(c.requests("98"), 5, "98 once a day: {:?}", c.requests_by_type);
    assert_eq!(c.requests("9A"), 5, "{:?}", c.requests_by_type);
    assert_eq!(synced_days(days[1], days[5]).len(), 5);
}
