//! `FileSettings.DriverName = "amazons3"` against a local S3 peer.
//!
//! The peer is moto (`pip install 'moto[server]'`, `moto_server`): a MOCK of
//! S3, used here only for the stand-in's own tests, because no real
//! S3-compatible store can be started on the test machines yet. Without
//! `moto_server` the test is skipped LOUDLY (and fails with MMS_REQUIRE_S3=1).
//!
//! moto does not check signatures of presigned requests (its optional IAM
//! check, `INITIAL_NO_AUTH_ACTION_COUNT`, only reads the Authorization header
//! and answers 500 to query-string signatures), so wrong credentials cannot be
//! shown here: that case needs a real store (Ceph RGW, tests/freshbox/s3.sh).

mod common;

use std::fmt::Write as _;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{
    Install, Postgres, Running, base_config, free_port, http_get, http_json, local_json,
    standin_bins,
};
use serde_json::{Value, json};

const VERSION: &str = "10.11.4";
const READY_TIMEOUT: Duration = Duration::from_secs(60);
const PASSWORD: &str = "s3-test-pw";
const CHANNEL: &str = "abcdefghijklmnopqrstuvwxyz";

struct Moto {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
    key: String,
    secret: String,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A raw HTTP/1.1 exchange with moto; returns (status, body).
fn raw(port: u16, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> (u16, String) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect moto");
    s.set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        let _ = write!(req, "{k}: {v}\r\n");
    }
    req.push_str("\r\n");
    req.push_str(body);
    s.write_all(req.as_bytes()).expect("send");
    let (status, body) = read_answer(&mut s);
    (status, body)
}

/// A request to the bucket signed with the test's credentials (moto refuses
/// anonymous reads), path style; returns (status, body).
fn signed(moto: &Moto, method: &str, key: &str) -> (u16, String) {
    use rusty_s3::{Bucket, Credentials, S3Action, UrlStyle};
    let endpoint = format!("http://127.0.0.1:{}", moto.port)
        .parse()
        .expect("url");
    let bucket = Bucket::new(endpoint, UrlStyle::Path, "mm-files", "us-east-1").expect("bucket");
    let creds = Credentials::new(moto.key.clone(), moto.secret.clone());
    let url = match method {
        "HEAD" => rusty_s3::actions::HeadObject::new(&bucket, Some(&creds), key)
            .sign(Duration::from_secs(60)),
        _ => rusty_s3::actions::GetObject::new(&bucket, Some(&creds), key)
            .sign(Duration::from_secs(60)),
    };
    let target = format!("{}?{}", url.path(), url.query().unwrap_or_default());
    raw(moto.port, method, &target, &[], "")
}

fn start_moto() -> Option<Moto> {
    let found = Command::new("moto_server")
        .arg("--help")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        let msg = "moto_server (pip install 'moto[server]') is not installed: the S3 test of the \
                   stand-in needs this local S3 mock";
        assert!(
            !std::env::var("MMS_REQUIRE_S3").is_ok_and(|v| v == "1"),
            "{msg}"
        );
        eprintln!("\n!!!!!!!! SKIPPED: {msg} !!!!!!!!\n");
        return None;
    }
    let dir = tempfile::Builder::new()
        .prefix("standin-moto-")
        .tempdir()
        .expect("tempdir");
    let port = free_port();
    let child = Command::new("moto_server")
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .current_dir(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start moto_server");
    let deadline = Instant::now() + Duration::from_secs(60);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "moto_server did not listen");
        std::thread::sleep(Duration::from_millis(200));
    }
    Some(Moto {
        child,
        port,
        _dir: dir,
        key: "AKIDSTANDINTEST".into(),
        secret: "standin/test/secret".into(),
    })
}

fn s3_config(pg: &Postgres, port: u16, file_settings: &Value) -> Value {
    let dsn = format!(
        "postgres://mmuser:{PASSWORD}@127.0.0.1:{}/mattermost?sslmode=disable&connect_timeout=10",
        pg.port
    );
    let mut cfg = base_config("postgres", &dsn, port);
    cfg["FileSettings"] = file_settings.clone();
    cfg["ServiceSettings"]["EnableLocalMode"] = json!(true);
    cfg
}

struct Server {
    _install: Install,
    run: Running,
    port: u16,
    log: std::path::PathBuf,
    socket: std::path::PathBuf,
}

fn start(bins: &Path, pg: &Postgres, file_settings: &Value) -> Server {
    let port = free_port();
    let mut cfg = s3_config(pg, port, file_settings);
    let install = Install::new(bins, &cfg);
    let socket = install.root.join("mm.sock");
    cfg["ServiceSettings"]["LocalModeSocketLocation"] = json!(socket.display().to_string());
    install.write_config(&cfg);
    let run = install.start_ready(READY_TIMEOUT);
    let log = install.log_file();
    Server {
        _install: install,
        run,
        port,
        log,
        socket,
    }
}

fn read_log(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_default()
}

/// The first account (system admin) through local mode, then a session token.
fn admin_token(s: &Server) -> (String, String) {
    let r = local_json(
        &s.socket,
        "POST",
        "/api/v4/users",
        Some(
            &json!({"email": "admin@example.com", "username": "admin", "password": "Adm1n-passw0rd"}),
        ),
    );
    assert!(
        r.status == 201 || r.status == 400,
        "create admin: {} {}",
        r.status,
        r.body
    );
    let r = http_json(
        s.port,
        "POST",
        "/api/v4/users/login",
        Some(&json!({"login_id": "admin", "password": "Adm1n-passw0rd"})),
        &[],
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let token = r.header("Token").expect("token").to_string();
    (token, r.json()["id"].as_str().expect("id").to_string())
}

fn upload(port: u16, token: &str, name: &str, data: &[u8]) -> (u16, Value) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(60)))
        .expect("timeout");
    let head = format!(
        "POST /api/v4/files?channel_id={CHANNEL}&filename={name} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\nContent-Type: application/octet-stream\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        data.len()
    );
    s.write_all(head.as_bytes()).expect("send");
    s.write_all(data).expect("send body");
    let (status, body) = read_answer(&mut s);
    (
        status,
        serde_json::from_str(&body).unwrap_or(Value::String(body)),
    )
}

#[test]
fn files_in_s3_like_the_real_server() {
    let Some(moto) = start_moto() else {
        return;
    };
    let Some(pg) = Postgres::start() else {
        return;
    };
    pg.create_user_and_db("mmuser", PASSWORD, "mattermost");
    let bins = standin_bins(VERSION, "enterprise", "");
    let endpoint = format!("127.0.0.1:{}", moto.port);
    let good = json!({
        "DriverName": "amazons3",
        "Directory": "./data/",
        "AmazonS3AccessKeyId": moto.key,
        "AmazonS3SecretAccessKey": moto.secret,
        "AmazonS3Bucket": "mm-files",
        "AmazonS3PathPrefix": "",
        "AmazonS3Region": "us-east-1",
        "AmazonS3Endpoint": endpoint,
        "AmazonS3SSL": false,
        "AmazonS3SSE": false,
        "AmazonS3RequestTimeoutMilliseconds": 5000
    });

    // 1. Good settings: the missing bucket is made at start-up, an upload
    //    lands in it under the real key layout, the download reads it back.
    {
        let s = start(&bins, &pg, &good);
        let log = read_log(&s.log);
        assert!(!log.contains("Problem with file storage settings"), "{log}");
        let (token, user_id) = admin_token(&s);
        let (status, body) = upload(s.port, &token, "hello.txt", b"hello from the stand-in");
        assert_eq!(status, 201, "{body}");
        let info = &body["file_infos"][0];
        let file_id = info["id"].as_str().expect("file id").to_string();
        let path = pg.superuser_sql(
            "mattermost",
            &format!("SELECT path FROM fileinfo WHERE id = '{file_id}';"),
        );
        let day = path
            .trim()
            .split('/')
            .next()
            .unwrap_or_default()
            .to_string();
        assert_eq!(day.len(), 8, "{path}");
        assert_eq!(
            path.trim(),
            format!("{day}/teams/noteam/channels/{CHANNEL}/users/{user_id}/{file_id}/hello.txt")
        );
        let r = http_get(
            s.port,
            &format!("/api/v4/files/{file_id}"),
            &[("Authorization", &format!("Bearer {token}"))],
        );
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.body, "hello from the stand-in");
        let r = http_get(s.port, "/api/v4/system/ping?get_server_status=true", &[]);
        assert_eq!(r.json()["filestore_status"], "OK", "{}", r.body);
        // The object itself, read from the bucket directly.
        let (st, body) = signed(&moto, "GET", path.trim());
        assert_eq!((st, body.as_str()), (200, "hello from the stand-in"));
        // With a path prefix the key starts with it (filepath.Join).
        drop(s.run);
        let mut prefixed = good.clone();
        prefixed["AmazonS3PathPrefix"] = json!("mm/prefix/");
        let s = start(&bins, &pg, &prefixed);
        assert!(!read_log(&s.log).contains("Problem with file storage settings"));
        let (token, _) = admin_token(&s);
        let (status, body) = upload(s.port, &token, "b.png", b"not really a png");
        assert_eq!(status, 201, "{body}");
        let id = body["file_infos"][0]["id"]
            .as_str()
            .expect("id")
            .to_string();
        let path = pg.superuser_sql(
            "mattermost",
            &format!("SELECT path FROM fileinfo WHERE id = '{id}';"),
        );
        let (st, _) = signed(&moto, "GET", &format!("mm/prefix/{}", path.trim()));
        assert_eq!(st, 200, "object under the prefix");
        let (st, _) = signed(&moto, "HEAD", path.trim());
        assert_eq!(st, 404, "not outside the prefix");
        drop(s.run);
    }

    // 2. Nothing listening at the endpoint: the server starts, logs the
    //    problem like the real one (app/server.go), reports the file store
    //    unhealthy, and an upload fails with api.file.write_file.app_error (500).
    {
        let mut bad = good.clone();
        bad["AmazonS3Endpoint"] = json!(format!("127.0.0.1:{}", free_port()));
        let s = start(&bins, &pg, &bad);
        let log = read_log(&s.log);
        assert!(log.contains("Problem with file storage settings"), "{log}");
        assert!(
            log.contains("unable to check if the S3 bucket exists"),
            "{log}"
        );
        assert!(
            !log.contains(&moto.secret),
            "the secret must not be logged: {log}"
        );
        let (token, _) = admin_token(&s);
        let (status, body) = upload(s.port, &token, "y.txt", b"data");
        assert_eq!(status, 500, "{body}");
        assert_eq!(body["id"], "api.file.write_file.app_error", "{body}");
        let r = http_get(s.port, "/api/v4/system/ping?get_server_status=true", &[]);
        assert_eq!(r.json()["filestore_status"], "UNHEALTHY", "{}", r.body);
        drop(s.run);
    }

    // 3. An endpoint with a scheme stops the server (minio-go refuses it).
    {
        let mut bad = good.clone();
        bad["AmazonS3Endpoint"] = json!(format!("http://127.0.0.1:{}", moto.port));
        let cfg = s3_config(&pg, free_port(), &bad);
        let install = Install::new(&bins, &cfg);
        let done = common::run_to_exit(install.command(), Duration::from_secs(60));
        assert_eq!(done.status.code(), Some(1), "{}", done.all_output());
        assert!(
            done.stderr.contains(
                "failed to initialize filebackend: Endpoint url cannot have fully qualified paths."
            ),
            "{}",
            done.stderr
        );
    }
}

/// Reads an HTTP answer to the end: (status, body).
fn read_answer(s: &mut impl Read) -> (u16, String) {
    let mut out = Vec::new();
    s.read_to_end(&mut out).expect("read");
    let text = String::from_utf8_lossy(&out).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}
