//! The network side: accept loop, one task a connection, sessions, latency and faults.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use baostock::frame::{decode_request, Frame, MsgType};
use baostock::reply::codes;
use baostock::Limits;

use crate::controls::FaultMode;
use crate::handler::{self, Answer};
use crate::publication::Publication;
use crate::rng::{h2, h3};
use crate::Shared;

/// Largest request frame accepted.
const MAX_REQUEST_BYTES: usize = 64 * 1024;

pub(crate) async fn run(
    shared: Arc<Shared>,
    listener: std::net::TcpListener,
    control: Option<std::net::TcpListener>,
    mut stop: watch::Receiver<bool>,
) {
    let Ok(listener) = TcpListener::from_std(listener) else {
        return;
    };
    if let Some(c) = control {
        if let Ok(c) = TcpListener::from_std(c) {
            tokio::spawn(crate::control_port::serve(shared.clone(), c, stop.clone()));
        }
    }
    loop {
        tokio::select! {
            _ = stop.changed() => return,
            accepted = listener.accept() => {
                let Ok((stream, peer)) = accepted else {
                    // Out of descriptors and the like: back off a little.
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                };
                shared.controls.lock().counters.connections += 1;
                let s = shared.clone();
                let stop = stop.clone();
                tokio::spawn(async move {
                    let mut conn = Conn { shared: s, peer, logged_in: false };
                    conn.serve(stream, stop).await;
                    conn.end_session();
                });
            }
        }
    }
}

struct Conn {
    shared: Arc<Shared>,
    peer: SocketAddr,
    logged_in: bool,
}

/// What to do after handling one request.
enum Next {
    Continue,
    Close,
}

impl Conn {
    fn ip(&self) -> IpAddr {
        self.peer.ip()
    }

    fn end_session(&mut self) {
        if !self.logged_in {
            return;
        }
        self.logged_in = false;
        let ip = self.ip();
        let mut s = self.shared.controls.lock();
        s.counters.sessions_active = s.counters.sessions_active.saturating_sub(1);
        if let Some(n) = s.active_by_ip.get_mut(&ip) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                s.active_by_ip.remove(&ip);
            }
        }
    }

    async fn serve(&mut self, mut stream: TcpStream, mut stop: watch::Receiver<bool>) {
        let _ = stream.set_nodelay(true);
        let limits = Limits {
            max_frame_bytes: MAX_REQUEST_BYTES,
            ..Limits::default()
        };
        let mut buf: Vec<u8> = Vec::new();
        let mut chunk = vec![0u8; 16 * 1024];
        loop {
            match decode_request(&buf, &limits) {
                Ok(Some((frame, used))) => {
                    let raw: Vec<u8> = buf.drain(..used).collect();
                    match self.handle(&mut stream, &frame, &raw).await {
                        Next::Continue => continue,
                        Next::Close => return,
                    }
                }
                Ok(None) => {}
                Err(_) => {
                    // The framing is lost: say so and close.
                    let a = Answer::error("10004019", "消息格式不正确");
                    let _ = stream.write_all(&a.encode()).await;
                    return;
                }
            }
            let idle = self.shared.controls.lock().faults.idle_timeout;
            let read = async {
                match idle {
                    Some(d) => tokio::time::timeout(d, stream.read(&mut chunk)).await.ok(),
                    None => Some(stream.read(&mut chunk).await),
                }
            };
            let got = tokio::select! {
                _ = stop.changed() => return,
                r = read => r,
            };
            match got {
                None => {
                    self.count_fault("idle-drop");
                    return;
                }
                Some(Ok(0)) | Some(Err(_)) => return,
                Some(Ok(n)) => buf.extend_from_slice(&chunk[..n]),
            }
        }
    }

    fn count_fault(&self, name: &str) {
        let mut s = self.shared.controls.lock();
        s.counters.faults_injected += 1;
        *s.counters.faults_by_mode.entry(name.to_owned()).or_default() += 1;
    }

    /// Counts the request and picks its fault; returns (sequence number, fault).
    fn admit(&self, t: &str) -> (u64, Option<FaultMode>) {
        let seed = self.shared.seed;
        let mut s = self.shared.controls.lock();
        *s.counters.requests_by_type.entry(t.to_owned()).or_default() += 1;
        s.sequence += 1;
        let seq = s.sequence;
        let nth = {
            let n = s.seen.entry(t.to_owned()).or_default();
            *n += 1;
            *n
        };
        let mut fault = s
            .faults
            .script
            .iter()
            .find(|f| f.msg_type == t && f.nth == nth)
            .map(|f| f.mode);
        if fault.is_none() && t != "00" && t != "02" {
            for (mode, ppm) in &s.faults.rates {
                if h3(seed, seq, *mode as u64 + 1) % 1_000_000 < u64::from(*ppm) {
                    fault = Some(*mode);
                    break;
                }
            }
        }
        if let Some(m) = fault {
            s.counters.faults_injected += 1;
            *s.counters.faults_by_mode.entry(m.name().to_owned()).or_default() += 1;
        }
        (seq, fault)
    }

    /// Whether the peer is blacklisted now (expired entries are dropped).
    fn blacklisted(&self) -> bool {
        let ip = self.ip();
        let mut s = self.shared.controls.lock();
        match s.blacklist.get(&ip) {
            Some(until) if *until > Instant::now() => true,
            Some(_) => {
                s.blacklist.remove(&ip);
                false
            }
            None => false,
        }
    }

    fn login(&mut self) -> Result<(), Answer> {
        if self.logged_in {
            return Ok(());
        }
        let ip = self.ip();
        let mut s = self.shared.controls.lock();
        let active = s.active_by_ip.get(&ip).copied().unwrap_or(0);
        if let Some(max) = s.sessions.max_per_ip {
            if active >= max {
                s.counters.logins_refused += 1;
                if let Some(p) = s.sessions.blacklist_for {
                    s.blacklist.insert(ip, Instant::now() + p);
                    return Err(Answer::error(codes::BLACKLISTED, "黑名单用户"));
                }
                return Err(Answer::error(codes::LOGIN_LIMIT, "账号登陆数达到上限"));
            }
        }
        *s.active_by_ip.entry(ip).or_default() += 1;
        s.counters.sessions_total += 1;
        s.counters.sessions_active += 1;
        s.counters.peak_sessions = s.counters.peak_sessions.max(s.counters.sessions_active);
        self.logged_in = true;
        Ok(())
    }

    fn answer(&mut self, frame: &Frame, raw: &[u8]) -> Vec<u8> {
        if let Some(replay) = &self.shared.replay {
            return match replay.find(raw) {
                Some(c) => c.response.clone(),
                None => Answer::error(codes::WRONG_MSG_TYPE, "错误的消息类型").encode(),
            };
        }
        self.answer_synthetic(frame).encode()
    }

    fn answer_synthetic(&mut self, frame: &Frame) -> Answer {
        let t = frame.msg_type;
        if t != MsgType::LOGOUT && self.blacklisted() {
            return Answer::error(codes::BLACKLISTED, "黑名单用户");
        }
        let Some(n) = handler::arity(t) else {
            return handler::wrong_type();
        };
        let fields = frame.fields();
        match t {
            MsgType::LOGIN => {
                if fields.len() != n {
                    return handler::wrong_count();
                }
                if fields[1].is_empty() {
                    return Answer::error("10001008", "用户名为空");
                }
                if fields[2].is_empty() {
                    return Answer::error("10001009", "密码为空");
                }
                match self.login() {
                    Ok(()) => handler::session_reply(t, "login", fields[1], self.shared.controls.now()),
                    Err(a) => a,
                }
            }
            MsgType::LOGOUT => {
                if fields.len() != n {
                    return handler::wrong_count();
                }
                self.end_session();
                handler::session_reply(t, "logout", fields[1], self.shared.controls.now())
            }
            _ if !self.logged_in => Answer::error(codes::NOT_LOGGED_IN, "用户未登录"),
            _ => handler::answer_query(&self.shared.market, frame, self.shared.controls.current_publication()),
        }
    }

    /// The answer as if no day were published: the query's shape, no rows of days (logins
    /// and logouts are answered as usual).
    fn empty_answer(&mut self, frame: &Frame, raw: &[u8]) -> Vec<u8> {
        if !self.logged_in || matches!(frame.msg_type.as_str(), "00" | "02") {
            return self.answer(frame, raw);
        }
        handler::answer_query(&self.shared.market, frame, Publication::nothing()).encode()
    }

    async fn handle(&mut self, stream: &mut TcpStream, frame: &Frame, raw: &[u8]) -> Next {
        let t = frame.msg_type.as_str().to_owned();
        let (seq, fault) = self.admit(&t);
        let over_daily_limit = self.shared.controls.count_daily_request(self.ip());
        let mut bytes = if over_daily_limit {
            Answer::error(codes::BLACKLISTED, "黑名单用户").encode()
        } else if fault == Some(FaultMode::Empty) {
            self.empty_answer(frame, raw)
        } else {
            self.answer(frame, raw)
        };
        if fault == Some(FaultMode::ErrorFrame) {
            let code = self.shared.controls.lock().faults.error_code.clone();
            bytes = Answer::error(&code, "模拟故障").encode();
            if code == codes::NOT_LOGGED_IN {
                self.end_session();
            }
        }
        let (delay, faults) = {
            let s = self.shared.controls.lock();
            (
                s.latency.delay(&t, bytes.len(), h2(self.shared.seed ^ 0x1A7E, seq)),
                s.faults.clone(),
            )
        };
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        // Bytes are counted before they are handed to the socket, so a client that has read
        // an answer always sees it counted.
        let written = match fault {
            None | Some(FaultMode::ErrorFrame) | Some(FaultMode::Empty) => self.send(stream, &t, &bytes).await,
            Some(FaultMode::Reset) => {
                let _ = socket2::SockRef::from(&*stream).set_linger(Some(Duration::ZERO));
                return Next::Close;
            }
            Some(FaultMode::Fin) => {
                self.send(stream, &t, &bytes[..bytes.len() / 2]).await;
                let _ = stream.shutdown().await;
                drain(stream).await;
                return Next::Close;
            }
            Some(FaultMode::Silence) => {
                drain(stream).await;
                return Next::Close;
            }
            Some(FaultMode::Truncated) => {
                let out = truncate(&bytes);
                let n = self.send(stream, &t, &out).await;
                if n < out.len() {
                    return Next::Close;
                }
                bytes.len()
            }
            Some(FaultMode::CorruptZlib) => self.send(stream, &t, &corrupt(&bytes)).await,
            Some(FaultMode::SlowDrip) => {
                let mut n = 0;
                for c in bytes.chunks(faults.drip_chunk.max(1)) {
                    let w = self.send(stream, &t, c).await;
                    n += w;
                    if w < c.len() {
                        break;
                    }
                    tokio::time::sleep(faults.drip_interval).await;
                }
                n
            }
        };
        if written < bytes.len() {
            return Next::Close;
        }
        Next::Continue
    }

    /// Counts `bytes` as sent for request type `t`, then writes them.
    async fn send(&self, stream: &mut TcpStream, t: &str, bytes: &[u8]) -> usize {
        {
            let mut s = self.shared.controls.lock();
            *s.counters.bytes_by_type.entry(t.to_owned()).or_default() += bytes.len() as u64;
        }
        write(stream, bytes).await
    }
}

/// Writes everything it can; returns the bytes written.
async fn write(stream: &mut TcpStream, bytes: &[u8]) -> usize {
    match stream.write_all(bytes).await {
        Ok(()) => bytes.len(),
        Err(_) => 0,
    }
}

/// Reads and discards until the peer closes (or two minutes pass).
async fn drain(stream: &mut TcpStream) {
    let mut sink = vec![0u8; 4096];
    let _ = tokio::time::timeout(Duration::from_secs(120), async {
        loop {
            match stream.read(&mut sink).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    })
    .await;
}

/// A frame with part of its body cut out. Plain frames keep their header and trailer (the
/// declared length no longer matches); compressed frames get a header for the shorter zlib
/// stream, which then ends early.
fn truncate(frame: &[u8]) -> Vec<u8> {
    const H: usize = baostock::frame::HEADER_LEN;
    if frame.len() <= H + 4 {
        return frame[..frame.len() / 2].to_vec();
    }
    let compressed = MsgType::new([frame[8], frame[9]]).is_ok_and(|t| t.is_compressed_reply());
    if compressed {
        let len: usize = std::str::from_utf8(&frame[11..21])
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(0)
            .min(frame.len() - H);
        let keep = (len / 2).max(1);
        let mut out = frame[..11].to_vec();
        out.extend_from_slice(format!("{keep:010}").as_bytes());
        out.extend_from_slice(&frame[H..H + keep]);
        out.extend_from_slice(&frame[H + len..]);
        out
    } else {
        let body_end = frame.len() - baostock::frame::END_MARKER.len();
        let cut = (body_end - H) / 3;
        let mut out = frame[..H + cut].to_vec();
        out.extend_from_slice(&frame[H + 2 * cut..]);
        out
    }
}

/// A frame whose zlib stream (or, for plain frames, a body byte) is damaged.
fn corrupt(frame: &[u8]) -> Vec<u8> {
    const H: usize = baostock::frame::HEADER_LEN;
    let mut out = frame.to_vec();
    if out.len() <= H + 4 {
        return out;
    }
    let compressed = MsgType::new([frame[8], frame[9]]).is_ok_and(|t| t.is_compressed_reply());
    if compressed {
        // Past the 2-byte zlib header: garble the first block header and what follows.
        let end = (H + 12).min(out.len().saturating_sub(16)).max(H + 3).min(out.len());
        for b in &mut out[H + 2..end] {
            *b ^= 0xA5;
        }
    } else {
        let i = H + (out.len() - H - baostock::frame::END_MARKER.len()) / 2;
        out[i] = if out[i] == b'#' { b'%' } else { b'#' };
    }
    out
}
