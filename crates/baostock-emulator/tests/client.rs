//! The workspace's Rust client against the emulator: the conformance set against the synthetic
//! market (values equal to the library's), and every capture against replay mode (replies equal
//! to decoding the captured bytes directly).

mod common;

use std::collections::HashMap;

use baostock::client::{ClientError, Session};
use baostock::frame::decode_request;
use baostock::reply::{decode_reply, Data, Reply};
use baostock::value::{AdjustFlag, Frequency, ADJUST_FACTOR_FIELDS, DAILY_FIELDS, MINUTE_FIELDS, PERIOD_FIELDS};
use baostock::{Limits, Page, Request, StockIndex};
use baostock_emulator::handler::{
    query_error, ALL_STOCK_FIELDS, INDEX_CONSTITUENT_FIELDS, STOCK_BASIC_FIELDS, STOCK_INDUSTRY_FIELDS,
    TRADE_DATES_FIELDS,
};
use baostock_emulator::{Emulator, EmulatorConfig, Market};
use common::d;

fn opt<T: ToString>(v: &Option<T>) -> String {
    v.as_ref().map(ToString::to_string).unwrap_or_default()
}

fn flag(v: Option<bool>) -> String {
    v.map(|b| if b { "1" } else { "0" }.to_owned()).unwrap_or_default()
}

/// The cells every bar has, named as the server names them, then `extra` cells.
macro_rules! bar_cells {
    ($b:expr, [$($extra:expr),* $(,)?]) => {
        vec![
            ("date", $b.date.to_string()),
            ("code", $b.code.clone()),
            ("open", opt(&$b.open)),
            ("high", opt(&$b.high)),
            ("low", opt(&$b.low)),
            ("close", opt(&$b.close)),
            ("volume", opt(&$b.volume)),
            ("amount", opt(&$b.amount)),
            ("adjustflag", $b.adjustflag.map(|a| a.code().to_owned()).unwrap_or_default()),
            $($extra),*
        ]
    };
}

/// Each row's cells by field name, from `cells`.
fn maps<T>(rows: &[T], cells: impl Fn(&T) -> Vec<(&'static str, String)>) -> Vec<HashMap<&'static str, String>> {
    rows.iter().map(|r| cells(r).into_iter().collect()).collect()
}

/// Typed rows back to the server's strings, in the order of `fields` (rust_decimal keeps the
/// scale it parsed, so `8.9400` prints as `8.9400`).
fn to_strings(data: &Data, fields: &[String]) -> Vec<Vec<String>> {
    let by_name = match data {
        Data::DailyBars(v) => maps(v, |b| {
            bar_cells!(
                b,
                [
                    ("preclose", opt(&b.preclose)),
                    ("turn", opt(&b.turn)),
                    ("tradestatus", flag(b.tradestatus)),
                    ("pctChg", opt(&b.pct_chg)),
                    ("peTTM", opt(&b.pe_ttm)),
                    ("pbMRQ", opt(&b.pb_mrq)),
                    ("psTTM", opt(&b.ps_ttm)),
                    ("pcfNcfTTM", opt(&b.pcf_ncf_ttm)),
                    ("isST", flag(b.is_st)),
                ]
            )
        }),
        Data::PeriodBars(v) => maps(v, |b| {
            bar_cells!(b, [("turn", opt(&b.turn)), ("pctChg", opt(&b.pct_chg))])
        }),
        Data::MinuteBars(v) => maps(v, |b| {
            bar_cells!(b, [("time", b.time.format("%Y%m%d%H%M%S%3f").to_string())])
        }),
        Data::AdjustFactors(v) => maps(v, |f| {
            vec![
                ("code", f.code.clone()),
                ("dividOperateDate", f.operate_date.to_string()),
                ("foreAdjustFactor", opt(&f.fore)),
                ("backAdjustFactor", opt(&f.back)),
                ("adjustFactor", opt(&f.factor)),
            ]
        }),
        Data::TradeDates(v) => maps(v, |t| {
            vec![
                ("calendar_date", t.date.to_string()),
                ("is_trading_day", flag(Some(t.is_trading_day))),
            ]
        }),
        Data::AllStock(v) => maps(v, |s| {
            vec![
                ("code", s.code.clone()),
                ("tradeStatus", flag(s.trade_status)),
                ("code_name", opt(&s.name)),
            ]
        }),
        Data::StockBasic(v) => maps(v, |s| {
            vec![
                ("code", s.code.clone()),
                ("code_name", opt(&s.name)),
                ("ipoDate", opt(&s.ipo_date)),
                ("outDate", opt(&s.out_date)),
                ("type", opt(&s.sec_type)),
                ("status", opt(&s.status)),
            ]
        }),
        Data::IndexConstituents(v) => maps(v, |c| {
            vec![
                ("updateDate", c.update_date.to_string()),
                ("code", c.code.clone()),
                ("code_name", opt(&c.code_name)),
            ]
        }),
        Data::StockIndustry(v) => maps(v, |s| {
            vec![
                ("updateDate", s.update_date.to_string()),
                ("code", s.code.clone()),
                ("code_name", opt(&s.code_name)),
                ("industry", opt(&s.industry)),
                ("industryClassification", opt(&s.industry_classification)),
            ]
        }),
        Data::Reports(v) => maps(v, |r| {
            r.kind
                .fields()
                .iter()
                .zip(&r.cells)
                .map(|(f, c)| {
                    (
                        f.wire,
                        c.as_ref().map(baostock::report::Cell::to_wire).unwrap_or_default(),
                    )
                })
                .collect()
        }),
        Data::Rows(v) => {
            return v
                .iter()
                .map(|r| r.iter().map(|c| c.clone().unwrap_or_default()).collect())
                .collect()
        }
    };
    by_name
        .iter()
        .map(|m| fields.iter().map(|f| m[f.as_str()].clone()).collect())
        .collect()
}

/// A 95 request of the conformance set: 2000 rows a page, as the official client asks.
fn hk(code: &str, fields: &str, start: &str, end: &str, freq: Frequency, adj: AdjustFlag) -> Request {
    common::history_per_page(2000, code, fields, start, end, freq, adj)
}

fn split(s: &str) -> Vec<String> {
    s.split(',').map(|f| f.trim().to_owned()).collect()
}

/// The library's answer: fields and rows, or an error code.
fn expected(m: &Market, req: &Request) -> Result<(Vec<String>, Vec<Vec<String>>), String> {
    let code = |e| query_error(&e).body.split('\x01').next().unwrap().to_owned();
    Ok(match req {
        Request::HistoryK { query: q, .. } => (
            split(&q.fields),
            m.history(&q.code, &q.fields, q.start, q.end, q.frequency, q.adjust)
                .map_err(code)?,
        ),
        Request::DailyAStock { date, .. } => (split(DAILY_FIELDS), m.daily_astock(*date)),
        Request::DailyEtf { date, .. } => (split(DAILY_FIELDS), m.daily_etf(*date)),
        Request::DailyAdjustFactor { date, .. } => (split(ADJUST_FACTOR_FIELDS), m.daily_adjust_factors(*date)),
        Request::TradeDates { start, end, .. } => (
            split(TRADE_DATES_FIELDS),
            m.trade_dates_between(*start, *end).map_err(code)?,
        ),
        Request::AllStock { day, .. } => (split(ALL_STOCK_FIELDS), m.all_stock(*day)),
        Request::StockBasic { code: c, code_name, .. } => (split(STOCK_BASIC_FIELDS), m.stock_basic(c, code_name)),
        Request::AdjustFactor {
            code: c, start, end, ..
        } => (
            split(ADJUST_FACTOR_FIELDS),
            m.adjust_factors(c, *start, *end).map_err(code)?,
        ),
        // The test market has no clock: an empty date is the history's last day.
        Request::IndexConstituents { index, date, .. } => (
            split(INDEX_CONSTITUENT_FIELDS),
            m.index_constituents(*index, date.unwrap_or(m.calendar().end())),
        ),
        Request::StockIndustry { code: c, date, .. } => (
            split(STOCK_INDUSTRY_FIELDS),
            m.stock_industry(c, date.unwrap_or(m.calendar().end())),
        ),
        _ => unreachable!(),
    })
}

/// The 95 requests of the conformance set asked under every adjust flag: fields, start, end,
/// frequency.
const PER_FLAG: [(&str, &str, &str, Frequency); 5] = [
    (DAILY_FIELDS, "2024-01-01", "2024-03-31", Frequency::Daily),
    (PERIOD_FIELDS, "2023-06-01", "2024-06-30", Frequency::Weekly),
    (PERIOD_FIELDS, "2020-01-01", "2024-06-30", Frequency::Monthly),
    (MINUTE_FIELDS, "2024-01-02", "2024-01-05", Frequency::Min5),
    (MINUTE_FIELDS, "2024-01-02", "2024-01-12", Frequency::Min60),
];

fn conformance_set() -> Vec<Request> {
    let mut v = Vec::new();
    let u = || "anonymous".to_owned();
    for adj in AdjustFlag::ALL {
        for (fields, start, end, freq) in PER_FLAG {
            v.push(hk("sh.600000", fields, start, end, freq, adj));
        }
    }
    let fields = "date,code,close,preclose,volume,tradestatus";
    v.push(hk(
        "sh.600000",
        fields,
        "2010-01-01",
        "2024-12-31",
        Frequency::Daily,
        AdjustFlag::Forward,
    ));
    v.push(hk(
        "sh.600000",
        MINUTE_FIELDS,
        "2024-03-01",
        "2024-05-31",
        Frequency::Min5,
        AdjustFlag::None,
    ));
    for day in ["2024-01-02", "2024-06-20", "2024-01-06"] {
        v.push(common::astock(day));
        v.push(common::etf(day));
        v.push(common::day_factors(day));
    }
    let all = Page::first(2000);
    v.push(Request::TradeDates {
        user: u(),
        page: all,
        start: d("2024-01-01"),
        end: d("2024-12-31"),
    });
    v.push(Request::AllStock {
        user: u(),
        page: all,
        day: d("2024-01-02"),
    });
    for code in ["sh.600000", ""] {
        v.push(Request::StockBasic {
            user: u(),
            page: all,
            code: code.into(),
            code_name: String::new(),
        });
    }
    v.push(Request::AdjustFactor {
        user: u(),
        page: all,
        code: "sh.600000".into(),
        start: d("2015-01-01"),
        end: d("2024-12-31"),
    });
    for date in [None, Some(d("2019-03-06")), Some(d("2024-12-16"))] {
        for index in StockIndex::ALL {
            v.push(Request::IndexConstituents {
                user: u(),
                page: all,
                index,
                date,
            });
        }
        v.push(Request::StockIndustry {
            user: u(),
            page: all,
            code: "sh.600000".into(),
            date,
        });
    }
    // Every stock: more than one page of 200 rows.
    v.push(Request::StockIndustry {
        user: u(),
        page: Page::first(200),
        code: String::new(),
        date: Some(d("2024-06-20")),
    });
    // An unknown code, an unknown field.
    let january = |code, fields| {
        hk(
            code,
            fields,
            "2024-01-01",
            "2024-01-31",
            Frequency::Daily,
            AdjustFlag::None,
        )
    };
    v.push(january("sh.999999", "date,close"));
    v.push(january("sh.600000", "date,nonsense"));
    v
}

#[test]
fn rust_client_gets_exactly_the_library_values() {
    // The library is not gated: ETF bars of 2024 and minute bars of 2019 must have rows.
    let emu = common::start_always(600);
    let cfg = common::client_config(&emu);
    common::rt().block_on(async {
        let mut s = Session::connect(cfg).await.unwrap();
        let mut paged = 0;
        for req in conformance_set() {
            let what = format!("{req:?}");
            let got = s.query_all(&req).await;
            match (expected(emu.market(), &req), got) {
                (Ok((fields, rows)), Ok(tables)) => {
                    if tables.len() > 1 {
                        paged += 1;
                    }
                    let mut all = Vec::new();
                    for t in &tables {
                        assert_eq!(t.fields, fields, "{what}");
                        all.extend(to_strings(&t.data, &t.fields));
                    }
                    assert_eq!(all.len(), rows.len(), "{what}");
                    assert_eq!(all, rows, "{what}");
                }
                (Err(code), Err(ClientError::Server(e))) => assert_eq!(e.code, code, "{what}"),
                (want, got) => panic!("{what}: expected {:?}, got {got:?}", want.map(|(_, r)| r.len())),
            }
        }
        assert!(paged >= 2, "{paged}");
        s.logout().await;
    });
    let c = emu.settled_counters(std::time::Duration::from_secs(5));
    assert_eq!((c.requests("00"), c.requests("02")), (1, 1));
    assert_eq!(c.sessions_active, 0);
}

#[test]
fn rust_client_against_replay_equals_the_captures_decoded() {
    let dir = common::captures_dir();
    let emu = Emulator::start(EmulatorConfig {
        replay: Some(dir),
        ..EmulatorConfig::default()
    })
    .unwrap();
    let cfg = common::client_config(&emu);
    let captures: Vec<_> = baostock_emulator::replay::Replay::load(&common::captures_dir())
        .unwrap()
        .captures()
        .to_vec();
    assert!(captures.len() >= 40, "{}", captures.len());
    let limits = Limits::default();
    let mut compared = 0;
    common::rt().block_on(async {
        let mut s = Session::connect(cfg).await.unwrap();
        for c in &captures {
            let (frame, _) = decode_request(&c.request, &limits).unwrap().unwrap();
            let Ok(req) = Request::decode(&frame) else {
                continue;
            };
            if matches!(req, Request::Login { .. } | Request::Logout { .. }) {
                continue;
            }
            let (want, _) = decode_reply(&c.response, &limits).unwrap().unwrap();
            let got = match s.request(&req).await {
                Ok(r) => r,
                Err(ClientError::Server(e)) => Reply::Error(e),
                Err(e) => panic!("{}: {e}", c.name),
            };
            assert_eq!(got, want, "{}", c.name);
            compared += 1;
        }
        s.logout().await;
    });
    assert!(compared >= 35, "{compared}");
}
