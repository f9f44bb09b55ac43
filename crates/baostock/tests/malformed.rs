//! Property tests and malformed input: the decoder never panics, every request type round
//! trips, and each kind of damage gives its own typed error.

mod common;

use baostock::frame::{decode_request, decode_response, encode_request, encode_response, MsgType, SERVER_VERSION};
use baostock::value::{AdjustFlag, Frequency};
use baostock::{decode_reply, DecodeError, HistoryKQuery, Limits, Page, ReportQuery, Request, StockIndex};
use chrono::NaiveDate;
use proptest::prelude::*;

fn limits() -> Limits {
    Limits::default()
}

fn date() -> impl Strategy<Value = NaiveDate> {
    (1990i32..2100, 1u32..=12, 1u32..=28).prop_map(|(y, m, d)| NaiveDate::from_ymd_opt(y, m, d).unwrap())
}

fn page() -> impl Strategy<Value = Page> {
    (1u32..100_000, 1u32..100_000).prop_map(|(page, per_page)| Page { page, per_page })
}

/// Text a parameter may hold: anything but the separator and newline (which frame it).
fn text() -> impl Strategy<Value = String> {
    "[^\u{1}\n]{0,24}"
}

fn request() -> impl Strategy<Value = Request> {
    let freq = prop::sample::select(Frequency::ALL.to_vec());
    let adj = prop::sample::select(AdjustFlag::ALL.to_vec());
    prop_oneof![
        (text(), text(), text()).prop_map(|(user, password, options)| Request::Login {
            user,
            password: password.into(),
            options: options.into()
        }),
        (text(), "[0-9]{14}").prop_map(|(user, time)| Request::Logout { user, time }),
        (text(), page(), text(), text(), date(), date(), freq, adj).prop_map(
            |(user, page, code, fields, start, end, frequency, adjust)| Request::HistoryK {
                user,
                page,
                query: HistoryKQuery {
                    code,
                    fields,
                    start,
                    end,
                    frequency,
                    adjust
                },
            }
        ),
        (text(), date()).prop_map(|(user, date)| Request::DailyAStock { user, date }),
        (text(), date()).prop_map(|(user, date)| Request::DailyEtf { user, date }),
        (text(), date()).prop_map(|(user, date)| Request::DailyAdjustFactor { user, date }),
        (text(), page(), date(), date()).prop_map(|(user, page, start, end)| Request::TradeDates {
            user,
            page,
            start,
            end
        }),
        (text(), page(), date()).prop_map(|(user, page, day)| Request::AllStock { user, page, day }),
        (text(), page(), text(), text()).prop_map(|(user, page, code, code_name)| Request::StockBasic {
            user,
            page,
            code,
            code_name
        }),
        (text(), page(), text(), date(), date()).prop_map(|(user, page, code, start, end)| {
            Request::AdjustFactor {
                user,
                page,
                code,
                start,
                end,
            }
        }),
        (
            text(),
            page(),
            prop::sample::select(StockIndex::ALL.to_vec()),
            prop::option::of(date())
        )
            .prop_map(|(user, page, index, date)| Request::IndexConstituents {
                user,
                page,
                index,
                date
            }),
        (text(), page(), text(), prop::option::of(date()))
            .prop_map(|(user, page, code, date)| { Request::StockIndustry { user, page, code, date } }),
        (text(), page(), report_query()).prop_map(|(user, page, query)| Request::Report { user, page, query }),
        (text(), prop::collection::vec(text(), 0..5)).prop_map(|(user, params)| Request::Other {
            msg_type: MsgType::new(*b"37").unwrap(),
            method: "query_untyped_data".into(),
            user,
            params,
        }),
    ]
}

fn report_query() -> impl Strategy<Value = ReportQuery> {
    use baostock::report::{DividendYear, Published, Quarterly, Rates, ReserveDate, YearMonth};
    let year = 1990i32..2100;
    let quarterly = prop::sample::select(vec![
        Quarterly::Profit,
        Quarterly::Operation,
        Quarterly::Growth,
        Quarterly::Balance,
        Quarterly::CashFlow,
        Quarterly::Dupont,
    ]);
    let month = (1990i32..2100, 1u32..=12).prop_map(|(year, month)| YearMonth { year, month });
    prop_oneof![
        (quarterly, text(), year.clone(), 1u8..=4).prop_map(|(kind, code, year, quarter)| ReportQuery::Quarter {
            kind,
            code,
            year,
            quarter
        }),
        (
            prop::sample::select(vec![Published::Express, Published::Forecast]),
            text(),
            date(),
            date()
        )
            .prop_map(|(kind, code, start, end)| ReportQuery::Published { kind, code, start, end }),
        (
            text(),
            year.clone(),
            prop::sample::select(vec![DividendYear::Report, DividendYear::Operate])
        )
            .prop_map(|(code, year, year_type)| ReportQuery::Dividend { code, year, year_type }),
        (
            prop::sample::select(vec![Rates::Deposit, Rates::Loan]),
            prop::option::of(date()),
            prop::option::of(date())
        )
            .prop_map(|(kind, start, end)| ReportQuery::Rates { kind, start, end }),
        (
            prop::option::of(date()),
            prop::option::of(date()),
            prop::sample::select(vec![ReserveDate::Announced, ReserveDate::Effective])
        )
            .prop_map(|(start, end, by)| ReportQuery::ReserveRatio { start, end, by }),
        (prop::option::of(month.clone()), prop::option::of(month))
            .prop_map(|(start, end)| ReportQuery::MoneySupplyMonth { start, end }),
        (prop::option::of(year.clone()), prop::option::of(year))
            .prop_map(|(start, end)| ReportQuery::MoneySupplyYear { start, end }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..4096)) {
        let _ = decode_reply(&bytes, &limits());
        let _ = decode_request(&bytes, &limits());
    }

    #[test]
    fn bytes_after_a_valid_header_never_panic(
        ty in prop::sample::select(vec!["01", "04", "34", "96", "99", "9D"]),
        len in 0usize..5000,
        tail in prop::collection::vec(any::<u8>(), 0..4096),
    ) {
        let mut bytes = format!("00.9.00\x01{ty}\x01{len:010}").into_bytes();
        bytes.extend_from_slice(&tail);
        let _ = decode_reply(&bytes, &limits());
        let _ = decode_request(&bytes, &limits());
    }

    #[test]
    fn mutated_captures_never_panic(index in 0usize..64, pos in any::<prop::sample::Index>(), byte in any::<u8>()) {
        let all = common::all();
        let c = &all[index % all.len()];
        let mut bytes = c.response.clone();
        let at = pos.index(bytes.len());
        bytes[at] = byte;
        let _ = decode_reply(&bytes, &limits());
    }

    #[test]
    fn every_request_type_round_trips(req in request()) {
        let bytes = req.encode("00.9.10");
        let (frame, used) = decode_request(&bytes, &limits()).unwrap().unwrap();
        prop_assert_eq!(used, bytes.len());
        prop_assert_eq!(Request::decode(&frame).unwrap(), req);
    }

    #[test]
    fn split_requests_wait_for_the_newline(req in request(), cut in any::<prop::sample::Index>()) {
        let bytes = req.encode("00.9.40");
        let k = cut.index(bytes.len());
        prop_assert_eq!(decode_request(&bytes[..k], &limits()), Ok(None));
    }
}

fn plain(body: &str) -> Vec<u8> {
    encode_response(SERVER_VERSION, MsgType::new(*b"34").unwrap(), body)
}

const TRADE_DATES_OK: &str = "0\x01success\x01query_trade_dates\x01anonymous\x011\x012000\x01{\"record\":[[\"2024-01-02\",\"1\"]]}\x012024-01-02\x012024-01-02\x01calendar_date, is_trading_day";

#[test]
fn a_well_formed_frame_is_the_baseline() {
    assert!(decode_reply(&plain(TRADE_DATES_OK), &limits()).unwrap().is_some());
}

#[test]
fn truncated_frames_wait_and_cut_frames_fail() {
    let bytes = plain(TRADE_DATES_OK);
    // Cut short: still waiting.
    assert_eq!(decode_reply(&bytes[..bytes.len() - 1], &limits()), Ok(None));
    // Body cut out of the middle but trailer present: the character count no longer matches.
    let mut cut = bytes.clone();
    cut.drain(40..45);
    assert!(matches!(
        decode_reply(&cut, &limits()),
        Err(DecodeError::BadLength { .. })
    ));
}

#[test]
fn a_wrong_length_field_is_bad_length() {
    let mut bytes = plain(TRADE_DATES_OK);
    bytes[20] = if bytes[20] == b'9' { b'0' } else { bytes[20] + 1 };
    assert!(matches!(
        decode_reply(&bytes, &limits()),
        Err(DecodeError::BadLength { .. })
    ));
    // A length that promises far fewer characters than arrive before any newline.
    let mut long = b"00.9.00\x0134\x010000000001".to_vec();
    long.extend_from_slice(&[b'x'; 64]);
    assert!(matches!(
        decode_reply(&long, &limits()),
        Err(DecodeError::BadLength { declared: 1 })
    ));
}

#[test]
fn a_non_numeric_header_is_bad_header() {
    let mut bytes = plain(TRADE_DATES_OK);
    bytes[12] = b'x';
    assert!(matches!(
        decode_reply(&bytes, &limits()),
        Err(DecodeError::BadHeader(_))
    ));
}

#[test]
fn a_damaged_body_fails_its_crc() {
    let mut bytes = plain(TRADE_DATES_OK);
    let at = bytes.iter().position(|&b| b == b's').unwrap();
    bytes[at] = b'S';
    assert!(matches!(
        decode_reply(&bytes, &limits()),
        Err(DecodeError::CrcMismatch { .. })
    ));
}

#[test]
fn corrupt_zlib_is_corrupt_zlib() {
    let mut bytes = encode_response(SERVER_VERSION, MsgType::HISTORY_K_REPLY, TRADE_DATES_OK);
    for b in &mut bytes[23..30] {
        *b ^= 0x55;
    }
    assert_eq!(decode_reply(&bytes, &limits()), Err(DecodeError::CorruptZlib));
    // A zlib stream cut short (length field adjusted to match).
    let whole = encode_response(SERVER_VERSION, MsgType::HISTORY_K_REPLY, TRADE_DATES_OK);
    let n: usize = std::str::from_utf8(&whole[11..21]).unwrap().parse().unwrap();
    let mut short = format!("00.9.00\x0196\x01{:010}", n - 4).into_bytes();
    short.extend_from_slice(&whole[21..21 + n - 4]);
    short.extend_from_slice(b"\x0112345\n<![CDATA[]]>\n");
    assert_eq!(decode_reply(&short, &limits()), Err(DecodeError::CorruptZlib));
}

#[test]
fn a_zip_bomb_stops_at_the_inflate_limit() {
    // 64 MiB of zeros compresses to ~64 KiB.
    let body = "0".repeat(64 << 20);
    let bytes = encode_response(SERVER_VERSION, MsgType::DAILY_ASTOCK_REPLY, &body);
    assert!(bytes.len() < 1 << 20);
    let small = Limits {
        max_inflated_bytes: 1 << 20,
        ..limits()
    };
    assert_eq!(
        decode_reply(&bytes, &small),
        Err(DecodeError::InflatedTooLarge { limit: 1 << 20 })
    );
}

#[test]
fn frames_over_the_size_limit_are_refused_before_they_arrive() {
    let tiny = Limits {
        max_frame_bytes: 1000,
        ..limits()
    };
    let header = b"00.9.00\x0196\x010000005000";
    assert_eq!(
        decode_response(header, &tiny),
        Err(DecodeError::FrameTooLarge { limit: 1000 })
    );
    let mut plain_head = b"00.9.00\x0134\x010000005000".to_vec();
    plain_head.extend_from_slice(&[b'a'; 1000]);
    assert_eq!(
        decode_response(&plain_head, &tiny),
        Err(DecodeError::FrameTooLarge { limit: 1000 })
    );
}

#[test]
fn invalid_utf8_is_invalid_utf8() {
    let body = TRADE_DATES_OK.replace("anonymous", "anonymou\u{e9}");
    let mut bytes = plain(&body);
    // Replace the two bytes of é with one invalid byte and a filler, keeping the count.
    let at = bytes.windows(2).position(|w| w == "\u{e9}".as_bytes()).unwrap();
    bytes[at] = 0xff;
    bytes[at + 1] = b'x';
    assert_eq!(decode_reply(&bytes, &limits()), Err(DecodeError::InvalidUtf8));
    // The same inside a compressed frame.
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::new(1));
    std::io::Write::write_all(&mut z, b"0\x01\xff").unwrap();
    let z = z.finish().unwrap();
    let mut bad = format!("00.9.00\x0196\x01{:010}", z.len()).into_bytes();
    bad.extend_from_slice(&z);
    bad.extend_from_slice(b"\x011\n<![CDATA[]]>\n");
    assert_eq!(decode_reply(&bad, &limits()), Err(DecodeError::InvalidUtf8));
}

#[test]
fn rows_whose_arity_differs_from_the_fields_are_refused() {
    let body = TRADE_DATES_OK.replace("[\"2024-01-02\",\"1\"]", "[\"2024-01-02\",\"1\",\"x\"]");
    assert_eq!(
        decode_reply(&plain(&body), &limits()),
        Err(DecodeError::RowArity {
            row: 0,
            expected: 2,
            got: 3
        })
    );
}

#[test]
fn too_many_rows_are_refused() {
    let body = TRADE_DATES_OK.replace(
        "[[\"2024-01-02\",\"1\"]]",
        "[[\"2024-01-02\",\"1\"],[\"2024-01-03\",\"1\"]]",
    );
    let one = Limits {
        max_rows: 1,
        ..limits()
    };
    assert_eq!(
        decode_reply(&plain(&body), &one),
        Err(DecodeError::TooManyRows { limit: 1 })
    );
}

#[test]
fn bad_cells_name_their_row_and_field() {
    let body = TRADE_DATES_OK.replace("\"2024-01-02\",\"1\"", "\"2024-13-02\",\"1\"");
    match decode_reply(&plain(&body), &limits()) {
        Err(DecodeError::Value {
            row: 0, field, value, ..
        }) => {
            assert_eq!(field, "calendar_date");
            assert_eq!(value, "2024-13-02");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn requests_with_a_bad_crc_are_refused() {
    let mut bytes = encode_request("00.9.10", MsgType::LOGIN, &["login", "anonymous", "123456", "0"]);
    let n = bytes.len();
    bytes[n - 2] = if bytes[n - 2] == b'9' { b'0' } else { bytes[n - 2] + 1 };
    assert!(matches!(
        decode_request(&bytes, &limits()),
        Err(DecodeError::CrcMismatch { .. })
    ));
}

#[test]
fn known_request_types_with_wrong_parameters_are_bad_requests() {
    let bytes = encode_request(
        "00.9.10",
        MsgType::DAILY_ASTOCK,
        &["query_daily_history_k_AStock", "anonymous"],
    );
    let (frame, _) = decode_request(&bytes, &limits()).unwrap().unwrap();
    assert!(matches!(Request::decode(&frame), Err(DecodeError::BadRequest(_))));
    let bytes = encode_request(
        "00.9.10",
        MsgType::DAILY_ASTOCK,
        &["query_daily_history_k_AStock", "anonymous", "2024-02-30"],
    );
    let (frame, _) = decode_request(&bytes, &limits()).unwrap().unwrap();
    assert!(matches!(Request::decode(&frame), Err(DecodeError::BadRequest(_))));
}

#[test]
fn bars_without_their_key_fields_come_back_untyped() {
    let body = "0\x01success\x01query_history_k_data_plus\x01anonymous\x011\x012000\x01{\"record\":[[\"8.9400\",\"\"]]}\x01sh.600000\x01close,turn\x012024-01-02\x012024-01-02\x01d\x013";
    let bytes = encode_response(SERVER_VERSION, MsgType::HISTORY_K_REPLY, body);
    let (reply, _) = decode_reply(&bytes, &limits()).unwrap().unwrap();
    let baostock::Reply::Table(t) = reply else {
        panic!("{reply:?}")
    };
    assert_eq!(
        t.data,
        baostock::Data::Rows(vec![vec![Some("8.9400".to_string()), None]])
    );
    // With the key fields the same answer is typed.
    let typed = body
        .replace("[\"8.9400\",\"\"]", "[\"2024-01-02\",\"sh.600000\",\"8.9400\",\"\"]")
        .replace("close,turn", "date,code,close,turn");
    let bytes = encode_response(SERVER_VERSION, MsgType::HISTORY_K_REPLY, &typed);
    let (reply, _) = decode_reply(&bytes, &limits()).unwrap().unwrap();
    let baostock::Reply::Table(t) = reply else {
        panic!("{reply:?}")
    };
    assert!(
        matches!(&t.data, baostock::Data::DailyBars(b) if b[0].close.unwrap().to_string() == "8.9400" && b[0].turn.is_none())
    );
}
