//! Corporate actions added at run time: a new dividend shows in 15, 9C, 98 and 95 as if it had
//! always been in the market; raw and back-adjusted history before its date stay, forward-
//! adjusted history changes by its ratio; clearing restores the built market.

mod common;

use baostock::value::{AdjustFlag, Frequency, DAILY_FIELDS, MINUTE_FIELDS, PERIOD_FIELDS};
use baostock::{Page, Request};
use baostock_emulator::{ActionError, CorporateAction, Market};
use chrono::NaiveDate;
use common::{col, d, dec, Raw};
use rust_decimal::{Decimal, RoundingStrategy};

const CODE: &str = "sh.600000";

/// The market these tests amend.
fn market() -> Market {
    common::market(400)
}

fn round6(x: Decimal) -> Decimal {
    x.round_dp_with_strategy(6, RoundingStrategy::MidpointAwayFromZero)
}

/// Every answer about one code that a corporate action can touch.
#[derive(Clone, Debug, PartialEq)]
struct Answers {
    factors: Vec<Vec<String>>,
    daily: [Vec<Vec<String>>; 3],
    weekly: [Vec<Vec<String>>; 3],
    minutes: [Vec<Vec<String>>; 3],
    all_market: Vec<Vec<Vec<String>>>,
    day_factors: Vec<Vec<Vec<String>>>,
}

const FLAGS: [AdjustFlag; 3] = [AdjustFlag::None, AdjustFlag::Back, AdjustFlag::Forward];

/// The answers for `CODE` around `date` (the trading days before, on and after it).
fn answers(m: &Market, date: NaiveDate) -> Answers {
    let days = m.trade_dates();
    let at = days.iter().position(|x| *x == date).unwrap();
    let around = [days[at - 1], days[at], days[at + 1]];
    let from = days[at - 40];
    let to = days[at + 20];
    let h = |fields: &str, f: Frequency, a: AdjustFlag, s: NaiveDate, e: NaiveDate| {
        m.history(CODE, fields, s, e, f, a).unwrap()
    };
    Answers {
        factors: m.adjust_factors(CODE, d("1990-12-19"), d("2099-12-31")).unwrap(),
        daily: FLAGS.map(|a| h(DAILY_FIELDS, Frequency::Daily, a, from, to)),
        weekly: FLAGS.map(|a| h(PERIOD_FIELDS, Frequency::Weekly, a, from, to)),
        minutes: FLAGS.map(|a| h(MINUTE_FIELDS, Frequency::Min5, a, around[0], around[2])),
        all_market: around
            .iter()
            .map(|&x| m.daily_astock(x).into_iter().filter(|r| r[1] == CODE).collect())
            .collect(),
        day_factors: around.iter().map(|&x| m.daily_adjust_factors(x)).collect(),
    }
}

/// Rows dated before `date` (column 0 is the date in every answer here).
fn before(rows: &[Vec<String>], date: NaiveDate) -> Vec<Vec<String>> {
    rows.iter().filter(|r| d(&r[0]) < date).cloned().collect()
}

/// Checks one added dividend of ratio 1.3 at `date` against the answers before and after.
fn check_added(old: &Answers, new: &Answers, date: NaiveDate) {
    let label = date.to_string();
    let ratio = dec("1.3");
    // 15: the new row on its date; every other row keeps its date, rows before it their back
    // factor, later ones are scaled by the ratio; fore = back / latest back throughout.
    assert_eq!(new.factors.len(), old.factors.len() + 1);
    let at = new
        .factors
        .iter()
        .position(|r| r[1] == label)
        .expect("a factor row on the date");
    let prev_back = if at == 0 {
        Decimal::ONE
    } else {
        dec(&new.factors[at - 1][3])
    };
    assert_eq!(
        dec(&new.factors[at][3]),
        round6(prev_back * ratio),
        "back = previous back × ratio"
    );
    assert_eq!(
        new.factors[at][4], new.factors[at][3],
        "adjustFactor is the back factor"
    );
    let latest = dec(&new.factors.last().unwrap()[3]);
    for (i, r) in new.factors.iter().enumerate() {
        assert_eq!(
            dec(&r[2]),
            round6(dec(&r[3]) / latest),
            "{}: fore = back / latest back",
            r[1]
        );
        if i == at {
            continue;
        }
        let o = &old.factors[if i < at { i } else { i - 1 }];
        assert_eq!(r[1], o[1]);
        if i < at {
            assert_eq!(r[3], o[3], "{}: back factors before the date stay", r[1]);
        } else {
            let scale = dec(&r[3]) / dec(&o[3]);
            assert!(
                (scale - ratio).abs() < dec("0.00001"),
                "{}: later back × ratio: {scale}",
                r[1]
            );
        }
    }
    // 9C: the row appears on its date, equal to the 15 row, and nowhere else.
    assert_eq!(old.day_factors[1].iter().filter(|r| r[0] == CODE).count(), 0);
    let on_day: Vec<_> = new.day_factors[1].iter().filter(|r| r[0] == CODE).collect();
    assert_eq!(on_day, [&new.factors[at]]);
    for k in [0, 2] {
        assert_eq!(new.day_factors[k].iter().filter(|r| r[0] == CODE).count(), 0);
    }
    // Raw and back-adjusted history before the date: unchanged, daily, weekly and minute.
    for (k, flag) in FLAGS[..2].iter().enumerate() {
        assert_eq!(before(&new.daily[k], date), before(&old.daily[k], date), "{flag:?}");
        assert_eq!(before(&new.weekly[k], date), before(&old.weekly[k], date), "{flag:?}");
        assert_eq!(before(&new.minutes[k], date), before(&old.minutes[k], date), "{flag:?}");
    }
    assert_eq!(new.all_market[0], old.all_market[0], "98 the day before");
    // The ex-date: preclose is still the previous close, the close falls by the ratio: out of
    // reach of the 10% limit without the action.
    let (pre, close, pct) = (
        col(DAILY_FIELDS, "preclose"),
        col(DAILY_FIELDS, "close"),
        col(DAILY_FIELDS, "pctChg"),
    );
    let day = |rows: &[Vec<String>]| rows.iter().find(|r| r[0] == label).cloned().unwrap();
    let (o, n) = (day(&old.daily[0]), day(&new.daily[0]));
    assert_eq!(o[col(DAILY_FIELDS, "tradestatus")], "1", "pick a trading day");
    assert_eq!(n[pre], o[pre]);
    assert!(dec(&o[pct]) > dec("-10.2"), "{o:?}");
    assert!(dec(&n[pct]) < dec("-15"), "the ex-date drop: {n:?}");
    assert!(dec(&n[close]) < dec(&o[close]));
    // 98 carries the same bar as 95 unadjusted.
    assert_eq!(new.all_market[1], std::slice::from_ref(&n));
    assert_ne!(new.all_market[1], old.all_market[1]);
    // Every adjusted price is the raw price times the factor in force, from the new 15 rows.
    let prices = ["open", "high", "low", "close", "preclose"].map(|p| col(DAILY_FIELDS, p));
    for (k, factor_col) in [(1, 3), (2, 2)] {
        for (raw, adj) in new.daily[0].iter().zip(&new.daily[k]) {
            // Before the first dividend: back 1, fore 1 / latest back.
            let none = if k == 1 {
                Decimal::ONE
            } else {
                round6(Decimal::ONE / latest)
            };
            let f = new
                .factors
                .iter()
                .rev()
                .find(|r| r[1] <= raw[0])
                .map_or(none, |r| dec(&r[factor_col]));
            for &j in &prices {
                assert_eq!(dec(&adj[j]), dec(&raw[j]) * f, "{:?} {} col {j}", FLAGS[k], raw[0]);
            }
        }
    }
    // Forward-adjusted history before the date moves by the ratio (up to the 6-decimal
    // rounding of the fore factors).
    let old_fore = before(&old.daily[2], date);
    let new_fore = before(&new.daily[2], date);
    assert_eq!(old_fore.len(), new_fore.len());
    assert!(!old_fore.is_empty());
    for (o, n) in old_fore.iter().zip(&new_fore) {
        let j = close;
        assert_ne!(o[j], n[j], "{}: forward-adjusted history changes", o[0]);
        let scale = dec(&o[j]) / dec(&n[j]);
        assert!((scale - ratio).abs() < dec("0.00002"), "{}: {scale}", o[0]);
    }
    for (o, n) in before(&old.weekly[2], date).iter().zip(&before(&new.weekly[2], date)) {
        assert_ne!(o[5], n[5], "weekly forward-adjusted close of {}", o[0]);
    }
    for (o, n) in before(&old.minutes[2], date).iter().zip(&before(&new.minutes[2], date)) {
        assert_ne!(o[6], n[6], "minute forward-adjusted close of {} {}", o[0], o[1]);
    }
}

#[test]
fn a_new_dividend_after_the_last_one_shows_in_every_answer() {
    let m = market();
    let date = d("2025-03-12");
    let last = m.adjust_factors(CODE, d("1990-12-19"), d("2099-12-31")).unwrap();
    assert!(
        last.last().is_some_and(|r| d(&r[1]) < date),
        "a date after the last dividend"
    );
    let old = answers(&m, date);
    m.add_corporate_action(CODE, date, 1_300_000).unwrap();
    let new = answers(&m, date);
    check_added(&old, &new, date);
    // The new row is the latest: its fore factor is 1.
    assert_eq!(new.factors.last().unwrap()[1..3], ["2025-03-12", "1.000000"]);
    assert_eq!(
        m.corporate_actions(),
        [CorporateAction {
            code: CODE.into(),
            date,
            ratio_ppm: 1_300_000
        }]
    );
    assert_eq!(m.security(CODE).unwrap().factor_events().len(), new.factors.len());
    assert_eq!(
        m.security(CODE).unwrap().events.len(),
        old.factors.len(),
        "the built events stay"
    );
}

#[test]
fn a_new_dividend_in_mid_history_rescales_the_later_back_factors() {
    let m = market();
    let date = d("2021-03-10");
    let old = answers(&m, date);
    assert!(old.factors.iter().any(|r| d(&r[1]) > date), "later dividends exist");
    m.add_corporate_action(CODE, date, 1_300_000).unwrap();
    let new = answers(&m, date);
    check_added(&old, &new, date);
    // Another code is untouched.
    let other = m
        .securities()
        .iter()
        .find(|s| s.code != CODE && !s.events.is_empty())
        .unwrap()
        .code
        .clone();
    let fresh = market();
    assert_eq!(
        m.adjust_factors(&other, d("1990-12-19"), d("2099-12-31")),
        fresh.adjust_factors(&other, d("1990-12-19"), d("2099-12-31"))
    );
}

#[test]
fn clearing_restores_the_built_market() {
    let m = market();
    let date = d("2024-03-12");
    let old = answers(&m, date);
    m.add_corporate_action(CODE, date, 1_300_000).unwrap();
    m.add_corporate_action(CODE, d("2022-03-10"), 1_020_000).unwrap();
    assert_ne!(answers(&m, date), old);
    assert_eq!(m.corporate_actions().len(), 2);
    m.clear_corporate_actions();
    assert!(m.corporate_actions().is_empty());
    assert_eq!(answers(&m, date), old);
    // A fresh market agrees too.
    assert_eq!(answers(&market(), date), old);
}

#[test]
fn an_action_on_a_day_with_a_dividend_multiplies_its_ratio() {
    let m = market();
    let s = m.security(CODE).unwrap();
    let e = s.events[s.events.len() - 1].clone();
    let prev_back = s.events.get(s.events.len() - 2).map_or(1_000_000, |p| p.back);
    let old = m.adjust_factors(CODE, d("1990-12-19"), d("2099-12-31")).unwrap();
    m.add_corporate_action(CODE, e.date, 1_100_000).unwrap();
    let new = m.adjust_factors(CODE, d("1990-12-19"), d("2099-12-31")).unwrap();
    assert_eq!(new.len(), old.len(), "still one row a day");
    let combined = round6(Decimal::new(e.ratio_ppm, 6) * dec("1.1"));
    let back = round6(Decimal::new(prev_back, 6) * combined);
    assert_eq!(dec(&new[new.len() - 1][3]), back);
    assert_eq!(
        new[..new.len() - 1].iter().map(|r| &r[3]).collect::<Vec<_>>(),
        old[..old.len() - 1].iter().map(|r| &r[3]).collect::<Vec<_>>()
    );
}

#[test]
fn bad_actions_are_refused_and_change_nothing() {
    let m = market();
    let before = m.adjust_factors(CODE, d("1990-12-19"), d("2099-12-31")).unwrap();
    let index = m
        .securities()
        .iter()
        .find(|s| s.sec_type == baostock_emulator::SecType::Index)
        .unwrap();
    let ipo = m.security(CODE).unwrap().ipo;
    for (code, date, ratio, want) in [
        ("sh.999999", "2024-03-12", 1_100_000, ActionError::UnknownCode),
        ("sh600000", "2024-03-12", 1_100_000, ActionError::UnknownCode),
        (index.code.as_str(), "2024-03-12", 1_100_000, ActionError::Index),
        (CODE, "2024-03-16", 1_100_000, ActionError::NoBar),
        (CODE, "2024-10-01", 1_100_000, ActionError::NoBar),
        (CODE, "1999-11-01", 1_100_000, ActionError::NoBar),
        (CODE, &ipo.to_string(), 1_100_000, ActionError::NoBar),
        (CODE, "2030-03-12", 1_100_000, ActionError::NoBar),
        (CODE, "2024-03-12", 1_000_000, ActionError::BadRatio),
        (CODE, "2024-03-12", 900_000, ActionError::BadRatio),
        (CODE, "2024-03-12", -1, ActionError::BadRatio),
        (CODE, "2024-03-12", 10_000_001, ActionError::BadRatio),
        (CODE, "2024-03-12", i64::MAX, ActionError::BadRatio),
    ] {
        assert_eq!(
            m.add_corporate_action(code, d(date), ratio),
            Err(want.clone()),
            "{code} {date} {ratio}"
        );
        assert!(!want.to_string().is_empty());
    }
    assert!(m.corporate_actions().is_empty());
    assert_eq!(
        m.adjust_factors(CODE, d("1990-12-19"), d("2099-12-31")).unwrap(),
        before
    );
    // The largest ratio is accepted, but not so often that a back factor passes 1e9.
    assert_eq!(m.add_corporate_action(CODE, d("2024-03-12"), 10_000_000), Ok(()));
    let days: Vec<NaiveDate> = m
        .trade_dates()
        .iter()
        .copied()
        .filter(|x| *x > d("2024-03-12"))
        .take(12)
        .collect();
    let mut refused = None;
    for (k, day) in days.iter().enumerate() {
        if let Err(e) = m.add_corporate_action(CODE, *day, 10_000_000) {
            refused = Some((k, e));
            break;
        }
    }
    let (k, e) = refused.expect("refused before twelve more 10x splits");
    assert_eq!(e, ActionError::FactorTooLarge);
    assert_eq!(m.corporate_actions().len(), k + 1, "the refused one is not kept");
    let latest = m.adjust_factors(CODE, d("1990-12-19"), d("2099-12-31")).unwrap();
    assert!(dec(&latest.last().unwrap()[3]) <= dec("1000000000"));
}

#[test]
fn the_control_port_adds_and_clears_actions_seen_on_the_wire() {
    let (emu, mut io) = common::start_controlled(common::config(100));
    let mut c = Raw::connect(&emu);
    c.login();
    let day = common::day_factors("2025-03-12");
    let factors = Request::AdjustFactor {
        user: "anonymous".into(),
        page: Page::first(2000),
        code: CODE.into(),
        start: d("2025-01-01"),
        end: d("2025-06-30"),
    };
    let data = |c: &mut Raw, r: &Request, at: usize| {
        let (f, _) = c.request(r);
        assert_ne!(f.msg_type.as_str(), "04", "{}", f.body);
        f.fields()[at].to_owned()
    };
    assert_eq!(data(&mut c, &day, 4), "");
    assert_eq!(data(&mut c, &factors, 6), "");
    assert_eq!(
        io.command("corporate-action sh.600000 2025-03-12 1300000"),
        serde_json::json!({"ok": true})
    );
    let row = emu.market().daily_adjust_factors(d("2025-03-12"));
    assert_eq!(row.len(), 1);
    let json = baostock::json::write_records(&row);
    assert_eq!(data(&mut c, &day, 4), json, "9C on the wire");
    assert_eq!(data(&mut c, &factors, 6), json, "15 on the wire");
    assert_eq!(
        io.command("status")["corporate_actions"],
        serde_json::json!([{"code": "sh.600000", "date": "2025-03-12", "ratio_ppm": 1300000}])
    );
    assert_eq!(emu.controls().corporate_actions().len(), 1);
    for bad in [
        "corporate-action sh.999999 2025-03-12 1300000",
        "corporate-action sh.600000 2025-03-15 1300000",
        "corporate-action sh.600000 2025/03/12 1300000",
        "corporate-action sh.600000 2025-03-12 1.3",
        "corporate-action sh.600000 2025-03-12 999999",
        "corporate-action sh.600000 2025-03-12",
        "corporate-action sh.600000 2025-03-12 1300000 x",
    ] {
        io.assert_refused(bad);
    }
    assert_eq!(emu.controls().corporate_actions().len(), 1, "errors change nothing");
    assert_eq!(io.command("clear-corporate-actions"), serde_json::json!({"ok": true}));
    assert!(emu.controls().corporate_actions().is_empty());
    assert_eq!(io.command("status")["corporate_actions"], serde_json::json!([]));
    assert_eq!(data(&mut c, &day, 4), "");
    // The Rust API does the same.
    emu.controls()
        .add_corporate_action(CODE, d("2025-03-12"), 1_300_000)
        .unwrap();
    assert_eq!(data(&mut c, &day, 4), json);
    emu.controls().clear_corporate_actions();
    assert_eq!(data(&mut c, &factors, 6), "");
}
