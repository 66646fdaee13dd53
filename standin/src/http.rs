//! A tiny HTTP/1.1 server (one thread per connection, `Connection: close`)
//! with the handful of routes an installer checks.

use std::fmt::Write as _;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Map, Value, json};

use crate::db::Database;
use crate::log::Logger;
use crate::util::{parse_go_bool, parse_query};
use crate::ws;

const MAX_HEAD: u64 = 64 * 1024;
const MAX_HEADERS: usize = 100;
const READ_TIMEOUT: Duration = Duration::from_secs(30);
/// Idle time after which a WebSocket connection is dropped.
const WS_IDLE: Duration = Duration::from_secs(100);

/// A parsed request head.
#[derive(Debug, Clone, Default)]
pub struct Request {
    pub method: String,
    pub target: String,
    pub path: String,
    pub query: String,
    /// Header names are lower-cased.
    pub headers: Vec<(String, String)>,
    /// The client's address as the server derives it ([`client_ip`]); empty on
    /// the local-mode socket.
    pub ip: String,
}

impl Request {
    /// First value of a header (name in lower case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// All values of a header (name in lower case).
    pub fn header_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.headers
            .iter()
            .filter(move |(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Reads a request head; `Ok(None)` if the client sent nothing.
pub fn read_request(r: &mut impl BufRead) -> io::Result<Option<Request>> {
    let mut limited = r.take(MAX_HEAD);
    let mut line = String::new();
    if limited.read_line(&mut line)? == 0 {
        return Ok(None);
    }
    let bad = |m: &str| io::Error::new(io::ErrorKind::InvalidData, m.to_string());
    let mut parts = line.split_whitespace();
    let (Some(method), Some(target), Some(version)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(bad("malformed request line"));
    };
    if !version.starts_with("HTTP/1.") {
        return Err(bad("unsupported HTTP version"));
    }
    let mut req = Request {
        method: method.to_string(),
        target: target.to_string(),
        ..Request::default()
    };
    loop {
        let mut h = String::new();
        if limited.read_line(&mut h)? == 0 {
            return Err(bad("truncated request head"));
        }
        let h = h.trim_end_matches(['\r', '\n']);
        if h.is_empty() {
            break;
        }
        let Some((name, value)) = h.split_once(':') else {
            return Err(bad("malformed header"));
        };
        if req.headers.len() >= MAX_HEADERS {
            return Err(bad("too many headers"));
        }
        req.headers
            .push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
    }
    // Absolute-form targets (proxies) carry scheme and authority.
    let mut t = target;
    if let Some(rest) = t
        .strip_prefix("http://")
        .or_else(|| t.strip_prefix("https://"))
    {
        t = rest.find('/').map_or("/", |i| &rest[i..]);
    }
    let (path, query) = t.split_once('?').unwrap_or((t, ""));
    req.path = path.to_string();
    req.query = query.to_string();
    Ok(Some(req))
}

/// The client's address as the real server derives it (`GetIPAddress` in
/// mattermost/mattermost server/channels/utils/utils.go): the first header of
/// `ServiceSettings.TrustedProxyIPHeader` that is present, its first
/// comma-separated entry, trimmed, if that parses as an IP address; otherwise the
/// connection's own peer address. This is why trusting `X-Forwarded-For` lets a
/// client choose its address: the leftmost entry is whatever the client sent.
pub fn client_ip(req: &Request, peer: Option<std::net::SocketAddr>, trusted: &[String]) -> String {
    for name in trusted {
        let Some(value) = req
            .header(&name.to_ascii_lowercase())
            .filter(|v| !v.is_empty())
        else {
            continue;
        };
        let first = value.split(',').next().unwrap_or("").trim();
        if !first.is_empty() && first.parse::<std::net::IpAddr>().is_ok() {
            return first.to_string();
        }
    }
    peer.map(|p| p.ip().to_string()).unwrap_or_default()
}

/// Everything request handlers need.
pub struct AppState {
    pub log: Arc<Logger>,
    pub site_url: String,
    pub allow_cors_from: String,
    /// `ServiceSettings.TrustedProxyIPHeader`.
    pub trusted_proxy_ip_header: Vec<String>,
    /// `X-Version-ID` value: `<version>.<build number>.<config hash>.<licensed>`.
    pub version_id: String,
    pub db: Option<Database>,
    /// The file backend (`FileSettings.DriverName`).
    pub files: crate::filestore::FileStore,
    /// `FileSettings.MaxFileSize`.
    pub max_file_size: i64,
    /// The WebSocket connections of this node.
    pub ws_hub: Arc<ws::Hub>,
    /// The running cluster node (licensed Enterprise with ClusterSettings.Enable).
    pub cluster: Option<Arc<crate::cluster::Cluster>>,
    pub unhealthy: bool,
    pub root_html: Vec<u8>,
    /// Login sessions: token → user id (in memory, like a cache the real
    /// server would back with its Sessions table).
    pub sessions: std::sync::Mutex<std::collections::HashMap<String, String>>,
}

/// The built-in page served when `client/root.html` is not installed.
pub const DEFAULT_ROOT_HTML: &str = "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Mattermost</title></head>\n<body><noscript>To use Mattermost, please enable JavaScript.</noscript><div id=\"root\"></div></body></html>\n";

fn reason(status: u16) -> &'static str {
    match status {
        101 => "Switching Protocols",
        200 => "OK",
        201 => "Created",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        411 => "Length Required",
        413 => "Payload Too Large",
        500 => "Internal Server Error",
        _ => "Unknown",
    }
}

/// Request ids look like every other Mattermost id.
pub(crate) fn request_id() -> String {
    crate::store::new_id()
}

pub(crate) struct Response {
    pub(crate) status: u16,
    pub(crate) content_type: &'static str,
    pub(crate) headers: Vec<(&'static str, String)>,
    pub(crate) body: Vec<u8>,
}

impl Response {
    pub(crate) fn json(status: u16, v: &Value) -> Self {
        Self {
            status,
            content_type: "application/json",
            headers: Vec::new(),
            body: v.to_string().into_bytes(),
        }
    }

    pub(crate) fn text(status: u16, msg: &str) -> Self {
        Self {
            status,
            content_type: "text/plain; charset=utf-8",
            headers: Vec::new(),
            body: format!("{msg}\n").into_bytes(),
        }
    }
}

fn write_response(
    w: &mut impl Write,
    state: &AppState,
    resp: &Response,
    head_only: bool,
) -> io::Result<()> {
    let mut out = format!(
        "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\nX-Request-Id: {}\r\nX-Version-Id: {}\r\n",
        resp.status,
        reason(resp.status),
        resp.content_type,
        resp.body.len(),
        request_id(),
        state.version_id
    );
    for (k, v) in &resp.headers {
        let _ = write!(out, "{k}: {v}\r\n");
    }
    out.push_str("\r\n");
    w.write_all(out.as_bytes())?;
    if !head_only {
        w.write_all(&resp.body)?;
    }
    w.flush()
}

pub(crate) fn ping(state: &AppState, req: &Request) -> Response {
    if req.method != "GET" {
        return Response::text(405, "");
    }
    let params = parse_query(&req.query);
    let flag = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k == name)
            .and_then(|(_, v)| parse_go_bool(v))
            .unwrap_or(false)
    };
    let mut healthy = !state.unhealthy;
    // Keys in Go's (sorted) map order.
    let mut m = Map::new();
    m.insert("ActiveSearchBackend".into(), json!("database"));
    m.insert("AndroidLatestVersion".into(), json!(""));
    m.insert("AndroidMinVersion".into(), json!(""));
    m.insert("IosLatestVersion".into(), json!(""));
    m.insert("IosMinVersion".into(), json!(""));
    let mut headers = Vec::new();
    if flag("get_server_status") {
        let db_ok = match &state.db {
            Some(db) => match db.health_check() {
                Ok(()) => true,
                Err(e) => {
                    state
                        .log
                        .error("Unable to write to database.", &[("error", e.message())]);
                    false
                }
            },
            None => false,
        };
        // api4/system.go getSystemPing: FileBackend().TestConnection().
        let fs_ok = match state.files.test_connection() {
            Ok(()) => true,
            Err(e) => {
                let msg = match e {
                    crate::filestore::TestError::NoBucket => "no such bucket".to_string(),
                    crate::filestore::TestError::Other(m) => m,
                };
                state
                    .log
                    .error("Unable to test filestore connection.", &[("error", &msg)]);
                false
            }
        };
        let word = |ok: bool| if ok { "OK" } else { "UNHEALTHY" };
        m.insert("database_status".into(), json!(word(db_ok)));
        m.insert("filestore_status".into(), json!(word(fs_ok)));
        headers.push(("database_status", word(db_ok).to_string()));
        headers.push(("filestore_status", word(fs_ok).to_string()));
        healthy &= db_ok && fs_ok;
    }
    m.insert(
        "status".into(),
        json!(if healthy { "OK" } else { "UNHEALTHY" }),
    );
    let status = if healthy || flag("use_rest_semantics") {
        200
    } else {
        500
    };
    let mut resp = Response::json(status, &Value::Object(m));
    resp.headers = headers;
    resp
}

pub(crate) fn not_found(req: &Request) -> Response {
    Response::json(
        404,
        &json!({
            "id": "api.context.404.app_error",
            "message": "Sorry, we could not find the page.",
            "detailed_error": format!(
                "There doesn't appear to be an api call for the url='{}'.  Typo? are you missing a team_id or user_id as part of the url?",
                req.path
            ),
            "request_id": request_id(),
            "status_code": 404
        }),
    )
}

fn is_websocket_path(path: &str) -> bool {
    matches!(
        path,
        "/api/v4/websocket" | "/api/v4/websocket/" | "/api/v4/users/websocket"
    )
}

/// A connected client: TCP (the API on `ListenAddress`) or a Unix socket
/// (local mode).
pub trait Conn: Send + Sync + 'static {
    fn set_timeouts(&self, read: Option<Duration>) -> io::Result<()>;
    fn shutdown_write(&self);
    /// The connection's peer address (`None` on a Unix socket).
    fn peer(&self) -> Option<std::net::SocketAddr>;
    /// A second handle for writing (WebSocket broadcasts).
    fn writer(&self) -> io::Result<Box<dyn Write + Send>>;
}

impl Conn for TcpStream {
    fn set_timeouts(&self, read: Option<Duration>) -> io::Result<()> {
        self.set_read_timeout(read)?;
        self.set_write_timeout(Some(READ_TIMEOUT))
    }

    fn shutdown_write(&self) {
        let _ = self.shutdown(std::net::Shutdown::Write);
    }

    fn peer(&self) -> Option<std::net::SocketAddr> {
        self.peer_addr().ok()
    }

    fn writer(&self) -> io::Result<Box<dyn Write + Send>> {
        Ok(Box::new(self.try_clone()?))
    }
}

impl Conn for std::os::unix::net::UnixStream {
    fn set_timeouts(&self, read: Option<Duration>) -> io::Result<()> {
        self.set_read_timeout(read)?;
        self.set_write_timeout(Some(READ_TIMEOUT))
    }

    fn shutdown_write(&self) {
        let _ = self.shutdown(std::net::Shutdown::Write);
    }

    fn peer(&self) -> Option<std::net::SocketAddr> {
        None
    }

    fn writer(&self) -> io::Result<Box<dyn Write + Send>> {
        Ok(Box::new(self.try_clone()?))
    }
}

/// Which listener a request came in on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listener {
    /// `ServiceSettings.ListenAddress`.
    Tcp,
    /// The local-mode socket: the local API only, no authentication.
    Local,
}

fn handle<S: Conn>(stream: &S, state: &AppState, listener: Listener) -> io::Result<()>
where
    for<'a> &'a S: Read + Write,
{
    stream.set_timeouts(Some(READ_TIMEOUT))?;
    let mut reader = BufReader::new(stream);
    let mut writer = stream;
    let mut req = match read_request(&mut reader) {
        Ok(Some(r)) => r,
        Ok(None) => return Ok(()),
        Err(e) if e.kind() == io::ErrorKind::InvalidData => {
            return write_response(
                &mut writer,
                state,
                &Response::text(400, "Bad Request"),
                false,
            );
        }
        Err(e) => return Err(e),
    };
    let head_only = req.method == "HEAD";
    if listener == Listener::Local {
        let resp = crate::api::local(state, &req, &mut reader);
        return write_response(&mut writer, state, &resp, head_only);
    }
    req.ip = client_ip(&req, stream.peer(), &state.trusted_proxy_ip_header);
    let resp = if req.path == "/api/v4/system/ping" {
        ping(state, &req)
    } else if let Some(resp) = crate::api::tcp(state, &req, &mut reader) {
        resp
    } else if is_websocket_path(&req.path) {
        let origin_ok = ws::origin_allowed(&req, &state.site_url, &state.allow_cors_from);
        match ws::check_handshake(&req, origin_ok) {
            Ok(accept) => {
                let head = format!(
                    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n"
                );
                writer.write_all(head.as_bytes())?;
                writer.flush()?;
                stream.set_timeouts(Some(WS_IDLE))?;
                let shared: ws::SharedWriter = Arc::new(std::sync::Mutex::new(stream.writer()?));
                let client = state
                    .ws_hub
                    .register(crate::api::session_of(state, &req), shared);
                let auth = |token: &str| crate::api::user_of_token(state, token);
                let done = ws::serve(&mut reader, &client, &state.version_id, &auth);
                state.ws_hub.unregister(&client);
                return done;
            }
            Err(refusal) => {
                let mut r = Response::text(refusal.status, reason(refusal.status));
                r.headers.push(("Sec-Websocket-Version", "13".into()));
                state.log.debug(refusal.reason, &[]);
                r
            }
        }
    } else if req.path == "/api/v4" || req.path.starts_with("/api/v4/") {
        not_found(&req)
    } else if req.method == "GET" || head_only {
        Response {
            status: 200,
            content_type: "text/html; charset=utf-8",
            headers: vec![("Cache-Control", "no-cache, max-age=31556926, public".into())],
            body: state.root_html.clone(),
        }
    } else {
        Response::text(405, "")
    };
    if (400..500).contains(&resp.status) && req.path.starts_with("/api/v4/") {
        log_client_error(state, &req, &resp);
    }
    // Drain nothing: the connection is closed after the response.
    write_response(&mut writer, state, &resp, head_only)
}

/// The real server logs an API error of status 4xx at debug level with the
/// request's fields, the client address among them (`c.Logger` with `path`,
/// `request_id`, `ip_addr`, `user_id`, `method`, then `LogErrorByCode`; in
/// server/channels/web/handlers.go and context.go).
fn log_client_error(state: &AppState, req: &Request, resp: &Response) {
    let body: Value = serde_json::from_slice(&resp.body).unwrap_or(Value::Null);
    let msg = body
        .get("message")
        .and_then(Value::as_str)
        .unwrap_or(reason(resp.status));
    state.log.debug(
        msg,
        &[
            ("path", &req.path),
            ("ip_addr", &req.ip),
            ("method", &req.method),
            ("http_code", &resp.status.to_string()),
        ],
    );
}

/// Closes a connection without a TCP reset: send FIN, then discard what the
/// client still sends (an unread request body) for a moment. Closing with
/// unread data would make the kernel reset the connection, and the client
/// could lose the response.
fn linger_close<S: Conn>(stream: &S)
where
    for<'a> &'a S: Read,
{
    stream.shutdown_write();
    let _ = stream.set_timeouts(Some(Duration::from_secs(1)));
    let mut sink = [0u8; 8192];
    let mut budget: usize = 1 << 20;
    let mut reader = stream;
    while budget > 0 {
        match reader.read(&mut sink) {
            Ok(0) | Err(_) => break,
            Ok(n) => budget = budget.saturating_sub(n),
        }
    }
}

/// Accepts connections forever, one thread each.
pub fn serve(listener: &TcpListener, state: &Arc<AppState>) {
    accept_loop(listener.incoming(), state, Listener::Tcp);
}

/// Serves the local-mode API on a Unix socket until the listener fails.
pub fn serve_local(listener: &std::os::unix::net::UnixListener, state: &Arc<AppState>) {
    accept_loop(listener.incoming(), state, Listener::Local);
}

fn accept_loop<S: Conn>(
    incoming: impl Iterator<Item = io::Result<S>>,
    state: &Arc<AppState>,
    kind: Listener,
) where
    for<'a> &'a S: Read + Write,
{
    for conn in incoming {
        match conn {
            Ok(stream) => {
                let conn_state = Arc::clone(state);
                let spawned =
                    std::thread::Builder::new()
                        .name("http-conn".into())
                        .spawn(move || {
                            let _ = handle(&stream, &conn_state, kind);
                            linger_close(&stream);
                        });
                if let Err(e) = spawned {
                    state.log.error(
                        "Failed to spawn connection thread",
                        &[("error", &e.to_string())],
                    );
                }
            }
            Err(e) => {
                state
                    .log
                    .debug("Failed to accept connection", &[("error", &e.to_string())]);
                // E.g. out of file descriptors: do not spin.
                std::thread::sleep(Duration::from_millis(10));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(raw: &str) -> Request {
        let mut r = io::Cursor::new(raw.as_bytes().to_vec());
        read_request(&mut r).expect("io").expect("request")
    }

    #[test]
    fn client_ip_is_derived_like_get_ip_address() {
        let peer = Some(std::net::SocketAddr::from(([127, 0, 0, 1], 40000)));
        let req = parse(
            "GET / HTTP/1.1\r\nX-Forwarded-For: 203.0.113.9, 10.0.2.100\r\nX-Real-IP: 10.0.2.100\r\n\r\n",
        );
        let t = |h: &[&str]| h.iter().map(|s| (*s).to_string()).collect::<Vec<_>>();
        // The old TrustedProxyIPHeader: the client's own (forged) entry wins.
        assert_eq!(
            client_ip(&req, peer, &t(&["X-Forwarded-For", "X-Real-Ip"])),
            "203.0.113.9"
        );
        assert_eq!(client_ip(&req, peer, &t(&["X-Real-IP"])), "10.0.2.100");
        assert_eq!(client_ip(&req, peer, &[]), "127.0.0.1");
        // Not an IP address: the next header, then the connection.
        let junk = parse("GET / HTTP/1.1\r\nX-Forwarded-For: nonsense\r\n\r\n");
        assert_eq!(
            client_ip(&junk, peer, &t(&["X-Forwarded-For"])),
            "127.0.0.1"
        );
        let v6 = Some(std::net::SocketAddr::from(([0u16, 0, 0, 0, 0, 0, 0, 1], 1)));
        assert_eq!(client_ip(&junk, v6, &[]), "::1");
    }

    #[test]
    fn parses_request_head() {
        let req = parse(
            "GET /api/v4/system/ping?get_server_status=true HTTP/1.1\r\nHost: x:8065\r\nUpgrade: WebSocket\r\nConnection: keep-alive, Upgrade\r\n\r\n",
        );
        assert_eq!(req.path, "/api/v4/system/ping");
        assert_eq!(req.query, "get_server_status=true");
        assert_eq!(req.header("host"), Some("x:8065"));
        let req = parse("GET http://h/api/v4/websocket HTTP/1.1\r\n\r\n");
        assert_eq!(req.path, "/api/v4/websocket");
    }

    #[test]
    fn handshake_checks() {
        let base = "GET /api/v4/websocket HTTP/1.1\r\nHost: 127.0.0.1:8065\r\n";
        let good = format!(
            "{base}Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
        );
        let req = parse(&good);
        assert_eq!(
            ws::check_handshake(&req, true).as_deref(),
            Ok("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
        );
        assert_eq!(
            ws::check_handshake(&req, false).map_err(|r| r.status),
            Err(403)
        );
        let no_upgrade = parse(&format!("{base}\r\n"));
        assert_eq!(
            ws::check_handshake(&no_upgrade, true).map_err(|r| r.status),
            Err(400)
        );
        let bad_key = parse(&format!(
            "{base}Upgrade: websocket\r\nConnection: upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: abc\r\n\r\n"
        ));
        assert_eq!(
            ws::check_handshake(&bad_key, true).map_err(|r| r.status),
            Err(400)
        );
    }

    #[test]
    fn origin_rules() {
        let req = |origin: &str| {
            parse(&format!(
                "GET /api/v4/websocket HTTP/1.1\r\nHost: 127.0.0.1:8065\r\nOrigin: {origin}\r\n\r\n"
            ))
        };
        let site = "https://chat.example.com";
        assert!(ws::origin_allowed(
            &req("https://chat.example.com"),
            site,
            ""
        ));
        assert!(ws::origin_allowed(
            &req("https://CHAT.example.com"),
            site,
            ""
        ));
        assert!(!ws::origin_allowed(
            &req("http://chat.example.com"),
            site,
            ""
        ));
        assert!(!ws::origin_allowed(
            &req("https://evil.example.com"),
            site,
            ""
        ));
        assert!(!ws::origin_allowed(
            &req("https://chat.example.com:8443"),
            site,
            ""
        ));
        assert!(!ws::origin_allowed(&req("null"), site, ""));
        // No SiteURL: compare with the Host header.
        assert!(ws::origin_allowed(&req("http://127.0.0.1:8065"), "", ""));
        assert!(!ws::origin_allowed(&req("http://other:8065"), "", ""));
        // No Origin at all is fine.
        let plain = parse("GET /api/v4/websocket HTTP/1.1\r\nHost: h\r\n\r\n");
        assert!(ws::origin_allowed(&plain, site, ""));
        // AllowCorsFrom: exact list plus SiteURL.
        assert!(ws::origin_allowed(
            &req("https://a.example"),
            site,
            "https://a.example"
        ));
        assert!(ws::origin_allowed(
            &req("https://chat.example.com"),
            site,
            "https://a.example"
        ));
        assert!(!ws::origin_allowed(
            &req("https://b.example"),
            site,
            "https://a.example"
        ));
    }

    #[test]
    fn frames_round_trip() {
        // A masked client text frame "hi".
        let mask = [1u8, 2, 3, 4];
        let mut raw = vec![0x81, 0x80 | 2];
        raw.extend_from_slice(&mask);
        raw.extend(b"hi".iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
        let f = ws::read_frame(&mut io::Cursor::new(raw)).expect("frame");
        assert_eq!(f.opcode, 1);
        assert_eq!(f.payload, b"hi");
        let mut out = Vec::new();
        ws::write_frame(&mut out, 0x1, &[0u8; 300]).expect("write");
        assert_eq!(&out[..4], &[0x81, 126, 1, 44]);
        // Unmasked client frames are a protocol error.
        assert!(ws::read_frame(&mut io::Cursor::new(vec![0x81, 0x00])).is_err());
    }
}
