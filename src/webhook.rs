//! Delivers an alert to `baostock.alert_webhook`: one JSON POST over plain HTTP/1.1, bounded
//! in time (5 s to connect, 5 s for the answer) and in what it reads (the status line).

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

const TIMEOUT: Duration = Duration::from_secs(5);

/// Where an `http://host[:port][/path]` URL points.
#[derive(Debug, PartialEq, Eq)]
pub struct Target {
    pub host: String,
    pub port: u16,
    pub path: String,
}

/// Parses the webhook URL; the error says what is wrong with it.
pub fn parse(url: &str) -> Result<Target, String> {
    let rest = match url.split_once("://") {
        Some(("http", rest)) => rest,
        Some((scheme, _)) => {
            return Err(format!(
                "{scheme}:// is not supported: use an http:// URL (a local relay such as a reverse proxy can forward to https)"
            ))
        }
        None => return Err("the URL has no scheme (http://...)".into()),
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    if authority.is_empty() || authority.contains('@') {
        return Err("the URL needs a host (and no user info)".into());
    }
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) if !h.ends_with(']') || h.starts_with('[') => {
            (h, p.parse::<u16>().map_err(|_| format!("bad port {p:?}"))?)
        }
        _ => (authority, 80),
    };
    if path.chars().any(|c| c.is_control() || c == ' ') || host.chars().any(|c| c.is_control()) {
        return Err("the URL contains spaces or control characters".into());
    }
    Ok(Target {
        host: host.trim_start_matches('[').trim_end_matches(']').to_owned(),
        port,
        path: path.to_owned(),
    })
}

/// POSTs `json` to the URL; `Ok` when the answer's status is 2xx.
pub fn post(url: &str, json: &str) -> Result<(), String> {
    let t = parse(url)?;
    let addr = (t.host.as_str(), t.port)
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve {}: {e}", t.host))?
        .next()
        .ok_or_else(|| format!("{} has no address", t.host))?;
    let mut stream = TcpStream::connect_timeout(&addr, TIMEOUT).map_err(|e| format!("cannot connect: {e}"))?;
    let _ = stream.set_read_timeout(Some(TIMEOUT));
    let _ = stream.set_write_timeout(Some(TIMEOUT));
    let request = format!(
        "POST {} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\nUser-Agent: pg_baostock\r\n\r\n{json}",
        t.path,
        t.host,
        json.len()
    );
    stream
        .write_all(request.as_bytes())
        .map_err(|e| format!("cannot send: {e}"))?;
    let mut head = [0u8; 64];
    let mut got = 0;
    while got < head.len() && !head[..got].contains(&b'\n') {
        match stream.read(&mut head[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) => return Err(format!("no answer: {e}")),
        }
    }
    let line = String::from_utf8_lossy(&head[..got]);
    let status = line.split_whitespace().nth(1).unwrap_or("");
    if status.starts_with('2') && status.len() == 3 {
        Ok(())
    } else {
        Err(format!("the webhook answered {:?}", line.lines().next().unwrap_or("")))
    }
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
        assert!(parse("https://example.com/x").unwrap_err().contains("not supported"));
        assert!(parse("example.com").is_err());
        assert!(parse("http://a:99999/").is_err());
        assert!(parse("http://a/b c").is_err());
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
        assert_eq!(post(&url, r#"{"kind":"stale"}"#), Ok(()));
        assert!(post(&url, "{}").unwrap_err().contains("500"));
        let bodies = server.join().unwrap();
        assert!(bodies[0].starts_with("POST /robot HTTP/1.1\r\n"), "{}", bodies[0]);
        assert!(bodies[0].ends_with("\r\n\r\n{\"kind\":\"stale\"}"), "{}", bodies[0]);
    }
}
