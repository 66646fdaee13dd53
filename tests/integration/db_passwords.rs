//! The database password end to end, on real PostgreSQL and MariaDB servers started
//! in temp dirs: every password either reaches Mattermost's driver intact or is
//! refused up front with a message that names the key and the fix.
//!
//! For each password of the table:
//! - the answers parser accepts it, or refuses it under `db_password`;
//! - an accepted one is set with the installer's own SQL (`admin_sql`), checked
//!   with the installer's own login check (`database::login`: psql / mariadb with
//!   a password file, pointed at the temp server), and used by the stand-in's
//!   driver, which logs in as Mattermost's drivers do (lib/pq: SCRAM over the raw
//!   bytes, no SASLprep; go-sql-driver/mysql: the raw bytes);
//! - a refused one is shown to need refusing: set directly, psql logs in with it
//!   (it normalises, as the server did) and the stand-in's driver does not.
//!
//! Each server runs twice: as installed, and in the mode an operator may have
//! switched on that changes how string literals read (`NO_BACKSLASH_ESCAPES`,
//! `standard_conforming_strings = off`).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use mattermost_setup::answers::{self, Answers};
use mattermost_setup::dsn::{self, MYSQL_SOCKET};
use mattermost_setup::host::{Cmd, Host, Output, RunLog, Runner, SystemRunner};
use mattermost_setup::phases::database::{self, mysql, postgres};
use mattermost_standin::db::Database;

use crate::support::databases::{MariaDb, Postgres, encode_all};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    Works,
    /// Refused; the words the message must contain.
    Refused(&'static str),
}
use Expect::{Refused, Works};

struct Case {
    name: &'static str,
    password: String,
    postgres: Expect,
    mariadb: Expect,
}

fn cases() -> Vec<Case> {
    // 128 characters of everything at once: ASCII specials, emoji, a precomposed
    // letter (32 × 4 characters).
    let long: String = "'\\🔑é".repeat(32);
    assert_eq!(long.chars().count(), 128);
    let c = |name, password: &str, postgres, mariadb| Case {
        name,
        password: password.to_owned(),
        postgres,
        mariadb,
    };
    vec![
        c(
            "ASCII specials",
            "p' \"q\\ $x `y @z /w :v %u #t s",
            Works,
            Works,
        ),
        c(
            "a literal breaker",
            "x\\'; DROP USER root; -- \\",
            Works,
            Works,
        ),
        c("spaces around", "  spaced out  ", Works, Works),
        c(
            "no-break space U+00A0",
            "pass\u{a0}word-123",
            Refused("U+00A0"),
            Works,
        ),
        c(
            "ligature fi U+FB01",
            "\u{fb01}rewall-pass",
            Refused("U+FB01"),
            Works,
        ),
        c(
            "full-width A U+FF21",
            "\u{ff21}BCdefgh-1",
            Refused("U+FF21"),
            Works,
        ),
        c(
            "e + combining acute U+0301",
            "cafe\u{301}-secret",
            Refused("U+0301"),
            Works,
        ),
        c(
            "soft hyphen U+00AD",
            "pass\u{ad}word-123",
            Refused("U+00AD"),
            Works,
        ),
        c("emoji", "🔑🐘 emoji password", Works, Works),
        c(
            "precomposed letters",
            "Passwörter-café-Straße",
            Works,
            Works,
        ),
        c("128 characters", &long, Works, Works),
        c(
            "129 characters",
            &format!("{long}x"),
            Refused("longer than 128"),
            Refused("longer than 128"),
        ),
    ]
}

fn parse(engine: &str, password: Option<&str>) -> Result<Answers, answers::validate::Invalid> {
    let mut json = serde_json::json!({
        "domain": "chat.example.com", "db_engine": engine, "version": "10.11.23"
    });
    if let Some(p) = password {
        json["db_password"] = p.into();
    }
    answers::from_json(&json.to_string(), None)
}

/// The real runner, pointed at the temp server instead of the box's default
/// port and socket; keeps every command it ran.
struct At {
    pg_port: Option<u16>,
    socket: Option<PathBuf>,
    seen: Arc<Mutex<Vec<Cmd>>>,
}

impl Runner for At {
    fn run(&self, cmd: &Cmd, on_line: Option<&mut dyn FnMut(&str)>) -> std::io::Result<Output> {
        let mut c = cmd.clone();
        for a in &mut c.args {
            if let Some(port) = self.pg_port {
                if a == "localhost" {
                    *a = "127.0.0.1".into();
                } else if a == "5432" {
                    *a = port.to_string();
                }
            }
            if let Some(socket) = &self.socket
                && a == MYSQL_SOCKET
            {
                *a = socket.to_string_lossy().into_owned();
            }
        }
        self.seen.lock().unwrap().push(c.clone());
        SystemRunner.run(&c, on_line)
    }
}

/// A host whose `/run` is a temp dir, running commands at the temp server.
fn host(
    root: &Path,
    pg_port: Option<u16>,
    socket: Option<PathBuf>,
) -> (Host, Arc<Mutex<Vec<Cmd>>>) {
    std::fs::create_dir_all(root.join("run")).unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let host = Host::new(
        root.to_owned(),
        RunLog::create(&root.join("log")),
        Arc::new(|_| {}),
        Box::new(At {
            pg_port,
            socket,
            seen: seen.clone(),
        }),
    );
    (host, seen)
}

/// The password was in no argv and no environment of any command; the password
/// files made for the calls are gone.
fn assert_never_exposed(seen: &Mutex<Vec<Cmd>>, password: &str, root: &Path) {
    for c in seen.lock().unwrap().iter() {
        assert!(
            !c.args.iter().any(|a| a.contains(password)),
            "password in argv: {}",
            c.program
        );
        assert!(
            !c.env.iter().any(|(_, v)| v.contains(password)),
            "password in the environment of {}",
            c.program
        );
    }
    assert_eq!(
        std::fs::read_dir(root.join("run")).unwrap().count(),
        0,
        "password files left behind"
    );
}

fn check_refusal(case: &Case, engine: &str, words: &str) {
    let err = parse(engine, Some(&case.password))
        .err()
        .unwrap_or_else(|| panic!("{}: accepted on {engine}", case.name));
    let e = &err.0[0];
    assert_eq!(e.field, "db_password", "{}: {err}", case.name);
    assert!(e.problem.contains(words), "{}: {err}", case.name);
    assert!(
        e.fix.contains("db_password"),
        "{}: the fix names the key: {err}",
        case.name
    );
    assert!(
        !err.to_string().contains(&case.password),
        "the message does not echo the password"
    );
}

fn postgres_table(pg: &Postgres, mode: &str) {
    let root = tempfile::tempdir().unwrap();
    let (host, seen) = host(root.path(), Some(pg.port), None);
    // The installer's DataSource, at the temp server.
    let at = |a: &Answers| {
        dsn::data_source(a).replace("@localhost:5432/", &format!("@127.0.0.1:{}/", pg.port))
    };
    let mut table: Vec<(String, Option<String>, Expect)> = cases()
        .into_iter()
        .map(|c| (c.name.to_owned(), Some(c.password), c.postgres))
        .collect();
    table.push(("generated".into(), None, Works));
    for (name, password, expect) in table {
        let parsed = parse("postgresql", password.as_deref());
        match (expect, parsed) {
            (Works, Ok(a)) => {
                pg.superuser_sql(
                    "postgres",
                    &postgres::admin_sql(&mattermost_setup::plan::Plan::new(&a).unwrap(), &a),
                );
                let out = database::login(&host, &a, "SELECT current_user").unwrap();
                assert!(
                    out.success() && out.stdout.trim() == "mmuser",
                    "{mode} {name}: the installer's login check: {out:?}"
                );
                Database::new("postgres", &at(&a))
                    .unwrap()
                    .ping()
                    .unwrap_or_else(|e| {
                        panic!("{mode} {name}: Mattermost's driver cannot log in: {e}")
                    });
                assert_never_exposed(&seen, a.db_password.expose(), root.path());
            }
            (Refused(words), Err(_)) => {
                let case = cases().into_iter().find(|c| c.name == name).unwrap();
                check_refusal(&case, "postgresql", words);
                if case.password.chars().count() > 128 {
                    continue;
                }
                // And the refusal is needed: set anyway, the password logs in with
                // psql (which normalises) and not the way lib/pq does.
                pg.superuser_sql(
                    "postgres",
                    &format!(
                        "{}ALTER ROLE mmuser PASSWORD {};\n",
                        postgres::SESSION,
                        database::literal(&case.password)
                    ),
                );
                pg.login_sql("mmuser", &case.password, "mattermost", "SELECT 1;");
                let a = parse("postgresql", Some("placeholder-password")).unwrap();
                let dsn = at(&a).replace("placeholder-password", &encode_all(&case.password));
                let e = Database::new("postgres", &dsn).unwrap().ping().unwrap_err();
                assert!(
                    e.message().contains("password authentication failed"),
                    "{mode} {name}: {e}"
                );
            }
            (expect, parsed) => panic!(
                "{mode} {name}: expected {expect:?}, the parser said {:?}",
                parsed.map(|_| "accepted").map_err(|_| "refused")
            ),
        }
    }
}

fn mariadb_table(maria: &MariaDb, mode: &str) {
    let root = tempfile::tempdir().unwrap();
    let (host, seen) = host(root.path(), None, Some(maria.socket.clone()));
    let mut table: Vec<(String, Option<String>, Expect)> = cases()
        .into_iter()
        .map(|c| (c.name.to_owned(), Some(c.password), c.mariadb))
        .collect();
    table.push(("generated".into(), None, Works));
    for (name, password, expect) in table {
        let parsed = parse("mariadb", password.as_deref());
        match (expect, parsed) {
            (Works, Ok(a)) => {
                // What apply does, through the installer's own commands.
                let unwanted = host
                    .run(&mysql::root_cmd(&a, &mysql::unwanted_accounts_sql(&a)))
                    .unwrap();
                let unwanted = mysql::parse_accounts(&unwanted.stdout).unwrap();
                maria.root_sql(&mysql::admin_sql(
                    &mattermost_setup::plan::Plan::new(&a).unwrap(),
                    &a,
                    &unwanted,
                    false,
                ));
                let out = database::login(&host, &a, "SELECT CURRENT_USER()").unwrap();
                assert!(
                    out.success() && out.stdout.trim() == "mmuser@localhost",
                    "{mode} {name}: the installer's login check: {out:?}"
                );
                let dsn = dsn::data_source(&a).replace(
                    &format!("unix({MYSQL_SOCKET})"),
                    &format!("unix({})", maria.socket.display()),
                );
                Database::new("mysql", &dsn)
                    .unwrap()
                    .ping()
                    .unwrap_or_else(|e| {
                        panic!("{mode} {name}: Mattermost's driver cannot log in: {e}")
                    });
                assert_never_exposed(&seen, a.db_password.expose(), root.path());
            }
            (Refused(words), Err(_)) => {
                let case = cases().into_iter().find(|c| c.name == name).unwrap();
                check_refusal(&case, "mariadb", words);
            }
            (expect, parsed) => panic!(
                "{mode} {name}: expected {expect:?}, the parser said {:?}",
                parsed.map(|_| "accepted").map_err(|_| "refused")
            ),
        }
    }
}

/// The accounts mysql_secure_installation removes, with names that need quoting,
/// go in either mode.
fn mariadb_unwanted_accounts_go(maria: &MariaDb, mode: &str) {
    let root = tempfile::tempdir().unwrap();
    let (host, _) = host(root.path(), None, Some(maria.socket.clone()));
    let a = parse("mariadb", Some("an-app-password")).unwrap();
    maria.root_sql(
        "SET SESSION sql_mode = 'NO_BACKSLASH_ESCAPES';\n\
         CREATE USER ''@'localhost';\n\
         CREATE USER 'root'@'o''brien\\host';\n\
         CREATE USER 'mmuser'@'%';\n",
    );
    let list = || {
        let out = host
            .run(&mysql::root_cmd(&a, &mysql::unwanted_accounts_sql(&a)))
            .unwrap();
        mysql::parse_accounts(&out.stdout).unwrap()
    };
    let found: Vec<String> = list().iter().map(ToString::to_string).collect();
    assert_eq!(
        found,
        ["''@'localhost'", "'mmuser'@'%'", "'root'@'o'brien\\host'"],
        "{mode}"
    );
    maria.root_sql(&mysql::admin_sql(
        &mattermost_setup::plan::Plan::new(&a).unwrap(),
        &a,
        &list(),
        false,
    ));
    assert!(list().is_empty(), "{mode}: {:?}", list());
}

#[test]
fn passwords_on_postgresql() {
    for (settings, mode) in [
        (&[][..], "as installed"),
        (
            &["standard_conforming_strings=off"][..],
            "standard_conforming_strings=off",
        ),
    ] {
        let Some(pg) = Postgres::start_with(settings) else {
            return;
        };
        postgres_table(&pg, mode);
    }
}

#[test]
fn passwords_on_mariadb_in_every_sql_mode() {
    for (options, mode) in [
        (&[][..], "default sql_mode"),
        (
            &["--sql-mode=NO_BACKSLASH_ESCAPES,ANSI_QUOTES"][..],
            "NO_BACKSLASH_ESCAPES",
        ),
    ] {
        let Some(maria) = MariaDb::start_with(options) else {
            return;
        };
        mariadb_table(&maria, mode);
        mariadb_unwanted_accounts_go(&maria, mode);
    }
}
