//! Shared harness for the stand-in's integration tests: builds stand-in
//! variants with a baked-in version/edition/fault, lays out an install
//! directory like the real tarball, starts throw-away PostgreSQL and MariaDB
//! servers in temp dirs, and speaks just enough HTTP/WebSocket to check the
//! stand-in from the outside.
#![allow(dead_code)]

use std::collections::HashMap;
use std::fmt::Write as _;
use std::fs::{self, File};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

#[path = "../../../tests/integration/support/databases.rs"]
mod databases;
pub use databases::*;

// A password with every character that tends to break quoting:
// ' " \ $ ` @ / : % # and a space (plus & ? + ; = and non-ASCII).
pub const NASTY_PASSWORD: &str = "Pw'q\"r\\s$t`u@v/w:x%y#z a&b?c+d;e=fé";

// ------------------------------------------------------------- variants

/// Builds (once per test process) the stand-in with the given baked-in
/// identity and returns the directory holding `mattermost` and `mmctl`.
pub fn standin_bins(version: &str, edition: &str, fault: &str) -> PathBuf {
    static BUILT: OnceLock<Mutex<HashMap<String, PathBuf>>> = OnceLock::new();
    let key = format!(
        "{version}-{edition}-{}",
        if fault.is_empty() { "ok" } else { fault }
    );
    let map = BUILT.get_or_init(|| Mutex::new(HashMap::new()));
    let mut map = map
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(p) = map.get(&key) {
        return p.clone();
    }
    let base = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("standin-variants");
    let target = base.join("target");
    let out = base.join("bin").join(&key);
    fs::create_dir_all(&target).expect("create variant target dir");
    fs::create_dir_all(&out).expect("create variant bin dir");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml");
    // Build and copy under one lock so that parallel test processes cannot
    // swap the binaries between the two steps.
    let script = r#"set -e
"$1" build --quiet --manifest-path "$2" --bins --target-dir "$3"
cp "$3/debug/mattermost" "$4/mattermost.tmp"; mv -f "$4/mattermost.tmp" "$4/mattermost"
cp "$3/debug/mmctl" "$4/mmctl.tmp"; mv -f "$4/mmctl.tmp" "$4/mmctl""#;
    let mut cmd = if find_program(&["flock"], &[]).is_some() {
        let mut c = Command::new("flock");
        c.arg(target.join(".variant.lock")).arg("sh");
        c
    } else {
        Command::new("sh")
    };
    cmd.arg("-c")
        .arg(script)
        .arg("sh")
        .arg(&cargo)
        .arg(&manifest)
        .arg(&target)
        .arg(&out)
        .env("STANDIN_VERSION", version)
        .env("STANDIN_EDITION", edition)
        .env("STANDIN_FAULT", fault)
        .env_remove("CARGO_TARGET_DIR");
    let status = cmd
        .status()
        .expect("run cargo build for a stand-in variant");
    assert!(status.success(), "building stand-in variant {key} failed");
    map.insert(key, out.clone());
    out
}

// -------------------------------------------------------------- install

/// An install directory shaped like an extracted tarball.
pub struct Install {
    _tmp: tempfile::TempDir,
    pub root: PathBuf,
}

impl Install {
    /// `bin/` (from `bins`), `config/config.json` (`config`), `i18n/en.json`,
    /// `templates/*.html`, `client/root.html`, `logs/`.
    pub fn new(bins: &Path, config: &Value) -> Self {
        let tmp = tempfile::Builder::new()
            .prefix("standin-install-")
            .tempdir()
            .expect("tempdir");
        let root = tmp.path().join("mattermost");
        for d in ["bin", "config", "i18n", "templates", "client", "logs"] {
            fs::create_dir_all(root.join(d)).expect("mkdir");
        }
        for b in ["mattermost", "mmctl"] {
            fs::copy(bins.join(b), root.join("bin").join(b)).expect("copy binary");
            set_mode(&root.join("bin").join(b), 0o755);
        }
        fs::write(
            root.join("i18n/en.json"),
            r#"[{"id":"x","translation":"y"}]"#,
        )
        .expect("i18n");
        fs::write(root.join("templates/welcome_body.html"), "<p>hi</p>\n").expect("templates");
        fs::write(
            root.join("client/root.html"),
            "<html><body>standin-root</body></html>\n",
        )
        .expect("root.html");
        // Let unprivileged users (nobody) traverse the tree.
        set_mode(tmp.path(), 0o755);
        let install = Self { _tmp: tmp, root };
        install.write_config(config);
        install
    }

    pub fn config_path(&self) -> PathBuf {
        self.root.join("config/config.json")
    }

    pub fn write_config(&self, config: &Value) {
        fs::write(
            self.config_path(),
            serde_json::to_string_pretty(config).expect("json"),
        )
        .expect("write config");
        set_mode(&self.config_path(), 0o600);
    }

    pub fn binary(&self) -> PathBuf {
        self.root.join("bin/mattermost")
    }

    pub fn log_file(&self) -> PathBuf {
        self.root.join("logs/mattermost.log")
    }

    pub fn read_log(&self) -> String {
        fs::read_to_string(self.log_file()).unwrap_or_default()
    }

    /// A command for `bin/mattermost` run from the install root, with
    /// inherited `MM_*` / `NOTIFY_SOCKET` variables removed.
    pub fn command(&self) -> Command {
        self.command_as(None)
    }

    /// Same, optionally as another user (via setpriv; needs root).
    /// Starts the server and waits for its READY=1 (sd_notify) within `timeout`.
    pub fn start_ready(&self, timeout: Duration) -> Running {
        let notify = NotifySocket::bind_path();
        let mut cmd = self.command();
        cmd.env("NOTIFY_SOCKET", &notify.address);
        let mut server = Running::spawn(cmd);
        server.wait_ready(&notify, timeout);
        server
    }

    pub fn command_as(&self, user: Option<(&str, &str)>) -> Command {
        let mut cmd = match user {
            Some((u, g)) => {
                let mut c = Command::new("setpriv");
                c.arg(format!("--reuid={u}"))
                    .arg(format!("--regid={g}"))
                    .arg("--clear-groups")
                    .arg("--")
                    .arg(self.binary());
                c
            }
            None => Command::new(self.binary()),
        };
        cmd.current_dir(&self.root);
        for (k, _) in std::env::vars() {
            if k.starts_with("MM_") || k == "NOTIFY_SOCKET" {
                cmd.env_remove(k);
            }
        }
        cmd
    }

    /// Chowns the whole tree (needs root).
    pub fn chown_all(&self, user: &str) {
        let st = Command::new("chown")
            .arg("-R")
            .arg(format!("{user}:"))
            .arg(&self.root)
            .status()
            .expect("chown");
        assert!(st.success(), "chown -R {user} failed");
    }
}

pub fn base_config(driver: &str, data_source: &str, port: u16) -> Value {
    json!({
        "ServiceSettings": {
            "SiteURL": "",
            "ListenAddress": format!("127.0.0.1:{port}"),
            "ConnectionSecurity": "",
            "EnableLocalMode": false,
            "LocalModeSocketLocation": "/var/tmp/mattermost_local.socket",
            "TrustedProxyIPHeader": []
        },
        "SqlSettings": {
            "DriverName": driver,
            "DataSource": data_source,
            "DataSourceReplicas": [],
            "MaxOpenConns": 100
        },
        "FileSettings": { "DriverName": "local", "Directory": "./data/", "MaxFileSize": 104_857_600 },
        "PluginSettings": { "Enable": true, "Directory": "./plugins", "ClientDirectory": "./client/plugins" },
        "LogSettings": {
            "EnableConsole": true, "ConsoleLevel": "INFO",
            "EnableFile": true, "FileLevel": "INFO", "FileLocation": ""
        }
    })
}

// -------------------------------------------------------------- process

/// Output of a finished stand-in run.
pub struct Finished {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl Finished {
    pub fn all_output(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }
}

/// A stand-in process; killed when dropped.
pub struct Running {
    child: Child,
    out_path: PathBuf,
    err_path: PathBuf,
    _tmp: tempfile::TempDir,
}

impl Running {
    pub fn spawn(mut cmd: Command) -> Self {
        let tmp = tempfile::tempdir().expect("tempdir");
        let out_path = tmp.path().join("stdout");
        let err_path = tmp.path().join("stderr");
        cmd.stdin(Stdio::null())
            .stdout(File::create(&out_path).expect("stdout file"))
            .stderr(File::create(&err_path).expect("stderr file"));
        let child = cmd.spawn().expect("spawn stand-in");
        Self {
            child,
            out_path,
            err_path,
            _tmp: tmp,
        }
    }

    pub fn stdout(&self) -> String {
        fs::read_to_string(&self.out_path).unwrap_or_default()
    }

    pub fn stderr(&self) -> String {
        fs::read_to_string(&self.err_path).unwrap_or_default()
    }

    pub fn try_wait(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().expect("try_wait")
    }

    /// Waits for the process to exit; panics after `timeout`.
    pub fn wait_exit(mut self, timeout: Duration) -> Finished {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.try_wait() {
                return Finished {
                    status,
                    stdout: self.stdout(),
                    stderr: self.stderr(),
                };
            }
            assert!(
                Instant::now() < deadline,
                "stand-in still running after {timeout:?}\nstdout:\n{}\nstderr:\n{}",
                self.stdout(),
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits for `READY=1` on `notify`; panics if the process exits first.
    pub fn wait_ready(&mut self, notify: &NotifySocket, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(msg) = notify.recv(Duration::from_millis(200)) {
                assert_eq!(msg, "READY=1", "unexpected notify message");
                return;
            }
            if let Some(status) = self.try_wait() {
                panic!(
                    "stand-in exited ({status}) before READY=1\nstdout:\n{}\nstderr:\n{}",
                    self.stdout(),
                    self.stderr()
                );
            }
            assert!(
                Instant::now() < deadline,
                "no READY=1 within {timeout:?}\nstdout:\n{}\nstderr:\n{}",
                self.stdout(),
                self.stderr()
            );
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Runs the stand-in to completion.
pub fn run_to_exit(cmd: Command, timeout: Duration) -> Finished {
    Running::spawn(cmd).wait_exit(timeout)
}

/// A `NOTIFY_SOCKET` the test listens on (path or abstract `@name`).
pub struct NotifySocket {
    sock: UnixDatagram,
    pub address: String,
    _tmp: Option<tempfile::TempDir>,
}

impl NotifySocket {
    pub fn bind_path() -> Self {
        let tmp = tempfile::tempdir().expect("tempdir");
        let path = tmp.path().join("notify.sock");
        let sock = UnixDatagram::bind(&path).expect("bind notify socket");
        Self {
            sock,
            address: path.display().to_string(),
            _tmp: Some(tmp),
        }
    }

    pub fn bind_abstract() -> Self {
        use std::os::linux::net::SocketAddrExt;
        let name = format!("standin-test-notify-{}-{}", std::process::id(), free_port());
        let addr = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes())
            .expect("abstract addr");
        let sock = UnixDatagram::bind_addr(&addr).expect("bind abstract notify socket");
        Self {
            sock,
            address: format!("@{name}"),
            _tmp: None,
        }
    }

    pub fn recv(&self, timeout: Duration) -> Option<String> {
        self.sock.set_read_timeout(Some(timeout)).expect("timeout");
        let mut buf = [0u8; 512];
        let n = self.sock.recv(&mut buf).ok()?;
        Some(String::from_utf8_lossy(&buf[..n]).into_owned())
    }
}

// ----------------------------------------------------------------- http

pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl HttpResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {}", self.body))
    }
}

pub fn http_get(port: u16, path: &str, extra_headers: &[(&str, &str)]) -> HttpResponse {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    let mut req = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n");
    for (k, v) in extra_headers {
        let _ = write!(req, "{k}: {v}\r\n");
    }
    req.push_str("Connection: close\r\n\r\n");
    s.write_all(req.as_bytes()).expect("send");
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).expect("read response");
    parse_response(&raw)
}

/// POSTs a body the stand-in does not read; the response must still arrive.
pub fn http_post(port: u16, path: &str, body: &str) -> HttpResponse {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    let req = format!(
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).expect("send");
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).expect("read response");
    parse_response(&raw)
}

/// A request with a JSON body (or none) over TCP; returns the response.
pub fn http_json(
    port: u16,
    method: &str,
    path: &str,
    body: Option<&Value>,
    headers: &[(&str, &str)],
) -> HttpResponse {
    let s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    exchange(s, &format!("127.0.0.1:{port}"), method, path, body, headers)
}

/// A request on the local-mode Unix socket, as mmctl --local sends it.
pub fn local_json(socket: &Path, method: &str, path: &str, body: Option<&Value>) -> HttpResponse {
    let s = std::os::unix::net::UnixStream::connect(socket)
        .unwrap_or_else(|e| panic!("connect {}: {e}", socket.display()));
    exchange(s, "localhost", method, path, body, &[])
}

fn exchange<S: Read + Write>(
    mut s: S,
    host: &str,
    method: &str,
    path: &str,
    body: Option<&Value>,
    headers: &[(&str, &str)],
) -> HttpResponse {
    let body = body.map(Value::to_string).unwrap_or_default();
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n");
    for (k, v) in headers {
        let _ = write!(req, "{k}: {v}\r\n");
    }
    if !body.is_empty() {
        let _ = write!(
            req,
            "Content-Type: application/json\r\nContent-Length: {}\r\n",
            body.len()
        );
    }
    req.push_str("\r\n");
    req.push_str(&body);
    s.write_all(req.as_bytes()).expect("send");
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).expect("read response");
    parse_response(&raw)
}

fn parse_response(raw: &[u8]) -> HttpResponse {
    let text = String::from_utf8_lossy(raw);
    let (head, body) = text.split_once("\r\n\r\n").expect("response head");
    let mut lines = head.split("\r\n");
    let status_line = lines.next().expect("status line");
    let status = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status code");
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    HttpResponse {
        status,
        headers,
        body: body.to_string(),
    }
}

/// Client side of a WebSocket connection.
pub struct WsClient {
    stream: TcpStream,
}

/// Opens a WebSocket; returns the handshake response and, on 101, a client.
pub fn ws_connect(
    port: u16,
    path: &str,
    key: &str,
    extra_headers: &[(&str, &str)],
) -> (HttpResponse, Option<WsClient>) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    let mut req = format!(
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
    );
    for (k, v) in extra_headers {
        let _ = write!(req, "{k}: {v}\r\n");
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).expect("send handshake");
    // Read the head byte by byte so no frame bytes are consumed.
    let mut head = Vec::new();
    let mut b = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if s.read(&mut b).expect("read handshake") == 0 {
            break;
        }
        head.push(b[0]);
    }
    let mut resp = parse_response(&head);
    if resp.status != 101 {
        let mut tail = Vec::new();
        let _ = s.read_to_end(&mut tail);
        resp.body = String::from_utf8_lossy(&tail).into_owned();
        return (resp, None);
    }
    (resp, Some(WsClient { stream: s }))
}

impl WsClient {
    /// Reads one server frame: (opcode, payload).
    pub fn read_frame(&mut self) -> (u8, Vec<u8>) {
        let mut h = [0u8; 2];
        self.stream.read_exact(&mut h).expect("frame head");
        assert_eq!(h[1] & 0x80, 0, "server frames must not be masked");
        let mut len = u64::from(h[1] & 0x7f);
        if len == 126 {
            let mut b = [0u8; 2];
            self.stream.read_exact(&mut b).expect("len16");
            len = u64::from(u16::from_be_bytes(b));
        } else if len == 127 {
            let mut b = [0u8; 8];
            self.stream.read_exact(&mut b).expect("len64");
            len = u64::from_be_bytes(b);
        }
        let mut payload = vec![0u8; usize::try_from(len).expect("len")];
        self.stream.read_exact(&mut payload).expect("payload");
        (h[0] & 0x0f, payload)
    }

    /// Sends one masked client frame.
    pub fn send_frame(&mut self, opcode: u8, payload: &[u8]) {
        let mask = [0x12u8, 0x34, 0x56, 0x78];
        let mut f = vec![0x80 | opcode];
        let len = payload.len();
        assert!(len < 126, "test frames are small");
        f.push(0x80 | u8::try_from(len).expect("len"));
        f.extend_from_slice(&mask);
        f.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
        self.stream.write_all(&f).expect("send frame");
    }
}

/// Full WebSocket check: 101 with the right accept key, the hello event,
/// ping → pong, close → close.
pub fn check_websocket(port: u16, path: &str, version: &str) {
    let key = "dGhlIHNhbXBsZSBub25jZQ==";
    let (resp, client) = ws_connect(port, path, key, &[]);
    assert_eq!(resp.status, 101, "handshake on {path}: {}", resp.body);
    assert_eq!(
        resp.header("Sec-WebSocket-Accept"),
        Some("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
    );
    assert!(
        resp.header("Upgrade")
            .is_some_and(|v| v.eq_ignore_ascii_case("websocket"))
    );
    let mut c = client.expect("client");
    let (op, payload) = c.read_frame();
    assert_eq!(op, 1, "hello is a text frame");
    let hello: Value = serde_json::from_slice(&payload).expect("hello json");
    assert_eq!(hello["event"], "hello");
    assert_eq!(hello["seq"], 0);
    let sv = hello["data"]["server_version"]
        .as_str()
        .expect("server_version");
    assert!(
        sv.starts_with(&format!("{version}.")),
        "server_version {sv}"
    );
    c.send_frame(0x9, b"are-you-there");
    let (op, payload) = c.read_frame();
    assert_eq!((op, payload.as_slice()), (0xA, &b"are-you-there"[..]));
    c.send_frame(0x8, &1000u16.to_be_bytes());
    let (op, payload) = c.read_frame();
    assert_eq!(op, 0x8);
    assert_eq!(payload, 1000u16.to_be_bytes());
}

/// Checks the ping endpoint of a healthy stand-in.
pub fn check_ping_ok(port: u16, version: &str) {
    let r = http_get(port, "/api/v4/system/ping", &[]);
    assert_eq!(r.status, 200, "ping: {}", r.body);
    assert!(
        r.header("Content-Type")
            .is_some_and(|v| v.starts_with("application/json")),
        "content type"
    );
    let vid = r.header("X-Version-Id").expect("X-Version-ID header");
    assert!(
        vid.starts_with(&format!("{version}.{version}.")),
        "X-Version-ID {vid}"
    );
    let j = r.json();
    assert_eq!(j["status"], "OK");
    assert_eq!(j["ActiveSearchBackend"], "database");
    for k in [
        "AndroidLatestVersion",
        "AndroidMinVersion",
        "IosLatestVersion",
        "IosMinVersion",
    ] {
        assert_eq!(j[k], "", "{k}");
    }
    let r = http_get(port, "/api/v4/system/ping?get_server_status=true", &[]);
    assert_eq!(r.status, 200, "ping with status: {}", r.body);
    let j = r.json();
    assert_eq!(j["database_status"], "OK", "{}", r.body);
    assert_eq!(j["filestore_status"], "OK", "{}", r.body);
}

/// Asserts `secret` (and its percent-encoded form) appear nowhere in `text`.
pub fn assert_no_secret(text: &str, secret: &str, where_: &str) {
    assert!(
        !text.contains(secret),
        "the password leaked into {where_}:\n{text}"
    );
    let enc = encode_all(secret);
    assert!(
        !text.contains(&enc),
        "the encoded password leaked into {where_}:\n{text}"
    );
}
