//! JSON requests to Mattermost's REST API through the program's one HTTP client
//! (reqwest, see `probes::http`), over the local-mode Unix socket (no
//! authentication: the socket is 0600, owned by the service user) or over TCP (for
//! the login check). Request bodies — which carry the admin
//! password — go only into the socket; nothing here logs them.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;

use crate::probes::http;

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

/// Sends one JSON request with `client`; the body (which may carry the admin
/// password) goes only into the connection.
fn exchange(
    client: &http::Client,
    url: &str,
    host: &str,
    method: &str,
    body: Option<&Value>,
) -> std::io::Result<Response> {
    let method = reqwest::Method::from_bytes(method.as_bytes())
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
    let mut req = client
        .request(method, url)
        .header(reqwest::header::ACCEPT, "application/json")
        .header("X-Requested-With", "XMLHttpRequest");
    if let Some(b) = body {
        req = req
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(b.to_string());
    }
    let r = http::send(req, host)?;
    Ok(Response {
        status: r.status,
        headers: r.headers,
        body: serde_json::from_slice(&r.body).unwrap_or(Value::Null),
    })
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
        let client =
            http::build(http::client_builder(TIMEOUT, None)?.unix_socket(self.socket.clone()))?;
        exchange(
            &client,
            &format!("http://localhost{path}"),
            "localhost",
            method,
            body,
        )
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
    let client = http::build(http::client_builder(TIMEOUT, None)?.resolve(host, addr))?;
    let url = format!("http://{host}:{}{path}", addr.port());
    exchange(&client, &url, host, method, body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::os::unix::net::UnixListener;

    #[test]
    fn json_over_a_unix_socket_with_a_chunked_answer() {
        let dir = tempfile::tempdir().unwrap();
        let sock = dir.path().join("s");
        let l = UnixListener::bind(&sock).unwrap();
        let server = std::thread::spawn(move || {
            let (mut c, _) = l.accept().unwrap();
            // The head and the 18-byte body may come in separate writes.
            let (mut got, mut buf) = (Vec::new(), [0u8; 4096]);
            while got
                .windows(4)
                .position(|w| w == b"\r\n\r\n")
                .is_none_or(|i| got.len() < i + 4 + 18)
            {
                let n = c.read(&mut buf).unwrap();
                assert!(n > 0, "the client closed early");
                got.extend_from_slice(&buf[..n]);
            }
            let req = String::from_utf8_lossy(&got).into_owned();
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
        assert!(
            req.to_ascii_lowercase()
                .contains("\r\ncontent-length: 18\r\n"),
            "{req}"
        );
        assert!(req.ends_with("{\"password\":\"p w\"}"), "{req}");
        assert_eq!(r.status, 400);
        assert!(!r.ok());
        assert_eq!(r.error(), "400 No (x.y)");
    }
}
