//! Index membership through time on a real cluster with its worker: backfill_membership finds
//! every change of an index's list to the week with far fewer requests than a list a week, and
//! the members it gives for sampled days equal the official client's list of that date.

use std::collections::BTreeSet;
use std::time::Duration;

use chrono::{Datelike, Days, NaiveDate};
use pg_baostock_cluster_tests::*;
use serde_json::{json, Value};

/// The official client's SSE 50 list of a date.
fn official_sz50(port: u16, day: NaiveDate) -> BTreeSet<String> {
    let answer = official_query(port, "query_sz50_stocks", &json!({"date": day.to_string()}));
    let fields: Vec<String> = answer["fields"]
        .as_array()
        .map(|f| f.iter().map(|x| x.as_str().unwrap_or("").trim().to_owned()).collect())
        .unwrap_or_default();
    let at = fields.iter().position(|f| f == "code").expect("a code field");
    answer["rows"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .filter_map(|r| match r {
            Value::Array(cells) => cells.get(at).and_then(Value::as_str).map(str::to_owned),
            _ => None,
        })
        .collect()
}

#[test]
fn membership_is_found_to_the_week_and_equals_the_official_lists() {
    let env = TestEnv::start();
    let port = env.port();
    let today = d(2025, 7, 16);
    env.control(&format!("clock {today}T18:00:00 running"));

    for (call, state) in [
        ("SELECT baostock.backfill_membership('csi1000')", "22023"),
        ("SELECT baostock.backfill_membership('sz50', '2999-01-01')", "22023"),
        ("SELECT baostock.backfill_membership('sz50', '1980-01-01')", "22023"),
    ] {
        let e = try_sql(call).expect_err(call);
        assert_eq!(e.sqlstate, state, "{call}: {e}");
    }
    assert_eq!(
        int("SELECT count(*) FROM baostock.sync_jobs WHERE kind = 'membership'"),
        0
    );

    let start = d(2023, 1, 1);
    let id = int(&format!("SELECT baostock.backfill_membership('sz50', '{start}')"));
    assert_eq!(wait_within(id, Duration::from_secs(300)), "done");
    let j = job(id);
    assert_eq!(j.units_failed, 0);

    // Every change lies between two stored lists a week apart.
    assert_eq!(
        int("WITH lists AS (
                 SELECT update_date, array_agg(code ORDER BY code) AS codes FROM baostock.index_constituents
                 WHERE index_name = 'sz50' GROUP BY update_date
             ), pairs AS (
                 SELECT update_date AS a, codes, lead(update_date) OVER w AS b, lead(codes) OVER w AS next
                 FROM lists WINDOW w AS (ORDER BY update_date)
             )
             SELECT count(*) FROM pairs WHERE b IS NOT NULL AND b - a > 7 AND codes IS DISTINCT FROM next"),
        0
    );
    // The lists did change (the June and December reviews), and it took far fewer requests
    // than a list a week.
    let changes =
        int("SELECT count(*) FROM baostock.index_membership WHERE index_name = 'sz50' AND valid_to IS NOT NULL");
    assert!(changes >= 4, "{changes} memberships ended in two and a half years");
    let weeks = (today - start).num_days() / 7;
    assert!(
        j.requests * 2 < weeks,
        "{} requests for {weeks} weeks of lists",
        j.requests
    );

    // Sampled days, around the reviews too: the members are the official client's list.
    let mut days: Vec<NaiveDate> = (0..24)
        .map(|i| start + Days::new(37 * i))
        .filter(|x| *x <= today)
        .collect();
    for year in 2023..=2025 {
        for month in [6, 12] {
            let first = NaiveDate::from_ymd_opt(year, month, 1).unwrap();
            days.extend((8..24).step_by(5).map(|k| first + Days::new(k)).filter(|x| *x <= today));
        }
    }
    for day in days {
        let ours = line_set(&format!("SELECT code FROM baostock.index_members('sz50', '{day}')"));
        let official = official_sz50(port, day);
        assert!(!official.is_empty(), "{day}: the official client has no list");
        assert_eq!(ours, official, "SSE 50 members on {day} ({})", day.weekday());
    }

    // A second job asks only what is missing: the lists since, and no bisection left.
    let again = int("SELECT baostock.backfill_membership('sz50', '2023-01-01')");
    assert_eq!(wait_within(again, Duration::from_secs(120)), "done");
    assert!(
        job(again).units_total <= 2,
        "{} units the second time",
        job(again).units_total
    );
}
