//! Talking to the real database with the distribution's client programs.
//!
//! The stand-in has no database driver of its own: it runs `psql` (for
//! PostgreSQL) or `mariadb`/`mysql` (for MySQL/MariaDB) with the connection
//! parameters parsed from `SqlSettings.DataSource` exactly as the real
//! server's drivers parse them (see [`crate::dsn`]). The password never
//! appears on a command line or in a client's environment: `psql` reads it
//! from a libpq password file (`PGPASSFILE`), the MariaDB client from an option
//! file, both 0600 from the start and removed right after use.
//!
//! psql applies `SASLprep` to the password and the real server's driver does
//! not, so the ping of a PostgreSQL DataSource first logs in the way lib/pq
//! does ([`crate::pgwire`]).

use std::ffi::OsString;
use std::fmt::Write as _;
use std::fs::OpenOptions;
use std::io::{Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::build_info;
use crate::dsn::{self, MyTarget, MyTls, PgTarget};
use crate::error::{Error, Result, fail};
use crate::log::Logger;

/// Connection attempts before giving up, and the pause between them.
pub const PING_ATTEMPTS: u32 = 3;
pub const PING_INTERVAL: Duration = Duration::from_secs(1);
/// Upper bound for one client invocation.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(60);
/// The Mattermost tables the stand-in keeps real data in (users, teams) or
/// only creates so that tools find the real shapes (posts and what depends
/// on them).
const SCHEMA_POSTGRES: &str = include_str!("../schema/postgres.sql");
const SCHEMA_MYSQL: &str = include_str!("../schema/mysql.sql");

#[derive(Debug, Clone)]
enum Target {
    Postgres(PgTarget),
    Mysql(MyTarget),
}

/// A database reachable through the client programs.
#[derive(Debug, Clone)]
pub struct Database {
    target: Target,
    redacted: String,
}

impl Database {
    /// Parses the DataSource for `driver` (`postgres` or `mysql`).
    pub fn new(driver: &str, data_source: &str) -> Result<Self> {
        let target = match driver {
            "postgres" => Target::Postgres(dsn::parse_postgres(data_source)?),
            "mysql" => Target::Mysql(dsn::parse_mysql(data_source)?),
            other => return fail(format!("unsupported SQL driver {other:?}")),
        };
        Ok(Self {
            target,
            redacted: dsn::redact(driver, data_source),
        })
    }

    /// The DataSource with the password masked.
    pub fn redacted(&self) -> &str {
        &self.redacted
    }

    /// `true` for PostgreSQL, `false` for MySQL/MariaDB.
    pub fn is_postgres(&self) -> bool {
        matches!(self.target, Target::Postgres(_))
    }

    /// A SQL string literal for this server that means the same in every
    /// session mode the DataSource may set (`standard_conforming_strings`,
    /// `sql_mode` with or without `NO_BACKSLASH_ESCAPES` or `ANSI_QUOTES`): an
    /// escape string on PostgreSQL, hex with a character set introducer on
    /// MySQL/MariaDB. (The real server binds parameters instead.)
    pub fn literal(&self, s: &str) -> String {
        match self.target {
            Target::Postgres(_) => format!("E'{}'", s.replace('\\', "\\\\").replace('\'', "''")),
            Target::Mysql(_) => format!("_utf8mb4 X'{}'", crate::util::hex(s.as_bytes())),
        }
    }

    /// `expr` as lower-case hex of its UTF-8 bytes (NULL as empty), so that
    /// query output never depends on the client's quoting of separators.
    pub fn hex(&self, expr: &str) -> String {
        match self.target {
            Target::Postgres(_) => {
                format!("encode(convert_to(COALESCE(({expr})::text, ''), 'UTF8'), 'hex')")
            }
            Target::Mysql(_) => format!("LOWER(HEX(CAST(COALESCE({expr}, '') AS CHAR)))"),
        }
    }

    /// Runs `sql` and returns the client's standard output.
    pub fn query(&self, sql: &str) -> Result<String> {
        match &self.target {
            Target::Postgres(t) => run_psql(t, sql),
            Target::Mysql(t) => run_mysql(t, sql),
        }
    }

    /// Proves the login works; returns the server version string.
    pub fn ping(&self) -> Result<String> {
        let sql = match &self.target {
            Target::Postgres(t) => {
                crate::pgwire::login(t)?;
                "SHOW server_version_num;"
            }
            Target::Mysql(_) => "SELECT VERSION();",
        };
        Ok(self.query(sql)?.trim().to_string())
    }

    /// The real server refuses database versions below its minimum.
    pub fn check_min_version(&self, found: &str) -> Result<()> {
        let (major, minor, _) = build_info::version_triple();
        match &self.target {
            Target::Postgres(_) => {
                let num: u64 = found.parse().map_err(|_| {
                    Error::new(format!("cannot parse server_version_num {found:?}"))
                })?;
                let wanted: u64 = if major >= 11 {
                    140_000
                } else if (major, minor) >= (10, 6) {
                    130_000
                } else {
                    110_000
                };
                if num < wanted {
                    return fail(format!(
                        "Minimum Postgres version requirements not met. Found: {}.{}, Wanted: {}.0",
                        num / 10_000,
                        num % 10_000,
                        wanted / 10_000
                    ));
                }
            }
            Target::Mysql(_) => {
                let have = build_info::parse_version_triple(found);
                let wanted = if (major, minor) >= (9, 5) {
                    (8, 0, 0)
                } else {
                    (5, 7, 12)
                };
                if have < wanted {
                    return fail(format!(
                        "Minimum MySQL version requirements not met. Found: {found}, Wanted: {}.{}.{}",
                        wanted.0, wanted.1, wanted.2
                    ));
                }
            }
        }
        Ok(())
    }

    /// What a migration needs: create tables, upsert, insert.
    pub fn migrate(&self) -> Result<()> {
        let version = build_info::VERSION;
        let now = crate::util::now_millis();
        let upsert = match &self.target {
            Target::Postgres(_) => format!(
                "INSERT INTO standin_systems (name, value) VALUES ('Version', '{version}') \
                 ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value;"
            ),
            Target::Mysql(_) => format!(
                "INSERT INTO standin_systems (name, value) VALUES ('Version', '{version}') \
                 ON DUPLICATE KEY UPDATE value = '{version}';"
            ),
        };
        // Several servers on one database (a cluster) start together: the real server
        // runs its migrations under a database lock (server/channels/store/sqlstore/
        // store.go, morph.WithLock("mm-lock-key"): pg_advisory_lock on PostgreSQL,
        // GET_LOCK on MySQL), held for the session, so one migrates and the others wait.
        let lock = match &self.target {
            Target::Postgres(_) => "SELECT pg_advisory_lock(hashtext('mm-lock-key'));",
            Target::Mysql(_) => "SELECT GET_LOCK('mm-lock-key', 600);",
        };
        let sql = format!(
            "{lock}\n\
             CREATE TABLE IF NOT EXISTS standin_systems (name varchar(64) PRIMARY KEY, value varchar(1024));\n\
             {upsert}\n\
             CREATE TABLE IF NOT EXISTS standin_boots (at bigint);\n\
             INSERT INTO standin_boots (at) VALUES ({now});\n\
             {schema}",
            schema = match &self.target {
                Target::Postgres(_) => SCHEMA_POSTGRES,
                Target::Mysql(_) => SCHEMA_MYSQL,
            }
        );
        self.query(&sql).map(|_| ())
    }

    /// Database part of `ping?get_server_status=true`: a write and a delete.
    pub fn health_check(&self) -> Result<()> {
        let upsert = match &self.target {
            Target::Postgres(_) => {
                "INSERT INTO standin_systems (name, value) VALUES ('HealthCheck', 'ok') \
                 ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value;"
            }
            Target::Mysql(_) => {
                "INSERT INTO standin_systems (name, value) VALUES ('HealthCheck', 'ok') \
                 ON DUPLICATE KEY UPDATE value = 'ok';"
            }
        };
        let sql = format!("{upsert}\nDELETE FROM standin_systems WHERE name = 'HealthCheck';\n");
        self.query(&sql).map(|_| ())
    }
}

/// Connects like the real server's SQL store: parse the DataSource, ping
/// with retries, check the server version, run the "migrations".
pub fn connect(driver: &str, data_source: &str, log: &Logger) -> Result<Database> {
    let db = Database::new(driver, data_source)?;
    log.info(
        "Pinging SQL",
        &[("database", "master"), ("dataSource", db.redacted())],
    );
    let mut attempt = 1;
    let version = loop {
        match db.ping() {
            Ok(v) => break v,
            Err(e) if attempt >= PING_ATTEMPTS => {
                return Err(e.context(format!(
                    "failed to connect to the database after {PING_ATTEMPTS} attempts"
                )));
            }
            Err(e) => {
                log.error(
                    "Failed to ping DB",
                    &[
                        ("error", e.message()),
                        ("attempt", &attempt.to_string()),
                        ("retrying in seconds", &PING_INTERVAL.as_secs().to_string()),
                    ],
                );
                attempt += 1;
                std::thread::sleep(PING_INTERVAL);
            }
        }
    };
    log.info(
        "Connected to the database",
        &[("driver", driver), ("server_version", &version)],
    );
    db.check_min_version(&version)?;
    db.migrate()
        .map_err(|e| e.context("failed to apply database migrations"))?;
    log.info(
        "Database migrations applied",
        &[("version", build_info::VERSION)],
    );
    Ok(db)
}

// ---------------------------------------------------------------- clients

fn search_path() -> Vec<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_else(|| {
        OsString::from("/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
    });
    std::env::split_paths(&path).collect()
}

fn find_program(names: &[&str]) -> Option<PathBuf> {
    for name in names {
        for dir in search_path() {
            let p = dir.join(name);
            if p.is_file() {
                return Some(p);
            }
        }
    }
    None
}

fn find_psql() -> Option<PathBuf> {
    find_program(&["psql"]).or_else(|| {
        // Debian keeps versioned clients under /usr/lib/postgresql/<v>/bin.
        let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
            .ok()?
            .filter_map(|e| {
                let e = e.ok()?;
                let v: u32 = e.file_name().to_str()?.parse().ok()?;
                let p = e.path().join("bin/psql");
                p.is_file().then_some((v, p))
            })
            .collect();
        found.sort();
        found.pop().map(|(_, p)| p)
    })
}

/// Runs a client, feeding `input` on stdin; returns stdout on success and
/// the client's error output otherwise.
fn run_client(cmd: &mut Command, input: &str, what: &str) -> Result<String> {
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd
        .spawn()
        .map_err(|e| Error::new(format!("failed to run {what}: {e}")))?;
    if let Some(mut stdin) = child.stdin.take() {
        // The client may exit before reading (e.g. bad password): ignore EPIPE.
        let _ = stdin.write_all(input.as_bytes());
    }
    let deadline = Instant::now() + CLIENT_TIMEOUT;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return fail(format!(
                    "{what} timed out after {}s",
                    CLIENT_TIMEOUT.as_secs()
                ));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => return fail(format!("failed to wait for {what}: {e}")),
        }
    };
    let mut out = String::new();
    let mut err = String::new();
    if let Some(mut s) = child.stdout.take() {
        let _ = s.read_to_string(&mut out);
    }
    if let Some(mut s) = child.stderr.take() {
        let _ = s.read_to_string(&mut err);
    }
    if status.success() {
        Ok(out)
    } else {
        let msg = err.trim();
        let msg = if msg.is_empty() { out.trim() } else { msg };
        fail(format!("{what} failed ({status}): {msg}"))
    }
}

/// Clears inherited libpq/MySQL client variables so that only the
/// DataSource decides where and how to connect.
fn clean_env(cmd: &mut Command) {
    for (k, _) in std::env::vars_os() {
        let key = k.to_string_lossy();
        if key.starts_with("PG") || key.starts_with("MYSQL") || key.starts_with("MARIADB") {
            cmd.env_remove(&k);
        }
    }
    cmd.env("LC_ALL", "C");
}

fn pgoptions_escape(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for c in v.chars() {
        if c == ' ' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn run_psql(t: &PgTarget, sql: &str) -> Result<String> {
    let Some(psql) = find_psql() else {
        return fail(
            "the Mattermost stand-in needs the `psql` client program (package postgresql-client) \
             to reach PostgreSQL, and it was not found",
        );
    };
    let mut cmd = Command::new(psql);
    clean_env(&mut cmd);
    cmd.args(["-X", "-q", "-A", "-t", "-w", "-v", "ON_ERROR_STOP=1"]);
    cmd.arg(format!("--host={}", t.host));
    cmd.arg(format!("--port={}", t.port));
    if let Some(user) = &t.user {
        cmd.arg(format!("--username={user}"));
    }
    if let Some(db) = &t.dbname {
        // psql would treat a name with '=' or a URI prefix as a conninfo.
        if db.contains('=') || db.starts_with("postgres://") || db.starts_with("postgresql://") {
            cmd.env("PGDATABASE", db);
        } else {
            cmd.arg(format!("--dbname={db}"));
        }
    }
    cmd.args(["-f", "-"]);
    let passfile = match &t.password {
        Some(pw) => {
            let f = private_file("pgpass", &pgpass_line(pw)?)?;
            cmd.env("PGPASSFILE", &f.path);
            Some(f)
        }
        None => None,
    };
    cmd.env(
        "PGSSLMODE",
        if t.sslmode.is_empty() {
            "require"
        } else {
            &t.sslmode
        },
    );
    if let Some(ct) = &t.connect_timeout {
        cmd.env("PGCONNECT_TIMEOUT", ct);
    }
    for (k, v) in &t.ssl_env {
        cmd.env(k, v);
    }
    // lib/pq verifies against Go's system roots when sslrootcert is not set;
    // libpq would look for ~/.postgresql/root.crt instead (see pgtls.rs).
    if matches!(t.sslmode.as_str(), "verify-ca" | "verify-full")
        && t.ssl_param("PGSSLROOTCERT").is_none_or(|r| r.is_empty())
    {
        cmd.env("PGSSLROOTCERT", "/etc/ssl/certs/ca-certificates.crt");
    }
    let mut options: Vec<String> = t.options.iter().cloned().collect();
    for (k, v) in &t.runtime_params {
        options.push(format!(
            "-c {}={}",
            pgoptions_escape(k),
            pgoptions_escape(v)
        ));
    }
    if !options.is_empty() {
        cmd.env("PGOPTIONS", options.join(" "));
    }
    let result = run_client(&mut cmd, sql, "psql");
    drop(passfile);
    result
}

/// One line of a libpq password file matching every server: `\` and `:` are
/// escaped (`passwordFromFile` in libpq's fe-connect.c); a line break cannot be
/// written at all.
fn pgpass_line(pw: &[u8]) -> Result<Vec<u8>> {
    if pw.iter().any(|&b| b == b'\n' || b == b'\r') {
        return fail(
            "the Mattermost stand-in cannot hand a password with a line break to psql \
             (libpq password files are line based)",
        );
    }
    let mut line = b"*:*:*:*:".to_vec();
    for &b in pw {
        if b == b'\\' || b == b':' {
            line.push(b'\\');
        }
        line.push(b);
    }
    line.push(b'\n');
    Ok(line)
}

/// A 0600 password or option file, deleted when dropped.
struct OptionFile {
    path: PathBuf,
}

/// Creates a file no other user can read at any instant (`O_EXCL`, mode 0600
/// from the start) in the temp directory.
fn private_file(kind: &str, body: &[u8]) -> Result<OptionFile> {
    let dir = std::env::temp_dir();
    let n = OPTION_FILE_COUNTER.fetch_add(1, Ordering::Relaxed);
    let path = dir.join(format!(
        "mattermost-standin-{}-{}-{n}.{kind}",
        std::process::id(),
        crate::util::now_millis()
    ));
    let mut f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
        .map_err(|e| {
            Error::new(format!(
                "failed to create a temporary {kind} file in {}: {e}",
                dir.display()
            ))
        })?;
    let guard = OptionFile { path };
    f.write_all(body)
        .map_err(|e| Error::new(format!("failed to write the {kind} file: {e}")))?;
    Ok(guard)
}

impl Drop for OptionFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Quotes an option-file value: the client strips matching outer quotes and
/// understands `\\`, `\"`, `\n`, `\r`, `\t` escapes.
fn option_quote(v: &[u8]) -> Vec<u8> {
    let mut out = vec![b'"'];
    for &b in v {
        match b {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'"' => out.extend_from_slice(b"\\\""),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            _ => out.push(b),
        }
    }
    out.push(b'"');
    out
}

static OPTION_FILE_COUNTER: AtomicU64 = AtomicU64::new(0);

/// Which client program family we drive; their TLS options differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ClientFlavor {
    MariaDb,
    Mysql,
}

fn client_flavor(client: &std::path::Path) -> ClientFlavor {
    let out = Command::new(client)
        .arg("--version")
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output();
    match out {
        Ok(o) if !String::from_utf8_lossy(&o.stdout).contains("MariaDB") => ClientFlavor::Mysql,
        _ => ClientFlavor::MariaDb,
    }
}

fn write_option_file(t: &MyTarget, flavor: ClientFlavor) -> Result<OptionFile> {
    let mut body: Vec<u8> = b"[client]\n".to_vec();
    let mut line = |key: &str, value: &[u8]| {
        body.extend_from_slice(key.as_bytes());
        body.push(b'=');
        body.extend_from_slice(&option_quote(value));
        body.push(b'\n');
    };
    line("user", t.user.as_bytes());
    line("password", t.password.as_bytes());
    if t.net == "unix" {
        line("protocol", b"SOCKET");
        line("socket", t.addr.as_bytes());
    } else {
        let (host, port) = t.host_port();
        line("protocol", b"TCP");
        line("host", host.as_bytes());
        line("port", port.as_bytes());
    }
    line(
        "connect-timeout",
        t.timeout_secs.unwrap_or(10).to_string().as_bytes(),
    );
    line(
        "default-character-set",
        t.charset.as_deref().unwrap_or("utf8mb4").as_bytes(),
    );
    // go-sql-driver defaults to no TLS; map its `tls` parameter onto the
    // options of the client family at hand.
    let tls: &[&str] = match (flavor, t.tls) {
        (ClientFlavor::MariaDb, MyTls::Disabled) => &["skip-ssl"],
        (ClientFlavor::MariaDb, MyTls::Verify) => &["ssl", "ssl-verify-server-cert"],
        // MariaDB >= 11.4 verifies by default; older clients do not know
        // the option, hence `loose-`.
        (ClientFlavor::MariaDb, MyTls::SkipVerify) => {
            &["ssl", "loose-disable-ssl-verify-server-cert"]
        }
        (ClientFlavor::MariaDb, MyTls::Preferred) => &[],
        (ClientFlavor::Mysql, MyTls::Disabled) => &["ssl-mode=DISABLED"],
        (ClientFlavor::Mysql, MyTls::Verify) => &["ssl-mode=VERIFY_IDENTITY"],
        (ClientFlavor::Mysql, MyTls::SkipVerify) => &["ssl-mode=REQUIRED"],
        (ClientFlavor::Mysql, MyTls::Preferred) => &["ssl-mode=PREFERRED"],
    };
    for opt in tls {
        body.extend_from_slice(opt.as_bytes());
        body.push(b'\n');
    }
    if flavor == ClientFlavor::Mysql {
        // caching_sha2_password over plain TCP, as the Go driver manages.
        body.extend_from_slice(b"get-server-public-key\n");
    }

    private_file("cnf", &body)
}

fn run_mysql(t: &MyTarget, sql: &str) -> Result<String> {
    let Some(client) = find_program(&["mariadb", "mysql"]) else {
        return fail(
            "the Mattermost stand-in needs the `mariadb` or `mysql` client program \
             to reach MySQL, and neither was found",
        );
    };
    let opt = write_option_file(t, client_flavor(&client))?;
    let mut cmd = Command::new(client);
    clean_env(&mut cmd);
    // --defaults-file must come first; it also keeps /etc/mysql/*.cnf and
    // ~/.my.cnf out of the picture, as the Go driver never reads them.
    let mut arg = OsString::from("--defaults-file=");
    arg.push(opt.path.as_os_str());
    cmd.arg(arg);
    cmd.args(["--batch", "--skip-column-names"]);
    if !t.dbname.is_empty() {
        cmd.arg(format!("--database={}", t.dbname));
    }
    let mut full = String::new();
    for (k, v) in &t.system_vars {
        let _ = writeln!(full, "SET {k}={v};");
    }
    full.push_str(sql);
    let result = run_client(&mut cmd, &full, "mariadb");
    drop(opt);
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn option_quoting() {
        assert_eq!(option_quote(br#"a"b\c#d e"#), br#""a\"b\\c#d e""#.to_vec());
    }

    #[test]
    fn pgpass_lines_escape_and_refuse_line_breaks() {
        assert_eq!(
            pgpass_line(b"a:b\\c \xc2\xa0").expect("line"),
            b"*:*:*:*:a\\:b\\\\c \xc2\xa0\n".to_vec()
        );
        assert!(pgpass_line(b"a\nb").is_err());
    }

    #[test]
    fn literals_do_not_depend_on_the_session_mode() {
        let pg = Database::new("postgres", "postgres://u:p@localhost/db").expect("pg");
        assert_eq!(pg.literal(r"it's a \ b"), r"E'it''s a \\ b'");
        let my = Database::new("mysql", "u:p@/db").expect("mysql");
        assert_eq!(my.literal(r"a'\"), "_utf8mb4 X'61275c'");
        assert_eq!(my.literal(""), "_utf8mb4 X''");
    }

    #[test]
    fn pgoptions_escaping() {
        assert_eq!(pgoptions_escape(r"a b\c"), r"a\ b\\c");
    }

    #[test]
    fn option_file_is_private_and_removed() {
        use std::os::unix::fs::PermissionsExt;
        let t = dsn::parse_mysql("u:secret@tcp(127.0.0.1:1)/db").expect("parse");
        let f = write_option_file(&t, ClientFlavor::MariaDb).expect("write");
        let path = f.path.clone();
        let meta = std::fs::metadata(&path).expect("exists");
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
        let body = std::fs::read_to_string(&path).expect("read");
        assert!(body.contains("password=\"secret\""));
        drop(f);
        assert!(!path.exists());
    }
}
