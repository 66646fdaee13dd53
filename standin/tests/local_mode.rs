//! Local mode (`ServiceSettings.EnableLocalMode`): the Unix socket, the local
//! API an installer uses to create the first admin and team, the real
//! server's validation errors, and login over TCP — on real PostgreSQL and
//! MariaDB servers started in temp dirs.

mod common;

use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::Path;
use std::time::Duration;

use common::{
    Install, MariaDb, NASTY_PASSWORD, Postgres, Running, assert_no_secret, base_config, encode_all,
    free_port, http_json, local_json, standin_bins,
};
use serde_json::{Value, json};

const VERSION: &str = "10.11.4";
const READY_TIMEOUT: Duration = Duration::from_secs(60);
const ADMIN_PASSWORD: &str = "Adm1n 'pw' \"q\" \\ $x";

#[test]
fn local_mode_on_postgres() {
    let Some(pg) = Postgres::start() else {
        return;
    };
    pg.create_user_and_db("mmuser", NASTY_PASSWORD, "mattermost");
    let dsn = format!(
        "postgres://mmuser:{}@127.0.0.1:{}/mattermost?sslmode=disable&connect_timeout=10",
        encode_all(NASTY_PASSWORD),
        pg.port
    );
    contract("postgres", &dsn, &|sql| pg.superuser_sql("mattermost", sql));
}

#[test]
fn local_mode_on_mariadb() {
    let Some(db) = MariaDb::start() else {
        return;
    };
    db.create_user_and_db("mmuser", NASTY_PASSWORD, "mattermost");
    let dsn = format!(
        "mmuser:{NASTY_PASSWORD}@unix({})/mattermost?charset=utf8mb4,utf8",
        db.socket.display()
    );
    contract("mysql", &dsn, &|sql| {
        db.root_sql(&format!("USE mattermost;\n{sql}"))
    });
}

fn start(install: &Install) -> Running {
    install.start_ready(READY_TIMEOUT)
}

fn with_local_mode(driver: &str, dsn: &str, port: u16, on: bool, socket: &Path) -> Value {
    let mut cfg = base_config(driver, dsn, port);
    cfg["ServiceSettings"]["EnableLocalMode"] = json!(on);
    cfg["ServiceSettings"]["LocalModeSocketLocation"] = json!(socket.display().to_string());
    cfg
}

fn assert_error(r: &common::HttpResponse, status: u16, id: &str) {
    assert_eq!(r.status, status, "{}", r.body);
    let j = r.json();
    assert_eq!(j["id"], id, "{}", r.body);
    assert_eq!(j["status_code"], status);
    assert!(j["message"].as_str().is_some_and(|m| !m.is_empty()));
}

#[allow(clippy::too_many_lines)] // one story, told in order
fn contract(driver: &str, dsn: &str, sql: &dyn Fn(&str) -> String) {
    let bins = standin_bins(VERSION, "enterprise", "");
    let dir = tempfile::tempdir().expect("tempdir");
    let socket = dir.path().join("mattermost_local.socket");
    let port = free_port();

    // Off by default: no socket.
    let install = Install::new(&bins, &with_local_mode(driver, dsn, port, false, &socket));
    let server = start(&install);
    assert!(!socket.exists(), "no socket while local mode is off");
    // The local API is not reachable over TCP.
    let r = http_json(
        port,
        "POST",
        "/api/v4/users",
        Some(&json!({"username": "x"})),
        &[],
    );
    assert_eq!(r.status, 404, "{}", r.body);
    drop(server);

    // On: a stale file at the socket path is replaced by a 0600 socket.
    std::fs::write(&socket, "stale").expect("stale file");
    install.write_config(&with_local_mode(driver, dsn, port, true, &socket));
    let server = start(&install);
    let meta = std::fs::metadata(&socket).expect("socket exists");
    assert!(meta.file_type().is_socket(), "a socket");
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    assert!(install.read_log().contains("Starting unix socket server"));

    let r = local_json(&socket, "GET", "/api/v4/system/ping", None);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["status"], "OK");
    let r = local_json(&socket, "GET", "/api/v4/websocket", None);
    assert_eq!(r.status, 404, "only the local API on the socket");

    // The first account becomes system admin; the password never comes back.
    let admin =
        json!({"username": "boss", "email": "Boss@Example.com", "password": ADMIN_PASSWORD});
    let r = local_json(&socket, "POST", "/api/v4/users", Some(&admin));
    assert_eq!(r.status, 201, "{}", r.body);
    let boss = r.json();
    assert_eq!(boss["username"], "boss");
    assert_eq!(boss["email"], "boss@example.com");
    assert_eq!(boss["roles"], "system_admin system_user");
    assert_eq!(boss["id"].as_str().map(str::len), Some(26));
    assert!(!r.body.contains(ADMIN_PASSWORD));
    let boss_id = boss["id"].as_str().expect("id").to_owned();

    // The real server's refusals.
    let r = local_json(&socket, "POST", "/api/v4/users", Some(&admin));
    assert_error(&r, 400, "app.user.save.username_exists.app_error");
    let r = local_json(
        &socket,
        "POST",
        "/api/v4/users",
        Some(
            &json!({"username": "other", "email": "boss@example.com", "password": ADMIN_PASSWORD}),
        ),
    );
    assert_error(&r, 400, "app.user.save.email_exists.app_error");
    let r = local_json(
        &socket,
        "POST",
        "/api/v4/users",
        Some(&json!({"username": "other", "email": "not-an-email", "password": ADMIN_PASSWORD})),
    );
    assert_error(&r, 400, "model.user.is_valid.email.app_error");
    let r = local_json(
        &socket,
        "POST",
        "/api/v4/users",
        Some(
            &json!({"username": "Other Name", "email": "o@example.com", "password": ADMIN_PASSWORD}),
        ),
    );
    assert_error(&r, 400, "model.user.is_valid.username.app_error");
    let r = local_json(
        &socket,
        "POST",
        "/api/v4/users",
        Some(&json!({"username": "other", "email": "o@example.com", "password": "short"})),
    );
    assert_error(&r, 400, "model.user.is_valid.pwd.app_error");
    let r = local_json(&socket, "POST", "/api/v4/users", None);
    assert_error(&r, 400, "api.context.invalid_body_param.app_error");

    // A second account is a plain user until its roles are set.
    let r = local_json(
        &socket,
        "POST",
        "/api/v4/users",
        Some(
            &json!({"username": "helper", "email": "helper@example.com", "password": "helper-pw-1", "email_verified": true}),
        ),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.json()["roles"], "system_user");
    assert_eq!(r.json()["email_verified"], true);
    let helper_id = r.json()["id"].as_str().expect("id").to_owned();
    let r = local_json(
        &socket,
        "PUT",
        &format!("/api/v4/users/{helper_id}/roles"),
        Some(&json!({"roles": "system_user system_admin"})),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let r = local_json(&socket, "GET", "/api/v4/users/username/helper", None);
    assert_eq!(r.json()["roles"], "system_user system_admin");
    let r = local_json(
        &socket,
        "PUT",
        &format!("/api/v4/users/{helper_id}/roles"),
        Some(&json!({"roles": "root"})),
    );
    assert_error(&r, 400, "api.context.invalid_body_param.app_error");
    let r = local_json(&socket, "GET", "/api/v4/users/username/nobody", None);
    assert_error(&r, 404, "app.user.missing_account.const");
    let r = local_json(
        &socket,
        "POST",
        &format!("/api/v4/users/{boss_id}/email/verify/member"),
        None,
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["email_verified"], true);

    // Teams and membership.
    let team =
        json!({"name": "staff", "display_name": "Staff", "type": "O", "allow_open_invite": true});
    let r = local_json(&socket, "POST", "/api/v4/teams", Some(&team));
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.json()["type"], "O", "{}", r.body);
    assert_eq!(r.json()["allow_open_invite"], true, "{}", r.body);
    let team_id = r.json()["id"].as_str().expect("team id").to_owned();
    // Type "O" without allow_open_invite: saved invite-only, as Team.PreSave does.
    let r = local_json(
        &socket,
        "POST",
        "/api/v4/teams",
        Some(&json!({"name": "closed", "display_name": "Closed", "type": "O"})),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.json()["type"], "I", "{}", r.body);
    assert_eq!(r.json()["allow_open_invite"], false, "{}", r.body);
    let open = sql("SELECT Type, AllowOpenInvite FROM Teams WHERE Name = 'closed';");
    assert!(open.starts_with('I'), "{open}");
    // Reserved words are prefixes; a name ends with a letter or digit.
    for (name, id) in [
        ("api", "model.team.is_valid.reserved.app_error"),
        ("helpdesk", "model.team.is_valid.reserved.app_error"),
        ("postmaster", "model.team.is_valid.reserved.app_error"),
        ("team-", "model.team.is_valid.characters.app_error"),
        ("Staff2", "model.team.is_valid.characters.app_error"),
    ] {
        let r = local_json(
            &socket,
            "POST",
            "/api/v4/teams",
            Some(
                &json!({"name": name, "display_name": "X", "type": "O", "allow_open_invite": true}),
            ),
        );
        assert_error(&r, 400, id);
    }
    let r = local_json(&socket, "POST", "/api/v4/teams", Some(&team));
    assert_error(&r, 400, "store.sql_team.save_team.existing.app_error");
    let r = local_json(
        &socket,
        "POST",
        "/api/v4/teams",
        Some(&json!({"name": "x".repeat(65), "display_name": "Long", "type": "O"})),
    );
    assert_error(&r, 400, "model.team.is_valid.url.app_error");
    let r = local_json(&socket, "GET", "/api/v4/teams/name/staff", None);
    assert_eq!(r.json()["id"], team_id.as_str());
    let r = local_json(&socket, "GET", "/api/v4/teams/name/nope", None);
    assert_error(&r, 404, "app.team.get.find.app_error");
    let member = json!({"team_id": team_id, "user_id": boss_id});
    for _ in 0..2 {
        let r = local_json(
            &socket,
            "POST",
            &format!("/api/v4/teams/{team_id}/members"),
            Some(&member),
        );
        assert_eq!(r.status, 201, "adding twice is fine: {}", r.body);
        assert_eq!(r.json()["user_id"], boss_id.as_str());
    }
    let r = local_json(
        &socket,
        "POST",
        &format!("/api/v4/teams/{team_id}/members"),
        Some(&json!({"team_id": team_id, "user_id": "nosuchuser0000000000000000"})),
    );
    assert_error(&r, 404, "app.user.missing_account.const");
    let r = local_json(
        &socket,
        "GET",
        &format!("/api/v4/teams/{team_id}/members/{boss_id}"),
        None,
    );
    assert_eq!(r.status, 200, "{}", r.body);

    // What an operator would check in the database.
    let rows = sql("SELECT Username, Roles, EmailVerified FROM Users ORDER BY Username;");
    assert!(
        rows.contains("boss") && rows.contains("system_admin system_user"),
        "{rows}"
    );
    assert!(!rows.contains(ADMIN_PASSWORD), "{rows}");
    let members = sql(
        "SELECT COUNT(*) FROM TeamMembers m JOIN Teams t ON t.Id = m.TeamId JOIN Users u ON u.Id = m.UserId \
         WHERE t.Name = 'staff' AND u.Username = 'boss' AND m.DeleteAt = 0;",
    );
    assert_eq!(members.trim(), "1");

    // Login over TCP, as a browser would.
    let good = json!({"login_id": "boss", "password": ADMIN_PASSWORD});
    let r = http_json(port, "POST", "/api/v4/users/login", Some(&good), &[]);
    assert_eq!(r.status, 200, "{}", r.body);
    let token = r.header("Token").expect("Token header").to_owned();
    let r = http_json(
        port,
        "GET",
        "/api/v4/users/me",
        None,
        &[("Authorization", &format!("Bearer {token}"))],
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["username"], "boss");
    let r = http_json(port, "GET", "/api/v4/users/me", None, &[]);
    assert_eq!(r.status, 401);
    let by_email = json!({"login_id": "boss@example.com", "password": ADMIN_PASSWORD});
    let r = http_json(port, "POST", "/api/v4/users/login", Some(&by_email), &[]);
    assert_eq!(r.status, 200, "{}", r.body);
    let wrong = json!({"login_id": "boss", "password": "wrong password"});
    let r = http_json(port, "POST", "/api/v4/users/login", Some(&wrong), &[]);
    assert_error(&r, 401, "api.user.login.invalid_credentials_email_username");

    // mmctl --local drives the same API.
    let mmctl = |args: &[&str]| {
        let out = std::process::Command::new(install.root.join("bin/mmctl"))
            .args(args)
            .env("MMCTL_LOCAL_SOCKET_PATH", &socket)
            .output()
            .expect("run mmctl");
        (
            out.status.code(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        )
    };
    let create = [
        "--local",
        "user",
        "create",
        "--email",
        "carol@example.com",
        "--username",
        "carol",
        "--password",
        "carol-pw-1",
        "--system-admin",
    ];
    let (code, out) = mmctl(&create);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("Created user carol"), "{out}");
    let (code, out) = mmctl(&create);
    assert_eq!(code, Some(1));
    assert!(
        out.contains("An account with that username already exists"),
        "{out}"
    );
    let (code, out) = mmctl(&create[1..]);
    assert_eq!(code, Some(1), "no --local: {out}");
    let (code, out) = mmctl(&[
        "--local",
        "team",
        "create",
        "--name",
        "dev",
        "--display-name",
        "Dev",
    ]);
    assert_eq!(code, Some(0), "{out}");
    let (code, out) = mmctl(&["--local", "team", "users", "add", "dev", "carol"]);
    assert_eq!(code, Some(0), "{out}");
    let (code, out) = mmctl(&["--local", "user", "search", "carol"]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("roles: system_user system_admin"), "{out}");

    let log = install.read_log();
    assert_no_secret(&log, ADMIN_PASSWORD, "the log file");
    assert_no_secret(&server.stdout(), ADMIN_PASSWORD, "stdout");
    drop(server);

    // A socket directory that does not exist: logged, and the server still runs.
    let missing = dir.path().join("no/such/dir/mm.socket");
    install.write_config(&with_local_mode(driver, dsn, port, true, &missing));
    let server = start(&install);
    let r = http_json(port, "GET", "/api/v4/system/ping", None, &[]);
    assert_eq!(r.status, 200);
    assert!(
        install.read_log().contains("listen unix"),
        "{}",
        install.read_log()
    );
    drop(server);
}
