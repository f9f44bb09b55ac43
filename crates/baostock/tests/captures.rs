//! Conformance against the real server's bytes: every captured response decodes into the
//! value its meta.txt describes, incrementally at every split point, and every captured
//! request re-encodes byte for byte.

mod common;

use baostock::frame::{decode_request, decode_response, MsgType};
use baostock::reply::{DailyBar, Data, IndexConstituent, Reply, StockIndustry};
use baostock::report::{Cell, Report, ReportKind, ReportQuery};
use baostock::value::{parse_decimal, AdjustFlag, Frequency};
use baostock::{decode_reply, HistoryKQuery, Limits, Page, Request, StockIndex};
use chrono::NaiveDate;

fn limits() -> Limits {
    Limits::default()
}

fn decoded(c: &common::Capture) -> Reply {
    let (reply, used) = decode_reply(&c.response, &limits())
        .unwrap_or_else(|e| panic!("{}: {e}", c.name))
        .unwrap_or_else(|| panic!("{}: incomplete", c.name));
    assert_eq!(used, c.response.len(), "{}: frame length", c.name);
    reply
}

#[test]
fn every_response_decodes_to_what_meta_describes() {
    let mut tables = 0;
    let mut errors = 0;
    for c in common::all() {
        let reply = decoded(&c);
        let (code, msg) = c.meta_error();
        match &reply {
            Reply::Error(e) => {
                errors += 1;
                assert_eq!(e.code, code, "{}", c.name);
                assert_eq!(Some(&e.message), msg.as_ref(), "{}", c.name);
                assert_ne!(code, "0", "{}: success decoded as error", c.name);
            }
            Reply::Login { user, server_time } | Reply::Logout { user, server_time } => {
                assert_eq!(code, "0", "{}", c.name);
                assert_eq!(user, "anonymous");
                assert_eq!(server_time.len(), 17, "{}", c.name);
                assert!(c.name.contains("login") || c.name.contains("logout"), "{}", c.name);
            }
            Reply::Table(t) => {
                tables += 1;
                assert_eq!(code, "0", "{}", c.name);
                if let Some(fields) = c.meta_fields() {
                    assert_eq!(t.fields, fields, "{}: fields", c.name);
                }
                if let Some(rows) = c.meta.get("rows") {
                    assert_eq!(t.len().to_string(), *rows, "{}: rows", c.name);
                }
                assert_eq!(t.user, "anonymous");
                assert!(
                    t.page.is_some() || t.method.starts_with("query_daily"),
                    "{}: paging",
                    c.name
                );
            }
        }
    }
    assert!(tables >= 28, "only {tables} tables");
    assert!(errors >= 14, "only {errors} error frames");
}

#[test]
fn typed_rows_carry_the_exact_server_values() {
    let Reply::Table(t) = decoded(&common::get("query_history_k_data_plus")) else {
        panic!()
    };
    let Data::DailyBars(bars) = &t.data else {
        panic!("95 d must give daily bars: {:?}", t.data)
    };
    let first: &DailyBar = &bars[0];
    assert_eq!(first.date, NaiveDate::from_ymd_opt(2024, 1, 2).unwrap());
    assert_eq!(first.code, "sh.600000");
    assert_eq!(first.close.unwrap().to_string(), "6.1789926000");
    assert_eq!(first.volume, Some(22066700));
    assert_eq!(first.amount.unwrap().to_string(), "146066303.7200");
    assert_eq!(first.adjustflag, Some(AdjustFlag::Forward));
    assert_eq!(first.pct_chg, Some(parse_decimal("-0.302100").unwrap()));
    assert_eq!(first.tradestatus, Some(true));
    assert_eq!(first.is_st, Some(false));
    assert_eq!(first.pe_ttm, None, "not requested");

    for (name, bars_a_day) in [
        ("query_history_k_data_plus_5min", 48),
        ("query_history_k_data_plus_60min", 4),
    ] {
        let c = common::get(name);
        let Reply::Table(t) = decoded(&c) else { panic!() };
        let Data::MinuteBars(bars) = &t.data else {
            panic!("{name}: minute bars expected")
        };
        assert_eq!(bars.len(), 2 * bars_a_day, "{name}");
        let want = c.meta_first_row().unwrap();
        assert_eq!(baostock::value::format_minute_time(bars[0].time), want[1]);
        assert_eq!(bars[0].open.unwrap().to_string(), want[3]);
        assert_eq!(bars[0].volume.unwrap().to_string(), want[7]);
        assert_eq!(bars[0].amount.unwrap().to_string(), want[8]);
    }

    let Reply::Table(t) = decoded(&common::get("query_adjust_factor")) else {
        panic!()
    };
    let Data::AdjustFactors(f) = &t.data else { panic!() };
    assert_eq!(f[0].operate_date, NaiveDate::from_ymd_opt(2023, 7, 21).unwrap());
    assert_eq!(f[0].fore.unwrap().to_string(), "0.936211");
    assert_eq!(f[0].back.unwrap().to_string(), "11.949786");

    let Reply::Table(t) = decoded(&common::get("query_trade_dates")) else {
        panic!()
    };
    let Data::TradeDates(d) = &t.data else { panic!() };
    let trading: Vec<bool> = d.iter().map(|d| d.is_trading_day).collect();
    assert_eq!(trading, [false, true, true, true, true, false, false, true, true, true]);

    let Reply::Table(t) = decoded(&common::get("query_all_stock")) else {
        panic!()
    };
    let Data::AllStock(s) = &t.data else { panic!() };
    assert_eq!(s[0].code, "sh.000001");
    assert_eq!(s[0].name.as_deref(), Some("上证综合指数"));
    assert!(s.iter().all(|l| l.code.len() == 9));

    let Reply::Table(t) = decoded(&common::get("query_stock_basic")) else {
        panic!()
    };
    let Data::StockBasic(b) = &t.data else { panic!() };
    assert_eq!(b[0].name.as_deref(), Some("浦发银行"));
    assert_eq!(b[0].ipo_date, NaiveDate::from_ymd_opt(1999, 11, 10));
    assert_eq!(b[0].out_date, None, "empty outDate means listed");
    assert_eq!((b[0].sec_type, b[0].status), (Some(1), Some(1)));

    // Empty data is the empty string, not an error.
    let Reply::Table(t) = decoded(&common::get("query_forecast_report")) else {
        panic!()
    };
    assert!(t.is_empty());
}

#[test]
fn responses_decode_identically_at_every_split_point() {
    for c in common::all() {
        let whole = decode_response(&c.response, &limits()).unwrap().unwrap();
        for k in 0..c.response.len() {
            match decode_response(&c.response[..k], &limits()) {
                Ok(None) => {}
                other => panic!("{}: prefix of {k} bytes gave {other:?}", c.name),
            }
        }
        // Two frames back to back: the first decodes alone and reports its own length.
        let mut two = c.response.clone();
        two.extend_from_slice(&c.response);
        assert_eq!(decode_response(&two, &limits()).unwrap().unwrap(), whole, "{}", c.name);
    }
}

#[test]
fn requests_re_encode_byte_for_byte() {
    for c in common::all() {
        let (frame, used) = decode_request(&c.request, &limits())
            .unwrap_or_else(|e| panic!("{}: {e}", c.name))
            .unwrap_or_else(|| panic!("{}: incomplete request", c.name));
        assert_eq!(used, c.request.len());
        assert_eq!(frame.version, "00.9.10");
        let req = Request::decode(&frame).unwrap_or_else(|e| panic!("{}: {e}", c.name));
        let known = [
            MsgType::LOGIN,
            MsgType::LOGOUT,
            MsgType::HISTORY_K,
            MsgType::TRADE_DATES,
            MsgType::ALL_STOCK,
            MsgType::STOCK_BASIC,
            MsgType::ADJUST_FACTOR,
            MsgType::STOCK_INDUSTRY,
            MsgType::HS300_STOCKS,
            MsgType::SZ50_STOCKS,
            MsgType::ZZ500_STOCKS,
        ];
        if known.contains(&frame.msg_type) || ReportKind::from_msg_type(frame.msg_type).is_some() {
            assert!(!matches!(req, Request::Other { .. }), "{}: decoded as untyped", c.name);
        }
        assert_eq!(req.encode("00.9.10"), c.request, "{}", c.name);
    }
}

#[test]
fn typed_requests_built_by_hand_match_the_captures() {
    let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day).unwrap();
    let user = || "anonymous".to_string();
    let page = Page {
        page: 1,
        per_page: 10000,
    };
    let cases = [
        (
            "login",
            Request::Login {
                user: user(),
                password: "123456".into(),
                options: "0".into(),
            },
        ),
        (
            "logout",
            Request::Logout {
                user: user(),
                time: "20260422163817".into(),
            },
        ),
        (
            "query_history_k_data_plus",
            Request::HistoryK {
                user: user(),
                page,
                query: HistoryKQuery {
                    code: "sh.600000".into(),
                    fields:
                        "date,code,open,high,low,close,preclose,volume,amount,adjustflag,turn,tradestatus,pctChg,isST"
                            .into(),
                    start: d(2024, 1, 1),
                    end: d(2024, 1, 31),
                    frequency: Frequency::Daily,
                    adjust: AdjustFlag::Forward,
                },
            },
        ),
        (
            "query_history_k_data_plus_5min",
            Request::HistoryK {
                user: user(),
                page,
                query: HistoryKQuery {
                    code: "sh.600000".into(),
                    fields: baostock::value::MINUTE_FIELDS.into(),
                    start: d(2024, 1, 2),
                    end: d(2024, 1, 3),
                    frequency: Frequency::Min5,
                    adjust: AdjustFlag::Forward,
                },
            },
        ),
        (
            "query_trade_dates",
            Request::TradeDates {
                user: user(),
                page,
                start: d(2024, 1, 1),
                end: d(2024, 1, 10),
            },
        ),
        (
            "query_all_stock",
            Request::AllStock {
                user: user(),
                page,
                day: d(2024, 1, 2),
            },
        ),
        (
            "query_stock_basic",
            Request::StockBasic {
                user: user(),
                page,
                code: "sh.600000".into(),
                code_name: String::new(),
            },
        ),
        (
            "query_adjust_factor",
            Request::AdjustFactor {
                user: user(),
                page,
                code: "sh.600000".into(),
                start: d(2023, 1, 1),
                end: d(2023, 12, 31),
            },
        ),
        (
            "query_hs300_stocks",
            Request::IndexConstituents {
                user: user(),
                page,
                index: StockIndex::Hs300,
                date: None,
            },
        ),
        (
            "query_sz50_stocks",
            Request::IndexConstituents {
                user: user(),
                page,
                index: StockIndex::Sz50,
                date: None,
            },
        ),
        (
            "query_zz500_stocks",
            Request::IndexConstituents {
                user: user(),
                page,
                index: StockIndex::Zz500,
                date: None,
            },
        ),
        (
            "query_stock_industry",
            Request::StockIndustry {
                user: user(),
                page,
                code: "sh.600000".into(),
                date: None,
            },
        ),
    ];
    for (name, req) in cases {
        let capture = common::get(name);
        assert_eq!(req.encode("00.9.10"), capture.request, "{name}");
        // And the captured bytes decode back to the very same typed request.
        let (frame, _) = decode_request(&capture.request, &limits()).unwrap().unwrap();
        assert_eq!(Request::decode(&frame).unwrap(), req, "{name}");
    }
}

#[test]
fn reference_requests_carry_their_types_and_an_optional_date() {
    // The message types and method names of the captured requests.
    for (name, index, ty) in [
        ("query_hs300_stocks", StockIndex::Hs300, "61"),
        ("query_sz50_stocks", StockIndex::Sz50, "63"),
        ("query_zz500_stocks", StockIndex::Zz500, "65"),
    ] {
        let (frame, _) = decode_request(&common::get(name).request, &limits()).unwrap().unwrap();
        assert_eq!(frame.msg_type.as_str(), ty, "{name}");
        assert_eq!(index.msg_type(), frame.msg_type);
        assert_eq!(index.method(), name);
        assert_eq!(StockIndex::from_method(name), Some(index));
        assert_eq!(
            frame.msg_type.reply_type(),
            decode_response(&common::get(name).response, &limits())
                .unwrap()
                .unwrap()
                .0
                .msg_type
        );
    }
    let (frame, _) = decode_request(&common::get("query_stock_industry").request, &limits())
        .unwrap()
        .unwrap();
    assert_eq!(frame.msg_type, MsgType::STOCK_INDUSTRY);
    assert_eq!(frame.msg_type.as_str(), "59");
    // A date, when given, goes where the captures have the empty field; a bad one is refused.
    let day = NaiveDate::from_ymd_opt(2024, 1, 2).unwrap();
    let req = Request::StockIndustry {
        user: "anonymous".into(),
        page: Page::first(2000),
        code: String::new(),
        date: Some(day),
    };
    let bytes = req.encode("00.9.40");
    let (frame, _) = decode_request(&bytes, &limits()).unwrap().unwrap();
    assert_eq!(
        frame.fields(),
        ["query_stock_industry", "anonymous", "1", "2000", "", "2024-01-02"]
    );
    assert_eq!(Request::decode(&frame).unwrap(), req);
    for index in StockIndex::ALL {
        let req = Request::IndexConstituents {
            user: "anonymous".into(),
            page: Page::first(2000),
            index,
            date: Some(day),
        };
        let (frame, _) = decode_request(&req.encode("00.9.40"), &limits()).unwrap().unwrap();
        assert_eq!(frame.fields(), [index.method(), "anonymous", "1", "2000", "2024-01-02"]);
        assert_eq!(Request::decode(&frame).unwrap(), req);
        assert_eq!(
            req.with_page(3).page(),
            Some(Page {
                page: 3,
                per_page: 2000
            })
        );
        let bad = baostock::frame::encode_request(
            "00.9.40",
            index.msg_type(),
            &[index.method(), "anonymous", "1", "2000", "2024-13-01"],
        );
        let (frame, _) = decode_request(&bad, &limits()).unwrap().unwrap();
        assert!(Request::decode(&frame).is_err(), "{index:?}: a bad date");
        let short =
            baostock::frame::encode_request("00.9.40", index.msg_type(), &[index.method(), "anonymous", "1", "2000"]);
        let (frame, _) = decode_request(&short, &limits()).unwrap().unwrap();
        assert!(Request::decode(&frame).is_err(), "{index:?}: a missing date field");
    }
    // The method must match the type.
    let crossed = baostock::frame::encode_request(
        "00.9.40",
        MsgType::HS300_STOCKS,
        &["query_sz50_stocks", "anonymous", "1", "2000", ""],
    );
    let (frame, _) = decode_request(&crossed, &limits()).unwrap().unwrap();
    assert!(Request::decode(&frame).is_err());
}

/// The rows of a capture as its own JSON strings, parsed independently of the typed decoder.
fn capture_records(name: &str, arity: usize) -> Vec<Vec<String>> {
    let c = common::get(name);
    let (frame, _) = decode_response(&c.response, &limits()).unwrap().unwrap();
    let fields: Vec<&str> = frame.body.split('\x01').collect();
    baostock::json::parse_records(fields[6], arity, usize::MAX).unwrap()
}

#[test]
fn index_constituents_decode_from_the_captures() {
    for (name, first, last) in [
        (
            "query_hs300_stocks",
            ("sh.600000", "浦发银行"),
            ("sz.302132", "中航成飞"),
        ),
        (
            "query_sz50_stocks",
            ("sh.600028", "中国石化"),
            ("sh.688981", "中芯国际"),
        ),
        (
            "query_zz500_stocks",
            ("sh.600004", "白云机场"),
            ("sz.301611", "珂玛科技"),
        ),
    ] {
        let c = common::get(name);
        let Reply::Table(t) = decoded(&c) else { panic!("{name}") };
        assert_eq!(t.fields, ["updateDate", "code", "code_name"], "{name}");
        assert_eq!(t.params, [""], "{name}: the echoed empty date");
        assert_eq!(
            t.page,
            Some(Page {
                page: 1,
                per_page: 10000
            })
        );
        let rows: Vec<IndexConstituent> = t.data.clone().try_into().unwrap();
        assert_eq!(rows.len().to_string(), c.meta["rows"], "{name}");
        let day = NaiveDate::from_ymd_opt(2026, 4, 20).unwrap();
        assert!(rows.iter().all(|r| r.update_date == day), "{name}: one list date");
        let row = |code: &str, n: &str| IndexConstituent {
            update_date: day,
            code: code.into(),
            code_name: Some(n.into()),
        };
        assert_eq!(rows[0], row(first.0, first.1), "{name}");
        assert_eq!(rows[rows.len() - 1], row(last.0, last.1), "{name}");
        // Every row equals its JSON strings.
        let raw = capture_records(name, 3);
        assert_eq!(raw.len(), rows.len());
        for (r, x) in rows.iter().zip(&raw) {
            assert_eq!(
                [r.update_date.to_string(), r.code.clone(), r.code_name.clone().unwrap()],
                x[..],
                "{name}"
            );
        }
        // Of another kind, the rows refuse to convert.
        assert!(Vec::<StockIndustry>::try_from(t.data).is_err());
    }
}

#[test]
fn stock_industry_decodes_from_the_capture() {
    let c = common::get("query_stock_industry");
    let Reply::Table(t) = decoded(&c) else { panic!() };
    assert_eq!(t.fields, c.meta_fields().unwrap());
    assert_eq!(t.params, ["sh.600000", ""], "echoed code and empty date");
    let rows: Vec<StockIndustry> = t.data.try_into().unwrap();
    assert_eq!(rows.len().to_string(), c.meta["rows"]);
    assert_eq!(
        rows[0],
        StockIndustry {
            update_date: NaiveDate::from_ymd_opt(2026, 4, 20).unwrap(),
            code: "sh.600000".into(),
            code_name: Some("浦发银行".into()),
            industry: Some("J66货币金融服务".into()),
            industry_classification: Some("证监会行业分类".into()),
        }
    );
    assert_eq!(capture_records("query_stock_industry", 5)[0][3], "J66货币金融服务");
}

#[test]
fn empty_reference_cells_are_none() {
    use baostock::frame::{encode_response, SERVER_VERSION};
    let body = "0\x01success\x01query_stock_industry\x01anonymous\x011\x012000\x01{\"record\":[[\"2024-01-01\",\"sz.301999\",\"\",\"\",\"\"]]}\x01\x012024-01-02\x01updateDate, code, code_name, industry, industryClassification";
    let bytes = encode_response(SERVER_VERSION, MsgType::new(*b"60").unwrap(), body);
    let (Reply::Table(t), _) = decode_reply(&bytes, &limits()).unwrap().unwrap() else {
        panic!()
    };
    assert_eq!(t.params, ["", "2024-01-02"]);
    let rows: Vec<StockIndustry> = t.data.try_into().unwrap();
    assert_eq!(
        (rows[0].code_name.as_deref(), rows[0].industry.as_deref()),
        (None, None)
    );
    assert_eq!(rows[0].industry_classification, None);
    // The list date is the key of a row: an empty one is an error, not a guess.
    let body = "0\x01success\x01query_hs300_stocks\x01anonymous\x011\x012000\x01{\"record\":[[\"\",\"sh.600000\",\"\"]]}\x01\x01updateDate, code, code_name";
    let bytes = encode_response(SERVER_VERSION, MsgType::new(*b"62").unwrap(), body);
    assert!(decode_reply(&bytes, &limits()).is_err());
    // An empty answer is no rows.
    let body =
        "0\x01success\x01query_zz500_stocks\x01anonymous\x011\x012000\x01\x011990-01-01\x01updateDate, code, code_name";
    let bytes = encode_response(SERVER_VERSION, MsgType::new(*b"66").unwrap(), body);
    let (Reply::Table(t), _) = decode_reply(&bytes, &limits()).unwrap().unwrap() else {
        panic!()
    };
    assert_eq!(t.data, Data::IndexConstituents(Vec::new()));
}

/// The typed report request of each report capture (client 0.9.1 sent per_page 10000).
fn report_requests() -> Vec<(&'static str, Request)> {
    use baostock::report::{DividendYear, Published, Quarterly, Rates, ReserveDate, YearMonth};
    let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day).unwrap();
    let req = |query| Request::Report {
        user: "anonymous".into(),
        page: Page {
            page: 1,
            per_page: 10000,
        },
        query,
    };
    let quarter = |kind| {
        req(ReportQuery::Quarter {
            kind,
            code: "sh.600000".into(),
            year: 2023,
            quarter: 2,
        })
    };
    let published = |kind| {
        req(ReportQuery::Published {
            kind,
            code: "sh.600000".into(),
            start: d(2023, 1, 1),
            end: d(2023, 12, 31),
        })
    };
    let rates = |kind| {
        req(ReportQuery::Rates {
            kind,
            start: Some(d(2010, 1, 1)),
            end: Some(d(2015, 12, 31)),
        })
    };
    vec![
        ("query_profit_data", quarter(Quarterly::Profit)),
        ("query_operation_data", quarter(Quarterly::Operation)),
        ("query_growth_data", quarter(Quarterly::Growth)),
        ("query_balance_data", quarter(Quarterly::Balance)),
        ("query_cash_flow_data", quarter(Quarterly::CashFlow)),
        ("query_dupont_data", quarter(Quarterly::Dupont)),
        ("query_performance_express_report", published(Published::Express)),
        ("query_forecast_report", published(Published::Forecast)),
        (
            "query_dividend_data",
            req(ReportQuery::Dividend {
                code: "sh.600000".into(),
                year: 2023,
                year_type: DividendYear::Report,
            }),
        ),
        ("query_deposit_rate_data", rates(Rates::Deposit)),
        ("query_loan_rate_data", rates(Rates::Loan)),
        (
            "query_required_reserve_ratio_data",
            req(ReportQuery::ReserveRatio {
                start: Some(d(2010, 1, 1)),
                end: Some(d(2015, 12, 31)),
                by: ReserveDate::Announced,
            }),
        ),
        (
            "query_money_supply_data_month",
            req(ReportQuery::MoneySupplyMonth {
                start: Some(YearMonth { year: 2023, month: 1 }),
                end: Some(YearMonth { year: 2023, month: 12 }),
            }),
        ),
        (
            "query_money_supply_data_year",
            req(ReportQuery::MoneySupplyYear {
                start: Some(2020),
                end: Some(2023),
            }),
        ),
    ]
}

#[test]
fn report_requests_built_by_hand_match_the_captures() {
    let cases = report_requests();
    assert_eq!(cases.len(), ReportKind::ALL.len());
    for (name, req) in cases {
        let capture = common::get(name);
        assert_eq!(req.encode("00.9.10"), capture.request, "{name}");
        let (frame, _) = decode_request(&capture.request, &limits()).unwrap().unwrap();
        assert_eq!(Request::decode(&frame).unwrap(), req, "{name}");
    }
}

/// The typed rows of a report capture, with its kind checked against the answer's type.
fn reports(name: &str) -> Vec<Report> {
    let c = common::get(name);
    let kind = ReportKind::from_method(name).unwrap();
    let (frame, _) = baostock::frame::decode_response(&c.response, &limits())
        .unwrap()
        .unwrap();
    assert_eq!(frame.msg_type, kind.reply_type(), "{name}: the server's answer type");
    let Reply::Table(t) = decoded(&c) else { panic!("{name}") };
    let Data::Reports(rows) = t.data else {
        panic!("{name}: {}", t.data.kind())
    };
    assert!(rows.iter().all(|r| r.kind == kind));
    rows
}

#[test]
fn reports_decode_with_the_exact_server_values() {
    let n = |s: &str| Some(Cell::Number(parse_decimal(s).unwrap()));
    let day = |s: &str| Some(Cell::Date(baostock::value::parse_date(s).unwrap()));
    let text = |s: &str| Some(Cell::Text(s.into()));
    for kind in ReportKind::ALL {
        let c = common::get(kind.method());
        let rows = reports(kind.method());
        assert_eq!(rows.len(), c.meta["rows"].parse::<usize>().unwrap(), "{}", kind.name());
    }
    let profit = reports("query_profit_data");
    assert_eq!(
        profit[0].cells,
        [
            text("sh.600000"),
            day("2023-08-31"),
            day("2023-06-30"),
            n("0.032797"),
            n("0.258851"),
            None,
            n("23615000000.000000"),
            n("1.503636"),
            n("167814000000.000000"),
            n("29352175421.00"),
            n("29352175421.00"),
        ]
    );
    // Scale as written: shares with 2 decimals, ratios with 6.
    assert_eq!(profit[0].get("total_share").unwrap().to_wire(), "29352175421.00");
    assert_eq!(profit[0].known_date(), NaiveDate::from_ymd_opt(2023, 8, 31));
    assert_eq!(profit[0].stat_date(), NaiveDate::from_ymd_opt(2023, 6, 30));

    // The dividend's field list carries tabs; two cells are text; it is known from its plan.
    let dividend = reports("query_dividend_data");
    let r = &dividend[0];
    assert_eq!(r.get("cash_ps_after_tax"), text("0.288或0.32").as_ref());
    assert_eq!(
        r.get("cash_stock"),
        text("10派3.2元（含税，扣税后2.88或3.2元）").as_ref()
    );
    assert_eq!(r.get("cash_ps_before_tax"), n("0.32").as_ref());
    assert_eq!(r.get("pre_notice_date"), None);
    assert_eq!(r.date("operate_date"), NaiveDate::from_ymd_opt(2023, 7, 21));
    assert_eq!(r.known_date(), NaiveDate::from_ymd_opt(2023, 4, 19));

    let express = reports("query_performance_express_report");
    assert_eq!(express[0].stat_date(), NaiveDate::from_ymd_opt(2022, 12, 31));
    assert_eq!(express[0].get("roe_wa"), n("7.980000").as_ref());

    let rrr = reports("query_required_reserve_ratio_data");
    assert_eq!(
        rrr[0].cells,
        [
            day("2010-01-12"),
            day("2010-01-18"),
            n("15.5"),
            n("16.0"),
            n("13.5"),
            n("14.0")
        ]
    );
    assert_eq!(rrr[0].get("big_institutions_ratio_after").unwrap().to_wire(), "16.0");

    // The 5-year deposit rates are empty from 2014-11-22 on.
    let deposit = reports("query_deposit_rate_data");
    let late: Vec<_> = deposit
        .iter()
        .filter(|r| r.known_date() >= NaiveDate::from_ymd_opt(2014, 11, 22))
        .collect();
    assert!(!late.is_empty());
    assert!(late.iter().all(|r| r.get("fixed_deposit_rate_5y").is_none()));
    assert!(deposit.iter().any(|r| r.get("fixed_deposit_rate_5y").is_some()));

    // Money supply: statMonth "01" is the month 1; no date of knowledge.
    let month = reports("query_money_supply_data_month");
    assert_eq!(month[0].get("stat_year"), Some(&Cell::Integer(2023)));
    assert_eq!(month[0].get("stat_month"), Some(&Cell::Integer(1)));
    assert_eq!(month[0].known_date(), None);
    assert_eq!(reports("query_money_supply_data_year").len(), 4);

    // No forecast rows, but the field list is the client's.
    assert!(reports("query_forecast_report").is_empty());
    let Reply::Table(t) = decoded(&common::get("query_forecast_report")) else {
        panic!()
    };
    assert_eq!(t.fields.join(","), ReportKind::Forecast.field_list());
}

#[test]
fn every_report_field_list_is_the_servers() {
    for kind in ReportKind::ALL {
        let Reply::Table(t) = decoded(&common::get(kind.method())) else {
            panic!()
        };
        assert_eq!(t.fields.join(","), kind.field_list(), "{}", kind.name());
    }
}
