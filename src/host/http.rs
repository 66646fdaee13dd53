//! HTTP probes. Requests go through reqwest (one client per probe, the domain resolved
//! to a loopback address with `resolve()`, so a check can send the public Host header
//! and SNI to 127.0.0.1 — the proxy's view of the domain — without DNS or hairpin
//! NAT). The WebSocket opening handshake keeps a raw socket: a `101 Switching
//! Protocols` answer hands the connection over, which an HTTP client cannot report;
//! only its head is read, and parsed with `httparse`.

#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, ClientConnection, RootCertStore, StreamOwned};

/// RFC 6455's sample key and the accept value a correct server derives from it.
const WS_KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";
const WS_ACCEPT: &str = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";
/// Every probe's connect, read and whole-request deadline.
const TIMEOUT: Duration = Duration::from_secs(5);
/// A probe reads at most this much of a body or a response head.
const MAX_BODY: u64 = 1 << 20;
const USER_AGENT: &str = concat!("mattermost-setup/", env!("CARGO_PKG_VERSION"));

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

/// An error and its causes on one line ("error sending request: ...: Connection
/// refused"), so the operator sees why, not only that, a request failed.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let next = c.to_string();
        // io::Error wrappers repeat their inner error's text.
        if !s.ends_with(&next) {
            s.push_str(": ");
            s.push_str(&next);
        }
        cur = c.source();
    }
    s
}

fn io_error(e: &reqwest::Error) -> std::io::Error {
    let kind = if e.is_timeout() {
        std::io::ErrorKind::TimedOut
    } else if e.is_connect() {
        std::io::ErrorKind::ConnectionRefused
    } else {
        std::io::ErrorKind::Other
    };
    std::io::Error::new(kind, error_chain(e))
}

/// The one way this program builds an HTTP client for talking to this box:
/// HTTP/1.1, no proxy, redirects reported not followed, `timeout` for connecting and
/// for each read, TLS (when the URL is https) with `tls` or an empty trust store.
pub fn client_builder(
    timeout: Duration,
    tls: Option<&Arc<ClientConfig>>,
) -> std::io::Result<reqwest::blocking::ClientBuilder> {
    // The ring configuration is always passed: reqwest builds a TLS backend even for
    // plain http, and no process-wide crypto provider is assumed.
    let cfg = match tls {
        Some(cfg) => ClientConfig::clone(cfg),
        None => ClientConfig::clone(&*tls_client(Arc::new(RootCertStore::empty()))?),
    };
    Ok(reqwest::blocking::Client::builder()
        .user_agent(USER_AGENT)
        .no_proxy()
        .http1_only()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(timeout)
        .timeout(timeout)
        .tls_backend_preconfigured(cfg))
}

/// An HTTP client built here, in the host, with its timeouts, `resolve()` or
/// `unix_socket()`: the only kind the rest of the crate holds. It derefs to reqwest's
/// client for making requests.
#[derive(Clone)]
pub struct Client(reqwest::blocking::Client);

impl std::ops::Deref for Client {
    type Target = reqwest::blocking::Client;

    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

/// Builds a client from `b`, with the error as an `io::Error`.
pub fn build(b: reqwest::blocking::ClientBuilder) -> std::io::Result<Client> {
    b.build().map(Client).map_err(|e| io_error(&e))
}

/// The client for downloads from the mirror (the internet, not this box): the
/// system's trust store, `connect_timeout`, and `read_timeout` for the wait for the
/// response head and for each read of the body (not for the whole file).
pub fn download_client(
    connect_timeout: Duration,
    read_timeout: Duration,
) -> Result<Client, reqwest::Error> {
    // main() installs it too; a library caller (tests, other front ends) may not have.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::blocking::Client::builder()
        .user_agent(USER_AGENT)
        .connect_timeout(connect_timeout)
        .timeout(read_timeout)
        .build()
        .map(Client)
}

/// A response with its body as bytes.
pub struct RawResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// Sends `req` with the Host header `host` (without a port, as a browser sends it
/// for the public URL); status, headers and up to 1 MiB of body.
pub fn send(req: reqwest::blocking::RequestBuilder, host: &str) -> std::io::Result<RawResponse> {
    let resp = req
        .header(reqwest::header::HOST, host)
        .send()
        .map_err(|e| io_error(&e))?;
    let status = resp.status().as_u16();
    let headers = resp
        .headers()
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_owned(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let mut body = Vec::new();
    resp.take(MAX_BODY).read_to_end(&mut body)?;
    Ok(RawResponse {
        status,
        headers,
        body,
    })
}

/// `GET scheme://host:port/path` with `host` resolved to `addr`; redirects are not
/// followed (a probe reports them).
fn request(
    addr: SocketAddr,
    host: &str,
    path: &str,
    tls: Option<&Arc<ClientConfig>>,
) -> std::io::Result<Response> {
    let client = build(client_builder(TIMEOUT, tls)?.resolve(host, addr))?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    let url = format!("{scheme}://{host}:{}{path}", addr.port());
    let r = send(client.get(&url), host)?;
    Ok(Response {
        status: r.status,
        headers: r.headers,
        body: String::from_utf8_lossy(&r.body).into_owned(),
    })
}

/// `GET path` with `Host: host`, sent to `addr`; body read to the end (up to 1 MiB).
pub fn get(addr: SocketAddr, host: &str, path: &str) -> std::io::Result<Response> {
    request(addr, host, path, None)
}

/// [`get`] over TLS: the server's certificate must verify for `host` (also the SNI)
/// against the configuration's roots.
pub fn get_tls(
    addr: SocketAddr,
    host: &str,
    path: &str,
    cfg: &Arc<ClientConfig>,
) -> std::io::Result<Response> {
    request(addr, host, path, Some(cfg))
}

/// Parses a response head (status line and headers, up to the blank line). Anything
/// that is not one is an `InvalidData` error, never a panic.
pub fn parse_head(raw: &[u8]) -> std::io::Result<Response> {
    let bad = |why: &str| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!(
                "not an HTTP response ({why}): {:.80}",
                String::from_utf8_lossy(raw)
            ),
        )
    };
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut r = httparse::Response::new(&mut headers);
    match r.parse(raw) {
        Ok(httparse::Status::Complete(_)) => {}
        Ok(httparse::Status::Partial) => return Err(bad("incomplete head")),
        Err(e) => return Err(bad(&e.to_string())),
    }
    let status = r.code.ok_or_else(|| bad("no status"))?;
    Ok(Response {
        status,
        headers: r
            .headers
            .iter()
            .map(|h| {
                (
                    h.name.to_owned(),
                    String::from_utf8_lossy(h.value).trim().to_owned(),
                )
            })
            .collect(),
        body: String::new(),
    })
}

/// Sends `request` and reads the response head only (the connection then belongs to
/// the WebSocket, which the probe closes).
fn head_exchange(s: &mut (impl Read + Write), request: &str) -> std::io::Result<Response> {
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
        buf.extend_from_slice(&chunk[..n]);
        if n == 0 || buf.windows(4).any(|w| w == b"\r\n\r\n") || buf.len() as u64 > MAX_BODY {
            break;
        }
    }
    parse_head(&buf)
}

/// Whether something accepts TCP connections at `addr` (within the usual deadline).
pub fn tcp_open(addr: SocketAddr) -> std::io::Result<()> {
    connect(addr).map(drop)
}

fn connect(addr: SocketAddr) -> std::io::Result<TcpStream> {
    let s = TcpStream::connect_timeout(&addr, TIMEOUT)?;
    s.set_read_timeout(Some(TIMEOUT))?;
    s.set_write_timeout(Some(TIMEOUT))?;
    Ok(s)
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
    let r = head_exchange(&mut connect(addr)?, &websocket_request(host, path, origin))?;
    Ok(upgrade_of(&r))
}

fn websocket_request(host: &str, path: &str, origin: &str) -> String {
    format!(
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: {USER_AGENT}\r\nUpgrade: websocket\r\n\
         Connection: Upgrade\r\nSec-WebSocket-Key: {WS_KEY}\r\nSec-WebSocket-Version: 13\r\n\
         Origin: {origin}\r\n\r\n"
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

/// [`websocket`] over TLS (wss://), with the verified handshake: the chain the
/// server presented for `host` (also the SNI).
pub fn websocket_tls(
    addr: SocketAddr,
    host: &str,
    path: &str,
    origin: &str,
    cfg: &Arc<ClientConfig>,
) -> std::io::Result<(Upgrade, Handshake)> {
    let mut tls = connect_tls(addr, host, cfg)?;
    let hs = handshake_of(&tls);
    let r = head_exchange(&mut tls, &websocket_request(host, path, origin))?;
    Ok((upgrade_of(&r), hs))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    fn serve_once(reply: impl AsRef<[u8]> + Send + 'static) -> SocketAddr {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        std::thread::spawn(move || {
            let (mut s, _) = l.accept().unwrap();
            let mut buf = [0u8; 2048];
            let _ = s.read(&mut buf).unwrap();
            s.write_all(reply.as_ref()).unwrap();
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
        let r = get_tls(
            addr,
            "chat.example.com",
            "/api/v4/system/ping",
            &trusting(ca),
        )
        .unwrap();
        assert_eq!((r.status, r.body.as_str()), (200, "ok"));
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
        let (u, hs) = websocket_tls(
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
        assert_eq!(hs.chain.len(), 1);
        assert!(hs.protocol.starts_with("TLSv1_"), "{}", hs.protocol);
    }

    /// The old hand-written de-chunker sliced a lossily decoded string by byte
    /// counts and panicked on a multi-byte character split across chunks.
    #[test]
    fn a_multibyte_character_split_across_chunks_is_read_whole() {
        let addr = serve_once(
            &b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\n\xc3\r\n2\r\n\xa9!\r\n0\r\n\r\n"[..],
        );
        let r = get(addr, "chat.example.com", "/").unwrap();
        assert_eq!((r.status, r.body.as_str()), (200, "\u{e9}!"));
    }

    #[test]
    fn a_redirect_is_reported_not_followed_and_the_host_header_has_no_port() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        let seen = std::thread::spawn(move || {
            let (mut s, _) = l.accept().unwrap();
            let mut buf = [0u8; 2048];
            let n = s.read(&mut buf).unwrap();
            s.write_all(b"HTTP/1.1 301 Moved\r\nLocation: https://chat.example.com/x\r\nContent-Length: 0\r\n\r\n")
                .unwrap();
            String::from_utf8_lossy(&buf[..n]).into_owned()
        });
        let r = get(addr, "chat.example.com", "/x").unwrap();
        assert_eq!(r.status, 301);
        assert_eq!(r.header("location"), Some("https://chat.example.com/x"));
        let request = seen.join().unwrap().to_ascii_lowercase();
        assert!(
            request.contains("\r\nhost: chat.example.com\r\n"),
            "{request}"
        );
    }

    #[test]
    fn a_refused_connection_names_the_cause() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        drop(l);
        let err = get(addr, "chat.example.com", "/").unwrap_err();
        assert!(err.to_string().to_lowercase().contains("refused"), "{err}");
    }

    #[test]
    fn parse_head_rejects_what_is_not_a_response() {
        for raw in [
            &b""[..],
            b"hello",
            b"HTTP/1.1 abc\r\n\r\n",
            b"\xff\xfe\r\n\r\n",
        ] {
            assert!(parse_head(raw).is_err(), "{raw:?}");
        }
        let r = parse_head(b"HTTP/1.1 101 Switching\r\nSec-WebSocket-Accept: x\r\n\r\n").unwrap();
        assert_eq!(
            (r.status, r.header("sec-websocket-accept")),
            (101, Some("x"))
        );
    }
}
