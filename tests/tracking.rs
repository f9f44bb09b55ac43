//! Tracked series on a real cluster with its worker: an index's constituents at 5 and 15
//! minutes kept current by the jobs sync_date queues, over three evenings with the index's
//! June review between the second and the third.

use std::collections::BTreeSet;

use baostock::request::StockIndex;
use chrono::NaiveDate;
use pg_baostock_cluster_tests::*;

/// An index's constituents on a day, as the emulator's market makes them.
fn members(env: &TestEnv, index: StockIndex, day: NaiveDate) -> BTreeSet<String> {
    env.emu
        .market()
        .index_members(index, day)
        .iter()
        .map(|s| s.code.clone())
        .collect()
}

/// The newest tracking job; it must end done with no failed unit.
fn tracking_job_done() -> i64 {
    let job = int("SELECT coalesce(max(job_id), 0) FROM baostock.jobs WHERE kind = 'track'");
    assert!(job > 0, "no tracking job queued");
    assert_eq!(wait_within(job, std::time::Duration::from_secs(120)), "done");
    assert_eq!(
        int(&format!("SELECT units_failed FROM baostock.jobs WHERE job_id = {job}")),
        0
    );
    job
}

#[test]
fn a_tracked_csi_300_stays_current_across_three_evenings_and_follows_its_changes() {
    let env = TestEnv::start();
    let evenings = [d(2026, 6, 11), d(2026, 6, 12), d(2026, 6, 15)];

    // Bad input: a clear SQLSTATE each, nothing written.
    for (call, state) in [
        ("SELECT baostock.track()", "22004"),
        ("SELECT baostock.track(ARRAY[]::text[])", "22023"),
        ("SELECT baostock.track(ARRAY['sh.600000', NULL])", "22004"),
        ("SELECT baostock.track(ARRAY['sh.999999'])", "22023"),
        ("SELECT baostock.track(index_name => 'csi1000')", "22023"),
        (
            "SELECT baostock.track(ARRAY['sh.000300'], frequencies => ARRAY['5'])",
            "22023",
        ),
        (
            "SELECT baostock.track(ARRAY['sh.600000'], frequencies => ARRAY['7'])",
            "22023",
        ),
        (
            "SELECT baostock.track(ARRAY['sh.600000'], frequencies => NULL)",
            "22004",
        ),
        ("SELECT baostock.track(ARRAY['sh.600000'], 'hs300')", "22023"),
        (
            "SELECT baostock.track(ARRAY['sh.600000'], start_date => '1990-01-01')",
            "22023",
        ),
        ("SELECT baostock.untrack()", "22004"),
    ] {
        let e = try_sql(call).expect_err(call);
        assert_eq!(e.sqlstate, state, "{call}: {e}");
    }
    assert_eq!(int("SELECT count(*) FROM baostock.tracking"), 0);

    let start = "start_date => '2026-06-11'";
    assert_eq!(
        one(&format!("SELECT baostock.track(index_name => 'hs300', {start})")),
        "1"
    );
    // Tracking the same thing twice is a no-op.
    assert_eq!(
        one(&format!("SELECT baostock.track(index_name => 'hs300', {start})")),
        "0"
    );
    assert_eq!(
        one(&format!(
            "SELECT baostock.track(index_name => 'sz50', frequencies => ARRAY['15'], {start})"
        )),
        "1"
    );

    let mut last_job = 0;
    for (i, day) in evenings.iter().enumerate() {
        // 21:00: after the minute bars' publication (20:00 China time).
        env.control(&format!("clock {day}T21:00:00 running"));
        assert_eq!(one(&format!("SELECT status FROM baostock.sync_date('{day}')")), "ok");
        let job = tracking_job_done();
        assert!(job > last_job, "evening {day}: no new tracking job");
        last_job = job;

        // Every constituent of the day, and nothing else, is stored through the day.
        let hs300 = members(&env, StockIndex::Hs300, *day);
        let sz50 = members(&env, StockIndex::Sz50, *day);
        let current = |f: &str| {
            line_set(&format!(
                "SELECT code FROM baostock.tracked WHERE frequency = '{f}' AND lag_trading_days = 0
                   AND current_through = '{day}' ORDER BY code"
            ))
        };
        assert_eq!(current("5"), hs300, "evening {day}, 5-minute series");
        assert_eq!(current("15"), sz50, "evening {day}, 15-minute series");
        assert_eq!(
            int("SELECT count(*) FROM baostock.tracked"),
            (hs300.len() + sz50.len()) as i64
        );
        assert_eq!(int("SELECT tracked_lagging FROM baostock.health"), 0);
        // No trading day of a synced range misses its bars (a suspended day has none).
        assert_eq!(
            int("SELECT count(*) FROM baostock.gaps WHERE frequency IN ('5', '15')"),
            0
        );
        // After the first evening a series costs one 95 request a day, logins aside.
        let requests = int(&format!("SELECT requests FROM baostock.jobs WHERE job_id = {job}"));
        let series = (hs300.len() + sz50.len()) as i64;
        if i > 0 {
            assert!(
                requests >= series && requests <= series + 8,
                "{requests} requests for {series} series"
            );
        }
    }

    // The review: codes that joined were fetched from the tracked start, those that left
    // were not extended past the evening before.
    let (before, after) = (evenings[1], evenings[2]);
    let joined: Vec<String> = members(&env, StockIndex::Hs300, after)
        .difference(&members(&env, StockIndex::Hs300, before))
        .cloned()
        .collect();
    assert!(!joined.is_empty(), "the CSI 300 did not change at the review");
    for code in &joined {
        assert_eq!(
            one(&format!(
                "SELECT min(lower(span)) FROM baostock.synced_ranges WHERE code = '{code}' AND kind = '5'"
            )),
            "2026-06-11",
            "{code} joined: fetched from the start"
        );
    }
    let left: Vec<String> = members(&env, StockIndex::Sz50, before)
        .difference(&members(&env, StockIndex::Sz50, after))
        .cloned()
        .collect();
    assert!(!left.is_empty(), "the SSE 50 did not change at the review");
    for code in &left {
        assert_eq!(
            one(&format!(
                "SELECT coalesce(max(time)::date::text, 'none') FROM baostock.minute_bars
                 WHERE code = '{code}' AND frequency = 15"
            )),
            before.to_string(),
            "{code} left: not extended"
        );
    }

    // A series added later lags until a job extends it: health, gaps and the alert say so.
    let outsider = one(
        "SELECT s.code FROM baostock.securities s WHERE s.sec_type = 1 AND s.ipo_date < '2026-01-01'
           AND s.out_date IS NULL AND NOT EXISTS (SELECT 1 FROM baostock.tracked t WHERE t.code = s.code)
         ORDER BY s.code LIMIT 1",
    );
    assert_eq!(
        one(&format!(
            "SELECT baostock.track(ARRAY['{outsider}'], frequencies => ARRAY['30'], start_date => '2026-06-12')"
        )),
        "1"
    );
    assert_eq!(
        one(&format!(
            "SELECT lag_trading_days FROM baostock.tracked WHERE code = '{outsider}'"
        )),
        "2"
    );
    assert_eq!(int("SELECT tracked_lagging FROM baostock.health"), 1);
    assert_eq!(
        int(&format!(
            "SELECT count(*) FROM baostock.gaps WHERE code = '{outsider}' AND frequency = '30'"
        )),
        2
    );
    sql("SELECT baostock.evaluate_alerts()");
    let open_alert =
        "SELECT count(*) FROM baostock.alerts WHERE kind = 'stale' AND key = 'tracked' AND cleared_at IS NULL";
    assert_eq!(int(open_alert), 1);
    assert!(int("SELECT est_requests FROM baostock.plan('2026-06-15', '2026-06-15', ARRAY['sh.600000']) WHERE kind = 'tracking a day'") > 0);
    assert_ne!(one("SELECT coalesce(baostock.sync_tracked('2026-06-15'), 0)"), "0");
    tracking_job_done();
    assert_eq!(
        one(&format!(
            "SELECT lag_trading_days FROM baostock.tracked WHERE code = '{outsider}'"
        )),
        "0"
    );
    assert_eq!(int("SELECT tracked_lagging FROM baostock.health"), 0);
    sql("SELECT baostock.evaluate_alerts()");
    assert_eq!(int(open_alert), 0);
    // Nothing missing: nothing queued.
    assert_eq!(one("SELECT coalesce(baostock.sync_tracked('2026-06-15'), 0)"), "0");
    assert_eq!(one(&format!("SELECT baostock.untrack(ARRAY['{outsider}'])")), "1");
}
