//! Session limits, blacklisting, the control port and the binary.

mod common;

use std::io::{BufRead, BufReader};
use std::process::Command;
use std::time::{Duration, Instant};

use baostock::client::{ClientError, ErrorClass, Pool};
use baostock::Request;
use baostock_emulator::{Emulator, EmulatorConfig, Kind, LatencyConfig, SessionConfig};
use common::{d, etf, Raw};
use serde_json::Value;

fn login_code(c: &mut Raw) -> String {
    let (f, _) = c.request(&common::login());
    f.body.split('\x01').next().unwrap().to_owned()
}

fn logout(c: &mut Raw) {
    let (f, _) = c.request(&common::logout());
    assert_eq!(f.msg_type.as_str(), "03");
}

/// A query for any session: the ETF bars of a trading day.
fn day_request() -> Request {
    etf("2024-01-02")
}

/// An emulator allowing two sessions an address (beyond them blacklisting it for
/// `blacklist_for`), two sessions logged in to it and a third connection.
fn at_the_session_limit(blacklist_for: Option<Duration>) -> (Emulator, Raw, Raw, Raw) {
    let emu = Emulator::start(EmulatorConfig {
        sessions: SessionConfig {
            max_per_ip: Some(2),
            blacklist_for,
            daily_limit: None,
        },
        ..common::config(60)
    })
    .unwrap();
    let mut a = Raw::connect(&emu);
    let mut b = Raw::connect(&emu);
    let c = Raw::connect(&emu);
    assert_eq!(login_code(&mut a), "0");
    assert_eq!(login_code(&mut b), "0");
    (emu, a, b, c)
}

#[test]
fn logins_beyond_the_limit_are_refused() {
    let (emu, mut a, _b, mut c) = at_the_session_limit(None);
    assert_eq!(login_code(&mut c), "10001005");
    // A refused session cannot query.
    assert_eq!(c.request(&day_request()).0.body.split('\x01').next(), Some("10001001"));
    logout(&mut a);
    assert_eq!(login_code(&mut c), "0");
    let k = emu.counters();
    assert_eq!(
        (k.sessions_total, k.sessions_active, k.peak_sessions, k.logins_refused),
        (3, 2, 2, 1)
    );
    // The Rust client does not retry the limit: retrying logins is what gets an address
    // blacklisted.
    let e = ClientError::Server(baostock::ServerError {
        code: "10001005".into(),
        message: String::new(),
    });
    assert_eq!(e.class(), ErrorClass::Permanent);
}

#[test]
fn blacklisting_blocks_the_address_for_the_period() {
    let (emu, mut a, mut b, mut c) = at_the_session_limit(Some(Duration::from_secs(3600)));
    assert_eq!(login_code(&mut c), "10001011");
    // Every request from the address is refused now, even on sessions logged in before.
    assert_eq!(a.request(&day_request()).0.body.split('\x01').next(), Some("10001011"));
    let cfg = common::client_cfg(&emu);
    common::rt().block_on(async {
        let pool = Pool::new(cfg.clone());
        let e = pool.request(&day_request()).await.unwrap_err();
        assert_eq!(e.class(), ErrorClass::Blacklist, "{e}");
        assert!(pool.is_blacklisted());
        assert_eq!(pool.retries(), 0, "a blacklist is never retried");
    });
    logout(&mut a);
    logout(&mut b);
    emu.controls().clear_blacklist();
    assert_eq!(login_code(&mut c), "0");
    assert!(c.request(&day_request()).0.msg_type.as_str() == "9B");

    // A short period lifts by itself.
    emu.controls().set_sessions(SessionConfig {
        max_per_ip: Some(1),
        blacklist_for: Some(Duration::from_millis(200)),
        daily_limit: None,
    });
    let mut e = Raw::connect(&emu);
    assert_eq!(login_code(&mut e), "10001011");
    let started = Instant::now();
    logout(&mut c);
    loop {
        let code = login_code(&mut e);
        if code == "0" {
            break;
        }
        assert_eq!(code, "10001011");
        assert!(started.elapsed() < Duration::from_millis(200) + Duration::from_secs(1));
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn the_control_port_drives_the_emulator_from_outside() {
    let (emu, mut io) = common::start_controlled(common::config(100));
    let mut c = Raw::connect(&emu);
    c.login();
    c.request(&day_request());
    let v = io.command("counters");
    assert_eq!(v["ok"], true);
    assert_eq!(v["counters"]["requests_by_type"]["9A"], 1);
    assert_eq!(v["counters"]["total_requests"], 2);
    assert_eq!(v["counters"]["sessions_active"], 1);
    assert_eq!(io.command("reset-counters")["ok"], true);
    assert_eq!(emu.counters().total_requests(), 0);

    assert_eq!(io.command("latency realistic")["ok"], true);
    assert_eq!(emu.controls().latency(), LatencyConfig::realistic());
    assert_eq!(
        io.command("latency base_ms=5 jitter_ms=1 per_byte_ns=2 type.35=9")["ok"],
        true
    );
    let l = emu.controls().latency();
    assert_eq!(
        (l.base, l.per_byte_ns, l.per_type["35"]),
        (Duration::from_millis(5), 2, Duration::from_millis(9))
    );
    assert_eq!(io.command("latency fast")["ok"], true);

    assert_eq!(
        io.command("faults reset=1000 script=98:3:fin idle_ms=60000")["ok"],
        true
    );
    let f = emu.controls().faults();
    assert_eq!(f.rates.len(), 1);
    assert_eq!(f.script[0].nth, 3);
    assert_eq!(f.idle_timeout, Some(Duration::from_secs(60)));
    assert_eq!(io.command("faults none")["ok"], true);
    assert!(emu.controls().faults().rates.is_empty());

    assert_eq!(io.command("override sh.600000 2024-01-02 close 77.7700")["ok"], true);
    let row = emu
        .market()
        .daily_astock(d("2024-01-02"))
        .into_iter()
        .find(|r| r[1] == "sh.600000")
        .unwrap();
    assert_eq!(row[5], "77.7700");
    assert_eq!(io.command("clear-overrides")["ok"], true);
    assert_eq!(io.command("override sh.600000 2024-01-02 bogus 1")["ok"], false);

    assert_eq!(io.command("clock 2024-01-02T16:00:00")["ok"], true);
    assert_eq!(io.command("publish 15:00")["ok"], true);
    assert!(emu.controls().is_published(Kind::Daily, d("2024-01-02")));
    assert_eq!(io.command("publish 17:30")["ok"], true);
    assert!(!emu.controls().is_published(Kind::Daily, d("2024-01-02")));
    assert!(emu.controls().is_published(Kind::Daily, d("2023-12-29")));
    let s = io.command("status");
    assert_eq!(s["now"], "2024-01-02T16:00:00");
    assert_eq!(s["publish_time"], "17:30:00");
    assert_eq!(io.command("publish none")["ok"], true);
    assert!(emu.controls().is_published(Kind::Daily, d("2024-01-02")));
    assert_eq!(io.command("clock none")["ok"], true);

    assert_eq!(io.command("sessions max=3 blacklist_ms=1000")["ok"], true);
    assert_eq!(
        emu.controls().sessions(),
        SessionConfig {
            max_per_ip: Some(3),
            blacklist_for: Some(Duration::from_secs(1)),
            daily_limit: None,
        }
    );
    assert_eq!(io.command("clear-blacklist")["ok"], true);
    let bad = io.command("fly me to the moon");
    assert_eq!(bad["ok"], false);
    assert!(bad["error"].as_str().unwrap().contains("unknown command"));
}

#[test]
fn the_control_port_sets_the_start_of_all_market_history() {
    // 9A of 2024 days must have rows: no ETF floor.
    let (emu, mut io) = common::start_controlled(common::config_always(100));
    let mut c = Raw::connect(&emu);
    c.login();
    let data = |c: &mut Raw, r: &Request| {
        let (f, _) = c.request(r);
        assert_eq!(f.msg_type.as_str(), "9B", "{}", f.body);
        f.fields()[4].to_owned()
    };
    assert_eq!(io.command("status")["all_market_start"], Value::Null);
    assert_ne!(data(&mut c, &etf("2024-01-02")), "");

    assert_eq!(
        io.command("all-market-from 2024-01-03"),
        serde_json::json!({"ok": true})
    );
    assert_eq!(emu.controls().all_market_start(), Some(d("2024-01-03")));
    assert_eq!(io.command("status")["all_market_start"], "2024-01-03");
    assert_eq!(data(&mut c, &etf("2024-01-02")), "", "before the start: no rows");
    assert_ne!(data(&mut c, &etf("2024-01-03")), "");

    for bad in [
        "all-market-from",
        "all-market-from 2024/01/03",
        "all-market-from 2024-01-03 x",
    ] {
        io.assert_refused(bad);
    }
    assert_eq!(
        emu.controls().all_market_start(),
        Some(d("2024-01-03")),
        "errors change nothing"
    );

    assert_eq!(io.command("all-market-from none")["ok"], true);
    assert_eq!(emu.controls().all_market_start(), None);
    assert_eq!(io.command("status")["all_market_start"], Value::Null);
    assert_ne!(data(&mut c, &etf("2024-01-02")), "");
}

#[test]
fn the_binary_documents_every_flag_and_serves() {
    let exe = env!("CARGO_BIN_EXE_baostock-emulator");
    let help = Command::new(exe).arg("--help").output().unwrap();
    assert!(help.status.success());
    let text = String::from_utf8(help.stdout).unwrap();
    for flag in [
        "--listen",
        "--control",
        "--replay",
        "--seed",
        "--codes",
        "--start",
        "--end",
        "--lazy",
        "--publication",
        "--publish-time",
        "--clock",
        "--clock-running",
        "--all-market-from",
        "--profile",
        "--latency-base-ms",
        "--latency-jitter-ms",
        "--latency-per-byte-ns",
        "--latency-type",
        "--max-sessions",
        "--blacklist-secs",
        "--daily-limit",
        "--fault",
        "--fault-script",
        "--idle-timeout",
        "--error-code",
        "--drip-chunk",
        "--drip-interval-ms",
        "--help",
    ] {
        assert!(text.contains(flag), "--help lacks {flag}");
    }
    let bad = Command::new(exe).arg("--bogus").output().unwrap();
    assert_eq!(bad.status.code(), Some(2));

    let mut child = common::spawn_binary(&[
        "--profile",
        "fast",
        "--all-market-from",
        "2024-01-03",
        "--fault-script",
        "98:1:error-frame",
        "--error-code",
        "10002007",
    ]);
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    out.read_line(&mut first).unwrap();
    let addr = first.trim().rsplit(' ').next().unwrap().to_owned();
    let mut s = Raw::connect_to(&addr);
    let mut send = |r: &Request| s.request(r).0;
    assert_eq!(send(&common::login()).msg_type.as_str(), "01");
    let f = send(&common::astock("2024-01-02"));
    assert_eq!(f.body, "10002007\x01模拟故障", "the scripted fault from the flags");
    let f = send(&common::astock("2024-01-02"));
    assert_eq!(f.msg_type.as_str(), "99");
    assert_eq!(f.fields()[4], "", "before --all-market-from: no rows");
    let f = send(&common::astock("2024-01-03"));
    assert_eq!(f.msg_type.as_str(), "99");
    assert_ne!(f.fields()[4], "", "from --all-market-from on: rows");
    child.kill().unwrap();
    child.wait().unwrap();
}
