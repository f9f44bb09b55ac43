//! A protocol-faithful Baostock server with a deterministic synthetic A-share market.
//!
//! Start it in-process with [`Emulator::start`] (it runs on its own thread and tokio runtime,
//! so plain non-async code can call it), or as the `baostock-emulator` binary. See the crate
//! README for the protocol choices, the market model, latency, faults, sessions and the
//! control port.

#![warn(missing_docs)]

pub mod calendar;
pub mod control_port;
pub mod controls;
pub mod handler;
pub mod market;
pub mod publication;
pub mod replay;
pub mod reports;
pub mod rng;
mod server;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::thread::JoinHandle;

pub use controls::{Clock, Controls, Counters, FaultConfig, FaultMode, LatencyConfig, ScriptedFault, SessionConfig};
pub use market::{ActionError, CorporateAction, Market, MarketConfig, QueryError, RawBar, SecType, Security};
pub use publication::{Kind, Publication, Schedule};

/// Everything an emulator is started with.
#[derive(Clone, Debug)]
pub struct EmulatorConfig {
    /// Address of the protocol port (`127.0.0.1:0` picks a free port).
    pub listen: SocketAddr,
    /// Seed of the market and of every random draw (latency jitter, faults).
    pub seed: u64,
    /// Number of codes of the synthetic market (default 5,500; use a few hundred in unit tests).
    pub codes: usize,
    /// First day of history.
    pub start: chrono::NaiveDate,
    /// Last day of history; `None` is today in China.
    pub end: Option<chrono::NaiveDate>,
    /// Latency model (default: the fast profile, no delay).
    pub latency: LatencyConfig,
    /// Fault injection (default: none).
    pub faults: FaultConfig,
    /// Session limits and blacklisting (default: unlimited).
    pub sessions: SessionConfig,
    /// When each kind of data is published (default: [`Schedule::official`], the real
    /// server's hours and history floors; [`Schedule::always`] publishes every day from its
    /// start). In every schedule no day after the clock's date has rows.
    pub publication: Schedule,
    /// Alias of the daily kind's hour: when set, it replaces `publication`'s daily hour (the
    /// China time a trading day's 98/9A rows and 95 daily bars appear); `None` leaves the
    /// schedule as it is.
    pub publish_time: Option<chrono::NaiveTime>,
    /// Fixed China time the emulator believes it is; `None` follows the real clock.
    pub clock: Option<chrono::NaiveDateTime>,
    /// With `clock` set: let it run on with real time from the start instead of staying
    /// frozen (default `false`).
    pub clock_running: bool,
    /// First day of all-market history: 98/9A/9C for an earlier day answer success with no
    /// rows (95 and 15 are not affected); `None`: every day has it.
    pub all_market_start: Option<chrono::NaiveDate>,
    /// Answer captured requests with the captured bytes from this directory instead of the
    /// synthetic market.
    pub replay: Option<PathBuf>,
    /// Address of the control port (line protocol, JSON answers); `None` for none.
    pub control: Option<SocketAddr>,
    /// Generate every price path in the background right after start (answers are the same
    /// either way; without it each path is made on first use, so the first 98 is slower).
    pub warm: bool,
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        let m = MarketConfig::default();
        EmulatorConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            seed: m.seed,
            codes: m.codes,
            start: m.start,
            end: m.end,
            latency: LatencyConfig::fast(),
            faults: FaultConfig::default(),
            sessions: SessionConfig::default(),
            publication: Schedule::official(),
            publish_time: None,
            clock: None,
            clock_running: false,
            all_market_start: None,
            replay: None,
            control: None,
            warm: false,
        }
    }
}

impl EmulatorConfig {
    /// The market part of the configuration.
    pub fn market_config(&self) -> MarketConfig {
        MarketConfig {
            seed: self.seed,
            codes: self.codes,
            start: self.start,
            end: self.end,
        }
    }

    /// The publication schedule the emulator starts with: `publication`, with the daily hour
    /// replaced by `publish_time` when that is set.
    pub fn schedule(&self) -> Schedule {
        let mut schedule = self.publication;
        if let Some(t) = self.publish_time {
            schedule.set_hour(Kind::Daily, Some(t));
        }
        schedule
    }
}

/// State shared by the server tasks and the owner.
pub(crate) struct Shared {
    pub(crate) market: Arc<Market>,
    pub(crate) controls: Controls,
    pub(crate) replay: Option<replay::Replay>,
    pub(crate) seed: u64,
}

/// A running emulator. Dropping it shuts it down.
pub struct Emulator {
    shared: Arc<Shared>,
    addr: SocketAddr,
    control_addr: Option<SocketAddr>,
    stop: Option<tokio::sync::watch::Sender<bool>>,
    thread: Option<JoinHandle<()>>,
}

impl Emulator {
    /// Builds the market, binds the ports and starts serving on a thread of its own with its
    /// own tokio runtime. Callable from non-async code; returns once the ports are bound.
    pub fn start(cfg: EmulatorConfig) -> std::io::Result<Emulator> {
        let replay = match &cfg.replay {
            Some(dir) => Some(replay::Replay::load(dir)?),
            None => None,
        };
        let market = Arc::new(Market::new(cfg.market_config()));
        if cfg.warm {
            let m = market.clone();
            std::thread::Builder::new()
                .name("baostock-emulator-warm".into())
                .spawn(move || {
                    block_signals();
                    m.warm();
                })?;
        }
        let controls = Controls::new(market.clone(), &cfg);
        let shared = Arc::new(Shared {
            market,
            controls,
            replay,
            seed: cfg.seed,
        });
        let listener = std::net::TcpListener::bind(cfg.listen)?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let control = match cfg.control {
            Some(a) => {
                let l = std::net::TcpListener::bind(a)?;
                l.set_nonblocking(true)?;
                Some(l)
            }
            None => None,
        };
        let control_addr = match &control {
            Some(l) => Some(l.local_addr()?),
            None => None,
        };
        let (stop, stop_rx) = tokio::sync::watch::channel(false);
        let (ready_tx, ready_rx) = std::sync::mpsc::channel::<std::io::Result<()>>();
        let s = shared.clone();
        let thread = std::thread::Builder::new()
            .name("baostock-emulator".into())
            .spawn(move || {
                // Signals stay with the host's own threads (a PostgreSQL backend handles
                // SIGTERM, SIGINT and SIGUSR1 itself); the runtime's workers inherit this mask.
                block_signals();
                let rt = match tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .thread_name("baostock-emulator")
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt,
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                let _ = ready_tx.send(Ok(()));
                rt.block_on(server::run(s, listener, control, stop_rx));
                rt.shutdown_timeout(std::time::Duration::from_secs(1));
            })?;
        match ready_rx.recv() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                let _ = thread.join();
                return Err(e);
            }
            Err(_) => {
                let _ = thread.join();
                return Err(std::io::Error::other("emulator thread ended before starting"));
            }
        }
        Ok(Emulator {
            shared,
            addr,
            control_addr,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// The address of the protocol port.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The address of the control port, when one was asked for.
    pub fn control_addr(&self) -> Option<SocketAddr> {
        self.control_addr
    }

    /// A snapshot of the counters.
    pub fn counters(&self) -> Counters {
        self.shared.controls.counters()
    }

    /// The counters once every session has ended (at most `timeout`): a client that writes its
    /// logout and closes without waiting for the reply has returned before the logout is read.
    pub fn settled_counters(&self, timeout: std::time::Duration) -> Counters {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            let c = self.counters();
            if c.sessions_active == 0 || std::time::Instant::now() >= deadline {
                return c;
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
    }

    /// Zeroes the counters (active sessions are kept).
    pub fn reset_counters(&self) {
        self.shared.controls.reset_counters()
    }

    /// Runtime controls: latency, faults, overrides, corporate actions, publication schedule,
    /// clock, start of all-market history, sessions.
    pub fn controls(&self) -> &Controls {
        &self.shared.controls
    }

    /// The market being served.
    pub fn market(&self) -> &Market {
        &self.shared.market
    }

    /// Stops serving, closes every connection and joins the server thread.
    pub fn shutdown(mut self) {
        self.stop_now();
    }

    fn stop_now(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(true);
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Blocks every blockable signal on the calling thread.
#[cfg(unix)]
fn block_signals() {
    // SAFETY: `set` is a local, initialised by sigfillset before use; pthread_sigmask only
    // changes this thread's mask.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigfillset(&mut set);
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
    }
}

#[cfg(not(unix))]
fn block_signals() {}

impl Drop for Emulator {
    fn drop(&mut self) {
        self.stop_now();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handles_can_be_shared_between_threads() {
        fn send_sync<T: Send + Sync>() {}
        send_sync::<Emulator>();
        send_sync::<Controls>();
        send_sync::<Market>();
        send_sync::<Counters>();
    }
}
