//! The stand-in against a real MariaDB server started in a temp dir, with
//! go-sql-driver style `DataSource` strings (raw, not percent-encoded, passwords).

mod common;

use std::time::Duration;

use common::{
    Install, MariaDb, NASTY_PASSWORD, NotifySocket, Running, assert_no_secret, base_config,
    check_ping_ok, check_websocket, free_port, run_to_exit, standin_bins,
};

const VERSION: &str = "10.11.4";
const READY_TIMEOUT: Duration = Duration::from_secs(60);
const EXIT_TIMEOUT: Duration = Duration::from_secs(60);

#[test]
fn mariadb_contract() {
    let Some(db) = MariaDb::start() else {
        return;
    };
    db.create_user_and_db("mmuser", NASTY_PASSWORD, "mattermost");
    let bins = standin_bins(VERSION, "enterprise", "");
    // Private TMPDIR for the stand-in, to check its option files are removed.
    let tmpdir = tempfile::tempdir().expect("tempdir");

    // TCP, raw password containing ' " \ $ ` @ / : % # and a space.
    let port = free_port();
    let dsn = format!(
        "mmuser:{NASTY_PASSWORD}@tcp(127.0.0.1:{})/mattermost?charset=utf8mb4,utf8&writeTimeout=30s&readTimeout=30s",
        db.port
    );
    let install = Install::new(&bins, &base_config("mysql", &dsn, port));
    let notify = NotifySocket::bind_path();
    let mut cmd = install.command();
    cmd.env("NOTIFY_SOCKET", &notify.address)
        .env("TMPDIR", tmpdir.path());
    let mut server = Running::spawn(cmd);
    server.wait_ready(&notify, READY_TIMEOUT);
    check_ping_ok(port, VERSION);
    check_websocket(port, "/api/v4/websocket", VERSION);
    let version =
        db.root_sql("SELECT value FROM mattermost.standin_systems WHERE name = 'Version';");
    assert_eq!(version.trim(), VERSION);
    let log = install.read_log();
    assert!(log.contains("mmuser:****@tcp(127.0.0.1:"), "{log}");
    assert_no_secret(&log, NASTY_PASSWORD, "the log file");
    assert_no_secret(&server.stdout(), NASTY_PASSWORD, "stdout");
    assert_no_secret(&server.stderr(), NASTY_PASSWORD, "stderr");
    drop(server);
    assert_no_option_files_left(tmpdir.path());

    // Unix socket form, restarted: the upsert must not fail.
    let port = free_port();
    let dsn = format!(
        "mmuser:{NASTY_PASSWORD}@unix({})/mattermost?charset=utf8mb4,utf8",
        db.socket.display()
    );
    let install = Install::new(&bins, &base_config("mysql", &dsn, port));
    let notify = NotifySocket::bind_abstract();
    let mut cmd = install.command();
    cmd.env("NOTIFY_SOCKET", &notify.address)
        .env("TMPDIR", tmpdir.path());
    let mut server = Running::spawn(cmd);
    server.wait_ready(&notify, READY_TIMEOUT);
    check_ping_ok(port, VERSION);
    let boots = db.root_sql("SELECT count(*) FROM mattermost.standin_boots;");
    assert!(boots.trim().parse::<u32>().expect("count") >= 2);
    drop(server);

    // Wrong password: non-zero exit, no READY, no password anywhere.
    let wrong = format!("{NASTY_PASSWORD}x");
    let dsn = format!(
        "mmuser:{wrong}@tcp(127.0.0.1:{})/mattermost?charset=utf8mb4,utf8",
        db.port
    );
    let install = Install::new(&bins, &base_config("mysql", &dsn, free_port()));
    let notify = NotifySocket::bind_path();
    let mut cmd = install.command();
    cmd.env("NOTIFY_SOCKET", &notify.address)
        .env("TMPDIR", tmpdir.path());
    let done = run_to_exit(cmd, EXIT_TIMEOUT);
    assert_eq!(done.status.code(), Some(1), "{}", done.all_output());
    assert!(
        notify.recv(Duration::from_millis(100)).is_none(),
        "no READY=1"
    );
    eprintln!("wrong password, stderr:\n{}", done.stderr);
    let log = install.read_log();
    assert!(log.contains("Access denied"), "{log}");
    for (text, place) in [
        (log.as_str(), "the log file"),
        (done.stdout.as_str(), "stdout"),
        (done.stderr.as_str(), "stderr"),
    ] {
        assert_no_secret(text, &wrong, place);
    }
    assert_no_option_files_left(tmpdir.path());

    // A database the user has no rights on.
    let dsn = format!("mmuser:{NASTY_PASSWORD}@tcp(127.0.0.1:{})/mysql", db.port);
    let install = Install::new(&bins, &base_config("mysql", &dsn, free_port()));
    let done = run_to_exit(install.command(), EXIT_TIMEOUT);
    assert_eq!(done.status.code(), Some(1), "{}", done.all_output());
    assert!(done.stderr.contains("Access denied"), "{}", done.stderr);

    // The same MySQL DataSource is refused outright by a v11 binary.
    let v11 = standin_bins("11.0.2", "enterprise", "");
    let dsn = format!(
        "mmuser:{NASTY_PASSWORD}@tcp(127.0.0.1:{})/mattermost",
        db.port
    );
    let install = Install::new(&v11, &base_config("mysql", &dsn, free_port()));
    let done = run_to_exit(install.command(), EXIT_TIMEOUT);
    assert_eq!(done.status.code(), Some(1), "{}", done.all_output());
    assert!(
        done.stderr.contains("MySQL is no longer supported"),
        "{}",
        done.stderr
    );
}

/// The 0600 option files holding the password are removed after use.
fn assert_no_option_files_left(dir: &std::path::Path) {
    let leftovers: Vec<_> = std::fs::read_dir(dir)
        .expect("temp dir")
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| {
            n.starts_with("mattermost-standin-")
                && std::path::Path::new(n)
                    .extension()
                    .is_some_and(|e| e.eq_ignore_ascii_case("cnf"))
        })
        .collect();
    assert!(
        leftovers.is_empty(),
        "option files left behind: {leftovers:?}"
    );
}
