//! Fault injection: each mode is seen by the Rust client as the right kind of failure, the
//! transient ones are recovered by a retry, random faults follow the seed, and every fault is
//! counted.

mod common;

use std::io::Read;
use std::time::{Duration, Instant};

use baostock::client::{ClientError, ErrorClass, Pool, Session};
use baostock::reply::Reply;
use baostock::value::{AdjustFlag, Frequency};
use baostock::{DecodeError, Page, Request};
use baostock_emulator::{Emulator, EmulatorConfig, FaultConfig, FaultMode, ScriptedFault};
use common::{d, Raw};

/// The query the faults are injected into: two months of daily bars.
fn k() -> Request {
    common::history_per_page(
        2000,
        "sh.600000",
        "date,code,close,volume",
        "2024-01-01",
        "2024-02-29",
        Frequency::Daily,
        AdjustFlag::None,
    )
}

fn scripted(t: &str, nth: u64, mode: FaultMode) -> FaultConfig {
    FaultConfig {
        script: vec![ScriptedFault {
            msg_type: t.into(),
            nth,
            mode,
        }],
        drip_chunk: 50,
        drip_interval: Duration::from_millis(2),
        ..FaultConfig::default()
    }
}

fn emulator(faults: FaultConfig) -> Emulator {
    Emulator::start(EmulatorConfig {
        faults,
        ..common::config(100)
    })
    .unwrap()
}

fn rows(reply: &Reply) -> usize {
    match reply {
        Reply::Table(t) => t.len(),
        other => panic!("not a table: {other:?}"),
    }
}

/// Asserts the error a mode must produce.
fn check_error(mode: FaultMode, e: &ClientError) {
    let ok = match mode {
        FaultMode::Reset => matches!(e, ClientError::Io(_) | ClientError::Closed { .. }),
        FaultMode::Fin => matches!(e, ClientError::Closed { mid_frame: true }),
        FaultMode::Silence => matches!(e, ClientError::Timeout { what: "read", .. }),
        FaultMode::Truncated => matches!(e, ClientError::Decode(_)),
        FaultMode::CorruptZlib => matches!(e, ClientError::Decode(DecodeError::CorruptZlib)),
        FaultMode::ErrorFrame => e.server_code() == Some("10001001"),
        FaultMode::SlowDrip | FaultMode::Empty => false,
    };
    assert!(ok, "{mode:?}: unexpected error {e:?}");
    assert_eq!(e.class(), ErrorClass::Transient, "{mode:?}: {e}");
}

#[test]
fn each_fault_mode_is_seen_and_recovered_from() {
    let rt = common::rt();
    for mode in FaultMode::ALL {
        let emu = emulator(scripted("95", 1, mode));
        let expected = emu
            .market()
            .history(
                "sh.600000",
                "date,code,close,volume",
                d("2024-01-01"),
                d("2024-02-29"),
                Frequency::Daily,
                AdjustFlag::None,
            )
            .unwrap()
            .len();
        let mut cfg = common::client_cfg(&emu);
        cfg.read_timeout = Duration::from_secs(1);
        let limit = cfg.read_timeout + Duration::from_secs(1);
        let cfg = std::sync::Arc::new(cfg);
        rt.block_on(async {
            let mut s = Session::connect(cfg.clone()).await.unwrap();
            let started = Instant::now();
            let first = s.request(&k()).await;
            assert!(started.elapsed() <= limit, "{mode:?} took {:?}", started.elapsed());
            match (mode, first) {
                (FaultMode::SlowDrip, Ok(r)) => assert_eq!(rows(&r), expected),
                // An empty answer is a well-formed answer: the client cannot see a fault.
                (FaultMode::Empty, Ok(r)) => assert_eq!(rows(&r), 0),
                (_, Ok(r)) => panic!("{mode:?}: no fault seen: {r:?}"),
                (_, Err(e)) => check_error(mode, &e),
            }
            // The same session reconnects and gets the full answer.
            let again = s
                .request(&k())
                .await
                .unwrap_or_else(|e| panic!("{mode:?}: retry failed: {e}"));
            assert_eq!(rows(&again), expected, "{mode:?}");
        });
        let c = emu.counters();
        assert_eq!(c.faults_injected, 1, "{mode:?}");
        assert_eq!(c.faults_by_mode.get(mode.name()), Some(&1), "{mode:?}");
        assert_eq!(c.requests("95"), 2);
        // A pool retries on its own.
        emu.reset_counters();
        rt.block_on(async {
            let pool = Pool::new((*cfg).clone());
            let r = pool
                .request(&k())
                .await
                .unwrap_or_else(|e| panic!("{mode:?}: pool failed: {e}"));
            let (want_rows, want) = match mode {
                FaultMode::SlowDrip => (expected, 0),
                FaultMode::Empty => (0, 0),
                _ => (expected, 1),
            };
            assert_eq!(rows(&r), want_rows, "{mode:?}");
            assert_eq!(pool.retries(), want, "{mode:?}");
            pool.close().await;
        });
        emu.shutdown();
    }
}

#[test]
fn corrupting_a_plain_answer_breaks_its_crc() {
    let emu = emulator(scripted("33", 1, FaultMode::CorruptZlib));
    let mut c = Raw::connect(&emu);
    c.login();
    let req = Request::TradeDates {
        user: "anonymous".into(),
        page: Page::first(2000),
        start: d("2024-01-01"),
        end: d("2024-01-31"),
    };
    c.send_bytes(&req.encode("00.9.40"));
    let mut buf = vec![0u8; 4096];
    let mut got = Vec::new();
    while !got.ends_with(b"<![CDATA[]]>\n") {
        let n = c.stream.read(&mut buf).unwrap();
        assert!(n > 0);
        got.extend_from_slice(&buf[..n]);
    }
    let err = baostock::frame::decode_response(&got, &baostock::Limits::default()).unwrap_err();
    assert!(
        matches!(
            err,
            DecodeError::CrcMismatch { .. } | DecodeError::BadLength { .. } | DecodeError::InvalidUtf8
        ),
        "{err:?}"
    );
}

#[test]
fn the_third_98_request_is_the_one_reset() {
    let emu = emulator(scripted("98", 3, FaultMode::Reset));
    let cfg = common::client_config(&emu);
    let req = Request::DailyAStock {
        user: "anonymous".into(),
        date: d("2024-01-02"),
    };
    common::rt().block_on(async {
        let mut s = Session::connect(cfg).await.unwrap();
        assert!(s.request(&req).await.is_ok());
        assert!(s.request(&req).await.is_ok());
        let e = s.request(&req).await.unwrap_err();
        check_error(FaultMode::Reset, &e);
        assert!(s.request(&req).await.is_ok());
    });
    let c = emu.counters();
    assert_eq!((c.requests("98"), c.faults_injected), (4, 1));
    assert_eq!(c.requests("00"), 2, "a fresh login after the reset");
}

/// Which of `n` requests got an error frame, for one seed.
fn random_fault_pattern(seed: u64, n: usize) -> Vec<bool> {
    let mut faults = FaultConfig {
        error_code: "10002007".into(),
        ..FaultConfig::default()
    };
    faults.rates.insert(FaultMode::ErrorFrame, 300_000);
    let emu = Emulator::start(EmulatorConfig {
        seed,
        faults,
        ..common::config(60)
    })
    .unwrap();
    let mut c = Raw::connect(&emu);
    c.login();
    let pattern: Vec<bool> = (0..n).map(|_| c.request(&k()).0.msg_type.as_str() == "04").collect();
    assert_eq!(
        emu.counters().faults_injected,
        pattern.iter().filter(|&&f| f).count() as u64
    );
    pattern
}

#[test]
fn random_faults_follow_the_seed() {
    let a = random_fault_pattern(11, 60);
    let b = random_fault_pattern(11, 60);
    let c = random_fault_pattern(12, 60);
    assert_eq!(a, b);
    assert_ne!(a, c);
    let hits = a.iter().filter(|&&f| f).count();
    assert!((6..=36).contains(&hits), "{hits} of 60 at 30%");
}

#[test]
fn idle_connections_are_dropped() {
    let idle = Duration::from_millis(300);
    let emu = emulator(FaultConfig {
        idle_timeout: Some(idle),
        ..FaultConfig::default()
    });
    let mut c = Raw::connect(&emu);
    c.login();
    let started = Instant::now();
    let mut buf = [0u8; 16];
    let n = c.stream.read(&mut buf).unwrap_or(0);
    assert_eq!(n, 0, "the server closes an idle connection");
    assert!(
        started.elapsed() <= idle + Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(emu.counters().faults_by_mode.get("idle-drop"), Some(&1));
    // The Rust client sees the closed connection and recovers on retry.
    let cfg = common::client_cfg(&emu);
    common::rt().block_on(async {
        let pool = Pool::new(cfg);
        assert!(pool.request(&k()).await.is_ok());
        let deadline = Instant::now() + idle + Duration::from_secs(1);
        while emu.counters().faults_by_mode.get("idle-drop") != Some(&2) {
            assert!(Instant::now() < deadline, "second idle drop not seen");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert!(pool.request(&k()).await.is_ok());
        assert_eq!(pool.retries(), 1);
    });
}

#[test]
fn latency_is_added_to_answers() {
    let emu = common::start(60);
    let mut c = Raw::connect(&emu);
    c.login();
    let mut l = baostock_emulator::LatencyConfig::fast();
    l.per_type.insert("95".into(), Duration::from_millis(250));
    emu.controls().set_latency(l);
    let started = Instant::now();
    c.request(&k());
    assert!(started.elapsed() >= Duration::from_millis(250));
    let r = baostock_emulator::LatencyConfig::realistic();
    assert_eq!(r.delay("35", 0, 0), Duration::from_secs(2));
    assert_eq!(r.delay("98", 1_000_000, 0), Duration::from_millis(180 + 20));
    assert!(r.delay("00", 0, u64::MAX) <= Duration::from_millis(220));
}
