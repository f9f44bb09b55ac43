//! Starting and stopping the emulator, in a test binary of its own: the check that a stopped
//! emulator's port no longer answers would race with other tests' emulators binding the
//! freed ephemeral port if they ran beside it in one binary.

mod common;

use std::net::TcpStream;
use std::time::Duration;

use baostock::client::{ErrorClass, Pool};
use baostock::Request;

/// A query for any session: the ETF bars of a trading day.
fn day_request() -> Request {
    common::etf("2024-01-02")
}

#[test]
fn start_and_stop_work_from_inside_an_async_runtime_too() {
    common::rt().block_on(async {
        let emu = common::start(30);
        let pool = Pool::new(common::client_cfg(&emu));
        assert!(pool.request(&day_request()).await.is_ok());
        drop(emu);
        // Stopped: the port no longer answers.
        let e = pool.request(&day_request()).await.unwrap_err();
        assert_eq!(e.class(), ErrorClass::Transient, "{e}");
    });
    // Many start/stop cycles leave nothing behind.
    for _ in 0..20 {
        let emu = common::start(20);
        let addr = emu.addr();
        emu.shutdown();
        assert!(TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_err());
    }
}
