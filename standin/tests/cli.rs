//! Stand-in behaviour that needs no database server: the `version`
//! commands and the start-up failures that happen before (or instead of) a
//! successful database login.

mod common;

use std::fs;
use std::process::Command;
use std::time::Duration;

use common::{
    Install, NASTY_PASSWORD, assert_no_secret, base_config, encode_all, free_port, is_root,
    run_to_exit, standin_bins,
};

const EXIT_TIMEOUT: Duration = Duration::from_secs(60);

fn version_output(bin: &std::path::Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(bin).args(args).output().expect("run version");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn version_is_baked_in_at_compile_time() {
    let ee = standin_bins("10.11.4", "enterprise", "");
    let (code, out, _) = version_output(&ee.join("mattermost"), &["version"]);
    assert_eq!(code, 0);
    assert_eq!(
        out,
        "Version: 10.11.4\nBuild Number: 10.11.4\nBuild Date: Mon Jan  1 00:00:00 UTC 2024\nBuild Hash: standin\nBuild Enterprise Ready: true\n"
    );

    let te = standin_bins("9.11.1", "team", "");
    let (code, out, _) = version_output(&te.join("mattermost"), &["version"]);
    assert_eq!(code, 0);
    assert!(
        out.starts_with("Version: 9.11.1\nBuild Number: 9.11.1\n"),
        "{out}"
    );
    assert!(out.ends_with("Build Enterprise Ready: false\n"), "{out}");

    // `version` must not need a config file or database: run it from an
    // empty directory with a bogus MM_CONFIG.
    let empty = tempfile::tempdir().expect("tempdir");
    let out = Command::new(ee.join("mattermost"))
        .arg("version")
        .current_dir(empty.path())
        .env("MM_CONFIG", "/nonexistent/config.json")
        .output()
        .expect("run");
    assert!(out.status.success());

    let (code, out, _) = version_output(&ee.join("mmctl"), &["version"]);
    assert_eq!(code, 0);
    assert!(out.starts_with("mmctl:\nVersion:\t10.11.4\n"), "{out}");
    let (code, _, err) = version_output(&ee.join("mmctl"), &["--local", "user", "list"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("mmctl stand-in: command not supported yet"),
        "{err}"
    );

    let (code, _, err) = version_output(&ee.join("mattermost"), &["db", "migrate"]);
    assert_eq!(code, 1, "{err}");
    let (code, _, err) = version_output(&ee.join("mattermost"), &["no-such-command"]);
    assert_eq!(code, 1, "{err}");
}

#[test]
fn invalid_json_config_exits_1_naming_the_file() {
    let bins = standin_bins("10.11.4", "enterprise", "");
    let install = Install::new(
        &bins,
        &base_config("postgres", "postgres://u:p@127.0.0.1:1/db", free_port()),
    );
    fs::write(install.config_path(), "{\n  \"ServiceSettings\": {,\n}\n").expect("write");
    let done = run_to_exit(install.command(), EXIT_TIMEOUT);
    assert_eq!(done.status.code(), Some(1), "{}", done.all_output());
    assert!(
        done.stderr.contains("config/config.json"),
        "{}",
        done.stderr
    );
    assert!(done.stderr.contains("line 2"), "{}", done.stderr);

    // Wrong JSON types are rejected like Go's json.Unmarshal does.
    fs::write(
        install.config_path(),
        r#"{"ServiceSettings":{"ListenAddress":8065}}"#,
    )
    .expect("write");
    let done = run_to_exit(install.command(), EXIT_TIMEOUT);
    assert_eq!(done.status.code(), Some(1), "{}", done.all_output());
    assert!(
        done.stderr.contains("ServiceSettings.ListenAddress"),
        "{}",
        done.stderr
    );
}

#[test]
fn config_lookup_flag_env_and_missing_file() {
    let bins = standin_bins("10.11.4", "enterprise", "");
    let install = Install::new(&bins, &base_config("postgres", "x", free_port()));
    // --config pointing nowhere.
    let mut cmd = install.command();
    cmd.args(["--config", "/nonexistent/dir/config.json"]);
    let done = run_to_exit(cmd, EXIT_TIMEOUT);
    assert_eq!(done.status.code(), Some(1));
    assert!(
        done.stderr.contains("/nonexistent/dir/config.json"),
        "{}",
        done.stderr
    );
    // MM_CONFIG pointing at an invalid file wins over ./config/config.json.
    let bad = install.root.join("bad.json");
    fs::write(&bad, "not json").expect("write");
    let mut cmd = install.command();
    cmd.env("MM_CONFIG", &bad);
    let done = run_to_exit(cmd, EXIT_TIMEOUT);
    assert_eq!(done.status.code(), Some(1));
    assert!(done.stderr.contains("bad.json"), "{}", done.stderr);
    // No config anywhere.
    fs::remove_file(install.config_path()).expect("rm");
    let done = run_to_exit(install.command(), EXIT_TIMEOUT);
    assert_eq!(done.status.code(), Some(1), "{}", done.all_output());
    assert!(done.stderr.contains("config"), "{}", done.stderr);
}

#[test]
fn mysql_is_rejected_from_v11_on() {
    let bins = standin_bins("11.0.2", "enterprise", "");
    let dsn = "mmuser:secret@tcp(127.0.0.1:3306)/mattermost?charset=utf8mb4,utf8";
    let install = Install::new(&bins, &base_config("mysql", dsn, free_port()));
    let done = run_to_exit(install.command(), EXIT_TIMEOUT);
    assert_eq!(done.status.code(), Some(1), "{}", done.all_output());
    assert!(
        done.stderr.contains("MySQL is no longer supported"),
        "{}",
        done.stderr
    );
    // The driver can also come from the environment.
    let install = Install::new(
        &bins,
        &base_config("postgres", "postgres://u:p@127.0.0.1:1/db", free_port()),
    );
    let mut cmd = install.command();
    cmd.env("MM_SQLSETTINGS_DRIVERNAME", "mysql")
        .env("MM_SQLSETTINGS_DATASOURCE", dsn);
    let done = run_to_exit(cmd, EXIT_TIMEOUT);
    assert_eq!(done.status.code(), Some(1), "{}", done.all_output());
    assert!(
        done.stderr.contains("MySQL is no longer supported"),
        "{}",
        done.stderr
    );
}

#[test]
fn v11_start_up_blockers() {
    let bins = standin_bins("11.0.2", "enterprise", "");
    let mut cfg = base_config("postgres", "postgres://u:p@127.0.0.1:1/db", free_port());
    cfg["TeamSettings"] = serde_json::json!({"ExperimentalViewArchivedChannels": false});
    let install = Install::new(&bins, &cfg);
    let done = run_to_exit(install.command(), EXIT_TIMEOUT);
    assert_eq!(done.status.code(), Some(1), "{}", done.all_output());
    assert!(
        done.stderr.contains("ExperimentalViewArchivedChannels"),
        "{}",
        done.stderr
    );
}

#[test]
fn invalid_site_url_and_missing_support_files() {
    let bins = standin_bins("10.11.4", "enterprise", "");
    let mut cfg = base_config("postgres", "postgres://u:p@127.0.0.1:1/db", free_port());
    cfg["ServiceSettings"]["SiteURL"] = "chat.example.com".into();
    let install = Install::new(&bins, &cfg);
    let done = run_to_exit(install.command(), EXIT_TIMEOUT);
    assert_eq!(done.status.code(), Some(1), "{}", done.all_output());
    assert!(done.stderr.contains("Site URL"), "{}", done.stderr);

    let install = Install::new(
        &bins,
        &base_config("postgres", "postgres://u:p@127.0.0.1:1/db", free_port()),
    );
    fs::remove_dir_all(install.root.join("i18n")).expect("rm i18n");
    let done = run_to_exit(install.command(), EXIT_TIMEOUT);
    assert_eq!(done.status.code(), Some(1), "{}", done.all_output());
    assert!(done.stderr.contains("translation files"), "{}", done.stderr);

    let install = Install::new(
        &bins,
        &base_config("postgres", "postgres://u:p@127.0.0.1:1/db", free_port()),
    );
    fs::remove_dir_all(install.root.join("templates")).expect("rm templates");
    let done = run_to_exit(install.command(), EXIT_TIMEOUT);
    assert_eq!(done.status.code(), Some(1), "{}", done.all_output());
    assert!(done.stderr.contains("templates"), "{}", done.stderr);
}

#[test]
fn unreachable_database_exits_1_after_retries_without_leaking_the_password() {
    let bins = standin_bins("10.11.4", "enterprise", "");
    // Nothing listens on this port.
    let dead = free_port();
    let dsn = format!(
        "postgres://mmuser:{}@127.0.0.1:{dead}/mattermost?sslmode=disable&connect_timeout=5",
        encode_all(NASTY_PASSWORD)
    );
    let install = Install::new(&bins, &base_config("postgres", &dsn, free_port()));
    let started = std::time::Instant::now();
    let done = run_to_exit(install.command(), EXIT_TIMEOUT);
    assert_eq!(done.status.code(), Some(1), "{}", done.all_output());
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "3 attempts, 1 s apart"
    );
    let log = install.read_log();
    assert!(log.contains("Failed to ping DB"), "{log}");
    assert!(log.contains("postgres://mmuser:****@127.0.0.1"), "{log}");
    assert_no_secret(&log, NASTY_PASSWORD, "the log file");
    assert_no_secret(&done.all_output(), NASTY_PASSWORD, "stdout/stderr");
    // The log lines are JSON with timestamp/level/msg.
    for line in log.lines() {
        let v: serde_json::Value = serde_json::from_str(line).expect("JSON log line");
        assert!(v["timestamp"].is_string() && v["level"].is_string() && v["msg"].is_string());
    }
}

#[test]
fn unreadable_or_unwritable_config_exits_1() {
    if !is_root() {
        common::skip_loudly("this test switches to `nobody` and needs root");
        return;
    }
    let bins = standin_bins("10.11.4", "enterprise", "");
    let install = Install::new(
        &bins,
        &base_config("postgres", "postgres://u:p@127.0.0.1:1/db", free_port()),
    );
    install.chown_all("nobody");
    // Owned by root, 0600: nobody cannot read it.
    std::os::unix::fs::chown(install.config_path(), Some(0), Some(0)).expect("chown");
    let done = run_to_exit(
        install.command_as(Some(("nobody", "nogroup"))),
        EXIT_TIMEOUT,
    );
    assert_eq!(done.status.code(), Some(1), "{}", done.all_output());
    assert!(done.stderr.contains("config.json"), "{}", done.stderr);
    assert!(
        done.stderr.to_lowercase().contains("permission denied"),
        "{}",
        done.stderr
    );

    // Readable but not writable: the real server fails to persist it.
    std::os::unix::fs::chown(install.config_path(), Some(0), Some(0)).expect("chown");
    common::set_mode(&install.config_path(), 0o644);
    let done = run_to_exit(
        install.command_as(Some(("nobody", "nogroup"))),
        EXIT_TIMEOUT,
    );
    assert_eq!(done.status.code(), Some(1), "{}", done.all_output());
    assert!(done.stderr.contains("failed to persist"), "{}", done.stderr);
}
