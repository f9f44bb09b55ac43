//! The per-IP daily request limit (blacklisting beyond it) and the running clock.

mod common;

use std::io::{BufRead, BufReader};
use std::net::IpAddr;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use baostock::frame::Frame;
use baostock_emulator::{Clock, Emulator, EmulatorConfig, Kind, SessionConfig};
use chrono::{NaiveDate, NaiveDateTime};
use common::{d, etf, logout, Control, Raw};
use serde_json::Value;

fn at(s: &str) -> NaiveDateTime {
    baostock_emulator::control_port::parse_datetime(s).unwrap()
}

fn code(f: &Frame) -> &str {
    f.body.split('\x01').next().unwrap()
}

fn localhost() -> IpAddr {
    "127.0.0.1".parse().unwrap()
}

fn limited(limit: u64, clock: &str) -> Emulator {
    Emulator::start(EmulatorConfig {
        sessions: SessionConfig {
            daily_limit: Some(limit),
            ..SessionConfig::default()
        },
        clock: Some(at(clock)),
        // The clock's own day and ETF bars of 2024 have rows.
        ..common::with_control_port(common::config_always(40))
    })
    .unwrap()
}

#[test]
fn the_request_beyond_the_daily_limit_and_every_later_one_are_blacklisted() {
    let emu = limited(5, "2024-01-02T10:00:00");
    let mut io = Control::connect(&emu);
    assert_eq!(io.command("status")["daily_limit"], 5);
    let mut a = Raw::connect(&emu);
    // Under the limit every answer succeeds: a login and four queries.
    a.login();
    for i in 2..=5 {
        let (f, _) = a.request(&etf("2024-01-02"));
        assert_eq!(f.msg_type.as_str(), "9B", "request {i}: {}", f.body);
        assert_ne!(f.fields()[4], "", "request {i} has rows");
    }
    assert_eq!(emu.controls().requests_today()[&localhost()], 5);
    assert_eq!(io.command("status")["requests_today"]["127.0.0.1"], 5);

    // The sixth is refused, and so is every later one, of every type, on any connection.
    let (f, _) = a.request(&etf("2024-01-02"));
    assert_eq!((f.msg_type.as_str(), code(&f)), ("04", "10001011"), "{}", f.body);
    let (f, _) = a.request(&etf("2024-01-03"));
    assert_eq!(code(&f), "10001011");
    let mut b = Raw::connect(&emu);
    assert_eq!(code(&b.request(&common::login()).0), "10001011");
    assert_eq!(code(&a.request(&logout()).0), "10001011");

    // The address is blacklisted, not merely over the count: lifting the limit does not help.
    assert_eq!(io.command("sessions daily_limit=none")["ok"], true);
    assert_eq!(emu.controls().sessions().daily_limit, None);
    assert_eq!(code(&a.request(&etf("2024-01-02")).0), "10001011");

    // clear-blacklist lifts it (and forgets the day's count).
    assert_eq!(io.command("sessions daily_limit=5")["ok"], true);
    assert_eq!(emu.controls().sessions().daily_limit, Some(5));
    assert_eq!(io.command("clear-blacklist")["ok"], true);
    assert!(emu.controls().requests_today().is_empty());
    b.login();
    for _ in 0..4 {
        assert_eq!(b.request(&etf("2024-01-02")).0.msg_type.as_str(), "9B");
    }
    assert_eq!(code(&b.request(&etf("2024-01-02")).0), "10001011");
    assert!(io.command("sessions daily_limit=x")["ok"] == false);
}

#[test]
fn the_daily_count_restarts_on_a_new_emulator_day() {
    let emu = limited(3, "2024-01-02T23:00:00");
    let mut a = Raw::connect(&emu);
    a.login();
    assert_eq!(a.request(&etf("2024-01-02")).0.msg_type.as_str(), "9B");
    assert_eq!(a.request(&etf("2024-01-02")).0.msg_type.as_str(), "9B");
    assert_eq!(emu.controls().requests_today()[&localhost()], 3);
    // The next day: the count starts again from zero.
    emu.controls().set_clock(Some(at("2024-01-03T00:00:01")));
    assert!(emu.controls().requests_today().is_empty());
    for _ in 0..3 {
        let (f, _) = a.request(&etf("2024-01-03"));
        assert_eq!(f.msg_type.as_str(), "9B", "{}", f.body);
    }
    assert_eq!(emu.controls().requests_today()[&localhost()], 3);
    assert_eq!(code(&a.request(&etf("2024-01-03")).0), "10001011");
    // The blacklisting (24 h without blacklist_for) outlasts the day change.
    emu.controls().set_clock(Some(at("2024-01-04T09:00:00")));
    assert_eq!(code(&a.request(&etf("2024-01-03")).0), "10001011");
    assert_eq!(emu.controls().requests_today()[&localhost()], 1);
}

#[test]
fn a_blacklist_period_set_for_sessions_also_applies_to_the_daily_limit() {
    let emu = Emulator::start(EmulatorConfig {
        sessions: SessionConfig {
            daily_limit: Some(2),
            blacklist_for: Some(Duration::from_millis(300)),
            ..SessionConfig::default()
        },
        clock: Some(at("2024-01-02T10:00:00")),
        ..common::config(40)
    })
    .unwrap();
    let mut a = Raw::connect(&emu);
    a.login();
    assert_eq!(a.request(&etf("2024-01-02")).0.msg_type.as_str(), "9B");
    assert_eq!(code(&a.request(&etf("2024-01-02")).0), "10001011");
    // The blacklisting was made before this instant and lasts 300 ms.
    let refused = Instant::now();
    let period_over = |since: Instant| {
        std::thread::sleep((since + Duration::from_millis(350)).saturating_duration_since(Instant::now()));
    };
    // The period ends, but the day's count is still over the limit: refused again at once.
    period_over(refused);
    assert_eq!(code(&a.request(&etf("2024-01-02")).0), "10001011");
    let refused = Instant::now();
    // A new day, once that second period is over: served again.
    emu.controls().set_clock(Some(at("2024-01-03T10:00:00")));
    period_over(refused);
    let (f, _) = a.request(&etf("2024-01-02"));
    assert_eq!(f.msg_type.as_str(), "9B", "{}", f.body);
}

#[test]
fn a_frozen_clock_stays_and_a_running_clock_crosses_midnight() {
    // Under `always` a day is published from its midnight, and ETF bars of 2024 exist.
    let (emu, mut io) = common::start_controlled(common::config_always(40));
    assert_eq!(io.command("status")["clock"], "real");

    // Frozen (the default meaning of `clock T`): time does not move.
    assert_eq!(io.command("clock 2024-01-02T23:59:59.5")["ok"], true);
    assert!(matches!(emu.controls().clock(), Clock::Frozen(_)));
    std::thread::sleep(Duration::from_millis(700));
    assert_eq!(emu.controls().now(), at("2024-01-02T23:59:59.5"));
    assert_eq!(io.command("status")["clock"], "frozen");

    // Running: set, then it advances with real time.
    let mut c = Raw::connect(&emu);
    c.login();
    let set = at("2024-01-02T23:59:59.5");
    let before = Instant::now();
    assert_eq!(io.command("clock 2024-01-02T23:59:59.5 running")["ok"], true);
    let first = emu.controls().now();
    let elapsed = chrono::Duration::from_std(before.elapsed()).unwrap();
    assert!(first >= set && first <= set + elapsed, "{first} vs {set} + {elapsed}");
    assert_eq!(io.command("status")["clock"], "running");
    // 2024-01-03 is still the future until midnight: no rows for it.
    let (f, _) = c.request(&etf("2024-01-03"));
    if emu.controls().now().date() == d("2024-01-02") {
        assert_eq!(f.fields()[4], "", "rows of a day still in the future");
    }

    let deadline = Instant::now() + Duration::from_secs(10);
    while emu.controls().now().date() != d("2024-01-03") {
        assert!(Instant::now() < deadline, "the clock did not reach the next day");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(before.elapsed() >= Duration::from_millis(500), "midnight came early");
    // Publication and the login reply's time follow it.
    assert!(emu.controls().is_published(Kind::Daily, d("2024-01-03")));
    assert!(!emu.controls().is_published(Kind::Daily, d("2024-01-04")));
    let (f, _) = c.request(&etf("2024-01-03"));
    assert_ne!(f.fields()[4], "", "2024-01-03 has rows once it has come");
    let mut fresh = Raw::connect(&emu);
    let (f, _) = fresh.request(&common::login());
    assert_eq!(f.msg_type.as_str(), "01");
    let time = f.fields()[4].to_owned();
    assert_eq!(time.len(), 17);
    assert!(time.starts_with("20240103000"), "{time}");

    assert_eq!(io.command("clock 2024-01-02T10:00:00 running x")["ok"], false);
    assert_eq!(io.command("clock none")["ok"], true);
    assert_eq!(emu.controls().clock(), Clock::Real);
}

#[test]
fn a_configured_clock_can_run_from_the_start() {
    let t = at("2024-01-02T15:00:00");
    let emu = Emulator::start(EmulatorConfig {
        clock: Some(t),
        clock_running: true,
        ..common::config(40)
    })
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while emu.controls().now() <= t + chrono::Duration::milliseconds(100) {
        assert!(Instant::now() < deadline, "the clock does not run");
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(emu.controls().now() < t + chrono::Duration::seconds(60));
}

#[test]
fn the_binary_takes_a_daily_limit_and_a_running_clock() {
    let exe = env!("CARGO_BIN_EXE_baostock-emulator");
    let help = String::from_utf8(Command::new(exe).arg("--help").output().unwrap().stdout).unwrap();
    assert!(help.contains("--daily-limit") && help.contains("--clock-running"));
    let bad = Command::new(exe).args(["--clock-running"]).output().unwrap();
    assert_eq!(bad.status.code(), Some(2), "--clock-running without --clock");

    let mut child = Command::new(exe)
        .args(["--listen", "127.0.0.1:0", "--control", "127.0.0.1:0", "--codes", "40"])
        .args(["--end", "2025-06-30", "--lazy", "--daily-limit", "2"])
        .args(["--clock", "2024-01-02T12:00:00", "--clock-running"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut addr_of = || {
        let mut line = String::new();
        out.read_line(&mut line).unwrap();
        line.trim()
            .rsplit(' ')
            .next()
            .unwrap()
            .parse::<std::net::SocketAddr>()
            .unwrap()
    };
    let addr = addr_of();
    let control = addr_of();
    let mut io = Control::connect_to(control);
    let s = io.command("status");
    assert_eq!(
        (s["daily_limit"].clone(), s["clock"].clone()),
        (Value::from(2), Value::from("running"))
    );
    let start: NaiveDate = d("2024-01-02");
    assert!(s["now"]
        .as_str()
        .unwrap()
        .starts_with(&start.format("%Y-%m-%dT12:").to_string()));

    let mut raw = Raw::connect_to(addr);
    raw.login();
    assert_eq!(raw.request(&etf("2024-01-02")).0.msg_type.as_str(), "9B");
    assert_eq!(code(&raw.request(&etf("2024-01-02")).0), "10001011");
    child.kill().unwrap();
    child.wait().unwrap();
}
