//! MariaDB / MySQL 8 (Mattermost <= 10.11 only): what mysql_secure_installation does,
//! a utf8mb4 database, and the application user @'localhost' only. SQL that both
//! servers accept; the password goes on stdin (root) or in an option file made for
//! the call (login check): never in an argv or an environment.

use std::path::Path;

use super::{P, credentials, literal};
use crate::answers::{Answers, DbEngine};
use crate::dsn::MYSQL_SOCKET;
use crate::host::{Cmd, Host, Output};
use crate::phases::{Check, Ctx, PhaseError};

/// Pins what [`literal`] assumes for the session, whatever the server's `sql_mode`:
/// with `NO_BACKSLASH_ESCAPES` a backslash is an ordinary character and only a
/// doubled quote escapes. Without it (the default) `\'` would end nothing and `\\`
/// would be one backslash, so the same literal would mean something else on an
/// operator's server that sets the mode, and the other way round. A hex literal
/// would not depend on the mode, but `IDENTIFIED BY` takes only a quoted string.
pub const SESSION: &str = "SET SESSION sql_mode = CONCAT_WS(',', NULLIF(@@SESSION.sql_mode, ''), 'NO_BACKSLASH_ESCAPES');\n";

fn client(a: &Answers) -> &'static str {
    if a.db_engine == DbEngine::Mysql {
        "mysql"
    } else {
        "mariadb"
    }
}

/// The client as root over the socket (Debian's root@localhost uses unix_socket auth).
pub fn root_cmd(a: &Answers, sql: &str) -> Cmd {
    Cmd::new(
        client(a),
        &[
            "--protocol=socket",
            "-S",
            MYSQL_SOCKET,
            "-u",
            "root",
            "-N",
            "-B",
            "-e",
            sql,
        ],
    )
}

/// An account as `mysql.user` holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub user: String,
    pub host: String,
}

impl std::fmt::Display for Account {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "'{}'@'{}'", self.user, self.host)
    }
}

/// Accounts that must not exist: anonymous users, root from elsewhere, and the app
/// user from anywhere but localhost. Prints `HEX(user) HEX(host)` lines: names
/// come back byte for byte, whatever they contain (see [`parse_accounts`]).
pub fn unwanted_accounts_sql(a: &Answers) -> String {
    format!(
        "SELECT HEX(User), HEX(Host) FROM mysql.user WHERE User = '' \
         OR (User = 'root' AND Host NOT IN ('localhost', '127.0.0.1', '::1')) \
         OR (User = '{}' AND Host <> 'localhost') ORDER BY User, Host",
        a.db_user
    )
}

fn unhex(h: &str) -> Option<String> {
    let bytes: Option<Vec<u8>> = (0..h.len())
        .step_by(2)
        .map(|i| h.get(i..i + 2).and_then(|b| u8::from_str_radix(b, 16).ok()))
        .collect();
    String::from_utf8(bytes?).ok()
}

/// The output of [`unwanted_accounts_sql`] (tab-separated, as `-B` prints it).
pub fn parse_accounts(out: &str) -> Result<Vec<Account>, PhaseError> {
    // Not `lines()`: an anonymous account's user is an empty first column.
    out.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let mut f = l.split('\t');
            let (u, h) = (f.next().unwrap_or(""), f.next().unwrap_or(""));
            match (unhex(u), unhex(h)) {
                (Some(user), Some(host)) => Ok(Account { user, host }),
                _ => Err(PhaseError::new(format!(
                    "unexpected account line from the server: {l}"
                ))),
            }
        })
        .collect()
}

pub const TEST_DB_SQL: &str =
    "SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = 'test'";

pub fn charset_sql(a: &Answers) -> String {
    format!(
        "SELECT DEFAULT_CHARACTER_SET_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = '{}'",
        a.db_name
    )
}

/// The plan's script, run as root, after the `DROP`s of what
/// `mysql_secure_installation` removes that the phase found: `drop_accounts` (from
/// [`unwanted_accounts_sql`]) and an empty `test` database.
pub fn admin_sql(
    plan: &crate::plan::Plan,
    a: &Answers,
    drop_accounts: &[Account],
    drop_test_db: bool,
) -> String {
    let mut drops = String::new();
    for account in drop_accounts {
        drops.push_str(&format!(
            "DROP USER IF EXISTS {}@{};\n",
            literal(&account.user),
            literal(&account.host)
        ));
    }
    if drop_test_db {
        drops.push_str("DROP DATABASE IF EXISTS test;\n");
    }
    super::planned_script(plan, a, SESSION, &drops)
}

/// The client as the application user over the socket, like go-sql-driver/mysql:
/// the password from `options` (an option file, see [`credentials::mysql_options`];
/// `--defaults-file` also keeps /etc/mysql and ~/.my.cnf out, which the driver
/// never reads), the session in [`SESSION`] mode, then `sql`.
///
/// Both sides use the password's bytes as they are: the driver scrambles
/// `[]byte(password)` (`scramblePassword` / `scrambleSHA256Password` in auth.go) on
/// a utf8mb4 connection, the client the bytes of the option file, and the server
/// hashed the bytes of the `IDENTIFIED BY` literal, whatever the client's
/// character set. So unlike PostgreSQL every printable password works, and this
/// check passes exactly when the driver's login does.
pub fn login_cmd(a: &Answers, sql: &str, options: &Path) -> Cmd {
    Cmd::new(
        client(a),
        &[
            &format!("--defaults-file={}", options.display()),
            "--protocol=socket",
            "-S",
            MYSQL_SOCKET,
            "--default-character-set=utf8mb4",
            "-u",
            &a.db_user,
            "-D",
            &a.db_name,
            "-N",
            "-B",
            "-e",
            &format!("{SESSION}{sql}"),
        ],
    )
}

/// Runs `sql` as the application user (see [`login_cmd`]).
pub fn login(host: &Host, a: &Answers, sql: &str) -> Result<Output, PhaseError> {
    let file = super::password_file(host, &credentials::mysql_options(a.db_password.expose()))?;
    let out = host.probe(&login_cmd(a, sql, file.path()))?;
    drop(file);
    Ok(out)
}

pub fn probe(ctx: &Ctx) -> Result<Vec<Check>, PhaseError> {
    let a = ctx.answers;
    let host = ctx.host;
    let mut checks = Vec::new();
    let unwanted = host.run(&root_cmd(a, &unwanted_accounts_sql(a)))?;
    let unwanted = parse_accounts(&unwanted.stdout)?;
    checks.push(
        Check::when(
            P,
            unwanted.is_empty(),
            "no anonymous, remote-root or remote app accounts",
            if unwanted.is_empty() {
                "none".to_owned()
            } else {
                unwanted
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            },
        )
        .with_fix("repair drops them"),
    );
    let test = host.run(&root_cmd(a, TEST_DB_SQL))?;
    checks.push(Check::when(
        P,
        test.stdout.trim() == "0",
        "no test database",
        format!("{} found", test.stdout.trim()),
    ));
    let cs = host.run(&root_cmd(a, &charset_sql(a)))?;
    let cs = cs.stdout.trim();
    checks.push(Check::when(
        P,
        cs == "utf8mb4",
        format!("database {} character set", a.db_name),
        if cs.is_empty() { "missing" } else { cs },
    ));
    let login = login(host, a, "SELECT CURRENT_USER()")?;
    let who = login.stdout.trim();
    let expected = format!("{}@localhost", a.db_user);
    checks.push(if login.success() {
        Check::when(P, who == expected, format!("login as {}", a.db_user), who)
    } else {
        Check::fail(
            P,
            format!("login as {}", a.db_user),
            host.redact(login.stderr.trim()),
        )
        .with_fix("repair re-creates the user with the saved password")
    });
    Ok(checks)
}

pub fn apply(ctx: &mut Ctx) -> Result<(), PhaseError> {
    let a = ctx.answers;
    let host = ctx.host;
    let user_sql = format!(
        "SELECT COUNT(*) FROM mysql.user WHERE User = '{}' AND Host = 'localhost'",
        a.db_user
    );
    let db_sql = format!(
        "SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = '{}'",
        a.db_name
    );
    let user_there = host.run(&root_cmd(a, &user_sql))?.stdout.trim() != "0";
    let db_there = host.run(&root_cmd(a, &db_sql))?.stdout.trim() != "0";
    for (kind, name, there) in [
        ("db_role", &a.db_user, user_there),
        ("database", &a.db_name, db_there),
    ] {
        if there {
            ctx.own.found(kind, name);
        } else {
            ctx.claim(kind, name)?;
        }
    }
    let unwanted = parse_accounts(&host.run(&root_cmd(a, &unwanted_accounts_sql(a)))?.stdout)?;
    // The test database goes only while it is empty: never user data.
    let test_tables = host.run(&root_cmd(
        a,
        "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'test'",
    ))?;
    let test_exists = host.run(&root_cmd(a, TEST_DB_SQL))?.stdout.trim() != "0";
    let drop_test = test_exists && test_tables.stdout.trim() == "0";
    if test_exists && !drop_test {
        (host.events())(crate::events::Event::Warning {
            message: "the MariaDB `test` database has tables, so it was kept; drop it yourself if it is not used".into(),
        });
    }
    ctx.step(
        P,
        format!(
            "securing the server and creating {} for '{}'@'localhost'",
            a.db_name, a.db_user
        ),
    );
    let cmd = Cmd::new(
        client(a),
        &[
            "--protocol=socket",
            "-S",
            MYSQL_SOCKET,
            "--default-character-set=utf8mb4",
            "-u",
            "root",
        ],
    )
    .stdin(admin_sql(ctx.plan, a, &unwanted, drop_test));
    host.run(&cmd)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answers(pw: &str) -> Answers {
        let json = serde_json::json!({"domain": "chat.example.com", "db_engine": "mariadb",
            "version": "10.11.23", "db_password": pw});
        crate::answers::from_json(&json.to_string(), None).unwrap()
    }

    #[test]
    fn accounts_come_back_byte_for_byte() {
        // ''@'localhost' (an empty first column) and 'root'@'o'brien\h'.
        let out = "\t6C6F63616C686F7374\n726F6F74\t6F27627269656E5C68\n";
        let found = parse_accounts(out).unwrap();
        assert_eq!(
            found.iter().map(ToString::to_string).collect::<Vec<_>>(),
            ["''@'localhost'", "'root'@'o'brien\\h'"]
        );
        assert!(parse_accounts("zz\t00\n").is_err());
    }

    #[test]
    fn the_script_pins_the_mode_its_literals_need() {
        let a = answers("a\\'b-long-enough");
        let sql = admin_sql(
            &crate::plan::Plan::new(&a).unwrap(),
            &a,
            &[Account {
                user: "x'y".into(),
                host: "%".into(),
            }],
            false,
        );
        assert!(sql.starts_with(SESSION), "{sql}");
        assert!(sql.contains("DROP USER IF EXISTS 'x''y'@'%';"), "{sql}");
        assert!(sql.contains("IDENTIFIED BY 'a\\''b-long-enough';"), "{sql}");
        assert!(sql.contains("Db = 'test\\_%'"), "{sql}");
    }
}
