//! Where the retention job works: the database and the file store named in
//! Mattermost's own config.json, so it follows whatever the server uses.
//!
//! The `DataSource` becomes a client command whose connection details travel in
//! environment variables (psql) or options, and whose password is in a password
//! file made for the call (`PGPASSFILE`, `--defaults-file`): the password is in no
//! command line and no environment (`/proc/PID/environ`).

use std::path::{Path, PathBuf};

use percent_encoding::percent_decode_str;
use serde_json::Value;

use super::RetentionError;
use crate::host::Cmd;
use crate::phases::database::credentials::{self, PasswordFile};

/// The SQL dialect of the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Postgres,
    /// `MySQL` 8 or `MariaDB` (Mattermost <= 10.11).
    Mysql,
}

/// How to reach the database, parsed from `SqlSettings.DataSource`.
#[derive(Clone, PartialEq, Eq)]
pub struct Connection {
    pub dialect: Dialect,
    pub user: String,
    password: String,
    /// A host name, or a Unix socket (Postgres: a directory; `MySQL`: the socket).
    pub host: String,
    pub port: String,
    pub unix_socket: bool,
    pub database: String,
    /// Postgres `sslmode` (`lib/pq`'s default is `require`).
    pub sslmode: String,
    pub connect_timeout: Option<String>,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}

impl Connection {
    /// `postgres mattermost@localhost:5432 as mmuser`: for messages, no password.
    pub fn describe(&self) -> String {
        let engine = match self.dialect {
            Dialect::Postgres => "postgres",
            Dialect::Mysql => "mysql",
        };
        if self.unix_socket {
            format!(
                "{engine} {} via {} as {}",
                self.database, self.host, self.user
            )
        } else {
            format!(
                "{engine} {}@{}:{} as {}",
                self.database, self.host, self.port, self.user
            )
        }
    }

    pub fn password(&self) -> &str {
        &self.password
    }

    /// The client reading SQL on stdin, connection in the environment or options,
    /// and the password file it reads: keep it until the client has exited (it is
    /// removed when dropped). The file goes in the temp directory (private to the
    /// timer's service: `PrivateTmp=`), in a directory of its own with mode 0700.
    /// For `MySQL` `program` is `mariadb` or `mysql` (whichever the box has).
    pub fn client(&self, program: &str) -> Result<(Cmd, PasswordFile), RetentionError> {
        let parent = std::env::temp_dir();
        let contents = match self.dialect {
            Dialect::Postgres => credentials::pgpass(&self.password),
            Dialect::Mysql => credentials::mysql_options(&self.password),
        };
        let file = PasswordFile::create(&parent, &contents).map_err(|source| {
            RetentionError::PasswordFile {
                dir: parent,
                source,
            }
        })?;
        let cmd = match self.dialect {
            Dialect::Postgres => {
                let mut cmd = Cmd::new(
                    "psql",
                    &[
                        "-X",
                        "-w",
                        "-q",
                        "-A",
                        "-t",
                        "-v",
                        "ON_ERROR_STOP=1",
                        "-f",
                        "-",
                    ],
                )
                .env("PGHOST", &self.host)
                .env("PGPORT", &self.port)
                .env("PGUSER", &self.user)
                .env("PGDATABASE", &self.database)
                .env("PGSSLMODE", &self.sslmode)
                .env("PGAPPNAME", "mattermost-retention")
                .env("PGPASSFILE", file.path().to_string_lossy());
                if let Some(t) = &self.connect_timeout {
                    cmd = cmd.env("PGCONNECT_TIMEOUT", t);
                }
                cmd
            }
            Dialect::Mysql => {
                // --defaults-file first (the client insists); it also keeps
                // /etc/mysql and ~/.my.cnf out, which the Go driver never reads.
                let mut args: Vec<String> =
                    vec![format!("--defaults-file={}", file.path().display())];
                if self.unix_socket {
                    args.extend([
                        "--protocol=socket".into(),
                        format!("--socket={}", self.host),
                    ]);
                } else {
                    args.extend([
                        "--protocol=tcp".into(),
                        format!("--host={}", self.host),
                        format!("--port={}", self.port),
                    ]);
                }
                args.extend([
                    format!("--user={}", self.user),
                    format!("--database={}", self.database),
                    "--batch".into(),
                    "--skip-column-names".into(),
                    "--default-character-set=utf8mb4".into(),
                ]);
                if let Some(t) = &self.connect_timeout {
                    args.push(format!("--connect-timeout={t}"));
                }
                let mut cmd = Cmd::new(program, &[]);
                cmd.args = args;
                cmd
            }
        };
        Ok((cmd, file))
    }
}

/// What the job needs from config.json.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub connection: Connection,
    /// `FileSettings.Directory`, made absolute (relative paths are relative to the
    /// install directory, Mattermost's working directory).
    pub files: PathBuf,
}

fn setting(cfg: &Value, section: &str, key: &str) -> Option<String> {
    let env = format!(
        "MM_{}_{}",
        section.to_ascii_uppercase(),
        key.to_ascii_uppercase()
    );
    std::env::var(env)
        .ok()
        .or_else(|| cfg.get(section)?.get(key)?.as_str().map(str::to_owned))
}

/// Reads config.json (with `MM_SECTION_KEY` overrides, as Mattermost applies them).
pub fn load(config: &Path) -> Result<Target, RetentionError> {
    let bad = |problem: String| RetentionError::Config {
        path: config.to_owned(),
        problem,
    };
    let text = std::fs::read_to_string(config).map_err(|e| bad(format!("cannot read it: {e}")))?;
    let cfg: Value =
        serde_json::from_str(&text).map_err(|e| bad(format!("is not valid JSON: {e}")))?;
    let driver = setting(&cfg, "SqlSettings", "DriverName").unwrap_or_else(|| "postgres".into());
    let dsn = setting(&cfg, "SqlSettings", "DataSource")
        .ok_or_else(|| bad("SqlSettings.DataSource is missing".into()))?;
    let connection = match driver.as_str() {
        "postgres" => parse_postgres(&dsn),
        "mysql" => parse_mysql(&dsn),
        other => Err(format!(
            "SqlSettings.DriverName is {other:?}; expected \"postgres\" or \"mysql\""
        )),
    }
    .map_err(bad)?;
    let store = setting(&cfg, "FileSettings", "DriverName").unwrap_or_else(|| "local".into());
    if store != "local" {
        return Err(bad(format!(
            "FileSettings.DriverName is {store:?}: this job deletes files on local disk only \
             (use Mattermost's data retention or `mmctl post delete --permanent` with object storage)"
        )));
    }
    let dir = setting(&cfg, "FileSettings", "Directory").unwrap_or_else(|| "./data/".into());
    let install_dir = config
        .parent()
        .and_then(Path::parent)
        .unwrap_or_else(|| Path::new("/"));
    let files = clean(&install_dir.join(dir.trim_end_matches('/')));
    Ok(Target { connection, files })
}

/// Lexically removes `.` components (`/opt/mattermost/./data` → `/opt/mattermost/data`).
fn clean(p: &Path) -> PathBuf {
    p.components()
        .filter(|c| !matches!(c, std::path::Component::CurDir))
        .collect()
}

fn decode(s: &str) -> Result<String, String> {
    percent_decode_str(s)
        .decode_utf8()
        .map(std::borrow::Cow::into_owned)
        .map_err(|_| "the DataSource has an escaped sequence that is not UTF-8".to_owned())
}

fn query_params(q: &str) -> Vec<(String, String)> {
    q.split('&')
        .filter(|p| !p.is_empty())
        .filter_map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            Some((decode(k).ok()?, decode(&v.replace('+', " ")).ok()?))
        })
        .collect()
}

/// lib/pq's URL form: `postgres://user:password@host:port/db?sslmode=...`.
pub fn parse_postgres(dsn: &str) -> Result<Connection, String> {
    let rest = dsn
        .strip_prefix("postgres://")
        .or_else(|| dsn.strip_prefix("postgresql://"))
        .ok_or("the PostgreSQL DataSource is not a postgres:// URL")?;
    let (main, query) = rest.split_once('?').unwrap_or((rest, ""));
    let (authority, path) = main.split_once('/').unwrap_or((main, ""));
    let (userinfo, hostport) = match authority.rfind('@') {
        Some(i) => (&authority[..i], &authority[i + 1..]),
        None => ("", authority),
    };
    let (user, password) = match userinfo.split_once(':') {
        Some((u, p)) => (decode(u)?, decode(p)?),
        None => (decode(userinfo)?, String::new()),
    };
    let (mut host, mut port) = if let Some(h) = hostport.strip_prefix('[') {
        let (h, after) = h
            .split_once(']')
            .ok_or("unclosed [ in the DataSource host")?;
        (h.to_owned(), after.trim_start_matches(':').to_owned())
    } else {
        match hostport.rsplit_once(':') {
            Some((h, p)) => (h.to_owned(), p.to_owned()),
            None => (hostport.to_owned(), String::new()),
        }
    };
    let mut database = decode(path)?;
    let mut sslmode = "require".to_owned();
    let mut connect_timeout = None;
    let mut user = user;
    let mut password = password;
    for (k, v) in query_params(query) {
        match k.as_str() {
            "host" => host = v,
            "port" => port = v,
            "sslmode" => sslmode = v,
            "connect_timeout" => connect_timeout = Some(v),
            "dbname" => database = v,
            "user" => user = v,
            "password" => password = v,
            _ => {}
        }
    }
    if host.is_empty() {
        host = "localhost".into();
    }
    if port.is_empty() {
        port = "5432".into();
    }
    if database.is_empty() || user.is_empty() {
        return Err("the PostgreSQL DataSource names no database or no user".into());
    }
    Ok(Connection {
        dialect: Dialect::Postgres,
        unix_socket: host.starts_with('/'),
        user,
        password,
        host,
        port,
        database,
        sslmode,
        connect_timeout,
    })
}

/// go-sql-driver's form: `user:password@unix(/run/mysqld/mysqld.sock)/db?...` or
/// `user:password@tcp(host:port)/db?...`. Like the driver: the last `/` starts the
/// database, the last `@` before it ends the credentials, the first `:` in them
/// ends the user; the password is taken raw.
pub fn parse_mysql(dsn: &str) -> Result<Connection, String> {
    let slash = dsn
        .rfind('/')
        .ok_or("the MySQL DataSource has no /database part")?;
    let (head, tail) = (&dsn[..slash], &dsn[slash + 1..]);
    let (database, query) = tail.split_once('?').unwrap_or((tail, ""));
    let (creds, netaddr) = match head.rfind('@') {
        Some(i) => (&head[..i], &head[i + 1..]),
        None => ("", head),
    };
    let (user, password) = creds.split_once(':').unwrap_or((creds, ""));
    let (net, addr) = match netaddr.split_once('(') {
        Some((n, a)) => (
            n,
            a.strip_suffix(')')
                .ok_or("the MySQL DataSource address has no closing )")?,
        ),
        None => (netaddr, ""),
    };
    let (unix_socket, host, port) = match net {
        "unix" => (true, addr.to_owned(), String::new()),
        "tcp" | "tcp4" | "tcp6" | "" => {
            let addr = if addr.is_empty() {
                "127.0.0.1:3306"
            } else {
                addr
            };
            let (h, p) = match addr.rsplit_once(':') {
                Some((h, p)) => (h.trim_start_matches('[').trim_end_matches(']'), p),
                None => (addr, "3306"),
            };
            (false, h.to_owned(), p.to_owned())
        }
        other => return Err(format!("the MySQL DataSource uses network {other:?}")),
    };
    let mut connect_timeout = None;
    for (k, v) in query_params(query) {
        if k == "timeout" {
            // Go durations: "10s", "1m" → whole seconds for the client.
            let secs = v
                .strip_suffix('s')
                .and_then(|n| n.parse::<f64>().ok())
                .or_else(|| {
                    v.strip_suffix('m')
                        .and_then(|n| n.parse::<f64>().ok())
                        .map(|m| m * 60.0)
                });
            connect_timeout = secs.map(|s| format!("{}", s.ceil().max(1.0)));
        }
    }
    if database.is_empty() || user.is_empty() {
        return Err("the MySQL DataSource names no database or no user".into());
    }
    Ok(Connection {
        dialect: Dialect::Mysql,
        user: user.to_owned(),
        password: password.to_owned(),
        host,
        port,
        unix_socket,
        database: database.to_owned(),
        sslmode: String::new(),
        connect_timeout,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const NASTY: &str = "' \" \\ $ ` @ / : % # x";

    #[test]
    fn postgres_url_as_the_installer_writes_it() {
        let a = crate::answers::from_json(
            &serde_json::json!({"domain": "chat.example.com", "db_password": NASTY}).to_string(),
            None,
        )
        .unwrap();
        let c = parse_postgres(&crate::dsn::data_source(&a)).unwrap();
        assert_eq!(c.dialect, Dialect::Postgres);
        assert_eq!(c.user, "mmuser");
        assert_eq!(c.password(), NASTY);
        assert_eq!((c.host.as_str(), c.port.as_str()), ("localhost", "5432"));
        assert_eq!(c.database, "mattermost");
        assert_eq!(c.sslmode, "disable");
        assert_eq!(c.connect_timeout.as_deref(), Some("10"));
        let (cmd, file) = c.client("psql").unwrap();
        assert!(
            !cmd.display().contains("mmuser"),
            "connection details stay off argv"
        );
        assert!(
            !cmd.env.iter().any(|(_, v)| v.contains(NASTY)),
            "nor in the environment"
        );
        let passfile = cmd.env.iter().find(|(k, _)| k == "PGPASSFILE").unwrap();
        assert_eq!(Path::new(&passfile.1), file.path());
        assert_eq!(
            std::fs::read(file.path()).unwrap(),
            credentials::pgpass(NASTY)
        );
        drop(file);
        assert!(!Path::new(&passfile.1).exists(), "removed after the call");
        assert!(!format!("{c:?}").contains('%'), "Debug shows no password");
    }

    #[test]
    fn postgres_socket_directory_and_defaults() {
        let c = parse_postgres("postgres://mm@/db?host=/run/postgresql&port=5433").unwrap();
        assert!(c.unix_socket);
        assert_eq!(
            (c.host.as_str(), c.port.as_str()),
            ("/run/postgresql", "5433")
        );
        assert_eq!(c.sslmode, "require", "lib/pq's default");
        assert!(parse_postgres("mysql://x").is_err());
        assert!(parse_postgres("postgres://localhost/").is_err());
    }

    #[test]
    fn mysql_like_go_sql_driver() {
        let a = crate::answers::from_json(
            &serde_json::json!({"domain": "chat.example.com", "db_password": NASTY,
                "db_engine": "mariadb", "version": "10.11.23"})
            .to_string(),
            None,
        )
        .unwrap();
        let c = parse_mysql(&crate::dsn::data_source(&a)).unwrap();
        assert_eq!(c.dialect, Dialect::Mysql);
        assert_eq!(c.user, "mmuser");
        assert_eq!(c.password(), NASTY);
        assert!(c.unix_socket);
        assert_eq!(c.host, "/run/mysqld/mysqld.sock");
        assert_eq!(c.database, "mattermost");
        let (cmd, file) = c.client("mariadb").unwrap();
        assert!(
            cmd.args
                .contains(&"--socket=/run/mysqld/mysqld.sock".to_owned())
        );
        assert!(!cmd.display().contains(NASTY));
        assert!(cmd.env.is_empty(), "{:?}", cmd.env);
        assert_eq!(
            cmd.args[0],
            format!("--defaults-file={}", file.path().display()),
            "the client reads --defaults-file only as its first option"
        );
        assert_eq!(
            std::fs::read(file.path()).unwrap(),
            credentials::mysql_options(NASTY)
        );

        let c = parse_mysql("u:p@tcp(db.example:3307)/mm?timeout=5s").unwrap();
        assert_eq!((c.host.as_str(), c.port.as_str()), ("db.example", "3307"));
        assert_eq!(c.connect_timeout.as_deref(), Some("5"));
        assert!(!c.unix_socket);
        assert!(parse_mysql("nodatabase").is_err());
    }

    #[test]
    fn config_paths_and_object_storage() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = dir.path().join("config/config.json");
        std::fs::create_dir_all(cfg.parent().unwrap()).unwrap();
        std::fs::write(
            &cfg,
            r#"{"SqlSettings": {"DriverName": "postgres", "DataSource": "postgres://u:p@localhost:5432/mm?sslmode=disable"},
                "FileSettings": {"DriverName": "local", "Directory": "./data/"}}"#,
        )
        .unwrap();
        let t = load(&cfg).unwrap();
        assert_eq!(t.files, dir.path().join("data"));
        std::fs::write(
            &cfg,
            r#"{"SqlSettings": {"DriverName": "postgres", "DataSource": "postgres://u:p@localhost/mm"},
                "FileSettings": {"DriverName": "amazons3"}}"#,
        )
        .unwrap();
        assert!(
            load(&cfg)
                .unwrap_err()
                .to_string()
                .contains("local disk only")
        );
        assert!(load(&dir.path().join("none.json")).is_err());
    }
}
