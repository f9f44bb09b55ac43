//! Helpers shared by the emulator's integration tests: test markets and emulators, raw and
//! control-port connections, the binary, captures and request builders.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use baostock::client::Config;
use baostock::frame::{decode_response, encode_request, Frame, MsgType, CLIENT_VERSION};
use baostock::value::{AdjustFlag, Frequency};
use baostock::{HistoryKQuery, Limits, Page, Request};
use baostock_emulator::{Emulator, EmulatorConfig, Market, MarketConfig, Schedule};
use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde_json::Value;

/// The fixed last day of every test market, so results never depend on today's date.
pub fn end_date() -> NaiveDate {
    NaiveDate::from_ymd_opt(2025, 6, 30).unwrap()
}

/// A date written `YYYY-MM-DD`.
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

/// Starts an emulator of [`config`].
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

/// Starts an emulator of [`config_always`].
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

/// As [`client_config`], not shared.
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
    /// Connects to `emu`.
    pub fn connect(emu: &Emulator) -> Raw {
        Raw::connect_to(emu.addr())
    }

    /// Connects to an emulator at `addr` (a started binary's).
    pub fn connect_to(addr: impl ToSocketAddrs) -> Raw {
        Raw {
            stream: connect_with_timeout(addr),
            buf: Vec::new(),
        }
    }

    /// Sends `bytes` as they are.
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

    /// Sends `req` and reads its answer.
    pub fn request(&mut self, req: &Request) -> (Frame, Vec<u8>) {
        self.send_bytes(&req.encode(CLIENT_VERSION));
        self.read_frame()
    }

    /// Logs in, asserting success.
    pub fn login(&mut self) {
        let (f, _) = self.request(&login());
        assert_eq!(f.msg_type.as_str(), "01", "{}", f.body);
    }
}

/// The official client's anonymous login.
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

/// A TCP connection to `addr` whose reads give up after 10 s.
fn connect_with_timeout(addr: impl ToSocketAddrs) -> TcpStream {
    let stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    stream
}

/// `config` with a control port on a free local port.
pub fn with_control_port(config: EmulatorConfig) -> EmulatorConfig {
    EmulatorConfig {
        control: Some("127.0.0.1:0".parse().unwrap()),
        ..config
    }
}

/// Starts an emulator of `config` with a control port, and connects to that port.
pub fn start_controlled(config: EmulatorConfig) -> (Emulator, Control) {
    let emu = Emulator::start(with_control_port(config)).expect("emulator starts");
    let control = Control::connect(&emu);
    (emu, control)
}

/// A connection to a control port: one command line out, one JSON line back.
pub struct Control {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Control {
    /// Connects to `emu`'s control port.
    pub fn connect(emu: &Emulator) -> Control {
        Control::connect_to(emu.control_addr().unwrap())
    }

    /// Connects to the control port at `addr` (a started binary's).
    pub fn connect_to(addr: SocketAddr) -> Control {
        let writer = connect_with_timeout(addr);
        Control {
            reader: BufReader::new(writer.try_clone().unwrap()),
            writer,
        }
    }

    /// Sends one command and returns its answer.
    pub fn command(&mut self, line: &str) -> Value {
        self.writer.write_all(format!("{line}\n").as_bytes()).unwrap();
        let mut answer = String::new();
        self.reader.read_line(&mut answer).unwrap();
        serde_json::from_str(&answer).unwrap_or_else(|e| panic!("{line}: {answer:?}: {e}"))
    }

    /// Sends a command the port must refuse, and checks that it says why.
    pub fn assert_refused(&mut self, line: &str) {
        let v = self.command(line);
        assert_eq!(v["ok"], false, "{line}");
        assert!(v["error"].as_str().unwrap().len() > 5, "{line}: {v}");
    }
}

/// Starts the emulator binary on a free port with 60 codes to 2025-06-30 and `args`, its
/// banner on a pipe.
pub fn spawn_binary(args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_baostock-emulator"))
        .args(["--listen", "127.0.0.1:0", "--codes", "60", "--end", "2025-06-30"])
        .args(args)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap()
}

/// The library's market of `codes` codes, history to `end_date()`, without a server.
pub fn market(codes: usize) -> Market {
    Market::new(MarketConfig {
        codes,
        end: Some(end_date()),
        ..MarketConfig::default()
    })
}

/// A decimal cell.
pub fn dec(s: &str) -> Decimal {
    s.parse().unwrap_or_else(|_| panic!("not a decimal: {s:?}"))
}

/// The column of `name` in a comma-separated field list.
pub fn col(fields: &str, name: &str) -> usize {
    fields.split(',').position(|f| f == name).unwrap()
}

/// The request and response bytes of the capture `name`.
pub fn capture(name: &str) -> (Vec<u8>, Vec<u8>) {
    let dir = captures_dir().join(name);
    (
        std::fs::read(dir.join("request.bin")).unwrap_or_else(|e| panic!("{}: {e}", dir.display())),
        std::fs::read(dir.join("response.bin")).unwrap(),
    )
}

/// The code and message of an error frame.
pub fn error_of(frame: &Frame) -> (String, String) {
    assert_eq!(frame.msg_type, MsgType::ERROR, "{}", frame.body);
    let (c, m) = frame.body.split_once('\x01').unwrap();
    (c.to_owned(), m.to_owned())
}

/// The bytes of a request of type `t` (e.g. `95`) with these body fields, well-formed or not.
pub fn raw_request(t: &str, fields: &[&str]) -> Vec<u8> {
    let t = MsgType::new(t.as_bytes().try_into().unwrap()).unwrap();
    encode_request(CLIENT_VERSION, t, fields)
}

/// A 95 request for `code`'s bars from `start` to `end`, 10000 rows a page.
pub fn history(code: &str, fields: &str, start: &str, end: &str, frequency: Frequency, adjust: AdjustFlag) -> Request {
    history_per_page(10000, code, fields, start, end, frequency, adjust)
}

/// As [`history`], `per_page` rows a page.
pub fn history_per_page(
    per_page: u32,
    code: &str,
    fields: &str,
    start: &str,
    end: &str,
    frequency: Frequency,
    adjust: AdjustFlag,
) -> Request {
    Request::HistoryK {
        user: "anonymous".into(),
        page: Page::first(per_page),
        query: HistoryKQuery {
            code: code.into(),
            fields: fields.into(),
            start: d(start),
            end: d(end),
            frequency,
            adjust,
        },
    }
}

/// A 98 request: every A-share's bar of `day`.
pub fn astock(day: &str) -> Request {
    Request::DailyAStock {
        user: "anonymous".into(),
        date: d(day),
    }
}

/// A 9A request: every ETF's bar of `day`.
pub fn etf(day: &str) -> Request {
    Request::DailyEtf {
        user: "anonymous".into(),
        date: d(day),
    }
}

/// A 9C request: every adjust factor taking effect on `day`.
pub fn day_factors(day: &str) -> Request {
    Request::DailyAdjustFactor {
        user: "anonymous".into(),
        date: d(day),
    }
}

/// The official client's logout.
pub fn logout() -> Request {
    Request::Logout {
        user: "anonymous".into(),
        time: "20240102150000".into(),
    }
}
