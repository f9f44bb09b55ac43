//! Staged publication per kind over TCP: the official schedule (daily bars 17:30, factors
//! 18:00, minute bars 20:00, weekly bars on Saturday 17:30, monthly bars on the 1st 17:30,
//! constituents on Monday 15:30) with a frozen clock, the minute and ETF history floors, the
//! `always` schedule (never a day after the clock's date), the control-port commands, the
//! default, and the binary's flags.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command};

use baostock::frame::MsgType;
use baostock::json::parse_records;
use baostock::value::{AdjustFlag, Frequency, MINUTE_FIELDS, PERIOD_FIELDS};
use baostock::{Page, Request, StockIndex};
use baostock_emulator::calendar::is_trading_day;
use baostock_emulator::{Emulator, EmulatorConfig, Kind, Market, Schedule, SecType};
use chrono::{NaiveDateTime, NaiveTime};
use common::{astock, d, day_factors, etf, Control, Raw};
use serde_json::Value;

/// The last day of these markets: past the ETF floor (2026-01-05) and January 2026.
const END: &str = "2026-03-31";

fn config(publication: Schedule) -> EmulatorConfig {
    common::with_control_port(EmulatorConfig {
        codes: 200,
        end: Some(d(END)),
        publication,
        ..EmulatorConfig::default()
    })
}

fn at(s: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S").unwrap()
}

fn hm(h: u32, m: u32) -> Option<NaiveTime> {
    NaiveTime::from_hms_opt(h, m, 0)
}

/// A 95 request of unadjusted bars.
fn k(code: &str, fields: &str, start: &str, end: &str, frequency: Frequency) -> Request {
    common::history(code, fields, start, end, frequency, AdjustFlag::None)
}

fn factors_of(code: &str, start: &str, end: &str) -> Request {
    Request::AdjustFactor {
        user: "anonymous".into(),
        page: Page::first(10000),
        code: code.into(),
        start: d(start),
        end: d(end),
    }
}

fn hs300(date: Option<&str>) -> Request {
    Request::IndexConstituents {
        user: "anonymous".into(),
        page: Page::first(10000),
        index: StockIndex::Hs300,
        date: date.map(d),
    }
}

/// The rows of a successful answer.
fn rows(c: &mut Raw, req: &Request) -> Vec<Vec<String>> {
    let (f, _) = c.request(req);
    assert_ne!(f.msg_type, MsgType::ERROR, "{req:?}: {}", f.body);
    assert_eq!(&f.fields()[..2], ["0", "success"], "{req:?}");
    let (data_at, arity) = match req {
        Request::HistoryK { query, .. } => (6, query.fields.split(',').count()),
        Request::DailyAStock { .. } | Request::DailyEtf { .. } => (4, 18),
        Request::DailyAdjustFactor { .. } => (4, 5),
        Request::AdjustFactor { .. } => (6, 5),
        Request::IndexConstituents { .. } => (6, 3),
        other => panic!("no layout for {other:?}"),
    };
    parse_records(f.fields()[data_at], arity, usize::MAX).unwrap()
}

/// The first column of every row.
fn firsts(rows: Vec<Vec<String>>) -> Vec<String> {
    rows.into_iter().map(|mut r| r.swap_remove(0)).collect()
}

/// A code of `sec_type` that trades (is listed and not suspended) on every one of `days`.
fn trading(m: &Market, sec_type: SecType, days: &[&str]) -> String {
    m.securities()
        .iter()
        .filter(|s| s.sec_type == sec_type)
        .find(|s| {
            days.iter().all(|t| {
                m.history(&s.code, "tradestatus", d(t), d(t), Frequency::Daily, AdjustFlag::None)
                    .unwrap()
                    == [["1"]]
            })
        })
        .unwrap_or_else(|| panic!("a {sec_type:?} trading on {days:?}"))
        .code
        .clone()
}

/// The library's unadjusted weekly or monthly bars of `code` from `start` to `end`.
fn period_bars(m: &Market, code: &str, start: &str, end: &str, frequency: Frequency) -> Vec<Vec<String>> {
    m.history(code, PERIOD_FIELDS, d(start), d(end), frequency, AdjustFlag::None)
        .unwrap()
}

/// The trading day the intraday schedule is checked on (a Thursday), the one before and after.
const DAY: &str = "2026-01-15";
const BEFORE: &str = "2026-01-14";
const NEXT: &str = "2026-01-16";

#[test]
fn a_days_kinds_appear_at_their_official_hours() {
    for t in [BEFORE, DAY, NEXT] {
        assert!(is_trading_day(d(t)), "{t}");
    }
    let emu = Emulator::start(config(Schedule::official())).unwrap();
    let m = emu.market();
    let stock = trading(m, SecType::Stock, &[BEFORE, DAY, NEXT]);
    let fund = trading(m, SecType::Etf, &[DAY]);
    emu.controls().add_corporate_action(&stock, d(DAY), 1_025_000).unwrap();
    let mut c = Raw::connect(&emu);
    c.login();
    let daily = k(&stock, "date,code,close", BEFORE, NEXT, Frequency::Daily);
    let minute = |day: &str| k(&stock, MINUTE_FIELDS, day, day, Frequency::Min5);
    let per_code = factors_of(&stock, "2025-12-01", "2026-01-31");

    // (time, daily bars out, factors out, minute bars out)
    let stages = [
        ("2026-01-15T16:00:00", false, false, false),
        ("2026-01-15T17:29:59", false, false, false),
        ("2026-01-15T17:30:00", true, false, false),
        ("2026-01-15T17:45:00", true, false, false),
        ("2026-01-15T18:00:00", true, true, false),
        ("2026-01-15T18:30:00", true, true, false),
        ("2026-01-15T19:59:59", true, true, false),
        ("2026-01-15T20:00:00", true, true, true),
        ("2026-01-15T21:00:00", true, true, true),
        ("2026-01-16T08:00:00", true, true, true),
    ];
    for (now, daily_out, factors_out, minute_out) in stages {
        emu.controls().set_clock(Some(at(now)));
        let on = |out: bool, rows: Vec<Vec<String>>| if out { rows } else { Vec::new() };
        // 98 and 9A: the library's rows of the day, or none.
        assert_eq!(
            rows(&mut c, &astock(DAY)),
            on(daily_out, m.daily_astock(d(DAY))),
            "98 at {now}"
        );
        let etf_rows = rows(&mut c, &etf(DAY));
        assert_eq!(etf_rows, on(daily_out, m.daily_etf(d(DAY))), "9A at {now}");
        assert_eq!(
            daily_out,
            etf_rows.iter().any(|r| r[1] == fund),
            "9A has the ETF at {now}"
        );
        // 95 daily: the day is left out until it is published; the day before is always there.
        let mut want = vec![BEFORE.to_owned()];
        if daily_out {
            want.push(DAY.to_owned());
        }
        assert_eq!(firsts(rows(&mut c, &daily)), want, "95 d at {now}");
        // 9C and 15: the action's factor row of the day.
        let factors_of_day = rows(&mut c, &day_factors(DAY));
        assert_eq!(
            factors_of_day,
            on(factors_out, m.daily_adjust_factors(d(DAY))),
            "9C at {now}"
        );
        assert_eq!(factors_out, factors_of_day.iter().any(|r| r[0] == stock), "9C at {now}");
        let dates: Vec<String> = rows(&mut c, &per_code).into_iter().map(|r| r[1].clone()).collect();
        assert_eq!(factors_out, dates.contains(&DAY.to_owned()), "15 at {now}: {dates:?}");
        // 5-minute bars: 48 of the day from 20:00, the day before's always.
        assert_eq!(
            rows(&mut c, &minute(BEFORE)).len(),
            48,
            "95 5 of the day before at {now}"
        );
        assert_eq!(
            rows(&mut c, &minute(DAY)).len(),
            if minute_out { 48 } else { 0 },
            "95 5 at {now}"
        );
    }
    // The next morning, the next day is not out yet in any kind.
    assert!(rows(&mut c, &astock(NEXT)).is_empty());
    assert!(rows(&mut c, &minute(NEXT)).is_empty());
    assert!(!firsts(rows(&mut c, &daily)).contains(&NEXT.to_owned()));
}

#[test]
fn a_weeks_bar_appears_whole_on_its_saturday() {
    let emu = Emulator::start(config(Schedule::official())).unwrap();
    let m = emu.market();
    let stock = trading(m, SecType::Stock, &["2026-01-09", "2026-01-16"]);
    let weekly = k(&stock, PERIOD_FIELDS, "2026-01-05", "2026-01-31", Frequency::Weekly);
    let daily = k(&stock, "date", "2026-01-12", "2026-01-31", Frequency::Daily);
    let library = |end: &str| period_bars(m, &stock, "2026-01-05", end, Frequency::Weekly);
    let mut c = Raw::connect(&emu);
    c.login();
    // Friday evening: the Friday's daily bar is out, its week's bar is not (no partial bar).
    for now in ["2026-01-16T21:00:00", "2026-01-17T17:29:59"] {
        emu.controls().set_clock(Some(at(now)));
        assert!(firsts(rows(&mut c, &daily)).contains(&"2026-01-16".to_owned()), "{now}");
        assert_eq!(rows(&mut c, &weekly), library("2026-01-11"), "{now}");
        assert_eq!(firsts(rows(&mut c, &weekly)), ["2026-01-09"], "{now}");
    }
    // Saturday 17:30 on: the week's bar, whole.
    for now in ["2026-01-17T17:30:00", "2026-01-17T18:00:00", "2026-01-18T09:00:00"] {
        emu.controls().set_clock(Some(at(now)));
        assert_eq!(rows(&mut c, &weekly), library("2026-01-16"), "{now}");
        assert_eq!(firsts(rows(&mut c, &weekly)), ["2026-01-09", "2026-01-16"], "{now}");
    }
    // Under `always` a week's bar covers its days up to the clock's date.
    emu.controls().set_publication(Schedule::always());
    emu.controls().set_clock(Some(at("2026-01-14T12:00:00")));
    assert_eq!(rows(&mut c, &weekly), library("2026-01-14"));
    assert_eq!(firsts(rows(&mut c, &weekly)), ["2026-01-09", "2026-01-14"]);
}

#[test]
fn a_months_bar_appears_whole_on_the_first_of_the_next_month() {
    let emu = Emulator::start(config(Schedule::official())).unwrap();
    let m = emu.market();
    let stock = trading(m, SecType::Stock, &["2025-11-28", "2025-12-31", "2026-01-30"]);
    let monthly = k(&stock, PERIOD_FIELDS, "2025-11-01", "2026-02-28", Frequency::Monthly);
    let library = |end: &str| period_bars(m, &stock, "2025-11-01", end, Frequency::Monthly);
    let mut c = Raw::connect(&emu);
    c.login();
    for now in ["2026-01-31T21:00:00", "2026-02-01T17:29:59"] {
        emu.controls().set_clock(Some(at(now)));
        assert_eq!(rows(&mut c, &monthly), library("2025-12-31"), "{now}");
        assert_eq!(rows(&mut c, &monthly).len(), 2, "{now}: November and December");
    }
    for now in ["2026-02-01T17:30:00", "2026-02-01T18:00:00", "2026-02-02T10:00:00"] {
        emu.controls().set_clock(Some(at(now)));
        assert_eq!(rows(&mut c, &monthly), library("2026-01-31"), "{now}");
        assert_eq!(rows(&mut c, &monthly).len(), 3, "{now}: January too, no February yet");
    }
    emu.controls().set_publication(Schedule::always());
    emu.controls().set_clock(Some(at("2026-01-20T12:00:00")));
    assert_eq!(
        rows(&mut c, &monthly),
        library("2026-01-20"),
        "a partial month under always"
    );
}

#[test]
fn a_mondays_constituent_list_appears_at_15_30() {
    let emu = Emulator::start(config(Schedule::official())).unwrap();
    let m = emu.market();
    let mut c = Raw::connect(&emu);
    c.login();
    let update_dates = |rows: Vec<Vec<String>>| -> Vec<String> {
        let mut u = firsts(rows);
        u.dedup();
        u
    };
    emu.controls().set_clock(Some(at("2026-01-19T15:29:59")));
    assert!(rows(&mut c, &hs300(Some("2026-01-19"))).is_empty());
    assert_eq!(
        rows(&mut c, &hs300(Some("2026-01-16"))),
        m.index_constituents(StockIndex::Hs300, d("2026-01-16"))
    );
    // An empty date: the last list out, the previous Monday's.
    let latest = rows(&mut c, &hs300(None));
    assert_eq!(latest, m.index_constituents(StockIndex::Hs300, d("2026-01-18")));
    assert_eq!(update_dates(latest), ["2026-01-12"]);

    emu.controls().set_clock(Some(at("2026-01-19T15:30:00")));
    let monday = rows(&mut c, &hs300(Some("2026-01-19")));
    assert_eq!(monday, m.index_constituents(StockIndex::Hs300, d("2026-01-19")));
    assert_eq!(update_dates(monday), ["2026-01-19"]);
    assert_eq!(update_dates(rows(&mut c, &hs300(None))), ["2026-01-19"]);
    // The rest of the week is still the future.
    assert!(rows(&mut c, &hs300(Some("2026-01-20"))).is_empty());
}

#[test]
fn minute_bars_start_in_2020_under_the_official_floors() {
    let emu = Emulator::start(config(Schedule::official())).unwrap();
    let m = emu.market();
    let stock = trading(m, SecType::Stock, &["2019-12-31", "2020-01-03"]);
    let minute = |start: &str, end: &str| k(&stock, "date,time", start, end, Frequency::Min5);
    let hourly = k(&stock, "date,time", "2019-12-31", "2019-12-31", Frequency::Min60);
    let mut c = Raw::connect(&emu);
    c.login();
    assert!(rows(&mut c, &minute("2019-12-31", "2019-12-31")).is_empty());
    assert!(rows(&mut c, &hourly).is_empty());
    assert_eq!(rows(&mut c, &minute("2020-01-03", "2020-01-03")).len(), 48);
    let span = firsts(rows(&mut c, &minute("2019-12-30", "2020-01-03")));
    assert_eq!(span.len(), 48);
    assert!(span.iter().all(|t| t == "2020-01-03"));
    // Daily bars of the same days are not floored.
    assert_eq!(
        firsts(rows(
            &mut c,
            &k(&stock, "date", "2019-12-31", "2019-12-31", Frequency::Daily)
        )),
        ["2019-12-31"]
    );
    // Without the floors the earlier days have their bars.
    emu.controls().set_publication(Schedule::always());
    assert_eq!(rows(&mut c, &minute("2019-12-31", "2019-12-31")).len(), 48);
    assert_eq!(rows(&mut c, &hourly).len(), 4);
}

#[test]
fn etf_bars_start_on_2026_01_05_under_the_official_floors() {
    let emu = Emulator::start(config(Schedule::official())).unwrap();
    let m = emu.market();
    let fund = trading(m, SecType::Etf, &["2025-12-31", "2026-01-05", "2026-01-06"]);
    let stock = trading(m, SecType::Stock, &["2025-12-31"]);
    let fund_daily = k(&fund, "date", "2025-12-29", "2026-01-06", Frequency::Daily);
    let fund_weekly = k(&fund, "date", "2025-12-22", "2026-01-16", Frequency::Weekly);
    let fund_minute = k(&fund, "date", "2025-12-31", "2025-12-31", Frequency::Min5);
    let mut c = Raw::connect(&emu);
    c.login();
    assert!(rows(&mut c, &etf("2025-12-31")).is_empty());
    assert_eq!(rows(&mut c, &etf("2026-01-05")), m.daily_etf(d("2026-01-05")));
    assert!(!rows(&mut c, &etf("2026-01-05")).is_empty());
    assert_eq!(firsts(rows(&mut c, &fund_daily)), ["2026-01-05", "2026-01-06"]);
    assert_eq!(firsts(rows(&mut c, &fund_weekly)), ["2026-01-09", "2026-01-16"]);
    // Minute bars of an ETF only follow the minute floor; stocks have no ETF floor.
    assert_eq!(rows(&mut c, &fund_minute).len(), 48);
    assert_eq!(rows(&mut c, &astock("2025-12-31")), m.daily_astock(d("2025-12-31")));
    assert!(rows(&mut c, &astock("2025-12-31")).iter().any(|r| r[1] == stock));
    // Under `always` both sides of the floor have rows.
    emu.controls().set_publication(Schedule::always());
    assert_eq!(rows(&mut c, &etf("2025-12-31")), m.daily_etf(d("2025-12-31")));
    assert!(rows(&mut c, &etf("2025-12-31")).iter().any(|r| r[1] == fund));
    assert_eq!(rows(&mut c, &etf("2026-01-05")), m.daily_etf(d("2026-01-05")));
    let daily = firsts(rows(&mut c, &fund_daily));
    assert_eq!(daily.first().map(String::as_str), Some("2025-12-29"));
    assert!(daily.contains(&"2025-12-31".to_owned()));
    assert_eq!(rows(&mut c, &fund_weekly).len(), 4);
}

#[test]
fn publish_always_never_shows_a_day_after_the_frozen_clock() {
    let emu = Emulator::start(config(Schedule::official())).unwrap();
    let m = emu.market();
    let stock = trading(m, SecType::Stock, &[DAY, NEXT]);
    emu.controls().add_corporate_action(&stock, d(NEXT), 1_025_000).unwrap();
    let mut io = Control::connect(&emu);
    assert_eq!(io.command("publish always")["ok"], true);
    assert_eq!(io.command("clock 2026-01-15T10:00:00")["ok"], true);
    let mut c = Raw::connect(&emu);
    c.login();
    // The clock's day is there from its start, the next day is not.
    assert_eq!(rows(&mut c, &astock(DAY)), m.daily_astock(d(DAY)));
    assert!(!rows(&mut c, &astock(DAY)).is_empty());
    assert!(rows(&mut c, &astock(NEXT)).is_empty());
    assert!(rows(&mut c, &etf(NEXT)).is_empty());
    assert!(rows(&mut c, &day_factors(NEXT)).is_empty());
    assert!(
        !m.daily_adjust_factors(d(NEXT)).is_empty(),
        "the library has the next day's row"
    );
    let dates: Vec<String> = rows(&mut c, &factors_of(&stock, "2026-01-01", "2026-01-31"))
        .into_iter()
        .map(|r| r[1].clone())
        .collect();
    assert!(!dates.contains(&NEXT.to_owned()), "{dates:?}");
    assert_eq!(
        firsts(rows(&mut c, &k(&stock, "date", BEFORE, "2026-01-20", Frequency::Daily))),
        [BEFORE, DAY]
    );
    assert_eq!(rows(&mut c, &k(&stock, "date", DAY, DAY, Frequency::Min5)).len(), 48);
    assert!(rows(&mut c, &k(&stock, "date", NEXT, NEXT, Frequency::Min5)).is_empty());
    let week = firsts(rows(
        &mut c,
        &k(&stock, "date", "2026-01-12", "2026-01-16", Frequency::Weekly),
    ));
    assert_eq!(week, [DAY]);
    assert!(rows(&mut c, &hs300(Some("2026-01-19"))).is_empty());
    assert!(!rows(&mut c, &hs300(Some(DAY))).is_empty());
    // Once the clock reaches the next day it is there.
    assert_eq!(io.command("clock 2026-01-16T00:00:00")["ok"], true);
    assert_eq!(rows(&mut c, &astock(NEXT)), m.daily_astock(d(NEXT)));
    assert_eq!(rows(&mut c, &day_factors(NEXT)), m.daily_adjust_factors(d(NEXT)));
}

#[test]
fn the_control_port_sets_the_publication_per_kind() {
    let emu = Emulator::start(config(Schedule::official())).unwrap();
    let m = emu.market();
    let stock = trading(m, SecType::Stock, &[DAY]);
    let minute = k(&stock, "date", DAY, DAY, Frequency::Min5);
    let mut io = Control::connect(&emu);
    let mut c = Raw::connect(&emu);
    c.login();
    assert_eq!(io.command("clock 2026-01-15T16:00:00")["ok"], true);
    let status = io.command("status");
    assert_eq!(
        status["publication"],
        serde_json::json!({
            "preset": "official",
            "daily": "17:30:00",
            "factors": "18:00:00",
            "minute": "20:00:00",
            "weekly": "17:30:00",
            "monthly": "17:30:00",
            "constituents": "15:30:00",
            "reports": "01:30:00",
            "floors": true
        })
    );
    assert_eq!(status["publish_time"], "17:30:00");
    assert_eq!(
        status["last_published"],
        serde_json::json!({
            "daily": BEFORE,
            "factors": BEFORE,
            "minute": BEFORE,
            "weekly": "2026-01-11",
            "monthly": "2025-12-31",
            "constituents": DAY,
            "reports": BEFORE
        })
    );

    // publish KIND HH:MM[:SS] and publish KIND none.
    assert!(rows(&mut c, &minute).is_empty());
    assert_eq!(io.command("publish minute 15:00"), serde_json::json!({"ok": true}));
    assert_eq!(emu.controls().publication().hour(Kind::Minute), hm(15, 0));
    assert_eq!(rows(&mut c, &minute).len(), 48);
    assert_eq!(io.command("publish minute 16:00:01")["ok"], true);
    assert_eq!(
        emu.controls().publication().hour(Kind::Minute),
        NaiveTime::from_hms_opt(16, 0, 1)
    );
    assert!(rows(&mut c, &minute).is_empty());
    assert_eq!(io.command("publish minute none")["ok"], true);
    assert_eq!(emu.controls().publication().hour(Kind::Minute), None);
    assert_eq!(rows(&mut c, &minute).len(), 48);
    let status = io.command("status");
    assert_eq!(status["publication"]["preset"], Value::Null);
    assert_eq!(status["publication"]["minute"], Value::Null);
    assert_eq!(status["last_published"]["minute"], DAY);
    for kind in ["factors", "weekly", "monthly", "constituents", "reports"] {
        assert_eq!(io.command(&format!("publish {kind} 09:15"))["ok"], true, "{kind}");
        let k = Kind::from_name(kind).unwrap();
        assert_eq!(emu.controls().publication().hour(k), hm(9, 15), "{kind}");
        assert_eq!(io.command("status")["publication"][kind], "09:15:00", "{kind}");
    }

    // The daily aliases.
    assert!(rows(&mut c, &astock(DAY)).is_empty());
    assert_eq!(io.command("publish 15:45")["ok"], true);
    assert_eq!(emu.controls().publish_time(), hm(15, 45));
    assert_eq!(emu.controls().publication().hour(Kind::Daily), hm(15, 45));
    assert_eq!(io.command("status")["publish_time"], "15:45:00");
    assert_eq!(rows(&mut c, &astock(DAY)), m.daily_astock(d(DAY)));
    assert_eq!(io.command("publish daily 17:30")["ok"], true);
    assert!(rows(&mut c, &astock(DAY)).is_empty());
    assert_eq!(io.command("publish none")["ok"], true);
    assert_eq!(emu.controls().publish_time(), None);
    assert_eq!(io.command("status")["publish_time"], Value::Null);
    assert_eq!(rows(&mut c, &astock(DAY)), m.daily_astock(d(DAY)));

    // The presets.
    assert_eq!(io.command("publish always")["ok"], true);
    assert_eq!(emu.controls().publication(), Schedule::always());
    let status = io.command("status");
    assert_eq!(status["publication"]["preset"], "always");
    assert_eq!(status["publication"]["floors"], false);
    assert_eq!(status["publication"]["daily"], Value::Null);
    assert_eq!(io.command("publish official")["ok"], true);
    assert_eq!(emu.controls().publication(), Schedule::official());
    assert_eq!(io.command("status")["publication"]["preset"], "official");
    assert!(rows(&mut c, &astock(DAY)).is_empty());

    // Bad forms change nothing.
    for bad in [
        "publish",
        "publish bogus",
        "publish 25:00",
        "publish 17",
        "publish daily",
        "publish daily soon",
        "publish daily 17:30 x",
        "publish yearly 17:30",
        "publish official now",
        "publish minute 20:00 none",
    ] {
        let a = io.command(bad);
        assert_eq!(a["ok"], false, "{bad}: {a}");
        assert!(a["error"].as_str().is_some_and(|e| !e.is_empty()), "{bad}: {a}");
        assert_eq!(emu.controls().publication(), Schedule::official(), "{bad}");
    }
}

#[test]
fn the_default_is_the_official_publication() {
    assert_eq!(EmulatorConfig::default().publication, Schedule::official());
    assert_eq!(EmulatorConfig::default().publish_time, None);
    let emu = Emulator::start(EmulatorConfig {
        clock: Some(at("2024-01-02T16:00:00")),
        ..EmulatorConfig::default()
    })
    .unwrap();
    assert_eq!(emu.controls().publication(), Schedule::official());
    assert!(!emu.controls().is_published(Kind::Daily, d("2024-01-02")));
    // The day before, a holiday: the last calendar day whose daily rows are out.
    assert_eq!(emu.controls().last_published(Kind::Daily), d("2024-01-01"));
    let mut c = Raw::connect(&emu);
    c.login();
    assert!(rows(&mut c, &astock("2024-01-02")).is_empty());
    assert!(!emu.market().daily_astock(d("2024-01-02")).is_empty());
    assert_eq!(
        rows(&mut c, &astock("2023-12-29")),
        emu.market().daily_astock(d("2023-12-29"))
    );
}

#[test]
fn publish_time_is_an_alias_of_the_daily_hour() {
    let emu = Emulator::start(EmulatorConfig {
        publish_time: hm(16, 0),
        clock: Some(at("2026-01-15T16:30:00")),
        ..config(Schedule::official())
    })
    .unwrap();
    let mut want = Schedule::official();
    want.set_hour(Kind::Daily, hm(16, 0));
    assert_eq!(emu.controls().publication(), want);
    assert_eq!(emu.controls().publish_time(), hm(16, 0));
    assert!(emu.controls().is_published(Kind::Daily, d(DAY)));
    assert!(!emu.controls().is_published(Kind::Factors, d(DAY)));
    emu.controls().set_publish_time(hm(17, 0));
    assert!(!emu.controls().is_published(Kind::Daily, d(DAY)));
    emu.controls().set_publish_kind(Kind::Daily, None);
    assert_eq!(emu.controls().publish_time(), None);
    assert!(emu.controls().is_published(Kind::Daily, d(DAY)));
    assert!(!emu.controls().is_published(Kind::Daily, d(NEXT)));
}

/// A started binary, killed when dropped (also when an assertion fails first).
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts the binary with `args`; returns it, its address and its banner's publication line.
fn spawn(args: &[&str]) -> (Running, String, String) {
    let mut child = common::spawn_binary(&[["--lazy"].as_slice(), args].concat());
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let child = Running(child);
    let mut lines = Vec::new();
    while !lines.iter().any(|l: &String| l.starts_with("publication:")) {
        let mut line = String::new();
        assert!(out.read_line(&mut line).unwrap() > 0, "banner ended early: {lines:?}");
        lines.push(line.trim().to_owned());
    }
    let addr = lines[0].rsplit(' ').next().unwrap().to_owned();
    (child, addr, lines.pop().unwrap())
}

#[test]
fn the_binary_takes_a_publication_and_names_it() {
    let exe = env!("CARGO_BIN_EXE_baostock-emulator");
    let help = String::from_utf8(Command::new(exe).arg("--help").output().unwrap().stdout).unwrap();
    assert!(help.contains("--publication official|always"), "{help}");
    let bad = Command::new(exe).args(["--publication", "sometimes"]).output().unwrap();
    assert_eq!(bad.status.code(), Some(2));

    let etf_day = |addr: &str| {
        let mut c = Raw::connect_to(addr);
        c.login();
        rows(&mut c, &etf("2025-06-30"))
    };
    let (official, addr, banner) = spawn(&[]);
    let official_rows = etf_day(&addr);
    drop(official);
    assert!(banner.starts_with("publication: official (daily 17:30:00,"), "{banner}");
    assert!(banner.ends_with("floors on)"), "{banner}");
    assert!(official_rows.is_empty(), "no ETF bars before 2026-01-05");

    let (always, addr, banner) = spawn(&["--publication", "always"]);
    let always_rows = etf_day(&addr);
    drop(always);
    assert!(banner.starts_with("publication: always (daily at once,"), "{banner}");
    assert!(banner.ends_with("floors off)"), "{banner}");
    assert!(!always_rows.is_empty());

    let (aliased, _, banner) = spawn(&["--publish-time", "16:00"]);
    drop(aliased);
    assert!(
        banner.starts_with("publication: custom (daily 16:00:00, factors 18:00:00,"),
        "{banner}"
    );
}
