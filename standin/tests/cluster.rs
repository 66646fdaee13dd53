//! Enterprise cluster mode and the license file, on a real PostgreSQL: two
//! licensed nodes register in ClusterDiscovery and see each other through
//! their gossip ports; without a license with the cluster feature
//! `ClusterSettings.Enable` changes nothing but a log line.

mod common;

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use common::{
    Install, Postgres, Running, base_config, free_port, http_get, http_json, local_json,
    standin_bins, ws_connect,
};
use mattermost_standin::license::{TestLicense, make_test_license};
use serde_json::{Value, json};

const VERSION: &str = "10.11.4";
const READY_TIMEOUT: Duration = Duration::from_secs(60);
const PASSWORD: &str = "cluster-test-pw";

struct Node {
    install: Install,
    run: Running,
    port: u16,
    gossip: u16,
    socket: PathBuf,
}

fn node(bins: &Path, pg: &Postgres, license: Option<&str>, cluster_name: &str) -> Node {
    node_on(bins, pg, license, cluster_name, None)
}

/// `listen`: `ServiceSettings.ListenAddress` with `{port}` for the port
/// (default `127.0.0.1:{port}`).
fn node_on(
    bins: &Path,
    pg: &Postgres,
    license: Option<&str>,
    cluster_name: &str,
    listen: Option<&str>,
) -> Node {
    let port = free_port();
    let gossip = free_port();
    let dsn = format!(
        "postgres://mmuser:{PASSWORD}@127.0.0.1:{}/mattermost?sslmode=disable&connect_timeout=10",
        pg.port
    );
    let mut cfg = base_config("postgres", &dsn, port);
    let install = Install::new(bins, &cfg);
    let socket = install.root.join("mm.sock");
    let license_file = install.root.join("config/test.mattermost-license");
    if let Some(text) = license {
        std::fs::write(&license_file, text).expect("license file");
    }
    if let Some(l) = listen {
        cfg["ServiceSettings"]["ListenAddress"] = json!(l.replace("{port}", &port.to_string()));
    }
    cfg["ServiceSettings"]["EnableLocalMode"] = json!(true);
    cfg["ServiceSettings"]["LocalModeSocketLocation"] = json!(socket.display().to_string());
    cfg["ServiceSettings"]["LicenseFileLocation"] = json!(license_file.display().to_string());
    cfg["ClusterSettings"] = json!({
        "Enable": true,
        "ClusterName": cluster_name,
        "AdvertiseAddress": "127.0.0.1",
        "BindAddress": "127.0.0.1",
        "UseIPAddress": true,
        "GossipPort": gossip
    });
    install.write_config(&cfg);
    let run = install.start_ready(READY_TIMEOUT);
    Node {
        install,
        run,
        port,
        gossip,
        socket,
    }
}

fn token(n: &Node, username: &str) -> String {
    let r = local_json(
        &n.socket,
        "POST",
        "/api/v4/users",
        Some(
            &json!({"email": format!("{username}@example.com"), "username": username, "password": "Passw0rd-long"}),
        ),
    );
    assert!(
        r.status == 201 || r.status == 400,
        "{} {}",
        r.status,
        r.body
    );
    let r = http_json(
        n.port,
        "POST",
        "/api/v4/users/login",
        Some(&json!({"login_id": username, "password": "Passw0rd-long"})),
        &[],
    );
    assert_eq!(r.status, 200, "{}", r.body);
    r.header("Token").expect("token").to_string()
}

fn status(n: &Node, token: &str) -> (u16, Value) {
    let r = http_get(
        n.port,
        "/api/v4/cluster/status",
        &[("Authorization", &format!("Bearer {token}"))],
    );
    let v = serde_json::from_str(&r.body).unwrap_or(Value::Null);
    (r.status, v)
}

/// A non-loopback IPv4 address of this machine (the one with the default
/// route), or `None` after a loud message.
fn private_ip() -> Option<String> {
    let ip = std::net::UdpSocket::bind("0.0.0.0:0")
        .and_then(|u| u.connect("192.0.2.1:9").map(|()| u))
        .and_then(|u| u.local_addr())
        .map(|a| a.ip())
        .ok()
        .filter(|ip| !ip.is_loopback() && !ip.is_unspecified());
    if ip.is_none() {
        eprintln!(
            "\n!!!!!!!! SKIPPED the private-address ListenAddress checks: no non-loopback IPv4 address !!!!!!!!\n"
        );
    }
    ip.map(|i| i.to_string())
}

/// The status of `GET /api/v4/system/ping` at `addr`, `None` if nothing answers.
fn ping_status(addr: &str) -> Option<u16> {
    use std::io::{Read, Write};
    let mut s = TcpStream::connect_timeout(&addr.parse().ok()?, Duration::from_secs(5)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    s.write_all(b"GET /api/v4/system/ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    out.split_whitespace().nth(1)?.parse().ok()
}

#[test]
fn cluster_needs_a_license_and_lists_live_nodes() {
    let Some(pg) = Postgres::start() else {
        return;
    };
    pg.create_user_and_db("mmuser", PASSWORD, "mattermost");
    let bins = standin_bins(VERSION, "enterprise", "");
    let good = make_test_license(&TestLicense::enterprise(30)).expect("license");

    // Two licensed nodes of one cluster.
    let node_a = node(&bins, &pg, Some(&good), "testcluster");
    let node_b = node(&bins, &pg, Some(&good), "testcluster");
    let log_a = node_a.install.read_log();
    assert!(
        log_a.contains("License key is valid, unlocking enterprise features."),
        "{log_a}"
    );
    assert!(log_a.contains("Cluster mode started"), "{log_a}");
    assert!(
        TcpStream::connect(("127.0.0.1", node_a.gossip)).is_ok(),
        "gossip port open"
    );
    let r = http_get(node_a.port, "/api/v4/system/ping", &[]);
    assert!(
        r.header("X-Version-Id")
            .is_some_and(|v| v.rsplit('.').next() == Some("true")),
        "licensed: {:?}",
        r.header("X-Version-Id")
    );
    let rows = pg.superuser_sql(
        "mattermost",
        "SELECT type || ' ' || hostname || ' ' || gossipport FROM clusterdiscovery WHERE clustername = 'testcluster' ORDER BY gossipport;",
    );
    let mut expected = [node_a.gossip, node_b.gossip];
    expected.sort_unstable();
    assert_eq!(
        rows.lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect::<Vec<_>>(),
        expected
            .iter()
            .map(|p| format!("mattermost_cluster 127.0.0.1 {p}"))
            .collect::<Vec<_>>()
    );

    // The status route: 401 without a session, 403 for a plain user, the
    // live nodes for a system admin.
    let r = http_get(node_a.port, "/api/v4/cluster/status", &[]);
    assert_eq!(r.status, 401, "{}", r.body);
    let admin = token(&node_a, "admin");
    let user = token(&node_a, "plainuser");
    let (st, _) = status(&node_a, &user);
    assert_eq!(st, 403);
    let (st, nodes) = status(&node_a, &admin);
    assert_eq!(st, 200, "{nodes}");
    let mut addrs: Vec<String> = nodes
        .as_array()
        .expect("array")
        .iter()
        .map(|n| n["ipaddress"].as_str().unwrap_or_default().to_string())
        .collect();
    addrs.sort();
    let mut want: Vec<String> = expected.iter().map(|p| format!("127.0.0.1:{p}")).collect();
    want.sort();
    assert_eq!(addrs, want, "{nodes}");
    assert!(
        nodes
            .as_array()
            .expect("array")
            .iter()
            .all(|n| n["version"] == VERSION)
    );

    // A post made on A reaches WebSocket clients on B (through the gossip
    // port) and on A, authenticated by header or by authentication_challenge.
    let admin_b = token(&node_b, "admin");
    let key = "dGhlIHNhbXBsZSBub25jZQ==";
    let bearer_b = format!("Bearer {admin_b}");
    let (resp, ws_b) = ws_connect(
        node_b.port,
        "/api/v4/websocket",
        key,
        &[("Authorization", &bearer_b)],
    );
    let mut ws_b = ws_b.unwrap_or_else(|| panic!("websocket on B: {} {}", resp.status, resp.body));
    let (resp, ws_b2) = ws_connect(node_b.port, "/api/v4/websocket", key, &[]);
    let mut ws_b2 =
        ws_b2.unwrap_or_else(|| panic!("websocket on B: {} {}", resp.status, resp.body));
    let bearer_a = format!("Bearer {admin}");
    let (resp, ws_a) = ws_connect(
        node_a.port,
        "/api/v4/websocket",
        key,
        &[("Authorization", &bearer_a)],
    );
    let mut ws_a = ws_a.unwrap_or_else(|| panic!("websocket on A: {} {}", resp.status, resp.body));
    for ws in [&mut ws_b, &mut ws_b2, &mut ws_a] {
        let (op, hello) = ws.read_frame();
        assert_eq!(op, 1);
        assert!(String::from_utf8_lossy(&hello).contains("\"hello\""));
    }
    let challenge =
        json!({"seq": 1, "action": "authentication_challenge", "data": {"token": admin_b}});
    ws_b2.send_frame(1, challenge.to_string().as_bytes());
    let (_, reply) = ws_b2.read_frame();
    let reply: Value = serde_json::from_slice(&reply).expect("reply json");
    assert_eq!(
        (reply["status"].clone(), reply["seq_reply"].clone()),
        (json!("OK"), json!(1))
    );
    let r = http_json(
        node_a.port,
        "POST",
        "/api/v4/posts",
        Some(
            &json!({"channel_id": "abcdefghijklmnopqrstuvwxyz", "message": "hello across the cluster"}),
        ),
        &[("Authorization", &bearer_a)],
    );
    assert_eq!(r.status, 201, "{}", r.body);
    for (ws, node_name) in [
        (&mut ws_b, "B"),
        (&mut ws_b2, "B (challenge)"),
        (&mut ws_a, "A"),
    ] {
        let (op, frame) = ws.read_frame();
        assert_eq!(op, 1);
        let event: Value = serde_json::from_slice(&frame).expect("event json");
        assert_eq!(event["event"], "posted", "on {node_name}: {event}");
        let post: Value =
            serde_json::from_str(event["data"]["post"].as_str().unwrap_or("{}")).expect("post");
        assert_eq!(
            post["message"], "hello across the cluster",
            "on {node_name}"
        );
        assert_eq!(
            event["broadcast"]["channel_id"],
            "abcdefghijklmnopqrstuvwxyz"
        );
    }
    drop((ws_a, ws_b, ws_b2));

    // Uploads with the local file driver land under FileSettings.Directory
    // with the real key layout, and read back.
    let body = b"local bytes";
    let mut s = TcpStream::connect(("127.0.0.1", node_a.port)).expect("connect");
    {
        use std::io::{Read, Write};
        s.set_read_timeout(Some(Duration::from_secs(30)))
            .expect("timeout");
        write!(
            s,
            "POST /api/v4/files?channel_id=abcdefghijklmnopqrstuvwxyz&filename=note.txt HTTP/1.1\r\nHost: x\r\nAuthorization: {bearer_a}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        )
        .expect("send");
        s.write_all(body).expect("body");
        let mut out = String::new();
        s.read_to_string(&mut out).expect("read");
        assert!(out.starts_with("HTTP/1.1 201"), "{out}");
        let json_body = out
            .split_once("\r\n\r\n")
            .map(|(_, b)| b)
            .unwrap_or_default();
        let v: Value = serde_json::from_str(json_body).expect("json");
        let id = v["file_infos"][0]["id"].as_str().expect("id").to_string();
        let path = pg.superuser_sql(
            "mattermost",
            &format!("SELECT path FROM fileinfo WHERE id = '{id}';"),
        );
        let on_disk = node_a.install.root.join("data").join(path.trim());
        assert_eq!(std::fs::read(&on_disk).expect("file on disk"), body);
        assert!(
            path.trim().ends_with(&format!(
                "/teams/noteam/channels/abcdefghijklmnopqrstuvwxyz/users/{}/{id}/note.txt",
                v["file_infos"][0]["user_id"].as_str().unwrap_or_default()
            )),
            "{path}"
        );
        let r = http_get(
            node_a.port,
            &format!("/api/v4/files/{id}"),
            &[("Authorization", &bearer_a)],
        );
        assert_eq!((r.status, r.body.as_str()), (200, "local bytes"));
        let plain = format!("Bearer {user}");
        let r = http_get(
            node_a.port,
            &format!("/api/v4/files/{id}"),
            &[("Authorization", &plain)],
        );
        assert_eq!(r.status, 403, "not the creator, not an admin");
    }

    // B stops: A lists itself only.
    drop(node_b.run);
    let (_, nodes) = status(&node_a, &admin);
    assert_eq!(nodes.as_array().map(Vec::len), Some(1), "{nodes}");
    drop(node_a.run);

    // No license file: Enable does nothing but a log line. (This node listens
    // on all interfaces, ":port", as app boxes do.)
    let node_c = node_on(&bins, &pg, None, "other", Some(":{port}"));
    if let Some(ip) = private_ip() {
        assert_eq!(ping_status(&format!("{ip}:{}", node_c.port)), Some(200));
    }
    let log = node_c.install.read_log();
    assert!(log.contains("Failed to get license from disk"), "{log}");
    assert!(log.contains("Cluster mode is not licensed"), "{log}");
    assert!(
        TcpStream::connect(("127.0.0.1", node_c.gossip)).is_err(),
        "no gossip port"
    );
    let admin_c = token(&node_c, "admin");
    let (st, nodes) = status(&node_c, &admin_c);
    assert_eq!((st, nodes), (200, json!([])));
    let r = http_get(node_c.port, "/api/v4/system/ping", &[]);
    assert!(
        r.header("X-Version-Id")
            .is_some_and(|v| v.rsplit('.').next() == Some("false"))
    );
    drop(node_c.run);

    // A license without the cluster feature, an expired one, a forged one.
    let mut no_cluster = TestLicense::enterprise(30);
    no_cluster.cluster = false;
    let node_d = node(
        &bins,
        &pg,
        Some(&make_test_license(&no_cluster).expect("lic")),
        "other",
    );
    let log = node_d.install.read_log();
    assert!(log.contains("License key is valid"), "{log}");
    assert!(log.contains("Cluster mode is not licensed"), "{log}");
    drop(node_d.run);

    // ListenAddress on the box's private address only (an app box).
    if let Some(ip) = private_ip() {
        let node_p = node_on(&bins, &pg, None, "other", Some(&format!("{ip}:{{port}}")));
        assert_eq!(ping_status(&format!("{ip}:{}", node_p.port)), Some(200));
        assert_eq!(
            ping_status(&format!("127.0.0.1:{}", node_p.port)),
            None,
            "not on the loopback address"
        );
        drop(node_p.run);
    }

    let mut expired = TestLicense::enterprise(30);
    expired.expires_at = expired.issued_at + 1000;
    let node_e = node(
        &bins,
        &pg,
        Some(&make_test_license(&expired).expect("lic")),
        "other",
    );
    let log = node_e.install.read_log();
    assert!(
        log.contains("Failed to save license key loaded from disk."),
        "{log}"
    );
    assert!(
        log.contains("License is expired or not yet started."),
        "{log}"
    );
    assert!(log.contains("Cluster mode is not licensed"), "{log}");
    drop(node_e.run);

    let mut forged = good.clone().into_bytes();
    forged[20] = if forged[20] == b'A' { b'B' } else { b'A' };
    let node_f = node(
        &bins,
        &pg,
        Some(&String::from_utf8(forged).expect("utf8")),
        "other",
    );
    let log = node_f.install.read_log();
    assert!(
        log.contains("but it appears to be invalid: Invalid signature"),
        "{log}"
    );
    assert!(log.contains("Cluster mode is not licensed"), "{log}");
    drop(node_f.run);
}
