//! The `/api/v4/websocket` endpoint: handshake checks in the order
//! gorilla/websocket's `Upgrader` makes them, Mattermost's origin check,
//! and a minimal frame loop (hello event, ping/pong, close).

use std::io::{self, Read, Write};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

use crate::http::Request;
use crate::util::{base64_decode, base64_encode, sha1};

/// RFC 6455 magic GUID.
pub const GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
/// Largest client frame payload accepted.
const MAX_PAYLOAD: u64 = 1 << 20;

/// `Sec-WebSocket-Accept` for a `Sec-WebSocket-Key`.
pub fn accept_key(key: &str) -> String {
    base64_encode(&sha1(format!("{key}{GUID}").as_bytes()))
}

/// Why a handshake was refused: HTTP status and gorilla's message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub status: u16,
    pub reason: &'static str,
}

fn has_token(req: &Request, header: &str, token: &str) -> bool {
    req.header_all(header)
        .flat_map(|v| v.split(','))
        .any(|t| t.trim().eq_ignore_ascii_case(token))
}

/// Validates an upgrade request; returns the accept key.
pub fn check_handshake(req: &Request, origin_ok: bool) -> Result<String, Refusal> {
    let bad = |reason| Refusal {
        status: 400,
        reason,
    };
    if !has_token(req, "connection", "upgrade") {
        return Err(bad(
            "websocket: the client is not using the websocket protocol: 'upgrade' token not found in 'Connection' header",
        ));
    }
    if !has_token(req, "upgrade", "websocket") {
        return Err(bad(
            "websocket: the client is not using the websocket protocol: 'websocket' token not found in 'Upgrade' header",
        ));
    }
    if req.method != "GET" {
        return Err(Refusal {
            status: 405,
            reason: "websocket: the client is not using the websocket protocol: request method is not GET",
        });
    }
    if !has_token(req, "sec-websocket-version", "13") {
        return Err(bad(
            "websocket: unsupported version: 13 not found in 'Sec-Websocket-Version' header",
        ));
    }
    if !origin_ok {
        return Err(Refusal {
            status: 403,
            reason: "websocket: request origin not allowed by Upgrader.CheckOrigin",
        });
    }
    let key = req.header("sec-websocket-key").unwrap_or_default().trim();
    if base64_decode(key).is_none_or(|k| k.len() != 16) {
        return Err(bad(
            "websocket: not a websocket handshake: 'Sec-WebSocket-Key' header must be Base64 encoded value of 16-byte in length",
        ));
    }
    Ok(accept_key(key))
}

/// Scheme and host (with port) of a URL, like Go's `url.Parse`; `None` if
/// Go would fail to parse it.
fn scheme_host(raw: &str) -> Option<(String, String)> {
    if raw.bytes().any(|b| b < 0x20 || b == 0x7f) {
        return None;
    }
    let raw = raw.split('#').next().unwrap_or_default();
    let (scheme, rest) = match raw.split_once(':') {
        Some((s, r))
            if s.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.')) =>
        {
            (s.to_ascii_lowercase(), r)
        }
        Some(("", _)) => return None,
        _ => (String::new(), raw),
    };
    let rest = rest.split('?').next().unwrap_or_default();
    let Some(after) = rest.strip_prefix("//") else {
        return Some((scheme, String::new()));
    };
    let authority = after.split('/').next().unwrap_or_default();
    let host = match authority.rfind('@') {
        Some(i) => {
            if !crate::dsn::valid_userinfo(&authority[..i]) {
                return None;
            }
            &authority[i + 1..]
        }
        None => authority,
    };
    crate::dsn::check_host(host).ok()?;
    Some((scheme, host.to_string()))
}

/// Mattermost's `App.OriginChecker` for the WebSocket upgrader.
pub fn origin_allowed(req: &Request, site_url: &str, allow_cors_from: &str) -> bool {
    let origin = req.header("origin");
    if !allow_cors_from.is_empty() {
        // utils.CheckOrigin: exact match against the list (+ SiteURL).
        if allow_cors_from == "*" {
            return true;
        }
        let origin = origin.unwrap_or_default();
        let mut allowed: Vec<String> = allow_cors_from.split(' ').map(str::to_string).collect();
        if let Some((scheme, host)) = scheme_host(site_url) {
            allowed.push(format!("{scheme}://{host}"));
        }
        return allowed.iter().any(|a| a == origin);
    }
    let Some(origin) = origin else {
        return true;
    };
    if origin == "null" {
        return false;
    }
    let Some((o_scheme, o_host)) = scheme_host(origin) else {
        return false;
    };
    if site_url.is_empty() {
        let host = req.header("host").unwrap_or_default();
        return o_host.eq_ignore_ascii_case(host);
    }
    let Some((s_scheme, s_host)) = scheme_host(site_url) else {
        return false;
    };
    o_host.eq_ignore_ascii_case(&s_host) && o_scheme.eq_ignore_ascii_case(&s_scheme)
}

/// Writes one unmasked (server) frame.
pub fn write_frame(w: &mut impl Write, opcode: u8, payload: &[u8]) -> io::Result<()> {
    let mut head = vec![0x80 | opcode];
    let len = payload.len();
    if len < 126 {
        head.push(u8::try_from(len).unwrap_or(0));
    } else if let Ok(short) = u16::try_from(len) {
        head.push(126);
        head.extend_from_slice(&short.to_be_bytes());
    } else {
        head.push(127);
        head.extend_from_slice(&(len as u64).to_be_bytes());
    }
    w.write_all(&head)?;
    w.write_all(payload)?;
    w.flush()
}

/// One client frame.
#[derive(Debug)]
pub struct Frame {
    pub opcode: u8,
    pub payload: Vec<u8>,
}

fn protocol_error(msg: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg.to_string())
}

/// Reads one (masked) client frame.
pub fn read_frame(r: &mut impl Read) -> io::Result<Frame> {
    let mut head = [0u8; 2];
    r.read_exact(&mut head)?;
    let opcode = head[0] & 0x0f;
    if head[1] & 0x80 == 0 {
        return Err(protocol_error("client frame not masked"));
    }
    let mut len = u64::from(head[1] & 0x7f);
    if len == 126 {
        let mut b = [0u8; 2];
        r.read_exact(&mut b)?;
        len = u64::from(u16::from_be_bytes(b));
    } else if len == 127 {
        let mut b = [0u8; 8];
        r.read_exact(&mut b)?;
        len = u64::from_be_bytes(b);
    }
    if len > MAX_PAYLOAD {
        return Err(protocol_error("frame too large"));
    }
    let mut mask = [0u8; 4];
    r.read_exact(&mut mask)?;
    let mut payload = vec![0u8; usize::try_from(len).unwrap_or(0)];
    r.read_exact(&mut payload)?;
    for (i, b) in payload.iter_mut().enumerate() {
        *b ^= mask[i % 4];
    }
    Ok(Frame { opcode, payload })
}

/// The writing half of a WebSocket connection, shared by its reader thread
/// and by broadcasts.
pub type SharedWriter = Arc<Mutex<Box<dyn Write + Send>>>;

/// One connected WebSocket client.
pub struct WsClient {
    id: u64,
    /// The session's user once authenticated (token at the handshake or an
    /// `authentication_challenge`).
    pub user: Mutex<Option<String>>,
    writer: SharedWriter,
    seq: AtomicI64,
}

impl WsClient {
    fn send(&self, opcode: u8, payload: &[u8]) -> io::Result<()> {
        let mut w = self
            .writer
            .lock()
            .map_err(|_| io::Error::other("websocket writer poisoned"))?;
        write_frame(&mut *w, opcode, payload)
    }

    fn authenticated(&self) -> bool {
        self.user.lock().is_ok_and(|u| u.is_some())
    }
}

/// The connected clients of this node (server/channels/app/platform/web_hub.go,
/// reduced: every authenticated connection gets every event, since the
/// stand-in keeps no channel memberships).
#[derive(Default)]
pub struct Hub {
    clients: Mutex<Vec<Arc<WsClient>>>,
    next: AtomicU64,
}

impl Hub {
    pub fn register(&self, user: Option<String>, writer: SharedWriter) -> Arc<WsClient> {
        let c = Arc::new(WsClient {
            id: self.next.fetch_add(1, Ordering::Relaxed),
            user: Mutex::new(user),
            writer,
            seq: AtomicI64::new(1),
        });
        if let Ok(mut v) = self.clients.lock() {
            v.push(Arc::clone(&c));
        }
        c
    }

    pub fn unregister(&self, c: &WsClient) {
        if let Ok(mut v) = self.clients.lock() {
            v.retain(|x| x.id != c.id);
        }
    }

    /// Sends `event` (without `seq`) to every authenticated connection, each
    /// with its own sequence number, like the real `WebConn`.
    pub fn broadcast(&self, event: &Value) {
        let clients: Vec<Arc<WsClient>> =
            self.clients.lock().map(|v| v.clone()).unwrap_or_default();
        for c in clients.iter().filter(|c| c.authenticated()) {
            let mut e = event.clone();
            e["seq"] = Value::from(c.seq.fetch_add(1, Ordering::Relaxed));
            let _ = c.send(0x1, e.to_string().as_bytes());
        }
    }
}

/// After the 101 response: send the hello event, then answer pings, closes and
/// `authentication_challenge` actions (`authenticate` maps a token to a user
/// id) until the client goes away.
pub fn serve(
    r: &mut impl Read,
    client: &WsClient,
    server_version: &str,
    authenticate: &dyn Fn(&str) -> Option<String>,
) -> io::Result<()> {
    let hello = json!({
        "event": "hello",
        "data": { "server_version": server_version },
        "broadcast": {},
        "seq": 0
    });
    client.send(0x1, hello.to_string().as_bytes())?;
    loop {
        let frame = match read_frame(r) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::InvalidData => {
                let code: u16 = if e.to_string().contains("large") {
                    1009
                } else {
                    1002
                };
                let _ = client.send(0x8, &code.to_be_bytes());
                return Ok(());
            }
            Err(e) => return Err(e),
        };
        match frame.opcode {
            0x8 => {
                let code = frame.payload.get(..2).unwrap_or(&[0x03, 0xe8]);
                client.send(0x8, code)?;
                return Ok(());
            }
            0x9 => client.send(0xA, &frame.payload)?,
            0x1 => {
                // web_conn.go: {"seq":N,"action":"authentication_challenge","data":{"token":T}}
                let Ok(msg) = serde_json::from_slice::<Value>(&frame.payload) else {
                    continue;
                };
                if msg["action"] == "authentication_challenge" {
                    let token = msg["data"]["token"].as_str().unwrap_or_default();
                    let reply = match authenticate(token) {
                        Some(user) => {
                            if let Ok(mut u) = client.user.lock() {
                                *u = Some(user);
                            }
                            json!({"status": "OK", "seq_reply": msg["seq"]})
                        }
                        None => json!({
                            "status": "FAIL",
                            "seq_reply": msg["seq"],
                            "error": {"id": "api.web_socket_router.not_authenticated.app_error", "message": "Not authenticated."}
                        }),
                    };
                    client.send(0x1, reply.to_string().as_bytes())?;
                }
            }
            0x0 | 0x2 | 0xA => {}
            _ => {
                client.send(0x8, &1002u16.to_be_bytes())?;
                return Ok(());
            }
        }
    }
}
