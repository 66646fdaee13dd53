//! Whole installs with the optional parts (issue 5, part B): the first system admin
//! and team through Mattermost's local mode, and message retention as a daily
//! timer — on a fresh Debian 12 box with systemd as PID 1, checked from outside.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::freshbox_install::{
    DOMAIN, answers, check_installed, install, prepared_box, service_starts, text, write_answers,
};
use crate::freshbox_install::{assert_secret_absent, sample_processes};
use crate::support::freshbox::{self, FreshBox};
use crate::support::mirror::{self, V10, V11};

/// Quotes, a backslash, `$`, a backtick, `@ / : % #` and spaces: every layer between
/// the answers file and Mattermost's API has to carry it unchanged.
const ADMIN_PASSWORD: &str = "Adm1n 'pw' \"q\" \\ $HOME `id` @/:%# x";
/// Pieces of it as an argv would show them (raw, JSON-escaped, percent-encoded).
const ADMIN_FRAGMENTS: [&str; 4] = [
    "$HOME `id` @/:%#",
    "\\\"q\\\"",
    "%24HOME%20%60id",
    "`id` @/",
];
const CONFIG: &str = "/opt/mattermost/config/config.json";
const PROGRAM: &str = "/usr/local/lib/mattermost-setup/mattermost-setup";
const DAY: i64 = 86_400_000;

fn answers_with_extras(engine: &str, version: &str, edition: &str, retention: bool) -> String {
    let m = mirror::mirror();
    let mut a: serde_json::Value = serde_json::from_str(&answers(
        engine,
        version,
        edition,
        &m.sha256(version, edition),
    ))
    .unwrap();
    a["admin_username"] = "boss".into();
    a["admin_email"] = "boss@example.com".into();
    a["admin_password"] = ADMIN_PASSWORD.into();
    a["team_name"] = "staff".into();
    if retention {
        a["retention_days"] = 30.into();
    }
    a.to_string()
}

/// POST /api/v4/users/login through Apache; the body goes through a file so the
/// password is on no command line in the test either.
fn login(b: &FreshBox, password: &str) -> String {
    let body = serde_json::json!({"login_id": "boss", "password": password}).to_string();
    let out = b.exec_stdin(
        &format!(
            "cat > /root/login.json && curl -sS -i -H 'Host: {DOMAIN}' -H 'Content-Type: application/json' \
             --data-binary @/root/login.json http://127.0.0.1/api/v4/users/login; rm -f /root/login.json"
        ),
        body.as_bytes(),
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn config(b: &FreshBox) -> serde_json::Value {
    serde_json::from_str(&b.exec_ok(&format!("cat {CONFIG}"))).unwrap()
}

/// The checks both engines share; `sql` runs a query as the database superuser.
fn check_admin_and_retention(b: &FreshBox, sql: &dyn Fn(&str) -> String) {
    // The admin logs in through the proxy, a wrong password does not.
    let ok = login(b, ADMIN_PASSWORD);
    assert!(ok.starts_with("HTTP/1.1 200"), "{ok}");
    assert!(ok.to_ascii_lowercase().contains("\ntoken: "), "{ok}");
    assert!(
        ok.contains("\"roles\":\"system_admin system_user\""),
        "{ok}"
    );
    let bad = login(b, "not the password");
    assert!(bad.starts_with("HTTP/1.1 401"), "{bad}");
    // What the database holds: one system admin, verified, in the team.
    let users = sql("SELECT Username, Roles, EmailVerified FROM Users;");
    let rows: Vec<&str> = users.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(rows.len(), 1, "{users}");
    assert!(
        rows[0].starts_with("boss") && rows[0].contains("system_admin system_user"),
        "{users}"
    );
    let member = sql(
        "SELECT COUNT(*) FROM TeamMembers m JOIN Teams t ON t.Id = m.TeamId JOIN Users u ON u.Id = m.UserId \
         WHERE t.Name = 'staff' AND u.Username = 'boss' AND m.DeleteAt = 0;",
    );
    assert_eq!(member.trim(), "1");
    // An open team (allow_open_invite sent: Mattermost would make it invite-only).
    let open = sql("SELECT Type FROM Teams WHERE Name = 'staff' AND AllowOpenInvite;");
    assert_eq!(open.trim(), "O", "the team is not open");

    // Local mode is off again, its socket gone, the default location back.
    let cfg = config(b);
    assert_eq!(cfg["ServiceSettings"]["EnableLocalMode"], false);
    assert_eq!(
        cfg["ServiceSettings"]["LocalModeSocketLocation"],
        "/var/tmp/mattermost_local.socket"
    );
    assert_eq!(
        b.exec_ok("ls /run/mattermost/ 2>/dev/null | wc -l").trim(),
        "0",
        "no local-mode socket left"
    );

    // The timer is on; its units are valid.
    assert_eq!(
        b.exec_ok("systemctl is-enabled mattermost-retention.timer")
            .trim(),
        "enabled"
    );
    assert_eq!(
        b.exec_ok("systemctl is-active mattermost-retention.timer")
            .trim(),
        "active"
    );
    assert!(
        b.exec_ok("systemctl list-timers --all --no-pager")
            .contains("mattermost-retention.timer")
    );
    let verify = b.exec(
        "systemd-analyze verify /etc/systemd/system/mattermost-retention.service /etc/systemd/system/mattermost-retention.timer 2>&1",
    );
    let verify = text(&verify);
    assert!(
        !verify.contains("mattermost-retention"),
        "systemd-analyze verify: {verify}"
    );

    // The dry run works as the service user, and as root from the saved answers.
    let dry = b.exec_ok(&format!(
        "runuser -u mattermost -- {PROGRAM} retention --dry-run --config {CONFIG} --days 30"
    ));
    assert!(dry.contains("would delete"), "{dry}");
    let dry = b.exec_ok("mattermost-setup retention --dry-run");
    assert!(dry.contains("(30 days, pinned posts kept)"), "{dry}");

    // The timer's service for real, on an old and a new post with files.
    let now = i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis(),
    )
    .unwrap();
    let (old, new) = ("oldpostxxxxxxxxxxxxxxxxxxx", "newpostxxxxxxxxxxxxxxxxxxx");
    // FileInfo ids are 26 characters too.
    let file_id = |post: &str| format!("f{}", &post[..25]);
    for (id, age) in [(old, 40 * DAY), (new, DAY)] {
        sql(&format!(
            "INSERT INTO Posts (Id, CreateAt, UpdateAt, DeleteAt, UserId, ChannelId, RootId, Message, IsPinned) \
             VALUES ('{id}', {at}, {at}, 0, 'u', 'c', '', 'hello', FALSE);\n\
             INSERT INTO FileInfo (Id, PostId, CreateAt, Path, ThumbnailPath, PreviewPath) \
             VALUES ('{f}', '{id}', {at}, '20240101/{f}/a.png', '', '');\n",
            at = now - age,
            f = file_id(id),
        ));
        b.exec_ok(&format!(
            "install -d -o mattermost -g mattermost /opt/mattermost/data/20240101/{f} && \
             install -o mattermost -g mattermost /dev/null /opt/mattermost/data/20240101/{f}/a.png",
            f = file_id(id),
        ));
    }
    b.exec_ok("systemctl start mattermost-retention.service");
    let journal = b.exec_ok("journalctl -u mattermost-retention.service --no-pager -o cat");
    assert!(journal.contains("deleted 1 posts"), "{journal}");
    let posts = sql("SELECT Id FROM Posts;");
    assert!(posts.contains(new) && !posts.contains(old), "{posts}");
    assert_eq!(
        b.exec_ok(&format!(
            "test -e /opt/mattermost/data/20240101/{}/a.png && echo old; test -e /opt/mattermost/data/20240101/{}/a.png && echo new",
            file_id(old),
            file_id(new)
        ))
        .trim(),
        "new"
    );
    let log = b.exec_ok("cat /opt/mattermost/logs/retention.log");
    assert!(log.contains("deleted 1 posts"), "{log}");
    assert_eq!(
        b.exec_ok("stat -c %U /opt/mattermost/logs/retention.log")
            .trim(),
        "mattermost",
        "the job runs as the service user"
    );

    // No log anywhere holds the admin password.
    assert_secret_absent(b, ADMIN_PASSWORD);
    assert_admin_password_not_kept(b);
}

/// Issue 8: once the account exists, the admin password is in no file the tool
/// keeps — the saved answers, their backups, its state (a piece that reads the same
/// raw and JSON-escaped is looked for).
fn assert_admin_password_not_kept(b: &FreshBox) {
    let hits = b.exec_stdin(
        "grep -rlF -f /dev/stdin /etc/mattermost-setup /var/backups/mattermost-setup /var/lib/mattermost-setup 2>/dev/null || true",
        ADMIN_FRAGMENTS[0].as_bytes(),
    );
    assert_eq!(
        String::from_utf8_lossy(&hits.stdout).trim(),
        "",
        "the admin password is kept in these files"
    );
    assert!(
        b.exec_ok("cat /etc/mattermost-setup/answers.json")
            .contains("\"admin_username\": \"boss\"")
    );
}

/// PostgreSQL: admin + team + retention, the password watched on every command line,
/// then a re-run (nothing created twice, nothing restarted) and retention switched off.
#[test]
fn admin_team_and_retention_on_a_fresh_box() {
    if !freshbox::available_or_skip("admin_team_and_retention_on_a_fresh_box") {
        return;
    }
    let b = prepared_box("mmhouse");
    write_answers(
        &b,
        &answers_with_extras("postgresql", V11, "enterprise", true),
    );
    b.exec_ok("DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends strace >/dev/null");
    let stop = Arc::new(AtomicBool::new(false));
    let sampler = sample_processes(
        stop.clone(),
        ADMIN_FRAGMENTS.iter().map(|s| (*s).to_owned()).collect(),
    );
    let start = Instant::now();
    let out = b.exec(
        "strace -f -qq -e trace=execve -e signal=none -s 65535 -o /root/execve.trace \
         mattermost-setup install --answers /root/answers.json --yes",
    );
    let took = start.elapsed();
    stop.store(true, Ordering::Relaxed);
    let (samples, hits) = sampler.join().unwrap();
    assert!(
        out.status.success(),
        "install failed:\n{}\n{}",
        text(&out),
        b.exec_ok("tail -n 80 $(ls -t /var/log/mattermost-setup/*.log | head -1)")
    );
    eprintln!("install with admin and retention took {took:?}");
    assert!(samples >= 10, "the sampler ran only {samples} times");
    assert!(
        hits.is_empty(),
        "admin password on a command line: {hits:?}"
    );
    let trace = b.exec_ok("cat /root/execve.trace");
    assert!(
        trace.contains("systemctl\", \"restart\", \"--no-block\", \"mattermost.service"),
        "local mode needs restarts: {trace:.2000}"
    );
    for f in ADMIN_FRAGMENTS {
        assert!(
            !trace.contains(f),
            "admin password fragment {f:?} in an argv"
        );
    }
    let t = text(&out);
    assert!(t.contains("admin") && t.contains("housekeeping"), "{t}");

    check_installed(&b, "postgresql", V11);
    let sql = |q: &str| {
        let out = b.exec_stdin(
            "cd / && runuser -u postgres -- psql -X -q -A -t -v ON_ERROR_STOP=1 -d mattermost -f -",
            q.as_bytes(),
        );
        assert!(out.status.success(), "{q}: {}", text(&out));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    check_admin_and_retention(&b, &sql);

    // A re-run: nothing to do, no second account, Mattermost not restarted.
    let starts = service_starts(&b, "postgresql");
    let cfg_before = b.exec_ok(&format!("sha256sum {CONFIG}"));
    let (out, took) = install(&b);
    assert!(out.status.success(), "{}", text(&out));
    assert!(took < Duration::from_secs(10), "re-run took {took:?}");
    assert_eq!(
        service_starts(&b, "postgresql"),
        starts,
        "a re-run restarted a service"
    );
    assert_eq!(b.exec_ok(&format!("sha256sum {CONFIG}")), cfg_before);
    assert_eq!(
        sql("SELECT COUNT(*) FROM Users WHERE Username = 'boss';").trim(),
        "1"
    );
    let status = b.exec("mattermost-setup status");
    assert!(status.status.success(), "{}", text(&status));
    let status = text(&status);
    assert!(
        status.contains("admin account boss") && status.contains("mattermost-retention.timer"),
        "{status}"
    );
    // The backups of config.json (with the database password) are listed, mode 600.
    assert!(
        status.contains("backup holding secrets")
            && status.contains("/opt/mattermost/config/config.json (mode 600)"),
        "{status}"
    );
    assert_admin_password_not_kept(&b);

    // Retention switched off: the timer and its units go, the admin stays.
    write_answers(
        &b,
        &answers_with_extras("postgresql", V11, "enterprise", false),
    );
    let (out, _) = install(&b);
    assert!(out.status.success(), "{}", text(&out));
    assert_ne!(
        b.exec("systemctl is-enabled mattermost-retention.timer")
            .status
            .code(),
        Some(0)
    );
    assert_eq!(
        b.exec_ok("ls /etc/systemd/system/ | grep -c mattermost-retention || true")
            .trim(),
        "0"
    );
    assert!(login(&b, ADMIN_PASSWORD).starts_with("HTTP/1.1 200"));
}

/// MariaDB (Mattermost <= 10.11): the same optional parts over the MySQL schema.
#[test]
fn admin_team_and_retention_on_mariadb() {
    if !freshbox::available_or_skip("admin_team_and_retention_on_mariadb") {
        return;
    }
    let b = prepared_box("mmhousem");
    write_answers(&b, &answers_with_extras("mariadb", V10, "team", true));
    let (out, took) = install(&b);
    assert!(
        out.status.success(),
        "install failed:\n{}\n{}",
        text(&out),
        b.exec_ok("tail -n 80 $(ls -t /var/log/mattermost-setup/*.log | head -1)")
    );
    eprintln!("mariadb install with admin and retention took {took:?}");
    check_installed(&b, "mariadb", V10);
    let sql = |q: &str| {
        let out = b.exec_stdin("mariadb -N -B -D mattermost", q.as_bytes());
        assert!(out.status.success(), "{q}: {}", text(&out));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    check_admin_and_retention(&b, &sql);
    let (out, _) = install(&b);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(
        sql("SELECT COUNT(*) FROM Users WHERE Username = 'boss';").trim(),
        "1"
    );
}
