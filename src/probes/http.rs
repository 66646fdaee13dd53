//! Minimal HTTP/1.1 and WebSocket-handshake probes over a plain TCP socket or TLS
//! (rustls), so a check can send any Host header (and SNI) to 127.0.0.1 — the proxy's
//! view of the domain — without relying on DNS or hairpin NAT.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, ClientConnection, RootCertStore, StreamOwned};

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

fn connect(addr: SocketAddr) -> std::io::Result<TcpStream> {
    let timeout = Duration::from_secs(5);
    let s = TcpStream::connect_timeout(&addr, timeout)?;
    s.set_read_timeout(Some(timeout))?;
    s.set_write_timeout(Some(timeout))?;
    Ok(s)
}

fn exchange(addr: SocketAddr, request: &str, read_body: bool) -> std::io::Result<Response> {
    let mut s = connect(addr)?;
    exchange_on(&mut s, request, read_body)
}

/// Writes the request and reads the head; for a body, reads until the server closes
/// (we send `Connection: close`). A TLS peer that closes without close_notify ends
/// the body too: the HTTP framing, not the TLS layer, is what this probe checks.
fn exchange_on(
    s: &mut impl ReadWrite,
    request: &str,
    read_body: bool,
) -> std::io::Result<Response> {
    s.write_all(request.as_bytes())?;
    s.flush()?;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = match s.read(&mut chunk) {
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof && !buf.is_empty() => 0,
            Err(e) => return Err(e),
        };
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

trait ReadWrite: Read + Write {}
impl<T: Read + Write> ReadWrite for T {}

fn parse(raw: &str) -> std::io::Result<Response> {
    let bad = || {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("not an HTTP response: {raw:.80}"),
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

fn get_request(host: &str, path: &str) -> String {
    format!(
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: mattermost-setup\r\nAccept: */*\r\nConnection: close\r\n\r\n"
    )
}

fn finish_body(mut r: Response) -> Response {
    if r.header("Transfer-Encoding")
        .is_some_and(|v| v.eq_ignore_ascii_case("chunked"))
    {
        r.body = dechunk(&r.body);
    }
    r
}

/// `GET path` with `Host: host`, body read to the end.
pub fn get(addr: SocketAddr, host: &str, path: &str) -> std::io::Result<Response> {
    Ok(finish_body(exchange(addr, &get_request(host, path), true)?))
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
    let req = websocket_request(host, path, origin);
    let r = exchange(addr, &req, false)?;
    Ok(upgrade_of(&r))
}

fn websocket_request(host: &str, path: &str, origin: &str) -> String {
    format!(
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: {WS_KEY}\r\nSec-WebSocket-Version: 13\r\nOrigin: {origin}\r\n\r\n"
    )
}

fn upgrade_of(r: &Response) -> Upgrade {
    Upgrade {
        status: r.status,
        accept_ok: r.header("Sec-WebSocket-Accept") == Some(WS_ACCEPT),
    }
}

/// A client configuration that trusts `roots` (system store plus any private CA),
/// speaks HTTP/1.1 and uses the ring provider (no process-wide default needed).
pub fn tls_client(roots: Arc<RootCertStore>) -> std::io::Result<Arc<ClientConfig>> {
    let mut cfg =
        ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .map_err(std::io::Error::other)?
            .with_root_certificates(roots)
            .with_no_client_auth();
    cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(cfg))
}

/// What the server presented in a verified TLS handshake.
#[derive(Debug, Clone)]
pub struct Handshake {
    /// The chain as sent, leaf first.
    pub chain: Vec<CertificateDer<'static>>,
    pub protocol: String,
}

fn connect_tls(
    addr: SocketAddr,
    sni: &str,
    cfg: &Arc<ClientConfig>,
) -> std::io::Result<StreamOwned<ClientConnection, TcpStream>> {
    let name = ServerName::try_from(sni.to_owned())
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
    let conn = ClientConnection::new(cfg.clone(), name).map_err(std::io::Error::other)?;
    let mut tls = StreamOwned::new(conn, connect(addr)?);
    // Complete the handshake now, so a certificate problem is reported as such.
    while tls.conn.is_handshaking() {
        tls.conn.complete_io(&mut tls.sock)?;
    }
    Ok(tls)
}

fn handshake_of(tls: &StreamOwned<ClientConnection, TcpStream>) -> Handshake {
    Handshake {
        chain: tls
            .conn
            .peer_certificates()
            .map(|c| c.iter().map(|d| d.clone().into_owned()).collect())
            .unwrap_or_default(),
        protocol: tls
            .conn
            .protocol_version()
            .map_or_else(|| "?".to_owned(), |v| format!("{v:?}")),
    }
}

/// [`get`] over TLS: the server's certificate must verify for `host` (also the SNI)
/// against the configuration's roots.
pub fn get_tls(
    addr: SocketAddr,
    host: &str,
    path: &str,
    cfg: &Arc<ClientConfig>,
) -> std::io::Result<(Response, Handshake)> {
    let mut tls = connect_tls(addr, host, cfg)?;
    let hs = handshake_of(&tls);
    let r = exchange_on(&mut tls, &get_request(host, path), true)?;
    Ok((finish_body(r), hs))
}

/// [`websocket`] over TLS (wss://).
pub fn websocket_tls(
    addr: SocketAddr,
    host: &str,
    path: &str,
    origin: &str,
    cfg: &Arc<ClientConfig>,
) -> std::io::Result<Upgrade> {
    let mut tls = connect_tls(addr, host, cfg)?;
    let r = exchange_on(&mut tls, &websocket_request(host, path, origin), false)?;
    Ok(upgrade_of(&r))
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

    /// A one-shot TLS server with a certificate for `names` from a fresh CA; returns
    /// the address and the CA to trust.
    fn serve_tls_once(
        names: &[&str],
        reply: &'static str,
    ) -> (SocketAddr, CertificateDer<'static>) {
        use crate::phases::tls::cert::testing::{ca, leaf};
        let ca = ca("Probe Test Root");
        let l = leaf(&ca, names, -1, 90);
        let key = rustls::pki_types::PrivateKeyDer::try_from(l.key_der.clone()).unwrap();
        let cfg = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![l.der.clone()], key)
        .unwrap();
        let cfg = Arc::new(cfg);
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        std::thread::spawn(move || {
            let (sock, _) = listener.accept().unwrap();
            let conn = rustls::ServerConnection::new(cfg).unwrap();
            let mut tls = StreamOwned::new(conn, sock);
            let mut buf = [0u8; 2048];
            if tls.read(&mut buf).is_ok() {
                let _ = tls.write_all(reply.as_bytes());
                tls.conn.send_close_notify();
                let _ = tls.flush();
            }
        });
        (addr, ca.der)
    }

    fn trusting(ca: CertificateDer<'static>) -> Arc<ClientConfig> {
        let mut roots = RootCertStore::empty();
        roots.add(ca).unwrap();
        tls_client(Arc::new(roots)).unwrap()
    }

    #[test]
    fn get_tls_verifies_the_certificate_and_reads_the_response() {
        let (addr, ca) = serve_tls_once(
            &["chat.example.com"],
            "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
        );
        let (r, hs) = get_tls(
            addr,
            "chat.example.com",
            "/api/v4/system/ping",
            &trusting(ca),
        )
        .unwrap();
        assert_eq!((r.status, r.body.as_str()), (200, "ok"));
        assert_eq!(hs.chain.len(), 1);
        assert!(hs.protocol.starts_with("TLSv1_"), "{}", hs.protocol);
    }

    #[test]
    fn get_tls_refuses_a_certificate_for_another_name_or_from_an_unknown_ca() {
        let (addr, ca) = serve_tls_once(&["other.example.com"], "HTTP/1.1 200 OK\r\n\r\n");
        let err = get_tls(addr, "chat.example.com", "/", &trusting(ca)).unwrap_err();
        assert!(
            err.to_string()
                .contains("not valid for name \"chat.example.com\""),
            "{err}"
        );
        let (addr, _) = serve_tls_once(&["chat.example.com"], "HTTP/1.1 200 OK\r\n\r\n");
        let other = crate::phases::tls::cert::testing::ca("Another Root").der;
        let err = get_tls(addr, "chat.example.com", "/", &trusting(other)).unwrap_err();
        assert!(
            err.to_string().contains("UnknownIssuer") || err.to_string().contains("unknown issuer"),
            "{err}"
        );
    }

    #[test]
    fn websocket_tls_checks_the_accept_key() {
        let (addr, ca) = serve_tls_once(
            &["chat.example.com"],
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n",
        );
        let u = websocket_tls(
            addr,
            "chat.example.com",
            "/api/v4/websocket",
            "https://chat.example.com",
            &trusting(ca),
        )
        .unwrap();
        assert_eq!(
            u,
            Upgrade {
                status: 101,
                accept_ok: true
            }
        );
    }
}
