//! Timings and memory of the emulator's hot paths, for the README:
//! `cargo run --release -p baostock-emulator --example bench`.
//!
//! Measures, on the full default market: the build, generating every close path, a whole 98
//! answer (rows, JSON, zlib frame) for dates across the history, a 10-year daily 95 answer for
//! single codes, and a 98 round trip over TCP. Prints the figures; asserts nothing.

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use baostock::frame::{decode_request, decode_response};
use baostock::value::{AdjustFlag, Frequency, DAILY_FIELDS};
use baostock::{HistoryKQuery, Limits, Page, Request};
use baostock_emulator::handler::answer_query;
use baostock_emulator::{Emulator, EmulatorConfig, Market, MarketConfig, Publication, SecType};
use chrono::NaiveDate;

fn rss_mb() -> (f64, f64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kb = |key: &str| {
        status
            .lines()
            .find(|l| l.starts_with(key))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|n| n.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (kb("VmRSS:") / 1024.0, kb("VmHWM:") / 1024.0)
}

fn frame(req: &Request) -> baostock::frame::Frame {
    let bytes = req.encode("00.9.40");
    decode_request(&bytes, &Limits::default())
        .ok()
        .flatten()
        .map(|(f, _)| f)
        .expect("own request decodes")
}

fn stats(name: &str, mut v: Vec<Duration>) {
    v.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "{name:<44} n={:<4} min {:>7.2} ms  median {:>7.2} ms  p95 {:>7.2} ms  max {:>7.2} ms",
        v.len(),
        ms(v[0]),
        ms(v[v.len() / 2]),
        ms(v[v.len() * 95 / 100]),
        ms(v[v.len() - 1])
    );
}

fn main() {
    let end = NaiveDate::from_ymd_opt(2025, 12, 31).unwrap_or_default();
    println!("baostock-emulator bench (release build expected)\n");
    let t = Instant::now();
    let m = Market::new(MarketConfig {
        end: Some(end),
        ..MarketConfig::default()
    });
    println!(
        "build default market: {} codes, {} trading days: {:.1} ms, RSS {:.0} MB",
        m.securities().len(),
        m.trade_dates().len(),
        t.elapsed().as_secs_f64() * 1000.0,
        rss_mb().0
    );
    let t = Instant::now();
    m.warm();
    let (rss, peak) = rss_mb();
    println!(
        "generate every close path: {:.1} ms, RSS {rss:.0} MB (peak {peak:.0} MB)\n",
        t.elapsed().as_secs_f64() * 1000.0
    );

    let days = m.trade_dates();
    let pub_all = Publication::everything();
    let mut t98 = Vec::new();
    let mut rows98 = 0;
    let mut bytes98 = 0;
    for i in (0..days.len()).step_by(days.len() / 60) {
        let req = Request::DailyAStock {
            user: "anonymous".into(),
            date: days[i],
        };
        let f = frame(&req);
        let t = Instant::now();
        let a = answer_query(&m, &f, pub_all);
        let bytes = a.encode();
        t98.push(t.elapsed());
        rows98 = rows98.max(m.daily_astock(days[i]).len());
        bytes98 = bytes98.max(bytes.len());
    }
    stats("98 answer (rows + JSON + zlib frame)", t98);
    println!("  largest 98: {rows98} rows, {bytes98} bytes on the wire");

    let codes: Vec<String> = m
        .securities()
        .iter()
        .filter(|s| s.sec_type == SecType::Stock && s.ipo < NaiveDate::from_ymd_opt(2014, 1, 1).unwrap_or_default())
        .step_by(50)
        .take(60)
        .map(|s| s.code.clone())
        .collect();
    for adjust in [AdjustFlag::None, AdjustFlag::Forward] {
        let mut t95 = Vec::new();
        let mut rows = 0;
        for code in &codes {
            let req = Request::HistoryK {
                user: "anonymous".into(),
                page: Page::first(10_000),
                query: HistoryKQuery {
                    code: code.clone(),
                    fields: DAILY_FIELDS.into(),
                    start: NaiveDate::from_ymd_opt(2015, 1, 1).unwrap_or_default(),
                    end: NaiveDate::from_ymd_opt(2024, 12, 31).unwrap_or_default(),
                    frequency: Frequency::Daily,
                    adjust,
                },
            };
            let f = frame(&req);
            let t = Instant::now();
            let a = answer_query(&m, &f, pub_all);
            let _ = a.encode();
            t95.push(t.elapsed());
            rows = rows.max(a.body.matches("],[").count() + 1);
        }
        stats(
            &format!("95 10-year daily, adjustflag {} (one code)", adjust.code()),
            t95,
        );
        println!("  rows per answer: up to {rows}");
    }

    // Over TCP, in-process server, fast profile.
    let emu = Emulator::start(EmulatorConfig {
        end: Some(end),
        warm: true,
        ..EmulatorConfig::default()
    })
    .expect("emulator starts");
    emu.market().warm();
    let mut s = std::net::TcpStream::connect(emu.addr()).expect("connects");
    let mut roundtrip = |req: &Request| {
        s.write_all(&req.encode("00.9.40")).expect("writes");
        let mut buf = Vec::new();
        let mut chunk = vec![0u8; 1 << 16];
        loop {
            if let Ok(Some((_, n))) = decode_response(&buf, &Limits::default()) {
                return n;
            }
            let n = s.read(&mut chunk).expect("reads");
            assert!(n > 0, "closed");
            buf.extend_from_slice(&chunk[..n]);
        }
    };
    roundtrip(&Request::Login {
        user: "anonymous".into(),
        password: "123456".into(),
        options: "0".into(),
    });
    let mut tcp = Vec::new();
    for i in (days.len() - 250..days.len()).step_by(10) {
        let t = Instant::now();
        roundtrip(&Request::DailyAStock {
            user: "anonymous".into(),
            date: days[i],
        });
        tcp.push(t.elapsed());
    }
    stats("98 round trip over TCP (client decode incl.)", tcp);
    let (rss, peak) = rss_mb();
    println!("\nprocess RSS now {rss:.0} MB, peak {peak:.0} MB (two full markets were built)");
}
