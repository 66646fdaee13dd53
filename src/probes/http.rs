//! Minimal HTTP/1.1 and WebSocket-handshake probes over a plain TCP socket, so a check
//! can send any Host header to 127.0.0.1 (the proxy's view of the domain) without
//! relying on DNS or hairpin NAT.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// RFC 6455's sample key and the accept value a correct server derives from it.
const WS_KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";
const WS_ACCEPT: &str = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

fn exchange(addr: SocketAddr, request: &str, read_body: bool) -> std::io::Result<Response> {
    let timeout = Duration::from_secs(5);
    let mut s = TcpStream::connect_timeout(&addr, timeout)?;
    s.set_read_timeout(Some(timeout))?;
    s.set_write_timeout(Some(timeout))?;
    s.write_all(request.as_bytes())?;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    // Read the head; for a body, read until close (we send Connection: close).
    loop {
        let n = s.read(&mut chunk)?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
        if !read_body && buf.windows(4).any(|w| w == b"\r\n\r\n") {
            break;
        }
        if buf.len() > 1 << 20 {
            break;
        }
    }
    parse(&String::from_utf8_lossy(&buf))
}

fn parse(raw: &str) -> std::io::Result<Response> {
    let bad = || {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("not an HTTP response: {:.80}", raw),
        )
    };
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((raw, ""));
    let mut lines = head.lines();
    let status_line = lines.next().ok_or_else(bad)?;
    let status = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(bad)?;
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    Ok(Response {
        status,
        headers,
        body: body.to_owned(),
    })
}

/// `GET path` with `Host: host`, body read to the end.
pub fn get(addr: SocketAddr, host: &str, path: &str) -> std::io::Result<Response> {
    let req = format!(
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: mattermost-setup\r\nAccept: */*\r\nConnection: close\r\n\r\n"
    );
    let mut r = exchange(addr, &req, true)?;
    if r.header("Transfer-Encoding")
        .is_some_and(|v| v.eq_ignore_ascii_case("chunked"))
    {
        r.body = dechunk(&r.body);
    }
    Ok(r)
}

fn dechunk(body: &str) -> String {
    let mut out = String::new();
    let mut rest = body;
    while let Some((size, after)) = rest.split_once("\r\n") {
        let Ok(n) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if n == 0 || after.len() < n {
            break;
        }
        out.push_str(&after[..n]);
        rest = after[n..].trim_start_matches("\r\n");
    }
    out
}

/// The outcome of a WebSocket opening handshake.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upgrade {
    pub status: u16,
    /// Sec-WebSocket-Accept matched the key we sent.
    pub accept_ok: bool,
}

/// Opens a WebSocket at `path` through whatever listens on `addr`, as a browser on
/// `origin` would.
pub fn websocket(
    addr: SocketAddr,
    host: &str,
    path: &str,
    origin: &str,
) -> std::io::Result<Upgrade> {
    let req = format!(
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: {WS_KEY}\r\nSec-WebSocket-Version: 13\r\nOrigin: {origin}\r\n\r\n"
    );
    let r = exchange(addr, &req, false)?;
    Ok(Upgrade {
        status: r.status,
        accept_ok: r.header("Sec-WebSocket-Accept") == Some(WS_ACCEPT),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    fn serve_once(reply: &'static str) -> SocketAddr {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        std::thread::spawn(move || {
            let (mut s, _) = l.accept().unwrap();
            let mut buf = [0u8; 2048];
            let _ = s.read(&mut buf).unwrap();
            s.write_all(reply.as_bytes()).unwrap();
        });
        addr
    }

    #[test]
    fn get_reads_status_headers_and_chunked_body() {
        let addr = serve_once(
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-Version-ID: 1\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
        );
        let r = get(addr, "chat.example.com", "/").unwrap();
        assert_eq!(r.status, 200);
        assert_eq!(r.header("x-version-id"), Some("1"));
        assert_eq!(r.body, "hello");
    }

    #[test]
    fn websocket_checks_the_accept_key() {
        let good = serve_once(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n",
        );
        assert_eq!(
            websocket(good, "h.example", "/api/v4/websocket", "http://h.example").unwrap(),
            Upgrade {
                status: 101,
                accept_ok: true
            }
        );
        let bad =
            serve_once("HTTP/1.1 101 Switching Protocols\r\nSec-WebSocket-Accept: nope\r\n\r\n");
        assert!(
            !websocket(bad, "h.example", "/api/v4/websocket", "http://h.example")
                .unwrap()
                .accept_ok
        );
    }
}
