//! Fundamentals jobs on a real cluster with its worker: bad arguments refused; a two-year job
//! of the CSI 300 (of the test's 300-code market) run by the worker (through a kill -9) within its plan, its reports equal to
//! the official client's; a quarter asked before its disclosure deadline is "not yet" and asked
//! again after it; a restatement kept beside the first revision; a budget pause resumed the
//! next China day by the server's clock.

use std::collections::BTreeSet;
use std::time::Duration;

use chrono::{Datelike, Days, NaiveDate};
use pg_baostock_cluster_tests::*;
use serde_json::{json, Value};

/// The CSI 300 list stored by the test.
const CODES: &str = "ARRAY(SELECT code FROM baostock.index_constituents WHERE index_name = 'hs300' ORDER BY code)";

/// `plan_fundamentals(args)`'s total row: units and requests.
fn planned(args: &str) -> (i64, i64) {
    let row = one(&format!(
        "SELECT units || '|' || est_requests FROM baostock.plan_fundamentals({args}) WHERE kind = 'total'"
    ));
    let f: Vec<i64> = row.split('|').map(|x| x.trim().parse().unwrap()).collect();
    (f[0], f[1])
}

/// Queues `backfill_fundamentals(args)` and waits for it: done, no unit failed.
fn run_job(args: &str) -> i64 {
    let id = int(&format!("SELECT baostock.backfill_fundamentals({args})"));
    assert_eq!(wait_within(id, Duration::from_secs(300)), "done", "job {id}");
    assert_eq!(job(id).units_failed, 0, "job {id}");
    id
}

/// A profit report as the server writes its cells, from the table (NULL as an empty cell).
fn stored_profit(code: &str, stat: NaiveDate) -> Vec<String> {
    one(&format!(
        "SELECT array_to_string(ARRAY[code, pub_date::text, stat_date::text, roe_avg::text, np_margin::text,
                                      gp_margin::text, net_profit::text, eps_ttm::text, mb_revenue::text,
                                      total_share::text, liqa_share::text], '|', '')
         FROM baostock.profit_latest WHERE code = '{code}' AND stat_date = '{stat}'"
    ))
    .split('|')
    .map(str::to_owned)
    .collect()
}

#[test]
fn a_csi_300_fundamentals_job_keeps_its_plan_its_deadlines_its_restatements_and_its_budget() {
    let env = TestEnv::start();
    let port = env.port();

    // Bad arguments: a clear SQLSTATE each, and no job.
    for (call, state) in [
        ("SELECT baostock.backfill_fundamentals(NULL)", "22004"),
        ("SELECT baostock.backfill_fundamentals(1989)", "22023"),
        ("SELECT baostock.backfill_fundamentals(2024, 2023)", "22023"),
        ("SELECT baostock.backfill_fundamentals(2024, 2999)", "22023"),
        (
            "SELECT baostock.backfill_fundamentals(2024, kinds => ARRAY['income'])",
            "22023",
        ),
        (
            "SELECT baostock.backfill_fundamentals(2024, kinds => ARRAY['deposit_rate'])",
            "22023",
        ),
        (
            "SELECT baostock.backfill_fundamentals(2024, kinds => ARRAY[]::text[])",
            "22023",
        ),
        (
            "SELECT baostock.backfill_fundamentals(2024, codes => ARRAY['sh.999999'])",
            "22023",
        ),
        (
            "SELECT baostock.backfill_fundamentals(2024, codes => ARRAY['sh.000001'])",
            "22023",
        ),
        (
            "SELECT baostock.backfill_fundamentals(2024, codes => ARRAY[NULL]::text[])",
            "22004",
        ),
        ("SELECT baostock.backfill_fundamentals(2024, force => NULL)", "22004"),
        (
            "SELECT * FROM baostock.plan_fundamentals(2024, kinds => ARRAY['income'])",
            "22023",
        ),
    ] {
        let e = try_sql(call).expect_err(call);
        assert_eq!(e.sqlstate, state, "{call}: {e}");
    }
    assert_eq!(
        int("SELECT count(*) FROM baostock.sync_jobs WHERE kind = 'fundamentals'"),
        0
    );

    // 2025-04-10: the Q1 2025 reports are due by 04-30; some are out, some not yet.
    let first = d(2025, 4, 10);
    env.control(&format!("clock {first}T12:00:00 running"));
    assert_eq!(
        int("SELECT count(*) FROM baostock.sync_index_constituents('2025-04-07') WHERE status = 'ok'"),
        3
    );
    let codes: Vec<String> = line_set(&format!("SELECT unnest({CODES})")).into_iter().collect();
    let members = env.emu.market().index_members(baostock::StockIndex::Hs300, first);
    assert_eq!(codes, members.iter().map(|s| s.code.clone()).collect::<Vec<_>>());
    let args = format!("2024, 2025, {CODES}");
    let (units, est_requests) = planned(&args);
    let n = codes.len() as i64;
    assert!(units > n * 6 * 4, "{units} units for two years of {n} codes");
    let before = env.data_requests();
    let id = int(&format!("SELECT baostock.backfill_fundamentals({args})"));
    // kill -9 the worker mid-job: the job goes on after the restart, nothing lost or doubled.
    poll("some units done", Duration::from_secs(120), || {
        (job(id).units_done > 200).then_some(())
    });
    if let Some(pid) = worker_pid() {
        kill_9(pid);
    }
    wait_ready(Duration::from_secs(60));
    assert_eq!(wait_within(id, Duration::from_secs(300)), "done");
    let j = job(id);
    assert_eq!((j.units_total, j.units_failed), (units, 0));
    // What the plan said is what it cost: within 10% (a unit whose answer a crash lost is
    // asked again, logins come per session).
    assert!(
        (j.requests - est_requests).abs() * 10 <= est_requests,
        "planned {est_requests} requests, sent {}",
        j.requests
    );
    let sent = (env.data_requests() - before) as i64;
    assert!(
        sent >= units && sent * 10 <= units * 11,
        "{sent} data requests for {units} units"
    );
    // Never a quarter not over: no Q2 2025 was asked.
    assert_eq!(
        int(&format!(
            "SELECT count(*) FROM baostock.sync_units WHERE job_id = {id} AND end_date = '2025-06-30'"
        )),
        0
    );

    // Q1 2025 asked on 04-10: a code whose report the server had not published is "not yet"
    // (no rows, not final); the others are stored.
    let q1 = d(2025, 3, 31);
    let market = env.emu.market();
    let published_by = |pub_date: NaiveDate, asked: NaiveDate| pub_date < asked;
    let not_yet: BTreeSet<String> = codes
        .iter()
        .filter(|c| {
            let s = market.security(c).unwrap();
            s.ipo <= q1 && market.filing(s, q1).is_none_or(|f| !published_by(f.pubs[0], first))
        })
        .cloned()
        .collect();
    assert!(!not_yet.is_empty(), "every Q1 2025 report was out by {first}");
    assert_eq!(
        line_set(
            "SELECT code FROM baostock.report_checks WHERE kind = 'profit' AND period = '2025-03-31' AND NOT final"
        ),
        not_yet
    );
    assert_eq!(
        int("SELECT count(*) FROM baostock.report_profit WHERE stat_date = '2025-03-31'") as usize,
        codes.iter().filter(|c| !not_yet.contains(*c)).count()
    );

    // The official client agrees with the stored reports (a sample of five codes, Q4 2024).
    let q4 = d(2024, 12, 31);
    for code in codes.iter().step_by(60) {
        let answer = official_query(
            port,
            "query_profit_data",
            &json!({"code": code, "year": 2024, "quarter": 4}),
        );
        let rows = answer["rows"].as_array().cloned().unwrap_or_default();
        match rows.first() {
            Some(Value::Array(cells)) => {
                let want: Vec<String> = cells.iter().map(|c| c.as_str().unwrap_or("").to_owned()).collect();
                assert_eq!(stored_profit(code, q4), want, "{code} Q4 2024");
            }
            _ => assert_eq!(
                int(&format!(
                    "SELECT count(*) FROM baostock.report_profit WHERE code = '{code}' AND stat_date = '{q4}'"
                )),
                0,
                "{code}: the official client has no Q4 2024 report"
            ),
        }
    }

    // 2025-05-06, after the Q1 deadline's reports are out: a plan asks again exactly the
    // periods not final yet (profit: the "not yet" codes), and after it every Q1 is final.
    env.control("clock 2025-05-06T12:00:00 running");
    let (again, _) = planned(&format!("2025, 2025, {CODES}, ARRAY['profit']"));
    assert_eq!(again as usize, not_yet.len());
    run_job(&format!("2025, 2025, {CODES}, ARRAY['profit']"));
    assert_eq!(
        int(
            "SELECT count(*) FROM baostock.report_checks WHERE kind = 'profit' AND period = '2025-03-31' AND NOT final"
        ),
        0
    );
    // Nothing left to ask: the job is done at once.
    assert_eq!(planned(&format!("2025, 2025, {CODES}, ARRAY['profit']")).0, 0);

    // A restatement published after 05-06: asked again (force), both revisions are kept and a
    // point-in-time read gives each in its time.
    let (code, stat, pubs) = codes
        .iter()
        .flat_map(|c| market.filings(c).into_iter().map(move |f| (c.clone(), f)))
        .find(|(_, f)| {
            f.pubs.len() == 2 && f.stat.year() == 2024 && f.pubs[0] < d(2025, 5, 5) && f.pubs[1] > d(2025, 5, 6)
        })
        .map(|(c, f)| (c, f.stat, f.pubs))
        .expect("a 2024 report of the CSI 300 restated after 2025-05-06");
    let later = pubs[1] + Days::new(2);
    env.control(&format!("clock {later}T12:00:00 running"));
    let year = stat.year();
    run_job(&format!(
        "{year}, {year}, ARRAY['{code}'], ARRAY['profit'], force => true"
    ));
    assert_eq!(
        sql(&format!(
            "SELECT pub_date FROM baostock.report_profit WHERE code = '{code}' AND stat_date = '{stat}' ORDER BY pub_date"
        ))
        .lines()
        .collect::<Vec<_>>(),
        [pubs[0].to_string(), pubs[1].to_string()]
    );
    assert_eq!(
        one(&format!(
            "SELECT revisions || ' ' || first_pub_date || ' ' || pub_date FROM baostock.profit_latest
             WHERE code = '{code}' AND stat_date = '{stat}'"
        )),
        format!("2 {} {}", pubs[0], pubs[1])
    );
    // Never a revision before its day: on the restatement's day no read shows it.
    assert_eq!(
        int(&format!(
            "SELECT count(*) FROM baostock.fundamentals_asof(ARRAY['{code}'], '{}') WHERE pub_date >= '{}'",
            pubs[1], pubs[1]
        )),
        0
    );

    // The budget: a day's share spent, the job pauses and resumes by itself when the server's
    // China day turns (two minutes before midnight, a budget of 100 leaves jobs 80 a day).
    let eve = d(2025, 11, 3);
    env.control(&format!("clock {eve}T23:58:00 running"));
    settings(
        "ALTER SYSTEM SET baostock.daily_request_budget = 100;",
        "baostock.daily_request_budget",
        "100",
    );
    let (units, _) = planned(&format!("2024, 2024, {CODES}, ARRAY['growth'], force => true"));
    assert!(units > 100, "{units} units");
    let id = int(&format!(
        "SELECT baostock.backfill_fundamentals(2024, 2024, {CODES}, ARRAY['growth'], force => true)"
    ));
    poll("the job to pause for the budget", Duration::from_secs(60), || {
        (one(&format!(
            "SELECT state || '/' || coalesce(pause_reason, '') FROM baostock.sync_jobs WHERE job_id = {id}"
        )) == "paused/budget")
            .then_some(())
    });
    let done_before_midnight = job(id).units_done;
    assert!(done_before_midnight > 0 && done_before_midnight < units);
    // After midnight by the server's clock a new budget: the job goes on, and pauses again
    // once that day's share is spent too.
    poll("the job to go on after midnight", Duration::from_secs(240), || {
        (job(id).units_done > done_before_midnight).then_some(())
    });
    settings(
        "ALTER SYSTEM SET baostock.daily_request_budget = 0;",
        "baostock.daily_request_budget",
        "0",
    );
    assert_eq!(one(&format!("SELECT baostock.cancel({id})")), "cancelled");
}

/// The evening's tracking job asks the tracked codes' reports that have come out since: a
/// fundamentals job leaves some Q1 reports "not yet" on 04-10; the sync of 05-06 (the Q1
/// deadline past) brings them in, within `baostock.report_pickup`, and the health report says
/// nothing is awaited any more.
#[test]
fn the_evening_sync_picks_up_the_tracked_codes_reports_as_they_come_out() {
    let env = TestEnv::start();
    env.control("clock 2025-04-10T21:00:00 running");
    let codes: Vec<String> = sql(
        "SELECT code FROM baostock.securities WHERE sec_type = 1 AND ipo_date < '2020-01-01' AND out_date IS NULL
         ORDER BY code LIMIT 12",
    )
    .lines()
    .map(str::to_owned)
    .collect();
    assert_eq!(codes.len(), 12);
    let array = format!("ARRAY['{}']", codes.join("','"));
    assert_eq!(
        int(&format!(
            "SELECT baostock.track({array}, frequencies => ARRAY['d'], start_date => '2025-04-01')"
        )),
        12
    );
    let id = int(&format!(
        "SELECT baostock.backfill_fundamentals(2025, 2025, {array}, ARRAY['profit'])"
    ));
    assert_eq!(wait_within(id, Duration::from_secs(120)), "done");
    let awaited = int("SELECT reports_awaited FROM baostock.sync_health()");
    let market = env.emu.market();
    let q1 = d(2025, 3, 31);
    let not_out = codes
        .iter()
        .filter(|c| {
            market
                .filing(market.security(c).unwrap(), q1)
                .is_none_or(|f| f.pubs[0] >= d(2025, 4, 10))
        })
        .count() as i64;
    assert!(not_out > 0, "every Q1 report of the sample was out by 04-10");
    assert_eq!(awaited, not_out);

    // 05-06 in the evening: the day's sync queues the tracking job, which asks them again.
    env.control("clock 2025-05-06T21:00:00 running");
    assert_eq!(one("SELECT status FROM baostock.sync_date('2025-05-06')"), "ok");
    let job = int("SELECT max(job_id) FROM baostock.jobs WHERE kind = 'track'");
    assert_eq!(wait_within(job, Duration::from_secs(120)), "done");
    let asked = int(&format!(
        "SELECT count(*) FROM baostock.sync_units WHERE job_id = {job} AND kind = 'report'"
    ));
    assert_eq!(asked, not_out, "the pickup asks the reports not out before");
    assert_eq!(int("SELECT reports_awaited FROM baostock.sync_health()"), 0);
    assert_eq!(
        one("SELECT reports_through FROM baostock.sync_health()"),
        q1.to_string()
    );
    let stored = int("SELECT count(*) FROM baostock.report_profit WHERE stat_date = '2025-03-31'");
    let filed = codes
        .iter()
        .filter(|c| {
            market
                .filing(market.security(c).unwrap(), q1)
                .is_some_and(|f| f.pubs[0] < d(2025, 5, 6))
        })
        .count() as i64;
    assert_eq!(stored, filed);
    sql(&format!("SELECT baostock.untrack({array})"));
}
