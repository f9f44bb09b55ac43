//! The async client against a loopback server that replays the real captures, with faults:
//! silence, FIN mid-frame, RST, garbage, blacklisting. Every wait is bounded by the
//! client's own timeouts; each test asserts it returned within its timeout plus a second.

mod common;

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use baostock::client::{ClientError, Config, ErrorClass, Pool, Session};
use baostock::frame::{decode_request, encode_response, MsgType, SERVER_VERSION};
use baostock::json::write_records;
use baostock::reply::{Data, IndexConstituent, Reply, StockIndustry};
use baostock::{decode_reply, Limits, Page, Request, StockIndex};
use chrono::NaiveDate;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

#[derive(Clone, Copy, Debug, PartialEq)]
enum Fault {
    None,
    /// Read the request, never answer.
    Silent,
    /// Send half the answer, then close.
    FinMidFrame,
    /// Reset the connection instead of answering.
    Reset,
    /// Answer with bytes that are not a frame.
    Garbage,
}

#[derive(Default)]
struct Stats {
    connections: AtomicUsize,
    logins: AtomicUsize,
    logouts: AtomicUsize,
    queries: AtomicUsize,
    active: AtomicUsize,
    peak: AtomicUsize,
    arrivals: Mutex<Vec<Instant>>,
}

/// A replay server: answers each captured request with the captured bytes, logout with the
/// logout capture, paged trade-date queries by slicing the captured calendar, and applies
/// `fault` to query number `fault_on` (1-based, logins not counted).
struct Replay {
    port: u16,
    stats: Arc<Stats>,
}

struct Script {
    fault: Fault,
    fault_on: usize,
    blacklist_login: bool,
    /// Reads logouts and never answers them (holding the connection open).
    silent_logout: bool,
    /// Counts and answers a logout this long after reading it (a busy server).
    slow_logout: Option<Duration>,
    paging: Paging,
}

/// How the server pages the calendar.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Paging {
    Honest,
    /// Always answers the first page, labelled page 1.
    AlwaysFirst,
    /// Answers the first page's rows under whatever page number was asked.
    RepeatRows,
}

impl Replay {
    async fn start(script: Script) -> Replay {
        let captures = common::all();
        let by_request: HashMap<Vec<u8>, Vec<u8>> = captures
            .iter()
            .map(|c| (c.request.clone(), c.response.clone()))
            .collect();
        let logout = common::get("logout").response;
        let calendar = match decode_reply(&common::get("query_trade_dates").response, &Limits::default()) {
            Ok(Some((Reply::Table(t), _))) => match t.data {
                Data::TradeDates(d) => d,
                _ => unreachable!(),
            },
            _ => unreachable!(),
        };
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let stats = Arc::new(Stats::default());
        let shared = Arc::new((by_request, logout, calendar, script));
        let st = stats.clone();
        tokio::spawn(async move {
            loop {
                let Ok((sock, _)) = listener.accept().await else { return };
                st.connections.fetch_add(1, Ordering::SeqCst);
                let now = st.active.fetch_add(1, Ordering::SeqCst) + 1;
                st.peak.fetch_max(now, Ordering::SeqCst);
                let (st, shared) = (st.clone(), shared.clone());
                tokio::spawn(async move {
                    serve(sock, &st, &shared.0, &shared.1, &shared.2, &shared.3).await;
                    st.active.fetch_sub(1, Ordering::SeqCst);
                });
            }
        });
        Replay { port, stats }
    }

    fn config(&self) -> Config {
        Config {
            client_version: "00.9.10".into(),
            per_page: 10000,
            connect_timeout: Duration::from_secs(2),
            read_timeout: Duration::from_millis(500),
            request_timeout: Duration::from_secs(3),
            backoff_base: Duration::from_millis(10),
            backoff_max: Duration::from_millis(50),
            ..loopback(self.port)
        }
    }
}

/// A client configuration for a server on the loopback `port`.
fn loopback(port: u16) -> Config {
    Config {
        host: "127.0.0.1".into(),
        port,
        ..Config::default()
    }
}

/// A server of one connection on a free loopback port that reads the first request and then
/// hands the socket to `answer`; returns the port.
async fn serve_once<F, Fut>(answer: F) -> u16
where
    F: FnOnce(TcpStream) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        let (mut sock, _) = listener.accept().await.unwrap();
        let mut buf = [0u8; 4096];
        let _ = sock.read(&mut buf).await;
        answer(sock).await;
    });
    port
}

async fn serve(
    mut sock: TcpStream,
    st: &Stats,
    by_request: &HashMap<Vec<u8>, Vec<u8>>,
    logout: &[u8],
    calendar: &[baostock::reply::TradeDate],
    script: &Script,
) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let (frame, used) = loop {
            match decode_request(&buf, &Limits::default()) {
                Ok(Some(x)) => break x,
                Ok(None) => {}
                Err(_) => return,
            }
            match sock.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        };
        let raw: Vec<u8> = buf.drain(..used).collect();
        st.arrivals.lock().unwrap().push(Instant::now());
        let req = Request::decode(&frame).unwrap();
        let answer = match &req {
            Request::Login { .. } => {
                st.logins.fetch_add(1, Ordering::SeqCst);
                if script.blacklist_login {
                    encode_response(SERVER_VERSION, MsgType::LOGIN_REPLY, "10001011\x01blacklisted")
                } else {
                    by_request[&raw].clone()
                }
            }
            Request::Logout { .. } => {
                if let Some(pause) = script.slow_logout {
                    tokio::time::sleep(pause).await;
                }
                st.logouts.fetch_add(1, Ordering::SeqCst);
                if script.silent_logout {
                    tokio::time::sleep(Duration::from_secs(30)).await;
                    return;
                }
                logout.to_vec()
            }
            other => {
                let n = st.queries.fetch_add(1, Ordering::SeqCst) + 1;
                if n == script.fault_on {
                    match script.fault {
                        Fault::None => {}
                        Fault::Silent => {
                            tokio::time::sleep(Duration::from_secs(30)).await;
                            return;
                        }
                        Fault::Reset => {
                            // SO_LINGER 0 makes the close an RST; that is the point here.
                            #[allow(deprecated)]
                            let _ = sock.set_linger(Some(Duration::ZERO));
                            drop(sock);
                            return;
                        }
                        Fault::FinMidFrame => {
                            let whole = by_request.get(&raw).cloned().unwrap_or_default();
                            let _ = sock.write_all(&whole[..whole.len() / 2]).await;
                            let _ = sock.shutdown().await;
                            return;
                        }
                        Fault::Garbage => {
                            let _ = sock.write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n").await;
                            continue;
                        }
                    }
                }
                match other {
                    Request::TradeDates {
                        page: Page { page, per_page },
                        ..
                    } if *per_page != 10000 => {
                        let (page, from) = match script.paging {
                            Paging::Honest => (*page, ((*page - 1) * *per_page) as usize),
                            Paging::AlwaysFirst => (1, 0),
                            Paging::RepeatRows => (*page, 0),
                        };
                        let rows: Vec<[String; 2]> = calendar
                            .iter()
                            .skip(from)
                            .take(*per_page as usize)
                            .map(|d| [d.date.to_string(), if d.is_trading_day { "1" } else { "0" }.to_string()])
                            .collect();
                        let body = format!(
                            "0\x01success\x01query_trade_dates\x01anonymous\x01{page}\x01{per_page}\x01{}\x012024-01-01\x012024-01-10\x01calendar_date, is_trading_day",
                            write_records(&rows)
                        );
                        encode_response(SERVER_VERSION, MsgType::new(*b"34").unwrap(), &body)
                    }
                    _ => by_request.get(&raw).cloned().unwrap_or_else(|| {
                        encode_response(SERVER_VERSION, MsgType::ERROR, "10004020\x01错误的消息类型")
                    }),
                }
            }
        };
        if sock.write_all(&answer).await.is_err() {
            return;
        }
    }
}

fn script(fault: Fault, fault_on: usize) -> Script {
    Script {
        fault,
        fault_on,
        blacklist_login: false,
        silent_logout: false,
        slow_logout: None,
        paging: Paging::Honest,
    }
}

fn all_stock() -> Request {
    Request::AllStock {
        user: String::new(),
        page: Page::first(10000),
        day: NaiveDate::from_ymd_opt(2024, 1, 2).unwrap(),
    }
}

/// A session to a replay server whose first query meets `fault`: the server, the session, that
/// query's error and when the query was sent.
async fn first_query_meets(fault: Fault) -> (Replay, Session, ClientError, Instant) {
    let server = Replay::start(script(fault, 1)).await;
    let mut s = Session::connect(Arc::new(server.config())).await.unwrap();
    let t0 = Instant::now();
    let err = s.request(&all_stock()).await.unwrap_err();
    (server, s, err, t0)
}

fn decoded_capture(name: &str) -> Reply {
    decode_reply(&common::get(name).response, &Limits::default())
        .unwrap()
        .unwrap()
        .0
}

#[tokio::test]
async fn login_then_query_equals_decoding_the_capture() {
    let server = Replay::start(script(Fault::None, 0)).await;
    let mut s = Session::connect(Arc::new(server.config())).await.unwrap();
    let reply = s.request(&all_stock()).await.unwrap();
    assert_eq!(reply, decoded_capture("query_all_stock"));
    let Reply::Table(t) = &reply else { panic!() };
    assert_eq!(t.len(), 5638);
    s.logout().await;
    assert_eq!(server.stats.logins.load(Ordering::SeqCst), 1);
    assert!(!s.is_connected());
    assert_eq!(s.requests(), 3, "login, query, logout");
    // The logout is written and the connection closed without waiting for the reply; the
    // server still reads it.
    let deadline = Instant::now() + Duration::from_secs(5);
    while server.stats.logouts.load(Ordering::SeqCst) == 0 {
        assert!(Instant::now() < deadline, "the server never read the logout");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test]
async fn a_logout_does_not_wait_for_a_reply_that_never_comes() {
    // A server that reads the logout and never answers: the session ends after the logout's
    // grace of a second (it used to wait for the reply up to the read timeout, here 30 s).
    let server = Replay::start(Script {
        silent_logout: true,
        ..script(Fault::None, 0)
    })
    .await;
    let cfg = Config {
        read_timeout: Duration::from_secs(30),
        ..server.config()
    };
    let mut s = Session::connect(Arc::new(cfg)).await.unwrap();
    s.request(&all_stock()).await.unwrap();
    let start = Instant::now();
    s.logout().await;
    assert!(!s.is_connected());
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "logout waited {:?} for a reply",
        start.elapsed()
    );
}

/// A gate of one slot that records how many logouts the server had counted when the slot
/// came back.
struct WitnessGate {
    stats: Arc<Stats>,
    seen_at_release: Arc<Mutex<Option<usize>>>,
}

struct WitnessSlot(Arc<Stats>, Arc<Mutex<Option<usize>>>);

impl Drop for WitnessSlot {
    fn drop(&mut self) {
        *self.1.lock().unwrap() = Some(self.0.logouts.load(Ordering::SeqCst));
    }
}

impl baostock::client::SessionGate for WitnessGate {
    fn try_acquire(&self) -> Option<baostock::client::SessionSlot> {
        Some(Box::new(WitnessSlot(self.stats.clone(), self.seen_at_release.clone())))
    }
}

#[tokio::test]
async fn a_session_gives_its_slot_back_only_after_the_server_read_its_logout() {
    // The server counts a session until it has read the logout: a slot given back when the
    // logout was merely written let another process log in while the server still counted
    // this one (3 sessions at once under a cap of 2 in the cluster tests).
    let server = Replay::start(Script {
        slow_logout: Some(Duration::from_millis(200)),
        ..script(Fault::None, 0)
    })
    .await;
    let seen = Arc::new(Mutex::new(None));
    let gate: Arc<dyn baostock::client::SessionGate> = Arc::new(WitnessGate {
        stats: server.stats.clone(),
        seen_at_release: seen.clone(),
    });
    let mut s = Session::connect(Arc::new(Config {
        gate: Some(gate),
        ..server.config()
    }))
    .await
    .unwrap();
    s.request(&all_stock()).await.unwrap();
    s.logout().await;
    assert!(!s.is_connected());
    assert_eq!(
        *seen.lock().unwrap(),
        Some(1),
        "the slot came back before the server had read the logout"
    );
}

#[tokio::test]
async fn reference_queries_work_through_the_generic_paged_path() {
    let server = Replay::start(script(Fault::None, 0)).await;
    let pool = Pool::new(server.config());
    let page = Page::first(10000);
    for index in StockIndex::ALL {
        let req = Request::IndexConstituents {
            user: String::new(),
            page,
            index,
            date: None,
        };
        let tables = pool.query_all(&req).await.unwrap();
        assert_eq!(tables.len(), 1, "{index:?}: one page under 10000 rows");
        assert_eq!(Reply::Table(tables[0].clone()), decoded_capture(index.method()));
        let rows: Vec<IndexConstituent> = tables[0].data.clone().try_into().unwrap();
        let want = common::get(index.method()).meta["rows"].parse::<usize>().unwrap();
        assert_eq!(rows.len(), want, "{index:?}");
    }
    let req = Request::StockIndustry {
        user: String::new(),
        page,
        code: "sh.600000".into(),
        date: None,
    };
    let tables = pool.query_all(&req).await.unwrap();
    let rows: Vec<StockIndustry> = tables[0].data.clone().try_into().unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].industry.as_deref(), Some("J66货币金融服务"));
    pool.close().await;
    // One login, four queries (each matched on its exact captured bytes), one logout.
    assert_eq!(server.stats.logins.load(Ordering::SeqCst), 1);
    assert_eq!(server.stats.queries.load(Ordering::SeqCst), 4);
}

#[tokio::test]
async fn paging_follows_the_official_rule() {
    let server = Replay::start(script(Fault::None, 0)).await;
    let mut s = Session::connect(Arc::new(server.config())).await.unwrap();
    let d = |day| NaiveDate::from_ymd_opt(2024, 1, day).unwrap();
    // 10 calendar rows in pages of 4: 4, 4, 2 (short page ends it) = 3 queries.
    let req = |per_page| Request::TradeDates {
        user: String::new(),
        page: Page::first(per_page),
        start: d(1),
        end: d(10),
    };
    let pages = s.query_all(&req(4)).await.unwrap();
    assert_eq!(pages.iter().map(|t| t.len()).collect::<Vec<_>>(), [4, 4, 2]);
    assert_eq!(server.stats.queries.load(Ordering::SeqCst), 3);
    // Pages of 5: 5, 5, then an empty page 3 tells the end = 3 more queries.
    let pages = s.query_all(&req(5)).await.unwrap();
    assert_eq!(pages.iter().map(|t| t.len()).collect::<Vec<_>>(), [5, 5, 0]);
    assert_eq!(server.stats.queries.load(Ordering::SeqCst), 6);
    let all: Vec<_> = pages
        .iter()
        .flat_map(|t| match &t.data {
            Data::TradeDates(d) => d.clone(),
            _ => panic!(),
        })
        .collect();
    let Reply::Table(whole) = decoded_capture("query_trade_dates") else {
        panic!()
    };
    assert_eq!(Data::TradeDates(all), whole.data);
}

#[tokio::test]
async fn paging_is_bounded_when_the_server_ignores_the_page_number() {
    let d = |day| NaiveDate::from_ymd_opt(2024, 1, day).unwrap();
    let req = Request::TradeDates {
        user: String::new(),
        page: Page::first(5),
        start: d(1),
        end: d(10),
    };
    let server = Replay::start(Script {
        paging: Paging::AlwaysFirst,
        ..script(Fault::None, 0)
    })
    .await;
    let mut s = Session::connect(Arc::new(server.config())).await.unwrap();
    let err = s.query_all(&req).await.unwrap_err();
    assert!(
        matches!(&err, ClientError::Unexpected { what, .. } if what.contains("page 1 in answer to page 2")),
        "{err:?}"
    );
    assert_eq!(server.stats.queries.load(Ordering::SeqCst), 2);

    let server = Replay::start(Script {
        paging: Paging::RepeatRows,
        ..script(Fault::None, 0)
    })
    .await;
    let cfg = Config {
        limits: Limits {
            max_rows: 50,
            ..Limits::default()
        },
        ..server.config()
    };
    let mut s = Session::connect(Arc::new(cfg)).await.unwrap();
    let err = s.query_all(&req).await.unwrap_err();
    assert!(
        matches!(
            err,
            ClientError::Decode(baostock::DecodeError::TooManyRows { limit: 50 })
        ),
        "{err:?}"
    );
    assert_eq!(
        server.stats.queries.load(Ordering::SeqCst),
        11,
        "stopped at the 11th page of 5 rows"
    );
}

#[tokio::test]
async fn an_error_frame_is_a_permanent_server_error_and_the_connection_survives() {
    let server = Replay::start(script(Fault::None, 0)).await;
    let mut s = Session::connect(Arc::new(server.config())).await.unwrap();
    let cpi = common::get("_candidates/query_cpi_data/round1");
    let (frame, _) = decode_request(&cpi.request, &Limits::default()).unwrap().unwrap();
    let err = s.request(&Request::decode(&frame).unwrap()).await.unwrap_err();
    assert_eq!(err.server_code(), Some("10004020"));
    assert_eq!(err.class(), ErrorClass::Permanent);
    assert!(err.to_string().contains("错误的消息类型"), "{err}");
    s.request(&all_stock()).await.unwrap();
    assert_eq!(server.stats.connections.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_silent_server_times_out_within_the_read_timeout() {
    let (server, _s, err, t0) = first_query_meets(Fault::Silent).await;
    let took = t0.elapsed();
    let limit = server.config().read_timeout;
    assert!(matches!(err, ClientError::Timeout { what: "read", .. }), "{err:?}");
    assert_eq!(err.class(), ErrorClass::Transient);
    assert!(took >= limit && took < limit + Duration::from_secs(1), "took {took:?}");
}

#[tokio::test]
async fn the_whole_request_timeout_bounds_a_slow_drip() {
    // A server that sends one byte every 100 ms never trips the read timeout,
    // but the request timeout still ends the wait.
    let port = serve_once(|mut sock| async move {
        for byte in common::get("login").response {
            tokio::time::sleep(Duration::from_millis(100)).await;
            if sock.write_all(&[byte]).await.is_err() {
                return;
            }
        }
    })
    .await;
    let cfg = Config {
        read_timeout: Duration::from_millis(500),
        request_timeout: Duration::from_millis(1500),
        ..loopback(port)
    };
    let t0 = Instant::now();
    let err = Session::connect(Arc::new(cfg)).await.err().expect("must time out");
    assert!(matches!(err, ClientError::Timeout { what: "request", .. }), "{err:?}");
    assert!(t0.elapsed() < Duration::from_millis(2500), "took {:?}", t0.elapsed());
}

#[tokio::test]
async fn fin_mid_frame_fails_then_a_retry_reconnects_and_logs_in_again() {
    let (server, mut s, err, t0) = first_query_meets(Fault::FinMidFrame).await;
    assert!(matches!(err, ClientError::Closed { mid_frame: true }), "{err:?}");
    assert_eq!(err.class(), ErrorClass::Transient);
    assert!(t0.elapsed() < server.config().read_timeout + Duration::from_secs(1));
    assert!(!s.is_connected());
    let reply = s.request(&all_stock()).await.unwrap();
    assert_eq!(reply, decoded_capture("query_all_stock"));
    assert_eq!(server.stats.connections.load(Ordering::SeqCst), 2);
    assert_eq!(server.stats.logins.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_reset_is_a_transient_error() {
    let (server, mut s, err, t0) = first_query_meets(Fault::Reset).await;
    assert!(
        matches!(&err, ClientError::Io(e) if e.kind() == std::io::ErrorKind::ConnectionReset)
            || matches!(err, ClientError::Closed { .. }),
        "{err:?}"
    );
    assert_eq!(err.class(), ErrorClass::Transient);
    assert!(t0.elapsed() < server.config().read_timeout + Duration::from_secs(1));
    s.request(&all_stock()).await.unwrap();
    assert_eq!(server.stats.logins.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn garbage_is_a_decode_error_not_a_hang() {
    let (server, _s, err, t0) = first_query_meets(Fault::Garbage).await;
    assert!(matches!(err, ClientError::Decode(_)), "{err:?}");
    assert!(t0.elapsed() < server.config().read_timeout + Duration::from_secs(1));
}

#[tokio::test]
async fn the_pool_retries_transient_faults_on_a_fresh_connection() {
    for fault in [Fault::FinMidFrame, Fault::Reset, Fault::Silent, Fault::Garbage] {
        let server = Replay::start(script(fault, 1)).await;
        let cfg = server.config();
        let bound = cfg.read_timeout * 2 + cfg.backoff_max + Duration::from_secs(1);
        let pool = Pool::new(cfg);
        let t0 = Instant::now();
        let reply = pool
            .request(&all_stock())
            .await
            .unwrap_or_else(|e| panic!("{fault:?}: {e}"));
        assert!(t0.elapsed() < bound, "{fault:?} took {:?}", t0.elapsed());
        assert_eq!(reply, decoded_capture("query_all_stock"), "{fault:?}");
        assert_eq!(pool.retries(), 1, "{fault:?}");
        assert_eq!(server.stats.logins.load(Ordering::SeqCst), 2, "{fault:?}");
    }
}

#[tokio::test]
async fn permanent_errors_are_not_retried() {
    let server = Replay::start(script(Fault::None, 0)).await;
    let pool = Pool::new(server.config());
    let req = Request::Other {
        msg_type: MsgType::new(*b"75").unwrap(),
        method: "query_cpi_data".into(),
        user: String::new(),
        params: vec![],
    };
    let err = pool.request(&req).await.unwrap_err();
    assert_eq!(err.class(), ErrorClass::Permanent);
    assert_eq!(pool.retries(), 0);
    assert_eq!(server.stats.queries.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_blacklist_stops_the_pool_without_retrying() {
    let server = Replay::start(Script {
        blacklist_login: true,
        ..script(Fault::None, 0)
    })
    .await;
    let pool = Pool::new(server.config());
    let err = pool.request(&all_stock()).await.unwrap_err();
    assert_eq!(err.class(), ErrorClass::Blacklist);
    assert_eq!(err.server_code(), Some("10001011"));
    assert!(pool.is_blacklisted());
    let again = pool.request(&all_stock()).await.unwrap_err();
    assert!(matches!(again, ClientError::Blacklisted));
    assert_eq!(
        server.stats.connections.load(Ordering::SeqCst),
        1,
        "no new connection after a blacklist"
    );
    assert_eq!(pool.retries(), 0);
}

#[tokio::test]
async fn the_pool_never_opens_more_sessions_than_its_cap() {
    let server = Replay::start(script(Fault::None, 0)).await;
    let pool = Arc::new(Pool::new(Config {
        max_sessions: 2,
        ..server.config()
    }));
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let pool = pool.clone();
            tokio::spawn(async move { pool.request(&all_stock()).await.map(|_| ()) })
        })
        .collect();
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    assert!(server.stats.peak.load(Ordering::SeqCst) <= 2);
    assert!(server.stats.connections.load(Ordering::SeqCst) <= 2);
    assert_eq!(server.stats.queries.load(Ordering::SeqCst), 8);
    pool.close().await;
    assert_eq!(
        pool.requests(),
        8 + server.stats.logins.load(Ordering::SeqCst) as u64 + server.stats.connections.load(Ordering::SeqCst) as u64
    );
}

/// A gate of `n` slots shared by pools, as the extension shares one across processes.
struct CountingGate {
    free: Arc<std::sync::Mutex<usize>>,
}

struct GateSlot(Arc<std::sync::Mutex<usize>>);

impl Drop for GateSlot {
    fn drop(&mut self) {
        *self.0.lock().unwrap() += 1;
    }
}

impl baostock::client::SessionGate for CountingGate {
    fn try_acquire(&self) -> Option<baostock::client::SessionSlot> {
        let mut free = self.free.lock().unwrap();
        (*free > 0).then(|| {
            *free -= 1;
            Box::new(GateSlot(self.free.clone())) as baostock::client::SessionSlot
        })
    }
}

#[tokio::test]
async fn pools_sharing_a_gate_hold_no_more_sessions_than_its_slots() {
    let server = Replay::start(script(Fault::None, 0)).await;
    let free = Arc::new(std::sync::Mutex::new(1usize));
    let gate: Arc<dyn baostock::client::SessionGate> = Arc::new(CountingGate { free: free.clone() });
    let pools: Vec<Arc<Pool>> = (0..2)
        .map(|_| {
            Arc::new(Pool::new(Config {
                max_sessions: 2,
                gate: Some(gate.clone()),
                ..server.config()
            }))
        })
        .collect();
    // Each pool logs out after its requests, handing the slot to the other.
    let tasks: Vec<_> = pools
        .iter()
        .map(|pool| {
            let pool = pool.clone();
            tokio::spawn(async move {
                for _ in 0..3 {
                    pool.request(&all_stock()).await.map(|_| ())?;
                }
                pool.close().await;
                Ok::<_, ClientError>(())
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    assert_eq!(server.stats.queries.load(Ordering::SeqCst), 6);
    assert_eq!(
        server.stats.peak.load(Ordering::SeqCst),
        1,
        "one slot, one session at a time"
    );
    assert_eq!(*free.lock().unwrap(), 1, "every slot given back");
}

#[tokio::test]
async fn requests_of_one_session_are_paced() {
    let server = Replay::start(script(Fault::None, 0)).await;
    let gap = Duration::from_millis(150);
    let mut s = Session::connect(Arc::new(Config {
        min_interval: gap,
        ..server.config()
    }))
    .await
    .unwrap();
    for _ in 0..3 {
        s.request(&all_stock()).await.unwrap();
    }
    let arrivals = server.stats.arrivals.lock().unwrap().clone();
    assert_eq!(arrivals.len(), 4);
    for w in arrivals.windows(2) {
        assert!(w[1] - w[0] >= gap - Duration::from_millis(5), "gap {:?}", w[1] - w[0]);
    }
}

#[test]
fn debug_output_never_shows_credentials() {
    let cfg = Config {
        password: "hunter2-secret".into(),
        api_key: Some("bs-key-secret".into()),
        ..Config::default()
    };
    let login = Request::Login {
        user: "u".into(),
        password: "hunter2-secret".into(),
        options: "bs-key-secret".into(),
    };
    let bytes = login.encode("00.9.40");
    let (frame, _) = decode_request(&bytes, &Limits::default()).unwrap().unwrap();
    assert!(
        String::from_utf8_lossy(&bytes).contains("hunter2-secret"),
        "the wire must carry it"
    );
    for shown in [
        format!("{cfg:?}"),
        format!("{login:?}"),
        format!("{frame:?}"),
        format!("{:?}", Request::decode(&frame)),
    ] {
        assert!(!shown.contains("hunter2") && !shown.contains("bs-key"), "{shown}");
    }
}

/// A gate that admits `budget` requests and records what the sessions tell it.
struct BudgetGate {
    budget: usize,
    admitted: AtomicUsize,
    blacklisted: AtomicUsize,
    times: Mutex<Vec<String>>,
}

impl BudgetGate {
    fn new(budget: usize) -> Arc<BudgetGate> {
        Arc::new(BudgetGate {
            budget,
            admitted: AtomicUsize::new(0),
            blacklisted: AtomicUsize::new(0),
            times: Mutex::new(Vec::new()),
        })
    }
}

impl baostock::client::SessionGate for BudgetGate {
    fn try_acquire(&self) -> Option<baostock::client::SessionSlot> {
        Some(Box::new(()))
    }
    fn admit(&self) -> Result<(), baostock::client::Refusal> {
        let n = self.admitted.fetch_add(1, Ordering::SeqCst);
        if n >= self.budget {
            self.admitted.fetch_sub(1, Ordering::SeqCst);
            return Err(baostock::client::Refusal::BudgetSpent {
                used: n as u64,
                budget: self.budget as u64,
            });
        }
        Ok(())
    }
    fn blacklisted(&self) {
        self.blacklisted.fetch_add(1, Ordering::SeqCst);
    }
    fn server_time(&self, time: &str) {
        self.times.lock().unwrap().push(time.to_owned());
    }
}

#[tokio::test]
async fn a_refusing_gate_stops_requests_unsent_and_unretried() {
    let server = Replay::start(script(Fault::None, 0)).await;
    // A login and one query.
    let gate = BudgetGate::new(2);
    let pool = Pool::new(Config {
        gate: Some(gate.clone()),
        ..server.config()
    });
    pool.request(&all_stock()).await.unwrap();
    let err = pool.request(&all_stock()).await.unwrap_err();
    assert!(
        matches!(
            err,
            ClientError::Refused(baostock::client::Refusal::BudgetSpent { used: 2, budget: 2 })
        ),
        "{err}"
    );
    assert_eq!(err.class(), ErrorClass::Refused);
    assert_eq!(pool.retries(), 0);
    assert_eq!(
        server.stats.queries.load(Ordering::SeqCst),
        1,
        "the refused query never left"
    );
    let times = gate.times.lock().unwrap().clone();
    assert_eq!(times.len(), 1, "one login, one server time");
    assert!(
        times[0].len() == 17 && times[0].bytes().all(|b| b.is_ascii_digit()),
        "{times:?}"
    );
}

#[tokio::test]
async fn the_gate_hears_of_a_blacklist_at_once() {
    let server = Replay::start(Script {
        blacklist_login: true,
        ..script(Fault::None, 0)
    })
    .await;
    let gate = BudgetGate::new(100);
    let pool = Pool::new(Config {
        gate: Some(gate.clone()),
        ..server.config()
    });
    let err = pool.request(&all_stock()).await.unwrap_err();
    assert_eq!(err.class(), ErrorClass::Blacklist);
    assert_eq!(gate.blacklisted.load(Ordering::SeqCst), 1);
}

#[test]
fn control_characters_in_credentials_or_host_are_refused_by_name() {
    let ok = Config::default();
    assert_eq!(ok.check(), Ok(()));
    for (field, cfg) in [
        (
            "user",
            Config {
                user: "a\u{1}b".into(),
                ..Config::default()
            },
        ),
        (
            "password",
            Config {
                password: "secret\nx".into(),
                ..Config::default()
            },
        ),
        (
            "api_key",
            Config {
                api_key: Some("k\r".into()),
                ..Config::default()
            },
        ),
        (
            "host",
            Config {
                host: "h\u{1}".into(),
                ..Config::default()
            },
        ),
    ] {
        let e = cfg.check().unwrap_err();
        assert!(e.starts_with(field), "{e}");
        assert!(!e.contains("secret"), "{e}");
    }
}

#[tokio::test]
async fn a_declared_length_over_the_limit_fails_before_the_body_arrives() {
    // A header declaring 100 MB, then silence: the client must not wait for the body.
    let port = serve_once(|mut sock| async move {
        let header = format!("{}\u{1}01\u{1}{:010}", SERVER_VERSION, 100_000_000u64);
        sock.write_all(header.as_bytes()).await.unwrap();
        tokio::time::sleep(Duration::from_secs(30)).await;
    })
    .await;
    let cfg = Config {
        read_timeout: Duration::from_secs(20),
        ..loopback(port)
    };
    let started = Instant::now();
    let err = Session::connect(Arc::new(cfg)).await.err().expect("a frame too large");
    assert!(
        matches!(
            err,
            ClientError::Decode(baostock::error::DecodeError::FrameTooLarge { .. })
        ),
        "{err}"
    );
    assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
}
