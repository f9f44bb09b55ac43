//! A trading day as the real server publishes it, in stages (daily bars 17:30, factors 18:00,
//! minute bars 20:00, a week's bar on its Saturday 17:30, China time): the emulator's clock is
//! driven through one Wednesday and its week end with the official schedule, `sync_date()` is
//! called at the evening's slots, and each kind must be stored by the first call after its
//! publication, never marked before it, with a tracked 5-minute series, a tracked weekly and
//! monthly series and a dividend on that day; then the month end.
//!
//! Written once here, run by tests/publication.rs on the shared cluster and by tests/citus.rs on a
//! Citus coordinator.

use crate::*;

/// The newest tracking job, waited for; `None` when no job is newer than `after`.
fn tracking_job_after(after: i64) -> Option<i64> {
    let job = int("SELECT coalesce(max(job_id), 0) FROM baostock.jobs WHERE kind = 'track'");
    if job <= after {
        return None;
    }
    assert_eq!(wait_within(job, std::time::Duration::from_secs(120)), "done");
    let failed = sql(&format!(
        "SELECT coalesce(string_agg(frequency || ' ' || start_date || '..' || end_date || ': ' || coalesce(error_message, ''), '; '), '')
         FROM baostock.sync_units WHERE job_id = {job} AND state = 'failed'"
    ));
    assert_eq!(failed, "", "failed units of tracking job {job}");
    Some(job)
}

/// The test of tests/publication.rs, on the cluster the harness points at (the shared one, or
/// the Citus coordinator: tests/citus.rs).
pub fn each_kind_is_stored_by_the_first_call_after_its_publication_and_never_marked_before() {
    let env = TestEnv::start();
    env.control("publish official");
    // Wednesday 2026-06-10; its week ends Sunday 06-14, whose Saturday bar comes out 06-13.
    let (before, day, saturday) = (d(2026, 6, 9), d(2026, 6, 10), d(2026, 6, 13));
    // A stock listed before the tracked start that trades on the day (48 five-minute bars).
    let trading: Vec<String> = env
        .emu
        .market()
        .daily_astock(day)
        .into_iter()
        .filter(|r| r[11] == "1")
        .map(|r| format!("'{}'", r[1]))
        .collect();
    let code = one(&format!(
        "SELECT code FROM baostock.securities WHERE sec_type = 1 AND ipo_date < '2026-01-01' AND out_date IS NULL
           AND code IN ({}) ORDER BY code LIMIT 1",
        trading.join(", ")
    ));
    // A 2.5% dividend at the open of the day: only its 9C (18:00) carries the factor row.
    env.control(&format!("corporate-action {code} {day} 1025000"));
    assert_eq!(
        one(&format!(
            "SELECT baostock.track(ARRAY['{code}'], frequencies => ARRAY['5', 'w', 'm'], start_date => '2026-06-01')"
        )),
        "3"
    );
    let synced = |d: chrono::NaiveDate| int(&format!("SELECT count(*) FROM baostock.synced_days WHERE day = '{d}'"));
    let bars_of = |d: chrono::NaiveDate| int(&format!("SELECT count(*) FROM baostock.daily_bars WHERE date = '{d}'"));
    let minute_bars_of = |d: chrono::NaiveDate| {
        int(&format!(
            "SELECT count(*) FROM baostock.minute_bars WHERE code = '{code}' AND frequency = 5 AND time::date = '{d}'"
        ))
    };
    let factor_of_day = || {
        int(&format!(
            "SELECT count(*) FROM baostock.adjust_factors WHERE code = '{code}' AND operate_date = '{day}'"
        ))
    };
    // What health says is still awaited of the newest trading day (the worker saves the
    // server's clock it learnt from a login into server_state within a loop).
    let awaiting = |want: &str| {
        poll(
            &format!("health awaiting {want}"),
            std::time::Duration::from_secs(10),
            || (one("SELECT awaiting::text FROM baostock.health") == want).then_some(()),
        )
    };
    let covered_through = |kind: &str| {
        one(&format!(
            "SELECT coalesce(max(upper(span) - 1)::text, 'none') FROM baostock.synced_ranges
             WHERE code = '{code}' AND kind = '{kind}'"
        ))
    };

    // 16:00: nothing of the day is out; the day before is, whole.
    env.control(&format!("clock {day}T16:00:00 running"));
    let rows = sql("SELECT day || ' ' || status FROM baostock.sync_date()");
    assert_eq!(rows.trim(), format!("{before} ok"), "at 16:00");
    assert_eq!((bars_of(day), synced(day)), (0, 0), "16:00 stored or marked the day");
    awaiting("{daily,factors,minute}");
    let mut last_job = tracking_job_after(0).unwrap_or(0);

    // 17:45: the daily bars are out, the factors are not: bars stored, the day not marked, so
    // that its dividend cannot be lost.
    env.control(&format!("clock {day}T17:45:00 running"));
    let status = one("SELECT status FROM baostock.sync_date()");
    assert_eq!(status, "incomplete", "17:45");
    assert!(
        bars_of(day) > 0,
        "the daily bars published at 17:30 were not stored at 17:45"
    );
    assert_eq!(
        (synced(day), factor_of_day()),
        (0, 0),
        "17:45 marked the day or stored a factor"
    );

    // 18:30: the factors are out: the day is synced with its dividend; the minute bars are not
    // out, so the tracked 5-minute series is not marked through the day (nor is the week).
    env.control(&format!("clock {day}T18:30:00 running"));
    let status = one("SELECT status FROM baostock.sync_date()");
    assert_eq!(status, "ok", "18:30");
    assert_eq!((synced(day), factor_of_day()), (1, 1), "18:30: the day and its factor");
    awaiting("{minute}");
    if let Some(job) = tracking_job_after(last_job) {
        last_job = job;
    }
    assert_eq!(minute_bars_of(day), 0, "minute bars of the day before 20:00");
    assert_eq!(
        covered_through("5"),
        before.to_string(),
        "18:30 marked the 5-minute series"
    );
    assert_ne!(covered_through("w"), "2026-06-14", "18:30 marked the week");

    // 21:00: the day is synced already; the call extends the tracked series all the same.
    env.control(&format!("clock {day}T21:00:00 running"));
    let status = one("SELECT status FROM baostock.sync_date()");
    assert_eq!(status, "skipped", "21:00");
    awaiting("{}");
    last_job = tracking_job_after(last_job).expect("21:00 queued no tracking job");
    assert_eq!(minute_bars_of(day), 48, "the day's 5-minute bars at 21:00");
    assert_eq!(covered_through("5"), day.to_string(), "21:00: the 5-minute series");
    assert_ne!(covered_through("w"), "2026-06-14", "21:00 marked the week");

    // Saturday 18:30: Thursday and Friday are caught up, and the week's bar is out.
    env.control(&format!("clock {saturday}T18:30:00 running"));
    let rows = sql("SELECT day || ' ' || status FROM baostock.sync_date()");
    assert_eq!(rows.trim().lines().count(), 2, "{rows}");
    tracking_job_after(last_job).expect("Saturday queued no tracking job");
    assert_eq!(covered_through("w"), "2026-06-14", "Saturday 18:30: the week");
    assert_eq!(
        covered_through("5"),
        "2026-06-12",
        "Saturday 18:30: the 5-minute series"
    );
    assert_eq!(
        int(&format!(
            "SELECT count(*) FROM baostock.weekly_bars WHERE code = '{code}' AND date BETWEEN '{day}' AND '2026-06-14'"
        )),
        1
    );
    let gaps = sql("SELECT coalesce(string_agg(g::text, '; '), '') FROM baostock.gaps g");
    assert_eq!(gaps, "", "gaps");

    // The month end: June's bar comes out on 1 July at 17:30, not before.
    env.control("clock 2026-07-01T17:00:00 running");
    sql("SELECT count(*) FROM baostock.sync_date()");
    last_job = tracking_job_after(last_job).unwrap_or(last_job);
    assert_eq!(covered_through("m"), "none", "1 July 17:00 marked June");
    assert_eq!(covered_through("5"), "2026-06-30", "1 July 17:00: the 5-minute series");
    env.control("clock 2026-07-01T18:30:00 running");
    assert_eq!(one("SELECT status FROM baostock.sync_date()"), "ok", "1 July 18:30");
    tracking_job_after(last_job).expect("1 July 18:30 queued no tracking job");
    assert_eq!(covered_through("m"), "2026-06-30", "1 July 18:30: June");
    assert_eq!(
        int(&format!(
            "SELECT count(*) FROM baostock.monthly_bars WHERE code = '{code}' AND date BETWEEN '2026-06-01' AND '2026-06-30'"
        )),
        1
    );
    let gaps = sql("SELECT coalesce(string_agg(g::text, '; '), '') FROM baostock.gaps g");
    assert_eq!(gaps, "", "gaps");

    // What the official client gets for the day once everything is out, stored to the last
    // decimal: bars and the day's factors.
    env.control("clock 2026-07-02T09:00:00 running");
    let official = official_daily(env.port(), day);
    let mut bars = official["stocks"].as_array().cloned().unwrap_or_default();
    bars.extend(official["etfs"].as_array().cloned().unwrap_or_default());
    let missing = bar_mismatches(&serde_json::Value::Array(bars), &format!("date = '{day}'"));
    assert!(missing.is_empty(), "{}", first_few(&missing));
    let factors = factor_mismatches(&official["factors"], &format!("operate_date = '{day}'"));
    assert!(factors.is_empty(), "{}", first_few(&factors));
}
