//! The stand-in's lib/pq TLS client (src/pgtls.rs) against a real PostgreSQL
//! started in a temp dir with `ssl=on` and a certificate from a CA made here
//! with the openssl CLI.
//!
//! The server certificate names `db.example.invalid` and the IP address
//! 127.0.0.1, so that `127.0.0.1` is the right host name and `localhost`
//! (which reaches the same server) is a wrong one.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::{
    Install, Postgres, base_config, check_ping_ok, free_port, is_root, run_to_exit, skip_or_fail,
    standin_bins,
};

const VERSION: &str = "10.11.4";
const READY_TIMEOUT: Duration = Duration::from_secs(60);
const EXIT_TIMEOUT: Duration = Duration::from_secs(60);
const PASSWORD: &str = "tls-secret-pw";

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("run openssl");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `ca.pem` + `server.pem`/`server.key` signed by it, and an unrelated
/// `other-ca.pem`.
fn make_certs(dir: &Path) {
    for ca in ["ca", "other-ca"] {
        openssl(
            dir,
            &[
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:prime256v1",
                "-nodes",
                "-days",
                "2",
                "-subj",
                &format!("/CN=Stand-in test {ca}"),
                "-keyout",
                &format!("{ca}.key"),
                "-out",
                &format!("{ca}.pem"),
            ],
        );
    }
    openssl(
        dir,
        &[
            "req",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-subj",
            "/CN=db.example.invalid",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
        ],
    );
    std::fs::write(
        dir.join("san.ext"),
        "subjectAltName=DNS:db.example.invalid,IP:127.0.0.1\n",
    )
    .expect("san.ext");
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            "san.ext",
            "-out",
            "server.pem",
        ],
    );
}

fn chown_postgres(p: &Path) {
    let out = Command::new("chown")
        .arg("postgres")
        .arg(p)
        .output()
        .expect("chown");
    assert!(out.status.success());
}

fn dsn(pg: &Postgres, host: &str, params: &str) -> String {
    format!(
        "postgres://mmuser:{PASSWORD}@{host}:{}/mattermost?connect_timeout=10&{params}",
        pg.port
    )
}

fn starts(bins: &Path, data_source: &str) {
    let port = free_port();
    let install = Install::new(bins, &base_config("postgres", data_source, port));
    let server = install.start_ready(READY_TIMEOUT);
    check_ping_ok(port, VERSION);
    drop(server);
}

/// The server stops with `expected` in its log (each ping attempt is logged
/// as "Failed to ping DB", the last one ends the start-up, as in the real
/// sqlstore SetupConnection).
fn refused(bins: &Path, data_source: &str, expected: &str) {
    let install = Install::new(bins, &base_config("postgres", data_source, free_port()));
    let done = run_to_exit(install.command(), EXIT_TIMEOUT);
    assert_eq!(done.status.code(), Some(1), "{}", done.all_output());
    let log = install.read_log();
    assert!(
        log.contains(expected),
        "expected {expected:?} for {data_source}; log:\n{log}"
    );
    assert!(log.contains("Failed to ping DB"), "{log}");
    assert!(done.stderr.contains(expected), "stderr: {}", done.stderr);
}

#[test]
fn postgres_over_tls_like_lib_pq() {
    if Command::new("openssl").arg("version").output().is_err() {
        skip_or_fail("the openssl CLI is not installed (needed to make test certificates)");
        return;
    }
    if !is_root() {
        skip_or_fail("the TLS PostgreSQL test runs the server as `postgres` and needs root");
        return;
    }
    let certs = tempfile::Builder::new()
        .prefix("standin-pgtls-")
        .tempdir()
        .expect("tempdir");
    common::set_mode(certs.path(), 0o755);
    make_certs(certs.path());
    let key = certs.path().join("server.key");
    common::set_mode(&key, 0o600);
    chown_postgres(&key);
    let cert_arg = |name: &str| -> PathBuf { certs.path().join(name) };
    let ssl_cert = format!("ssl_cert_file={}", cert_arg("server.pem").display());
    let ssl_key = format!("ssl_key_file={}", key.display());
    let Some(pg) = Postgres::start_with(&["ssl=on", &ssl_cert, &ssl_key]) else {
        return;
    };
    pg.create_user_and_db("mmuser", PASSWORD, "mattermost");
    let bins = standin_bins(VERSION, "enterprise", "");
    let ca = cert_arg("ca.pem");
    let other = cert_arg("other-ca.pem");
    let root = |p: &Path| format!("sslrootcert={}", p.display());

    // verify-full: chain and host name (the IP SAN) are right.
    starts(
        &bins,
        &dsn(
            &pg,
            "127.0.0.1",
            &format!("sslmode=verify-full&{}", root(&ca)),
        ),
    );
    // require (also the default) checks nothing.
    starts(&bins, &dsn(&pg, "localhost", "sslmode=require"));
    starts(&bins, &dsn(&pg, "localhost", ""));
    // verify-ca with an IP address: no SNI, so lib/pq 1.10.9 checks the chain only.
    starts(
        &bins,
        &dsn(
            &pg,
            "127.0.0.1",
            &format!("sslmode=verify-ca&{}", root(&ca)),
        ),
    );

    // verify-full, wrong host name: Go's handshake error.
    refused(
        &bins,
        &dsn(
            &pg,
            "localhost",
            &format!("sslmode=verify-full&{}", root(&ca)),
        ),
        "tls: failed to verify certificate: x509: certificate is valid for db.example.invalid, not localhost",
    );
    // verify-ca with a host name: lib/pq 1.10.9 checks the name too (issue #1106).
    refused(
        &bins,
        &dsn(
            &pg,
            "localhost",
            &format!("sslmode=verify-ca&{}", root(&ca)),
        ),
        "x509: certificate is valid for db.example.invalid, not localhost",
    );
    // Unknown CA.
    refused(
        &bins,
        &dsn(
            &pg,
            "127.0.0.1",
            &format!("sslmode=verify-full&{}", root(&other)),
        ),
        "tls: failed to verify certificate: x509: certificate signed by unknown authority",
    );
    // require with an existing sslrootcert verifies like verify-ca.
    refused(
        &bins,
        &dsn(
            &pg,
            "127.0.0.1",
            &format!("sslmode=require&{}", root(&other)),
        ),
        "x509: certificate signed by unknown authority",
    );
    // prefer is not known to lib/pq 1.10.9.
    refused_config(&bins, &dsn(&pg, "127.0.0.1", "sslmode=prefer"));

    drop(pg);

    // A server with ssl=off (the command line's ssl=on cannot be reloaded
    // away): require fails as with lib/pq, disable works.
    let Some(plain) = Postgres::start() else {
        return;
    };
    plain.create_user_and_db("mmuser", PASSWORD, "mattermost");
    refused(
        &bins,
        &dsn(&plain, "127.0.0.1", "sslmode=require"),
        "pq: SSL is not enabled on the server",
    );
    starts(&bins, &dsn(&plain, "127.0.0.1", "sslmode=disable"));
}

fn refused_config(bins: &Path, data_source: &str) {
    let install = Install::new(bins, &base_config("postgres", data_source, free_port()));
    let done = run_to_exit(install.command(), EXIT_TIMEOUT);
    assert_eq!(done.status.code(), Some(1), "{}", done.all_output());
    assert!(
        done.stderr.contains("pq: unsupported sslmode \"prefer\""),
        "{}",
        done.stderr
    );
}
