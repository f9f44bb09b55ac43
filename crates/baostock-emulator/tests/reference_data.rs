//! Reference data (59 industries, 61/63/65 index constituents): the captured layout on the
//! wire, the captured update dates, lists of listed stocks that change at rebalancing days,
//! industries in the captured format, errors and paging.

mod common;

use std::collections::BTreeSet;

use baostock::frame::{decode_request, decode_response, encode_response, MsgType, SERVER_VERSION};
use baostock::json::parse_records;
use baostock::reply::{IndexConstituent, Reply, StockIndustry};
use baostock::{decode_reply, Limits, Page, Request, StockIndex};
use baostock_emulator::handler::{INDEX_CONSTITUENT_FIELDS, STOCK_INDUSTRY_FIELDS};
use baostock_emulator::market::{rebalancing_days, rebalancing_in_force, update_date, INDUSTRIES};
use baostock_emulator::{Emulator, EmulatorConfig, Market, MarketConfig};
use chrono::{Datelike, NaiveDate, NaiveDateTime, NaiveTime, Weekday};
use common::{capture, d, error_of, market, Raw};

/// The body fields of a captured response.
fn capture_body(name: &str) -> (MsgType, String) {
    let (_, resp) = capture(name);
    let (f, _) = decode_response(&resp, &Limits::default()).unwrap().unwrap();
    (f.msg_type, f.body)
}

fn codes(rows: &[Vec<String>]) -> BTreeSet<String> {
    rows.iter().map(|r| r[1].clone()).collect()
}

/// Codes of a type listed on `day`, from 45 (ipoDate, outDate, type).
fn listed(m: &Market, day: NaiveDate, ty: &str) -> BTreeSet<String> {
    m.stock_basic("", "")
        .into_iter()
        .filter(|r| {
            let out = (!r[3].is_empty()).then(|| d(&r[3]));
            d(&r[2]) <= day && out.is_none_or(|o| day < o) && r[4] == ty
        })
        .map(|r| r[0].clone())
        .collect()
}

/// Codes in an ST period on `day`, by their names in 35.
fn in_st_period(m: &Market, day: NaiveDate) -> BTreeSet<String> {
    m.all_stock(day)
        .into_iter()
        .filter(|r| r[2].starts_with("ST"))
        .map(|r| r[0].clone())
        .collect()
}

#[test]
fn update_dates_are_the_mondays_the_captures_show() {
    // The hs300 capture was taken on Wednesday 2026-04-22 (captures README) with an empty date.
    let (_, body) = capture_body("query_hs300_stocks");
    let data = body.split('\x01').nth(6).unwrap().to_owned();
    let rows = parse_records(&data, 3, usize::MAX).unwrap();
    assert_eq!(update_date(d("2026-04-22")).to_string(), rows[0][0]);
    // The query_st_stocks candidate asked for a Tuesday and got its week's Monday, a holiday.
    let (req, _) = capture("_candidates/query_st_stocks/round2");
    let (f, _) = decode_request(&req, &Limits::default()).unwrap().unwrap();
    let asked = d(f.fields()[4]);
    let (_, body) = capture_body("_candidates/query_st_stocks/round2");
    let rows = parse_records(body.split('\x01').nth(6).unwrap(), 3, usize::MAX).unwrap();
    assert!(!baostock_emulator::calendar::is_trading_day(d(&rows[0][0])));
    assert_eq!(update_date(asked).to_string(), rows[0][0], "asked {asked}");
    // Every day of a week maps to its Monday.
    for k in 0..14 {
        let day = d("2024-06-10") + chrono::Duration::days(k);
        let u = update_date(day);
        assert_eq!(u.weekday(), Weekday::Mon);
        assert!(u <= day && day - u < chrono::Duration::days(7));
    }
    // The emulator's answers carry it.
    let m = market(300);
    for index in StockIndex::ALL {
        let rows = m.index_constituents(index, d("2024-01-02"));
        assert!(!rows.is_empty());
        assert!(rows.iter().all(|r| r[0] == "2024-01-01"), "{index:?}");
    }
    assert!(m
        .stock_industry("", d("2024-01-05"))
        .iter()
        .all(|r| r[0] == "2024-01-01"));
}

#[test]
fn rebalancing_days_are_the_real_review_days() {
    // The CSI and SSE semi-annual reviews took effect on these days.
    assert_eq!(rebalancing_days(2023), [d("2023-06-12"), d("2023-12-11")]);
    assert_eq!(rebalancing_days(2024), [d("2024-06-17"), d("2024-12-16")]);
    assert_eq!(rebalancing_days(2025), [d("2025-06-16"), d("2025-12-15")]);
    for (index, day, in_force) in [
        (StockIndex::Hs300, "2024-06-16", Some("2023-12-11")),
        (StockIndex::Hs300, "2024-06-17", Some("2024-06-17")),
        (StockIndex::Hs300, "2025-01-06", Some("2024-12-16")),
        // Before the first review after a launch, the launch list is in force; before it, none.
        (StockIndex::Hs300, "2005-04-08", Some("2005-04-08")),
        (StockIndex::Hs300, "2005-04-07", None),
        (StockIndex::Zz500, "2006-12-29", None),
        (StockIndex::Sz50, "2003-12-31", None),
    ] {
        assert_eq!(rebalancing_in_force(index, d(day)), in_force.map(d), "{index:?} {day}");
    }
}

#[test]
fn the_wire_answers_have_the_captured_layout() {
    // A full-size market: enough stocks for the real list sizes.
    let emu = common::start(MarketConfig::default().codes);
    let mut c = Raw::connect(&emu);
    c.login();
    let latest = update_date(common::end_date()).to_string();
    let mut lists = Vec::new();
    for name in ["query_hs300_stocks", "query_sz50_stocks", "query_zz500_stocks"] {
        let (req, _) = capture(name);
        let (want_type, want) = capture_body(name);
        c.send_bytes(&req);
        let (f, _) = c.read_frame();
        assert_eq!(f.msg_type, want_type, "{name}");
        let (got, want) = (f.fields(), want.split('\x01').collect::<Vec<_>>());
        assert_eq!(got.len(), want.len(), "{name}");
        assert_eq!(got[..6], want[..6], "{name}: status, method, user, paging");
        assert_eq!(got[7..], want[7..], "{name}: the echoed empty date and the field list");
        assert_eq!(got[8], INDEX_CONSTITUENT_FIELDS);
        let rows = parse_records(got[6], 3, usize::MAX).unwrap();
        let wanted = parse_records(want[6], 3, usize::MAX).unwrap();
        assert_eq!(rows.len(), wanted.len(), "{name}: the real list size");
        assert!(
            rows.iter().all(|r| r[0] == latest),
            "{name}: one update date, the latest"
        );
        assert!(
            rows.windows(2).all(|w| w[0][1] < w[1][1]),
            "{name}: ascending codes, as captured"
        );
        assert!(rows.iter().all(|r| r[1].starts_with("sh.") || r[1].starts_with("sz.")));
        lists.push(codes(&rows));
        // The reply decodes into typed rows.
        let (_, bytes) = {
            c.send_bytes(&req);
            c.read_frame()
        };
        let (Reply::Table(t), _) = decode_reply(&bytes, &Limits::default()).unwrap().unwrap() else {
            panic!("{name}")
        };
        let typed: Vec<IndexConstituent> = t.data.try_into().unwrap();
        assert_eq!(typed.len(), rows.len());
    }
    // As in the captures: the SSE 50 is Shanghai stocks of the CSI 300; CSI 300 and 500 are
    // disjoint.
    assert!(lists[1].is_subset(&lists[0]));
    assert!(lists[1].iter().all(|c| c.starts_with("sh.")));
    assert!(lists[0].is_disjoint(&lists[2]));
    // sh.600000's industry: the captured answer byte for byte, but for the update date.
    let (req, _) = capture("query_stock_industry");
    let (want_type, want) = capture_body("query_stock_industry");
    let want = encode_response(SERVER_VERSION, want_type, &want.replace("2026-04-20", &latest));
    c.send_bytes(&req);
    let (_, got) = c.read_frame();
    assert_eq!(String::from_utf8_lossy(&got), String::from_utf8_lossy(&want));
    let (Reply::Table(t), _) = decode_reply(&got, &Limits::default()).unwrap().unwrap() else {
        panic!()
    };
    assert_eq!(t.fields.join(", "), STOCK_INDUSTRY_FIELDS);
    let typed: Vec<StockIndustry> = t.data.try_into().unwrap();
    assert_eq!(typed[0].industry.as_deref(), Some("J66货币金融服务"));
}

#[test]
fn constituents_are_listed_stocks_that_change_at_rebalancing_days() {
    let m = market(MarketConfig::default().codes);
    for day in ["2008-03-03", "2015-07-08", "2020-12-14", "2024-06-20", "2025-06-30"] {
        let day = d(day);
        let stocks = listed(&m, day, "1");
        let u = update_date(day);
        let names: std::collections::HashMap<String, String> = m
            .all_stock(u)
            .into_iter()
            .map(|r| (r[0].clone(), r[2].clone()))
            .collect();
        let mut lists = Vec::new();
        for (index, size) in [
            (StockIndex::Hs300, 300),
            (StockIndex::Sz50, 50),
            (StockIndex::Zz500, 500),
        ] {
            let rows = m.index_constituents(index, day);
            assert_eq!(rows.len(), size, "{index:?} {day}");
            let set = codes(&rows);
            assert_eq!(set.len(), size, "{index:?} {day}: no code twice");
            assert!(set.is_subset(&stocks), "{index:?} {day}: listed stocks only");
            for r in &rows {
                assert_eq!(r[0], u.to_string());
                // The name as 35 shows it on the update's Monday, when that is a trading day.
                if let Some(n) = names.get(&r[1]) {
                    assert_eq!(&r[2], n, "{index:?} {day} {}", r[1]);
                }
            }
            // Nobody in an ST period on the review day (35's names there).
            let review = rebalancing_in_force(index, u).unwrap();
            let st_then = in_st_period(&m, review);
            assert!(!m.all_stock(review).is_empty(), "{review} is a trading day");
            assert!(set.is_disjoint(&st_then), "{index:?} {day}");
            lists.push(set);
        }
        assert!(
            lists[1].is_subset(&lists[0]) && lists[0].is_disjoint(&lists[2]),
            "{day}"
        );
    }
    // Within one review period a stock leaves a list only when delisted (or, from the CSI
    // 500, to take a delisted stock's place in the CSI 300).
    let (a, b) = (d("2024-07-01"), d("2024-12-09"));
    assert_eq!(
        rebalancing_in_force(StockIndex::Hs300, a),
        rebalancing_in_force(StockIndex::Hs300, b)
    );
    let hs300_b = codes(&m.index_constituents(StockIndex::Hs300, b));
    let still = listed(&m, b, "1");
    let mut left = 0;
    for index in StockIndex::ALL {
        let (la, lb) = (
            codes(&m.index_constituents(index, a)),
            codes(&m.index_constituents(index, b)),
        );
        for gone in la.difference(&lb) {
            left += 1;
            let promoted = index == StockIndex::Zz500 && hs300_b.contains(gone);
            assert!(
                !still.contains(gone) || promoted,
                "{index:?}: {gone} left without a review"
            );
        }
    }
    assert!(left > 0, "some members were delisted in half a year");
    // Across a review day they change, and the update date moves with the week.
    for index in StockIndex::ALL {
        let before = m.index_constituents(index, d("2024-06-14"));
        let after = m.index_constituents(index, d("2024-06-17"));
        assert_ne!(codes(&before), codes(&after), "{index:?}");
        assert_eq!(
            (before[0][0].as_str(), after[0][0].as_str()),
            ("2024-06-10", "2024-06-17")
        );
        let common = codes(&before).intersection(&codes(&after)).count();
        assert!(
            common * 10 >= before.len() * 7,
            "{index:?}: most members stay ({common})"
        );
    }
    // No list before an index's launch or outside the history.
    assert!(m.index_constituents(StockIndex::Hs300, d("2005-01-05")).is_empty());
    assert!(m.index_constituents(StockIndex::Zz500, d("2006-12-29")).is_empty());
    assert!(m.index_constituents(StockIndex::Sz50, d("2003-12-31")).is_empty());
    assert!(m.index_constituents(StockIndex::Hs300, d("2025-07-07")).is_empty());
}

#[test]
fn a_small_market_lists_every_eligible_stock() {
    let m = market(60);
    // A review day that is a Monday: the review, the update and the day coincide.
    let day = d("2024-12-16");
    assert_eq!(update_date(day), day);
    // Eligible: sh/sz stocks listed that day (45) and not in an ST period (35's names).
    let st = in_st_period(&m, day);
    let eligible: BTreeSet<String> = listed(&m, day, "1")
        .into_iter()
        .filter(|c| !c.starts_with("bj.") && !st.contains(c))
        .collect();
    assert!(eligible.len() < 300 && eligible.len() > 20, "{}", eligible.len());
    let hs300 = codes(&m.index_constituents(StockIndex::Hs300, day));
    assert_eq!(hs300, eligible);
    assert_eq!(codes(&m.index_constituents(StockIndex::Zz500, day)), eligible);
    let sh: BTreeSet<String> = eligible.iter().filter(|c| c.starts_with("sh.")).cloned().collect();
    let sz50 = codes(&m.index_constituents(StockIndex::Sz50, day));
    assert_eq!(sz50.len(), sh.len().min(50));
    assert!(sz50.is_subset(&sh));
}

#[test]
fn every_listed_stock_has_an_industry_in_the_captured_format() {
    let m = market(600);
    let (_, body) = capture_body("query_stock_industry");
    let captured = parse_records(body.split('\x01').nth(6).unwrap(), 5, usize::MAX).unwrap();
    let classification = &captured[0][4];
    let basics: std::collections::HashMap<String, Vec<String>> =
        m.stock_basic("", "").into_iter().map(|r| (r[0].clone(), r)).collect();
    // A stock listed on a Friday is not classified on its first day (the update was Monday).
    let friday_ipo = basics
        .values()
        .filter(|r| r[4] == "1" && d(&r[2]).weekday() == Weekday::Fri && d(&r[2]).year() >= 2010)
        .map(|r| d(&r[2]))
        .min()
        .expect("a Friday listing");
    let mut unclassified = 0;
    for day in [d("2010-05-12"), d("2024-06-20"), d("2025-06-27"), friday_ipo] {
        let rows = m.stock_industry("", day);
        assert_eq!(
            codes(&rows),
            listed(&m, day, "1"),
            "{day}: every listed stock, nothing else"
        );
        assert_eq!(rows.len(), codes(&rows).len());
        let u = update_date(day);
        for r in &rows {
            assert_eq!(r.len(), 5);
            assert_eq!(r[0], u.to_string());
            let ipo = d(&basics[&r[1]][2]);
            if ipo > u {
                // Listed after the week's update: not classified yet.
                assert_eq!((r[3].as_str(), r[4].as_str()), ("", ""), "{}", r[1]);
                unclassified += 1;
                continue;
            }
            assert_eq!(&r[4], classification);
            assert!(INDUSTRIES.contains(&r[3].as_str()), "{}", r[3]);
            let b = r[3].as_bytes();
            assert!(b[0].is_ascii_uppercase() && b[1].is_ascii_digit() && b[2].is_ascii_digit() && !b[3].is_ascii());
            assert!(!r[3].chars().any(char::is_whitespace));
            // One code alone answers its row of the whole list.
            assert_eq!(m.stock_industry(&r[1], day), std::slice::from_ref(r));
        }
    }
    assert!(unclassified > 0, "recent listings show empty cells");
    // An industry is fixed: the same on every date.
    let a = m.stock_industry("", d("2015-01-05"));
    let b = m.stock_industry("", d("2025-06-27"));
    for r in &a {
        if let Some(s) = b.iter().find(|x| x[1] == r[1]) {
            if !r[3].is_empty() {
                assert_eq!(s[3], r[3], "{}", r[1]);
            }
        }
    }
    // sh.600000 is a bank, as captured.
    assert_eq!(m.stock_industry("sh.600000", d("2025-06-27"))[0][3..], captured[0][3..]);
    // Not a stock, not in the market, or not listed then: no rows.
    let index = m
        .securities()
        .iter()
        .find(|s| s.sec_type == baostock_emulator::SecType::Index)
        .unwrap();
    assert!(m.stock_industry(&index.code, d("2024-06-20")).is_empty());
    assert!(m.stock_industry("sh.999999", d("2024-06-20")).is_empty());
    assert!(m.stock_industry("sh.600000", d("1999-11-09")).is_empty());
    assert!(m.stock_industry("", d("2025-07-01")).is_empty(), "after the history");
}

fn index_req(index: StockIndex, date: Option<&str>, page: Page) -> Request {
    Request::IndexConstituents {
        user: "anonymous".into(),
        page,
        index,
        date: date.map(d),
    }
}

#[test]
fn reference_queries_page_refuse_bad_parameters_and_follow_the_clock() {
    let emu = Emulator::start(EmulatorConfig {
        clock: Some(NaiveDateTime::new(
            d("2024-06-20"),
            NaiveTime::from_hms_opt(20, 0, 0).unwrap(),
        )),
        ..common::config(400)
    })
    .unwrap();
    let m = emu.market();
    let mut c = Raw::connect(&emu);
    c.login();
    let rows_of = |c: &mut Raw, r: &Request, arity: usize| {
        let (f, _) = c.request(r);
        assert_ne!(f.msg_type, MsgType::ERROR, "{}", f.body);
        parse_records(f.fields()[6], arity, usize::MAX).unwrap()
    };
    // Pages: the slices of the whole answer, an empty page past the end.
    let whole = m.stock_industry("", d("2024-06-20"));
    assert!(whole.len() > 250);
    let industry = |page| Request::StockIndustry {
        user: "anonymous".into(),
        page,
        code: String::new(),
        date: Some(d("2024-06-20")),
    };
    assert_eq!(
        rows_of(&mut c, &industry(Page { page: 2, per_page: 100 }), 5),
        whole[100..200]
    );
    assert!(rows_of(
        &mut c,
        &industry(Page {
            page: 99,
            per_page: 100
        }),
        5
    )
    .is_empty());
    let hs = m.index_constituents(StockIndex::Hs300, d("2024-06-20"));
    assert_eq!(
        rows_of(
            &mut c,
            &index_req(StockIndex::Hs300, Some("2024-06-20"), Page { page: 3, per_page: 50 }),
            3
        ),
        hs[100..150]
    );
    // An empty date is the clock's day.
    for index in StockIndex::ALL {
        assert_eq!(
            rows_of(&mut c, &index_req(index, None, Page::first(2000)), 3),
            m.index_constituents(index, d("2024-06-20"))
        );
    }
    let mut one = industry(Page::first(2000));
    if let Request::StockIndustry { code, date, .. } = &mut one {
        *code = "sh.600000".into();
        *date = None;
    }
    assert_eq!(rows_of(&mut c, &one, 5), m.stock_industry("sh.600000", d("2024-06-20")));
    // Bad parameters get the server's error codes, and the connection stays usable. The body
    // fields of each case are joined by `|`.
    let raw = |t: MsgType, fields: &str| {
        let fields: Vec<&str> = fields.split('|').collect();
        baostock::frame::encode_request(baostock::frame::CLIENT_VERSION, t, &fields)
    };
    let cases = [
        (
            MsgType::HS300_STOCKS,
            "query_hs300_stocks|anonymous|1|2000|2024-13-01",
            "10004006",
        ),
        (
            MsgType::SZ50_STOCKS,
            "query_sz50_stocks|anonymous|1|2000|20240620",
            "10004006",
        ),
        (
            MsgType::ZZ500_STOCKS,
            "query_zz500_stocks|anonymous|0|2000|",
            "10004006",
        ),
        (
            MsgType::ZZ500_STOCKS,
            "query_hs300_stocks|anonymous|1|2000|",
            "10004006",
        ),
        (MsgType::HS300_STOCKS, "query_hs300_stocks|anonymous|1|2000", "10004006"),
        (
            MsgType::HS300_STOCKS,
            "query_hs300_stocks|anonymous|1|2000|1989-06-01",
            "10004013",
        ),
        (
            MsgType::STOCK_INDUSTRY,
            "query_stock_industry|anonymous|1|2000|sh60000x|",
            "10004011",
        ),
        (
            MsgType::STOCK_INDUSTRY,
            "query_stock_industry|anonymous|1|2000||2100-01-01",
            "10004013",
        ),
        (
            MsgType::STOCK_INDUSTRY,
            "query_stock_industry|anonymous|1|2000|",
            "10004006",
        ),
    ];
    for (t, fields, code) in cases {
        let bytes = raw(t, fields);
        c.send_bytes(&bytes);
        let (f, _) = c.read_frame();
        assert_eq!(error_of(&f).0, code, "{}", String::from_utf8_lossy(&bytes));
    }
    c.send_bytes(&raw(MsgType::HS300_STOCKS, "query_hs300_stocks|anonymous|1|2000|"));
    let (f, _) = c.read_frame();
    assert_eq!(f.fields()[7], "", "an empty date is echoed empty");
    // An unknown code: success, no rows.
    c.send_bytes(&raw(
        MsgType::STOCK_INDUSTRY,
        "query_stock_industry|anonymous|1|2000|sh.999999|2024-06-20",
    ));
    let (f, _) = c.read_frame();
    assert_eq!(
        &f.fields()[4..],
        ["1", "2000", "", "sh.999999", "2024-06-20", STOCK_INDUSTRY_FIELDS]
    );
}
