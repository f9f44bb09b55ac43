//! Every frequency, adjusted prices and reference data on a real cluster, with the official
//! client 0.9.4 as the referee of what the server says.

use baostock_emulator::SecType;
use chrono::NaiveDate;
use pg_baostock_cluster_tests::*;
use serde_json::{json, Value};

const DAILY: &str = "date,code,open,high,low,close,preclose,volume,amount,adjustflag,turn,tradestatus,pctChg,\
                     peTTM,pbMRQ,psTTM,pcfNcfTTM,isST";
const PERIOD: &str = "date,code,open,high,low,close,volume,amount,adjustflag,turn,pctChg";
const MINUTE: &str = "date,time,code,open,high,low,close,volume,amount,adjustflag";

/// Our columns in the order of the server's fields, as the server writes them: text, NULL as
/// the empty string, booleans as 1 / 0, minute times as 17 digits.
fn text_columns(fields: &str) -> String {
    fields
        .split(',')
        .map(|f| match f {
            "time" => "to_char(time, 'YYYYMMDDHH24MISSMS')".to_owned(),
            "tradestatus" => "CASE trade_status WHEN true THEN '1' WHEN false THEN '0' ELSE '' END".to_owned(),
            "isST" => "CASE is_st WHEN true THEN '1' WHEN false THEN '0' ELSE '' END".to_owned(),
            f => {
                let col = match f {
                    "pctChg" => "pct_chg",
                    "peTTM" => "pe_ttm",
                    "pbMRQ" => "pb_mrq",
                    "psTTM" => "ps_ttm",
                    "pcfNcfTTM" => "pcf_ncf_ttm",
                    f => f,
                };
                format!("coalesce({col}::text, '')")
            }
        })
        .collect::<Vec<_>>()
        .join(" || '|' || ")
}

/// The official client's rows, each as its cells joined by `|`.
fn theirs(v: &Value) -> Vec<String> {
    v["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| {
            r.as_array()
                .expect("row")
                .iter()
                .map(|c| c.as_str().expect("cell").to_owned())
                .collect::<Vec<_>>()
                .join("|")
        })
        .collect()
}

/// Our rows of `from` (a table or a function call) restricted by `scope`, in the server's
/// field order and text.
fn ours(fields: &str, from: &str, scope: &str, order: &str) -> Vec<String> {
    let out = sql(&format!(
        "SELECT {} FROM {from} WHERE {scope} ORDER BY {order}",
        text_columns(fields)
    ));
    out.lines().map(str::to_owned).collect()
}

/// The lines that differ (first few), or empty.
fn differences(what: &str, theirs: &[String], ours: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    if theirs.len() != ours.len() {
        out.push(format!(
            "{what}: {} rows from the server, {} stored",
            theirs.len(),
            ours.len()
        ));
    }
    for (t, o) in theirs.iter().zip(ours) {
        if t != o && out.len() < 6 {
            out.push(format!("{what}:\n  server {t}\n  ours   {o}"));
        }
    }
    out
}

fn history(
    env: &TestEnv,
    code: &str,
    fields: &str,
    start: NaiveDate,
    end: NaiveDate,
    f: &str,
    adjust: &str,
) -> Vec<String> {
    theirs(&official_query(
        env.port(),
        "query_history_k_data_plus",
        &json!({"code": code, "fields": fields, "start_date": start.to_string(), "end_date": end.to_string(),
                "frequency": f, "adjustflag": adjust}),
    ))
}

/// The Monday of the week holding `day`.
fn monday(day: NaiveDate) -> NaiveDate {
    day - chrono::Days::new(u64::from(chrono::Datelike::weekday(&day).num_days_from_monday()))
}

fn wait_done(id: i64) {
    let state = sql(&format!("SELECT baostock.wait({id})"));
    assert_eq!(state, "done", "job {id}: {:?}", job(id));
    let j = job(id);
    assert_eq!(j.units_failed, 0, "{j:?}");
}

/// A stock listed over the whole of `start..=end` with at least `n` factor events in it.
fn stock_with_dividends(env: &TestEnv, start: NaiveDate, end: NaiveDate, n: usize) -> String {
    env.emu
        .market()
        .securities()
        .iter()
        .filter(|s| s.sec_type == SecType::Stock && s.listed_on(start) && s.listed_on(end))
        .find(|s| {
            s.factor_events()
                .iter()
                .filter(|e| e.date >= start && e.date <= end)
                .count()
                >= n
        })
        .unwrap_or_else(|| panic!("no stock with {n} dividends in {start}..{end}"))
        .code
        .clone()
}

#[test]
fn weekly_monthly_and_minute_bars_equal_the_official_client() {
    let env = TestEnv::start();
    let (start, end) = (d(last_year() - 1, 1, 1), d(last_year(), 12, 31));
    let market = env.emu.market();
    let stock = stock_with_dividends(&env, start, end, 2);
    let secs = market.securities();
    let etf = secs
        .iter()
        .find(|s| s.sec_type == SecType::Etf && s.listed_on(start) && s.listed_on(end))
        .expect("an ETF")
        .code
        .clone();
    let delisted = secs
        .iter()
        .find(|s| s.sec_type == SecType::Stock && s.listed_on(start) && s.out.is_some_and(|o| o <= end))
        .expect("a stock delisted in the range")
        .code
        .clone();
    let index = secs
        .iter()
        .find(|s| s.sec_type == SecType::Index && s.listed_on(start))
        .expect("an index")
        .code
        .clone();

    let codes = [stock.as_str(), etf.as_str(), delisted.as_str(), index.as_str()];
    let list = codes.iter().map(|c| format!("'{c}'")).collect::<Vec<_>>().join(", ");
    for (f, table) in [("w", "baostock.weekly_bars"), ("m", "baostock.monthly_bars")] {
        let id = backfill(&format!(
            "'{start}', '{end}', codes => ARRAY[{list}], frequency => '{f}'"
        ));
        wait_done(id);
        // A weekly range starts on a Monday and ends on a Sunday (a bar covers the whole week).
        let (from, to) = if f == "w" {
            (monday(start), monday(end) + chrono::Days::new(6))
        } else {
            (start, end)
        };
        let mut wrong = Vec::new();
        for code in codes {
            let server = history(&env, code, PERIOD, from, to, f, "3");
            // The server has no ETF bars before 2026-01-05: none asked, none stored.
            let floored = code == etf && to < baostock_emulator::publication::ETF_FLOOR;
            assert_eq!(server.is_empty(), floored, "{code}: {f} bars");
            let stored = ours(PERIOD, table, &format!("code = '{code}'"), "date");
            wrong.extend(differences(&format!("{code} {f}"), &server, &stored));
        }
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
        // Nothing is left to fetch: every period of the range is final.
        let left = int(&format!(
            "SELECT coalesce(sum(units), 0) FROM baostock.plan('{start}', '{end}', codes => ARRAY[{list}], \
             frequency => '{f}') WHERE kind = 'range'"
        ));
        assert_eq!(left, 0, "{f} ranges left after the backfill");
    }

    // Minute bars over a month and a year boundary; indices have none.
    let (m_start, m_end) = (d(last_year() - 1, 12, 18), d(last_year(), 1, 12));
    let minute_codes = [stock.as_str(), etf.as_str()];
    let list = minute_codes
        .iter()
        .map(|c| format!("'{c}'"))
        .collect::<Vec<_>>()
        .join(", ");
    for f in ["5", "15", "30", "60"] {
        let id = backfill(&format!(
            "'{m_start}', '{m_end}', codes => ARRAY[{list}], frequency => '{f}'"
        ));
        wait_done(id);
        let mut wrong = Vec::new();
        for code in minute_codes {
            let server = history(&env, code, MINUTE, m_start, m_end, f, "3");
            // The ETF floor is of daily, weekly and monthly bars: ETFs have minute bars.
            assert!(!server.is_empty(), "{code} has {f}-minute bars");
            let stored = ours(
                MINUTE,
                "baostock.minute_bars",
                &format!("code = '{code}' AND frequency = {f}"),
                "time",
            );
            wrong.extend(differences(&format!("{code} {f}"), &server, &stored));
        }
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    }
    // Every row sits in the partition of its month, and both months have one.
    let misplaced = int("SELECT count(*) FROM baostock.minute_bars
                         WHERE tableoid::regclass::text <> 'baostock.minute_bars_' || to_char(time, 'YYYYMM')");
    assert_eq!(misplaced, 0, "minute bars outside their month's partition");
    let months = sql(
        "SELECT string_agg(DISTINCT tableoid::regclass::text, ',' ORDER BY tableoid::regclass::text)
                      FROM baostock.minute_bars",
    );
    assert_eq!(
        months,
        format!(
            "baostock.minute_bars_{}12,baostock.minute_bars_{}01",
            last_year() - 1,
            last_year()
        ),
        "partitions holding rows"
    );
    // Coverage per frequency.
    let coverage = int(&format!(
        "SELECT count(DISTINCT frequency) FROM baostock.coverage WHERE code = '{stock}'"
    ));
    assert_eq!(coverage, 6, "w, m, 5, 15, 30, 60 for {stock}");
    let gaps = sql("SELECT count(*) FROM baostock.gaps WHERE frequency <> 'd'");
    assert_eq!(gaps, "0", "gaps of the backfilled frequencies");

    // An index asked for minute bars is refused and queues nothing.
    let jobs = int("SELECT count(*) FROM baostock.sync_jobs");
    let e = try_sql(&format!(
        "SELECT baostock.backfill('{m_start}', '{m_end}', codes => ARRAY['{index}'], frequency => '5')"
    ))
    .expect_err("minute bars of an index");
    assert_eq!(e.sqlstate, "22023", "{e:?}");
    assert_eq!(int("SELECT count(*) FROM baostock.sync_jobs"), jobs);
}

#[test]
fn a_week_not_over_is_fetched_again_and_its_bar_replaced() {
    let env = TestEnv::start();
    let stock = stock_with_dividends(&env, d(last_year(), 1, 1), d(last_year(), 12, 31), 0);
    let days = env.trading_days(d(last_year(), 6, 1), d(last_year(), 6, 30));
    let wednesday = *days
        .iter()
        .find(|d| chrono::Datelike::weekday(*d) == chrono::Weekday::Wed)
        .expect("a Wednesday");
    let start = monday(wednesday) - chrono::Days::new(21);
    // A range ending mid-week fetches the whole week: past weeks are over.
    let id = backfill(&format!(
        "'{start}', '{wednesday}', codes => ARRAY['{stock}'], frequency => 'w'"
    ));
    wait_done(id);
    let sunday = monday(wednesday) + chrono::Days::new(6);
    let server = history(&env, &stock, PERIOD, start, sunday, "w", "3");
    let stored = ours(PERIOD, "baostock.weekly_bars", &format!("code = '{stock}'"), "date");
    let wrong = differences("weekly", &server, &stored);
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));

    // A bar stored while its week was not over (as of Wednesday: other values, so another
    // digest), its range not marked: the next backfill fetches the week again and the final
    // bar replaces it.
    sql(&format!(
        "UPDATE baostock.weekly_bars SET date = '{wednesday}', close = close + 1, row_hash = NULL
         WHERE code = '{stock}' AND period_start = '{}';
         DELETE FROM baostock.synced_ranges WHERE code = '{stock}' AND kind = 'w'",
        monday(wednesday)
    ));
    let id = backfill(&format!(
        "'{start}', '{wednesday}', codes => ARRAY['{stock}'], frequency => 'w'"
    ));
    wait_done(id);
    let stored = ours(PERIOD, "baostock.weekly_bars", &format!("code = '{stock}'"), "date");
    let wrong = differences("weekly, fetched again", &server, &stored);
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));

    // A week's bar comes out on its Saturday (17:30 China time): on its Wednesday evening a
    // backfill up to that day stores nothing of the week and marks the ranges through the
    // Sunday before; on Saturday evening the next one stores the week's bar whole.
    let monday_of = monday(wednesday);
    sql(&format!(
        "DELETE FROM baostock.weekly_bars WHERE code = '{stock}' AND period_start = '{monday_of}';
         DELETE FROM baostock.synced_ranges WHERE code = '{stock}' AND kind = 'w'"
    ));
    // The week's bars stored, and the last day the ranges cover.
    let week = || {
        one(&format!(
            "SELECT count(*) || ' ' || coalesce((SELECT max(upper(span) - 1)::text FROM baostock.synced_ranges
                                                 WHERE code = '{stock}' AND kind = 'w'), 'none')
             FROM baostock.weekly_bars WHERE code = '{stock}' AND period_start = '{monday_of}'"
        ))
    };
    env.control(&format!("clock {wednesday}T21:00:00 running"));
    let id = backfill(&format!(
        "'{start}', '{wednesday}', codes => ARRAY['{stock}'], frequency => 'w'"
    ));
    wait_done(id);
    let sunday_before = monday_of - chrono::Days::new(1);
    assert_eq!(week(), format!("0 {sunday_before}"), "the week before its Saturday");
    let saturday = monday_of + chrono::Days::new(5);
    env.control(&format!("clock {saturday}T18:30:00 running"));
    let id = backfill(&format!(
        "'{start}', '{wednesday}', codes => ARRAY['{stock}'], frequency => 'w'"
    ));
    wait_done(id);
    assert_eq!(week(), format!("1 {sunday}"), "the week on its Saturday evening");
    let stored = ours(PERIOD, "baostock.weekly_bars", &format!("code = '{stock}'"), "date");
    let wrong = differences("weekly, on its Saturday", &server, &stored);
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// A range that ends years ago still gets the code's whole factor history up to today: the
/// dividends after the range move every forward-adjusted price in it (0.2.0 stopped the history
/// at the job's end and answered qfq prices off by the later dividends, silently). A code whose
/// history is not known to be current says so when read forward-adjusted.
#[test]
fn forward_adjusted_prices_of_an_old_range_equal_the_servers_and_a_stale_history_warns() {
    let env = TestEnv::start();
    let (start, end) = (d(last_year() - 6, 1, 1), d(last_year() - 3, 12, 31));
    let latest = {
        let calendar = env.emu.market().calendar();
        calendar.day(calendar.len() - 1)
    };
    let later = |code: &str| {
        env.emu
            .market()
            .securities()
            .iter()
            .find(|s| s.code == code)
            .map_or(0, |s| {
                s.factor_events()
                    .iter()
                    .filter(|e| e.date > end && e.date <= latest)
                    .count()
            })
    };
    let stock = env
        .emu
        .market()
        .securities()
        .iter()
        .filter(|s| s.sec_type == SecType::Stock && s.listed_on(start) && s.listed_on(latest))
        .map(|s| s.code.clone())
        .find(|c| later(c) > 0)
        .expect("a stock with a dividend after the range");
    wait_done(backfill(&format!("'{start}', '{end}', codes => ARRAY['{stock}']")));
    let server = history(&env, &stock, DAILY, start, end, "d", "2");
    let ours = ours(
        DAILY,
        &format!("baostock.adjusted_bars('{stock}', '{start}', '{end}', 'qfq')"),
        "true",
        "date",
    );
    let wrong = differences("qfq of an old range", &server, &ours);
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    let (res, warnings) = sql_with_warnings(&format!(
        "SELECT count(*) FROM baostock.adjusted_bars('{stock}', '{start}', '{end}', 'qfq')"
    ));
    res.expect("a qfq read");
    assert!(warnings.is_empty(), "a current history warned: {warnings:?}");

    // The bars alone: forward-adjusted prices of this code cannot be known, and the read says so.
    let other = env
        .emu
        .market()
        .securities()
        .iter()
        .find(|s| s.sec_type == SecType::Stock && s.code != stock && s.listed_on(start) && s.listed_on(end))
        .expect("another stock")
        .code
        .clone();
    wait_done(backfill(&format!(
        "'{start}', '{end}', codes => ARRAY['{other}'], factors => false"
    )));
    let (res, warnings) = sql_with_warnings(&format!(
        "SELECT count(*) FROM baostock.adjusted_bars('{other}', '{start}', '{end}', 'qfq')"
    ));
    assert!(res.expect("a qfq read").trim().parse::<i64>().unwrap() > 0);
    assert!(
        warnings
            .iter()
            .any(|w| w.contains(&other) && w.contains("was never fetched")),
        "no warning for a code without its factor history: {warnings:?}"
    );
    // Back-adjusted prices need the history too, but no factor after the day.
    let (_, warnings) = sql_with_warnings(&format!(
        "SELECT count(*) FROM baostock.adjusted_bars('{other}', '{start}', '{end}', 'hfq')"
    ));
    assert!(warnings.iter().any(|w| w.contains("back-adjusted")), "{warnings:?}");
    let (_, warnings) = sql_with_warnings(&format!(
        "SELECT count(*) FROM baostock.adjusted_bars('{stock}', '{start}', '{end}', 'hfq')"
    ));
    assert!(warnings.is_empty(), "{warnings:?}");
}

#[test]
fn adjusted_prices_equal_the_servers_and_follow_a_new_dividend() {
    let env = TestEnv::start();
    // The newest two trading days the server has published whole.
    let published = env.trading_days(d(last_year(), 1, 1), env.published_day());
    let (latest, before) = (published[published.len() - 1], published[published.len() - 2]);
    let start = d(last_year() - 4, 1, 1);
    let stock = stock_with_dividends(&env, start, latest, 3);
    let id = backfill(&format!("'{start}', '{before}', codes => ARRAY['{stock}']"));
    wait_done(id);
    assert_eq!(
        int(&format!(
            "SELECT count(*) FROM baostock.synced_ranges WHERE code = '{stock}' AND kind = 'factors'
               AND lower(span) = '1990-12-19'"
        )),
        1,
        "the whole factor history was fetched"
    );

    let adjusted = |adjust: &str, f: &str, end: NaiveDate| {
        let fields = if f == "d" { DAILY } else { PERIOD };
        ours(
            fields,
            &format!("baostock.adjusted_bars('{stock}', '{start}', '{end}', '{adjust}', '{f}')"),
            "true",
            "date",
        )
    };
    let check = |end: NaiveDate| {
        let mut wrong = Vec::new();
        for (adjust, flag) in [("qfq", "2"), ("hfq", "1"), ("none", "3")] {
            for f in ["d", "w", "m"] {
                let fields = if f == "d" { DAILY } else { PERIOD };
                // A week's or month's bar is the server's once its period is out.
                let end = match f {
                    "w" => end.min(env.emu.controls().last_published(baostock_emulator::Kind::Weekly)),
                    "m" => end.min(env.emu.controls().last_published(baostock_emulator::Kind::Monthly)),
                    _ => end,
                };
                let server = history(&env, &stock, fields, start, end, f, flag);
                wrong.extend(differences(
                    &format!("{adjust} {f}"),
                    &server,
                    &adjusted(adjust, f, end),
                ));
            }
        }
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    };
    check(before);
    let (qfq_before, hfq_before) = (adjusted("qfq", "d", before), adjusted("hfq", "d", before));

    // A new dividend on the latest day, picked up by the daily sync's 9C.
    env.emu
        .controls()
        .add_corporate_action(&stock, latest, 1_250_000)
        .expect("add a dividend");
    let status = sql(&format!("SELECT status FROM baostock.sync_date('{latest}')"));
    assert_eq!(status, "ok");
    check(latest);
    let (qfq_after, hfq_after) = (adjusted("qfq", "d", latest), adjusted("hfq", "d", latest));
    // The views adjust every code the same way.
    let scope = format!("code = '{stock}' AND date BETWEEN '{start}' AND '{latest}'");
    assert_eq!(
        ours(DAILY, "baostock.daily_bars_qfq", &scope, "date"),
        qfq_after,
        "daily_bars_qfq"
    );
    assert_eq!(
        ours(DAILY, "baostock.daily_bars_hfq", &scope, "date"),
        hfq_after,
        "daily_bars_hfq"
    );
    assert_eq!(
        &hfq_after[..hfq_before.len()],
        &hfq_before[..],
        "back-adjusted history moved"
    );
    let unchanged = qfq_before.iter().zip(&qfq_after).filter(|(a, b)| a == b).count();
    assert_eq!(
        unchanged, 0,
        "forward-adjusted history stayed as it was on {unchanged} days"
    );

    // The stored fore factors are the server's current ones.
    let server = official_query(
        env.port(),
        "query_adjust_factor",
        &json!({"code": stock, "start_date": "1990-12-19", "end_date": latest.to_string()}),
    );
    let stored: Vec<String> = sql(&format!(
        "SELECT code || '|' || to_char(operate_date, 'YYYY-MM-DD') || '|' || coalesce(fore_factor::text, '') || '|'
                || coalesce(back_factor::text, '') || '|' || coalesce(adjust_factor::text, '')
         FROM baostock.adjust_factors WHERE code = '{stock}' ORDER BY operate_date"
    ))
    .lines()
    .map(str::to_owned)
    .collect();
    let wrong = differences("factors", &theirs(&server), &stored);
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));

    // Bad input: a clear SQLSTATE.
    for (args, want) in [
        (format!("'{stock}', '{start}', '{latest}', 'xfq'"), "22023"),
        (format!("'{stock}', '{start}', '{latest}', 'qfq', 'x'"), "22023"),
        (format!("'{stock}', '{latest}', '{start}'"), "22023"),
        (format!("'sh.000001', '{start}', '{latest}', 'qfq', '5'"), "22023"),
        (format!("NULL, '{start}', '{latest}'"), "22004"),
        (format!("'{stock}', '{start}', '{latest}', NULL"), "22004"),
    ] {
        let e = try_sql(&format!("SELECT count(*) FROM baostock.adjusted_bars({args})"))
            .expect_err("bad adjusted_bars call");
        assert_eq!(e.sqlstate, want, "adjusted_bars({args}): {e:?}");
    }
    for (args, want) in [
        (format!("'{stock}', 'xfq'"), "22023"),
        (format!("'{stock}', NULL"), "22004"),
        ("NULL, 'qfq'".to_owned(), "22004"),
    ] {
        let e = try_sql(&format!("SELECT count(*) FROM baostock.factor_ranges({args})"))
            .expect_err("bad factor_ranges call");
        assert_eq!(e.sqlstate, want, "factor_ranges({args}): {e:?}");
    }
}

#[test]
fn constituents_and_industries_equal_the_official_client_and_the_daily_sync_refreshes_them() {
    let env = TestEnv::start();
    let days = env.trading_days(d(last_year(), 1, 1), d(last_year(), 12, 31));
    let (first, second) = (days[10], days[days.len() - 10]);
    let mut wrong = Vec::new();
    for day in [Some(first), Some(second), None] {
        let arg = day.map_or("NULL".to_owned(), |d| format!("'{d}'"));
        let out = sql(&format!(
            "SELECT string_agg(index_name || ':' || status, ',' ORDER BY index_name)
             FROM baostock.sync_index_constituents({arg})"
        ));
        assert_eq!(out, "hs300:ok,sz50:ok,zz500:ok", "sync_index_constituents({arg})");
        let date = day.map_or(String::new(), |d| d.to_string());
        for (api, name) in [
            ("query_hs300_stocks", "hs300"),
            ("query_sz50_stocks", "sz50"),
            ("query_zz500_stocks", "zz500"),
        ] {
            let server = theirs(&official_query(env.port(), api, &json!({"date": date})));
            assert!(!server.is_empty(), "{api} {date:?}");
            let update = server[0].split('|').next().unwrap_or_default().to_owned();
            let stored = sql(&format!(
                "SELECT to_char(update_date, 'YYYY-MM-DD') || '|' || code || '|' || coalesce(code_name, '')
                 FROM baostock.index_constituents WHERE index_name = '{name}' AND update_date = '{update}'
                 ORDER BY code"
            ));
            let stored: Vec<String> = stored.lines().map(str::to_owned).collect();
            wrong.extend(differences(&format!("{api} {date:?}"), &server, &stored));
        }
        let out = sql(&format!("SELECT status FROM baostock.sync_industries({arg})"));
        assert_eq!(out, "ok");
        let server = theirs(&official_query(
            env.port(),
            "query_stock_industry",
            &json!({"code": "", "date": date}),
        ));
        assert!(!server.is_empty(), "query_stock_industry {date:?}");
        let update = server[0].split('|').next().unwrap_or_default().to_owned();
        let stored = sql(&format!(
            "SELECT to_char(update_date, 'YYYY-MM-DD') || '|' || code || '|' || coalesce(code_name, '') || '|'
                    || coalesce(industry, '') || '|' || coalesce(industry_classification, '')
             FROM baostock.stock_industries WHERE update_date = '{update}' ORDER BY code"
        ));
        let stored: Vec<String> = stored.lines().map(str::to_owned).collect();
        let mut server_sorted = server.clone();
        server_sorted.sort_by(|a, b| a.split('|').nth(1).cmp(&b.split('|').nth(1)));
        wrong.extend(differences(&format!("industries {date:?}"), &server_sorted, &stored));
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    // Bad days are refused before anything is asked.
    for f in ["sync_index_constituents", "sync_industries"] {
        for (arg, want) in [
            ("(now() AT TIME ZONE 'Asia/Shanghai')::date + 1", "22023"),
            ("'infinity'", "22023"),
            ("'1980-01-01'", "22023"),
        ] {
            let e = try_sql(&format!("SELECT * FROM baostock.{f}({arg})")).expect_err("a bad day");
            assert_eq!(e.sqlstate, want, "{f}({arg}): {e:?}");
        }
    }

    // The daily sync refreshes what is stale, once a day.
    sql("TRUNCATE baostock.index_constituents, baostock.stock_industries, baostock.sync_runs");
    // The newest trading day the server has published whole.
    let latest = *env
        .trading_days(d(last_year(), 1, 1), env.published_day())
        .last()
        .expect("a published trading day");
    env.emu.reset_counters();
    assert_eq!(sql(&format!("SELECT status FROM baostock.sync_date('{latest}')")), "ok");
    let c = env.emu.counters();
    for ty in ["45", "59", "61", "63", "65"] {
        assert_eq!(c.requests(ty), 1, "{ty} once: {:?}", c.requests_by_type);
    }
    assert!(int("SELECT count(*) FROM baostock.index_constituents") > 0);
    assert!(int("SELECT count(*) FROM baostock.stock_industries") > 0);
    env.emu.reset_counters();
    assert_eq!(
        sql(&format!(
            "SELECT status FROM baostock.sync_date('{latest}', force => true)"
        )),
        "ok"
    );
    let c = env.emu.counters();
    for ty in ["45", "59", "61", "63", "65"] {
        assert_eq!(c.requests(ty), 0, "{ty} again the same day: {:?}", c.requests_by_type);
    }
}

/// The server has minute bars from 2020-01-03 (its documentation; the setting
/// baostock.minute_history_start moves it): nothing before it is planned or asked for, and a
/// NOTICE says what was left out.
#[test]
fn minute_bars_before_the_servers_minute_history_are_never_asked_for() {
    let env = TestEnv::start();
    let (start, end) = (d(2019, 12, 2), d(2020, 1, 31));
    let stock = env.stock_listed(start, end);
    let e = try_sql("ALTER SYSTEM SET baostock.minute_history_start = '2020-13-01'").expect_err("a bad date");
    assert_eq!(e.sqlstate, "22023", "{e}");
    let plan = |floor: &str| {
        let (res, notices) = sql_with_notices(&format!(
            "SELECT min(first_day) FROM baostock.plan('{start}', '{end}', codes => ARRAY['{stock}'], frequency => '5',
                                                      factors => false) WHERE kind = 'range'"
        ));
        assert_eq!(res.expect("plan").trim(), floor, "the first day planned");
        assert!(
            notices
                .iter()
                .any(|n| n.contains(&format!("no minute bars before {floor}"))),
            "{notices:?}"
        );
    };
    plan("2020-01-03");
    settings(
        "ALTER SYSTEM SET baostock.minute_history_start = '2020-01-20';",
        "baostock.minute_history_start",
        "2020-01-20",
    );
    plan("2020-01-20");
    env.emu.reset_counters();
    let id = backfill(&format!(
        "'{start}', '{end}', codes => ARRAY['{stock}'], frequency => '5', factors => false"
    ));
    wait_done(id);
    assert_eq!(
        one(&format!(
            "SELECT count(*) > 0 AND min(time)::date >= '2020-01-20' FROM baostock.minute_bars
             WHERE code = '{stock}' AND frequency = 5"
        )),
        "t"
    );
    assert_eq!(env.emu.counters().requests("95"), 1, "one range from the floor");
}

/// A bar job's plan says the requests it sends: a year of bars of two codes at every frequency,
/// the plan's range requests against the 95 requests the emulator counted (a year of 5-minute
/// bars is about 11,600 rows, two pages of 10,000 a code: the plan said 12 when it counted pages
/// of the client's 2,000).
#[test]
fn a_bar_jobs_plan_counts_the_requests_it_sends() {
    let env = TestEnv::start();
    let (start, end) = (d(2023, 1, 1), d(2023, 12, 31));
    let codes: Vec<String> = sql(&format!(
        "SELECT code FROM baostock.securities WHERE sec_type = 1 AND ipo_date < '{start}'
           AND (out_date IS NULL OR out_date > '{end}') ORDER BY code LIMIT 2"
    ))
    .lines()
    .map(str::to_owned)
    .collect();
    let array = format!("ARRAY['{}']", codes.join("','"));
    for frequency in ["5", "15", "30", "60", "d", "w", "m"] {
        let args = format!(
            "'{start}', '{end}', codes => {array}, frequency => '{frequency}', factors => false, force => true"
        );
        let planned = int(&format!(
            "SELECT est_requests FROM baostock.plan({args}) WHERE kind = 'range'"
        ));
        env.emu.reset_counters();
        let id = backfill(&args);
        wait_done(id);
        let sent = env.emu.counters().requests("95") as i64;
        assert!(
            (planned - sent).abs() * 10 <= sent.max(1),
            "frequency {frequency}: planned {planned} range requests, sent {sent}"
        );
    }
}
