//! The unmodified official Python client (0.9.4, in the project's .venv) against the emulator:
//! every value it returns must equal what the emulator's own library computes for the request.
//! Fails (never skips) when the virtualenv is missing.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use baostock::value::{AdjustFlag, Frequency, ADJUST_FACTOR_FIELDS, DAILY_FIELDS};
use baostock::StockIndex;
use baostock_emulator::handler::{
    ALL_STOCK_FIELDS, INDEX_CONSTITUENT_FIELDS, STOCK_BASIC_FIELDS, STOCK_INDUSTRY_FIELDS, TRADE_DATES_FIELDS,
};
use baostock_emulator::{Emulator, Market};
use common::d;
use serde_json::Value;

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn strs(v: &Value) -> Vec<String> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|x| x.as_str().expect("string").to_owned())
        .collect()
}

fn split_fields(s: &str) -> Vec<String> {
    s.split(',').map(|f| f.trim().to_owned()).collect()
}

/// What the library says a query should return: (error code, fields, rows).
fn expected(m: &Market, q: &Value) -> (String, Vec<String>, Vec<Vec<String>>) {
    let api = q["api"].as_str().unwrap();
    let args = strs(&q["args"]);
    let kw = &q["kwargs"];
    let ok = |fields: Vec<String>, rows: Vec<Vec<String>>| ("0".to_owned(), fields, rows);
    match api {
        "query_history_k_data_plus" => {
            let freq: Frequency = kw["frequency"].as_str().unwrap().parse().unwrap();
            let adj: AdjustFlag = kw["adjustflag"].as_str().unwrap().parse().unwrap();
            match m.history(&args[0], &args[1], d(&args[2]), d(&args[3]), freq, adj) {
                Ok(rows) => ok(split_fields(&args[1]), rows),
                Err(e) => {
                    let a = baostock_emulator::handler::query_error(&e);
                    (a.body.split('\x01').next().unwrap().to_owned(), vec![], vec![])
                }
            }
        }
        "query_daily_history_k_AStock" => ok(split_fields(DAILY_FIELDS), m.daily_astock(d(&args[0]))),
        "query_daily_history_k_ETF" => ok(split_fields(DAILY_FIELDS), m.daily_etf(d(&args[0]))),
        "query_daily_adjust_factor" => ok(split_fields(ADJUST_FACTOR_FIELDS), m.daily_adjust_factors(d(&args[0]))),
        "query_trade_dates" => ok(
            split_fields(TRADE_DATES_FIELDS),
            m.trade_dates_between(d(&args[0]), d(&args[1])).unwrap(),
        ),
        "query_all_stock" => ok(split_fields(ALL_STOCK_FIELDS), m.all_stock(d(&args[0]))),
        "query_stock_basic" => ok(
            split_fields(STOCK_BASIC_FIELDS),
            m.stock_basic(args.first().map_or("", String::as_str), ""),
        ),
        "query_adjust_factor" => ok(
            split_fields(ADJUST_FACTOR_FIELDS),
            m.adjust_factors(&args[0], d(&args[1]), d(&args[2])).unwrap(),
        ),
        "query_hs300_stocks" | "query_sz50_stocks" | "query_zz500_stocks" => {
            // No clock in these runs: an empty date is the history's last day.
            let date = kw["date"]
                .as_str()
                .filter(|s| !s.is_empty())
                .map_or(m.calendar().end(), d);
            let index = StockIndex::from_method(api).unwrap();
            ok(
                split_fields(INDEX_CONSTITUENT_FIELDS),
                m.index_constituents(index, date),
            )
        }
        "query_stock_industry" => {
            let date = kw["date"]
                .as_str()
                .filter(|s| !s.is_empty())
                .map_or(m.calendar().end(), d);
            let code = kw["code"].as_str().unwrap_or("");
            ok(split_fields(STOCK_INDUSTRY_FIELDS), m.stock_industry(code, date))
        }
        other => panic!("no expectation for {other}"),
    }
}

/// $BAOSTOCK_PYTHON, else the project's virtualenv (`.venv`, a link made by setup-python.sh).
fn python() -> PathBuf {
    let python = std::env::var_os("BAOSTOCK_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join(".venv/bin/python"));
    assert!(
        python.exists(),
        "{} is missing: run scripts/setup-python.sh (the conformance run is never skipped)",
        python.display()
    );
    python
}

/// Checks a query's error code against the library's; returns the library's answer.
fn check_code(m: &Market, q: &Value, what: &str) -> (String, Vec<String>, Vec<Vec<String>>) {
    let (code, fields, rows) = expected(m, q);
    assert_eq!(q["error_code"].as_str().unwrap(), code, "{what}: {}", q["error_msg"]);
    (code, fields, rows)
}

/// Checks a query's fields and rows against the library's.
fn check_rows(q: &Value, what: &str, fields: &[String], rows: &[Vec<String>]) {
    assert_eq!(strs(&q["fields"]), fields, "{what}");
    let got: Vec<Vec<String>> = q["rows"].as_array().unwrap().iter().map(strs).collect();
    assert_eq!(got.len(), rows.len(), "{what}: row count");
    for (i, (g, e)) in got.iter().zip(rows).enumerate() {
        assert_eq!(g, e, "{what}: row {i}");
    }
}

/// Checks one query of the official client against the library's answer.
fn check(m: &Market, q: &Value) {
    let what = format!("{} {} {} {}", q["phase"], q["api"], q["args"], q["kwargs"]);
    let (_, fields, rows) = check_code(m, q, &what);
    check_rows(q, &what, &fields, &rows);
}

/// Runs the official client's `script` (below the repo) with `python` against `emu`, `args`
/// after its address; returns what it printed, checking that it ran the official client.
fn run(python: &Path, script: &str, emu: &Emulator, args: &[String]) -> Value {
    let out = Command::new(python)
        .arg(repo_root().join(script))
        .arg(emu.addr().ip().to_string())
        .arg(emu.addr().port().to_string())
        .args(args)
        .output()
        .expect("python runs");
    assert!(
        out.status.success(),
        "script failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).expect("script prints JSON");
    assert_eq!(v["client_version"], "00.9.40");
    v
}

#[test]
fn official_python_client_sees_reference_data_and_a_new_dividend() {
    let python = python();
    let emu = Emulator::start(common::with_control_port(common::config(
        baostock_emulator::MarketConfig::default().codes,
    )))
    .unwrap();
    // The market as built, for the answers before the action.
    let built = Market::new(emu.market().config().clone());
    let action = "corporate-action sh.600000 2025-03-12 1300000";
    let v = run(
        &python,
        "crates/baostock-emulator/tests/python/official_reference.py",
        &emu,
        &[emu.control_addr().unwrap().port().to_string(), action.to_owned()],
    );
    assert_eq!(
        (&v["login"]["error_code"], &v["logout"]["error_code"]),
        (&"0".into(), &"0".into())
    );
    assert_eq!(v["action"], serde_json::json!({"ok": true}));
    let queries = v["queries"].as_array().unwrap();
    let phase = |p: &'static str| queries.iter().filter(move |q| q["phase"] == p);
    assert_eq!(phase("ref").count(), 14);
    for q in phase("ref") {
        check(emu.market(), q);
        assert!(!q["rows"].as_array().unwrap().is_empty(), "{q}");
    }
    // Every stock's industry takes the client three pages of 2000.
    let all = phase("ref").find(|q| q["kwargs"]["code"] == "").unwrap();
    assert!(all["pages"].as_u64().unwrap() >= 3, "{}", all["pages"]);
    // Before the action the client saw the built market, after it the amended one.
    for q in phase("before") {
        check(&built, q);
    }
    for q in phase("after") {
        check(emu.market(), q);
    }
    // And what changed, as the official client saw it: the factor row, forward-adjusted
    // history before the date; back-adjusted and raw history before it did not.
    let find = |p: &'static str, api: &str, freq: &str, adj: &str| {
        phase(p)
            .find(|q| q["api"] == api && q["kwargs"]["frequency"] == freq && q["kwargs"]["adjustflag"] == adj)
            .map(|q| q["rows"].as_array().unwrap().iter().map(strs).collect::<Vec<_>>())
            .unwrap()
    };
    let earlier = |rows: Vec<Vec<String>>| -> Vec<Vec<String>> {
        rows.into_iter().filter(|r| r[0].as_str() < "2025-03-12").collect()
    };
    for freq in ["d", "w"] {
        for adj in ["1", "3"] {
            let (b, a) = (
                find("before", "query_history_k_data_plus", freq, adj),
                find("after", "query_history_k_data_plus", freq, adj),
            );
            assert_eq!(
                earlier(b.clone()),
                earlier(a.clone()),
                "{freq} {adj}: history before the date stays"
            );
            assert_ne!(b, a, "{freq} {adj}: bars from the date on move");
        }
        let (b, a) = (
            earlier(find("before", "query_history_k_data_plus", freq, "2")),
            earlier(find("after", "query_history_k_data_plus", freq, "2")),
        );
        assert_eq!(b.len(), a.len());
        assert!(
            b.iter().zip(&a).all(|(x, y)| x[5] != y[5]),
            "{freq}: every forward-adjusted close before the date changes"
        );
    }
    let factor_rows = |p: &'static str, api: &str| {
        phase(p).find(|q| q["api"] == api).unwrap()["rows"]
            .as_array()
            .unwrap()
            .len()
    };
    assert_eq!(
        factor_rows("after", "query_adjust_factor"),
        factor_rows("before", "query_adjust_factor") + 1
    );
    assert_eq!(
        (
            factor_rows("before", "query_daily_adjust_factor"),
            factor_rows("after", "query_daily_adjust_factor")
        ),
        (0, 1)
    );
}

#[test]
fn official_python_client_gets_exactly_the_library_values() {
    let python = python();
    // The full default market: 98 answers of more than 2,000 rows (which the client must not
    // page) and 35/45 answers the client must page.
    // Compared with the (ungated) library, 9A of 2024 days included: every day published, no
    // floors.
    let emu = common::start_always(baostock_emulator::MarketConfig::default().codes);
    let v = run(&python, "scripts/conformance/official_client.py", &emu, &[]);
    assert_eq!(v["login"]["error_code"], "0");
    assert_eq!(v["logout"]["error_code"], "0");
    let m = emu.market();
    let queries = v["queries"].as_array().unwrap();
    assert!(queries.len() >= 30);
    let mut paged = 0;
    let mut errors = 0;
    for q in queries {
        let what = format!("{} {} {}", q["api"], q["args"], q["kwargs"]);
        let (code, fields, rows) = check_code(m, q, &what);
        if code != "0" {
            errors += 1;
            continue;
        }
        check_rows(q, &what, &fields, &rows);
        if q["pages"].as_u64().unwrap() > 1 {
            paged += 1;
            assert!(rows.len() >= 2000);
        }
    }
    assert!(paged >= 4, "the long queries, 35 and 45 must have been paged: {paged}");
    let big_98 = queries
        .iter()
        .filter(|q| q["api"] == "query_daily_history_k_AStock")
        .map(|q| q["rows"].as_array().unwrap().len())
        .max()
        .unwrap();
    assert!(big_98 > 2000, "{big_98}");
    assert_eq!(errors, 2);
    let c = emu.counters();
    // Two pages each for the two long queries: page 2 requests were sent by the client itself.
    assert!(c.requests("95") >= 17 + 2, "{c:?}");
    for (api, t) in [("query_all_stock", "35"), ("query_trade_dates", "33")] {
        let q = queries.iter().find(|q| q["api"] == api).unwrap();
        let n = q["rows"].as_array().unwrap().len() as u64;
        // Pages of 2000 rows, plus an empty one when the last page was full.
        assert_eq!(c.requests(t), n / 2000 + 1, "{api}: {n} rows");
    }
    assert_eq!(c.requests("00"), 1);
    assert_eq!(c.requests("02"), 1);
}

/// The codec's report query for one of the official client's report calls.
fn report_query(q: &Value) -> baostock::ReportQuery {
    use baostock::report::ReportKind;
    let api = q["api"].as_str().unwrap();
    let kind = ReportKind::from_method(api).unwrap_or_else(|| panic!("{api}"));
    let args = strs(&q["args"]);
    let kw = &q["kwargs"];
    let s = |k: &str| kw[k].as_str().unwrap_or("").to_owned();
    let params: Vec<String> = match kind {
        ReportKind::Profit => vec![args[0].clone(), s("year"), s("quarter")],
        ReportKind::Dividend => vec![args[0].clone(), s("year"), s("yearType")],
        ReportKind::Forecast => vec![args[0].clone(), s("start_date"), s("end_date")],
        ReportKind::ReserveRatio => vec![s("start_date"), s("end_date"), s("yearType")],
        _ => vec![s("start_date"), s("end_date")],
    };
    let params: Vec<&str> = params.iter().map(String::as_str).collect();
    baostock::ReportQuery::parse(kind, &params).unwrap()
}

#[test]
fn official_python_client_decodes_reports_as_the_codec_does() {
    use baostock::report::Cell;
    use baostock::{Data, Limits, Page, Reply, Request};
    let python = python();
    let emu = common::start(600);
    let m = emu.market();
    // Stocks with dividends and forecasts (sh.600000 among them, a bank), listed since 2010.
    let mut codes = vec!["sh.600000".to_owned()];
    codes.extend(
        m.securities()
            .iter()
            .filter(|s| s.sec_type == baostock_emulator::SecType::Stock && s.ipo < d("2010-01-01") && s.out.is_none())
            .filter(|s| m.forecast_date(s, d("2022-12-31")).is_some())
            .take(3)
            .map(|s| s.code.clone()),
    );
    let v = run(
        &python,
        "crates/baostock-emulator/tests/python/official_reports.py",
        &emu,
        &codes,
    );
    assert_eq!(
        (&v["login"]["error_code"], &v["logout"]["error_code"]),
        (&"0".into(), &"0".into())
    );
    let queries = v["queries"].as_array().unwrap();
    assert_eq!(queries.len(), codes.len() * 8 + 3);
    let mut c = common::Raw::connect(&emu);
    c.login();
    let (mut rows_seen, mut kinds) = (0, std::collections::BTreeSet::new());
    for q in queries {
        let what = format!("{} {} {}", q["api"], q["args"], q["kwargs"]);
        assert_eq!(q["error_code"], "0", "{what}: {}", q["error_msg"]);
        let query = report_query(q);
        let kind = query.kind();
        let (f, _) = c.request(&Request::Report {
            user: "anonymous".into(),
            page: Page::first(2000),
            query,
        });
        let Reply::Table(t) = Reply::from_frame(&f, &Limits::default()).unwrap() else {
            panic!("{what}: {}", f.body)
        };
        let Data::Reports(ours) = t.data else { panic!("{what}") };
        assert_eq!(strs(&q["fields"]), t.fields, "{what}");
        // The official client's cells, typed as the codec types them.
        let theirs: Vec<Vec<Option<Cell>>> = q["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                strs(r)
                    .iter()
                    .zip(kind.fields())
                    .map(|(s, f)| (!s.is_empty()).then(|| Cell::parse(f.ty, s).unwrap()))
                    .collect()
            })
            .collect();
        let ours: Vec<Vec<Option<Cell>>> = ours.into_iter().map(|r| r.cells).collect();
        assert_eq!(theirs, ours, "{what}");
        rows_seen += ours.len();
        if !ours.is_empty() {
            kinds.insert(kind);
        }
    }
    assert_eq!(kinds.len(), 6, "every kind asked answered rows: {kinds:?}");
    assert!(rows_seen > 40, "{rows_seen}");
}
