//! One session: a TCP connection and a login, reconnected transparently after a failure.

use std::io;
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::{sleep_until, timeout, Instant};

use super::{ClientError, Config, Result, SessionSlot};
use crate::error::DecodeError;
use crate::frame::declared_len;
use crate::reply::{codes, decode_reply, Reply, Table};
use crate::request::Request;

/// Bytes asked of the socket per read.
const READ_CHUNK: usize = 64 * 1024;

/// The longest a logout waits for the server's answer before the slot is given back anyway.
const LOGOUT_GRACE: Duration = Duration::from_secs(1);
/// How often a session waiting for a gate slot asks again.
const SLOT_POLL: Duration = Duration::from_millis(20);

struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
}

/// A logged-in connection. After any network or protocol failure the connection is dropped,
/// and the next request connects and logs in again.
pub struct Session {
    cfg: Arc<Config>,
    conn: Option<Conn>,
    last_sent: Option<Instant>,
    requests: u64,
    bytes_in: u64,
    /// The slot of `Config::gate` this session holds while connected.
    slot: Option<SessionSlot>,
}

impl Session {
    /// A session that connects on its first request.
    pub fn new(cfg: Arc<Config>) -> Session {
        Session {
            cfg,
            conn: None,
            last_sent: None,
            requests: 0,
            bytes_in: 0,
            slot: None,
        }
    }

    /// Connects and logs in now.
    pub async fn connect(cfg: Arc<Config>) -> Result<Session> {
        let mut s = Session::new(cfg);
        let limit = s.cfg.request_timeout;
        let deadline = Instant::now() + limit;
        match timeout(limit, s.ensure_connected(deadline)).await {
            Ok(r) => r?,
            Err(_) => {
                return Err(ClientError::Timeout {
                    what: "request",
                    after: limit,
                })
            }
        }
        Ok(s)
    }

    /// Logs in now unless connected already, within the whole-request timeout.
    pub async fn login(&mut self) -> Result<()> {
        let limit = self.cfg.request_timeout;
        let deadline = Instant::now() + limit;
        match timeout(limit, self.ensure_connected(deadline)).await {
            Ok(r) => r,
            Err(_) => {
                self.disconnect();
                Err(ClientError::Timeout {
                    what: "request",
                    after: limit,
                })
            }
        }
    }

    /// Whether a live connection is held.
    pub fn is_connected(&self) -> bool {
        self.conn.is_some()
    }

    /// Requests written to the server so far, logins and logouts included.
    pub fn requests(&self) -> u64 {
        self.requests
    }

    /// Response bytes received so far.
    pub fn bytes_in(&self) -> u64 {
        self.bytes_in
    }

    /// Sends one request and reads its reply, within the whole-request timeout. A server
    /// error comes back as `ClientError::Server`.
    pub async fn request(&mut self, req: &Request) -> Result<Reply> {
        let deadline = Instant::now() + self.cfg.request_timeout;
        let result = match timeout(self.cfg.request_timeout, self.request_inner(req, deadline)).await {
            Ok(r) => r,
            Err(_) => Err(ClientError::Timeout {
                what: "request",
                after: self.cfg.request_timeout,
            }),
        };
        match result {
            Ok(Reply::Error(e)) => {
                if e.code == codes::NOT_LOGGED_IN {
                    self.disconnect();
                }
                Err(ClientError::Server(e))
            }
            Ok(reply) => Ok(reply),
            Err(e) => {
                // Whatever state the stream is in, it is not to be trusted again.
                self.disconnect();
                Err(e)
            }
        }
    }

    /// Fetches every page of a paged query, following the official client's rule: ask for the
    /// next page only while a page comes back with exactly `per_page` rows.
    pub async fn query_all(&mut self, req: &Request) -> Result<Vec<Table>> {
        let mut pages = Vec::new();
        let mut rows = 0usize;
        let mut next = req.clone();
        loop {
            let table = match self.request(&next).await? {
                Reply::Table(t) => t,
                other => return Err(unexpected(req, &other)),
            };
            let asked = next.page();
            // A server that ignores the page number would otherwise be paged forever.
            if let (Some(a), Some(got)) = (asked, table.page) {
                if got.page != a.page {
                    return Err(ClientError::Unexpected {
                        method: req.method().to_owned(),
                        what: format!("page {} in answer to page {}", got.page, a.page),
                    });
                }
            }
            rows += table.len();
            if rows > self.cfg.limits.max_rows {
                return Err(ClientError::Decode(crate::error::DecodeError::TooManyRows {
                    limit: self.cfg.limits.max_rows,
                }));
            }
            let full = match (asked, table.page) {
                (Some(a), Some(_)) => table.len() == a.per_page as usize,
                _ => false,
            };
            let page_no = asked.map(|p| p.page).unwrap_or(1);
            pages.push(table);
            if !full {
                return Ok(pages);
            }
            next = next.with_page(page_no + 1);
        }
    }

    /// Logs out and closes the connection, if one is open: the logout is written, our side
    /// shut, and the gate slot held until the server has answered or closed (it counts the
    /// session until it reads the logout; a slot given back earlier lets another process log
    /// in while the server still counts this one), `LOGOUT_GRACE` at most. Errors are
    /// ignored: the server drops idle sessions on its own.
    pub async fn logout(&mut self) {
        if self.conn.is_none() {
            return;
        }
        let time = chrono::DateTime::<chrono::Utc>::from(SystemTime::now()) + chrono::Duration::hours(8);
        let req = Request::Logout {
            user: self.cfg.user.clone(),
            time: time.format("%Y%m%d%H%M%S").to_string(),
        };
        let deadline = Instant::now() + self.cfg.read_timeout.min(Duration::from_secs(5));
        if timeout(deadline - Instant::now(), self.send(&req, deadline))
            .await
            .is_ok_and(|r| r.is_ok())
        {
            if let Some(conn) = self.conn.as_mut() {
                let _ = timeout(deadline - Instant::now(), conn.stream.shutdown()).await;
                let grace = deadline.min(Instant::now() + LOGOUT_GRACE);
                let _ = timeout(grace - Instant::now(), answered_or_closed(&mut conn.stream)).await;
            }
        }
        self.disconnect();
    }

    async fn request_inner(&mut self, req: &Request, deadline: Instant) -> Result<Reply> {
        self.ensure_connected(deadline).await?;
        let mut req = req.clone();
        req.set_user(&self.cfg.user);
        self.exchange(&req, deadline).await
    }

    /// Drops the connection and gives back its gate slot.
    fn disconnect(&mut self) {
        self.conn = None;
        self.slot = None;
    }

    /// Waits for a slot of the configured gate (polling: slots are held across processes).
    async fn take_slot(&mut self, deadline: Instant) -> Result<()> {
        let Some(gate) = self.cfg.gate.clone() else {
            return Ok(());
        };
        let started = Instant::now();
        while self.slot.is_none() {
            self.slot = gate.try_acquire();
            if self.slot.is_none() {
                if Instant::now() >= deadline {
                    return Err(ClientError::Timeout {
                        what: "waiting for a free session slot",
                        after: started.elapsed(),
                    });
                }
                sleep_until((Instant::now() + SLOT_POLL).min(deadline)).await;
            }
        }
        Ok(())
    }

    async fn ensure_connected(&mut self, deadline: Instant) -> Result<()> {
        if self.conn.is_some() {
            return Ok(());
        }
        self.take_slot(deadline).await?;
        let addr = format!("{}:{}", self.cfg.host, self.cfg.port);
        let wait = self
            .cfg
            .connect_timeout
            .min(deadline.saturating_duration_since(Instant::now()));
        let (host, port) = (self.cfg.host.clone(), self.cfg.port);
        let connect = async move {
            let addrs = resolve(&host, port, |target| target.to_socket_addrs().map(Iterator::collect)).await?;
            TcpStream::connect(&addrs[..]).await
        };
        let stream = match timeout(wait, connect).await {
            Ok(Ok(s)) => s,
            Ok(Err(source)) => return Err(ClientError::Connect { addr, source }),
            Err(_) => {
                return Err(ClientError::Timeout {
                    what: "connect",
                    after: wait,
                })
            }
        };
        let _ = stream.set_nodelay(true);
        self.conn = Some(Conn {
            stream,
            buf: Vec::new(),
        });
        let login = Request::Login {
            user: self.cfg.user.clone(),
            password: self.cfg.password.as_str().into(),
            options: self.cfg.api_key.as_deref().unwrap_or("0").into(),
        };
        match self.exchange(&login, deadline).await {
            Ok(Reply::Login { server_time, .. }) => {
                if let Some(gate) = &self.cfg.gate {
                    gate.server_time(&server_time);
                }
                Ok(())
            }
            Ok(Reply::Error(e)) => {
                self.disconnect();
                Err(ClientError::Server(e))
            }
            Ok(other) => {
                self.disconnect();
                Err(unexpected(&login, &other))
            }
            Err(e) => {
                self.disconnect();
                Err(e)
            }
        }
    }

    /// Writes one request and reads one whole reply on the current connection.
    /// Writes one request (after the configured interval since the last one).
    async fn send(&mut self, req: &Request, deadline: Instant) -> Result<()> {
        if let Some(last) = self.last_sent {
            sleep_until((last + self.cfg.min_interval).min(deadline)).await;
        }
        if let Some(gate) = &self.cfg.gate {
            gate.admit().map_err(ClientError::Refused)?;
        }
        let frame = req.encode(&self.cfg.client_version);
        let read_timeout = self.cfg.read_timeout;
        let conn = self.conn.as_mut().ok_or(ClientError::Closed { mid_frame: false })?;
        conn.buf.clear();
        self.last_sent = Some(Instant::now());
        self.requests += 1;
        match timeout(read_timeout, conn.stream.write_all(&frame)).await {
            Ok(r) => Ok(r?),
            Err(_) => Err(ClientError::Timeout {
                what: "write",
                after: read_timeout,
            }),
        }
    }

    /// Writes one request and reads its reply.
    async fn exchange(&mut self, req: &Request, deadline: Instant) -> Result<Reply> {
        self.send(req, deadline).await?;
        let read_timeout = self.cfg.read_timeout;
        let limits = self.cfg.limits.clone();
        let conn = self.conn.as_mut().ok_or(ClientError::Closed { mid_frame: false })?;
        let mut chunk = vec![0u8; READ_CHUNK];
        let mut header_checked = false;
        loop {
            let n = match timeout(read_timeout, conn.stream.read(&mut chunk)).await {
                Ok(r) => r?,
                Err(_) => {
                    return Err(ClientError::Timeout {
                        what: "read",
                        after: read_timeout,
                    })
                }
            };
            if n == 0 {
                return Err(ClientError::Closed {
                    mid_frame: !conn.buf.is_empty(),
                });
            }
            self.bytes_in += n as u64;
            conn.buf.extend_from_slice(&chunk[..n]);
            // The declared length is checked as soon as the header is in; after that, decode
            // only when a frame's final `\n` has arrived, so a slow drip does not rescan the
            // buffer for each byte.
            if !header_checked {
                if let Some(least) = declared_len(&conn.buf)? {
                    if least > limits.max_frame_bytes {
                        return Err(DecodeError::FrameTooLarge {
                            limit: limits.max_frame_bytes,
                        }
                        .into());
                    }
                    header_checked = true;
                }
            }
            if !chunk[..n].contains(&b'\n') && conn.buf.len() < limits.max_frame_bytes {
                continue;
            }
            if let Some((reply, used)) = decode_reply(&conn.buf, &limits)? {
                if let (Reply::Error(e), Some(gate)) = (&reply, &self.cfg.gate) {
                    if e.code == codes::BLACKLISTED {
                        gate.blacklisted();
                    }
                }
                if used != conn.buf.len() {
                    return Err(ClientError::Unexpected {
                        method: req.method().to_owned(),
                        what: format!("{} bytes after the response", conn.buf.len() - used),
                    });
                }
                conn.buf.clear();
                return Ok(reply);
            }
        }
    }
}

/// Reads until the end of a reply frame or the peer's close (what it says is not kept; a
/// reply longer than a logout's is not waited for to its end).
async fn answered_or_closed(stream: &mut TcpStream) {
    let mut chunk = [0u8; 512];
    let mut seen = 0usize;
    while let Ok(n) = stream.read(&mut chunk).await {
        seen += n;
        if n == 0 || chunk[..n].contains(&b'\n') || seen > 64 * 1024 {
            return;
        }
    }
}

/// The addresses of `host`: an IP address as it is; a name through `lookup` on a thread of its
/// own that nobody waits for, so a cancel or a timeout is not held up by a slow resolver and a
/// runtime shutting down does not wait for it either.
async fn resolve<F>(host: &str, port: u16, lookup: F) -> io::Result<Vec<SocketAddr>>
where
    F: FnOnce(String) -> io::Result<Vec<SocketAddr>> + Send + 'static,
{
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(vec![SocketAddr::new(ip, port)]);
    }
    let (tx, rx) = tokio::sync::oneshot::channel();
    let target = format!("{host}:{port}");
    std::thread::Builder::new()
        .name("baostock resolver".into())
        .spawn(move || {
            let _ = tx.send(lookup(target));
        })?;
    let addrs = rx
        .await
        .map_err(|_| io::Error::other("the resolver thread ended without an answer"))??;
    if addrs.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!("{host} has no address"),
        ));
    }
    Ok(addrs)
}

fn unexpected(req: &Request, reply: &Reply) -> ClientError {
    let what = match reply {
        Reply::Login { .. } => "a login reply".to_owned(),
        Reply::Logout { .. } => "a logout reply".to_owned(),
        Reply::Error(e) => format!("error {}", e.code),
        Reply::Table(t) => format!("rows of {}", t.method),
    };
    ClientError::Unexpected {
        method: req.method().to_owned(),
        what,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ip_address_is_not_looked_up() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let addrs = rt
            .block_on(resolve("127.0.0.1", 10030, |_| panic!("looked up")))
            .unwrap();
        assert_eq!(addrs, vec![SocketAddr::from(([127, 0, 0, 1], 10030))]);
    }

    #[test]
    fn a_slow_lookup_holds_up_neither_a_timeout_nor_the_runtime() {
        let started = std::time::Instant::now();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let out = rt.block_on(async {
            let slow = resolve("resolver.example", 1, |_| {
                std::thread::sleep(Duration::from_secs(5));
                Ok(Vec::new())
            });
            timeout(Duration::from_millis(100), slow).await
        });
        assert!(out.is_err(), "the lookup should have timed out");
        drop(rt);
        // With spawn_blocking (tokio's resolver) dropping the runtime would wait the 5 s out.
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "took {:?}",
            started.elapsed()
        );
    }
}
