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
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

// A password with every character that tends to break quoting:
// ' " \ $ ` @ / : % # and a space (plus & ? + ; = and non-ASCII).
pub const NASTY_PASSWORD: &str = "Pw'q\"r\\s$t`u@v/w:x%y#z a&b?c+d;e=fé";

/// `true` when a missing database server must fail the test.
pub fn require_db() -> bool {
    std::env::var("MMS_REQUIRE_DB").is_ok_and(|v| v == "1")
}

/// Skips (loudly) or fails, depending on `MMS_REQUIRE_DB`.
pub fn skip_or_fail(what: &str) {
    assert!(
        !require_db(),
        "MMS_REQUIRE_DB=1 but {what}; install it or unset MMS_REQUIRE_DB"
    );
    eprintln!("\n*** SKIPPING: {what} (set MMS_REQUIRE_DB=1 to make this a failure) ***\n");
}

/// Skips loudly for reasons unrelated to database availability.
pub fn skip_loudly(what: &str) {
    eprintln!("\n*** SKIPPING: {what} ***\n");
}

pub fn is_root() -> bool {
    mattermost_standin::util::effective_uid() == Some(0)
}

/// Percent-encodes everything except unreserved characters.
pub fn encode_all(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

pub fn find_program(names: &[&str], extra_dirs: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let mut dirs: Vec<PathBuf> = std::env::split_paths(&path).collect();
    dirs.extend(extra_dirs.iter().map(PathBuf::from));
    // Debian's versioned PostgreSQL binaries.
    if let Ok(rd) = fs::read_dir("/usr/lib/postgresql") {
        let mut versions: Vec<PathBuf> = rd
            .filter_map(Result::ok)
            .map(|e| e.path().join("bin"))
            .collect();
        versions.sort();
        versions.reverse();
        dirs.extend(versions);
    }
    for name in names {
        for d in &dirs {
            let p = d.join(name);
            if p.is_file() {
                return Some(p);
            }
        }
    }
    None
}

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

pub fn set_mode(p: &Path, mode: u32) {
    fs::set_permissions(p, fs::Permissions::from_mode(mode)).expect("chmod");
}

/// Base config for the stand-in: given driver/DSN, listening on `port`.
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

// ------------------------------------------------------------- databases

fn run_checked(cmd: &mut Command, what: &str) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        out.status.success(),
        "{what} failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Prefixes a command to run as `user` when we are root.
fn as_user(user: &str, program: &Path) -> Command {
    if is_root() {
        let mut c = Command::new("setpriv");
        c.arg(format!("--reuid={user}"))
            .arg(format!("--regid={user}"))
            .arg("--clear-groups")
            .arg("--")
            .arg(program);
        c.env("HOME", "/tmp");
        c
    } else {
        Command::new(program)
    }
}

/// A throw-away PostgreSQL cluster: Unix socket in a temp dir and TCP on
/// 127.0.0.1, scram-sha-256 everywhere.
pub struct Postgres {
    tmp: tempfile::TempDir,
    pub port: u16,
    pub socket_dir: PathBuf,
    data: PathBuf,
    pg_ctl: PathBuf,
    psql: PathBuf,
    superpw: String,
}

impl Postgres {
    /// `None` (after a loud skip message) if PostgreSQL is not installed.
    pub fn start() -> Option<Self> {
        let (Some(initdb), Some(pg_ctl), Some(psql)) = (
            find_program(&["initdb"], &[]),
            find_program(&["pg_ctl"], &[]),
            find_program(&["psql"], &[]),
        ) else {
            skip_or_fail("PostgreSQL server binaries (initdb, pg_ctl, psql) are not installed");
            return None;
        };
        if is_root()
            && Command::new("id")
                .arg("postgres")
                .output()
                .map_or(true, |o| !o.status.success())
        {
            skip_or_fail("the `postgres` system user does not exist");
            return None;
        }
        let tmp = tempfile::Builder::new()
            .prefix("standin-pg-")
            .tempdir()
            .expect("tempdir");
        set_mode(tmp.path(), 0o755);
        let data = tmp.path().join("data");
        let socket_dir = tmp.path().join("sock");
        fs::create_dir(&socket_dir).expect("socket dir");
        set_mode(&socket_dir, 0o755);
        let superpw = "super-secret-pw".to_string();
        let pwfile = tmp.path().join("pwfile");
        fs::write(&pwfile, format!("{superpw}\n")).expect("pwfile");
        fs::create_dir(&data).expect("data dir");
        set_mode(&data, 0o700);
        if is_root() {
            for p in [&data, &socket_dir, &pwfile] {
                std::os::unix::fs::chown(p, Some(uid_of("postgres")), None).expect("chown");
            }
        }
        let port = free_port();
        let mut init = as_user("postgres", &initdb);
        init.current_dir(tmp.path())
            .arg("-D")
            .arg(&data)
            .args(["-U", "postgres", "-E", "UTF8", "--locale=C", "-N"])
            .arg(format!("--pwfile={}", pwfile.display()))
            .args(["--auth-local=scram-sha-256", "--auth-host=scram-sha-256"]);
        run_checked(&mut init, "initdb");
        let mut start = as_user("postgres", &pg_ctl);
        start
            .current_dir(tmp.path())
            .arg("-D")
            .arg(&data)
            .arg("-l")
            .arg(data.join("postgres.log"))
            .args(["-w", "-t", "60", "-o"])
            .arg(format!(
                "-k {} -p {port} -c listen_addresses=127.0.0.1 -c fsync=off",
                socket_dir.display()
            ))
            .arg("start");
        run_checked(&mut start, "pg_ctl start");
        Some(Self {
            tmp,
            port,
            socket_dir,
            data,
            pg_ctl,
            psql,
            superpw,
        })
    }

    /// Runs SQL as the superuser over the Unix socket; returns stdout.
    pub fn superuser_sql(&self, db: &str, sql: &str) -> String {
        let mut cmd = Command::new(&self.psql);
        cmd.arg("-h")
            .arg(&self.socket_dir)
            .arg("-p")
            .arg(self.port.to_string())
            .args([
                "-U",
                "postgres",
                "-d",
                db,
                "-X",
                "-q",
                "-A",
                "-t",
                "-v",
                "ON_ERROR_STOP=1",
                "-f",
                "-",
            ])
            .env("PGPASSWORD", &self.superpw)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("psql");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(sql.as_bytes())
            .expect("write sql");
        let out = child.wait_with_output().expect("psql output");
        assert!(
            out.status.success(),
            "psql failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Creates a login role and a database it owns (the PostgreSQL 15+
    /// recipe from the Mattermost docs).
    pub fn create_user_and_db(&self, user: &str, password: &str, db: &str) {
        let pw = password.replace('\'', "''");
        self.superuser_sql(
            "postgres",
            &format!(
                "CREATE ROLE \"{user}\" LOGIN PASSWORD '{pw}';\nCREATE DATABASE \"{db}\" OWNER \"{user}\";\n"
            ),
        );
    }

    /// A role that can log in but may not create tables anywhere.
    pub fn create_unprivileged(&self, user: &str, password: &str, db: &str) {
        let pw = password.replace('\'', "''");
        self.superuser_sql(
            "postgres",
            &format!(
                "CREATE ROLE \"{user}\" LOGIN PASSWORD '{pw}';\nCREATE DATABASE \"{db}\";\nGRANT CONNECT ON DATABASE \"{db}\" TO \"{user}\";\n"
            ),
        );
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let mut stop = as_user("postgres", &self.pg_ctl);
        stop.current_dir(self.tmp.path())
            .arg("-D")
            .arg(&self.data)
            .args(["-m", "immediate", "-w", "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let _ = stop.status();
    }
}

fn uid_of(user: &str) -> u32 {
    let out = Command::new("id")
        .arg("-u")
        .arg(user)
        .output()
        .expect("id -u");
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .expect("numeric uid")
}

/// A throw-away MariaDB server (TCP on 127.0.0.1 plus a Unix socket).
pub struct MariaDb {
    _tmp: tempfile::TempDir,
    pub port: u16,
    pub socket: PathBuf,
    child: Child,
    client: PathBuf,
}

impl MariaDb {
    /// `None` (after a loud skip message) if MariaDB is not installed.
    pub fn start() -> Option<Self> {
        let (Some(install_db), Some(server), Some(client)) = (
            find_program(&["mariadb-install-db", "mysql_install_db"], &["/usr/bin"]),
            find_program(&["mariadbd", "mysqld"], &["/usr/sbin"]),
            find_program(&["mariadb", "mysql"], &[]),
        ) else {
            skip_or_fail(
                "MariaDB server binaries (mariadb-install-db, mariadbd, mariadb) are not installed",
            );
            return None;
        };
        if !is_root() {
            skip_or_fail("the MariaDB test server is started with --user=root and needs root");
            return None;
        }
        let tmp = tempfile::Builder::new()
            .prefix("standin-mariadb-")
            .tempdir()
            .expect("tempdir");
        set_mode(tmp.path(), 0o755);
        let data = tmp.path().join("data");
        let socket = tmp.path().join("mysqld.sock");
        let mut init = Command::new(&install_db);
        init.arg("--no-defaults")
            .arg(format!("--datadir={}", data.display()))
            .args([
                "--user=root",
                "--auth-root-authentication-method=normal",
                "--skip-test-db",
                "--skip-name-resolve",
            ]);
        run_checked(&mut init, "mariadb-install-db");
        let port = free_port();
        let log = File::create(tmp.path().join("mariadbd.out")).expect("log");
        let log2 = log.try_clone().expect("log");
        let child = Command::new(&server)
            .arg("--no-defaults")
            .arg(format!("--datadir={}", data.display()))
            .arg(format!("--socket={}", socket.display()))
            .arg(format!("--port={port}"))
            .arg(format!(
                "--pid-file={}",
                tmp.path().join("mariadbd.pid").display()
            ))
            .arg(format!(
                "--log-error={}",
                tmp.path().join("mariadbd.err").display()
            ))
            .args([
                "--bind-address=127.0.0.1",
                "--user=root",
                "--skip-log-bin",
                "--innodb-buffer-pool-size=16M",
                "--skip-name-resolve",
            ])
            .stdout(log)
            .stderr(log2)
            .spawn()
            .expect("start mariadbd");
        let db = Self {
            _tmp: tmp,
            port,
            socket,
            child,
            client,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let ok = Command::new(&db.client)
                .arg("--no-defaults")
                .arg(format!("--socket={}", db.socket.display()))
                .args(["-uroot", "-e", "SELECT 1"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
            if ok {
                break;
            }
            assert!(Instant::now() < deadline, "MariaDB did not come up");
            std::thread::sleep(Duration::from_millis(250));
        }
        Some(db)
    }

    /// Runs SQL as root over the Unix socket; returns stdout.
    pub fn root_sql(&self, sql: &str) -> String {
        let mut child = Command::new(&self.client)
            .arg("--no-defaults")
            .arg(format!("--socket={}", self.socket.display()))
            .args(["-uroot", "--batch", "--skip-column-names"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("mariadb client");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(sql.as_bytes())
            .expect("write sql");
        let out = child.wait_with_output().expect("output");
        assert!(
            out.status.success(),
            "mariadb failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Creates `user`@`%` and `user`@`localhost` with all privileges on `db`.
    pub fn create_user_and_db(&self, user: &str, password: &str, db: &str) {
        let pw = password.replace('\\', "\\\\").replace('\'', "\\'");
        self.root_sql(&format!(
            "CREATE DATABASE `{db}` CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci;\n\
             CREATE USER '{user}'@'%' IDENTIFIED BY '{pw}';\n\
             CREATE USER '{user}'@'localhost' IDENTIFIED BY '{pw}';\n\
             GRANT ALL PRIVILEGES ON `{db}`.* TO '{user}'@'%';\n\
             GRANT ALL PRIVILEGES ON `{db}`.* TO '{user}'@'localhost';\n"
        ));
    }
}

impl Drop for MariaDb {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
