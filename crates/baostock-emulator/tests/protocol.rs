//! The wire protocol as a raw client sees it: framing, layouts, errors, paging, publication,
//! overrides and counters.

mod common;

use std::io::Read;

use baostock::frame::{inflate, CLIENT_VERSION, END_MARKER, HEADER_LEN};
use baostock::json::parse_records;
use baostock::value::{AdjustFlag, Frequency, ADJUST_FACTOR_FIELDS, DAILY_FIELDS};
use baostock::{HistoryKQuery, Page, Request};
use baostock_emulator::{Emulator, EmulatorConfig, Publication};
use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use common::{astock, capture, d, error_of, history, raw_request, Raw};

#[test]
fn synthetic_answers_equal_the_captured_bytes_where_the_data_agree() {
    let emu = common::start(200);
    let mut c = Raw::connect(&emu);
    // Login: the same layout, only the server time differs.
    let (login_req, login_resp) = capture("login");
    c.send_bytes(&login_req);
    let (f, bytes) = c.read_frame();
    // Same header (the body length included); the crc's digit count varies with the time.
    assert_eq!(&bytes[..21], &login_resp[..21]);
    let fields = f.fields();
    assert_eq!(&fields[..4], ["0", "success", "login", "anonymous"]);
    assert_eq!(fields[4].len(), 17);
    // The calendar and sh.600000's basic data are the real ones: byte-identical answers.
    for name in ["query_trade_dates", "query_stock_basic"] {
        let (req, resp) = capture(name);
        c.send_bytes(&req);
        let (_, bytes) = c.read_frame();
        assert_eq!(
            String::from_utf8_lossy(&bytes),
            String::from_utf8_lossy(&resp),
            "{name}"
        );
    }
    // A retired type: the captured error frame, byte for byte.
    let (req, resp) = capture("_candidates/query_cpi_data/round1");
    c.send_bytes(&req);
    assert_eq!(c.read_frame().1, resp);
    // Logout: same layout.
    let (req, resp) = capture("logout");
    c.send_bytes(&req);
    let (f, bytes) = c.read_frame();
    assert_eq!(&bytes[..21], &resp[..21]);
    assert_eq!(&f.fields()[..4], ["0", "success", "logout", "anonymous"]);
}

#[test]
fn errors_have_the_documented_codes() {
    let emu = common::start(200);
    let mut c = Raw::connect(&emu);
    let daily = history(
        "sh.600000",
        "date,close",
        "2024-01-01",
        "2024-01-31",
        Frequency::Daily,
        AdjustFlag::None,
    );
    // Before login.
    assert_eq!(error_of(&c.request(&daily).0).0, "10001001");
    c.login();
    // A 95 request of unadjusted bars to 2024-01-31, encoded.
    let k_bytes = |code, fields, start, frequency| {
        history(code, fields, start, "2024-01-31", frequency, AdjustFlag::None).encode(CLIENT_VERSION)
    };
    // A 95 request of January's dates spelled field by field, with this frequency and adjust flag.
    let k_raw = |frequency: &str, adjust: &str| {
        raw_request(
            "95",
            &[
                "query_history_k_data_plus",
                "anonymous",
                "1",
                "10000",
                "sh.600000",
                "date",
                "2024-01-01",
                "2024-01-31",
                frequency,
                adjust,
            ],
        )
    };
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (
            raw_request("75", &["query_cpi_data", "anonymous", "1", "10000"]),
            "10004020",
        ),
        (
            raw_request(
                "13",
                &[
                    "query_dividend_data",
                    "anonymous",
                    "1",
                    "10000",
                    "sh600000",
                    "2024",
                    "report",
                ],
            ),
            "10004011",
        ),
        (
            raw_request(
                "95",
                &["query_history_k_data_plus", "anonymous", "1", "10000", "sh.600000"],
            ),
            "10004006",
        ),
        (
            raw_request("98", &["query_daily_history_k_AStock", "anonymous"]),
            "10004006",
        ),
        (k_bytes("sh.999999", "date", "2024-01-01", Frequency::Daily), "10004011"),
        (
            k_bytes("sh.600000", "date,bogus", "2024-01-01", Frequency::Daily),
            "10004012",
        ),
        (
            k_bytes("sh.600000", "date,preclose", "2024-01-01", Frequency::Weekly),
            "10004012",
        ),
        (k_bytes("sh.600000", "date", "1980-01-01", Frequency::Daily), "10004013"),
        (k_raw("x", "3"), "10004006"),
        (k_raw("d", "4"), "10004006"),
        (
            raw_request("98", &["query_daily_history_k_AStock", "anonymous", "2024/01/02"]),
            "10004006",
        ),
        (
            raw_request(
                "33",
                &["query_trade_dates", "anonymous", "0", "10", "2024-01-01", "2024-01-02"],
            ),
            "10004006",
        ),
    ];
    for (req, code) in cases {
        c.send_bytes(&req);
        let (f, _) = c.read_frame();
        assert_eq!(error_of(&f).0, code, "{}", String::from_utf8_lossy(&req));
    }
    // The connection stays usable after errors.
    let (f, _) = c.request(&daily);
    assert_eq!(f.msg_type.as_str(), "96");
    // Wrong parameter count message, exactly as the real server words it.
    c.send_bytes(&raw_request("9C", &["query_daily_adjust_factor", "anonymous"]));
    assert_eq!(error_of(&c.read_frame().0).1, "请求参数个数不正确");
}

#[test]
fn compressed_and_paged_layouts() {
    // 9A of a 2024 day must have rows: no ETF floor.
    let emu = common::start_always(200);
    let mut c = Raw::connect(&emu);
    c.login();
    for (t, method, fields, reply) in [
        ("98", "query_daily_history_k_AStock", DAILY_FIELDS, "99"),
        ("9A", "query_daily_history_k_ETF", DAILY_FIELDS, "9B"),
        ("9C", "query_daily_adjust_factor", ADJUST_FACTOR_FIELDS, "9D"),
    ] {
        c.send_bytes(&raw_request(t, &[method, "anonymous", "2024-06-20"]));
        let (f, bytes) = c.read_frame();
        assert_eq!(f.msg_type.as_str(), reply);
        // Header length = zlib bytes; then \x01 crc \n and the marker.
        let len: usize = std::str::from_utf8(&bytes[11..21]).unwrap().parse().unwrap();
        let tail = &bytes[HEADER_LEN + len..];
        assert_eq!(tail[0], 0x01);
        let nl = tail.iter().position(|&b| b == b'\n').unwrap();
        assert!(tail[1..nl].iter().all(u8::is_ascii_digit));
        assert_eq!(&tail[nl + 1..], END_MARKER);
        let body = String::from_utf8(inflate(&bytes[HEADER_LEN..HEADER_LEN + len], 1 << 30).unwrap()).unwrap();
        assert_eq!(body, f.body);
        // zlib level 1 header.
        assert_eq!(&bytes[HEADER_LEN..HEADER_LEN + 2], &[0x78, 0x01]);
        let parts: Vec<&str> = body.split('\x01').collect();
        assert_eq!(parts.len(), 6, "unpaged body ends exactly at the fields");
        assert_eq!(&parts[..4], ["0", "success", method, "anonymous"]);
        assert_eq!(parts[5], fields);
        assert!(!parse_records(parts[4], fields.split(',').count(), 100_000)
            .unwrap()
            .is_empty());
    }
    // 95: 13 elements, fields echoed verbatim (spaces kept), columns in the asked order.
    let (f, _) = c.request(&history(
        "sh.600000",
        "close, date",
        "2024-01-01",
        "2024-01-10",
        Frequency::Daily,
        AdjustFlag::Forward,
    ));
    let parts = f.fields();
    assert_eq!(parts.len(), 13);
    assert_eq!(
        &parts[7..],
        ["sh.600000", "close, date", "2024-01-01", "2024-01-10", "d", "2"]
    );
    let rows = parse_records(parts[6], 2, 100).unwrap();
    assert_eq!(rows.len(), 7);
    assert_eq!(rows[0][1], "2024-01-02");
    // Paging: 366 days of 2024 at 100 a page; page 5 is past the end: success, empty data.
    let mut got = 0;
    for page in 1..=5u32 {
        let req = Request::TradeDates {
            user: "anonymous".into(),
            page: Page { page, per_page: 100 },
            start: d("2024-01-01"),
            end: d("2024-12-31"),
        };
        let (f, _) = c.request(&req);
        let parts = f.fields();
        assert_eq!(f.msg_type.as_str(), "34");
        assert_eq!(
            &parts[..6],
            [
                "0",
                "success",
                "query_trade_dates",
                "anonymous",
                &page.to_string(),
                "100"
            ]
        );
        assert_eq!(
            &parts[7..],
            ["2024-01-01", "2024-12-31", "calendar_date, is_trading_day"]
        );
        let n = parse_records(parts[6], 2, 1000).unwrap().len();
        assert_eq!(n, [100, 100, 100, 66, 0][page as usize - 1]);
        if n == 0 {
            assert_eq!(parts[6], "", "no rows is the empty string");
        }
        got += n;
    }
    assert_eq!(got, 366);
    // 35 and 45 tails.
    let (f, _) = c.request(&Request::AllStock {
        user: "anonymous".into(),
        page: Page::first(10000),
        day: d("2024-01-02"),
    });
    assert_eq!(&f.fields()[7..], ["2024-01-02", "code,tradeStatus,code_name"]);
    let (f, _) = c.request(&Request::AdjustFactor {
        user: "anonymous".into(),
        page: Page::first(10000),
        code: "sh.600000".into(),
        start: d("2015-01-01"),
        end: d("2024-12-31"),
    });
    assert_eq!(
        &f.fields()[7..],
        ["sh.600000", "2015-01-01", "2024-12-31", ADJUST_FACTOR_FIELDS]
    );
    // Two requests in one write are answered in order.
    let mut both = history(
        "sh.600000",
        "date",
        "2024-01-02",
        "2024-01-02",
        Frequency::Daily,
        AdjustFlag::None,
    )
    .encode(CLIENT_VERSION);
    both.extend(raw_request(
        "98",
        &["query_daily_history_k_AStock", "anonymous", "2024-01-06"],
    ));
    c.send_bytes(&both);
    assert_eq!(c.read_frame().0.msg_type.as_str(), "96");
    let (f, _) = c.read_frame();
    assert_eq!(f.msg_type.as_str(), "99");
    assert_eq!(f.fields()[4], "", "a non-trading day has no rows");
}

#[test]
fn garbage_gets_an_error_frame_and_a_close() {
    let emu = common::start(100);
    let mut c = Raw::connect(&emu);
    c.send_bytes(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    let (f, _) = c.read_frame();
    assert_eq!(error_of(&f).0, "10004019");
    let mut rest = Vec::new();
    c.stream.read_to_end(&mut rest).unwrap();
    assert!(rest.is_empty());
}

fn rows_of(c: &mut Raw, req: &Request, data_at: usize, arity: usize) -> Vec<Vec<String>> {
    let (f, _) = c.request(req);
    parse_records(f.fields()[data_at], arity, 100_000).unwrap()
}

#[test]
fn publication_time_and_clock_gate_the_days_rows() {
    let emu = Emulator::start(EmulatorConfig {
        publish_time: Some(NaiveTime::from_hms_opt(17, 0, 0).unwrap()),
        clock: Some(NaiveDateTime::new(
            d("2024-01-02"),
            NaiveTime::from_hms_opt(16, 59, 59).unwrap(),
        )),
        ..common::config(200)
    })
    .unwrap();
    let mut c = Raw::connect(&emu);
    c.login();
    let k = history(
        "sh.600000",
        "date",
        "2023-12-28",
        "2024-01-03",
        Frequency::Daily,
        AdjustFlag::None,
    );
    assert!(rows_of(&mut c, &astock("2024-01-02"), 4, 18).is_empty());
    assert!(!rows_of(&mut c, &astock("2023-12-29"), 4, 18).is_empty());
    assert_eq!(rows_of(&mut c, &k, 6, 1), [["2023-12-28"], ["2023-12-29"]]);
    emu.controls().set_clock(Some(NaiveDateTime::new(
        d("2024-01-02"),
        NaiveTime::from_hms_opt(17, 0, 0).unwrap(),
    )));
    let rows = rows_of(&mut c, &astock("2024-01-02"), 4, 18);
    assert_eq!(rows, emu.market().daily_astock(d("2024-01-02")));
    assert_eq!(
        rows_of(&mut c, &k, 6, 1),
        [["2023-12-28"], ["2023-12-29"], ["2024-01-02"]]
    );
    emu.controls().set_publish_time(None);
    assert_eq!(rows_of(&mut c, &k, 6, 1).len(), 3, "2024-01-03 is still the future");
    assert!(rows_of(&mut c, &astock("2024-01-03"), 4, 18).is_empty());
    emu.controls().set_clock(None);
    assert_eq!(rows_of(&mut c, &k, 6, 1).len(), 4);
    assert!(!rows_of(&mut c, &astock("2024-01-03"), 4, 18).is_empty());
}

#[test]
fn an_override_flows_into_95_98_and_9a() {
    // The ETF's 2024 bar must be there: no ETF floor.
    let emu = common::start_always(200);
    let date = d("2024-01-02");
    let etf = emu
        .market()
        .securities()
        .iter()
        .find(|s| s.sec_type == baostock_emulator::SecType::Etf && s.listed_on(date))
        .unwrap()
        .code
        .clone();
    let mut c = Raw::connect(&emu);
    c.login();
    let close_col = DAILY_FIELDS.split(',').position(|f| f == "close").unwrap();
    emu.controls()
        .override_bar("sh.600000", date, "close", "99.9900")
        .unwrap();
    emu.controls().override_bar(&etf, date, "volume", "123").unwrap();
    assert!(emu.controls().override_bar("sh.600000", date, "nonsense", "1").is_err());
    let k = history(
        "sh.600000",
        "date,close",
        "2024-01-02",
        "2024-01-03",
        Frequency::Daily,
        AdjustFlag::None,
    );
    let rows = rows_of(&mut c, &k, 6, 2);
    assert_eq!(rows[0], ["2024-01-02", "99.9900"]);
    assert_ne!(rows[1][1], "99.9900");
    let all = rows_of(
        &mut c,
        &Request::DailyAStock {
            user: "anonymous".into(),
            date,
        },
        4,
        18,
    );
    let row = all.iter().find(|r| r[1] == "sh.600000").unwrap();
    assert_eq!(row[close_col], "99.9900");
    let etfs = rows_of(
        &mut c,
        &Request::DailyEtf {
            user: "anonymous".into(),
            date,
        },
        4,
        18,
    );
    assert_eq!(etfs.iter().find(|r| r[1] == etf).unwrap()[7], "123");
    assert_eq!(
        emu.market().daily_astock(date),
        all,
        "the library reports the override too"
    );
    emu.controls().clear_overrides();
    let rows = rows_of(&mut c, &k, 6, 2);
    assert_ne!(rows[0][1], "99.9900");
}

#[test]
fn counters_count_requests_bytes_and_sessions() {
    let emu = common::start(150);
    let mut a = Raw::connect(&emu);
    let mut b = Raw::connect(&emu);
    a.login();
    b.login();
    let k = history(
        "sh.600000",
        "date,close",
        "2024-01-01",
        "2024-03-31",
        Frequency::Daily,
        AdjustFlag::None,
    );
    let mut bytes_95 = 0;
    for _ in 0..3 {
        bytes_95 += a.request(&k).1.len() as u64;
    }
    let bytes_98 = b.request(&astock("2024-01-02")).1.len() as u64;
    let c = emu.counters();
    assert_eq!(c.requests("00"), 2);
    assert_eq!(c.requests("95"), 3);
    assert_eq!(c.requests("98"), 1);
    assert_eq!(c.total_requests(), 6);
    assert_eq!(c.bytes_by_type["95"], bytes_95);
    assert_eq!(c.bytes_by_type["98"], bytes_98);
    assert_eq!((c.sessions_total, c.sessions_active, c.peak_sessions), (2, 2, 2));
    assert_eq!(c.faults_injected, 0);
    let (f, _) = a.request(&common::logout());
    assert_eq!(f.msg_type.as_str(), "03");
    assert_eq!(emu.counters().sessions_active, 1);
    emu.reset_counters();
    let c = emu.counters();
    assert_eq!(
        (c.total_requests(), c.sessions_total, c.sessions_active, c.peak_sessions),
        (0, 0, 1, 1)
    );
    // Closing a connection ends its session.
    drop(b);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while emu.counters().sessions_active != 0 {
        assert!(std::time::Instant::now() < deadline, "session not ended after close");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let _ = NaiveDate::MIN;
}

#[test]
fn concurrent_sessions_are_counted_and_served_in_parallel() {
    let emu = common::start(120);
    let barrier = std::sync::Barrier::new(6);
    let want = emu.market().daily_astock(d("2024-01-02"));
    std::thread::scope(|s| {
        for _ in 0..6 {
            s.spawn(|| {
                let mut c = Raw::connect(&emu);
                c.login();
                barrier.wait();
                let rows = rows_of(&mut c, &astock("2024-01-02"), 4, 18);
                assert_eq!(rows, want);
                barrier.wait();
            });
        }
    });
    let c = emu.counters();
    assert_eq!((c.sessions_total, c.peak_sessions, c.requests("98")), (6, 6, 6));
}

#[test]
fn all_market_requests_have_no_rows_before_the_all_market_start() {
    // 9A of 2024 days must have rows: no ETF floor.
    let cfg = common::config_always(200);
    // Three consecutive trading days that all have rows in 98, 9A and 9C (9C only has rows on
    // ex-dates, which fall in June-July): before, the start day itself, after.
    let market = baostock_emulator::Market::new(cfg.market_config());
    let has_all = |t: NaiveDate| {
        !market.daily_astock(t).is_empty()
            && !market.daily_etf(t).is_empty()
            && !market.daily_adjust_factors(t).is_empty()
    };
    let june: Vec<NaiveDate> = market
        .trade_dates()
        .iter()
        .copied()
        .filter(|t| *t >= d("2024-06-01") && *t <= d("2024-07-31"))
        .collect();
    let w = june
        .windows(3)
        .find(|w| w.iter().all(|t| has_all(*t)))
        .expect("three trading days in a row with all-market rows");
    let (before, start, after) = (w[0], w[1], w[2]);
    drop(market);

    let emu = Emulator::start(EmulatorConfig {
        all_market_start: Some(d("2001-01-01")),
        ..cfg
    })
    .unwrap();
    assert_eq!(
        emu.controls().all_market_start(),
        Some(d("2001-01-01")),
        "applied at start"
    );
    emu.controls().set_all_market_start(Some(start));
    assert_eq!(emu.controls().all_market_start(), Some(start));
    let mut c = Raw::connect(&emu);
    c.login();
    let user = || "anonymous".to_owned();
    let astock = |date| Request::DailyAStock { user: user(), date };
    let etf = |date| Request::DailyEtf { user: user(), date };
    let factors = |date| Request::DailyAdjustFactor { user: user(), date };
    let m = emu.market();

    // Before the start: success, no rows, the very bytes of a non-trading day's answer.
    let weekend = d("2024-06-01");
    assert!(!baostock_emulator::calendar::is_trading_day(weekend));
    for req in [astock(before), etf(before), factors(before)] {
        let (f, bytes) = c.request(&req);
        assert_eq!(&f.fields()[..2], ["0", "success"], "{}", f.body);
        assert_eq!(f.fields()[4], "", "{req:?}");
        let non_trading = match &req {
            Request::DailyAStock { .. } => astock(weekend),
            Request::DailyEtf { .. } => etf(weekend),
            _ => factors(weekend),
        };
        assert_eq!(bytes, c.request(&non_trading).1, "{req:?}");
    }
    // The start day and later: exactly the library's rows.
    for day in [start, after] {
        assert_eq!(rows_of(&mut c, &astock(day), 4, 18), m.daily_astock(day));
        assert_eq!(rows_of(&mut c, &etf(day), 4, 18), m.daily_etf(day));
        assert_eq!(rows_of(&mut c, &factors(day), 4, 5), m.daily_adjust_factors(day));
    }
    // 95 and 15 still answer for the days before the start.
    let code = m.daily_astock(before)[0][1].clone();
    let k = Request::HistoryK {
        user: user(),
        page: Page::first(10000),
        query: HistoryKQuery {
            code: code.clone(),
            fields: "date,code".into(),
            start: before,
            end: after,
            frequency: Frequency::Daily,
            adjust: AdjustFlag::None,
        },
    };
    let dates: Vec<String> = rows_of(&mut c, &k, 6, 2).into_iter().map(|r| r[0].clone()).collect();
    assert_eq!(dates, [before, start, after].map(|t| t.to_string()));
    let ex = m.daily_adjust_factors(before)[0].clone();
    let per_code = rows_of(
        &mut c,
        &Request::AdjustFactor {
            user: user(),
            page: Page::first(10000),
            code: ex[0].clone(),
            start: before,
            end: before,
        },
        6,
        5,
    );
    assert_eq!(per_code, [ex]);
    // The sans-IO core honours it too.
    let frame = baostock::frame::decode_request(&astock(before).encode(CLIENT_VERSION), &Default::default())
        .unwrap()
        .unwrap()
        .0;
    let gated = Publication {
        all_market_start: Some(start),
        ..Publication::everything()
    };
    let a = baostock_emulator::handler::answer_query(m, &frame, gated);
    assert_eq!(a.body.split('\x01').nth(4), Some(""));
    let a = baostock_emulator::handler::answer_query(m, &frame, Publication::everything());
    assert_eq!(
        parse_records(a.body.split('\x01').nth(4).unwrap(), 18, 100_000).unwrap(),
        m.daily_astock(before)
    );
    // Lifted: the earlier day has its rows again.
    emu.controls().set_all_market_start(None);
    assert_eq!(rows_of(&mut c, &astock(before), 4, 18), m.daily_astock(before));
    assert_eq!(rows_of(&mut c, &factors(before), 4, 5), m.daily_adjust_factors(before));
}
