//! The unmodified official Python client (0.9.4, in the project's .venv) against the emulator:
//! every value it returns must equal what the emulator's own library computes for the request.
//! Fails (never skips) when the virtualenv is missing.

mod common;

use std::path::PathBuf;
use std::process::Command;

use baostock::value::{AdjustFlag, Frequency, ADJUST_FACTOR_FIELDS, DAILY_FIELDS};
use baostock_emulator::handler::{ALL_STOCK_FIELDS, STOCK_BASIC_FIELDS, TRADE_DATES_FIELDS};
use baostock_emulator::Market;
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
        other => panic!("no expectation for {other}"),
    }
}

#[test]
fn official_python_client_gets_exactly_the_library_values() {
    // $BAOSTOCK_PYTHON, else the project's virtualenv (`.venv`, a link made by setup-python.sh).
    let python = std::env::var_os("BAOSTOCK_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join(".venv/bin/python"));
    assert!(
        python.exists(),
        "{} is missing: run scripts/setup-python.sh (the conformance run is never skipped)",
        python.display()
    );
    // The full default market: 98 answers of more than 2,000 rows (which the client must not
    // page) and 35/45 answers the client must page.
    let emu = common::start(baostock_emulator::MarketConfig::default().codes);
    let script = repo_root().join("scripts/conformance/official_client.py");
    let out = Command::new(&python)
        .arg(&script)
        .arg(emu.addr().ip().to_string())
        .arg(emu.addr().port().to_string())
        .output()
        .expect("python runs");
    assert!(
        out.status.success(),
        "script failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).expect("script prints JSON");
    assert_eq!(v["client_version"], "00.9.40");
    assert_eq!(v["login"]["error_code"], "0");
    assert_eq!(v["logout"]["error_code"], "0");
    let m = emu.market();
    let queries = v["queries"].as_array().unwrap();
    assert!(queries.len() >= 30);
    let mut paged = 0;
    let mut errors = 0;
    for q in queries {
        let what = format!("{} {} {}", q["api"], q["args"], q["kwargs"]);
        let (code, fields, rows) = expected(m, q);
        assert_eq!(q["error_code"].as_str().unwrap(), code, "{what}: {}", q["error_msg"]);
        if code != "0" {
            errors += 1;
            continue;
        }
        assert_eq!(strs(&q["fields"]), fields, "{what}");
        let got: Vec<Vec<String>> = q["rows"].as_array().unwrap().iter().map(strs).collect();
        assert_eq!(got.len(), rows.len(), "{what}: row count");
        for (i, (g, e)) in got.iter().zip(&rows).enumerate() {
            assert_eq!(g, e, "{what}: row {i}");
        }
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
