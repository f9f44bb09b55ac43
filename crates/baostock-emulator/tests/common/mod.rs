//! Helpers shared by the emulator's integration tests.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use baostock::client::Config;
use baostock::frame::{decode_response, Frame, CLIENT_VERSION};
use baostock::{Limits, Request};
use baostock_emulator::{Emulator, EmulatorConfig, Schedule};
use chrono::NaiveDate;

/// The fixed last day of every test market, so results never depend on today's date.
pub fn end_date() -> NaiveDate {
    NaiveDate::from_ymd_opt(2025, 6, 30).unwrap()
}

pub fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

/// A test configuration: `codes` codes, history to `end_date()`.
pub fn config(codes: usize) -> EmulatorConfig {
    EmulatorConfig {
        codes,
        end: Some(end_date()),
        ..EmulatorConfig::default()
    }
}

pub fn start(codes: usize) -> Emulator {
    Emulator::start(config(codes)).expect("emulator starts")
}

/// As [`config`], under the `always` publication: every day from its start (up to the
/// clock's date), no history floors, so ETF bars before 2026, minute bars before 2020 and the
/// clock's own day have rows. For tests that compare answers with the (ungated) library.
pub fn config_always(codes: usize) -> EmulatorConfig {
    EmulatorConfig {
        publication: Schedule::always(),
        ..config(codes)
    }
}

pub fn start_always(codes: usize) -> Emulator {
    Emulator::start(config_always(codes)).expect("emulator starts")
}

/// The captures directory: $BAOSTOCK_CAPTURES or ../../../shared/baostock-captures.
pub fn captures_dir() -> PathBuf {
    match std::env::var_os("BAOSTOCK_CAPTURES") {
        Some(p) => PathBuf::from(p),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/baostock-captures"),
    }
}

/// A Rust client configuration aimed at an emulator, with short timeouts and quick retries.
pub fn client_config(emu: &Emulator) -> Arc<Config> {
    Arc::new(client_cfg(emu))
}

pub fn client_cfg(emu: &Emulator) -> Config {
    Config {
        host: emu.addr().ip().to_string(),
        port: emu.addr().port(),
        connect_timeout: Duration::from_secs(5),
        read_timeout: Duration::from_secs(5),
        request_timeout: Duration::from_secs(20),
        retries: 3,
        backoff_base: Duration::from_millis(10),
        backoff_max: Duration::from_millis(50),
        ..Config::default()
    }
}

/// A blocking raw connection speaking whole frames.
pub struct Raw {
    pub stream: TcpStream,
    buf: Vec<u8>,
}

impl Raw {
    pub fn connect(emu: &Emulator) -> Raw {
        let stream = TcpStream::connect(emu.addr()).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        Raw::from_stream(stream)
    }

    pub fn from_stream(stream: TcpStream) -> Raw {
        Raw {
            stream,
            buf: Vec::new(),
        }
    }

    pub fn send_bytes(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).unwrap();
    }

    /// Reads one whole response frame; returns the frame and its bytes.
    pub fn read_frame(&mut self) -> (Frame, Vec<u8>) {
        let mut chunk = [0u8; 65536];
        loop {
            if let Some((f, n)) = decode_response(&self.buf, &Limits::default()).unwrap() {
                let bytes: Vec<u8> = self.buf.drain(..n).collect();
                return (f, bytes);
            }
            let n = self.stream.read(&mut chunk).unwrap();
            assert!(n > 0, "connection closed before a whole frame");
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    pub fn request(&mut self, req: &Request) -> (Frame, Vec<u8>) {
        self.send_bytes(&req.encode(CLIENT_VERSION));
        self.read_frame()
    }

    pub fn login(&mut self) {
        let (f, _) = self.request(&login());
        assert_eq!(f.msg_type.as_str(), "01", "{}", f.body);
    }
}

pub fn login() -> Request {
    Request::Login {
        user: "anonymous".into(),
        password: "123456".into(),
        options: "0".into(),
    }
}

/// A runtime for client tests.
pub fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}
