//! A minimal HTTP/1.1 JSON client for Mattermost's REST API, over the local-mode
//! Unix socket (no authentication: the socket is 0600, owned by the service user)
//! or over TCP (for the login check). Request bodies — which carry the admin
//! password — go only into the socket; nothing here logs them.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;

const TIMEOUT: Duration = Duration::from_secs(30);

/// A response: status and JSON body (`Null` when the body is not JSON).
#[derive(Debug, Clone, PartialEq)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Value,
}

impl Response {
    pub fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// `message (id)` of Mattermost's error body, or the raw status.
    pub fn error(&self) -> String {
        match (self.body["message"].as_str(), self.body["id"].as_str()) {
            (Some(m), Some(id)) => format!("{} {m} ({id})", self.status),
            (Some(m), None) => format!("{} {m}", self.status),
            _ => format!("HTTP {}", self.status),
        }
    }

    pub fn str(&self, key: &str) -> &str {
        self.body[key].as_str().unwrap_or("")
    }
}

fn dechunk(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut rest = body;
    while let Some(eol) = rest.windows(2).position(|w| w == b"\r\n") {
        let size = std::str::from_utf8(&rest[..eol])
            .ok()
            .and_then(|s| usize::from_str_radix(s.split(';').next().unwrap_or("").trim(), 16).ok());
        let Some(n) = size.filter(|n| *n > 0) else {
            break;
        };
        let start = eol + 2;
        if rest.len() < start + n {
            break;
        }
        out.extend_from_slice(&rest[start..start + n]);
        rest = rest.get(start + n + 2..).unwrap_or_default();
    }
    out
}

fn parse(raw: &[u8]) -> std::io::Result<Response> {
    let bad = || std::io::Error::new(std::io::ErrorKind::InvalidData, "not an HTTP response");
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(bad)?;
    let head = String::from_utf8_lossy(&raw[..split]);
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .ok_or_else(bad)?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let mut body = raw[split + 4..].to_vec();
    if headers.iter().any(|(k, v)| {
        k.eq_ignore_ascii_case("transfer-encoding") && v.eq_ignore_ascii_case("chunked")
    }) {
        body = dechunk(&body);
    }
    Ok(Response {
        status,
        headers,
        body: serde_json::from_slice(&body).unwrap_or(Value::Null),
    })
}

fn exchange<S: Read + Write>(
    mut s: S,
    host: &str,
    method: &str,
    path: &str,
    body: Option<&Value>,
) -> std::io::Result<Response> {
    let payload = body.map(Value::to_string).unwrap_or_default();
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: mattermost-setup\r\nAccept: application/json\r\n\
         X-Requested-With: XMLHttpRequest\r\nConnection: close\r\nContent-Length: {}\r\n",
        payload.len()
    );
    if body.is_some() {
        req.push_str("Content-Type: application/json\r\n");
    }
    req.push_str("\r\n");
    let mut bytes = req.into_bytes();
    bytes.extend_from_slice(payload.as_bytes());
    s.write_all(&bytes)?;
    s.flush()?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw)?;
    parse(&raw)
}

/// Mattermost's local-mode API on its Unix socket.
#[derive(Debug, Clone)]
pub struct LocalApi {
    socket: PathBuf,
}

impl LocalApi {
    pub fn new(socket: &Path) -> Self {
        Self {
            socket: socket.to_owned(),
        }
    }

    pub fn request(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
    ) -> std::io::Result<Response> {
        let s = UnixStream::connect(&self.socket)?;
        s.set_read_timeout(Some(TIMEOUT))?;
        s.set_write_timeout(Some(TIMEOUT))?;
        exchange(s, "localhost", method, path, body)
    }
}

/// A request to the API over TCP (Mattermost's `ListenAddress`).
pub fn tcp_request(
    addr: SocketAddr,
    host: &str,
    method: &str,
    path: &str,
    body: Option<&Value>,
) -> std::io::Result<Response> {
    let s = TcpStream::connect_timeout(&addr, TIMEOUT)?;
    s.set_read_timeout(Some(TIMEOUT))?;
    s.set_write_timeout(Some(TIMEOUT))?;
    exchange(s, host, method, path, body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::net::UnixListener;

    #[test]
    fn json_over_a_unix_socket_with_a_chunked_answer() {
        let dir = tempfile::tempdir().unwrap();
        let sock = dir.path().join("s");
        let l = UnixListener::bind(&sock).unwrap();
        let server = std::thread::spawn(move || {
            let (mut c, _) = l.accept().unwrap();
            let mut buf = vec![0u8; 4096];
            let n = c.read(&mut buf).unwrap();
            let req = String::from_utf8_lossy(&buf[..n]).into_owned();
            c.write_all(
                b"HTTP/1.1 400 Bad Request\r\nTransfer-Encoding: chunked\r\n\r\n\
                  19\r\n{\"id\":\"x.y\",\"message\":\"No\r\n2\r\n\"}\r\n0\r\n\r\n",
            )
            .unwrap();
            req
        });
        let r = LocalApi::new(&sock)
            .request(
                "POST",
                "/api/v4/users",
                Some(&serde_json::json!({"password": "p w"})),
            )
            .unwrap();
        let req = server.join().unwrap();
        assert!(req.starts_with("POST /api/v4/users HTTP/1.1\r\n"), "{req}");
        assert!(req.contains("Content-Length: 18\r\n"), "{req}");
        assert!(req.ends_with("{\"password\":\"p w\"}"), "{req}");
        assert_eq!(r.status, 400);
        assert!(!r.ok());
        assert_eq!(r.error(), "400 No (x.y)");
    }
}
