//! Throw-away PostgreSQL and MariaDB servers in temp dirs, for tests on real
//! database servers without systemd: `initdb`/`pg_ctl` as `postgres`
//! (scram-sha-256, TCP on 127.0.0.1 and a Unix socket) and
//! `mariadb-install-db`/`mariadbd --user=root`. Both stop when dropped.
//!
//! Shared by the installer's integration tests and, through a `#[path]`
//! module, by the stand-in's tests (standin/tests/common/mod.rs): one copy.
//! Self-contained (std + tempfile) for that reason.
//!
//! `MMS_REQUIRE_DB=1` turns "server binaries not installed" into a failure
//! instead of a loud skip.
#![allow(dead_code)]

use std::fs::{self, File};
use std::io::Write;
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// `true` when a missing database server must fail the test.
pub fn require_db() -> bool {
    std::env::var("MMS_REQUIRE_DB").is_ok_and(|v| v == "1")
}

/// Skips (loudly) or fails, depending on `MMS_REQUIRE_DB`.
pub fn skip_or_fail(what: &str) {
    assert!(
        !require_db(),
        "MMS_REQUIRE_DB=1 but {what}; install it or unset MMS_REQUIRE_DB"
    );
    eprintln!("\n*** SKIPPING: {what} (set MMS_REQUIRE_DB=1 to make this a failure) ***\n");
}

/// Skips loudly for reasons unrelated to database availability.
pub fn skip_loudly(what: &str) {
    eprintln!("\n*** SKIPPING: {what} ***\n");
}

pub fn is_root() -> bool {
    fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(2).map(|u| u == "0"))
        })
        .unwrap_or(false)
}

/// Percent-encodes everything except unreserved characters.
pub fn encode_all(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

pub fn find_program(names: &[&str], extra_dirs: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let mut dirs: Vec<PathBuf> = std::env::split_paths(&path).collect();
    dirs.extend(extra_dirs.iter().map(PathBuf::from));
    // Debian's versioned PostgreSQL binaries.
    if let Ok(rd) = fs::read_dir("/usr/lib/postgresql") {
        let mut versions: Vec<PathBuf> = rd
            .filter_map(Result::ok)
            .map(|e| e.path().join("bin"))
            .collect();
        versions.sort();
        versions.reverse();
        dirs.extend(versions);
    }
    for name in names {
        for d in &dirs {
            let p = d.join(name);
            if p.is_file() {
                return Some(p);
            }
        }
    }
    None
}

pub fn set_mode(p: &Path, mode: u32) {
    fs::set_permissions(p, fs::Permissions::from_mode(mode)).expect("chmod");
}

// ------------------------------------------------------------- databases

fn run_checked(cmd: &mut Command, what: &str) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        out.status.success(),
        "{what} failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Prefixes a command to run as `user` when we are root.
fn as_user(user: &str, program: &Path) -> Command {
    if is_root() {
        let mut c = Command::new("setpriv");
        c.arg(format!("--reuid={user}"))
            .arg(format!("--regid={user}"))
            .arg("--clear-groups")
            .arg("--")
            .arg(program);
        c.env("HOME", "/tmp");
        c
    } else {
        Command::new(program)
    }
}

/// A throw-away PostgreSQL cluster: Unix socket in a temp dir and TCP on
/// 127.0.0.1, scram-sha-256 everywhere.
pub struct Postgres {
    tmp: tempfile::TempDir,
    pub port: u16,
    pub socket_dir: PathBuf,
    data: PathBuf,
    pg_ctl: PathBuf,
    psql: PathBuf,
    superpw: String,
}

impl Postgres {
    /// `None` (after a loud skip message) if PostgreSQL is not installed.
    pub fn start() -> Option<Self> {
        Self::start_with(&[])
    }

    /// Like [`Self::start`], with server settings (`name=value`), e.g.
    /// `standard_conforming_strings=off` as an operator may have it.
    pub fn start_with(settings: &[&str]) -> Option<Self> {
        let (Some(initdb), Some(pg_ctl), Some(psql)) = (
            find_program(&["initdb"], &[]),
            find_program(&["pg_ctl"], &[]),
            find_program(&["psql"], &[]),
        ) else {
            skip_or_fail("PostgreSQL server binaries (initdb, pg_ctl, psql) are not installed");
            return None;
        };
        if is_root()
            && Command::new("id")
                .arg("postgres")
                .output()
                .map_or(true, |o| !o.status.success())
        {
            skip_or_fail("the `postgres` system user does not exist");
            return None;
        }
        let tmp = tempfile::Builder::new()
            .prefix("standin-pg-")
            .tempdir()
            .expect("tempdir");
        set_mode(tmp.path(), 0o755);
        let data = tmp.path().join("data");
        let socket_dir = tmp.path().join("sock");
        fs::create_dir(&socket_dir).expect("socket dir");
        set_mode(&socket_dir, 0o755);
        let superpw = "super-secret-pw".to_string();
        let pwfile = tmp.path().join("pwfile");
        fs::write(&pwfile, format!("{superpw}\n")).expect("pwfile");
        fs::create_dir(&data).expect("data dir");
        set_mode(&data, 0o700);
        if is_root() {
            for p in [&data, &socket_dir, &pwfile] {
                std::os::unix::fs::chown(p, Some(uid_of("postgres")), None).expect("chown");
            }
        }
        let port = free_port();
        let mut init = as_user("postgres", &initdb);
        init.current_dir(tmp.path())
            .arg("-D")
            .arg(&data)
            .args(["-U", "postgres", "-E", "UTF8", "--locale=C", "-N"])
            .arg(format!("--pwfile={}", pwfile.display()))
            .args(["--auth-local=scram-sha-256", "--auth-host=scram-sha-256"]);
        run_checked(&mut init, "initdb");
        let mut start = as_user("postgres", &pg_ctl);
        start
            .current_dir(tmp.path())
            .arg("-D")
            .arg(&data)
            .arg("-l")
            .arg(data.join("postgres.log"))
            .args(["-w", "-t", "60", "-o"])
            .arg(format!(
                "-k {} -p {port} -c listen_addresses=127.0.0.1 -c fsync=off{}",
                socket_dir.display(),
                settings.iter().fold(String::new(), |mut o, s| {
                    o.push_str(" -c ");
                    o.push_str(s);
                    o
                })
            ))
            .arg("start");
        run_checked(&mut start, "pg_ctl start");
        Some(Self {
            tmp,
            port,
            socket_dir,
            data,
            pg_ctl,
            psql,
            superpw,
        })
    }

    /// Runs SQL as the superuser over the Unix socket; returns stdout.
    pub fn superuser_sql(&self, db: &str, sql: &str) -> String {
        let mut cmd = Command::new(&self.psql);
        cmd.arg("-h")
            .arg(&self.socket_dir)
            .arg("-p")
            .arg(self.port.to_string())
            .args([
                "-U",
                "postgres",
                "-d",
                db,
                "-X",
                "-q",
                "-A",
                "-t",
                "-v",
                "ON_ERROR_STOP=1",
                "-f",
                "-",
            ])
            .env("PGPASSWORD", &self.superpw);
        run_with_stdin(&mut cmd, sql, "psql")
    }

    /// Runs SQL as `user` with `password` over TCP with psql, which (like every
    /// libpq client) applies `SASLprep` to the password; returns stdout.
    pub fn login_sql(&self, user: &str, password: &str, db: &str, sql: &str) -> String {
        let mut cmd = Command::new(&self.psql);
        cmd.args(["-h", "127.0.0.1", "-p"])
            .arg(self.port.to_string())
            .args([
                "-U",
                user,
                "-d",
                db,
                "-X",
                "-q",
                "-A",
                "-t",
                "-w",
                "-v",
                "ON_ERROR_STOP=1",
                "-f",
                "-",
            ])
            .env("PGPASSWORD", password);
        run_with_stdin(&mut cmd, sql, "psql")
    }

    /// Creates a login role and a database it owns (the PostgreSQL 15+
    /// recipe from the Mattermost docs).
    pub fn create_user_and_db(&self, user: &str, password: &str, db: &str) {
        let pw = password.replace('\'', "''");
        self.superuser_sql(
            "postgres",
            &format!(
                "CREATE ROLE \"{user}\" LOGIN PASSWORD '{pw}';\nCREATE DATABASE \"{db}\" OWNER \"{user}\";\n"
            ),
        );
    }

    /// A role that can log in but may not create tables anywhere.
    pub fn create_unprivileged(&self, user: &str, password: &str, db: &str) {
        let pw = password.replace('\'', "''");
        self.superuser_sql(
            "postgres",
            &format!(
                "CREATE ROLE \"{user}\" LOGIN PASSWORD '{pw}';\nCREATE DATABASE \"{db}\";\nGRANT CONNECT ON DATABASE \"{db}\" TO \"{user}\";\n"
            ),
        );
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let mut stop = as_user("postgres", &self.pg_ctl);
        stop.current_dir(self.tmp.path())
            .arg("-D")
            .arg(&self.data)
            .args(["-m", "immediate", "-w", "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let _ = stop.status();
    }
}

fn uid_of(user: &str) -> u32 {
    let out = Command::new("id")
        .arg("-u")
        .arg(user)
        .output()
        .expect("id -u");
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .expect("numeric uid")
}

/// A throw-away MariaDB server (TCP on 127.0.0.1 plus a Unix socket).
pub struct MariaDb {
    _tmp: tempfile::TempDir,
    pub port: u16,
    pub socket: PathBuf,
    child: Child,
    client: PathBuf,
}

impl MariaDb {
    /// `None` (after a loud skip message) if MariaDB is not installed.
    pub fn start() -> Option<Self> {
        Self::start_with(&[])
    }

    /// Like [`Self::start`], with more server options, e.g.
    /// `--sql-mode=NO_BACKSLASH_ESCAPES` as an operator may have it.
    pub fn start_with(options: &[&str]) -> Option<Self> {
        let (Some(install_db), Some(server), Some(client)) = (
            find_program(&["mariadb-install-db", "mysql_install_db"], &["/usr/bin"]),
            find_program(&["mariadbd", "mysqld"], &["/usr/sbin"]),
            find_program(&["mariadb", "mysql"], &[]),
        ) else {
            skip_or_fail(
                "MariaDB server binaries (mariadb-install-db, mariadbd, mariadb) are not installed",
            );
            return None;
        };
        if !is_root() {
            skip_or_fail("the MariaDB test server is started with --user=root and needs root");
            return None;
        }
        let tmp = tempfile::Builder::new()
            .prefix("standin-mariadb-")
            .tempdir()
            .expect("tempdir");
        set_mode(tmp.path(), 0o755);
        let data = tmp.path().join("data");
        let socket = tmp.path().join("mysqld.sock");
        // Temporary tables in a directory of this server's own, not the shared /tmp:
        // a bootstrap lost one of its files there once, under a loaded CI run.
        let scratch = tmp.path().join("tmp");
        fs::create_dir_all(&scratch).expect("tmpdir");
        let mut init = Command::new(&install_db);
        init.arg("--no-defaults")
            .arg(format!("--datadir={}", data.display()))
            .arg(format!("--tmpdir={}", scratch.display()))
            .args([
                "--user=root",
                "--auth-root-authentication-method=normal",
                "--skip-test-db",
                "--skip-name-resolve",
            ]);
        run_checked(&mut init, "mariadb-install-db");
        let port = free_port();
        let log = File::create(tmp.path().join("mariadbd.out")).expect("log");
        let log2 = log.try_clone().expect("log");
        let child = Command::new(&server)
            .arg("--no-defaults")
            .arg(format!("--datadir={}", data.display()))
            .arg(format!("--tmpdir={}", scratch.display()))
            .arg(format!("--socket={}", socket.display()))
            .arg(format!("--port={port}"))
            .arg(format!(
                "--pid-file={}",
                tmp.path().join("mariadbd.pid").display()
            ))
            .arg(format!(
                "--log-error={}",
                tmp.path().join("mariadbd.err").display()
            ))
            .args([
                "--bind-address=127.0.0.1",
                "--user=root",
                "--skip-log-bin",
                "--innodb-buffer-pool-size=16M",
                "--skip-name-resolve",
            ])
            .args(options)
            .stdout(log)
            .stderr(log2)
            .spawn()
            .expect("start mariadbd");
        let db = Self {
            _tmp: tmp,
            port,
            socket,
            child,
            client,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let ok = Command::new(&db.client)
                .arg("--no-defaults")
                .arg(format!("--socket={}", db.socket.display()))
                .args(["-uroot", "-e", "SELECT 1"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
            if ok {
                break;
            }
            assert!(Instant::now() < deadline, "MariaDB did not come up");
            std::thread::sleep(Duration::from_millis(250));
        }
        Some(db)
    }

    /// Runs SQL as root over the Unix socket; returns stdout.
    pub fn root_sql(&self, sql: &str) -> String {
        let mut cmd = Command::new(&self.client);
        cmd.arg("--no-defaults")
            .arg(format!("--socket={}", self.socket.display()))
            .args(["-uroot", "--batch", "--skip-column-names"]);
        run_with_stdin(&mut cmd, sql, "mariadb")
    }

    /// Creates `user`@`%` and `user`@`localhost` with all privileges on `db`.
    pub fn create_user_and_db(&self, user: &str, password: &str, db: &str) {
        let pw = password.replace('\\', "\\\\").replace('\'', "\\'");
        self.root_sql(&format!(
            "CREATE DATABASE `{db}` CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci;\n\
             CREATE USER '{user}'@'%' IDENTIFIED BY '{pw}';\n\
             CREATE USER '{user}'@'localhost' IDENTIFIED BY '{pw}';\n\
             GRANT ALL PRIVILEGES ON `{db}`.* TO '{user}'@'%';\n\
             GRANT ALL PRIVILEGES ON `{db}`.* TO '{user}'@'localhost';\n"
        ));
    }
}

impl Drop for MariaDb {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs a database client with `input` on stdin; panics with its stderr on failure.
fn run_with_stdin(cmd: &mut Command, input: &str, what: &str) -> String {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{what}: {e}"));
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
        .expect("write sql");
    let out = child.wait_with_output().expect("client output");
    assert!(
        out.status.success(),
        "{what} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}
