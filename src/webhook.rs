//! Delivers alerts to `baostock.alert_webhook`: one JSON POST over plain HTTP/1.1 each, bounded
//! as a whole (name lookup, connect, send and the status line within [`DELIVERY_LIMIT`]), sent
//! from a thread of its own ([`Courier`]) so that a slow or dead relay never holds up the worker,
//! and retried with a growing pause ([`Backoff`]). Errors say what went wrong, never the URL's
//! parts (a query string may hold a token).

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The most one delivery may take, from the name lookup to the answer's status line.
pub const DELIVERY_LIMIT: Duration = Duration::from_secs(3);
/// The pause after a first failed delivery; each further failure doubles it, up to [`MAX_PAUSE`].
const FIRST_PAUSE: Duration = Duration::from_secs(2);
const MAX_PAUSE: Duration = Duration::from_secs(600);

/// Where an `http://host[:port][/path][?query]` URL points.
#[derive(Debug, PartialEq, Eq)]
pub struct Target {
    pub host: String,
    pub port: u16,
    pub path: String,
}

/// Parses the webhook URL; the error says what is wrong with it without quoting it.
pub fn parse(url: &str) -> Result<Target, String> {
    let rest = match url.split_once("://") {
        Some(("http", rest)) => rest,
        Some(("https", _)) => {
            return Err(
                "https:// is not supported: use an http:// URL (a local relay such as a reverse proxy can forward to https)"
                    .into(),
            )
        }
        Some(_) => return Err("the URL's scheme is not http://".into()),
        None => return Err("the URL has no scheme (http://...)".into()),
    };
    // The authority ends where the path, the query or the fragment begins.
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let path = match tail.split('#').next().unwrap_or("") {
        "" => "/".to_owned(),
        p if p.starts_with('?') => format!("/{p}"),
        p => p.to_owned(),
    };
    if authority.is_empty() || authority.contains('@') {
        return Err("the URL needs a host (and no user info)".into());
    }
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) if !h.ends_with(']') || h.starts_with('[') => (
            h,
            p.parse::<u16>()
                .ok()
                .filter(|p| *p > 0)
                .ok_or("the URL's port is not a number from 1 to 65535")?,
        ),
        _ => (authority, 80),
    };
    if path.chars().any(|c| c.is_control() || c == ' ') || host.chars().any(|c| c.is_control() || c == ' ') {
        return Err("the URL contains spaces or control characters".into());
    }
    Ok(Target {
        host: host.trim_start_matches('[').trim_end_matches(']').to_owned(),
        port,
        path,
    })
}

/// The time left before `deadline`, or an error naming the step that ran out of it.
fn left(deadline: Instant, step: &str) -> Result<Duration, String> {
    let d = deadline.saturating_duration_since(Instant::now());
    if d.is_zero() {
        Err(format!("no answer within {} s ({step})", DELIVERY_LIMIT.as_secs()))
    } else {
        Ok(d)
    }
}

/// Looks the host up on a thread of its own, so that a resolver that never answers costs at
/// most the time left.
fn resolve(host: &str, port: u16, deadline: Instant) -> Result<SocketAddr, String> {
    if let Ok(ip) = host.parse::<std::net::IpAddr>() {
        return Ok(SocketAddr::new(ip, port));
    }
    let (tx, rx) = mpsc::channel();
    let name = host.to_owned();
    std::thread::spawn(move || {
        let _ = tx.send((name.as_str(), port).to_socket_addrs().map(|mut a| a.next()));
    });
    match rx.recv_timeout(left(deadline, "looking up the host")?) {
        Ok(Ok(Some(addr))) => Ok(addr),
        Ok(Ok(None)) => Err("the webhook's host has no address".into()),
        Ok(Err(e)) => Err(format!("cannot look up the webhook's host: {}", e.kind())),
        Err(_) => Err(format!(
            "no answer within {} s (looking up the host)",
            DELIVERY_LIMIT.as_secs()
        )),
    }
}

/// POSTs `json` to the URL; `Ok` when the answer's status is 2xx. Takes at most `limit`.
pub fn post(url: &str, json: &str, limit: Duration) -> Result<(), String> {
    let deadline = Instant::now() + limit;
    let t = parse(url)?;
    let addr = resolve(&t.host, t.port, deadline)?;
    let mut stream = TcpStream::connect_timeout(&addr, left(deadline, "connecting")?)
        .map_err(|e| format!("cannot connect to the webhook: {}", e.kind()))?;
    let request = format!(
        "POST {} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\nUser-Agent: pg_baostock\r\n\r\n{json}",
        t.path,
        t.host,
        json.len()
    );
    let _ = stream.set_write_timeout(Some(left(deadline, "sending")?));
    stream
        .write_all(request.as_bytes())
        .map_err(|e| format!("cannot send to the webhook: {}", e.kind()))?;
    let mut head = [0u8; 64];
    let mut got = 0;
    while got < head.len() && !head[..got].contains(&b'\n') {
        let _ = stream.set_read_timeout(Some(left(deadline, "reading the answer")?));
        match stream.read(&mut head[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {
                return Err(format!("no answer within {} s", limit.as_secs()))
            }
            Err(e) => return Err(format!("no answer from the webhook: {}", e.kind())),
        }
    }
    let line = String::from_utf8_lossy(&head[..got]);
    let status = line.split_whitespace().nth(1).unwrap_or("");
    if status.starts_with('2') && status.len() == 3 {
        Ok(())
    } else if status.len() == 3 && status.bytes().all(|b| b.is_ascii_digit()) {
        Err(format!("the webhook answered HTTP {status}"))
    } else {
        Err("the webhook's answer is not HTTP".into())
    }
}

/// An alert to deliver.
pub struct Parcel {
    pub id: i64,
    pub url: String,
    pub json: String,
}

/// Delivers alerts on a thread of its own: the worker hands them over and collects what became
/// of them later, never waiting for a relay.
pub struct Courier {
    to: mpsc::Sender<Parcel>,
    back: mpsc::Receiver<(i64, Result<(), String>)>,
}

impl Courier {
    pub fn start() -> Courier {
        let (to, parcels) = mpsc::channel::<Parcel>();
        let (done, back) = mpsc::channel();
        std::thread::spawn(move || {
            for p in parcels {
                if done.send((p.id, post(&p.url, &p.json, DELIVERY_LIMIT))).is_err() {
                    return;
                }
            }
        });
        Courier { to, back }
    }

    /// Queues a delivery; false when the thread is gone.
    pub fn send(&self, parcel: Parcel) -> bool {
        self.to.send(parcel).is_ok()
    }

    /// The deliveries that ended since the last call.
    pub fn delivered(&self) -> Vec<(i64, Result<(), String>)> {
        self.back.try_iter().collect()
    }
}

/// When each undelivered alert may be tried again: at once the first time, then after a pause
/// that doubles with each failure; one in flight is not sent again until it ends.
#[derive(Default)]
pub struct Backoff {
    alerts: HashMap<i64, (u32, Option<Instant>)>,
}

impl Backoff {
    /// Whether alert `id` may be sent now (and if so, marks it in flight).
    pub fn take(&mut self, id: i64, now: Instant) -> bool {
        let e = self.alerts.entry(id).or_insert((0, Some(now)));
        match e.1 {
            Some(at) if at <= now => {
                e.1 = None;
                true
            }
            _ => false,
        }
    }

    /// Records how a delivery ended.
    pub fn ended(&mut self, id: i64, ok: bool, now: Instant) {
        if ok {
            self.alerts.remove(&id);
        } else if let Some(e) = self.alerts.get_mut(&id) {
            e.1 = Some(now + pause_after(e.0 + 1));
            e.0 += 1;
        }
    }

    /// Forgets alerts no longer pending (delivered or cleared elsewhere).
    pub fn keep_only(&mut self, pending: &[i64]) {
        self.alerts
            .retain(|id, (_, next)| next.is_none() || pending.contains(id));
    }
}

/// The pause after `failures` failed deliveries of one alert.
pub fn pause_after(failures: u32) -> Duration {
    FIRST_PAUSE
        .saturating_mul(1 << failures.saturating_sub(1).min(16))
        .min(MAX_PAUSE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert_eq!(
            parse("http://127.0.0.1:8080/hook?x=1"),
            Ok(Target {
                host: "127.0.0.1".into(),
                port: 8080,
                path: "/hook?x=1".into()
            })
        );
        assert_eq!(parse("http://example.com").unwrap().port, 80);
        assert_eq!(
            parse("http://relay:8080?access_token=abc#frag"),
            Ok(Target {
                host: "relay".into(),
                port: 8080,
                path: "/?access_token=abc".into()
            })
        );
        assert!(parse("https://example.com/x").unwrap_err().contains("not supported"));
        assert!(parse("example.com").is_err());
        assert!(parse("http://a:99999/").is_err());
        assert!(parse("http://a:0/").is_err());
        assert!(parse("http://a/b c").is_err());
    }

    #[test]
    fn errors_never_quote_the_url() {
        for url in [
            "http://relay:80x80?access_token=s3cr3t",
            "http://relay:8080/hook?access_token=s3cr3t x",
            "http://user:s3cr3t@relay/",
            "s3cr3t://relay/",
            "http://s3cr3t.invalid:1/",
        ] {
            let e = post(url, "{}", Duration::from_secs(2)).unwrap_err();
            assert!(!e.contains("s3cr3t"), "{url}: {e}");
        }
    }

    #[test]
    fn a_post_reaches_a_local_server_and_a_500_is_an_error() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = std::thread::spawn(move || {
            let mut bodies = Vec::new();
            for status in ["204 No Content", "500 Internal Server Error"] {
                let (mut s, _) = listener.accept().unwrap();
                let mut buf = vec![0u8; 4096];
                let n = s.read(&mut buf).unwrap();
                bodies.push(String::from_utf8_lossy(&buf[..n]).into_owned());
                s.write_all(format!("HTTP/1.1 {status}\r\nContent-Length: 0\r\n\r\n").as_bytes())
                    .unwrap();
            }
            bodies
        });
        let url = format!("http://127.0.0.1:{port}/robot");
        assert_eq!(post(&url, r#"{"kind":"stale"}"#, DELIVERY_LIMIT), Ok(()));
        assert!(post(&url, "{}", DELIVERY_LIMIT).unwrap_err().contains("500"));
        let bodies = server.join().unwrap();
        assert!(bodies[0].starts_with("POST /robot HTTP/1.1\r\n"), "{}", bodies[0]);
        assert!(bodies[0].ends_with("\r\n\r\n{\"kind\":\"stale\"}"), "{}", bodies[0]);
    }

    /// A relay that drips its answer a byte at a time, each within the old per-read timeout,
    /// held one delivery for minutes: now the whole delivery ends at its limit.
    #[test]
    fn a_dripping_relay_holds_a_delivery_no_longer_than_its_limit() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let (stop_tx, stop_rx) = mpsc::channel::<()>();
        let server = std::thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf);
            // One byte of a status line every 400 ms, never a newline, until told to stop.
            while stop_rx.recv_timeout(Duration::from_millis(400)).is_err() {
                if s.write_all(b"H").is_err() {
                    return;
                }
            }
        });
        let limit = Duration::from_secs(1);
        let started = Instant::now();
        let e = post(&format!("http://127.0.0.1:{port}/"), "{}", limit).unwrap_err();
        let took = started.elapsed();
        stop_tx.send(()).unwrap();
        server.join().unwrap();
        assert!(e.contains("no answer within"), "{e}");
        // 64 bytes at 400 ms each would be 25 s; the limit ends it at 1 s (slack for a busy machine).
        assert!(took < Duration::from_secs(10), "the delivery took {took:?}");
    }

    #[test]
    fn failed_deliveries_wait_longer_each_time_and_one_in_flight_is_not_sent_again() {
        let mut b = Backoff::default();
        let t0 = Instant::now();
        assert!(b.take(7, t0));
        assert!(!b.take(7, t0 + Duration::from_secs(100)), "in flight");
        b.ended(7, false, t0);
        assert!(!b.take(7, t0 + Duration::from_millis(1999)));
        assert!(b.take(7, t0 + FIRST_PAUSE));
        b.ended(7, false, t0 + FIRST_PAUSE);
        assert!(!b.take(7, t0 + FIRST_PAUSE + Duration::from_millis(3999)));
        assert!(b.take(7, t0 + FIRST_PAUSE * 3));
        b.ended(7, true, t0 + FIRST_PAUSE * 3);
        assert!(b.take(7, t0 + FIRST_PAUSE * 3), "delivered: forgotten");
        assert_eq!(pause_after(1), FIRST_PAUSE);
        assert_eq!(pause_after(2), FIRST_PAUSE * 2);
        assert_eq!(pause_after(40), MAX_PAUSE);
    }
}
