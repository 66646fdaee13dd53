//! The stand-in against a real PostgreSQL server started in a temp dir.
//!
//! One test function starts the cluster once and runs the cases in order,
//! so the server is always stopped again (also when a case fails).

mod common;

use std::time::Duration;

use common::{
    Install, NASTY_PASSWORD, NotifySocket, Postgres, Running, assert_no_secret, base_config,
    check_ping_ok, check_websocket, encode_all, free_port, http_get, is_root, run_to_exit,
    standin_bins, ws_connect,
};
use serde_json::json;

const VERSION: &str = "10.11.4";
const READY_TIMEOUT: Duration = Duration::from_secs(60);
const EXIT_TIMEOUT: Duration = Duration::from_secs(60);

fn tcp_dsn(pg: &Postgres, user: &str, password: &str, db: &str) -> String {
    format!(
        "postgres://{}:{}@127.0.0.1:{}/{db}?sslmode=disable&connect_timeout=10&binary_parameters=yes",
        encode_all(user),
        encode_all(password),
        pg.port
    )
}

#[test]
fn postgres_contract() {
    let Some(pg) = Postgres::start() else {
        return;
    };
    pg.create_user_and_db("mmuser", NASTY_PASSWORD, "mattermost");
    let bins = standin_bins(VERSION, "enterprise", "");

    special_password_over_tcp(&pg, &bins);
    unix_socket_dsn_and_abstract_notify_socket(&pg, &bins);
    env_overrides_and_origin_check(&pg, &bins);
    wrong_password_fails_without_leaking_it(&pg, &bins);
    saslprep_password_fails_as_with_lib_pq(&pg, &bins);
    missing_privileges_fail(&pg, &bins);
    unwritable_data_directory_fails(&pg, &bins);
    unhealthy_fault_still_reports_ready(&pg);
    v11_runs_on_postgres(&pg);
}

fn special_password_over_tcp(pg: &Postgres, bins: &std::path::Path) {
    let port = free_port();
    let dsn = tcp_dsn(pg, "mmuser", NASTY_PASSWORD, "mattermost");
    let install = Install::new(bins, &base_config("postgres", &dsn, port));
    let server = install.start_ready(READY_TIMEOUT);

    check_ping_ok(port, VERSION);
    check_websocket(port, "/api/v4/websocket", VERSION);
    check_websocket(port, "/api/v4/websocket/", VERSION);
    check_websocket(port, "/api/v4/users/websocket", VERSION);

    // Without upgrade headers the WebSocket endpoint refuses.
    let r = http_get(port, "/api/v4/websocket", &[]);
    assert_eq!(r.status, 400);
    let r = http_get(port, "/", &[]);
    assert_eq!(r.status, 200);
    assert!(r.body.contains("standin-root"), "serves client/root.html");
    let r = http_get(port, "/some/spa/route", &[]);
    assert_eq!(r.status, 200);
    let r = http_get(port, "/api/v4/does/not/exist", &[]);
    assert_eq!(r.status, 404);
    assert_eq!(r.json()["id"], "api.context.404.app_error");
    assert_eq!(r.json()["status_code"], 404);
    let big = format!(
        "{{\"login_id\":\"admin\",\"password\":\"{}\"}}",
        "x".repeat(200_000)
    );
    // An endpoint the stand-in does not have, so the body stays unread.
    let r = common::http_post(port, "/api/v4/no/such/endpoint", &big);
    assert_eq!(r.status, 404, "response survives an unread request body");

    // The "migration" really ran with the configured credentials.
    let version = pg.superuser_sql(
        "mattermost",
        "SELECT value FROM standin_systems WHERE name = 'Version';",
    );
    assert_eq!(version.trim(), VERSION);
    let owner = pg.superuser_sql(
        "mattermost",
        "SELECT tableowner FROM pg_tables WHERE tablename = 'standin_boots';",
    );
    assert_eq!(owner.trim(), "mmuser");
    let boots = pg.superuser_sql("mattermost", "SELECT count(*) FROM standin_boots;");
    assert!(boots.trim().parse::<u32>().expect("count") >= 1);

    // Directories and the log file.
    for d in ["data", "plugins", "client/plugins"] {
        assert!(install.root.join(d).is_dir(), "{d} created");
    }
    let log = install.read_log();
    assert!(log.contains("Server is initializing..."), "{log}");
    assert!(
        log.contains(&format!("Server is listening on 127.0.0.1:{port}")),
        "{log}"
    );
    assert!(log.contains("postgres://mmuser:****@127.0.0.1"), "{log}");
    // Like the real binary, the root warning comes before the log file is
    // set up, so it only reaches the console.
    assert!(
        server.stdout().contains("Running Mattermost as root") || !is_root(),
        "{}",
        server.stdout()
    );
    assert_no_secret(&log, NASTY_PASSWORD, "the log file");
    assert_no_secret(&server.stdout(), NASTY_PASSWORD, "stdout");
    assert_no_secret(&server.stderr(), NASTY_PASSWORD, "stderr");

    // The config was written back (the real server does) and still parses.
    let cfg: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(install.config_path()).expect("config"))
            .expect("config still JSON");
    assert_eq!(cfg["SqlSettings"]["DataSource"], dsn.as_str());

    // A second start upserts the version row instead of failing.
    drop(server);
    let _server = install.start_ready(READY_TIMEOUT);
    let boots = pg.superuser_sql("mattermost", "SELECT count(*) FROM standin_boots;");
    assert!(boots.trim().parse::<u32>().expect("count") >= 2);
}

fn unix_socket_dsn_and_abstract_notify_socket(pg: &Postgres, bins: &std::path::Path) {
    let port = free_port();
    let dsn = format!(
        "postgres://mmuser:{}@/mattermost?host={}&port={}&sslmode=disable&connect_timeout=10",
        encode_all(NASTY_PASSWORD),
        pg.socket_dir.display(),
        pg.port
    );
    let install = Install::new(bins, &base_config("postgres", &dsn, port));
    let notify = NotifySocket::bind_abstract();
    let mut cmd = install.command();
    cmd.env("NOTIFY_SOCKET", &notify.address);
    let mut server = Running::spawn(cmd);
    server.wait_ready(&notify, READY_TIMEOUT);
    check_ping_ok(port, VERSION);
}

fn env_overrides_and_origin_check(pg: &Postgres, bins: &std::path::Path) {
    let port = free_port();
    // The file has a useless DataSource and listen address; the environment
    // provides the real ones, like MM_* variables do for the real server.
    let install = Install::new(
        bins,
        &base_config(
            "postgres",
            "postgres://nobody:nothing@127.0.0.1:1/none?sslmode=disable",
            1,
        ),
    );
    let notify = NotifySocket::bind_path();
    let mut cmd = install.command();
    cmd.env("NOTIFY_SOCKET", &notify.address)
        .env(
            "MM_SQLSETTINGS_DATASOURCE",
            tcp_dsn(pg, "mmuser", NASTY_PASSWORD, "mattermost"),
        )
        .env("MM_SQLSETTINGS_DRIVERNAME", "postgres")
        .env(
            "MM_SERVICESETTINGS_LISTENADDRESS",
            format!("127.0.0.1:{port}"),
        )
        .env("MM_SERVICESETTINGS_SITEURL", "https://chat.example.com/");
    let mut server = Running::spawn(cmd);
    server.wait_ready(&notify, READY_TIMEOUT);
    check_ping_ok(port, VERSION);

    let key = "AAAAAAAAAAAAAAAAAAAAAA==";
    let (r, _) = ws_connect(
        port,
        "/api/v4/websocket",
        key,
        &[("Origin", "https://evil.example.com")],
    );
    assert_eq!(r.status, 403, "foreign Origin");
    let (r, _) = ws_connect(
        port,
        "/api/v4/websocket",
        key,
        &[("Origin", "http://chat.example.com")],
    );
    assert_eq!(r.status, 403, "scheme differs from SiteURL");
    let (r, client) = ws_connect(
        port,
        "/api/v4/websocket",
        key,
        &[("Origin", "https://chat.example.com")],
    );
    assert_eq!(r.status, 101, "same origin as SiteURL");
    drop(client);

    // Environment overrides are not written back into config.json.
    let cfg: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(install.config_path()).expect("config"))
            .expect("json");
    assert_eq!(cfg["ServiceSettings"]["SiteURL"], "");
    assert!(
        !cfg.to_string().contains("mattermost?sslmode"),
        "env DSN not persisted"
    );
}

/// PostgreSQL stores the SCRAM secret of the password after `SASLprep`; psql
/// normalises the same way before it logs in, lib/pq (the real server's driver)
/// sends the bytes as they are. A password with a no-break space logs in with psql
/// and the real server cannot connect: the stand-in must fail the same way.
fn saslprep_password_fails_as_with_lib_pq(pg: &Postgres, bins: &std::path::Path) {
    let nbsp = "no\u{a0}break-space-pw";
    pg.create_user_and_db("mmnbsp", nbsp, "mmnbsp");
    // psql logs in with it (it normalises, as the server did)...
    pg.login_sql("mmnbsp", nbsp, "mmnbsp", "SELECT 1;");
    // ...the stand-in, connecting as lib/pq does, cannot.
    let install = Install::new(
        bins,
        &base_config(
            "postgres",
            &tcp_dsn(pg, "mmnbsp", nbsp, "mmnbsp"),
            free_port(),
        ),
    );
    let done = run_to_exit(install.command(), EXIT_TIMEOUT);
    assert_ne!(done.status.code(), Some(0), "{}", done.all_output());
    let log = install.read_log();
    assert!(
        log.contains("pq: password authentication failed for user"),
        "{log}"
    );
    assert_no_secret(&log, nbsp, "the log file");
    // The same password in its SASLprep form (a plain space) is what the server
    // stored: the stand-in logs in with that.
    let port = free_port();
    let install = Install::new(
        bins,
        &base_config(
            "postgres",
            &tcp_dsn(pg, "mmnbsp", "no break-space-pw", "mmnbsp"),
            port,
        ),
    );
    let server = install.start_ready(READY_TIMEOUT);
    check_ping_ok(port, VERSION);
    drop(server);
}

fn wrong_password_fails_without_leaking_it(pg: &Postgres, bins: &std::path::Path) {
    let wrong = format!("{NASTY_PASSWORD}-wrong");
    let install = Install::new(
        bins,
        &base_config(
            "postgres",
            &tcp_dsn(pg, "mmuser", &wrong, "mattermost"),
            free_port(),
        ),
    );
    let notify = NotifySocket::bind_path();
    let mut cmd = install.command();
    cmd.env("NOTIFY_SOCKET", &notify.address);
    let done = run_to_exit(cmd, EXIT_TIMEOUT);
    assert_ne!(done.status.code(), Some(0), "{}", done.all_output());
    assert!(
        done.status.code().is_some(),
        "exited normally, not by a signal"
    );
    assert!(
        notify.recv(Duration::from_millis(100)).is_none(),
        "no READY=1 on failure"
    );
    eprintln!("wrong password, stderr:\n{}", done.stderr);
    let log = install.read_log();
    assert!(log.contains("password authentication failed"), "{log}");
    assert!(log.contains("Failed to ping DB"), "{log}");
    for (text, place) in [
        (log.as_str(), "the log file"),
        (done.stdout.as_str(), "stdout"),
        (done.stderr.as_str(), "stderr"),
    ] {
        assert_no_secret(text, &wrong, place);
        assert_no_secret(text, NASTY_PASSWORD, place);
    }
    // An unencoded special character in the password is a DSN error, as
    // with Go's url.Parse.
    let raw = format!(
        "postgres://mmuser:{NASTY_PASSWORD}@127.0.0.1:{}/mattermost?sslmode=disable",
        pg.port
    );
    let install = Install::new(bins, &base_config("postgres", &raw, free_port()));
    let done = run_to_exit(install.command(), EXIT_TIMEOUT);
    assert_eq!(done.status.code(), Some(1), "{}", done.all_output());
    assert_no_secret(&done.all_output(), NASTY_PASSWORD, "stdout/stderr");
    assert_no_secret(&install.read_log(), NASTY_PASSWORD, "the log file");
}

fn missing_privileges_fail(pg: &Postgres, bins: &std::path::Path) {
    // PostgreSQL 15+: a database not owned by the user gives it no CREATE on
    // schema public, so the migrations cannot create tables.
    pg.create_unprivileged("weak", "weak-password-123", "weakdb");
    let install = Install::new(
        bins,
        &base_config(
            "postgres",
            &tcp_dsn(pg, "weak", "weak-password-123", "weakdb"),
            free_port(),
        ),
    );
    let done = run_to_exit(install.command(), EXIT_TIMEOUT);
    assert_eq!(done.status.code(), Some(1), "{}", done.all_output());
    eprintln!("missing privileges, stderr:\n{}", done.stderr);
    assert!(
        done.stderr.contains("permission denied for schema public"),
        "{}",
        done.stderr
    );
}

fn unwritable_data_directory_fails(pg: &Postgres, bins: &std::path::Path) {
    if !is_root() {
        common::skip_loudly(
            "the unwritable-data-dir case runs the stand-in as `nobody` and needs root",
        );
        return;
    }
    let install = Install::new(
        bins,
        &base_config(
            "postgres",
            &tcp_dsn(pg, "mmuser", NASTY_PASSWORD, "mattermost"),
            free_port(),
        ),
    );
    std::fs::create_dir(install.root.join("data")).expect("mkdir data");
    install.chown_all("nobody");
    common::set_mode(&install.root.join("data"), 0o500);
    let done = run_to_exit(
        install.command_as(Some(("nobody", "nogroup"))),
        EXIT_TIMEOUT,
    );
    assert_eq!(done.status.code(), Some(1), "{}", done.all_output());
    eprintln!("unwritable data dir, stderr:\n{}", done.stderr);
    let data = install.root.join("data");
    assert!(
        done.stderr.contains(&data.display().to_string()),
        "names the directory: {}",
        done.stderr
    );
    assert!(
        done.stderr.to_lowercase().contains("permission denied"),
        "{}",
        done.stderr
    );
    // As nobody, the same install works once the directory is writable.
    common::set_mode(&data, 0o750);
    let notify = NotifySocket::bind_path();
    common::set_mode(std::path::Path::new(&notify.address), 0o777);
    let port = free_port();
    let mut cfg = base_config(
        "postgres",
        &tcp_dsn(pg, "mmuser", NASTY_PASSWORD, "mattermost"),
        port,
    );
    cfg["LogSettings"]["EnableConsole"] = false.into();
    install.write_config(&cfg);
    install.chown_all("nobody");
    let mut cmd = install.command_as(Some(("nobody", "nogroup")));
    cmd.env("NOTIFY_SOCKET", &notify.address);
    let mut server = Running::spawn(cmd);
    server.wait_ready(&notify, READY_TIMEOUT);
    check_ping_ok(port, VERSION);
    assert!(
        !server.stdout().contains("Running Mattermost as root"),
        "no root warning as nobody"
    );
}

fn unhealthy_fault_still_reports_ready(pg: &Postgres) {
    let bins = standin_bins(VERSION, "enterprise", "unhealthy");
    let port = free_port();
    let install = Install::new(
        &bins,
        &base_config(
            "postgres",
            &tcp_dsn(pg, "mmuser", NASTY_PASSWORD, "mattermost"),
            port,
        ),
    );
    let _server = install.start_ready(READY_TIMEOUT);
    let r = http_get(port, "/api/v4/system/ping", &[]);
    assert_eq!(r.status, 500, "{}", r.body);
    assert_eq!(r.json()["status"], "UNHEALTHY");
    // REST semantics keep 200 but still say UNHEALTHY.
    let r = http_get(port, "/api/v4/system/ping?use_rest_semantics=true", &[]);
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["status"], "UNHEALTHY");
}

fn v11_runs_on_postgres(pg: &Postgres) {
    let bins = standin_bins("11.0.2", "team", "");
    let port = free_port();
    let mut cfg = base_config(
        "postgres",
        &tcp_dsn(pg, "mmuser", NASTY_PASSWORD, "mattermost"),
        port,
    );
    cfg["ServiceSettings"]["ListenAddress"] = json!(format!(":{port}"));
    let install = Install::new(&bins, &cfg);
    let _server = install.start_ready(READY_TIMEOUT);
    check_ping_ok(port, "11.0.2");
    let version = pg.superuser_sql(
        "mattermost",
        "SELECT value FROM standin_systems WHERE name = 'Version';",
    );
    assert_eq!(version.trim(), "11.0.2", "upgrade updates the version row");
}
