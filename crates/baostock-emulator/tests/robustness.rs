//! Hostile input: random and malformed requests never panic the handler or the server, every
//! answer is a well-formed frame, and the server keeps serving.

mod common;

use baostock::frame::{decode_response, encode_request, Frame, MsgType, CLIENT_VERSION};
use baostock::Limits;
use baostock_emulator::handler::answer_query;
use baostock_emulator::rng::Rng;
use baostock_emulator::Publication;
use common::Raw;

const TYPES: [&str; 12] = ["00", "02", "95", "98", "9A", "9C", "33", "35", "45", "15", "75", "ZZ"];
const METHODS: [&str; 6] = [
    "query_history_k_data_plus",
    "query_daily_history_k_AStock",
    "query_trade_dates",
    "query_all_stock",
    "login",
    "x",
];

fn pick<'a>(r: &mut Rng, xs: &[&'a str]) -> &'a str {
    xs[r.below(xs.len() as u64) as usize]
}

fn random_field(r: &mut Rng) -> String {
    match r.below(14) {
        0 => String::new(),
        1 => "anonymous".into(),
        2 => r.range(-5, 100_000_000_000).to_string(),
        3 => "2024-01-02".into(),
        4 => "2024-13-45".into(),
        5 => "1899-01-01".into(),
        6 => "sh.600000".into(),
        7 => "sh.60000".into(),
        8 => "date,code,close".into(),
        9 => "date,,close, ".into(),
        10 => pick(r, &["d", "w", "m", "5", "15", "30", "60", "1", "x"]).into(),
        11 => "浦发银行\"\\".into(),
        12 => "0".into(),
        _ => (0..r.below(40)).map(|_| char::from(b'!' + r.below(90) as u8)).collect(),
    }
}

/// Well-formed shapes: type, method, the values each position draws from.
fn template(r: &mut Rng) -> (MsgType, Vec<String>) {
    let date = |r: &mut Rng| {
        pick(
            r,
            &[
                "2024-01-02",
                "2024-06-20",
                "2010-03-15",
                "2030-01-01",
                "2024-02-30",
                "1980-01-01",
            ],
        )
        .to_owned()
    };
    let page = |r: &mut Rng| pick(r, &["1", "2", "0", "99999999", "4294967295", "-1"]).to_owned();
    let code = |r: &mut Rng| {
        pick(
            r,
            &[
                "sh.600000",
                "sh.000001",
                "sz.399001",
                "bj.830799",
                "sh.999999",
                "SH600000",
            ],
        )
        .to_owned()
    };
    let u = "anonymous".to_owned();
    let (t, fields) = match r.below(7) {
        0 => (
            "95",
            vec![
                "query_history_k_data_plus".into(),
                u,
                page(r),
                page(r),
                code(r),
                pick(
                    r,
                    &[
                        "date,code,close",
                        "date,time,code,close",
                        "date, code ,pctChg",
                        "turn",
                        "x",
                    ],
                )
                .into(),
                date(r),
                date(r),
                pick(r, &["d", "w", "m", "5", "15", "30", "60", "x"]).into(),
                pick(r, &["1", "2", "3", "4"]).into(),
            ],
        ),
        1 => ("98", vec!["query_daily_history_k_AStock".into(), u, date(r)]),
        2 => ("9A", vec!["query_daily_history_k_ETF".into(), u, date(r)]),
        3 => ("9C", vec!["query_daily_adjust_factor".into(), u, date(r)]),
        4 => (
            "33",
            vec!["query_trade_dates".into(), u, page(r), page(r), date(r), date(r)],
        ),
        5 => (
            "45",
            vec![
                "query_stock_basic".into(),
                u,
                page(r),
                page(r),
                code(r),
                random_field(r),
            ],
        ),
        _ => (
            "15",
            vec![
                "query_adjust_factor".into(),
                u,
                page(r),
                page(r),
                code(r),
                date(r),
                date(r),
            ],
        ),
    };
    (MsgType::new(t.as_bytes().try_into().unwrap()).unwrap(), fields)
}

fn random_frame(r: &mut Rng) -> (MsgType, Vec<String>) {
    if r.below(2) == 0 {
        return template(r);
    }
    let t = MsgType::new(pick(r, &TYPES).as_bytes().try_into().unwrap()).unwrap();
    let n = r.below(13) as usize;
    let mut fields = vec![pick(r, &METHODS).to_owned()];
    for _ in 0..n {
        fields.push(random_field(r));
    }
    (t, fields)
}

#[test]
fn the_handler_answers_every_random_request_with_a_valid_frame() {
    let emu = common::start(80);
    let mut r = Rng::new(99);
    let limits = Limits::default();
    let mut successes = 0;
    let mut codes = std::collections::BTreeSet::new();
    for _ in 0..3_000 {
        let (t, fields) = random_frame(&mut r);
        let frame = Frame {
            version: CLIENT_VERSION.into(),
            msg_type: t,
            body: fields.join("\x01"),
        };
        let answer = answer_query(emu.market(), &frame, Publication::everything());
        let bytes = answer.encode();
        let (decoded, used) = decode_response(&bytes, &limits).unwrap().unwrap();
        assert_eq!(used, bytes.len());
        assert_eq!(decoded.body, answer.body);
        let code = answer.body.split('\x01').next().unwrap().to_owned();
        if code == "0" {
            successes += 1;
        }
        codes.insert(code);
    }
    assert!(successes > 100, "{successes}");
    for c in ["10004006", "10004011", "10004012", "10004013", "10004020"] {
        assert!(codes.contains(c), "{c} never answered: {codes:?}");
    }
}

#[test]
fn the_server_survives_random_requests_and_junk() {
    let emu = common::start(80);
    let mut r = Rng::new(7);
    let mut c = Raw::connect(&emu);
    c.login();
    for _ in 0..500 {
        let (t, fields) = random_frame(&mut r);
        let refs: Vec<&str> = fields.iter().map(String::as_str).collect();
        c.send_bytes(&encode_request(CLIENT_VERSION, t, &refs));
        let (f, _) = c.read_frame();
        if t == MsgType::LOGOUT && f.msg_type.as_str() == "03" {
            c.login();
        }
    }
    // Junk: each gets an error frame and a close; the server keeps accepting.
    for junk in [
        &b"\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\x10\x11\x12\x13\x14\x15\n"[..],
        b"00.9.40\x0195\x010000000005abcde\x01123\n",
        b"00.9.40\x0195\x01000000000xabcde\x01123\n",
    ] {
        let mut j = Raw::connect(&emu);
        j.send_bytes(junk);
        let (f, _) = j.read_frame();
        assert_eq!(f.msg_type, MsgType::ERROR);
    }
    // An endless header-less stream is cut off at the frame limit.
    let mut big = Raw::connect(&emu);
    let blob = vec![b'a'; 200_000];
    let _ = std::io::Write::write_all(&mut big.stream, &blob);
    let (f, _) = big.read_frame();
    assert_eq!(f.msg_type, MsgType::ERROR);
    let mut fresh = Raw::connect(&emu);
    fresh.login();
}
