//! Several machines (issue 13): a database box, two app boxes and a proxy box on a
//! private bridge of the test's own, and a real S3 object store (Debian's Ceph RADOS
//! gateway, tests/freshbox/s3.sh) on it. One answers file describes them all; each
//! box runs the installer with it and finds its role by its address.

use std::collections::BTreeMap;

use crate::freshbox_install::{MIRROR_PORT, prepared_box, text};
use crate::support::freshbox::{self, FreshBox};
use crate::support::mirror::{self, V11};
use crate::support::netlab::{Bridge, S3Store};

const DOMAIN: &str = "chat.example.com";
const DB: &str = "10.77.0.10";
const APP1: &str = "10.77.0.21";
const APP2: &str = "10.77.0.22";
const PROXY: &str = "10.77.0.30";
const STORE: &str = "10.77.0.5";
const BUCKET: &str = "mattermost-files";
const PASSWORD: &str = "a shared db password: 'quoted' and \\ too";
const CA: &str = "/etc/mattermost-setup/postgresql-ca.pem";
/// The managed database and the single box of the second test (a bridge of its own).
const PG: &str = "10.78.0.10";
const BOX: &str = "10.78.0.21";
/// The machines behind a TLS proxy (the third test, a bridge of its own).
const TDB: &str = "10.79.0.10";
const TAPP: &str = "10.79.0.21";
const TPROXY: &str = "10.79.0.30";

fn install(b: &FreshBox) -> std::process::Output {
    b.exec("mattermost-setup install --answers /root/answers.json --yes")
}

fn installed_ok(b: &FreshBox) {
    let out = install(b);
    assert!(
        out.status.success(),
        "install on {} failed:\n{}\n--- log ---\n{}",
        b.name(),
        text(&out),
        b.exec_ok("tail -n 80 $(ls -t /var/log/mattermost-setup/*.log | head -1)")
    );
}

fn status_ok(b: &FreshBox) -> String {
    let out = b.exec("mattermost-setup status");
    let t = text(&out);
    assert!(out.status.success(), "status on {}:\n{t}", b.name());
    t
}

/// What a re-run must leave alone: every file the tool writes on any role, and when
/// each service last started.
fn state_of(b: &FreshBox) -> BTreeMap<String, String> {
    let out = b.exec_ok(
        "for f in $(find /etc/mattermost-setup /etc/systemd/system /etc/nginx/sites-available \
           /etc/postgresql /opt/mattermost/config /var/lib/mattermost-setup/release.json -type f 2>/dev/null | sort); do \
           echo \"$f $(sha256sum < $f | cut -c1-64) $(stat -c %Y $f)\"; done; \
         for u in mattermost nginx postgresql@15-main mattermost-setup-firewall; do \
           echo \"unit:$u $(systemctl show -p ActiveEnterTimestampMonotonic --value $u)\"; done",
    );
    out.lines()
        .filter_map(|l| l.split_once(' '))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

/// Whether a TCP connection to ADDR:PORT opens from box `b` (3 s deadline).
fn connects(b: &FreshBox, addr: &str, port: u16) -> bool {
    b.exec(&format!(
        "timeout 3 bash -c 'exec 3<>/dev/tcp/{addr}/{port}'"
    ))
    .status
    .success()
}

/// The answers every machine of a test's topology shares: the release from the
/// mirror, nginx, the database password, and `machines`; `extra` adds keys.
fn machines_answers(machines: &serde_json::Value, extra: &serde_json::Value) -> serde_json::Value {
    let mut a = serde_json::json!({
        "domain": DOMAIN,
        "db_password": PASSWORD,
        "version": V11,
        "sha256": mirror::mirror().sha256(V11, "enterprise"),
        "download_base_url": format!("http://127.0.0.1:{MIRROR_PORT}"),
        "proxy": "nginx",
        "machines": machines,
    });
    for (k, v) in extra.as_object().into_iter().flatten() {
        a[k] = v.clone();
    }
    a
}

/// The database machine's CA certificate, copied to `apps` as the operator does.
fn copy_db_ca(db: &FreshBox, apps: &[&FreshBox]) {
    let ca = db.exec_ok(&format!("cat {CA}"));
    for b in apps {
        assert!(
            b.exec_stdin(
                &format!("mkdir -p /etc/mattermost-setup && cat > {CA}"),
                ca.as_bytes()
            )
            .status
            .success()
        );
    }
}

fn topology_answers(s3: &S3Store, license: bool) -> String {
    let endpoint = s3.endpoint.trim_start_matches("http://");
    let mut a = machines_answers(
        &serde_json::json!([
            {"name": "db1", "role": "database", "address": DB},
            {"name": "app1", "role": "app", "address": APP1},
            {"name": "app2", "role": "app", "address": APP2},
            {"name": "proxy1", "role": "proxy", "address": PROXY},
        ]),
        &serde_json::json!({
            "admin_username": "boss",
            "admin_email": "boss@example.com",
            "admin_password": "boss-password-1",
            "s3_bucket": BUCKET,
            "s3_endpoint": endpoint,
            "s3_access_key_id": s3.access_key,
            "s3_secret_access_key": s3.secret_key,
            "s3_ssl": false,
        }),
    );
    if license {
        a["license_file"] = serde_json::json!("/root/cluster.mattermost-license");
    }
    a.to_string()
}

fn put_answers(b: &FreshBox, json: &str) {
    let out = b.exec_stdin(
        "cat > /root/answers.json && chmod 600 /root/answers.json",
        json.as_bytes(),
    );
    assert!(out.status.success());
}

#[test]
fn four_machines_install_from_one_answers_file_and_survive_an_app_machine_going_away() {
    if !freshbox::available_or_skip(
        "four_machines_install_from_one_answers_file_and_survive_an_app_machine_going_away",
    ) {
        return;
    }
    let _ = mirror::mirror();
    let net = Bridge::up("mmc");
    let s3 = S3Store::up(&net, &format!("{STORE}/24"), 7480);
    s3.mkbucket(BUCKET);
    let boxes: Vec<(FreshBox, &str)> = std::thread::scope(|s| {
        let starts: Vec<_> = [
            ("mc-db", DB),
            ("mc-app1", APP1),
            ("mc-app2", APP2),
            ("mc-proxy", PROXY),
        ]
        .into_iter()
        .map(|(name, addr)| s.spawn(move || (prepared_box(name), addr)))
        .collect();
        starts.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for (b, addr) in &boxes {
        net.link(b, &format!("{addr}/24"));
    }
    let [db, app1, app2, proxy] = [&boxes[0].0, &boxes[1].0, &boxes[2].0, &boxes[3].0];

    // Without the license, two app machines are refused before anything changes.
    put_answers(db, &topology_answers(&s3, false));
    let out = install(db);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("license_file"), "{}", text(&out));
    assert!(
        text(&out).contains("events such as new messages do not cross servers"),
        "{}",
        text(&out)
    );

    let answers = topology_answers(&s3, true);
    let license = mattermost_standin::license::make_test_license(
        &mattermost_standin::license::TestLicense::enterprise(30),
    )
    .unwrap();
    for (b, _) in &boxes {
        put_answers(b, &answers);
        assert!(
            b.exec_stdin("cat > /root/cluster.mattermost-license", license.as_bytes())
                .status
                .success()
        );
    }

    // The database machine first.
    installed_ok(db);
    let t = status_ok(db);
    assert!(t.contains("db1 (database, 10.77.0.10)"), "{t}");
    assert_eq!(
        db.exec_ok("systemctl is-active postgresql@15-main").trim(),
        "active"
    );
    assert!(db.exec_ok("ss -ltn").contains(&format!("{DB}:5432")));
    let hba = db.exec_ok("cat /etc/postgresql/15/main/pg_hba.conf");
    assert!(
        hba.contains(&format!(
            "hostssl mattermost mmuser {APP1}/32 scram-sha-256"
        )),
        "{hba}"
    );
    assert!(
        hba.contains(&format!(
            "hostssl mattermost mmuser {APP2}/32 scram-sha-256"
        )),
        "{hba}"
    );
    assert!(
        db.exec_ok("nft list table inet mattermost_setup")
            .contains("5432")
    );

    // An app machine without the database's CA is refused before anything changes,
    // naming the file to copy.
    let out = install(app1);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains(CA), "{}", text(&out));
    assert!(!app1.exec("test -e /opt/mattermost").status.success());

    copy_db_ca(db, &[app1, app2]);
    // Must-show 3: the database refuses a machine that is not an app machine.
    assert!(connects(app1, DB, 5432), "app1 reaches the database");
    assert!(
        !connects(proxy, DB, 5432),
        "the proxy box must not reach 5432"
    );

    std::thread::scope(|s| {
        let h1 = s.spawn(|| installed_ok(app1));
        let h2 = s.spawn(|| installed_ok(app2));
        h1.join().unwrap();
        h2.join().unwrap();
    });
    installed_ok(proxy);

    // No PostgreSQL server on the app machines, no Mattermost on the proxy.
    for b in [app1, app2] {
        assert!(
            !b.exec("dpkg -s postgresql").status.success(),
            "{}",
            b.name()
        );
    }
    assert!(!proxy.exec("test -e /opt/mattermost").status.success());

    // Ping and WebSocket through the proxy.
    let ping = proxy.exec_ok(&format!(
        "curl -sS -i -H 'Host: {DOMAIN}' http://127.0.0.1/api/v4/system/ping"
    ));
    assert!(ping.starts_with("HTTP/1.1 200"), "{ping}");
    assert!(websocket_ok(proxy));

    // A file uploaded through the proxy lands in the bucket.
    let before = s3.ls(BUCKET);
    let key = upload_through_proxy(proxy, "hello from the cluster test\n");
    let after = s3.ls(BUCKET);
    assert!(
        after
            .iter()
            .any(|k| k.ends_with("/hello.txt") && !before.contains(k)),
        "no new object for the upload {key}: {after:?}"
    );

    // Re-runs change nothing; status passes on every box.
    for (b, _) in &boxes {
        let before = state_of(b);
        installed_ok(b);
        assert_eq!(
            state_of(b),
            before,
            "a re-run on {} changed something",
            b.name()
        );
        status_ok(b);
    }
    // Each app machine sees both in the cluster: registered by the servers in
    // ClusterDiscovery, their gossip ports answering across the firewall.
    for (b, me, other, other_addr) in [
        (app1, format!("app1 ({APP1})"), "app2", APP2),
        (app2, format!("app2 ({APP2})"), "app1", APP1),
    ] {
        let t = status_ok(b);
        for (mark, name) in [
            ("✓ ok", format!("{me} is a member of cluster mattermost")),
            (
                "✓ ok",
                format!("app machine {other} ({other_addr}) in cluster mattermost"),
            ),
        ] {
            assert!(
                t.lines().any(|l| l.starts_with(mark) && l.contains(&name)),
                "{name}: {t}"
            );
        }
    }

    // Must-show 2: one app machine stops; the proxy answers through the other within
    // 10 s; started again (a reboot: its firewall and service come back), it rejoins.
    app1.exec_ok("systemctl stop mattermost");
    let start = std::time::Instant::now();
    let mut served = false;
    while start.elapsed() < std::time::Duration::from_secs(10) {
        let ok = (0..4).all(|_| {
            proxy
                .exec_ok(&format!(
                    "curl -sS -o /dev/null -w '%{{http_code}}' -H 'Host: {DOMAIN}' http://127.0.0.1/api/v4/system/ping"
                ))
                .trim()
                == "200"
        });
        if ok && websocket_ok(proxy) {
            served = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    assert!(served, "the proxy did not serve through app2 within 10 s");
    // app2 says so, as a warning: its own status still passes.
    let t = status_ok(app2);
    assert!(
        t.lines().any(|l| l.starts_with("! warn")
            && l.contains(&format!("app machine app1 ({APP1}) in cluster"))
            && l.trim_end().ends_with("does not answer")),
        "{t}"
    );
    app1.reboot();
    net.link(app1, &format!("{APP1}/24"));
    let mut rejoined = false;
    for _ in 0..60 {
        if app1.exec("mattermost-setup status").status.success()
            && proxy.exec("mattermost-setup status").status.success()
        {
            rejoined = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_secs(1));
    }
    assert!(
        rejoined,
        "app1 did not rejoin:\n{}\n{}",
        status_text(app1),
        status_text(proxy)
    );

    // Must-show 5: uninstall on an app machine leaves the database and the bucket.
    let objects = s3.ls(BUCKET);
    let tables = db.exec_ok(
        "runuser -u postgres -- psql -d mattermost -Atc 'select count(*) from standin_boots'",
    );
    let out = app2.exec("mattermost-setup uninstall --yes");
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(s3.ls(BUCKET), objects, "uninstall touched the bucket");
    assert_eq!(
        db.exec_ok(
            "runuser -u postgres -- psql -d mattermost -Atc 'select count(*) from standin_boots'"
        ),
        tables
    );
    status_ok(db);
    // nginx skips app2 once a request to it failed (and app1 for 10 s after its own
    // last failure): the proxy answers through app1 within those 10 s.
    let start = std::time::Instant::now();
    loop {
        let ping = proxy.exec_ok(&format!(
            "curl -sS -o /dev/null -w '%{{http_code}}' -H 'Host: {DOMAIN}' http://127.0.0.1/api/v4/system/ping"
        ));
        if ping.trim() == "200" {
            break;
        }
        assert!(
            start.elapsed() < std::time::Duration::from_secs(15),
            "app1 does not serve through the proxy: {ping}\n{}",
            proxy.exec_ok("tail -n 20 /var/log/nginx/error.log")
        );
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
    drop(boxes);
    s3.down();
    net.down();
}

fn status_text(b: &FreshBox) -> String {
    text(&b.exec("mattermost-setup status"))
}

fn websocket_ok(proxy: &FreshBox) -> bool {
    let ws = proxy.exec(&format!(
        "curl -sS -i -N --max-time 3 -H 'Host: {DOMAIN}' -H 'Connection: Upgrade' -H 'Upgrade: websocket' \
         -H 'Sec-WebSocket-Version: 13' -H 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==' \
         -H 'Origin: http://{DOMAIN}' http://127.0.0.1/api/v4/websocket"
    ));
    String::from_utf8_lossy(&ws.stdout).starts_with("HTTP/1.1 101")
}

/// Logs in as the admin and uploads `hello.txt` through the proxy (Mattermost's
/// simple upload: the file as the body); the answer.
fn upload_through_proxy(proxy: &FreshBox, content: &str) -> String {
    let login = proxy.exec_ok(&format!(
        "curl -sS -i -H 'Host: {DOMAIN}' -H 'Content-Type: application/json' \
         -d '{{\"login_id\":\"boss\",\"password\":\"boss-password-1\"}}' \
         http://127.0.0.1/api/v4/users/login"
    ));
    let token = login
        .lines()
        .find_map(|l| {
            l.strip_prefix("Token: ")
                .or_else(|| l.strip_prefix("token: "))
        })
        .unwrap_or_else(|| panic!("no token: {login}"))
        .trim()
        .to_owned();
    let out = proxy.exec_stdin(
        &format!(
            "curl -sS -w ' %{{http_code}}' -H 'Host: {DOMAIN}' -H 'Authorization: Bearer {token}' \
             --data-binary @- 'http://127.0.0.1/api/v4/files?channel_id=abcdefghijklmnopqrstuvwxyz&filename=hello.txt'"
        ),
        content.as_bytes(),
    );
    let answer = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        answer.ends_with(" 201"),
        "upload through the proxy: {answer}"
    );
    answer
}

/// A CA and a server certificate for `ip` (PEM: ca, cert, key), made here as a
/// managed database's provider would.
fn server_cert(ip: &str, ca_name: &str) -> (String, String, String) {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.distinguished_name.push(DnType::CommonName, ca_name);
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_pem = ca.self_signed(&ca_key).unwrap().pem();
    let issuer = Issuer::new(ca, ca_key);
    let key = KeyPair::generate().unwrap();
    let leaf = CertificateParams::new(vec![ip.to_owned()]).unwrap();
    let cert = leaf.signed_by(&key, &issuer).unwrap();
    (ca_pem, cert.pem(), key.serialize_pem())
}

#[test]
fn a_single_box_runs_against_a_managed_postgresql_with_verify_full() {
    if !freshbox::available_or_skip(
        "a_single_box_runs_against_a_managed_postgresql_with_verify_full",
    ) {
        return;
    }
    let _ = mirror::mirror();
    let net = Bridge::up("mmx");
    let (pg, all) = std::thread::scope(|s| {
        let a = s.spawn(|| prepared_box("mx-pg"));
        let b = s.spawn(|| prepared_box("mx-all"));
        (a.join().unwrap(), b.join().unwrap())
    });
    net.link(&pg, &format!("{PG}/24"));
    net.link(&all, &format!("{BOX}/24"));

    // The managed database, set up by hand as a provider would: TLS with its own CA,
    // the role and a database the role owns, PostgreSQL 15's default schema rights.
    let (ca, cert, key) = server_cert(PG, "managed PG CA");
    pg.exec_ok("DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends postgresql >/dev/null");
    pg.exec_stdin("cat > /etc/postgresql/15/main/server.crt", cert.as_bytes());
    pg.exec_stdin("cat > /etc/postgresql/15/main/server.key", key.as_bytes());
    pg.exec_ok(&format!(
        "cd /etc/postgresql/15/main && chown postgres: server.crt server.key && chmod 600 server.key && \
         printf \"listen_addresses = 'localhost,{PG}'\\nssl = on\\nssl_cert_file = '/etc/postgresql/15/main/server.crt'\\nssl_key_file = '/etc/postgresql/15/main/server.key'\\nlog_connections = on\\n\" > conf.d/managed.conf && \
         echo 'hostssl all all 10.78.0.0/24 scram-sha-256' >> pg_hba.conf && systemctl restart postgresql@15-main"
    ));
    pg.exec_stdin(
        "runuser -u postgres -- psql -X -q -v ON_ERROR_STOP=1",
        format!(
            "CREATE ROLE mmuser LOGIN PASSWORD '{}';\nCREATE DATABASE mattermost OWNER mmuser ENCODING 'UTF8' TEMPLATE template0;\n",
            PASSWORD.replace('\'', "''")
        )
        .as_bytes(),
    );

    let answers = |ca_file: &str| {
        serde_json::json!({
            "domain": DOMAIN,
            "db_password": PASSWORD,
            "version": V11,
            "sha256": mirror::mirror().sha256(V11, "enterprise"),
            "download_base_url": format!("http://127.0.0.1:{MIRROR_PORT}"),
            "proxy": "nginx",
            "db_host": PG,
            "db_sslmode": "verify-full",
            "db_ca_file": ca_file,
        })
        .to_string()
    };
    // Another CA does not vouch for the server: refused in preflight, nothing changed.
    let (other_ca, _, _) = server_cert(PG, "another CA");
    all.exec_stdin("cat > /root/other-ca.pem", other_ca.as_bytes());
    put_answers(&all, &answers("/root/other-ca.pem"));
    let out = install(&all);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(
        t.contains(&format!("database server {PG}:5432 over TLS (verify-full)")),
        "{t}"
    );
    assert!(t.contains("invalid peer certificate: UnknownIssuer"), "{t}");
    assert!(!all.exec("test -e /opt/mattermost").status.success());
    assert!(
        !all.exec("dpkg -s nginx").status.success(),
        "nothing installed"
    );

    all.exec_stdin("cat > /root/pg-ca.pem", ca.as_bytes());
    put_answers(&all, &answers("/root/pg-ca.pem"));
    installed_ok(&all);
    assert!(
        !all.exec("dpkg -s postgresql").status.success(),
        "no PostgreSQL server here"
    );
    let cfg = all.exec_ok("cat /opt/mattermost/config/config.json");
    assert!(
        cfg.contains(&format!(
            "@{PG}:5432/mattermost?sslmode=verify-full&sslrootcert=%2Fopt%2Fmattermost%2Fconfig%2Fmattermost-setup-db-ca.pem"
        )),
        "DSN"
    );
    // The stand-in really logged in over TLS, as lib/pq would.
    let boots = pg.exec_ok(
        "runuser -u postgres -- psql -d mattermost -Atc 'select count(*) from standin_boots'",
    );
    assert!(boots.trim().parse::<u32>().unwrap() >= 1, "{boots}");
    // Every login of the application role came over TLS (log_connections).
    let logins = pg.exec_ok(
        "grep 'connection authorized: user=mmuser' /var/log/postgresql/postgresql-15-main.log || true",
    );
    assert!(logins.lines().count() >= 1, "no login of mmuser logged");
    assert!(
        logins.lines().all(|l| l.contains("SSL enabled")),
        "a login without TLS:\n{logins}"
    );
    let ping = all.exec_ok(&format!(
        "curl -sS -o /dev/null -w '%{{http_code}}' -H 'Host: {DOMAIN}' http://127.0.0.1/api/v4/system/ping"
    ));
    assert_eq!(ping.trim(), "200");
    let before = state_of(&all);
    installed_ok(&all);
    assert_eq!(state_of(&all), before, "a re-run changed something");
    status_ok(&all);
    drop((pg, all));
    net.down();
}

/// Three machines behind a proxy machine that serves TLS with the operator's own
/// certificate: the proxy machine has no Mattermost (so no config.json) and the app
/// machine's SiteURL is the public https URL, set by its own plan. Ping and wss
/// through the proxy; what the proxy machine wrote is what `plan` printed there.
#[test]
fn three_machines_behind_a_tls_proxy_with_an_existing_certificate() {
    if !freshbox::available_or_skip(
        "three_machines_behind_a_tls_proxy_with_an_existing_certificate",
    ) {
        return;
    }
    let _ = mirror::mirror();
    let net = Bridge::up("mmt");
    let boxes: Vec<FreshBox> = std::thread::scope(|s| {
        let starts: Vec<_> = ["mt-db", "mt-app", "mt-proxy"]
            .into_iter()
            .map(|name| s.spawn(move || prepared_box(name)))
            .collect();
        starts.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for (b, addr) in boxes.iter().zip([TDB, TAPP, TPROXY]) {
        net.link(b, &format!("{addr}/24"));
    }
    let [db, app, proxy] = [&boxes[0], &boxes[1], &boxes[2]];
    // The operator's certificate for the domain, from a private CA the proxy box
    // trusts (made with openssl in the box).
    crate::freshbox_tls::openssl_ca(proxy);
    let answers = machines_answers(
        &serde_json::json!([
            {"name": "db1", "role": "database", "address": TDB},
            {"name": "app1", "role": "app", "address": TAPP},
            {"name": "proxy1", "role": "proxy", "address": TPROXY},
        ]),
        &serde_json::json!({
            "tls": "existing",
            "tls_cert": "/root/pki/chat.pem",
            "tls_key": "/root/pki/chat.key",
        }),
    )
    .to_string();
    for b in &boxes {
        put_answers(b, &answers);
    }
    installed_ok(db);
    copy_db_ca(db, &[app]);
    installed_ok(app);
    let planned = crate::support::plan::planned(proxy);
    installed_ok(proxy);
    assert!(!proxy.exec("test -e /opt/mattermost").status.success());
    crate::support::plan::assert_written_as_planned(proxy, &planned, &[]);
    // https, wss and the http redirect through the proxy machine, to the app machine,
    // whose SiteURL is the public https URL.
    crate::freshbox_tls::check_https_to(proxy, app, "/root/pki/ca.pem");
    for b in [app, proxy] {
        status_ok(b);
    }
    // A re-run on the proxy machine changes nothing.
    let before = state_of(proxy);
    installed_ok(proxy);
    assert_eq!(state_of(proxy), before, "a re-run changed something");
}
